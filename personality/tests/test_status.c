/* The statuses of the Docker endpoint: the port layer's errors turned into Docker Engine's
 * (engine_docker_code and engine_docker_err, one table), and the routes a VCH does not serve
 * answered as an Engine without the feature answers them. The port layer is an address
 * nothing serves, so a request that reaches it fails as a port layer that is down does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "personality/engine.h"
#include "personality/tests/route_fixture.h"
#include "personality/unserved.h"

/* Every code the port layer can answer with, for each kind of request: the status Docker
 * Engine gives. 404 only for a named container, image, network, volume or exec instance. */
static void test_status_table(void **state)
{
    (void)state;
    enum { NONE, NAMED };
    static const struct {
        int code;
        int status[2]; /* for ENGINE_OBJ_NONE, for a named object */
    } table[] = {
        {VIC_ENOTFOUND, {400, 404}},     {VIC_ECONFLICT, {409, 409}},
        {VIC_EINVAL, {400, 400}},        {VIC_ETOOBIG, {400, 400}},
        {VIC_EMEDIATYPE, {400, 400}},    {VIC_EUNSUPPORTED, {501, 501}},
        {VIC_EAUTH, {500, 500}},         {VIC_EFORBIDDEN, {500, 500}},
        {VIC_EMETHOD, {500, 500}},       {VIC_ELIMIT, {500, 500}},
        {VIC_EINTERNAL, {500, 500}},     {VIC_EIO, {500, 500}},
        {VIC_ECORRUPT, {500, 500}},      {VIC_EUPSTREAM, {500, 500}},
        {VIC_EUNAVAIL, {500, 500}},      {VIC_ETIMEOUT, {500, 500}},
        {-99 /* unknown */, {500, 500}},
    };
    static const engine_obj named[] = {ENGINE_OBJ_CONTAINER, ENGINE_OBJ_IMAGE, ENGINE_OBJ_NETWORK,
                                       ENGINE_OBJ_VOLUME, ENGINE_OBJ_EXEC};
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        int none = vic_err_http_status(engine_docker_code(table[i].code, ENGINE_OBJ_NONE));
        if (none != table[i].status[NONE])
            fail_msg("%s, no object: %d, want %d", vic_err_code_name(table[i].code), none,
                     table[i].status[NONE]);
        for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
            int s = vic_err_http_status(engine_docker_code(table[i].code, named[k]));
            if (s != table[i].status[NAMED])
                fail_msg("%s, object %zu: %d, want %d", vic_err_code_name(table[i].code), k, s,
                         table[i].status[NAMED]);
        }
    }
    assert_int_equal(engine_docker_code(VIC_OK, ENGINE_OBJ_NONE), VIC_OK);
}

/* A 404 about the named object gets Docker's message for it; other errors keep theirs. */
static void test_status_messages(void **state)
{
    (void)state;
    static const struct {
        engine_obj obj;
        const char *want;
    } shapes[] = {
        {ENGINE_OBJ_CONTAINER, "No such container: x1"},
        {ENGINE_OBJ_IMAGE, "No such image: x1"},
        {ENGINE_OBJ_NETWORK, "network x1 not found"},
        {ENGINE_OBJ_VOLUME, "get x1: no such volume"},
        {ENGINE_OBJ_EXEC, "No such exec instance: x1"},
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        vic_err *e cleanup_err = NULL;
        vic_err_set(&e, VIC_ENOTFOUND, "the port layer: GET /x: gone");
        assert_int_equal(engine_docker_err(VIC_ENOTFOUND, shapes[i].obj, "x1", &e), VIC_ENOTFOUND);
        assert_string_equal(e->msg, shapes[i].want);
    }
    /* without a name the port layer's message stays (it says what is missing) */
    vic_err *e cleanup_err = NULL;
    vic_err_set(&e, VIC_ENOTFOUND, "Could not find the file /nope in container c");
    assert_int_equal(engine_docker_err(VIC_ENOTFOUND, ENGINE_OBJ_CONTAINER, NULL, &e),
                     VIC_ENOTFOUND);
    assert_string_equal(e->msg, "Could not find the file /nope in container c");
    /* a missing volume store at create: a bad parameter with the port layer's words */
    vic_err_set(&e, VIC_ENOTFOUND, "volume v: No volume store named (default) exists");
    assert_int_equal(engine_docker_err(VIC_ENOTFOUND, ENGINE_OBJ_NONE, "ignored", &e), VIC_EINVAL);
    assert_string_equal(e->msg, "volume v: No volume store named (default) exists");
    /* a conflict is never renamed, even with a name */
    vic_err_set(&e, VIC_ECONFLICT, "remove v: volume is in use - [c]");
    assert_int_equal(engine_docker_err(VIC_ECONFLICT, ENGINE_OBJ_VOLUME, "v", &e), VIC_ECONFLICT);
    assert_string_equal(e->msg, "remove v: volume is in use - [c]");
    /* the port layer down: 500, the message naming it */
    vic_err_set(&e, VIC_EUPSTREAM, "the port layer: connection refused");
    assert_int_equal(engine_docker_err(VIC_EUPSTREAM, ENGINE_OBJ_CONTAINER, "x", &e),
                     VIC_EINTERNAL);
    assert_string_equal(e->msg, "the port layer: connection refused");
    /* an error without a message still gets one */
    vic_err *none cleanup_err = NULL;
    assert_int_equal(engine_docker_err(VIC_ETIMEOUT, ENGINE_OBJ_NONE, NULL, &none), VIC_EINTERNAL);
    assert_non_null(none);
    assert_int_equal(none->code, VIC_EINTERNAL);
    assert_int_equal(engine_docker_err(VIC_ENOTFOUND, ENGINE_OBJ_IMAGE, "x", NULL), VIC_ENOTFOUND);
}

