/*
 * ps.c - docker ps: the list of containers, its filters and its summaries (see
 * containers.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "personality/containers.h"
#include "personality/inspect.h"
#include "personality/networks.h"
#include "personality/ports.h"
#include "personality/volumes.h"

const char *const engine_ps_filters[] = {
    "ancestor", "before", "expose",  "exited",  "health", "id",     "isolation", "is-task",
    "label",    "name",   "network", "publish", "since",  "status", "volume",    NULL};

int64_t engine_time_ns(const char *rfc3339)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *rest = rfc3339 ? strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (rest == NULL || tm.tm_year < 71)
        return 0;
    int64_t ns = (int64_t)timegm(&tm) * 1000000000;
    if (*rest == '.') {
        int64_t scale = 100000000;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
            ns += (*rest - '0') * scale;
    }
    return ns;
}

static void ago(char *out, size_t cap, int64_t since, time_t now)
{
    int64_t d = (int64_t)now - since;
    if (d < 1)
        snprintf(out, cap, "Less than a second");
    else if (d < 60)
        snprintf(out, cap, "%lld second%s", (long long)d, d == 1 ? "" : "s");
    else if (d < 3600)
        snprintf(out, cap, "%lld minute%s", (long long)(d / 60), d / 60 == 1 ? "" : "s");
    else if (d < 86400)
        snprintf(out, cap, "%lld hour%s", (long long)(d / 3600), d / 3600 == 1 ? "" : "s");
    else
        snprintf(out, cap, "%lld days", (long long)(d / 86400));
}

static int64_t secs(const char *rfc3339)
{
    return engine_time_ns(rfc3339) / 1000000000;
}

void engine_container_status(const json_t *c, time_t now, char *out, size_t cap)
{
    const char *state = vic_json_str(c, "state");
    int64_t started = secs(vic_json_str(c, "started_at"));
    int64_t finished = secs(vic_json_str(c, "finished_at"));
    char span[48];
    int paused = state && strcmp(state, "paused") == 0;
    int on = state && (strcmp(state, "running") == 0 || strcmp(state, "starting") == 0 || paused);
    if (state && strcmp(state, "restarting") == 0) { /* waiting for its restart policy */
        ago(span, sizeof(span), finished > 0 ? finished : now, now);
        snprintf(out, cap, "Restarting (%lld) %s ago",
                 (long long)json_integer_value(json_object_get(c, "exit_code")), span);
    } else if (on && started > 0) {
        ago(span, sizeof(span), started, now);
        const char *health = vic_json_str(json_object_get(c, "health"), "status");
        if (paused)
            snprintf(out, cap, "Up %s (Paused)", span);
        else if (health) /* Docker's: "(health: starting)", "(healthy)", "(unhealthy)" */
            snprintf(out, cap, "Up %s (%s%s)", span,
                     strcmp(health, "starting") == 0 ? "health: " : "", health);
        else
            snprintf(out, cap, "Up %s", span);
    } else if (state && strcmp(state, "exited") == 0 && started > 0 && finished > 0) {
        ago(span, sizeof(span), finished, now);
        snprintf(out, cap, "Exited (%lld) %s ago",
                 (long long)json_integer_value(json_object_get(c, "exit_code")), span);
    } else if (state && strcmp(state, "exited") == 0 && started > 0) {
        snprintf(out, cap, "Exited (%lld)",
                 (long long)json_integer_value(json_object_get(c, "exit_code")));
    } else {
        /* never started, or on but not started yet (its run block): no start time to count
         * an uptime from, which Docker shows as Created */
        snprintf(out, cap, "Created");
    }
}

/* When c was created, in nanoseconds; a port layer that did not record it: its start. */
static int64_t created_ns(const json_t *c)
{
    int64_t t = engine_time_ns(vic_json_str(c, "created_at"));
    return t ? t : engine_time_ns(vic_json_str(c, "started_at"));
}

