#include "validating-proxy/keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jwt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/crypto.h"
#include "lib/mem.h"

#define MAX_KEYS     64
#define MAX_KEY_FILE 16384

#define CTX_POOL 8

typedef struct vp_key {
    char kid[VP_KID_LEN + 1];
    EVP_PKEY *pkey; /* public part used for verification */
    /* Verification contexts ready for EVP_PKEY_verify: setting one up costs as much as a
     * third of the verification itself, so they are kept and reused (under pool_lock). */
    pthread_mutex_t pool_lock;
    EVP_PKEY_CTX *pool[CTX_POOL];
    size_t n_pool;
} vp_key;

struct vp_keyring {
    char *dir;
    pthread_rwlock_t lock;
    vp_key keys[MAX_KEYS];
    size_t n;
    char active[VP_KID_LEN + 1];
    char *active_pem; /* private key PEM of the active key (secret) */
    EVP_MD *sha256;   /* fetched once */
};

static void key_release(vp_key *key)
{
    for (size_t i = 0; i < key->n_pool; i++)
        EVP_PKEY_CTX_free(key->pool[i]);
    key->n_pool = 0;
    pthread_mutex_destroy(&key->pool_lock);
    EVP_PKEY_free(key->pkey);
    key->pkey = NULL;
}

static int ssl_fail(vic_err **err, int code, const char *what)
{
    char line[256] = "no details from OpenSSL";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, line, sizeof(line));
    ERR_clear_error();
    return vic_err_set(err, code, "%s: %s", what, line);
}

static char *bio_string(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    return n > 0 && data ? xstrndup(data, (size_t)n) : xstrdup("");
}

/* The kid of a key: 16 hex digits of SHA-256 over its DER SubjectPublicKeyInfo. */
static int key_kid(EVP_PKEY *pkey, char out[VP_KID_LEN + 1], vic_err **err)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(pkey, &der);
    if (len <= 0)
        return ssl_fail(err, VIC_EINTERNAL, "encode public key");
    char hex[65];
    vic_sha256_hex(hex, der, (size_t)len);
    OPENSSL_free(der);
    memcpy(out, hex, VP_KID_LEN);
    out[VP_KID_LEN] = '\0';
    return 0;
}

static int valid_kid(const char *s, size_t len)
{
    if (len != VP_KID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Writes dir/name atomically, mode 0600. */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len,
                        vic_err **err)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    return vic_file_write_atomic(path, data, len, 0600, err);
}

static int read_small(char **out, const char *path, vic_err **err)
{
    int rc = vic_file_read(out, NULL, path, MAX_KEY_FILE, err);
    if (rc == VIC_ETOOBIG)
        return vic_err_set(err, VIC_ECORRUPT, "%s is larger than a key file can be", path);
    return rc;
}

/* Adds a parsed public key under kid (takes ownership of pkey). */
static int add_key(vp_keyring *k, const char *kid, EVP_PKEY *pkey, vic_err **err)
{
    for (size_t i = 0; i < k->n; i++) {
        if (strcmp(k->keys[i].kid, kid) == 0) {
            EVP_PKEY_free(pkey);
            return 0;
        }
    }
    if (k->n == MAX_KEYS) {
        EVP_PKEY_free(pkey);
        return vic_err_set(err, VIC_ELIMIT, "more than %d token keys in %s: prune old keys",
                           MAX_KEYS, k->dir);
    }
    vp_key *key = &k->keys[k->n++];
    memset(key, 0, sizeof(*key));
    snprintf(key->kid, sizeof(key->kid), "%s", kid);
    key->pkey = pkey;
    pthread_mutex_init(&key->pool_lock, NULL);
    return 0;
}

static int load_pub(vp_keyring *k, const char *kid, vic_err **err)
{
    cleanup_free char *path = xasprintf("%s/%s.pub", k->dir, kid);
    cleanup_free char *pem = NULL;
    int rc = read_small(&pem, path, err);
    if (rc < 0)
        return rc;
    BIO *b cleanup_bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    if (pkey == NULL)
        return ssl_fail(err, VIC_ECORRUPT, path);
    char actual[VP_KID_LEN + 1];
    if ((rc = key_kid(pkey, actual, err)) < 0 || !EVP_PKEY_is_a(pkey, "EC") ||
        EVP_PKEY_get_bits(pkey) != 256 || strcmp(actual, kid) != 0) {
        EVP_PKEY_free(pkey);
        return rc < 0
                   ? rc
                   : vic_err_set(err, VIC_ECORRUPT, "%s does not hold the P-256 key %s", path, kid);
    }
    return add_key(k, kid, pkey, err);
}

