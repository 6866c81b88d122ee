/*
 * server.c - port-layer-server's routes and handlers (see server.h); portlayer/openapi.json
 * documents the same routes, and a unit test holds the two in step.
 */
#include "portlayer/server.h"

#include "portlayer/dns.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/execconfig.h"
#include "lib/attach.h"
#include "lib/caps.h"
#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/serial.h"
#include "lib/timefmt.h"
#include "portlayer/archive.h"
#include "portlayer/changes.h"
#include "portlayer/commit.h"
#include "portlayer/imagearchive.h"
#include "portlayer/regauth.h"

int pl_server_auth(vic_http_req *req, const vic_http_route *route, void *payload, vic_err **err)
{
    (void)route;
    pl_server_ctx *c = payload;
    const char *h = vic_http_req_header(req, "Authorization");
    if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
        return vic_err_set(err, VIC_EAUTH, "the port layer needs its Bearer token");
    if (!vic_ct_streq(h + 7, c->token))
        return vic_err_set(err, VIC_EAUTH, "wrong port layer token");
    vic_http_req_set_principal(req, "personality", "token");
    return 0;
}

static int version_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)payload, (void)err;
    vic_http_resp_json(resp, 200,
                       json_pack("{s:s, s:s}", "name", "port-layer-server", "api", "v1"));
    return 0;
}

static int openapi_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req, (void)payload, (void)err;
    vic_http_resp_text(resp, 200, "application/json", pl_openapi_json, strlen(pl_openapi_json));
    return 0;
}

/* ---- containers ---- */

static const vic_schema_field mount_fields[] = {
    {.name = "volume", .type = VIC_JSON_STRING, .min = 2, .max = 128},
    {.name = "target", .type = VIC_JSON_STRING, .required = 1, .min = 1, .max = 1024},
    {.name = "read_only", .type = VIC_JSON_BOOL},
};
static const vic_schema mount_schema = VIC_SCHEMA(mount_fields);

static const char *const port_protocols[] = {"tcp", "udp", NULL};
static const vic_schema_field port_fields[] = {
    {.name = "host_ip", .type = VIC_JSON_STRING, .min = 1, .max = 64},
    {.name = "host_port", .type = VIC_JSON_INT, .min = 0, .max = 65535},
    {.name = "container_port", .type = VIC_JSON_INT, .required = 1, .min = 1, .max = 65535},
    {.name = "protocol", .type = VIC_JSON_STRING, .choices = port_protocols},
};
static const vic_schema port_schema = VIC_SCHEMA(port_fields);

static const vic_schema_field attach_fields[] = {
    {.name = "name", .type = VIC_JSON_STRING, .required = 1, .min = 1, .max = 64},
    {.name = "aliases", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 16},
    {.name = "ip", .type = VIC_JSON_STRING, .min = 7, .max = 15},
};
static const vic_schema attach_schema = VIC_SCHEMA(attach_fields);

static const vic_schema_field restart_fields[] = {
    {.name = "name", .type = VIC_JSON_STRING, .max = 32},
    {.name = "maximum_retry_count", .type = VIC_JSON_INT, .min = 0, .max = 1 << 30},
};
static const vic_schema restart_schema = VIC_SCHEMA(restart_fields);

static const vic_schema_field create_fields[] = {
    {.name = "name", .type = VIC_JSON_STRING, .min = 1, .max = 64},
    {.name = "image", .type = VIC_JSON_STRING, .required = 1, .min = 1, .max = 512},
    {.name = "cmd", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 4096},
    {.name = "entrypoint", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 4096},
    {.name = "env", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 4096},
    {.name = "workdir", .type = VIC_JSON_STRING, .max = 4096},
    {.name = "user", .type = VIC_JSON_STRING, .max = 256},
    {.name = "hostname", .type = VIC_JSON_STRING, .max = 63},
    {.name = "stop_signal", .type = VIC_JSON_STRING, .max = 16},
    {.name = "tty", .type = VIC_JSON_BOOL},
    {.name = "interactive", .type = VIC_JSON_BOOL},
    {.name = "auto_remove", .type = VIC_JSON_BOOL},
    {.name = "mac_address", .type = VIC_JSON_STRING, .min = 17, .max = 17},
    {.name = "annotations", .type = VIC_JSON_OBJECT},
    {.name = "restart_policy", .type = VIC_JSON_OBJECT, .object = &restart_schema},
    {.name = "healthcheck", .type = VIC_JSON_OBJECT},
    {.name = "cap_add", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 64},
    {.name = "cap_drop", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 64},
    {.name = "security_opt", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 16},
    {.name = "cpus", .type = VIC_JSON_INT, .min = 1, .max = 64},
    {.name = "memory_mb", .type = VIC_JSON_INT, .min = 4, .max = 1 << 20},
    {.name = "cpu_millis", .type = VIC_JSON_INT, .min = 0, .max = 64000},
    {.name = "cpu_shares", .type = VIC_JSON_INT, .min = 0, .max = 262144},
    {.name = "pids_limit", .type = VIC_JSON_INT, .min = 0, .max = 1 << 22},
    {.name = "mounts",
     .type = VIC_JSON_ARRAY,
     .items = VIC_JSON_OBJECT,
     .object = &mount_schema,
     .max = PL_MAX_MOUNTS},
    {.name = "ports",
     .type = VIC_JSON_ARRAY,
     .items = VIC_JSON_OBJECT,
     .object = &port_schema,
     .max = PL_MAX_PORTS},
    {.name = "networks",
     .type = VIC_JSON_ARRAY,
     .items = VIC_JSON_OBJECT,
     .object = &attach_schema,
     .max = PL_MAX_NETWORKS},
};
static const vic_schema create_schema = VIC_SCHEMA(create_fields);

/* The volumes a create mounts: named ones are used (and made when absent, as Docker does),
 * a mount without a name gets an anonymous volume. made lists those this call created, so a
 * failed create can take them back. */
typedef struct mount_set {
    pl_mount m[PL_MAX_MOUNTS];
    char *names[PL_MAX_MOUNTS];
    char *disks[PL_MAX_MOUNTS];
    size_t n;
    json_t *made;
} mount_set;

static void mounts_undo(pl_server_ctx *c, mount_set *ms)
{
    size_t i;
    json_t *name;
    json_array_foreach(ms->made, i, name)
    {
        vic_err *e = NULL;
        pl_volume_remove(c->volumes, json_string_value(name), &e);
        vic_err_free(&e);
    }
}

static void mounts_clear(mount_set *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        free(ms->names[i]);
        free(ms->disks[i]);
    }
    json_decref(ms->made);
    memset(ms, 0, sizeof(*ms));
}

static int mounts_prepare(pl_server_ctx *c, const json_t *mounts, mount_set *ms, vic_err **err)
{
    memset(ms, 0, sizeof(*ms));
    ms->made = json_array();
    if (json_array_size(mounts) == 0)
        return 0;
    if (c->volumes == NULL)
        return vic_err_set(err, VIC_EUNSUPPORTED, "this port layer has no volume stores attached");
    size_t i;
    json_t *mt;
    json_array_foreach(mounts, i, mt)
    {
        const char *name = vic_json_str(mt, "volume");
        int rc = 0;
        json_t *found cleanup_json = NULL;
        if (name == NULL || pl_volume_get(c->volumes, name, &found, NULL) < 0) {
            json_t *made cleanup_json = NULL;
            pl_volume_spec vs = {.name = name};
            rc = pl_volume_create(c->volumes, &vs, &made, err);
            if (rc == 0)
                json_array_append(ms->made, json_object_get(made, "name"));
            name = vic_json_str(made, "name");
            if (rc == 0)
                ms->names[i] = xstrdup(name);
        } else {
            ms->names[i] = xstrdup(name);
        }
        ms->n = i + 1;
        if (rc == 0)
            rc = pl_volume_disk(c->volumes, ms->names[i], &ms->disks[i], err);
        if (rc < 0) {
            mounts_undo(c, ms);
            return vic_err_wrap(err, rc, "mounts[%zu]", i);
        }
        ms->m[i] = (pl_mount){.volume = ms->names[i],
                              .disk = ms->disks[i],
                              .target = vic_json_str(mt, "target"),
                              .read_only = json_is_true(json_object_get(mt, "read_only"))};
    }
    return 0;
}

typedef struct rootfs_call {
    pl_server_ctx *ctx;
    const char *image;
} rootfs_call;

static int build_rootfs(const char *dir, const pl_idmap *ids, void *payload, vic_err **err)
{
    rootfs_call *r = payload;
    return r->ctx->rootfs_for(r->image, dir, ids, r->ctx->rootfs_payload, err);
}

static const char **strings(const json_t *arr, size_t *n)
{
    *n = json_array_size(arr);
    const char **out = xcalloc(*n + 1, sizeof(char *));
    for (size_t i = 0; i < *n; i++)
        out[i] = json_string_value(json_array_get(arr, i));
    return out;
}

/* The networks a create joins: "networks" as given ([] for none), or the default bridge. */
typedef struct net_set {
    pl_net_attach a[PL_MAX_NETWORKS];
    json_t *found[PL_MAX_NETWORKS];
    const char **aliases[PL_MAX_NETWORKS];
    size_t n;
} net_set;

static void nets_clear(net_set *ns)
{
    for (size_t i = 0; i < ns->n; i++) {
        json_decref(ns->found[i]);
        free(ns->aliases[i]);
    }
    ns->n = 0;
}

static int nets_prepare(pl_server_ctx *c, const json_t *given, net_set *ns, vic_err **err)
{
    memset(ns, 0, sizeof(*ns));
    if (c->networks == NULL)
        return 0;
    json_t *dflt cleanup_json = json_pack("[{s:s}]", "name", "bridge");
    const json_t *list = given ? given : dflt;
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        const char *name = vic_json_str(x, "name");
        json_t *net = NULL;
        int rc = pl_network_get(c->networks, name, &net, err);
        if (rc == 0 && strcmp(vic_json_str(net, "driver"), "null") == 0) {
            json_decref(net);
            if (json_array_size(list) > 1)
                return vic_err_set(err, VIC_EINVAL,
                                   "container cannot be disconnected from host network or "
                                   "connected to host network: none cannot join other networks");
            return 0; /* "none": loopback only */
        }
        if (rc < 0)
            return rc;
        size_t na = 0;
        ns->found[ns->n] = net;
        ns->aliases[ns->n] = strings(json_object_get(x, "aliases"), &na);
        ns->a[ns->n] = (pl_net_attach){.name = vic_json_str(net, "name"),
                                       .id = vic_json_str(net, "id"),
                                       .subnet = vic_json_str(net, "subnet"),
                                       .gateway = vic_json_str(net, "gateway"),
                                       .ip = vic_json_str(x, "ip"),
                                       .aliases = ns->aliases[ns->n],
                                       .n_aliases = na};
        ns->n++;
    }
    return 0;
}

