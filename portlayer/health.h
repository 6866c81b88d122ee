/*
 * health.h - Docker's health checks (HEALTHCHECK, docker run --health-*), run by the port
 * layer in each running container's guest.
 *
 * The check is the container's own: its configuration is recorded at create in the VM's
 * extraConfig, and so is its state, beside the session's reports (see health.c for the keys):
 * a port layer killed at any instant leaves the next one the status, the failing streak and
 * the last results, and it goes on checking the containers that run.
 *
 * The checker that runs them is portlayer/healthmon.h. A check is an exec in the guest (hv_vm_exec,
 * as docker exec): ["CMD", prog, args...] runs prog, ["CMD-SHELL", command] runs /bin/sh -c
 * command, with the container's environment, user and working directory. It passes with exit code
 * 0; a run past the timeout fails with exit code -1. As Docker's daemon: the first check comes an
 * interval after the start (the start interval while the start period lasts), a container is
 * "starting" until its first pass, "healthy" after a pass and "unhealthy" after retries failures in
 * a row, and failures within the start period do not count while it is still starting. The last
 * PL_HEALTH_LOG_MAX results are kept, each output cut at PL_HEALTH_OUTPUT_MAX bytes.
 */
#ifndef VIC_PL_HEALTH_H
#define VIC_PL_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/execconfig.h"

/* Docker's defaults and limits (daemon/health.go, api/types/container). */
#define PL_HEALTH_INTERVAL_NS       (30LL * 1000000000)
#define PL_HEALTH_TIMEOUT_NS        (30LL * 1000000000)
#define PL_HEALTH_START_INTERVAL_NS (5LL * 1000000000)
#define PL_HEALTH_RETRIES           3
#define PL_HEALTH_MIN_NS            1000000 /* a duration given is 0 or at least 1ms */
#define PL_HEALTH_LOG_MAX           5
#define PL_HEALTH_OUTPUT_MAX        4096
#define PL_HEALTH_STREAK_MAX        1000000000 /* a failing streak counts up to here */

typedef enum pl_health_status {
    PL_HEALTH_STARTING,
    PL_HEALTH_HEALTHY,
    PL_HEALTH_UNHEALTHY,
} pl_health_status;

/* "starting", "healthy" or "unhealthy". */
const char *pl_health_status_name(pl_health_status s);

/* A health check as the port layer's create takes it and records it:
 * {"test": ["CMD", ...] | ["CMD-SHELL", command], "interval", "timeout", "start_period",
 * "start_interval" (nanoseconds, 0 or absent: Docker's default), "retries" (0 or absent: 3),
 * "shell" (the argv CMD-SHELL runs its command with; absent: ["/bin/sh", "-c"])}.
 * Checks hc: VIC_EINVAL with Docker's message for a bad one. A test of ["NONE"] or [] is
 * valid and means no check (pl_health_wanted). */
int pl_health_config_check(const json_t *hc, vic_err **err);

/* Whether hc (checked) asks for a check: a test of CMD or CMD-SHELL. */
bool pl_health_wanted(const json_t *hc);

/* Records the checked hc in extra, the new VM's extraConfig, when it asks for a check. */
void pl_health_config_record(json_t *extra, const json_t *hc);

/* The recorded check of a container's extraConfig, or NULL (borrowed from nothing: new
 * reference). */
json_t *pl_health_config_of(const json_t *extra);

/* The argv a check runs (a new array of strings), or NULL when hc has no CMD/CMD-SHELL test. */
json_t *pl_health_argv(const json_t *hc);

/* How long the check waits before its next run (Docker's monitor): the interval, or while
 * within the start period the start interval when still starting, and never past the start
 * period's end. started_ns is the run's start, now_ns the time (both Unix ns). */
int64_t pl_health_wait_ns(const json_t *hc, int64_t started_ns, int64_t now_ns, bool starting);

/* The result of one check. */
typedef struct pl_health_result {
    int64_t start_ns, end_ns;
    int64_t exit_code; /* 0 passes; -1: timed out or could not run */
    const char *output;
} pl_health_result;

/* A container's health as recorded for one run. */
typedef struct pl_health_state {
    pl_health_status status;
    int64_t failing_streak;
    json_t *log; /* [{start, end, exit_code, output}], oldest first; owned */
} pl_health_state;

/* Reads the state extra records for the run that started at run_ns: a record of another run
 * (or none) reads as starting with no failures, its log kept (Docker keeps the log across
 * restarts). Free with pl_health_state_clear. */
void pl_health_state_read(const json_t *extra, int64_t run_ns, pl_health_state *out);
void pl_health_state_clear(pl_health_state *st);

/* Docker's handling of a check's result (handleProbeResult): the log gains r (the oldest
 * going past PL_HEALTH_LOG_MAX), a pass makes it healthy with no failures, a failure adds
 * to the streak (not while starting within the start period, counted from run_ns) and makes
 * it unhealthy at the retries. */
void pl_health_apply(pl_health_state *st, const json_t *hc, const pl_health_result *r,
                     int64_t run_ns);

/* The extraConfig keys (values for pl_handle_set_key) that record st for the run run_ns:
 * *state and *log are new strings. */
void pl_health_state_format(const pl_health_state *st, int64_t run_ns, char **state, char **log);

extern const char *const pl_health_key_state; /* VIC_GI_PREFIX "/vicc/health" */
extern const char *const pl_health_key_log;   /* VIC_GI_PREFIX "/vicc/health_log" */

/* Adds to desc, a container's inspect object (extra: its extraConfig, on: its power, s: its
 * session or NULL), "healthcheck" (the recorded check) and, once it has started, "health":
 * {status, failing_streak, log: [{start, end (RFC 3339), exit_code, output}]}. Nothing
 * without a check. */
void pl_health_describe(json_t *desc, const json_t *extra, bool on, const vic_exec_session *s);

/* Docker's duration format (Go's time.Duration.String) of ns: "1s", "500ms", "1m30s". */
void pl_health_duration(char *out, size_t cap, int64_t ns);

#endif
