/*
 * vicadmin's portal (vicadmin/admin): its routes through the router (no sockets) and what
 * runs without root or a hypervisor: logins, sessions bound to an address, the login
 * throttle, logs (names checked, never a path), the dashboard's JSON, the support bundle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "vicadmin/admin.h"

#define PASSWORD "correct horse battery"

typedef struct fixture {
    char dir[64];
    char *ui;
    va *a;
    vic_http_router *router;
} fixture;

static void put(const char *dir, const char *name, const char *text)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    vic_err *err cleanup_err = NULL;
    if (vic_file_write_atomic(path, text, strlen(text), 0600, &err) < 0)
        fail_msg("%s", err->msg);
}

static int setup(void **state)
{
    fixture *f = xzalloc(sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/vic-test-admin-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    cleanup_free char *hash = vic_password_hash(PASSWORD, 1000);
    cleanup_free char *line = xasprintf("%s\n", hash);
    put(f->dir, "passwd", line);
    f->ui = xasprintf("%s/ui", f->dir);
    assert_int_equal(mkdir(f->ui, 0755), 0);
    put(f->ui, "vicadmin.html", "<!doctype html><title>vicadmin</title>");
    put(f->dir, "vicadmin.log", "one\ntwo\nthree\n");
    put(f->dir, "port-layer.log", "pl-1\npl-2\n");
    put(f->dir, "secret.log", "not a component\n");
    cleanup_free char *passwd = xasprintf("%s/passwd", f->dir);
    va_options o = {.name = "vch1",
                    .images = f->dir,
                    .docker = "127.0.0.1:1", /* nothing answers there */
                    .passwd_file = passwd,
                    .ui_dir = f->ui,
                    .dir = f->dir};
    vic_err *err cleanup_err = NULL;
    assert_int_equal(va_open(&f->a, &o, &err), 0);
    assert_int_equal(
        vic_http_router_new(&f->router, va_routes, va_n_routes, va_authenticate, f->a, 0, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    vic_http_router_free(f->router);
    va_free(f->a);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_rm_rf(f->dir, &err), 0);
    free(f->ui);
    free(f);
    return 0;
}

static vic_http_resp *call(fixture *f, const char *method, const char *path, const char *body,
                           const char *remote, const char *cookie)
{
    vic_http_req *req = vic_http_req_new(method, path);
    vic_http_req_set_remote(req, remote ? remote : "10.0.0.1");
    if (cookie)
        vic_http_req_add_header(req, "Cookie", cookie);
    if (body) {
        vic_http_req_add_header(req, "Content-Type", "application/json");
        vic_http_req_set_body(req, body, strlen(body));
    }
    vic_http_resp *resp = vic_http_resp_new();
    vic_http_dispatch(f->router, req, resp);
    vic_http_req_free(req);
    return resp;
}

static int status_of(fixture *f, const char *method, const char *path, const char *cookie)
{
    vic_http_resp *r = call(f, method, path, NULL, NULL, cookie);
    int st = vic_http_resp_status(r);
    vic_http_resp_free(r);
    return st;
}

/* Logs in from remote and returns "vicadmin_session=..." for a Cookie header. */
static char *login(fixture *f, const char *remote)
{
    vic_http_resp *r = call(f, "POST", "/api/login",
                            "{\"username\":\"admin\",\"password\":\"" PASSWORD "\"}", remote, NULL);
    assert_int_equal(vic_http_resp_status(r), 200);
    const char *set = vic_http_resp_get_header(r, "Set-Cookie");
    assert_non_null(set);
    char *cookie = xstrndup(set, strcspn(set, ";"));
    vic_http_resp_free(r);
    return cookie;
}

