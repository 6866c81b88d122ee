#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/mem.h"
#include "self-provision/provision.h"
#include "validating-proxy/restrictions.h"

#define T0 1700000000

/* ---- a fake inventory through the ops table: a cluster with a team pool ---- */

static int fake_has_target(void *p, const char *t)
{
    (void)p;
    return strcmp(t, "vc") == 0;
}

static char *fake_resolve(void *p, const char *t, const char *path)
{
    (void)p;
    (void)t;
    if (strcmp(path, "/dc/host/c") == 0 || strcmp(path, "/dc/host/c/Resources") == 0)
        return xstrdup("/dc/host/c/Resources");
    if (strcmp(path, "/dc/host/c/Resources/team") == 0 ||
        strcmp(path, "/dc/host/c/Resources/other") == 0)
        return xstrdup(path);
    return NULL;
}

static char *fake_root(void *p, const char *t)
{
    (void)p;
    (void)t;
    return xstrdup("/dc/host/c/Resources");
}

static json_t *fake_ds(void *p, const char *t)
{
    (void)p;
    (void)t;
    return json_pack("[s, s]", "ds1", "ds2");
}

static json_t *fake_nets(void *p, const char *t)
{
    (void)p;
    (void)t;
    return json_pack("[s, s, s]", "public", "bridge-a", "bridge-b");
}

static char *fake_pub(void *p, const char *t)
{
    (void)p;
    (void)t;
    return xstrdup("public");
}

static char *fake_bridge(void *p, const char *t)
{
    (void)p;
    (void)t;
    return xstrdup("bridge-a");
}

static const vch_spec_inventory_ops fake_ops = {fake_has_target, fake_resolve, fake_root,
                                                fake_ds,         fake_nets,    fake_pub,
                                                fake_bridge,     NULL,         NULL};
static const vch_spec_inventory fake = {&fake_ops, NULL};

/* The same with two compute resources (no default root pool) that says where a VCH can go. */
static char *fake_no_root(void *p, const char *t)
{
    (void)p;
    (void)t;
    return NULL;
}

static json_t *fake_places(void *p, const char *t)
{
    (void)p;
    (void)t;
    return json_pack("[s, s]", "/dc/host/c", "/dc/host/h");
}

static const vch_spec_inventory_ops places_ops = {fake_has_target, fake_resolve, fake_no_root,
                                                  fake_ds,         fake_nets,    fake_pub,
                                                  fake_bridge,     fake_places,  NULL};
static const vch_spec_inventory places = {&places_ops, NULL};

/* ---- spec checks (pure) ---- */

static json_t *restr(const char *text)
{
    json_t *in cleanup_json = text ? json_loads(text, 0, NULL) : NULL;
    if (text)
        assert_non_null(in);
    json_t *out = NULL;
    vic_err *err cleanup_err = NULL;
    if (vp_restrictions_normalize(&out, in, NULL, -1, &err) < 0)
        fail_msg("restrictions: %s", err->msg);
    return out;
}

/* Checks spec against restrictions; expects code and each of the NULL-terminated reasons. */
static json_t *check(const vch_spec_inventory *inv, const char *r_text, const char *spec_text,
                     const char *target, int code, ...)
{
    json_t *r cleanup_json = restr(r_text);
    json_t *spec cleanup_json = json_loads(spec_text, 0, NULL);
    assert_non_null(spec);
    json_t *out = NULL, *problems cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    int rc = sp_check_spec(&out, &problems, inv, r, spec, target, &err);
    if (rc != code)
        fail_msg("expected %d, got %d: %s", code, rc, err ? err->msg : "ok");
    va_list ap;
    va_start(ap, code);
    const char *reason;
    while ((reason = va_arg(ap, const char *)) != NULL)
        if (strstr(err->msg, reason) == NULL)
            fail_msg("expected \"%s\" in \"%s\"", reason, err->msg);
    va_end(ap);
    if (rc < 0)
        assert_true(json_array_size(problems) >= 1);
    return out;
}

