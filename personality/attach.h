/*
 * attach.h - Docker's attach over the port layer's interactive channel.
 *
 * `POST /containers/{id}/attach` answers the docker CLI with a hijack at once (the CLI
 * attaches before it starts the container), then takes the container's channel from the port
 * layer as soon as the container runs (POST /containers/{id}/attach there, retried while it
 * answers 409), sends what the client typed meanwhile, its terminal size and READY, and
 * relays: the client's bytes become STDIN frames (its end of input a CLOSE frame), STDOUT and
 * STDERR frames become Docker's stream (raw with a terminal, multiplexed without), and the
 * EXIT frame ends the connection. A start while an attach waits for its container asks the
 * port layer for VIC's run block, so no output is missed. Resizes go over the attach
 * connection as RESIZE frames (the channel has one holder: the attach).
 */
#ifndef VIC_ENGINE_ATTACH_H
#define VIC_ENGINE_ATTACH_H

#include <pthread.h>

#include "lib/http.h"
#include "lib/mem.h"
#include "personality/engine.h"

/* Docker's multiplexed-stream header: stream (0 stdin, 1 stdout, 2 stderr), three zero bytes,
 * the payload's length big-endian. */
void engine_mux_header(unsigned char h[8], int stream, size_t len);

/* Consumes every whole frame at the front of in and appends Docker's stream for them to out:
 * STDOUT (when want_out) and STDERR (when want_err) data, raw with tty, multiplexed without.
 * Returns 1 once an EXIT frame was seen (*exit_code its status; later bytes are left in in),
 * 0 when more bytes are needed, -1 for a malformed frame. */
int engine_attach_translate(vic_buf *in, int tty, int want_out, int want_err, vic_buf *out,
                            int *exit_code);

/* Appends data as STDIN frames (each at most VIC_ATTACH_MAX bytes) to out. */
void engine_attach_stdin_frames(const char *data, size_t len, vic_buf *out);

/* One relay between a docker client and a port layer channel (attach or exec frames). */
typedef struct engine_relay {
    int pl_fd;            /* the channel */
    int client;           /* the hijacked docker connection; -1: none (a detached exec) */
    int stop_fd, peer_fd; /* the server stopping, the client hanging up; -1: none */
    int tty, want_in, want_out, want_err;
    int outlive_client;    /* a client that leaves does not end the relay (exec) */
    pthread_mutex_t *lock; /* held around writes to pl_fd (resizes write there too) */
} engine_relay;

/* Relays until the channel's EXIT frame: the client's bytes become STDIN frames (its end of
 * input a CLOSE frame), STDOUT and STDERR frames become Docker's stream. Returns the exit
 * status, or -1 when the channel or the client ended first. */
int engine_attach_relay(const engine_relay *r);

/* Whether an attach of this docker connection waits for container id (full id) to start. */
int engine_attach_pending(const char *id);

/* The routes' handlers (payload: engine_ctx). */
int engine_attach_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int engine_resize_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

#endif
