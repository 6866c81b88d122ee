/*
 * healthmon.c - the health checker (see healthmon.h): a thread that looks at the pool's
 * containers every LOOK_MS and keeps one monitor thread per running container with a check,
 * for its current run; each monitor sleeps Docker's interval, runs the check through the
 * container's exec channel and records the result (health.h's rules) in the VM.
 */
#include "portlayer/healthmon.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/attach.h"
#include "lib/cleanup.h"
#include "lib/guestinfo.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "portlayer/health.h"

#define KEY_CONFIG VIC_GI_PREFIX "/vicc/healthcheck"
#define KEY_NAME   VIC_GI_PREFIX "/common/name"
#define KEY_IMAGE  VIC_GI_PREFIX "/repo"

#define EVENTS_KEPT 256
#define LOOK_MS     1000 /* how often the checker looks for containers to check */

static int64_t num(const json_t *hc, const char *key)
{
    return json_integer_value(json_object_get(hc, key));
}

static int64_t or_default(int64_t v, int64_t d)
{
    return v > 0 ? v : d;
}

typedef struct monitor {
    struct pl_healthmon *h;
    char id[65];
    int64_t run_ns;
    json_t *hc;   /* the check */
    json_t *spec; /* the exec spec: {cmd, env, workdir, user, tty, stdin} */
    bool starting;
    bool stop, done, seen; /* under h->mu */
    pthread_t th;
    struct monitor *next;
} monitor;

struct pl_healthmon {
    pl *p;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC; wakes sleepers to stop */
    bool stopping;
    pthread_t th;
    monitor *mons;
    json_t *events; /* [{seq, event}], oldest first */
    int64_t seq;
};

static int64_t wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Waits on h->cv (h->mu held) until the monotonic deadline or *flag; true when *flag. */
static bool sleep_until(pl_healthmon *h, int64_t deadline, const bool *flag)
{
    while (!*flag && !h->stopping) {
        int64_t now = mono_ns();
        if (now >= deadline)
            return false;
        struct timespec ts = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000};
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    return true;
}

/* Output kept as Docker's limitedBuffer keeps it. */
typedef struct limited {
    vic_buf b;
    bool cut;
} limited;

static void limited_add(limited *l, const char *data, size_t n)
{
    size_t room = PL_HEALTH_OUTPUT_MAX - l->b.len;
    if (n > room) {
        l->cut = true;
        n = room;
    }
    if (n > 0)
        vic_buf_append(&l->b, data, n);
}

static char *limited_text(limited *l)
{
    vic_buf out = VIC_BUF_INIT;
    vic_buf_append(&out, l->b.data ? l->b.data : "", l->b.len);
    if (l->cut)
        vic_buf_append(&out, "...", 3);
    vic_buf_append(&out, "", 1);
    /* a JSON string holds UTF-8: anything else becomes U+FFFD (as Go's encoder does) */
    json_t *s = vic_json_string_lossy(out.data);
    char *text = xstrdup(json_string_value(s) ? json_string_value(s) : "");
    json_decref(s);
    vic_buf_free(&out);
    return text;
}

/* One run of m's check: 0 with *r filled (r->output a new string), or 1 when the container
 * no longer runs (or the checker stops): no result. */