static const char *path_str(const json_t *spec, const char *path)
{
    const json_t *v = spec;
    char *copy = xstrdup(path);
    for (char *tok = strtok(copy, "."); tok && v; tok = strtok(NULL, "."))
        v = json_object_get(v, tok);
    free(copy);
    return json_string_value(v);
}

static long long path_int(const json_t *spec, const char *path)
{
    const json_t *v = spec;
    char *copy = xstrdup(path);
    for (char *tok = strtok(copy, "."); tok && v; tok = strtok(NULL, "."))
        v = json_object_get(v, tok);
    free(copy);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static void test_spec_compute_lists_what_is_available(void **state)
{
    (void)state;
    /* several compute resources and none asked for: required, naming them */
    check(&places, "{\"target\":\"vc\"}", "{}", NULL, VIC_EINVAL,
          "compute.resource: required: vc has more than one compute resource (available: "
          "/dc/host/c, /dc/host/h)",
          NULL);
    /* an unknown one, reported with the others and with what exists */
    check(&places, "{\"target\":\"vc\"}",
          "{\"compute\":{\"resource\":{\"name\":\"/dc/host/x\"}},"
          "\"storage\":{\"image_stores\":[\"ds9\"]}}",
          NULL, VIC_EINVAL,
          "compute.resource: /dc/host/x does not exist on vc (available: /dc/host/c, "
          "/dc/host/h)",
          "storage.image_stores[0]: datastore ds9 does not exist on vc (available: ds1, ds2)",
          NULL);
    json_t *ok cleanup_json = check(&places, "{\"target\":\"vc\"}",
                                    "{\"compute\":{\"resource\":{\"name\":"
                                    "\"/dc/host/c\"}}}",
                                    NULL, 0, NULL);
    assert_string_equal(path_str(ok, "compute.resource.name"), "/dc/host/c/Resources");
}

static void test_spec_defaults_fill_inside_the_limits(void **state)
{
    (void)state;
    json_t *s cleanup_json = check(sp_inventory_local(),
                                   "{\"memory_mb\":4096,\"cpu_mhz\":2000,\"storage_gb\":4,"
                                   "\"containers_per_vch\":5,\"name_prefix\":\"team-\"}",
                                   "{}", NULL, 0, NULL);
    assert_non_null(s);
    assert_int_equal(path_int(s, "compute.memory.limit.value"), 4096);
    assert_string_equal(path_str(s, "compute.memory.limit.units"), "MiB");
    assert_int_equal(path_int(s, "compute.cpu.limit.value"), 2000);
    assert_string_equal(path_str(s, "compute.resource.name"),
                        "/ha-datacenter/host/local/Resources");
    assert_int_equal(path_int(s, "storage.limit.value"), 4);
    assert_int_equal(path_int(s, "storage.base_image_size.value"), 4); /* 8 GB, capped */
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(s, "storage"), "image_stores"), 0)),
                        "datastore1");
    assert_string_equal(path_str(s, "network.public.port_group.name"), "VM Network");
    assert_string_equal(path_str(s, "network.bridge.port_group.name"), "bridge");
    assert_int_equal(path_int(s, "container.max_containers"), 5);
    assert_int_equal(path_int(s, "endpoint.memory.value"), 2048);
    assert_non_null(strstr(path_str(s, "name"), "team-vch-"));
    assert_non_null(json_object_get(json_object_get(s, "auth"), "server"));
    /* the local target's default volume store, in the VCH's own folder */
    const json_t *vs =
        json_array_get(json_object_get(json_object_get(s, "storage"), "volume_stores"), 0);
    cleanup_free char *want = xasprintf("ds://datastore1/%s/volumes/default", path_str(s, "name"));
    assert_string_equal(json_string_value(json_object_get(vs, "datastore")), want);
    assert_string_equal(json_string_value(json_object_get(vs, "label")), "default");
}

