/*
 * imagestore.c - layers unpacked safely, applied onto root disks, and the image index.
 *
 * Every path inside a layer or a root disk is reached component by component with openat()
 * and O_NOFOLLOW from a directory descriptor of the root, so neither a hostile archive nor a
 * symlink left by an earlier layer can make us write outside it.
 */
#include "portlayer/imagestore.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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
#define INDEX_MAX       (64u << 20)
#define LAYER_META_MAX  (64u << 20)
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
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    int depth = 0;
    const char *p = raw;
    while (*p) {
        const char *q = strchr(p, '/');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            vic_buf_free(&b);
            return vic_err_set(err, VIC_EINVAL, "path \"%.200s\" leaves the layer (\"..\")", raw);
        }
        if (len > NAME_MAX || ++depth > MAX_DEPTH) {
            vic_buf_free(&b);
            return vic_err_set(err, VIC_EINVAL, "path \"%.200s\" too long or too deep", raw);
        }
        if (!(len == 0 || (len == 1 && p[0] == '.'))) {
            if (b.len)
                vic_buf_append(&b, "/", 1);
            vic_buf_append(&b, p, len);
        }
        p += len + (q ? 1 : 0);
    }
    *out = vic_buf_steal(&b);
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

/* ---- the store ---- */

struct pl_imagestore {
    char *dir;
    int lockfd;
    pthread_mutex_t mu;
};

struct pl_blob_writer {
    char *tmp;
    char *final;
    int fd;
    EVP_MD_CTX *md;
    char digest[72];
    int64_t expected;
    uint64_t n;
    int committed;
};

static int mkdir_p(const char *path, vic_err **err)
{
    cleanup_free char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return vic_err_sys(err, VIC_EIO, errno, "mkdir %s", p);
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return vic_err_sys(err, VIC_EIO, errno, "mkdir %s", p);
    return 0;
}

/* Removes entries of dir whose names start with prefix (all when prefix is ""). */
static void remove_leftovers(const char *dir, const char *prefix)
{
    DIR *d cleanup_dirp = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        cleanup_free char *p = xasprintf("%s/%s", dir, de->d_name);
        vic_rm_rf(p, NULL);
    }
}

