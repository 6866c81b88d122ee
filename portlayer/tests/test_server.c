/*
 * port-layer-server's routes through the router (no sockets), over the real local host.
 * Needs root for the container cases; the API description check runs everywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/mem.h"
#include "portlayer/server.h"

#define ROOT_POOL "/ha-datacenter/host/local/Resources"
#define TOKEN     "0123456789abcdef-port-layer-token"

static char home[128], fixture[160], bin_dir[512];
static hv_conn *conn;
static pl *port;
static pl_server_ctx ctx;
static vic_http_router *router;

static int copy_image(const char *image, const char *dir, const pl_idmap *ids, void *payload,
                      vic_err **err)
{
    (void)payload;
    if (strcmp(image, "busybox") != 0)
        return vic_err_set(err, VIC_ENOTFOUND, "No such image: %s", image);
    /* the fixture is root's: its files go to the VM's guest root, as a real copy writes */
    char *cmd = ids && ids->count ? xasprintf("cp -a %s/. %s/ && chown -hR %u:%u %s", fixture, dir,
                                              ids->base, ids->base, dir)
                                  : xasprintf("cp -a %s/. %s/", fixture, dir);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : vic_err_set(err, VIC_EIO, "copy the root disk");
}

static int setup(void **state)
{
    (void)state;
    snprintf(home, sizeof(home), "/tmp/vic-test-pls-XXXXXX");
    if (mkdtemp(home) == NULL)
        return -1;
    snprintf(fixture, sizeof(fixture), "%s/busybox", home);
    char *cmd = xasprintf("tests/fixtures/busybox-rootfs.sh %s >/dev/null", fixture);
    int rc = system(cmd);
    free(cmd);
    const char *bins = getenv("VIC_BIN_DIR");
    if (rc != 0 || realpath(bins ? bins : "build-san/bin", bin_dir) == NULL)
        return -1;
    hv_connect_opts o = {.target = "local", .home = home, .bin_dir = bin_dir};
    vic_err *err cleanup_err = NULL;
    pl_opts po = {.pool = ROOT_POOL, .stop_grace_ms = 2000};
    if (hv_open(&conn, &o, &err) < 0 || (po.hv = conn, pl_open(&port, &po, &err) < 0))
        return -1;
    ctx = (pl_server_ctx){.port = port, .token = TOKEN, .rootfs_for = copy_image};
    return vic_http_router_new(&router, pl_routes, pl_n_routes, pl_server_auth, &ctx, 1 << 20,
                               &err);
}

