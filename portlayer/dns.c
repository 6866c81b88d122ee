#include "portlayer/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/dns.h"
#include "lib/log.h"
#include "lib/mem.h"

#define MAX_SOCKS 64
#define TTL       5

typedef struct dns_sock {
    int fd;
    char network[72];
    char gateway[20];
} dns_sock;

struct pl_dns {
    pl *port;
    pl_networks *nets;
    int port_no;
    pthread_t thread;
    int stop_pipe[2];
    dns_sock socks[MAX_SOCKS];
    size_t n_socks;
    pthread_mutex_t lock; /* guards synced_gen */
    pthread_cond_t synced;
    unsigned long synced_gen;
    json_t *cache; /* running containers, as pl_container_list gives them */
    struct timespec cache_at;
};

static int64_t ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static int open_sock(const char *addr, int port_no)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port_no)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0)
        return -1;
    if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Opens a socket for each bridge network not served yet, closes those of removed ones. */
static void sync_socks(pl_dns *d)
{
    json_t *list cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    if (pl_network_list(d->nets, &list, &err) < 0)
        return;
    for (size_t i = 0; i < d->n_socks;) { /* drop what no longer exists */
        int found = 0;
        size_t j;
        json_t *n;
        json_array_foreach(list, j, n)
        {
            found |=
                strcmp(json_string_value(json_object_get(n, "name")), d->socks[i].network) == 0 &&
                strcmp(json_string_value(json_object_get(n, "gateway")), d->socks[i].gateway) == 0;
        }
        if (found) {
            i++;
            continue;
        }
        close(d->socks[i].fd);
        d->socks[i] = d->socks[--d->n_socks];
    }
    size_t j;
    json_t *n;
    json_array_foreach(list, j, n)
    {
        const char *name = json_string_value(json_object_get(n, "name"));
        const char *gw = json_string_value(json_object_get(n, "gateway"));
        if (gw == NULL || gw[0] == '\0' || d->n_socks == MAX_SOCKS)
            continue;
        int have = 0;
        for (size_t i = 0; i < d->n_socks; i++)
            have |= strcmp(d->socks[i].network, name) == 0;
        if (have)
            continue;
        int fd = open_sock(gw, d->port_no);
        if (fd < 0) {
            vic_log(VIC_LOG_WARN, "event=dns_bind_failed network=%s addr=%s:%d msg=\"%s\"", name,
                    gw, d->port_no, strerror(errno));
            continue;
        }
        dns_sock *s = &d->socks[d->n_socks++];
        s->fd = fd;
        snprintf(s->network, sizeof(s->network), "%s", name);
        snprintf(s->gateway, sizeof(s->gateway), "%s", gw);
        vic_log(VIC_LOG_INFO, "event=dns_serving network=%s addr=%s:%d", name, gw, d->port_no);
    }
}

static int name_is(const char *have, const char *want)
{
    return have && *have && strcasecmp(have, want) == 0;
}

int pl_dns_lookup(const json_t *containers, const char *network, const char *name, uint32_t *addrs,
                  size_t cap)
{
    size_t n = 0, i;
    int found = 0;
    json_t *c;
    json_array_foreach(containers, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "id"));
        size_t k;
        json_t *net;
        json_array_foreach(json_object_get(c, "networks"), k, net)
        {
            if (strcmp(json_string_value(json_object_get(net, "name")) ?: "", network) != 0)
                continue;
            int hit = name_is(json_string_value(json_object_get(c, "name")), name) ||
                      name_is(json_string_value(
                                  json_object_get(json_object_get(c, "config"), "hostname")),
                              name) ||
                      (id && strlen(name) == 12 && strncasecmp(id, name, 12) == 0);
            size_t a;
            json_t *alias;
            json_array_foreach(json_object_get(net, "aliases"), a, alias)
            {
                hit |= name_is(json_string_value(alias), name);
            }
            struct in_addr ip;
            if (!hit ||
                inet_pton(AF_INET, json_string_value(json_object_get(net, "ip")) ?: "", &ip) != 1)
                continue;
            found = 1;
            if (n < cap)
                addrs[n++] = ip.s_addr;
        }
    }
    return found ? (int)n : -1;
}

