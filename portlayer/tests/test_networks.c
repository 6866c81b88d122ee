/*
 * The port layer's networks: the built-in bridge and none, subnets cut from the bridge range
 * in order, chosen subnets checked (inside the range, no overlap, host bits, gateway), names
 * refused or taken, concurrent creates of one name, removal, and the name server's lookup
 * (portlayer/dns.c) over a container list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/mem.h"
#include "portlayer/dns.h"
#include "portlayer/networks.h"

static char dir[128];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/vic-test-networks-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    pl_networks *n = NULL;
    cleanup_free char *sub = xasprintf("%s/nets", dir);
    if (pl_networks_open(&n, "10.40.0.0/16", sub, NULL) < 0)
        return -1;
    *state = n;
    return 0;
}

static int teardown(void **state)
{
    pl_networks_free(*state);
    cleanup_free char *cmd = xasprintf("rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static json_t *create(pl_networks *n, const char *name, const char *subnet, const char *gw, int *rc,
                      vic_err **err)
{
    pl_network_spec s = {.name = name, .subnet = subnet, .gateway = gw};
    json_t *out = NULL;
    *rc = pl_network_create(n, &s, &out, err);
    return out;
}

static void test_builtins_and_order(void **state)
{
    pl_networks *n = *state;
    json_t *all cleanup_json = NULL;
    assert_int_equal(pl_network_list(n, &all, NULL), 0);
    assert_int_equal(json_array_size(all), 2);
    json_t *br = json_array_get(all, 0);
    assert_string_equal(json_string_value(json_object_get(br, "name")), "bridge");
    assert_string_equal(json_string_value(json_object_get(br, "subnet")), "10.40.0.0/20");
    assert_string_equal(json_string_value(json_object_get(br, "gateway")), "10.40.0.1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(all, 1), "driver")),
                        "null");
    int rc;
    json_t *a cleanup_json = create(n, "a", NULL, NULL, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(json_string_value(json_object_get(a, "subnet")), "10.40.16.0/20");
    json_t *b cleanup_json = create(n, "b", NULL, NULL, &rc, NULL);
    assert_string_equal(json_string_value(json_object_get(b, "subnet")), "10.40.32.0/20");
    /* found by name, id and id prefix; the bridge's id is stable */
    json_t *got cleanup_json = NULL;
    char prefix[13];
    snprintf(prefix, sizeof(prefix), "%s", json_string_value(json_object_get(b, "id")));
    assert_int_equal(pl_network_get(n, prefix, &got, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(got, "name")), "b");
    json_t *br2 cleanup_json = NULL;
    assert_int_equal(pl_network_get(n, "bridge", &br2, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(br2, "id")),
                        json_string_value(json_object_get(br, "id")));
    /* a removed network's subnet is handed out again */
    assert_int_equal(pl_network_remove(n, "a", NULL), 0);
    json_t *c cleanup_json = create(n, "c", NULL, NULL, &rc, NULL);
    assert_string_equal(json_string_value(json_object_get(c, "subnet")), "10.40.16.0/20");
}

