#include "webservice/tokens.h"

#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "vch-wizard/tasks.h"
#include "vch-wizard/vch.h"
#include "webservice/vchs.h"

static void cleanup_token_(vp_token **t)
{
    vp_token_free(*t);
}
#define cleanup_token __attribute__((cleanup(cleanup_token_)))

static vp_ctx ctx_of(ws *w, vic_http_req *req)
{
    const char *kind = vic_http_req_principal_kind(req);
    const char *who = vic_http_req_principal(req);
    (void)kind;
    vp_ctx c = {.now = w->now(), .actor = who ? who : "-", .remote = vic_http_req_remote(req)};
    return c;
}

int ws_bearer_authenticate(ws *w, vic_http_req *req, const char *token, vic_err **err)
{
    while (*token == ' ')
        token++;
    vp_ctx c = {.now = w->now(), .actor = "bearer", .remote = vic_http_req_remote(req)};
    vp_token *t = NULL;
    int rc = vp_verify(&t, w->tokens, token, &c, err);
    if (rc < 0)
        return rc;
    char who[128];
    snprintf(who, sizeof(who), "token:%s", vp_token_jti(t));
    vic_http_req_set_principal(req, who, "token");
    vp_token_free(t);
    return 0;
}

/* The token that authenticated req (verified by ws_bearer_authenticate moments ago), with its
 * chain checked again. */
static int holder_token(vp_token **out, ws *w, vic_http_req *req, vic_err **err)
{
    const char *kind = vic_http_req_principal_kind(req);
    const char *who = vic_http_req_principal(req);
    if (kind == NULL || strcmp(kind, "token") != 0 || who == NULL || strncmp(who, "token:", 6))
        return vic_err_set(err, VIC_EAUTH,
                           "this route needs Authorization: Bearer <delegation "
                           "token>");
    return vp_token_load(out, w->tokens, who + 6, w->now(), err);
}

/* The host[:port] clients used to reach us, for the token link: the Host header when it
 * looks like one, else the listen address. */
static const char *link_host(ws *w, vic_http_req *req)
{
    const char *h = vic_http_req_header(req, "Host");
    if (h == NULL || *h == '\0' || strlen(h) > 255)
        return w->opt.listen;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
            return w->opt.listen;
    return h;
}

static json_t *issued_json(ws *w, vic_http_req *req, const vp_issued *is)
{
    cleanup_secret char *link =
        xasprintf("%s://%s/self-provision#token=%s", vic_http_req_is_tls(req) ? "https" : "http",
                  link_host(w, req), is->token);
    return json_pack("{s:s, s:s, s:s, s:I, s:O}", "jti", is->jti, "token", is->token, "link", link,
                     "expires_at", (json_int_t)is->exp, "restrictions", is->restrictions);
}

static const vic_schema_field issue_fields[] = {
    {.name = "sub", .type = VIC_JSON_STRING, .required = 1, .min = 1, .max = 128},
    {.name = "aud", .type = VIC_JSON_STRING, .min = 1, .max = 256},
    {.name = "ttl", .type = VIC_JSON_INT, .min = 60, .max = VP_MAX_TTL},
    {.name = "restrictions", .type = VIC_JSON_OBJECT},
};
static const vic_schema issue_schema = VIC_SCHEMA(issue_fields);

static const vic_schema_field delegate_fields[] = {
    {.name = "sub", .type = VIC_JSON_STRING, .min = 1, .max = 128},
    {.name = "aud", .type = VIC_JSON_STRING, .min = 1, .max = 256},
    {.name = "ttl", .type = VIC_JSON_INT, .min = 60, .max = VP_MAX_TTL},
    {.name = "restrictions", .type = VIC_JSON_OBJECT},
};
static const vic_schema delegate_schema = VIC_SCHEMA(delegate_fields);

static vp_issue_opts opts_of(const json_t *body)
{
    vp_issue_opts o = {.sub = vic_json_str(body, "sub"),
                       .aud = vic_json_str(body, "aud"),
                       .ttl = json_integer_value(json_object_get(body, "ttl")),
                       .restrictions = json_object_get(body, "restrictions")};
    return o;
}

int ws_tokens_issue(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    json_t *body = vic_http_req_json(req);
    int rc = vic_json_validate(body, &issue_schema, NULL, err);
    if (rc < 0)
        return rc;
    vp_issue_opts o = opts_of(body);
    vp_ctx c = ctx_of(w, req);
    vp_issued is = {0};
    if ((rc = vp_issue(&is, w->tokens, &o, &c, err)) < 0)
        return rc;
    vic_log(VIC_LOG_INFO, "event=token_issued jti=%s by=%s", is.jti, c.actor);
    vic_http_resp_json(resp, 201, issued_json(w, req, &is));
    vp_issued_clear(&is);
    return 0;
}

int ws_tokens_list(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req;
    ws *w = payload;
    json_t *list = NULL;
    int rc = vp_list(&list, w->tokens, w->now(), err);
    if (rc < 0)
        return rc;
    vic_http_resp_json(resp, 200, json_pack("{s:o}", "tokens", list));
    return 0;
}

