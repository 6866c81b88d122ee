#include "vic-machine/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/mem.h"
#include "vch-wizard/plugin.h"

/* Opens the engine on c's target and finishes tasks interrupted there; -1 after saying why
 * it could not. */
static int open_engine(vch_engine **e, vm_common *c)
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

/* Shows a task's step (vch_progress_fn); payload points at vm_common.tty: on a terminal a
 * step's line is redrawn when it ends. */
static void progress(const char *step, const char *status, const char *message, void *payload)
{
    if (*(const int *)payload) {
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

/* Prints the problems that refused a spec; the exit code. */
static int report_problems(const json_t *problems, int rc)
{
    fprintf(stderr, "vic-machine create: the VCH specification has %zu problem%s:\n",
            json_array_size(problems), json_array_size(problems) == 1 ? "" : "s");
    size_t i;
    json_t *p;
    json_array_foreach(problems, i, p)
    {
        fprintf(stderr, "  %s\n", json_string_value(p));
    }
    return rc == VIC_ECONFLICT || rc == VIC_EINVAL ? VM_EXIT_INVALID : VM_EXIT_OP;
}

/* The volume stores the create made (inspect's runtime.volume_stores), or that it has none. */
static void print_volume_stores(const json_t *stores)
{
    if (json_array_size(stores) == 0) {
        printf("\nNo volume store: docker volume create and -v NAME:/PATH need one "
               "(vic-machine create --volume-store DS/PATH:default)\n");
        return;
    }
    printf("\nVolume stores (docker volume create --opt VolumeStore=LABEL; default when none "
           "is named):\n");
    size_t i;
    json_t *vs;
    json_array_foreach(stores, i, vs)
    {
        printf("  %-12s %s\n", json_string_value(json_object_get(vs, "label")),
               json_string_value(json_object_get(vs, "path")));
    }
}

/* The ready VCH: its model plus the env lines (--json), or how to point docker at it. */
static void print_ready(vch_engine *e, const vch_task *task, int as_json)
{
    vic_err *err cleanup_err = NULL;
    cleanup_free char *env = NULL;
    if (vch_env(e, task->vch_id, &env, &err) < 0)
        return;
    if (as_json) {
        json_t *out cleanup_json = NULL;
        if (vch_inspect(e, task->vch_id, &out, &err) == 0) {
            json_object_set_new(out, "env", json_string(env));
            json_dumpf(out, stdout, JSON_INDENT(2));
            printf("\n");
        }
        return;
    }
    printf("\nVCH %s is ready. Point docker at it:\n\n", task->name);
    char *line = env, *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
        printf("export %.*s\n", (int)(nl - line), line);
        line = nl + 1;
    }
    printf("\ndocker info\n");
    json_t *model cleanup_json = NULL;
    if (vch_inspect(e, task->vch_id, &model, &err) == 0) {
        json_t *rt = json_object_get(model, "runtime");
        printf("\nAdmin portal: %s (user admin; password in %s)\n",
               json_string_value(json_object_get(rt, "admin_portal")),
               json_string_value(json_object_get(rt, "admin_password_file")));
        print_volume_stores(json_object_get(rt, "volume_stores"));
    }
}

/* Validates and records the create, runs it, and shows the result; the exit code. */
static int create(vch_engine *e, const json_t *spec, const vm_common *c)
{
    vic_err *err cleanup_err = NULL;
    vch_task task;
    json_t *problems cleanup_json = NULL;
    int rc = vch_create_begin(e, spec, "admin", NULL, &task, &problems, &err);
    if (rc < 0)
        return report_problems(problems, rc);
    if (!c->json)
        printf("Creating VCH %s (task %s)\n", task.name, task.id);
    rc = vch_create_run(e, task.id, c->json ? NULL : progress, (void *)&c->tty, &err);
    if (rc < 0)
        fprintf(stderr, "vic-machine create: %s\n", err->msg);
    else
        print_ready(e, &task, c->json);
    vch_task_clear(&task);
    return rc < 0 ? VM_EXIT_OP : 0;
}

int vm_cmd_create(int argc, char **argv, vm_common *c)
{
    json_t *spec cleanup_json = NULL;
    int p = vm_create_flags(argc, argv, c, &spec);
    if (p)
        return p == VM_HELP ? 0 : p;
    vch_engine *e = NULL;
    if (open_engine(&e, c) < 0)
        return VM_EXIT_OP;
    int rc = create(e, spec, c);
    vch_engine_close(e);
    return rc;
}

/* ---- the others ---- */

int vm_cmd_ls(int argc, char **argv, vm_common *c)
{
    int p = vm_parse_common(argc, argv, c, NULL, 0, NULL, NULL, "ls", "[OPTIONS]",
                            "Lists the VCHs on the target.", "", NULL);
    if (p)
        return p == VM_HELP ? 0 : p;
    vch_engine *e = NULL;
    if (open_engine(&e, c) < 0)
        return VM_EXIT_OP;
    vic_err *err cleanup_err = NULL;
    json_t *list cleanup_json = NULL;
    if (vch_list(e, &list, &err) < 0) {
        fprintf(stderr, "vic-machine ls: %s\n", err->msg);
        vch_engine_close(e);
        return VM_EXIT_OP;
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

int vm_cmd_inspect(int argc, char **argv, vm_common *c)
{
    static const struct option extra[] = {{"log", no_argument, 0, 'L'},
                                          {"env", no_argument, 0, 'E'}};
    inspect_opts io = {0, 0};
    int p =
        vm_parse_common(argc, argv, c, extra, 2, inspect_opt, &io, "inspect", "--name NAME",
                        "Shows a VCH: its configuration, state, docker endpoint and components.",
                        "  --log                 the creation log instead\n"
                        "  --env                 only the docker env lines\n",
                        NULL);
    if (p)
        return p == VM_HELP ? 0 : p;
    const char *id = vm_vch_of(c, "inspect");
    if (id == NULL)
        return VM_EXIT_USAGE;
    vch_engine *e = NULL;
    if (open_engine(&e, c) < 0)
        return VM_EXIT_OP;
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
    return rc < 0 ? VM_EXIT_OP : 0;
}

int vm_cmd_delete(int argc, char **argv, vm_common *c)
{
    vch_delete_opts d;
    int p = vm_delete_flags(argc, argv, c, &d);
    if (p)
        return p == VM_HELP ? 0 : p;
    const char *id = vm_vch_of(c, "delete");
    if (id == NULL)
        return VM_EXIT_USAGE;
    vch_engine *e = NULL;
    if (open_engine(&e, c) < 0)
        return VM_EXIT_OP;
    vic_err *err cleanup_err = NULL;
    vch_task task;
    int rc = vch_delete_begin(e, id, &d, &task, &err);
    if (rc == 0) {
        if (!c->json)
            printf("Deleting VCH %s (task %s)\n", task.name, task.id);
        rc = vch_delete_run(e, task.id, c->json ? NULL : progress, &c->tty, &err);
        vch_task_clear(&task);
    }
    if (rc < 0)
        fprintf(stderr, "vic-machine delete: %s\n", err->msg);
    vch_engine_close(e);
    return rc < 0 ? VM_EXIT_OP : 0;
}

int vm_cmd_start(int argc, char **argv, vm_common *c)
{
    int p = vm_start_flags(argc, argv, c);
    if (p)
        return p == VM_HELP ? 0 : p;
    const char *id = vm_vch_of(c, "start");
    if (id == NULL)
        return VM_EXIT_USAGE;
    vch_engine *e = NULL;
    if (open_engine(&e, c) < 0)
        return VM_EXIT_OP;
    vic_err *err cleanup_err = NULL;
    if (!c->json)
        printf("Starting VCH %s\n", id);
    int rc = vch_start(e, id, &err);
    if (rc < 0)
        fprintf(stderr, "vic-machine start: %s\n", err->msg);
    else if (!c->json)
        printf("VCH %s is running\n", id);
    vch_engine_close(e);
    return rc < 0 ? VM_EXIT_OP : 0;
}

int vm_cmd_stop(int argc, char **argv, vm_common *c)
{
    long grace = 10;
    int p = vm_stop_flags(argc, argv, c, &grace);
    if (p)
        return p == VM_HELP ? 0 : p;
    const char *id = vm_vch_of(c, "stop");
    if (id == NULL)
        return VM_EXIT_USAGE;
    vch_engine *e = NULL;
    if (open_engine(&e, c) < 0)
        return VM_EXIT_OP;
    vic_err *err cleanup_err = NULL;
    if (!c->json)
        printf("Stopping VCH %s (grace %ld s)\n", id, grace);
    int rc = vch_stop(e, id, (unsigned)grace * 1000, &err);
    if (rc < 0)
        fprintf(stderr, "vic-machine stop: %s\n", err->msg);
    else if (!c->json)
        printf("VCH %s is stopped\n", id);
    vch_engine_close(e);
    return rc < 0 ? VM_EXIT_OP : 0;
}

static int run_configure(vm_common *c, json_t *changes, const char *cmd)
{
    const char *id = vm_vch_of(c, cmd);
    if (id == NULL)
        return VM_EXIT_USAGE;
    if (json_object_size(changes) == 0) {
        fprintf(stderr, "vic-machine %s: nothing to change (see --help)\n", cmd);
        return VM_EXIT_USAGE;
    }
    vch_engine *e = NULL;
    if (open_engine(&e, c) < 0)
        return VM_EXIT_OP;
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
    return rc == VIC_EINVAL ? VM_EXIT_INVALID : rc < 0 ? VM_EXIT_OP : 0;
}

int vm_cmd_configure(int argc, char **argv, vm_common *c)
{
    json_t *changes cleanup_json = NULL;
    int p = vm_configure_flags(argc, argv, c, &changes);
    if (p)
        return p == VM_HELP ? 0 : p;
    return run_configure(c, changes, "configure");
}

int vm_cmd_debug(int argc, char **argv, vm_common *c)
{
    json_t *changes cleanup_json = NULL;
    int p = vm_debug_flags(argc, argv, c, &changes);
    if (p)
        return p == VM_HELP ? 0 : p;
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

int vm_cmd_ui(int argc, char **argv, vm_common *c)
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
    int p = vm_parse_common(argc, argv, c, extra, 6, ui_opt, &a, "ui",
                            "install|remove|info --target VCENTER [OPTIONS]",
                            "Registers VIC-C's vSphere Client plugin with vCenter's extension "
                            "manager, removes it, or shows the registration.",
                            help, &action);
    if (p)
        return p == VM_HELP ? 0 : p;
    if (action == NULL ||
        (strcmp(action, "install") && strcmp(action, "remove") && strcmp(action, "info"))) {
        fprintf(stderr, "vic-machine ui: say install, remove or info (see --help)\n");
        return VM_EXIT_USAGE;
    }
    if (strcmp(c->target, "local") == 0) {
        fprintf(stderr, "vic-machine ui: the plugin is registered with a vCenter: give its "
                        "address with --target\n");
        return VM_EXIT_USAGE;
    }
    if (c->password == NULL && getenv("VIC_MACHINE_PASSWORD"))
        c->password = xstrdup(getenv("VIC_MACHINE_PASSWORD"));
    hv_connect_opts co = {
        .target = c->target, .user = c->user, .password = c->password, .thumbprint = c->thumbprint};
    hv_conn *hv = NULL;
    vic_err *err cleanup_err = NULL;
    if (hv_open(&hv, &co, &err) < 0) {
        fprintf(stderr, "vic-machine ui: %s\n", err->msg);
        return VM_EXIT_OP;
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
        return rc == VIC_EINVAL ? VM_EXIT_INVALID : VM_EXIT_OP;
    }
    if (strcmp(action, "remove") == 0)
        printf("Plugin %s unregistered from %s\n", a.p.key ? a.p.key : VCH_PLUGIN_KEY, c->target);
    else
        print_plugin(x, c->json);
    return 0;
}
