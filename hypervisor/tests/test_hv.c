/*
 * The checks hv.c makes before any driver runs: resource allocations of pools, VM specs and
 * extraConfig changes. A fake driver counts the calls that reach it: a refused request never
 * does, with VIC_EINVAL and a message naming the field; an accepted one always does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hypervisor/hv.h"
#include "lib/cleanup.h"

static int calls;

static int fake_pool_create(hv_conn *c, const char *parent, const char *name,
                            const hv_pool_spec *spec, hv_ref *out, vic_err **err)
{
    (void)c, (void)parent, (void)name, (void)spec, (void)err;
    snprintf(out->id, sizeof(out->id), "pool:x");
    calls++;
    return 0;
}

static int fake_pool_update(hv_conn *c, const hv_ref *pool, const hv_pool_spec *spec, vic_err **err)
{
    (void)c, (void)pool, (void)spec, (void)err;
    calls++;
    return 0;
}

static int fake_vm_create(hv_conn *c, const hv_vm_spec *spec, hv_ref *out, vic_err **err)
{
    (void)c, (void)spec, (void)err;
    snprintf(out->id, sizeof(out->id), "vm:x");
    calls++;
    return 0;
}

static int fake_vm_reconfigure(hv_conn *c, const hv_ref *vm, const char *change_version,
                               const hv_vm_change *change, char *new_version, size_t cap,
                               vic_err **err)
{
    (void)c, (void)vm, (void)change_version, (void)change, (void)new_version, (void)cap;
    (void)err;
    calls++;
    return 0;
}

static const hv_driver fake_driver = {.name = "fake",
                                      .pool_create = fake_pool_create,
                                      .pool_update = fake_pool_update,
                                      .vm_create = fake_vm_create,
                                      .vm_reconfigure = fake_vm_reconfigure};
static hv_conn conn = {.driver = &fake_driver};

/* Asserts the call's outcome: 0 and one driver call, or VIC_EINVAL with message want and no
 * driver call. */
static void expect(int rc, vic_err **err, int before, const char *want)
{
    if (want == NULL) {
        assert_int_equal(rc, 0);
        assert_null(*err);
        assert_int_equal(calls, before + 1);
        return;
    }
    assert_int_equal(rc, VIC_EINVAL);
    assert_non_null(*err);
    assert_string_equal((*err)->msg, want);
    assert_int_equal(calls, before);
    vic_err_free(err);
}

/* Creates and updates a pool whose cpu (or memory) allocation is a; both answer want. */
static void check_alloc_case(hv_alloc a, const char *want_cpu, const char *want_memory)
{
    vic_err *err cleanup_err = NULL;
    hv_ref ref = {.id = "pool:x"};
    hv_pool_spec spec = {.cpu = a, .memory = {.limit = -1}};
    int before = calls;
    expect(hv_pool_create(&conn, "/dc/host/h/Resources", "p", &spec, &ref, &err), &err, before,
           want_cpu);
    before = calls;
    expect(hv_pool_update(&conn, &ref, &spec, &err), &err, before, want_cpu);
    spec = (hv_pool_spec){.cpu = {.limit = -1}, .memory = a};
    before = calls;
    expect(hv_pool_create(&conn, "/dc/host/h/Resources", "p", &spec, &ref, &err), &err, before,
           want_memory);
    before = calls;
    expect(hv_pool_update(&conn, &ref, &spec, &err), &err, before, want_memory);
}

#define LIMIT_MSG(w)   w ".limit: must be positive, or -1 for unlimited"
#define RESERVE_MSG(w) w ".reservation: must be between 0 and the limit"
#define SHARES_MSG(w)  w ".shares: must be low, normal, high or a number"

