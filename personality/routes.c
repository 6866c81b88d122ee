/*
 * routes.c - the Docker Engine API's route table and the server's hooks (see engine.h): the
 * only module that knows every feature's handlers.
 */
#include "personality/engine.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/mem.h"
#include "personality/archive.h"
#include "personality/attach.h"
#include "personality/commit.h"
#include "personality/containers.h"
#include "personality/events.h"
#include "personality/exec.h"
#include "personality/images.h"
#include "personality/logs.h"
#include "personality/networks.h"
#include "personality/prune.h"
#include "personality/system.h"
#include "personality/unserved.h"
#include "personality/volumes.h"

int engine_ctx_init(engine_ctx *c, const char *pl_url, const char *token, vic_err **err)
{
    int rc = vic_httpc_new(&c->pl, pl_url, token, err);
    if (rc < 0)
        return rc;
    pthread_mutex_init(&c->sessions_lock, NULL);
    c->sessions = NULL;
    pthread_mutex_init(&c->execs_lock, NULL);
    c->execs = NULL;
    c->n_execs = 0;
    return 0;
}

void engine_ctx_free(engine_ctx *c)
{
    engine_exec_free_all(c);
    vic_httpc_free(c->pl);
    c->pl = NULL;
    /* the locks stay: a detached exec or an attach that outlives the server may still take
     * them until the process ends */
}

int engine_auth(vic_http_req *req, const vic_http_route *route, void *payload, vic_err **err)
{
    (void)route, (void)payload, (void)err;
    vic_http_req_set_principal(req, "docker", "client");
    return 0;
}

static int version_cmp(const char *a, const char *b)
{
    int am = 0, an = 0, bm = 0, bn = 0;
    sscanf(a, "%d.%d", &am, &an);
    sscanf(b, "%d.%d", &bm, &bn);
    return am != bm ? am - bm : an - bn;
}

/* Image names carry slashes ("127.0.0.1:5000/busybox:latest"), which a route pattern cannot
 * match: the routes of images.h are rewritten (DELETE /images/NAME becomes /images/rmi with
 * the name as an argument, and so on). */
static void engine_prepare_names(vic_http_req *req)
{
    engine_images_rewrite(req);
    engine_unserved_rewrite(req);
}

/* Whether one path segment (len bytes at p) matches a pattern's segment ({param}: any). */
static int segment_matches(const char *pat, size_t plen, const char *p, size_t len)
{
    if (plen > 2 && pat[0] == '{' && pat[plen - 1] == '}')
        return len > 0;
    return plen == len && memcmp(pat, p, len) == 0;
}

/* Whether a route serves method on path (HEAD: a GET route). */
static int route_serves(const vic_http_route *r, const char *method, const char *path)
{
    if (strcmp(method, r->method) != 0 &&
        !(strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0))
        return 0;
    const char *pat = r->pattern, *p = path;
    while (*pat == '/' && *p == '/') {
        pat++, p++;
        size_t plen = strcspn(pat, "/"), len = strcspn(p, "/");
        if (!segment_matches(pat, plen, p, len))
            return 0;
        pat += plen, p += len;
    }
    return *pat == '\0' && *p == '\0';
}

/* Docker Engine's answer for a path or a method it does not route (moby's pageNotFoundError
 * serves both): 404 "page not found", never the generic router's 404 or 405. */
static int engine_route_known(const char *method, const char *path, vic_err **err)
{
    for (size_t i = 0; i < engine_n_routes; i++)
        if (route_serves(&engine_routes[i], method, path))
            return 0;
    return vic_err_set(err, VIC_ENOTFOUND, "page not found");
}

