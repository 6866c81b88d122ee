/*
 * containers.c - Docker's container routes over the port layer's containers (see
 * containers.h).
 */
#include "personality/containers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/caps.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "lib/timefmt.h"
#include "personality/attach.h"
#include "personality/hostconfig.h"
#include "personality/inspect.h"
#include "personality/networks.h"
#include "personality/ports.h"
#include "personality/stream.h"
#include "personality/volumes.h"

static json_t *strings_of(const json_t *a)
{
    return json_is_array(a) ? json_deep_copy(a) : json_array();
}

/* HostConfig's CapAdd, CapDrop and SecurityOpt, checked (an unknown capability or option is a
 * 400 naming it), as the port layer's cap_add, cap_drop and security_opt. */
static int create_confinement(const json_t *host, json_t **out, vic_err **err)
{
    static const char *const keys[][2] = {
        {"CapAdd", "cap_add"}, {"CapDrop", "cap_drop"}, {"SecurityOpt", "security_opt"}};
    *out = json_object();
    const char *lists[3][65];
    size_t n[3] = {0, 0, 0};
    for (size_t k = 0; k < 3; k++) {
        json_t *a = json_object_get(host, keys[k][0]);
        if (a == NULL || json_is_null(a))
            continue;
        size_t i;
        json_t *v;
        if (!json_is_array(a) || json_array_size(a) > 64)
            return vic_err_set(err, VIC_EINVAL, "invalid %s: a list of at most 64 strings",
                               keys[k][0]);
        json_array_foreach(a, i, v)
        {
            if (!json_is_string(v))
                return vic_err_set(err, VIC_EINVAL, "invalid %s: a list of strings", keys[k][0]);
            lists[k][n[k]++] = json_string_value(v);
        }
        json_object_set(*out, keys[k][1], a);
    }
    uint64_t caps;
    int rc = vic_caps_resolve(&caps, lists[0], n[0], lists[1], n[1], err);
    vic_security_opts sec = {0};
    for (size_t i = 0; rc == 0 && i < n[2]; i++)
        rc = vic_security_opt_apply(&sec, lists[2][i], err);
    return rc;
}

/* HostConfig's AutoRemove (docker run --rm) as the port layer's auto_remove: the port layer
 * removes the container when its run ends. Docker refuses it with a restart policy. */
static int create_auto_remove(const json_t *host, json_t *pc, vic_err **err)
{
    json_t *ar = json_object_get(host, "AutoRemove");
    if (ar && !json_is_boolean(ar) && !json_is_null(ar))
        return vic_err_set(err, VIC_EINVAL, "invalid AutoRemove: a boolean");
    if (!json_is_true(ar))
        return 0;
    const char *policy = vic_json_str(json_object_get(host, "RestartPolicy"), "Name");
    if (policy && *policy && strcmp(policy, "no") != 0)
        return vic_err_set(err, VIC_EINVAL,
                           "can't create 'AutoRemove' container with restart policy");
    json_object_set_new(pc, "auto_remove", json_true());
    return 0;
}

