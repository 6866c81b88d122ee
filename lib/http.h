/*
 * http.h - the HTTP server every VIC-C service is built on (libmicrohttpd underneath).
 *
 * A service describes its API as a table of routes (method, pattern with {params}, handler,
 * flags). The server collects the request body (bounded), finds the route, asks the
 * service's auth callback for non-public routes, parses JSON bodies, and calls the handler.
 * Handlers do no socket I/O: they fill a vic_http_resp, or return an error which becomes
 * `{"message": ...}` with the status from vic_err_http_status(). Because dispatch is separate
 * from the network, handlers and routing are testable with vic_http_req_new() and
 * vic_http_dispatch() alone.
 *
 * Long-lived responses (server-sent events, followed logs) use vic_http_stream: the handler
 * asks for one, hands it to whatever produces data, and returns; the connection sleeps
 * (suspended, no thread held) until data is written.
 */
#ifndef VIC_HTTP_H
#define VIC_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* What every TLS server of VIC-C accepts (GnuTLS priorities; tlsfront.h holds the same
 * policy for OpenSSL): TLS 1.3, and TLS 1.2 with ECDHE key exchange and AEAD ciphers only. */
#define VIC_TLS_PRIORITIES                                                                         \
    "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"               \
    "-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE"

typedef struct vic_http_req vic_http_req;
typedef struct vic_http_resp vic_http_resp;
typedef struct vic_http_router vic_http_router;
typedef struct vic_http_server vic_http_server;
typedef struct vic_http_stream vic_http_stream;

typedef int (*vic_http_handler)(vic_http_req *req, vic_http_resp *resp, void *payload,
                                vic_err **err);

enum vic_route_flags {
    VIC_ROUTE_PUBLIC = 1 << 0, /* no authentication */
    VIC_ROUTE_JSON = 1 << 1,   /* body required, application/json, parsed before the handler */
    VIC_ROUTE_JSON_OPTIONAL = 1 << 2, /* like JSON, but an empty body is allowed */
    /* bits 16 and up are the service's own (e.g. which credentials a route takes) */
    VIC_ROUTE_SERVICE_FLAGS = 0xffff0000u,
};

typedef struct vic_http_route {
    const char *method;  /* "GET", "POST", ...; HEAD is served by GET routes */
    const char *pattern; /* "/container/target/{target}/vch/{vch-id}" */
    vic_http_handler handler;
    unsigned flags;
    const char *summary; /* one line, for logs and API docs */
} vic_http_route;

/* Decides who is calling a non-public route; records the principal with
 * vic_http_req_set_principal and returns 0, or fails (VIC_EAUTH, VIC_EFORBIDDEN, ...). */
typedef int (*vic_http_auth_fn)(vic_http_req *req, const vic_http_route *route, void *payload,
                                vic_err **err);

/* Called before routing (e.g. to strip an API version prefix from the path); a failure
 * answers the request with the error. */
typedef int (*vic_http_prepare_fn)(vic_http_req *req, void *payload, vic_err **err);

typedef struct vic_http_config {
    const char *listen;       /* "127.0.0.1:8443"; port 0 picks a free one */
    const char *tls_cert_pem; /* NULL serves plain HTTP; with it, VIC_TLS_PRIORITIES hold */
    const char *tls_key_pem;
    /* With TLS: require every client to present a certificate signed by this CA (PEM), as
     * docker --tlsverify does; requests without one are refused with 401. NULL: none asked. */
    const char *tls_client_ca_pem;
    /* With tls_client_ca_pem: accept clients without a certificate too; a handler tells the
     * two apart with vic_http_req_client_cert(). */
    int tls_client_optional;
    /* With TLS: terminate it in the TLS front (tlsfront.h, OpenSSL) instead of
     * libmicrohttpd's GnuTLS, so that a client's half-close reaches a hijacked connection as
     * the end of its input (docker attach, exec -i). Each request then takes a hop through a
     * relay thread: about half the throughput of plain libmicrohttpd TLS on small requests. */
    int tls_half_close;
    size_t max_body; /* bytes; 0 means 1 MiB */
    /* Bodies of Content-Type application/x-tar (archives, e.g. docker cp) go to an unlinked
     * temporary file instead of memory, up to this many bytes; a handler reads them through
     * vic_http_req_body_fd(). 0: archives are bodies like any other (max_body). */
    size_t max_archive_body;
    unsigned threads;      /* 0 means one per online CPU */
    unsigned idle_timeout; /* seconds a connection may sit idle; 0 means 60 */
    const vic_http_route *routes;
    size_t n_routes;
    vic_http_auth_fn auth;       /* required when any route is not public */
    void *payload;               /* passed to handlers and auth */
    vic_http_prepare_fn prepare; /* optional hook before routing */
} vic_http_config;

