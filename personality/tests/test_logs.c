/* docker logs' query: Docker's booleans, tail, since and until checked, and the port layer's
 * path suffix built from them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "personality/logs.h"

/* The query "a=1&b=2" checked: its suffix (caller frees) or NULL with the error in *msg. */
static char *query(const char *q, bool *stamps, char *msg, size_t cap)
{
    vic_http_req *req = vic_http_req_new("GET", "/containers/abc/logs");
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", q);
    char *save = NULL;
    for (char *kv = strtok_r(buf, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq++ = '\0';
        vic_http_req_add_query(req, kv, eq ? eq : "");
    }
    char *suffix = NULL;
    vic_err *err cleanup_err = NULL;
    *stamps = false;
    if (engine_logs_query(req, &suffix, stamps, &err) < 0) {
        assert_int_equal(err->code, VIC_EINVAL);
        snprintf(msg, cap, "%s", err->msg);
    }
    vic_http_req_free(req);
    return suffix;
}

static void test_logs_query_to_the_port_layer(void **state)
{
    (void)state;
    char m[256];
    bool ts;
    char *s = query("stdout=1&stderr=1", &ts, m, sizeof(m));
    assert_string_equal(s, "/logs?format=stream&stdout=1&stderr=1&follow=0&tail=-1&since=&until=");
    assert_false(ts);
    free(s);
    /* what the docker CLI sends for logs -f -t --tail 2 --since ... --until ... */
    s = query("stdout=1&stderr=1&follow=1&timestamps=1&tail=2&since=1700000000.000000001"
              "&until=1800000000.5",
              &ts, m, sizeof(m));
    assert_string_equal(s, "/logs?format=stream&stdout=1&stderr=1&follow=1&tail=2"
                           "&since=1700000000.000000001&until=1800000000.5");
    assert_true(ts);
    free(s);
    /* Docker's booleans; all, empty and negative tails are everything */
    s = query("stdout=TRUE&stderr=False&follow=no&timestamps=none&tail=all", &ts, m, sizeof(m));
    assert_string_equal(s, "/logs?format=stream&stdout=1&stderr=0&follow=0&tail=-1&since=&until=");
    assert_false(ts);
    free(s);
    s = query("stderr=yes&tail=-5&since=0&until=0", &ts, m, sizeof(m));
    assert_string_equal(s, "/logs?format=stream&stdout=0&stderr=1&follow=0&tail=-1&since=0"
                           "&until=0");
    free(s);
    s = query("stdout=1&tail=", &ts, m, sizeof(m));
    assert_non_null(strstr(s, "&tail=-1&"));
    free(s);
    s = query("stdout=1&tail=0", &ts, m, sizeof(m));
    assert_non_null(strstr(s, "&tail=0&"));
    free(s);
    /* as Docker Engine: a tail that is not a number of lines is all of them */
    static const char *const all[] = {"stdout=1&tail=abc", "stdout=1&tail=5x", "stdout=1&tail=ALL"};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        s = query(all[i], &ts, m, sizeof(m));
        assert_non_null(s);
        assert_non_null(strstr(s, "&tail=-1&"));
        free(s);
    }
}

static void test_logs_query_refused(void **state)
{
    (void)state;
    static const struct {
        const char *q, *msg;
    } cases[] = {
        {"", "Bad parameters: you must choose at least one stream"},
        {"stdout=0&stderr=false", "Bad parameters: you must choose at least one stream"},
        {"stdout=1&since=xyz", "since: \"xyz\" is not a Unix timestamp (SECONDS[.FRACTION])"},
        {"stdout=1&since=2023-01-01T00:00:00Z",
         "since: \"2023-01-01T00:00:00Z\" is not a Unix timestamp (SECONDS[.FRACTION])"},
        {"stdout=1&until=1.", "until: \"1.\" is not a Unix timestamp (SECONDS[.FRACTION])"},
        {"stdout=1&until=10m", "until: \"10m\" is not a Unix timestamp (SECONDS[.FRACTION])"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char m[256] = "";
        bool ts;
        char *s = query(cases[i].q, &ts, m, sizeof(m));
        if (s != NULL || strcmp(m, cases[i].msg) != 0)
            fail_msg("\"%s\": \"%s\" \"%s\", want \"%s\"", cases[i].q, s ? s : "(refused)", m,
                     cases[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logs_query_to_the_port_layer),
        cmocka_unit_test(test_logs_query_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
