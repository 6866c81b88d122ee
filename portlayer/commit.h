/*
 * commit.h - a container's changes as a new image (docker commit): one layer (the changes as
 * a tar, pl_changes_tar) and a config, both stored in the image store like a pulled image's.
 */
#ifndef VIC_PL_COMMIT_H
#define VIC_PL_COMMIT_H

#include <jansson.h>

#include "lib/err.h"
#include "portlayer/imagestore.h"

typedef struct pl_commit_opts {
    const char *parent;       /* the container's image (id or name in the store) */
    const char *root;         /* the container's root disk */
    const pl_idmap *ids;      /* the map the disk was built with (NULL: none) */
    const json_t *config;     /* the new image's "config" (Docker's: Cmd, Env, ...); NULL: {} */
    const char *author;       /* may be NULL */
    const char *comment;      /* may be NULL */
    const char *created_by;   /* the history's command; may be NULL */
    const char *container_id; /* recorded as the image's container */
    const char *ref;          /* a normalised tag to point at the image, or NULL */
} pl_commit_opts;

/* The media type of the layers commit makes: uncompressed, so its digest is its diff_id. */
#define PL_LAYER_TAR_MEDIA_TYPE "application/vnd.docker.image.rootfs.diff.tar"

/* Commits: the changes of o->root against o->parent's layers become a layer (none when there
 * are no changes: the history then says empty_layer, as Docker's does), the parent's config
 * with o's config, author, comment, created time, parent, container, history entry and diff_id
 * the new image's config, whose digest is its id. *out is the stored record
 * (pl_imagestore_add_image). The errors of pl_imagestore_inspect for the parent; VIC_EIO for
 * the disk or the store; nothing is listed unless all of it is stored. */
int pl_image_commit(json_t **out, pl_imagestore *s, const pl_commit_opts *o, vic_err **err);

#endif
