#include "vicadmin/admin.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/file.h"
#include "lib/httpc.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/throttle.h"
#include "lib/static.h"
#include "lib/version.h"

#define SESSION_COOKIE   "vicadmin_session"
#define SESSION_SECS     (24 * 3600)
#define MAX_SESSIONS     256
#define FREE_FAILURES    5   /* failed logins per user and address before they slow down */
#define LOCKOUT_WINDOW   300 /* seconds over which they are counted */
#define LOCKOUT_MAX_SECS 900 /* the longest wait between checks (lib/throttle.h) */
#define LOG_TAIL_MAX     (4 * 1024 * 1024)
#define BUNDLE_LOG_MAX   (16 * 1024 * 1024)

static const char *const components[] = {"vic-init", "port-layer", "docker-personality",
                                         "vicadmin"};

typedef struct session {
    char hash[65]; /* SHA-256 of the cookie value */
    char remote[64];
    time_t expires;
} session;

struct va {
    va_options o;
    char *passwd_hash;
    hv_conn *hv;
    pthread_mutex_t lock;
    session sessions[MAX_SESSIONS];
    vic_throttle *throttle; /* failed logins, per user name and source */
    time_t started;
};

int va_open(va **out, const va_options *o, vic_err **err)
{
    *out = NULL;
    va *a = xzalloc(sizeof(*a));
    a->o = *o;
    a->started = time(NULL);
    pthread_mutex_init(&a->lock, NULL);
    a->throttle = vic_throttle_new(FREE_FAILURES, LOCKOUT_WINDOW, LOCKOUT_MAX_SECS);
    if (o->passwd_file) {
        size_t len = 0;
        int rc = vic_file_read(&a->passwd_hash, &len, o->passwd_file, 4096, err);
        if (rc < 0) {
            va_free(a);
            return vic_err_wrap(err, rc, "--passwd-file");
        }
        a->passwd_hash[strcspn(a->passwd_hash, "\r\n")] = '\0';
    }
    hv_connect_opts co = {.target = "local", .home = o->home};
    vic_err *he = NULL;
    if (o->home && hv_open(&a->hv, &co, &he) < 0) {
        vic_log(VIC_LOG_WARN, "event=hv_unavailable msg=\"%s\"", he->msg);
        a->hv = NULL;
    }
    vic_err_free(&he);
    *out = a;
    return 0;
}

void va_free(va *a)
{
    if (a == NULL)
        return;
    if (a->hv)
        hv_close(a->hv);
    vic_free_secret(a->passwd_hash);
    vic_throttle_free(a->throttle);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* ---- authentication ---- */

static int session_valid(va *a, const char *token, const char *remote)
{
    char hash[65];
    vic_sha256_hex(hash, token, strlen(token));
    time_t now = time(NULL);
    int ok = 0;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        session *s = &a->sessions[i];
        if (s->expires > now && vic_ct_streq(s->hash, hash)) {
            /* bound to the address it was opened from: a stolen cookie is useless elsewhere */
            ok = strcmp(s->remote, remote) == 0;
            break;
        }
    }
    pthread_mutex_unlock(&a->lock);
    return ok;
}

int va_authenticate(vic_http_req *req, const vic_http_route *route, void *payload, vic_err **err)
{
    (void)route;
    va *a = payload;
    if (vic_http_req_client_cert(req)) {
        vic_http_req_set_principal(req, "client-certificate", "certificate");
        return 0;
    }
    char token[128];
    if (vic_http_req_cookie(req, SESSION_COOKIE, token, sizeof(token)) &&
        session_valid(a, token, vic_http_req_remote(req))) {
        vic_http_req_set_principal(req, "admin", "session");
        return 0;
    }
    return vic_err_set(err, VIC_EAUTH,
                       "log in, or present a client certificate signed by the VCH's CA");
}

static const vic_schema_field login_fields[] = {
    {.name = "username", .type = VIC_JSON_STRING, .required = 1, .min = 1, .max = 64},
    {.name = "password", .type = VIC_JSON_STRING, .required = 1, .min = 1, .max = 1024},
};
static const vic_schema login_schema = VIC_SCHEMA(login_fields);

