#include "hypervisor/hv.h"

#include <string.h>

void hv_vm_info_clear(hv_vm_info *info)
{
    if (info == NULL)
        return;
    json_decref(info->extra_config);
    memset(info, 0, sizeof(*info));
}

const char *hv_power_name(hv_power p)
{
    switch (p) {
    case HV_POWERED_ON:
        return "poweredOn";
    case HV_SUSPENDED:
        return "suspended";
    case HV_POWERED_OFF:
        break;
    }
    return "poweredOff";
}

int hv_open(hv_conn **out, const hv_connect_opts *opts, vic_err **err)
{
    *out = NULL;
    if (opts == NULL || opts->target == NULL || *opts->target == '\0')
        return vic_err_set(err, VIC_EINVAL, "no target given");
    if (strcmp(opts->target, "local") == 0)
        return hv_local_driver.connect(out, opts, err);
    return hv_vsphere_driver.connect(out, opts, err);
}

void hv_close(hv_conn *c)
{
    if (c)
        c->driver->disconnect(c);
}

const char *hv_driver_name(const hv_conn *c)
{
    return c->driver->name;
}

/* ---- validation shared by every driver: run here, before the driver is called ---- */

/* A resource allocation (what names its field in the message: "cpu", "memory"). */
static int check_alloc(const hv_alloc *a, const char *what, vic_err **err)
{
    if (a->limit < -1 || a->limit == 0)
        return vic_err_set(err, VIC_EINVAL, "%s.limit: must be positive, or -1 for unlimited",
                           what);
    if (a->reservation < 0 || (a->limit > 0 && a->reservation > a->limit))
        return vic_err_set(err, VIC_EINVAL, "%s.reservation: must be between 0 and the limit",
                           what);
    const char *s = a->shares;
    if (s[0] && strcmp(s, "low") && strcmp(s, "normal") && strcmp(s, "high") &&
        strspn(s, "0123456789") != strlen(s))
        return vic_err_set(err, VIC_EINVAL, "%s.shares: must be low, normal, high or a number",
                           what);
    return 0;
}

static int check_pool_spec(const hv_pool_spec *spec, vic_err **err)
{
    int rc = check_alloc(&spec->cpu, "cpu", err);
    return rc < 0 ? rc : check_alloc(&spec->memory, "memory", err);
}

/* A VM name: letters, digits, '-', '_' and '.', not starting with '.', at most 80. */
static bool vm_name_valid(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 80 || s[0] == '.')
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
           strlen(s);
}

/* What a VM spec must hold on any target; the drivers add what their target needs (the
 * datastore, disk and ISO paths, networks, keys the target keeps for itself). */
/* Limits fit the VM's size: no more CPU time than its vCPUs. */
static int check_limits(const hv_vm_limits *l, int cpus, vic_err **err)
{
    if (l->cpu_millis < 0 || l->cpu_millis > (int64_t)cpus * 1000)
        return vic_err_set(err, VIC_EINVAL,
                           "limits.cpu_millis: must be between 0 and the VM's %d vCPUs (%d)", cpus,
                           cpus * 1000);
    if (l->cpu_shares != 0 && (l->cpu_shares < 2 || l->cpu_shares > 262144))
        return vic_err_set(err, VIC_EINVAL, "limits.cpu_shares: must be between 2 and 262144");
    if (l->pids < 0)
        return vic_err_set(err, VIC_EINVAL, "limits.pids: must not be negative");
    return 0;
}

