#include "vch-wizard/tasks.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"

static const vic_migration migrations[] = {
    {1, "CREATE TABLE tasks ("
        "  id TEXT PRIMARY KEY,"
        "  kind TEXT NOT NULL,"
        "  state TEXT NOT NULL,"
        "  target TEXT NOT NULL,"
        "  vch_name TEXT NOT NULL,"
        "  vch_id TEXT NOT NULL DEFAULT '',"
        "  step TEXT NOT NULL DEFAULT '',"
        "  address TEXT NOT NULL DEFAULT '',"
        "  created_by TEXT NOT NULL DEFAULT '',"
        "  owner_pid INTEGER NOT NULL,"
        "  owner_start INTEGER NOT NULL,"
        "  spec TEXT,"
        "  extra TEXT,"
        "  error TEXT,"
        "  created INTEGER NOT NULL,"
        "  updated INTEGER NOT NULL);"
        "CREATE UNIQUE INDEX tasks_running ON tasks(target, vch_name) WHERE state = 'running';"
        "CREATE TABLE task_events ("
        "  task_id TEXT NOT NULL REFERENCES tasks(id),"
        "  seq INTEGER NOT NULL,"
        "  time_ms INTEGER NOT NULL,"
        "  step TEXT NOT NULL,"
        "  status TEXT NOT NULL,"
        "  message TEXT NOT NULL,"
        "  PRIMARY KEY (task_id, seq));"},
};

void vch_task_clear(vch_task *t)
{
    json_decref(t->spec);
    json_decref(t->extra);
    free(t->error);
    memset(t, 0, sizeof(*t));
}

int vch_tasks_open(vic_store **out, const char *home, vic_err **err)
{
    cleanup_free char *path = xasprintf("%s/vch-tasks.db", home);
    int rc = vic_store_open(out, path, migrations, sizeof(migrations) / sizeof(migrations[0]), err);
    return rc < 0 ? vic_err_wrap(err, rc, "task records %s", path) : 0;
}

long long vch_proc_start(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name may hold spaces and parentheses: fields resume after the last ')' */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    p++;
    for (int field = 2; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    return p ? atoll(p + 1) : 0;
}

int vch_task_owner_alive(const vch_task *t)
{
    if (t->owner_pid == (long)getpid())
        return 1;
    long long start = vch_proc_start(t->owner_pid);
    return start != 0 && start == t->owner_start;
}

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int vch_task_insert(sqlite3 *db, const vch_task *t, vic_err **err)
{
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st,
                               "INSERT INTO tasks (id, kind, state, target, vch_name, vch_id, "
                               "step, address, created_by, owner_pid, owner_start, spec, extra, "
                               "created, updated) VALUES (?,?,'running',?,?,?,'',?,?,?,?,?,?,?,?)",
                               err);
    if (rc < 0)
        return rc;
    cleanup_free char *spec = t->spec ? json_dumps(t->spec, JSON_COMPACT) : NULL;
    cleanup_free char *extra = t->extra ? json_dumps(t->extra, JSON_COMPACT) : NULL;
    long pid = (long)getpid();
    long long now = time(NULL);
    sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t->target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, t->vch_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, t->address, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, t->created_by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, pid);
    sqlite3_bind_int64(st, 9, vch_proc_start(pid));
    sqlite3_bind_text(st, 10, spec, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, extra, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 12, now);
    sqlite3_bind_int64(st, 13, now);
    rc = sqlite3_step(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return vic_err_set(err, VIC_ECONFLICT, "a task for VCH %s on %s is already running",
                           t->name, t->target);
    if (rc != SQLITE_DONE)
        return vic_store_error(err, db, rc, "record the task");
    return 0;
}

