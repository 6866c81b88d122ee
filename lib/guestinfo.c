#include "guestinfo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef VIC_GI_NO_SECRETS
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#endif

#include "cleanup.h"
#ifndef VIC_GI_NO_SECRETS
#include "crypto.h"
#endif
#include "mem.h"

#define GUESTINFO     "guestinfo."
#define SECRET_SUFFIX "@secret"
#define CIPHER_TAG    "vicgcm1:"
#define NONCE_LEN     12
#define GCM_TAG_LEN   16
#define KEY_LEN       32
#define MAX_GUEST_KEY 1024

struct vic_gi_key {
    unsigned char k[KEY_LEN];
};

/* ---- the secret key ---- */

int vic_gi_key_new(vic_gi_key **out, vic_err **err)
{
#ifdef VIC_GI_NO_SECRETS
    *out = NULL;
    return vic_err_set(err, VIC_EUNSUPPORTED, "guestinfo secrets are not built into this binary");
#else
    (void)err;
    vic_gi_key *k = xmalloc(sizeof(*k));
    vic_random_bytes(k->k, sizeof(k->k));
    *out = k;
    return 0;
#endif
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int vic_gi_key_from_hex(vic_gi_key **out, const char *hex, vic_err **err)
{
    *out = NULL;
    if (hex == NULL || strlen(hex) != KEY_LEN * 2)
        return vic_err_set(err, VIC_EINVAL, "a guestinfo key is %d hex digits", KEY_LEN * 2);
    vic_gi_key *k = xmalloc(sizeof(*k));
    for (size_t i = 0; i < KEY_LEN; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            vic_gi_key_free(k);
            return vic_err_set(err, VIC_EINVAL, "a guestinfo key is %d hex digits", KEY_LEN * 2);
        }
        k->k[i] = (unsigned char)(hi << 4 | lo);
    }
    *out = k;
    return 0;
}

char *vic_gi_key_to_hex(const vic_gi_key *k)
{
    if (k == NULL)
        return NULL;
    static const char digits[] = "0123456789abcdef";
    char *s = xmalloc(KEY_LEN * 2 + 1);
    for (size_t i = 0; i < KEY_LEN; i++) {
        s[2 * i] = digits[k->k[i] >> 4];
        s[2 * i + 1] = digits[k->k[i] & 0xf];
    }
    s[KEY_LEN * 2] = '\0';
    return s;
}

void vic_gi_key_free(vic_gi_key *k)
{
    if (k == NULL)
        return;
    explicit_bzero(k, sizeof(*k));
    free(k);
}

/* ---- key names (vic's calculateKey and appendToPrefix) ---- */

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* True when a "@..." suffix component of key is "secret" (vic's isSecret). */
static int key_is_secret(const char *key)
{
    const char *p = strchr(key, '@');
    while (p != NULL) {
        const char *next = strchr(p + 1, '@');
        size_t n = next ? (size_t)(next - p - 1) : strlen(p + 1);
        if (n == strlen("secret") && strncmp(p + 1, "secret", n) == 0)
            return 1;
        p = next;
    }
    return 0;
}

/*
 * The key of field segment `key` with the given scope under `prefix`, as vic builds it:
 * visible read-write keys use "." throughout, read-only ones "/", and hidden keys keep their
 * separators but lose the guestinfo prefix. Caller frees.
 */
static char *calc_key(vic_gi_scope scope, int secret, const char *prefix, const char *key)
{
    int hide = scope == VIC_GI_HIDDEN;
    int write = scope == VIC_GI_READWRITE;
    int visible = starts_with(prefix, GUESTINFO);
    char newsep = (!hide && write) ? '.' : '/';
    char oldsep = (!hide && write) ? '/' : '.';

    /* Any suffix of the parent ("@secret") is dropped; it is re-added only if it applies. */
    vic_buf b = VIC_BUF_INIT;
    size_t plen = strcspn(prefix, "@");
    if (plen > 0) {
        vic_buf_append(&b, prefix, plen);
        vic_buf_append(&b, &newsep, 1);
    }
    vic_buf_append(&b, key, strlen(key));
    if (secret)
        vic_buf_append(&b, SECRET_SUFFIX, strlen(SECRET_SUFFIX));
    char *out = vic_buf_steal(&b);

    if (hide) {
        if (!visible)
            return out;
        /* Strip "guestinfo.vice." and the read-only/read-write signifier after it. */
        char *h = xstrdup(out + strlen(VIC_GI_PREFIX) + 1);
        free(out);
        return h;
    }
    for (char *p = out; *p; p++)
        if (*p == oldsep)
            *p = newsep;
    if (!visible) {
        char *v = xasprintf("%s%c%s", VIC_GI_PREFIX, newsep, out);
        free(out);
        return v;
    }
    /* The separator rewrite also hit the dots of the prefix: put it back. */
    memcpy(out, VIC_GI_PREFIX, strlen(VIC_GI_PREFIX));
    return out;
}

/* prefix + sep + value, with any "@..." suffix of prefix moved to the end. Caller frees. */
static char *append_to_prefix(const char *prefix, const char *sep, const char *value)
{
    size_t plen = strcspn(prefix, "@");
    return xasprintf("%.*s%s%s%s", (int)plen, prefix, sep, value, prefix + plen);
}

static int check_prefix(const char *prefix, vic_err **err)
{
    for (const char *p = prefix; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '@')
            return vic_err_set(err, VIC_EINVAL,
                               "guestinfo prefix \"%s\" contains '@' or a control character",
                               prefix);
    if (starts_with(prefix, GUESTINFO)) {
        size_t n = strlen(VIC_GI_PREFIX);
        if (!starts_with(prefix, VIC_GI_PREFIX) || (prefix[n] != '.' && prefix[n] != '/') ||
            prefix[n + 1] == '\0')
            return vic_err_set(err, VIC_EINVAL,
                               "visible guestinfo prefix \"%s\" must be " VIC_GI_PREFIX
                               "/path or " VIC_GI_PREFIX ".path",
                               prefix);
    }
    return 0;
}

int vic_gi_key_is_readonly(const char *key)
{
    if (key == NULL || !starts_with(key, VIC_GI_PREFIX))
        return 1;
    size_t n = strlen(key);
    if (n <= strlen(VIC_GI_PREFIX) || n > MAX_GUEST_KEY)
        return 1;
    for (const char *p = key; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '=' || c == '/')
            return 1;
    }
    return key_is_secret(key);
}

