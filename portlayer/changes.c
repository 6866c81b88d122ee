/*
 * changes.c - a container's root disk against its image (see changes.h).
 *
 * The image's view is a tree in memory, one node per path, built by merging the layers'
 * unpacked trees bottom first the way pl_layer_apply copies them (so a fresh disk compares
 * equal). The disk is then walked directory by directory, its entries and the view's merged
 * in byte order, which gives Docker's kinds and an order where a directory precedes what is
 * inside it. Every descriptor is opened relative to its parent with O_NOFOLLOW: a running
 * container that swaps a directory for a symlink cannot lead the walk out of its disk.
 */
#include "portlayer/changes.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"

#define MAX_DEPTH  256
#define OVERFLOW   65534u
#define CHUNK_SIZE (64 * 1024)

/* What VIC puts on a root disk to start a container (see changes.h); the first two are left
 * out of an export too. */
static const char *const vic_paths[] = {
    "/.tether", "/.vic",      "/dev",          "/proc",
    "/sys",     "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"};
#define N_EXPORT_SKIPPED 2

static int vic_path(const char *path, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(path, vic_paths[i]) == 0)
            return 1;
    return 0;
}

/* ---- the image's view ---- */

typedef struct fmeta {
    mode_t mode; /* type and permissions */
    uid_t uid;
    gid_t gid;
    off_t size;
    struct timespec mtime;
    dev_t rdev;
} fmeta;

typedef struct tnode {
    char *name;
    fmeta m;
    struct tnode **kids; /* sorted by name */
    size_t n, cap;
} tnode;

static void tnode_clear(tnode *t)
{
    for (size_t i = 0; i < t->n; i++) {
        tnode_clear(t->kids[i]);
        free(t->kids[i]->name);
        free(t->kids[i]);
    }
    free(t->kids);
    t->kids = NULL;
    t->n = t->cap = 0;
}

/* The index of name among t's children, or where it would go (*found 0). */
static size_t tnode_pos(const tnode *t, const char *name, int *found)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(t->kids[mid]->name, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static tnode *tnode_add(tnode *t, const char *name, int *existed)
{
    size_t i = tnode_pos(t, name, existed);
    if (*existed)
        return t->kids[i];
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 8;
        t->kids = xrealloc(t->kids, t->cap * sizeof(*t->kids));
    }
    memmove(&t->kids[i + 1], &t->kids[i], (t->n - i) * sizeof(*t->kids));
    tnode *k = xzalloc(sizeof(*k));
    k->name = xstrdup(name);
    t->kids[i] = k;
    t->n++;
    return k;
}

/* The node of a relative path ("a/b"; "" is t), or NULL. With remove, the node is taken out
 * of its parent and freed instead (NULL returned). */
static tnode *tnode_walk(tnode *t, const char *rel, int remove)
{
    char comp[NAME_MAX + 1];
    while (t && *rel) {
        size_t len = strcspn(rel, "/");
        if (len > NAME_MAX)
            return NULL;
        memcpy(comp, rel, len);
        comp[len] = '\0';
        rel += len;
        while (*rel == '/')
            rel++;
        int found;
        size_t i = tnode_pos(t, comp, &found);
        if (!found)
            return NULL;
        if (remove && *rel == '\0') {
            tnode *k = t->kids[i];
            tnode_clear(k);
            free(k->name);
            free(k);
            memmove(&t->kids[i], &t->kids[i + 1], (t->n - i - 1) * sizeof(*t->kids));
            t->n--;
            return NULL;
        }
        t = t->kids[i];
    }
    return t;
}

/* A layer file's metadata as pl_layer_apply writes it onto a disk built with ids. */
static fmeta mapped(const struct stat *st, const pl_idmap *ids)
{
    fmeta m = {.mode = st->st_mode,
               .uid = st->st_uid,
               .gid = st->st_gid,
               .size = st->st_size,
               .mtime = st->st_mtim,
               .rdev = st->st_rdev};
    if (ids && ids->count) {
        if (m.uid >= ids->count) {
            m.uid = OVERFLOW;
            m.mode &= ~(mode_t)S_ISUID;
        }
        if (m.gid >= ids->count) {
            m.gid = OVERFLOW;
            m.mode &= ~(mode_t)S_ISGID;
        }
        m.uid += ids->base;
        m.gid += ids->base;
    }
    return m;
}

