/*
 * restrictions.h - the restriction object a delegation token carries, its canonical form, and
 * the narrowing rule of delegation.
 *
 * Canonical form (every member present; null means "no restriction"):
 *
 *   target              string   the one target the token may provision on ("local", a vCenter)
 *   compute             string|null  resource pool path prefix ("/dc/host/cluster/Resources/x")
 *   image_datastores    [string]|null  datastores allowed for image stores
 *   volume_datastores   [string]|null  datastores allowed for volume stores
 *   networks            [string]|null  networks (port groups) a VCH may use
 *   max_vchs            int|null  VCHs that may exist at once under the token and its children
 *   cpu_mhz             int|null  ceiling of a VCH's CPU limit
 *   memory_mb           int|null  ceiling of a VCH's memory limit (MiB)
 *   storage_gb          int|null  ceiling of a VCH's storage (GB)
 *   containers_per_vch  int|null  ceiling of the containers a VCH may run
 *   name_prefix         string   VCH names must start with it ("" allows any)
 *   tls_required        bool     the VCH must serve the Docker API over TLS
 *   uses                int|null  redemptions allowed, counting those of every descendant
 *   delegation_depth    int      how many more levels of children may be made (0: none)
 */
#ifndef VIC_VP_RESTRICTIONS_H
#define VIC_VP_RESTRICTIONS_H

#include <jansson.h>

#include "lib/err.h"

#define VP_MAX_DELEGATION_DEPTH 8

/*
 * Turns a requested restriction object into canonical form. For a root token (parent NULL)
 * absent members take the defaults (target "local", max_vchs 1, uses 1, tls_required true,
 * delegation_depth 0, everything else unrestricted). For a child, absent members are
 * inherited from parent (canonical) and present ones must narrow it: delegation_depth must be
 * below the parent's, uses at most the parent's remaining uses (parent_uses_left, or -1 when
 * the parent's uses are unlimited), every other member no wider.
 *
 * in may be NULL (all defaults or inherited). *out is a new reference.
 * Errors: VIC_EINVAL when a member is malformed or unknown (every problem, each with its
 * path "restrictions.x: ...", joined by "; "); VIC_EFORBIDDEN when the request widens the
 * parent, naming every widened member, e.g. "restrictions.memory_mb: 8192 exceeds the
 * parent's 4096".
 */
int vp_restrictions_normalize(json_t **out, const json_t *in, const json_t *parent,
                              long long parent_uses_left, vic_err **err);

/* Convenience readers of a canonical object: a ceiling (-1 when unrestricted), a string
 * (NULL when unrestricted), a list (NULL when unrestricted; borrowed) and whether name is in
 * an allowed list (1 when the list is unrestricted). */
long long vp_restr_int(const json_t *r, const char *key);
const char *vp_restr_str(const json_t *r, const char *key);
const json_t *vp_restr_list(const json_t *r, const char *key);
int vp_restr_allows(const json_t *r, const char *key, const char *name);

/* Whether path is prefix itself or lies under it ("/a/b" is under "/a", "/ab" is not). */
int vp_path_within(const char *path, const char *prefix);

#endif
