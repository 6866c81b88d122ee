/*
 * Docker's AutoRemove in the port layer: which listed VMs are due (pure), and over the real
 * local host (VMs, monitors and tethers with a busybox root disk) the sweep, the reaper thread,
 * a failed start, the exit status kept for waiters, and a sweep by a new port layer of what
 * ended while none ran. The host part needs root; VIC_BIN_DIR names the binaries (default
 * build-san/bin).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
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

#define POOL ROOT_POOL "/vch-autorm"
#define ID   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- pl_autoremove_due over listings made by hand ---- */

/* A listing's VM: power, and extraConfig from the pairs in extra (JSON text). */
static json_t *listed(const char *power, const char *extra)
{
    json_t *x = NULL;
    assert_int_equal(vic_json_parse(&x, extra, strlen(extra), 65536, NULL), 0);
    return json_pack("{s:s, s:s, s:s, s:o}", "ref", "vm:c-0123456789ab", "name", "c-0123456789ab",
                     "power", power, "extra_config", x);
}

#define K_ID      "\"" VIC_GI_PREFIX "/common/id\": \"" ID "\""
#define K_AUTO    "\"" VIC_GI_PREFIX "/vicc/auto_remove\": \"true\""
#define K_STARTED "\"" VIC_GI_PREFIX ".sessions|" ID ".started\""

static void test_autoremove_due_after_a_run_only(void **state)
{
    (void)state;
    static const struct {
        const char *power, *extra;
        bool due;
    } cases[] = {
        /* a run ended: its start was reported, or why it could not start */
        {"poweredOff", "{" K_ID ", " K_AUTO ", " K_STARTED ": \"true\"}", true},
        {"poweredOff", "{" K_ID ", " K_AUTO ", " K_STARTED ": \"exec: not found\"}", true},
        /* still running, or not a --rm container */
        {"poweredOn", "{" K_ID ", " K_AUTO ", " K_STARTED ": \"true\"}", false},
        {"poweredOff", "{" K_ID ", " K_STARTED ": \"true\"}", false},
        {"poweredOff",
         "{" K_ID ", \"" VIC_GI_PREFIX "/vicc/auto_remove\": \"false\", " K_STARTED ": \"true\"}",
         false},
        /* never started (docker create --rm), or its start cleared the report */
        {"poweredOff", "{" K_ID ", " K_AUTO "}", false},
        /* not a container yet, or not a container */
        {"poweredOff",
         "{" K_ID ", " K_AUTO ", " K_STARTED ": \"true\", \"" VIC_GI_PREFIX
         "/vicc/creating\": \"1 2\"}",
         false},
        {"poweredOff", "{" K_AUTO ", " K_STARTED ": \"true\"}", false},
        {"suspended", "{" K_ID ", " K_AUTO ", " K_STARTED ": \"true\"}", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *vm cleanup_json = listed(cases[i].power, cases[i].extra);
        if (pl_autoremove_due(vm) != cases[i].due)
            fail_msg("case %zu: due should be %d", i, cases[i].due);
    }
    json_t *bare cleanup_json = json_object();
    assert_false(pl_autoremove_due(bare));
}

/* ---- over the local host ---- */

static int group_setup(void **state)
{
    (void)state;
    return local_fixture_open("autorm", "vch-autorm");
}

static int group_teardown(void **state)
{
    (void)state;
    return local_fixture_close();
}

static void create(const char *name, bool auto_remove, const char *script, char id[65])
{
    const char *cmd[] = {"/bin/sh", "-c", script};
    const char *env[] = {"PATH=/bin:/usr/bin"};
    pl_create_spec s = {.name = name,
                        .image = "busybox:latest",
                        .cmd = cmd,
                        .n_cmd = 3,
                        .env = env,
                        .n_env = 1,
                        .auto_remove = auto_remove,
                        .rootfs = copy_busybox};
    vic_err *err cleanup_err = NULL;
    if (pl_container_create(port, &s, id, &err) < 0)
        fail_msg("create %s: %s", name, err->msg);
}

/* Runs the container to its end (the port layer's wait), which must be exit code. */
static void run_to_exit(const char *id, int64_t code)
{
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_container_start(port, id, &err), 0);
    int64_t got = -1;
    if (pl_container_wait(port, id, 20000, &got, &err) < 0)
        fail_msg("wait: %s", err->msg);
    assert_int_equal(got, code);
}

static bool exists(pl *p, const char *ref)
{
    char found[65];
    vic_err *err cleanup_err = NULL;
    int rc = pl_container_find(p, ref, found, &err);
    if (rc < 0 && rc != VIC_ENOTFOUND)
        fail_msg("find %s: %s", ref, err->msg);
    return rc == 0;
}

typedef struct removals {
    pthread_mutex_t mu; /* the reaper's thread and a failed start's both call fn */
    json_t *names;      /* of the containers fn was called for */
} removals;

/* Called on the reaper's thread too: records only (the test's thread checks, after the
 * reaper stopped). */