int vch_task_addresses(sqlite3 *db, json_t *out, vic_err **err)
{
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(
        db, &st, "SELECT address FROM tasks WHERE state = 'running' AND address != ''", err);
    if (rc < 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(out, json_string((const char *)sqlite3_column_text(st, 0)));
    return rc == SQLITE_DONE ? 0 : vic_store_error(err, db, rc, "read task addresses");
}

typedef struct event_args {
    const char *task, *step, *status, *message, *state, *error;
} event_args;

static int add_event(sqlite3 *db, void *payload, vic_err **err)
{
    event_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st,
                               "INSERT INTO task_events (task_id, seq, time_ms, step, status, "
                               "message) SELECT ?1, coalesce(max(seq), 0) + 1, ?2, ?3, ?4, ?5 "
                               "FROM task_events WHERE task_id = ?1",
                               err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->task, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms());
    sqlite3_bind_text(st, 3, a->step ? a->step : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, a->message ? a->message : "", -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "record a task event");
    sqlite3_stmt *up cleanup_stmt = NULL;
    if ((rc = vic_store_prepare(db, &up,
                                "UPDATE tasks SET step = coalesce(?2, step), "
                                "state = coalesce(?3, state), error = coalesce(?4, error), "
                                "updated = ?5 WHERE id = ?1",
                                err)) < 0)
        return rc;
    sqlite3_bind_text(up, 1, a->task, -1, SQLITE_STATIC);
    if (a->step && !a->state)
        sqlite3_bind_text(up, 2, a->step, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(up, 2);
    if (a->state)
        sqlite3_bind_text(up, 3, a->state, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(up, 3);
    if (a->error)
        sqlite3_bind_text(up, 4, a->error, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(up, 4);
    sqlite3_bind_int64(up, 5, time(NULL));
    if ((rc = sqlite3_step(up)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "update the task");
    return 0;
}

int vch_task_event(vic_store *s, const char *task, const char *step, const char *status,
                   const char *message, vic_err **err)
{
    event_args a = {task, step, status, message, NULL, NULL};
    return vic_store_write(s, add_event, &a, err);
}

int vch_task_finish(vic_store *s, const char *task, const char *state, const char *error,
                    vic_err **err)
{
    event_args a = {task, "done", state, error ? error : "", state, error};
    return vic_store_write(s, add_event, &a, err);
}

static int adopt(sqlite3 *db, void *payload, vic_err **err)
{
    const vch_task *seen = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st,
                               "UPDATE tasks SET owner_pid = ?2, owner_start = ?3, updated = ?4 "
                               "WHERE id = ?1 AND state = 'running' AND owner_pid = ?5 AND "
                               "owner_start = ?6",
                               err);
    if (rc < 0)
        return rc;
    long pid = (long)getpid();
    sqlite3_bind_text(st, 1, seen->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, pid);
    sqlite3_bind_int64(st, 3, vch_proc_start(pid));
    sqlite3_bind_int64(st, 4, time(NULL));
    sqlite3_bind_int64(st, 5, seen->owner_pid);
    sqlite3_bind_int64(st, 6, seen->owner_start);
    if ((rc = sqlite3_step(st)) != SQLITE_DONE)
        return vic_store_error(err, db, rc, "adopt the task");
    if (sqlite3_changes(db) == 0)
        return vic_err_set(err, VIC_ECONFLICT, "task %s has another runner now, or has finished",
                           seen->id);
    return 0;
}

int vch_task_adopt(vic_store *s, const vch_task *seen, vic_err **err)
{
    return vic_store_write(s, adopt, (void *)seen, err);
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", v ? v : "");
}

static json_t *load_json_col(sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    return v ? json_loads(v, 0, NULL) : NULL;
}

#define TASK_COLS                                                                                  \
    "id, kind, state, target, vch_name, vch_id, step, address, created_by, owner_pid, "            \
    "owner_start, spec, extra, error, created, updated"

static void read_task(sqlite3_stmt *st, vch_task *t)
{
    memset(t, 0, sizeof(*t));
    copy_col(t->id, sizeof(t->id), st, 0);
    copy_col(t->kind, sizeof(t->kind), st, 1);
    copy_col(t->state, sizeof(t->state), st, 2);
    copy_col(t->target, sizeof(t->target), st, 3);
    copy_col(t->name, sizeof(t->name), st, 4);
    copy_col(t->vch_id, sizeof(t->vch_id), st, 5);
    copy_col(t->step, sizeof(t->step), st, 6);
    copy_col(t->address, sizeof(t->address), st, 7);
    copy_col(t->created_by, sizeof(t->created_by), st, 8);
    t->owner_pid = (long)sqlite3_column_int64(st, 9);
    t->owner_start = sqlite3_column_int64(st, 10);
    t->spec = load_json_col(st, 11);
    t->extra = load_json_col(st, 12);
    const char *e = (const char *)sqlite3_column_text(st, 13);
    t->error = e ? xstrdup(e) : NULL;
    t->created = sqlite3_column_int64(st, 14);
    t->updated = sqlite3_column_int64(st, 15);
}

typedef struct get_args {
    const char *id, *target, *name, *kind;
    vch_task *out;
} get_args;

static int get_task(sqlite3 *db, void *payload, vic_err **err)
{
    get_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc;
    if (a->id) {
        rc = vic_store_prepare(db, &st, "SELECT " TASK_COLS " FROM tasks WHERE id = ?", err);
        if (rc < 0)
            return rc;
        sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
    } else {
        rc = vic_store_prepare(db, &st,
                               "SELECT " TASK_COLS " FROM tasks WHERE target = ? AND "
                               "vch_name = ? AND kind = ? ORDER BY created DESC, rowid DESC "
                               "LIMIT 1",
                               err);
        if (rc < 0)
            return rc;
        sqlite3_bind_text(st, 1, a->target, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, a->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, a->kind, -1, SQLITE_STATIC);
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return vic_err_set(err, VIC_ENOTFOUND, "task %s not found", a->id ? a->id : a->name);
    if (rc != SQLITE_ROW)
        return vic_store_error(err, db, rc, "read the task");
    read_task(st, a->out);
    return 0;
}

int vch_task_get(vic_store *s, const char *id, vch_task *out, vic_err **err)
{
    get_args a = {.id = id, .out = out};
    return vic_store_read(s, get_task, &a, err);
}

int vch_task_latest(vic_store *s, const char *target, const char *name, const char *kind,
                    vch_task *out, vic_err **err)
{
    get_args a = {.target = target, .name = name, .kind = kind, .out = out};
    return vic_store_read(s, get_task, &a, err);
}

typedef struct events_args {
    const char *id;
    long long after;
    json_t *events;
    char *state;
} events_args;

static int read_events(sqlite3 *db, void *payload, vic_err **err)
{
    events_args *a = payload;
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st, "SELECT state FROM tasks WHERE id = ?", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return vic_err_set(err, VIC_ENOTFOUND, "task %s not found", a->id);
    if (rc != SQLITE_ROW)
        return vic_store_error(err, db, rc, "read the task");
    copy_col(a->state, 16, st, 0);
    sqlite3_stmt *ev cleanup_stmt = NULL;
    if ((rc = vic_store_prepare(db, &ev,
                                "SELECT seq, time_ms, step, status, message FROM task_events "
                                "WHERE task_id = ? AND seq > ? ORDER BY seq",
                                err)) < 0)
        return rc;
    sqlite3_bind_text(ev, 1, a->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ev, 2, a->after);
    while ((rc = sqlite3_step(ev)) == SQLITE_ROW)
        json_array_append_new(
            a->events,
            json_pack("{s:I, s:I, s:s, s:s, s:o}", "seq", (json_int_t)sqlite3_column_int64(ev, 0),
                      "time_ms", (json_int_t)sqlite3_column_int64(ev, 1), "step",
                      (const char *)sqlite3_column_text(ev, 2), "status",
                      (const char *)sqlite3_column_text(ev, 3), "message",
                      vic_json_string_lossy((const char *)sqlite3_column_text(ev, 4))));
    return rc == SQLITE_DONE ? 0 : vic_store_error(err, db, rc, "read task events");
}

int vch_task_events(vic_store *s, const char *id, long long after, json_t **events, char state[16],
                    vic_err **err)
{
    events_args a = {id, after, json_array(), state};
    int rc = vic_store_read(s, read_events, &a, err);
    if (rc < 0) {
        json_decref(a.events);
        *events = NULL;
        return rc;
    }
    *events = a.events;
    return 0;
}

static int read_running(sqlite3 *db, void *payload, vic_err **err)
{
    sqlite3_stmt *st cleanup_stmt = NULL;
    int rc = vic_store_prepare(db, &st, "SELECT id FROM tasks WHERE state = 'running'", err);
    if (rc < 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(payload, json_string((const char *)sqlite3_column_text(st, 0)));
    return rc == SQLITE_DONE ? 0 : vic_store_error(err, db, rc, "read running tasks");
}

int vch_tasks_running(vic_store *s, json_t **out, vic_err **err)
{
    *out = json_array();
    int rc = vic_store_read(s, read_running, *out, err);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

json_t *vch_task_json(const vch_task *t)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id", t->id, "kind",
                          t->kind, "state", t->state, "target", t->target, "vch_name", t->name,
                          "vch_id", t->vch_id, "step", t->step, "created", (json_int_t)t->created,
                          "updated", (json_int_t)t->updated);
    if (t->error)
        json_object_set_new(o, "error", vic_json_string_lossy(t->error));
    if (t->created_by[0])
        json_object_set_new(o, "created_by", json_string(t->created_by));
    return o;
}