int engine_prepare(vic_http_req *req, void *payload, vic_err **err)
{
    (void)payload;
    const char *p = vic_http_req_path(req);
    if (p[0] != '/' || p[1] != 'v' || p[2] < '0' || p[2] > '9') {
        engine_prepare_names(req);
        return engine_route_known(vic_http_req_method(req), vic_http_req_path(req), err);
    }
    const char *slash = strchr(p + 1, '/');
    char v[16];
    size_t n = slash ? (size_t)(slash - p - 2) : strlen(p + 2);
    if (n == 0 || n >= sizeof(v))
        return vic_err_set(err, VIC_EINVAL, "malformed API version in %s", p);
    memcpy(v, p + 2, n);
    v[n] = '\0';
    if (strspn(v, "0123456789.") != n)
        return vic_err_set(err, VIC_EINVAL, "malformed API version %s", v);
    if (version_cmp(v, VIC_API_MAX) > 0)
        return vic_err_set(err, VIC_EINVAL,
                           "client version %s is too new. Maximum supported "
                           "API version is " VIC_API_MAX,
                           v);
    if (version_cmp(v, VIC_API_MIN) < 0)
        return vic_err_set(err, VIC_EINVAL,
                           "client version %s is too old. Minimum supported "
                           "API version is " VIC_API_MIN ", please upgrade your client to a "
                           "newer version",
                           v);
    cleanup_free char *rest = xstrdup(slash ? slash : "/");
    vic_http_req_set_path(req, rest);
    engine_prepare_names(req);
    return engine_route_known(vic_http_req_method(req), vic_http_req_path(req), err);
}

/* What a VCH does not do (yet): Docker's error format, with the route's summary saying why,
 * never a 404 that the CLI would render as "page not found". */
static int unsupported_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)resp, (void)payload;
    const vic_http_route *r = vic_http_req_route(req);
    return vic_err_set(err, VIC_EUNSUPPORTED, "%s", r && r->summary ? r->summary : "not supported");
}

