/*
 * init.h - vic-init, PID 1 of a VCH appliance ("the appliance supervisor").
 *
 * Started by the VM's monitor (on the local target: in the host's namespaces, cwd the VM's
 * folder) with fd 3 the guestinfo channel and fd 4 the serial log. It reads the VCH's
 * configuration from the read-only keys INIT_CONFIG_PREFIX*, writes a fresh port-layer token
 * to INIT_TOKEN_FILE, runs the port layer and the Docker personality as children (logs in
 * <component>.log), restarts a crashed one with backoff, and publishes their state:
 *
 *   guestinfo.vice..init.status|vic-init            "started", "stopped" or "failed: why"
 *   guestinfo.vice..init.status|port-layer          "starting", "started", "restarting: why",
 *   guestinfo.vice..init.status|docker-personality  "failed: why" or "stopped"
 *   guestinfo.vice..init.docker_host                "ADDR:2376" ("ADDR:2375" without TLS)
 *   guestinfo.vice..init.ready                      "true" once both answer HTTP, else "false"
 *
 * It also keeps INIT_COMPONENTS in its directory (state, PID, start time and restart count of
 * each component, rewritten atomically on every change) for vicadmin's dashboard.
 *
 * SIGTERM or SIGINT stops every component (SIGTERM, SIGKILL after INIT_STOP_GRACE_MS).
 */
#ifndef VIC_TETHER_INIT_H
#define VIC_TETHER_INIT_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/err.h"

#define INIT_CONFIG_PREFIX "guestinfo.vice./vch/"
#define INIT_KEY_STATUS    "guestinfo.vice..init.status|"
#define INIT_KEY_READY     "guestinfo.vice..init.ready"
#define INIT_KEY_DOCKER    "guestinfo.vice..init.docker_host"

#define INIT_TOKEN_FILE "portlayer.token"
#define INIT_TLS_CERT   "server-cert.pem"
#define INIT_TLS_KEY    "server-key.pem"
#define INIT_TLS_CA     "ca.pem"          /* clients must present a certificate it signed */
#define INIT_PASSWD     "vicadmin.passwd" /* the portal's admin password hash */
#define INIT_COMPONENTS "components.json" /* {name: {state, pid, started, restarts}} */

#define INIT_PORT_LAYER 2377
#define INIT_VICADMIN   2378
#define INIT_DOCKER_TLS 2376
#define INIT_DOCKER_TCP 2375

#define INIT_BACKOFF_MIN_MS 1000
#define INIT_BACKOFF_MAX_MS 30000
#define INIT_STOP_GRACE_MS  5000

/* The VCH's configuration, from INIT_CONFIG_PREFIX keys. Strings are owned. */
typedef struct init_config {
    char *name;         /* name */
    char *address;      /* address: the VCH's IPv4 address, e.g. 127.77.0.2 */
    char *pool;         /* pool: the VCH's resource pool (inventory path) */
    char *home;         /* home: the local target's VIC_HOME */
    char *bin_dir;      /* bin_dir: where port-layer-server and docker-engine-server are */
    char *image_dir;    /* image_dir: the image store's host directory */
    bool tls;           /* tls: "true" (default) or "false" */
    bool tls_verify;    /* tls_verify: "true" (default with tls): client certificates required */
    int debug;          /* debug: "0".."3" (default 0); >= 1 runs the components at debug level */
    char *registries;   /* registries: "host[:port],..." the portal checks (may be empty) */
    char *insecure;     /* insecure_registries: "host[:port],..." the port layer may reach
                         * over plain HTTP (may be empty) */
    char *registry_ca;  /* registry_ca: the name of a PEM file in the appliance's folder with
                         * the CAs trusted for registries, or NULL */
    char *bridge_range; /* bridge_range: the containers' networks' range, or NULL (default) */
    char *bridge_pg;    /* bridge_port_group: the containers' NICs' port group, or NULL */
    char *network_dir;  /* where the port layer records networks: the VM folder's networks/ */
    /* volume_stores|LABEL: "[datastore] folder" of each volume store, as "LABEL=[ds] folder" */
    char **volume_stores;
    size_t n_volume_stores;
} init_config;

/* Fills *out from kv (an object of strings with full key names, as vic_gichan_list returns).
 * VIC_EINVAL names the first missing or malformed key. Clear *out with init_config_clear
 * whatever the outcome. */
int init_config_parse(init_config *out, const json_t *kv, vic_err **err);
void init_config_clear(init_config *c);

typedef enum init_component_id {
    INIT_PORT_LAYER_ID = 0,
    INIT_DOCKER_ID = 1,
    INIT_VICADMIN_ID = 2,
    INIT_N_COMPONENTS = 3,
} init_component_id;

/* "port-layer", "docker-personality" or "vicadmin": the status key's suffix and the log
 * file's stem. */
const char *init_component_name(init_component_id id);

/* The component's command line (NULL-terminated, argv[0] an absolute path); free it with
 * init_argv_free. */
char **init_component_argv(const init_config *c, init_component_id id);
void init_argv_free(char **argv);

/* The port the component serves on the VCH's address; it is up once that port accepts a
 * connection (each server listens only after it has started). */
int init_component_port(const init_config *c, init_component_id id);

/* "ADDR:2376", or "ADDR:2375" without TLS; caller frees. */
char *init_docker_host(const init_config *c);

/* The delay before the next restart after one of prev_ms (0 for the first): 1 s, doubling,
 * at most 30 s. */
int init_backoff_next(int prev_ms);

/* Runs the supervisor until SIGTERM or SIGINT (signals must be blocked by the caller), with
 * the guestinfo channel gi_fd and the serial log serial_fd, in the current directory. Returns
 * the process exit code. */
int init_run(int gi_fd, int serial_fd);

#endif
