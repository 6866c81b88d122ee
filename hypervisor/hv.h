/*
 * hv.h - the hypervisor interface: everything above it speaks of datacenters, resource
 * pools, datastores, networks and VMs with extraConfig, never of processes or SOAP.
 *
 * A driver implements hv_driver (a table of functions). Callers open a connection with
 * hv_open(), which picks the driver from the target ("local" for the embedded host, anything
 * else is a vSphere server), and then call the hv_* wrappers below; they never see which
 * driver answers. Every call is synchronous and thread-safe on one connection.
 *
 * The wrappers check what every target requires before they call the driver (hv.c): a pool
 * spec's allocations, a VM spec's name, cpus, memory_mb and extraConfig values, and the
 * extraConfig of a change. A driver checks only what its own target adds.
 *
 * Objects are named two ways:
 *   - inventory paths, as vSphere prints them: "/ha-datacenter/host/local/Resources/vch1"
 *   - references (hv_ref): short stable strings a driver hands out ("vm-42", a local VM's
 *     name); store them, compare them with strcmp, pass them back to the same target.
 *
 * Errors follow lib/err.h. Drivers map their failures onto these codes, so callers can act:
 *   VIC_ENOTFOUND  no object at that path / reference
 *   VIC_ECONFLICT  a name in use, or a stale change version on reconfigure
 *   VIC_EINVAL     a malformed spec (the message names the field)
 *   VIC_EAUTH      the target refused our credentials
 *   VIC_EUPSTREAM  the target failed (the message carries its fault)
 *   VIC_EUNSUPPORTED the driver cannot do this (e.g. enforce a limit) and says why
 *
 * Local target inventory (what "local" answers):
 *   datacenter       /ha-datacenter
 *   compute resource /ha-datacenter/host/local
 *   root pool        /ha-datacenter/host/local/Resources
 *   datastore        /ha-datacenter/datastore/datastore1   ($VIC_HOME/datastore1/)
 *   networks         /ha-datacenter/network/VM Network, /ha-datacenter/network/bridge
 *   VM folder        /ha-datacenter/vm
 */
#ifndef VIC_HV_H
#define VIC_HV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

typedef struct hv_conn hv_conn;

#define HV_REF_MAX 128
typedef struct hv_ref {
    char id[HV_REF_MAX];
} hv_ref;

typedef enum hv_kind {
    HV_DATACENTER,
    HV_COMPUTE, /* a cluster or a standalone host */
    HV_POOL,    /* a resource pool (a compute resource's root pool included) */
    HV_DATASTORE,
    HV_NETWORK, /* a standard or distributed port group */
    HV_FOLDER,
    HV_VM,
} hv_kind;

typedef struct hv_connect_opts {
    const char *target; /* "local", or "host[:port]" of a vCenter or ESX */
    const char *home;   /* local: $VIC_HOME holding datastore1/ and the pool records */
    const char *user;   /* vsphere: credentials, passed through from the API caller */
    const char *password;
    const char *thumbprint; /* vsphere: pinned SHA-1/SHA-256 of the server certificate */
    const char *bin_dir;    /* local: where vic-vmx and tether live (default: beside us) */
} hv_connect_opts;

/* ---- resource pools ---- */

typedef struct hv_alloc {
    int64_t limit;       /* MHz or MB; -1 means unlimited */
    int64_t reservation; /* MHz or MB */
    char shares[16];     /* "low", "normal", "high", or a number; "" means normal */
} hv_alloc;

typedef struct hv_pool_spec {
    hv_alloc cpu;    /* MHz */
    hv_alloc memory; /* MB */
} hv_pool_spec;

typedef struct hv_pool_info {
    hv_ref ref;
    char path[512];
    hv_pool_spec spec;
    /* How the spec is applied on this host: "enforced (cgroup v2)", or "not enforced: ..."
     * with the reason. vSphere drivers say "enforced". Never left empty. */
    char cpu_enforcement[160];
    char memory_enforcement[160];
} hv_pool_info;

