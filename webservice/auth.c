#include "webservice/auth.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/throttle.h"
#include "webservice/tokens.h"
#include "webservice/vchs.h"

#define CACHE_SLOTS 32
#define CACHE_TTL   300

typedef struct cache_entry {
    unsigned char mac[32];
    char user[64];
    time_t expires;
} cache_entry;

struct ws_auth {
    pthread_mutex_t lock;
    /* One password hash at a time: concurrent requests with the same new credentials wait
     * for the first verification and then hit the cache instead of each paying for it, and
     * a flood of guesses costs at most one core. */
    pthread_mutex_t verify_lock;
    unsigned char cache_key[32];
    cache_entry cache[CACHE_SLOTS];
    unsigned cache_next;
    vic_throttle *throttle; /* failed logins, per user name and source */
    char *dummy_hash;       /* verified against for unknown users, so timing does not tell */
};

ws_auth *ws_auth_new(void)
{
    ws_auth *a = xzalloc(sizeof(*a));
    pthread_mutex_init(&a->lock, NULL);
    pthread_mutex_init(&a->verify_lock, NULL);
    vic_random_bytes(a->cache_key, sizeof(a->cache_key));
    a->throttle = vic_throttle_new(WS_LOGIN_MAX_FAILURES, WS_LOGIN_WINDOW, 900);
    /* Any well-formed hash with the real cost will do: no password ever matches it. */
    a->dummy_hash = xasprintf("pbkdf2-sha256$%u$AAAAAAAAAAAAAAAAAAAAAA==$"
                              "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                              VIC_PW_ITERATIONS);
    return a;
}

void ws_auth_free(ws_auth *a)
{
    if (a == NULL)
        return;
    vic_throttle_free(a->throttle);
    OPENSSL_cleanse(a, offsetof(ws_auth, dummy_hash));
    pthread_mutex_destroy(&a->lock);
    pthread_mutex_destroy(&a->verify_lock);
    free(a->dummy_hash);
    free(a);
}

/* ---- users ---- */

typedef struct user_args {
    const char *user;
    const char *hash;
    char *found_hash;
    int count;
} user_args;

static int insert_user(sqlite3 *db, void *payload, vic_err **err)
{
    user_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st,
                               "INSERT INTO users(name, pw_hash, created) "
                               "VALUES(?, ?, strftime('%s','now'))",
                               err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->hash, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return vic_err_set(err, VIC_ECONFLICT, "user %s exists", a->user);
    if (rc != SQLITE_DONE)
        return vic_store_error(err, db, rc, "create user");
    return 0;
}

int ws_user_create(ws *w, const char *user, const char *password, vic_err **err)
{
    char *hash = vic_password_hash(password, VIC_PW_ITERATIONS);
    user_args a = {.user = user, .hash = hash};
    int rc = vic_store_write(w->store, insert_user, &a, err);
    free(hash);
    return rc;
}

static int delete_user(sqlite3 *db, void *payload, vic_err **err)
{
    user_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st, "DELETE FROM users WHERE name = ?", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->user, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "delete user");
    return 0;
}

int ws_user_delete(ws *w, const char *user, vic_err **err)
{
    user_args a = {.user = user};
    return vic_store_write(w->store, delete_user, &a, err);
}

static int count_users(sqlite3 *db, void *payload, vic_err **err)
{
    user_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st, "SELECT count(*) FROM users", err);
    if (rc < 0)
        return rc;
    if ((rc = sqlite3_step(st)) != SQLITE_ROW)
        return vic_store_error(err, db, rc, "count users");
    a->count = sqlite3_column_int(st, 0);
    return 0;
}

int ws_user_count(ws *w, int *out, vic_err **err)
{
    user_args a = {0};
    int rc = vic_store_read(w->store, count_users, &a, err);
    *out = a.count;
    return rc;
}

static int get_hash(sqlite3 *db, void *payload, vic_err **err)
{
    user_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st, "SELECT pw_hash FROM users WHERE name = ?", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->user, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        a->found_hash = xstrdup((const char *)sqlite3_column_text(st, 0));
    else if (rc != SQLITE_DONE)
        return vic_store_error(err, db, rc, "look up user");
    return 0;
}

/* ---- credential cache ---- */

static int cache_hit(ws_auth *a, const unsigned char mac[32], time_t now)
{
    int hit = 0;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < CACHE_SLOTS && !hit; i++)
        hit = a->cache[i].expires > now && CRYPTO_memcmp(a->cache[i].mac, mac, 32) == 0;
    pthread_mutex_unlock(&a->lock);
    return hit;
}

