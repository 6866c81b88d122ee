/*
 * imagestore.c - the image store: opening it (and clearing a crash's leftovers), and the image
 * index (images.json): adding, listing, finding, tagging and removing images, their history,
 * and building a container's root disk from an image's layers.
 */
#include "portlayer/imagestore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "portlayer/imagestore_handle.h"

#define INDEX_MAX (64u << 20)

/* ---- the store ---- */

/* Removes entries of dir whose names start with prefix (all when prefix is ""). */
static void remove_leftovers(const char *dir, const char *prefix)
{
    DIR *d cleanup_dirp = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        cleanup_free char *p = xasprintf("%s/%s", dir, de->d_name);
        vic_rm_rf(p, NULL);
    }
}

int pl_imagestore_open(pl_imagestore **out, const char *dir, vic_err **err)
{
    *out = NULL;
    const char *subdirs[] = {"blobs/sha256", "blobs/tmp", "layers"};
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        cleanup_free char *p = xasprintf("%s/%s", dir, subdirs[i]);
        int rc = vic_mkdir_p_err(p, 0755, err);
        if (rc < 0)
            return vic_err_wrap(err, rc, "image store %s", dir);
    }
    /* inuse.lock is held shared by every open store; the index has its own lock file */
    cleanup_free char *lock = xasprintf("%s/inuse.lock", dir);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open %s", lock);
    /* leftovers of a crash can only be removed when no other process has the store open */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        cleanup_free char *tmp = xasprintf("%s/blobs/tmp", dir);
        cleanup_free char *layers = xasprintf("%s/layers", dir);
        remove_leftovers(tmp, "");
        remove_leftovers(layers, ".tmp-");
    }
    flock(fd, LOCK_SH); /* converts the exclusive lock, or joins the other holders */
    pl_imagestore *s = xzalloc(sizeof(*s));
    s->dir = xstrdup(dir);
    s->lockfd = fd;
    pthread_mutex_init(&s->mu, NULL);
    cleanup_free char *idx = xasprintf("%s/images.json", dir);
    char *text = NULL;
    int rc = vic_file_read(&text, NULL, idx, INDEX_MAX, err);
    if (rc == VIC_ENOTFOUND) {
        vic_err_free(err);
        rc = 0;
    } else if (rc == 0) {
        json_t *j cleanup_json = json_loads(text, 0, NULL);
        if (!json_is_object(json_object_get(j, "images")))
            rc = vic_err_set(err, VIC_ECORRUPT, "image index %s is unreadable", idx);
    }
    free(text);
    if (rc < 0) {
        pl_imagestore_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void pl_imagestore_free(pl_imagestore *s)
{
    if (s == NULL)
        return;
    close(s->lockfd);
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    free(s);
}

const char *pl_imagestore_dir(const pl_imagestore *s)
{
    return s->dir;
}

/* ---- the image index ---- */

typedef int (*index_fn)(json_t *images, void *payload, int *changed, vic_err **err);

/* Runs fn on the images object under the store's lock and saves it when fn changed it. */
static int with_index(pl_imagestore *s, index_fn fn, void *payload, vic_err **err)
{
    cleanup_free char *lock = xasprintf("%s/lock", s->dir);
    cleanup_free char *idx = xasprintf("%s/images.json", s->dir);
    cleanup_free char *text = NULL;
    size_t len = 0;
    json_t *doc cleanup_json = NULL;
    pthread_mutex_lock(&s->mu);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int rc = 0;
    if (lfd < 0 || flock(lfd, LOCK_EX) != 0) {
        rc = vic_err_sys(err, VIC_EIO, errno, "lock %s", lock);
        goto out;
    }
    rc = vic_file_read(&text, &len, idx, INDEX_MAX, err);
    if (rc == VIC_ENOTFOUND) {
        vic_err_free(err);
        rc = 0;
        doc = json_pack("{s:i,s:{}}", "version", 1, "images");
    } else if (rc == 0) {
        if (vic_json_parse(&doc, text, len, 0, NULL) < 0 ||
            !json_is_object(json_object_get(doc, "images")))
            rc = vic_err_set(err, VIC_ECORRUPT, "image index %s is unreadable", idx);
    }
    if (rc < 0)
        goto out;
    int changed = 0;
    rc = fn(json_object_get(doc, "images"), payload, &changed, err);
    if (rc == 0 && changed) {
        cleanup_free char *out = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
        rc = vic_file_write_atomic(idx, out, strlen(out), 0644, err);
    }
out:
    if (lfd >= 0)
        close(lfd);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int str_in(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i,
                       v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

static void str_add(json_t *arr, const char *s)
{
    if (!str_in(arr, s))
        json_array_append_new(arr, json_string(s));
}

static int str_del(json_t *arr, const char *s)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *v = json_string_value(json_array_get(arr, i));
        if (v && strcmp(v, s) == 0) {
            json_array_remove(arr, i);
            return 1;
        }
    }
    return 0;
}

typedef struct add_args {
    pl_imagestore *s;
    const json_t *image;
    const char *ref;
    const char *repo_digest;
    json_t *result;
} add_args;

static int add_fn(json_t *images, void *payload, int *changed, vic_err **err)
{
    add_args *a = payload;
    const char *id = vic_json_str(a->image, "id");
    const char *mdig = vic_json_str(a->image, "manifest_digest");
    const char *idig = vic_json_str(a->image, "index_digest");
    json_t *layers = json_object_get(a->image, "layers");
    if (!pl_digest_valid(id) || !json_is_array(layers))
        return vic_err_set(err, VIC_EINVAL, "image record without id or layers");
    /* every piece must be in place before the image may be listed */
    if (!pl_imagestore_has_blob(a->s, id) || (mdig && !pl_imagestore_has_blob(a->s, mdig)) ||
        (idig && !pl_imagestore_has_blob(a->s, idig)))
        return vic_err_set(err, VIC_ENOTFOUND, "image %s: config or manifest not stored", id);
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l)
    {
        const char *diff_id = vic_json_str(l, "diff_id");
        if (!pl_imagestore_has_layer(a->s, diff_id))
            return vic_err_set(err, VIC_ENOTFOUND, "image %s: layer %s not stored", id,
                               diff_id ? diff_id : "?");
    }
    json_t *rec = json_object_get(images, id);
    if (rec == NULL) {
        rec = json_deep_copy(a->image);
        json_object_del(rec, "manifest_digest");
        json_object_del(rec, "index_digest");
        json_object_set_new(rec, "repo_tags", json_array());
        json_object_set_new(rec, "repo_digests", json_array());
        json_object_set_new(rec, "blobs", json_array());
        json_object_set_new(rec, "added", json_integer((json_int_t)time(NULL)));
        json_int_t size = 0;
        json_array_foreach(layers, i, l) size += json_integer_value(json_object_get(l, "size"));
        json_object_set_new(rec, "size", json_integer(size));
        json_object_set_new(images, id, rec);
    }
    json_t *blobs = json_object_get(rec, "blobs");
    str_add(blobs, id);
    if (mdig)
        str_add(blobs, mdig);
    if (idig)
        str_add(blobs, idig);
    json_array_foreach(layers, i, l) if (vic_json_str(l, "digest"))
        str_add(blobs, vic_json_str(l, "digest"));
    if (a->ref) {
        const char *k;
        json_t *other;
        json_object_foreach(images, k, other) str_del(json_object_get(other, "repo_tags"), a->ref);
        str_add(json_object_get(rec, "repo_tags"), a->ref);
    }
    if (a->repo_digest)
        str_add(json_object_get(rec, "repo_digests"), a->repo_digest);
    *changed = 1;
    a->result = json_deep_copy(rec);
    return 0;
}

