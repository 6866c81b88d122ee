#include "vic-machine/flags.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/mem.h"

/* Long-only options every command takes (beyond the single-letter codes). */
enum {
    OPT_USER = 256,
    OPT_PASSWORD,
    OPT_THUMBPRINT,
    OPT_APPLIANCE_ISO,
    OPT_PUBLIC_IP,
    OPT_NO_VOLUME_STORE,
};

#define TARGET_OPTIONS                                                                             \
    {"user", required_argument, 0, OPT_USER}, {"password", required_argument, 0, OPT_PASSWORD},    \
        {"thumbprint", required_argument, 0, OPT_THUMBPRINT},                                      \
    {                                                                                              \
        "appliance-iso", required_argument, 0, OPT_APPLIANCE_ISO                                   \
    }

const char *const vm_common_help =
    "Common options:\n"
    "  --target TARGET       where VCHs live: local (default, this machine), or HOST[:PORT]\n"
    "                        of a vCenter or ESX server\n"
    "  --user USER           vSphere user name\n"
    "  --password PASSWORD   vSphere password (better: set VIC_MACHINE_PASSWORD; never\n"
    "                        printed or logged)\n"
    "  --thumbprint SHA1     the vSphere server certificate's thumbprint (AA:BB:...), for a\n"
    "                        certificate no trusted CA signed; a mismatch names the real one\n"
    "  --appliance-iso FILE  vSphere: the appliance ISO to upload (default: appliance.iso\n"
    "                        in the bin directory)\n"
    "  --home DIR            local state: the task record and client certificates\n"
    "                        ($VIC_HOME; default ./var)\n"
    "  --bin-dir DIR         where the VIC-C binaries are (default: beside vic-machine)\n"
    "  -h, --help            show this help\n";

/* The options of a vSphere target; 0 when o is one of them. */
static int target_opt(vm_common *c, int o, char *arg)
{
    switch (o) {
    case OPT_USER:
        c->user = arg;
        return 0;
    case OPT_PASSWORD:
        vic_free_secret(c->password);
        c->password = xstrdup(arg);
        memset(arg, 0, strlen(arg)); /* out of /proc/PID/cmdline */
        return 0;
    case OPT_THUMBPRINT:
        c->thumbprint = arg;
        return 0;
    case OPT_APPLIANCE_ISO:
        c->appliance_iso = arg;
        return 0;
    default:
        return -1;
    }
}

/* ---- the options every command shares ---- */

static void usage_simple(FILE *f, const char *cmd, const char *args, const char *what,
                         const char *extra)
{
    /* every command but ui works on one VCH */
    fprintf(f, "Usage: vic-machine %s %s\n\n%s\n\nOptions:\n%s%s%s", cmd, args, what, extra,
            strcmp(cmd, "ui") == 0 ? "" : "  --name NAME | --id ID   the VCH\n", vm_common_help);
}

int vm_parse_common(int argc, char **argv, vm_common *c, const struct option *extra, size_t n_extra,
                    vm_opt_fn fn, void *payload, const char *cmd, const char *args,
                    const char *what, const char *extra_help, const char **positional)
{
    struct option opts[32];
    static const struct option base[] = {
        {"name", required_argument, 0, 'n'},    {"id", required_argument, 0, 'i'},
        {"target", required_argument, 0, 'X'},  {"home", required_argument, 0, 'H'},
        {"bin-dir", required_argument, 0, 'B'}, {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},          TARGET_OPTIONS,
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
        opts[n++] = base[i];
    for (size_t i = 0; i < n_extra && n < 31; i++)
        opts[n++] = extra[i];
    memset(&opts[n], 0, sizeof(opts[n]));
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (target_opt(c, o, optarg) == 0)
            continue;
        switch (o) {
        case 'n':
            c->name = optarg;
            break;
        case 'i':
            c->id = optarg;
            break;
        case 'X':
            c->target = optarg;
            break;
        case 'H':
            c->home = optarg;
            break;
        case 'B':
            c->bin_dir = optarg;
            break;
        case 'j':
            c->json = 1;
            break;
        case 'h':
            usage_simple(c->out, cmd, args, what, extra_help);
            return VM_HELP;
        default:
            if (o != '?' && fn && fn(o, optarg, payload) == 0)
                break;
            usage_simple(c->err, cmd, args, what, extra_help);
            return VM_EXIT_USAGE;
        }
    }
    if (positional && optind < argc)
        *positional = argv[optind++];
    if (optind < argc) {
        fprintf(c->err, "vic-machine %s: unexpected argument %s\n", cmd, argv[optind]);
        return VM_EXIT_USAGE;
    }
    return 0;
}

