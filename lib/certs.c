#include "certs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cleanup.h"
#include "file.h"
#include "mem.h"

#define DEFAULT_BITS 2048
#define MIN_BITS     2048
#define MAX_BITS     8192
#define DEFAULT_DAYS (365 * 2)
#define MAX_DAYS     36500
#define MAX_CN       64 /* ub-common-name in RFC 5280 */
#define MAX_DNS      253
#define SERIAL_BITS  159

struct vic_cert {
    X509 *x;
    EVP_PKEY *key; /* NULL when only the certificate is known */
    char *cn;      /* subject CN, or NULL */
};

typedef enum { KIND_CA, KIND_SERVER, KIND_CLIENT } cert_kind;

/* Drains OpenSSL's error queue into one string ("no details" when empty). */
static char *ssl_errors(void)
{
    vic_buf b = VIC_BUF_INIT;
    unsigned long e;
    char line[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, line, sizeof(line));
        if (b.len)
            vic_buf_append(&b, "; ", 2);
        vic_buf_append(&b, line, strlen(line));
    }
    if (b.len == 0)
        return xstrdup("no details from OpenSSL");
    return vic_buf_steal(&b);
}

/* Sets *err to "what: <OpenSSL errors>" and returns code. */
static int ssl_fail(vic_err **err, int code, const char *what)
{
    cleanup_free char *detail = ssl_errors();
    return vic_err_set(err, code, "%s: %s", what, detail);
}

/* Copies the contents of a memory BIO into a NUL-terminated heap string. */
static char *bio_to_string(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    if (n < 0 || data == NULL)
        return xstrdup("");
    return xstrndup(data, (size_t)n);
}

static char *subject_cn(X509 *x)
{
    X509_NAME *name = X509_get_subject_name(x);
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx < 0)
        return NULL;
    ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n < 0)
        return NULL;
    char *cn = xstrndup((const char *)utf8, (size_t)n);
    OPENSSL_free(utf8);
    return cn;
}

/* A SAN is an IP when inet_pton accepts it; otherwise it must look like a DNS name. */
static int valid_dns_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_DNS)
        return 0;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0)
                return 0;
            label = 0;
            continue;
        }
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || (c == '*' && i == 0 && n > 1 && s[1] == '.');
        if (!ok || ++label > 63)
            return 0;
    }
    return label > 0;
}

static int check_opts(const vic_cert_opts *o, int *bits, int *days, vic_err **err)
{
    if (o == NULL)
        return vic_err_set(err, VIC_EINVAL, "certificate options are required");
    if (o->cn == NULL || o->cn[0] == '\0')
        return vic_err_set(err, VIC_EINVAL, "certificate common name (cn) is required");
    if (strlen(o->cn) > MAX_CN)
        return vic_err_set(err, VIC_EINVAL, "certificate common name is longer than %d bytes",
                           MAX_CN);
    *bits = o->bits ? o->bits : DEFAULT_BITS;
    if (!o->ec && (*bits < MIN_BITS || *bits > MAX_BITS))
        return vic_err_set(err, VIC_EINVAL, "RSA key size %d is outside %d..%d", o->bits, MIN_BITS,
                           MAX_BITS);
    *days = o->days ? o->days : DEFAULT_DAYS;
    if (*days < 1 || *days > MAX_DAYS)
        return vic_err_set(err, VIC_EINVAL, "certificate validity of %d days is outside 1..%d",
                           o->days, MAX_DAYS);
    if (o->n_sans > 0 && o->sans == NULL)
        return vic_err_set(err, VIC_EINVAL, "n_sans is %zu but sans is NULL", o->n_sans);
    for (size_t i = 0; i < o->n_sans; i++) {
        const char *s = o->sans[i];
        unsigned char buf[16];
        if (s == NULL)
            return vic_err_set(err, VIC_EINVAL, "subjectAltName %zu is NULL", i);
        if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
            continue;
        if (!valid_dns_name(s))
            return vic_err_set(err, VIC_EINVAL,
                               "subjectAltName \"%s\" is neither an IP address nor a DNS name", s);
    }
    return 0;
}

static int gen_rsa(EVP_PKEY **out, int bits, vic_err **err)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *key = NULL;
    int ok = ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) == 1 && EVP_PKEY_generate(ctx, &key) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(key);
        return ssl_fail(err, VIC_EINTERNAL, "generating an RSA key");
    }
    *out = key;
    return 0;
}

