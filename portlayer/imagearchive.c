/*
 * imagearchive.c - docker save and docker load (see imagearchive.h).
 */
#include "portlayer/imagearchive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/mem.h"
#include "portlayer/blobs.h"
#include "portlayer/layer.h"
#include "portlayer/reference.h"
#include "portlayer/registry.h"

#define MT_LAYER_TAR  "application/vnd.docker.image.rootfs.diff.tar"
#define MT_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_CONFIG     "application/vnd.docker.container.image.v1+json"

/* "busybox:latest" for "docker.io/library/busybox:latest", as the CLI shows references. */
static char *familiar(const char *ref)
{
    if (strncmp(ref, "docker.io/library/", 18) == 0 && strchr(ref + 18, '/') == NULL)
        return xstrdup(ref + 18);
    if (strncmp(ref, "docker.io/", 10) == 0)
        return xstrdup(ref + 10);
    return xstrdup(ref);
}

static int write_all(int fd, const void *buf, size_t len)
{
    for (const char *p = buf; len > 0;) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n, len -= (size_t)n;
    }
    return 0;
}

static void sha256_digest(char out[72], const void *data, size_t len)
{
    char hex[65];
    vic_sha256_hex(hex, data, len);
    snprintf(out, 72, "sha256:%s", hex);
}

/* An anonymous file in the store's directory: nothing of it outlives a crash. */
static int anon_file(pl_imagestore *s, vic_err **err)
{
    int fd = open(pl_imagestore_dir(s), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "a temporary file in %s", pl_imagestore_dir(s));
    return fd;
}

/* ---- manifest.json ---- */

static int archive_path(char **out, const json_t *v, const char *what, size_t i, vic_err **err)
{
    const char *p = json_string_value(v);
    if (p == NULL || *p == '\0')
        return vic_err_set(err, VIC_EINVAL, "manifest.json[%zu].%s: not a path", i, what);
    if (pl_tar_path_norm(out, p, NULL) < 0 || **out == '\0') {
        free(*out);
        *out = NULL;
        return vic_err_set(err, VIC_EINVAL, "manifest.json[%zu].%s: \"%.100s\" leaves the archive",
                           i, what, p);
    }
    return 0;
}

int pl_archive_manifest_parse(json_t **out, const char *body, size_t len, vic_err **err)
{
    *out = NULL;
    json_t *m cleanup_json = NULL;
    if (vic_json_parse(&m, body, len, PL_ARCHIVE_MAX_JSON, NULL) < 0 || !json_is_array(m))
        return vic_err_set(err, VIC_EINVAL, "manifest.json: not a JSON array");
    if (json_array_size(m) == 0)
        return vic_err_set(err, VIC_EINVAL, "manifest.json: no image in it");
    json_t *res cleanup_json = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(m, i, e)
    {
        if (!json_is_object(e))
            return vic_err_set(err, VIC_EINVAL, "manifest.json[%zu]: not an object", i);
        cleanup_free char *config = NULL;
        int rc = archive_path(&config, json_object_get(e, "Config"), "Config", i, err);
        if (rc < 0)
            return rc;
        const json_t *layers = json_object_get(e, "Layers");
        if (!json_is_array(layers))
            return vic_err_set(err, VIC_EINVAL, "manifest.json[%zu].Layers: not a list", i);
        json_t *ls = json_array();
        json_t *one = json_pack("{s:s, s:o, s:[]}", "config", config, "layers", ls, "repo_tags");
        json_array_append_new(res, one);
        size_t j;
        json_t *l;
        json_array_foreach(layers, j, l)
        {
            cleanup_free char *p = NULL;
            if ((rc = archive_path(&p, l, "Layers", i, err)) < 0)
                return rc;
            json_array_append_new(ls, json_string(p));
        }
        const json_t *tags = json_object_get(e, "RepoTags");
        if (tags && !json_is_null(tags) && !json_is_array(tags))
            return vic_err_set(err, VIC_EINVAL, "manifest.json[%zu].RepoTags: not a list", i);
        json_array_foreach(tags, j, l)
        {
            pl_ref *ref = NULL;
            const char *t = json_string_value(l);
            if (t == NULL || pl_ref_parse(&ref, t, NULL) < 0 || ref->digest) {
                pl_ref_free(ref);
                return vic_err_set(err, VIC_EINVAL,
                                   "manifest.json[%zu].RepoTags[%zu]: not a tagged reference", i,
                                   j);
            }
            cleanup_free char *norm = pl_ref_string(ref);
            pl_ref_free(ref);
            json_array_append_new(json_object_get(one, "repo_tags"), json_string(norm));
        }
    }
    *out = steal_ptr(res);
    return 0;
}

