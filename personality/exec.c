/*
 * exec.c - Docker's exec over the port layer's exec channel (see exec.h).
 */
#include "personality/exec.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/attach.h"
#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/httpc.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "personality/common.h"
#include "personality/stream.h"

#define EXECS_KEPT 256 /* finished instances kept for inspect before the oldest go */

typedef struct engine_exec_inst {
    char id[65];
    char container[65];
    json_t *spec; /* the EXEC frame's {cmd, env, workdir, user, tty, stdin} */
    int tty, want_in, want_out, want_err;
    unsigned char detach[16]; /* the detach keys, with a terminal and input */
    size_t n_detach;
    int started, running, exit_code;
    int pl_fd; /* the channel while attached; -1 otherwise */
    unsigned rows, cols;
    struct engine_exec_inst *next;
} exec_inst;

static void inst_free(exec_inst *e)
{
    json_decref(e->spec);
    free(e);
}

void engine_exec_free_all(engine_ctx *c)
{
    pthread_mutex_lock(&c->execs_lock);
    for (exec_inst **pp = &c->execs; *pp;) {
        exec_inst *e = *pp;
        if (e->running) { /* a detached run still follows it */
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        inst_free(e);
        c->n_execs--;
    }
    pthread_mutex_unlock(&c->execs_lock);
}

/* Drops the oldest finished instances beyond EXECS_KEPT; with c->execs_lock held. */
static void trim_locked(engine_ctx *c)
{
    while (c->n_execs > EXECS_KEPT) {
        exec_inst **victim = NULL;
        for (exec_inst **pp = &c->execs; *pp; pp = &(*pp)->next)
            if (!(*pp)->running && (*pp)->started)
                victim = pp; /* the list is newest first: the last such is the oldest */
        if (victim == NULL)
            return;
        exec_inst *e = *victim;
        *victim = e->next;
        inst_free(e);
        c->n_execs--;
    }
}

/* The instance {id} (with c->execs_lock held on success), or VIC_ENOTFOUND. */
static exec_inst *find_locked(engine_ctx *c, vic_http_req *req, vic_err **err)
{
    const char *id = vic_http_req_param(req, "id");
    pthread_mutex_lock(&c->execs_lock);
    for (exec_inst *e = c->execs; e && id; e = e->next)
        if (strcmp(e->id, id) == 0)
            return e;
    pthread_mutex_unlock(&c->execs_lock);
    vic_err_set(err, VIC_ENOTFOUND, "No such exec instance: %.64s", id ? id : "");
    return NULL;
}

/* Docker's exec environment: the container's, each entry replaced by the exec's of the same
 * name, then the exec's others (ReplaceOrAppendEnvValues). New reference. */
static json_t *exec_env(const json_t *container, const json_t *given)
{
    json_t *out = json_array();
    size_t i, k;
    json_t *v, *g;
    json_array_foreach(container, i, v)
    {
        const char *kv = json_string_value(v);
        size_t n = kv ? strcspn(kv, "=") : 0;
        json_t *use = v;
        json_array_foreach(given, k, g)
        {
            const char *gv = json_string_value(g);
            if (gv && strcspn(gv, "=") == n && strncmp(gv, kv, n) == 0)
                use = g;
        }
        if (kv)
            json_array_append(out, use);
    }
    json_array_foreach(given, k, g)
    {
        const char *gv = json_string_value(g);
        size_t n = gv ? strcspn(gv, "=") : 0;
        int seen = 0;
        json_array_foreach(container, i, v)
        {
            const char *kv = json_string_value(v);
            seen |= kv && strcspn(kv, "=") == n && strncmp(gv, kv, n) == 0;
        }
        if (gv && !seen)
            json_array_append(out, g);
    }
    return out;
}

int engine_exec_create_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    json_t *b = vic_http_req_json(req);
    if (!json_is_object(b))
        return vic_err_set(err, VIC_EINVAL, "the exec config must be a JSON object");
    if (json_is_true(json_object_get(b, "Privileged")))
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "exec --privileged is not supported: each container of a VCH is "
                           "its own VM");
    json_t *cmd = json_object_get(b, "Cmd");
    size_t i;
    json_t *v;
    int ok = json_is_array(cmd) && json_array_size(cmd) > 0;
    json_array_foreach(ok ? cmd : NULL, i, v)
    {
        ok &= json_is_string(v);
    }
    if (!ok || json_string_length(json_array_get(cmd, 0)) == 0)
        return vic_err_set(err, VIC_EINVAL, "No exec command specified");
    json_t *env = json_object_get(b, "Env");
    json_array_foreach(json_is_array(env) ? env : NULL, i, v)
    {
        if (!json_is_string(v))
            return vic_err_set(err, VIC_EINVAL, "Env[%zu]: must be a string", i);
    }
    cleanup_free char *path = engine_pl_path(req, "", err);
    if (path == NULL)
        return VIC_ENOTFOUND;
    json_t *x cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "GET", path, NULL, 30000, &x, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, vic_http_req_param(req, "id"), err);
    if (!json_is_true(json_object_get(x, "running")))
        return vic_err_set(err, VIC_ECONFLICT, "Container %s is not running",
                           vic_json_str(x, "id") ?: "");
    if (strcmp(vic_json_str(x, "state") ?: "", "paused") == 0)
        return vic_err_set(err, VIC_ECONFLICT,
                           "Container %s is paused, unpause the container before exec",
                           vic_json_str(x, "id") ?: "");
    unsigned char keys[16];
    size_t n_keys = 0;
    const json_t *dk = json_object_get(b, "DetachKeys");
    if (dk && !json_is_string(dk) && !json_is_null(dk))
        return vic_err_set(err, VIC_EINVAL, "DetachKeys: must be a string");
    if (json_is_true(json_object_get(b, "Tty")) &&
        json_is_true(json_object_get(b, "AttachStdin")) &&
        (rc = engine_detach_keys(json_string_value(dk), keys, sizeof(keys), &n_keys, err)) < 0)
        return rc;
    exec_inst *e = xzalloc(sizeof(*e));
    memcpy(e->detach, keys, n_keys);
    e->n_detach = n_keys;
    unsigned char raw[32];
    vic_random_bytes(raw, sizeof(raw));
    for (int k = 0; k < 32; k++)
        snprintf(e->id + 2 * k, 3, "%02x", raw[k]);
    snprintf(e->container, sizeof(e->container), "%s", vic_json_str(x, "id") ?: "");
    e->tty = json_is_true(json_object_get(b, "Tty"));
    e->want_in = json_is_true(json_object_get(b, "AttachStdin"));
    e->want_out = json_is_true(json_object_get(b, "AttachStdout"));
    e->want_err = json_is_true(json_object_get(b, "AttachStderr"));
    e->pl_fd = -1;
    e->spec = json_pack("{s:O, s:o, s:b, s:b}", "cmd", cmd, "env",
                        exec_env(json_object_get(json_object_get(x, "config"), "env"), env), "tty",
                        e->tty, "stdin", e->want_in);
    /* Docker's exec runs as the container's user in its working directory unless told */
    static const char *const strs[][2] = {{"WorkingDir", "workdir"}, {"User", "user"}};
    for (int k = 0; k < 2; k++) {
        const char *s = vic_json_str(b, strs[k][0]);
        if (s == NULL || *s == '\0')
            s = vic_json_str(json_object_get(x, "config"), strs[k][1]);
        if (s && *s)
            json_object_set_new(e->spec, strs[k][1], json_string(s));
    }
    json_t *size = json_object_get(b, "ConsoleSize");
    if (json_array_size(size) == 2) {
        e->rows = (unsigned)json_integer_value(json_array_get(size, 0));
        e->cols = (unsigned)json_integer_value(json_array_get(size, 1));
    }
    pthread_mutex_lock(&c->execs_lock);
    e->next = c->execs;
    c->execs = e;
    c->n_execs++;
    trim_locked(c);
    pthread_mutex_unlock(&c->execs_lock);
    vic_http_resp_json(resp, 201, json_pack("{s:s}", "Id", e->id));
    return 0;
}

