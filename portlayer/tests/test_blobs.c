/*
 * The image store's blobs and unpacked layers: writers that refuse wrong content, layers
 * added from stored blobs.
 */
#define FIXTURE_NAME "blobs"
#include "portlayer/tests/layer_fixture.h"

static void test_blobs_writer_rejects(void **state)
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

/* A layer comes from a stored blob, is checked against its diff_id, and gets its directory
 * and record only when it matches; a mismatch or a missing blob leaves nothing behind. */
static void test_blobs_add_layer(void **state)
{
    (void)state;
    cleanup_free char *dir = pathf("store-layer");
    pl_imagestore *s = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_imagestore_open(&s, dir, &err), 0);
    tent e[] = {{"etc", 'd', NULL, 0755, 0}, {"etc/hostname", 'f', "box\n", 0, 0}};
    cleanup_free char *tar = pathf("layer.tar");
    write_tar(tar, e, 2, 0);
    cleanup_free char *diff_id = file_digest(tar); /* uncompressed: blob digest == diff_id */
    cleanup_free char *data = NULL;
    size_t len = 0;
    assert_int_equal(vic_file_read(&data, &len, tar, 1 << 20, NULL), 0);

    json_t *meta = NULL;
    assert_int_equal(pl_imagestore_add_layer(&meta, s, diff_id, diff_id, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    assert_int_equal(pl_imagestore_put_blob(s, diff_id, data, len, &err), 0);
    const char *other = "sha256:" HEX64_ZERO;
    assert_int_equal(pl_imagestore_add_layer(&meta, s, diff_id, other, &err), VIC_EUPSTREAM);
    assert_non_null(strstr(err->msg, "the config says"));
    vic_err_free(&err);
    assert_null(meta);
    assert_false(pl_imagestore_has_layer(s, other));
    cleanup_free char *layers = pathf("store-layer/layers");
    cleanup_free char *none = listing(layers);
    assert_string_equal(none, "");

    assert_int_equal(pl_imagestore_add_layer(&meta, s, diff_id, diff_id, &err), 0);
    assert_string_equal(vic_json_str(meta, "diff_id"), diff_id);
    assert_string_equal(vic_json_str(meta, "digest"), diff_id);
    json_decref(meta);
    assert_true(pl_imagestore_has_layer(s, diff_id));
    cleanup_free char *ldir = pl_imagestore_layer_dir(s, diff_id);
    cleanup_free char *want = pathf("store-layer/layers/%s", diff_id + 7);
    assert_string_equal(ldir, want);
    cleanup_free char *host = xasprintf("%s/rootfs/etc/hostname", ldir);
    cleanup_free char *text = slurp(host);
    assert_string_equal(text, "box\n");
    json_t *again = NULL;
    assert_int_equal(pl_imagestore_layer_meta(&again, s, diff_id, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(again, "entries")), 2);
    json_decref(again);
    assert_int_equal(pl_imagestore_layer_meta(&again, s, other, &err), VIC_ENOTFOUND);
    pl_imagestore_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blobs_writer_rejects),
        cmocka_unit_test(test_blobs_add_layer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
