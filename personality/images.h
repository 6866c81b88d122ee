/*
 * images.h - Docker's image routes over the port layer's image store: list, pull (its
 * progress streamed as the port layer makes it), inspect, history, tag and remove; build is
 * refused with the way to do it.
 *
 * Image names carry slashes ("127.0.0.1:5000/busybox:latest"), which a route pattern cannot
 * match: engine_prepare (engine_images_rewrite) turns DELETE /images/NAME, GET
 * /images/NAME/json, GET /images/NAME/history and POST /images/NAME/tag into /images/rmi,
 * /images/inspect, /images/history and /images/tag with the name as the "name" argument. References
 * on Docker Hub are shown the way docker shows them ("busybox:latest", not
 * "docker.io/library/busybox:latest").
 */
#ifndef VIC_PERSONALITY_IMAGES_H
#define VIC_PERSONALITY_IMAGES_H

#include <jansson.h>

#include "lib/http.h"

/* Rewrites an image route whose path names an image (see above); other requests are left
 * as they are. */
void engine_images_rewrite(vic_http_req *req);

/* ref as docker shows it: "docker.io/library/x:t" as "x:t", "docker.io/o/x:t" as "o/x:t";
 * other registries' references unchanged. Caller frees. */
char *engine_image_familiar(const char *ref);

/* Replaces each string of arr with its familiar form (engine_image_familiar). */
void engine_image_familiar_all(json_t *arr);

int engine_image_inspect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                 vic_err **err);
int engine_image_history_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                 vic_err **err);
int engine_image_tag_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int engine_image_list_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int engine_image_pull_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int engine_image_remove_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                vic_err **err);
int engine_image_build_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                               vic_err **err);

/* GET /images/get?names=A&names=B (and GET /images/NAME/get): the images as one
 * docker-archive tar, relayed from the port layer as it streams; a missing image is a 404
 * before the archive starts. */
int engine_image_save_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

/* POST /images/load: a docker-archive tar (spooled) loaded by the port layer; Docker's JSON
 * lines {"stream": "Loaded image: TAG\n"}. */
int engine_image_load_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

/* POST /images/NAME/push?tag=T (rewritten to /images/push with name=): the port layer
 * pushes with the client's X-Registry-Auth; Docker's progress lines are relayed as they
 * come, an error as an errorDetail line. */
int engine_image_push_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

/* POST /auth (docker login): {"username", "password", "serveraddress"} checked against the
 * registry by the port layer; {"Status": "Login Succeeded", "IdentityToken": ""} or 401 with
 * the registry's reason. The VCH keeps nothing: the CLI sends X-Registry-Auth with each
 * pull and push, which goes on to the port layer as it came. */
int engine_auth_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

/* "X-Registry-Auth: VALUE" of the request, for the port layer, or NULL; a secret (free with
 * vic_free_secret). */
char *engine_registry_auth_header(vic_http_req *req);

#endif
