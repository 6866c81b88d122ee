/*
 * containers.h - the port layer's containers: each a VM (hypervisor/hv.h) whose guestinfo
 * carries VIC's executor configuration (lib/execconfig.h) and whose PID 1 is the tether.
 *
 * The inventory is the only truth: nothing about a container is stored by the port layer.
 * Its state is derived from the VM's power state and the session's guestinfo keys, so a
 * restarted port layer finds every container again, with the same id, by listing the VMs of
 * its pool.
 *
 * Changes use handles (VIC's handle/commit): pl_handle_get() snapshots a container's
 * configuration and change version, the pl_handle_* calls edit the snapshot, and
 * pl_handle_commit() applies them in one reconfigure guarded by the change version (so of
 * two concurrent commits on one snapshot exactly one wins; the other gets VIC_ECONFLICT and
 * changes nothing), then the requested power state.
 */
#ifndef VIC_PL_CONTAINERS_H
#define VIC_PL_CONTAINERS_H

#include <jansson.h>
#include <stdbool.h>

#include "hypervisor/hv.h"
#include "lib/err.h"
#include "lib/execconfig.h"
#include "portlayer/layer.h"
#include "portlayer/logs.h"

typedef struct pl pl;
typedef struct pl_handle pl_handle;

typedef struct pl_opts {
    hv_conn *hv;            /* borrowed; outlives the port layer */
    const char *pool;       /* the VCH's resource pool path */
    const char *datastore;  /* where containerVM folders go ("datastore1") */
    unsigned stop_grace_ms; /* default grace of a stop (10 s) */
    const char *publish_ip; /* where published ports listen (the VCH's address); NULL: 127.0.0.1 */
    const char *bridge_pg;  /* the VCH's bridge port group (containers' NICs); NULL: "bridge" */
    /* How long a container started with the run block (pl_container_start_attach) may wait
     * with no attach held through this port layer before it is powered off, never having
     * run (its holder died: a port layer or Docker endpoint killed mid docker run).
     * 0: PL_ATTACH_GRACE_MS. */
    unsigned attach_grace_ms;
    bool no_watch_thread; /* tests: only pl_watch_run_blocks calls watch */
} pl_opts;

#define PL_ATTACH_GRACE_MS 10000

/* The error a container given up in its run block shows (inspect: state "created",
 * exit_code PL_RUN_ABANDONED_CODE, error this). */
#define PL_RUN_ABANDONED                                                                           \
    "not started: no client attached within the run block's grace (the port layer or the "         \
    "Docker endpoint restarted during docker run/start -a); start it again"
#define PL_RUN_ABANDONED_CODE 125

/* Opens the port layer of a pool. It sweeps what died half-way (creates) and watches, from a
 * thread of its own until pl_free, for run-blocked containers nobody attaches to (see
 * pl_opts.attach_grace_ms), which is how a restarted port layer releases the VMs whose
 * attach died with its predecessor. */
int pl_open(pl **out, const pl_opts *o, vic_err **err);
void pl_free(pl *p);

/* Fills dir (an empty directory, the container's root disk) from an image, with owners
 * written through ids (the VM's id range; count 0: kept); payload is the caller's. */
typedef int (*pl_rootfs_fn)(const char *dir, const pl_idmap *ids, void *payload, vic_err **err);

/* A volume mounted into a container: the volume's disk becomes one of the VM's disks, and
 * the tether mounts it at target. */
typedef struct pl_mount {
    const char *volume; /* the volume's name, recorded for inspect and "in use" checks */
    const char *disk;   /* its datastore path (pl_volume_disk) */
    const char *target; /* absolute path in the container */
    bool read_only;
} pl_mount;

#define PL_MAX_MOUNTS 15

/* A published port: connections (TCP) or datagrams (UDP) to host_ip:host_port reach the
 * container's port. */
typedef struct pl_port {
    const char *host_ip; /* NULL: the port layer's publish address (the VCH's) */
    int host_port;       /* 0: a free port, chosen at create */
    int container_port;
    bool udp;
} pl_port;

