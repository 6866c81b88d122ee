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
#include "lib/file.h"
#include "lib/mem.h"
#include "webservice/service.h"
#include "webservice/ui.h"

#define UI_MAX_FILE (8 * 1024 * 1024)
#define UI_MAX_NAME 128

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".txt", "text/plain; charset=utf-8"},
};

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
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (dot == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++)
        if (strcmp(dot, content_types[i].ext) == 0)
            return content_types[i].type;
    return NULL;
}

/* One path segment of safe characters, not hidden, not "." or "..". */
static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > UI_MAX_NAME || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static void security_headers(vic_http_resp *resp, const char *cache)
{
    vic_http_resp_header(resp, "Content-Security-Policy", WS_UI_CSP);
    vic_http_resp_header(resp, "Cache-Control", cache);
    vic_http_resp_header(resp, "Referrer-Policy", "no-referrer");
    vic_http_resp_header(resp, "X-Frame-Options", "DENY");
    vic_http_resp_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
}

/* Serves sub/name from the UI directory (sub may be NULL), refusing anything whose real
 * path leaves the directory. */
static int serve_file(const ws *w, vic_http_resp *resp, const char *sub, const char *name,
                      const char *cache, vic_err **err)
{
    const char *type = ws_ui_content_type(name);
    if (!name_ok(name) || type == NULL)
        return vic_err_set(err, VIC_ENOTFOUND, "no such UI file: %s", name);
    const char *dir = w->opt.ui_dir ? w->opt.ui_dir : ".";
    char root[PATH_MAX], real[PATH_MAX];
    if (realpath(dir, root) == NULL)
        return vic_err_set(err, VIC_ENOTFOUND,
                           "the web UI is not installed (no directory %s; build it with make, "
                           "or pass --ui-dir)",
                           dir);
    cleanup_free char *path =
        sub ? xasprintf("%s/%s/%s", root, sub, name) : xasprintf("%s/%s", root, name);
    size_t rlen = strlen(root);
    struct stat st;
    if (realpath(path, real) == NULL || strncmp(real, root, rlen) != 0 || real[rlen] != '/' ||
        stat(real, &st) < 0 || !S_ISREG(st.st_mode))
        return vic_err_set(err, VIC_ENOTFOUND, "no such UI file: %s", name);
    if (st.st_size > UI_MAX_FILE)
        return vic_err_set(err, VIC_ETOOBIG, "UI file %s is too large to serve", name);
    cleanup_free char *data = NULL;
    size_t len = 0;
    int rc = vic_file_read(&data, &len, real, UI_MAX_FILE, err);
    if (rc < 0)
        return rc;
    vic_http_resp_text(resp, 200, type, data, len);
    security_headers(resp, cache);
    return 0;
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
