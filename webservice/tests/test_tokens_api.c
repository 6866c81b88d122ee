/*
 * The token and self-provision routes through the router (no network): who may call what,
 * the bad-token corpus in tests/tokens/, and concurrent redemption.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jwt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/mem.h"
#include "webservice/auth.h"
#include "webservice/home.h"
#include "webservice/service.h"

#define T0 1700000000

static time_t fake_time = T0;
static time_t fake_now(void)
{
    return fake_time;
}

typedef struct fixture {
    char home[64];
    ws *w;
    vic_http_router *router;
    char *basic;
} fixture;

static int setup(void **state)
{
    fixture *f = xzalloc(sizeof(*f));
    fake_time = T0;
    snprintf(f->home, sizeof(f->home), "/tmp/vic-test-tokapi-XXXXXX");
    assert_non_null(mkdtemp(f->home));
    setenv("VIC_ADMIN_PASSWORD", "correct horse battery", 1);
    ws_options opt = {.home = f->home,
                      .listen = "127.0.0.1:8443",
                      .no_tls = 1,
                      .session_idle = 600,
                      .session_absolute = 3600};
    char *pw = NULL;
    vic_err *err cleanup_err = NULL;
    if (ws_open(&f->w, &opt, &err) < 0 || ws_ensure_admin(f->w, &pw, &err) < 0)
        fail_msg("ws_open: %s", err->msg);
    f->w->now = fake_now;
    assert_int_equal(vic_http_router_new(&f->router, ws_routes, ws_n_routes, ws_authenticate, f->w,
                                         1 << 20, &err),
                     0);
    char *cred = vic_base64_encode("admin:correct horse battery", 27);
    f->basic = xasprintf("Basic %s", cred);
    free(cred);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    vic_http_router_free(f->router);
    ws_free(f->w);
    char *cmd = xasprintf("rm -rf '%s'", f->home);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f->basic);
    free(f);
    return 0;
}

static vic_http_resp *call(fixture *f, const char *method, const char *path, const char *body,
                           const char *authz)
{
    vic_http_req *req = vic_http_req_new(method, path);
    vic_http_req_set_remote(req, "127.0.0.9");
    vic_http_req_add_header(req, "Host", "vic.example.com:8443");
    if (body) {
        vic_http_req_add_header(req, "Content-Type", "application/json");
        vic_http_req_set_body(req, body, strlen(body));
    }
    if (authz)
        vic_http_req_add_header(req, "Authorization", authz);
    vic_http_resp *resp = vic_http_resp_new();
    vic_http_dispatch(f->router, req, resp);
    vic_http_req_free(req);
    return resp;
}

static json_t *body_of(vic_http_resp *r)
{
    const char *b = vic_http_resp_body(r, NULL);
    return b ? json_loads(b, 0, NULL) : NULL;
}

static void expect(vic_http_resp *r, int status, const char *reason)
{
    json_t *j cleanup_json = body_of(r);
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (vic_http_resp_status(r) != status)
        fail_msg("expected %d, got %d: %s", status, vic_http_resp_status(r),
                 vic_http_resp_body(r, NULL));
    if (reason && (msg == NULL || strstr(msg, reason) == NULL))
        fail_msg("expected \"%s\" in \"%s\"", reason, msg ? msg : "(no message)");
}

/* Issues a token through the admin route; *jti_out and the token are owned by the caller. */
static char *issue(fixture *f, const char *body, char **jti_out)
{
    vic_http_resp *r = call(f, "POST", "/container/tokens", body, f->basic);
    expect(r, 201, NULL);
    json_t *j cleanup_json = body_of(r);
    char *token = xstrdup(json_string_value(json_object_get(j, "token")));
    if (jti_out)
        *jti_out = xstrdup(json_string_value(json_object_get(j, "jti")));
    vic_http_resp_free(r);
    return token;
}

static char *bearer(const char *token)
{
    return xasprintf("Bearer %s", token);
}

/* ---- who may call what ---- */

