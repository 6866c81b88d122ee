/*
 * blobs.c - the image store's blobs (named by digest, verified before they get their name)
 * and its unpacked layers (named by diff_id).
 */
#include "portlayer/blobs.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "portlayer/imagestore_handle.h"
#include "portlayer/layer.h"
#include "portlayer/reference.h"

#define LAYER_META_MAX (64u << 20)

struct pl_blob_writer {
    char *tmp;
    char *final;
    int fd;
    EVP_MD_CTX *md;
    char digest[72];
    int64_t expected;
    uint64_t n;
    int committed;
    pl_imagestore *s;
};

int pl_imagestore_blob_path(char **out, const pl_imagestore *s, const char *digest, vic_err **err)
{
    *out = NULL;
    if (!pl_digest_valid(digest))
        return vic_err_set(err, VIC_EINVAL, "malformed digest \"%.80s\"", digest ? digest : "");
    *out = xasprintf("%s/blobs/sha256/%s", s->dir, digest + 7);
    return 0;
}

int pl_imagestore_has_blob(const pl_imagestore *s, const char *digest)
{
    cleanup_free char *p = NULL;
    if (pl_imagestore_blob_path(&p, s, digest, NULL) < 0)
        return 0;
    return access(p, F_OK) == 0;
}

int pl_blob_writer_new(pl_blob_writer **out, pl_imagestore *s, const char *digest,
                       int64_t expected_size, vic_err **err)
{
    *out = NULL;
    cleanup_free char *final = NULL;
    int rc = digest ? pl_imagestore_blob_path(&final, s, digest, err) : 0;
    if (rc < 0)
        return rc;
    char *tmp = xasprintf("%s/blobs/tmp/%.12s.XXXXXX", s->dir, digest ? digest + 7 : "new");
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = vic_err_sys(err, VIC_EIO, errno, "create %s", tmp);
        free(tmp);
        return rc;
    }
    pl_blob_writer *w = xzalloc(sizeof(*w));
    w->tmp = tmp;
    w->final = steal_ptr(final);
    w->fd = fd;
    w->md = pl_digest_new();
    w->s = s;
    snprintf(w->digest, sizeof(w->digest), "%s", digest ? digest : "");
    w->expected = expected_size;
    *out = w;
    return 0;
}

int pl_blob_writer_write(pl_blob_writer *w, const void *data, size_t len, vic_err **err)
{
    if (w->expected >= 0 && w->n + len > (uint64_t)w->expected)
        return vic_err_set(err, VIC_EUPSTREAM,
                           "blob %.19s: more than the %lld bytes its descriptor says", w->digest,
                           (long long)w->expected);
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(w->fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return vic_err_sys(err, VIC_EIO, n < 0 ? errno : EIO, "write %s", w->tmp);
        p += n;
        left -= (size_t)n;
    }
    EVP_DigestUpdate(w->md, data, len);
    w->n += len;
    return 0;
}

uint64_t pl_blob_writer_size(const pl_blob_writer *w)
{
    return w->n;
}

const char *pl_blob_writer_digest(const pl_blob_writer *w)
{
    return w->committed ? w->digest : NULL;
}

int pl_blob_writer_commit(pl_blob_writer *w, vic_err **err)
{
    if (w->expected >= 0 && w->n != (uint64_t)w->expected)
        return vic_err_set(err, VIC_EUPSTREAM, "blob %.19s: got %llu of %lld bytes (truncated)",
                           w->digest, (unsigned long long)w->n, (long long)w->expected);
    char got[72];
    pl_digest_final(got, w->md);
    if (w->final == NULL) { /* named by what it hashes to */
        snprintf(w->digest, sizeof(w->digest), "%s", got);
        int rc = pl_imagestore_blob_path(&w->final, w->s, got, err);
        if (rc < 0)
            return rc;
    }
    if (strcmp(got, w->digest) != 0)
        return vic_err_set(err, VIC_EUPSTREAM, "blob %s: content hashes to %s (wrong digest)",
                           w->digest, got);
    if (fsync(w->fd) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "fsync %s", w->tmp);
    if (fchmod(w->fd, 0644) != 0 || rename(w->tmp, w->final) != 0)
        return vic_err_sys(err, VIC_EIO, errno, "rename %s", w->tmp);
    w->committed = 1;
    return 0;
}

void pl_blob_writer_free(pl_blob_writer *w)
{
    if (w == NULL)
        return;
    close(w->fd);
    if (!w->committed)
        unlink(w->tmp);
    EVP_MD_CTX_free(w->md);
    free(w->tmp);
    free(w->final);
    free(w);
}