/* ---- VMs ---- */

typedef enum hv_power {
    HV_POWERED_OFF = 0,
    HV_POWERED_ON = 1,
    HV_SUSPENDED = 2,
} hv_power;

typedef struct hv_disk {
    const char *path; /* datastore path "[datastore1] vm/disk" (local: a directory tree) */
    int64_t size_mb;  /* for new disks; 0 for existing ones */
    bool create;      /* create an empty disk of size_mb */
} hv_disk;

/* A port forward's protocol. */
typedef enum hv_proto { HV_PROTO_TCP = 0, HV_PROTO_UDP = 1 } hv_proto;

/* A NAT port forward of a NIC (as VMware's NAT device offers): connections to
 * host_ip:host_port on the host reach the guest's guest_port (TCP), or datagrams do (UDP:
 * each client address is a flow of its own, whose replies go back to it, forgotten once
 * idle). The host port is bound at power on: a power on whose port is taken fails, naming
 * it. */
typedef struct hv_port_forward {
    const char *host_ip; /* an IPv4 address of the host */
    int host_port;       /* 1..65535 */
    int guest_port;      /* 1..65535 */
    hv_proto proto;      /* TCP unless said */
} hv_port_forward;

typedef struct hv_nic {
    const char *network; /* inventory path or name of a port group */
    /* The segment's gateway, ADDR/PREFIX ("10.1.0.1/24"), where the host answers on it (a
     * host-only network's host adapter). The local target switches each (pool, port group,
     * subnet) apart and needs it on every NIC of a bridge port group; vSphere port groups
     * ignore it (the appliance's own NIC on the port group is the gateway there). */
    const char *gateway;
    const hv_port_forward *forwards; /* local target only (elsewhere VIC_EUNSUPPORTED) */
    size_t n_forwards;
    /* The NIC's MAC address, "02:42:0a:01:00:05" (a unicast one); NULL: the driver's choice.
     * Only where hv_caps.nic_mac (elsewhere VIC_EUNSUPPORTED). */
    const char *mac;
} hv_nic;

/* A VM's limits within its own size, as vSphere keeps them in its cpuAllocation (and the
 * local target in the VM's cgroup); 0 leaves each off. A VM never uses more memory than its
 * size (memory_mb): that is its memory limit. */
typedef struct hv_vm_limits {
    int64_t cpu_millis; /* CPU time, thousandths of a CPU (Docker's --cpus 1.5 is 1500) */
    int cpu_shares;     /* relative CPU weight, 2..262144 with 1024 normal */
    int64_t pids;       /* processes at once in the guest (local target only) */
} hv_vm_limits;

typedef struct hv_vm_spec {
    const char *name;      /* unique in the datastore; letters, digits, "-", "_", "." */
    const char *folder;    /* VM folder path; NULL for the datacenter's vm folder */
    const char *pool;      /* resource pool path (required) */
    const char *datastore; /* where the VM's folder goes, "datastore1" */
    int cpus;              /* >= 1 */
    int64_t memory_mb;     /* >= 1 */
    const hv_disk *disks;  /* the first disk is the root disk */
    size_t n_disks;
    /* Datastore path of a CD-ROM image, or NULL. On the local target a CD-ROM image whose
     * first line is exactly "vic-local-appliance 1" (LOCAL_APPLIANCE_MAGIC) boots the VCH
     * appliance: no root disk; bin_dir/vic-init runs as the host's root in the host's
     * namespaces (network included), its own session, cwd the VM's folder, fd 3 the
     * guestinfo channel, fd 4 the serial log, fd 5 the interactive channel. Power off sends
     * it SIGTERM and SIGKILLs its process group after the grace period. */
    const char *iso;
    const hv_nic *nics;
    size_t n_nics;
    bool serial_log;            /* a serial port writing to the VM folder's output.log */
    const json_t *extra_config; /* object of string values, or NULL */
    hv_vm_limits limits;
} hv_vm_spec;

