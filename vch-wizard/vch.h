/*
 * vch.h - the VCH lifecycle engine: validate, create, inspect, list, reconfigure and delete
 * Virtual Container Hosts on a target, shared by vic-machine and vic-webservice.
 *
 * A VCH is a resource pool plus an appliance VM in it. Everything about a VCH lives in the
 * inventory: its specification and address in the appliance's extraConfig
 * (guestinfo.vice./vch/...), its components' state in the keys vic-init writes
 * (guestinfo.vice..init.*). Work that changes the inventory runs as a recorded task
 * (tasks.h): each step is idempotent and logged, and a task whose runner died is rolled back
 * (create) or finished (delete) by vch_converge(), so no pool or VM is ever orphaned.
 *
 * Client certificates and the env file for `docker` are kept in $VIC_HOME/vch/NAME/.
 */
#ifndef VIC_VCH_H
#define VIC_VCH_H

#include <jansson.h>

#include "hypervisor/hv.h"
#include "lib/err.h"
#include "vch-wizard/tasks.h"

typedef struct vch_engine vch_engine;

typedef struct vch_engine_opts {
    const char *home;    /* $VIC_HOME: the task record and the VCHs' client certificates */
    const char *bin_dir; /* where vic-init, vic-vmx, tether and the servers are */
    const char *target;  /* "local" (default), or "host[:port]" of a vCenter or ESX */
    /* vSphere targets: credentials (used to log in, never kept by the engine nor logged),
     * the pinned certificate thumbprint, and the appliance ISO to upload (default
     * bin_dir/appliance.iso). */
    const char *user;
    const char *password;
    const char *thumbprint;
    const char *appliance_iso;
    long ready_timeout_s; /* how long a create waits for the appliance (0: 60 s) */
} vch_engine_opts;

/*
 * Connects to the target. On the local target the appliance is vic-init on this host (its
 * image a marker file); on a vSphere target it is a VM booting the appliance ISO, which must
 * exist (VIC_ENOTFOUND otherwise, naming the file). Errors: those of hv_open (VIC_EAUTH for
 * refused credentials, VIC_EUPSTREAM with the server's thumbprint for an unpinned or
 * mismatched certificate).
 */
int vch_engine_open(vch_engine **out, const vch_engine_opts *o, vic_err **err);
void vch_engine_close(vch_engine *e);
vic_store *vch_engine_tasks(vch_engine *e);
const char *vch_engine_target(const vch_engine *e);

/* Progress of a task's steps, as they are recorded. */
typedef void (*vch_progress_fn)(const char *step, const char *status, const char *message,
                                void *payload);

/*
 * Checks a VCH spec (vic-machine-server's model) against the target: every problem at once,
 * each "path: reason" in *problems (new reference), joined in err; warnings (e.g. limits this
 * host does not enforce) in *warnings. On success *out is the spec with defaults filled in.
 * Errors: VIC_EINVAL (malformed or impossible), VIC_ECONFLICT (name taken).
 */
int vch_validate(vch_engine *e, const json_t *spec, json_t **out, json_t **problems,
                 json_t **warnings, vic_err **err);

/*
 * Validates spec and records a create task for it (reserving the name and an address);
 * nothing in the inventory changes yet. *task receives the task. created_by names who asked
 * ("admin", or a token's jti); uid is the VCH's immutable id (NULL: a new random one), which
 * names the folders of stores that the spec gives only a datastore for. The create records
 * the stores it makes; a delete removes only those. Errors: those of vch_validate.
 */
int vch_create_begin(vch_engine *e, const json_t *spec, const char *created_by, const char *uid,
                     vch_task *task, json_t **problems, vic_err **err);

/* Runs a create task's steps; on failure rolls back what it made and records the error. */
int vch_create_run(vch_engine *e, const char *task_id, vch_progress_fn fn, void *payload,
                   vic_err **err);

typedef struct vch_delete_opts {
    int containers_all;    /* 0: refuse while containers run; 1: stop and remove them */
    int volume_stores_all; /* 1: remove the volume stores' contents too (a store the
                              create made in the VCH's own folder, such as the default
                              one, goes with the VCH either way) */
} vch_delete_opts;

/* Records a delete task for the VCH id (or name). VIC_ECONFLICT when containers run and
 * containers_all is 0, or another task runs for it. */
int vch_delete_begin(vch_engine *e, const char *id, const vch_delete_opts *o, vch_task *task,
                     vic_err **err);
int vch_delete_run(vch_engine *e, const char *task_id, vch_progress_fn fn, void *payload,
                   vic_err **err);

/* [{id, name, target, state, docker_host, admin_portal, version, containers, created_by,
 * created}] (new reference). */
int vch_list(vch_engine *e, json_t **out, vic_err **err);

/* The VCH model (its spec) plus "id" and "runtime" {power_state, state, docker_host,
 * admin_portal, components{...}, version, upgrade_status, containers}. */
int vch_inspect(vch_engine *e, const char *id, json_t **out, vic_err **err);

/* The CA certificate of the VCH (PEM; caller frees), VIC_ENOTFOUND without TLS. */
int vch_certificate(vch_engine *e, const char *id, char **pem, vic_err **err);

/* The creation log: every event of the VCH's latest create task, one line each. */
int vch_log(vch_engine *e, const char *id, char **text, vic_err **err);

/* Applies changes (a partial VCH model) that a live VCH can take: compute limits,
 * reservations and shares, debug, syslog_addr, registry. Any other field is refused, naming
 * it. *out is the new model. */
int vch_configure(vch_engine *e, const char *id, const json_t *changes, json_t **out,
                  vic_err **err);

/* Powers the VCH's appliance on and waits until its endpoint is ready; the VCH comes back
 * with its host from then on (vch_autostart). Its containers with restart policy always or
 * unless-stopped come back with it (its port layer's). A running VCH stays as it is. */
int vch_start(vch_engine *e, const char *id, vic_err **err);

/* Powers the VCH's appliance off, then its running containerVMs (each SIGTERM, SIGKILL after
 * grace_ms), and records that it stays off, also when its host restarts. */
int vch_stop(vch_engine *e, const char *id, unsigned grace_ms, vic_err **err);

/* Powers on the appliances of the VCHs that were running and are off (their host restarted)
 * and not stopped by vch_stop nor in a create or delete; *n_started counts them. */
int vch_autostart(vch_engine *e, int *n_started, vic_err **err);

/* Rolls back creates and finishes deletes whose runner died. *n_fixed counts them. */
int vch_converge(vch_engine *e, int *n_fixed, vic_err **err);

/* Where the VCH's port layer answers ("http://ADDR:2377") and the Bearer token it takes, for
 * per-container insight (both caller-freed; the token is a secret: vic_free_secret). */
int vch_port_layer(vch_engine *e, const char *id, char **url, char **token, vic_err **err);

/* The env lines for docker: DOCKER_HOST and, with TLS, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. */
int vch_env(vch_engine *e, const char *id, char **text, vic_err **err);

#endif