/* ---- values: validation and encryption ---- */

/* The length (1 to 4) of the strict UTF-8 sequence at s (no overlong forms, surrogates or code
 * points above U+10FFFF), or 0 when s[0..n) does not start with one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t j = 1; j < len; j++) {
        if ((s[j] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[j] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static int utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0, len; i < n; i += len)
        if ((len = utf8_seq(s + i, n - i)) == 0)
            return 0;
    return 1;
}

/* Checks a decoded value: bounded, no NUL inside, valid UTF-8. */
static int check_value(const char *key, const char *v, size_t n, vic_err **err)
{
    if (n > VIC_GI_MAX_VALUE)
        return vic_err_set(err, VIC_ETOOBIG, "guestinfo key %s: value of %zu bytes is over %d", key,
                           n, VIC_GI_MAX_VALUE);
    if (memchr(v, '\0', n) != NULL)
        return vic_err_set(err, VIC_EINVAL, "guestinfo key %s: value contains a NUL byte", key);
    if (!utf8_valid((const unsigned char *)v, n))
        return vic_err_set(err, VIC_EINVAL, "guestinfo key %s: value is not valid UTF-8", key);
    return 0;
}

/* ---- list items: string array items and map keys ----
 *
 * vic joins a string array's items with '|' under "base~", lists a map's keys joined with '|'
 * under "base" and names a map's entry "base|key". So that any item can be carried, an item
 * holding '|' (or, in a map key, a byte a key name cannot hold) is written escaped: each such
 * byte becomes "%XX" (two upper-case hex digits), '%' itself included. A list written escaped
 * says so with one more, empty, item at its end (a trailing '|'):
 *
 *   argv ["sh", "-c", "echo a | tr a b"]   Args "2"  Args~ "sh|-c|echo a %7C tr a b|"
 *   argv ["sh", "-c", "date +%s"]          Args "2"  Args~ "sh|-c|date +%s"      (as vic)
 *   networks "bridge" and "my.net"         networks "bridge|my%2Enet|", networks|my%2Enet/ip
 *
 * Only a list with something to escape is marked (a '%' in an array item alone does not make
 * it so; a '%' in a map key does, so that an entry's key name depends on its key alone), and
 * an unmarked list is read literally. So every list without such bytes is written exactly as
 * vic (and VIC-C before this scheme) wrote it, and every record written before it reads back
 * unchanged, '%' and all. No old record can look marked:
 *   - string arrays: old encoders refused an item holding '|', so an old joined value of n
 *     items (n from the count key) held exactly n-1 '|' and split into n parts; the decoder
 *     refused any other number. A marked value splits into n+1 parts, the last one empty.
 *   - map key lists: old encoders and decoders refused an empty map key, so no old list ends
 *     with '|' (an empty last key).
 * An old decoder refuses a marked record ("holds n+1" items, an empty map key) rather than
 * misreading it.
 *
 * What is escaped, besides '%' and '|':
 *   array items  bytes that are not part of valid UTF-8 (a stored value is UTF-8 text)
 *   map keys     bytes outside printable ASCII, space, '"', '#', '=', '@' and '\' (a key name
 *                must be a valid .vmx key and one the guest may write; "@" starts vic's
 *                "@secret" suffix), and in struct maps '.' and '/' (the separators calc_key
 *                rewrites under the entry)
 * An entry's key name is "base|" + the escaped key, which is the key itself when it has
 * nothing to escape. Old records keep their key names: old encoders refused '|', '@', control
 * characters and (struct maps) '.' and '/' in map keys, and VIC-C's maps, sessions (hex ids)
 * and networks (Docker names, [a-zA-Z0-9][a-zA-Z0-9_.-]), never held another escaped byte.
 */

typedef enum item_kind { ITEM_ARRAY, ITEM_MAP_KEY, ITEM_STRUCT_MAP_KEY } item_kind;

static int must_escape(unsigned char c, item_kind kind)
{
    if (c == '%' || c == '|')
        return 1;
    if (kind == ITEM_ARRAY)
        return 0; /* bytes of invalid UTF-8: see escape_item */
    if (c <= ' ' || c >= 0x7f || c == '"' || c == '#' || c == '=' || c == '@' || c == '\\')
        return 1;
    return kind == ITEM_STRUCT_MAP_KEY && (c == '.' || c == '/');
}

/* Appends s, escaped as an item of kind, to b. Returns 1 when anything was escaped, 0 when the
 * escaped form is s itself. */
static int escape_item(vic_buf *b, const char *s, item_kind kind)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    int escaped = 0;
    for (size_t i = 0; i < n;) {
        size_t len = 1;
        int esc = must_escape(p[i], kind);
        if (!esc && p[i] >= 0x80 && (len = utf8_seq(p + i, n - i)) == 0) {
            esc = 1;
            len = 1;
        }
        if (esc) {
            char e[3] = {'%', hex[p[i] >> 4], hex[p[i] & 0xf]};
            escaped = 1;
            vic_buf_append(b, e, 3);
        } else {
            vic_buf_append(b, p + i, len);
        }
        i += len;
    }
    return escaped;
}

/* 1 when a string array holding s must be written escaped: s holds '|' or bytes that are not
 * UTF-8. A '%' alone does not make it so (an unmarked list is read literally). */
static int array_item_needs_escape(const char *s)
{
    return strchr(s, '|') != NULL || !utf8_valid((const unsigned char *)s, strlen(s));
}

/* Undoes escape_item: *out (caller frees) is s with every "%XX" replaced by its byte. -1 (and
 * *out NULL) for a '%' not followed by two hex digits, or an escaped NUL. */
static int unescape_item(const char *s, char **out)
{
    char *o = xmalloc(strlen(s) + 1), *w = o;
    for (const char *p = s; *p; p++) {
        if (*p != '%') {
            *w++ = *p;
            continue;
        }
        int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(o);
            *out = NULL;
            return -1;
        }
        *w++ = (char)(hi << 4 | lo);
        p += 2;
    }
    *w = '\0';
    *out = o;
    return 0;
}

