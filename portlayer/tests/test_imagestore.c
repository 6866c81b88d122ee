/*
 * The image index without a network: root disks built from a layer chain, and images added,
 * listed, inspected, tagged and removed, their history, and crash leftovers.
 */
#define FIXTURE_NAME "imagestore"
#include "portlayer/tests/layer_fixture.h"

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
        cmocka_unit_test(test_imagestore_index_and_rootfs),
        cmocka_unit_test(test_imagestore_history_and_tags),
        cmocka_unit_test(test_imagestore_crash_leftovers_and_missing_layers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