static void test_tokens_api_admin_routes_refuse_bearer(void **state)
{
    fixture *f = *state;
    cleanup_free char *token = issue(f, "{\"sub\":\"alice\"}", NULL);
    cleanup_free char *auth = bearer(token);
    for (size_t i = 0; i < ws_n_routes; i++) {
        const vic_http_route *rt = &ws_routes[i];
        if ((rt->flags & VIC_ROUTE_PUBLIC) || (rt->flags & WS_ROUTE_BEARER))
            continue;
        char path[256];
        snprintf(path, sizeof(path), "%s", rt->pattern);
        char *brace = strchr(path, '{');
        if (brace) { /* fill parameters with a placeholder */
            char *end = strchr(brace, '}');
            memmove(brace + 1, end + 1, strlen(end + 1) + 1);
            *brace = 'x';
        }
        vic_http_resp *r = call(f, rt->method, path, "{}", auth);
        if (vic_http_resp_status(r) != 403)
            fail_msg("%s %s answered %d to a Bearer token", rt->method, rt->pattern,
                     vic_http_resp_status(r));
        expect(r, 403, "a delegation token may not call");
        vic_http_resp_free(r);
    }
}

static void test_tokens_api_holder_routes_need_bearer(void **state)
{
    fixture *f = *state;
    vic_http_resp *r = call(f, "GET", "/container/self-provision/limits", NULL, f->basic);
    expect(r, 401, "is for delegation token holders");
    vic_http_resp_free(r);
    r = call(f, "POST", "/container/self-provision", "{}", NULL);
    expect(r, 401, "is for delegation token holders");
    vic_http_resp_free(r);
}

static void test_tokens_api_issue_list_revoke(void **state)
{
    fixture *f = *state;
    vic_http_resp *r =
        call(f, "POST", "/container/tokens",
             "{\"sub\":\"alice\",\"ttl\":3600,\"restrictions\":{\"memory_mb\":4096}}", f->basic);
    expect(r, 201, NULL);
    json_t *j cleanup_json = body_of(r);
    vic_http_resp_free(r);
    const char *token = json_string_value(json_object_get(j, "token"));
    const char *jti = json_string_value(json_object_get(j, "jti"));
    cleanup_free char *link =
        xasprintf("http://vic.example.com:8443/self-provision#token=%s", token);
    assert_string_equal(json_string_value(json_object_get(j, "link")), link);
    assert_int_equal(json_integer_value(json_object_get(j, "expires_at")), T0 + 3600);

    r = call(f, "GET", "/container/tokens", NULL, f->basic);
    expect(r, 200, NULL);
    assert_null(strstr(vic_http_resp_body(r, NULL), token)); /* never the token text */
    json_t *list cleanup_json = body_of(r);
    json_t *first = json_array_get(json_object_get(list, "tokens"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "state")), "active");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(first, "uses"), "allowed")),
                     1);
    vic_http_resp_free(r);

    cleanup_free char *auth = bearer(token);
    r = call(f, "GET", "/container/self-provision/limits", NULL, auth);
    expect(r, 200, NULL);
    vic_http_resp_free(r);

    cleanup_free char *path = xasprintf("/container/tokens/%s", jti);
    r = call(f, "DELETE", path, NULL, f->basic);
    expect(r, 204, NULL);
    vic_http_resp_free(r);
    r = call(f, "GET", "/container/self-provision/limits", NULL, auth);
    expect(r, 401, "token revoked at");
    vic_http_resp_free(r);
    r = call(f, "DELETE", "/container/tokens/unknown", NULL, f->basic);
    expect(r, 404, NULL);
    vic_http_resp_free(r);
    cleanup_free char *audit = xasprintf("/container/tokens/%s/audit", jti);
    r = call(f, "GET", audit, NULL, f->basic);
    expect(r, 200, NULL);
    assert_non_null(strstr(vic_http_resp_body(r, NULL), "\"event\":\"revoke\""));
    assert_non_null(strstr(vic_http_resp_body(r, NULL), "\"event\":\"deny\""));
    vic_http_resp_free(r);
}

