#include "http.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "tlsfront.h"

#define MAX_PARAMS         8
#define DEFAULT_MAX_BODY   (1024 * 1024)
#define STREAM_BACKLOG_MAX (4 * 1024 * 1024)

/* ------------------------------------------------------------------------------------------ */
/* small name/value lists */

typedef struct nv {
    char *name;
    char *value;
} nv;

typedef struct nv_list {
    nv *items;
    size_t n;
    size_t cap;
} nv_list;

static void nv_add(nv_list *l, const char *name, const char *value)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = xrealloc(l->items, l->cap * sizeof(nv));
    }
    l->items[l->n].name = xstrdup(name);
    l->items[l->n].value = xstrdup(value ? value : "");
    l->n++;
}

static const char *nv_find(const nv_list *l, const char *name, int nocase)
{
    for (size_t i = 0; i < l->n; i++)
        if ((nocase ? strcasecmp : strcmp)(l->items[i].name, name) == 0)
            return l->items[i].value;
    return NULL;
}

static void nv_free(nv_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].name);
        free(l->items[i].value);
    }
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------------------------------------ */
/* requests */

struct vic_http_req {
    char *method;
    char *path;
    nv_list headers;
    nv_list query;
    nv_list params;
    char *body;
    size_t body_len;
    int body_fd; /* a spooled archive body, or -1 */
    json_t *json;
    char remote[64];
    int tls;
    int client_cert;
    char principal[128];
    char principal_kind[32];
    const vic_http_route *route;
};

vic_http_req *vic_http_req_new(const char *method, const char *path)
{
    vic_http_req *req = xzalloc(sizeof(*req));
    req->method = xstrdup(method);
    req->path = xstrdup(path);
    req->body_fd = -1;
    snprintf(req->remote, sizeof(req->remote), "-");
    return req;
}

void vic_http_req_free(vic_http_req *req)
{
    if (req == NULL)
        return;
    free(req->method);
    free(req->path);
    nv_free(&req->headers);
    nv_free(&req->query);
    nv_free(&req->params);
    if (req->body) {
        /* Bodies can carry passwords: do not leave them in freed memory. */
        explicit_bzero(req->body, req->body_len);
        free(req->body);
    }
    if (req->body_fd >= 0)
        close(req->body_fd);
    json_decref(req->json);
    free(req);
}

void vic_http_req_add_header(vic_http_req *req, const char *name, const char *value)
{
    nv_add(&req->headers, name, value);
}

void vic_http_req_add_query(vic_http_req *req, const char *name, const char *value)
{
    nv_add(&req->query, name, value);
}

void vic_http_req_set_body(vic_http_req *req, const char *body, size_t len)
{
    free(req->body);
    req->body = xmalloc(len + 1);
    if (len)
        memcpy(req->body, body, len);
    req->body[len] = '\0';
    req->body_len = len;
}

void vic_http_req_set_path(vic_http_req *req, const char *path)
{
    free(req->path);
    req->path = xstrdup(path);
}

void vic_http_req_set_remote(vic_http_req *req, const char *addr)
{
    snprintf(req->remote, sizeof(req->remote), "%s", addr ? addr : "-");
}

void vic_http_req_set_tls(vic_http_req *req, int tls)
{
    req->tls = tls;
}

const char *vic_http_req_method(const vic_http_req *req)
{
    return req->method;
}

const char *vic_http_req_path(const vic_http_req *req)
{
    return req->path;
}

const char *vic_http_req_param(const vic_http_req *req, const char *name)
{
    return nv_find(&req->params, name, 0);
}

const char *vic_http_req_query(const vic_http_req *req, const char *name)
{
    return nv_find(&req->query, name, 0);
}

const char *vic_http_req_query_nth(const vic_http_req *req, const char *name, size_t n)
{
    for (size_t i = 0; i < req->query.n; i++)
        if (strcmp(req->query.items[i].name, name) == 0 && n-- == 0)
            return req->query.items[i].value;
    return NULL;
}

const char *vic_http_req_header(const vic_http_req *req, const char *name)
{
    return nv_find(&req->headers, name, 1);
}

const char *vic_http_req_cookie(const vic_http_req *req, const char *name, char *buf, size_t cap)
{
    const char *h = vic_http_req_header(req, "Cookie");
    size_t nlen = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t len = end ? (size_t)(end - h) : strlen(h);
        if (len > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
            size_t vlen = len - nlen - 1;
            if (vlen + 1 > cap)
                return NULL;
            memcpy(buf, h + nlen + 1, vlen);
            buf[vlen] = '\0';
            return buf;
        }
        h = end;
    }
    return NULL;
}

int vic_http_req_body_fd(const vic_http_req *req)
{
    return req->body_fd;
}

void vic_http_req_set_body_fd(vic_http_req *req, int fd)
{
    if (req->body_fd >= 0)
        close(req->body_fd);
    req->body_fd = fd;
}

const char *vic_http_req_body(const vic_http_req *req, size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body;
}

json_t *vic_http_req_json(const vic_http_req *req)
{
    return req->json;
}

int vic_http_req_client_cert(const vic_http_req *req)
{
    return req->client_cert;
}

const char *vic_http_req_remote(const vic_http_req *req)
{
    return req->remote;
}

int vic_http_req_is_tls(const vic_http_req *req)
{
    return req->tls;
}

void vic_http_req_set_principal(vic_http_req *req, const char *name, const char *kind)
{
    snprintf(req->principal, sizeof(req->principal), "%s", name ? name : "");
    snprintf(req->principal_kind, sizeof(req->principal_kind), "%s", kind ? kind : "");
}

const char *vic_http_req_principal(const vic_http_req *req)
{
    return req->principal[0] ? req->principal : NULL;
}

const char *vic_http_req_principal_kind(const vic_http_req *req)
{
    return req->principal_kind[0] ? req->principal_kind : NULL;
}

const vic_http_route *vic_http_req_route(const vic_http_req *req)
{
    return req->route;
}

/* ------------------------------------------------------------------------------------------ */
/* streams */

struct vic_http_stream {
    pthread_mutex_t lock;
    pthread_cond_t drained; /* the client took bytes from the backlog (write_wait) */
    int refs;
    vic_buf buf;
    size_t off;
    int closed;    /* producer finished, or the server is stopping */
    int gone;      /* the client's response was torn down */
    int suspended; /* the connection sleeps until data arrives */
    int fd;        /* its socket while it sleeps: a sleeping connection is not watched */
    int peer_left; /* the client hung up while the connection slept */
    struct MHD_Connection *conn;
    vic_http_server *server;
    vic_http_stream *next; /* in the server's list of open streams */
};

