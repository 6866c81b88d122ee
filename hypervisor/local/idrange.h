/*
 * idrange.h - the host-wide registry of containerVMs' id ranges (local target).
 *
 * Each containerVM gets a range of HV_LOCAL_GUEST_ID_COUNT host ids of its own: range n
 * (1..HV_LOCAL_GUEST_ID_RANGES-1) is host ids idrange_base(n).. ; its guest's ids 0..65535
 * are those host ids, so no two containers (of any VCH, under any $VIC_HOME) share an owner.
 * Range 0 (HV_LOCAL_GUEST_ID_BASE) is the one VMs created before per-VM ranges share.
 *
 * The registry is a directory (IDRANGE_DIR, or $VIC_IDRANGE_DIR) holding one record file per
 * range in use, "<n>", created exclusively under the registry's lock, whose two lines name
 * the VM folder (final) and the folder it is built in (tmp). The VM's .vmx names its range
 * (vic.idRange). A record is in use while its tmp folder exists (a create in progress: the
 * rename to final is atomic) or final's .vmx names the range; any other record (a create or
 * destroy killed at any instant) is stale, and the next allocation takes it back. So a kill
 * -9 never leaks a range for good nor gives one to two VMs.
 */
#ifndef VIC_LOCAL_IDRANGE_H
#define VIC_LOCAL_IDRANGE_H

#include <stdint.h>

#include "lib/err.h"

#define IDRANGE_DIR       "/var/lib/vic-c/idranges"
#define VMX_IDRANGE       "vic.idRange"
#define VMX_IDRANGE_OWNER "vic.idRange.owner" /* the record's tmp line: whose range it is */

/* The first host id of range n. */
uint32_t idrange_base(int n);

/* The range a VM's configuration names (VMX_IDRANGE), 0 when it names none or a bad one. */
int idrange_of_vmx(const char *value);

/* Allocates a free range for the VM built in tmp_dir and renamed to final_dir (real paths).
 * VIC_ELIMIT when every range is in use, VIC_EIO when the registry cannot be used. */
int idrange_alloc(int *out, const char *final_dir, const char *tmp_dir, vic_err **err);

/* Frees range n when its record is still the one allocated with tmp_dir (the VM's
 * VMX_IDRANGE_OWNER): a record taken back as stale and given to another VM stays. */
void idrange_free(int n, const char *tmp_dir);

#endif
