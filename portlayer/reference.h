/*
 * reference.h - image references (`name:tag@digest`) and content digests.
 *
 * References follow docker's rules: "busybox" is docker.io/library/busybox:latest (Docker
 * Hub, served by registry-1.docker.io), "127.0.0.1:5000/busybox" names another registry (a
 * first component with '.', ':' or "localhost"), "repo@sha256:<hex>" pins a manifest.
 * Digests are "sha256:<64 lowercase hex>", the only algorithm the image store holds.
 */
#ifndef PL_REFERENCE_H
#define PL_REFERENCE_H

#include <openssl/evp.h>

#include "lib/err.h"

#define PL_DOCKER_HUB_DOMAIN   "docker.io"
#define PL_DOCKER_HUB_REGISTRY "registry-1.docker.io"
#define PL_DEFAULT_TAG         "latest"

/* ---- digests ---- */

/* Whether digest ("sha256:<64 hex>") is a well-formed digest the image store can hold. */
int pl_digest_valid(const char *digest);

/* A new SHA-256 context for a digest computed as bytes stream by (EVP_DigestUpdate); aborts
 * when OpenSSL cannot make one. Free with EVP_MD_CTX_free. */
EVP_MD_CTX *pl_digest_new(void);

/* Finishes md into out: "sha256:<64 hex>". */
void pl_digest_final(char out[72], EVP_MD_CTX *md);

/* ---- references ---- */

/* A parsed image reference; every string is owned. */
typedef struct pl_ref {
    char *domain;     /* "docker.io", "127.0.0.1:5000" */
    char *repository; /* "library/busybox" */
    char *tag;        /* "latest" when neither tag nor digest was given; NULL with a digest only */
    char *digest;     /* "sha256:<hex>" or NULL */
} pl_ref;

/* Parses s (docker's grammar: lowercase path components of [a-z0-9] joined by ., _, __ or
 * -, an optional domain, :tag of [A-Za-z0-9_.-]{1,128}, @sha256:<64 hex>). VIC_EINVAL with
 * the reason when malformed. Free with pl_ref_free. */
int pl_ref_parse(pl_ref **out, const char *s, vic_err **err);

/* Frees a reference; safe on NULL. */
void pl_ref_free(pl_ref *r);

/* "domain/repository:tag" (or "@digest" when the reference has no tag); caller frees. */
char *pl_ref_string(const pl_ref *r);

/* "domain/repository" (the name without tag or digest); caller frees. */
char *pl_ref_name(const pl_ref *r);

/* The host[:port] to connect to: docker.io becomes registry-1.docker.io. Borrowed. */
const char *pl_ref_registry_host(const pl_ref *r);

#endif
