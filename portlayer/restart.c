/*
 * restart.c - Docker's restart policies in the port layer (see containers.h, "restart
 * policies").
 *
 * All of it lives in the container VM's extraConfig, beside the session's own reports:
 *   /vicc/restart_policy  the policy as created: "always", "unless-stopped", "no",
 *                         "on-failure" or "on-failure:N"
 *   /vicc/restart_count   restarts the policy made since the user's last start
 *   /vicc/restart_next    "RUN DUE DELAY": the start time (Unix ns) of the run whose end the
 *                         policy answered with a restart, when that restart powers on (Unix
 *                         ns), and the backoff's delay (ms)
 *   /vicc/stopped         "stop" (docker stop, rm -f, kill with SIGKILL or the stop signal)
 *                         or "signal" (docker kill with another signal)
 *
 * A restart takes two reconfigures, each guarded by the VM's change version and made under
 * pl_restart_lock: DECIDE records the count and restart_next; POWER_ON clears the run's
 * reports (as a start does) and powers on. Whatever instant a port layer dies at, the next one
 * reads where it was: a run that ended and is not recorded is decided (once: the record names
 * the run); a recorded restart whose run is still the last one, or whose reports were cleared
 * and whose VM is off, is powered on without being counted again.
 */
#include "portlayer/containers.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/execconfig.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/mem.h"

#define KEY_POLICY  VIC_GI_PREFIX "/vicc/restart_policy"
#define KEY_COUNT   VIC_GI_PREFIX "/vicc/restart_count"
#define KEY_NEXT    VIC_GI_PREFIX "/vicc/restart_next"
#define KEY_STOPPED VIC_GI_PREFIX "/vicc/stopped"

typedef enum stop_mark {
    MARK_NONE,
    MARK_SIGNAL, /* docker kill with a signal other than SIGKILL and the stop signal */
    MARK_STOP,   /* docker stop, rm -f, kill with SIGKILL or the stop signal */
} stop_mark;

/* What the VM's extraConfig records. */
typedef struct record {
    pl_restart_policy policy;
    char name[16]; /* the policy's name as given */
    int64_t count;
    int64_t next_run, next_due, next_delay; /* restart_next; next_run 0: none */
    stop_mark stopped;
} record;

static const char *const kind_names[] = {"", "no", "always", "unless-stopped", "on-failure"};

int pl_restart_policy_parse(const char *name, int64_t max, pl_restart_policy *out, vic_err **err)
{
    *out = (pl_restart_policy){PL_RESTART_NONE, 0};
    if (name == NULL)
        name = "";
    size_t k = 0;
    while (k < sizeof(kind_names) / sizeof(kind_names[0]) && strcmp(name, kind_names[k]) != 0)
        k++;
    if (k == sizeof(kind_names) / sizeof(kind_names[0]))
        return vic_err_set(err, VIC_EINVAL, "invalid restart policy '%.64s'", name);
    if (max < 0)
        return vic_err_set(err, VIC_EINVAL, "maximum retry count cannot be negative");
    if (max > 0 && k != PL_RESTART_ON_FAILURE)
        return vic_err_set(err, VIC_EINVAL,
                           "maximum retry count cannot be used with restart policy '%s'", name);
    *out = (pl_restart_policy){(pl_restart_kind)k, max};
    return 0;
}

bool pl_restart_policy_restarts(const pl_restart_policy *policy)
{
    return policy->kind == PL_RESTART_ALWAYS || policy->kind == PL_RESTART_UNLESS_STOPPED ||
           policy->kind == PL_RESTART_ON_FAILURE;
}

bool pl_restart_wanted(const pl_restart_policy *policy, int64_t count, int64_t exit_code,
                       bool user_stopped)
{
    switch (policy->kind) {
    case PL_RESTART_ALWAYS:
        return true;
    case PL_RESTART_UNLESS_STOPPED:
        return !user_stopped;
    case PL_RESTART_ON_FAILURE:
        return exit_code != 0 && (policy->max == 0 || count < policy->max);
    default:
        return false;
    }
}

int64_t pl_restart_backoff_ms(int64_t prev_ms, int64_t ran_ms)
{
    if (ran_ms >= PL_RESTART_RESET_MS || prev_ms <= 0)
        return PL_RESTART_FIRST_MS;
    return prev_ms >= PL_RESTART_MAX_MS / 2 ? PL_RESTART_MAX_MS : prev_ms * 2;
}