static int create_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    json_t *body = vic_http_req_json(req);
    json_t *problems = NULL;
    int rc = vic_json_validate(body, &create_schema, &problems, err);
    if (rc < 0) {
        json_decref(problems);
        return rc;
    }
    if (c->rootfs_for == NULL)
        return vic_err_set(err, VIC_EUNAVAIL, "this port layer has no image store attached");
    /* Docker's rules: the image's entrypoint unless one is given, then the given command, or
     * the image's when neither was given; the image's environment under the given one. */
    json_t *image_cfg cleanup_json = NULL;
    cleanup_free char *image_id = NULL;
    if (c->images) {
        json_t *rec = NULL;
        const char *image = vic_json_str(body, "image");
        if ((rc = pl_imagestore_inspect(&rec, c->images, image, err)) < 0)
            return rc == VIC_ENOTFOUND ? vic_err_set(err, VIC_ENOTFOUND, "No such image: %s", image)
                                       : rc;
        image_cfg = json_incref(json_object_get(rec, "config"));
        image_id = xstrdup(vic_json_str(rec, "id") ?: "");
        json_decref(rec);
    }
    json_t *given_ep = json_object_get(body, "entrypoint"),
           *given_cmd = json_object_get(body, "cmd");
    json_t *argv cleanup_json = json_array();
    json_t *ep = given_ep ? given_ep : json_object_get(image_cfg, "entrypoint");
    if (json_is_array(ep))
        json_array_extend(argv, ep);
    json_t *cm = given_cmd ? given_cmd : (given_ep ? NULL : json_object_get(image_cfg, "cmd"));
    if (json_is_array(cm))
        json_array_extend(argv, cm);
    /* Docker's merge: the given entries, then the image's whose name none of them has (a
     * given "NAME" without "=" counts: it keeps the image's NAME out too) */
    json_t *envs cleanup_json = json_array();
    if (json_is_array(json_object_get(body, "env")))
        json_array_extend(envs, json_object_get(body, "env"));
    size_t ei;
    json_t *e;
    json_array_foreach(json_object_get(image_cfg, "env"), ei, e)
    {
        const char *kv = json_string_value(e);
        size_t klen = kv ? strcspn(kv, "=") : 0;
        int overridden = 0;
        size_t gi;
        json_t *g;
        json_array_foreach(json_object_get(body, "env"), gi, g)
        {
            const char *gv = json_string_value(g);
            overridden |= gv && strcspn(gv, "=") == klen && strncmp(gv, kv, klen) == 0;
        }
        if (kv && !overridden)
            json_array_append(envs, e);
    }
    size_t n_cmd, n_env;
    cleanup_free const char **cmd = strings(argv, &n_cmd);
    cleanup_free const char **env = strings(envs, &n_env);
    mount_set ms;
    if ((rc = mounts_prepare(c, json_object_get(body, "mounts"), &ms, err)) < 0) {
        mounts_clear(&ms);
        return rc;
    }
    pl_port ports[PL_MAX_PORTS];
    size_t n_ports = 0;
    size_t pi;
    json_t *pj;
    json_array_foreach(json_object_get(body, "ports"), pi, pj)
    {
        ports[n_ports++] = (pl_port){
            .host_ip = vic_json_str(pj, "host_ip"),
            .host_port = (int)json_integer_value(json_object_get(pj, "host_port")),
            .container_port = (int)json_integer_value(json_object_get(pj, "container_port")),
            .udp =
                vic_json_str(pj, "protocol") && strcmp(vic_json_str(pj, "protocol"), "udp") == 0};
    }
    net_set ns;
    if ((rc = nets_prepare(c, json_object_get(body, "networks"), &ns, err)) < 0) {
        nets_clear(&ns);
        mounts_clear(&ms);
        return rc;
    }
    uint64_t caps = 0;
    vic_security_opts sec = {0};
    size_t n_add, n_drop;
    cleanup_free const char **add = strings(json_object_get(body, "cap_add"), &n_add);
    cleanup_free const char **drop = strings(json_object_get(body, "cap_drop"), &n_drop);
    rc = vic_caps_resolve(&caps, add, n_add, drop, n_drop, err);
    size_t si;
    json_t *so;
    json_array_foreach(json_object_get(body, "security_opt"), si, so)
    {
        if (rc == 0)
            rc = vic_security_opt_apply(&sec, json_string_value(so), err);
    }
    if (rc < 0) {
        nets_clear(&ns);
        mounts_clear(&ms);
        return rc;
    }
    cleanup_free char *caps_list = vic_caps_format(caps);
    rootfs_call call = {c, vic_json_str(body, "image")};
    pl_create_spec s = {
        .name = vic_json_str(body, "name"),
        .image = call.image,
        .image_id = image_id,
        .cmd = cmd,
        .n_cmd = n_cmd,
        .env = env,
        .n_env = n_env,
        .workdir = vic_json_str(body, "workdir") ?: vic_json_str(image_cfg, "working_dir"),
        .user = vic_json_str(body, "user") ?: vic_json_str(image_cfg, "user"),
        .hostname = vic_json_str(body, "hostname"),
        .stop_signal = vic_json_str(body, "stop_signal") ?: vic_json_str(image_cfg, "stop_signal"),
        .tty = json_is_true(json_object_get(body, "tty")),
        .interactive = json_is_true(json_object_get(body, "interactive")),
        .cpus = (int)json_integer_value(json_object_get(body, "cpus")),
        .memory_mb = json_integer_value(json_object_get(body, "memory_mb")),
        .limits = {.cpu_millis = json_integer_value(json_object_get(body, "cpu_millis")),
                   .cpu_shares = (int)json_integer_value(json_object_get(body, "cpu_shares")),
                   .pids = json_integer_value(json_object_get(body, "pids_limit"))},
        .mounts = ms.m,
        .n_mounts = ms.n,
        .ports = ports,
        .n_ports = n_ports,
        .networks = ns.a,
        .n_networks = ns.n,
        .caps = caps_list,
        .no_new_privs = sec.no_new_privileges,
        .seccomp_unconfined = sec.seccomp_unconfined,
        .auto_remove = json_is_true(json_object_get(body, "auto_remove")),
        .mac_address = vic_json_str(body, "mac_address"),
        .annotations = json_object_get(body, "annotations"),
        .restart_policy = vic_json_str(json_object_get(body, "restart_policy"), "name"),
        .restart_max = json_integer_value(
            json_object_get(json_object_get(body, "restart_policy"), "maximum_retry_count")),
        .healthcheck = json_object_get(body, "healthcheck"),
        .rootfs = build_rootfs,
        .rootfs_payload = &call,
    };
    char id[65];
    rc = pl_container_create(c->port, &s, id, err);
    if (rc < 0)
        mounts_undo(c, &ms);
    mounts_clear(&ms);
    nets_clear(&ns);
    if (rc < 0)
        return rc;
    vic_http_resp_json(resp, 201, json_pack("{s:s}", "id", id));
    return 0;
}

static int container_list(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    const char *all = vic_http_req_query(req, "all");
    return pl_container_list(c->port, all && strcmp(all, "0") && strcmp(all, "false"), out, err);
}

/* ?guest=1 adds the guest's pid of a running container (which the host has to look for) */
static int container_inspect(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    const char *id = vic_http_req_param(req, "id"), *guest = vic_http_req_query(req, "guest");
    int rc = pl_container_inspect(c->port, id, out, err);
    if (rc == 0 && guest && strcmp(guest, "1") == 0 &&
        json_is_true(json_object_get(*out, "running")))
        json_object_set_new(*out, "pid", json_integer(pl_container_guest_pid(c->port, id)));
    return rc;
}

static int container_stats(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    return pl_container_stats(c->port, vic_http_req_param(req, "id"), out, err);
}

static int container_top(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    return pl_container_top(c->port, vic_http_req_param(req, "id"), out, err);
}

static int query_int(vic_http_req *req, const char *name, long def, long min, long max, long *out,
                     vic_err **err)
{
    const char *v = vic_http_req_query(req, name);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < min || n > max)
        return vic_err_set(err, VIC_EINVAL, "%s: \"%s\" is not a number between %ld and %ld", name,
                           v, min, max);
    *out = n;
    return 0;
}

static int query_flag(vic_http_req *req, const char *name)
{
    const char *v = vic_http_req_query(req, name);
    return v && strcmp(v, "0") && strcmp(v, "false") && strcmp(v, "");
}

static int container_start(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    return pl_container_start_attach(c->port, vic_http_req_param(req, "id"),
                                     query_flag(req, "attach"), err);
}

static int container_restart(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    long t;
    int rc = query_int(req, "t", -1, -1, 3600, &t, err);
    if (rc == 0)
        rc = pl_container_restart(c->port, vic_http_req_param(req, "id"),
                                  t < 0 ? -1 : (int)t * 1000, err);
    return rc;
}

static int container_stop(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    long t;
    int rc = query_int(req, "t", -1, -1, 3600, &t, err);
    if (rc == 0)
        rc = pl_container_stop(c->port, vic_http_req_param(req, "id"), t < 0 ? -1 : (int)t * 1000,
                               err);
    return rc;
}

/* ---- interaction ---- */

/* The hijacked client and the VM's channel, byte for byte: both speak lib/attach.h frames.
 * Ends when the channel ends (the guest's EXIT frame went by, or another holder took it),
 * the client leaves, or the server stops. The client's end of input is not passed on: the
 * monitor would drop a holder that half-closes, and the frames carry their own CLOSE. */
static void relay_frames(vic_http_hijack *h, int vm)
{
    int client = vic_http_hijack_fd(h);
    size_t extra_len = 0;
    const char *extra = vic_http_hijack_extra(h, &extra_len);
    int client_open = 1, ok = extra_len == 0 || vic_send_all(vm, extra, extra_len) == 0;
    char buf[65536];
    while (ok) {
        struct pollfd pf[3] = {{vm, POLLIN, 0},
                               {client_open ? client : -1, POLLIN, 0},
                               {vic_http_hijack_stop_fd(h), POLLIN, 0}};
        if (poll(pf, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[2].revents)
            break;
        if (pf[0].revents) {
            ssize_t n = read(vm, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0 || vic_send_all(client, buf, (size_t)n) < 0)
                break;
        }
        if (pf[1].revents) {
            ssize_t n = read(client, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                break;
            if (n == 0)
                client_open = 0;
            else if (vic_send_all(vm, buf, (size_t)n) < 0)
                break;
        }
    }
}

static void exec_relay(vic_http_hijack *h, void *payload)
{
    int vm = (int)(intptr_t)payload;
    relay_frames(h, vm);
    close(vm);
}

static void exec_drop(void *payload)
{
    close((int)(intptr_t)payload);
}

/* An attach: its channel is the container's holder (pl_container_attach) until it ends.
 * Either fn (attach_relay) or drop (attach_drop) runs, once. */
typedef struct held_attach {
    pl *port;
    int fd;
} held_attach;

static void attach_relay(vic_http_hijack *h, void *payload)
{
    held_attach *a = payload;
    relay_frames(h, a->fd);
    pl_container_detach(a->port, a->fd);
    free(a);
}

static void attach_drop(void *payload)
{
    held_attach *a = payload;
    pl_container_detach(a->port, a->fd);
    free(a);
}

static int attach_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    int fd = -1;
    int rc = pl_container_attach(c->port, vic_http_req_param(req, "id"), &fd, err);
    if (rc < 0)
        return rc;
    held_attach *a = xzalloc(sizeof(*a));
    a->port = c->port;
    a->fd = fd;
    vic_http_resp_hijack(resp, "tcp", "application/vnd.vic.attach-frames", attach_relay,
                         attach_drop, a);
    return 0;
}

/* A new program in the running container: the channel's frames, relayed as an attach's (the
 * caller's first frame is the EXEC spec; the VM checks it). */
static int exec_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    int fd = -1;
    int rc = pl_container_exec(c->port, vic_http_req_param(req, "id"), &fd, err);
    if (rc < 0)
        return rc;
    vic_http_resp_hijack(resp, "tcp", "application/vnd.vic.attach-frames", exec_relay, exec_drop,
                         (void *)(intptr_t)fd);
    return 0;
}

