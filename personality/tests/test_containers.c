/* The translations of personality/containers.c that need no port layer: a Docker create body
 * into the port layer's spec, docker ps's filters, and a port layer container record into ps's
 * summary and inspect's answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "personality/common.h"
#include "personality/containers.h"
#include "personality/inspect.h"

/* 2026-12-07T12:00:00Z */
#define NOW ((time_t)1796644800)

static json_t *parse(const char *text)
{
    json_t *j = NULL;
    assert_int_equal(vic_json_parse(&j, text, strlen(text), 1 << 20, NULL), 0);
    return j;
}

/* a and the JSON text b are equal (key order aside) */
static void assert_json(const json_t *a, const char *b)
{
    json_t *want cleanup_json = parse(b);
    if (!json_equal(a, want)) {
        char *got = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
        print_error("got  %s\nwant %s\n", got ? got : "(null)", b);
        free(got);
        fail();
    }
}

/* The spec for body (JSON text) and name; fails the test on an error. */
static json_t *spec_of(const char *body, const char *name)
{
    json_t *b cleanup_json = parse(body);
    json_t *out = NULL;
    vic_err *err = NULL;
    int rc = engine_container_spec(b, name, &out, &err);
    if (rc < 0)
        print_error("refused: %s\n", err ? err->msg : "?");
    assert_int_equal(rc, 0);
    assert_null(err);
    return out;
}

/* body is refused with code and exactly msg, and nothing is handed out. */
static void assert_refused(const char *body, int code, const char *msg)
{
    json_t *b cleanup_json = parse(body);
    json_t *out = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(engine_container_spec(b, NULL, &out, &err), code);
    assert_null(out);
    assert_non_null(err);
    assert_string_equal(err->msg, msg);
}

/* ---- create: a Docker body into the port layer's spec ---- */

static void test_spec_of_a_bare_image(void **state)
{
    (void)state;
    json_t *pc cleanup_json = spec_of("{\"Image\": \"busybox\"}", NULL);
    /* no cmd or entrypoint: the port layer completes them from the image */
    assert_json(pc, "{\"image\": \"busybox\", \"env\": [], \"tty\": false, \"interactive\": false,"
                    " \"networks\": [{\"name\": \"bridge\"}]}");
}

static void test_spec_carries_env_cmd_entrypoint_and_strings(void **state)
{
    (void)state;
    json_t *pc cleanup_json =
        spec_of("{\"Image\": \"alpine:3\", \"Env\": [\"A=1\", \"B=two words\"], \"Cmd\": [\"-c\", "
                "\"echo hi\"], \"Entrypoint\": [\"/bin/sh\"], \"Tty\": true, \"OpenStdin\": true, "
                "\"WorkingDir\": \"/srv\", \"User\": \"1000:1000\", \"Hostname\": \"web1\", "
                "\"StopSignal\": \"SIGQUIT\", \"Domainname\": \"ignored\"}",
                "/web");
    assert_json(pc, "{\"image\": \"alpine:3\", \"env\": [\"A=1\", \"B=two words\"], \"tty\": true,"
                    " \"interactive\": true, \"cmd\": [\"-c\", \"echo hi\"], \"entrypoint\": "
                    "[\"/bin/sh\"], \"name\": \"web\", \"workdir\": \"/srv\", \"user\": "
                    "\"1000:1000\", \"hostname\": \"web1\", \"stop_signal\": \"SIGQUIT\", "
                    "\"networks\": [{\"name\": \"bridge\"}]}");
}

/* What is not a list is left to the image (and to the port layer's own checks); empty
 * strings are as good as absent. */
static void test_spec_leaves_out_what_is_not_given_as_docker_gives_it(void **state)
{
    (void)state;
    json_t *pc cleanup_json =
        spec_of("{\"Image\": \"busybox\", \"Cmd\": \"echo hi\", \"Entrypoint\": null, \"Env\": "
                "\"A=1\", \"WorkingDir\": \"\", \"User\": \"\"}",
                "");
    assert_json(pc, "{\"image\": \"busybox\", \"env\": [], \"tty\": false, \"interactive\": false,"
                    " \"networks\": [{\"name\": \"bridge\"}]}");
}