const char *vm_vch_of(const vm_common *c, const char *cmd)
{
    const char *v = c->id ? c->id : c->name;
    if (v == NULL)
        fprintf(c->err, "vic-machine %s: say which VCH with --name or --id\n", cmd);
    return v;
}

/* ---- spec building ---- */

static json_t *obj(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

static json_t *arr(json_t *parent, const char *key)
{
    json_t *a = json_object_get(parent, key);
    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(parent, key, a);
    }
    return a;
}

/* "1024" or "1024MB"/"4GB" (memory) into an integer of base units; -1 when malformed. */
static long long parse_size(const char *s, int memory)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || v <= 0)
        return -1;
    if (*end == '\0' || strcasecmp(end, memory ? "MB" : "MHz") == 0 ||
        (memory && strcasecmp(end, "MiB") == 0))
        return v;
    if (strcasecmp(end, memory ? "GB" : "GHz") == 0 || (memory && strcasecmp(end, "GiB") == 0))
        return v * 1024;
    return -1;
}

/* "datastore/path:label" (the original's form) or "label:datastore/path". */
static json_t *volume_store_arg(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == '\0')
        return NULL;
    if (strchr(colon + 1, '/') == NULL && strncmp(s, "ds://", 5) != 0)
        return json_pack("{s:s%, s:s}", "datastore", s, (size_t)(colon - s), "label", colon + 1);
    if (strncmp(s, "ds://", 5) == 0) {
        const char *c = strrchr(s + 5, ':');
        if (c == NULL)
            return NULL;
        return json_pack("{s:s%, s:s}", "datastore", s, (size_t)(c - s), "label", c + 1);
    }
    const char *first = strchr(s, ':');
    return json_pack("{s:s, s:s%}", "datastore", first + 1, "label", s, (size_t)(first - s));
}

/* ---- create ---- */

static void usage_create(FILE *f)
{
    fprintf(f,
            "Usage: vic-machine create --name NAME [OPTIONS]\n\n"
            "Creates a Virtual Container Host: a resource pool and an appliance serving the\n"
            "Docker API. Shows each step as it runs; on success prints the docker env lines.\n\n"
            "Options:\n"
            "  --name NAME                 the VCH's name (default virtual-container-host)\n"
            "  --compute-resource PATH     resource pool or compute resource to create it in\n"
            "  --image-store DS[/PATH]     datastore for images (default datastore1)\n"
            "  --volume-store DS/PATH:LABEL  a volume store (repeatable; label default makes\n"
            "                              anonymous volumes possible). Default on the local\n"
            "                              target: DS/NAME/volumes/default:default, in the\n"
            "                              VCH's own folder (deleted with the VCH)\n"
            "  --no-volume-store           no volume store (docker volume create then fails)\n"
            "  --bridge-network NAME       bridge network (default bridge)\n"
            "  --bridge-network-range CIDR containers' bridge range (default 172.16.0.0/12)\n"
            "  --public-network NAME       public network (default \"VM Network\")\n"
            "  --public-network-ip IP[/N]  the appliance's static address on it (vSphere;\n"
            "                              default: DHCP, the address the appliance reports)\n"
            "  --cpu MHZ                   CPU limit of the VCH's pool (default unlimited)\n"
            "  --cpu-reservation MHZ       CPU reservation\n"
            "  --memory MB                 memory limit of the VCH's pool (default unlimited)\n"
            "  --memory-reservation MB     memory reservation\n"
            "  --endpoint-cpu N            appliance vCPUs (default 1)\n"
            "  --endpoint-memory MB        appliance memory (default 2048)\n"
            "  --tls-cname NAME            server certificate common name (default: the name)\n"
            "  --organization ORG          certificate organization\n"
            "  --certificate-key-size BITS server certificate key size (default 2048)\n"
            "  --no-tls                    serve docker over plain HTTP on 2375 (not advised)\n"
            "  --no-tlsverify              do not require client certificates\n"
            "  --insecure-registry HOST    allow plain HTTP to a registry (repeatable)\n"
            "  --registry-ca FILE          trust this CA for registries (repeatable)\n"
            "  --syslog-address URL        tcp://HOST:PORT or udp://HOST:PORT\n"
            "  --debug LEVEL               0-3 (default 0)\n"
            "  --timeout SECONDS           how long to wait for the appliance's components\n"
            "                              (default 60)\n"
            "  --json                      print the result as JSON\n\n%s",
            vm_common_help);
}

