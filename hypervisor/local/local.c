/*
 * local.c - the embedded host: this machine acts as a small ESX host (hv.h's "local" target).
 *
 * $VIC_HOME/datastore1/<vm>/<vm>.vmx   a VM: its configuration, extraConfig included
 * $VIC_HOME/datastore1/<vm>/output.log  its serial port
 * $VIC_HOME/datastore1/<vm>/monitor.*   the monitor (vic-vmx) while powered on
 * $VIC_HOME/pools/<a>/<b>/pool.json     resource pool Resources/a/b (the root: pools/)
 * $VIC_HOME/events.log                  one line per event
 *
 * Nothing is cached: every call reads the files, so any number of processes (the web
 * service, appliances, monitors) share the host, and nothing is lost when one of them dies.
 * A VM is powered on exactly while its monitor holds monitor.lock (the kernel drops the lock
 * when the monitor dies, however it dies).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/local/cgroup.h"
#include "hypervisor/local/guestps.h"
#include "hypervisor/local/idrange.h"
#include "hypervisor/local/local.h"
#include "hypervisor/local/netdev.h"
#include "hypervisor/local/netfw.h"
#include "hypervisor/local/vmx.h"
#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/netlink.h"

typedef struct local_conn {
    hv_conn base;
    char *home;
    char *ds_root;
    char *pools;
    char *bin_dir;
    cg_host cg;
    /* What the last VM listing read, by folder name: {"text": the .vmx file's bytes, "pool",
     * "version", "extra": {key prefix: the extra_config handed out for it}}. A listing still
     * reads every file (the files stay the truth) but parses again only those whose bytes
     * changed; list_mu serialises listings. */
    pthread_mutex_t list_mu;
    json_t *list_cache;
} local_conn;

#define L(c) ((local_conn *)(c))

static int mkdir_if_missing(const char *path, mode_t mode, vic_err **err)
{
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return vic_err_sys(err, VIC_EIO, errno, "create %s", path);
    return 0;
}

/* ---- pools ---- */

static json_t *alloc_json(const hv_alloc *a)
{
    return json_pack("{s:I, s:I, s:s}", "limit", (json_int_t)a->limit, "reservation",
                     (json_int_t)a->reservation, "shares", a->shares[0] ? a->shares : "normal");
}

static void alloc_from_json(hv_alloc *a, const json_t *j)
{
    json_t *l = json_object_get(j, "limit");
    a->limit = json_is_integer(l) ? json_integer_value(l) : -1;
    a->reservation = json_integer_value(json_object_get(j, "reservation"));
    const char *s = json_string_value(json_object_get(j, "shares"));
    snprintf(a->shares, sizeof(a->shares), "%s", s ? s : "normal");
}

static char *pool_dir(local_conn *lc, const char *rel)
{
    return *rel ? xasprintf("%s/%s", lc->pools, rel) : xstrdup(lc->pools);
}

static int write_json_atomic(const char *path, json_t *j, vic_err **err)
{
    cleanup_free char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text == NULL)
        return vic_err_set(err, VIC_EINTERNAL, "encode %s", path);
    return vic_file_write_atomic(path, text, strlen(text), 0644, err);
}

static json_t *pool_record(const hv_pool_spec *spec, const hv_pool_info *info)
{
    return json_pack("{s:o, s:o, s:s, s:s}", "cpu", alloc_json(&spec->cpu), "memory",
                     alloc_json(&spec->memory), "cpu_enforcement", info->cpu_enforcement,
                     "memory_enforcement", info->memory_enforcement);
}

static int read_pool(local_conn *lc, const char *rel, hv_pool_info *out, vic_err **err)
{
    cleanup_free char *dir = pool_dir(lc, rel);
    cleanup_free char *file = xasprintf("%s/pool.json", dir);
    json_error_t je;
    json_t *j cleanup_json = json_load_file(file, 0, &je);
    if (j == NULL)
        return vic_err_set(err, VIC_ENOTFOUND, "resource pool %s%s%s not found", LOCAL_ROOT_POOL,
                           *rel ? "/" : "", rel);
    memset(out, 0, sizeof(*out));
    snprintf(out->ref.id, sizeof(out->ref.id), "pool:%s", rel);
    snprintf(out->path, sizeof(out->path), "%s%s%s", LOCAL_ROOT_POOL, *rel ? "/" : "", rel);
    alloc_from_json(&out->spec.cpu, json_object_get(j, "cpu"));
    alloc_from_json(&out->spec.memory, json_object_get(j, "memory"));
    snprintf(out->cpu_enforcement, sizeof(out->cpu_enforcement), "%s",
             json_string_value(json_object_get(j, "cpu_enforcement")) ?: "unknown");
    snprintf(out->memory_enforcement, sizeof(out->memory_enforcement), "%s",
             json_string_value(json_object_get(j, "memory_enforcement")) ?: "unknown");
    return 0;
}

static int ref_pool_rel(const hv_ref *ref, const char **rel, vic_err **err)
{
    if (strncmp(ref->id, "pool:", 5) != 0)
        return vic_err_set(err, VIC_EINVAL, "\"%s\" is not a resource pool reference", ref->id);
    *rel = ref->id + 5;
    return 0;
}

static int local_pool_create(hv_conn *c, const char *parent, const char *name,
                             const hv_pool_spec *spec, hv_ref *out, vic_err **err)
{
    local_conn *lc = L(c);
    const char *prel = NULL;
    int rc = local_pool_rel(parent, &prel, err);
    if (rc < 0)
        return rc;
    if (!local_name_valid(name))
        return vic_err_set(err, VIC_EINVAL,
                           "pool name \"%s\": use letters, digits, '-', '_' "
                           "and '.' (at most 80)",
                           name ? name : "");
    hv_pool_info parent_info;
    if ((rc = read_pool(lc, prel, &parent_info, err)) < 0)
        return rc;
    cleanup_free char *pdir = pool_dir(lc, prel);
    cleanup_free char *rel = *prel ? xasprintf("%s/%s", prel, name) : xstrdup(name);
    cleanup_free char *dir = xasprintf("%s/%s", pdir, name);
    char rnd[9];
    vic_random_bytes(rnd, 4);
    cleanup_free char *tmp = xasprintf("%s/.tmp-%s-%ld-%02x%02x%02x%02x", pdir, name,
                                       (long)getpid(), (unsigned char)rnd[0], (unsigned char)rnd[1],
                                       (unsigned char)rnd[2], (unsigned char)rnd[3]);
    if (access(dir, F_OK) == 0)
        return vic_err_set(err, VIC_ECONFLICT, "resource pool %s/%s exists", parent, name);
    hv_pool_info info = {0};
    cg_pool_apply(&lc->cg, rel, spec, &info);
    if ((rc = mkdir_if_missing(tmp, 0755, err)) < 0)
        return rc;
    cleanup_free char *rec_path = xasprintf("%s/pool.json", tmp);
    json_t *rec cleanup_json = pool_record(spec, &info);
    if ((rc = write_json_atomic(rec_path, rec, err)) < 0) {
        vic_rm_rf(tmp, NULL);
        return rc;
    }
    /* The record appears whole or not at all; of two creates, one rename wins. */
    if (rename(tmp, dir) < 0) {
        int e = errno;
        vic_rm_rf(tmp, NULL);
        if (e == EEXIST || e == ENOTEMPTY)
            return vic_err_set(err, VIC_ECONFLICT, "resource pool %s/%s exists", parent, name);
        return vic_err_sys(err, VIC_EIO, e, "create pool %s", dir);
    }
    snprintf(out->id, sizeof(out->id), "pool:%s", rel);
    return 0;
}

static int local_pool_update(hv_conn *c, const hv_ref *pool, const hv_pool_spec *spec,
                             vic_err **err)
{
    local_conn *lc = L(c);
    const char *rel = NULL;
    hv_pool_info info;
    int rc = ref_pool_rel(pool, &rel, err);
    if (rc == 0)
        rc = read_pool(lc, rel, &info, err);
    if (rc < 0)
        return rc;
    cg_pool_apply(&lc->cg, rel, spec, &info);
    cleanup_free char *dir = pool_dir(lc, rel);
    cleanup_free char *path = xasprintf("%s/pool.json", dir);
    json_t *rec cleanup_json = pool_record(spec, &info);
    return write_json_atomic(path, rec, err);
}

