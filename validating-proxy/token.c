#include "validating-proxy/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "validating-proxy/restrictions.h"

#define MAX_CHAIN   (VP_MAX_DELEGATION_DEPTH + 1)
#define MAX_SUB     128
#define MAX_JTI     64
#define MIN_TTL     60
#define MAX_SEGMENT 6144

struct vp {
    vp_keyring *keys;
    vic_store *store;
    /* CHAIN_SQL prepared once for verification; used only inside store callbacks, which the
     * store serialises, and finalised before the store closes (vp_free comes first). */
    sqlite3 *chain_db;
    sqlite3_stmt *chain_st;
    sqlite3_stmt *by_hash_st;
    char *issuer;
    char *audience;
    unsigned audit_days;
    unsigned audit_max_rows;
};

struct vp_token {
    char *jti;
    char *sub;
    char *aud;
    char *parent;
    time_t iat, nbf, exp;
    json_t *restrictions;    /* parsed on first use from restrictions_text */
    char *restrictions_text; /* as recorded at issue */
    long long uses_allowed;
    long long uses_consumed;
};

/* One stored token of a chain, as read from the database. */
typedef struct chain_link {
    char *jti;
    char *parent;
    char *kid;
    char *sub;
    char *aud;
    time_t iat, nbf, exp;
    int depth;
    int revoked;
    time_t revoked_at;
    long long uses_allowed; /* -1: unlimited */
    long long uses_consumed;
    char *restrictions; /* JSON text */
} chain_link;

typedef struct chain {
    chain_link rows[MAX_CHAIN + 1];
    size_t n;
} chain;

static void chain_clear(chain *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->rows[i].jti);
        free(c->rows[i].parent);
        free(c->rows[i].kid);
        free(c->rows[i].sub);
        free(c->rows[i].aud);
        free(c->rows[i].restrictions);
    }
    c->n = 0;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? xstrdup((const char *)s) : NULL;
}

static void fmt_time(char buf[32], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- the chain in the database ---- */

#define LINK_COLUMNS                                                                               \
    "SELECT jti, parent, kid, sub, aud, iat, nbf, exp, depth, revoked_at, uses_allowed, "          \
    "uses_consumed, restrictions FROM tokens "
#define CHAIN_SQL   LINK_COLUMNS "WHERE jti = ?1"
#define BY_HASH_SQL LINK_COLUMNS "WHERE payload_sha256 = ?1"

/* Reads a token and its ancestors, nearest first: the token with `first` bound to key, each
 * ancestor with the CHAIN_SQL statement `up`, one primary-key lookup per level (both left
 * reset). Stops at a root, at an unknown parent (check_chain then finds the chain broken) or
 * past MAX_CHAIN levels. */
static int run_chain(sqlite3 *db, sqlite3_stmt *first, const char *key, sqlite3_stmt *up,
                     chain *out, vic_err **err)
{
    out->n = 0;
    const char *next = key;
    sqlite3_stmt *st = first;
    while (next && out->n < MAX_CHAIN + 1) {
        sqlite3_bind_text(st, 1, next, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            chain_link *l = &out->rows[out->n++];
            memset(l, 0, sizeof(*l));
            l->jti = col_dup(st, 0);
            l->parent = col_dup(st, 1);
            l->kid = col_dup(st, 2);
            l->sub = col_dup(st, 3);
            l->aud = col_dup(st, 4);
            l->iat = sqlite3_column_int64(st, 5);
            l->nbf = sqlite3_column_int64(st, 6);
            l->exp = sqlite3_column_int64(st, 7);
            l->depth = sqlite3_column_int(st, 8);
            l->revoked = sqlite3_column_type(st, 9) != SQLITE_NULL;
            l->revoked_at = sqlite3_column_int64(st, 9);
            l->uses_allowed =
                sqlite3_column_type(st, 10) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 10);
            l->uses_consumed = sqlite3_column_int64(st, 11);
            l->restrictions = col_dup(st, 12);
            next = l->parent;
        } else {
            next = NULL;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            chain_clear(out);
            return vic_store_error(err, db, rc, "read token chain");
        }
        st = up;
    }
    return 0;
}

static int load_chain(sqlite3 *db, const char *jti, chain *out, vic_err **err)
{
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st, CHAIN_SQL, err);
    if (rc < 0)
        return rc;
    return run_chain(db, st, jti, st, out, err);
}

/* A token is good while it and every ancestor are unrevoked and unexpired, and the chain
 * ends at a root this service issued. */
static int check_chain(const chain *c, time_t now, vic_err **err)
{
    char when[32];
    if (c->n == 0)
        return vic_err_set(err, VIC_EAUTH, "invalid token: not issued by this service");
    for (size_t i = 0; i < c->n; i++) {
        const chain_link *l = &c->rows[i];
        if (l->revoked) {
            fmt_time(when, l->revoked_at);
            if (i == 0)
                return vic_err_set(err, VIC_EAUTH, "token revoked at %s", when);
            return vic_err_set(err, VIC_EAUTH, "token revoked: its ancestor %s was revoked at %s",
                               l->jti, when);
        }
        if (l->exp <= now) {
            fmt_time(when, l->exp);
            if (i == 0)
                return vic_err_set(err, VIC_EAUTH, "token expired at %s", when);
            return vic_err_set(err, VIC_EAUTH, "token expired: its ancestor %s expired at %s",
                               l->jti, when);
        }
        if (l->nbf > now) {
            fmt_time(when, l->nbf);
            return vic_err_set(err, VIC_EAUTH, "token not valid before %s", when);
        }
        if (l->depth != (int)(c->n - 1 - i))
            return vic_err_set(err, VIC_EAUTH, "invalid token: its chain of parents is broken");
    }
    if (c->rows[c->n - 1].parent != NULL)
        return vic_err_set(err, VIC_EAUTH, "invalid token: its chain of parents is broken");
    return 0;
}

/* ---- service ---- */