static vic_http_stream *stream_new(void)
{
    vic_http_stream *s = xzalloc(sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->drained, NULL);
    s->refs = 2; /* the producer's and the response's */
    s->fd = -1;
    return s;
}

/* Wakes the connection if it sleeps; called with s->lock held. */
static void stream_wake_locked(vic_http_stream *s)
{
    if (s->suspended && s->conn) {
        s->suspended = 0;
        MHD_resume_connection(s->conn);
    }
}

/* Queues data and then tail (tail_len may be 0) as one piece. */
static int stream_append(vic_http_stream *s, const void *data, size_t len, const void *tail,
                         size_t tail_len, vic_err **err)
{
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    if (s->gone || s->closed)
        rc = vic_err_set(err, VIC_EUNAVAIL, "stream closed");
    else if (s->buf.len - s->off + len + tail_len > STREAM_BACKLOG_MAX)
        rc = vic_err_set(err, VIC_ELIMIT, "client is not reading the stream");
    else {
        vic_buf_append(&s->buf, data, len);
        vic_buf_append(&s->buf, tail, tail_len);
        stream_wake_locked(s);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int vic_http_stream_write(vic_http_stream *s, const void *data, size_t len, vic_err **err)
{
    return stream_append(s, data, len, NULL, 0, err);
}

int vic_http_stream_write_line(vic_http_stream *s, const char *line, size_t len, vic_err **err)
{
    return stream_append(s, line, len, "\n", 1, err);
}

int vic_http_stream_write_wait(vic_http_stream *s, const void *data, size_t len,
                               unsigned timeout_ms, vic_err **err)
{
    unsigned idle_ms = 0, limit = timeout_ms ? timeout_ms : 60000;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        size_t backlog = s->buf.len - s->off;
        if (s->gone || s->closed || s->peer_left) {
            pthread_mutex_unlock(&s->lock);
            return vic_err_set(err, VIC_EUNAVAIL, "stream closed");
        }
        if (backlog == 0 || backlog + len <= STREAM_BACKLOG_MAX) {
            vic_buf_append(&s->buf, data, len);
            stream_wake_locked(s);
            pthread_mutex_unlock(&s->lock);
            return 0;
        }
        /* wait a slice for the client to take bytes, then look at it (it may have left) */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int r = pthread_cond_timedwait(&s->drained, &s->lock, &until);
        int progressed = s->buf.len - s->off < backlog;
        pthread_mutex_unlock(&s->lock);
        idle_ms = progressed ? 0 : idle_ms + (r == 0 ? 0 : 200);
        if (idle_ms >= limit)
            return vic_err_set(err, VIC_ETIMEOUT, "client read nothing for %u ms", limit);
        if (!vic_http_stream_alive(s))
            return vic_err_set(err, VIC_EUNAVAIL, "stream closed");
    }
}

int vic_http_stream_event(vic_http_stream *s, const char *event, const char *id, const char *data,
                          vic_err **err)
{
    vic_buf b = VIC_BUF_INIT;
    if (event)
        vic_buf_appendf(&b, "event: %s\n", event);
    if (id)
        vic_buf_appendf(&b, "id: %s\n", id);
    const char *p = data ? data : "";
    do {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        vic_buf_append(&b, "data: ", 6);
        vic_buf_append(&b, p, n);
        vic_buf_append(&b, "\n", 1);
        p = nl ? nl + 1 : NULL;
    } while (p && *p);
    vic_buf_append(&b, "\n", 1);
    int rc = vic_http_stream_write(s, b.data, b.len, err);
    vic_buf_free(&b);
    return rc;
}

void vic_http_stream_close(vic_http_stream *s)
{
    pthread_mutex_lock(&s->lock);
    s->closed = 1;
    stream_wake_locked(s);
    pthread_mutex_unlock(&s->lock);
}

int vic_http_stream_alive(vic_http_stream *s)
{
    pthread_mutex_lock(&s->lock);
    int alive = !s->gone && !s->closed && !s->peer_left;
    /* libmicrohttpd does not watch a sleeping connection's socket: look at it here, and
     * wake the connection of a client that hung up so that it is torn down */
    if (alive && s->suspended && s->conn && s->fd >= 0) {
        struct pollfd pf = {s->fd, POLLRDHUP, 0};
        if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            s->peer_left = 1;
            alive = 0;
            stream_wake_locked(s);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return alive;
}

void vic_http_stream_release(vic_http_stream *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    int left = --s->refs;
    pthread_mutex_unlock(&s->lock);
    if (left > 0)
        return;
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->drained);
    vic_buf_free(&s->buf);
    free(s);
}

/* ------------------------------------------------------------------------------------------ */
/* hijacked connections */

struct vic_http_hijack {
    atomic_int refs; /* the connection state's and, once handed over, the thread's */
    atomic_int started;
    vic_http_hijack_fn fn;
    void (*drop)(void *payload);
    void *payload;
    char *proto;
    int fd;
    int stop_fd;
    char *extra;
    size_t extra_len;
    struct MHD_UpgradeResponseHandle *urh;
    vic_http_server *server;
    vic_http_hijack *next; /* in the server's list of running hijacks */
};

int vic_http_hijack_fd(const vic_http_hijack *h)
{
    return h->fd;
}

const char *vic_http_hijack_extra(const vic_http_hijack *h, size_t *len)
{
    if (len)
        *len = h->extra_len;
    return h->extra;
}

int vic_http_hijack_stop_fd(const vic_http_hijack *h)
{
    return h->stop_fd;
}

/* Drops a reference; the last one frees, and drops the payload when fn never ran. */
static void hijack_release(vic_http_hijack *h)
{
    if (h == NULL || atomic_fetch_sub(&h->refs, 1) > 1)
        return;
    if (!atomic_load(&h->started) && h->drop)
        h->drop(h->payload);
    free(h->proto);
    free(h->extra);
    free(h);
}

/* ------------------------------------------------------------------------------------------ */
/* responses */

struct vic_http_resp {
    int status;
    char *content_type;
    char *body;
    size_t body_len;
    nv_list headers;
    vic_http_stream *stream; /* the response's reference, until handed to MHD */
    vic_http_hijack *hijack; /* likewise */
};

vic_http_resp *vic_http_resp_new(void)
{
    vic_http_resp *r = xzalloc(sizeof(*r));
    r->status = 204;
    return r;
}

static void resp_clear_body(vic_http_resp *r)
{
    free(r->body);
    free(r->content_type);
    r->body = NULL;
    r->content_type = NULL;
    r->body_len = 0;
}

void vic_http_resp_free(vic_http_resp *r)
{
    if (r == NULL)
        return;
    resp_clear_body(r);
    nv_free(&r->headers);
    if (r->stream) {
        pthread_mutex_lock(&r->stream->lock);
        r->stream->gone = 1;
        pthread_mutex_unlock(&r->stream->lock);
        vic_http_stream_release(r->stream);
    }
    hijack_release(r->hijack);
    free(r);
}

void vic_http_resp_hijack(vic_http_resp *r, const char *proto, const char *content_type,
                          vic_http_hijack_fn fn, void (*drop)(void *payload), void *payload)
{
    resp_clear_body(r);
    hijack_release(r->hijack);
    r->status = 101;
    if (content_type)
        r->content_type = xstrdup(content_type);
    vic_http_hijack *h = xzalloc(sizeof(*h));
    atomic_init(&h->refs, 1);
    atomic_init(&h->started, 0);
    h->fn = fn;
    h->drop = drop;
    h->payload = payload;
    h->proto = xstrdup(proto ? proto : "tcp");
    h->fd = h->stop_fd = -1;
    r->hijack = h;
}

int vic_http_resp_is_hijack(const vic_http_resp *r)
{
    return r->hijack != NULL;
}

int vic_http_resp_run_hijack(vic_http_resp *r, int fd)
{
    vic_http_hijack *h = r->hijack;
    if (h == NULL)
        return -1;
    r->hijack = NULL;
    atomic_store(&h->started, 1);
    h->fd = fd;
    h->fn(h, h->payload);
    hijack_release(h);
    return 0;
}

void vic_http_resp_json(vic_http_resp *r, int status, json_t *body)
{
    resp_clear_body(r);
    r->status = status;
    if (body) {
        r->body = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        if (r->body == NULL)
            r->body = xstrdup("null");
        r->body_len = strlen(r->body);
        r->content_type = xstrdup("application/json");
        json_decref(body);
    }
}

void vic_http_resp_text(vic_http_resp *r, int status, const char *content_type, const char *body,
                        size_t len)
{
    resp_clear_body(r);
    r->status = status;
    r->content_type = xstrdup(content_type ? content_type : "text/plain; charset=utf-8");
    r->body = xmalloc(len + 1);
    if (len)
        memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->body_len = len;
}

void vic_http_resp_error(vic_http_resp *r, int status, const char *msg)
{
    json_t *body = json_object();
    json_object_set_new(body, "message", vic_json_string_lossy(msg));
    vic_http_resp_json(r, status, body);
}

void vic_http_resp_header(vic_http_resp *r, const char *name, const char *value)
{
    nv_add(&r->headers, name, value);
}

int vic_http_resp_status(const vic_http_resp *r)
{
    return r->status;
}

const char *vic_http_resp_body(const vic_http_resp *r, size_t *len)
{
    if (len)
        *len = r->body_len;
    return r->body;
}

const char *vic_http_resp_content_type(const vic_http_resp *r)
{
    return r->content_type;
}

const char *vic_http_resp_get_header(const vic_http_resp *r, const char *name)
{
    return nv_find(&r->headers, name, 1);
}

vic_http_stream *vic_http_resp_stream(vic_http_resp *r, int status, const char *content_type)
{
    resp_clear_body(r);
    r->status = status;
    r->content_type = xstrdup(content_type);
    if (r->stream) { /* a second call replaces the first stream */
        vic_http_stream_close(r->stream);
        vic_http_stream_release(r->stream);
    }
    r->stream = stream_new();
    return r->stream;
}

/* ------------------------------------------------------------------------------------------ */
/* routing */

typedef struct compiled_route {
    const vic_http_route *route;
    char **segs;
    size_t n_segs;
} compiled_route;

struct vic_http_router {
    compiled_route *routes;
    size_t n;
    vic_http_auth_fn auth;
    void *payload;
    size_t max_body;
    vic_http_prepare_fn prepare;
};

void vic_http_router_set_prepare(vic_http_router *r, vic_http_prepare_fn fn)
{
    r->prepare = fn;
}

static void free_segs(char **segs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(segs[i]);
    free(segs);
}

int vic_http_router_new(vic_http_router **out, const vic_http_route *routes, size_t n_routes,
                        vic_http_auth_fn auth, void *payload, size_t max_body, vic_err **err)
{
    *out = NULL;
    vic_http_router *r = xzalloc(sizeof(*r));
    r->routes = xcalloc(n_routes, sizeof(compiled_route));
    r->auth = auth;
    r->payload = payload;
    r->max_body = max_body ? max_body : DEFAULT_MAX_BODY;
    for (size_t i = 0; i < n_routes; i++) {
        const vic_http_route *rt = &routes[i];
        compiled_route *c = &r->routes[r->n++];
        c->route = rt;
        if (rt->pattern == NULL || rt->pattern[0] != '/' || rt->handler == NULL ||
            rt->method == NULL) {
            vic_http_router_free(r);
            return vic_err_set(err, VIC_EINVAL,
                               "route %zu: needs a method, a handler and a "
                               "pattern starting with /",
                               i);
        }
        if (!(rt->flags & VIC_ROUTE_PUBLIC) && auth == NULL) {
            vic_http_router_free(r);
            return vic_err_set(err, VIC_EINVAL,
                               "route %s %s needs authentication but no auth "
                               "callback was given",
                               rt->method, rt->pattern);
        }
        const char *p = rt->pattern + 1;
        while (*p) {
            const char *slash = strchr(p, '/');
            size_t len = slash ? (size_t)(slash - p) : strlen(p);
            c->segs = xrealloc(c->segs, (c->n_segs + 1) * sizeof(char *));
            c->segs[c->n_segs++] = xstrndup(p, len);
            p += len;
            if (*p == '/')
                p++;
        }
    }
    *out = r;
    return 0;
}

void vic_http_router_free(vic_http_router *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        free_segs(r->routes[i].segs, r->routes[i].n_segs);
    free(r->routes);
    free(r);
}

/* Matches path against c; on success stores parameters in params (when given). */
static int route_match(const compiled_route *c, const char *path, nv_list *params)
{
    if (path[0] != '/')
        return 0;
    const char *p = path + 1;
    for (size_t i = 0; i < c->n_segs; i++) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        const char *seg = c->segs[i];
        size_t slen = strlen(seg);
        if (slen > 2 && seg[0] == '{' && seg[slen - 1] == '}') {
            if (len == 0)
                goto nomatch;
            if (params) {
                char *name = xstrndup(seg + 1, slen - 2);
                char *value = xstrndup(p, len);
                nv_add(params, name, value);
                free(name);
                free(value);
            }
        } else if (len != slen || memcmp(p, seg, len) != 0) {
            goto nomatch;
        }
        p += len;
        if (i + 1 < c->n_segs) {
            if (*p != '/')
                goto nomatch;
            p++;
        }
    }
    if (*p == '\0')
        return 1;
nomatch:
    if (params)
        nv_free(params);
    return 0;
}

