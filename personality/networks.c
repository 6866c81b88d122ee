#include "personality/networks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/httpc.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "personality/common.h"

/* ---- a create's networks ---- */

static int mode_refused(const char *mode, vic_err **err)
{
    return vic_err_set(err, VIC_EUNSUPPORTED,
                       "--network %s is not supported: each container of a VCH is its own VM, "
                       "with a network stack of its own; use bridge, none or a network from "
                       "docker network create",
                       mode);
}

static json_t *endpoint(const char *name, const json_t *cfg)
{
    json_t *ep = json_pack("{s:s}", "name", name);
    json_t *aliases = json_object_get(cfg, "Aliases");
    if (json_array_size(aliases))
        json_object_set(ep, "aliases", aliases);
    const char *ip = vic_json_str(json_object_get(cfg, "IPAMConfig"), "IPv4Address");
    if (ip && *ip)
        json_object_set_new(ep, "ip", json_string(ip));
    return ep;
}

int engine_create_networks(const json_t *body, json_t **out, vic_err **err)
{
    *out = NULL;
    const char *mode = vic_json_str(json_object_get(body, "HostConfig"), "NetworkMode");
    json_t *eps = json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig");
    /* the CLI names the default network "default", in the mode and among the endpoints */
    if (mode == NULL || *mode == '\0' || strcmp(mode, "default") == 0)
        mode = "bridge";
    if (strcmp(mode, "host") == 0 || strncmp(mode, "container:", 10) == 0)
        return mode_refused(mode, err);
    json_t *list = json_array();
    json_t *mode_ep = json_object_get(eps, mode);
    if (mode_ep == NULL && strcmp(mode, "bridge") == 0)
        mode_ep = json_object_get(eps, "default");
    if (strcmp(mode, "none") != 0)
        json_array_append_new(list, endpoint(mode, mode_ep));
    const char *k;
    json_t *v;
    json_object_foreach(eps, k, v)
    {
        if (strcmp(k, mode) == 0 || (strcmp(k, "default") == 0 && strcmp(mode, "bridge") == 0))
            continue;
        if (strcmp(k, "host") == 0 || strcmp(k, "none") == 0) {
            json_decref(list);
            return vic_err_set(err, VIC_EINVAL,
                               "container cannot be connected to network %s and %s at once", mode,
                               k);
        }
        json_array_append_new(list, endpoint(k, v));
    }
    *out = list;
    return 0;
}

const char *engine_network_mode(const json_t *x)
{
    json_t *nets = json_object_get(x, "networks");
    if (json_array_size(nets) == 0)
        return "none";
    const char *first = vic_json_str(json_array_get(nets, 0), "name");
    return first && strcmp(first, "bridge") != 0 ? first : "default";
}

json_t *engine_inspect_networks(const json_t *x)
{
    json_t *out = json_object();
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(x, "networks"), i, n)
    {
        char endpoint_id[65];
        cleanup_free char *seed =
            xasprintf("%s %s", vic_json_str(x, "id") ?: "", vic_json_str(n, "id") ?: "");
        vic_sha256_hex(endpoint_id, seed, strlen(seed));
        json_t *aliases = json_object_get(n, "aliases");
        json_object_set_new(
            out, vic_json_str(n, "name"),
            json_pack("{s:n, s:n, s:o, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:i, s:s, s:n}",
                      "IPAMConfig", "Links", "Aliases",
                      aliases ? json_incref(aliases) : json_array(), "NetworkID",
                      vic_json_str(n, "id") ?: "", "EndpointID", endpoint_id, "Gateway",
                      vic_json_str(n, "gateway") ?: "", "IPAddress", vic_json_str(n, "ip") ?: "",
                      "IPPrefixLen", json_integer_value(json_object_get(n, "prefix")),
                      "IPv6Gateway", "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0,
                      "MacAddress", vic_json_str(n, "mac") ?: "", "DriverOpts"));
    }
    return out;
}

/* ---- docker network ---- */

/* The port layer path of the network the request's {id} names, or NULL (err set). */
static char *net_path(vic_http_req *req, const char *suffix, vic_err **err)
{
    const char *id = vic_http_req_param(req, "id");
    if (id == NULL || *id == '\0' || strlen(id) > 128 ||
        strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
            strlen(id)) {
        vic_err_set(err, VIC_ENOTFOUND, "network %s not found", id ? id : "");
        return NULL;
    }
    return xasprintf("/networks/%s%s", id, suffix);
}

