#include "httpc.h"

#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "mem.h"

#define MAX_ANSWER (64 * 1024 * 1024)

#define RESTART_NAP_MIN_MS 5   /* the first pause between connect probes */
#define RESTART_NAP_MAX_MS 100 /* the longest */

struct vic_httpc {
    char *base;
    char *auth_header;
    char *component;          /* who serves base, for errors; NULL: none named */
    unsigned restart_wait_ms; /* how long a refused call waits for the server; 0: not */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void vic_curl_global_init(void)
{
    pthread_once(&curl_once, curl_init_once);
}

int vic_httpc_new(vic_httpc **out, const char *base_url, const char *bearer, vic_err **err)
{
    *out = NULL;
    if (base_url == NULL || (strncmp(base_url, "http://", 7) && strncmp(base_url, "https://", 8)))
        return vic_err_set(err, VIC_EINVAL, "\"%s\" is not an http(s) URL",
                           base_url ? base_url : "");
    vic_curl_global_init();
    vic_httpc *c = xzalloc(sizeof(*c));
    c->base = xstrdup(base_url);
    size_t n = strlen(c->base);
    if (n && c->base[n - 1] == '/')
        c->base[n - 1] = '\0';
    if (bearer)
        c->auth_header = xasprintf("Authorization: Bearer %s", bearer);
    *out = c;
    return 0;
}

void vic_httpc_set_restart_wait(vic_httpc *c, const char *component, unsigned wait_ms)
{
    free(c->component);
    c->component = component ? xstrdup(component) : NULL;
    c->restart_wait_ms = wait_ms;
}

void vic_httpc_free(vic_httpc *c)
{
    if (c == NULL)
        return;
    free(c->base);
    free(c->component);
    vic_free_secret(c->auth_header);
    free(c);
}

/* ---- riding out a restart of the server ---- */

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The host and port of base ("http://h:p/..."; "[v6]:p"; the scheme's port by default). */
static void base_host_port(const char *base, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *rest = strncmp(base, "https://", 8) == 0 ? base + 8 : base + 7;
    snprintf(port, pcap, "%s", strncmp(base, "https://", 8) == 0 ? "443" : "80");
    size_t n = strcspn(rest, "/");
    char hp[256];
    snprintf(hp, sizeof(hp), "%.*s", (int)(n < sizeof(hp) ? n : sizeof(hp) - 1), rest);
    char *colon = strrchr(hp, ':');
    char *bracket = strrchr(hp, ']');
    if (colon && (bracket == NULL || colon > bracket)) {
        snprintf(port, pcap, "%s", colon + 1);
        *colon = '\0';
    }
    if (hp[0] == '[') {
        hp[strcspn(hp, "]")] = '\0';
        snprintf(host, hcap, "%s", hp + 1);
    } else {
        snprintf(host, hcap, "%s", hp);
    }
}

/* Whether a TCP connection to the server can be made now (within ms). */
static int connectable(const vic_httpc *c, int ms)
{
    char host[256], port[16];
    base_host_port(c->base, host, sizeof(host), port, sizeof(port));
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0)
        return 0;
    int ok = 0;
    for (struct addrinfo *a = ai; a && !ok; a = a->ai_next) {
        int s = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s < 0)
            continue;
        if (connect(s, a->ai_addr, a->ai_addrlen) == 0) {
            ok = 1;
        } else if (errno == EINPROGRESS) {
            struct pollfd pf = {s, POLLOUT, 0};
            int soerr = 0;
            socklen_t len = sizeof(soerr);
            ok = poll(&pf, 1, ms > 0 ? ms : 1) == 1 &&
                 getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0;
        }
        close(s);
    }
    freeaddrinfo(ai);
    return ok;
}

/* A call's wait for its server to come back (see vic_httpc_set_restart_wait). */
typedef struct restart_wait {
    int64_t deadline_ms; /* 0 until the first failure */
    int gave_up;         /* the server did not come back in time */
} restart_wait;

