/* Deleting a VCH: the task is recorded, then its steps remove the containerVMs, the
 * appliance, the pool and the stores the VCH owns. */
#include "vch-wizard/vch_int.h"

#include <string.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "vch-wizard/spec.h"

typedef struct delete_begin_args {
    vch_engine *e;
    vch_task *t;
} delete_begin_args;

static int record_delete(sqlite3 *db, void *payload, vic_err **err)
{
    delete_begin_args *a = payload;
    int rc = vch_task_insert(db, a->t, err);
    if (rc == VIC_ECONFLICT)
        return vic_err_set(err, VIC_ECONFLICT,
                           "VCH %s is being created or deleted on %s right now; wait for that "
                           "task to finish, then delete",
                           a->t->name, a->t->target);
    return rc;
}

int vch_pool_vms(vch_engine *e, const char *pool, json_t **out, vic_err **err)
{
    return hv_vm_list(e->hv, pool, "guestinfo.vice./common/", out, err);
}

/* What a VCH's delete may remove, as its create recorded it; a VCH made before that record
 * existed owns the stores it named by datastore alone (the folders named after it). */
static json_t *owned_of(vch_engine *e, const json_t *vm, const json_t *spec)
{
    json_t *owned = json_loads(appliance_key(vm, K_OWNED) ?: "", 0, NULL);
    if (json_is_object(owned))
        return owned;
    json_decref(owned);
    owned = json_pack("{s:[], s:{}}", "images", "volumes");
    const json_t *storage = json_object_get(spec, "storage");
    const char *first =
        json_string_value(json_array_get(json_object_get(storage, "image_stores"), 0));
    if (first == NULL || vch_spec_datastore_only(first)) {
        cleanup_free char *img = vch_image_store(e, spec);
        json_array_append_new(json_object_get(owned, "images"), json_string(img));
    }
    size_t i;
    json_t *vs;
    json_array_foreach(json_object_get(storage, "volume_stores"), i, vs)
    {
        if (str_at(vs, "datastore") && vch_spec_datastore_only(str_at(vs, "datastore"))) {
            cleanup_free char *path = vch_volume_store(spec, vs);
            json_object_set_new(json_object_get(owned, "volumes"), str_at(vs, "label") ?: "default",
                                json_string(path));
        }
    }
    return owned;
}

int vch_delete_begin(vch_engine *e, const char *id, const vch_delete_opts *o, vch_task *task,
                     vic_err **err)
{
    memset(task, 0, sizeof(*task));
    json_t *vm cleanup_json = NULL;
    int rc = vch_find(e, id, &vm, err);
    if (rc == VIC_ENOTFOUND) {
        /* before its appliance exists, a VCH under creation is only its task */
        const char *name = strncmp(id, "vm:", 3) == 0 ? id + 3 : id;
        vch_task t;
        if (vch_task_latest(e->tasks, e->target, name, "create", &t, NULL) == 0) {
            int busy = strcmp(t.state, "running") == 0 && vch_task_owner_alive(&t);
            if (busy)
                rc = vic_err_set(err, VIC_ECONFLICT,
                                 "VCH %s is being created on %s right now (step %s); wait for "
                                 "the create to finish, then delete",
                                 name, e->target, t.step[0] ? t.step : "validate");
            vch_task_clear(&t);
        }
    }
    if (rc < 0)
        return rc;
    const char *name = appliance_key(vm, K_NAME);
    const char *pool = appliance_key(vm, K_POOL);
    json_t *vms cleanup_json = NULL;
    if ((rc = vch_pool_vms(e, pool, &vms, err)) < 0)
        return rc;
    size_t i, running = 0;
    json_t *c;
    json_array_foreach(vms, i, c)
    {
        if (strcmp(str_at(c, "ref"), str_at(vm, "ref")) != 0 &&
            strcmp(str_at(c, "power") ?: "", "poweredOn") == 0)
            running++;
    }
    if (running && !o->containers_all)
        return vic_err_set(err, VIC_ECONFLICT,
                           "VCH %s has %zu running container%s; stop them first or delete with "
                           "containers: all",
                           name, running, running == 1 ? "" : "s");
    vch_new_task_id(task->id);
    snprintf(task->kind, sizeof(task->kind), "delete");
    snprintf(task->state, sizeof(task->state), "running");
    snprintf(task->target, sizeof(task->target), "%s", e->target);
    snprintf(task->name, sizeof(task->name), "%s", name);
    snprintf(task->vch_id, sizeof(task->vch_id), "%s", str_at(vm, "ref"));
    snprintf(task->created_by, sizeof(task->created_by), "admin");
    task->spec = spec_of(vm);
    task->extra = json_pack("{s:s, s:s, s:o}", "containers", o->containers_all ? "all" : "off",
                            "volume_stores", o->volume_stores_all ? "all" : "none", "owned",
                            owned_of(e, vm, task->spec));
    delete_begin_args a = {e, task};
    if ((rc = vic_store_write(e->tasks, record_delete, &a, err)) < 0) {
        vch_task_clear(task);
        return rc;
    }
    hv_ref ref;
    ref_of(vm, &ref);
    json_t *ec cleanup_json = json_pack("{s:s}", K_DELETING, task->id);
    hv_vm_change ch = {.extra_config = ec};
    vic_err *ignore = NULL;
    hv_vm_reconfigure(e->hv, &ref, NULL, &ch, NULL, 0, &ignore);
    vic_err_free(&ignore);
    return 0;
}