/* ---- save ---- */

typedef struct saver {
    pl_archive_write_fn fn;
    void *payload;
    int stopped;
} saver;

static la_ssize_t on_write(struct archive *a, void *ud, const void *buf, size_t len)
{
    saver *w = ud;
    if (w->fn(buf, len, w->payload) != 0) {
        w->stopped = 1;
        archive_set_error(a, EPIPE, "the reader left");
        return -1;
    }
    return (la_ssize_t)len;
}

static int write_err(struct archive *a, const saver *w, const char *what, vic_err **err)
{
    if (w->stopped)
        return vic_err_set(err, VIC_EUNAVAIL, "the reader left");
    return vic_err_set(err, VIC_EIO, "writing %s: %s", what, archive_error_string(a));
}

/* One regular file of the archive: data, or (data NULL) size bytes read from fd. */
static int add_file(struct archive *a, const saver *w, const char *name, const void *data, int fd,
                    int64_t size, vic_err **err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, 0, 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return write_err(a, w, name, err);
    if (data)
        return archive_write_data(a, data, (size_t)size) == (la_ssize_t)size
                   ? 0
                   : write_err(a, w, name, err);
    char buf[65536];
    for (int64_t left = size; left > 0;) {
        ssize_t n = read(fd, buf, left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf));
        if (n <= 0)
            return vic_err_sys(err, VIC_EIO, n < 0 ? errno : EIO, "read %s", name);
        if (archive_write_data(a, buf, (size_t)n) != n)
            return write_err(a, w, name, err);
        left -= n;
    }
    return 0;
}

/* The uncompressed tar of a stored layer blob in an anonymous file (*fd, at its start; *size),
 * checked to hash to diff_id. */
static int layer_tar(int *fd_out, int64_t *size, pl_imagestore *s, const char *blob,
                     const char *diff_id, vic_err **err)
{
    cleanup_free char *path = NULL;
    int rc = pl_imagestore_blob_path(&path, s, blob, err);
    if (rc < 0)
        return rc;
    int fd cleanup_close = anon_file(s, err);
    if (fd < 0)
        return fd;
    struct archive *r = archive_read_new();
    archive_read_support_filter_all(r);
    archive_read_support_format_raw(r);
    struct archive_entry *e;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    int64_t total = 0;
    if (archive_read_open_filename(r, path, 65536) != ARCHIVE_OK ||
        archive_read_next_header(r, &e) != ARCHIVE_OK) {
        rc = vic_err_set(err, VIC_ECORRUPT, "layer %s: %s", blob, archive_error_string(r));
    } else {
        char buf[65536];
        la_ssize_t n;
        while ((n = archive_read_data(r, buf, sizeof(buf))) > 0) {
            EVP_DigestUpdate(md, buf, (size_t)n);
            if (write_all(fd, buf, (size_t)n) < 0) {
                rc = vic_err_sys(err, VIC_EIO, errno, "layer %s", blob);
                break;
            }
            total += n;
        }
        if (rc == 0 && n < 0)
            rc = vic_err_set(err, VIC_ECORRUPT, "layer %s: %s", blob, archive_error_string(r));
    }
    char got[72];
    pl_digest_final(got, md);
    EVP_MD_CTX_free(md);
    archive_read_free(r);
    if (rc == 0 && strcmp(got, diff_id) != 0)
        rc = vic_err_set(err, VIC_ECORRUPT, "layer %s: its content is %s, not %s", blob, got,
                         diff_id);
    if (rc == 0 && lseek(fd, 0, SEEK_SET) < 0)
        rc = vic_err_sys(err, VIC_EIO, errno, "layer %s", blob);
    if (rc < 0)
        return rc;
    *fd_out = fd;
    fd = -1;
    *size = total;
    return 0;
}