typedef struct hv_vm_info {
    hv_ref ref;
    char name[256];
    char pool[512]; /* the pool's path */
    hv_power power;
    char change_version[64]; /* pass to hv_vm_reconfigure to detect concurrent writers */
    char guest_ip[64];       /* "" when unknown */
    int64_t boot_time;       /* Unix seconds of the last power on, 0 when off */
    /* While on, where the driver can tell (0 when it cannot): CPU time used since power on,
     * memory in use, and the memory the VM may use (its pool's limit or the host's). */
    int64_t cpu_ns;
    int64_t memory_bytes;
    int64_t memory_limit_bytes;
    int cpus; /* the VM's size */
    int64_t memory_mb;
    hv_vm_limits limits;
    bool paused; /* on, with its guest frozen (hv_vm_pause) */
    /* Processes the host killed for want of memory during the last power on (0 where the
     * driver cannot tell): an out-of-memory guest. */
    int64_t oom_kills;
    /* While on, where the driver can tell (else 0): processes in the guest and their limit,
     * block IO bytes read and written since power on. */
    int64_t pids;
    int64_t pids_limit;
    int64_t io_read_bytes;
    int64_t io_write_bytes;
    json_t *extra_config; /* object of strings, owned: free with hv_vm_info_clear */
} hv_vm_info;

void hv_vm_info_clear(hv_vm_info *info);

/* A change to a VM: extraConfig keys to set (string values) or remove (JSON null), and,
 * with set_nics, its NICs replaced by nics (VIC_EUNSUPPORTED where the driver cannot change
 * NICs). A powered-on VM's NICs change only where hv_caps.nic_hot_plug (VIC_ECONFLICT
 * elsewhere): NICs that went are hot-removed, new ones hot-added, and those that stay (the
 * same network, gateway and MAC address) keep their device, renumbered to their new place;
 * the guest is then told to configure them (VIC_GI_RELOAD_SIGNAL, lib/guestinfo.h). Port
 * forwards are those the VM powered on with until its next power on. */
typedef struct hv_vm_change {
    const json_t *extra_config;
    bool set_nics;
    const hv_nic *nics;
    size_t n_nics;
    /* With set_size, the VM's size and limits become these, also while it runs (as vSphere's
     * hot add does); the local target applies them to a running guest at once, and fails with
     * VIC_ECONFLICT when the guest uses more memory than the new size. */
    bool set_size;
    int cpus;
    int64_t memory_mb;
    hv_vm_limits limits;
} hv_vm_change;

/* ---- events ---- */

#define HV_DETAIL_OUT_OF_MEMORY "out of memory"

typedef struct hv_event {
    int64_t seq; /* increasing; pass the last one seen to hv_events_wait */
    int64_t time_ns;
    char type[32]; /* "poweredOn", "poweredOff", "created", "reconfigured", "destroyed",
                    * "suspended" and "resumed" (hv_vm_pause) */
    hv_ref vm;
    char detail[256]; /* e.g. "guest exited", "monitor lost"; a poweredOff whose guest ran out
                       * of memory holds HV_DETAIL_OUT_OF_MEMORY */
} hv_event;

/* ---- vCenter extensions (the vSphere Client plugin) ---- */

typedef struct hv_extension {
    const char *key;     /* e.g. "com.vmware.vic.ui" */
    const char *version; /* the plugin's version */
    const char *label;   /* shown in the vSphere Client */
    const char *summary;
    const char *company;
    const char *url;         /* https URL of the plugin's manifest (plugin.json) */
    const char *thumbprint;  /* SHA-1 of the certificate of the server at url, AA:BB:... */
    const char *admin_email; /* may be NULL */
} hv_extension;

/* ---- the driver table ---- */

/*
 * What the VCH engine must know of where a driver runs a VCH's appliance and its containers'
 * networks, beyond the calls below. Probes may be NULL when the driver has nothing to probe.
 */
