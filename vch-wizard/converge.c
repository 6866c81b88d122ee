/* Recovery: tasks whose runner died are rolled back (creates) or finished (deletes). */
#include "vch-wizard/vch_int.h"

#include <string.h>

#include "lib/cleanup.h"
#include "lib/log.h"

int vch_converge(vch_engine *e, int *n_fixed, vic_err **err)
{
    *n_fixed = 0;
    json_t *ids cleanup_json = NULL;
    int rc = vch_tasks_running(e->tasks, &ids, err);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        vch_task t;
        vic_err *te = NULL;
        if (vch_task_get(e->tasks, json_string_value(id), &t, &te) < 0) {
            vic_err_free(&te);
            continue;
        }
        /* another target's tasks are for an engine connected there */
        if (vch_task_owner_alive(&t) || strcmp(t.target, e->target) != 0) {
            vch_task_clear(&t);
            continue;
        }
        vic_err *ae = NULL;
        if (vch_task_adopt(e->tasks, &t, &ae) < 0) { /* another process converges it */
            if (ae->code != VIC_ECONFLICT)
                vic_log(VIC_LOG_WARN, "event=converge_adopt_failed task=%s msg=\"%s\"", t.id,
                        ae->msg);
            vic_err_free(&ae);
            vch_task_clear(&t);
            continue;
        }
        vic_log(VIC_LOG_INFO, "event=converge task=%s kind=%s vch=%s step=%s", t.id, t.kind, t.name,
                t.step);
        if (strcmp(t.kind, "create") == 0 && vch_create_complete(e, &t)) {
            /* its runner died after the last step, before recording the end: the VCH is whole */
            vch_run_ctx r = {e, &t, NULL, NULL, ""};
            vch_note(&r, "resume", "done",
                     "the process running this create stopped after its last step; VCH %s is ready",
                     t.name);
            vic_err *fe = NULL;
            if (vch_finish_task(e, t.id, "succeeded", NULL, &fe) == 0 &&
                vch_finish_create(e, &t, &fe) < 0)
                vic_log(VIC_LOG_WARN, "event=create_unmark_failed vch=%s msg=\"%s\"", t.name,
                        fe->msg);
            vic_err_free(&fe);
        } else if (strcmp(t.kind, "create") == 0) {
            vch_run_ctx r = {e, &t, NULL, NULL, ""};
            vch_note(&r, "rollback", "started",
                     "the process running this create stopped during step %s; rolling back",
                     t.step[0] ? t.step : "validate");
            cleanup_free char *incomplete = vch_roll_back(e, &t);
            if (incomplete)
                vch_note(&r, "rollback", "failed", "could not remove everything of VCH %s (%s)",
                         t.name, incomplete);
            else
                vch_note(&r, "rollback", "done", "nothing of VCH %s is left", t.name);
            cleanup_free char *msg =
                incomplete ? xasprintf("interrupted during step %s; rollback incomplete: %s",
                                       t.step[0] ? t.step : "validate", incomplete)
                           : xasprintf("interrupted during step %s; rolled back",
                                       t.step[0] ? t.step : "validate");
            vic_err *fe = NULL;
            if (vch_finish_task(e, t.id, "failed", msg, &fe) < 0)
                vic_log(VIC_LOG_ERROR, "event=task_record_failed task=%s state=failed msg=\"%s\"",
                        t.id, fe->msg);
            vic_err_free(&fe);
        } else {
            vic_err *de = NULL;
            vch_run_ctx r = {e, &t, NULL, NULL, ""};
            vch_note(&r, "resume", "started",
                     "the process running this delete stopped during step %s; finishing it",
                     t.step);
            if (vch_delete_run(e, t.id, NULL, NULL, &de) < 0)
                vic_log(VIC_LOG_WARN, "event=converge_delete_failed vch=%s msg=\"%s\"", t.name,
                        de->msg);
            vic_err_free(&de);
        }
        (*n_fixed)++;
        vch_task_clear(&t);
    }
    return 0;
}
