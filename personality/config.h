/*
 * config.h - docker-engine-server's command line: the shared server options (lib/srvopt.h)
 * and the engine's own (--port-layer, --name).
 */
#ifndef VIC_PERSONALITY_CONFIG_H
#define VIC_PERSONALITY_CONFIG_H

#include <stdio.h>

#include "lib/srvopt.h"

typedef struct engine_config {
    vic_srvopt common;  /* --listen (default 127.0.0.1:2375), --token-file (required), --tls-* */
    const char *pl_url; /* --port-layer (default http://127.0.0.1:2377) */
    const char *name;   /* --name (default virtual-container-host) */
} engine_config;

/* The --help text. */
void engine_config_usage(FILE *f);

/* Parses argv into *c (strings point into argv). Returns VIC_SRVOPT_RUN, or the exit code
 * after --help (0, the text on out) or a bad command line (2, "docker-engine-server: ..."
 * on err). out and err NULL: stdout and stderr. */
int engine_config_parse(engine_config *c, int argc, char **argv, FILE *out, FILE *err);

#endif
