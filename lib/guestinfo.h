/*
 * guestinfo.h - VIC's extraConfig key codec: C structs <-> a VM's extraConfig key/value map.
 *
 * VIC (vmware/vic, pkg/vsphere/extraconfig) keeps VCH and container configuration in the VM's
 * extraConfig, naming each key after the struct field path and its scope. We keep that layout
 * so a VIC operator recognises it:
 *
 *   read-only   guestinfo.vice./common/name         "/" separators: the guest may not write
 *   read-write  guestinfo.vice..sessions|top.started "." separators: the guest may write
 *   hidden      common/notes                          no guestinfo prefix: invisible to the guest
 *
 * Keys are built like vic's calculateKey(): a field's key joins the parent key with the
 * field's separator, and a read-write field under a read-only parent rewrites the whole path to
 * "." (and the reverse for read-only under read-write). A hidden field under a visible parent
 * drops "guestinfo.vice." and the separator that follows it.
 *
 *   struct array  base key = count-1 ("2" for three elements), element i under "base|i"
 *   string array  base key = count-1, "base~" = the elements joined by "|"
 *   string map    base key = the sorted map keys joined by "|", entry k at "base|k"
 *   struct map    as a string map; entry k is a struct under "base|k"
 *   escaped list  an array item holding "|" (or bytes that are not UTF-8), or a map key holding
 *                 a byte a key name cannot carry, is written "%XX" per such byte ("%" itself
 *                 included), and its list ends with one extra "|": "sh|-c|echo a %7C tr a b|".
 *                 Lists with nothing to escape are written as vic writes them, and read
 *                 literally; old records (never marked) read back unchanged. guestinfo.c
 *                 ("list items") gives the rules and why no old record looks marked.
 *   secret        key suffix "@secret", value "vicgcm1:" + base64(nonce | AES-256-GCM | tag)
 *                 with the key name as associated data (a ciphertext cannot move to another key)
 *
 * Empty arrays and maps write no keys at all (as vic); a NULL string writes no key, "" writes
 * an empty value. Integers are decimal, booleans "true"/"false" (decode also takes vic's
 * strconv.ParseBool spellings: 1 t T TRUE True 0 f F FALSE False).
 *
 * Where vic's secret values are NaCl secretbox and the key sits in guestinfo.ovfEnv, ours are
 * AES-256-GCM and the key (vic_gi_key) is held by the caller; it is never written to the map.
 *
 * The extraConfig itself is a jansson object mapping each key to a string value.
 *
 * Describing a struct: a vic_gi_desc lists the struct's fields, each a vic_gi_field built with
 * the VIC_GI_* macros below. Member types per field type:
 *
 *   VIC_GI_STRING        char *                                  (NULL = absent)
 *   VIC_GI_INT64         int64_t
 *   VIC_GI_BOOL          bool
 *   VIC_GI_STRUCT        an embedded struct described by sub
 *   VIC_GI_STRING_ARRAY  char **items; size_t n;                 (items: any bytes but NUL)
 *   VIC_GI_STRUCT_ARRAY  T *items; size_t n;                     (T described by sub)
 *   VIC_GI_STRING_MAP    char **keys; char **values; size_t n;   (parallel arrays)
 *   VIC_GI_STRUCT_MAP    char **keys; T *values; size_t n;       (parallel arrays)
 *
 * Map keys are any non-empty strings of at most 256 bytes (NUL aside); decode returns maps
 * sorted by key. String values (string fields, string map values) are stored as they are and
 * must be UTF-8.
 */
#ifndef VIC_GUESTINFO_H
#define VIC_GUESTINFO_H

#include <jansson.h>
#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The visible prefix of every key the guest can see. */
#define VIC_GI_PREFIX "guestinfo.vice."

/* A running guest's NICs changed (a container connected to or disconnected from a network):
 * the host queues VIC_GI_RELOAD_SIGNAL to the guest's PID 1 from outside its pid namespace
 * (sigqueue: si_code SI_QUEUE, si_pid 0) with the VM's change version as the value. The
 * tether then configures its networks as guestinfo says and writes that version to
 * VIC_GI_NICS_APPLIED (read-write), so the host knows when the guest is done. */
#define VIC_GI_RELOAD_SIGNAL SIGHUP
#define VIC_GI_NICS_APPLIED  VIC_GI_PREFIX ".nics_applied"