static const struct option create_opts[] = {
    {"name", required_argument, 0, 'n'},
    {"compute-resource", required_argument, 0, 'r'},
    {"image-store", required_argument, 0, 'i'},
    {"volume-store", required_argument, 0, 'v'},
    {"no-volume-store", no_argument, 0, OPT_NO_VOLUME_STORE},
    {"bridge-network", required_argument, 0, 'b'},
    {"bridge-network-range", required_argument, 0, 'R'},
    {"public-network", required_argument, 0, 'p'},
    {"cpu", required_argument, 0, 'c'},
    {"cpu-reservation", required_argument, 0, 'C'},
    {"memory", required_argument, 0, 'm'},
    {"memory-reservation", required_argument, 0, 'M'},
    {"endpoint-cpu", required_argument, 0, 'e'},
    {"endpoint-memory", required_argument, 0, 'E'},
    {"tls-cname", required_argument, 0, 'N'},
    {"organization", required_argument, 0, 'o'},
    {"certificate-key-size", required_argument, 0, 'k'},
    {"no-tls", no_argument, 0, 'T'},
    {"no-tlsverify", no_argument, 0, 'V'},
    {"insecure-registry", required_argument, 0, 'I'},
    {"registry-ca", required_argument, 0, 'A'},
    {"syslog-address", required_argument, 0, 's'},
    {"debug", required_argument, 0, 'd'},
    {"timeout", required_argument, 0, 't'},
    {"force", no_argument, 0, 'f'},
    {"json", no_argument, 0, 'j'},
    {"target", required_argument, 0, 'X'},
    {"home", required_argument, 0, 'H'},
    {"bin-dir", required_argument, 0, 'B'},
    {"help", no_argument, 0, 'h'},
    {"public-network-ip", required_argument, 0, OPT_PUBLIC_IP},
    TARGET_OPTIONS,
    {0, 0, 0, 0},
};

/* A compute limit or reservation: --cpu (c), --cpu-reservation (C), --memory (m),
 * --memory-reservation (M). */
static int compute_flag(vm_common *c, json_t *spec, int o, const char *arg)
{
    long long v = parse_size(arg, o == 'm' || o == 'M');
    if (v < 0) {
        fprintf(c->err, "vic-machine create: %s: not a size\n", arg);
        return VM_EXIT_USAGE;
    }
    json_object_set_new(obj(obj(spec, "compute"), o == 'c' || o == 'C' ? "cpu" : "memory"),
                        o == 'c' || o == 'm' ? "limit" : "reservation",
                        json_pack("{s:I, s:s}", "value", (json_int_t)v, "units",
                                  o == 'c' || o == 'C' ? "MHz" : "MiB"));
    return 0;
}

