/* Reconfiguring a live VCH: the fields it can take, checked again as a whole spec. */
#include "vch-wizard/vch_int.h"

#include <string.h>

#include "lib/cleanup.h"
#include "vch-wizard/inventory.h"
#include "vch-wizard/spec.h"

static const char *const mutable_fields[] = {"compute", "debug", "syslog_addr", "registry", NULL};

int vch_configure(vch_engine *e, const char *id, const json_t *changes, json_t **out, vic_err **err)
{
    *out = NULL;
    if (!json_is_object(changes))
        return vic_err_set(err, VIC_EINVAL, "(body): must be a JSON object");
    json_t *vm cleanup_json = NULL;
    int rc = vch_find(e, id, &vm, err);
    if (rc < 0)
        return rc;
    json_t *spec cleanup_json = spec_of(vm);
    json_t *problems_l cleanup_json = json_array();
    vch_problems p = {.list = problems_l};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)changes, k, v)
    {
        int ok = 0;
        for (const char *const *m = mutable_fields; *m; m++)
            ok |= strcmp(k, *m) == 0;
        if (strcmp(k, "id") == 0 || strcmp(k, "version") == 0 || strcmp(k, "runtime") == 0)
            continue; /* read-only parts of an inspected model sent back: ignored */
        if (strcmp(k, "name") == 0 && json_equal(v, json_object_get(spec, "name")))
            continue;
        if (!ok) {
            vch_problem(&p,
                        "%s: cannot be changed on a live VCH (changeable: compute, debug, "
                        "syslog_addr, registry)",
                        k);
            continue;
        }
        if (strcmp(k, "compute") == 0) {
            json_t *res = json_object_get(v, "resource");
            if (res &&
                !json_equal(res, json_object_get(json_object_get(spec, "compute"), "resource")))
                vch_problem(&p, "compute.resource: cannot be changed on a live VCH");
            json_t *merged = json_deep_copy(json_object_get(spec, "compute"));
            if (merged == NULL)
                merged = json_object();
            json_object_update(merged, v);
            json_object_set_new(spec, "compute", merged);
        } else {
            json_object_set(spec, k, v);
        }
    }
    if (json_array_size(p.list))
        return vch_join_problems(p.list, VIC_EINVAL, err);
    /* the result must still be a valid spec */
    json_t *norm cleanup_json = NULL;
    vch_spec_limits lim = VCH_SPEC_NO_LIMITS(e->target);
    json_t *sp_problems cleanup_json = NULL;
    vch_inventory *inv = NULL;
    if ((rc = vch_inventory_new(&inv, e->hv, e->target, err)) < 0)
        return rc;
    rc = vch_spec_check(&norm, &sp_problems, vch_inventory_spec(inv), &lim, spec, e->target, err);
    vch_inventory_free(inv);
    if (rc < 0)
        return rc;
    hv_pool_spec ps;
    vch_pool_spec_of(norm, &ps);
    hv_ref pool;
    if ((rc = hv_find(e->hv, HV_POOL, appliance_key(vm, K_POOL), &pool, err)) < 0 ||
        (rc = hv_pool_update(e->hv, &pool, &ps, err)) < 0)
        return rc;
    /* keep what validation does not own (the bridge range default etc.) */
    json_object_set(spec, "compute", json_object_get(norm, "compute"));
    cleanup_free char *spec_s = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    const json_t *debug = json_object_get(spec, "debug");
    json_t *ec cleanup_json =
        json_pack("{s:s, s:o}", K_SPEC, spec_s, K_DEBUG,
                  json_sprintf("%lld", debug ? (long long)json_integer_value(debug) : 0LL));
    if (json_object_get(changes, "registry")) {
        /* the appliance's port layer reads these when it next starts */
        vch_registry_config(ec, spec);
        cleanup_free char *ds = vch_appliance_ds(spec);
        if ((rc = vch_registry_ca_upload(e, spec, ds, appliance_key(vm, K_NAME), err)) < 0)
            return rc;
    }
    hv_ref ref;
    ref_of(vm, &ref);
    hv_vm_change ch = {.extra_config = ec};
    if ((rc = hv_vm_reconfigure(e->hv, &ref, str_at(vm, "change_version"), &ch, NULL, 0, err)) < 0)
        return rc;
    return vch_inspect(e, id, out, err);
}
