#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/httpc.h"
#include "lib/mem.h"

/* ---- a server that comes up late, or hangs up on requests ---- */

typedef struct late_server {
    int port;         /* where it listens (free when the test begins) */
    int delay_ms;     /* how long it stays away */
    int hang_ups;     /* how many requests it reads and leaves without an answer */
    const char *head; /* what it answers the others ("HTTP/1.1 200 OK..."), whole */
    int conns;        /* how many connections it takes before it stops */
    atomic_int seen;  /* requests read */
    pthread_t th;
} late_server;

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void nap_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s); /* nothing listens there now: a connect is refused */
    return ntohs(a.sin_port);
}

/* Reads a request's head (our calls send no body but a JSON one, small enough to come in
 * the same reads). */
static void read_request(int c)
{
    char buf[4096];
    size_t n = 0;
    while (n < sizeof(buf) - 1) {
        ssize_t r = read(c, buf + n, sizeof(buf) - 1 - n);
        if (r <= 0)
            return;
        n += (size_t)r;
        buf[n] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            return;
    }
}

static void *late_server_run(void *arg)
{
    late_server *s = arg;
    nap_ms(s->delay_ms);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)s->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 16) < 0) {
        close(l);
        return NULL;
    }
    int requests = 0;
    while (requests < s->conns) {
        int c = accept(l, NULL, NULL);
        if (c < 0)
            break;
        struct timeval tv = {0, 300 * 1000};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char probe;
        /* a connect probe sends nothing and hangs up: not a request */
        if (recv(c, &probe, 1, MSG_PEEK) <= 0) {
            close(c);
            continue;
        }
        read_request(c);
        requests++;
        int n = atomic_fetch_add(&s->seen, 1);
        if (n >= s->hang_ups && s->head) {
            ssize_t w = write(c, s->head, strlen(s->head));
            (void)w;
        }
        close(c);
    }
    close(l);
    return NULL;
}

static void late_server_start(late_server *s)
{
    s->port = free_port();
    atomic_init(&s->seen, 0);
    assert_int_equal(pthread_create(&s->th, NULL, late_server_run, s), 0);
}

static void late_server_join(late_server *s)
{
    pthread_join(s->th, NULL);
}

static vic_httpc *client_of(const late_server *s, unsigned wait_ms)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
    vic_httpc *c = NULL;
    assert_int_equal(vic_httpc_new(&c, url, NULL, NULL), 0);
    if (wait_ms)
        vic_httpc_set_restart_wait(c, "the test server", wait_ms);
    return c;
}

#define OK_JSON "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}"

/* ---- tests ---- */

/* A refused connection sent nothing: even a POST goes again once the server is back. */
static void test_httpc_refused_call_waits_for_the_server(void **state)
{
    (void)state;
    late_server s = {.delay_ms = 400, .head = OK_JSON, .conns = 1};
    late_server_start(&s);
    vic_httpc *c = client_of(&s, 5000);
    vic_err *err cleanup_err = NULL;
    json_t *out cleanup_json = NULL;
    int64_t t0 = now_ms();
    int rc = vic_httpc_json(c, "POST", "/things", NULL, 0, &out, &err);
    int64_t took = now_ms() - t0;
    assert_int_equal(rc, 0);
    assert_true(json_is_true(json_object_get(out, "ok")));
    assert_true(took >= 300);
    assert_true(took < 3000); /* polled, not a fixed sleep to the bound */
    assert_int_equal(atomic_load(&s.seen), 1);
    late_server_join(&s);
    vic_httpc_free(c);
}

/* A server that does not come back within the bound: the error names it. */
static void test_httpc_refused_call_gives_up_naming_the_component(void **state)
{
    (void)state;
    late_server s = {.port = free_port()};
    vic_httpc *c = client_of(&s, 500);
    vic_err *err cleanup_err = NULL;
    json_t *out = NULL;
    int64_t t0 = now_ms();
    int rc = vic_httpc_json(c, "GET", "/things", NULL, 0, &out, &err);
    int64_t took = now_ms() - t0;
    assert_int_equal(rc, VIC_EUPSTREAM);
    assert_null(out);
    assert_non_null(strstr(err->msg, "the test server is restarting"));
    assert_non_null(strstr(err->msg, "try again"));
    assert_true(took >= 450);
    assert_true(took < 2500);
    vic_httpc_free(c);
}

/* Without a restart wait a refused call fails at once, as it always did. */
static void test_httpc_refused_call_fails_at_once_without_a_wait(void **state)
{
    (void)state;
    late_server s = {.port = free_port()};
    vic_httpc *c = client_of(&s, 0);
    vic_err *err cleanup_err = NULL;
    json_t *out = NULL;
    int64_t t0 = now_ms();
    assert_int_equal(vic_httpc_json(c, "GET", "/things", NULL, 0, &out, &err), VIC_EUPSTREAM);
    assert_true(now_ms() - t0 < 400);
    assert_null(strstr(err->msg, "restarting"));
    vic_httpc_free(c);
}