static void test_refusals(void **state)
{
    pl_networks *n = *state;
    int rc;
    vic_err *err cleanup_err = NULL;
    json_t *x = create(n, "bad name", NULL, NULL, &rc, &err);
    assert_int_equal(rc, VIC_EINVAL);
    vic_err_free(&err);
    x = create(n, "bridge", NULL, NULL, &rc, &err);
    assert_int_equal(rc, VIC_EFORBIDDEN);
    vic_err_free(&err);
    x = create(n, "out", "192.168.0.0/24", NULL, &rc, &err);
    assert_int_equal(rc, VIC_EINVAL);
    assert_non_null(strstr(err->msg, "outside the VCH's bridge range 10.40.0.0/16"));
    vic_err_free(&err);
    x = create(n, "hostbits", "10.40.200.5/24", NULL, &rc, &err);
    assert_int_equal(rc, VIC_EINVAL);
    vic_err_free(&err);
    x = create(n, "overlap", "10.40.0.128/25", NULL, &rc, &err);
    assert_int_equal(rc, VIC_ECONFLICT);
    assert_non_null(strstr(err->msg, "network bridge"));
    vic_err_free(&err);
    x = create(n, "gw", "10.40.200.0/24", "10.40.201.1", &rc, &err);
    assert_int_equal(rc, VIC_EINVAL);
    vic_err_free(&err);
    json_t *ok cleanup_json = create(n, "mine", "10.40.200.0/24", "10.40.200.254", &rc, NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(json_string_value(json_object_get(ok, "gateway")), "10.40.200.254");
    x = create(n, "mine", NULL, NULL, &rc, &err);
    assert_int_equal(rc, VIC_ECONFLICT);
    vic_err_free(&err);
    assert_int_equal(pl_network_remove(n, "none", &err), VIC_EFORBIDDEN);
    vic_err_free(&err);
    assert_int_equal(pl_network_remove(n, "nothere", &err), VIC_ENOTFOUND);
    (void)x;
}

static void test_range_runs_out(void **state)
{
    pl_networks *n = *state;
    int rc = 0;
    char name[16];
    for (int i = 1; i < 16; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        json_t *x = create(n, name, NULL, NULL, &rc, NULL);
        assert_int_equal(rc, 0);
        json_decref(x);
    }
    vic_err *err cleanup_err = NULL;
    json_t *x = create(n, "one-too-many", NULL, NULL, &rc, &err);
    assert_null(x);
    assert_int_equal(rc, VIC_ELIMIT);
}

static pl_networks *shared;
static void *race(void *arg)
{
    (void)arg;
    pl_network_spec s = {.name = "racy", .subnet = NULL};
    vic_err *err = NULL;
    int rc = pl_network_create(shared, &s, NULL, &err);
    vic_err_free(&err);
    return (void *)(intptr_t)rc;
}

static void test_concurrent_creates_one_wins(void **state)
{
    shared = *state;
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, race, NULL);
    int wins = 0;
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        wins += (intptr_t)r == 0;
    }
    assert_int_equal(wins, 1);
}

static void test_dns_lookup(void **state)
{
    (void)state;
    json_t *list cleanup_json = json_loads(
        "[{\"id\": \"abcdef0123456789\", \"name\": \"web\", \"config\": {\"hostname\": \"h1\"},"
        "  \"networks\": [{\"name\": \"n1\", \"ip\": \"10.1.0.2\", \"aliases\": [\"www\"]},"
        "                 {\"name\": \"n2\", \"ip\": \"10.2.0.2\", \"aliases\": []}]},"
        " {\"id\": \"fedcba\", \"name\": \"db\", \"config\": {},"
        "  \"networks\": [{\"name\": \"n2\", \"ip\": \"10.2.0.3\"}]}]",
        0, NULL);
    uint32_t a[4];
    assert_int_equal(pl_dns_lookup(list, "n1", "web", a, 4), 1);
    assert_int_equal(a[0], inet_addr("10.1.0.2"));
    assert_int_equal(pl_dns_lookup(list, "n1", "WWW", a, 4), 1);
    assert_int_equal(pl_dns_lookup(list, "n1", "h1", a, 4), 1);
    assert_int_equal(pl_dns_lookup(list, "n1", "abcdef012345", a, 4), 1);
    assert_int_equal(pl_dns_lookup(list, "n2", "web", a, 4), 1);
    assert_int_equal(a[0], inet_addr("10.2.0.2"));
    /* db is on n2 only: n1's containers do not see it */
    assert_int_equal(pl_dns_lookup(list, "n1", "db", a, 4), -1);
    assert_int_equal(pl_dns_lookup(list, "n2", "db", a, 4), 1);
    assert_int_equal(pl_dns_lookup(list, "n2", "nothere", a, 4), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_builtins_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_runs_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_creates_one_wins, setup, teardown),
        cmocka_unit_test(test_dns_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
