/*
 * provision.h - redeeming a delegation token for a VCH: the spec checked against the token's
 * restrictions and the target's inventory, defaults filled inside the restrictions, a use
 * consumed and the request recorded, all in one transaction.
 *
 * The spec itself (its model, defaults and checks) is the VCH engine's (vch-wizard/spec.h);
 * this layer lays a token's restrictions on it as limits.
 *
 * Deployment itself belongs to the VCH lifecycle engine, which does not exist yet: a
 * redemption records the VCH in the `vchs` table in state "requested" and nothing more.
 */
#ifndef VIC_SP_PROVISION_H
#define VIC_SP_PROVISION_H

#include <jansson.h>

#include "lib/err.h"
#include "lib/store.h"
#include "self-provision/inventory.h"
#include "validating-proxy/token.h"

/* The table of VCH requests, for a migration of the service's database (after
 * VP_SCHEMA_SQL). Frozen once shipped. */
#define SP_SCHEMA_SQL                                                                              \
    "CREATE TABLE vchs ("                                                                          \
    "  id TEXT PRIMARY KEY,"                                                                       \
    "  name TEXT NOT NULL,"                                                                        \
    "  target TEXT NOT NULL,"                                                                      \
    "  spec TEXT NOT NULL,"                                                                        \
    "  created_by TEXT REFERENCES tokens(jti),"                                                    \
    "  state TEXT NOT NULL,"                                                                       \
    "  created INTEGER NOT NULL,"                                                                  \
    "  updated INTEGER NOT NULL);"                                                                 \
    "CREATE UNIQUE INDEX vchs_live_name ON vchs(target, name) WHERE state != 'deleted';"           \
    "CREATE INDEX vchs_created_by ON vchs(created_by);"

typedef struct sp sp;

/* A redemption service over store (holding SP_SCHEMA_SQL), the token service and an
 * inventory; all borrowed and must outlive it. */
sp *sp_new(vic_store *store, vp *tokens, const vch_spec_inventory *inv);
void sp_free(sp *s);

/*
 * Checks spec against the restrictions r (canonical) and the inventory, for target (NULL:
 * the token's). On success *out is the spec with every default filled in (new reference).
 * Otherwise every problem is reported at once, each "path: reason": *problems (new
 * reference, may be NULL to skip) lists them and err joins them. Errors: VIC_EINVAL when
 * the spec is malformed (any such problem), VIC_EFORBIDDEN when it is well-formed but
 * exceeds the restrictions ("compute.memory.limit: 8192 MB exceeds the token's ceiling of
 * 4096 MB").
 */
int sp_check_spec(json_t **out, json_t **problems, const vch_spec_inventory *inv, const json_t *r,
                  const json_t *spec, const char *target, vic_err **err);

/* sp_check_spec for a token holder's spec, which may name only datastores for its stores
 * (the server derives the folders from the VCH's id). */
int sp_check_holder_spec(json_t **out, json_t **problems, const vch_spec_inventory *inv,
                         const json_t *r, const json_t *spec, const char *target, vic_err **err);

/*
 * Redeems token t for the VCH spec: checks it (sp_check_spec), then in one transaction
 * checks max_vchs for the token and each ancestor, refuses a name in use on the target,
 * consumes a use of the token and its ancestors, records the VCH as "requested" and appends
 * the audit row. *out is {id, name, target, state}. Any refusal is recorded as a denial.
 * Errors: those of sp_check_spec; VIC_EFORBIDDEN when uses or max_vchs are exhausted;
 * VIC_ECONFLICT when the name is taken; VIC_EAUTH when the token was revoked meanwhile.
 */
int sp_redeem(json_t **out, json_t **problems, sp *s, const vp_token *t, const json_t *spec,
              const char *target, const vp_ctx *c, vic_err **err);

/* What t allows, for the self-provision page: restrictions, uses, VCH count, expiry and the
 * choices the inventory offers within them. *out is a new reference. */
int sp_limits(json_t **out, sp *s, const vp_token *t, time_t now, vic_err **err);

/* The VCHs created with t or its descendants (not deleted): [{id, name, target, state,
 * created, created_by, spec}]. */
int sp_list(json_t **out, sp *s, const vp_token *t, vic_err **err);

/* Deletes (withdraws) a VCH created with t or a descendant. Errors: VIC_ENOTFOUND when there
 * is no such VCH for this token (other tokens' VCHs are not revealed). */
int sp_delete(sp *s, const vp_token *t, const char *id, const vp_ctx *c, vic_err **err);

#endif