static void test_spec_publishes_ports(void **state)
{
    (void)state;
    json_t *pc cleanup_json =
        spec_of("{\"Image\": \"nginx\", \"ExposedPorts\": {\"80/tcp\": {}, \"443/tcp\": {}}, "
                "\"HostConfig\": {\"PortBindings\": {\"80/tcp\": [{\"HostIp\": \"\", \"HostPort\": "
                "\"8080\"}]}}}",
                NULL);
    assert_json(json_object_get(pc, "ports"),
                "[{\"container_port\": 80, \"host_port\": 8080, \"protocol\": \"tcp\"}]");

    /* UDP: -p 5353:53/udp and -p 53/udp (a host port chosen), beside TCP on the same port */
    json_t *udp cleanup_json =
        spec_of("{\"Image\": \"busybox\", \"HostConfig\": {\"PortBindings\": {\"53/udp\": "
                "[{\"HostPort\": \"5353\"}, {\"HostPort\": \"\"}], \"53/tcp\": [{\"HostPort\": "
                "\"5353\"}]}}}",
                NULL);
    assert_json(json_object_get(udp, "ports"),
                "[{\"container_port\": 53, \"host_port\": 5353, \"protocol\": \"udp\"}, "
                "{\"container_port\": 53, \"host_port\": 0, \"protocol\": \"udp\"}, "
                "{\"container_port\": 53, \"host_port\": 5353, \"protocol\": \"tcp\"}]");

    /* -P: every exposed port not bound already, on a port the port layer picks */
    json_t *all cleanup_json =
        spec_of("{\"Image\": \"nginx\", \"ExposedPorts\": {\"80/tcp\": {}, \"443/tcp\": {}}, "
                "\"HostConfig\": {\"PublishAllPorts\": true, \"PortBindings\": {\"80/tcp\": "
                "[{\"HostPort\": \"8080\"}]}}}",
                NULL);
    json_t *ports = json_object_get(all, "ports");
    assert_int_equal(json_array_size(ports), 2);
    assert_json(json_array_get(ports, 0),
                "{\"container_port\": 80, \"host_port\": 8080, \"protocol\": \"tcp\"}");
    assert_json(json_array_get(ports, 1),
                "{\"container_port\": 443, \"host_port\": 0, \"protocol\": \"tcp\"}");
}

static void test_spec_mounts_named_volumes(void **state)
{
    (void)state;
    json_t *pc cleanup_json = spec_of(
        "{\"Image\": \"busybox\", \"Volumes\": {\"/cache\": {}, \"/data\": {}}, \"HostConfig\": "
        "{\"Binds\": [\"data:/data:ro\"], \"Mounts\": [{\"Type\": \"volume\", \"Source\": "
        "\"logs\", \"Target\": \"/var/log\"}]}}",
        NULL);
    /* Binds, then Mounts, then the image's volumes that nothing mounted (anonymous) */
    assert_json(json_object_get(pc, "mounts"),
                "[{\"volume\": \"data\", \"target\": \"/data\", \"read_only\": true}, "
                "{\"volume\": \"logs\", \"target\": \"/var/log\", \"read_only\": false}, "
                "{\"target\": \"/cache\", \"read_only\": false}]");
}