/* ---- running ---- */

typedef struct exec_run {
    engine_ctx *c;
    exec_inst *e; /* stays in the list while it runs (trim skips running ones) */
    int fd;       /* the port layer's channel */
} exec_run;

static void finish(exec_run *r, int exit_code)
{
    pthread_mutex_lock(&r->c->execs_lock);
    r->e->running = 0;
    r->e->exit_code = exit_code;
    r->e->pl_fd = -1;
    pthread_mutex_unlock(&r->c->execs_lock);
    vic_log(VIC_LOG_INFO, "event=exec_end container=%.12s exec=%.12s exit=%d", r->e->container,
            r->e->id, exit_code);
}

/* Relays until the program's EXIT (h NULL when detached); the exit code, or -1 when the
 * channel broke. What the client sent with its request goes first. */
static int relay(exec_run *r, vic_http_hijack *h)
{
    exec_inst *e = r->e;
    engine_relay er = {.pl_fd = r->fd,
                       .tty = e->tty,
                       .want_in = e->want_in,
                       .want_out = e->want_out,
                       .want_err = e->want_err,
                       .outlive_client = 1,
                       .lock = &r->c->execs_lock,
                       .detach = e->detach,
                       .n_detach = e->n_detach};
    engine_relay_client(&er, h);
    if (h)
        er.input = vic_http_hijack_extra(h, &er.input_len);
    return engine_attach_relay(&er);
}