/* ---- server ---- */

/* Binds and starts serving. The config's strings and routes must outlive the server. */
int vic_http_server_start(vic_http_server **out, const vic_http_config *cfg, vic_err **err);

/* Checks an "IPv4:PORT" listen address without binding (for early command-line errors). */
int vic_http_listen_check(const char *listen, vic_err **err);

/* The port actually bound (useful after listening on port 0). */
uint16_t vic_http_server_port(const vic_http_server *s);

/* Stops accepting, ends open streams, waits up to drain_ms for in-flight requests to finish,
 * then stops and frees the server. Returns the number of requests cut off (0 when all
 * drained). Safe on NULL. */
unsigned vic_http_server_stop(vic_http_server *s, unsigned drain_ms);

/* ---- routing without the network ---- */

int vic_http_router_new(vic_http_router **out, const vic_http_route *routes, size_t n_routes,
                        vic_http_auth_fn auth, void *payload, size_t max_body, vic_err **err);
void vic_http_router_free(vic_http_router *r);

/* Installs a hook run on every request before routing. */
void vic_http_router_set_prepare(vic_http_router *r, vic_http_prepare_fn fn);

/* Routes req and fills resp: always produces a response, errors included. */
void vic_http_dispatch(vic_http_router *r, vic_http_req *req, vic_http_resp *resp);

/* Checks that an OpenAPI document describes exactly these routes: every route documented
 * under its pattern and method, every documented operation served, public routes (and only
 * they) with an empty "security" list. VIC_EINVAL lists every mismatch. */
int vic_http_routes_check_openapi(const vic_http_route *routes, size_t n, const char *openapi,
                                  vic_err **err);

/* ---- requests ---- */

/* A request built by hand (tests) or by the server. Body bytes are copied. */
vic_http_req *vic_http_req_new(const char *method, const char *path);
void vic_http_req_free(vic_http_req *req);
void vic_http_req_add_header(vic_http_req *req, const char *name, const char *value);
void vic_http_req_add_query(vic_http_req *req, const char *name, const char *value);
void vic_http_req_set_body(vic_http_req *req, const char *body, size_t len);
void vic_http_req_set_remote(vic_http_req *req, const char *addr);
void vic_http_req_set_tls(vic_http_req *req, int tls);

/* Replaces the path routing sees (from a prepare hook). */
void vic_http_req_set_path(vic_http_req *req, const char *path);

const char *vic_http_req_method(const vic_http_req *req);
const char *vic_http_req_path(const vic_http_req *req);
/* Path parameter from the route pattern, e.g. "vch-id"; NULL when absent. */
const char *vic_http_req_param(const vic_http_req *req, const char *name);
const char *vic_http_req_query(const vic_http_req *req, const char *name);
/* The n-th (from 0) value of a query parameter given several times (?names=a&names=b), or
 * NULL past the last. */
const char *vic_http_req_query_nth(const vic_http_req *req, const char *name, size_t n);
/* Case-insensitive header lookup; NULL when absent. */
const char *vic_http_req_header(const vic_http_req *req, const char *name);
/* Value of cookie name from the Cookie header, copied into buf; NULL when absent. */
const char *vic_http_req_cookie(const vic_http_req *req, const char *name, char *buf, size_t cap);
const char *vic_http_req_body(const vic_http_req *req, size_t *len);
/* A spooled archive body (see max_archive_body): a file descriptor positioned at its start,
 * borrowed (the request closes it), or -1 when the body is in memory. */
int vic_http_req_body_fd(const vic_http_req *req);
/* Gives the request a spooled body (it takes fd over; for tests and relays). */
void vic_http_req_set_body_fd(vic_http_req *req, int fd);
/* Parsed body of JSON routes (borrowed), NULL for an empty optional body. */
json_t *vic_http_req_json(const vic_http_req *req);
const char *vic_http_req_remote(const vic_http_req *req);
/* 1 when the TLS client presented a certificate signed by the server's client CA. */
int vic_http_req_client_cert(const vic_http_req *req);
int vic_http_req_is_tls(const vic_http_req *req);
/* Who is calling, as set by the auth callback: a name and a kind ("admin", "token", ...). */
void vic_http_req_set_principal(vic_http_req *req, const char *name, const char *kind);
const char *vic_http_req_principal(const vic_http_req *req);
const char *vic_http_req_principal_kind(const vic_http_req *req);
/* The route that matched (after dispatch), or NULL. */
const vic_http_route *vic_http_req_route(const vic_http_req *req);

/* ---- responses ---- */

vic_http_resp *vic_http_resp_new(void);
void vic_http_resp_free(vic_http_resp *resp);
/* Takes ownership of body (may be NULL for an empty body). */
void vic_http_resp_json(vic_http_resp *resp, int status, json_t *body);
/* Copies body. */
void vic_http_resp_text(vic_http_resp *resp, int status, const char *content_type, const char *body,
                        size_t len);
