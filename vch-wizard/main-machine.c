/*
 * vic-machine: create, list, inspect, reconfigure and delete Virtual Container Hosts.
 * A thin CLI over the lifecycle engine (vch.h) that vic-webservice also uses.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 bad usage, 3 the specification is invalid.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "vch-wizard/plugin.h"
#include "vch-wizard/vch.h"

#ifndef VIC_VERSION
#define VIC_VERSION "v0.1.0"
#endif

enum { EXIT_OP = 1, EXIT_USAGE = 2, EXIT_INVALID = 3 };

typedef struct common {
    const char *target;
    const char *home;
    const char *bin_dir;
    const char *name;
    const char *id;
    const char *user;
    char *password; /* owned copy; the command line's is wiped */
    const char *thumbprint;
    const char *appliance_iso;
    long timeout_s; /* create: how long to wait for the appliance */
    int json;
} common;

/* Long-only options every command takes (beyond the single-letter codes). */
enum {
    OPT_USER = 256,
    OPT_PASSWORD,
    OPT_THUMBPRINT,
    OPT_APPLIANCE_ISO,
    OPT_PUBLIC_IP,
};

#define TARGET_OPTIONS                                                                             \
    {"user", required_argument, 0, OPT_USER}, {"password", required_argument, 0, OPT_PASSWORD},    \
        {"thumbprint", required_argument, 0, OPT_THUMBPRINT},                                      \
    {                                                                                              \
        "appliance-iso", required_argument, 0, OPT_APPLIANCE_ISO                                   \
    }

static const char *common_help =
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
static int target_opt(common *c, int o, char *arg)
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

static int open_engine(vch_engine **e, common *c)
{
    vic_err *err cleanup_err = NULL;
    const char *home = c->home ? c->home : getenv("VIC_HOME") ? getenv("VIC_HOME") : "./var";
    mkdir(home, 0700);
    cleanup_free char *bin = c->bin_dir ? xstrdup(c->bin_dir) : vic_exe_dir();
    if (c->password == NULL && getenv("VIC_MACHINE_PASSWORD"))
        c->password = xstrdup(getenv("VIC_MACHINE_PASSWORD"));
    vch_engine_opts o = {.home = home,
                         .bin_dir = bin,
                         .target = c->target,
                         .user = c->user,
                         .password = c->password,
                         .thumbprint = c->thumbprint,
                         .appliance_iso = c->appliance_iso,
                         .ready_timeout_s = c->timeout_s};
    if (vch_engine_open(e, &o, &err) < 0) {
        fprintf(stderr, "vic-machine: %s\n", err->msg);
        return -1;
    }
    int fixed = 0;
    if (vch_converge(*e, &fixed, &err) < 0) {
        fprintf(stderr, "vic-machine: warning: %s\n", err->msg);
    } else if (fixed) {
        fprintf(stderr,
                "vic-machine: finished %d interrupted task%s (see vic-machine inspect --log)\n",
                fixed, fixed == 1 ? "" : "s");
    }
    return 0;
}

static int tty;

static void progress(const char *step, const char *status, const char *message, void *payload)
{
    (void)payload;
    if (tty) {
        if (strcmp(status, "started") == 0)
            printf("  ...  %-16s %s", step, message);
        else if (strcmp(status, "done") == 0)
            printf("\r\033[K  ok   %-16s %s\n", step, message);
        else if (strcmp(status, "failed") == 0)
            printf("\r\033[K  FAIL %-16s %s\n", step, message);
        else
            printf("\r\033[K  %-4s %-16s %s\n", status, step, message);
    } else {
        printf("%s %s: %s\n", step, status, message);
    }
    fflush(stdout);
}

/* ---- create ---- */

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
            "                              anonymous volumes possible)\n"
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
            common_help);
}