/* The flags that name places: stores and networks. 1 when o is none of them. */
static int place_flag(vm_common *c, json_t *spec, int o, const char *arg)
{
    switch (o) {
    case OPT_PUBLIC_IP:
        json_object_set_new(obj(obj(spec, "network"), "public"), "static", json_string(arg));
        return 0;
    case 'r':
        json_object_set_new(obj(spec, "compute"), "resource", json_pack("{s:s}", "name", arg));
        return 0;
    case 'i':
        json_array_append_new(arr(obj(spec, "storage"), "image_stores"), json_string(arg));
        return 0;
    case 'v': {
        json_t *vs = volume_store_arg(arg);
        if (vs == NULL) {
            fprintf(c->err,
                    "vic-machine create: --volume-store %s: expected "
                    "DATASTORE/PATH:LABEL\n",
                    arg);
            return VM_EXIT_USAGE;
        }
        json_t *list = json_object_get(obj(spec, "storage"), "volume_stores");
        if (list && json_array_size(list) == 0) {
            json_decref(vs);
            fprintf(c->err, "vic-machine create: --volume-store and --no-volume-store "
                            "contradict each other\n");
            return VM_EXIT_USAGE;
        }
        json_array_append_new(arr(obj(spec, "storage"), "volume_stores"), vs);
        return 0;
    }
    case OPT_NO_VOLUME_STORE:
        /* an empty list, where an absent one gets the target's default */
        if (json_array_size(arr(obj(spec, "storage"), "volume_stores"))) {
            fprintf(c->err, "vic-machine create: --volume-store and --no-volume-store "
                            "contradict each other\n");
            return VM_EXIT_USAGE;
        }
        return 0;
    case 'b':
        json_object_set_new(obj(obj(spec, "network"), "bridge"), "port_group",
                            json_pack("{s:s}", "name", arg));
        return 0;
    case 'R':
        json_object_set_new(obj(obj(spec, "network"), "bridge"), "ip_range", json_string(arg));
        return 0;
    case 'p':
        json_object_set_new(obj(obj(spec, "network"), "public"), "port_group",
                            json_pack("{s:s}", "name", arg));
        return 0;
    default:
        return 1;
    }
}

/* The flags of the endpoint, its certificate and registries. 1 when o is none of them. */
static int endpoint_flag(vm_common *c, json_t *spec, int o, const char *arg)
{
    long long v;
    switch (o) {
    case 'e':
        v = strtoll(arg, NULL, 10);
        json_object_set_new(obj(obj(spec, "endpoint"), "cpu"), "sockets", json_integer(v));
        return 0;
    case 'd':
        json_object_set_new(spec, "debug", json_integer(strtoll(arg, NULL, 10)));
        return 0;
    case 'k':
        v = strtoll(arg, NULL, 10);
        json_object_set_new(obj(obj(obj(spec, "auth"), "server"), "generate"), "size",
                            json_integer(v));
        return 0;
    case 'E':
        v = parse_size(arg, 1);
        if (v < 0) {
            fprintf(c->err, "vic-machine create: %s: not a size\n", arg);
            return VM_EXIT_USAGE;
        }
        json_object_set_new(obj(spec, "endpoint"), "memory",
                            json_pack("{s:I, s:s}", "value", (json_int_t)v, "units", "MiB"));
        return 0;
    case 'N':
    case 'o':
        json_object_set_new(obj(obj(obj(spec, "auth"), "server"), "generate"),
                            o == 'N' ? "cname" : "organization", json_string(arg));
        return 0;
    case 'T':
        json_object_set_new(obj(spec, "auth"), "no_tls", json_true());
        return 0;
    case 'V':
        json_object_set_new(obj(obj(spec, "auth"), "client"), "no_tls_verify", json_true());
        return 0;
    case 'I':
        json_array_append_new(arr(obj(spec, "registry"), "insecure"), json_string(arg));
        return 0;
    case 'A': {
        /* the CA goes to the VCH by content: the file is on this machine only */
        cleanup_free char *pem = NULL;
        size_t len = 0;
        vic_err *err cleanup_err = NULL;
        if (vic_file_read(&pem, &len, arg, 1 << 16, &err) < 0) {
            fprintf(c->err, "vic-machine create: --registry-ca %s: %s\n", arg, err->msg);
            return VM_EXIT_USAGE;
        }
        json_t *text = json_stringn(pem, len);
        if (text == NULL) {
            fprintf(c->err, "vic-machine create: --registry-ca %s: not a PEM text\n", arg);
            return VM_EXIT_USAGE;
        }
        json_array_append_new(arr(obj(spec, "registry"), "certificate_authorities"),
                              json_pack("{s:o}", "pem", text));
        return 0;
    }
    case 's':
        json_object_set_new(spec, "syslog_addr", json_string(arg));
        return 0;
    default:
        return 1;
    }
}

