/*
 * imagestore.h - the port layer's content-addressed image store.
 *
 * One directory on a datastore (e.g. $VIC_HOME/datastore1/images/) holds:
 *
 *   blobs/sha256/<hex>        manifests, configs and compressed layers, named by digest
 *   blobs/tmp/                blobs being downloaded (renamed into place once verified)
 *   layers/<hex>/rootfs/      a layer unpacked once, <hex> being its diff_id (the sha256 of
 *   layers/<hex>/layer.json   the uncompressed tar), and what it records: whiteouts, opaque
 *                             directories, skipped entries
 *   layers/.tmp-*             layers being unpacked (renamed into place when complete)
 *   images.json               the images: id (config digest), tags, repo digests, config,
 *                             layer chain; replaced atomically
 *
 * Crash safety: a blob or a layer appears under its final name only when complete and
 * verified, and an image is written to images.json only after every blob and layer it names
 * is present, so a half-pulled image is never listed. Temporary leftovers of a crash are
 * removed by pl_imagestore_open.
 *
 * Layers are unpacked without ever writing outside the layer's root: absolute paths and ".."
 * are refused, every parent is opened with O_NOFOLLOW (a symlinked parent fails the layer),
 * hard links must point inside the layer, device nodes are skipped and reported. Numeric
 * ownership is preserved when running as root; modes and mtimes always.
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
#include "portlayer/reference.h"

typedef struct pl_imagestore pl_imagestore;
typedef struct pl_blob_writer pl_blob_writer;

/* ---- layers without a store ---- */

/* Unpacks one layer: a tar stream, plain or compressed (gzip, and whatever else libarchive
 * detects), read from fd, into dir, which must exist (normally empty). Whiteouts (.wh.NAME)
 * and opaque markers (.wh..wh..opq) are not written but recorded. At most max_bytes of
 * uncompressed tar are read (0: no limit; past it VIC_ETOOBIG). On success *out is a new JSON
 * object: {"diff_id": "sha256:<hex of the uncompressed stream>", "entries": n, "bytes": n,
 * "whiteouts": [paths], "opaque": [dirs], "skipped": [paths of device nodes and other entries
 * not written]}. Errors: VIC_EINVAL for a malformed archive or an entry that would escape dir
 * (absolute path, "..", a symlink or file as a parent, a hard link leaving the layer), VIC_EIO
 * for local I/O. On failure dir may hold part of the layer: the caller removes it. */
int pl_layer_unpack(json_t **out, int fd, const char *dir, uint64_t max_bytes, vic_err **err);

/* Where the owners of files copied into a container's root disk go: id i (0..count-1) is
 * written as base + i; an id that does not fit is written as base + 65534 (the overflow id)
 * and its file loses its set-user-ID (or set-group-ID) bit. A NULL map, or count 0, keeps
 * ids as they are. */
typedef struct pl_idmap {
    uint32_t base;
    uint32_t count;
} pl_idmap;

/* Applies an unpacked layer onto a root directory, as a union mount would show it: first the
 * layer's opaque directories are emptied and its whiteouts removed in root, then the layer's
 * tree is copied over root (directories merged, anything else replaced; hard links within the
 * layer stay linked; ownership, modes and mtimes kept). layer_root is the unpacked tree and
 * layer_meta the object pl_layer_unpack returned (borrowed). Nothing is followed through a
 * symlink in root. Owners are written through ids (see pl_idmap), in the same pass as the
 * copy. VIC_EIO on local I/O failure. */
int pl_layer_apply(const char *root, const char *layer_root, const json_t *layer_meta,
                   const pl_idmap *ids, vic_err **err);

/* Turns a path read from an archive into components joined by '/', dropping "." and empty
 * parts (*out, caller frees; "" for the archive's root). An absolute path or a ".." component
 * is refused (VIC_EINVAL): nothing in an archive may point above where it is unpacked. */
int pl_tar_path_norm(char **out, const char *raw, vic_err **err);

/* ---- the store ---- */

/* Opens (creating when absent) the store in dir and removes temporary leftovers of a crash.
 * VIC_EIO when dir cannot be created or used; VIC_ECORRUPT when images.json is unreadable.
 * Free with pl_imagestore_free. */
int pl_imagestore_open(pl_imagestore **out, const char *dir, vic_err **err);

/* Closes the store; safe on NULL. */
void pl_imagestore_free(pl_imagestore *s);

/* The store's directory (borrowed). */
const char *pl_imagestore_dir(const pl_imagestore *s);

/* 1 when the blob is stored, 0 when not (or when digest is malformed). */
int pl_imagestore_has_blob(const pl_imagestore *s, const char *digest);

/* The path of a stored or future blob (caller frees); VIC_EINVAL on a malformed digest. */
int pl_imagestore_blob_path(char **out, const pl_imagestore *s, const char *digest, vic_err **err);

/* Starts writing a blob that must hash to digest; expected_size is its size, or -1 when
 * unknown. Bytes go to a temporary file under blobs/tmp/. Free with pl_blob_writer_free
 * (which discards the temporary file unless committed). */
int pl_blob_writer_new(pl_blob_writer **out, pl_imagestore *s, const char *digest,
                       int64_t expected_size, vic_err **err);

/* Appends bytes; VIC_EUPSTREAM when they pass the expected size, VIC_EIO on write failure. */
int pl_blob_writer_write(pl_blob_writer *w, const void *data, size_t len, vic_err **err);

/* Bytes written so far. */
uint64_t pl_blob_writer_size(const pl_blob_writer *w);

/* Verifies size and digest, syncs and renames the blob into place. VIC_EUPSTREAM when the
 * size or digest differs (the temporary file is removed), VIC_EIO on I/O failure. The writer
 * must still be freed. */
int pl_blob_writer_commit(pl_blob_writer *w, vic_err **err);

/* Discards an uncommitted blob and frees the writer; safe on NULL. */
void pl_blob_writer_free(pl_blob_writer *w);

/* Stores a whole blob held in memory after checking it hashes to digest (VIC_EUPSTREAM when
 * not). */
int pl_imagestore_put_blob(pl_imagestore *s, const char *digest, const void *data, size_t len,
                           vic_err **err);

/* Reads a stored blob of at most max bytes; *out is NUL-terminated, caller frees.
 * VIC_ENOTFOUND when absent, VIC_ETOOBIG past max. */
int pl_imagestore_read_blob(char **out, size_t *len, const pl_imagestore *s, const char *digest,
                            size_t max, vic_err **err);

/* 1 when the layer with this diff_id is unpacked in the store, else 0. */
int pl_imagestore_has_layer(const pl_imagestore *s, const char *diff_id);

/* Unpacks the stored blob blob_digest as the layer diff_id (unless already present) and
 * checks that the uncompressed stream hashes to diff_id. *out (may be NULL) receives the
 * layer's record (new reference). VIC_ENOTFOUND without the blob; VIC_EUPSTREAM when the
 * diff_id differs; the errors of pl_layer_unpack. Nothing is left behind on failure. */
int pl_imagestore_add_layer(json_t **out, pl_imagestore *s, const char *blob_digest,
                            const char *diff_id, vic_err **err);

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

#endif