typedef struct merge_ctx {
    const pl_idmap *ids;
    const json_t *implicit; /* the layer's: path -> true */
    vic_buf path;           /* relative */
} merge_ctx;

static DIR *dir_of(int fd)
{
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
    if (d == NULL && dup >= 0)
        close(dup);
    return d;
}

/* Merges the layer directory dfd (at mc->path) into node t. */
static int merge_dir(merge_ctx *mc, tnode *t, int dfd, int depth, vic_err **err)
{
    if (depth > MAX_DEPTH)
        return vic_err_set(err, VIC_EINVAL, "layer tree too deep at %.200s", mc->path.data);
    DIR *d cleanup_dirp = dir_of(dfd);
    if (d == NULL)
        return vic_err_sys(err, VIC_EIO, errno, "list layer %.200s", mc->path.data);
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "stat layer %.200s/%s", mc->path.data,
                               de->d_name);
        /* pl_layer_apply copies only these */
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode) &&
            !S_ISFIFO(st.st_mode))
            continue;
        size_t save = mc->path.len;
        if (save)
            vic_buf_append(&mc->path, "/", 1);
        vic_buf_append(&mc->path, de->d_name, strlen(de->d_name));
        int existed;
        tnode *k = tnode_add(t, de->d_name, &existed);
        if (S_ISDIR(st.st_mode)) {
            /* a directory the layer only made as a parent keeps what lower layers said */
            if (!(existed && S_ISDIR(k->m.mode) && json_object_get(mc->implicit, mc->path.data)))
                k->m = mapped(&st, mc->ids);
            int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
                rc = vic_err_sys(err, VIC_EIO, errno, "open layer %.200s", mc->path.data);
            else
                rc = merge_dir(mc, k, sub, depth + 1, err);
            if (sub >= 0)
                close(sub);
        } else {
            tnode_clear(k);
            k->m = mapped(&st, mc->ids);
        }
        mc->path.len = save;
        mc->path.data[save] = '\0';
    }
    return rc;
}

