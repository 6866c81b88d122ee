/*
 * config.h - vicadmin's command line: the shared server options (lib/srvopt.h) and the
 * portal's own, into its va_options.
 */
#ifndef VIC_VICADMIN_CONFIG_H
#define VIC_VICADMIN_CONFIG_H

#include <stdio.h>

#include "lib/srvopt.h"
#include "vicadmin/admin.h"

#define VA_CONFIG_MAX_REGISTRIES 32

typedef struct va_config {
    /* the portal's options: token_file from --token-file, registries pointing into regs
     * (so the va_config must stay where it was parsed), docker_tls when --tls-cert is given,
     * dir "."; ui_dir NULL without --ui-dir */
    va_options o;
    vic_srvopt common; /* --listen (required), --tls-*, --token-file, --log-level */
    const char *regs[VA_CONFIG_MAX_REGISTRIES]; /* --registry; later ones are ignored */
    size_t n_regs;
} va_config;

/* The --help text. */
void va_config_usage(FILE *f);

/* Parses argv into *c (strings point into argv). Returns VIC_SRVOPT_RUN, or the exit code
 * after --help (0, the text on out) or a bad command line (2, "vicadmin: ..." and the usage
 * on err). out and err NULL: stdout and stderr. */
int va_config_parse(va_config *c, int argc, char **argv, FILE *out, FILE *err);

#endif
