/*
 * images.c - Docker's image routes over the port layer's image store (see images.h).
 */
#include "personality/images.h"

#include <openssl/crypto.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/httpc.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "personality/common.h"
#include "personality/inspect.h"

void engine_images_rewrite(vic_http_req *req)
{
    static const struct {
        const char *method, *suffix, *path;
    } routes[] = {
        {"GET", "/json", "/images/inspect"}, {"GET", "/history", "/images/history"},
        {"POST", "/tag", "/images/tag"},     {"GET", "/get", "/images/get"},
        {"POST", "/push", "/images/push"},
    };
    const char *p = vic_http_req_path(req), *method = vic_http_req_method(req);
    if (strcmp(method, "DELETE") == 0 && strncmp(p, "/images/", 8) == 0 && p[8] != '\0') {
        vic_http_req_add_query(req, "name", p + 8);
        vic_http_req_set_path(req, "/images/rmi");
        return;
    }
    if (strncmp(p, "/images/", 8) != 0)
        return;
    const char *name = p + 8;
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        size_t sl = strlen(routes[i].suffix);
        if (strcmp(method, routes[i].method) != 0 || len <= sl ||
            strcmp(name + len - sl, routes[i].suffix) != 0)
            continue;
        cleanup_free char *n = xstrndup(name, len - sl);
        vic_http_req_add_query(req, "name", n);
        vic_http_req_set_path(req, routes[i].path);
        return;
    }
}

char *engine_image_familiar(const char *ref)
{
    if (strncmp(ref, "docker.io/library/", 18) == 0 && strchr(ref + 18, '/') == NULL)
        return xstrdup(ref + 18);
    if (strncmp(ref, "docker.io/", 10) == 0)
        return xstrdup(ref + 10);
    return xstrdup(ref);
}

void engine_image_familiar_all(json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v)) {
            cleanup_free char *f = engine_image_familiar(json_string_value(v));
            json_string_set(v, f);
        }
    }
}

/* The port layer's record of the image the request names. */
static int image_record(engine_ctx *c, vic_http_req *req, const char *what, json_t **out,
                        vic_err **err)
{
    const char *name = vic_http_req_query(req, "name");
    if (name == NULL || *name == '\0')
        return vic_err_set(err, VIC_EINVAL, "name: is required");
    cleanup_free char *esc = engine_url_escape(name);
    cleanup_free char *path = xasprintf("/images/%s?ref=%s", what, esc);
    int rc = vic_httpc_json(c->pl, "GET", path, NULL, 0, out, err);
    return rc < 0 ? engine_docker_err(rc, ENGINE_OBJ_IMAGE, name, err) : 0;
}

/* {"80/tcp": {}} from ["80/tcp"]; null when empty (as docker shows an absent set). */
static json_t *key_set(const json_t *keys)
{
    if (json_array_size(keys) == 0)
        return json_null();
    json_t *o = json_object();
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) if (json_is_string(k))
        json_object_set_new(o, json_string_value(k), json_object());
    return o;
}

static json_t *or_null(json_t *v)
{
    return v ? json_incref(v) : json_null();
}

