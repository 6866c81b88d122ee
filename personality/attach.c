/*
 * attach.c - Docker's attach over the port layer's interactive channel (see attach.h).
 */
#include "personality/attach.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/attach.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "personality/stream.h"

#define EARLY_INPUT_MAX   (1024 * 1024) /* what a client types before its container runs */
#define WAIT_FOR_START_MS 120000        /* how long an attach waits for its container to run */

/* ---- sessions: the attaches of this process, for start and resize ---- */

typedef struct engine_attach_session {
    char id[65];
    char *pl_path; /* "/containers/ID/attach" */
    engine_ctx *c;
    int tty, want_in, want_out, want_err;
    unsigned char detach[16]; /* the detach keys, with a terminal and input (n_detach > 0) */
    size_t n_detach;
    pthread_mutex_t lock; /* guards pl_fd writes and the size */
    int pl_fd;            /* the port layer's channel, -1 until the container runs */
    unsigned rows, cols;  /* the client's terminal, 0 until it says */
    struct engine_attach_session *next;
} att_session;

static void session_unlink(att_session *s)
{
    engine_ctx *c = s->c;
    pthread_mutex_lock(&c->sessions_lock);
    for (att_session **pp = &c->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&c->sessions_lock);
}

static void session_free(void *p)
{
    att_session *s = p;
    session_unlink(s);
    if (s->pl_fd >= 0)
        close(s->pl_fd);
    pthread_mutex_destroy(&s->lock);
    free(s->pl_path);
    free(s);
}

int engine_attach_pending(engine_ctx *c, const char *id)
{
    int found = 0;
    pthread_mutex_lock(&c->sessions_lock);
    for (att_session *s = c->sessions; s && !found; s = s->next)
        found = strcmp(s->id, id) == 0;
    pthread_mutex_unlock(&c->sessions_lock);
    return found;
}

