/*
 * events.h - `docker events` over the port layer's container events: create, start, die
 * (with exitCode) and destroy, in Docker's message format, with since/until and the type,
 * event, container and image filters. Other object types (images, volumes, networks) have no
 * events here: a filter asking only for them gets none.
 */
#ifndef VIC_PERSONALITY_EVENTS_H
#define VIC_PERSONALITY_EVENTS_H

#include "lib/http.h"

int engine_events_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);

#endif
