#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/http.h"
#include "lib/mem.h"

/* ---- a small service under test ---- */

static int ping(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)payload, (void)err;
    vic_http_resp_text(resp, 200, NULL, "pong", 4);
    return 0;
}

static int item(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)payload;
    const char *id = vic_http_req_param(req, "id");
    if (strcmp(id, "missing") == 0)
        return vic_err_set(err, VIC_ENOTFOUND, "item %s not found", id);
    const char *q = vic_http_req_query(req, "q");
    vic_http_resp_json(
        resp, 200,
        json_pack("{s:s, s:s, s:s?}", "id", id, "sub", vic_http_req_param(req, "sub"), "q", q));
    return 0;
}

static int echo(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)payload, (void)err;
    vic_http_resp_json(resp, 201, json_incref(vic_http_req_json(req)));
    return 0;
}

static void *produce(void *p)
{
    vic_http_stream *s = p;
    for (int i = 0; i < 3; i++) {
        usleep(20000);
        char data[32];
        snprintf(data, sizeof(data), "step %d\nline two", i);
        char id[16];
        snprintf(id, sizeof(id), "%d", i);
        if (vic_http_stream_event(s, "progress", id, data, NULL) < 0)
            break;
    }
    vic_http_stream_close(s);
    vic_http_stream_release(s);
    return NULL;
}

static int events(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)payload, (void)err;
    vic_http_stream *s = vic_http_resp_stream(resp, 200, "text/event-stream");
    pthread_t th;
    pthread_create(&th, NULL, produce, s);
    pthread_detach(th);
    return 0;
}

static int slow(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)payload, (void)err;
    usleep(300000);
    vic_http_resp_text(resp, 200, NULL, "done", 4);
    return 0;
}

static int auth(vic_http_req *req, const vic_http_route *route, void *payload, vic_err **err)
{
    (void)route, (void)payload;
    const char *h = vic_http_req_header(req, "x-test-auth");
    if (h == NULL || strcmp(h, "ok") != 0)
        return vic_err_set(err, VIC_EAUTH, "who are you");
    vic_http_req_set_principal(req, "tester", "test");
    return 0;
}