int ws_tokens_revoke(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    vp_ctx c = ctx_of(w, req);
    size_t n = 0;
    const char *jti = vic_http_req_param(req, "jti");
    int rc = vp_revoke(&n, w->tokens, jti, &c, err);
    if (rc < 0)
        return rc;
    vic_log(VIC_LOG_INFO, "event=token_revoked jti=%s revoked=%zu by=%s", jti, n, c.actor);
    vic_http_resp_json(resp, 204, NULL);
    return 0;
}

int ws_tokens_audit(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    json_t *events = NULL;
    const char *jti = vic_http_req_param(req, "jti");
    int rc = vp_audit(&events, w->tokens, jti, err);
    if (rc < 0)
        return rc;
    vic_http_resp_json(resp, 200, json_pack("{s:s, s:o}", "jti", jti, "events", events));
    return 0;
}

int ws_tokens_delegate(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    vp_token *parent cleanup_token = NULL;
    int rc = holder_token(&parent, w, req, err);
    if (rc < 0)
        return rc;
    const char *jti = vic_http_req_param(req, "jti");
    if (strcmp(jti, vp_token_jti(parent)) != 0)
        return vic_err_set(err, VIC_EFORBIDDEN, "this token is %s: it may delegate only itself",
                           vp_token_jti(parent));
    json_t *body = vic_http_req_json(req);
    json_t *empty cleanup_json = json_object();
    if (body == NULL)
        body = empty;
    if ((rc = vic_json_validate(body, &delegate_schema, NULL, err)) < 0)
        return rc;
    vp_issue_opts o = opts_of(body);
    vp_ctx c = ctx_of(w, req);
    vp_issued is = {0};
    if ((rc = vp_delegate(&is, w->tokens, parent, &o, &c, err)) < 0) {
        vp_audit_append(w->tokens, "deny", jti, &c, (*err)->msg, NULL);
        return rc;
    }
    vic_log(VIC_LOG_INFO, "event=token_delegated jti=%s parent=%s", is.jti, jti);
    vic_http_resp_json(resp, 201, issued_json(w, req, &is));
    vp_issued_clear(&is);
    return 0;
}

int ws_token_keys_list(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    (void)req;
    ws *w = payload;
    json_t *keys = NULL;
    int rc = vp_key_list(&keys, w->tokens, err);
    if (rc < 0)
        return rc;
    vic_http_resp_json(resp, 200, json_pack("{s:o}", "keys", keys));
    return 0;
}

int ws_token_keys_rotate(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    vp_ctx c = ctx_of(w, req);
    char kid[VP_KID_LEN + 1];
    int rc = vp_rotate(w->tokens, &c, kid, err);
    if (rc < 0)
        return rc;
    vic_log(VIC_LOG_INFO, "event=token_key_rotated kid=%s by=%s", kid, c.actor);
    vic_http_resp_json(resp, 201, json_pack("{s:s}", "kid", kid));
    return 0;
}