/* A frame to the port layer; with s->lock held. */
static int send_frame_locked(att_session *s, int type, const void *data, size_t len)
{
    unsigned char h[VIC_ATTACH_HEADER] = {(unsigned char)type, (unsigned char)(len >> 24),
                                          (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                                          (unsigned char)len};
    if (s->pl_fd < 0)
        return -1;
    if (vic_send_all(s->pl_fd, h, sizeof(h)) < 0 || (len && vic_send_all(s->pl_fd, data, len) < 0))
        return -1;
    return 0;
}

static int send_resize_locked(att_session *s)
{
    if (s->rows == 0 || s->cols == 0)
        return 0;
    return engine_stream_send_resize(s->pl_fd, s->rows, s->cols);
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The hijacked docker connection, on a thread of its own. */
static void attach_run(vic_http_hijack *h, void *payload)
{
    att_session *s = payload;
    engine_relay r = {.tty = s->tty,
                      .want_out = s->want_out,
                      .want_err = s->want_err,
                      .lock = &s->lock,
                      .detach = s->detach,
                      .n_detach = s->n_detach};
    engine_relay_client(&r, h);
    int client = r.client, stop_fd = r.stop_fd;
    vic_buf early = VIC_BUF_INIT;
    int in_open = s->want_in, exit_code = -1;
    size_t extra_len = 0;
    const char *extra = vic_http_hijack_extra(h, &extra_len);
    if (s->want_in && extra_len)
        vic_buf_append(&early, extra, extra_len);
    char buf[65536];

    /* 1. wait for the container to run (the client starts it after attaching) */
    int64_t deadline = now_ms() + WAIT_FOR_START_MS;
    int fd = -1;
    for (;;) {
        vic_err *err = NULL;
        int rc = vic_httpc_hijack(s->c->pl, "POST", s->pl_path, 10000, &fd, &err);
        if (rc == 0)
            break;
        int again = rc == VIC_ECONFLICT;
        if (!again)
            vic_log(VIC_LOG_WARN, "event=attach_failed container=%.12s msg=\"%s\"", s->id,
                    err ? err->msg : "");
        vic_err_free(&err);
        if (!again || now_ms() > deadline)
            goto done;
        struct pollfd pf[2] = {{in_open ? client : -1, POLLIN, 0}, {stop_fd, POLLIN, 0}};
        if (poll(pf, 2, 50) < 0 && errno != EINTR)
            goto done;
        if (pf[1].revents)
            goto done;
        if (pf[0].revents) {
            ssize_t n = read(client, buf, sizeof(buf));
            if (n < 0 && errno != EINTR)
                goto done;
            if (n == 0)
                in_open = 0;
            else if (n > 0 && early.len + (size_t)n <= EARLY_INPUT_MAX)
                vic_buf_append(&early, buf, (size_t)n);
        }
    }

    /* 2. attached: size, what was typed, READY */
    pthread_mutex_lock(&s->lock);
    s->pl_fd = fd;
    vic_buf first = VIC_BUF_INIT;
    engine_attach_stdin_frames(early.data, early.len, &first);
    int ok = send_resize_locked(s) == 0 &&
             (first.len == 0 || vic_send_all(s->pl_fd, first.data, first.len) == 0) &&
             (in_open || !s->want_in || s->tty ||
              send_frame_locked(s, VIC_ATTACH_CLOSE, NULL, 0) == 0) &&
             send_frame_locked(s, VIC_ATTACH_READY, NULL, 0) == 0;
    pthread_mutex_unlock(&s->lock);
    vic_buf_free(&first);
    if (!ok)
        goto done;

    /* 3. relay until the session's EXIT */
    r.pl_fd = fd;
    r.want_in = in_open;
    exit_code = engine_attach_relay(&r);
done:
    vic_log(VIC_LOG_INFO, "event=attach_end container=%.12s exit=%d", s->id, exit_code);
    vic_buf_free(&early);
    session_free(s);
}

static int flag(vic_http_req *req, const char *name, int def)
{
    const char *v = vic_http_req_query(req, name);
    if (v == NULL)
        return def;
    return strcmp(v, "0") && strcmp(v, "false") && strcmp(v, "");
}

/* The container's full id and whether it has a terminal. */
static int lookup(engine_ctx *c, vic_http_req *req, char id[65], int *tty, json_t **x,
                  vic_err **err)
{
    cleanup_free char *path = NULL;
    int rc = engine_container_lookup(c, req, &path, x, err);
    if (rc < 0)
        return rc;
    snprintf(id, 65, "%s", vic_json_str(*x, "id") ?: "");
    if (tty)
        *tty = json_is_true(json_object_get(json_object_get(*x, "config"), "tty"));
    return 0;
}

int engine_attach_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    int rc = engine_stream_need_upgrade(req, "attach", err);
    if (rc < 0)
        return rc;
    char id[65];
    int tty = 0;
    json_t *x cleanup_json = NULL;
    rc = lookup(c, req, id, &tty, &x, err);
    if (rc < 0)
        return rc;
    if (strcmp(vic_json_str(x, "state") ?: "", "paused") == 0)
        return vic_err_set(err, VIC_ECONFLICT,
                           "You cannot attach to a paused container, unpause it first");
    if (!flag(req, "stream", 0))
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "attach without stream=1 (past output only) is not supported: "
                           "use docker logs");
    /* Docker scans a terminal's input for the detach keys */
    unsigned char keys[16];
    size_t n_keys = 0;
    const char *dk = vic_http_req_query(req, "detachKeys");
    if ((dk || (tty && flag(req, "stdin", 0))) &&
        (rc = engine_detach_keys(dk, keys, sizeof(keys), &n_keys, err)) < 0)
        return rc;
    if (!tty || !flag(req, "stdin", 0))
        n_keys = 0; /* only a terminal's input is scanned, as Docker does */
    att_session *s = xzalloc(sizeof(*s));
    memcpy(s->detach, keys, n_keys);
    s->n_detach = n_keys;
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->pl_path = xasprintf("/containers/%s/attach", id);
    s->c = c;
    s->tty = tty;
    s->want_in = flag(req, "stdin", 0);
    s->want_out = flag(req, "stdout", 0);
    s->want_err = flag(req, "stderr", 0);
    s->pl_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_lock(&c->sessions_lock); /* registered now: a start from here on blocks */
    s->next = c->sessions;
    c->sessions = s;
    pthread_mutex_unlock(&c->sessions_lock);
    vic_http_resp_hijack(resp, "tcp", engine_stream_type(tty), attach_run, session_free, s);
    return 0;
}

int engine_resize_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    unsigned rows, cols;
    int rc = engine_stream_size(req, &rows, &cols, err);
    if (rc < 0)
        return rc;
    char id[65];
    json_t *x cleanup_json = NULL;
    rc = lookup(c, req, id, NULL, &x, err);
    if (rc < 0)
        return rc;
    /* the attach holds the channel: the size goes over it (now, or once it is attached) */
    pthread_mutex_lock(&c->sessions_lock);
    for (att_session *s = c->sessions; s; s = s->next) {
        if (strcmp(s->id, id) != 0)
            continue;
        pthread_mutex_lock(&s->lock);
        s->rows = rows;
        s->cols = cols;
        if (s->pl_fd >= 0)
            send_resize_locked(s);
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&c->sessions_lock);
    vic_http_resp_json(resp, 200, NULL);
    return 0;
}
