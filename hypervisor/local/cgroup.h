/*
 * cgroup.h - resource pool limits on the local host, through whatever cgroup tree the host
 * lets us write: cgroup v2 (cpu.max, memory.max) when its cpu and memory controllers are
 * available, else cgroup v1 (cpu.cfs_quota_us, memory.limit_in_bytes), else nothing, and then
 * every pool says so. A pool is a directory; a running VM a child directory of its pool.
 */
#ifndef VIC_LOCAL_CGROUP_H
#define VIC_LOCAL_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

#include "hypervisor/hv.h"

typedef struct cg_host {
    int version;          /* 2, 1, or 0 when neither is writable */
    char cpu_base[512];   /* our subtree of the cpu controller ("" when unusable) */
    char mem_base[512];   /* our subtree of the memory controller */
    char acct_base[512];  /* v1: our subtree of cpuacct, for CPU time ("" when unusable) */
    char cpu_reason[160]; /* why cpu limits are not enforced, "" when they are */
    char mem_reason[160];
    double mhz_per_cpu; /* to turn MHz limits into CPU time */
} cg_host;

/* A short name for the subtree of one $VIC_HOME (a hash of its real path). */
void cg_tag(char out[17], const char *home);

/* Finds a writable cgroup tree; tag names our subtree (one per $VIC_HOME). Never fails:
 * what cannot be used is recorded in the reasons. */
void cg_detect(cg_host *h, const char *tag);

/* Creates or updates the pool's cgroup (rel: the pool path below the root pool, "" for the
 * root) and fills the enforcement strings of info. */
void cg_pool_apply(const cg_host *h, const char *rel, const hv_pool_spec *spec, hv_pool_info *info);

void cg_pool_remove(const cg_host *h, const char *rel);

/* Moves pid into a cgroup for the VM under its pool. Returns 0, or -1 when not enforced. */
int cg_vm_enter(const cg_host *h, const char *pool_rel, const char *vm, pid_t pid);

void cg_vm_remove(const cg_host *h, const char *pool_rel, const char *vm);

/* The VM's CPU time (ns) and memory use and limit (bytes) from its cgroup; each 0 when the
 * host does not account it. */
void cg_vm_usage(const cg_host *h, const char *pool_rel, const char *vm, int64_t *cpu_ns,
                 int64_t *mem_bytes, int64_t *mem_limit);

#endif
