/* The VCH engine: connecting to a target, the model helpers every part uses, and tasks
 * run as recorded steps (vch_int.h). */
#include "vch-wizard/vch_int.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/log.h"

int vch_engine_open(vch_engine **out, const vch_engine_opts *o, vic_err **err)
{
    *out = NULL;
    const char *target = o->target ? o->target : "local";
    vch_engine *e = xzalloc(sizeof(*e));
    e->home = realpath(o->home, NULL);
    if (e->home == NULL) {
        free(e);
        return vic_err_sys(err, VIC_ENOTFOUND, errno, "home %s", o->home);
    }
    e->bin_dir = xstrdup(o->bin_dir);
    e->ready_timeout_ms = o->ready_timeout_s > 0 ? o->ready_timeout_s * 1000L : READY_TIMEOUT_MS;
    e->target = xstrdup(target);
    e->iso = o->appliance_iso ? xstrdup(o->appliance_iso)
                              : xasprintf("%s/appliance.iso", o->bin_dir ? o->bin_dir : ".");
    hv_connect_opts co = {.target = target,
                          .home = e->home,
                          .bin_dir = o->bin_dir,
                          .user = o->user,
                          .password = o->password,
                          .thumbprint = o->thumbprint};
    int rc = hv_open(&e->hv, &co, err);
    if (rc == 0)
        e->caps = hv_caps_of(e->hv);
    if (rc == 0)
        rc = vch_tasks_open(&e->tasks, e->home, err);
    if (rc < 0) {
        vch_engine_close(e);
        return rc;
    }
    *out = e;
    return 0;
}

void vch_engine_close(vch_engine *e)
{
    if (e == NULL)
        return;
    if (e->hv)
        hv_close(e->hv);
    vic_store_free(e->tasks);
    free(e->home);
    free(e->bin_dir);
    free(e->target);
    free(e->iso);
    free(e);
}

vic_store *vch_engine_tasks(vch_engine *e)
{
    return e->tasks;
}

const char *vch_engine_target(const vch_engine *e)
{
    return e->target;
}

/* ---- the model helpers ---- */

char *vch_root_pool(void)
{
    return xstrdup("/ha-datacenter/host/local/Resources");
}

/* The datacenter part of an inventory path: "/DC0/host/C0/Resources/x" -> "/DC0". */
static char *dc_of(const char *path)
{
    const char *p = path && path[0] == '/' ? path + 1 : "";
    size_t n = strcspn(p, "/");
    return n ? xasprintf("/%.*s", (int)n, p) : xstrdup("/ha-datacenter");
}

/* The datastore name of a datastore path "[ds] rel" ("datastore1" when it has none). */
char *vch_ds_name_of(const char *ds_path)
{
    const char *end = ds_path && ds_path[0] == '[' ? strchr(ds_path, ']') : NULL;
    return end ? xstrndup(ds_path + 1, (size_t)(end - ds_path - 1)) : xstrdup("datastore1");
}

/* Every appliance VM on the target, with all its keys: [{ref, name, power, extra_config}]. */
int vch_appliances(vch_engine *e, json_t **out, vic_err **err)
{
    json_t *vms cleanup_json = NULL;
    int rc = hv_vm_list(e->hv, NULL, "", &vms, err);
    if (rc < 0)
        return rc;
    *out = json_array();
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        if (appliance_key(vm, K_ADDRESS) && appliance_key(vm, K_NAME))
            json_array_append(*out, vm);
    }
    return 0;
}

/* The appliance of VCH id (its VM reference, or "vm:NAME" on any target) or name. */
int vch_find(vch_engine *e, const char *id, json_t **out, vic_err **err)
{
    json_t *all cleanup_json = NULL;
    int rc = vch_appliances(e, &all, err);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *vm;
    json_array_foreach(all, i, vm)
    {
        const char *name = appliance_key(vm, K_NAME);
        if (strcmp(str_at(vm, "ref"), id) == 0 || strcmp(name, id) == 0 ||
            (strncmp(id, "vm:", 3) == 0 && strcmp(name, id + 3) == 0)) {
            *out = json_incref(vm);
            return 0;
        }
    }
    return vic_err_set(err, VIC_ENOTFOUND, "VCH %s not found on %s", id, e->target);
}