#define PL_MAX_PORTS 32

/* A network the container joins (portlayer/networks.h): the container gets a NIC on the
 * VCH's bridge port group in the network's segment and an address of its subnet. */
typedef struct pl_net_attach {
    const char *name;    /* the network's name */
    const char *id;      /* its id */
    const char *subnet;  /* "10.1.0.0/24" */
    const char *gateway; /* "10.1.0.1" */
    const char *ip;      /* a requested address, or NULL for the next free one */
    const char *const *aliases;
    size_t n_aliases;
} pl_net_attach;

#define PL_MAX_NETWORKS 4

#define PL_MAX_ANNOTATIONS 65536

typedef struct pl_create_spec {
    const char *name;       /* optional; a random one is chosen when NULL */
    const char *image;      /* the image reference, recorded for inspect */
    const char *image_id;   /* the image's id, recorded for inspect (image_id); may be NULL */
    const char *const *cmd; /* argv of the session (cmd[0] is the path) */
    size_t n_cmd;
    const char *const *env; /* "NAME=value" */
    size_t n_env;
    const char *workdir;
    const char *user;
    const char *hostname;
    const char *stop_signal;
    bool tty;
    bool interactive;       /* keep stdin open and wait for an attach before starting */
    int cpus;               /* 0: 1 (or what limits.cpu_millis needs) */
    int64_t memory_mb;      /* 0: 512; the VM's memory, which its guest cannot exceed */
    hv_vm_limits limits;    /* CPU time, shares and processes within the VM (0: none) */
    const pl_mount *mounts; /* at most PL_MAX_MOUNTS */
    size_t n_mounts;
    const pl_port *ports; /* at most PL_MAX_PORTS */
    size_t n_ports;
    const pl_net_attach *networks; /* at most PL_MAX_NETWORKS; none: only loopback */
    size_t n_networks;
    /* Confinement (lib/caps.h): the capabilities kept, comma-separated names ("" for none;
     * NULL: Docker's default set), no-new-privileges, and the default seccomp filter left
     * off. */
    const char *caps;
    bool no_new_privs;
    bool seccomp_unconfined;
    /* Docker's AutoRemove (docker run --rm): once a run of the container ends (or its start
     * fails) the port layer removes it, with its anonymous volumes (pl_autoremove_start). */
    bool auto_remove;
    /* The first network's NIC address (NULL: one made from its IP address, as every other
     * NIC's is: vic_mac_of_ip), where the hypervisor lets it be chosen (hv_caps.nic_mac;
     * elsewhere the hypervisor's, and a mac_address is VIC_EINVAL). */
    const char *mac_address;
    /* What the caller records with the container, {key: string}, at most PL_MAX_ANNOTATIONS
     * bytes as JSON; inspect returns it as given. NULL: none. */
    const json_t *annotations;
    /* Docker's RestartPolicy (docker run --restart), recorded as given: its Name ("no",
     * "always", "unless-stopped", "on-failure"; NULL or "": none) and MaximumRetryCount (only
     * with on-failure). The port layer follows it (pl_restart_sweep); with auto_remove it is
     * refused. */
    const char *restart_policy;
    int64_t restart_max;
    /* Docker's Healthcheck in the port layer's form (portlayer/health.h), checked and
     * recorded when it asks for a check (NULL, or a test of NONE: none); the port layer runs
     * it while the container runs (pl_health_start). */
    const json_t *healthcheck;
    pl_rootfs_fn rootfs; /* builds the root disk */
    void *rootfs_payload;
} pl_create_spec;

/* Creates a container (a powered-off VM) and writes its 64-hex-digit id into id_out.
 * VIC_ECONFLICT when the name is in use, VIC_EINVAL for a bad spec (the field named). */
int pl_container_create(pl *p, const pl_create_spec *spec, char id_out[65], vic_err **err);

/* The pool's VMs, as hv_vm_list lists them with their guestinfo.vice. keys (the
 * containers among them carry an id; one being created carries VIC_GI_PREFIX
 * "/vicc/creating"). New reference. */
