/*
 * certs.h - X.509 certificates for VIC-C: a CA, server and client certificates signed by it,
 * PEM files on disk, fingerprints and chain checks (OpenSSL 3).
 *
 * Keys are RSA, or ECDSA P-256 when asked for; signatures are SHA-256; serial numbers are random
 * 159-bit integers; notBefore is one hour in the past to tolerate clock skew between host and
 * guests. Every OpenSSL failure becomes a vic_err whose message carries OpenSSL's own error text.
 */
#ifndef VIC_CERTS_H
#define VIC_CERTS_H

#include <stddef.h>

#include "err.h"

/* A certificate and, optionally, its private key. Opaque; free with vic_cert_free(). */
typedef struct vic_cert vic_cert;

typedef struct vic_cert_opts {
    const char *cn;          /* common name, required (at most 64 bytes) */
    const char *org;         /* organization, optional */
    int bits;                /* RSA key size: 0 means 2048; 2048..8192 */
    int ec;                  /* 1: an ECDSA P-256 key instead (bits ignored; fast to make) */
    int days;                /* validity in days: 0 means 730; at most 36500 */
    const char *const *sans; /* subjectAltNames: each an IPv4/IPv6 address or a DNS name */
    size_t n_sans;
} vic_cert_opts;

/*
 * Creates a self-signed CA certificate with a fresh key: basicConstraints CA:TRUE (critical),
 * keyUsage keyCertSign,cRLSign (critical), subjectKeyIdentifier. SANs in o are ignored.
 * *out is owned by the caller. Errors: VIC_EINVAL for bad options (no cn, bits or days out of
 * range), VIC_EINTERNAL when OpenSSL fails.
 */
int vic_cert_ca_new(vic_cert **out, const vic_cert_opts *o, vic_err **err);

/*
 * Creates a server certificate with a fresh key, signed by ca (which must hold its key and be
 * a CA): extendedKeyUsage serverAuth, SANs from o (the CN is added as a SAN when it is not
 * listed), authorityKeyIdentifier and subjectKeyIdentifier. *out is owned by the caller.
 * Errors: VIC_EINVAL for bad options, a malformed SAN, or a ca without a key;
 * VIC_EINTERNAL when OpenSSL fails.
 */
int vic_cert_server_new(vic_cert **out, const vic_cert *ca, const vic_cert_opts *o, vic_err **err);

/*
 * Like vic_cert_server_new, for a client certificate: extendedKeyUsage clientAuth. Only the
 * SANs given in o are added (the CN is not copied into them).
 */
int vic_cert_client_new(vic_cert **out, const vic_cert *ca, const vic_cert_opts *o, vic_err **err);

/*
 * Writes the certificate to cert_path (mode 0644) and, when key_path is not NULL, the private
 * key to key_path (mode 0600, PKCS#8). Each file is written atomically: a temporary file in
 * the same directory, fsync, rename, fsync of the directory, so neither path is ever seen
 * half-written. The key is written first: if the certificate then fails, the new key is in
 * place beside the old certificate, which vic_cert_load_pem reports as a mismatch.
 * Errors: VIC_EINVAL when a key file is asked for but c has no key; VIC_EIO on any
 * file-system failure.
 */
int vic_cert_write_pem(const vic_cert *c, const char *cert_path, const char *key_path,
                       vic_err **err);

/*
 * Loads a PEM certificate and, when key_path is not NULL, its PEM private key (never prompts
 * for a passphrase; encrypted keys are refused). Checks that the key matches the certificate.
 * *out is owned by the caller. Errors: VIC_ENOTFOUND when a file does not exist, VIC_EIO when
 * it cannot be read, VIC_EINVAL when it holds no valid PEM object or the key does not match.
 */
int vic_cert_load_pem(vic_cert **out, const char *cert_path, const char *key_path, vic_err **err);

/* The certificate as PEM. Caller frees with free(); NULL only when c is NULL. */
char *vic_cert_pem(const vic_cert *c);

/* The private key as unencrypted PKCS#8 PEM. Caller frees with vic_free_secret(); NULL when
 * c is NULL or holds no key. */
char *vic_cert_key_pem(const vic_cert *c);

/* SHA-256 fingerprint of the DER certificate, "AB:CD:..." in uppercase hex. Caller frees with
 * free(); NULL only when c is NULL. */
char *vic_cert_fingerprint(const vic_cert *c);

/* The subject common name (borrowed from c, valid until vic_cert_free), or NULL. */
const char *vic_cert_cn(const vic_cert *c);

/*
 * Checks that c chains to the CA certificate ca (signature, validity period, CA constraints).
 * Errors: VIC_EAUTH with OpenSSL's reason (for example "certificate signature failure" or
 * "unable to get local issuer certificate"); VIC_EINVAL when an argument is NULL.
 */
int vic_cert_verify(const vic_cert *c, const vic_cert *ca, vic_err **err);

/* Frees c (its key is freed by OpenSSL, which clears it); safe on NULL. */
void vic_cert_free(vic_cert *c);

#endif
