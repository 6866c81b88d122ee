/*
 * Docker's health checks in the port layer (portlayer/health.c), the pure parts: the check's
 * validation, Docker's schedule (interval, start period, start interval), Docker's handling of
 * results (streak, status, the last five), the state's round trip through extraConfig keys,
 * what inspect shows, and Go's duration format of the timeout message. The checker itself
 * (exec in a running guest) is covered by tests/integration/test_health.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/guestinfo.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "portlayer/health.h"

#define S 1000000000LL

static json_t *parse(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    if (j == NULL)
        fail_msg("not JSON: %s", text);
    return j;
}

static void test_health_config_check(void **state)
{
    (void)state;
    static const char *const good[] = {
        "{\"test\": [\"CMD\", \"true\"]}",
        "{\"test\": [\"CMD-SHELL\", \"exit 0\"], \"interval\": 1000000, \"timeout\": 0, "
        "\"start_period\": 5000000000, \"start_interval\": 1000000, \"retries\": 0}",
        "{\"test\": [\"CMD-SHELL\", \"x\"], \"shell\": [\"/bin/ash\", \"-c\"]}",
        "{\"test\": [\"NONE\"]}",
        "{\"test\": []}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        json_t *hc cleanup_json = parse(good[i]);
        vic_err *err cleanup_err = NULL;
        if (pl_health_config_check(hc, &err) != 0)
            fail_msg("%s: refused: %s", good[i], err->msg);
    }
    static const struct {
        const char *hc, *msg;
    } bad[] = {
        {"[\"CMD\", \"true\"]", "healthcheck: must be an object"},
        {"{\"test\": [\"CMD\", \"true\"], \"every\": 1}", "healthcheck: unknown field every"},
        {"{\"test\": \"true\"}", "healthcheck: test must be a list of strings"},
        {"{\"test\": [\"CMD\", 1]}", "healthcheck: test[1] must be a string"},
        {"{\"test\": [\"HTTP\", \"/\"]}",
         "healthcheck: unknown test type 'HTTP' (CMD, CMD-SHELL or NONE)"},
        {"{\"test\": [\"CMD\"]}", "healthcheck: CMD needs a command"},
        {"{\"test\": [\"CMD-SHELL\", \"\"]}", "healthcheck: CMD-SHELL needs a command"},
        {"{\"test\": [\"CMD\", \"true\"], \"interval\": 999999}",
         "Interval in Healthcheck cannot be less than 1ms"},
        {"{\"test\": [\"CMD\", \"true\"], \"timeout\": -5}",
         "Timeout in Healthcheck cannot be less than 1ms"},
        {"{\"test\": [\"CMD\", \"true\"], \"start_period\": 1}",
         "StartPeriod in Healthcheck cannot be less than 1ms"},
        {"{\"test\": [\"CMD\", \"true\"], \"start_interval\": 1}",
         "StartInterval in Healthcheck cannot be less than 1ms"},
        {"{\"test\": [\"CMD\", \"true\"], \"interval\": \"1s\"}",
         "healthcheck: interval must be nanoseconds"},
        {"{\"test\": [\"CMD\", \"true\"], \"retries\": -1}",
         "Retries in Healthcheck cannot be negative"},
        {"{\"test\": [\"CMD-SHELL\", \"x\"], \"shell\": []}",
         "healthcheck: shell must name a program"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *hc cleanup_json = parse(bad[i].hc);
        vic_err *err cleanup_err = NULL;
        int rc = pl_health_config_check(hc, &err);
        if (rc != VIC_EINVAL || strcmp(err->msg, bad[i].msg) != 0)
            fail_msg("%s: %d %s\nwant %s", bad[i].hc, rc, err ? err->msg : "", bad[i].msg);
    }
}

static void test_health_record_and_argv(void **state)
{
    (void)state;
    json_t *extra cleanup_json = json_object();
    json_t *none cleanup_json = parse("{\"test\": [\"NONE\"]}");
    pl_health_config_record(extra, none);
    assert_int_equal(json_object_size(extra), 0); /* NONE: nothing to run, nothing recorded */
    assert_null(pl_health_config_of(extra));
    json_t *hc cleanup_json = parse("{\"test\": [\"CMD-SHELL\", \"echo a | tr a b\"], "
                                    "\"interval\": 1000000000}");
    pl_health_config_record(extra, hc);
    json_t *back cleanup_json = pl_health_config_of(extra);
    assert_true(json_equal(back, hc));
    json_t *argv cleanup_json = pl_health_argv(back);
    json_t *want cleanup_json = parse("[\"/bin/sh\", \"-c\", \"echo a | tr a b\"]");
    assert_true(json_equal(argv, want));
    json_t *cmd cleanup_json = parse("{\"test\": [\"CMD\", \"/bin/check\", \"-v\"]}");
    json_t *a2 cleanup_json = pl_health_argv(cmd);
    json_t *w2 cleanup_json = parse("[\"/bin/check\", \"-v\"]");
    assert_true(json_equal(a2, w2));
    json_t *sh cleanup_json =
        parse("{\"test\": [\"CMD-SHELL\", \"x\"], \"shell\": [\"ash\", \"-e\", "
              "\"-c\"]}");
    json_t *a3 cleanup_json = pl_health_argv(sh);
    json_t *w3 cleanup_json = parse("[\"ash\", \"-e\", \"-c\", \"x\"]");
    assert_true(json_equal(a3, w3));
    /* a damaged record reads as none */
    json_object_set_new(extra, VIC_GI_PREFIX "/vicc/healthcheck", json_string("{\"test\": 1"));
    assert_null(pl_health_config_of(extra));
}

