#include "file.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "mem.h"

int vic_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          vic_err **err)
{
    cleanup_free char *tmp = xasprintf("%s.tmp.XXXXXX", path);
    cleanup_free char *dircopy = xstrdup(path);
    const char *dir = dirname(dircopy);
    int rc = 0;

    /* mkostemp creates the file 0600: a key is never readable by others, even briefly */
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "create a temporary file for %s", path);
    if (fchmod(fd, mode) != 0) {
        rc = vic_err_sys(err, VIC_EIO, errno, "chmod %s", tmp);
        goto fail;
    }
    const char *p = data;
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = vic_err_sys(err, VIC_EIO, n < 0 ? errno : EIO, "write %s", tmp);
            goto fail;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0) {
        rc = vic_err_sys(err, VIC_EIO, errno, "fsync %s", tmp);
        goto fail;
    }
    int fd2 = fd;
    fd = -1;
    if (close(fd2) != 0) {
        rc = vic_err_sys(err, VIC_EIO, errno, "close %s", tmp);
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        rc = vic_err_sys(err, VIC_EIO, errno, "rename %s to %s", tmp, path);
        goto fail;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { /* make the rename itself durable */
        int sync_rc = fsync(dfd);
        int sync_errno = errno;
        close(dfd);
        if (sync_rc != 0)
            return vic_err_sys(err, VIC_EIO, sync_errno, "fsync directory %s", dir);
    }
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

int vic_file_read(char **out, size_t *len, const char *path, size_t max, vic_err **err)
{
    *out = NULL;
    int fd cleanup_close = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return vic_err_sys(err, errno == ENOENT ? VIC_ENOTFOUND : VIC_EIO, errno, "read %s", path);
    size_t cap = 4096, off = 0;
    char *buf = xmalloc(cap + 1);
    for (;;) {
        if (off == cap) {
            if (cap >= max) {
                vic_free_secret(buf);
                return vic_err_set(err, VIC_ETOOBIG, "%s is larger than %zu bytes", path, max);
            }
            size_t ncap = cap * 2 > max ? max : cap * 2;
            char *nb = xmalloc(ncap + 1);
            memcpy(nb, buf, off);
            explicit_bzero(buf, off);
            free(buf);
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + off, cap - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            buf[off] = '\0';
            vic_free_secret(buf);
            return vic_err_sys(err, VIC_EIO, e, "read %s", path);
        }
        if (r == 0)
            break;
        off += (size_t)r;
    }
    buf[off] = '\0';
    *out = buf;
    if (len)
        *len = off;
    return 0;
}

char *vic_exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return xstrdup(".");
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
    return xstrdup(buf);
}

int vic_dir_private(const char *path, vic_err **err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return vic_err_sys(err, VIC_EIO, errno, "stat %s", path);
    if ((st.st_mode & 07777) == 0700)
        return 0;
    if (chmod(path, 0700) < 0)
        return vic_err_sys(err, VIC_EIO, errno, "make %s private (chmod 0700)", path);
    vic_log(VIC_LOG_INFO, "event=home_tightened dir=%s mode_was=%04o mode=0700", path,
            (unsigned)(st.st_mode & 07777));
    return 0;
}

/* mkdir -p on buf (modified: on failure it ends at the directory that could not be made). */
static int mkdir_p_buf(char *buf, mode_t mode)
{
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdir(buf, mode) < 0 && errno != EEXIST ? -errno : 0;
}

int vic_mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    return mkdir_p_buf(buf, mode);
}

int vic_mkdir_p_err(const char *path, mode_t mode, vic_err **err)
{
    cleanup_free char *buf = xstrdup(path);
    int rc = mkdir_p_buf(buf, mode);
    if (rc < 0)
        return vic_err_sys(err, VIC_EIO, -rc, "mkdir %s", buf);
    return 0;
}

int vic_path_normalise(char **out, const char *path, unsigned flags)
{
    *out = NULL;
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    unsigned depth = 0;
    const char *p = path ? path : "";
    while (*p) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (flags & VIC_PATH_NO_DOTDOT) {
                vic_buf_free(&b);
                return VIC_EINVAL;
            }
        }
        if ((flags & VIC_PATH_BOUNDED) && (len > NAME_MAX || ++depth > VIC_PATH_MAX_DEPTH)) {
            vic_buf_free(&b);
            return VIC_ETOOBIG;
        }
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            char *slash = strrchr(b.data, '/');
            b.len = slash ? (size_t)(slash - b.data) : 0;
            b.data[b.len] = '\0';
        } else if (!(len == 0 || (len == 1 && p[0] == '.'))) {
            if (b.len || !(flags & VIC_PATH_RELATIVE))
                vic_buf_append(&b, "/", 1);
            vic_buf_append(&b, p, len);
        }
        p += len + (p[len] == '/' ? 1 : 0);
    }
    if (b.len == 0 && !(flags & VIC_PATH_RELATIVE))
        vic_buf_append(&b, "/", 1);
    *out = vic_buf_steal(&b);
    return 0;
}

/* ---- removing trees: never through a symlink, each step relative to its parent's fd ---- */

#define RM_MAX_DEPTH 512

/* Removes everything inside the directory dfd (not dfd itself). */
static int clear_dir(int dfd, int depth, vic_err **err);

static int remove_at(int dfd, const char *name, int depth, vic_err **err)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : vic_err_sys(err, VIC_EIO, errno, "stat %s", name);
    if (S_ISDIR(st.st_mode)) {
        if (depth > RM_MAX_DEPTH)
            return vic_err_set(err, VIC_EIO, "directory tree too deep at %s", name);
        int fd cleanup_close = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return vic_err_sys(err, VIC_EIO, errno, "open %s", name);
        int rc = clear_dir(fd, depth + 1, err);
        if (rc < 0)
            return rc;
        if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
            return vic_err_sys(err, VIC_EIO, errno, "rmdir %s", name);
        return 0;
    }
    if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
        return vic_err_sys(err, VIC_EIO, errno, "unlink %s", name);
    return 0;
}

static int clear_dir(int dfd, int depth, vic_err **err)
{
    int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "dup");
    DIR *d cleanup_dirp = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return vic_err_sys(err, VIC_EIO, errno, "opendir");
    }
    struct dirent *de;
    while ((errno = 0, de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int rc = remove_at(dfd, de->d_name, depth, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int vic_remove_at(int dfd, const char *name, vic_err **err)
{
    return remove_at(dfd, name, 0, err);
}

int vic_rm_rf(const char *path, vic_err **err)
{
    cleanup_free char *copy = xstrdup(path);
    char *slash = strrchr(copy, '/');
    const char *name = copy;
    int dfd cleanup_close = -1;
    if (slash) {
        *slash = '\0';
        name = slash + 1;
        dfd = open(copy[0] ? copy : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            return errno == ENOENT ? 0 : vic_err_sys(err, VIC_EIO, errno, "open %s", copy);
    }
    return remove_at(slash ? dfd : AT_FDCWD, name, 0, err);
}

int vic_clear_dir(int dfd, vic_err **err)
{
    return clear_dir(dfd, 0, err);
}
