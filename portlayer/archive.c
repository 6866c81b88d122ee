/*
 * archive.c - docker cp's file system side (see archive.h).
 *
 * Every lookup goes through openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
 * from a descriptor of the root the path falls in (the root disk or a volume), so symlinks
 * and ".." are resolved as the guest's kernel would, and never lead out. The last component
 * of what is written is never followed: files are made with O_EXCL | O_NOFOLLOW after the old
 * entry is removed, and metadata is set on descriptors or with AT_SYMLINK_NOFOLLOW.
 *
 * A put validates the whole archive before writing anything (rather than unpacking beside
 * and renaming, which cannot merge into an existing directory tree as docker cp must): a
 * hostile or malformed archive is refused untouched. Only failures of the host's file system
 * during the second pass can leave part of an archive written.
 */
#include "portlayer/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/cleanup.h"
#include "lib/mem.h"
#include "portlayer/layer.h"

#define MAX_DEPTH 256
#define NOBODY    65534u

typedef struct fs_root {
    char *target; /* where it shows in the guest: "/" for the root disk */
    int fd;       /* O_PATH directory */
    char *real;   /* its host path, resolved (to turn /proc/self/fd links into guest paths) */
    bool read_only;
} fs_root;

struct pl_fs {
    fs_root roots[1 + PL_FS_MAX_MOUNTS]; /* [0] is the root disk */
    size_t n_roots;
    uint32_t id_base, id_count;
};

/* ---- paths ---- */

char *pl_fs_clean_path(const char *path)
{
    char *out = NULL;
    vic_path_normalise(&out, path, 0); /* cannot fail without flags */
    return out;
}

/* Docker follows the last component of a path that ends in "/" or "/.". */
static bool follows_last(const char *raw)
{
    size_t n = strlen(raw);
    return (n && raw[n - 1] == '/') || (n >= 2 && strcmp(raw + n - 2, "/.") == 0) ||
           strcmp(raw, ".") == 0;
}

static int open_in_root(int rootfd, const char *rel, bool follow, bool dir)
{
    struct open_how how = {
        .flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW) | (dir ? O_DIRECTORY : 0),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
    };
    long fd;
    do
        fd = syscall(SYS_openat2, rootfd, rel[0] ? rel : ".", &how, sizeof(how));
    while (fd < 0 && errno == EAGAIN);
    return (int)fd;
}

/* The root (disk or volume) a cleaned guest path falls in, and the path relative to it. */
static fs_root *locate(pl_fs *fs, const char *gpath, const char **rel)
{
    fs_root *best = &fs->roots[0];
    size_t best_len = 0;
    for (size_t i = 1; i < fs->n_roots; i++) {
        size_t n = strlen(fs->roots[i].target);
        if (n > best_len && strncmp(gpath, fs->roots[i].target, n) == 0 &&
            (gpath[n] == '\0' || gpath[n] == '/')) {
            best = &fs->roots[i];
            best_len = n;
        }
    }
    const char *r = gpath + best_len;
    while (*r == '/')
        r++;
    *rel = r;
    return best;
}

/* The guest path of an open descriptor below root r. NULL when it cannot tell. */
static char *guest_path_of(const fs_root *r, int fd)
{
    char link[64], host[PATH_MAX + 1];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, host, sizeof(host) - 1);
    if (n < 0)
        return NULL;
    host[n] = '\0';
    size_t rl = strlen(r->real);
    if (strncmp(host, r->real, rl) != 0 || (host[rl] != '\0' && host[rl] != '/'))
        return NULL;
    char *joined = xasprintf("%s/%s", strcmp(r->target, "/") ? r->target : "", host + rl);
    char *clean = pl_fs_clean_path(joined);
    free(joined);
    return clean;
}

static void split_rel(const char *rel, char **parent, const char **leaf)
{
    const char *slash = strrchr(rel, '/');
    *parent = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup("");
    *leaf = slash ? slash + 1 : rel;
}

