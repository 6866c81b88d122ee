/*
 * httpc.h - a small JSON-over-HTTP client (libcurl) for calls between VIC-C's own services,
 * e.g. the Docker personality to its port layer. Errors answered as {"message": ...} come
 * back as a vic_err with the code for the HTTP status and the server's message.
 */
#ifndef VIC_HTTPC_H
#define VIC_HTTPC_H

#include <jansson.h>

#include "err.h"

typedef struct vic_httpc vic_httpc;

/* curl_global_init(CURL_GLOBAL_DEFAULT), once per process however many threads call it: every
 * user of libcurl calls this before its first handle. */
void vic_curl_global_init(void);

/* base_url: "http://127.0.0.1:2377"; bearer: a token sent with every call, or NULL. */
int vic_httpc_new(vic_httpc **out, const char *base_url, const char *bearer, vic_err **err);
void vic_httpc_free(vic_httpc *c);

/* Rides out a restart of the server: a call whose connection is refused (nothing was sent)
 * waits up to wait_ms for the server to accept connections again, polling a connect with a
 * short backoff, and is then made again; so is a GET or HEAD whose connection broke before
 * any of its answer reached the caller. Any other call whose connection broke after it was
 * sent fails at once, since it may have taken effect. component names the server in the
 * errors ("the port layer": "the port layer is restarting (...); try again"); copied.
 * wait_ms 0 (the default) fails at once. Call before the client is shared. */
void vic_httpc_set_restart_wait(vic_httpc *c, const char *component, unsigned wait_ms);

/* Calls method path (with its query string) with body (NULL for none); *out receives the
 * decoded JSON answer of a 2xx (NULL for an empty one; caller decrefs). timeout_ms bounds
 * the whole call (0: 30 s). Thread-safe. */
int vic_httpc_json(vic_httpc *c, const char *method, const char *path, const json_t *body,
                   unsigned timeout_ms, json_t **out, vic_err **err);

/* Calls method path and hands each line of a streamed 2xx answer (JSON lines) to fn as it
 * arrives (fn returns 0 to go on). Errors as vic_httpc_json. */
typedef int (*vic_httpc_line_fn)(const char *line, size_t len, void *payload);
int vic_httpc_lines(vic_httpc *c, const char *method, const char *path, unsigned timeout_ms,
                    vic_httpc_line_fn fn, void *payload, vic_err **err);

/* vic_httpc_lines with one more request header ("Name: value", NULL for none; a value with
 * a line break is not sent). The header may carry a secret: it is neither logged nor kept. */
int vic_httpc_lines_with(vic_httpc *c, const char *method, const char *path, const char *header,
                         unsigned timeout_ms, vic_httpc_line_fn fn, void *payload, vic_err **err);

/* Calls method path asking for a hijack (Upgrade: tcp) over plain HTTP. On `101 Switching
 * Protocols` *fd is the connection, now a raw byte stream both ways (blocking; the caller
 * closes it); other answers fail as vic_httpc_json does. timeout_ms bounds the connect and
 * the answer's headers (0: 30 s). */
int vic_httpc_hijack(vic_httpc *c, const char *method, const char *path, unsigned timeout_ms,
                     int *fd, vic_err **err);

/* Calls method path with a raw body and a raw answer (archives). body_fd: the request body,
 * read to its end and sent as content_type (-1: none). fn receives a 2xx answer's body as it
 * arrives (returns 0 to go on, anything else stops the call, which then fails with
 * VIC_EUNAVAIL); may be NULL. No total time limit: a call fails when the transfer stalls
 * for stall_ms (0: 60 s). Errors as vic_httpc_json. */
typedef int (*vic_httpc_data_fn)(const void *data, size_t len, void *payload);
int vic_httpc_raw(vic_httpc *c, const char *method, const char *path, int body_fd,
                  const char *content_type, unsigned stall_ms, vic_httpc_data_fn fn, void *payload,
                  vic_err **err);

/* The vic_code for an HTTP status (the inverse of vic_err_http_status). */
int vic_httpc_status_code(long status);

#endif