int pl_imagestore_open(pl_imagestore **out, const char *dir, vic_err **err)
{
    *out = NULL;
    const char *subdirs[] = {"blobs/sha256", "blobs/tmp", "layers"};
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        cleanup_free char *p = xasprintf("%s/%s", dir, subdirs[i]);
        int rc = mkdir_p(p, err);
        if (rc < 0)
            return vic_err_wrap(err, rc, "image store %s", dir);
    }
    /* inuse.lock is held shared by every open store; the index has its own lock file */
    cleanup_free char *lock = xasprintf("%s/inuse.lock", dir);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open %s", lock);
    /* leftovers of a crash can only be removed when no other process has the store open */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        cleanup_free char *tmp = xasprintf("%s/blobs/tmp", dir);
        cleanup_free char *layers = xasprintf("%s/layers", dir);
        remove_leftovers(tmp, "");
        remove_leftovers(layers, ".tmp-");
    }
    flock(fd, LOCK_SH); /* converts the exclusive lock, or joins the other holders */
    pl_imagestore *s = xzalloc(sizeof(*s));
    s->dir = xstrdup(dir);
    s->lockfd = fd;
    pthread_mutex_init(&s->mu, NULL);
    cleanup_free char *idx = xasprintf("%s/images.json", dir);
    char *text = NULL;
    int rc = vic_file_read(&text, NULL, idx, INDEX_MAX, err);
    if (rc == VIC_ENOTFOUND) {
        vic_err_free(err);
        rc = 0;
    } else if (rc == 0) {
        json_t *j cleanup_json = json_loads(text, 0, NULL);
        if (!json_is_object(json_object_get(j, "images")))
            rc = vic_err_set(err, VIC_ECORRUPT, "image index %s is unreadable", idx);
    }
    free(text);
    if (rc < 0) {
        pl_imagestore_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void pl_imagestore_free(pl_imagestore *s)
{
    if (s == NULL)
        return;
    close(s->lockfd);
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    free(s);
}

const char *pl_imagestore_dir(const pl_imagestore *s)
{
    return s->dir;
}

int pl_imagestore_blob_path(char **out, const pl_imagestore *s, const char *digest, vic_err **err)
{
    *out = NULL;
    if (!pl_digest_valid(digest))
        return vic_err_set(err, VIC_EINVAL, "malformed digest \"%.80s\"", digest ? digest : "");
    *out = xasprintf("%s/blobs/sha256/%s", s->dir, digest + 7);
    return 0;
}

int pl_imagestore_has_blob(const pl_imagestore *s, const char *digest)
{
    cleanup_free char *p = NULL;
    if (pl_imagestore_blob_path(&p, s, digest, NULL) < 0)
        return 0;
    return access(p, F_OK) == 0;
}

int pl_blob_writer_new(pl_blob_writer **out, pl_imagestore *s, const char *digest,
                       int64_t expected_size, vic_err **err)
{
    *out = NULL;
    cleanup_free char *final = NULL;
    int rc = pl_imagestore_blob_path(&final, s, digest, err);
    if (rc < 0)
        return rc;
    char *tmp = xasprintf("%s/blobs/tmp/%.12s.XXXXXX", s->dir, digest + 7);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = vic_err_sys(err, VIC_EIO, errno, "create %s", tmp);
        free(tmp);
        return rc;
    }
    pl_blob_writer *w = xzalloc(sizeof(*w));
    w->tmp = tmp;
    w->final = steal_ptr(final);
    w->fd = fd;
    w->md = pl_digest_new();
    snprintf(w->digest, sizeof(w->digest), "%s", digest);
    w->expected = expected_size;
    *out = w;
    return 0;
}

int pl_blob_writer_write(pl_blob_writer *w, const void *data, size_t len, vic_err **err)
{
    if (w->expected >= 0 && w->n + len > (uint64_t)w->expected)
        return vic_err_set(err, VIC_EUPSTREAM,
                           "blob %.19s: more than the %lld bytes its descriptor says", w->digest,
                           (long long)w->expected);
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(w->fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return vic_err_sys(err, VIC_EIO, n < 0 ? errno : EIO, "write %s", w->tmp);
        p += n;
        left -= (size_t)n;
    }
    EVP_DigestUpdate(w->md, data, len);
    w->n += len;
    return 0;
}

uint64_t pl_blob_writer_size(const pl_blob_writer *w)
{
    return w->n;
}

int pl_blob_writer_commit(pl_blob_writer *w, vic_err **err)
{
    if (w->expected >= 0 && w->n != (uint64_t)w->expected)
        return vic_err_set(err, VIC_EUPSTREAM, "blob %.19s: got %llu of %lld bytes (truncated)",
                           w->digest, (unsigned long long)w->n, (long long)w->expected);
    char got[72];
    pl_digest_final(got, w->md);
    if (strcmp(got, w->digest) != 0)
        return vic_err_set(err, VIC_EUPSTREAM, "blob %s: content hashes to %s (wrong digest)",
                           w->digest, got);
    if (fsync(w->fd) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "fsync %s", w->tmp);
    if (fchmod(w->fd, 0644) != 0 || rename(w->tmp, w->final) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "rename %s", w->tmp);
    w->committed = 1;
    return 0;
}

void pl_blob_writer_free(pl_blob_writer *w)
{
    if (w == NULL)
        return;
    close(w->fd);
    if (!w->committed)
        unlink(w->tmp);
    EVP_MD_CTX_free(w->md);
    free(w->tmp);
    free(w->final);
    free(w);
}