static void cache_put(ws_auth *a, const unsigned char mac[32], const char *user, time_t now)
{
    pthread_mutex_lock(&a->lock);
    cache_entry *e = &a->cache[a->cache_next++ % CACHE_SLOTS];
    memcpy(e->mac, mac, 32);
    snprintf(e->user, sizeof(e->user), "%s", user);
    e->expires = now + CACHE_TTL;
    pthread_mutex_unlock(&a->lock);
}

int ws_login_check(ws *w, const char *remote, const char *user, const char *password,
                   unsigned *retry_after, vic_err **err)
{
    time_t now = w->now();
    unsigned char mac[32];
    vic_credentials_mac(mac, w->auth->cache_key, user, password);
    if (cache_hit(w->auth, mac, now))
        return 0;
    unsigned wait = 0;
    vic_throttle_ticket ticket;
    if (vic_throttle_begin(w->auth->throttle, user, password, remote, now, &wait, &ticket) ==
        VIC_THROTTLE_WAIT) {
        if (retry_after)
            *retry_after = wait;
        return vic_err_set(err, VIC_ELIMIT,
                           "too many failed logins for this user from %s; try again in %u s",
                           remote, wait);
    }

    pthread_mutex_lock(&w->auth->verify_lock);
    if (cache_hit(w->auth, mac, now)) {
        pthread_mutex_unlock(&w->auth->verify_lock);
        return 0;
    }
    user_args a = {.user = user};
    int ok = vic_store_read(w->store, get_hash, &a, err);
    if (ok == 0)
        ok = vic_password_verify(password, a.found_hash ? a.found_hash : w->auth->dummy_hash, err);
    int known = a.found_hash != NULL;
    free(a.found_hash);
    ok = ok < 0 ? ok : ok == 1 && known;
    if (ok == 1)
        cache_put(w->auth, mac, user, now);
    pthread_mutex_unlock(&w->auth->verify_lock);
    vic_throttle_end(w->auth->throttle, &ticket, user, password, ok, w->now());
    if (ok < 0)
        return ok;
    if (!ok) {
        vic_log(VIC_LOG_WARN, "event=login_failed user=\"%s\" remote=%s", user, remote);
        return vic_err_set(err, VIC_EAUTH, "invalid username or password");
    }
    return 0;
}

/* ---- sessions ---- */

typedef struct session_args {
    const char *id_hash;
    const char *user;
    const char *remote;
    ws_session *info;
    time_t now;
    unsigned idle;
    unsigned absolute;
    int found;
} session_args;

static int insert_session(sqlite3 *db, void *payload, vic_err **err)
{
    session_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st,
                               "INSERT INTO sessions(id_hash, user, csrf, created, "
                               "last_seen, remote) VALUES(?, ?, ?, ?, ?, ?)",
                               err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->id_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->info->csrf, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, a->now);
    sqlite3_bind_int64(st, 5, a->now);
    sqlite3_bind_text(st, 6, a->remote, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "create session");
    /* Forget sessions that expired long ago, so the table does not grow without bound. */
    sqlite3_stmt *gc cleanup_stmt = NULL;
    if ((rc = vic_store_prepare(db, &gc,
                                "DELETE FROM sessions WHERE last_seen < ? OR "
                                "created < ?",
                                err)) < 0)
        return rc;
    sqlite3_bind_int64(gc, 1, a->now - a->idle);
    sqlite3_bind_int64(gc, 2, a->now - a->absolute);
    if ((rc = sqlite3_step(gc)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "expire sessions");
    return 0;
}

int ws_session_create(ws *w, const char *user, const char *remote, char **token_out,
                      ws_session *info, vic_err **err)
{
    char *token = vic_token_new(32);
    char *csrf = vic_token_new(32);
    char id_hash[65];
    vic_sha256_hex(id_hash, token, strlen(token));
    memset(info, 0, sizeof(*info));
    snprintf(info->user, sizeof(info->user), "%s", user);
    snprintf(info->csrf, sizeof(info->csrf), "%s", csrf);
    free(csrf);
    session_args a = {.id_hash = id_hash,
                      .user = user,
                      .remote = remote,
                      .info = info,
                      .now = w->now(),
                      .idle = w->opt.session_idle,
                      .absolute = w->opt.session_absolute};
    info->expires = a.now + w->opt.session_idle;
    int rc = vic_store_write(w->store, insert_session, &a, err);
    if (rc < 0) {
        vic_free_secret(token);
        return rc;
    }
    *token_out = token;
    return 0;
}

