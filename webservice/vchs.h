/*
 * vchs.h - the VCH lifecycle routes (vic-machine-server's paths) and task progress streams,
 * over the engine in vch-wizard/vch.h. Creates and deletes run on threads of their own; their
 * progress is recorded in the task store, so a stream replays it from the start to a late
 * subscriber, and a task interrupted by a crash is converged at the next start.
 */
#ifndef VIC_WEBSERVICE_VCHS_H
#define VIC_WEBSERVICE_VCHS_H

#include "lib/http.h"
#include "webservice/service.h"

int ws_vch_list(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_vch_create(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_vch_inspect(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_vch_configure(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_vch_delete(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_vch_certificate(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_vch_log(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_task_get(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_task_events(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

/* 1 when t names one of the vSphere targets the service was started with. */
int ws_vsphere_target(const ws *w, const char *t);

/* Starts a create task for an already validated spec on a thread (self-provisioning uses
 * it with the token's jti as created_by and its record's id as the VCH's uid). *out is
 * {id, task, ...}. */
int ws_vch_start_create(ws *w, const json_t *spec, const char *created_by, const char *uid,
                        json_t **out, json_t **problems, vic_err **err);

/* Converges interrupted tasks now and then every few seconds, until ws_vch_stop, which
 * returns how many task threads still run (their work is converged at the next start). */
void ws_vch_start(ws *w);
int ws_vch_stop(ws *w);

/* Waits until no task or stream thread runs (ws_free does, before closing the engine). */
void ws_vch_wait_idle(void);

#endif
