#include "hypervisor/local/portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"

#define PF_BUF 65536

typedef struct pf_rule {
    int fd;
    int udp;
    int guest_port;
    char what[64]; /* "127.77.0.2:8080/udp" for logs */
} pf_rule;

/* A UDP client of a rule: its datagrams leave from a socket of ours in the guest, connected
 * to the guest's port, and what comes back on that socket goes to the client. */
typedef struct pf_flow {
    int fd; /* -1: the slot is free */
    size_t rule;
    struct sockaddr_in client;
    int64_t last_ms; /* when a datagram last went either way (monotonic) */
} pf_flow;

typedef struct pf_conn {
    int a, b;       /* the client's socket, and ours in the guest */
    int connecting; /* b's connect is under way */
    int a_eof, b_eof;
    size_t ab_len, ba_len; /* bytes waiting to go a->b and b->a */
    char ab[PF_BUF], ba[PF_BUF];
} pf_conn;

enum { SLOT_LISTEN, SLOT_CONN_A, SLOT_CONN_B, SLOT_UDP_RULE, SLOT_UDP_FLOW };

typedef struct pf_slot {
    int kind; /* SLOT_* */
    size_t index;
} pf_slot;

#define PF_MAX_SLOTS (PORTFWD_MAX_RULES + 2 * PORTFWD_MAX_CONNS + PORTFWD_MAX_FLOWS)

struct portfwd {
    pf_rule rules[PORTFWD_MAX_RULES];
    size_t n_rules;
    pf_conn *conns[PORTFWD_MAX_CONNS];
    pf_flow flows[PORTFWD_MAX_FLOWS];
    long udp_idle_ms;
    int guest_net, host_net;
    pf_slot slots[PF_MAX_SLOTS];
    size_t n_slots;
    char dgram[PF_BUF];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void portfwd_free(portfwd *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_rules; i++)
        close(p->rules[i].fd);
    for (size_t i = 0; i < PORTFWD_MAX_CONNS; i++) {
        if (p->conns[i]) {
            close(p->conns[i]->a);
            close(p->conns[i]->b);
            free(p->conns[i]);
        }
    }
    for (size_t i = 0; i < PORTFWD_MAX_FLOWS; i++)
        if (p->flows[i].fd >= 0)
            close(p->flows[i].fd);
    if (p->guest_net >= 0)
        close(p->guest_net);
    if (p->host_net >= 0)
        close(p->host_net);
    free(p);
}

static int parse_line(const char *key, const char *line, struct sockaddr_in *sa, int *guest_port,
                      int *udp, vic_err **err)
{
    char proto[8], ip[32];
    int host_port = 0, gp = 0, used = 0;
    if (sscanf(line, "%7s %31s %d %d%n", proto, ip, &host_port, &gp, &used) != 4 ||
        line[used] != '\0' || (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0) ||
        host_port < 1 || host_port > 65535 || gp < 1 || gp > 65535)
        return vic_err_set(err, VIC_EINVAL,
                           "%s: \"%.64s\" is not \"tcp|udp HOST_IP HOST_PORT GUEST_PORT\"", key,
                           line);
    *udp = strcmp(proto, "udp") == 0;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)host_port);
    if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1)
        return vic_err_set(err, VIC_EINVAL, "%s: %.32s is not an IPv4 address", key, ip);
    *guest_port = gp;
    return 0;
}

int portfwd_open(portfwd **out, const json_t *kv, vic_err **err)
{
    *out = NULL;
    portfwd *p = NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)kv, k, v)
    {
        const char *dot = strstr(k, ".portForward.");
        if (strncmp(k, "ethernet", 8) != 0 || dot == NULL || !json_is_string(v))
            continue;
        if (p == NULL) {
            p = xzalloc(sizeof(*p));
            p->guest_net = p->host_net = -1;
            p->udp_idle_ms = PORTFWD_UDP_IDLE_MS;
            for (size_t i = 0; i < PORTFWD_MAX_FLOWS; i++)
                p->flows[i].fd = -1;
        }
        if (p->n_rules == PORTFWD_MAX_RULES) {
            portfwd_free(p);
            return vic_err_set(err, VIC_EINVAL, "more than %d port forwards", PORTFWD_MAX_RULES);
        }
        struct sockaddr_in sa;
        int gp = 0, udp = 0;
        if (parse_line(k, json_string_value(v), &sa, &gp, &udp, err) < 0) {
            portfwd_free(p);
            return VIC_EINVAL;
        }
        pf_rule *r = &p->rules[p->n_rules];
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
        snprintf(r->what, sizeof(r->what), "%s:%d%s", ip, ntohs(sa.sin_port), udp ? "/udp" : "");
        r->guest_port = gp;
        r->udp = udp;
        r->fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (r->fd >= 0 && !udp)
            setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            (!udp && listen(r->fd, 64) < 0)) {
            int e = errno;
            if (r->fd >= 0)
                close(r->fd);
            int rc = e == EADDRINUSE
                         ? vic_err_set(err, VIC_ECONFLICT,
                                       "Bind for %s failed: port is already allocated", r->what)
                         : vic_err_sys(err, VIC_EIO, e, "publish %s", r->what);
            portfwd_free(p); /* r is p's */
            return rc;
        }
        p->n_rules++;
    }
    *out = p;
    return 0;
}

