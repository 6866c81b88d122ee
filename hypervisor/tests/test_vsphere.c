/*
 * The vsphere driver against vcsim (govmomi's simulator, started by tests/fixtures/vcsim.sh).
 * Skips (exit 77) when the simulator cannot be built here (no Go, no govmomi package).
 * VIC_VCSIM_SCRIPT names the fixture script (default tests/fixtures/vcsim.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "hypervisor/vsphere/soap.h"
#include "lib/cleanup.h"
#include "lib/mem.h"

static char dir[128];
static const char *script;
static char addr[64], user[64], password[128];
static hv_conn *conn;

#define DC       "/DC0"
#define CLUSTER  "/DC0/host/DC0_C0"
#define ROOTPOOL "/DC0/host/DC0_C0/Resources"
#define DS       "LocalDS_0"

static int read_env(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/vcsim.env", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "VCSIM_ADDR=", 11) == 0)
            snprintf(addr, sizeof(addr), "%.60s", line + 11);
        else if (strncmp(line, "VCSIM_USER=", 11) == 0)
            snprintf(user, sizeof(user), "%.60s", line + 11);
        else if (strncmp(line, "VCSIM_PASSWORD=", 15) == 0)
            snprintf(password, sizeof(password), "%.120s", line + 15);
    }
    fclose(f);
    return addr[0] ? 0 : -1;
}

static int connect_with(hv_conn **out, const char *pw, const char *thumb, vic_err **err)
{
    hv_connect_opts o = {.target = addr, .user = user, .password = pw, .thumbprint = thumb};
    return hv_open(out, &o, err);
}

/* The certificate's SHA-1 thumbprint, learnt from the refusal message of a wrong pin. */
static char sha1[128], sha256[160];

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vic-test-vsphere-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    script = getenv("VIC_VCSIM_SCRIPT");
    if (script == NULL)
        script = "tests/fixtures/vcsim.sh";
    char *cmd = xasprintf("%s %s start >%s/start.log 2>&1", script, dir, dir);
    int rc = system(cmd);
    free(cmd);
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
        char *tail = xasprintf("tail -n 3 %s/start.log >&2", dir);
        if (system(tail) != 0)
            fprintf(stderr, "(no log)\n");
        free(tail);
        printf("vcsim unavailable: Go or govmomi cannot be installed or built here\n");
        fflush(stdout);
        char *rm = xasprintf("rm -rf %s", dir);
        if (system(rm) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
        free(rm);
        exit(77);
    }
    if (rc != 0 || read_env() < 0) {
        char *cat = xasprintf("cat %s/start.log >&2", dir);
        if (system(cat) != 0)
            fprintf(stderr, "(no log)\n");
        free(cat);
        return -1;
    }
    /* Learn the thumbprint from a refused pin, then connect pinned. */
    vic_err *err cleanup_err = NULL;
    hv_conn *c = NULL;
    if (connect_with(&c, password, "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33",
                     &err) == 0) {
        hv_close(c);
        fprintf(stderr, "a wrong thumbprint was accepted\n");
        return -1;
    }
    const char *p = strstr(err->msg, "SHA-1 ");
    const char *q = strstr(err->msg, "SHA-256 ");
    if (p == NULL || q == NULL) {
        fprintf(stderr, "no thumbprint in: %s\n", err->msg);
        return -1;
    }
    snprintf(sha1, sizeof(sha1), "%.*s", (int)strcspn(p + 6, " )"), p + 6);
    snprintf(sha256, sizeof(sha256), "%.*s", (int)strcspn(q + 8, " )"), q + 8);
    vic_err_free(&err);
    if (connect_with(&conn, password, sha1, &err) < 0) {
        fprintf(stderr, "hv_open: %s\n", err->msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    hv_close(conn);
    char *cmd = xasprintf("%s %s stop; rm -rf %s", script, dir, dir);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

static void test_login(void **state)
{
    (void)state;
    assert_string_equal(hv_driver_name(conn), "vsphere");
    hv_conn *c = NULL;
    vic_err *err cleanup_err = NULL;
    /* bad password */
    assert_int_equal(connect_with(&c, "wrong", sha1, &err), VIC_EAUTH);
    assert_non_null(strstr(err->msg, "user name or password"));
    vic_err_free(&err);
    /* empty user */
    hv_connect_opts o = {.target = addr, .user = "", .password = "x", .thumbprint = sha1};
    assert_int_equal(hv_open(&c, &o, &err), VIC_EINVAL);
    vic_err_free(&err);
    /* no pin: the simulator's certificate is self-signed; the message offers the thumbprint */
    assert_int_equal(connect_with(&c, password, NULL, &err), VIC_EAUTH);
    assert_non_null(strstr(err->msg, sha1));
    vic_err_free(&err);
    /* a malformed pin */
    assert_int_equal(connect_with(&c, password, "abc", &err), VIC_EINVAL);
    vic_err_free(&err);
    /* a SHA-256 pin, lower case without colons, works too */
    char low[100];
    size_t n = 0;
    for (const char *p = sha256; *p && n + 1 < sizeof(low); p++)
        if (*p != ':')
            low[n++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
    low[n] = '\0';
    assert_int_equal(connect_with(&c, password, low, &err), 0);
    hv_ref r;
    assert_int_equal(hv_find(c, HV_DATACENTER, DC, &r, &err), 0);
    hv_close(c);
    /* nothing listening */
    hv_connect_opts dead = {.target = "127.0.0.1:1", .user = "u", .password = "p"};
    assert_int_equal(hv_open(&c, &dead, &err), VIC_EUPSTREAM);
}

static void test_find(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    hv_ref r;
    assert_int_equal(hv_find(conn, HV_DATACENTER, DC, &r, &err), 0);
    assert_string_equal(r.id, "Datacenter:datacenter-2");
    assert_int_equal(hv_find(conn, HV_COMPUTE, CLUSTER, &r, &err), 0);
    assert_memory_equal(r.id, "ClusterComputeResource:", 23);
    assert_int_equal(hv_find(conn, HV_POOL, ROOTPOOL, &r, &err), 0);
    assert_memory_equal(r.id, "ResourcePool:", 13);
    assert_int_equal(hv_find(conn, HV_DATASTORE, DC "/datastore/" DS, &r, &err), 0);
    assert_memory_equal(r.id, "Datastore:", 10);
    hv_ref r2;
    assert_int_equal(hv_find(conn, HV_DATASTORE, DS, &r2, &err), 0);
    assert_string_equal(r.id, r2.id);
    assert_int_equal(hv_find(conn, HV_NETWORK, DC "/network/VM Network", &r, &err), 0);
    assert_memory_equal(r.id, "Network:", 8);
    assert_int_equal(hv_find(conn, HV_NETWORK, "VM Network", &r2, &err), 0);
    assert_string_equal(r.id, r2.id);
    assert_int_equal(hv_find(conn, HV_VM, DC "/vm/DC0_H0_VM0", &r, &err), 0);
    assert_memory_equal(r.id, "VirtualMachine:", 15);
    assert_int_equal(hv_find(conn, HV_FOLDER, DC "/vm", &r, &err), 0);
    /* missing, and of the wrong kind */
    assert_int_equal(hv_find(conn, HV_POOL, CLUSTER "/Resources/nope", &r, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    assert_int_equal(hv_find(conn, HV_POOL, DC, &r, &err), VIC_ENOTFOUND);
    assert_non_null(strstr(err->msg, "Datacenter"));
    vic_err_free(&err);

    json_t *l cleanup_json = NULL;
    assert_int_equal(hv_list(conn, HV_DATASTORE, NULL, &l, &err), 0);
    assert_true(json_array_size(l) >= 1);
    json_t *d = json_array_get(l, 0);
    assert_string_equal(json_string_value(json_object_get(d, "path")), DC "/datastore/" DS);
    assert_true(json_integer_value(json_object_get(d, "capacity_mb")) > 0);
    json_decref(l);
    assert_int_equal(hv_list(conn, HV_POOL, CLUSTER, &l, &err), 0);
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "path")), ROOTPOOL);
    json_decref(l);
    assert_int_equal(hv_list(conn, HV_NETWORK, DC, &l, &err), 0);
    assert_true(json_array_size(l) >= 2);
}

static void test_pools(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    hv_pool_spec spec = {.cpu = {.limit = -1, .reservation = 0},
                         .memory = {.limit = 2048, .reservation = 512, .shares = "high"}};
    hv_ref p;
    assert_int_equal(hv_pool_create(conn, ROOTPOOL, "vch-pool", &spec, &p, &err), 0);
    hv_ref again;
    assert_int_equal(hv_pool_create(conn, ROOTPOOL, "vch-pool", &spec, &again, &err),
                     VIC_ECONFLICT);
    vic_err_free(&err);
    /* the compute resource stands for its root pool */
    hv_ref child;
    assert_int_equal(hv_pool_create(conn, CLUSTER, "vch-pool2", &spec, &child, &err), 0);
    hv_ref found;
    assert_int_equal(hv_find(conn, HV_POOL, ROOTPOOL "/vch-pool", &found, &err), 0);
    assert_string_equal(found.id, p.id);

    hv_pool_info info;
    assert_int_equal(hv_pool_get(conn, &p, &info, &err), 0);
    assert_string_equal(info.path, ROOTPOOL "/vch-pool");
    assert_int_equal(info.spec.cpu.limit, -1);
    assert_int_equal(info.spec.memory.limit, 2048);
    assert_int_equal(info.spec.memory.reservation, 512);
    assert_string_equal(info.spec.memory.shares, "high");
    assert_string_equal(info.cpu_enforcement, "enforced");

    spec.cpu.limit = 3000;
    spec.cpu.reservation = 100;
    snprintf(spec.cpu.shares, sizeof(spec.cpu.shares), "1234");
    assert_int_equal(hv_pool_update(conn, &p, &spec, &err), 0);
    assert_int_equal(hv_pool_get(conn, &p, &info, &err), 0);
    assert_int_equal(info.spec.cpu.limit, 3000);
    assert_int_equal(info.spec.cpu.reservation, 100);
    assert_string_equal(info.spec.cpu.shares, "1234");

    spec.memory.limit = 0;
    assert_int_equal(hv_pool_update(conn, &p, &spec, &err), VIC_EINVAL);
    vic_err_free(&err);

    /* a pool holding a pool is kept */
    hv_ref inner;
    spec.memory.limit = -1;
    assert_int_equal(hv_pool_create(conn, ROOTPOOL "/vch-pool", "inner", &spec, &inner, &err), 0);
    assert_int_equal(hv_pool_destroy(conn, &p, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    assert_int_equal(hv_pool_destroy(conn, &inner, &err), 0);
    assert_int_equal(hv_pool_destroy(conn, &p, &err), 0);
    assert_int_equal(hv_pool_destroy(conn, &child, &err), 0);
    assert_int_equal(hv_pool_get(conn, &p, &info, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    hv_ref root;
    assert_int_equal(hv_find(conn, HV_POOL, ROOTPOOL, &root, &err), 0);
    assert_int_equal(hv_pool_destroy(conn, &root, &err), VIC_EINVAL);
}

static void test_vm_lifecycle(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    hv_pool_spec spec = {.cpu = {.limit = -1}, .memory = {.limit = -1}};
    hv_ref pool;
    assert_int_equal(hv_pool_create(conn, ROOTPOOL, "vch-vms", &spec, &pool, &err), 0);

    json_t *ec cleanup_json = json_object();
    for (int i = 0; i < 50; i++) {
        char k[64], v[64];
        snprintf(k, sizeof(k), "guestinfo.vice./common/key%02d", i);
        snprintf(v, sizeof(v), "value <%d> & \"quoted\"", i);
        json_object_set_new(ec, k, json_string(v));
    }
    json_object_set_new(ec, "other.key", json_string("x"));
    hv_nic nic = {.network = "VM Network"};
    hv_vm_spec vs = {.name = "vch-appliance",
                     .pool = ROOTPOOL "/vch-vms",
                     .datastore = DS,
                     .cpus = 2,
                     .memory_mb = 512,
                     .iso = "[" DS "] vch-appliance/appliance.iso",
                     .nics = &nic,
                     .n_nics = 1,
                     .serial_log = true,
                     .extra_config = ec};
    hv_ref vm;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(hv_vm_create(conn, &vs, &vm, &err), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("vm create: %.1f ms\n",
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    hv_ref dup;
    assert_int_equal(hv_vm_create(conn, &vs, &dup, &err), VIC_ECONFLICT);
    vic_err_free(&err);

    hv_vm_info info;
    assert_int_equal(hv_vm_get(conn, &vm, &info, &err), 0);
    assert_string_equal(info.name, "vch-appliance");
    assert_string_equal(info.pool, ROOTPOOL "/vch-vms");
    assert_int_equal(info.power, HV_POWERED_OFF);
    assert_string_equal(
        json_string_value(json_object_get(info.extra_config, "guestinfo.vice./common/key07")),
        "value <7> & \"quoted\"");
    assert_true(json_object_size(info.extra_config) >= 51);
    char v0[64];
    snprintf(v0, sizeof(v0), "%s", info.change_version);
    hv_vm_info_clear(&info);

    assert_int_equal(hv_vm_power_on(conn, &vm, &err), 0);
    assert_int_equal(hv_vm_power_on(conn, &vm, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    assert_int_equal(hv_vm_destroy(conn, &vm, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    assert_int_equal(hv_vm_get(conn, &vm, &info, &err), 0);
    assert_int_equal(info.power, HV_POWERED_ON);
    hv_vm_info_clear(&info);

    /* reconfigure: set one key, remove another; a stale version is refused */
    json_t *chg cleanup_json =
        json_pack("{s:s, s:n}", "guestinfo.vice./common/key01", "changed", "other.key");
    hv_vm_change ch = {.extra_config = chg};
    char v1[64];
    assert_int_equal(hv_vm_reconfigure(conn, &vm, v0, &ch, v1, sizeof(v1), &err), 0);
    assert_string_not_equal(v0, v1);
    assert_int_equal(hv_vm_reconfigure(conn, &vm, v0, &ch, NULL, 0, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    assert_int_equal(hv_vm_get(conn, &vm, &info, &err), 0);
    assert_string_equal(info.change_version, v1);
    assert_string_equal(
        json_string_value(json_object_get(info.extra_config, "guestinfo.vice./common/key01")),
        "changed");
    assert_null(json_object_get(info.extra_config, "other.key"));
    hv_vm_info_clear(&info);

    /* the pool's VMs with a key prefix, in one call */
    json_t *l cleanup_json = NULL;
    assert_int_equal(hv_vm_list(conn, ROOTPOOL "/vch-vms", "guestinfo.vice./common/key0", &l, &err),
                     0);
    assert_int_equal(json_array_size(l), 1);
    json_t *e = json_array_get(l, 0);
    assert_string_equal(json_string_value(json_object_get(e, "ref")), vm.id);
    assert_string_equal(json_string_value(json_object_get(e, "power")), "poweredOn");
    assert_string_equal(json_string_value(json_object_get(e, "change_version")), v1);
    assert_int_equal(json_object_size(json_object_get(e, "extra_config")), 10);
    json_decref(l);
    assert_int_equal(hv_vm_list(conn, ROOTPOOL "/vch-vms", NULL, &l, &err), 0);
    assert_int_equal(json_object_size(json_object_get(json_array_get(l, 0), "extra_config")), 0);

    /* a pool holding a VM is kept */
    assert_int_equal(hv_pool_destroy(conn, &pool, &err), VIC_ECONFLICT);
    vic_err_free(&err);

    assert_int_equal(hv_vm_power_off(conn, &vm, 0, &err), 0);
    assert_int_equal(hv_vm_power_off(conn, &vm, 0, &err), 0); /* off already */
    assert_int_equal(hv_vm_destroy(conn, &vm, &err), 0);
    assert_int_equal(hv_vm_get(conn, &vm, &info, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    assert_int_equal(hv_pool_destroy(conn, &pool, &err), 0);

    /* bad input */
    vs.name = "bad/name";
    assert_int_equal(hv_vm_create(conn, &vs, &dup, &err), VIC_EINVAL);
    vic_err_free(&err);
    hv_ref bogus = {.id = "vm:local"};
    assert_int_equal(hv_vm_get(conn, &bogus, &info, &err), VIC_EINVAL);
    vic_err_free(&err);
    size_t n = 0;
    hv_event evs[4];
    assert_int_equal(hv_events_wait(conn, -1, 10, evs, 4, &n, &err), VIC_EUNSUPPORTED);
    vic_err_free(&err);
    char *lp = NULL;
    assert_int_equal(hv_ds_local_path(conn, "[" DS "] x", &lp, &err), VIC_EUNSUPPORTED);
}

static void test_datastore_files(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    char src[256], dst[256];
    snprintf(src, sizeof(src), "%s/upload.bin", dir);
    snprintf(dst, sizeof(dst), "%s/download.bin", dir);
    FILE *f = fopen(src, "wb");
    assert_non_null(f);
    for (int i = 0; i < 300000; i++)
        fputc((i * 7) & 0xff, f);
    fclose(f);
    assert_int_equal(hv_ds_mkdir(conn, "[" DS "] vic-test/sub dir", &err), 0);
    assert_int_equal(hv_ds_mkdir(conn, "[" DS "] vic-test/sub dir", &err), 0); /* exists */
    assert_int_equal(hv_ds_upload(conn, "[" DS "] vic-test/sub dir/file.bin", src, &err), 0);
    assert_int_equal(hv_ds_download(conn, "[" DS "] vic-test/sub dir/file.bin", dst, &err), 0);
    char *cmd = xasprintf("cmp -s %s %s", src, dst);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    assert_int_equal(hv_ds_download(conn, "[" DS "] vic-test/missing", dst, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    assert_int_equal(hv_ds_delete(conn, "[" DS "] vic-test", &err), 0);
    assert_int_equal(hv_ds_download(conn, "[" DS "] vic-test/sub dir/file.bin", dst, &err),
                     VIC_ENOTFOUND);
    vic_err_free(&err);
    assert_int_equal(hv_ds_upload(conn, "[" DS "] ../escape", src, &err), VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(hv_ds_upload(conn, "[NoSuchDS] x", src, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    assert_int_equal(hv_ds_delete(conn, "[" DS "] ", &err), VIC_EINVAL);
}

static void test_relogin(void **state)
{
    (void)state;
    /* Drop the session behind the driver's back: the next calls log in again, once. */
    vs_conn *vc = (vs_conn *)conn;
    xmlDoc *doc = NULL;
    xmlNode *resp = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vs_call(vc, "Logout", vc->session_manager, NULL, &doc, &resp, &err), 0);
    xmlFreeDoc(doc);
    hv_ref r;
    assert_int_equal(hv_find(conn, HV_DATACENTER, DC, &r, &err), 0); /* a fault: NotAuthenticated */
    assert_int_equal(vs_call(vc, "Logout", vc->session_manager, NULL, &doc, &resp, &err), 0);
    xmlFreeDoc(doc);
    hv_pool_info info;
    assert_int_equal(hv_find(conn, HV_POOL, ROOTPOOL, &r, &err), 0);
    assert_int_equal(vs_call(vc, "Logout", vc->session_manager, NULL, &doc, &resp, &err), 0);
    xmlFreeDoc(doc);
    assert_int_equal(hv_pool_get(conn, &r, &info, &err), 0); /* a missingSet: NotAuthenticated */
    assert_string_equal(info.path, ROOTPOOL);
    /* and a datastore transfer: HTTP 401 first */
    char src[256];
    snprintf(src, sizeof(src), "%s/small.txt", dir);
    FILE *f = fopen(src, "w");
    assert_non_null(f);
    fputs("hello\n", f);
    fclose(f);
    assert_int_equal(vs_call(vc, "Logout", vc->session_manager, NULL, &doc, &resp, &err), 0);
    xmlFreeDoc(doc);
    assert_int_equal(hv_ds_upload(conn, "[" DS "] small.txt", src, &err), 0);
    assert_int_equal(hv_ds_delete(conn, "[" DS "] small.txt", &err), 0);
}

static void test_extensions(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    json_t *x cleanup_json = NULL;
    assert_int_equal(hv_extension_find(conn, "com.example.t", &x, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    hv_extension e = {.key = "com.example.t",
                      .version = "1.0",
                      .label = "T <&>",
                      .summary = "s",
                      .company = "c",
                      .url = "https://127.0.0.1:9/m.json",
                      .thumbprint = "AB:CD"};
    assert_int_equal(hv_extension_register(conn, &e, &err), 0);
    assert_int_equal(hv_extension_find(conn, "com.example.t", &x, &err), 0);
    assert_string_equal(json_string_value(json_object_get(x, "label")), "T <&>");
    assert_string_equal(json_string_value(json_object_get(x, "url")), e.url);
    assert_string_equal(json_string_value(json_object_get(x, "thumbprint")), "AB:CD");
    json_decref(x);
    /* a second register of the key updates it */
    e.version = "2.0";
    assert_int_equal(hv_extension_register(conn, &e, &err), 0);
    assert_int_equal(hv_extension_find(conn, "com.example.t", &x, &err), 0);
    assert_string_equal(json_string_value(json_object_get(x, "version")), "2.0");
    assert_int_equal(hv_extension_unregister(conn, "com.example.t", &err), 0);
    assert_int_equal(hv_extension_unregister(conn, "com.example.t", &err), VIC_ENOTFOUND);
    assert_non_null(strstr(err->msg, "not registered"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extensions),   cmocka_unit_test(test_login),
        cmocka_unit_test(test_find),         cmocka_unit_test(test_pools),
        cmocka_unit_test(test_vm_lifecycle), cmocka_unit_test(test_datastore_files),
        cmocka_unit_test(test_relogin),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
