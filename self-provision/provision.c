#include "self-provision/provision.h"

#include <stdio.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "validating-proxy/restrictions.h"

struct sp {
    vic_store *store;
    vp *tokens;
    const vch_spec_inventory *inv;
};

sp *sp_new(vic_store *store, vp *tokens, const vch_spec_inventory *inv)
{
    sp *s = xzalloc(sizeof(*s));
    s->store = store;
    s->tokens = tokens;
    s->inv = inv;
    return s;
}

void sp_free(sp *s)
{
    free(s);
}

/* ---- the token's restrictions on a spec ---- */

/* The limits a canonical restriction object r lays on a spec (borrowing from r). */
static vch_spec_limits limits_of(const json_t *r, int holder)
{
    return (vch_spec_limits){
        .target = vp_restr_str(r, "target"),
        .name_prefix = vp_restr_str(r, "name_prefix"),
        .compute = vp_restr_str(r, "compute"),
        .within = vp_path_within,
        .cpu_mhz = vp_restr_int(r, "cpu_mhz"),
        .memory_mb = vp_restr_int(r, "memory_mb"),
        .storage_gb = vp_restr_int(r, "storage_gb"),
        .containers_per_vch = vp_restr_int(r, "containers_per_vch"),
        .image_datastores = vp_restr_list(r, "image_datastores"),
        .volume_datastores = vp_restr_list(r, "volume_datastores"),
        .networks = vp_restr_list(r, "networks"),
        .tls_required = json_is_true(json_object_get(r, "tls_required")),
        .holder = holder,
    };
}

int sp_check_spec(json_t **out, json_t **problems, const vch_spec_inventory *inv, const json_t *r,
                  const json_t *spec, const char *target, vic_err **err)
{
    vch_spec_limits lim = limits_of(r, 0);
    return vch_spec_check(out, problems, inv, &lim, spec, target, err);
}

int sp_check_holder_spec(json_t **out, json_t **problems, const vch_spec_inventory *inv,
                         const json_t *r, const json_t *spec, const char *target, vic_err **err)
{
    vch_spec_limits lim = limits_of(r, 1);
    return vch_spec_check(out, problems, inv, &lim, spec, target, err);
}

/* ---- redemption ---- */

typedef struct redeem_args {
    const vp_token *t;
    json_t *spec;
    const char *target;
    const char *name;
    const vp_ctx *c;
    char id[40];
} redeem_args;

static int count_live(sqlite3 *db, const char *jti, long long *out, vic_err **err)
{
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st,
                               VP_SUBTREE_CTE "SELECT count(*) FROM vchs WHERE state != 'deleted' "
                                              "AND created_by IN vp_subtree",
                               err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, jti, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_ROW)
        return vic_store_error(err, db, rc, "count VCHs");
    *out = sqlite3_column_int64(st, 0);
    return 0;
}

typedef struct vch_count_args {
    sqlite3 *db;
    const char *self;
} vch_count_args;

static int check_max_vchs(const char *jti, const json_t *restrictions, void *payload, vic_err **err)
{
    vch_count_args *a = payload;
    long long max = vp_restr_int(restrictions, "max_vchs");
    if (max < 0)
        return 0;
    long long n = 0;
    int rc = count_live(a->db, jti, &n, err);
    if (rc < 0)
        return rc;
    if (n >= max) {
        if (strcmp(jti, a->self) == 0)
            return vic_err_set(err, VIC_EFORBIDDEN,
                               "restrictions.max_vchs: this token already "
                               "has %lld of %lld VCHs",
                               n, max);
        return vic_err_set(err, VIC_EFORBIDDEN,
                           "restrictions.max_vchs: the ancestor token %s "
                           "already has %lld of %lld VCHs",
                           jti, n, max);
    }
    return 0;
}