static int login_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    va *a = payload;
    json_t *body = vic_http_req_json(req);
    int rc = vic_json_validate(body, &login_schema, NULL, err);
    if (rc < 0)
        return rc;
    const char *remote = vic_http_req_remote(req);
    const char *user = vic_json_str(body, "username");
    const char *password = vic_json_str(body, "password");
    time_t now = time(NULL);
    unsigned wait = 0;
    vic_throttle_ticket ticket;
    if (vic_throttle_begin(a->throttle, user, password, remote, now, &wait, &ticket) ==
        VIC_THROTTLE_WAIT) {
        char secs[24];
        snprintf(secs, sizeof(secs), "%u", wait);
        vic_http_resp_error(resp, 429,
                            "too many failed logins for this user from this address; try again "
                            "later");
        vic_http_resp_header(resp, "Retry-After", secs);
        return 0;
    }
    int good = 0;
    vic_err *ve = NULL;
    if (a->passwd_hash && strcmp(user, "admin") == 0)
        good = vic_password_verify(password, a->passwd_hash, &ve) == 1;
    vic_err_free(&ve);
    vic_throttle_end(a->throttle, &ticket, user, password, good, time(NULL));
    if (!good) {
        vic_log(VIC_LOG_WARN, "event=login_failed remote=%s", remote);
        return vic_err_set(err, VIC_EAUTH, "wrong user name or password");
    }
    cleanup_secret char *token = vic_token_new(32);
    pthread_mutex_lock(&a->lock);
    session *slot = &a->sessions[0];
    for (size_t i = 0; i < MAX_SESSIONS; i++)
        if (a->sessions[i].expires < slot->expires)
            slot = &a->sessions[i];
    vic_sha256_hex(slot->hash, token, strlen(token));
    snprintf(slot->remote, sizeof(slot->remote), "%s", remote);
    slot->expires = now + SESSION_SECS;
    pthread_mutex_unlock(&a->lock);
    cleanup_secret char *cookie =
        xasprintf("%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", SESSION_COOKIE, token,
                  SESSION_SECS, vic_http_req_is_tls(req) ? "; Secure" : "");
    vic_http_resp_header(resp, "Set-Cookie", cookie);
    vic_http_resp_json(
        resp, 200,
        json_pack("{s:s, s:I}", "user", "admin", "expires_at", (json_int_t)(now + SESSION_SECS)));
    vic_log(VIC_LOG_INFO, "event=login remote=%s", remote);
    return 0;
}

static int logout_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)err;
    va *a = payload;
    char token[128];
    if (vic_http_req_cookie(req, SESSION_COOKIE, token, sizeof(token))) {
        char hash[65];
        vic_sha256_hex(hash, token, strlen(token));
        pthread_mutex_lock(&a->lock);
        for (size_t i = 0; i < MAX_SESSIONS; i++)
            if (vic_ct_streq(a->sessions[i].hash, hash))
                memset(&a->sessions[i], 0, sizeof(session));
        pthread_mutex_unlock(&a->lock);
    }
    vic_http_resp_header(resp, "Set-Cookie",
                         SESSION_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    vic_http_resp_json(resp, 204, NULL);
    return 0;
}

/* ---- the dashboard ---- */

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p, (void)ud;
    return sz * n;
}

/* Whether url answers HTTP at all; *why gets curl's reason when it does not. */
static int answers(const char *url, char *why, size_t cap)
{
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(why, cap, "cannot create a client");
        return 0;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* a liveness probe: any HTTP answer counts, whoever signed the certificate */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK)
        snprintf(why, cap, "%s", curl_easy_strerror(cc));
    return cc == CURLE_OK;
}

