/*
 * layer_fixture.h - what the image store's unit tests share: a scratch directory per binary
 * (FIXTURE_NAME names it), layer tarballs built with libarchive, and small file helpers.
 * Included by test_layer.c, test_blobs.c and test_imagestore.c only.
 */
#ifndef PL_TESTS_LAYER_FIXTURE_H
#define PL_TESTS_LAYER_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "portlayer/imagestore.h"

#define HEX64_ZERO "0000000000000000000000000000000000000000000000000000000000000000"

/* One archive entry: type f(ile) d(ir) l(symlink) h(ardlink) c(har device) p(fifo). */
typedef struct tent {
    const char *path;
    char type;
    const char *data; /* file content, or link target */
    int mode;
    int uid;
} tent;

static char base[64];

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof(base), "/tmp/vic-test-%s-XXXXXX", FIXTURE_NAME);
    return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return vic_rm_rf(base, NULL);
}

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *rel = xvasprintf(fmt, ap);
    va_end(ap);
    char *p = xasprintf("%s/%s", base, rel);
    free(rel);
    return p;
}

static __attribute__((unused)) void write_tar(const char *file, const tent *ents, size_t n,
                                              int gzip)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip)
        archive_write_add_filter_gzip(a);
    assert_int_equal(archive_write_open_filename(a, file), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, ents[i].path);
        archive_entry_set_perm(e, ents[i].mode ? (mode_t)ents[i].mode : 0644);
        archive_entry_set_uid(e, ents[i].uid);
        archive_entry_set_gid(e, ents[i].uid);
        archive_entry_set_mtime(e, 946684800, 0);
        size_t size = 0;
        switch (ents[i].type) {
        case 'f':
            archive_entry_set_filetype(e, AE_IFREG);
            size = strlen(ents[i].data);
            break;
        case 'd':
            archive_entry_set_filetype(e, AE_IFDIR);
            break;
        case 'l':
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, ents[i].data);
            break;
        case 'h':
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, ents[i].data);
            break;
        case 'c':
            archive_entry_set_filetype(e, AE_IFCHR);
            archive_entry_set_rdev(e, makedev(1, 3));
            break;
        case 'p':
            archive_entry_set_filetype(e, AE_IFIFO);
            break;
        }
        archive_entry_set_size(e, (la_int64_t)size);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (size)
            assert_int_equal(archive_write_data(a, ents[i].data, size), (la_ssize_t)size);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

/* sha256 of the uncompressed tar, as docker computes a diff_id */
static __attribute__((unused)) char *file_digest(const char *file)
{
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(vic_file_read(&data, &len, file, 64 << 20, NULL), 0);
    char hex[65];
    vic_sha256_hex(hex, data, len);
    free(data);
    return xasprintf("sha256:%s", hex);
}

static __attribute__((unused)) int unpack_file(json_t **meta, const char *tar, const char *dir,
                                               vic_err **err)
{
    int fd cleanup_close = open(tar, O_RDONLY);
    assert_true(fd >= 0);
    mkdir(dir, 0755);
    return pl_layer_unpack(meta, fd, dir, 0, err);
}

static __attribute__((unused)) char *slurp(const char *path)
{
    char *data = NULL;
    if (vic_file_read(&data, NULL, path, 1 << 20, NULL) < 0)
        return NULL;
    return data;
}

/* Names in dir, sorted, joined by spaces. */
static char *listing(const char *dir)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
            vic_buf_appendf(&b, "%s%s", b.len ? " " : "", names[i]->d_name);
        free(names[i]);
    }
    free(names);
    return vic_buf_steal(&b);
}

#endif