static int redeem_tx(sqlite3 *db, void *payload, vic_err **err)
{
    redeem_args *a = payload;
    const char *jti = vp_token_jti(a->t);
    vch_count_args ca = {.db = db, .self = jti};
    int rc = vp_db_chain_each(db, jti, check_max_vchs, &ca, err);
    if (rc < 0)
        return rc;
    if ((rc = vp_db_consume_use(db, jti, a->c->now, err)) < 0)
        return rc;
    cleanup_free char *spec_text = json_dumps(a->spec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    sqlite3_stmt *st cleanup_stmt = NULL;
    if ((rc = vic_store_prepare(db, &st,
                                "INSERT INTO vchs(id, name, target, spec, created_by, state, "
                                "created, updated) VALUES(?, ?, ?, ?, ?, 'requested', ?, ?)",
                                err)) < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, spec_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, jti, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, a->c->now);
    sqlite3_bind_int64(st, 7, a->c->now);
    rc = sqlite3_step(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return vic_err_set(err, VIC_ECONFLICT, "name: a VCH named %s exists on %s already", a->name,
                           a->target);
    if (rc != SQLITE_DONE)
        return vic_store_error(err, db, rc, "record VCH");
    cleanup_free char *detail =
        xasprintf("VCH %s (%s) requested on %s: %s", a->id, a->name, a->target, spec_text);
    return vp_db_audit(db, "redeem", jti, a->c, detail, err);
}

int sp_redeem(json_t **out, json_t **problems, sp *s, const vp_token *t, const json_t *spec,
              const char *target, const vp_ctx *c, vic_err **err)
{
    *out = NULL;
    if (problems)
        *problems = NULL;
    json_t *checked cleanup_json = NULL;
    int rc = sp_check_holder_spec(&checked, problems, s->inv, vp_token_restrictions(t), spec,
                                  target, err);
    if (rc == 0) {
        redeem_args a = {.t = t,
                         .spec = checked,
                         .target = vp_restr_str(vp_token_restrictions(t), "target"),
                         .name = json_string_value(json_object_get(checked, "name")),
                         .c = c};
        unsigned char rnd[8];
        vic_random_bytes(rnd, sizeof(rnd));
        snprintf(a.id, sizeof(a.id), "vch-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
                 rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        rc = vic_store_write(s->store, redeem_tx, &a, err);
        if (rc == 0) {
            *out = json_pack("{s:s, s:s, s:s, s:s, s:O}", "id", a.id, "name", a.name, "target",
                             a.target, "state", "requested", "spec", checked);
            return 0;
        }
    }
    if (err && *err)
        vp_audit_append(s->tokens, "deny", vp_token_jti(t), c, (*err)->msg, NULL);
    return rc;
}

/* ---- the holder's view ---- */

typedef struct view_args {
    const vp_token *t;
    const char *id;
    const vp_ctx *c;
    json_t *out;
    long long live;
    int found;
} view_args;

static int list_tx(sqlite3 *db, void *payload, vic_err **err)
{
    view_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st,
                               VP_SUBTREE_CTE "SELECT id, name, target, state, created, "
                                              "created_by, spec FROM vchs WHERE state != "
                                              "'deleted' AND created_by IN vp_subtree "
                                              "ORDER BY created, id",
                               err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, vp_token_jti(a->t), -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *spec_text = (const char *)sqlite3_column_text(st, 6);
        json_t *spec = json_loads(spec_text, 0, NULL);
        json_array_append_new(a->out,
                              json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:o}", "id",
                                        (const char *)sqlite3_column_text(st, 0), "name",
                                        (const char *)sqlite3_column_text(st, 1), "target",
                                        (const char *)sqlite3_column_text(st, 2), "state",
                                        (const char *)sqlite3_column_text(st, 3), "created",
                                        (json_int_t)sqlite3_column_int64(st, 4), "created_by",
                                        (const char *)sqlite3_column_text(st, 5), "spec",
                                        spec ? spec : json_null()));
    }
    if (rc != SQLITE_DONE)
        return vic_store_error(err, db, rc, "list VCHs");
    return count_live(db, vp_token_jti(a->t), &a->live, err);
}

