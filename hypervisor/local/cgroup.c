#include "hypervisor/local/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"

static int write_file(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, value, strlen(value));
    int e = n < 0 ? errno : 0;
    close(fd);
    return n < 0 ? -e : 0;
}

static double host_mhz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    double mhz = 0;
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "cpu MHz", 7) == 0 && sscanf(strchr(line, ':') + 1, "%lf", &mhz) == 1)
            break;
    if (f)
        fclose(f);
    return mhz > 100 ? mhz : 2000;
}

static int has_word(const char *file, const char *word)
{
    FILE *f = fopen(file, "re");
    char buf[512] = "";
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n"))
        if (strcmp(t, word) == 0)
            return 1;
    return 0;
}

void cg_tag(char out[17], const char *home)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: a name, not a secret */
    for (const unsigned char *p = (const unsigned char *)home; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* The v1 controllers a VM uses, by the directory each is mounted at. */
static const char *const v1_dirs[CG_N] = {"cpu", "memory", "cpuacct", "pids", "freezer", "blkio"};
static const char *const v1_probe[CG_N] = {"cpu.cfs_quota_us", "memory.limit_in_bytes",
                                           "cpuacct.usage",    "cgroup.procs",
                                           "cgroup.procs",     "blkio.throttle.io_service_bytes"};

void cg_detect(cg_host *h, const char *tag)
{
    memset(h, 0, sizeof(*h));
    h->mhz_per_cpu = host_mhz();
    /* cgroup v2, mounted alone or as the "unified" part of a hybrid layout */
    const char *v2roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
    for (size_t i = 0; i < 2; i++) {
        char ctl[600];
        snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", v2roots[i]);
        if (has_word(ctl, "cpu") && has_word(ctl, "memory")) {
            char base[512];
            snprintf(base, sizeof(base), "%s/vic-c-%s", v2roots[i], tag);
            char sub[600];
            snprintf(sub, sizeof(sub), "%s/cgroup.subtree_control", v2roots[i]);
            write_file(sub, "+cpu +memory");
            write_file(sub, "+pids"); /* each optional: the host may lack it */
            write_file(sub, "+io");
            if (vic_mkdir_p(base, 0755) == 0) {
                snprintf(sub, sizeof(sub), "%s/cgroup.subtree_control", base);
                if (write_file(sub, "+cpu +memory") == 0) {
                    write_file(sub, "+pids");
                    write_file(sub, "+io");
                    h->version = 2;
                    snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", base);
                    int has[CG_N] = {1, 1, 1, has_word(ctl, "pids"), 1, has_word(ctl, "io")};
                    snprintf(sub, sizeof(sub), "%s/cgroup.freeze", base);
                    has[CG_FREEZER] = access(sub, F_OK) == 0;
                    for (int c = 0; c < CG_N; c++)
                        if (has[c])
                            snprintf(h->base[c], sizeof(h->base[c]), "%s", base);
                    return;
                }
            }
        }
    }
    /* cgroup v1: one hierarchy per controller (cpu and cpuacct may share one) */
    int errs[CG_N];
    for (int c = 0; c < CG_N; c++) {
        char probe[600], dir[512];
        snprintf(probe, sizeof(probe), "/sys/fs/cgroup/%s/%s", v1_dirs[c], v1_probe[c]);
        snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s/vic-c-%s", v1_dirs[c], tag);
        if (c == CG_ACCT && h->base[CG_CPU][0] &&
            access("/sys/fs/cgroup/cpu/cpuacct.usage", F_OK) == 0) {
            snprintf(h->base[c], sizeof(h->base[c]), "%s", h->base[CG_CPU]);
            errs[c] = 0;
            continue;
        }
        errs[c] = access(probe, F_OK) == 0 ? vic_mkdir_p(dir, 0755) : -ENOENT;
        if (errs[c] == 0)
            snprintf(h->base[c], sizeof(h->base[c]), "%s", dir);
    }
    if (errs[CG_CPU] < 0)
        snprintf(h->cpu_reason, sizeof(h->cpu_reason), "no writable cpu cgroup (%s)",
                 strerror(-errs[CG_CPU]));
    if (errs[CG_MEM] < 0)
        snprintf(h->mem_reason, sizeof(h->mem_reason), "no writable memory cgroup (%s)",
                 strerror(-errs[CG_MEM]));
    h->version = errs[CG_CPU] == 0 || errs[CG_MEM] == 0 ? 1 : 0;
}

cg_vm_limits cg_limits_of(int cpus, int64_t memory_mb, const hv_vm_limits *l)
{
    return (cg_vm_limits){.memory_bytes = memory_mb * 1024 * 1024,
                          .cpu_millis = l->cpu_millis ? l->cpu_millis : (int64_t)cpus * 1000,
                          .cpu_shares = l->cpu_shares,
                          .pids = l->pids};
}

void cg_unenforced(const cg_host *h, char *out, size_t cap)
{
    static const char *const what[CG_N] = {"CPU limits and shares", "memory limits", NULL,
                                           "process limits",        "pause",         NULL};
    size_t n = 0;
    out[0] = '\0';
    for (int c = 0; c < CG_N; c++) {
        if (what[c] == NULL || h->base[c][0])
            continue;
        int w = snprintf(out + n, cap - n, "%s%s (no writable %s cgroup)", n ? ", " : "", what[c],
                         c == CG_FREEZER ? "freezer" : v1_dirs[c]);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
}

static void path_of(char *out, size_t cap, const char *base, const char *rel, const char *vm)
{
    snprintf(out, cap, "%s%s%s%s%s", base, *rel ? "/" : "", rel, vm ? "/vm-" : "", vm ? vm : "");
}

static int cpu_shares(const char *s, int v2)
{
    int v = 0;
    if (s == NULL || *s == '\0' || strcmp(s, "normal") == 0)
        v = 1000;
    else if (strcmp(s, "low") == 0)
        v = 500;
    else if (strcmp(s, "high") == 0)
        v = 2000;
    else
        v = atoi(s);
    if (v2) { /* cpu.weight is 1..10000 with 100 the default: scale normal (1000) to 100 */
        v /= 10;
        return v < 1 ? 1 : v > 10000 ? 10000 : v;
    }
    return v < 2 ? 2 : v;
}

void cg_pool_apply(const cg_host *h, const char *rel, const hv_pool_spec *spec, hv_pool_info *info)
{
    char dir[1024], file[1100], val[64];
    int v2 = h->version == 2;
    const char *how = v2 ? "cgroup v2" : "cgroup v1";
    const char *resv = "";
    if (h->base[CG_CPU][0] == '\0') {
        snprintf(info->cpu_enforcement, sizeof(info->cpu_enforcement), "not enforced: %.140s",
                 h->cpu_reason);
    } else {
        path_of(dir, sizeof(dir), h->base[CG_CPU], rel, NULL);
        int e = vic_mkdir_p(dir, 0755);
        long period = 100000;
        long quota = spec->cpu.limit > 0
                         ? (long)((double)spec->cpu.limit / h->mhz_per_cpu * (double)period)
                         : -1;
        if (quota > 0 && quota < 1000)
            quota = 1000;
        if (e == 0 && v2) {
            if (quota > 0)
                snprintf(val, sizeof(val), "%ld %ld", quota, period);
            else
                snprintf(val, sizeof(val), "max %ld", period);
            snprintf(file, sizeof(file), "%s/cpu.max", dir);
            e = write_file(file, val);
            snprintf(val, sizeof(val), "%d", cpu_shares(spec->cpu.shares, 1));
            snprintf(file, sizeof(file), "%s/cpu.weight", dir);
            if (e == 0)
                e = write_file(file, val);
        } else if (e == 0) {
            snprintf(val, sizeof(val), "%ld", quota);
            snprintf(file, sizeof(file), "%s/cpu.cfs_quota_us", dir);
            e = write_file(file, val);
            snprintf(val, sizeof(val), "%d", cpu_shares(spec->cpu.shares, 0));
            snprintf(file, sizeof(file), "%s/cpu.shares", dir);
            if (e == 0)
                e = write_file(file, val);
        }
        resv = spec->cpu.reservation > 0 ? "; reservation not enforced (no cgroup equivalent)" : "";
        if (e < 0)
            snprintf(info->cpu_enforcement, sizeof(info->cpu_enforcement),
                     "not enforced: cannot write %.80s: %.40s", file, strerror(-e));
        else
            snprintf(info->cpu_enforcement, sizeof(info->cpu_enforcement),
                     "enforced (%s, %.0f MHz per CPU)%s", how, h->mhz_per_cpu, resv);
    }
    if (h->base[CG_MEM][0] == '\0') {
        snprintf(info->memory_enforcement, sizeof(info->memory_enforcement), "not enforced: %.140s",
                 h->mem_reason);
        return;
    }
    path_of(dir, sizeof(dir), h->base[CG_MEM], rel, NULL);
    int e = vic_mkdir_p(dir, 0755);
    if (spec->memory.limit > 0)
        snprintf(val, sizeof(val), "%lld", (long long)spec->memory.limit * 1024 * 1024);
    else
        snprintf(val, sizeof(val), v2 ? "max" : "-1");
    snprintf(file, sizeof(file), "%s/%s", dir, v2 ? "memory.max" : "memory.limit_in_bytes");
    if (e == 0)
        e = write_file(file, val);
    if (e == 0 && spec->memory.reservation > 0) {
        snprintf(val, sizeof(val), "%lld", (long long)spec->memory.reservation * 1024 * 1024);
        snprintf(file, sizeof(file), "%s/%s", dir,
                 v2 ? "memory.min" : "memory.soft_limit_in_bytes");
        e = write_file(file, val);
    }
    if (e < 0)
        snprintf(info->memory_enforcement, sizeof(info->memory_enforcement),
                 "not enforced: cannot write %.80s: %.40s", file, strerror(-e));
    else
        snprintf(info->memory_enforcement, sizeof(info->memory_enforcement), "enforced (%s%s)", how,
                 spec->memory.reservation > 0 && !v2 ? "; reservation as a soft limit" : "");
}

void cg_pool_remove(const cg_host *h, const char *rel)
{
    char dir[1024];
    for (int c = 0; c < CG_N; c++) {
        if (h->base[c][0] == '\0')
            continue;
        path_of(dir, sizeof(dir), h->base[c], rel, NULL);
        rmdir(dir); /* a shared tree's directory goes the first time; the rest fail harmlessly */
    }
}

/* Each distinct controller tree once (v2 and a shared cpu,cpuacct mount give the same base
 * for several controllers): 1 when base c is the first holder of its path. */
static int first_of(const cg_host *h, int c)
{
    if (h->base[c][0] == '\0')
        return 0;
    for (int d = 0; d < c; d++)
        if (strcmp(h->base[c], h->base[d]) == 0)
            return 0;
    return 1;
}

/* Writes value to FILE in the VM's directory of controller c, which is made when missing. */
static int vm_write(const cg_host *h, int c, const char *pool_rel, const char *vm, const char *file,
                    const char *value)
{
    char dir[1024], path[1100];
    path_of(dir, sizeof(dir), h->base[c], pool_rel, vm);
    int e = vic_mkdir_p(dir, 0755);
    if (e < 0)
        return e;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return write_file(path, value);
}

int cg_vm_apply(const cg_host *h, const char *pool_rel, const char *vm, const cg_vm_limits *l,
                char *why, size_t cap)
{
    int v2 = h->version == 2;
    char val[64];
    int e = 0;
    const char *what = "";
    if (h->base[CG_MEM][0]) {
        if (l->memory_bytes > 0)
            snprintf(val, sizeof(val), "%lld", (long long)l->memory_bytes);
        else
            snprintf(val, sizeof(val), "%s", v2 ? "max" : "-1");
        what = "the memory limit";
        if (v2) {
            e = vm_write(h, CG_MEM, pool_rel, vm, "memory.max", val);
            if (e == 0) /* a VM has no swap */
                vm_write(h, CG_MEM, pool_rel, vm, "memory.swap.max", l->memory_bytes ? "0" : "max");
        } else {
            /* v1 keeps memory <= memory+swap: raise the pair in the order that keeps it */
            char cur[1100], dir[1024];
            path_of(dir, sizeof(dir), h->base[CG_MEM], pool_rel, vm);
            snprintf(cur, sizeof(cur), "%s/memory.memsw.limit_in_bytes", dir);
            int swap = access(cur, F_OK) == 0;
            e = vm_write(h, CG_MEM, pool_rel, vm, "memory.limit_in_bytes", val);
            if (swap) {
                int e2 = vm_write(h, CG_MEM, pool_rel, vm, "memory.memsw.limit_in_bytes", val);
                if (e < 0 && e2 == 0)
                    e = vm_write(h, CG_MEM, pool_rel, vm, "memory.limit_in_bytes", val);
            }
        }
    }
    if (e == 0 && h->base[CG_CPU][0]) {
        long period = 100000;
        long quota = l->cpu_millis > 0 ? (long)(l->cpu_millis * period / 1000) : -1;
        if (quota > 0 && quota < 1000)
            quota = 1000; /* the kernel's least */
        what = "the CPU limit";
        if (v2) {
            if (quota > 0)
                snprintf(val, sizeof(val), "%ld %ld", quota, period);
            else
                snprintf(val, sizeof(val), "max %ld", period);
            e = vm_write(h, CG_CPU, pool_rel, vm, "cpu.max", val);
        } else {
            snprintf(val, sizeof(val), "%ld", quota);
            e = vm_write(h, CG_CPU, pool_rel, vm, "cpu.cfs_quota_us", val);
            /* v1 refuses a quota above the pool's own: the pool's, smaller, binds the VM */
            if (e == -EINVAL && quota > 0)
                e = vm_write(h, CG_CPU, pool_rel, vm, "cpu.cfs_quota_us", "-1");
        }
        int shares = l->cpu_shares > 0 ? l->cpu_shares : 1024;
        if (e == 0) {
            what = "the CPU shares";
            if (v2) { /* Docker's conversion of shares (2..262144) to weight (1..10000) */
                long w = 1 + ((long)(shares < 2 ? 2 : shares) - 2) * 9999 / 262142;
                snprintf(val, sizeof(val), "%ld", w);
                e = vm_write(h, CG_CPU, pool_rel, vm, "cpu.weight", val);
            } else {
                snprintf(val, sizeof(val), "%d", shares < 2 ? 2 : shares);
                e = vm_write(h, CG_CPU, pool_rel, vm, "cpu.shares", val);
            }
        }
    }
    if (e == 0 && h->base[CG_PIDS][0]) {
        what = "the process limit";
        if (l->pids > 0)
            snprintf(val, sizeof(val), "%lld", (long long)l->pids);
        else
            snprintf(val, sizeof(val), "max");
        e = vm_write(h, CG_PIDS, pool_rel, vm, "pids.max", val);
    }
    for (int c = 0; e == 0 && c < CG_N; c++) /* the rest exist before the guest enters */
        if (first_of(h, c)) {
            char dir[1024];
            path_of(dir, sizeof(dir), h->base[c], pool_rel, vm);
            e = vic_mkdir_p(dir, 0755);
            what = "the VM's cgroup";
        }
    if (e < 0 && why)
        snprintf(why, cap, "cannot set %s: %s", what,
                 e == -EBUSY ? "the VM uses more than that now" : strerror(-e));
    return e;
}

int cg_vm_enter(const cg_host *h, const char *pool_rel, const char *vm, pid_t pid)
{
    char dir[1024], file[1100], val[32];
    int entered = 0;
    snprintf(val, sizeof(val), "%ld", (long)pid);
    for (int c = 0; c < CG_N; c++) {
        if (!first_of(h, c))
            continue;
        path_of(dir, sizeof(dir), h->base[c], pool_rel, vm);
        snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
        if (vic_mkdir_p(dir, 0755) == 0 && write_file(file, val) == 0)
            entered++;
    }
    return entered ? 0 : -1;
}

void cg_vm_remove(const cg_host *h, const char *pool_rel, const char *vm)
{
    char dir[1024];
    for (int c = 0; c < CG_N; c++) {
        if (!first_of(h, c))
            continue;
        path_of(dir, sizeof(dir), h->base[c], pool_rel, vm);
        rmdir(dir);
    }
}

/* The freezer's state: v1's freezer.state word, or v2's cgroup.events "frozen" line. */
static int frozen_now(const cg_host *h, const char *dir)
{
    char path[1100], buf[256] = "";
    snprintf(path, sizeof(path), "%s/%s", dir, h->version == 2 ? "cgroup.events" : "freezer.state");
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (h->version == 2)
        return strstr(buf, "frozen 1") != NULL;
    return strncmp(buf, "FROZEN", 6) == 0;
}

int cg_vm_freeze(const cg_host *h, const char *pool_rel, const char *vm, int on)
{
    if (h->base[CG_FREEZER][0] == '\0')
        return -ENOTSUP;
    char dir[1024], path[1100];
    path_of(dir, sizeof(dir), h->base[CG_FREEZER], pool_rel, vm);
    snprintf(path, sizeof(path), "%s/%s", dir, h->version == 2 ? "cgroup.freeze" : "freezer.state");
    const char *val = h->version == 2 ? (on ? "1" : "0") : (on ? "FROZEN" : "THAWED");
    /* v1 may stay FREEZING while a task is in an uninterruptible sleep: ask again, as runc
     * does, for up to five seconds */
    for (int i = 0; i < 5000; i++) {
        int e = write_file(path, val);
        if (e < 0)
            return e;
        int st = frozen_now(h, dir);
        if (st < 0)
            return -errno;
        if (st == on)
            return 0;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    if (on) /* never half frozen */
        write_file(path, h->version == 2 ? "0" : "THAWED");
    return -EAGAIN;
}

int cg_vm_frozen(const cg_host *h, const char *pool_rel, const char *vm)
{
    if (h->base[CG_FREEZER][0] == '\0')
        return 0;
    char dir[1024];
    path_of(dir, sizeof(dir), h->base[CG_FREEZER], pool_rel, vm);
    return frozen_now(h, dir) == 1;
}

/* The first integer of a file, or of the line starting with key in it; 0 when absent. */
static int64_t read_num(const char *path, const char *key)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    char line[256];
    int64_t v = 0;
    while (fgets(line, sizeof(line), f)) {
        if (key == NULL) {
            v = strtoll(line, NULL, 10);
            break;
        }
        size_t n = strlen(key);
        if (strncmp(line, key, n) == 0 && line[n] == ' ') {
            v = strtoll(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Block IO bytes read and written: v1's "MAJ:MIN Read N" lines of
 * blkio.throttle.io_service_bytes, v2's "MAJ:MIN rbytes=N wbytes=N ..." lines of io.stat. */
static void read_io(const cg_host *h, const char *dir, int64_t *rd, int64_t *wr)
{
    char path[1100], line[512];
    snprintf(path, sizeof(path), "%s/%s", dir,
             h->version == 2 ? "io.stat" : "blkio.throttle.io_service_bytes");
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f)) {
        char op[16];
        long long v = 0;
        if (h->version == 2) {
            const char *r = strstr(line, "rbytes="), *w = strstr(line, "wbytes=");
            if (r)
                *rd += strtoll(r + 7, NULL, 10);
            if (w)
                *wr += strtoll(w + 7, NULL, 10);
        } else if (sscanf(line, "%*u:%*u %15s %lld", op, &v) == 2) {
            if (strcmp(op, "Read") == 0)
                *rd += v;
            else if (strcmp(op, "Write") == 0)
                *wr += v;
        }
    }
    fclose(f);
}

/* v1's "unlimited" is the largest page-aligned int64; v2 writes "max" (read as 0). */
static int64_t limit_of(int64_t v)
{
    return v > (1LL << 50) ? 0 : v;
}

void cg_vm_stats_read(const cg_host *h, const char *pool_rel, const char *vm, cg_vm_stats *out)
{
    char dir[1024], file[1100];
    int v2 = h->version == 2;
    memset(out, 0, sizeof(*out));
    if (h->base[CG_ACCT][0] || (v2 && h->base[CG_CPU][0])) {
        path_of(dir, sizeof(dir), h->base[v2 ? CG_CPU : CG_ACCT], pool_rel, vm);
        snprintf(file, sizeof(file), "%s/%s", dir, v2 ? "cpu.stat" : "cpuacct.usage");
        out->cpu_ns = v2 ? read_num(file, "usage_usec") * 1000 : read_num(file, NULL);
    }
    if (h->base[CG_MEM][0]) {
        path_of(dir, sizeof(dir), h->base[CG_MEM], pool_rel, vm);
        snprintf(file, sizeof(file), "%s/%s", dir, v2 ? "memory.current" : "memory.usage_in_bytes");
        out->memory_bytes = read_num(file, NULL);
        snprintf(file, sizeof(file), "%s/%s", dir, v2 ? "memory.max" : "memory.limit_in_bytes");
        out->memory_limit = limit_of(read_num(file, NULL));
        snprintf(file, sizeof(file), "%s/%s", dir, v2 ? "memory.events" : "memory.oom_control");
        out->oom_kills = read_num(file, "oom_kill");
        if (out->memory_limit == 0) { /* no limit of its own: its pool's */
            path_of(dir, sizeof(dir), h->base[CG_MEM], pool_rel, NULL);
            snprintf(file, sizeof(file), "%s/%s", dir, v2 ? "memory.max" : "memory.limit_in_bytes");
            out->memory_limit = limit_of(read_num(file, NULL));
        }
    }
    if (h->base[CG_PIDS][0]) {
        path_of(dir, sizeof(dir), h->base[CG_PIDS], pool_rel, vm);
        snprintf(file, sizeof(file), "%s/pids.current", dir);
        out->pids = read_num(file, NULL);
        snprintf(file, sizeof(file), "%s/pids.max", dir);
        out->pids_limit = read_num(file, NULL); /* "max" reads as 0 */
    }
    if (h->base[CG_BLKIO][0]) {
        path_of(dir, sizeof(dir), h->base[CG_BLKIO], pool_rel, vm);
        read_io(h, dir, &out->io_read_bytes, &out->io_write_bytes);
    }
}