/* The flags about the run rather than the VCH. 1 when o is none of them. */
static int run_flag(vm_common *c, int o, char *arg)
{
    switch (o) {
    case 't':
        c->timeout_s = strtol(arg, NULL, 10);
        if (c->timeout_s <= 0) {
            fprintf(c->err, "vic-machine create: --timeout %s: not a number of seconds\n", arg);
            return VM_EXIT_USAGE;
        }
        return 0;
    case 'f':
        return 0;
    case 'j':
        c->json = 1;
        return 0;
    case 'X':
        c->target = arg;
        return 0;
    case 'H':
        c->home = arg;
        return 0;
    case 'B':
        c->bin_dir = arg;
        return 0;
    case 'h':
        usage_create(c->out);
        return VM_HELP;
    default:
        return target_opt(c, o, arg) == 0 ? 0 : 1;
    }
}

/* What the flags leave unsaid: the default name, and the generated server certificate unless
 * --no-tls. */
static void create_defaults(json_t *spec)
{
    if (json_object_get(spec, "name") == NULL)
        json_object_set_new(spec, "name", json_string("virtual-container-host"));
    json_t *auth = json_object_get(spec, "auth");
    if (auth && !json_is_true(json_object_get(auth, "no_tls")) &&
        json_object_get(auth, "server") == NULL)
        json_object_set_new(obj(auth, "server"), "generate", json_object());
}

int vm_create_flags(int argc, char **argv, vm_common *c, json_t **out)
{
    *out = NULL;
    json_t *spec cleanup_json = json_object();
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", create_opts, NULL)) != -1) {
        int rc;
        if (o == 'n') {
            json_object_set_new(spec, "name", json_string(optarg));
            continue;
        }
        if (o == 'c' || o == 'C' || o == 'm' || o == 'M')
            rc = compute_flag(c, spec, o, optarg);
        else if ((rc = place_flag(c, spec, o, optarg)) == 1 &&
                 (rc = endpoint_flag(c, spec, o, optarg)) == 1 &&
                 (rc = run_flag(c, o, optarg)) == 1) {
            usage_create(c->err);
            return VM_EXIT_USAGE;
        }
        if (rc)
            return rc;
    }
    if (optind < argc) {
        fprintf(c->err, "vic-machine create: unexpected argument %s\n", argv[optind]);
        return VM_EXIT_USAGE;
    }
    create_defaults(spec);
    *out = steal_ptr(spec);
    return 0;
}

/* ---- configure, debug ---- */

static int configure_opt(int o, const char *arg, void *payload)
{
    json_t *changes = payload;
    long long v;
    switch (o) {
    case 'c':
    case 'm':
    case 'C':
    case 'M':
        v = parse_size(arg, o == 'm' || o == 'M');
        if (v < 0)
            return -1;
        json_object_set_new(obj(obj(changes, "compute"), o == 'c' || o == 'C' ? "cpu" : "memory"),
                            o == 'c' || o == 'm' ? "limit" : "reservation", json_integer(v));
        return 0;
    case 'd':
        json_object_set_new(changes, "debug", json_integer(strtoll(arg, NULL, 10)));
        return 0;
    case 's':
        json_object_set_new(changes, "syslog_addr", json_string(arg));
        return 0;
    case 'I':
        json_array_append_new(arr(obj(changes, "registry"), "insecure"), json_string(arg));
        return 0;
    default:
        return -1;
    }
}

int vm_configure_flags(int argc, char **argv, vm_common *c, json_t **out)
{
    static const struct option extra[] = {{"cpu", required_argument, 0, 'c'},
                                          {"memory", required_argument, 0, 'm'},
                                          {"cpu-reservation", required_argument, 0, 'C'},
                                          {"memory-reservation", required_argument, 0, 'M'},
                                          {"debug", required_argument, 0, 'd'},
                                          {"syslog-address", required_argument, 0, 's'},
                                          {"insecure-registry", required_argument, 0, 'I'}};
    json_t *changes cleanup_json = json_object();
    *out = NULL;
    int p = vm_parse_common(
        argc, argv, c, extra, 7, configure_opt, changes, "configure", "--name NAME [OPTIONS]",
        "Changes what a live VCH can change: limits, debug, syslog, registries.",
        "  --cpu MHZ --memory MB   new pool limits\n"
        "  --cpu-reservation MHZ --memory-reservation MB\n"
        "  --debug LEVEL           0-3\n"
        "  --syslog-address URL\n"
        "  --insecure-registry HOST  (repeatable; replaces the list)\n",
        NULL);
    if (p)
        return p;
    *out = steal_ptr(changes);
    return 0;
}

