/*
 * imagearchive.h - docker save and docker load: images of the store as a docker-archive tar
 * (libarchive), and such a tar (from docker save, or skopeo's docker-archive) into the store.
 *
 * The archive written holds, for each image, its config as <hex>.json and each layer once as
 * <diff_id hex>/layer.tar (the uncompressed tar, checked against its diff_id), and a
 * manifest.json listing them:
 *   [{"Config": "<hex>.json", "RepoTags": ["busybox:latest"] | null, "Layers": [...]}]
 * The archive read may also have its files behind symlinks (Docker 25's OCI layout keeps
 * them under blobs/sha256/ and links the legacy names there) and compressed layers.
 */
#ifndef PL_IMAGEARCHIVE_H
#define PL_IMAGEARCHIVE_H

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"
#include "portlayer/imagestore.h"

/* The largest manifest.json or image config read from an archive. */
#define PL_ARCHIVE_MAX_JSON ((size_t)4 << 20)
/* The most files an archive may hold. */
#define PL_ARCHIVE_MAX_FILES 4096

/* Parses an archive's manifest.json: *out is an array of {"config": path, "repo_tags":
 * [familiar references], "layers": [paths]} with every path normalised (relative, no "..",
 * no empty or "." segment). VIC_EINVAL names what is wrong: not an array of objects, a
 * Config or Layers entry that is missing or not a string, a path leaving the archive, a
 * RepoTags entry that is not an image reference with a tag, an empty list. */
int pl_archive_manifest_parse(json_t **out, const char *body, size_t len, vic_err **err);

/* Called with each piece of the archive; returns 0 to go on. */
typedef int (*pl_archive_write_fn)(const void *data, size_t len, void *payload);

/* Writes the docker-archive of the images names finds (n of them; a tag names that tag, an
 * id or digest the image without tags) through fn. VIC_ENOTFOUND "No such image: NAME"
 * before anything is written; VIC_ECORRUPT for a stored layer whose content no longer
 * matches its diff_id; VIC_EUNAVAIL when fn stops. */
int pl_image_save(pl_imagestore *s, const char *const *names, size_t n, pl_archive_write_fn fn,
                  void *payload, vic_err **err);

/* Loads the docker-archive tar read from fd (plain or compressed) into the store: each
 * image's layers (verified against the config's diff_ids), its config and a schema2 manifest
 * made for it, then its tags. *out is an array of what docker load prints: "Loaded image:
 * TAG" for each tag, "Loaded image ID: sha256:..." for an image without one. VIC_EINVAL for a
 * malformed archive or manifest, a path outside the archive, a file named twice, a layer
 * whose content is not its diff_id, a count of layers other than the config's; VIC_ETOOBIG
 * past the limits above. Nothing is recorded for an image that fails; images before it
 * stay loaded. */
int pl_image_load(json_t **out, pl_imagestore *s, int fd, vic_err **err);

#endif
