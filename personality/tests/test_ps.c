/* docker ps's filters (personality/ps.c): which names and values Docker takes, and which port
 * layer containers each filter keeps. */
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
    if (vic_json_parse(&j, text, strlen(text), 1 << 20, NULL) < 0)
        fail_msg("not JSON: %s", text);
    return j;
}

/* engine_ps_check of the filters text q: 0, or the code with its message in msg */
static int check(const char *q, char *msg, size_t cap)
{
    json_t *f cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    int rc = engine_filters_parse(q, NULL, &f, &err);
    if (rc == 0)
        rc = engine_ps_check(f, &err);
    snprintf(msg, cap, "%s", err ? err->msg : "");
    return rc;
}

static void test_ps_check_takes_dockers_filters(void **state)
{
    (void)state;
    char msg[256];
    static const char *const ok[] = {
        "{\"ancestor\": [\"busybox\"], \"before\": [\"a\"], \"since\": [\"b\"]}",
        "{\"exited\": [\"0\", \"137\"], \"status\": [\"created\", \"running\", \"exited\", "
        "\"paused\", \"restarting\", \"removing\", \"dead\"]}",
        "{\"label\": [\"a\", \"a=b\", \"a=\"], \"name\": [\"web\"], \"id\": [\"3f\"]}",
        "{\"volume\": [\"data\"], \"network\": [\"bridge\"], \"health\": [\"none\", \"healthy\"]}",
        "{\"publish\": [\"80\", \"8000-8080/tcp\", \"53/udp\"], \"expose\": [\"80/tcp\"]}",
        "{\"is-task\": [\"false\"], \"isolation\": [\"default\"]}",
        /* the older form of the parameter */
        "{\"label\": {\"a=b\": true}}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (check(ok[i], msg, sizeof(msg)) != 0)
            fail_msg("%s: refused: %s", ok[i], msg);
    static const struct {
        const char *q, *msg;
    } bad[] = {
        {"{\"bogus\": [\"x\"]}", "invalid filter 'bogus'"},
        {"{\"name\": [\"a\"], \"colour\": [\"red\"]}", "invalid filter 'colour'"},
        {"{\"status\": [\"sleeping\"]}", "invalid filter 'status=sleeping'"},
        {"{\"health\": [\"sick\"]}", "invalid filter 'health=sick'"},
        {"{\"is-task\": [\"maybe\"]}", "invalid filter 'is-task=maybe'"},
        {"{\"exited\": [\"abc\"]}", "invalid filter 'exited=abc'"},
        {"{\"exited\": [\"\"]}", "invalid filter 'exited='"},
        {"{\"publish\": [\"http\"]}", "invalid filter 'publish=http'"},
        {"{\"expose\": [\"80/ftp\"]}", "invalid filter 'expose=80/ftp'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = check(bad[i].q, msg, sizeof(msg));
        if (rc != VIC_EINVAL || strcmp(msg, bad[i].msg) != 0)
            fail_msg("%s: %d %s\nwant 400 %s", bad[i].q, rc, msg, bad[i].msg);
    }
}

/* A port layer container with a record of labels, image id and exposed ports. */
static json_t *container(const char *name, const char *state, int code, const char *created,
                         const char *labels)
{
    json_t *x = json_pack(
        "{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:[{s:s, s:s, s:s}], s:[{s:s, s:s, s:s}], "
        "s:[{s:i, s:i}]}",
        "id", name[0] == 'a' ? "aaaa1111" : "bbbb2222", "name", name, "image", "busybox", "state",
        state, "exit_code", code, "created_at", created, "started_at", created, "mounts", "volume",
        "data", "target", "/data", "mode", "rw", "networks", "name", "backend", "id", "ne7w0rk",
        "ip", "172.17.0.2", "ports", "container_port", 8080, "host_port", 32768);
    char *rec = NULL;
    json_t *r = json_pack("{s:s, s:{s:o, s:{s:{}}}}", "ImageID", "sha256:feed", "Config", "Labels",
                          parse(labels), "ExposedPorts", "53/udp");
    rec = json_dumps(r, JSON_COMPACT);
    json_object_set_new(x, "annotations", json_pack("{s:s}", ENGINE_RECORD_KEY, rec));
    free(rec);
    json_decref(r);
    return x;
}

/* Whether x passes filters (text) in query q (filters filled in here). */
static int wanted(engine_ps_query *q, const char *filters, const json_t *x)
{
    json_t *f cleanup_json = NULL;
    assert_int_equal(engine_filters_parse(filters, NULL, &f, NULL), 0);
    assert_int_equal(engine_ps_check(f, NULL), 0);
    q->filters = f;
    json_t *rec cleanup_json = engine_record_of(x);
    int yes = engine_ps_wanted(q, x, rec);
    q->filters = NULL;
    return yes;
}

static void test_ps_label_and_exited(void **state)
{
    (void)state;
    json_t *a cleanup_json = container("a-web", "exited", 3, "2026-12-07T10:00:00.000000001Z",
                                       "{\"tier\": \"web\", \"team\": \"a\"}");
    json_t *b cleanup_json =
        container("b-db", "running", 0, "2026-12-07T11:00:00Z", "{\"tier\": \"db\"}");
    engine_ps_query q = {0};
    assert_true(wanted(&q, "{\"label\": [\"tier\"]}", a));
    assert_true(wanted(&q, "{\"label\": [\"tier\"]}", b));
    assert_true(wanted(&q, "{\"label\": [\"tier=web\"]}", a));
    assert_false(wanted(&q, "{\"label\": [\"tier=web\"]}", b));
    /* every label value must hold (Docker ands them) */
    assert_true(wanted(&q, "{\"label\": [\"tier=web\", \"team=a\"]}", a));
    assert_false(wanted(&q, "{\"label\": [\"tier=web\", \"team=b\"]}", a));
    assert_false(wanted(&q, "{\"label\": [\"team\"]}", b));
    assert_false(wanted(&q, "{\"label\": [\"tier=\"]}", a)); /* an empty value is a value */

    assert_true(wanted(&q, "{\"exited\": [\"3\"]}", a));
    assert_true(wanted(&q, "{\"exited\": [\"1\", \"3\"]}", a)); /* or'ed */
    assert_false(wanted(&q, "{\"exited\": [\"0\"]}", a));
    assert_false(wanted(&q, "{\"exited\": [\"0\"]}", b)); /* running: no exit code yet */
    /* filters of different names are and'ed */
    assert_false(wanted(&q, "{\"exited\": [\"3\"], \"label\": [\"tier=db\"]}", a));
    assert_true(
        wanted(&q, "{\"exited\": [\"3\"], \"status\": [\"exited\"], \"name\": [\"web\"]}", a));

    /* a container without a record has no labels */
    json_t *old cleanup_json = parse("{\"id\": \"cc\", \"name\": \"old\", \"state\": \"exited\"}");
    assert_false(wanted(&q, "{\"label\": [\"tier\"]}", old));
}

static void test_ps_ancestor_before_since(void **state)
{
    (void)state;
    json_t *a cleanup_json =
        container("a-web", "exited", 0, "2026-12-07T10:00:00.000000001Z", "{}");
    json_t *b cleanup_json = container("b-db", "running", 0, "2026-12-07T11:00:00Z", "{}");
    /* by the image's id, which the handler looked up for each value */
    json_t *ids cleanup_json = parse("[\"sha256:feed\"]");
    engine_ps_query q = {.ancestors = ids};
    assert_true(wanted(&q, "{\"ancestor\": [\"busybox:latest\"]}", a));
    json_t *other cleanup_json = parse("[\"sha256:beef\"]");
    q.ancestors = other;
    assert_false(wanted(&q, "{\"ancestor\": [\"nginx\"]}", a));
    /* an image the port layer has not (any more): the name the container was created with */
    q.ancestors = NULL;
    assert_true(wanted(&q, "{\"ancestor\": [\"busybox\"]}", a));
    assert_false(wanted(&q, "{\"ancestor\": [\"busybox:1\"]}", a));

    /* before and since: created before or after the one named (resolved by the handler) */
    int64_t t_a = engine_time_ns("2026-12-07T10:00:00.000000001Z");
    assert_int_equal(t_a % 1000000000, 1);
    engine_ps_query before = {.before_ns = engine_time_ns("2026-12-07T11:00:00Z")};
    assert_true(wanted(&before, "{\"before\": [\"b-db\"]}", a));
    assert_false(wanted(&before, "{\"before\": [\"b-db\"]}", b)); /* itself: no */
    engine_ps_query since = {.since_ns = t_a};
    assert_true(wanted(&since, "{\"since\": [\"a-web\"]}", b));
    assert_false(wanted(&since, "{\"since\": [\"a-web\"]}", a));
}

static void test_ps_volume_network_ports_and_the_rest(void **state)
{
    (void)state;
    json_t *a cleanup_json = container("a-web", "running", 0, "2026-12-07T10:00:00Z", "{}");
    engine_ps_query q = {0};
    assert_true(wanted(&q, "{\"volume\": [\"data\"]}", a));
    assert_true(wanted(&q, "{\"volume\": [\"/data\"]}", a)); /* its mount point */
    assert_false(wanted(&q, "{\"volume\": [\"logs\"]}", a));
    assert_true(wanted(&q, "{\"network\": [\"backend\"]}", a));
    assert_true(wanted(&q, "{\"network\": [\"ne7w\"]}", a)); /* an id prefix */
    assert_false(wanted(&q, "{\"network\": [\"bridge\"]}", a));
    assert_true(wanted(&q, "{\"publish\": [\"8080\"]}", a)); /* the container's port */
    assert_true(wanted(&q, "{\"publish\": [\"8000-8100/tcp\"]}", a));
    assert_false(wanted(&q, "{\"publish\": [\"8080/udp\"]}", a));
    assert_false(wanted(&q, "{\"publish\": [\"53/udp\"]}", a)); /* exposed, not published */
    assert_true(wanted(&q, "{\"expose\": [\"53/udp\"]}", a));
    assert_true(wanted(&q, "{\"expose\": [\"8080\"]}", a)); /* a published port is exposed */
    assert_false(wanted(&q, "{\"expose\": [\"53\"]}", a));  /* tcp */
    /* no health check: none */
    assert_true(wanted(&q, "{\"health\": [\"none\"]}", a));
    assert_false(wanted(&q, "{\"health\": [\"healthy\"]}", a));
    /* a health check: its status */
    json_object_set_new(a, "health",
                        json_pack("{s:s, s:i}", "status", "unhealthy", "failing_streak", 3));
    assert_true(wanted(&q, "{\"health\": [\"unhealthy\"]}", a));
    assert_true(wanted(&q, "{\"health\": [\"healthy\", \"unhealthy\"]}", a));
    assert_false(wanted(&q, "{\"health\": [\"none\"]}", a));
    assert_false(wanted(&q, "{\"health\": [\"starting\"]}", a));
    assert_true(wanted(&q, "{\"is-task\": [\"false\"]}", a));
    assert_false(wanted(&q, "{\"is-task\": [\"true\"]}", a));
    assert_true(wanted(&q, "{\"isolation\": [\"default\"]}", a));
    assert_false(wanted(&q, "{\"isolation\": [\"hyperv\"]}", a));
}

static void test_time_ns(void **state)
{
    (void)state;
    assert_int_equal(engine_time_ns("2000-01-01T00:00:00Z"), 946684800LL * 1000000000);
    assert_int_equal(engine_time_ns("2000-01-01T00:00:00.5Z"),
                     946684800LL * 1000000000 + 500000000);
    assert_int_equal(engine_time_ns("2000-01-01T00:00:00.000000007Z"),
                     946684800LL * 1000000000 + 7);
    assert_int_equal(engine_time_ns("0001-01-01T00:00:00Z"), 0);
    assert_int_equal(engine_time_ns(NULL), 0);
    assert_int_equal(engine_time_ns("yesterday"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ps_check_takes_dockers_filters),
        cmocka_unit_test(test_ps_label_and_exited),
        cmocka_unit_test(test_ps_ancestor_before_since),
        cmocka_unit_test(test_ps_volume_network_ports_and_the_rest),
        cmocka_unit_test(test_time_ns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
