/*
 * cgroup.h - resource pools and VMs on the local host, through whatever cgroup tree the host
 * lets us write: cgroup v2 (cpu.max, memory.max, pids.max, cgroup.freeze) when its cpu and
 * memory controllers are available, else cgroup v1 (cpu.cfs_quota_us, memory.limit_in_bytes,
 * pids.max, freezer.state, each controller in its own tree), else nothing, and then every
 * pool says so. A pool is a directory; a running VM a child directory of its pool, holding
 * the VM's own limits (its memory size, CPU time, shares, processes) and its freezer.
 */
#ifndef VIC_LOCAL_CGROUP_H
#define VIC_LOCAL_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hypervisor/hv.h"

/* The controllers a VM's limits and accounting use; under cgroup v1 each has a tree of its
 * own, under v2 one tree holds them all. */
enum cg_ctl { CG_CPU, CG_MEM, CG_ACCT, CG_PIDS, CG_FREEZER, CG_BLKIO, CG_N };

typedef struct cg_host {
    int version;          /* 2, 1, or 0 when neither is writable */
    char base[CG_N][512]; /* our subtree of each controller ("" when unusable) */
    char cpu_reason[160]; /* why cpu limits are not enforced, "" when they are */
    char mem_reason[160];
    double mhz_per_cpu; /* to turn MHz limits into CPU time */
} cg_host;

/* A VM's own limits, within its pool's. 0 leaves a limit off. */
typedef struct cg_vm_limits {
    int64_t memory_bytes; /* the VM's memory: more is an out-of-memory kill, as in a VM */
    int64_t cpu_millis;   /* CPU time, thousandths of a CPU per wall-clock second */
    int cpu_shares;       /* relative weight, 2..262144 (1024 normal); 0: normal */
    int64_t pids;         /* processes and threads at once */
} cg_vm_limits;

/* What a VM's cgroup has counted since it was made (each 0 where not accounted). */
typedef struct cg_vm_stats {
    int64_t cpu_ns;
    int64_t memory_bytes;
    int64_t memory_limit;  /* its own limit, else its pool's; 0 for none */
    int64_t pids;          /* processes now */
    int64_t pids_limit;    /* 0 for none */
    int64_t io_read_bytes; /* block IO to devices */
    int64_t io_write_bytes;
    int64_t oom_kills; /* processes killed for want of memory */
} cg_vm_stats;

/* The cgroup limits of a VM of cpus and memory_mb with limits l: no more CPU time than its
 * vCPUs, no more memory than its size (0 for either: no limit). */
cg_vm_limits cg_limits_of(int cpus, int64_t memory_mb, const hv_vm_limits *l);

/* A short name for the subtree of one $VIC_HOME (a hash of its real path). */
void cg_tag(char out[17], const char *home);

/* Finds a writable cgroup tree; tag names our subtree (one per $VIC_HOME). Never fails:
 * what cannot be used is recorded in the reasons. */
void cg_detect(cg_host *h, const char *tag);

/* What of a VM's limits this host cannot enforce: "" when all, else a sentence naming each
 * ("memory limits (no writable memory cgroup)"). */
void cg_unenforced(const cg_host *h, char *out, size_t cap);

/* Creates or updates the pool's cgroup (rel: the pool path below the root pool, "" for the
 * root) and fills the enforcement strings of info. */
void cg_pool_apply(const cg_host *h, const char *rel, const hv_pool_spec *spec, hv_pool_info *info);

void cg_pool_remove(const cg_host *h, const char *rel);

/* Creates or updates the VM's cgroups under its pool with its limits. Returns 0, or -errno
 * with why naming the limit that could not be set (lowering memory below what the VM uses
 * is EBUSY). A controller the host lacks is skipped: cg_unenforced says so. */
int cg_vm_apply(const cg_host *h, const char *pool_rel, const char *vm, const cg_vm_limits *l,
                char *why, size_t cap);

/* Moves pid into the VM's cgroups. Returns 0, or -1 when not enforced. */
int cg_vm_enter(const cg_host *h, const char *pool_rel, const char *vm, pid_t pid);

void cg_vm_remove(const cg_host *h, const char *pool_rel, const char *vm);

/* Freezes (on) or thaws every process of the VM, and waits until the kernel has. Returns 0,
 * -ENOTSUP where the host has no freezer, or -errno. */
int cg_vm_freeze(const cg_host *h, const char *pool_rel, const char *vm, int on);

/* 1 when the VM's processes are frozen, 0 otherwise. */
int cg_vm_frozen(const cg_host *h, const char *pool_rel, const char *vm);

void cg_vm_stats_read(const cg_host *h, const char *pool_rel, const char *vm, cg_vm_stats *out);

#endif
