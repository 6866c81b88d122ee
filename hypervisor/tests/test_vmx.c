/* The .vmx reader/writer and the monitor's guestinfo request handling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/local/giserve.h"
#include "hypervisor/local/vmx.h"
#include "lib/cleanup.h"
#include "lib/gichan.h"

static json_t *parse_ok(const char *text)
{
    json_t *kv = NULL;
    vic_err *err cleanup_err = NULL;
    if (vmx_parse(&kv, text, strlen(text), &err) < 0)
        fail_msg("parse: %s", err->msg);
    return kv;
}

static void test_vmx_round_trip_with_escapes(void **state)
{
    (void)state;
    json_t *kv cleanup_json = json_object();
    json_object_set_new(kv, "displayName", json_string("vm \"one\" | two # three"));
    json_object_set_new(kv, "guestinfo.vice./sessions|top/cmd/Args~", json_string("a|b\nc\td"));
    json_object_set_new(kv, "guestinfo.empty", json_string(""));
    json_object_set_new(kv, "guestinfo.utf8", json_string("héllo ✓"));
    cleanup_free char *text = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vmx_format(&text, kv, &err), 0);
    assert_non_null(strstr(text, "displayName = \"vm |22one|22 |7C two |23 three\"\n"));
    json_t *back cleanup_json = parse_ok(text);
    json_object_del(back, ".encoding");
    assert_true(json_equal(kv, back));
}

static void test_vmx_comments_blank_and_crlf(void **state)
{
    (void)state;
    json_t *kv cleanup_json = parse_ok("# a comment\r\n\r\n  numvcpus = \"2\"\r\nmemsize=\"64\"\n");
    assert_string_equal(json_string_value(json_object_get(kv, "numvcpus")), "2");
    assert_string_equal(json_string_value(json_object_get(kv, "memsize")), "64");
}

static void test_vmx_errors_name_the_line(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"a = \"1\"\nb = 2\n", "line 2: value of b must be quoted"},
        {"a = \"1\"\na = \"2\"\n", "line 2: a appears twice"},
        {"a \"1\"\n", "line 1: expected '='"},
        {"a = \"unterminated\n", "line 1: value of a is not a closed quote"},
        {"a = \"x\" trailing\n", "not a closed quote"},
        {"a = \"|zz\"\n", "bad escape"},
        {"a = \"|00\"\n", "bad escape"},
        {"a = \"\x01\"\n", "control character"},
        {"= \"x\"\n", "missing or overlong key"},
        {"k\"ey = \"x\"\n", "invalid key"},
        {"a = \"\xff\"\n", "not UTF-8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *kv = NULL;
        vic_err *err cleanup_err = NULL;
        assert_int_equal(vmx_parse(&kv, cases[i].text, strlen(cases[i].text), &err), VIC_EINVAL);
        assert_null(kv);
        if (strstr(err->msg, cases[i].want) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err->msg, cases[i].want);
    }
    json_t *kv = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vmx_parse(&kv, "a = \"1\"\0b", 9, &err), VIC_EINVAL);
}

static void test_vmx_refuses_unwritable_keys(void **state)
{
    (void)state;
    json_t *kv cleanup_json = json_pack("{s:s}", "bad key", "x");
    char *text = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vmx_format(&text, kv, &err), VIC_EINVAL);
    vic_err_free(&err);
    json_t *kv2 cleanup_json = json_pack("{s:i}", "n", 5);
    assert_int_equal(vmx_format(&text, kv2, &err), VIC_EINVAL);
    assert_null(text);
}

static void test_vmx_write_is_atomic_and_readable(void **state)
{
    (void)state;
    char dir[] = "/tmp/vic-test-vmx-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/x.vmx", dir);
    json_t *kv cleanup_json = json_pack("{s:s, s:s}", "a", "1", "b", "two words");
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vmx_write(path, kv, &err), 0);
    json_t *back cleanup_json = NULL;
    assert_int_equal(vmx_read(&back, path, &err), 0);
    assert_string_equal(json_string_value(json_object_get(back, "b")), "two words");
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1 && rm -rf %s", dir, dir);
    assert_int_equal(system(cmd), 0); /* no temporary file left behind */
    json_t *none = NULL;
    assert_int_equal(vmx_read(&none, path, &err), VIC_ENOTFOUND);
}

/* ---- guestinfo requests ---- */

typedef struct gfix {
    char dir[64];
    char vmx[128];
    giserve s;
} gfix;

static int gsetup(void **state)
{
    gfix *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/vic-test-gi-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->vmx, sizeof(f->vmx), "%s/vm.vmx", f->dir);
    json_t *kv cleanup_json = json_pack(
        "{s:s, s:s, s:s, s:s}", "numvcpus", "1", "guestinfo.vice./common/id", "abc",
        "guestinfo.vice..sessions|abc.started", "", "common/notes", "hidden from the guest");
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vmx_write(f->vmx, kv, &err), 0);
    giserve_init(&f->s, f->dir, f->vmx);
    *state = f;
    return 0;
}