int engine_container_spec(const json_t *b, const char *name, json_t **out, vic_err **err)
{
    *out = NULL;
    if (!json_is_object(b))
        return vic_err_set(err, VIC_EINVAL, "the container config must be a JSON object");
    const char *image = vic_json_str(b, "Image");
    if (image == NULL || *image == '\0')
        return vic_err_set(err, VIC_EINVAL,
                           "No image specified: a VCH runs an image pulled "
                           "from a registry");
    /* Entrypoint and Cmd go as given; the port layer completes them from the image */
    json_t *host = json_object_get(b, "HostConfig");
    if (json_is_true(json_object_get(host, "Privileged")))
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "--privileged is not supported: each "
                           "container of a VCH is its own VM");
    json_t *confine cleanup_json = NULL;
    int crc = create_confinement(host, &confine, err);
    if (crc < 0)
        return crc;
    json_t *pc cleanup_json = json_pack("{s:s, s:o, s:b, s:b}", "image", image, "env",
                                        strings_of(json_object_get(b, "Env")), "tty",
                                        json_is_true(json_object_get(b, "Tty")), "interactive",
                                        json_is_true(json_object_get(b, "OpenStdin")));
    json_object_update(pc, confine);
    if (json_is_array(json_object_get(b, "Entrypoint")))
        json_object_set(pc, "entrypoint", json_object_get(b, "Entrypoint"));
    if (json_is_array(json_object_get(b, "Cmd")))
        json_object_set(pc, "cmd", json_object_get(b, "Cmd"));
    if (name && *name)
        json_object_set_new(pc, "name", json_string(name[0] == '/' ? name + 1 : name));
    static const char *const strs[][2] = {{"WorkingDir", "workdir"},
                                          {"User", "user"},
                                          {"Hostname", "hostname"},
                                          {"StopSignal", "stop_signal"}};
    for (size_t i = 0; i < 4; i++) {
        const char *v = vic_json_str(b, strs[i][0]);
        if (v && *v)
            json_object_set_new(pc, strs[i][1], json_string(v));
    }
    json_t *mounts = NULL, *ports = NULL, *nets = NULL;
    int mrc = engine_create_networks(b, &nets, err);
    if (mrc < 0)
        return mrc;
    if (nets)
        json_object_set_new(pc, "networks", nets);
    if ((mrc = engine_create_mounts(b, &mounts, err)) < 0)
        return mrc;
    if ((mrc = engine_create_ports(b, &ports, err)) < 0) {
        json_decref(mounts);
        return mrc;
    }
    if (json_array_size(ports))
        json_object_set_new(pc, "ports", ports);
    else
        json_decref(ports);
    if (json_array_size(mounts))
        json_object_set_new(pc, "mounts", mounts);
    else
        json_decref(mounts);
    json_int_t mem = json_integer_value(json_object_get(host, "Memory"));
    if (mem > 0)
        json_object_set_new(pc, "memory_mb", json_integer(mem / (1024 * 1024) ?: 4));
    int64_t millis = engine_hostconfig_cpu_millis(host);
    if (millis > 0 && millis % 1000 == 0) /* whole vCPUs: the VM's size is its limit */
        json_object_set_new(pc, "cpus", json_integer(millis / 1000));
    else if (millis > 0)
        json_object_set_new(pc, "cpu_millis", json_integer(millis));
    if (engine_hostconfig_cpu_shares(host))
        json_object_set_new(pc, "cpu_shares", json_integer(engine_hostconfig_cpu_shares(host)));
    if (engine_hostconfig_pids_limit(host))
        json_object_set_new(pc, "pids_limit", json_integer(engine_hostconfig_pids_limit(host)));
    const char *mac = vic_json_str(b, "MacAddress");
    if (mac && *mac)
        json_object_set_new(pc, "mac_address", json_string(mac));
    int arc = create_auto_remove(host, pc, err);
    if (arc < 0)
        return arc;
    json_t *restart = engine_hostconfig_restart_policy(host);
    if (restart)
        json_object_set_new(pc, "restart_policy", restart);
    *out = json_incref(pc);
    return 0;
}

/* The port layer's record of the image a create names; a missing one is Docker's "No such
 * image" 404, on which the docker CLI pulls and creates again. */
static int create_image(engine_ctx *c, const char *image, json_t **out, vic_err **err)
{
    cleanup_free char *esc = engine_url_escape(image);
    cleanup_free char *path = xasprintf("/images/inspect?ref=%s", esc);
    int rc = vic_httpc_json(c->pl, "GET", path, NULL, 0, out, err);
    return rc < 0 ? engine_docker_err(rc, ENGINE_OBJ_IMAGE, image, err) : 0;
}

/* HostConfig.VolumesFrom ("NAME[:ro|:rw]"): the volumes of each container named, mounted at
 * the same paths (read-only with :ro, else as they are there), into the spec pc's mounts
 * unless the create mounts something there itself. */
static int create_volumes_from(engine_ctx *c, const json_t *host, json_t *pc, vic_err **err)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(host, "VolumesFrom"), i, v)
    {
        cleanup_free char *ref = xstrdup(json_string_value(v));
        char *colon = strrchr(ref, ':');
        const char *mode = NULL;
        if (colon && (strcmp(colon + 1, "ro") == 0 || strcmp(colon + 1, "rw") == 0)) {
            mode = colon + 1;
            *colon = '\0';
        } else if (colon) {
            return vic_err_set(err, VIC_EINVAL, "invalid mode for volumes-from: %s", colon + 1);
        }
        cleanup_free char *esc = engine_url_escape(ref);
        cleanup_free char *path = xasprintf("/containers/%s", esc);
        json_t *src cleanup_json = NULL;
        int rc = vic_httpc_json(c->pl, "GET", path, NULL, 0, &src, err);
        if (rc < 0)
            return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, ref, err);
        json_t *mounts = json_object_get(pc, "mounts");
        if (mounts == NULL) {
            mounts = json_array();
            json_object_set_new(pc, "mounts", mounts);
        }
        size_t k;
        json_t *m;
        json_array_foreach(json_object_get(src, "mounts"), k, m)
        {
            const char *target = vic_json_str(m, "target"), *vol = vic_json_str(m, "volume");
            int taken = target == NULL || vol == NULL;
            size_t j;
            json_t *have;
            json_array_foreach(mounts, j, have)
            {
                taken |= !taken && strcmp(vic_json_str(have, "target") ?: "", target) == 0;
            }
            if (taken)
                continue;
            const char *was = vic_json_str(m, "mode");
            int ro = mode ? strcmp(mode, "ro") == 0 : (was && strcmp(was, "ro") == 0);
            json_array_append_new(mounts, json_pack("{s:s, s:s, s:b}", "volume", vol, "target",
                                                    target, "read_only", ro));
        }
    }
    return 0;
}

