/*
 * vch_int.h - the VCH lifecycle engine's internals, shared by its parts: the engine and the
 * model helpers (engine.c), validation (validate.c), create (create.c), delete (delete.c),
 * recovery of interrupted tasks (converge.c), inspection (query.c) and reconfiguration
 * (configure.c). Not for use outside vch-wizard/.
 */
#ifndef VIC_VCH_INT_H
#define VIC_VCH_INT_H

#include <jansson.h>
#include <stdio.h>

#include "hypervisor/hv.h"
#include "lib/err.h"
#include "lib/mem.h"
#include "vch-wizard/tasks.h"
#include "vch-wizard/vch.h"

/* Read-only configuration of the appliance (vic-init reads these). */
#define K_CFG        "guestinfo.vice./vch/"
#define K_NAME       K_CFG "name"
#define K_ADDRESS    K_CFG "address"
#define K_POOL       K_CFG "pool"
#define K_HOME       K_CFG "home"
#define K_BIN_DIR    K_CFG "bin_dir"
#define K_IMAGE_DIR  K_CFG "image_dir"
#define K_BRIDGE_RNG K_CFG "bridge_range"
#define K_BRIDGE_PG  K_CFG "bridge_port_group"
#define K_TLS        K_CFG "tls"
#define K_TLS_VERIFY K_CFG "tls_verify"
#define K_REGISTRIES K_CFG "registries"
#define K_INSECURE   K_CFG "insecure_registries"
#define K_REG_CA     K_CFG "registry_ca"
#define K_DEBUG      K_CFG "debug"
#define K_SPEC       K_CFG "spec"
#define K_VERSION    K_CFG "version"
#define K_CREATED    K_CFG "created"
#define K_CREATED_BY K_CFG "created_by"
/* The VCH's immutable id (its folders are named after it), and the datastore paths its
 * create made and its delete may remove: {"images": [...], "volumes": {"LABEL": PATH}}. */
#define K_UID   K_CFG "uid"
#define K_OWNED K_CFG "owned"
/* What vic-init reports. */
#define K_INIT        "guestinfo.vice..init."
#define K_READY       K_INIT "ready"
#define K_DOCKER_HOST K_INIT "docker_host"
#define K_STATUS      K_INIT "status|"
/* Hidden from the guest: the lifecycle's own marks. */
#define K_TASK     "vch.task"
#define K_CREATING "vch.creating"
/* vch_stop's mark: the VCH stays off until vch_start, also when its host restarts */
#define K_STOPPED  "vch.stopped"
#define K_DELETING "vch.deleting"

/* The characters of a registry's host[:port] (IPv6 addresses in brackets). */
#define VCH_REGISTRY_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]"

/* The registries' CA bundle in the appliance's folder (vic-init hands it to the port layer). */
#define REGISTRY_CA_FILE "registry-ca.pem"

#define APPLIANCE_MAGIC  "vic-local-appliance 1\n"
#define READY_TIMEOUT_MS 60000
/* A VCH on a target that gives the appliance its address (DHCP on a vSphere network) and no
 * static address in its spec: the address comes from what the appliance reports. */
#define ADDRESS_DHCP "dhcp"

struct vch_engine {
    char *home;
    char *bin_dir;
    char *target;
    char *iso;           /* vSphere: the appliance ISO uploaded for each VCH */
    const hv_caps *caps; /* where the target runs appliances and containers' bridges */
    long ready_timeout_ms;
    hv_conn *hv;
    vic_store *tasks;
};

/* ---- model helpers ---- */

