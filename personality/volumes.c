#include "personality/volumes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/httpc.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "personality/common.h"

/* ---- a create's volumes ---- */

static int add_mount(json_t *out, const char *volume, const char *target, int ro, const char *what,
                     vic_err **err)
{
    if (target == NULL || target[0] != '/')
        return vic_err_set(err, VIC_EINVAL,
                           "invalid mount config for %s: mount path must be absolute", what);
    size_t i;
    json_t *m;
    json_array_foreach(out, i, m)
    {
        if (strcmp(vic_json_str(m, "target"), target) == 0)
            return vic_err_set(err, VIC_EINVAL, "Duplicate mount point: %s", target);
    }
    json_t *mt = json_pack("{s:s, s:b}", "target", target, "read_only", ro);
    if (volume)
        json_object_set_new(mt, "volume", json_string(volume));
    json_array_append_new(out, mt);
    return 0;
}

static int host_path_refused(const char *what, vic_err **err)
{
    return vic_err_set(err, VIC_EUNSUPPORTED,
                       "%s: a VCH cannot mount a path of its host into a container (each "
                       "container is a VM); use a named volume: -v NAME:/path",
                       what);
}

/* One HostConfig.Binds entry: "NAME:/path[:ro|rw]" (a "/host:/path" bind is refused). */
static int add_bind(json_t *out, const char *bind, vic_err **err)
{
    char buf[2048];
    if (bind == NULL || strlen(bind) >= sizeof(buf))
        return vic_err_set(err, VIC_EINVAL, "invalid volume specification: %.64s",
                           bind ? bind : "(not a string)");
    snprintf(buf, sizeof(buf), "%s", bind);
    char *parts[4] = {0};
    size_t n = 0;
    for (char *p = buf; n < 4;) {
        parts[n++] = p;
        char *colon = strchr(p, ':');
        if (colon == NULL)
            break;
        *colon = '\0';
        p = colon + 1;
    }
    if (n < 2 || n > 3 || parts[0][0] == '\0')
        return vic_err_set(err, VIC_EINVAL, "invalid volume specification: '%s'", bind);
    if (parts[0][0] == '/' || parts[0][0] == '.' || parts[0][0] == '~')
        return host_path_refused(bind, err);
    int ro = 0;
    if (n == 3) {
        /* modes Docker accepts; propagation and SELinux labels mean nothing in a VM disk */
        for (char *m = strtok(parts[2], ","); m; m = strtok(NULL, ",")) {
            if (strcmp(m, "ro") == 0)
                ro = 1;
            else if (strcmp(m, "rw") != 0 && strcmp(m, "z") != 0 && strcmp(m, "Z") != 0 &&
                     strcmp(m, "nocopy") != 0)
                return vic_err_set(err, VIC_EINVAL, "invalid mode: %s", m);
        }
    }
    return add_mount(out, parts[0], parts[1], ro, bind, err);
}

int engine_create_mounts(const json_t *body, json_t **out, vic_err **err)
{
    json_t *m = json_array();
    const json_t *host = json_object_get(body, "HostConfig");
    int rc = 0;
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(host, "Binds"), i, b)
    {
        if ((rc = add_bind(m, json_string_value(b), err)) < 0)
            break;
    }
    json_array_foreach(rc == 0 ? json_object_get(host, "Mounts") : NULL, i, b)
    {
        const char *type = vic_json_str(b, "Type");
        const char *target = vic_json_str(b, "Target");
        const char *source = vic_json_str(b, "Source");
        char what[96];
        snprintf(what, sizeof(what), "--mount target=%.64s", target ? target : "");
        if (type && strcmp(type, "bind") == 0)
            rc = host_path_refused(what, err);
        else if (type && strcmp(type, "volume") != 0)
            rc = vic_err_set(err, VIC_EUNSUPPORTED,
                             "%s: mount type %.32s is not supported by a "
                             "VCH (volume is)",
                             what, type);
        else
            rc = add_mount(m, source && *source ? source : NULL, target,
                           json_is_true(json_object_get(b, "ReadOnly")), what, err);
        if (rc < 0)
            break;
    }
    const char *path;
    json_t *unused;
    json_object_foreach(rc == 0 ? json_object_get(body, "Volumes") : NULL, path, unused)
    {
        int mounted = 0;
        size_t j;
        json_t *x;
        json_array_foreach(m, j, x)
        {
            mounted |= strcmp(vic_json_str(x, "target"), path) == 0;
        }
        if (!mounted && (rc = add_mount(m, NULL, path, 0, path, err)) < 0)
            break;
    }
    if (rc < 0) {
        json_decref(m);
        return rc;
    }
    *out = m;
    return 0;
}

