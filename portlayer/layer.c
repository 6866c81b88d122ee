/*
 * layer.c - layers unpacked safely, and applied onto root disks.
 *
 * Every path inside a layer or a root disk is reached component by component with openat()
 * and O_NOFOLLOW from a directory descriptor of the root, so neither a hostile archive nor a
 * symlink left by an earlier layer can make us write outside it.
 */
#include "portlayer/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "portlayer/reference.h"

#define MAX_DEPTH       128
#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_MARKER   ".wh..wh..opq"
#define AUFS_META       ".wh..wh."

/* ---- safe paths ---- */

int pl_tar_path_norm(char **out, const char *raw, vic_err **err)
{
    *out = NULL;
    if (raw == NULL)
        return vic_err_set(err, VIC_EINVAL, "archive entry without a path");
    if (raw[0] == '/')
        return vic_err_set(err, VIC_EINVAL, "absolute path \"%.200s\" refused", raw);
    if (strlen(raw) > PATH_MAX)
        return vic_err_set(err, VIC_EINVAL, "path of %zu bytes refused", strlen(raw));
    int rc =
        vic_path_normalise(out, raw, VIC_PATH_NO_DOTDOT | VIC_PATH_RELATIVE | VIC_PATH_BOUNDED);
    if (rc == VIC_EINVAL)
        return vic_err_set(err, VIC_EINVAL, "path \"%.200s\" leaves the layer (\"..\")", raw);
    if (rc < 0)
        return vic_err_set(err, VIC_EINVAL, "path \"%.200s\" too long or too deep", raw);
    return 0;
}

/* Opens the directory holding the last component of rel (a normalised path) below rootfd,
 * never following a symlink; with create, missing directories are made (0755) and, when
 * implicit is given, their paths recorded there. *leaf points into rel. */
static int open_parent(int *out, const char **leaf, int rootfd, const char *rel, int create,
                       json_t *implicit, vic_err **err)
{
    const char *slash = strrchr(rel, '/');
    *leaf = slash ? slash + 1 : rel;
    int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "dup");
    const char *p = rel;
    char comp[NAME_MAX + 1];
    while (slash && p < slash) {
        const char *q = memchr(p, '/', (size_t)(slash - p) + 1);
        size_t len = (size_t)(q - p);
        memcpy(comp, p, len);
        comp[len] = '\0';
        int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0 && errno == ENOENT && create) {
            if (mkdirat(fd, comp, 0755) == 0 && implicit) {
                json_t *js = json_stringn(rel, (size_t)(q - rel));
                if (js)
                    json_object_set_new(implicit, json_string_value(js), json_true());
                json_decref(js);
            } else if (errno != EEXIST) {
                int e = errno;
                close(fd);
                return vic_err_sys(err, VIC_EIO, e, "mkdir %.*s", (int)(q - rel), rel);
            }
            nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int e = errno;
        close(fd);
        if (nfd < 0) {
            if (e == ELOOP || e == ENOTDIR)
                return vic_err_set(err, VIC_EINVAL,
                                   "\"%.200s\": parent \"%.*s\" is a symlink or not a directory",
                                   rel, (int)(q - rel), rel);
            if (e == ENOENT)
                return vic_err_set(err, VIC_ENOTFOUND, "\"%.200s\": no parent \"%.*s\"", rel,
                                   (int)(q - rel), rel);
            return vic_err_sys(err, VIC_EIO, e, "open %.*s", (int)(q - rel), rel);
        }
        fd = nfd;
        p = q + 1;
    }
    *out = fd;
    return 0;
}

/* ---- unpacking ---- */

typedef struct unpack_ctx {
    struct archive *raw; /* the decompressor: its "data" is the uncompressed tar stream */
    EVP_MD_CTX *md;
    uint64_t bytes;
    uint64_t max;
    int too_big;
    int raw_failed;
    char buf[64 * 1024];
} unpack_ctx;

/* libarchive read callback of the tar reader: pulls from the decompressor and hashes what
 * passes, so the diff_id is computed in the same pass as the unpacking. */