static int probe(monitor *m, pl_health_result *r)
{
    pl_healthmon *h = m->h;
    memset(r, 0, sizeof(*r));
    r->start_ns = wall_ns();
    int fd = -1;
    vic_err *err cleanup_err = NULL;
    int rc = pl_container_exec(h->p, m->id, &fd, &err);
    if (rc == VIC_ECONFLICT || rc == VIC_ENOTFOUND)
        return 1;
    limited out = {VIC_BUF_INIT, false};
    if (rc == 0) {
        char *text = json_dumps(m->spec, JSON_COMPACT);
        rc = vic_attach_send(fd, VIC_ATTACH_EXEC, text, strlen(text), &err);
        free(text);
    }
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        r->end_ns = wall_ns();
        r->exit_code = -1;
        r->output = xasprintf("health check: %s", err ? err->msg : "cannot run");
        return 0;
    }
    int64_t timeout = or_default(num(m->hc, "timeout"), PL_HEALTH_TIMEOUT_NS);
    int64_t deadline = mono_ns() + timeout;
    vic_buf in = VIC_BUF_INIT;
    int64_t code = 0;
    enum { RUNNING, EXITED, TIMED_OUT, BROKEN, STOPPED } how = RUNNING;
    while (how == RUNNING) {
        int64_t left = deadline - mono_ns();
        if (left <= 0) {
            how = TIMED_OUT;
            break;
        }
        pthread_mutex_lock(&h->mu);
        bool stop = m->stop || h->stopping;
        pthread_mutex_unlock(&h->mu);
        if (stop) {
            how = STOPPED;
            break;
        }
        struct pollfd pf = {fd, POLLIN, 0};
        int wait = left / 1000000 > 200 ? 200 : (int)(left / 1000000) + 1;
        int n = poll(&pf, 1, wait);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        char buf[16384];
        ssize_t got = read(fd, buf, sizeof(buf));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            how = BROKEN;
            break;
        }
        vic_buf_append(&in, buf, (size_t)got);
        size_t off = 0;
        vic_attach_frame f;
        int pr;
        while (how == RUNNING && (pr = vic_attach_next(in.data, in.len, &off, &f)) == 1) {
            if (f.type == VIC_ATTACH_STDOUT || f.type == VIC_ATTACH_STDERR) {
                limited_add(&out, f.data, f.len);
            } else if (f.type == VIC_ATTACH_EXIT) {
                char num_text[24];
                snprintf(num_text, sizeof(num_text), "%.*s", (int)(f.len < 23 ? f.len : 23),
                         f.data);
                code = strtoll(num_text, NULL, 10);
                how = EXITED;
            }
        }
        if (how == RUNNING && pr < 0)
            how = BROKEN;
        memmove(in.data, in.data + off, in.len - off);
        in.len -= off;
    }
    close(fd);
    vic_buf_free(&in);
    r->end_ns = wall_ns();
    char *text = limited_text(&out);
    vic_buf_free(&out.b);
    if (how == STOPPED) {
        free(text);
        return 1;
    }
    if (how == EXITED) {
        r->exit_code = code;
        r->output = text;
        return 0;
    }
    r->exit_code = -1;
    if (how == TIMED_OUT) {
        char d[32];
        pl_health_duration(d, sizeof(d), timeout);
        r->output = *text ? xasprintf("Health check exceeded timeout (%s): %s", d, text)
                          : xasprintf("Health check exceeded timeout (%s)", d);
    } else {
        r->output = xasprintf("health check: the exec channel closed before the check ended%s%s",
                              *text ? ": " : "", text);
    }
    free(text);
    return 0;
}

static vic_exec_session *main_session(vic_exec_config *cfg)
{
    for (size_t i = 0; i < cfg->n_sessions; i++)
        if (cfg->id && cfg->session_ids[i] && strcmp(cfg->session_ids[i], cfg->id) == 0)
            return &cfg->sessions[i];
    return NULL;
}

static void handle_freep(pl_handle **h)
{
    pl_handle_free(*h);
}

static void push_event(pl_healthmon *h, const char *id, const char *name, const char *image,
                       pl_health_status status)
{
    json_t *ev =
        json_pack("{s:s+, s:s, s:s, s:s, s:I}", "type",
                  "health_status: ", pl_health_status_name(status), "id", id, "name",
                  name ? name : "", "image", image ? image : "", "time_ns", (json_int_t)wall_ns());
    pthread_mutex_lock(&h->mu);
    json_array_append_new(h->events,
                          json_pack("{s:I, s:o}", "seq", (json_int_t)++h->seq, "event", ev));
    while (json_array_size(h->events) > EVENTS_KEPT)
        json_array_remove(h->events, 0);
    pthread_mutex_unlock(&h->mu);
}

