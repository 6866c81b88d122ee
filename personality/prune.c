/*
 * prune.c - Docker's prunes and disk usage over the port layer (see prune.h).
 */
#include "personality/prune.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/httpc.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "personality/common.h"
#include "personality/containers.h"
#include "personality/images.h"
#include "personality/inspect.h"
#include "personality/volumes.h"

/* ---- filters ---- */

/* A Go duration ("1h30m", "-1.5h", "300ms") in ns; -1 when v is not one. */
static int parse_duration(const char *v, long double *out)
{
    static const struct {
        const char *unit;
        long double ns;
    } units[] = {{"ns", 1},    {"us", 1e3L}, {"\xc2\xb5s", 1e3L}, {"\xce\xbcs", 1e3L},
                 {"ms", 1e6L}, {"s", 1e9L},  {"m", 6e10L},        {"h", 3.6e12L}};
    const char *p = v;
    int neg = 0;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (*p == '\0')
        return -1;
    long double total = 0;
    while (*p) {
        const char *start = p;
        long double n = 0, scale = 1;
        int digits = 0;
        for (; isdigit((unsigned char)*p); p++, digits++)
            n = n * 10 + (*p - '0');
        if (*p == '.')
            for (p++; isdigit((unsigned char)*p); p++, digits++)
                n += (*p - '0') * (scale /= 10);
        if (digits == 0 || p == start)
            return -1;
        size_t best = 0;
        long double mult = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t ul = strlen(units[i].unit);
            if (ul > best && strncmp(p, units[i].unit, ul) == 0)
                best = ul, mult = units[i].ns;
        }
        if (best == 0)
            return -1;
        p += best;
        total += n * mult;
        if (total > 9.2e18L)
            return -1;
    }
    *out = neg ? -total : total;
    return 0;
}

