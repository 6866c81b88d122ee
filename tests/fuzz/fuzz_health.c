/* libFuzzer harness: the port layer's health checks (portlayer/health.c): a create's
 * healthcheck as the port layer checks and records it, and the health state it reads back from
 * a VM's extraConfig (which a damaged or hand-edited .vmx may hold anything in). The input is
 * JSON text: the check, or {"state": "...", "log": "..."} for the recorded state. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/mem.h"
#include "portlayer/health.h"

static void check_state(const json_t *input)
{
    json_t *extra = json_object();
    const char *st = json_string_value(json_object_get(input, "state"));
    const char *log = json_string_value(json_object_get(input, "log"));
    if (st)
        json_object_set_new(extra, pl_health_key_state, json_string(st));
    if (log)
        json_object_set_new(extra, pl_health_key_log, json_string(log));
    int64_t run = json_integer_value(json_object_get(input, "run"));
    pl_health_state s;
    pl_health_state_read(extra, run, &s);
    if (!json_is_array(s.log) || s.failing_streak < 0)
        abort();
    json_t *hc = json_pack("{s:[ss], s:I}", "test", "CMD", "true", "retries", (json_int_t)2);
    pl_health_result r = {.start_ns = run + 1, .end_ns = run + 2, .exit_code = 1, .output = "x"};
    pl_health_apply(&s, hc, &r, run);
    if (json_array_size(s.log) > PL_HEALTH_LOG_MAX)
        abort();
    char *k_state = NULL, *k_log = NULL;
    pl_health_state_format(&s, run, &k_state, &k_log);
    json_object_set_new(extra, pl_health_key_state, json_string(k_state));
    json_object_set_new(extra, pl_health_key_log, json_string(k_log));
    pl_health_state back;
    pl_health_state_read(extra, run, &back);
    /* what was written reads back the same (for a run that is one: run 0 is none) */
    if (run != 0 && (back.status != s.status || back.failing_streak != s.failing_streak))
        abort();
    vic_exec_session sess = {.started_at = run};
    json_t *desc = json_object();
    pl_health_config_record(extra, hc);
    pl_health_describe(desc, extra, true, &sess);
    json_decref(desc);
    pl_health_state_clear(&back);
    pl_health_state_clear(&s);
    free(k_state);
    free(k_log);
    json_decref(hc);
    json_decref(extra);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *in = NULL;
    if (vic_json_parse(&in, (const char *)data, size, 64 * 1024, NULL) < 0)
        return 0;
    if (json_object_get(in, "state") || json_object_get(in, "log")) {
        check_state(in);
        json_decref(in);
        return 0;
    }
    vic_err *err = NULL;
    if (pl_health_config_check(in, &err) == 0) {
        json_t *extra = json_object();
        pl_health_config_record(extra, in);
        json_t *back = pl_health_config_of(extra);
        if (pl_health_wanted(in) != (back != NULL))
            abort(); /* a check that asks for a run is recorded and read back */
        json_t *argv = pl_health_argv(back);
        if (back && json_array_size(argv) == 0)
            abort();
        if (back) {
            int64_t w =
                pl_health_wait_ns(back, 0, json_integer_value(json_object_get(in, "now")), true);
            if (w <= 0 && json_integer_value(json_object_get(back, "start_period")) == 0)
                abort();
        }
        char d[64];
        pl_health_duration(d, sizeof(d), json_integer_value(json_object_get(in, "timeout")));
        json_decref(argv);
        json_decref(back);
        json_decref(extra);
    } else if (err == NULL || err->msg[0] == '\0') {
        abort(); /* a refusal always says why */
    }
    vic_err_free(&err);
    json_decref(in);
    return 0;
}
