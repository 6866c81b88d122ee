/*
 * docker cp's file system side without a VM: a root directory and a volume directory made
 * here, tars built with libarchive, and every way out of the root tried (symlinks to /etc and
 * to "../..", ".." and absolute entry names, hard links leaving the directory), with the
 * check that a refused archive writes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/mem.h"
#include "portlayer/archive.h"
#include "portlayer/imagestore.h"

static char base[64];
static char root[96], vol[96], outside[96];

/* One archive entry: type f(ile) d(ir) l(symlink) h(ardlink) c(har device). */
typedef struct tent {
    const char *path;
    char type;
    const char *data; /* file content, or link target */
} tent;

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof(base), "/tmp/vic-test-archive-XXXXXX");
    if (mkdtemp(base) == NULL)
        return -1;
    snprintf(root, sizeof(root), "%s/root", base);
    snprintf(vol, sizeof(vol), "%s/vol", base);
    snprintf(outside, sizeof(outside), "%s/outside", base);
    char etc[128];
    snprintf(etc, sizeof(etc), "%s/etc", root);
    if (mkdir(root, 0755) || mkdir(vol, 0755) || mkdir(outside, 0755) || mkdir(etc, 0755))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return vic_rm_rf(base, NULL);
}

static char *at(const char *dir, const char *rel)
{
    return xasprintf("%s/%s", dir, rel);
}

