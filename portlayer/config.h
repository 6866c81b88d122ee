/*
 * config.h - port-layer-server's command line: the shared server options (lib/srvopt.h)
 * and the port layer's own (target, pool, stores, bridge networks, name server).
 */
#ifndef VIC_PORTLAYER_CONFIG_H
#define VIC_PORTLAYER_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "lib/err.h"
#include "lib/srvopt.h"

#define PL_CONFIG_MAX_STORES     16
#define PL_CONFIG_MAX_REGISTRIES 64

typedef struct pl_config {
    vic_srvopt common;      /* --listen (default 127.0.0.1:2377), --token-file, --log-level */
    const char *target;     /* --target (default local) */
    const char *home;       /* --home (default $VIC_HOME, else ./var) */
    const char *bin_dir;    /* --bin-dir (NULL: beside the binary) */
    const char *pool;       /* --pool */
    const char *images_dir; /* --images (NULL: the datastore's images/) */
    const char *stores[PL_CONFIG_MAX_STORES]; /* --volume-store, in order */
    size_t n_stores;
    const char *publish;      /* --publish-address (NULL: the --listen address) */
    const char *bridge_range; /* --bridge-range (default 172.16.0.0/12) */
    const char *bridge_pg;    /* --bridge-port-group (default bridge) */
    const char *network_dir;  /* --network-dir (NULL: the datastore's networks/) */
    int dns_port;             /* --dns-port (default 53) */
    /* --insecure-registry HOST[:PORT], in order: plain HTTP and no TLS verification allowed
     * (besides 127.0.0.1, localhost and [::1], always allowed) */
    const char *insecure[PL_CONFIG_MAX_REGISTRIES];
    size_t n_insecure;
    const char *registry_ca; /* --registry-ca FILE: PEM certificates trusted for registries */
} pl_config;

/* The --help text. */
void pl_config_usage(FILE *f);

/* Parses argv into *c (strings point into argv and the environment). Returns
 * VIC_SRVOPT_RUN, or the exit code after --help (0, the text on out) or a bad command line
 * (2, "port-layer-server: ..." on err). out and err NULL: stdout and stderr. */
int pl_config_parse(pl_config *c, int argc, char **argv, FILE *out, FILE *err);

/* Where published ports listen: --publish-address, which must be an IPv4 address, else the
 * host part of --listen; written into buf. */
int pl_config_publish_ip(const pl_config *c, char *buf, size_t size, vic_err **err);

#endif
