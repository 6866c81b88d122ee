/*
 * The VCH spec without outside limits (the engine's own check): defaults from the inventory,
 * every problem reported at once, and the store URL helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/certs.h"
#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/mem.h"
#include "vch-wizard/spec.h"

static int has_target(void *p, const char *t)
{
    (void)p;
    return strcmp(t, "vc") == 0;
}

static char *resolve(void *p, const char *t, const char *path)
{
    (void)p;
    (void)t;
    if (strcmp(path, "/dc/host/c") == 0 || strcmp(path, "/dc/host/c/Resources") == 0)
        return xstrdup("/dc/host/c/Resources");
    return NULL;
}

static char *root(void *p, const char *t)
{
    (void)p;
    (void)t;
    return xstrdup("/dc/host/c/Resources");
}

static json_t *datastores(void *p, const char *t)
{
    (void)p;
    (void)t;
    return json_pack("[s, s]", "ds0", "ds1");
}

static json_t *networks(void *p, const char *t)
{
    (void)p;
    (void)t;
    return json_pack("[s, s]", "public", "bridge-a");
}

static char *dflt_public(void *p, const char *t)
{
    (void)p;
    (void)t;
    return xstrdup("public");
}

static char *dflt_bridge(void *p, const char *t)
{
    (void)p;
    (void)t;
    return xstrdup("bridge-a");
}

static const vch_spec_inventory_ops ops = {has_target,  resolve,     root, datastores, networks,
                                           dflt_public, dflt_bridge, NULL, NULL};
static const vch_spec_inventory inv = {&ops, NULL};

static const char *str_at(const json_t *o, const char *a, const char *b, const char *c)
{
    o = json_object_get(o, a);
    if (b)
        o = json_object_get(o, b);
    if (c)
        o = json_object_get(o, c);
    return json_string_value(o);
}

/* registry: hosts must be HOST[:PORT] and each CA PEM text with a certificate; a good
 * section passes as given. */
static void test_spec_registry(void **state)
{
    (void)state;
    vch_spec_limits lim = VCH_SPEC_NO_LIMITS("vc");
    json_t *spec cleanup_json =
        json_loads("{\"name\":\"v\",\"registry\":{\"insecure\":[\"ok:5000\",\"bad/path\"],"
                   "\"certificate_authorities\":[{\"pem\":\"no certificate\"}],\"mirror\":[]}}",
                   0, NULL);
    json_t *out = NULL;
    json_t *problems cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vch_spec_check(&out, &problems, &inv, &lim, spec, NULL, &err), VIC_EINVAL);
    assert_null(out);
    assert_non_null(strstr(err->msg, "mirror"));
    json_object_del(json_object_get(spec, "registry"), "mirror");
    vic_err_free(&err);
    json_decref(problems);
    problems = NULL;
    assert_int_equal(vch_spec_check(&out, &problems, &inv, &lim, spec, NULL, &err), VIC_EINVAL);
    assert_int_equal(json_array_size(problems), 2);
    assert_non_null(strstr(err->msg, "registry.insecure[1]: \"bad/path\" is not a registry's"));
    assert_non_null(
        strstr(err->msg, "registry.certificate_authorities[0].pem: no PEM certificate in it"));
    /* a real certificate (the VCH's own CA would do; any self-signed one here) */
    vic_cert *ca = NULL;
    vic_cert_opts o = {.cn = "test-ca", .ec = 1};
    assert_int_equal(vic_cert_ca_new(&ca, &o, NULL), 0);
    char path[] = "/tmp/test_spec_ca.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    cleanup_free char *key = xasprintf("%s.key", path);
    assert_int_equal(vic_cert_write_pem(ca, path, key, NULL), 0);
    vic_cert_free(ca);
    cleanup_free char *pem = NULL;
    size_t len = 0;
    assert_int_equal(vic_file_read(&pem, &len, path, 1 << 16, NULL), 0);
    unlink(path);
    unlink(key);
    json_t *reg = json_object_get(spec, "registry");
    json_object_set_new(reg, "insecure", json_pack("[s]", "127.0.0.9:5000"));
    json_object_set_new(reg, "certificate_authorities", json_pack("[{s:s}]", "pem", pem));
    vic_err_free(&err);
    json_decref(problems);
    problems = NULL;
    assert_int_equal(vch_spec_check(&out, &problems, &inv, &lim, spec, NULL, &err), 0);
    assert_true(json_equal(json_object_get(out, "registry"), reg));
    json_decref(out);
}