static int debug_opt(int o, const char *arg, void *payload)
{
    if (o != 'd')
        return -1;
    json_object_set_new(payload, "debug", json_integer(strtoll(arg, NULL, 10)));
    return 0;
}

int vm_debug_flags(int argc, char **argv, vm_common *c, json_t **out)
{
    static const struct option extra[] = {{"level", required_argument, 0, 'd'}};
    json_t *changes cleanup_json = json_object();
    *out = NULL;
    int p = vm_parse_common(argc, argv, c, extra, 1, debug_opt, changes, "debug",
                            "--name NAME [--level N]",
                            "Sets a VCH's debug level (default 1): its components log more.",
                            "  --level N             0-3 (default 1)\n", NULL);
    if (p)
        return p;
    if (json_object_get(changes, "debug") == NULL)
        json_object_set_new(changes, "debug", json_integer(1));
    *out = steal_ptr(changes);
    return 0;
}

/* ---- delete ---- */

static int delete_opt(int o, const char *arg, void *payload)
{
    vch_delete_opts *d = payload;
    if (o == 'c' || o == 'F') {
        if (o == 'F' || strcmp(arg, "all") == 0)
            d->containers_all = 1;
        else if (strcmp(arg, "off") != 0)
            return -1;
    } else if (o == 't') {
        return 0;
    } else if (o == 'v') {
        if (strcmp(arg, "all") == 0)
            d->volume_stores_all = 1;
        else if (strcmp(arg, "none") != 0)
            return -1;
    } else {
        return -1;
    }
    return 0;
}

int vm_delete_flags(int argc, char **argv, vm_common *c, vch_delete_opts *o)
{
    static const struct option extra[] = {{"containers", required_argument, 0, 'c'},
                                          {"volume-stores", required_argument, 0, 'v'},
                                          {"force", no_argument, 0, 'F'},
                                          {"timeout", required_argument, 0, 't'}};
    *o = (vch_delete_opts){0, 0};
    return vm_parse_common(
        argc, argv, c, extra, 4, delete_opt, o, "delete", "--name NAME [OPTIONS]",
        "Deletes a VCH: its containerVMs, appliance, resource pool and image store.",
        "  --containers off|all  off (default): refuse while containers run; all: remove them\n"
        "  --volume-stores none|all  none (default) keeps volume data; all removes it.\n"
        "                        A store in the VCH's own folder (the default one) goes\n"
        "                        with the VCH either way\n"
        "  --force               same as --containers all\n",
        NULL);
}

/* ---- start, stop ---- */

static int stop_opt(int o, const char *arg, void *payload)
{
    long *grace = payload;
    char *end = NULL;
    if (o != 'g')
        return -1;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || v < 0 || v > 3600)
        return -1;
    *grace = v;
    return 0;
}

int vm_start_flags(int argc, char **argv, vm_common *c)
{
    return vm_parse_common(argc, argv, c, NULL, 0, NULL, NULL, "start", "--name NAME [OPTIONS]",
                           "Powers a stopped VCH's appliance on and waits until its Docker "
                           "endpoint answers.\nIts containers with restart policy always or "
                           "unless-stopped come back with it,\nand it comes back when its host "
                           "restarts (vic-machine stop undoes that).",
                           NULL, NULL);
}

int vm_stop_flags(int argc, char **argv, vm_common *c, long *grace_s)
{
    static const struct option extra[] = {{"grace", required_argument, 0, 'g'}};
    *grace_s = 10;
    return vm_parse_common(argc, argv, c, extra, 1, stop_opt, grace_s, "stop",
                           "--name NAME [OPTIONS]",
                           "Powers a VCH's appliance off, then its running containers, and keeps "
                           "it off,\nalso when its host restarts, until vic-machine start.",
                           "  --grace SECONDS       how long each gets to stop before it is "
                           "killed (default 10)\n",
                           NULL);
}