/* Records r for m's run: 0, or 1 when the run is over (nothing recorded). */
static int record(monitor *m, const pl_health_result *r)
{
    pl_healthmon *h = m->h;
    for (int attempt = 0; attempt < 5; attempt++) {
        pl_handle *hd __attribute__((cleanup(handle_freep))) = NULL;
        vic_err *err cleanup_err = NULL;
        if (pl_handle_get(h->p, m->id, &hd, &err) < 0)
            return 1;
        vic_exec_session *s = main_session(pl_handle_config(hd));
        if (!pl_handle_powered_on(hd) || s == NULL || s->started_at != m->run_ns)
            return 1;
        pl_health_state st;
        pl_health_state_read(pl_handle_keys(hd), m->run_ns, &st);
        pl_health_status before = st.status;
        pl_health_apply(&st, m->hc, r, m->run_ns);
        char *state = NULL, *log = NULL;
        pl_health_state_format(&st, m->run_ns, &state, &log);
        pl_handle_set_key(hd, pl_health_key_state, state);
        pl_handle_set_key(hd, pl_health_key_log, log);
        free(state);
        free(log);
        int rc = pl_handle_commit(h->p, hd, &err);
        pl_health_status after = st.status;
        pl_health_state_clear(&st);
        if (rc == VIC_ECONFLICT)
            continue; /* changed meanwhile: read it again */
        if (rc < 0) {
            vic_log(VIC_LOG_WARN, "event=health_record_failed container=%.12s msg=\"%s\"", m->id,
                    err->msg);
            return 0;
        }
        m->starting = after == PL_HEALTH_STARTING;
        if (before != after) {
            const json_t *keys = pl_handle_keys(hd);
            vic_log(VIC_LOG_INFO, "event=health_status container=%.12s status=%s", m->id,
                    pl_health_status_name(after));
            push_event(h, m->id, json_string_value(json_object_get(keys, KEY_NAME)),
                       json_string_value(json_object_get(keys, KEY_IMAGE)), after);
        }
        return 0;
    }
    return 0;
}

static void *monitor_thread(void *arg)
{
    monitor *m = arg;
    pl_healthmon *h = m->h;
    for (;;) {
        int64_t wait = pl_health_wait_ns(m->hc, m->run_ns, wall_ns(), m->starting);
        pthread_mutex_lock(&h->mu);
        bool stop = sleep_until(h, mono_ns() + wait, &m->stop);
        pthread_mutex_unlock(&h->mu);
        if (stop)
            break;
        pl_health_result r;
        if (probe(m, &r) != 0)
            break;
        int rc = record(m, &r);
        free((char *)r.output);
        if (rc != 0)
            break;
    }
    pthread_mutex_lock(&h->mu);
    m->done = true;
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static void monitor_free(monitor *m)
{
    json_decref(m->hc);
    json_decref(m->spec);
    free(m);
}

/* A monitor for the listed VM when it is a running container with a check, not yet
 * followed for this run; NULL otherwise. Called with h->mu held. */
static monitor *monitor_for(pl_healthmon *h, const json_t *vm)
{
    const json_t *extra = json_object_get(vm, "extra_config");
    const char *power = json_string_value(json_object_get(vm, "power"));
    if (power == NULL || strcmp(power, "poweredOn") != 0 ||
        json_object_get(extra, KEY_CONFIG) == NULL ||
        json_object_get(extra, VIC_GI_PREFIX "/vicc/creating"))
        return NULL;
    vic_exec_config cfg = {0};
    monitor *m = NULL;
    if (vic_gi_decode(&cfg, &vic_exec_config_desc, extra, "", NULL, NULL) < 0 || cfg.id == NULL)
        goto done;
    vic_exec_session *s = main_session(&cfg);
    if (s == NULL || s->started == NULL || strcmp(s->started, "true") != 0 || s->started_at == 0)
        goto done;
    for (monitor *o = h->mons; o; o = o->next)
        if (strcmp(o->id, cfg.id) == 0 && o->run_ns == s->started_at && !o->stop) {
            o->seen = true;
            goto done;
        }
    json_t *hc = pl_health_config_of(extra);
    json_t *argv = pl_health_argv(hc);
    if (argv == NULL) {
        json_decref(hc);
        goto done;
    }
    m = xzalloc(sizeof(*m));
    m->h = h;
    snprintf(m->id, sizeof(m->id), "%s", cfg.id);
    m->run_ns = s->started_at;
    m->hc = hc;
    json_t *env = json_array();
    for (size_t i = 0; i < s->cmd.n_env; i++)
        json_array_append_new(env, json_string(s->cmd.env[i]));
    m->spec = json_pack("{s:o, s:o, s:b, s:b}", "cmd", argv, "env", env, "tty", 0, "stdin", 0);
    if (s->cmd.dir && *s->cmd.dir)
        json_object_set_new(m->spec, "workdir", json_string(s->cmd.dir));
    if (s->user && *s->user)
        json_object_set_new(m->spec, "user",
                            s->group && *s->group ? json_sprintf("%s:%s", s->user, s->group)
                                                  : json_string(s->user));
    pl_health_state st;
    pl_health_state_read(extra, m->run_ns, &st);
    m->starting = st.status == PL_HEALTH_STARTING;
    pl_health_state_clear(&st);
    m->seen = true;
done:
    vic_gi_free(&vic_exec_config_desc, &cfg);
    return m;
}

/* One look: monitors for the running containers with a check, the others told to stop,
 * the finished ones joined. */
static void look(pl_healthmon *h)
{
    json_t *vms cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    if (pl_container_vms(h->p, &vms, &err) < 0)
        return;
    pthread_mutex_lock(&h->mu);
    for (monitor *m = h->mons; m; m = m->next)
        m->seen = false;
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        monitor *m = monitor_for(h, vm);
        if (m == NULL)
            continue;
        for (monitor *o = h->mons; o; o = o->next)
            if (strcmp(o->id, m->id) == 0)
                o->stop = true; /* an earlier run's */
        if (pthread_create(&m->th, NULL, monitor_thread, m) != 0) {
            vic_log(VIC_LOG_WARN, "event=health_check_unavailable container=%.12s", m->id);
            monitor_free(m);
            continue;
        }
        vic_log(VIC_LOG_INFO, "event=health_check_started container=%.12s", m->id);
        m->next = h->mons;
        h->mons = m;
    }
    for (monitor *m = h->mons; m; m = m->next)
        if (!m->seen)
            m->stop = true;
    pthread_cond_broadcast(&h->cv);
    monitor *done = NULL;
    for (monitor **pp = &h->mons; *pp;) {
        monitor *m = *pp;
        if (m->done) {
            *pp = m->next;
            m->next = done;
            done = m;
        } else {
            pp = &m->next;
        }
    }
    pthread_mutex_unlock(&h->mu);
    while (done) {
        monitor *m = done;
        done = m->next;
        pthread_join(m->th, NULL);
        monitor_free(m);
    }
}