typedef struct prune_args {
    vp *v;
    time_t now;
} prune_args;

typedef struct kid_exp {
    const char *kid;
    long long max_exp; /* -1: signed nothing */
} kid_exp;

static int read_kid_exp(sqlite3 *db, void *payload, vic_err **err)
{
    kid_exp *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st, "SELECT max(exp) FROM tokens WHERE kid = ?", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->kid, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_ROW)
        return vic_store_error(err, db, rc, "read key use");
    a->max_exp = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
    return 0;
}

static int retire_if_unused(const char *kid, void *payload)
{
    prune_args *p = payload;
    kid_exp a = {.kid = kid};
    if (vic_store_read(p->v->store, read_kid_exp, &a, NULL) < 0)
        return 0; /* keep what we cannot decide about */
    return a.max_exp < p->now;
}

typedef struct audit_args {
    const char *event;
    const char *jti;
    const vp_ctx *c;
    const char *detail;
    const vp *v;
} audit_args;
static int prune_tx(sqlite3 *db, void *payload, vic_err **err);

int vp_open(vp **out, const vp_options *opt, time_t now, vic_err **err)
{
    *out = NULL;
    if (!opt->key_dir || !opt->issuer || !opt->audience || !opt->store)
        return vic_err_set(err, VIC_EINVAL,
                           "token service: key_dir, issuer, audience and "
                           "store are required");
    vp *v = xzalloc(sizeof(*v));
    v->store = opt->store;
    v->issuer = xstrdup(opt->issuer);
    v->audience = xstrdup(opt->audience);
    v->audit_days = opt->audit_days ? opt->audit_days : 90;
    v->audit_max_rows = opt->audit_max_rows ? opt->audit_max_rows : 100000;
    int rc = vp_keyring_open(&v->keys, opt->key_dir, err);
    if (rc < 0) {
        vp_free(v);
        return rc;
    }
    prune_args p = {.v = v, .now = now};
    vp_keyring_prune(v->keys, retire_if_unused, &p, NULL);
    vp_ctx c = {.now = now};
    audit_args a = {.c = &c, .v = v};
    if ((rc = vic_store_write(v->store, prune_tx, &a, err)) < 0) {
        vp_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

void vp_free(vp *v)
{
    if (v == NULL)
        return;
    sqlite3_finalize(v->chain_st);
    sqlite3_finalize(v->by_hash_st);
    vp_keyring_free(v->keys);
    free(v->issuer);
    free(v->audience);
    free(v);
}

vp_keyring *vp_keys(vp *v)
{
    return v->keys;
}

/* ---- audit ---- */

/* Adds a denial to the count of the same one recorded within VP_AUDIT_FOLD seconds; *folded
 * is 1 when there was one. */
static int fold_denial(sqlite3 *db, const char *jti, const vp_ctx *c, const char *detail,
                       int *folded, vic_err **err)
{
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(
        db, &st,
        "UPDATE token_audit SET repeats = repeats + 1, last_at = ?1 WHERE id = "
        "(SELECT id FROM token_audit WHERE event = 'deny' AND jti IS ?2 AND remote IS ?3 AND "
        "actor = ?4 AND detail = ?5 AND coalesce(last_at, at) >= ?6 ORDER BY id DESC LIMIT 1)",
        err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, c->now);
    if (jti)
        sqlite3_bind_text(st, 2, jti, -1, SQLITE_STATIC);
    if (c->remote)
        sqlite3_bind_text(st, 3, c->remote, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->actor ? c->actor : "-", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, detail ? detail : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, c->now - VP_AUDIT_FOLD);
    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "count a repeated denial");
    *folded = sqlite3_changes(db) > 0;
    return 0;
}

int vp_db_audit(sqlite3 *db, const char *event, const char *jti, const vp_ctx *c,
                const char *detail, vic_err **err)
{
    int folded = 0;
    int rc = strcmp(event, "deny") == 0 ? fold_denial(db, jti, c, detail, &folded, err) : 0;
    if (rc < 0 || folded)
        return rc;
    sqlite3_stmt *st cleanup_stmt = NULL;
    rc = vic_store_prepare(db, &st,
                           "INSERT INTO token_audit(at, event, jti, actor, remote, detail) "
                           "VALUES(?, ?, ?, ?, ?, ?)",
                           err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, c->now);
    sqlite3_bind_text(st, 2, event, -1, SQLITE_STATIC);
    if (jti)
        sqlite3_bind_text(st, 3, jti, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->actor ? c->actor : "-", -1, SQLITE_STATIC);
    if (c->remote)
        sqlite3_bind_text(st, 5, c->remote, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, detail ? detail : "", -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "append to the token audit log");
    return 0;
}

/* Keeps the audit log within its retention: no row older than audit_days, at most
 * audit_max_rows rows (the oldest go first). */
static int prune_audit(sqlite3 *db, const vp *v, time_t now, vic_err **err)
{
    sqlite3_stmt *old cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &old, "DELETE FROM token_audit WHERE coalesce(last_at, at) < ?1",
                               err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(old, 1, now - (time_t)v->audit_days * 86400);
    if ((rc = sqlite3_step(old)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "prune the token audit log");
    sqlite3_stmt *many cleanup_stmt = NULL;
    if ((rc = vic_store_prepare(db, &many,
                                "DELETE FROM token_audit WHERE id <= (SELECT id FROM token_audit "
                                "ORDER BY id DESC LIMIT 1 OFFSET ?1)",
                                err)) < 0)
        return rc;
    sqlite3_bind_int64(many, 1, v->audit_max_rows);
    if ((rc = sqlite3_step(many)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "prune the token audit log");
    return 0;
}

static int prune_tx(sqlite3 *db, void *payload, vic_err **err)
{
    audit_args *a = payload;
    return prune_audit(db, a->v, a->c->now, err);
}

static int audit_tx(sqlite3 *db, void *payload, vic_err **err)
{
    audit_args *a = payload;
    int rc = vp_db_audit(db, a->event, a->jti, a->c, a->detail, err);
    return rc < 0 ? rc : prune_audit(db, a->v, a->c->now, err);
}

int vp_audit_append(vp *v, const char *event, const char *jti, const vp_ctx *c, const char *detail,
                    vic_err **err)
{
    audit_args a = {.event = event, .jti = jti, .c = c, .detail = detail, .v = v};
    return vic_store_write(v->store, audit_tx, &a, err);
}

/* ---- issuing ---- */

static int valid_sub(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MAX_SUB)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

typedef struct insert_args {
    const char *jti;
    const char *parent; /* NULL for a root */
    int depth;
    const char *kid;
    const char *sub;
    const char *aud;
    time_t iat, exp;
    const char *restrictions;
    const char *payload_sha256;
    long long uses_allowed;
    const vp_ctx *c;
    const char *event;
    const char *detail;
} insert_args;

static int insert_token(sqlite3 *db, void *payload, vic_err **err)
{
    insert_args *a = payload;
    int rc;
    if (a->parent) {
        /* The parent may have been revoked since it was verified: check again, atomically
         * with the insert. */
        chain ch = {0};
        if ((rc = load_chain(db, a->parent, &ch, err)) < 0)
            return rc;
        rc = check_chain(&ch, a->c->now, err);
        a->depth = (int)ch.n; /* the parent's chain is parent..root */
        chain_clear(&ch);
        if (rc < 0)
            return rc;
    }
    sqlite3_stmt *st cleanup_stmt = NULL;
    rc = vic_store_prepare(db, &st,
                           "INSERT INTO tokens(jti, parent, depth, kid, sub, aud, iat, nbf, exp, "
                           "restrictions, uses_allowed, issued_by, payload_sha256) "
                           "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->jti, -1, SQLITE_STATIC);
    if (a->parent)
        sqlite3_bind_text(st, 2, a->parent, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, a->depth);
    sqlite3_bind_text(st, 4, a->kid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, a->sub, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, a->aud, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, a->iat);
    sqlite3_bind_int64(st, 8, a->iat);
    sqlite3_bind_int64(st, 9, a->exp);
    sqlite3_bind_text(st, 10, a->restrictions, -1, SQLITE_STATIC);
    if (a->uses_allowed >= 0)
        sqlite3_bind_int64(st, 11, a->uses_allowed);
    sqlite3_bind_text(st, 12, a->c->actor ? a->c->actor : "-", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, a->payload_sha256, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "record token");
    return vp_db_audit(db, a->event, a->jti, a->c, a->detail, err);
}

/* Signs and records a token; parent is NULL for a root. */
static int mint(vp_issued *out, vp *v, const vp_token *parent, const char *sub, const char *aud,
                time_t exp, json_t *restr, const vp_ctx *c, vic_err **err)
{
    cleanup_free char *jti = vic_token_new(16);
    json_t *claims cleanup_json =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:O}", "iss", v->issuer, "sub", sub, "aud",
                  aud, "jti", jti, "iat", (json_int_t)c->now, "nbf", (json_int_t)c->now, "exp",
                  (json_int_t)exp, "restrictions", restr);
    if (parent)
        json_object_set_new(claims, "par", json_string(parent->jti));
    cleanup_free char *claims_text = json_dumps(claims, JSON_COMPACT);
    cleanup_free char *restr_text = json_dumps(restr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char kid[VP_KID_LEN + 1];
    char *token = NULL;
    int rc = vp_keyring_sign(&token, v->keys, claims_text, kid, err);
    if (rc < 0)
        return rc;
    char until[32];
    fmt_time(until, exp);
    cleanup_free char *detail =
        parent ? xasprintf("child of %s for %s until %s: %s", parent->jti, sub, until, restr_text)
               : xasprintf("for %s until %s: %s", sub, until, restr_text);
    long long uses = vp_restr_int(restr, "uses");
    char payload_hash[65];
    const char *p1 = strchr(token, '.'), *p2 = strrchr(token, '.');
    vic_sha256_hex(payload_hash, p1 + 1, (size_t)(p2 - p1 - 1));
    insert_args a = {.jti = jti,
                     .parent = parent ? parent->jti : NULL,
                     .depth = 0,
                     .kid = kid,
                     .sub = sub,
                     .aud = aud,
                     .iat = c->now,
                     .exp = exp,
                     .restrictions = restr_text,
                     .uses_allowed = uses,
                     .payload_sha256 = payload_hash,
                     .c = c,
                     .event = parent ? "delegate" : "issue",
                     .detail = detail};
    rc = vic_store_write(v->store, insert_token, &a, err);
    if (rc < 0) {
        vic_free_secret(token);
        return rc;
    }
    out->token = token;
    out->jti = steal_ptr(jti);
    out->exp = exp;
    out->restrictions = json_incref(restr);
    return 0;
}

static int check_ttl(long long ttl, vic_err **err)
{
    if (ttl != 0 && (ttl < MIN_TTL || ttl > VP_MAX_TTL))
        return vic_err_set(err, VIC_EINVAL, "ttl: must be between %d and %d seconds", MIN_TTL,
                           VP_MAX_TTL);
    return 0;
}

int vp_issue(vp_issued *out, vp *v, const vp_issue_opts *o, const vp_ctx *c, vic_err **err)
{
    memset(out, 0, sizeof(*out));
    if (!valid_sub(o->sub))
        return vic_err_set(err, VIC_EINVAL, "sub: must be 1 to %d printable characters", MAX_SUB);
    if (o->aud && strcmp(o->aud, v->audience) != 0)
        return vic_err_set(err, VIC_EINVAL, "aud: this service accepts only the audience \"%s\"",
                           v->audience);
    int rc = check_ttl(o->ttl, err);
    if (rc < 0)
        return rc;
    json_t *restr cleanup_json = NULL;
    if ((rc = vp_restrictions_normalize(&restr, o->restrictions, NULL, -1, err)) < 0)
        return rc;
    time_t exp = c->now + (o->ttl ? o->ttl : VP_DEFAULT_TTL);
    return mint(out, v, NULL, o->sub, v->audience, exp, restr, c, err);
}

int vp_delegate(vp_issued *out, vp *v, const vp_token *parent, const vp_issue_opts *o,
                const vp_ctx *c, vic_err **err)
{
    memset(out, 0, sizeof(*out));
    long long depth = vp_restr_int(vp_token_restrictions(parent), "delegation_depth");
    if (depth < 1)
        return vic_err_set(err, VIC_EFORBIDDEN,
                           "this token may not be delegated "
                           "(restrictions.delegation_depth is 0)");
    const char *sub = o->sub ? o->sub : parent->sub;
    if (!valid_sub(sub))
        return vic_err_set(err, VIC_EINVAL, "sub: must be 1 to %d printable characters", MAX_SUB);
    if (o->aud && strcmp(o->aud, parent->aud) != 0)
        return vic_err_set(err, VIC_EINVAL, "aud: a child keeps its parent's audience \"%s\"",
                           parent->aud);
    int rc = check_ttl(o->ttl, err);
    if (rc < 0)
        return rc;
    long long left = parent->uses_allowed < 0 ? -1 : parent->uses_allowed - parent->uses_consumed;
    json_t *restr cleanup_json = NULL;
    if ((rc = vp_restrictions_normalize(&restr, o->restrictions, vp_token_restrictions(parent),
                                        left, err)) < 0)
        return rc;
    time_t exp = o->ttl ? c->now + o->ttl : parent->exp;
    if (exp > parent->exp)
        return vic_err_set(err, VIC_EFORBIDDEN,
                           "ttl: %lld s would outlive the parent, which expires in %lld s", o->ttl,
                           (long long)(parent->exp - c->now));
    return mint(out, v, parent, sub, parent->aud, exp, restr, c, err);
}

void vp_issued_clear(vp_issued *i)
{
    vic_free_secret(i->token);
    free(i->jti);
    json_decref(i->restrictions);
    memset(i, 0, sizeof(*i));
}

/* ---- verification ---- */

static int b64url_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '-')
        return 62;
    if (ch == '_')
        return 63;
    return -1;
}

/* Decodes unpadded base64url; -1 on a length no encoding produces or stray bits. */
static int b64url_decode(unsigned char **out, size_t *out_len, const char *s, size_t len)
{
    if (len % 4 == 1)
        return -1;
    unsigned char *buf = xmalloc(len * 3 / 4 + 1);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0) {
            free(buf);
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) { /* non-canonical: leftover bits must be zero */
        free(buf);
        return -1;
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return 0;
}

static int decode_json(json_t **out, const char *seg, size_t len, const char *what, vic_err **err)
{
    cleanup_free unsigned char *raw = NULL;
    size_t n = 0;
    if (b64url_decode(&raw, &n, seg, len) < 0)
        return vic_err_set(err, VIC_EAUTH, "invalid token: its %s is not base64url", what);
    if (vic_json_parse(out, (const char *)raw, n, MAX_SEGMENT, NULL) < 0 || !json_is_object(*out))
        return vic_err_set(err, VIC_EAUTH, "invalid token: its %s is not a JSON object", what);
    return 0;
}

static int short_word(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 16)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

/* The header: ES256 and nothing else, decided before any key is looked at. */
static int check_header(const json_t *h, char kid[VP_KID_LEN + 1], vic_err **err)
{
    const json_t *alg = json_object_get(h, "alg");
    if (!json_is_string(alg))
        return vic_err_set(err, VIC_EAUTH, "invalid token: no algorithm in its header");
    if (strcmp(json_string_value(alg), "ES256") != 0) {
        const char *a = json_string_value(alg);
        if (short_word(a))
            return vic_err_set(err, VIC_EAUTH,
                               "invalid token: algorithm %s is not accepted "
                               "(ES256 only)",
                               a);
        return vic_err_set(err, VIC_EAUTH,
                           "invalid token: algorithm is not accepted (ES256 "
                           "only)");
    }
    const json_t *typ = json_object_get(h, "typ");
    if (typ && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0))
        return vic_err_set(err, VIC_EAUTH, "invalid token: type is not JWT");
    if (json_object_get(h, "crit"))
        return vic_err_set(err, VIC_EAUTH,
                           "invalid token: critical header extensions are not "
                           "supported");
    const json_t *k = json_object_get(h, "kid");
    if (!json_is_string(k) || json_string_length(k) != VP_KID_LEN)
        return vic_err_set(err, VIC_EAUTH, "invalid token: no key id in its header");
    memcpy(kid, json_string_value(k), VP_KID_LEN + 1);
    return 0;
}