static int gen_ec(EVP_PKEY **out, vic_err **err)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL)
        return ssl_fail(err, VIC_EINTERNAL, "generating an EC P-256 key");
    *out = key;
    return 0;
}

static int set_random_serial(X509 *x, vic_err **err)
{
    BIGNUM *bn = BN_new();
    int ok = bn != NULL;
    /* A zero serial is invalid; the odds are 2^-159 but the loop costs nothing. */
    while (ok && (ok = BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)) == 1 &&
           BN_is_zero(bn))
        ;
    ASN1_INTEGER *serial = ok ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    ok = serial != NULL && X509_set_serialNumber(x, serial) == 1;
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return ok ? 0 : ssl_fail(err, VIC_EINTERNAL, "setting a random serial number");
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value, vic_err **err)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    if (!ok) {
        cleanup_free char *what = xasprintf("adding extension %s=%s", OBJ_nid2sn(nid), value);
        return ssl_fail(err, VIC_EINTERNAL, what);
    }
    return 0;
}

/* Builds subjectAltName from o->sans (and the CN when add_cn and it is not listed). Names
 * are built as GENERAL_NAMEs rather than a config string so that no SAN can inject syntax. */
static int add_sans(X509 *x, const vic_cert_opts *o, int add_cn, vic_err **err)
{
    int want_cn = add_cn;
    for (size_t i = 0; i < o->n_sans && want_cn; i++)
        if (strcmp(o->sans[i], o->cn) == 0)
            want_cn = 0;
    size_t n = o->n_sans + (want_cn ? 1 : 0);
    if (n == 0)
        return 0;
    if (want_cn) {
        /* The CN is free text; only copy it when it is a usable name. */
        unsigned char buf[16];
        if (inet_pton(AF_INET, o->cn, buf) != 1 && inet_pton(AF_INET6, o->cn, buf) != 1 &&
            !valid_dns_name(o->cn))
            return vic_err_set(err, VIC_EINVAL,
                               "common name \"%s\" cannot be used as a subjectAltName; "
                               "use a host name or an IP address",
                               o->cn);
    }

    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    int ok = gens != NULL;
    for (size_t i = 0; i < n && ok; i++) {
        const char *s = i < o->n_sans ? o->sans[i] : o->cn;
        unsigned char ip[16];
        int iplen = 0;
        if (inet_pton(AF_INET, s, ip) == 1)
            iplen = 4;
        else if (inet_pton(AF_INET6, s, ip) == 1)
            iplen = 16;
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_STRING *v = iplen ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
        ok = g != NULL && v != NULL &&
             (iplen ? ASN1_OCTET_STRING_set(v, ip, iplen) : ASN1_STRING_set(v, s, -1)) == 1;
        if (ok) {
            GENERAL_NAME_set0_value(g, iplen ? GEN_IPADD : GEN_DNS, v);
            v = NULL;
            ok = sk_GENERAL_NAME_push(gens, g) > 0;
            if (ok)
                g = NULL;
        }
        ASN1_STRING_free(v);
        GENERAL_NAME_free(g);
    }
    ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
    GENERAL_NAMES_free(gens);
    return ok ? 0 : ssl_fail(err, VIC_EINTERNAL, "adding subjectAltName");
}

static int set_name(X509_NAME *name, const vic_cert_opts *o, vic_err **err)
{
    if (o->org && o->org[0] &&
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)o->org, -1, -1,
                                   0) != 1)
        return ssl_fail(err, VIC_EINVAL, "setting the organization");
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)o->cn, -1, -1,
                                   0) != 1)
        return ssl_fail(err, VIC_EINVAL, "setting the common name");
    return 0;
}