static void test_spec_target(void **state)
{
    (void)state;
    check(sp_inventory_local(), NULL, "{}", "vc.example.com", VIC_EFORBIDDEN,
          "target: vc.example.com is not the token's target local", NULL);
    check(sp_inventory_local(), "{\"target\":\"vc.example.com\"}", "{}", NULL, VIC_EINVAL,
          "target: the token's target vc.example.com is not known here", NULL);
    json_t *ok cleanup_json = check(&fake, "{\"target\":\"vc\"}", "{}", "vc", 0, NULL);
}

static void test_spec_compute(void **state)
{
    (void)state;
    const char *r = "{\"target\":\"vc\",\"compute\":\"/dc/host/c/Resources/team\"}";
    json_t *s cleanup_json = check(&fake, r, "{}", NULL, 0, NULL);
    assert_string_equal(path_str(s, "compute.resource.name"), "/dc/host/c/Resources/team");
    check(&fake, r, "{\"compute\":{\"resource\":{\"name\":\"/dc/host/c/Resources/other\"}}}", NULL,
          VIC_EFORBIDDEN,
          "compute.resource: /dc/host/c/Resources/other is outside the token's resource pool "
          "/dc/host/c/Resources/team",
          NULL);
    check(&fake, r, "{\"compute\":{\"resource\":{\"name\":\"/nowhere\"}}}", NULL, VIC_EINVAL,
          "compute.resource: /nowhere does not exist on vc", NULL);
}

static void test_spec_cpu_mhz(void **state)
{
    (void)state;
    check(sp_inventory_local(), "{\"cpu_mhz\":2000}",
          "{\"compute\":{\"cpu\":{\"limit\":{\"value\":3,\"units\":\"GHz\"}}}}", NULL,
          VIC_EFORBIDDEN, "compute.cpu.limit: 3000 MHz exceeds the token's ceiling of 2000 MHz",
          NULL);
    json_t *s cleanup_json = check(sp_inventory_local(), "{\"cpu_mhz\":2000}",
                                   "{\"compute\":{\"cpu\":{\"limit\":1500}}}", NULL, 0, NULL);
    assert_int_equal(path_int(s, "compute.cpu.limit.value"), 1500);
}

static void test_spec_memory_mb(void **state)
{
    (void)state;
    check(sp_inventory_local(), "{\"memory_mb\":4096}",
          "{\"compute\":{\"memory\":{\"limit\":{\"value\":8192,\"units\":\"MiB\"}}}}", NULL,
          VIC_EFORBIDDEN, "compute.memory.limit: 8192 MB exceeds the token's ceiling of 4096 MB",
          NULL);
    check(sp_inventory_local(), "{\"memory_mb\":4096}",
          "{\"compute\":{\"memory\":{\"limit\":{\"value\":5,\"units\":\"GiB\"}}}}", NULL,
          VIC_EFORBIDDEN, "5120 MB exceeds", NULL);
    check(sp_inventory_local(), "{\"memory_mb\":4096}",
          "{\"compute\":{\"memory\":{\"limit\":2048}},\"endpoint\":{\"memory\":4096}}", NULL,
          VIC_EINVAL, "endpoint.memory: 4096 MB exceeds compute.memory.limit (2048 MB)", NULL);
}

static void test_spec_storage_gb(void **state)
{
    (void)state;
    check(sp_inventory_local(), "{\"storage_gb\":100}",
          "{\"storage\":{\"limit\":{\"value\":200,\"units\":\"GB\"}}}", NULL, VIC_EFORBIDDEN,
          "storage.limit: 200 GB exceeds the token's ceiling of 100 GB", NULL);
    check(sp_inventory_local(), "{\"storage_gb\":10}", "{\"storage\":{\"base_image_size\":20}}",
          NULL, VIC_EFORBIDDEN,
          "storage.base_image_size: 20 GB exceeds the token's ceiling of 10 GB", NULL);
}

static void test_spec_containers_per_vch(void **state)
{
    (void)state;
    check(sp_inventory_local(), "{\"containers_per_vch\":5}",
          "{\"container\":{\"max_containers\":6}}", NULL, VIC_EFORBIDDEN,
          "container.max_containers: 6 exceeds the token's ceiling of 5", NULL);
}

