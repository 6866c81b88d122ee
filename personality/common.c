/*
 * common.c - the helpers the Docker API's handlers share (see common.h).
 */
#include "personality/common.h"

#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"

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
    return vic_httpc_json(c->pl, "GET", *path, NULL, 0, x, err);
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
