/*
 * registry.c - manifest and config parsing, and the pull (libcurl).
 */
#include "portlayer/registry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/httpc.h"
#include "lib/json.h"
#include "lib/mem.h"

#define DEFAULT_MAX_MANIFEST (4u << 20)
#define MAX_ERROR_BODY       (64u << 10)
#define MAX_TOKEN_BODY       (1u << 20)
#define MAX_REDIRECTS        5L
#define MAX_LAYERS           1000
#define PROGRESS_STEP        (256u << 10)

/* ---- manifests and configs ---- */

static int digest_field(const json_t *obj, const char *what, vic_err **err)
{
    const char *d = vic_json_str(obj, "digest");
    if (d == NULL)
        return vic_err_set(err, VIC_EINVAL, "%s: digest missing", what);
    if (strncmp(d, "sha256:", 7) != 0 && strchr(d, ':'))
        return vic_err_set(err, VIC_EUNSUPPORTED, "%s: digest algorithm of %.80s not supported",
                           what, d);
    if (!pl_digest_valid(d))
        return vic_err_set(err, VIC_EINVAL, "%s: malformed digest \"%.80s\"", what, d);
    return 0;
}

/* {"digest", "size", "media_type"} of a descriptor, or an error naming what. */
static int descriptor(json_t **out, const json_t *d, const char *what, vic_err **err)
{
    *out = NULL;
    if (!json_is_object(d))
        return vic_err_set(err, VIC_EINVAL, "%s: must be an object", what);
    int rc = digest_field(d, what, err);
    if (rc < 0)
        return rc;
    json_t *size = json_object_get(d, "size");
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return vic_err_set(err, VIC_EINVAL, "%s: size must be a non-negative integer", what);
    json_t *mt = json_object_get(d, "mediaType");
    if (mt && !json_is_string(mt))
        return vic_err_set(err, VIC_EINVAL, "%s: mediaType must be a string", what);
    *out = json_pack("{s:s,s:I,s:s}", "digest", vic_json_str(d, "digest"), "size",
                     json_integer_value(size), "media_type", mt ? json_string_value(mt) : "");
    return 0;
}

static int is_manifest_type(const char *t)
{
    return t && (strcmp(t, PL_MT_DOCKER_MANIFEST) == 0 || strcmp(t, PL_MT_OCI_MANIFEST) == 0);
}

static int is_index_type(const char *t)
{
    return t && (strcmp(t, PL_MT_DOCKER_LIST) == 0 || strcmp(t, PL_MT_OCI_INDEX) == 0);
}

static int layer_type_ok(const char *t, vic_err **err)
{
    static const char *const ok[] = {
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.diff.tar", /* uncompressed, as docker load keeps */
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(t, ok[i]) == 0)
            return 0;
    if (strstr(t, "foreign") || strstr(t, "nondistributable"))
        return vic_err_set(err, VIC_EUNSUPPORTED, "foreign layers (%.100s) are not supported", t);
    return vic_err_set(err, VIC_EINVAL, "layer media type \"%.100s\" is not a tar layer", t);
}

int pl_manifest_parse(json_t **out, const char *body, size_t len, const char *media_type,
                      vic_err **err)
{
    *out = NULL;
    json_t *doc cleanup_json = NULL;
    int rc = vic_json_parse(&doc, body, len, 0, err);
    if (rc < 0)
        return vic_err_wrap(err, rc, "manifest");
    if (!json_is_object(doc))
        return vic_err_set(err, VIC_EINVAL, "manifest: not a JSON object");
    json_t *sv = json_object_get(doc, "schemaVersion");
    if (json_is_integer(sv) && json_integer_value(sv) == 1)
        return vic_err_set(err, VIC_EUNSUPPORTED, "manifest: schema 1 is not supported");
    if (!json_is_integer(sv) || json_integer_value(sv) != 2)
        return vic_err_set(err, VIC_EINVAL, "manifest: schemaVersion must be 2");
    const char *own = vic_json_str(doc, "mediaType");
    const char *mt = media_type;
    if (!is_manifest_type(mt) && !is_index_type(mt))
        mt = own;
    if (!is_manifest_type(mt) && !is_index_type(mt)) {
        if (own && own[0])
            return vic_err_set(err, VIC_EUNSUPPORTED, "manifest: media type %.100s", own);
        mt = json_object_get(doc, "manifests") ? PL_MT_OCI_INDEX : PL_MT_OCI_MANIFEST;
    }
    if (is_index_type(mt)) {
        json_t *ms = json_object_get(doc, "manifests");
        if (!json_is_array(ms) || json_array_size(ms) > MAX_LAYERS)
            return vic_err_set(err, VIC_EINVAL, "index: manifests must be an array");
        json_t *list cleanup_json = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(ms, i, m)
        {
            char what[48];
            snprintf(what, sizeof(what), "index: manifests[%zu]", i);
            json_t *d = NULL;
            rc = descriptor(&d, m, what, err);
            if (rc < 0)
                return rc;
            json_t *plat = json_object_get(m, "platform");
            if (plat && !json_is_object(plat)) {
                json_decref(d);
                return vic_err_set(err, VIC_EINVAL, "%s: platform must be an object", what);
            }
            const char *keys[] = {"os", "architecture", "variant"};
            for (size_t k = 0; k < 3; k++) {
                json_t *v = json_object_get(plat, keys[k]);
                json_object_set_new(d, keys[k], json_is_string(v) ? json_copy(v) : json_string(""));
            }
            json_array_append_new(list, d);
        }
        *out = json_pack("{s:s,s:s,s:O}", "kind", "index", "media_type", mt, "manifests", list);
        return 0;
    }
    json_t *cfg = NULL;
    rc = descriptor(&cfg, json_object_get(doc, "config"), "manifest: config", err);
    if (rc < 0)
        return rc;
    json_t *res cleanup_json = json_pack("{s:s,s:s,s:o,s:[]}", "kind", "manifest", "media_type", mt,
                                         "config", cfg, "layers");
    json_t *layers = json_object_get(doc, "layers");
    if (!json_is_array(layers) || json_array_size(layers) > MAX_LAYERS)
        return vic_err_set(err, VIC_EINVAL, "manifest: layers must be an array of at most %d",
                           MAX_LAYERS);
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l)
    {
        char what[48];
        snprintf(what, sizeof(what), "manifest: layers[%zu]", i);
        json_t *d = NULL;
        rc = descriptor(&d, l, what, err);
        if (rc < 0)
            return rc;
        rc = layer_type_ok(vic_json_str(d, "media_type"), err);
        if (rc < 0) {
            json_decref(d);
            return vic_err_wrap(err, rc, "%s", what);
        }
        json_array_append_new(json_object_get(res, "layers"), d);
    }
    *out = steal_ptr(res);
    return 0;
}

int pl_index_pick(const json_t **out, const json_t *index, const char *os, const char *arch,
                  vic_err **err)
{
    *out = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(index, "manifests"), i, m)
    {
        const char *mos = vic_json_str(m, "os"), *march = vic_json_str(m, "architecture");
        if (mos && march && strcmp(mos, os) == 0 && strcmp(march, arch) == 0 &&
            is_manifest_type(vic_json_str(m, "media_type"))) {
            *out = m;
            return 0;
        }
    }
    return vic_err_set(err, VIC_ENOTFOUND, "no manifest for %s/%s in the image's index", os, arch);
}

/* Copies Docker's Healthcheck (HEALTHCHECK) from src[key] to dst[name] as given: {Test:
 * [strings], Interval, Timeout, StartPeriod, StartInterval (ns), Retries}; absent or null:
 * none; anything else is EINVAL. */
static int copy_healthcheck(json_t *dst, const char *name, const json_t *src, const char *key,
                            vic_err **err)
{
    json_t *v = json_object_get(src, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return vic_err_set(err, VIC_EINVAL, "config.%s: must be an object", key);
    json_t *hc = json_object();
    json_object_set_new(dst, name, hc);
    json_t *test = json_object_get(v, "Test");
    if (test && !json_is_null(test)) {
        size_t i;
        json_t *e;
        if (!json_is_array(test))
            return vic_err_set(err, VIC_EINVAL, "config.%s.Test: must be an array of strings", key);
        json_array_foreach(test, i, e) if (!json_is_string(e)) return vic_err_set(
            err, VIC_EINVAL, "config.%s.Test: must be an array of strings", key);
        json_object_set_new(hc, "Test", json_copy(test));
    }
    static const char *const nums[] = {"Interval", "Timeout", "StartPeriod", "StartInterval",
                                       "Retries"};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        json_t *n = json_object_get(v, nums[i]);
        if (n == NULL || json_is_null(n))
            continue;
        if (!json_is_integer(n) || json_integer_value(n) < 0)
            return vic_err_set(err, VIC_EINVAL, "config.%s.%s: must be a number", key, nums[i]);
        if (json_integer_value(n) > 0)
            json_object_set(hc, nums[i], n);
    }
    return 0;
}