static int cert_new(vic_cert **out, cert_kind kind, const vic_cert *ca, const vic_cert_opts *o,
                    vic_err **err)
{
    int bits = 0, days = 0, rc;
    if (out == NULL)
        return vic_err_set(err, VIC_EINVAL, "out is NULL");
    *out = NULL;
    if ((rc = check_opts(o, &bits, &days, err)) < 0)
        return rc;
    if (kind != KIND_CA) {
        if (ca == NULL || ca->key == NULL)
            return vic_err_set(err, VIC_EINVAL, "signing needs a CA certificate with its key");
        if (X509_check_ca(ca->x) == 0)
            return vic_err_set(err, VIC_EINVAL, "the signing certificate is not a CA");
    }

    ERR_clear_error();
    EVP_PKEY *key = NULL;
    if ((rc = o->ec ? gen_ec(&key, err) : gen_rsa(&key, bits, err)) < 0)
        return rc;
    vic_cert *c = xzalloc(sizeof(*c));
    c->key = key;
    c->x = X509_new();
    X509 *x = c->x;
    X509 *issuer = kind == KIND_CA ? x : ca->x;
    EVP_PKEY *sign_key = kind == KIND_CA ? key : ca->key;

    if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1) {
        rc = ssl_fail(err, VIC_EINTERNAL, "creating a certificate");
        goto fail;
    }
    if ((rc = set_random_serial(x, err)) < 0)
        goto fail;
    if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL ||
        X509_set_pubkey(x, key) != 1) {
        rc = ssl_fail(err, VIC_EINTERNAL, "setting validity and public key");
        goto fail;
    }
    if ((rc = set_name(X509_get_subject_name(x), o, err)) < 0)
        goto fail;
    if (X509_set_issuer_name(x, X509_get_subject_name(issuer)) != 1) {
        rc = ssl_fail(err, VIC_EINTERNAL, "setting the issuer name");
        goto fail;
    }

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    if (kind == KIND_CA) {
        if ((rc = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE", err)) < 0 ||
            (rc = add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign", err)) < 0 ||
            (rc = add_ext(x, &ctx, NID_subject_key_identifier, "hash", err)) < 0)
            goto fail;
    } else {
        const char *eku = kind == KIND_SERVER ? "serverAuth" : "clientAuth";
        if ((rc = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE", err)) < 0 ||
            (rc = add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment",
                          err)) < 0 ||
            (rc = add_ext(x, &ctx, NID_ext_key_usage, eku, err)) < 0 ||
            (rc = add_ext(x, &ctx, NID_subject_key_identifier, "hash", err)) < 0 ||
            (rc = add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always", err)) < 0 ||
            (rc = add_sans(x, o, kind == KIND_SERVER, err)) < 0)
            goto fail;
    }
    if (X509_sign(x, sign_key, EVP_sha256()) <= 0) {
        rc = ssl_fail(err, VIC_EINTERNAL, "signing the certificate");
        goto fail;
    }
    c->cn = xstrdup(o->cn);
    *out = c;
    return 0;
fail:
    vic_cert_free(c);
    return rc;
}

int vic_cert_ca_new(vic_cert **out, const vic_cert_opts *o, vic_err **err)
{
    return cert_new(out, KIND_CA, NULL, o, err);
}

int vic_cert_server_new(vic_cert **out, const vic_cert *ca, const vic_cert_opts *o, vic_err **err)
{
    return cert_new(out, KIND_SERVER, ca, o, err);
}

int vic_cert_client_new(vic_cert **out, const vic_cert *ca, const vic_cert_opts *o, vic_err **err)
{
    return cert_new(out, KIND_CLIENT, ca, o, err);
}

char *vic_cert_pem(const vic_cert *c)
{
    if (c == NULL)
        return NULL;
    cleanup_bio BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL || PEM_write_bio_X509(b, c->x) != 1)
        abort(); /* a memory BIO only fails when memory runs out */
    return bio_to_string(b);
}

char *vic_cert_key_pem(const vic_cert *c)
{
    if (c == NULL || c->key == NULL)
        return NULL;
    /* The secure-heap BIO keeps the key out of ordinary freed memory. */
    cleanup_bio BIO *b = BIO_new(BIO_s_secmem());
    if (b == NULL || PEM_write_bio_PKCS8PrivateKey(b, c->key, NULL, NULL, 0, NULL, NULL) != 1)
        abort();
    return bio_to_string(b);
}

char *vic_cert_fingerprint(const vic_cert *c)
{
    if (c == NULL)
        return NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(c->x, EVP_sha256(), md, &n) != 1)
        abort();
    static const char hex[] = "0123456789ABCDEF";
    char *s = xmalloc(n * 3 + 1);
    for (unsigned int i = 0; i < n; i++) {
        s[i * 3] = hex[md[i] >> 4];
        s[i * 3 + 1] = hex[md[i] & 0xf];
        s[i * 3 + 2] = i + 1 < n ? ':' : '\0';
    }
    if (n == 0)
        s[0] = '\0';
    return s;
}