/* The images names find, merged by id: [{"rec": record, "tags": [familiar tags asked for]}]. */
static int resolve(json_t **out, pl_imagestore *s, const char *const *names, size_t n,
                   vic_err **err)
{
    json_t *list cleanup_json = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *rec = NULL;
        int rc = pl_imagestore_inspect(&rec, s, names[i], err);
        if (rc == VIC_ENOTFOUND)
            return vic_err_set(err, VIC_ENOTFOUND, "No such image: %s", names[i]);
        if (rc < 0)
            return rc;
        json_t *slot = NULL;
        size_t k;
        json_t *x;
        json_array_foreach(list, k, x)
        {
            if (json_equal(json_object_get(json_object_get(x, "rec"), "id"),
                           json_object_get(rec, "id")))
                slot = x;
        }
        if (slot == NULL) {
            slot = json_pack("{s:o, s:[]}", "rec", rec, "tags");
            json_array_append_new(list, slot);
        } else {
            json_decref(rec);
            rec = json_object_get(slot, "rec");
        }
        /* a tag asked for is saved with the image; an id or a digest is not a tag */
        pl_ref *ref = NULL;
        if (pl_ref_parse(&ref, names[i], NULL) == 0 && ref->digest == NULL) {
            cleanup_free char *norm = pl_ref_string(ref);
            json_t *t;
            json_array_foreach(json_object_get(rec, "repo_tags"), k, t)
            {
                if (json_is_string(t) && strcmp(json_string_value(t), norm) == 0) {
                    cleanup_free char *f = familiar(norm);
                    json_array_append_new(json_object_get(slot, "tags"), json_string(f));
                    break;
                }
            }
        }
        pl_ref_free(ref);
    }
    *out = steal_ptr(list);
    return 0;
}

int pl_image_save(pl_imagestore *s, const char *const *names, size_t n, pl_archive_write_fn fn,
                  void *payload, vic_err **err)
{
    json_t *images cleanup_json = NULL;
    int rc = resolve(&images, s, names, n, err);
    if (rc < 0)
        return rc;
    saver w = {fn, payload, 0};
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open(a, &w, NULL, on_write, NULL) != ARCHIVE_OK) {
        rc = write_err(a, &w, "the archive", err);
        archive_write_free(a);
        return rc;
    }
    json_t *manifest cleanup_json = json_array();
    json_t *written cleanup_json = json_object(); /* diff_ids already in the archive */
    size_t i;
    json_t *im;
    json_array_foreach(images, i, im)
    {
        const json_t *rec = json_object_get(im, "rec");
        const char *id = json_string_value(json_object_get(rec, "id"));
        cleanup_free char *config = NULL;
        size_t clen = 0;
        if ((rc = pl_imagestore_read_blob(&config, &clen, s, id, PL_ARCHIVE_MAX_JSON, err)) < 0)
            break;
        cleanup_free char *cname = xasprintf("%s.json", id + 7);
        if ((rc = add_file(a, &w, cname, config, -1, (int64_t)clen, err)) < 0)
            break;
        json_t *lnames = json_array();
        json_t *tags = json_object_get(im, "tags");
        json_array_append_new(manifest, json_pack("{s:s, s:O, s:o}", "Config", cname, "RepoTags",
                                                  json_array_size(tags) ? tags : json_null(),
                                                  "Layers", lnames));
        size_t j;
        json_t *l;
        json_array_foreach(json_object_get(rec, "layers"), j, l)
        {
            const char *diff_id = json_string_value(json_object_get(l, "diff_id"));
            const char *blob = json_string_value(json_object_get(l, "digest"));
            if (diff_id == NULL || blob == NULL) {
                rc = vic_err_set(err, VIC_ECORRUPT, "image %s: a layer without its digests", id);
                break;
            }
            cleanup_free char *lname = xasprintf("%s/layer.tar", diff_id + 7);
            json_array_append_new(lnames, json_string(lname));
            if (json_object_get(written, diff_id))
                continue;
            int fd cleanup_close = -1;
            int64_t size = 0;
            if ((rc = layer_tar(&fd, &size, s, blob, diff_id, err)) < 0 ||
                (rc = add_file(a, &w, lname, NULL, fd, size, err)) < 0)
                break;
            json_object_set_new(written, diff_id, json_true());
        }
        if (rc < 0)
            break;
    }
    if (rc == 0) {
        cleanup_free char *text = json_dumps(manifest, JSON_COMPACT);
        rc = add_file(a, &w, "manifest.json", text, -1, (int64_t)strlen(text), err);
    }
    if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
        rc = write_err(a, &w, "the archive's end", err);
    archive_write_free(a);
    return rc;
}

