/* The host side of the local bridge segments (netdev.h): reserving a VM's segments with their
 * firewall rules before a power on, and sweeping. Not linked into the monitor. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/local/netdev.h"
#include "hypervisor/local/netfw.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/netlink.h"

/* Makes sure segment name's rules are there; the message when they cannot be (logged). */
static char *guard(const char *name)
{
    char adapter[IFNAMSIZ];
    netdev_adapter_name(name, adapter);
    vic_err *err = NULL;
    if (netfw_segment_add(adapter, &err) == 0)
        return NULL;
    char *msg = xstrdup(err->msg);
    vic_log(VIC_LOG_WARN,
            "event=segment_not_isolated segment=%s msg=\"containers on it reach the host's "
            "services: %s\"",
            name, msg);
    vic_err_free(&err);
    return msg;
}

int netdev_reserve(const char *home, const json_t *kv, char **token, char **unenforced,
                   vic_err **err)
{
    static atomic_uint next;
    *token = NULL;
    *unenforced = NULL;
    int lock = -1, rc = 0;
    for (int i = 0; i < NETDEV_MAX_NICS; i++) {
        char seg[IFNAMSIZ];
        rc = netdev_nic_segment(home, kv, i, 0, seg, NULL);
        if (rc == 0)
            continue;
        if (lock < 0 && (lock = netdev_lock(home)) < 0) {
            int e = errno;
            netdev_release(home, kv, *token);
            *token = NULL;
            return vic_err_sys(err, VIC_EIO, e, "lock %s/netdevs", home);
        }
        if ((rc = netdev_nic_segment(home, kv, i, 1, seg, err)) < 0)
            break;
        if (*token == NULL)
            *token = xasprintf("%ld-r%u", (long)getpid(), atomic_fetch_add(&next, 1));
        cleanup_free char *users = netdev_rec_path(home, seg, ".users");
        cleanup_free char *mine = xasprintf("%s/%s", users, *token);
        int fd = open(mine, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            rc = vic_err_sys(err, VIC_EIO, errno, "record %s", mine);
            break;
        }
        close(fd);
        char *msg = guard(seg);
        if (msg && *unenforced == NULL)
            *unenforced = msg;
        else
            free(msg);
        rc = 0;
    }
    if (lock >= 0)
        close(lock);
    if (rc < 0) {
        netdev_release(home, kv, *token);
        *token = NULL;
        free(*unenforced);
        *unenforced = NULL;
    }
    return rc < 0 ? rc : 0;
}

void netdev_release(const char *home, const json_t *kv, char *token)
{
    if (token == NULL)
        return;
    for (int i = 0; i < NETDEV_MAX_NICS; i++) {
        char seg[IFNAMSIZ];
        if (netdev_nic_segment(home, kv, i, 0, seg, NULL) != 1)
            continue;
        cleanup_free char *users = netdev_rec_path(home, seg, ".users");
        cleanup_free char *mine = xasprintf("%s/%s", users, token);
        unlink(mine);
    }
    free(token);
}
/* Whether pid has exited and waits for its parent to reap it (its guest is gone with it;
 * a killed monitor's new parent may take a while). */
static int zombie(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close_paren = strrchr(buf, ')');
    return close_paren && (close_paren[1] == ' ') &&
           (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

/* Whether segment name has a user still running (a monitor whose pid file is there). */
static int in_use(const char *home, const char *name)
{
    cleanup_free char *users = netdev_rec_path(home, name, ".users");
    DIR *d = opendir(users);
    if (d == NULL)
        return 0;
    int used = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        long pid = atol(e->d_name);
        if (pid > 1 && (kill((pid_t)pid, 0) == 0 || errno == EPERM) && !zombie((pid_t)pid)) {
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
    if (!force && in_use(home, name)) {
        free(guard(name)); /* restores rules a crash or a hand left out */
        return;
    }
    vic_err *err = NULL;
    if (vic_nl_link_del(name, &err) < 0) {
        vic_log(VIC_LOG_WARN, "event=segment_remove_failed segment=%s msg=\"%s\"", name, err->msg);
        vic_err_free(&err);
        return;
    }
    /* The link is gone: its rules next. Without nftables there are none to remove, so the
     * records go all the same (warned once here); otherwise they are kept for the next
     * sweep to try again. */
    char adapter[IFNAMSIZ];
    netdev_adapter_name(name, adapter);
    if (netfw_segment_remove(adapter, &err) < 0) {
        vic_log(VIC_LOG_WARN, "event=segment_rules_remove_failed segment=%s msg=\"%s\"", name,
                err->msg);
        vic_err_free(&err);
        vic_err *pe = NULL;
        int usable = netfw_probe(&pe) == 0;
        vic_err_free(&pe);
        if (usable)
            return;
    }
    cleanup_free char *users = netdev_rec_path(home, name, ".users");
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
    cleanup_free char *rec = netdev_rec_path(home, name, "");
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

void netdev_sweep(const char *home, const char *pool)
{
    int lock = netdev_lock(home);
    if (lock < 0)
        return;
    sweep_locked(home, pool);
    close(lock);
}

static char bridge_probe_msg[256];
static int bridge_probe_rc;

static void probe_bridges(void)
{
    char name[16];
    snprintf(name, sizeof(name), NETDEV_SEGMENT_PREFIX "probe%u", (unsigned)getpid() % 10000000u);
    vic_err *err = NULL;
    bridge_probe_rc = vic_nl_bridge_ensure(name, &err);
    if (err)
        snprintf(bridge_probe_msg, sizeof(bridge_probe_msg), "%s", err->msg);
    vic_err_free(&err);
    vic_nl_link_del(name, NULL);
}

int netdev_bridges_usable(vic_err **err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, probe_bridges);
    return bridge_probe_rc < 0 ? vic_err_set(err, bridge_probe_rc, "%s", bridge_probe_msg) : 0;
}
