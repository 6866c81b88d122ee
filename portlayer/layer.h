/*
 * layer.h - image layers without a store: unpacking a layer's tar stream safely, and applying
 * an unpacked layer onto a container's root disk.
 *
 * Layers are unpacked without ever writing outside the layer's root: absolute paths and ".."
 * are refused, every parent is opened with O_NOFOLLOW (a symlinked parent fails the layer),
 * hard links must point inside the layer, device nodes are skipped and reported. Numeric
 * ownership is preserved when running as root; modes and mtimes always.
 */
#ifndef PL_LAYER_H
#define PL_LAYER_H

#include <jansson.h>
#include <stdint.h>

#include "lib/err.h"

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

#endif