static int get_str(const json_t *claims, const char *name, size_t max, const char **out,
                   vic_err **err)
{
    const json_t *v = json_object_get(claims, name);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
        return vic_err_set(err, VIC_EAUTH, "invalid token: claim %s missing or malformed", name);
    *out = json_string_value(v);
    return 0;
}

static int get_time(const json_t *claims, const char *name, time_t *out, vic_err **err)
{
    const json_t *v = json_object_get(claims, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return vic_err_set(err, VIC_EAUTH, "invalid token: claim %s missing or malformed", name);
    *out = (time_t)json_integer_value(v);
    return 0;
}

static vp_token *token_from_link(const chain_link *l, json_t *restrictions)
{
    vp_token *t = xzalloc(sizeof(*t));
    t->jti = xstrdup(l->jti);
    t->sub = xstrdup(l->sub);
    t->aud = xstrdup(l->aud);
    t->parent = l->parent ? xstrdup(l->parent) : NULL;
    t->iat = l->iat;
    t->nbf = l->nbf;
    t->exp = l->exp;
    t->restrictions = restrictions;
    if (restrictions == NULL)
        t->restrictions_text = xstrdup(l->restrictions ? l->restrictions : "{}");
    t->uses_allowed = l->uses_allowed;
    t->uses_consumed = l->uses_consumed;
    return t;
}

typedef struct chain_args {
    vp *v;
    const char *jti;  /* look the token up by jti, */
    const char *hash; /* or by the SHA-256 of its payload */
    chain ch;
} chain_args;

static int cached_stmt(sqlite3 *db, sqlite3_stmt **st, const char *sql, vic_err **err)
{
    if (*st)
        return 0;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return vic_store_error(err, db, sqlite3_errcode(db), "prepare statement");
    return 0;
}

/* Statements are prepared once and kept (CHAIN_SQL walks up on every verification); they are
 * used only inside store callbacks, which the store serialises. */
static int read_chain(sqlite3 *db, void *payload, vic_err **err)
{
    chain_args *a = payload;
    vp *v = a->v;
    if (v->chain_db != db) {
        sqlite3_finalize(v->chain_st);
        sqlite3_finalize(v->by_hash_st);
        v->chain_st = v->by_hash_st = NULL;
        v->chain_db = db;
    }
    int rc = cached_stmt(db, &v->chain_st, CHAIN_SQL, err);
    if (rc == 0 && a->hash)
        rc = cached_stmt(db, &v->by_hash_st, BY_HASH_SQL, err);
    if (rc < 0)
        return rc;
    return run_chain(db, a->hash ? v->by_hash_st : v->chain_st, a->hash ? a->hash : a->jti,
                     v->chain_st, &a->ch, err);
}

/* The claims after the signature verified: everything the service relies on must be there
 * and agree with what it recorded when it issued the token. */
static int check_claims(vp_token **out, vp *v, const json_t *claims, const char *kid, time_t now,
                        vic_err **err)
{
    const char *iss, *sub, *jti, *par = NULL;
    time_t iat, nbf, exp;
    int rc;
    if ((rc = get_str(claims, "iss", 256, &iss, err)) < 0 ||
        (rc = get_str(claims, "sub", MAX_SUB, &sub, err)) < 0 ||
        (rc = get_str(claims, "jti", MAX_JTI, &jti, err)) < 0 ||
        (rc = get_time(claims, "iat", &iat, err)) < 0 ||
        (rc = get_time(claims, "nbf", &nbf, err)) < 0 ||
        (rc = get_time(claims, "exp", &exp, err)) < 0)
        return rc;
    if (!json_is_object(json_object_get(claims, "restrictions")))
        return vic_err_set(err, VIC_EAUTH,
                           "invalid token: claim restrictions missing or "
                           "malformed");
    if (json_object_get(claims, "par") && (rc = get_str(claims, "par", MAX_JTI, &par, err)) < 0)
        return rc;
    if (strcmp(iss, v->issuer) != 0)
        return vic_err_set(err, VIC_EAUTH, "invalid token: not issued by this service");
    const json_t *aud = json_object_get(claims, "aud");
    int aud_ok = json_is_string(aud) && strcmp(json_string_value(aud), v->audience) == 0;
    if (json_is_array(aud)) {
        size_t i;
        json_t *e;
        json_array_foreach(aud, i, e)
        {
            aud_ok |= json_is_string(e) && strcmp(json_string_value(e), v->audience) == 0;
        }
    }
    if (!aud_ok)
        return vic_err_set(err, VIC_EAUTH,
                           "invalid token: wrong audience (this service is "
                           "\"%s\")",
                           v->audience);
    char when[32];
    if (now < nbf) {
        fmt_time(when, nbf);
        return vic_err_set(err, VIC_EAUTH, "token not valid before %s", when);
    }
    if (now >= exp) {
        fmt_time(when, exp);
        return vic_err_set(err, VIC_EAUTH, "token expired at %s", when);
    }

    chain_args a = {.v = v, .jti = jti};
    if ((rc = vic_store_read(v->store, read_chain, &a, err)) < 0)
        return rc;
    const chain_link *l = a.ch.n ? &a.ch.rows[0] : NULL;
    if (l && (strcmp(l->kid, kid) != 0 || strcmp(l->sub, sub) != 0 || l->exp != exp ||
              l->nbf != nbf || l->iat != iat || (par == NULL) != (l->parent == NULL) ||
              (par && strcmp(par, l->parent) != 0)))
        rc = vic_err_set(err, VIC_EAUTH, "invalid token: its claims differ from those issued");
    if (rc == 0)
        rc = check_chain(&a.ch, now, err);
    if (rc == 0) /* the signed restrictions are the ones recorded at issue */
        *out = token_from_link(l, json_incref(json_object_get(claims, "restrictions")));
    chain_clear(&a.ch);
    return rc;
}

/* The header this service writes, byte for byte: {"alg":"ES256","kid":"<16 hex>","typ":"JWT"}.
 * Recognising it spares a JSON parse on every request; anything else takes the full path
 * (check_header), which applies the same rules. 0 with kid filled, or -1. */
static int fast_header(const char *seg, size_t len, char kid[VP_KID_LEN + 1])
{
    static const char head[] = "{\"alg\":\"ES256\",\"kid\":\"";
    static const char tail[] = "\",\"typ\":\"JWT\"}";
    const size_t want = sizeof(head) - 1 + VP_KID_LEN + sizeof(tail) - 1;
    if (len != (want * 4 + 2) / 3)
        return -1;
    unsigned char *raw = NULL;
    size_t n = 0;
    if (b64url_decode(&raw, &n, seg, len) < 0)
        return -1;
    int ok = n == want && memcmp(raw, head, sizeof(head) - 1) == 0 &&
             memcmp(raw + sizeof(head) - 1 + VP_KID_LEN, tail, sizeof(tail) - 1) == 0;
    for (size_t i = 0; ok && i < VP_KID_LEN; i++) {
        char ch = (char)raw[sizeof(head) - 1 + i];
        ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
    }
    if (ok) {
        memcpy(kid, raw + sizeof(head) - 1, VP_KID_LEN);
        kid[VP_KID_LEN] = '\0';
    }
    free(raw);
    return ok ? 0 : -1;
}

static int verify_inner(vp_token **out, vp *v, const char *token, const vp_ctx *c,
                        char **verified_jti, vic_err **err)
{
    size_t len = strnlen(token, VP_MAX_TOKEN_LEN + 1);
    if (len > VP_MAX_TOKEN_LEN)
        return vic_err_set(err, VIC_EAUTH, "invalid token: longer than %d bytes", VP_MAX_TOKEN_LEN);
    if (len == 0)
        return vic_err_set(err, VIC_EAUTH, "invalid token: empty");
    const char *dot1 = NULL, *dot2 = NULL;
    size_t dots = 0;
    for (size_t i = 0; i < len; i++) {
        if (token[i] == '.') {
            dots++;
            if (dots == 1)
                dot1 = token + i;
            else if (dots == 2)
                dot2 = token + i;
        } else if (b64url_value((unsigned char)token[i]) < 0) {
            return vic_err_set(err, VIC_EAUTH,
                               "invalid token: not a compact JWS (a character "
                               "outside base64url)");
        }
    }
    if (dots != 2)
        return vic_err_set(err, VIC_EAUTH,
                           "invalid token: a JWS has three segments, this has "
                           "%zu",
                           dots + 1);
    char kid[VP_KID_LEN + 1];
    int rc = fast_header(token, (size_t)(dot1 - token), kid);
    if (rc < 0) {
        json_t *header cleanup_json = NULL;
        rc = decode_json(&header, token, (size_t)(dot1 - token), "header", err);
        if (rc == 0)
            rc = check_header(header, kid, err);
        if (rc < 0)
            return rc;
    }
    cleanup_free unsigned char *sig = NULL;
    size_t sig_len = 0;
    const char *sig_text = dot2 + 1;
    if (b64url_decode(&sig, &sig_len, sig_text, len - (size_t)(sig_text - token)) < 0)
        return vic_err_set(err, VIC_EAUTH, "invalid token: its signature is not base64url");
    if ((rc = vp_keyring_verify(v->keys, kid, token, (size_t)(dot2 - token), sig, sig_len, err)) <
        0)
        return rc;
    /* A payload this service signed is recorded under its hash with the claims it holds:
     * finding it spares parsing them. Anything else gets the full claim checks below, which
     * name what is wrong. */
    char payload_hash[65];
    vic_sha256_hex(payload_hash, dot1 + 1, (size_t)(dot2 - dot1 - 1));
    chain_args a = {.v = v, .hash = payload_hash};
    if ((rc = vic_store_read(v->store, read_chain, &a, err)) < 0)
        return rc;
    if (a.ch.n > 0) {
        const chain_link *l = &a.ch.rows[0];
        *verified_jti = xstrdup(l->jti);
        if (strcmp(l->kid, kid) != 0)
            rc = vic_err_set(err, VIC_EAUTH, "invalid token: its claims differ from those issued");
        else
            rc = check_chain(&a.ch, c->now, err);
        if (rc == 0)
            *out = token_from_link(l, NULL);
        chain_clear(&a.ch);
        return rc;
    }
    json_t *claims cleanup_json = NULL;
    if ((rc = decode_json(&claims, dot1 + 1, (size_t)(dot2 - dot1 - 1), "payload", err)) < 0)
        return rc;

    const char *jti = json_string_value(json_object_get(claims, "jti"));
    if (jti && strlen(jti) <= MAX_JTI)
        *verified_jti = xstrdup(jti);
    return check_claims(out, v, claims, kid, c->now, err);
}

int vp_verify(vp_token **out, vp *v, const char *token, const vp_ctx *c, vic_err **err)
{
    *out = NULL;
    cleanup_free char *jti = NULL;
    int rc = verify_inner(out, v, token ? token : "", c, &jti, err);
    if (rc < 0 && !c->quiet && err && *err)
        vp_audit_append(v, "deny", jti, c, (*err)->msg, NULL);
    return rc;
}

typedef struct load_args {
    const char *jti;
    time_t now;
    vp_token *t;
} load_args;

static int load_token(sqlite3 *db, void *payload, vic_err **err)
{
    load_args *a = payload;
    chain ch = {0};
    int rc = load_chain(db, a->jti, &ch, err);
    if (rc == 0)
        rc = check_chain(&ch, a->now, err);
    if (rc == 0) {
        json_t *restr = NULL;
        const chain_link *l = &ch.rows[0];
        if ((rc = vic_json_parse(&restr, l->restrictions, strlen(l->restrictions), 1 << 20, err)) <
            0)
            rc = vic_err_wrap(err, rc, "stored restrictions of %s", l->jti);
        else
            a->t = token_from_link(l, restr);
    }
    chain_clear(&ch);
    return rc;
}

int vp_token_load(vp_token **out, vp *v, const char *jti, time_t now, vic_err **err)
{
    load_args a = {.jti = jti, .now = now};
    int rc = vic_store_read(v->store, load_token, &a, err);
    *out = a.t;
    return rc;
}

void vp_token_free(vp_token *t)
{
    if (t == NULL)
        return;
    free(t->jti);
    free(t->sub);
    free(t->aud);
    free(t->parent);
    json_decref(t->restrictions);
    free(t->restrictions_text);
    free(t);
}

const char *vp_token_jti(const vp_token *t)
{
    return t->jti;
}

const char *vp_token_sub(const vp_token *t)
{
    return t->sub;
}

const char *vp_token_parent(const vp_token *t)
{
    return t->parent;
}

time_t vp_token_exp(const vp_token *t)
{
    return t->exp;
}

const json_t *vp_token_restrictions(const vp_token *t)
{
    json_t *r = __atomic_load_n(&t->restrictions, __ATOMIC_ACQUIRE);
    if (r == NULL) {
        /* parsed on first use (authentication alone never needs them); threads sharing t
         * may race here, so the first parse to be published wins and the others drop theirs */
        json_t *parsed = json_loads(t->restrictions_text, 0, NULL);
        if (parsed == NULL)
            parsed = json_object();
        vp_token *mut = (vp_token *)t;
        json_t *expected = NULL;
        if (__atomic_compare_exchange_n(&mut->restrictions, &expected, parsed, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            r = parsed;
        } else {
            json_decref(parsed);
            r = expected;
        }
    }
    return r;
}

long long vp_token_uses_consumed(const vp_token *t)
{
    return t->uses_consumed;
}

long long vp_token_uses_allowed(const vp_token *t)
{
    return t->uses_allowed;
}

/* ---- uses, inside a caller's transaction ---- */

int vp_db_consume_use(sqlite3 *db, const char *jti, time_t now, vic_err **err)
{
    chain ch = {0};
    int rc = load_chain(db, jti, &ch, err);
    if (rc == 0)
        rc = check_chain(&ch, now, err);
    for (size_t i = 0; rc == 0 && i < ch.n; i++) {
        const chain_link *l = &ch.rows[i];
        if (l->uses_allowed >= 0 && l->uses_consumed >= l->uses_allowed) {
            if (i == 0)
                rc = vic_err_set(err, VIC_EFORBIDDEN,
                                 "uses: all %lld uses of this token are "
                                 "consumed",
                                 l->uses_allowed);
            else
                rc = vic_err_set(err, VIC_EFORBIDDEN,
                                 "uses: all %lld uses of the ancestor token "
                                 "%s are consumed",
                                 l->uses_allowed, l->jti);
        }
    }
    for (size_t i = 0; rc == 0 && i < ch.n; i++) {
        sqlite3_stmt *st cleanup_stmt = NULL;
        if ((rc = vic_store_prepare(db, &st,
                                    "UPDATE tokens SET uses_consumed = uses_consumed + 1 "
                                    "WHERE jti = ?",
                                    err)) < 0)
            break;
        sqlite3_bind_text(st, 1, ch.rows[i].jti, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) != SQLITE_DONE)
            rc = vic_store_error(err, db, rc, "consume a use");
        else
            rc = 0;
    }
    chain_clear(&ch);
    return rc;
}

int vp_db_chain_each(sqlite3 *db, const char *jti, vp_chain_fn fn, void *payload, vic_err **err)
{
    chain ch = {0};
    int rc = load_chain(db, jti, &ch, err);
    for (size_t i = 0; rc == 0 && i < ch.n; i++) {
        json_t *restr = NULL;
        const chain_link *l = &ch.rows[i];
        if ((rc = vic_json_parse(&restr, l->restrictions, strlen(l->restrictions), 1 << 20, err)) <
            0) {
            rc = vic_err_wrap(err, rc, "stored restrictions of %s", l->jti);
            break;
        }
        rc = fn(l->jti, restr, payload, err);
        json_decref(restr);
    }
    chain_clear(&ch);
    return rc;
}

/* ---- revocation ---- */

typedef struct revoke_args {
    const char *jti;
    const vp_ctx *c;
    size_t count;
} revoke_args;

static int revoke_tx(sqlite3 *db, void *payload, vic_err **err)
{
    revoke_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st,
                               VP_SUBTREE_CTE "SELECT t.jti, t.jti = ?1 FROM tokens t "
                                              "WHERE t.jti IN vp_subtree AND t.revoked_at IS NULL",
                               err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->jti, -1, SQLITE_STATIC);
    json_t *victims cleanup_json = json_array();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(victims, json_string((const char *)sqlite3_column_text(st, 0)));
    if (rc != SQLITE_DONE)
        return vic_store_error(err, db, rc, "find tokens to revoke");
    size_t i;
    json_t *e;
    json_array_foreach(victims, i, e)
    {
        const char *victim = json_string_value(e);
        sqlite3_stmt *up cleanup_stmt = NULL;
        if ((rc = vic_store_prepare(db, &up,
                                    "UPDATE tokens SET revoked_at = ?, revoked_by = ? "
                                    "WHERE jti = ?",
                                    err)) < 0)
            return rc;
        sqlite3_bind_int64(up, 1, a->c->now);
        sqlite3_bind_text(up, 2, a->c->actor ? a->c->actor : "-", -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 3, victim, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(up)) != SQLITE_DONE)
            return vic_store_error(err, db, rc, "revoke token");
        cleanup_free char *detail =
            strcmp(victim, a->jti) == 0
                ? xasprintf("revoked with %zu descendant(s)", json_array_size(victims) - 1)
                : xasprintf("revoked with its ancestor %s", a->jti);
        if ((rc = vp_db_audit(db, "revoke", victim, a->c, detail, err)) < 0)
            return rc;
    }
    a->count = json_array_size(victims);
    return 0;
}