static const vic_http_route routes[] = {
    {"GET", "/ping", ping, VIC_ROUTE_PUBLIC, NULL},
    {"GET", "/items/{id}", item, 0, NULL},
    {"GET", "/items/{id}/sub/{sub}", item, 0, NULL},
    {"POST", "/echo", echo, VIC_ROUTE_JSON, NULL},
    {"PUT", "/echo", echo, VIC_ROUTE_JSON, NULL},
    {"GET", "/events", events, VIC_ROUTE_PUBLIC, NULL},
    {"GET", "/slow", slow, VIC_ROUTE_PUBLIC, NULL},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* ---- dispatch without the network ---- */

static vic_http_resp *run(vic_http_router *r, vic_http_req *req)
{
    vic_http_resp *resp = vic_http_resp_new();
    vic_http_dispatch(r, req, resp);
    vic_http_req_free(req);
    return resp;
}

static json_t *body_json(vic_http_resp *resp)
{
    size_t len = 0;
    const char *b = vic_http_resp_body(resp, &len);
    json_t *j = json_loadb(b, len, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_http_dispatch_routes_and_params(void **state)
{
    (void)state;
    vic_http_router *r = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_http_router_new(&r, routes, N_ROUTES, auth, NULL, 64, &err), 0);

    vic_http_req *req = vic_http_req_new("GET", "/items/a1/sub/b2");
    vic_http_req_add_header(req, "X-Test-Auth", "ok");
    vic_http_req_add_query(req, "q", "x");
    vic_http_resp *resp = run(r, req);
    assert_int_equal(vic_http_resp_status(resp), 200);
    json_t *j cleanup_json = body_json(resp);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "a1");
    assert_string_equal(json_string_value(json_object_get(j, "sub")), "b2");
    assert_string_equal(json_string_value(json_object_get(j, "q")), "x");
    vic_http_resp_free(resp);

    /* HEAD is served by the GET route */
    resp = run(r, vic_http_req_new("HEAD", "/ping"));
    assert_int_equal(vic_http_resp_status(resp), 200);
    vic_http_resp_free(resp);
    vic_http_router_free(r);
}

static void test_http_dispatch_errors(void **state)
{
    (void)state;
    vic_http_router *r = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_http_router_new(&r, routes, N_ROUTES, auth, NULL, 64, &err), 0);
    static const struct {
        const char *method, *path, *ctype, *body;
        int status;
        const char *msg;
    } cases[] = {
        {"GET", "/nope", NULL, NULL, 404, "no such resource: /nope"},
        {"GET", "/items/", NULL, NULL, 404, NULL},
        {"GET", "/items//sub/x", NULL, NULL, 404, NULL},
        {"GET", "/ping/", NULL, NULL, 404, NULL},
        {"GET", "ping", NULL, NULL, 404, NULL},
        {"DELETE", "/echo", NULL, NULL, 405, "allowed: POST, PUT"},
        {"POST", "/echo", "application/json", NULL, 400, "request body required"},
        {"POST", "/echo", "text/plain", "{}", 415, "\"text/plain\" is not supported"},
        {"POST", "/echo", NULL, "{}", 415, "(none)"},
        {"POST", "/echo", "application/json", "{\"a\":", 400, "invalid JSON at line 1"},
        {"POST", "/echo", "application/json",
         "{\"a\":\"0123456789012345678901234567890123456"
         "78901234567890123456789\"}",
         413, "exceeds the limit of 64"},
        {"GET", "/items/missing", NULL, NULL, 404, "item missing not found"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vic_http_req *req = vic_http_req_new(cases[i].method, cases[i].path);
        vic_http_req_add_header(req, "X-Test-Auth", "ok");
        if (cases[i].ctype)
            vic_http_req_add_header(req, "Content-Type", cases[i].ctype);
        if (cases[i].body)
            vic_http_req_set_body(req, cases[i].body, strlen(cases[i].body));
        vic_http_resp *resp = run(r, req);
        if (vic_http_resp_status(resp) != cases[i].status)
            fail_msg("case %zu %s %s: status %d, want %d", i, cases[i].method, cases[i].path,
                     vic_http_resp_status(resp), cases[i].status);
        json_t *j cleanup_json = body_json(resp);
        const char *m = json_string_value(json_object_get(j, "message"));
        assert_non_null(m);
        if (cases[i].msg && strstr(m, cases[i].msg) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, m, cases[i].msg);
        if (cases[i].status == 405)
            assert_string_equal(vic_http_resp_get_header(resp, "Allow"), "POST, PUT");
        vic_http_resp_free(resp);
    }
    vic_http_router_free(r);
}

static void test_http_dispatch_auth(void **state)
{
    (void)state;
    vic_http_router *r = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_http_router_new(&r, routes, N_ROUTES, auth, NULL, 0, &err), 0);
    vic_http_resp *resp = run(r, vic_http_req_new("GET", "/items/1"));
    assert_int_equal(vic_http_resp_status(resp), 401);
    assert_non_null(vic_http_resp_get_header(resp, "WWW-Authenticate"));
    vic_http_resp_free(resp);

    /* unauthenticated bodies are not parsed: bad JSON still answers 401 */
    vic_http_req *req = vic_http_req_new("POST", "/echo");
    vic_http_req_add_header(req, "Content-Type", "application/json");
    vic_http_req_set_body(req, "{", 1);
    resp = run(r, req);
    assert_int_equal(vic_http_resp_status(resp), 401);
    vic_http_resp_free(resp);
    vic_http_router_free(r);

    /* a protected route without an auth callback is a configuration error */
    assert_int_equal(vic_http_router_new(&r, routes, N_ROUTES, NULL, NULL, 0, &err), VIC_EINVAL);
    assert_null(r);
}

static void test_http_cookie_parsing(void **state)
{
    (void)state;
    vic_http_req *req = vic_http_req_new("GET", "/");
    vic_http_req_add_header(req, "Cookie", "a=1; vic_session=tok; b=");
    char buf[16];
    assert_string_equal(vic_http_req_cookie(req, "vic_session", buf, sizeof(buf)), "tok");
    assert_string_equal(vic_http_req_cookie(req, "a", buf, sizeof(buf)), "1");
    assert_string_equal(vic_http_req_cookie(req, "b", buf, sizeof(buf)), "");
    assert_null(vic_http_req_cookie(req, "vic", buf, sizeof(buf)));
    assert_null(vic_http_req_cookie(req, "vic_session", buf, 3)); /* too long for buf */
    vic_http_req_free(req);
}

/* ---- the real server, driven by libcurl ---- */

typedef struct fetch {
    long status;
    vic_buf body;
} fetch;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    vic_buf_append(&((fetch *)ud)->body, p, sz * n);
    return sz * n;
}