static void *checker_thread(void *arg)
{
    pl_healthmon *h = arg;
    bool stopping = false;
    while (!stopping) {
        look(h);
        pthread_mutex_lock(&h->mu);
        stopping = sleep_until(h, mono_ns() + LOOK_MS * 1000000LL, &h->stopping);
        pthread_mutex_unlock(&h->mu);
    }
    return NULL;
}

int pl_healthmon_start(pl_healthmon **out, pl *p, vic_err **err)
{
    pl_healthmon *h = xzalloc(sizeof(*h));
    h->p = p;
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    h->events = json_array();
    if (pthread_create(&h->th, NULL, checker_thread, h) != 0) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        json_decref(h->events);
        free(h);
        *out = NULL;
        return vic_err_set(err, VIC_EINTERNAL, "cannot start the health checker");
    }
    *out = h;
    return 0;
}

void pl_healthmon_stop(pl_healthmon *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    for (monitor *m = h->mons; m; m = m->next)
        m->stop = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->th, NULL);
    while (h->mons) {
        monitor *m = h->mons;
        h->mons = m->next;
        pthread_join(m->th, NULL);
        monitor_free(m);
    }
    json_decref(h->events);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

json_t *pl_healthmon_events(pl_healthmon *h, int64_t after_seq, int64_t since_ns)
{
    json_t *out = json_array();
    if (h == NULL)
        return out;
    pthread_mutex_lock(&h->mu);
    size_t i;
    json_t *e;
    json_array_foreach(h->events, i, e)
    {
        int64_t s = json_integer_value(json_object_get(e, "seq"));
        json_t *ev = json_object_get(e, "event");
        if (s > after_seq && json_integer_value(json_object_get(ev, "time_ns")) >= since_ns) {
            json_t *copy = json_copy(ev);
            json_object_set_new(copy, "seq", json_integer(s));
            json_array_append_new(out, copy);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return out;
}

int64_t pl_healthmon_event_seq(pl_healthmon *h)
{
    if (h == NULL)
        return 0;
    pthread_mutex_lock(&h->mu);
    int64_t s = h->seq;
    pthread_mutex_unlock(&h->mu);
    return s;
}
