/*
 * volumes.h - the port layer's volumes: named data disks in a VCH's volume stores.
 *
 * A volume store is a folder on a datastore, given to the port layer with its label
 * ("default" is the one `docker volume create` uses unless told otherwise). A volume is a
 * folder of its own in a store:
 *
 *   <store>/volumes/<name>/meta.json   {name, store, labels, options, anonymous, created}
 *   <store>/volumes/<name>/data/       the disk the containerVM mounts
 *
 * A volume appears whole or not at all: it is built in a temporary folder beside the others
 * and renamed into place (of two creates of one name exactly one rename succeeds), and a
 * removal renames it aside before deleting it. Leftovers of a crash in either are swept when
 * the stores are opened. Which containers use a volume is read from the containers' own
 * configuration (their mounts), never recorded here.
 */
#ifndef VIC_PL_VOLUMES_H
#define VIC_PL_VOLUMES_H

#include <jansson.h>
#include <stdbool.h>

#include "hypervisor/hv.h"
#include "lib/err.h"

typedef struct pl_volumes pl_volumes;

/* stores: "LABEL=[datastore] folder" entries (the folders exist: the VCH's create makes
 * them). No stores is valid: every call then says the VCH has none. */
int pl_volumes_open(pl_volumes **out, hv_conn *hv, const char *const *stores, size_t n,
                    vic_err **err);
void pl_volumes_free(pl_volumes *v);

/* Docker's volume name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+, at most 128 characters. */
bool pl_volume_name_valid(const char *name);

typedef struct pl_volume_spec {
    const char *name;      /* NULL: an anonymous volume with a random 64-hex-digit name */
    const char *store;     /* the store's label; NULL: "default" */
    const json_t *labels;  /* object of strings, or NULL */
    const json_t *options; /* object of strings, or NULL (VolumeStore and Capacity are VIC's) */
} pl_volume_spec;

/* Creates a volume; *out (new reference, may be NULL) describes it as pl_volume_get does.
 * VIC_ECONFLICT when the name exists, VIC_ENOTFOUND for an unknown store, VIC_EINVAL for a
 * bad name, label or option. */
int pl_volume_create(pl_volumes *v, const pl_volume_spec *spec, json_t **out, vic_err **err);

/* {name, store, driver "vsphere", mountpoint (datastore path of its disk), labels, options,
 * anonymous, created_at (RFC 3339)}. VIC_ENOTFOUND when there is no such volume. */
int pl_volume_get(pl_volumes *v, const char *name, json_t **out, vic_err **err);

/* Every volume of every store, by name. */
int pl_volume_list(pl_volumes *v, json_t **out, vic_err **err);

/* The datastore path of the volume's disk ("[datastore1] folder/volumes/NAME/data"), for a
 * containerVM's disk list; caller frees. */
int pl_volume_disk(pl_volumes *v, const char *name, char **out, vic_err **err);

/* Deletes the volume and its data (the caller has checked that no container uses it). */
int pl_volume_remove(pl_volumes *v, const char *name, vic_err **err);

#endif