typedef struct hv_caps {
    /* 1: the appliance is vic-init on this host: it gets a loopback address the engine picks,
     * boots a marker image every VCH shares, and reads its stores, home and binaries through
     * this host's paths (hv_ds_local_path). 0: it is a VM booting the appliance ISO uploaded
     * into its own folder, at the address its network gives it (DHCP) or a static one. */
    int appliance_on_host;
    /* 1: a VCH's images live in its appliance VM's folder (NAME/VIC), as VIC keeps them; 0:
     * in a folder of the datastore's shared vic-images/. */
    int images_in_vm_folder;
    /* 1: containers' bridges are made on this host, so a bridge range must avoid this host's
     * own networks (hv_host_net_overlap). */
    int bridges_on_host;
    /* The prefix of the interfaces the driver makes for containers' bridges on this host
     * ("vb"), which hv_host_net_overlap skips; NULL when it makes none. */
    const char *bridge_prefix;
    /* Whether this host lets the driver make containers' bridges: 0, or the reason. */
    int (*bridges_usable)(vic_err **err);
    /* Whether containers on bridges are kept from this host's services and each other: 0, or
     * the reason (VIC_EUNSUPPORTED). */
    int (*bridges_isolated)(vic_err **err);
    /* 1: a NIC's MAC address can be chosen (hv_nic.mac); 0: the target assigns it (vSphere
     * takes manual addresses only from VMware's own range). */
    int nic_mac;
    /* 1: a powered-on VM's NICs can change (hv_vm_change.set_nics). */
    int nic_hot_plug;
} hv_caps;

typedef struct hv_driver {
    const char *name;
    const hv_caps *caps; /* never NULL */
    int (*connect)(hv_conn **out, const hv_connect_opts *opts, vic_err **err);
    void (*disconnect)(hv_conn *c);
    int (*find)(hv_conn *c, hv_kind kind, const char *path, hv_ref *out, vic_err **err);
    int (*list)(hv_conn *c, hv_kind kind, const char *parent, json_t **out, vic_err **err);
    int (*pool_create)(hv_conn *c, const char *parent, const char *name, const hv_pool_spec *spec,
                       hv_ref *out, vic_err **err);
    int (*pool_update)(hv_conn *c, const hv_ref *pool, const hv_pool_spec *spec, vic_err **err);
    int (*pool_destroy)(hv_conn *c, const hv_ref *pool, vic_err **err);
    int (*pool_get)(hv_conn *c, const hv_ref *pool, hv_pool_info *out, vic_err **err);
    int (*vm_create)(hv_conn *c, const hv_vm_spec *spec, hv_ref *out, vic_err **err);
    int (*vm_reconfigure)(hv_conn *c, const hv_ref *vm, const char *change_version,
                          const hv_vm_change *change, char *new_version, size_t cap, vic_err **err);
    int (*vm_power_on)(hv_conn *c, const hv_ref *vm, vic_err **err);
    int (*vm_power_off)(hv_conn *c, const hv_ref *vm, unsigned grace_ms, vic_err **err);
    int (*vm_destroy)(hv_conn *c, const hv_ref *vm, vic_err **err);
    int (*vm_get)(hv_conn *c, const hv_ref *vm, hv_vm_info *out, vic_err **err);
    int (*vm_list)(hv_conn *c, const char *pool, const char *key_prefix, json_t **out,
                   vic_err **err);
    int (*vm_attach)(hv_conn *c, const hv_ref *vm, int *fd, vic_err **err);
    int (*ds_upload)(hv_conn *c, const char *ds_path, const char *local_file, vic_err **err);
    int (*ds_download)(hv_conn *c, const char *ds_path, const char *local_file, vic_err **err);
    int (*ds_mkdir)(hv_conn *c, const char *ds_path, vic_err **err);
    int (*ds_delete)(hv_conn *c, const char *ds_path, vic_err **err);
    int (*ds_local_path)(hv_conn *c, const char *ds_path, char **out, vic_err **err);
    int (*events_wait)(hv_conn *c, int64_t after_seq, unsigned timeout_ms, hv_event *out,
                       size_t cap, size_t *n, vic_err **err);
    int (*vm_exec)(hv_conn *c, const hv_ref *vm, int *fd, vic_err **err); /* may be NULL */
    int (*vm_processes)(hv_conn *c, const hv_ref *vm, json_t **out, vic_err **err);   /* or NULL */
    int (*vm_signal)(hv_conn *c, const hv_ref *vm, long pid, int sig, vic_err **err); /* or NULL */
    int (*vm_guest_usage)(hv_conn *c, const hv_ref *vm, json_t **out, vic_err **err); /* or NULL */
    int (*vm_id_base)(hv_conn *c, const hv_ref *vm, uint32_t *out, vic_err **err);    /* or NULL */
    int (*vm_pause)(hv_conn *c, const hv_ref *vm, bool paused, vic_err **err);        /* or NULL */
    void (*vm_unenforced)(hv_conn *c, char *out, size_t cap);                         /* or NULL */
    int (*ext_register)(hv_conn *c, const hv_extension *x, vic_err **err);
    int (*ext_unregister)(hv_conn *c, const char *key, vic_err **err);
    int (*ext_find)(hv_conn *c, const char *key, json_t **out, vic_err **err);
} hv_driver;