int pl_imagestore_add_image(json_t **out, pl_imagestore *s, const json_t *image, const char *ref,
                            const char *repo_digest, vic_err **err)
{
    if (out)
        *out = NULL;
    add_args a = {.s = s, .image = image, .ref = ref, .repo_digest = repo_digest};
    int rc = with_index(s, add_fn, &a, err);
    if (rc == 0 && out)
        *out = a.result;
    else
        json_decref(a.result);
    return rc;
}

static json_t *public_record(const json_t *rec)
{
    json_t *r = json_deep_copy(rec);
    json_object_del(r, "blobs");
    return r;
}

static int list_fn(json_t *images, void *payload, int *changed, vic_err **err)
{
    (void)changed;
    (void)err;
    json_t *arr = payload;
    const char *k;
    json_t *v;
    json_object_foreach(images, k, v)
    {
        /* newest first: insert before the first older one */
        json_int_t added = json_integer_value(json_object_get(v, "added"));
        size_t at = 0;
        while (at < json_array_size(arr) &&
               json_integer_value(json_object_get(json_array_get(arr, at), "added")) >= added)
            at++;
        json_array_insert_new(arr, at, public_record(v));
    }
    return 0;
}

int pl_imagestore_list(json_t **out, pl_imagestore *s, vic_err **err)
{
    json_t *arr = json_array();
    int rc = with_index(s, list_fn, arr, err);
    if (rc < 0) {
        json_decref(arr);
        arr = NULL;
    }
    *out = arr;
    return rc;
}