static int idempotent(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* After a call failed with cc before an answer (refused: nothing was sent; otherwise the
 * connection broke after the request went, and delivered says whether any of the answer
 * reached the caller): whether it may be made again, once the server accepts connections.
 * Waits for that, polling a connect with a growing pause, until the deadline. */
static int restart_retry(const vic_httpc *c, restart_wait *w, int refused, const char *method,
                         int delivered)
{
    if (c->restart_wait_ms == 0 || w->gave_up)
        return 0;
    if (!refused && (!idempotent(method) || delivered))
        return 0;
    int64_t now = mono_ms();
    if (w->deadline_ms == 0)
        w->deadline_ms = now + c->restart_wait_ms;
    for (unsigned nap = RESTART_NAP_MIN_MS;;
         nap = nap * 2 > RESTART_NAP_MAX_MS ? RESTART_NAP_MAX_MS : nap * 2) {
        int64_t left = w->deadline_ms - mono_ms();
        if (left <= 0)
            break;
        if (connectable(c, (int)(left < 200 ? left : 200)))
            return 1;
        left = w->deadline_ms - mono_ms();
        if (left <= 0)
            break;
        int64_t ms = (int64_t)nap < left ? (int64_t)nap : left;
        struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
        nanosleep(&t, NULL);
    }
    w->gave_up = 1;
    return 0;
}

static int refused(CURLcode cc)
{
    return cc == CURLE_COULDNT_CONNECT;
}

static int broken(CURLcode cc)
{
    return cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
           cc == CURLE_PARTIAL_FILE;
}

/* The error of a call that got no (whole) answer: with a component named, it says which
 * component went away and whether to try again. */
static int transport_error(const vic_httpc *c, const restart_wait *w, vic_err **err, CURLcode cc,
                           const char *method, const char *url)
{
    int code = cc == CURLE_OPERATION_TIMEDOUT ? VIC_ETIMEOUT : VIC_EUPSTREAM;
    const char *why = curl_easy_strerror(cc);
    if (c->component == NULL || code == VIC_ETIMEOUT)
        return vic_err_set(err, code, "%s %s: %s", method, url, why);
    if (refused(cc) && w->gave_up)
        return vic_err_set(err, code,
                           "%s is restarting (no connection for %u.%u s: %s %s: %s); try again",
                           c->component, c->restart_wait_ms / 1000, c->restart_wait_ms % 1000 / 100,
                           method, url, why);
    if (refused(cc))
        return vic_err_set(err, code, "%s is not accepting connections (%s %s: %s); try again",
                           c->component, method, url, why);
    if (broken(cc))
        return vic_err_set(err, code,
                           "%s went away during %s %s (%s): the request may or may not have "
                           "taken effect",
                           c->component, method, url, why);
    return vic_err_set(err, code, "%s: %s %s: %s", c->component, method, url, why);
}

int vic_httpc_status_code(long status)
{
    switch (status) {
    case 400:
        return VIC_EINVAL;
    case 401:
        return VIC_EAUTH;
    case 403:
        return VIC_EFORBIDDEN;
    case 404:
        return VIC_ENOTFOUND;
    case 405:
        return VIC_EMETHOD;
    case 409:
        return VIC_ECONFLICT;
    case 413:
        return VIC_ETOOBIG;
    case 415:
        return VIC_EMEDIATYPE;
    case 429:
        return VIC_ELIMIT;
    case 501:
        return VIC_EUNSUPPORTED;
    case 503:
        return VIC_EUNAVAIL;
    case 504:
        return VIC_ETIMEOUT;
    default:
        return status >= 500 ? VIC_EUPSTREAM : VIC_EINTERNAL;
    }
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    vic_buf *b = ud;
    if (b->len + size * n > MAX_ANSWER)
        return 0; /* stops the transfer: an answer this large is not one of ours */
    vic_buf_append(b, p, size * n);
    return size * n;
}

int vic_httpc_json(vic_httpc *c, const char *method, const char *path, const json_t *body,
                   unsigned timeout_ms, json_t **out, vic_err **err)
{
    *out = NULL;
    CURL *h = curl_easy_init();
    if (h == NULL)
        return vic_err_set(err, VIC_EINTERNAL, "curl_easy_init failed");
    cleanup_free char *url = xasprintf("%s%s", c->base, path);
    cleanup_free char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *hdrs = NULL;
    if (c->auth_header)
        hdrs = curl_slist_append(hdrs, c->auth_header);
    if (payload)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    vic_buf answer = VIC_BUF_INIT;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms ? timeout_ms : 30000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (payload)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    restart_wait w = {0};
    CURLcode cc;
    long status = 0;
    for (;;) {
        cc = curl_easy_perform(h);
        status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        /* the caller sees nothing of an answer that broke off: a GET may go again */
        if (cc == CURLE_OK || !restart_retry(c, &w, refused(cc), method, !broken(cc)))
            break;
        answer.len = 0;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    int rc = 0;
    if (cc != CURLE_OK) {
        rc = transport_error(c, &w, err, cc, method, url);
    } else if (status < 200 || status > 299) {
        json_t *e = answer.len ? json_loadb(answer.data, answer.len, 0, NULL) : NULL;
        const char *msg = vic_json_str(e, "message");
        rc = vic_err_set(err, vic_httpc_status_code(status), "%s",
                         msg ? msg : (answer.len ? answer.data : "no message"));
        json_decref(e);
    } else if (answer.len) {
        json_error_t je;
        *out = json_loadb(answer.data, answer.len, JSON_DECODE_ANY, &je);
        if (*out == NULL)
            rc = vic_err_set(err, VIC_EUPSTREAM, "%s %s: malformed answer: %s", method, url,
                             je.text);
    }
    vic_buf_free(&answer);
    return rc;
}

typedef struct lines {
    vic_buf pending;
    vic_buf error_body; /* kept whole when the answer is not a 2xx */
    CURL *h;
    vic_httpc_line_fn fn;
    void *payload;
    int stopped;
    int delivered; /* a line went to fn */
} lines;

static size_t on_lines(char *p, size_t size, size_t n, void *ud)
{
    lines *l = ud;
    long status = 0;
    curl_easy_getinfo(l->h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)
        return collect(p, size, n, &l->error_body);
    vic_buf_append(&l->pending, p, size * n);
    char *start = l->pending.data, *nl;
    while ((nl = memchr(start, '\n', l->pending.len - (size_t)(start - l->pending.data)))) {
        if (nl > start) {
            l->delivered = 1;
            if (l->fn(start, (size_t)(nl - start), l->payload) != 0) {
                l->stopped = 1;
                return 0;
            }
        }
        start = nl + 1;
    }
    size_t rest = l->pending.len - (size_t)(start - l->pending.data);
    memmove(l->pending.data, start, rest);
    l->pending.len = rest;
    if (rest > MAX_ANSWER)
        return 0;
    return size * n;
}

int vic_httpc_lines(vic_httpc *c, const char *method, const char *path, unsigned timeout_ms,
                    vic_httpc_line_fn fn, void *payload, vic_err **err)
{
    return vic_httpc_lines_with(c, method, path, NULL, timeout_ms, fn, payload, err);
}

int vic_httpc_lines_with(vic_httpc *c, const char *method, const char *path, const char *header,
                         unsigned timeout_ms, vic_httpc_line_fn fn, void *payload, vic_err **err)
{
    CURL *h = curl_easy_init();
    if (h == NULL)
        return vic_err_set(err, VIC_EINTERNAL, "curl_easy_init failed");
    cleanup_free char *url = xasprintf("%s%s", c->base, path);
    struct curl_slist *hdrs = NULL;
    if (c->auth_header)
        hdrs = curl_slist_append(hdrs, c->auth_header);
    if (header && !strpbrk(header, "\r\n"))
        hdrs = curl_slist_append(hdrs, header);
    lines l = {VIC_BUF_INIT, VIC_BUF_INIT, h, fn, payload, 0, 0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_lines);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &l);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms ? timeout_ms : 30000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    restart_wait w = {0};
    CURLcode cc;
    long status = 0;
    for (;;) {
        cc = curl_easy_perform(h);
        status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        /* again only while no line and no error answer has been seen */
        if (cc == CURLE_OK || l.stopped ||
            !restart_retry(c, &w, refused(cc), method,
                           !broken(cc) || status != 0 || l.delivered || l.pending.len ||
                               l.error_body.len))
            break;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    int rc = 0;
    if (status >= 200 && status <= 299 && l.pending.len && !l.stopped)
        fn(l.pending.data, l.pending.len, payload); /* a last line without its newline */
    if (l.stopped)
        rc = 0;
    else if (cc != CURLE_OK && (status < 200 || status > 299) && l.error_body.len == 0)
        rc = transport_error(c, &w, err, cc, method, url);
    else if (status < 200 || status > 299) {
        json_t *e =
            l.error_body.len ? json_loadb(l.error_body.data, l.error_body.len, 0, NULL) : NULL;
        const char *msg = vic_json_str(e, "message");
        rc = vic_err_set(err, vic_httpc_status_code(status), "%s",
                         msg ? msg : (l.error_body.len ? l.error_body.data : "no message"));
        json_decref(e);
    } else if (cc != CURLE_OK) {
        rc = transport_error(c, &w, err, cc, method, url);
    }
    vic_buf_free(&l.pending);
    vic_buf_free(&l.error_body);
    return rc;
}

typedef struct raw_call {
    CURL *h;
    int body_fd;
    vic_httpc_data_fn fn;
    void *payload;
    vic_buf error_body;
    int stopped;
    int delivered; /* some of the answer went to fn */
} raw_call;

static size_t on_raw(char *p, size_t size, size_t n, void *ud)
{
    raw_call *r = ud;
    long status = 0;
    curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)
        return collect(p, size, n, &r->error_body);
    r->delivered = 1;
    if (r->fn && r->fn(p, size * n, r->payload) != 0) {
        r->stopped = 1;
        return 0;
    }
    return size * n;
}

static size_t read_raw(char *buf, size_t size, size_t n, void *ud)
{
    raw_call *r = ud;
    for (;;) {
        ssize_t got = read(r->body_fd, buf, size * n);
        if (got < 0 && errno == EINTR)
            continue;
        return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
    }
}

int vic_httpc_raw(vic_httpc *c, const char *method, const char *path, int body_fd,
                  const char *content_type, unsigned stall_ms, vic_httpc_data_fn fn, void *payload,
                  vic_err **err)
{
    CURL *h = curl_easy_init();
    if (h == NULL)
        return vic_err_set(err, VIC_EINTERNAL, "curl_easy_init failed");
    cleanup_free char *url = xasprintf("%s%s", c->base, path);
    cleanup_free char *ct = content_type ? xasprintf("Content-Type: %s", content_type) : NULL;
    struct curl_slist *hdrs = NULL;
    if (c->auth_header)
        hdrs = curl_slist_append(hdrs, c->auth_header);
    if (ct && body_fd >= 0)
        hdrs = curl_slist_append(hdrs, ct);
    hdrs = curl_slist_append(hdrs, "Expect:"); /* send the body at once, no 100-continue */
    raw_call r = {h, body_fd, fn, payload, VIC_BUF_INIT, 0, 0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_raw);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)((stall_ms ? stall_ms : 60000) + 999) / 1000);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (body_fd >= 0) {
        struct stat st;
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_raw);
        curl_easy_setopt(h, CURLOPT_READDATA, &r);
        if (fstat(body_fd, &st) == 0 && S_ISREG(st.st_mode))
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                             (curl_off_t)(st.st_size - lseek(body_fd, 0, SEEK_CUR)));
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    restart_wait w = {0};
    CURLcode cc;
    long status = 0;
    for (;;) {
        cc = curl_easy_perform(h);
        status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        /* a refused connection read nothing of body_fd: the call may go again */
        if (cc == CURLE_OK || r.stopped ||
            !restart_retry(c, &w, refused(cc), method,
                           !broken(cc) || status != 0 || r.delivered || r.error_body.len))
            break;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    int rc = 0;
    if (r.stopped)
        rc = vic_err_set(err, VIC_EUNAVAIL, "%s %s: stopped by the receiver", method, url);
    else if (status >= 200 && status <= 299 && cc == CURLE_OK)
        rc = 0;
    else if (status < 200 || status > 299) {
        if (cc != CURLE_OK && r.error_body.len == 0 && status == 0)
            rc = transport_error(c, &w, err, cc, method, url);
        else {
            json_t *e =
                r.error_body.len ? json_loadb(r.error_body.data, r.error_body.len, 0, NULL) : NULL;
            const char *msg = vic_json_str(e, "message");
            rc = vic_err_set(err, vic_httpc_status_code(status), "%s",
                             msg ? msg : (r.error_body.len ? r.error_body.data : "no message"));
            json_decref(e);
        }
    } else {
        rc = transport_error(c, &w, err, cc, method, url);
    }
    vic_buf_free(&r.error_body);
    return rc;
}