/* The image store's datastore path: "datastore1" -> "[datastore1] vic-images/NAME";

 * "ds://datastore1/dir" or "datastore1/dir" -> "[datastore1] dir". */
char *vch_store_path(const char *url, const char *dflt)
{
    const char *s = url;
    if (strncmp(s, "ds://", 5) == 0)
        s += 5;
    if (*s == '[')
        return xstrdup(s);
    size_t n = strcspn(s, "/");
    if (s[n] == '/' && s[n + 1])
        return xasprintf("[%.*s] %s", (int)n, s, s + n + 1);
    return xasprintf("[%.*s] %s", (int)n, s, dflt);
}

/* On the local host VCHs share datastore1/vic-images/; on vSphere a VCH's images live in
 * its appliance's folder, NAME/VIC, as VIC keeps them, so that nothing outlives the VCH. */
char *vch_image_store(const vch_engine *e, const json_t *spec)
{
    const char *name = str_at(spec, "name");
    const json_t *stores = json_object_get(json_object_get(spec, "storage"), "image_stores");
    const char *first = json_string_value(json_array_get(stores, 0));
    cleanup_free char *dflt =
        e->caps->images_in_vm_folder ? xasprintf("%s/VIC", name) : xasprintf("vic-images/%s", name);
    return vch_store_path(first ? first : "datastore1", dflt);
}

char *vch_volume_store(const json_t *spec, const json_t *vs)
{
    cleanup_free char *dflt = xasprintf("vic-volumes/%s/%s", str_at(spec, "name"),
                                        str_at(vs, "label") ? str_at(vs, "label") : "default");
    return vch_store_path(str_at(vs, "datastore"), dflt);
}

int vch_no_tls(const json_t *spec)
{
    return json_is_true(json_object_get(json_object_get(spec, "auth"), "no_tls"));
}

/* The DNS name the server certificate carries: auth.server.generate.cname, else the VCH's
 * name, else (a name no DNS name can be) "localhost". Caller frees. */
