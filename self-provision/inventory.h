/*
 * inventory.h - what a target holds, as far as self-provisioning needs to know: resource
 * pools, datastores and networks, plus the defaults a VCH gets when its spec is silent.
 *
 * An ops table, so that the hypervisor layer can answer from the real inventory: the VCH
 * engine builds one from its connected driver (vch-wizard/inventory.h); sp_inventory_local()
 * describes the embedded local target the way an ESX host would present it, without asking
 * the driver.
 */
#ifndef VIC_SP_INVENTORY_H
#define VIC_SP_INVENTORY_H

#include <jansson.h>

typedef struct sp_inventory_ops {
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
} sp_inventory_ops;

typedef struct sp_inventory {
    const sp_inventory_ops *ops;
    void *payload;
} sp_inventory;

/* The local target: datacenter ha-datacenter, compute resource /ha-datacenter/host/local,
 * root pool /ha-datacenter/host/local/Resources, datastore datastore1, networks "VM Network"
 * (public) and "bridge". Static; never freed. */
const sp_inventory *sp_inventory_local(void);

#endif
