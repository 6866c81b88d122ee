/*
 * The port layer's volume stores on the local target: create (named, anonymous, in a chosen
 * store), list, inspect, remove, the refusals (bad names, unknown stores, a name taken,
 * malformed labels), concurrent creates of one name, and the leftovers of a crash swept at
 * open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "lib/file.h"
#include "lib/cleanup.h"
#include "lib/mem.h"
#include "portlayer/imagestore.h"
#include "portlayer/volumes.h"

static char home[128];
static hv_conn *hv;

static int group_setup(void **state)
{
    (void)state;
    snprintf(home, sizeof(home), "/tmp/vic-test-volumes-XXXXXX");
    if (mkdtemp(home) == NULL)
        return -1;
    hv_connect_opts o = {.target = "local", .home = home};
    return hv_open(&hv, &o, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    hv_close(hv);
    return vic_rm_rf(home, NULL);
}

static const char *const two_stores[] = {"default=[datastore1] vols", "fast=[datastore1] quick"};

static pl_volumes *open_stores(void)
{
    pl_volumes *v = NULL;
    vic_err *err = NULL;
    assert_int_equal(pl_volumes_open(&v, hv, two_stores, 2, &err), 0);
    return v;
}

/* Whether $home/datastore1/<rel> exists. */
static int exists(const char *rel)
{
    cleanup_free char *p = xasprintf("%s/datastore1/%s", home, rel);
    struct stat st;
    return stat(p, &st) == 0;
}