/* Copies an array of strings (or null) from src[key] to dst[name]; anything else is EINVAL. */
static int copy_str_array(json_t *dst, const char *name, const json_t *src, const char *key,
                          int null_ok, vic_err **err)
{
    json_t *v = json_object_get(src, key);
    if (v == NULL || json_is_null(v)) {
        json_object_set_new(dst, name, null_ok ? json_null() : json_array());
        return 0;
    }
    if (!json_is_array(v))
        return vic_err_set(err, VIC_EINVAL, "config.%s: must be an array of strings", key);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) if (!json_is_string(e)) return vic_err_set(
        err, VIC_EINVAL, "config.%s: must be an array of strings", key);
    json_object_set_new(dst, name, json_copy(v));
    return 0;
}

static int copy_str(json_t *dst, const char *name, const json_t *src, const char *key,
                    vic_err **err)
{
    json_t *v = json_object_get(src, key);
    if (v && !json_is_null(v) && !json_is_string(v))
        return vic_err_set(err, VIC_EINVAL, "config.%s: must be a string", key);
    json_object_set_new(dst, name, json_string(json_is_string(v) ? json_string_value(v) : ""));
    return 0;
}

static int copy_keys(json_t *dst, const char *name, const json_t *src, const char *key,
                     vic_err **err)
{
    json_t *v = json_object_get(src, key);
    json_t *arr = json_array();
    json_object_set_new(dst, name, arr);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return vic_err_set(err, VIC_EINVAL, "config.%s: must be an object", key);
    const char *k;
    json_t *e;
    json_object_foreach(v, k, e) json_array_append_new(arr, json_string(k));
    return 0;
}

int pl_image_config_parse(json_t **out, const char *body, size_t len, vic_err **err)
{
    *out = NULL;
    json_t *doc cleanup_json = NULL;
    int rc = vic_json_parse(&doc, body, len, 0, err);
    if (rc < 0)
        return vic_err_wrap(err, rc, "image config");
    if (!json_is_object(doc))
        return vic_err_set(err, VIC_EINVAL, "image config: not a JSON object");
    json_t *res cleanup_json = json_object();
    const char *top[] = {"architecture", "os", "created"};
    for (size_t i = 0; i < 3; i++) {
        rc = copy_str(res, top[i], doc, top[i], err);
        if (rc < 0)
            return rc;
    }
    json_t *rootfs = json_object_get(doc, "rootfs");
    const char *type = vic_json_str(rootfs, "type");
    json_t *ids = json_object_get(rootfs, "diff_ids");
    if (type == NULL || strcmp(type, "layers") != 0 || !json_is_array(ids) ||
        json_array_size(ids) > MAX_LAYERS)
        return vic_err_set(err, VIC_EINVAL,
                           "image config: rootfs must be {\"type\": \"layers\", \"diff_ids\"}");
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) if (!pl_digest_valid(json_string_value(v))) return vic_err_set(
        err, VIC_EINVAL, "image config: diff_ids[%zu] is not a sha256 digest", i);
    json_object_set_new(res, "diff_ids", json_copy(ids));
    json_t *c = json_object_get(doc, "config");
    if (c && !json_is_null(c) && !json_is_object(c))
        return vic_err_set(err, VIC_EINVAL, "image config: config must be an object");
    json_t *nc = json_object();
    json_object_set_new(res, "config", nc);
    if ((rc = copy_str_array(nc, "env", c, "Env", 0, err)) < 0 ||
        (rc = copy_str_array(nc, "cmd", c, "Cmd", 1, err)) < 0 ||
        (rc = copy_str_array(nc, "entrypoint", c, "Entrypoint", 1, err)) < 0 ||
        (rc = copy_str(nc, "working_dir", c, "WorkingDir", err)) < 0 ||
        (rc = copy_str(nc, "user", c, "User", err)) < 0 ||
        (rc = copy_str(nc, "stop_signal", c, "StopSignal", err)) < 0 ||
        (rc = copy_keys(nc, "exposed_ports", c, "ExposedPorts", err)) < 0 ||
        (rc = copy_keys(nc, "volumes", c, "Volumes", err)) < 0 ||
        (rc = copy_healthcheck(nc, "healthcheck", c, "Healthcheck", err)) < 0)
        return rc;
    json_t *labels = json_object_get(c, "Labels");
    if (labels && !json_is_null(labels)) {
        if (!json_is_object(labels))
            return vic_err_set(err, VIC_EINVAL, "config.Labels: must be an object");
        const char *k;
        json_object_foreach(labels, k, v) if (!json_is_string(v)) return vic_err_set(
            err, VIC_EINVAL, "config.Labels: values must be strings");
        json_object_set_new(nc, "labels", json_copy(labels));
    } else {
        json_object_set_new(nc, "labels", json_object());
    }
    *out = steal_ptr(res);
    return 0;
}

/* ---- WWW-Authenticate ---- */

int pl_auth_challenge_parse(json_t **out, const char *header, vic_err **err)
{
    *out = NULL;
    if (header == NULL)
        return vic_err_set(err, VIC_EINVAL, "no challenge");
    const char *p = header;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, " \t");
    if (n == 0 || n > 32)
        return vic_err_set(err, VIC_EINVAL, "malformed WWW-Authenticate: no scheme");
    json_t *res cleanup_json = json_object();
    char scheme[33];
    for (size_t i = 0; i < n; i++)
        scheme[i] = (char)tolower((unsigned char)p[i]);
    scheme[n] = '\0';
    json_t *js = json_string(scheme);
    if (js == NULL)
        return vic_err_set(err, VIC_EINVAL, "malformed WWW-Authenticate: scheme");
    json_object_set_new(res, "scheme", js);
    p += n;
    vic_buf val = VIC_BUF_INIT;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t kn = strcspn(p, "= \t,");
        if (kn == 0 || kn > 64 || p[kn] != '=') {
            vic_buf_free(&val);
            return vic_err_set(err, VIC_EINVAL, "malformed WWW-Authenticate parameter");
        }
        char key[65];
        for (size_t i = 0; i < kn; i++)
            key[i] = (char)tolower((unsigned char)p[i]);
        key[kn] = '\0';
        p += kn + 1;
        val.len = 0;
        vic_buf_append(&val, "", 0);
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                vic_buf_append(&val, p, 1);
                p++;
            }
            if (*p != '"') {
                vic_buf_free(&val);
                return vic_err_set(err, VIC_EINVAL, "malformed WWW-Authenticate: open quote");
            }
            p++;
        } else {
            size_t vn = strcspn(p, ",");
            while (vn > 0 && (p[vn - 1] == ' ' || p[vn - 1] == '\t'))
                vn--;
            vic_buf_append(&val, p, vn);
            p += vn;
        }
        json_t *jv = json_string(val.data);
        json_t *jk = json_string(key);
        if (jv == NULL || jk == NULL) {
            json_decref(jv);
            json_decref(jk);
            vic_buf_free(&val);
            return vic_err_set(err, VIC_EINVAL, "WWW-Authenticate is not valid UTF-8");
        }
        json_decref(jk);
        json_object_set_new(res, key, jv);
    }
    vic_buf_free(&val);
    *out = steal_ptr(res);
    return 0;
}

/* ---- the client ---- */

struct pl_registry {
    pl_registry_options o;
    pl_registry_host *hosts;
    size_t n_hosts;
};

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