static la_ssize_t feed(struct archive *a, void *payload, const void **buf)
{
    unpack_ctx *c = payload;
    la_ssize_t n = archive_read_data(c->raw, c->buf, sizeof(c->buf));
    if (n < 0) {
        c->raw_failed = 1;
        archive_set_error(a, EINVAL, "decompression: %s", archive_error_string(c->raw));
        return -1;
    }
    if (c->max && c->bytes + (uint64_t)n > c->max) {
        c->too_big = 1;
        archive_set_error(a, EFBIG, "layer larger than %llu bytes", (unsigned long long)c->max);
        return -1;
    }
    c->bytes += (uint64_t)n;
    EVP_DigestUpdate(c->md, c->buf, (size_t)n);
    *buf = c->buf;
    return n;
}

typedef struct entry_meta {
    uid_t uid;
    gid_t gid;
    mode_t mode;
    struct timespec mtime;
} entry_meta;

static int set_meta_fd(int fd, const entry_meta *m, const char *path, vic_err **err)
{
    if (geteuid() == 0 && fchown(fd, m->uid, m->gid) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "chown %.200s", path);
    if (fchmod(fd, m->mode) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "chmod %.200s", path);
    struct timespec ts[2] = {m->mtime, m->mtime};
    if (futimens(fd, ts) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "utimes %.200s", path);
    return 0;
}

static int set_meta_link(int pfd, const char *name, const entry_meta *m, const char *path,
                         vic_err **err)
{
    if (geteuid() == 0 && fchownat(pfd, name, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "chown %.200s", path);
    struct timespec ts[2] = {m->mtime, m->mtime};
    if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "utimes %.200s", path);
    return 0;
}

/* Makes (or keeps) the directory name in pfd and returns an open descriptor of it. */
static int ensure_dir(int *out, int pfd, const char *name, const char *path, vic_err **err)
{
    struct stat st;
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
        int rc = vic_remove_at(pfd, name, err);
        if (rc < 0)
            return rc;
    }
    if (mkdirat(pfd, name, 0700) != 0 && errno != EEXIST)
        return vic_err_sys(err, VIC_EIO, errno, "mkdir %.200s", path);
    int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open %.200s", path);
    *out = fd;
    return 0;
}

static int write_all_at(int fd, const void *data, size_t len, off_t off)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int unpack_file(struct archive *a, struct archive_entry *e, int pfd, const char *name,
                       const char *path, const entry_meta *m, uint64_t *bytes, vic_err **err)
{
    int rc = vic_remove_at(pfd, name, err);
    if (rc < 0)
        return rc;
    int fd cleanup_close =
        openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "create %.200s", path);
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int r = archive_read_data_block(a, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return vic_err_set(err, VIC_EINVAL, "%.200s: %s", path, archive_error_string(a));
        if (off < 0 || write_all_at(fd, buf, size, (off_t)off) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "write %.200s", path);
        *bytes += size;
    }
    if (archive_entry_sparse_count(e) > 0 && archive_entry_size_is_set(e) &&
        ftruncate(fd, (off_t)archive_entry_size(e)) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "truncate %.200s", path);
    return set_meta_fd(fd, m, path, err);
}