int pl_container_vms(pl *p, json_t **out, vic_err **err);

/* Finds a container by full id, unique id prefix, or name. VIC_ENOTFOUND, or VIC_EINVAL for
 * an ambiguous prefix. */
int pl_container_find(pl *p, const char *ref, char id_out[65], vic_err **err);

/* The container as JSON: id, name, image, state ("created", "running", "paused" (running,
 * frozen by pl_container_pause), "exited", or
 * "restarting" while its restart policy's next run is due: not running, its VM off),
 * image_id (the image's id, "" when not recorded),
 * restarting, restart_policy {name, maximum_retry_count}, restart_count, exit_code, error,
 * created_at / started_at / finished_at (RFC 3339), auto_remove, healthcheck and health (with a
 * health check: portlayer/health.h, pl_health_describe), config {cmd,
 * env, workdir, user, tty, hostname}, mounts [{volume, target, mode}], ports [{host_ip, host_port,
 * container_port, protocol}], networks [{name, id, ip, prefix, gateway, aliases, mac}],
 * annotations (as created, {} for none), vm {name, power, change_version}, paused, and its
 * VM's size and limits: cpus, memory_mb, limits {cpu_millis, cpu_shares, pids} (0: none),
 * oom_killed (its last run ran out of memory). New reference. */
int pl_container_inspect(pl *p, const char *ref, json_t **out, vic_err **err);

/* Freezes (paused) or thaws a running container's VM (docker pause / unpause): its processes
 * stay where they are, running nothing, until it is thawed. VIC_ECONFLICT when it is not
 * running, already paused, or not paused; VIC_EUNSUPPORTED where the hypervisor cannot
 * freeze a guest. A paused container reads as paused: true in pl_container_inspect. */
int pl_container_pause(pl *p, const char *ref, bool paused, vic_err **err);

/* docker update: new limits for a container, applied at once to a running one. A field
 * left at -1 keeps its value (restart_policy: NULL keeps it). */
typedef struct pl_update {
    int64_t memory_mb;  /* > 0 */
    int64_t cpu_millis; /* 0: none (its vCPUs); more than its vCPUs adds vCPUs */
    int cpu_shares;     /* 0: normal */
    int64_t pids;       /* 0: none */
    const char *restart_policy;
    int64_t restart_max;
    const json_t *annotations; /* replaces the create's (pl_create_spec); NULL keeps them */
} pl_update;

/* Applies u. VIC_ECONFLICT when a running container uses more memory than the new size, or
 * when a restart policy is given to an auto-remove container; VIC_EINVAL for a bad value. */
int pl_container_update(pl *p, const char *ref, const pl_update *u, vic_err **err);

/* The host's process id of the running container's guest PID 1 (Docker's State.Pid), where
 * the hypervisor can tell (hv_vm_guest_usage); 0 otherwise. */
int64_t pl_container_guest_pid(pl *p, const char *ref);

/* Resource use of a container's VM: {id, running, time_ns, cpu_ns (CPU time since power
 * on), memory_bytes, memory_limit_bytes (0: unlimited or unknown), cpus, pids_limit (0: none),
 * io_read_bytes, io_write_bytes (block IO since power on)}, and while it runs,
 * where the hypervisor can tell (hv_vm_guest_usage), pids (how many processes its guest
 * runs) and networks ({ifname: {rx_bytes, rx_packets, rx_errors, rx_dropped, tx_bytes,
 * tx_packets, tx_errors, tx_dropped}}). */
int pl_container_stats(pl *p, const char *ref, json_t **out, vic_err **err);

/* The processes of the running container, as its VM's guest lists them (hv_vm_processes).
 * VIC_ECONFLICT when it is not running. */
int pl_container_top(pl *p, const char *ref, json_t **out, vic_err **err);

/* What the port layer's host is: {unenforced: the limits it accepts but cannot enforce, as a
 * sentence ("" for none: hv_vm_unenforced)}. New reference. */
json_t *pl_host_info(pl *p);

/* Every container of the pool, as an array of inspect objects; all == false keeps only the
 * running and restarting ones (as docker ps). The objects may be shared with other listings:
 * read-only. */