/* An object at a guest path as Docker addresses it: the directory holding it (resolved in
 * its root) and its name there, "." when the object is that directory itself. */
typedef struct located {
    fs_root *root;
    int pfd;
    const char *leaf;
    char *parent;
    char *gpath;
} located;

static void located_clear(located *l)
{
    if (l->pfd >= 0)
        close(l->pfd);
    free(l->parent);
    free(l->gpath);
    memset(l, 0, sizeof(*l));
    l->pfd = -1;
}

static int not_found(vic_err **err, const char *path)
{
    return vic_err_set(err, VIC_ENOTFOUND, "Could not find the file %.1024s", path);
}

static int locate_object(pl_fs *fs, const char *raw, located *out, vic_err **err)
{
    memset(out, 0, sizeof(*out));
    out->pfd = -1;
    out->gpath = pl_fs_clean_path(raw);
    const char *rel;
    out->root = locate(fs, out->gpath, &rel);
    if (rel[0] == '\0' || follows_last(raw)) {
        out->pfd = open_in_root(out->root->fd, rel, true, false);
        out->parent = xstrdup(rel);
        out->leaf = ".";
    } else {
        const char *leaf;
        split_rel(rel, &out->parent, &leaf);
        out->pfd = open_in_root(out->root->fd, out->parent, true, true);
        out->leaf = rel + (leaf - rel);
    }
    if (out->pfd < 0) {
        int e = errno;
        located_clear(out);
        if (e == ENOENT || e == ENOTDIR || e == ELOOP)
            return not_found(err, raw);
        return vic_err_sys(err, VIC_EIO, e, "resolve %.1024s", raw);
    }
    return 0;
}

/* ---- open, mounts, ids ---- */

static int root_init(fs_root *r, const char *target, const char *dir, bool ro, vic_err **err)
{
    char real[PATH_MAX];
    if (realpath(dir, real) == NULL)
        return vic_err_sys(err, errno == ENOENT ? VIC_ENOTFOUND : VIC_EIO, errno, "%s", dir);
    int fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open %s", dir);
    r->fd = fd;
    r->real = xstrdup(real);
    r->target = pl_fs_clean_path(target);
    r->read_only = ro;
    return 0;
}

int pl_fs_open(pl_fs **out, const char *root_dir, vic_err **err)
{
    *out = NULL;
    pl_fs *fs = xzalloc(sizeof(*fs));
    int rc = root_init(&fs->roots[0], "/", root_dir, false, err);
    if (rc < 0) {
        free(fs);
        return vic_err_wrap(err, rc, "container root disk");
    }
    fs->n_roots = 1;
    *out = fs;
    return 0;
}

void pl_fs_free(pl_fs *fs)
{
    if (fs == NULL)
        return;
    for (size_t i = 0; i < fs->n_roots; i++) {
        close(fs->roots[i].fd);
        free(fs->roots[i].real);
        free(fs->roots[i].target);
    }
    free(fs);
}

int pl_fs_add_mount(pl_fs *fs, const char *target, const char *dir, bool read_only, vic_err **err)
{
    if (fs->n_roots >= 1 + PL_FS_MAX_MOUNTS)
        return vic_err_set(err, VIC_ELIMIT, "more than %d mounts", PL_FS_MAX_MOUNTS);
    if (target == NULL || target[0] != '/')
        return vic_err_set(err, VIC_EINVAL, "mount target \"%.200s\" is not absolute",
                           target ? target : "");
    int rc = root_init(&fs->roots[fs->n_roots], target, dir, read_only, err);
    if (rc < 0)
        return vic_err_wrap(err, rc, "volume at %.200s", target);
    fs->n_roots++;
    return 0;
}

void pl_fs_set_id_shift(pl_fs *fs, uint32_t base, uint32_t count)
{
    fs->id_base = base;
    fs->id_count = count;
}