/* How name matched an image. */
typedef enum match_kind { MATCH_ID, MATCH_TAG, MATCH_DIGEST } match_kind;

/* Finds the record name designates (borrowed from images). *matched is the normalised tag or
 * repo digest when name was a reference (caller frees). */
static int find_image(json_t **out, const char **out_id, char **matched, match_kind *kind,
                      json_t *images, const char *name, vic_err **err)
{
    *out = NULL;
    *matched = NULL;
    const char *k;
    json_t *v;
    if (name == NULL || !name[0])
        return vic_err_set(err, VIC_EINVAL, "empty image name");
    const char *hex = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
    size_t hlen = strlen(hex);
    int all_hex = hlen > 0 && hlen <= 64 && strspn(hex, "0123456789abcdef") == hlen;
    if (all_hex && hlen == 64) {
        cleanup_free char *id = xasprintf("sha256:%s", hex);
        json_object_foreach(images, k, v) if (strcmp(k, id) == 0)
        {
            *out = v;
            *out_id = k;
            *kind = MATCH_ID;
            return 0;
        }
    }
    pl_ref *ref = NULL;
    if (pl_ref_parse(&ref, name, NULL) == 0) {
        char *want = pl_ref_string(ref);
        int by_digest = ref->digest != NULL;
        pl_ref_free(ref);
        json_object_foreach(images, k, v)
        {
            if (str_in(json_object_get(v, by_digest ? "repo_digests" : "repo_tags"), want)) {
                *out = v;
                *out_id = k;
                *matched = want;
                *kind = by_digest ? MATCH_DIGEST : MATCH_TAG;
                return 0;
            }
        }
        free(want);
    }
    if (all_hex && hlen >= 4) {
        json_object_foreach(images, k, v) if (strncmp(k + 7, hex, hlen) == 0)
        {
            if (*out)
                return vic_err_set(err, VIC_ECONFLICT, "image id prefix %s is ambiguous", name);
            *out = v;
            *out_id = k;
            *kind = MATCH_ID;
        }
        if (*out)
            return 0;
    }
    return vic_err_set(err, VIC_ENOTFOUND, "no such image: %.200s", name);
}

typedef struct name_args {
    const char *name;
    const char *ref;
    int force;
    pl_imagestore *s;
    json_t *result;
} name_args;