static int touch_session(sqlite3 *db, void *payload, vic_err **err)
{
    session_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st,
                               "SELECT user, csrf, created, last_seen FROM sessions "
                               "WHERE id_hash = ?",
                               err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->id_hash, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return vic_store_error(err, db, rc, "look up session");
    time_t created = sqlite3_column_int64(st, 2);
    time_t last_seen = sqlite3_column_int64(st, 3);
    const char *delete_sql = "DELETE FROM sessions WHERE id_hash = ?";
    const char *touch_sql = "UPDATE sessions SET last_seen = ? WHERE id_hash = ?";
    int expired = a->now - last_seen >= (time_t)a->idle || a->now - created >= (time_t)a->absolute;
    if (!expired) {
        a->found = 1;
        snprintf(a->info->user, sizeof(a->info->user), "%s", sqlite3_column_text(st, 0));
        snprintf(a->info->csrf, sizeof(a->info->csrf), "%s", sqlite3_column_text(st, 1));
        time_t idle_end = a->now + a->idle, abs_end = created + a->absolute;
        a->info->expires = idle_end < abs_end ? idle_end : abs_end;
        if (a->now - last_seen < 30)
            return 0; /* recent enough: spare the write */
    }
    sqlite3_stmt *up cleanup_stmt = NULL;
    if ((rc = vic_store_prepare(db, &up, expired ? delete_sql : touch_sql, err)) < 0)
        return rc;
    if (expired) {
        sqlite3_bind_text(up, 1, a->id_hash, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_int64(up, 1, a->now);
        sqlite3_bind_text(up, 2, a->id_hash, -1, SQLITE_STATIC);
    }
    if ((rc = sqlite3_step(up)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "update session");
    return 0;
}

int ws_session_lookup(ws *w, const char *token, ws_session *info, vic_err **err)
{
    char id_hash[65];
    vic_sha256_hex(id_hash, token, strlen(token));
    memset(info, 0, sizeof(*info));
    session_args a = {.id_hash = id_hash,
                      .info = info,
                      .now = w->now(),
                      .idle = w->opt.session_idle,
                      .absolute = w->opt.session_absolute};
    int rc = vic_store_write(w->store, touch_session, &a, err);
    if (rc < 0)
        return rc;
    if (!a.found)
        return vic_err_set(err, VIC_EAUTH, "session expired or unknown; log in again");
    return 0;
}

static int delete_session(sqlite3 *db, void *payload, vic_err **err)
{
    session_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st, "DELETE FROM sessions WHERE id_hash = ?", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->id_hash, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "delete session");
    return 0;
}

int ws_session_delete(ws *w, const char *token, vic_err **err)
{
    char id_hash[65];
    vic_sha256_hex(id_hash, token, strlen(token));
    session_args a = {.id_hash = id_hash};
    return vic_store_write(w->store, delete_session, &a, err);
}

/* ---- the auth callback ---- */

static int is_safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

/* Browsers attach cookies and cached Basic credentials to cross-site requests; refuse
 * state-changing requests that a browser marks as coming from another site. An opaque
 * origin ("null": a sandboxed frame, a data: or file: page, a cross-site redirect) is no
 * site of ours either. */
static int check_cross_site(vic_http_req *req, vic_err **err)
{
    const char *site = vic_http_req_header(req, "Sec-Fetch-Site");
    if (site && strcmp(site, "cross-site") == 0)
        return vic_err_set(err, VIC_EFORBIDDEN, "cross-site request refused");
    const char *origin = vic_http_req_header(req, "Origin");
    const char *host = vic_http_req_header(req, "Host");
    if (origin && strcmp(origin, "null") == 0)
        return vic_err_set(err, VIC_EFORBIDDEN, "request from an opaque origin (null) refused");
    if (origin && host) {
        const char *o = strstr(origin, "://");
        if (o == NULL || strcmp(o + 3, host) != 0)
            return vic_err_set(err, VIC_EFORBIDDEN, "request from origin %s refused", origin);
    }
    return 0;
}

static int auth_basic(ws *w, vic_http_req *req, const char *b64, vic_err **err)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    if (strlen(b64) > 1024 || vic_base64_decode(&raw, &len, b64, NULL) < 0)
        return vic_err_set(err, VIC_EAUTH, "malformed Basic credentials");
    char *colon = memchr(raw, ':', len);
    if (colon == NULL || memchr(raw, '\0', len) != NULL) {
        OPENSSL_cleanse(raw, len);
        free(raw);
        return vic_err_set(err, VIC_EAUTH, "malformed Basic credentials");
    }
    *colon = '\0';
    int rc = ws_login_check(w, vic_http_req_remote(req), (char *)raw, colon + 1, NULL, err);
    if (rc == 0)
        vic_http_req_set_principal(req, (char *)raw, "admin");
    OPENSSL_cleanse(raw, len);
    free(raw);
    return rc;
}

