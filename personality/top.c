/*
 * top.c - docker top: the processes of a running containerVM as its hypervisor's guest
 * operations list them (the port layer's GET /containers/{id}/top), in the columns of `ps -ef`,
 * which is what docker top shows by default. Other ps options are refused: no ps runs here.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/httpc.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "personality/containers.h"

/* ps's STIME: the hour and minute today, the month and day before. */
static json_t *stime_of(int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t, now = time(NULL);
    struct tm tm, tn;
    localtime_r(&tt, &tm);
    localtime_r(&now, &tn);
    if (tm.tm_yday == tn.tm_yday && tm.tm_year == tn.tm_year)
        strftime(buf, sizeof(buf), "%H:%M", &tm);
    else
        strftime(buf, sizeof(buf), "%b%d", &tm);
    return json_string(buf);
}

/* ps's TIME: CPU time as [DD-]HH:MM:SS. */
static json_t *cputime_of(int64_t ns)
{
    int64_t s = ns / 1000000000;
    if (s >= 86400)
        return json_sprintf("%lld-%02lld:%02lld:%02lld", (long long)(s / 86400),
                            (long long)(s % 86400 / 3600), (long long)(s % 3600 / 60),
                            (long long)(s % 60));
    return json_sprintf("%02lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s % 3600 / 60),
                        (long long)(s % 60));
}

int engine_top_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err)
{
    engine_ctx *c = payload;
    const char *args = vic_http_req_query(req, "ps_args");
    if (args && *args && strcmp(args, "-ef") != 0 && strcmp(args, "ef") != 0)
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "ps options (%.64s) are not supported by a VCH: docker top lists the "
                           "containerVM's processes from its hypervisor, as ps -ef shows them",
                           args);
    cleanup_free char *path = engine_pl_path(req, "/top", err);
    if (path == NULL)
        return (*err)->code;
    json_t *procs cleanup_json = NULL;
    int rc = vic_httpc_json(c->pl, "GET", path, NULL, 30000, &procs, err);
    if (rc < 0)
        return engine_docker_err(rc, ENGINE_OBJ_CONTAINER, NULL, err);
    json_t *rows = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(procs, i, p)
    {
        json_int_t uid = json_integer_value(json_object_get(p, "uid"));
        json_array_append_new(
            rows,
            json_pack(
                "[o, o, o, s, o, s, o, s]",
                uid == 0 ? json_string("root") : json_sprintf("%lld", (long long)uid),
                json_sprintf("%lld", (long long)json_integer_value(json_object_get(p, "pid"))),
                json_sprintf("%lld", (long long)json_integer_value(json_object_get(p, "ppid"))),
                "0", stime_of(json_integer_value(json_object_get(p, "start_time"))),
                vic_json_str(p, "tty") ?: "?",
                cputime_of(json_integer_value(json_object_get(p, "cpu_ns"))),
                vic_json_str(p, "cmd") ?: ""));
    }
    vic_http_resp_json(resp, 200,
                       json_pack("{s:[s, s, s, s, s, s, s, s], s:o}", "Titles", "UID", "PID",
                                 "PPID", "C", "STIME", "TTY", "TIME", "CMD", "Processes", rows));
    return 0;
}