static int count_vms_in_pool(local_conn *lc, const char *pool_path, int *out, vic_err **err);

static int local_pool_destroy(hv_conn *c, const hv_ref *pool, vic_err **err)
{
    local_conn *lc = L(c);
    const char *rel = NULL;
    hv_pool_info info;
    int rc = ref_pool_rel(pool, &rel, err);
    if (rc == 0)
        rc = read_pool(lc, rel, &info, err);
    if (rc < 0)
        return rc;
    if (*rel == '\0')
        return vic_err_set(err, VIC_EINVAL, "the root resource pool cannot be destroyed");
    cleanup_free char *dir = pool_dir(lc, rel);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || e->d_type != DT_DIR)
            continue;
        closedir(d);
        return vic_err_set(err, VIC_ECONFLICT, "resource pool %s holds pool %s", info.path,
                           e->d_name);
    }
    if (d)
        closedir(d);
    int vms = 0;
    if ((rc = count_vms_in_pool(lc, info.path, &vms, err)) < 0)
        return rc;
    if (vms > 0)
        return vic_err_set(err, VIC_ECONFLICT, "resource pool %s holds %d VM%s", info.path, vms,
                           vms == 1 ? "" : "s");
    if ((rc = vic_rm_rf(dir, err)) < 0)
        return vic_err_wrap(err, rc, "remove pool %s", dir);
    cg_pool_remove(&lc->cg, rel);
    netdev_sweep(lc->home, info.path); /* the pool's segments go with it */
    return 0;
}

static int local_pool_get(hv_conn *c, const hv_ref *pool, hv_pool_info *out, vic_err **err)
{
    const char *rel = NULL;
    int rc = ref_pool_rel(pool, &rel, err);
    return rc < 0 ? rc : read_pool(L(c), rel, out, err);
}

/* ---- inventory ---- */

static const char *strip(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(path, prefix, n) == 0 ? path + n : NULL;
}

static char *vm_dir(local_conn *lc, const char *name)
{
    return xasprintf("%s/%s", lc->ds_root, name);
}

static char *vmx_path(local_conn *lc, const char *name)
{
    return xasprintf("%s/%s/%s.vmx", lc->ds_root, name, name);
}

static int local_find(hv_conn *c, hv_kind kind, const char *path, hv_ref *out, vic_err **err)
{
    local_conn *lc = L(c);
    const char *rest;
    memset(out, 0, sizeof(*out));
    switch (kind) {
    case HV_DATACENTER:
        if (strcmp(path, LOCAL_DC) == 0 || strcmp(path, &LOCAL_DC[1]) == 0) {
            snprintf(out->id, sizeof(out->id), "datacenter");
            return 0;
        }
        return vic_err_set(err, VIC_ENOTFOUND, "datacenter \"%s\" not found; available: %s", path,
                           LOCAL_DC);
    case HV_COMPUTE:
        if (strcmp(path, LOCAL_COMPUTE) == 0 || strcmp(path, "local") == 0) {
            snprintf(out->id, sizeof(out->id), "compute");
            return 0;
        }
        return vic_err_set(err, VIC_ENOTFOUND,
                           "compute resource \"%s\" not found; available: "
                           "%s",
                           path, LOCAL_COMPUTE);
    case HV_POOL: {
        const char *rel = NULL;
        hv_pool_info info;
        int rc = local_pool_rel(path, &rel, err);
        if (rc == 0)
            rc = read_pool(lc, rel, &info, err);
        if (rc == 0)
            *out = info.ref;
        return rc;
    }
    case HV_DATASTORE:
        if (strcmp(path, LOCAL_DATASTORE) == 0 || strcmp(path, "[" LOCAL_DATASTORE "]") == 0 ||
            strcmp(path, LOCAL_DC "/datastore/" LOCAL_DATASTORE) == 0) {
            snprintf(out->id, sizeof(out->id), LOCAL_DATASTORE);
            return 0;
        }
        return vic_err_set(err, VIC_ENOTFOUND,
                           "datastore \"%s\" not found; available: " LOCAL_DATASTORE, path);
    case HV_NETWORK:
        rest = strip(path, LOCAL_DC "/network/");
        rest = rest ? rest : path;
        if (strcmp(rest, "VM Network") == 0 || strcmp(rest, "bridge") == 0) {
            snprintf(out->id, sizeof(out->id), "network:%s", rest);
            return 0;
        }
        return vic_err_set(err, VIC_ENOTFOUND,
                           "network \"%s\" not found; available: VM "
                           "Network, bridge",
                           path);
    case HV_FOLDER:
        if (strcmp(path, LOCAL_DC "/vm") == 0) {
            snprintf(out->id, sizeof(out->id), "folder:vm");
            return 0;
        }
        return vic_err_set(err, VIC_ENOTFOUND, "folder \"%s\" not found; available: %s/vm", path,
                           LOCAL_DC);
    case HV_VM: {
        rest = strip(path, LOCAL_DC "/vm/");
        rest = rest ? rest : path;
        if (!local_name_valid(rest))
            return vic_err_set(err, VIC_ENOTFOUND, "VM \"%s\" not found", path);
        cleanup_free char *vmx = vmx_path(lc, rest);
        if (access(vmx, F_OK) != 0)
            return vic_err_set(err, VIC_ENOTFOUND, "VM \"%s\" not found", path);
        snprintf(out->id, sizeof(out->id), "vm:%s", rest);
        return 0;
    }
    }
    return vic_err_set(err, VIC_EINVAL, "unknown object kind %d", (int)kind);
}

static json_t *item(const char *name, const char *path, const char *ref)
{
    return json_pack("{s:s, s:s, s:s}", "name", name, "path", path, "ref", ref);
}

static void list_pools(local_conn *lc, const char *rel, json_t *arr)
{
    cleanup_free char *dir = pool_dir(lc, rel);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || e->d_type != DT_DIR)
            continue;
        cleanup_free char *sub = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        hv_pool_info info;
        if (read_pool(lc, sub, &info, NULL) == 0)
            json_array_append_new(arr, item(e->d_name, info.path, info.ref.id));
    }
    if (d)
        closedir(d);
}

static int local_list(hv_conn *c, hv_kind kind, const char *parent, json_t **out, vic_err **err)
{
    local_conn *lc = L(c);
    json_t *arr = json_array();
    switch (kind) {
    case HV_DATACENTER:
        json_array_append_new(arr, item("ha-datacenter", LOCAL_DC, "datacenter"));
        break;
    case HV_COMPUTE:
        json_array_append_new(arr, item("local", LOCAL_COMPUTE, "compute"));
        break;
    case HV_POOL: {
        const char *rel = "";
        if (parent && strcmp(parent, LOCAL_COMPUTE) == 0) {
            json_array_append_new(arr, item("Resources", LOCAL_ROOT_POOL, "pool:"));
            break;
        }
        if (parent && local_pool_rel(parent, &rel, err) < 0) {
            json_decref(arr);
            return VIC_ENOTFOUND;
        }
        list_pools(lc, rel, arr);
        break;
    }
    case HV_DATASTORE: {
        struct statvfs sv;
        json_t *ds = item(LOCAL_DATASTORE, LOCAL_DC "/datastore/" LOCAL_DATASTORE, LOCAL_DATASTORE);
        if (statvfs(lc->ds_root, &sv) == 0) {
            json_object_set_new(ds, "capacity_mb",
                                json_integer((json_int_t)(sv.f_blocks * sv.f_frsize >> 20)));
            json_object_set_new(ds, "free_mb",
                                json_integer((json_int_t)(sv.f_bavail * sv.f_frsize >> 20)));
        }
        json_array_append_new(arr, ds);
        break;
    }
    case HV_NETWORK:
        json_array_append_new(
            arr, item("VM Network", LOCAL_DC "/network/VM Network", "network:VM Network"));
        json_array_append_new(arr, item("bridge", LOCAL_DC "/network/bridge", "network:bridge"));
        break;
    case HV_FOLDER:
        json_array_append_new(arr, item("vm", LOCAL_DC "/vm", "folder:vm"));
        break;
    case HV_VM: {
        json_t *vms = NULL;
        int rc = c->driver->vm_list(c, parent, NULL, &vms, err);
        if (rc < 0) {
            json_decref(arr);
            return rc;
        }
        size_t i;
        json_t *v;
        json_array_foreach(vms, i, v)
        {
            const char *name = json_string_value(json_object_get(v, "name"));
            cleanup_free char *p = xasprintf(LOCAL_DC "/vm/%s", name);
            json_array_append_new(arr, item(name, p, json_string_value(json_object_get(v, "ref"))));
        }
        json_decref(vms);
        break;
    }
    }
    *out = arr;
    return 0;
}

