#include "portlayer/volumes.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/file.h"
#include "lib/mem.h"
#include "lib/timefmt.h"

#define META_MAX      (64 * 1024)
#define LABELS_MAX    64
#define LABEL_LEN_MAX 1024

typedef struct store {
    char *label;
    char *ds_path; /* "[datastore1] folder" */
    char *dir;     /* its host directory's volumes/ */
} store;

struct pl_volumes {
    store *stores;
    size_t n;
};

bool pl_volume_name_valid(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len < 2 || len > 128)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

static bool label_valid(const char *l)
{
    size_t len = strlen(l);
    return len >= 1 && len <= 64 &&
           strspn(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_.-") == len;
}

/* Removes what a crash left half made or half removed in a store's volumes/. A store may be
 * shared by the port layers of several VCHs: a create under way in another live process
 * (".new-PID-...") is left alone. */
static void sweep(const store *s)
{
    DIR *d = opendir(s->dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, ".new-", 5) == 0) {
            long pid = strtol(e->d_name + 5, NULL, 10);
            if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
                continue;
        } else if (strncmp(e->d_name, ".gone-", 6) != 0) {
            continue;
        }
        cleanup_free char *p = xasprintf("%s/%s", s->dir, e->d_name);
        vic_err *err = NULL;
        vic_rm_rf(p, &err);
        vic_err_free(&err);
    }
    closedir(d);
}

void pl_volumes_free(pl_volumes *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        free(v->stores[i].label);
        free(v->stores[i].ds_path);
        free(v->stores[i].dir);
    }
    free(v->stores);
    free(v);
}

int pl_volumes_open(pl_volumes **out, hv_conn *hv, const char *const *stores, size_t n,
                    vic_err **err)
{
    *out = NULL;
    pl_volumes *v = xzalloc(sizeof(*v));
    v->stores = xcalloc(n ? n : 1, sizeof(store));
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(stores[i], '=');
        cleanup_free char *label = eq ? xstrndup(stores[i], (size_t)(eq - stores[i])) : NULL;
        if (label == NULL || !label_valid(label) || eq[1] != '[') {
            pl_volumes_free(v);
            return vic_err_set(err, VIC_EINVAL,
                               "volume store \"%s\": expected LABEL=[datastore] folder", stores[i]);
        }
        for (size_t j = 0; j < v->n; j++)
            if (strcmp(v->stores[j].label, label) == 0) {
                pl_volumes_free(v);
                return vic_err_set(err, VIC_EINVAL, "volume store %s is given twice", label);
            }
        cleanup_free char *host = NULL;
        int rc = hv_ds_local_path(hv, eq + 1, &host, err);
        if (rc < 0) {
            pl_volumes_free(v);
            return vic_err_wrap(err, rc, "volume store %s", label);
        }
        store *s = &v->stores[v->n];
        s->dir = xasprintf("%s/volumes", host);
        if ((mkdir(host, 0755) < 0 && errno != EEXIST) ||
            (mkdir(s->dir, 0755) < 0 && errno != EEXIST)) {
            int e = errno;
            free(s->dir);
            pl_volumes_free(v);
            return vic_err_sys(err, VIC_EIO, e, "volume store %s: %s/volumes", label, host);
        }
        s->label = xstrdup(label);
        s->ds_path = xstrdup(eq + 1);
        v->n++;
        sweep(s);
    }
    *out = v;
    return 0;
}

static const store *store_named(const pl_volumes *v, const char *label, vic_err **err)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->stores[i].label, label) == 0)
            return &v->stores[i];
    if (v->n == 0)
        vic_err_set(err, VIC_ENOTFOUND,
                    "No volume store named (%s) exists: this VCH was created without volume "
                    "stores (vic-machine create --volume-store DATASTORE/FOLDER:%s)",
                    label, label);
    else
        vic_err_set(err, VIC_ENOTFOUND, "No volume store named (%s) exists", label);
    return NULL;
}

