/*
 * vsphere_bench - the vsphere driver (hv.h over vim25 SOAP) doing the work of
 * bench/govmomi/main.go, for bench/bench-vsphere.sh to time side by side against vcsim.
 *
 *   vsphere_bench HOST:PORT USER THUMBPRINT N     (password in VCSIM_PASSWORD)
 *
 * One iteration: login, an inventory walk (datacenters, compute resources, resource pools,
 * datastores, networks), create a resource pool, create a VM with 50 extraConfig keys, power
 * it on, reconfigure one key, power it off, destroy it and the pool, log out. Prints
 * "median_ms=... round_trips=..." (SOAP round trips of one iteration).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hypervisor/hv.h"
#include "hypervisor/vsphere/soap.h"
#include "lib/err.h"

#define ROOTPOOL "/DC0/host/DC0_C0/Resources"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void check(int rc, vic_err *err, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "vsphere_bench: %s: %s\n", what, err ? err->msg : "failed");
        exit(1);
    }
}

static unsigned long iteration(const hv_connect_opts *o, int i)
{
    vic_err *err = NULL;
    hv_conn *c = NULL;
    check(hv_open(&c, o, &err), err, "login");
    static const hv_kind kinds[] = {HV_DATACENTER, HV_COMPUTE, HV_POOL, HV_DATASTORE, HV_NETWORK};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        json_t *list = NULL;
        check(hv_list(c, kinds[k], NULL, &list, &err), err, "inventory");
        json_decref(list);
    }
    char pool_name[64], vm_name[64], pool_path[160];
    snprintf(pool_name, sizeof(pool_name), "bench-pool-%d", i);
    snprintf(vm_name, sizeof(vm_name), "bench-vm-%d", i);
    snprintf(pool_path, sizeof(pool_path), ROOTPOOL "/%s", pool_name);
    hv_pool_spec ps = {.cpu = {.limit = -1}, .memory = {.limit = -1}};
    hv_ref pool, vm;
    check(hv_pool_create(c, ROOTPOOL, pool_name, &ps, &pool, &err), err, "create pool");
    json_t *ec = json_object();
    for (int k = 0; k < 50; k++) {
        char key[64], val[32];
        snprintf(key, sizeof(key), "guestinfo.vice./common/key%02d", k);
        snprintf(val, sizeof(val), "value %d", k);
        json_object_set_new(ec, key, json_string(val));
    }
    hv_vm_spec vs = {.name = vm_name,
                     .pool = pool_path,
                     .datastore = "LocalDS_0",
                     .cpus = 1,
                     .memory_mb = 512,
                     .extra_config = ec};
    check(hv_vm_create(c, &vs, &vm, &err), err, "create vm");
    check(hv_vm_power_on(c, &vm, &err), err, "power on");
    json_t *chg = json_pack("{s:s}", "guestinfo.vice./common/key00", "changed");
    hv_vm_change ch = {.extra_config = chg};
    check(hv_vm_reconfigure(c, &vm, NULL, &ch, NULL, 0, &err), err, "reconfigure");
    check(hv_vm_power_off(c, &vm, 0, &err), err, "power off");
    check(hv_vm_destroy(c, &vm, &err), err, "destroy vm");
    check(hv_pool_destroy(c, &pool, &err), err, "destroy pool");
    unsigned long trips = ((vs_conn *)c)->round_trips;
    hv_close(c); /* logs out */
    json_decref(chg);
    json_decref(ec);
    return trips + 1; /* the logout */
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: vsphere_bench HOST:PORT USER THUMBPRINT N "
                        "(password in VCSIM_PASSWORD)\n");
        return 2;
    }
    int n = atoi(argv[4]);
    if (n < 1 || n > 10000)
        return 2;
    hv_connect_opts o = {.target = argv[1],
                         .user = argv[2],
                         .password = getenv("VCSIM_PASSWORD"),
                         .thumbprint = argv[3]};
    iteration(&o, 0); /* warm-up */
    double *ms = calloc((size_t)n, sizeof(double));
    unsigned long trips = 0;
    for (int i = 1; i <= n; i++) {
        double t0 = now_ms();
        trips = iteration(&o, i);
        ms[i - 1] = now_ms() - t0;
    }
    qsort(ms, (size_t)n, sizeof(double), by_value);
    printf("median_ms=%.1f round_trips=%lu\n", ms[n / 2], trips);
    free(ms);
    return 0;
}