int engine_image_inspect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                 vic_err **err)
{
    json_t *img cleanup_json = NULL;
    int rc = image_record(payload, req, "inspect", &img, err);
    if (rc < 0)
        return rc;
    json_t *cfg = json_object_get(img, "config");
    json_t *layers = json_array();
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(img, "layers"), i, l)
        json_array_append(layers, json_object_get(l, "diff_id"));
    json_t *tags = json_deep_copy(json_object_get(img, "repo_tags")),
           *digests = json_deep_copy(json_object_get(img, "repo_digests"));
    engine_image_familiar_all(tags);
    engine_image_familiar_all(digests);
    json_t *config = json_pack(
        "{s:s, s:s, s:s, s:b, s:b, s:b, s:o, s:b, s:b, s:b, s:o, s:o, s:s, s:o, s:s, s:o, s:o, "
        "s:o}",
        "Hostname", "", "Domainname", "", "User", vic_json_str(cfg, "user") ?: "", "AttachStdin", 0,
        "AttachStdout", 0, "AttachStderr", 0, "ExposedPorts",
        key_set(json_object_get(cfg, "exposed_ports")), "Tty", 0, "OpenStdin", 0, "StdinOnce", 0,
        "Env", or_null(json_object_get(cfg, "env")), "Cmd", or_null(json_object_get(cfg, "cmd")),
        "Image", "", "Volumes", key_set(json_object_get(cfg, "volumes")), "WorkingDir",
        vic_json_str(cfg, "working_dir") ?: "", "Entrypoint",
        or_null(json_object_get(cfg, "entrypoint")), "OnBuild", json_null(), "Labels",
        or_null(json_object_get(cfg, "labels")));
    if (vic_json_str(cfg, "stop_signal"))
        json_object_set_new(config, "StopSignal", json_string(vic_json_str(cfg, "stop_signal")));
    if (json_is_object(json_object_get(cfg, "healthcheck")))
        json_object_set(config, "Healthcheck", json_object_get(cfg, "healthcheck"));
    json_int_t size = json_integer_value(json_object_get(img, "size"));
    json_t *out = json_pack(
        "{s:O, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:{s:s, s:{}}, "
        "s:{s:s, s:o}, s:{s:s}}",
        "Id", json_object_get(img, "id"), "RepoTags", tags ? tags : json_array(), "RepoDigests",
        digests ? digests : json_array(), "Parent", vic_json_str(img, "parent") ?: "", "Comment",
        vic_json_str(img, "comment") ?: "", "Created", vic_json_str(img, "created") ?: "",
        "Container", vic_json_str(img, "container") ?: "", "DockerVersion", "", "Author",
        vic_json_str(img, "author") ?: "", "Config", config, "Architecture",
        vic_json_str(img, "architecture") ?: "", "Os", vic_json_str(img, "os") ?: "", "Size", size,
        "VirtualSize", size, "GraphDriver", "Name", "vic", "Data", "RootFS", "Type", "layers",
        "Layers", layers, "Metadata", "LastTagTime", "0001-01-01T00:00:00Z");
    if (out == NULL)
        return vic_err_set(err, VIC_EINTERNAL, "image inspect: cannot build the answer");
    vic_http_resp_json(resp, 200, out);
    return 0;
}

/* Seconds since the epoch of an RFC 3339 time ("2000-01-01T00:00:00Z", fractions and
 * offsets allowed); 0 when it cannot be read. */
static json_int_t unix_time(const char *s)
{
    struct tm tm = {0};
    const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (rest == NULL)
        return 0;
    json_int_t t = (json_int_t)timegm(&tm);
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            ;
    int hh = 0, mm = 0;
    if ((rest[0] == '+' || rest[0] == '-') && sscanf(rest + 1, "%2d:%2d", &hh, &mm) == 2)
        t -= (rest[0] == '+' ? 1 : -1) * (json_int_t)(hh * 3600 + mm * 60);
    return t;
}

int engine_image_history_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                 vic_err **err)
{
    json_t *img cleanup_json = NULL, *hist cleanup_json = NULL;
    int rc = image_record(payload, req, "inspect", &img, err);
    if (rc == 0)
        rc = image_record(payload, req, "history", &hist, err);
    if (rc < 0)
        return rc;
    /* newest first; the image itself is the top entry, the ones below it have no id of
     * their own in a pulled image (docker shows <missing>) */
    json_t *out = json_array();
    for (size_t i = json_array_size(hist); i-- > 0;) {
        json_t *h = json_array_get(hist, i);
        int top = json_array_size(out) == 0;
        json_t *tags = top ? json_deep_copy(json_object_get(img, "repo_tags")) : json_null();
        if (top)
            engine_image_familiar_all(tags);
        json_array_append_new(out, json_pack("{s:s, s:I, s:s, s:o, s:I, s:s}", "Id",
                                             top ? vic_json_str(img, "id") : "<missing>", "Created",
                                             unix_time(vic_json_str(h, "created")), "CreatedBy",
                                             vic_json_str(h, "created_by") ?: "", "Tags",
                                             tags ? tags : json_null(), "Size",
                                             json_integer_value(json_object_get(h, "size")),
                                             "Comment", vic_json_str(h, "comment") ?: ""));
    }
    vic_http_resp_json(resp, 200, out);
    return 0;
}