static void test_spec_defaults(void **state)
{
    (void)state;
    vch_spec_limits lim = VCH_SPEC_NO_LIMITS("vc");
    json_t *spec cleanup_json = json_pack("{s:s}", "name", "v1");
    json_t *out cleanup_json = NULL;
    json_t *problems cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vch_spec_check(&out, &problems, &inv, &lim, spec, "vc", &err), 0);
    assert_string_equal(str_at(out, "compute", "resource", "name"), "/dc/host/c/Resources");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(out, "storage"), "image_stores"), 0)),
                        "ds0");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_object_get(out, "network"), "public"),
                            "port_group"),
            "name")),
        "public");
    /* no ceilings: limits stay absent */
    assert_null(json_object_get(json_object_get(json_object_get(out, "compute"), "cpu"), "limit"));
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(out, "storage"), "base_image_size"), "value")),
        8);
    assert_non_null(json_object_get(json_object_get(out, "auth"), "server"));
}

/* A target whose appliance serves volumes from its datastore folders (the local one). */
static int volumes_here(void *p, const char *t)
{
    (void)p;
    return strcmp(t, "vc") == 0;
}

static const vch_spec_inventory_ops ops_vs = {.has_target = has_target,
                                              .resolve_pool = resolve,
                                              .root_pool = root,
                                              .datastores = datastores,
                                              .networks = networks,
                                              .default_public = dflt_public,
                                              .default_bridge = dflt_bridge,
                                              .default_volume_store = volumes_here};
static const vch_spec_inventory inv_vs = {&ops_vs, NULL};

/* The volume stores the check gives spec_text under lim (a new reference). */
static json_t *volume_stores_of(const vch_spec_inventory *in, const vch_spec_limits *lim,
                                const char *spec_text)
{
    json_t *spec cleanup_json = json_loads(spec_text, 0, NULL);
    json_t *out cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    if (vch_spec_check(&out, NULL, in, lim, spec, "vc", &err) < 0)
        fail_msg("%s: %s", spec_text, err->msg);
    return json_incref(json_object_get(json_object_get(out, "storage"), "volume_stores"));
}

static void expect_stores(const json_t *got, const char *want)
{
    json_t *w cleanup_json = json_loads(want, 0, NULL);
    assert_non_null(w);
    if (!json_equal(got, w)) {
        cleanup_free char *g = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        fail_msg("volume stores %s, expected %s", g ? g : "(absent)", want);
    }
}

/* A spec silent on volume stores gets one labelled default in the VCH's own folder where the
 * target gives one; an empty list stays empty, a given store stays as given; a token that
 * does not allow the appliance's datastore for volumes gets its first allowed one, or none. */
