/*
 * crypto.h - small primitives over OpenSSL: random tokens, hashing, constant-time compare,
 * base64, and password hashing (PBKDF2-HMAC-SHA256).
 */
#ifndef VIC_CRYPTO_H
#define VIC_CRYPTO_H

#include <stddef.h>

#include "err.h"

/* Fills buf with cryptographically strong random bytes; aborts if the RNG fails. */
void vic_random_bytes(void *buf, size_t len);

/* A random token of nbytes of entropy, base64url without padding; caller frees. */
char *vic_token_new(size_t nbytes);

/* Lowercase hex SHA-256 of data into out (65 bytes). */
void vic_sha256_hex(char out[65], const void *data, size_t len);

/* Constant-time equality of two NUL-terminated strings (time depends only on lengths). */
int vic_ct_streq(const char *a, const char *b);

/* Base64 (standard alphabet, padded) of data; caller frees. */
char *vic_base64_encode(const void *data, size_t len);

/* Decodes standard base64; VIC_EINVAL on malformed input. *out is NUL-terminated, caller
 * frees. */
int vic_base64_decode(unsigned char **out, size_t *out_len, const char *in, vic_err **err);

#define VIC_PW_ITERATIONS 600000

/* Hashes a password as "pbkdf2-sha256$ITER$SALT$HASH" (base64 parts); caller frees. */
char *vic_password_hash(const char *password, unsigned iterations);

/* HMAC-SHA256 under key (32 bytes) of user, a NUL, and password: a fingerprint of
 * credentials that says nothing about them without the key (credential caches keep it). */
void vic_credentials_mac(unsigned char mac[32], const unsigned char key[32], const char *user,
                         const char *password);

/* 1 when password matches the stored hash, 0 when it does not; VIC_ECORRUPT when the stored
 * string is malformed. */
int vic_password_verify(const char *password, const char *stored, vic_err **err);

#endif
