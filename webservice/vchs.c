#include "webservice/vchs.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "vch-wizard/vch.h"

static atomic_int running_threads;
static atomic_int stopping;
static pthread_t converger;
static int converger_started;

int ws_vsphere_target(const ws *w, const char *t)
{
    for (size_t i = 0; t && i < w->opt.n_vsphere_targets; i++)
        if (strcmp(w->opt.vsphere_targets[i], t) == 0)
            return 1;
    return 0;
}

/* The engine a request's target is served by: the service's own for the local target, or
 * (owned) a connection to a vSphere target made with the caller's credentials. */
typedef struct target_engine {
    vch_engine *e;
    int owned;
} target_engine;

static void target_engine_release(target_engine *te)
{
    if (te->owned)
        vch_engine_close(te->e);
    te->e = NULL;
    te->owned = 0;
}
#define cleanup_target __attribute__((cleanup(target_engine_release)))

/* The vSphere credentials of the request (HTTP Basic); *password is a secret. */
static int basic_credentials(vic_http_req *req, char **user, char **password, vic_err **err)
{
    const char *authz = vic_http_req_header(req, "Authorization");
    unsigned char *raw = NULL;
    size_t len = 0;
    if (authz == NULL || strncasecmp(authz, "Basic ", 6) != 0 || strlen(authz) > 1030 ||
        vic_base64_decode(&raw, &len, authz + 6, NULL) < 0)
        return vic_err_set(err, VIC_EAUTH,
                           "target %s: send the vSphere user's credentials with HTTP Basic",
                           vic_http_req_param(req, "t"));
    char *colon = memchr(raw, ':', len);
    int rc = 0;
    if (colon == NULL || memchr(raw, '\0', len) != NULL) {
        rc = vic_err_set(err, VIC_EAUTH, "malformed Basic credentials");
    } else {
        *user = xstrndup((char *)raw, (size_t)(colon - (char *)raw));
        *password = xstrndup(colon + 1, len - (size_t)(colon + 1 - (char *)raw));
    }
    OPENSSL_cleanse(raw, len);
    free(raw);
    return rc;
}

static int engine_for(ws *w, vic_http_req *req, target_engine *te, vic_err **err)
{
    te->e = NULL;
    te->owned = 0;
    const char *t = vic_http_req_param(req, "t");
    if (t && strcmp(t, vch_engine_target(w->vch)) == 0) {
        te->e = w->vch;
        return 0;
    }
    if (!ws_vsphere_target(w, t)) {
        vic_buf known = VIC_BUF_INIT;
        vic_buf_appendf(&known, "%s", vch_engine_target(w->vch));
        for (size_t i = 0; i < w->opt.n_vsphere_targets; i++)
            vic_buf_appendf(&known, ", %s", w->opt.vsphere_targets[i]);
        int rc = vic_err_set(err, VIC_ENOTFOUND, "target %s is not known here (known: %s)",
                             t ? t : "", known.data);
        vic_buf_free(&known);
        return rc;
    }
    cleanup_free char *user = NULL;
    cleanup_secret char *password = NULL;
    int rc = basic_credentials(req, &user, &password, err);
    if (rc < 0)
        return rc;
    vch_engine_opts o = {.home = w->opt.home,
                         .bin_dir = w->opt.bin_dir,
                         .target = t,
                         .user = user,
                         .password = password,
                         .thumbprint = vic_http_req_query(req, "thumbprint"),
                         .appliance_iso = w->opt.appliance_iso};
    if ((rc = vch_engine_open(&te->e, &o, err)) < 0)
        return rc;
    te->owned = 1;
    /* tasks on this target whose runner died: this caller can finish them */
    int fixed = 0;
    vic_err *ce = NULL;
    if (vch_converge(te->e, &fixed, &ce) < 0)
        vic_log(VIC_LOG_WARN, "event=converge_failed target=%s msg=\"%s\"", t, ce->msg);
    vic_err_free(&ce);
    return 0;
}

static void problems_response(vic_http_resp *resp, int rc, vic_err **err, json_t *problems)
{
    json_t *body = json_pack("{s:s, s:O}", "message", (*err)->msg, "problems", problems);
    vic_http_resp_json(resp, vic_err_http_status(rc), body);
    vic_err_free(err);
}

/* ---- task threads ---- */

typedef struct task_job {
    ws *w;
    target_engine te; /* the thread's to release */
    char id[40];
    int delete;
} task_job;