/* Docker's monitor: the interval; within the start period the start interval while starting
 * (5 s by default), never past the period's end. */
static void test_health_schedule(void **state)
{
    (void)state;
    json_t *plain cleanup_json = parse("{\"test\": [\"CMD\", \"x\"]}");
    assert_int_equal(pl_health_wait_ns(plain, 0, 1 * S, true), 30 * S);
    json_t *hc cleanup_json = parse("{\"test\": [\"CMD\", \"x\"], \"interval\": 10000000000, "
                                    "\"start_period\": 60000000000}");
    int64_t t0 = 1000 * S;
    assert_int_equal(pl_health_wait_ns(hc, t0, t0, true), 5 * S);
    assert_int_equal(pl_health_wait_ns(hc, t0, t0, false), 10 * S);        /* passed once already */
    assert_int_equal(pl_health_wait_ns(hc, t0, t0 + 57 * S, true), 3 * S); /* period's end */
    assert_int_equal(pl_health_wait_ns(hc, t0, t0 + 60 * S, true), 10 * S);
    json_t *si cleanup_json = parse("{\"test\": [\"CMD\", \"x\"], \"interval\": 10000000000, "
                                    "\"start_period\": 60000000000, \"start_interval\": "
                                    "2000000000}");
    assert_int_equal(pl_health_wait_ns(si, t0, t0 + S, true), 2 * S);
}

static void result(pl_health_state *st, const json_t *hc, int64_t start, int64_t code, int64_t run)
{
    char out[32];
    snprintf(out, sizeof(out), "run at %lld", (long long)start);
    pl_health_result r = {.start_ns = start, .end_ns = start + 1, .exit_code = code, .output = out};
    pl_health_apply(st, hc, &r, run);
}

/* Docker's handleProbeResult: a pass is healthy with no streak, retries failures in a row
 * are unhealthy, failures within the start period do not count while starting, the log keeps
 * the last five. */
