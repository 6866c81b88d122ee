/*
 * route_fixture.h - the Docker API's route table under test without the network: requests
 * go through vic_http_dispatch, and the port layer is an address nothing serves (a request
 * that reaches it fails as with a port layer that is down, at once). For the personality's
 * unit tests that assert answers given before, or instead of, the port layer.
 */
#ifndef VIC_PERSONALITY_ROUTE_FIXTURE_H
#define VIC_PERSONALITY_ROUTE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "personality/engine.h"

typedef struct fixture {
    engine_ctx ctx;
    vic_http_router *router;
} fixture;

static inline int route_fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->ctx.vch_name = "vch-test";
    f->ctx.version = "v-test";
    assert_int_equal(engine_ctx_init(&f->ctx, "http://127.0.0.1:9", "token", NULL), 0);
    vic_httpc_set_restart_wait(f->ctx.pl, ENGINE_PL_NAME, 0); /* as main names it */
    assert_int_equal(vic_http_router_new(&f->router, engine_routes, engine_n_routes, engine_auth,
                                         &f->ctx, 1 << 20, NULL),
                     0);
    vic_http_router_set_prepare(f->router, engine_prepare);
    *state = f;
    return 0;
}

static inline int route_fixture_teardown(void **state)
{
    fixture *f = *state;
    vic_http_router_free(f->router);
    engine_ctx_free(&f->ctx);
    free(f);
    return 0;
}

/* Dispatches method path (a query after '?', as name=value&...) with body (JSON text, or
 * NULL) and header (a header named so with the value "tcp", as an upgrade asks; or NULL).
 * Returns the status; msg gets the answer's message, or its text, or "". */
static inline int route_call(fixture *f, const char *method, const char *path, const char *body,
                             const char *header, char *msg, size_t cap)
{
    char p[512];
    snprintf(p, sizeof(p), "%s", path);
    char *q = strchr(p, '?');
    if (q)
        *q++ = '\0';
    vic_http_req *req = vic_http_req_new(method, p);
    char *save = NULL;
    for (char *kv = q ? strtok_r(q, "&", &save) : NULL; kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq++ = '\0';
        vic_http_req_add_query(req, kv, eq ? eq : "");
    }
    if (header)
        vic_http_req_add_header(req, header, "tcp");
    if (body) {
        vic_http_req_add_header(req, "Content-Type", "application/json");
        vic_http_req_set_body(req, body, strlen(body));
    }
    vic_http_resp *resp = vic_http_resp_new();
    vic_http_dispatch(f->router, req, resp);
    int status = vic_http_resp_status(resp);
    size_t len = 0;
    const char *text = vic_http_resp_body(resp, &len);
    json_t *j cleanup_json = NULL;
    snprintf(msg, cap, "%s", "");
    if (text && len && vic_json_parse(&j, text, len, 1 << 20, NULL) == 0 &&
        vic_json_str(j, "message"))
        snprintf(msg, cap, "%s", vic_json_str(j, "message"));
    else if (text && len)
        snprintf(msg, cap, "%.*s", (int)len, text);
    vic_http_resp_free(resp);
    vic_http_req_free(req);
    return status;
}

#endif
