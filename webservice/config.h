/*
 * config.h - vic-webservice's command line and start-up: its options (the shared server
 * options of lib/srvopt.h and the web service's own) into ws_options, the home directory's
 * default and lock, and the banner printed once the service is reachable.
 */
#ifndef VIC_WEBSERVICE_CONFIG_H
#define VIC_WEBSERVICE_CONFIG_H

#include <stdio.h>

#include "lib/srvopt.h"
#include "webservice/service.h"

typedef struct ws_config {
    ws_options opt;         /* listen, no_tls, max_body, threads, targets, ISO, audit */
    vic_srvopt common;      /* --listen, --log-level */
    const char *home_arg;   /* --home (NULL: ws_default_home) */
    const char *log_file;   /* --log-file */
    const char *ui_dir_arg; /* --ui-dir */
} ws_config;

/* The --help text. */
void ws_config_usage(FILE *f);

/* Parses argv into *c (strings point into argv). Returns VIC_SRVOPT_RUN, or the exit code
 * after --help or --version (0, on out) or a bad command line (2, "vic-webservice: ..." on
 * err). out and err NULL: stdout and stderr. */
int ws_config_parse(ws_config *c, int argc, char **argv, FILE *out, FILE *err);

/* The home directory without --home: $VIC_HOME, else $XDG_DATA_HOME/vic, else
 * $HOME/.local/share/vic (./.local/share/vic without HOME). The caller frees it. */
char *ws_default_home(void);

/* A decimal number between 1 and max. */
int ws_parse_uint(const char *s, unsigned long long max, unsigned long long *out);

/* Creates home (0700) when it is missing. Only one service may own a home directory: its
 * database and certificates are not meant to be shared between processes that each think
 * they are alone. Takes home/webservice.lock (flock, our pid written in it) into *fd_out,
 * or says on err why not (who holds it) and returns -1. */
int ws_lock_home(const char *home, int *fd_out, FILE *err);

/* What the service prints once it serves: version, address, home, web UI, login (the
 * generated password, when there is one) and a curl line to try. */
typedef struct ws_banner {
    const ws_options *opt; /* listen, no_tls, vSphere targets, home, ui_dir */
    unsigned port;         /* the port it serves on */
    const char *password;  /* the admin password generated at this start, or NULL */
    const char *ca_path;   /* the CA clients should trust (with TLS) */
} ws_banner;

void ws_config_banner(FILE *f, const ws_banner *b);

#endif