static int tolerate_gone(int rc, vic_err **err)
{
    if (rc == VIC_ENOTFOUND) {
        vic_err_free(err);
        return 0;
    }
    return rc;
}

static int del_containers(vch_run_ctx *r, vic_err **err)
{
    cleanup_free char *pool = vch_pool_path(r->t->spec);
    json_t *vms cleanup_json = NULL;
    int rc = vch_pool_vms(r->e, pool, &vms, err);
    if (rc == VIC_ENOTFOUND || (rc < 0 && strstr((*err)->msg, "not found"))) {
        vic_err_free(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    size_t i, n = 0;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        if (strcmp(str_at(vm, "ref"), r->t->vch_id) == 0)
            continue;
        hv_ref ref;
        ref_of(vm, &ref);
        if ((rc = tolerate_gone(hv_vm_power_off(r->e->hv, &ref, 10000, err), err)) < 0)
            return rc;
        if ((rc = tolerate_gone(hv_vm_destroy(r->e->hv, &ref, err), err)) < 0)
            return rc;
        n++;
    }
    if (n)
        vch_note(r, "containers", "progress", "removed %zu containerVM%s", n, n == 1 ? "" : "s");
    return 0;
}

static int del_appliance(vch_run_ctx *r, vic_err **err)
{
    hv_ref ref;
    snprintf(ref.id, sizeof(ref.id), "%s", r->t->vch_id);
    int rc = tolerate_gone(hv_vm_power_off(r->e->hv, &ref, 10000, err), err);
    if (rc == 0)
        rc = tolerate_gone(hv_vm_destroy(r->e->hv, &ref, err), err);
    return rc;
}

static int del_pool(vch_run_ctx *r, vic_err **err)
{
    cleanup_free char *pp = vch_pool_path(r->t->spec);
    hv_ref pool;
    int rc = hv_find(r->e->hv, HV_POOL, pp, &pool, err);
    if (rc == 0)
        rc = hv_pool_destroy(r->e->hv, &pool, err);
    return tolerate_gone(rc, err);
}

/* Removes the stores the VCH's create recorded as its own, and no other folder: a store
 * that existed before the VCH is left in place, and said so. */
static int del_stores(vch_run_ctx *r, vic_err **err)
{
    const json_t *owned = json_object_get(r->t->extra, "owned");
    const json_t *storage = json_object_get(r->t->spec, "storage");
    int rc = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(owned, "images"), i, v)
    {
        if ((rc = tolerate_gone(hv_ds_delete(r->e->hv, json_string_value(v), err), err)) < 0)
            return rc;
    }
    cleanup_free char *images = vch_image_store(r->e, r->t->spec);
    if (json_array_size(json_object_get(owned, "images")) == 0)
        vch_note(r, "stores", "progress",
                 "left the image store %s in place: it existed before VCH %s", images, r->t->name);
    int all = strcmp(str_at(r->t->extra, "volume_stores") ?: "none", "all") == 0;
    json_array_foreach(json_object_get(storage, "volume_stores"), i, v)
    {
        const char *label = str_at(v, "label") ?: "default";
        const char *path = str_at(json_object_get(owned, "volumes"), label);
        cleanup_free char *named = vch_volume_store(r->t->spec, v);
        int ours = path && strcmp(path, named) == 0;
        /* a store the create made in the VCH's own folder (the default one) is part of the
         * VCH: it goes with it, as the appliance VM's folder does, whatever the options say */
        int with_vch = ours && vch_in_vm_folder(r->t->spec, path);
        if (!all && !with_vch)
            continue;
        if (!ours) {
            vch_note(r, "stores", "progress",
                     "left the volume store %s (%s) in place: it existed before VCH %s", label,
                     named, r->t->name);
            continue;
        }
        if ((rc = tolerate_gone(hv_ds_delete(r->e->hv, path, err), err)) < 0)
            return rc;
        if (with_vch && !all)
            vch_note(r, "stores", "progress",
                     "removed the volume store %s (%s) with VCH %s: it lay in the VCH's folder",
                     label, path, r->t->name);
    }
    if (!all)
        return 0;
    json_array_foreach(json_object_get(owned, "volume_folders"), i, v)
    {
        if ((rc = tolerate_gone(hv_ds_delete(r->e->hv, json_string_value(v), err), err)) < 0)
            return rc;
    }
    return 0;
}

