/*
 * admin.h - vicadmin, a VCH's administration portal: what an operator needs to find out why
 * a VCH misbehaves.
 *
 * Served by the appliance (vic-init starts it) on the VCH's address, port 2378, with the
 * VCH's server certificate. A caller is authenticated by a client certificate signed by the
 * VCH's CA, or by logging in with the portal's admin password (a session cookie bound to the
 * client's address, at most 24 hours, HttpOnly, Secure, SameSite=Strict; failed logins are
 * throttled per address).
 *
 *   GET  /ping                          liveness (public)
 *   GET  /                              the dashboard page (public; data comes from /api)
 *   GET  /ui/{file}, /ui/vendor/{file}  the page's assets (shared with the web UI)
 *   POST /api/login {username,password} open a session
 *   POST /api/logout
 *   GET  /api/dashboard                 components, endpoint, registries, storage, pool,
 *                                       containers by state, version, warnings
 *   GET  /api/logs/{component}?tail=N   a component's log (text)
 *   GET  /api/logs/{component}/follow   the same, live (server-sent events)
 *   GET  /api/bundle                    a tar.gz for support: logs, configuration with
 *                                       secrets removed, recent events
 */
#ifndef VIC_VICADMIN_ADMIN_H
#define VIC_VICADMIN_ADMIN_H

#include <stddef.h>

#include "lib/err.h"
#include "lib/http.h"

typedef struct va_options {
    const char *name;       /* the VCH */
    const char *home;       /* the local target's VIC_HOME */
    const char *pool;       /* the VCH's resource pool */
    const char *images;     /* the image store's directory */
    const char *docker;     /* "ADDR:2376" */
    int docker_tls;         /* the docker endpoint speaks TLS */
    const char *port_layer; /* "http://ADDR:2377" */
    const char *token_file; /* the port layer's token */
    const char *passwd_file;
    const char *ui_dir;
    const char *dir; /* where the components' logs and components.json are (cwd) */
    const char *const *registries;
    size_t n_registries;
} va_options;

typedef struct va va;

int va_open(va **out, const va_options *o, vic_err **err);
void va_free(va *a);

extern const vic_http_route va_routes[];
extern const size_t va_n_routes;
int va_authenticate(vic_http_req *req, const vic_http_route *route, void *payload, vic_err **err);

/* For tests: the dashboard as JSON (new reference), and the bundle's bytes. */
int va_dashboard(va *a, json_t **out, vic_err **err);
int va_bundle(va *a, char **data, size_t *len, vic_err **err);

/* The log file of a component named in a request (vic-init, port-layer, docker-personality,
 * vicadmin: o->dir/NAME.log), into *path (caller frees); any other name, including one that
 * would lead out of the directory, is VIC_ENOTFOUND. */
int va_component_log(const va *a, const char *name, char **path, vic_err **err);

/* The last `lines` lines of a file (reading at most max bytes from its end), NUL-terminated,
 * *len its length; "" when the file cannot be opened. The caller frees it. */
char *va_tail_file(const char *path, long lines, size_t max, size_t *len);

/* Whether a configuration key names a secret (password, passwd, secret, token, key, in any
 * case): the bundle replaces its value with "(removed)". */
int va_secret_key(const char *k);

#endif