/* Limits on decoded (outside) input. */
#define VIC_GI_MAX_ARRAY    4096         /* elements in one array or map */
#define VIC_GI_MAX_ELEMENTS 65536        /* array and map elements in one decode, all levels */
#define VIC_GI_MAX_VALUE    (256 * 1024) /* bytes in one value, after decryption */
#define VIC_GI_MAX_DEPTH    16           /* nesting of struct fields */
#define VIC_GI_MAX_MAP_KEY  256          /* bytes in one map key */

typedef enum vic_gi_type {
    VIC_GI_STRING,
    VIC_GI_INT64,
    VIC_GI_BOOL,
    VIC_GI_STRUCT,
    VIC_GI_STRING_ARRAY,
    VIC_GI_STRUCT_ARRAY,
    VIC_GI_STRING_MAP,
    VIC_GI_STRUCT_MAP,
} vic_gi_type;

typedef enum vic_gi_scope {
    VIC_GI_HIDDEN,   /* vic scope "hidden": no guestinfo prefix */
    VIC_GI_READONLY, /* vic scope "read-only": guestinfo.vice./a/b */
    VIC_GI_READWRITE /* vic scope "read-write": guestinfo.vice..a.b */
} vic_gi_scope;

/* Field flags. */
#define VIC_GI_SECRET   0x1u /* encrypt (leaf types, string arrays and string maps only) */
#define VIC_GI_REQUIRED 0x2u /* decode fails when the key is absent; encode when unset/empty */

struct vic_gi_desc;

typedef struct vic_gi_field {
    const char *key; /* the key segment, as in vic's `key:"..."` tag */
    vic_gi_type type;
    vic_gi_scope scope;
    unsigned flags;                /* VIC_GI_SECRET | VIC_GI_REQUIRED */
    size_t offset;                 /* the value, the items or the map values */
    const struct vic_gi_desc *sub; /* struct, struct array and struct map element type */
    size_t count_offset;           /* size_t count of arrays and maps */
    size_t keys_offset;            /* char ** keys of maps */
} vic_gi_field;

typedef struct vic_gi_desc {
    const char *name; /* for messages */
    size_t size;      /* sizeof the struct */
    const vic_gi_field *fields;
    size_t n_fields;
} vic_gi_desc;

/* Field builders: T is the struct type, m/items/keys/values/n its members. */
#define VIC_GI_FIELD_STRING(T, m, k, scope, flags)                                                 \
    {                                                                                              \
        (k), VIC_GI_STRING, (scope), (flags), offsetof(T, m), NULL, 0, 0                           \
    }
#define VIC_GI_FIELD_INT64(T, m, k, scope, flags)                                                  \
    {                                                                                              \
        (k), VIC_GI_INT64, (scope), (flags), offsetof(T, m), NULL, 0, 0                            \
    }
#define VIC_GI_FIELD_BOOL(T, m, k, scope, flags)                                                   \
    {                                                                                              \
        (k), VIC_GI_BOOL, (scope), (flags), offsetof(T, m), NULL, 0, 0                             \
    }
#define VIC_GI_FIELD_STRUCT(T, m, k, scope, flags, sub)                                            \
    {                                                                                              \
        (k), VIC_GI_STRUCT, (scope), (flags), offsetof(T, m), (sub), 0, 0                          \
    }
#define VIC_GI_FIELD_STRING_ARRAY(T, items, n, k, scope, flags)                                    \
    {                                                                                              \
        (k), VIC_GI_STRING_ARRAY, (scope), (flags), offsetof(T, items), NULL, offsetof(T, n), 0    \
    }
#define VIC_GI_FIELD_STRUCT_ARRAY(T, items, n, k, scope, flags, sub)                               \
    {                                                                                              \
        (k), VIC_GI_STRUCT_ARRAY, (scope), (flags), offsetof(T, items), (sub), offsetof(T, n), 0   \
    }
#define VIC_GI_FIELD_STRING_MAP(T, keys, values, n, k, scope, flags)                               \
    {                                                                                              \
        (k), VIC_GI_STRING_MAP, (scope), (flags), offsetof(T, values), NULL, offsetof(T, n),       \
            offsetof(T, keys)                                                                      \
    }