static int cmd_create(int argc, char **argv, common *c)
{
    json_t *spec cleanup_json = json_object();
    static const struct option opts[] = {
        {"name", required_argument, 0, 'n'},
        {"compute-resource", required_argument, 0, 'r'},
        {"image-store", required_argument, 0, 'i'},
        {"volume-store", required_argument, 0, 'v'},
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
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        long long v;
        if (target_opt(c, o, optarg) == 0)
            continue;
        switch (o) {
        case OPT_PUBLIC_IP:
            json_object_set_new(obj(obj(spec, "network"), "public"), "static", json_string(optarg));
            break;
        case 'n':
            json_object_set_new(spec, "name", json_string(optarg));
            break;
        case 'r':
            json_object_set_new(obj(spec, "compute"), "resource",
                                json_pack("{s:s}", "name", optarg));
            break;
        case 'i':
            json_array_append_new(arr(obj(spec, "storage"), "image_stores"), json_string(optarg));
            break;
        case 'v': {
            json_t *vs = volume_store_arg(optarg);
            if (vs == NULL) {
                fprintf(stderr,
                        "vic-machine create: --volume-store %s: expected "
                        "DATASTORE/PATH:LABEL\n",
                        optarg);
                return EXIT_USAGE;
            }
            json_array_append_new(arr(obj(spec, "storage"), "volume_stores"), vs);
            break;
        }
        case 'b':
            json_object_set_new(obj(obj(spec, "network"), "bridge"), "port_group",
                                json_pack("{s:s}", "name", optarg));
            break;
        case 'R':
            json_object_set_new(obj(obj(spec, "network"), "bridge"), "ip_range",
                                json_string(optarg));
            break;
        case 'p':
            json_object_set_new(obj(obj(spec, "network"), "public"), "port_group",
                                json_pack("{s:s}", "name", optarg));
            break;
        case 'c':
        case 'C':
        case 'm':
        case 'M':
            v = parse_size(optarg, o == 'm' || o == 'M');
            if (v < 0) {
                fprintf(stderr, "vic-machine create: %s: not a size\n", optarg);
                return EXIT_USAGE;
            }
            json_object_set_new(obj(obj(spec, "compute"), o == 'c' || o == 'C' ? "cpu" : "memory"),
                                o == 'c' || o == 'm' ? "limit" : "reservation",
                                json_pack("{s:I, s:s}", "value", (json_int_t)v, "units",
                                          o == 'c' || o == 'C' ? "MHz" : "MiB"));
            break;
        case 'e':
        case 'd':
        case 'k':
            v = strtoll(optarg, NULL, 10);
            if (o == 'e')
                json_object_set_new(obj(obj(spec, "endpoint"), "cpu"), "sockets", json_integer(v));
            else if (o == 'd')
                json_object_set_new(spec, "debug", json_integer(v));
            else
                json_object_set_new(obj(obj(obj(spec, "auth"), "server"), "generate"), "size",
                                    json_integer(v));
            break;
        case 'E':
            v = parse_size(optarg, 1);
            if (v < 0) {
                fprintf(stderr, "vic-machine create: %s: not a size\n", optarg);
                return EXIT_USAGE;
            }
            json_object_set_new(obj(spec, "endpoint"), "memory",
                                json_pack("{s:I, s:s}", "value", (json_int_t)v, "units", "MiB"));
            break;
        case 'N':
        case 'o':
            json_object_set_new(obj(obj(obj(spec, "auth"), "server"), "generate"),
                                o == 'N' ? "cname" : "organization", json_string(optarg));
            break;
        case 'T':
            json_object_set_new(obj(spec, "auth"), "no_tls", json_true());
            break;
        case 'V':
            json_object_set_new(obj(obj(spec, "auth"), "client"), "no_tls_verify", json_true());
            break;
        case 'I':
            json_array_append_new(arr(obj(spec, "registry"), "insecure"), json_string(optarg));
            break;
        case 'A':
            json_array_append_new(arr(obj(spec, "registry"), "certificate_authorities"),
                                  json_string(optarg));
            break;
        case 's':
            json_object_set_new(spec, "syslog_addr", json_string(optarg));
            break;
        case 't':
            c->timeout_s = strtol(optarg, NULL, 10);
            if (c->timeout_s <= 0) {
                fprintf(stderr, "vic-machine create: --timeout %s: not a number of seconds\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'f':
            break;
        case 'j':
            c->json = 1;
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
        case 'h':
            usage_create(stdout);
            return 0;
        default:
            usage_create(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vic-machine create: unexpected argument %s\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (json_object_get(spec, "name") == NULL)
        json_object_set_new(spec, "name", json_string("virtual-container-host"));
    /* the generated server certificate is the default unless --no-tls */
    json_t *auth = json_object_get(spec, "auth");
    if (auth && !json_is_true(json_object_get(auth, "no_tls")) &&
        json_object_get(auth, "server") == NULL)
        json_object_set_new(obj(auth, "server"), "generate", json_object());
    vch_engine *e = NULL;
    if (open_engine(&e, c) < 0)
        return EXIT_OP;
    vic_err *err cleanup_err = NULL;
    vch_task task;
    json_t *problems cleanup_json = NULL;
    int rc = vch_create_begin(e, spec, "admin", NULL, &task, &problems, &err);
    if (rc < 0) {
        fprintf(stderr, "vic-machine create: the VCH specification has %zu problem%s:\n",
                json_array_size(problems), json_array_size(problems) == 1 ? "" : "s");
        size_t i;
        json_t *p;
        json_array_foreach(problems, i, p)
        {
            fprintf(stderr, "  %s\n", json_string_value(p));
        }
        vch_engine_close(e);
        return rc == VIC_ECONFLICT || rc == VIC_EINVAL ? EXIT_INVALID : EXIT_OP;
    }
    if (!c->json)
        printf("Creating VCH %s (task %s)\n", task.name, task.id);
    rc = vch_create_run(e, task.id, c->json ? NULL : progress, NULL, &err);
    if (rc < 0) {
        fprintf(stderr, "vic-machine create: %s\n", err->msg);
        vch_task_clear(&task);
        vch_engine_close(e);
        return EXIT_OP;
    }
    cleanup_free char *env = NULL;
    if (vch_env(e, task.vch_id, &env, &err) == 0) {
        if (c->json) {
            json_t *out cleanup_json = NULL;
            if (vch_inspect(e, task.vch_id, &out, &err) == 0) {
                json_object_set_new(out, "env", json_string(env));
                json_dumpf(out, stdout, JSON_INDENT(2));
                printf("\n");
            }
        } else {
            printf("\nVCH %s is ready. Point docker at it:\n\n", task.name);
            char *line = env, *nl;
            while ((nl = strchr(line, '\n')) != NULL) {
                printf("export %.*s\n", (int)(nl - line), line);
                line = nl + 1;
            }
            printf("\ndocker info\n");
            json_t *model cleanup_json = NULL;
            if (vch_inspect(e, task.vch_id, &model, &err) == 0) {
                json_t *rt = json_object_get(model, "runtime");
                printf("\nAdmin portal: %s (user admin; password in %s)\n",
                       json_string_value(json_object_get(rt, "admin_portal")),
                       json_string_value(json_object_get(rt, "admin_password_file")));
            }
            vic_err_free(&err);
        }
    }
    vch_task_clear(&task);
    vch_engine_close(e);
    return 0;
}

/* ---- the others ---- */

static void usage_simple(FILE *f, const char *cmd, const char *args, const char *what,
                         const char *extra)
{
    /* every command but ui works on one VCH */
    fprintf(f, "Usage: vic-machine %s %s\n\n%s\n\nOptions:\n%s%s%s", cmd, args, what, extra,
            strcmp(cmd, "ui") == 0 ? "" : "  --name NAME | --id ID   the VCH\n", common_help);
}

/* Parses the options every command shares plus the command's own (handled by fn). */
typedef int (*opt_fn)(int o, const char *arg, void *payload);

static int parse_common_pos(int argc, char **argv, common *c, const struct option *extra,
                            size_t n_extra, opt_fn fn, void *payload, const char *cmd,
                            const char *args, const char *what, const char *extra_help,
                            const char **positional);

static int parse_common(int argc, char **argv, common *c, const struct option *extra,
                        size_t n_extra, opt_fn fn, void *payload, const char *cmd, const char *args,
                        const char *what, const char *extra_help)
{
    return parse_common_pos(argc, argv, c, extra, n_extra, fn, payload, cmd, args, what, extra_help,
                            NULL);
}

/* parse_common that also takes one positional argument into *positional (when not NULL). */
static int parse_common_pos(int argc, char **argv, common *c, const struct option *extra,
                            size_t n_extra, opt_fn fn, void *payload, const char *cmd,
                            const char *args, const char *what, const char *extra_help,
                            const char **positional)
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
            usage_simple(stdout, cmd, args, what, extra_help);
            return 1;
        default:
            if (o != '?' && fn && fn(o, optarg, payload) == 0)
                break;
            usage_simple(stderr, cmd, args, what, extra_help);
            return -1;
        }
    }
    if (positional && optind < argc)
        *positional = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "vic-machine %s: unexpected argument %s\n", cmd, argv[optind]);
        return -1;
    }
    return 0;
}

