/*
 * archive.h - a container's file system as its guest sees it, for docker cp: the stat of a
 * path, a tar of a path, and a tar unpacked into a directory.
 *
 * A pl_fs is the container's root disk (a directory on the host) plus the volumes mounted
 * into it (each a directory of its own at a target path). Every path, whether from a request,
 * an archive entry, a hard link or a symlink already in the container, is resolved inside the
 * root it falls in (openat2 with RESOLVE_IN_ROOT): a symlink to /etc means the container's
 * /etc, and ".." stops at the root. Archive entries with absolute names or ".." components are
 * refused outright.
 *
 * Limits of the mount handling: which root a path falls in is decided from the path as given
 * (lexically cleaned, as Docker cleans it), so a symlink on the root disk that points into a
 * volume's target reaches the (hidden) directory under the mount, and an absolute symlink
 * inside a volume resolves from the volume's own root. Neither ever leaves the container.
 *
 * Owners: the host may keep a guest's files under shifted ids (the local target: guest id N
 * is host id base + N, see hv.h). Archives carry guest ids; a pl_fs with a shift set unshifts
 * them on the way out and shifts them on the way in.
 */
#ifndef VIC_PL_ARCHIVE_H
#define VIC_PL_ARCHIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

typedef struct pl_fs pl_fs;

#define PL_FS_MAX_MOUNTS 16

/* Opens the root disk at root_dir (a host directory). */
int pl_fs_open(pl_fs **out, const char *root_dir, vic_err **err);
void pl_fs_free(pl_fs *fs);

/* Adds a volume: dir (a host directory) shows at target (absolute) in the container. */
int pl_fs_add_mount(pl_fs *fs, const char *target, const char *dir, bool read_only, vic_err **err);

/* Guest ids 0..count-1 are host ids base.. (0, 0: no shift). */
void pl_fs_set_id_shift(pl_fs *fs, uint32_t base, uint32_t count);

/* Docker's ContainerPathStat of path: {name, size, mode (Go's os.FileMode bits), mtime
 * (RFC 3339), linkTarget (a symlink's target resolved in the container, else "")}. As Docker
 * does, the last component is not followed unless path ends in "/" or "/.". New reference.
 * VIC_ENOTFOUND when nothing is there. */
int pl_fs_stat(pl_fs *fs, const char *path, json_t **out, vic_err **err);

/* Writes a tar (pax) of path to fn, entries named from path's last component ("." for a path
 * ending in "/." or for "/"), directories recursively, symlinks as symlinks. fn returns 0 to
 * go on. VIC_ENOTFOUND when nothing is there; VIC_EUNAVAIL when fn stopped. */
typedef int (*pl_fs_write_fn)(const void *data, size_t len, void *payload);
int pl_fs_get(pl_fs *fs, const char *path, pl_fs_write_fn fn, void *payload, vic_err **err);

typedef struct pl_fs_put_opts {
    bool no_overwrite_dir_non_dir; /* Docker's noOverwriteDirNonDir */
    uint64_t max_bytes;            /* of file data, uncompressed; 0: PL_FS_MAX_BYTES */
    uint64_t max_entries;          /* 0: PL_FS_MAX_ENTRIES */
} pl_fs_put_opts;

#define PL_FS_MAX_BYTES   (4ull << 30)
#define PL_FS_MAX_ENTRIES 200000u

/* Unpacks the tar (plain or gzip) read from tar_fd, which must be seekable (a file), into the
 * directory dir of the container (followed if a symlink, inside the container). The archive
 * is read twice: first checked whole (names, link targets, types, limits, read-only volumes,
 * noOverwriteDirNonDir against what is there), and only a valid archive is then written, so
 * a refused one changes nothing. Errors: VIC_ENOTFOUND (no dir), VIC_EINVAL (not a directory,
 * a bad or hostile archive), VIC_ETOOBIG (limits), VIC_EFORBIDDEN (a read-only volume),
 * VIC_EIO (the host's file system). */
int pl_fs_put(pl_fs *fs, const char *dir, int tar_fd, const pl_fs_put_opts *o, vic_err **err);

/* The guest path path cleaned as Docker cleans it: absolute, no "." or ".." (they stop at
 * "/"), no repeated or trailing '/'. Caller frees. */
char *pl_fs_clean_path(const char *path);

#endif