json_t *engine_inspect_mounts(const json_t *pl_container)
{
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(pl_container, "mounts"), i, m)
    {
        const char *mode = vic_json_str(m, "mode");
        int ro = mode && strcmp(mode, "ro") == 0;
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type",
                                             "volume", "Name", vic_json_str(m, "volume") ?: "",
                                             "Source", "", "Destination",
                                             vic_json_str(m, "target") ?: "", "Driver", "vsphere",
                                             "Mode", ro ? "ro" : "", "RW", !ro, "Propagation", ""));
    }
    return out;
}

/* ---- the volume API ---- */

json_t *engine_volume_docker(const json_t *v)
{
    json_t *out = json_pack(
        "{s:s, s:s, s:s, s:s, s:O, s:s, s:O}", "Name", vic_json_str(v, "name") ?: "", "Driver",
        "vsphere", "Mountpoint", vic_json_str(v, "mountpoint") ?: "", "CreatedAt",
        vic_json_str(v, "created_at") ?: "", "Labels", json_object_get(v, "labels"), "Scope",
        "local", "Options", json_object_get(v, "options"));
    if (out == NULL) /* labels or options missing: the port layer always sends both */
        out = json_pack("{s:s, s:s, s:s}", "Name", vic_json_str(v, "name") ?: "", "Driver",
                        "vsphere", "Scope", "local");
    json_t *users = json_object_get(v, "used_by");
    if (json_is_array(users))
        json_object_set_new(out, "UsageData",
                            json_pack("{s:I, s:I}", "Size", (json_int_t)-1, "RefCount",
                                      (json_int_t)json_array_size(users)));
    return out;
}

/* The volume named by {name}, checked to be a name at all before it reaches the port layer. */
static char *volume_path(vic_http_req *req, vic_err **err)
{
    const char *name = vic_http_req_param(req, "name");
    if (name == NULL || strlen(name) > 128 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
            strlen(name)) {
        vic_err_set(err, VIC_ENOTFOUND, "get %.128s: no such volume", name ? name : "");
        return NULL;
    }
    return xasprintf("/volumes/%s", name);
}

/* Docker's filters parameter: {"name": [...], "dangling": ["true"], "label": ["k" | "k=v"]}. */
typedef struct vol_filter {
    json_t *f; /* owned; NULL: none */
} vol_filter;

static int filter_parse(vic_http_req *req, vol_filter *vf, vic_err **err)
{
    static const char *const known[] = {"name", "dangling", "label", "driver", "all", NULL};
    return engine_filters(req, known, &vf->f, err);
}

static int filter_has(const vol_filter *vf, const char *key, const char *value)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(vf->f, key), i, x)
    {
        if (json_is_string(x) && strcmp(json_string_value(x), value) == 0)
            return 1;
    }
    return 0;
}

static int filter_match(const vol_filter *vf, const json_t *v)
{
    if (vf->f == NULL)
        return 1;
    const json_t *names = json_object_get(vf->f, "name");
    if (json_array_size(names)) {
        int hit = 0;
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n)
        {
            hit |= json_is_string(n) && strstr(vic_json_str(v, "name"), json_string_value(n));
        }
        if (!hit)
            return 0;
    }
    if (json_array_size(json_object_get(vf->f, "dangling"))) {
        int dangling = json_array_size(json_object_get(v, "used_by")) == 0;
        int want = filter_has(vf, "dangling", "true") || filter_has(vf, "dangling", "1");
        if (dangling != want)
            return 0;
    }
    if (json_array_size(json_object_get(vf->f, "driver")) && !filter_has(vf, "driver", "vsphere"))
        return 0;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(vf->f, "label"), i, l)
    {
        const char *want = json_string_value(l);
        if (want == NULL)
            return 0;
        const char *eq = strchr(want, '=');
        cleanup_free char *key = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
        const char *have = vic_json_str(json_object_get(v, "labels"), key);
        if (have == NULL || (eq && strcmp(have, eq + 1) != 0))
            return 0;
    }
    return 1;
}

/* The request's filters and every volume the port layer has; vf->f is the caller's to free
 * on success. */
static int volumes_and_filter(engine_ctx *c, vic_http_req *req, vol_filter *vf, json_t **all,
                              vic_err **err)
{
    *all = NULL;
    int rc = filter_parse(req, vf, err);
    if (rc == 0 && (rc = vic_httpc_json(c->pl, "GET", "/volumes", NULL, 30000, all, err)) < 0)
        rc = engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err);
    if (rc < 0) {
        json_decref(vf->f);
        vf->f = NULL;
    }
    return rc;
}

