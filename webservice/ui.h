/*
 * ui.h - the web UI's pages and static assets, served from a directory on disk.
 *
 * URL scheme (all public: the pages hold no data, they call the authenticated JSON API):
 *   GET /                  the VCH list          (index.html)
 *   GET /login             sign in               (login.html)
 *   GET /create            the create-VCH wizard (create.html)
 *   GET /vch/{id}          one VCH and its containers (vch.html)
 *   GET /tokens            delegation tokens     (tokens.html)
 *   GET /self-provision    the token holder's page; the token travels in #token=...
 *   GET /ui/{file}         the UI's own scripts, styles and images
 *   GET /ui/vendor/{file}  files copied from node_modules by the build (Clarity, fonts)
 *
 * A file name is one path segment of [A-Za-z0-9._-] not starting with '.', with a known
 * extension (which fixes the Content-Type); its real path must stay inside the UI directory.
 */
#ifndef VIC_WEBSERVICE_UI_H
#define VIC_WEBSERVICE_UI_H

#include "lib/err.h"
#include "lib/http.h"
#include "lib/static.h"

/* The policy every page and asset is served with. */
#define WS_UI_CSP VIC_STATIC_CSP

/* The directory the UI is served from: dir when given, else "ui" beside the binary in
 * bin_dir. Returns a string to free. */
char *ws_ui_dir_default(const char *dir, const char *bin_dir);

/* Route handlers; payload is the ws. */
int ws_ui_page(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_ui_asset(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_ui_vendor(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

/* The Content-Type of a file name by its extension, or NULL when the UI never serves it. */
const char *ws_ui_content_type(const char *name);

#endif