/* ---- VMs ---- */

static int ref_vm_name(const hv_ref *ref, const char **name, vic_err **err)
{
    if (strncmp(ref->id, "vm:", 3) != 0 || !local_name_valid(ref->id + 3))
        return vic_err_set(err, VIC_EINVAL, "\"%s\" is not a VM reference", ref->id);
    *name = ref->id + 3;
    return 0;
}

/* Resolves a VM reference to its name, folder and .vmx path; VIC_ENOTFOUND when no such VM
 * is registered. dir and path are the caller's to free. */
static int vm_locate(local_conn *lc, const hv_ref *vm, const char **name, char **dir, char **path,
                     vic_err **err)
{
    int rc = ref_vm_name(vm, name, err);
    if (rc < 0)
        return rc;
    *dir = vm_dir(lc, *name);
    *path = vmx_path(lc, *name);
    if (access(*path, F_OK) != 0)
        return vic_err_set(err, VIC_ENOTFOUND, "VM %s not found", *name);
    return 0;
}

/* 1 while a monitor holds the VM's monitor.lock. */
static int vm_running(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/monitor.lock", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

/* The .vmx keys of NICs (ethernetN.*) into kv. */
static int nic_keys(hv_conn *c, json_t *kv, const hv_nic *nics, size_t n, bool appliance,
                    vic_err **err)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        hv_ref net;
        if ((rc = local_find(c, HV_NETWORK, nics[i].network, &net, err)) < 0)
            return vic_err_wrap(err, rc, "nics[%zu]", i);
        char key[64];
        snprintf(key, sizeof(key), "ethernet%zu.networkName", i);
        json_object_set_new(kv, key, json_string(net.id + strlen("network:")));
        if (nics[i].mac) { /* VMware's key of a static address */
            unsigned char hw[6];
            if (vic_mac_parse(nics[i].mac, hw) < 0)
                return vic_err_set(err, VIC_EINVAL,
                                   "nics[%zu].mac: %s is not a unicast MAC address", i,
                                   nics[i].mac);
            snprintf(key, sizeof(key), "ethernet%zu.address", i);
            json_object_set_new(kv, key,
                                json_sprintf("%02x:%02x:%02x:%02x:%02x:%02x", hw[0], hw[1], hw[2],
                                             hw[3], hw[4], hw[5]));
        }
        if (nics[i].gateway) {
            uint32_t a = 0;
            int plen = 0;
            if (vic_cidr_parse(nics[i].gateway, &a, &plen) < 0 || plen < 8 || plen > 30)
                return vic_err_set(err, VIC_EINVAL,
                                   "nics[%zu].gateway: %s is not ADDR/PREFIX with a prefix of "
                                   "8 to 30",
                                   i, nics[i].gateway);
            snprintf(key, sizeof(key), "ethernet%zu.gateway", i);
            json_object_set_new(kv, key, json_string(nics[i].gateway));
        } else if (strcmp(net.id, "network:VM Network") != 0 && !appliance) {
            return vic_err_set(err, VIC_EINVAL,
                               "nics[%zu]: a containerVM's NIC on port group %s needs the "
                               "segment's gateway",
                               i, net.id + strlen("network:"));
        }
        for (size_t f = 0; f < nics[i].n_forwards; f++) {
            const hv_port_forward *pf = &nics[i].forwards[f];
            struct in_addr a;
            if (pf->host_ip == NULL || inet_pton(AF_INET, pf->host_ip, &a) != 1 ||
                pf->host_port < 1 || pf->host_port > 65535 || pf->guest_port < 1 ||
                pf->guest_port > 65535 || (pf->proto != HV_PROTO_TCP && pf->proto != HV_PROTO_UDP))
                return vic_err_set(err, VIC_EINVAL,
                                   "nics[%zu].forwards[%zu]: needs an IPv4 host address and "
                                   "ports 1..65535",
                                   i, f);
            snprintf(key, sizeof(key), "ethernet%zu.portForward.%zu", i, f);
            json_object_set_new(kv, key,
                                json_sprintf("%s %s %d %d",
                                             pf->proto == HV_PROTO_UDP ? "udp" : "tcp", pf->host_ip,
                                             pf->host_port, pf->guest_port));
        }
    }
    return 0;
}

