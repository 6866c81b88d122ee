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

static void test_timefmt_unix_time_parse(void **state)
{
    (void)state;
    int64_t ns = -1;
    assert_int_equal(vic_unix_time_parse("1700000000", &ns), 0);
    assert_int_equal(ns, 1700000000000000000LL);
    assert_int_equal(vic_unix_time_parse("1700000000.000000001", &ns), 0);
    assert_int_equal(ns, 1700000000000000001LL);
    assert_int_equal(vic_unix_time_parse("1700000000.5", &ns), 0);
    assert_int_equal(ns, 1700000000500000000LL);
    assert_int_equal(vic_unix_time_parse("0", &ns), 0);
    assert_int_equal(ns, 0);
    /* Go's time.Unix(-5, 500000000): the fraction counts forward */
    assert_int_equal(vic_unix_time_parse("-5.5", &ns), 0);
    assert_int_equal(ns, -4500000000LL);
    /* past nine digits the rest is dropped; past year 2262, clamped */
    assert_int_equal(vic_unix_time_parse("1.1234567891", &ns), 0);
    assert_int_equal(ns, 1123456789);
    assert_int_equal(vic_unix_time_parse("32503680000", &ns), 0);
    assert_int_equal(ns, INT64_MAX);
    assert_int_equal(vic_unix_time_parse("-99999999999999999999999", &ns), 0);
    assert_int_equal(ns, INT64_MIN);
    static const char *const bad[] = {
        "",   "xyz", "1.",  ".5", "1.5.5", "1e9",  " 1",
        "1 ", "+1",  "--1", "-",  "1,5",   "0x10", "2023-01-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (vic_unix_time_parse(bad[i], &ns) == 0)
            fail_msg("\"%s\" taken as a timestamp", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timefmt_rfc3339_nanoseconds),
        cmocka_unit_test(test_timefmt_rfc3339_seconds),
        cmocka_unit_test(test_timefmt_unix_time_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