static int inspect_fn(json_t *images, void *payload, int *changed, vic_err **err)
{
    (void)changed;
    name_args *a = payload;
    json_t *rec;
    const char *id;
    cleanup_free char *matched = NULL;
    match_kind kind;
    int rc = find_image(&rec, &id, &matched, &kind, images, a->name, err);
    if (rc == 0)
        a->result = public_record(rec);
    return rc;
}

int pl_imagestore_inspect(json_t **out, pl_imagestore *s, const char *name, vic_err **err)
{
    *out = NULL;
    name_args a = {.name = name};
    int rc = with_index(s, inspect_fn, &a, err);
    if (rc == 0)
        *out = a.result;
    return rc;
}

static int blobs_fn(json_t *images, void *payload, int *changed, vic_err **err)
{
    (void)changed;
    name_args *a = payload;
    json_t *rec;
    const char *id;
    cleanup_free char *matched = NULL;
    match_kind kind;
    int rc = find_image(&rec, &id, &matched, &kind, images, a->name, err);
    if (rc == 0)
        a->result = json_deep_copy(json_object_get(rec, "blobs"));
    return rc;
}

int pl_imagestore_image_blobs(json_t **out, pl_imagestore *s, const char *name, vic_err **err)
{
    *out = NULL;
    name_args a = {.name = name};
    int rc = with_index(s, blobs_fn, &a, err);
    if (rc == 0)
        *out = a.result ? a.result : json_array();
    return rc;
}

static int tag_fn(json_t *images, void *payload, int *changed, vic_err **err)
{
    name_args *a = payload;
    json_t *rec;
    const char *id;
    cleanup_free char *matched = NULL;
    match_kind kind;
    int rc = find_image(&rec, &id, &matched, &kind, images, a->name, err);
    if (rc < 0)
        return rc;
    pl_ref *ref = NULL;
    rc = pl_ref_parse(&ref, a->ref, err);
    if (rc < 0)
        return rc;
    if (ref->digest) {
        pl_ref_free(ref);
        return vic_err_set(err, VIC_EINVAL, "cannot tag with a digest reference: %s", a->ref);
    }
    cleanup_free char *tag = pl_ref_string(ref);
    pl_ref_free(ref);
    const char *k;
    json_t *v;
    json_object_foreach(images, k, v) str_del(json_object_get(v, "repo_tags"), tag);
    str_add(json_object_get(rec, "repo_tags"), tag);
    *changed = 1;
    return 0;
}

int pl_imagestore_tag(pl_imagestore *s, const char *name, const char *ref, vic_err **err)
{
    name_args a = {.name = name, .ref = ref};
    return with_index(s, tag_fn, &a, err);
}

/* A layer's size as docker history shows it: its files unpacked, or the blob's size when the
 * layer's record cannot say. */
static json_int_t layer_size(const pl_imagestore *s, const json_t *layer)
{
    json_t *meta cleanup_json = NULL;
    const char *diff_id = vic_json_str(layer, "diff_id");
    if (pl_digest_valid(diff_id) && pl_imagestore_layer_meta(&meta, s, diff_id, NULL) == 0 &&
        json_is_integer(json_object_get(meta, "bytes")))
        return json_integer_value(json_object_get(meta, "bytes"));
    return json_integer_value(json_object_get(layer, "size"));
}

static json_t *history_entry(const json_t *h, const char *created, const json_t *layer,
                             json_int_t size)
{
    const char *by = vic_json_str(h, "created_by"), *comment = vic_json_str(h, "comment");
    const char *when = vic_json_str(h, "created");
    return json_pack("{s:s, s:s, s:s, s:b, s:O, s:I}", "created", when ? when : created,
                     "created_by", by ? by : "", "comment", comment ? comment : "", "empty_layer",
                     layer == NULL, "layer",
                     layer ? json_object_get(layer, "diff_id") : json_null(), "size", size);
}