static json_t *warn(json_t *warnings, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *warn(json_t *warnings, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(warnings, vic_json_string_lossy(s));
    free(s);
    return warnings;
}

static json_t *space_of(const char *path)
{
    struct statvfs sv;
    if (path == NULL || statvfs(path, &sv) < 0)
        return json_null();
    unsigned long long total = (unsigned long long)sv.f_blocks * sv.f_frsize;
    unsigned long long avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
    return json_pack("{s:s, s:I, s:I}", "path", path, "capacity_mb", (json_int_t)(total >> 20),
                     "free_mb", (json_int_t)(avail >> 20));
}

static char *read_token(const va *a)
{
    char *text = NULL;
    size_t len = 0;
    vic_err *err = NULL;
    if (a->o.token_file == NULL || vic_file_read(&text, &len, a->o.token_file, 4096, &err) < 0) {
        vic_err_free(&err);
        return NULL;
    }
    text[strcspn(text, "\r\n")] = '\0';
    return text;
}

int va_dashboard(va *a, json_t **out, vic_err **err)
{
    (void)err;
    json_t *warnings = json_array();
    /* components, as vic-init keeps them */
    cleanup_free char *cpath = xasprintf("%s/components.json", a->o.dir ? a->o.dir : ".");
    json_t *comps = json_load_file(cpath, 0, NULL);
    if (!json_is_object(comps)) {
        json_decref(comps);
        comps = json_object();
        warn(warnings, "component states unavailable: %s is missing or unreadable", cpath);
    }
    time_t now = time(NULL);
    const char *k;
    json_t *v;
    json_object_foreach(comps, k, v)
    {
        json_int_t started = json_integer_value(json_object_get(v, "started"));
        json_object_set_new(v, "uptime_s", json_integer(started ? (json_int_t)now - started : 0));
        const char *state = json_string_value(json_object_get(v, "state"));
        if (state && strcmp(state, "started") != 0 && strcmp(state, "starting") != 0)
            warn(warnings, "%s is %s", k, state);
    }
    json_object_set_new(comps, "vicadmin",
                        json_pack("{s:s, s:I, s:I, s:I, s:i}", "state", "started", "pid",
                                  (json_int_t)getpid(), "started", (json_int_t)a->started,
                                  "uptime_s", (json_int_t)(now - a->started), "restarts", 0));
    /* the docker endpoint */
    char why[256] = "";
    cleanup_free char *durl = xasprintf("%s://%s/_ping", a->o.docker_tls ? "https" : "http",
                                        a->o.docker ? a->o.docker : "127.0.0.1:2376");
    int dok = answers(durl, why, sizeof(why));
    if (!dok)
        warn(warnings, "docker endpoint %s unreachable: %s", a->o.docker, why);
    json_t *docker =
        json_pack("{s:s, s:b}", "address", a->o.docker ? a->o.docker : "", "answers", dok);
    /* registries */
    json_t *regs = json_array();
    for (size_t i = 0; i < a->o.n_registries; i++) {
        const char *r = a->o.registries[i];
        cleanup_free char *https = xasprintf("https://%s/v2/", r);
        cleanup_free char *http = xasprintf("http://%s/v2/", r);
        char w1[256] = "", w2[256] = "";
        int ok = answers(https, w1, sizeof(w1)) || answers(http, w2, sizeof(w2));
        if (!ok)
            warn(warnings, "registry %s unreachable: %s", r, w2[0] ? w2 : w1);
        json_array_append_new(regs, json_pack("{s:s, s:b}", "registry", r, "reachable", ok));
    }
    /* storage */
    json_t *storage =
        json_pack("{s:o, s:o}", "images", space_of(a->o.images), "home", space_of(a->o.home));
    json_t *img = json_object_get(storage, "images");
    if (json_is_object(img) && json_integer_value(json_object_get(img, "free_mb")) < 1024)
        warn(warnings, "image datastore has only %lld MB free",
             (long long)json_integer_value(json_object_get(img, "free_mb")));
    /* the pool */
    json_t *pool = json_null();
    if (a->hv && a->o.pool) {
        hv_ref ref;
        hv_pool_info info;
        vic_err *pe = NULL;
        if (hv_find(a->hv, HV_POOL, a->o.pool, &ref, &pe) == 0 &&
            hv_pool_get(a->hv, &ref, &info, &pe) == 0) {
            json_decref(pool);
            pool = json_pack(
                "{s:s, s:{s:I, s:I, s:s}, s:{s:I, s:I, s:s}}", "path", info.path, "cpu",
                "limit_mhz", (json_int_t)info.spec.cpu.limit, "reservation_mhz",
                (json_int_t)info.spec.cpu.reservation, "enforcement", info.cpu_enforcement,
                "memory", "limit_mb", (json_int_t)info.spec.memory.limit, "reservation_mb",
                (json_int_t)info.spec.memory.reservation, "enforcement", info.memory_enforcement);
        } else {
            warn(warnings, "resource pool %s: %s", a->o.pool, pe->msg);
        }
        vic_err_free(&pe);
    }
    /* containers, from the port layer */
    json_t *counts = json_object();
    cleanup_secret char *token = read_token(a);
    vic_httpc *pl = NULL;
    vic_err *ce = NULL;
    json_t *list = NULL;
    if (token && a->o.port_layer && vic_httpc_new(&pl, a->o.port_layer, token, &ce) == 0 &&
        vic_httpc_json(pl, "GET", "/containers?all=1", NULL, 5000, &list, &ce) == 0) {
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c)
        {
            const char *st = json_string_value(json_object_get(c, "state"));
            st = st ? st : "unknown";
            json_object_set_new(counts, st,
                                json_integer(json_integer_value(json_object_get(counts, st)) + 1));
        }
    } else {
        warn(warnings, "port layer %s: %s", a->o.port_layer ? a->o.port_layer : "(none)",
             ce ? ce->msg : "no token");
    }
    json_decref(list);
    vic_err_free(&ce);
    if (pl)
        vic_httpc_free(pl);
    *out = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name",
                     a->o.name ? a->o.name : "", "version", vic_version(), "components", comps,
                     "docker", docker, "registries", regs, "storage", storage, "pool", pool,
                     "containers", counts, "warnings", warnings);
    return 0;
}