int pl_imagestore_put_blob(pl_imagestore *s, const char *digest, const void *data, size_t len,
                           vic_err **err)
{
    if (pl_imagestore_has_blob(s, digest))
        return 0;
    pl_blob_writer *w = NULL;
    int rc = pl_blob_writer_new(&w, s, digest, (int64_t)len, err);
    if (rc == 0)
        rc = pl_blob_writer_write(w, data, len, err);
    if (rc == 0)
        rc = pl_blob_writer_commit(w, err);
    pl_blob_writer_free(w);
    return rc;
}

int pl_imagestore_read_blob(char **out, size_t *len, const pl_imagestore *s, const char *digest,
                            size_t max, vic_err **err)
{
    *out = NULL;
    cleanup_free char *p = NULL;
    int rc = pl_imagestore_blob_path(&p, s, digest, err);
    if (rc < 0)
        return rc;
    return vic_file_read(out, len, p, max, err);
}

static char *layer_dir(const pl_imagestore *s, const char *diff_id)
{
    return xasprintf("%s/layers/%s", s->dir, diff_id + 7);
}

int pl_imagestore_has_layer(const pl_imagestore *s, const char *diff_id)
{
    if (!pl_digest_valid(diff_id))
        return 0;
    cleanup_free char *d = layer_dir(s, diff_id);
    cleanup_free char *m = xasprintf("%s/layer.json", d);
    return access(m, F_OK) == 0;
}

static int load_layer_meta(json_t **out, const pl_imagestore *s, const char *diff_id, vic_err **err)
{
    *out = NULL;
    cleanup_free char *d = layer_dir(s, diff_id);
    cleanup_free char *m = xasprintf("%s/layer.json", d);
    cleanup_free char *text = NULL;
    size_t len = 0;
    int rc = vic_file_read(&text, &len, m, LAYER_META_MAX, err);
    if (rc < 0)
        return rc;
    rc = vic_json_parse(out, text, len, 0, err);
    if (rc < 0)
        return vic_err_set(err, VIC_ECORRUPT, "layer record %s is unreadable", m);
    return 0;
}

int pl_imagestore_add_layer(json_t **out, pl_imagestore *s, const char *blob_digest,
                            const char *diff_id, vic_err **err)
{
    if (out)
        *out = NULL;
    if (!pl_digest_valid(diff_id))
        return vic_err_set(err, VIC_EINVAL, "malformed diff_id \"%.80s\"", diff_id);
    if (pl_imagestore_has_layer(s, diff_id))
        return out ? load_layer_meta(out, s, diff_id, err) : 0;
    cleanup_free char *blob = NULL;
    int rc = pl_imagestore_blob_path(&blob, s, blob_digest, err);
    if (rc < 0)
        return rc;
    int fd cleanup_close = open(blob, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vic_err_sys(err, errno == ENOENT ? VIC_ENOTFOUND : VIC_EIO, errno, "layer blob %s",
                           blob_digest);
    cleanup_free char *tmp = xasprintf("%s/layers/.tmp-%.12s-XXXXXX", s->dir, diff_id + 7);
    if (mkdtemp(tmp) == NULL)
        return vic_err_sys(err, VIC_EIO, errno, "mkdtemp %s", tmp);
    cleanup_free char *root = xasprintf("%s/rootfs", tmp);
    cleanup_free char *text = NULL;
    cleanup_free char *mpath = xasprintf("%s/layer.json", tmp);
    cleanup_free char *final = layer_dir(s, diff_id);
    json_t *meta cleanup_json = NULL;
    if (mkdir(root, 0755) != 0) {
        rc = vic_err_sys(err, VIC_EIO, errno, "mkdir %s", root);
        goto fail;
    }
    rc = pl_layer_unpack(&meta, fd, root, 0, err);
    if (rc < 0) {
        vic_err_wrap(err, rc, "layer %s", blob_digest);
        goto fail;
    }
    const char *got = vic_json_str(meta, "diff_id");
    if (strcmp(got, diff_id) != 0) {
        rc = vic_err_set(err, VIC_EUPSTREAM,
                         "layer %s: uncompressed content hashes to %s, the config says %s",
                         blob_digest, got, diff_id);
        goto fail;
    }
    json_object_set_new(meta, "digest", json_string(blob_digest));
    text = json_dumps(meta, JSON_COMPACT);
    /* the files of the layer reach the disk before the layer gets its final name */
    syncfs(fd);
    rc = vic_file_write_atomic(mpath, text, strlen(text), 0644, err);
    if (rc < 0)
        goto fail;
    if (rename(tmp, final) != 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) {
            rc = vic_err_sys(err, VIC_EIO, errno, "rename %s", tmp);
            goto fail;
        }
        vic_rm_rf(tmp, NULL); /* another pull unpacked it first */
    }
    if (out)
        *out = steal_ptr(meta);
    return 0;
fail:
    vic_rm_rf(tmp, NULL);
    return rc;
}