static void test_alloc_refused(void **state)
{
    (void)state;
    check_alloc_case((hv_alloc){.limit = 0}, LIMIT_MSG("cpu"), LIMIT_MSG("memory"));
    check_alloc_case((hv_alloc){.limit = -2}, LIMIT_MSG("cpu"), LIMIT_MSG("memory"));
    check_alloc_case((hv_alloc){.limit = -1, .reservation = -1}, RESERVE_MSG("cpu"),
                     RESERVE_MSG("memory"));
    check_alloc_case((hv_alloc){.limit = 100, .reservation = 101}, RESERVE_MSG("cpu"),
                     RESERVE_MSG("memory"));
    check_alloc_case((hv_alloc){.limit = -1, .shares = "medium"}, SHARES_MSG("cpu"),
                     SHARES_MSG("memory"));
    check_alloc_case((hv_alloc){.limit = -1, .shares = "12a"}, SHARES_MSG("cpu"),
                     SHARES_MSG("memory"));
    check_alloc_case((hv_alloc){.limit = -1, .shares = "-5"}, SHARES_MSG("cpu"),
                     SHARES_MSG("memory"));
    /* the limit is checked first, then the reservation, then the shares */
    check_alloc_case((hv_alloc){.limit = 0, .reservation = -1, .shares = "x"}, LIMIT_MSG("cpu"),
                     LIMIT_MSG("memory"));
    check_alloc_case((hv_alloc){.limit = 10, .reservation = 20, .shares = "x"}, RESERVE_MSG("cpu"),
                     RESERVE_MSG("memory"));
    /* cpu before memory */
    vic_err *err cleanup_err = NULL;
    hv_ref ref;
    hv_pool_spec both = {.cpu = {.limit = 0}, .memory = {.limit = 0}};
    expect(hv_pool_create(&conn, "/dc/host/h/Resources", "p", &both, &ref, &err), &err, calls,
           LIMIT_MSG("cpu"));
}

static void test_alloc_accepted(void **state)
{
    (void)state;
    check_alloc_case((hv_alloc){.limit = -1}, NULL, NULL);
    check_alloc_case((hv_alloc){.limit = -1, .reservation = 1 << 20}, NULL, NULL);
    check_alloc_case((hv_alloc){.limit = 1}, NULL, NULL);
    check_alloc_case((hv_alloc){.limit = 100, .reservation = 100}, NULL, NULL);
    static const char *const shares[] = {"", "low", "normal", "high", "0", "1234"};
    for (size_t i = 0; i < sizeof(shares) / sizeof(shares[0]); i++) {
        hv_alloc a = {.limit = -1};
        snprintf(a.shares, sizeof(a.shares), "%s", shares[i]);
        check_alloc_case(a, NULL, NULL);
    }
}

static hv_vm_spec good_spec(void)
{
    return (hv_vm_spec){
        .name = "vm-1_a.b", .pool = "/dc/host/h/Resources", .cpus = 1, .memory_mb = 64};
}

static void check_spec(const hv_vm_spec *spec, const char *want)
{
    vic_err *err cleanup_err = NULL;
    hv_ref ref;
    int before = calls;
    expect(hv_vm_create(&conn, spec, &ref, &err), &err, before, want);
}

#define NAME_MSG(n)                                                                                \
    "name: \"" n "\" is not a valid VM name (letters, digits, '-', '_', '.'; at most 80)"

static void test_vm_spec_names(void **state)
{
    (void)state;
    hv_vm_spec s = good_spec();
    s.name = NULL;
    check_spec(&s, NAME_MSG(""));
    s.name = "";
    check_spec(&s, NAME_MSG(""));
    s.name = ".hidden";
    check_spec(&s, NAME_MSG(".hidden"));
    s.name = "..";
    check_spec(&s, NAME_MSG(".."));
    s.name = "../evil";
    check_spec(&s, NAME_MSG("../evil"));
    s.name = "a/b";
    check_spec(&s, NAME_MSG("a/b"));
    s.name = "with space";
    check_spec(&s, NAME_MSG("with space"));
    s.name = "caf\xc3\xa9";
    check_spec(&s, NAME_MSG("caf\xc3\xa9"));
    char longest[82];
    memset(longest, 'a', 81);
    longest[81] = '\0';
    s.name = longest;
    char want[200];
    snprintf(want, sizeof(want),
             "name: \"%s\" is not a valid VM name (letters, digits, '-', '_', '.'; at most 80)",
             longest);
    check_spec(&s, want);
    longest[80] = '\0'; /* 80 is allowed */
    check_spec(&s, NULL);
    s.name = "A.b-c_9.";
    check_spec(&s, NULL);
}