static void test_create_inspect_list_remove(void **state)
{
    (void)state;
    pl_volumes *v = open_stores();
    vic_err *err = NULL;
    json_t *labels = json_pack("{s:s}", "team", "a");
    pl_volume_spec s = {.name = "data1", .labels = labels};
    json_t *out = NULL;
    assert_int_equal(pl_volume_create(v, &s, &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "store")), "default");
    assert_string_equal(json_string_value(json_object_get(out, "mountpoint")),
                        "[datastore1] vols/volumes/data1");
    assert_false(json_is_true(json_object_get(out, "anonymous")));
    json_decref(out);
    assert_true(exists("vols/volumes/data1/data"));

    /* the same name again, in any store, is a conflict and changes nothing */
    pl_volume_spec again = {.name = "data1", .store = "fast"};
    assert_int_equal(pl_volume_create(v, &again, NULL, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    assert_false(exists("quick/volumes/data1"));

    json_t *opts = json_pack("{s:s}", "VolumeStore", "fast");
    pl_volume_spec anon = {.options = opts};
    assert_int_equal(pl_volume_create(v, &anon, &out, &err), 0);
    const char *name = json_string_value(json_object_get(out, "name"));
    assert_int_equal(strlen(name), 64);
    assert_true(json_is_true(json_object_get(out, "anonymous")));
    assert_string_equal(json_string_value(json_object_get(out, "store")), "fast");
    cleanup_free char *anon_name = xstrdup(name);
    json_decref(out);

    json_t *all = NULL;
    assert_int_equal(pl_volume_list(v, &all, &err), 0);
    assert_int_equal(json_array_size(all), 2);
    json_decref(all);

    assert_int_equal(pl_volume_get(v, "data1", &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "labels"), "team")),
                        "a");
    json_decref(out);
    char *disk = NULL;
    assert_int_equal(pl_volume_disk(v, anon_name, &disk, &err), 0);
    cleanup_free char *want = xasprintf("[datastore1] quick/volumes/%s/data", anon_name);
    assert_string_equal(disk, want);
    free(disk);

    assert_int_equal(pl_volume_remove(v, "data1", &err), 0);
    assert_int_equal(pl_volume_remove(v, anon_name, &err), 0);
    assert_int_equal(pl_volume_get(v, "data1", &out, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    assert_int_equal(pl_volume_remove(v, "data1", &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    assert_int_equal(pl_volume_list(v, &all, &err), 0);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    json_decref(labels);
    json_decref(opts);
    pl_volumes_free(v);
}

static void test_refusals(void **state)
{
    (void)state;
    pl_volumes *v = open_stores();
    vic_err *err = NULL;
    static const char *const bad[] = {"a", "../etc", "-x", "a/b", "a b", ".hidden", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pl_volume_spec s = {.name = bad[i]};
        assert_int_equal(pl_volume_create(v, &s, NULL, &err), VIC_EINVAL);
        assert_non_null(strstr(err->msg, "invalid characters"));
        vic_err_free(&err);
        json_t *out = NULL;
        assert_int_equal(pl_volume_get(v, bad[i], &out, &err), VIC_ENOTFOUND);
        vic_err_free(&err);
    }
    pl_volume_spec nostore = {.name = "x1", .store = "nosuch"};
    assert_int_equal(pl_volume_create(v, &nostore, NULL, &err), VIC_ENOTFOUND);
    assert_non_null(strstr(err->msg, "No volume store named (nosuch) exists"));
    vic_err_free(&err);
    json_t *labels = json_pack("{s:i}", "n", 1);
    pl_volume_spec badlabel = {.name = "x2", .labels = labels};
    assert_int_equal(pl_volume_create(v, &badlabel, NULL, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "labels.n"));
    vic_err_free(&err);
    json_decref(labels);
    json_t *all = NULL;
    assert_int_equal(pl_volume_list(v, &all, &err), 0);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    pl_volumes_free(v);

    /* a VCH without volume stores says so */
    assert_int_equal(pl_volumes_open(&v, hv, NULL, 0, &err), 0);
    pl_volume_spec s = {.name = "x3"};
    assert_int_equal(pl_volume_create(v, &s, NULL, &err), VIC_ENOTFOUND);
    assert_non_null(strstr(err->msg, "created without volume stores"));
    vic_err_free(&err);
    pl_volumes_free(v);

    static const char *const malformed[] = {"nolabel", "a b=[datastore1] x", "x=relative"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(pl_volumes_open(&v, hv, &malformed[i], 1, &err), VIC_EINVAL);
        vic_err_free(&err);
    }
    static const char *const escape[] = {"default=[datastore1] ../../etc"};
    assert_true(pl_volumes_open(&v, hv, escape, 1, &err) < 0);
    vic_err_free(&err);
}

typedef struct racer {
    pl_volumes *v;
    int rc;
} racer;

static void *race(void *p)
{
    racer *r = p;
    pl_volume_spec s = {.name = "contested"};
    vic_err *err = NULL;
    r->rc = pl_volume_create(r->v, &s, NULL, &err);
    vic_err_free(&err);
    return NULL;
}

static void test_concurrent_creates_of_one_name(void **state)
{
    (void)state;
    enum { N = 8 };
    pl_volumes *vs[N];
    racer r[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        vs[i] = open_stores(); /* as separate port layers would */
        r[i] = (racer){vs[i], 1};
        pthread_create(&th[i], NULL, race, &r[i]);
    }
    int won = 0, lost = 0;
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        won += r[i].rc == 0;
        lost += r[i].rc == VIC_ECONFLICT;
        if (r[i].rc != 0 && r[i].rc != VIC_ECONFLICT)
            print_error("racer %d: %d\n", i, r[i].rc);
    }
    assert_int_equal(lost, N - 1);
    assert_int_equal(won, 1);
    vic_err *err = NULL;
    assert_int_equal(pl_volume_remove(vs[0], "contested", &err), 0);
    for (int i = 0; i < N; i++)
        pl_volumes_free(vs[i]);
}

static void test_crash_leftovers_are_swept(void **state)
{
    (void)state;
    /* a create that died before its rename (its process is gone), one under way in a live
     * process, and a removal that died after its rename */
    cleanup_free char *half =
        xasprintf("%s/datastore1/vols/volumes/.new-2147483646-0123456789ab", home);
    cleanup_free char *busy =
        xasprintf("%s/datastore1/vols/volumes/.new-%ld-0123456789ab", home, (long)getpid());
    assert_int_equal(mkdir(busy, 0755), 0);
    cleanup_free char *gone = xasprintf("%s/datastore1/vols/volumes/.gone-0123456789ab/data", home);
    assert_int_equal(mkdir(half, 0755), 0);
    cleanup_free char *gone_parent =
        xasprintf("%s/datastore1/vols/volumes/.gone-0123456789ab", home);
    assert_int_equal(mkdir(gone_parent, 0755), 0);
    assert_int_equal(mkdir(gone, 0755), 0);
    pl_volumes *v = open_stores();
    struct stat st;
    assert_int_not_equal(stat(half, &st), 0);
    assert_int_not_equal(stat(gone_parent, &st), 0);
    assert_int_equal(stat(busy, &st), 0);
    assert_int_equal(rmdir(busy), 0);
    json_t *all = NULL;
    vic_err *err = NULL;
    assert_int_equal(pl_volume_list(v, &all, &err), 0);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    /* a volume whose metadata was lost still exists, with none */
    cleanup_free char *bare = xasprintf("%s/datastore1/vols/volumes/bare", home);
    assert_int_equal(mkdir(bare, 0755), 0);
    json_t *out = NULL;
    assert_int_equal(pl_volume_get(v, "bare", &out, &err), 0);
    assert_int_equal(json_object_size(json_object_get(out, "labels")), 0);
    json_decref(out);
    assert_int_equal(pl_volume_remove(v, "bare", &err), 0);
    pl_volumes_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_inspect_list_remove),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_concurrent_creates_of_one_name),
        cmocka_unit_test(test_crash_leftovers_are_swept),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