int64_t engine_prune_until(const char *v, int64_t now_ns)
{
    if (v == NULL || *v == '\0' || strlen(v) > 64)
        return -1;
    long double d;
    if (strcmp(v, "0") != 0 && parse_duration(v, &d) == 0) {
        long double t = (long double)now_ns - d;
        return t < 0 ? 0 : t > 9.2e18L ? -1 : (int64_t)t;
    }
    /* a Unix time: seconds, and a fraction */
    size_t nd = strspn(v, "0123456789");
    if (nd > 0 && nd <= 11 &&
        (v[nd] == '\0' || (v[nd] == '.' && v[nd + 1] != '\0' &&
                           strspn(v + nd + 1, "0123456789") == strlen(v + nd + 1)))) {
        int64_t secs = strtoll(v, NULL, 10), ns = 0;
        if (secs > INT64_MAX / 1000000000 - 1) /* past 2262: not a time in ns */
            return -1;
        if (v[nd] == '.') {
            const char *f = v + nd + 1;
            for (int i = 0; i < 9; i++)
                ns = ns * 10 + (*f ? *f++ - '0' : 0);
        }
        return secs * 1000000000 + ns;
    }
    /* RFC 3339: a date, or a date and time with an optional fraction and zone */
    struct tm tm = {0};
    const char *rest = strptime(v, "%Y-%m-%d", &tm);
    if (rest == NULL || rest - v != 10)
        return -1;
    int64_t frac = 0;
    if (*rest == 'T') {
        const char *r2 = strptime(rest + 1, "%H:%M:%S", &tm);
        if (r2 == NULL && (r2 = strptime(rest + 1, "%H:%M", &tm)) == NULL)
            return -1;
        rest = r2;
        if (*rest == '.') {
            int64_t scale = 100000000;
            for (rest++; isdigit((unsigned char)*rest); rest++, scale /= 10)
                frac += scale * (*rest - '0');
        }
    }
    int64_t off = 0;
    if (*rest == 'Z') {
        rest++;
    } else if (*rest == '+' || *rest == '-') {
        int hh = 0, mm = 0;
        if (strlen(rest) != 6 || !isdigit((unsigned char)rest[1]) ||
            !isdigit((unsigned char)rest[2]) || rest[3] != ':' ||
            !isdigit((unsigned char)rest[4]) || !isdigit((unsigned char)rest[5]))
            return -1;
        hh = (rest[1] - '0') * 10 + rest[2] - '0';
        mm = (rest[4] - '0') * 10 + rest[5] - '0';
        off = (rest[0] == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
        rest += 6;
    }
    if (*rest != '\0')
        return -1;
    int64_t t = (int64_t)timegm(&tm) - off;
    if (t < 0 || t > INT64_MAX / 1000000000 - 1) /* before 1970 or past 2262 */
        return -1;
    return t * 1000000000 + (frac > 0 ? frac : 0);
}

void engine_prune_filter_clear(engine_prune_filter *f)
{
    json_decref(f->labels);
    json_decref(f->unlabels);
    memset(f, 0, sizeof(*f));
    f->dangling = -1;
}

int engine_prune_filter_parse(engine_prune_filter *out, const char *q, const char *const *allowed,
                              int64_t now_ns, vic_err **err)
{
    memset(out, 0, sizeof(*out));
    out->dangling = -1;
    json_t *f cleanup_json = NULL;
    int rc = engine_filters_parse(q, NULL, &f, err);
    if (rc < 0)
        return rc;
    const char *k;
    json_t *vals;
    json_object_foreach(f, k, vals)
    {
        int known = 0;
        for (const char *const *a = allowed; *a; a++)
            known |= strcmp(k, *a) == 0;
        if (!known)
            return vic_err_set(err, VIC_EINVAL, "invalid filter '%.64s'", k);
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v)
        {
            if (!json_is_string(v))
                return vic_err_set(err, VIC_EINVAL, "filters.%.32s: values must be strings", k);
            const char *s = json_string_value(v);
            if (strcmp(k, "until") == 0) {
                int64_t t = engine_prune_until(s, now_ns);
                if (t < 0)
                    return vic_err_set(err, VIC_EINVAL,
                                       "failed to parse value as time or duration: \"%.64s\"", s);
                /* several untils: the earliest wins (each must hold) */
                if (out->until_ns == 0 || t < out->until_ns)
                    out->until_ns = t ? t : 1;
            } else if (strcmp(k, "dangling") == 0) {
                int b = strcmp(s, "true") == 0 || strcmp(s, "1") == 0    ? 1
                        : strcmp(s, "false") == 0 || strcmp(s, "0") == 0 ? 0
                                                                         : -1;
                if (b < 0 || (out->dangling >= 0 && out->dangling != b))
                    return vic_err_set(err, VIC_EINVAL, "invalid filter 'dangling=%.64s'", s);
                out->dangling = b;
            } else {
                json_t **list = strcmp(k, "label") == 0 ? &out->labels : &out->unlabels;
                if (*s == '\0' || *s == '=')
                    return vic_err_set(err, VIC_EINVAL, "invalid filter '%s=%.64s'", k, s);
                if (*list == NULL)
                    *list = json_array();
                json_array_append(*list, v);
            }
        }
    }
    return 0;
}

/* Whether labels hold "k" or "k=v". */
static int label_holds(const json_t *labels, const char *want)
{
    const char *eq = strchr(want, '=');
    cleanup_free char *key = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
    const char *have = json_string_value(json_object_get(labels, key));
    return have && (eq == NULL || strcmp(have, eq + 1) == 0);
}

int engine_prune_match(const engine_prune_filter *f, const json_t *labels, int64_t created_ns)
{
    if (f->until_ns && !(created_ns > 0 && created_ns < f->until_ns))
        return 0;
    size_t i;
    json_t *l;
    json_array_foreach(f->labels, i, l)
    {
        if (!label_holds(labels, json_string_value(l)))
            return 0;
    }
    json_array_foreach(f->unlabels, i, l)
    {
        if (label_holds(labels, json_string_value(l)))
            return 0;
    }
    return 1;
}

/* a, or null for an empty one (Docker's nil list) */
static json_t *null_if_empty(json_t *a)
{
    if (json_array_size(a))
        return a;
    json_decref(a);
    return json_null();
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- what the port layer has ---- */

static int is_running(const json_t *x)
{
    const char *state = vic_json_str(x, "state");
    return state && (strcmp(state, "running") == 0 || strcmp(state, "starting") == 0 ||
                     strcmp(state, "restarting") == 0 || strcmp(state, "paused") == 0);
}

/* How many containers use each image: {image id: count}. */
static json_t *image_users(const json_t *containers)
{
    json_t *users = json_object();
    size_t i;
    json_t *x;
    json_array_foreach(containers, i, x)
    {
        json_t *rec cleanup_json = engine_record_of(x);
        const char *id = vic_json_str(rec, "ImageID");
        if (id)
            json_object_set_new(users, id,
                                json_integer(json_integer_value(json_object_get(users, id)) + 1));
    }
    return users;
}

static int list_containers(engine_ctx *c, json_t **out, vic_err **err)
{
    int rc = vic_httpc_json(c->pl, "GET", "/containers?all=1", NULL, 0, out, err);
    return rc < 0 ? engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err) : 0;
}