static void *task_thread(void *p)
{
    task_job *j = p;
    vic_err *err = NULL;
    int rc = j->delete ? vch_delete_run(j->te.e, j->id, NULL, NULL, &err)
                       : vch_create_run(j->te.e, j->id, NULL, NULL, &err);
    if (rc < 0)
        vic_log(VIC_LOG_WARN, "event=task_failed task=%s msg=\"%s\"", j->id, err->msg);
    else
        vic_log(VIC_LOG_INFO, "event=task_succeeded task=%s", j->id);
    vic_err_free(&err);
    target_engine_release(&j->te);
    free(j);
    atomic_fetch_sub(&running_threads, 1);
    return NULL;
}

/* Runs task id on a thread of its own, which takes over te's engine. */
static int start_thread(ws *w, target_engine *te, const char *id, int del, vic_err **err)
{
    task_job *j = xzalloc(sizeof(*j));
    j->w = w;
    j->te = *te;
    j->delete = del;
    snprintf(j->id, sizeof(j->id), "%s", id);
    atomic_fetch_add(&running_threads, 1);
    pthread_t th;
    if (pthread_create(&th, NULL, task_thread, j) != 0) {
        atomic_fetch_sub(&running_threads, 1);
        free(j);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start the task");
    }
    te->owned = 0; /* the thread's now */
    pthread_detach(th);
    return 0;
}

/* Runs a task to its end on this request's thread (?wait=1). */
static int run_now(vch_engine *e, const char *id, int del, vic_err **err)
{
    return del ? vch_delete_run(e, id, NULL, NULL, err) : vch_create_run(e, id, NULL, NULL, err);
}

static json_t *task_ref(const vch_task *t)
{
    cleanup_free char *task = xasprintf("/container/tasks/%s", t->id);
    cleanup_free char *events = xasprintf("/container/tasks/%s/events", t->id);
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", t->vch_id, "name", t->name, "task", task,
                     "task_id", t->id, "events", events);
}

int ws_vch_start_create(ws *w, const json_t *spec, const char *created_by, const char *uid,
                        json_t **out, json_t **problems, vic_err **err)
{
    vch_task t;
    int rc = vch_create_begin(w->vch, spec, created_by, uid, &t, problems, err);
    if (rc < 0)
        return rc;
    target_engine te = {w->vch, 0};
    rc = start_thread(w, &te, t.id, 0, err);
    if (rc == 0)
        *out = task_ref(&t);
    vch_task_clear(&t);
    return rc;
}

/* ---- routes ---- */

int ws_vch_list(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    target_engine te cleanup_target = {NULL, 0};
    int rc = engine_for(w, req, &te, err);
    if (rc < 0)
        return rc;
    json_t *list = NULL;
    if ((rc = vch_list(te.e, &list, err)) < 0)
        return rc;
    vic_http_resp_json(resp, 200, json_pack("{s:o}", "vchs", list));
    return 0;
}

int ws_vch_create(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    target_engine te cleanup_target = {NULL, 0};
    int rc = engine_for(w, req, &te, err);
    if (rc < 0)
        return rc;
    const char *wait = vic_http_req_query(req, "wait");
    int sync = wait && (strcmp(wait, "1") == 0 || strcmp(wait, "true") == 0);
    vch_task t;
    json_t *problems cleanup_json = NULL;
    rc = vch_create_begin(te.e, vic_http_req_json(req), vic_http_req_principal(req), NULL, &t,
                          &problems, err);
    if (rc < 0 && problems) {
        problems_response(resp, rc, err, problems);
        return 0;
    }
    if (rc < 0)
        return rc;
    cleanup_free char *loc = xasprintf("/container/target/%s/vch/%s", t.target, t.vch_id);
    json_t *ref = task_ref(&t);
    if (sync) {
        rc = run_now(te.e, t.id, 0, err);
        if (rc < 0) {
            json_decref(ref);
            vch_task_clear(&t);
            return rc;
        }
        vic_http_resp_header(resp, "Location", loc);
        vic_http_resp_json(resp, 201, ref);
    } else {
        rc = start_thread(w, &te, t.id, 0, err);
        if (rc < 0) {
            json_decref(ref);
            vch_task_clear(&t);
            return rc;
        }
        vic_http_resp_header(resp, "Location", loc);
        vic_http_resp_json(resp, 202, ref);
    }
    vic_log(VIC_LOG_INFO, "event=vch_create vch=%s task=%s by=%s", t.name, t.id,
            vic_http_req_principal(req));
    vch_task_clear(&t);
    return 0;
}