static void write_file(const char *dir, const char *rel, const char *text)
{
    cleanup_free char *p = at(dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int exists(const char *dir, const char *rel)
{
    cleanup_free char *p = at(dir, rel);
    struct stat st;
    return lstat(p, &st) == 0;
}

static int dir_empty(const char *dir)
{
    cleanup_free char *cmd = xasprintf("test -z \"$(ls -A %s)\"", dir);
    return system(cmd) == 0;
}

/* A tar of entries in a memfd, positioned at its start. */
static int tar_fd(const tent *e, size_t n)
{
    int fd = memfd_create("tar", MFD_CLOEXEC);
    assert_true(fd >= 0);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].path);
        archive_entry_set_uid(ae, 0);
        archive_entry_set_gid(ae, 0);
        switch (e[i].type) {
        case 'f':
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_perm(ae, 0644);
            archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
            break;
        case 'd':
            archive_entry_set_filetype(ae, AE_IFDIR);
            archive_entry_set_perm(ae, 0755);
            break;
        case 'l':
            archive_entry_set_filetype(ae, AE_IFLNK);
            archive_entry_set_perm(ae, 0777);
            archive_entry_set_symlink(ae, e[i].data);
            break;
        case 'h':
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_perm(ae, 0644);
            archive_entry_set_hardlink(ae, e[i].data);
            break;
        case 'c':
            archive_entry_set_filetype(ae, AE_IFCHR);
            archive_entry_set_perm(ae, 0600);
            break;
        }
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (e[i].type == 'f')
            archive_write_data(a, e[i].data, strlen(e[i].data));
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

static pl_fs *open_fs(void)
{
    pl_fs *fs = NULL;
    vic_err *err = NULL;
    assert_int_equal(pl_fs_open(&fs, root, &err), 0);
    assert_int_equal(pl_fs_add_mount(fs, "/data", vol, false, &err), 0);
    return fs;
}

static int put(pl_fs *fs, const char *dir, const tent *e, size_t n, vic_err **err)
{
    int fd cleanup_close = tar_fd(e, n);
    return pl_fs_put(fs, dir, fd, NULL, err);
}

static void test_archive_clean_path(void **state)
{
    (void)state;
    const char *cases[][2] = {{"", "/"},
                              {"/", "/"},
                              {"a/b", "/a/b"},
                              {"/a/./b/", "/a/b"},
                              {"/../../etc", "/etc"},
                              {"/a/../../b", "/b"},
                              {"//a//b/.", "/a/b"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_free char *c = pl_fs_clean_path(cases[i][0]);
        assert_string_equal(c, cases[i][1]);
    }
}

static void test_archive_put_and_stat(void **state)
{
    (void)state;
    pl_fs *fs = open_fs();
    vic_err *err cleanup_err = NULL;
    tent e[] = {{"d", 'd', NULL}, {"d/f", 'f', "hello"}, {"d/l", 'l', "f"}, {"d/h", 'h', "d/f"}};
    assert_int_equal(put(fs, "/", e, 4, &err), 0);
    cleanup_free char *text = NULL;
    size_t len = 0;
    cleanup_free char *f = at(root, "d/f");
    assert_int_equal(vic_file_read(&text, &len, f, 1024, &err), 0);
    assert_string_equal(text, "hello");
    struct stat a, b;
    cleanup_free char *h = at(root, "d/h");
    assert_int_equal(stat(f, &a), 0);
    assert_int_equal(stat(h, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);

    json_t *st = NULL;
    assert_int_equal(pl_fs_stat(fs, "/d/f", &st, &err), 0);
    assert_string_equal(json_string_value(json_object_get(st, "name")), "f");
    assert_int_equal(json_integer_value(json_object_get(st, "size")), 5);
    assert_int_equal(json_integer_value(json_object_get(st, "mode")), 0644);
    json_decref(st);
    assert_int_equal(pl_fs_stat(fs, "/d/l", &st, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(st, "mode")), (1 << 27) | 0777);
    assert_string_equal(json_string_value(json_object_get(st, "linkTarget")), "/d/f");
    json_decref(st);
    assert_int_equal(pl_fs_stat(fs, "/d", &st, &err), 0);
    assert_true(json_integer_value(json_object_get(st, "mode")) & (1ll << 31));
    json_decref(st);
    assert_int_equal(pl_fs_stat(fs, "/nothing", &st, &err), VIC_ENOTFOUND);
    assert_null(st);
    pl_fs_free(fs);
}

static void test_archive_symlink_to_etc_stays_inside(void **state)
{
    (void)state;
    pl_fs *fs = open_fs();
    vic_err *err cleanup_err = NULL;
    cleanup_free char *link = at(root, "etclink");
    assert_int_equal(symlink("/etc", link), 0);
    cleanup_free char *up = at(root, "up");
    cleanup_free char *target = xasprintf("../../../../../../../..%s", outside);
    assert_int_equal(symlink(target, up), 0);
    tent e[] = {{"planted", 'f', "x"}};
    /* a destination through a symlink to /etc: the container's /etc */
    assert_int_equal(put(fs, "/etclink", e, 1, &err), 0);
    assert_true(exists(root, "etc/planted"));
    assert_false(exists("/etc", "planted"));
    /* ../.. climbs no higher than the container's root */
    assert_int_equal(put(fs, "/up", e, 1, &err), VIC_ENOTFOUND);
    assert_non_null(strstr(err->msg, "Could not find the file /up"));
    vic_err_free(&err);
    assert_true(dir_empty(outside));
    /* the stat of the link names its target inside the container */
    json_t *st = NULL;
    assert_int_equal(pl_fs_stat(fs, "/etclink", &st, &err), 0);
    assert_string_equal(json_string_value(json_object_get(st, "linkTarget")), "/etc");
    json_decref(st);
    /* a tar entry whose parent is a symlink out of the root resolves inside */
    tent through[] = {{"esc", 'l', "../../../../../../../../../.."}, {"esc/tmp-x", 'f', "y"}};
    assert_int_equal(put(fs, "/", through, 2, &err), 0);
    assert_true(exists(root, "tmp-x"));
    assert_false(exists(base, "tmp-x"));
    pl_fs_free(fs);
}

static void test_archive_refuses_escaping_entries_untouched(void **state)
{
    (void)state;
    pl_fs *fs = open_fs();
    vic_err *err cleanup_err = NULL;
    tent dotdot[] = {{"first", 'f', "1"}, {"../../escape", 'f', "x"}};
    tent absolute[] = {{"first", 'f', "1"}, {"/escape", 'f', "x"}};
    tent hard_out[] = {{"first", 'f', "1"}, {"pw", 'h', "../../etc/passwd"}};
    tent hard_abs[] = {{"first", 'f', "1"}, {"pw", 'h', "/etc/passwd"}};
    tent hard_none[] = {{"first", 'f', "1"}, {"pw", 'h', "missing"}};
    tent device[] = {{"first", 'f', "1"}, {"null", 'c', NULL}};
    const tent *bad[] = {dotdot, absolute, hard_out, hard_abs, hard_none, device};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(put(fs, "/etc", bad[i], 2, &err), VIC_EINVAL);
        vic_err_free(&err);
        assert_false(exists(root, "etc/first")); /* checked whole before writing */
    }
    assert_true(dir_empty(outside));
    assert_false(exists(base, "escape"));
    pl_fs_free(fs);
}

static void test_archive_limits_and_bad_input(void **state)
{
    (void)state;
    pl_fs *fs = open_fs();
    vic_err *err cleanup_err = NULL;
    tent e[] = {{"a", 'f', "1234"}, {"b", 'f', "5678"}, {"c", 'f', "9"}};
    int fd cleanup_close = tar_fd(e, 3);
    pl_fs_put_opts few = {.max_entries = 2};
    assert_int_equal(pl_fs_put(fs, "/", fd, &few, &err), VIC_ETOOBIG);
    vic_err_free(&err);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    pl_fs_put_opts small = {.max_bytes = 6};
    assert_int_equal(pl_fs_put(fs, "/", fd, &small, &err), VIC_ETOOBIG);
    vic_err_free(&err);
    assert_false(exists(root, "a"));
    int junk cleanup_close = memfd_create("junk", MFD_CLOEXEC);
    assert_int_equal(write(junk, "definitely not a tar archive, not even close", 44), 44);
    assert_int_equal(lseek(junk, 0, SEEK_SET), 0);
    assert_int_equal(pl_fs_put(fs, "/", junk, NULL, &err), VIC_EINVAL);
    vic_err_free(&err);
    write_file(root, "plain", "x");
    assert_int_equal(put(fs, "/plain", e, 1, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "not a directory"));
    vic_err_free(&err);
    /* noOverwriteDirNonDir */
    tent over[] = {{"etc", 'f', "x"}};
    int ofd cleanup_close = tar_fd(over, 1);
    pl_fs_put_opts keep = {.no_overwrite_dir_non_dir = true};
    assert_int_equal(pl_fs_put(fs, "/", ofd, &keep, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "cannot overwrite directory"));
    vic_err_free(&err);
    pl_fs_free(fs);
}

static void test_archive_volume_mount(void **state)
{
    (void)state;
    pl_fs *fs = open_fs();
    vic_err *err cleanup_err = NULL;
    tent e[] = {{"v", 'f', "on the volume"}};
    assert_int_equal(put(fs, "/data", e, 1, &err), 0);
    assert_true(exists(vol, "v"));
    assert_false(exists(root, "data/v"));
    /* from the root, an entry under the target goes to the volume too */
    tent deep[] = {{"data/sub/w", 'f', "deep"}};
    assert_int_equal(put(fs, "/", deep, 1, &err), 0);
    assert_true(exists(vol, "sub/w"));
    /* an absolute symlink inside the volume resolves from the volume's root */
    cleanup_free char *l = at(vol, "abs");
    assert_int_equal(symlink("/", l), 0);
    assert_int_equal(put(fs, "/data/abs", e, 1, &err), 0);
    assert_true(exists(vol, "v"));
    pl_fs_free(fs);

    pl_fs *ro = NULL;
    assert_int_equal(pl_fs_open(&ro, root, &err), 0);
    assert_int_equal(pl_fs_add_mount(ro, "/data", vol, true, &err), 0);
    assert_int_equal(put(ro, "/data", e, 1, &err), VIC_EFORBIDDEN);
    pl_fs_free(ro);
}

typedef struct sink {
    vic_buf b;
} sink;

static int to_sink(const void *data, size_t len, void *payload)
{
    vic_buf_append(&((sink *)payload)->b, data, len);
    return 0;
}

/* The entry names of a tar in memory, joined by ' '. */
static char *names_of(const sink *s)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, s->b.data, s->b.len), ARCHIVE_OK);
    vic_buf out = VIC_BUF_INIT;
    vic_buf_append(&out, "", 0);
    struct archive_entry *e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK)
        vic_buf_appendf(&out, "%s%s", out.len ? " " : "", archive_entry_pathname(e));
    archive_read_free(a);
    return vic_buf_steal(&out);
}