static void do_fetch(fetch *f, uint16_t port, const char *method, const char *path,
                     const char *body, size_t body_len, int chunked)
{
    memset(f, 0, sizeof(*f));
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (chunked)
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        if (!chunked)
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
    else
        f->status = -1;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static vic_http_server *start(size_t max_body)
{
    vic_http_config cfg = {.listen = "127.0.0.1:0",
                           .max_body = max_body,
                           .threads = 2,
                           .routes = routes,
                           .n_routes = N_ROUTES,
                           .auth = auth};
    vic_http_server *s = NULL;
    vic_err *err cleanup_err = NULL;
    if (vic_http_server_start(&s, &cfg, &err) < 0)
        fail_msg("start: %s", err->msg);
    assert_int_not_equal(vic_http_server_port(s), 0);
    return s;
}

static void test_http_server_roundtrip_and_limits(void **state)
{
    (void)state;
    vic_http_server *s = start(1024);
    uint16_t port = vic_http_server_port(s);
    fetch f;
    do_fetch(&f, port, "GET", "/ping", NULL, 0, 0);
    assert_int_equal(f.status, 200);
    assert_string_equal(f.body.data, "pong");
    vic_buf_free(&f.body);

    do_fetch(&f, port, "POST", "/echo", "{\"k\":[1,2]}", 11, 0);
    assert_int_equal(f.status, 401);
    vic_buf_free(&f.body);

    char *big = xmalloc(4096);
    memset(big, 'x', 4095);
    big[4095] = '\0';
    do_fetch(&f, port, "POST", "/echo", big, 4095, 0);
    assert_int_equal(f.status, 413);
    vic_buf_free(&f.body);
    do_fetch(&f, port, "POST", "/echo", big, 4095, 1);
    assert_true(f.status == 413 || f.status == -1);
    vic_buf_free(&f.body);
    free(big);

    do_fetch(&f, port, "GET", "/ping", NULL, 0, 0); /* still serving */
    assert_int_equal(f.status, 200);
    vic_buf_free(&f.body);
    assert_int_equal(vic_http_server_stop(s, 2000), 0);
}

static void test_http_server_streams_events(void **state)
{
    (void)state;
    vic_http_server *s = start(0);
    fetch f;
    do_fetch(&f, vic_http_server_port(s), "GET", "/events", NULL, 0, 0);
    assert_int_equal(f.status, 200);
    assert_string_equal(f.body.data, "event: progress\nid: 0\ndata: step 0\ndata: line two\n\n"
                                     "event: progress\nid: 1\ndata: step 1\ndata: line two\n\n"
                                     "event: progress\nid: 2\ndata: step 2\ndata: line two\n\n");
    vic_buf_free(&f.body);
    assert_int_equal(vic_http_server_stop(s, 2000), 0);
}

typedef struct bg_fetch {
    uint16_t port;
    fetch f;
} bg_fetch;

static void *fetch_slow(void *p)
{
    bg_fetch *b = p;
    do_fetch(&b->f, b->port, "GET", "/slow", NULL, 0, 0);
    return NULL;
}

static void test_http_server_drains_in_flight(void **state)
{
    (void)state;
    vic_http_server *s = start(0);
    bg_fetch b = {.port = vic_http_server_port(s)};
    pthread_t th;
    pthread_create(&th, NULL, fetch_slow, &b);
    usleep(100000); /* the request is inside the handler now */
    assert_int_equal(vic_http_server_stop(s, 5000), 0);
    pthread_join(th, NULL);
    assert_int_equal(b.f.status, 200);
    assert_string_equal(b.f.body.data, "done");
    vic_buf_free(&b.f.body);
}

static void test_http_server_bad_listen(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    vic_http_server *s = NULL;
    vic_http_config cfg = {
        .listen = "localhost:80", .routes = routes, .n_routes = N_ROUTES, .auth = auth};
    assert_int_equal(vic_http_server_start(&s, &cfg, &err), VIC_EINVAL);
    vic_err_free(&err);
    cfg.listen = "127.0.0.1:99999";
    assert_int_equal(vic_http_server_start(&s, &cfg, &err), VIC_EINVAL);
    vic_err_free(&err);
    cfg.listen = "127.0.0.1:0";
    cfg.tls_cert_pem = "only a cert";
    assert_int_equal(vic_http_server_start(&s, &cfg, &err), VIC_EINVAL);
    assert_null(s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_dispatch_routes_and_params),
        cmocka_unit_test(test_http_dispatch_errors),
        cmocka_unit_test(test_http_dispatch_auth),
        cmocka_unit_test(test_http_cookie_parsing),
        cmocka_unit_test(test_http_server_roundtrip_and_limits),
        cmocka_unit_test(test_http_server_streams_events),
        cmocka_unit_test(test_http_server_drains_in_flight),
        cmocka_unit_test(test_http_server_bad_listen),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
