#include "hypervisor/local/guestps.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "lib/cleanup.h"
#include "lib/mem.h"

/* Reads a small /proc file into buf (NUL-terminated); its length, or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

static int pidns_of(long pid, char *out, size_t cap)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/ns/pid", pid);
    ssize_t n = readlink(path, out, cap - 1);
    if (n <= 0)
        return -1;
    out[n] = '\0';
    return 0;
}

/* The PID namespace of the guest: that of a child of the monitor other than its own; *init
 * (may be NULL) gets that child, the guest's PID 1. */
static int guest_ns(pid_t monitor, char *out, size_t cap, long *init)
{
    char mine[64], path[96], kids[4096];
    if (pidns_of(monitor, mine, sizeof(mine)) < 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)monitor, (long)monitor);
    if (slurp(path, kids, sizeof(kids)) < 0)
        return -1;
    for (char *tok = strtok(kids, " \n"); tok; tok = strtok(NULL, " \n")) {
        if (pidns_of(atol(tok), out, cap) == 0 && strcmp(out, mine) != 0) {
            if (init)
                *init = atol(tok);
            return 0;
        }
    }
    return -1;
}

typedef struct proc_row {
    long host_pid, host_ppid, pid, uid, tty;
    long long start_ticks, cpu_ticks;
    char *cmd;
} proc_row;

/* One process of the guest from /proc; 0 on success. */
static int read_row(long host_pid, proc_row *r)
{
    char path[64], buf[4096];
    memset(r, 0, sizeof(*r));
    r->host_pid = host_pid;
    snprintf(path, sizeof(path), "/proc/%ld/status", host_pid);
    if (slurp(path, buf, sizeof(buf)) < 0)
        return -1;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "NSpid:", 6) == 0) {
            char *last = strrchr(line, '\t');
            r->pid = atol(last ? last + 1 : line + 6);
        } else if (strncmp(line, "Uid:", 4) == 0) {
            long h = strtol(line + 4, NULL, 10); /* a host id of the VM's range */
            r->uid = h >= HV_LOCAL_GUEST_ID_BASE
                         ? (h - HV_LOCAL_GUEST_ID_BASE) % HV_LOCAL_GUEST_ID_COUNT
                         : h;
        }
    }
    snprintf(path, sizeof(path), "/proc/%ld/stat", host_pid);
    if (slurp(path, buf, sizeof(buf)) < 0)
        return -1;
    char *rp = strrchr(buf, ')'); /* the command name may hold anything but ends there */
    if (rp == NULL)
        return -1;
    /* fields from 3 (state): ppid 4, tty_nr 7, utime 14, stime 15, starttime 22 */
    long long f[23] = {0};
    int i = 3;
    for (char *tok = strtok(rp + 2, " "); tok && i <= 22; tok = strtok(NULL, " "), i++)
        f[i] = i == 3 ? 0 : atoll(tok);
    r->host_ppid = (long)f[4];
    r->tty = (long)f[7];
    r->cpu_ticks = f[14] + f[15];
    r->start_ticks = f[22];
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", host_pid);
    ssize_t n = slurp(path, buf, sizeof(buf));
    if (n > 0) {
        for (ssize_t k = 0; k < n - 1; k++)
            if (buf[k] == '\0')
                buf[k] = ' ';
        for (ssize_t k = 0; k < n; k++)
            if (buf[k] != '\0' && !isprint((unsigned char)buf[k]))
                buf[k] = '?';
        r->cmd = xstrdup(buf);
    } else { /* a kernel-less process without arguments: its name, as ps shows it */
        char comm[64] = "";
        snprintf(path, sizeof(path), "/proc/%ld/comm", host_pid);
        slurp(path, comm, sizeof(comm));
        comm[strcspn(comm, "\n")] = '\0';
        r->cmd = xasprintf("[%s]", comm);
    }
    return 0;
}

static int by_pid(const void *a, const void *b)
{
    long x = ((const proc_row *)a)->pid, y = ((const proc_row *)b)->pid;
    return x < y ? -1 : x > y;
}