static int local_vm_create(hv_conn *c, const hv_vm_spec *spec, hv_ref *out, vic_err **err)
{
    local_conn *lc = L(c);
    /* hv_vm_create checked the name, cpus, memory_mb and the extra_config values */
    if (spec->datastore && strcmp(spec->datastore, LOCAL_DATASTORE) &&
        strcmp(spec->datastore, "[" LOCAL_DATASTORE "]"))
        return vic_err_set(err, VIC_ENOTFOUND,
                           "datastore: \"%s\" not found; available: " LOCAL_DATASTORE,
                           spec->datastore);
    const char *prel = NULL;
    hv_pool_info pool;
    int rc = local_pool_rel(spec->pool, &prel, err);
    if (rc == 0)
        rc = read_pool(lc, prel, &pool, err);
    if (rc < 0)
        return vic_err_wrap(err, rc, "pool");
    json_t *kv cleanup_json = json_object();
    json_object_set_new(kv, "config.version", json_string("8"));
    json_object_set_new(kv, "virtualHW.version", json_string("14"));
    json_object_set_new(kv, "guestOS", json_string("other3xlinux-64"));
    json_object_set_new(kv, "displayName", json_string(spec->name));
    local_vm_size_set(kv, spec->cpus, spec->memory_mb, &spec->limits);
    json_object_set_new(kv, VMX_POOL, json_string(pool.path));
    json_object_set_new(kv, VMX_VERSION, json_string("1"));
    json_object_set_new(kv, "vic.created", json_sprintf("%lld", (long long)time(NULL)));
    for (size_t i = 0; i < spec->n_disks; i++) {
        cleanup_free char *host = NULL;
        if ((rc = local_ds_path(lc->ds_root, spec->disks[i].path, &host, err)) < 0)
            return vic_err_wrap(err, rc, "disks[%zu]", i);
        char key[64];
        snprintf(key, sizeof(key), "scsi0:%zu.fileName", i);
        json_object_set_new(kv, key, json_string(spec->disks[i].path));
        if (spec->disks[i].create) {
            snprintf(key, sizeof(key), "scsi0:%zu.create", i);
            json_object_set_new(kv, key, json_string("TRUE"));
        }
    }
    if (spec->iso) {
        cleanup_free char *host = NULL;
        if ((rc = local_ds_path(lc->ds_root, spec->iso, &host, err)) < 0)
            return vic_err_wrap(err, rc, "iso");
        json_object_set_new(kv, VMX_CDROM, json_string(spec->iso));
    }
    if ((rc = nic_keys(c, kv, spec->nics, spec->n_nics, spec->iso != NULL, err)) < 0)
        return rc;
    if (spec->serial_log)
        json_object_set_new(kv, VMX_SERIAL, json_string("output.log"));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)spec->extra_config, k, v)
    {
        if (local_key_reserved(k) || !vmx_key_valid(k))
            return vic_err_set(err, VIC_EINVAL, "extra_config: key \"%s\" cannot be set", k);
        json_object_set(kv, k, v);
    }

    /* Build the folder aside and rename it into place: a VM appears whole, and of two
     * creates with one name exactly one rename succeeds. */
    cleanup_free char *dir = vm_dir(lc, spec->name);
    if (access(dir, F_OK) == 0)
        return vic_err_set(err, VIC_ECONFLICT, "a VM named %s exists", spec->name);
    char rnd[4];
    vic_random_bytes(rnd, sizeof(rnd));
    cleanup_free char *tmp = xasprintf("%s/.tmp-%s-%ld-%02x%02x%02x%02x", lc->ds_root, spec->name,
                                       (long)getpid(), (unsigned char)rnd[0], (unsigned char)rnd[1],
                                       (unsigned char)rnd[2], (unsigned char)rnd[3]);
    if ((rc = mkdir_if_missing(tmp, 0755, err)) < 0)
        return rc;
    cleanup_free char *tmp_vmx = xasprintf("%s/%s.vmx", tmp, spec->name);
    cleanup_free char *tmp_lock = xasprintf("%s/vm.lock", tmp);
    int lfd = open(tmp_lock, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (lfd >= 0)
        close(lfd);
    /* A containerVM (a new root disk, no appliance image) gets an id range of its own; its
     * new root disk is the range's from the start (nothing to shift at power on). */
    int range = 0;
    uint32_t base = 0;
    if (spec->iso == NULL && spec->n_disks > 0 && spec->disks[0].create) {
        if ((rc = idrange_alloc(&range, dir, tmp, err)) < 0) {
            vic_rm_rf(tmp, NULL);
            return vic_err_wrap(err, rc, "allocate the VM's id range");
        }
        base = idrange_base(range);
        json_object_set_new(kv, VMX_IDRANGE, json_sprintf("%d", range));
        json_object_set_new(kv, VMX_IDRANGE_OWNER, json_string(tmp));
        json_object_set_new(kv, VMX_IDSHIFT, json_sprintf("%u", base));
    }
    rc = vmx_write(tmp_vmx, kv, err);
    for (size_t i = 0; rc == 0 && i < spec->n_disks; i++) {
        if (!spec->disks[i].create)
            continue;
        /* A new disk is a directory inside the VM folder: "[datastore1] NAME/disk". */
        char *host = NULL;
        rc = local_ds_path(lc->ds_root, spec->disks[i].path, &host, err);
        if (rc == 0) {
            const char *inside = strstr(host, dir) == host ? host + strlen(dir) : NULL;
            if (inside == NULL || *inside != '/')
                rc = vic_err_set(err, VIC_EINVAL,
                                 "disks[%zu]: a new disk must be inside the "
                                 "VM's folder (\"[" LOCAL_DATASTORE "] %s/...\")",
                                 i, spec->name);
            else {
                char *p = xasprintf("%s%s", tmp, inside);
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                    rc = vic_err_sys(err, VIC_EIO, errno, "create disk %s", p);
                else if (range && i == 0 && geteuid() == 0 && chown(p, base, base) < 0)
                    rc = vic_err_sys(err, VIC_EIO, errno, "give disk %s to the guest", p);
                free(p);
            }
        }
        free(host);
    }
    if (rc == 0 && rename(tmp, dir) < 0) {
        int e = errno;
        rc = e == EEXIST || e == ENOTEMPTY
                 ? vic_err_set(err, VIC_ECONFLICT, "a VM named %s exists", spec->name)
                 : vic_err_sys(err, VIC_EIO, e, "create %s", dir);
    }
    if (rc < 0) {
        vic_rm_rf(tmp, NULL);
        idrange_free(range, tmp);
        return rc;
    }
    snprintf(out->id, sizeof(out->id), "vm:%s", spec->name);
    local_event(lc->home, "created", spec->name, pool.path);
    return 0;
}

/* kv with its NIC keys (ethernet*) replaced by those of nics. */
static void replace_nic_keys(json_t *kv, const json_t *nics)
{
    void *iter = json_object_iter(kv);
    while (iter) {
        const char *key = json_object_iter_key(iter);
        iter = json_object_iter_next(kv, iter);
        if (strncmp(key, "ethernet", 8) == 0)
            json_object_del(kv, key);
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)nics, k, v)
    {
        if (strncmp(k, "ethernet", 8) == 0)
            json_object_set(kv, k, v);
    }
}

static int vm_socket(hv_conn *c, const hv_ref *vm, const char *sock, const char *what, int *fd,
                     vic_err **err);

/* Asks the running VM's monitor to bring the guest's NICs in line with its configuration
 * (version: the configuration's change version); waits for its answer. */
static int monitor_nics(hv_conn *c, const hv_ref *vm, const char *name, long long version,
                        vic_err **err)
{
    int fd cleanup_close = -1;
    int rc = vm_socket(c, vm, "ctl.sock", "control channel", &fd, err);
    if (rc < 0)
        return rc;
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char line[600];
    int n = snprintf(line, sizeof(line), "nics %lld\n", version);
    if (write(fd, line, (size_t)n) != n)
        return vic_err_sys(err, VIC_EIO, errno, "VM %s: ask its monitor", name);
    size_t got = 0;
    ssize_t r;
    while (got < sizeof(line) - 1 && (r = read(fd, line + got, sizeof(line) - 1 - got)) > 0)
        got += (size_t)r;
    line[got] = '\0';
    line[strcspn(line, "\n")] = '\0';
    if (strcmp(line, "ok") == 0)
        return 0;
    if (strncmp(line, "error ", 6) == 0)
        return vic_err_set(err, VIC_EIO, "VM %s: %s", name, line + 6);
    return vic_err_set(err, VIC_EIO, "VM %s: its monitor did not answer (see monitor.log)", name);
}

