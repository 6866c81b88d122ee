/* Docker's restart policies in the personality's translations: HostConfig.RestartPolicy into
 * the port layer's create spec (as given), and the port layer's restart_count and restarting
 * back into inspect and docker ps (HostConfig.RestartPolicy is the create's record's, as every
 * HostConfig field). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "personality/common.h"
#include "personality/containers.h"
#include "personality/inspect.h"

/* 2026-12-07T12:00:00Z */
#define NOW ((time_t)1796644800)

static json_t *parse(const char *text)
{
    json_t *j = NULL;
    assert_int_equal(vic_json_parse(&j, text, strlen(text), 1 << 20, NULL), 0);
    return j;
}

static void test_restart_policy_reaches_the_spec(void **state)
{
    (void)state;
    static const struct {
        const char *host;    /* HostConfig */
        const char *restart; /* the spec's restart_policy, JSON; NULL: none */
    } cases[] = {
        {"{\"RestartPolicy\": {\"Name\": \"on-failure\", \"MaximumRetryCount\": 2}}",
         "{\"name\": \"on-failure\", \"maximum_retry_count\": 2}"},
        {"{\"RestartPolicy\": {\"Name\": \"always\"}}",
         "{\"name\": \"always\", \"maximum_retry_count\": 0}"},
        {"{\"RestartPolicy\": {\"Name\": \"no\", \"MaximumRetryCount\": 0}}",
         "{\"name\": \"no\", \"maximum_retry_count\": 0}"},
        {"{\"RestartPolicy\": {\"Name\": \"\"}}", NULL},
        {"{\"RestartPolicy\": null}", NULL},
        {"{}", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[512];
        snprintf(body, sizeof(body), "{\"Image\": \"busybox\", \"HostConfig\": %s}", cases[i].host);
        json_t *b cleanup_json = parse(body);
        json_t *out cleanup_json = NULL;
        vic_err *err cleanup_err = NULL;
        assert_int_equal(engine_container_spec(b, NULL, &out, &err), 0);
        json_t *got = json_object_get(out, "restart_policy");
        json_t *want cleanup_json = cases[i].restart ? parse(cases[i].restart) : NULL;
        if (!(want ? json_equal(got, want) : got == NULL))
            fail_msg("case %zu: %s", i, got ? json_dumps(got, JSON_COMPACT) : "(none)");
    }
}

#define TIMES                                                                                      \
    "\"created_at\": \"2026-12-07T09:00:00Z\", \"started_at\": \"2026-12-07T11:59:00Z\", "         \
    "\"finished_at\": \"2026-12-07T11:59:58Z\""

static void test_restart_in_inspect(void **state)
{
    (void)state;
    json_t *x cleanup_json =
        parse("{\"id\": \"ab\", \"name\": \"n\", \"state\": \"restarting\", \"running\": false, "
              "\"restarting\": true, \"exit_code\": 3, \"restart_count\": 4, \"restart_policy\": "
              "{\"name\": \"on-failure\", \"maximum_retry_count\": 5}, " TIMES "}");
    json_t *in cleanup_json = engine_container_inspect(x);
    assert_non_null(in);
    json_t *st = json_object_get(in, "State");
    assert_string_equal(vic_json_str(st, "Status"), "restarting");
    /* Docker counts a container waiting for its restart as running */
    assert_true(json_is_true(json_object_get(st, "Running")));
    assert_true(json_is_true(json_object_get(st, "Restarting")));
    assert_int_equal(json_integer_value(json_object_get(st, "ExitCode")), 3);
    assert_int_equal(json_integer_value(json_object_get(in, "RestartCount")), 4);
    char s[96];
    engine_container_status(x, NOW, s, sizeof(s));
    assert_string_equal(s, "Restarting (3) 2 seconds ago");

    /* a port layer that records no restarts */
    json_t *plain cleanup_json =
        parse("{\"id\": \"cd\", \"name\": \"m\", \"state\": \"exited\", " TIMES "}");
    json_t *in2 cleanup_json = engine_container_inspect(plain);
    assert_int_equal(json_integer_value(json_object_get(in2, "RestartCount")), 0);
    st = json_object_get(in2, "State");
    assert_true(json_is_false(json_object_get(st, "Running")));
    assert_true(json_is_false(json_object_get(st, "Restarting")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_policy_reaches_the_spec),
        cmocka_unit_test(test_restart_in_inspect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