/* Loads the active private key and checks it against its kid. */
static int load_active(vp_keyring *k, const char *kid, vic_err **err)
{
    cleanup_free char *path = xasprintf("%s/%s.key", k->dir, kid);
    char *pem = NULL;
    int rc = read_small(&pem, path, err);
    if (rc < 0)
        return rc;
    BIO *b cleanup_bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pkey cleanup_pkey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    char actual[VP_KID_LEN + 1] = "";
    if (pkey == NULL)
        rc = ssl_fail(err, VIC_ECORRUPT, path);
    else if ((rc = key_kid(pkey, actual, err)) == 0 && strcmp(actual, kid) != 0)
        rc = vic_err_set(err, VIC_ECORRUPT, "%s does not hold the key %s", path, kid);
    if (rc < 0) {
        vic_free_secret(pem);
        return rc;
    }
    vic_free_secret(k->active_pem);
    k->active_pem = pem;
    snprintf(k->active, sizeof(k->active), "%s", kid);
    return 0;
}

/* Generates a key, writes <kid>.key and <kid>.pub, and adds it as a verification key. */
static int generate(vp_keyring *k, char kid_out[VP_KID_LEN + 1], vic_err **err)
{
    EVP_PKEY *pkey cleanup_pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (pkey == NULL)
        return ssl_fail(err, VIC_EINTERNAL, "generate P-256 key");
    int rc = key_kid(pkey, kid_out, err);
    if (rc < 0)
        return rc;
    BIO *priv cleanup_bio = BIO_new(BIO_s_mem());
    BIO *pub cleanup_bio = BIO_new(BIO_s_mem());
    if (!PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_PUBKEY(pub, pkey))
        return ssl_fail(err, VIC_EINTERNAL, "encode key");
    cleanup_secret char *priv_pem = bio_string(priv);
    cleanup_free char *pub_pem = bio_string(pub);
    cleanup_free char *key_name = xasprintf("%s.key", kid_out);
    cleanup_free char *pub_name = xasprintf("%s.pub", kid_out);
    if ((rc = write_atomic(k->dir, key_name, priv_pem, strlen(priv_pem), err)) < 0 ||
        (rc = write_atomic(k->dir, pub_name, pub_pem, strlen(pub_pem), err)) < 0)
        return rc;
    return load_pub(k, kid_out, err);
}

static int set_active(vp_keyring *k, const char *kid, vic_err **err)
{
    cleanup_free char *line = xasprintf("%s\n", kid);
    int rc = write_atomic(k->dir, "active", line, strlen(line), err);
    if (rc == 0)
        rc = load_active(k, kid, err);
    return rc;
}

static int load_all(vp_keyring *k, vic_err **err)
{
    DIR *d = opendir(k->dir);
    if (d == NULL)
        return vic_err_sys(err, VIC_EIO, errno, "open %s", k->dir);
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len == VP_KID_LEN + 4 && strcmp(de->d_name + VP_KID_LEN, ".pub") == 0 &&
            valid_kid(de->d_name, VP_KID_LEN)) {
            char kid[VP_KID_LEN + 1];
            memcpy(kid, de->d_name, VP_KID_LEN);
            kid[VP_KID_LEN] = '\0';
            rc = load_pub(k, kid, err);
        }
    }
    closedir(d);
    if (rc < 0)
        return rc;
    cleanup_free char *active_path = xasprintf("%s/active", k->dir);
    cleanup_free char *active = NULL;
    rc = read_small(&active, active_path, err);
    if (rc == VIC_ENOTFOUND) {
        vic_err_free(err);
        char kid[VP_KID_LEN + 1];
        if ((rc = generate(k, kid, err)) < 0)
            return rc;
        return set_active(k, kid, err);
    }
    if (rc < 0)
        return rc;
    active[strcspn(active, "\n")] = '\0';
    if (!valid_kid(active, strlen(active)))
        return vic_err_set(err, VIC_ECORRUPT, "%s does not name a key", active_path);
    if ((rc = load_pub(k, active, err)) < 0)
        return rc;
    return load_active(k, active, err);
}