/* ---- load ---- */

typedef struct afile {
    char *path;
    int fd;     /* a regular file's content (anonymous), or -1 */
    char *link; /* a symlink's target, resolved in the archive */
    int64_t size;
} afile;

typedef struct loader {
    pl_imagestore *s;
    afile *files;
    size_t n;
} loader;

static void loader_clear(loader *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->files[i].path);
        free(l->files[i].link);
        if (l->files[i].fd >= 0)
            close(l->files[i].fd);
    }
    free(l->files);
}

/* Reads every entry of the archive: regular files into anonymous files, symlinks noted. */
static int read_archive(loader *l, int fd, vic_err **err)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    int rc = 0;
    if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
        rc = vic_err_set(err, VIC_EINVAL, "not a tar archive: %s", archive_error_string(a));
    struct archive_entry *e;
    int r;
    while (rc == 0 && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        mode_t type = archive_entry_filetype(e);
        if (type == AE_IFDIR)
            continue;
        cleanup_free char *path = NULL;
        if ((rc = pl_tar_path_norm(&path, archive_entry_pathname(e), err)) < 0)
            break;
        if (type != AE_IFREG && type != AE_IFLNK)
            continue; /* nothing else is part of an image archive */
        for (size_t i = 0; i < l->n && rc == 0; i++)
            if (strcmp(l->files[i].path, path) == 0)
                rc = vic_err_set(err, VIC_EINVAL, "%.200s: twice in the archive", path);
        if (rc == 0 && l->n == PL_ARCHIVE_MAX_FILES)
            rc = vic_err_set(err, VIC_ETOOBIG, "more than %d files in the archive",
                             PL_ARCHIVE_MAX_FILES);
        if (rc < 0)
            break;
        afile f = {.path = steal_ptr(path), .fd = -1};
        if (type == AE_IFLNK) {
            const char *t = archive_entry_symlink(e);
            const char *slash = strrchr(f.path, '/');
            cleanup_free char *joined =
                t && t[0] != '/'
                    ? xasprintf("%.*s/%s", slash ? (int)(slash - f.path) : 0, f.path, t)
                    : NULL;
            if (joined == NULL ||
                vic_path_normalise(&f.link, joined, VIC_PATH_RELATIVE | VIC_PATH_BOUNDED) < 0)
                rc = vic_err_set(err, VIC_EINVAL, "%.200s: a link out of the archive", f.path);
        } else if ((f.fd = anon_file(l->s, err)) < 0) {
            rc = f.fd;
        } else {
            char buf[65536];
            la_ssize_t n;
            while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
                if (write_all(f.fd, buf, (size_t)n) < 0) {
                    rc = vic_err_sys(err, VIC_EIO, errno, "keep %s", f.path);
                    break;
                }
                f.size += n;
            }
            if (rc == 0 && n < 0)
                rc = vic_err_set(err, VIC_EINVAL, "%.200s: %s", f.path, archive_error_string(a));
        }
        l->files = xrealloc(l->files, (l->n + 1) * sizeof(afile));
        l->files[l->n++] = f;
    }
    if (rc == 0 && r != ARCHIVE_EOF)
        rc = vic_err_set(err, VIC_EINVAL, "not a tar archive: %s", archive_error_string(a));
    archive_read_free(a);
    return rc;
}