static const char *key(const json_t *extra, const char *k)
{
    return json_string_value(json_object_get(extra, k));
}

/* Reads the record; what is missing or malformed reads as absent. */
static void record_read(const json_t *extra, record *r)
{
    memset(r, 0, sizeof(*r));
    const char *v = key(extra, KEY_POLICY);
    if (v) {
        long long max = 0;
        const char *colon = strchr(v, ':');
        snprintf(r->name, sizeof(r->name), "%.*s", colon ? (int)(colon - v) : (int)strlen(v), v);
        if (colon)
            max = strtoll(colon + 1, NULL, 10);
        if (pl_restart_policy_parse(r->name, max, &r->policy, NULL) < 0)
            r->name[0] = '\0';
    }
    if ((v = key(extra, KEY_COUNT)))
        r->count = strtoll(v, NULL, 10);
    long long run = 0, due = 0, delay = 0;
    if ((v = key(extra, KEY_NEXT)) && sscanf(v, "%lld %lld %lld", &run, &due, &delay) == 3) {
        r->next_run = run;
        r->next_due = due;
        r->next_delay = delay;
    }
    if ((v = key(extra, KEY_STOPPED)))
        r->stopped = strcmp(v, "stop") == 0     ? MARK_STOP
                     : strcmp(v, "signal") == 0 ? MARK_SIGNAL
                                                : MARK_NONE;
}

/* Whether the user's mark keeps the policy from starting the container: a stop, for every
 * policy; another signal, for unless-stopped (Docker's ExitOnNext and HasBeenManuallyStopped). */
static bool cancelled_by(const record *r)
{
    return r->stopped == MARK_STOP ||
           (r->stopped == MARK_SIGNAL && r->policy.kind == PL_RESTART_UNLESS_STOPPED);
}

void pl_restart_plan_of(const json_t *extra, bool on, const vic_exec_session *s, bool at_start,
                        int64_t now_ns, pl_restart_plan *out)
{
    record r;
    record_read(extra, &r);
    memset(out, 0, sizeof(*out));
    out->policy = r.policy;
    out->count = r.count;
    if (!pl_restart_policy_restarts(&r.policy) || on)
        return;
    bool ran = s && s->started && strcmp(s->started, "true") == 0;
    /* a restart's power on cleared the reports (the VM stays off only when the port layer
     * died before the power on) */
    bool cleared = s == NULL || s->started == NULL;
    bool recorded = r.next_run != 0 && ((ran && s->started_at == r.next_run) || cleared);
    bool cancelled = cancelled_by(&r);
    /* Docker's daemon start: an always container comes back even after a docker stop */
    bool revive = at_start && r.policy.kind == PL_RESTART_ALWAYS && r.stopped == MARK_STOP;
    if (recorded) {
        if (cancelled && !revive) {
            out->action = PL_RESTART_CANCEL;
            return;
        }
        out->action = PL_RESTART_POWER_ON;
        out->restarting = true;
        out->due_ns = r.next_due;
        out->clear_stop = revive;
        return;
    }
    if (!ran)
        return; /* never started, or its start failed: nothing ended */
    int64_t code = s->stopped_at ? s->exit_status : 137;
    if (revive) {
        *out = (pl_restart_plan){.action = PL_RESTART_DECIDE,
                                 .policy = r.policy,
                                 .restarting = true,
                                 .run_ns = s->started_at,
                                 .due_ns = now_ns,
                                 .clear_stop = true};
        return;
    }
    if (cancelled) {
        out->why = "stopped by the user";
        return;
    }
    if (!pl_restart_wanted(&r.policy, r.count, code, r.stopped != MARK_NONE)) {
        out->why = r.policy.kind != PL_RESTART_ON_FAILURE ? "stopped by the user"
                   : code == 0                            ? "exit code 0"
                                                          : "maximum retry count reached";
        return;
    }
    int64_t end = s->stopped_at ? s->stopped_at : now_ns;
    out->action = PL_RESTART_DECIDE;
    out->restarting = true;
    out->count = r.count + 1;
    out->run_ns = s->started_at;
    out->delay_ms = pl_restart_backoff_ms(r.next_delay, (end - s->started_at) / 1000000);
    out->due_ns = now_ns + out->delay_ms * 1000000;
}