static int teardown(void **state)
{
    (void)state;
    vic_http_router_free(router);
    pl_free(port);
    hv_close(conn);
    char *cmd = xasprintf("rm -rf %s", home);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

static vic_http_resp *call(const char *method, const char *path, const char *body,
                           const char *token)
{
    vic_http_req *req = vic_http_req_new(method, path);
    const char *q = strchr(path, '?');
    if (q) { /* the router matches the path; the query goes in as arguments */
        vic_http_req_free(req);
        char *p = xstrndup(path, (size_t)(q - path));
        req = vic_http_req_new(method, p);
        free(p);
        char *args = xstrdup(q + 1);
        for (char *kv = strtok(args, "&"); kv; kv = strtok(NULL, "&")) {
            char *eq = strchr(kv, '=');
            if (eq)
                *eq = '\0';
            vic_http_req_add_query(req, kv, eq ? eq + 1 : "");
        }
        free(args);
    }
    if (token) {
        char *h = xasprintf("Bearer %s", token);
        vic_http_req_add_header(req, "Authorization", h);
        free(h);
    }
    if (body) {
        vic_http_req_add_header(req, "Content-Type", "application/json");
        vic_http_req_set_body(req, body, strlen(body));
    }
    vic_http_resp *resp = vic_http_resp_new();
    vic_http_dispatch(router, req, resp);
    vic_http_req_free(req);
    return resp;
}

static json_t *body_of(vic_http_resp *r)
{
    size_t len = 0;
    const char *b = vic_http_resp_body(r, &len);
    return b ? json_loadb(b, len, 0, NULL) : NULL;
}

static void test_server_openapi_in_step(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    if (vic_http_routes_check_openapi(pl_routes, pl_n_routes, pl_openapi_json, &err) < 0)
        fail_msg("portlayer/openapi.json: %s", err->msg);
}

static void test_server_auth(void **state)
{
    (void)state;
    vic_http_resp *r = call("GET", "/version", NULL, NULL);
    assert_int_equal(vic_http_resp_status(r), 200);
    vic_http_resp_free(r);
    r = call("GET", "/containers", NULL, NULL);
    assert_int_equal(vic_http_resp_status(r), 401);
    vic_http_resp_free(r);
    r = call("GET", "/containers", NULL, "not-the-token");
    assert_int_equal(vic_http_resp_status(r), 401);
    vic_http_resp_free(r);
}

static void test_server_container_round_trip(void **state)
{
    (void)state;
    vic_http_resp *r = call("POST", "/containers",
                            "{\"name\":\"api1\",\"image\":\"busybox\",\"cmd\":[\"/bin/sh\",\"-c\","
                            "\"echo out; echo err >&2; exit 2\"],\"env\":[\"A=b\"]}",
                            TOKEN);
    assert_int_equal(vic_http_resp_status(r), 201);
    json_t *b cleanup_json = body_of(r);
    char id[65];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(b, "id")));
    vic_http_resp_free(r);
    char path[200];
    snprintf(path, sizeof(path), "/containers/%.12s/start", id);
    r = call("POST", path, NULL, TOKEN);
    assert_int_equal(vic_http_resp_status(r), 204);
    vic_http_resp_free(r);
    r = call("POST", "/containers/api1/wait?timeout=10", NULL, TOKEN);
    assert_int_equal(vic_http_resp_status(r), 200);
    json_t *w cleanup_json = body_of(r);
    assert_int_equal(json_integer_value(json_object_get(w, "exit_code")), 2);
    vic_http_resp_free(r);
    r = call("GET", "/containers/api1/logs?stderr=0", NULL, TOKEN);
    json_t *logs cleanup_json = body_of(r);
    assert_int_equal(json_array_size(logs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(logs, 0), "data")),
                        "out\n");
    vic_http_resp_free(r);
    r = call("GET", "/containers?all=1", NULL, TOKEN);
    json_t *list cleanup_json = body_of(r);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "state")),
                        "exited");
    vic_http_resp_free(r);
    r = call("DELETE", "/containers/api1", NULL, TOKEN);
    assert_int_equal(vic_http_resp_status(r), 204);
    vic_http_resp_free(r);
    r = call("GET", "/containers/api1", NULL, TOKEN);
    assert_int_equal(vic_http_resp_status(r), 404);
    vic_http_resp_free(r);
}

