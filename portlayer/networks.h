/*
 * networks.h - a VCH's container networks (VIC's scopes): the default "bridge", "none", and
 * user-defined bridge networks, each a subnet of the VCH's bridge range.
 *
 * The bridge range (e.g. 172.16.0.0/12) is cut into 16 equal subnets (at most /28): "bridge"
 * takes the first, a new network the first free one unless it asks for a subnet of its own
 * (inside the range, overlapping no other). A network's gateway (its first address unless
 * given) is where the VCH answers its containers: the DNS server (portlayer/dns.h) and, on
 * the local target, the host end of the network's segment.
 *
 * User-defined networks are records in the network folder (one JSON file each, written aside
 * and linked into place, so of two creates of one name exactly one succeeds and a crash leaves
 * a whole record or none). "bridge" and "none" are built in, with ids derived from the range,
 * so they are stable across restarts. Which containers use a network is read from the
 * containers' own configuration, never recorded here; addresses are allocated at container
 * create (portlayer/containers.c) from what the other containers hold.
 */
#ifndef VIC_PL_NETWORKS_H
#define VIC_PL_NETWORKS_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/err.h"

typedef struct pl_networks pl_networks;

/* range: the VCH's bridge range ("172.16.0.0/12"); dir: the record folder (made if missing). */
int pl_networks_open(pl_networks **out, const char *range, const char *dir, vic_err **err);
void pl_networks_free(pl_networks *n);

/* Docker's network name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 characters. */
bool pl_network_name_valid(const char *name);

typedef struct pl_network_spec {
    const char *name;
    const char *subnet;   /* "10.1.2.0/24", or NULL for the next free one */
    const char *gateway;  /* an address in the subnet, or NULL for its first */
    const json_t *labels; /* object of strings, or NULL */
    bool internal;
} pl_network_spec;

/* Creates a user-defined bridge network; *out (new reference, may be NULL) as pl_network_get.
 * VIC_ECONFLICT for a name in use or an overlapping subnet, VIC_EINVAL for a bad name,
 * subnet or gateway, VIC_ELIMIT when the range has no free subnet left. */
int pl_network_create(pl_networks *n, const pl_network_spec *spec, json_t **out, vic_err **err);

/* {id, name, driver ("bridge" or "null"), subnet, gateway, prefix, created_at, labels,
 * internal, builtin}; ref is a name, an id or a unique id prefix. VIC_ENOTFOUND otherwise. */
int pl_network_get(pl_networks *n, const char *ref, json_t **out, vic_err **err);

/* Every network, built-in ones first. */
int pl_network_list(pl_networks *n, json_t **out, vic_err **err);

/* Deletes a user-defined network (the caller has checked that no container uses it).
 * VIC_EFORBIDDEN for a built-in one. */
int pl_network_remove(pl_networks *n, const char *ref, vic_err **err);

/* The range the networks share. */
const char *pl_networks_range(const pl_networks *n);

#endif
