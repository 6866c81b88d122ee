#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/err.h"
#include "lib/mem.h"

static int fails_deep(vic_err **err)
{
    return vic_err_sys(err, VIC_EIO, ENOENT, "open %s", "/nope");
}

static int fails_outer(vic_err **err)
{
    int rc = fails_deep(err);
    if (rc < 0)
        return vic_err_wrap(err, rc, "load config");
    return 0;
}

static void test_err_set_returns_code(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_err_set(&err, VIC_ENOTFOUND, "no vch %s", "x"), VIC_ENOTFOUND);
    assert_string_equal(err->msg, "no vch x");
    assert_int_equal(err->code, VIC_ENOTFOUND);
}

static void test_err_wrap_adds_context(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(fails_outer(&err), VIC_EIO);
    assert_string_equal(err->msg, "load config: open /nope: No such file or directory");
    assert_int_equal(err->sys, ENOENT);
}

static void test_err_null_sink(void **state)
{
    (void)state;
    assert_int_equal(vic_err_set(NULL, VIC_EINVAL, "dropped"), VIC_EINVAL);
    assert_int_equal(fails_outer(NULL), VIC_EIO); /* the failing call's code, kept */
    vic_err *err = NULL;
    vic_err_free(&err);
    vic_err_free(NULL);
}

static void test_err_wrap_without_error(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_err_wrap(&err, VIC_EIO, "context"), VIC_EIO);
    assert_non_null(err);
}

/* A caller that passes no error still gets the failing call's code back, not a made-up one. */
static void test_err_wrap_without_err_keeps_the_code(void **state)
{
    (void)state;
    assert_int_equal(vic_err_wrap(NULL, VIC_ENOTFOUND, "volume store %s", "x"), VIC_ENOTFOUND);
    assert_int_equal(fails_outer(NULL), VIC_EIO);
}

/* A missing string stays missing: an absent password never turns into an empty one. */
static void test_xstrdup_null_is_null(void **state)
{
    (void)state;
    assert_null(xstrdup(NULL));
    char *s = xstrdup("");
    assert_string_equal(s, "");
    free(s);
}

static void test_err_replaces_earlier(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    vic_err_set(&err, VIC_EINVAL, "first");
    vic_err_set(&err, VIC_ECONFLICT, "second");
    assert_string_equal(err->msg, "second");
}

static void test_err_http_status_table(void **state)
{
    (void)state;
    assert_int_equal(vic_err_http_status(VIC_EINVAL), 400);
    assert_int_equal(vic_err_http_status(VIC_EAUTH), 401);
    assert_int_equal(vic_err_http_status(VIC_EFORBIDDEN), 403);
    assert_int_equal(vic_err_http_status(VIC_ENOTFOUND), 404);
    assert_int_equal(vic_err_http_status(VIC_ECONFLICT), 409);
    assert_int_equal(vic_err_http_status(VIC_ETOOBIG), 413);
    assert_int_equal(vic_err_http_status(VIC_EMEDIATYPE), 415);
    assert_int_equal(vic_err_http_status(VIC_ELIMIT), 429);
    assert_int_equal(vic_err_http_status(VIC_EUPSTREAM), 502);
    assert_int_equal(vic_err_http_status(-999), 500);
    assert_string_equal(vic_err_code_name(VIC_ECONFLICT), "ECONFLICT");
}

static void test_crypto_password_hash(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    char *h = vic_password_hash("s3cret-pass", 1000);
    assert_non_null(strstr(h, "pbkdf2-sha256$1000$"));
    assert_null(strstr(h, "s3cret"));
    assert_int_equal(vic_password_verify("s3cret-pass", h, &err), 1);
    assert_int_equal(vic_password_verify("s3cret-pasS", h, &err), 0);
    assert_int_equal(vic_password_verify("x", "md5$abc", &err), VIC_ECORRUPT);
    char *h2 = vic_password_hash("s3cret-pass", 1000);
    assert_string_not_equal(h, h2); /* salted */
    free(h);
    free(h2);
}

static void test_crypto_base64_and_tokens(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    unsigned char *out = NULL;
    size_t len = 0;
    char *b = vic_base64_encode("admin:pw", 8);
    assert_string_equal(b, "YWRtaW46cHc=");
    assert_int_equal(vic_base64_decode(&out, &len, b, &err), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(out, "admin:pw", 8);
    free(out);
    free(b);
    assert_int_equal(vic_base64_decode(&out, &len, "abc", &err), VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(vic_base64_decode(&out, &len, "a*c=", &err), VIC_EINVAL);
    char *t1 = vic_token_new(32), *t2 = vic_token_new(32);
    assert_int_equal(strlen(t1), 43);
    assert_null(strpbrk(t1, "+/="));
    assert_string_not_equal(t1, t2);
    assert_true(vic_ct_streq(t1, t1));
    assert_false(vic_ct_streq(t1, t2));
    assert_false(vic_ct_streq("abc", "abcd"));
    free(t1);
    free(t2);
    char hex[65];
    vic_sha256_hex(hex, "abc", 3);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_returns_code),
        cmocka_unit_test(test_err_wrap_adds_context),
        cmocka_unit_test(test_err_null_sink),
        cmocka_unit_test(test_err_wrap_without_error),
        cmocka_unit_test(test_err_wrap_without_err_keeps_the_code),
        cmocka_unit_test(test_xstrdup_null_is_null),
        cmocka_unit_test(test_err_replaces_earlier),
        cmocka_unit_test(test_err_http_status_table),
        cmocka_unit_test(test_crypto_password_hash),
        cmocka_unit_test(test_crypto_base64_and_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
