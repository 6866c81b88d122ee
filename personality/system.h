/*
 * system.h - Docker's system routes: /_ping, /version and /info (the VCH and its containers).
 */
#ifndef VIC_PERSONALITY_SYSTEM_H
#define VIC_PERSONALITY_SYSTEM_H

#include "lib/http.h"

/* payload: engine_ctx */
int engine_ping_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int engine_version_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
int engine_info_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

#endif