int pl_registry_new(pl_registry **out, const pl_registry_options *opts, vic_err **err)
{
    *out = NULL;
    pl_registry_options def = PL_REGISTRY_OPTIONS_INIT;
    if (opts == NULL)
        opts = &def;
    if (opts->version != PL_REGISTRY_OPTIONS_VERSION)
        return vic_err_set(err, VIC_EINVAL, "registry options version %d unknown", opts->version);
    vic_curl_global_init();
    pl_registry *r = xzalloc(sizeof(*r));
    r->o = *opts;
    r->o.os = xstrdup(opts->os ? opts->os : "linux");
    r->o.arch = xstrdup(opts->arch ? opts->arch : "amd64");
    r->o.user_agent = xstrdup(opts->user_agent ? opts->user_agent : "vic-portlayer");
    r->o.ca_file = dup_or_null(opts->ca_file);
    if (!r->o.max_manifest)
        r->o.max_manifest = DEFAULT_MAX_MANIFEST;
    if (!r->o.parallel)
        r->o.parallel = 3;
    if (!r->o.connect_timeout_ms)
        r->o.connect_timeout_ms = 10000;
    if (!r->o.stall_timeout_ms)
        r->o.stall_timeout_ms = 30000;
    if (!r->o.request_timeout_ms)
        r->o.request_timeout_ms = 60000;
    r->n_hosts = opts->n_hosts;
    r->hosts = xcalloc(opts->n_hosts ? opts->n_hosts : 1, sizeof(*r->hosts));
    for (size_t i = 0; i < opts->n_hosts; i++) {
        const pl_registry_host *h = &opts->hosts[i];
        r->hosts[i] = (pl_registry_host){
            .host = dup_or_null(h->host),
            .insecure = h->insecure,
            .ca_file = dup_or_null(h->ca_file),
            .proxy = dup_or_null(h->proxy),
            .username = dup_or_null(h->username),
            .password = dup_or_null(h->password),
        };
    }
    r->o.hosts = r->hosts;
    *out = r;
    return 0;
}

void pl_registry_free(pl_registry *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_hosts; i++) {
        free((char *)r->hosts[i].host);
        free((char *)r->hosts[i].ca_file);
        free((char *)r->hosts[i].proxy);
        free((char *)r->hosts[i].username);
        vic_free_secret((char *)r->hosts[i].password);
    }
    free(r->hosts);
    free((char *)r->o.os);
    free((char *)r->o.arch);
    free((char *)r->o.user_agent);
    free((char *)r->o.ca_file);
    free(r);
}

const char *pl_progress_state_name(pl_progress_state s)
{
    switch (s) {
    case PL_PROGRESS_WAITING:
        return "Waiting";
    case PL_PROGRESS_DOWNLOADING:
        return "Downloading";
    case PL_PROGRESS_VERIFYING:
        return "Verifying Checksum";
    case PL_PROGRESS_DOWNLOADED:
        return "Download complete";
    case PL_PROGRESS_EXTRACTING:
        return "Extracting";
    case PL_PROGRESS_COMPLETE:
        return "Pull complete";
    case PL_PROGRESS_EXISTS:
        return "Already exists";
    case PL_PROGRESS_PREPARING:
        return "Preparing";
    case PL_PROGRESS_PUSHING:
        return "Pushing";
    case PL_PROGRESS_PUSHED:
        return "Pushed";
    case PL_PROGRESS_LAYER_EXISTS:
        return "Layer already exists";
    }
    return "?";
}

/* One pull against one registry. */
typedef struct session {
    pl_registry *r;
    const pl_registry_host *host; /* settings for this registry, or NULL */
    const char *host_name;
    char *base;  /* "https://host" once pinged */
    char *auth;  /* "Authorization: ..." header line, a secret */
    char *realm; /* Bearer challenge from the ping */
    char *service;
    char *repo;       /* NULL for a login: no repository's scope */
    const char *user; /* the credentials: the request's (X-Registry-Auth) or the host's */
    const char *pass;
    const char *action; /* "pull", or "pull,push" */
    int insecure;
    int token_tried;
    CURL *easy; /* reused for the sequential requests (keeps the connection) */
    pl_progress_fn progress;
    void *payload;
} session;

/* One HTTP exchange: what came back and where the body went. */
typedef struct xfer {
    session *s;
    CURL *e;
    struct curl_slist *hdrs;
    char errbuf[CURL_ERROR_SIZE];
    char *content_type;
    char *digest_hdr;
    char *www_auth;
    char *location; /* an upload's Location */
    int64_t content_length;
    vic_buf body; /* non-2xx bodies, and whole 200 bodies when w == NULL */
    size_t max;   /* limit of a 200 body kept in memory */
    int too_big;
    pl_blob_writer *w;   /* a layer's temporary file */
    int64_t expect_size; /* the descriptor's size, or -1 */
    vic_err *werr;       /* failure raised inside a callback */
    const char *digest;  /* the blob, for errors and progress */
    char id[13];         /* short id for progress */
    uint64_t reported;   /* bytes at the last progress report */
} xfer;

static void xfer_reset_headers(xfer *x)
{
    free(x->content_type);
    free(x->digest_hdr);
    free(x->www_auth);
    free(x->location);
    x->content_type = x->digest_hdr = x->www_auth = x->location = NULL;
    x->content_length = -1;
}

static void xfer_clear(xfer *x)
{
    xfer_reset_headers(x);
    vic_buf_free(&x->body);
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    vic_err_free(&x->werr);
    pl_blob_writer_free(x->w);
    x->w = NULL;
}

static long xfer_status(xfer *x)
{
    long code = 0;
    curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

static size_t on_header(char *buf, size_t size, size_t n, void *payload)
{
    xfer *x = payload;
    size_t len = size * n;
    if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        xfer_reset_headers(x); /* a new response (after a redirect or 100) */
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (colon == NULL)
        return len;
    size_t nlen = (size_t)(colon - buf);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
#define HDR_IS(name) (nlen == strlen(name) && strncasecmp(buf, name, nlen) == 0)
    if (HDR_IS("Content-Type")) {
        free(x->content_type);
        size_t semi = strcspn(v, ";");
        x->content_type = xstrndup(v, semi < vlen ? semi : vlen);
        while (x->content_type[0] &&
               isspace((unsigned char)x->content_type[strlen(x->content_type) - 1]))
            x->content_type[strlen(x->content_type) - 1] = '\0';
    } else if (HDR_IS("Location")) {
        free(x->location);
        x->location = xstrndup(v, vlen);
    } else if (HDR_IS("Docker-Content-Digest")) {
        free(x->digest_hdr);
        x->digest_hdr = xstrndup(v, vlen);
    } else if (HDR_IS("WWW-Authenticate")) {
        /* prefer a Bearer challenge when several are offered */
        if (x->www_auth == NULL || strncasecmp(v, "bearer", 6) == 0) {
            free(x->www_auth);
            x->www_auth = xstrndup(v, vlen);
        }
    } else if (HDR_IS("Content-Length")) {
        char tmp[32];
        if (vlen == 0 || vlen >= sizeof(tmp))
            return len;
        memcpy(tmp, v, vlen);
        tmp[vlen] = '\0';
        char *end;
        errno = 0;
        long long cl = strtoll(tmp, &end, 10);
        if (*end || errno || cl < 0)
            return len;
        x->content_length = cl;
        if (xfer_status(x) != 200)
            return len;
        if (x->w == NULL && (uint64_t)cl > x->max) {
            x->too_big = 1;
            return 0;
        }
        if (x->w && x->expect_size >= 0 && cl != x->expect_size) {
            vic_err_set(&x->werr, VIC_EUPSTREAM,
                        "blob %s: Content-Length %lld differs from the descriptor's size %lld",
                        x->digest, cl, (long long)x->expect_size);
            return 0;
        }
    }
#undef HDR_IS
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *payload)
{
    xfer *x = payload;
    size_t len = size * n;
    long status = xfer_status(x);
    if (status == 200 && x->w) {
        if (pl_blob_writer_write(x->w, buf, len, &x->werr) < 0)
            return 0;
        uint64_t done = pl_blob_writer_size(x->w);
        if (x->s->progress &&
            (done - x->reported >= PROGRESS_STEP || (int64_t)done == x->expect_size)) {
            x->reported = done;
            pl_progress p = {.id = x->id,
                             .digest = x->digest,
                             .state = PL_PROGRESS_DOWNLOADING,
                             .done = done,
                             .total = x->expect_size > 0 ? (uint64_t)x->expect_size : 0};
            x->s->progress(&p, x->s->payload);
        }
        return len;
    }
    size_t cap = status == 200 ? x->max : MAX_ERROR_BODY;
    if (x->body.len + len > cap) {
        if (status == 200) {
            x->too_big = 1;
            return 0;
        }
        len = cap > x->body.len ? cap - x->body.len : 0; /* keep the start of an error body */
        vic_buf_append(&x->body, buf, len);
        return size * n;
    }
    vic_buf_append(&x->body, buf, len);
    return len;
}

/* CURLOPT_SSL_CTX_FUNCTION: adds the certificates of the PEM file payload to the
 * connection's trust store, beside the system's. A file that holds none fails the transfer. */
static CURLcode add_trusted(CURL *e, void *ssl_ctx, void *payload)
{
    (void)e;
    X509_STORE *store = SSL_CTX_get_cert_store((SSL_CTX *)ssl_ctx);
    BIO *bio = BIO_new_file((const char *)payload, "r");
    if (bio == NULL)
        return CURLE_SSL_CACERT_BADFILE;
    int added = 0;
    X509 *cert;
    while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, cert) == 1)
            added++;
        X509_free(cert);
    }
    ERR_clear_error(); /* the end of the file reads as an error */
    BIO_free(bio);
    return added ? CURLE_OK : CURLE_SSL_CACERT_BADFILE;
}

