/*
 * common.c - the helpers the Docker API's handlers share (see common.h).
 */
#include "personality/common.h"

#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"

int engine_docker_code(int code, engine_obj obj)
{
    switch (code) {
    case VIC_OK:
        return VIC_OK;
    case VIC_ENOTFOUND:
        return obj == ENGINE_OBJ_NONE ? VIC_EINVAL : VIC_ENOTFOUND;
    case VIC_ECONFLICT:
        return VIC_ECONFLICT;
    case VIC_EINVAL:
    case VIC_ETOOBIG:
    case VIC_EMEDIATYPE:
        return VIC_EINVAL;
    case VIC_EUNSUPPORTED:
        return VIC_EUNSUPPORTED;
    default: /* EAUTH, EFORBIDDEN, EMETHOD: ours is wrong; the rest: the port layer failed */
        return VIC_EINTERNAL;
    }
}

int engine_docker_err(int rc, engine_obj obj, const char *name, vic_err **err)
{
    int code = engine_docker_code(rc, obj);
    if (code == VIC_OK)
        return VIC_OK;
    if (code == VIC_ENOTFOUND && name != NULL) {
        switch (obj) {
        case ENGINE_OBJ_CONTAINER:
            return vic_err_set(err, code, "No such container: %s", name);
        case ENGINE_OBJ_IMAGE:
            return vic_err_set(err, code, "No such image: %s", name);
        case ENGINE_OBJ_NETWORK:
            return vic_err_set(err, code, "network %s not found", name);
        case ENGINE_OBJ_VOLUME:
            return vic_err_set(err, code, "get %s: no such volume", name);
        case ENGINE_OBJ_EXEC:
            return vic_err_set(err, code, "No such exec instance: %s", name);
        case ENGINE_OBJ_NONE:
            break;
        }
    }
    if (err != NULL && *err != NULL)
        (*err)->code = code;
    else
        vic_err_set(err, code, "the port layer failed (%s)", vic_err_code_name(rc));
    return code;
}

int engine_create_error(engine_ctx *c, const char *image, int rc, vic_err **err)
{
    if (rc != VIC_ENOTFOUND || image == NULL)
        return engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err);
    cleanup_free char *esc = engine_url_escape(image);
    cleanup_free char *path = xasprintf("/images/inspect?ref=%s", esc);
    json_t *img cleanup_json = NULL;
    vic_err *probe cleanup_err = NULL;
    if (vic_httpc_json(c->pl, "GET", path, NULL, 0, &img, &probe) == VIC_ENOTFOUND)
        return engine_docker_err(rc, ENGINE_OBJ_IMAGE, image, err);
    return engine_docker_err(rc, ENGINE_OBJ_NONE, NULL, err);
}

/* The port layer path of the container the request names, or NULL (with err set) when the
 * name cannot be a container's: ids are hex, names [a-zA-Z0-9][a-zA-Z0-9_.-]. */
char *engine_pl_path(vic_http_req *req, const char *suffix, vic_err **err)
{
    const char *id = vic_http_req_param(req, "id");
    if (id == NULL || *id == '\0' || strlen(id) > 128 ||
        strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
            strlen(id)) {
        vic_err_set(err, VIC_ENOTFOUND, "No such container: %s", id ? id : "");
        return NULL;
    }
    return xasprintf("/containers/%s%s", id, suffix);
}

int engine_container_lookup(engine_ctx *c, vic_http_req *req, char **path, json_t **x,
                            vic_err **err)
{
    *path = engine_pl_path(req, "", err);
    if (*path == NULL)
        return VIC_ENOTFOUND;
    int rc = vic_httpc_json(c->pl, "GET", *path, NULL, 0, x, err);
    return rc < 0 ? engine_docker_err(rc, ENGINE_OBJ_CONTAINER, vic_http_req_param(req, "id"), err)
                  : 0;
}

int engine_filters(vic_http_req *req, const char *const *allowed, json_t **out, vic_err **err)
{
    return engine_filters_parse(vic_http_req_query(req, "filters"), allowed, out, err);
}

int engine_filters_parse(const char *q, const char *const *allowed, json_t **out, vic_err **err)
{
    *out = NULL;
    if (q == NULL || *q == '\0')
        return 0;
    json_t *f = NULL;
    int prc = vic_json_parse(&f, q, strlen(q), 16384, err);
    if (prc < 0)
        return vic_err_wrap(err, prc, "filters");
    if (!json_is_object(f)) {
        json_decref(f);
        return vic_err_set(err, VIC_EINVAL, "filters: must be a JSON object");
    }
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(f, k, v)
    {
        int known = allowed == NULL;
        for (const char *const *a = allowed; a && *a; a++)
            known |= strcmp(k, *a) == 0;
        if (!known) {
            vic_buf names = VIC_BUF_INIT;
            for (const char *const *a = allowed; *a; a++)
                vic_buf_appendf(&names, "%s%s", a == allowed ? "" : ", ", *a);
            rc = vic_err_set(err, VIC_EUNSUPPORTED,
                             "filter %.32s is not supported by this VCH yet (%s are)", k,
                             names.data ? names.data : "none");
            vic_buf_free(&names);
            break;
        }
        if (json_is_object(v)) { /* the older {"value": true} form */
            json_t *arr = json_array();
            const char *kk;
            json_t *vv;
            json_object_foreach(v, kk, vv)
            {
                json_array_append_new(arr, json_string(kk));
            }
            json_object_set_new(f, k, arr);
        } else if (!json_is_array(v)) {
            rc = vic_err_set(err, VIC_EINVAL, "filters.%.32s: must be a list", k);
            break;
        }
    }
    if (rc < 0) {
        json_decref(f); /* after the message: k is f's */
        return rc;
    }
    *out = f;
    return 0;
}

char *engine_url_escape(const char *s)
{
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~", *c))
            vic_buf_append(&b, c, 1);
        else
            vic_buf_appendf(&b, "%%%02X", *c);
    }
    return vic_buf_steal(&b);
}

int engine_query_true(const char *v)
{
    return v && strcmp(v, "0") && strcmp(v, "false");
}
