/*
 * insight.c - per-container insight: a VCH's containers as its port layer reports them
 * (state, image, exit code, times, configuration, logs), and stop/start/remove, which the
 * port layer maps to VM power off, power on and delete. The web service reaches the port
 * layer at the VCH's address with the token vic-init wrote into the appliance's folder.
 */
#include "webservice/insight.h"

#include <string.h>

#include "lib/cleanup.h"
#include "lib/httpc.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "vch-wizard/vch.h"

static int connect_pl(ws *w, vic_http_req *req, vic_httpc **out, vic_err **err)
{
    const char *t = vic_http_req_param(req, "t");
    if (t == NULL || strcmp(t, vch_engine_target(w->vch)) != 0)
        return vic_err_set(err, VIC_ENOTFOUND, "target %s is not known here", t ? t : "");
    cleanup_free char *url = NULL;
    cleanup_secret char *token = NULL;
    int rc = vch_port_layer(w->vch, vic_http_req_param(req, "id"), &url, &token, err);
    if (rc < 0)
        return rc;
    return vic_httpc_new(out, url, token, err);
}

/* A container id or name as the port layer takes it: letters, digits, '_', '.', '-'. */
static int check_cid(const char *c, vic_err **err)
{
    size_t n = c ? strlen(c) : 0;
    if (n == 0 || n > 128 ||
        strspn(c, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_.-") != n)
        return vic_err_set(err, VIC_EINVAL, "container: \"%.64s\" is not a container id or name",
                           c ? c : "");
    return 0;
}

static void close_pl(vic_httpc **c)
{
    if (*c)
        vic_httpc_free(*c);
}
#define cleanup_pl __attribute__((cleanup(close_pl)))

int ws_containers_list(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    vic_httpc *c cleanup_pl = NULL;
    int rc = connect_pl(payload, req, &c, err);
    if (rc < 0)
        return rc;
    json_t *list = NULL;
    if ((rc = vic_httpc_json(c, "GET", "/containers?all=1", NULL, 10000, &list, err)) < 0)
        return rc;
    vic_http_resp_json(resp, 200, json_pack("{s:o}", "containers", list ? list : json_array()));
    return 0;
}

/* Calls method /containers/{c}{suffix} on the VCH's port layer; *out gets its answer. */
static int call_container(vic_http_req *req, void *payload, const char *method, const char *suffix,
                          unsigned timeout_ms, json_t **out, vic_err **err)
{
    const char *cid = vic_http_req_param(req, "c");
    int rc = check_cid(cid, err);
    if (rc < 0)
        return rc;
    vic_httpc *c cleanup_pl = NULL;
    if ((rc = connect_pl(payload, req, &c, err)) < 0)
        return rc;
    cleanup_free char *path = xasprintf("/containers/%s%s", cid, suffix);
    return vic_httpc_json(c, method, path, NULL, timeout_ms, out, err);
}

static int get_json(vic_http_req *req, vic_http_resp *resp, void *payload, const char *suffix,
                    vic_err **err)
{
    json_t *out = NULL;
    int rc = call_container(req, payload, "GET", suffix, 10000, &out, err);
    if (rc == 0)
        vic_http_resp_json(resp, 200, out);
    return rc;
}

int ws_container_get(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    return get_json(req, resp, payload, "", err);
}

int ws_container_stats(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    return get_json(req, resp, payload, "/stats", err);
}

int ws_container_logs(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    const char *tail = vic_http_req_query(req, "tail");
    char *end = NULL;
    long n = tail ? strtol(tail, &end, 10) : 200;
    if (tail && (end == tail || *end || n < 1 || n > 100000))
        return vic_err_set(err, VIC_EINVAL, "tail: \"%.32s\" is not a number between 1 and 100000",
                           tail);
    cleanup_free char *suffix = xasprintf("/logs?tail=%ld", n);
    json_t *records cleanup_json = NULL;
    int rc = call_container(req, payload, "GET", suffix, 10000, &records, err);
    if (rc < 0)
        return rc;
    vic_buf b = VIC_BUF_INIT;
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r)
    {
        const char *data = json_string_value(json_object_get(r, "data"));
        if (data)
            vic_buf_append(&b, data, strlen(data));
    }
    vic_http_resp_text(resp, 200, "text/plain; charset=utf-8", b.data ? b.data : "", b.len);
    vic_buf_free(&b);
    return 0;
}

static int act(vic_http_req *req, vic_http_resp *resp, void *payload, const char *method,
               const char *suffix, vic_err **err)
{
    json_t *out cleanup_json = NULL;
    int rc = call_container(req, payload, method, suffix, 60000, &out, err);
    if (rc < 0)
        return rc;
    vic_log(VIC_LOG_INFO, "event=container_%s vch=%s container=%s by=%s",
            *suffix ? suffix + 1 : "remove", vic_http_req_param(req, "id"),
            vic_http_req_param(req, "c"), vic_http_req_principal(req));
    vic_http_resp_json(resp, 204, NULL);
    return 0;
}

int ws_container_stop(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    return act(req, resp, payload, "POST", "/stop", err);
}

int ws_container_start(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    return act(req, resp, payload, "POST", "/start", err);
}

int ws_container_remove(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    return act(req, resp, payload, "DELETE", "", err);
}