int portfwd_attach(portfwd *p, pid_t guest, vic_err **err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/ns/net", (long)guest);
    p->guest_net = open(path, O_RDONLY | O_CLOEXEC);
    p->host_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (p->guest_net < 0 || p->host_net < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open the network namespaces for port forwards");
    return 0;
}

static void conn_close(portfwd *p, size_t i)
{
    pf_conn *c = p->conns[i];
    close(c->a);
    close(c->b);
    free(c);
    p->conns[i] = NULL;
}

/* A socket of the guest's network namespace (type SOCK_STREAM or SOCK_DGRAM), connecting to
 * its 127.0.0.1:port. */
static int guest_connect(portfwd *p, int type, int port)
{
    if (setns(p->guest_net, CLONE_NEWNET) < 0)
        return -1;
    int s = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int e = errno;
    if (setns(p->host_net, CLONE_NEWNET) < 0) {
        /* the monitor cannot stay in the guest's namespace: that would be a bug to notice */
        vic_log(VIC_LOG_ERROR, "event=portfwd_setns_back_failed msg=\"%s\"", strerror(errno));
        abort();
    }
    if (s < 0) {
        errno = e;
        return -1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        close(s);
        return -1;
    }
    return s;
}

static void accept_one(portfwd *p, pf_rule *r)
{
    int a = accept4(r->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (a < 0)
        return;
    size_t slot = PORTFWD_MAX_CONNS;
    for (size_t i = 0; i < PORTFWD_MAX_CONNS && slot == PORTFWD_MAX_CONNS; i++)
        if (p->conns[i] == NULL)
            slot = i;
    if (slot == PORTFWD_MAX_CONNS || p->guest_net < 0) {
        vic_log(VIC_LOG_WARN, "event=portfwd_refused port=%s reason=\"%s\"", r->what,
                p->guest_net < 0 ? "guest not attached" : "too many connections");
        close(a);
        return;
    }
    int b = guest_connect(p, SOCK_STREAM, r->guest_port);
    if (b < 0) {
        close(a);
        return;
    }
    pf_conn *c = xzalloc(sizeof(*c));
    c->a = a;
    c->b = b;
    c->connecting = 1;
    p->conns[slot] = c;
}

/* ---- UDP ---- */

static void flow_close(pf_flow *f)
{
    close(f->fd);
    f->fd = -1;
}

/* The flow of client on rule ri: the one there is, or a new one (in a free slot, else in
 * the slot of the flow idle longest); NULL when none can be made. */
static pf_flow *flow_for(portfwd *p, size_t ri, const struct sockaddr_in *client, int64_t now)
{
    pf_flow *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < PORTFWD_MAX_FLOWS; i++) {
        pf_flow *f = &p->flows[i];
        if (f->fd < 0) {
            if (free_slot == NULL)
                free_slot = f;
            continue;
        }
        if (f->rule == ri && f->client.sin_port == client->sin_port &&
            f->client.sin_addr.s_addr == client->sin_addr.s_addr)
            return f;
        if (oldest == NULL || f->last_ms < oldest->last_ms)
            oldest = f;
    }
    if (p->guest_net < 0)
        return NULL;
    int fd = guest_connect(p, SOCK_DGRAM, p->rules[ri].guest_port);
    if (fd < 0) {
        vic_log(VIC_LOG_WARN, "event=portfwd_refused port=%s reason=\"%s\"", p->rules[ri].what,
                strerror(errno));
        return NULL;
    }
    pf_flow *f = free_slot;
    if (f == NULL) { /* the table is full: the flow idle longest gives way */
        vic_log(VIC_LOG_DEBUG, "event=portfwd_flow_evicted port=%s", p->rules[oldest->rule].what);
        flow_close(oldest);
        f = oldest;
    }
    *f = (pf_flow){.fd = fd, .rule = ri, .client = *client, .last_ms = now};
    return f;
}

/* Datagrams from the rule's clients, each into its flow (a few at a time: the other
 * sockets get their turn). */
static void udp_from_clients(portfwd *p, size_t ri, int64_t now)
{
    for (int k = 0; k < 64; k++) {
        struct sockaddr_in client;
        socklen_t cl = sizeof(client);
        ssize_t n = recvfrom(p->rules[ri].fd, p->dgram, sizeof(p->dgram), MSG_DONTWAIT,
                             (struct sockaddr *)&client, &cl);
        if (n < 0)
            return;
        pf_flow *f = flow_for(p, ri, &client, now);
        if (f == NULL)
            continue;
        /* a guest port nobody listens on answers with an error at a later send: the
         * datagram is lost, as it would be on a network */
        if (send(f->fd, p->dgram, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
            f->last_ms = now;
    }
}

/* Replies of the guest on a flow, back to its client from the rule's address. */
static void udp_from_guest(portfwd *p, pf_flow *f, int64_t now)
{
    for (int k = 0; k < 64; k++) {
        ssize_t n = recv(f->fd, p->dgram, sizeof(p->dgram), MSG_DONTWAIT);
        if (n < 0)
            return; /* EAGAIN, or the guest port's ICMP error: the flow stays */
        if (sendto(p->rules[f->rule].fd, p->dgram, (size_t)n, MSG_DONTWAIT,
                   (struct sockaddr *)&f->client, sizeof(f->client)) >= 0)
            f->last_ms = now;
    }
}

/* Forgets the flows idle for udp_idle_ms. */
static void udp_expire(portfwd *p, int64_t now)
{
    for (size_t i = 0; i < PORTFWD_MAX_FLOWS; i++)
        if (p->flows[i].fd >= 0 && now - p->flows[i].last_ms >= p->udp_idle_ms)
            flow_close(&p->flows[i]);
}

void portfwd_set_udp_idle_ms(portfwd *p, long ms)
{
    if (p)
        p->udp_idle_ms = ms > 0 ? ms : PORTFWD_UDP_IDLE_MS;
}

size_t portfwd_udp_flows(const portfwd *p)
{
    size_t n = 0;
    for (size_t i = 0; p && i < PORTFWD_MAX_FLOWS; i++)
        n += p->flows[i].fd >= 0;
    return n;
}

long portfwd_timeout_ms(const portfwd *p)
{
    if (p == NULL)
        return -1;
    int64_t first = -1;
    for (size_t i = 0; i < PORTFWD_MAX_FLOWS; i++)
        if (p->flows[i].fd >= 0 && (first < 0 || p->flows[i].last_ms < first))
            first = p->flows[i].last_ms;
    if (first < 0)
        return -1;
    int64_t left = first + p->udp_idle_ms - now_ms();
    return left > 0 ? (long)left : 0;
}

size_t portfwd_poll_max(const portfwd *p)
{
    return p ? PF_MAX_SLOTS : 0;
}

size_t portfwd_poll_fill(portfwd *p, struct pollfd *pf)
{
    if (p == NULL)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < p->n_rules; i++) {
        pf[n] = (struct pollfd){p->rules[i].fd, POLLIN, 0};
        p->slots[n++] = (pf_slot){p->rules[i].udp ? SLOT_UDP_RULE : SLOT_LISTEN, i};
    }
    for (size_t i = 0; i < PORTFWD_MAX_FLOWS; i++) {
        if (p->flows[i].fd < 0)
            continue;
        pf[n] = (struct pollfd){p->flows[i].fd, POLLIN, 0};
        p->slots[n++] = (pf_slot){SLOT_UDP_FLOW, i};
    }
    for (size_t i = 0; i < PORTFWD_MAX_CONNS; i++) {
        pf_conn *c = p->conns[i];
        if (c == NULL)
            continue;
        short ae = (short)((!c->a_eof && c->ab_len < PF_BUF && !c->connecting ? POLLIN : 0) |
                           (c->ba_len ? POLLOUT : 0));
        short be = (short)(c->connecting ? POLLOUT
                                         : ((!c->b_eof && c->ba_len < PF_BUF ? POLLIN : 0) |
                                            (c->ab_len ? POLLOUT : 0)));
        /* a side with nothing to wait for is left out (a negative fd), so that a hang-up
         * it reports cannot keep the loop spinning while the other side finishes */
        pf[n] = (struct pollfd){ae ? c->a : -1, ae, 0};
        p->slots[n++] = (pf_slot){SLOT_CONN_A, i};
        pf[n] = (struct pollfd){be ? c->b : -1, be, 0};
        p->slots[n++] = (pf_slot){SLOT_CONN_B, i};
    }
    p->n_slots = n;
    return n;
}

/* Moves what `from` has into buf (up to PF_BUF); 1 at its end, -1 on an error. */
static int fill(int from, char *buf, size_t *len)
{
    ssize_t r = read(from, buf + *len, PF_BUF - *len);
    if (r > 0) {
        *len += (size_t)r;
        return 0;
    }
    if (r == 0)
        return 1;
    return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

static int drain(int to, char *buf, size_t *len)
{
    ssize_t w = send(to, buf, *len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    memmove(buf, buf + w, *len - (size_t)w);
    *len -= (size_t)w;
    return 0;
}

static void conn_step(portfwd *p, size_t i, short a_rev, short b_rev)
{
    pf_conn *c = p->conns[i];
    if (c->connecting) {
        if (!(b_rev & (POLLOUT | POLLERR | POLLHUP)))
            return;
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(c->b, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
            conn_close(p, i); /* nothing listens in the guest: the client sees its end */
            return;
        }
        c->connecting = 0;
        return;
    }
    int bad = (a_rev & (POLLERR | POLLNVAL)) || (b_rev & (POLLERR | POLLNVAL));
    if ((a_rev & (POLLIN | POLLHUP | POLLERR)) && !c->a_eof) {
        int r = fill(c->a, c->ab, &c->ab_len);
        bad |= r < 0;
        c->a_eof = r == 1;
    }
    if ((b_rev & (POLLIN | POLLHUP | POLLERR)) && !c->b_eof) {
        int r = fill(c->b, c->ba, &c->ba_len);
        bad |= r < 0;
        c->b_eof = r == 1;
    }
    if (c->ab_len)
        bad |= drain(c->b, c->ab, &c->ab_len) < 0;
    if (c->ba_len)
        bad |= drain(c->a, c->ba, &c->ba_len) < 0;
    /* a side that ended, once its bytes are through, ends the other side's input */
    if (c->a_eof == 1 && c->ab_len == 0) {
        shutdown(c->b, SHUT_WR);
        c->a_eof = 2;
    }
    if (c->b_eof == 1 && c->ba_len == 0) {
        shutdown(c->a, SHUT_WR);
        c->b_eof = 2;
    }
    if (bad || (c->a_eof == 2 && c->b_eof == 2))
        conn_close(p, i);
}

void portfwd_poll_handle(portfwd *p, const struct pollfd *pf, size_t n)
{
    if (p == NULL)
        return;
    if (n > p->n_slots)
        n = p->n_slots;
    int64_t now = now_ms();
    for (size_t k = 0; k < n; k++) {
        const pf_slot *s = &p->slots[k];
        if (s->kind == SLOT_LISTEN) {
            if (pf[k].revents & POLLIN)
                accept_one(p, &p->rules[s->index]);
        } else if (s->kind == SLOT_UDP_RULE) {
            if (pf[k].revents & (POLLIN | POLLERR))
                udp_from_clients(p, s->index, now);
        } else if (s->kind == SLOT_UDP_FLOW) {
            /* a flow replaced since the fill (evicted for a new client) waits for the next */
            if ((pf[k].revents & (POLLIN | POLLERR)) && p->flows[s->index].fd == pf[k].fd)
                udp_from_guest(p, &p->flows[s->index], now);
        } else if (s->kind == SLOT_CONN_A && k + 1 < n && p->conns[s->index]) {
            /* a conn's two entries are adjacent: step it once with both */
            conn_step(p, s->index, pf[k].revents, pf[k + 1].revents);
            k++;
        }
    }
    udp_expire(p, now);
}