static int token_exists(sqlite3 *db, const char *jti, int *out, vic_err **err)
{
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st, "SELECT 1 FROM tokens WHERE jti = ?", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, jti, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return vic_store_error(err, db, rc, "look up token");
    *out = rc == SQLITE_ROW;
    return 0;
}

static int revoke_checked(sqlite3 *db, void *payload, vic_err **err)
{
    revoke_args *a = payload;
    int exists = 0;
    int rc = token_exists(db, a->jti, &exists, err);
    if (rc < 0)
        return rc;
    if (!exists)
        return vic_err_set(err, VIC_ENOTFOUND, "no token %s", a->jti);
    return revoke_tx(db, payload, err);
}

int vp_revoke(size_t *out_count, vp *v, const char *jti, const vp_ctx *c, vic_err **err)
{
    revoke_args a = {.jti = jti, .c = c};
    int rc = vic_store_write(v->store, revoke_checked, &a, err);
    if (out_count)
        *out_count = rc == 0 ? a.count : 0;
    return rc;
}

/* ---- listing ---- */

typedef struct list_args {
    time_t now;
    const char *jti;
    json_t *out;
    int found;
} list_args;

static json_t *time_or_null(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? json_null()
                                                     : json_integer(sqlite3_column_int64(st, i));
}