int sp_list(json_t **out, sp *s, const vp_token *t, vic_err **err)
{
    view_args a = {.t = t, .out = json_array()};
    int rc = vic_store_read(s->store, list_tx, &a, err);
    if (rc < 0) {
        json_decref(a.out);
        return rc;
    }
    *out = a.out;
    return 0;
}

static int delete_tx(sqlite3 *db, void *payload, vic_err **err)
{
    view_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st,
                               VP_SUBTREE_CTE "UPDATE vchs SET state = 'deleted', updated = ?2 "
                                              "WHERE id = ?3 AND state != 'deleted' AND "
                                              "created_by IN vp_subtree",
                               err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, vp_token_jti(a->t), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a->c->now);
    sqlite3_bind_text(st, 3, a->id, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "delete VCH");
    if (sqlite3_changes(db) == 0)
        return vic_err_set(err, VIC_ENOTFOUND, "no VCH %s for this token", a->id);
    cleanup_free char *detail = xasprintf("VCH %s deleted (it was only requested: nothing was "
                                          "deployed)",
                                          a->id);
    return vp_db_audit(db, "release", vp_token_jti(a->t), a->c, detail, err);
}

int sp_delete(sp *s, const vp_token *t, const char *id, const vp_ctx *c, vic_err **err)
{
    view_args a = {.t = t, .id = id, .c = c};
    return vic_store_write(s->store, delete_tx, &a, err);
}

static int count_tx(sqlite3 *db, void *payload, vic_err **err)
{
    view_args *a = payload;
    return count_live(db, vp_token_jti(a->t), &a->live, err);
}

/* Names known on the target that the token allows for key. */
static json_t *allowed_names(const json_t *known, const json_t *r, const char *key)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(known, i, e)
    {
        if (vp_restr_allows(r, key, json_string_value(e)))
            json_array_append(out, e);
    }
    return out;
}

int sp_limits(json_t **out, sp *s, const vp_token *t, time_t now, vic_err **err)
{
    view_args a = {.t = t};
    int rc = vic_store_read(s->store, count_tx, &a, err);
    if (rc < 0)
        return rc;
    const json_t *r = vp_token_restrictions(t);
    const char *target = vp_restr_str(r, "target");
    json_t *datastores cleanup_json = s->inv->ops->datastores(s->inv->payload, target);
    json_t *networks cleanup_json = s->inv->ops->networks(s->inv->payload, target);
    long long allowed = vp_token_uses_allowed(t), consumed = vp_token_uses_consumed(t);
    long long max_vchs = vp_restr_int(r, "max_vchs");
    json_t *defaults = NULL;
    json_t *spec cleanup_json = NULL;
    if (sp_check_holder_spec(&spec, NULL, s->inv, r, NULL, NULL, NULL) == 0) {
        json_object_del(spec, "name");
        json_object_del(spec, "auth");
        defaults = json_incref(spec);
    } else {
        defaults = json_null();
    }
    *out = json_pack(
        "{s:s, s:s, s:o, s:I, s:I, s:O, s:{s:I, s:o, s:o}, s:{s:I, s:o}, s:{s:o, s:o, s:o}, "
        "s:o, s:s}",
        "jti", vp_token_jti(t), "sub", vp_token_sub(t), "parent",
        vp_token_parent(t) ? json_string(vp_token_parent(t)) : json_null(), "expires_at",
        (json_int_t)vp_token_exp(t), "expires_in", (json_int_t)(vp_token_exp(t) - now),
        "restrictions", r, "uses", "consumed", (json_int_t)consumed, "allowed",
        allowed < 0 ? json_null() : json_integer(allowed), "remaining",
        allowed < 0 ? json_null() : json_integer(allowed - consumed), "vchs", "count",
        (json_int_t)a.live, "max", max_vchs < 0 ? json_null() : json_integer(max_vchs), "choices",
        "image_datastores", allowed_names(datastores, r, "image_datastores"), "volume_datastores",
        allowed_names(datastores, r, "volume_datastores"), "networks",
        allowed_names(networks, r, "networks"), "defaults", defaults, "deployment",
        "VCHs are recorded as requested; deployment awaits the VCH lifecycle engine");
    return 0;
}