int pl_imagestore_history(json_t **out, pl_imagestore *s, const char *name, vic_err **err)
{
    *out = NULL;
    json_t *img cleanup_json = NULL;
    int rc = pl_imagestore_inspect(&img, s, name, err);
    if (rc < 0)
        return rc;
    const char *id = vic_json_str(img, "id");
    cleanup_free char *text = NULL;
    size_t len = 0;
    json_t *config cleanup_json = NULL;
    if (pl_imagestore_read_blob(&text, &len, s, id, INDEX_MAX, err) < 0 ||
        vic_json_parse(&config, text, len, 0, NULL) < 0 || !json_is_object(config)) {
        vic_err_free(err);
        return vic_err_set(err, VIC_ECORRUPT, "image %.19s: its config is unreadable", id);
    }
    const char *created = vic_json_str(img, "created");
    created = created ? created : "";
    json_t *layers = json_object_get(img, "layers");
    size_t next = 0, i;
    json_t *h, *arr = json_array();
    json_array_foreach(json_object_get(config, "history"), i, h)
    {
        if (!json_is_object(h))
            continue;
        const json_t *layer = NULL;
        if (!json_is_true(json_object_get(h, "empty_layer")) && next < json_array_size(layers))
            layer = json_array_get(layers, next++);
        json_array_append_new(arr,
                              history_entry(h, created, layer, layer ? layer_size(s, layer) : 0));
    }
    for (; next < json_array_size(layers); next++) {
        const json_t *layer = json_array_get(layers, next);
        json_array_append_new(arr, history_entry(NULL, created, layer, layer_size(s, layer)));
    }
    *out = arr;
    return 0;
}

/* Deletes what the removed image rec held that no image in images still uses. */
static int gc_image(pl_imagestore *s, json_t *images, const json_t *rec, json_t *report,
                    vic_err **err)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rec, "layers"), i, v)
    {
        const char *diff_id = vic_json_str(v, "diff_id");
        int used = 0;
        const char *k;
        json_t *other;
        json_object_foreach(images, k, other)
        {
            size_t j;
            json_t *ol;
            json_array_foreach(json_object_get(other, "layers"), j,
                               ol) if (diff_id && vic_json_str(ol, "diff_id") &&
                                       strcmp(vic_json_str(ol, "diff_id"), diff_id) == 0) used = 1;
        }
        if (used || !pl_digest_valid(diff_id))
            continue;
        cleanup_free char *d = pl_imagestore_layer_dir(s, diff_id);
        int rc = vic_rm_rf(d, err);
        if (rc < 0)
            return rc;
        json_array_append_new(report, json_pack("{s:s}", "Deleted", diff_id));
    }
    json_array_foreach(json_object_get(rec, "blobs"), i, v)
    {
        const char *dig = json_string_value(v);
        int used = 0;
        const char *k;
        json_t *other;
        json_object_foreach(images, k, other) if (str_in(json_object_get(other, "blobs"), dig))
            used = 1;
        cleanup_free char *p = NULL;
        if (used || pl_imagestore_blob_path(&p, s, dig, NULL) < 0)
            continue;
        if (unlink(p) != 0 && errno != ENOENT)
            return vic_err_sys(err, VIC_EIO, errno, "unlink %s", p);
    }
    return 0;
}

static int remove_fn(json_t *images, void *payload, int *changed, vic_err **err)
{
    name_args *a = payload;
    json_t *rec;
    const char *idp;
    cleanup_free char *matched = NULL;
    match_kind kind;
    int rc = find_image(&rec, &idp, &matched, &kind, images, a->name, err);
    if (rc < 0)
        return rc;
    cleanup_free char *id = xstrdup(idp);
    json_t *tags = json_object_get(rec, "repo_tags");
    json_t *digests = json_object_get(rec, "repo_digests");
    a->result = json_array();
    if (kind != MATCH_ID) {
        str_del(kind == MATCH_TAG ? tags : digests, matched);
        json_array_append_new(a->result, json_pack("{s:s}", "Untagged", matched));
        *changed = 1;
        if (json_array_size(tags) > 0)
            return 0; /* still tagged: the image stays */
    } else if (json_array_size(tags) > 1 && !a->force) {
        return vic_err_set(err, VIC_ECONFLICT,
                           "image %.19s is referenced by %zu tags: remove them or force", id,
                           json_array_size(tags));
    }
    size_t i;
    json_t *v;
    json_array_foreach(tags, i, v)
        json_array_append_new(a->result, json_pack("{s:O}", "Untagged", v));
    json_array_foreach(digests, i, v)
        json_array_append_new(a->result, json_pack("{s:O}", "Untagged", v));
    json_t *gone = json_incref(rec);
    json_object_del(images, id);
    *changed = 1;
    json_array_append_new(a->result, json_pack("{s:s}", "Deleted", id));
    rc = gc_image(a->s, images, gone, a->result, err);
    json_decref(gone);
    return rc;
}