int engine_image_tag_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    const char *name = vic_http_req_query(req, "name"), *repo = vic_http_req_query(req, "repo"),
               *tag = vic_http_req_query(req, "tag");
    if (name == NULL || *name == '\0')
        return vic_err_set(err, VIC_EINVAL, "name: is required");
    if (repo == NULL || *repo == '\0')
        return vic_err_set(err, VIC_EINVAL, "repo: is required (the repository to tag into)");
    cleanup_free char *ref = tag && *tag ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
    cleanup_free char *en = engine_url_escape(name), *er = engine_url_escape(ref);
    cleanup_free char *path = xasprintf("/images/tag?ref=%s&tag=%s", en, er);
    json_t *out cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "POST", path, NULL, 0, &out, err);
    if (rc < 0) /* the image to tag is the one a 404 can be about */
        return engine_docker_err(rc, ENGINE_OBJ_IMAGE, name, err);
    vic_http_resp_text(resp, 201, "text/plain; charset=utf-8", "", 0);
    return 0;
}

/* ---- list, pull, remove; build is not done here ---- */

int engine_image_build_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)resp, (void)payload;
    return vic_err_set(err, VIC_EUNSUPPORTED,
                       "docker build is not supported by a VCH: build on "
                       "a Docker host, push the image to a registry, and run it here");
}

int engine_image_list_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req;
    engine_ctx *c = payload;
    json_t *list cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "GET", "/images", NULL, 0, &list, err);
    if (rc == VIC_ENOTFOUND || rc == VIC_EUNAVAIL) { /* a port layer without an image store */
        vic_err_free(err);
        vic_http_resp_json(resp, 200, json_array());
        return 0;
    }
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err);
    size_t i;
    json_t *im;
    json_array_foreach(list, i, im)
    {
        engine_image_familiar_all(json_object_get(im, "RepoTags"));
        engine_image_familiar_all(json_object_get(im, "RepoDigests"));
    }
    vic_http_resp_json(resp, 200, json_incref(list));
    return 0;
}

/* A pull streams Docker's progress lines as the port layer produces them, from a thread of
 * its own. */
typedef struct puller {
    engine_ctx *c;
    char *path;
    char *auth; /* "X-Registry-Auth: ..." for the port layer, or NULL; a secret */
    vic_http_stream *s;
} puller;

static int relay_line(const char *line, size_t len, void *payload)
{
    puller *p = payload;
    if (vic_http_stream_write_line(p->s, line, len, NULL) < 0)
        return -1; /* the client left */
    return 0;
}

static void *pull_thread(void *arg)
{
    puller *p = arg;
    vic_err *err = NULL;
    if (vic_httpc_lines_with(p->c->pl, "POST", p->path, p->auth, 30 * 60 * 1000, relay_line, p,
                             &err) < 0) {
        json_t *line =
            json_pack("{s:{s:s}, s:s}", "errorDetail", "message", err->msg, "error", err->msg);
        char *text = json_dumps(line, JSON_COMPACT);
        relay_line(text, strlen(text), p);
        free(text);
        json_decref(line);
    }
    vic_err_free(&err);
    vic_http_stream_close(p->s);
    vic_http_stream_release(p->s);
    free(p->path);
    vic_free_secret(p->auth);
    free(p);
    return NULL;
}

int engine_image_push_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    const char *name = vic_http_req_query(req, "name"), *tag = vic_http_req_query(req, "tag");
    if (name == NULL || *name == '\0')
        return vic_err_set(err, VIC_EINVAL, "name: is required");
    cleanup_free char *en = engine_url_escape(name), *et = engine_url_escape(tag ? tag : "");
    puller *p = xzalloc(sizeof(*p));
    p->c = c;
    p->path = xasprintf("/images/push?ref=%s&tag=%s", en, et);
    p->auth = engine_registry_auth_header(req);
    p->s = vic_http_resp_stream(resp, 200, "application/json");
    pthread_t th;
    if (pthread_create(&th, NULL, pull_thread, p) != 0) {
        vic_http_stream_close(p->s);
        vic_http_stream_release(p->s);
        free(p->path);
        vic_free_secret(p->auth);
        free(p);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start a push");
    }
    pthread_detach(th);
    return 0;
}