static void test_tokens_api_redeem_and_delegate(void **state)
{
    fixture *f = *state;
    char *jti = NULL;
    cleanup_free char *token =
        issue(f,
              "{\"sub\":\"alice\",\"ttl\":3600,\"restrictions\":{\"memory_mb\":4096,\"uses\":3,"
              "\"max_vchs\":3,\"delegation_depth\":1,\"name_prefix\":\"al-\"}}",
              &jti);
    cleanup_free char *auth = bearer(token);
    vic_http_resp *r = call(f, "POST", "/container/self-provision",
                            "{\"name\":\"bob\",\"compute\":{\"memory\":{\"limit\":8192}}}", auth);
    expect(r, 403, "compute.memory.limit: 8192 MB exceeds the token's ceiling of 4096 MB");
    json_t *j cleanup_json = body_of(r);
    assert_int_equal(json_array_size(json_object_get(j, "problems")), 2);
    vic_http_resp_free(r);
    r = call(f, "POST", "/container/self-provision", "{\"name\":\"al-1\"}", auth);
    expect(r, 202, NULL);
    assert_non_null(vic_http_resp_get_header(r, "Location"));
    vic_http_resp_free(r);

    /* delegate: only to itself, only narrower */
    r = call(f, "POST", "/container/tokens/someone-else/delegate", "{}", auth);
    expect(r, 403, "it may delegate only itself");
    vic_http_resp_free(r);
    cleanup_free char *dpath = xasprintf("/container/tokens/%s/delegate", jti);
    r = call(f, "POST", dpath, "{\"restrictions\":{\"memory_mb\":2048}}", auth);
    expect(r, 201, NULL);
    json_t *child cleanup_json = body_of(r);
    vic_http_resp_free(r);
    cleanup_free char *cauth = bearer(json_string_value(json_object_get(child, "token")));
    r = call(f, "POST", "/container/self-provision", "{\"name\":\"al-2\"}", cauth);
    expect(r, 202, NULL);
    vic_http_resp_free(r);
    r = call(f, "GET", "/container/self-provision/vchs", NULL, auth);
    json_t *vchs cleanup_json = body_of(r);
    assert_int_equal(json_array_size(json_object_get(vchs, "vchs")), 2);
    vic_http_resp_free(r);
    r = call(f, "GET", "/container/self-provision/vchs", NULL, cauth);
    json_t *cvchs cleanup_json = body_of(r);
    assert_int_equal(json_array_size(json_object_get(cvchs, "vchs")), 1);
    vic_http_resp_free(r);
    /* the child's child: depth exhausted */
    cleanup_free char *cpath = xasprintf("/container/tokens/%s/delegate",
                                         json_string_value(json_object_get(child, "jti")));
    r = call(f, "POST", cpath, NULL, cauth);
    expect(r, 403, "may not be delegated");
    vic_http_resp_free(r);
    free(jti);
}

/* ---- the corpus ---- */

typedef struct corpus_case {
    char name[128];
    char gen[64];
    int expect;
    char reason[256];
} corpus_case;

static const char *corpus_dir(void)
{
    static char dir[512];
    const char *env = getenv("VIC_TOKEN_CORPUS");
    if (env)
        return env;
    /* __FILE__ is webservice/tests/test_tokens_api.c, relative to the repository root */
    snprintf(dir, sizeof(dir), "%s", __FILE__);
    char *cut = strstr(dir, "webservice/tests/");
    if (cut)
        snprintf(cut, sizeof(dir) - (size_t)(cut - dir), "tests/tokens");
    return dir;
}

static int read_case(const char *path, corpus_case *c)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    char line[512];
    memset(c, 0, sizeof(*c));
    while (fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "case: ", 6) == 0)
            snprintf(c->gen, sizeof(c->gen), "%.63s", line + 6);
        else if (strncmp(line, "expect: ", 8) == 0)
            c->expect = atoi(line + 8);
        else if (strncmp(line, "reason: ", 8) == 0)
            snprintf(c->reason, sizeof(c->reason), "%.255s", line + 8);
    }
    fclose(fp);
    return c->gen[0] && c->expect ? 0 : -1;
}