/* The limits of host (a create's HostConfig or an update's) that were given. */
static bool limits_given(const json_t *host)
{
    static const char *const keys[] = {"Memory",   "NanoCpus",  "CpuShares",
                                       "CpuQuota", "PidsLimit", NULL};
    for (const char *const *k = keys; *k; k++)
        if (json_integer_value(json_object_get(host, *k)) > 0)
            return true;
    return false;
}

/* Docker's Warnings of a create or update: what of the limits given this VCH's host does not
 * enforce (the port layer's /info), never left unsaid. New reference. */
static json_t *limit_warnings(engine_ctx *c, const json_t *host)
{
    json_t *out = json_array();
    json_t *info cleanup_json = NULL;
    vic_err *e cleanup_err = NULL;
    if (!limits_given(host))
        return out;
    if (vic_httpc_json(c->pl, "GET", "/info", NULL, 0, &info, &e) < 0)
        json_array_append_new(
            out, json_sprintf("could not ask the port layer what it enforces: %s", e->msg));
    else if (*(vic_json_str(info, "unenforced") ?: ""))
        json_array_append_new(out, json_sprintf("this VCH's host does not enforce %s",
                                                vic_json_str(info, "unenforced")));
    return out;
}

int engine_container_create_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                    vic_err **err)
{
    engine_ctx *c = payload;
    json_t *b = vic_http_req_json(req);
    const json_t *host = json_object_get(b, "HostConfig");
    int rc = engine_hostconfig_check(host, err);
    if (rc == 0)
        rc = engine_config_check(b, err);
    json_t *pc cleanup_json = NULL;
    const char *name = vic_http_req_query(req, "name");
    if (rc == 0)
        rc = engine_container_spec(b, name, &pc, err);
    if (rc < 0)
        return rc;
    json_t *img cleanup_json = NULL;
    if ((rc = create_image(c, vic_json_str(b, "Image"), &img, err)) < 0)
        return rc;
    /* Docker's merge with the image's config, recorded with the container; -P publishes
     * the image's exposed ports too */
    json_t *record cleanup_json = engine_record_make(b, img);
    json_t *exposed = json_object_get(json_object_get(record, "Config"), "ExposedPorts");
    if (json_is_true(json_object_get(host, "PublishAllPorts")) && exposed) {
        json_t *body cleanup_json = json_copy(b);
        json_object_set(body, "ExposedPorts", exposed);
        json_decref(pc);
        pc = NULL;
        if ((rc = engine_container_spec(body, name, &pc, err)) < 0)
            return rc;
    }
    if ((rc = create_volumes_from(c, host, pc, err)) < 0)
        return rc;
    engine_record_attach(pc, record);
    json_t *hc = engine_healthcheck_spec(record);
    if (hc)
        json_object_set_new(pc, "healthcheck", hc);
    json_t *created cleanup_json = NULL;
    rc = vic_httpc_json(c->pl, "POST", "/containers", pc, 120000, &created, err);
    if (rc < 0)
        return engine_create_error(c, vic_json_str(pc, "image"), rc, err);
    vic_http_resp_json(resp, 201,
                       json_pack("{s:s, s:o}", "Id", vic_json_str(created, "id"), "Warnings",
                                 limit_warnings(c, host)));
    return 0;
}

static int simple(vic_http_req *req, vic_http_resp *resp, engine_ctx *c, const char *method,
                  const char *suffix, int status, vic_err **err)
{
    cleanup_free char *path = engine_pl_path(req, suffix, err);
    if (path == NULL)
        return VIC_ENOTFOUND;
    json_t *out cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, method, path, NULL, 120000, &out, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, NULL, err);
    vic_http_resp_json(resp, status, NULL);
    return 0;
}

