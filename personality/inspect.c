/*
 * inspect.c - a container's Docker configuration, recorded at create and shown by inspect
 * (see inspect.h).
 */
#include "personality/inspect.h"

#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "personality/hostconfig.h"
#include "personality/networks.h"
#include "personality/ports.h"
#include "personality/volumes.h"

/* The storage driver a container's inspect names (as image inspect's GraphDriver does). */
#define ENGINE_DRIVER "vic"

/* Whether v holds nothing: absent, null, [] or {}. */
static int none(const json_t *v)
{
    return v == NULL || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0);
}

/* ["80/tcp"] (the port layer's image) or {"80/tcp": {}} (Docker's) into set. */
static void add_keys(json_t *set, const json_t *keys)
{
    size_t i;
    json_t *k;
    const char *key;
    json_array_foreach(keys, i, k) if (json_is_string(k))
        json_object_set_new(set, json_string_value(k), json_object());
    json_object_foreach((json_t *)keys, key, k)
    {
        json_object_set_new(set, key, json_object());
    }
}

/* Docker's merge of the entrypoint and command with the image's: without an entrypoint of
 * its own (or with [""], the CLI's --entrypoint ""), the command is the given one or else
 * the image's, and the entrypoint the image's unless one was given empty. */
static void merge_command(json_t *cfg, const json_t *b, const json_t *icfg)
{
    const json_t *ep = json_object_get(b, "Entrypoint"), *cmd = json_object_get(b, "Cmd");
    int ep_reset = json_is_array(ep) &&
                   (json_array_size(ep) == 0 ||
                    (json_array_size(ep) == 1 && json_string_length(json_array_get(ep, 0)) == 0));
    const json_t *m_ep = ep, *m_cmd = cmd;
    if (ep_reset || none(ep)) {
        if (none(cmd))
            m_cmd = json_object_get(icfg, "cmd");
        m_ep = ep_reset ? NULL : json_object_get(icfg, "entrypoint");
    }
    if (!none(m_ep))
        json_object_set_new(cfg, "Entrypoint", json_deep_copy(m_ep));
    if (!none(m_cmd))
        json_object_set_new(cfg, "Cmd", json_deep_copy(m_cmd));
}