static int container_kill(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    const char *name = vic_http_req_query(req, "signal");
    int sig = vic_signal_parse(name, SIGKILL); /* "KILL", "SIGKILL" or "9" */
    if (sig < 0)
        return vic_err_set(err, VIC_EINVAL, "signal: \"%s\" is not a signal", name);
    return pl_container_kill(c->port, vic_http_req_param(req, "id"), sig, err);
}

static int host_info(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)req, (void)err;
    *out = pl_host_info(c->port);
    return 0;
}

static int container_pause(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    return pl_container_pause(c->port, vic_http_req_param(req, "id"), true, err);
}

static int container_unpause(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    return pl_container_pause(c->port, vic_http_req_param(req, "id"), false, err);
}

static const vic_schema_field update_fields[] = {
    {.name = "memory_mb", .type = VIC_JSON_INT, .min = 4, .max = 1 << 20},
    {.name = "cpu_millis", .type = VIC_JSON_INT, .min = 0, .max = 64000},
    {.name = "cpu_shares", .type = VIC_JSON_INT, .min = 0, .max = 262144},
    {.name = "pids_limit", .type = VIC_JSON_INT, .min = 0, .max = 1 << 22},
    {.name = "restart_policy", .type = VIC_JSON_OBJECT, .object = &restart_schema},
    {.name = "annotations", .type = VIC_JSON_OBJECT},
};
static const vic_schema update_schema = VIC_SCHEMA(update_fields);

/* A field of an update body, or -1 (unchanged) when absent. */
static int64_t update_num(const json_t *body, const char *name)
{
    const json_t *v = json_object_get(body, name);
    return v ? json_integer_value(v) : -1;
}

static int container_update(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    json_t *body = vic_http_req_json(req);
    int rc = vic_json_validate(body, &update_schema, NULL, err);
    if (rc < 0)
        return rc;
    const json_t *rp = json_object_get(body, "restart_policy");
    pl_update u = {.memory_mb = update_num(body, "memory_mb"),
                   .cpu_millis = update_num(body, "cpu_millis"),
                   .cpu_shares = (int)update_num(body, "cpu_shares"),
                   .pids = update_num(body, "pids_limit"),
                   .restart_policy = rp ? vic_json_str(rp, "name") ?: "" : NULL,
                   .restart_max = json_integer_value(json_object_get(rp, "maximum_retry_count")),
                   .annotations = json_object_get(body, "annotations")};
    return pl_container_update(c->port, vic_http_req_param(req, "id"), &u, err);
}

static int container_wait(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    long t;
    int64_t code = 0;
    int rc = query_int(req, "timeout", 60, 0, 3600, &t, err);
    if (rc == 0)
        rc = pl_container_wait(c->port, vic_http_req_param(req, "id"), (unsigned)t * 1000, &code,
                               err);
    if (rc == 0)
        *out = json_pack("{s:I}", "exit_code", (json_int_t)code);
    return rc;
}

/* docker rm -v: the container's anonymous volumes go with it, once nothing else uses them;
 * named volumes stay. */
static void remove_anonymous(pl_server_ctx *c, const json_t *container)
{
    size_t i;
    json_t *mt;
    json_array_foreach(json_object_get(container, "mounts"), i, mt)
    {
        const char *name = vic_json_str(mt, "volume");
        json_t *vol cleanup_json = NULL, *users cleanup_json = NULL;
        vic_err *e = NULL;
        if (name && pl_volume_get(c->volumes, name, &vol, &e) == 0 &&
            json_is_true(json_object_get(vol, "anonymous")) &&
            pl_volume_users(c->port, name, &users, &e) == 0 && json_array_size(users) == 0)
            pl_volume_remove(c->volumes, name, &e);
        if (e)
            vic_log(VIC_LOG_WARN, "event=anonymous_volume_kept volume=%s msg=\"%s\"", name, e->msg);
        vic_err_free(&e);
    }
}

void pl_server_autoremoved(const json_t *container, void *payload)
{
    pl_server_ctx *c = payload;
    if (c->volumes) /* docker run --rm: as docker rm -v */
        remove_anonymous(c, container);
}

static int container_remove(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    const char *force = vic_http_req_query(req, "force");
    json_t *x cleanup_json = NULL;
    int volumes = query_flag(req, "v") && c->volumes;
    if (volumes && pl_container_inspect(c->port, vic_http_req_param(req, "id"), &x, err) < 0)
        return (*err)->code;
    int rc = pl_container_remove(c->port, vic_http_req_param(req, "id"),
                                 force && strcmp(force, "0") && strcmp(force, "false"), err);
    if (rc == 0 && volumes)
        remove_anonymous(c, x);
    return rc;
}

/* ---- volumes ---- */

static int need_volumes(pl_server_ctx *c, vic_err **err)
{
    return c->volumes ? 0
                      : vic_err_set(err, VIC_EUNSUPPORTED,
                                    "this port layer has no volume stores attached");
}

static const vic_schema_field volume_fields[] = {
    {.name = "name", .type = VIC_JSON_STRING, .min = 2, .max = 128},
    {.name = "store", .type = VIC_JSON_STRING, .min = 1, .max = 64},
    {.name = "labels", .type = VIC_JSON_OBJECT, .object = NULL},
    {.name = "options", .type = VIC_JSON_OBJECT, .object = NULL},
};
static const vic_schema volume_schema = VIC_SCHEMA(volume_fields);

static int volume_create_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                 vic_err **err)
{
    pl_server_ctx *c = payload;
    int rc = need_volumes(c, err);
    json_t *body = vic_http_req_json(req);
    if (rc == 0)
        rc = vic_json_validate(body, &volume_schema, NULL, err);
    if (rc < 0)
        return rc;
    pl_volume_spec vs = {.name = vic_json_str(body, "name"),
                         .store = vic_json_str(body, "store"),
                         .labels = json_object_get(body, "labels"),
                         .options = json_object_get(body, "options")};
    json_t *out = NULL;
    if ((rc = pl_volume_create(c->volumes, &vs, &out, err)) < 0)
        return rc;
    vic_http_resp_json(resp, 201, out);
    return 0;
}

/* A volume's description with the containers using it. */
static int volume_with_users(pl_server_ctx *c, const char *name, json_t **out, vic_err **err)
{
    int rc = pl_volume_get(c->volumes, name, out, err);
    json_t *users = NULL;
    if (rc == 0 && (rc = pl_volume_users(c->port, name, &users, err)) < 0) {
        json_decref(*out);
        *out = NULL;
    }
    if (rc == 0)
        json_object_set_new(*out, "used_by", users);
    return rc;
}

static int volume_list(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)req;
    json_t *all cleanup_json = NULL;
    int rc = pl_volume_list(c->volumes, &all, err);
    if (rc < 0)
        return rc;
    *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        json_t *users = NULL;
        vic_err *e = NULL;
        if (pl_volume_users(c->port, vic_json_str(v, "name"), &users, &e) == 0)
            json_object_set_new(v, "used_by", users);
        vic_err_free(&e);
        json_array_append(*out, v);
    }
    return 0;
}

static int volume_inspect(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    return volume_with_users(c, vic_http_req_param(req, "name"), out, err);
}

static int volume_remove(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    const char *name = vic_http_req_param(req, "name");
    json_t *vol cleanup_json = NULL;
    int rc = volume_with_users(c, name, &vol, err);
    if (rc < 0)
        return rc;
    json_t *users = json_object_get(vol, "used_by");
    if (json_array_size(users)) {
        vic_buf ids = VIC_BUF_INIT;
        size_t i;
        json_t *u;
        json_array_foreach(users, i, u)
        {
            vic_buf_appendf(&ids, "%s%s", i ? " " : "", vic_json_str(u, "id"));
        }
        rc = vic_err_set(err, VIC_ECONFLICT, "remove %s: volume is in use - [%s]", name,
                         ids.data ? ids.data : "");
        vic_buf_free(&ids);
        return rc;
    }
    return pl_volume_remove(c->volumes, name, err);
}

/* ---- networks ---- */

static int need_networks(pl_server_ctx *c, vic_err **err)
{
    return c->networks ? 0
                       : vic_err_set(err, VIC_EUNSUPPORTED,
                                     "this port layer has no container networks attached");
}

static const vic_schema_field network_fields[] = {
    {.name = "name", .type = VIC_JSON_STRING, .required = 1, .min = 1, .max = 64},
    {.name = "subnet", .type = VIC_JSON_STRING, .min = 9, .max = 18},
    {.name = "gateway", .type = VIC_JSON_STRING, .min = 7, .max = 15},
    {.name = "labels", .type = VIC_JSON_OBJECT, .object = NULL},
    {.name = "internal", .type = VIC_JSON_BOOL},
};
static const vic_schema network_schema = VIC_SCHEMA(network_fields);

/* A network's description with the containers on it ("containers"). */
static int network_with_users(pl_server_ctx *c, json_t *net, vic_err **err)
{
    json_t *users = NULL;
    int rc = pl_network_users(c->port, vic_json_str(net, "name"), &users, err);
    if (rc == 0)
        json_object_set_new(net, "containers", users);
    return rc;
}

static int network_create_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err)
{
    pl_server_ctx *c = payload;
    int rc = need_networks(c, err);
    json_t *body = vic_http_req_json(req);
    if (rc == 0)
        rc = vic_json_validate(body, &network_schema, NULL, err);
    if (rc < 0)
        return rc;
    pl_network_spec ns = {.name = vic_json_str(body, "name"),
                          .subnet = vic_json_str(body, "subnet"),
                          .gateway = vic_json_str(body, "gateway"),
                          .labels = json_object_get(body, "labels"),
                          .internal = json_is_true(json_object_get(body, "internal"))};
    json_t *out = NULL;
    if ((rc = pl_network_create(c->networks, &ns, &out, err)) < 0)
        return rc;
    pl_dns_refresh(c->dns);
    vic_http_resp_json(resp, 201, out);
    return 0;
}

