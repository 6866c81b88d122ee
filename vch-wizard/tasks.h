/*
 * tasks.h - the record of VCH lifecycle work: one row per create or delete, with its steps'
 * progress as an ordered event log, in an sqlite file under $VIC_HOME shared by every process
 * that runs lifecycle work (vic-machine and vic-webservice).
 *
 * A task names the process running it (PID and the kernel's start time of that PID), so that
 * any process can tell a task whose runner died (kill -9, a crash, a reboot) from one still
 * under way; vch_converge() finishes or rolls back the former. At most one running task per
 * VCH name and target: the unique index is what makes two concurrent creates of one name
 * end with exactly one.
 */
#ifndef VIC_VCH_TASKS_H
#define VIC_VCH_TASKS_H

#include <jansson.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/store.h"

typedef struct vch_task {
    char id[40];
    char kind[16];  /* "create", "delete" */
    char state[16]; /* "running", "succeeded", "failed" */
    char target[64];
    char name[96];
    char vch_id[128];
    char step[32];
    char address[32];
    char created_by[80];
    long owner_pid;
    long long owner_start;
    long long created, updated;
    json_t *spec;  /* owned; may be NULL */
    char *error;   /* owned; NULL unless failed */
    json_t *extra; /* owned; kind-specific parameters (delete options) */
} vch_task;

void vch_task_clear(vch_task *t);

int vch_tasks_open(vic_store **out, const char *home, vic_err **err);

/* The start time of pid as the kernel records it (clock ticks since boot), 0 when gone. */
long long vch_proc_start(long pid);

/* 1 when the task's runner is this process or still alive. */
int vch_task_owner_alive(const vch_task *t);

/* Inside a write transaction: records t as a new running task owned by this process, or
 * VIC_ECONFLICT when a task for the same target and name is running. */
int vch_task_insert(sqlite3 *db, const vch_task *t, vic_err **err);

/* Inside a transaction: the addresses that running tasks hold (array of strings). */
int vch_task_addresses(sqlite3 *db, json_t *out, vic_err **err);

/* Adds an event to a task's log (and moves its current step when step is not NULL). */
int vch_task_event(vic_store *s, const char *task, const char *step, const char *status,
                   const char *message, vic_err **err);

/* Marks a task finished: state "succeeded" or "failed" with its error. */
int vch_task_finish(vic_store *s, const char *task, const char *state, const char *error,
                    vic_err **err);

/* Makes this process the runner of a dead runner's task: a compare-and-swap on the runner
 * that `seen` (as read) names, so that of two processes converging at once exactly one wins;
 * VIC_ECONFLICT for the other, or when the task finished meanwhile. */
int vch_task_adopt(vic_store *s, const vch_task *seen, vic_err **err);

int vch_task_get(vic_store *s, const char *id, vch_task *out, vic_err **err);

/* Events with seq > after: [{seq, time, step, status, message}], and the task's state. */
int vch_task_events(vic_store *s, const char *id, long long after, json_t **events, char state[16],
                    vic_err **err);

/* Running tasks: an array of task ids (new reference). */
int vch_tasks_running(vic_store *s, json_t **out, vic_err **err);

/* The latest task of kind for a VCH name (any state), or VIC_ENOTFOUND. */
int vch_task_latest(vic_store *s, const char *target, const char *name, const char *kind,
                    vch_task *out, vic_err **err);

/* A task as JSON: {id, kind, state, target, vch_name, vch_id, step, error, created, updated}. */
json_t *vch_task_json(const vch_task *t);

#endif