static void test_vm_spec_sizes(void **state)
{
    (void)state;
    hv_vm_spec s = good_spec();
    s.cpus = 0;
    check_spec(&s, "cpus: must be between 1 and 128");
    s.cpus = -1;
    check_spec(&s, "cpus: must be between 1 and 128");
    s.cpus = 129;
    check_spec(&s, "cpus: must be between 1 and 128");
    s.cpus = 128;
    check_spec(&s, NULL);
    s.memory_mb = 0;
    check_spec(&s, "memory_mb: must be positive");
    s.memory_mb = -64;
    check_spec(&s, "memory_mb: must be positive");
    s.memory_mb = 1;
    check_spec(&s, NULL);
    /* the name first, then cpus, then memory */
    hv_vm_spec all = {.name = "a/b", .cpus = 0, .memory_mb = 0};
    check_spec(&all, NAME_MSG("a/b"));
    all.name = "ok";
    check_spec(&all, "cpus: must be between 1 and 128");
}

static void test_vm_spec_extra_config(void **state)
{
    (void)state;
    hv_vm_spec s = good_spec();
    json_t *num cleanup_json = json_pack("{s:s, s:i}", "a.ok", "1", "b.num", 7);
    s.extra_config = num;
    check_spec(&s, "extra_config: key \"b.num\" cannot be set (value must be a string)");
    json_t *nul cleanup_json = json_pack("{s:n}", "c.null");
    s.extra_config = nul;
    check_spec(&s, "extra_config: key \"c.null\" cannot be set (value must be a string)");
    json_t *empty cleanup_json = json_pack("{s:s}", "", "x");
    s.extra_config = empty;
    check_spec(&s, "extra_config: key \"\" cannot be set");
    json_t *ok cleanup_json = json_pack("{s:s, s:s}", "guestinfo.a", "1", "guestinfo.b", "");
    s.extra_config = ok;
    check_spec(&s, NULL);
    json_t *none cleanup_json = json_object();
    s.extra_config = none;
    check_spec(&s, NULL);
    s.extra_config = NULL;
    check_spec(&s, NULL);
}

/* Port forwards stay the local target's: any other driver refuses them, before the spec's
 * own checks. */
static void test_vm_spec_port_forwards(void **state)
{
    (void)state;
    hv_port_forward pf = {.host_ip = "127.0.0.1", .host_port = 8080, .guest_port = 80};
    hv_nic nic = {.network = "VM Network", .forwards = &pf, .n_forwards = 1};
    hv_vm_spec s = good_spec();
    s.name = "a/b";
    s.nics = &nic;
    s.n_nics = 1;
    vic_err *err cleanup_err = NULL;
    hv_ref ref;
    int before = calls;
    assert_int_equal(hv_vm_create(&conn, &s, &ref, &err), VIC_EUNSUPPORTED);
    assert_string_equal(err->msg, "nics[0]: port forwards are not supported by the fake driver");
    assert_int_equal(calls, before);
}

static void check_change(const json_t *extra, const char *want)
{
    vic_err *err cleanup_err = NULL;
    hv_ref vm = {.id = "vm:x"};
    hv_vm_change ch = {.extra_config = extra};
    char v[64];
    int before = calls;
    expect(hv_vm_reconfigure(&conn, &vm, NULL, &ch, v, sizeof(v), &err), &err, before, want);
}

static void test_vm_change(void **state)
{
    (void)state;
    json_t *num cleanup_json = json_pack("{s:i}", "a.num", 1);
    check_change(num, "extra_config: key \"a.num\" cannot be changed");
    json_t *obj cleanup_json = json_pack("{s:{}}", "a.obj");
    check_change(obj, "extra_config: key \"a.obj\" cannot be changed");
    json_t *boolean cleanup_json = json_pack("{s:b}", "a.bool", 1);
    check_change(boolean, "extra_config: key \"a.bool\" cannot be changed");
    json_t *empty cleanup_json = json_pack("{s:s}", "", "x");
    check_change(empty, "extra_config: key \"\" cannot be changed");
    json_t *ok cleanup_json = json_pack("{s:s, s:n}", "guestinfo.set", "v", "guestinfo.gone");
    check_change(ok, NULL);
    check_change(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_refused),
        cmocka_unit_test(test_alloc_accepted),
        cmocka_unit_test(test_vm_spec_names),
        cmocka_unit_test(test_vm_spec_sizes),
        cmocka_unit_test(test_vm_spec_extra_config),
        cmocka_unit_test(test_vm_spec_port_forwards),
        cmocka_unit_test(test_vm_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