int vp_keyring_open(vp_keyring **out, const char *dir, vic_err **err)
{
    *out = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return vic_err_sys(err, VIC_EIO, errno, "create %s", dir);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return vic_err_set(err, VIC_EIO, "%s is not a directory", dir);
    if (st.st_mode & 077)
        chmod(dir, 0700);
    vp_keyring *k = xzalloc(sizeof(*k));
    k->dir = xstrdup(dir);
    pthread_rwlock_init(&k->lock, NULL);
    k->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    int rc = k->sha256 ? load_all(k, err) : ssl_fail(err, VIC_EINTERNAL, "fetch SHA-256");
    if (rc < 0) {
        vp_keyring_free(k);
        return vic_err_wrap(err, rc, "token keys in %s", dir);
    }
    *out = k;
    return 0;
}

void vp_keyring_free(vp_keyring *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++)
        key_release(&k->keys[i]);
    EVP_MD_free(k->sha256);
    vic_free_secret(k->active_pem);
    pthread_rwlock_destroy(&k->lock);
    free(k->dir);
    free(k);
}

int vp_keyring_rotate(vp_keyring *k, char out_kid[VP_KID_LEN + 1], vic_err **err)
{
    pthread_rwlock_wrlock(&k->lock);
    char old[VP_KID_LEN + 1], kid[VP_KID_LEN + 1];
    snprintf(old, sizeof(old), "%s", k->active);
    int rc = generate(k, kid, err);
    if (rc == 0)
        rc = set_active(k, kid, err);
    if (rc == 0) {
        /* The retired key signs nothing more: only its public half is kept. */
        cleanup_free char *old_key = xasprintf("%s/%s.key", k->dir, old);
        unlink(old_key);
        if (out_kid)
            snprintf(out_kid, VP_KID_LEN + 1, "%s", kid);
    }
    pthread_rwlock_unlock(&k->lock);
    return rc;
}

void vp_keyring_active(vp_keyring *k, char out[VP_KID_LEN + 1])
{
    pthread_rwlock_rdlock(&k->lock);
    snprintf(out, VP_KID_LEN + 1, "%s", k->active);
    pthread_rwlock_unlock(&k->lock);
}

int vp_keyring_sign(char **out, vp_keyring *k, const char *claims_json,
                    char out_kid[VP_KID_LEN + 1], vic_err **err)
{
    *out = NULL;
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        return vic_err_set(err, VIC_EINTERNAL, "libjwt: cannot create a token");
    pthread_rwlock_rdlock(&k->lock);
    int rc = 0;
    if (jwt_add_grants_json(jwt, claims_json) != 0)
        rc = vic_err_set(err, VIC_EINTERNAL, "libjwt: claims rejected");
    else if (jwt_add_header(jwt, "kid", k->active) != 0 ||
             jwt_set_alg(jwt, JWT_ALG_ES256, (const unsigned char *)k->active_pem,
                         (int)strlen(k->active_pem)) != 0)
        rc = vic_err_set(err, VIC_EINTERNAL, "libjwt: cannot set the ES256 key");
    if (rc == 0) {
        *out = jwt_encode_str(jwt);
        if (*out == NULL)
            rc = vic_err_set(err, VIC_EINTERNAL, "libjwt: signing failed");
        else if (out_kid)
            snprintf(out_kid, VP_KID_LEN + 1, "%s", k->active);
    }
    pthread_rwlock_unlock(&k->lock);
    jwt_free(jwt); /* libjwt scrubs its copy of the key */
    return rc;
}

/* DER INTEGER of a 32-byte big-endian unsigned value: minimal length, a 0x00 in front when
 * the high bit is set. Returns the bytes written (at most 35). */
static size_t der_uint(unsigned char *out, const unsigned char *v, size_t len)
{
    size_t skip = 0;
    while (skip < len - 1 && v[skip] == 0)
        skip++;
    size_t n = len - skip;
    int pad = (v[skip] & 0x80) != 0;
    out[0] = 0x02;
    out[1] = (unsigned char)(n + (size_t)pad);
    if (pad)
        out[2] = 0x00;
    memcpy(out + 2 + pad, v + skip, n);
    return 2 + (size_t)pad + n;
}