char *engine_registry_auth_header(vic_http_req *req)
{
    const char *v = vic_http_req_header(req, "X-Registry-Auth");
    return v && *v ? xasprintf("X-Registry-Auth: %s", v) : NULL;
}

int engine_auth_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    size_t len = 0;
    const char *body = vic_http_req_body(req, &len);
    json_t *b cleanup_json = NULL;
    int rc = vic_json_parse(&b, body, len, 0, err);
    if (rc < 0)
        return rc;
    json_t *out cleanup_json = NULL;
    rc = vic_httpc_json(c->pl, "POST", "/registry/login", b, 60000, &out, err);
    OPENSSL_cleanse((char *)body, len);
    const char *pass = vic_json_str(b, "password");
    if (pass)
        OPENSSL_cleanse((char *)pass, strlen(pass));
    if (rc == VIC_EAUTH) /* the registry refused the credentials: Docker's 401 */
        return rc;
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err);
    vic_http_resp_json(resp, 200, json_incref(out));
    return 0;
}

/* Whether name is the image id (or a prefix of its hex): docker rmi by id, not by reference. */
static int names_id(const char *name, const char *id)
{
    const char *hex = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
    size_t n = strlen(hex);
    return n > 0 && strspn(hex, "0123456789abcdef") == n && id && strncmp(id, "sha256:", 7) == 0 &&
           strncmp(id + 7, hex, n) == 0;
}

/* The repository of a reference "repo:tag" or "repo@sha256:..." (caller frees). */
static char *ref_repo(const char *ref)
{
    const char *at = strchr(ref, '@');
    size_t n = at ? (size_t)(at - ref) : strlen(ref);
    const char *slash = memrchr(ref, '/', n), *colon = memrchr(ref, ':', n);
    if (!at && colon && (!slash || colon > slash))
        n = (size_t)(colon - ref);
    return xstrndup(ref, n);
}

/* Docker's isSingleReference: the image has one tag (or none), and its digests name that
 * tag's repository only; removing the reference would leave the image dangling. */
static int single_reference(const json_t *img)
{
    const json_t *tags = json_object_get(img, "repo_tags"),
                 *digests = json_object_get(img, "repo_digests");
    size_t nt = json_array_size(tags), nd = json_array_size(digests);
    if (nt + nd <= 1)
        return nt + nd == 1;
    if (nt > 1)
        return 0;
    cleanup_free char *repo = ref_repo(json_string_value(json_array_get(nt ? tags : digests, 0)));
    size_t i;
    json_t *d;
    json_array_foreach(digests, i, d)
    {
        cleanup_free char *r = ref_repo(json_string_value(d) ? json_string_value(d) : "");
        if (strcmp(r, repo) != 0)
            return 0;
    }
    return 1;
}

/* Docker's conflicts of docker rmi: a container using the image keeps its last reference
 * (unless forced) and, by id, the image itself (a running one even when forced). */
static int rmi_conflict(engine_ctx *c, const char *name, int force, vic_err **err)
{
    json_t *img cleanup_json = NULL;
    cleanup_free char *esc = engine_url_escape(name);
    cleanup_free char *path = xasprintf("/images/inspect?ref=%s", esc);
    int rc = vic_httpc_json(c->pl, "GET", path, NULL, 0, &img, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_IMAGE, name, err);
    const char *id = vic_json_str(img, "id");
    int by_id = names_id(name, id);
    if (!by_id && (force || !single_reference(img)))
        return 0; /* only a reference goes */
    json_t *list cleanup_json = NULL;
    if ((rc = vic_httpc_json(c->pl, "GET", "/containers?all=1", NULL, 0, &list, err)) < 0)
        return engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err);
    const json_t *user = NULL;
    int running = 0;
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        json_t *rec cleanup_json = engine_record_of(x);
        const char *uses = vic_json_str(rec, "ImageID");
        if (uses == NULL || id == NULL || strcmp(uses, id) != 0)
            continue;
        const char *state = vic_json_str(x, "state");
        int on = state && (strcmp(state, "running") == 0 || strcmp(state, "starting") == 0);
        if (user == NULL || (on && !running))
            user = x, running = on;
    }
    if (user == NULL)
        return 0;
    const char *hex = id + 7;
    if (!by_id)
        return vic_err_set(err, VIC_ECONFLICT,
                           "conflict: unable to remove repository reference \"%s\" (must force) - "
                           "container %.12s is using its referenced image %.12s",
                           name, vic_json_str(user, "id"), hex);
    if (running)
        return vic_err_set(err, VIC_ECONFLICT,
                           "conflict: unable to delete %.12s (cannot be forced) - image is being "
                           "used by running container %.12s",
                           hex, vic_json_str(user, "id"));
    if (!force)
        return vic_err_set(err, VIC_ECONFLICT,
                           "conflict: unable to delete %.12s (must be forced) - image is being "
                           "used by stopped container %.12s",
                           hex, vic_json_str(user, "id"));
    return 0;
}

