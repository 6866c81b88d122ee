/*
 * The inventory validation reads from a driver, through a fake hv driver that answers only
 * hv_list: a vCenter with a cluster and a standalone host, as vcsim's default model has.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/cleanup.h"
#include "vch-wizard/inventory.h"

static int fake_list(hv_conn *c, hv_kind kind, const char *parent, json_t **out, vic_err **err)
{
    (void)c;
    (void)parent;
    (void)err;
    switch (kind) {
    case HV_COMPUTE:
        *out = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "name", "C0", "path", "/DC0/host/C0",
                         "ref", "ClusterComputeResource:c0", "name", "H0", "path", "/DC0/host/H0",
                         "ref", "ComputeResource:h0");
        return 0;
    case HV_POOL:
        *out = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]", "name", "Resources",
                         "path", "/DC0/host/C0/Resources", "ref", "ResourcePool:r0", "name",
                         "Resources", "path", "/DC0/host/H0/Resources", "ref", "ResourcePool:r1",
                         "name", "team", "path", "/DC0/host/C0/Resources/team", "ref",
                         "ResourcePool:r2");
        return 0;
    case HV_DATASTORE:
        *out = json_pack("[{s:s, s:s, s:s}]", "name", "ds0", "path", "/DC0/datastore/ds0", "ref",
                         "Datastore:ds0");
        return 0;
    case HV_NETWORK:
        *out = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]", "name",
                         "VM Network", "path", "/DC0/network/VM Network", "ref", "Network:n0",
                         "name", "DVS0-DVUplinks-9", "path", "/DC0/network/DVS0-DVUplinks-9", "ref",
                         "DistributedVirtualPortgroup:dvportgroup-10", "name", "DVPG0", "path",
                         "/DC0/network/DVPG0", "ref", "DistributedVirtualPortgroup:dvportgroup-11");
        return 0;
    default:
        *out = json_array();
        return 0;
    }
}

static int fail_list(hv_conn *c, hv_kind kind, const char *parent, json_t **out, vic_err **err)
{
    (void)c;
    (void)kind;
    (void)parent;
    *out = NULL;
    return vic_err_set(err, VIC_EUPSTREAM, "vc: connection refused");
}

static const hv_driver fake_driver = {.name = "fake", .list = fake_list};
static const hv_driver failing_driver = {.name = "fake", .list = fail_list};

static void check_str(char *got, const char *want)
{
    if (want == NULL)
        assert_null(got);
    else
        assert_string_equal(got, want);
    free(got);
}

static void test_inventory_resolves_paths_and_names(void **state)
{
    (void)state;
    hv_conn c = {.driver = &fake_driver};
    vch_inventory *inv = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vch_inventory_new(&inv, &c, "vc", &err), 0);
    const vch_spec_inventory *sp = vch_inventory_spec(inv);
    void *p = sp->payload;
    assert_true(sp->ops->has_target(p, "vc"));
    assert_false(sp->ops->has_target(p, "local"));
    /* a compute resource stands for its root pool, by path or unique name */
    check_str(sp->ops->resolve_pool(p, "vc", "/DC0/host/C0"), "/DC0/host/C0/Resources");
    check_str(sp->ops->resolve_pool(p, "vc", "/DC0/host/C0/"), "/DC0/host/C0/Resources");
    check_str(sp->ops->resolve_pool(p, "vc", "H0"), "/DC0/host/H0/Resources");
    check_str(sp->ops->resolve_pool(p, "vc", "/DC0/host/C0/Resources"), "/DC0/host/C0/Resources");
    check_str(sp->ops->resolve_pool(p, "vc", "team"), "/DC0/host/C0/Resources/team");
    /* "Resources" alone is every root pool */
    check_str(sp->ops->resolve_pool(p, "vc", "Resources"), NULL);
    check_str(sp->ops->resolve_pool(p, "vc", "/DC0/host/nope"), NULL);
    check_str(sp->ops->resolve_pool(p, "other", "/DC0/host/C0"), NULL);
    /* two compute resources: no default */
    check_str(sp->ops->root_pool(p, "vc"), NULL);
    json_t *places cleanup_json = sp->ops->compute_resources(p, "vc");
    assert_int_equal(json_array_size(places), 3);
    assert_string_equal(json_string_value(json_array_get(places, 2)),
                        "/DC0/host/C0/Resources/team");
    /* uplink port groups are no VCH network; the bridge defaults to a port group */
    json_t *nets cleanup_json = sp->ops->networks(p, "vc");
    assert_int_equal(json_array_size(nets), 2);
    check_str(sp->ops->default_public(p, "vc"), "VM Network");
    check_str(sp->ops->default_bridge(p, "vc"), "DVPG0");
    json_t *ds cleanup_json = sp->ops->datastores(p, "vc");
    assert_string_equal(json_string_value(json_array_get(ds, 0)), "ds0");
    vch_inventory_free(inv);
}

static void test_inventory_target_failure(void **state)
{
    (void)state;
    hv_conn c = {.driver = &failing_driver};
    vch_inventory *inv = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vch_inventory_new(&inv, &c, "vc", &err), VIC_EUPSTREAM);
    assert_null(inv);
    assert_non_null(strstr(err->msg, "inventory of vc"));
    assert_non_null(strstr(err->msg, "connection refused"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inventory_resolves_paths_and_names),
        cmocka_unit_test(test_inventory_target_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