struct hv_conn {
    const hv_driver *driver;
};

/* ---- the calls ---- */

/* Connects to opts->target with the driver it names. *out must be closed with hv_close. */
int hv_open(hv_conn **out, const hv_connect_opts *opts, vic_err **err);
void hv_close(hv_conn *c);
const char *hv_driver_name(const hv_conn *c);
/* The connected driver's capabilities (hv_caps). */
const hv_caps *hv_caps_of(const hv_conn *c);

/* Whether net/len (an IPv4 network, host order) overlaps that of one of this machine's
 * interfaces, other than loopback and the bridges any driver makes for containers; *ifname
 * (cap bytes) gets the interface's name. */
int hv_host_net_overlap(uint32_t net, int len, char *ifname, size_t cap);

/* Resolves an inventory path (kind says what is expected there). */
int hv_find(hv_conn *c, hv_kind kind, const char *path, hv_ref *out, vic_err **err);

/* Children of kind under parent (a path; NULL for the whole target), as a JSON array of
 * {"name", "path", "ref"} objects (datastores add "capacity_mb", "free_mb"). New reference. */
int hv_list(hv_conn *c, hv_kind kind, const char *parent, json_t **out, vic_err **err);

/* Creates pool `name` under the pool at path `parent`. VIC_ECONFLICT when it exists. */
int hv_pool_create(hv_conn *c, const char *parent, const char *name, const hv_pool_spec *spec,
                   hv_ref *out, vic_err **err);
int hv_pool_update(hv_conn *c, const hv_ref *pool, const hv_pool_spec *spec, vic_err **err);
/* Refuses (VIC_ECONFLICT) while the pool holds VMs or child pools. */
int hv_pool_destroy(hv_conn *c, const hv_ref *pool, vic_err **err);
int hv_pool_get(hv_conn *c, const hv_ref *pool, hv_pool_info *out, vic_err **err);

/* Creates and registers a VM (powered off). VIC_ECONFLICT when the name is taken: two
 * concurrent creates of one name never both succeed. */
int hv_vm_create(hv_conn *c, const hv_vm_spec *spec, hv_ref *out, vic_err **err);

/* Applies change atomically if the VM's change version still equals change_version (NULL
 * skips the check); VIC_ECONFLICT otherwise, and nothing is applied. The VM's new change
 * version is written to new_version (may be NULL). */
int hv_vm_reconfigure(hv_conn *c, const hv_ref *vm, const char *change_version,
                      const hv_vm_change *change, char *new_version, size_t cap, vic_err **err);

/* Powers on and returns once the guest runs (its PID 1 started), or fails with the reason
 * (e.g. a missing root disk). VIC_ECONFLICT when already on. */
