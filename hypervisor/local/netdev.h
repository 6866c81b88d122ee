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
 *
 * Each segment has firewall rules (netfw.h) that keep its containers from the host's
 * services and from other segments. The monitor is linked statically and cannot make them,
 * so the host side does (netseg.c): before it starts a monitor, netdev_reserve() records the
 * VM's segments, a reservation of its own among their users ("<pid>-r<n>"), and their rules;
 * the monitor then plugs into segments that have their rules already, and
 * netdev_release() drops the reservation once the monitor has recorded itself. A sweep
 * removes an unused segment's link, then its rules, then its records, and makes sure the
 * rules of every segment in use are there: since a record is written before the rules and
 * the link, and removed after them, a process killed at any point leaves a record that the
 * next sweep converges (rules of a gone segment removed, a used segment's rules restored).
 */
#ifndef VIC_LOCAL_NETDEV_H
#define VIC_LOCAL_NETDEV_H

#include <jansson.h>
#include <net/if.h>
#include <sys/types.h>

#include "lib/err.h"

#define NETDEV_MAX_NICS 10

/* Locks $home/netdevs (made when missing); the descriptor to close, or -1 (errno). */
int netdev_lock(const char *home);

/* "$home/netdevs/NAME" + suffix (".users" and the like); caller frees. */
char *netdev_rec_path(const char *home, const char *name, const char *suffix);

/* The host adapter's name of segment seg ("vb..." -> "vg..."). */
void netdev_adapter_name(const char *seg, char out[IFNAMSIZ]);

/* The segment of NIC i of the VM (kv) into seg: 1 when the NIC is on a bridge port group
 * (and, with record, the segment's record and users folder written under the caller's
 * lock), 0 when it is not (no such NIC, or "VM Network"), VIC_EINVAL for a bad gateway. */
int netdev_nic_segment(const char *home, const json_t *kv, int i, int record, char seg[IFNAMSIZ],
                       vic_err **err);

/* Plugs every bridged NIC of the VM (its .vmx keys kv) into its segment (made when missing,
 * with its host adapter at the gateway address) as ethN in the network namespace of process
 * guest, and records the calling monitor as a user of the segment. home is the real path of
 * $VIC_HOME. */
int netdev_plug(const char *home, const char *vm, const json_t *kv, pid_t guest, vic_err **err);

/* While the guest runs, after its NICs changed from was to now (.vmx keys): deletes the
 * guest's devices of NICs that went, renames those that moved (ethI to ethJ, left down: the
 * guest brings them up as it configures them), plugs the new ones as netdev_plug does, and
 * drops the calling monitor's use of segments it no longer has a NIC on. A NIC is the same
 * in both when its port group, gateway and MAC address are. */
int netdev_replug(const char *home, const char *vm, const json_t *was, const json_t *now,
                  pid_t guest, vic_err **err);

/* After the guest ended: drops the calling monitor's use of its segments. Never fails. */
void netdev_unplug(const char *home, const char *vm, const json_t *kv);

/* ---- host side (netseg.c; not in the monitor) ---- */

/* Before a power on of the VM (kv): records its segments with a reservation of the caller's
 * and makes sure their firewall rules are in place. *token gets the reservation's name for
 * netdev_release. When the rules cannot be made (no nftables here), warns in the log and in
 * *unenforced (a message the caller frees; NULL when the rules are in place) and goes on:
 * the containers run, with their isolation from the host reported as not enforced. */
int netdev_reserve(const char *home, const json_t *kv, char **token, char **unenforced,
                   vic_err **err);

/* Drops the reservation token (freed) after the power on, whatever its outcome. */
void netdev_release(const char *home, const json_t *kv, char *token);

/* Removes recorded segments of home that no running VM uses (link, rules, then records);
 * pool non-NULL limits it to the segments of that pool (and removes them even in use: the
 * pool is going away). The rules of the segments kept are made sure of. */
void netdev_sweep(const char *home, const char *pool);

/* The prefix of segment names (hv_caps.bridge_prefix). */
#define NETDEV_SEGMENT_PREFIX "vb"

/* Whether this host lets us create segments: a probe bridge is made and removed, once per
 * process (a create on this host costs tens of milliseconds, and every VCH validation asks);
 * 0, or the reason (hv_caps.bridges_usable). */
int netdev_bridges_usable(vic_err **err);

#endif
