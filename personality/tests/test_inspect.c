/* A container's Docker configuration: what a create may ask (personality/hostconfig.c: Docker's
 * checks and a VCH's refusals), what it records (personality/inspect.c), and inspect's answer:
 * every field Docker Engine returns, the given values over Docker's zero values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "personality/containers.h"
#include "personality/hostconfig.h"
#include "personality/inspect.h"

static json_t *parse(const char *text)
{
    json_t *j = NULL;
    if (vic_json_parse(&j, text, strlen(text), 1 << 20, NULL) < 0)
        fail_msg("not JSON: %s", text);
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

/* o's keys are exactly the NULL-terminated keys */
static void assert_keys(const json_t *o, const char *what, const char *const *keys)
{
    assert_true(json_is_object(o));
    size_t n = 0;
    for (const char *const *k = keys; *k; k++, n++)
        if (json_object_get(o, *k) == NULL)
            fail_msg("%s lacks %s", what, *k);
    if (json_object_size(o) != n) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)o, k, v)
        {
            int known = 0;
            for (const char *const *w = keys; *w; w++)
                known |= strcmp(*w, k) == 0;
            if (!known)
                fail_msg("%s has %s, which Docker's has not", what, k);
        }
    }
}

/* engine_hostconfig_check of the HostConfig text host: 0, or the code with its message */
static int host_check(const char *host, char *msg, size_t cap)
{
    json_t *h cleanup_json = parse(host);
    vic_err *err cleanup_err = NULL;
    int rc = engine_hostconfig_check(h, &err);
    snprintf(msg, cap, "%s", err ? err->msg : "");
    return rc;
}

static int config_check(const char *body, char *msg, size_t cap)
{
    json_t *b cleanup_json = parse(body);
    vic_err *err cleanup_err = NULL;
    int rc = engine_config_check(b, &err);
    snprintf(msg, cap, "%s", err ? err->msg : "");
    return rc;
}

/* A running container as the port layer describes it, with annotations (JSON text of the
 * port layer's "annotations" object, or NULL). */
static json_t *pl_container(const char *annotations)
{
    json_t *x = parse(
        "{\"id\": \"3fa9c0de\", \"name\": \"web\", \"image\": \"busybox\", \"state\": "
        "\"running\", \"running\": true, \"pid\": 4242, \"exit_code\": 0, \"created_at\": "
        "\"2026-12-07T11:00:00.000000001Z\", \"started_at\": \"2026-12-07T11:55:00Z\", "
        "\"finished_at\": \"0001-01-01T00:00:00Z\", \"config\": {\"cmd\": [\"sleep\", \"600\"], "
        "\"env\": [\"X=1\", \"PATH=/bin\"], \"workdir\": \"/tmp\", \"tty\": false, \"hostname\": "
        "\"box\", \"user\": \"\"}, \"networks\": [{\"name\": \"bridge\", \"id\": \"n1\", \"ip\": "
        "\"172.16.0.5\", \"gateway\": \"172.16.0.1\", \"prefix\": 16, \"mac\": "
        "\"02:42:ac:10:00:05\"}]}");
    if (annotations)
        json_object_set_new(x, "annotations", parse(annotations));
    return x;
}

/* The port layer container of a create body with image img, through the record's
 * annotations, as the port layer hands them back. */
static json_t *created(const char *body, const char *img)
{
    json_t *b cleanup_json = parse(body);
    json_t *i cleanup_json = img ? parse(img) : NULL;
    json_t *rec cleanup_json = engine_record_make(b, i);
    json_t *pc cleanup_json = json_object();
    engine_record_attach(pc, rec);
    json_t *x = pl_container(NULL);
    json_object_set(x, "annotations", json_object_get(pc, "annotations"));
    return x;
}

/* ---- the checks of a create ---- */

