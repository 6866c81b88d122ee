/*
 * netdev.h - the local host's virtual NICs and port groups.
 *
 * A containerVM's NIC on a port group other than "VM Network" (the host's own network, which
 * only the appliance uses) is a veth pair: the guest sees ethN in its network namespace, the
 * host end is a port of a Linux bridge, the NIC's segment of the port group. A segment is one
 * bridge per (home, pool, port group, gateway subnet): each VCH's pool and each of its
 * networks (a docker network has a subnet of its own) switch apart, as VLANs of one port
 * group would. The host answers on a segment at the NIC's gateway address ("ethernetN.gateway"
 * in the .vmx), like a host-only network's host adapter: the VCH's services (DNS) reach its
 * containers there.
 *
 *   .vmx keys read:  ethernetN.networkName, ethernetN.gateway ("10.1.0.1/24")
 *   host names:      bridge "vb" + 12 hex digits, host end "vv" + 12 hex digits (hashes)
 *   records:         $home/netdevs/<bridge>, one per bridge made, so that a sweep finds
 *                    bridges left without ports (a monitor killed with -9) and removes them
 *
 * Bridge creation, plugging and sweeping hold $home/netdevs/.lock, so a sweep never removes a
 * bridge that a power on is about to plug into.
 */
#ifndef VIC_LOCAL_NETDEV_H
#define VIC_LOCAL_NETDEV_H

#include <jansson.h>
#include <sys/types.h>

#include "lib/err.h"

/* Plugs every bridged NIC of the VM (its .vmx keys kv) into its segment: the bridge (made
 * when missing, with the gateway address), and a veth whose guest end appears as ethN in the
 * network namespace of process guest. home is the real path of $VIC_HOME. */
int netdev_plug(const char *home, const char *vm, const json_t *kv, pid_t guest, vic_err **err);

/* Removes the VM's host ends (gone with the guest already, unless something holds its
 * namespace) and sweeps bridges left without ports. Never fails. */
void netdev_unplug(const char *home, const char *vm, const json_t *kv);

/* Removes recorded bridges of home that no NIC uses; pool_rel non-NULL limits it to the
 * bridges of that pool (and removes them even with ports: the pool is going away). */
void netdev_sweep(const char *home, const char *pool);

#endif