int pl_container_list(pl *p, bool all, json_t **out, vic_err **err);

int pl_container_start(pl *p, const char *ref, vic_err **err);

/* Starts with VIC's run block when attach is set: the session waits for a holder of the
 * interactive channel (pl_container_attach) to send READY before it runs, so that none of its
 * output is missed; the call then returns once the VM is on. Without attach it returns once
 * the session started. */
int pl_container_start_attach(pl *p, const char *ref, bool attach, vic_err **err);

/* Takes the running container's interactive channel: *fd speaks lib/attach.h frames. The
 * port layer counts the caller as the container's holder (its run block is not given up
 * while held) until pl_container_detach(p, *fd), which closes the fd. VIC_ECONFLICT while
 * the container is not running (yet), or when its run block was given up. */
int pl_container_attach(pl *p, const char *ref, int *fd, vic_err **err);

/* Ends a holder's attach: forgets it and closes fd. */
void pl_container_detach(pl *p, int fd);

/* One look of the run-block watch at time now_ms (CLOCK_MONOTONIC milliseconds): a
 * container that has been run-blocked (powered on, started with attach, its session not
 * reported started) with no holder for the grace is powered off with PL_RUN_ABANDONED as
 * its error. Returns how many were given up. The watch thread calls it about 4 times per
 * grace; exported for tests. */
int pl_watch_run_blocks(pl *p, int64_t now_ms);

/* Opens a channel that runs a new program in the running container (hv_vm_exec): *fd speaks
 * lib/attach.h frames, the caller's first an EXEC spec. VIC_ECONFLICT when not running. */
int pl_container_exec(pl *p, const char *ref, int *fd, vic_err **err);

/* Sends sig to the container: SIGKILL (9) powers its VM off at once; another signal goes to
 * the guest's init (hv_vm_signal), which hands it to the session. VIC_ECONFLICT when it is
 * not running. A container with a restart policy is marked stopped by the user first
 * (pl_restart_user_stop); one waiting for its restart is only marked, which cancels it. */
int pl_container_kill(pl *p, const char *ref, int sig, vic_err **err);

/* Asks the session to stop (its stop signal) and powers off after grace_ms (-1: default). A
 * container with a restart policy is marked stopped by the user first: its policy does not
 * start it again (a restart it was waiting for is cancelled). */
int pl_container_stop(pl *p, const char *ref, int grace_ms, vic_err **err);

/* Waits up to timeout_ms for the container to be off; *exit_code gets its status.
 * VIC_ETIMEOUT when it still runs. A container this port layer removed for auto_remove in the
 * last PL_GONE_KEEP_MS is found by its full id, with the status it exited with (a waiter that
 * looked while it ran learns how it ended). */
int pl_container_wait(pl *p, const char *ref, unsigned timeout_ms, int64_t *exit_code,
                      vic_err **err);

/* Removes a container: VIC_ECONFLICT while it runs or waits for its restart unless force
 * (then it is marked stopped by the user, so no restart powers it on, and powered off). */
int pl_container_remove(pl *p, const char *ref, bool force, vic_err **err);

/* ---- auto-remove (Docker's AutoRemove) ---- */

/* Called with the inspect object of each container removed for auto_remove, once it is gone
 * (the server removes its anonymous volumes). */
typedef void (*pl_removed_fn)(const json_t *container, void *payload);

/* How long the exit status of an auto-removed container stays known (pl_container_wait). */
#define PL_GONE_KEEP_MS (10 * 60 * 1000)

/* Whether the pool listing's VM is an auto-remove container whose run ended: powered off
 * after a start (its session reported a start, or why it could not start). Pure: exported for
 * tests. */
bool pl_autoremove_due(const json_t *vm);

/* Removes every auto-remove container whose run ended (pl_autoremove_due), calling fn (may be
 * NULL) for each. Returns how many were removed. The reaper calls it at its start (a container
 * that exited while no port layer ran) and after power-off events; exported for tests. */
int pl_autoremove_sweep(pl *p, pl_removed_fn fn, void *payload);