static void test_spec_resources_and_confinement(void **state)
{
    (void)state;
    json_t *pc cleanup_json = spec_of(
        "{\"Image\": \"busybox\", \"HostConfig\": {\"Memory\": 268435456, \"CapAdd\": "
        "[\"NET_ADMIN\"], \"CapDrop\": [\"MKNOD\"], \"SecurityOpt\": [\"no-new-privileges\"], "
        "\"NanoCpus\": 2000000000}}",
        NULL);
    assert_int_equal(json_integer_value(json_object_get(pc, "memory_mb")), 256);
    assert_json(json_object_get(pc, "cap_add"), "[\"NET_ADMIN\"]");
    assert_json(json_object_get(pc, "cap_drop"), "[\"MKNOD\"]");
    assert_json(json_object_get(pc, "security_opt"), "[\"no-new-privileges\"]");
    assert_int_equal(json_integer_value(json_object_get(pc, "cpus")), 2); /* --cpus 2: vCPUs */

    /* less than a MiB still asks for a little memory; none (0) leaves the default */
    json_t *tiny cleanup_json =
        spec_of("{\"Image\": \"busybox\", \"HostConfig\": {\"Memory\": 1000}}", NULL);
    assert_int_equal(json_integer_value(json_object_get(tiny, "memory_mb")), 4);
    json_t *none cleanup_json =
        spec_of("{\"Image\": \"busybox\", \"HostConfig\": {\"Memory\": 0}}", NULL);
    assert_null(json_object_get(none, "memory_mb"));
}

/* Labels are not the port layer's: they go with the record (inspect.h), not as a field. */
static void test_spec_drops_labels(void **state)
{
    (void)state;
    json_t *pc cleanup_json =
        spec_of("{\"Image\": \"busybox\", \"Labels\": {\"tier\": \"web\"}}", NULL);
    assert_null(json_object_get(pc, "labels"));
    assert_null(json_object_get(pc, "Labels"));
}

static void test_spec_networks(void **state)
{
    (void)state;
    json_t *none cleanup_json =
        spec_of("{\"Image\": \"busybox\", \"HostConfig\": {\"NetworkMode\": \"none\"}}", NULL);
    assert_json(json_object_get(none, "networks"), "[]");
    json_t *user cleanup_json =
        spec_of("{\"Image\": \"busybox\", \"HostConfig\": {\"NetworkMode\": \"app\"}, "
                "\"NetworkingConfig\": {\"EndpointsConfig\": {\"app\": {\"Aliases\": [\"db\"], "
                "\"IPAMConfig\": {\"IPv4Address\": \"172.20.0.9\"}}}}}",
                NULL);
    assert_json(json_object_get(user, "networks"),
                "[{\"name\": \"app\", \"aliases\": [\"db\"], \"ip\": \"172.20.0.9\"}]");
}

static void test_spec_refuses_bad_input_with_docker_messages(void **state)
{
    (void)state;
    assert_refused("[\"busybox\"]", VIC_EINVAL, "the container config must be a JSON object");
    assert_refused("{}", VIC_EINVAL,
                   "No image specified: a VCH runs an image pulled from a registry");
    assert_refused("{\"Image\": \"\"}", VIC_EINVAL,
                   "No image specified: a VCH runs an image pulled from a registry");
    assert_refused("{\"Image\": \"busybox\", \"HostConfig\": {\"Privileged\": true}}",
                   VIC_EUNSUPPORTED,
                   "--privileged is not supported: each container of a VCH is its own VM");
    assert_refused("{\"Image\": \"busybox\", \"HostConfig\": {\"CapAdd\": \"NET_ADMIN\"}}",
                   VIC_EINVAL, "invalid CapAdd: a list of at most 64 strings");
    assert_refused("{\"Image\": \"busybox\", \"HostConfig\": {\"CapDrop\": [7]}}", VIC_EINVAL,
                   "invalid CapDrop: a list of strings");
    assert_refused("{\"Image\": \"busybox\", \"HostConfig\": {\"CapAdd\": [\"BOGUS\"]}}",
                   VIC_EINVAL, "invalid CapAdd: unknown capability: \"CAP_BOGUS\"");
    assert_refused("{\"Image\": \"busybox\", \"HostConfig\": {\"NetworkMode\": \"host\"}}",
                   VIC_EUNSUPPORTED,
                   "--network host is not supported: each container of a VCH is its own VM, "
                   "with a network stack of its own; use bridge, none or a network from docker "
                   "network create");
    assert_refused("{\"Image\": \"busybox\", \"HostConfig\": {\"Binds\": [\"/etc:/etc\"]}}",
                   VIC_EUNSUPPORTED,
                   "/etc:/etc: a VCH cannot mount a path of its host into a container (each "
                   "container is a VM); use a named volume: -v NAME:/path");
    assert_refused("{\"Image\": \"busybox\", \"HostConfig\": {\"Binds\": [\"data\"]}}", VIC_EINVAL,
                   "invalid volume specification: 'data'");
    assert_refused("{\"Image\": \"busybox\", \"HostConfig\": {\"Binds\": [\"data:rel\"]}}",
                   VIC_EINVAL, "invalid mount config for data:rel: mount path must be absolute");
    assert_refused("{\"Image\": \"busybox\", \"HostConfig\": {\"Binds\": [\"a:/x\", \"b:/x\"]}}",
                   VIC_EINVAL, "Duplicate mount point: /x");
    assert_refused("{\"Image\": \"busybox\", \"HostConfig\": {\"PortBindings\": {\"80/tcp\": "
                   "[{\"HostPort\": \"99999\"}]}}}",
                   VIC_EINVAL, "invalid host port 99999: a VCH publishes single ports 1-65535");
    assert_refused("{\"Image\": \"busybox\", \"HostConfig\": {\"PortBindings\": {\"http\": "
                   "[{\"HostPort\": \"80\"}]}}}",
                   VIC_EINVAL, "invalid port specification: \"http\"");
    assert_refused("{\"Image\": \"busybox\", \"HostConfig\": {\"PortBindings\": {\"80/sctp\": "
                   "[{\"HostPort\": \"80\"}]}}}",
                   VIC_EUNSUPPORTED,
                   "publishing 80/sctp is not supported by this VCH: its port forwards carry TCP "
                   "and UDP");
}