/* The store holding volume name, or NULL (not an error: callers decide). */
static const store *store_of(const pl_volumes *v, const char *name)
{
    for (size_t i = 0; i < v->n; i++) {
        cleanup_free char *p = xasprintf("%s/%s", v->stores[i].dir, name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            return &v->stores[i];
    }
    return NULL;
}

static int check_strings(const json_t *obj, const char *what, vic_err **err)
{
    if (obj == NULL || json_is_null(obj))
        return 0;
    if (!json_is_object(obj) || json_object_size(obj) > LABELS_MAX)
        return vic_err_set(err, VIC_EINVAL, "%s: must be an object of at most %d strings", what,
                           LABELS_MAX);
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)obj, k, val)
    {
        if (!json_is_string(val) || strlen(k) == 0 || strlen(k) > LABEL_LEN_MAX ||
            strlen(json_string_value(val)) > LABEL_LEN_MAX)
            return vic_err_set(err, VIC_EINVAL, "%s.%.64s: must be a string of at most %d bytes",
                               what, k, LABEL_LEN_MAX);
    }
    return 0;
}

/* A new reference: obj when it is an object, else an empty one. */
static json_t *object_or_empty(const json_t *obj)
{
    return json_is_object(obj) ? json_incref((json_t *)obj) : json_object();
}

static json_t *describe(const store *s, const char *name, const json_t *meta)
{
    char created[32];
    vic_rfc3339_secs(created, sizeof(created),
                     json_integer_value(json_object_get(meta, "created")));
    return json_pack("{s:s, s:s, s:s, s:s++, s:o, s:o, s:b, s:s}", "name", name, "store", s->label,
                     "driver", "vsphere", "mountpoint", s->ds_path, "/volumes/", name, "labels",
                     object_or_empty(json_object_get(meta, "labels")), "options",
                     object_or_empty(json_object_get(meta, "options")), "anonymous",
                     json_is_true(json_object_get(meta, "anonymous")), "created_at", created);
}

/* The volume's metadata; a volume whose meta.json is missing or unreadable still exists and
 * reads with none (its data is what matters). */
static json_t *read_meta(const store *s, const char *name)
{
    cleanup_free char *p = xasprintf("%s/%s/meta.json", s->dir, name);
    json_error_t je;
    json_t *m = json_load_file(p, JSON_REJECT_DUPLICATES, &je);
    if (json_is_object(m))
        return m;
    json_decref(m);
    struct stat st;
    cleanup_free char *dir = xasprintf("%s/%s", s->dir, name);
    return json_pack("{s:I}", "created", (json_int_t)(stat(dir, &st) == 0 ? st.st_mtime : 0));
}

int pl_volume_create(pl_volumes *v, const pl_volume_spec *spec, json_t **out, vic_err **err)
{
    if (out)
        *out = NULL;
    char name[129];
    if (spec->name) {
        if (!pl_volume_name_valid(spec->name))
            return vic_err_set(err, VIC_EINVAL,
                               "\"%.130s\" includes invalid characters for a local volume name, "
                               "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed",
                               spec->name);
        snprintf(name, sizeof(name), "%s", spec->name);
    } else {
        unsigned char raw[32];
        vic_random_bytes(raw, sizeof(raw));
        for (int i = 0; i < 32; i++)
            snprintf(name + 2 * i, 3, "%02x", raw[i]);
    }
    int rc = check_strings(spec->labels, "labels", err);
    if (rc == 0)
        rc = check_strings(spec->options, "options", err);
    if (rc < 0)
        return rc;
    const char *label = spec->store;
    const json_t *vs = spec->options ? json_object_get(spec->options, "VolumeStore") : NULL;
    if (label == NULL && json_is_string(vs))
        label = json_string_value(vs);
    const store *s = store_named(v, label ? label : "default", err);
    if (s == NULL)
        return VIC_ENOTFOUND;
    const store *other = store_of(v, name);
    if (other)
        return vic_err_set(err, VIC_ECONFLICT, "volume %s already exists in store %s", name,
                           other->label);

    unsigned char rnd[6];
    vic_random_bytes(rnd, sizeof(rnd));
    cleanup_free char *tmp =
        xasprintf("%s/.new-%ld-%02x%02x%02x%02x%02x%02x", s->dir, (long)getpid(), rnd[0], rnd[1],
                  rnd[2], rnd[3], rnd[4], rnd[5]);
    if (mkdir(tmp, 0755) < 0)
        return vic_err_sys(err, VIC_EIO, errno, "create volume %s", name);
    json_t *meta cleanup_json =
        json_pack("{s:s, s:s, s:o, s:o, s:b, s:I}", "name", name, "store", s->label, "labels",
                  object_or_empty(spec->labels), "options", object_or_empty(spec->options),
                  "anonymous", spec->name == NULL, "created", (json_int_t)time(NULL));
    cleanup_free char *text = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
    cleanup_free char *meta_path = xasprintf("%s/meta.json", tmp);
    cleanup_free char *data = xasprintf("%s/data", tmp);
    cleanup_free char *dest = xasprintf("%s/%s", s->dir, name);
    if ((rc = vic_file_write_atomic(meta_path, text, strlen(text), 0644, err)) == 0 &&
        mkdir(data, 0755) < 0)
        rc = vic_err_sys(err, VIC_EIO, errno, "create volume %s", name);
    if (rc == 0 && rename(tmp, dest) < 0) {
        int e = errno;
        rc = e == EEXIST || e == ENOTEMPTY
                 ? vic_err_set(err, VIC_ECONFLICT, "volume %s already exists", name)
                 : vic_err_sys(err, VIC_EIO, e, "create volume %s", name);
    }
    if (rc < 0) {
        vic_err *ignore = NULL;
        vic_rm_rf(tmp, &ignore);
        vic_err_free(&ignore);
        return rc;
    }
    if (out)
        *out = describe(s, name, meta);
    return 0;
}