int pl_restart_policy_record(json_t *extra, const pl_create_spec *spec, vic_err **err)
{
    pl_restart_policy policy;
    int rc = pl_restart_policy_parse(spec->restart_policy, spec->restart_max, &policy, err);
    if (rc < 0)
        return rc;
    if (spec->auto_remove && pl_restart_policy_restarts(&policy))
        return vic_err_set(err, VIC_EINVAL,
                           "can't create 'AutoRemove' container with restart policy");
    if (policy.kind == PL_RESTART_NONE)
        return 0;
    if (policy.max > 0)
        json_object_set_new(
            extra, KEY_POLICY,
            json_sprintf("%s:%lld", kind_names[policy.kind], (long long)policy.max));
    else
        json_object_set_new(extra, KEY_POLICY, json_string(kind_names[policy.kind]));
    return 0;
}

const char *pl_restart_policy_key(void)
{
    return KEY_POLICY;
}

bool pl_restart_watched(const json_t *extra)
{
    record r;
    record_read(extra, &r);
    return pl_restart_policy_restarts(&r.policy);
}

void pl_restart_describe(json_t *desc, const json_t *extra, bool on, const vic_exec_session *s)
{
    record r;
    record_read(extra, &r);
    pl_restart_plan plan;
    pl_restart_plan_of(extra, on, s, false, 0, &plan);
    json_object_set_new(
        desc, "restart_policy",
        json_pack("{s:s, s:I}", "name", r.name, "maximum_retry_count", (json_int_t)r.policy.max));
    json_object_set_new(desc, "restart_count", json_integer(r.count));
    json_object_set_new(desc, "restarting", json_boolean(plan.restarting));
    if (plan.restarting)
        json_object_set_new(desc, "state", json_string("restarting"));
}

/* ---- acting on a container ---- */

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The container's own session in cfg, or NULL. */
static vic_exec_session *main_session(vic_exec_config *cfg)
{
    for (size_t i = 0; i < cfg->n_sessions; i++)
        if (cfg->id && cfg->session_ids[i] && strcmp(cfg->session_ids[i], cfg->id) == 0)
            return &cfg->sessions[i];
    return NULL;
}

/* The plan for the handle's snapshot. */
static void plan_of_handle(pl_handle *h, bool at_start, pl_restart_plan *out)
{
    pl_restart_plan_of(pl_handle_keys(h), pl_handle_powered_on(h),
                       main_session(pl_handle_config(h)), at_start, now_ns(), out);
}

static void set_int_key(pl_handle *h, const char *k, int64_t v)
{
    char text[24];
    snprintf(text, sizeof(text), "%lld", (long long)v);
    pl_handle_set_key(h, k, text);
}

static void handle_freep(pl_handle **h)
{
    pl_handle_free(*h);
}

#define cleanup_handle __attribute__((cleanup(handle_freep)))

static void unlockp(pl **p)
{
    if (*p)
        pl_restart_unlock(*p);
}

static void write_next(pl_handle *h, int64_t run_ns, int64_t due_ns, int64_t delay_ms)
{
    char next[80];
    snprintf(next, sizeof(next), "%lld %lld %lld", (long long)run_ns, (long long)due_ns,
             (long long)delay_ms);
    pl_handle_set_key(h, KEY_NEXT, next);
}

/* Records the restart of the container's last run (DECIDE), if the snapshot read under the
 * lock still asks for it. 1 when recorded, 0 when there was nothing to do. */
static int decide(pl *p, const char *id, bool at_start, pl_restart_plan *plan, vic_err **err)
{
    pl *locked __attribute__((cleanup(unlockp))) = p;
    pl_restart_lock(locked);
    pl_handle *h cleanup_handle = NULL;
    int rc = pl_handle_get(p, id, &h, err);
    if (rc < 0)
        return rc;
    plan_of_handle(h, at_start, plan);
    if (plan->action != PL_RESTART_DECIDE)
        return 0;
    write_next(h, plan->run_ns, plan->due_ns, plan->delay_ms);
    set_int_key(h, KEY_COUNT, plan->count);
    if (plan->clear_stop)
        pl_handle_set_key(h, KEY_STOPPED, NULL);
    if ((rc = pl_handle_commit(p, h, err)) < 0)
        return rc;
    return 1;
}