int engine_image_remove_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                vic_err **err)
{
    engine_ctx *c = payload;
    const char *name = vic_http_req_query(req, "name");
    const char *force = vic_http_req_query(req, "force");
    int forced = force && strcmp(force, "0") && strcmp(force, "false");
    if (name && *name) {
        int crc = rmi_conflict(c, name, forced, err);
        if (crc < 0)
            return crc;
    }
    cleanup_free char *esc = engine_url_escape(name ? name : "");
    cleanup_free char *path = xasprintf("/images?ref=%s&force=%d", esc,
                                        force && strcmp(force, "0") && strcmp(force, "false"));
    json_t *out = NULL;
    int rc = vic_httpc_json(c->pl, "DELETE", path, NULL, 0, &out, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_IMAGE, name, err);
    size_t i;
    json_t *e;
    json_array_foreach(out, i, e)
    {
        json_t *u = json_object_get(e, "Untagged");
        if (json_is_string(u)) {
            cleanup_free char *f = engine_image_familiar(json_string_value(u));
            json_string_set(u, f);
        }
    }
    vic_http_resp_json(resp, 200, out ? out : json_array());
    return 0;
}

int engine_image_pull_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    const char *from = vic_http_req_query(req, "fromImage"), *tag = vic_http_req_query(req, "tag");
    if (vic_http_req_query(req, "fromSrc"))
        return vic_err_set(err, VIC_EUNSUPPORTED, "docker import is not supported by a VCH");
    if (from == NULL || *from == '\0')
        return vic_err_set(err, VIC_EINVAL, "fromImage: is required");
    cleanup_free char *ref =
        tag && *tag ? xasprintf("%s%s%s", from, strncmp(tag, "sha256:", 7) ? ":" : "@", tag)
                    : xstrdup(from);
    cleanup_free char *esc = engine_url_escape(ref);
    puller *p = xzalloc(sizeof(*p));
    p->c = c;
    p->path = xasprintf("/images/pull?ref=%s", esc);
    p->auth = engine_registry_auth_header(req);
    p->s = vic_http_resp_stream(resp, 200, "application/json");
    pthread_t th;
    if (pthread_create(&th, NULL, pull_thread, p) != 0) {
        vic_http_stream_close(p->s);
        vic_http_stream_release(p->s);
        free(p->path);
        vic_free_secret(p->auth);
        free(p);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start a pull");
    }
    pthread_detach(th);
    return 0;
}

/* ---- save and load ---- */

#define ARCHIVE_STALL_MS (5 * 60 * 1000)

typedef struct saver {
    engine_ctx *c;
    char *path;
    vic_http_stream *s;
} saver;

static int save_chunk(const void *data, size_t len, void *payload)
{
    saver *v = payload;
    return vic_http_stream_write_wait(v->s, data, len, ARCHIVE_STALL_MS, NULL) < 0 ? -1 : 0;
}

static void *save_thread(void *arg)
{
    saver *v = arg;
    vic_err *err = NULL;
    if (vic_httpc_raw(v->c->pl, "GET", v->path, -1, NULL, ARCHIVE_STALL_MS, save_chunk, v, &err) <
            0 &&
        err->code != VIC_EUNAVAIL)
        /* the status is sent already: the client sees a cut archive and says so */
        vic_log(VIC_LOG_WARN, "event=save_relay_failed err=\"%s\"", err->msg);
    vic_err_free(&err);
    vic_http_stream_close(v->s);
    vic_http_stream_release(v->s);
    free(v->path);
    free(v);
    return NULL;
}

