/*
 * unserved.h - the Docker routes of features a VCH does not serve (swarm mode, plugins, build
 * sessions, registry lookups for services), answered as Docker Engine answers when the
 * feature is off, so that clients see a state they know rather than a broken daemon: swarm
 * routes get 503 "This node is not a swarm manager..." (leave: "This node is not part of a
 * swarm"), plugins are an empty list and each named one is not found, and what would need the
 * feature (swarm init and join, plugin install, BuildKit sessions, distribution lookups)
 * answers 501 with the reason.
 */
#ifndef VIC_PERSONALITY_UNSERVED_H
#define VIC_PERSONALITY_UNSERVED_H

#include "lib/http.h"

/* Docker's answers (moby's daemon/cluster) for a node outside any swarm. */
#define ENGINE_NO_SWARM_MANAGER                                                                    \
    "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to "     \
    "connect this node to swarm and try again."
#define ENGINE_NO_SWARM "This node is not part of a swarm"

/* Plugin and distribution paths carry names with slashes ("vieux/sshfs:latest"), which a
 * route pattern cannot match: /plugins/NAME/... becomes /plugins/named and
 * /distribution/NAME/json /distribution/inspect, with the name as an argument (a prepare
 * step, like engine_images_rewrite). */
void engine_unserved_rewrite(vic_http_req *req);

/* payload: engine_ctx (unused) */
/* 503 ENGINE_NO_SWARM_MANAGER: the swarm, node, service, task, secret and config routes. */
int engine_no_swarm_handler(vic_http_req *req, vic_http_resp *resp, void *payload, vic_err **err);
/* 503 ENGINE_NO_SWARM: leaving a swarm this node is not in. */
int engine_swarm_leave_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                               vic_err **err);
/* GET /plugins: no plugins, an empty list. */
int engine_plugin_list_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                               vic_err **err);
/* /plugins/named: 404 plugin "NAME" not found (Docker's message for a name it does not
 * have). */
int engine_plugin_named_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                vic_err **err);

#endif