static void test_hostconfig_refuses_what_a_vch_cannot_honour(void **state)
{
    (void)state;
    static const struct {
        const char *host, *msg;
    } cases[] = {
        {"{\"NanoCpus\": 500000000, \"CpuPeriod\": 50000}",
         "Conflicting options: Nano CPUs and CPU Period cannot both be set"},
        {"{\"CpuQuota\": 500}", "CPU cfs quota can not be less than 1ms (i.e. 1000)"},
        {"{\"CpuPeriod\": 100}",
         "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 second (i.e. "
         "1000000)"},
        {"{\"NanoCpus\": -1}",
         "Range of CPUs is from 0.01 to 64.00, as there are only 64 CPUs available"},
        {"{\"Dns\": [\"8.8.8.8\"]}", "--dns is not supported: a container resolves names through "
                                     "its VCH's DNS server on its network"},
        {"{\"ExtraHosts\": [\"a:1.2.3.4\"]}",
         "--add-host is not supported: a container's /etc/hosts names only itself (containers "
         "of a user-defined network reach each other by name)"},
        {"{\"PidMode\": \"host\"}",
         "--pid is not supported: each container of a VCH is its own VM, with processes of its "
         "own"},
        {"{\"UTSMode\": \"host\"}",
         "--uts is not supported: each container of a VCH is its own VM, with a hostname of its "
         "own"},
        {"{\"Tmpfs\": {\"/run\": \"\"}}", "--tmpfs is not supported: mount a volume there instead"},
        {"{\"ReadonlyRootfs\": true}",
         "--read-only is not supported: a container's root disk is writable"},
        {"{\"Devices\": [{\"PathOnHost\": \"/dev/null\"}]}",
         "--device is not supported: a container's VM has no devices of the host"},
        {"{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1, \"Hard\": 1}]}",
         "--ulimit is not supported: a container's limits are its VM's"},
        {"{\"MemoryReservation\": 104857600}",
         "--memory-reservation is not supported: a container of a VCH is a VM with vCPUs and "
         "memory of its own (use --cpus, -m)"},
        {"{\"Memory\": 104857600, \"MemorySwap\": 209715200}",
         "--memory-swap is not supported: a container's VM has no swap (give it the memory "
         "limit, or leave it out)"},
        {"{\"MemorySwappiness\": 60}", "--memory-swappiness is not supported: a container's VM "
                                       "has no swap"},
        {"{\"ShmSize\": 1048576}", "--shm-size is not supported: a container's /dev/shm is 64 MiB"},
        {"{\"LogConfig\": {\"Type\": \"syslog\", \"Config\": {}}}",
         "log driver syslog is not supported: a VCH keeps a container's output in its VM's "
         "serial log, which docker logs reads (json-file)"},
        {"{\"LogConfig\": {\"Type\": \"json-file\", \"Config\": {\"max-size\": \"10m\"}}}",
         "log option max-size is not supported: a VCH keeps a container's output in its VM's "
         "serial log, whose size it limits itself"},
        {"{\"IpcMode\": \"host\"}", "--ipc host is not supported: each container of a VCH is its "
                                    "own VM"},
        {"{\"CgroupnsMode\": \"host\"}", "--cgroupns host is not supported: each container of a "
                                         "VCH is its own VM"},
        {"{\"VolumeDriver\": \"nfs\"}", "volume driver nfs is not available: a VCH's volumes use "
                                        "the vsphere driver"},
        {"{\"Links\": [\"db:db\"]}",
         "--link is not supported: containers of a user-defined network reach each other by "
         "name"},
        {"{\"Sysctls\": {\"net.ipv4.ip_forward\": \"1\"}}",
         "--sysctl is not supported: a container's kernel settings are its VM's"},
        /* Docker's own checks and messages */
        {"{\"MemorySwap\": 209715200}",
         "You should always set the Memory limit when using Memoryswap limit, see usage"},
        {"{\"Memory\": 209715200, \"MemorySwap\": 104857600}",
         "Minimum memoryswap limit should be larger than memory limit, see usage"},
        {"{\"MemorySwappiness\": 101}",
         "Invalid value: 101, valid memory swappiness range is 0-100"},
        {"{\"ShmSize\": -1}", "SHM size can not be less than 0"},
        {"{\"Isolation\": \"hyperv\"}", "Invalid isolation: \"hyperv\" - linux only supports "
                                        "'default'"},
        {"{\"Runtime\": \"kata\"}", "unknown or invalid runtime name: kata"},
        {"{\"Init\": \"yes\"}", "invalid Init: a boolean"},
        {"{\"ConsoleSize\": [24]}", "invalid ConsoleSize: [height, width]"},
        {"{\"VolumesFrom\": [\"\"]}", "invalid VolumesFrom: a list of container names"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char msg[512];
        int rc = host_check(cases[i].host, msg, sizeof(msg));
        if (rc != VIC_EINVAL || strcmp(msg, cases[i].msg) != 0)
            fail_msg("%s: %d %s\nwant 400 %s", cases[i].host, rc, msg, cases[i].msg);
    }
}

/* What the docker CLI sends by default, and what a VCH honours, passes. */
static void test_hostconfig_accepts_what_a_vch_honours(void **state)
{
    (void)state;
    static const char *const ok[] = {
        /* docker run's defaults (docker CLI 20.10, API 1.41) */
        "{\"Binds\": null, \"ContainerIDFile\": \"\", \"LogConfig\": {\"Type\": \"\", \"Config\": "
        "{}}, \"NetworkMode\": \"default\", \"PortBindings\": {}, \"RestartPolicy\": {\"Name\": "
        "\"no\", \"MaximumRetryCount\": 0}, \"AutoRemove\": false, \"VolumeDriver\": \"\", "
        "\"VolumesFrom\": null, \"CapAdd\": null, \"CapDrop\": null, \"CgroupnsMode\": \"\", "
        "\"Dns\": [], \"DnsOptions\": [], \"DnsSearch\": [], \"ExtraHosts\": null, \"GroupAdd\": "
        "null, \"IpcMode\": \"\", \"Cgroup\": \"\", \"Links\": null, \"OomScoreAdj\": 0, "
        "\"PidMode\": \"\", \"Privileged\": false, \"PublishAllPorts\": false, "
        "\"ReadonlyRootfs\": false, \"SecurityOpt\": null, \"UTSMode\": \"\", \"UsernsMode\": "
        "\"\", \"ShmSize\": 0, \"ConsoleSize\": [0, 0], \"Isolation\": \"\", \"CpuShares\": 0, "
        "\"Memory\": 0, \"NanoCpus\": 0, \"CgroupParent\": \"\", \"BlkioWeight\": 0, "
        "\"BlkioWeightDevice\": [], \"BlkioDeviceReadBps\": null, \"BlkioDeviceWriteBps\": null, "
        "\"BlkioDeviceReadIOps\": null, \"BlkioDeviceWriteIOps\": null, \"CpuPeriod\": 0, "
        "\"CpuQuota\": 0, \"CpuRealtimePeriod\": 0, \"CpuRealtimeRuntime\": 0, \"CpusetCpus\": "
        "\"\", \"CpusetMems\": \"\", \"Devices\": [], \"DeviceCgroupRules\": null, "
        "\"DeviceRequests\": null, \"KernelMemory\": 0, \"KernelMemoryTCP\": 0, "
        "\"MemoryReservation\": 0, \"MemorySwap\": 0, \"MemorySwappiness\": null, "
        "\"OomKillDisable\": false, \"PidsLimit\": null, \"Ulimits\": null, \"CpuCount\": 0, "
        "\"CpuPercent\": 0, \"IOMaximumIOps\": 0, \"IOMaximumBandwidth\": 0, \"MaskedPaths\": "
        "null, \"ReadonlyPaths\": null}",
        "{\"LogConfig\": {\"Type\": \"json-file\"}, \"Runtime\": \"runc\", \"Isolation\": "
        "\"default\", \"ShmSize\": 67108864, \"PidsLimit\": -1, \"IpcMode\": \"shareable\"}",
        "{\"Memory\": 104857600, \"MemorySwap\": 104857600}", /* no swap, as a VM has */
        "{\"Memory\": 104857600, \"MemorySwap\": -1, \"MemorySwappiness\": -1}",
        "{\"NanoCpus\": 4000000000, \"Init\": true, \"VolumesFrom\": [\"data:ro\"]}",
        /* limits within the VM: CPU time, shares, processes */
        "{\"NanoCpus\": 1500000000, \"CpuShares\": 512, \"PidsLimit\": 100}",
        "{\"CpuPeriod\": 100000, \"CpuQuota\": 25000}",
        "{\"MaskedPaths\": [], \"ReadonlyPaths\": []}", /* systempaths=unconfined */
        "{\"Tmpfs\": {}, \"Sysctls\": null, \"StorageOpt\": null}",
        "null",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char msg[512];
        if (host_check(ok[i], msg, sizeof(msg)) != 0)
            fail_msg("%s: refused: %s", ok[i], msg);
    }
}

static void test_config_checks(void **state)
{
    (void)state;
    static const struct {
        const char *body, *msg;
    } bad[] = {
        {"{\"MacAddress\": \"02:42:ac:11:00\"}", "02:42:ac:11:00 is not a valid mac address"},
        {"{\"MacAddress\": \"01:00:5e:00:00:01\"}", "01:00:5e:00:00:01 is not a valid mac address"},
        {"{\"StopTimeout\": \"10\"}", "invalid StopTimeout: a number of seconds"},
        {"{\"Labels\": {\"a\": 1}}", "invalid Labels: a is not a string"},
        {"{\"Domainname\": \"example.com\"}",
         "--domainname is not supported: a container's VM has a hostname only"},
        {"{\"Healthcheck\": {\"Test\": [\"CMD\", \"true\"], \"Interval\": 999999}}",
         "Interval in Healthcheck cannot be less than 1ms"},
        {"{\"Healthcheck\": {\"Test\": [\"CMD\", \"true\"], \"Timeout\": -1}}",
         "Timeout in Healthcheck cannot be less than 1ms"},
        {"{\"Healthcheck\": {\"StartPeriod\": 1}}",
         "StartPeriod in Healthcheck cannot be less than 1ms"},
        {"{\"Healthcheck\": {\"StartInterval\": 10}}",
         "StartInterval in Healthcheck cannot be less than 1ms"},
        {"{\"Healthcheck\": {\"Retries\": -1}}", "Retries in Healthcheck cannot be negative"},
        {"{\"Healthcheck\": {\"Retries\": \"3\"}}", "invalid Healthcheck.Retries: a number"},
        {"{\"Healthcheck\": {\"Test\": \"CMD true\"}}",
         "invalid Healthcheck.Test: a list of strings"},
        {"{\"Healthcheck\": {\"Test\": [\"CMD-SHELL\"]}}",
         "invalid Healthcheck.Test: CMD-SHELL needs a command"},
        {"{\"Healthcheck\": [\"CMD\"]}", "invalid Healthcheck: an object"},
        {"{\"NetworkDisabled\": true}", "NetworkDisabled is not supported: use --network none"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char msg[512];
        int rc = config_check(bad[i].body, msg, sizeof(msg));
        if (rc != VIC_EINVAL || strcmp(msg, bad[i].msg) != 0)
            fail_msg("%s: %d %s\nwant 400 %s", bad[i].body, rc, msg, bad[i].msg);
    }
    static const char *const good[] = {
        "{\"MacAddress\": \"02:42:AC:11:00:09\", \"StopTimeout\": 3, \"Labels\": {\"a\": \"b\"}}",
        "{\"Healthcheck\": {\"Test\": [\"NONE\"]}, \"Domainname\": \"\", \"MacAddress\": \"\"}",
        "{\"Healthcheck\": {\"Test\": [\"CMD\", \"true\"], \"Interval\": 1000000, \"Retries\": 0}}",
        "{\"Healthcheck\": {\"Test\": [], \"Timeout\": 0, \"StartPeriod\": 5000000000}}",
        "{\"StopTimeout\": null, \"Labels\": null}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char msg[512];
        if (config_check(good[i], msg, sizeof(msg)) != 0)
            fail_msg("%s: refused: %s", good[i], msg);
    }
}

/* An Env entry without '=' is Docker's way to unset the image's variable: it is passed on. */
static void test_env_without_equals_is_legal(void **state)
{
    (void)state;
    json_t *b cleanup_json = parse("{\"Image\": \"busybox\", \"Env\": [\"PATH\", \"A=1\", \"B\"]}");
    json_t *pc cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(engine_container_spec(b, NULL, &pc, &err), 0);
    assert_json(json_object_get(pc, "env"), "[\"PATH\", \"A=1\", \"B\"]");
    char msg[256];
    assert_int_equal(config_check("{\"Env\": [\"PATH\"]}", msg, sizeof(msg)), 0);
}

/* ---- the record ---- */

#define IMAGE                                                                                      \
    "{\"id\": \"sha256:1111111111111111111111111111111111111111111111111111111111111111\", "       \
    "\"config\": {\"cmd\": [\"sh\"], \"labels\": {\"from\": \"image\", \"k\": \"image\"}, "        \
    "\"exposed_ports\": [\"80/tcp\"], \"stop_signal\": \"SIGQUIT\"}}"

/* Docker's merge of the entrypoint and command with the image's, into what runs. */
static void test_record_merges_the_command_as_docker_does(void **state)
{
    (void)state;
    static const struct {
        const char *body, *img, *entrypoint, *cmd;
    } cases[] = {
        /* nothing given: the image's */
        {"{}", "{\"config\": {\"entrypoint\": [\"/init\"], \"cmd\": [\"run\"]}}", "[\"/init\"]",
         "[\"run\"]"},
        /* a command given: the image's entrypoint before it */
        {"{\"Cmd\": [\"ls\"]}", "{\"config\": {\"entrypoint\": [\"/init\"], \"cmd\": [\"run\"]}}",
         "[\"/init\"]", "[\"ls\"]"},
        /* an entrypoint given: the image's command is not used */
        {"{\"Entrypoint\": [\"env\"]}", "{\"config\": {\"cmd\": [\"run\"]}}", "[\"env\"]", "[]"},
        /* --entrypoint "": the image's entrypoint reset, its command kept */
        {"{\"Entrypoint\": [\"\"]}",
         "{\"config\": {\"entrypoint\": [\"/init\"], \"cmd\": "
         "[\"run\"]}}",
         "[]", "[\"run\"]"},
        {"{\"Cmd\": [\"sleep\", \"600\"]}", IMAGE, "[]", "[\"sleep\", \"600\"]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *b cleanup_json = parse(cases[i].body);
        json_t *img cleanup_json = parse(cases[i].img);
        json_t *rec cleanup_json = engine_record_make(b, img);
        json_t *pc cleanup_json = json_object();
        engine_record_attach(pc, rec);
        assert_json(json_object_get(pc, "entrypoint"), cases[i].entrypoint);
        assert_json(json_object_get(pc, "cmd"), cases[i].cmd);
    }
}

static void test_record_round_trip(void **state)
{
    (void)state;
    json_t *x cleanup_json = created(
        "{\"Image\": \"busybox\", \"Labels\": {\"k\": \"v\"}, \"StopTimeout\": 5, "
        "\"ExposedPorts\": {\"53/udp\": {}}, \"HostConfig\": {\"RestartPolicy\": {\"Name\": "
        "\"on-failure\", \"MaximumRetryCount\": 3}, \"ShmSize\": 0, \"LogConfig\": {\"Type\": "
        "\"\", \"Config\": {}}}}",
        IMAGE);
    json_t *rec cleanup_json = engine_record_of(x);
    assert_non_null(rec);
    assert_string_equal(vic_json_str(rec, "ImageID"),
                        "sha256:1111111111111111111111111111111111111111111111111111111111111111");
    json_t *cfg = json_object_get(rec, "Config");
    /* the image's labels under the given ones; both sets of exposed ports */
    assert_json(json_object_get(cfg, "Labels"), "{\"from\": \"image\", \"k\": \"v\"}");
    assert_json(json_object_get(cfg, "ExposedPorts"), "{\"80/tcp\": {}, \"53/udp\": {}}");
    assert_string_equal(vic_json_str(cfg, "StopSignal"), "SIGQUIT");
    assert_int_equal(json_integer_value(json_object_get(cfg, "StopTimeout")), 5);
    /* only what differs from Docker's zero values (an empty log type is json-file) */
    assert_json(json_object_get(rec, "HostConfig"),
                "{\"RestartPolicy\": {\"Name\": \"on-failure\", \"MaximumRetryCount\": 3}}");

    /* a container of an older personality, or whose annotation is damaged: none */
    json_t *old cleanup_json = pl_container(NULL);
    assert_null(engine_record_of(old));
    json_t *bad cleanup_json = pl_container("{\"docker.config\": \"[1]\"}");
    assert_null(engine_record_of(bad));
}

/* ---- inspect ---- */

static const char *const top_keys[] = {"Id",
                                       "Created",
                                       "Path",
                                       "Args",
                                       "State",
                                       "Image",
                                       "ResolvConfPath",
                                       "HostnamePath",
                                       "HostsPath",
                                       "LogPath",
                                       "Name",
                                       "RestartCount",
                                       "Driver",
                                       "Platform",
                                       "MountLabel",
                                       "ProcessLabel",
                                       "AppArmorProfile",
                                       "ExecIDs",
                                       "HostConfig",
                                       "GraphDriver",
                                       "Mounts",
                                       "Config",
                                       "NetworkSettings",
                                       NULL};
static const char *const state_keys[] = {"Status",    "Running",   "Paused",     "Restarting",
                                         "OOMKilled", "Dead",      "Pid",        "ExitCode",
                                         "Error",     "StartedAt", "FinishedAt", NULL};
/* Config without its omitempty fields (ExposedPorts, StopSignal, ... when not set) */
static const char *const config_keys[] = {
    "Hostname", "Domainname", "User",       "AttachStdin", "AttachStdout", "AttachStderr",
    "Tty",      "OpenStdin",  "StdinOnce",  "Env",         "Cmd",          "Image",
    "Volumes",  "WorkingDir", "Entrypoint", "OnBuild",     "Labels",       NULL};
static const char *const host_keys[] = {"Binds",
                                        "ContainerIDFile",
                                        "LogConfig",
                                        "NetworkMode",
                                        "PortBindings",
                                        "RestartPolicy",
                                        "AutoRemove",
                                        "VolumeDriver",
                                        "VolumesFrom",
                                        "CapAdd",
                                        "CapDrop",
                                        "CgroupnsMode",
                                        "Dns",
                                        "DnsOptions",
                                        "DnsSearch",
                                        "ExtraHosts",
                                        "GroupAdd",
                                        "IpcMode",
                                        "Cgroup",
                                        "Links",
                                        "OomScoreAdj",
                                        "PidMode",
                                        "Privileged",
                                        "PublishAllPorts",
                                        "ReadonlyRootfs",
                                        "SecurityOpt",
                                        "UTSMode",
                                        "UsernsMode",
                                        "ShmSize",
                                        "Runtime",
                                        "ConsoleSize",
                                        "Isolation",
                                        "CpuShares",
                                        "Memory",
                                        "NanoCpus",
                                        "CgroupParent",
                                        "BlkioWeight",
                                        "BlkioWeightDevice",
                                        "BlkioDeviceReadBps",
                                        "BlkioDeviceWriteBps",
                                        "BlkioDeviceReadIOps",
                                        "BlkioDeviceWriteIOps",
                                        "CpuPeriod",
                                        "CpuQuota",
                                        "CpuRealtimePeriod",
                                        "CpuRealtimeRuntime",
                                        "CpusetCpus",
                                        "CpusetMems",
                                        "Devices",
                                        "DeviceCgroupRules",
                                        "DeviceRequests",
                                        "KernelMemory",
                                        "KernelMemoryTCP",
                                        "MemoryReservation",
                                        "MemorySwap",
                                        "MemorySwappiness",
                                        "OomKillDisable",
                                        "PidsLimit",
                                        "Ulimits",
                                        "CpuCount",
                                        "CpuPercent",
                                        "IOMaximumIOps",
                                        "IOMaximumBandwidth",
                                        "MaskedPaths",
                                        "ReadonlyPaths",
                                        NULL};
static const char *const netset_keys[] = {"Bridge",
                                          "SandboxID",
                                          "HairpinMode",
                                          "LinkLocalIPv6Address",
                                          "LinkLocalIPv6PrefixLen",
                                          "Ports",
                                          "SandboxKey",
                                          "SecondaryIPAddresses",
                                          "SecondaryIPv6Addresses",
                                          "EndpointID",
                                          "Gateway",
                                          "GlobalIPv6Address",
                                          "GlobalIPv6PrefixLen",
                                          "IPAddress",
                                          "IPPrefixLen",
                                          "IPv6Gateway",
                                          "MacAddress",
                                          "Networks",
                                          NULL};

/* A container created with nothing but an image: every field Docker Engine returns, with its
 * zero values. */
static void test_inspect_field_set_and_zero_values(void **state)
{
    (void)state;
    json_t *x cleanup_json =
        created("{\"Image\": \"busybox\", \"Cmd\": [\"sleep\", \"600\"]}", IMAGE);
    json_t *in cleanup_json = engine_container_inspect(x);
    assert_non_null(in);
    assert_keys(in, "inspect", top_keys);
    assert_keys(json_object_get(in, "State"), "State", state_keys);
    assert_keys(json_object_get(in, "HostConfig"), "HostConfig", host_keys);
    assert_keys(json_object_get(in, "NetworkSettings"), "NetworkSettings", netset_keys);
    json_t *cfg = json_object_get(in, "Config");
    /* the omitempty ones that are set here: the image's exposed ports and stop signal */
    assert_json(json_object_get(cfg, "ExposedPorts"), "{\"80/tcp\": {}}");
    assert_string_equal(vic_json_str(cfg, "StopSignal"), "SIGQUIT");
    json_object_del(cfg, "ExposedPorts");
    json_object_del(cfg, "StopSignal");
    assert_keys(cfg, "Config", config_keys);

    assert_string_equal(vic_json_str(in, "Image"),
                        "sha256:1111111111111111111111111111111111111111111111111111111111111111");
    assert_string_equal(vic_json_str(in, "Path"), "sleep");
    assert_json(json_object_get(in, "Args"), "[\"600\"]");
    assert_string_equal(vic_json_str(in, "Platform"), "linux");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(in, "State"), "Pid")),
                     4242);
    assert_json(json_object_get(cfg, "Cmd"), "[\"sleep\", \"600\"]");
    assert_true(json_is_null(json_object_get(cfg, "Entrypoint")));
    assert_json(json_object_get(cfg, "Labels"), "{\"from\": \"image\", \"k\": \"image\"}");
    assert_string_equal(vic_json_str(cfg, "Image"), "busybox");
    assert_string_equal(vic_json_str(cfg, "Hostname"), "box");
    assert_json(json_object_get(cfg, "Env"), "[\"X=1\", \"PATH=/bin\"]");

    /* Docker Engine's HostConfig of a container created through the API with none given */
    assert_json(
        json_object_get(in, "HostConfig"),
        "{\"Binds\": null, \"ContainerIDFile\": \"\", \"LogConfig\": {\"Type\": \"json-file\", "
        "\"Config\": {}}, \"NetworkMode\": \"default\", \"PortBindings\": {}, \"RestartPolicy\": "
        "{\"Name\": \"no\", \"MaximumRetryCount\": 0}, \"AutoRemove\": false, \"VolumeDriver\": "
        "\"\", \"VolumesFrom\": null, \"CapAdd\": null, \"CapDrop\": null, \"CgroupnsMode\": "
        "\"private\", \"Dns\": null, \"DnsOptions\": null, \"DnsSearch\": null, \"ExtraHosts\": "
        "null, \"GroupAdd\": null, \"IpcMode\": \"private\", \"Cgroup\": \"\", \"Links\": null, "
        "\"OomScoreAdj\": 0, \"PidMode\": \"\", \"Privileged\": false, \"PublishAllPorts\": "
        "false, \"ReadonlyRootfs\": false, \"SecurityOpt\": null, \"UTSMode\": \"\", "
        "\"UsernsMode\": \"\", \"ShmSize\": 67108864, \"Runtime\": \"runc\", \"ConsoleSize\": "
        "[0, 0], \"Isolation\": \"\", \"CpuShares\": 0, \"Memory\": 0, \"NanoCpus\": 0, "
        "\"CgroupParent\": \"\", \"BlkioWeight\": 0, \"BlkioWeightDevice\": null, "
        "\"BlkioDeviceReadBps\": null, \"BlkioDeviceWriteBps\": null, \"BlkioDeviceReadIOps\": "
        "null, \"BlkioDeviceWriteIOps\": null, \"CpuPeriod\": 0, \"CpuQuota\": 0, "
        "\"CpuRealtimePeriod\": 0, \"CpuRealtimeRuntime\": 0, \"CpusetCpus\": \"\", "
        "\"CpusetMems\": \"\", \"Devices\": null, \"DeviceCgroupRules\": null, "
        "\"DeviceRequests\": null, \"KernelMemory\": 0, \"KernelMemoryTCP\": 0, "
        "\"MemoryReservation\": 0, \"MemorySwap\": 0, \"MemorySwappiness\": null, "
        "\"OomKillDisable\": false, \"PidsLimit\": null, \"Ulimits\": null, \"CpuCount\": 0, "
        "\"CpuPercent\": 0, \"IOMaximumIOps\": 0, \"IOMaximumBandwidth\": 0, \"MaskedPaths\": "
        "null, \"ReadonlyPaths\": null}");
    json_t *ns = json_object_get(in, "NetworkSettings");
    assert_string_equal(vic_json_str(ns, "IPAddress"), "172.16.0.5");
    assert_string_equal(vic_json_str(ns, "MacAddress"), "02:42:ac:10:00:05");
    json_t *br = json_object_get(json_object_get(ns, "Networks"), "bridge");
    assert_string_equal(vic_json_str(br, "MacAddress"), "02:42:ac:10:00:05");
    assert_string_equal(vic_json_str(ns, "EndpointID"), vic_json_str(br, "EndpointID"));
}