static void test_public_routes(void **state)
{
    fixture *f = *state;
    vic_http_resp *r = call(f, "GET", "/ping", NULL, NULL, NULL);
    assert_int_equal(vic_http_resp_status(r), 200);
    size_t len = 0;
    assert_memory_equal(vic_http_resp_body(r, &len), "OK", 2);
    assert_int_equal(len, 2);
    vic_http_resp_free(r);
    r = call(f, "GET", "/", NULL, NULL, NULL);
    assert_int_equal(vic_http_resp_status(r), 200);
    assert_non_null(strstr(vic_http_resp_body(r, NULL), "<title>vicadmin</title>"));
    vic_http_resp_free(r);
    assert_int_equal(status_of(f, "GET", "/ui/missing.js", NULL), 404);
    assert_int_equal(status_of(f, "GET", "/ui/..%2fpasswd", NULL), 404);
    /* everything else needs a login */
    assert_int_equal(status_of(f, "GET", "/api/dashboard", NULL), 401);
    assert_int_equal(status_of(f, "GET", "/api/logs/vicadmin", NULL), 401);
    assert_int_equal(status_of(f, "GET", "/api/bundle", NULL), 401);
    assert_int_equal(status_of(f, "GET", "/api/logs/vicadmin", "vicadmin_session=forged"), 401);
}