json_t *engine_healthcheck_merge(const json_t *given, const json_t *image)
{
    if (!json_is_object(image))
        image = NULL;
    if (!json_is_object(given))
        return image ? json_deep_copy(image) : NULL;
    json_t *out = json_deep_copy(given);
    if (json_array_size(json_object_get(out, "Test")) == 0) {
        json_object_del(out, "Test");
        if (json_object_get(image, "Test"))
            json_object_set_new(out, "Test", json_deep_copy(json_object_get(image, "Test")));
    }
    static const char *const nums[] = {"Interval", "Timeout", "StartPeriod", "StartInterval",
                                       "Retries"};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (json_integer_value(json_object_get(out, nums[i])) != 0)
            continue;
        json_object_del(out, nums[i]);
        if (json_integer_value(json_object_get(image, nums[i])) != 0)
            json_object_set(out, nums[i], json_object_get(image, nums[i]));
    }
    if (json_object_size(out) == 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *engine_healthcheck_spec(const json_t *record)
{
    const json_t *cfg = json_object_get(record, "Config");
    const json_t *hc = json_object_get(cfg, "Healthcheck");
    const char *kind = json_string_value(json_array_get(json_object_get(hc, "Test"), 0));
    if (kind == NULL || (strcmp(kind, "CMD") != 0 && strcmp(kind, "CMD-SHELL") != 0))
        return NULL; /* none, NONE, or a type Docker runs nothing for */
    json_t *out = json_pack("{s:O}", "test", json_object_get(hc, "Test"));
    static const char *const nums[][2] = {{"Interval", "interval"},
                                          {"Timeout", "timeout"},
                                          {"StartPeriod", "start_period"},
                                          {"StartInterval", "start_interval"},
                                          {"Retries", "retries"}};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        if (json_integer_value(json_object_get(hc, nums[i][0])) > 0)
            json_object_set(out, nums[i][1], json_object_get(hc, nums[i][0]));
    const json_t *shell = json_object_get(cfg, "Shell");
    if (json_array_size(shell) > 0)
        json_object_set(out, "shell", (json_t *)shell);
    return out;
}

json_t *engine_record_make(const json_t *b, const json_t *img)
{
    const json_t *icfg = json_object_get(img, "config");
    json_t *cfg = json_object();
    merge_command(cfg, b, icfg);
    json_t *labels = json_object();
    json_object_update(labels, json_object_get(icfg, "labels"));
    if (json_is_object(json_object_get(b, "Labels")))
        json_object_update(labels, json_object_get(b, "Labels"));
    if (json_object_size(labels))
        json_object_set(cfg, "Labels", labels);
    json_decref(labels);
    json_t *exposed = json_object();
    add_keys(exposed, json_object_get(icfg, "exposed_ports"));
    add_keys(exposed, json_object_get(b, "ExposedPorts"));
    if (json_object_size(exposed))
        json_object_set(cfg, "ExposedPorts", exposed);
    json_decref(exposed);
    const char *sig = vic_json_str(b, "StopSignal");
    if (sig == NULL || *sig == '\0')
        sig = vic_json_str(icfg, "stop_signal");
    if (sig && *sig)
        json_object_set_new(cfg, "StopSignal", json_string(sig));
    /* kept as given when given */
    json_t *hc = engine_healthcheck_merge(json_object_get(b, "Healthcheck"),
                                          json_object_get(icfg, "healthcheck"));
    if (hc)
        json_object_set_new(cfg, "Healthcheck", hc);
    static const char *const kept[] = {"Volumes",      "StopTimeout",  "MacAddress", "AttachStdin",
                                       "AttachStdout", "AttachStderr", "StdinOnce",  "OnBuild",
                                       "Shell",        "ArgsEscaped"};
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        json_t *v = json_object_get(b, kept[i]);
        if (v && !json_is_null(v) && !json_is_false(v) &&
            !(json_is_string(v) && json_string_length(v) == 0) && !none(v))
            json_object_set(cfg, kept[i], v);
    }
    json_t *out = json_pack("{s:o, s:o}", "Config", cfg, "HostConfig",
                            engine_hostconfig_given(json_object_get(b, "HostConfig")));
    const char *id = vic_json_str(img, "id");
    if (id)
        json_object_set_new(out, "ImageID", json_string(id));
    return out;
}

void engine_record_attach(json_t *pc, const json_t *record)
{
    const json_t *cfg = json_object_get(record, "Config");
    json_t *ep = json_object_get(cfg, "Entrypoint"), *cmd = json_object_get(cfg, "Cmd");
    json_object_set_new(pc, "entrypoint", ep ? json_deep_copy(ep) : json_array());
    json_object_set_new(pc, "cmd", cmd ? json_deep_copy(cmd) : json_array());
    char *text = json_dumps(record, JSON_COMPACT);
    json_object_set_new(pc, "annotations",
                        json_pack("{s:s}", ENGINE_RECORD_KEY, text ? text : "{}"));
    free(text);
}

json_t *engine_record_of(const json_t *x)
{
    const char *text = vic_json_str(json_object_get(x, "annotations"), ENGINE_RECORD_KEY);
    json_t *r = text ? json_loads(text, 0, NULL) : NULL;
    if (r && !json_is_object(r)) {
        json_decref(r);
        r = NULL;
    }
    return r;
}

/* When the container was created; a port layer that did not record it: its start. */
static const char *created_at(const json_t *x)
{
    const char *c = vic_json_str(x, "created_at");
    return c && strncmp(c, "0001-", 5) != 0 ? c : vic_json_str(x, "started_at");
}

