#include "hypervisor/local/netdev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/netlink.h"

#define HOST_NETWORK "VM Network"
#define MAX_NICS     10

/* FNV-1a over NUL-separated parts, as 12 hex digits after prefix. */
static void dev_name(char out[IFNAMSIZ], const char *prefix, const char *const *parts, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)parts[i];; p++) {
            h ^= *p;
            h *= 1099511628211ull;
            if (*p == '\0')
                break;
        }
    }
    snprintf(out, IFNAMSIZ, "%s%012llx", prefix, (unsigned long long)(h & 0xffffffffffffull));
}

/* The segment's subnet as text ("10.1.0.0/24") from the gateway's address. */
static int subnet_of(const char *gateway, char *out, size_t cap)
{
    uint32_t a = 0;
    int len = 0;
    if (vic_cidr_parse(gateway, &a, &len) < 0 || len < 8 || len > 30)
        return -1;
    uint32_t net = a & vic_cidr_mask(len);
    snprintf(out, cap, "%u.%u.%u.%u/%d", net >> 24, (net >> 16) & 255, (net >> 8) & 255, net & 255,
             len);
    return 0;
}

/* The .vmx value "ethernetI.field", or NULL. */
static const char *kv_str(const json_t *kv, int i, const char *field)
{
    char key[64];
    snprintf(key, sizeof(key), "ethernet%d.%s", i, field);
    return json_string_value(json_object_get(kv, key));
}

