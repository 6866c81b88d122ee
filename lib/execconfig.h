/*
 * execconfig.h - a containerVM's configuration as the tether reads it from guestinfo: VIC's
 * ExecutorConfig (lib/config/executor in vmware/vic), the subset VIC-C uses, with VIC's keys.
 *
 * The port layer (or a test) encodes it into the VM's extraConfig with vic_gi_encode; the
 * tether lists the guest-visible keys and decodes them; the tether writes back only the
 * read-write fields (started, status, start and stop times) of each session.
 *
 * Keys, for a session "top" (read-only under guestinfo.vice./, read-write under
 * guestinfo.vice..):
 *   guestinfo.vice./common/id                  container id
 *   guestinfo.vice./hostname                   the guest's hostname
 *   guestinfo.vice./sessions|top/cmd/Path      what to run
 *   guestinfo.vice./sessions|top/cmd/Args~     its argv, "|"-joined (escaped: lib/guestinfo.h)
 *   guestinfo.vice..sessions|top.started       "true", or why it could not start
 *   guestinfo.vice..sessions|top.status        exit code
 */
#ifndef VIC_EXECCONFIG_H
#define VIC_EXECCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guestinfo.h"

typedef struct vic_exec_cmd {
    char *path;
    char **args; /* argv, args[0] included */
    size_t n_args;
    char **env; /* "NAME=value" */
    size_t n_env;
    char *dir;
} vic_exec_cmd;

typedef struct vic_exec_mount {
    /* a path inside the guest ("/.vic/disks/N": the VM's disk N, attached there by the
     * hypervisor), or a special fs: "tmpfs" */
    char *source;
    char *target;
    char *mode;   /* "rw" or "ro" */
    char *volume; /* the port layer's volume behind source, or NULL */
} vic_exec_mount;

/* The container's endpoint on a network (VIC's NetworkEndpoint), keyed by network name:
 * guestinfo.vice./networks|NAME/... The tether gives NIC ethN (N: nic) the address ip and,
 * on the default network, the default route through gateway's address and the DNS server. */
typedef struct vic_exec_network {
    char *name;    /* the network's name ("bridge", or a user-defined one) */
    char *id;      /* the network's id */
    int64_t nic;   /* the NIC's index: ethN */
    char *ip;      /* the container's address, "10.1.0.5/24" */
    char *gateway; /* the network's gateway, "10.1.0.1/24" */
    char **nameservers;
    size_t n_nameservers;
    char **aliases; /* names the container answers to on this network, besides its own */
    size_t n_aliases;
    bool is_default; /* the default route and resolver go through this network */
    char *mac;       /* the NIC's MAC address as the hypervisor was told it, for inspect (NULL: not
                      * known: the hypervisor chose it) */
} vic_exec_network;

typedef struct vic_exec_session {
    char *id;
    char *name;
    vic_exec_cmd cmd;
    char *user; /* name or uid; empty means root */
    char *group;
    bool tty;
    bool attach;
    bool openstdin;
    char *stop_signal; /* "TERM" by default */
    /* Confinement (lib/caps.h): the capabilities the session keeps, comma-separated names
     * ("" for none; NULL: Docker's default set), no-new-privileges, and "unconfined" to
     * leave the default seccomp filter off (NULL or "default": on). */
    char *caps;
    bool no_new_privs;
    char *seccomp;
    /* written by the tether */
    char *started;       /* "true" once running, or the error that stopped it */
    int64_t exit_status; /* valid once stopped_at is set */
    int64_t started_at;  /* Unix time in nanoseconds */
    int64_t stopped_at;
} vic_exec_session;

typedef struct vic_exec_config {
    char *id;
    char *name;
    char *hostname;
    int64_t debug;
    char **session_ids;
    vic_exec_session *sessions;
    size_t n_sessions;
    vic_exec_mount *mounts;
    size_t n_mounts;
    char **network_names;
    vic_exec_network *networks;
    size_t n_networks;
} vic_exec_config;

extern const vic_gi_desc vic_exec_config_desc;
extern const vic_gi_desc vic_exec_session_desc;
extern const vic_gi_desc vic_exec_network_desc;

typedef enum vic_exec_state {
    VIC_STATE_CREATED,  /* never started, or failed to start (error says why) */
    VIC_STATE_STARTING, /* powered on, the tether has not reported yet */
    VIC_STATE_RUNNING,  /* powered on and started */
    VIC_STATE_EXITED,   /* powered off after a start: exit_status holds the code */
} vic_exec_state;

/* A container's state, derived from its VM's power state and its session's guestinfo (never
 * stored): a session started and then powered off without a reported status (the VM was
 * killed) reads as exited with code 137, as Docker reports a killed container. */
vic_exec_state vic_exec_state_of(int powered_on, const vic_exec_session *s, int64_t *exit_code,
                                 const char **error);

/* "created", "starting", "running", "exited". */
const char *vic_exec_state_name(vic_exec_state st);

/* The session's confinement as the guest applies it (lib/confine.h). VIC_EINVAL for a
 * capability or seccomp value it does not know. */
struct vic_confine;
int vic_exec_session_confine(struct vic_confine *out, const vic_exec_session *s, vic_err **err);

/* The key prefix of one session's fields ("guestinfo.vice./sessions|ID", ID escaped as a map
 * key: vic_gi_map_entry_key); caller frees. */
char *vic_exec_session_prefix(const char *id);

/* A signal by number (1-64) or by name, with or without "SIG", in any case ("TERM",
 * "sigkill", "9"); empty when name is NULL or "", -1 when it names no signal. */
int vic_signal_parse(const char *name, int empty);

#endif