static int view_build(tnode *root, const json_t *layers, const pl_idmap *ids, vic_err **err)
{
    size_t i;
    const json_t *l;
    json_array_foreach(layers, i, l)
    {
        const json_t *meta = json_object_get(l, "meta");
        size_t k;
        json_t *v;
        json_array_foreach(json_object_get(meta, "opaque"), k, v)
        {
            tnode *t = json_is_string(v) ? tnode_walk(root, json_string_value(v), 0) : NULL;
            if (t)
                tnode_clear(t);
        }
        json_array_foreach(json_object_get(meta, "whiteouts"), k, v)
        {
            const char *w = json_string_value(v);
            if (w && *w)
                tnode_walk(root, w, 1);
        }
        json_t *implicit cleanup_json = json_object();
        json_array_foreach(json_object_get(meta, "implicit"), k, v)
        {
            if (json_is_string(v))
                json_object_set(implicit, json_string_value(v), json_true());
        }
        const char *lroot = vic_json_str(l, "root");
        int fd cleanup_close =
            lroot ? open(lroot, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
        if (fd < 0)
            return vic_err_sys(err, VIC_EIO, lroot ? errno : EINVAL, "open layer %s",
                               lroot ? lroot : "(none)");
        merge_ctx mc = {.ids = ids, .implicit = implicit, .path = VIC_BUF_INIT};
        vic_buf_append(&mc.path, "", 0);
        int rc = merge_dir(&mc, root, fd, 0, err);
        vic_buf_free(&mc.path);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- the walk of the disk ---- */

typedef struct change {
    char *path;
    int kind;
} change;

typedef struct diff_ctx {
    change *items;
    size_t n, cap;
    int owners;   /* compare owners (the disk was built by root) */
    vic_buf path; /* absolute; "" for the root */
} diff_ctx;

static void change_insert(diff_ctx *dc, size_t at, const char *path, int kind)
{
    if (dc->n == dc->cap) {
        dc->cap = dc->cap ? 2 * dc->cap : 64;
        dc->items = xrealloc(dc->items, dc->cap * sizeof(*dc->items));
    }
    memmove(&dc->items[at + 1], &dc->items[at], (dc->n - at) * sizeof(*dc->items));
    dc->items[at] = (change){xstrdup(path), kind};
    dc->n++;
}

/* Docker's sameFsTime: equal, or equal seconds where one side has no nanoseconds. */
static int same_time(struct timespec a, struct timespec b)
{
    return (a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec) ||
           (a.tv_sec == b.tv_sec && (a.tv_nsec == 0 || b.tv_nsec == 0));
}

/* Docker's statDifferent. */
static int differs(const diff_ctx *dc, const fmeta *old, const struct stat *st)
{
    if (old->mode != st->st_mode || old->rdev != st->st_rdev)
        return 1;
    if (dc->owners && (old->uid != st->st_uid || old->gid != st->st_gid))
        return 1;
    return !S_ISDIR(st->st_mode) &&
           (!same_time(old->mtime, st->st_mtim) || old->size != st->st_size);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory fd, sorted (caller frees each and the array). */
static int list_names(int fd, char ***out, size_t *n, vic_err **err)
{
    *out = NULL;
    *n = 0;
    DIR *d cleanup_dirp = dir_of(fd);
    if (d == NULL)
        return vic_err_sys(err, VIC_EIO, errno, "list a directory");
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *out = xrealloc(*out, cap * sizeof(**out));
        }
        (*out)[(*n)++] = xstrdup(de->d_name);
    }
    if (*n)
        qsort(*out, *n, sizeof(**out), name_cmp);
    return 0;
}

static void names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Docker's addChanges for the disk's directory dfd (at dc->path) against old (the view's
 * node there, NULL when the directory is new; its children matter only when it is a
 * directory in the view too). reported: the directory itself is a change already. */
static int diff_dir(diff_ctx *dc, const tnode *old, int dfd, int reported, int depth, vic_err **err)
{
    if (depth > MAX_DEPTH)
        return vic_err_set(err, VIC_EINVAL, "%.200s: directories nested too deep", dc->path.data);
    size_t at_entry = dc->n;
    char **names = NULL;
    size_t n = 0;
    int rc = list_names(dfd, &names, &n, err);
    if (rc < 0)
        return vic_err_wrap(err, rc, "%s", dc->path.len ? dc->path.data : "/");
    const tnode *odir = old && S_ISDIR(old->m.mode) ? old : NULL;
    size_t i = 0, j = 0, no = odir ? odir->n : 0;
    while (rc == 0 && (i < n || j < no)) {
        int c = i == n ? 1 : j == no ? -1 : strcmp(names[i], odir->kids[j]->name);
        const char *name = c <= 0 ? names[i] : odir->kids[j]->name;
        const tnode *o = c >= 0 ? odir->kids[j] : NULL;
        int here = c <= 0;
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
        size_t save = dc->path.len;
        vic_buf_append(&dc->path, "/", 1);
        vic_buf_append(&dc->path, name, strlen(name));
        if (vic_path(dc->path.data, sizeof(vic_paths) / sizeof(vic_paths[0]))) {
            /* VIC's own, not the container's */
        } else if (!here) {
            change_insert(dc, dc->n, dc->path.data, PL_CHANGE_DELETE);
        } else {
            struct stat st;
            if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                if (errno != ENOENT) /* gone meanwhile (a running container): no change */
                    rc = vic_err_sys(err, VIC_EIO, errno, "stat %.200s", dc->path.data);
            } else {
                int mine = 0;
                if (o == NULL) {
                    change_insert(dc, dc->n, dc->path.data, PL_CHANGE_ADD);
                    mine = 1;
                } else if (differs(dc, &o->m, &st)) {
                    change_insert(dc, dc->n, dc->path.data, PL_CHANGE_MODIFY);
                    mine = 1;
                }
                if (S_ISDIR(st.st_mode)) {
                    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                    if (sub >= 0) {
                        rc = diff_dir(dc, o, sub, mine, depth + 1, err);
                        close(sub);
                    } else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP) {
                        rc = vic_err_sys(err, VIC_EIO, errno, "open %.200s", dc->path.data);
                    }
                }
            }
        }
        dc->path.len = save;
        dc->path.data[save] = '\0';
    }
    names_free(names, n);
    /* changes inside make the directory a change too, listed before them */
    if (rc == 0 && dc->n > at_entry && !reported && dc->path.len > 0)
        change_insert(dc, at_entry, dc->path.data, PL_CHANGE_MODIFY);
    return rc;
}

