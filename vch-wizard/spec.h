/*
 * spec.h - the VCH spec: its shape, its defaults and its checks against a target's inventory,
 * optionally within limits laid on it from outside (a delegation token's restrictions, see
 * self-provision/provision.h).
 *
 * The VCH spec uses vic-machine-server's model (name, compute{cpu{limit,reservation},
 * memory{limit,reservation}, resource}, storage{image_stores[], volume_stores[{datastore,
 * label}], base_image_size}, network{bridge, public, client, management, container[]},
 * auth{no_tls, client, server{generate}}, endpoint{cpu{sockets}, memory}, registry,
 * container{name_convention}, debug, syslog_addr), with two VIC-C additions carrying
 * ceilings to the lifecycle engine: storage.limit (GB a VCH may use) and
 * container.max_containers. Sizes are Value objects ({"value": 4096, "units": "MiB"}) or bare
 * integers in MHz, MiB and GB.
 */
#ifndef VIC_VCH_SPEC_H
#define VIC_VCH_SPEC_H

#include <jansson.h>

#include "lib/err.h"

/*
 * What a target holds, as far as a VCH spec needs to know: resource pools, datastores and
 * networks, plus the defaults a VCH gets when its spec is silent.
 *
 * An ops table, so that the hypervisor layer can answer from the real inventory: the VCH
 * engine builds one from its connected driver (vch-wizard/inventory.h); a static one may
 * describe a target without asking a driver.
 */
typedef struct vch_spec_inventory_ops {
    /* 1 when target is known. */
    int (*has_target)(void *payload, const char *target);
    /* The resource pool path that path names (a pool, or a compute resource meaning its root
     * pool), or NULL when there is none; caller frees. */
    char *(*resolve_pool)(void *payload, const char *target, const char *path);
    /* The root resource pool of the target; caller frees. */
    char *(*root_pool)(void *payload, const char *target);
    /* Datastore names and network names: new references to arrays of strings. */
    json_t *(*datastores)(void *payload, const char *target);
    json_t *(*networks)(void *payload, const char *target);
    /* Preferred defaults for a VCH's public and bridge networks, or NULL; caller frees. */
    char *(*default_public)(void *payload, const char *target);
    char *(*default_bridge)(void *payload, const char *target);
    /* Optional (may be NULL): the paths a VCH can be placed in (compute resources and
     * resource pools), for messages that list what is available; new reference. */
    json_t *(*compute_resources)(void *payload, const char *target);
    /* Optional (may be NULL: never): 1 when a VCH on target whose spec says nothing of
     * volume stores gets one labelled default inside its own folder (DATASTORE/NAME/volumes/
     * default, on its appliance's datastore), because the target's appliance serves volumes
     * from its datastore folders. A spec that gives volume_stores, even [], keeps them. */
    int (*default_volume_store)(void *payload, const char *target);
} vch_spec_inventory_ops;

typedef struct vch_spec_inventory {
    const vch_spec_inventory_ops *ops;
    void *payload;
} vch_spec_inventory;

/*
 * Limits laid on a spec from outside: those of a delegation token, whose wording the
 * refusals use ("exceeds the token's ceiling of ..."). Absent ceilings are -1, absent lists
 * and strings NULL. A ceiling is also the default of what it bounds.
 */
typedef struct vch_spec_limits {
    const char *target;      /* the target the spec is for (NULL: "local") */
    const char *name_prefix; /* names must start with it; generated names get it */
    const char *compute;     /* the resource pool a VCH must lie within (then `within`) */
    int (*within)(const char *path, const char *prefix); /* whether path lies under prefix */
    long long cpu_mhz, memory_mb, storage_gb, containers_per_vch;
    const json_t *image_datastores, *volume_datastores, *networks; /* allowed names */
    int tls_required; /* TLS with client certificates, also to registries */
    int holder;       /* a token holder's spec: stores name a datastore only, no folder */
} vch_spec_limits;

/* No limits on a spec for target. */
#define VCH_SPEC_NO_LIMITS(t)                                                                      \
    ((vch_spec_limits){.target = (t),                                                              \
                       .cpu_mhz = -1,                                                              \
                       .memory_mb = -1,                                                            \
                       .storage_gb = -1,                                                           \
                       .containers_per_vch = -1})

/*
 * Checks spec against the inventory and the limits lim (target: the one the request names,
 * NULL for lim's). On success *out is the spec with every default filled in (new reference).
 * Otherwise every problem is reported at once, each "path: reason": *problems (new
 * reference, may be NULL to skip) lists them and err joins them. Errors: VIC_EINVAL when the
 * spec is malformed (any such problem), VIC_EFORBIDDEN when it is well-formed but exceeds the
 * limits ("compute.memory.limit: 8192 MB exceeds the token's ceiling of 4096 MB").
 */
int vch_spec_check(json_t **out, json_t **problems, const vch_spec_inventory *inv,
                   const vch_spec_limits *lim, const json_t *spec, const char *target,
                   vic_err **err);

/* The datastore a store URL names: "ds://name/path", "[name] path", "name/path" (caller
 * frees). */
char *vch_spec_datastore_of(const char *url);

/* Whether a store URL names its datastore and no folder on it ("datastore1",
 * "ds://datastore1/", "[datastore1]"): the folder is then the server's to choose. */
int vch_spec_datastore_only(const char *url);

#endif
