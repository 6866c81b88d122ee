/*
 * inventory.h - the embedded local target as self-provisioning presents it: the inventory a
 * VCH spec is checked against (vch-wizard/spec.h's ops table), described the way an ESX host
 * would present it, without asking the driver.
 */
#ifndef VIC_SP_INVENTORY_H
#define VIC_SP_INVENTORY_H

#include "vch-wizard/spec.h"

/* The local target: datacenter ha-datacenter, compute resource /ha-datacenter/host/local,
 * root pool /ha-datacenter/host/local/Resources, datastore datastore1, networks "VM Network"
 * (public) and "bridge". Static; never freed. */
const vch_spec_inventory *sp_inventory_local(void);

#endif