/* 1 when written is the escaped form escape_item gives raw (one key name per key). */
static int escaped_as(const char *written, const char *raw, item_kind kind)
{
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    escape_item(&b, raw, kind);
    int same = strcmp(b.data, written) == 0;
    vic_buf_free(&b);
    return same;
}

char *vic_gi_map_entry_key(const char *map_key, const char *key, bool struct_map)
{
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    escape_item(&b, key ? key : "", struct_map ? ITEM_STRUCT_MAP_KEY : ITEM_MAP_KEY);
    char *out = append_to_prefix(map_key ? map_key : "", "|", b.data);
    vic_buf_free(&b);
    return out;
}

#ifdef VIC_GI_NO_SECRETS
/* Guest-side builds (the tether, the VM monitor) never hold the key and are linked without
 * OpenSSL: a secret field is refused with a clear error. */
static int encrypt_value(char **out, const vic_gi_key *k, const char *name, const char *plain,
                         vic_err **err)
{
    (void)out, (void)k, (void)plain;
    return vic_err_set(err, VIC_EUNSUPPORTED,
                       "guestinfo key %s is secret: not supported in "
                       "this binary",
                       name);
}

static int decrypt_value(char **out, const vic_gi_key *k, const char *name, const char *val,
                         vic_err **err)
{
    (void)out, (void)k, (void)val;
    return vic_err_set(err, VIC_EAUTH,
                       "guestinfo key %s is secret: not supported in this "
                       "binary",
                       name);
}
#else
/* "vicgcm1:" + base64(nonce | ciphertext | tag), authenticated with the key name. */
static int encrypt_value(char **out, const vic_gi_key *k, const char *name, const char *plain,
                         vic_err **err)
{
    size_t n = strlen(plain);
    if (n > VIC_GI_MAX_VALUE)
        return vic_err_set(err, VIC_ETOOBIG, "guestinfo key %s: value is over %d bytes", name,
                           VIC_GI_MAX_VALUE);
    unsigned char *blob = xmalloc(NONCE_LEN + n + GCM_TAG_LEN);
    vic_random_bytes(blob, NONCE_LEN);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok = ctx != NULL;
    ok = ok && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1;
    ok = ok && EVP_EncryptInit_ex(ctx, NULL, NULL, k->k, blob) == 1;
    ok = ok &&
         EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)name, (int)strlen(name)) == 1;
    ok = ok &&
         EVP_EncryptUpdate(ctx, blob + NONCE_LEN, &len, (const unsigned char *)plain, (int)n) == 1;
    ok = ok && EVP_EncryptFinal_ex(ctx, blob + NONCE_LEN + len, &len) == 1;
    ok = ok &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, blob + NONCE_LEN + n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        free(blob);
        char detail[256];
        ERR_error_string_n(ERR_get_error(), detail, sizeof(detail));
        ERR_clear_error();
        return vic_err_set(err, VIC_EINTERNAL, "encrypting guestinfo key %s: %s", name, detail);
    }
    cleanup_free char *b64 = vic_base64_encode(blob, NONCE_LEN + n + GCM_TAG_LEN);
    free(blob);
    *out = xasprintf(CIPHER_TAG "%s", b64);
    return 0;
}

static int decrypt_value(char **out, const vic_gi_key *k, const char *name, const char *val,
                         vic_err **err)
{
    if (k == NULL)
        return vic_err_set(err, VIC_EAUTH,
                           "guestinfo key %s is secret and no decryption key was given", name);
    if (!starts_with(val, CIPHER_TAG))
        return vic_err_set(err, VIC_EAUTH,
                           "guestinfo key %s is secret but its value is not encrypted", name);
    unsigned char *blob = NULL;
    size_t n = 0;
    if (vic_base64_decode(&blob, &n, val + strlen(CIPHER_TAG), NULL) < 0 ||
        n < NONCE_LEN + GCM_TAG_LEN) {
        free(blob);
        return vic_err_set(err, VIC_EAUTH, "guestinfo key %s: encrypted value is malformed", name);
    }
    size_t plen = n - NONCE_LEN - GCM_TAG_LEN;
    unsigned char *plain = xmalloc(plen + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok = ctx != NULL;
    ok = ok && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1;
    ok = ok && EVP_DecryptInit_ex(ctx, NULL, NULL, k->k, blob) == 1;
    ok = ok &&
         EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)name, (int)strlen(name)) == 1;
    ok = ok && EVP_DecryptUpdate(ctx, plain, &len, blob + NONCE_LEN, (int)plen) == 1;
    ok = ok &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, blob + NONCE_LEN + plen) == 1;
    /* The tag check: fails for a wrong key, a tampered value or a value moved between keys. */
    ok = ok && EVP_DecryptFinal_ex(ctx, plain + len, &len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    free(blob);
    ERR_clear_error();
    if (!ok) {
        explicit_bzero(plain, plen);
        free(plain);
        return vic_err_set(err, VIC_EAUTH,
                           "guestinfo key %s: cannot decrypt (wrong key or tampered value)", name);
    }
    plain[plen] = '\0';
    *out = (char *)plain;
    return 0;
}

#endif

/* ---- encode ---- */

typedef struct enc {
    json_t *kv; /* staging object, merged into the caller's on success */
    const vic_gi_key *key;
    vic_err **err;
} enc;

static int put(enc *e, const char *name, const char *value)
{
    char *stored = NULL;
    int rc;
    if (key_is_secret(name)) {
        if (e->key == NULL)
            return vic_err_set(e->err, VIC_EINVAL,
                               "guestinfo key %s is secret and no encryption key was given", name);
        if ((rc = encrypt_value(&stored, e->key, name, value, e->err)) < 0)
            return rc;
        value = stored;
    }
    size_t n = strlen(value);
    if (n > VIC_GI_MAX_VALUE) {
        vic_free_secret(stored);
        return vic_err_set(e->err, VIC_ETOOBIG, "guestinfo key %s: value of %zu bytes is over %d",
                           name, n, VIC_GI_MAX_VALUE);
    }
    json_t *j = json_stringn(value, n);
    vic_free_secret(stored);
    if (j == NULL)
        return vic_err_set(e->err, VIC_EINVAL, "guestinfo key %s: value is not valid UTF-8", name);
    if (json_object_set_new(e->kv, name, j) != 0)
        return vic_err_set(e->err, VIC_EINVAL, "guestinfo key %s is not valid UTF-8", name);
    return 0;
}