static int check_vm_spec(const hv_vm_spec *spec, vic_err **err)
{
    if (!vm_name_valid(spec->name))
        return vic_err_set(err, VIC_EINVAL,
                           "name: \"%s\" is not a valid VM name (letters, digits, '-', '_', '.'; "
                           "at most 80)",
                           spec->name ? spec->name : "");
    if (spec->cpus < 1 || spec->cpus > 128)
        return vic_err_set(err, VIC_EINVAL, "cpus: must be between 1 and 128");
    if (spec->memory_mb < 1)
        return vic_err_set(err, VIC_EINVAL, "memory_mb: must be positive");
    int rc = check_limits(&spec->limits, spec->cpus, err);
    if (rc < 0)
        return rc;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)spec->extra_config, k, v)
    {
        if (*k == '\0' || !json_is_string(v))
            return vic_err_set(err, VIC_EINVAL, "extra_config: key \"%s\" cannot be set%s", k,
                               json_is_string(v) ? "" : " (value must be a string)");
    }
    return 0;
}

/* extraConfig changes: a named key set to a string, or removed with null. */
static int check_vm_change(const hv_vm_change *change, vic_err **err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)change->extra_config, k, v)
    {
        if (*k == '\0' || !(json_is_string(v) || json_is_null(v)))
            return vic_err_set(err, VIC_EINVAL, "extra_config: key \"%s\" cannot be changed", k);
    }
    if (change->set_size) {
        if (change->cpus < 1 || change->cpus > 128)
            return vic_err_set(err, VIC_EINVAL, "cpus: must be between 1 and 128");
        if (change->memory_mb < 1)
            return vic_err_set(err, VIC_EINVAL, "memory_mb: must be positive");
        return check_limits(&change->limits, change->cpus, err);
    }
    return 0;
}

#define CALL(fn, ...)                                                                              \
    (c->driver->fn ? c->driver->fn(__VA_ARGS__)                                                    \
                   : vic_err_set(err, VIC_EUNSUPPORTED, "%s: not supported by the %s driver", #fn, \
                                 c->driver->name))

int hv_find(hv_conn *c, hv_kind kind, const char *path, hv_ref *out, vic_err **err)
{
    return CALL(find, c, kind, path, out, err);
}

int hv_list(hv_conn *c, hv_kind kind, const char *parent, json_t **out, vic_err **err)
{
    return CALL(list, c, kind, parent, out, err);
}

int hv_pool_create(hv_conn *c, const char *parent, const char *name, const hv_pool_spec *spec,
                   hv_ref *out, vic_err **err)
{
    int rc = check_pool_spec(spec, err);
    return rc < 0 ? rc : CALL(pool_create, c, parent, name, spec, out, err);
}

int hv_pool_update(hv_conn *c, const hv_ref *pool, const hv_pool_spec *spec, vic_err **err)
{
    int rc = check_pool_spec(spec, err);
    return rc < 0 ? rc : CALL(pool_update, c, pool, spec, err);
}

int hv_pool_destroy(hv_conn *c, const hv_ref *pool, vic_err **err)
{
    return CALL(pool_destroy, c, pool, err);
}

int hv_pool_get(hv_conn *c, const hv_ref *pool, hv_pool_info *out, vic_err **err)
{
    return CALL(pool_get, c, pool, out, err);
}

int hv_vm_create(hv_conn *c, const hv_vm_spec *spec, hv_ref *out, vic_err **err)
{
    for (size_t i = 0; c && spec && i < spec->n_nics; i++)
        if (spec->nics[i].n_forwards && c->driver != &hv_local_driver)
            return vic_err_set(err, VIC_EUNSUPPORTED,
                               "nics[%zu]: port forwards are not supported by the %s driver", i,
                               c->driver->name);
    int rc = check_vm_spec(spec, err);
    return rc < 0 ? rc : CALL(vm_create, c, spec, out, err);
}

int hv_vm_reconfigure(hv_conn *c, const hv_ref *vm, const char *change_version,
                      const hv_vm_change *change, char *new_version, size_t cap, vic_err **err)
{
    int rc = check_vm_change(change, err);
    return rc < 0 ? rc : CALL(vm_reconfigure, c, vm, change_version, change, new_version, cap, err);
}

int hv_vm_power_on(hv_conn *c, const hv_ref *vm, vic_err **err)
{
    return CALL(vm_power_on, c, vm, err);
}

