/*
 * The image store without a network: layers unpacked from tarballs built here with
 * libarchive (modes, owners, links, devices, whiteouts, opaque directories, escapes), root
 * disks built from a layer chain, and the image index (add, list, inspect, tag, remove, crash
 * leftovers).
 */
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
    snprintf(base, sizeof(base), "/tmp/vic-test-imagestore-XXXXXX");
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

static void write_tar(const char *file, const tent *ents, size_t n, int gzip)
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
static char *file_digest(const char *file)
{
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(vic_file_read(&data, &len, file, 64 << 20, NULL), 0);
    char hex[65];
    vic_sha256_hex(hex, data, len);
    free(data);
    return xasprintf("sha256:%s", hex);
}

static int unpack_file(json_t **meta, const char *tar, const char *dir, vic_err **err)
{
    int fd cleanup_close = open(tar, O_RDONLY);
    assert_true(fd >= 0);
    mkdir(dir, 0755);
    return pl_layer_unpack(meta, fd, dir, 0, err);
}

static char *slurp(const char *path)
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

static void test_imagestore_unpack_modes_owners_links(void **state)
{
    (void)state;
    const tent ents[] = {
        {"etc", 'd', NULL, 0755, 0},
        {"etc/passwd", 'f', "root:x:0:0::/root:/bin/sh\n", 0644, 0},
        {"home/app/secret", 'f', "s3cret", 0600, 1234},
        {"bin/tool", 'f', "#!/bin/sh\n", 04755, 0},
        {"bin/link", 'l', "tool", 0777, 0},
        {"bin/hard", 'h', "bin/tool", 0, 0},
        {"dev/null", 'c', NULL, 0666, 0},
        {"run/fifo", 'p', NULL, 0600, 0},
        {"./etc/../etc/x", 'f', "dotdot", 0644, 0},
    };
    cleanup_free char *tar = pathf("l.tar");
    cleanup_free char *dir = pathf("root");
    /* the ".." entry is refused: build the tar without it first */
    write_tar(tar, ents, 8, 0);
    json_t *meta cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(unpack_file(&meta, tar, dir, &err), 0);
    cleanup_free char *want = file_digest(tar);
    assert_string_equal(json_string_value(json_object_get(meta, "diff_id")), want);
    assert_int_equal(json_array_size(json_object_get(meta, "skipped")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(meta, "skipped"), 0)),
                        "dev/null");

    struct stat st;
    cleanup_free char *secret = pathf("root/home/app/secret");
    assert_int_equal(lstat(secret, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    if (geteuid() == 0)
        assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_mtime, 946684800);
    cleanup_free char *tool = pathf("root/bin/tool");
    assert_int_equal(lstat(tool, &st), 0);
    assert_int_equal(st.st_mode & 07777, 04755);
    ino_t ino = st.st_ino;
    cleanup_free char *hard = pathf("root/bin/hard");
    assert_int_equal(lstat(hard, &st), 0);
    assert_int_equal(st.st_ino, ino);
    cleanup_free char *link = pathf("root/bin/link");
    char target[64] = "";
    assert_int_equal(readlink(link, target, sizeof(target) - 1), 4);
    assert_string_equal(target, "tool");
    cleanup_free char *fifo = pathf("root/run/fifo");
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    cleanup_free char *devnull = pathf("root/dev/null");
    assert_int_not_equal(lstat(devnull, &st), 0);

    /* the same tar gzip-compressed has the same diff_id */
    cleanup_free char *tgz = pathf("l.tar.gz");
    cleanup_free char *dir2 = pathf("root2");
    write_tar(tgz, ents, 8, 1);
    json_t *meta2 cleanup_json = NULL;
    assert_int_equal(unpack_file(&meta2, tgz, dir2, &err), 0);
    assert_string_equal(json_string_value(json_object_get(meta2, "diff_id")), want);

    /* and ".." anywhere in a path is refused */
    cleanup_free char *bad = pathf("bad.tar");
    cleanup_free char *dir3 = pathf("root3");
    write_tar(bad, ents, 9, 0);
    json_t *meta3 cleanup_json = NULL;
    assert_int_equal(unpack_file(&meta3, bad, dir3, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, ".."));
}

