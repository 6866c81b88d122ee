/*
 * static.h - files served from a directory: the web UI's pages and assets, in the web
 * service and in each VCH's admin portal.
 *
 * A file name is one path segment of [A-Za-z0-9._-] not starting with '.', with a known
 * extension (which fixes the Content-Type); its real path must stay inside the directory, so
 * neither "..", nor a symbolic link, nor a hidden file ever leaves it.
 */
#ifndef VIC_STATIC_H
#define VIC_STATIC_H

#include "err.h"
#include "http.h"

/* The policy every page and asset is served with: this origin only, no inline script. */
#define VIC_STATIC_CSP                                                                             \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "              \
    "form-action 'self'; frame-ancestors 'none'"

/* The Content-Type of a file name by its extension, or NULL when it is never served. */
const char *vic_static_content_type(const char *name);

/* Answers with dir[/sub]/name and the security headers (CSP, no framing, no referrer, the
 * given Cache-Control). VIC_ENOTFOUND for a name that is refused or absent, or when the
 * directory itself is missing (the UI was not built). */
int vic_static_serve(vic_http_resp *resp, const char *dir, const char *sub, const char *name,
                     const char *cache, vic_err **err);

#endif