/* A request whose connection broke after it was sent may have taken effect: a POST is not
 * made again, and its error says so. */
static void test_httpc_post_broken_after_sending_is_not_repeated(void **state)
{
    (void)state;
    late_server s = {.hang_ups = 1, .head = OK_JSON, .conns = 2};
    late_server_start(&s);
    vic_httpc *c = client_of(&s, 5000);
    vic_err *err cleanup_err = NULL;
    json_t *out = NULL;
    int rc = vic_httpc_json(c, "POST", "/things", NULL, 0, &out, &err);
    assert_int_equal(rc, VIC_EUPSTREAM);
    assert_non_null(strstr(err->msg, "the test server went away during POST"));
    assert_non_null(strstr(err->msg, "may or may not have taken effect"));
    assert_int_equal(atomic_load(&s.seen), 1);
    /* the server's second connection: let it end */
    json_t *more cleanup_json = NULL;
    assert_int_equal(vic_httpc_json(c, "GET", "/things", NULL, 0, &more, NULL), 0);
    late_server_join(&s);
    vic_httpc_free(c);
}

/* A GET whose connection broke goes again: it changes nothing. */
static void test_httpc_get_broken_after_sending_is_repeated(void **state)
{
    (void)state;
    late_server s = {.hang_ups = 1, .head = OK_JSON, .conns = 2};
    late_server_start(&s);
    vic_httpc *c = client_of(&s, 5000);
    vic_err *err cleanup_err = NULL;
    json_t *out cleanup_json = NULL;
    assert_int_equal(vic_httpc_json(c, "GET", "/things", NULL, 0, &out, &err), 0);
    assert_true(json_is_true(json_object_get(out, "ok")));
    assert_int_equal(atomic_load(&s.seen), 2);
    late_server_join(&s);
    vic_httpc_free(c);
}

static int count_line(const char *line, size_t len, void *payload)
{
    (void)line, (void)len;
    (*(int *)payload)++;
    return 0;
}

/* A streamed call (lines) waits for the server too. */
static void test_httpc_lines_wait_for_the_server(void **state)
{
    (void)state;
    late_server s = {.delay_ms = 300,
                     .head = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\n"
                             "a\nb\nc\n",
                     .conns = 1};
    late_server_start(&s);
    vic_httpc *c = client_of(&s, 5000);
    vic_err *err cleanup_err = NULL;
    int lines = 0;
    assert_int_equal(vic_httpc_lines(c, "GET", "/stream", 0, count_line, &lines, &err), 0);
    assert_int_equal(lines, 3);
    late_server_join(&s);
    vic_httpc_free(c);
}

/* A hijack (attach, exec) whose connect is refused waits for the server. */
static void test_httpc_hijack_waits_for_the_server(void **state)
{
    (void)state;
    late_server s = {.delay_ms = 300,
                     .head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\n"
                             "Connection: Upgrade\r\n\r\n",
                     .conns = 1};
    late_server_start(&s);
    vic_httpc *c = client_of(&s, 5000);
    vic_err *err cleanup_err = NULL;
    int fd = -1;
    assert_int_equal(vic_httpc_hijack(c, "POST", "/attach", 5000, &fd, &err), 0);
    assert_true(fd >= 0);
    close(fd);
    late_server_join(&s);
    vic_httpc_free(c);
}

/* ... and names it when it does not come back. */
static void test_httpc_hijack_gives_up_naming_the_component(void **state)
{
    (void)state;
    late_server s = {.port = free_port()};
    vic_httpc *c = client_of(&s, 300);
    vic_err *err cleanup_err = NULL;
    int fd = -1;
    assert_int_equal(vic_httpc_hijack(c, "POST", "/attach", 5000, &fd, &err), VIC_EUPSTREAM);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(err->msg, "the test server is restarting"));
    vic_httpc_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_httpc_refused_call_waits_for_the_server),
        cmocka_unit_test(test_httpc_refused_call_gives_up_naming_the_component),
        cmocka_unit_test(test_httpc_refused_call_fails_at_once_without_a_wait),
        cmocka_unit_test(test_httpc_post_broken_after_sending_is_not_repeated),
        cmocka_unit_test(test_httpc_get_broken_after_sending_is_repeated),
        cmocka_unit_test(test_httpc_lines_wait_for_the_server),
        cmocka_unit_test(test_httpc_hijack_waits_for_the_server),
        cmocka_unit_test(test_httpc_hijack_gives_up_naming_the_component),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
