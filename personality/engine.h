/*
 * engine.h - docker-engine-server: the Docker Engine API a VCH offers the docker CLI, built
 * on the VCH's port layer (reached over its HTTP API). Requests may name an API version
 * (/v1.41/...): between VIC_API_MIN and VIC_API_MAX they are served, newer ones are refused
 * with Docker's message. What a VCH cannot do answers 501 with the reason.
 */
#ifndef VIC_ENGINE_H
#define VIC_ENGINE_H

#include <time.h>

#include "lib/http.h"
#include "lib/httpc.h"

#define VIC_API_MIN "1.19"
#define VIC_API_MAX "1.41"

/* How long a request waits for a port layer that refuses connections (vic-init restarts a
 * port layer that died within about a second) before it fails with 502, naming it. */
#define ENGINE_PL_RESTART_WAIT_MS 5000
#define ENGINE_PL_NAME            "the port layer"

typedef struct engine_ctx {
    vic_httpc *pl;        /* the port layer */
    const char *vch_name; /* shown by docker info */
    const char *version;  /* the server version */
} engine_ctx;

extern const vic_http_route engine_routes[];
extern const size_t engine_n_routes;

/* Strips and checks the /vX.Y prefix (a vic_http_prepare_fn; payload: engine_ctx). */
int engine_prepare(vic_http_req *req, void *payload, vic_err **err);

/* The port layer path of the container the request's {id} names, with suffix, or NULL (err
 * set, VIC_ENOTFOUND) when the name cannot be a container's. */
char *engine_pl_path(vic_http_req *req, const char *suffix, vic_err **err);

/* Docker's filters query parameter as {key: [values]} (the older {key: {value: true}} form
 * too) into *out (NULL without filters); a key outside allowed (NULL-terminated; NULL: any)
 * is refused with the list of those that work. */
int engine_filters(vic_http_req *req, const char *const *allowed, json_t **out, vic_err **err);

/* docker ps's Status of c (a port layer container) at now: "Up 5 minutes", "Exited (3) 2
 * hours ago", or "Created" for one without a start time: never started, or powered on but
 * not started yet (the run block), never an uptime counted from year 1. */
void engine_container_status(const json_t *c, time_t now, char *out, size_t cap);

/* s with every byte but unreserved ones percent-encoded, for a query value; caller frees. */
char *engine_url_escape(const char *s);

/* docker top (personality/top.c). */
int engine_top_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

/* TLS client verification happens in the transport; the API itself has no other login. */
int engine_auth(vic_http_req *req, const vic_http_route *route, void *payload, vic_err **err);

#endif