static void test_spec_image_datastores(void **state)
{
    (void)state;
    const char *r = "{\"target\":\"vc\",\"image_datastores\":[\"ds2\"]}";
    json_t *s cleanup_json = check(&fake, r, "{}", NULL, 0, NULL);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(s, "storage"), "image_stores"), 0)),
                        "ds2");
    check(&fake, r, "{\"storage\":{\"image_stores\":[\"ds://ds1/images\"]}}", NULL, VIC_EFORBIDDEN,
          "storage.image_stores[0]: datastore ds1 is not allowed for images by the token "
          "(allowed: ds2)",
          NULL);
    check(&fake, r, "{\"storage\":{\"image_stores\":[\"[ds9] x\"]}}", NULL, VIC_EINVAL,
          "storage.image_stores[0]: datastore ds9 does not exist on vc (available: ds1, ds2)",
          NULL);
}

static void test_spec_volume_datastores(void **state)
{
    (void)state;
    const char *r = "{\"target\":\"vc\",\"volume_datastores\":[\"ds1\"]}";
    check(&fake, r, "{\"storage\":{\"volume_stores\":[{\"datastore\":\"ds2/vols\"}]}}", NULL,
          VIC_EFORBIDDEN,
          "storage.volume_stores[0].datastore: datastore ds2 is not allowed for "
          "volumes",
          NULL);
    json_t *s cleanup_json =
        check(&fake, r, "{\"storage\":{\"volume_stores\":[{\"datastore\":\"ds1/vols\"}]}}", NULL, 0,
              NULL);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(s, "storage"), "volume_stores"), 0),
            "label")),
        "default");
}

static void test_spec_networks(void **state)
{
    (void)state;
    const char *r = "{\"target\":\"vc\",\"networks\":[\"public\",\"bridge-b\"]}";
    json_t *s cleanup_json = check(&fake, r, "{}", NULL, 0, NULL);
    assert_string_equal(path_str(s, "network.bridge.port_group.name"), "bridge-b");
    check(&fake, r, "{\"network\":{\"bridge\":{\"port_group\":{\"name\":\"bridge-a\"}}}}", NULL,
          VIC_EFORBIDDEN,
          "network.bridge.port_group: network bridge-a is not allowed by the token (allowed: "
          "public, bridge-b)",
          NULL);
    check(&fake, r, "{\"network\":{\"container\":[{\"port_group\":{\"name\":\"bridge-a\"}}]}}",
          NULL, VIC_EFORBIDDEN, "network.container[0].port_group: network bridge-a", NULL);
}

static void test_spec_name_prefix(void **state)
{
    (void)state;
    check(sp_inventory_local(), "{\"name_prefix\":\"team-\"}", "{\"name\":\"prod-db\"}", NULL,
          VIC_EFORBIDDEN, "name: prod-db does not start with the token's prefix \"team-\"", NULL);
    check(sp_inventory_local(), NULL, "{\"name\":\"-bad name\"}", NULL, VIC_EINVAL, "name:", NULL);
}

static void test_spec_tls_required(void **state)
{
    (void)state;
    check(sp_inventory_local(), NULL, "{\"auth\":{\"no_tls\":true}}", NULL, VIC_EFORBIDDEN,
          "auth.no_tls: the token requires TLS", NULL);
    json_t *s cleanup_json = check(sp_inventory_local(), "{\"tls_required\":false}",
                                   "{\"auth\":{\"no_tls\":true}}", NULL, 0, NULL);
}