/* json_pack's "o" of a copy of v, or of null. */
static json_t *copy_or_null(const json_t *v)
{
    return v ? json_deep_copy(v) : json_null();
}

/* Docker's Config: the record's over the zero values, what the port layer runs over both. */
static json_t *inspect_config(const json_t *x, const json_t *rec)
{
    json_t *pcfg = json_object_get(x, "config");
    json_t *cmd = json_object_get(pcfg, "cmd");
    json_t *out = json_pack(
        "{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:o, s:o, s:s, s:n, s:s, s:n, s:n, s:o}",
        "Hostname", vic_json_str(pcfg, "hostname") ?: "", "Domainname", "", "User",
        vic_json_str(pcfg, "user") ?: "", "AttachStdin", 0, "AttachStdout", 0, "AttachStderr", 0,
        "Tty", json_is_true(json_object_get(pcfg, "tty")), "OpenStdin",
        json_is_true(json_object_get(pcfg, "interactive")), "StdinOnce", 0, "Env",
        copy_or_null(json_object_get(pcfg, "env")), "Cmd", copy_or_null(cmd), "Image",
        vic_json_str(x, "image") ?: "", "Volumes", "WorkingDir",
        vic_json_str(pcfg, "workdir") ?: "", "Entrypoint", "OnBuild", "Labels", json_object());
    json_t *rcfg = json_object_get(rec, "Config");
    if (rcfg) {
        json_object_update(out, rcfg);
        /* a record's Cmd without its Entrypoint (none: the port layer's argv is the Cmd) */
        if (json_object_get(rcfg, "Cmd") == NULL)
            json_object_set_new(out, "Cmd", json_null());
    }
    if (json_object_get(out, "Env") && json_is_null(json_object_get(out, "Env")))
        json_object_set_new(out, "Env", json_array());
    return out;
}

/* Docker's HostConfig: the zero values, the record's given fields, and what the port layer
 * knows (published ports, network mode, auto-remove; the binds of a container without a
 * record, from its volumes). */
static json_t *inspect_hostconfig(const json_t *x, const json_t *rec)
{
    json_t *out = engine_hostconfig_zero();
    json_object_update(out, json_object_get(rec, "HostConfig"));
    json_object_set_new(out, "PortBindings", engine_port_map(x));
    json_object_set_new(out, "NetworkMode", json_string(engine_network_mode(x)));
    json_object_set_new(out, "AutoRemove",
                        json_boolean(json_is_true(json_object_get(x, "auto_remove"))));
    if (rec)
        return out;
    json_t *binds = json_array();
    json_t *mounts cleanup_json = engine_inspect_mounts(x);
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m)
    {
        json_array_append_new(
            binds, json_sprintf("%s:%s%s", vic_json_str(m, "Name"), vic_json_str(m, "Destination"),
                                json_is_true(json_object_get(m, "RW")) ? "" : ":ro"));
    }
    json_object_set_new(out, "Binds", json_array_size(binds) ? binds : json_null());
    if (json_array_size(binds) == 0)
        json_decref(binds);
    return out;
}

/* Docker's NetworkSettings: the top-level fields are the bridge network's. */
static json_t *inspect_network_settings(const json_t *x)
{
    json_t *nets = engine_inspect_networks(x);
    json_t *br = json_object_get(nets, "bridge");
    return json_pack(
        "{s:s, s:s, s:b, s:s, s:i, s:o, s:s, s:n, s:n, s:s, s:s, s:s, s:i, s:s, s:I, "
        "s:s, s:s, s:o}",
        "Bridge", "", "SandboxID", "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
        "LinkLocalIPv6PrefixLen", 0, "Ports", engine_port_map(x), "SandboxKey", "",
        "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID",
        vic_json_str(br, "EndpointID") ?: "", "Gateway", vic_json_str(br, "Gateway") ?: "",
        "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "IPAddress",
        vic_json_str(br, "IPAddress") ?: "", "IPPrefixLen",
        (json_int_t)json_integer_value(json_object_get(br, "IPPrefixLen")), "IPv6Gateway", "",
        "MacAddress", vic_json_str(br, "MacAddress") ?: "", "Networks", nets);
}