/* Docker's network object from the port layer's; with_containers adds who is on it. */
static json_t *docker_network(const json_t *n, int with_containers)
{
    const char *driver = vic_json_str(n, "driver") ?: "bridge";
    json_t *cfg = json_array();
    const char *subnet = vic_json_str(n, "subnet");
    if (subnet && *subnet)
        json_array_append_new(cfg, json_pack("{s:s, s:s}", "Subnet", subnet, "Gateway",
                                             vic_json_str(n, "gateway") ?: ""));
    json_t *labels = json_object_get(n, "labels");
    json_t *out =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:o}, s:b, s:b, s:b, s:{s:s}, s:b, "
                  "s:{}, s:{}, s:o}",
                  "Name", vic_json_str(n, "name") ?: "", "Id", vic_json_str(n, "id") ?: "",
                  "Created", vic_json_str(n, "created_at") ?: "", "Scope", "local", "Driver",
                  driver, "EnableIPv6", 0, "IPAM", "Driver", "default", "Options", "Config", cfg,
                  "Internal", json_is_true(json_object_get(n, "internal")), "Attachable", 0,
                  "Ingress", 0, "ConfigFrom", "Network", "", "ConfigOnly", 0, "Containers",
                  "Options", "Labels", labels ? json_incref(labels) : json_object());
    if (with_containers) {
        json_t *cs = json_object_get(out, "Containers");
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(n, "containers"), i, c)
        {
            if (!json_is_true(json_object_get(c, "running")))
                continue; /* Docker lists endpoints, which only running containers have */
            char endpoint_id[65];
            cleanup_free char *seed =
                xasprintf("%s %s", vic_json_str(c, "id") ?: "", vic_json_str(n, "id") ?: "");
            vic_sha256_hex(endpoint_id, seed, strlen(seed));
            json_object_set_new(cs, vic_json_str(c, "id"),
                                json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name",
                                          vic_json_str(c, "name") ?: "", "EndpointID", endpoint_id,
                                          "MacAddress", "", "IPv4Address",
                                          vic_json_str(c, "ip") ?: "", "IPv6Address", ""));
        }
    }
    return out;
}

static const char *const net_filters[] = {"name", "id", "driver", "type", "label", NULL};

/* Whether n passes Docker's network filters f (an object of value lists, engine_filters). */
static int net_match(const json_t *f, const json_t *n)
{
    const char *key;
    json_t *vals;
    json_object_foreach((json_t *)f, key, vals)
    {
        int any = 0;
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v)
        {
            const char *want = json_string_value(v) ?: "";
            const char *name = vic_json_str(n, "name"), *id = vic_json_str(n, "id");
            if (strcmp(key, "name") == 0)
                any |= name && strstr(name, want) != NULL;
            else if (strcmp(key, "id") == 0)
                any |= id && strncmp(id, want, strlen(want)) == 0;
            else if (strcmp(key, "driver") == 0)
                any |= strcmp(vic_json_str(n, "driver") ?: "", want) == 0;
            else if (strcmp(key, "type") == 0)
                any |= strcmp(want, json_is_true(json_object_get(n, "builtin")) ? "builtin"
                                                                                : "custom") == 0;
            else if (strcmp(key, "label") == 0) {
                char k[256];
                snprintf(k, sizeof(k), "%.*s", (int)strcspn(want, "="), want);
                const char *have = vic_json_str(json_object_get(n, "labels"), k);
                const char *eq = strchr(want, '=');
                any |= have != NULL && (eq == NULL || strcmp(have, eq + 1) == 0);
            }
        }
        if (!any)
            return 0;
    }
    return 1;
}

int engine_network_list_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                vic_err **err)
{
    engine_ctx *c = payload;
    json_t *f cleanup_json = NULL;
    int rc = engine_filters(req, net_filters, &f, err);
    if (rc < 0)
        return rc;
    json_t *all cleanup_json = NULL;
    if ((rc = vic_httpc_json(c->pl, "GET", "/networks", NULL, 30000, &all, err)) < 0)
        return engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err);
    json_t *out = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(all, i, n)
    {
        if (f == NULL || net_match(f, n))
            json_array_append_new(out, docker_network(n, 0));
    }
    vic_http_resp_json(resp, 200, out);
    return 0;
}

/* The port layer's description of the network the request's {id} names. */
static int fetch_network(engine_ctx *c, vic_http_req *req, json_t **out, vic_err **err)
{
    *out = NULL;
    cleanup_free char *path = net_path(req, "", err);
    if (path == NULL)
        return (*err)->code;
    int rc = vic_httpc_json(c->pl, "GET", path, NULL, 30000, out, err);
    return rc < 0 ? engine_docker_err(rc, ENGINE_OBJ_NETWORK, vic_http_req_param(req, "id"), err)
                  : 0;
}

int engine_network_inspect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                   vic_err **err)
{
    json_t *n cleanup_json = NULL;
    int rc = fetch_network(payload, req, &n, err);
    if (rc < 0)
        return rc;
    vic_http_resp_json(resp, 200, docker_network(n, 1));
    return 0;
}