int vp_keyring_verify(vp_keyring *k, const char *kid, const void *msg, size_t msg_len,
                      const unsigned char *sig, size_t sig_len, vic_err **err)
{
    if (sig_len != 64)
        return vic_err_set(err, VIC_EAUTH,
                           "invalid token: an ES256 signature is 64 bytes, "
                           "this one is %zu",
                           sig_len);
    /* JWS carries r || s; OpenSSL wants the DER ECDSA-Sig-Value. */
    unsigned char der[2 + 35 + 35];
    size_t n = der_uint(der + 2, sig, 32);
    n += der_uint(der + 2 + n, sig + 32, 32);
    der[0] = 0x30;
    der[1] = (unsigned char)n;
    unsigned char md[32];
    if (!EVP_Digest(msg, msg_len, md, NULL, k->sha256, NULL))
        return ssl_fail(err, VIC_EINTERNAL, "SHA-256");

    pthread_rwlock_rdlock(&k->lock);
    vp_key *key = NULL;
    for (size_t i = 0; i < k->n && key == NULL; i++)
        if (strcmp(k->keys[i].kid, kid) == 0)
            key = &k->keys[i];
    if (key == NULL) {
        pthread_rwlock_unlock(&k->lock);
        return vic_err_set(err, VIC_EAUTH,
                           "invalid token: signed by a key this service does not "
                           "know");
    }
    EVP_PKEY_CTX *ctx = NULL;
    pthread_mutex_lock(&key->pool_lock);
    if (key->n_pool)
        ctx = key->pool[--key->n_pool];
    pthread_mutex_unlock(&key->pool_lock);
    if (ctx == NULL) {
        ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
        if (ctx && EVP_PKEY_verify_init(ctx) != 1) {
            EVP_PKEY_CTX_free(ctx);
            ctx = NULL;
        }
    }
    int ok = ctx && EVP_PKEY_verify(ctx, der, n + 2, md, sizeof(md)) == 1;
    ERR_clear_error();
    if (ctx) {
        pthread_mutex_lock(&key->pool_lock);
        if (key->n_pool < CTX_POOL) {
            key->pool[key->n_pool++] = ctx;
            ctx = NULL;
        }
        pthread_mutex_unlock(&key->pool_lock);
        EVP_PKEY_CTX_free(ctx);
    }
    pthread_rwlock_unlock(&k->lock);
    if (!ok)
        return vic_err_set(err, VIC_EAUTH, "invalid token: signature does not verify");
    return 0;
}

int vp_keyring_prune(vp_keyring *k, vp_keyring_retire_fn fn, void *payload, vic_err **err)
{
    (void)err;
    int dropped = 0;
    pthread_rwlock_wrlock(&k->lock);
    for (size_t i = 0; i < k->n;) {
        if (strcmp(k->keys[i].kid, k->active) == 0 || fn(k->keys[i].kid, payload) != 1) {
            i++;
            continue;
        }
        cleanup_free char *pub = xasprintf("%s/%s.pub", k->dir, k->keys[i].kid);
        cleanup_free char *key = xasprintf("%s/%s.key", k->dir, k->keys[i].kid);
        unlink(pub);
        unlink(key);
        key_release(&k->keys[i]);
        /* the mutex moves with the struct: re-create it in its new place */
        if (i != k->n - 1) {
            vp_key *last = &k->keys[k->n - 1];
            memcpy(k->keys[i].kid, last->kid, sizeof(last->kid));
            k->keys[i].pkey = last->pkey;
            memcpy(k->keys[i].pool, last->pool, sizeof(last->pool));
            k->keys[i].n_pool = last->n_pool;
            pthread_mutex_init(&k->keys[i].pool_lock, NULL);
            pthread_mutex_destroy(&last->pool_lock);
        }
        k->n--;
        dropped++;
    }
    pthread_rwlock_unlock(&k->lock);
    return dropped;
}

char **vp_keyring_kids(vp_keyring *k)
{
    pthread_rwlock_rdlock(&k->lock);
    size_t n = k->n;
    char **out = xzalloc((n + 1) * sizeof(char *) + n * (VP_KID_LEN + 1));
    char *s = (char *)(out + n + 1);
    size_t j = 0;
    snprintf(s, VP_KID_LEN + 1, "%s", k->active);
    out[j++] = s;
    s += VP_KID_LEN + 1;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(k->keys[i].kid, k->active) == 0)
            continue;
        snprintf(s, VP_KID_LEN + 1, "%s", k->keys[i].kid);
        out[j++] = s;
        s += VP_KID_LEN + 1;
    }
    pthread_rwlock_unlock(&k->lock);
    return out;
}