static int unpack_hardlink(int rootfd, int pfd, const char *name, const char *path,
                           const char *raw_target, vic_err **err)
{
    cleanup_free char *target = NULL;
    int rc = pl_tar_path_norm(&target, raw_target, err);
    if (rc < 0)
        return vic_err_wrap(err, rc, "hard link %.200s", path);
    if (strcmp(target, path) == 0)
        return 0;
    const char *tleaf;
    int tfd cleanup_close = -1;
    rc = open_parent(&tfd, &tleaf, rootfd, target, 0, NULL, err);
    if (rc < 0)
        return vic_err_set(err, VIC_EINVAL, "hard link %.200s: target %.200s not in the layer",
                           path, target);
    struct stat st;
    if (!target[0] || fstatat(tfd, tleaf, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
        return vic_err_set(err, VIC_EINVAL,
                           "hard link %.200s: target %.200s is missing or a directory", path,
                           target);
    rc = vic_remove_at(pfd, name, err);
    if (rc < 0)
        return rc;
    if (linkat(tfd, tleaf, pfd, name, 0) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "link %.200s", path);
    return 0;
}

/* Appends s to arr when it is valid UTF-8 (the index is JSON); VIC_EINVAL otherwise. */
static int record_path(json_t *arr, const char *s, const char *what, vic_err **err)
{
    json_t *js = json_string(s);
    if (js == NULL)
        return vic_err_set(err, VIC_EINVAL, "%s path is not valid UTF-8", what);
    json_array_append_new(arr, js);
    return 0;
}

static int unpack_entry(struct archive *a, struct archive_entry *e, int rootfd, json_t *meta,
                        json_t *implicit, uint64_t *bytes, vic_err **err)
{
    cleanup_free char *path = NULL;
    int rc = pl_tar_path_norm(&path, archive_entry_pathname(e), err);
    if (rc < 0)
        return rc;
    if (path[0] == '\0')
        return 0; /* the layer root itself: its metadata is the image's business, not ours */
    const char *leaf;
    int pfd cleanup_close = -1;
    rc = open_parent(&pfd, &leaf, rootfd, path, 1, implicit, err);
    if (rc < 0)
        return rc;

    if (strncmp(leaf, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0) {
        if (strcmp(leaf, OPAQUE_MARKER) == 0) {
            size_t plen = (size_t)(leaf - path);
            cleanup_free char *dir = xstrndup(path, plen ? plen - 1 : 0);
            return record_path(json_object_get(meta, "opaque"), dir, "opaque directory", err);
        }
        if (strncmp(leaf, AUFS_META, strlen(AUFS_META)) == 0)
            return 0; /* aufs bookkeeping (.wh..wh.plnk and the like): nothing to apply */
        const char *victim = leaf + strlen(WHITEOUT_PREFIX);
        if (!victim[0] || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
            return vic_err_set(err, VIC_EINVAL, "whiteout \"%.200s\" names nothing", path);
        size_t plen = (size_t)(leaf - path);
        cleanup_free char *w = xasprintf("%.*s%s", (int)plen, path, victim);
        return record_path(json_object_get(meta, "whiteouts"), w, "whiteout", err);
    }

    const char *hardlink = archive_entry_hardlink(e);
    if (hardlink)
        return unpack_hardlink(rootfd, pfd, leaf, path, hardlink, err);

    la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
    if (uid < 0 || gid < 0 || uid > 0xfffffffe || gid > 0xfffffffe)
        return vic_err_set(err, VIC_EINVAL, "%.200s: owner %lld:%lld out of range", path,
                           (long long)uid, (long long)gid);
    entry_meta m = {
        .uid = (uid_t)uid,
        .gid = (gid_t)gid,
        .mode = archive_entry_perm(e) & 07777,
        .mtime = {.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)},
    };
    if (m.mtime.tv_nsec < 0 || m.mtime.tv_nsec > 999999999)
        m.mtime.tv_nsec = 0;

    switch (archive_entry_filetype(e)) {
    case AE_IFDIR: {
        json_object_del(implicit, path);
        int fd cleanup_close = -1;
        rc = ensure_dir(&fd, pfd, leaf, path, err);
        if (rc < 0)
            return rc;
        return set_meta_fd(fd, &m, path, err);
    }
    case AE_IFREG:
        return unpack_file(a, e, pfd, leaf, path, &m, bytes, err);
    case AE_IFLNK: {
        const char *target = archive_entry_symlink(e);
        if (target == NULL || !target[0])
            return vic_err_set(err, VIC_EINVAL, "symlink %.200s without a target", path);
        rc = vic_remove_at(pfd, leaf, err);
        if (rc < 0)
            return rc;
        /* the target is stored as text and never followed while unpacking or applying */
        if (symlinkat(target, pfd, leaf) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "symlink %.200s", path);
        return set_meta_link(pfd, leaf, &m, path, err);
    }
    case AE_IFIFO: {
        rc = vic_remove_at(pfd, leaf, err);
        if (rc < 0)
            return rc;
        if (mkfifoat(pfd, leaf, 0600) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "mkfifo %.200s", path);
        int fd cleanup_close = openat(pfd, leaf, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return vic_err_sys(err, VIC_EIO, errno, "open %.200s", path);
        return set_meta_fd(fd, &m, path, err);
    }
    default:
        /* device nodes and sockets: a containerVM gets its own /dev, an image never needs them */
        json_array_append_new(json_object_get(meta, "skipped"), vic_json_string_lossy(path));
        return 0;
    }
}

int pl_layer_unpack(json_t **out, int fd, const char *dir, uint64_t max_bytes, vic_err **err)
{
    *out = NULL;
    int rc = 0;
    struct archive *raw = NULL, *tar = NULL;
    unpack_ctx *c = xzalloc(sizeof(*c));
    c->md = pl_digest_new();
    c->max = max_bytes;
    json_t *meta cleanup_json = json_pack("{s:[],s:[],s:[]}", "whiteouts", "opaque", "skipped");
    json_t *implicit cleanup_json = json_object();
    uint64_t bytes = 0, entries = 0;

    int rootfd cleanup_close = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        rc = vic_err_sys(err, VIC_EIO, errno, "open %s", dir);
        goto done;
    }
    int rawfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (rawfd < 0) {
        rc = vic_err_sys(err, VIC_EIO, errno, "dup");
        goto done;
    }
    raw = archive_read_new();
    archive_read_support_filter_gzip(raw);
    archive_read_support_filter_zstd(raw);
    archive_read_support_filter_none(raw);
    archive_read_support_format_raw(raw);
    /* libarchive closes rawfd only when it opened it itself; we close ours in done: */
    struct archive_entry *re;
    if (archive_read_open_fd(raw, rawfd, 64 * 1024) != ARCHIVE_OK ||
        archive_read_next_header(raw, &re) != ARCHIVE_OK) {
        rc = vic_err_set(err, VIC_EINVAL, "layer is not a tar stream: %s",
                         archive_error_string(raw) ? archive_error_string(raw) : "empty");
        close(rawfd);
        goto done;
    }
    c->raw = raw;
    tar = archive_read_new();
    archive_read_support_format_tar(tar);
    if (archive_read_open(tar, c, NULL, feed, NULL) != ARCHIVE_OK) {
        rc = vic_err_set(err, c->too_big ? VIC_ETOOBIG : VIC_EINVAL, "layer is not a tar: %s",
                         archive_error_string(tar));
        goto closefd;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(tar, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = vic_err_set(err, c->too_big ? VIC_ETOOBIG : VIC_EINVAL, "layer: %s",
                             archive_error_string(tar));
            goto closefd;
        }
        rc = unpack_entry(tar, e, rootfd, meta, implicit, &bytes, err);
        if (rc < 0) {
            if (c->too_big)
                rc = vic_err_set(err, VIC_ETOOBIG, "layer larger than %llu bytes",
                                 (unsigned long long)max_bytes);
            goto closefd;
        }
        entries++;
    }
    /* the diff_id covers the whole uncompressed stream, end-of-archive blocks included */
    for (;;) {
        la_ssize_t n = archive_read_data(raw, c->buf, sizeof(c->buf));
        if (n == 0)
            break;
        if (n < 0) {
            rc = vic_err_set(err, VIC_EINVAL, "layer: %s", archive_error_string(raw));
            goto closefd;
        }
        if (c->max && c->bytes + (uint64_t)n > c->max) {
            rc = vic_err_set(err, VIC_ETOOBIG, "layer larger than %llu bytes",
                             (unsigned long long)max_bytes);
            goto closefd;
        }
        c->bytes += (uint64_t)n;
        EVP_DigestUpdate(c->md, c->buf, (size_t)n);
    }
    char diff_id[72];
    pl_digest_final(diff_id, c->md);
    json_t *imp = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(implicit, k, v) json_array_append_new(imp, json_string(k));
    json_object_set_new(meta, "implicit", imp);
    json_object_set_new(meta, "diff_id", json_string(diff_id));
    json_object_set_new(meta, "entries", json_integer((json_int_t)entries));
    json_object_set_new(meta, "bytes", json_integer((json_int_t)bytes));
    json_object_set_new(meta, "tar_size", json_integer((json_int_t)c->bytes));
    *out = steal_ptr(meta);
closefd:
    close(rawfd);
done:
    if (tar)
        archive_read_free(tar);
    if (raw)
        archive_read_free(raw);
    EVP_MD_CTX_free(c->md);
    free(c);
    return rc;
}

/* ---- applying a layer onto a root disk ---- */

#define PL_OVERFLOW_ID 65534 /* "nobody": an owner a container's id range cannot hold */

typedef struct link_seen {
    dev_t dev;
    ino_t ino;
    char *path; /* where the first copy went, relative to the root */
} link_seen;

typedef struct apply_ctx {
    int rootfd;
    const pl_idmap *ids;
    const json_t *implicit; /* object: path -> true */
    link_seen *links;
    size_t n_links, cap_links;
    vic_buf path;
} apply_ctx;

static int copy_data(int src, int dst, const char *path, vic_err **err)
{
    if (ioctl(dst, FICLONE, src) == 0)
        return 0;
    for (;;) {
        ssize_t n = copy_file_range(src, NULL, dst, NULL, 1 << 30, 0);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* EXDEV, ENOSYS, EINVAL: fall back to read/write */
        }
    }
    if (lseek(src, 0, SEEK_SET) < 0 || lseek(dst, 0, SEEK_SET) < 0 || ftruncate(dst, 0) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "copy %.200s", path);
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = read(src, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vic_err_sys(err, VIC_EIO, errno, "read %.200s", path);
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(dst, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return vic_err_sys(err, VIC_EIO, errno, "write %.200s", path);
            off += w;
        }
    }
}

static int apply_tree(apply_ctx *ax, int sfd, int dfd, int depth, vic_err **err);

static int apply_one(apply_ctx *ax, int sfd, int dfd, const char *name, int depth, vic_err **err)
{
    const char *path = ax->path.data;
    struct stat st;
    if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "stat layer %.200s", path);
    entry_meta m = {
        .uid = st.st_uid, .gid = st.st_gid, .mode = st.st_mode & 07777, .mtime = st.st_mtim};
    if (ax->ids && ax->ids->count) { /* owners into the container's id range, as we copy */
        const pl_idmap *ids = ax->ids;
        if (st.st_uid >= ids->count) {
            m.uid = PL_OVERFLOW_ID;
            m.mode &= ~(mode_t)S_ISUID;
        }
        if (st.st_gid >= ids->count) {
            m.gid = PL_OVERFLOW_ID;
            m.mode &= ~(mode_t)S_ISGID;
        }
        m.uid += ids->base;
        m.gid += ids->base;
    }
    int rc;
    if (S_ISDIR(st.st_mode)) {
        struct stat dst;
        int existed = fstatat(dfd, name, &dst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(dst.st_mode);
        int nd cleanup_close = -1;
        rc = ensure_dir(&nd, dfd, name, path, err);
        if (rc < 0)
            return rc;
        int ns cleanup_close = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ns < 0)
            return vic_err_sys(err, VIC_EIO, errno, "open layer %.200s", path);
        rc = apply_tree(ax, ns, nd, depth + 1, err);
        if (rc < 0)
            return rc;
        /* a directory the layer only created as a parent keeps what lower layers said */
        if (existed && json_object_get(ax->implicit, ax->path.data))
            return 0;
        return set_meta_fd(nd, &m, ax->path.data, err);
    }
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        for (size_t i = 0; i < ax->n_links; i++) {
            if (ax->links[i].dev != st.st_dev || ax->links[i].ino != st.st_ino)
                continue;
            const char *tleaf;
            int tfd cleanup_close = -1;
            rc = open_parent(&tfd, &tleaf, ax->rootfd, ax->links[i].path, 0, NULL, err);
            if (rc < 0)
                return rc;
            rc = vic_remove_at(dfd, name, err);
            if (rc < 0)
                return rc;
            if (linkat(tfd, tleaf, dfd, name, 0) != 0)
                return vic_err_sys(err, VIC_EIO, errno, "link %.200s", path);
            return 0;
        }
    }
    rc = vic_remove_at(dfd, name, err);
    if (rc < 0)
        return rc;
    if (S_ISREG(st.st_mode)) {
        int in cleanup_close = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
            return vic_err_sys(err, VIC_EIO, errno, "open layer %.200s", path);
        int o cleanup_close =
            openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (o < 0)
            return vic_err_sys(err, VIC_EIO, errno, "create %.200s", path);
        rc = copy_data(in, o, path, err);
        if (rc == 0)
            rc = set_meta_fd(o, &m, path, err);
        if (rc == 0 && st.st_nlink > 1) {
            if (ax->n_links == ax->cap_links) {
                ax->cap_links = ax->cap_links ? 2 * ax->cap_links : 16;
                ax->links = xrealloc(ax->links, ax->cap_links * sizeof(*ax->links));
            }
            ax->links[ax->n_links++] =
                (link_seen){.dev = st.st_dev, .ino = st.st_ino, .path = xstrdup(path)};
        }
        return rc;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX + 1];
        ssize_t n = readlinkat(sfd, name, target, PATH_MAX);
        if (n < 0)
            return vic_err_sys(err, VIC_EIO, errno, "readlink layer %.200s", path);
        target[n] = '\0';
        if (symlinkat(target, dfd, name) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "symlink %.200s", path);
        return set_meta_link(dfd, name, &m, path, err);
    }
    if (S_ISFIFO(st.st_mode)) {
        if (mkfifoat(dfd, name, 0600) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "mkfifo %.200s", path);
        int fd cleanup_close = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return vic_err_sys(err, VIC_EIO, errno, "open %.200s", path);
        return set_meta_fd(fd, &m, path, err);
    }
    return 0; /* nothing else is ever unpacked into a layer */
}