static int method_is(const char *have, const char *want)
{
    if (strcmp(have, want) == 0)
        return 1;
    return strcmp(have, "HEAD") == 0 && strcmp(want, "GET") == 0;
}

static int content_type_is_json(const char *ct)
{
    if (ct == NULL)
        return 0;
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* A request line we will route: an upper-case method token, and a path that is valid UTF-8
 * without control characters (handlers may echo parameters into JSON and logs). */
static const char *request_line_problem(const vic_http_req *req)
{
    size_t mlen = strlen(req->method);
    if (mlen == 0 || mlen > 16)
        return "malformed request method";
    for (const char *m = req->method; *m; m++)
        if (*m < 'A' || *m > 'Z')
            return "malformed request method";
    const unsigned char *p = (const unsigned char *)req->path;
    while (*p) {
        unsigned c = *p;
        size_t n = c < 0x80             ? 0
                   : (c & 0xe0) == 0xc0 ? 1
                   : (c & 0xf0) == 0xe0 ? 2
                   : (c & 0xf8) == 0xf0 ? 3
                                        : 4;
        if (n == 4 || (n == 1 && c < 0xc2) || (n == 3 && c > 0xf4))
            return "request path is not valid UTF-8";
        if (c < 0x20 || c == 0x7f)
            return "request path contains control characters";
        unsigned cp = n ? c & (0x3f >> n) : c;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return "request path is not valid UTF-8";
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return "request path is not valid UTF-8";
        p += n + 1;
    }
    return NULL;
}

static void error_response(vic_http_req *req, vic_http_resp *resp, vic_err *e)
{
    int status = vic_err_http_status(e ? e->code : VIC_EINTERNAL);
    const char *msg = e ? e->msg : "internal error";
    if (status >= 500)
        vic_log(VIC_LOG_ERROR, "event=request_failed method=%s path=%s code=%s msg=\"%s\"",
                req->method, req->path, vic_err_code_name(e ? e->code : VIC_EINTERNAL), msg);
    vic_http_resp_error(resp, status, msg);
    const char *authz = vic_http_req_header(req, "Authorization");
    if (status == 401 && authz && strncasecmp(authz, "Bearer ", 7) == 0)
        vic_http_resp_header(resp, "WWW-Authenticate",
                             "Bearer realm=\"vic\", error=\"invalid_token\"");
    else if (status == 401 && vic_http_req_header(req, "X-Requested-With") == NULL)
        vic_http_resp_header(resp, "WWW-Authenticate", "Basic realm=\"vic\", charset=\"UTF-8\"");
}

void vic_http_dispatch(vic_http_router *r, vic_http_req *req, vic_http_resp *resp)
{
    vic_err *err cleanup_err = NULL;
    const compiled_route *found = NULL;
    vic_buf allow = VIC_BUF_INIT;

    const char *bad = request_line_problem(req);
    if (bad) {
        vic_http_resp_error(resp, 400, bad);
        return;
    }
    if (r->prepare && r->prepare(req, r->payload, &err) < 0) {
        error_response(req, resp, err);
        return;
    }
    for (size_t i = 0; i < r->n && found == NULL; i++) {
        const compiled_route *c = &r->routes[i];
        if (!route_match(c, req->path, NULL))
            continue;
        if (method_is(req->method, c->route->method))
            found = c;
        else if (allow.data == NULL || strstr(allow.data, c->route->method) == NULL)
            vic_buf_appendf(&allow, "%s%s", allow.len ? ", " : "", c->route->method);
    }
    if (found == NULL) {
        if (allow.len) {
            vic_err_set(&err, VIC_EMETHOD, "method %s is not allowed on %s (allowed: %s)",
                        req->method, req->path, allow.data);
            error_response(req, resp, err);
            vic_http_resp_header(resp, "Allow", allow.data);
        } else {
            vic_err_set(&err, VIC_ENOTFOUND, "no such resource: %s", req->path);
            error_response(req, resp, err);
        }
        vic_buf_free(&allow);
        return;
    }
    vic_buf_free(&allow);
    route_match(found, req->path, &req->params);
    req->route = found->route;
    unsigned flags = found->route->flags;

    if (req->body_len > r->max_body) {
        vic_err_set(&err, VIC_ETOOBIG, "request body of %zu bytes exceeds the limit of %zu",
                    req->body_len, r->max_body);
        error_response(req, resp, err);
        return;
    }
    if (!(flags & VIC_ROUTE_PUBLIC) && r->auth(req, found->route, r->payload, &err) < 0) {
        error_response(req, resp, err);
        return;
    }
    if (flags & (VIC_ROUTE_JSON | VIC_ROUTE_JSON_OPTIONAL)) {
        if (req->body_len == 0 && (flags & VIC_ROUTE_JSON_OPTIONAL)) {
            /* no body: the handler sees json == NULL */
        } else if (req->body_len == 0) {
            vic_err_set(&err, VIC_EINVAL, "request body required (application/json)");
            error_response(req, resp, err);
            return;
        } else if (!content_type_is_json(vic_http_req_header(req, "Content-Type"))) {
            const char *ct = vic_http_req_header(req, "Content-Type");
            vic_err_set(&err, VIC_EMEDIATYPE,
                        "content type %s%s%s is not supported; send "
                        "application/json",
                        ct ? "\"" : "", ct ? ct : "(none)", ct ? "\"" : "");
            error_response(req, resp, err);
            return;
        } else if (vic_json_parse(&req->json, req->body, req->body_len, r->max_body, &err) < 0) {
            error_response(req, resp, err);
            return;
        }
    }
    if (found->route->handler(req, resp, r->payload, &err) < 0) {
        if (resp->stream) {
            vic_http_stream_close(resp->stream);
            vic_http_stream_release(resp->stream);
            resp->stream = NULL;
        }
        hijack_release(resp->hijack);
        resp->hijack = NULL;
        nv_free(&resp->headers);
        error_response(req, resp, err);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* the server (libmicrohttpd) */

typedef struct pending_conn {
    int fd;
    int verified;
} pending_conn;

struct vic_http_server {
    struct MHD_Daemon *d;
    vic_http_router *router;
    size_t max_body;
    size_t max_archive_body;
    uint16_t port;
    int tls;
    int half_close; /* TLS through the front (tlsfront.h) */
    int verify_clients;
    int clients_optional;
    vic_tls_front *front;  /* with TLS: OpenSSL in front of a plain-HTTP daemon */
    pending_conn *pending; /* connections handed to the daemon, not yet started (srv->lock) */
    size_t n_pending;
    MHD_socket quiesced_fd;
    atomic_uint in_flight;
    atomic_int stopping;
    pthread_mutex_t lock;
    vic_http_stream *streams;
    vic_http_hijack *hijacks; /* running on their threads */
    atomic_uint n_hijacks;
    int stop_pipe[2]; /* the read end turns readable when the server stops */
};

typedef struct conn_state {
    vic_http_hijack *hijack; /* a hijack answer queued on this connection */
    int hijacked;            /* and handed over */
    vic_buf body;
    int spool_fd; /* an archive body spooled to a temporary file, or -1 */
    int spool;    /* this request's body is an archive to spool */
    size_t spooled;
    int too_big;
    int answered;
    int status;
    struct timespec start;
} conn_state;

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    vic_http_stream *s = cls;
    pthread_mutex_lock(&s->lock);
    if (s->off < s->buf.len) {
        size_t n = s->buf.len - s->off;
        if (n > max)
            n = max;
        memcpy(buf, s->buf.data + s->off, n);
        s->off += n;
        if (s->off == s->buf.len)
            s->off = s->buf.len = 0;
        pthread_cond_broadcast(&s->drained);
        pthread_mutex_unlock(&s->lock);
        return (ssize_t)n;
    }
    if (s->peer_left) {
        pthread_mutex_unlock(&s->lock);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (s->closed) {
        pthread_mutex_unlock(&s->lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    /* Nothing to send: sleep until a writer wakes the connection. */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    s->fd = ci ? ci->connect_fd : -1;
    s->suspended = 1;
    MHD_suspend_connection(s->conn);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void stream_unlink(vic_http_stream *s)
{
    vic_http_server *srv = s->server;
    if (srv == NULL)
        return;
    pthread_mutex_lock(&srv->lock);
    for (vic_http_stream **pp = &srv->streams; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&srv->lock);
}

static void stream_free_cb(void *cls)
{
    vic_http_stream *s = cls;
    stream_unlink(s);
    pthread_mutex_lock(&s->lock);
    s->gone = 1;
    s->conn = NULL;
    pthread_mutex_unlock(&s->lock);
    vic_http_stream_release(s);
}

static enum MHD_Result collect_nv(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    nv_add(cls, key, value);
    return MHD_YES;
}

/* Defaults for every response; a handler that set Cache-Control or Content-Security-Policy
 * itself (static assets, pages) keeps its own, since two policies would both be enforced. */
static void add_common_headers(struct MHD_Response *r, const vic_http_resp *resp, int tls)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (vic_http_resp_get_header(resp, "Cache-Control") == NULL)
        MHD_add_response_header(r, "Cache-Control", "no-store");
    if (vic_http_resp_get_header(resp, "Content-Security-Policy") == NULL)
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; frame-ancestors 'none'");
    if (tls)
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
}

static enum MHD_Result queue_resp(vic_http_server *srv, struct MHD_Connection *conn,
                                  vic_http_resp *resp, int close_conn)
{
    struct MHD_Response *r;
    vic_http_stream *st = resp->stream;
    if (st) {
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_reader, st,
                                              stream_free_cb);
        if (r == NULL)
            return MHD_NO;
        pthread_mutex_lock(&st->lock);
        st->conn = conn;
        st->server = srv;
        pthread_mutex_unlock(&st->lock);
        pthread_mutex_lock(&srv->lock);
        st->next = srv->streams;
        srv->streams = st;
        int stopping = atomic_load(&srv->stopping);
        pthread_mutex_unlock(&srv->lock);
        if (stopping)
            vic_http_stream_close(st);
        resp->stream = NULL; /* MHD owns the response's reference now */
        MHD_add_response_header(r, "X-Accel-Buffering", "no");
    } else {
        r = MHD_create_response_from_buffer(resp->body_len, resp->body ? resp->body : (void *)"",
                                            resp->body ? MHD_RESPMEM_MUST_FREE
                                                       : MHD_RESPMEM_PERSISTENT);
        if (r == NULL)
            return MHD_NO;
        resp->body = NULL;
    }
    if (resp->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    add_common_headers(r, resp, srv->tls);
    for (size_t i = 0; i < resp->headers.n; i++)
        MHD_add_response_header(r, resp->headers.items[i].name, resp->headers.items[i].value);
    if (close_conn)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static void *hijack_thread(void *arg)
{
    vic_http_hijack *h = arg;
    vic_http_server *srv = h->server;
    int fl = fcntl(h->fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK))
        fcntl(h->fd, F_SETFL, fl & ~O_NONBLOCK);
    h->fn(h, h->payload);
    pthread_mutex_lock(&srv->lock);
    for (vic_http_hijack **pp = &srv->hijacks; *pp; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    }
    pthread_mutex_unlock(&srv->lock);
    MHD_upgrade_action(h->urh, MHD_UPGRADE_ACTION_CLOSE);
    atomic_fetch_sub(&srv->n_hijacks, 1);
    hijack_release(h);
    return NULL;
}

/* MHD sent the 101: the connection is ours, on a thread of its own. */
static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    (void)conn;
    vic_http_hijack *h = cls;
    vic_http_server *srv = h->server;
    conn_state *cs = con_cls;
    if (cs && !cs->hijacked) { /* counted with the hijacks from now on, not the requests */
        cs->hijacked = 1;
        atomic_fetch_sub(&srv->in_flight, 1);
    }
    h->fd = sock;
    h->urh = urh;
    h->stop_fd = srv->stop_pipe[0];
    if (extra_in_size) {
        h->extra = xmalloc(extra_in_size);
        memcpy(h->extra, extra_in, extra_in_size);
        h->extra_len = extra_in_size;
    }
    atomic_fetch_add(&h->refs, 1); /* the thread's */
    atomic_store(&h->started, 1);
    atomic_fetch_add(&srv->n_hijacks, 1);
    pthread_mutex_lock(&srv->lock);
    h->next = srv->hijacks;
    srv->hijacks = h;
    if (atomic_load(&srv->stopping))
        shutdown(sock, SHUT_RDWR);
    pthread_mutex_unlock(&srv->lock);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, hijack_thread, h) != 0) {
        vic_log(VIC_LOG_ERROR, "event=hijack_failed msg=\"cannot start a thread\"");
        shutdown(sock, SHUT_RDWR);
        atomic_fetch_add(&h->refs, 1);
        hijack_thread(h); /* runs fn on a dead socket: it ends at once */
    }
    pthread_attr_destroy(&attr);
}

static enum MHD_Result queue_hijack(vic_http_server *srv, struct MHD_Connection *conn,
                                    conn_state *cs, vic_http_resp *resp)
{
    vic_http_hijack *h = resp->hijack;
    resp->hijack = NULL;
    cs->hijack = h; /* the connection state's reference: on_completed drops it */
    h->server = srv;
    struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgrade, h);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, h->proto); /* MHD adds Connection */
    if (resp->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    add_common_headers(r, resp, srv->tls);
    for (size_t i = 0; i < resp->headers.n; i++)
        MHD_add_response_header(r, resp->headers.items[i].name, resp->headers.items[i].value);
    /* an interactive session may sit idle for as long as its user likes */
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result queue_error(vic_http_server *srv, struct MHD_Connection *conn,
                                   conn_state *cs, int status, const char *msg)
{
    vic_http_resp *resp = vic_http_resp_new();
    vic_http_resp_error(resp, status, msg);
    cs->status = status;
    cs->answered = 1;
    enum MHD_Result ret = queue_resp(srv, conn, resp, 1);
    vic_http_resp_free(resp);
    return ret;
}

static void remote_addr(struct MHD_Connection *conn, char *buf, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, cap, "-");
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)cap);
}