static void test_server_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *body;
        int status;
        const char *msg;
    } cases[] = {
        {"POST", "/containers", "{\"image\":\"busybox\"}", 400, "No command specified"},
        {"POST", "/containers", "{\"cmd\":[\"x\"]}", 400, "image: is required"},
        {"POST", "/containers", "{\"image\":\"busybox\",\"cmd\":[\"x\"],\"privileged\":true}", 400,
         "privileged: unknown field"},
        {"POST", "/containers", "{\"image\":\"nosuch\",\"cmd\":[\"x\"]}", 404, "No such image"},
        {"POST", "/containers", "{\"image\":\"busybox\",\"cmd\":[\"x\"],\"name\":\"a b\"}", 400,
         "Invalid container name"},
        {"POST", "/containers/nosuch/start", NULL, 404, "No such container"},
        {"POST", "/containers/nosuch/stop?t=abc", NULL, 400, "t: \"abc\" is not a number"},
        {"POST", "/containers/nosuch/rename", NULL, 400, "name: is required"},
        {"GET", "/containers/nosuch/logs?tail=abc", NULL, 400, "tail: \"abc\" is not a number"},
        {"GET", "/containers/nosuch/logs?tail=-2", NULL, 400, "tail: \"-2\" is not a number"},
        {"GET", "/containers/nosuch/logs?since=xyz", NULL, 400,
         "since: \"xyz\" is not a Unix timestamp"},
        {"GET", "/containers/nosuch/logs?until=1.", NULL, 400,
         "until: \"1.\" is not a Unix timestamp"},
        {"GET", "/containers/nosuch/logs?format=xml", NULL, 400, "format: \"xml\" is neither"},
        {"GET", "/containers/nosuch/logs?follow=1", NULL, 400, "follow: only with format=stream"},
        {"GET", "/containers/nosuch/logs?tail=all&since=1.5", NULL, 404, "No such container"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vic_http_resp *r = call(cases[i].method, cases[i].path, cases[i].body, TOKEN);
        json_t *b cleanup_json = body_of(r);
        const char *m = json_string_value(json_object_get(b, "message"));
        if (vic_http_resp_status(r) != cases[i].status || m == NULL ||
            strstr(m, cases[i].msg) == NULL)
            fail_msg("case %zu: %d \"%s\", want %d \"%s\"", i, vic_http_resp_status(r), m ? m : "",
                     cases[i].status, cases[i].msg);
        vic_http_resp_free(r);
    }
}

/* The routes answered by one port-layer call share one handler: each must find its call (a
 * missing one would answer 500), and without the store it needs answer that store's error. */
static void test_server_call_routes(void **state)
{
    (void)state;
    vic_http_handler adapter = NULL;
    for (size_t i = 0; i < pl_n_routes; i++)
        if (strcmp(pl_routes[i].method, "GET") == 0 &&
            strcmp(pl_routes[i].pattern, "/containers") == 0)
            adapter = pl_routes[i].handler;
    assert_non_null(adapter);
    size_t n = 0;
    for (size_t i = 0; i < pl_n_routes; i++) {
        const vic_http_route *rt = &pl_routes[i];
        if (rt->handler != adapter)
            continue;
        n++;
        vic_buf path = VIC_BUF_INIT;
        for (const char *p = rt->pattern; *p;) {
            if (*p == '{') { /* a parameter: an object that does not exist */
                vic_buf_append(&path, "nosuch", 6);
                p = strchr(p, '}') + 1;
            } else {
                vic_buf_append(&path, p++, 1);
            }
        }
        vic_http_resp *r =
            call(rt->method, path.data, rt->flags & VIC_ROUTE_JSON ? "{}" : NULL, TOKEN);
        json_t *b cleanup_json = body_of(r);
        const char *m = json_string_value(json_object_get(b, "message"));
        int st = vic_http_resp_status(r);
        int want_store = strstr(rt->pattern, "/images") || strstr(rt->pattern, "/volumes") ||
                         strstr(rt->pattern, "networks");
        if (st == 500 || (want_store && (st != 501 && st != 503)))
            fail_msg("%s %s: %d \"%s\"", rt->method, path.data, st, m ? m : "");
        vic_http_resp_free(r);
        vic_buf_free(&path);
    }
    assert_int_equal(n, 27);
}

int main(void)
{
    const struct CMUnitTest plain[] = {cmocka_unit_test(test_server_openapi_in_step)};
    int rc = cmocka_run_group_tests(plain, NULL, NULL);
    if (geteuid() != 0) {
        fprintf(stderr, "test_server: the container cases need root; skipped\n");
        return rc;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_auth),
        cmocka_unit_test(test_server_container_round_trip),
        cmocka_unit_test(test_server_bad_input),
        cmocka_unit_test(test_server_call_routes),
    };
    return rc | cmocka_run_group_tests(tests, setup, teardown);
}