int pl_imagestore_put_blob(pl_imagestore *s, const char *digest, const void *data, size_t len,
                           vic_err **err)
{
    if (pl_imagestore_has_blob(s, digest))
        return 0;
    pl_blob_writer *w = NULL;
    int rc = pl_blob_writer_new(&w, s, digest, (int64_t)len, err);
    if (rc == 0)
        rc = pl_blob_writer_write(w, data, len, err);
    if (rc == 0)
        rc = pl_blob_writer_commit(w, err);
    pl_blob_writer_free(w);
    return rc;
}

int pl_imagestore_read_blob(char **out, size_t *len, const pl_imagestore *s, const char *digest,
                            size_t max, vic_err **err)
{
    *out = NULL;
    cleanup_free char *p = NULL;
    int rc = pl_imagestore_blob_path(&p, s, digest, err);
    if (rc < 0)
        return rc;
    return vic_file_read(out, len, p, max, err);
}

char *pl_imagestore_layer_dir(const pl_imagestore *s, const char *diff_id)
{
    return xasprintf("%s/layers/%s", s->dir, diff_id + 7);
}

int pl_imagestore_has_layer(const pl_imagestore *s, const char *diff_id)
{
    if (!pl_digest_valid(diff_id))
        return 0;
    cleanup_free char *d = pl_imagestore_layer_dir(s, diff_id);
    cleanup_free char *m = xasprintf("%s/layer.json", d);
    return access(m, F_OK) == 0;
}

int pl_imagestore_layer_meta(json_t **out, const pl_imagestore *s, const char *diff_id,
                             vic_err **err)
{
    *out = NULL;
    cleanup_free char *d = pl_imagestore_layer_dir(s, diff_id);
    cleanup_free char *m = xasprintf("%s/layer.json", d);
    cleanup_free char *text = NULL;
    size_t len = 0;
    int rc = vic_file_read(&text, &len, m, LAYER_META_MAX, err);
    if (rc < 0)
        return rc;
    rc = vic_json_parse(out, text, len, 0, err);
    if (rc < 0)
        return vic_err_set(err, VIC_ECORRUPT, "layer record %s is unreadable", m);
    return 0;
}

int pl_imagestore_add_layer(json_t **out, pl_imagestore *s, const char *blob_digest,
                            const char *diff_id, vic_err **err)
{
    if (out)
        *out = NULL;
    if (!pl_digest_valid(diff_id))
        return vic_err_set(err, VIC_EINVAL, "malformed diff_id \"%.80s\"", diff_id);
    if (pl_imagestore_has_layer(s, diff_id))
        return out ? pl_imagestore_layer_meta(out, s, diff_id, err) : 0;
    cleanup_free char *blob = NULL;
    int rc = pl_imagestore_blob_path(&blob, s, blob_digest, err);
    if (rc < 0)
        return rc;
    int fd cleanup_close = open(blob, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vic_err_sys(err, errno == ENOENT ? VIC_ENOTFOUND : VIC_EIO, errno, "layer blob %s",
                           blob_digest);
    cleanup_free char *tmp = xasprintf("%s/layers/.tmp-%.12s-XXXXXX", s->dir, diff_id + 7);
    if (mkdtemp(tmp) == NULL)
        return vic_err_sys(err, VIC_EIO, errno, "mkdtemp %s", tmp);
    cleanup_free char *root = xasprintf("%s/rootfs", tmp);
    cleanup_free char *text = NULL;
    cleanup_free char *mpath = xasprintf("%s/layer.json", tmp);
    cleanup_free char *final = pl_imagestore_layer_dir(s, diff_id);
    json_t *meta cleanup_json = NULL;
    if (mkdir(root, 0755) != 0) {
        rc = vic_err_sys(err, VIC_EIO, errno, "mkdir %s", root);
        goto fail;
    }
    rc = pl_layer_unpack(&meta, fd, root, 0, err);
    if (rc < 0) {
        vic_err_wrap(err, rc, "layer %s", blob_digest);
        goto fail;
    }
    const char *got = vic_json_str(meta, "diff_id");
    if (strcmp(got, diff_id) != 0) {
        rc = vic_err_set(err, VIC_EUPSTREAM,
                         "layer %s: uncompressed content hashes to %s, the config says %s",
                         blob_digest, got, diff_id);
        goto fail;
    }
    json_object_set_new(meta, "digest", json_string(blob_digest));
    text = json_dumps(meta, JSON_COMPACT);
    /* the files of the layer reach the disk before the layer gets its final name */
    syncfs(fd);
    rc = vic_file_write_atomic(mpath, text, strlen(text), 0644, err);
    if (rc < 0)
        goto fail;
    if (rename(tmp, final) != 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) {
            rc = vic_err_sys(err, VIC_EIO, errno, "rename %s", tmp);
            goto fail;
        }
        vic_rm_rf(tmp, NULL); /* another pull unpacked it first */
    }
    if (out)
        *out = steal_ptr(meta);
    return 0;
fail:
    vic_rm_rf(tmp, NULL);
    return rc;
}