/* A connection's socket context, when its TLS client presented a certificate that chains
 * to the configured client CA. */
static char verified_mark;

/* Whether the TLS peer presented a certificate that chains to the configured client CA. */
static int client_verified(const vic_http_server *srv, struct MHD_Connection *conn)
{
    if (srv->half_close) { /* the front checked it at the handshake */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return ci && ci->socket_context == &verified_mark;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL)
        return 0;
    gnutls_session_t session = (gnutls_session_t)ci->tls_session;
    unsigned n = 0;
    if (gnutls_certificate_get_peers(session, &n) == NULL || n == 0)
        return 0;
    unsigned status = 0;
    return gnutls_certificate_verify_peers2(session, &status) == GNUTLS_E_SUCCESS && status == 0;
}

/* The TLS front hands a connection's plaintext end to the daemon; what its handshake said
 * about the client waits in srv->pending until the daemon starts the connection. */
static int hand_to_daemon(void *payload, int fd, const struct sockaddr *sa, socklen_t salen,
                          int verified)
{
    vic_http_server *srv = payload;
    pthread_mutex_lock(&srv->lock);
    size_t i = 0;
    while (i < srv->n_pending && srv->pending[i].fd != fd) /* a number reused: replaced */
        i++;
    if (i == srv->n_pending)
        srv->pending = xrealloc(srv->pending, ++srv->n_pending * sizeof(*srv->pending));
    srv->pending[i] = (pending_conn){fd, verified};
    pthread_mutex_unlock(&srv->lock);
    if (MHD_add_connection(srv->d, fd, sa, salen) == MHD_YES)
        return 0;
    pthread_mutex_lock(&srv->lock);
    for (i = 0; i < srv->n_pending; i++) {
        if (srv->pending[i].fd == fd) {
            srv->pending[i] = srv->pending[--srv->n_pending];
            break;
        }
    }
    pthread_mutex_unlock(&srv->lock);
    return -1;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    vic_http_server *srv = cls;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return;
    pthread_mutex_lock(&srv->lock);
    for (size_t i = 0; i < srv->n_pending; i++) {
        if (srv->pending[i].fd == ci->connect_fd) {
            *socket_context = srv->pending[i].verified ? &verified_mark : NULL;
            srv->pending[i] = srv->pending[--srv->n_pending];
            break;
        }
    }
    pthread_mutex_unlock(&srv->lock);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    vic_http_server *srv = cls;
    conn_state *cs = *con_cls;

    if (cs == NULL) {
        cs = xzalloc(sizeof(*cs));
        cs->spool_fd = -1;
        clock_gettime(CLOCK_MONOTONIC, &cs->start);
        *con_cls = cs;
        atomic_fetch_add(&srv->in_flight, 1);
        if (atomic_load(&srv->stopping))
            return queue_error(srv, conn, cs, 503, "server is shutting down");
        if (srv->verify_clients && !srv->clients_optional && !client_verified(srv, conn))
            return queue_error(srv, conn, cs, 401,
                               "a client certificate signed by this server's CA is required "
                               "(docker --tlsverify with the VCH's cert.pem and key.pem)");
        const char *ct =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        cs->spool = srv->max_archive_body && ct &&
                    strncasecmp(ct, "application/x-tar", strlen("application/x-tar")) == 0;
        size_t limit = cs->spool ? srv->max_archive_body : srv->max_body;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno == 0 && end != cl && n > limit) {
                char msg[128];
                snprintf(msg, sizeof(msg), "request body of %llu bytes exceeds the limit of %zu", n,
                         limit);
                return queue_error(srv, conn, cs, 413, msg);
            }
        }
        return MHD_YES;
    }
    if (cs->answered) {
        *upload_data_size = 0; /* discard the rest of a refused body */
        return MHD_YES;
    }
    if (*upload_data_size && cs->spool) {
        if (cs->spooled + *upload_data_size > srv->max_archive_body) {
            char msg[128];
            snprintf(msg, sizeof(msg), "archive exceeds the limit of %zu bytes",
                     srv->max_archive_body);
            *upload_data_size = 0;
            return queue_error(srv, conn, cs, 413, msg);
        }
        if (cs->spool_fd < 0) {
            const char *tmp = getenv("TMPDIR");
            cs->spool_fd = open(tmp && *tmp ? tmp : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        }
        size_t n = *upload_data_size;
        const char *p = upload_data;
        while (n > 0 && cs->spool_fd >= 0) {
            ssize_t w = write(cs->spool_fd, p, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            p += w;
            n -= (size_t)w;
        }
        *upload_data_size = 0;
        if (n > 0 || cs->spool_fd < 0)
            return queue_error(srv, conn, cs, 507, "cannot keep the archive: no temporary space");
        cs->spooled += (size_t)(p - upload_data);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (cs->body.len + *upload_data_size > srv->max_body) {
            char msg[128];
            snprintf(msg, sizeof(msg), "request body exceeds the limit of %zu bytes",
                     srv->max_body);
            vic_buf_free(&cs->body);
            *upload_data_size = 0;
            return queue_error(srv, conn, cs, 413, msg);
        }
        vic_buf_append(&cs->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }

    vic_http_req *req = vic_http_req_new(method, url);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_nv, &req->headers);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_nv, &req->query);
    remote_addr(conn, req->remote, sizeof(req->remote));
    req->tls = srv->tls;
    req->client_cert = srv->verify_clients && client_verified(srv, conn);
    if (cs->body.len) {
        req->body = cs->body.data;
        req->body_len = cs->body.len;
        cs->body.data = NULL;
        cs->body.len = cs->body.cap = 0;
    }
    if (cs->spool_fd >= 0 && lseek(cs->spool_fd, 0, SEEK_SET) == 0) {
        req->body_fd = cs->spool_fd;
        cs->spool_fd = -1;
    } else if (cs->spool) { /* an empty archive body */
        const char *tmp = getenv("TMPDIR");
        req->body_fd = open(tmp && *tmp ? tmp : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    }
    vic_http_resp *resp = vic_http_resp_new();
    vic_http_dispatch(srv->router, req, resp);
    cs->status = resp->status;
    cs->answered = 1;
    enum MHD_Result ret =
        resp->hijack ? queue_hijack(srv, conn, cs, resp) : queue_resp(srv, conn, resp, 0);
    vic_log(resp->status >= 500 ? VIC_LOG_WARN : VIC_LOG_INFO,
            "event=request method=%s path=%s status=%d user=%s remote=%s ms=%.2f", req->method,
            req->path, resp->status, req->principal[0] ? req->principal : "-", req->remote,
            ms_since(&cs->start));
    vic_http_resp_free(resp);
    vic_http_req_free(req);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    vic_http_server *srv = cls;
    conn_state *cs = *con_cls;
    if (cs == NULL)
        return;
    if (cs->body.data)
        explicit_bzero(cs->body.data, cs->body.len);
    vic_buf_free(&cs->body);
    if (cs->spool_fd >= 0)
        close(cs->spool_fd);
    hijack_release(cs->hijack);
    int counted = !cs->hijacked;
    free(cs);
    *con_cls = NULL;
    if (counted)
        atomic_fetch_sub(&srv->in_flight, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    vic_log(VIC_LOG_DEBUG, "event=mhd msg=\"%s\"", msg);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, vic_err **err)
{
    char host[64];
    const char *colon = strrchr(listen ? listen : "", ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
        return vic_err_set(err, VIC_EINVAL, "listen address \"%s\" must be IPv4:PORT",
                           listen ? listen : "");
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port < 0 || port > 65535)
        return vic_err_set(err, VIC_EINVAL, "listen address \"%s\": bad port", listen);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return vic_err_set(err, VIC_EINVAL,
                           "listen address \"%s\": \"%s\" is not an IPv4 "
                           "address",
                           listen, host);
    return 0;
}

int vic_http_listen_check(const char *listen, vic_err **err)
{
    struct sockaddr_in sa;
    return parse_listen(listen, &sa, err);
}

int vic_http_server_start(vic_http_server **out, const vic_http_config *cfg, vic_err **err)
{
    *out = NULL;
    struct sockaddr_in sa;
    int rc = parse_listen(cfg->listen, &sa, err);
    if (rc < 0)
        return rc;
    if ((cfg->tls_cert_pem == NULL) != (cfg->tls_key_pem == NULL))
        return vic_err_set(err, VIC_EINVAL, "TLS needs both a certificate and a key");

    vic_http_server *srv = xzalloc(sizeof(*srv));
    srv->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
    srv->max_archive_body = cfg->max_archive_body;
    srv->tls = cfg->tls_cert_pem != NULL;
    srv->half_close = srv->tls && cfg->tls_half_close;
    srv->quiesced_fd = MHD_INVALID_SOCKET;
    if (pipe2(srv->stop_pipe, O_CLOEXEC) < 0) {
        free(srv);
        return vic_err_set(err, VIC_EIO, "pipe: %s", strerror(errno));
    }
    pthread_mutex_init(&srv->lock, NULL);
    rc = vic_http_router_new(&srv->router, cfg->routes, cfg->n_routes, cfg->auth, cfg->payload,
                             srv->max_body, err);
    if (rc == 0)
        vic_http_router_set_prepare(srv->router, cfg->prepare);
    if (rc < 0) {
        pthread_mutex_destroy(&srv->lock);
        close(srv->stop_pipe[0]);
        close(srv->stop_pipe[1]);
        free(srv);
        return rc;
    }
    unsigned threads = cfg->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE |
                     MHD_USE_ERROR_LOG;
    /* Through the TLS front the daemon serves plain HTTP to the front, which accepts. */
    if (srv->half_close)
        flags |= MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    else if (srv->tls)
        flags |= MHD_USE_TLS;

    struct MHD_OptionItem opts[16];
    size_t n = 0;
    /* The logger first, so that messages about the other options reach it too. */
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL};
    if (!srv->half_close)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sa};
    else
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                        cfg->idle_timeout ? cfg->idle_timeout : 60, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, 4096, NULL};
    if (threads > 1)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
    if (srv->tls && !srv->half_close) {
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert_pem};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key_pem};
        if (cfg->tls_client_ca_pem)
            opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
                                                (void *)cfg->tls_client_ca_pem};
        /* TLS 1.3, and on TLS 1.2 only forward-secret key exchange (ECDHE) with AEAD
         * ciphers: no static RSA, no CBC, no SHA-1 MACs */
        opts[n++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)VIC_TLS_PRIORITIES};
    }
    if (srv->tls && cfg->tls_client_ca_pem) {
        srv->verify_clients = 1;
        srv->clients_optional = cfg->tls_client_optional;
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    srv->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    if (srv->d == NULL) {
        vic_http_router_free(srv->router);
        pthread_mutex_destroy(&srv->lock);
        close(srv->stop_pipe[0]);
        close(srv->stop_pipe[1]);
        free(srv);
        return vic_err_set(err, VIC_EIO,
                           "cannot listen on %s (address in use, not local, or "
                           "TLS material rejected)",
                           cfg->listen);
    }
    if (srv->half_close) {
        vic_tls_front_config fc = {.addr = sa,
                                   .cert_pem = cfg->tls_cert_pem,
                                   .key_pem = cfg->tls_key_pem,
                                   .client_ca_pem = cfg->tls_client_ca_pem,
                                   .hand = hand_to_daemon,
                                   .payload = srv};
        rc = vic_tls_front_start(&srv->front, &fc, err);
        if (rc < 0) {
            MHD_stop_daemon(srv->d);
            vic_http_router_free(srv->router);
            pthread_mutex_destroy(&srv->lock);
            close(srv->stop_pipe[0]);
            close(srv->stop_pipe[1]);
            free(srv);
            return vic_err_wrap(err, rc, "cannot serve TLS on %s", cfg->listen);
        }
        srv->port = vic_tls_front_port(srv->front);
    } else {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
        srv->port = di ? di->port : ntohs(sa.sin_port);
    }
    *out = srv;
    return 0;
}

