/*
 * token.h - delegation tokens: issue, delegate, verify, revoke, and their audit log.
 *
 * A token is a compact JWS signed ES256 (validating-proxy/keys.h) whose claims are iss, sub,
 * aud, jti, iat, nbf, exp, `restrictions` (validating-proxy/restrictions.h) and, for a child,
 * `par`: the parent's jti. The token text is handed out once and never stored; the service
 * keeps each token's claims, parent, uses and revocation in the `tokens` table and every
 * issue, delegation, redemption, denial and revocation in the append-only `token_audit`
 * table (VP_SCHEMA_SQL, applied by the service's migrations).
 *
 * Verification is pinned to ES256 before any key is touched, whatever the header says, and
 * then walks the chain of parents in the database up to a root this service issued: a token
 * is valid only while it and every ancestor are unexpired and unrevoked. Revoking a token
 * marks it and all its descendants in one transaction.
 *
 * Every call takes a vp_ctx: the time (so tests control the clock), who acts and from where
 * (for the audit log).
 */
#ifndef VIC_VP_TOKEN_H
#define VIC_VP_TOKEN_H

#include <jansson.h>
#include <sqlite3.h>
#include <time.h>

#include "lib/err.h"
#include "lib/store.h"
#include "validating-proxy/keys.h"

/* Tables of the token service, for a migration of the service's database. Frozen once
 * shipped: change them with a new migration. */
#define VP_SCHEMA_SQL                                                                              \
    "CREATE TABLE tokens ("                                                                        \
    "  jti TEXT PRIMARY KEY,"                                                                      \
    "  parent TEXT REFERENCES tokens(jti),"                                                        \
    "  depth INTEGER NOT NULL,"                                                                    \
    "  kid TEXT NOT NULL,"                                                                         \
    "  sub TEXT NOT NULL,"                                                                         \
    "  aud TEXT NOT NULL,"                                                                         \
    "  iat INTEGER NOT NULL,"                                                                      \
    "  nbf INTEGER NOT NULL,"                                                                      \
    "  exp INTEGER NOT NULL,"                                                                      \
    "  restrictions TEXT NOT NULL,"                                                                \
    "  payload_sha256 TEXT NOT NULL UNIQUE,"                                                       \
    "  uses_allowed INTEGER,"                                                                      \
    "  uses_consumed INTEGER NOT NULL DEFAULT 0,"                                                  \
    "  issued_by TEXT NOT NULL,"                                                                   \
    "  revoked_at INTEGER,"                                                                        \
    "  revoked_by TEXT);"                                                                          \
    "CREATE INDEX tokens_parent ON tokens(parent);"                                                \
    "CREATE INDEX tokens_kid_exp ON tokens(kid, exp);"                                             \
    "CREATE TABLE token_audit ("                                                                   \
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"                                                      \
    "  at INTEGER NOT NULL,"                                                                       \
    "  event TEXT NOT NULL CHECK (event IN "                                                       \
    "    ('issue','delegate','redeem','deny','revoke','release','rotate')),"                       \
    "  jti TEXT,"                                                                                  \
    "  actor TEXT NOT NULL,"                                                                       \
    "  remote TEXT,"                                                                               \
    "  detail TEXT NOT NULL);"                                                                     \
    "CREATE INDEX token_audit_jti ON token_audit(jti);"                                            \
    "CREATE TRIGGER token_audit_no_update BEFORE UPDATE ON token_audit "                           \
    "  BEGIN SELECT RAISE(ABORT, 'token_audit is append-only'); END;"                              \
    "CREATE TRIGGER token_audit_no_delete BEFORE DELETE ON token_audit "                           \
    "  BEGIN SELECT RAISE(ABORT, 'token_audit is append-only'); END;"

/* The audit log's second shape, a migration after VP_SCHEMA_SQL: a denial repeated within
 * VP_AUDIT_FOLD seconds (same token or none, same client, same reason) adds to one row's
 * count instead of a row each, and rows past the retention limits are pruned. A row's
 * content is still never rewritten. */