/* Sets up x->e for url with the session's TLS, proxy, limits and auth. */
static void xfer_setup(xfer *x, const char *url, const char *accept, int whole_timeout)
{
    session *s = x->s;
    pl_registry *r = s->r;
    CURL *e = x->e;
    x->content_length = -1;
    x->errbuf[0] = '\0';
    if (accept) {
        cleanup_free char *h = xasprintf("Accept: %s", accept);
        x->hdrs = curl_slist_append(x->hdrs, h);
    }
    if (s->auth)
        x->hdrs = curl_slist_append(x->hdrs, s->auth);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, s->insecure ? "http,https" : "https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, r->o.user_agent);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->o.connect_timeout_ms);
    long stall = r->o.stall_timeout_ms / 1000;
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, stall > 0 ? stall : 1L);
    if (whole_timeout)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->o.request_timeout_ms);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    /* the environment's proxy variables are not ours to follow: only configured proxies */
    curl_easy_setopt(e, CURLOPT_PROXY, s->host && s->host->proxy ? s->host->proxy : "");
    if (s->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (s->host && s->host->ca_file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, s->host->ca_file);
    } else if (r->o.ca_file) {
        curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, add_trusted);
        curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, (void *)r->o.ca_file);
    }
}

/* Turns a finished transfer's curl result into a vic_err (0 when the exchange completed). */
static int xfer_result(xfer *x, CURLcode cc, const char *what, vic_err **err)
{
    if (cc == CURLE_OK)
        return 0;
    if (x->werr) {
        int code = x->werr->code;
        if (err) {
            vic_err_free(err);
            *err = steal_ptr(x->werr);
        }
        vic_err_free(&x->werr);
        return code;
    }
    if (x->too_big)
        return vic_err_set(err, VIC_ETOOBIG, "%s: larger than the limit of %zu bytes", what,
                           x->max);
    const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_TOO_MANY_REDIRECTS:
        return vic_err_set(err, VIC_EUPSTREAM, "%s: too many redirects (more than %ld)", what,
                           MAX_REDIRECTS);
    case CURLE_OPERATION_TIMEDOUT:
        return vic_err_set(err, VIC_ETIMEOUT, "%s: timed out: %s", what, detail);
    case CURLE_PARTIAL_FILE:
        return vic_err_set(err, VIC_EUPSTREAM, "%s: truncated body: %s", what, detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return vic_err_set(err, VIC_EUPSTREAM, "%s: cannot reach the registry: %s", what, detail);
    default:
        return vic_err_set(err, VIC_EUPSTREAM, "%s: %s", what, detail);
    }
}

/* The registry's own message from an error body ({"errors": [{"code", "message"}]}). */
static char *error_message(const xfer *x)
{
    json_t *j cleanup_json = NULL;
    if (x->body.len && vic_json_parse(&j, x->body.data, x->body.len, 0, NULL) == 0) {
        json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
        const char *code = vic_json_str(e0, "code"), *msg = vic_json_str(e0, "message");
        if (code || msg)
            return xasprintf("%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
    }
    return xstrdup("no details");
}

static int basic_auth_header(char **out, const session *s)
{
    cleanup_secret char *cred = xasprintf("%s:%s", s->user, s->pass ? s->pass : "");
    cleanup_secret char *b64 = vic_base64_encode(cred, strlen(cred));
    *out = xasprintf("Authorization: Basic %s", b64);
    return 0;
}

static int has_creds(const session *s)
{
    return s->user != NULL;
}

/* Asks the token service of a Bearer challenge for a pull token of the session's repository
 * (or the challenge's own scope). One attempt per session. */
static int fetch_token(session *s, const char *realm, const char *service, const char *scope,
                       vic_err **err)
{
    s->token_tried = 1;
    if (strncmp(realm, "https://", 8) != 0 && !(s->insecure && strncmp(realm, "http://", 7) == 0))
        return vic_err_set(err, VIC_EAUTH, "token realm %.200s is not an https URL", realm);
    cleanup_free char *own_scope =
        s->repo ? xasprintf("repository:%s:%s", s->repo, s->action ? s->action : "pull") : NULL;
    if (scope == NULL || s->action) /* a push asks for more than the challenge's pull */
        scope = own_scope;
    char *esc_service = curl_easy_escape(s->easy, service ? service : "", 0);
    char *esc_scope = scope ? curl_easy_escape(s->easy, scope, 0) : NULL;
    char *esc_account = has_creds(s) ? curl_easy_escape(s->easy, s->user, 0) : NULL;
    /* a login asks for no repository's scope, as docker login does */
    cleanup_free char *url =
        xasprintf("%s%sservice=%s%s%s%s%s", realm, strchr(realm, '?') ? "&" : "?", esc_service,
                  esc_scope ? "&scope=" : "", esc_scope ? esc_scope : "",
                  esc_account ? "&account=" : "", esc_account ? esc_account : "");
    curl_free(esc_service);
    curl_free(esc_scope);
    curl_free(esc_account);
    xfer x = {.s = s, .e = s->easy, .max = MAX_TOKEN_BODY, .expect_size = -1};
    curl_easy_reset(s->easy);
    char *keep = s->auth;
    s->auth = NULL;
    if (has_creds(s))
        basic_auth_header(&s->auth, s);
    xfer_setup(&x, url, "application/json", 1);
    CURLcode cc = curl_easy_perform(s->easy);
    vic_free_secret(s->auth);
    s->auth = keep;
    int rc = xfer_result(&x, cc, "token request", err);
    if (rc == 0) {
        long status = xfer_status(&x);
        json_t *j cleanup_json = NULL;
        const char *tok = NULL;
        if (status == 200 && vic_json_parse(&j, x.body.data, x.body.len, 0, NULL) == 0) {
            tok = vic_json_str(j, "token");
            if (tok == NULL || !tok[0])
                tok = vic_json_str(j, "access_token");
        }
        if (status == 401 || status == 403)
            rc = vic_err_set(err, VIC_EAUTH, "token service refused the credentials (HTTP %ld)",
                             status);
        else if (tok == NULL || !tok[0] || strpbrk(tok, "\r\n"))
            rc = vic_err_set(err, VIC_EUPSTREAM, "token service answered HTTP %ld without a token",
                             status);
        else {
            vic_free_secret(s->auth);
            s->auth = xasprintf("Authorization: Bearer %s", tok);
        }
        if (x.body.data)
            OPENSSL_cleanse(x.body.data, x.body.len);
    }
    xfer_clear(&x);
    return rc;
}

/* Answers a 401's challenge once: a Bearer token, or basic credentials. */
static int answer_challenge(session *s, const char *www_auth, vic_err **err)
{
    if (s->token_tried)
        return vic_err_set(err, VIC_EAUTH,
                           "registry %s answered 401 Unauthorized again after authenticating",
                           s->host_name);
    json_t *ch cleanup_json = NULL;
    if (www_auth == NULL || pl_auth_challenge_parse(&ch, www_auth, NULL) < 0)
        return vic_err_set(err, VIC_EAUTH, "registry %s answered 401 without a usable challenge",
                           s->host_name);
    const char *scheme = vic_json_str(ch, "scheme");
    if (strcmp(scheme, "bearer") == 0 && vic_json_str(ch, "realm"))
        return fetch_token(s, vic_json_str(ch, "realm"), vic_json_str(ch, "service"),
                           vic_json_str(ch, "scope"), err);
    if (strcmp(scheme, "basic") == 0 && has_creds(s)) {
        s->token_tried = 1;
        vic_free_secret(s->auth);
        return basic_auth_header(&s->auth, s);
    }
    if (strcmp(scheme, "basic") == 0) /* Docker Engine's words, which users search for */
        return vic_err_set(err, VIC_EAUTH,
                           "registry %s requires authentication: no basic auth credentials (log "
                           "in with docker login)",
                           s->host_name);
    return vic_err_set(err, VIC_EAUTH, "registry %s requires authentication (%s)", s->host_name,
                       scheme);
}

/* A GET whose body is kept in memory (manifests, configs); answers one 401 challenge. On
 * success x holds the 200 response. */
static int get_small(xfer *x, session *s, const char *url, const char *accept, const char *what,
                     vic_err **err)
{
    for (;;) {
        xfer_clear(x);
        *x = (xfer){.s = s, .e = s->easy, .max = s->r->o.max_manifest, .expect_size = -1};
        curl_easy_reset(s->easy);
        xfer_setup(x, url, accept, 1);
        CURLcode cc = curl_easy_perform(s->easy);
        int rc = xfer_result(x, cc, what, err);
        if (rc < 0)
            return rc;
        long status = xfer_status(x);
        if (status == 200)
            return 0;
        if (status == 401) { /* the second 401 ends in answer_challenge: one token only */
            cleanup_free char *ch = x->www_auth ? xstrdup(x->www_auth) : NULL;
            rc = answer_challenge(s, ch, err);
            if (rc < 0)
                return rc;
            continue;
        }
        cleanup_free char *msg = error_message(x);
        if (status == 401 || status == 403)
            return vic_err_set(err, VIC_EAUTH, "%s: HTTP %ld (%s)", what, status, msg);
        if (status == 404)
            return vic_err_set(err, VIC_ENOTFOUND, "%s: not found (%s)", what, msg);
        return vic_err_set(err, VIC_EUPSTREAM, "%s: HTTP %ld (%s)", what, status, msg);
    }
}

int pl_registry_default_insecure(const char *host)
{
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = strlen(names[i]);
        if (strncmp(host, names[i], n) == 0 && (host[n] == '\0' || host[n] == ':'))
            return 1;
    }
    return 0;
}