static json_t *text_or_null(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? json_string((const char *)s) : json_null();
}

static int list_tx(sqlite3 *db, void *payload, vic_err **err)
{
    list_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st,
                               "SELECT jti, sub, aud, parent, depth, kid, issued_by, iat, nbf, "
                               "exp, revoked_at, revoked_by, uses_consumed, uses_allowed, "
                               "restrictions FROM tokens ORDER BY iat DESC, rowid DESC",
                               err);
    if (rc < 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        time_t nbf = sqlite3_column_int64(st, 8), exp = sqlite3_column_int64(st, 9);
        const char *state = sqlite3_column_type(st, 10) != SQLITE_NULL ? "revoked"
                            : exp <= a->now                            ? "expired"
                            : nbf > a->now                             ? "not_yet_valid"
                                                                       : "active";
        json_t *restr = NULL;
        const char *rt = (const char *)sqlite3_column_text(st, 14);
        if (vic_json_parse(&restr, rt, strlen(rt), 1 << 20, NULL) < 0)
            restr = json_null();
        json_array_append_new(
            a->out, json_pack("{s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:I, s:I, s:I, s:s, s:o, s:o, "
                              "s:{s:I, s:o}, s:o}",
                              "jti", text_or_null(st, 0), "sub", text_or_null(st, 1), "aud",
                              text_or_null(st, 2), "parent", text_or_null(st, 3), "depth",
                              (json_int_t)sqlite3_column_int(st, 4), "kid", text_or_null(st, 5),
                              "issued_by", text_or_null(st, 6), "iat",
                              (json_int_t)sqlite3_column_int64(st, 7), "nbf", (json_int_t)nbf,
                              "exp", (json_int_t)exp, "state", state, "revoked_at",
                              time_or_null(st, 10), "revoked_by", text_or_null(st, 11), "uses",
                              "consumed", (json_int_t)sqlite3_column_int64(st, 12), "allowed",
                              time_or_null(st, 13), "restrictions", restr));
    }
    if (rc != SQLITE_DONE)
        return vic_store_error(err, db, rc, "list tokens");
    return 0;
}