static int dashboard_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req;
    json_t *out = NULL;
    int rc = va_dashboard(payload, &out, err);
    if (rc == 0)
        vic_http_resp_json(resp, 200, out);
    return rc;
}

/* ---- logs ---- */

int va_component_log(const va *a, const char *name, char **path, vic_err **err)
{
    for (size_t i = 0; i < sizeof(components) / sizeof(components[0]); i++)
        if (name && strcmp(name, components[i]) == 0) {
            *path = xasprintf("%s/%s.log", a->o.dir ? a->o.dir : ".", components[i]);
            return 0;
        }
    return vic_err_set(err, VIC_ENOTFOUND,
                       "no component \"%.40s\" (vic-init, port-layer, docker-personality, "
                       "vicadmin)",
                       name ? name : "");
}

char *va_tail_file(const char *path, long lines, size_t max, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return xstrdup("");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)max ? size - (long)max : 0;
    fseek(f, from, SEEK_SET);
    char *buf = xmalloc((size_t)(size - from) + 1);
    size_t n = fread(buf, 1, (size_t)(size - from), f);
    fclose(f);
    buf[n] = '\0';
    size_t start = n;
    long seen = 0;
    while (start > 0) {
        if (buf[start - 1] == '\n' && start != n && ++seen >= lines)
            break;
        start--;
    }
    memmove(buf, buf + start, n - start + 1);
    *len = n - start;
    return buf;
}

static int logs_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    va *a = payload;
    cleanup_free char *path = NULL;
    int rc = va_component_log(a, vic_http_req_param(req, "component"), &path, err);
    if (rc < 0)
        return rc;
    const char *t = vic_http_req_query(req, "tail");
    char *end = NULL;
    long lines = t ? strtol(t, &end, 10) : 500;
    if (t && (end == t || *end || lines < 1 || lines > 1000000))
        return vic_err_set(err, VIC_EINVAL, "tail: \"%.32s\" is not between 1 and 1000000", t);
    size_t len = 0;
    cleanup_free char *text = va_tail_file(path, lines, LOG_TAIL_MAX, &len);
    vic_http_resp_text(resp, 200, "text/plain; charset=utf-8", text, len);
    return 0;
}

typedef struct follow_job {
    char *path;
    vic_http_stream *s;
} follow_job;