static void test_spec_every_problem_at_once(void **state)
{
    (void)state;
    check(sp_inventory_local(), "{\"memory_mb\":4096,\"cpu_mhz\":1000,\"name_prefix\":\"t-\"}",
          "{\"name\":\"x\",\"compute\":{\"cpu\":{\"limit\":2000},\"memory\":{\"limit\":8192}},"
          "\"auth\":{\"no_tls\":true}}",
          NULL, VIC_EFORBIDDEN, "name: x does not start", "compute.cpu.limit: 2000 MHz",
          "compute.memory.limit: 8192 MB", "auth.no_tls", NULL);
    /* malformed input is 400, reported with the rest */
    check(sp_inventory_local(), NULL,
          "{\"compute\":{\"cpu\":{\"limit\":\"lots\"}},\"bogus\":1,"
          "\"endpoint\":{\"operations_credentials\":{\"user\":\"u\"}}}",
          NULL, VIC_EINVAL, "bogus: unknown field", NULL);
    check(sp_inventory_local(), NULL, "{\"compute\":{\"cpu\":{\"limit\":\"lots\"}}}", NULL,
          VIC_EINVAL, "compute.cpu.limit: must be", NULL);
    check(sp_inventory_local(), NULL, "{\"endpoint\":{\"operations_credentials\":{}}}", NULL,
          VIC_EINVAL, "endpoint.operations_credentials: not accepted", NULL);
}

/* ---- redemption with a store ---- */

typedef struct fixture {
    char home[64];
    vic_store *store;
    vp *v;
    sp *s;
} fixture;

static const vic_migration migs[] = {{1, VP_SCHEMA_SQL VP_SCHEMA_SQL_2 SP_SCHEMA_SQL}};

static int setup(void **state)
{
    fixture *f = xzalloc(sizeof(*f));
    snprintf(f->home, sizeof(f->home), "/tmp/vic-test-sp-XXXXXX");
    assert_non_null(mkdtemp(f->home));
    cleanup_free char *db = xasprintf("%s/vic.db", f->home);
    cleanup_free char *keys = xasprintf("%s/tokens", f->home);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_store_open(&f->store, db, migs, 1, &err), 0);
    vp_options o = {.key_dir = keys, .issuer = "test", .audience = "aud", .store = f->store};
    assert_int_equal(vp_open(&f->v, &o, T0, &err), 0);
    f->s = sp_new(f->store, f->v, sp_inventory_local());
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sp_free(f->s);
    vp_free(f->v);
    vic_store_free(f->store);
    char *cmd = xasprintf("rm -rf '%s'", f->home);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}

static vp_ctx at(time_t now)
{
    vp_ctx c = {.now = now, .actor = "test", .remote = "127.0.0.1"};
    return c;
}

static vp_token *holder(fixture *f, const char *r_text, vp_issued *is)
{
    json_t *r cleanup_json = r_text ? json_loads(r_text, 0, NULL) : NULL;
    vp_issue_opts o = {.sub = "bob", .ttl = 3600, .restrictions = r};
    vp_ctx c = at(T0);
    vic_err *err cleanup_err = NULL;
    if (vp_issue(is, f->v, &o, &c, &err) < 0)
        fail_msg("issue: %s", err->msg);
    vp_token *t = NULL;
    if (vp_verify(&t, f->v, is->token, &c, &err) < 0)
        fail_msg("verify: %s", err->msg);
    return t;
}

static int redeem(fixture *f, vp_token *t, const char *spec_text, json_t **out, vic_err **err)
{
    json_t *spec cleanup_json = json_loads(spec_text, 0, NULL);
    vp_ctx c = at(T0 + 5);
    return sp_redeem(out, NULL, f->s, t, spec, NULL, &c, err);
}

static void test_redeem_records_vch_and_consumes_use(void **state)
{
    fixture *f = *state;
    vp_issued is = {0};
    vp_token *t = holder(f, "{\"uses\":1,\"max_vchs\":5,\"memory_mb\":4096}", &is);
    json_t *out cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(redeem(f, t, "{\"name\":\"v1\"}", &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "state")), "requested");
    assert_string_equal(json_string_value(json_object_get(out, "name")), "v1");
    json_t *list cleanup_json = NULL;
    assert_int_equal(sp_list(&list, f->s, t, &err), 0);
    assert_int_equal(json_array_size(list), 1);
    json_t *v = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(v, "created_by")), is.jti);
    assert_int_equal(path_int(json_object_get(v, "spec"), "compute.memory.limit.value"), 4096);
    /* the single use is gone */
    json_t *out2 cleanup_json = NULL;
    assert_int_equal(redeem(f, t, "{\"name\":\"v2\"}", &out2, &err), VIC_EFORBIDDEN);
    assert_non_null(strstr(err->msg, "uses: all 1 uses of this token are consumed"));
    /* the refusal is in the audit log */
    json_t *events cleanup_json = NULL;
    assert_int_equal(vp_audit(&events, f->v, is.jti, &err), 0);
    json_t *last = json_array_get(events, json_array_size(events) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "event")), "deny");
    assert_non_null(strstr(json_string_value(json_object_get(last, "detail")), "uses"));
    vp_token_free(t);
    vp_issued_clear(&is);
}