/* Starts the exit watcher, a thread of its own until pl_autoremove_stop or pl_free, which
 * serves both auto-remove and restart policies: it sweeps once (pl_restart_sweep with
 * at_start), then follows the hypervisor's events and sweeps when a container of the pool
 * powers off, when a restart is due, and every PL_AUTOREMOVE_SWEEP_MS (in case the event
 * stream missed one). fn and payload must stay valid until it stops. VIC_ECONFLICT when it
 * runs already. */
int pl_autoremove_start(pl *p, pl_removed_fn fn, void *payload, vic_err **err);

/* Stops the reaper and waits for it (a sweep under way finishes); nothing when not started. */
void pl_autoremove_stop(pl *p);

/* docker restart: a stop (grace_ms as pl_container_stop) and a start, during which an
 * auto-remove container is not removed (its stop is not its end); a failed start removes it,
 * as any failed start of one does. VIC_ECONFLICT when a restart of it is under way. */
int pl_container_restart(pl *p, const char *ref, int grace_ms, vic_err **err);

#define PL_AUTOREMOVE_SWEEP_MS 5000

/* Joins a stopped container to network a (VIC's network join on a handle): an address of its
 * subnet and a NIC, committed in one reconfigure. VIC_ECONFLICT while it runs or when it is
 * on that network already. */
int pl_container_connect(pl *p, const char *ref, const pl_net_attach *a, vic_err **err);

/* Takes a stopped container off network (its name); its other NICs move up. */
int pl_container_disconnect(pl *p, const char *ref, const char *network, vic_err **err);

/* The containers on network (by name): an array of {id, name, running, ip}. */
int pl_network_users(pl *p, const char *network, json_t **out, vic_err **err);

/* The containers whose mounts use volume: an array of {id, name, running}. */
int pl_volume_users(pl *p, const char *volume, json_t **out, vic_err **err);

/* Renames (VIC_ECONFLICT when the new name is taken). */
int pl_container_rename(pl *p, const char *ref, const char *name, vic_err **err);

/* ---- file system (docker cp) ---- */

struct pl_fs;
struct pl_volumes;

/* Opens the container's file system as its guest sees it (portlayer/archive.h): its root
 * disk, the volumes it mounts (found in volumes, which may be NULL for none) and the target's
 * guest id shift. Works whatever the container's state: a running container's root is the
 * same directory, so it sees changes at once. VIC_EUNSUPPORTED where the hypervisor keeps disks
 * out of reach (vSphere targets). Free with pl_fs_free. */
int pl_container_fs(pl *p, const char *ref, struct pl_volumes *volumes, struct pl_fs **out,
                    vic_err **err);

/* The container's root disk on this host: *dir (caller frees) and the guest id map it was
 * built with (*ids), and its inspect object (*inspect, may be NULL; new reference).
 * VIC_EUNSUPPORTED where the hypervisor keeps disks out of reach (vSphere targets). */
int pl_container_disk(pl *p, const char *ref, char **dir, pl_idmap *ids, json_t **inspect,
                      vic_err **err);

/* ---- handles ---- */

/* Snapshots the container's configuration and change version. */
int pl_handle_get(pl *p, const char *ref, pl_handle **out, vic_err **err);
void pl_handle_free(pl_handle *h);

/* The snapshot's configuration, to edit in place (owned by the handle; strings set in it
 * must come from malloc: the handle frees them). */
vic_exec_config *pl_handle_config(pl_handle *h);

/* Asks commit to power the VM on (true) or off (false) after applying the changes. */
void pl_handle_set_power(pl_handle *h, bool on);

/* Applies the handle: one reconfigure guarded by the snapshot's change version, then the
 * power change. The handle stays valid (and stale) afterwards. */
int pl_handle_commit(pl *p, pl_handle *h, vic_err **err);

/* The snapshot's guestinfo.vice. keys as read (borrowed; the port layer's own "/vicc/" keys
 * included), and whether the VM was powered on. */
const json_t *pl_handle_keys(const pl_handle *h);
bool pl_handle_powered_on(const pl_handle *h);