int engine_container_start_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                   vic_err **err)
{
    engine_ctx *c = payload;
    cleanup_free char *path = NULL;
    json_t *x cleanup_json = NULL;
    int rc = engine_container_lookup(c, req, &path, &x, err);
    if (rc < 0)
        return rc;
    const char *id = vic_json_str(x, "id");
    if (json_is_true(json_object_get(x, "running"))) {
        vic_http_resp_json(resp, 304, NULL); /* Docker: already started */
        return 0;
    }
    /* an attach of ours waits for this container: VIC's run block keeps the session from
     * running before the attach holds its channel */
    cleanup_free char *start = xasprintf("/containers/%s/start%s", id,
                                         id && engine_attach_pending(c, id) ? "?attach=1" : "");
    json_t *out cleanup_json = NULL;
    rc = vic_httpc_json(c->pl, "POST", start, NULL, 120000, &out, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, NULL, err);
    vic_http_resp_json(resp, 204, NULL);
    return 0;
}

int engine_container_kill_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err)
{
    const char *sig = vic_http_req_query(req, "signal");
    if (sig && strspn(sig, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") !=
                   strlen(sig))
        return vic_err_set(err, VIC_EINVAL, "invalid signal: %s", sig);
    cleanup_free char *suffix = xasprintf("/kill?signal=%s", sig && *sig ? sig : "KILL");
    return simple(req, resp, payload, "POST", suffix, 204, err);
}

/* The port layer's stop for the request: its t, else the container's StopTimeout (docker run
 * --stop-timeout), else the port layer's default grace. Caller frees. */
static char *stop_suffix(vic_http_req *req, engine_ctx *c)
{
    const char *t = vic_http_req_query(req, "t");
    if (t)
        return xasprintf("/stop?t=%ld", strtol(t, NULL, 10));
    cleanup_free char *path = engine_pl_path(req, "", NULL);
    json_t *x cleanup_json = NULL;
    vic_err *e cleanup_err = NULL;
    if (path && vic_httpc_json(c->pl, "GET", path, NULL, 0, &x, &e) == 0) {
        json_t *rec cleanup_json = engine_record_of(x);
        json_t *st = json_object_get(json_object_get(rec, "Config"), "StopTimeout");
        if (json_is_integer(st))
            return xasprintf("/stop?t=%lld", (long long)json_integer_value(st));
    }
    return xstrdup("/stop");
}

int engine_container_stop_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err)
{
    cleanup_free char *suffix = stop_suffix(req, payload);
    return simple(req, resp, payload, "POST", suffix, 204, err);
}

int engine_container_remove_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                    vic_err **err)
{
    const char *f = vic_http_req_query(req, "force"), *v = vic_http_req_query(req, "v");
    int force = f && strcmp(f, "0") && strcmp(f, "false");
    int volumes = v && strcmp(v, "0") && strcmp(v, "false");
    const char *q = force && volumes ? "?force=1&v=1" : force ? "?force=1" : volumes ? "?v=1" : "";
    return simple(req, resp, payload, "DELETE", q, 204, err);
}

int engine_container_inspect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                     vic_err **err)
{
    engine_ctx *c = payload;
    /* guest=1: with the pid of its guest, which only inspect shows */
    cleanup_free char *path = engine_pl_path(req, "?guest=1", err);
    if (path == NULL)
        return VIC_ENOTFOUND;
    json_t *x cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "GET", path, NULL, 0, &x, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, vic_http_req_param(req, "id"), err);
    vic_http_resp_json(resp, 200, engine_container_inspect(x));
    return 0;
}

/* Waiting may take as long as the container runs: a thread of its own waits on the port
 * layer and answers through a stream, so no server thread blocks. */
typedef struct waiter {
    engine_ctx *c;
    char *inspect;    /* the container's port layer path, by its full id */
    char *started_at; /* when the run the wait began with started */
    int next_exit;    /* condition next-exit or removed: wait for a run after this one */
    int removed;      /* condition removed: answer once the container is gone */
    vic_http_stream *s;
} waiter;

/* The pause before the next look at a container: 5 ms for the first two seconds, so that a
 * container that exits at once is seen at once (docker run --rm true), then growing to
 * 100 ms, so that a long wait costs the port layer ten requests a second. *n counts looks. */
static void wait_nap(long *n)
{
    long ms = *n < 400 ? 5 : *n < 420 ? 5 + (*n - 400) * 5 : 100;
    struct timespec nap = {0, ms * 1000 * 1000};
    nanosleep(&nap, NULL);
    (*n)++;
}