/* What a create gave shows as given, the defaults it left empty as Docker fills them. */
static void test_inspect_shows_what_the_create_gave(void **state)
{
    (void)state;
    json_t *x cleanup_json = created(
        "{\"Image\": \"busybox\", \"Entrypoint\": [\"/bin/sh\", \"-c\"], \"Cmd\": "
        "[\"sleep 9\"], \"Labels\": {\"k\": \"v\"}, \"StopTimeout\": 7, \"StopSignal\": "
        "\"SIGUSR1\", \"MacAddress\": \"02:42:ac:11:00:09\", \"AttachStdout\": true, "
        "\"OpenStdin\": false, \"HostConfig\": {\"LogConfig\": {\"Type\": \"\", \"Config\": "
        "{}}, \"RestartPolicy\": {\"Name\": \"always\"}, \"VolumesFrom\": [\"data:ro\"], "
        "\"Init\": true, \"Isolation\": \"default\", \"Memory\": 67108864, \"MemorySwap\": "
        "67108864, \"NanoCpus\": 2000000000, \"ConsoleSize\": [24, 80], \"IpcMode\": "
        "\"shareable\", \"ContainerIDFile\": \"/tmp/cid\", \"Dns\": [], \"ShmSize\": "
        "67108864, \"PidsLimit\": -1, \"OomScoreAdj\": 0}}",
        IMAGE);
    json_t *in cleanup_json = engine_container_inspect(x);
    json_t *cfg = json_object_get(in, "Config");
    assert_json(json_object_get(cfg, "Entrypoint"), "[\"/bin/sh\", \"-c\"]");
    assert_json(json_object_get(cfg, "Cmd"), "[\"sleep 9\"]");
    assert_json(json_object_get(cfg, "Labels"), "{\"from\": \"image\", \"k\": \"v\"}");
    assert_int_equal(json_integer_value(json_object_get(cfg, "StopTimeout")), 7);
    assert_string_equal(vic_json_str(cfg, "StopSignal"), "SIGUSR1");
    assert_string_equal(vic_json_str(cfg, "MacAddress"), "02:42:ac:11:00:09");
    assert_true(json_is_true(json_object_get(cfg, "AttachStdout")));
    assert_true(json_is_false(json_object_get(cfg, "AttachStdin")));
    json_t *h = json_object_get(in, "HostConfig");
    assert_json(json_object_get(h, "LogConfig"), "{\"Type\": \"json-file\", \"Config\": {}}");
    assert_json(json_object_get(h, "RestartPolicy"),
                "{\"Name\": \"always\", \"MaximumRetryCount\": 0}");
    assert_json(json_object_get(h, "VolumesFrom"), "[\"data:ro\"]");
    assert_true(json_is_true(json_object_get(h, "Init")));
    assert_string_equal(vic_json_str(h, "Isolation"), "default");
    assert_int_equal(json_integer_value(json_object_get(h, "Memory")), 67108864);
    assert_int_equal(json_integer_value(json_object_get(h, "MemorySwap")), 67108864);
    assert_int_equal(json_integer_value(json_object_get(h, "NanoCpus")), 2000000000);
    assert_json(json_object_get(h, "ConsoleSize"), "[24, 80]");
    assert_string_equal(vic_json_str(h, "IpcMode"), "shareable");
    assert_string_equal(vic_json_str(h, "ContainerIDFile"), "/tmp/cid");
    assert_json(json_object_get(h, "Dns"), "[]"); /* as the CLI sent it */
    assert_int_equal(json_integer_value(json_object_get(h, "ShmSize")), 67108864);
    assert_int_equal(json_integer_value(json_object_get(h, "PidsLimit")), -1);
    /* what the port layer runs wins over the record: its network and auto-remove */
    assert_string_equal(vic_json_str(h, "NetworkMode"), "default");
    assert_true(json_is_false(json_object_get(h, "AutoRemove")));
}