static int call_body(fixture *f, const char *method, const char *path, const char *body, char *msg,
                     size_t cap)
{
    return route_call(f, method, path, body, NULL, msg, cap);
}

static int call(fixture *f, const char *method, const char *path, char *msg, size_t cap)
{
    return route_call(f, method, path, NULL, NULL, msg, cap);
}

/* Swarm routes: the answers of an Engine outside any swarm, with or without an API version. */
static void test_status_swarm_routes(void **state)
{
    fixture *f = *state;
    char m[512];
    static const char *const manager[][2] = {
        {"GET", "/swarm"},
        {"POST", "/swarm/update"},
        {"GET", "/swarm/unlockkey"},
        {"POST", "/swarm/unlock"},
        {"GET", "/nodes"},
        {"GET", "/v1.41/nodes/abc"},
        {"DELETE", "/nodes/abc"},
        {"POST", "/nodes/abc/update"},
        {"GET", "/v1.41/services"},
        {"POST", "/services/create"},
        {"GET", "/services/abc"},
        {"DELETE", "/services/abc"},
        {"POST", "/services/abc/update"},
        {"GET", "/services/abc/logs"},
        {"GET", "/tasks"},
        {"GET", "/tasks/abc"},
        {"GET", "/tasks/abc/logs"},
        {"GET", "/v1.41/secrets"},
        {"POST", "/secrets/create"},
        {"GET", "/secrets/abc"},
        {"DELETE", "/secrets/abc"},
        {"POST", "/secrets/abc/update"},
        {"GET", "/configs"},
        {"POST", "/configs/create"},
        {"GET", "/configs/abc"},
        {"DELETE", "/configs/abc"},
        {"POST", "/configs/abc/update"},
    };
    for (size_t i = 0; i < sizeof(manager) / sizeof(manager[0]); i++) {
        int s = call(f, manager[i][0], manager[i][1], m, sizeof(m));
        if (s != 503 || strcmp(m, ENGINE_NO_SWARM_MANAGER) != 0)
            fail_msg("%s %s: %d %s", manager[i][0], manager[i][1], s, m);
    }
    assert_int_equal(call(f, "POST", "/v1.41/swarm/leave", m, sizeof(m)), 503);
    assert_string_equal(m, "This node is not part of a swarm");
    assert_int_equal(call(f, "POST", "/swarm/init", m, sizeof(m)), 501);
    assert_string_equal(m, "swarm mode is not supported by a VCH: it cannot start or join a swarm");
    assert_int_equal(call(f, "POST", "/swarm/join", m, sizeof(m)), 501);
}

/* Plugins: none installed, none to be had; build and its BuildKit routes refused with why. */
static void test_status_plugin_and_build_routes(void **state)
{
    fixture *f = *state;
    char m[512];
    assert_int_equal(call(f, "GET", "/v1.41/plugins", m, sizeof(m)), 200);
    assert_string_equal(m, "[]");
    assert_int_equal(call(f, "GET", "/plugins/vieux/sshfs:latest/json", m, sizeof(m)), 404);
    assert_string_equal(m, "plugin \"vieux/sshfs:latest\" not found");
    assert_int_equal(call(f, "POST", "/v1.41/plugins/x/enable", m, sizeof(m)), 404);
    assert_string_equal(m, "plugin \"x\" not found");
    assert_int_equal(call(f, "DELETE", "/plugins/reg:5000/a/b", m, sizeof(m)), 404);
    assert_string_equal(m, "plugin \"reg:5000/a/b\" not found");
    assert_int_equal(call(f, "POST", "/plugins/pull", m, sizeof(m)), 501);
    assert_string_equal(m, "plugins are not supported by a VCH: its volume stores and networks are "
                           "built in");
    assert_int_equal(call(f, "GET", "/plugins/privileges", m, sizeof(m)), 501);
    static const char build[] = "docker build is not supported by a VCH: build on a Docker host, "
                                "push the image to a registry, and run it here";
    static const char *const builds[][2] = {{"POST", "/build"}, {"POST", "/v1.41/session"}};
    for (size_t i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
        assert_int_equal(call(f, builds[i][0], builds[i][1], m, sizeof(m)), 501);
        assert_string_equal(m, build);
    }
    assert_int_equal(call(f, "GET", "/distribution/reg:5000/a/b:1/json", m, sizeof(m)), 501);
    assert_non_null(strstr(m, "GET /distribution/NAME/json"));
}