/* Sets one of the port layer's own keys (VIC_GI_PREFIX "/vicc/...") in the commit's
 * reconfigure; NULL removes it. */
void pl_handle_set_key(pl_handle *h, const char *key, const char *value);

/* A new run: forgets what the sessions' previous run reported (as a start does), and sets
 * whether the session waits for an attach (VIC's run block). */
void pl_handle_new_run(pl_handle *h, bool attach);

/* ---- restart policies (restart.c) ----
 *
 * Docker's restart policies, followed by the port layer: when a run of a container ends and
 * the user did not stop it (docker stop, kill, rm -f), the policy may start it again after
 * Docker's backoff. The policy, the restart count, a restart under way and the user's stop
 * live in the VM's extraConfig, so a port layer killed at any instant leaves the next one all
 * it needs. */

typedef enum pl_restart_kind {
    PL_RESTART_NONE, /* none given ("") */
    PL_RESTART_NO,
    PL_RESTART_ALWAYS,
    PL_RESTART_UNLESS_STOPPED,
    PL_RESTART_ON_FAILURE,
} pl_restart_kind;

typedef struct pl_restart_policy {
    pl_restart_kind kind;
    int64_t max; /* on-failure: at most this many restarts; 0: no limit */
} pl_restart_policy;

/* Docker's backoff: the first restart waits PL_RESTART_FIRST_MS, each next one twice the
 * previous, at most PL_RESTART_MAX_MS; a run of PL_RESTART_RESET_MS or more starts over. */
#define PL_RESTART_FIRST_MS 100
#define PL_RESTART_MAX_MS   60000
#define PL_RESTART_RESET_MS 10000

/* Parses Docker's {Name, MaximumRetryCount} (name NULL or "": none). VIC_EINVAL with Docker's
 * message for an unknown name, a negative count, or a count with a policy other than
 * on-failure. */
int pl_restart_policy_parse(const char *name, int64_t max, pl_restart_policy *out, vic_err **err);

/* Whether policy restarts: always, unless-stopped or on-failure. */
bool pl_restart_policy_restarts(const pl_restart_policy *policy);

/* Docker's rule (its restart manager's ShouldRestart): whether a run that ended with
 * exit_code is followed by a restart, after count restarts, user_stopped saying whether the
 * user stopped or signalled it: always, whatever the code; unless-stopped unless the user
 * stopped it; on-failure on a code other than 0, while count < max (max 0: no limit). */
bool pl_restart_wanted(const pl_restart_policy *policy, int64_t count, int64_t exit_code,
                       bool user_stopped);

/* The delay before the next restart (Docker's backoff), after a previous delay of prev_ms (0:
 * none yet) and a run of ran_ms. */
int64_t pl_restart_backoff_ms(int64_t prev_ms, int64_t ran_ms);

typedef enum pl_restart_action {
    PL_RESTART_NOTHING,
    PL_RESTART_DECIDE,   /* a run ended: record the restart (count, when) */
    PL_RESTART_POWER_ON, /* a recorded restart: power on once due */
    PL_RESTART_CANCEL,   /* a recorded restart the user stopped: forget it */
} pl_restart_action;

typedef struct pl_restart_plan {
    pl_restart_action action;
    pl_restart_policy policy;
    bool restarting;  /* Docker's State.Restarting: a restart recorded, not powered on yet */
    int64_t count;    /* restarts the policy made (DECIDE: with this one) */
    int64_t run_ns;   /* DECIDE: the start time of the run that ended */
    int64_t delay_ms; /* DECIDE: the backoff's delay */
    int64_t due_ns;   /* DECIDE, POWER_ON: when the restart powers on (Unix ns) */
    bool clear_stop;  /* the user's stop mark goes: an always container back at a start */
    const char *why;  /* NOTHING after an ended run: why there is no restart */
} pl_restart_plan;

/* What the restart policy asks of a container now (pure): extra is its VM's extraConfig,
 * on its power state, s its session (NULL: none); at_start is true for the port layer's
 * first look (a container with always comes back then even after a docker stop). */