static int lock_netdevs(const char *home)
{
    cleanup_free char *dir = xasprintf("%s/netdevs", home);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -1;
    cleanup_free char *path = xasprintf("%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The record of segment name, "$home/netdevs/NAME" (suffix: ".users" and the like). */
static char *rec_path(const char *home, const char *name, const char *suffix)
{
    return xasprintf("%s/netdevs/%s%s", home, name, suffix);
}

int netdev_plug(const char *home, const char *vm, const json_t *kv, pid_t guest, vic_err **err)
{
    const char *pool = json_string_value(json_object_get(kv, "vic.pool"));
    int lock = -1;
    for (int i = 0; i < MAX_NICS; i++) {
        const char *net = kv_str(kv, i, "networkName");
        if (net == NULL)
            break;
        if (strcmp(net, HOST_NETWORK) == 0)
            continue;
        const char *gw = kv_str(kv, i, "gateway");
        char subnet[40];
        if (gw == NULL || subnet_of(gw, subnet, sizeof(subnet)) < 0) {
            if (lock >= 0)
                close(lock);
            return vic_err_set(err, VIC_EINVAL,
                               "ethernet%d: a NIC on port group %s needs its segment's gateway "
                               "(ADDR/PREFIX), not \"%s\"",
                               i, net, gw ? gw : "");
        }
        if (lock < 0 && (lock = lock_netdevs(home)) < 0)
            return vic_err_sys(err, VIC_EIO, errno, "lock %s/netdevs", home);
        char seg[IFNAMSIZ], adapter[IFNAMSIZ], guest_if[IFNAMSIZ];
        const char *parts[] = {home, pool ? pool : "", net, subnet};
        dev_name(seg, "vb", parts, 4);
        snprintf(adapter, sizeof(adapter), "vg%s", seg + 2);
        snprintf(guest_if, sizeof(guest_if), "eth%d", i);
        cleanup_free char *rec = rec_path(home, seg, "");
        cleanup_free char *users = rec_path(home, seg, ".users");
        cleanup_free char *me = xasprintf("%s/%ld", users, (long)getpid());
        if (access(rec, F_OK) != 0) {
            cleanup_free char *text = xasprintf("%s\n%s\n%s\n", pool ? pool : "", net, subnet);
            FILE *f = fopen(rec, "we");
            if (f) {
                fputs(text, f);
                fclose(f);
            }
        }
        int fd = -1;
        if ((mkdir(users, 0700) < 0 && errno != EEXIST) ||
            (fd = open(me, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0) {
            int e = errno;
            close(lock);
            return vic_err_sys(err, VIC_EIO, e, "record %s", me);
        }
        close(fd);
        int rc = vic_nl_bridge_ensure(seg, err);
        if (rc == 0 && if_nametoindex(adapter) == 0)
            rc = vic_nl_macvlan_add(seg, adapter, 0, err);
        if (rc == 0)
            rc = vic_nl_addr_add(adapter, gw, err);
        if (rc == 0)
            rc = vic_nl_link_up(adapter, err);
        if (rc == 0)
            rc = vic_nl_macvlan_add(seg, guest_if, guest, err);
        if (rc < 0) {
            close(lock);
            return vic_err_wrap(err, rc, "NIC %d on port group %s", i, net);
        }
        vic_log(VIC_LOG_DEBUG, "event=nic_plugged vm=%s nic=%d segment=%s", vm, i, seg);
    }
    if (lock >= 0)
        close(lock);
    return 0;
}

/* Whether segment name has a user still running (a monitor whose pid file is there). */
static int in_use(const char *home, const char *name)
{
    cleanup_free char *users = rec_path(home, name, ".users");
    DIR *d = opendir(users);
    if (d == NULL)
        return 0;
    int used = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        long pid = atol(e->d_name);
        if (pid > 1 && (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
            used = 1;
            continue;
        }
        cleanup_free char *stale = xasprintf("%s/%s", users, e->d_name);
        unlink(stale); /* its monitor is gone */
    }
    closedir(d);
    return used;
}

/* Removes segment name (its host adapter goes with it) and its records, unless it is in use
 * (or force). */
static void sweep_one(const char *home, const char *name, int force)
{
    if (!force && in_use(home, name))
        return;
    vic_err *err = NULL;
    if (vic_nl_link_del(name, &err) < 0) {
        vic_log(VIC_LOG_WARN, "event=segment_remove_failed segment=%s msg=\"%s\"", name, err->msg);
        vic_err_free(&err);
        return;
    }
    cleanup_free char *users = rec_path(home, name, ".users");
    DIR *d = opendir(users);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        cleanup_free char *f = xasprintf("%s/%s", users, e->d_name);
        unlink(f);
    }
    if (d)
        closedir(d);
    rmdir(users);
    cleanup_free char *rec = rec_path(home, name, "");
    unlink(rec);
}

static void sweep_locked(const char *home, const char *pool)
{
    cleanup_free char *dir = xasprintf("%s/netdevs", home);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "vb", 2) != 0 || strlen(e->d_name) >= IFNAMSIZ ||
            strchr(e->d_name, '.'))
            continue;
        if (pool) {
            cleanup_free char *rec = xasprintf("%s/%s", dir, e->d_name);
            char line[600] = "";
            FILE *f = fopen(rec, "re");
            if (f) {
                if (fgets(line, sizeof(line), f) == NULL)
                    line[0] = '\0';
                fclose(f);
            }
            line[strcspn(line, "\n")] = '\0';
            if (strcmp(line, pool) != 0)
                continue;
        }
        sweep_one(home, e->d_name, pool != NULL);
    }
    closedir(d);
}

void netdev_unplug(const char *home, const char *vm, const json_t *kv)
{
    (void)vm;
    const char *pool = json_string_value(json_object_get(kv, "vic.pool"));
    for (int i = 0; i < MAX_NICS && kv_str(kv, i, "networkName"); i++) {
        const char *net = kv_str(kv, i, "networkName"), *gw = kv_str(kv, i, "gateway");
        char subnet[40], seg[IFNAMSIZ];
        if (strcmp(net, HOST_NETWORK) == 0 || gw == NULL ||
            subnet_of(gw, subnet, sizeof(subnet)) < 0)
            continue;
        const char *parts[] = {home, pool ? pool : "", net, subnet};
        dev_name(seg, "vb", parts, 4);
        cleanup_free char *me = xasprintf("%s/netdevs/%s.users/%ld", home, seg, (long)getpid());
        unlink(me);
    }
    /* The guest's macvlans went with its network namespace. The segment stays for the next
     * power on: a segment made and removed with each container would add and remove its
     * host adapter's address each time, which every program on the host that watches its
     * addresses (a browser, say) takes for a network change. */
}

void netdev_sweep(const char *home, const char *pool)
{
    int lock = lock_netdevs(home);
    if (lock < 0)
        return;
    sweep_locked(home, pool);
    close(lock);
}
