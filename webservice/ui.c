/*
 * ui.c - serves the web UI's pages and assets from the UI directory (see ui.h).
 *
 * Every answer carries the UI's Content-Security-Policy (scripts, styles and fonts from this
 * origin only, no inline script, never framed) and a Cache-Control: pages and the UI's own
 * files are revalidated on each load (they change with every build), vendored files are
 * cached for a long time.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "lib/cleanup.h"
#include "lib/static.h"
#include "lib/mem.h"
#include "webservice/service.h"
#include "webservice/ui.h"

/* The pages: a route pattern and the file that answers it. */
static const struct {
    const char *pattern;
    const char *file;
} pages[] = {
    {"/", "index.html"},        {"/login", "login.html"},
    {"/create", "create.html"}, {"/vch/{id}", "vch.html"},
    {"/tokens", "tokens.html"}, {"/self-provision", "self-provision.html"},
};

char *ws_ui_dir_default(const char *dir, const char *bin_dir)
{
    if (dir && *dir)
        return xstrdup(dir);
    return xasprintf("%s/ui", bin_dir && *bin_dir ? bin_dir : ".");
}

const char *ws_ui_content_type(const char *name)
{
    return vic_static_content_type(name);
}

static int serve_file(const ws *w, vic_http_resp *resp, const char *sub, const char *name,
                      const char *cache, vic_err **err)
{
    return vic_static_serve(resp, w->opt.ui_dir, sub, name, cache, err);
}

int ws_ui_page(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    const vic_http_route *route = vic_http_req_route(req);
    for (size_t i = 0; route && i < sizeof(pages) / sizeof(pages[0]); i++)
        if (strcmp(route->pattern, pages[i].pattern) == 0)
            return serve_file(payload, resp, NULL, pages[i].file, "no-cache", err);
    return vic_err_set(err, VIC_ENOTFOUND, "no such page: %s", vic_http_req_path(req));
}

int ws_ui_asset(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    return serve_file(payload, resp, NULL, vic_http_req_param(req, "file"), "no-cache", err);
}

int ws_ui_vendor(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    return serve_file(payload, resp, "vendor", vic_http_req_param(req, "file"),
                      "public, max-age=31536000, immutable", err);
}