static int gteardown(void **state)
{
    gfix *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int request(gfix *f, char op, const char *key, const char *value, char **reply)
{
    vic_buf frame = VIC_BUF_INIT, out = VIC_BUF_INIT;
    vic_buf_append(&frame, &op, 1);
    vic_buf_append(&frame, key, strlen(key) + 1);
    if (value)
        vic_buf_append(&frame, value, strlen(value));
    int ok = 0;
    giserve_handle(&f->s, frame.data, frame.len, &ok, &out);
    vic_buf_free(&frame);
    vic_buf_append(&out, "", 0);
    *reply = vic_buf_steal(&out);
    return ok;
}

static void test_giserve_reads_and_writes(void **state)
{
    gfix *f = *state;
    char *r = NULL;
    assert_true(request(f, 'G', "guestinfo.vice./common/id", NULL, &r));
    assert_string_equal(r, "abc");
    free(r);
    assert_true(request(f, 'S', "guestinfo.vice..sessions|abc.started", "true", &r));
    free(r);
    assert_true(request(f, 'G', "guestinfo.vice..sessions|abc.started", NULL, &r));
    assert_string_equal(r, "true");
    free(r);
    json_t *kv cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vmx_read(&kv, f->vmx, &err), 0);
    assert_string_equal(
        json_string_value(json_object_get(kv, "guestinfo.vice..sessions|abc.started")), "true");
}

static void test_giserve_refusals_change_nothing(void **state)
{
    gfix *f = *state;
    json_t *before cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vmx_read(&before, f->vmx, &err), 0);
    static const struct {
        char op;
        const char *key, *value, *want;
    } cases[] = {
        {'S', "guestinfo.vice./common/id", "evil", "not writable by the guest"},
        {'S', "numvcpus", "64", "not writable by the guest"},
        {'S', "common/notes", "x", "not writable by the guest"},
        {'S', "guestinfo.other", "x", "not writable by the guest"},
        {'S', "guestinfo.vice..a@secret", "x", "not writable by the guest"},
        {'G', "common/notes", NULL, "not found"},
        {'G', "numvcpus", NULL, "not found"},
        {'G', "guestinfo.nosuch", NULL, "not found"},
        {'L', "numv", NULL, "not found"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *r = NULL;
        assert_false(request(f, cases[i].op, cases[i].key, cases[i].value, &r));
        if (strstr(r, cases[i].want) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, r, cases[i].want);
        free(r);
    }
    char *big = malloc(GISERVE_VALUE_MAX + 2);
    memset(big, 'x', GISERVE_VALUE_MAX + 1);
    big[GISERVE_VALUE_MAX + 1] = '\0';
    char *r = NULL;
    assert_false(request(f, 'S', "guestinfo.vice..sessions|abc.started", big, &r));
    assert_non_null(strstr(r, "larger than"));
    free(r);
    free(big);
    int ok = 1;
    vic_buf out = VIC_BUF_INIT;
    giserve_handle(&f->s, "Q", 1, &ok, &out);
    assert_false(ok);
    vic_buf_free(&out);
    json_t *after cleanup_json = NULL;
    assert_int_equal(vmx_read(&after, f->vmx, &err), 0);
    assert_true(json_equal(before, after));
}

static void test_giserve_hides_hidden_keys_from_list(void **state)
{
    gfix *f = *state;
    char *r = NULL;
    vic_buf frame = VIC_BUF_INIT, out = VIC_BUF_INIT;
    vic_buf_append(&frame, "Lguestinfo.\0", 12);
    int ok = 0;
    giserve_handle(&f->s, frame.data, frame.len, &ok, &out);
    assert_true(ok);
    /* two visible keys, each as key NUL value NUL; the hidden and hardware keys are absent */
    assert_null(memmem(out.data, out.len, "notes", 5));
    assert_null(memmem(out.data, out.len, "numvcpus", 8));
    assert_non_null(memmem(out.data, out.len, "guestinfo.vice./common/id\0abc\0", 30));
    vic_buf_free(&frame);
    vic_buf_free(&out);
    free(r);
}

static void test_giserve_rate_limits_a_flood(void **state)
{
    gfix *f = *state;
    int refused = 0, accepted = 0;
    for (int i = 0; i < GISERVE_SET_BURST + 50; i++) {
        char *r = NULL;
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        /* stop the clock: a slow disk (fsync per write) must not refill the bucket as fast
         * as the flood drains it */
        clock_gettime(CLOCK_MONOTONIC, &f->s.last_refill);
        if (request(f, 'S', "guestinfo.vice..sessions|abc.status", v, &r))
            accepted++;
        else {
            assert_non_null(strstr(r, "rate limited"));
            refused++;
        }
        free(r);
    }
    assert_true(accepted >= GISERVE_SET_BURST);
    assert_true(refused > 0);
    json_t *kv cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vmx_read(&kv, f->vmx, &err), 0); /* still a whole, readable file */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vmx_round_trip_with_escapes),
        cmocka_unit_test(test_vmx_comments_blank_and_crlf),
        cmocka_unit_test(test_vmx_errors_name_the_line),
        cmocka_unit_test(test_vmx_refuses_unwritable_keys),
        cmocka_unit_test(test_vmx_write_is_atomic_and_readable),
        cmocka_unit_test_setup_teardown(test_giserve_reads_and_writes, gsetup, gteardown),
        cmocka_unit_test_setup_teardown(test_giserve_refusals_change_nothing, gsetup, gteardown),
        cmocka_unit_test_setup_teardown(test_giserve_hides_hidden_keys_from_list, gsetup,
                                        gteardown),
        cmocka_unit_test_setup_teardown(test_giserve_rate_limits_a_flood, gsetup, gteardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
