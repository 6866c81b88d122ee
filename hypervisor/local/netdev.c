#include "hypervisor/local/netdev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
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

/* Plugs NIC i of the VM (kv) into its segment as ethI in the network namespace of process
 * guest, recording the calling monitor as the segment's user; *lock is taken (and kept for
 * the caller to close) at the first NIC on a bridge. A NIC not on a bridge is left alone. */
static int plug_one(const char *home, const char *vm, const json_t *kv, int i, pid_t guest,
                    int *lock, vic_err **err)
{
    if (!netdev_nic_segment(home, kv, i, 0, (char[IFNAMSIZ]){0}, NULL))
        return 0;
    if (*lock < 0 && (*lock = netdev_lock(home)) < 0)
        return vic_err_sys(err, VIC_EIO, errno, "lock %s/netdevs", home);
    char seg[IFNAMSIZ], adapter[IFNAMSIZ], guest_if[IFNAMSIZ];
    int rc = netdev_nic_segment(home, kv, i, 1, seg, err);
    if (rc < 0)
        return rc;
    netdev_adapter_name(seg, adapter);
    snprintf(guest_if, sizeof(guest_if), "eth%d", i);
    const char *gw = kv_str(kv, i, "gateway"), *net = kv_str(kv, i, "networkName");
    cleanup_free char *users = netdev_rec_path(home, seg, ".users");
    cleanup_free char *me = xasprintf("%s/%ld", users, (long)getpid());
    int fd = open(me, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "record %s", me);
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
    if (rc < 0)
        return vic_err_wrap(err, rc, "NIC %d on port group %s", i, net);
    vic_log(VIC_LOG_DEBUG, "event=nic_plugged vm=%s nic=%d segment=%s", vm, i, seg);
    return 0;
}

int netdev_plug(const char *home, const char *vm, const json_t *kv, pid_t guest, vic_err **err)
{
    int lock = -1, rc = 0;
    for (int i = 0; rc == 0 && i < NETDEV_MAX_NICS && kv_str(kv, i, "networkName"); i++)
        rc = plug_one(home, vm, kv, i, guest, &lock, err);
    if (lock >= 0)
        close(lock);
    return rc;
}

/* How many NICs kv has (ethernet0.. in a row). */
static int nic_count(const json_t *kv)
{
    int n = 0;
    while (n < NETDEV_MAX_NICS && kv_str(kv, n, "networkName"))
        n++;
    return n;
}

/* Whether NIC i of a and NIC j of b are the same NIC: the same port group and segment
 * gateway (a VM has one NIC on a segment), and the same MAC address. */
static int same_nic(const json_t *a, int i, const json_t *b, int j)
{
    const char *fields[] = {"networkName", "gateway", "address"};
    for (size_t f = 0; f < 3; f++) {
        const char *x = kv_str(a, i, fields[f]), *y = kv_str(b, j, fields[f]);
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
            return 0;
    }
    return 1;
}

/* Runs in the guest's network namespace (net, an open /proc/PID/ns/net) until back is
 * restored; aborts when the monitor cannot come back (it would serve the guest's network). */
static int enter_ns(int net, vic_err **err)
{
    if (setns(net, CLONE_NEWNET) < 0)
        return vic_err_sys(err, VIC_EIO, errno, "enter the guest's network namespace");
    return 0;
}

static void leave_ns(int back)
{
    if (setns(back, CLONE_NEWNET) < 0) {
        vic_log(VIC_LOG_ERROR, "event=netns_return_failed msg=\"%s\"", strerror(errno));
        abort();
    }
}

int netdev_replug(const char *home, const char *vm, const json_t *was, const json_t *now,
                  pid_t guest, vic_err **err)
{
    int n_was = nic_count(was), n_now = nic_count(now);
    int from[NETDEV_MAX_NICS]; /* the NIC of was that NIC j of now is, or -1: a new one */
    int kept[NETDEV_MAX_NICS] = {0};
    for (int j = 0; j < n_now; j++) {
        from[j] = -1;
        for (int i = 0; i < n_was && from[j] < 0; i++)
            if (!kept[i] && same_nic(was, i, now, j)) {
                from[j] = i;
                kept[i] = 1;
            }
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/ns/net", (long)guest);
    int net cleanup_close = open(path, O_RDONLY | O_CLOEXEC);
    int back cleanup_close = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (net < 0 || back < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open the network namespaces");
    int rc = enter_ns(net, err);
    if (rc < 0)
        return rc;
    /* the guest's devices: those that went are deleted, those that moved renamed (through
     * names of their own, so that no two collide on the way) */
    char ifname[IFNAMSIZ], tmp[32]; /* "vicmvN": N < NETDEV_MAX_NICS */
    for (int i = 0; rc == 0 && i < n_was; i++) {
        snprintf(ifname, sizeof(ifname), "eth%d", i);
        if (!kept[i])
            rc = vic_nl_link_del(ifname, err);
    }
    for (int j = 0; rc == 0 && j < n_now; j++) {
        if (from[j] < 0 || from[j] == j)
            continue;
        snprintf(ifname, sizeof(ifname), "eth%d", from[j]);
        snprintf(tmp, sizeof(tmp), "vicmv%d", j);
        rc = vic_nl_link_rename(ifname, tmp, err);
    }
    for (int j = 0; rc == 0 && j < n_now; j++) {
        if (from[j] < 0 || from[j] == j)
            continue;
        snprintf(tmp, sizeof(tmp), "vicmv%d", j);
        snprintf(ifname, sizeof(ifname), "eth%d", j);
        rc = vic_nl_link_rename(tmp, ifname, err);
    }
    leave_ns(back);
    /* the new ones are plugged */
    int lock = -1;
    for (int j = 0; rc == 0 && j < n_now; j++)
        if (from[j] < 0)
            rc = plug_one(home, vm, now, j, guest, &lock, err);
    /* the segments this monitor no longer uses lose it as a user */
    for (int i = 0; rc == 0 && i < n_was; i++) {
        char seg[IFNAMSIZ], other[IFNAMSIZ];
        if (kept[i] || netdev_nic_segment(home, was, i, 0, seg, NULL) != 1)
            continue;
        int used = 0;
        for (int j = 0; j < n_now && !used; j++)
            used = netdev_nic_segment(home, now, j, 0, other, NULL) == 1 && strcmp(seg, other) == 0;
        if (!used) {
            cleanup_free char *me = xasprintf("%s/netdevs/%s.users/%ld", home, seg, (long)getpid());
            unlink(me);
        }
    }
    if (lock >= 0)
        close(lock);
    if (rc == 0)
        vic_log(VIC_LOG_INFO, "event=nics_changed vm=%s nics=%d was=%d", vm, n_now, n_was);
    return rc;
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
