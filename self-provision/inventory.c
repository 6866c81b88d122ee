#include "self-provision/inventory.h"

#include <string.h>

#include "lib/mem.h"

#define LOCAL_TARGET   "local"
#define LOCAL_COMPUTE  "/ha-datacenter/host/local"
#define LOCAL_ROOTPOOL "/ha-datacenter/host/local/Resources"

static int local_has_target(void *payload, const char *target)
{
    (void)payload;
    return strcmp(target, LOCAL_TARGET) == 0;
}

static char *local_resolve_pool(void *payload, const char *target, const char *path)
{
    (void)payload;
    if (strcmp(target, LOCAL_TARGET) != 0)
        return NULL;
    if (strcmp(path, LOCAL_ROOTPOOL) == 0 || strcmp(path, LOCAL_COMPUTE) == 0)
        return xstrdup(LOCAL_ROOTPOOL);
    return NULL;
}

static char *local_root_pool(void *payload, const char *target)
{
    (void)payload;
    return strcmp(target, LOCAL_TARGET) == 0 ? xstrdup(LOCAL_ROOTPOOL) : NULL;
}

static json_t *local_datastores(void *payload, const char *target)
{
    (void)payload;
    return strcmp(target, LOCAL_TARGET) == 0 ? json_pack("[s]", "datastore1") : json_array();
}

static json_t *local_networks(void *payload, const char *target)
{
    (void)payload;
    return strcmp(target, LOCAL_TARGET) == 0 ? json_pack("[s, s]", "VM Network", "bridge")
                                             : json_array();
}

static char *local_default_public(void *payload, const char *target)
{
    (void)payload;
    return strcmp(target, LOCAL_TARGET) == 0 ? xstrdup("VM Network") : NULL;
}

static char *local_default_bridge(void *payload, const char *target)
{
    (void)payload;
    return strcmp(target, LOCAL_TARGET) == 0 ? xstrdup("bridge") : NULL;
}

static json_t *local_compute_resources(void *payload, const char *target)
{
    (void)payload;
    return strcmp(target, LOCAL_TARGET) == 0 ? json_pack("[s]", LOCAL_COMPUTE) : json_array();
}

/* The local target's appliance serves volumes from datastore1's folders. */
static int local_default_volume_store(void *payload, const char *target)
{
    (void)payload;
    return strcmp(target, LOCAL_TARGET) == 0;
}

static const vch_spec_inventory_ops local_ops = {
    .has_target = local_has_target,
    .resolve_pool = local_resolve_pool,
    .root_pool = local_root_pool,
    .datastores = local_datastores,
    .networks = local_networks,
    .default_public = local_default_public,
    .default_bridge = local_default_bridge,
    .compute_resources = local_compute_resources,
    .default_volume_store = local_default_volume_store,
};

static const vch_spec_inventory local_inventory = {.ops = &local_ops, .payload = NULL};

const vch_spec_inventory *sp_inventory_local(void)
{
    return &local_inventory;
}
