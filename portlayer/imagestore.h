/*
 * imagestore.h - the port layer's content-addressed image store, and its image index.
 *
 * One directory on a datastore (e.g. $VIC_HOME/datastore1/images/) holds blobs and unpacked
 * layers (blobs.h) and:
 *
 *   images.json               the images: id (config digest), tags, repo digests, config,
 *                             layer chain; replaced atomically
 *
 * Crash safety: a blob or a layer appears under its final name only when complete and
 * verified, and an image is written to images.json only after every blob and layer it names
 * is present, so a half-pulled image is never listed. Temporary leftovers of a crash are
 * removed by pl_imagestore_open.
 *
 * A store may be shared by threads of one process and by several processes (images.json is
 * updated under a lock file).
 */
#ifndef PL_IMAGESTORE_H
#define PL_IMAGESTORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "portlayer/blobs.h"
#include "portlayer/layer.h"
#include "portlayer/reference.h"

typedef struct pl_imagestore pl_imagestore;

/* Opens (creating when absent) the store in dir and removes temporary leftovers of a crash.
 * VIC_EIO when dir cannot be created or used; VIC_ECORRUPT when images.json is unreadable.
 * Free with pl_imagestore_free. */
int pl_imagestore_open(pl_imagestore **out, const char *dir, vic_err **err);

/* Closes the store; safe on NULL. */
void pl_imagestore_free(pl_imagestore *s);

/* The store's directory (borrowed). */
const char *pl_imagestore_dir(const pl_imagestore *s);

/* Records an image. image (borrowed) is an object:
 *   {"id": "sha256:<config digest>", "manifest_digest": "sha256:...",
 *    "media_type": "<manifest media type>", "config": {...}, "architecture": "...",
 *    "os": "...", "created": "...",
 *    "layers": [{"digest": blob digest, "diff_id": ..., "size": n, "media_type": ...}]}
 * and ref, when not NULL, a normalised "registry/repo:tag" tag to point at it (moved from any
 * other image). The manifest's repo digest "registry/repo@sha256:..." is recorded when
 * repo_digest is not NULL. Every blob (manifest, config, layers) and layer must already be in
 * the store (VIC_ENOTFOUND otherwise). *out (may be NULL) is the stored record. */
int pl_imagestore_add_image(json_t **out, pl_imagestore *s, const json_t *image, const char *ref,
                            const char *repo_digest, vic_err **err);

/* All images, each {"id", "repo_tags", "repo_digests", "size", "created", ...}, newest first.
 * *out is a new array. */
int pl_imagestore_list(json_t **out, pl_imagestore *s, vic_err **err);

/* Finds an image by id ("sha256:<hex>", the hex alone, or an unambiguous prefix of at least 4
 * hex digits), by reference ("busybox", "127.0.0.1:5000/busybox:latest") or by repo digest.
 * *out is a copy of its record. VIC_ENOTFOUND when none, VIC_ECONFLICT for an ambiguous
 * prefix. */
int pl_imagestore_inspect(json_t **out, pl_imagestore *s, const char *name, vic_err **err);

/* The digests of every blob the image name finds holds: its config, the manifests (and
 * indexes) it was pulled or loaded with, its layers. *out is a new array. The errors of
 * pl_imagestore_inspect. */
int pl_imagestore_image_blobs(json_t **out, pl_imagestore *s, const char *name, vic_err **err);

/* Points tag ref (normalised as a reference, tag defaulting to latest) at the image that name
 * finds. VIC_EINVAL for a malformed or digest reference. */
int pl_imagestore_tag(pl_imagestore *s, const char *name, const char *ref, vic_err **err);

/* The history of the image name finds, as its config records it, oldest first: an array of
 * {"created", "created_by", "comment" (strings, "" when absent), "empty_layer" (bool),
 * "layer" (a diff_id, or null), "size" (bytes)}. Each entry that is not an empty layer is
 * paired in order with the image's next layer: its diff_id, and its size unpacked (the sum of
 * its files, as docker history shows it). Layers the history does not account for (a config
 * without history, or with fewer entries than layers) get an entry each with no command.
 * *out is a new array. The errors of pl_imagestore_inspect; VIC_ECORRUPT when the stored
 * config is unreadable. */
int pl_imagestore_history(json_t **out, pl_imagestore *s, const char *name, vic_err **err);

/* Removes an image, as `docker rmi` does. A name that is a tag of an image with other tags or
 * digests only untags. By id, an image with several tags needs force (VIC_ECONFLICT without).
 * When the image goes, its layers and blobs are deleted unless another image still uses them.
 * *out (may be NULL) is an array of {"Untagged": ref} and {"Deleted": digest} objects. */
int pl_imagestore_remove(json_t **out, pl_imagestore *s, const char *name, int force,
                         vic_err **err);

/* Builds a container's root disk in dir (created when absent; must be empty) by applying the
 * image's layers in order with their whiteouts (pl_layer_apply). This is a full copy; a
 * kernel overlay mount of layers/<hex>/rootfs directories could replace it where allowed. */
int pl_imagestore_build_rootfs(pl_imagestore *s, const char *name, const char *dir,
                               const pl_idmap *ids, vic_err **err);

/* The layers of the image name finds, bottom first, as pl_changes_compute reads them: *out is
 * a new array of {"diff_id", "root" (the unpacked tree's directory), "meta" (the layer's
 * record)}. The errors of pl_imagestore_inspect; VIC_ECORRUPT for a bad layer record, and
 * those of pl_imagestore_layer_meta. */
int pl_imagestore_layers(json_t **out, pl_imagestore *s, const char *name, vic_err **err);

#endif
