/*
 * engine.h - docker-engine-server: the Docker Engine API a VCH offers the docker CLI, built
 * on the VCH's port layer (reached over its HTTP API). Requests may name an API version
 * (/v1.41/...): between VIC_API_MIN and VIC_API_MAX they are served, newer ones are refused
 * with Docker's message. What a VCH cannot do answers 501 with the reason.
 *
 * This is the server's public entry (for main.c): the context, the route table and the
 * server's hooks. The handlers live in the feature modules (containers.c, images.c,
 * attach.c, exec.c, ...); routes.c gathers them.
 */
#ifndef VIC_ENGINE_H
#define VIC_ENGINE_H

#include "lib/http.h"
#include "personality/common.h"

/* Sets up c's port layer client (pl_url, token) and its state; the caller has set vch_name
 * and version. 0, or an error (a bad URL: VIC_EINVAL). */
int engine_ctx_init(engine_ctx *c, const char *pl_url, const char *token, vic_err **err);

/* Frees what engine_ctx_init set up, once the server has stopped. */
void engine_ctx_free(engine_ctx *c);

extern const vic_http_route engine_routes[];
extern const size_t engine_n_routes;

/* Strips and checks the /vX.Y prefix, and rewrites the routes whose path names an image (a
 * vic_http_prepare_fn; payload: engine_ctx). */
int engine_prepare(vic_http_req *req, void *payload, vic_err **err);

/* TLS client verification happens in the transport; the API itself has no other login. */
int engine_auth(vic_http_req *req, const vic_http_route *route, void *payload, vic_err **err);

#endif