int ws_vch_inspect(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    target_engine te cleanup_target = {NULL, 0};
    int rc = engine_for(w, req, &te, err);
    if (rc < 0)
        return rc;
    json_t *out = NULL;
    if ((rc = vch_inspect(te.e, vic_http_req_param(req, "id"), &out, err)) < 0)
        return rc;
    vic_http_resp_json(resp, 200, out);
    return 0;
}

int ws_vch_configure(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    target_engine te cleanup_target = {NULL, 0};
    int rc = engine_for(w, req, &te, err);
    if (rc < 0)
        return rc;
    json_t *out = NULL;
    if ((rc = vch_configure(te.e, vic_http_req_param(req, "id"), vic_http_req_json(req), &out,
                            err)) < 0)
        return rc;
    vic_http_resp_json(resp, 200, out);
    return 0;
}

static const char *const container_opts[] = {"off", "all", NULL};
static const char *const store_opts[] = {"none", "all", NULL};
static const vic_schema_field delete_fields[] = {
    {.name = "containers", .type = VIC_JSON_STRING, .choices = container_opts},
    {.name = "volume_stores", .type = VIC_JSON_STRING, .choices = store_opts},
};
static const vic_schema delete_schema = VIC_SCHEMA(delete_fields);

int ws_vch_delete(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    target_engine te cleanup_target = {NULL, 0};
    int rc = engine_for(w, req, &te, err);
    if (rc < 0)
        return rc;
    json_t *body = vic_http_req_json(req);
    if (body && (rc = vic_json_validate(body, &delete_schema, NULL, err)) < 0)
        return rc;
    vch_delete_opts o = {
        .containers_all = body && vic_json_str(body, "containers") &&
                          strcmp(vic_json_str(body, "containers"), "all") == 0,
        .volume_stores_all = body && vic_json_str(body, "volume_stores") &&
                             strcmp(vic_json_str(body, "volume_stores"), "all") == 0,
    };
    vch_task t;
    if ((rc = vch_delete_begin(te.e, vic_http_req_param(req, "id"), &o, &t, err)) < 0)
        return rc;
    const char *wait = vic_http_req_query(req, "wait");
    json_t *ref = task_ref(&t);
    if (wait && (strcmp(wait, "1") == 0 || strcmp(wait, "true") == 0)) {
        rc = run_now(te.e, t.id, 1, err);
        if (rc == 0)
            vic_http_resp_json(resp, 200, ref);
    } else {
        rc = start_thread(w, &te, t.id, 1, err);
        if (rc == 0)
            vic_http_resp_json(resp, 202, ref);
    }
    if (rc < 0)
        json_decref(ref);
    else
        vic_log(VIC_LOG_INFO, "event=vch_delete vch=%s task=%s by=%s", t.name, t.id,
                vic_http_req_principal(req));
    vch_task_clear(&t);
    return rc;
}

int ws_vch_certificate(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    target_engine te cleanup_target = {NULL, 0};
    int rc = engine_for(w, req, &te, err);
    if (rc < 0)
        return rc;
    cleanup_free char *pem = NULL;
    if ((rc = vch_certificate(te.e, vic_http_req_param(req, "id"), &pem, err)) < 0)
        return rc;
    vic_http_resp_text(resp, 200, "application/x-pem-file", pem, strlen(pem));
    return 0;
}

int ws_vch_log(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    target_engine te cleanup_target = {NULL, 0};
    int rc = engine_for(w, req, &te, err);
    if (rc < 0)
        return rc;
    cleanup_free char *text = NULL;
    if ((rc = vch_log(te.e, vic_http_req_param(req, "id"), &text, err)) < 0)
        return rc;
    vic_http_resp_text(resp, 200, "text/plain; charset=utf-8", text, strlen(text));
    return 0;
}

int ws_task_get(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    vch_task t;
    int rc = vch_task_get(vch_engine_tasks(w->vch), vic_http_req_param(req, "id"), &t, err);
    if (rc < 0)
        return rc;
    vic_http_resp_json(resp, 200, vch_task_json(&t));
    vch_task_clear(&t);
    return 0;
}

typedef struct events_job {
    ws *w;
    char id[40];
    long long after;
    vic_http_stream *s;
} events_job;