static int network_list(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)req;
    int rc = pl_network_list(c->networks, out, err);
    size_t i;
    json_t *n;
    json_array_foreach(*out, i, n)
    {
        if (rc == 0)
            rc = network_with_users(c, n, err);
    }
    return rc;
}

static int network_inspect(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    int rc = pl_network_get(c->networks, vic_http_req_param(req, "id"), out, err);
    if (rc == 0)
        rc = network_with_users(c, *out, err);
    return rc;
}

static int network_remove(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    json_t *net cleanup_json = NULL;
    int rc = pl_network_get(c->networks, vic_http_req_param(req, "id"), &net, err);
    if (rc == 0 && !json_is_true(json_object_get(net, "builtin")))
        rc = network_with_users(c, net, err);
    if (rc < 0)
        return rc;
    json_t *users = json_object_get(net, "containers");
    if (json_array_size(users)) {
        vic_buf names = VIC_BUF_INIT;
        size_t i;
        json_t *u;
        json_array_foreach(users, i, u)
        {
            vic_buf_appendf(&names, "%s%s", i ? ", " : "", vic_json_str(u, "name"));
        }
        rc = vic_err_set(err, VIC_EFORBIDDEN,
                         "error while removing network: network %s id %s has active endpoints "
                         "(%s)",
                         vic_json_str(net, "name"), vic_json_str(net, "id"),
                         names.data ? names.data : "");
        vic_buf_free(&names);
        return rc;
    }
    return pl_network_remove(c->networks, vic_json_str(net, "id"), err);
}

static int container_connect(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    json_t *body = vic_http_req_json(req);
    int rc = vic_json_validate(body, &attach_schema, NULL, err);
    if (rc < 0)
        return rc;
    json_t *list cleanup_json = json_pack("[O]", body);
    net_set ns;
    if ((rc = nets_prepare(c, list, &ns, err)) == 0 && ns.n == 0)
        rc = vic_err_set(err, VIC_EINVAL,
                         "a container leaves every network by disconnecting from each, not by "
                         "joining none");
    if (rc == 0)
        rc = pl_container_connect(c->port, vic_http_req_param(req, "id"), &ns.a[0], err);
    if (rc == 0) /* a running container's new name and aliases answer at once */
        pl_dns_refresh(c->dns);
    nets_clear(&ns);
    return rc;
}

static int container_disconnect(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    json_t *net cleanup_json = NULL;
    int rc = pl_network_get(c->networks, vic_http_req_param(req, "name"), &net, err);
    if (rc == 0)
        rc = pl_container_disconnect(c->port, vic_http_req_param(req, "id"),
                                     vic_json_str(net, "name"), err);
    if (rc == 0)
        pl_dns_refresh(c->dns);
    return rc;
}

static int container_rename(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)out;
    const char *name = vic_http_req_query(req, "name");
    if (name == NULL)
        return vic_err_set(err, VIC_EINVAL, "name: is required");
    return pl_container_rename(c->port, vic_http_req_param(req, "id"), name, err);
}

/* ---- logs ---- */

#define LOGS_STALL_MS (5 * 60 * 1000)
#define LOGS_JSON_MAX (64 * 1024 * 1024) /* data bytes of one JSON answer */
/* A stream sends its records in chunks this large (or when the reader caught up): as large
 * as a stream's backlog may grow (lib/http.c), so that each waits for an empty backlog, whose
 * buffer then starts over; the stream holds one chunk however long the log. */
#define LOGS_CHUNK (4 * 1024 * 1024)

/* A query timestamp into *ns: Docker's "SECONDS[.FRACTION]"; absent or empty: def. */
static int query_time(vic_http_req *req, const char *name, int64_t def, int64_t *ns, vic_err **err)
{
    const char *v = vic_http_req_query(req, name);
    *ns = def;
    if (v == NULL || *v == '\0')
        return 0;
    if (vic_unix_time_parse(v, ns) < 0)
        return vic_err_set(err, VIC_EINVAL,
                           "%s: \"%.40s\" is not a Unix timestamp (SECONDS[.FRACTION])", name, v);
    return 0;
}

/* The choices of a logs request, checked. */
static int log_opts(vic_http_req *req, pl_log_opts *o, vic_err **err)
{
    const char *out = vic_http_req_query(req, "stdout"), *errs = vic_http_req_query(req, "stderr");
    const char *tail = vic_http_req_query(req, "tail");
    *o = (pl_log_opts){.out = out == NULL || strcmp(out, "0"),
                       .err = errs == NULL || strcmp(errs, "0"),
                       .follow = query_flag(req, "follow"),
                       .tail = -1};
    if (tail && *tail && strcmp(tail, "all") != 0) {
        char *end = NULL;
        errno = 0;
        long n = strtol(tail, &end, 10);
        if (end == tail || *end || n < -1 || errno == ERANGE)
            return vic_err_set(err, VIC_EINVAL,
                               "tail: \"%.40s\" is not a number of lines, -1 or \"all\"", tail);
        o->tail = n;
    }
    int rc = query_time(req, "since", 0, &o->since_ns, err);
    if (rc == 0)
        rc = query_time(req, "until", 0, &o->until_ns, err);
    if (rc < 0)
        return rc;
    if (o->since_ns < 0)
        o->since_ns = 0; /* before 1970: everything */
    if (o->until_ns < 0)
        o->until_ns = 1; /* before 1970: nothing */
    return 0;
}

typedef struct log_acc {
    json_t *records;
    size_t bytes;
} log_acc;

static int add_record(int stream, int64_t t, const char *data, size_t len, void *payload)
{
    log_acc *a = payload;
    if (stream == 0)
        return 0;
    if ((a->bytes += len) > LOGS_JSON_MAX)
        return 1;
    json_t *text = json_stringn(data, len);
    if (text == NULL) /* not UTF-8: carry it as base64 */
        json_array_append_new(a->records, json_pack("{s:s, s:I, s:s%}", "stream",
                                                    stream == 2 ? "stderr" : "stdout", "time_ns",
                                                    (json_int_t)t, "base64", data, len));
    else
        json_array_append_new(a->records, json_pack("{s:s, s:I, s:o}", "stream",
                                                    stream == 2 ? "stderr" : "stdout", "time_ns",
                                                    (json_int_t)t, "data", text));
    return 0;
}

typedef struct logs_job {
    pl_container_log *log;
    pl_log_opts opts;
    vic_http_stream *s;
    vic_buf out; /* records not sent yet */
    char *id;
} logs_job;

static int send_records(logs_job *j)
{
    int rc = vic_http_stream_write_wait(j->s, j->out.data, j->out.len, LOGS_STALL_MS, NULL);
    j->out.len = 0;
    return rc < 0 ? -1 : 0;
}

/* Each message as a serial log record. Where the reader caught up with the log (a follow
 * waits), an empty record of stream 3 follows: a relay sends on what it holds, and while
 * nothing else comes it says "still here", so that a relay looks at its own client and this
 * one at its. */
static int stream_record(int stream, int64_t t, const char *data, size_t len, void *payload)
{
    logs_job *j = payload;
    unsigned char h[VIC_SERIAL_HEADER];
    if (stream == 0) {
        if (j->out.len == 0 && !vic_http_stream_alive(j->s))
            return -1; /* the client left */
        vic_serial_header(h, VIC_STREAM_TETHER, 0, 0);
        vic_buf_append(&j->out, h, sizeof(h));
        return send_records(j);
    }
    vic_serial_header(h, stream, t, len);
    vic_buf_append(&j->out, h, sizeof(h));
    vic_buf_append(&j->out, data, len);
    return j->out.len >= LOGS_CHUNK ? send_records(j) : 0;
}

static void *logs_thread(void *arg)
{
    logs_job *j = arg;
    vic_err *err = NULL;
    int rc = pl_container_log_read(j->log, &j->opts, stream_record, j, &err);
    if (rc == 0 && j->out.len)
        rc = send_records(j);
    if (rc < 0 && err) /* the status is sent already: the client sees the stream end early */
        vic_log(VIC_LOG_WARN, "event=logs_failed id=%s err=\"%s\"", j->id, err->msg);
    vic_log(VIC_LOG_INFO, "event=logs_end id=%s reason=\"%s\"", j->id,
            rc == 0 ? "the end"
            : err   ? err->msg
                    : "the client left or stopped reading");
    vic_err_free(&err);
    vic_http_stream_close(j->s);
    vic_http_stream_release(j->s);
    pl_container_log_free(j->log);
    vic_buf_free(&j->out);
    free(j->id);
    free(j);
    return NULL;
}

/* A container's log: a JSON array of its messages, or with format=stream the messages as
 * serial log records, streamed (and followed with follow=1) from a thread of its own. */
static int logs_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    pl_log_opts opts;
    int rc = log_opts(req, &opts, err);
    if (rc < 0)
        return rc;
    const char *format = vic_http_req_query(req, "format");
    bool stream = format && strcmp(format, "stream") == 0;
    if (format && !stream && strcmp(format, "json") != 0)
        return vic_err_set(err, VIC_EINVAL, "format: \"%.40s\" is neither json nor stream", format);
    if (opts.follow && !stream)
        return vic_err_set(err, VIC_EINVAL, "follow: only with format=stream");
    pl_container_log *log = NULL;
    if ((rc = pl_container_log_open(c->port, vic_http_req_param(req, "id"), &log, err)) < 0)
        return rc;
    if (!stream) {
        log_acc acc = {json_array(), 0};
        rc = pl_container_log_read(log, &opts, add_record, &acc, err);
        pl_container_log_free(log);
        if (rc == 1)
            rc = vic_err_set(err, VIC_ETOOBIG,
                             "the log holds more than %d MiB from there: ask for a tail, or for "
                             "format=stream",
                             LOGS_JSON_MAX >> 20);
        if (rc < 0) {
            json_decref(acc.records);
            return rc;
        }
        vic_http_resp_json(resp, 200, acc.records);
        return 0;
    }
    logs_job *j = xzalloc(sizeof(*j));
    j->log = log;
    j->opts = opts;
    /* room for a chunk and the record that completes it, from the start */
    j->out.cap = LOGS_CHUNK + VIC_SERIAL_MAX_RECORD + 1;
    j->out.data = xmalloc(j->out.cap);
    j->out.data[0] = '\0';
    j->id = xstrdup(vic_http_req_param(req, "id"));
    j->s = vic_http_resp_stream(resp, 200, "application/octet-stream");
    pthread_t th;
    if (pthread_create(&th, NULL, logs_thread, j) != 0) {
        vic_http_stream_close(j->s);
        vic_http_stream_release(j->s);
        pl_container_log_free(log);
        vic_buf_free(&j->out);
        free(j->id);
        free(j);
        return vic_err_set(err, VIC_EINTERNAL, "cannot stream the log");
    }
    pthread_detach(th);
    return 0;
}

/* ---- docker cp: a container's files ---- */