static void test_archive_get(void **state)
{
    (void)state;
    pl_fs *fs = open_fs();
    pl_fs_set_id_shift(fs, 0, 0);
    vic_err *err cleanup_err = NULL;
    tent e[] = {{"g", 'd', NULL}, {"g/one", 'f', "1"}};
    assert_int_equal(put(fs, "/", e, 2, &err), 0);
    sink s = {VIC_BUF_INIT};
    assert_int_equal(pl_fs_get(fs, "/g", to_sink, &s, &err), 0);
    cleanup_free char *names = names_of(&s);
    assert_string_equal(names, "g/ g/one");
    vic_buf_free(&s.b);
    assert_int_equal(pl_fs_get(fs, "/g/.", to_sink, &s, &err), 0);
    cleanup_free char *dot = names_of(&s);
    assert_string_equal(dot, "./ ./one");
    vic_buf_free(&s.b);
    /* a symlink out of the root is archived as a symlink, never followed */
    cleanup_free char *l = at(root, "g/out");
    cleanup_free char *target = xasprintf("../../../../..%s", outside);
    assert_int_equal(symlink(target, l), 0);
    write_file(outside, "secret", "host only");
    assert_int_equal(pl_fs_get(fs, "/g/out", to_sink, &s, &err), 0);
    cleanup_free char *one = names_of(&s);
    assert_string_equal(one, "out");
    assert_null(memmem(s.b.data, s.b.len, "host only", 9));
    vic_buf_free(&s.b);
    /* and followed inside the root with a trailing slash: not there */
    assert_int_equal(pl_fs_get(fs, "/g/out/", to_sink, &s, &err), VIC_ENOTFOUND);
    vic_buf_free(&s.b);
    pl_fs_free(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_archive_clean_path),
        cmocka_unit_test_setup_teardown(test_archive_put_and_stat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_symlink_to_etc_stays_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_refuses_escaping_entries_untouched, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_archive_limits_and_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_volume_mount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_get, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