static void *events_thread(void *p)
{
    events_job *j = p;
    vic_store *store = vch_engine_tasks(j->w->vch);
    for (;;) {
        json_t *events = NULL;
        char state[16] = "";
        vic_err *err = NULL;
        if (vch_task_events(store, j->id, j->after, &events, state, &err) < 0) {
            vic_http_stream_event(j->s, "error", NULL, err->msg, NULL);
            vic_err_free(&err);
            break;
        }
        size_t i;
        json_t *ev;
        int gone = 0;
        json_array_foreach(events, i, ev)
        {
            long long seq = (long long)json_integer_value(json_object_get(ev, "seq"));
            char id[32];
            snprintf(id, sizeof(id), "%lld", seq);
            cleanup_free char *data = json_dumps(ev, JSON_COMPACT);
            if (vic_http_stream_event(j->s, "progress", id, data, NULL) < 0)
                gone = 1;
            j->after = seq;
        }
        json_decref(events);
        if (gone || !vic_http_stream_alive(j->s) || atomic_load(&stopping))
            break;
        if (strcmp(state, "running") != 0) {
            cleanup_free char *end = xasprintf("{\"state\":\"%s\"}", state);
            vic_http_stream_event(j->s, "end", NULL, end, NULL);
            break;
        }
        struct timespec nap = {0, 100 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    vic_http_stream_close(j->s);
    vic_http_stream_release(j->s);
    free(j);
    atomic_fetch_sub(&running_threads, 1);
    return NULL;
}

int ws_task_events(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    ws *w = payload;
    vch_task t;
    int rc = vch_task_get(vch_engine_tasks(w->vch), vic_http_req_param(req, "id"), &t, err);
    if (rc < 0)
        return rc;
    vch_task_clear(&t);
    events_job *j = xzalloc(sizeof(*j));
    j->w = w;
    snprintf(j->id, sizeof(j->id), "%s", vic_http_req_param(req, "id"));
    const char *last = vic_http_req_header(req, "Last-Event-ID");
    j->after = last ? atoll(last) : 0;
    if (j->after < 0)
        j->after = 0;
    j->s = vic_http_resp_stream(resp, 200, "text/event-stream");
    vic_http_resp_header(resp, "Cache-Control", "no-store");
    atomic_fetch_add(&running_threads, 1);
    pthread_t th;
    if (pthread_create(&th, NULL, events_thread, j) != 0) {
        atomic_fetch_sub(&running_threads, 1);
        vic_http_stream_close(j->s);
        vic_http_stream_release(j->s);
        free(j);
        return vic_err_set(err, VIC_EINTERNAL, "cannot start the event stream");
    }
    pthread_detach(th);
    return 0;
}

/* ---- convergence ---- */

static void converge_once(ws *w)
{
    int fixed = 0;
    vic_err *err = NULL;
    if (vch_converge(w->vch, &fixed, &err) < 0)
        vic_log(VIC_LOG_WARN, "event=converge_failed msg=\"%s\"", err->msg);
    else if (fixed)
        vic_log(VIC_LOG_INFO, "event=converged tasks=%d", fixed);
    vic_err_free(&err);
}

static void *converge_thread(void *p)
{
    ws *w = p;
    while (!atomic_load(&stopping)) {
        for (int i = 0; i < 50 && !atomic_load(&stopping); i++) {
            struct timespec nap = {0, 100 * 1000 * 1000};
            nanosleep(&nap, NULL);
        }
        if (!atomic_load(&stopping))
            converge_once(w);
    }
    return NULL;
}

void ws_vch_start(ws *w)
{
    converge_once(w);
    /* the VCHs that ran when this host went down come back (vic-machine stop keeps one off) */
    int started = 0;
    vic_err *err = NULL;
    if (vch_autostart(w->vch, &started, &err) < 0)
        vic_log(VIC_LOG_WARN, "event=autostart_failed msg=\"%s\"", err->msg);
    else if (started)
        vic_log(VIC_LOG_INFO, "event=autostarted vchs=%d", started);
    vic_err_free(&err);
    atomic_store(&stopping, 0);
    converger_started = pthread_create(&converger, NULL, converge_thread, w) == 0;
}

int ws_vch_stop(ws *w)
{
    (void)w;
    atomic_store(&stopping, 1);
    if (converger_started)
        pthread_join(converger, NULL);
    converger_started = 0;
    /* streams end at their next poll; tasks are left to the next start's convergence */
    for (int i = 0; i < 30 && atomic_load(&running_threads) > 0; i++) {
        struct timespec nap = {0, 50 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    return atomic_load(&running_threads);
}

void ws_vch_wait_idle(void)
{
    while (atomic_load(&running_threads) > 0) {
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
}