/* Finds the registry's API root: https, or http when the registry is insecure and https
 * fails; notes a Bearer challenge and fetches the token for the repository up front. */
static int ping(session *s, vic_err **err)
{
    const char *schemes[] = {"https", "http"};
    int n = s->insecure ? 2 : 1;
    vic_err *first cleanup_err = NULL;
    for (int i = 0; i < n; i++) {
        cleanup_free char *base = xasprintf("%s://%s", schemes[i], s->host_name);
        cleanup_free char *url = xasprintf("%s/v2/", base);
        xfer x = {.s = s, .e = s->easy, .max = MAX_ERROR_BODY, .expect_size = -1};
        curl_easy_reset(s->easy);
        xfer_setup(&x, url, NULL, 1);
        CURLcode cc = curl_easy_perform(s->easy);
        vic_err *e = NULL;
        int rc = xfer_result(&x, cc, "registry ping", &e);
        if (rc < 0) {
            xfer_clear(&x);
            if (first == NULL)
                first = e;
            else
                vic_err_free(&e);
            continue;
        }
        long status = xfer_status(&x);
        cleanup_free char *ch = x.www_auth ? xstrdup(x.www_auth) : NULL;
        xfer_clear(&x);
        free(s->base);
        s->base = steal_ptr(base);
        if (status == 200)
            return 0;
        if (status == 401)
            return answer_challenge(s, ch, err);
        return vic_err_set(err, VIC_EUPSTREAM,
                           "%s://%s/v2/ answered HTTP %ld: not a registry (API v2)", schemes[i],
                           s->host_name, status);
    }
    int code = first->code;
    vic_err_free(err);
    if (err)
        *err = steal_ptr(first);
    return code;
}

static void sha256_digest(char out[72], const void *data, size_t len)
{
    char hex[65];
    vic_sha256_hex(hex, data, len);
    snprintf(out, 72, "sha256:%s", hex);
}

/* Fetches and verifies a manifest (by tag or digest). *body_out is the raw body, *digest_out
 * its digest, *out the parsed manifest. */
static int fetch_manifest(json_t **out, char **body_out, size_t *len_out, char digest_out[72],
                          session *s, const char *ref, const char *want_digest, vic_err **err)
{
    cleanup_free char *url = xasprintf("%s/v2/%s/manifests/%s", s->base, s->repo, ref);
    cleanup_free char *what = xasprintf("manifest %s:%s", s->repo, ref);
    xfer x = {.s = s};
    int rc = get_small(&x, s, url,
                       PL_MT_DOCKER_MANIFEST ", " PL_MT_DOCKER_LIST ", " PL_MT_OCI_MANIFEST
                                             ", " PL_MT_OCI_INDEX,
                       what, err);
    if (rc < 0)
        goto done;
    sha256_digest(digest_out, x.body.data ? x.body.data : "", x.body.len);
    if (want_digest && strcmp(want_digest, digest_out) != 0) {
        rc = vic_err_set(err, VIC_EUPSTREAM, "%s: content hashes to %s (wrong digest)", what,
                         digest_out);
        goto done;
    }
    if (x.digest_hdr && strncmp(x.digest_hdr, "sha256:", 7) == 0 &&
        strcmp(x.digest_hdr, digest_out) != 0) {
        rc = vic_err_set(err, VIC_EUPSTREAM,
                         "%s: content hashes to %s, Docker-Content-Digest says %.80s", what,
                         digest_out, x.digest_hdr);
        goto done;
    }
    rc = pl_manifest_parse(out, x.body.data ? x.body.data : "", x.body.len, x.content_type, err);
    if (rc < 0) {
        vic_err_wrap(err, rc, "%s", what);
        goto done;
    }
    *len_out = x.body.len;
    *body_out = x.body.data ? vic_buf_steal(&x.body) : xstrdup("");
done:
    xfer_clear(&x);
    return rc;
}

/* A layer of the pull. */
typedef struct layer_job {
    const char *digest;
    const char *diff_id;
    int64_t size;
    char id[13];
    int need_download;
    int need_extract;
    int downloaded; /* fetched by this pull (removed again if it proves useless) */
} layer_job;

static void report(session *s, const layer_job *j, pl_progress_state st, uint64_t done)
{
    if (!s->progress)
        return;
    pl_progress p = {.id = j->id,
                     .digest = j->digest,
                     .state = st,
                     .done = done,
                     .total = j->size > 0 ? (uint64_t)j->size : 0};
    s->progress(&p, s->payload);
}

static int start_download(xfer *x, session *s, pl_imagestore *store, CURLM *m, layer_job *j,
                          vic_err **err)
{
    *x = (xfer){.s = s, .expect_size = j->size, .digest = j->digest};
    snprintf(x->id, sizeof(x->id), "%s", j->id);
    int rc = pl_blob_writer_new(&x->w, store, j->digest, j->size, err);
    if (rc < 0)
        return rc;
    x->e = curl_easy_init();
    if (x->e == NULL)
        abort();
    cleanup_free char *url = xasprintf("%s/v2/%s/blobs/%s", s->base, s->repo, j->digest);
    xfer_setup(x, url, NULL, 0);
    curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
    curl_multi_add_handle(m, x->e);
    report(s, j, PL_PROGRESS_DOWNLOADING, 0);
    return 0;
}

/* Completes a finished download: status, size, digest, then renames the blob into place. */
static int finish_download(xfer *x, session *s, layer_job *j, CURLcode cc, vic_err **err)
{
    cleanup_free char *what = xasprintf("blob %s", j->digest);
    int rc = xfer_result(x, cc, what, err);
    if (rc < 0)
        return rc;
    long status = xfer_status(x);
    if (status != 200) {
        cleanup_free char *msg = error_message(x);
        if (status == 401 || status == 403)
            return vic_err_set(err, VIC_EAUTH, "%s: HTTP %ld (%s)", what, status, msg);
        if (status == 404)
            return vic_err_set(err, VIC_ENOTFOUND, "%s: not found (%s)", what, msg);
        return vic_err_set(err, VIC_EUPSTREAM, "%s: HTTP %ld (%s)", what, status, msg);
    }
    report(s, j, PL_PROGRESS_VERIFYING, pl_blob_writer_size(x->w));
    rc = pl_blob_writer_commit(x->w, err);
    if (rc < 0)
        return rc;
    j->downloaded = 1;
    report(s, j, PL_PROGRESS_DOWNLOADED, (uint64_t)j->size);
    return 0;
}

/* Downloads every job that needs it, `parallel` at a time. On failure every transfer still
 * running is stopped and its temporary file removed. */
