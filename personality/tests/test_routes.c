/* The Docker API's routing and the answers given before the port layer is asked (the API
 * version, image names in paths, what a VCH does not do, the stream routes' checks), through
 * the route table with vic_http_dispatch. The port layer is an address nothing serves: a test
 * that reached it would get a 502, not the answer it asserts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "personality/images.h"
#include "personality/tests/route_fixture.h"

static void test_api_versions(void **state)
{
    fixture *f = *state;
    char m[512];
    assert_int_equal(route_call(f, "GET", "/v1.41/_ping", NULL, NULL, m, sizeof(m)), 200);
    assert_string_equal(m, "OK");
    assert_int_equal(route_call(f, "GET", "/v1.19/_ping", NULL, NULL, m, sizeof(m)), 200);
    assert_int_equal(route_call(f, "GET", "/_ping", NULL, NULL, m, sizeof(m)), 200);
    assert_int_equal(route_call(f, "GET", "/v1.42/_ping", NULL, NULL, m, sizeof(m)), 400);
    assert_string_equal(m, "client version 1.42 is too new. Maximum supported API version is 1.41");
    assert_int_equal(route_call(f, "GET", "/v1.18/_ping", NULL, NULL, m, sizeof(m)), 400);
    assert_string_equal(m, "client version 1.18 is too old. Minimum supported API version is "
                           "1.19, please upgrade your client to a newer version");
    assert_int_equal(route_call(f, "GET", "/v1.x/_ping", NULL, NULL, m, sizeof(m)), 400);
    assert_string_equal(m, "malformed API version 1.x");
}

static void test_version_names_the_api(void **state)
{
    fixture *f = *state;
    vic_http_req *req = vic_http_req_new("GET", "/version");
    vic_http_resp *resp = vic_http_resp_new();
    vic_http_dispatch(f->router, req, resp);
    assert_int_equal(vic_http_resp_status(resp), 200);
    assert_string_equal(vic_http_resp_get_header(resp, "Api-Version"), "1.41");
    size_t len = 0;
    const char *text = vic_http_resp_body(resp, &len);
    json_t *j cleanup_json = NULL;
    assert_int_equal(vic_json_parse(&j, text, len, 1 << 20, NULL), 0);
    assert_string_equal(vic_json_str(j, "Version"), "v-test");
    assert_string_equal(vic_json_str(j, "MinAPIVersion"), "1.19");
    vic_http_resp_free(resp);
    vic_http_req_free(req);
}

/* Image names carry slashes: the paths that name one become routes with a name argument. */
static void test_image_paths_are_rewritten(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *to, *name;
    } cases[] = {
        {"DELETE", "/images/127.0.0.1:5000/busybox:latest", "/images/rmi",
         "127.0.0.1:5000/busybox:latest"},
        {"GET", "/images/library/busybox/json", "/images/inspect", "library/busybox"},
        {"GET", "/images/busybox@sha256:ab/history", "/images/history", "busybox@sha256:ab"},
        {"POST", "/images/reg:5000/x/tag", "/images/tag", "reg:5000/x"},
        {"GET", "/images/json", "/images/json", NULL}, /* the list stays */
        {"POST", "/images/create", "/images/create", NULL},
        {"GET", "/containers/x/json", "/containers/x/json", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vic_http_req *req = vic_http_req_new(cases[i].method, cases[i].path);
        engine_images_rewrite(req);
        assert_string_equal(vic_http_req_path(req), cases[i].to);
        if (cases[i].name)
            assert_string_equal(vic_http_req_query(req, "name"), cases[i].name);
        else
            assert_null(vic_http_req_query(req, "name"));
        vic_http_req_free(req);
    }
    char *f = engine_image_familiar("docker.io/library/busybox:latest");
    assert_string_equal(f, "busybox:latest");
    free(f);
    f = engine_image_familiar("docker.io/bitnami/redis:7");
    assert_string_equal(f, "bitnami/redis:7");
    free(f);
    f = engine_image_familiar("127.0.0.1:5000/busybox");
    assert_string_equal(f, "127.0.0.1:5000/busybox");
    free(f);
    f = engine_url_escape("reg:5000/a b@sha256");
    assert_string_equal(f, "reg%3A5000%2Fa%20b%40sha256");
    free(f);
}

/* What a VCH does not do: 501 with the reason, never a 404. */
static void test_unsupported_routes_say_why(void **state)
{
    fixture *f = *state;
    char m[512];
    assert_int_equal(route_call(f, "POST", "/build", NULL, NULL, m, sizeof(m)), 501);
    assert_string_equal(m, "docker build is not supported by a VCH: build on a Docker host, push "
                           "the image to a registry, and run it here");
    assert_int_equal(route_call(f, "POST", "/images/create?fromSrc=-", NULL, NULL, m, sizeof(m)),
                     501);
    assert_string_equal(m, "docker import is not supported by a VCH");
    assert_int_equal(route_call(f, "POST", "/images/create", NULL, NULL, m, sizeof(m)), 400);
    assert_string_equal(m, "fromImage: is required");
    /* docker ps takes Docker's filters; another name is Docker's 400 */
    assert_int_equal(route_call(f, "GET", "/containers/json?filters={\"bogus\":[\"a\"]}", NULL,
                                NULL, m, sizeof(m)),
                     400);
    assert_string_equal(m, "invalid filter 'bogus'");
}

