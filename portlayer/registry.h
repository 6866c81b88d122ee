/*
 * registry.h - a Docker Registry HTTP API v2 client (libcurl) that pulls images into a
 * pl_imagestore.
 *
 * References and digests are in reference.h.
 *
 * A pull pings /v2/, answers a `WWW-Authenticate: Bearer realm=...,service=...` challenge
 * with one token request (anonymous, or with the registry's basic credentials) or a Basic
 * challenge with the credentials; asks for the manifest with every Accept type (docker
 * schema2, OCI manifest, manifest list, OCI index), picks linux/amd64 (by default) from a
 * list, verifies every manifest and blob against its digest, parses the config, downloads
 * missing layers in parallel (curl multi) into the store's temporary files, renames each
 * into place once verified, unpacks them in order, and only then records the image.
 *
 * Hard limits fail with a precise error and leave nothing partial in the store: manifest and
 * config size (4 MiB by default), 5 redirects, connect and stall timeouts, a 401 after the one
 * token attempt, a Content-Length different from the descriptor's size, a truncated body, a
 * wrong digest.
 */
#ifndef PL_REGISTRY_H
#define PL_REGISTRY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "portlayer/imagestore.h"
#include "portlayer/reference.h"

#define PL_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define PL_MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define PL_MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define PL_MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"

/* ---- manifests and configs (pure parsing, no I/O) ---- */

/* Parses a manifest body given its media type (the Content-Type; when empty or generic the
 * body's own mediaType decides). *out is a normalised object:
 *   image manifest: {"kind": "manifest", "media_type", "config": {"digest", "size",
 *                    "media_type"}, "layers": [{"digest", "size", "media_type"}]}
 *   list or index:  {"kind": "index", "media_type", "manifests": [{"digest", "size",
 *                    "media_type", "os", "architecture", "variant"}]}
 * VIC_EINVAL for malformed JSON, a missing or mistyped field, a bad digest, a negative size
 * or a layer media type other than tar (plain, gzip, zstd); VIC_EUNSUPPORTED for schema 1. */
int pl_manifest_parse(json_t **out, const char *body, size_t len, const char *media_type,
                      vic_err **err);

/* Picks the manifest for os/arch (variant ignored unless given) from a parsed index; *out is
 * the chosen entry (borrowed from index). VIC_ENOTFOUND when the index has none. */
int pl_index_pick(const json_t **out, const json_t *index, const char *os, const char *arch,
                  vic_err **err);

/* Parses an image config blob. *out is {"architecture", "os", "created", "diff_ids": [...],
 * "config": {"env": [], "cmd": [] or null, "entrypoint": [] or null, "working_dir", "user",
 * "exposed_ports": [...], "labels": {}, "stop_signal", "volumes": [...], "healthcheck" (when
 * the image has a HEALTHCHECK: Docker's {Test, Interval, Timeout, StartPeriod, StartInterval,
 * Retries}, its non-zero fields)}}. VIC_EINVAL for
 * malformed JSON, a rootfs that is not "layers", or a diff_id that is not a sha256 digest. */
int pl_image_config_parse(json_t **out, const char *body, size_t len, vic_err **err);

/* Parses a WWW-Authenticate header value: *out is {"scheme": "bearer" or "basic" (lower
 * case), and each auth-param by lower-case name: "realm", "service", "scope", ...}. VIC_EINVAL
 * when malformed. */
int pl_auth_challenge_parse(json_t **out, const char *header, vic_err **err);

/* ---- the client ---- */

/* Settings for one registry host ("127.0.0.1:5000", "registry-1.docker.io"). */
typedef struct pl_registry_host {
    const char *host;
    int insecure;         /* allow plain http and skip TLS verification */
    const char *ca_file;  /* PEM bundle to verify this registry with, or NULL */
    const char *proxy;    /* proxy URL, or NULL for none (environment not consulted) */
    const char *username; /* basic credentials (also sent to the token realm), or NULL */
    const char *password;
} pl_registry_host;

#define PL_REGISTRY_OPTIONS_VERSION 1

typedef struct pl_registry_options {
    int version;                   /* PL_REGISTRY_OPTIONS_VERSION */
    const pl_registry_host *hosts; /* per-registry settings, matched by host */
    size_t n_hosts;
    const char *os;          /* platform picked from lists; default "linux" */
    const char *arch;        /* default "amd64" */
    size_t max_manifest;     /* bytes of a manifest, index or config; 0: 4 MiB */
    unsigned parallel;       /* layers downloaded at once; 0: 3 */
    long connect_timeout_ms; /* 0: 10 s */
    long stall_timeout_ms;   /* no byte received for this long fails; 0: 30 s */
    long request_timeout_ms; /* whole manifest, config or token request; 0: 60 s */
    int loopback_insecure;   /* 1: 127.0.0.1, localhost and [::1] are insecure (pl_registry_
                              * default_insecure); other loopback addresses, a VCH's own among
                              * them, stand for other hosts and need TLS unless listed */
    const char *ca_file;     /* PEM certificates trusted for every registry besides the
                              * system's (a VCH's --registry-ca bundle), or NULL */
    const char *user_agent;  /* default "vic-portlayer" */
} pl_registry_options;