#define ARCHIVE_STALL_MS (5 * 60 * 1000)

/* The container's file system and the path asked for; Docker's message for a missing path. */
static int archive_open(vic_http_req *req, pl_server_ctx *c, pl_fs **fs, const char **path,
                        vic_err **err)
{
    *path = vic_http_req_query(req, "path");
    if (*path == NULL || **path == '\0')
        return vic_err_set(err, VIC_EINVAL, "path: is required");
    if (strlen(*path) > 4096)
        return vic_err_set(err, VIC_EINVAL, "path: longer than 4096 bytes");
    return pl_container_fs(c->port, vic_http_req_param(req, "id"), c->volumes, fs, err);
}

static int archive_not_found(vic_http_req *req, const char *path, int rc, vic_err **err)
{
    if (rc != VIC_ENOTFOUND || err == NULL || *err == NULL ||
        strncmp((*err)->msg, "Could not find the file", 23) != 0)
        return rc;
    vic_err_free(err);
    return vic_err_set(err, VIC_ENOTFOUND, "Could not find the file %.1024s in container %s", path,
                       vic_http_req_param(req, "id"));
}

static int archive_stat_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                vic_err **err)
{
    pl_fs *fs = NULL;
    const char *path;
    int rc = archive_open(req, payload, &fs, &path, err);
    if (rc < 0)
        return rc;
    json_t *st = NULL;
    rc = pl_fs_stat(fs, path, &st, err);
    pl_fs_free(fs);
    if (rc < 0)
        return archive_not_found(req, path, rc, err);
    vic_http_resp_json(resp, 200, st);
    return 0;
}

typedef struct tar_job {
    pl_fs *fs;
    char *path;
    char *id;
    vic_http_stream *s;
} tar_job;

static int tar_to_stream(const void *data, size_t len, void *payload)
{
    tar_job *j = payload;
    return vic_http_stream_write_wait(j->s, data, len, ARCHIVE_STALL_MS, NULL) < 0 ? -1 : 0;
}

static void *tar_thread(void *arg)
{
    tar_job *j = arg;
    vic_err *err = NULL;
    if (pl_fs_get(j->fs, j->path, tar_to_stream, j, &err) < 0 && err->code != VIC_EUNAVAIL)
        /* the answer's status is sent already: the client sees a cut archive */
        vic_log(VIC_LOG_WARN, "event=archive_failed id=%s err=\"%s\"", j->id, err->msg);
    vic_err_free(&err);
    vic_http_stream_close(j->s);
    vic_http_stream_release(j->s);
    pl_fs_free(j->fs);
    free(j->path);
    free(j->id);
    free(j);
    return NULL;
}

/* Streams the tar from a thread of its own; a missing path is a 404 before anything is sent. */
static int archive_get_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_fs *fs = NULL;
    const char *path;
    int rc = archive_open(req, payload, &fs, &path, err);
    if (rc < 0)
        return rc;
    json_t *st cleanup_json = NULL;
    if ((rc = pl_fs_stat(fs, path, &st, err)) < 0) {
        pl_fs_free(fs);
        return archive_not_found(req, path, rc, err);
    }
    tar_job *j = xzalloc(sizeof(*j));
    j->fs = fs;
    j->path = xstrdup(path);
    j->id = xstrdup(vic_http_req_param(req, "id"));
    j->s = vic_http_resp_stream(resp, 200, "application/x-tar");
    pthread_t th;
    if (pthread_create(&th, NULL, tar_thread, j) != 0) {
        vic_http_stream_close(j->s);
        vic_http_stream_release(j->s);
        pl_fs_free(fs);
        free(j->path);
        free(j->id);
        free(j);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start the archive");
    }
    pthread_detach(th);
    return 0;
}

static int archive_put_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_fs *fs = NULL;
    const char *path;
    int rc = archive_open(req, payload, &fs, &path, err);
    if (rc < 0)
        return rc;
    const char *nodnd = vic_http_req_query(req, "noOverwriteDirNonDir");
    pl_fs_put_opts o = {.no_overwrite_dir_non_dir =
                            nodnd && strcmp(nodnd, "0") && strcmp(nodnd, "false")};
    int fd = vic_http_req_body_fd(req), own cleanup_close = -1;
    if (fd < 0) { /* a body kept in memory: give the extraction a file */
        size_t len = 0;
        const char *body = vic_http_req_body(req, &len);
        own = fd = memfd_create("archive", MFD_CLOEXEC);
        if (fd < 0 || (len && write(fd, body, len) != (ssize_t)len) || lseek(fd, 0, SEEK_SET)) {
            pl_fs_free(fs);
            return vic_err_sys(err, VIC_EIO, errno, "keep the archive");
        }
    }
    rc = pl_fs_put(fs, path, fd, &o, err);
    pl_fs_free(fs);
    if (rc < 0)
        return archive_not_found(req, path, rc, err);
    vic_log(VIC_LOG_INFO, "event=archive_put id=%s path=\"%.200s\"", vic_http_req_param(req, "id"),
            path);
    vic_http_resp_text(resp, 200, "application/json", "", 0);
    return 0;
}

/* ---- a container's disk against its image: docker diff, export, commit ---- */

static int need_images(pl_server_ctx *c, vic_err **err);

/* The container's root disk, id map, and the image it was made from (its id when recorded,
 * else its reference; *image is the caller's). */
static int disk_of(pl_server_ctx *c, vic_http_req *req, char **dir, pl_idmap *ids, char **image,
                   vic_err **err)
{
    *image = NULL;
    int rc = need_images(c, err);
    json_t *x cleanup_json = NULL;
    if (rc == 0)
        rc = pl_container_disk(c->port, vic_http_req_param(req, "id"), dir, ids, &x, err);
    if (rc < 0)
        return rc;
    const char *id = vic_json_str(x, "image_id");
    *image = xstrdup(id && *id ? id : vic_json_str(x, "image") ?: "");
    return 0;
}

/* The layers of the container's image: its absence is a conflict (the container outlived
 * it), not a 404 about the container. */
static int image_layers(pl_server_ctx *c, const char *image, json_t **out, vic_err **err)
{
    int rc = pl_imagestore_layers(out, c->images, image, err);
    if (rc == VIC_ENOTFOUND) {
        vic_err_free(err);
        rc =
            vic_err_set(err, VIC_ECONFLICT,
                        "the image %.80s of this container is no longer in the image store", image);
    }
    return rc;
}

static int changes_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    cleanup_free char *dir = NULL, *image = NULL;
    pl_idmap ids;
    json_t *layers cleanup_json = NULL, *out = NULL;
    int rc = disk_of(c, req, &dir, &ids, &image, err);
    if (rc == 0)
        rc = image_layers(c, image, &layers, err);
    if (rc == 0)
        rc = pl_changes_compute(&out, dir, layers, &ids, err);
    if (rc < 0)
        return rc;
    vic_http_resp_json(resp, 200, out);
    return 0;
}

typedef struct export_job {
    char *dir;
    pl_idmap ids;
    char *id;
    vic_http_stream *s;
} export_job;

static int export_to_stream(const void *data, size_t len, void *payload)
{
    export_job *j = payload;
    return vic_http_stream_write_wait(j->s, data, len, ARCHIVE_STALL_MS, NULL) < 0 ? -1 : 0;
}

static void *export_thread(void *arg)
{
    export_job *j = arg;
    vic_err *err = NULL;
    if (pl_rootfs_tar(j->dir, &j->ids, export_to_stream, j, &err) < 0 && err->code != VIC_EUNAVAIL)
        /* the answer's status is sent already: the client sees a cut archive */
        vic_log(VIC_LOG_WARN, "event=export_failed id=%s err=\"%s\"", j->id, err->msg);
    vic_err_free(&err);
    vic_http_stream_close(j->s);
    vic_http_stream_release(j->s);
    free(j->dir);
    free(j->id);
    free(j);
    return NULL;
}

/* Streams the root disk as a tar from a thread of its own, in bounded memory (the stream
 * waits for the client to take each chunk). */
static int export_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    export_job *j = xzalloc(sizeof(*j));
    int rc = pl_container_disk(c->port, vic_http_req_param(req, "id"), &j->dir, &j->ids, NULL, err);
    if (rc < 0) {
        free(j);
        return rc;
    }
    j->id = xstrdup(vic_http_req_param(req, "id"));
    j->s = vic_http_resp_stream(resp, 200, "application/x-tar");
    pthread_t th;
    if (pthread_create(&th, NULL, export_thread, j) != 0) {
        vic_http_stream_close(j->s);
        vic_http_stream_release(j->s);
        free(j->dir);
        free(j->id);
        free(j);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start the export");
    }
    pthread_detach(th);
    return 0;
}

static const vic_schema commit_config_schema = {NULL, 0, 1};
static const vic_schema_field commit_fields[] = {
    {.name = "config", .type = VIC_JSON_OBJECT, .object = &commit_config_schema},
    {.name = "author", .type = VIC_JSON_STRING, .max = 4096},
    {.name = "comment", .type = VIC_JSON_STRING, .max = 65536},
    {.name = "created_by", .type = VIC_JSON_STRING, .max = 65536},
    {.name = "ref", .type = VIC_JSON_STRING, .max = 512},
};
static const vic_schema commit_schema = VIC_SCHEMA(commit_fields);

static int commit_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    json_t *body = vic_http_req_json(req);
    json_t *problems cleanup_json = NULL;
    int rc = vic_json_validate(body, &commit_schema, &problems, err);
    if (rc < 0)
        return rc;
    const char *ref = vic_json_str(body, "ref");
    cleanup_free char *tag = NULL;
    if (ref && *ref) { /* a bad name fails before any work */
        pl_ref *parsed = NULL;
        if ((rc = pl_ref_parse(&parsed, ref, err)) < 0)
            return rc;
        if (parsed->digest) {
            pl_ref_free(parsed);
            return vic_err_set(err, VIC_EINVAL,
                               "refusing to create a tag with a digest reference: %s", ref);
        }
        tag = pl_ref_string(parsed);
        pl_ref_free(parsed);
    }
    cleanup_free char *dir = NULL, *image = NULL;
    pl_idmap ids;
    if ((rc = disk_of(c, req, &dir, &ids, &image, err)) < 0)
        return rc;
    char cid[65];
    if ((rc = pl_container_find(c->port, vic_http_req_param(req, "id"), cid, err)) < 0)
        return rc;
    json_t *layers cleanup_json = NULL;
    if ((rc = image_layers(c, image, &layers, err)) < 0)
        return rc;
    pl_commit_opts o = {.parent = image,
                        .root = dir,
                        .ids = &ids,
                        .config = json_object_get(body, "config"),
                        .author = vic_json_str(body, "author"),
                        .comment = vic_json_str(body, "comment"),
                        .created_by = vic_json_str(body, "created_by"),
                        .container_id = cid,
                        .ref = tag};
    json_t *out = NULL;
    if ((rc = pl_image_commit(&out, c->images, &o, err)) < 0)
        return rc;
    vic_log(VIC_LOG_INFO, "event=image_committed container=%s image=%s tag=\"%s\"", cid,
            vic_json_str(out, "id"), tag ? tag : "");
    vic_http_resp_json(resp, 201, out);
    return 0;
}

