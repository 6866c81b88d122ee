/*
 * server.c - port-layer-server's routes and handlers (see server.h); portlayer/openapi.json
 * documents the same routes, and a unit test holds the two in step.
 */
#include "portlayer/server.h"

#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "lib/mem.h"

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

static const vic_schema_field create_fields[] = {
    {.name = "name", .type = VIC_JSON_STRING, .min = 1, .max = 64},
    {.name = "image", .type = VIC_JSON_STRING, .required = 1, .min = 1, .max = 512},
    {.name = "cmd",
     .type = VIC_JSON_ARRAY,
     .items = VIC_JSON_STRING,
     .required = 1,
     .min = 1,
     .max = 4096},
    {.name = "env", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 4096},
    {.name = "workdir", .type = VIC_JSON_STRING, .max = 4096},
    {.name = "user", .type = VIC_JSON_STRING, .max = 256},
    {.name = "hostname", .type = VIC_JSON_STRING, .max = 63},
    {.name = "stop_signal", .type = VIC_JSON_STRING, .max = 16},
    {.name = "tty", .type = VIC_JSON_BOOL},
    {.name = "interactive", .type = VIC_JSON_BOOL},
    {.name = "cpus", .type = VIC_JSON_INT, .min = 1, .max = 64},
    {.name = "memory_mb", .type = VIC_JSON_INT, .min = 4, .max = 1 << 20},
};
static const vic_schema create_schema = VIC_SCHEMA(create_fields);

typedef struct rootfs_call {
    pl_server_ctx *ctx;
    const char *image;
} rootfs_call;

static int build_rootfs(const char *dir, void *payload, vic_err **err)
{
    rootfs_call *r = payload;
    return r->ctx->rootfs_for(r->image, dir, r->ctx->rootfs_payload, err);
}

static const char **strings(const json_t *arr, size_t *n)
{
    *n = json_array_size(arr);
    const char **out = xcalloc(*n + 1, sizeof(char *));
    for (size_t i = 0; i < *n; i++)
        out[i] = json_string_value(json_array_get(arr, i));
    return out;
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
    size_t n_cmd, n_env;
    cleanup_free const char **cmd = strings(json_object_get(body, "cmd"), &n_cmd);
    cleanup_free const char **env = strings(json_object_get(body, "env"), &n_env);
    rootfs_call call = {c, vic_json_str(body, "image")};
    pl_create_spec s = {
        .name = vic_json_str(body, "name"),
        .image = call.image,
        .cmd = cmd,
        .n_cmd = n_cmd,
        .env = env,
        .n_env = n_env,
        .workdir = vic_json_str(body, "workdir"),
        .user = vic_json_str(body, "user"),
        .hostname = vic_json_str(body, "hostname"),
        .stop_signal = vic_json_str(body, "stop_signal"),
        .tty = json_is_true(json_object_get(body, "tty")),
        .interactive = json_is_true(json_object_get(body, "interactive")),
        .cpus = (int)json_integer_value(json_object_get(body, "cpus")),
        .memory_mb = json_integer_value(json_object_get(body, "memory_mb")),
        .rootfs = build_rootfs,
        .rootfs_payload = &call,
    };
    char id[65];
    if ((rc = pl_container_create(c->port, &s, id, err)) < 0)
        return rc;
    vic_http_resp_json(resp, 201, json_pack("{s:s}", "id", id));
    return 0;
}

static int list_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    const char *all = vic_http_req_query(req, "all");
    json_t *list = NULL;
    int rc =
        pl_container_list(c->port, all && strcmp(all, "0") && strcmp(all, "false"), &list, err);
    if (rc < 0)
        return rc;
    vic_http_resp_json(resp, 200, list);
    return 0;
}

static int inspect_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    json_t *out = NULL;
    int rc = pl_container_inspect(c->port, vic_http_req_param(req, "id"), &out, err);
    if (rc < 0)
        return rc;
    vic_http_resp_json(resp, 200, out);
    return 0;
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