#define VIC_GI_FIELD_STRUCT_MAP(T, keys, values, n, k, scope, flags, sub)                          \
    {                                                                                              \
        (k), VIC_GI_STRUCT_MAP, (scope), (flags), offsetof(T, values), (sub), offsetof(T, n),      \
            offsetof(T, keys)                                                                      \
    }

#define VIC_GI_DESC(T, fields)                                                                     \
    {                                                                                              \
#T, sizeof(T), (fields), sizeof(fields) / sizeof((fields)[0])                              \
    }

/* The 256-bit key that encrypts secret fields. Opaque; free with vic_gi_key_free(). */
typedef struct vic_gi_key vic_gi_key;

/* A fresh random key; *out is owned by the caller. Never fails except on OOM (aborts), but
 * keeps the error convention. */
int vic_gi_key_new(vic_gi_key **out, vic_err **err);

/* Parses 64 hex digits (either case). *out is owned by the caller. Errors: VIC_EINVAL. */
int vic_gi_key_from_hex(vic_gi_key **out, const char *hex, vic_err **err);

/* The key as 64 lowercase hex digits; caller frees with vic_free_secret(). NULL for NULL. */
char *vic_gi_key_to_hex(const vic_gi_key *k);

/* Wipes and frees k; safe on NULL. */
void vic_gi_key_free(vic_gi_key *k);

/*
 * Encodes obj (described by d) into out_kv, adding or replacing one string value per key.
 * prefix is "" (or NULL) for top-level keys, or a key that vic would have produced for a
 * parent (e.g. "guestinfo.vice./sessions|top" or a hidden "executorconfig"). key is needed
 * only when d has secret fields. Nothing in out_kv is changed when an error is returned.
 * Errors: VIC_EINVAL for a value the scheme cannot carry (a string value that is not UTF-8, an
 * empty, over-long or repeated map key, a NULL item, a required field unset, a secret without
 * a key, a malformed prefix or description); VIC_ETOOBIG for a value over VIC_GI_MAX_VALUE.
 */
int vic_gi_encode(json_t *out_kv, const vic_gi_desc *d, const void *obj, const char *prefix,
                  const vic_gi_key *key, vic_err **err);

/*
 * Decodes the keys under prefix from kv into obj, which the caller has zeroed. Strings,
 * arrays and map entries are allocated; release them with vic_gi_free() (also after a failed
 * decode, which may leave obj partly filled). Keys of kv that the description does not name
 * are ignored. kv is outside input: every value is checked and bounded.
 * Errors (each message names the key): VIC_EINVAL for a malformed integer, boolean, count,
 * map key list or string array (a bad or non-canonical escape included), a non-string value, an
 * embedded NUL, or a missing required key; VIC_ETOOBIG for a value, array or total element count
 * over the limits; VIC_EAUTH for a secret that cannot be decrypted (no key, wrong key, tampered or
 * plaintext value).
 */
int vic_gi_decode(void *obj, const vic_gi_desc *d, const json_t *kv, const char *prefix,
                  const vic_gi_key *key, vic_err **err);

/*
 * The key under which vic_gi_encode writes the entry `key` of the map whose own key is map_key
 * ("guestinfo.vice./sessions", "id" -> "guestinfo.vice./sessions|id"): key is escaped as
 * described above (struct_map: also "." and "/"), so it is itself when it has nothing to
 * escape. Caller frees.
 */
char *vic_gi_map_entry_key(const char *map_key, const char *key, bool struct_map);

/* Frees everything decode allocated inside obj (not obj itself) and zeroes those members.
 * Also fine on a caller-built obj whose strings and arrays came from malloc. */
void vic_gi_free(const vic_gi_desc *d, void *obj);

/* 1 when a and b (both described by d) hold equal values, 0 otherwise. */
int vic_gi_equal(const vic_gi_desc *d, const void *a, const void *b);

/*
 * For the guest channel: 1 when the guest must not write key, 0 when it may. The guest may
 * write only visible read-write keys: "guestinfo.vice." followed by a path without "/", not a
 * secret ("@secret"), at most 1024 bytes of printable ASCII without space, quote, backslash or
 * "=". Everything else (hidden keys, read-only keys, other guestinfo keys, NULL) is read-only.
 */
int vic_gi_key_is_readonly(const char *key);

#endif