void pl_restart_plan_of(const json_t *extra, bool on, const vic_exec_session *s, bool at_start,
                        int64_t now_ns, pl_restart_plan *out);

/* Records the create's policy (spec->restart_policy, spec->restart_max) in extra, the new
 * VM's extraConfig; VIC_EINVAL for a bad one, or one that restarts with auto_remove. */
int pl_restart_policy_record(json_t *extra, const pl_create_spec *spec, vic_err **err);

/* The extraConfig key that holds a container's restart policy (absent: none). */
const char *pl_restart_policy_key(void);

/* Whether a container's extraConfig (or its handle's keys) records a policy that restarts. */
bool pl_restart_watched(const json_t *extra);

/* Adds restart_policy, restart_count and restarting to desc, the inspect object of a
 * container (extra: its extraConfig, on: its power, s: its session), and makes its state
 * "restarting" while it waits for a restart. */
void pl_restart_describe(json_t *desc, const json_t *extra, bool on, const vic_exec_session *s);

/* Held by every change the restart policy and the user make to a container with a policy
 * (a restart's record and power on, the user's start and stop marks), so that a docker stop
 * never crosses a restart's power on. */
void pl_restart_lock(pl *p);
void pl_restart_unlock(pl *p);

/* One look over vms, the pool listing: records the restarts of runs that ended, powers on
 * those due, forgets the ones the user stopped. exited names VMs whose power-off event came
 * (the skipped ones among them are logged; may be NULL). Returns the ms until the next
 * restart is due, or -1 when none waits. The exit watcher calls it. */
int64_t pl_restart_sweep(pl *p, const json_t *vms, const json_t *exited, bool at_start,
                         int64_t now_ns);

/* The user stops the container ref (sig 0: docker stop or rm -f; else docker kill's signal):
 * when it has a policy that restarts and it runs, waits for a restart, or ended and is not
 * answered yet, it is marked stopped by the user (SIGKILL and its stop signal stop it;
 * another signal counts for unless-stopped only, as Docker's), under pl_restart_lock.
 * *restarting (may be NULL) says whether it was waiting for a restart. */
int pl_restart_user_stop(pl *p, const char *ref, int sig, bool *restarting, vic_err **err);

/* The user starts the container: the handle's commit clears the stop mark, the restart count
 * and a recorded restart (Docker resets them at docker start). */
void pl_restart_user_start(pl_handle *h);

/* ---- events ---- */

/* Called for each container event, oldest first: {type ("create", "start", "die",
 * "destroy"), id, name, image, time_ns, exit_code (die)}; returns < 0 to stop. Also called
 * with NULL about once a second while nothing happens, so that the caller can look at its
 * client. */
typedef int (*pl_event_fn)(const json_t *event, void *payload);

/* Follows the hypervisor's events for the pool's containers, from since_ns (0: from now)
 * until until_ns (0: until fn stops it). Events of VMs that are not containers of this pool
 * (the appliance, other VCHs' VMs) are left out. */
int pl_events_follow(pl *p, int64_t since_ns, int64_t until_ns, pl_event_fn fn, void *payload,
                     vic_err **err);

/* ---- logs ---- */

/* A container's log, found and ready to read (portlayer/logs.h says how it reads). */
typedef struct pl_container_log pl_container_log;

/* Finds ref's log; VIC_ENOTFOUND without such a container. A container never started has
 * an empty log. Free with pl_container_log_free. */
int pl_container_log_open(pl *p, const char *ref, pl_container_log **out, vic_err **err);

/* Reads the log as o says (pl_log_read); a follow ends when the container no longer runs.
 * The pl must outlive the read. */
int pl_container_log_read(pl_container_log *l, const pl_log_opts *o, pl_log_fn fn, void *payload,
                          vic_err **err);

void pl_container_log_free(pl_container_log *l);

/* pl_container_log_open, _read and _free at once. */
int pl_container_logs(pl *p, const char *ref, const pl_log_opts *o, pl_log_fn fn, void *payload,
                      vic_err **err);

#endif
