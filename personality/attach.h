/*
 * attach.h - Docker's attach over the port layer's interactive channel.
 *
 * `POST /containers/{id}/attach` answers the docker CLI with a hijack at once (the CLI
 * attaches before it starts the container), then takes the container's channel from the port
 * layer as soon as the container runs (POST /containers/{id}/attach there, retried while it
 * answers 409), sends what the client typed meanwhile, its terminal size and READY, and
 * relays: the client's bytes become STDIN frames (its end of input a CLOSE frame), STDOUT and
 * STDERR frames become Docker's stream (raw with a terminal, multiplexed without), and the
 * EXIT frame ends the connection. A start while an attach waits for its container asks the
 * port layer for VIC's run block, so no output is missed. Resizes go over the attach
 * connection as RESIZE frames (the channel has one holder: the attach). The stream itself is
 * stream.h's, shared with exec.
 */
#ifndef VIC_ENGINE_ATTACH_H
#define VIC_ENGINE_ATTACH_H

#include "lib/http.h"
#include "personality/common.h"

/* Whether an attach of this server waits for container id (full id) to start. */
int engine_attach_pending(engine_ctx *c, const char *id);

/* The routes' handlers (payload: engine_ctx). */
int engine_attach_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int engine_resize_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

#endif
