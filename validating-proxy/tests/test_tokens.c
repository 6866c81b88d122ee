#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jwt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/cleanup.h"
#include "lib/mem.h"
#include "lib/store.h"
#include "validating-proxy/restrictions.h"
#include "validating-proxy/token.h"

#define T0 1700000000

typedef struct fixture {
    char home[64];
    vic_store *store;
    vp *v;
} fixture;

static const vic_migration migs[] = {{1, VP_SCHEMA_SQL VP_SCHEMA_SQL_2}};

static int setup(void **state)
{
    fixture *f = xzalloc(sizeof(*f));
    snprintf(f->home, sizeof(f->home), "/tmp/vic-test-vp-XXXXXX");
    assert_non_null(mkdtemp(f->home));
    cleanup_free char *db = xasprintf("%s/vic.db", f->home);
    cleanup_free char *keys = xasprintf("%s/tokens", f->home);
    vic_err *err cleanup_err = NULL;
    if (vic_store_open(&f->store, db, migs, 1, &err) < 0)
        fail_msg("store: %s", err->msg);
    vp_options o = {.key_dir = keys, .issuer = "test", .audience = "aud", .store = f->store};
    if (vp_open(&f->v, &o, T0, &err) < 0)
        fail_msg("vp_open: %s", err->msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    vp_free(f->v);
    vic_store_free(f->store);
    char *cmd = xasprintf("rm -rf '%s'", f->home);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}

static vp_ctx at(time_t now)
{
    vp_ctx c = {.now = now, .actor = "test", .remote = "127.0.0.1"};
    return c;
}

/* Issues a root token with restrictions given as JSON text (NULL: defaults). */
static void issue(fixture *f, vp_issued *out, const char *restr, long long ttl)
{
    json_t *r cleanup_json = restr ? json_loads(restr, 0, NULL) : NULL;
    if (restr)
        assert_non_null(r);
    vp_issue_opts o = {.sub = "alice", .ttl = ttl, .restrictions = r};
    vp_ctx c = at(T0);
    vic_err *err cleanup_err = NULL;
    if (vp_issue(out, f->v, &o, &c, &err) < 0)
        fail_msg("issue: %s", err->msg);
}

static vp_token *verify_ok(fixture *f, const char *token, time_t now)
{
    vp_token *t = NULL;
    vp_ctx c = at(now);
    vic_err *err cleanup_err = NULL;
    if (vp_verify(&t, f->v, token, &c, &err) < 0)
        fail_msg("verify: %s", err->msg);
    return t;
}

/* Verification fails with VIC_EAUTH and a message containing reason. */
static void verify_fails(fixture *f, const char *token, time_t now, const char *reason)
{
    vp_token *t = NULL;
    vp_ctx c = at(now);
    vic_err *err cleanup_err = NULL;
    int rc = vp_verify(&t, f->v, token, &c, &err);
    assert_null(t);
    assert_int_equal(rc, VIC_EAUTH);
    if (strstr(err->msg, reason) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", reason, err->msg);
}

static void delegate_fails(fixture *f, vp_token *parent, const char *restr, long long ttl, int code,
                           const char *reason)
{
    json_t *r cleanup_json = restr ? json_loads(restr, 0, NULL) : NULL;
    vp_issue_opts o = {.ttl = ttl, .restrictions = r};
    vp_ctx c = at(T0 + 10);
    vp_issued out = {0};
    vic_err *err cleanup_err = NULL;
    int rc = vp_delegate(&out, f->v, parent, &o, &c, &err);
    assert_int_equal(rc, code);
    if (strstr(err->msg, reason) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", reason, err->msg);
    vp_issued_clear(&out);
}

static vp_token *delegate_ok(fixture *f, vp_issued *out, vp_token *parent, const char *restr)
{
    json_t *r cleanup_json = restr ? json_loads(restr, 0, NULL) : NULL;
    vp_issue_opts o = {.restrictions = r};
    vp_ctx c = at(T0 + 10);
    vic_err *err cleanup_err = NULL;
    if (vp_delegate(out, f->v, parent, &o, &c, &err) < 0)
        fail_msg("delegate: %s", err->msg);
    return verify_ok(f, out->token, T0 + 20);
}

/* ---- issue and verify ---- */

static void test_tokens_issue_verify_roundtrip(void **state)
{
    fixture *f = *state;
    vp_issued is = {0};
    issue(f, &is, NULL, 0);
    vp_token *t = verify_ok(f, is.token, T0 + 1);
    assert_string_equal(vp_token_jti(t), is.jti);
    assert_string_equal(vp_token_sub(t), "alice");
    assert_null(vp_token_parent(t));
    assert_int_equal(vp_token_exp(t), T0 + VP_DEFAULT_TTL);
    const json_t *r = vp_token_restrictions(t);
    assert_string_equal(vp_restr_str(r, "target"), "local");
    assert_int_equal(vp_restr_int(r, "uses"), 1);
    assert_int_equal(vp_restr_int(r, "max_vchs"), 1);
    assert_int_equal(vp_restr_int(r, "delegation_depth"), 0);
    assert_true(json_is_true(json_object_get(r, "tls_required")));
    assert_true(json_is_null(json_object_get(r, "memory_mb")));
    /* the header names ES256 and the kid */
    jwt_t *j = NULL;
    assert_int_equal(jwt_decode(&j, is.token, NULL, 0), 0);
    assert_string_equal(jwt_get_header(j, "alg"), "ES256");
    assert_int_equal(strlen(jwt_get_header(j, "kid")), VP_KID_LEN);
    jwt_free(j);
    vp_token_free(t);
    vp_issued_clear(&is);
}

static void test_tokens_key_files_are_private(void **state)
{
    fixture *f = *state;
    char kid[VP_KID_LEN + 1];
    vp_keyring_active(vp_keys(f->v), kid);
    cleanup_free char *dir = xasprintf("%s/tokens", f->home);
    cleanup_free char *key = xasprintf("%s/%s.key", dir, kid);
    cleanup_free char *pub = xasprintf("%s/%s.pub", dir, kid);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(pub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_tokens_issue_rejects_bad_requests(void **state)
{
    fixture *f = *state;
    vp_ctx c = at(T0);
    vp_issued out = {0};
    vic_err *err cleanup_err = NULL;
    vp_issue_opts o = {.sub = ""};
    assert_int_equal(vp_issue(&out, f->v, &o, &c, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "sub"));
    vp_issue_opts o2 = {.sub = "a", .aud = "elsewhere"};
    assert_int_equal(vp_issue(&out, f->v, &o2, &c, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "aud"));
    vp_issue_opts o3 = {.sub = "a", .ttl = 5};
    assert_int_equal(vp_issue(&out, f->v, &o3, &c, &err), VIC_EINVAL);
    json_t *r cleanup_json = json_pack("{s:s, s:i, s:b, s:s}", "memory_mb", "lots", "bogus", 1,
                                       "uses", 0, "compute", "relative/path");
    vp_issue_opts o4 = {.sub = "a", .restrictions = r};
    assert_int_equal(vp_issue(&out, f->v, &o4, &c, &err), VIC_EINVAL);
    /* every problem at once */
    assert_non_null(strstr(err->msg, "restrictions.bogus: unknown field"));
    assert_non_null(strstr(err->msg, "restrictions.memory_mb"));
    assert_non_null(strstr(err->msg, "restrictions.uses"));
    assert_non_null(strstr(err->msg, "restrictions.compute"));
}

/* ---- time ---- */

static void test_tokens_expiry(void **state)
{
    fixture *f = *state;
    vp_issued is = {0};
    issue(f, &is, NULL, 3600);
    vp_token_free(verify_ok(f, is.token, T0 + 3599));
    verify_fails(f, is.token, T0 + 3600, "token expired at 2023-11-14T23:13:20Z");
    vp_issued_clear(&is);
}

static void test_tokens_not_before(void **state)
{
    fixture *f = *state;
    vp_issued is = {0};
    issue(f, &is, NULL, 3600);
    verify_fails(f, is.token, T0 - 1, "token not valid before 2023-11-14T22:13:20Z");
    vp_token_free(verify_ok(f, is.token, T0));
    vp_issued_clear(&is);
}

/* ---- the algorithm is pinned ---- */

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *buf = xzalloc(8192);
    size_t n = fread(buf, 1, 8191, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static char *libjwt_token(jwt_alg_t alg, const char *key, const char *kid, const char *claims)
{
    jwt_t *j = NULL;
    assert_int_equal(jwt_new(&j), 0);
    assert_int_equal(jwt_add_grants_json(j, claims), 0);
    if (kid)
        assert_int_equal(jwt_add_header(j, "kid", kid), 0);
    assert_int_equal(jwt_set_alg(j, alg, (const unsigned char *)key, key ? (int)strlen(key) : 0),
                     0);
    char *t = jwt_encode_str(j);
    assert_non_null(t);
    jwt_free(j);
    return t;
}

static char *payload_of(const char *token)
{
    jwt_t *j = NULL;
    assert_int_equal(jwt_decode(&j, token, NULL, 0), 0);
    char *claims = jwt_get_grants_json(j, NULL);
    jwt_free(j);
    return claims;
}

static void test_tokens_alg_none_and_hs256_confusion_rejected(void **state)
{
    fixture *f = *state;
    vp_issued is = {0};
    issue(f, &is, NULL, 3600);
    char kid[VP_KID_LEN + 1];
    vp_keyring_active(vp_keys(f->v), kid);
    cleanup_free char *claims = payload_of(is.token);
    cleanup_free char *pub_path = xasprintf("%s/tokens/%s.pub", f->home, kid);
    cleanup_free char *pub = read_text(pub_path);

    cleanup_free char *none = libjwt_token(JWT_ALG_NONE, NULL, kid, claims);
    verify_fails(f, none, T0 + 1, "algorithm none is not accepted (ES256 only)");

    /* the classic confusion: HMAC keyed with the public key. libjwt 1.10's own decoder,
     * given the PEM, accepts it; ours refuses before touching a key. */
    cleanup_free char *hs = libjwt_token(JWT_ALG_HS256, pub, kid, claims);
    jwt_t *j = NULL;
    assert_int_equal(jwt_decode(&j, hs, (const unsigned char *)pub, (int)strlen(pub)), 0);
    jwt_free(j);
    verify_fails(f, hs, T0 + 1, "algorithm HS256 is not accepted");
    vp_issued_clear(&is);
}

static void test_tokens_malformed_rejected(void **state)
{
    fixture *f = *state;
    vp_issued is = {0};
    issue(f, &is, NULL, 3600);
    const char *tok = is.token;
    size_t len = strlen(tok);
    const char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');

    cleanup_free char *trunc = xstrndup(tok, len - 10);
    verify_fails(f, trunc, T0 + 1, "signature");
    cleanup_free char *extra = xasprintf("%s.AAAA", tok);
    verify_fails(f, extra, T0 + 1, "three segments, this has 4");
    cleanup_free char *two = xstrndup(tok, (size_t)(dot2 - tok));
    verify_fails(f, two, T0 + 1, "three segments, this has 2");
    verify_fails(f, "", T0 + 1, "empty");
    verify_fails(f, "not a token at all", T0 + 1, "outside base64url");
    char *huge = xmalloc(1 << 20);
    memset(huge, 'A', (1 << 20) - 1);
    huge[(1 << 20) - 1] = '\0';
    verify_fails(f, huge, T0 + 1, "longer than 8192 bytes");
    free(huge);
    /* tampered payload: one character changed */
    cleanup_free char *tp = xstrdup(tok);
    size_t mid = (size_t)(dot1 - tok) + 10;
    tp[mid] = tp[mid] == 'A' ? 'B' : 'A';
    verify_fails(f, tp, T0 + 1, "invalid token");
    /* tampered header */
    cleanup_free char *th = xstrdup(tok);
    th[5] = th[5] == 'A' ? 'B' : 'A';
    verify_fails(f, th, T0 + 1, "invalid token");
    /* non-JSON segments */
    cleanup_free char *nj = xasprintf("bm90IGpzb24.bm90IGpzb24.%s", dot2 + 1);
    verify_fails(f, nj, T0 + 1, "header is not a JSON object");
    vp_issued_clear(&is);
}

static void test_tokens_wrong_key_and_bad_claims_rejected(void **state)
{
    fixture *f = *state;
    vp_issued is = {0};
    issue(f, &is, NULL, 3600);
    char kid[VP_KID_LEN + 1];
    vp_keyring_active(vp_keys(f->v), kid);
    cleanup_free char *claims = payload_of(is.token);

    /* another keyring: its kid is unknown here; with our kid, the signature fails */
    cleanup_free char *other_dir = xasprintf("%s/other", f->home);
    vp_keyring *other = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vp_keyring_open(&other, other_dir, &err), 0);
    cleanup_free char *foreign = NULL;
    assert_int_equal(vp_keyring_sign(&foreign, other, claims, NULL, &err), 0);
    verify_fails(f, foreign, T0 + 1, "signed by a key this service does not know");
    char okid[VP_KID_LEN + 1];
    vp_keyring_active(other, okid);
    cleanup_free char *okey_path = xasprintf("%s/%s.key", other_dir, okid);
    cleanup_secret char *okey = read_text(okey_path);
    cleanup_free char *forged = libjwt_token(JWT_ALG_ES256, okey, kid, claims);
    verify_fails(f, forged, T0 + 1, "signature does not verify");
    vp_keyring_free(other);

    /* signed with our key, but claims this service never issued */
    cleanup_free char *missing = NULL;
    assert_int_equal(
        vp_keyring_sign(&missing, vp_keys(f->v), "{\"iss\":\"test\",\"sub\":\"x\"}", NULL, &err),
        0);
    verify_fails(f, missing, T0 + 1, "claim jti missing");
    json_t *c cleanup_json = json_loads(claims, 0, NULL);
    json_object_set_new(c, "aud", json_string("someone-else"));
    cleanup_free char *wa_claims = json_dumps(c, 0);
    cleanup_free char *wrong_aud = NULL;
    assert_int_equal(vp_keyring_sign(&wrong_aud, vp_keys(f->v), wa_claims, NULL, &err), 0);
    verify_fails(f, wrong_aud, T0 + 1, "wrong audience");
    json_object_set_new(c, "aud", json_string("aud"));
    json_object_set_new(c, "exp", json_integer(T0 + 999999));
    cleanup_free char *ext_claims = json_dumps(c, 0);
    cleanup_free char *extended = NULL;
    assert_int_equal(vp_keyring_sign(&extended, vp_keys(f->v), ext_claims, NULL, &err), 0);
    verify_fails(f, extended, T0 + 1, "claims differ from those issued");
    json_object_set_new(c, "exp", json_integer(T0 + 3600));
    json_object_set_new(c, "jti", json_string("never-issued"));
    cleanup_free char *unknown_claims = json_dumps(c, 0);
    cleanup_free char *unknown = NULL;
    assert_int_equal(vp_keyring_sign(&unknown, vp_keys(f->v), unknown_claims, NULL, &err), 0);
    verify_fails(f, unknown, T0 + 1, "not issued by this service");
    vp_issued_clear(&is);
}

/* ---- delegation ---- */

static void test_tokens_delegation_narrows(void **state)
{
    fixture *f = *state;
    vp_issued root = {0}, child = {0};
    issue(f, &root,
          "{\"memory_mb\":4096,\"cpu_mhz\":2000,\"uses\":3,\"delegation_depth\":2,"
          "\"networks\":[\"VM Network\",\"bridge\"],\"name_prefix\":\"team-\","
          "\"compute\":\"/dc/host/c/Resources/team\"}",
          3600);
    vp_token *p = verify_ok(f, root.token, T0 + 5);
    vp_token *c = delegate_ok(f, &child, p,
                              "{\"memory_mb\":2048,\"networks\":[\"bridge\"],"
                              "\"name_prefix\":\"team-a-\",\"compute\":"
                              "\"/dc/host/c/Resources/team/a\"}");
    const json_t *r = vp_token_restrictions(c);
    assert_int_equal(vp_restr_int(r, "memory_mb"), 2048);
    assert_int_equal(vp_restr_int(r, "cpu_mhz"), 2000);       /* inherited */
    assert_int_equal(vp_restr_int(r, "delegation_depth"), 1); /* one level down */
    assert_int_equal(vp_restr_int(r, "uses"), 3);             /* the parent's remaining */
    assert_string_equal(vp_token_parent(c), root.jti);
    assert_int_equal(vp_token_exp(c), vp_token_exp(p)); /* defaults to the parent's expiry */
    vp_token_free(c);
    vp_token_free(p);
    vp_issued_clear(&root);
    vp_issued_clear(&child);
}

static void test_tokens_delegation_widening_refused(void **state)
{
    fixture *f = *state;
    vp_issued root = {0};
    issue(f, &root,
          "{\"memory_mb\":4096,\"cpu_mhz\":2000,\"storage_gb\":100,\"containers_per_vch\":10,"
          "\"max_vchs\":2,\"uses\":3,\"delegation_depth\":2,\"networks\":[\"bridge\"],"
          "\"image_datastores\":[\"ds1\"],\"volume_datastores\":[\"ds1\"],"
          "\"name_prefix\":\"team-\",\"compute\":\"/dc/Resources/team\",\"target\":\"local\"}",
          3600);
    vp_token *p = verify_ok(f, root.token, T0 + 5);
    /* one per field, each named */
    delegate_fails(f, p, "{\"memory_mb\":8192}", 0, VIC_EFORBIDDEN,
                   "restrictions.memory_mb: 8192 exceeds the parent's 4096");
    delegate_fails(f, p, "{\"memory_mb\":null}", 0, VIC_EFORBIDDEN,
                   "restrictions.memory_mb: unlimited exceeds the parent's 4096");
    delegate_fails(f, p, "{\"cpu_mhz\":2001}", 0, VIC_EFORBIDDEN, "restrictions.cpu_mhz: 2001");
    delegate_fails(f, p, "{\"storage_gb\":101}", 0, VIC_EFORBIDDEN, "restrictions.storage_gb");
    delegate_fails(f, p, "{\"containers_per_vch\":11}", 0, VIC_EFORBIDDEN,
                   "restrictions.containers_per_vch");
    delegate_fails(f, p, "{\"max_vchs\":3}", 0, VIC_EFORBIDDEN, "restrictions.max_vchs");
    delegate_fails(f, p, "{\"uses\":4}", 0, VIC_EFORBIDDEN,
                   "restrictions.uses: 4 exceeds the parent's remaining 3");
    delegate_fails(f, p, "{\"delegation_depth\":2}", 0, VIC_EFORBIDDEN,
                   "restrictions.delegation_depth: 2 exceeds the parent's remaining 1");
    delegate_fails(f, p, "{\"networks\":[\"bridge\",\"VM Network\"]}", 0, VIC_EFORBIDDEN,
                   "restrictions.networks: VM Network is not among the parent's (bridge)");
    delegate_fails(f, p, "{\"networks\":null}", 0, VIC_EFORBIDDEN, "restrictions.networks: any");
    delegate_fails(f, p, "{\"image_datastores\":[\"ds2\"]}", 0, VIC_EFORBIDDEN,
                   "restrictions.image_datastores: ds2");
    delegate_fails(f, p, "{\"volume_datastores\":[\"ds2\"]}", 0, VIC_EFORBIDDEN,
                   "restrictions.volume_datastores: ds2");
    delegate_fails(f, p, "{\"name_prefix\":\"other-\"}", 0, VIC_EFORBIDDEN,
                   "restrictions.name_prefix");
    delegate_fails(f, p, "{\"compute\":\"/dc/Resources/teamx\"}", 0, VIC_EFORBIDDEN,
                   "restrictions.compute: /dc/Resources/teamx is not within the parent's");
    delegate_fails(f, p, "{\"compute\":null}", 0, VIC_EFORBIDDEN, "restrictions.compute");
    delegate_fails(f, p, "{\"tls_required\":false}", 0, VIC_EFORBIDDEN,
                   "restrictions.tls_required");
    delegate_fails(f, p, "{\"target\":\"vc.example.com\"}", 0, VIC_EFORBIDDEN,
                   "restrictions.target");
    delegate_fails(f, p, NULL, 7200, VIC_EFORBIDDEN, "ttl: 7200 s would outlive the parent");
    /* several at once */
    delegate_fails(f, p, "{\"memory_mb\":8192,\"cpu_mhz\":9999}", 0, VIC_EFORBIDDEN,
                   "restrictions.cpu_mhz: 9999 exceeds the parent's 2000; "
                   "restrictions.memory_mb: 8192 exceeds the parent's 4096");
    vp_token_free(p);
    vp_issued_clear(&root);
}

static void test_tokens_depth_zero_cannot_delegate(void **state)
{
    fixture *f = *state;
    vp_issued root = {0}, child = {0};
    issue(f, &root, "{\"delegation_depth\":1}", 3600);
    vp_token *p = verify_ok(f, root.token, T0 + 5);
    vp_token *c = delegate_ok(f, &child, p, NULL);
    assert_int_equal(vp_restr_int(vp_token_restrictions(c), "delegation_depth"), 0);
    delegate_fails(f, c, NULL, 0, VIC_EFORBIDDEN, "may not be delegated");
    vp_token_free(c);
    vp_token_free(p);
    vp_issued_clear(&root);
    vp_issued_clear(&child);
}

/* ---- revocation ---- */

static void test_tokens_revoking_parent_kills_children(void **state)
{
    fixture *f = *state;
    vp_issued root = {0}, child = {0}, grand = {0};
    issue(f, &root, "{\"delegation_depth\":3,\"uses\":5}", 3600);
    vp_token *r = verify_ok(f, root.token, T0 + 5);
    vp_token *c = delegate_ok(f, &child, r, NULL);
    vp_token *g = delegate_ok(f, &grand, c, NULL);
    vp_ctx ctx = at(T0 + 30);
    size_t n = 0;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vp_revoke(&n, f->v, child.jti, &ctx, &err), 0);
    assert_int_equal(n, 2);
    verify_fails(f, child.token, T0 + 31, "token revoked at");
    verify_fails(f, grand.token, T0 + 31, "token revoked");
    vp_token_free(verify_ok(f, root.token, T0 + 31)); /* the parent of the revoked is fine */
    /* a revoked token cannot delegate: the parent is checked again inside the insert */
    delegate_fails(f, c, NULL, 0, VIC_EAUTH, "revoked");
    /* revoking again changes nothing; unknown tokens are not found */
    assert_int_equal(vp_revoke(&n, f->v, child.jti, &ctx, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(vp_revoke(&n, f->v, "nope", &ctx, &err), VIC_ENOTFOUND);
    assert_int_equal(vp_revoke(&n, f->v, root.jti, &ctx, &err), 0);
    assert_int_equal(n, 1);
    verify_fails(f, root.token, T0 + 31, "token revoked");
    /* the audit log shows each revocation, oldest first */
    json_t *events cleanup_json = NULL;
    assert_int_equal(vp_audit(&events, f->v, root.jti, &err), 0);
    int revokes = 0;
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        revokes += strcmp(json_string_value(json_object_get(e, "event")), "revoke") == 0;
    }
    assert_int_equal(revokes, 3);
    json_t *list cleanup_json = NULL;
    assert_int_equal(vp_list(&list, f->v, T0 + 31, &err), 0);
    assert_int_equal(json_array_size(list), 3);
    json_array_foreach(list, i, e)
    {
        assert_string_equal(json_string_value(json_object_get(e, "state")), "revoked");
        assert_null(json_object_get(e, "token"));
    }
    vp_token_free(r);
    vp_token_free(c);
    vp_token_free(g);
    vp_issued_clear(&root);
    vp_issued_clear(&child);
    vp_issued_clear(&grand);
}

/* ---- uses ---- */

typedef struct use_args {
    const char *jti;
    time_t now;
} use_args;

static int consume(sqlite3 *db, void *payload, vic_err **err)
{
    use_args *a = payload;
    return vp_db_consume_use(db, a->jti, a->now, err);
}

static int use_once(fixture *f, const char *jti, vic_err **err)
{
    use_args a = {.jti = jti, .now = T0 + 40};
    return vic_store_write(f->store, consume, &a, err);
}

static void test_tokens_uses_count_against_ancestors(void **state)
{
    fixture *f = *state;
    vp_issued root = {0}, child = {0};
    issue(f, &root, "{\"delegation_depth\":1,\"uses\":2}", 3600);
    vp_token *r = verify_ok(f, root.token, T0 + 5);
    vp_token *c = delegate_ok(f, &child, r, "{\"uses\":2}");
    vic_err *err cleanup_err = NULL;
    assert_int_equal(use_once(f, child.jti, &err), 0);
    assert_int_equal(use_once(f, root.jti, &err), 0);
    /* the child still has one use of its own, but its parent has none left */
    assert_int_equal(use_once(f, child.jti, &err), VIC_EFORBIDDEN);
    assert_non_null(strstr(err->msg, "uses: all 2 uses of the ancestor token"));
    assert_int_equal(use_once(f, root.jti, &err), VIC_EFORBIDDEN);
    assert_non_null(strstr(err->msg, "uses: all 2 uses of this token are consumed"));
    vp_token_free(r);
    vp_token_free(c);
    vp_issued_clear(&root);
    vp_issued_clear(&child);
}

typedef struct race {
    fixture *f;
    const char *jti;
    pthread_barrier_t *go;
    int rc;
} race;

static void *racer(void *p)
{
    race *r = p;
    vic_err *err = NULL;
    pthread_barrier_wait(r->go);
    r->rc = use_once(r->f, r->jti, &err);
    vic_err_free(&err);
    return NULL;
}

static void test_tokens_single_use_two_threads(void **state)
{
    fixture *f = *state;
    for (int round = 0; round < 20; round++) {
        vp_issued is = {0};
        issue(f, &is, "{\"uses\":1}", 3600);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        race a = {.f = f, .jti = is.jti, .go = &go}, b = a;
        pthread_t ta, tb;
        pthread_create(&ta, NULL, racer, &a);
        pthread_create(&tb, NULL, racer, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&go);
        assert_int_equal((a.rc == 0) + (b.rc == 0), 1);
        assert_int_equal(a.rc + b.rc, VIC_EFORBIDDEN);
        vp_issued_clear(&is);
    }
}

/* ---- keys ---- */

static void test_tokens_rotation_keeps_old_keys_until_expiry(void **state)
{
    fixture *f = *state;
    vp_issued old = {0}, fresh = {0};
    issue(f, &old, NULL, 3600);
    char k1[VP_KID_LEN + 1], k2[VP_KID_LEN + 1];
    vp_keyring_active(vp_keys(f->v), k1);
    vp_ctx c = at(T0 + 10);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vp_rotate(f->v, &c, k2, &err), 0);
    assert_string_not_equal(k1, k2);
    cleanup_free char *old_key = xasprintf("%s/tokens/%s.key", f->home, k1);
    struct stat st;
    assert_int_equal(stat(old_key, &st), -1);        /* the retired private key is gone */
    vp_token_free(verify_ok(f, old.token, T0 + 20)); /* still verifies */
    issue(f, &fresh, NULL, 3600);
    vp_token_free(verify_ok(f, fresh.token, T0 + 20));
    /* after the old token expired, reopening drops the old public key */
    vp_free(f->v);
    cleanup_free char *keys = xasprintf("%s/tokens", f->home);
    vp_options o = {.key_dir = keys, .issuer = "test", .audience = "aud", .store = f->store};
    assert_int_equal(vp_open(&f->v, &o, T0 + 7200, &err), 0);
    char **kids = vp_keyring_kids(vp_keys(f->v));
    assert_string_equal(kids[0], k2);
    assert_null(kids[1]);
    free(kids);
    verify_fails(f, old.token, T0 + 100, "signed by a key this service does not know");
    vp_issued_clear(&old);
    vp_issued_clear(&fresh);
}

static int tamper_audit(sqlite3 *db, void *payload, vic_err **err)
{
    (void)payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st, "UPDATE token_audit SET detail = 'x'", err);
    if (rc < 0)
        return rc;
    rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? 0 : vic_store_error(err, db, rc, "update");
}

/* Rows are counted (repeats) and pruned (retention), never rewritten. */
static void test_tokens_audit_rows_are_never_rewritten(void **state)
{
    fixture *f = *state;
    vp_issued is = {0};
    issue(f, &is, NULL, 3600);
    vic_err *err cleanup_err = NULL;
    assert_true(vic_store_write(f->store, tamper_audit, NULL, &err) < 0);
    assert_non_null(strstr(err->msg, "not rewritten"));
    vp_issued_clear(&is);
}

/* ---- restrictions ---- */

static void test_restrictions_path_within(void **state)
{
    (void)state;
    assert_true(vp_path_within("/a/b", "/a"));
    assert_true(vp_path_within("/a", "/a"));
    assert_true(vp_path_within("/a/b", "/a/"));
    assert_false(vp_path_within("/ab", "/a"));
    assert_true(vp_path_within("/x", "/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tokens_issue_verify_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_key_files_are_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_issue_rejects_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_not_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_alg_none_and_hs256_confusion_rejected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tokens_malformed_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_wrong_key_and_bad_claims_rejected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tokens_delegation_narrows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_delegation_widening_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_depth_zero_cannot_delegate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_revoking_parent_kills_children, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tokens_uses_count_against_ancestors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_single_use_two_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_rotation_keeps_old_keys_until_expiry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tokens_audit_rows_are_never_rewritten, setup,
                                        teardown),
        cmocka_unit_test(test_restrictions_path_within),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
