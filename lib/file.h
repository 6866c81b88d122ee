/*
 * file.h - whole-file reads with a size bound, atomic replacement of a file, tree removal,
 * mkdir -p, and lexical path normalisation.
 */
#ifndef VIC_FILE_H
#define VIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Replaces path with data: a temporary file in the same directory (created 0600, then given
 * mode), fsync, rename over path, fsync of the directory. Readers see the old or the new
 * content, never a mix, and the new content survives a crash once this returns. */
int vic_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          vic_err **err);

/* Reads all of path (not following a final symlink) into *out, NUL-terminated; *len may be
 * NULL. VIC_ENOTFOUND when absent; VIC_ETOOBIG past max bytes. The buffer is wiped before it
 * is freed on failure, so this suits key files; the caller frees *out. */
int vic_file_read(char **out, size_t *len, const char *path, size_t max, vic_err **err);

/* Removes path and everything under it without following symlinks (each step opens the next
 * relative to its parent, O_NOFOLLOW); absent is fine. Stops at the first failure. */
int vic_rm_rf(const char *path, vic_err **err);

/* Removes everything inside the directory dfd (not dfd itself), never following a symlink. */
int vic_clear_dir(int dfd, vic_err **err);

/* Removes name in the directory dfd, recursively when it is a directory, never following a
 * symlink; absent is fine. */
int vic_remove_at(int dfd, const char *name, vic_err **err);

/* Creates path and its missing parents with mode (existing ones are left as they are).
 * Returns 0, or -errno of the first failure. */
int vic_mkdir_p(const char *path, mode_t mode);

/* vic_mkdir_p reporting its failure: VIC_EIO "mkdir <the directory that could not be made>"
 * with its errno. */
int vic_mkdir_p_err(const char *path, mode_t mode, vic_err **err);

/* ---- paths ---- */

/* Flags of vic_path_normalise. */
enum {
    /* Refuse a ".." component (VIC_EINVAL) instead of resolving it. */
    VIC_PATH_NO_DOTDOT = 1 << 0,
    /* The result has no leading '/' ("" for the top) instead of always starting with one. */
    VIC_PATH_RELATIVE = 1 << 1,
    /* Refuse (VIC_ETOOBIG) a component longer than NAME_MAX, or a path of more than
     * VIC_PATH_MAX_DEPTH components (empty and "." ones included). */
    VIC_PATH_BOUNDED = 1 << 2,
};
#define VIC_PATH_MAX_DEPTH 128

/* Normalises path lexically, touching no file system: its components joined by '/', empty
 * and "." ones dropped, each ".." removing the component before it (never going above the
 * top). A NULL path is "". *out is "/..." ("/" for the top), or with VIC_PATH_RELATIVE
 * "a/b" ("" for the top); caller frees. Returns 0, or without a message (*out NULL)
 * VIC_EINVAL for ".." under VIC_PATH_NO_DOTDOT and VIC_ETOOBIG past VIC_PATH_BOUNDED's
 * limits, whichever the first offending component meets first. */
int vic_path_normalise(char **out, const char *path, unsigned flags);

/* Makes a state directory private: mode 0700, so that no other host user reads what it holds
 * (databases, keys, datastores, container disks and logs). Logs when it had to tighten it.
 * Errors: VIC_EIO when it cannot be read or changed. */
int vic_dir_private(const char *path, vic_err **err);

/* The directory of the running executable (the binaries' directory, where their siblings
 * are), or "." when it cannot be read; the caller frees. */
char *vic_exe_dir(void);

#endif