static int check_field(const vic_gi_desc *d, const vic_gi_field *f, vic_err **err)
{
    int is_struct =
        f->type == VIC_GI_STRUCT || f->type == VIC_GI_STRUCT_ARRAY || f->type == VIC_GI_STRUCT_MAP;
    if (f->key == NULL || f->key[0] == '\0' || strpbrk(f->key, "@|~") != NULL)
        return vic_err_set(err, VIC_EINTERNAL,
                           "guestinfo description %s: field key \"%s\" is empty or contains @ | ~",
                           d->name, f->key ? f->key : "");
    /* A descriptor key may not pose as a visible key path (calc_key relies on that). */
    if (starts_with(f->key, GUESTINFO))
        return vic_err_set(err, VIC_EINTERNAL,
                           "guestinfo description %s: field key \"%s\" starts with " GUESTINFO,
                           d->name, f->key);
    if (is_struct && f->sub == NULL)
        return vic_err_set(err, VIC_EINTERNAL, "guestinfo description %s: field %s has no sub",
                           d->name, f->key);
    if ((f->flags & VIC_GI_SECRET) && is_struct)
        return vic_err_set(err, VIC_EINTERNAL,
                           "guestinfo description %s: field %s: secret applies to values, not to "
                           "structs (mark their fields)",
                           d->name, f->key);
    if ((unsigned)f->type > VIC_GI_STRUCT_MAP || (unsigned)f->scope > VIC_GI_READWRITE)
        return vic_err_set(err, VIC_EINTERNAL,
                           "guestinfo description %s: field %s: bad type or scope", d->name,
                           f->key);
    return 0;
}

/* A map key as an unmarked (literal) list may hold it: the rule of the encoders before the
 * escaped form existed, so a key an old record holds passes, and one that would have to be
 * escaped to keep its entry's key name well formed does not. */
static int valid_map_key(const char *k, int struct_map)
{
    size_t n = strlen(k);
    if (n == 0 || n > VIC_GI_MAX_MAP_KEY)
        return 0;
    for (const char *p = k; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == '|' || c == '@')
            return 0;
        if (struct_map && (c == '/' || c == '.'))
            return 0;
    }
    return 1;
}

#define MEMBER(obj, off, T)  ((T *)((char *)(obj) + (off)))
#define CMEMBER(obj, off, T) ((T const *)((const char *)(obj) + (off)))

static int enc_struct(enc *e, const vic_gi_desc *d, const void *obj, const char *prefix, int depth);

static int cmp_keys_r(const void *a, const void *b, void *keys)
{
    char *const *k = keys;
    return strcmp(k[*(const size_t *)a], k[*(const size_t *)b]);
}

static int enc_map(enc *e, const vic_gi_field *f, const void *obj, const char *name, int depth)
{
    size_t n = *CMEMBER(obj, f->count_offset, size_t);
    char *const *keys = *CMEMBER(obj, f->keys_offset, char **);
    int struct_map = f->type == VIC_GI_STRUCT_MAP;
    item_kind kind = struct_map ? ITEM_STRUCT_MAP_KEY : ITEM_MAP_KEY;
    if (n == 0)
        return 0;
    if (n > VIC_GI_MAX_ARRAY)
        return vic_err_set(e->err, VIC_ETOOBIG, "guestinfo key %s: map of %zu entries is over %d",
                           name, n, VIC_GI_MAX_ARRAY);
    if (*CMEMBER(obj, f->offset, void *) == NULL)
        return vic_err_set(e->err, VIC_EINVAL, "guestinfo key %s: %zu map entries but no values",
                           name, n);
    for (size_t i = 0; i < n; i++)
        if (keys == NULL || keys[i] == NULL || keys[i][0] == '\0' ||
            strlen(keys[i]) > VIC_GI_MAX_MAP_KEY)
            return vic_err_set(e->err, VIC_EINVAL,
                               "guestinfo key %s: map key %zu is %s (keys are 1 to %d bytes)", name,
                               i, keys && keys[i] ? (keys[i][0] ? "too long" : "empty") : "NULL",
                               VIC_GI_MAX_MAP_KEY);
    cleanup_free size_t *order = xcalloc(n, sizeof(*order));
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof(*order), cmp_keys_r, (void *)keys);
    vic_buf list = VIC_BUF_INIT;
    int rc = 0, marked = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *k = keys[order[i]];
        if (i > 0 && strcmp(k, keys[order[i - 1]]) == 0) {
            rc = vic_err_set(e->err, VIC_EINVAL,
                             "guestinfo key %s: map key \"%.80s\" appears twice", name, k);
            break;
        }
        if (i > 0)
            vic_buf_append(&list, "|", 1);
        size_t at = list.len;
        marked |= escape_item(&list, k, kind);
        cleanup_free char *written = xstrndup(list.data + at, list.len - at);
        cleanup_free char *entry = append_to_prefix(name, "|", written);
        if (struct_map) {
            const char *vals = *CMEMBER(obj, f->offset, char *);
            rc = enc_struct(e, f->sub, vals + order[i] * f->sub->size, entry, depth + 1);
        } else {
            char *const *vals = *CMEMBER(obj, f->offset, char **);
            if (vals == NULL || vals[order[i]] == NULL)
                rc = vic_err_set(e->err, VIC_EINVAL,
                                 "guestinfo key %s: map entry \"%s\" has no value", name, written);
            else
                rc = put(e, entry, vals[order[i]]);
        }
    }
    if (marked)
        vic_buf_append(&list, "|", 1);
    if (rc == 0)
        rc = put(e, name, list.data ? list.data : "");
    vic_buf_free(&list);
    return rc;
}

