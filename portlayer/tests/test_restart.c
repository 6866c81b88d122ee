/*
 * Docker's restart policies in the port layer: the policy's parse, Docker's rule and backoff,
 * and the plan read from a VM's extraConfig (pure, as tables); then over the real local host
 * (VMs, monitors and tethers with a busybox root disk) the exit watcher restarting containers,
 * a docker stop that keeps them stopped, a new port layer that brings an always container back
 * and finishes restarts its predecessor died in, and rm -f of a restarting container. The host
 * part needs root; VIC_BIN_DIR names the binaries (default build-san/bin).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "portlayer/containers.h"
#include "portlayer/tests/local_fixture.h"

#define POOL ROOT_POOL "/vch-restart"

#define K_POLICY  VIC_GI_PREFIX "/vicc/restart_policy"
#define K_COUNT   VIC_GI_PREFIX "/vicc/restart_count"
#define K_NEXT    VIC_GI_PREFIX "/vicc/restart_next"
#define K_STOPPED VIC_GI_PREFIX "/vicc/stopped"

/* ---- pure ---- */

static void test_restart_policy_parse(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int64_t max;
        int rc;
        pl_restart_kind kind;
        const char *msg;
    } cases[] = {
        {NULL, 0, 0, PL_RESTART_NONE, NULL},
        {"", 0, 0, PL_RESTART_NONE, NULL},
        {"no", 0, 0, PL_RESTART_NO, NULL},
        {"always", 0, 0, PL_RESTART_ALWAYS, NULL},
        {"unless-stopped", 0, 0, PL_RESTART_UNLESS_STOPPED, NULL},
        {"on-failure", 0, 0, PL_RESTART_ON_FAILURE, NULL},
        {"on-failure", 5, 0, PL_RESTART_ON_FAILURE, NULL},
        {"on-failure", -1, VIC_EINVAL, 0, "maximum retry count cannot be negative"},
        {"always", 2, VIC_EINVAL, 0,
         "maximum retry count cannot be used with restart policy 'always'"},
        {"no", 1, VIC_EINVAL, 0, "maximum retry count cannot be used with restart policy 'no'"},
        {"sometimes", 0, VIC_EINVAL, 0, "invalid restart policy 'sometimes'"},
        {"Always", 0, VIC_EINVAL, 0, "invalid restart policy 'Always'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pl_restart_policy p;
        vic_err *err cleanup_err = NULL;
        int rc = pl_restart_policy_parse(cases[i].name, cases[i].max, &p, &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
        if (rc == 0 && (p.kind != cases[i].kind || p.max != cases[i].max))
            fail_msg("case %zu: kind %d max %lld", i, p.kind, (long long)p.max);
        if (rc < 0 && strcmp(err->msg, cases[i].msg) != 0)
            fail_msg("case %zu: message \"%s\"", i, err->msg);
    }
}

static void test_restart_wanted_follows_docker(void **state)
{
    (void)state;
    static const struct {
        pl_restart_kind kind;
        int64_t max, count, code;
        bool stopped, want;
    } cases[] = {
        {PL_RESTART_NONE, 0, 0, 1, false, false},
        {PL_RESTART_NO, 0, 0, 1, false, false},
        {PL_RESTART_ALWAYS, 0, 0, 0, false, true},
        {PL_RESTART_ALWAYS, 0, 99, 137, true, true}, /* a stop cancels it elsewhere */
        {PL_RESTART_UNLESS_STOPPED, 0, 7, 0, false, true},
        {PL_RESTART_UNLESS_STOPPED, 0, 0, 1, true, false},
        {PL_RESTART_ON_FAILURE, 0, 0, 0, false, false},
        {PL_RESTART_ON_FAILURE, 0, 1000, 3, false, true}, /* no limit */
        {PL_RESTART_ON_FAILURE, 2, 0, 3, false, true},
        {PL_RESTART_ON_FAILURE, 2, 1, 3, false, true},
        {PL_RESTART_ON_FAILURE, 2, 2, 3, false, false},
        {PL_RESTART_ON_FAILURE, 2, 1, 0, false, false},
        {PL_RESTART_ON_FAILURE, 2, 0, 143, true, true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pl_restart_policy p = {cases[i].kind, cases[i].max};
        if (pl_restart_wanted(&p, cases[i].count, cases[i].code, cases[i].stopped) != cases[i].want)
            fail_msg("case %zu: want %d", i, cases[i].want);
    }
}

static void test_restart_backoff_doubles_and_resets(void **state)
{
    (void)state;
    static const int64_t cases[][3] = {
        /* prev_ms, ran_ms, delay */
        {0, 0, 100},       {100, 5, 200},       {200, 9999, 400},  {400, 10000, 100},
        {800, 60000, 100}, {25600, 1, 51200},   {51200, 1, 60000}, {30000, 1, 60000},
        {60000, 1, 60000}, {60000, 10000, 100}, {-5, 0, 100},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (pl_restart_backoff_ms(cases[i][0], cases[i][1]) != cases[i][2])
            fail_msg("case %zu: %lld", i,
                     (long long)pl_restart_backoff_ms(cases[i][0], cases[i][1]));
}

#define SEC 1000000000LL

static void test_restart_plan_of_the_records(void **state)
{
    (void)state;
    const int64_t now = 1000 * SEC, t = 900 * SEC;
    static const struct {
        const char *extra; /* JSON: the /vicc/ keys */
        bool on;
        const char *started; /* the session's report; NULL: none (never ran, or cleared) */
        int64_t stopped_at, code;
        bool at_start;
        pl_restart_action action;
        bool restarting;
        int64_t count, delay_ms;
        bool clear_stop;
        const char *why;
    } cases[] = {
        /* no policy, or one that does not restart */
        {"{}", false, "true", 901, 1, false, PL_RESTART_NOTHING, false, 0, 0, false, NULL},
        {"{\"" K_POLICY "\": \"no\"}", false, "true", 901, 1, false, PL_RESTART_NOTHING, false, 0,
         0, false, NULL},
        /* running, never started, or its start failed: nothing ended */
        {"{\"" K_POLICY "\": \"always\"}", true, "true", 0, 0, false, PL_RESTART_NOTHING, false, 0,
         0, false, NULL},
        {"{\"" K_POLICY "\": \"always\"}", false, NULL, 0, 0, false, PL_RESTART_NOTHING, false, 0,
         0, false, NULL},
        {"{\"" K_POLICY "\": \"always\"}", false, "exec: not found", 901, 127, false,
         PL_RESTART_NOTHING, false, 0, 0, false, NULL},
        /* a run that ended: recorded with the count and the backoff (a run of 1 s) */
        {"{\"" K_POLICY "\": \"always\"}", false, "true", 901, 0, false, PL_RESTART_DECIDE, true, 1,
         100, false, NULL},
        {"{\"" K_POLICY "\": \"always\", \"" K_COUNT "\": \"4\", \"" K_NEXT "\": \"1 2 800\"}",
         false, "true", 901, 0, false, PL_RESTART_DECIDE, true, 5, 1600, false, NULL},
        /* a run of 10 s or more starts the backoff over */
        {"{\"" K_POLICY "\": \"always\", \"" K_COUNT "\": \"4\", \"" K_NEXT "\": \"1 2 800\"}",
         false, "true", 910, 0, false, PL_RESTART_DECIDE, true, 5, 100, false, NULL},
        /* killed (no status): 137 */
        {"{\"" K_POLICY "\": \"on-failure:1\"}", false, "true", 0, 0, false, PL_RESTART_DECIDE,
         true, 1, 100, false, NULL},
        {"{\"" K_POLICY "\": \"on-failure:2\", \"" K_COUNT "\": \"2\"}", false, "true", 901, 3,
         false, PL_RESTART_NOTHING, false, 2, 0, false, "maximum retry count reached"},
        {"{\"" K_POLICY "\": \"on-failure\"}", false, "true", 901, 0, false, PL_RESTART_NOTHING,
         false, 0, 0, false, "exit code 0"},
        /* the user's marks */
        {"{\"" K_POLICY "\": \"always\", \"" K_STOPPED "\": \"stop\"}", false, "true", 901, 143,
         false, PL_RESTART_NOTHING, false, 0, 0, false, "stopped by the user"},
        {"{\"" K_POLICY "\": \"always\", \"" K_STOPPED "\": \"signal\"}", false, "true", 901, 129,
         false, PL_RESTART_DECIDE, true, 1, 100, false, NULL},
        {"{\"" K_POLICY "\": \"unless-stopped\", \"" K_STOPPED "\": \"signal\"}", false, "true",
         901, 129, false, PL_RESTART_NOTHING, false, 0, 0, false, "stopped by the user"},
        {"{\"" K_POLICY "\": \"on-failure\", \"" K_STOPPED "\": \"stop\"}", false, "true", 901, 137,
         false, PL_RESTART_NOTHING, false, 0, 0, false, "stopped by the user"},
        /* at the port layer's start an always container comes back, count and backoff anew;
         * the others stay stopped */
        {"{\"" K_POLICY "\": \"always\", \"" K_COUNT "\": \"3\", \"" K_STOPPED "\": \"stop\"}",
         false, "true", 901, 143, true, PL_RESTART_DECIDE, true, 0, 0, true, NULL},
        {"{\"" K_POLICY "\": \"unless-stopped\", \"" K_STOPPED "\": \"stop\"}", false, "true", 901,
         143, true, PL_RESTART_NOTHING, false, 0, 0, false, "stopped by the user"},
        {"{\"" K_POLICY "\": \"unless-stopped\"}", false, "true", 901, 0, true, PL_RESTART_DECIDE,
         true, 1, 100, false, NULL},
        /* a recorded restart of this run (its start time, 900 s) waits for its time */
        {"{\"" K_POLICY "\": \"always\", \"" K_COUNT "\": \"1\", \"" K_NEXT
         "\": \"900000000000 1000000000001 100\"}",
         false, "true", 901, 0, false, PL_RESTART_POWER_ON, true, 1, 0, false, NULL},
        /* ... or had its reports cleared by a power on that did not happen */
        {"{\"" K_POLICY "\": \"always\", \"" K_COUNT "\": \"1\", \"" K_NEXT
         "\": \"800000000000 1 100\"}",
         false, NULL, 0, 0, false, PL_RESTART_POWER_ON, true, 1, 0, false, NULL},
        /* a record of an older run: this run is new to decide */
        {"{\"" K_POLICY "\": \"always\", \"" K_COUNT "\": \"1\", \"" K_NEXT
         "\": \"800000000000 1 100\"}",
         false, "true", 901, 0, false, PL_RESTART_DECIDE, true, 2, 200, false, NULL},
        /* a recorded restart the user stopped is forgotten, unless an always one at start */
        {"{\"" K_POLICY "\": \"always\", \"" K_NEXT "\": \"900000000000 1 100\", \"" K_STOPPED
         "\": \"stop\"}",
         false, "true", 901, 0, false, PL_RESTART_CANCEL, false, 0, 0, false, NULL},
        {"{\"" K_POLICY "\": \"always\", \"" K_NEXT "\": \"900000000000 1 100\", \"" K_STOPPED
         "\": \"stop\"}",
         false, "true", 901, 0, true, PL_RESTART_POWER_ON, true, 0, 0, true, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *extra cleanup_json = NULL;
        assert_int_equal(
            vic_json_parse(&extra, cases[i].extra, strlen(cases[i].extra), 65536, NULL), 0);
        vic_exec_session s = {.started = (char *)cases[i].started,
                              .started_at = cases[i].started ? t : 0,
                              .stopped_at = cases[i].stopped_at * SEC,
                              .exit_status = cases[i].code};
        pl_restart_plan plan;
        pl_restart_plan_of(extra, cases[i].on, &s, cases[i].at_start, now, &plan);
        if (plan.action != cases[i].action || plan.restarting != cases[i].restarting ||
            plan.count != cases[i].count || plan.clear_stop != cases[i].clear_stop)
            fail_msg("case %zu: action %d restarting %d count %lld clear_stop %d", i, plan.action,
                     plan.restarting, (long long)plan.count, plan.clear_stop);
        if (plan.action == PL_RESTART_DECIDE &&
            (plan.delay_ms != cases[i].delay_ms || plan.run_ns != t ||
             plan.due_ns != now + plan.delay_ms * 1000000))
            fail_msg("case %zu: delay %lld run %lld due %lld", i, (long long)plan.delay_ms,
                     (long long)plan.run_ns, (long long)plan.due_ns);
        if ((cases[i].why == NULL) != (plan.why == NULL) ||
            (plan.why && strcmp(plan.why, cases[i].why) != 0))
            fail_msg("case %zu: why %s", i, plan.why ? plan.why : "(none)");
    }
    /* the POWER_ON's time is the record's */
    json_t *extra cleanup_json =
        json_pack("{s:s, s:s}", K_POLICY, "always", K_NEXT, "900000000000 1000000000001 100");
    vic_exec_session s = {.started = "true", .started_at = t, .stopped_at = 901 * SEC};
    pl_restart_plan plan;
    pl_restart_plan_of(extra, false, &s, false, now, &plan);
    assert_int_equal(plan.due_ns, 1000000000001LL);
}

/* ---- over the local host ---- */

static int group_setup(void **state)
{
    (void)state;
    return local_fixture_open("restart", "vch-restart");
}

static int group_teardown(void **state)
{
    (void)state;
    return local_fixture_close();
}

static void create(const char *name, const char *policy, int64_t max, const char *script,
                   char id[65])
{
    const char *cmd[] = {"/bin/sh", "-c", script};
    const char *env[] = {"PATH=/bin:/usr/bin"};
    pl_create_spec s = {.name = name,
                        .image = "busybox:latest",
                        .cmd = cmd,
                        .n_cmd = 3,
                        .env = env,
                        .n_env = 1,
                        .restart_policy = policy,
                        .restart_max = max,
                        .rootfs = copy_busybox};
    vic_err *err cleanup_err = NULL;
    if (pl_container_create(port, &s, id, &err) < 0)
        fail_msg("create %s: %s", name, err->msg);
}

static json_t *look(pl *p, const char *id)
{
    json_t *c = NULL;
    vic_err *err cleanup_err = NULL;
    if (pl_container_inspect(p, id, &c, &err) < 0)
        fail_msg("inspect %.12s: %s", id, err->msg);
    return c;
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits (at most 30 s) until id's state is state with a restart count of at least count;
 * returns its inspect object. */
static json_t *wait_for(pl *p, const char *id, const char *state, int64_t count)
{
    int64_t deadline = mono_ms() + 30000;
    for (;;) {
        json_t *c = look(p, id);
        if (strcmp(vic_json_str(c, "state"), state) == 0 &&
            json_integer_value(json_object_get(c, "restart_count")) >= count)
            return c;
        if (mono_ms() > deadline) {
            char *text = json_dumps(c, JSON_COMPACT);
            fail_msg("%.12s not %s with restart_count >= %lld within 30 s: %s", id, state,
                     (long long)count, text);
        }
        json_decref(c);
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
}

static void remove_all(pl *p, const char *const *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        vic_err *err cleanup_err = NULL;
        if (pl_container_remove(p, ids[i], true, &err) < 0)
            fail_msg("remove %.12s: %s", ids[i], err->msg);
    }
}

static void test_restart_refuses_auto_remove(void **state)
{
    (void)state;
    const char *cmd[] = {"/bin/true"};
    pl_create_spec s = {.image = "busybox:latest",
                        .cmd = cmd,
                        .n_cmd = 1,
                        .auto_remove = true,
                        .restart_policy = "unless-stopped",
                        .rootfs = copy_busybox};
    char id[65];
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_container_create(port, &s, id, &err), VIC_EINVAL);
    assert_string_equal(err->msg, "can't create 'AutoRemove' container with restart policy");
    vic_err_free(&err);
    s.restart_policy = "always";
    s.restart_max = 3;
    s.auto_remove = false;
    assert_int_equal(pl_container_create(port, &s, id, &err), VIC_EINVAL);
    vic_err_free(&err);
    /* "no" goes with --rm, and is recorded as given */
    s.restart_policy = "no";
    s.restart_max = 0;
    s.auto_remove = true;
    assert_int_equal(pl_container_create(port, &s, id, &err), 0);
    json_t *c cleanup_json = look(port, id);
    assert_string_equal(vic_json_str(json_object_get(c, "restart_policy"), "name"), "no");
    assert_int_equal(json_integer_value(json_object_get(c, "restart_count")), 0);
    assert_false(json_is_true(json_object_get(c, "restarting")));
    const char *ids[] = {id};
    remove_all(port, ids, 1);
}

static void test_restart_on_failure_stops_after_the_limit(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_autoremove_start(port, NULL, NULL, &err), 0);
    char failing[65], fine[65];
    create("rs-fail", "on-failure", 2, "exit 3", failing);
    create("rs-fine", "on-failure", 0, "exit 0", fine);
    assert_int_equal(pl_container_start(port, failing, &err), 0);
    assert_int_equal(pl_container_start(port, fine, &err), 0);
    json_t *c cleanup_json = wait_for(port, failing, "exited", 2);
    assert_int_equal(json_integer_value(json_object_get(c, "restart_count")), 2);
    assert_int_equal(json_integer_value(json_object_get(c, "exit_code")), 3);
    assert_false(json_is_true(json_object_get(c, "restarting")));
    json_t *policy = json_object_get(c, "restart_policy");
    assert_string_equal(vic_json_str(policy, "name"), "on-failure");
    assert_int_equal(json_integer_value(json_object_get(policy, "maximum_retry_count")), 2);
    json_decref(c);
    /* exit 0 is no failure: it stays exited, never restarted */
    c = wait_for(port, fine, "exited", 0);
    assert_int_equal(json_integer_value(json_object_get(c, "restart_count")), 0);
    /* a docker start starts the count over */
    assert_int_equal(pl_container_start(port, failing, &err), 0);
    json_decref(c);
    c = look(port, failing);
    assert_true(json_integer_value(json_object_get(c, "restart_count")) < 2);
    json_decref(c);
    c = wait_for(port, failing, "exited", 2);
    pl_autoremove_stop(port);
    const char *ids[] = {failing, fine};
    remove_all(port, ids, 2);
}

static void test_restart_always_until_stopped(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_autoremove_start(port, NULL, NULL, &err), 0);
    char id[65], victim[65];
    create("rs-always", "always", 0, "exit 0", id);
    create("rs-victim", "always", 0, "exit 1", victim);
    assert_int_equal(pl_container_start(port, id, &err), 0);
    assert_int_equal(pl_container_start(port, victim, &err), 0);
    /* it runs again and again; between runs it reads as restarting */
    json_t *c cleanup_json = wait_for(port, id, "restarting", 2);
    assert_true(json_is_true(json_object_get(c, "restarting")));
    assert_false(json_is_true(json_object_get(c, "running")));
    json_decref(c);
    c = NULL;
    assert_int_equal(pl_container_stop(port, id, 1000, &err), 0);
    c = look(port, id);
    int64_t count = json_integer_value(json_object_get(c, "restart_count"));
    /* stopped by the user: exited, and no restart is pending any more */
    assert_string_equal(vic_json_str(c, "state"), "exited");
    assert_false(json_is_true(json_object_get(c, "restarting")));
    json_decref(c);
    /* rm -f of a container between its runs or in one */
    c = wait_for(port, victim, "restarting", 3);
    assert_int_equal(pl_container_remove(port, victim, false, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    assert_int_equal(pl_container_remove(port, victim, true, &err), 0);
    char found[65];
    assert_int_equal(pl_container_find(port, victim, found, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    /* the watcher, stopped, has made its last decisions: none restarted the stopped one */
    pl_autoremove_stop(port);
    json_decref(c);
    c = look(port, id);
    assert_string_equal(vic_json_str(c, "state"), "exited");
    assert_int_equal(json_integer_value(json_object_get(c, "restart_count")), count);
    assert_int_equal(pl_autoremove_sweep(port, NULL, NULL), 0);
    json_decref(c);
    c = look(port, id);
    assert_string_equal(vic_json_str(c, "state"), "exited");
    const char *ids[] = {id};
    remove_all(port, ids, 1);
}

/* Sets keys (NULL values remove) of id's configuration, and optionally clears its run's
 * reports, as a port layer that died half-way through a restart left them. */
static void leave_half_done(const char *id, const char *next, const char *count, bool cleared)
{
    pl_handle *h = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_handle_get(port, id, &h, &err), 0);
    vic_exec_config *cfg = pl_handle_config(h);
    char text[80];
    snprintf(text, sizeof(text), "%s", next);
    if (strcmp(next, "RUN") == 0) /* the record of the run that just ended */
        snprintf(text, sizeof(text), "%lld 1 100", (long long)cfg->sessions[0].started_at);
    pl_handle_set_key(h, K_NEXT, text);
    pl_handle_set_key(h, K_COUNT, count);
    if (cleared)
        pl_handle_new_run(h, false);
    assert_int_equal(pl_handle_commit(port, h, &err), 0);
    pl_handle_free(h);
}

/* A new port layer (its predecessor was kill -9'd, or the appliance restarted) brings back an
 * always container the user stopped and finishes the restarts its predecessor had begun,
 * counting each once; an unless-stopped one the user stopped stays stopped. */
static void test_restart_new_port_layer_brings_them_back(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    char back[65], kept[65], decided[65], cleared[65];
    /* each runs once and ends (no watcher: as if no port layer ran); a second run sleeps */
    const char *script = "test -f /ran && exec sleep 60; touch /ran";
    create("rs-back", "always", 0, "sleep 60", back);
    create("rs-kept", "unless-stopped", 0, "sleep 60", kept);
    create("rs-decided", "always", 0, script, decided);
    create("rs-cleared", "on-failure", 0, script, cleared);
    const char *ids[] = {back, kept, decided, cleared};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pl_container_start(port, ids[i], &err), 0);
    assert_int_equal(pl_container_stop(port, back, 1000, &err), 0);
    assert_int_equal(pl_container_stop(port, kept, 1000, &err), 0);
    int64_t code = -1;
    assert_int_equal(pl_container_wait(port, decided, 20000, &code, &err), 0);
    assert_int_equal(pl_container_wait(port, cleared, 20000, &code, &err), 0);
    /* died after recording a restart; died after clearing the run for the power on */
    leave_half_done(decided, "RUN", "1", false);
    leave_half_done(cleared, "1 1 100", "3", true);
    json_t *c cleanup_json = look(port, cleared);
    assert_string_equal(vic_json_str(c, "state"), "restarting");
    json_decref(c);

    pl *again = NULL;
    pl_opts po = {.hv = conn, .pool = POOL, .no_watch_thread = true};
    assert_int_equal(pl_open(&again, &po, &err), 0);
    assert_int_equal(pl_autoremove_start(again, NULL, NULL, &err), 0);
    c = wait_for(again, back, "running", 0);
    assert_int_equal(json_integer_value(json_object_get(c, "restart_count")), 0);
    json_decref(c);
    c = wait_for(again, decided, "running", 1);
    assert_int_equal(json_integer_value(json_object_get(c, "restart_count")), 1);
    json_decref(c);
    c = wait_for(again, cleared, "running", 3);
    assert_int_equal(json_integer_value(json_object_get(c, "restart_count")), 3);
    json_decref(c);
    /* the first look of the new port layer is done (it brought back rs-back): rs-kept stays */
    c = look(again, kept);
    assert_string_equal(vic_json_str(c, "state"), "exited");
    json_decref(c);
    c = NULL;
    pl_free(again);
    remove_all(port, ids, 4);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_restart_policy_parse),
        cmocka_unit_test(test_restart_wanted_follows_docker),
        cmocka_unit_test(test_restart_backoff_doubles_and_resets),
        cmocka_unit_test(test_restart_plan_of_the_records),
    };
    int rc = cmocka_run_group_tests(pure, NULL, NULL);
    if (rc != 0)
        return rc;
    if (geteuid() != 0) {
        fprintf(stderr, "test_restart: the host part needs root (namespaces, cgroups); "
                        "skipped\n");
        return 0;
    }
    const struct CMUnitTest host[] = {
        cmocka_unit_test(test_restart_refuses_auto_remove),
        cmocka_unit_test(test_restart_on_failure_stops_after_the_limit),
        cmocka_unit_test(test_restart_always_until_stopped),
        cmocka_unit_test(test_restart_new_port_layer_brings_them_back),
    };
    return cmocka_run_group_tests(host, group_setup, group_teardown);
}