static int download_layers(session *s, pl_imagestore *store, layer_job *jobs, size_t n,
                           vic_err **err)
{
    unsigned par = s->r->o.parallel;
    CURLM *m = curl_multi_init();
    xfer *xs = xcalloc(n ? n : 1, sizeof(*xs));
    size_t next = 0, running = 0;
    int rc = 0;
    for (;;) {
        while (rc == 0 && running < par && next < n) {
            layer_job *j = &jobs[next];
            if (j->need_download) {
                rc = start_download(&xs[next], s, store, m, j, err);
                if (rc < 0)
                    break;
                running++;
            }
            next++;
        }
        if (rc < 0 || running == 0)
            break;
        int still = 0, finished = 0;
        CURLMcode mc = curl_multi_perform(m, &still);
        if (mc != CURLM_OK) {
            rc = vic_err_set(err, VIC_EINTERNAL, "curl multi: %s", curl_multi_strerror(mc));
            break;
        }
        CURLMsg *msg;
        int left;
        while (rc == 0 && (msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            size_t idx = (size_t)(x - xs);
            rc = finish_download(x, s, &jobs[idx], msg->data.result, err);
            curl_multi_remove_handle(m, x->e);
            curl_easy_cleanup(x->e);
            x->e = NULL;
            xfer_clear(x);
            running--;
            finished++;
        }
        if (rc < 0)
            break;
        /* a finished transfer frees a slot: start the next one before sleeping; a poll
         * with nothing left on the wire would sleep its whole timeout */
        if (finished == 0 && still > 0 &&
            (mc = curl_multi_poll(m, NULL, 0, 1000, NULL)) != CURLM_OK) {
            rc = vic_err_set(err, VIC_EINTERNAL, "curl multi: %s", curl_multi_strerror(mc));
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (xs[i].e) {
            curl_multi_remove_handle(m, xs[i].e);
            curl_easy_cleanup(xs[i].e);
        }
        xfer_clear(&xs[i]); /* discards an unfinished blob's temporary file */
    }
    free(xs);
    curl_multi_cleanup(m);
    return rc;
}

static const pl_registry_host *find_host(const pl_registry *r, const pl_ref *ref)
{
    const char *h = pl_ref_registry_host(ref);
    for (size_t i = 0; i < r->n_hosts; i++)
        if (r->hosts[i].host &&
            (strcmp(r->hosts[i].host, h) == 0 || strcmp(r->hosts[i].host, ref->domain) == 0))
            return &r->hosts[i];
    return NULL;
}

static void remove_blob(pl_imagestore *store, const char *digest)
{
    cleanup_free char *p = NULL;
    if (pl_imagestore_blob_path(&p, store, digest, NULL) == 0)
        unlink(p);
}

int pl_registry_pull(json_t **out, pl_registry *r, pl_imagestore *store, const char *reference,
                     pl_progress_fn progress, void *payload, vic_err **err)
{
    return pl_registry_pull_as(out, r, store, reference, NULL, progress, payload, err);
}

/* Fills the session's credentials: the request's when it brings any, else the host's. */
static void session_creds(session *s, const pl_registry_creds *creds)
{
    if (creds && creds->username && *creds->username) {
        s->user = creds->username;
        s->pass = creds->password;
    } else if (s->host && s->host->username) {
        s->user = s->host->username;
        s->pass = s->host->password;
    }
}

/* "127.0.0.1:5000" of a docker login's server address ("https://127.0.0.1:5000/v1/",
 * "127.0.0.1:5000"); Docker Hub's index is its registry's host. NULL when it names none. */
static char *login_host(const char *server)
{
    if (server == NULL || *server == '\0')
        server = "registry-1.docker.io";
    if (strncmp(server, "https://", 8) == 0)
        server += 8;
    else if (strncmp(server, "http://", 7) == 0)
        server += 7;
    size_t n = strcspn(server, "/");
    if (n == 0 || n > 255)
        return NULL;
    char *host = xstrndup(server, n);
    for (char *p = host; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789.-:[]") != n) {
        free(host);
        return NULL;
    }
    if (strcmp(host, "index.docker.io") == 0 || strcmp(host, "docker.io") == 0) {
        free(host);
        host = xstrdup("registry-1.docker.io");
    }
    return host;
}

int pl_registry_login(pl_registry *r, const char *server, const pl_registry_creds *creds,
                      vic_err **err)
{
    cleanup_free char *host = login_host(server);
    if (host == NULL)
        return vic_err_set(err, VIC_EINVAL, "serveraddress: \"%.100s\" names no registry", server);
    if (creds == NULL || creds->username == NULL || *creds->username == '\0')
        return vic_err_set(err, VIC_EINVAL, "username: is required");
    session s = {.r = r, .host_name = host};
    for (size_t i = 0; i < r->n_hosts; i++)
        if (r->hosts[i].host && strcmp(r->hosts[i].host, host) == 0)
            s.host = &r->hosts[i];
    session_creds(&s, creds);
    s.insecure = (s.host && s.host->insecure) ||
                 (r->o.loopback_insecure && pl_registry_default_insecure(host));
    s.easy = curl_easy_init();
    if (s.easy == NULL)
        abort();
    int rc = ping(&s, err);
    if (rc == 0 && s.auth && strncmp(s.auth, "Authorization: Basic ", 21) == 0) {
        /* basic auth: the registry judges the credentials on the next request */
        cleanup_free char *url = xasprintf("%s/v2/", s.base);
        xfer x = {.s = &s, .e = s.easy, .max = MAX_ERROR_BODY, .expect_size = -1};
        curl_easy_reset(s.easy);
        xfer_setup(&x, url, NULL, 1);
        CURLcode cc = curl_easy_perform(s.easy);
        rc = xfer_result(&x, cc, "login", err);
        long status = rc == 0 ? xfer_status(&x) : 0;
        if (rc == 0 && status != 200)
            rc = vic_err_set(err, status == 401 || status == 403 ? VIC_EAUTH : VIC_EUPSTREAM,
                             "login attempt to %s failed with status: %ld %s", url, status,
                             status == 401   ? "Unauthorized"
                             : status == 403 ? "Forbidden"
                                             : "");
        xfer_clear(&x);
    }
    vic_free_secret(s.auth);
    free(s.base);
    free(s.realm);
    free(s.service);
    curl_easy_cleanup(s.easy);
    return rc;
}

int pl_registry_pull_as(json_t **out, pl_registry *r, pl_imagestore *store, const char *reference,
                        const pl_registry_creds *creds, pl_progress_fn progress, void *payload,
                        vic_err **err)
{
    if (out)
        *out = NULL;
    pl_ref *ref = NULL;
    int rc = pl_ref_parse(&ref, reference, err);
    if (rc < 0)
        return rc;
    session s = {.r = r,
                 .host = find_host(r, ref),
                 .host_name = pl_ref_registry_host(ref),
                 .repo = ref->repository,
                 .progress = progress,
                 .payload = payload};
    s.insecure = (s.host && s.host->insecure) ||
                 (r->o.loopback_insecure && pl_registry_default_insecure(s.host_name));
    session_creds(&s, creds);
    s.easy = curl_easy_init();
    if (s.easy == NULL)
        abort();
    cleanup_free char *index_body = NULL, *manifest_body = NULL, *config_body = NULL;
    size_t index_len = 0, manifest_len = 0, config_len = 0;
    char index_digest[72] = "", manifest_digest[72] = "";
    json_t *manifest cleanup_json = NULL, *config cleanup_json = NULL;
    layer_job *jobs = NULL;
    size_t n_jobs = 0;
    json_t *image cleanup_json = NULL;
    cleanup_free char *name = pl_ref_name(ref);
    cleanup_free char *tag = ref->digest ? NULL : pl_ref_string(ref);
    cleanup_free char *repo_digest = NULL;
    const char *tag_or_digest = ref->digest ? ref->digest : ref->tag;

    rc = ping(&s, err);
    if (rc < 0)
        goto done;
    rc = fetch_manifest(&manifest, &manifest_body, &manifest_len, manifest_digest, &s,
                        tag_or_digest, ref->digest, err);
    if (rc < 0)
        goto done;
    if (strcmp(vic_json_str(manifest, "kind"), "index") == 0) {
        const json_t *pick = NULL;
        rc = pl_index_pick(&pick, manifest, r->o.os, r->o.arch, err);
        if (rc < 0)
            goto done;
        cleanup_free char *want = xstrdup(vic_json_str(pick, "digest"));
        index_body = steal_ptr(manifest_body);
        index_len = manifest_len;
        memcpy(index_digest, manifest_digest, sizeof(index_digest));
        json_decref(manifest);
        manifest = NULL;
        rc = fetch_manifest(&manifest, &manifest_body, &manifest_len, manifest_digest, &s, want,
                            want, err);
        if (rc < 0)
            goto done;
        if (strcmp(vic_json_str(manifest, "kind"), "manifest") != 0) {
            rc = vic_err_set(err, VIC_EUPSTREAM, "index %s points at another index", index_digest);
            goto done;
        }
    }

    /* the config: small, verified, parsed; from the store when we have it */
    json_t *cdesc = json_object_get(manifest, "config");
    const char *config_digest = vic_json_str(cdesc, "digest");
    json_int_t config_size = json_integer_value(json_object_get(cdesc, "size"));
    if ((uint64_t)config_size > r->o.max_manifest) {
        rc = vic_err_set(err, VIC_ETOOBIG, "config %s: %lld bytes is over the limit of %zu",
                         config_digest, (long long)config_size, r->o.max_manifest);
        goto done;
    }
    if (pl_imagestore_read_blob(&config_body, &config_len, store, config_digest, r->o.max_manifest,
                                NULL) < 0) {
        cleanup_free char *url = xasprintf("%s/v2/%s/blobs/%s", s.base, s.repo, config_digest);
        cleanup_free char *what = xasprintf("config %s", config_digest);
        xfer x = {.s = &s};
        rc = get_small(&x, &s, url, NULL, what, err);
        if (rc == 0) {
            char got[72];
            sha256_digest(got, x.body.data ? x.body.data : "", x.body.len);
            if (strcmp(got, config_digest) != 0)
                rc = vic_err_set(err, VIC_EUPSTREAM, "%s: content hashes to %s (wrong digest)",
                                 what, got);
            else if ((json_int_t)x.body.len != config_size)
                rc = vic_err_set(err, VIC_EUPSTREAM, "%s: %zu bytes, the descriptor says %lld",
                                 what, x.body.len, (long long)config_size);
            else {
                config_len = x.body.len;
                config_body = x.body.data ? vic_buf_steal(&x.body) : xstrdup("");
            }
        }
        xfer_clear(&x);
        if (rc < 0)
            goto done;
    }
    rc = pl_image_config_parse(&config, config_body, config_len, err);
    if (rc < 0) {
        vic_err_wrap(err, rc, "config %s", config_digest);
        goto done;
    }
    json_t *layers = json_object_get(manifest, "layers");
    json_t *diff_ids = json_object_get(config, "diff_ids");
    n_jobs = json_array_size(layers);
    if (json_array_size(diff_ids) != n_jobs) {
        rc = vic_err_set(err, VIC_EUPSTREAM, "image has %zu layers but its config %zu diff_ids",
                         n_jobs, json_array_size(diff_ids));
        goto done;
    }

    /* layers: skip what the store has, download the rest in parallel, unpack in order */
    jobs = xcalloc(n_jobs ? n_jobs : 1, sizeof(*jobs));
    for (size_t i = 0; i < n_jobs; i++) {
        layer_job *j = &jobs[i];
        json_t *l = json_array_get(layers, i);
        j->digest = vic_json_str(l, "digest");
        j->diff_id = json_string_value(json_array_get(diff_ids, i));
        j->size = json_integer_value(json_object_get(l, "size"));
        snprintf(j->id, sizeof(j->id), "%.12s", j->digest + 7);
        int dup = 0;
        for (size_t k = 0; k < i; k++)
            if (strcmp(jobs[k].digest, j->digest) == 0 || strcmp(jobs[k].diff_id, j->diff_id) == 0)
                dup = 1;
        if (pl_imagestore_has_layer(store, j->diff_id)) {
            report(&s, j, PL_PROGRESS_EXISTS, 0);
            continue;
        }
        j->need_extract = !dup;
        j->need_download = !dup && !pl_imagestore_has_blob(store, j->digest);
        if (j->need_download)
            report(&s, j, PL_PROGRESS_WAITING, 0);
    }
    rc = download_layers(&s, store, jobs, n_jobs, err);
    if (rc < 0)
        goto done;
    for (size_t i = 0; i < n_jobs; i++) {
        layer_job *j = &jobs[i];
        if (!j->need_extract)
            continue;
        report(&s, j, PL_PROGRESS_EXTRACTING, (uint64_t)j->size);
        rc = pl_imagestore_add_layer(NULL, store, j->digest, j->diff_id, err);
        if (rc < 0) {
            if (rc == VIC_EUPSTREAM || rc == VIC_EINVAL)
                remove_blob(store, j->digest); /* verified, but not a usable layer */
            goto done;
        }
        report(&s, j, PL_PROGRESS_COMPLETE, (uint64_t)j->size);
    }

    /* everything is in place: store the small blobs, then record the image */
    if ((rc = pl_imagestore_put_blob(store, config_digest, config_body, config_len, err)) < 0 ||
        (rc = pl_imagestore_put_blob(store, manifest_digest, manifest_body, manifest_len, err)) <
            0 ||
        (index_body &&
         (rc = pl_imagestore_put_blob(store, index_digest, index_body, index_len, err)) < 0))
        goto done;
    image = json_pack("{s:s,s:s,s:s,s:O,s:O,s:O,s:O,s:[]}", "id", config_digest, "manifest_digest",
                      manifest_digest, "media_type", vic_json_str(manifest, "media_type"), "config",
                      json_object_get(config, "config"), "architecture",
                      json_object_get(config, "architecture"), "os", json_object_get(config, "os"),
                      "created", json_object_get(config, "created"), "layers");
    for (size_t i = 0; i < n_jobs; i++)
        json_array_append_new(json_object_get(image, "layers"),
                              json_pack("{s:s,s:s,s:I,s:O}", "digest", jobs[i].digest, "diff_id",
                                        jobs[i].diff_id, "size", (json_int_t)jobs[i].size,
                                        "media_type",
                                        json_object_get(json_array_get(layers, i), "media_type")));
    if (index_body)
        json_object_set_new(image, "index_digest", json_string(index_digest));
    repo_digest = xasprintf("%s@%s", name, index_body ? index_digest : manifest_digest);
    rc = pl_imagestore_add_image(out, store, image, tag, repo_digest, err);
done:
    if (rc < 0) {
        for (size_t i = 0; i < n_jobs; i++)
            if (jobs[i].downloaded && !pl_imagestore_has_layer(store, jobs[i].diff_id))
                remove_blob(store, jobs[i].digest);
        vic_err_wrap(err, rc, "pull %s", reference);
    }
    free(jobs);
    free(s.base);
    vic_free_secret(s.auth);
    curl_easy_cleanup(s.easy);
    pl_ref_free(ref);
    return rc;
}

/* ---- push ---- */

/* The body of an upload: a blob file (fd) or bytes in memory, read from the start on every
 * attempt. */
typedef struct upload {
    xfer *x;
    int fd;
    const char *mem;
    int64_t size, off;
    const char *id; /* a layer's short id: progress is reported */
    const char *digest;
    uint64_t reported;
} upload;

static size_t on_read(char *buf, size_t size, size_t n, void *payload)
{
    upload *u = payload;
    size_t want = size * n;
    if ((int64_t)want > u->size - u->off)
        want = (size_t)(u->size - u->off);
    if (want == 0)
        return 0;
    ssize_t got;
    if (u->mem) {
        memcpy(buf, u->mem + u->off, want);
        got = (ssize_t)want;
    } else if ((got = pread(u->fd, buf, want, u->off)) <= 0) {
        return CURL_READFUNC_ABORT;
    }
    u->off += got;
    session *s = u->x->s;
    if (u->id && s->progress &&
        ((uint64_t)u->off - u->reported >= PROGRESS_STEP || u->off == u->size)) {
        u->reported = (uint64_t)u->off;
        pl_progress p = {.id = u->id,
                         .digest = u->digest,
                         .state = PL_PROGRESS_PUSHING,
                         .done = (uint64_t)u->off,
                         .total = (uint64_t)u->size};
        s->progress(&p, s->payload);
    }
    return (size_t)got;
}

/* One request of a push (HEAD, POST or PUT with an upload); answers a 401 challenge once.
 * On return x holds the answer (status, headers, a bounded body). */
static int push_request(xfer *x, session *s, const char *method, const char *url,
                        const char *content_type, upload *u, const char *what, vic_err **err)
{
    for (;;) {
        xfer_clear(x);
        /* a HEAD's Content-Length is the blob's, which no body follows */
        *x = (xfer){.s = s,
                    .e = s->easy,
                    .max = strcmp(method, "HEAD") == 0 ? SIZE_MAX : MAX_ERROR_BODY,
                    .expect_size = -1};
        curl_easy_reset(s->easy);
        if (content_type) {
            cleanup_free char *h = xasprintf("Content-Type: %s", content_type);
            x->hdrs = curl_slist_append(x->hdrs, h);
        }
        xfer_setup(x, url, NULL, u == NULL || u->size < (1 << 20));
        curl_easy_setopt(s->easy, CURLOPT_FOLLOWLOCATION, 0L);
        if (strcmp(method, "HEAD") == 0) {
            curl_easy_setopt(s->easy, CURLOPT_NOBODY, 1L);
        } else if (u) {
            u->off = 0;
            u->reported = 0;
            u->x = x;
            curl_easy_setopt(s->easy, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(s->easy, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(s->easy, CURLOPT_READDATA, u);
            curl_easy_setopt(s->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->size);
            curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, method);
        } else {
            curl_easy_setopt(s->easy, CURLOPT_POST, 1L);
            curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, 0L);
            curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, "");
        }
        CURLcode cc = curl_easy_perform(s->easy);
        int rc = xfer_result(x, cc, what, err);
        if (rc < 0)
            return rc;
        if (xfer_status(x) != 401)
            return 0;
        cleanup_free char *ch = x->www_auth ? xstrdup(x->www_auth) : NULL;
        if ((rc = answer_challenge(s, ch, err)) < 0)
            return rc;
    }
}

/* The registry's refusal of a push step, with its own words. */
static int push_refused(const xfer *x, const char *what, vic_err **err)
{
    long status = xfer_status((xfer *)x);
    cleanup_free char *msg = error_message(x);
    int code = status == 401 || status == 403 ? VIC_EAUTH
               : status == 404                ? VIC_ENOTFOUND
                                              : VIC_EUPSTREAM;
    return vic_err_set(err, code, "%s: HTTP %ld (%s)", what, status, msg);
}

/* The manifest stored with image record rec (one of its blobs: an image manifest whose
 * config is the image's), its bytes and media type (caller frees). VIC_ENOTFOUND without. */
static int image_manifest(char **out, size_t *len, char **media, pl_imagestore *store,
                          const json_t *rec, size_t max, vic_err **err)
{
    const char *id = vic_json_str(rec, "id");
    json_t *blobs cleanup_json = NULL;
    int rc = pl_imagestore_image_blobs(&blobs, store, id, err);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *b;
    json_array_foreach(blobs, i, b)
    {
        const char *d = json_string_value(b);
        if (d == NULL || strcmp(d, id) == 0)
            continue;
        cleanup_free char *body = NULL;
        size_t blen = 0;
        json_t *m cleanup_json = NULL;
        vic_err *e cleanup_err = NULL;
        /* layers are larger than a manifest may be: those are passed over unread */
        if (pl_imagestore_read_blob(&body, &blen, store, d, max, &e) < 0 ||
            pl_manifest_parse(&m, body, blen, NULL, &e) < 0 ||
            strcmp(vic_json_str(m, "kind"), "manifest") != 0 ||
            strcmp(vic_json_str(json_object_get(m, "config"), "digest") ?: "", id) != 0)
            continue;
        *media = xstrdup(vic_json_str(m, "media_type"));
        *len = blen;
        *out = steal_ptr(body);
        return 0;
    }
    return vic_err_set(err, VIC_ENOTFOUND, "image %s has no manifest stored to push", id);
}

/* Pushes one blob unless the repository has it; id: a layer's short id for progress. */
static int push_blob(session *s, pl_imagestore *store, const char *digest, const char *id,
                     vic_err **err)
{
    cleanup_free char *url = xasprintf("%s/v2/%s/blobs/%s", s->base, s->repo, digest);
    xfer x = {0};
    int rc = push_request(&x, s, "HEAD", url, NULL, NULL, "blob check", err);
    long status = rc == 0 ? xfer_status(&x) : 0;
    if (rc == 0 && status == 200) {
        xfer_clear(&x);
        if (id && s->progress)
            s->progress(
                &(pl_progress){.id = id, .digest = digest, .state = PL_PROGRESS_LAYER_EXISTS},
                s->payload);
        return 0;
    }
    if (rc == 0 && status != 404)
        rc = push_refused(&x, "blob check", err);
    cleanup_free char *start = xasprintf("%s/v2/%s/blobs/uploads/", s->base, s->repo);
    if (rc == 0)
        rc = push_request(&x, s, "POST", start, NULL, NULL, "upload start", err);
    if (rc == 0 && (xfer_status(&x) != 202 || x.location == NULL))
        rc = x.location ? push_refused(&x, "upload start", err)
                        : vic_err_set(err, VIC_EUPSTREAM, "upload start: no Location");
    cleanup_free char *put = NULL;
    if (rc == 0) {
        char *esc = curl_easy_escape(s->easy, digest, 0);
        put = xasprintf("%s%s%sdigest=%s", x.location[0] == '/' ? s->base : "", x.location,
                        strchr(x.location, '?') ? "&" : "?", esc);
        curl_free(esc);
        if (strncmp(put, "https://", 8) != 0 && !(s->insecure && strncmp(put, "http://", 7) == 0))
            rc = vic_err_set(err, VIC_EUPSTREAM, "upload location %.200s is not https", put);
    }
    cleanup_free char *path = NULL;
    int fd cleanup_close = -1;
    struct stat st;
    if (rc == 0 && (rc = pl_imagestore_blob_path(&path, store, digest, err)) == 0 &&
        ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0))
        rc = vic_err_sys(err, VIC_ENOTFOUND, errno, "blob %s", digest);
    if (rc == 0) {
        upload u = {.fd = fd, .size = st.st_size, .id = id, .digest = digest};
        rc = push_request(&x, s, "PUT", put, "application/octet-stream", &u, "upload", err);
        if (rc == 0 && xfer_status(&x) != 201)
            rc = push_refused(&x, "upload", err);
    }
    xfer_clear(&x);
    if (rc == 0 && id && s->progress)
        s->progress(&(pl_progress){.id = id, .digest = digest, .state = PL_PROGRESS_PUSHED},
                    s->payload);
    return rc;
}