static int64_t to_guest(const pl_fs *fs, uint32_t host)
{
    if (fs->id_count == 0)
        return host;
    if (host >= fs->id_base && host - fs->id_base < fs->id_count)
        return host - fs->id_base;
    return host < fs->id_count ? host : NOBODY; /* not shifted yet (a disk never attached) */
}

static uint32_t to_host(const pl_fs *fs, int64_t guest)
{
    if (fs->id_count == 0)
        return (uint32_t)guest;
    return fs->id_base + (guest >= 0 && guest < fs->id_count ? (uint32_t)guest : NOBODY);
}

/* ---- stat ---- */

/* Go's os.FileMode of a stat mode. */
static uint32_t go_mode(mode_t m)
{
    uint32_t g = m & 0777;
    if (m & S_ISUID)
        g |= 1u << 23;
    if (m & S_ISGID)
        g |= 1u << 22;
    if (m & S_ISVTX)
        g |= 1u << 20;
    switch (m & S_IFMT) {
    case S_IFDIR:
        g |= 1u << 31;
        break;
    case S_IFLNK:
        g |= 1u << 27;
        break;
    case S_IFIFO:
        g |= 1u << 25;
        break;
    case S_IFSOCK:
        g |= 1u << 24;
        break;
    case S_IFBLK:
        g |= 1u << 26;
        break;
    case S_IFCHR:
        g |= (1u << 26) | (1u << 21);
        break;
    default:
        break;
    }
    return g;
}

/* A symlink's target resolved in the container, as an absolute guest path. */
static char *link_target(pl_fs *fs, const located *l)
{
    const char *rel;
    fs_root *r = locate(fs, l->gpath, &rel);
    int fd cleanup_close = open_in_root(r->fd, rel, true, false);
    if (fd >= 0) {
        char *g = guest_path_of(r, fd);
        if (g)
            return g;
    }
    /* dangling: the target as written, from the link's directory */
    char text[PATH_MAX + 1];
    ssize_t n = readlinkat(l->pfd, l->leaf, text, sizeof(text) - 1);
    if (n < 0)
        return xstrdup("");
    text[n] = '\0';
    if (text[0] == '/')
        return pl_fs_clean_path(text);
    cleanup_free char *dir = xstrdup(l->gpath);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    cleanup_free char *joined = xasprintf("%s/%s", dir, text);
    return pl_fs_clean_path(joined);
}

static const char *base_name(const char *gpath)
{
    if (strcmp(gpath, "/") == 0)
        return "/";
    return strrchr(gpath, '/') + 1;
}