int engine_network_create_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err)
{
    engine_ctx *c = payload;
    json_t *b = vic_http_req_json(req);
    if (!json_is_object(b))
        return vic_err_set(err, VIC_EINVAL, "the network config must be a JSON object");
    const char *driver = vic_json_str(b, "Driver");
    if (driver && *driver && strcmp(driver, "bridge") != 0)
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "network driver %s is not supported by a VCH: its networks are "
                           "bridge networks",
                           driver);
    if (json_is_true(json_object_get(b, "EnableIPv6")))
        return vic_err_set(err, VIC_EUNSUPPORTED, "IPv6 networks are not supported by a VCH");
    json_t *pc cleanup_json = json_pack("{s:s?, s:b}", "name", vic_json_str(b, "Name"), "internal",
                                        json_is_true(json_object_get(b, "Internal")));
    json_t *cfgs = json_object_get(json_object_get(b, "IPAM"), "Config");
    if (json_array_size(cfgs) > 1)
        return vic_err_set(err, VIC_EUNSUPPORTED, "a VCH network has one subnet");
    const char *subnet = vic_json_str(json_array_get(cfgs, 0), "Subnet");
    const char *gateway = vic_json_str(json_array_get(cfgs, 0), "Gateway");
    if (subnet && *subnet)
        json_object_set_new(pc, "subnet", json_string(subnet));
    if (gateway && *gateway)
        json_object_set_new(pc, "gateway", json_string(gateway));
    if (json_is_object(json_object_get(b, "Labels")))
        json_object_set(pc, "labels", json_object_get(b, "Labels"));
    json_t *made cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "POST", "/networks", pc, 30000, &made, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err);
    vic_http_resp_json(resp, 201,
                       json_pack("{s:s, s:s}", "Id", vic_json_str(made, "id"), "Warning", ""));
    return 0;
}

int engine_network_remove_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err)
{
    engine_ctx *c = payload;
    cleanup_free char *path = net_path(req, "", err);
    if (path == NULL)
        return (*err)->code;
    json_t *out cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "DELETE", path, NULL, 30000, &out, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_NETWORK, vic_http_req_param(req, "id"), err);
    vic_http_resp_json(resp, 204, NULL);
    return 0;
}

int engine_network_prune_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                 vic_err **err)
{
    engine_ctx *c = payload;
    json_t *f cleanup_json = NULL;
    static const char *const prune_filters[] = {"label", NULL};
    int rc = engine_filters(req, prune_filters, &f, err);
    json_t *all cleanup_json = NULL;
    if (rc == 0)
        rc = vic_httpc_json(c->pl, "GET", "/networks", NULL, 30000, &all, err);
    if (rc < 0)
        return rc;
    json_t *deleted = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(all, i, n)
    {
        if (json_is_true(json_object_get(n, "builtin")) ||
            json_array_size(json_object_get(n, "containers")) || (f && !net_match(f, n)))
            continue;
        cleanup_free char *path = xasprintf("/networks/%s", vic_json_str(n, "id"));
        json_t *out = NULL;
        vic_err *e = NULL;
        if (vic_httpc_json(c->pl, "DELETE", path, NULL, 30000, &out, &e) == 0)
            json_array_append_new(deleted, json_string(vic_json_str(n, "name")));
        json_decref(out);
        vic_err_free(&e);
    }
    vic_http_resp_json(resp, 200, json_pack("{s:o}", "NetworksDeleted", deleted));
    return 0;
}

/* The container a connect or disconnect body names, checked as a container reference. */
static const char *body_container(const json_t *b, vic_err **err)
{
    const char *id = vic_json_str(b, "Container");
    if (id == NULL || *id == '\0' || strlen(id) > 128 ||
        strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
            strlen(id)) {
        vic_err_set(err, VIC_ENOTFOUND, "No such container: %s", id ? id : "");
        return NULL;
    }
    return id;
}

/* connect and disconnect: the container the body names, the network the path names, and a
 * call to the port layer about the two (method on "/containers/ID/networks" + suffix). */
static int join_or_leave(vic_http_req *req, vic_http_resp *resp, engine_ctx *c, int join,
                         vic_err **err)
{
    json_t *b = vic_http_req_json(req);
    const char *id = body_container(b, err);
    if (id == NULL)
        return (*err)->code;
    json_t *n cleanup_json = NULL;
    int rc = fetch_network(c, req, &n, err);
    if (rc < 0)
        return rc;
    json_t *ep cleanup_json =
        join ? endpoint(vic_json_str(n, "name"), json_object_get(b, "EndpointConfig")) : NULL;
    cleanup_free char *path =
        join ? xasprintf("/containers/%s/networks", id)
             : xasprintf("/containers/%s/networks/%s", id, vic_json_str(n, "id"));
    json_t *out cleanup_json = NULL;
    /* a 404 here names the container or the endpoint: the port layer's message says which */
    if ((rc = vic_httpc_json(c->pl, join ? "POST" : "DELETE", path, ep, 60000, &out, err)) < 0)
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, NULL, err);
    vic_http_resp_json(resp, 200, NULL);
    return 0;
}

int engine_network_connect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                   vic_err **err)
{
    return join_or_leave(req, resp, payload, 1, err);
}

int engine_network_disconnect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                      vic_err **err)
{
    return join_or_leave(req, resp, payload, 0, err);
}
