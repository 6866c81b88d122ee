/*
 * insight.h - per-container insight routes: a VCH's containers through its port layer.
 */
#ifndef VIC_WEBSERVICE_INSIGHT_H
#define VIC_WEBSERVICE_INSIGHT_H

#include "lib/http.h"
#include "webservice/service.h"

int ws_containers_list(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_container_get(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_container_stats(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_container_logs(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_container_stop(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_container_start(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int ws_container_remove(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

#endif
