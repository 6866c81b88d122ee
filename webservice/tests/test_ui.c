/* The web UI's file serving: pages, content types, security headers, and what it refuses
 * (traversal, symlinks out of the directory, hidden files, unknown extensions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/mem.h"
#include "webservice/service.h"
#include "webservice/ui.h"

typedef struct fixture {
    char root[64];
    char *ui;
    ws w;
    vic_http_router *router;
} fixture;

static void put(const char *dir, const char *name, const char *text)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    vic_err *err cleanup_err = NULL;
    if (vic_file_write_atomic(path, text, strlen(text), 0644, &err) < 0)
        fail_msg("%s", err->msg);
}

static int setup(void **state)
{
    fixture *f = xzalloc(sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/vic-test-ui-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    f->ui = xasprintf("%s/ui", f->root);
    cleanup_free char *vendor = xasprintf("%s/vendor", f->ui);
    assert_int_equal(mkdir(f->ui, 0755), 0);
    assert_int_equal(mkdir(vendor, 0755), 0);
    put(f->ui, "index.html", "<!doctype html><title>list</title>");
    put(f->ui, "vch.html", "<!doctype html><title>vch</title>");
    put(f->ui, "app.js", "export const x = 1;\n");
    put(f->ui, "notes.md", "# not served\n");
    put(f->ui, ".hidden.js", "hidden\n");
    put(vendor, "clr-ui.min.css", "body{}\n");
    put(vendor, "City.woff2", "wOF2");
    put(f->root, "secret.js", "outside\n");
    cleanup_free char *link = xasprintf("%s/evil.js", f->ui);
    cleanup_free char *target = xasprintf("%s/secret.js", f->root);
    assert_int_equal(symlink(target, link), 0);
    cleanup_free char *inside = xasprintf("%s/alias.js", f->ui);
    assert_int_equal(symlink("app.js", inside), 0);
    f->w.opt.ui_dir = f->ui;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(
        vic_http_router_new(&f->router, ws_routes, ws_n_routes, ws_authenticate, &f->w, 0, &err),
        0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    vic_http_router_free(f->router);
    cleanup_free char *cmd = xasprintf("rm -rf '%s'", f->root);
    assert_int_equal(system(cmd), 0);
    free(f->ui);
    free(f);
    return 0;
}

static vic_http_resp *get(fixture *f, const char *path)
{
    vic_http_req *req = vic_http_req_new("GET", path);
    vic_http_resp *resp = vic_http_resp_new();
    vic_http_dispatch(f->router, req, resp);
    vic_http_req_free(req);
    return resp;
}

static void expect(fixture *f, const char *path, int status, const char *type)
{
    vic_http_resp *r = get(f, path);
    if (vic_http_resp_status(r) != status)
        fail_msg("GET %s: status %d, want %d", path, vic_http_resp_status(r), status);
    if (type)
        assert_string_equal(vic_http_resp_content_type(r), type);
    vic_http_resp_free(r);
}

static void test_ui_pages_and_headers(void **state)
{
    fixture *f = *state;
    vic_http_resp *r = get(f, "/");
    assert_int_equal(vic_http_resp_status(r), 200);
    assert_string_equal(vic_http_resp_content_type(r), "text/html; charset=utf-8");
    assert_non_null(strstr(vic_http_resp_body(r, NULL), "<title>list</title>"));
    const char *csp = vic_http_resp_get_header(r, "Content-Security-Policy");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "default-src 'self'"));
    assert_non_null(strstr(csp, "script-src 'self'"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_null(strstr(csp, "unsafe-inline"));
    assert_null(strstr(csp, "unsafe-eval"));
    assert_string_equal(vic_http_resp_get_header(r, "Cache-Control"), "no-cache");
    assert_string_equal(vic_http_resp_get_header(r, "Referrer-Policy"), "no-referrer");
    vic_http_resp_free(r);

    /* a page route whose file is missing is a 404, not an empty page */
    expect(f, "/login", 404, NULL);
    expect(f, "/vch/vm:demo", 200, "text/html; charset=utf-8");

    r = get(f, "/ui/vendor/clr-ui.min.css");
    assert_int_equal(vic_http_resp_status(r), 200);
    assert_string_equal(vic_http_resp_content_type(r), "text/css; charset=utf-8");
    assert_non_null(strstr(vic_http_resp_get_header(r, "Cache-Control"), "max-age=31536000"));
    assert_non_null(vic_http_resp_get_header(r, "Content-Security-Policy"));
    vic_http_resp_free(r);
    expect(f, "/ui/app.js", 200, "text/javascript; charset=utf-8");
    expect(f, "/ui/vendor/City.woff2", 200, "font/woff2");
    expect(f, "/ui/alias.js", 200, "text/javascript; charset=utf-8"); /* symlink inside */
}

static void test_ui_refuses_traversal(void **state)
{
    fixture *f = *state;
    static const char *const refused[] = {"/ui/..",
                                          "/ui/../secret.js",
                                          "/ui/..%2fsecret.js",
                                          "/ui/evil.js",
                                          "/ui/.hidden.js",
                                          "/ui/notes.md",
                                          "/ui/vendor/..",
                                          "/ui/vendor/../app.js",
                                          "/ui/vendor/app.js",
                                          "/ui/missing.js",
                                          "/ui/a%00.js",
                                          "/ui/index.html/",
                                          "/ui/vendor/.",
                                          "/ui/app.js.",
                                          "/ui/app",
                                          "/ui/vendor",
                                          "/ui/ui/vendor/City.woff2"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        vic_http_resp *r = get(f, refused[i]);
        if (vic_http_resp_status(r) < 400)
            fail_msg("GET %s answered %d", refused[i], vic_http_resp_status(r));
        assert_null(strstr(vic_http_resp_body(r, NULL), "outside"));
        vic_http_resp_free(r);
    }
    /* only GET (and HEAD) */
    vic_http_req *req = vic_http_req_new("POST", "/ui/app.js");
    vic_http_resp *resp = vic_http_resp_new();
    vic_http_dispatch(f->router, req, resp);
    assert_int_equal(vic_http_resp_status(resp), 405);
    vic_http_req_free(req);
    vic_http_resp_free(resp);
}

static void test_ui_missing_directory(void **state)
{
    fixture *f = *state;
    f->w.opt.ui_dir = "/nonexistent/vic-ui";
    vic_http_resp *r = get(f, "/");
    assert_int_equal(vic_http_resp_status(r), 404);
    assert_non_null(strstr(vic_http_resp_body(r, NULL), "not installed"));
    vic_http_resp_free(r);
}

static void test_ui_content_types(void **state)
{
    (void)state;
    assert_string_equal(ws_ui_content_type("a.js"), "text/javascript; charset=utf-8");
    assert_string_equal(ws_ui_content_type("a.min.css"), "text/css; charset=utf-8");
    assert_string_equal(ws_ui_content_type("x.svg"), "image/svg+xml");
    assert_null(ws_ui_content_type("a.sh"));
    assert_null(ws_ui_content_type("Makefile"));
    assert_null(ws_ui_content_type("a.JS"));
    cleanup_free char *d = ws_ui_dir_default(NULL, "/opt/vic/bin");
    assert_string_equal(d, "/opt/vic/bin/ui");
    cleanup_free char *e = ws_ui_dir_default("/srv/ui", "/opt/vic/bin");
    assert_string_equal(e, "/srv/ui");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ui_pages_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ui_refuses_traversal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ui_missing_directory, setup, teardown),
        cmocka_unit_test(test_ui_content_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