/* ---- images ---- */

int pl_server_rootfs_from_store(const char *image, const char *dir, const pl_idmap *ids,
                                void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    int rc = pl_imagestore_build_rootfs(c->images, image, dir, ids, err);
    if (rc == VIC_ENOTFOUND)
        return vic_err_set(err, VIC_ENOTFOUND, "No such image: %s", image);
    return rc;
}

static int need_images(pl_server_ctx *c, vic_err **err)
{
    return c->images ? 0 : vic_err_set(err, VIC_EUNAVAIL, "this port layer has no image store");
}

static int image_list(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    (void)req;
    json_t *list = NULL;
    int rc = pl_imagestore_list(&list, c->images, err);
    if (rc < 0)
        return rc;
    /* Docker's image summaries */
    *out = json_array();
    size_t i;
    json_t *im;
    json_array_foreach(list, i, im)
    {
        json_t *tags = json_object_get(im, "repo_tags"),
               *digests = json_object_get(im, "repo_digests");
        json_array_append_new(
            *out,
            json_pack("{s:O, s:s, s:O, s:O, s:I, s:I, s:I, s:{}, s:i}", "Id",
                      json_object_get(im, "id"), "ParentId", "", "RepoTags",
                      tags ? tags : json_array(), "RepoDigests", digests ? digests : json_array(),
                      "Created", json_integer_value(json_object_get(im, "added")), "Size",
                      json_integer_value(json_object_get(im, "size")), "VirtualSize",
                      json_integer_value(json_object_get(im, "size")), "Labels", "Containers", -1));
    }
    json_decref(list);
    return 0;
}

/* An image's description by ?ref= through read (pl_imagestore_inspect or _history). */
/* An image's description by ?ref= through read (pl_imagestore_inspect or _history). */
static int image_read(pl_server_ctx *c, vic_http_req *req, json_t **out,
                      int (*read)(json_t **, pl_imagestore *, const char *, vic_err **),
                      vic_err **err)
{
    const char *ref = vic_http_req_query(req, "ref");
    int rc = 0;
    if (ref == NULL)
        rc = vic_err_set(err, VIC_EINVAL, "ref: is required");
    if (rc == 0)
        rc = read(out, c->images, ref, err);
    if (rc == VIC_ENOTFOUND)
        return vic_err_set(err, VIC_ENOTFOUND, "No such image: %s", ref);
    return rc;
}

static int image_inspect(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    return image_read(c, req, out, pl_imagestore_inspect, err);
}

static int image_history(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    return image_read(c, req, out, pl_imagestore_history, err);
}

/* docker tag: ref names the image, tag the new reference (a tag of "latest" when it has
 * none). The tag moves from any image that had it. */
static int image_tag_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    const char *ref = vic_http_req_query(req, "ref"), *tag = vic_http_req_query(req, "tag");
    int rc = need_images(c, err);
    if (rc == 0 && (ref == NULL || *ref == '\0'))
        rc = vic_err_set(err, VIC_EINVAL, "ref: is required");
    if (rc == 0 && (tag == NULL || *tag == '\0'))
        rc = vic_err_set(err, VIC_EINVAL, "tag: is required");
    pl_ref *parsed = NULL;
    if (rc == 0 && (rc = pl_ref_parse(&parsed, tag, err)) == 0 && parsed->digest)
        rc = vic_err_set(err, VIC_EINVAL, "refusing to create a tag with a digest reference: %s",
                         tag);
    cleanup_free char *name = rc == 0 ? pl_ref_string(parsed) : NULL;
    pl_ref_free(parsed);
    if (rc == 0)
        rc = pl_imagestore_tag(c->images, ref, tag, err);
    if (rc == VIC_ENOTFOUND)
        return vic_err_set(err, VIC_ENOTFOUND, "No such image: %s", ref);
    if (rc < 0)
        return rc;
    vic_log(VIC_LOG_INFO, "event=image_tagged ref=\"%s\" tag=\"%s\"", ref, name);
    vic_http_resp_json(resp, 201, json_pack("{s:s}", "tag", name));
    return 0;
}

static int image_remove(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    const char *ref = vic_http_req_query(req, "ref"), *force = vic_http_req_query(req, "force");
    int rc = 0;
    if (ref == NULL)
        rc = vic_err_set(err, VIC_EINVAL, "ref: is required");
    if (rc == 0)
        rc = pl_imagestore_remove(out, c->images, ref,
                                  force && strcmp(force, "0") && strcmp(force, "false"), err);
    if (rc == VIC_ENOTFOUND)
        return vic_err_set(err, VIC_ENOTFOUND, "No such image: %s", ref);
    return rc;
}

typedef struct pull_job {
    pl_server_ctx *c;
    char *ref;
    pl_regauth auth; /* the client's X-Registry-Auth credentials, if any */
    vic_http_stream *s;
    int downloaded; /* any layer fetched, rather than all already there */
} pull_job;

static void emit(vic_http_stream *s, json_t *line)
{
    char *text = json_dumps(line, JSON_COMPACT);
    if (text) {
        vic_http_stream_write_line(s, text, strlen(text), NULL);
        free(text);
    }
    json_decref(line);
}

/* Docker's pull progress lines, from the registry client's callbacks. */
static void on_progress(const pl_progress *p, void *payload)
{
    pull_job *j = payload;
    if (p->state == PL_PROGRESS_DOWNLOADING || p->state == PL_PROGRESS_DOWNLOADED)
        j->downloaded = 1;
    if (p->state == PL_PROGRESS_DOWNLOADING)
        emit(j->s,
             json_pack("{s:s, s:{s:I, s:I}, s:s}", "status", "Downloading", "progressDetail",
                       "current", (json_int_t)p->done, "total", (json_int_t)p->total, "id", p->id));
    else
        emit(j->s, json_pack("{s:s, s:{}, s:s}", "status", pl_progress_state_name(p->state),
                             "progressDetail", "id", p->id));
}

static void *pull_thread(void *arg)
{
    pull_job *j = arg;
    vic_err *err = NULL;
    pl_ref *ref = NULL;
    pl_registry *reg = NULL;
    json_t *image = NULL;
    int rc = pl_ref_parse(&ref, j->ref, &err);
    if (rc == 0) {
        emit(j->s, json_pack("{s:s+, s:s}", "status", "Pulling from ", ref->repository, "id",
                             ref->tag ? ref->tag : ref->digest));
        rc = pl_registry_new(&reg, &j->c->registry, &err);
    }
    if (rc == 0)
        rc = pl_registry_pull_as(&image, reg, j->c->images, j->ref,
                                 &(pl_registry_creds){j->auth.username, j->auth.password},
                                 on_progress, j, &err);
    if (rc == 0) {
        json_t *digests = json_object_get(image, "repo_digests");
        const char *rd = json_string_value(json_array_get(digests, 0));
        const char *at = rd ? strchr(rd, '@') : NULL;
        if (at)
            emit(j->s, json_pack("{s:s+}", "status", "Digest: ", at + 1));
        char *name = pl_ref_string(ref);
        emit(j->s, json_pack("{s:s+}", "status",
                             j->downloaded ? "Status: Downloaded newer image for "
                                           : "Status: Image is up to date for ",
                             name));
        free(name);
    } else {
        emit(j->s,
             json_pack("{s:{s:s}, s:s}", "errorDetail", "message", err->msg, "error", err->msg));
    }
    json_decref(image);
    pl_registry_free(reg);
    pl_ref_free(ref);
    vic_err_free(&err);
    vic_http_stream_close(j->s);
    vic_http_stream_release(j->s);
    free(j->ref);
    pl_regauth_clear(&j->auth);
    free(j);
    return NULL;
}

static int pull_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    const char *ref = vic_http_req_query(req, "ref");
    int rc = need_images(c, err);
    if (rc < 0)
        return rc;
    if (ref == NULL || *ref == '\0')
        return vic_err_set(err, VIC_EINVAL, "ref: is required");
    pl_ref *parsed = NULL;
    if ((rc = pl_ref_parse(&parsed, ref, err)) < 0)
        return rc;
    pl_ref_free(parsed);
    pl_regauth auth;
    if ((rc = pl_regauth_parse(&auth, vic_http_req_header(req, "X-Registry-Auth"), err)) < 0) {
        pl_regauth_clear(&auth);
        return rc;
    }
    pull_job *j = xzalloc(sizeof(*j));
    j->c = c;
    j->ref = xstrdup(ref);
    j->auth = auth;
    j->s = vic_http_resp_stream(resp, 200, "application/json");
    pthread_t th;
    if (pthread_create(&th, NULL, pull_thread, j) != 0) {
        vic_http_stream_close(j->s);
        vic_http_stream_release(j->s);
        free(j->ref);
        pl_regauth_clear(&j->auth);
        free(j);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start a pull");
    }
    pthread_detach(th);
    return 0;
}

/* ---- docker push ---- */

typedef struct push_job {
    pl_server_ctx *c;
    char **refs; /* the tags to push */
    size_t n;
    char *repo; /* what docker shows: "127.0.0.1:5000/busybox" */
    pl_regauth auth;
    vic_http_stream *s;
} push_job;

/* Docker's push progress lines. */
static void on_push_progress(const pl_progress *p, void *payload)
{
    push_job *j = payload;
    if (p->state == PL_PROGRESS_PUSHING)
        emit(j->s,
             json_pack("{s:s, s:{s:I, s:I}, s:s}", "status", "Pushing", "progressDetail", "current",
                       (json_int_t)p->done, "total", (json_int_t)p->total, "id", p->id));
    else
        emit(j->s, json_pack("{s:s, s:{}, s:s}", "status", pl_progress_state_name(p->state),
                             "progressDetail", "id", p->id));
}

static void *push_thread(void *arg)
{
    push_job *j = arg;
    vic_err *err = NULL;
    pl_registry *reg = NULL;
    emit(j->s, json_pack("{s:s++}", "status", "The push refers to repository [", j->repo, "]"));
    int rc = pl_registry_new(&reg, &j->c->registry, &err);
    for (size_t i = 0; rc == 0 && i < j->n; i++) {
        json_t *out = NULL;
        rc = pl_registry_push(&out, reg, j->c->images, j->refs[i],
                              &(pl_registry_creds){j->auth.username, j->auth.password},
                              on_push_progress, j, &err);
        if (rc == 0) {
            cleanup_free char *line = xasprintf(
                "%s: digest: %s size: %lld", vic_json_str(out, "tag"), vic_json_str(out, "digest"),
                (long long)json_integer_value(json_object_get(out, "size")));
            emit(j->s, json_pack("{s:s}", "status", line));
            emit(j->s,
                 json_pack("{s:{}, s:{s:O, s:O, s:O}}", "progressDetail", "aux", "Tag",
                           json_object_get(out, "tag"), "Digest", json_object_get(out, "digest"),
                           "Size", json_object_get(out, "size")));
            vic_log(VIC_LOG_INFO, "event=image_pushed ref=\"%s\" digest=%s", j->refs[i],
                    vic_json_str(out, "digest"));
        }
        json_decref(out);
    }
    if (rc < 0)
        emit(j->s,
             json_pack("{s:{s:s}, s:s}", "errorDetail", "message", err->msg, "error", err->msg));
    vic_err_free(&err);
    pl_registry_free(reg);
    vic_http_stream_close(j->s);
    vic_http_stream_release(j->s);
    for (size_t i = 0; i < j->n; i++)
        free(j->refs[i]);
    free(j->refs);
    free(j->repo);
    pl_regauth_clear(&j->auth);
    free(j);
    return NULL;
}