/* ---- the image index ---- */

typedef int (*index_fn)(json_t *images, void *payload, int *changed, vic_err **err);

/* Runs fn on the images object under the store's lock and saves it when fn changed it. */
static int with_index(pl_imagestore *s, index_fn fn, void *payload, vic_err **err)
{
    cleanup_free char *lock = xasprintf("%s/lock", s->dir);
    cleanup_free char *idx = xasprintf("%s/images.json", s->dir);
    cleanup_free char *text = NULL;
    size_t len = 0;
    json_t *doc cleanup_json = NULL;
    pthread_mutex_lock(&s->mu);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int rc = 0;
    if (lfd < 0 || flock(lfd, LOCK_EX) != 0) {
        rc = vic_err_sys(err, VIC_EIO, errno, "lock %s", lock);
        goto out;
    }
    rc = vic_file_read(&text, &len, idx, INDEX_MAX, err);
    if (rc == VIC_ENOTFOUND) {
        vic_err_free(err);
        rc = 0;
        doc = json_pack("{s:i,s:{}}", "version", 1, "images");
    } else if (rc == 0) {
        if (vic_json_parse(&doc, text, len, 0, NULL) < 0 ||
            !json_is_object(json_object_get(doc, "images")))
            rc = vic_err_set(err, VIC_ECORRUPT, "image index %s is unreadable", idx);
    }
    if (rc < 0)
        goto out;
    int changed = 0;
    rc = fn(json_object_get(doc, "images"), payload, &changed, err);
    if (rc == 0 && changed) {
        cleanup_free char *out = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
        rc = vic_file_write_atomic(idx, out, strlen(out), 0644, err);
    }
out:
    if (lfd >= 0)
        close(lfd);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int str_in(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i,
                       v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

static void str_add(json_t *arr, const char *s)
{
    if (!str_in(arr, s))
        json_array_append_new(arr, json_string(s));
}

static int str_del(json_t *arr, const char *s)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *v = json_string_value(json_array_get(arr, i));
        if (v && strcmp(v, s) == 0) {
            json_array_remove(arr, i);
            return 1;
        }
    }
    return 0;
}

typedef struct add_args {
    pl_imagestore *s;
    const json_t *image;
    const char *ref;
    const char *repo_digest;
    json_t *result;
} add_args;