uint16_t vic_http_server_port(const vic_http_server *s)
{
    return s->port;
}

unsigned vic_http_server_stop(vic_http_server *srv, unsigned drain_ms)
{
    if (srv == NULL)
        return 0;
    atomic_store(&srv->stopping, 1);
    if (srv->front)
        vic_tls_front_quiesce(srv->front); /* new clients are refused from now on */
    else
        srv->quiesced_fd = MHD_quiesce_daemon(srv->d);

    /* End open streams so that their connections finish instead of holding the drain. */
    pthread_mutex_lock(&srv->lock);
    for (vic_http_stream *s = srv->streams; s; s = s->next)
        vic_http_stream_close(s);
    /* and hijacked connections: their functions see the stop and a dead socket */
    ssize_t w = write(srv->stop_pipe[1], "x", 1);
    (void)w;
    for (vic_http_hijack *h = srv->hijacks; h; h = h->next)
        shutdown(h->fd, SHUT_RDWR);
    pthread_mutex_unlock(&srv->lock);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int shut = 0;
    while (atomic_load(&srv->in_flight) > 0 && ms_since(&t0) < drain_ms) {
        /* A long drain stops listening, so that new clients are refused instead of waiting
         * in the backlog. Not at once: each worker thread must first take the socket out of
         * its epoll set (libmicrohttpd aborts when it finds it already gone). The descriptor
         * itself may only be closed after MHD_stop_daemon. */
        if (!shut && ms_since(&t0) >= 100 && srv->quiesced_fd != MHD_INVALID_SOCKET) {
            shutdown(srv->quiesced_fd, SHUT_RDWR);
            shut = 1;
        }
        usleep(5000);
    }
    unsigned cut = atomic_load(&srv->in_flight);
    if (cut)
        vic_log(VIC_LOG_WARN, "event=drain_timeout requests_cut=%u", cut);
    /* A hijack's thread still uses the daemon (to close its connection): wait for each. */
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int warned = 0;
    while (atomic_load(&srv->n_hijacks) > 0) {
        if (!warned && ms_since(&t1) > 5000) {
            vic_log(VIC_LOG_WARN, "event=drain_hijacks_slow left=%u", atomic_load(&srv->n_hijacks));
            warned = 1;
        }
        usleep(2000);
    }

    vic_tls_front_stop(srv->front); /* no connection is handed to the daemon after it */
    MHD_stop_daemon(srv->d);
    free(srv->pending);
    if (srv->quiesced_fd != MHD_INVALID_SOCKET)
        close(srv->quiesced_fd);
    close(srv->stop_pipe[0]);
    close(srv->stop_pipe[1]);
    vic_http_router_free(srv->router);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
    return cut;
}

