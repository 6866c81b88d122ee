/*
 * netdev.h - the local host's virtual NICs and port groups.
 *
 * A containerVM's NIC on a port group other than "VM Network" (the host's own network, which
 * only the appliance uses) is a macvlan device (bridge mode) that the guest sees as ethN in
 * its network namespace. Its lower device is the segment: a Linux bridge without ports, one
 * per (home, pool, port group, gateway subnet), so each VCH's pool and each of its networks
 * (a docker network has a subnet of its own) switch apart, as VLANs of one port group would.
 * Macvlans of one lower reach each other directly: their frames never pass the host's bridge
 * netfilter or FORWARD chain, so a host firewall (Docker's FORWARD DROP, say) leaves them
 * alone. The host answers on a segment at the NIC's gateway address ("ethernetN.gateway" in
 * the .vmx) through a macvlan of its own on the segment, like a host-only network's host
 * adapter: the VCH's services (DNS) reach its containers there.
 *
 *   .vmx keys read:  ethernetN.networkName, ethernetN.gateway ("10.1.0.1/24")
 *   host names:      segment "vb" + 12 hex digits, its host adapter "vg" + the same digits
 *   records:         $home/netdevs/<segment> (pool, port group, subnet) and
 *                    $home/netdevs/<segment>.users/<monitor pid>, one per powered-on VM with a
 *                    NIC there
 *
 * A guest's macvlan goes with its network namespace when the guest ends. A segment whose
 * users are all gone (their monitors exited, or were killed with -9) is swept when a
 * connection to the local host opens or closes, and (all of a pool's) when the pool is
 * destroyed; not at each power off, so that a host adapter's address does not come and go
 * with every container (programs watching the host's addresses see each as a network
 * change). Plugging and sweeping hold $home/netdevs/.lock, so a sweep never removes
 * a segment a power on is plugging into.
 */
#ifndef VIC_LOCAL_NETDEV_H
#define VIC_LOCAL_NETDEV_H

#include <jansson.h>
#include <sys/types.h>

#include "lib/err.h"

/* Plugs every bridged NIC of the VM (its .vmx keys kv) into its segment (made when missing,
 * with its host adapter at the gateway address) as ethN in the network namespace of process
 * guest, and records the calling monitor as a user of the segment. home is the real path of
 * $VIC_HOME. */
int netdev_plug(const char *home, const char *vm, const json_t *kv, pid_t guest, vic_err **err);

/* After the guest ended: drops the calling monitor's use of its segments. Never fails. */
void netdev_unplug(const char *home, const char *vm, const json_t *kv);

/* Removes recorded segments of home that no running VM uses; pool non-NULL limits it to the
 * segments of that pool (and removes them even in use: the pool is going away). */
void netdev_sweep(const char *home, const char *pool);

#endif
