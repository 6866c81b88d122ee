/*
 * netlink.h - the few rtnetlink requests VIC-C makes: bridges and macvlans for the local
 * host's port groups (the VM monitor), addresses and the default route inside a guest (the
 * tether). Raw rtnetlink over an AF_NETLINK socket: both users are static binaries that stay
 * resident beside every running containerVM, so they carry no netlink library.
 *
 * Every call acts in the caller's network namespace, opens its own socket, waits for the
 * kernel's answer and maps a refusal onto lib/err.h (EPERM: VIC_EFORBIDDEN, naming the
 * operation, so that a host that does not let us create bridges says so).
 */
#ifndef VIC_NETLINK_H
#define VIC_NETLINK_H

#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* "10.1.0.5/24" into a host-order address and prefix length; -1 when malformed. */
int vic_cidr_parse(const char *s, uint32_t *addr, int *prefix);

/* The host-order netmask of a prefix length (0..32). */
uint32_t vic_cidr_mask(int prefix);

/* Creates bridge `name` when missing and brings it up. */
int vic_nl_bridge_ensure(const char *name, vic_err **err);

/* "02:42:0a:01:00:05" (hex digits of either case) into out: 0, or -1 when s is not six
 * colon-separated bytes or is a multicast (group) address. */
int vic_mac_parse(const char *s, unsigned char out[6]);

/* A MAC address for the IPv4 address ip ("10.1.0.5" or "10.1.0.5/24"), as Docker makes one:
 * 02:42 (locally administered, unicast) and the address's four bytes, into out. Returns 0,
 * or -1 (out "") when ip is not an IPv4 address. */
int vic_mac_of_ip(const char *ip, char out[18]);

/* Creates macvlan device name (bridge mode) on lower, in the network namespace of process
 * ns_pid (0: ours), with MAC address mac (vic_mac_parse's form; NULL: a random one). Macvlans
 * of one lower reach each other directly, without passing the host's bridge netfilter or
 * FORWARD chain. VIC_ECONFLICT when name exists there. */
int vic_nl_macvlan_add(const char *lower, const char *name, pid_t ns_pid, const char *mac,
                       vic_err **err);

/* Adds cidr ("10.1.0.1/24") to ifname; present already is not an error. */
int vic_nl_addr_add(const char *ifname, const char *cidr, vic_err **err);

/* Brings ifname up. */
int vic_nl_link_up(const char *ifname, vic_err **err);

/* Deletes ifname; missing is not an error. */
int vic_nl_link_del(const char *ifname, vic_err **err);

/* Renames network device from to to, bringing it down first (the kernel renames only a
 * device that is down; its routes go with that). */
int vic_nl_link_rename(const char *from, const char *to, vic_err **err);

/* Makes the default route go through gateway (an IPv4 address) on ifname, in place of any
 * default route there was. */
int vic_nl_route_default(const char *ifname, const char *gateway, vic_err **err);

#endif
