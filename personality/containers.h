/*
 * containers.h - Docker's container routes over the port layer's containers: list (ps.c),
 * create, inspect (inspect.c), start, stop, kill, restart, rename, remove, wait, stats and
 * top (top.c). Attach, exec and logs have modules of their own (attach.h, exec.h, logs.h).
 *
 * The translations between Docker's shapes and the port layer's are exposed for the unit
 * tests: a create body into the port layer's spec, ps's filters, and a port layer container
 * record into ps's summary and inspect's answer.
 */
#ifndef VIC_PERSONALITY_CONTAINERS_H
#define VIC_PERSONALITY_CONTAINERS_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "lib/http.h"
#include "personality/common.h"

/* docker ps's Status of c (a port layer container) at now: "Up 5 minutes" (with its health
 * check's status: "Up 5 minutes (healthy)", "(health: starting)"), "Exited (3) 2
 * hours ago", or "Created" for one without a start time: never started, or powered on but
 * not started yet (the run block), never an uptime counted from year 1. */
void engine_container_status(const json_t *c, time_t now, char *out, size_t cap);

/* ps's entry for the port layer container c at now (a new reference). */
json_t *engine_container_summary(const json_t *c, time_t now);

/* The filters docker ps takes. */
extern const char *const engine_ps_filters[];

enum engine_ps_how {
    ENGINE_PS_NAME,   /* a substring of the name (a leading '/' of the value ignored) */
    ENGINE_PS_ID,     /* a prefix of the id */
    ENGINE_PS_STATUS, /* the whole state ("running" also matches a container still starting) */
};

/* Whether any of a filter's values (an array; NULL: no filter) matches s. */
int engine_ps_match(const json_t *values, const char *s, int how);

/* Whether every label filter value ("KEY", or "KEY=VALUE") holds of labels (Docker ands
 * them). */
int engine_ps_labels_match(const json_t *values, const json_t *labels);

/* 0 when filters (engine_filters' object, any keys; NULL: none) are docker ps's with
 * values it takes; otherwise VIC_EINVAL with Docker's message: "invalid filter 'x'" for an
 * unknown filter, "invalid filter 'status=x'" for a bad value of status, health, is-task,
 * exited, publish or expose. */
int engine_ps_check(const json_t *filters, vic_err **err);

/* A ps query: the filters, and what their values name, looked up in the port layer. */
typedef struct engine_ps_query {
    const json_t *filters;   /* checked (engine_ps_check), or NULL */
    const json_t *ancestors; /* the ids of the images the ancestor values name */
    int64_t before_ns;       /* before: when its container was created (0: no filter) */
    int64_t since_ns;        /* since: likewise */
} engine_ps_query;

/* Whether the port layer container x (rec: its record, engine_record_of, or NULL) passes
 * q's filters: name (a substring), id (a prefix), status, label (every value), exited (the
 * exit code of an exited one), ancestor (the image by id, or by the name it was created
 * with), before and since (created before / after), volume (a volume's name or its mount
 * point), network (a network's name or an id prefix), publish and expose (a port, range or
 * port/protocol), health (starting, healthy, unhealthy: the health check's status; none
 * without one), is-task (false) and
 * isolation (default). Values of one key are or'ed, but label's. */
int engine_ps_wanted(const engine_ps_query *q, const json_t *x, const json_t *rec);

/* Nanoseconds since the epoch of an RFC 3339 time ("2026-12-07T11:00:00.123Z"); 0 for none,
 * Go's zero time included. */
int64_t engine_time_ns(const char *rfc3339);

/* The port layer's spec for a Docker create body b (name: the ?name= argument, or NULL):
 * image, env, cmd, entrypoint, tty, interactive, workdir, user, hostname, stop_signal,
 * cap_add, cap_drop, security_opt, networks, mounts, ports, memory_mb, cpus (NanoCpus),
 * mac_address. *out is a new reference; what cannot be honoured is VIC_EINVAL (400) or
 * VIC_EUNSUPPORTED (501) saying why. The create handler checks b first
 * (engine_hostconfig_check, engine_config_check) and completes the spec with the record of
 * b and its image (inspect.h: the merged entrypoint and command, the annotations). */
int engine_container_spec(const json_t *b, const char *name, json_t **out, vic_err **err);

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
int engine_container_pause_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                   vic_err **err);
int engine_container_unpause_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                     vic_err **err);
int engine_container_update_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
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
