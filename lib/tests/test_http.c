#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/certs.h"
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

#define N_LINES 200

static void *produce_lines(void *p)
{
    vic_http_stream *s = p;
    for (int i = 0; i < N_LINES; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "{\"n\":%d}", i);
        if (vic_http_stream_write_line(s, line, (size_t)n, NULL) < 0)
            break;
        sched_yield(); /* let the server's reader take what is queued, between lines */
    }
    vic_http_stream_close(s);
    vic_http_stream_release(s);
    return NULL;
}

static int lines(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)payload, (void)err;
    vic_http_stream *s = vic_http_resp_stream(resp, 200, "application/json");
    pthread_t th;
    pthread_create(&th, NULL, produce_lines, s);
    pthread_detach(th);
    return 0;
}

/* How many requests have entered the slow handler: a test waits on it (wait_slow_entered)
 * instead of guessing when its request got there. */
static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cond = PTHREAD_COND_INITIALIZER;
static int slow_entered;

static int slow(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)payload, (void)err;
    pthread_mutex_lock(&slow_lock);
    slow_entered++;
    pthread_cond_broadcast(&slow_cond);
    pthread_mutex_unlock(&slow_lock);
    usleep(300000); /* work that takes a while: the drain has to wait for it */
    vic_http_resp_text(resp, 200, NULL, "done", 4);
    return 0;
}

/* A hijacked connection that answers in upper case, says "bye" at the client's end of input
 * and leaves when the server stops. */
static atomic_int hijacks_done, hijacks_dropped;

static void shout(int fd, const char *p, size_t n)
{
    char buf[4096];
    for (size_t i = 0; i < n && i < sizeof(buf); i++)
        buf[i] = (char)toupper((unsigned char)p[i]);
    for (size_t off = 0; off < n;) {
        ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

static void upper_fn(vic_http_hijack *h, void *payload)
{
    (void)payload;
    int fd = vic_http_hijack_fd(h);
    size_t n = 0;
    const char *extra = vic_http_hijack_extra(h, &n);
    shout(fd, extra, n);
    for (;;) {
        struct pollfd pf[2] = {{fd, POLLIN, 0}, {vic_http_hijack_stop_fd(h), POLLIN, 0}};
        if (poll(pf, 2, -1) < 0)
            break;
        if (pf[1].revents)
            break;
        char buf[4096];
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r <= 0) {
            if (r == 0)
                send(fd, "bye", 3, MSG_NOSIGNAL);
            break;
        }
        shout(fd, buf, (size_t)r);
    }
    atomic_fetch_add(&hijacks_done, 1);
}

static void upper_drop(void *payload)
{
    (void)payload;
    atomic_fetch_add(&hijacks_dropped, 1);
}

static int upgrade(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)payload;
    vic_http_resp_hijack(resp, "tcp", "application/vnd.test-stream", upper_fn, upper_drop, NULL);
    if (vic_http_req_query(req, "fail")) /* a handler that fails after all: nothing runs */
        return vic_err_set(err, VIC_ECONFLICT, "changed my mind");
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
    {"GET", "/lines", lines, VIC_ROUTE_PUBLIC, NULL},
    {"POST", "/upgrade", upgrade, VIC_ROUTE_PUBLIC, NULL},
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

/* Waits (at most 10 s) until more than before requests have entered the slow handler. */
static void wait_slow_entered(int before)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&slow_lock);
    int rc = 0;
    while (slow_entered <= before && rc == 0)
        rc = pthread_cond_timedwait(&slow_cond, &slow_lock, &until);
    int entered = slow_entered;
    pthread_mutex_unlock(&slow_lock);
    if (entered <= before)
        fail_msg("the request did not reach its handler within 10 s");
}

