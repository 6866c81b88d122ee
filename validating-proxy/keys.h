/*
 * keys.h - the signing keys of delegation tokens: ECDSA P-256 (ES256) keys on disk, one of
 * them active for signing, the others kept for verification until the last token they signed
 * has expired.
 *
 * Layout of the key directory ($VIC_HOME/tokens, mode 0700; every file 0600, written
 * atomically):
 *
 *     <kid>.key    private key of the active key (PKCS#8 PEM); deleted once it is retired
 *     <kid>.pub    public key (SubjectPublicKeyInfo PEM), kept while tokens it signed live
 *     active       the kid that signs new tokens
 *
 * A kid is the first 16 hex digits of the SHA-256 of the DER public key, so a file can never
 * claim another key's id: loading recomputes it and refuses a mismatch.
 *
 * Verification parses nothing per call: every public key is kept parsed (an EVP_PKEY per
 * kid), and the raw JOSE signature (r || s) is checked with OpenSSL directly. The keyring is
 * safe to use from many threads; rotation takes a write lock.
 */
#ifndef VIC_VP_KEYS_H
#define VIC_VP_KEYS_H

#include <stddef.h>
#include <time.h>

#include "lib/err.h"

#define VP_KID_LEN 16

typedef struct vp_keyring vp_keyring;

/* Opens the key directory (created 0700 when absent), loads every key in it, and generates
 * the first signing key when there is none. *out is owned by the caller (vp_keyring_free).
 * Errors: VIC_EIO for file-system failures, VIC_ECORRUPT for a key file that does not parse
 * or whose name is not its kid, VIC_EINTERNAL when OpenSSL fails. */
int vp_keyring_open(vp_keyring **out, const char *dir, vic_err **err);

/* Frees the keyring, cleansing the private key; safe on NULL. */
void vp_keyring_free(vp_keyring *k);

/* Generates a new signing key, makes it active and retires the previous one (its private key
 * file is deleted; its public key stays for verification). out_kid (may be NULL) receives a
 * copy of the new kid. Errors: VIC_EIO, VIC_EINTERNAL. */
int vp_keyring_rotate(vp_keyring *k, char out_kid[VP_KID_LEN + 1], vic_err **err);

/* Copies the active kid into out. */
void vp_keyring_active(vp_keyring *k, char out[VP_KID_LEN + 1]);

/* Signs the JWT whose header and claims are given (JSON objects; kid and alg are set here),
 * with the active key through libjwt. *out (caller frees) is the compact token; out_kid (may
 * be NULL) receives the kid that signed. Errors: VIC_EINTERNAL when libjwt fails. */
int vp_keyring_sign(char **out, vp_keyring *k, const char *claims_json,
                    char out_kid[VP_KID_LEN + 1], vic_err **err);

/* Checks an ES256 signature: sig is the raw 64-byte r || s of JWS, msg the signing input
 * ("header.payload"). 0 when it verifies; VIC_EAUTH naming the reason otherwise (unknown
 * kid, wrong length, bad signature). Never logs. */
int vp_keyring_verify(vp_keyring *k, const char *kid, const void *msg, size_t msg_len,
                      const unsigned char *sig, size_t sig_len, vic_err **err);

/* Calls fn for every retired key (not the active one); when fn returns 1 the key is forgotten
 * and its file deleted. Used to drop keys whose tokens have all expired. Returns the number
 * of keys dropped, or a negative vic_code. */
typedef int (*vp_keyring_retire_fn)(const char *kid, void *payload);
int vp_keyring_prune(vp_keyring *k, vp_keyring_retire_fn fn, void *payload, vic_err **err);

/* The kids known, active first; *out is a NULL-terminated array the caller frees with
 * free() (one allocation). */
char **vp_keyring_kids(vp_keyring *k);

#endif