int pl_changes_compute(json_t **out, const char *root, const json_t *layers, const pl_idmap *ids,
                       vic_err **err)
{
    *out = NULL;
    tnode view = {0};
    int rc = view_build(&view, layers, ids, err);
    diff_ctx dc = {.owners = geteuid() == 0, .path = VIC_BUF_INIT};
    vic_buf_append(&dc.path, "", 0);
    if (rc == 0) {
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            rc = vic_err_sys(err, VIC_EIO, errno, "open the root disk");
        } else {
            view.m.mode = S_IFDIR | 0755;
            rc = diff_dir(&dc, &view, fd, 1, 0, err);
            close(fd);
        }
    }
    tnode_clear(&view);
    json_t *arr = json_array();
    for (size_t i = 0; i < dc.n; i++) {
        json_array_append_new(
            arr, json_pack("{s:s, s:i}", "path", dc.items[i].path, "kind", dc.items[i].kind));
        free(dc.items[i].path);
    }
    free(dc.items);
    vic_buf_free(&dc.path);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

/* ---- tars ---- */

typedef struct link_seen {
    dev_t dev;
    ino_t ino;
    char *name;
} link_seen;

typedef struct tar_ctx {
    struct archive *a;
    const pl_idmap *ids;
    pl_tar_fn fn;
    void *payload;
    int stopped;
    uint64_t size;
    link_seen *links;
    size_t n_links, cap_links;
    char buf[CHUNK_SIZE];
} tar_ctx;

static la_ssize_t tar_write(struct archive *a, void *payload, const void *buf, size_t n)
{
    tar_ctx *t = payload;
    if (t->fn(buf, n, t->payload) != 0) {
        t->stopped = 1;
        archive_set_error(a, EPIPE, "receiver gone");
        return -1;
    }
    t->size += n;
    return (la_ssize_t)n;
}

static int tar_fail(tar_ctx *t, const char *name, vic_err **err)
{
    if (t->stopped)
        return vic_err_set(err, VIC_EUNAVAIL, "the receiver left");
    return vic_err_set(err, VIC_EIO, "archive %.512s: %s", name, archive_error_string(t->a));
}

static int64_t guest_id(const tar_ctx *t, uint32_t host)
{
    if (t->ids == NULL || t->ids->count == 0)
        return host;
    if (host >= t->ids->base && host - t->ids->base < t->ids->count)
        return host - t->ids->base;
    return OVERFLOW;
}

static int tar_open(tar_ctx *t, vic_err **err)
{
    t->a = archive_write_new();
    archive_write_set_format_pax_restricted(t->a);
    /* no padding of the last block: the layer's digest is that of the entries and the end
     * marker only, as Docker writes it */
    archive_write_set_bytes_in_last_block(t->a, 1);
    if (archive_write_open(t->a, t, NULL, tar_write, NULL) != ARCHIVE_OK)
        return tar_fail(t, "(open)", err);
    return 0;
}

