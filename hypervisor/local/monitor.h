/*
 * monitor.h - vic-vmx, the process that owns a powered-on local VM (the "vmx").
 *
 * Started detached by power on, it holds the VM's monitor.lock for as long as the VM is on,
 * creates the guest (a namespace sandbox whose PID 1 is the tether), answers the guest's
 * guestinfo requests, and powers the VM off when the guest's PID 1 exits or when asked to
 * (SIGTERM carrying a grace period in milliseconds; SIGKILL to the guest after it).
 *
 * The guest: new user (guest ids 0..65535 are host ids 100000..), mount, pid, uts, ipc and
 * network namespaces; pivot_root into the VM's root disk; a minimal /dev (null, zero, full,
 * random, urandom, tty bound from the host); the tether bound read-only at /.tether/tether.
 * No host mount is reachable from inside. The guest dies with its monitor (parent-death
 * signal), so a killed monitor never leaves a guest running.
 *
 * The appliance: a VM whose CD-ROM is a local appliance image (LOCAL_APPLIANCE_MAGIC) boots
 * the VCH appliance instead: no root disk and no new namespaces; BIN_DIR/vic-init runs as the
 * host's root, in a session of its own, with the VM's folder as its working directory and the
 * same channels (fd 3 guestinfo, fd 4 serial log, fd 5 interactive). Power off sends it
 * SIGTERM and, after the grace period, SIGKILL to its process group; when it exits, whatever
 * is left of its process group is killed.
 */
#ifndef VIC_LOCAL_MONITOR_H
#define VIC_LOCAL_MONITOR_H

#include "lib/err.h"

typedef struct monitor_opts {
    const char *home;
    const char *bin_dir;
    const char *vm;
    int ready_fd; /* receives "ok" or "error <why>", then is closed; -1 for none */
} monitor_opts;

/* Runs the VM until it powers off; returns the process exit code. */
int monitor_run(const monitor_opts *o);

#endif