#define VP_SCHEMA_SQL_2                                                                            \
    "ALTER TABLE token_audit ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;"                       \
    "ALTER TABLE token_audit ADD COLUMN last_at INTEGER;"                                          \
    "DROP TRIGGER token_audit_no_update;"                                                          \
    "DROP TRIGGER token_audit_no_delete;"                                                          \
    "CREATE TRIGGER token_audit_no_rewrite BEFORE UPDATE OF at, event, jti, actor, remote, "       \
    "  detail ON token_audit "                                                                     \
    "  BEGIN SELECT RAISE(ABORT, 'token_audit rows are not rewritten'); END;"                      \
    "CREATE INDEX token_audit_at ON token_audit(at);"
#define VP_AUDIT_FOLD 300

/* A CTE naming vp_subtree(jti): the token bound to ?1 and all its descendants. */
#define VP_SUBTREE_CTE                                                                             \
    "WITH RECURSIVE vp_subtree(jti) AS (SELECT ?1 UNION "                                          \
    "SELECT t.jti FROM tokens t JOIN vp_subtree s ON t.parent = s.jti) "

#define VP_MAX_TOKEN_LEN 8192
#define VP_DEFAULT_TTL   86400
#define VP_MAX_TTL       (366 * 86400)

typedef struct vp vp;
typedef struct vp_token vp_token;

typedef struct vp_options {
    const char *key_dir;  /* $VIC_HOME/tokens */
    const char *issuer;   /* iss of every token, e.g. "vic-webservice" */
    const char *audience; /* the audience this service accepts, e.g. "vic-self-provision" */
    vic_store *store;     /* borrowed; holds VP_SCHEMA_SQL and VP_SCHEMA_SQL_2 */
    /* The audit log's retention: rows older than audit_days, and the oldest past
     * audit_max_rows, are pruned (0: 90 days, 100,000 rows). */
    unsigned audit_days;
    unsigned audit_max_rows;
} vp_options;

typedef struct vp_ctx {
    time_t now;
    const char *actor;  /* "admin", "token:<jti>", ... (audit "who") */
    const char *remote; /* client address, or NULL */
    int quiet;          /* 1: do not record denials (benchmarks, fuzzing) */
} vp_ctx;

typedef struct vp_issue_opts {
    const char *sub;            /* who the token is for; a child defaults to the parent's */
    const char *aud;            /* NULL: the service's audience (the only one accepted) */
    long long ttl;              /* seconds; 0: a day for a root, the parent's rest for a child */
    const json_t *restrictions; /* requested; NULL: defaults, or the parent's */
} vp_issue_opts;

typedef struct vp_issued {
    char *token; /* the compact JWS: a secret, shown once; vp_issued_clear cleanses it */
    char *jti;
    time_t exp;
    json_t *restrictions; /* canonical */
} vp_issued;

/* Opens the token service: loads (or creates) the keys in opt->key_dir and drops retired keys
 * whose tokens have all expired. *out is owned by the caller. Errors: those of
 * vp_keyring_open, and VIC_EINVAL for missing options. */
int vp_open(vp **out, const vp_options *opt, time_t now, vic_err **err);

/* Frees the service; safe on NULL. */
void vp_free(vp *v);

/* The service's keyring (borrowed), for benchmarks and tests. */
vp_keyring *vp_keys(vp *v);

/* Issues a root token for o->sub. Errors: VIC_EINVAL naming every malformed field. The audit
 * log records the issue with c->actor. out is filled on success; release with
 * vp_issued_clear. */
int vp_issue(vp_issued *out, vp *v, const vp_issue_opts *o, const vp_ctx *c, vic_err **err);

/* Issues a child of parent (a verified token) narrowing it. Errors: VIC_EFORBIDDEN when
 * the parent may not delegate (delegation_depth 0) or the request widens it (every widened
 * field named, "restrictions.memory_mb: 8192 exceeds the parent's 4096"; "ttl: ..." when it
 * would outlive the parent); VIC_EINVAL for malformed requests; VIC_EAUTH when the parent was
 * revoked or expired meanwhile. */
int vp_delegate(vp_issued *out, vp *v, const vp_token *parent, const vp_issue_opts *o,
                const vp_ctx *c, vic_err **err);

/* Releases what vp_issue/vp_delegate filled (cleansing the token); safe on a zeroed struct. */
void vp_issued_clear(vp_issued *i);