/* ---- docker ps's filters ---- */

static void test_filters_parse(void **state)
{
    (void)state;
    json_t *f = NULL;
    vic_err *err = NULL;
    assert_int_equal(engine_filters_parse(NULL, engine_ps_filters, &f, &err), 0);
    assert_null(f);
    assert_int_equal(engine_filters_parse("", engine_ps_filters, &f, &err), 0);
    assert_null(f);

    assert_int_equal(engine_filters_parse("{\"name\": [\"web\"], \"status\": {\"exited\": true}}",
                                          engine_ps_filters, &f, &err),
                     0);
    assert_json(f, "{\"name\": [\"web\"], \"status\": [\"exited\"]}"); /* the older form too */
    json_decref(f);

    /* no list of allowed keys: any key */
    assert_int_equal(engine_filters_parse("{\"label\": [\"a=b\"]}", NULL, &f, &err), 0);
    assert_json(f, "{\"label\": [\"a=b\"]}");
    json_decref(f);
    assert_null(err);
}

/* engine_filters_parse for a route that takes some filters (docker ps takes every key and
 * checks them itself: engine_ps_check) */
static void test_filters_refusals(void **state)
{
    (void)state;
    static const char *const some[] = {"name", "id", "status", NULL}, *const no[] = {NULL};
    static const struct {
        const char *q;
        const char *const *allowed;
        int code;
        const char *msg;
    } cases[] = {
        {"{\"label\": [\"a=b\"]}", some, VIC_EUNSUPPORTED,
         "filter label is not supported by this VCH yet (name, id, status are)"},
        {"{\"name\": [\"a\"]}", no, VIC_EUNSUPPORTED,
         "filter name is not supported by this VCH yet (none are)"},
        {"[\"name\"]", some, VIC_EINVAL, "filters: must be a JSON object"},
        {"{\"name\": \"web\"}", some, VIC_EINVAL, "filters.name: must be a list"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *f = NULL;
        vic_err *err cleanup_err = NULL;
        assert_int_equal(engine_filters_parse(cases[i].q, cases[i].allowed, &f, &err),
                         cases[i].code);
        assert_null(f);
        assert_string_equal(err->msg, cases[i].msg);
    }
    json_t *f = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(engine_filters_parse("{not json", engine_ps_filters, &f, &err), VIC_EINVAL);
    assert_null(f);
    assert_int_equal(strncmp(err->msg, "filters", 7), 0);
}

static void test_ps_match(void **state)
{
    (void)state;
    json_t *v cleanup_json = parse("[\"/web\", \"db\"]");
    assert_true(engine_ps_match(NULL, "anything", ENGINE_PS_NAME)); /* no filter */
    assert_true(engine_ps_match(v, "my-web-1", ENGINE_PS_NAME));    /* '/' ignored, substring */
    assert_true(engine_ps_match(v, "db", ENGINE_PS_NAME));          /* any value */
    assert_false(engine_ps_match(v, "cache", ENGINE_PS_NAME));
    assert_false(engine_ps_match(v, NULL, ENGINE_PS_NAME));

    json_t *ids cleanup_json = parse("[\"3f\"]");
    assert_true(engine_ps_match(ids, "3fa9c0", ENGINE_PS_ID));
    assert_false(engine_ps_match(ids, "a3f9c0", ENGINE_PS_ID)); /* a prefix, not a substring */

    json_t *st cleanup_json = parse("[\"running\"]");
    assert_true(engine_ps_match(st, "running", ENGINE_PS_STATUS));
    assert_true(engine_ps_match(st, "starting", ENGINE_PS_STATUS));
    assert_false(engine_ps_match(st, "run", ENGINE_PS_STATUS)); /* the whole state */
    json_t *ex cleanup_json = parse("[\"exit\"]");
    assert_false(engine_ps_match(ex, "exited", ENGINE_PS_STATUS));
}

static void test_ps_wanted_needs_every_filter(void **state)
{
    (void)state;
    json_t *x cleanup_json =
        parse("{\"id\": \"3fa9c0\", \"name\": \"web\", \"state\": \"exited\"}");
    json_t *f = NULL;
    assert_true(engine_ps_wanted(NULL, x, NULL));
    assert_int_equal(
        engine_filters_parse("{\"name\": [\"we\"], \"id\": [\"3f\"]}", engine_ps_filters, &f, NULL),
        0);
    engine_ps_query q = {.filters = f};
    assert_true(engine_ps_wanted(&q, x, NULL));
    json_decref(f);
    assert_int_equal(engine_filters_parse("{\"name\": [\"we\"], \"status\": [\"running\"]}",
                                          engine_ps_filters, &f, NULL),
                     0);
    q.filters = f;
    assert_false(engine_ps_wanted(&q, x, NULL));
    json_decref(f);
}

/* ---- a port layer record into ps's summary and inspect's answer ---- */

#define RECORD                                                                                     \
    "{\"id\": \"3fa9c0de\", \"name\": \"web\", \"image\": \"nginx:1\", \"state\": \"running\", "   \
    "\"running\": true, \"exit_code\": 0, \"created_at\": \"2026-12-07T11:00:00Z\", "              \
    "\"started_at\": \"2026-12-07T11:55:00Z\", \"finished_at\": \"0001-01-01T00:00:00Z\", "        \
    "\"config\": {\"cmd\": [\"nginx\", \"-g\", \"daemon off;\"], \"env\": [\"A=1\"], "             \
    "\"workdir\": \"/srv\", \"tty\": true, \"hostname\": \"web1\", \"user\": \"www\"}, "           \
    "\"ports\": [{\"container_port\": 80, \"host_port\": 8080}, {\"container_port\": 53, "         \
    "\"host_port\": 5353, \"protocol\": \"udp\", \"host_ip\": \"127.0.0.1\"}], "                   \
    "\"mounts\": [{\"volume\": \"data\", \"target\": \"/data\", \"mode\": \"ro\"}], "              \
    "\"networks\": [{\"name\": \"bridge\", \"id\": \"n1\", \"ip\": \"172.16.0.5\", \"gateway\": "  \
    "\"172.16.0.1\", \"prefix\": 16}]}"

static void test_summary_of_a_record(void **state)
{
    (void)state;
    json_t *x cleanup_json = parse(RECORD);
    json_t *s cleanup_json = engine_container_summary(x, NOW);
    assert_string_equal(vic_json_str(s, "Id"), "3fa9c0de");
    assert_json(json_object_get(s, "Names"), "[\"/web\"]");
    assert_string_equal(vic_json_str(s, "Image"), "nginx:1");
    assert_string_equal(vic_json_str(s, "Command"), "nginx -g daemon off;");
    assert_int_equal(json_integer_value(json_object_get(s, "Created")), NOW - 3600);
    assert_string_equal(vic_json_str(s, "State"), "running");
    assert_string_equal(vic_json_str(s, "Status"), "Up 5 minutes");
    assert_json(json_object_get(s, "Ports"),
                "[{\"IP\": \"\", \"PrivatePort\": 80, \"PublicPort\": 8080, \"Type\": \"tcp\"}, "
                "{\"IP\": \"127.0.0.1\", \"PrivatePort\": 53, \"PublicPort\": 5353, \"Type\": "
                "\"udp\"}]");
    assert_json(json_object_get(s, "Labels"), "{}");
    assert_string_equal(vic_json_str(json_object_get(s, "HostConfig"), "NetworkMode"), "default");
    json_t *br = json_object_get(json_object_get(json_object_get(s, "NetworkSettings"), "Networks"),
                                 "bridge");
    assert_string_equal(vic_json_str(br, "IPAddress"), "172.16.0.5");

    /* a port layer that did not record the creation: the start stands in */
    json_t *old cleanup_json =
        parse("{\"id\": \"ab\", \"name\": \"n\", \"started_at\": \"2026-12-07T11:55:00Z\"}");
    json_t *o cleanup_json = engine_container_summary(old, NOW);
    assert_int_equal(json_integer_value(json_object_get(o, "Created")), NOW - 300);
    assert_string_equal(vic_json_str(o, "State"), "unknown");
    assert_string_equal(vic_json_str(o, "Command"), "");
    assert_string_equal(vic_json_str(o, "Image"), "");
    assert_string_equal(vic_json_str(json_object_get(o, "HostConfig"), "NetworkMode"), "none");
}

static void test_inspect_of_a_record(void **state)
{
    (void)state;
    json_t *x cleanup_json = parse(RECORD);
    json_t *in cleanup_json = engine_container_inspect(x);
    assert_string_equal(vic_json_str(in, "Id"), "3fa9c0de");
    assert_string_equal(vic_json_str(in, "Name"), "/web");
    assert_string_equal(vic_json_str(in, "Created"), "2026-12-07T11:00:00Z");
    assert_string_equal(vic_json_str(in, "Path"), "nginx");
    assert_json(json_object_get(in, "Args"), "[\"-g\", \"daemon off;\"]"); /* after Path */
    assert_string_equal(vic_json_str(in, "Image"), "nginx:1");
    json_t *st = json_object_get(in, "State");
    assert_string_equal(vic_json_str(st, "Status"), "running");
    assert_true(json_is_true(json_object_get(st, "Running")));
    assert_true(json_is_false(json_object_get(st, "Paused")));
    assert_int_equal(json_integer_value(json_object_get(st, "ExitCode")), 0);
    assert_string_equal(vic_json_str(st, "StartedAt"), "2026-12-07T11:55:00Z");
    assert_string_equal(vic_json_str(st, "Error"), "");
    json_t *cfg = json_object_get(in, "Config");
    assert_json(json_object_get(cfg, "Env"), "[\"A=1\"]");
    assert_json(json_object_get(cfg, "Cmd"), "[\"nginx\", \"-g\", \"daemon off;\"]");
    assert_string_equal(vic_json_str(cfg, "WorkingDir"), "/srv");
    assert_string_equal(vic_json_str(cfg, "Hostname"), "web1");
    assert_string_equal(vic_json_str(cfg, "User"), "www");
    assert_true(json_is_true(json_object_get(cfg, "Tty")));
    json_t *host = json_object_get(in, "HostConfig");
    assert_json(json_object_get(host, "Binds"), "[\"data:/data:ro\"]");
    assert_json(json_object_get(host, "PortBindings"),
                "{\"80/tcp\": [{\"HostIp\": \"\", \"HostPort\": \"8080\"}], \"53/udp\": "
                "[{\"HostIp\": \"127.0.0.1\", \"HostPort\": \"5353\"}]}");
    assert_string_equal(vic_json_str(host, "NetworkMode"), "default");
    json_t *m = json_array_get(json_object_get(in, "Mounts"), 0);
    assert_string_equal(vic_json_str(m, "Name"), "data");
    assert_string_equal(vic_json_str(m, "Destination"), "/data");
    assert_true(json_is_false(json_object_get(m, "RW")));
    json_t *ns = json_object_get(in, "NetworkSettings");
    assert_string_equal(vic_json_str(ns, "IPAddress"), "172.16.0.5");
    assert_string_equal(vic_json_str(ns, "Gateway"), "172.16.0.1");
    assert_int_equal(json_integer_value(json_object_get(ns, "IPPrefixLen")), 16);
    assert_json(json_object_get(ns, "Ports"),
                "{\"80/tcp\": [{\"HostIp\": \"\", \"HostPort\": \"8080\"}], \"53/udp\": "
                "[{\"HostIp\": \"127.0.0.1\", \"HostPort\": \"5353\"}]}");
    assert_non_null(json_object_get(json_object_get(ns, "Networks"), "bridge"));
}

/* A record with little in it still inspects: empty strings and lists, no bridge address. */
static void test_inspect_of_a_sparse_record(void **state)
{
    (void)state;
    json_t *x cleanup_json = parse("{\"id\": \"ab\", \"name\": \"n\", \"state\": \"exited\", "
                                   "\"exit_code\": 3, \"created_at\": \"0001-01-01T00:00:00Z\", "
                                   "\"started_at\": \"2026-12-07T09:00:00Z\", \"finished_at\": "
                                   "\"2026-12-07T10:00:00Z\", \"error\": \"oom\"}");
    json_t *in cleanup_json = engine_container_inspect(x);
    assert_non_null(in);
    assert_string_equal(vic_json_str(in, "Created"), "2026-12-07T09:00:00Z"); /* the start */
    assert_string_equal(vic_json_str(in, "Path"), "");
    assert_json(json_object_get(in, "Args"), "[]");
    json_t *st = json_object_get(in, "State");
    assert_false(json_is_true(json_object_get(st, "Running")));
    assert_int_equal(json_integer_value(json_object_get(st, "ExitCode")), 3);
    assert_string_equal(vic_json_str(st, "Error"), "oom");
    assert_string_equal(vic_json_str(st, "FinishedAt"), "2026-12-07T10:00:00Z");
    assert_json(json_object_get(json_object_get(in, "Config"), "Env"), "[]");
    assert_json(json_object_get(in, "Mounts"), "[]");
    json_t *ns = json_object_get(in, "NetworkSettings");
    assert_string_equal(vic_json_str(ns, "IPAddress"), "");
    assert_json(json_object_get(ns, "Networks"), "{}");
    assert_string_equal(vic_json_str(json_object_get(in, "HostConfig"), "NetworkMode"), "none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_of_a_bare_image),
        cmocka_unit_test(test_spec_carries_env_cmd_entrypoint_and_strings),
        cmocka_unit_test(test_spec_leaves_out_what_is_not_given_as_docker_gives_it),
        cmocka_unit_test(test_spec_publishes_ports),
        cmocka_unit_test(test_spec_mounts_named_volumes),
        cmocka_unit_test(test_spec_resources_and_confinement),
        cmocka_unit_test(test_spec_drops_labels),
        cmocka_unit_test(test_spec_networks),
        cmocka_unit_test(test_spec_refuses_bad_input_with_docker_messages),
        cmocka_unit_test(test_filters_parse),
        cmocka_unit_test(test_filters_refusals),
        cmocka_unit_test(test_ps_match),
        cmocka_unit_test(test_ps_wanted_needs_every_filter),
        cmocka_unit_test(test_summary_of_a_record),
        cmocka_unit_test(test_inspect_of_a_record),
        cmocka_unit_test(test_inspect_of_a_sparse_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