static int add_fn(json_t *images, void *payload, int *changed, vic_err **err)
{
    add_args *a = payload;
    const char *id = vic_json_str(a->image, "id");
    const char *mdig = vic_json_str(a->image, "manifest_digest");
    const char *idig = vic_json_str(a->image, "index_digest");
    json_t *layers = json_object_get(a->image, "layers");
    if (!pl_digest_valid(id) || !json_is_array(layers))
        return vic_err_set(err, VIC_EINVAL, "image record without id or layers");
    /* every piece must be in place before the image may be listed */
    if (!pl_imagestore_has_blob(a->s, id) || (mdig && !pl_imagestore_has_blob(a->s, mdig)) ||
        (idig && !pl_imagestore_has_blob(a->s, idig)))
        return vic_err_set(err, VIC_ENOTFOUND, "image %s: config or manifest not stored", id);
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l)
    {
        const char *diff_id = vic_json_str(l, "diff_id");
        if (!pl_imagestore_has_layer(a->s, diff_id))
            return vic_err_set(err, VIC_ENOTFOUND, "image %s: layer %s not stored", id,
                               diff_id ? diff_id : "?");
    }
    json_t *rec = json_object_get(images, id);
    if (rec == NULL) {
        rec = json_deep_copy(a->image);
        json_object_del(rec, "manifest_digest");
        json_object_del(rec, "index_digest");
        json_object_set_new(rec, "repo_tags", json_array());
        json_object_set_new(rec, "repo_digests", json_array());
        json_object_set_new(rec, "blobs", json_array());
        json_object_set_new(rec, "added", json_integer((json_int_t)time(NULL)));
        json_int_t size = 0;
        json_array_foreach(layers, i, l) size += json_integer_value(json_object_get(l, "size"));
        json_object_set_new(rec, "size", json_integer(size));
        json_object_set_new(images, id, rec);
    }
    json_t *blobs = json_object_get(rec, "blobs");
    str_add(blobs, id);
    if (mdig)
        str_add(blobs, mdig);
    if (idig)
        str_add(blobs, idig);
    json_array_foreach(layers, i, l) if (vic_json_str(l, "digest"))
        str_add(blobs, vic_json_str(l, "digest"));
    if (a->ref) {
        const char *k;
        json_t *other;
        json_object_foreach(images, k, other) str_del(json_object_get(other, "repo_tags"), a->ref);
        str_add(json_object_get(rec, "repo_tags"), a->ref);
    }
    if (a->repo_digest)
        str_add(json_object_get(rec, "repo_digests"), a->repo_digest);
    *changed = 1;
    a->result = json_deep_copy(rec);
    return 0;
}

int pl_imagestore_add_image(json_t **out, pl_imagestore *s, const json_t *image, const char *ref,
                            const char *repo_digest, vic_err **err)
{
    if (out)
        *out = NULL;
    add_args a = {.s = s, .image = image, .ref = ref, .repo_digest = repo_digest};
    int rc = with_index(s, add_fn, &a, err);
    if (rc == 0 && out)
        *out = a.result;
    else
        json_decref(a.result);
    return rc;
}

static json_t *public_record(const json_t *rec)
{
    json_t *r = json_deep_copy(rec);
    json_object_del(r, "blobs");
    return r;
}

static int list_fn(json_t *images, void *payload, int *changed, vic_err **err)
{
    (void)changed;
    (void)err;
    json_t *arr = payload;
    const char *k;
    json_t *v;
    json_object_foreach(images, k, v)
    {
        /* newest first: insert before the first older one */
        json_int_t added = json_integer_value(json_object_get(v, "added"));
        size_t at = 0;
        while (at < json_array_size(arr) &&
               json_integer_value(json_object_get(json_array_get(arr, at), "added")) >= added)
            at++;
        json_array_insert_new(arr, at, public_record(v));
    }
    return 0;
}

int pl_imagestore_list(json_t **out, pl_imagestore *s, vic_err **err)
{
    json_t *arr = json_array();
    int rc = with_index(s, list_fn, arr, err);
    if (rc < 0) {
        json_decref(arr);
        arr = NULL;
    }
    *out = arr;
    return rc;
}

/* How name matched an image. */
typedef enum match_kind { MATCH_ID, MATCH_TAG, MATCH_DIGEST } match_kind;

/* Finds the record name designates (borrowed from images). *matched is the normalised tag or
 * repo digest when name was a reference (caller frees). */