/* How a container that went away during the wait ended: the port layer keeps the status of
 * those it removed itself (AutoRemove) for a while. */
static int wait_gone_status(const waiter *w, int64_t *code, vic_err **err)
{
    cleanup_free char *path = xasprintf("%s/wait?timeout=0", w->inspect);
    json_t *out cleanup_json = NULL;
    int rc = vic_httpc_json(w->c->pl, "POST", path, NULL, 0, &out, err);
    if (rc == 0)
        *code = json_integer_value(json_object_get(out, "exit_code"));
    return rc;
}

/* Removes the waited-for container (stopped) with its anonymous volumes, as --rm does. */
static int wait_remove(const waiter *w)
{
    cleanup_free char *rm = xasprintf("%s?v=1", w->inspect);
    json_t *out cleanup_json = NULL;
    return vic_httpc_json(w->c->pl, "DELETE", rm, NULL, 0, &out, NULL);
}

static void *wait_thread(void *p)
{
    waiter *w = p;
    long looks = 0;
    vic_err *err = NULL;
    int rc = 0;
    /* next-exit of a container that is not running: its next run must start first (docker
     * run waits before it starts the container) */
    while (w->next_exit && vic_http_stream_alive(w->s)) {
        json_t *x = NULL;
        if (vic_httpc_json(w->c->pl, "GET", w->inspect, NULL, 0, &x, NULL) < 0)
            break; /* gone already (an AutoRemove run that ended at once), or an error: below */
        const char *at = vic_json_str(x, "started_at");
        int begun = json_is_true(json_object_get(x, "running")) ||
                    (at && strcmp(at, w->started_at) && strncmp(at, "0001-", 5));
        json_decref(x);
        if (begun)
            break;
        wait_nap(&looks);
    }
    looks = 0;
    /* The port layer's own wait holds one of its server threads for as long as it waits:
     * poll the container's state instead, which holds none, while the client is there. With
     * condition removed the wait goes on after the exit until the container is gone (an
     * AutoRemove container: the port layer removes it), as Docker's does. */
    int64_t code = 0;
    int exited = 0;
    for (;;) {
        vic_err_free(&err);
        json_t *x = NULL;
        rc = vic_httpc_json(w->c->pl, "GET", w->inspect, NULL, 0, &x, &err);
        if (rc == VIC_ENOTFOUND) {
            /* removed: the status the port layer recorded when it removed the container, or
             * the one we saw it end with */
            vic_err_free(&err);
            int64_t last = 0;
            rc = wait_gone_status(w, &last, &err);
            if (rc == 0)
                code = last;
            else if (exited)
                rc = 0;
            break;
        }
        if (rc < 0)
            break;
        const char *power = vic_json_str(json_object_get(x, "vm"), "power");
        int off = power == NULL || strcmp(power, "poweredOn") != 0;
        const char *state = vic_json_str(x, "state");
        /* a run of an AutoRemove container that ended (never started: it stays) */
        int ended_rm = json_is_true(json_object_get(x, "auto_remove")) && state &&
                       strcmp(state, "exited") == 0;
        if (off) {
            code = json_integer_value(json_object_get(x, "exit_code"));
            exited = 1;
        }
        json_decref(x);
        if (off && !w->removed)
            break;
        /* The port layer removes an AutoRemove container once it sees it off; asking for
         * the removal at once spares a waiting client (docker run --rm) that moment. Without
         * force: a run that began meanwhile keeps it. */
        if (off && ended_rm && wait_remove(w) == 0)
            break;
        if (!vic_http_stream_alive(w->s)) {
            rc = vic_err_set(&err, VIC_EUNAVAIL, "the client left");
            break;
        }
        wait_nap(&looks);
    }
    json_t *answer = rc == 0 ? json_pack("{s:I, s:n}", "StatusCode", (json_int_t)code, "Error")
                             : json_pack("{s:i, s:{s:s}}", "StatusCode", -1, "Error", "Message",
                                         err ? err->msg : "wait failed");
    char *text = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
    char *body = xasprintf("%s\n", text ? text : "{}");
    free(text);
    vic_http_stream_write(w->s, body, strlen(body), NULL);
    vic_http_stream_close(w->s);
    vic_http_stream_release(w->s);
    free(body);
    vic_err_free(&err);
    free(w->inspect);
    free(w->started_at);
    free(w);
    return NULL;
}