static int start_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    int rc = pl_container_start(c->port, vic_http_req_param(req, "id"), err);
    if (rc == 0)
        vic_http_resp_json(resp, 204, NULL);
    return rc;
}

static int stop_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    long t;
    int rc = query_int(req, "t", -1, -1, 3600, &t, err);
    if (rc == 0)
        rc = pl_container_stop(c->port, vic_http_req_param(req, "id"), t < 0 ? -1 : (int)t * 1000,
                               err);
    if (rc == 0)
        vic_http_resp_json(resp, 204, NULL);
    return rc;
}

static int wait_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    long t;
    int64_t code = 0;
    int rc = query_int(req, "timeout", 60, 0, 3600, &t, err);
    if (rc == 0)
        rc = pl_container_wait(c->port, vic_http_req_param(req, "id"), (unsigned)t * 1000, &code,
                               err);
    if (rc == 0)
        vic_http_resp_json(resp, 200, json_pack("{s:I}", "exit_code", (json_int_t)code));
    return rc;
}

static int remove_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    const char *force = vic_http_req_query(req, "force");
    int rc = pl_container_remove(c->port, vic_http_req_param(req, "id"),
                                 force && strcmp(force, "0") && strcmp(force, "false"), err);
    if (rc == 0)
        vic_http_resp_json(resp, 204, NULL);
    return rc;
}

static int rename_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    const char *name = vic_http_req_query(req, "name");
    if (name == NULL)
        return vic_err_set(err, VIC_EINVAL, "name: is required");
    int rc = pl_container_rename(c->port, vic_http_req_param(req, "id"), name, err);
    if (rc == 0)
        vic_http_resp_json(resp, 204, NULL);
    return rc;
}

typedef struct log_acc {
    json_t *records;
    int timestamps;
} log_acc;

static int add_record(int stream, int64_t t, const char *data, size_t len, void *payload)
{
    log_acc *a = payload;
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

static int logs_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    pl_server_ctx *c = payload;
    long tail, since;
    int rc = query_int(req, "tail", -1, -1, 1L << 30, &tail, err);
    if (rc == 0)
        rc = query_int(req, "since", 0, 0, 1L << 40, &since, err);
    if (rc < 0)
        return rc;
    const char *o = vic_http_req_query(req, "stdout"), *e = vic_http_req_query(req, "stderr");
    pl_log_opts opts = {.out = o == NULL || strcmp(o, "0"),
                        .err = e == NULL || strcmp(e, "0"),
                        .since_ns = (int64_t)since * 1000000000,
                        .tail = tail};
    log_acc acc = {json_array(), 0};
    rc = pl_container_logs(c->port, vic_http_req_param(req, "id"), &opts, add_record, &acc, err);
    if (rc < 0) {
        json_decref(acc.records);
        return rc;
    }
    vic_http_resp_json(resp, 200, acc.records);
    return 0;
}

const vic_http_route pl_routes[] = {
    {"GET", "/version", version_handler, VIC_ROUTE_PUBLIC, "the API version"},
    {"GET", "/openapi.json", openapi_handler, 0, "this API's description"},
    {"POST", "/containers", create_handler, VIC_ROUTE_JSON, "create a container"},
    {"GET", "/containers", list_handler, 0, "list containers"},
    {"GET", "/containers/{id}", inspect_handler, 0, "inspect a container"},
    {"DELETE", "/containers/{id}", remove_handler, 0, "remove a container"},
    {"POST", "/containers/{id}/start", start_handler, 0, "power a container on"},
    {"POST", "/containers/{id}/stop", stop_handler, 0, "stop a container"},
    {"POST", "/containers/{id}/wait", wait_handler, 0, "wait for a container to stop"},
    {"POST", "/containers/{id}/rename", rename_handler, 0, "rename a container"},
    {"GET", "/containers/{id}/logs", logs_handler, 0, "a container's output"},
};
const size_t pl_n_routes = sizeof(pl_routes) / sizeof(pl_routes[0]);
