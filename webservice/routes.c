/*
 * routes.c - the vic-webservice route table and its handlers.
 *
 * Every route the service answers is listed in ws_routes; webservice/openapi.json documents
 * the same set, and a unit test holds the two in step.
 */
#include <string.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "lib/version.h"
#include "webservice/auth.h"
#include "webservice/service.h"
#include "webservice/insight.h"
#include "webservice/tokens.h"
#include "webservice/ui.h"
#include "webservice/vchs.h"

static int version_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req;
    (void)payload;
    (void)err;
    const char *v = vic_version();
    vic_http_resp_text(resp, 200, "text/plain; charset=utf-8", v, strlen(v));
    return 0;
}

static int hello_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req;
    (void)payload;
    (void)err;
    static const char msg[] = "Hello from vic-webservice. If your browser warned about this "
                              "server's certificate, trust the CA in $VIC_HOME/tls/ca.pem.\n";
    vic_http_resp_text(resp, 200, "text/plain; charset=utf-8", msg, sizeof(msg) - 1);
    return 0;
}

static int openapi_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req;
    (void)payload;
    (void)err;
    vic_http_resp_text(resp, 200, "application/json", vic_openapi_json, strlen(vic_openapi_json));
    return 0;
}

static char *session_cookie(const ws *w, const char *value, long max_age)
{
    return xasprintf("%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s", WS_SESSION_COOKIE,
                     value, max_age, w->opt.no_tls ? "" : "; Secure");
}

static json_t *session_json(const ws_session *s)
{
    return json_pack("{s:s, s:s, s:I}", "user", s->user, "csrf_token", s->csrf, "expires_at",
                     (json_int_t)s->expires);
}

static const vic_schema_field login_fields[] = {
    {.name = "username", .type = VIC_JSON_STRING, .required = 1, .min = 1, .max = 64},
    {.name = "password", .type = VIC_JSON_STRING, .required = 1, .min = 1, .max = 1024},
};
static const vic_schema login_schema = VIC_SCHEMA(login_fields);

static int login_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    json_t *body = vic_http_req_json(req);
    int rc = vic_json_validate(body, &login_schema, NULL, err);
    if (rc < 0)
        return rc;
    const char *user = vic_json_str(body, "username");
    const char *remote = vic_http_req_remote(req);
    unsigned retry_after = 0;
    rc = ws_login_check(w, remote, user, vic_json_str(body, "password"), &retry_after, err);
    if (rc == VIC_ELIMIT) {
        char wait[16];
        snprintf(wait, sizeof(wait), "%u", retry_after);
        vic_http_resp_error(resp, 429, (*err)->msg);
        vic_http_resp_header(resp, "Retry-After", wait);
        vic_err_free(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    cleanup_secret char *token = NULL;
    ws_session s;
    if ((rc = ws_session_create(w, user, remote, &token, &s, err)) < 0)
        return rc;
    cleanup_secret char *cookie = session_cookie(w, token, (long)w->opt.session_absolute);
    vic_http_resp_header(resp, "Set-Cookie", cookie);
    vic_http_resp_json(resp, 200, session_json(&s));
    return 0;
}

static int logout_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    char token[128];
    if (vic_http_req_cookie(req, WS_SESSION_COOKIE, token, sizeof(token))) {
        int rc = ws_session_delete(w, token, err);
        if (rc < 0)
            return rc;
    }
    cleanup_free char *cookie = session_cookie(w, "", 0);
    vic_http_resp_header(resp, "Set-Cookie", cookie);
    vic_http_resp_json(resp, 204, NULL);
    return 0;
}

static int session_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    char token[128];
    const char *kind = vic_http_req_principal_kind(req);
    if (kind && strcmp(kind, "session") == 0 &&
        vic_http_req_cookie(req, WS_SESSION_COOKIE, token, sizeof(token))) {
        ws_session s;
        int rc = ws_session_lookup(w, token, &s, err);
        if (rc < 0)
            return rc;
        vic_http_resp_json(resp, 200, session_json(&s));
        return 0;
    }
    /* Basic or token callers have no session: say who they are, without a CSRF token. */
    vic_http_resp_json(resp, 200,
                       json_pack("{s:s, s:s}", "user", vic_http_req_principal(req), "auth",
                                 kind ? kind : "unknown"));
    return 0;
}