/* After a restart's power on failed: the session reads as a start that failed, with why, and
 * the restart is forgotten (Docker's restart manager gives up after a failed start too). */
static void power_on_failed(pl *p, const char *id, const char *why)
{
    pl_handle *h cleanup_handle = NULL;
    vic_err *err cleanup_err = NULL;
    if (pl_handle_get(p, id, &h, &err) < 0 || pl_handle_powered_on(h))
        return;
    vic_exec_session *s = main_session(pl_handle_config(h));
    if (s && s->started == NULL) {
        s->started = xasprintf("restart failed: %s", why);
        s->exit_status = 128;
        s->stopped_at = now_ns();
    }
    pl_handle_set_key(h, KEY_NEXT, NULL);
    if (pl_handle_commit(p, h, &err) < 0)
        vic_log(VIC_LOG_WARN, "event=restart_record_failed container=%.12s msg=\"%s\"", id,
                err->msg);
}

/* Powers on a recorded restart that is due, or forgets one the user cancelled, if the
 * snapshot read under the lock still says so. 1 when done, 0 when there was nothing to do. */
static int act(pl *p, const char *id, bool at_start, pl_restart_plan *plan, vic_err **err)
{
    pl *locked __attribute__((cleanup(unlockp))) = p;
    pl_restart_lock(locked);
    pl_handle *h cleanup_handle = NULL;
    int rc = pl_handle_get(p, id, &h, err);
    if (rc < 0)
        return rc;
    plan_of_handle(h, at_start, plan);
    if (plan->action == PL_RESTART_CANCEL) {
        pl_handle_set_key(h, KEY_NEXT, NULL);
        return (rc = pl_handle_commit(p, h, err)) < 0 ? rc : 1;
    }
    int64_t now = now_ns();
    if (plan->action != PL_RESTART_POWER_ON || plan->due_ns > now)
        return 0;
    /* the record stays, due again a delay from now: a guest that goes off before its tether
     * reports the run is powered on again, no sooner */
    record r;
    record_read(pl_handle_keys(h), &r);
    int64_t delay = r.next_delay > 0 ? r.next_delay : PL_RESTART_FIRST_MS;
    write_next(h, r.next_run, now + delay * 1000000, r.next_delay);
    pl_handle_new_run(h, false);
    if (plan->clear_stop)
        pl_handle_set_key(h, KEY_STOPPED, NULL);
    pl_handle_set_power(h, true);
    rc = pl_handle_commit(p, h, err);
    if (rc < 0 && rc != VIC_ECONFLICT)
        power_on_failed(p, id, (*err)->msg);
    return rc < 0 ? rc : 1;
}

