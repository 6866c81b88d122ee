/*
 * test_changes.c - a root disk against its image's layers (portlayer/changes.c): a disk built
 * from layers with whiteouts, opaque directories and parent-only directories compares equal,
 * each kind of change is found with Docker's kinds and order, VIC's own paths are no change,
 * and the changes' tar holds the entries and whiteouts a layer needs (applied over the image,
 * it gives the disk back).
 */
#define FIXTURE_NAME "changes"
#include "layer_fixture.h"

#include "portlayer/changes.h"

/* Two layers (l2: a whiteout, an opaque directory, a parent-only directory), unpacked; *layers
 * is what pl_changes_compute reads, root a disk built from them. */
static void image_and_disk(json_t **layers, const char *root, const pl_idmap *ids)
{
    const tent l1[] = {
        {"a/1", 'f', "1", 0644, 0}, {"a/2", 'f', "2", 0644, 0},        {"c", 'f', "c", 0644, 0},
        {"d", 'd', NULL, 0700, 0},  {"keep", 'f', "k", 0600, 7},       {"ln", 'l', "keep", 0777, 0},
        {"hl", 'h', "keep", 0, 0},  {"etc/passwd", 'f', "r", 0644, 0},
    };
    const tent l2[] = {
        {"a/.wh..wh..opq", 'f', "", 0644, 0},
        {"a/new", 'f', "new", 0644, 0},
        {".wh.c", 'f', "", 0644, 0},
        {"d/inner", 'f', "i", 0644, 0},
    };
    cleanup_free char *t1 = pathf("l1.tar"), *t2 = pathf("l2.tar");
    cleanup_free char *d1 = pathf("l1"), *d2 = pathf("l2");
    write_tar(t1, l1, sizeof(l1) / sizeof(l1[0]), 0);
    write_tar(t2, l2, sizeof(l2) / sizeof(l2[0]), 0);
    json_t *m1 = NULL, *m2 = NULL;
    assert_int_equal(unpack_file(&m1, t1, d1, NULL), 0);
    assert_int_equal(unpack_file(&m2, t2, d2, NULL), 0);
    *layers = json_pack("[{s:s, s:o}, {s:s, s:o}]", "root", d1, "meta", m1, "root", d2, "meta", m2);
    mkdir(root, 0755);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(
        pl_layer_apply(root, d1, json_object_get(json_array_get(*layers, 0), "meta"), ids, &err),
        0);
    assert_int_equal(
        pl_layer_apply(root, d2, json_object_get(json_array_get(*layers, 1), "meta"), ids, &err),
        0);
}

/* "K path" lines of the changes, joined by ','. */
static char *render(const json_t *changes)
{
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        vic_buf_appendf(&b, "%s%c %s", i ? "," : "",
                        "CAD"[json_integer_value(json_object_get(c, "kind"))],
                        vic_json_str(c, "path"));
    }
    return vic_buf_steal(&b);
}

static void test_changes_fresh_disk_has_none(void **state)
{
    (void)state;
    json_t *layers cleanup_json = NULL, *out cleanup_json = NULL;
    cleanup_free char *root = pathf("fresh");
    pl_idmap ids = {100000, 65536};
    image_and_disk(&layers, root, &ids);
    /* what VIC puts on a disk to start it is no change */
    cleanup_free char *tether = pathf("fresh/.tether"), *hosts = pathf("fresh/etc/hosts");
    cleanup_free char *proc = pathf("fresh/proc");
    mkdir(tether, 0755);
    mkdir(proc, 0555);
    assert_int_equal(vic_file_write_atomic(hosts, "x", 1, 0644, NULL), 0);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_changes_compute(&out, root, layers, &ids, &err), 0);
    cleanup_free char *got = render(out);
    assert_string_equal(got, "");
}

static void test_changes_kinds_and_order(void **state)
{
    (void)state;
    json_t *layers cleanup_json = NULL, *out cleanup_json = NULL;
    cleanup_free char *root = pathf("kinds");
    image_and_disk(&layers, root, NULL);
    cleanup_free char *f1 = pathf("kinds/a/new"), *f2 = pathf("kinds/d/inner");
    cleanup_free char *dn = pathf("kinds/n"), *dns = pathf("kinds/n/s"), *nf = pathf("kinds/n/s/f");
    cleanup_free char *keep = pathf("kinds/keep"), *ln = pathf("kinds/ln");
    assert_int_equal(vic_file_write_atomic(f1, "changed", 7, 0644, NULL), 0); /* size, mtime */
    assert_int_equal(unlink(f2), 0);                                          /* deleted */
    assert_int_equal(mkdir(dn, 0755), 0);
    assert_int_equal(mkdir(dns, 0755), 0);
    assert_int_equal(vic_file_write_atomic(nf, "n", 1, 0644, NULL), 0); /* added tree */
    assert_int_equal(chmod(keep, 0640), 0); /* mode: of hl too, its hard link */
    assert_int_equal(unlink(ln), 0);
    assert_int_equal(mkdir(ln, 0755), 0); /* a symlink become a directory */
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_changes_compute(&out, root, layers, NULL, &err), 0);
    cleanup_free char *got = render(out);
    assert_string_equal(got,
                        "C /a,C /a/new,C /d,D /d/inner,C /hl,C /keep,C /ln,A /n,A /n/s,A /n/s/f");
}