/* docker push: ref= the repository or a tag of it, tag= a tag (empty: ref's own, or every
 * local tag of the repository). A push of nothing is a 404 before the stream starts. */
static int push_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    const char *name = vic_http_req_query(req, "ref"), *tag = vic_http_req_query(req, "tag");
    int rc = need_images(c, err);
    if (rc < 0)
        return rc;
    if (name == NULL || *name == '\0')
        return vic_err_set(err, VIC_EINVAL, "ref: is required");
    pl_ref *ref = NULL;
    cleanup_free char *full = tag && *tag ? xasprintf("%s:%s", name, tag) : xstrdup(name);
    if ((rc = pl_ref_parse(&ref, full, err)) < 0)
        return rc;
    cleanup_free char *repo = pl_ref_name(ref);
    /* without a tag in name or tag=: every local tag of the repository */
    const char *colon = strrchr(name, ':'), *slash = strrchr(name, '/');
    int all = !(tag && *tag) && !(colon && (!slash || colon > slash)) && !ref->digest;
    json_t *refs cleanup_json = json_array();
    if (!all) {
        cleanup_free char *one = pl_ref_string(ref);
        json_array_append_new(refs, json_string(one));
    } else {
        json_t *list cleanup_json = NULL;
        if ((rc = pl_imagestore_list(&list, c->images, err)) < 0) {
            pl_ref_free(ref);
            return rc;
        }
        size_t i, k;
        json_t *im, *t;
        json_array_foreach(list, i, im)
        {
            json_array_foreach(json_object_get(im, "repo_tags"), k, t)
            {
                const char *ts = json_string_value(t);
                size_t rl = strlen(repo);
                if (ts && strncmp(ts, repo, rl) == 0 && ts[rl] == ':')
                    json_array_append(refs, t);
            }
        }
    }
    pl_ref_free(ref);
    if (json_array_size(refs) == 0)
        return vic_err_set(err, VIC_ENOTFOUND, "An image does not exist locally with the tag: %s",
                           name);
    pl_regauth auth;
    if ((rc = pl_regauth_parse(&auth, vic_http_req_header(req, "X-Registry-Auth"), err)) < 0) {
        pl_regauth_clear(&auth);
        return rc;
    }
    push_job *j = xzalloc(sizeof(*j));
    j->c = c;
    j->n = json_array_size(refs);
    j->refs = xcalloc(j->n, sizeof(char *));
    for (size_t i = 0; i < j->n; i++)
        j->refs[i] = xstrdup(json_string_value(json_array_get(refs, i)));
    char *fam = repo;
    if (strncmp(fam, "docker.io/library/", 18) == 0)
        fam += 18;
    else if (strncmp(fam, "docker.io/", 10) == 0)
        fam += 10;
    j->repo = xstrdup(fam);
    j->auth = auth;
    j->s = vic_http_resp_stream(resp, 200, "application/json");
    pthread_t th;
    if (pthread_create(&th, NULL, push_thread, j) != 0) {
        vic_http_stream_close(j->s);
        vic_http_stream_release(j->s);
        for (size_t i = 0; i < j->n; i++)
            free(j->refs[i]);
        free(j->refs);
        free(j->repo);
        pl_regauth_clear(&j->auth);
        free(j);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start a push");
    }
    pthread_detach(th);
    return 0;
}

/* ---- docker save and load ---- */

typedef struct save_job {
    pl_server_ctx *c;
    char **names;
    size_t n;
    vic_http_stream *s;
} save_job;

static int save_to_stream(const void *data, size_t len, void *payload)
{
    save_job *j = payload;
    return vic_http_stream_write_wait(j->s, data, len, ARCHIVE_STALL_MS, NULL) < 0 ? -1 : 0;
}

static void *save_thread(void *arg)
{
    save_job *j = arg;
    vic_err *err = NULL;
    if (pl_image_save(j->c->images, (const char *const *)j->names, j->n, save_to_stream, j, &err) <
            0 &&
        err->code != VIC_EUNAVAIL)
        /* the answer's status is sent already: the client sees a cut archive */
        vic_log(VIC_LOG_WARN, "event=save_failed err=\"%s\"", err->msg);
    vic_err_free(&err);
    vic_http_stream_close(j->s);
    vic_http_stream_release(j->s);
    for (size_t i = 0; i < j->n; i++)
        free(j->names[i]);
    free(j->names);
    free(j);
    return NULL;
}

/* docker save: the images of every ref= as one docker-archive tar, streamed; a missing one is
 * a 404 before anything is sent. */
static int save_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    int rc = need_images(c, err);
    if (rc < 0)
        return rc;
    size_t n = 0;
    while (vic_http_req_query_nth(req, "ref", n))
        n++;
    if (n == 0)
        return vic_err_set(err, VIC_EINVAL, "ref: is required");
    for (size_t i = 0; i < n; i++) {
        const char *name = vic_http_req_query_nth(req, "ref", i);
        json_t *rec cleanup_json = NULL;
        if ((rc = pl_imagestore_inspect(&rec, c->images, name, err)) == VIC_ENOTFOUND)
            return vic_err_set(err, VIC_ENOTFOUND, "No such image: %s", name);
        if (rc < 0)
            return rc;
    }
    save_job *j = xzalloc(sizeof(*j));
    j->c = c;
    j->n = n;
    j->names = xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        j->names[i] = xstrdup(vic_http_req_query_nth(req, "ref", i));
    j->s = vic_http_resp_stream(resp, 200, "application/x-tar");
    pthread_t th;
    if (pthread_create(&th, NULL, save_thread, j) != 0) {
        vic_http_stream_close(j->s);
        vic_http_stream_release(j->s);
        for (size_t i = 0; i < n; i++)
            free(j->names[i]);
        free(j->names);
        free(j);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start the archive");
    }
    pthread_detach(th);
    return 0;
}

/* docker load: the docker-archive tar of the body into the store; {"loaded": [lines]}. */
static int load_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    int rc = need_images(c, err);
    if (rc < 0)
        return rc;
    int fd = vic_http_req_body_fd(req), own cleanup_close = -1;
    if (fd < 0) { /* a body kept in memory: give the reader a file */
        size_t len = 0;
        const char *body = vic_http_req_body(req, &len);
        own = fd = memfd_create("load", MFD_CLOEXEC);
        if (fd < 0 || (len && write(fd, body, len) != (ssize_t)len) || lseek(fd, 0, SEEK_SET))
            return vic_err_sys(err, VIC_EIO, errno, "keep the archive");
    }
    json_t *loaded = NULL;
    if ((rc = pl_image_load(&loaded, c->images, fd, err)) < 0)
        return rc;
    vic_log(VIC_LOG_INFO, "event=images_loaded count=%zu", json_array_size(loaded));
    vic_http_resp_json(resp, 200, json_pack("{s:o}", "loaded", loaded));
    return 0;
}

/* docker login: checks {"username", "password", "serveraddress"} against the registry;
 * nothing is kept, the client sends its credentials with each pull and push. */
static int login_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    size_t len = 0;
    const char *body = vic_http_req_body(req, &len);
    json_t *b cleanup_json = NULL;
    int rc = vic_json_parse(&b, body, len, 0, err);
    if (rc < 0)
        return rc;
    const char *user = vic_json_str(b, "username"), *pass = vic_json_str(b, "password"),
               *server = vic_json_str(b, "serveraddress");
    pl_registry *reg = NULL;
    if ((rc = pl_registry_new(&reg, &c->registry, err)) == 0)
        rc = pl_registry_login(reg, server, &(pl_registry_creds){user, pass}, err);
    pl_registry_free(reg);
    if (pass)
        OPENSSL_cleanse((char *)pass, strlen(pass));
    OPENSSL_cleanse((char *)body, len);
    vic_log(rc == 0 ? VIC_LOG_INFO : VIC_LOG_WARN,
            "event=registry_login server=\"%.100s\" result=%s", server ? server : "",
            rc == 0 ? "ok" : vic_err_code_name(rc));
    if (rc < 0)
        return rc;
    vic_http_resp_json(resp, 200,
                       json_pack("{s:s, s:s}", "Status", "Login Succeeded", "IdentityToken", ""));
    return 0;
}

/* ---- events ---- */

/* "1701234567", "1701234567.5" or "1701234567.000000001" (Docker's timestamps) in ns. */
static int parse_timestamp(const char *v, int64_t *out)
{
    char *end = NULL;
    long long secs = strtoll(v, &end, 10);
    if (end == v || secs < 0 || secs > 4102444800LL)
        return -1;
    int64_t ns = 0;
    if (*end == '.') {
        const char *f = end + 1;
        int digits = 0;
        for (; *f >= '0' && *f <= '9'; f++, digits++)
            if (digits < 9)
                ns = ns * 10 + (*f - '0');
        if (digits == 0 || *f)
            return -1;
        for (; digits < 9; digits++)
            ns *= 10;
    } else if (*end) {
        return -1;
    }
    *out = (int64_t)secs * 1000000000 + ns;
    return 0;
}

typedef struct events_job {
    pl_server_ctx *c;
    int64_t since, until;
    int64_t health_seq; /* the last health event sent (pl_health_events) */
    vic_http_stream *s;
} events_job;

static int write_event(events_job *j, const json_t *ev)
{
    char *text = json_dumps(ev, JSON_COMPACT);
    int rc = vic_http_stream_write_line(j->s, text, strlen(text), NULL) < 0 ? -1 : 0;
    free(text);
    return rc;
}

/* Sends the health checks' events (they come from the port layer, not the hypervisor) up to
 * time cutoff (ns; -1: all) and before until: -1 when the client left. */
static int emit_health(events_job *j, int64_t cutoff)
{
    json_t *health cleanup_json = pl_healthmon_events(j->c->health, j->health_seq, j->since);
    size_t i;
    json_t *h;
    json_array_foreach(health, i, h)
    {
        int64_t t = json_integer_value(json_object_get(h, "time_ns"));
        if ((cutoff >= 0 && t > cutoff) || (j->until > 0 && t > j->until))
            break;
        j->health_seq = json_integer_value(json_object_get(h, "seq"));
        json_object_del(h, "seq");
        if (write_event(j, h) < 0)
            return -1;
    }
    return 0;
}

