#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/mem.h"
#include "lib/version.h"
#include "webservice/auth.h"
#include "webservice/home.h"
#include "webservice/service.h"

/* ---- the route table and openapi.json stay in step ---- */

static void test_openapi_documents_every_route(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    if (vic_http_routes_check_openapi(ws_routes, ws_n_routes, vic_openapi_json, &err) < 0)
        fail_msg("openapi.json: %s", err->msg);
}

/* ---- handlers through the router, with a real store and a fake clock ---- */

static time_t fake_time = 1700000000;
static time_t fake_now(void)
{
    return fake_time;
}

typedef struct fixture {
    char home[64];
    ws *w;
    vic_http_router *router;
} fixture;

static int setup(void **state)
{
    fixture *f = xzalloc(sizeof(*f));
    snprintf(f->home, sizeof(f->home), "/tmp/vic-test-ws-XXXXXX");
    assert_non_null(mkdtemp(f->home));
    setenv("VIC_ADMIN_PASSWORD", "correct horse battery", 1);
    ws_options opt = {.home = f->home,
                      .listen = "127.0.0.1:0",
                      .no_tls = 1,
                      .session_idle = 600,
                      .session_absolute = 3600};
    char *pw = NULL;
    vic_err *err cleanup_err = NULL;
    if (ws_open(&f->w, &opt, &err) < 0 || ws_ensure_admin(f->w, &pw, &err) < 0)
        fail_msg("ws_open: %s", err->msg);
    assert_null(pw); /* the password came from the environment: nothing to show */
    f->w->now = fake_now;
    assert_int_equal(
        vic_http_router_new(&f->router, ws_routes, ws_n_routes, ws_authenticate, f->w, 4096, &err),
        0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    vic_http_router_free(f->router);
    ws_free(f->w);
    char *cmd = xasprintf("rm -rf '%s'", f->home);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}

static vic_http_resp *call(fixture *f, const char *method, const char *path, const char *body,
                           const char *const *headers)
{
    vic_http_req *req = vic_http_req_new(method, path);
    vic_http_req_set_remote(req, "127.0.0.9");
    if (body) {
        vic_http_req_add_header(req, "Content-Type", "application/json");
        vic_http_req_set_body(req, body, strlen(body));
    }
    for (; headers && *headers; headers += 2)
        vic_http_req_add_header(req, headers[0], headers[1]);
    vic_http_resp *resp = vic_http_resp_new();
    vic_http_dispatch(f->router, req, resp);
    vic_http_req_free(req);
    return resp;
}

static const char *message(vic_http_resp *resp, char *buf, size_t cap)
{
    json_t *j cleanup_json = json_loads(vic_http_resp_body(resp, NULL), 0, NULL);
    snprintf(buf, cap, "%s", json_string_value(json_object_get(j, "message")));
    return buf;
}

static void test_webservice_version_is_public(void **state)
{
    fixture *f = *state;
    vic_http_resp *r = call(f, "GET", "/container/version", NULL, NULL);
    assert_int_equal(vic_http_resp_status(r), 200);
    assert_string_equal(vic_http_resp_body(r, NULL), vic_version());
    vic_http_resp_free(r);
    r = call(f, "GET", "/container/openapi.json", NULL, NULL);
    assert_int_equal(vic_http_resp_status(r), 401);
    vic_http_resp_free(r);
}

static void test_webservice_basic_auth(void **state)
{
    fixture *f = *state;
    char *good = vic_base64_encode("admin:correct horse battery", 27);
    char *hdr = xasprintf("Basic %s", good);
    const char *h[] = {"Authorization", hdr, NULL};
    vic_http_resp *r = call(f, "GET", "/container/session", NULL, h);
    assert_int_equal(vic_http_resp_status(r), 200);
    assert_non_null(strstr(vic_http_resp_body(r, NULL), "\"user\":\"admin\""));
    vic_http_resp_free(r);
    /* cached verification still refuses a different password */
    char *bad = vic_base64_encode("admin:correct horse batterx", 27);
    char *badhdr = xasprintf("Basic %s", bad);
    const char *hb[] = {"Authorization", badhdr, NULL};
    r = call(f, "GET", "/container/session", NULL, hb);
    assert_int_equal(vic_http_resp_status(r), 401);
    vic_http_resp_free(r);
    const char *hm[] = {"Authorization", "Basic !!!", NULL};
    r = call(f, "GET", "/container/session", NULL, hm);
    assert_int_equal(vic_http_resp_status(r), 401);
    vic_http_resp_free(r);
    free(good);
    free(hdr);
    free(bad);
    free(badhdr);
}

static char *cookie_of(vic_http_resp *r)
{
    const char *sc = vic_http_resp_get_header(r, "Set-Cookie");
    assert_non_null(sc);
    assert_non_null(strstr(sc, "HttpOnly"));
    assert_non_null(strstr(sc, "SameSite=Strict"));
    return xstrndup(sc, strcspn(sc, ";"));
}

static void test_webservice_session_lifecycle(void **state)
{
    fixture *f = *state;
    char msg[256];
    vic_http_resp *r =
        call(f, "POST", "/container/login",
             "{\"username\":\"admin\",\"password\":\"correct horse battery\"}", NULL);
    assert_int_equal(vic_http_resp_status(r), 200);
    char *cookie = cookie_of(r);
    json_t *j = json_loads(vic_http_resp_body(r, NULL), 0, NULL);
    char *csrf = xstrdup(json_string_value(json_object_get(j, "csrf_token")));
    json_decref(j);
    vic_http_resp_free(r);

    const char *hc[] = {"Cookie", cookie, NULL};
    r = call(f, "GET", "/container/session", NULL, hc);
    assert_int_equal(vic_http_resp_status(r), 200);
    assert_non_null(strstr(vic_http_resp_body(r, NULL), csrf));
    vic_http_resp_free(r);

    /* state change without the CSRF token is refused */
    r = call(f, "POST", "/container/logout", NULL, hc);
    assert_int_equal(vic_http_resp_status(r), 403);
    assert_non_null(strstr(message(r, msg, sizeof(msg)), "X-CSRF-Token"));
    vic_http_resp_free(r);

    /* idle expiry: 11 minutes later the session is gone */
    fake_time += 660;
    r = call(f, "GET", "/container/session", NULL, hc);
    assert_int_equal(vic_http_resp_status(r), 401);
    vic_http_resp_free(r);
    free(cookie);
    free(csrf);

    /* a fresh session, then logout with the token, then the cookie is dead */
    r = call(f, "POST", "/container/login",
             "{\"username\":\"admin\",\"password\":\"correct horse battery\"}", NULL);
    cookie = cookie_of(r);
    j = json_loads(vic_http_resp_body(r, NULL), 0, NULL);
    csrf = xstrdup(json_string_value(json_object_get(j, "csrf_token")));
    json_decref(j);
    vic_http_resp_free(r);
    const char *hl[] = {"Cookie", cookie, "X-CSRF-Token", csrf, NULL};
    r = call(f, "POST", "/container/logout", NULL, hl);
    assert_int_equal(vic_http_resp_status(r), 204);
    assert_non_null(strstr(vic_http_resp_get_header(r, "Set-Cookie"), "Max-Age=0"));
    vic_http_resp_free(r);
    const char *hc2[] = {"Cookie", cookie, NULL};
    r = call(f, "GET", "/container/session", NULL, hc2);
    assert_int_equal(vic_http_resp_status(r), 401);
    vic_http_resp_free(r);
    free(cookie);
    free(csrf);
}

static void test_webservice_session_absolute_expiry(void **state)
{
    fixture *f = *state;
    vic_http_resp *r =
        call(f, "POST", "/container/login",
             "{\"username\":\"admin\",\"password\":\"correct horse battery\"}", NULL);
    char *cookie = cookie_of(r);
    vic_http_resp_free(r);
    const char *hc[] = {"Cookie", cookie, NULL};
    /* used every 5 minutes, it stays alive until the absolute limit of an hour */
    for (int i = 0; i < 11; i++) {
        fake_time += 300;
        r = call(f, "GET", "/container/session", NULL, hc);
        assert_int_equal(vic_http_resp_status(r), 200);
        vic_http_resp_free(r);
    }
    fake_time += 300;
    r = call(f, "GET", "/container/session", NULL, hc);
    assert_int_equal(vic_http_resp_status(r), 401);
    vic_http_resp_free(r);
    free(cookie);
}

static void test_webservice_login_validation_and_throttle(void **state)
{
    fixture *f = *state;
    char msg[256];
    vic_http_resp *r = call(f, "POST", "/container/login", "{\"username\":\"admin\"}", NULL);
    assert_int_equal(vic_http_resp_status(r), 400);
    assert_string_equal(message(r, msg, sizeof(msg)), "password: is required");
    vic_http_resp_free(r);
    r = call(f, "POST", "/container/login",
             "{\"username\":\"admin\",\"password\":\"x\",\"admin\":true}", NULL);
    assert_int_equal(vic_http_resp_status(r), 400);
    assert_string_equal(message(r, msg, sizeof(msg)), "admin: unknown field");
    vic_http_resp_free(r);

    const char *bad_user = "{\"username\":\"nobody\",\"password\":\"wrong\"}";
    const char *bad_pw = "{\"username\":\"admin\",\"password\":\"wrong\"}";
    const char *right = "{\"username\":\"admin\",\"password\":\"correct horse battery\"}";
    char first[256] = "";
    r = call(f, "POST", "/container/login", bad_user, NULL);
    assert_int_equal(vic_http_resp_status(r), 401);
    snprintf(first, sizeof(first), "%s", message(r, msg, sizeof(msg)));
    vic_http_resp_free(r);
    for (int i = 0; i < WS_LOGIN_MAX_FAILURES; i++) {
        r = call(f, "POST", "/container/login", bad_pw, NULL);
        assert_int_equal(vic_http_resp_status(r), 401);
        /* the same words for a wrong user or password */
        assert_string_equal(message(r, msg, sizeof(msg)), first);
        vic_http_resp_free(r);
    }
    /* credentials never seen to work wait their turn like any guess */
    r = call(f, "POST", "/container/login", right, NULL);
    assert_int_equal(vic_http_resp_status(r), 429);
    assert_non_null(vic_http_resp_get_header(r, "Retry-After"));
    vic_http_resp_free(r);
    fake_time += 31;
    r = call(f, "POST", "/container/login", right, NULL);
    assert_int_equal(vic_http_resp_status(r), 200);
    vic_http_resp_free(r);
    /* once they have worked, more guesses never refuse them */
    for (int i = 0; i < WS_LOGIN_MAX_FAILURES + 2; i++)
        vic_http_resp_free(call(f, "POST", "/container/login", bad_pw, NULL));
    r = call(f, "POST", "/container/login", bad_pw, NULL);
    assert_int_equal(vic_http_resp_status(r), 429);
    vic_http_resp_free(r);
    r = call(f, "POST", "/container/login", right, NULL);
    assert_int_equal(vic_http_resp_status(r), 200);
    vic_http_resp_free(r);
}

static void test_webservice_cross_site_refused(void **state)
{
    fixture *f = *state;
    char *cred = vic_base64_encode("admin:correct horse battery", 27);
    char *hdr = xasprintf("Basic %s", cred);
    const char *h1[] = {"Authorization",  hdr, "Origin", "https://evil.example", "Host",
                        "127.0.0.1:8443", NULL};
    vic_http_resp *r = call(f, "POST", "/container/logout", NULL, h1);
    assert_int_equal(vic_http_resp_status(r), 403);
    vic_http_resp_free(r);
    const char *h2[] = {"Authorization", hdr, "Sec-Fetch-Site", "cross-site", NULL};
    r = call(f, "POST", "/container/logout", NULL, h2);
    assert_int_equal(vic_http_resp_status(r), 403);
    vic_http_resp_free(r);
    const char *h3[] = {"Authorization",  hdr, "Origin", "https://127.0.0.1:8443", "Host",
                        "127.0.0.1:8443", NULL};
    r = call(f, "POST", "/container/logout", NULL, h3);
    assert_int_equal(vic_http_resp_status(r), 204);
    vic_http_resp_free(r);
    free(cred);
    free(hdr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_documents_every_route),
        cmocka_unit_test_setup_teardown(test_webservice_version_is_public, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webservice_basic_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webservice_session_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webservice_session_absolute_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webservice_login_validation_and_throttle, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_webservice_cross_site_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