int engine_image_save_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    /* GET /images/get?names=a&names=b, or GET /images/NAME/get (name=) */
    const char *key = vic_http_req_query(req, "names") ? "names" : "name";
    vic_buf path = VIC_BUF_INIT;
    vic_buf_append(&path, "/images/save", 12);
    size_t n = 0;
    for (const char *name; (name = vic_http_req_query_nth(req, key, n)) != NULL; n++) {
        /* a missing image is a 404 before the archive starts */
        cleanup_free char *esc = engine_url_escape(name);
        cleanup_free char *ipath = xasprintf("/images/inspect?ref=%s", esc);
        json_t *img cleanup_json = NULL;
        int rc = vic_httpc_json(c->pl, "GET", ipath, NULL, 0, &img, err);
        if (rc < 0) {
            vic_buf_free(&path);
            return engine_docker_err(rc, ENGINE_OBJ_IMAGE, name, err);
        }
        vic_buf_appendf(&path, "%sref=%s", n ? "&" : "?", esc);
    }
    if (n == 0) {
        vic_buf_free(&path);
        return vic_err_set(err, VIC_EINVAL, "names: is required (the images to save)");
    }
    saver *v = xzalloc(sizeof(*v));
    v->c = c;
    v->path = vic_buf_steal(&path);
    v->s = vic_http_resp_stream(resp, 200, "application/x-tar");
    pthread_t th;
    if (pthread_create(&th, NULL, save_thread, v) != 0) {
        vic_http_stream_close(v->s);
        vic_http_stream_release(v->s);
        free(v->path);
        free(v);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start the archive");
    }
    pthread_detach(th);
    return 0;
}

static int collect_answer(const void *data, size_t len, void *payload)
{
    vic_buf *b = payload;
    if (b->len + len > 1 << 20)
        return -1;
    vic_buf_append(b, data, len);
    return 0;
}

int engine_image_load_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    int fd = vic_http_req_body_fd(req), own cleanup_close = -1;
    if (fd < 0) { /* sent without Content-Type application/x-tar: the body is in memory */
        size_t len = 0;
        const char *body = vic_http_req_body(req, &len);
        own = fd = memfd_create("load", MFD_CLOEXEC);
        if (fd < 0 || (len && write(fd, body, len) != (ssize_t)len) || lseek(fd, 0, SEEK_SET))
            return vic_err_sys(err, VIC_EIO, errno, "keep the archive");
    }
    vic_buf answer = VIC_BUF_INIT;
    int rc = vic_httpc_raw(c->pl, "POST", "/images/load", fd, "application/x-tar", ARCHIVE_STALL_MS,
                           collect_answer, &answer, err);
    json_t *out cleanup_json = NULL;
    if (rc == 0 && vic_json_parse(&out, answer.data ? answer.data : "", answer.len, 0, err) < 0)
        rc = VIC_EUPSTREAM;
    vic_buf_free(&answer);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err);
    /* Docker's answer: JSON lines of {"stream": "Loaded image: ...\n"} */
    vic_buf lines = VIC_BUF_INIT;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(out, "loaded"), i, l)
    {
        cleanup_free char *f = NULL;
        const char *text = json_string_value(l);
        if (text == NULL)
            continue;
        static const char prefix[] = "Loaded image: ";
        if (strncmp(text, prefix, sizeof(prefix) - 1) == 0) {
            cleanup_free char *fam = engine_image_familiar(text + sizeof(prefix) - 1);
            f = xasprintf("%s%s", prefix, fam);
        }
        json_t *line cleanup_json = json_pack("{s:s+}", "stream", f ? f : text, "\n");
        cleanup_free char *js = json_dumps(line, JSON_COMPACT);
        vic_buf_appendf(&lines, "%s\n", js);
    }
    vic_http_resp_text(resp, 200, "application/json", lines.data ? lines.data : "", lines.len);
    vic_buf_free(&lines);
    return 0;
}