/* Docker's State.Health of the port layer's health (NULL: no health check, or never
 * started). */
static json_t *inspect_health(const json_t *x)
{
    const json_t *h = json_object_get(x, "health");
    if (!json_is_object(h))
        return NULL;
    json_t *log = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(h, "log"), i, e)
    {
        json_array_append_new(log, json_pack("{s:s, s:s, s:I, s:s}", "Start",
                                             vic_json_str(e, "start") ?: "", "End",
                                             vic_json_str(e, "end") ?: "", "ExitCode",
                                             json_integer_value(json_object_get(e, "exit_code")),
                                             "Output", vic_json_str(e, "output") ?: ""));
    }
    return json_pack("{s:s, s:I, s:o}", "Status", vic_json_str(h, "status") ?: "starting",
                     "FailingStreak", json_integer_value(json_object_get(h, "failing_streak")),
                     "Log", log);
}

json_t *engine_container_inspect(const json_t *x)
{
    json_t *rec cleanup_json = engine_record_of(x);
    const char *state = vic_json_str(x, "state");
    int running = json_is_true(json_object_get(x, "running"));
    /* Docker counts a container waiting for its restart policy as running */
    int restarting = json_is_true(json_object_get(x, "restarting"));
    json_t *argv = json_object_get(json_object_get(x, "config"), "cmd");
    json_t *args = json_array();
    for (size_t i = 1; i < json_array_size(argv); i++)
        json_array_append(args, json_array_get(argv, i));
    cleanup_free char *name = xasprintf("/%s", vic_json_str(x, "name") ?: "");
    const char *image_id = vic_json_str(rec, "ImageID");
    json_t *out = json_pack(
        "{s:s, s:s, s:s, s:o, s:{s:s, s:b, s:b, s:b, s:b, s:b, s:I, s:I, s:s, s:s, s:s}, s:s, "
        "s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:n, s:o, s:{s:n, s:s}, s:o, "
        "s:o, s:o}",
        "Id", vic_json_str(x, "id") ?: "", "Created", created_at(x) ?: "", "Path",
        json_string_value(json_array_get(argv, 0)) ?: "", "Args", args, "State", "Status",
        state ? state : "unknown", "Running", running || restarting, "Paused",
        state && strcmp(state, "paused") == 0, "Restarting", restarting, "OOMKilled",
        json_is_true(json_object_get(x, "oom_killed")), "Dead", 0, "Pid", (json_int_t)(running ? json_integer_value(json_object_get(x, "pid")) : 0),
        "ExitCode", (json_int_t)json_integer_value(json_object_get(x, "exit_code")), "Error",
        vic_json_str(x, "error") ?: "", "StartedAt", vic_json_str(x, "started_at") ?: "",
        "FinishedAt", vic_json_str(x, "finished_at") ?: "", "Image",
        image_id ? image_id : vic_json_str(x, "image") ?: "", "ResolvConfPath", "", "HostnamePath",
        "", "HostsPath", "", "LogPath", "", "Name", name, "RestartCount",
        (json_int_t)json_integer_value(json_object_get(x, "restart_count")), "Driver", ENGINE_DRIVER,
        "Platform", "linux", "MountLabel", "", "ProcessLabel", "", "AppArmorProfile", "", "ExecIDs",
        "HostConfig", inspect_hostconfig(x, rec), "GraphDriver", "Data", "Name", ENGINE_DRIVER,
        "Mounts", engine_inspect_mounts(x), "Config", inspect_config(x, rec), "NetworkSettings",
        inspect_network_settings(x));
    json_t *health = inspect_health(x);
    if (health)
        json_object_set_new(json_object_get(out, "State"), "Health", health);
    return out;
}
