/*
 * local.h - internals shared by the local driver (local.c) and the VM monitor (monitor.c).
 */
#ifndef VIC_LOCAL_H
#define VIC_LOCAL_H

#include <jansson.h>
#include <stdint.h>

#include "hypervisor/hv.h"
#include "lib/err.h"

#define LOCAL_DATASTORE "datastore1"
#define LOCAL_DC        "/ha-datacenter"
#define LOCAL_COMPUTE   LOCAL_DC "/host/local"
#define LOCAL_ROOT_POOL LOCAL_COMPUTE "/Resources"

/* Keys of the .vmx that describe hardware and our bookkeeping, not extraConfig. */
#define VMX_POOL      "vic.pool"
#define VMX_VERSION   "vic.changeVersion"
#define VMX_ROOT_DISK "scsi0:0.fileName"
#define VMX_SERIAL    "serial0.fileName"
#define VMX_IDSHIFT   "vic.rootDisk.idShift"
#define VMX_CDROM     "ide1:0.fileName"
/* A VM's size and limits (hv_vm_limits); the limit keys are absent when off */
#define VMX_CPUS       "numvcpus"
#define VMX_MEMORY     "memsize"
#define VMX_CPU_SHARES "sched.cpu.shares"
#define VMX_CPU_MILLIS "vic.cpu.limitMillis"
#define VMX_PIDS       "vic.pids.max"
#define VMX_OOM_KILLS  "vic.oomKills" /* the monitor's count for the last power on */

/* The first line of a local appliance image: a VM whose CD-ROM is such a file boots the VCH
 * appliance (vic-init in the host's namespaces) instead of a containerVM (see hv.h). */
#define LOCAL_APPLIANCE_MAGIC "vic-local-appliance 1"

/* Host ids that guests run as: guest uid/gid 0..65535 map to GUEST_ID_BASE.. on the host. */
#define GUEST_ID_BASE  HV_LOCAL_GUEST_ID_BASE
#define GUEST_ID_COUNT HV_LOCAL_GUEST_ID_COUNT

/* 1 when key is a hardware or bookkeeping key rather than extraConfig. */
int local_key_reserved(const char *key);

/* 1 when name is a valid VM or pool name (letters, digits, '-', '_', '.'; not "." or ".."). */
int local_name_valid(const char *name);

/* Appends an event to $home/events.log. */
void local_event(const char *home, const char *type, const char *vm, const char *detail);

/* Resolves "[datastore1] a/b" (or "a/b") below the datastore root; refuses escapes. */
int local_ds_path(const char *ds_root, const char *ds_path, char **out, vic_err **err);

/* Takes an exclusive lock on the VM's configuration (vm.lock); returns the fd to close. */
int local_vm_lock(const char *vm_dir, vic_err **err);

/* 1 when the file at host_path is a local appliance image: its first line is exactly
 * LOCAL_APPLIANCE_MAGIC. 0 for any other file, and when it cannot be read. */
int local_appliance_image(const char *host_path);

/* The VM's size and limits as its configuration holds them (absent keys read as 0). */
void local_vm_size(const json_t *kv, int *cpus, int64_t *memory_mb, hv_vm_limits *limits);

/* Sets the size and limit keys of a VM's configuration. */
void local_vm_size_set(json_t *kv, int cpus, int64_t memory_mb, const hv_vm_limits *limits);

/* The pool's path below the root pool ("" for the root) from its inventory path. */
int local_pool_rel(const char *pool_path, const char **out, vic_err **err);

#endif