static void on_removed(const json_t *c, void *payload)
{
    removals *r = payload;
    bool auto_remove = json_is_true(json_object_get(c, "auto_remove"));
    pthread_mutex_lock(&r->mu);
    json_array_append_new(r->names,
                          json_string(auto_remove ? vic_json_str(c, "name") : "(not auto_remove)"));
    pthread_mutex_unlock(&r->mu);
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits (at most 20 s) for ref to be gone; fails otherwise. */
static void gone_within_deadline(const char *ref)
{
    int64_t deadline = mono_ms() + 20000;
    while (exists(port, ref)) {
        if (mono_ms() > deadline)
            fail_msg("%s is still there after 20 s", ref);
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
}

static void test_autoremove_sweep_takes_ended_runs_only(void **state)
{
    (void)state;
    char ended[65], kept[65], fresh[65];
    create("rm-ended", true, "exit 3", ended);
    create("plain-ended", false, "exit 4", kept);
    create("rm-fresh", true, "true", fresh);
    json_t *c cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_container_inspect(port, ended, &c, &err), 0);
    assert_true(json_is_true(json_object_get(c, "auto_remove")));
    json_decref(c);
    assert_int_equal(pl_container_inspect(port, kept, &c, &err), 0);
    assert_true(json_is_false(json_object_get(c, "auto_remove")));
    run_to_exit(ended, 3);
    run_to_exit(kept, 4);
    removals r = {PTHREAD_MUTEX_INITIALIZER, json_array()};
    assert_int_equal(pl_autoremove_sweep(port, on_removed, &r), 1);
    assert_int_equal(json_array_size(r.names), 1);
    assert_string_equal(json_string_value(json_array_get(r.names, 0)), "rm-ended");
    json_decref(r.names);
    assert_false(exists(port, ended));
    assert_true(exists(port, kept));  /* without --rm it stays, exited */
    assert_true(exists(port, fresh)); /* never started: docker create --rm keeps it */
    /* a waiter that comes after the removal learns how it ended, by the full id */
    int64_t code = -1;
    assert_int_equal(pl_container_wait(port, ended, 0, &code, &err), 0);
    assert_int_equal(code, 3);
    assert_int_equal(pl_container_wait(port, "rm-ended", 0, &code, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    /* nothing more is due */
    assert_int_equal(pl_autoremove_sweep(port, NULL, NULL), 0);
    assert_int_equal(pl_container_remove(port, kept, false, &err), 0);
    assert_int_equal(pl_container_remove(port, fresh, false, &err), 0);
}

static void test_autoremove_reaper_removes_at_exit(void **state)
{
    (void)state;
    removals r = {PTHREAD_MUTEX_INITIALIZER, json_array()};
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_autoremove_start(port, on_removed, &r, &err), 0);
    assert_int_equal(pl_autoremove_start(port, on_removed, &r, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    char id[65], kept[65];
    create("rm-live", true, "sleep 1; exit 5", id);
    create("plain-live", false, "exit 6", kept);
    assert_int_equal(pl_container_start(port, id, &err), 0);
    assert_int_equal(pl_container_start(port, kept, &err), 0);
    /* a wait that began while it ran ends with its status, removed or not yet */
    int64_t code = -1;
    assert_int_equal(pl_container_wait(port, id, 20000, &code, &err), 0);
    assert_int_equal(code, 5);
    gone_within_deadline(id);
    assert_int_equal(pl_container_wait(port, kept, 20000, &code, &err), 0);
    assert_int_equal(code, 6);
    /* a failed start of an auto-remove container removes it too (Docker's rule) */
    char bad[65];
    const char *cmd[] = {"/no/such/program"};
    pl_create_spec s = {.name = "rm-bad",
                        .image = "busybox:latest",
                        .cmd = cmd,
                        .n_cmd = 1,
                        .auto_remove = true,
                        .rootfs = copy_busybox};
    assert_int_equal(pl_container_create(port, &s, bad, &err), 0);
    assert_true(pl_container_start(port, bad, &err) < 0);
    vic_err_free(&err);
    gone_within_deadline(bad);
    pl_autoremove_stop(port);
    pl_autoremove_stop(port); /* a second stop is nothing */
    assert_true(exists(port, kept));
    /* rm-live and rm-bad, each once */
    assert_int_equal(json_array_size(r.names), 2);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(strncmp(json_string_value(json_array_get(r.names, i)), "rm-", 3), 0);
    json_decref(r.names);
    assert_int_equal(pl_container_remove(port, kept, false, &err), 0);
}

/* A container that exits while no port layer runs (one was kill -9'd) is removed by the next
 * port layer's reaper at its start. */
static void test_autoremove_new_port_layer_sweeps_what_ended(void **state)
{
    (void)state;
    char id[65];
    create("rm-orphan", true, "exit 9", id);
    run_to_exit(id, 9); /* this port layer runs no reaper: as if it were down */
    assert_true(exists(port, id));
    pl *again = NULL;
    vic_err *err cleanup_err = NULL;
    pl_opts po = {.hv = conn, .pool = POOL, .no_watch_thread = true};
    assert_int_equal(pl_open(&again, &po, &err), 0);
    removals r = {PTHREAD_MUTEX_INITIALIZER, json_array()};
    assert_int_equal(pl_autoremove_start(again, on_removed, &r, &err), 0);
    gone_within_deadline(id);
    pl_free(again); /* stops its reaper */
    assert_int_equal(json_array_size(r.names), 1);
    assert_string_equal(json_string_value(json_array_get(r.names, 0)), "rm-orphan");
    json_decref(r.names);
}

int main(void)
{
    const struct CMUnitTest pure[] = {cmocka_unit_test(test_autoremove_due_after_a_run_only)};
    int rc = cmocka_run_group_tests(pure, NULL, NULL);
    if (rc != 0)
        return rc;
    if (geteuid() != 0) {
        fprintf(stderr, "test_autoremove: the host part needs root (namespaces, cgroups); "
                        "skipped\n");
        return 0;
    }
    const struct CMUnitTest host[] = {
        cmocka_unit_test(test_autoremove_sweep_takes_ended_runs_only),
        cmocka_unit_test(test_autoremove_reaper_removes_at_exit),
        cmocka_unit_test(test_autoremove_new_port_layer_sweeps_what_ended),
    };
    return cmocka_run_group_tests(host, group_setup, group_teardown);
}
