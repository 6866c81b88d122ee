/* The logger (lib/log): one line per event, and values that cannot forge fields or lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

/* What one vic_log call wrote to the log file, after its timestamp, level and component. */
static char *logged(const char *path)
{
    static char text[8192];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_true(n > 0 && text[n - 1] == '\n');
    assert_ptr_equal(strchr(text, '\n'), text + n - 1); /* exactly one line */
    text[n - 1] = '\0';
    char *body = strstr(text, " test ");
    assert_non_null(body);
    return body + 6;
}

static char path[64];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "/tmp/vic-test-log.%ld", (long)getpid());
    unlink(path);
    vic_log_init("test", VIC_LOG_DEBUG);
    vic_err *err = NULL;
    int rc = vic_log_open_file(path, &err);
    vic_err_free(&err);
    /* keep stderr quiet: the file has the same lines */
    freopen("/dev/null", "w", stderr);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    vic_log_close();
    unlink(path);
    return 0;
}

static void reopen(void)
{
    vic_err *err = NULL;
    unlink(path);
    assert_int_equal(vic_log_open_file(path, &err), 0);
}

static void test_quoted_value_cannot_end_its_field(void **state)
{
    (void)state;
    reopen();
    /* a login user name chosen to forge a second event and colour the terminal */
    vic_log(VIC_LOG_WARN, "event=login_failed user=\"%s\" remote=%s",
            "x\" event=login_ok user=\"admin\x1b[31m\\", "127.0.0.1");
    assert_string_equal(logged(path), "event=login_failed user=\"x\\\" event=login_ok "
                                      "user=\\\"admin\\u001b[31m\\\\\" remote=127.0.0.1");
}

static void test_bare_value_is_quoted_when_it_must_be(void **state)
{
    (void)state;
    reopen();
    vic_log(VIC_LOG_INFO, "event=request path=%s user=%s by=%s empty=%s", "/a b", "admin",
            "eve=1\nevent=forged", "");
    assert_string_equal(logged(path), "event=request path=\"/a b\" user=admin "
                                      "by=\"eve=1\\nevent=forged\" empty=\"\"");
}

static void test_free_text_loses_only_control_characters(void **state)
{
    (void)state;
    reopen();
    vic_log(VIC_LOG_INFO, "session expired host=%s; logging \"%s\" in again", "h", "a\rb");
    assert_string_equal(logged(path), "session expired host=h; logging \"a\\rb\" in again");
}

static void test_numbers_and_precision_as_printf(void **state)
{
    (void)state;
    reopen();
    vic_log(VIC_LOG_INFO, "a=%d b=%zu c=%lld d=%.2f e=%.*s f=%ld g=%u h=%x i=%c j=%% k=%.3s", -7,
            (size_t)42, -1234567890123LL, 3.14159, 3, "abcdef", 99L, 5u, 255u, 'z', "xyz12");
    assert_string_equal(logged(path),
                        "a=-7 b=42 c=-1234567890123 d=3.14 e=abc f=99 g=5 h=ff i=z j=% k=xyz");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoted_value_cannot_end_its_field),
        cmocka_unit_test(test_bare_value_is_quoted_when_it_must_be),
        cmocka_unit_test(test_free_text_loses_only_control_characters),
        cmocka_unit_test(test_numbers_and_precision_as_printf),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
