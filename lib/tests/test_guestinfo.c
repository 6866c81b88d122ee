/* Unit tests for lib/guestinfo.c: vic's extraConfig key scheme, round trips, secrets and the
 * checks on outside input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/guestinfo.h"
#include "lib/mem.h"
#include "tests/fuzz/guestinfo_sample.h"

static char **strv(size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    char **v = xcalloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = xstrdup(va_arg(ap, const char *));
    va_end(ap);
    return v;
}

static void free_strv_test(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* A fully populated config; release with vic_gi_free(&gi_config_desc, c). */
static void sample_fill(gi_config *c)
{
    memset(c, 0, sizeof(*c));
    c->common.id = xstrdup("c0ffee");
    c->common.name = xstrdup("web.1");
    c->common.notes = xstrdup("operator notes: keep");
    c->create_time = 1700000000;
    c->debug = -3;
    c->asymrouting = true;

    c->n_sessions = 2;
    c->session_ids = strv(2, "a1", "top"); /* sorted, as decode returns maps */
    c->sessions = xcalloc(2, sizeof(gi_session));
    c->sessions[0].cmd.path = xstrdup("/bin/true");
    c->sessions[0].exit_status = 0;
    c->sessions[1].cmd.path = xstrdup("/bin/sh");
    c->sessions[1].cmd.args = strv(3, "/bin/sh", "-c", "echo hi; exit 3");
    c->sessions[1].cmd.n_args = 3;
    c->sessions[1].cmd.dir = xstrdup("/");
    c->sessions[1].tty = true;
    c->sessions[1].runblock = true;
    c->sessions[1].exit_status = 3;
    c->sessions[1].started = xstrdup("true");

    c->n_networks = 2;
    c->networks = xcalloc(2, sizeof(gi_network));
    c->networks[0].name = xstrdup("bridge");
    c->networks[0].ip = xstrdup("172.16.0.2");
    c->networks[0].mtu = 1500;
    c->networks[1].name = xstrdup("public");
    c->networks[1].ip = xstrdup(""); /* empty, not absent */
    c->networks[1].mtu = 9000;

    c->n_annos = 2;
    c->anno_keys = strv(2, "com.example/owner", "tier");
    c->anno_values = strv(2, "ops team", "gold|silver");

    c->registry_password = xstrdup("hunter2-registry");
    c->n_secret_env = 2;
    c->secret_env = strv(2, "TOKEN=s3cr3t-env", "DB_PASS=pw");
}

static vic_gi_key *sample_key(void)
{
    vic_gi_key *k = NULL;
    vic_err *err = NULL;
    assert_int_equal(vic_gi_key_from_hex(&k, GI_SAMPLE_KEY_HEX, &err), 0);
    return k;
}

static const char *kv_get(const json_t *kv, const char *key)
{
    return json_string_value(json_object_get(kv, key));
}

/* Encodes the sample with the sample key. */
static json_t *sample_kv(vic_gi_key *k)
{
    gi_config c;
    sample_fill(&c);
    json_t *kv = json_object();
    vic_err *err = NULL;
    int rc = vic_gi_encode(kv, &gi_config_desc, &c, "", k, &err);
    if (rc < 0)
        fail_msg("encode: %s", err->msg);
    vic_gi_free(&gi_config_desc, &c);
    return kv;
}

/* Decodes kv with the sample description; returns the code and keeps the error message. */
static int decode_sample(const json_t *kv, const vic_gi_key *k, char **msg)
{
    gi_config c;
    memset(&c, 0, sizeof(c));
    vic_err *err = NULL;
    int rc = vic_gi_decode(&c, &gi_config_desc, kv, "", k, &err);
    vic_gi_free(&gi_config_desc, &c);
    if (msg)
        *msg = err ? xstrdup(err->msg) : NULL;
    vic_err_free(&err);
    return rc;
}

static void test_guestinfo_round_trip(void **state)
{
    (void)state;
    vic_gi_key *k = sample_key();
    gi_config orig, back;
    sample_fill(&orig);
    memset(&back, 0, sizeof(back));
    cleanup_json json_t *kv = json_object();
    vic_err *err = NULL;
    assert_int_equal(vic_gi_encode(kv, &gi_config_desc, &orig, "", k, &err), 0);
    assert_int_equal(vic_gi_decode(&back, &gi_config_desc, kv, "", k, &err), 0);
    assert_null(err);
    assert_true(vic_gi_equal(&gi_config_desc, &orig, &back));
    /* Spot checks, so that a broken vic_gi_equal cannot hide a broken codec. */
    assert_string_equal(back.common.notes, "operator notes: keep");
    assert_int_equal(back.debug, -3);
    assert_int_equal(back.n_sessions, 2);
    assert_string_equal(back.session_ids[1], "top");
    assert_string_equal(back.sessions[1].cmd.args[2], "echo hi; exit 3");
    assert_int_equal(back.sessions[1].exit_status, 3);
    assert_true(back.sessions[1].runblock);
    assert_null(back.sessions[0].started);
    assert_string_equal(back.networks[1].ip, "");
    assert_int_equal(back.networks[1].mtu, 9000);
    assert_string_equal(back.anno_values[1], "gold|silver");
    assert_string_equal(back.registry_password, "hunter2-registry");
    assert_string_equal(back.secret_env[0], "TOKEN=s3cr3t-env");

    /* A change is seen by vic_gi_equal. */
    back.sessions[1].exit_status = 4;
    assert_false(vic_gi_equal(&gi_config_desc, &orig, &back));

    vic_gi_free(&gi_config_desc, &orig);
    vic_gi_free(&gi_config_desc, &back);
    assert_null(back.sessions);
    assert_int_equal(back.n_sessions, 0);
    vic_gi_key_free(k);
}

