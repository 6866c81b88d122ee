/*
 * changes.h - a container's root disk against its image: Docker's changes (docker diff), the
 * changes as a layer (docker commit), and the whole disk as a tar (docker export).
 *
 * The local target's root disk is a full copy of the image's layers (pl_layer_apply), with
 * owners shifted into the VM's id range. The image side is never copied: the layers' unpacked
 * trees are merged in memory (whiteouts and opaque directories applied, a directory a layer
 * made only as a parent keeping its lower metadata, owners mapped as pl_layer_apply maps
 * them), and the disk is walked against that view.
 *
 * What VIC itself puts on a root disk to start a container is no change of the container's,
 * as Docker's init layer is not: /.tether and /.vic (the tether and the data disks' mount
 * points), the mount points /dev, /proc and /sys, and the resolver's files /etc/hosts,
 * /etc/hostname and /etc/resolv.conf. Neither a diff nor a commit shows them, and an export
 * leaves out /.tether and /.vic.
 */
#ifndef VIC_PL_CHANGES_H
#define VIC_PL_CHANGES_H

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"
#include "portlayer/layer.h"

/* Docker's change kinds (the Kind of GET /containers/{id}/changes). */
enum { PL_CHANGE_MODIFY = 0, PL_CHANGE_ADD = 1, PL_CHANGE_DELETE = 2 };

/* The changes of the root disk at root against the image whose layers are given bottom
 * first, layers being an array of {"root": the unpacked tree, "meta": its record (what
 * pl_layer_unpack returned)} (pl_imagestore_layers). ids is the map the disk was built with
 * (NULL: ids kept). *out is a new array of {"path": "/etc/passwd", "kind": 0|1|2}, as Docker
 * computes them: a file or directory added (1), deleted (2: only the top of a deleted tree),
 * or modified (0: its type, mode, owner or device differs, or for a non-directory its size
 * or mtime), and a directory with changes inside it modified too; each directory comes
 * before what is inside it, names in byte order. VIC_EIO when a tree cannot be read;
 * VIC_EINVAL for trees nested deeper than 256. */
int pl_changes_compute(json_t **out, const char *root, const json_t *layers, const pl_idmap *ids,
                       vic_err **err);

/* Receives a tar's bytes; returns 0 to go on. */
typedef int (*pl_tar_fn)(const void *data, size_t len, void *payload);

/* Writes the changes (pl_changes_compute's array, in its order) of the root disk at root as
 * an image layer, a tar (pax) in the form of Docker's and OCI's layers: each added or
 * modified path as itself (a directory without what is inside it), each deleted one as an
 * empty whiteout file .wh.NAME beside it. Entry names are relative ("etc/passwd",
 * directories ending in "/"), owners the guest's (ids undone; an id outside the range is
 * 65534), hard links within the layer kept as links. A path gone since the changes were
 * computed (the container runs) is left out. *size (may be NULL) gets the tar's length.
 * VIC_EUNAVAIL when fn stopped; VIC_EIO on a read failure. */
int pl_changes_tar(const char *root, const json_t *changes, const pl_idmap *ids, pl_tar_fn fn,
                   void *payload, uint64_t *size, vic_err **err);

/* Writes the whole root disk at root as a tar, as docker export does: entries named from the
 * root ("bin/", "bin/sh"), in byte order per directory, owners the guest's, hard links kept,
 * without /.tether and /.vic (and without anything mounted into the container: only the
 * disk). VIC_EUNAVAIL when fn stopped; VIC_EIO on a read failure. */
int pl_rootfs_tar(const char *root, const pl_idmap *ids, pl_tar_fn fn, void *payload,
                  vic_err **err);

#endif