/* The regular file at path, through at most 8 links; NULL when there is none. */
static const afile *find(const loader *l, const char *path)
{
    for (int hops = 0; hops < 8; hops++) {
        const afile *f = NULL;
        for (size_t i = 0; i < l->n && f == NULL; i++)
            if (strcmp(l->files[i].path, path) == 0)
                f = &l->files[i];
        if (f == NULL || f->fd >= 0)
            return f;
        path = f->link;
    }
    return NULL;
}

static int read_small(char **out, size_t *len, const loader *l, const char *path, vic_err **err)
{
    const afile *f = find(l, path);
    if (f == NULL)
        return vic_err_set(err, VIC_EINVAL, "%.200s: not in the archive", path);
    if (f->size > (int64_t)PL_ARCHIVE_MAX_JSON)
        return vic_err_set(err, VIC_ETOOBIG, "%.200s: larger than %zu bytes", path,
                           PL_ARCHIVE_MAX_JSON);
    char *buf = xmalloc((size_t)f->size + 1);
    ssize_t n = pread(f->fd, buf, (size_t)f->size, 0);
    if (n != f->size) {
        free(buf);
        return vic_err_sys(err, VIC_EIO, errno, "read %s", path);
    }
    buf[n] = '\0';
    *out = buf;
    *len = (size_t)n;
    return 0;
}

/* Stores a layer file as a blob; *digest its sha256, *gzip whether it is compressed. */
static int store_layer(char digest[72], int *gzip, pl_imagestore *s, const afile *f, vic_err **err)
{
    char buf[65536];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    ssize_t n;
    off_t off = 0;
    while ((n = pread(f->fd, buf, sizeof(buf), off)) > 0) {
        if (off == 0)
            *gzip = n >= 2 && (unsigned char)buf[0] == 0x1f && (unsigned char)buf[1] == 0x8b;
        EVP_DigestUpdate(md, buf, (size_t)n);
        off += n;
    }
    pl_digest_final(digest, md);
    EVP_MD_CTX_free(md);
    if (n < 0)
        return vic_err_sys(err, VIC_EIO, errno, "read %s", f->path);
    if (pl_imagestore_has_blob(s, digest))
        return 0;
    pl_blob_writer *w = NULL;
    int rc = pl_blob_writer_new(&w, s, digest, f->size, err);
    for (off = 0; rc == 0 && (n = pread(f->fd, buf, sizeof(buf), off)) > 0; off += n)
        rc = pl_blob_writer_write(w, buf, (size_t)n, err);
    if (rc == 0 && n < 0)
        rc = vic_err_sys(err, VIC_EIO, errno, "read %s", f->path);
    if (rc == 0)
        rc = pl_blob_writer_commit(w, err);
    pl_blob_writer_free(w);
    return rc;
}