int engine_volume_list_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    vol_filter vf;
    json_t *all cleanup_json = NULL;
    int rc = volumes_and_filter(c, req, &vf, &all, err);
    if (rc < 0)
        return rc;
    json_t *vols = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        if (filter_match(&vf, v))
            json_array_append_new(vols, engine_volume_docker(v));
    }
    json_decref(vf.f);
    vic_http_resp_json(resp, 200, json_pack("{s:o, s:[]}", "Volumes", vols, "Warnings"));
    return 0;
}

int engine_volume_create_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                 vic_err **err)
{
    engine_ctx *c = payload;
    json_t *b = vic_http_req_json(req);
    if (b != NULL && !json_is_object(b))
        return vic_err_set(err, VIC_EINVAL, "the volume config must be a JSON object");
    const char *driver = vic_json_str(b, "Driver");
    if (driver && *driver && strcmp(driver, "vsphere") != 0 && strcmp(driver, "local") != 0)
        return vic_err_set(err, VIC_EINVAL,
                           "volume driver %.64s is not available: a VCH's volumes use the "
                           "vsphere driver (choose a store with --opt VolumeStore=LABEL)",
                           driver);
    const char *name = vic_json_str(b, "Name");
    json_t *pv cleanup_json = json_object();
    if (name && *name)
        json_object_set_new(pv, "name", json_string(name));
    static const char *const maps[][2] = {{"Labels", "labels"}, {"DriverOpts", "options"}};
    for (size_t i = 0; i < 2; i++) {
        json_t *m = json_object_get(b, maps[i][0]);
        if (json_is_object(m))
            json_object_set(pv, maps[i][1], m);
        else if (m && !json_is_null(m))
            return vic_err_set(err, VIC_EINVAL, "%s: must be an object of strings", maps[i][0]);
    }
    json_t *out cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "POST", "/volumes", pv, 30000, &out, err);
    if (rc == VIC_ECONFLICT && name && *name) {
        /* Docker: creating a volume that exists hands back the existing one */
        vic_err_free(err);
        cleanup_free char *path = xasprintf("/volumes/%s", name);
        rc = vic_httpc_json(c->pl, "GET", path, NULL, 30000, &out, err);
    }
    if (rc < 0) /* a missing volume store is a bad option, not a missing object */
        return engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err);
    vic_http_resp_json(resp, 201, engine_volume_docker(out));
    return 0;
}

int engine_volume_inspect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err)
{
    engine_ctx *c = payload;
    cleanup_free char *path = volume_path(req, err);
    if (path == NULL)
        return VIC_ENOTFOUND;
    json_t *out cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "GET", path, NULL, 30000, &out, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_VOLUME, vic_http_req_param(req, "name"), err);
    vic_http_resp_json(resp, 200, engine_volume_docker(out));
    return 0;
}

int engine_volume_remove_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                 vic_err **err)
{
    engine_ctx *c = payload;
    cleanup_free char *path = volume_path(req, err);
    if (path == NULL)
        return VIC_ENOTFOUND;
    json_t *out cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "DELETE", path, NULL, 60000, &out, err);
    const char *force = vic_http_req_query(req, "force");
    if (rc == VIC_ENOTFOUND && force && strcmp(force, "0") && strcmp(force, "false")) {
        vic_err_free(err); /* docker volume rm -f: a missing volume is not an error */
        rc = 0;
    }
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_VOLUME, vic_http_req_param(req, "name"), err);
    vic_http_resp_json(resp, 204, NULL);
    return 0;
}

int engine_volume_prune_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                vic_err **err)
{
    engine_ctx *c = payload;
    vol_filter vf;
    json_t *all cleanup_json = NULL;
    int rc = volumes_and_filter(c, req, &vf, &all, err);
    if (rc < 0)
        return rc;
    /* Docker 23 and later prune only anonymous volumes unless all=true */
    int named_too = filter_has(&vf, "all", "true") || filter_has(&vf, "all", "1");
    json_object_del(vf.f, "all");
    json_t *deleted = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        if (json_array_size(json_object_get(v, "used_by")) ||
            (!named_too && !json_is_true(json_object_get(v, "anonymous"))) || !filter_match(&vf, v))
            continue;
        cleanup_free char *path = xasprintf("/volumes/%s", vic_json_str(v, "name"));
        json_t *out = NULL;
        vic_err *e = NULL;
        if (vic_httpc_json(c->pl, "DELETE", path, NULL, 60000, &out, &e) == 0)
            json_array_append_new(deleted, json_string(vic_json_str(v, "name")));
        json_decref(out);
        vic_err_free(&e);
    }
    json_decref(vf.f);
    vic_http_resp_json(
        resp, 200,
        json_pack("{s:o, s:I}", "VolumesDeleted", deleted, "SpaceReclaimed", (json_int_t)0));
    return 0;
}