static int local_vm_reconfigure(hv_conn *c, const hv_ref *vm, const char *change_version,
                                const hv_vm_change *change, char *new_version, size_t cap,
                                vic_err **err)
{
    local_conn *lc = L(c);
    const char *name = NULL;
    int rc = ref_vm_name(vm, &name, err);
    if (rc < 0)
        return rc;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)change->extra_config, k, v)
    {
        if (local_key_reserved(k) || !vmx_key_valid(k)) /* values: see hv_vm_reconfigure */
            return vic_err_set(err, VIC_EINVAL, "extra_config: key \"%s\" cannot be changed", k);
    }
    cleanup_free char *dir = vm_dir(lc, name);
    cleanup_free char *path = vmx_path(lc, name);
    int lock = local_vm_lock(dir, err);
    if (lock < 0)
        return vic_err_set(err, VIC_ENOTFOUND, "VM %s not found", name);
    json_t *kv cleanup_json = NULL;
    json_t *before cleanup_json = NULL; /* the configuration before, when the VM runs */
    rc = vmx_read(&kv, path, err);
    const char *cur = rc == 0 ? json_string_value(json_object_get(kv, VMX_VERSION)) : NULL;
    if (rc == 0 && change_version && (cur == NULL || strcmp(cur, change_version) != 0))
        rc = vic_err_set(err, VIC_ECONFLICT,
                         "VM %s was changed by someone else (version %s, "
                         "expected %s)",
                         name, cur ? cur : "?", change_version);
    if (rc == 0 && change->set_nics) {
        /* a running VM's NICs are hot-added and removed: its monitor plugs them once the
         * configuration says so */
        if (vm_running(dir))
            before = json_deep_copy(kv);
        json_t *none cleanup_json = json_object();
        replace_nic_keys(kv, none); /* the old NICs go, the new ones come */
        rc = nic_keys(c, kv, change->nics, change->n_nics, json_object_get(kv, VMX_CDROM) != NULL,
                      err);
    }
    if (rc == 0 && change->set_size) {
        /* a running guest gets its new size at once (its monitor applied the old one) */
        const char *rel = NULL;
        char why[256];
        cg_vm_limits l = cg_limits_of(change->cpus, change->memory_mb, &change->limits);
        if (vm_running(dir) &&
            local_pool_rel(json_string_value(json_object_get(kv, VMX_POOL)), &rel, NULL) == 0 &&
            cg_vm_apply(&lc->cg, rel, name, &l, why, sizeof(why)) < 0)
            rc = vic_err_set(err, VIC_ECONFLICT, "VM %s: %s", name, why);
        else
            local_vm_size_set(kv, change->cpus, change->memory_mb, &change->limits);
    }
    long long next = 0;
    if (rc == 0) {
        json_object_foreach((json_t *)change->extra_config, k, v)
        {
            if (json_is_null(v))
                json_object_del(kv, k);
            else
                json_object_set(kv, k, v);
        }
        next = (cur ? atoll(cur) : 0) + 1;
        json_object_set_new(kv, VMX_VERSION, json_sprintf("%lld", next));
        rc = vmx_write(path, kv, err);
        if (rc == 0 && new_version)
            snprintf(new_version, cap, "%lld", next);
    }
    /* the monitor is asked with the VM unlocked: it may need the lock for the guest's own
     * writes meanwhile */
    close(lock);
    if (rc == 0 && before) {
        char *token = NULL, *unenforced = NULL;
        rc = netdev_reserve(lc->home, kv, &token, &unenforced, err);
        free(unenforced);
        if (rc == 0) {
            rc = monitor_nics(c, vm, name, next, err);
            netdev_release(lc->home, kv, token);
            if (rc < 0 && !vm_running(dir)) { /* it powered off: the change waits for its next
                                                 power on, as for any VM that is off */
                vic_err_free(err);
                rc = 0;
            }
        }
        if (rc < 0) { /* the change is undone: the NICs the guest still has, and its keys */
            json_t *back cleanup_json = NULL;
            vic_err *e2 cleanup_err = NULL;
            if ((lock = local_vm_lock(dir, &e2)) >= 0) {
                if (vmx_read(&back, path, &e2) == 0) {
                    replace_nic_keys(back, before);
                    json_object_foreach((json_t *)change->extra_config, k, v)
                    {
                        json_t *was = json_object_get(before, k);
                        if (was)
                            json_object_set(back, k, was);
                        else
                            json_object_del(back, k);
                    }
                    json_object_set_new(back, VMX_VERSION, json_sprintf("%lld", next + 1));
                    if (vmx_write(path, back, &e2) == 0 && new_version)
                        snprintf(new_version, cap, "%lld", next + 1);
                }
                close(lock);
            }
            if (e2)
                vic_log(VIC_LOG_WARN, "event=nics_restore_failed vm=%s msg=\"%s\"", name, e2->msg);
            return rc;
        }
    }
    if (rc == 0)
        local_event(lc->home, "reconfigured", name, NULL);
    return rc;
}

static int local_vm_get(hv_conn *c, const hv_ref *vm, hv_vm_info *out, vic_err **err)
{
    local_conn *lc = L(c);
    const char *name = NULL;
    int rc = ref_vm_name(vm, &name, err);
    if (rc < 0)
        return rc;
    cleanup_free char *dir = vm_dir(lc, name);
    cleanup_free char *path = vmx_path(lc, name);
    json_t *kv = NULL;
    if ((rc = vmx_read(&kv, path, err)) < 0)
        return rc == VIC_ENOTFOUND ? vic_err_set(err, VIC_ENOTFOUND, "VM %s not found", name) : rc;
    memset(out, 0, sizeof(*out));
    out->ref = *vm;
    snprintf(out->name, sizeof(out->name), "%s", name);
    snprintf(out->pool, sizeof(out->pool), "%s",
             json_string_value(json_object_get(kv, VMX_POOL)) ?: "");
    snprintf(out->change_version, sizeof(out->change_version), "%s",
             json_string_value(json_object_get(kv, VMX_VERSION)) ?: "0");
    out->power = vm_running(dir) ? HV_POWERED_ON : HV_POWERED_OFF;
    local_vm_size(kv, &out->cpus, &out->memory_mb, &out->limits);
    const char *oom = json_string_value(json_object_get(kv, VMX_OOM_KILLS));
    out->oom_kills = oom ? strtoll(oom, NULL, 10) : 0;
    if (out->power == HV_POWERED_ON) {
        cleanup_free char *pidf = xasprintf("%s/monitor.pid", dir);
        struct stat st;
        if (stat(pidf, &st) == 0)
            out->boot_time = st.st_mtime;
        const char *rel = NULL;
        if (local_pool_rel(out->pool, &rel, NULL) == 0) {
            cg_vm_stats cs;
            cg_vm_stats_read(&lc->cg, rel, name, &cs);
            out->cpu_ns = cs.cpu_ns;
            out->memory_bytes = cs.memory_bytes;
            out->memory_limit_bytes = cs.memory_limit;
            out->oom_kills = cs.oom_kills;
            out->pids = cs.pids;
            out->pids_limit = cs.pids_limit;
            out->io_read_bytes = cs.io_read_bytes;
            out->io_write_bytes = cs.io_write_bytes;
            out->paused = cg_vm_frozen(&lc->cg, rel, name) == 1;
        }
    }
    /* extraConfig: everything that is not hardware or bookkeeping */
    json_t *extra = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(kv, k, v)
    {
        if (!local_key_reserved(k))
            json_object_set(extra, k, v);
    }
    json_decref(kv);
    out->extra_config = extra;
    return 0;
}

/* Connects to the monitor's VMDIR/attach.sock, through /proc/self/fd so that a long
 * $VIC_HOME never exceeds the 108 bytes of a socket address. */
/* Connects to a socket the running VM's monitor serves in its folder. */
static int vm_socket(hv_conn *c, const hv_ref *vm, const char *sock, const char *what, int *fd,
                     vic_err **err)
{
    local_conn *lc = L(c);
    const char *name = NULL;
    int rc = ref_vm_name(vm, &name, err);
    if (rc < 0)
        return rc;
    cleanup_free char *dir = vm_dir(lc, name);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return vic_err_set(err, VIC_ENOTFOUND, "VM %s not found", name);
    if (!vm_running(dir)) {
        close(dfd);
        return vic_err_set(err, VIC_ECONFLICT, "VM %s is powered off", name);
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd, sock);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        if (s >= 0)
            close(s);
        close(dfd);
        return vic_err_set(err, VIC_ECONFLICT, "VM %s offers no %s: %s", name, what, strerror(e));
    }
    close(dfd);
    *fd = s;
    return 0;
}

static int local_vm_attach(hv_conn *c, const hv_ref *vm, int *fd, vic_err **err)
{
    return vm_socket(c, vm, "attach.sock", "interactive channel", fd, err);
}

static int local_vm_exec(hv_conn *c, const hv_ref *vm, int *fd, vic_err **err)
{
    return vm_socket(c, vm, "exec.sock", "exec channel", fd, err);
}

static int read_monitor_pid(const char *dir, pid_t *out);

/* The pid of the powered-on VM's monitor, for guest operations; VIC_ECONFLICT when off. */
static int running_monitor(hv_conn *c, const hv_ref *vm, pid_t *mon, vic_err **err)
{
    const char *name = NULL;
    cleanup_free char *dir = NULL, *path = NULL;
    int rc = vm_locate(L(c), vm, &name, &dir, &path, err);
    if (rc < 0)
        return rc;
    if (!vm_running(dir) || read_monitor_pid(dir, mon) < 0)
        return vic_err_set(err, VIC_ECONFLICT, "VM %s is not powered on", name);
    return 0;
}

static int local_vm_signal(hv_conn *c, const hv_ref *vm, long pid, int sig, vic_err **err)
{
    pid_t mon = 0;
    if (sig < 1 || sig > 64)
        return vic_err_set(err, VIC_EINVAL, "signal %d is not a signal", sig);
    int rc = running_monitor(c, vm, &mon, err);
    return rc < 0 ? rc : guestps_signal(mon, pid, sig, err);
}