static void test_spec_default_volume_store(void **state)
{
    (void)state;
    vch_spec_limits lim = VCH_SPEC_NO_LIMITS("vc");
    json_t *v cleanup_json = volume_stores_of(&inv_vs, &lim, "{\"name\":\"v1\"}");
    expect_stores(v, "[{\"datastore\":\"ds://ds0/v1/volumes/default\",\"label\":\"default\"}]");
    json_decref(v);
    v = volume_stores_of(&inv_vs, &lim,
                         "{\"name\":\"v1\",\"storage\":{\"image_stores\":[\"ds1/imgs\"]}}");
    expect_stores(v, "[{\"datastore\":\"ds://ds1/v1/volumes/default\",\"label\":\"default\"}]");
    json_decref(v);
    v = volume_stores_of(&inv_vs, &lim, "{\"name\":\"v1\",\"storage\":{\"volume_stores\":[]}}");
    expect_stores(v, "[]");
    json_decref(v);
    v = volume_stores_of(&inv_vs, &lim,
                         "{\"name\":\"v1\",\"storage\":{\"volume_stores\":"
                         "[{\"datastore\":\"ds1/x\",\"label\":\"fast\"}]}}");
    expect_stores(v, "[{\"datastore\":\"ds1/x\",\"label\":\"fast\"}]");
    json_decref(v);
    /* a target that gives none (no op) */
    v = volume_stores_of(&inv, &lim, "{\"name\":\"v1\"}");
    assert_null(v);
    /* under a token: a holder names datastores only, and the token's list rules */
    json_t *only1 cleanup_json = json_pack("[s]", "ds1");
    json_t *none cleanup_json = json_array();
    vch_spec_limits tok = VCH_SPEC_NO_LIMITS("vc");
    tok.holder = 1;
    v = volume_stores_of(&inv_vs, &tok, "{\"name\":\"v1\"}");
    expect_stores(v, "[{\"datastore\":\"ds://ds0/v1/volumes/default\",\"label\":\"default\"}]");
    json_decref(v);
    tok.volume_datastores = only1;
    v = volume_stores_of(&inv_vs, &tok, "{\"name\":\"v1\"}");
    expect_stores(v, "[{\"datastore\":\"ds1\",\"label\":\"default\"}]");
    json_decref(v);
    tok.volume_datastores = none;
    v = volume_stores_of(&inv_vs, &tok, "{\"name\":\"v1\"}");
    expect_stores(v, "[]");
    json_decref(v);
    /* the default is checked like a given store on a second pass (the engine's own) */
    v = volume_stores_of(
        &inv_vs, &lim,
        "{\"name\":\"v1\",\"storage\":{\"volume_stores\":"
        "[{\"datastore\":\"ds://ds0/v1/volumes/default\",\"label\":\"default\"}]}}");
    expect_stores(v, "[{\"datastore\":\"ds://ds0/v1/volumes/default\",\"label\":\"default\"}]");
}

static void test_spec_problems_at_once(void **state)
{
    (void)state;
    vch_spec_limits lim = VCH_SPEC_NO_LIMITS("vc");
    json_t *spec cleanup_json =
        json_loads("{\"name\":\"-x\",\"storage\":{\"image_stores\":[\"ds9\"]},"
                   "\"network\":{\"public\":{\"port_group\":{\"name\":\"nope\"}}}}",
                   0, NULL);
    json_t *out = NULL;
    json_t *problems cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vch_spec_check(&out, &problems, &inv, &lim, spec, NULL, &err), VIC_EINVAL);
    assert_null(out);
    assert_int_equal(json_array_size(problems), 3);
    assert_non_null(strstr(err->msg, "name: must start with a letter or digit"));
    assert_non_null(strstr(err->msg, "storage.image_stores[0]: datastore ds9 does not exist on vc "
                                     "(available: ds0, ds1)"));
    assert_non_null(strstr(err->msg, "network.public.port_group: network nope does not exist"));
}

static void test_spec_unknown_target(void **state)
{
    (void)state;
    vch_spec_limits lim = VCH_SPEC_NO_LIMITS("esx");
    json_t *out = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vch_spec_check(&out, NULL, &inv, &lim, NULL, NULL, &err), VIC_EINVAL);
    assert_string_equal(err->msg, "target: the token's target esx is not known here");
}

static void test_spec_datastore_urls(void **state)
{
    (void)state;
    static const struct {
        const char *url, *ds;
        int only;
    } cases[] = {
        {"ds://datastore1/vic/x", "datastore1", 0},
        {"ds://datastore1/", "datastore1", 1},
        {"[datastore1] vic/x", "datastore1", 0},
        {"[datastore1]", "datastore1", 1},
        {"datastore1", "datastore1", 1},
        {"datastore1/a", "datastore1", 0},
        {"[]", "", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_free char *ds = vch_spec_datastore_of(cases[i].url);
        assert_string_equal(ds, cases[i].ds);
        assert_int_equal(vch_spec_datastore_only(cases[i].url), cases[i].only);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_defaults),
        cmocka_unit_test(test_spec_default_volume_store),
        cmocka_unit_test(test_spec_problems_at_once),
        cmocka_unit_test(test_spec_unknown_target),
        cmocka_unit_test(test_spec_datastore_urls),
        cmocka_unit_test(test_spec_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