static void test_login_session_logout(void **state)
{
    fixture *f = *state;
    vic_http_resp *r = call(f, "POST", "/api/login",
                            "{\"username\":\"admin\",\"password\":\"" PASSWORD "\"}", NULL, NULL);
    assert_int_equal(vic_http_resp_status(r), 200);
    const char *set = vic_http_resp_get_header(r, "Set-Cookie");
    assert_non_null(set);
    assert_int_equal(strncmp(set, "vicadmin_session=", 17), 0);
    assert_non_null(strstr(set, "; Path=/; Max-Age=86400; HttpOnly; SameSite=Strict"));
    assert_null(strstr(set, "Secure")); /* not over TLS */
    json_t *body = json_loads(vic_http_resp_body(r, NULL), 0, NULL);
    assert_string_equal(vic_json_str(body, "user"), "admin");
    json_int_t exp = json_integer_value(json_object_get(body, "expires_at"));
    assert_true(exp >= (json_int_t)time(NULL) + 86400 - 5 && exp <= (json_int_t)time(NULL) + 86400);
    json_decref(body);
    cleanup_free char *cookie = xstrndup(set, strcspn(set, ";"));
    vic_http_resp_free(r);

    assert_int_equal(status_of(f, "GET", "/api/logs/vicadmin", cookie), 200);
    /* bound to the address it was opened from */
    r = call(f, "GET", "/api/logs/vicadmin", NULL, "10.0.0.2", cookie);
    assert_int_equal(vic_http_resp_status(r), 401);
    vic_http_resp_free(r);

    r = call(f, "POST", "/api/logout", NULL, NULL, cookie);
    assert_int_equal(vic_http_resp_status(r), 204);
    assert_string_equal(vic_http_resp_get_header(r, "Set-Cookie"),
                        "vicadmin_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    vic_http_resp_free(r);
    assert_int_equal(status_of(f, "GET", "/api/logs/vicadmin", cookie), 401);
}

static void test_login_refused(void **state)
{
    fixture *f = *state;
    static const char *const bad[] = {
        "{\"username\":\"admin\",\"password\":\"wrong\"}",
        "{\"username\":\"root\",\"password\":\"" PASSWORD "\"}",
    };
    for (size_t i = 0; i < 2; i++) {
        vic_http_resp *r = call(f, "POST", "/api/login", bad[i], "10.0.0.7", NULL);
        assert_int_equal(vic_http_resp_status(r), 401);
        assert_non_null(strstr(vic_http_resp_body(r, NULL), "wrong user name or password"));
        assert_null(vic_http_resp_get_header(r, "Set-Cookie"));
        vic_http_resp_free(r);
    }
    vic_http_resp *r = call(f, "POST", "/api/login", "{\"username\":\"admin\"}", NULL, NULL);
    assert_int_equal(vic_http_resp_status(r), 400);
    vic_http_resp_free(r);
    r = call(f, "POST", "/api/login", "{\"username\":\"\",\"password\":\"x\"}", NULL, NULL);
    assert_int_equal(vic_http_resp_status(r), 400);
    vic_http_resp_free(r);
}

static void test_login_throttled(void **state)
{
    fixture *f = *state;
    int st = 0;
    for (int i = 0; i < 10 && st != 429; i++) {
        vic_http_resp *r =
            call(f, "POST", "/api/login", "{\"username\":\"admin\",\"password\":\"guess\"}",
                 "10.0.0.9", NULL);
        st = vic_http_resp_status(r);
        if (st == 429) {
            assert_true(i >= 5); /* five failures are free */
            const char *after = vic_http_resp_get_header(r, "Retry-After");
            assert_non_null(after);
            assert_true(atoi(after) > 0);
            assert_non_null(strstr(vic_http_resp_body(r, NULL), "too many failed logins"));
        } else {
            assert_int_equal(st, 401);
        }
        vic_http_resp_free(r);
    }
    assert_int_equal(st, 429);
    /* another address is not slowed down */
    cleanup_free char *cookie = login(f, "10.0.0.10");
    assert_non_null(cookie);
}

static void test_logs(void **state)
{
    fixture *f = *state;
    cleanup_free char *cookie = login(f, NULL);
    vic_http_resp *r = call(f, "GET", "/api/logs/vicadmin", NULL, NULL, cookie);
    assert_int_equal(vic_http_resp_status(r), 200);
    assert_string_equal(vic_http_resp_body(r, NULL), "one\ntwo\nthree\n");
    assert_string_equal(vic_http_resp_content_type(r), "text/plain; charset=utf-8");
    vic_http_resp_free(r);

    vic_http_req *req = vic_http_req_new("GET", "/api/logs/vicadmin");
    vic_http_req_set_remote(req, "10.0.0.1");
    vic_http_req_add_header(req, "Cookie", cookie);
    vic_http_req_add_query(req, "tail", "2");
    r = vic_http_resp_new();
    vic_http_dispatch(f->router, req, r);
    vic_http_req_free(req);
    assert_int_equal(vic_http_resp_status(r), 200);
    assert_string_equal(vic_http_resp_body(r, NULL), "two\nthree\n");
    vic_http_resp_free(r);

    static const char *const bad_tail[] = {"0", "x", "1000001", "5x", ""};
    for (size_t i = 0; i < sizeof(bad_tail) / sizeof(bad_tail[0]); i++) {
        req = vic_http_req_new("GET", "/api/logs/vicadmin");
        vic_http_req_set_remote(req, "10.0.0.1");
        vic_http_req_add_header(req, "Cookie", cookie);
        vic_http_req_add_query(req, "tail", bad_tail[i]);
        r = vic_http_resp_new();
        vic_http_dispatch(f->router, req, r);
        vic_http_req_free(req);
        assert_int_equal(vic_http_resp_status(r), 400);
        assert_non_null(strstr(vic_http_resp_body(r, NULL), "is not between 1 and 1000000"));
        vic_http_resp_free(r);
    }

    /* a component whose log does not exist yet: empty */
    r = call(f, "GET", "/api/logs/docker-personality", NULL, NULL, cookie);
    assert_int_equal(vic_http_resp_status(r), 200);
    assert_string_equal(vic_http_resp_body(r, NULL), "");
    vic_http_resp_free(r);

    /* only the components' names, never a file of the caller's choosing */
    static const char *const refused[] = {"/api/logs/secret", "/api/logs/..%2fpasswd",
                                          "/api/logs/vicadmin.log", "/api/logs/..",
                                          "/api/logs/%2e%2e%2fpasswd"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        r = call(f, "GET", refused[i], NULL, NULL, cookie);
        if (vic_http_resp_status(r) != 404)
            fail_msg("GET %s: status %d, want 404", refused[i], vic_http_resp_status(r));
        assert_null(strstr(vic_http_resp_body(r, NULL), "not a component"));
        vic_http_resp_free(r);
    }
}

static void test_component_log(void **state)
{
    fixture *f = *state;
    static const char *const names[] = {"vic-init", "port-layer", "docker-personality", "vicadmin"};
    for (size_t i = 0; i < 4; i++) {
        char *path = NULL;
        vic_err *err = NULL;
        assert_int_equal(va_component_log(f->a, names[i], &path, &err), 0);
        cleanup_free char *want = xasprintf("%s/%s.log", f->dir, names[i]);
        assert_string_equal(path, want);
        free(path);
    }
    static const char *const refused[] = {"",
                                          "secret",
                                          "../vicadmin",
                                          "vicadmin/../secret",
                                          "/etc/passwd",
                                          "VICADMIN",
                                          "vicadmin ",
                                          "a-name-longer-than-forty-characters-is-cut-short-here"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char *path = NULL;
        vic_err *err = NULL;
        assert_int_equal(va_component_log(f->a, refused[i], &path, &err), VIC_ENOTFOUND);
        assert_null(path);
        cleanup_free char *want =
            xasprintf("no component \"%.40s\" (vic-init, port-layer, docker-personality, vicadmin)",
                      refused[i]);
        assert_string_equal(err->msg, want);
        vic_err_free(&err);
    }
    vic_err *err = NULL;
    char *path = NULL;
    assert_int_equal(va_component_log(f->a, NULL, &path, &err), VIC_ENOTFOUND);
    assert_string_equal(err->msg,
                        "no component \"\" (vic-init, port-layer, docker-personality, vicadmin)");
    vic_err_free(&err);
}

static void test_tail_file(void **state)
{
    fixture *f = *state;
    put(f->dir, "t.log", "a\nb\nc\nd\n");
    put(f->dir, "partial.log", "a\nb\nno newline");
    put(f->dir, "empty.log", "");
    cleanup_free char *t = xasprintf("%s/t.log", f->dir);
    cleanup_free char *partial = xasprintf("%s/partial.log", f->dir);
    cleanup_free char *empty = xasprintf("%s/empty.log", f->dir);
    cleanup_free char *missing = xasprintf("%s/missing.log", f->dir);
    static const struct {
        int file;
        long lines;
        size_t max;
        const char *want;
    } cases[] = {
        {0, 1, 1 << 20, "d\n"},
        {0, 3, 1 << 20, "b\nc\nd\n"},
        {0, 4, 1 << 20, "a\nb\nc\nd\n"},
        {0, 100, 1 << 20, "a\nb\nc\nd\n"},
        {0, 100, 5, "\nc\nd\n"}, /* only the last 5 bytes are read */
        {0, 100, 6, "b\nc\nd\n"},
        {1, 1, 1 << 20, "no newline"},
        {1, 2, 1 << 20, "b\nno newline"},
        {2, 10, 1 << 20, ""},
        {3, 10, 1 << 20, ""},
    };
    const char *files[] = {t, partial, empty, missing};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = 99;
        char *s = va_tail_file(files[cases[i].file], cases[i].lines, cases[i].max, &len);
        if (strcmp(s, cases[i].want) != 0)
            fail_msg("case %zu: \"%s\", want \"%s\"", i, s, cases[i].want);
        assert_int_equal(len, strlen(cases[i].want));
        free(s);
    }
}