/* `{"message": msg}` with status; for handlers that answer an error without failing. */
void vic_http_resp_error(vic_http_resp *resp, int status, const char *msg);
/* Adds a header (copied); Set-Cookie may be added several times. */
void vic_http_resp_header(vic_http_resp *resp, const char *name, const char *value);

int vic_http_resp_status(const vic_http_resp *resp);
const char *vic_http_resp_body(const vic_http_resp *resp, size_t *len);
const char *vic_http_resp_content_type(const vic_http_resp *resp);
/* First header of that name (case-insensitive), or NULL. */
const char *vic_http_resp_get_header(const vic_http_resp *resp, const char *name);

/* ---- streams ---- */

/* Turns resp into a streamed response of content_type (e.g. "text/event-stream") and returns
 * the stream. The caller owns one reference and must call vic_http_stream_release() when it
 * stops producing. */
vic_http_stream *vic_http_resp_stream(vic_http_resp *resp, int status, const char *content_type);

/* Queues bytes for the client. VIC_EUNAVAIL once the client is gone or the stream closed;
 * VIC_ELIMIT when the client reads too slowly and the backlog passes its bound. */
int vic_http_stream_write(vic_http_stream *s, const void *data, size_t len, vic_err **err);

/* Queues a line of len bytes and its '\n' at once, so a reader that splits on newlines never
 * sees the newline arrive in a chunk of its own (Docker's JSON streams send one per line). */
int vic_http_stream_write_line(vic_http_stream *s, const char *line, size_t len, vic_err **err);

/* Like vic_http_stream_write, for a producer that outruns its client (a large download):
 * waits while the backlog is full instead of failing. VIC_EUNAVAIL once the client is gone,
 * VIC_ETIMEOUT when the client read nothing for timeout_ms (0: 60 s). */
int vic_http_stream_write_wait(vic_http_stream *s, const void *data, size_t len,
                               unsigned timeout_ms, vic_err **err);

/* Writes one server-sent event (event and id may be NULL; data may span lines). */
int vic_http_stream_event(vic_http_stream *s, const char *event, const char *id, const char *data,
                          vic_err **err);

/* Ends the response after queued bytes are sent. */
void vic_http_stream_close(vic_http_stream *s);

/* Whether the client is still there and the stream open. */
int vic_http_stream_alive(vic_http_stream *s);

void vic_http_stream_release(vic_http_stream *s);

/* ---- hijacked connections ---- */

/* A connection taken over after a `101 Switching Protocols` answer (Docker's attach: the
 * request carries `Upgrade: tcp` and `Connection: Upgrade`), now a raw byte stream both ways.
 * Over TLS the server relays it (fd is then one end of a socketpair). */
typedef struct vic_http_hijack vic_http_hijack;

/* Runs on a thread of its own once the answer's headers are sent. The connection is closed
 * when fn returns; fn owns payload. fn must return soon after vic_http_hijack_stop_fd turns
 * readable (the server is stopping: fd is shut down then, so blocked reads and writes end). */
typedef void (*vic_http_hijack_fn)(vic_http_hijack *h, void *payload);

/* The client's socket (blocking). A read of 0 says the client finished sending (or left);
 * shutdown(fd, SHUT_WR) half-closes; never close() it. Over TLS this holds with
 * vic_http_config.tls_half_close only: libmicrohttpd's own TLS tells the hijack neither. */
int vic_http_hijack_fd(const vic_http_hijack *h);
/* Bytes the client sent after its request, before the hijack: treat them as read from fd. */
const char *vic_http_hijack_extra(const vic_http_hijack *h, size_t *len);
/* Readable (never read it) once the server stops; -1 when there is no server. */
int vic_http_hijack_stop_fd(const vic_http_hijack *h);

/* Turns resp into `101 Switching Protocols` with `Upgrade: proto` (and content_type when not
 * NULL); the server then runs fn on the connection. When the connection is never handed
 * over (the handler fails afterwards, the client leaves, the response is freed unsent),
 * drop(payload) is called instead (drop may be NULL). */
void vic_http_resp_hijack(vic_http_resp *resp, const char *proto, const char *content_type,
                          vic_http_hijack_fn fn, void (*drop)(void *payload), void *payload);

/* Whether resp is a hijack answer. */
int vic_http_resp_is_hijack(const vic_http_resp *resp);

/* Runs resp's hijack function on fd in the calling thread, as the server would after the
 * 101 (for tests: fd one end of a socketpair); returns 0, or -1 when resp is no hijack.
 * fd is left open. */
int vic_http_resp_run_hijack(vic_http_resp *resp, int fd);

#endif
