#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/timefmt.h"

static void test_timefmt_rfc3339_nanoseconds(void **state)
{
    (void)state;
    char out[96];
    vic_rfc3339(out, sizeof(out), 0);
    assert_string_equal(out, "0001-01-01T00:00:00Z");
    vic_rfc3339(out, sizeof(out), -5);
    assert_string_equal(out, "0001-01-01T00:00:00Z");
    vic_rfc3339(out, sizeof(out), 1);
    assert_string_equal(out, "1970-01-01T00:00:00.000000001Z");
    vic_rfc3339(out, sizeof(out), 1136214245123456789LL);
    assert_string_equal(out, "2006-01-02T15:04:05.123456789Z");
    vic_rfc3339(out, sizeof(out), 1700000000000000000LL);
    assert_string_equal(out, "2023-11-14T22:13:20.000000000Z");
    char small[11];
    vic_rfc3339(small, sizeof(small), 1136214245123456789LL);
    assert_string_equal(small, "2006-01-02");
}

static void test_timefmt_rfc3339_seconds(void **state)
{
    (void)state;
    char out[32];
    vic_rfc3339_secs(out, sizeof(out), 0);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    vic_rfc3339_secs(out, sizeof(out), 1136214245);
    assert_string_equal(out, "2006-01-02T15:04:05Z");
    vic_rfc3339_secs(out, sizeof(out), 951782400); /* a leap day */
    assert_string_equal(out, "2000-02-29T00:00:00Z");
    char small[8];
    vic_rfc3339_secs(small, sizeof(small), 1136214245);
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timefmt_rfc3339_nanoseconds),
        cmocka_unit_test(test_timefmt_rfc3339_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