static int enc_field(enc *e, const vic_gi_desc *d, const vic_gi_field *f, const void *obj,
                     const char *prefix, int depth)
{
    int rc;
    if ((rc = check_field(d, f, e->err)) < 0)
        return rc;
    cleanup_free char *name = calc_key(f->scope, (f->flags & VIC_GI_SECRET) != 0, prefix, f->key);
    int required = (f->flags & VIC_GI_REQUIRED) != 0;

    switch (f->type) {
    case VIC_GI_STRING: {
        const char *s = *CMEMBER(obj, f->offset, char *);
        if (s == NULL)
            return required ? vic_err_set(e->err, VIC_EINVAL,
                                          "guestinfo key %s: required value is not set", name)
                            : 0;
        return put(e, name, s);
    }
    case VIC_GI_INT64: {
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRId64, *CMEMBER(obj, f->offset, int64_t));
        return put(e, name, buf);
    }
    case VIC_GI_BOOL:
        return put(e, name, *CMEMBER(obj, f->offset, bool) ? "true" : "false");
    case VIC_GI_STRUCT:
        return enc_struct(e, f->sub, CMEMBER(obj, f->offset, char), name, depth + 1);
    case VIC_GI_STRING_ARRAY:
    case VIC_GI_STRUCT_ARRAY: {
        size_t n = *CMEMBER(obj, f->count_offset, size_t);
        if (n == 0)
            return required ? vic_err_set(e->err, VIC_EINVAL,
                                          "guestinfo key %s: required array is empty", name)
                            : 0;
        if (n > VIC_GI_MAX_ARRAY)
            return vic_err_set(e->err, VIC_ETOOBIG,
                               "guestinfo key %s: array of %zu items is over %d", name, n,
                               VIC_GI_MAX_ARRAY);
        if (*CMEMBER(obj, f->offset, void *) == NULL)
            return vic_err_set(e->err, VIC_EINVAL, "guestinfo key %s: %zu items but no array", name,
                               n);
        if (f->type == VIC_GI_STRUCT_ARRAY) {
            const char *items = *CMEMBER(obj, f->offset, char *);
            for (size_t i = 0; i < n; i++) {
                char idx[32];
                snprintf(idx, sizeof(idx), "%zu", i);
                cleanup_free char *elem = append_to_prefix(name, "|", idx);
                if ((rc = enc_struct(e, f->sub, items + i * f->sub->size, elem, depth + 1)) < 0)
                    return rc;
            }
        } else {
            char *const *items = *CMEMBER(obj, f->offset, char **);
            int marked = 0;
            for (size_t i = 0; i < n; i++) {
                if (items[i] == NULL)
                    return vic_err_set(e->err, VIC_EINVAL, "guestinfo key %s: item %zu is NULL",
                                       name, i);
                marked |= array_item_needs_escape(items[i]);
            }
            vic_buf joined = VIC_BUF_INIT;
            for (size_t i = 0; i < n; i++) {
                if (i > 0)
                    vic_buf_append(&joined, "|", 1);
                if (marked)
                    escape_item(&joined, items[i], ITEM_ARRAY);
                else
                    vic_buf_append(&joined, items[i], strlen(items[i]));
            }
            if (marked) /* the list is escaped: see "list items" above */
                vic_buf_append(&joined, "|", 1);
            cleanup_free char *tilde = append_to_prefix(name, "", "~");
            rc = put(e, tilde, joined.data ? joined.data : "");
            if ((f->flags & VIC_GI_SECRET) && joined.data)
                explicit_bzero(joined.data, joined.len);
            vic_buf_free(&joined);
            if (rc < 0)
                return rc;
        }
        char count[32];
        snprintf(count, sizeof(count), "%zu", n - 1);
        return put(e, name, count);
    }
    case VIC_GI_STRING_MAP:
    case VIC_GI_STRUCT_MAP:
        if (*CMEMBER(obj, f->count_offset, size_t) == 0 && required)
            return vic_err_set(e->err, VIC_EINVAL, "guestinfo key %s: required map is empty", name);
        return enc_map(e, f, obj, name, depth);
    }
    return vic_err_set(e->err, VIC_EINTERNAL, "guestinfo key %s: unknown field type", name);
}