static const char *vch_of(const common *c, const char *cmd)
{
    const char *v = c->id ? c->id : c->name;
    if (v == NULL)
        fprintf(stderr, "vic-machine %s: say which VCH with --name or --id\n", cmd);
    return v;
}

static int cmd_ls(int argc, char **argv, common *c)
{
    int p = parse_common(argc, argv, c, NULL, 0, NULL, NULL, "ls", "[OPTIONS]",
                         "Lists the VCHs on the target.", "");
    if (p)
        return p > 0 ? 0 : EXIT_USAGE;
    vch_engine *e = NULL;
    if (open_engine(&e, c) < 0)
        return EXIT_OP;
    vic_err *err cleanup_err = NULL;
    json_t *list cleanup_json = NULL;
    if (vch_list(e, &list, &err) < 0) {
        fprintf(stderr, "vic-machine ls: %s\n", err->msg);
        vch_engine_close(e);
        return EXIT_OP;
    }
    if (c->json) {
        json_dumpf(list, stdout, JSON_INDENT(2));
        printf("\n");
    } else {
        printf("%-24s %-14s %-10s %-22s %-10s %s\n", "NAME", "ID", "STATE", "DOCKER HOST",
               "CONTAINERS", "VERSION");
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            printf("%-24s %-14s %-10s %-22s %-10lld %s\n",
                   json_string_value(json_object_get(v, "name")),
                   json_string_value(json_object_get(v, "id")),
                   json_string_value(json_object_get(v, "state")),
                   json_string_value(json_object_get(v, "docker_host")),
                   (long long)json_integer_value(json_object_get(v, "containers")),
                   json_string_value(json_object_get(v, "version")));
        }
    }
    vch_engine_close(e);
    return 0;
}

