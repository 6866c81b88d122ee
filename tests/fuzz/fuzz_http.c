/* libFuzzer harness: request handling without the network (lib/http.c): route matching and
 * parameters, header and cookie lookup, content-type checks, JSON bodies, error responses.
 * Input: "METHOD PATH\n" then "Name: value" header lines, an empty line, and the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/http.h"
#include "lib/mem.h"

static int ok(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)payload;
    char buf[64];
    const char *id = vic_http_req_param(req, "id");
    if (id && strcmp(id, "fail") == 0)
        return vic_err_set(err, VIC_ECONFLICT, "conflict on %s", id);
    vic_http_req_cookie(req, "vic_session", buf, sizeof(buf));
    vic_http_resp_json(resp, 200,
                       json_pack("{s:s?, s:O?}", "id", id, "body", vic_http_req_json(req)));
    return 0;
}

static int auth(vic_http_req *req, const vic_http_route *route, void *payload, vic_err **err)
{
    (void)route, (void)payload;
    char buf[32];
    if (vic_http_req_cookie(req, "t", buf, sizeof(buf)) == NULL)
        return vic_err_set(err, VIC_EAUTH, "no");
    return 0;
}

static const vic_http_route routes[] = {
    {"GET", "/a/{id}", ok, VIC_ROUTE_PUBLIC, NULL},
    {"GET", "/a/{id}/b/{x}", ok, 0, NULL},
    {"POST", "/a/{id}", ok, VIC_ROUTE_JSON, NULL},
    {"PUT", "/c", ok, VIC_ROUTE_JSON_OPTIONAL | VIC_ROUTE_PUBLIC, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vic_http_router *router;
    if (router == NULL && vic_http_router_new(&router, routes, 4, auth, NULL, 4096, NULL) < 0)
        abort();
    if (size == 0)
        return 0;
    char *in = xstrndup((const char *)data, size); /* stops at a NUL: fine for the fuzzer */
    char *line_end = strchr(in, '\n');
    if (line_end)
        *line_end = '\0';
    char *sp = strchr(in, ' ');
    if (sp == NULL) {
        free(in);
        return 0;
    }
    *sp = '\0';
    vic_http_req *req = vic_http_req_new(in, sp + 1);
    char *p = line_end ? line_end + 1 : NULL;
    while (p && *p && *p != '\n') {
        char *e = strchr(p, '\n');
        if (e)
            *e = '\0';
        char *colon = strchr(p, ':');
        if (colon) {
            *colon = '\0';
            vic_http_req_add_header(req, p, colon[1] == ' ' ? colon + 2 : colon + 1);
        }
        p = e ? e + 1 : NULL;
    }
    if (p && *p == '\n')
        vic_http_req_set_body(req, p + 1, strlen(p + 1));
    vic_http_resp *resp = vic_http_resp_new();
    vic_http_dispatch(router, req, resp);
    int status = vic_http_resp_status(resp);
    if (status < 200 || status > 599)
        abort();
    size_t len = 0;
    const char *body = vic_http_resp_body(resp, &len);
    if (status != 204) {
        json_t *check = body ? json_loadb(body, len, 0, NULL) : NULL;
        if (check == NULL)
            abort(); /* every answer, error or not, is well-formed JSON */
        json_decref(check);
    }
    vic_http_resp_free(resp);
    vic_http_req_free(req);
    free(in);
    return 0;
}