static int tar_close(tar_ctx *t, int rc, vic_err **err)
{
    if (rc == 0 && archive_write_close(t->a) != ARCHIVE_OK)
        rc = tar_fail(t, "(end)", err);
    archive_write_free(t->a);
    for (size_t i = 0; i < t->n_links; i++)
        free(t->links[i].name);
    free(t->links);
    return rc;
}

/* Writes leaf of directory dfd as entry name. *dirfd (may be NULL) gets an open descriptor
 * of it when it is a directory (else -1). A leaf gone meanwhile is skipped. */
static int tar_entry(tar_ctx *t, int dfd, const char *leaf, const char *name, int *dirfd,
                     vic_err **err)
{
    if (dirfd)
        *dirfd = -1;
    struct stat st;
    if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : vic_err_sys(err, VIC_EIO, errno, "stat %.512s", name);
    if (S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        return 0; /* a guest cannot make devices; a socket a tar cannot carry */
    int fd cleanup_close = -1;
    char target[PATH_MAX + 1] = "";
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlinkat(dfd, leaf, target, sizeof(target) - 1);
        if (n < 0)
            return errno == ENOENT ? 0 : vic_err_sys(err, VIC_EIO, errno, "readlink %.512s", name);
        target[n] = '\0';
    } else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        fd = openat(dfd, leaf,
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
                        (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
        if (fd < 0)
            return errno == ENOENT ? 0 : vic_err_sys(err, VIC_EIO, errno, "open %.512s", name);
        if (fstat(fd, &st) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "stat %.512s", name);
    }
    struct archive_entry *e = archive_entry_new();
    cleanup_free char *ename = S_ISDIR(st.st_mode) ? xasprintf("%s/", name) : xstrdup(name);
    archive_entry_set_pathname(e, ename);
    archive_entry_set_mode(e, st.st_mode);
    archive_entry_set_uid(e, guest_id(t, st.st_uid));
    archive_entry_set_gid(e, guest_id(t, st.st_gid));
    archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    archive_entry_set_size(e, S_ISREG(st.st_mode) ? st.st_size : 0);
    int data = S_ISREG(st.st_mode);
    if (S_ISLNK(st.st_mode))
        archive_entry_set_symlink(e, target);
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        for (size_t i = 0; i < t->n_links; i++)
            if (t->links[i].dev == st.st_dev && t->links[i].ino == st.st_ino) {
                archive_entry_set_hardlink(e, t->links[i].name);
                archive_entry_set_size(e, 0);
                data = 0;
                break;
            }
        if (data) {
            if (t->n_links == t->cap_links) {
                t->cap_links = t->cap_links ? 2 * t->cap_links : 16;
                t->links = xrealloc(t->links, t->cap_links * sizeof(*t->links));
            }
            t->links[t->n_links++] =
                (link_seen){.dev = st.st_dev, .ino = st.st_ino, .name = xstrdup(name)};
        }
    }
    int hrc = archive_write_header(t->a, e);
    archive_entry_free(e);
    if (hrc < ARCHIVE_WARN)
        return tar_fail(t, name, err);
    for (off_t left = data ? st.st_size : 0; left > 0;) {
        ssize_t n = read(fd, t->buf, sizeof(t->buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vic_err_sys(err, VIC_EIO, errno, "read %.512s", name);
        if (n == 0)
            break; /* it shrank meanwhile: the entry is padded */
        if (n > left)
            n = (ssize_t)left;
        if (archive_write_data(t->a, t->buf, (size_t)n) < 0)
            return tar_fail(t, name, err);
        left -= n;
    }
    if (archive_write_finish_entry(t->a) < ARCHIVE_WARN)
        return tar_fail(t, name, err);
    if (dirfd && S_ISDIR(st.st_mode)) {
        *dirfd = fd;
        fd = -1;
    }
    return 0;
}

/* The parent directory of a relative path, opened without following any symlink (*leaf
 * points into rel). -1 with errno when it is not there (any more). */
static int open_parent_nofollow(int rootfd, const char *rel, const char **leaf)
{
    const char *slash = strrchr(rel, '/');
    *leaf = slash ? slash + 1 : rel;
    cleanup_free char *parent = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup(".");
    struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV |
                                      RESOLVE_NO_MAGICLINKS};
    long fd;
    do
        fd = syscall(SYS_openat2, rootfd, parent, &how, sizeof(how));
    while (fd < 0 && errno == EAGAIN);
    return (int)fd;
}

static int whiteout(tar_ctx *t, const char *rel, vic_err **err)
{
    const char *slash = strrchr(rel, '/');
    cleanup_free char *name = slash ? xasprintf("%.*s/.wh.%s", (int)(slash - rel), rel, slash + 1)
                                    : xasprintf(".wh.%s", rel);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0);
    archive_entry_set_size(e, 0);
    archive_entry_set_mtime(e, time(NULL), 0);
    int hrc = archive_write_header(t->a, e);
    archive_entry_free(e);
    if (hrc < ARCHIVE_WARN || archive_write_finish_entry(t->a) < ARCHIVE_WARN)
        return tar_fail(t, name, err);
    return 0;
}

