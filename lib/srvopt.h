/*
 * srvopt.h - the command line of a VIC-C server: the options every server shares (--listen,
 * --token-file, --tls-cert, --tls-key, --tls-ca, --log-level, -h/--help), parsed by one
 * getopt_long loop, plus a hook for the options of one server.
 *
 * A server lists its options in the order its --help shows them (getopt_long names the
 * candidates of an ambiguous prefix in table order): shared ones by the VIC_SRVOPT_*
 * entries below, its own with short codes of its choice below 256.
 *
 *     static const struct option longopts[] = {
 *         VIC_SRVOPT_LISTEN, {"name", required_argument, NULL, 'n'}, VIC_SRVOPT_LOG_LEVEL,
 *         VIC_SRVOPT_HELP, {NULL, 0, NULL, 0},
 *     };
 */
#ifndef VIC_SRVOPT_H
#define VIC_SRVOPT_H

#include <getopt.h>
#include <stdio.h>

/* The codes getopt_long returns for the shared options (above any server's own). */
enum {
    VIC_SRVOPT_C_LISTEN = 0x1000,
    VIC_SRVOPT_C_TOKEN_FILE,
    VIC_SRVOPT_C_TLS_CERT,
    VIC_SRVOPT_C_TLS_KEY,
    VIC_SRVOPT_C_TLS_CA,
    VIC_SRVOPT_C_LOG_LEVEL,
};

/* clang-format off */
#define VIC_SRVOPT_LISTEN {"listen", required_argument, NULL, VIC_SRVOPT_C_LISTEN}
#define VIC_SRVOPT_TOKEN_FILE {"token-file", required_argument, NULL, VIC_SRVOPT_C_TOKEN_FILE}
#define VIC_SRVOPT_TLS_CERT {"tls-cert", required_argument, NULL, VIC_SRVOPT_C_TLS_CERT}
#define VIC_SRVOPT_TLS_KEY {"tls-key", required_argument, NULL, VIC_SRVOPT_C_TLS_KEY}
#define VIC_SRVOPT_TLS_CA {"tls-ca", required_argument, NULL, VIC_SRVOPT_C_TLS_CA}
#define VIC_SRVOPT_LOG_LEVEL {"log-level", required_argument, NULL, VIC_SRVOPT_C_LOG_LEVEL}
#define VIC_SRVOPT_HELP {"help", no_argument, NULL, 'h'}
/* clang-format on */

/* What vic_srvopt_parse returns when the server should go on and serve. */
#define VIC_SRVOPT_RUN (-1)

/* A server's own option: returns VIC_SRVOPT_RUN to go on, or the exit code (after a
 * message on err, "prog: ..."; 2 for a bad value). */
typedef int (*vic_srvopt_hook)(int c, const char *arg, void *payload, FILE *out, FILE *err);

typedef struct vic_srvopt_spec {
    const char *prog;              /* "docker-engine-server": the prefix of messages */
    const struct option *longopts; /* ends with a zero entry */
    void (*usage)(FILE *f);        /* the --help text */
    const char *listen_default;    /* --listen's default, or NULL */
    vic_srvopt_hook option;        /* the server's own options (NULL: none) */
    void *payload;                 /* handed to option */
    FILE *out, *err;               /* NULL: stdout and stderr */
} vic_srvopt_spec;

typedef struct vic_srvopt {
    const char *listen;
    const char *token_file;
    const char *tls_cert, *tls_key, *tls_ca;
    int log_level; /* a vic_log_level; VIC_LOG_INFO by default */
    int argind;    /* the first argument that is not an option */
} vic_srvopt;

/* Parses argv (from argv[1], as getopt_long would on its first call; it may be called again).
 * -h/--help prints the usage on out and returns 0; an option getopt_long rejects prints its
 * message and the usage on err and returns 2; a bad --log-level prints
 * "prog: --log-level: "X" is not one of debug, info, warn, error" and returns 2. The first
 * option that ends the parse wins. Otherwise returns VIC_SRVOPT_RUN with *o filled in
 * (strings point into argv). */
int vic_srvopt_parse(vic_srvopt *o, const vic_srvopt_spec *spec, int argc, char **argv);

/* Whether --tls-cert and --tls-key come together, and --tls-ca only with them. */
int vic_srvopt_tls_ok(const vic_srvopt *o);

/* The host part of o->listen ("127.0.0.1" of "127.0.0.1:2375"), into buf (truncated). */
const char *vic_srvopt_listen_host(const vic_srvopt *o, char *buf, size_t size);

#endif
