/*
 * networks.h - Docker's network API over the port layer's networks, and the translation of a
 * container create's network requests (HostConfig.NetworkMode, NetworkingConfig) into the
 * port layer's "networks".
 *
 * A VCH has the networks "bridge" (the default) and "none", and user-defined bridge networks
 * (`docker network create`), each a subnet of the VCH's bridge range; containers on one
 * network reach each other by name through the VCH's name server. "host" and
 * "container:NAME" cannot exist on a VCH: each container is a VM with a network stack of its
 * own; they are refused with that reason.
 */
#ifndef VIC_PERSONALITY_NETWORKS_H
#define VIC_PERSONALITY_NETWORKS_H

#include <jansson.h>

#include "lib/http.h"

/* The port layer's "networks" for a Docker create body, or NULL (*out) for the default
 * bridge. VIC_EINVAL / VIC_EUNSUPPORTED name what cannot be honoured. */
int engine_create_networks(const json_t *body, json_t **out, vic_err **err);

/* Docker's NetworkSettings.Networks of a container, from the port layer's description. */
json_t *engine_inspect_networks(const json_t *pl_container);

/* Docker's HostConfig.NetworkMode of a container: "default", "none" or a network's name. */
const char *engine_network_mode(const json_t *pl_container);

int engine_network_list_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                vic_err **err);
int engine_network_create_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err);
int engine_network_inspect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                   vic_err **err);
int engine_network_remove_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err);
int engine_network_prune_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                 vic_err **err);
/* connect and disconnect: a stopped container only (its VM's NICs change while it is off) */
int engine_network_connect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                   vic_err **err);
int engine_network_disconnect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                      vic_err **err);

#endif
