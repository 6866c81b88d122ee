/*
 * commit.c - a container's changes as a new image (see commit.h).
 *
 * Order of the steps, for crash safety: the layer's blob is written under a temporary name
 * and renamed once complete, then unpacked as a layer (renamed into place once complete),
 * then the config blob is stored, and only then is the image recorded in the index. A crash
 * at any point leaves at most blobs or a layer no image names, which the store's removal
 * paths treat like any other unreferenced content.
 */
#include "portlayer/commit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "lib/timefmt.h"
#include "portlayer/changes.h"
#include "portlayer/reference.h"
#include "portlayer/registry.h"

#define CONFIG_MAX (16u << 20)

static int to_blob(const void *data, size_t len, void *payload)
{
    return pl_blob_writer_write(payload, data, len, NULL) < 0 ? -1 : 0;
}

/* The changes as a stored layer: *diff_id (a digest, or "" without changes) and *size. */
static int commit_layer(pl_imagestore *s, const pl_commit_opts *o, char diff_id[72], uint64_t *size,
                        vic_err **err)
{
    diff_id[0] = '\0';
    *size = 0;
    json_t *layers cleanup_json = NULL, *changes cleanup_json = NULL;
    int rc = pl_imagestore_layers(&layers, s, o->parent, err);
    if (rc == 0)
        rc = pl_changes_compute(&changes, o->root, layers, o->ids, err);
    if (rc < 0 || json_array_size(changes) == 0)
        return rc;
    pl_blob_writer *w = NULL;
    if ((rc = pl_blob_writer_new(&w, s, NULL, -1, err)) < 0)
        return rc;
    rc = pl_changes_tar(o->root, changes, o->ids, to_blob, w, size, err);
    if (rc == VIC_EUNAVAIL) { /* the writer failed: say why */
        vic_err_free(err);
        rc = vic_err_set(err, VIC_EIO, "write the layer into the image store");
    }
    if (rc == 0)
        rc = pl_blob_writer_commit(w, err);
    if (rc == 0)
        snprintf(diff_id, 72, "%s", pl_blob_writer_digest(w));
    pl_blob_writer_free(w);
    if (rc == 0)
        rc = pl_imagestore_add_layer(NULL, s, diff_id, diff_id, err);
    return rc;
}

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_set_new(o, key, json_string(v));
    else
        json_object_del(o, key);
}

int pl_image_commit(json_t **out, pl_imagestore *s, const pl_commit_opts *o, vic_err **err)
{
    *out = NULL;
    json_t *parent cleanup_json = NULL;
    int rc = pl_imagestore_inspect(&parent, s, o->parent, err);
    if (rc < 0)
        return rc;
    const char *parent_id = vic_json_str(parent, "id");
    cleanup_free char *text = NULL;
    size_t len = 0;
    json_t *doc cleanup_json = NULL;
    if ((rc = pl_imagestore_read_blob(&text, &len, s, parent_id, CONFIG_MAX, err)) < 0)
        return vic_err_wrap(err, rc, "image %.19s: its config", parent_id);
    if (vic_json_parse(&doc, text, len, 0, NULL) < 0 || !json_is_object(doc))
        return vic_err_set(err, VIC_ECORRUPT, "image %.19s: its config is unreadable", parent_id);
    char diff_id[72];
    uint64_t size = 0;
    if ((rc = commit_layer(s, o, diff_id, &size, err)) < 0)
        return vic_err_wrap(err, rc, "commit");

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char created[64];
    vic_rfc3339(created, sizeof(created), (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec);
    json_object_set_new(doc, "config", o->config ? json_deep_copy(o->config) : json_object());
    json_object_set_new(doc, "created", json_string(created));
    set_str(doc, "author", o->author);
    set_str(doc, "comment", o->comment);
    set_str(doc, "container", o->container_id);
    json_object_set_new(doc, "parent", json_string(parent_id));
    json_t *rootfs = json_object_get(doc, "rootfs");
    if (!json_is_object(rootfs)) {
        rootfs = json_pack("{s:s, s:[]}", "type", "layers", "diff_ids");
        json_object_set_new(doc, "rootfs", rootfs);
    }
    if (diff_id[0])
        json_array_append_new(json_object_get(rootfs, "diff_ids"), json_string(diff_id));
    json_t *history = json_object_get(doc, "history");
    if (!json_is_array(history)) {
        history = json_array();
        json_object_set_new(doc, "history", history);
    }
    /* a parent whose history accounts for fewer layers than it has (or has none) gets an
     * entry per missing layer, so that the new entry pairs with the new layer */
    size_t with_layer = 0, i;
    json_t *e;
    json_array_foreach(history, i, e) with_layer +=
        !json_is_true(json_object_get(e, "empty_layer"));
    for (size_t n = json_array_size(json_object_get(parent, "layers")); with_layer < n;
         with_layer++)
        json_array_append_new(history, json_pack("{s:s, s:s}", "created",
                                                 vic_json_str(parent, "created") ?: created,
                                                 "created_by", ""));
    json_t *h = json_pack("{s:s, s:s}", "created", created, "created_by",
                          o->created_by ? o->created_by : "");
    set_str(h, "author", o->author);
    set_str(h, "comment", o->comment);
    if (!diff_id[0])
        json_object_set_new(h, "empty_layer", json_true());
    json_array_append_new(history, h);

    cleanup_free char *body = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (body == NULL)
        return vic_err_set(err, VIC_EINTERNAL, "commit: cannot write the image config");
    size_t blen = strlen(body);
    EVP_MD_CTX *md = pl_digest_new();
    EVP_DigestUpdate(md, body, blen);
    char id[72];
    pl_digest_final(id, md);
    EVP_MD_CTX_free(md);
    json_t *parsed cleanup_json = NULL;
    if ((rc = pl_image_config_parse(&parsed, body, blen, err)) < 0 ||
        (rc = pl_imagestore_put_blob(s, id, body, blen, err)) < 0)
        return vic_err_wrap(err, rc, "commit");
    json_t *layers = json_deep_copy(json_object_get(parent, "layers"));
    if (diff_id[0])
        json_array_append_new(layers, json_pack("{s:s, s:s, s:I, s:s}", "digest", diff_id,
                                                "diff_id", diff_id, "size", (json_int_t)size,
                                                "media_type", PL_LAYER_TAR_MEDIA_TYPE));
    json_t *image cleanup_json =
        json_pack("{s:s, s:O, s:O?, s:O?, s:s, s:o, s:s}", "id", id, "config",
                  json_object_get(parsed, "config"), "architecture",
                  json_object_get(parsed, "architecture"), "os", json_object_get(parsed, "os"),
                  "created", created, "layers", layers, "parent", parent_id);
    set_str(image, "author", o->author);
    set_str(image, "comment", o->comment);
    set_str(image, "container", o->container_id);
    if ((rc = pl_imagestore_add_image(out, s, image, o->ref, NULL, err)) < 0)
        return vic_err_wrap(err, rc, "commit");
    return 0;
}