/* The container routes' own checks come before the port layer is asked. */
static void test_container_requests_checked_first(void **state)
{
    fixture *f = *state;
    char m[512];
    assert_int_equal(
        route_call(f, "POST", "/containers/create", "{\"Image\": \"\"}", NULL, m, sizeof(m)), 400);
    assert_string_equal(m, "No image specified: a VCH runs an image pulled from a registry");
    assert_int_equal(
        route_call(f, "POST", "/containers/abc/kill?signal=K;ILL", NULL, NULL, m, sizeof(m)), 400);
    assert_string_equal(m, "invalid signal: K;ILL");
    assert_int_equal(
        route_call(f, "POST", "/containers/abc/rename?name=a/b", NULL, NULL, m, sizeof(m)), 400);
    assert_string_equal(m, "Invalid container name (a/b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                           "allowed");
    assert_int_equal(route_call(f, "POST", "/containers/abc/rename", NULL, NULL, m, sizeof(m)),
                     400);
    assert_string_equal(m, "a new name is required");
    assert_int_equal(route_call(f, "GET", "/containers/abc/logs", NULL, NULL, m, sizeof(m)), 400);
    assert_string_equal(m, "Bad parameters: you must choose at least one stream");
    assert_int_equal(
        route_call(f, "GET", "/containers/abc/logs?stderr=1&since=xyz", NULL, NULL, m, sizeof(m)),
        400);
    assert_string_equal(m, "since: \"xyz\" is not a Unix timestamp (SECONDS[.FRACTION])");
    assert_int_equal(route_call(f, "GET", "/containers/a%20b/json", NULL, NULL, m, sizeof(m)), 404);
}

/* attach and exec share their stream's checks and messages. */
static void test_stream_routes_checked_first(void **state)
{
    fixture *f = *state;
    char m[512];
    assert_int_equal(
        route_call(f, "POST", "/containers/abc/attach?stream=1", NULL, NULL, m, sizeof(m)), 501);
    assert_string_equal(m, "attach needs a client that upgrades the connection (Upgrade: tcp, "
                           "Connection: Upgrade): use a newer docker CLI");
    assert_int_equal(route_call(f, "POST", "/exec/abc/start", "{}", NULL, m, sizeof(m)), 501);
    assert_string_equal(m, "an attached exec needs a client that upgrades the connection "
                           "(Upgrade: tcp, Connection: Upgrade): use a newer docker CLI");
    /* upgrading, or detached: then the instance must exist */
    assert_int_equal(route_call(f, "POST", "/exec/abc/start", "{}", "Upgrade", m, sizeof(m)), 404);
    assert_string_equal(m, "No such exec instance: abc");
    assert_int_equal(
        route_call(f, "POST", "/exec/abc/start", "{\"Detach\": true}", NULL, m, sizeof(m)), 404);
    assert_string_equal(m, "No such exec instance: abc");
    assert_int_equal(route_call(f, "GET", "/exec/abc/json", NULL, NULL, m, sizeof(m)), 404);

    static const char *const sizes[] = {"", "?h=0&w=80", "?h=24", "?h=24&w=65536", "?h=-1&w=80"};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char p[64];
        snprintf(p, sizeof(p), "/containers/abc/resize%s", sizes[i]);
        assert_int_equal(route_call(f, "POST", p, NULL, NULL, m, sizeof(m)), 400);
        assert_string_equal(m, "h and w must be terminal sizes (1 to 65535)");
        snprintf(p, sizeof(p), "/exec/abc/resize%s", sizes[i]);
        assert_int_equal(route_call(f, "POST", p, NULL, NULL, m, sizeof(m)), 400);
        assert_string_equal(m, "h and w must be terminal sizes (1 to 65535)");
    }
    assert_int_equal(route_call(f, "POST", "/exec/abc/resize?h=24&w=80", NULL, NULL, m, sizeof(m)),
                     404);
    assert_string_equal(m, "No such exec instance: abc");

    assert_int_equal(
        route_call(f, "POST", "/containers/abc/exec", "{\"Cmd\": []}", NULL, m, sizeof(m)), 400);
    assert_string_equal(m, "No exec command specified");
    assert_int_equal(route_call(f, "POST", "/containers/abc/exec",
                                "{\"Cmd\": [\"sh\"], \"Env\": [1]}", NULL, m, sizeof(m)),
                     400);
    assert_string_equal(m, "Env[0]: must be a string");
    assert_int_equal(route_call(f, "POST", "/containers/abc/exec",
                                "{\"Cmd\": [\"sh\"], \"Privileged\": true}", NULL, m, sizeof(m)),
                     501);
    assert_string_equal(m, "exec --privileged is not supported: each container of a VCH is its "
                           "own VM");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_versions, route_fixture_setup,
                                        route_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_version_names_the_api, route_fixture_setup,
                                        route_fixture_teardown),
        cmocka_unit_test(test_image_paths_are_rewritten),
        cmocka_unit_test_setup_teardown(test_unsupported_routes_say_why, route_fixture_setup,
                                        route_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_container_requests_checked_first, route_fixture_setup,
                                        route_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_stream_routes_checked_first, route_fixture_setup,
                                        route_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
