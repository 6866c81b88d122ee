/*
 * X-Registry-Auth: the AuthConfig the docker CLI sends, in each encoding it may come in, and
 * the malformed headers that must be refused with the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/mem.h"
#include "portlayer/regauth.h"

/* base64url of text, padding kept or dropped */
static char *url64(const char *text, int pad)
{
    char *b = vic_base64_encode(text, strlen(text));
    for (char *p = b; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    if (!pad)
        b[strcspn(b, "=")] = '\0';
    return b;
}

static void test_regauth_forms(void **state)
{
    (void)state;
    pl_regauth a;
    /* none: no header, an empty one, "{}" */
    assert_int_equal(pl_regauth_parse(&a, NULL, NULL), 0);
    assert_null(a.username);
    assert_int_equal(pl_regauth_parse(&a, "", NULL), 0);
    assert_null(a.username);
    assert_int_equal(pl_regauth_parse(&a, "e30=", NULL), 0);
    assert_null(a.username);
    pl_regauth_clear(&a);
    /* username and password (a '|' and non-ASCII survive), padded or not */
    const char *cfg = "{\"username\":\"alice\",\"password\":\"p|w\\u00e9?>\","
                      "\"serveraddress\":\"127.0.0.9:5000\"}";
    for (int pad = 0; pad < 2; pad++) {
        cleanup_free char *h = url64(cfg, pad);
        assert_int_equal(pl_regauth_parse(&a, h, NULL), 0);
        assert_string_equal(a.username, "alice");
        assert_string_equal(a.password, "p|w\xc3\xa9?>");
        assert_string_equal(a.server, "127.0.0.9:5000");
        pl_regauth_clear(&a);
        assert_null(a.username);
    }
    /* the "auth" field alone: base64 of user:password (a colon in the password stays) */
    cleanup_free char *h2 = url64("{\"auth\":\"Ym9iOmE6Yg==\"}", 1);
    assert_int_equal(pl_regauth_parse(&a, h2, NULL), 0);
    assert_string_equal(a.username, "bob");
    assert_string_equal(a.password, "a:b");
    assert_null(a.server);
    pl_regauth_clear(&a);
}

static void expect_bad(const char *header, const char *why)
{
    pl_regauth a;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_regauth_parse(&a, header, &err), VIC_EINVAL);
    assert_null(a.username);
    assert_null(a.password);
    if (strstr(err->msg, why) == NULL)
        fail_msg("%s: got \"%s\", wanted \"%s\"", header, err->msg, why);
    pl_regauth_clear(&a);
}

static void test_regauth_malformed(void **state)
{
    (void)state;
    expect_bad("not base64!", "not base64url");
    expect_bad("a", "not base64url");
    cleanup_free char *arr = url64("[1,2]", 1);
    expect_bad(arr, "not a JSON object");
    cleanup_free char *num = url64("{\"username\":5}", 1);
    expect_bad(num, "username: not a string");
    cleanup_free char *nocolon = url64("{\"auth\":\"Ym9i\"}", 1);
    expect_bad(nocolon, "auth: not base64 of");
    char *big = xmalloc(PL_REGAUTH_MAX + 2);
    memset(big, 'A', PL_REGAUTH_MAX + 1);
    big[PL_REGAUTH_MAX + 1] = '\0';
    expect_bad(big, "longer than");
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regauth_forms),
        cmocka_unit_test(test_regauth_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
