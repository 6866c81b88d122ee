/*
 * containers.h - Docker's container routes over the port layer's containers: list (ps),
 * create, inspect, start, stop, kill, restart, rename, remove, wait, stats and top
 * (top.c). Attach, exec and logs have modules of their own (attach.h, exec.h, logs.h).
 *
 * The translations between Docker's shapes and the port layer's are exposed for the unit
 * tests: a create body into the port layer's spec, ps's filters, and a port layer container
 * record into ps's summary and inspect's answer.
 */
#ifndef VIC_PERSONALITY_CONTAINERS_H
#define VIC_PERSONALITY_CONTAINERS_H

#include <jansson.h>
#include <time.h>

#include "lib/http.h"
#include "personality/common.h"

/* docker ps's Status of c (a port layer container) at now: "Up 5 minutes", "Exited (3) 2
 * hours ago", or "Created" for one without a start time: never started, or powered on but
 * not started yet (the run block), never an uptime counted from year 1. */
void engine_container_status(const json_t *c, time_t now, char *out, size_t cap);

/* ps's entry for the port layer container c at now (a new reference). */
json_t *engine_container_summary(const json_t *c, time_t now);

/* The filters docker ps takes (for engine_filters). */
extern const char *const engine_ps_filters[];

enum engine_ps_how {
    ENGINE_PS_NAME,   /* a substring of the name (a leading '/' of the value ignored) */
    ENGINE_PS_ID,     /* a prefix of the id */
    ENGINE_PS_STATUS, /* the whole state ("running" also matches a container still starting) */
};

/* Whether any of a filter's values (an array; NULL: no filter) matches s. */
int engine_ps_match(const json_t *values, const char *s, int how);

/* Whether the port layer container x passes ps's filters (engine_filters' object or NULL). */
int engine_ps_wanted(const json_t *filters, const json_t *x);

/* The port layer's spec for a Docker create body b (name: the ?name= argument, or NULL):
 * image, env, cmd, entrypoint, tty, interactive, workdir, user, hostname, stop_signal,
 * cap_add, cap_drop, security_opt, networks, mounts, ports, memory_mb. *out is a new
 * reference; what cannot be honoured is VIC_EINVAL (400) or VIC_EUNSUPPORTED (501) saying
 * why. */
int engine_container_spec(const json_t *b, const char *name, json_t **out, vic_err **err);

/* docker inspect's answer for the port layer container x (a new reference). */
json_t *engine_container_inspect(const json_t *x);

/* The routes' handlers (payload: engine_ctx). */
int engine_container_list_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err);
int engine_container_create_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                    vic_err **err);
int engine_container_inspect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                     vic_err **err);
int engine_container_start_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                   vic_err **err);
int engine_container_stop_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err);
int engine_container_kill_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err);
int engine_container_restart_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                     vic_err **err);
int engine_container_rename_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                    vic_err **err);
int engine_container_remove_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                    vic_err **err);
int engine_container_wait_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err);
int engine_container_stats_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                   vic_err **err);
/* docker top (top.c) */
int engine_top_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

#endif
