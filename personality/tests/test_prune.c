/*
 * Prune filters: Docker's until forms (durations, Unix times, RFC 3339), labels, dangling,
 * and the refusals, worded as Docker words them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/mem.h"
#include "personality/prune.h"

#define S   1000000000LL
#define NOW (1700000000LL * S)

static void test_prune_until_forms(void **state)
{
    (void)state;
    assert_int_equal(engine_prune_until("10m", NOW), NOW - 600 * S);
    assert_int_equal(engine_prune_until("1h30m", NOW), NOW - 5400 * S);
    assert_int_equal(engine_prune_until("1.5h", NOW), NOW - 5400 * S);
    assert_int_equal(engine_prune_until("300ms", NOW), NOW - 300000000LL);
    assert_int_equal(engine_prune_until("-1h", NOW), NOW + 3600 * S);
    assert_int_equal(engine_prune_until("1699999999", NOW), 1699999999LL * S);
    assert_int_equal(engine_prune_until("1699999999.5", NOW), 1699999999LL * S + S / 2);
    assert_int_equal(engine_prune_until("0", NOW), 0); /* "0" is the epoch, not a duration */
    assert_int_equal(engine_prune_until("2023-11-14", NOW), 1699920000LL * S);
    assert_int_equal(engine_prune_until("2023-11-14T22:13:20Z", NOW), NOW);
    assert_int_equal(engine_prune_until("2023-11-14T22:13:20", NOW), NOW);
    assert_int_equal(engine_prune_until("2023-11-14T23:13:20+01:00", NOW), NOW);
    assert_int_equal(engine_prune_until("2023-11-14T22:13:20.25Z", NOW), NOW + S / 4);
    static const char *const bad[] = {"",
                                      "bogus",
                                      "10",
                                      "10x",
                                      "1h-",
                                      "h",
                                      "2023-13-01",
                                      "2023-11-14T",
                                      "1.2.3",
                                      "5m5",
                                      "2023-11-14T22:13:20+0100",
                                      "."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (i != 2 && engine_prune_until(bad[i], NOW) != -1)
            fail_msg("\"%s\" was taken", bad[i]);
    assert_int_equal(engine_prune_until("10", NOW), 10 * S);       /* a Unix time */
    assert_int_equal(engine_prune_until(".5s", NOW), NOW - S / 2); /* as Go reads it */
}

static void test_prune_filter_parse_and_match(void **state)
{
    (void)state;
    static const char *const allowed[] = {"until", "label", "label!", "dangling", NULL};
    engine_prune_filter f;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(engine_prune_filter_parse(&f, NULL, allowed, NOW, &err), 0);
    assert_int_equal(f.dangling, -1);
    assert_true(engine_prune_match(&f, NULL, 1));
    engine_prune_filter_clear(&f);
    assert_int_equal(engine_prune_filter_parse(&f,
                                               "{\"until\":[\"10m\"],\"label\":[\"a\",\"b=2\"],"
                                               "\"label!\":[\"c\"],\"dangling\":[\"false\"]}",
                                               allowed, NOW, &err),
                     0);
    assert_int_equal(f.dangling, 0);
    assert_int_equal(f.until_ns, NOW - 600 * S);
    json_t *l cleanup_json = json_pack("{s:s, s:s}", "a", "x", "b", "2");
    assert_true(engine_prune_match(&f, l, NOW - 3600 * S));
    assert_false(engine_prune_match(&f, l, NOW - 60 * S)); /* too new */
    assert_false(engine_prune_match(&f, l, 0));            /* unknown age */
    json_object_set_new(l, "c", json_string(""));
    assert_false(engine_prune_match(&f, l, NOW - 3600 * S)); /* label! */
    json_object_del(l, "c");
    json_object_set_new(l, "b", json_string("3"));
    assert_false(engine_prune_match(&f, l, NOW - 3600 * S)); /* b=2 */
    engine_prune_filter_clear(&f);
    /* the old {"k": {"v": true}} form */
    assert_int_equal(
        engine_prune_filter_parse(&f, "{\"dangling\":{\"true\":true}}", allowed, NOW, &err), 0);
    assert_int_equal(f.dangling, 1);
    engine_prune_filter_clear(&f);
}

static void expect_refused(const char *q, const char *why)
{
    static const char *const allowed[] = {"until", "label", "dangling", NULL};
    engine_prune_filter f;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(engine_prune_filter_parse(&f, q, allowed, NOW, &err), VIC_EINVAL);
    if (strstr(err->msg, why) == NULL)
        fail_msg("%s: got \"%s\", wanted \"%s\"", q, err->msg, why);
    engine_prune_filter_clear(&f);
}

static void test_prune_filter_refusals(void **state)
{
    (void)state;
    expect_refused("{\"colour\":[\"red\"]}", "invalid filter 'colour'");
    expect_refused("{\"label!\":[\"x\"]}", "invalid filter 'label!'");
    expect_refused("{\"until\":[\"bogus\"]}",
                   "failed to parse value as time or duration: \"bogus\"");
    expect_refused("{\"dangling\":[\"maybe\"]}", "invalid filter 'dangling=maybe'");
    expect_refused("{\"dangling\":[\"true\",\"false\"]}", "invalid filter 'dangling=false'");
    expect_refused("{\"label\":[\"\"]}", "invalid filter 'label='");
    expect_refused("{\"label\":[5]}", "values must be strings");
    expect_refused("{\"label\":", "filters");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prune_until_forms),
        cmocka_unit_test(test_prune_filter_parse_and_match),
        cmocka_unit_test(test_prune_filter_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