static void test_guestinfo_key_names_match_vic(void **state)
{
    (void)state;
    vic_gi_key *k = sample_key();
    cleanup_json json_t *kv = sample_kv(k);

    /* read-only: "/" after guestinfo.vice. */
    assert_string_equal(kv_get(kv, "guestinfo.vice./common/name"), "web.1");
    assert_string_equal(kv_get(kv, "guestinfo.vice./common/id"), "c0ffee");
    assert_string_equal(kv_get(kv, "guestinfo.vice./diagnostics/debug"), "-3");
    assert_string_equal(kv_get(kv, "guestinfo.vice./asymrouting"), "true");
    /* hidden under a visible parent: prefix and signifier dropped */
    assert_string_equal(kv_get(kv, "common/notes"), "operator notes: keep");
    /* read-write: "." throughout */
    assert_string_equal(kv_get(kv, "guestinfo.vice..createtime"), "1700000000");
    /* struct map: sorted key list at the base, entries under base|key; a read-write field of
     * a read-only entry rewrites the whole path with "." (vic's sessions|id.started) */
    assert_string_equal(kv_get(kv, "guestinfo.vice./sessions"), "a1|top");
    assert_string_equal(kv_get(kv, "guestinfo.vice..sessions|top.started"), "true");
    assert_string_equal(kv_get(kv, "guestinfo.vice..sessions|top.status"), "3");
    assert_string_equal(kv_get(kv, "guestinfo.vice./sessions|top/tty"), "true");
    assert_string_equal(kv_get(kv, "guestinfo.vice./sessions|top/cmd/Path"), "/bin/sh");
    /* string array: count-1 at the base, items joined by "|" under base~ */
    assert_string_equal(kv_get(kv, "guestinfo.vice./sessions|top/cmd/Args"), "2");
    assert_string_equal(kv_get(kv, "guestinfo.vice./sessions|top/cmd/Args~"),
                        "/bin/sh|-c|echo hi; exit 3");
    /* NULL string: no key; empty array: no key */
    assert_null(json_object_get(kv, "guestinfo.vice..sessions|a1.started"));
    assert_null(json_object_get(kv, "guestinfo.vice./sessions|a1/cmd/Args"));
    /* struct array: count-1 at the base, element i under base|i */
    assert_string_equal(kv_get(kv, "guestinfo.vice./networks"), "1");
    assert_string_equal(kv_get(kv, "guestinfo.vice./networks|0/name"), "bridge");
    assert_string_equal(kv_get(kv, "guestinfo.vice..networks|1.mtu"), "9000");
    assert_string_equal(kv_get(kv, "guestinfo.vice./networks|1/ip"), "");
    /* hidden string map */
    assert_string_equal(kv_get(kv, "annotations"), "com.example/owner|tier");
    assert_string_equal(kv_get(kv, "annotations|tier"), "gold|silver");
    assert_string_equal(kv_get(kv, "annotations|com.example/owner"), "ops team");
    /* secrets: "@secret" suffix, kept at the end after "~" */
    assert_non_null(kv_get(kv, "guestinfo.vice./registry/password@secret"));
    assert_non_null(kv_get(kv, "guestinfo.vice./secretenv@secret"));
    assert_non_null(kv_get(kv, "guestinfo.vice./secretenv~@secret"));
    assert_null(json_object_get(kv, "guestinfo.vice./registry/password"));
    vic_gi_key_free(k);
}

/* One string field with the given key and scope, encoded under prefix: the cases of vic's
 * pkg/vsphere/extraconfig/keys_test.go. */
typedef struct one {
    char *v;
} one;

static void expect_key(vic_gi_scope scope, unsigned flags, const char *prefix, const char *key,
                       const char *want)
{
    vic_gi_field f[] = {VIC_GI_FIELD_STRING(one, v, key, scope, flags)};
    vic_gi_desc d = VIC_GI_DESC(one, f);
    one o = {.v = "x"};
    vic_gi_key *k = sample_key();
    cleanup_json json_t *kv = json_object();
    vic_err *err = NULL;
    assert_int_equal(vic_gi_encode(kv, &d, &o, prefix, k, &err), 0);
    assert_int_equal(json_object_size(kv), 1);
    const char *got = json_object_iter_key(json_object_iter(kv));
    if (strcmp(got, want) != 0)
        fail_msg("prefix \"%s\" key \"%s\": got \"%s\", want \"%s\"", prefix, key, got, want);
    /* and it decodes back from that key */
    one back = {0};
    assert_int_equal(vic_gi_decode(&back, &d, kv, prefix, k, &err), 0);
    assert_string_equal(back.v, "x");
    free(back.v);
    vic_gi_key_free(k);
}

