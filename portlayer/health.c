/*
 * health.c - Docker's health checks in the port layer (see health.h).
 *
 * What lives in the container VM's extraConfig:
 *   /vicc/healthcheck  the check as created (compact JSON, health.h's form)
 *   /vicc/health       "RUN STATUS STREAK": the run's start (the session's started_at, Unix
 *                      ns) the state belongs to, its status and failing streak
 *   /vicc/health_log   the last results, [{start, end, exit_code, output}] (compact JSON,
 *                      times in Unix ns), across runs
 *
 * Each result is one reconfigure guarded by the VM's change version, made only while the VM
 * is on and its session is still the run checked: a result never lands on a later run.
 */
#include "portlayer/health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/guestinfo.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "lib/timefmt.h"

#define KEY_CONFIG VIC_GI_PREFIX "/vicc/healthcheck"
#define KEY_STATE  VIC_GI_PREFIX "/vicc/health"
#define KEY_LOG    VIC_GI_PREFIX "/vicc/health_log"

const char *const pl_health_key_state = KEY_STATE;
const char *const pl_health_key_log = KEY_LOG;

static const char *const status_names[] = {"starting", "healthy", "unhealthy"};

const char *pl_health_status_name(pl_health_status s)
{
    return (unsigned)s < 3 ? status_names[s] : "starting";
}

/* ---- configuration ---- */

static const char *test_kind(const json_t *hc)
{
    return json_string_value(json_array_get(json_object_get(hc, "test"), 0));
}

bool pl_health_wanted(const json_t *hc)
{
    const char *k = test_kind(hc);
    return k && (strcmp(k, "CMD") == 0 || strcmp(k, "CMD-SHELL") == 0);
}

static int64_t num(const json_t *hc, const char *key)
{
    return json_integer_value(json_object_get(hc, key));
}

int pl_health_config_check(const json_t *hc, vic_err **err)
{
    if (!json_is_object(hc))
        return vic_err_set(err, VIC_EINVAL, "healthcheck: must be an object");
    static const char *const known[] = {"test",    "interval",       "timeout", "start_period",
                                        "retries", "start_interval", "shell"};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)hc, k, v)
    {
        size_t i = 0;
        while (i < sizeof(known) / sizeof(known[0]) && strcmp(k, known[i]) != 0)
            i++;
        if (i == sizeof(known) / sizeof(known[0]))
            return vic_err_set(err, VIC_EINVAL, "healthcheck: unknown field %.32s", k);
    }
    static const char *const lists[] = {"test", "shell"};
    for (size_t l = 0; l < 2; l++) {
        const json_t *a = json_object_get(hc, lists[l]);
        size_t i;
        json_t *s;
        if (a && !json_is_array(a))
            return vic_err_set(err, VIC_EINVAL, "healthcheck: %s must be a list of strings",
                               lists[l]);
        if (json_array_size(a) > 4096)
            return vic_err_set(err, VIC_EINVAL, "healthcheck: %s is too long", lists[l]);
        json_array_foreach(a, i, s)
        {
            if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s))
                return vic_err_set(err, VIC_EINVAL, "healthcheck: %s[%zu] must be a string",
                                   lists[l], i);
        }
    }
    const json_t *test = json_object_get(hc, "test");
    const char *kind = test_kind(hc);
    if (kind && strcmp(kind, "NONE") != 0 && strcmp(kind, "CMD") != 0 &&
        strcmp(kind, "CMD-SHELL") != 0)
        return vic_err_set(err, VIC_EINVAL,
                           "healthcheck: unknown test type '%.32s' (CMD, CMD-SHELL or NONE)", kind);
    if (kind && strcmp(kind, "NONE") != 0 &&
        (json_array_size(test) < 2 || json_string_length(json_array_get(test, 1)) == 0))
        return vic_err_set(err, VIC_EINVAL, "healthcheck: %s needs a command", kind);
    const json_t *shell = json_object_get(hc, "shell");
    if (shell && (json_array_size(shell) == 0 || json_string_length(json_array_get(shell, 0)) == 0))
        return vic_err_set(err, VIC_EINVAL, "healthcheck: shell must name a program");
    static const char *const durations[][2] = {{"interval", "Interval"},
                                               {"timeout", "Timeout"},
                                               {"start_period", "StartPeriod"},
                                               {"start_interval", "StartInterval"}};
    for (size_t i = 0; i < 4; i++) {
        const json_t *d = json_object_get(hc, durations[i][0]);
        if (d && !json_is_integer(d))
            return vic_err_set(err, VIC_EINVAL, "healthcheck: %s must be nanoseconds",
                               durations[i][0]);
        int64_t ns = json_integer_value(d);
        if (ns < 0 || (ns != 0 && ns < PL_HEALTH_MIN_NS))
            return vic_err_set(err, VIC_EINVAL, "%s in Healthcheck cannot be less than 1ms",
                               durations[i][1]);
    }
    const json_t *r = json_object_get(hc, "retries");
    if (r && !json_is_integer(r))
        return vic_err_set(err, VIC_EINVAL, "healthcheck: retries must be a number");
    if (json_integer_value(r) < 0)
        return vic_err_set(err, VIC_EINVAL, "Retries in Healthcheck cannot be negative");
    return 0;
}