typedef struct inspect_opts {
    int log, env;
} inspect_opts;

static int inspect_opt(int o, const char *arg, void *payload)
{
    (void)arg;
    inspect_opts *io = payload;
    if (o == 'L')
        io->log = 1;
    else if (o == 'E')
        io->env = 1;
    else
        return -1;
    return 0;
}

static int cmd_inspect(int argc, char **argv, common *c)
{
    static const struct option extra[] = {{"log", no_argument, 0, 'L'},
                                          {"env", no_argument, 0, 'E'}};
    inspect_opts io = {0, 0};
    int p = parse_common(argc, argv, c, extra, 2, inspect_opt, &io, "inspect", "--name NAME",
                         "Shows a VCH: its configuration, state, docker endpoint and components.",
                         "  --log                 the creation log instead\n"
                         "  --env                 only the docker env lines\n");
    if (p)
        return p > 0 ? 0 : EXIT_USAGE;
    const char *id = vch_of(c, "inspect");
    if (id == NULL)
        return EXIT_USAGE;
    vch_engine *e = NULL;
    if (open_engine(&e, c) < 0)
        return EXIT_OP;
    vic_err *err cleanup_err = NULL;
    int rc;
    if (io.log || io.env) {
        cleanup_free char *text = NULL;
        rc = io.log ? vch_log(e, id, &text, &err) : vch_env(e, id, &text, &err);
        if (rc == 0)
            fputs(text, stdout);
    } else {
        json_t *out cleanup_json = NULL;
        rc = vch_inspect(e, id, &out, &err);
        if (rc == 0) {
            json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
            printf("\n");
        }
    }
    if (rc < 0)
        fprintf(stderr, "vic-machine inspect: %s\n", err->msg);
    vch_engine_close(e);
    return rc < 0 ? EXIT_OP : 0;
}

typedef struct delete_args {
    vch_delete_opts o;
    int bad;
} delete_args;