int hv_vm_power_off(hv_conn *c, const hv_ref *vm, unsigned grace_ms, vic_err **err)
{
    return CALL(vm_power_off, c, vm, grace_ms, err);
}

int hv_vm_destroy(hv_conn *c, const hv_ref *vm, vic_err **err)
{
    return CALL(vm_destroy, c, vm, err);
}

int hv_vm_exec(hv_conn *c, const hv_ref *vm, int *fd, vic_err **err)
{
    return CALL(vm_exec, c, vm, fd, err);
}

int hv_vm_signal(hv_conn *c, const hv_ref *vm, long pid, int sig, vic_err **err)
{
    return CALL(vm_signal, c, vm, pid, sig, err);
}

int hv_vm_id_base(hv_conn *c, const hv_ref *vm, uint32_t *out, vic_err **err)
{
    *out = 0;
    return CALL(vm_id_base, c, vm, out, err);
}

int hv_vm_pause(hv_conn *c, const hv_ref *vm, bool paused, vic_err **err)
{
    return CALL(vm_pause, c, vm, paused, err);
}

void hv_vm_unenforced(hv_conn *c, char *out, size_t cap)
{
    out[0] = '\0';
    if (c->driver->vm_unenforced)
        c->driver->vm_unenforced(c, out, cap);
}

int hv_vm_processes(hv_conn *c, const hv_ref *vm, json_t **out, vic_err **err)
{
    *out = NULL;
    return CALL(vm_processes, c, vm, out, err);
}

int hv_vm_guest_usage(hv_conn *c, const hv_ref *vm, json_t **out, vic_err **err)
{
    *out = NULL;
    return CALL(vm_guest_usage, c, vm, out, err);
}

int hv_vm_attach(hv_conn *c, const hv_ref *vm, int *fd, vic_err **err)
{
    *fd = -1;
    return CALL(vm_attach, c, vm, fd, err);
}

int hv_vm_get(hv_conn *c, const hv_ref *vm, hv_vm_info *out, vic_err **err)
{
    memset(out, 0, sizeof(*out));
    return CALL(vm_get, c, vm, out, err);
}

int hv_vm_list(hv_conn *c, const char *pool, const char *key_prefix, json_t **out, vic_err **err)
{
    return CALL(vm_list, c, pool, key_prefix, out, err);
}

int hv_ds_upload(hv_conn *c, const char *ds_path, const char *local_file, vic_err **err)
{
    return CALL(ds_upload, c, ds_path, local_file, err);
}

int hv_ds_download(hv_conn *c, const char *ds_path, const char *local_file, vic_err **err)
{
    return CALL(ds_download, c, ds_path, local_file, err);
}

int hv_ds_mkdir(hv_conn *c, const char *ds_path, vic_err **err)
{
    return CALL(ds_mkdir, c, ds_path, err);
}

int hv_ds_delete(hv_conn *c, const char *ds_path, vic_err **err)
{
    return CALL(ds_delete, c, ds_path, err);
}

int hv_ds_local_path(hv_conn *c, const char *ds_path, char **out, vic_err **err)
{
    return CALL(ds_local_path, c, ds_path, out, err);
}

int hv_events_wait(hv_conn *c, int64_t after_seq, unsigned timeout_ms, hv_event *out, size_t cap,
                   size_t *n, vic_err **err)
{
    *n = 0;
    return CALL(events_wait, c, after_seq, timeout_ms, out, cap, n, err);
}

int hv_extension_register(hv_conn *c, const hv_extension *x, vic_err **err)
{
    return CALL(ext_register, c, x, err);
}

int hv_extension_unregister(hv_conn *c, const char *key, vic_err **err)
{
    return CALL(ext_unregister, c, key, err);
}

int hv_extension_find(hv_conn *c, const char *key, json_t **out, vic_err **err)
{
    *out = NULL;
    return CALL(ext_find, c, key, out, err);
}