int pl_fs_stat(pl_fs *fs, const char *path, json_t **out, vic_err **err)
{
    *out = NULL;
    located l;
    int rc = locate_object(fs, path, &l, err);
    if (rc < 0)
        return rc;
    struct stat st;
    if (fstatat(l.pfd, l.leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int e = errno;
        located_clear(&l);
        return e == ENOENT || e == ENOTDIR ? not_found(err, path)
                                           : vic_err_sys(err, VIC_EIO, e, "stat %.1024s", path);
    }
    cleanup_free char *target = S_ISLNK(st.st_mode) ? link_target(fs, &l) : xstrdup("");
    struct tm tm;
    gmtime_r(&st.st_mtim.tv_sec, &tm);
    char mtime[64];
    snprintf(mtime, sizeof(mtime), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, st.st_mtim.tv_nsec);
    *out = json_pack("{s:s, s:I, s:I, s:s, s:s}", "name", base_name(l.gpath), "size",
                     (json_int_t)st.st_size, "mode", (json_int_t)go_mode(st.st_mode), "mtime",
                     mtime, "linkTarget", target);
    located_clear(&l);
    if (*out == NULL) /* a name that is not UTF-8 */
        return vic_err_set(err, VIC_EINVAL, "%.1024s: a name JSON cannot carry", path);
    return 0;
}

/* ---- get: a tar of a path ---- */

typedef struct getter {
    pl_fs *fs;
    struct archive *a;
    pl_fs_write_fn fn;
    void *payload;
    int stopped;
} getter;

static la_ssize_t get_write(struct archive *a, void *payload, const void *buf, size_t n)
{
    getter *g = payload;
    if (g->fn(buf, n, g->payload) != 0) {
        g->stopped = 1;
        archive_set_error(a, EPIPE, "receiver gone");
        return -1;
    }
    return (la_ssize_t)n;
}

static int get_fail(getter *g, const char *name, vic_err **err)
{
    if (g->stopped)
        return vic_err_set(err, VIC_EUNAVAIL, "the receiver left");
    return vic_err_set(err, VIC_EIO, "archive %.512s: %s", name, archive_error_string(g->a));
}

/* Writes the object leaf of directory dfd as entry name (gpath: its guest path), and what
 * is under it. */
static int get_one(getter *g, int dfd, const char *leaf, const char *name, const char *gpath,
                   int depth, vic_err **err)
{
    if (depth > MAX_DEPTH)
        return vic_err_set(err, VIC_EINVAL, "%.512s: directories nested too deep", gpath);
    struct stat st;
    if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : vic_err_sys(err, VIC_EIO, errno, "stat %.512s", gpath);
    /* a volume's target shows the volume */
    const char *rel;
    fs_root *r = S_ISDIR(st.st_mode) && depth > 0 ? locate(g->fs, gpath, &rel) : NULL;
    int mfd cleanup_close = -1;
    if (r && r != &g->fs->roots[0] && rel[0] == '\0') {
        mfd = openat(r->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (mfd < 0 || fstat(mfd, &st) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "open volume at %.512s", gpath);
    }
    if (S_ISSOCK(st.st_mode))
        return 0; /* a tar cannot carry a socket */
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_mode(e, st.st_mode);
    archive_entry_set_uid(e, to_guest(g->fs, st.st_uid));
    archive_entry_set_gid(e, to_guest(g->fs, st.st_gid));
    archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    archive_entry_set_size(e, S_ISREG(st.st_mode) ? st.st_size : 0);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        archive_entry_set_rdev(e, st.st_rdev);
    int fd cleanup_close = -1;
    if (S_ISLNK(st.st_mode)) {
        char text[PATH_MAX + 1];
        ssize_t n = readlinkat(dfd, leaf, text, sizeof(text) - 1);
        if (n < 0) {
            archive_entry_free(e);
            return vic_err_sys(err, VIC_EIO, errno, "readlink %.512s", gpath);
        }
        text[n] = '\0';
        archive_entry_set_symlink(e, text);
    } else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        if (mfd >= 0) {
            fd = mfd;
            mfd = -1;
        } else {
            fd = openat(dfd, leaf,
                        O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
                            (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
        }
        if (fd < 0) {
            archive_entry_free(e);
            return vic_err_sys(err, VIC_EIO, errno, "open %.512s", gpath);
        }
    }
    int r_hdr = archive_write_header(g->a, e);
    archive_entry_free(e);
    if (r_hdr < ARCHIVE_WARN)
        return get_fail(g, name, err);
    if (S_ISREG(st.st_mode)) {
        char buf[64 * 1024];
        off_t left = st.st_size;
        while (left > 0) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return vic_err_sys(err, VIC_EIO, errno, "read %.512s", gpath);
            if (n == 0)
                break; /* it shrank: the entry is padded */
            if (n > left)
                n = (ssize_t)left;
            if (archive_write_data(g->a, buf, (size_t)n) < 0)
                return get_fail(g, name, err);
            left -= n;
        }
    }
    if (archive_write_finish_entry(g->a) < ARCHIVE_WARN)
        return get_fail(g, name, err);
    if (!S_ISDIR(st.st_mode))
        return 0;
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
    if (d == NULL) {
        if (dup >= 0)
            close(dup);
        return vic_err_sys(err, VIC_EIO, errno, "list %.512s", gpath);
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        cleanup_free char *cname = xasprintf("%s/%s", name, de->d_name);
        cleanup_free char *cg = xasprintf("%s/%s", strcmp(gpath, "/") ? gpath : "", de->d_name);
        rc = get_one(g, fd, de->d_name, cname, cg, depth + 1, err);
    }
    closedir(d);
    return rc;
}

int pl_fs_get(pl_fs *fs, const char *path, pl_fs_write_fn fn, void *payload, vic_err **err)
{
    located l;
    int rc = locate_object(fs, path, &l, err);
    if (rc < 0)
        return rc;
    struct stat st;
    if (fstatat(l.pfd, l.leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        located_clear(&l);
        return not_found(err, path);
    }
    size_t n = strlen(path);
    const char *name = (n >= 2 && strcmp(path + n - 2, "/.") == 0) || strcmp(l.gpath, "/") == 0
                           ? "."
                           : base_name(l.gpath);
    getter g = {.fs = fs, .fn = fn, .payload = payload};
    g.a = archive_write_new();
    archive_write_set_format_pax_restricted(g.a);
    if (archive_write_open(g.a, &g, NULL, get_write, NULL) != ARCHIVE_OK) {
        rc = get_fail(&g, name, err);
    } else {
        rc = get_one(&g, l.pfd, l.leaf, name, l.gpath, 0, err);
        if (rc == 0 && archive_write_close(g.a) != ARCHIVE_OK)
            rc = get_fail(&g, name, err);
    }
    archive_write_free(g.a);
    located_clear(&l);
    return rc;
}

/* ---- put: a tar unpacked into a directory ---- */

typedef struct putter {
    pl_fs *fs;
    const pl_fs_put_opts *o;
    uint64_t max_bytes, max_entries;
    char *dest;     /* the destination's guest path, symlinks resolved */
    bool write;     /* second pass */
    uint64_t bytes; /* file data seen, or declared when more */
    uint64_t entries;
    json_t *seen; /* the first pass's entries (guest paths), for hard links' targets */
} putter;

/* Opens (making missing ones, owned by the guest's root) the directory rel of root r. */
static int ensure_parent(putter *p, fs_root *r, const char *rel, int *out, vic_err **err)
{
    int fd = open_in_root(r->fd, rel, true, true);
    if (fd >= 0 || errno != ENOENT) {
        if (fd < 0)
            return vic_err_sys(err, errno == ENOTDIR || errno == ELOOP ? VIC_EINVAL : VIC_EIO,
                               errno, "open directory %.512s", rel);
        *out = fd;
        return 0;
    }
    /* make each missing component, each inside the one resolved before it */
    fd = open_in_root(r->fd, "", true, true);
    const char *s = rel;
    while (fd >= 0 && *s) {
        size_t len = strcspn(s, "/");
        cleanup_free char *comp = xstrndup(s, len);
        cleanup_free char *prefix = xstrndup(rel, (size_t)(s - rel) + len);
        int next = open_in_root(r->fd, prefix, true, true);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat(fd, comp, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                close(fd);
                return vic_err_sys(err, VIC_EIO, e, "mkdir %.512s", prefix);
            }
            if (geteuid() == 0)
                fchownat(fd, comp, to_host(p->fs, 0), to_host(p->fs, 0), AT_SYMLINK_NOFOLLOW);
            next = open_in_root(r->fd, prefix, true, true);
        }
        int e = errno;
        close(fd);
        fd = next;
        if (fd < 0)
            return vic_err_sys(err, e == ENOTDIR || e == ELOOP ? VIC_EINVAL : VIC_EIO, e,
                               "open directory %.512s", prefix);
        s += len;
        while (*s == '/')
            s++;
    }
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open %.512s", r->target);
    *out = fd;
    return 0;
}

static int set_owner_mode_time(putter *p, int fd, struct archive_entry *e, const char *name,
                               vic_err **err)
{
    if (geteuid() == 0 &&
        fchown(fd, to_host(p->fs, archive_entry_uid(e)), to_host(p->fs, archive_entry_gid(e))))
        return vic_err_sys(err, VIC_EIO, errno, "chown %.512s", name);
    if (fchmod(fd, archive_entry_perm(e) & 07777) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "chmod %.512s", name);
    long ns = archive_entry_mtime_nsec(e);
    struct timespec ts[2] = {{archive_entry_mtime(e), ns >= 0 && ns < 1000000000 ? ns : 0}};
    ts[1] = ts[0];
    if (futimens(fd, ts) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "utimes %.512s", name);
    return 0;
}

/* Where an archive entry (a normalised relative name) lands: its root and the path there. */
static fs_root *entry_place(putter *p, const char *name, char **gpath, const char **rel)
{
    cleanup_free char *joined = xasprintf("%s/%s", p->dest, name);
    *gpath = pl_fs_clean_path(joined);
    return locate(p->fs, *gpath, rel);
}

/* Refuses to put a directory over a non-directory or the other way round when asked to
 * (Docker's noOverwriteDirNonDir); otherwise removes what is in the way. */
static int clear_way(putter *p, int pfd, const char *leaf, bool want_dir, const char *name,
                     vic_err **err)
{
    struct stat st;
    if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 0;
    bool is_dir = S_ISDIR(st.st_mode);
    if (want_dir && is_dir)
        return 0;
    if (p->o->no_overwrite_dir_non_dir && is_dir != want_dir)
        return vic_err_set(err, VIC_EINVAL,
                           is_dir ? "cannot overwrite directory \"%.512s\" with non-directory"
                                  : "cannot overwrite non-directory \"%.512s\" with directory",
                           name);
    if (!p->write)
        return 0;
    return vic_remove_at(pfd, leaf, err);
}

static int put_data(putter *p, struct archive *a, int fd, const char *name, vic_err **err)
{
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int r = archive_read_data_block(a, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return vic_err_set(err, VIC_EINVAL, "%.512s: %s", name, archive_error_string(a));
        p->bytes += size;
        if (p->bytes > p->max_bytes)
            return vic_err_set(err, VIC_ETOOBIG, "the archive holds more than %llu bytes",
                               (unsigned long long)p->max_bytes);
        if (fd < 0)
            continue;
        const char *c = buf;
        while (size > 0) {
            ssize_t w = pwrite(fd, c, size, (off_t)off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return vic_err_sys(err, VIC_EIO, errno, "write %.512s", name);
            c += w;
            size -= (size_t)w;
            off += w;
        }
    }
}

static int put_entry(putter *p, struct archive *a, struct archive_entry *e, vic_err **err)
{
    if (++p->entries > p->max_entries)
        return vic_err_set(err, VIC_ETOOBIG, "the archive holds more than %llu entries",
                           (unsigned long long)p->max_entries);
    cleanup_free char *name = NULL;
    int rc = pl_tar_path_norm(&name, archive_entry_pathname(e), err);
    if (rc < 0)
        return rc;
    if (name[0] == '\0')
        return 0; /* the destination itself: it stays as it is */
    const char *hardlink = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    if (hardlink == NULL && type != AE_IFDIR && type != AE_IFREG && type != AE_IFLNK &&
        type != AE_IFIFO)
        return vic_err_set(err, VIC_EINVAL,
                           "%.512s: device nodes and sockets are not copied into a container",
                           name);
    if (type == AE_IFLNK && (archive_entry_symlink(e) == NULL || !archive_entry_symlink(e)[0]))
        return vic_err_set(err, VIC_EINVAL, "symlink %.512s without a target", name);
    la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
    if (uid < 0 || gid < 0 || uid > 0xfffffffe || gid > 0xfffffffe)
        return vic_err_set(err, VIC_EINVAL, "%.512s: owner %lld:%lld out of range", name,
                           (long long)uid, (long long)gid);

    if (type == AE_IFREG && !hardlink && archive_entry_size_is_set(e) &&
        (archive_entry_size(e) < 0 || (uint64_t)archive_entry_size(e) > p->max_bytes - p->bytes))
        return vic_err_set(err, VIC_ETOOBIG, "the archive holds more than %llu bytes",
                           (unsigned long long)p->max_bytes);
    cleanup_free char *gpath = NULL;
    const char *rel;
    fs_root *r = entry_place(p, name, &gpath, &rel);
    if (r->read_only)
        return vic_err_set(err, VIC_EFORBIDDEN, "%.512s: mounted volume is marked read-only",
                           gpath);
    if (rel[0] == '\0') /* the target of a volume: it stays the volume */
        return put_data(p, a, -1, name, err);

    cleanup_free char *target = NULL, *tgpath = NULL;
    const char *trel = NULL;
    fs_root *tr = NULL;
    if (hardlink) {
        rc = pl_tar_path_norm(&target, hardlink, err);
        if (rc < 0)
            return vic_err_wrap(err, rc, "hard link %.512s", name);
        tr = entry_place(p, target, &tgpath, &trel);
        if (tr != r || trel[0] == '\0')
            return vic_err_set(err, VIC_EINVAL,
                               "hard link %.512s: target %.512s is on another volume", name,
                               target);
        if (strcmp(tgpath, gpath) == 0) /* a link to itself changes nothing */
            return put_data(p, a, -1, name, err);
    }
    if (!p->write) {
        json_object_set_new(p->seen, gpath, json_true());
        if (hardlink && !json_object_get(p->seen, tgpath)) {
            /* not in the archive before it: it must be in the container already */
            cleanup_free char *tparent = NULL;
            const char *tleaf;
            split_rel(trel, &tparent, &tleaf);
            int tfd cleanup_close = open_in_root(r->fd, tparent, true, true);
            struct stat st;
            if (tfd < 0 || fstatat(tfd, tleaf, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                S_ISDIR(st.st_mode))
                return vic_err_set(err, VIC_EINVAL,
                                   "hard link %.512s: target %.512s is missing or a directory",
                                   name, target);
        }
    }

    cleanup_free char *parent = NULL;
    const char *leaf;
    split_rel(rel, &parent, &leaf);
    int pfd cleanup_close = -1;
    if (!p->write) {
        /* check what is there already, where the parent exists */
        pfd = open_in_root(r->fd, parent, true, true);
        if (pfd >= 0 &&
            (rc = clear_way(p, pfd, leaf, type == AE_IFDIR && !hardlink, name, err)) < 0)
            return rc;
        return put_data(p, a, -1, name, err);
    }
    if ((rc = ensure_parent(p, r, parent, &pfd, err)) < 0)
        return rc;
    if ((rc = clear_way(p, pfd, leaf, type == AE_IFDIR && !hardlink, name, err)) < 0)
        return rc;

    if (hardlink) {
        cleanup_free char *tparent = NULL;
        const char *tleaf;
        split_rel(trel, &tparent, &tleaf);
        int tfd cleanup_close = open_in_root(r->fd, tparent, true, true);
        struct stat st;
        if (tfd < 0 || fstatat(tfd, tleaf, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
            return vic_err_set(err, VIC_EINVAL,
                               "hard link %.512s: target %.512s is missing or a directory", name,
                               target);
        if (linkat(tfd, tleaf, pfd, leaf, 0) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "link %.512s", name);
        return put_data(p, a, -1, name, err);
    }
    switch (type) {
    case AE_IFDIR: {
        if (mkdirat(pfd, leaf, 0700) != 0 && errno != EEXIST)
            return vic_err_sys(err, VIC_EIO, errno, "mkdir %.512s", name);
        int fd cleanup_close = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return vic_err_sys(err, VIC_EIO, errno, "open %.512s", name);
        if ((rc = set_owner_mode_time(p, fd, e, name, err)) < 0)
            return rc;
        return put_data(p, a, -1, name, err);
    }
    case AE_IFREG: {
        int fd cleanup_close =
            openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return vic_err_sys(err, VIC_EIO, errno, "create %.512s", name);
        if ((rc = put_data(p, a, fd, name, err)) < 0)
            return rc;
        if (archive_entry_size_is_set(e) && ftruncate(fd, (off_t)archive_entry_size(e)) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "truncate %.512s", name);
        return set_owner_mode_time(p, fd, e, name, err);
    }
    case AE_IFLNK: {
        /* stored as text, never followed here */
        if (symlinkat(archive_entry_symlink(e), pfd, leaf) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "symlink %.512s", name);
        if (geteuid() == 0 &&
            fchownat(pfd, leaf, to_host(p->fs, uid), to_host(p->fs, gid), AT_SYMLINK_NOFOLLOW) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "chown %.512s", name);
        return put_data(p, a, -1, name, err);
    }
    default: { /* AE_IFIFO */
        if (mkfifoat(pfd, leaf, 0600) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "mkfifo %.512s", name);
        int fd cleanup_close = openat(pfd, leaf, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return vic_err_sys(err, VIC_EIO, errno, "open %.512s", name);
        if ((rc = set_owner_mode_time(p, fd, e, name, err)) < 0)
            return rc;
        return put_data(p, a, -1, name, err);
    }
    }
}

static int put_pass(putter *p, int tar_fd, off_t start, vic_err **err)
{
    if (lseek(tar_fd, start, SEEK_SET) != start)
        return vic_err_sys(err, VIC_EIO, errno, "rewind the archive");
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_none(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_empty(a);
    int rc = 0;
    if (archive_read_open_fd(a, tar_fd, 64 * 1024) != ARCHIVE_OK) {
        rc = vic_err_set(err, VIC_EINVAL, "not a tar archive: %s", archive_error_string(a));
        goto done;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = vic_err_set(err, VIC_EINVAL, "not a valid tar archive: %s",
                             archive_error_string(a));
            break;
        }
        if ((rc = put_entry(p, a, e, err)) < 0)
            break;
    }
done:
    archive_read_free(a);
    return rc;
}

int pl_fs_put(pl_fs *fs, const char *dir, int tar_fd, const pl_fs_put_opts *o, vic_err **err)
{
    static const pl_fs_put_opts none = {0};
    if (o == NULL)
        o = &none;
    off_t start = lseek(tar_fd, 0, SEEK_CUR);
    if (start < 0)
        return vic_err_sys(err, VIC_EINVAL, errno, "the archive must be a file");
    cleanup_free char *gpath = pl_fs_clean_path(dir);
    const char *rel;
    fs_root *r = locate(fs, gpath, &rel);
    int dfd cleanup_close = open_in_root(r->fd, rel, true, false);
    struct stat st;
    if (dfd < 0 || fstat(dfd, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return not_found(err, dir);
        return vic_err_sys(err, VIC_EIO, errno, "resolve %.1024s", dir);
    }
    if (!S_ISDIR(st.st_mode))
        return vic_err_set(err, VIC_EINVAL, "extraction point is not a directory");
    putter p = {.fs = fs,
                .o = o,
                .max_bytes = o->max_bytes ? o->max_bytes : PL_FS_MAX_BYTES,
                .max_entries = o->max_entries ? o->max_entries : PL_FS_MAX_ENTRIES};
    p.dest = guest_path_of(r, dfd);
    if (p.dest == NULL)
        return vic_err_set(err, VIC_EIO, "cannot tell where %.1024s is", dir);
    p.seen = json_object();
    int rc = put_pass(&p, tar_fd, start, err);
    if (rc == 0) {
        p.write = true;
        p.bytes = p.entries = 0;
        rc = put_pass(&p, tar_fd, start, err);
    }
    free(p.dest);
    json_decref(p.seen);
    return rc;
}