void pl_health_config_record(json_t *extra, const json_t *hc)
{
    if (!pl_health_wanted(hc))
        return;
    char *text = json_dumps(hc, JSON_COMPACT | JSON_SORT_KEYS);
    if (text)
        json_object_set_new(extra, KEY_CONFIG, json_string(text));
    free(text);
}

json_t *pl_health_config_of(const json_t *extra)
{
    const char *text = json_string_value(json_object_get(extra, KEY_CONFIG));
    if (text == NULL)
        return NULL;
    json_t *hc = json_loads(text, 0, NULL);
    if (hc && (pl_health_config_check(hc, NULL) < 0 || !pl_health_wanted(hc))) {
        json_decref(hc);
        hc = NULL;
    }
    return hc;
}

json_t *pl_health_argv(const json_t *hc)
{
    if (!pl_health_wanted(hc))
        return NULL;
    const json_t *test = json_object_get(hc, "test");
    json_t *argv = json_array();
    if (strcmp(test_kind(hc), "CMD-SHELL") == 0) {
        const json_t *shell = json_object_get(hc, "shell");
        if (json_array_size(shell)) {
            json_array_extend(argv, (json_t *)shell);
        } else {
            json_array_append_new(argv, json_string("/bin/sh"));
            json_array_append_new(argv, json_string("-c"));
        }
    }
    for (size_t i = 1; i < json_array_size(test); i++)
        json_array_append(argv, json_array_get(test, i));
    return argv;
}

static int64_t or_default(int64_t v, int64_t d)
{
    return v > 0 ? v : d;
}

int64_t pl_health_wait_ns(const json_t *hc, int64_t started_ns, int64_t now_ns, bool starting)
{
    int64_t interval = or_default(num(hc, "interval"), PL_HEALTH_INTERVAL_NS);
    int64_t start_interval = or_default(num(hc, "start_interval"), PL_HEALTH_START_INTERVAL_NS);
    int64_t period = num(hc, "start_period");
    int64_t elapsed = now_ns - started_ns;
    if (elapsed >= period)
        return interval;
    int64_t left = period - elapsed;
    if (left < interval)
        return left;
    return starting ? start_interval : interval;
}

/* ---- state ---- */

void pl_health_state_read(const json_t *extra, int64_t run_ns, pl_health_state *out)
{
    memset(out, 0, sizeof(*out));
    out->status = PL_HEALTH_STARTING;
    const char *rec = json_string_value(json_object_get(extra, KEY_STATE));
    long long run = 0, streak = 0;
    char status[16];
    int used = 0;
    /* "RUN STATUS STREAK" exactly; anything else (a damaged record) reads as none */
    if (rec && sscanf(rec, "%lld %15[a-z] %lld%n", &run, status, &streak, &used) == 3 &&
        rec[used] == '\0' && run == run_ns && run_ns != 0 && streak >= 0 &&
        streak <= PL_HEALTH_STREAK_MAX) {
        for (int i = 0; i < 3; i++)
            if (strcmp(status, status_names[i]) == 0) {
                out->status = (pl_health_status)i;
                out->failing_streak = streak;
            }
    }
    const char *log = json_string_value(json_object_get(extra, KEY_LOG));
    json_t *l = log ? json_loads(log, 0, NULL) : NULL;
    if (!json_is_array(l)) {
        json_decref(l);
        l = json_array();
    }
    out->log = l;
}

void pl_health_state_clear(pl_health_state *st)
{
    json_decref(st->log);
    st->log = NULL;
}