/* ------------------------------------------------------------------------------------------ */
/* the API description */

static int is_http_method(const char *m)
{
    static const char *const methods[] = {"get",     "put",  "post",  "delete",
                                          "options", "head", "patch", "trace"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(m, methods[i]) == 0)
            return 1;
    return 0;
}

int vic_http_routes_check_openapi(const vic_http_route *routes, size_t n, const char *openapi,
                                  vic_err **err)
{
    json_error_t je;
    json_t *doc cleanup_json = json_loads(openapi, 0, &je);
    if (doc == NULL)
        return vic_err_set(err, VIC_EINVAL, "OpenAPI document: line %d: %s", je.line, je.text);
    json_t *paths = json_object_get(doc, "paths");
    vic_buf problems = VIC_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        char m[16];
        snprintf(m, sizeof(m), "%s", routes[i].method);
        for (char *c = m; *c; c++)
            *c = (char)(*c - 'A' + 'a');
        json_t *op = json_object_get(json_object_get(paths, routes[i].pattern), m);
        if (op == NULL) {
            vic_buf_appendf(&problems, "%sroute %s %s is not documented", problems.len ? "; " : "",
                            routes[i].method, routes[i].pattern);
            continue;
        }
        json_t *sec = json_object_get(op, "security");
        int doc_public = sec && json_array_size(sec) == 0;
        if (doc_public != ((routes[i].flags & VIC_ROUTE_PUBLIC) != 0))
            vic_buf_appendf(&problems,
                            "%s%s %s: the document and the route disagree on "
                            "authentication",
                            problems.len ? "; " : "", routes[i].method, routes[i].pattern);
        if (json_object_get(op, "responses") == NULL)
            vic_buf_appendf(&problems, "%s%s %s: no responses documented", problems.len ? "; " : "",
                            routes[i].method, routes[i].pattern);
    }
    const char *path, *method;
    json_t *ops, *op;
    json_object_foreach(paths, path, ops)
    {
        json_object_foreach(ops, method, op)
        {
            if (!is_http_method(method))
                continue; /* path-level parameters, summary... */
            int served = 0;
            for (size_t i = 0; i < n && !served; i++)
                served = strcmp(routes[i].pattern, path) == 0 &&
                         strcasecmp(routes[i].method, method) == 0;
            if (!served)
                vic_buf_appendf(&problems, "%sthe document describes %s %s, which no route serves",
                                problems.len ? "; " : "", method, path);
        }
    }
    if (problems.len == 0)
        return 0;
    int rc = vic_err_set(err, VIC_EINVAL, "%s", problems.data);
    vic_buf_free(&problems);
    return rc;
}