static int find_image(json_t **out, const char **out_id, char **matched, match_kind *kind,
                      json_t *images, const char *name, vic_err **err)
{
    *out = NULL;
    *matched = NULL;
    const char *k;
    json_t *v;
    if (name == NULL || !name[0])
        return vic_err_set(err, VIC_EINVAL, "empty image name");
    const char *hex = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
    size_t hlen = strlen(hex);
    int all_hex = hlen > 0 && hlen <= 64 && strspn(hex, "0123456789abcdef") == hlen;
    if (all_hex && hlen == 64) {
        cleanup_free char *id = xasprintf("sha256:%s", hex);
        json_object_foreach(images, k, v) if (strcmp(k, id) == 0)
        {
            *out = v;
            *out_id = k;
            *kind = MATCH_ID;
            return 0;
        }
    }
    pl_ref *ref = NULL;
    if (pl_ref_parse(&ref, name, NULL) == 0) {
        char *want = pl_ref_string(ref);
        int by_digest = ref->digest != NULL;
        pl_ref_free(ref);
        json_object_foreach(images, k, v)
        {
            if (str_in(json_object_get(v, by_digest ? "repo_digests" : "repo_tags"), want)) {
                *out = v;
                *out_id = k;
                *matched = want;
                *kind = by_digest ? MATCH_DIGEST : MATCH_TAG;
                return 0;
            }
        }
        free(want);
    }
    if (all_hex && hlen >= 4) {
        json_object_foreach(images, k, v) if (strncmp(k + 7, hex, hlen) == 0)
        {
            if (*out)
                return vic_err_set(err, VIC_ECONFLICT, "image id prefix %s is ambiguous", name);
            *out = v;
            *out_id = k;
            *kind = MATCH_ID;
        }
        if (*out)
            return 0;
    }
    return vic_err_set(err, VIC_ENOTFOUND, "no such image: %.200s", name);
}

typedef struct name_args {
    const char *name;
    const char *ref;
    int force;
    pl_imagestore *s;
    json_t *result;
} name_args;

static int inspect_fn(json_t *images, void *payload, int *changed, vic_err **err)
{
    (void)changed;
    name_args *a = payload;
    json_t *rec;
    const char *id;
    cleanup_free char *matched = NULL;
    match_kind kind;
    int rc = find_image(&rec, &id, &matched, &kind, images, a->name, err);
    if (rc == 0)
        a->result = public_record(rec);
    return rc;
}

int pl_imagestore_inspect(json_t **out, pl_imagestore *s, const char *name, vic_err **err)
{
    *out = NULL;
    name_args a = {.name = name};
    int rc = with_index(s, inspect_fn, &a, err);
    if (rc == 0)
        *out = a.result;
    return rc;
}

static int tag_fn(json_t *images, void *payload, int *changed, vic_err **err)
{
    name_args *a = payload;
    json_t *rec;
    const char *id;
    cleanup_free char *matched = NULL;
    match_kind kind;
    int rc = find_image(&rec, &id, &matched, &kind, images, a->name, err);
    if (rc < 0)
        return rc;
    pl_ref *ref = NULL;
    rc = pl_ref_parse(&ref, a->ref, err);
    if (rc < 0)
        return rc;
    if (ref->digest) {
        pl_ref_free(ref);
        return vic_err_set(err, VIC_EINVAL, "cannot tag with a digest reference: %s", a->ref);
    }
    cleanup_free char *tag = pl_ref_string(ref);
    pl_ref_free(ref);
    const char *k;
    json_t *v;
    json_object_foreach(images, k, v) str_del(json_object_get(v, "repo_tags"), tag);
    str_add(json_object_get(rec, "repo_tags"), tag);
    *changed = 1;
    return 0;
}

int pl_imagestore_tag(pl_imagestore *s, const char *name, const char *ref, vic_err **err)
{
    name_args a = {.name = name, .ref = ref};
    return with_index(s, tag_fn, &a, err);
}

/* A layer's size as docker history shows it: its files unpacked, or the blob's size when the
 * layer's record cannot say. */