const vic_http_route engine_routes[] = {
    {"GET", "/_ping", engine_ping_handler, 0, "liveness and API version"},
    {"GET", "/version", engine_version_handler, 0, "versions"},
    {"GET", "/info", engine_info_handler, 0, "the VCH"},
    {"POST", "/auth", engine_auth_handler, VIC_ROUTE_JSON,
     "docker login: check credentials against a registry (nothing is kept)"},
    {"GET", "/containers/json", engine_container_list_handler, 0, "list containers"},
    {"POST", "/containers/create", engine_container_create_handler, VIC_ROUTE_JSON,
     "create a container"},
    {"GET", "/containers/{id}/json", engine_container_inspect_handler, 0, "inspect a container"},
    {"POST", "/containers/{id}/start", engine_container_start_handler, VIC_ROUTE_JSON_OPTIONAL,
     "start"},
    {"POST", "/containers/{id}/stop", engine_container_stop_handler, 0, "stop"},
    {"POST", "/containers/{id}/kill", engine_container_kill_handler, 0, "kill (a signal)"},
    {"POST", "/containers/{id}/attach", engine_attach_handler, 0, "attach (hijacked)"},
    {"POST", "/containers/{id}/resize", engine_resize_handler, 0, "resize the terminal"},
    {"POST", "/containers/{id}/wait", engine_container_wait_handler, 0, "wait"},
    {"DELETE", "/containers/{id}", engine_container_remove_handler, 0, "remove"},
    {"GET", "/containers/{id}/logs", engine_container_logs_handler, 0, "logs"},
    {"GET", "/containers/{id}/stats", engine_container_stats_handler, 0, "CPU and memory use"},
    {"GET", "/containers/{id}/archive", engine_archive_get_handler, 0,
     "docker cp from a container (HEAD: the stat of a path)"},
    {"PUT", "/containers/{id}/archive", engine_archive_put_handler, 0,
     "docker cp into a container"},
    {"GET", "/images/json", engine_image_list_handler, 0, "list images"},
    {"POST", "/images/prune", engine_image_prune_handler, 0,
     "remove unused images (dangling ones unless dangling=false)"},
    {"POST", "/containers/prune", engine_container_prune_handler, 0, "remove stopped containers"},
    {"GET", "/system/df", engine_system_df_handler, 0, "disk usage"},
    {"POST", "/images/create", engine_image_pull_handler, 0, "pull an image"},
    {"DELETE", "/images/rmi", engine_image_remove_handler, 0,
     "remove an image (see engine_prepare)"},
    {"GET", "/images/inspect", engine_image_inspect_handler, 0,
     "inspect an image (GET /images/NAME/json, see images.h)"},
    {"GET", "/images/history", engine_image_history_handler, 0,
     "an image's history (GET /images/NAME/history)"},
    {"POST", "/images/tag", engine_image_tag_handler, 0, "tag an image (POST /images/NAME/tag)"},
    {"GET", "/images/get", engine_image_save_handler, 0,
     "docker save: images as a tar (GET /images/get?names=, GET /images/NAME/get)"},
    {"POST", "/images/load", engine_image_load_handler, 0, "docker load: images from a tar"},
    {"POST", "/images/push", engine_image_push_handler, 0,
     "push an image to its registry (POST /images/NAME/push)"},
    {"POST", "/build", engine_image_build_handler, 0, "not supported"},
    {"POST", "/containers/{id}/restart", engine_container_restart_handler, 0, "restart"},
    {"POST", "/containers/{id}/rename", engine_container_rename_handler, 0, "rename"},
#define NOT_YET(what) what " is not supported by this VCH yet"
    {"POST", "/containers/{id}/exec", engine_exec_create_handler, VIC_ROUTE_JSON,
     "create an exec instance"},
    {"POST", "/exec/{id}/start", engine_exec_start_handler, VIC_ROUTE_JSON_OPTIONAL,
     "start an exec instance (hijacked unless detached)"},
    {"GET", "/exec/{id}/json", engine_exec_inspect_handler, 0, "inspect an exec instance"},
    {"POST", "/exec/{id}/resize", engine_exec_resize_handler, 0, "resize an exec's terminal"},
    {"GET", "/containers/{id}/top", engine_top_handler, 0, "a running container's processes"},
    {"POST", "/containers/{id}/pause", engine_container_pause_handler, 0, "pause"},
    {"POST", "/containers/{id}/unpause", engine_container_unpause_handler, 0, "unpause"},
    {"POST", "/containers/{id}/update", engine_container_update_handler, VIC_ROUTE_JSON_OPTIONAL,
     "update"},
    {"POST", "/commit", engine_commit_handler, VIC_ROUTE_JSON_OPTIONAL,
     "a container's changes as a new image"},
    {"GET", "/containers/{id}/export", engine_container_export_handler, 0,
     "a container's root disk as a tar"},
    {"GET", "/containers/{id}/changes", engine_container_changes_handler, 0,
     "a container's changes against its image"},
    {"GET", "/events", engine_events_handler, 0, "container events"},
    {"GET", "/volumes", engine_volume_list_handler, 0, "list volumes"},
    {"POST", "/volumes/create", engine_volume_create_handler, VIC_ROUTE_JSON_OPTIONAL,
     "create a volume"},
    {"POST", "/volumes/prune", engine_volume_prune_handler, 0, "remove unused volumes"},
    {"GET", "/volumes/{name}", engine_volume_inspect_handler, 0, "inspect a volume"},
    {"DELETE", "/volumes/{name}", engine_volume_remove_handler, 0, "remove a volume"},
    {"GET", "/networks", engine_network_list_handler, 0, "list networks"},
    {"POST", "/networks/create", engine_network_create_handler, VIC_ROUTE_JSON,
     "create a bridge network"},
    {"POST", "/networks/prune", engine_network_prune_handler, 0, "remove unused networks"},
    {"GET", "/networks/{id}", engine_network_inspect_handler, 0, "inspect a network"},
    {"DELETE", "/networks/{id}", engine_network_remove_handler, 0, "remove a network"},
    {"POST", "/networks/{id}/connect", engine_network_connect_handler, VIC_ROUTE_JSON,
     "connect a stopped container"},
    {"POST", "/networks/{id}/disconnect", engine_network_disconnect_handler, VIC_ROUTE_JSON,
     "disconnect a stopped container"},
    /* swarm mode: the answers of an Engine outside any swarm (unserved.h) */
    {"GET", "/swarm", engine_no_swarm_handler, 0, "inspect the swarm"},
    {"POST", "/swarm/init", unsupported_handler, VIC_ROUTE_JSON_OPTIONAL,
     "swarm mode is not supported by a VCH: it cannot start or join a swarm"},
    {"POST", "/swarm/join", unsupported_handler, VIC_ROUTE_JSON_OPTIONAL,
     "swarm mode is not supported by a VCH: it cannot start or join a swarm"},
    {"POST", "/swarm/leave", engine_swarm_leave_handler, 0, "leave the swarm"},
    {"POST", "/swarm/update", engine_no_swarm_handler, VIC_ROUTE_JSON_OPTIONAL, "update the swarm"},
    {"GET", "/swarm/unlockkey", engine_no_swarm_handler, 0, "the swarm's unlock key"},
    {"POST", "/swarm/unlock", engine_no_swarm_handler, VIC_ROUTE_JSON_OPTIONAL, "unlock the swarm"},
    {"GET", "/nodes", engine_no_swarm_handler, 0, "list nodes"},
    {"GET", "/nodes/{id}", engine_no_swarm_handler, 0, "inspect a node"},
    {"DELETE", "/nodes/{id}", engine_no_swarm_handler, 0, "remove a node"},
    {"POST", "/nodes/{id}/update", engine_no_swarm_handler, VIC_ROUTE_JSON_OPTIONAL,
     "update a node"},
    {"GET", "/services", engine_no_swarm_handler, 0, "list services"},
    {"POST", "/services/create", engine_no_swarm_handler, VIC_ROUTE_JSON_OPTIONAL,
     "create a service"},
    {"GET", "/services/{id}", engine_no_swarm_handler, 0, "inspect a service"},
    {"DELETE", "/services/{id}", engine_no_swarm_handler, 0, "remove a service"},
    {"POST", "/services/{id}/update", engine_no_swarm_handler, VIC_ROUTE_JSON_OPTIONAL,
     "update a service"},
    {"GET", "/services/{id}/logs", engine_no_swarm_handler, 0, "a service's logs"},
    {"GET", "/tasks", engine_no_swarm_handler, 0, "list tasks"},
    {"GET", "/tasks/{id}", engine_no_swarm_handler, 0, "inspect a task"},
    {"GET", "/tasks/{id}/logs", engine_no_swarm_handler, 0, "a task's logs"},
    {"GET", "/secrets", engine_no_swarm_handler, 0, "list secrets"},
    {"POST", "/secrets/create", engine_no_swarm_handler, VIC_ROUTE_JSON_OPTIONAL,
     "create a secret"},
    {"GET", "/secrets/{id}", engine_no_swarm_handler, 0, "inspect a secret"},
    {"DELETE", "/secrets/{id}", engine_no_swarm_handler, 0, "remove a secret"},
    {"POST", "/secrets/{id}/update", engine_no_swarm_handler, VIC_ROUTE_JSON_OPTIONAL,
     "update a secret"},
    {"GET", "/configs", engine_no_swarm_handler, 0, "list configs"},
    {"POST", "/configs/create", engine_no_swarm_handler, VIC_ROUTE_JSON_OPTIONAL,
     "create a config"},
    {"GET", "/configs/{id}", engine_no_swarm_handler, 0, "inspect a config"},
    {"DELETE", "/configs/{id}", engine_no_swarm_handler, 0, "remove a config"},
    {"POST", "/configs/{id}/update", engine_no_swarm_handler, VIC_ROUTE_JSON_OPTIONAL,
     "update a config"},
    /* plugins: none are installed, and none can be */
    {"GET", "/plugins", engine_plugin_list_handler, 0, "list plugins (there are none)"},
    {"GET", "/plugins/named", engine_plugin_named_handler, 0,
     "a named plugin (GET /plugins/NAME/json, see unserved.h): not found"},
    {"POST", "/plugins/named", engine_plugin_named_handler, 0,
     "a named plugin (POST /plugins/NAME/enable, ...): not found"},
    {"DELETE", "/plugins/named", engine_plugin_named_handler, 0,
     "a named plugin (DELETE /plugins/NAME): not found"},
    {"GET", "/plugins/privileges", unsupported_handler, 0,
     "plugins are not supported by a VCH: its volume stores and networks are built in"},
    {"POST", "/plugins/pull", unsupported_handler, 0,
     "plugins are not supported by a VCH: its volume stores and networks are built in"},
    {"POST", "/plugins/create", unsupported_handler, 0,
     "plugins are not supported by a VCH: its volume stores and networks are built in"},
    /* build: refused (engine_image_build_handler), and so are BuildKit's routes */
    {"POST", "/session", engine_image_build_handler, 0, "BuildKit's session: not supported"},
    {"POST", "/build/prune", engine_build_prune_handler, 0,
     "prune the build cache: a VCH builds nothing, so there is none"},
    {"POST", "/build/cancel", engine_image_build_handler, 0, "cancel a build: not supported"},
    {"GET", "/distribution/inspect", unsupported_handler, 0,
     "looking up an image's manifest in its registry (GET /distribution/NAME/json) is not "
     "supported by this VCH yet: it serves no services to resolve them for"},
#undef NOT_YET
};
const size_t engine_n_routes = sizeof(engine_routes) / sizeof(engine_routes[0]);
