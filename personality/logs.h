/*
 * logs.h - `docker logs` over the port layer's log stream: stdout and stderr, follow (until
 * the container stops, or the client leaves), since and until, timestamps and tail, each
 * alone or together, in Docker's stream (multiplexed without a terminal, raw with one).
 */
#ifndef VIC_PERSONALITY_LOGS_H
#define VIC_PERSONALITY_LOGS_H

#include <stdbool.h>

#include "lib/http.h"

/* Docker's logs query, checked: the port layer's path suffix for it in *suffix (caller
 * frees), whether the client asked for timestamps. VIC_EINVAL names the bad parameter. */
int engine_logs_query(vic_http_req *req, char **suffix, bool *timestamps, vic_err **err);

int engine_container_logs_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err);

#endif
