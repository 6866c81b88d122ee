#include "hypervisor/local/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
            if (vic_mkdir_p(base, 0755) == 0) {
                snprintf(sub, sizeof(sub), "%s/cgroup.subtree_control", base);
                if (write_file(sub, "+cpu +memory") == 0) {
                    h->version = 2;
                    snprintf(h->cpu_base, sizeof(h->cpu_base), "%s", base);
                    snprintf(h->mem_base, sizeof(h->mem_base), "%s", base);
                    return;
                }
            }
        }
    }
    /* cgroup v1: one hierarchy per controller */
    char cpu[512], mem[512];
    snprintf(cpu, sizeof(cpu), "/sys/fs/cgroup/cpu/vic-c-%s", tag);
    snprintf(mem, sizeof(mem), "/sys/fs/cgroup/memory/vic-c-%s", tag);
    int ec =
        access("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", F_OK) == 0 ? vic_mkdir_p(cpu, 0755) : -ENOENT;
    int em = access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0
                 ? vic_mkdir_p(mem, 0755)
                 : -ENOENT;
    if (ec == 0)
        snprintf(h->cpu_base, sizeof(h->cpu_base), "%s", cpu);
    else
        snprintf(h->cpu_reason, sizeof(h->cpu_reason), "no writable cpu cgroup (%s)",
                 strerror(-ec));
    if (em == 0)
        snprintf(h->mem_base, sizeof(h->mem_base), "%s", mem);
    else
        snprintf(h->mem_reason, sizeof(h->mem_reason), "no writable memory cgroup (%s)",
                 strerror(-em));
    h->version = ec == 0 || em == 0 ? 1 : 0;
    /* CPU time: cpuacct, mounted with cpu or in a hierarchy of its own */
    if (ec == 0 && access("/sys/fs/cgroup/cpu/cpuacct.usage", F_OK) == 0) {
        snprintf(h->acct_base, sizeof(h->acct_base), "%s", cpu);
    } else if (access("/sys/fs/cgroup/cpuacct/cpuacct.usage", F_OK) == 0) {
        char acct[512];
        snprintf(acct, sizeof(acct), "/sys/fs/cgroup/cpuacct/vic-c-%s", tag);
        if (vic_mkdir_p(acct, 0755) == 0)
            snprintf(h->acct_base, sizeof(h->acct_base), "%s", acct);
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
    if (h->cpu_base[0] == '\0') {
        snprintf(info->cpu_enforcement, sizeof(info->cpu_enforcement), "not enforced: %.140s",
                 h->cpu_reason);
    } else {
        path_of(dir, sizeof(dir), h->cpu_base, rel, NULL);
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
    if (h->mem_base[0] == '\0') {
        snprintf(info->memory_enforcement, sizeof(info->memory_enforcement), "not enforced: %.140s",
                 h->mem_reason);
        return;
    }
    path_of(dir, sizeof(dir), h->mem_base, rel, NULL);
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
    if (h->cpu_base[0]) {
        path_of(dir, sizeof(dir), h->cpu_base, rel, NULL);
        rmdir(dir);
    }
    if (h->mem_base[0] && strcmp(h->mem_base, h->cpu_base) != 0) {
        path_of(dir, sizeof(dir), h->mem_base, rel, NULL);
        rmdir(dir);
    }
    if (h->acct_base[0] && strcmp(h->acct_base, h->cpu_base) != 0) {
        path_of(dir, sizeof(dir), h->acct_base, rel, NULL);
        rmdir(dir);
    }
}

int cg_vm_enter(const cg_host *h, const char *pool_rel, const char *vm, pid_t pid)
{
    char dir[1024], file[1100], val[32];
    int entered = 0;
    snprintf(val, sizeof(val), "%ld", (long)pid);
    const char *bases[3] = {h->cpu_base, h->mem_base, h->acct_base};
    for (int i = 0; i < 3; i++) {
        if (bases[i][0] == '\0' || (i >= 1 && strcmp(bases[0], bases[i]) == 0))
            continue;
        path_of(dir, sizeof(dir), bases[i], pool_rel, vm);
        snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
        if (vic_mkdir_p(dir, 0755) == 0 && write_file(file, val) == 0)
            entered++;
    }
    return entered ? 0 : -1;
}

void cg_vm_remove(const cg_host *h, const char *pool_rel, const char *vm)
{
    char dir[1024];
    const char *bases[3] = {h->cpu_base, h->mem_base, h->acct_base};
    for (int i = 0; i < 3; i++) {
        if (bases[i][0] == '\0')
            continue;
        path_of(dir, sizeof(dir), bases[i], pool_rel, vm);
        rmdir(dir);
    }
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

void cg_vm_usage(const cg_host *h, const char *pool_rel, const char *vm, int64_t *cpu_ns,
                 int64_t *mem_bytes, int64_t *mem_limit)
{
    char dir[1024], file[1100];
    *cpu_ns = *mem_bytes = *mem_limit = 0;
    if (h->cpu_base[0]) {
        path_of(dir, sizeof(dir), h->cpu_base, pool_rel, vm);
        if (h->version == 2) {
            snprintf(file, sizeof(file), "%s/cpu.stat", dir);
            *cpu_ns = read_num(file, "usage_usec") * 1000;
        }
    }
    if (h->version == 1 && h->acct_base[0]) {
        path_of(dir, sizeof(dir), h->acct_base, pool_rel, vm);
        snprintf(file, sizeof(file), "%s/cpuacct.usage", dir);
        *cpu_ns = read_num(file, NULL);
    }
    if (h->mem_base[0]) {
        path_of(dir, sizeof(dir), h->mem_base, pool_rel, vm);
        snprintf(file, sizeof(file), "%s/%s", dir,
                 h->version == 2 ? "memory.current" : "memory.usage_in_bytes");
        *mem_bytes = read_num(file, NULL);
        /* the VM's own directory has no limit: its pool's does */
        char pool_dir[1024];
        path_of(pool_dir, sizeof(pool_dir), h->mem_base, pool_rel, NULL);
        snprintf(file, sizeof(file), "%s/%s", pool_dir,
                 h->version == 2 ? "memory.max" : "memory.limit_in_bytes");
        *mem_limit = read_num(file, NULL);
        if (*mem_limit > (1LL << 50)) /* v1's "unlimited" */
            *mem_limit = 0;
    }
}