static int enc_struct(enc *e, const vic_gi_desc *d, const void *obj, const char *prefix, int depth)
{
    if (depth > VIC_GI_MAX_DEPTH)
        return vic_err_set(e->err, VIC_EINVAL, "guestinfo key %s: nested deeper than %d", prefix,
                           VIC_GI_MAX_DEPTH);
    for (size_t i = 0; i < d->n_fields; i++) {
        int rc = enc_field(e, d, &d->fields[i], obj, prefix, depth);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int vic_gi_encode(json_t *out_kv, const vic_gi_desc *d, const void *obj, const char *prefix,
                  const vic_gi_key *key, vic_err **err)
{
    if (!json_is_object(out_kv) || d == NULL || obj == NULL)
        return vic_err_set(err, VIC_EINVAL,
                           "guestinfo encode needs an object, a description and a value");
    if (prefix == NULL)
        prefix = "";
    int rc = check_prefix(prefix, err);
    if (rc < 0)
        return rc;
    cleanup_json json_t *staging = json_object();
    enc e = {.kv = staging, .key = key, .err = err};
    if ((rc = enc_struct(&e, d, obj, prefix, 0)) < 0)
        return rc;
    if (json_object_update(out_kv, staging) != 0)
        return vic_err_set(err, VIC_EINTERNAL, "guestinfo encode: merging keys failed");
    return 0;
}

/* ---- decode ---- */

typedef struct dec {
    const json_t *kv;
    const vic_gi_key *key;
    size_t elements; /* array and map elements allocated so far */
    vic_err **err;
} dec;

/* 1 with *out (caller frees with vic_free_secret) when name is present, 0 when absent. */
static int get(dec *c, const char *name, char **out)
{
    *out = NULL;
    json_t *v = json_object_get(c->kv, name);
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return vic_err_set(c->err, VIC_EINVAL, "guestinfo key %s: value is not a string", name);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    int rc = check_value(name, s, n, c->err);
    if (rc < 0)
        return rc;
    if (!key_is_secret(name)) {
        *out = xstrndup(s, n);
        return 1;
    }
    char *plain = NULL;
    if ((rc = decrypt_value(&plain, c->key, name, s, c->err)) < 0)
        return rc;
    if (plain == NULL)
        return vic_err_set(c->err, VIC_EINTERNAL, "guestinfo key %s: nothing decrypted", name);
    if ((rc = check_value(name, plain, strlen(plain), c->err)) < 0) {
        vic_free_secret(plain);
        return rc;
    }
    *out = plain;
    return 1;
}

/* Strict decimal: optional sign, digits, no spaces; "" is 0 (as vic). */
static int parse_int64(const char *name, const char *s, int64_t *out, vic_err **err)
{
    *out = 0;
    if (*s == '\0')
        return 0;
    const char *p = s;
    int neg = 0;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (*p == '\0')
        goto bad;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            return vic_err_set(err, VIC_EINVAL,
                               "guestinfo key %s: integer \"%.40s\" is out of range", name, s);
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
bad:
    return vic_err_set(err, VIC_EINVAL, "guestinfo key %s: \"%.40s\" is not an integer", name, s);
}

static int parse_bool(const char *name, const char *s, bool *out, vic_err **err)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"", "0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (strcmp(s, yes[i]) == 0)
            return *out = true, 0;
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (strcmp(s, no[i]) == 0)
            return *out = false, 0;
    return vic_err_set(err, VIC_EINVAL, "guestinfo key %s: \"%.40s\" is not a boolean", name, s);
}

/* Reserves n elements of the decode budget. */
static int take_elements(dec *c, const char *name, size_t n)
{
    if (n > VIC_GI_MAX_ARRAY)
        return vic_err_set(c->err, VIC_ETOOBIG,
                           "guestinfo key %s: %zu items is over the limit of %d", name, n,
                           VIC_GI_MAX_ARRAY);
    if (n > VIC_GI_MAX_ELEMENTS - c->elements)
        return vic_err_set(c->err, VIC_ETOOBIG,
                           "guestinfo key %s: more than %d array and map items in total", name,
                           VIC_GI_MAX_ELEMENTS);
    c->elements += n;
    return 0;
}

/* The element count of an array from its base key (count-1; absent or "" means none). */
static int get_count(dec *c, const char *name, int required, size_t *out)
{
    *out = 0;
    cleanup_free char *v = NULL;
    int rc = get(c, name, &v);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return required ? vic_err_set(c->err, VIC_EINVAL,
                                      "guestinfo key %s is required but missing", name)
                        : 0;
    int64_t last = 0;
    if ((rc = parse_int64(name, v, &last, c->err)) < 0)
        return rc;
    if (v[0] == '\0' || last == -1)
        return 0;
    if (last < -1)
        return vic_err_set(c->err, VIC_EINVAL,
                           "guestinfo key %s: array count %" PRId64 " is negative", name, last + 1);
    if (last >= VIC_GI_MAX_ARRAY)
        return vic_err_set(c->err, VIC_ETOOBIG,
                           "guestinfo key %s: array of %" PRId64 " items is over the limit of %d",
                           name, last + 1, VIC_GI_MAX_ARRAY);
    *out = (size_t)last + 1;
    return take_elements(c, name, *out);
}

/* Splits s at '|' into a new array of n strings (n >= 1). */
static char **split_bars(const char *s, size_t *n)
{
    size_t count = 1;
    for (const char *p = s; *p; p++)
        count += *p == '|';
    char **parts = xcalloc(count, sizeof(*parts));
    for (size_t i = 0; i < count; i++) {
        size_t len = strcspn(s, "|");
        parts[i] = xstrndup(s, len);
        s += len + (s[len] == '|');
    }
    *n = count;
    return parts;
}

static void free_strv(char **v, size_t n, int secret)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        secret ? vic_free_secret(v[i]) : free(v[i]);
    free(v);
}

static int dec_struct(dec *c, const vic_gi_desc *d, void *obj, const char *prefix, int depth);

/* Frees a map's decoded key lists. */
static void free_map_keys(char **raw, char **written, size_t n)
{
    free_strv(raw, raw ? n : 0, 0);
    free_strv(written, written ? n : 0, 0);
}

/*
 * Reads a map's key list (see "list items"): *raw the keys, sorted, *written the form each
 * has in key names, in the same order. Checks every key; *n is 0 for an empty list.
 */
static int dec_map_keys(dec *c, const char *name, const char *list, int struct_map, char ***raw,
                        char ***written, size_t *n)
{
    item_kind kind = struct_map ? ITEM_STRUCT_MAP_KEY : ITEM_MAP_KEY;
    size_t n_parts = 0;
    char **parts = split_bars(list, &n_parts);
    int marked = n_parts >= 2 && parts[n_parts - 1][0] == '\0';
    size_t count = marked ? n_parts - 1 : n_parts;
    int rc;
    if ((rc = take_elements(c, name, count)) < 0) {
        free_strv(parts, n_parts, 0);
        return rc;
    }
    if (marked) {
        free(parts[count]);
        parts[count] = NULL;
    }
    char **keys = xcalloc(count, sizeof(*keys));
    const char *bad = NULL;
    for (size_t i = 0; i < count && bad == NULL; i++) {
        if (!marked) {
            keys[i] = xstrdup(parts[i]);
            if (!valid_map_key(keys[i], struct_map))
                bad = parts[i];
        } else if (unescape_item(parts[i], &keys[i]) < 0 || keys[i][0] == '\0' ||
                   strlen(keys[i]) > VIC_GI_MAX_MAP_KEY || !escaped_as(parts[i], keys[i], kind)) {
            bad = parts[i];
        }
    }
    /* sorted by key, the written forms alongside */
    cleanup_free size_t *order = xcalloc(count ? count : 1, sizeof(*order));
    for (size_t i = 0; i < count && bad == NULL; i++)
        order[i] = i;
    if (bad == NULL)
        qsort_r(order, count, sizeof(*order), cmp_keys_r, keys);
    for (size_t i = 1; i < count && bad == NULL; i++)
        if (strcmp(keys[order[i]], keys[order[i - 1]]) == 0)
            bad = parts[order[i]];
    if (bad != NULL) {
        rc = vic_err_set(c->err, VIC_EINVAL,
                         "guestinfo key %s: map key \"%.80s\" is empty, repeated, too long, "
                         "badly escaped or contains a forbidden character",
                         name, bad);
        free_map_keys(keys, parts, count);
        return rc;
    }
    *raw = xcalloc(count, sizeof(char *));
    *written = xcalloc(count, sizeof(char *));
    for (size_t i = 0; i < count; i++) {
        (*raw)[i] = keys[order[i]];
        (*written)[i] = parts[order[i]];
    }
    free(keys);
    free(parts);
    *n = count;
    return 0;
}

