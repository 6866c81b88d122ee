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
    return CALL(pool_create, c, parent, name, spec, out, err);
}

int hv_pool_update(hv_conn *c, const hv_ref *pool, const hv_pool_spec *spec, vic_err **err)
{
    return CALL(pool_update, c, pool, spec, err);
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
    return CALL(vm_create, c, spec, out, err);
}

int hv_vm_reconfigure(hv_conn *c, const hv_ref *vm, const char *change_version,
                      const hv_vm_change *change, char *new_version, size_t cap, vic_err **err)
{
    return CALL(vm_reconfigure, c, vm, change_version, change, new_version, cap, err);
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

int hv_vm_processes(hv_conn *c, const hv_ref *vm, json_t **out, vic_err **err)
{
    *out = NULL;
    return CALL(vm_processes, c, vm, out, err);
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