/* What Docker does not route either: its 404 "page not found", for a wrong method as well. */
static void test_status_unknown_routes(void **state)
{
    fixture *f = *state;
    char m[512];
    static const char *const unknown[][2] = {
        {"GET", "/nosuch"},
        {"GET", "/v1.41/nosuch/route"},
        {"GET", "/containers/abc/nosuch"},
        {"GET", "/containers/a/b/json"},
        {"PUT", "/containers/abc/start"}, /* a known path, the wrong method */
        {"DELETE", "/_ping"},
        {"POST", "/swarm"},
        {"GET", "/images/busybox/nosuch"},
        {"GET", "/"},
    };
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        int s = call(f, unknown[i][0], unknown[i][1], m, sizeof(m));
        if (s != 404 || strcmp(m, "page not found") != 0)
            fail_msg("%s %s: %d %s", unknown[i][0], unknown[i][1], s, m);
    }
    /* HEAD is served by GET routes */
    assert_int_equal(call(f, "HEAD", "/_ping", m, sizeof(m)), 200);
}

/* Bad create parameters: 400 with Docker's message, before the port layer is asked (which,
 * being down here, would answer 500). */
static void test_status_bad_create_parameters(void **state)
{
    fixture *f = *state;
    char m[512];
    static const struct {
        const char *host, *want;
    } bad[] = {
        {"{\"RestartPolicy\": {\"Name\": \"bogus\"}}", "invalid restart policy 'bogus'"},
        {"{\"RestartPolicy\": {\"Name\": \"always\", \"MaximumRetryCount\": 2}}",
         "maximum retry count cannot be used with restart policy 'always'"},
        {"{\"RestartPolicy\": {\"Name\": \"on-failure\", \"MaximumRetryCount\": -1}}",
         "maximum retry count cannot be negative"},
        {"{\"RestartPolicy\": \"always\"}", "invalid RestartPolicy: an object"},
        {"{\"Memory\": -1}", "Minimum memory limit allowed is 6MB"},
        {"{\"Memory\": 1048576}", "Minimum memory limit allowed is 6MB"},
        {"{\"Memory\": \"1g\"}", "invalid Memory: a number of bytes"},
        {"{\"MemoryReservation\": -5}", "Minimum memory reservation allowed is 6MB"},
        {"{\"PortBindings\": {\"abc/tcp\": [{\"HostPort\": \"80\"}]}}",
         "invalid port specification: \"abc/tcp\""},
        {"[]", "invalid HostConfig: an object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[512];
        snprintf(body, sizeof(body), "{\"Image\": \"busybox\", \"HostConfig\": %s}", bad[i].host);
        int s = call_body(f, "POST", "/v1.41/containers/create", body, m, sizeof(m));
        if (s != 400 || strcmp(m, bad[i].want) != 0)
            fail_msg("%s: %d %s, want 400 %s", bad[i].host, s, m, bad[i].want);
    }
    /* what passes the checks goes on to the port layer (down: 500) */
    static const char *const good[] = {
        "{\"RestartPolicy\": {\"Name\": \"\"}}",
        "{\"RestartPolicy\": {\"Name\": \"no\", \"MaximumRetryCount\": 0}}",
        "{\"RestartPolicy\": {\"Name\": \"on-failure\", \"MaximumRetryCount\": 5}}",
        "{\"RestartPolicy\": {\"Name\": \"unless-stopped\"}, \"Memory\": 0}",
        "{\"Memory\": 6291456, \"MemoryReservation\": null}",
        "null",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char body[512];
        snprintf(body, sizeof(body), "{\"Image\": \"busybox\", \"HostConfig\": %s}", good[i]);
        int s = call_body(f, "POST", "/v1.41/containers/create", body, m, sizeof(m));
        if (s != 500)
            fail_msg("%s: %d %s, want the port layer's 500", good[i], s, m);
    }
}

/* A request that reaches a port layer that is down: 500 naming it, never a 502 or a 404. */
static void test_status_port_layer_down(void **state)
{
    fixture *f = *state;
    char m[512];
    static const char *const paths[][2] = {
        {"GET", "/containers/abc/json"},
        {"GET", "/containers/json"},
        {"GET", "/images/busybox/json"},
        {"GET", "/networks/abc"},
        {"GET", "/volumes/abc"},
        {"DELETE", "/containers/abc"},
        {"GET", "/info"},
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        int s = call(f, paths[i][0], paths[i][1], m, sizeof(m));
        if (s != 500 || strstr(m, "port layer") == NULL)
            fail_msg("%s %s: %d %s", paths[i][0], paths[i][1], s, m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_status_messages),
        cmocka_unit_test_setup_teardown(test_status_swarm_routes, route_fixture_setup,
                                        route_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_status_plugin_and_build_routes, route_fixture_setup,
                                        route_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_status_unknown_routes, route_fixture_setup,
                                        route_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_status_bad_create_parameters, route_fixture_setup,
                                        route_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_status_port_layer_down, route_fixture_setup,
                                        route_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
