/*
 * dns.h - a VCH's name server for its containers: on each bridge network's gateway (UDP port
 * 53), the names of the running containers on that network answer with their address there:
 * the container's name, its hostname, the first 12 digits of its id and its aliases on the
 * network. Other names are NXDOMAIN (one label) or REFUSED (the VCH resolves only its own
 * containers' names); the containers' resolver points here (the tether writes resolv.conf).
 *
 * One thread serves every network. It binds each gateway with IP_FREEBIND, because on the
 * local target the address exists only while the network's segment does (a container of it
 * runs), and looks the network list over again each second, so a network created later is
 * served too. Names are read from the port layer's container list, at most once a second.
 */
#ifndef VIC_PL_DNS_H
#define VIC_PL_DNS_H

#include "lib/err.h"
#include "portlayer/containers.h"
#include "portlayer/networks.h"

typedef struct pl_dns pl_dns;

/* Starts serving on port (53 in a VCH). */
int pl_dns_start(pl_dns **out, pl *port, pl_networks *nets, int port_no, vic_err **err);
void pl_dns_stop(pl_dns *d);

/* Serves the networks, and answers from the containers, as they are now before returning (a
 * network was just created, a container joined or left one). */
void pl_dns_refresh(pl_dns *d);

/* The answer for a query: the addresses (network order) of name on network among containers
 * (the port layer's list of running containers); returns how many were written to addrs (at
 * most cap), or -1 when no container there has that name. */
int pl_dns_lookup(const json_t *containers, const char *network, const char *name, uint32_t *addrs,
                  size_t cap);

#endif