int64_t pl_restart_sweep(pl *p, const json_t *vms, const json_t *exited, bool at_start, int64_t now)
{
    int64_t next_ms = -1;
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        const json_t *extra = json_object_get(vm, "extra_config");
        const char *power = json_string_value(json_object_get(vm, "power"));
        if (!pl_restart_watched(extra) || power == NULL || strcmp(power, "poweredOff") != 0 ||
            key(extra, VIC_GI_PREFIX "/vicc/creating"))
            continue;
        vic_exec_config cfg = {0};
        if (vic_gi_decode(&cfg, &vic_exec_config_desc, extra, "", NULL, NULL) < 0 ||
            cfg.id == NULL) {
            vic_gi_free(&vic_exec_config_desc, &cfg);
            continue;
        }
        pl_restart_plan plan;
        pl_restart_plan_of(extra, false, main_session(&cfg), at_start, now, &plan);
        const char *name = json_string_value(json_object_get(vm, "name"));
        bool just_exited = name && exited && json_object_get(exited, name);
        vic_err *err = NULL;
        int rc = 0;
        if (plan.action == PL_RESTART_DECIDE) {
            rc = decide(p, cfg.id, at_start, &plan, &err);
            if (rc > 0)
                vic_log(VIC_LOG_INFO,
                        "event=restart_scheduled container=%.12s policy=%s restart_count=%lld "
                        "delay_ms=%lld%s",
                        cfg.id, kind_names[plan.policy.kind], (long long)plan.count,
                        (long long)plan.delay_ms, plan.clear_stop ? " at_start=true" : "");
        } else if (plan.action == PL_RESTART_CANCEL ||
                   (plan.action == PL_RESTART_POWER_ON && plan.due_ns <= now)) {
            rc = act(p, cfg.id, at_start, &plan, &err);
            if (rc > 0 && plan.action == PL_RESTART_CANCEL)
                vic_log(VIC_LOG_INFO,
                        "event=restart_cancelled container=%.12s reason=\"stopped by the user\"",
                        cfg.id);
            else if (rc > 0)
                vic_log(VIC_LOG_INFO, "event=restarted container=%.12s restart_count=%lld", cfg.id,
                        (long long)plan.count);
        } else if (plan.action == PL_RESTART_NOTHING && plan.why && just_exited) {
            vic_log(VIC_LOG_INFO, "event=restart_skipped container=%.12s reason=\"%s\"", cfg.id,
                    plan.why);
        }
        if (rc < 0 && rc != VIC_ENOTFOUND && rc != VIC_ECONFLICT)
            vic_log(VIC_LOG_WARN, "event=restart_failed container=%.12s msg=\"%s\"", cfg.id,
                    err ? err->msg : "");
        vic_err_free(&err);
        /* what is left to wait for: a restart just recorded or not due yet; after a change
         * version conflict, another look soon */
        int64_t wait_ms = -1;
        if ((rc > 0 && plan.action == PL_RESTART_DECIDE) ||
            (rc == 0 && plan.action == PL_RESTART_POWER_ON))
            wait_ms = plan.due_ns > now ? (plan.due_ns - now + 999999) / 1000000 : 0;
        else if (rc == VIC_ECONFLICT)
            wait_ms = PL_RESTART_FIRST_MS;
        if (wait_ms >= 0 && (next_ms < 0 || wait_ms < next_ms))
            next_ms = wait_ms;
        vic_gi_free(&vic_exec_config_desc, &cfg);
    }
    return next_ms;
}

int pl_restart_user_stop(pl *p, const char *ref, int sig, bool *restarting, vic_err **err)
{
    if (restarting)
        *restarting = false;
    pl *locked __attribute__((cleanup(unlockp))) = p;
    pl_restart_lock(locked);
    for (int attempt = 0;; attempt++) {
        pl_handle *h cleanup_handle = NULL;
        int rc = pl_handle_get(p, ref, &h, err);
        if (rc < 0)
            return rc;
        record r;
        record_read(pl_handle_keys(h), &r);
        if (!pl_restart_policy_restarts(&r.policy))
            return 0;
        pl_restart_plan plan;
        plan_of_handle(h, false, &plan);
        if (restarting)
            *restarting = plan.restarting;
        /* a container that neither runs nor has a run the policy may still answer: no
         * stop to record (Docker's stop of a stopped container changes nothing) */
        if (!pl_handle_powered_on(h) && plan.action == PL_RESTART_NOTHING)
            return 0;
        vic_exec_session *s = main_session(pl_handle_config(h));
        stop_mark mark = sig == 0 || sig == SIGKILL ||
                                 sig == vic_signal_parse(s ? s->stop_signal : NULL, SIGTERM)
                             ? MARK_STOP
                             : MARK_SIGNAL;
        if (r.stopped >= mark)
            return 0;
        pl_handle_set_key(h, KEY_STOPPED, mark == MARK_STOP ? "stop" : "signal");
        rc = pl_handle_commit(p, h, err);
        if (rc != VIC_ECONFLICT || attempt == 3)
            return rc;
        vic_err_free(err); /* changed meanwhile (a rename): read it again */
    }
}

void pl_restart_user_start(pl_handle *h)
{
    record r;
    record_read(pl_handle_keys(h), &r);
    if (r.name[0] == '\0')
        return;
    if (r.stopped != MARK_NONE)
        pl_handle_set_key(h, KEY_STOPPED, NULL);
    if (r.count != 0)
        pl_handle_set_key(h, KEY_COUNT, NULL);
    if (r.next_run != 0)
        pl_handle_set_key(h, KEY_NEXT, NULL);
}
