/*
 * server.h - port-layer-server's API: the port layer's containers (and, with an image store,
 * its images) as JSON over HTTP, for the Docker personality of the same VCH. Every route but
 * GET /version needs `Authorization: Bearer <the VCH's port layer token>`.
 */
#ifndef VIC_PL_SERVER_H
#define VIC_PL_SERVER_H

#include "lib/http.h"
#include "portlayer/containers.h"
#include "portlayer/healthmon.h"
#include "portlayer/imagestore.h"
#include "portlayer/networks.h"
#include "portlayer/registry.h"
#include "portlayer/volumes.h"

typedef struct pl_server_ctx {
    pl *port;
    const char *token; /* the shared secret callers present */
    /* builds a root disk for an image reference, owners written through ids; NULL until an
     * image store is attached */
    int (*rootfs_for)(const char *image, const char *dir, const pl_idmap *ids, void *payload,
                      vic_err **err);
    void *rootfs_payload;
    pl_imagestore *images;        /* NULL: no image routes */
    pl_registry_options registry; /* for pulls */
    pl_volumes *volumes;          /* the VCH's volume stores (possibly none); NULL: no routes */
    pl_networks *networks;        /* the VCH's networks; NULL: containers get none */
    struct pl_dns *dns;           /* their name server, told of new networks; may be NULL */
    pl_healthmon *health;         /* the health checker; may be NULL (no health events) */
} pl_server_ctx;

/* A rootfs_for that builds from ctx->images (payload: the pl_server_ctx). */
int pl_server_rootfs_from_store(const char *image, const char *dir, const pl_idmap *ids,
                                void *payload, vic_err **err);

/* The pl_removed_fn of the auto-remove reaper (payload: the pl_server_ctx): the removed
 * container's anonymous volumes go with it, as docker rm -v takes them. */
void pl_server_autoremoved(const json_t *container, void *payload);

/* The largest archive PUT /containers/{id}/archive takes (spooled to a temporary file). */
#define PL_MAX_ARCHIVE_BODY ((size_t)2 << 30)

extern const vic_http_route pl_routes[];
extern const size_t pl_n_routes;

/* The vic_http_auth_fn of the routes above (payload: a pl_server_ctx). */
int pl_server_auth(vic_http_req *req, const vic_http_route *route, void *payload, vic_err **err);

extern const char pl_openapi_json[];

#endif