static const store *find(const pl_volumes *v, const char *name, vic_err **err)
{
    const store *s = pl_volume_name_valid(name) ? store_of(v, name) : NULL;
    if (s == NULL)
        vic_err_set(err, VIC_ENOTFOUND, "get %.130s: no such volume", name);
    return s;
}

int pl_volume_get(pl_volumes *v, const char *name, json_t **out, vic_err **err)
{
    const store *s = find(v, name, err);
    if (s == NULL)
        return VIC_ENOTFOUND;
    json_t *meta cleanup_json = read_meta(s, name);
    *out = describe(s, name, meta);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));
    return strcmp(x, y);
}

int pl_volume_list(pl_volumes *v, json_t **out, vic_err **err)
{
    json_t *all = json_array();
    for (size_t i = 0; i < v->n; i++) {
        DIR *d = opendir(v->stores[i].dir);
        if (d == NULL) {
            json_decref(all);
            return vic_err_sys(err, VIC_EIO, errno, "volume store %s", v->stores[i].label);
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.' || !pl_volume_name_valid(e->d_name))
                continue;
            json_t *meta cleanup_json = read_meta(&v->stores[i], e->d_name);
            json_array_append_new(all, describe(&v->stores[i], e->d_name, meta));
        }
        closedir(d);
    }
    size_t n = json_array_size(all);
    json_t **items = xcalloc(n ? n : 1, sizeof(json_t *));
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(all, i));
    qsort(items, n, sizeof(json_t *), by_name);
    json_decref(all);
    *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(*out, items[i]);
    free(items);
    return 0;
}

int pl_volume_disk(pl_volumes *v, const char *name, char **out, vic_err **err)
{
    const store *s = find(v, name, err);
    if (s == NULL)
        return VIC_ENOTFOUND;
    *out = xasprintf("%s/volumes/%s/data", s->ds_path, name);
    return 0;
}

int pl_volume_remove(pl_volumes *v, const char *name, vic_err **err)
{
    const store *s = find(v, name, err);
    if (s == NULL)
        return VIC_ENOTFOUND;
    unsigned char rnd[6];
    vic_random_bytes(rnd, sizeof(rnd));
    cleanup_free char *from = xasprintf("%s/%s", s->dir, name);
    cleanup_free char *gone = xasprintf("%s/.gone-%02x%02x%02x%02x%02x%02x", s->dir, rnd[0], rnd[1],
                                        rnd[2], rnd[3], rnd[4], rnd[5]);
    if (rename(from, gone) < 0)
        return errno == ENOENT ? vic_err_set(err, VIC_ENOTFOUND, "get %s: no such volume", name)
                               : vic_err_sys(err, VIC_EIO, errno, "remove volume %s", name);
    return vic_rm_rf(gone, err);
}