#define PL_REGISTRY_OPTIONS_INIT                                                                   \
    {                                                                                              \
        .version = PL_REGISTRY_OPTIONS_VERSION, .loopback_insecure = 1                             \
    }

typedef struct pl_registry pl_registry;

/* Whether host ("127.0.0.1:5000") is one the client treats as insecure by default, with
 * loopback_insecure: 127.0.0.1, localhost or [::1], any port. */
int pl_registry_default_insecure(const char *host);

/* Creates a client; options are copied (may be NULL for the defaults). VIC_EINVAL on a bad
 * version. Free with pl_registry_free. Safe to use from one thread at a time; create one per
 * thread for concurrent pulls. */
int pl_registry_new(pl_registry **out, const pl_registry_options *opts, vic_err **err);

/* Frees the client; safe on NULL. */
void pl_registry_free(pl_registry *r);

/* What a layer is doing, in the words the docker CLI prints (pl_progress_state_name). */
typedef enum pl_progress_state {
    PL_PROGRESS_WAITING,      /* "Waiting" */
    PL_PROGRESS_DOWNLOADING,  /* "Downloading" (done/total bytes) */
    PL_PROGRESS_VERIFYING,    /* "Verifying Checksum" */
    PL_PROGRESS_DOWNLOADED,   /* "Download complete" */
    PL_PROGRESS_EXTRACTING,   /* "Extracting" */
    PL_PROGRESS_COMPLETE,     /* "Pull complete" */
    PL_PROGRESS_EXISTS,       /* "Already exists" */
    PL_PROGRESS_PREPARING,    /* "Preparing" (a push) */
    PL_PROGRESS_PUSHING,      /* "Pushing" (done/total bytes) */
    PL_PROGRESS_PUSHED,       /* "Pushed" */
    PL_PROGRESS_LAYER_EXISTS, /* "Layer already exists" (the registry has it) */
} pl_progress_state;

typedef struct pl_progress {
    const char *id;     /* the short id docker shows: 12 hex digits of the blob digest */
    const char *digest; /* the layer's blob digest */
    pl_progress_state state;
    uint64_t done;  /* bytes so far (downloading) */
    uint64_t total; /* the layer's size */
} pl_progress;

/* Called on the pulling thread; must not block for long. */
typedef void (*pl_progress_fn)(const pl_progress *p, void *payload);

/* "Waiting", "Downloading", ... */
const char *pl_progress_state_name(pl_progress_state s);

/* Credentials a request brings (X-Registry-Auth, docker login): borrowed strings; they
 * take the place of the host's configured ones. */
typedef struct pl_registry_creds {
    const char *username;
    const char *password;
} pl_registry_creds;

/* Checks creds against the registry server names ("127.0.0.1:5000",
 * "https://index.docker.io/v1/"), as docker login does: pings /v2/ and answers its challenge
 * (a Bearer token asked for with the credentials, no repository scope; or Basic, checked
 * with a second /v2/ request). Nothing is kept. VIC_EAUTH with the registry's reason
 * ("login attempt to URL failed with status: 401 Unauthorized", "token service refused the
 * credentials"); VIC_EINVAL for a server that names no registry or no username; the
 * transport errors of a pull otherwise. */
int pl_registry_login(pl_registry *r, const char *server, const pl_registry_creds *creds,
                      vic_err **err);

/* Pulls reference into store and records it (tag and repo digest). *out (may be NULL) is the
 * stored image record (see pl_imagestore_add_image). progress may be NULL. Errors:
 * VIC_EINVAL (bad reference), VIC_ENOTFOUND (unknown repository, tag or platform),
 * VIC_EAUTH (credentials refused, or 401 after a token), VIC_EUPSTREAM (wrong digest, size
 * mismatch, truncated body, bad status, too many redirects, malformed manifest),
 * VIC_ETOOBIG (manifest or config over the limit), VIC_ETIMEOUT, VIC_EUNSUPPORTED (schema 1,
 * another digest algorithm), VIC_EIO (local storage). */
int pl_registry_pull(json_t **out, pl_registry *r, pl_imagestore *store, const char *reference,
                     pl_progress_fn progress, void *payload, vic_err **err);

/* Pushes the image reference (a tag) names from store to its registry, as docker push does:
 * each layer blob and the config unless the repository has them (HEAD, then a monolithic
 * POST + PUT upload), then the image's manifest as it was pulled (or made at load) under the
 * tag, with a token asked for pull,push. progress gets Preparing, Pushing, Pushed and Layer
 * already exists per layer (ids: 12 hex of the diff_id). *out is {"tag", "digest", "size"} of
 * the manifest. VIC_ENOTFOUND "An image does not exist locally with the tag: ...";
 * VIC_EINVAL for a digest reference; VIC_EAUTH, VIC_EUPSTREAM with the registry's words. */
int pl_registry_push(json_t **out, pl_registry *r, pl_imagestore *store, const char *reference,
                     const pl_registry_creds *creds, pl_progress_fn progress, void *payload,
                     vic_err **err);

/* pl_registry_pull with the request's credentials (NULL: the host's, if any). */
int pl_registry_pull_as(json_t **out, pl_registry *r, pl_imagestore *store, const char *reference,
                        const pl_registry_creds *creds, pl_progress_fn progress, void *payload,
                        vic_err **err);

#endif