char *vch_server_name(const json_t *spec)
{
    const json_t *gen =
        json_object_get(json_object_get(json_object_get(spec, "auth"), "server"), "generate");
    const char *cname = str_at(gen, "cname") ? str_at(gen, "cname") : str_at(spec, "name");
    if (cname == NULL ||
        strspn(cname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
            strlen(cname))
        return xstrdup("localhost");
    return xstrdup(cname);
}

/* Where docker reaches an endpoint the appliance reported at reported ("ADDR:PORT"): there,
 * unless the VCH has no address of its own before it boots (DHCP) and serves TLS, whose
 * certificate then names it only by its DNS name: that name, on the reported port. */
char *vch_docker_host_for(const json_t *spec, const char *address, const char *reported)
{
    if (strcmp(address, ADDRESS_DHCP) != 0 || vch_no_tls(spec))
        return xstrdup(reported);
    cleanup_free char *name = vch_server_name(spec);
    const char *port = strrchr(reported, ':');
    return xasprintf("%s%s", name, port ? port : ":2376");
}

long long vch_size_value(const json_t *v)
{
    if (json_is_integer(v))
        return (long long)json_integer_value(v);
    return json_is_integer(json_object_get(v, "value"))
               ? (long long)json_integer_value(json_object_get(v, "value"))
               : -1;
}

static void alloc_of(const json_t *r, hv_alloc *a)
{
    a->limit = -1;
    a->reservation = 0;
    const json_t *l = json_object_get(r, "limit");
    if (l)
        a->limit = vch_size_value(l);
    const json_t *res = json_object_get(r, "reservation");
    if (res)
        a->reservation = vch_size_value(res);
    const json_t *sh = json_object_get(r, "shares");
    const char *level = str_at(sh, "level");
    if (level)
        snprintf(a->shares, sizeof(a->shares), "%s", level);
    else if (json_is_integer(json_object_get(sh, "number")))
        snprintf(a->shares, sizeof(a->shares), "%lld",
                 (long long)json_integer_value(json_object_get(sh, "number")));
}

void vch_pool_spec_of(const json_t *spec, hv_pool_spec *ps)
{
    memset(ps, 0, sizeof(*ps));
    const json_t *compute = json_object_get(spec, "compute");
    alloc_of(json_object_get(compute, "cpu"), &ps->cpu);
    alloc_of(json_object_get(compute, "memory"), &ps->memory);
}

char *vch_pool_path(const json_t *spec)
{
    const char *parent =
        str_at(json_object_get(json_object_get(spec, "compute"), "resource"), "name");
    cleanup_free char *root = vch_root_pool();
    return xasprintf("%s/%s", parent ? parent : root, str_at(spec, "name"));
}

/* The datastore of the VCH's appliance: that of its first image store. */
char *vch_appliance_ds(const json_t *spec)
{
    const json_t *stores = json_object_get(json_object_get(spec, "storage"), "image_stores");
    const char *first = json_string_value(json_array_get(stores, 0));
    cleanup_free char *images = vch_store_path(first ? first : "datastore1", "-");
    return vch_ds_name_of(images);
}

/* The inventory path of the VCH's appliance VM: in the vm folder of its pool's datacenter. */
char *vch_vm_path(const json_t *spec, const char *name)
{
    cleanup_free char *pool = vch_pool_path(spec);
    cleanup_free char *dc = dc_of(pool);
    return xasprintf("%s/vm/%s", dc, name);
}

/* ---- tasks and their steps ---- */

void vch_new_task_id(char out[40])
{
    unsigned char rnd[12];
    vic_random_bytes(rnd, sizeof(rnd));
    int n = snprintf(out, 40, "task-");
    for (size_t i = 0; i < sizeof(rnd); i++)
        n += snprintf(out + n, (size_t)(40 - n), "%02x", rnd[i]);
}

void vch_note(vch_run_ctx *r, const char *step, const char *status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    vic_err *err = NULL;
    if (vch_task_event(r->e->tasks, r->t->id, step, status, msg, &err) < 0)
        vic_log(VIC_LOG_WARN, "event=task_event_failed task=%s msg=\"%s\"", r->t->id, err->msg);
    vic_err_free(&err);
    if (r->fn)
        r->fn(step, status, msg, r->payload);
    free(msg);
    /* A test hook: die right after a step, as a kill -9 would, to prove recovery. */
    const char *crash = getenv("VIC_CRASH_AFTER_STEP");
    if (crash && strcmp(status, "done") == 0 && strcmp(crash, step) == 0)
        raise(SIGKILL);
}

int vch_run_steps(vch_run_ctx *r, const vch_step *steps, size_t n, vic_err **err)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        vch_note(r, steps[i].name, "started", "%s", steps[i].doing);
        rc = steps[i].run(r, err);
        if (rc == 0)
            vch_note(r, steps[i].name, "done", "%s: done", steps[i].doing);
        else
            vch_note(r, steps[i].name, "failed", "%s", (*err)->msg);
    }
    return rc;
}

int vch_finish_task(vch_engine *e, const char *id, const char *state, const char *error,
                    vic_err **err)
{
    int rc = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        vic_err_free(err);
        if ((rc = vch_task_finish(e->tasks, id, state, error, err)) == 0)
            return 0;
        vic_log(VIC_LOG_WARN, "event=task_record_failed task=%s state=%s attempt=%d msg=\"%s\"", id,
                state, attempt + 1, (*err)->msg);
    }
    return rc;
}

/* Whether every step of a create task is recorded as done (its runner may have died before
 * it could record the task's end). */