int pl_registry_push(json_t **out, pl_registry *r, pl_imagestore *store, const char *reference,
                     const pl_registry_creds *creds, pl_progress_fn progress, void *payload,
                     vic_err **err)
{
    *out = NULL;
    pl_ref *ref = NULL;
    int rc = pl_ref_parse(&ref, reference, err);
    if (rc < 0)
        return rc;
    if (ref->digest) {
        pl_ref_free(ref);
        return vic_err_set(err, VIC_EINVAL, "cannot push a digest reference: %s", reference);
    }
    json_t *rec cleanup_json = NULL;
    cleanup_free char *name = pl_ref_string(ref);
    if ((rc = pl_imagestore_inspect(&rec, store, name, err)) < 0) {
        pl_ref_free(ref);
        if (rc == VIC_ENOTFOUND)
            return vic_err_set(err, VIC_ENOTFOUND,
                               "An image does not exist locally with the tag: %s", reference);
        return rc;
    }
    session s = {.r = r,
                 .host = find_host(r, ref),
                 .host_name = pl_ref_registry_host(ref),
                 .repo = ref->repository,
                 .action = "pull,push",
                 .progress = progress,
                 .payload = payload};
    s.insecure = (s.host && s.host->insecure) ||
                 (r->o.loopback_insecure && pl_registry_default_insecure(s.host_name));
    session_creds(&s, creds);
    s.easy = curl_easy_init();
    if (s.easy == NULL)
        abort();
    cleanup_free char *mbody = NULL, *media = NULL;
    size_t mlen = 0;
    rc = image_manifest(&mbody, &mlen, &media, store, rec, r->o.max_manifest, err);
    const json_t *layers = json_object_get(rec, "layers");
    size_t n = json_array_size(layers);
    char(*ids)[13] = xcalloc(n ? n : 1, sizeof(*ids));
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *d = vic_json_str(json_array_get(layers, i), "diff_id");
        snprintf(ids[i], sizeof(ids[i]), "%.12s", d && strlen(d) > 7 ? d + 7 : "?");
        if (progress)
            progress(&(pl_progress){.id = ids[i], .state = PL_PROGRESS_PREPARING}, payload);
    }
    if (rc == 0)
        rc = ping(&s, err);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = push_blob(&s, store, vic_json_str(json_array_get(layers, i), "digest"), ids[i], err);
    if (rc == 0)
        rc = push_blob(&s, store, vic_json_str(rec, "id"), NULL, err);
    if (rc == 0) {
        cleanup_free char *url = xasprintf("%s/v2/%s/manifests/%s", s.base, s.repo, ref->tag);
        upload u = {.fd = -1, .mem = mbody, .size = (int64_t)mlen};
        xfer x = {0};
        rc = push_request(&x, &s, "PUT", url, media, &u, "manifest", err);
        if (rc == 0 && xfer_status(&x) != 201)
            rc = push_refused(&x, "manifest", err);
        xfer_clear(&x);
    }
    if (rc == 0) {
        char digest[72];
        sha256_digest(digest, mbody, mlen);
        *out = json_pack("{s:s, s:s, s:I}", "tag", ref->tag, "digest", digest, "size",
                         (json_int_t)mlen);
    }
    free(ids);
    free(s.base);
    vic_free_secret(s.auth);
    curl_easy_cleanup(s.easy);
    pl_ref_free(ref);
    return rc < 0 ? vic_err_wrap(err, rc, "push %s", reference) : 0;
}