int pl_imagestore_remove(json_t **out, pl_imagestore *s, const char *name, int force, vic_err **err)
{
    if (out)
        *out = NULL;
    name_args a = {.name = name, .force = force, .s = s};
    int rc = with_index(s, remove_fn, &a, err);
    if (rc == 0 && out)
        *out = a.result;
    else
        json_decref(a.result);
    return rc;
}

int pl_imagestore_build_rootfs(pl_imagestore *s, const char *name, const char *dir,
                               const pl_idmap *ids, vic_err **err)
{
    json_t *img cleanup_json = NULL;
    int rc = pl_imagestore_inspect(&img, s, name, err);
    if (rc < 0)
        return rc;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return vic_err_sys(err, VIC_EIO, errno, "mkdir %s", dir);
    {
        DIR *d cleanup_dirp = opendir(dir);
        if (d == NULL)
            return vic_err_sys(err, VIC_EIO, errno, "open %s", dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                return vic_err_set(err, VIC_ECONFLICT, "root disk directory %s is not empty", dir);
    }
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(img, "layers"), i, l)
    {
        const char *diff_id = vic_json_str(l, "diff_id");
        json_t *meta cleanup_json = NULL;
        if (!pl_digest_valid(diff_id))
            return vic_err_set(err, VIC_ECORRUPT, "image %s: bad layer record",
                               vic_json_str(img, "id"));
        rc = pl_imagestore_layer_meta(&meta, s, diff_id, err);
        if (rc < 0)
            return vic_err_wrap(err, rc, "image %s", vic_json_str(img, "id"));
        cleanup_free char *ld = pl_imagestore_layer_dir(s, diff_id);
        cleanup_free char *lroot = xasprintf("%s/rootfs", ld);
        rc = pl_layer_apply(dir, lroot, meta, ids, err);
        if (rc < 0)
            return vic_err_wrap(err, rc, "apply layer %s", diff_id);
    }
    return 0;
}

int pl_imagestore_layers(json_t **out, pl_imagestore *s, const char *name, vic_err **err)
{
    *out = NULL;
    json_t *img cleanup_json = NULL;
    int rc = pl_imagestore_inspect(&img, s, name, err);
    if (rc < 0)
        return rc;
    json_t *arr cleanup_json = json_array();
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(img, "layers"), i, l)
    {
        const char *diff_id = vic_json_str(l, "diff_id");
        if (!pl_digest_valid(diff_id))
            return vic_err_set(err, VIC_ECORRUPT, "image %s: bad layer record",
                               vic_json_str(img, "id"));
        json_t *meta = NULL;
        if ((rc = pl_imagestore_layer_meta(&meta, s, diff_id, err)) < 0)
            return vic_err_wrap(err, rc, "image %s", vic_json_str(img, "id"));
        cleanup_free char *ld = pl_imagestore_layer_dir(s, diff_id);
        json_array_append_new(arr, json_pack("{s:s, s:s+, s:o}", "diff_id", diff_id, "root", ld,
                                             "/rootfs", "meta", meta));
    }
    *out = json_incref(arr);
    return 0;
}
