/*
 * volumes.h - Docker's volume API over the port layer's volumes, and the translation of a
 * container create's volume requests (HostConfig.Binds, HostConfig.Mounts, Config.Volumes)
 * into the port layer's mounts.
 *
 * A VCH's volumes are data disks in its volume stores (driver "vsphere", as VIC named it);
 * `--opt VolumeStore=LABEL` picks a store other than "default". A container cannot bind a
 * path of the VCH's host: it is a VM, and the host's files are not its to see.
 */
#ifndef VIC_PERSONALITY_VOLUMES_H
#define VIC_PERSONALITY_VOLUMES_H

#include <jansson.h>

#include "lib/http.h"

/* The port layer's "mounts" for a Docker create body: [{volume?, target, read_only}], in the
 * order Docker applies them (Binds, then Mounts, then Config.Volumes not already mounted).
 * *out is a new reference (an empty array when none). VIC_EINVAL / VIC_EUNSUPPORTED name
 * the entry that cannot be honoured. */
int engine_create_mounts(const json_t *body, json_t **out, vic_err **err);

/* Docker's Mounts of an inspected container, from the port layer's description. */
json_t *engine_inspect_mounts(const json_t *pl_container);

/* Docker's Volume object of the port layer volume v (with UsageData when v lists its users);
 * a new reference. */
json_t *engine_volume_docker(const json_t *v);

int engine_volume_list_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                               vic_err **err);
int engine_volume_create_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                 vic_err **err);
int engine_volume_inspect_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                  vic_err **err);
int engine_volume_remove_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                 vic_err **err);
int engine_volume_prune_handler(vic_http_req *req, vic_http_resp *resp, void *payload,
                                vic_err **err);

#endif