int ws_self_provision(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    vp_token *t cleanup_token = NULL;
    int rc = holder_token(&t, w, req, err);
    if (rc < 0)
        return rc;
    vp_ctx c = ctx_of(w, req);
    json_t *out = NULL;
    json_t *problems cleanup_json = NULL;
    rc = sp_redeem(&out, &problems, w->provision, t, vic_http_req_json(req),
                   vic_http_req_query(req, "target"), &c, err);
    if (rc < 0 && problems) {
        /* every problem at once, as a list too, for the page to show beside its fields */
        json_t *body = json_pack("{s:s, s:O}", "message", (*err)->msg, "problems", problems);
        vic_http_resp_json(resp, vic_err_http_status(rc), body);
        vic_err_free(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    vic_log(VIC_LOG_INFO, "event=vch_requested id=%s token=%s",
            json_string_value(json_object_get(out, "id")), vp_token_jti(t));
    /* the same create as the admin's, with the spec as the token's limits shaped it */
    json_t *task = NULL;
    json_t *create_problems cleanup_json = NULL;
    rc = ws_vch_start_create(w, json_object_get(out, "spec"), vp_token_jti(t),
                             json_string_value(json_object_get(out, "id")), &task, &create_problems,
                             err);
    if (rc < 0) {
        vic_err *ignore = NULL;
        sp_delete(w->provision, t, json_string_value(json_object_get(out, "id")), &c, &ignore);
        vic_err_free(&ignore);
        json_decref(out);
        if (create_problems) {
            json_t *body =
                json_pack("{s:s, s:O}", "message", (*err)->msg, "problems", create_problems);
            vic_http_resp_json(resp, vic_err_http_status(rc), body);
            vic_err_free(err);
            return 0;
        }
        return rc;
    }
    json_object_del(out, "spec");
    json_object_update_missing(out, task);
    json_object_set_new(out, "vch_id", json_incref(json_object_get(task, "id")));
    json_decref(task);
    json_object_set_new(out, "message", json_string("VCH creation started; follow the task"));
    cleanup_free char *loc = xasprintf("/container/self-provision/vchs/%s",
                                       json_string_value(json_object_get(out, "id")));
    vic_http_resp_header(resp, "Location", loc);
    vic_http_resp_json(resp, 202, out);
    return 0;
}

int ws_self_provision_limits(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    vp_token *t cleanup_token = NULL;
    int rc = holder_token(&t, w, req, err);
    if (rc < 0)
        return rc;
    json_t *out = NULL;
    if ((rc = sp_limits(&out, w->provision, t, w->now(), err)) < 0)
        return rc;
    vic_http_resp_json(resp, 200, out);
    return 0;
}

/*
 * The live VCH of a holder's record (from sp_list) into *model: only the one that record's
 * redemption created, by the immutable id it gave the VCH and the token recorded as its
 * creator. A VCH of the same name made by anyone else (say the admin, after deleting the
 * holder's) is not the holder's: VIC_ENOTFOUND.
 */
static int holder_vch(ws *w, const json_t *record, json_t **model)
{
    *model = NULL;
    const char *name = json_string_value(json_object_get(record, "name"));
    const char *id = json_string_value(json_object_get(record, "id"));
    const char *by = json_string_value(json_object_get(record, "created_by"));
    json_t *m = NULL;
    vic_err *ignore cleanup_err = NULL;
    if (name == NULL || id == NULL || by == NULL || vch_inspect(w->vch, name, &m, &ignore) < 0)
        return VIC_ENOTFOUND;
    const json_t *rt = json_object_get(m, "runtime");
    const char *uid = json_string_value(json_object_get(rt, "uid"));
    const char *creator = json_string_value(json_object_get(rt, "created_by"));
    if (uid == NULL || creator == NULL || strcmp(uid, id) != 0 || strcmp(creator, by) != 0) {
        json_decref(m);
        return VIC_ENOTFOUND;
    }
    *model = m;
    return 0;
}

int ws_self_provision_vchs(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    vp_token *t cleanup_token = NULL;
    int rc = holder_token(&t, w, req, err);
    if (rc < 0)
        return rc;
    json_t *out = NULL;
    if ((rc = sp_list(&out, w->provision, t, err)) < 0)
        return rc;
    /* the live state of each, from the inventory (a VCH still being created has none yet) */
    size_t i;
    json_t *v;
    json_array_foreach(out, i, v)
    {
        json_t *model cleanup_json = NULL;
        if (holder_vch(w, v, &model) == 0) {
            json_object_set(v, "runtime", json_object_get(model, "runtime"));
            json_object_set(v, "vch_id", json_object_get(model, "id"));
        }
    }
    vic_http_resp_json(resp, 200, json_pack("{s:o}", "vchs", out));
    return 0;
}

int ws_self_provision_delete(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    vp_token *t cleanup_token = NULL;
    int rc = holder_token(&t, w, req, err);
    if (rc < 0)
        return rc;
    vp_ctx c = ctx_of(w, req);
    /* which VCH: only one this token's tree created (sp_list shows no other) */
    json_t *mine cleanup_json = NULL;
    if ((rc = sp_list(&mine, w->provision, t, err)) < 0)
        return rc;
    const char *id = vic_http_req_param(req, "id");
    const json_t *record = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(mine, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
            record = v;
    }
    if (record == NULL)
        return vic_err_set(err, VIC_ENOTFOUND, "VCH %s not found", id);
    /* the live VCH only when it is the one this record's redemption made; when that one is
     * gone already, the record is released and nothing else is touched */
    json_t *model cleanup_json = NULL;
    vch_task task;
    vch_delete_opts o = {.containers_all = 1, .volume_stores_all = 1};
    vic_err *derr = NULL;
    rc = holder_vch(w, record, &model);
    vch_task created;
    if (rc < 0 && vch_task_latest(vch_engine_tasks(w->vch), vch_engine_target(w->vch),
                                  json_string_value(json_object_get(record, "name")), "create",
                                  &created, NULL) == 0) {
        int busy = strcmp(created.state, "running") == 0 && vch_task_owner_alive(&created) &&
                   strcmp(created.created_by,
                          json_string_value(json_object_get(record, "created_by"))) == 0;
        vch_task_clear(&created);
        if (busy)
            return vic_err_set(err, VIC_ECONFLICT,
                               "VCH %s is being created right now; delete it once the create "
                               "has finished",
                               id);
    }
    if (rc == 0)
        rc = vch_delete_begin(w->vch, json_string_value(json_object_get(model, "id")), &o, &task,
                              &derr);
    if (rc == 0) {
        rc = vch_delete_run(w->vch, task.id, NULL, NULL, &derr);
        vch_task_clear(&task);
    }
    if (rc < 0 && rc != VIC_ENOTFOUND) {
        *err = derr;
        return rc;
    }
    vic_err_free(&derr);
    if ((rc = sp_delete(w->provision, t, id, &c, err)) < 0)
        return rc;
    vic_http_resp_json(resp, 204, NULL);
    return 0;
}