int engine_container_wait_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err)
{
    engine_ctx *c = payload;
    cleanup_free char *path = NULL;
    json_t *x cleanup_json = NULL;
    int rc = engine_container_lookup(c, req, &path, &x, err);
    if (rc < 0)
        return rc;
    const char *cond = vic_http_req_query(req, "condition");
    waiter *w = xzalloc(sizeof(*w));
    w->c = c;
    /* by id: the name may pass to another container once this one is removed */
    w->inspect = xasprintf("/containers/%s", vic_json_str(x, "id") ?: "");
    w->removed = cond && strcmp(cond, "removed") == 0;
    w->next_exit = !json_is_true(json_object_get(x, "running")) && cond &&
                   (strcmp(cond, "next-exit") == 0 || w->removed);
    w->started_at = xstrdup(vic_json_str(x, "started_at") ?: "");
    w->s = vic_http_resp_stream(resp, 200, "application/json");
    pthread_t th;
    if (pthread_create(&th, NULL, wait_thread, w) != 0) {
        vic_http_stream_close(w->s);
        vic_http_stream_release(w->s);
        free(w->inspect);
        free(w->started_at);
        free(w);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start a waiter");
    }
    pthread_detach(th);
    return 0;
}

/* ---- stats: Docker's format from the port layer's CPU and memory figures ---- */

typedef struct stats_job {
    engine_ctx *c;
    char *path; /* the port layer's /containers/{id}/stats */
    char *name;
    char *id;
    int stream;   /* one object a second until the client leaves; else one, then the end */
    int one_shot; /* without stream: the first sample at once, with no precpu figures */
    vic_http_stream *s;
} stats_job;

/* One Docker stats object from two samples (prev may be NULL: the first of a stream). The
 * host's CPU time is the elapsed time on every CPU, which is what the CLI divides by. */
static json_t *docker_stats(const stats_job *j, const json_t *cur, const json_t *prev)
{
    int64_t t = json_integer_value(json_object_get(cur, "time_ns"));
    int64_t cpus = json_integer_value(json_object_get(cur, "cpus"));
    int64_t pt = prev ? json_integer_value(json_object_get(prev, "time_ns")) : 0;
    char read[64], preread[64];
    vic_rfc3339(read, sizeof(read), t);
    vic_rfc3339(preread, sizeof(preread), pt);
    int64_t mem = json_integer_value(json_object_get(cur, "memory_bytes"));
    int64_t limit = json_integer_value(json_object_get(cur, "memory_limit_bytes"));
    if (limit <= 0) {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        limit = pages > 0 && size > 0 ? (int64_t)pages * size : 0;
    }
    json_t *out = json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:{s:I, s:I, s:I}, s:I, s:I}, s:{s:{s:I, s:I, s:I}, s:I, s:I},"
        " s:{s:I, s:I, s:{}}, s:{s:I}, s:I, s:{s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:n}, s:{}}",
        "read", read, "preread", preread, "name", j->name, "id", j->id, "cpu_stats", "cpu_usage",
        "total_usage", (json_int_t)json_integer_value(json_object_get(cur, "cpu_ns")),
        "usage_in_kernelmode", (json_int_t)0, "usage_in_usermode", (json_int_t)0,
        "system_cpu_usage", (json_int_t)(t * (cpus > 0 ? cpus : 1)), "online_cpus",
        (json_int_t)cpus, "precpu_stats", "cpu_usage", "total_usage",
        (json_int_t)(prev ? json_integer_value(json_object_get(prev, "cpu_ns")) : 0),
        "usage_in_kernelmode", (json_int_t)0, "usage_in_usermode", (json_int_t)0,
        "system_cpu_usage", (json_int_t)(pt * (cpus > 0 ? cpus : 1)), "online_cpus",
        (json_int_t)cpus, "memory_stats", "usage", (json_int_t)mem, "limit", (json_int_t)limit,
        "stats", "pids_stats", "current",
        (json_int_t)json_integer_value(json_object_get(cur, "pids")), "num_procs", (json_int_t)0,
        "blkio_stats", "io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
        "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
        "io_time_recursive", "sectors_recursive", "storage_stats");
    /* the guest's interfaces, where the port layer can read them (Docker leaves them out
     * for a container without a network) */
    json_t *nets = json_object_get(cur, "networks");
    if (out && json_object_size(nets))
        json_object_set(out, "networks", nets);
    /* the VM's own process limit and its disks' IO, as cgroup v1's blkio reports them */
    int64_t pids_limit = json_integer_value(json_object_get(cur, "pids_limit"));
    if (out && pids_limit > 0)
        json_object_set_new(json_object_get(out, "pids_stats"), "limit", json_integer(pids_limit));
    if (out && json_is_true(json_object_get(cur, "running")))
        json_object_set_new(
            json_object_get(out, "blkio_stats"), "io_service_bytes_recursive",
            json_pack("[{s:i, s:i, s:s, s:I}, {s:i, s:i, s:s, s:I}]", "major", 0, "minor", 0, "op",
                      "Read", "value",
                      (json_int_t)json_integer_value(json_object_get(cur, "io_read_bytes")),
                      "major", 0, "minor", 0, "op", "Write", "value",
                      (json_int_t)json_integer_value(json_object_get(cur, "io_write_bytes"))));
    return out;
}

