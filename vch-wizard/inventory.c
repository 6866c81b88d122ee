#include "vch-wizard/inventory.h"

#include <string.h>

#include "lib/cleanup.h"
#include "lib/mem.h"

struct vch_inventory {
    vch_spec_inventory sp;
    char *target;
    json_t *computes;      /* [{name, path, ref}] */
    json_t *pools;         /* [{name, path, ref}], root pools included */
    json_t *datastores;    /* [{name, path, ref}] */
    json_t *networks;      /* [{name, path, ref}] */
    int appliance_on_host; /* the driver's appliance reads its stores through this host */
};

static const char *str_at(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The item of list whose path is path, or whose name is path when that name is unique. */
static const json_t *lookup(const json_t *list, const char *path)
{
    const json_t *by_name = NULL;
    int names = 0;
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        if (strcmp(str_at(it, "path") ?: "", path) == 0)
            return it;
        if (strcmp(str_at(it, "name") ?: "", path) == 0) {
            by_name = it;
            names++;
        }
    }
    return names == 1 ? by_name : NULL;
}

static char *root_of(const json_t *compute)
{
    return xasprintf("%s/Resources", str_at(compute, "path"));
}

static int inv_has_target(void *payload, const char *target)
{
    vch_inventory *inv = payload;
    return strcmp(target, inv->target) == 0;
}

static char *inv_resolve_pool(void *payload, const char *target, const char *path)
{
    vch_inventory *inv = payload;
    if (strcmp(target, inv->target) != 0 || path == NULL || *path == '\0')
        return NULL;
    cleanup_free char *p = xstrdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    const json_t *c = lookup(inv->computes, p);
    if (c)
        return root_of(c);
    /* a root pool, which not every driver lists among the pools */
    size_t i;
    json_t *it;
    json_array_foreach(inv->computes, i, it)
    {
        cleanup_free char *root = root_of(it);
        if (strcmp(root, p) == 0)
            return steal_ptr(root);
    }
    const json_t *pool = lookup(inv->pools, p);
    /* a bare "Resources" names every root pool: only its path is unambiguous */
    if (pool && (strchr(p, '/') || strcmp(p, "Resources") != 0))
        return xstrdup(str_at(pool, "path"));
    return NULL;
}

static char *inv_root_pool(void *payload, const char *target)
{
    vch_inventory *inv = payload;
    if (strcmp(target, inv->target) != 0 || json_array_size(inv->computes) != 1)
        return NULL;
    return root_of(json_array_get(inv->computes, 0));
}

static json_t *names_of(const json_t *list)
{
    json_t *out = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        json_array_append_new(out, json_string(str_at(it, "name") ?: ""));
    }
    return out;
}

static json_t *inv_datastores(void *payload, const char *target)
{
    vch_inventory *inv = payload;
    return strcmp(target, inv->target) == 0 ? names_of(inv->datastores) : json_array();
}

/* A distributed switch's uplink port group carries no VM traffic: not a VCH network. */
static int is_uplink(const json_t *net)
{
    return strstr(str_at(net, "name") ?: "", "-DVUplinks") != NULL;
}

static json_t *inv_networks(void *payload, const char *target)
{
    vch_inventory *inv = payload;
    json_t *out = json_array();
    if (strcmp(target, inv->target) != 0)
        return out;
    size_t i;
    json_t *it;
    json_array_foreach(inv->networks, i, it)
    {
        if (!is_uplink(it))
            json_array_append_new(out, json_string(str_at(it, "name") ?: ""));
    }
    return out;
}

static char *inv_default_public(void *payload, const char *target)
{
    vch_inventory *inv = payload;
    if (strcmp(target, inv->target) != 0)
        return NULL;
    return lookup(inv->networks, "VM Network") ? xstrdup("VM Network") : NULL;
}

/* "bridge" where there is one (the local host), else the first distributed port group: VIC
 * wants the bridge network on a port group of its own. */
static char *inv_default_bridge(void *payload, const char *target)
{
    vch_inventory *inv = payload;
    if (strcmp(target, inv->target) != 0)
        return NULL;
    if (lookup(inv->networks, "bridge"))
        return xstrdup("bridge");
    size_t i;
    json_t *it;
    json_array_foreach(inv->networks, i, it)
    {
        if (strncmp(str_at(it, "ref") ?: "", "DistributedVirtualPortgroup:", 28) == 0 &&
            !is_uplink(it))
            return xstrdup(str_at(it, "name"));
    }
    return NULL;
}

static json_t *inv_compute_resources(void *payload, const char *target)
{
    vch_inventory *inv = payload;
    json_t *out = json_array();
    if (strcmp(target, inv->target) != 0)
        return out;
    size_t i;
    json_t *it;
    json_array_foreach(inv->computes, i, it)
    {
        json_array_append_new(out, json_string(str_at(it, "path")));
    }
    json_array_foreach(inv->pools, i, it)
    {
        if (strcmp(str_at(it, "name") ?: "", "Resources") != 0)
            json_array_append_new(out, json_string(str_at(it, "path")));
    }
    return out;
}

/* A default volume store only where the appliance serves volumes from the datastore's
 * folders on this host (hv_caps.appliance_on_host): the local target. */
static int inv_default_volume_store(void *payload, const char *target)
{
    vch_inventory *inv = payload;
    return strcmp(target, inv->target) == 0 && inv->appliance_on_host;
}

static const vch_spec_inventory_ops hv_ops = {
    .has_target = inv_has_target,
    .resolve_pool = inv_resolve_pool,
    .root_pool = inv_root_pool,
    .datastores = inv_datastores,
    .networks = inv_networks,
    .default_public = inv_default_public,
    .default_bridge = inv_default_bridge,
    .compute_resources = inv_compute_resources,
    .default_volume_store = inv_default_volume_store,
};

int vch_inventory_new(vch_inventory **out, hv_conn *hv, const char *target, vic_err **err)
{
    *out = NULL;
    vch_inventory *inv = xzalloc(sizeof(*inv));
    inv->target = xstrdup(target);
    inv->sp.ops = &hv_ops;
    inv->sp.payload = inv;
    const hv_caps *caps = hv_caps_of(hv);
    inv->appliance_on_host = caps && caps->appliance_on_host;
    int rc = hv_list(hv, HV_COMPUTE, NULL, &inv->computes, err);
    if (rc == 0)
        rc = hv_list(hv, HV_POOL, NULL, &inv->pools, err);
    if (rc == 0)
        rc = hv_list(hv, HV_DATASTORE, NULL, &inv->datastores, err);
    if (rc == 0)
        rc = hv_list(hv, HV_NETWORK, NULL, &inv->networks, err);
    if (rc < 0) {
        vch_inventory_free(inv);
        return vic_err_wrap(err, rc, "inventory of %s", target);
    }
    *out = inv;
    return 0;
}

void vch_inventory_free(vch_inventory *inv)
{
    if (inv == NULL)
        return;
    json_decref(inv->computes);
    json_decref(inv->pools);
    json_decref(inv->datastores);
    json_decref(inv->networks);
    free(inv->target);
    free(inv);
}

const vch_spec_inventory *vch_inventory_spec(const vch_inventory *inv)
{
    return &inv->sp;
}