int guestps_list(pid_t monitor, json_t **out, vic_err **err)
{
    *out = NULL;
    char ns[64];
    if (guest_ns(monitor, ns, sizeof(ns), NULL) < 0)
        return vic_err_set(err, VIC_ECONFLICT, "the VM runs no guest of its own to list");
    char buf[256];
    long long btime = 0;
    cleanup_free char *stat = xmalloc(65536);
    if (slurp("/proc/stat", stat, 65536) > 0) {
        char *b = strstr(stat, "\nbtime ");
        btime = b ? atoll(b + 7) : 0;
    }
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    DIR *d = opendir("/proc");
    if (d == NULL)
        return vic_err_sys(err, VIC_EIO, errno, "read /proc");
    size_t n = 0, cap = 16;
    proc_row *rows = xcalloc(cap, sizeof(*rows));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        long pid = atol(e->d_name);
        if (pidns_of(pid, buf, sizeof(buf)) < 0 || strcmp(buf, ns) != 0)
            continue;
        if (n == cap)
            rows = xrealloc(rows, (cap *= 2) * sizeof(*rows));
        if (read_row(pid, &rows[n]) == 0)
            n++;
    }
    closedir(d);
    qsort(rows, n, sizeof(*rows), by_pid);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        long ppid = 0; /* the parent as the guest sees it: 0 outside the guest */
        for (size_t j = 0; j < n; j++)
            if (rows[j].host_pid == rows[i].host_ppid)
                ppid = rows[j].pid;
        char tty[32] = "?";
        long major = (rows[i].tty >> 8) & 0xfff,
             minor = (rows[i].tty & 0xff) | ((rows[i].tty >> 12) & 0xfff00);
        if (rows[i].tty && major >= 136 && major <= 143)
            snprintf(tty, sizeof(tty), "pts/%ld", (major - 136) * 256 + minor);
        json_array_append_new(
            list, json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "pid", (json_int_t)rows[i].pid,
                            "ppid", (json_int_t)ppid, "uid", (json_int_t)rows[i].uid, "start_time",
                            (json_int_t)(btime + rows[i].start_ticks / hz), "cpu_ns",
                            (json_int_t)(rows[i].cpu_ticks * (1000000000LL / hz)), "tty", tty,
                            "cmd", rows[i].cmd));
        free(rows[i].cmd);
    }
    free(rows);
    *out = list;
    return 0;
}

int guestps_signal(pid_t monitor, long guest_pid, int sig, vic_err **err)
{
    char ns[64], buf[64];
    if (guest_ns(monitor, ns, sizeof(ns), NULL) < 0)
        return vic_err_set(err, VIC_ECONFLICT, "the VM runs no guest of its own to signal");
    DIR *d = opendir("/proc");
    if (d == NULL)
        return vic_err_sys(err, VIC_EIO, errno, "read /proc");
    long host = 0;
    struct dirent *e;
    while (host == 0 && (e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        long pid = atol(e->d_name);
        proc_row r;
        if (pidns_of(pid, buf, sizeof(buf)) < 0 || strcmp(buf, ns) != 0 || read_row(pid, &r) < 0)
            continue;
        if (r.pid == guest_pid)
            host = pid;
        free(r.cmd);
    }
    closedir(d);
    if (host == 0)
        return vic_err_set(err, VIC_ENOTFOUND, "the guest has no process %ld", guest_pid);
    if (kill((pid_t)host, sig) < 0)
        return vic_err_sys(err, errno == ESRCH ? VIC_ENOTFOUND : VIC_EIO, errno,
                           "signal %d to the guest's process %ld", sig, guest_pid);
    return 0;
}

json_t *guestps_parse_net_dev(const char *text)
{
    static const char *const names[] = {"rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
                                        NULL,       NULL,         NULL,        NULL,
                                        "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"};
    json_t *out = json_object();
    const char *line = text;
    for (int row = 0; line && *line; row++) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[512];
        snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1), line);
        line = end ? end + 1 : NULL;
        char *colon = strchr(buf, ':');
        if (row < 2 || colon == NULL) /* the two header lines */
            continue;
        *colon = '\0';
        char *name = buf + strspn(buf, " \t");
        if (*name == '\0' || strcmp(name, "lo") == 0)
            continue;
        json_t *nic = json_object();
        char *p = colon + 1;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            char *next = NULL;
            unsigned long long v = strtoull(p, &next, 10);
            if (next == p)
                break;
            p = next;
            if (names[i])
                json_object_set_new(nic, names[i], json_integer((json_int_t)v));
        }
        json_object_set_new(out, name, nic);
    }
    return out;
}

int guestps_usage(pid_t monitor, json_t **out, vic_err **err)
{
    *out = NULL;
    char ns[64], buf[64];
    long init = 0;
    if (guest_ns(monitor, ns, sizeof(ns), &init) < 0)
        return vic_err_set(err, VIC_ECONFLICT, "the VM runs no guest of its own");
    DIR *d = opendir("/proc");
    if (d == NULL)
        return vic_err_sys(err, VIC_EIO, errno, "read /proc");
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (isdigit((unsigned char)e->d_name[0]) &&
            pidns_of(atol(e->d_name), buf, sizeof(buf)) == 0 && strcmp(buf, ns) == 0)
            n++;
    }
    closedir(d);
    /* the guest's network namespace, as its PID 1 sees it */
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/net/dev", init);
    cleanup_free char *dev = xmalloc(65536);
    json_t *nics = slurp(path, dev, 65536) > 0 ? guestps_parse_net_dev(dev) : json_object();
    *out = json_pack("{s:I, s:I, s:o}", "pid", (json_int_t)init, "processes", (json_int_t)n, "nics",
                     nics);
    return 0;
}