json_t *engine_container_summary(const json_t *c, time_t now)
{
    json_t *rec cleanup_json = engine_record_of(c);
    const char *state = vic_json_str(c, "state");
    char status[96];
    engine_container_status(c, now, status, sizeof(status));
    vic_buf cmd = VIC_BUF_INIT;
    vic_buf_append(&cmd, "", 0);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(json_object_get(c, "config"), "cmd"), i, a)
    {
        vic_buf_appendf(&cmd, "%s%s", i ? " " : "", json_string_value(a));
    }
    json_t *labels = json_object_get(json_object_get(rec, "Config"), "Labels");
    cleanup_free char *name = xasprintf("/%s", vic_json_str(c, "name"));
    json_t *out = json_pack(
        "{s:s, s:[s], s:s, s:s, s:s, s:I, s:o, s:s, s:s, s:{s:s}, s:{s:{}}, s:o}", "Id",
        vic_json_str(c, "id"), "Names", name, "Image", vic_json_str(c, "image") ?: "", "ImageID",
        vic_json_str(rec, "ImageID") ?: "", "Command", cmd.data, "Created",
        (json_int_t)(created_ns(c) / 1000000000), "Labels",
        labels ? json_deep_copy(labels) : json_object(), "State", state ? state : "unknown",
        "Status", status, "HostConfig", "NetworkMode", engine_network_mode(c), "NetworkSettings",
        "Networks", "Mounts", engine_inspect_mounts(c));
    vic_buf_free(&cmd);
    json_object_set_new(out, "Ports", engine_port_list(c));
    json_object_set_new(json_object_get(out, "NetworkSettings"), "Networks",
                        engine_inspect_networks(c));
    return out;
}

int engine_ps_match(const json_t *values, const char *s, int how)
{
    if (values == NULL)
        return 1;
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        const char *want = json_string_value(v);
        if (want == NULL || s == NULL)
            continue;
        if ((how == ENGINE_PS_NAME && strstr(s, want[0] == '/' ? want + 1 : want)) ||
            (how == ENGINE_PS_ID && strncmp(s, want, strlen(want)) == 0) ||
            (how == ENGINE_PS_STATUS && (strcmp(s, want) == 0 || (strcmp(want, "running") == 0 &&
                                                                  strcmp(s, "starting") == 0))))
            return 1;
    }
    return 0;
}

int engine_ps_labels_match(const json_t *values, const json_t *labels)
{
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        const char *want = json_string_value(v);
        if (want == NULL)
            return 0;
        const char *eq = strchr(want, '=');
        cleanup_free char *key = xstrndup(want, eq ? (size_t)(eq - want) : strlen(want));
        const char *have = vic_json_str(labels, key);
        if (have == NULL || (eq && strcmp(have, eq + 1) != 0))
            return 0;
    }
    return 1;
}

/* "80", "80/tcp", "8000-8080/tcp" into a range and protocol; 0, or -1 when malformed. */
static int port_range(const char *s, int *lo, int *hi, char proto[8])
{
    int n = 0;
    if (sscanf(s, "%d%n", lo, &n) != 1 || n == 0)
        return -1;
    *hi = *lo;
    if (s[n] == '-') {
        int m = 0;
        if (sscanf(s + n + 1, "%d%n", hi, &m) != 1 || m == 0)
            return -1;
        n += m + 1;
    }
    static const char *const protos[] = {"tcp", "udp", "sctp"};
    snprintf(proto, 8, "tcp");
    if (s[n] == '/') {
        size_t k = 0;
        while (k < 3 && strcmp(s + n + 1, protos[k]) != 0)
            k++;
        if (k == 3)
            return -1;
        snprintf(proto, 8, "%s", protos[k]);
    } else if (s[n] != '\0') {
        return -1;
    }
    return *lo < 1 || *hi > 65535 || *lo > *hi ? -1 : 0;
}

/* Whether any value of a publish or expose filter covers one of the ports ("80/tcp" keys). */
static int ports_match(const json_t *values, const json_t *ports)
{
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        int lo, hi;
        char proto[8];
        if (port_range(json_string_value(v), &lo, &hi, proto) < 0)
            continue;
        const char *key;
        json_t *unused;
        json_object_foreach((json_t *)ports, key, unused)
        {
            int p = 0;
            char pp[8] = "tcp";
            if (sscanf(key, "%d/%7s", &p, pp) >= 1 && p >= lo && p <= hi && strcmp(pp, proto) == 0)
                return 1;
        }
    }
    return 0;
}

static int one_of(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

int engine_ps_check(const json_t *filters, vic_err **err)
{
    static const char *const states[] = {"created", "restarting", "running", "removing",
                                         "paused",  "exited",     "dead",    NULL};
    static const char *const health[] = {"starting", "healthy", "unhealthy", "none", NULL};
    static const char *const bools[] = {"true", "false", NULL};
    const char *k;
    json_t *vals;
    json_object_foreach((json_t *)filters, k, vals)
    {
        if (!one_of(k, engine_ps_filters))
            return vic_err_set(err, VIC_EINVAL, "invalid filter '%.64s'", k);
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v)
        {
            const char *s = json_string_value(v);
            int lo, hi;
            char proto[8], *end = NULL;
            int bad = s == NULL;
            if (!bad && strcmp(k, "status") == 0)
                bad = !one_of(s, states);
            else if (!bad && strcmp(k, "health") == 0)
                bad = !one_of(s, health);
            else if (!bad && strcmp(k, "is-task") == 0)
                bad = !one_of(s, bools);
            else if (!bad && strcmp(k, "exited") == 0) {
                long code = strtol(s, &end, 10);
                bad = *s == '\0' || *end != '\0' || code < -1 || code > 255;
            } else if (!bad && (strcmp(k, "publish") == 0 || strcmp(k, "expose") == 0))
                bad = port_range(s, &lo, &hi, proto) < 0;
            if (bad)
                return vic_err_set(err, VIC_EINVAL, "invalid filter '%.64s=%.64s'", k, s ? s : "");
        }
    }
    return 0;
}