int hv_vm_power_on(hv_conn *c, const hv_ref *vm, vic_err **err);

/* Powers off: asks the guest to stop (ACPI / SIGTERM to its PID 1) and forces it after
 * grace_ms; 0 forces at once. Returns once the VM is off. Off already is not an error. */
int hv_vm_power_off(hv_conn *c, const hv_ref *vm, unsigned grace_ms, vic_err **err);

/* Deletes a powered-off VM and its folder. VIC_ECONFLICT when powered on. */
int hv_vm_destroy(hv_conn *c, const hv_ref *vm, vic_err **err);

/* Power state, change version, guest IP and extraConfig. Clear out with hv_vm_info_clear(). */
int hv_vm_get(hv_conn *c, const hv_ref *vm, hv_vm_info *out, vic_err **err);

/* VMs in the pool at path `pool` (NULL: all), as a JSON array of {"ref", "name", "power",
 * "change_version", "extra_config"} where extra_config holds only keys starting with
 * key_prefix (NULL: none). New reference. An extra_config object may be shared with other
 * listings (the local driver hands out the same one while a VM's configuration is
 * unchanged): read it, never modify it. */
int hv_vm_list(hv_conn *c, const char *pool, const char *key_prefix, json_t **out, vic_err **err);

/* Takes the powered-on VM's interactive channel (the guest's fd 5 on the local host; a
 * serial-over-network port on ESX): *fd is a connected stream speaking lib/attach.h frames,
 * the caller's to close. One holder at a time: a new attach takes the channel over from the
 * previous holder, whose stream then ends. VIC_ECONFLICT when the VM is off (or not yet far
 * enough to offer the channel: try again), VIC_ENOTFOUND when there is no such VM. */
int hv_vm_attach(hv_conn *c, const hv_ref *vm, int *fd, vic_err **err);

/* Opens a channel that starts a new program in the powered-on VM's guest (guest operations;
 * the local host's exec.sock): *fd speaks lib/attach.h frames, beginning with the caller's
 * EXEC frame, and is the caller's to close. Any number at once. VIC_ECONFLICT when the VM is
 * off, VIC_EUNSUPPORTED where the driver has no guest operations. */
int hv_vm_exec(hv_conn *c, const hv_ref *vm, int *fd, vic_err **err);

/* The processes running in the powered-on VM's guest (guest operations' process list), as a
 * JSON array of {pid, ppid, uid, start_time (Unix seconds), cpu_ns, tty, cmd} with the
 * guest's own ids, by pid. VIC_ECONFLICT when the VM is off, VIC_EUNSUPPORTED where the
 * driver has no guest operations. */
int hv_vm_processes(hv_conn *c, const hv_ref *vm, json_t **out, vic_err **err);

/* Sends signal sig to process pid of the powered-on VM's guest (guest operations'
 * TerminateProcessInGuest, with the signal chosen); pid 1 is the guest's init, the tether, which
 * hands it on to the session. VIC_ECONFLICT when the VM is off, VIC_ENOTFOUND when the guest
 * has no such process, VIC_EUNSUPPORTED where the driver has no guest operations. */
int hv_vm_signal(hv_conn *c, const hv_ref *vm, long pid, int sig, vic_err **err);

/* What the host sees of the powered-on VM's guest: {"pid": the host's process id of the
 * guest's PID 1, "processes": how many processes the guest runs, "nics": {ifname:
 * {rx_bytes, rx_packets, rx_errors, rx_dropped, tx_bytes, tx_packets, tx_errors,
 * tx_dropped}} for its interfaces but loopback}. VIC_ECONFLICT when the VM is off,
 * VIC_EUNSUPPORTED where the driver cannot see into its guests. */
int hv_vm_guest_usage(hv_conn *c, const hv_ref *vm, json_t **out, vic_err **err);

