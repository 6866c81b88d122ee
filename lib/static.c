#include "static.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "file.h"
#include "mem.h"

#define STATIC_MAX_FILE (8 * 1024 * 1024)
#define STATIC_MAX_NAME 128

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

const char *vic_static_content_type(const char *name)
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
    if (n == 0 || n > STATIC_MAX_NAME || name[0] == '.')
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
    vic_http_resp_header(resp, "Content-Security-Policy", VIC_STATIC_CSP);
    vic_http_resp_header(resp, "Cache-Control", cache);
    vic_http_resp_header(resp, "Referrer-Policy", "no-referrer");
    vic_http_resp_header(resp, "X-Frame-Options", "DENY");
    vic_http_resp_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
}

int vic_static_serve(vic_http_resp *resp, const char *dir, const char *sub, const char *name,
                     const char *cache, vic_err **err)
{
    const char *type = vic_static_content_type(name);
    if (!name_ok(name) || type == NULL)
        return vic_err_set(err, VIC_ENOTFOUND, "no such file: %s", name);
    if (dir == NULL)
        dir = ".";
    char root[PATH_MAX], real[PATH_MAX];
    if (realpath(dir, root) == NULL)
        return vic_err_set(err, VIC_ENOTFOUND,
                           "the web UI is not installed (no directory %s; build it with make)",
                           dir);
    cleanup_free char *path =
        sub ? xasprintf("%s/%s/%s", root, sub, name) : xasprintf("%s/%s", root, name);
    size_t rlen = strlen(root);
    struct stat st;
    if (realpath(path, real) == NULL || strncmp(real, root, rlen) != 0 || real[rlen] != '/' ||
        stat(real, &st) < 0 || !S_ISREG(st.st_mode))
        return vic_err_set(err, VIC_ENOTFOUND, "no such file: %s", name);
    if (st.st_size > STATIC_MAX_FILE)
        return vic_err_set(err, VIC_ETOOBIG, "file %s is too large to serve", name);
    cleanup_free char *data = NULL;
    size_t len = 0;
    int rc = vic_file_read(&data, &len, real, STATIC_MAX_FILE, err);
    if (rc < 0)
        return rc;
    vic_http_resp_text(resp, 200, type, data, len);
    security_headers(resp, cache);
    return 0;
}