/* A boolean query parameter as Docker reads one: absent or empty is dflt; "0", "no",
 * "false" and "none", in any case, are false (the docker SDK sends "False"). */
static int query_bool(const char *v, int dflt)
{
    if (v == NULL || *v == '\0')
        return dflt;
    static const char *const no[] = {"0", "no", "false", "none"};
    for (size_t i = 0; i < 4; i++)
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    return 1;
}

static void *stats_thread(void *p)
{
    stats_job *j = p;
    json_t *prev = NULL;
    while (vic_http_stream_alive(j->s)) {
        json_t *cur = NULL;
        if (vic_httpc_json(j->c->pl, "GET", j->path, NULL, 0, &cur, NULL) < 0)
            break;
        /* a one-shot answer still needs two samples for a CPU share: Docker's takes the
         * second a second after the first (one-shot: none) */
        if (prev || j->stream || j->one_shot) {
            json_t *out = docker_stats(j, cur, prev);
            cleanup_free char *text = json_dumps(out, JSON_COMPACT);
            json_decref(out);
            cleanup_free char *line = xasprintf("%s\n", text);
            if (vic_http_stream_write(j->s, line, strlen(line), NULL) < 0 || !j->stream) {
                json_decref(cur);
                break;
            }
        }
        json_decref(prev);
        prev = cur;
        for (int i = 0; i < 10 && vic_http_stream_alive(j->s); i++) {
            struct timespec nap = {0, 100 * 1000 * 1000};
            nanosleep(&nap, NULL);
        }
    }
    json_decref(prev);
    vic_http_stream_close(j->s);
    vic_http_stream_release(j->s);
    free(j->path);
    free(j->name);
    free(j->id);
    free(j);
    return NULL;
}

int engine_container_stats_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                   vic_err **err)
{
    engine_ctx *c = payload;
    cleanup_free char *path = NULL;
    json_t *x cleanup_json = NULL;
    int rc = engine_container_lookup(c, req, &path, &x, err);
    if (rc < 0)
        return rc;
    stats_job *j = xzalloc(sizeof(*j));
    j->c = c;
    j->path = xasprintf("%s/stats", path);
    j->name = xasprintf("/%s", vic_json_str(x, "name") ?: "");
    j->id = xstrdup(vic_json_str(x, "id") ?: "");
    j->stream = query_bool(vic_http_req_query(req, "stream"), 1);
    j->one_shot = !j->stream && query_bool(vic_http_req_query(req, "one-shot"), 0);
    j->s = vic_http_resp_stream(resp, 200, "application/json");
    pthread_t th;
    if (pthread_create(&th, NULL, stats_thread, j) != 0) {
        vic_http_stream_close(j->s);
        vic_http_stream_release(j->s);
        free(j->path);
        free(j->name);
        free(j->id);
        free(j);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start the stats");
    }
    pthread_detach(th);
    return 0;
}

/* ---- restart and rename ---- */

int engine_container_restart_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                     vic_err **err)
{
    /* one call: the port layer keeps an auto-remove container through its stop */
    cleanup_free char *stop = stop_suffix(req, payload);
    const char *t = strchr(stop, '?');
    cleanup_free char *suffix = xasprintf("/restart%s", t ? t : "");
    return simple(req, resp, payload, "POST", suffix, 204, err);
}

int engine_container_rename_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                    vic_err **err)
{
    const char *name = vic_http_req_query(req, "name");
    if (name == NULL || *name == '\0')
        return vic_err_set(err, VIC_EINVAL, "a new name is required");
    /* the port layer checks the name; only characters that need no escaping get there */
    if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
        strlen(name))
        return vic_err_set(err, VIC_EINVAL,
                           "Invalid container name (%.64s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                           "allowed",
                           name);
    cleanup_free char *suffix = xasprintf("/rename?name=%s", name);
    return simple(req, resp, payload, "POST", suffix, 204, err);
}