static void run_drop(void *payload)
{
    exec_run *r = payload;
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

static void run_attached(vic_http_hijack *h, void *payload)
{
    exec_run *r = payload;
    int code = relay(r, h);
    finish(r, code < 0 ? 126 : code); /* before the stream closes: the CLI inspects next */
    run_drop(r);
}

static void *run_detached(void *payload)
{
    exec_run *r = payload;
    int code = relay(r, NULL);
    finish(r, code < 0 ? 126 : code);
    run_drop(r);
    return NULL;
}

int engine_exec_start_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    json_t *b = vic_http_req_json(req);
    int detach = json_is_true(json_object_get(b, "Detach"));
    int urc = detach ? 0 : engine_stream_need_upgrade(req, "an attached exec", err);
    if (urc < 0)
        return urc;
    exec_inst *e = find_locked(c, req, err);
    if (e == NULL)
        return VIC_ENOTFOUND;
    if (e->started) {
        pthread_mutex_unlock(&c->execs_lock);
        return vic_err_set(err, VIC_ECONFLICT, "exec %.12s has already started", e->id);
    }
    e->started = 1;
    e->running = 1;
    json_t *spec = json_incref(e->spec);
    if (e->rows && e->cols) {
        json_object_set_new(spec, "rows", json_integer(e->rows));
        json_object_set_new(spec, "cols", json_integer(e->cols));
    }
    char container[65];
    snprintf(container, sizeof(container), "%s", e->container);
    pthread_mutex_unlock(&c->execs_lock);

    exec_run *r = xzalloc(sizeof(*r));
    r->c = c;
    r->e = e;
    r->fd = -1;
    cleanup_free char *path = xasprintf("/containers/%s/exec", container);
    int rc = vic_httpc_hijack(c->pl, "POST", path, 10000, &r->fd, err);
    cleanup_free char *text = json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    if (rc == 0 && vic_attach_send(r->fd, VIC_ATTACH_EXEC, text, strlen(text), err) < 0)
        rc = (*err)->code;
    if (rc < 0) {
        pthread_mutex_lock(&c->execs_lock);
        e->running = 0;
        e->exit_code = 126;
        pthread_mutex_unlock(&c->execs_lock);
        run_drop(r);
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, NULL, err);
    }
    pthread_mutex_lock(&c->execs_lock);
    e->pl_fd = r->fd;
    pthread_mutex_unlock(&c->execs_lock);
    vic_log(VIC_LOG_INFO, "event=exec_start container=%.12s exec=%.12s detach=%d", container, e->id,
            detach);
    if (detach) {
        pthread_t th;
        if (pthread_create(&th, NULL, run_detached, r) != 0) {
            run_drop(r);
            return vic_err_set(err, VIC_EINTERNAL, "cannot follow a detached exec");
        }
        pthread_detach(th);
        vic_http_resp_json(resp, 200, NULL);
        return 0;
    }
    vic_http_resp_hijack(resp, "tcp", engine_stream_type(e->tty), run_attached, run_drop, r);
    return 0;
}

int engine_exec_inspect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                vic_err **err)
{
    engine_ctx *c = payload;
    exec_inst *e = find_locked(c, req, err);
    if (e == NULL)
        return VIC_ENOTFOUND;
    json_t *cmd = json_object_get(e->spec, "cmd");
    json_t *args = json_array();
    for (size_t i = 1; i < json_array_size(cmd); i++)
        json_array_append(args, json_array_get(cmd, i));
    json_t *out =
        json_pack("{s:s, s:b, s:I, s:{s:s, s:o, s:b, s:s, s:b}, s:b, s:b, s:b, s:b, s:s, s:i}",
                  "ID", e->id, "Running", e->running, "ExitCode",
                  (json_int_t)(e->started && !e->running ? e->exit_code : 0), "ProcessConfig",
                  "entrypoint", json_string_value(json_array_get(cmd, 0)), "arguments", args, "tty",
                  e->tty, "user", vic_json_str(e->spec, "user") ?: "", "privileged", 0, "OpenStdin",
                  e->want_in, "OpenStderr", e->want_err, "OpenStdout", e->want_out, "CanRemove", 0,
                  "ContainerID", e->container, "Pid", 0);
    if (!e->started || e->running)
        json_object_set_new(out, "ExitCode", json_null());
    pthread_mutex_unlock(&c->execs_lock);
    vic_http_resp_json(resp, 200, out);
    return 0;
}

int engine_exec_resize_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    unsigned rows, cols;
    int rc = engine_stream_size(req, &rows, &cols, err);
    if (rc < 0)
        return rc;
    exec_inst *e = find_locked(c, req, err);
    if (e == NULL)
        return VIC_ENOTFOUND;
    e->rows = rows;
    e->cols = cols;
    if (e->pl_fd >= 0)
        engine_stream_send_resize(e->pl_fd, rows, cols);
    pthread_mutex_unlock(&c->execs_lock);
    vic_http_resp_json(resp, 200, NULL);
    return 0;
}