static void test_secret_key(void **state)
{
    (void)state;
    static const char *const secret[] = {"guestinfo.vice./connect/password",
                                         "PASSWD",
                                         "guestinfo.vice..token",
                                         "tls.Key",
                                         "client_secret",
                                         "keychain"};
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
        assert_true(va_secret_key(secret[i]));
    static const char *const plain[] = {"guestinfo.vice./common/name", "numCPUs", "memSize",
                                        "guestinfo.vice./network/dns", ""};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        assert_false(va_secret_key(plain[i]));
}

static json_t *warnings_with(json_t *dash, const char *needle)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(dash, "warnings"), i, w)
    {
        if (strstr(json_string_value(w), needle))
            return w;
    }
    return NULL;
}

static void test_dashboard(void **state)
{
    fixture *f = *state;
    /* without components.json: a warning, and vicadmin itself */
    json_t *dash = NULL;
    vic_err *err = NULL;
    assert_int_equal(va_dashboard(f->a, &dash, &err), 0);
    cleanup_free char *cpath = xasprintf("%s/components.json", f->dir);
    cleanup_free char *missing =
        xasprintf("component states unavailable: %s is missing or unreadable", cpath);
    assert_non_null(warnings_with(dash, missing));
    json_t *me = json_object_get(json_object_get(dash, "components"), "vicadmin");
    assert_string_equal(vic_json_str(me, "state"), "started");
    assert_int_equal(json_integer_value(json_object_get(me, "pid")), getpid());
    json_decref(dash);

    time_t now = time(NULL);
    cleanup_free char *comps = xasprintf(
        "{\"port-layer\": {\"state\": \"started\", \"started\": %lld, \"pid\": 7, "
        "\"restarts\": 1}, \"docker-personality\": {\"state\": \"stopped\", \"started\": 0}}",
        (long long)now - 100);
    put(f->dir, "components.json", comps);
    assert_int_equal(va_dashboard(f->a, &dash, &err), 0);
    assert_string_equal(vic_json_str(dash, "name"), "vch1");
    assert_non_null(vic_json_str(dash, "version"));
    json_t *c = json_object_get(dash, "components");
    json_int_t up =
        json_integer_value(json_object_get(json_object_get(c, "port-layer"), "uptime_s"));
    assert_true(up >= 100 && up < 160);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(c, "port-layer"), "restarts")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(c, "docker-personality"), "uptime_s")),
        0);
    assert_non_null(json_object_get(c, "vicadmin"));
    assert_null(warnings_with(dash, "component states unavailable"));
    assert_non_null(warnings_with(dash, "docker-personality is stopped"));
    assert_null(warnings_with(dash, "port-layer is"));
    /* the docker endpoint does not answer; no port layer was given */
    json_t *docker = json_object_get(dash, "docker");
    assert_string_equal(vic_json_str(docker, "address"), "127.0.0.1:1");
    assert_true(json_is_false(json_object_get(docker, "answers")));
    assert_non_null(warnings_with(dash, "docker endpoint 127.0.0.1:1 unreachable: "));
    assert_non_null(warnings_with(dash, "port layer (none): no token"));
    assert_int_equal(json_array_size(json_object_get(dash, "registries")), 0);
    json_t *storage = json_object_get(dash, "storage");
    json_t *images = json_object_get(storage, "images");
    assert_string_equal(vic_json_str(images, "path"), f->dir);
    assert_true(json_is_integer(json_object_get(images, "capacity_mb")));
    assert_true(json_is_integer(json_object_get(images, "free_mb")));
    assert_true(json_is_null(json_object_get(storage, "home")));
    assert_true(json_is_null(json_object_get(dash, "pool")));
    assert_int_equal(json_object_size(json_object_get(dash, "containers")), 0);
    json_decref(dash);

    /* through the route, with a session */
    cleanup_free char *cookie = login(f, NULL);
    vic_http_resp *r = call(f, "GET", "/api/dashboard", NULL, NULL, cookie);
    assert_int_equal(vic_http_resp_status(r), 200);
    json_t *body = json_loads(vic_http_resp_body(r, NULL), 0, NULL);
    assert_string_equal(vic_json_str(body, "name"), "vch1");
    json_decref(body);
    vic_http_resp_free(r);
}