static int dec_map(dec *c, const vic_gi_field *f, void *obj, const char *name, int depth)
{
    int struct_map = f->type == VIC_GI_STRUCT_MAP;
    cleanup_free char *list = NULL;
    int rc = get(c, name, &list);
    if (rc < 0)
        return rc;
    if (rc == 0 && (f->flags & VIC_GI_REQUIRED))
        return vic_err_set(c->err, VIC_EINVAL, "guestinfo key %s is required but missing", name);
    if (rc == 0 || list[0] == '\0')
        return 0;

    size_t n = 0;
    char **keys = NULL, **written = NULL;
    if ((rc = dec_map_keys(c, name, list, struct_map, &keys, &written, &n)) < 0)
        return rc;

    /* Publish the arrays before filling them so that vic_gi_free can clean up after an
     * error half way. */
    *MEMBER(obj, f->keys_offset, char **) = keys;
    *MEMBER(obj, f->count_offset, size_t) = n;
    if (struct_map) {
        char *vals = xcalloc(n, f->sub->size);
        *MEMBER(obj, f->offset, char *) = vals;
        for (size_t i = 0; i < n && rc == 0; i++) {
            cleanup_free char *entry = append_to_prefix(name, "|", written[i]);
            rc = dec_struct(c, f->sub, vals + i * f->sub->size, entry, depth + 1);
        }
        free_strv(written, n, 0);
        return rc;
    }
    char **vals = xcalloc(n, sizeof(*vals));
    *MEMBER(obj, f->offset, char **) = vals;
    /* An entry listed without a value is dropped, as vic does. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *entry = append_to_prefix(name, "|", written[i]);
        char *v = NULL;
        if ((rc = get(c, entry, &v)) < 0) {
            free_strv(written, n, 0);
            return rc;
        }
        if (rc == 0) {
            free(keys[i]);
            keys[i] = NULL;
            continue;
        }
        keys[kept] = keys[i];
        if (kept != i)
            keys[i] = NULL;
        vals[kept++] = v;
    }
    free_strv(written, n, 0);
    *MEMBER(obj, f->count_offset, size_t) = kept;
    if (kept == 0) {
        free(keys);
        free(vals);
        *MEMBER(obj, f->keys_offset, char **) = NULL;
        *MEMBER(obj, f->offset, char **) = NULL;
    }
    return 0;
}

static int dec_field(dec *c, const vic_gi_desc *d, const vic_gi_field *f, void *obj,
                     const char *prefix, int depth)
{
    int rc;
    if ((rc = check_field(d, f, c->err)) < 0)
        return rc;
    cleanup_free char *name = calc_key(f->scope, (f->flags & VIC_GI_SECRET) != 0, prefix, f->key);
    int required = (f->flags & VIC_GI_REQUIRED) != 0;

    switch (f->type) {
    case VIC_GI_STRING:
    case VIC_GI_INT64:
    case VIC_GI_BOOL: {
        char *v = NULL;
        if ((rc = get(c, name, &v)) < 0)
            return rc;
        if (rc == 0)
            return required ? vic_err_set(c->err, VIC_EINVAL,
                                          "guestinfo key %s is required but missing", name)
                            : 0;
        if (f->type == VIC_GI_STRING) {
            *MEMBER(obj, f->offset, char *) = v;
            return 0;
        }
        rc = f->type == VIC_GI_INT64 ? parse_int64(name, v, MEMBER(obj, f->offset, int64_t), c->err)
                                     : parse_bool(name, v, MEMBER(obj, f->offset, bool), c->err);
        vic_free_secret(v);
        return rc;
    }
    case VIC_GI_STRUCT:
        return dec_struct(c, f->sub, MEMBER(obj, f->offset, char), name, depth + 1);
    case VIC_GI_STRUCT_ARRAY: {
        size_t n = 0;
        if ((rc = get_count(c, name, required, &n)) < 0 || n == 0)
            return rc;
        char *items = xcalloc(n, f->sub->size);
        *MEMBER(obj, f->offset, char *) = items;
        *MEMBER(obj, f->count_offset, size_t) = n;
        for (size_t i = 0; i < n; i++) {
            char idx[32];
            snprintf(idx, sizeof(idx), "%zu", i);
            cleanup_free char *elem = append_to_prefix(name, "|", idx);
            if ((rc = dec_struct(c, f->sub, items + i * f->sub->size, elem, depth + 1)) < 0)
                return rc;
        }
        return 0;
    }
    case VIC_GI_STRING_ARRAY: {
        size_t n = 0;
        if ((rc = get_count(c, name, required, &n)) < 0 || n == 0)
            return rc;
        cleanup_free char *tilde = append_to_prefix(name, "", "~");
        char *joined = NULL;
        if ((rc = get(c, tilde, &joined)) < 0)
            return rc;
        if (rc == 0)
            return vic_err_set(c->err, VIC_EINVAL,
                               "guestinfo key %s says %zu items but %s is missing", name, n, tilde);
        size_t got = 0;
        char **items = split_bars(joined, &got);
        vic_free_secret(joined);
        int secret = (f->flags & VIC_GI_SECRET) != 0;
        if (got == n + 1 && items[n][0] == '\0') {
            /* an escaped list: see "list items" */
            free(items[n]);
            items[n] = NULL;
            for (size_t i = 0; i < n; i++) {
                char *raw = NULL;
                if (unescape_item(items[i], &raw) < 0) {
                    free_strv(items, got, secret);
                    return vic_err_set(c->err, VIC_EINVAL,
                                       "guestinfo key %s: item %zu has a bad escape (%%XX, "
                                       "not %%00)",
                                       tilde, i);
                }
                secret ? vic_free_secret(items[i]) : free(items[i]);
                items[i] = raw;
            }
        } else if (got != n) {
            free_strv(items, got, secret);
            return vic_err_set(c->err, VIC_EINVAL,
                               "guestinfo key %s says %zu items but %s holds %zu", name, n, tilde,
                               got);
        }
        *MEMBER(obj, f->offset, char **) = items;
        *MEMBER(obj, f->count_offset, size_t) = n;
        return 0;
    }
    case VIC_GI_STRING_MAP:
    case VIC_GI_STRUCT_MAP:
        return dec_map(c, f, obj, name, depth);
    }
    return vic_err_set(c->err, VIC_EINTERNAL, "guestinfo key %s: unknown field type", name);
}

