/*
 * hostconfig.c - Docker's checks of a create's HostConfig, and what a VCH refuses (see
 * hostconfig.h).
 */
#include "personality/hostconfig.h"

#include <stdint.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/netlink.h"

/* Why a VCH refuses an option other than its zero value. */
#define OWN_VM    "each container of a VCH is its own VM"
#define WHOLE_VM  "a container of a VCH is a VM with vCPUs and memory of its own (use --cpus, -m)"
#define NO_SWAP   "a container's VM has no swap"
#define OWN_DNS   "a container resolves names through its VCH's DNS server on its network"
#define NO_DEVICE "a container's VM has no devices of the host"
#define NO_BLKIO  "a container's disks are its VCH's datastore's"

/* A HostConfig field Docker knows: its JSON type ('s'tring, 'i'nteger, 'b'oolean, 'a'rray,
 * 'o'bject), its zero value as Docker's inspect shows it (NULL: left out when not given, as
 * Docker's omitempty fields are), and, for an option a VCH cannot honour, the refusal of
 * any value but an empty one (null, false, 0, "", [], {}). */
typedef struct hc_field {
    const char *name;
    char type;
    const char *zero;
    const char *refusal;
} hc_field;

static const hc_field fields[] = {
    {"Binds", 'a', "null", NULL},
    {"ContainerIDFile", 's', "\"\"", NULL},
    {"LogConfig", 'o', "{\"Type\": \"json-file\", \"Config\": {}}", NULL},
    {"NetworkMode", 's', "\"default\"", NULL},
    {"PortBindings", 'o', "{}", NULL},
    {"RestartPolicy", 'o', "{\"Name\": \"no\", \"MaximumRetryCount\": 0}", NULL},
    {"AutoRemove", 'b', "false", NULL},
    {"VolumeDriver", 's', "\"\"", NULL},
    {"VolumesFrom", 'a', "null", NULL},
    {"CapAdd", 'a', "null", NULL},
    {"CapDrop", 'a', "null", NULL},
    {"CgroupnsMode", 's', "\"private\"", NULL},
    {"Dns", 'a', "null", "--dns is not supported: " OWN_DNS},
    {"DnsOptions", 'a', "null", "--dns-option is not supported: " OWN_DNS},
    {"DnsSearch", 'a', "null", "--dns-search is not supported: " OWN_DNS},
    {"ExtraHosts", 'a', "null",
     "--add-host is not supported: a container's /etc/hosts names only itself (containers of "
     "a user-defined network reach each other by name)"},
    {"GroupAdd", 'a', "null",
     "--group-add is not supported: a container's process has its user's groups"},
    {"IpcMode", 's', "\"private\"", NULL},
    {"Cgroup", 's', "\"\"", "--cgroup is not supported: " OWN_VM},
    {"Links", 'a', "null",
     "--link is not supported: containers of a user-defined network reach each other by name"},
    {"OomScoreAdj", 'i', "0", "--oom-score-adj is not supported: " OWN_VM},
    {"PidMode", 's', "\"\"", "--pid is not supported: " OWN_VM ", with processes of its own"},
    {"Privileged", 'b', "false", NULL},
    {"PublishAllPorts", 'b', "false", NULL},
    {"ReadonlyRootfs", 'b', "false",
     "--read-only is not supported: a container's root disk is writable"},
    {"SecurityOpt", 'a', "null", NULL},
    {"StorageOpt", 'o', NULL,
     "--storage-opt is not supported: a container's root disk is made by its VCH"},
    {"Tmpfs", 'o', NULL, "--tmpfs is not supported: mount a volume there instead"},
    {"UTSMode", 's', "\"\"", "--uts is not supported: " OWN_VM ", with a hostname of its own"},
    {"UsernsMode", 's', "\"\"", "--userns is not supported: " OWN_VM ", with users of its own"},
    {"ShmSize", 'i', "67108864", NULL},
    {"Sysctls", 'o', NULL, "--sysctl is not supported: a container's kernel settings are its VM's"},
    {"Runtime", 's', "\"runc\"", NULL},
    {"ConsoleSize", 'a', "[0, 0]", NULL},
    {"Isolation", 's', "\"\"", NULL},
    {"CpuShares", 'i', "0", NULL},
    {"Memory", 'i', "0", NULL},
    {"NanoCpus", 'i', "0", NULL},
    {"CgroupParent", 's', "\"\"",
     "--cgroup-parent is not supported: a container's VM is in its VCH's resource pool"},
    {"BlkioWeight", 'i', "0", "--blkio-weight is not supported: " NO_BLKIO},
    {"BlkioWeightDevice", 'a', "null", "--blkio-weight-device is not supported: " NO_BLKIO},
    {"BlkioDeviceReadBps", 'a', "null", "--device-read-bps is not supported: " NO_BLKIO},
    {"BlkioDeviceWriteBps", 'a', "null", "--device-write-bps is not supported: " NO_BLKIO},
    {"BlkioDeviceReadIOps", 'a', "null", "--device-read-iops is not supported: " NO_BLKIO},
    {"BlkioDeviceWriteIOps", 'a', "null", "--device-write-iops is not supported: " NO_BLKIO},
    {"CpuPeriod", 'i', "0", NULL},
    {"CpuQuota", 'i', "0", NULL},
    {"CpuRealtimePeriod", 'i', "0", "--cpu-rt-period is not supported: " WHOLE_VM},
    {"CpuRealtimeRuntime", 'i', "0", "--cpu-rt-runtime is not supported: " WHOLE_VM},
    {"CpusetCpus", 's', "\"\"", "--cpuset-cpus is not supported: " WHOLE_VM},
    {"CpusetMems", 's', "\"\"", "--cpuset-mems is not supported: " WHOLE_VM},
    {"Devices", 'a', "null", "--device is not supported: " NO_DEVICE},
    {"DeviceCgroupRules", 'a', "null", "--device-cgroup-rule is not supported: " NO_DEVICE},
    {"DeviceRequests", 'a', "null", "--gpus is not supported: " NO_DEVICE},
    {"KernelMemory", 'i', "0", "--kernel-memory is not supported: " WHOLE_VM},
    {"KernelMemoryTCP", 'i', "0", "KernelMemoryTCP is not supported: " WHOLE_VM},
    {"MemoryReservation", 'i', "0", "--memory-reservation is not supported: " WHOLE_VM},
    {"MemorySwap", 'i', "0", NULL},
    {"MemorySwappiness", 'i', "null", NULL},
    {"OomKillDisable", 'b', "false", "--oom-kill-disable is not supported: " OWN_VM},
    {"PidsLimit", 'i', "null", NULL},
    {"Ulimits", 'a', "null", "--ulimit is not supported: a container's limits are its VM's"},
    {"CpuCount", 'i', "0", "--cpu-count is not supported: " WHOLE_VM},
    {"CpuPercent", 'i', "0", "--cpu-percent is not supported: " WHOLE_VM},
    {"IOMaximumIOps", 'i', "0", "--io-maxiops is not supported: " NO_BLKIO},
    {"IOMaximumBandwidth", 'i', "0", "--io-maxbandwidth is not supported: " NO_BLKIO},
    {"Mounts", 'a', NULL, NULL},
    {"MaskedPaths", 'a', "null",
     "MaskedPaths is not supported: a container's /proc is its VM's (systempaths=unconfined "
     "is)"},
    {"ReadonlyPaths", 'a', "null",
     "ReadonlyPaths is not supported: a container's /proc is its VM's (systempaths=unconfined "
     "is)"},
    {"Init", 'b', NULL, NULL},
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static int type_ok(const json_t *v, char type)
{
    switch (type) {
    case 's':
        return json_is_string(v);
    case 'i':
        return json_is_integer(v);
    case 'b':
        return json_is_boolean(v);
    case 'a':
        return json_is_array(v);
    default:
        return json_is_object(v);
    }
}

static const char *type_name(char type)
{
    return type == 's'   ? "a string"
           : type == 'i' ? "an integer"
           : type == 'b' ? "a boolean"
           : type == 'a' ? "a list"
                         : "an object";
}

/* Whether v says nothing: absent, null, false, 0, "", [] or {}. */
static int empty(const json_t *v)
{
    return v == NULL || json_is_null(v) || json_is_false(v) ||
           (json_is_integer(v) && json_integer_value(v) == 0) ||
           (json_is_string(v) && json_string_length(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0);
}

static int restart_policy_check(const json_t *policy, vic_err **err)
{
    if (policy == NULL || json_is_null(policy))
        return 0;
    if (!json_is_object(policy))
        return vic_err_set(err, VIC_EINVAL, "invalid RestartPolicy: an object");
    const json_t *jn = json_object_get(policy, "Name");
    const json_t *jc = json_object_get(policy, "MaximumRetryCount");
    if ((jn && !json_is_string(jn) && !json_is_null(jn)) ||
        (jc && !json_is_integer(jc) && !json_is_null(jc)))
        return vic_err_set(err, VIC_EINVAL,
                           "invalid RestartPolicy: Name is a string, MaximumRetryCount a number");
    const char *name = json_is_string(jn) ? json_string_value(jn) : "";
    json_int_t count = json_integer_value(jc);
    if (strcmp(name, "always") == 0 || strcmp(name, "unless-stopped") == 0 ||
        strcmp(name, "no") == 0) {
        if (count != 0)
            return vic_err_set(err, VIC_EINVAL,
                               "maximum retry count cannot be used with restart policy '%s'", name);
        return 0;
    }
    if (strcmp(name, "on-failure") == 0) {
        if (count < 0)
            return vic_err_set(err, VIC_EINVAL, "maximum retry count cannot be negative");
        return 0;
    }
    if (*name == '\0')
        return 0;
    return vic_err_set(err, VIC_EINVAL, "invalid restart policy '%.64s'", name);
}

/* A limit in bytes: absent, null or 0 (no limit), or at least ENGINE_MIN_MEMORY. */
static int memory_check(const json_t *host, const char *key, const char *what, vic_err **err)
{
    const json_t *v = json_object_get(host, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return vic_err_set(err, VIC_EINVAL, "invalid %s: a number of bytes", key);
    json_int_t n = json_integer_value(v);
    if (n != 0 && n < ENGINE_MIN_MEMORY)
        return vic_err_set(err, VIC_EINVAL, "Minimum %s allowed is 6MB", what);
    return 0;
}

/* Docker's swap and memory checks, then what a VM without swap can do: a MemorySwap equal to
 * Memory (no swap) or unlimited (-1), no swappiness. */
static int swap_check(const json_t *host, vic_err **err)
{
    json_int_t mem = json_integer_value(json_object_get(host, "Memory"));
    json_int_t swap = json_integer_value(json_object_get(host, "MemorySwap"));
    if (swap > 0 && mem == 0)
        return vic_err_set(err, VIC_EINVAL,
                           "You should always set the Memory limit when using Memoryswap limit, "
                           "see usage");
    if (swap > 0 && swap < mem)
        return vic_err_set(
            err, VIC_EINVAL,
            "Minimum memoryswap limit should be larger than memory limit, see usage");
    if (swap > mem)
        return vic_err_set(err, VIC_EINVAL,
                           "--memory-swap is not supported: " NO_SWAP
                           " (give it the memory limit, or leave it out)");
    const json_t *sw = json_object_get(host, "MemorySwappiness");
    if (json_is_integer(sw) && json_integer_value(sw) != -1) {
        json_int_t v = json_integer_value(sw);
        if (v < 0 || v > 100)
            return vic_err_set(err, VIC_EINVAL,
                               "Invalid value: %lld, valid memory swappiness range is 0-100",
                               (long long)v);
        return vic_err_set(err, VIC_EINVAL, "--memory-swappiness is not supported: " NO_SWAP);
    }
    return 0;
}

/* Docker's checks of --cpus, --cpu-period and --cpu-quota. */
static int cpu_check(const json_t *host, vic_err **err)
{
    json_int_t nano = json_integer_value(json_object_get(host, "NanoCpus"));
    json_int_t period = json_integer_value(json_object_get(host, "CpuPeriod"));
    json_int_t quota = json_integer_value(json_object_get(host, "CpuQuota"));
    if (nano != 0 && period != 0)
        return vic_err_set(err, VIC_EINVAL,
                           "Conflicting options: Nano CPUs and CPU Period cannot both be set");
    if (nano != 0 && quota != 0)
        return vic_err_set(err, VIC_EINVAL,
                           "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    if (nano < 0 || nano > (json_int_t)ENGINE_MAX_CPUS * 1000000000)
        return vic_err_set(err, VIC_EINVAL,
                           "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs "
                           "available",
                           ENGINE_MAX_CPUS, ENGINE_MAX_CPUS);
    if (period != 0 && (period < 1000 || period > 1000000))
        return vic_err_set(err, VIC_EINVAL,
                           "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1 "
                           "second (i.e. 1000000)");
    if (quota > 0 && quota < 1000)
        return vic_err_set(err, VIC_EINVAL, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
    if (engine_hostconfig_cpu_millis(host) > (int64_t)ENGINE_MAX_CPUS * 1000)
        return vic_err_set(err, VIC_EINVAL, "--cpu-quota asks for more than %d CPUs",
                           ENGINE_MAX_CPUS);
    return 0;
}

/* The options that take a few values a VCH can honour. */
static int modes_check(const json_t *host, vic_err **err)
{
    const json_t *log = json_object_get(host, "LogConfig");
    const json_t *jt = json_object_get(log, "Type"), *opts = json_object_get(log, "Config");
    if ((jt && !json_is_string(jt) && !json_is_null(jt)) ||
        (opts && !json_is_object(opts) && !json_is_null(opts)))
        return vic_err_set(err, VIC_EINVAL,
                           "invalid LogConfig: {\"Type\": a string, \"Config\": an object}");
    const char *type = json_string_value(jt);
    if (type && *type && strcmp(type, "json-file") != 0)
        return vic_err_set(err, VIC_EINVAL,
                           "log driver %.64s is not supported: a VCH keeps a container's output "
                           "in its VM's serial log, which docker logs reads (json-file)",
                           type);
    if (!empty(opts)) {
        const char *first = json_object_iter_key(json_object_iter((json_t *)opts));
        return vic_err_set(err, VIC_EINVAL,
                           "log option %.64s is not supported: a VCH keeps a container's output "
                           "in its VM's serial log, whose size it limits itself",
                           first);
    }
    const char *driver = vic_json_str(host, "VolumeDriver");
    if (driver && *driver && strcmp(driver, "vsphere") != 0 && strcmp(driver, "local") != 0)
        return vic_err_set(err, VIC_EINVAL,
                           "volume driver %.64s is not available: a VCH's volumes use the vsphere "
                           "driver",
                           driver);
    const char *ipc = vic_json_str(host, "IpcMode");
    if (ipc && *ipc && strcmp(ipc, "private") != 0 && strcmp(ipc, "shareable") != 0)
        return vic_err_set(err, VIC_EINVAL, "--ipc %.64s is not supported: " OWN_VM, ipc);
    const char *cgns = vic_json_str(host, "CgroupnsMode");
    if (cgns && *cgns && strcmp(cgns, "private") != 0)
        return vic_err_set(err, VIC_EINVAL, "--cgroupns %.64s is not supported: " OWN_VM, cgns);
    const char *iso = vic_json_str(host, "Isolation");
    if (iso && *iso && strcmp(iso, "default") != 0)
        return vic_err_set(err, VIC_EINVAL,
                           "Invalid isolation: \"%.64s\" - linux only supports 'default'", iso);
    const char *rt = vic_json_str(host, "Runtime");
    if (rt && *rt && strcmp(rt, "runc") != 0)
        return vic_err_set(err, VIC_EINVAL, "unknown or invalid runtime name: %.64s", rt);
    json_int_t shm = json_integer_value(json_object_get(host, "ShmSize"));
    if (shm < 0)
        return vic_err_set(err, VIC_EINVAL, "SHM size can not be less than 0");
    if (shm != 0 && shm != ENGINE_SHM_SIZE)
        return vic_err_set(err, VIC_EINVAL,
                           "--shm-size is not supported: a container's /dev/shm is 64 MiB");
    if (cpu_check(host, err) < 0)
        return VIC_EINVAL;
    const json_t *cs = json_object_get(host, "ConsoleSize");
    if (json_is_array(cs) &&
        (json_array_size(cs) != 2 || !json_is_integer(json_array_get(cs, 0)) ||
         !json_is_integer(json_array_get(cs, 1)) || json_integer_value(json_array_get(cs, 0)) < 0 ||
         json_integer_value(json_array_get(cs, 1)) < 0))
        return vic_err_set(err, VIC_EINVAL, "invalid ConsoleSize: [height, width]");
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(host, "VolumesFrom"), i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0)
            return vic_err_set(err, VIC_EINVAL, "invalid VolumesFrom: a list of container names");
    }
    return 0;
}

int engine_hostconfig_check(const json_t *host, vic_err **err)
{
    if (host == NULL || json_is_null(host))
        return 0;
    if (!json_is_object(host))
        return vic_err_set(err, VIC_EINVAL, "invalid HostConfig: an object");
    int rc = restart_policy_check(json_object_get(host, "RestartPolicy"), err);
    if (rc == 0)
        rc = memory_check(host, "Memory", "memory limit", err);
    if (rc == 0)
        rc = memory_check(host, "MemoryReservation", "memory reservation", err);
    for (size_t i = 0; rc == 0 && i < N_FIELDS; i++) {
        const json_t *v = json_object_get(host, fields[i].name);
        if (v == NULL || json_is_null(v))
            continue;
        if (!type_ok(v, fields[i].type))
            rc = vic_err_set(err, VIC_EINVAL, "invalid %s: %s", fields[i].name,
                             type_name(fields[i].type));
    }
    if (rc == 0)
        rc = swap_check(host, err);
    if (rc == 0)
        rc = modes_check(host, err);
    for (size_t i = 0; rc == 0 && i < N_FIELDS; i++)
        if (fields[i].refusal && !empty(json_object_get(host, fields[i].name)))
            rc = vic_err_set(err, VIC_EINVAL, "%s", fields[i].refusal);
    return rc;
}

/* Docker's checks of a Healthcheck (its daemon's validateHealthCheck), and the shape of its
 * fields. */
static int health_check(const json_t *hc, vic_err **err)
{
    if (hc == NULL || json_is_null(hc))
        return 0;
    if (!json_is_object(hc))
        return vic_err_set(err, VIC_EINVAL, "invalid Healthcheck: an object");
    const json_t *test = json_object_get(hc, "Test");
    size_t i;
    const json_t *v;
    if (test && !json_is_null(test) && !json_is_array(test))
        return vic_err_set(err, VIC_EINVAL, "invalid Healthcheck.Test: a list of strings");
    json_array_foreach(test, i, v)
    {
        if (!json_is_string(v))
            return vic_err_set(err, VIC_EINVAL, "invalid Healthcheck.Test: a list of strings");
    }
    const char *kind = json_string_value(json_array_get(test, 0));
    if (kind && (strcmp(kind, "CMD") == 0 || strcmp(kind, "CMD-SHELL") == 0) &&
        json_string_length(json_array_get(test, 1)) == 0)
        return vic_err_set(err, VIC_EINVAL, "invalid Healthcheck.Test: %s needs a command", kind);
    static const char *const durations[] = {"Interval", "Timeout", "StartPeriod", "StartInterval"};
    for (size_t k = 0; k < 4; k++) {
        const json_t *d = json_object_get(hc, durations[k]);
        if (d && !json_is_null(d) && !json_is_integer(d))
            return vic_err_set(err, VIC_EINVAL, "invalid Healthcheck.%s: nanoseconds",
                               durations[k]);
        json_int_t ns = json_integer_value(d);
        if (ns < 0 || (ns != 0 && ns < 1000000))
            return vic_err_set(err, VIC_EINVAL, "%s in Healthcheck cannot be less than 1ms",
                               durations[k]);
    }
    const json_t *r = json_object_get(hc, "Retries");
    if (r && !json_is_null(r) && !json_is_integer(r))
        return vic_err_set(err, VIC_EINVAL, "invalid Healthcheck.Retries: a number");
    if (json_integer_value(r) < 0)
        return vic_err_set(err, VIC_EINVAL, "Retries in Healthcheck cannot be negative");
    return 0;
}

int engine_config_check(const json_t *b, vic_err **err)
{
    const char *mac = vic_json_str(b, "MacAddress");
    unsigned char hw[6];
    if (mac && *mac && vic_mac_parse(mac, hw) < 0)
        return vic_err_set(err, VIC_EINVAL, "%.64s is not a valid mac address", mac);
    const json_t *st = json_object_get(b, "StopTimeout");
    if (st && !json_is_null(st) && !json_is_integer(st))
        return vic_err_set(err, VIC_EINVAL, "invalid StopTimeout: a number of seconds");
    const json_t *labels = json_object_get(b, "Labels");
    const char *k;
    const json_t *v;
    if (labels && !json_is_null(labels) && !json_is_object(labels))
        return vic_err_set(err, VIC_EINVAL, "invalid Labels: an object of strings");
    json_object_foreach((json_t *)labels, k, v)
    {
        if (!json_is_string(v))
            return vic_err_set(err, VIC_EINVAL, "invalid Labels: %.64s is not a string", k);
    }
    const char *domain = vic_json_str(b, "Domainname");
    if (domain && *domain)
        return vic_err_set(err, VIC_EINVAL,
                           "--domainname is not supported: a container's VM has a hostname only");
    int rc = health_check(json_object_get(b, "Healthcheck"), err);
    if (rc < 0)
        return rc;
    if (json_is_true(json_object_get(b, "NetworkDisabled")))
        return vic_err_set(err, VIC_EINVAL, "NetworkDisabled is not supported: use --network none");
    return 0;
}

json_t *engine_hostconfig_zero(void)
{
    json_t *out = json_object();
    for (size_t i = 0; i < N_FIELDS; i++)
        if (fields[i].zero)
            json_object_set_new(out, fields[i].name,
                                json_loads(fields[i].zero, JSON_DECODE_ANY, NULL));
    return out;
}

/* v (a checked value of field f) as Docker keeps it: the defaults an empty value stands for
 * filled in (a LogConfig without a type is json-file, a restart policy without a name is
 * "no", an empty NetworkMode, IpcMode, Runtime or ShmSize the default). New reference. */
static json_t *normal(const hc_field *f, const json_t *v)
{
    if (strcmp(f->name, "LogConfig") == 0 || strcmp(f->name, "RestartPolicy") == 0) {
        int log = f->name[0] == 'L';
        const char *k1 = log ? "Type" : "Name", *k2 = log ? "Config" : "MaximumRetryCount";
        const char *name = vic_json_str(v, k1);
        json_t *second = json_object_get(v, k2);
        json_t *out = json_pack("{s:s}", k1, name && *name ? name : log ? "json-file" : "no");
        json_object_set_new(out, k2,
                            second && !json_is_null(second) ? json_incref(second)
                            : log                           ? json_object()
                                                            : json_integer(0));
        return out;
    }
    if (empty(v) && f->zero && (f->type == 's' || f->type == 'i'))
        return json_loads(f->zero, JSON_DECODE_ANY, NULL);
    return json_incref((json_t *)v);
}

json_t *engine_hostconfig_given(const json_t *host)
{
    json_t *out = json_object();
    for (size_t i = 0; i < N_FIELDS; i++) {
        const json_t *v = json_object_get(host, fields[i].name);
        if (v == NULL || (fields[i].zero == NULL && json_is_null(v)))
            continue;
        json_t *zero cleanup_json =
            fields[i].zero ? json_loads(fields[i].zero, JSON_DECODE_ANY, NULL) : NULL;
        json_t *n cleanup_json = normal(&fields[i], v);
        if (zero == NULL || !json_equal(zero, n))
            json_object_set(out, fields[i].name, n);
    }
    return out;
}

int64_t engine_hostconfig_cpu_millis(const json_t *host)
{
    json_int_t nano = json_integer_value(json_object_get(host, "NanoCpus"));
    json_int_t period = json_integer_value(json_object_get(host, "CpuPeriod"));
    json_int_t quota = json_integer_value(json_object_get(host, "CpuQuota"));
    if (nano > 0)
        return (nano + 999999) / 1000000;
    if (quota > 0)
        return (quota * 1000 + (period ? period : 100000) - 1) / (period ? period : 100000);
    return 0;
}

int engine_hostconfig_cpu_shares(const json_t *host)
{
    json_int_t v = json_integer_value(json_object_get(host, "CpuShares"));
    return v <= 0 ? 0 : v < 2 ? 2 : v > 262144 ? 262144 : (int)v; /* the kernel's range */
}

int64_t engine_hostconfig_pids_limit(const json_t *host)
{
    json_int_t v = json_integer_value(json_object_get(host, "PidsLimit"));
    return v > 0 ? v : 0; /* 0 and -1 are Docker's "no limit" */
}

json_t *engine_hostconfig_restart_policy(const json_t *host)
{
    const json_t *policy = json_object_get(host, "RestartPolicy");
    const char *name = json_string_value(json_object_get(policy, "Name"));
    if (name == NULL || *name == '\0')
        return NULL;
    return json_pack("{s:s, s:I}", "name", name, "maximum_retry_count",
                     (json_int_t)json_integer_value(json_object_get(policy, "MaximumRetryCount")));
}
