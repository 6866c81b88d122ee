#include "execconfig.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "caps.h"
#include "confine.h"
#include "mem.h"

static const vic_gi_field cmd_fields[] = {
    VIC_GI_FIELD_STRING(vic_exec_cmd, path, "Path", VIC_GI_READONLY, VIC_GI_REQUIRED),
    VIC_GI_FIELD_STRING_ARRAY(vic_exec_cmd, args, n_args, "Args", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING_ARRAY(vic_exec_cmd, env, n_env, "Env", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(vic_exec_cmd, dir, "Dir", VIC_GI_READONLY, 0),
};
static const vic_gi_desc cmd_desc = VIC_GI_DESC(vic_exec_cmd, cmd_fields);

static const vic_gi_field session_fields[] = {
    VIC_GI_FIELD_STRING(vic_exec_session, id, "common/id", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(vic_exec_session, name, "common/name", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRUCT(vic_exec_session, cmd, "cmd", VIC_GI_READONLY, 0, &cmd_desc),
    VIC_GI_FIELD_STRING(vic_exec_session, user, "user", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(vic_exec_session, group, "group", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_BOOL(vic_exec_session, tty, "tty", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_BOOL(vic_exec_session, attach, "attach", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_BOOL(vic_exec_session, openstdin, "openstdin", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(vic_exec_session, stop_signal, "stopSignal", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(vic_exec_session, caps, "capabilities", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_BOOL(vic_exec_session, no_new_privs, "noNewPrivileges", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(vic_exec_session, seccomp, "seccomp", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(vic_exec_session, started, "started", VIC_GI_READWRITE, 0),
    VIC_GI_FIELD_INT64(vic_exec_session, exit_status, "status", VIC_GI_READWRITE, 0),
    VIC_GI_FIELD_INT64(vic_exec_session, started_at, "detail/starttime", VIC_GI_READWRITE, 0),
    VIC_GI_FIELD_INT64(vic_exec_session, stopped_at, "detail/stoptime", VIC_GI_READWRITE, 0),
};
const vic_gi_desc vic_exec_session_desc = VIC_GI_DESC(vic_exec_session, session_fields);

static const vic_gi_field mount_fields[] = {
    VIC_GI_FIELD_STRING(vic_exec_mount, source, "source", VIC_GI_READONLY, VIC_GI_REQUIRED),
    VIC_GI_FIELD_STRING(vic_exec_mount, target, "target", VIC_GI_READONLY, VIC_GI_REQUIRED),
    VIC_GI_FIELD_STRING(vic_exec_mount, mode, "mode", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(vic_exec_mount, volume, "volume", VIC_GI_READONLY, 0),
};
static const vic_gi_desc mount_desc = VIC_GI_DESC(vic_exec_mount, mount_fields);

static const vic_gi_field network_fields[] = {
    VIC_GI_FIELD_STRING(vic_exec_network, name, "network/common/name", VIC_GI_READONLY,
                        VIC_GI_REQUIRED),
    VIC_GI_FIELD_STRING(vic_exec_network, id, "network/common/id", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_INT64(vic_exec_network, nic, "nic", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(vic_exec_network, ip, "ip", VIC_GI_READONLY, VIC_GI_REQUIRED),
    VIC_GI_FIELD_STRING(vic_exec_network, gateway, "network/gateway", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING_ARRAY(vic_exec_network, nameservers, n_nameservers, "network/dns",
                              VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING_ARRAY(vic_exec_network, aliases, n_aliases, "network/aliases",
                              VIC_GI_READONLY, 0),
    VIC_GI_FIELD_BOOL(vic_exec_network, is_default, "network/default", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(vic_exec_network, mac, "mac", VIC_GI_READONLY, 0),
};
const vic_gi_desc vic_exec_network_desc = VIC_GI_DESC(vic_exec_network, network_fields);

static const vic_gi_field config_fields[] = {
    VIC_GI_FIELD_STRING(vic_exec_config, id, "common/id", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(vic_exec_config, name, "common/name", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRING(vic_exec_config, hostname, "hostname", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_INT64(vic_exec_config, debug, "diagnostics/debug", VIC_GI_READONLY, 0),
    VIC_GI_FIELD_STRUCT_MAP(vic_exec_config, session_ids, sessions, n_sessions, "sessions",
                            VIC_GI_READONLY, 0, &vic_exec_session_desc),
    VIC_GI_FIELD_STRUCT_ARRAY(vic_exec_config, mounts, n_mounts, "mounts", VIC_GI_READONLY, 0,
                              &mount_desc),
    VIC_GI_FIELD_STRUCT_MAP(vic_exec_config, network_names, networks, n_networks, "networks",
                            VIC_GI_READONLY, 0, &vic_exec_network_desc),
};
const vic_gi_desc vic_exec_config_desc = VIC_GI_DESC(vic_exec_config, config_fields);

int vic_exec_session_confine(struct vic_confine *out, const vic_exec_session *s, vic_err **err)
{
    *out = (vic_confine){
        .caps = VIC_CAPS_DOCKER_DEFAULT, .no_new_privs = s->no_new_privs, .seccomp = true};
    if (s->caps && vic_caps_parse(&out->caps, s->caps, err) < 0)
        return VIC_EINVAL;
    if (s->seccomp && strcmp(s->seccomp, "unconfined") == 0)
        out->seccomp = false;
    else if (s->seccomp && *s->seccomp && strcmp(s->seccomp, "default") != 0)
        return vic_err_set(err, VIC_EINVAL, "unknown seccomp profile %.64s", s->seccomp);
    return 0;
}

char *vic_exec_session_prefix(const char *id)
{
    return vic_gi_map_entry_key(VIC_GI_PREFIX "/sessions", id, true);
}

vic_exec_state vic_exec_state_of(int powered_on, const vic_exec_session *s, int64_t *exit_code,
                                 const char **error)
{
    int started = s->started && strcmp(s->started, "true") == 0;
    *exit_code = 0;
    *error = NULL;
    if (powered_on)
        return started ? VIC_STATE_RUNNING : VIC_STATE_STARTING;
    if (s->started && !started) {
        *error = s->started;
        *exit_code = s->exit_status;
        return VIC_STATE_CREATED;
    }
    if (!started)
        return VIC_STATE_CREATED;
    *exit_code = s->stopped_at ? s->exit_status : 137;
    return VIC_STATE_EXITED;
}

const char *vic_exec_state_name(vic_exec_state st)
{
    static const char *const names[] = {"created", "starting", "running", "exited"};
    return (unsigned)st < 4 ? names[st] : "unknown";
}

int vic_signal_parse(const char *name, int empty)
{
    static const struct {
        const char *name;
        int sig;
    } sigs[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
                {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"WINCH", SIGWINCH},
                {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"PWR", SIGPWR}};
    if (name == NULL || *name == '\0')
        return empty;
    if (strncasecmp(name, "SIG", 3) == 0)
        name += 3;
    char *end = NULL;
    long n = strtol(name, &end, 10);
    if (end != name && *end == '\0')
        return n > 0 && n < 65 ? (int)n : -1;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (strcasecmp(name, sigs[i].name) == 0)
            return sigs[i].sig;
    return -1;
}