/* Each tarball tries to write outside the layer; each must fail with nothing outside. */
static void test_imagestore_unpack_refuses_escapes(void **state)
{
    (void)state;
    cleanup_free char *outside = pathf("outside");
    mkdir(outside, 0755);
    cleanup_free char *abs_target = pathf("outside/pwned");
    const tent cases[][2] = {
        {{"../pwned", 'f', "x", 0644, 0}, {NULL, 0, NULL, 0, 0}},
        {{"a/../../pwned", 'f', "x", 0644, 0}, {NULL, 0, NULL, 0, 0}},
        {{"/pwned", 'f', "x", 0644, 0}, {NULL, 0, NULL, 0, 0}},
        {{"esc", 'l', outside, 0777, 0}, {"esc/pwned", 'f', "x", 0644, 0}},
        {{"esc", 'l', "../../outside", 0777, 0}, {"esc/pwned", 'f', "x", 0644, 0}},
        {{"hl", 'h', "../outside/file", 0, 0}, {NULL, 0, NULL, 0, 0}},
        {{"hl", 'h', "/etc/passwd", 0, 0}, {NULL, 0, NULL, 0, 0}},
        {{"f", 'f', "x", 0644, 0}, {"f/pwned", 'f', "x", 0644, 0}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_free char *tar = pathf("esc%zu.tar", i);
        cleanup_free char *dir = pathf("esc%zu", i);
        write_tar(tar, cases[i], cases[i][1].path ? 2 : 1, 0);
        json_t *meta cleanup_json = NULL;
        vic_err *err cleanup_err = NULL;
        int rc = unpack_file(&meta, tar, dir, &err);
        if (rc != VIC_EINVAL)
            fail_msg("case %zu: rc %d (%s)", i, rc, err ? err->msg : "no error");
        cleanup_free char *ls = listing(outside);
        assert_string_equal(ls, "");
        cleanup_free char *pwned = pathf("pwned");
        assert_int_not_equal(access(pwned, F_OK), 0);
        assert_int_not_equal(access(abs_target, F_OK), 0);
    }
    assert_int_not_equal(access("/pwned", F_OK), 0);

    /* a symlink replaced by a file of the same name: the file never goes through the link */
    const tent over[] = {{"x", 'l', abs_target, 0777, 0}, {"x", 'f', "safe", 0644, 0}};
    cleanup_free char *tar = pathf("over.tar");
    cleanup_free char *dir = pathf("over");
    write_tar(tar, over, 2, 0);
    json_t *meta cleanup_json = NULL;
    assert_int_equal(unpack_file(&meta, tar, dir, NULL), 0);
    assert_int_not_equal(access(abs_target, F_OK), 0);
    cleanup_free char *x = pathf("over/x");
    cleanup_free char *content = slurp(x);
    assert_string_equal(content, "safe");
}

static void test_imagestore_unpack_garbage(void **state)
{
    (void)state;
    cleanup_free char *f = pathf("garbage");
    assert_int_equal(vic_file_write_atomic(f, "not a tar at all, no", 20, 0644, NULL), 0);
    cleanup_free char *dir = pathf("g");
    json_t *meta cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(unpack_file(&meta, f, dir, &err), VIC_EINVAL);
    cleanup_free char *empty = pathf("empty");
    assert_int_equal(vic_file_write_atomic(empty, "", 0, 0644, NULL), 0);
    vic_err_free(&err);
    assert_true(unpack_file(&meta, empty, dir, &err) < 0);
}

static void test_imagestore_whiteouts_and_opaque(void **state)
{
    (void)state;
    const tent l1[] = {
        {"a/1", 'f', "1", 0644, 0}, {"a/2", 'f', "2", 0644, 0}, {"a/sub/3", 'f', "3", 0644, 0},
        {"b/x", 'f', "x", 0644, 0}, {"c", 'f', "c", 0644, 0},   {"keep", 'f', "k", 0644, 0},
        {"d", 'd', NULL, 0700, 0},
    };
    const tent l2[] = {
        {"a/.wh..wh..opq", 'f', "", 0644, 0}, {"a/new", 'f', "new", 0644, 0},
        {".wh.c", 'f', "", 0644, 0},          {"b/.wh.x", 'f', "", 0644, 0},
        {"d/inner", 'f', "i", 0644, 0},       {".wh..wh.plnk", 'f', "", 0644, 0},
    };
    cleanup_free char *t1 = pathf("w1.tar"), *t2 = pathf("w2.tar");
    cleanup_free char *d1 = pathf("w1"), *d2 = pathf("w2"), *root = pathf("wroot");
    write_tar(t1, l1, sizeof(l1) / sizeof(l1[0]), 1);
    write_tar(t2, l2, sizeof(l2) / sizeof(l2[0]), 1);
    json_t *m1 cleanup_json = NULL, *m2 cleanup_json = NULL;
    assert_int_equal(unpack_file(&m1, t1, d1, NULL), 0);
    assert_int_equal(unpack_file(&m2, t2, d2, NULL), 0);
    assert_int_equal(json_array_size(json_object_get(m2, "whiteouts")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(m2, "opaque"), 0)), "a");
    /* markers are recorded, never written */
    cleanup_free char *marker = pathf("w2/a/.wh..wh..opq");
    assert_int_not_equal(access(marker, F_OK), 0);

    mkdir(root, 0755);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_layer_apply(root, d1, m1, NULL, &err), 0);
    assert_int_equal(pl_layer_apply(root, d2, m2, NULL, &err), 0);
    cleanup_free char *top = listing(root);
    assert_string_equal(top, "a b d keep");
    cleanup_free char *ra = pathf("wroot/a"), *rb = pathf("wroot/b");
    cleanup_free char *la = listing(ra), *lb = listing(rb);
    assert_string_equal(la, "new");
    assert_string_equal(lb, "");
    /* d was only a parent in layer 2: it keeps layer 1's mode */
    cleanup_free char *rd = pathf("wroot/d");
    struct stat st;
    assert_int_equal(stat(rd, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

/* A lower layer's symlink never lets an upper layer write through it. */
static void test_imagestore_apply_does_not_follow_symlinks(void **state)
{
    (void)state;
    cleanup_free char *outside = pathf("apply-outside");
    mkdir(outside, 0755);
    const tent l1[] = {{"lib", 'l', outside, 0777, 0}};
    const tent l2[] = {{"lib/evil", 'f', "x", 0644, 0}, {".wh.victim", 'f', "", 0644, 0}};
    cleanup_free char *t1 = pathf("s1.tar"), *t2 = pathf("s2.tar");
    cleanup_free char *d1 = pathf("s1"), *d2 = pathf("s2"), *root = pathf("sroot");
    write_tar(t1, l1, 1, 0);
    write_tar(t2, l2, 2, 0);
    json_t *m1 cleanup_json = NULL, *m2 cleanup_json = NULL;
    assert_int_equal(unpack_file(&m1, t1, d1, NULL), 0);
    assert_int_equal(unpack_file(&m2, t2, d2, NULL), 0);
    mkdir(root, 0755);
    assert_int_equal(pl_layer_apply(root, d1, m1, NULL, NULL), 0);
    assert_int_equal(pl_layer_apply(root, d2, m2, NULL, NULL), 0);
    cleanup_free char *ls = listing(outside);
    assert_string_equal(ls, "");
    cleanup_free char *evil = pathf("sroot/lib/evil");
    struct stat st;
    assert_int_equal(lstat(evil, &st), 0); /* lib became a directory, as overlayfs shows it */
    cleanup_free char *lib = pathf("sroot/lib");
    assert_int_equal(lstat(lib, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
}

static void test_imagestore_blob_writer_rejects(void **state)
{
    (void)state;
    cleanup_free char *dir = pathf("store-blob");
    pl_imagestore *s = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_imagestore_open(&s, dir, &err), 0);
    char hex[65];
    vic_sha256_hex(hex, "hello", 5);
    cleanup_free char *dig = xasprintf("sha256:%s", hex);
    assert_int_equal(pl_imagestore_put_blob(s, dig, "hellO", 5, &err), VIC_EUPSTREAM);
    assert_non_null(strstr(err->msg, "wrong digest"));
    vic_err_free(&err);
    pl_blob_writer *w = NULL;
    assert_int_equal(pl_blob_writer_new(&w, s, dig, 3, &err), 0);
    assert_int_equal(pl_blob_writer_write(w, "hello", 5, &err), VIC_EUPSTREAM);
    pl_blob_writer_free(w);
    vic_err_free(&err);
    assert_int_equal(pl_blob_writer_new(&w, s, dig, 5, &err), 0);
    assert_int_equal(pl_blob_writer_write(w, "hel", 3, &err), 0);
    assert_int_equal(pl_blob_writer_commit(w, &err), VIC_EUPSTREAM);
    assert_non_null(strstr(err->msg, "truncated"));
    pl_blob_writer_free(w);
    vic_err_free(&err);
    assert_int_equal(pl_blob_writer_new(&w, s, "sha256:nothex", 5, &err), VIC_EINVAL);
    cleanup_free char *tmp = pathf("store-blob/blobs/tmp");
    cleanup_free char *bl = pathf("store-blob/blobs/sha256");
    cleanup_free char *lt = listing(tmp), *lb = listing(bl);
    assert_string_equal(lt, "");
    assert_string_equal(lb, "");
    assert_int_equal(pl_imagestore_put_blob(s, dig, "hello", 5, &err), 0);
    assert_true(pl_imagestore_has_blob(s, dig));
    pl_imagestore_free(s);
}

/* Puts layer tarballs and a config (with history when not NULL; stolen) into the store and
 * records an image of them. */
static void add_image_h(pl_imagestore *s, const char *tag, const char *const *tars, size_t n,
                        json_t *history, char **id_out)
{
    json_t *layers = json_array();
    json_t *diff_ids = json_array();
    for (size_t i = 0; i < n; i++) {
        char *data = NULL;
        size_t len = 0;
        assert_int_equal(vic_file_read(&data, &len, tars[i], 64 << 20, NULL), 0);
        char hex[65];
        vic_sha256_hex(hex, data, len);
        cleanup_free char *dig = xasprintf("sha256:%s", hex);
        assert_int_equal(pl_imagestore_put_blob(s, dig, data, len, NULL), 0);
        free(data);
        json_t *meta cleanup_json = NULL;
        vic_err *err cleanup_err = NULL;
        /* plain tars: the blob digest is the diff_id */
        assert_int_equal(pl_imagestore_add_layer(&meta, s, dig, dig, &err), 0);
        json_array_append_new(
            layers, json_pack("{s:s,s:s,s:i}", "digest", dig, "diff_id", dig, "size", (int)len));
        json_array_append_new(diff_ids, json_string(dig));
    }
    json_t *cfg = json_pack("{s:s,s:o,s:o*}", "tag", tag, "diff_ids", diff_ids, "history", history);
    cleanup_free char *text = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    char hex[65];
    vic_sha256_hex(hex, text, strlen(text));
    char *id = xasprintf("sha256:%s", hex);
    assert_int_equal(pl_imagestore_put_blob(s, id, text, strlen(text), NULL), 0);
    json_t *img = json_pack("{s:s,s:{},s:o}", "id", id, "config", "layers", layers);
    vic_err *err cleanup_err = NULL;
    json_t *rec cleanup_json = NULL;
    if (pl_imagestore_add_image(&rec, s, img, tag, NULL, &err) < 0)
        fail_msg("add_image: %s", err->msg);
    json_decref(img);
    *id_out = id;
}

static void add_image(pl_imagestore *s, const char *tag, const char *const *tars, size_t n,
                      char **id_out)
{
    add_image_h(s, tag, tars, n, NULL, id_out);
}

/* History pairs each entry that is not an empty layer with the next layer and its unpacked
 * size; layers the history leaves out get entries of their own; tags survive reopening. */
static void test_imagestore_history_and_tags(void **state)
{
    (void)state;
    const tent one[] = {{"bin/sh", 'f', "#!shell", 0755, 0}};
    const tent two[] = {{"app/run", 'f', "run it", 0755, 0}, {"app/cfg", 'f', "x=1", 0644, 0}};
    cleanup_free char *t1 = pathf("h1.tar"), *t2 = pathf("h2.tar");
    write_tar(t1, one, 1, 0);
    write_tar(t2, two, 2, 0);
    cleanup_free char *dir = pathf("hstore");
    pl_imagestore *s = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_imagestore_open(&s, dir, &err), 0);
    const char *chain[] = {t1, t2};
    json_t *h = json_pack("[{s:s, s:s, s:s}, {s:s, s:b}, {s:s}]", "created", "2000-01-01T00:00:00Z",
                          "created_by", "ADD sh", "comment", "base", "created_by", "CMD [\"sh\"]",
                          "empty_layer", 1, "created_by", "ADD app");
    cleanup_free char *id = NULL, *bare = NULL;
    add_image_h(s, "example.com/hist:1", chain, 2, h, &id);
    json_t *hist cleanup_json = NULL;
    assert_int_equal(pl_imagestore_history(&hist, s, "example.com/hist:1", &err), 0);
    assert_int_equal(json_array_size(hist), 3);
    json_t *e0 = json_array_get(hist, 0), *e1 = json_array_get(hist, 1),
           *e2 = json_array_get(hist, 2);
    assert_string_equal(vic_json_str(e0, "created_by"), "ADD sh");
    assert_string_equal(vic_json_str(e0, "comment"), "base");
    assert_string_equal(vic_json_str(e0, "created"), "2000-01-01T00:00:00Z");
    assert_int_equal(json_integer_value(json_object_get(e0, "size")), 7);
    assert_false(json_is_true(json_object_get(e0, "empty_layer")));
    assert_true(json_is_true(json_object_get(e1, "empty_layer")));
    assert_true(json_is_null(json_object_get(e1, "layer")));
    assert_int_equal(json_integer_value(json_object_get(e1, "size")), 0);
    assert_string_equal(vic_json_str(e2, "created_by"), "ADD app");
    assert_int_equal(json_integer_value(json_object_get(e2, "size")), 9);
    assert_non_null(vic_json_str(e2, "layer"));

    /* no history in the config: one entry per layer */
    const char *chain1[] = {t1};
    add_image(s, "example.com/bare:1", chain1, 1, &bare);
    json_t *hb cleanup_json = NULL;
    assert_int_equal(pl_imagestore_history(&hb, s, "example.com/bare:1", &err), 0);
    assert_int_equal(json_array_size(hb), 1);
    assert_string_equal(vic_json_str(json_array_get(hb, 0), "created_by"), "");
    json_t *hn cleanup_json = NULL;
    assert_int_equal(pl_imagestore_history(&hn, s, "example.com/none", &err), VIC_ENOTFOUND);
    vic_err_free(&err);

    /* a tag stays across reopening; removing it leaves the image its other tag */
    assert_int_equal(pl_imagestore_tag(s, "example.com/hist:1", "hist:again", &err), 0);
    assert_int_equal(pl_imagestore_tag(s, "example.com/hist:1", "Hist:bad", &err), VIC_EINVAL);
    vic_err_free(&err);
    pl_imagestore_free(s);
    assert_int_equal(pl_imagestore_open(&s, dir, &err), 0);
    json_t *img cleanup_json = NULL;
    assert_int_equal(pl_imagestore_inspect(&img, s, "docker.io/library/hist:again", &err), 0);
    assert_string_equal(vic_json_str(img, "id"), id);
    json_t *rm cleanup_json = NULL;
    assert_int_equal(pl_imagestore_remove(&rm, s, "hist:again", 0, &err), 0);
    assert_int_equal(json_array_size(rm), 1);
    json_decref(img);
    img = NULL;
    assert_int_equal(pl_imagestore_inspect(&img, s, "example.com/hist:1", &err), 0);
    assert_int_equal(json_array_size(json_object_get(img, "repo_tags")), 1);
    pl_imagestore_free(s);
}

static void test_imagestore_index_and_rootfs(void **state)
{
    (void)state;
    const tent base_l[] = {{"bin/sh", 'f', "#!shell", 0755, 0}, {"etc/os", 'f', "vic", 0644, 0}};
    const tent app_l[] = {{"app/run", 'f', "run", 0755, 0}, {"etc/.wh.os", 'f', "", 0644, 0}};
    cleanup_free char *tb = pathf("base.tar"), *ta = pathf("app.tar");
    write_tar(tb, base_l, 2, 0);
    write_tar(ta, app_l, 2, 0);
    cleanup_free char *dir = pathf("store");
    pl_imagestore *s = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_imagestore_open(&s, dir, &err), 0);

    cleanup_free char *base_id = NULL, *app_id = NULL;
    const char *chain1[] = {tb};
    const char *chain2[] = {tb, ta};
    add_image(s, "example.com/base:1", chain1, 1, &base_id);
    add_image(s, "example.com/app:latest", chain2, 2, &app_id);

    json_t *list cleanup_json = NULL;
    assert_int_equal(pl_imagestore_list(&list, s, &err), 0);
    assert_int_equal(json_array_size(list), 2);

    json_t *img cleanup_json = NULL;
    assert_int_equal(pl_imagestore_inspect(&img, s, "example.com/app", &err), 0);
    assert_string_equal(json_string_value(json_object_get(img, "id")), app_id);
    json_decref(img);
    char prefix[12];
    snprintf(prefix, sizeof(prefix), "%.10s", base_id + 7);
    assert_int_equal(pl_imagestore_inspect(&img, s, prefix, &err), 0);
    assert_string_equal(json_string_value(json_object_get(img, "id")), base_id);
    json_decref(img);
    img = NULL;
    assert_int_equal(pl_imagestore_inspect(&img, s, "example.com/nope", &err), VIC_ENOTFOUND);
    vic_err_free(&err);

    /* the root disk: both layers, the whiteout applied */
    cleanup_free char *rootfs = pathf("rootfs");
    assert_int_equal(pl_imagestore_build_rootfs(s, "example.com/app:latest", rootfs, NULL, &err),
                     0);
    cleanup_free char *ls = listing(rootfs);
    assert_string_equal(ls, "app bin etc");
    cleanup_free char *etc = pathf("rootfs/etc");
    cleanup_free char *le = listing(etc);
    assert_string_equal(le, "");
    assert_int_equal(pl_imagestore_build_rootfs(s, "example.com/app:latest", rootfs, NULL, &err),
                     VIC_ECONFLICT);
    vic_err_free(&err);

    /* tags: a second tag, then removing by id needs force */
    assert_int_equal(pl_imagestore_tag(s, "example.com/base:1", "mine:v2", &err), 0);
    assert_int_equal(pl_imagestore_inspect(&img, s, "mine:v2", &err), 0);
    json_decref(img);
    img = NULL;
    assert_int_equal(pl_imagestore_tag(s, "mine:v2", "mine@sha256:" HEX64_ZERO, &err), VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(pl_imagestore_remove(NULL, s, base_id, 0, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    json_t *rm cleanup_json = NULL;
    assert_int_equal(pl_imagestore_remove(&rm, s, "mine:v2", 0, &err), 0);
    assert_int_equal(json_array_size(rm), 1); /* only untagged */
    json_decref(rm);
    rm = NULL;

    /* removing base keeps its layer: app still uses it */
    assert_int_equal(pl_imagestore_remove(&rm, s, "example.com/base:1", 0, &err), 0);
    cleanup_free char *layers = pathf("store/layers");
    cleanup_free char *ll = listing(layers);
    assert_int_equal(strlen(ll), 64 + 1 + 64);
    assert_int_equal(pl_imagestore_remove(NULL, s, "example.com/app", 0, &err), 0);
    cleanup_free char *ll2 = listing(layers);
    assert_string_equal(ll2, "");
    cleanup_free char *blobs = pathf("store/blobs/sha256");
    cleanup_free char *lb = listing(blobs);
    assert_string_equal(lb, "");
    pl_imagestore_free(s);
}

static void test_imagestore_crash_leftovers_and_missing_layers(void **state)
{
    (void)state;
    cleanup_free char *dir = pathf("store-crash");
    pl_imagestore *s = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_imagestore_open(&s, dir, &err), 0);
    /* an image whose layer is missing is refused and never listed */
    json_t *img =
        json_pack("{s:s,s:{},s:[{s:s,s:s,s:i}]}", "id", "sha256:" HEX64_ZERO, "config", "layers",
                  "digest", "sha256:" HEX64_ZERO, "diff_id", "sha256:" HEX64_ZERO, "size", 1);
    assert_int_equal(pl_imagestore_add_image(NULL, s, img, "x:y", NULL, &err), VIC_ENOTFOUND);
    json_decref(img);
    json_t *list cleanup_json = NULL;
    assert_int_equal(pl_imagestore_list(&list, s, &err), 0);
    assert_int_equal(json_array_size(list), 0);
    pl_imagestore_free(s);
    /* a crash mid-pull leaves temporaries: the next open removes them */
    cleanup_free char *t1 = pathf("store-crash/blobs/tmp/abc.123456");
    cleanup_free char *t2 = pathf("store-crash/layers/.tmp-abc-123456");
    assert_int_equal(vic_file_write_atomic(t1, "partial", 7, 0644, NULL), 0);
    assert_int_equal(mkdir(t2, 0755), 0);
    assert_int_equal(pl_imagestore_open(&s, dir, &err), 0);
    assert_int_not_equal(access(t1, F_OK), 0);
    assert_int_not_equal(access(t2, F_OK), 0);
    /* a layer whose content does not match its diff_id leaves nothing behind */
    const tent l[] = {{"f", 'f', "x", 0644, 0}};
    cleanup_free char *tar = pathf("crash.tar");
    write_tar(tar, l, 1, 0);
    cleanup_free char *data = NULL;
    size_t len = 0;
    assert_int_equal(vic_file_read(&data, &len, tar, 1 << 20, NULL), 0);
    char hex[65];
    vic_sha256_hex(hex, data, len);
    cleanup_free char *dig = xasprintf("sha256:%s", hex);
    assert_int_equal(pl_imagestore_put_blob(s, dig, data, len, &err), 0);
    assert_int_equal(pl_imagestore_add_layer(NULL, s, dig, "sha256:" HEX64_ZERO, &err),
                     VIC_EUPSTREAM);
    cleanup_free char *layers = pathf("store-crash/layers");
    cleanup_free char *ll = listing(layers);
    assert_string_equal(ll, "");
    pl_imagestore_free(s);
    /* an unreadable index is reported, not silently replaced */
    cleanup_free char *idx = pathf("store-crash/images.json");
    assert_int_equal(vic_file_write_atomic(idx, "{garbage", 8, 0644, NULL), 0);
    vic_err_free(&err);
    assert_int_equal(pl_imagestore_open(&s, dir, &err), VIC_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imagestore_unpack_modes_owners_links),
        cmocka_unit_test(test_imagestore_unpack_refuses_escapes),
        cmocka_unit_test(test_imagestore_unpack_garbage),
        cmocka_unit_test(test_imagestore_whiteouts_and_opaque),
        cmocka_unit_test(test_imagestore_apply_does_not_follow_symlinks),
        cmocka_unit_test(test_imagestore_blob_writer_rejects),
        cmocka_unit_test(test_imagestore_index_and_rootfs),
        cmocka_unit_test(test_imagestore_history_and_tags),
        cmocka_unit_test(test_imagestore_crash_leftovers_and_missing_layers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