void pl_health_apply(pl_health_state *st, const json_t *hc, const pl_health_result *r,
                     int64_t run_ns)
{
    if (st->log == NULL)
        st->log = json_array();
    while (json_array_size(st->log) >= PL_HEALTH_LOG_MAX)
        json_array_remove(st->log, 0);
    json_array_append_new(st->log,
                          json_pack("{s:I, s:I, s:I, s:s}", "start", (json_int_t)r->start_ns, "end",
                                    (json_int_t)r->end_ns, "exit_code", (json_int_t)r->exit_code,
                                    "output", r->output ? r->output : ""));
    if (r->exit_code == 0) {
        st->failing_streak = 0;
        st->status = PL_HEALTH_HEALTHY;
        return;
    }
    /* while it never passed, failures within the start period do not count */
    if (st->status == PL_HEALTH_STARTING && r->start_ns - run_ns < num(hc, "start_period"))
        return;
    if (st->failing_streak < PL_HEALTH_STREAK_MAX)
        st->failing_streak++;
    if (st->failing_streak >= or_default(num(hc, "retries"), PL_HEALTH_RETRIES))
        st->status = PL_HEALTH_UNHEALTHY;
}

void pl_health_state_format(const pl_health_state *st, int64_t run_ns, char **state, char **log)
{
    *state = xasprintf("%lld %s %lld", (long long)run_ns, pl_health_status_name(st->status),
                       (long long)st->failing_streak);
    char *text = json_dumps(st->log ? st->log : json_array(), JSON_COMPACT);
    *log = text ? text : xstrdup("[]");
}

void pl_health_describe(json_t *desc, const json_t *extra, bool on, const vic_exec_session *s)
{
    json_t *hc = pl_health_config_of(extra);
    if (hc == NULL)
        return;
    json_object_set_new(desc, "healthcheck", hc);
    int64_t run = s ? s->started_at : 0;
    if (run == 0 && !on)
        return; /* never started: no health yet (Docker's State.Health is set at a start) */
    pl_health_state st;
    pl_health_state_read(extra, run, &st);
    json_t *log = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(st.log, i, e)
    {
        char start[48], end[48];
        vic_rfc3339(start, sizeof(start), json_integer_value(json_object_get(e, "start")));
        vic_rfc3339(end, sizeof(end), json_integer_value(json_object_get(e, "end")));
        json_array_append_new(log, json_pack("{s:s, s:s, s:I, s:s}", "start", start, "end", end,
                                             "exit_code",
                                             json_integer_value(json_object_get(e, "exit_code")),
                                             "output", vic_json_str(e, "output") ?: ""));
    }
    json_object_set_new(desc, "health",
                        json_pack("{s:s, s:I, s:o}", "status", pl_health_status_name(st.status),
                                  "failing_streak", (json_int_t)st.failing_streak, "log", log));
    pl_health_state_clear(&st);
}

/* Go's time.Duration.String for the part below a unit: "1.5" of 1500 with unit 1000. */
static void frac(vic_buf *b, int64_t v, int64_t unit)
{
    vic_buf_appendf(b, "%lld", (long long)(v / unit));
    int64_t rest = v % unit;
    if (rest == 0)
        return;
    char digits[24];
    int n = 0;
    for (int64_t u = unit / 10; u > 0; u /= 10)
        digits[n++] = (char)('0' + (rest / u) % 10);
    while (n > 0 && digits[n - 1] == '0')
        n--;
    vic_buf_appendf(b, ".%.*s", n, digits);
}

void pl_health_duration(char *out, size_t cap, int64_t ns)
{
    vic_buf b = VIC_BUF_INIT;
    if (ns < 0) {
        vic_buf_append(&b, "-", 1);
        ns = -ns;
    }
    if (ns == 0) {
        vic_buf_appendf(&b, "0s");
    } else if (ns < 1000) {
        vic_buf_appendf(&b, "%lldns", (long long)ns);
    } else if (ns < 1000000) {
        frac(&b, ns, 1000);
        vic_buf_appendf(&b, "µs");
    } else if (ns < 1000000000) {
        frac(&b, ns, 1000000);
        vic_buf_appendf(&b, "ms");
    } else {
        int64_t h = ns / (3600LL * 1000000000), m = ns / (60LL * 1000000000) % 60;
        int64_t s = ns % (60LL * 1000000000);
        if (h > 0)
            vic_buf_appendf(&b, "%lldh", (long long)h);
        if (h > 0 || m > 0)
            vic_buf_appendf(&b, "%lldm", (long long)m);
        frac(&b, s, 1000000000);
        vic_buf_appendf(&b, "s");
    }
    snprintf(out, cap, "%s", b.data ? b.data : "");
    vic_buf_free(&b);
}