const vic_http_route ws_routes[] = {
    {"GET", "/container/version", version_handler, VIC_ROUTE_PUBLIC, "server version"},
    {"GET", "/container/hello", hello_handler, VIC_ROUTE_PUBLIC, "greeting"},
    {"POST", "/container/login", login_handler, VIC_ROUTE_PUBLIC | VIC_ROUTE_JSON,
     "open a session"},
    {"POST", "/container/logout", logout_handler, VIC_ROUTE_JSON_OPTIONAL, "close the session"},
    {"GET", "/container/session", session_handler, 0, "the caller and its CSRF token"},
    {"GET", "/container/openapi.json", openapi_handler, 0, "this API's description"},
    {"POST", "/container/tokens", ws_tokens_issue, VIC_ROUTE_JSON, "issue a delegation token"},
    {"GET", "/container/tokens", ws_tokens_list, 0, "list delegation tokens"},
    {"DELETE", "/container/tokens/{jti}", ws_tokens_revoke, 0,
     "revoke a token and its descendants"},
    {"GET", "/container/tokens/{jti}/audit", ws_tokens_audit, 0, "a token tree's audit log"},
    {"POST", "/container/tokens/{jti}/delegate", ws_tokens_delegate,
     WS_ROUTE_BEARER | VIC_ROUTE_JSON_OPTIONAL, "narrower child token (token holder)"},
    {"GET", "/container/token-keys", ws_token_keys_list, 0, "token signing keys"},
    {"POST", "/container/token-keys", ws_token_keys_rotate, VIC_ROUTE_JSON_OPTIONAL,
     "rotate the token signing key"},
    {"POST", "/container/self-provision", ws_self_provision, WS_ROUTE_BEARER | VIC_ROUTE_JSON,
     "request a VCH with a token"},
    {"GET", "/container/self-provision/limits", ws_self_provision_limits, WS_ROUTE_BEARER,
     "what the token allows"},
    {"GET", "/container/self-provision/vchs", ws_self_provision_vchs, WS_ROUTE_BEARER,
     "VCHs created with the token"},
    {"DELETE", "/container/self-provision/vchs/{id}", ws_self_provision_delete, WS_ROUTE_BEARER,
     "delete a VCH created with the token"},
    {"GET", "/container/target/{t}/vch", ws_vch_list, 0, "list VCHs"},
    {"POST", "/container/target/{t}/vch", ws_vch_create, VIC_ROUTE_JSON,
     "create a VCH (202 and a task; ?wait=1: 201 when ready)"},
    {"GET", "/container/target/{t}/vch/{id}", ws_vch_inspect, 0, "inspect a VCH"},
    {"PUT", "/container/target/{t}/vch/{id}", ws_vch_configure, VIC_ROUTE_JSON,
     "reconfigure a VCH"},
    {"DELETE", "/container/target/{t}/vch/{id}", ws_vch_delete, VIC_ROUTE_JSON_OPTIONAL,
     "delete a VCH"},
    {"GET", "/container/target/{t}/vch/{id}/certificate", ws_vch_certificate, 0,
     "the VCH's CA certificate"},
    {"GET", "/container/target/{t}/vch/{id}/log", ws_vch_log, 0, "the VCH's creation log"},
    {"GET", "/container/target/{t}/vch/{id}/containers", ws_containers_list, 0,
     "a VCH's containers"},
    {"GET", "/container/target/{t}/vch/{id}/containers/{c}", ws_container_get, 0,
     "one container: state, image, exit code, configuration"},
    {"GET", "/container/target/{t}/vch/{id}/containers/{c}/logs", ws_container_logs, 0,
     "a container's output"},
    {"GET", "/container/target/{t}/vch/{id}/containers/{c}/stats", ws_container_stats, 0,
     "a container's CPU and memory use"},
    {"POST", "/container/target/{t}/vch/{id}/containers/{c}/stop", ws_container_stop, 0,
     "stop a container (power its VM off)"},
    {"POST", "/container/target/{t}/vch/{id}/containers/{c}/start", ws_container_start, 0,
     "start a container (power its VM on)"},
    {"DELETE", "/container/target/{t}/vch/{id}/containers/{c}", ws_container_remove, 0,
     "remove a stopped container (delete its VM)"},
    {"GET", "/container/tasks/{id}", ws_task_get, 0, "a lifecycle task"},
    {"GET", "/container/tasks/{id}/events", ws_task_events, 0,
     "a task's progress as server-sent events"},
    /* The web UI (webservice/ui.h): pages and their assets, public. */
    {"GET", "/", ws_ui_page, VIC_ROUTE_PUBLIC, "web UI: the VCH list"},
    {"GET", "/login", ws_ui_page, VIC_ROUTE_PUBLIC, "web UI: sign in"},
    {"GET", "/create", ws_ui_page, VIC_ROUTE_PUBLIC, "web UI: the create-VCH wizard"},
    {"GET", "/vch/{id}", ws_ui_page, VIC_ROUTE_PUBLIC, "web UI: one VCH and its containers"},
    {"GET", "/tokens", ws_ui_page, VIC_ROUTE_PUBLIC, "web UI: delegation tokens"},
    {"GET", "/self-provision", ws_ui_page, VIC_ROUTE_PUBLIC, "web UI: a token holder's page"},
    {"GET", "/ui/{file}", ws_ui_asset, VIC_ROUTE_PUBLIC, "web UI: script, style or image"},
    {"GET", "/ui/vendor/{file}", ws_ui_vendor, VIC_ROUTE_PUBLIC, "web UI: vendored style or font"},
};
const size_t ws_n_routes = sizeof(ws_routes) / sizeof(ws_routes[0]);