int pl_changes_tar(const char *root, const json_t *changes, const pl_idmap *ids, pl_tar_fn fn,
                   void *payload, uint64_t *size, vic_err **err)
{
    int rootfd cleanup_close = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open the root disk");
    tar_ctx *t = xzalloc(sizeof(*t));
    t->ids = ids;
    t->fn = fn;
    t->payload = payload;
    int rc = tar_open(t, err);
    size_t i;
    const json_t *c;
    json_array_foreach(changes, i, c)
    {
        if (rc < 0)
            break;
        const char *path = vic_json_str(c, "path");
        if (path == NULL || path[0] != '/' || path[1] == '\0')
            continue;
        const char *rel = path + 1;
        if (json_integer_value(json_object_get(c, "kind")) == PL_CHANGE_DELETE) {
            rc = whiteout(t, rel, err);
            continue;
        }
        const char *leaf;
        int pfd = open_parent_nofollow(rootfd, rel, &leaf);
        if (pfd < 0) {
            if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP && errno != EXDEV)
                rc = vic_err_sys(err, VIC_EIO, errno, "open the parent of %.512s", path);
            continue; /* changed meanwhile */
        }
        rc = tar_entry(t, pfd, leaf, rel, NULL, err);
        close(pfd);
    }
    rc = tar_close(t, rc, err);
    if (rc == 0 && size)
        *size = t->size;
    free(t);
    return rc;
}

/* Writes what is inside directory dfd (entries named prefix + name). */
static int export_dir(tar_ctx *t, int dfd, const char *prefix, int depth, vic_err **err)
{
    if (depth > MAX_DEPTH)
        return vic_err_set(err, VIC_EINVAL, "%.200s: directories nested too deep", prefix);
    char **names = NULL;
    size_t n = 0;
    int rc = list_names(dfd, &names, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        cleanup_free char *gpath = xasprintf("/%s%s", prefix, names[i]);
        if (vic_path(gpath, N_EXPORT_SKIPPED))
            continue;
        int sub = -1;
        rc = tar_entry(t, dfd, names[i], gpath + 1, &sub, err);
        if (rc == 0 && sub >= 0) {
            cleanup_free char *p = xasprintf("%s%s/", prefix, names[i]);
            rc = export_dir(t, sub, p, depth + 1, err);
        }
        if (sub >= 0)
            close(sub);
    }
    names_free(names, n);
    return rc;
}

int pl_rootfs_tar(const char *root, const pl_idmap *ids, pl_tar_fn fn, void *payload, vic_err **err)
{
    int rootfd cleanup_close = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open the root disk");
    tar_ctx *t = xzalloc(sizeof(*t));
    t->ids = ids;
    t->fn = fn;
    t->payload = payload;
    int rc = tar_open(t, err);
    if (rc == 0)
        rc = export_dir(t, rootfd, "", 0, err);
    rc = tar_close(t, rc, err);
    free(t);
    return rc;
}