static void test_redeem_max_vchs(void **state)
{
    fixture *f = *state;
    vp_issued is = {0};
    vp_token *t = holder(f, "{\"uses\":5,\"max_vchs\":1}", &is);
    json_t *a cleanup_json = NULL, *b cleanup_json = NULL, *c cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(redeem(f, t, "{\"name\":\"v1\"}", &a, &err), 0);
    assert_int_equal(redeem(f, t, "{\"name\":\"v2\"}", &b, &err), VIC_EFORBIDDEN);
    assert_non_null(strstr(err->msg, "restrictions.max_vchs: this token already has 1 of 1"));
    /* deleting frees the slot; the name is free again too */
    vp_ctx ctx = at(T0 + 6);
    assert_int_equal(sp_delete(f->s, t, json_string_value(json_object_get(a, "id")), &ctx, &err),
                     0);
    assert_int_equal(redeem(f, t, "{\"name\":\"v1\"}", &c, &err), 0);
    vp_token_free(t);
    vp_issued_clear(&is);
}

static void test_redeem_name_conflict(void **state)
{
    fixture *f = *state;
    vp_issued is = {0};
    vp_token *t = holder(f, "{\"uses\":5,\"max_vchs\":5}", &is);
    json_t *a cleanup_json = NULL, *b cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(redeem(f, t, "{\"name\":\"v1\"}", &a, &err), 0);
    assert_int_equal(redeem(f, t, "{\"name\":\"v1\"}", &b, &err), VIC_ECONFLICT);
    vp_token_free(t);
    vp_issued_clear(&is);
}

static void test_holder_sees_only_its_vchs(void **state)
{
    fixture *f = *state;
    vp_issued ia = {0}, ib = {0}, ic = {0};
    vp_token *a = holder(f, "{\"uses\":2,\"max_vchs\":2,\"delegation_depth\":1}", &ia);
    vp_token *b = holder(f, NULL, &ib);
    json_t *va cleanup_json = NULL, *vb cleanup_json = NULL, *vc cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(redeem(f, a, "{\"name\":\"a1\"}", &va, &err), 0);
    assert_int_equal(redeem(f, b, "{\"name\":\"b1\"}", &vb, &err), 0);
    /* a child of a: its VCH is visible to a, not the other way round */
    vp_issue_opts o = {0};
    vp_ctx ctx = at(T0 + 4);
    if (vp_delegate(&ic, f->v, a, &o, &ctx, &err) < 0)
        fail_msg("delegate: %s", err->msg);
    vp_token *c = NULL;
    if (vp_verify(&c, f->v, ic.token, &ctx, &err) < 0)
        fail_msg("verify child: %s", err->msg);
    assert_int_equal(redeem(f, c, "{\"name\":\"c1\"}", &vc, &err), 0);
    json_t *la cleanup_json = NULL, *lc cleanup_json = NULL;
    assert_int_equal(sp_list(&la, f->s, a, &err), 0);
    assert_int_equal(json_array_size(la), 2);
    assert_int_equal(sp_list(&lc, f->s, c, &err), 0);
    assert_int_equal(json_array_size(lc), 1);
    const char *b_id = json_string_value(json_object_get(vb, "id"));
    assert_int_equal(sp_delete(f->s, a, b_id, &ctx, &err), VIC_ENOTFOUND);
    assert_int_equal(sp_delete(f->s, c, json_string_value(json_object_get(va, "id")), &ctx, &err),
                     VIC_ENOTFOUND);
    assert_int_equal(sp_delete(f->s, b, b_id, &ctx, &err), 0);
    /* a child's redemption counted against the parent's uses (2: a1 and c1) */
    json_t *lim cleanup_json = NULL;
    vp_token *a2 = NULL;
    assert_int_equal(vp_token_load(&a2, f->v, ia.jti, T0 + 7, &err), 0);
    assert_int_equal(sp_limits(&lim, f->s, a2, T0 + 7, &err), 0);
    assert_int_equal(path_int(lim, "uses.consumed"), 2);
    assert_int_equal(path_int(lim, "uses.remaining"), 0);
    assert_int_equal(path_int(lim, "vchs.count"), 2);
    vp_token_free(a2);
    vp_token_free(a);
    vp_token_free(b);
    vp_token_free(c);
    vp_issued_clear(&ia);
    vp_issued_clear(&ib);
    vp_issued_clear(&ic);
}

