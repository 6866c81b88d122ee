/*
 * Layers without a store, from tarballs built here with libarchive: modes, owners, links,
 * devices, whiteouts, opaque directories, escapes, garbage, and applying layers onto a root
 * disk without following its symlinks.
 */
#define FIXTURE_NAME "layer"
#include "portlayer/tests/layer_fixture.h"

static void test_layer_unpack_modes_owners_links(void **state)
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
static void test_layer_unpack_refuses_escapes(void **state)
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

static void test_layer_unpack_garbage(void **state)
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

static void test_layer_whiteouts_and_opaque(void **state)
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
static void test_layer_apply_does_not_follow_symlinks(void **state)
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_unpack_modes_owners_links),
        cmocka_unit_test(test_layer_unpack_refuses_escapes),
        cmocka_unit_test(test_layer_unpack_garbage),
        cmocka_unit_test(test_layer_whiteouts_and_opaque),
        cmocka_unit_test(test_layer_apply_does_not_follow_symlinks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