static void answer(pl_dns *d, dns_sock *s)
{
    uint8_t buf[VIC_DNS_MAX_MSG], out[VIC_DNS_MAX_MSG];
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    ssize_t len = recvfrom(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
    if (len <= 0)
        return;
    vic_dns_query q;
    int rc = vic_dns_parse_query(buf, (size_t)len, &q);
    if (rc < 0)
        return;
    uint32_t addrs[8];
    size_t n = 0;
    if (rc == 0 && q.qclass != VIC_DNS_CLASS_IN) {
        rc = VIC_DNS_REFUSED;
    } else if (rc == 0) {
        if (d->cache == NULL || ms_since(&d->cache_at) > 1000) {
            json_t *list = NULL;
            vic_err *err = NULL;
            if (pl_container_list(d->port, false, &list, &err) == 0) {
                json_decref(d->cache);
                d->cache = list;
                clock_gettime(CLOCK_MONOTONIC, &d->cache_at);
            }
            vic_err_free(&err);
        }
        int hits = pl_dns_lookup(d->cache, s->network, q.name, addrs, 8);
        if (hits < 0)
            rc = strchr(q.name, '.') ? VIC_DNS_REFUSED : VIC_DNS_NXDOMAIN;
        else if (q.qtype == VIC_DNS_TYPE_A || q.qtype == 255)
            n = (size_t)hits;
        /* another type of a name we hold: no data, no error */
    }
    size_t olen = vic_dns_answer(&q, buf, rc, addrs, n, TTL, out, sizeof(out));
    if (olen > 0)
        sendto(s->fd, out, olen, 0, (struct sockaddr *)&from, flen);
}

static void *serve(void *arg)
{
    pl_dns *d = arg;
    struct timespec synced = {0};
    for (;;) {
        if (synced.tv_sec == 0 || ms_since(&synced) >= 1000) {
            sync_socks(d);
            clock_gettime(CLOCK_MONOTONIC, &synced);
        }
        struct pollfd pf[MAX_SOCKS + 1];
        pf[0] = (struct pollfd){.fd = d->stop_pipe[0], .events = POLLIN};
        for (size_t i = 0; i < d->n_socks; i++)
            pf[i + 1] = (struct pollfd){.fd = d->socks[i].fd, .events = POLLIN};
        int n = poll(pf, d->n_socks + 1, 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (pf[0].revents) {
            char cmd = 'x';
            if (read(d->stop_pipe[0], &cmd, 1) != 1 || cmd == 'x')
                break;
            sync_socks(d); /* a network was created: serve it before its first container */
            clock_gettime(CLOCK_MONOTONIC, &synced);
            /* and a container joined or left one: the next answer reads them again */
            json_decref(d->cache);
            d->cache = NULL;
            pthread_mutex_lock(&d->lock);
            d->synced_gen++;
            pthread_cond_broadcast(&d->synced);
            pthread_mutex_unlock(&d->lock);
            continue;
        }
        for (size_t i = 0; n > 0 && i < d->n_socks; i++)
            if (pf[i + 1].revents & POLLIN)
                answer(d, &d->socks[i]);
    }
    return NULL;
}

int pl_dns_start(pl_dns **out, pl *port, pl_networks *nets, int port_no, vic_err **err)
{
    *out = NULL;
    pl_dns *d = xzalloc(sizeof(*d));
    d->port = port;
    d->nets = nets;
    d->port_no = port_no;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->synced, NULL);
    if (pipe2(d->stop_pipe, O_CLOEXEC) < 0) {
        free(d);
        return vic_err_sys(err, VIC_EIO, errno, "start the name server");
    }
    int rc = pthread_create(&d->thread, NULL, serve, d);
    if (rc != 0) {
        close(d->stop_pipe[0]);
        close(d->stop_pipe[1]);
        free(d);
        return vic_err_sys(err, VIC_EIO, rc, "start the name server");
    }
    *out = d;
    return 0;
}

void pl_dns_refresh(pl_dns *d)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    unsigned long gen = d->synced_gen;
    if (write(d->stop_pipe[1], "r", 1) == 1) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;
        while (d->synced_gen == gen && pthread_cond_timedwait(&d->synced, &d->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&d->lock);
}

void pl_dns_stop(pl_dns *d)
{
    if (d == NULL)
        return;
    if (write(d->stop_pipe[1], "x", 1) < 0)
        vic_log(VIC_LOG_WARN, "event=dns_stop_failed msg=\"%s\"", strerror(errno));
    pthread_join(d->thread, NULL);
    for (size_t i = 0; i < d->n_socks; i++)
        close(d->socks[i].fd);
    close(d->stop_pipe[0]);
    close(d->stop_pipe[1]);
    json_decref(d->cache);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->synced);
    free(d);
}