static void *follow_thread(void *p)
{
    follow_job *j = p;
    struct stat st;
    off_t pos = stat(j->path, &st) == 0 ? st.st_size : 0;
    /* the recent past first, so the page is not empty */
    size_t len = 0;
    cleanup_free char *recent = va_tail_file(j->path, 50, LOG_TAIL_MAX, &len);
    int alive = len == 0 || vic_http_stream_event(j->s, "log", NULL, recent, NULL) == 0;
    vic_buf carry = VIC_BUF_INIT;
    while (alive && vic_http_stream_alive(j->s)) {
        struct timespec nap = {0, 250 * 1000 * 1000};
        nanosleep(&nap, NULL);
        if (stat(j->path, &st) < 0)
            continue;
        if (st.st_size < pos) /* truncated or replaced: start over */
            pos = 0;
        if (st.st_size == pos)
            continue;
        FILE *f = fopen(j->path, "re");
        if (f == NULL)
            continue;
        fseek(f, pos, SEEK_SET);
        char buf[65536];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        pos += (off_t)n;
        vic_buf_append(&carry, buf, n);
        /* whole lines only; the rest waits for its newline */
        char *last = carry.len ? memrchr(carry.data, '\n', carry.len) : NULL;
        if (last == NULL)
            continue;
        size_t upto = (size_t)(last - carry.data);
        cleanup_free char *chunk = xstrndup(carry.data, upto);
        memmove(carry.data, last + 1, carry.len - upto - 1);
        carry.len -= upto + 1;
        alive = vic_http_stream_event(j->s, "log", NULL, chunk, NULL) == 0;
    }
    vic_buf_free(&carry);
    vic_http_stream_close(j->s);
    vic_http_stream_release(j->s);
    free(j->path);
    free(j);
    return NULL;
}

static int follow_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    va *a = payload;
    char *path = NULL;
    int rc = va_component_log(a, vic_http_req_param(req, "component"), &path, err);
    if (rc < 0)
        return rc;
    follow_job *j = xzalloc(sizeof(*j));
    j->path = path;
    j->s = vic_http_resp_stream(resp, 200, "text/event-stream");
    vic_http_resp_header(resp, "Cache-Control", "no-store");
    pthread_t th;
    if (pthread_create(&th, NULL, follow_thread, j) != 0) {
        vic_http_stream_close(j->s);
        vic_http_stream_release(j->s);
        free(j->path);
        free(j);
        return vic_err_set(err, VIC_EINTERNAL, "cannot follow the log");
    }
    pthread_detach(th);
    return 0;
}

/* ---- the support bundle ---- */

static la_ssize_t bundle_write(struct archive *ar, void *ud, const void *buf, size_t n)
{
    (void)ar;
    vic_buf_append(ud, buf, n);
    return (la_ssize_t)n;
}

static int add_entry(struct archive *ar, const char *name, const char *data, size_t len)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, time(NULL), 0);
    int ok = archive_write_header(ar, e) == ARCHIVE_OK &&
             (len == 0 || archive_write_data(ar, data, len) == (la_ssize_t)len);
    archive_entry_free(e);
    return ok ? 0 : -1;
}

int va_secret_key(const char *k)
{
    static const char *const words[] = {"password", "passwd", "secret", "token", "key", NULL};
    for (const char *const *w = words; *w; w++)
        if (strcasestr(k, *w))
            return 1;
    return 0;
}

/* The appliance's configuration (its VM's extraConfig) without secrets. */
static json_t *config_of(va *a)
{
    json_t *out = json_object();
    if (a->hv == NULL || a->o.name == NULL)
        return out;
    hv_ref ref;
    snprintf(ref.id, sizeof(ref.id), "vm:%s", a->o.name);
    hv_vm_info info = {0};
    vic_err *err = NULL;
    if (hv_vm_get(a->hv, &ref, &info, &err) == 0) {
        const char *k;
        json_t *v;
        json_object_foreach(info.extra_config, k, v)
        {
            json_object_set(out, k, va_secret_key(k) ? json_string("(removed)") : v);
        }
        json_object_set_new(out, "power", json_string(hv_power_name(info.power)));
    }
    hv_vm_info_clear(&info);
    vic_err_free(&err);
    return out;
}