int engine_container_pause_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                   vic_err **err)
{
    return simple(req, resp, payload, "POST", "/pause", 204, err);
}

int engine_container_unpause_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                     vic_err **err)
{
    return simple(req, resp, payload, "POST", "/unpause", 204, err);
}

/* The fields of a docker update that change the container's HostConfig as Docker reads them:
 * a zero value (or a null PidsLimit) leaves a field as it is. */
static const char *const update_keys[] = {"Memory",   "MemorySwap", "NanoCpus", "CpuShares",
                                          "CpuQuota", "CpuPeriod",  "PidsLimit"};

int engine_container_update_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                    vic_err **err)
{
    engine_ctx *c = payload;
    const json_t *b = vic_http_req_json(req);
    json_t *empty cleanup_json = json_object();
    const json_t *body = json_is_object(b) ? b : empty;
    if (b && !json_is_null(b) && !json_is_object(b))
        return vic_err_set(err, VIC_EINVAL, "invalid update: a JSON object");
    /* an update is HostConfig's resources and restart policy: Docker's checks, and what a
     * VCH cannot honour refused */
    int rc = engine_hostconfig_check(body, err);
    if (rc < 0)
        return rc;
    cleanup_free char *path = NULL;
    json_t *x cleanup_json = NULL;
    if ((rc = engine_container_lookup(c, req, &path, &x, err)) < 0)
        return rc;
    json_t *u cleanup_json = json_object();
    json_int_t mem = json_integer_value(json_object_get(body, "Memory"));
    if (mem > 0)
        json_object_set_new(u, "memory_mb", json_integer((mem + (1 << 20) - 1) >> 20));
    int64_t millis = engine_hostconfig_cpu_millis(body);
    if (millis > 0)
        json_object_set_new(u, "cpu_millis", json_integer(millis));
    if (engine_hostconfig_cpu_shares(body))
        json_object_set_new(u, "cpu_shares", json_integer(engine_hostconfig_cpu_shares(body)));
    const json_t *pids = json_object_get(body, "PidsLimit");
    if (json_is_integer(pids))
        json_object_set_new(u, "pids_limit", json_integer(engine_hostconfig_pids_limit(body)));
    json_t *restart = engine_hostconfig_restart_policy(body);
    if (restart)
        json_object_set_new(u, "restart_policy", restart);
    /* the record inspect reads keeps the new values */
    json_t *rec cleanup_json = engine_record_of(x);
    if (rec == NULL)
        rec = json_object();
    json_t *hc = json_object_get(rec, "HostConfig");
    if (!json_is_object(hc)) {
        hc = json_object();
        json_object_set_new(rec, "HostConfig", hc);
    }
    for (size_t i = 0; i < sizeof(update_keys) / sizeof(update_keys[0]); i++) {
        const json_t *v = json_object_get(body, update_keys[i]);
        if (json_is_integer(v) &&
            (json_integer_value(v) != 0 || strcmp(update_keys[i], "PidsLimit") == 0))
            json_object_set_new(hc, update_keys[i], json_integer(json_integer_value(v)));
    }
    if (millis > 0 && json_integer_value(json_object_get(body, "NanoCpus")) > 0) {
        json_object_del(hc, "CpuQuota"); /* one way of saying it at a time */
        json_object_del(hc, "CpuPeriod");
    } else if (millis > 0) {
        json_object_del(hc, "NanoCpus");
    }
    const char *rname = vic_json_str(json_object_get(body, "RestartPolicy"), "Name");
    if (rname && *rname)
        json_object_set(hc, "RestartPolicy", json_object_get(body, "RestartPolicy"));
    json_t *notes = json_deep_copy(json_object_get(x, "annotations"));
    if (!json_is_object(notes)) {
        json_decref(notes);
        notes = json_object();
    }
    char *text = json_dumps(rec, JSON_COMPACT);
    json_object_set_new(notes, ENGINE_RECORD_KEY, json_string(text ? text : "{}"));
    free(text);
    json_object_set_new(u, "annotations", notes);
    cleanup_free char *up = xasprintf("%s/update", path);
    json_t *out cleanup_json = NULL;
    if ((rc = vic_httpc_json(c->pl, "POST", up, u, 120000, &out, err)) < 0)
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, NULL, err);
    vic_http_resp_json(resp, 200, json_pack("{s:o}", "Warnings", limit_warnings(c, body)));
    return 0;
}
