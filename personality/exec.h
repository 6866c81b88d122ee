/*
 * exec.h - Docker's exec over the port layer's exec channel (hv_vm_exec underneath).
 *
 * `POST /containers/{id}/exec` records an exec instance (in this process's memory, as
 * dockerd keeps them) for a running container; `POST /exec/{id}/start` opens the port
 * layer's channel (so a stopped container or a refused program is an HTTP error, not a
 * broken stream), sends the EXEC spec and, attached, answers the docker CLI with a hijack
 * that relays the program's stdin, output (raw with a terminal, multiplexed without) and its
 * end; detached, a thread of its own waits for the end. The exit code is recorded before
 * the stream closes, so the CLI's `GET /exec/{id}/json` that follows reads it. The
 * instances live in the server's engine_ctx; the stream is stream.h's, shared with attach.
 */
#ifndef VIC_PERSONALITY_EXEC_H
#define VIC_PERSONALITY_EXEC_H

#include "lib/http.h"
#include "personality/common.h"

/* Frees c's exec instances (those a detached run still follows stay), when the server has
 * stopped. */
void engine_exec_free_all(engine_ctx *c);

/* The routes' handlers (payload: engine_ctx). */
int engine_exec_create_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                               vic_err **err);
int engine_exec_start_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int engine_exec_inspect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                vic_err **err);
int engine_exec_resize_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                               vic_err **err);

#endif
