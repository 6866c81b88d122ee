/* The local host's port forwards (hypervisor/local/portfwd.c), UDP: flows, replies to the
 * right client, idle expiry and the bounded table. The "guest" here is this process's own
 * network namespace (setns into it needs root, as the monitor has). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/local/portfwd.h"
#include "lib/cleanup.h"
#include "lib/mem.h"

/* A UDP socket bound to 127.0.0.1 on a port the kernel picks; *port gets it. */
static int udp_socket(int *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    if (port)
        *port = ntohs(sa.sin_port);
    return fd;
}

typedef struct fixture {
    portfwd *pf;
    int server; /* the guest's echo server */
    int host_port;
} fixture;

/* One round of the monitor's loop for ms milliseconds at most, with the echo server
 * answering "echo:" + what it got, to whoever sent it. */
static void pump(fixture *f, int ms)
{
    struct pollfd pf[1 + PORTFWD_MAX_RULES + 2 * PORTFWD_MAX_CONNS + PORTFWD_MAX_FLOWS];
    assert_true(portfwd_poll_max(f->pf) + 1 <= sizeof(pf) / sizeof(pf[0]));
    pf[0] = (struct pollfd){f->server, POLLIN, 0};
    size_t n = portfwd_poll_fill(f->pf, pf + 1);
    long t = portfwd_timeout_ms(f->pf);
    int r = poll(pf, n + 1, t >= 0 && t < ms ? (int)t : ms);
    assert_true(r >= 0);
    portfwd_poll_handle(f->pf, pf + 1, r > 0 ? n : 0);
    if (pf[0].revents & POLLIN) {
        char buf[2048];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t got;
        while ((got = recvfrom(f->server, buf + 5, sizeof(buf) - 5, MSG_DONTWAIT,
                               (struct sockaddr *)&from, &fl)) >= 0) {
            memcpy(buf, "echo:", 5);
            sendto(f->server, buf, (size_t)got + 5, 0, (struct sockaddr *)&from, fl);
            fl = sizeof(from);
        }
    }
}

static void send_to_host_port(fixture *f, int client, const char *msg)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->host_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(sendto(client, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) >= 0);
}

/* What client receives within about two seconds of pumping, as a string ("" for nothing). */
static void reply_of(fixture *f, int client, char *out, size_t cap)
{
    out[0] = '\0';
    for (int i = 0; i < 200; i++) {
        pump(f, 10);
        ssize_t got = recv(client, out, cap - 1, MSG_DONTWAIT);
        if (got >= 0) {
            out[got] = '\0';
            return;
        }
    }
}