/* Loads one entry of the parsed manifest.json. */
static int load_image(json_t *loaded, loader *l, const json_t *m, vic_err **err)
{
    pl_imagestore *s = l->s;
    cleanup_free char *cbody = NULL;
    size_t clen = 0;
    int rc = read_small(&cbody, &clen, l, json_string_value(json_object_get(m, "config")), err);
    json_t *config cleanup_json = NULL;
    if (rc == 0)
        rc = pl_image_config_parse(&config, cbody, clen, err);
    if (rc < 0)
        return rc;
    char id[72];
    sha256_digest(id, cbody, clen);
    const json_t *diff_ids = json_object_get(config, "diff_ids"),
                 *files = json_object_get(m, "layers");
    if (json_array_size(diff_ids) != json_array_size(files))
        return vic_err_set(err, VIC_EINVAL, "image %s: %zu layers for the %zu of its config", id,
                           json_array_size(files), json_array_size(diff_ids));
    json_t *layers cleanup_json = json_array();
    json_t *mlayers cleanup_json = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(files, i, p)
    {
        const char *diff_id = json_string_value(json_array_get(diff_ids, i));
        const afile *f = find(l, json_string_value(p));
        if (f == NULL)
            return vic_err_set(err, VIC_EINVAL, "%.200s: not in the archive", json_string_value(p));
        char digest[72];
        int gzip = 0;
        if ((rc = store_layer(digest, &gzip, s, f, err)) < 0 ||
            (rc = pl_imagestore_add_layer(NULL, s, digest, diff_id, err)) < 0)
            return vic_err_wrap(err, rc, "layer %s", json_string_value(p));
        const char *mt = gzip ? MT_LAYER_GZIP : MT_LAYER_TAR;
        json_array_append_new(layers,
                              json_pack("{s:s, s:s, s:I, s:s}", "digest", digest, "diff_id",
                                        diff_id, "size", (json_int_t)f->size, "media_type", mt));
        json_array_append_new(mlayers, json_pack("{s:s, s:I, s:s}", "mediaType", mt, "size",
                                                 (json_int_t)f->size, "digest", digest));
    }
    /* a schema2 manifest of its own, so that the image is whole (and can be pushed) */
    json_t *manifest cleanup_json =
        json_pack("{s:i, s:s, s:{s:s, s:I, s:s}, s:O}", "schemaVersion", 2, "mediaType",
                  PL_MT_DOCKER_MANIFEST, "config", "mediaType", MT_CONFIG, "size", (json_int_t)clen,
                  "digest", id, "layers", mlayers);
    cleanup_free char *mtext = json_dumps(manifest, JSON_COMPACT);
    char mdigest[72];
    sha256_digest(mdigest, mtext, strlen(mtext));
    if ((rc = pl_imagestore_put_blob(s, id, cbody, clen, err)) < 0 ||
        (rc = pl_imagestore_put_blob(s, mdigest, mtext, strlen(mtext), err)) < 0)
        return rc;
    json_t *image cleanup_json =
        json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:O}", "id", id, "manifest_digest", mdigest,
                  "media_type", PL_MT_DOCKER_MANIFEST, "config", json_object_get(config, "config"),
                  "architecture", json_object_get(config, "architecture"), "os",
                  json_object_get(config, "os"), "created", json_object_get(config, "created"),
                  "layers", layers);
    const json_t *tags = json_object_get(m, "repo_tags");
    const char *first = json_string_value(json_array_get(tags, 0));
    if ((rc = pl_imagestore_add_image(NULL, s, image, first, NULL, err)) < 0)
        return rc;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        if (i > 0 && (rc = pl_imagestore_tag(s, id, json_string_value(t), err)) < 0)
            return rc;
        cleanup_free char *f = familiar(json_string_value(t));
        json_array_append_new(loaded, json_sprintf("Loaded image: %s", f));
    }
    if (first == NULL)
        json_array_append_new(loaded, json_sprintf("Loaded image ID: %s", id));
    return 0;
}

int pl_image_load(json_t **out, pl_imagestore *s, int fd, vic_err **err)
{
    *out = NULL;
    loader l = {.s = s};
    int rc = read_archive(&l, fd, err);
    cleanup_free char *body = NULL;
    size_t len = 0;
    json_t *m cleanup_json = NULL;
    if (rc == 0 && find(&l, "manifest.json") == NULL)
        rc = vic_err_set(err, VIC_EINVAL,
                         "no manifest.json in the archive: not one docker save "
                         "writes");
    if (rc == 0)
        rc = read_small(&body, &len, &l, "manifest.json", err);
    if (rc == 0)
        rc = pl_archive_manifest_parse(&m, body, len, err);
    json_t *loaded cleanup_json = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(m, i, e)
    {
        if (rc == 0)
            rc = load_image(loaded, &l, e, err);
    }
    loader_clear(&l);
    if (rc < 0)
        return rc;
    *out = steal_ptr(loaded);
    return 0;
}