static int delete_opt(int o, const char *arg, void *payload)
{
    delete_args *d = payload;
    if (o == 'c' || o == 'F') {
        if (o == 'F' || strcmp(arg, "all") == 0)
            d->o.containers_all = 1;
        else if (strcmp(arg, "off") != 0)
            return -1;
    } else if (o == 't') {
        return 0;
    } else if (o == 'v') {
        if (strcmp(arg, "all") == 0)
            d->o.volume_stores_all = 1;
        else if (strcmp(arg, "none") != 0)
            return -1;
    } else {
        return -1;
    }
    return 0;
}

static int cmd_delete(int argc, char **argv, common *c)
{
    static const struct option extra[] = {{"containers", required_argument, 0, 'c'},
                                          {"volume-stores", required_argument, 0, 'v'},
                                          {"force", no_argument, 0, 'F'},
                                          {"timeout", required_argument, 0, 't'}};
    delete_args d = {{0, 0}, 0};
    int p = parse_common(
        argc, argv, c, extra, 4, delete_opt, &d, "delete", "--name NAME [OPTIONS]",
        "Deletes a VCH: its containerVMs, appliance, resource pool and image store.",
        "  --containers off|all  off (default): refuse while containers run; all: remove them\n"
        "  --volume-stores none|all  none (default) keeps volume data; all removes it\n"
        "  --force               same as --containers all\n");
    if (p)
        return p > 0 ? 0 : EXIT_USAGE;
    const char *id = vch_of(c, "delete");
    if (id == NULL)
        return EXIT_USAGE;
    vch_engine *e = NULL;
    if (open_engine(&e, c) < 0)
        return EXIT_OP;
    vic_err *err cleanup_err = NULL;
    vch_task task;
    int rc = vch_delete_begin(e, id, &d.o, &task, &err);
    if (rc == 0) {
        if (!c->json)
            printf("Deleting VCH %s (task %s)\n", task.name, task.id);
        rc = vch_delete_run(e, task.id, c->json ? NULL : progress, NULL, &err);
        vch_task_clear(&task);
    }
    if (rc < 0)
        fprintf(stderr, "vic-machine delete: %s\n", err->msg);
    vch_engine_close(e);
    return rc < 0 ? EXIT_OP : 0;
}

typedef struct configure_args {
    json_t *changes;
    int bad;
} configure_args;

static int configure_opt(int o, const char *arg, void *payload)
{
    configure_args *a = payload;
    long long v;
    switch (o) {
    case 'c':
    case 'm':
    case 'C':
    case 'M':
        v = parse_size(arg, o == 'm' || o == 'M');
        if (v < 0)
            return -1;
        json_object_set_new(
            obj(obj(a->changes, "compute"), o == 'c' || o == 'C' ? "cpu" : "memory"),
            o == 'c' || o == 'm' ? "limit" : "reservation", json_integer(v));
        return 0;
    case 'd':
        json_object_set_new(a->changes, "debug", json_integer(strtoll(arg, NULL, 10)));
        return 0;
    case 's':
        json_object_set_new(a->changes, "syslog_addr", json_string(arg));
        return 0;
    case 'I':
        json_array_append_new(arr(obj(a->changes, "registry"), "insecure"), json_string(arg));
        return 0;
    default:
        return -1;
    }
}

static int run_configure(common *c, json_t *changes, const char *cmd)
{
    const char *id = vch_of(c, cmd);
    if (id == NULL)
        return EXIT_USAGE;
    if (json_object_size(changes) == 0) {
        fprintf(stderr, "vic-machine %s: nothing to change (see --help)\n", cmd);
        return EXIT_USAGE;
    }
    vch_engine *e = NULL;
    if (open_engine(&e, c) < 0)
        return EXIT_OP;
    vic_err *err cleanup_err = NULL;
    json_t *out cleanup_json = NULL;
    int rc = vch_configure(e, id, changes, &out, &err);
    if (rc < 0)
        fprintf(stderr, "vic-machine %s: %s\n", cmd, err->msg);
    else if (c->json)
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS), printf("\n");
    else
        printf("VCH %s reconfigured\n", id);
    vch_engine_close(e);
    return rc == VIC_EINVAL ? EXIT_INVALID : rc < 0 ? EXIT_OP : 0;
}

