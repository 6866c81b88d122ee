/*
 * ports.h - published ports between Docker's shapes and the port layer's: a create's
 * HostConfig.PortBindings (and -P with ExposedPorts) into the port layer's "ports", and a
 * container's ports back into inspect's NetworkSettings.Ports and ps's Ports.
 *
 * A VCH publishes ports on its own address: a binding to another host address is refused,
 * and so is UDP (the VCH's port forwards carry TCP).
 */
#ifndef VIC_PERSONALITY_PORTS_H
#define VIC_PERSONALITY_PORTS_H

#include <jansson.h>

#include "lib/err.h"

/* The port layer's "ports" for a Docker create body (a new reference, possibly empty). */
int engine_create_ports(const json_t *body, json_t **out, vic_err **err);

/* {"80/tcp": [{"HostIp", "HostPort"}]} from a port layer container (new reference). */
json_t *engine_port_map(const json_t *pl_container);

/* ps's [{"IP", "PrivatePort", "PublicPort", "Type"}] (new reference). */
json_t *engine_port_list(const json_t *pl_container);

#endif
