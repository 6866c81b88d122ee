/*
 * service.h - the vic-webservice context shared by its modules.
 */
#ifndef VIC_WEBSERVICE_SERVICE_H
#define VIC_WEBSERVICE_SERVICE_H

#include <stddef.h>
#include <time.h>

#include "lib/err.h"
#include "lib/http.h"
#include "lib/store.h"
#include "self-provision/inventory.h"
#include "self-provision/provision.h"
#include "validating-proxy/token.h"
#include "vch-wizard/vch.h"

typedef struct ws_auth ws_auth;

/* A route flag of this service (above the bits lib/http.h uses): the route serves holders of
 * a delegation token (Authorization: Bearer), and only them. Every other non-public route
 * refuses a Bearer token with 403. */
#define WS_ROUTE_BEARER (1u << 16)

/* The audience of the delegation tokens this service issues and accepts. */
#define WS_TOKEN_AUDIENCE "vic-self-provision"
#define WS_TOKEN_ISSUER   "vic-webservice"

#define WS_MAX_VSPHERE_TARGETS 16

typedef struct ws_options {
    const char *home;   /* $VIC_HOME */
    const char *listen; /* "127.0.0.1:8443" */
    int no_tls;
    size_t max_body;
    unsigned threads;
    unsigned session_idle;     /* seconds */
    unsigned session_absolute; /* seconds */
    const char *bin_dir;       /* where vic-init and the appliance's servers are */
    const char *ui_dir;        /* the web UI's pages and assets (webservice/ui.h) */
    /* vSphere targets ("host[:port]") the API may reach, with the caller's credentials
     * (HTTP Basic, passed through) and ?thumbprint=; any other target is not known here. */
    const char *vsphere_targets[WS_MAX_VSPHERE_TARGETS];
    size_t n_vsphere_targets;
    const char *appliance_iso; /* the ISO uploaded for a vSphere VCH (default in bin_dir) */
    unsigned audit_days;       /* token audit retention (0: the default, 90 days) */
    unsigned audit_max_rows;   /* and its row limit (0: the default, 100,000) */
} ws_options;

typedef struct ws {
    ws_options opt;
    vic_store *store;
    ws_auth *auth;
    char *tls_cert_pem;
    char *tls_key_pem;                   /* secret: cleansed on free */
    char *ca_path;                       /* CA a client should trust, or NULL without TLS */
    time_t (*now)(void);                 /* the clock, replaceable in tests */
    vp *tokens;                          /* delegation tokens (validating-proxy/) */
    sp *provision;                       /* token redemption (self-provision/) */
    const vch_spec_inventory *inventory; /* what the targets hold; the local target until hv.h */
    vch_engine *vch;                     /* the VCH lifecycle (vch-wizard/) */
} ws;

/* The route table (also the source of truth checked against openapi.json by a test). */
extern const vic_http_route ws_routes[];
extern const size_t ws_n_routes;

/* Authenticates a request for a non-public route (the vic_http_auth_fn). */
int ws_authenticate(vic_http_req *req, const vic_http_route *route, void *payload, vic_err **err);

/* The embedded OpenAPI document (NUL-terminated). */
extern const char vic_openapi_json[];

#endif