const char *vic_cert_cn(const vic_cert *c)
{
    return c ? c->cn : NULL;
}

int vic_cert_verify(const vic_cert *c, const vic_cert *ca, vic_err **err)
{
    if (c == NULL || ca == NULL)
        return vic_err_set(err, VIC_EINVAL, "verify needs a certificate and a CA");
    ERR_clear_error();
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = 0;
    if (store == NULL || ctx == NULL || X509_STORE_add_cert(store, ca->x) != 1 ||
        X509_STORE_CTX_init(ctx, store, c->x, NULL) != 1) {
        rc = ssl_fail(err, VIC_EINTERNAL, "setting up certificate verification");
    } else if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        ERR_clear_error();
        rc = vic_err_set(err, VIC_EAUTH, "certificate \"%s\" does not verify against CA \"%s\": %s",
                         c->cn ? c->cn : "?", ca->cn ? ca->cn : "?",
                         X509_verify_cert_error_string(e));
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}

void vic_cert_free(vic_cert *c)
{
    if (c == NULL)
        return;
    X509_free(c->x);
    EVP_PKEY_free(c->key);
    free(c->cn);
    free(c);
}

/* ---- files ---- */

int vic_cert_write_pem(const vic_cert *c, const char *cert_path, const char *key_path,
                       vic_err **err)
{
    if (c == NULL || cert_path == NULL)
        return vic_err_set(err, VIC_EINVAL, "write_pem needs a certificate and a path");
    if (key_path != NULL && c->key == NULL)
        return vic_err_set(err, VIC_EINVAL, "certificate has no private key to write to %s",
                           key_path);
    int rc;
    if (key_path != NULL) {
        char *key = vic_cert_key_pem(c);
        rc = vic_file_write_atomic(key_path, key, strlen(key), 0600, err);
        vic_free_secret(key);
        if (rc < 0)
            return rc;
    }
    cleanup_free char *pem = vic_cert_pem(c);
    return vic_file_write_atomic(cert_path, pem, strlen(pem), 0644, err);
}

/* Refuses to prompt for a passphrase: encrypted keys simply fail to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static int open_pem(FILE **out, const char *path, const char *what, vic_err **err)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return vic_err_sys(err, errno == ENOENT ? VIC_ENOTFOUND : VIC_EIO, errno, "opening %s %s",
                           what, path);
    *out = f;
    return 0;
}

int vic_cert_load_pem(vic_cert **out, const char *cert_path, const char *key_path, vic_err **err)
{
    if (out == NULL || cert_path == NULL)
        return vic_err_set(err, VIC_EINVAL, "load_pem needs out and a certificate path");
    *out = NULL;
    int rc;
    ERR_clear_error();

    cleanup_file FILE *cf = NULL;
    if ((rc = open_pem(&cf, cert_path, "certificate", err)) < 0)
        return rc;
    X509 *x = PEM_read_X509(cf, NULL, no_passphrase, NULL);
    if (x == NULL) {
        cleanup_free char *what = xasprintf("%s holds no PEM certificate", cert_path);
        return ssl_fail(err, VIC_EINVAL, what);
    }
    vic_cert *c = xzalloc(sizeof(*c));
    c->x = x;
    c->cn = subject_cn(x);

    if (key_path != NULL) {
        cleanup_file FILE *kf = NULL;
        if ((rc = open_pem(&kf, key_path, "private key", err)) < 0)
            goto fail;
        c->key = PEM_read_PrivateKey(kf, NULL, no_passphrase, NULL);
        if (c->key == NULL) {
            cleanup_free char *what =
                xasprintf("%s holds no unencrypted PEM private key", key_path);
            rc = ssl_fail(err, VIC_EINVAL, what);
            goto fail;
        }
        if (X509_check_private_key(x, c->key) != 1) {
            ERR_clear_error();
            rc = vic_err_set(err, VIC_EINVAL, "private key %s does not match certificate %s",
                             key_path, cert_path);
            goto fail;
        }
    }
    *out = c;
    return 0;
fail:
    vic_cert_free(c);
    return rc;
}
