/*
 * blobs.h - the image store's content-addressed part: blobs and unpacked layers.
 *
 * In the store's directory (see imagestore.h):
 *
 *   blobs/sha256/<hex>        manifests, configs and compressed layers, named by digest
 *   blobs/tmp/                blobs being downloaded (renamed into place once verified)
 *   layers/<hex>/rootfs/      a layer unpacked once, <hex> being its diff_id (the sha256 of
 *   layers/<hex>/layer.json   the uncompressed tar), and what it records: whiteouts, opaque
 *                             directories, skipped entries
 *   layers/.tmp-*             layers being unpacked (renamed into place when complete)
 *
 * A blob or a layer appears under its final name only when complete and verified.
 */
#ifndef PL_BLOBS_H
#define PL_BLOBS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

typedef struct pl_imagestore pl_imagestore;
typedef struct pl_blob_writer pl_blob_writer;

/* 1 when the blob is stored, 0 when not (or when digest is malformed). */
int pl_imagestore_has_blob(const pl_imagestore *s, const char *digest);

/* The path of a stored or future blob (caller frees); VIC_EINVAL on a malformed digest. */
int pl_imagestore_blob_path(char **out, const pl_imagestore *s, const char *digest, vic_err **err);

/* Starts writing a blob that must hash to digest (NULL: a new blob, named by what it hashes
 * to at commit; pl_blob_writer_digest); expected_size is its size, or -1 when unknown. Bytes go to
 * a temporary file under blobs/tmp/. Free with pl_blob_writer_free (which discards the temporary
 * file unless committed). */
int pl_blob_writer_new(pl_blob_writer **out, pl_imagestore *s, const char *digest,
                       int64_t expected_size, vic_err **err);

/* Appends bytes; VIC_EUPSTREAM when they pass the expected size, VIC_EIO on write failure. */
int pl_blob_writer_write(pl_blob_writer *w, const void *data, size_t len, vic_err **err);

/* Bytes written so far. */
uint64_t pl_blob_writer_size(const pl_blob_writer *w);

/* The committed blob's digest (borrowed from the writer), NULL before a commit. */
const char *pl_blob_writer_digest(const pl_blob_writer *w);

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

/* The directory of the layer diff_id (a well-formed digest) in the store, present or not;
 * caller frees. */
char *pl_imagestore_layer_dir(const pl_imagestore *s, const char *diff_id);

/* Reads the record of the unpacked layer diff_id (its layer.json; see pl_layer_unpack); *out
 * is a new reference. The errors of vic_file_read (VIC_ENOTFOUND when the layer is absent);
 * VIC_ECORRUPT when the record is unreadable. */
int pl_imagestore_layer_meta(json_t **out, const pl_imagestore *s, const char *diff_id,
                             vic_err **err);

#endif