static int dec_struct(dec *c, const vic_gi_desc *d, void *obj, const char *prefix, int depth)
{
    if (depth > VIC_GI_MAX_DEPTH)
        return vic_err_set(c->err, VIC_EINVAL, "guestinfo key %s: nested deeper than %d", prefix,
                           VIC_GI_MAX_DEPTH);
    for (size_t i = 0; i < d->n_fields; i++) {
        int rc = dec_field(c, d, &d->fields[i], obj, prefix, depth);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int vic_gi_decode(void *obj, const vic_gi_desc *d, const json_t *kv, const char *prefix,
                  const vic_gi_key *key, vic_err **err)
{
    if (obj == NULL || d == NULL || !json_is_object(kv))
        return vic_err_set(err, VIC_EINVAL,
                           "guestinfo decode needs a value, a description and an object");
    if (prefix == NULL)
        prefix = "";
    int rc = check_prefix(prefix, err);
    if (rc < 0)
        return rc;
    dec c = {.kv = kv, .key = key, .elements = 0, .err = err};
    return dec_struct(&c, d, obj, prefix, 0);
}

/* ---- free and compare ---- */

void vic_gi_free(const vic_gi_desc *d, void *obj)
{
    if (d == NULL || obj == NULL)
        return;
    for (size_t i = 0; i < d->n_fields; i++) {
        const vic_gi_field *f = &d->fields[i];
        int secret = (f->flags & VIC_GI_SECRET) != 0;
        switch (f->type) {
        case VIC_GI_STRING: {
            char **s = MEMBER(obj, f->offset, char *);
            secret ? vic_free_secret(*s) : free(*s);
            *s = NULL;
            break;
        }
        case VIC_GI_INT64:
        case VIC_GI_BOOL:
            break;
        case VIC_GI_STRUCT:
            vic_gi_free(f->sub, MEMBER(obj, f->offset, char));
            break;
        case VIC_GI_STRING_ARRAY:
        case VIC_GI_STRUCT_ARRAY: {
            size_t *n = MEMBER(obj, f->count_offset, size_t);
            if (f->type == VIC_GI_STRING_ARRAY) {
                char ***items = MEMBER(obj, f->offset, char **);
                free_strv(*items, *items ? *n : 0, secret);
                *items = NULL;
            } else {
                char **items = MEMBER(obj, f->offset, char *);
                for (size_t j = 0; *items && j < *n; j++)
                    vic_gi_free(f->sub, *items + j * f->sub->size);
                free(*items);
                *items = NULL;
            }
            *n = 0;
            break;
        }
        case VIC_GI_STRING_MAP:
        case VIC_GI_STRUCT_MAP: {
            size_t *n = MEMBER(obj, f->count_offset, size_t);
            char ***keys = MEMBER(obj, f->keys_offset, char **);
            free_strv(*keys, *keys ? *n : 0, 0);
            *keys = NULL;
            if (f->type == VIC_GI_STRING_MAP) {
                char ***vals = MEMBER(obj, f->offset, char **);
                free_strv(*vals, *vals ? *n : 0, secret);
                *vals = NULL;
            } else {
                char **vals = MEMBER(obj, f->offset, char *);
                for (size_t j = 0; *vals && j < *n; j++)
                    vic_gi_free(f->sub, *vals + j * f->sub->size);
                free(*vals);
                *vals = NULL;
            }
            *n = 0;
            break;
        }
        }
    }
}

static int str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int strv_eq(char *const *a, char *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!str_eq(a ? a[i] : NULL, b ? b[i] : NULL))
            return 0;
    return 1;
}

int vic_gi_equal(const vic_gi_desc *d, const void *a, const void *b)
{
    for (size_t i = 0; i < d->n_fields; i++) {
        const vic_gi_field *f = &d->fields[i];
        switch (f->type) {
        case VIC_GI_STRING:
            if (!str_eq(*CMEMBER(a, f->offset, char *), *CMEMBER(b, f->offset, char *)))
                return 0;
            break;
        case VIC_GI_INT64:
            if (*CMEMBER(a, f->offset, int64_t) != *CMEMBER(b, f->offset, int64_t))
                return 0;
            break;
        case VIC_GI_BOOL:
            if (*CMEMBER(a, f->offset, bool) != *CMEMBER(b, f->offset, bool))
                return 0;
            break;
        case VIC_GI_STRUCT:
            if (!vic_gi_equal(f->sub, CMEMBER(a, f->offset, char), CMEMBER(b, f->offset, char)))
                return 0;
            break;
        default: {
            size_t n = *CMEMBER(a, f->count_offset, size_t);
            if (n != *CMEMBER(b, f->count_offset, size_t))
                return 0;
            if (f->type == VIC_GI_STRING_MAP || f->type == VIC_GI_STRUCT_MAP)
                if (!strv_eq(*CMEMBER(a, f->keys_offset, char **),
                             *CMEMBER(b, f->keys_offset, char **), n))
                    return 0;
            if (f->type == VIC_GI_STRING_ARRAY || f->type == VIC_GI_STRING_MAP) {
                if (!strv_eq(*CMEMBER(a, f->offset, char **), *CMEMBER(b, f->offset, char **), n))
                    return 0;
            } else {
                const char *ia = *CMEMBER(a, f->offset, char *);
                const char *ib = *CMEMBER(b, f->offset, char *);
                for (size_t j = 0; j < n; j++)
                    if (!vic_gi_equal(f->sub, ia + j * f->sub->size, ib + j * f->sub->size))
                        return 0;
            }
            break;
        }
        }
    }
    return 1;
}
