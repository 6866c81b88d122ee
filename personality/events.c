/*
 * events.c - `docker events` over the port layer's container events (see events.h).
 */
#include "personality/events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/httpc.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "personality/common.h"

typedef struct follower {
    engine_ctx *c;
    char *path;
    json_t *filters; /* {"type": [...], "event": [...], "container": [...], "image": [...]} */
    vic_http_stream *s;
} follower;

/* Whether values (a filter's list; NULL: no filter) lets v through; prefix: ids match by
 * their head too. */
static int allowed(const json_t *values, const char *v, int prefix)
{
    if (json_array_size(values) == 0)
        return 1;
    size_t i;
    json_t *x;
    json_array_foreach(values, i, x)
    {
        const char *want = json_string_value(x);
        if (want && v &&
            (strcmp(want, v) == 0 || (prefix && *want && strncmp(v, want, strlen(want)) == 0)))
            return 1;
    }
    return 0;
}

/* Docker's event filter: an exact action, but health_status, exec_create and exec_start
 * match the actions they begin ("health_status: healthy"). */
static int event_allowed(const json_t *values, const char *action)
{
    if (allowed(values, action, 0))
        return 1;
    size_t i;
    json_t *x;
    json_array_foreach(values, i, x)
    {
        const char *want = json_string_value(x);
        if (want && action &&
            (strcmp(want, "health_status") == 0 || strcmp(want, "exec_create") == 0 ||
             strcmp(want, "exec_start") == 0) &&
            strncmp(action, want, strlen(want)) == 0 && action[strlen(want)] == ':')
            return 1;
    }
    return 0;
}

static int relay(const char *line, size_t len, void *payload)
{
    follower *f = payload;
    if (!vic_http_stream_alive(f->s))
        return -1; /* the client left */
    json_t *ev = NULL;
    if (vic_json_parse(&ev, line, len, 65536, NULL) < 0 || !json_is_object(ev) ||
        json_object_get(ev, "type") == NULL) {
        json_decref(ev);
        return 0; /* a heartbeat */
    }
    const char *action = vic_json_str(ev, "type"), *id = vic_json_str(ev, "id"),
               *name = vic_json_str(ev, "name"), *image = vic_json_str(ev, "image");
    const json_t *fl = f->filters;
    int pass = allowed(json_object_get(fl, "type"), "container", 0) &&
               event_allowed(json_object_get(fl, "event"), action) &&
               (allowed(json_object_get(fl, "container"), id, 1) ||
                allowed(json_object_get(fl, "container"), name, 0)) &&
               allowed(json_object_get(fl, "image"), image, 0);
    int rc = 0;
    if (pass) {
        json_int_t ns = json_integer_value(json_object_get(ev, "time_ns"));
        json_t *attrs = json_pack("{s:s, s:s}", "name", name ?: "", "image", image ?: "");
        if (json_object_get(ev, "exit_code"))
            json_object_set_new(attrs, "exitCode",
                                json_sprintf("%lld", (long long)json_integer_value(
                                                         json_object_get(ev, "exit_code"))));
        json_t *out =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:o}, s:s, s:I, s:I}", "status", action,
                      "id", id ?: "", "from", image ?: "", "Type", "container", "Action", action,
                      "Actor", "ID", id ?: "", "Attributes", attrs, "scope", "local", "time",
                      (json_int_t)(ns / 1000000000), "timeNano", ns);
        char *text = json_dumps(out, JSON_COMPACT);
        rc = vic_http_stream_write_line(f->s, text, strlen(text), NULL) < 0 ? -1 : 0;
        free(text);
        json_decref(out);
    }
    json_decref(ev);
    return rc;
}

static void *follow_thread(void *arg)
{
    follower *f = arg;
    vic_err *err = NULL;
    vic_httpc_lines(f->c->pl, "GET", f->path, 7 * 24 * 3600 * 1000U, relay, f, &err);
    vic_err_free(&err);
    vic_http_stream_close(f->s);
    vic_http_stream_release(f->s);
    json_decref(f->filters);
    free(f->path);
    free(f);
    return NULL;
}

/* Docker's since/until: a Unix timestamp, "SECONDS[.NANOS]" (the CLI turns "10m" into one). */
static int timestamp_ok(const char *v)
{
    return v && *v && strspn(v, "0123456789.") == strlen(v) && strchr(v, '.') == strrchr(v, '.');
}

int engine_events_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    const char *since = vic_http_req_query(req, "since"), *until = vic_http_req_query(req, "until");
    if (since && *since && !timestamp_ok(since))
        return vic_err_set(err, VIC_EINVAL, "since: \"%.40s\" is not a Unix timestamp", since);
    if (until && *until && !timestamp_ok(until))
        return vic_err_set(err, VIC_EINVAL, "until: \"%.40s\" is not a Unix timestamp", until);
    static const char *const known[] = {"type", "event", "container", "image", NULL};
    json_t *filters = NULL;
    int rc = engine_filters(req, known, &filters, err);
    if (rc < 0)
        return rc;
    follower *f = xzalloc(sizeof(*f));
    f->c = c;
    f->filters = filters;
    f->path = xasprintf("/events?since=%s&until=%s", since ? since : "", until ? until : "");
    f->s = vic_http_resp_stream(resp, 200, "application/json");
    pthread_t th;
    if (pthread_create(&th, NULL, follow_thread, f) != 0) {
        vic_http_stream_close(f->s);
        vic_http_stream_release(f->s);
        json_decref(f->filters);
        free(f->path);
        free(f);
        return vic_err_set(err, VIC_EINTERNAL, "cannot follow events");
    }
    pthread_detach(th);
    return 0;
}