static int to_file(const void *data, size_t len, void *payload)
{
    return fwrite(data, 1, len, payload) == len ? 0 : -1;
}

static void test_changes_tar_rebuilds_the_disk(void **state)
{
    (void)state;
    json_t *layers cleanup_json = NULL, *out cleanup_json = NULL;
    cleanup_free char *root = pathf("tar");
    image_and_disk(&layers, root, NULL);
    cleanup_free char *f1 = pathf("tar/a/new"), *f2 = pathf("tar/d/inner"), *nf = pathf("tar/nf");
    assert_int_equal(vic_file_write_atomic(f1, "changed", 7, 0644, NULL), 0);
    assert_int_equal(unlink(f2), 0);
    assert_int_equal(vic_file_write_atomic(nf, "n", 1, 0600, NULL), 0);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_changes_compute(&out, root, layers, NULL, &err), 0);
    cleanup_free char *tar = pathf("tar.tar"), *ld = pathf("tar-layer"), *copy = pathf("copy");
    FILE *f = fopen(tar, "w");
    assert_non_null(f);
    uint64_t size = 0;
    assert_int_equal(pl_changes_tar(root, out, NULL, to_file, f, &size, &err), 0);
    fclose(f);
    struct stat st;
    assert_int_equal(stat(tar, &st), 0);
    assert_int_equal((uint64_t)st.st_size, size);
    json_t *meta cleanup_json = NULL;
    assert_int_equal(unpack_file(&meta, tar, ld, &err), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(meta, "whiteouts"), 0)),
                        "d/inner");
    /* the image's layers and this one make a disk with no changes against the three */
    json_t *three cleanup_json = json_deep_copy(layers);
    json_array_append_new(three, json_pack("{s:s, s:O}", "root", ld, "meta", meta));
    mkdir(copy, 0755);
    for (size_t i = 0; i < 3; i++) {
        const json_t *l = json_array_get(three, i);
        assert_int_equal(
            pl_layer_apply(copy, vic_json_str(l, "root"), json_object_get(l, "meta"), NULL, &err),
            0);
    }
    json_t *again cleanup_json = NULL, *none cleanup_json = NULL;
    assert_int_equal(pl_changes_compute(&again, copy, layers, NULL, &err), 0);
    cleanup_free char *a = render(again), *b = render(out);
    assert_string_equal(a, b);
    assert_int_equal(pl_changes_compute(&none, copy, three, NULL, &err), 0);
    assert_int_equal(json_array_size(none), 0);
}

static void test_changes_export_leaves_out_vic_paths(void **state)
{
    (void)state;
    json_t *layers cleanup_json = NULL;
    cleanup_free char *root = pathf("exp");
    image_and_disk(&layers, root, NULL);
    cleanup_free char *tether = pathf("exp/.tether"), *vic = pathf("exp/.vic");
    mkdir(tether, 0755);
    mkdir(vic, 0755);
    cleanup_free char *tar = pathf("exp.tar"), *dir = pathf("exp-out");
    FILE *f = fopen(tar, "w");
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_rootfs_tar(root, NULL, to_file, f, &err), 0);
    fclose(f);
    json_t *meta cleanup_json = NULL;
    assert_int_equal(unpack_file(&meta, tar, dir, &err), 0);
    cleanup_free char *top = listing(dir);
    assert_string_equal(top, "a d etc hl keep ln");
}

static int stop_at_once(const void *data, size_t len, void *payload)
{
    (void)data, (void)len, (void)payload;
    return -1;
}

static void test_changes_receiver_gone(void **state)
{
    (void)state;
    json_t *layers cleanup_json = NULL;
    cleanup_free char *root = pathf("gone");
    image_and_disk(&layers, root, NULL);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_rootfs_tar(root, NULL, stop_at_once, NULL, &err), VIC_EUNAVAIL);
    vic_err_free(&err);
    cleanup_free char *missing = pathf("nosuch");
    json_t *out = NULL;
    assert_int_equal(pl_changes_compute(&out, missing, layers, NULL, &err), VIC_EIO);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changes_fresh_disk_has_none),
        cmocka_unit_test(test_changes_kinds_and_order),
        cmocka_unit_test(test_changes_tar_rebuilds_the_disk),
        cmocka_unit_test(test_changes_export_leaves_out_vic_paths),
        cmocka_unit_test(test_changes_receiver_gone),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