static inline const char *str_at(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static inline const char *appliance_key(const json_t *vm, const char *key)
{
    return str_at(json_object_get(vm, "extra_config"), key);
}

/* Sets the appliance's registry keys in ec from spec's registry section: K_REGISTRIES (the
 * portal's reachability checks), K_INSECURE and K_REG_CA (REGISTRY_CA_FILE when the spec has
 * certificate authorities, else ""). */
void vch_registry_config(json_t *ec, const json_t *spec);

/* Writes spec's registry certificate authorities (PEM) to REGISTRY_CA_FILE in the VCH's
 * certificate folder and uploads it to the appliance's folder [ds] name/; nothing when there
 * are none. */
int vch_registry_ca_upload(vch_engine *e, const json_t *spec, const char *ds, const char *name,
                           vic_err **err);

/* The spec an appliance carries (a new reference; an empty object when unreadable). */
static inline json_t *spec_of(const json_t *vm)
{
    json_t *spec = json_loads(appliance_key(vm, K_SPEC) ?: "{}", 0, NULL);
    return spec ? spec : json_object();
}

static inline char *cert_dir(const vch_engine *e, const char *name)
{
    return xasprintf("%s/vch/%s", e->home, name);
}

static inline void ref_of(const json_t *vm, hv_ref *ref)
{
    snprintf(ref->id, sizeof(ref->id), "%s", str_at(vm, "ref"));
}

/* Whether the VCH's docker endpoint is plain HTTP (its spec says auth.no_tls). */
int vch_no_tls(const json_t *spec);

/* The root resource pool of the local target; caller frees. */
char *vch_root_pool(void);

/* The datastore name of a datastore path "[ds] rel" ("datastore1" when it has none). */
char *vch_ds_name_of(const char *ds_path);

/* Every appliance VM on the target, with all its keys: [{ref, name, power, extra_config}]. */
int vch_appliances(vch_engine *e, json_t **out, vic_err **err);

/* The appliance of VCH id (its VM reference, or "vm:NAME" on any target) or name. */
int vch_find(vch_engine *e, const char *id, json_t **out, vic_err **err);

/* The image store's datastore path: "datastore1" -> "[datastore1] vic-images/NAME";
 * "ds://datastore1/dir" or "datastore1/dir" -> "[datastore1] dir". */
char *vch_store_path(const char *url, const char *dflt);

/* On the local host VCHs share datastore1/vic-images/; on vSphere a VCH's images live in
 * its appliance's folder, NAME/VIC, as VIC keeps them, so that nothing outlives the VCH. */
char *vch_image_store(const vch_engine *e, const json_t *spec);

/* The datastore path of volume store vs of the VCH spec. */
char *vch_volume_store(const json_t *spec, const json_t *vs);

/* The DNS name the server certificate carries: auth.server.generate.cname, else the VCH's
 * name, else (a name no DNS name can be) "localhost". Caller frees. */
char *vch_server_name(const json_t *spec);

/* Where docker reaches an endpoint the appliance reported at reported ("ADDR:PORT"): there,
 * unless the VCH has no address of its own before it boots (DHCP) and serves TLS, whose
 * certificate then names it only by its DNS name: that name, on the reported port. */
char *vch_docker_host_for(const json_t *spec, const char *address, const char *reported);

/* A size of the spec (a Value object or a bare integer) in its base units; -1 when absent. */
long long vch_size_value(const json_t *v);

/* The VCH pool's allocations from the spec's compute section. */
void vch_pool_spec_of(const json_t *spec, hv_pool_spec *ps);

/* The inventory path of the VCH's resource pool. */
char *vch_pool_path(const json_t *spec);

/* The datastore of the VCH's appliance: that of its first image store. */
char *vch_appliance_ds(const json_t *spec);

/* The inventory path of the VCH's appliance VM: in the vm folder of its pool's datacenter. */
char *vch_vm_path(const json_t *spec, const char *name);

/* The state of the VCH whose appliance is vm, as list and inspect show it. */
const char *vch_state(const json_t *vm, vch_engine *e);

/* Whether datastore path ds_path lies inside the VCH's own VM folder ([DS] NAME, on its
 * appliance's datastore): there it is the VCH's, and goes with its appliance VM (validate.c). */
int vch_in_vm_folder(const json_t *spec, const char *ds_path);

/* ---- problems (validation and reconfiguration) ---- */

typedef struct vch_problems {
    json_t *list;
} vch_problems;

/* Appends a problem "path: reason". */
__attribute__((format(printf, 2, 3))) void vch_problem(vch_problems *p, const char *fmt, ...);

/* Sets err to code with the problems of list joined by "; ". */
int vch_join_problems(const json_t *list, int code, vic_err **err);

/* ---- tasks and their steps ---- */

/* A new task id "task-" and 24 hex digits. */
void vch_new_task_id(char out[40]);

typedef struct vch_run_ctx {
    vch_engine *e;
    vch_task *t;
    vch_progress_fn fn;
    void *payload;
    char docker_host[128]; /* where the appliance reports its docker endpoint */
} vch_run_ctx;

/* Records an event of the task's step, and reports it to the progress function. */
__attribute__((format(printf, 4, 5))) void vch_note(vch_run_ctx *r, const char *step,
                                                    const char *status, const char *fmt, ...);

typedef struct vch_step {
    const char *name;
    const char *doing;
    int (*run)(vch_run_ctx *r, vic_err **err);
} vch_step;

/* Runs steps in order, noting each as started, then done or failed; stops at the first
 * failure and returns it. */
int vch_run_steps(vch_run_ctx *r, const vch_step *steps, size_t n, vic_err **err);

/* Records a task's end, retrying a record that cannot be written; the last failure. */
int vch_finish_task(vch_engine *e, const char *id, const char *state, const char *error,
                    vic_err **err);

/* ---- create's pieces that recovery uses (create.c) ---- */

/*
 * Removes what a create made; tolerant of pieces never made or already gone. Returns NULL
 * when nothing of the VCH is left, else the first failure (caller frees): the target did not
 * answer, or refused, so pieces may remain there.
 */
char *vch_roll_back(vch_engine *e, const vch_task *t);

/* Clears the appliance's creating mark and writes the env file. */
int vch_finish_create(vch_engine *e, const vch_task *t, vic_err **err);

/* Whether every step of a create task is recorded as done (its runner may have died before
 * it could record the task's end). */
int vch_create_complete(vch_engine *e, const vch_task *t);

/* The VMs in pool (delete.c): [{ref, name, power, ...}]. */
int vch_pool_vms(vch_engine *e, const char *pool, json_t **out, vic_err **err);

#endif
