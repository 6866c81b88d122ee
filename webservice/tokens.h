/*
 * tokens.h - the delegation-token and self-provision routes of vic-webservice.
 *
 * Admin routes issue, list, revoke and audit tokens and rotate the signing key; token-holder
 * routes (WS_ROUTE_BEARER) delegate, redeem a token for a VCH, show the token's limits and
 * the VCHs it created. Handlers are vic_http_handler functions listed in ws_routes.
 */
#ifndef VIC_WEBSERVICE_TOKENS_H
#define VIC_WEBSERVICE_TOKENS_H

#include "lib/http.h"
#include "webservice/service.h"

/* Verifies a Bearer token for a token-holder route and records its jti as the principal
 * (kind "token"). Errors: VIC_EAUTH with the verifier's reason. */
int ws_bearer_authenticate(ws *w, vic_http_req *req, const char *token, vic_err **err);

int ws_tokens_issue(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_tokens_list(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_tokens_revoke(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_tokens_audit(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_tokens_delegate(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_token_keys_list(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_token_keys_rotate(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_self_provision(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_self_provision_limits(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_self_provision_vchs(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_self_provision_delete(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

#endif