static int apply_tree(apply_ctx *ax, int sfd, int dfd, int depth, vic_err **err)
{
    if (depth > MAX_DEPTH)
        return vic_err_set(err, VIC_EIO, "layer tree too deep at %.200s", ax->path.data);
    int fd = fcntl(sfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "dup");
    DIR *d cleanup_dirp = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return vic_err_sys(err, VIC_EIO, errno, "opendir layer %.200s", ax->path.data);
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        size_t save = ax->path.len;
        if (save)
            vic_buf_append(&ax->path, "/", 1);
        vic_buf_append(&ax->path, de->d_name, strlen(de->d_name));
        int rc = apply_one(ax, sfd, dfd, de->d_name, depth, err);
        ax->path.len = save;
        ax->path.data[save] = '\0';
        if (rc < 0)
            return rc;
    }
    return 0;
}

int pl_layer_apply(const char *root, const char *layer_root, const json_t *layer_meta,
                   const pl_idmap *ids, vic_err **err)
{
    int rootfd cleanup_close = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open %s", root);
    int srcfd cleanup_close = open(layer_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (srcfd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open %s", layer_root);
    int rc;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(layer_meta, "opaque"), i, v)
    {
        const char *dir = json_string_value(v);
        if (dir == NULL)
            continue;
        if (!dir[0]) {
            rc = vic_clear_dir(rootfd, err);
            if (rc < 0)
                return rc;
            continue;
        }
        const char *leaf;
        int pfd cleanup_close = -1;
        if (open_parent(&pfd, &leaf, rootfd, dir, 0, NULL, NULL) < 0)
            continue; /* nothing below to hide */
        int dfd cleanup_close = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
            continue;
        rc = vic_clear_dir(dfd, err);
        if (rc < 0)
            return rc;
    }
    json_array_foreach(json_object_get(layer_meta, "whiteouts"), i, v)
    {
        const char *w = json_string_value(v);
        const char *leaf;
        int pfd cleanup_close = -1;
        if (w == NULL || !w[0] || open_parent(&pfd, &leaf, rootfd, w, 0, NULL, NULL) < 0)
            continue; /* hidden already, or under a symlink: nothing to remove */
        rc = vic_remove_at(pfd, leaf, err);
        if (rc < 0)
            return rc;
    }
    json_t *implicit cleanup_json = json_object();
    json_array_foreach(json_object_get(layer_meta, "implicit"), i, v)
    {
        if (json_is_string(v))
            json_object_set(implicit, json_string_value(v), json_true());
    }
    apply_ctx ax = {.rootfd = rootfd, .ids = ids, .implicit = implicit, .path = VIC_BUF_INIT};
    vic_buf_append(&ax.path, "", 0);
    rc = apply_tree(&ax, srcfd, rootfd, 0, err);
    for (size_t k = 0; k < ax.n_links; k++)
        free(ax.links[k].path);
    free(ax.links);
    vic_buf_free(&ax.path);
    return rc;
}
