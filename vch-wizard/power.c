/*
 * Starting and stopping a VCH: its appliance VM and, on stop, its containerVMs. What was
 * asked last is recorded with the appliance (K_STOPPED), so that a host that restarts brings
 * back the VCHs that were running (vch_autostart) and leaves the stopped ones off.
 */
#include "vch-wizard/vch_int.h"

#include <string.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/log.h"

/* A VCH in a create or delete task is that task's to power. */
static int in_task(const json_t *vm)
{
    return appliance_key(vm, K_CREATING) || appliance_key(vm, K_DELETING);
}

/* Waits up to READY_TIMEOUT_MS for vic-init to report its components up. */
static int wait_ready(vch_engine *e, const hv_ref *ref, const char *name, vic_err **err)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        hv_vm_info info;
        int rc = hv_vm_get(e->hv, ref, &info, err);
        if (rc < 0)
            return rc;
        const char *ready = str_at(info.extra_config, K_READY);
        int ok = ready && strcmp(ready, "true") == 0;
        hv_power power = info.power;
        hv_vm_info_clear(&info);
        if (ok)
            return 0;
        if (power != HV_POWERED_ON)
            return vic_err_set(err, VIC_EUNAVAIL,
                               "the appliance of VCH %s powered off before it was ready (see its "
                               "serial log)",
                               name);
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms > READY_TIMEOUT_MS)
            return vic_err_set(err, VIC_ETIMEOUT, "VCH %s was not ready within %d s", name,
                               READY_TIMEOUT_MS / 1000);
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
}

/* Powers the appliance on, its last readiness report cleared first (a report of the previous
 * run is not this one's). */
static int power_on(vch_engine *e, const json_t *vm, bool mark_started, vic_err **err)
{
    hv_ref ref;
    ref_of(vm, &ref);
    json_t *ec cleanup_json = json_pack("{s:n}", K_READY);
    if (mark_started)
        json_object_set_new(ec, K_STOPPED, json_null());
    hv_vm_change ch = {.extra_config = ec};
    int rc = hv_vm_reconfigure(e->hv, &ref, NULL, &ch, NULL, 0, err);
    if (rc == 0)
        rc = hv_vm_power_on(e->hv, &ref, err);
    return rc;
}

int vch_start(vch_engine *e, const char *id, vic_err **err)
{
    json_t *vm cleanup_json = NULL;
    int rc = vch_find(e, id, &vm, err);
    if (rc < 0)
        return rc;
    const char *name = appliance_key(vm, K_NAME);
    if (in_task(vm))
        return vic_err_set(err, VIC_ECONFLICT, "VCH %s is being created or deleted", name);
    hv_ref ref;
    ref_of(vm, &ref);
    const char *power = str_at(vm, "power");
    if (power && strcmp(power, "poweredOn") == 0) {
        /* running already: only the wish changes */
        json_t *ec cleanup_json = json_pack("{s:n}", K_STOPPED);
        hv_vm_change ch = {.extra_config = ec};
        return hv_vm_reconfigure(e->hv, &ref, NULL, &ch, NULL, 0, err);
    }
    if ((rc = power_on(e, vm, true, err)) < 0 && rc != VIC_ECONFLICT)
        return rc;
    vic_err_free(err);
    vic_log(VIC_LOG_INFO, "event=vch_started vch=%s", name);
    return wait_ready(e, &ref, name, err);
}

int vch_stop(vch_engine *e, const char *id, unsigned grace_ms, vic_err **err)
{
    json_t *vm cleanup_json = NULL;
    int rc = vch_find(e, id, &vm, err);
    if (rc < 0)
        return rc;
    const char *name = appliance_key(vm, K_NAME);
    if (in_task(vm))
        return vic_err_set(err, VIC_ECONFLICT, "VCH %s is being created or deleted", name);
    hv_ref ref;
    ref_of(vm, &ref);
    json_t *ec cleanup_json = json_pack("{s:s}", K_STOPPED, "true");
    hv_vm_change ch = {.extra_config = ec};
    if ((rc = hv_vm_reconfigure(e->hv, &ref, NULL, &ch, NULL, 0, err)) < 0)
        return rc;
    /* the appliance first: a port layer still running would restart containers with a
     * restart policy as they stop; those come back with it on its next start */
    if ((rc = hv_vm_power_off(e->hv, &ref, grace_ms, err)) < 0)
        return rc;
    json_t *vms cleanup_json = NULL;
    if ((rc = hv_vm_list(e->hv, appliance_key(vm, K_POOL), NULL, &vms, err)) < 0)
        return rc;
    size_t i;
    json_t *c;
    int failed = 0;
    json_array_foreach(vms, i, c)
    {
        const char *power = str_at(c, "power");
        if (strcmp(str_at(c, "ref"), ref.id) == 0 || power == NULL ||
            strcmp(power, "poweredOn") != 0)
            continue;
        hv_ref cref;
        ref_of(c, &cref);
        vic_err *ce = NULL;
        if (hv_vm_power_off(e->hv, &cref, grace_ms, &ce) < 0) {
            vic_log(VIC_LOG_WARN, "event=vch_stop_container_failed vch=%s vm=%s msg=\"%s\"", name,
                    str_at(c, "name"), ce->msg);
            failed++;
        }
        vic_err_free(&ce);
    }
    vic_log(VIC_LOG_INFO, "event=vch_stopped vch=%s", name);
    if (failed)
        return vic_err_set(err, VIC_EIO,
                           "VCH %s stopped, but %d of its containers did not power off", name,
                           failed);
    return 0;
}

int vch_autostart(vch_engine *e, int *n_started, vic_err **err)
{
    *n_started = 0;
    json_t *all cleanup_json = NULL;
    int rc = vch_appliances(e, &all, err);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *vm;
    json_array_foreach(all, i, vm)
    {
        const char *power = str_at(vm, "power");
        if (in_task(vm) || appliance_key(vm, K_STOPPED) || power == NULL ||
            strcmp(power, "poweredOff") != 0)
            continue;
        vic_err *pe = NULL;
        if (power_on(e, vm, false, &pe) < 0 && pe->code != VIC_ECONFLICT)
            vic_log(VIC_LOG_WARN, "event=vch_autostart_failed vch=%s msg=\"%s\"",
                    appliance_key(vm, K_NAME), pe->msg);
        else {
            vic_log(VIC_LOG_INFO, "event=vch_autostarted vch=%s", appliance_key(vm, K_NAME));
            (*n_started)++;
        }
        vic_err_free(&pe);
    }
    return 0;
}