/* Whether any value of filter key is true of x: match(value, x, rec). No filter: yes. */
typedef int (*ps_test)(const char *value, const json_t *x, const json_t *rec);

static int any(const json_t *filters, const char *key, ps_test test, const json_t *x,
               const json_t *rec)
{
    const json_t *vals = json_object_get(filters, key);
    if (vals == NULL)
        return 1;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v)
    {
        if (json_string_value(v) && test(json_string_value(v), x, rec))
            return 1;
    }
    return 0;
}

static int exited_is(const char *value, const json_t *x, const json_t *rec)
{
    (void)rec;
    const char *state = vic_json_str(x, "state");
    return state && strcmp(state, "exited") == 0 &&
           json_integer_value(json_object_get(x, "exit_code")) == strtol(value, NULL, 10);
}

static int volume_is(const char *value, const json_t *x, const json_t *rec)
{
    (void)rec;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(x, "mounts"), i, m)
    {
        const char *name = vic_json_str(m, "volume"), *target = vic_json_str(m, "target");
        if ((name && strcmp(name, value) == 0) || (target && strcmp(target, value) == 0))
            return 1;
    }
    return 0;
}

static int network_is(const char *value, const json_t *x, const json_t *rec)
{
    (void)rec;
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(x, "networks"), i, n)
    {
        const char *name = vic_json_str(n, "name"), *id = vic_json_str(n, "id");
        if ((name && strcmp(name, value) == 0) ||
            (id && *value && strncmp(id, value, strlen(value)) == 0))
            return 1;
    }
    return 0;
}

/* Docker's health filter: the status of a container with a health check that started,
 * "none" for the others. */
static int health_is(const char *value, const json_t *x, const json_t *rec)
{
    (void)rec;
    const char *status = vic_json_str(json_object_get(x, "health"), "status");
    return strcmp(value, status ? status : "none") == 0;
}

static int task_is(const char *value, const json_t *x, const json_t *rec)
{
    (void)x;
    (void)rec;
    return strcmp(value, "false") == 0; /* no swarm: no task containers */
}

static int isolation_is(const char *value, const json_t *x, const json_t *rec)
{
    (void)x;
    const char *iso = vic_json_str(json_object_get(rec, "HostConfig"), "Isolation");
    if (iso == NULL || *iso == '\0')
        iso = "default";
    return strcmp(value, iso) == 0 || (*value == '\0' && strcmp(iso, "default") == 0);
}

static int published_is(const char *value, const json_t *x, const json_t *rec)
{
    (void)rec;
    json_t *ports cleanup_json = engine_port_map(x);
    json_t *one cleanup_json = json_pack("[s]", value);
    return ports_match(one, ports);
}

static int exposed_is(const char *value, const json_t *x, const json_t *rec)
{
    json_t *ports cleanup_json = engine_port_map(x);
    json_object_update(ports, json_object_get(json_object_get(rec, "Config"), "ExposedPorts"));
    json_t *one cleanup_json = json_pack("[s]", value);
    return ports_match(one, ports);
}

static int ancestor_is(const char *value, const json_t *x, const json_t *rec)
{
    (void)rec;
    const char *image = vic_json_str(x, "image");
    return image && strcmp(image, value) == 0;
}