/* The port layer's images (an empty list for a port layer without an image store). */
static int list_images(engine_ctx *c, json_t **out, vic_err **err)
{
    int rc = vic_httpc_json(c->pl, "GET", "/images", NULL, 0, out, err);
    if (rc == VIC_ENOTFOUND || rc == VIC_EUNAVAIL) {
        vic_err_free(err);
        *out = json_array();
        return 0;
    }
    return rc < 0 ? engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err) : 0;
}

/* The port layer's record of image id (NULL when it is gone). */
static json_t *image_record(engine_ctx *c, const char *id)
{
    cleanup_free char *esc = engine_url_escape(id);
    cleanup_free char *path = xasprintf("/images/inspect?ref=%s", esc);
    json_t *img = NULL;
    vic_err *e cleanup_err = NULL;
    return vic_httpc_json(c->pl, "GET", path, NULL, 0, &img, &e) == 0 ? img : NULL;
}

/* ---- the routes ---- */

int engine_container_prune_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                   vic_err **err)
{
    engine_ctx *c = payload;
    static const char *const allowed[] = {"until", "label", "label!", NULL};
    engine_prune_filter f;
    int rc =
        engine_prune_filter_parse(&f, vic_http_req_query(req, "filters"), allowed, now_ns(), err);
    json_t *list cleanup_json = NULL;
    if (rc == 0)
        rc = list_containers(c, &list, err);
    if (rc < 0) {
        engine_prune_filter_clear(&f);
        return rc;
    }
    json_t *deleted = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        json_t *rec cleanup_json = engine_record_of(x);
        const char *id = vic_json_str(x, "id");
        if (id == NULL || is_running(x) ||
            !engine_prune_match(&f, json_object_get(json_object_get(rec, "Config"), "Labels"),
                                engine_time_ns(vic_json_str(x, "created_at"))))
            continue;
        cleanup_free char *path = xasprintf("/containers/%s", id);
        json_t *out cleanup_json = NULL;
        vic_err *e cleanup_err = NULL;
        /* one that started or went meanwhile is left as it is, as Docker leaves it */
        if (vic_httpc_json(c->pl, "DELETE", path, NULL, 60000, &out, &e) == 0)
            json_array_append_new(deleted, json_string(id));
    }
    engine_prune_filter_clear(&f);
    vic_http_resp_json(resp, 200,
                       json_pack("{s:o, s:I}", "ContainersDeleted", null_if_empty(deleted),
                                 "SpaceReclaimed", (json_int_t)0));
    return 0;
}

int engine_image_prune_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    static const char *const allowed[] = {"dangling", "until", "label", "label!", NULL};
    engine_prune_filter f;
    int rc =
        engine_prune_filter_parse(&f, vic_http_req_query(req, "filters"), allowed, now_ns(), err);
    json_t *containers cleanup_json = NULL, *images cleanup_json = NULL;
    if (rc == 0)
        rc = list_containers(c, &containers, err);
    if (rc == 0)
        rc = list_images(c, &images, err);
    if (rc < 0) {
        engine_prune_filter_clear(&f);
        return rc;
    }
    int dangling_only = f.dangling != 0; /* docker image prune: dangling ones; -a: all unused */
    json_t *users cleanup_json = image_users(containers);
    json_t *deleted = json_array();
    json_int_t reclaimed = 0;
    size_t i;
    json_t *im;
    json_array_foreach(images, i, im)
    {
        const char *id = vic_json_str(im, "Id");
        if (id == NULL || json_object_get(users, id) ||
            (dangling_only && json_array_size(json_object_get(im, "RepoTags"))))
            continue;
        json_t *rec cleanup_json = image_record(c, id);
        if (rec == NULL ||
            !engine_prune_match(&f, json_object_get(json_object_get(rec, "config"), "labels"),
                                engine_time_ns(vic_json_str(rec, "created"))))
            continue;
        cleanup_free char *esc = engine_url_escape(id);
        cleanup_free char *path = xasprintf("/images?ref=%s&force=1", esc);
        json_t *out cleanup_json = NULL;
        vic_err *e cleanup_err = NULL;
        if (vic_httpc_json(c->pl, "DELETE", path, NULL, 60000, &out, &e) < 0)
            continue;
        size_t j;
        json_t *r;
        json_array_foreach(out, j, r)
        {
            json_t *u = json_object_get(r, "Untagged");
            if (json_is_string(u)) {
                cleanup_free char *fam = engine_image_familiar(json_string_value(u));
                json_array_append_new(deleted, json_pack("{s:s}", "Untagged", fam));
            } else if (json_is_string(json_object_get(r, "Deleted"))) {
                json_array_append(deleted, r);
            }
        }
        reclaimed += json_integer_value(json_object_get(im, "Size"));
    }
    engine_prune_filter_clear(&f);
    vic_http_resp_json(resp, 200,
                       json_pack("{s:o, s:I}", "ImagesDeleted", null_if_empty(deleted),
                                 "SpaceReclaimed", reclaimed));
    return 0;
}

