#include "crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

void vic_random_bytes(void *buf, size_t len)
{
    if (RAND_bytes(buf, (int)len) != 1) {
        fputs("vic: the random number generator failed\n", stderr);
        abort();
    }
}

char *vic_token_new(size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof(raw))
        nbytes = sizeof(raw);
    vic_random_bytes(raw, nbytes);
    char *b64 = vic_base64_encode(raw, nbytes);
    OPENSSL_cleanse(raw, sizeof(raw));
    for (char *p = b64; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
        else if (*p == '=') {
            *p = '\0';
            break;
        }
    }
    return b64;
}

void vic_sha256_hex(char out[65], const void *data, size_t len)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

int vic_ct_streq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}

char *vic_base64_encode(const void *data, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

int vic_base64_decode(unsigned char **out, size_t *out_len, const char *in, vic_err **err)
{
    *out = NULL;
    size_t len = strlen(in);
    if (len % 4 != 0)
        return vic_err_set(err, VIC_EINVAL,
                           "base64 text of %zu characters is not a multiple "
                           "of 4",
                           len);
    unsigned char *buf = xmalloc(len / 4 * 3 + 1);
    int n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
    if (n < 0) {
        free(buf);
        return vic_err_set(err, VIC_EINVAL, "malformed base64");
    }
    /* EVP_DecodeBlock counts padding as zero bytes: take them back off. */
    if (len >= 1 && in[len - 1] == '=')
        n--;
    if (len >= 2 && in[len - 2] == '=')
        n--;
    buf[n] = '\0';
    *out = buf;
    *out_len = (size_t)n;
    return 0;
}

static void pbkdf2(unsigned char out[32], const char *password, const unsigned char *salt,
                   size_t salt_len, unsigned iterations)
{
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, (int)iterations,
                          EVP_sha256(), 32, out) != 1) {
        fputs("vic: PBKDF2 failed\n", stderr);
        abort();
    }
}

char *vic_password_hash(const char *password, unsigned iterations)
{
    unsigned char salt[16], hash[32];
    vic_random_bytes(salt, sizeof(salt));
    pbkdf2(hash, password, salt, sizeof(salt), iterations);
    char *s64 = vic_base64_encode(salt, sizeof(salt));
    char *h64 = vic_base64_encode(hash, sizeof(hash));
    char *out = xasprintf("pbkdf2-sha256$%u$%s$%s", iterations, s64, h64);
    OPENSSL_cleanse(hash, sizeof(hash));
    free(s64);
    free(h64);
    return out;
}

int vic_password_verify(const char *password, const char *stored, vic_err **err)
{
    char salt64[64], hash64[64];
    unsigned iterations = 0;
    if (sscanf(stored, "pbkdf2-sha256$%u$%63[^$]$%63s", &iterations, salt64, hash64) != 3 ||
        iterations == 0 || iterations > 10000000)
        return vic_err_set(err, VIC_ECORRUPT, "stored password hash has an unknown format");
    unsigned char *salt = NULL, *want = NULL;
    size_t salt_len = 0, want_len = 0;
    int rc = vic_base64_decode(&salt, &salt_len, salt64, err);
    if (rc == 0)
        rc = vic_base64_decode(&want, &want_len, hash64, err);
    if (rc < 0 || want_len != 32) {
        free(salt);
        free(want);
        return vic_err_set(err, VIC_ECORRUPT, "stored password hash is damaged");
    }
    unsigned char got[32];
    pbkdf2(got, password, salt, salt_len, iterations);
    int ok = CRYPTO_memcmp(got, want, 32) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    free(salt);
    free(want);
    return ok;
}

void vic_credentials_mac(unsigned char mac[32], const unsigned char key[32], const char *user,
                         const char *password)
{
    size_t ul = strlen(user), pl = strlen(password);
    unsigned char *msg = xmalloc(ul + 1 + pl);
    memcpy(msg, user, ul + 1); /* the NUL separates user from password */
    memcpy(msg + ul + 1, password, pl);
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, 32, msg, ul + 1 + pl, mac, &len);
    OPENSSL_cleanse(msg, ul + 1 + pl);
    free(msg);
}