static int cmd_configure(int argc, char **argv, common *c)
{
    static const struct option extra[] = {{"cpu", required_argument, 0, 'c'},
                                          {"memory", required_argument, 0, 'm'},
                                          {"cpu-reservation", required_argument, 0, 'C'},
                                          {"memory-reservation", required_argument, 0, 'M'},
                                          {"debug", required_argument, 0, 'd'},
                                          {"syslog-address", required_argument, 0, 's'},
                                          {"insecure-registry", required_argument, 0, 'I'}};
    json_t *changes cleanup_json = json_object();
    configure_args a = {changes, 0};
    int p = parse_common(argc, argv, c, extra, 7, configure_opt, &a, "configure",
                         "--name NAME [OPTIONS]",
                         "Changes what a live VCH can change: limits, debug, syslog, registries.",
                         "  --cpu MHZ --memory MB   new pool limits\n"
                         "  --cpu-reservation MHZ --memory-reservation MB\n"
                         "  --debug LEVEL           0-3\n"
                         "  --syslog-address URL\n"
                         "  --insecure-registry HOST  (repeatable; replaces the list)\n");
    if (p)
        return p > 0 ? 0 : EXIT_USAGE;
    return run_configure(c, changes, "configure");
}

static int debug_opt(int o, const char *arg, void *payload)
{
    if (o != 'd')
        return -1;
    json_object_set_new(payload, "debug", json_integer(strtoll(arg, NULL, 10)));
    return 0;
}

static int cmd_debug(int argc, char **argv, common *c)
{
    static const struct option extra[] = {{"level", required_argument, 0, 'd'}};
    json_t *changes cleanup_json = json_object();
    int p = parse_common(argc, argv, c, extra, 1, debug_opt, changes, "debug",
                         "--name NAME [--level N]",
                         "Sets a VCH's debug level (default 1): its components log more.",
                         "  --level N             0-3 (default 1)\n");
    if (p)
        return p > 0 ? 0 : EXIT_USAGE;
    if (json_object_get(changes, "debug") == NULL)
        json_object_set_new(changes, "debug", json_integer(1));
    return run_configure(c, changes, "debug");
}

/* ---- ui: the vSphere Client plugin ---- */

typedef struct ui_args {
    vch_plugin_opts p;
} ui_args;

static int ui_opt(int o, const char *arg, void *payload)
{
    ui_args *a = payload;
    switch (o) {
    case 'u':
        a->p.url = arg;
        return 0;
    case 's':
        a->p.thumbprint = arg;
        return 0;
    case 'k':
        a->p.key = arg;
        return 0;
    case 'v':
        a->p.version = arg;
        return 0;
    case 'c':
        a->p.company = arg;
        return 0;
    case 'e':
        a->p.admin_email = arg;
        return 0;
    default:
        return -1;
    }
}