static int local_vm_pause(hv_conn *c, const hv_ref *vm, bool paused, vic_err **err)
{
    local_conn *lc = L(c);
    const char *name = NULL, *rel = NULL;
    cleanup_free char *dir = NULL, *path = NULL;
    int rc = vm_locate(lc, vm, &name, &dir, &path, err);
    if (rc < 0)
        return rc;
    json_t *kv cleanup_json = NULL;
    if ((rc = vmx_read(&kv, path, err)) < 0)
        return rc;
    if (!vm_running(dir))
        return vic_err_set(err, VIC_ECONFLICT, "VM %s is not powered on", name);
    if (local_pool_rel(json_string_value(json_object_get(kv, VMX_POOL)), &rel, err) < 0)
        return VIC_EINVAL;
    int e = cg_vm_freeze(&lc->cg, rel, name, paused);
    if (e == -ENOTSUP)
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "this host has no writable freezer cgroup: a guest cannot be paused");
    if (e < 0)
        return vic_err_sys(err, VIC_EIO, -e, "%s VM %s", paused ? "freeze" : "thaw", name);
    local_event(lc->home, paused ? "suspended" : "resumed", name, NULL);
    return 0;
}

static void local_vm_unenforced(hv_conn *c, char *out, size_t cap)
{
    cg_unenforced(&L(c)->cg, out, cap);
}

static int local_vm_processes(hv_conn *c, const hv_ref *vm, json_t **out, vic_err **err)
{
    pid_t mon = 0;
    int rc = running_monitor(c, vm, &mon, err);
    return rc < 0 ? rc : guestps_list(mon, out, err);
}

static int local_vm_guest_usage(hv_conn *c, const hv_ref *vm, json_t **out, vic_err **err)
{
    pid_t mon = 0;
    int rc = running_monitor(c, vm, &mon, err);
    return rc < 0 ? rc : guestps_usage(mon, out, err);
}

/* The extra_config of one VM for key_prefix, from the listing cache when the .vmx file still
 * holds the bytes it was built from, else parsed from text; either way the record goes into
 * next (the cache this listing leaves behind). The result is a new reference to an object
 * other listings may share, so read-only. *rec_out is the VM's record (borrowed from next):
 * its pool and change version. NULL when text is not a VM configuration. */
static json_t *listed_extra(local_conn *lc, json_t *next, const char *name, const char *text,
                            size_t len, const char *key_prefix, const json_t **rec_out)
{
    /* no key starts with a newline: the same empty extra_config as no prefix at all */
    const char *prefix = key_prefix ? key_prefix : "\n";
    json_t *rec = json_object_get(lc->list_cache, name);
    json_t *rtext = json_object_get(rec, "text");
    if (rec == NULL || json_string_length(rtext) != len ||
        memcmp(json_string_value(rtext), text, len) != 0)
        rec = NULL;
    json_t *extra = json_object_get(json_object_get(rec, "extra"), prefix);
    if (extra == NULL) {
        json_t *kv cleanup_json = NULL;
        if (vmx_parse(&kv, text, len, NULL) < 0)
            return NULL; /* not a VM configuration, or not a whole one */
        if (rec == NULL)
            rec = json_pack("{s:o, s:{}, s:O?, s:O?}", "text", json_stringn_nocheck(text, len),
                            "extra", "pool", json_object_get(kv, VMX_POOL), "version",
                            json_object_get(kv, VMX_VERSION));
        else
            json_incref(rec);
        extra = json_object();
        size_t plen = strlen(prefix);
        const char *k;
        json_t *v;
        json_object_foreach(kv, k, v)
        {
            if (strncmp(k, prefix, plen) == 0 && !local_key_reserved(k))
                json_object_set(extra, k, v);
        }
        json_object_set_new(json_object_get(rec, "extra"), prefix, extra);
        json_object_set_new(next, name, rec);
    } else {
        json_object_set(next, name, rec);
    }
    *rec_out = rec;
    return json_incref(extra);
}

static int local_vm_list(hv_conn *c, const char *pool, const char *key_prefix, json_t **out,
                         vic_err **err)
{
    local_conn *lc = L(c);
    *out = NULL;
    DIR *d = opendir(lc->ds_root);
    if (d == NULL)
        return vic_err_sys(err, VIC_EIO, errno, "read %s", lc->ds_root);
    json_t *arr = json_array();
    json_t *next = json_object();
    struct dirent *e;
    pthread_mutex_lock(&lc->list_mu);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !local_name_valid(e->d_name))
            continue;
        cleanup_free char *path = vmx_path(lc, e->d_name);
        cleanup_free char *text = NULL;
        size_t len = 0;
        if (vic_file_read(&text, &len, path, VMX_MAX_FILE, NULL) < 0)
            continue; /* not a VM folder, or being removed */
        const json_t *rec = NULL;
        json_t *extra = listed_extra(lc, next, e->d_name, text, len, key_prefix, &rec);
        if (extra == NULL)
            continue;
        const char *vpool = vic_json_str(rec, "pool");
        if (pool && (vpool == NULL || strcmp(vpool, pool) != 0)) {
            json_decref(extra);
            continue;
        }
        cleanup_free char *dir = vm_dir(lc, e->d_name);
        char ref[HV_REF_MAX];
        snprintf(ref, sizeof(ref), "vm:%.100s", e->d_name);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:o}", "ref", ref, "name",
                                             e->d_name, "power",
                                             vm_running(dir) ? "poweredOn" : "poweredOff",
                                             "change_version", vic_json_str(rec, "version") ?: "0",
                                             "pool", vpool, "extra_config", extra));
    }
    json_decref(lc->list_cache);
    lc->list_cache = next; /* folders gone since the last listing drop out */
    pthread_mutex_unlock(&lc->list_mu);
    closedir(d);
    *out = arr;
    return 0;
}

static int count_vms_in_pool(local_conn *lc, const char *pool_path, int *out, vic_err **err)
{
    json_t *arr = NULL;
    int rc = local_vm_list(&lc->base, pool_path, NULL, &arr, err);
    *out = rc == 0 ? (int)json_array_size(arr) : 0;
    json_decref(arr);
    return rc;
}

/* Starts the monitor, detached from us (its own session, reparented to init), and waits for
 * its word on a pipe: "ok" once the guest runs, or the reason it could not start it. */
static int power_on_monitor(char *monitor, char *home_arg, char *bin_arg, const char *name,
                            const char *dir, vic_err **err);

static int local_vm_power_on(hv_conn *c, const hv_ref *vm, vic_err **err)
{
    local_conn *lc = L(c);
    const char *name = NULL;
    cleanup_free char *dir = NULL;
    cleanup_free char *path = NULL;
    int rc = vm_locate(lc, vm, &name, &dir, &path, err);
    if (rc < 0)
        return rc;
    if (vm_running(dir))
        return vic_err_set(err, VIC_ECONFLICT, "VM %s is already powered on", name);
    cleanup_free char *monitor = xasprintf("%s/vic-vmx", lc->bin_dir);
    if (access(monitor, X_OK) != 0)
        return vic_err_sys(err, VIC_EINTERNAL, errno, "monitor %s", monitor);
    cleanup_free char *home_arg = xstrdup(lc->home);
    cleanup_free char *bin_arg = xstrdup(lc->bin_dir);
    json_t *kv cleanup_json = NULL;
    if ((rc = vmx_read(&kv, path, err)) < 0)
        return rc;
    /* the VM's segments and their firewall rules, before the monitor plugs into them (an
     * appliance is vic-init on this host: it has no guest NICs to plug) */
    char *token = NULL, *unenforced = NULL;
    const char *cdrom = json_string_value(json_object_get(kv, VMX_CDROM));
    cleanup_free char *image = NULL;
    vic_err *ie = NULL;
    int appliance = cdrom && local_ds_path(lc->ds_root, cdrom, &image, &ie) == 0 &&
                    local_appliance_image(image);
    vic_err_free(&ie);
    if (!appliance && (rc = netdev_reserve(lc->home, kv, &token, &unenforced, err)) < 0)
        return vic_err_wrap(err, rc, "VM %s", name);
    free(unenforced); /* logged; reported by netfw_probe to those who ask */
    rc = power_on_monitor(monitor, home_arg, bin_arg, name, dir, err);
    netdev_release(lc->home, kv, token);
    return rc;
}