typedef struct race {
    fixture *f;
    vp_token *t;
    const char *name;
    pthread_barrier_t *go;
    int rc;
} race;

static void *racer(void *p)
{
    race *r = p;
    vic_err *err = NULL;
    json_t *out = NULL;
    char spec[64];
    snprintf(spec, sizeof(spec), "{\"name\":\"%s\"}", r->name);
    pthread_barrier_wait(r->go);
    r->rc = redeem(r->f, r->t, spec, &out, &err);
    json_decref(out);
    vic_err_free(&err);
    return NULL;
}

static void test_redeem_single_use_from_two_threads(void **state)
{
    fixture *f = *state;
    for (int round = 0; round < 10; round++) {
        vp_issued is = {0};
        vp_token *t = holder(f, "{\"uses\":1,\"max_vchs\":5}", &is);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        char na[16], nb[16];
        snprintf(na, sizeof(na), "r%da", round);
        snprintf(nb, sizeof(nb), "r%db", round);
        race a = {.f = f, .t = t, .name = na, .go = &go};
        race b = {.f = f, .t = t, .name = nb, .go = &go};
        pthread_t ta, tb;
        pthread_create(&ta, NULL, racer, &a);
        pthread_create(&tb, NULL, racer, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&go);
        assert_int_equal((a.rc == 0) + (b.rc == 0), 1);
        assert_int_equal(a.rc + b.rc, VIC_EFORBIDDEN);
        vp_token_free(t);
        vp_issued_clear(&is);
    }
}

static void test_redeem_revoked_meanwhile(void **state)
{
    fixture *f = *state;
    vp_issued is = {0};
    vp_token *t = holder(f, "{\"uses\":3}", &is);
    vp_ctx c = at(T0 + 2);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vp_revoke(NULL, f->v, is.jti, &c, &err), 0);
    json_t *out cleanup_json = NULL;
    assert_int_equal(redeem(f, t, "{}", &out, &err), VIC_EAUTH);
    assert_non_null(strstr(err->msg, "revoked"));
    vp_token_free(t);
    vp_issued_clear(&is);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_defaults_fill_inside_the_limits),
        cmocka_unit_test(test_spec_target),
        cmocka_unit_test(test_spec_compute),
        cmocka_unit_test(test_spec_compute_lists_what_is_available),
        cmocka_unit_test(test_spec_cpu_mhz),
        cmocka_unit_test(test_spec_memory_mb),
        cmocka_unit_test(test_spec_storage_gb),
        cmocka_unit_test(test_spec_containers_per_vch),
        cmocka_unit_test(test_spec_image_datastores),
        cmocka_unit_test(test_spec_volume_datastores),
        cmocka_unit_test(test_spec_networks),
        cmocka_unit_test(test_spec_name_prefix),
        cmocka_unit_test(test_spec_tls_required),
        cmocka_unit_test(test_spec_every_problem_at_once),
        cmocka_unit_test_setup_teardown(test_redeem_records_vch_and_consumes_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeem_max_vchs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeem_name_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_holder_sees_only_its_vchs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeem_single_use_from_two_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeem_revoked_meanwhile, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