static int setup(void **state)
{
    fixture *f = xzalloc(sizeof(*f));
    int gp = 0;
    f->server = udp_socket(&gp);
    int probe = udp_socket(&f->host_port);
    close(probe); /* free again, for the forward to bind */
    char line[64];
    snprintf(line, sizeof(line), "udp 127.0.0.1 %d %d", f->host_port, gp);
    json_t *kv cleanup_json = json_pack("{s:s}", "ethernet0.portForward.0", line);
    vic_err *err cleanup_err = NULL;
    if (portfwd_open(&f->pf, kv, &err) < 0 || f->pf == NULL ||
        portfwd_attach(f->pf, getpid(), &err) < 0) {
        fprintf(stderr, "portfwd: %s\n", err ? err->msg : "no forwards");
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    portfwd_free(f->pf);
    close(f->server);
    free(f);
    return 0;
}

/* Each client's datagrams reach the guest's port, and each gets its own replies. */
static void test_portfwd_udp_replies_reach_their_client(void **state)
{
    fixture *f = *state;
    int a = udp_socket(NULL), b = udp_socket(NULL);
    char got[256];
    send_to_host_port(f, a, "one");
    send_to_host_port(f, b, "two");
    reply_of(f, a, got, sizeof(got));
    assert_string_equal(got, "echo:one");
    reply_of(f, b, got, sizeof(got));
    assert_string_equal(got, "echo:two");
    assert_int_equal(portfwd_udp_flows(f->pf), 2);
    /* a client's second datagram goes over its flow: no new one */
    send_to_host_port(f, a, "three");
    reply_of(f, a, got, sizeof(got));
    assert_string_equal(got, "echo:three");
    assert_int_equal(portfwd_udp_flows(f->pf), 2);
    close(a);
    close(b);
}

/* Idle flows are forgotten, and the loop is told when the next one idles out. */
static void test_portfwd_udp_flows_expire_when_idle(void **state)
{
    fixture *f = *state;
    portfwd_set_udp_idle_ms(f->pf, 150);
    for (int i = 0; i < 100 && portfwd_udp_flows(f->pf) > 0; i++)
        pump(f, 10); /* the previous test's flows go */
    assert_int_equal(portfwd_udp_flows(f->pf), 0);
    assert_int_equal(portfwd_timeout_ms(f->pf), -1);
    int a = udp_socket(NULL);
    char got[64];
    send_to_host_port(f, a, "x");
    reply_of(f, a, got, sizeof(got));
    assert_string_equal(got, "echo:x");
    assert_int_equal(portfwd_udp_flows(f->pf), 1);
    long t = portfwd_timeout_ms(f->pf);
    assert_true(t >= 0 && t <= 150);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (portfwd_udp_flows(f->pf) > 0) {
        pump(f, 1000); /* woken by the timeout, not by traffic */
        clock_gettime(CLOCK_MONOTONIC, &now);
        assert_true(now.tv_sec - start.tv_sec < 3);
    }
    /* the client can start again: a new flow */
    send_to_host_port(f, a, "y");
    reply_of(f, a, got, sizeof(got));
    assert_string_equal(got, "echo:y");
    close(a);
    portfwd_set_udp_idle_ms(f->pf, 0);
}

/* The table holds PORTFWD_MAX_FLOWS flows: one client more takes the place of the flow idle
 * longest, and is answered. */
static void test_portfwd_udp_table_is_bounded(void **state)
{
    fixture *f = *state;
    int clients[PORTFWD_MAX_FLOWS + 1];
    char got[64], want[64];
    for (int i = 0; i <= PORTFWD_MAX_FLOWS; i++) {
        clients[i] = udp_socket(NULL);
        snprintf(want, sizeof(want), "c%d", i);
        send_to_host_port(f, clients[i], want);
        pump(f, 0);
    }
    snprintf(want, sizeof(want), "echo:c%d", PORTFWD_MAX_FLOWS);
    reply_of(f, clients[PORTFWD_MAX_FLOWS], got, sizeof(got));
    assert_string_equal(got, want);
    assert_true(portfwd_udp_flows(f->pf) <= PORTFWD_MAX_FLOWS);
    for (int i = 0; i <= PORTFWD_MAX_FLOWS; i++)
        close(clients[i]);
}

/* A line of another protocol is refused, naming its key. */
static void test_portfwd_refuses_other_protocols(void **state)
{
    (void)state;
    json_t *kv cleanup_json =
        json_pack("{s:s}", "ethernet0.portForward.0", "sctp 127.0.0.1 5000 5000");
    portfwd *p = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(portfwd_open(&p, kv, &err), VIC_EINVAL);
    assert_null(p);
    assert_non_null(strstr(err->msg, "ethernet0.portForward.0"));
    assert_non_null(strstr(err->msg, "tcp|udp HOST_IP HOST_PORT GUEST_PORT"));
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_portfwd: needs root (setns), skipped\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_portfwd_udp_replies_reach_their_client),
        cmocka_unit_test(test_portfwd_udp_flows_expire_when_idle),
        cmocka_unit_test(test_portfwd_udp_table_is_bounded),
        cmocka_unit_test(test_portfwd_refuses_other_protocols),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