int engine_ps_wanted(const engine_ps_query *q, const json_t *x, const json_t *rec)
{
    const json_t *f = q ? q->filters : NULL;
    if (f == NULL)
        return 1;
    int64_t created = created_ns(x);
    if ((q->before_ns && (created == 0 || created >= q->before_ns)) ||
        (q->since_ns && created <= q->since_ns))
        return 0;
    if (json_object_get(f, "ancestor")) {
        /* the image by id (the record's), or, for a container without one, by name */
        const char *id = vic_json_str(rec, "ImageID");
        int hit = 0;
        size_t i;
        json_t *v;
        json_array_foreach(q->ancestors, i, v)
        {
            hit |= id && json_string_value(v) && strcmp(id, json_string_value(v)) == 0;
        }
        if (!hit && !any(f, "ancestor", ancestor_is, x, rec))
            return 0;
    }
    return engine_ps_match(json_object_get(f, "name"), vic_json_str(x, "name"), ENGINE_PS_NAME) &&
           engine_ps_match(json_object_get(f, "id"), vic_json_str(x, "id"), ENGINE_PS_ID) &&
           engine_ps_match(json_object_get(f, "status"), vic_json_str(x, "state"),
                           ENGINE_PS_STATUS) &&
           engine_ps_labels_match(json_object_get(f, "label"),
                                  json_object_get(json_object_get(rec, "Config"), "Labels")) &&
           any(f, "exited", exited_is, x, rec) && any(f, "volume", volume_is, x, rec) &&
           any(f, "network", network_is, x, rec) && any(f, "health", health_is, x, rec) &&
           any(f, "is-task", task_is, x, rec) && any(f, "isolation", isolation_is, x, rec) &&
           any(f, "publish", published_is, x, rec) && any(f, "expose", exposed_is, x, rec);
}

/* The creation time (ns) of the container ref names, for before and since. */
static int created_of(engine_ctx *c, const char *ref, int64_t *out, vic_err **err)
{
    cleanup_free char *esc = engine_url_escape(ref);
    cleanup_free char *path = xasprintf("/containers/%s", esc);
    json_t *x cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "GET", path, NULL, 0, &x, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, ref, err);
    *out = created_ns(x);
    return 0;
}

/* The image ids the ancestor filter's values name (those the port layer has). */
static json_t *ancestor_ids(engine_ctx *c, const json_t *values)
{
    json_t *ids = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        if (json_string_value(v) == NULL)
            continue;
        cleanup_free char *esc = engine_url_escape(json_string_value(v));
        cleanup_free char *path = xasprintf("/images/inspect?ref=%s", esc);
        json_t *img cleanup_json = NULL;
        vic_err *e cleanup_err = NULL;
        if (vic_httpc_json(c->pl, "GET", path, NULL, 0, &img, &e) == 0 && vic_json_str(img, "id"))
            json_array_append_new(ids, json_string(vic_json_str(img, "id")));
    }
    return ids;
}

/* (created ns, index) pairs: newest first, then in the port layer's order */
static int newest_first(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? 1 : -1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

int engine_container_list_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err)
{
    engine_ctx *c = payload;
    json_t *filters cleanup_json = NULL;
    int rc = engine_filters(req, NULL, &filters, err);
    if (rc < 0)
        return rc;
    if ((rc = engine_ps_check(filters, err)) < 0)
        return rc;
    const char *lim = vic_http_req_query(req, "limit");
    long limit = lim ? strtol(lim, NULL, 10) : 0;
    engine_ps_query q = {.filters = filters};
    json_t *ancestors cleanup_json = NULL;
    if (json_object_get(filters, "ancestor"))
        q.ancestors = ancestors = ancestor_ids(c, json_object_get(filters, "ancestor"));
    /* before and since: their last value, as Docker's */
    json_t *b = json_object_get(filters, "before"), *s = json_object_get(filters, "since");
    if (json_array_size(b) &&
        (rc = created_of(c, json_string_value(json_array_get(b, json_array_size(b) - 1)),
                         &q.before_ns, err)) < 0)
        return rc;
    if (json_array_size(s) &&
        (rc = created_of(c, json_string_value(json_array_get(s, json_array_size(s) - 1)),
                         &q.since_ns, err)) < 0)
        return rc;
    json_t *list cleanup_json = NULL;
    int every = engine_query_true(vic_http_req_query(req, "all")) ||
                json_object_get(filters, "status") || limit > 0 || json_array_size(b) ||
                json_array_size(s);
    rc = vic_httpc_json(c->pl, "GET", every ? "/containers?all=1" : "/containers", NULL, 0, &list,
                        err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err);
    /* newest first, as Docker lists them: (created ns, index) pairs sorted */
    size_t n = json_array_size(list);
    int64_t(*order)[2] = xcalloc(n ? n : 1, sizeof(*order));
    for (size_t i = 0; i < n; i++) {
        order[i][0] = created_ns(json_array_get(list, i));
        order[i][1] = (int64_t)i;
    }
    qsort(order, n, sizeof(*order), newest_first);
    json_t *out = json_array();
    time_t now = time(NULL);
    for (size_t i = 0; i < n && (limit <= 0 || (long)json_array_size(out) < limit); i++) {
        json_t *x = json_array_get(list, (size_t)order[i][1]);
        json_t *rec cleanup_json = engine_record_of(x);
        if (engine_ps_wanted(&q, x, rec))
            json_array_append_new(out, engine_container_summary(x, now));
    }
    free(order);
    vic_http_resp_json(resp, 200, out);
    return 0;
}