static void test_bundle(void **state)
{
    fixture *f = *state;
    cleanup_free char *cookie = login(f, NULL);
    vic_http_resp *r = call(f, "GET", "/api/bundle", NULL, NULL, cookie);
    assert_int_equal(vic_http_resp_status(r), 200);
    assert_string_equal(vic_http_resp_get_header(r, "Content-Disposition"),
                        "attachment; filename=\"vch-vch1-bundle.tar.gz\"");
    size_t len = 0;
    const char *data = vic_http_resp_body(r, &len);
    struct archive *ar = archive_read_new();
    archive_read_support_filter_gzip(ar);
    archive_read_support_format_tar(ar);
    assert_int_equal(archive_read_open_memory(ar, data, len), ARCHIVE_OK);
    struct archive_entry *e;
    int seen = 0, saw_log = 0, saw_dash = 0, saw_config = 0;
    while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        assert_int_equal(strncmp(name, "vch-vch1-", 9), 0);
        assert_null(strstr(name, ".."));
        const char *rel = strchr(name, '/');
        assert_non_null(rel);
        char buf[4096];
        la_ssize_t n = archive_read_data(ar, buf, sizeof(buf) - 1);
        assert_true(n >= 0);
        buf[n] = '\0';
        if (strcmp(rel, "/logs/vicadmin.log") == 0) {
            assert_string_equal(buf, "one\ntwo\nthree\n");
            saw_log = 1;
        } else if (strcmp(rel, "/dashboard.json") == 0) {
            assert_non_null(strstr(buf, "\"warnings\""));
            saw_dash = 1;
        } else if (strcmp(rel, "/config.json") == 0) {
            assert_string_equal(buf, "{}"); /* no hypervisor: nothing to show */
            saw_config = 1;
        } else {
            assert_int_equal(strncmp(rel, "/logs/", 6), 0);
        }
        assert_null(strstr(buf, "not a component")); /* only the components' logs */
        seen++;
    }
    archive_read_free(ar);
    assert_int_equal(seen, 6); /* four logs, dashboard.json, config.json; no home, no events */
    assert_true(saw_log && saw_dash && saw_config);
    vic_http_resp_free(r);
}