int vp_list(json_t **out, vp *v, time_t now, vic_err **err)
{
    list_args a = {.now = now, .out = json_array()};
    int rc = vic_store_read(v->store, list_tx, &a, err);
    if (rc < 0) {
        json_decref(a.out);
        return rc;
    }
    *out = a.out;
    return 0;
}

static int audit_list_tx(sqlite3 *db, void *payload, vic_err **err)
{
    list_args *a = payload;
    int rc = token_exists(db, a->jti, &a->found, err);
    if (rc < 0)
        return rc;
    if (!a->found)
        return vic_err_set(err, VIC_ENOTFOUND, "no token %s", a->jti);
    sqlite3_stmt *st cleanup_stmt = NULL;
    rc = vic_store_prepare(db, &st,
                           VP_SUBTREE_CTE "SELECT id, at, event, jti, actor, remote, detail, "
                                          "repeats, last_at FROM token_audit WHERE jti IN "
                                          "vp_subtree ORDER BY id",
                           err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->jti, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_pack(
            "{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:I}", "id",
            (json_int_t)sqlite3_column_int64(st, 0), "at", (json_int_t)sqlite3_column_int64(st, 1),
            "event", text_or_null(st, 2), "jti", text_or_null(st, 3), "actor", text_or_null(st, 4),
            "remote", text_or_null(st, 5), "detail", text_or_null(st, 6), "repeats",
            (json_int_t)sqlite3_column_int64(st, 7));
        if (sqlite3_column_type(st, 8) != SQLITE_NULL) /* a folded denial: the last one */
            json_object_set_new(row, "last_at", json_integer(sqlite3_column_int64(st, 8)));
        json_array_append_new(a->out, row);
    }
    if (rc != SQLITE_DONE)
        return vic_store_error(err, db, rc, "read the token audit log");
    return 0;
}