int vic_httpc_hijack(vic_httpc *c, const char *method, const char *path, unsigned timeout_ms,
                     int *fd, vic_err **err)
{
    *fd = -1;
    if (strncmp(c->base, "http://", 7) != 0)
        return vic_err_set(err, VIC_EUNSUPPORTED, "%s: a hijack needs plain http", c->base);
    char hostport[256], host[256], port[16];
    snprintf(hostport, sizeof(hostport), "%s", c->base + 7);
    hostport[strcspn(hostport, "/")] = '\0';
    base_host_port(c->base, host, sizeof(host), port, sizeof(port));
    unsigned ms = timeout_ms ? timeout_ms : 30000;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    restart_wait rw = {0};
    int s = -1;
    for (;;) {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
        int g = getaddrinfo(host, port, &hints, &ai);
        if (g != 0)
            return vic_err_set(err, VIC_EUPSTREAM, "%s: %s", c->base, gai_strerror(g));
        s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s >= 0) {
            setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
            setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        }
        int e = s < 0 || connect(s, ai->ai_addr, ai->ai_addrlen) < 0 ? errno : 0;
        freeaddrinfo(ai);
        if (e == 0)
            break;
        if (s >= 0)
            close(s);
        s = -1;
        /* refused: nothing was sent, so the hijack may go again once the server is back */
        if (e == ECONNREFUSED && restart_retry(c, &rw, 1, method, 0))
            continue;
        if (e == ECONNREFUSED && c->component)
            return transport_error(c, &rw, err, CURLE_COULDNT_CONNECT, method, c->base);
        return vic_err_set(err, VIC_EUPSTREAM, "%s: %s", c->base, strerror(e));
    }
    cleanup_free char *req = xasprintf("%s %s HTTP/1.1\r\nHost: %s\r\n%s%sUpgrade: tcp\r\n"
                                       "Connection: Upgrade\r\nContent-Length: 0\r\n\r\n",
                                       method, path, hostport, c->auth_header ? c->auth_header : "",
                                       c->auth_header ? "\r\n" : "");
    size_t len = strlen(req);
    for (size_t off = 0; off < len;) {
        ssize_t w = send(s, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0) {
            close(s);
            return vic_err_set(err, VIC_EUPSTREAM, "%s: send: %s", c->base, strerror(errno));
        }
        off += (size_t)w;
    }
    /* the answer's head, a byte at a time: nothing of the stream behind it is read */
    char head[8192];
    size_t n = 0;
    while (n + 1 < sizeof(head) && (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0)) {
        ssize_t r = recv(s, head + n, 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n++;
    }
    head[n] = '\0';
    int status = 0;
    if (sscanf(head, "HTTP/1.%*d %d", &status) != 1 || n < 4 ||
        memcmp(head + n - 4, "\r\n\r\n", 4) != 0) {
        close(s);
        return vic_err_set(err, VIC_EUPSTREAM, "%s%s: no HTTP answer", c->base, path);
    }
    if (status == 101) {
        struct timeval none = {0, 0};
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
        *fd = s;
        return 0;
    }
    /* an error answer: its {"message"} */
    long clen = -1;
    for (char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
            clen = strtol(line + 17, NULL, 10);
    vic_buf body = VIC_BUF_INIT;
    char chunk[4096];
    while (clen < 0 || (long)body.len < clen) {
        ssize_t r = recv(s, chunk, sizeof(chunk), 0);
        if (r <= 0)
            break;
        vic_buf_append(&body, chunk, (size_t)r);
        if (body.len > 65536)
            break;
    }
    close(s);
    json_t *j = body.len ? json_loadb(body.data, body.len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(j, "message"));
    int rc = vic_err_set(err, vic_httpc_status_code(status), "%s", msg ? msg : "hijack refused");
    json_decref(j);
    vic_buf_free(&body);
    return rc;
}
