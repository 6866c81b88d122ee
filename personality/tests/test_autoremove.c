/* Docker's AutoRemove in the personality's translations: HostConfig.AutoRemove into the port
 * layer's create spec (refused with a restart policy, as Docker refuses it), and the port
 * layer's auto_remove back into inspect's HostConfig. */
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

static json_t *parse(const char *text)
{
    json_t *j = NULL;
    assert_int_equal(vic_json_parse(&j, text, strlen(text), 1 << 20, NULL), 0);
    return j;
}

/* The spec of body, or NULL with *code set when it is refused (err's message into msg). */
static json_t *spec_of(const char *body, int *code, char *msg, size_t cap)
{
    json_t *b cleanup_json = parse(body);
    json_t *out = NULL;
    vic_err *err cleanup_err = NULL;
    *code = engine_container_spec(b, NULL, &out, &err);
    snprintf(msg, cap, "%s", err ? err->msg : "");
    if (*code < 0)
        assert_null(out);
    return out;
}

static void test_autoremove_reaches_the_spec(void **state)
{
    (void)state;
    int code;
    char msg[256];
    json_t *pc cleanup_json =
        spec_of("{\"Image\": \"busybox\", \"HostConfig\": {\"AutoRemove\": true}}", &code, msg,
                sizeof(msg));
    assert_int_equal(code, 0);
    assert_true(json_is_true(json_object_get(pc, "auto_remove")));
    /* a restart policy of "no" (or none) goes with it */
    json_t *no cleanup_json = spec_of("{\"Image\": \"busybox\", \"HostConfig\": {\"AutoRemove\": "
                                      "true, \"RestartPolicy\": {\"Name\": \"no\"}}}",
                                      &code, msg, sizeof(msg));
    assert_int_equal(code, 0);
    assert_true(json_is_true(json_object_get(no, "auto_remove")));
    json_t *empty cleanup_json =
        spec_of("{\"Image\": \"busybox\", \"HostConfig\": {\"AutoRemove\": "
                "true, \"RestartPolicy\": {\"Name\": \"\"}}}",
                &code, msg, sizeof(msg));
    assert_int_equal(code, 0);
    assert_true(json_is_true(json_object_get(empty, "auto_remove")));
}

static void test_autoremove_absent_or_false_leaves_the_spec_alone(void **state)
{
    (void)state;
    int code;
    char msg[256];
    static const char *const bodies[] = {
        "{\"Image\": \"busybox\"}",
        "{\"Image\": \"busybox\", \"HostConfig\": {\"AutoRemove\": false}}",
        "{\"Image\": \"busybox\", \"HostConfig\": {\"AutoRemove\": null}}",
        /* no AutoRemove: a restart policy is no conflict */
        "{\"Image\": \"busybox\", \"HostConfig\": {\"RestartPolicy\": {\"Name\": \"always\"}}}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        json_t *pc cleanup_json = spec_of(bodies[i], &code, msg, sizeof(msg));
        assert_int_equal(code, 0);
        assert_null(json_object_get(pc, "auto_remove"));
    }
}

static void test_autoremove_refusals(void **state)
{
    (void)state;
    int code;
    char msg[256];
    static const char *const policies[] = {"always", "unless-stopped", "on-failure"};
    for (size_t i = 0; i < 3; i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"Image\": \"busybox\", \"HostConfig\": {\"AutoRemove\": true, "
                 "\"RestartPolicy\": {\"Name\": \"%s\"}}}",
                 policies[i]);
        json_t *pc cleanup_json = spec_of(body, &code, msg, sizeof(msg));
        assert_null(pc);
        assert_int_equal(code, VIC_EINVAL);
        assert_string_equal(msg, "can't create 'AutoRemove' container with restart policy");
    }
    json_t *pc cleanup_json =
        spec_of("{\"Image\": \"busybox\", \"HostConfig\": {\"AutoRemove\": \"yes\"}}", &code, msg,
                sizeof(msg));
    assert_null(pc);
    assert_int_equal(code, VIC_EINVAL);
    assert_string_equal(msg, "invalid AutoRemove: a boolean");
}

static void test_autoremove_in_inspect(void **state)
{
    (void)state;
#define TIMES                                                                                      \
    "\"created_at\": \"2026-12-07T09:00:00Z\", \"started_at\": \"2026-12-07T09:00:01Z\", "         \
    "\"finished_at\": \"0001-01-01T00:00:00Z\""
    json_t *x cleanup_json = parse("{\"id\": \"ab\", \"name\": \"n\", \"state\": \"running\", "
                                   "\"running\": true, \"auto_remove\": true, " TIMES "}");
    json_t *in cleanup_json = engine_container_inspect(x);
    assert_non_null(in);
    assert_true(json_is_true(json_object_get(json_object_get(in, "HostConfig"), "AutoRemove")));
    json_t *plain cleanup_json =
        parse("{\"id\": \"cd\", \"name\": \"m\", \"state\": \"exited\", " TIMES "}");
    json_t *in2 cleanup_json = engine_container_inspect(plain);
    assert_non_null(in2);
    assert_true(json_is_false(json_object_get(json_object_get(in2, "HostConfig"), "AutoRemove")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_autoremove_reaches_the_spec),
        cmocka_unit_test(test_autoremove_absent_or_false_leaves_the_spec_alone),
        cmocka_unit_test(test_autoremove_refusals),
        cmocka_unit_test(test_autoremove_in_inspect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
