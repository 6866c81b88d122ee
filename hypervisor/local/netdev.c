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

int netdev_lock(const char *home)
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

char *netdev_rec_path(const char *home, const char *name, const char *suffix)
{
    return xasprintf("%s/netdevs/%s%s", home, name, suffix);
}

void netdev_adapter_name(const char *seg, char out[IFNAMSIZ])
{
    snprintf(out, IFNAMSIZ, "vg%s", seg + 2);
}

int netdev_nic_segment(const char *home, const json_t *kv, int i, int record, char seg[IFNAMSIZ],
                       vic_err **err)
{
    const char *net = kv_str(kv, i, "networkName");
    if (net == NULL || strcmp(net, HOST_NETWORK) == 0)
        return 0;
    const char *pool = json_string_value(json_object_get(kv, "vic.pool"));
    const char *gw = kv_str(kv, i, "gateway");
    char subnet[40];
    if (gw == NULL || subnet_of(gw, subnet, sizeof(subnet)) < 0)
        return vic_err_set(err, VIC_EINVAL,
                           "ethernet%d: a NIC on port group %s needs its segment's gateway "
                           "(ADDR/PREFIX), not \"%s\"",
                           i, net, gw ? gw : "");
    const char *parts[] = {home, pool ? pool : "", net, subnet};
    dev_name(seg, "vb", parts, 4);
    if (!record)
        return 1;
    /* the record comes first: a sweep finds (and converges) only what is recorded */
    cleanup_free char *rec = netdev_rec_path(home, seg, "");
    cleanup_free char *users = netdev_rec_path(home, seg, ".users");
    if (access(rec, F_OK) != 0) {
        cleanup_free char *text = xasprintf("%s\n%s\n%s\n", pool ? pool : "", net, subnet);
        FILE *f = fopen(rec, "we");
        if (f == NULL)
            return vic_err_sys(err, VIC_EIO, errno, "record %s", rec);
        fputs(text, f);
        if (fclose(f) != 0)
            return vic_err_sys(err, VIC_EIO, errno, "record %s", rec);
    }
    if (mkdir(users, 0700) < 0 && errno != EEXIST)
        return vic_err_sys(err, VIC_EIO, errno, "record %s", users);
    return 1;
}

int netdev_plug(const char *home, const char *vm, const json_t *kv, pid_t guest, vic_err **err)
{
    int lock = -1;
    for (int i = 0; i < NETDEV_MAX_NICS && kv_str(kv, i, "networkName"); i++) {
        if (!netdev_nic_segment(home, kv, i, 0, (char[IFNAMSIZ]){0}, NULL))
            continue;
        if (lock < 0 && (lock = netdev_lock(home)) < 0)
            return vic_err_sys(err, VIC_EIO, errno, "lock %s/netdevs", home);
        char seg[IFNAMSIZ], adapter[IFNAMSIZ], guest_if[IFNAMSIZ];
        int rc = netdev_nic_segment(home, kv, i, 1, seg, err);
        if (rc < 0) {
            close(lock);
            return rc;
        }
        netdev_adapter_name(seg, adapter);
        snprintf(guest_if, sizeof(guest_if), "eth%d", i);
        const char *gw = kv_str(kv, i, "gateway"), *net = kv_str(kv, i, "networkName");
        cleanup_free char *users = netdev_rec_path(home, seg, ".users");
        cleanup_free char *me = xasprintf("%s/%ld", users, (long)getpid());
        int fd = open(me, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            int e = errno;
            close(lock);
            return vic_err_sys(err, VIC_EIO, e, "record %s", me);
        }
        close(fd);
        rc = vic_nl_bridge_ensure(seg, err);
        if (rc == 0 && if_nametoindex(adapter) == 0)
            rc = vic_nl_macvlan_add(seg, adapter, 0, NULL, err);
        if (rc == 0)
            rc = vic_nl_addr_add(adapter, gw, err);
        if (rc == 0)
            rc = vic_nl_link_up(adapter, err);
        if (rc == 0)
            rc = vic_nl_macvlan_add(seg, guest_if, guest, kv_str(kv, i, "address"), err);
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

void netdev_unplug(const char *home, const char *vm, const json_t *kv)
{
    (void)vm;
    for (int i = 0; i < NETDEV_MAX_NICS && kv_str(kv, i, "networkName"); i++) {
        char seg[IFNAMSIZ];
        if (netdev_nic_segment(home, kv, i, 0, seg, NULL) != 1)
            continue;
        cleanup_free char *me = xasprintf("%s/netdevs/%s.users/%ld", home, seg, (long)getpid());
        unlink(me);
    }
    /* The guest's macvlans went with its network namespace. The segment stays for the next
     * power on: a segment made and removed with each container would add and remove its
     * host adapter's address each time, which every program on the host that watches its
     * addresses (a browser, say) takes for a network change. */
}