/* Starts the monitor of VM name (folder dir) and waits for its word that the guest runs. */
static int power_on_monitor(char *monitor, char *home_arg, char *bin_arg, const char *name,
                            const char *dir, vic_err **err)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return vic_err_sys(err, VIC_EIO, errno, "pipe");
    char *argv[] = {monitor, "--home",     home_arg,     "--bin-dir", bin_arg,
                    "--vm",  (char *)name, "--ready-fd", "3",         NULL};
    pid_t child = fork();
    if (child < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        return vic_err_sys(err, VIC_EIO, e, "fork");
    }
    if (child == 0) {
        /* Only async-signal-safe calls from here to exec: the caller may be threaded. */
        setsid();
        pid_t grandchild = fork();
        if (grandchild != 0)
            _exit(grandchild < 0 ? 1 : 0);
        if (dup2(pfd[1], 3) < 0)
            _exit(1);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        closefrom(4);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(monitor, argv);
        _exit(127);
    }
    close(pfd[1]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    char msg[1024];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(pfd[0], msg + got, sizeof(msg) - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == sizeof(msg) - 1)
            break;
    }
    close(pfd[0]);
    msg[got] = '\0';
    if (strncmp(msg, "ok", 2) == 0)
        return 0;
    if (got == 0)
        return vic_err_set(err, VIC_EINTERNAL,
                           "VM %s: the monitor exited without starting "
                           "the guest (see %s/monitor.log)",
                           name, dir);
    msg[strcspn(msg, "\n")] = '\0';
    return vic_err_set(err, strncmp(msg, "conflict", 8) == 0 ? VIC_ECONFLICT : VIC_EINVAL,
                       "VM %s: %s", name, strncmp(msg, "error ", 6) == 0 ? msg + 6 : msg);
}

static int read_monitor_pid(const char *dir, pid_t *out)
{
    char path[1024], buf[32] = "";
    snprintf(path, sizeof(path), "%s/monitor.pid", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    long pid = strtol(buf, NULL, 10);
    if (pid <= 1)
        return -1;
    *out = (pid_t)pid;
    return 0;
}

static int local_vm_power_off(hv_conn *c, const hv_ref *vm, unsigned grace_ms, vic_err **err)
{
    local_conn *lc = L(c);
    const char *name = NULL;
    cleanup_free char *dir = NULL;
    cleanup_free char *path = NULL;
    int rc = vm_locate(lc, vm, &name, &dir, &path, err);
    if (rc < 0)
        return rc;
    pid_t pid = 0;
    if (!vm_running(dir))
        return 0;
    if (read_monitor_pid(dir, &pid) == 0 && vm_running(dir)) {
        /* The grace period travels with the signal; the monitor escalates to SIGKILL. */
        union sigval sv = {.sival_int = (int)grace_ms};
        sigqueue(pid, SIGTERM, sv);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (!vm_running(dir))
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms > (long)grace_ms + 5000 && pid > 1) {
            /* The monitor is stuck: end it; its guest dies with it (parent-death signal). */
            kill(pid, SIGKILL);
            pid = 0;
        }
        if (ms > (long)grace_ms + 10000)
            return vic_err_set(err, VIC_ETIMEOUT, "VM %s did not power off", name);
        struct timespec nap = {0, 2 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
}

static int local_vm_destroy(hv_conn *c, const hv_ref *vm, vic_err **err)
{
    local_conn *lc = L(c);
    const char *name = NULL;
    cleanup_free char *dir = NULL;
    cleanup_free char *path = NULL;
    int rc = vm_locate(lc, vm, &name, &dir, &path, err);
    if (rc < 0)
        return rc;
    int lock = local_vm_lock(dir, err);
    if (lock < 0)
        return lock;
    if (vm_running(dir)) {
        close(lock);
        return vic_err_set(err, VIC_ECONFLICT, "VM %s is powered on; power it off first", name);
    }
    json_t *kv cleanup_json = NULL;
    vmx_read(&kv, path, NULL);
    int range = idrange_of_vmx(json_string_value(json_object_get(kv, VMX_IDRANGE)));
    cleanup_free char *owner =
        xstrdup(json_string_value(json_object_get(kv, VMX_IDRANGE_OWNER)) ?: "");
    /* Unregister first (the .vmx goes), then the folder: a crash in between leaves a folder
     * that is no longer a VM and that the next destroy or a datastore cleanup removes. */
    char rnd[4];
    vic_random_bytes(rnd, sizeof(rnd));
    cleanup_free char *trash =
        xasprintf("%s/.trash-%s-%02x%02x%02x%02x", lc->ds_root, name, (unsigned char)rnd[0],
                  (unsigned char)rnd[1], (unsigned char)rnd[2], (unsigned char)rnd[3]);
    if (rename(dir, trash) < 0) {
        int e = errno;
        close(lock);
        return vic_err_sys(err, VIC_EIO, e, "remove VM %s", name);
    }
    close(lock);
    rc = vic_rm_rf(trash, err);
    /* the range goes with the VM (a crash before this leaves a record that reads as stale) */
    idrange_free(range, owner);
    local_event(lc->home, "destroyed", name, NULL);
    if (rc < 0)
        return vic_err_wrap(err, rc, "VM %s unregistered, but its files remain in %s", name, trash);
    return 0;
}

/* ---- datastore files ---- */

static int copy_file(const char *from, const char *to, vic_err **err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return vic_err_sys(err, errno == ENOENT ? VIC_ENOTFOUND : VIC_EIO, errno, "open %s", from);
    /* the copy keeps the source's permission bits: a private key stays private */
    struct stat st;
    mode_t mode = fstat(in, &st) == 0 ? (st.st_mode & 0777) : 0600;
    cleanup_free char *tmp = xasprintf("%s.tmp.%ld", to, (long)getpid());
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (out < 0) {
        int e = errno;
        close(in);
        return vic_err_sys(err, VIC_EIO, e, "create %s", to);
    }
    char buf[65536];
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = vic_err_sys(err, VIC_EIO, errno, "read %s", from);
            break;
        }
        if (r == 0)
            break;
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = vic_err_sys(err, VIC_EIO, errno, "write %s", to);
                break;
            }
            off += w;
        }
        if (rc < 0)
            break;
    }
    close(in);
    if (rc == 0 && fsync(out) < 0)
        rc = vic_err_sys(err, VIC_EIO, errno, "fsync %s", to);
    close(out);
    if (rc == 0 && rename(tmp, to) < 0)
        rc = vic_err_sys(err, VIC_EIO, errno, "rename %s", to);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int local_ds_upload(hv_conn *c, const char *ds_path, const char *local_file, vic_err **err)
{
    cleanup_free char *host = NULL;
    int rc = local_ds_path(L(c)->ds_root, ds_path, &host, err);
    return rc < 0 ? rc : copy_file(local_file, host, err);
}

static int local_ds_download(hv_conn *c, const char *ds_path, const char *local_file, vic_err **err)
{
    cleanup_free char *host = NULL;
    int rc = local_ds_path(L(c)->ds_root, ds_path, &host, err);
    return rc < 0 ? rc : copy_file(host, local_file, err);
}

static int local_ds_mkdir(hv_conn *c, const char *ds_path, vic_err **err)
{
    cleanup_free char *host = NULL;
    int rc = local_ds_path(L(c)->ds_root, ds_path, &host, err);
    return rc < 0 ? rc : mkdir_if_missing(host, 0755, err);
}

static int local_ds_delete(hv_conn *c, const char *ds_path, vic_err **err)
{
    cleanup_free char *host = NULL;
    int rc = local_ds_path(L(c)->ds_root, ds_path, &host, err);
    if (rc < 0)
        return rc;
    if (strcmp(host, L(c)->ds_root) == 0)
        return vic_err_set(err, VIC_EINVAL, "refusing to delete the datastore root");
    rc = vic_rm_rf(host, err);
    return rc < 0 ? vic_err_wrap(err, rc, "delete %s", ds_path) : 0;
}

static int local_ds_local_path(hv_conn *c, const char *ds_path, char **out, vic_err **err)
{
    return local_ds_path(L(c)->ds_root, ds_path, out, err);
}

/* ---- events ---- */

