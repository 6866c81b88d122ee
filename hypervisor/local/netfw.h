/*
 * netfw.h - what a containerVM on a local bridge segment may reach on the host.
 *
 * Without a firewall a container reaches, through its segment's host adapter, every host
 * service listening on a wildcard address, every other segment's gateway (another VCH's name
 * server) and, where the host forwards, other segments' containers. VIC-C keeps a table of
 * its own, "table inet vic_c", and never touches any other:
 *
 *   set segments   the host adapters ("vg" + 12 hex digits) of the segments VIC-C made
 *   chain input    (hook input)   packets arriving on one of them go to chain segment
 *   chain segment  accepts, over IPv4 and to an address of the adapter the packet came in on
 *                  (its segment's gateway), replies to connections the host opened (and ICMP
 *                  errors about them) and DNS (udp and tcp 53, the port layer's name server);
 *                  drops everything else, so the host's other services (127.x included) and
 *                  other segments' gateways are out of reach
 *   chain forward  (hook forward) drops every packet in or out of those adapters: segments
 *                  never route to each other or anywhere else
 *
 * Containers of one segment reach each other directly (macvlans of one lower device), and a
 * published port is carried by the monitor from a host socket to one inside the guest's
 * network namespace: neither passes the host's filter hooks. A segment's rules are the one
 * element of the set named after its adapter; the chains are rewritten (one transaction)
 * each time an element is added, so that they heal. Adding and removing an element are
 * idempotent.
 *
 * Built on libnftables, a shared library: the statically linked monitor does not use this;
 * the host side (local.c, netseg.c) does.
 */
#ifndef VIC_LOCAL_NETFW_H
#define VIC_LOCAL_NETFW_H

#include "lib/err.h"

#define NETFW_TABLE "vic_c"

/* Makes sure the rules for the segment whose host adapter is adapter are in place (the table
 * and chains too). VIC_EUNSUPPORTED when nftables cannot be used here (its message says
 * why); another code for a failure of the rules themselves. */
int netfw_segment_add(const char *adapter, vic_err **err);

/* Removes the segment's rules; 0 when they were not there. */
int netfw_segment_remove(const char *adapter, vic_err **err);

/* Whether containers on bridge segments are kept from the host here: 0 after making sure the
 * table and chains are in place, VIC_EUNSUPPORTED (with the reason) when they cannot be. */
int netfw_probe(vic_err **err);

#endif