static void print_plugin(const json_t *x, int as_json)
{
    if (as_json) {
        json_dumpf(x, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
        return;
    }
    static const char *const fields[] = {"key", "version",    "label",         "company",
                                         "url", "thumbprint", "last_heartbeat"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        printf("%-15s %s\n", fields[i], json_string_value(json_object_get(x, fields[i])) ?: "");
}

static int cmd_ui(int argc, char **argv, common *c)
{
    static const char *help =
        "  install | remove | info  what to do\n"
        "  --url URL             install: https URL of the plugin's manifest, as\n"
        "                        vic-webservice serves it: "
        "https://HOST:8443/ui/vsphere-plugin.json\n"
        "  --server-thumbprint SHA1  install: the thumbprint of that server's certificate\n"
        "  --key KEY             the extension key (default " VCH_PLUGIN_KEY ")\n"
        "  --version V           the plugin version registered (default: this build's)\n"
        "  --company NAME        install: the company the registration names\n"
        "  --admin-email ADDR    install: the administrator's e-mail it names\n";
    static const struct option extra[] = {
        {"url", required_argument, 0, 'u'},     {"server-thumbprint", required_argument, 0, 's'},
        {"key", required_argument, 0, 'k'},     {"version", required_argument, 0, 'v'},
        {"company", required_argument, 0, 'c'}, {"admin-email", required_argument, 0, 'e'}};
    ui_args a = {{0}};
    const char *action = NULL;
    int p = parse_common_pos(argc, argv, c, extra, 6, ui_opt, &a, "ui",
                             "install|remove|info --target VCENTER [OPTIONS]",
                             "Registers VIC-C's vSphere Client plugin with vCenter's extension "
                             "manager, removes it, or shows the registration.",
                             help, &action);
    if (p)
        return p > 0 ? 0 : EXIT_USAGE;
    if (action == NULL ||
        (strcmp(action, "install") && strcmp(action, "remove") && strcmp(action, "info"))) {
        fprintf(stderr, "vic-machine ui: say install, remove or info (see --help)\n");
        return EXIT_USAGE;
    }
    if (strcmp(c->target, "local") == 0) {
        fprintf(stderr, "vic-machine ui: the plugin is registered with a vCenter: give its "
                        "address with --target\n");
        return EXIT_USAGE;
    }
    if (c->password == NULL && getenv("VIC_MACHINE_PASSWORD"))
        c->password = xstrdup(getenv("VIC_MACHINE_PASSWORD"));
    hv_connect_opts co = {
        .target = c->target, .user = c->user, .password = c->password, .thumbprint = c->thumbprint};
    hv_conn *hv = NULL;
    vic_err *err cleanup_err = NULL;
    if (hv_open(&hv, &co, &err) < 0) {
        fprintf(stderr, "vic-machine ui: %s\n", err->msg);
        return EXIT_OP;
    }
    json_t *x cleanup_json = NULL;
    int rc;
    if (strcmp(action, "install") == 0)
        rc = vch_plugin_install(hv, &a.p, &x, &err);
    else if (strcmp(action, "remove") == 0)
        rc = vch_plugin_remove(hv, a.p.key, &err);
    else
        rc = vch_plugin_info(hv, a.p.key, &x, &err);
    hv_close(hv);
    if (rc < 0) {
        fprintf(stderr, "vic-machine ui %s: %s\n", action, err->msg);
        return rc == VIC_EINVAL ? EXIT_INVALID : EXIT_OP;
    }
    if (strcmp(action, "remove") == 0)
        printf("Plugin %s unregistered from %s\n", a.p.key ? a.p.key : VCH_PLUGIN_KEY, c->target);
    else
        print_plugin(x, c->json);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: vic-machine COMMAND [OPTIONS]\n\n"
               "Manages Virtual Container Hosts (VCHs).\n\n"
               "Commands:\n"
               "  create      create a VCH\n"
               "  ls          list the VCHs\n"
               "  inspect     show a VCH (--log: its creation log; --env: docker env lines)\n"
               "  configure   change a live VCH's limits, debug level, syslog or registries\n"
               "  debug       raise a VCH's debug level\n"
               "  delete      delete a VCH\n"
               "  ui          register the vSphere Client plugin with vCenter (install, remove,\n"
               "              info)\n"
               "  version     show the version\n\n"
               "Run vic-machine COMMAND --help for a command's options.\n");
}

/* Runs command cmd; argv[0] is the command's name. */
static int run(const char *cmd, int argc, char **argv, common *cp)
{
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        for (int i = 1; i < argc; i++)
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                printf("Usage: vic-machine version\n\nPrints the version of vic-machine.\n");
                return 0;
            }
        printf("vic-machine version %s\n", VIC_VERSION);
        return 0;
    }
    if (strcmp(cmd, "create") == 0)
        return cmd_create(argc, argv, cp);
    if (strcmp(cmd, "ls") == 0 || strcmp(cmd, "list") == 0)
        return cmd_ls(argc, argv, cp);
    if (strcmp(cmd, "inspect") == 0)
        return cmd_inspect(argc, argv, cp);
    if (strcmp(cmd, "delete") == 0)
        return cmd_delete(argc, argv, cp);
    if (strcmp(cmd, "configure") == 0)
        return cmd_configure(argc, argv, cp);
    if (strcmp(cmd, "debug") == 0)
        return cmd_debug(argc, argv, cp);
    if (strcmp(cmd, "ui") == 0)
        return cmd_ui(argc, argv, cp);
    fprintf(stderr, "vic-machine: unknown command %s\n\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    vic_log_init("vic-machine", VIC_LOG_WARN);
    tty = isatty(STDOUT_FILENO);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    common c = {.target = "local"};
    int rc = run(cmd, argc - 1, argv + 1, &c);
    vic_free_secret(c.password);
    return rc;
}