static int snapshot_tx(sqlite3 *db, void *payload, vic_err **err)
{
    char **out = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(
        db, &st,
        "SELECT (SELECT group_concat(jti || '|' || ifnull(parent,'') || '|' || uses_consumed || "
        "'|' || ifnull(revoked_at,'') || '|' || restrictions || '|' || exp, ';') FROM "
        "(SELECT * FROM tokens ORDER BY jti)) || '#' || "
        "ifnull((SELECT group_concat(id || event || ifnull(jti,'') || detail, ';') FROM "
        "token_audit WHERE event != 'deny'), '') || '#' || "
        "ifnull((SELECT group_concat(id || state, ';') FROM vchs), '')",
        err);
    if (rc < 0)
        return rc;
    if ((rc = sqlite3_step(st)) != SQLITE_ROW)
        return vic_store_error(err, db, rc, "snapshot");
    const unsigned char *t = sqlite3_column_text(st, 0);
    *out = xstrdup(t ? (const char *)t : "");
    return 0;
}

static char *snapshot(fixture *f)
{
    char *s = NULL;
    vic_err *err cleanup_err = NULL;
    if (vic_store_read(f->w->store, snapshot_tx, &s, &err) < 0)
        fail_msg("snapshot: %s", err->msg);
    return s;
}