/*
 * Verifies a compact token: size, shape, header (alg must be ES256, a known kid), the
 * signature, the claims (iss, aud, sub, jti, iat, nbf, exp, restrictions), then the chain in
 * the database. *out (caller frees with vp_token_free) describes the token on success.
 * Errors: VIC_EAUTH with the precise reason ("invalid token: ...", "token expired ...",
 * "token revoked ..."). Unless c->quiet, a denial is recorded in the audit log (with the jti
 * only when the signature verified, since an unsigned jti is the caller's claim).
 */
int vp_verify(vp_token **out, vp *v, const char *token, const vp_ctx *c, vic_err **err);

/* Loads the stored claims of jti and checks its chain (no signature: for a caller that
 * verified the token moments ago). Errors as vp_verify; VIC_EAUTH when unknown. */
int vp_token_load(vp_token **out, vp *v, const char *jti, time_t now, vic_err **err);

void vp_token_free(vp_token *t);

/* Accessors; strings are borrowed from t. parent is NULL for a root. A vp_token may be read
 * from several threads (the restrictions are parsed once, on first use). */
const char *vp_token_jti(const vp_token *t);
const char *vp_token_sub(const vp_token *t);
const char *vp_token_parent(const vp_token *t);
time_t vp_token_exp(const vp_token *t);
const json_t *vp_token_restrictions(const vp_token *t);
/* Redemptions consumed by the token and its descendants (as loaded), and allowed (-1:
 * unlimited). */
long long vp_token_uses_consumed(const vp_token *t);
long long vp_token_uses_allowed(const vp_token *t);

/* Revokes jti and every descendant in one transaction. *out_count (may be NULL) receives how
 * many tokens became revoked. Errors: VIC_ENOTFOUND for an unknown jti. Revoking a revoked
 * token again succeeds and changes nothing. */
int vp_revoke(size_t *out_count, vp *v, const char *jti, const vp_ctx *c, vic_err **err);

/* All tokens, newest first: jti, sub, aud, parent, depth, kid, issued_by, iat, nbf, exp,
 * state (active, expired, revoked, not_yet_valid), revoked_at, uses {consumed, allowed},
 * restrictions. Never the token text. *out is a new reference. */
int vp_list(json_t **out, vp *v, time_t now, vic_err **err);

/* The audit rows of jti and its descendants, oldest first. Errors: VIC_ENOTFOUND. */
int vp_audit(json_t **out, vp *v, const char *jti, vic_err **err);

/* Makes a new signing key; old ones verify until their tokens expire. */
int vp_rotate(vp *v, const vp_ctx *c, char out_kid[VP_KID_LEN + 1], vic_err **err);

/* The keys: [{kid, active, tokens_until}] (tokens_until: the latest exp it signed, or null). */
int vp_key_list(json_t **out, vp *v, vic_err **err);

/* ---- inside a caller's write transaction (vic_store_write) ---- */

/* Checks jti's chain again (unrevoked, unexpired) and consumes one use of the token and of
 * every ancestor. Errors: VIC_EAUTH when revoked or expired; VIC_EFORBIDDEN when the token or
 * an ancestor has no use left ("uses: all 1 uses of token X are consumed"). */
int vp_db_consume_use(sqlite3 *db, const char *jti, time_t now, vic_err **err);

/* Calls fn for jti and each ancestor, nearest first, with its canonical restrictions. */
typedef int (*vp_chain_fn)(const char *jti, const json_t *restrictions, void *payload,
                           vic_err **err);
int vp_db_chain_each(sqlite3 *db, const char *jti, vp_chain_fn fn, void *payload, vic_err **err);

/* Appends an audit row (event: issue, delegate, redeem, deny, revoke, release, rotate).
 * detail is free text; jti may be NULL. */
int vp_db_audit(sqlite3 *db, const char *event, const char *jti, const vp_ctx *c,
                const char *detail, vic_err **err);

/* Like vp_db_audit in a transaction of its own. */
int vp_audit_append(vp *v, const char *event, const char *jti, const vp_ctx *c, const char *detail,
                    vic_err **err);

#endif