static json_int_t layer_size(const pl_imagestore *s, const json_t *layer)
{
    json_t *meta cleanup_json = NULL;
    const char *diff_id = vic_json_str(layer, "diff_id");
    if (pl_digest_valid(diff_id) && load_layer_meta(&meta, s, diff_id, NULL) == 0 &&
        json_is_integer(json_object_get(meta, "bytes")))
        return json_integer_value(json_object_get(meta, "bytes"));
    return json_integer_value(json_object_get(layer, "size"));
}

static json_t *history_entry(const json_t *h, const char *created, const json_t *layer,
                             json_int_t size)
{
    const char *by = vic_json_str(h, "created_by"), *comment = vic_json_str(h, "comment");
    const char *when = vic_json_str(h, "created");
    return json_pack("{s:s, s:s, s:s, s:b, s:O, s:I}", "created", when ? when : created,
                     "created_by", by ? by : "", "comment", comment ? comment : "", "empty_layer",
                     layer == NULL, "layer",
                     layer ? json_object_get(layer, "diff_id") : json_null(), "size", size);
}

int pl_imagestore_history(json_t **out, pl_imagestore *s, const char *name, vic_err **err)
{
    *out = NULL;
    json_t *img cleanup_json = NULL;
    int rc = pl_imagestore_inspect(&img, s, name, err);
    if (rc < 0)
        return rc;
    const char *id = vic_json_str(img, "id");
    cleanup_free char *text = NULL;
    size_t len = 0;
    json_t *config cleanup_json = NULL;
    if (pl_imagestore_read_blob(&text, &len, s, id, INDEX_MAX, err) < 0 ||
        vic_json_parse(&config, text, len, 0, NULL) < 0 || !json_is_object(config)) {
        vic_err_free(err);
        return vic_err_set(err, VIC_ECORRUPT, "image %.19s: its config is unreadable", id);
    }
    const char *created = vic_json_str(img, "created");
    created = created ? created : "";
    json_t *layers = json_object_get(img, "layers");
    size_t next = 0, i;
    json_t *h, *arr = json_array();
    json_array_foreach(json_object_get(config, "history"), i, h)
    {
        if (!json_is_object(h))
            continue;
        const json_t *layer = NULL;
        if (!json_is_true(json_object_get(h, "empty_layer")) && next < json_array_size(layers))
            layer = json_array_get(layers, next++);
        json_array_append_new(arr,
                              history_entry(h, created, layer, layer ? layer_size(s, layer) : 0));
    }
    for (; next < json_array_size(layers); next++) {
        const json_t *layer = json_array_get(layers, next);
        json_array_append_new(arr, history_entry(NULL, created, layer, layer_size(s, layer)));
    }
    *out = arr;
    return 0;
}

/* Deletes what the removed image rec held that no image in images still uses. */
static int gc_image(pl_imagestore *s, json_t *images, const json_t *rec, json_t *report,
                    vic_err **err)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rec, "layers"), i, v)
    {
        const char *diff_id = vic_json_str(v, "diff_id");
        int used = 0;
        const char *k;
        json_t *other;
        json_object_foreach(images, k, other)
        {
            size_t j;
            json_t *ol;
            json_array_foreach(json_object_get(other, "layers"), j,
                               ol) if (diff_id && vic_json_str(ol, "diff_id") &&
                                       strcmp(vic_json_str(ol, "diff_id"), diff_id) == 0) used = 1;
        }
        if (used || !pl_digest_valid(diff_id))
            continue;
        cleanup_free char *d = layer_dir(s, diff_id);
        int rc = vic_rm_rf(d, err);
        if (rc < 0)
            return rc;
        json_array_append_new(report, json_pack("{s:s}", "Deleted", diff_id));
    }
    json_array_foreach(json_object_get(rec, "blobs"), i, v)
    {
        const char *dig = json_string_value(v);
        int used = 0;
        const char *k;
        json_t *other;
        json_object_foreach(images, k, other) if (str_in(json_object_get(other, "blobs"), dig))
            used = 1;
        cleanup_free char *p = NULL;
        if (used || pl_imagestore_blob_path(&p, s, dig, NULL) < 0)
            continue;
        if (unlink(p) != 0 && errno != ENOENT)
            return vic_err_sys(err, VIC_EIO, errno, "unlink %s", p);
    }
    return 0;
}