static char *file_text(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *buf = xzalloc(8192);
    size_t n = fread(buf, 1, 8191, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static char *jwt_with(jwt_alg_t alg, const char *key, const char *kid, const char *claims)
{
    jwt_t *j = NULL;
    assert_int_equal(jwt_new(&j), 0);
    assert_int_equal(jwt_add_grants_json(j, claims), 0);
    if (kid)
        jwt_add_header(j, "kid", kid);
    assert_int_equal(jwt_set_alg(j, alg, (const unsigned char *)key, key ? (int)strlen(key) : 0),
                     0);
    char *t = jwt_encode_str(j);
    jwt_free(j);
    return t;
}

static char *claims_of(const char *token)
{
    jwt_t *j = NULL;
    assert_int_equal(jwt_decode(&j, token, NULL, 0), 0);
    char *c = jwt_get_grants_json(j, NULL);
    jwt_free(j);
    return c;
}

typedef struct request {
    const char *method;
    char *path;
    char *body;
    char *token;
    time_t at;
} request;

/* Builds the request of a corpus case; any state it needs is set up here, before the
 * snapshot is taken. */
static void generate(fixture *f, const char *gen, request *rq)
{
    rq->method = "GET";
    rq->path = xstrdup("/container/self-provision/limits");
    rq->at = T0 + 10;
    char *jti = NULL;
    char *good = issue(f,
                       "{\"sub\":\"corpus\",\"ttl\":3600,\"restrictions\":{\"memory_mb\":4096,"
                       "\"delegation_depth\":1,\"max_vchs\":5}}",
                       &jti);
    char kid[VP_KID_LEN + 1];
    vp_keyring_active(vp_keys(f->w->tokens), kid);
    cleanup_free char *claims = claims_of(good);
    cleanup_free char *pub_path = xasprintf("%s/tokens/%s.pub", f->home, kid);
    vic_err *err cleanup_err = NULL;
    if (strcmp(gen, "alg-none") == 0) {
        rq->token = jwt_with(JWT_ALG_NONE, NULL, kid, claims);
    } else if (strcmp(gen, "hs256-public-key") == 0) {
        cleanup_free char *pub = file_text(pub_path);
        rq->token = jwt_with(JWT_ALG_HS256, pub, kid, claims);
    } else if (strcmp(gen, "wrong-key") == 0 || strcmp(gen, "forged-kid") == 0) {
        cleanup_free char *dir = xasprintf("%s/foreign-%s", f->home, gen);
        vp_keyring *other = NULL;
        assert_int_equal(vp_keyring_open(&other, dir, &err), 0);
        if (strcmp(gen, "wrong-key") == 0) {
            assert_int_equal(vp_keyring_sign(&rq->token, other, claims, NULL, &err), 0);
        } else {
            char okid[VP_KID_LEN + 1];
            vp_keyring_active(other, okid);
            cleanup_free char *kp = xasprintf("%s/%s.key", dir, okid);
            cleanup_secret char *key = file_text(kp);
            rq->token = jwt_with(JWT_ALG_ES256, key, kid, claims);
        }
        vp_keyring_free(other);
    } else if (strcmp(gen, "tampered-payload") == 0) {
        rq->token = xstrdup(good);
        char *p = strchr(rq->token, '.') + 12;
        *p = *p == 'A' ? 'B' : 'A';
    } else if (strcmp(gen, "tampered-header") == 0) {
        rq->token = xstrdup(good);
        rq->token[8] = rq->token[8] == 'A' ? 'B' : 'A';
    } else if (strcmp(gen, "truncated") == 0) {
        rq->token = xstrndup(good, strlen(good) - 10);
    } else if (strcmp(gen, "extra-segments") == 0) {
        rq->token = xasprintf("%s.e30", good);
    } else if (strcmp(gen, "huge") == 0) {
        rq->token = xmalloc(1 << 20);
        memset(rq->token, 'A', (1 << 20) - 1);
        rq->token[(1 << 20) - 1] = '\0';
    } else if (strcmp(gen, "non-json") == 0) {
        rq->token = xasprintf("aGVsbG8.d29ybGQ.%s", strrchr(good, '.') + 1);
    } else if (strcmp(gen, "missing-claims") == 0) {
        assert_int_equal(vp_keyring_sign(&rq->token, vp_keys(f->w->tokens),
                                         "{\"iss\":\"vic-webservice\",\"sub\":\"x\","
                                         "\"aud\":\"vic-self-provision\"}",
                                         NULL, &err),
                         0);
    } else if (strcmp(gen, "wrong-audience") == 0 || strcmp(gen, "extended-expiry") == 0) {
        json_t *c cleanup_json = json_loads(claims, 0, NULL);
        if (strcmp(gen, "wrong-audience") == 0)
            json_object_set_new(c, "aud", json_string("another-service"));
        else
            json_object_set_new(c, "exp", json_integer(T0 + 999999));
        cleanup_free char *text = json_dumps(c, 0);
        assert_int_equal(vp_keyring_sign(&rq->token, vp_keys(f->w->tokens), text, NULL, &err), 0);
    } else if (strcmp(gen, "revoked-parent") == 0) {
        cleanup_free char *auth = bearer(good);
        cleanup_free char *dpath = xasprintf("/container/tokens/%s/delegate", jti);
        vic_http_resp *r = call(f, "POST", dpath, "{}", auth);
        expect(r, 201, NULL);
        json_t *j cleanup_json = body_of(r);
        rq->token = xstrdup(json_string_value(json_object_get(j, "token")));
        vic_http_resp_free(r);
        cleanup_free char *rpath = xasprintf("/container/tokens/%s", jti);
        r = call(f, "DELETE", rpath, NULL, f->basic);
        expect(r, 204, NULL);
        vic_http_resp_free(r);
    } else if (strcmp(gen, "child-widening") == 0) {
        rq->token = xstrdup(good);
        rq->method = "POST";
        free(rq->path);
        rq->path = xasprintf("/container/tokens/%s/delegate", jti);
        rq->body = xstrdup("{\"restrictions\":{\"memory_mb\":8192}}");
    } else if (strcmp(gen, "expired") == 0) {
        rq->token = xstrdup(good);
        rq->at = T0 + 10 + 3600; /* issued at T0 + 10 for an hour */
    } else if (strcmp(gen, "not-yet-valid") == 0) {
        rq->token = xstrdup(good);
        rq->at = T0 + 9;
    } else if (strcmp(gen, "empty") == 0) {
        rq->token = xstrdup("");
    } else if (strcmp(gen, "garbage") == 0) {
        rq->token = xstrdup("%%%.$$$.@@@");
    } else if (strcmp(gen, "replay") == 0) {
        free(good);
        free(jti);
        good = issue(f, "{\"sub\":\"corpus\",\"restrictions\":{\"uses\":1,\"max_vchs\":5}}", &jti);
        cleanup_free char *auth = bearer(good);
        vic_http_resp *r = call(f, "POST", "/container/self-provision", "{}", auth);
        expect(r, 202, NULL);
        vic_http_resp_free(r);
        rq->token = xstrdup(good);
        rq->method = "POST";
        free(rq->path);
        rq->path = xstrdup("/container/self-provision");
        rq->body = xstrdup("{}");
    } else if (strcmp(gen, "admin-route") == 0) {
        rq->token = xstrdup(good);
        free(rq->path);
        rq->path = xstrdup("/container/tokens");
    } else {
        fail_msg("unknown corpus generator %s", gen);
    }
    free(good);
    free(jti);
}

static void test_tokens_api_bad_token_corpus(void **state)
{
    fixture *f = *state;
    const char *dir = corpus_dir();
    DIR *d = opendir(dir);
    if (d == NULL)
        fail_msg("cannot open the corpus %s (set VIC_TOKEN_CORPUS)", dir);
    struct dirent *de;
    char *names[128];
    size_t n = 0;
    while ((de = readdir(d)) != NULL && n < 128)
        if (strstr(de->d_name, ".case"))
            names[n++] = xstrdup(de->d_name);
    closedir(d);
    assert_true(n >= 20);
    size_t rejected = 0;
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *path = xasprintf("%s/%s", dir, names[i]);
        corpus_case c;
        if (read_case(path, &c) < 0)
            fail_msg("%s: needs case: and expect:", path);
        fake_time = T0 + 10;
        request rq = {0};
        generate(f, c.gen, &rq);
        cleanup_free char *before = snapshot(f);
        fake_time = rq.at;
        cleanup_free char *auth = bearer(rq.token);
        vic_http_resp *r = call(f, rq.method, rq.path, rq.body, auth);
        fake_time = T0 + 10;
        cleanup_free char *after = snapshot(f);
        json_t *j cleanup_json = body_of(r);
        const char *msg = json_string_value(json_object_get(j, "message"));
        if (vic_http_resp_status(r) != c.expect || msg == NULL || strstr(msg, c.reason) == NULL)
            fail_msg("%s: expected %d \"%s\", got %d %s", names[i], c.expect, c.reason,
                     vic_http_resp_status(r), vic_http_resp_body(r, NULL));
        if (strcmp(before, after) != 0)
            fail_msg("%s: state changed\nbefore: %s\nafter:  %s", names[i], before, after);
        rejected++;
        vic_http_resp_free(r);
        free(rq.path);
        free(rq.body);
        free(rq.token);
        free(names[i]);
    }
    assert_int_equal(rejected, n);
    print_message("bad-token corpus: %zu/%zu cases rejected with their status and reason\n",
                  rejected, n);
}

/* ---- concurrency ---- */

typedef struct race {
    fixture *f;
    const char *auth;
    const char *body;
    pthread_barrier_t *go;
    int status;
} race;

static void *racer(void *p)
{
    race *r = p;
    pthread_barrier_wait(r->go);
    vic_http_resp *resp = call(r->f, "POST", "/container/self-provision", r->body, r->auth);
    r->status = vic_http_resp_status(resp);
    vic_http_resp_free(resp);
    return NULL;
}

static void test_tokens_api_single_use_two_threads(void **state)
{
    fixture *f = *state;
    for (int round = 0; round < 5; round++) {
        cleanup_free char *token =
            issue(f, "{\"sub\":\"race\",\"restrictions\":{\"uses\":1,\"max_vchs\":5}}", NULL);
        cleanup_free char *auth = bearer(token);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        race a = {.f = f, .auth = auth, .body = "{}", .go = &go}, b = a;
        pthread_t ta, tb;
        pthread_create(&ta, NULL, racer, &a);
        pthread_create(&tb, NULL, racer, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&go);
        assert_true((a.status == 202 && b.status == 403) || (a.status == 403 && b.status == 202));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tokens_api_admin_routes_refuse_bearer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tokens_api_holder_routes_need_bearer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_api_issue_list_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_api_redeem_and_delegate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_api_bad_token_corpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_api_single_use_two_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