static void test_open_bad_passwd_file(void **state)
{
    (void)state;
    va_options o = {.passwd_file = "/nonexistent/passwd", .dir = "."};
    va *a = NULL;
    vic_err *err = NULL;
    assert_true(va_open(&a, &o, &err) < 0);
    assert_null(a);
    assert_non_null(strstr(err->msg, "--passwd-file"));
    assert_non_null(strstr(err->msg, "/nonexistent/passwd"));
    vic_err_free(&err);

    /* without a password file nobody logs in with a password */
    va_options none = {.dir = "."};
    assert_int_equal(va_open(&a, &none, &err), 0);
    vic_http_router *router = NULL;
    assert_int_equal(
        vic_http_router_new(&router, va_routes, va_n_routes, va_authenticate, a, 0, &err), 0);
    vic_http_req *req = vic_http_req_new("POST", "/api/login");
    vic_http_req_set_remote(req, "10.0.0.1");
    vic_http_req_add_header(req, "Content-Type", "application/json");
    const char *body = "{\"username\":\"admin\",\"password\":\"\"}";
    vic_http_req_set_body(req, body, strlen(body));
    vic_http_resp *r = vic_http_resp_new();
    vic_http_dispatch(router, req, r);
    assert_int_equal(vic_http_resp_status(r), 400); /* empty password: refused by the schema */
    vic_http_resp_free(r);
    vic_http_req_free(req);
    req = vic_http_req_new("POST", "/api/login");
    vic_http_req_set_remote(req, "10.0.0.1");
    vic_http_req_add_header(req, "Content-Type", "application/json");
    body = "{\"username\":\"admin\",\"password\":\"" PASSWORD "\"}";
    vic_http_req_set_body(req, body, strlen(body));
    r = vic_http_resp_new();
    vic_http_dispatch(router, req, r);
    assert_int_equal(vic_http_resp_status(r), 401);
    vic_http_resp_free(r);
    vic_http_req_free(req);
    vic_http_router_free(router);
    va_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_public_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_session_logout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_throttled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_component_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tail_file, setup, teardown),
        cmocka_unit_test(test_secret_key),
        cmocka_unit_test_setup_teardown(test_dashboard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle, setup, teardown),
        cmocka_unit_test(test_open_bad_passwd_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
