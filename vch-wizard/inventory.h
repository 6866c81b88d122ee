/*
 * inventory.h - a target's inventory as VCH validation sees it (vch-wizard/spec.h's ops
 * table), read from a connected hypervisor driver: compute resources, resource pools,
 * datastores and networks, in one snapshot taken when it is made.
 *
 * Paths name pools as vSphere prints them; a compute resource (a cluster or a standalone
 * host) stands for its root pool "PATH/Resources". An object may also be named by its name
 * alone when that is unique on the target. Without a compute resource in the spec, a target
 * with exactly one compute resource uses its root pool; with several, the spec must say.
 */
#ifndef VIC_VCH_INVENTORY_H
#define VIC_VCH_INVENTORY_H

#include "hypervisor/hv.h"
#include "lib/err.h"
#include "vch-wizard/spec.h"

typedef struct vch_inventory vch_inventory;

/* Reads the inventory of the target hv is connected to (named target in messages). */
int vch_inventory_new(vch_inventory **out, hv_conn *hv, const char *target, vic_err **err);
void vch_inventory_free(vch_inventory *inv);

/* The ops table over the snapshot; borrowed, valid until vch_inventory_free. */
const vch_spec_inventory *vch_inventory_spec(const vch_inventory *inv);

#endif