static void test_health_results(void **state)
{
    (void)state;
    json_t *hc cleanup_json = parse("{\"test\": [\"CMD\", \"x\"], \"retries\": 2, "
                                    "\"start_period\": 10000000000}");
    int64_t run = 100 * S;
    pl_health_state st;
    json_t *extra cleanup_json = json_object();
    pl_health_state_read(extra, run, &st);
    assert_int_equal(st.status, PL_HEALTH_STARTING);
    /* within the start period, starting: failures do not count */
    result(&st, hc, run + 1 * S, 1, run);
    result(&st, hc, run + 2 * S, 1, run);
    assert_int_equal(st.status, PL_HEALTH_STARTING);
    assert_int_equal(st.failing_streak, 0);
    /* past it they do: unhealthy at the retries */
    result(&st, hc, run + 11 * S, 1, run);
    assert_int_equal(st.status, PL_HEALTH_STARTING);
    assert_int_equal(st.failing_streak, 1);
    result(&st, hc, run + 12 * S, -1, run);
    assert_int_equal(st.status, PL_HEALTH_UNHEALTHY);
    assert_int_equal(st.failing_streak, 2);
    result(&st, hc, run + 13 * S, 0, run);
    assert_int_equal(st.status, PL_HEALTH_HEALTHY);
    assert_int_equal(st.failing_streak, 0);
    assert_int_equal(json_array_size(st.log), 5);
    /* once healthy, a failure within the start period counts */
    json_t *hc2 cleanup_json = parse("{\"test\": [\"CMD\", \"x\"], \"retries\": 1, "
                                     "\"start_period\": 60000000000}");
    result(&st, hc2, run + 14 * S, 1, run);
    assert_int_equal(st.status, PL_HEALTH_UNHEALTHY);
    /* the last five, oldest first */
    assert_int_equal(json_array_size(st.log), 5);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(st.log, 0), "start")),
                     run + 2 * S);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(st.log, 4), "exit_code")),
                     1);

    /* through the keys and back: the same run reads the same; another run starts over, its
     * log kept */
    char *k_state = NULL, *k_log = NULL;
    pl_health_state_format(&st, run, &k_state, &k_log);
    json_object_set_new(extra, pl_health_key_state, json_string(k_state));
    json_object_set_new(extra, pl_health_key_log, json_string(k_log));
    free(k_state);
    free(k_log);
    pl_health_state back;
    pl_health_state_read(extra, run, &back);
    assert_int_equal(back.status, PL_HEALTH_UNHEALTHY);
    assert_int_equal(back.failing_streak, 1);
    assert_true(json_equal(back.log, st.log));
    pl_health_state_clear(&back);
    pl_health_state next;
    pl_health_state_read(extra, run + 500 * S, &next);
    assert_int_equal(next.status, PL_HEALTH_STARTING);
    assert_int_equal(next.failing_streak, 0);
    assert_int_equal(json_array_size(next.log), 5);
    pl_health_state_clear(&next);
    pl_health_state_clear(&st);
    /* a damaged record reads as starting, no log */
    json_object_set_new(extra, pl_health_key_state, json_string("x y"));
    json_object_set_new(extra, pl_health_key_log, json_string("{"));
    pl_health_state_read(extra, run, &back);
    assert_int_equal(back.status, PL_HEALTH_STARTING);
    assert_int_equal(json_array_size(back.log), 0);
    pl_health_state_clear(&back);
}

static void test_health_describe(void **state)
{
    (void)state;
    json_t *extra cleanup_json = json_object();
    json_t *desc cleanup_json = json_object();
    vic_exec_session s = {0};
    pl_health_describe(desc, extra, true, &s); /* no check: nothing */
    assert_int_equal(json_object_size(desc), 0);
    json_t *hc cleanup_json = parse("{\"test\": [\"CMD\", \"true\"]}");
    pl_health_config_record(extra, hc);
    pl_health_describe(desc, extra, false, &s); /* never started: the check, no health */
    assert_non_null(json_object_get(desc, "healthcheck"));
    assert_null(json_object_get(desc, "health"));
    s.started_at = 1765101600LL * S; /* 2025-12-07T10:00:00Z */
    json_object_set_new(extra, pl_health_key_state,
                        json_sprintf("%lld healthy 0", (long long)s.started_at));
    json_object_set_new(extra, pl_health_key_log,
                        json_sprintf("[{\"start\": %lld, \"end\": %lld, \"exit_code\": 0, "
                                     "\"output\": \"ok\\n\"}]",
                                     (long long)s.started_at + 1, (long long)s.started_at + S));
    pl_health_describe(desc, extra, false, &s);
    json_t *want cleanup_json =
        parse("{\"status\": \"healthy\", \"failing_streak\": 0, \"log\": [{\"start\": "
              "\"2025-12-07T10:00:00.000000001Z\", \"end\": \"2025-12-07T10:00:01.000000000Z\", "
              "\"exit_code\": 0, \"output\": \"ok\\n\"}]}");
    if (!json_equal(json_object_get(desc, "health"), want)) {
        char *got = json_dumps(json_object_get(desc, "health"), JSON_COMPACT);
        fail_msg("got %s", got);
    }
}

static void test_health_duration(void **state)
{
    (void)state;
    static const struct {
        int64_t ns;
        const char *want;
    } cases[] = {
        {0, "0s"},
        {500, "500ns"},
        {1500, "1.5µs"},
        {1000000, "1ms"},
        {500000000, "500ms"},
        {1000000000, "1s"},
        {2500000000LL, "2.5s"},
        {90 * S, "1m30s"},
        {3600 * S, "1h0m0s"},
        {30 * S, "30s"},
        {1234567, "1.234567ms"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[32];
        pl_health_duration(out, sizeof(out), cases[i].ns);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("%lld: %s, want %s", (long long)cases[i].ns, out, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_config_check), cmocka_unit_test(test_health_record_and_argv),
        cmocka_unit_test(test_health_schedule),     cmocka_unit_test(test_health_results),
        cmocka_unit_test(test_health_describe),     cmocka_unit_test(test_health_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