static void test_http_server_drains_in_flight(void **state)
{
    (void)state;
    vic_http_server *s = start(0);
    bg_fetch b = {.port = vic_http_server_port(s)};
    pthread_mutex_lock(&slow_lock);
    int before = slow_entered;
    pthread_mutex_unlock(&slow_lock);
    pthread_t th;
    pthread_create(&th, NULL, fetch_slow, &b);
    wait_slow_entered(before); /* the request is inside the handler now */
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

/* ---- hijacked connections ---- */

static void test_http_hijack_without_the_network(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    vic_http_router *r = NULL;
    assert_int_equal(vic_http_router_new(&r, routes, N_ROUTES, auth, NULL, 0, &err), 0);
    int before_done = atomic_load(&hijacks_done), before_drop = atomic_load(&hijacks_dropped);
    vic_http_resp *resp = run(r, vic_http_req_new("POST", "/upgrade"));
    assert_int_equal(vic_http_resp_status(resp), 101);
    assert_true(vic_http_resp_is_hijack(resp));
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    assert_int_equal(write(sp[1], "abc", 3), 3);
    shutdown(sp[1], SHUT_WR);
    assert_int_equal(vic_http_resp_run_hijack(resp, sp[0]), 0);
    char buf[16] = "";
    assert_int_equal(read(sp[1], buf, sizeof(buf) - 1), 6);
    assert_string_equal(buf, "ABCbye");
    close(sp[0]);
    close(sp[1]);
    vic_http_resp_free(resp);
    assert_int_equal(atomic_load(&hijacks_done), before_done + 1);

    /* a failing handler's hijack never runs: its payload is dropped */
    vic_http_req *req = vic_http_req_new("POST", "/upgrade");
    vic_http_req_add_query(req, "fail", "1");
    resp = run(r, req);
    assert_int_equal(vic_http_resp_status(resp), 409);
    assert_false(vic_http_resp_is_hijack(resp));
    vic_http_resp_free(resp);
    assert_int_equal(atomic_load(&hijacks_dropped), before_drop + 1);
    vic_http_router_free(r);
}

/* a client connection, plain or TLS */
typedef struct tconn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
} tconn;

static void tconn_open(tconn *c, uint16_t port, int tls)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {10, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (tls) {
        c->ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
        c->ssl = SSL_new(c->ctx);
        SSL_set_fd(c->ssl, c->fd);
        assert_int_equal(SSL_connect(c->ssl), 1);
    }
}

static void tconn_write(tconn *c, const char *data)
{
    size_t n = strlen(data);
    if (c->ssl)
        assert_int_equal(SSL_write(c->ssl, data, (int)n), (int)n);
    else
        assert_int_equal(send(c->fd, data, n, MSG_NOSIGNAL), (ssize_t)n);
}

static ssize_t tconn_read(tconn *c, char *buf, size_t cap)
{
    if (c->ssl) {
        int n = SSL_read(c->ssl, buf, (int)cap);
        return n > 0 ? n : 0;
    }
    ssize_t n = recv(c->fd, buf, cap, 0);
    return n > 0 ? n : 0;
}

/* Reads until want appears in what was read (or the peer closes); returns what was read. */
static char *tconn_read_until(tconn *c, const char *want, vic_buf *acc)
{
    while (acc->data == NULL || strstr(acc->data, want) == NULL) {
        char buf[4096];
        ssize_t n = tconn_read(c, buf, sizeof(buf));
        if (n <= 0)
            break;
        vic_buf_append(acc, buf, (size_t)n);
    }
    return acc->data ? acc->data : "";
}

static void tconn_close(tconn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->ctx)
        SSL_CTX_free(c->ctx);
    close(c->fd);
}

/* How the client ends its input: a TCP half-close, or over TLS a close_notify alone (as
 * Go's tls.Conn.CloseWrite does) */
enum { END_FIN, END_CLOSE_NOTIFY };

