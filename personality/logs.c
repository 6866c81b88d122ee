/*
 * logs.c - docker logs over the port layer (see logs.h).
 *
 * The handler checks the query and looks the container up first, so that a bad parameter is
 * a 400 and an unknown container a 404 before anything streams. A thread then relays the
 * port layer's messages (serial log records, lib/serial.h) as Docker's stream: each message
 * after its RFC 3339 time with timestamps, in a frame with an 8-byte header without a
 * terminal. Its memory is bounded: one record and one chunk at a time, and writes that wait
 * for a slow client. The port layer's empty records while a follow waits make the relay look
 * at its client, so that a client that left ends the follow on both sides.
 */
#include "personality/logs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/cleanup.h"
#include "lib/httpc.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/serial.h"
#include "lib/timefmt.h"
#include "personality/common.h"
#include "personality/stream.h"

#define LOGS_STALL_MS (5 * 60 * 1000)
/* Docker's stream goes out in chunks this large, or when the port layer caught up with the
 * log: as large as a stream's backlog may grow (lib/http.c), so that each waits for an empty
 * backlog, whose buffer then starts over; the stream holds one chunk however long the log. */
#define LOGS_CHUNK (4 * 1024 * 1024)

/* Docker's boolean query values (httputils.BoolValue): all but "", 0, no, false, none. */
static bool query_bool(vic_http_req *req, const char *name)
{
    const char *v = vic_http_req_query(req, name);
    if (v == NULL)
        return false;
    static const char *const no[] = {"", "0", "no", "false", "none"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (strcasecmp(v, no[i]) == 0)
            return false;
    return true;
}

/* since or until: Docker's Unix timestamp, "SECONDS[.FRACTION]", or absent. */
static const char *query_time(vic_http_req *req, const char *name, vic_err **err)
{
    const char *v = vic_http_req_query(req, name);
    int64_t ns;
    if (v == NULL || *v == '\0')
        return "";
    if (vic_unix_time_parse(v, &ns) < 0) {
        vic_err_set(err, VIC_EINVAL, "%s: \"%.40s\" is not a Unix timestamp (SECONDS[.FRACTION])",
                    name, v);
        return NULL;
    }
    return v;
}

int engine_logs_query(vic_http_req *req, char **suffix, bool *timestamps, vic_err **err)
{
    bool out = query_bool(req, "stdout"), errs = query_bool(req, "stderr");
    if (!out && !errs)
        return vic_err_set(err, VIC_EINVAL, "Bad parameters: you must choose at least one stream");
    long tail = -1;
    const char *t = vic_http_req_query(req, "tail");
    if (t && *t && strcmp(t, "all") != 0) {
        char *end = NULL;
        tail = strtol(t, &end, 10);
        /* Docker's: what is not a number of lines, or is negative, means all of them */
        if (end == t || *end || tail < 0)
            tail = -1;
    }
    const char *since = query_time(req, "since", err), *until = NULL;
    if (since == NULL || (until = query_time(req, "until", err)) == NULL)
        return VIC_EINVAL;
    *timestamps = query_bool(req, "timestamps");
    *suffix = xasprintf("/logs?format=stream&stdout=%d&stderr=%d&follow=%d&tail=%ld&since=%s"
                        "&until=%s",
                        out, errs, query_bool(req, "follow"), tail, since, until);
    return 0;
}

typedef struct relay {
    engine_ctx *c;
    char *path;
    char *id;
    int tty, timestamps;
    vic_http_stream *s;
    vic_buf in;  /* the port layer's bytes not relayed yet: at most part of one record */
    vic_buf out; /* Docker's stream not sent yet: less than a chunk */
} relay;

static int send_out(relay *r)
{
    int rc = vic_http_stream_write_wait(r->s, r->out.data, r->out.len, LOGS_STALL_MS, NULL);
    r->out.len = 0;
    return rc < 0 ? -1 : 0;
}

static int relay_chunk(const void *data, size_t len, void *payload)
{
    relay *r = payload;
    vic_buf_append(&r->in, data, len);
    size_t off = 0;
    bool caught_up = false;
    vic_serial_record rec;
    while (vic_serial_next(r->in.data, r->in.len, &off, &rec, NULL) == 1) {
        if (rec.stream != VIC_STREAM_STDOUT && rec.stream != VIC_STREAM_STDERR) {
            caught_up = true; /* the port layer waits for more */
            continue;
        }
        char stamp[48];
        size_t n = 0;
        if (r->timestamps) {
            vic_rfc3339(stamp, sizeof(stamp) - 1, rec.time_ns);
            n = strlen(stamp);
            stamp[n++] = ' ';
        }
        if (!r->tty) {
            unsigned char h[8];
            engine_mux_header(h, rec.stream, n + rec.len);
            vic_buf_append(&r->out, h, sizeof(h));
        }
        vic_buf_append(&r->out, stamp, n);
        vic_buf_append(&r->out, rec.data, rec.len);
    }
    memmove(r->in.data, r->in.data + off, r->in.len - off);
    r->in.len -= off;
    if (r->out.len >= LOGS_CHUNK || (caught_up && r->out.len))
        return send_out(r);
    return caught_up && !vic_http_stream_alive(r->s) ? -1 : 0;
}

static void *relay_thread(void *arg)
{
    relay *r = arg;
    vic_err *err = NULL;
    int rc = vic_httpc_raw(r->c->pl, "GET", r->path, -1, NULL, LOGS_STALL_MS, relay_chunk, r, &err);
    if (rc == 0 && r->out.len)
        send_out(r);
    if (rc < 0 && err->code != VIC_EUNAVAIL)
        /* the status is sent already: the client sees the logs end early */
        vic_log(VIC_LOG_WARN, "event=logs_relay_failed id=%s err=\"%s\"", r->id, err->msg);
    vic_err_free(&err);
    vic_http_stream_close(r->s);
    vic_http_stream_release(r->s);
    vic_buf_free(&r->in);
    vic_buf_free(&r->out);
    free(r->path);
    free(r->id);
    free(r);
    return NULL;
}

int engine_container_logs_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err)
{
    engine_ctx *c = payload;
    cleanup_free char *suffix = NULL, *path = NULL;
    bool timestamps = false;
    int rc = engine_logs_query(req, &suffix, &timestamps, err);
    if (rc < 0)
        return rc;
    json_t *x cleanup_json = NULL;
    if ((rc = engine_container_lookup(c, req, &path, &x, err)) < 0)
        return rc;
    relay *r = xzalloc(sizeof(*r));
    r->c = c;
    r->path = xasprintf("%s%s", path, suffix);
    r->id = xstrdup(vic_http_req_param(req, "id"));
    r->tty = json_is_true(json_object_get(json_object_get(x, "config"), "tty"));
    r->timestamps = timestamps;
    /* room for a chunk and what one more piece of the port layer's answer makes, from the
     * start */
    r->out.cap = LOGS_CHUNK + 256 * 1024;
    r->out.data = xmalloc(r->out.cap);
    r->out.data[0] = '\0';
    r->s = vic_http_resp_stream(resp, 200, engine_stream_type(r->tty));
    pthread_t th;
    if (pthread_create(&th, NULL, relay_thread, r) != 0) {
        vic_http_stream_close(r->s);
        vic_http_stream_release(r->s);
        vic_buf_free(&r->out);
        free(r->path);
        free(r->id);
        free(r);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start the logs");
    }
    pthread_detach(th);
    return 0;
}