/* On a vSphere target's routes, Basic credentials are that target's (vic-machine-server's
 * model): the target checks them when the handler logs in with them, and the service keeps
 * none. Here only the user name is read, to name the caller. */
static int auth_vsphere(vic_http_req *req, const char *b64, const char *target, vic_err **err)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    if (strlen(b64) > 1024 || vic_base64_decode(&raw, &len, b64, NULL) < 0)
        return vic_err_set(err, VIC_EAUTH, "malformed Basic credentials");
    char *colon = memchr(raw, ':', len);
    int rc = 0;
    if (colon == NULL || colon == (char *)raw || memchr(raw, '\0', len) != NULL) {
        rc = vic_err_set(err, VIC_EAUTH, "malformed Basic credentials");
    } else {
        *colon = '\0';
        cleanup_free char *who = xasprintf("%s@%s", (char *)raw, target);
        vic_http_req_set_principal(req, who, "vsphere");
    }
    OPENSSL_cleanse(raw, len);
    free(raw);
    return rc;
}

int ws_authenticate(vic_http_req *req, const vic_http_route *route, void *payload, vic_err **err)
{
    ws *w = payload;
    int bearer_route = (route->flags & WS_ROUTE_BEARER) != 0;
    const char *method = vic_http_req_method(req);
    if (!is_safe_method(method)) {
        int rc = check_cross_site(req, err);
        if (rc < 0)
            return rc;
    }
    const char *authz = vic_http_req_header(req, "Authorization");
    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) == 0) {
            /* A delegation token opens the token-holder routes and nothing else; refused
             * before any verification, so probing an admin route costs a token nothing. */
            if (!bearer_route)
                return vic_err_set(err, VIC_EFORBIDDEN,
                                   "a delegation token may not call %s %s; it needs the admin "
                                   "account",
                                   method, route->pattern);
            return ws_bearer_authenticate(w, req, authz + 7, err);
        }
        if (bearer_route)
            return vic_err_set(err, VIC_EAUTH,
                               "%s %s is for delegation token holders: send Authorization: "
                               "Bearer <token>",
                               method, route->pattern);
        const char *target = vic_http_req_param(req, "t");
        if (strncasecmp(authz, "Basic ", 6) == 0 && target && ws_vsphere_target(w, target))
            return auth_vsphere(req, authz + 6, target, err);
        if (strncasecmp(authz, "Basic ", 6) == 0)
            return auth_basic(w, req, authz + 6, err);
        return vic_err_set(err, VIC_EAUTH,
                           "unsupported Authorization scheme; use Basic or "
                           "Bearer");
    }
    if (bearer_route)
        return vic_err_set(err, VIC_EAUTH,
                           "%s %s is for delegation token holders: send Authorization: Bearer "
                           "<token>",
                           method, route->pattern);
    char token[128];
    if (vic_http_req_cookie(req, WS_SESSION_COOKIE, token, sizeof(token))) {
        ws_session s;
        int rc = ws_session_lookup(w, token, &s, err);
        OPENSSL_cleanse(token, sizeof(token));
        if (rc < 0)
            return rc;
        if (!is_safe_method(method)) {
            const char *csrf = vic_http_req_header(req, "X-CSRF-Token");
            if (csrf == NULL || !vic_ct_streq(csrf, s.csrf))
                return vic_err_set(err, VIC_EFORBIDDEN,
                                   "missing or wrong X-CSRF-Token header "
                                   "(GET /container/session returns it)");
        }
        vic_http_req_set_principal(req, s.user, "session");
        return 0;
    }
    return vic_err_set(err, VIC_EAUTH,
                       "authentication required: HTTP Basic, a session cookie "
                       "from POST /container/login, or a Bearer token");
}