int vp_audit(json_t **out, vp *v, const char *jti, vic_err **err)
{
    list_args a = {.jti = jti, .out = json_array()};
    int rc = vic_store_read(v->store, audit_list_tx, &a, err);
    if (rc < 0) {
        json_decref(a.out);
        return rc;
    }
    *out = a.out;
    return 0;
}

/* ---- keys ---- */

int vp_rotate(vp *v, const vp_ctx *c, char out_kid[VP_KID_LEN + 1], vic_err **err)
{
    char old[VP_KID_LEN + 1], kid[VP_KID_LEN + 1];
    vp_keyring_active(v->keys, old);
    int rc = vp_keyring_rotate(v->keys, kid, err);
    if (rc < 0)
        return rc;
    prune_args p = {.v = v, .now = c->now};
    vp_keyring_prune(v->keys, retire_if_unused, &p, NULL);
    cleanup_free char *detail = xasprintf("signing key %s replaces %s", kid, old);
    if (out_kid)
        snprintf(out_kid, VP_KID_LEN + 1, "%s", kid);
    return vp_audit_append(v, "rotate", NULL, c, detail, err);
}

int vp_key_list(json_t **out, vp *v, vic_err **err)
{
    char **kids = vp_keyring_kids(v->keys);
    json_t *list = json_array();
    int rc = 0;
    for (size_t i = 0; kids[i] && rc == 0; i++) {
        kid_exp a = {.kid = kids[i]};
        rc = vic_store_read(v->store, read_kid_exp, &a, err);
        json_array_append_new(
            list, json_pack("{s:s, s:b, s:o}", "kid", kids[i], "active", i == 0, "tokens_until",
                            a.max_exp < 0 ? json_null() : json_integer(a.max_exp)));
    }
    free(kids);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}