/* A stopped container has no process: Pid 0, whatever the port layer still says. */
static void test_inspect_pid_of_a_stopped_container(void **state)
{
    (void)state;
    json_t *x cleanup_json = pl_container(NULL);
    json_object_set_new(x, "running", json_false());
    json_object_set_new(x, "state", json_string("exited"));
    json_t *in cleanup_json = engine_container_inspect(x);
    json_t *st = json_object_get(in, "State");
    assert_int_equal(json_integer_value(json_object_get(st, "Pid")), 0);
    assert_true(json_is_integer(json_object_get(st, "Pid")));
    /* no record: the image as named, the port layer's argv as the command */
    assert_string_equal(vic_json_str(in, "Image"), "busybox");
    assert_json(json_object_get(json_object_get(in, "Config"), "Cmd"), "[\"sleep\", \"600\"]");
}

/* Docker's merge of a create's Healthcheck with its image's, the port layer's check made of
 * it, and State.Health from the port layer's health. */
static void test_healthcheck_merge_spec_and_state(void **state)
{
    (void)state;
    static const struct {
        const char *given, *image, *merged;
    } cases[] = {
        /* none given: the image's */
        {"null", "{\"Test\": [\"CMD\", \"check\"], \"Interval\": 5}",
         "{\"Test\": [\"CMD\", \"check\"], \"Interval\": 5}"},
        /* a field given: the rest is the image's */
        {"{\"Retries\": 7}", "{\"Test\": [\"CMD\", \"check\"], \"Interval\": 5}",
         "{\"Test\": [\"CMD\", \"check\"], \"Interval\": 5, \"Retries\": 7}"},
        /* a test given wins, the image's numbers fill the zeros */
        {"{\"Test\": [\"CMD-SHELL\", \"x\"], \"Interval\": 0, \"Timeout\": 9}",
         "{\"Test\": [\"CMD\", \"check\"], \"Interval\": 5, \"Timeout\": 3}",
         "{\"Test\": [\"CMD-SHELL\", \"x\"], \"Interval\": 5, \"Timeout\": 9}"},
        /* --no-healthcheck over an image's */
        {"{\"Test\": [\"NONE\"]}", "{\"Test\": [\"CMD\", \"check\"]}", "{\"Test\": [\"NONE\"]}"},
        {"null", "null", "null"},
        {"{}", "null", "null"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *g cleanup_json = json_loads(cases[i].given, JSON_DECODE_ANY, NULL);
        json_t *im cleanup_json = json_loads(cases[i].image, JSON_DECODE_ANY, NULL);
        json_t *m cleanup_json = engine_healthcheck_merge(g, im);
        if (strcmp(cases[i].merged, "null") == 0)
            assert_null(m);
        else
            assert_json(m, cases[i].merged);
    }
    /* the record carries the merged check; the port layer's spec is made of it */
    json_t *b cleanup_json = parse("{\"Image\": \"x\", \"Healthcheck\": {\"Retries\": 2}, "
                                   "\"Shell\": [\"/bin/ash\", \"-c\"]}");
    json_t *img cleanup_json =
        parse("{\"config\": {\"healthcheck\": {\"Test\": [\"CMD-SHELL\", \"wget -q localhost\"], "
              "\"Interval\": 2000000000}}}");
    json_t *rec cleanup_json = engine_record_make(b, img);
    assert_json(json_object_get(json_object_get(rec, "Config"), "Healthcheck"),
                "{\"Test\": [\"CMD-SHELL\", \"wget -q localhost\"], \"Interval\": 2000000000, "
                "\"Retries\": 2}");
    json_t *spec cleanup_json = engine_healthcheck_spec(rec);
    assert_json(spec, "{\"test\": [\"CMD-SHELL\", \"wget -q localhost\"], \"interval\": "
                      "2000000000, \"retries\": 2, \"shell\": [\"/bin/ash\", \"-c\"]}");
    /* no check to run: NONE, none, or a type Docker runs nothing for */
    static const char *const none[] = {
        "{\"Config\": {\"Healthcheck\": {\"Test\": [\"NONE\"]}}}", "{\"Config\": {}}",
        "{\"Config\": {\"Healthcheck\": {\"Test\": [\"HTTP\", \"/\"]}}}"};
    for (size_t i = 0; i < 3; i++) {
        json_t *r cleanup_json = parse(none[i]);
        assert_null(engine_healthcheck_spec(r));
    }

    /* State.Health: Docker's names; none without the port layer's health */
    json_t *x cleanup_json = pl_container(NULL);
    json_t *in cleanup_json = engine_container_inspect(x);
    assert_null(json_object_get(json_object_get(in, "State"), "Health"));
    json_object_set_new(
        x, "health",
        parse("{\"status\": \"unhealthy\", \"failing_streak\": 4, \"log\": [{\"start\": "
              "\"2026-12-07T10:00:00.000000001Z\", \"end\": \"2026-12-07T10:00:01Z\", "
              "\"exit_code\": -1, \"output\": \"Health check exceeded timeout (1s)\"}]}"));
    json_t *in2 cleanup_json = engine_container_inspect(x);
    assert_json(json_object_get(json_object_get(in2, "State"), "Health"),
                "{\"Status\": \"unhealthy\", \"FailingStreak\": 4, \"Log\": [{\"Start\": "
                "\"2026-12-07T10:00:00.000000001Z\", \"End\": \"2026-12-07T10:00:01Z\", "
                "\"ExitCode\": -1, \"Output\": \"Health check exceeded timeout (1s)\"}]}");
    /* and docker ps's status */
    char status[96];
    json_object_set_new(x, "state", json_string("running"));
    json_object_set_new(x, "started_at", json_string("2026-12-07T10:00:00Z"));
    engine_container_status(x, (time_t)engine_time_ns("2026-12-07T10:00:05Z") / 1000000000, status,
                            sizeof(status));
    assert_string_equal(status, "Up 5 seconds (unhealthy)");
    json_object_set_new(json_object_get(x, "health"), "status", json_string("starting"));
    engine_container_status(x, (time_t)engine_time_ns("2026-12-07T10:00:05Z") / 1000000000, status,
                            sizeof(status));
    assert_string_equal(status, "Up 5 seconds (health: starting)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostconfig_refuses_what_a_vch_cannot_honour),
        cmocka_unit_test(test_hostconfig_accepts_what_a_vch_honours),
        cmocka_unit_test(test_config_checks),
        cmocka_unit_test(test_env_without_equals_is_legal),
        cmocka_unit_test(test_record_merges_the_command_as_docker_does),
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_inspect_field_set_and_zero_values),
        cmocka_unit_test(test_inspect_shows_what_the_create_gave),
        cmocka_unit_test(test_inspect_pid_of_a_stopped_container),
        cmocka_unit_test(test_healthcheck_merge_spec_and_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
