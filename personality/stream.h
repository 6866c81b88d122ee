/*
 * stream.h - what Docker's attach and exec share: the hijacked docker connection on one side,
 * a port layer channel of attach frames (lib/attach.h) on the other.
 *
 * Both answer the docker CLI with a hijack (Upgrade: tcp) whose stream is raw with a terminal
 * and multiplexed without (Docker's 8-byte frame headers), relay the client's bytes as STDIN
 * frames (its end of input a CLOSE frame) and the channel's STDOUT and STDERR frames back,
 * end with the channel's EXIT frame, and take terminal sizes (?h=&w=) as RESIZE frames.
 */
#ifndef VIC_PERSONALITY_STREAM_H
#define VIC_PERSONALITY_STREAM_H

#include <pthread.h>
#include <stddef.h>

#include "lib/http.h"
#include "lib/mem.h"

/* Docker's multiplexed-stream header: stream (0 stdin, 1 stdout, 2 stderr), three zero bytes,
 * the payload's length big-endian. */
void engine_mux_header(unsigned char h[8], int stream, size_t len);

/* The content type of Docker's stream: raw with a terminal, multiplexed without. */
const char *engine_stream_type(int tty);

/* Consumes every whole frame at the front of in and appends Docker's stream for them to out:
 * STDOUT (when want_out) and STDERR (when want_err) data, raw with tty, multiplexed without.
 * Returns 1 once an EXIT frame was seen (*exit_code its status; later bytes are left in in),
 * 0 when more bytes are needed, -1 for a malformed frame. */
int engine_attach_translate(vic_buf *in, int tty, int want_out, int want_err, vic_buf *out,
                            int *exit_code);

/* Appends data as STDIN frames (each at most VIC_ATTACH_MAX bytes) to out. */
void engine_attach_stdin_frames(const char *data, size_t len, vic_buf *out);

/* Sends a RESIZE frame (rows, cols) on the channel fd; the caller holds the lock around the
 * channel's writes. 0, or -1. */
int engine_stream_send_resize(int fd, unsigned rows, unsigned cols);

/* A resize request's ?h= and ?w= (1 to 65535 each), or VIC_EINVAL saying so. */
int engine_stream_size(vic_http_req *req, unsigned *rows, unsigned *cols, vic_err **err);

/* Refuses (VIC_EUNSUPPORTED) a request for a stream that does not upgrade its connection;
 * what names the request in the message ("attach", "an attached exec"). */
int engine_stream_need_upgrade(vic_http_req *req, const char *what, vic_err **err);

/* One relay between a docker client and a port layer channel (attach or exec frames). */
typedef struct engine_relay {
    int pl_fd;         /* the channel */
    int client;        /* the hijacked docker connection; -1: none (a detached exec) */
    int stop_fd;       /* readable once the server stops; -1: none */
    const char *input; /* bytes the client sent before the relay: STDIN frames first */
    size_t input_len;
    int tty, want_in, want_out, want_err;
    int outlive_client; /* a client that leaves does not end the relay (exec) */
    /* Docker's detach keys (engine_detach_keys): once the client types them, the relay ends
     * without passing them on and without closing the program's input, which runs on. */
    const unsigned char *detach;
    size_t n_detach;
    pthread_mutex_t *lock; /* held around writes to pl_fd (resizes write there too) */
} engine_relay;

/* Docker's detach key sequence, "ctrl-p,ctrl-q" (its default, for spec NULL or ""): comma
 * separated, each one character or ctrl- with a letter or one of @[\]^_. Writes the bytes to
 * out (cap at least 16); VIC_EINVAL for anything else, with Docker's message. */
int engine_detach_keys(const char *spec, unsigned char *out, size_t cap, size_t *n, vic_err **err);

/* r's client and stop_fd from the hijacked connection h (NULL: none, all -1). */
void engine_relay_client(engine_relay *r, const vic_http_hijack *h);

/* Relays until the channel's EXIT frame: r->input and then the client's bytes become STDIN
 * frames (its end of input a CLOSE frame), STDOUT and STDERR frames become Docker's stream.
 * Returns the exit status, or -1 when the channel or the client ended first. */
int engine_attach_relay(const engine_relay *r);

#endif