int va_bundle(va *a, char **data, size_t *len, vic_err **err)
{
    *data = NULL;
    *len = 0;
    vic_buf out = VIC_BUF_INIT;
    struct archive *ar = archive_write_new();
    archive_write_set_format_pax_restricted(ar);
    archive_write_add_filter_gzip(ar);
    if (archive_write_open(ar, &out, NULL, bundle_write, NULL) != ARCHIVE_OK) {
        archive_write_free(ar);
        return vic_err_set(err, VIC_EINTERNAL, "bundle: %s", archive_error_string(ar));
    }
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    cleanup_free char *root = xasprintf("vch-%s-%s", a->o.name ? a->o.name : "vch", stamp);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(components) / sizeof(components[0]); i++) {
        cleanup_free char *path = xasprintf("%s/%s.log", a->o.dir ? a->o.dir : ".", components[i]);
        size_t n = 0;
        cleanup_free char *text = va_tail_file(path, 1L << 30, BUNDLE_LOG_MAX, &n);
        cleanup_free char *name = xasprintf("%s/logs/%s.log", root, components[i]);
        rc = add_entry(ar, name, text, n);
    }
    json_t *dash cleanup_json = NULL;
    if (rc == 0 && va_dashboard(a, &dash, err) == 0) {
        cleanup_free char *text = json_dumps(dash, JSON_INDENT(2) | JSON_SORT_KEYS);
        cleanup_free char *name = xasprintf("%s/dashboard.json", root);
        rc = add_entry(ar, name, text, strlen(text));
    }
    if (rc == 0) {
        json_t *cfg cleanup_json = config_of(a);
        cleanup_free char *text = json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS);
        cleanup_free char *name = xasprintf("%s/config.json", root);
        rc = add_entry(ar, name, text, strlen(text));
    }
    if (rc == 0 && a->o.home) {
        /* the inventory's recent events about this VCH and its containers */
        cleanup_free char *path = xasprintf("%s/events.log", a->o.home);
        size_t n = 0;
        cleanup_free char *text = va_tail_file(path, 2000, LOG_TAIL_MAX, &n);
        cleanup_free char *name = xasprintf("%s/events.log", root);
        rc = add_entry(ar, name, text, n);
    }
    if (rc < 0 || archive_write_close(ar) != ARCHIVE_OK) {
        rc = vic_err_set(err, VIC_EINTERNAL, "bundle: %s", archive_error_string(ar));
        archive_write_free(ar);
        vic_buf_free(&out);
        return rc;
    }
    archive_write_free(ar);
    *len = out.len;
    *data = vic_buf_steal(&out);
    return 0;
}

static int bundle_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    va *a = payload;
    cleanup_free char *data = NULL;
    size_t len = 0;
    int rc = va_bundle(a, &data, &len, err);
    if (rc < 0)
        return rc;
    vic_http_resp_text(resp, 200, "application/gzip", data, len);
    cleanup_free char *disp =
        xasprintf("attachment; filename=\"vch-%s-bundle.tar.gz\"", a->o.name ? a->o.name : "vch");
    vic_http_resp_header(resp, "Content-Disposition", disp);
    vic_log(VIC_LOG_INFO, "event=bundle by=%s bytes=%zu", vic_http_req_principal(req), len);
    return 0;
}

/* ---- pages ---- */

static int ping_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)payload, (void)err;
    vic_http_resp_text(resp, 200, "text/plain; charset=utf-8", "OK", 2);
    return 0;
}

static int page_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req;
    va *a = payload;
    return vic_static_serve(resp, a->o.ui_dir, NULL, "vicadmin.html", "no-cache", err);
}

static int asset_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    va *a = payload;
    return vic_static_serve(resp, a->o.ui_dir, NULL, vic_http_req_param(req, "file"), "no-cache",
                            err);
}

static int vendor_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    va *a = payload;
    return vic_static_serve(resp, a->o.ui_dir, "vendor", vic_http_req_param(req, "file"),
                            "public, max-age=31536000, immutable", err);
}

const vic_http_route va_routes[] = {
    {"GET", "/ping", ping_handler, VIC_ROUTE_PUBLIC, "liveness"},
    {"GET", "/", page_handler, VIC_ROUTE_PUBLIC, "the dashboard page"},
    {"GET", "/ui/{file}", asset_handler, VIC_ROUTE_PUBLIC, "the page's assets"},
    {"GET", "/ui/vendor/{file}", vendor_handler, VIC_ROUTE_PUBLIC, "vendored assets"},
    {"POST", "/api/login", login_handler, VIC_ROUTE_PUBLIC | VIC_ROUTE_JSON, "open a session"},
    {"POST", "/api/logout", logout_handler, VIC_ROUTE_JSON_OPTIONAL, "close the session"},
    {"GET", "/api/dashboard", dashboard_handler, 0, "the VCH's health"},
    {"GET", "/api/logs/{component}", logs_handler, 0, "a component's log"},
    {"GET", "/api/logs/{component}/follow", follow_handler, 0, "a component's log, live"},
    {"GET", "/api/bundle", bundle_handler, 0, "a support bundle (tar.gz)"},
};
const size_t va_n_routes = sizeof(va_routes) / sizeof(va_routes[0]);