static void test_guestinfo_key_calculation_cases(void **state)
{
    (void)state;
    expect_key(VIC_GI_HIDDEN, 0, "a/b", "c", "a/b/c");                   /* TestHidden */
    expect_key(VIC_GI_HIDDEN, 0, "guestinfo.vice./a/b", "c", "a/b/c");   /* TestHide */
    expect_key(VIC_GI_READONLY, 0, "a/b", "c", "guestinfo.vice./a/b/c"); /* TestReveal */
    expect_key(VIC_GI_READONLY, 0, "guestinfo.vice./a/b", "c", "guestinfo.vice./a/b/c");
    expect_key(VIC_GI_READWRITE, 0, "guestinfo.vice..a.b", "c", "guestinfo.vice..a.b.c");
    expect_key(VIC_GI_READONLY, 0, "", "a", "guestinfo.vice./a"); /* TestTopLevelReadOnly */
    expect_key(VIC_GI_READWRITE, 0, "guestinfo.vice./a/b", "c", "guestinfo.vice..a.b.c");
    expect_key(VIC_GI_READONLY, 0, "guestinfo.vice..a.b", "c", "guestinfo.vice./a/b/c");
    expect_key(VIC_GI_READWRITE, 0, "guestinfo.vice..a", "b/c", "guestinfo.vice..a.b.c");
    expect_key(VIC_GI_HIDDEN, 0, "guestinfo.vice..a.b", "c", "a.b/c"); /* TestNoScopes */
    expect_key(VIC_GI_READWRITE, VIC_GI_SECRET, "guestinfo.vice..a.b", "c",
               "guestinfo.vice..a.b.c@secret"); /* TestSecret */
    expect_key(VIC_GI_READWRITE, 0, "", "a", "guestinfo.vice..a");
    expect_key(VIC_GI_HIDDEN, 0, "", "a", "a");
}

static void test_guestinfo_readonly_detection(void **state)
{
    (void)state;
    /* the guest may write visible read-write keys */
    assert_int_equal(vic_gi_key_is_readonly("guestinfo.vice..sessions|top.started"), 0);
    assert_int_equal(vic_gi_key_is_readonly("guestinfo.vice..createtime"), 0);
    /* and nothing else */
    assert_int_equal(vic_gi_key_is_readonly("guestinfo.vice./common/name"), 1);
    assert_int_equal(vic_gi_key_is_readonly("guestinfo.vice..a/b"), 1);
    assert_int_equal(vic_gi_key_is_readonly("common/notes"), 1);
    assert_int_equal(vic_gi_key_is_readonly("annotations"), 1);
    assert_int_equal(vic_gi_key_is_readonly("guestinfo.vice..a.b@secret"), 1);
    assert_int_equal(vic_gi_key_is_readonly("guestinfo.ovfEnv"), 1);
    assert_int_equal(vic_gi_key_is_readonly("guestinfo.vice."), 1);
    assert_int_equal(vic_gi_key_is_readonly("guestinfo.vice..a\nb"), 1);
    assert_int_equal(vic_gi_key_is_readonly("guestinfo.vice..a\" = \"b"), 1);
    assert_int_equal(vic_gi_key_is_readonly(""), 1);
    assert_int_equal(vic_gi_key_is_readonly(NULL), 1);
    /* every key the sample writes agrees with its scope */
    vic_gi_key *k = sample_key();
    cleanup_json json_t *kv = sample_kv(k);
    const char *key;
    json_t *v;
    json_object_foreach(kv, key, v)
    {
        int rw = strncmp(key, "guestinfo.vice..", 16) == 0 && strchr(key, '@') == NULL;
        assert_int_equal(vic_gi_key_is_readonly(key), !rw);
    }
    vic_gi_key_free(k);
}

static void test_guestinfo_secret_not_in_plaintext(void **state)
{
    (void)state;
    vic_gi_key *k = sample_key();
    cleanup_json json_t *kv = sample_kv(k);
    const char *key;
    json_t *v;
    int secrets = 0;
    json_object_foreach(kv, key, v)
    {
        const char *s = json_string_value(v);
        assert_null(strstr(s, "hunter2"));
        assert_null(strstr(s, "s3cr3t"));
        assert_null(strstr(s, "DB_PASS"));
        if (strstr(key, "@secret")) {
            assert_memory_equal(s, "vicgcm1:", 8);
            secrets++;
        }
    }
    assert_int_equal(secrets, 3);
    /* Two encodings of the same value differ (fresh nonce). */
    cleanup_json json_t *kv2 = sample_kv(k);
    assert_string_not_equal(kv_get(kv, "guestinfo.vice./registry/password@secret"),
                            kv_get(kv2, "guestinfo.vice./registry/password@secret"));
    vic_gi_key_free(k);
}

static void test_guestinfo_secret_needs_right_key(void **state)
{
    (void)state;
    vic_gi_key *k = sample_key();
    vic_gi_key *other = NULL;
    vic_err *err = NULL;
    assert_int_equal(vic_gi_key_new(&other, &err), 0);
    cleanup_json json_t *kv = sample_kv(k);
    cleanup_free char *msg = NULL;

    assert_int_equal(decode_sample(kv, other, &msg), VIC_EAUTH);
    assert_non_null(strstr(msg, "wrong key"));
    free(msg);
    assert_int_equal(decode_sample(kv, NULL, &msg), VIC_EAUTH);
    assert_non_null(strstr(msg, "no decryption key"));
    free(msg);

    /* Tampering with one character of the ciphertext. */
    const char *pw_key = "guestinfo.vice./registry/password@secret";
    char *ct = xstrdup(kv_get(kv, pw_key));
    size_t n = strlen(ct);
    ct[n / 2] = ct[n / 2] == 'A' ? 'B' : 'A';
    json_object_set_new(kv, pw_key, json_string(ct));
    assert_int_equal(decode_sample(kv, k, &msg), VIC_EAUTH);
    assert_non_null(strstr(msg, pw_key));
    free(msg);
    free(ct);

    /* A plaintext written into a secret key is refused, not returned. */
    json_object_set_new(kv, pw_key, json_string("plain-password"));
    assert_int_equal(decode_sample(kv, k, &msg), VIC_EAUTH);
    assert_non_null(strstr(msg, "not encrypted"));
    free(msg);

    /* A valid ciphertext moved from another secret key fails: the key name is authenticated. */
    json_object_set(kv, pw_key, json_object_get(kv, "guestinfo.vice./secretenv@secret"));
    assert_int_equal(decode_sample(kv, k, &msg), VIC_EAUTH);
    free(msg);

    json_object_set_new(kv, pw_key, json_string("vicgcm1:AAAA"));
    assert_int_equal(decode_sample(kv, k, &msg), VIC_EAUTH);
    assert_non_null(strstr(msg, "malformed"));
    free(msg);
    msg = NULL;

    /* Encoding a secret needs a key. */
    gi_config c;
    sample_fill(&c);
    cleanup_json json_t *out = json_object();
    assert_int_equal(vic_gi_encode(out, &gi_config_desc, &c, "", NULL, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "no encryption key"));
    vic_err_free(&err);
    vic_gi_free(&gi_config_desc, &c);
    vic_gi_key_free(other);
    vic_gi_key_free(k);
}

