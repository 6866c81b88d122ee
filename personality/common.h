/*
 * common.h - what every part of docker-engine-server shares: the request context (engine_ctx,
 * the payload of every route) and the helpers the handlers of several features use. Feature
 * modules include this header and their own; only routes.c knows every feature.
 */
#ifndef VIC_PERSONALITY_COMMON_H
#define VIC_PERSONALITY_COMMON_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#include "lib/http.h"
#include "lib/httpc.h"

#define VIC_API_MIN "1.19"
#define VIC_API_MAX "1.41"

/* How long a request waits for a port layer that refuses connections (vic-init restarts a
 * port layer that died within about a second) before it fails with 502, naming it. */
#define ENGINE_PL_RESTART_WAIT_MS 5000
#define ENGINE_PL_NAME            "the port layer"

struct engine_attach_session; /* attach.c */
struct engine_exec_inst;      /* exec.c */

/* The server's state, created by main (engine_ctx_init, engine_ctx_free in engine.h). */
typedef struct engine_ctx {
    vic_httpc *pl;        /* the port layer */
    const char *vch_name; /* shown by docker info */
    const char *version;  /* the server version */

    /* the attaches of this process, for start and resize (attach.c) */
    pthread_mutex_t sessions_lock;
    struct engine_attach_session *sessions;

    /* the exec instances, newest first (exec.c); execs_lock also guards writes to their
     * channels */
    pthread_mutex_t execs_lock;
    struct engine_exec_inst *execs;
    size_t n_execs;
} engine_ctx;

/* What a request names, for turning the port layer's errors into Docker Engine's
 * (engine_docker_err): Docker answers 404 only for a missing container, image, network or
 * volume, so whether a port layer 404 stays one depends on what the request is about. */
typedef enum engine_obj {
    ENGINE_OBJ_NONE,      /* no object by name (lists, creates): a 404 is about something the
                           * request refers to (a volume store), a bad parameter (400) */
    ENGINE_OBJ_CONTAINER, /* the object the request names: a 404 stays one */
    ENGINE_OBJ_IMAGE,
    ENGINE_OBJ_NETWORK,
    ENGINE_OBJ_VOLUME,
    ENGINE_OBJ_EXEC,
} engine_obj;

/* The vic_code whose HTTP status (vic_err_http_status) is the one Docker Engine answers when
 * the port layer failed with code on a request about obj: 404 (above), 409 for conflicts,
 * 400 for bad input (too big and wrong media type included), 501 for what is not
 * implemented, and 500 for everything else (the port layer unreachable, timed out, refusing
 * our token: Docker has no 502, 503 or 504 for these). */
int engine_docker_code(int code, engine_obj obj);

/* Turns the port layer's failure rc (its error in *err) into Docker's: the code of
 * engine_docker_code, and when name is given and the 404 stays, Docker's message for obj
 * ("No such container: NAME", "No such image: NAME", "network NAME not found",
 * "get NAME: no such volume", "No such exec instance: NAME"). Pass name only for a call
 * whose 404 can mean nothing but that object (its lookup, its removal). Returns the code. */
int engine_docker_err(int rc, engine_obj obj, const char *name, vic_err **err);

/* Docker's answer for a container create the port layer refused with rc: a 404 is "No such
 * image: IMAGE" (on which the docker CLI pulls and tries again) only when the port layer
 * indeed has no such image; with the image there, the 404 was about something the config
 * names (a volume store), a bad parameter (400), which the CLI shows at once. Returns the
 * code, *err holding the message. */
int engine_create_error(engine_ctx *c, const char *image, int rc, vic_err **err);

/* The port layer path of the container the request's {id} names, with suffix, or NULL (err
 * set, VIC_ENOTFOUND) when the name cannot be a container's. */
char *engine_pl_path(vic_http_req *req, const char *suffix, vic_err **err);

/* The container {id}: its port layer path (*path, caller frees) and description (*x). Streamed
 * answers look it up first, so that an unknown container is a 404, not a stream. */
int engine_container_lookup(engine_ctx *c, vic_http_req *req, char **path, json_t **x,
                            vic_err **err);

/* Docker's filters query parameter as {key: [values]} (the older {key: {value: true}} form
 * too) into *out (NULL without filters); a key outside allowed (NULL-terminated; NULL: any)
 * is refused with the list of those that work. */
int engine_filters(vic_http_req *req, const char *const *allowed, json_t **out, vic_err **err);

/* engine_filters on the parameter's text q (NULL or empty: no filters). */
int engine_filters_parse(const char *q, const char *const *allowed, json_t **out, vic_err **err);

/* s with every byte but unreserved ones percent-encoded, for a query value; caller frees. */
char *engine_url_escape(const char *s);

/* Whether query parameter v is set to true ("1", "true": anything but absent, "0", "false"). */
int engine_query_true(const char *v);

#endif