/* The hypervisor's events as they are followed, with the health events before each in time,
 * and at each quiet second. */
static int emit_event(const json_t *ev, void *payload)
{
    events_job *j = payload;
    if (!vic_http_stream_alive(j->s))
        return -1;
    if (emit_health(j, ev ? json_integer_value(json_object_get(ev, "time_ns")) : -1) < 0)
        return -1;
    if (ev)
        return write_event(j, ev);
    /* a quiet second: a heartbeat lets a relaying reader look at its own client */
    return vic_http_stream_write(j->s, "{}\n", 3, NULL) < 0 ? -1 : 0;
}

static void *events_thread(void *arg)
{
    events_job *j = arg;
    vic_err *err = NULL;
    if (pl_events_follow(j->c->port, j->since, j->until, emit_event, j, &err) < 0)
        emit(j->s, json_pack("{s:s}", "error", err->msg));
    else if (j->until > 0 && vic_http_stream_alive(j->s))
        emit_health(j, -1); /* those after the last of the hypervisor's, up to until */
    vic_log(VIC_LOG_INFO, "event=events_end reason=\"%s\"",
            err                           ? err->msg
            : vic_http_stream_alive(j->s) ? "until reached"
                                          : "the client left");
    vic_err_free(&err);
    vic_http_stream_close(j->s);
    vic_http_stream_release(j->s);
    free(j);
    return NULL;
}

static int events_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    int64_t since = 0, until = 0;
    const char *sq = vic_http_req_query(req, "since"), *uq = vic_http_req_query(req, "until");
    if (sq && *sq && parse_timestamp(sq, &since) < 0)
        return vic_err_set(err, VIC_EINVAL, "since: \"%.40s\" is not a Unix timestamp", sq);
    if (uq && *uq && parse_timestamp(uq, &until) < 0)
        return vic_err_set(err, VIC_EINVAL, "until: \"%.40s\" is not a Unix timestamp", uq);
    events_job *j = xzalloc(sizeof(*j));
    j->c = c;
    j->since = since;
    j->until = until;
    j->health_seq = since > 0 ? 0 : pl_healthmon_event_seq(c->health);
    j->s = vic_http_resp_stream(resp, 200, "application/json");
    pthread_t th;
    if (pthread_create(&th, NULL, events_thread, j) != 0) {
        vic_http_stream_close(j->s);
        vic_http_stream_release(j->s);
        free(j);
        return vic_err_set(err, VIC_EINTERNAL, "cannot follow events");
    }
    pthread_detach(th);
    return 0;
}

/* ---- routes ---- */

/* The routes served by one port-layer call: the store the call needs attached (or NULL), the
 * call, and the status of its answer: 200 with *out as the JSON body, or 204 without one. */
typedef struct pl_call {
    const char *method, *pattern; /* the route's */
    int (*need)(pl_server_ctx *c, vic_err **err);
    int (*call)(pl_server_ctx *c, vic_http_req *req, json_t **out, vic_err **err);
    int status;
} pl_call;

static const pl_call pl_calls[] = {
    {"GET", "/containers", NULL, container_list, 200},
    {"GET", "/containers/{id}", NULL, container_inspect, 200},
    {"DELETE", "/containers/{id}", NULL, container_remove, 204},
    {"POST", "/containers/{id}/start", NULL, container_start, 204},
    {"POST", "/containers/{id}/stop", NULL, container_stop, 204},
    {"POST", "/containers/{id}/kill", NULL, container_kill, 204},
    {"POST", "/containers/{id}/wait", NULL, container_wait, 200},
    {"POST", "/containers/{id}/pause", NULL, container_pause, 204},
    {"POST", "/containers/{id}/restart", NULL, container_restart, 204},
    {"GET", "/info", NULL, host_info, 200},
    {"POST", "/containers/{id}/unpause", NULL, container_unpause, 204},
    {"POST", "/containers/{id}/update", NULL, container_update, 204},
    {"POST", "/containers/{id}/rename", NULL, container_rename, 204},
    {"GET", "/containers/{id}/stats", NULL, container_stats, 200},
    {"GET", "/containers/{id}/top", NULL, container_top, 200},
    {"POST", "/containers/{id}/networks", need_networks, container_connect, 204},
    {"DELETE", "/containers/{id}/networks/{name}", need_networks, container_disconnect, 204},
    {"GET", "/images", need_images, image_list, 200},
    {"GET", "/images/inspect", need_images, image_inspect, 200},
    {"GET", "/images/history", need_images, image_history, 200},
    {"DELETE", "/images", need_images, image_remove, 200},
    {"GET", "/volumes", need_volumes, volume_list, 200},
    {"GET", "/volumes/{name}", need_volumes, volume_inspect, 200},
    {"DELETE", "/volumes/{name}", need_volumes, volume_remove, 204},
    {"GET", "/networks", need_networks, network_list, 200},
    {"GET", "/networks/{id}", need_networks, network_inspect, 200},
    {"DELETE", "/networks/{id}", need_networks, network_remove, 204},
};

/* The handler of every route in pl_calls: finds the route's entry and answers its call. */
static int call_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    const vic_http_route *route = vic_http_req_route(req);
    const pl_call *pc = NULL;
    for (size_t i = 0; route && pc == NULL && i < sizeof(pl_calls) / sizeof(pl_calls[0]); i++)
        if (strcmp(pl_calls[i].method, route->method) == 0 &&
            strcmp(pl_calls[i].pattern, route->pattern) == 0)
            pc = &pl_calls[i];
    if (pc == NULL)
        return vic_err_set(err, VIC_EINTERNAL, "no port layer call for this route");
    json_t *out = NULL;
    int rc = pc->need ? pc->need(c, err) : 0;
    if (rc == 0)
        rc = pc->call(c, req, &out, err);
    if (rc < 0) {
        json_decref(out);
        return rc;
    }
    vic_http_resp_json(resp, pc->status, out); /* the 204 calls leave out NULL */
    return 0;
}

const vic_http_route pl_routes[] = {
    {"GET", "/version", version_handler, VIC_ROUTE_PUBLIC, "the API version"},
    {"GET", "/openapi.json", openapi_handler, 0, "this API's description"},
    {"GET", "/info", call_handler, 0, "what this host enforces"},
    {"POST", "/containers", create_handler, VIC_ROUTE_JSON, "create a container"},
    {"GET", "/containers", call_handler, 0, "list containers"},
    {"GET", "/containers/{id}", call_handler, 0, "inspect a container"},
    {"DELETE", "/containers/{id}", call_handler, 0, "remove a container"},
    {"POST", "/containers/{id}/start", call_handler, 0, "power a container on"},
    {"POST", "/containers/{id}/stop", call_handler, 0, "stop a container"},
    {"POST", "/containers/{id}/kill", call_handler, 0, "send a container a signal"},
    {"POST", "/containers/{id}/attach", attach_handler, 0,
     "take the container's interactive channel (hijacked: attach frames both ways)"},
    {"POST", "/containers/{id}/exec", exec_handler, 0,
     "start a program in a running container (hijacked: attach frames, EXEC first)"},
    {"POST", "/containers/{id}/wait", call_handler, 0, "wait for a container to stop"},
    {"POST", "/containers/{id}/rename", call_handler, 0, "rename a container"},
    {"POST", "/containers/{id}/restart", call_handler, 0,
     "stop and start a container (an auto-remove one is kept)"},
    {"POST", "/containers/{id}/pause", call_handler, 0, "freeze a running container"},
    {"POST", "/containers/{id}/unpause", call_handler, 0, "thaw a paused container"},
    {"POST", "/containers/{id}/update", call_handler, VIC_ROUTE_JSON,
     "change a container's memory, CPU and process limits or restart policy"},
    {"GET", "/containers/{id}/logs", logs_handler, 0, "a container's output"},
    {"GET", "/containers/{id}/stats", call_handler, 0, "a container's CPU and memory use"},
    {"GET", "/containers/{id}/archive/stat", archive_stat_handler, 0,
     "the stat of a path in a container (Docker's ContainerPathStat)"},
    {"GET", "/containers/{id}/archive", archive_get_handler, 0,
     "a tar of a path in a container (streamed)"},
    {"PUT", "/containers/{id}/archive", archive_put_handler, 0,
     "unpack a tar (application/x-tar) into a directory of a container"},
    {"GET", "/containers/{id}/changes", changes_handler, 0,
     "a container's root disk against its image (Docker's changes: path, kind)"},
    {"GET", "/containers/{id}/export", export_handler, 0,
     "a tar of a container's root disk (streamed)"},
    {"POST", "/containers/{id}/commit", commit_handler, VIC_ROUTE_JSON,
     "a container's changes as a new image (a layer and a config)"},
    {"GET", "/images", call_handler, 0, "list images"},
    {"GET", "/images/inspect", call_handler, 0, "inspect an image"},
    {"GET", "/images/history", call_handler, 0, "an image's history"},
    {"POST", "/images/tag", image_tag_handler, 0, "tag an image"},
    {"DELETE", "/images", call_handler, 0, "remove an image"},
    {"POST", "/images/pull", pull_handler, 0, "pull an image (progress as JSON lines)"},
    {"POST", "/images/push", push_handler, 0,
     "push an image to its registry (progress as JSON lines)"},
    {"GET", "/images/save", save_handler, 0,
     "docker save: the images of each ref= as a docker-archive tar (streamed)"},
    {"POST", "/images/load", load_handler, 0,
     "docker load: a docker-archive tar (application/x-tar) into the image store"},
    {"POST", "/registry/login", login_handler, VIC_ROUTE_JSON,
     "check credentials against a registry (docker login)"},
    {"GET", "/events", events_handler, 0,
     "container events as JSON lines (since, until: Unix timestamps; {} is a heartbeat)"},
    {"GET", "/volumes", call_handler, 0, "list volumes"},
    {"POST", "/volumes", volume_create_handler, VIC_ROUTE_JSON, "create a volume"},
    {"GET", "/volumes/{name}", call_handler, 0, "inspect a volume"},
    {"DELETE", "/volumes/{name}", call_handler, 0, "remove an unused volume"},
    {"POST", "/containers/{id}/networks", call_handler, VIC_ROUTE_JSON,
     "join a stopped container to a network"},
    {"DELETE", "/containers/{id}/networks/{name}", call_handler, 0,
     "take a stopped container off a network"},
    {"GET", "/containers/{id}/top", call_handler, 0, "a running container's processes"},
    {"GET", "/networks", call_handler, 0, "list networks"},
    {"POST", "/networks", network_create_handler, VIC_ROUTE_JSON, "create a bridge network"},
    {"GET", "/networks/{id}", call_handler, 0, "inspect a network"},
    {"DELETE", "/networks/{id}", call_handler, 0, "remove an unused network"},
};
const size_t pl_n_routes = sizeof(pl_routes) / sizeof(pl_routes[0]);