static int del_certs(vch_run_ctx *r, vic_err **err)
{
    (void)err;
    free(vch_roll_back(r->e, r->t)); /* the certificate directory, and anything a create left */
    return 0;
}

static const vch_step delete_steps[] = {
    {"containers", "removing the containerVMs", del_containers},
    {"appliance_vm", "removing the appliance VM", del_appliance},
    {"resource_pool", "removing the resource pool", del_pool},
    {"stores", "removing the image store and chosen volume stores", del_stores},
    {"certificates", "removing the certificates", del_certs},
};

int vch_delete_run(vch_engine *e, const char *task_id, vch_progress_fn fn, void *payload,
                   vic_err **err)
{
    vch_task t;
    int rc = vch_task_get(e->tasks, task_id, &t, err);
    if (rc < 0)
        return rc;
    vch_run_ctx r = {e, &t, fn, payload, ""};
    rc = vch_run_steps(&r, delete_steps, sizeof(delete_steps) / sizeof(delete_steps[0]), err);
    vic_err *fe = NULL;
    if (rc < 0) {
        if (vch_finish_task(e, t.id, "failed", (*err)->msg, &fe) < 0)
            vic_log(VIC_LOG_ERROR, "event=task_record_failed task=%s state=failed msg=\"%s\"", t.id,
                    fe->msg);
        vic_err_free(&fe);
    } else if (vch_finish_task(e, t.id, "succeeded", NULL, &fe) < 0) {
        /* every step is done; the next converge runs them again (each tolerates "gone") */
        rc = vic_err_wrap(&fe, fe->code, "VCH %s is deleted, but its task could not be recorded",
                          t.name);
        *err = fe;
    } else {
        if (fn) {
            cleanup_free char *msg = xasprintf("VCH %s is deleted", t.name);
            fn("done", "succeeded", msg, payload);
        }
    }
    vch_task_clear(&t);
    return rc;
}