static void hijack_roundtrip(int tls, int end)
{
    vic_err *err cleanup_err = NULL;
    vic_cert *ca = NULL, *srvcert = NULL;
    cleanup_free char *cert_pem = NULL, *key_pem = NULL;
    if (tls) {
        vic_cert_opts o = {.cn = "test-ca", .ec = 1};
        const char *sans[] = {"127.0.0.1"};
        vic_cert_opts so = {.cn = "127.0.0.1", .ec = 1, .sans = sans, .n_sans = 1};
        assert_int_equal(vic_cert_ca_new(&ca, &o, &err), 0);
        assert_int_equal(vic_cert_server_new(&srvcert, ca, &so, &err), 0);
        cert_pem = vic_cert_pem(srvcert);
        key_pem = vic_cert_key_pem(srvcert);
    }
    vic_http_config cfg = {.listen = "127.0.0.1:0",
                           .tls_cert_pem = cert_pem,
                           .tls_key_pem = key_pem,
                           .tls_half_close = 1,
                           .threads = 2,
                           .idle_timeout = 1,
                           .routes = routes,
                           .n_routes = N_ROUTES,
                           .auth = auth};
    vic_http_server *s = NULL;
    if (vic_http_server_start(&s, &cfg, &err) < 0)
        fail_msg("start: %s", err->msg);
    uint16_t port = vic_http_server_port(s);
    int before = atomic_load(&hijacks_done);

    /* bytes sent right behind the request reach the hijack as its extra input */
    tconn c;
    tconn_open(&c, port, tls);
    tconn_write(&c, "POST /upgrade HTTP/1.1\r\nHost: x\r\nUpgrade: tcp\r\n"
                    "Connection: Upgrade\r\nContent-Length: 0\r\n\r\nearly ");
    vic_buf got = VIC_BUF_INIT;
    char *text = tconn_read_until(&c, "EARLY ", &got);
    if (strcasestr(text, "\r\nConnection: Upgrade\r\n") == NULL)
        fail_msg("%s", text);
    assert_non_null(strstr(text, "HTTP/1.1 101"));
    assert_non_null(strcasestr(text, "\r\nUpgrade: tcp\r\n"));
    assert_non_null(strcasestr(text, "\r\nConnection: Upgrade\r\n"));
    assert_non_null(strstr(text, "Content-Type: application/vnd.test-stream\r\n"));
    assert_non_null(strstr(text, "\r\n\r\nEARLY "));
    vic_buf_free(&got);
    /* the connection outlives the idle timeout: a session may sit still */
    sleep(2);
    tconn_write(&c, "hello");
    assert_non_null(strstr(tconn_read_until(&c, "HELLO", &got), "HELLO"));
    vic_buf_free(&got);
    char buf[16];
    /* the end of the client's input reaches the hijack, also over TLS; its answer still
     * arrives, and then the server closes */
    if (end == END_CLOSE_NOTIFY)
        assert_int_equal(SSL_shutdown(c.ssl), 0);
    else
        shutdown(c.fd, SHUT_WR);
    assert_string_equal(tconn_read_until(&c, "bye", &got), "bye");
    vic_buf_free(&got);
    assert_int_equal(tconn_read(&c, buf, sizeof(buf)), 0);
    tconn_close(&c);
    for (int i = 0; i < 200 && atomic_load(&hijacks_done) < before + 1; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&hijacks_done), before + 1);

    /* a hijacked connection does not hold a stopping server */
    tconn_open(&c, port, tls);
    tconn_write(&c, "POST /upgrade HTTP/1.1\r\nHost: x\r\nUpgrade: tcp\r\n"
                    "Connection: Upgrade\r\n\r\n");
    tconn_read_until(&c, "\r\n\r\n", &got);
    vic_buf_free(&got);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(vic_http_server_stop(s, 2000), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 3);
    assert_int_equal(atomic_load(&hijacks_done), before + 2);
    assert_int_equal(tconn_read(&c, buf, sizeof(buf)), 0);
    tconn_close(&c);
    vic_cert_free(srvcert);
    vic_cert_free(ca);
}

/* Each streamed line reaches the client with its newline in the same HTTP chunk: a reader
 * that splits chunks on newlines (Docker's SDK) never sees a newline alone. */
static void test_http_server_stream_lines_keep_their_newline(void **state)
{
    (void)state;
    vic_http_server *s = start(0);
    tconn c;
    tconn_open(&c, vic_http_server_port(s), 0);
    tconn_write(&c, "GET /lines HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    vic_buf acc = VIC_BUF_INIT;
    const char *raw = tconn_read_until(&c, "\r\n0\r\n\r\n", &acc);
    const char *p = strstr(raw, "\r\n\r\n");
    assert_non_null(p);
    assert_non_null(strstr(raw, "Transfer-Encoding: chunked"));
    p += 4;
    vic_buf body = VIC_BUF_INIT;
    int chunks = 0;
    for (;;) {
        char *end;
        unsigned long n = strtoul(p, &end, 16);
        assert_true(end != p && strncmp(end, "\r\n", 2) == 0);
        if (n == 0)
            break;
        const char *data = end + 2;
        assert_true(data[n - 1] == '\n' && data[n] == '\r' && data[n + 1] == '\n');
        vic_buf_append(&body, data, n);
        chunks++;
        p = data + n + 2;
    }
    vic_buf want = VIC_BUF_INIT;
    for (int i = 0; i < N_LINES; i++)
        vic_buf_appendf(&want, "{\"n\":%d}\n", i);
    vic_buf_append(&body, "", 1);
    vic_buf_append(&want, "", 1);
    assert_string_equal(body.data, want.data);
    assert_true(chunks >= 1);
    vic_buf_free(&want);
    vic_buf_free(&body);
    vic_buf_free(&acc);
    tconn_close(&c);
    assert_int_equal(vic_http_server_stop(s, 2000), 0);
}

static void test_http_server_hijacks(void **state)
{
    (void)state;
    hijack_roundtrip(0, END_FIN);
}

static void test_http_server_hijacks_over_tls(void **state)
{
    (void)state;
    hijack_roundtrip(1, END_FIN);
    hijack_roundtrip(1, END_CLOSE_NOTIFY);
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
        cmocka_unit_test(test_http_hijack_without_the_network),
        cmocka_unit_test(test_http_server_stream_lines_keep_their_newline),
        cmocka_unit_test(test_http_server_hijacks),
        cmocka_unit_test(test_http_server_hijacks_over_tls),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