/* Freezes (paused) or thaws every process of the powered-on VM's guest, which keeps its
 * memory and state: a paused guest runs nothing until it is thawed. VIC_ECONFLICT when the
 * VM is off, VIC_EUNSUPPORTED where the driver cannot freeze a guest (the reason). */
int hv_vm_pause(hv_conn *c, const hv_ref *vm, bool paused, vic_err **err);

/* What of a VM's size and limits (hv_vm_limits) and of pausing this host accepts but cannot
 * enforce, as one sentence ("process limits (no writable pids cgroup)"); "" when it
 * enforces all it accepts. */
void hv_vm_unenforced(hv_conn *c, char *out, size_t cap);

/* Datastore files, addressed "[datastore1] folder/file". Paths never escape the datastore. */
int hv_ds_upload(hv_conn *c, const char *ds_path, const char *local_file, vic_err **err);
int hv_ds_download(hv_conn *c, const char *ds_path, const char *local_file, vic_err **err);
int hv_ds_mkdir(hv_conn *c, const char *ds_path, vic_err **err);
/* Removes a file or a directory tree. */
int hv_ds_delete(hv_conn *c, const char *ds_path, vic_err **err);
/* Local only: the host path of a datastore path (VIC_EUNSUPPORTED elsewhere). */
int hv_ds_local_path(hv_conn *c, const char *ds_path, char **out, vic_err **err);

/* Local only: each containerVM has a range of HV_LOCAL_GUEST_ID_COUNT host ids of its own,
 * allocated host-wide at create and freed with the VM (hypervisor/local/idrange.h): its
 * guest's user and group ids 0..COUNT-1 own the files of its disks (the directories
 * hv_ds_local_path names) as host ids base + id, where base is what hv_vm_id_base answers:
 * HV_LOCAL_GUEST_ID_BASE + n * COUNT for range n (range 0 is shared by VMs created before
 * per-VM ranges). A new root disk is owned by the range from its create on: whoever fills it
 * writes owners shifted into the range, and ids that do not fit (>= COUNT) as the overflow
 * id (65534) without their set-user-ID and set-group-ID bits. Data disks are shifted into
 * the range of the VM they attach to at its power on. */
#define HV_LOCAL_GUEST_ID_BASE   100000
#define HV_LOCAL_GUEST_ID_COUNT  65536
#define HV_LOCAL_GUEST_ID_RANGES 32768
#define HV_LOCAL_GUEST_OVERFLOW  65534

/* The first host id of the VM's id range (see above). VIC_EUNSUPPORTED where the driver
 * maps no ids (vSphere: a containerVM is a real VM). */
int hv_vm_id_base(hv_conn *c, const hv_ref *vm, uint32_t *out, vic_err **err);

/* Waits up to timeout_ms for events with seq > after_seq; fills up to cap of them in order.
 * *n == 0 after a timeout. after_seq -1 starts from the events recorded from now on, 0 from
 * the first one the target keeps. */
int hv_events_wait(hv_conn *c, int64_t after_seq, unsigned timeout_ms, hv_event *out, size_t cap,
                   size_t *n, vic_err **err);

/* Registers extension x with vCenter's ExtensionManager, or updates it when its key is
 * registered already. VIC_EUNSUPPORTED where there is no extension manager (ESX, local). */
int hv_extension_register(hv_conn *c, const hv_extension *x, vic_err **err);
/* Unregisters the extension key; VIC_ENOTFOUND when it is not registered. */
int hv_extension_unregister(hv_conn *c, const char *key, vic_err **err);
/* The registered extension key as {key, version, label, summary, company, url, thumbprint,
 * admin_email, last_heartbeat} (new reference); VIC_ENOTFOUND when it is not registered. */
int hv_extension_find(hv_conn *c, const char *key, json_t **out, vic_err **err);

const char *hv_power_name(hv_power p);

/* Drivers. */
extern const hv_driver hv_local_driver;
/* vCenter or ESX over vim25 SOAP: target "host[:port]", user/password, optional thumbprint. */
extern const hv_driver hv_vsphere_driver;

#endif