static int local_events_wait(hv_conn *c, int64_t after_seq, unsigned timeout_ms, hv_event *out,
                             size_t cap, size_t *n, vic_err **err)
{
    local_conn *lc = L(c);
    cleanup_free char *path = xasprintf("%s/events.log", lc->home);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    *n = 0;
    for (;;) {
        FILE *f = fopen(path, "re");
        if (f) {
            /* an event's seq is its line's offset plus one: 0 is before the first */
            if (after_seq < 0) {
                fseek(f, 0, SEEK_END);
                after_seq = ftell(f);
            } else if (after_seq > 0 && fseek(f, (long)after_seq - 1, SEEK_SET) == 0) {
                int ch; /* skip the event already seen */
                while ((ch = fgetc(f)) != EOF && ch != '\n')
                    ;
            }
            char line[600];
            long pos = ftell(f);
            while (*n < cap && fgets(line, sizeof(line), f)) {
                size_t len = strlen(line);
                if (len == 0 || line[len - 1] != '\n')
                    break; /* a line still being written */
                hv_event *ev = &out[*n];
                memset(ev, 0, sizeof(*ev));
                char vm[HV_REF_MAX - 3] = "";
                long long t = 0;
                int used = 0;
                if (sscanf(line, "%lld %31s %124s %n", &t, ev->type, vm, &used) >= 3) {
                    ev->seq = pos + 1;
                    ev->time_ns = t;
                    snprintf(ev->vm.id, sizeof(ev->vm.id), "vm:%.120s", vm);
                    line[len - 1] = '\0';
                    snprintf(ev->detail, sizeof(ev->detail), "%s", line + used);
                    (*n)++;
                }
                pos = ftell(f);
            }
            fclose(f);
        } else if (after_seq < 0) {
            after_seq = 0;
        }
        if (*n > 0)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= (long)timeout_ms)
            return 0;
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    (void)err;
}

/* ---- connection ---- */

static void local_disconnect(hv_conn *c)
{
    local_conn *lc = L(c);
    netdev_sweep(lc->home, NULL); /* segments no NIC uses any more */
    free(lc->home);
    free(lc->ds_root);
    free(lc->pools);
    free(lc->bin_dir);
    json_decref(lc->list_cache);
    pthread_mutex_destroy(&lc->list_mu);
    free(lc);
}

/* Leftovers of processes that died mid-operation: ".tmp-NAME-PID-RAND" folders whose creator
 * is gone (a create that never reached its rename) and ".trash-*" folders (a destroy that
 * unregistered its VM but did not finish deleting). Nothing else is touched. */
static void sweep(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int remove = strncmp(e->d_name, ".trash-", 7) == 0;
        if (strncmp(e->d_name, ".tmp-", 5) == 0) {
            /* the pid is the second-to-last dash-separated field */
            const char *last = strrchr(e->d_name, '-');
            const char *p = last;
            while (p && p > e->d_name && p[-1] != '-')
                p--;
            long pid = p && p < last ? strtol(p, NULL, 10) : 0;
            remove = pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
        }
        if (remove) {
            char *path = xasprintf("%s/%s", dir, e->d_name);
            vic_rm_rf(path, NULL);
            free(path);
        }
    }
    if (d)
        closedir(d);
}

static int local_connect(hv_conn **out, const hv_connect_opts *opts, vic_err **err)
{
    *out = NULL;
    if (opts->home == NULL || *opts->home == '\0')
        return vic_err_set(err, VIC_EINVAL, "the local target needs a home directory");
    char real[PATH_MAX];
    if (mkdir(opts->home, 0700) < 0 && errno != EEXIST)
        return vic_err_sys(err, VIC_EIO, errno, "create %s", opts->home);
    /* datastores, container disks and logs: no other host user may read them */
    int prc = vic_dir_private(opts->home, err);
    if (prc < 0)
        return prc;
    if (realpath(opts->home, real) == NULL)
        return vic_err_sys(err, VIC_EIO, errno, "resolve %s", opts->home);
    local_conn *lc = xzalloc(sizeof(*lc));
    lc->base.driver = &hv_local_driver;
    lc->home = xstrdup(real);
    lc->ds_root = xasprintf("%s/" LOCAL_DATASTORE, real);
    lc->pools = xasprintf("%s/pools", real);
    pthread_mutex_init(&lc->list_mu, NULL);
    char bin_real[PATH_MAX];
    if (opts->bin_dir && realpath(opts->bin_dir, bin_real) == NULL) {
        int e = errno;
        local_disconnect(&lc->base);
        return vic_err_sys(err, VIC_EINVAL, e, "binary directory %s", opts->bin_dir);
    }
    lc->bin_dir = opts->bin_dir ? xstrdup(bin_real) : vic_exe_dir();
    int rc = mkdir_if_missing(lc->ds_root, 0755, err);
    if (rc == 0)
        rc = mkdir_if_missing(lc->pools, 0755, err);
    char tag[17];
    cg_tag(tag, real);
    cg_detect(&lc->cg, tag);
    if (rc == 0) {
        sweep(lc->ds_root);
        sweep(lc->pools);
        netdev_sweep(lc->home, NULL);
    }
    cleanup_free char *root = xasprintf("%s/pool.json", lc->pools);
    if (rc == 0 && access(root, F_OK) != 0) {
        hv_pool_spec spec = {.cpu = {.limit = -1}, .memory = {.limit = -1}};
        hv_pool_info info = {0};
        cg_pool_apply(&lc->cg, "", &spec, &info);
        json_t *rec cleanup_json = pool_record(&spec, &info);
        rc = write_json_atomic(root, rec, err);
    }
    if (rc < 0) {
        local_disconnect(&lc->base);
        return rc;
    }
    *out = &lc->base;
    return 0;
}

static int local_vm_id_base(hv_conn *c, const hv_ref *vm, uint32_t *out, vic_err **err)
{
    local_conn *lc = L(c);
    const char *name = NULL;
    cleanup_free char *dir = NULL;
    cleanup_free char *path = NULL;
    int rc = vm_locate(lc, vm, &name, &dir, &path, err);
    json_t *kv cleanup_json = NULL;
    if (rc == 0)
        rc = vmx_read(&kv, path, err);
    if (rc < 0)
        return rc;
    *out = idrange_base(idrange_of_vmx(json_string_value(json_object_get(kv, VMX_IDRANGE))));
    return 0;
}

/* The appliance is vic-init on this host; containers' networks are segments here. */
static const hv_caps local_caps = {
    .appliance_on_host = 1,
    .images_in_vm_folder = 0,
    .bridges_on_host = 1,
    .bridge_prefix = NETDEV_SEGMENT_PREFIX,
    .bridges_usable = netdev_bridges_usable,
    .bridges_isolated = netfw_probe,
    .nic_mac = 1,
    .nic_hot_plug = 1,
};

const hv_driver hv_local_driver = {
    .name = "local",
    .caps = &local_caps,
    .connect = local_connect,
    .disconnect = local_disconnect,
    .find = local_find,
    .list = local_list,
    .pool_create = local_pool_create,
    .pool_update = local_pool_update,
    .pool_destroy = local_pool_destroy,
    .pool_get = local_pool_get,
    .vm_create = local_vm_create,
    .vm_reconfigure = local_vm_reconfigure,
    .vm_processes = local_vm_processes,
    .vm_guest_usage = local_vm_guest_usage,
    .vm_signal = local_vm_signal,
    .vm_id_base = local_vm_id_base,
    .vm_pause = local_vm_pause,
    .vm_unenforced = local_vm_unenforced,
    .vm_power_on = local_vm_power_on,
    .vm_power_off = local_vm_power_off,
    .vm_destroy = local_vm_destroy,
    .vm_attach = local_vm_attach,
    .vm_exec = local_vm_exec,
    .vm_get = local_vm_get,
    .vm_list = local_vm_list,
    .ds_upload = local_ds_upload,
    .ds_download = local_ds_download,
    .ds_mkdir = local_ds_mkdir,
    .ds_delete = local_ds_delete,
    .ds_local_path = local_ds_local_path,
    .events_wait = local_events_wait,
};