int engine_system_df_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req;
    engine_ctx *c = payload;
    json_t *containers cleanup_json = NULL, *images cleanup_json = NULL,
                       *volumes cleanup_json = NULL;
    int rc = list_containers(c, &containers, err);
    if (rc == 0)
        rc = list_images(c, &images, err);
    if (rc < 0)
        return rc;
    vic_err *ve cleanup_err = NULL;
    if (vic_httpc_json(c->pl, "GET", "/volumes", NULL, 30000, &volumes, &ve) < 0)
        volumes = json_array(); /* a port layer without volume stores */
    json_t *users cleanup_json = image_users(containers);
    json_t *layers cleanup_json = json_object(); /* blob digest: size, each layer once */
    json_t *out_images = json_array();
    size_t i;
    json_t *im;
    json_array_foreach(images, i, im)
    {
        const char *id = vic_json_str(im, "Id");
        json_t *one = json_deep_copy(im);
        engine_image_familiar_all(json_object_get(one, "RepoTags"));
        engine_image_familiar_all(json_object_get(one, "RepoDigests"));
        json_object_set_new(one, "Containers",
                            json_integer(json_integer_value(json_object_get(users, id ?: ""))));
        json_object_set_new(one, "SharedSize", json_integer(-1));
        json_array_append_new(out_images, one);
        json_t *rec cleanup_json = id ? image_record(c, id) : NULL;
        size_t j;
        json_t *l;
        json_array_foreach(json_object_get(rec, "layers"), j, l)
        {
            const char *d = vic_json_str(l, "digest");
            if (d)
                json_object_set(layers, d, json_object_get(l, "size"));
        }
    }
    json_int_t layers_size = 0;
    const char *k;
    json_t *v;
    json_object_foreach(layers, k, v)
    {
        layers_size += json_integer_value(v);
    }
    json_t *out_containers = json_array();
    time_t now = time(NULL);
    json_t *x;
    json_array_foreach(containers, i, x)
    {
        json_t *one = engine_container_summary(x, now);
        json_object_set_new(one, "SizeRw", json_integer(0));
        json_object_set_new(one, "SizeRootFs", json_integer(0));
        json_array_append_new(out_containers, one);
    }
    json_t *out_volumes = json_array();
    json_array_foreach(volumes, i, v)
    {
        json_array_append_new(out_volumes, engine_volume_docker(v));
    }
    vic_http_resp_json(resp, 200,
                       json_pack("{s:I, s:o, s:o, s:o, s:[]}", "LayersSize", layers_size, "Images",
                                 out_images, "Containers", out_containers, "Volumes", out_volumes,
                                 "BuildCache"));
    return 0;
}

int engine_build_prune_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)payload;
    /* any of BuildKit's filters: there is nothing they could select */
    json_t *f cleanup_json = NULL;
    int rc = engine_filters_parse(vic_http_req_query(req, "filters"), NULL, &f, err);
    if (rc < 0)
        return rc;
    vic_http_resp_json(resp, 200,
                       json_pack("{s:n, s:I}", "CachesDeleted", "SpaceReclaimed", (json_int_t)0));
    return 0;
}