static void test_guestinfo_key_hex_round_trip(void **state)
{
    (void)state;
    vic_gi_key *k = NULL, *k2 = NULL;
    vic_err *err = NULL;
    assert_int_equal(vic_gi_key_new(&k, &err), 0);
    char *hex = vic_gi_key_to_hex(k);
    assert_int_equal(strlen(hex), 64);
    assert_int_equal(vic_gi_key_from_hex(&k2, hex, &err), 0);
    char *hex2 = vic_gi_key_to_hex(k2);
    assert_string_equal(hex, hex2);
    vic_free_secret(hex);
    vic_free_secret(hex2);
    /* A value encrypted with k decrypts with k2. */
    cleanup_json json_t *kv = sample_kv(k);
    assert_int_equal(decode_sample(kv, k2, NULL), 0);
    vic_gi_key_free(k);
    vic_gi_key_free(k2);

    assert_int_equal(vic_gi_key_from_hex(&k, "abcd", &err), VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(vic_gi_key_from_hex(&k, GI_SAMPLE_KEY_HEX "00", &err), VIC_EINVAL);
    vic_err_free(&err);
    char bad[] = GI_SAMPLE_KEY_HEX;
    bad[10] = 'g';
    assert_int_equal(vic_gi_key_from_hex(&k, bad, &err), VIC_EINVAL);
    assert_null(k);
    vic_err_free(&err);
    assert_null(vic_gi_key_to_hex(NULL));
    vic_gi_key_free(NULL);
}

/* Sets one key of a freshly encoded sample, decodes, and checks code and message. */
static void expect_decode_error(const char *key, json_t *value, int code, const char *in_msg)
{
    vic_gi_key *k = sample_key();
    cleanup_json json_t *kv = sample_kv(k);
    if (value)
        json_object_set_new(kv, key, value);
    else
        json_object_del(kv, key);
    cleanup_free char *msg = NULL;
    int rc = decode_sample(kv, k, &msg);
    if (rc != code)
        fail_msg("%s: got %d (%s), want %d", key, rc, msg ? msg : "", code);
    if (code != 0) {
        assert_non_null(strstr(msg, key));
        if (in_msg && strstr(msg, in_msg) == NULL)
            fail_msg("message \"%s\" lacks \"%s\"", msg, in_msg);
    }
    vic_gi_key_free(k);
}

static void test_guestinfo_malformed_int_fails(void **state)
{
    (void)state;
    const char *key = "guestinfo.vice..createtime";
    expect_decode_error(key, json_string("12x"), VIC_EINVAL, "not an integer");
    expect_decode_error(key, json_string(" 12"), VIC_EINVAL, "not an integer");
    expect_decode_error(key, json_string("-"), VIC_EINVAL, "not an integer");
    expect_decode_error(key, json_string("0x10"), VIC_EINVAL, "not an integer");
    expect_decode_error(key, json_string("9223372036854775808"), VIC_EINVAL, "out of range");
    expect_decode_error(key, json_string("-9223372036854775809"), VIC_EINVAL, "out of range");
    expect_decode_error(key, json_string("-9223372036854775808"), 0, NULL);
    expect_decode_error(key, json_string("+7"), 0, NULL);
    expect_decode_error(key, json_string(""), 0, NULL); /* vic: empty is zero */
    expect_decode_error(key, json_integer(5), VIC_EINVAL, "not a string");
    expect_decode_error("guestinfo.vice..sessions|top.status", json_string("3.5"), VIC_EINVAL,
                        "not an integer");
}

static void test_guestinfo_malformed_bool_fails(void **state)
{
    (void)state;
    const char *key = "guestinfo.vice./asymrouting";
    expect_decode_error(key, json_string("yes"), VIC_EINVAL, "not a boolean");
    expect_decode_error(key, json_string("tRUE"), VIC_EINVAL, "not a boolean");
    /* vic's strconv.ParseBool spellings */
    const char *ok[] = {"1", "t", "T",     "TRUE",  "true",  "True", "0",
                        "f", "F", "FALSE", "false", "False", ""};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        expect_decode_error(key, json_string(ok[i]), 0, NULL);
}

static void test_guestinfo_bad_array_count_fails(void **state)
{
    (void)state;
    const char *key = "guestinfo.vice./networks";
    expect_decode_error(key, json_string("100000"), VIC_ETOOBIG, "limit");
    expect_decode_error(key, json_string("4096"), VIC_ETOOBIG, "limit"); /* 4097 items */
    expect_decode_error(key, json_string("99999999999999999999999"), VIC_EINVAL, "out of range");
    expect_decode_error(key, json_string("-2"), VIC_EINVAL, "negative");
    expect_decode_error(key, json_string("two"), VIC_EINVAL, "not an integer");
    /* -1 and "" mean an empty array, as vic */
    expect_decode_error(key, json_string("-1"), 0, NULL);
    expect_decode_error(key, json_string(""), 0, NULL);
    /* More elements than were written: the extra ones decode as empty structs. */
    expect_decode_error(key, json_string("5"), 0, NULL);
    /* string arrays: the count and the joined items must agree */
    const char *args = "guestinfo.vice./sessions|top/cmd/Args";
    expect_decode_error(args, json_string("3"), VIC_EINVAL, "holds 3");
    expect_decode_error("guestinfo.vice./sessions|top/cmd/Args~", NULL, VIC_EINVAL, "missing");
}

static void test_guestinfo_element_budget_fails(void **state)
{
    (void)state;
    /* 4096 sessions each claiming 4096 args would be 16M strings: refused early. */
    cleanup_json json_t *kv = json_object();
    json_object_set_new(kv, "guestinfo.vice./common/id", json_string("x"));
    vic_buf list = VIC_BUF_INIT;
    char bars[4096];
    memset(bars, '|', 4095);
    bars[4095] = '\0';
    cleanup_json json_t *items = json_string(bars); /* 4096 empty items, shared by all */
    for (int i = 0; i < 4096; i++) {
        vic_buf_appendf(&list, "%ss%d", i ? "|" : "", i);
        char key[64];
        snprintf(key, sizeof(key), "guestinfo.vice./sessions|s%d/cmd/Args", i);
        json_object_set_new(kv, key, json_string("4095"));
        snprintf(key, sizeof(key), "guestinfo.vice./sessions|s%d/cmd/Args~", i);
        json_object_set(kv, key, items);
    }
    json_object_set_new(kv, "guestinfo.vice./sessions", json_string(list.data));
    vic_buf_free(&list);
    cleanup_free char *msg = NULL;
    assert_int_equal(decode_sample(kv, NULL, &msg), VIC_ETOOBIG);
    assert_non_null(strstr(msg, "in total"));
}

static void test_guestinfo_missing_required_fails(void **state)
{
    (void)state;
    expect_decode_error("guestinfo.vice./common/id", NULL, VIC_EINVAL, "required");

    gi_config c;
    sample_fill(&c);
    free(c.common.id);
    c.common.id = NULL;
    vic_gi_key *k = sample_key();
    cleanup_json json_t *kv = json_object();
    json_object_set_new(kv, "unrelated", json_string("kept"));
    cleanup_err vic_err *err = NULL;
    assert_int_equal(vic_gi_encode(kv, &gi_config_desc, &c, "", k, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "guestinfo.vice./common/id"));
    /* nothing was written on failure */
    assert_int_equal(json_object_size(kv), 1);
    vic_gi_free(&gi_config_desc, &c);
    vic_gi_key_free(k);
}

static void test_guestinfo_bad_map_keys_fail(void **state)
{
    (void)state;
    const char *key = "guestinfo.vice./sessions";
    expect_decode_error(key, json_string("a1||top"), VIC_EINVAL, "map key");
    expect_decode_error(key, json_string("top|top"), VIC_EINVAL, "repeated");
    expect_decode_error(key, json_string("a.b"), VIC_EINVAL, "map key"); /* struct map: no "." */
    expect_decode_error(key, json_string("a@secret"), VIC_EINVAL, "map key");
    expect_decode_error(key, json_string(""), 0, NULL); /* empty map */

    /* Decoded maps come out sorted whatever order the list has. */
    vic_gi_key *k = sample_key();
    cleanup_json json_t *kv = sample_kv(k);
    json_object_set_new(kv, key, json_string("top|a1"));
    json_object_set_new(kv, "annotations", json_string("tier|missing|com.example/owner"));
    gi_config c;
    memset(&c, 0, sizeof(c));
    vic_err *err = NULL;
    assert_int_equal(vic_gi_decode(&c, &gi_config_desc, kv, "", k, &err), 0);
    assert_string_equal(c.session_ids[0], "a1");
    assert_string_equal(c.sessions[1].cmd.path, "/bin/sh");
    /* A listed entry without a value is dropped (vic does the same). */
    assert_int_equal(c.n_annos, 2);
    assert_string_equal(c.anno_keys[0], "com.example/owner");
    assert_string_equal(c.anno_values[1], "gold|silver");
    vic_gi_free(&gi_config_desc, &c);

    /* Encoding refuses an empty key and a repeated one. */
    sample_fill(&c);
    free(c.anno_keys[1]);
    c.anno_keys[1] = xstrdup("");
    cleanup_json json_t *out = json_object();
    assert_int_equal(vic_gi_encode(out, &gi_config_desc, &c, "", k, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "empty"));
    vic_err_free(&err);
    free(c.anno_keys[1]);
    c.anno_keys[1] = xstrdup("com.example/owner"); /* duplicate */
    assert_int_equal(vic_gi_encode(out, &gi_config_desc, &c, "", k, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "twice"));
    vic_err_free(&err);
    assert_int_equal(json_object_size(out), 0);
    vic_gi_free(&gi_config_desc, &c);
    vic_gi_key_free(k);
}

/* Encodes c with the sample key into a new object, decodes it back into *back. */
static json_t *round_trip(const gi_config *c, gi_config *back)
{
    vic_gi_key *k = sample_key();
    json_t *kv = json_object();
    vic_err *err = NULL;
    if (vic_gi_encode(kv, &gi_config_desc, c, "", k, &err) < 0)
        fail_msg("encode: %s", err->msg);
    memset(back, 0, sizeof(*back));
    if (vic_gi_decode(back, &gi_config_desc, kv, "", k, &err) < 0)
        fail_msg("decode: %s", err->msg);
    vic_gi_key_free(k);
    return kv;
}

static void test_guestinfo_array_items_carry_any_bytes(void **state)
{
    (void)state;
    gi_config c, back;
    sample_fill(&c);
    free_strv_test(c.sessions[1].cmd.args, c.sessions[1].cmd.n_args);
    c.sessions[1].cmd.args =
        strv(8, "sh", "-c", "echo a | tr a b", "|", "", "100%", "%7C", "\xff\xfe|\xc3\xa9\x01");
    c.sessions[1].cmd.n_args = 8;
    free_strv_test(c.secret_env, c.n_secret_env);
    c.secret_env = strv(2, "A=x|y", "B=%");
    c.n_secret_env = 2;
    cleanup_json json_t *kv = round_trip(&c, &back);
    assert_true(vic_gi_equal(&gi_config_desc, &c, &back));
    assert_string_equal(back.sessions[1].cmd.args[2], "echo a | tr a b");
    assert_string_equal(back.sessions[1].cmd.args[7], "\xff\xfe|\xc3\xa9\x01");
    assert_string_equal(back.secret_env[0], "A=x|y");
    /* vic's count, then the escaped items and the mark: one more, empty, item */
    assert_string_equal(kv_get(kv, "guestinfo.vice./sessions|top/cmd/Args"), "7");
    assert_string_equal(kv_get(kv, "guestinfo.vice./sessions|top/cmd/Args~"),
                        "sh|-c|echo a %7C tr a b|%7C||100%25|%257C|%FF%FE%7C\xc3\xa9\x01|");
    vic_gi_free(&gi_config_desc, &c);
    vic_gi_free(&gi_config_desc, &back);

    /* A list with nothing to escape is written as vic writes it: '%' stays as it is. */
    sample_fill(&c);
    free_strv_test(c.sessions[1].cmd.args, c.sessions[1].cmd.n_args);
    c.sessions[1].cmd.args = strv(4, "date", "+%s", "%7C", "");
    c.sessions[1].cmd.n_args = 4;
    cleanup_json json_t *kv2 = round_trip(&c, &back);
    assert_string_equal(kv_get(kv2, "guestinfo.vice./sessions|top/cmd/Args~"), "date|+%s|%7C|");
    assert_true(vic_gi_equal(&gi_config_desc, &c, &back));
    assert_string_equal(back.sessions[1].cmd.args[2], "%7C");
    assert_string_equal(back.sessions[1].cmd.args[3], "");
    vic_gi_free(&gi_config_desc, &c);
    vic_gi_free(&gi_config_desc, &back);
}

static void test_guestinfo_map_keys_carry_any_bytes(void **state)
{
    (void)state;
    gi_config c, back;
    sample_fill(&c);
    /* struct map keys: '.', '/', '|', '@', '%', space and bytes outside ASCII */
    free_strv_test(c.session_ids, c.n_sessions);
    c.session_ids = strv(2, "my.net/x", "top|@secret %\xc3\xa9\x01");
    free_strv_test(c.anno_keys, c.n_annos);
    c.anno_keys = strv(2, "a.b/c", "k|=#\"\\");
    cleanup_json json_t *kv = round_trip(&c, &back);
    assert_true(vic_gi_equal(&gi_config_desc, &c, &back));
    assert_string_equal(back.session_ids[1], "top|@secret %\xc3\xa9\x01");
    assert_string_equal(kv_get(kv, "guestinfo.vice./sessions"),
                        "my%2Enet%2Fx|top%7C%40secret%20%25%C3%A9%01|");
    assert_string_equal(kv_get(kv, "guestinfo.vice./sessions|my%2Enet%2Fx/cmd/Path"), "/bin/true");
    assert_string_equal(
        kv_get(kv, "guestinfo.vice..sessions|top%7C%40secret%20%25%C3%A9%01.status"), "3");
    /* string maps keep '.' and '/' */
    assert_string_equal(kv_get(kv, "annotations"), "a.b/c|k%7C%3D%23%22%5C|");
    assert_string_equal(kv_get(kv, "annotations|k%7C%3D%23%22%5C"), "gold|silver");
    /* the entry names vic_gi_map_entry_key gives are the ones written */
    cleanup_free char *e1 =
        vic_gi_map_entry_key(VIC_GI_PREFIX "/sessions", "top|@secret %\xc3\xa9\x01", true);
    assert_string_equal(e1, "guestinfo.vice./sessions|top%7C%40secret%20%25%C3%A9%01");
    cleanup_free char *e2 = vic_gi_map_entry_key(VIC_GI_PREFIX "/sessions", "c0ffee", true);
    assert_string_equal(e2, "guestinfo.vice./sessions|c0ffee");
    cleanup_free char *e3 = vic_gi_map_entry_key("annotations", "a.b/c", false);
    assert_string_equal(e3, "annotations|a.b/c");
    vic_gi_free(&gi_config_desc, &c);
    vic_gi_free(&gi_config_desc, &back);

    /* Keys with nothing to escape: written as vic writes them (the sample's layout). */
    vic_gi_key *k = sample_key();
    cleanup_json json_t *plain = sample_kv(k);
    assert_string_equal(kv_get(plain, "guestinfo.vice./sessions"), "a1|top");
    vic_gi_key_free(k);
}

/* Records written before escaping existed: unmarked lists are read literally, '%' and all. */
static void test_guestinfo_old_records_read_unchanged(void **state)
{
    (void)state;
    vic_gi_key *k = sample_key();
    cleanup_json json_t *kv = sample_kv(k);
    json_object_set_new(kv, "guestinfo.vice./sessions|top/cmd/Args", json_string("3"));
    json_object_set_new(kv, "guestinfo.vice./sessions|top/cmd/Args~", json_string("date|+%s|%7C|"));
    json_object_set_new(kv, "guestinfo.vice./sessions", json_string("a1|t%41"));
    json_object_set_new(kv, "guestinfo.vice./sessions|t%41/cmd/Path", json_string("/old"));
    json_object_set_new(kv, "annotations", json_string("100%|com.example/owner"));
    json_object_set_new(kv, "annotations|100%", json_string("v"));
    gi_config c;
    memset(&c, 0, sizeof(c));
    vic_err *err = NULL;
    assert_int_equal(vic_gi_decode(&c, &gi_config_desc, kv, "", k, &err), 0);
    assert_int_equal(c.n_sessions, 2);
    assert_string_equal(c.session_ids[1], "t%41");
    assert_string_equal(c.sessions[1].cmd.path, "/old");
    assert_int_equal(c.n_annos, 2);
    assert_string_equal(c.anno_keys[0], "100%");
    assert_string_equal(c.anno_values[0], "v");
    vic_gi_free(&gi_config_desc, &c);

    /* an old argv ending in an empty item: n items, n-1 bars */
    json_object_set_new(kv, "guestinfo.vice./sessions", json_string("a1|top"));
    json_object_set_new(kv, "guestinfo.vice./sessions|top/cmd/Args", json_string("3"));
    memset(&c, 0, sizeof(c));
    assert_int_equal(vic_gi_decode(&c, &gi_config_desc, kv, "", k, &err), 0);
    assert_int_equal(c.sessions[1].cmd.n_args, 4);
    assert_string_equal(c.sessions[1].cmd.args[1], "+%s");
    assert_string_equal(c.sessions[1].cmd.args[2], "%7C");
    assert_string_equal(c.sessions[1].cmd.args[3], "");
    vic_gi_free(&gi_config_desc, &c);
    /* the same value with one item fewer is the escaped form */
    json_object_set_new(kv, "guestinfo.vice./sessions|top/cmd/Args~",
                        json_string("date|+%25s|%7C|"));
    json_object_set_new(kv, "guestinfo.vice./sessions|top/cmd/Args", json_string("2"));
    memset(&c, 0, sizeof(c));
    assert_int_equal(vic_gi_decode(&c, &gi_config_desc, kv, "", k, &err), 0);
    assert_int_equal(c.sessions[1].cmd.n_args, 3);
    assert_string_equal(c.sessions[1].cmd.args[1], "+%s");
    assert_string_equal(c.sessions[1].cmd.args[2], "|");
    vic_gi_free(&gi_config_desc, &c);
    vic_gi_key_free(k);
}

static void test_guestinfo_bad_escapes_fail(void **state)
{
    (void)state;
    const char *args = "guestinfo.vice./sessions|top/cmd/Args~";
    expect_decode_error(args, json_string("sh|%zz|echo hi; exit 3|"), VIC_EINVAL, "bad escape");
    expect_decode_error(args, json_string("sh|%4|echo hi; exit 3|"), VIC_EINVAL, "bad escape");
    expect_decode_error(args, json_string("sh|a%00|echo hi; exit 3|"), VIC_EINVAL, "bad escape");
    expect_decode_error(args, json_string("sh|-c|echo|x"), VIC_EINVAL, "holds 4");
    expect_decode_error(args, json_string("sh|-c|echo||"), VIC_EINVAL, "holds 5");
    expect_decode_error(args, json_string("sh|%7c|echo hi; exit 3|"), 0, NULL); /* either case */

    const char *map = "guestinfo.vice./sessions";
    expect_decode_error(map, json_string("a1|top|"), 0, NULL); /* marked, nothing escaped */
    expect_decode_error(map, json_string("|"), VIC_EINVAL, "map key");
    expect_decode_error(map, json_string("a1||"), VIC_EINVAL, "map key");
    expect_decode_error(map, json_string("a1|t%zz|"), VIC_EINVAL, "badly escaped");
    expect_decode_error(map, json_string("a1|a%00|"), VIC_EINVAL, "badly escaped");
    /* one key name per key: only the form the encoder writes */
    expect_decode_error(map, json_string("a%2e|"), VIC_EINVAL, "badly escaped");
    expect_decode_error(map, json_string("%61|"), VIC_EINVAL, "badly escaped");
    expect_decode_error(map, json_string("a.b|"), VIC_EINVAL, "badly escaped");
    expect_decode_error(map, json_string("a%2Eb|a%2Eb|"), VIC_EINVAL, "repeated");
}

static void test_guestinfo_bad_values_fail(void **state)
{
    (void)state;
    const char *key = "guestinfo.vice./common/name";
    char *big = xmalloc(VIC_GI_MAX_VALUE + 2);
    memset(big, 'a', VIC_GI_MAX_VALUE + 1);
    big[VIC_GI_MAX_VALUE + 1] = '\0';
    expect_decode_error(key, json_string(big), VIC_ETOOBIG, "over");
    expect_decode_error(key, json_stringn("a\0b", 3), VIC_EINVAL, "NUL");
    expect_decode_error(key, json_stringn_nocheck("\xc3\x28", 2), VIC_EINVAL, "UTF-8");
    expect_decode_error(key, json_null(), VIC_EINVAL, "not a string");

    /* Encoding a value over the limit fails too. */
    gi_config c;
    sample_fill(&c);
    free(c.common.name);
    c.common.name = big;
    vic_gi_key *k = sample_key();
    cleanup_json json_t *kv = json_object();
    cleanup_err vic_err *err = NULL;
    assert_int_equal(vic_gi_encode(kv, &gi_config_desc, &c, "", k, &err), VIC_ETOOBIG);
    vic_gi_free(&gi_config_desc, &c);
    vic_gi_key_free(k);
}

static void test_guestinfo_partial_decode_is_freed(void **state)
{
    (void)state;
    /* An error deep inside the second session leaves allocated data behind; vic_gi_free
     * releases it (LeakSanitizer checks). */
    vic_gi_key *k = sample_key();
    cleanup_json json_t *kv = sample_kv(k);
    json_object_set_new(kv, "guestinfo.vice..sessions|top.status", json_string("bad"));
    gi_config c;
    memset(&c, 0, sizeof(c));
    cleanup_err vic_err *err = NULL;
    assert_int_equal(vic_gi_decode(&c, &gi_config_desc, kv, "", k, &err), VIC_EINVAL);
    assert_int_equal(c.n_sessions, 2);
    assert_string_equal(c.sessions[1].cmd.path, "/bin/sh");
    vic_gi_free(&gi_config_desc, &c);
    vic_gi_key_free(k);
}

static void test_guestinfo_prefix_round_trip_and_checks(void **state)
{
    (void)state;
    vic_gi_key *k = sample_key();
    gi_config c, back;
    sample_fill(&c);
    memset(&back, 0, sizeof(back));
    cleanup_json json_t *kv = json_object();
    vic_err *err = NULL;
    /* A hidden prefix, like vic's "executorconfig". */
    assert_int_equal(vic_gi_encode(kv, &gi_config_desc, &c, "executorconfig", k, &err), 0);
    assert_string_equal(kv_get(kv, "guestinfo.vice./executorconfig/common/name"), "web.1");
    assert_string_equal(kv_get(kv, "executorconfig/annotations|tier"), "gold|silver");
    assert_string_equal(kv_get(kv, "executorconfig/common/notes"), "operator notes: keep");
    assert_int_equal(vic_gi_decode(&back, &gi_config_desc, kv, "executorconfig", k, &err), 0);
    assert_true(vic_gi_equal(&gi_config_desc, &c, &back));
    vic_gi_free(&gi_config_desc, &back);

    assert_int_equal(vic_gi_encode(kv, &gi_config_desc, &c, "guestinfo.other", k, &err),
                     VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(vic_gi_encode(kv, &gi_config_desc, &c, "guestinfo.vice.", k, &err),
                     VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(vic_gi_decode(&back, &gi_config_desc, kv, "a@secret", k, &err), VIC_EINVAL);
    vic_err_free(&err);
    vic_gi_free(&gi_config_desc, &c);
    vic_gi_key_free(k);
}

static void test_guestinfo_bad_description_fails(void **state)
{
    (void)state;
    typedef struct holder {
        gi_common common;
    } holder;
    vic_gi_field f[] = {VIC_GI_FIELD_STRUCT(holder, common, "common", VIC_GI_READONLY,
                                            VIC_GI_SECRET, &gi_common_desc)};
    vic_gi_desc d = VIC_GI_DESC(holder, f);
    holder h = {{0}};
    cleanup_json json_t *kv = json_object();
    cleanup_err vic_err *err = NULL;
    assert_int_equal(vic_gi_encode(kv, &d, &h, "", NULL, &err), VIC_EINTERNAL);
    assert_non_null(strstr(err->msg, "secret"));
    f[0].flags = 0;
    f[0].sub = NULL;
    assert_int_equal(vic_gi_decode(&h, &d, kv, "", NULL, &err), VIC_EINTERNAL);
    assert_int_equal(vic_gi_encode(NULL, &d, &h, "", NULL, &err), VIC_EINVAL);

    /* A field key may not look like a visible key path. */
    vic_gi_field g[] = {VIC_GI_FIELD_STRING(one, v, "guestinfo.x", VIC_GI_HIDDEN, 0)};
    vic_gi_desc dg = VIC_GI_DESC(one, g);
    one o = {.v = "x"};
    assert_int_equal(vic_gi_encode(kv, &dg, &o, "", NULL, &err), VIC_EINTERNAL);
    assert_non_null(strstr(err->msg, "guestinfo.x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guestinfo_round_trip),
        cmocka_unit_test(test_guestinfo_key_names_match_vic),
        cmocka_unit_test(test_guestinfo_key_calculation_cases),
        cmocka_unit_test(test_guestinfo_readonly_detection),
        cmocka_unit_test(test_guestinfo_secret_not_in_plaintext),
        cmocka_unit_test(test_guestinfo_secret_needs_right_key),
        cmocka_unit_test(test_guestinfo_key_hex_round_trip),
        cmocka_unit_test(test_guestinfo_malformed_int_fails),
        cmocka_unit_test(test_guestinfo_malformed_bool_fails),
        cmocka_unit_test(test_guestinfo_bad_array_count_fails),
        cmocka_unit_test(test_guestinfo_element_budget_fails),
        cmocka_unit_test(test_guestinfo_missing_required_fails),
        cmocka_unit_test(test_guestinfo_bad_map_keys_fail),
        cmocka_unit_test(test_guestinfo_array_items_carry_any_bytes),
        cmocka_unit_test(test_guestinfo_map_keys_carry_any_bytes),
        cmocka_unit_test(test_guestinfo_old_records_read_unchanged),
        cmocka_unit_test(test_guestinfo_bad_escapes_fail),
        cmocka_unit_test(test_guestinfo_bad_values_fail),
        cmocka_unit_test(test_guestinfo_partial_decode_is_freed),
        cmocka_unit_test(test_guestinfo_prefix_round_trip_and_checks),
        cmocka_unit_test(test_guestinfo_bad_description_fails),
    };
    return cmocka_run_group_tests_name("guestinfo", tests, NULL, NULL);
}