static int remove_fn(json_t *images, void *payload, int *changed, vic_err **err)
{
    name_args *a = payload;
    json_t *rec;
    const char *idp;
    cleanup_free char *matched = NULL;
    match_kind kind;
    int rc = find_image(&rec, &idp, &matched, &kind, images, a->name, err);
    if (rc < 0)
        return rc;
    cleanup_free char *id = xstrdup(idp);
    json_t *tags = json_object_get(rec, "repo_tags");
    json_t *digests = json_object_get(rec, "repo_digests");
    a->result = json_array();
    if (kind != MATCH_ID) {
        str_del(kind == MATCH_TAG ? tags : digests, matched);
        json_array_append_new(a->result, json_pack("{s:s}", "Untagged", matched));
        *changed = 1;
        if (json_array_size(tags) > 0)
            return 0; /* still tagged: the image stays */
    } else if (json_array_size(tags) > 1 && !a->force) {
        return vic_err_set(err, VIC_ECONFLICT,
                           "image %.19s is referenced by %zu tags: remove them or force", id,
                           json_array_size(tags));
    }
    size_t i;
    json_t *v;
    json_array_foreach(tags, i, v)
        json_array_append_new(a->result, json_pack("{s:O}", "Untagged", v));
    json_array_foreach(digests, i, v)
        json_array_append_new(a->result, json_pack("{s:O}", "Untagged", v));
    json_t *gone = json_incref(rec);
    json_object_del(images, id);
    *changed = 1;
    json_array_append_new(a->result, json_pack("{s:s}", "Deleted", id));
    rc = gc_image(a->s, images, gone, a->result, err);
    json_decref(gone);
    return rc;
}

int pl_imagestore_remove(json_t **out, pl_imagestore *s, const char *name, int force, vic_err **err)
{
    if (out)
        *out = NULL;
    name_args a = {.name = name, .force = force, .s = s};
    int rc = with_index(s, remove_fn, &a, err);
    if (rc == 0 && out)
        *out = a.result;
    else
        json_decref(a.result);
    return rc;
}

int pl_imagestore_build_rootfs(pl_imagestore *s, const char *name, const char *dir,
                               const pl_idmap *ids, vic_err **err)
{
    json_t *img cleanup_json = NULL;
    int rc = pl_imagestore_inspect(&img, s, name, err);
    if (rc < 0)
        return rc;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return vic_err_sys(err, VIC_EIO, errno, "mkdir %s", dir);
    {
        DIR *d cleanup_dirp = opendir(dir);
        if (d == NULL)
            return vic_err_sys(err, VIC_EIO, errno, "open %s", dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                return vic_err_set(err, VIC_ECONFLICT, "root disk directory %s is not empty", dir);
    }
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(img, "layers"), i, l)
    {
        const char *diff_id = vic_json_str(l, "diff_id");
        json_t *meta cleanup_json = NULL;
        if (!pl_digest_valid(diff_id))
            return vic_err_set(err, VIC_ECORRUPT, "image %s: bad layer record",
                               vic_json_str(img, "id"));
        rc = load_layer_meta(&meta, s, diff_id, err);
        if (rc < 0)
            return vic_err_wrap(err, rc, "image %s", vic_json_str(img, "id"));
        cleanup_free char *ld = layer_dir(s, diff_id);
        cleanup_free char *lroot = xasprintf("%s/rootfs", ld);
        rc = pl_layer_apply(dir, lroot, meta, ids, err);
        if (rc < 0)
            return vic_err_wrap(err, rc, "apply layer %s", diff_id);
    }
    return 0;
}
