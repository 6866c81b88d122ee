/*
 * vsphere.c - the hv.h driver for vCenter and ESX (vim25 SOAP, see soap.h).
 *
 * References are "Type:moref" strings. Inventory paths are resolved with
 * SearchIndex.FindByInventoryPath; paths of objects are rebuilt from one PropertyCollector call
 * that follows the parent chain.
 *
 * Change versions: config.changeVersion where the server keeps one (vCenter, ESX; passed back
 * in the reconfigure spec so the server refuses stale writes with ConcurrentAccess). A server
 * that keeps none (vcsim) gets a version derived from a hash of the VM's extraConfig, checked
 * before the write: concurrent writers through one connection are still serialised by the
 * driver, but two connections may race (only on such servers).
 */
#include <errno.h>
#include <fcntl.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "hypervisor/vsphere/soap.h"
#include "lib/cleanup.h"
#include "lib/log.h"

#define V(c) ((vs_conn *)(c))

#define BUF_LIT(b, s) vic_buf_append((b), (s), strlen(s))

static const char *kind_name(hv_kind k)
{
    switch (k) {
    case HV_DATACENTER:
        return "datacenter";
    case HV_COMPUTE:
        return "compute resource";
    case HV_POOL:
        return "resource pool";
    case HV_DATASTORE:
        return "datastore";
    case HV_NETWORK:
        return "network";
    case HV_FOLDER:
        return "folder";
    case HV_VM:
        return "VM";
    }
    return "object";
}

/* The managed object types that count as kind (NULL-terminated). */
static const char *const *kind_types(hv_kind k)
{
    static const char *const dc[] = {"Datacenter", NULL};
    static const char *const cr[] = {"ClusterComputeResource", "ComputeResource", NULL};
    static const char *const rp[] = {"ResourcePool", "VirtualApp", NULL};
    static const char *const ds[] = {"Datastore", NULL};
    static const char *const net[] = {"Network", "DistributedVirtualPortgroup", "OpaqueNetwork",
                                      NULL};
    static const char *const fo[] = {"Folder", NULL};
    static const char *const vm[] = {"VirtualMachine", NULL};
    switch (k) {
    case HV_DATACENTER:
        return dc;
    case HV_COMPUTE:
        return cr;
    case HV_POOL:
        return rp;
    case HV_DATASTORE:
        return ds;
    case HV_NETWORK:
        return net;
    case HV_FOLDER:
        return fo;
    case HV_VM:
        return vm;
    }
    return fo;
}

static bool ref_is_kind(const char *ref, hv_kind k)
{
    const char *const *t = kind_types(k);
    size_t rl = strcspn(ref, ":");
    for (; *t; t++)
        if (strlen(*t) == rl && strncmp(ref, *t, rl) == 0)
            return true;
    return false;
}

static int set_ref(hv_ref *out, const char *s, vic_err **err)
{
    if (strlen(s) >= sizeof(out->id))
        return vic_err_set(err, VIC_EUNSUPPORTED, "object reference %.60s... is too long", s);
    snprintf(out->id, sizeof(out->id), "%s", s);
    return 0;
}

/* ---- inventory ---- */

/* Resolves an inventory path to a reference of any type ("" when nothing is there). */
static int find_path(vs_conn *c, const char *path, char *out, size_t cap, vic_err **err)
{
    while (*path == '/')
        path++;
    vic_buf b cleanup_buf = VIC_BUF_INIT;
    vs_xml_elem(&b, "inventoryPath", path);
    return vs_call_ref(c, "FindByInventoryPath", c->search_index, b.data, out, cap, err);
}

/* Objects of the given types under container (recursive), with properties paths: an array of
 * {"ref", "props"}. */
static int view_list(vs_conn *c, const char *container, const char *const *types,
                     const char *const *paths, json_t **out, vic_err **err)
{
    *out = NULL;
    vic_buf b cleanup_buf = VIC_BUF_INIT;
    vs_xml_ref(&b, "container", container);
    for (size_t i = 0; types[i]; i++)
        vs_xml_elem(&b, "type", types[i]);
    BUF_LIT(&b, "<recursive>true</recursive>");
    char view[HV_REF_MAX];
    int rc =
        vs_call_ref(c, "CreateContainerView", c->view_manager, b.data, view, sizeof(view), err);
    if (rc < 0)
        return rc;
    vic_buf s cleanup_buf = VIC_BUF_INIT;
    for (size_t i = 0; types[i]; i++) {
        vic_buf_appendf(&s, "<propSet><type>%s</type>", types[i]);
        for (size_t j = 0; paths[j]; j++)
            vs_xml_elem(&s, "pathSet", paths[j]);
        BUF_LIT(&s, "</propSet>");
    }
    BUF_LIT(&s, "<objectSet>");
    vs_xml_ref(&s, "obj", view);
    BUF_LIT(&s, "<skip>true</skip><selectSet xsi:type=\"TraversalSpec\"><name>view</name>"
                "<type>ContainerView</type><path>view</path><skip>false</skip></selectSet>"
                "</objectSet>");
    rc = vs_retrieve(c, s.data, out, err);
    xmlDoc *doc cleanup_xmldoc = NULL;
    xmlNode *resp = NULL;
    vs_call(c, "DestroyView", view, NULL, &doc, &resp, NULL);
    return rc;
}

/* The chain of ancestors of ref: an object ref -> {"name", "parent"}, one call. */
static int ancestry(vs_conn *c, const char *ref, json_t **out, vic_err **err)
{
    *out = NULL;
    vic_buf s cleanup_buf = VIC_BUF_INIT;
    BUF_LIT(&s, "<propSet><type>ManagedEntity</type><pathSet>name</pathSet>"
                "<pathSet>parent</pathSet></propSet><objectSet>");
    vs_xml_ref(&s, "obj", ref);
    BUF_LIT(&s, "<skip>false</skip><selectSet xsi:type=\"TraversalSpec\"><name>up</name>"
                "<type>ManagedEntity</type><path>parent</path><skip>false</skip>"
                "<selectSet><name>up</name></selectSet></selectSet></objectSet>");
    json_t *objs cleanup_json = NULL;
    int rc = vs_retrieve(c, s.data, &objs, err);
    if (rc < 0)
        return rc;
    json_t *map = json_object();
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        json_object_set(map, json_string_value(json_object_get(o, "ref")),
                        json_object_get(o, "props"));
    }
    *out = map;
    return 0;
}

/* The inventory path of ref in a map of ref -> {"name", "parent"}; optionally the datacenter
 * above it (ref and path). */
static char *path_in_map(json_t *map, const char *ref, char *dc_ref, size_t dcap, char **dc_path)
{
    const char *names[64];
    const char *refs[64];
    size_t n = 0;
    const char *cur = ref;
    while (cur && n < 64) {
        json_t *p = json_object_get(map, cur);
        if (p == NULL)
            break;
        const char *parent = json_string_value(json_object_get(p, "parent"));
        if (parent == NULL)
            break; /* the root folder is not part of paths */
        names[n] = json_string_value(json_object_get(p, "name"));
        refs[n] = cur;
        n++;
        cur = parent;
    }
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    if (dc_ref)
        dc_ref[0] = '\0';
    for (size_t i = n; i-- > 0;) {
        vic_buf_appendf(&b, "/%s", names[i] ? names[i] : "?");
        if (strncmp(refs[i], "Datacenter:", 11) == 0) {
            if (dc_ref)
                snprintf(dc_ref, dcap, "%s", refs[i]);
            if (dc_path) {
                free(*dc_path);
                *dc_path = xstrdup(b.data);
            }
        }
    }
    return vic_buf_steal(&b);
}

static int ref_path(vs_conn *c, const char *ref, char **path, char *dc_ref, size_t dcap,
                    char **dc_path, vic_err **err)
{
    json_t *map cleanup_json = NULL;
    int rc = ancestry(c, ref, &map, err);
    if (rc < 0)
        return rc;
    if (json_object_get(map, ref) == NULL)
        return vic_err_set(err, VIC_ENOTFOUND, "%s not found", ref);
    *path = path_in_map(map, ref, dc_ref, dcap, dc_path);
    return 0;
}

static int find_by_name(vs_conn *c, hv_kind kind, const char *name, char *out, size_t cap,
                        vic_err **err)
{
    static const char *const paths[] = {"name", NULL};
    json_t *objs cleanup_json = NULL;
    int rc = view_list(c, c->root_folder, kind_types(kind), paths, &objs, err);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *o;
    out[0] = '\0';
    json_array_foreach(objs, i, o)
    {
        const char *n = json_string_value(json_object_get(json_object_get(o, "props"), "name"));
        if (n && strcmp(n, name) == 0) {
            if (out[0])
                return vic_err_set(err, VIC_ECONFLICT,
                                   "%s name \"%s\" is ambiguous; give its inventory path",
                                   kind_name(kind), name);
            snprintf(out, cap, "%s", json_string_value(json_object_get(o, "ref")));
        }
    }
    if (!out[0])
        return vic_err_set(err, VIC_ENOTFOUND, "%s \"%s\" not found", kind_name(kind), name);
    return 0;
}

static int vs_find(hv_conn *hc, hv_kind kind, const char *path, hv_ref *out, vic_err **err)
{
    vs_conn *c = V(hc);
    if (path == NULL || *path == '\0')
        return vic_err_set(err, VIC_EINVAL, "no %s path given", kind_name(kind));
    char ref[512];
    int rc;
    /* Datastores and networks may be named without a path. */
    if (strchr(path, '/') == NULL && (kind == HV_DATASTORE || kind == HV_NETWORK))
        rc = find_by_name(c, kind, path, ref, sizeof(ref), err);
    else
        rc = find_path(c, path, ref, sizeof(ref), err);
    if (rc < 0)
        return rc;
    if (!ref[0])
        return vic_err_set(err, VIC_ENOTFOUND, "%s \"%s\" not found on %s", kind_name(kind), path,
                           c->host);
    if (!ref_is_kind(ref, kind))
        return vic_err_set(err, VIC_ENOTFOUND, "\"%s\" is a %.*s, not a %s", path,
                           (int)strcspn(ref, ":"), ref, kind_name(kind));
    return set_ref(out, ref, err);
}

static int vs_list(hv_conn *hc, hv_kind kind, const char *parent, json_t **out, vic_err **err);

/* ---- pools ---- */

static const char *shares_level(const char *s, long long *value, bool cpu)
{
    if (s == NULL || *s == '\0' || strcmp(s, "normal") == 0) {
        *value = cpu ? 4000 : 163840;
        return "normal";
    }
    if (strcmp(s, "low") == 0) {
        *value = cpu ? 2000 : 81920;
        return "low";
    }
    if (strcmp(s, "high") == 0) {
        *value = cpu ? 8000 : 327680;
        return "high";
    }
    *value = atoll(s);
    return "custom";
}

static void alloc_xml(vic_buf *b, const char *tag, const hv_alloc *a, bool cpu)
{
    long long sv;
    const char *level = shares_level(a->shares, &sv, cpu);
    vic_buf_appendf(b,
                    "<%s><reservation>%lld</reservation><expandableReservation>true"
                    "</expandableReservation><limit>%lld</limit><shares><shares>%lld</shares>"
                    "<level>%s</level></shares></%s>",
                    tag, (long long)a->reservation, (long long)a->limit, sv, level, tag);
}

static void pool_spec_xml(vic_buf *b, const char *tag, const hv_pool_spec *spec)
{
    vic_buf_appendf(b, "<%s>", tag);
    alloc_xml(b, "cpuAllocation", &spec->cpu, true);
    alloc_xml(b, "memoryAllocation", &spec->memory, false);
    vic_buf_appendf(b, "</%s>", tag);
}

/* A pool path, or a compute resource path standing for its root pool. */
static int find_pool(vs_conn *c, const char *path, char *out, size_t cap, vic_err **err)
{
    if (path == NULL || *path == '\0')
        return vic_err_set(err, VIC_EINVAL, "no resource pool path given");
    int rc = find_path(c, path, out, cap, err);
    if (rc < 0)
        return rc;
    if (!out[0])
        return vic_err_set(err, VIC_ENOTFOUND, "resource pool \"%s\" not found on %s", path,
                           c->host);
    if (ref_is_kind(out, HV_COMPUTE)) {
        static const char *const paths[] = {"resourcePool", NULL};
        json_t *p cleanup_json = NULL;
        if ((rc = vs_props(c, out, paths, &p, err)) < 0)
            return rc;
        const char *rp = json_string_value(json_object_get(p, "resourcePool"));
        if (rp == NULL)
            return vic_err_set(err, VIC_ENOTFOUND, "%s has no resource pool", path);
        snprintf(out, cap, "%s", rp);
    }
    if (!ref_is_kind(out, HV_POOL))
        return vic_err_set(err, VIC_ENOTFOUND, "\"%s\" is a %.*s, not a resource pool", path,
                           (int)strcspn(out, ":"), out);
    return 0;
}

static int vs_pool_create(hv_conn *hc, const char *parent, const char *name,
                          const hv_pool_spec *spec, hv_ref *out, vic_err **err)
{
    vs_conn *c = V(hc);
    if (name == NULL || *name == '\0' || strlen(name) > 80 || strchr(name, '/'))
        return vic_err_set(err, VIC_EINVAL, "name: \"%s\" is not a valid pool name",
                           name ? name : "");
    int rc;
    char pref[HV_REF_MAX];
    if ((rc = find_pool(c, parent, pref, sizeof(pref), err)) < 0)
        return vic_err_wrap(err, rc, "parent");
    vic_buf b cleanup_buf = VIC_BUF_INIT;
    vs_xml_elem(&b, "name", name);
    pool_spec_xml(&b, "spec", spec);
    char ref[HV_REF_MAX];
    rc = vs_call_ref(c, "CreateResourcePool", pref, b.data, ref, sizeof(ref), err);
    if (rc == VIC_ECONFLICT)
        return vic_err_set(err, VIC_ECONFLICT, "resource pool %s/%s exists", parent, name);
    if (rc < 0)
        return vic_err_wrap(err, rc, "create resource pool %s/%s", parent, name);
    return set_ref(out, ref, err);
}

static int check_pool_ref(const hv_ref *pool, vic_err **err)
{
    if (!ref_is_kind(pool->id, HV_POOL) || strchr(pool->id, ':') == NULL)
        return vic_err_set(err, VIC_EINVAL, "\"%s\" is not a resource pool reference", pool->id);
    return 0;
}

static int vs_pool_update(hv_conn *hc, const hv_ref *pool, const hv_pool_spec *spec, vic_err **err)
{
    vs_conn *c = V(hc);
    int rc;
    if ((rc = check_pool_ref(pool, err)) < 0)
        return rc;
    vic_buf b cleanup_buf = VIC_BUF_INIT;
    pool_spec_xml(&b, "config", spec);
    xmlDoc *doc cleanup_xmldoc = NULL;
    xmlNode *resp = NULL;
    rc = vs_call(c, "UpdateConfig", pool->id, b.data, &doc, &resp, err);
    return rc < 0 ? vic_err_wrap(err, rc, "update resource pool %s", pool->id) : 0;
}

static void alloc_from_json(hv_alloc *a, json_t *j)
{
    json_t *l = json_object_get(j, "limit");
    a->limit = l ? atoll(json_string_value(l) ?: "-1") : -1;
    a->reservation = atoll(json_string_value(json_object_get(j, "reservation")) ?: "0");
    json_t *sh = json_object_get(j, "shares");
    const char *level = json_string_value(json_object_get(sh, "level"));
    if (level && strcmp(level, "custom") == 0)
        snprintf(a->shares, sizeof(a->shares), "%s",
                 json_string_value(json_object_get(sh, "shares")) ?: "0");
    else
        snprintf(a->shares, sizeof(a->shares), "%s", level ? level : "normal");
}

static int vs_pool_get(hv_conn *hc, const hv_ref *pool, hv_pool_info *out, vic_err **err)
{
    vs_conn *c = V(hc);
    int rc;
    if ((rc = check_pool_ref(pool, err)) < 0)
        return rc;
    static const char *const paths[] = {"config", NULL};
    json_t *p cleanup_json = NULL;
    if ((rc = vs_props(c, pool->id, paths, &p, err)) < 0)
        return rc;
    cleanup_free char *path = NULL;
    if ((rc = ref_path(c, pool->id, &path, NULL, 0, NULL, err)) < 0)
        return rc;
    memset(out, 0, sizeof(*out));
    out->ref = *pool;
    snprintf(out->path, sizeof(out->path), "%s", path);
    json_t *cfg = json_object_get(p, "config");
    alloc_from_json(&out->spec.cpu, json_object_get(cfg, "cpuAllocation"));
    alloc_from_json(&out->spec.memory, json_object_get(cfg, "memoryAllocation"));
    snprintf(out->cpu_enforcement, sizeof(out->cpu_enforcement), "enforced");
    snprintf(out->memory_enforcement, sizeof(out->memory_enforcement), "enforced");
    return 0;
}

static size_t array_len(json_t *a)
{
    return json_is_array(a) ? json_array_size(a) : 0;
}

static int vs_pool_destroy(hv_conn *hc, const hv_ref *pool, vic_err **err)
{
    vs_conn *c = V(hc);
    int rc;
    if ((rc = check_pool_ref(pool, err)) < 0)
        return rc;
    static const char *const paths[] = {"name", "parent", "vm", "resourcePool", NULL};
    json_t *p cleanup_json = NULL;
    if ((rc = vs_props(c, pool->id, paths, &p, err)) < 0)
        return rc;
    const char *name = json_string_value(json_object_get(p, "name")) ?: pool->id;
    const char *parent = json_string_value(json_object_get(p, "parent")) ?: "";
    if (!ref_is_kind(parent, HV_POOL))
        return vic_err_set(err, VIC_EINVAL, "the root resource pool cannot be destroyed");
    size_t pools = array_len(json_object_get(p, "resourcePool"));
    if (pools)
        return vic_err_set(err, VIC_ECONFLICT, "resource pool %s holds %zu pool%s", name, pools,
                           pools == 1 ? "" : "s");
    size_t vms = array_len(json_object_get(p, "vm"));
    if (vms)
        return vic_err_set(err, VIC_ECONFLICT, "resource pool %s holds %zu VM%s", name, vms,
                           vms == 1 ? "" : "s");
    char task[HV_REF_MAX];
    if ((rc = vs_call_ref(c, "Destroy_Task", pool->id, NULL, task, sizeof(task), err)) < 0 ||
        (rc = vs_wait_task(c, task, NULL, err)) < 0)
        return vic_err_wrap(err, rc, "destroy resource pool %s", name);
    return 0;
}

/* ---- datastore paths ---- */

/* "[ds] rel/path" -> ds name and relative path (no "..", no leading "/"). */
static int ds_split(const char *ds_path, char *ds, size_t dcap, const char **rel, vic_err **err)
{
    const char *end = ds_path && ds_path[0] == '[' ? strchr(ds_path, ']') : NULL;
    if (end == NULL || end == ds_path + 1 || (size_t)(end - ds_path - 1) >= dcap)
        return vic_err_set(err, VIC_EINVAL, "\"%s\" is not a datastore path (\"[ds] path\")",
                           ds_path ? ds_path : "");
    memcpy(ds, ds_path + 1, (size_t)(end - ds_path - 1));
    ds[end - ds_path - 1] = '\0';
    const char *r = end + 1;
    while (*r == ' ')
        r++;
    for (const char *p = r; *p;) {
        size_t n = strcspn(p, "/");
        if ((n == 2 && strncmp(p, "..", 2) == 0) || (n == 0 && p == r))
            return vic_err_set(err, VIC_EINVAL, "\"%s\": the path must stay inside the datastore",
                               ds_path);
        p += n;
        if (*p == '/')
            p++;
    }
    if (strpbrk(r, "\r\n") || strpbrk(ds, "[]/\r\n"))
        return vic_err_set(err, VIC_EINVAL, "\"%s\" is not a datastore path", ds_path);
    *rel = r;
    return 0;
}

/* The datastore named ds: its reference and its datacenter (ref and path, cached). */
static int ds_locate(vs_conn *c, const char *ds, char *ds_ref, size_t rcap, char *dc_ref,
                     size_t dcap, char **dc_path, vic_err **err)
{
    pthread_mutex_lock(&c->cache_mu);
    json_t *e = json_incref(json_object_get(c->ds_cache, ds));
    pthread_mutex_unlock(&c->cache_mu);
    if (e) {
        snprintf(ds_ref, rcap, "%s", json_string_value(json_object_get(e, "ref")));
        snprintf(dc_ref, dcap, "%s", json_string_value(json_object_get(e, "dc")));
        *dc_path = xstrdup(json_string_value(json_object_get(e, "dc_path")));
        json_decref(e);
        return 0;
    }
    int rc = find_by_name(c, HV_DATASTORE, ds, ds_ref, rcap, err);
    if (rc < 0)
        return rc;
    cleanup_free char *path = NULL;
    if ((rc = ref_path(c, ds_ref, &path, dc_ref, dcap, dc_path, err)) < 0)
        return rc;
    if (*dc_path == NULL)
        return vic_err_set(err, VIC_EUPSTREAM, "datastore %s is in no datacenter", ds);
    pthread_mutex_lock(&c->cache_mu);
    json_object_set_new(
        c->ds_cache, ds,
        json_pack("{s:s, s:s, s:s}", "ref", ds_ref, "dc", dc_ref, "dc_path", *dc_path));
    pthread_mutex_unlock(&c->cache_mu);
    return 0;
}

static void url_escape(vic_buf *b, const char *s, bool keep_slash)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~", ch) || (keep_slash && ch == '/'))
            vic_buf_append(b, s, 1);
        else
            vic_buf_appendf(b, "%%%02X", ch);
    }
}

static int ds_url(vs_conn *c, const char *ds_path, char **out, char *dc_ref, size_t dcap,
                  vic_err **err)
{
    char ds[256], ds_ref[HV_REF_MAX];
    const char *rel;
    int rc = ds_split(ds_path, ds, sizeof(ds), &rel, err);
    if (rc < 0)
        return rc;
    cleanup_free char *dc_path = NULL;
    if ((rc = ds_locate(c, ds, ds_ref, sizeof(ds_ref), dc_ref, dcap, &dc_path, err)) < 0)
        return rc;
    vic_buf b = VIC_BUF_INIT;
    BUF_LIT(&b, "/folder/");
    url_escape(&b, rel, true);
    BUF_LIT(&b, "?dcPath=");
    url_escape(&b, dc_path + 1, true);
    BUF_LIT(&b, "&dsName=");
    url_escape(&b, ds, false);
    *out = vic_buf_steal(&b);
    return 0;
}

static int http_error(long status, const char *what, const char *ds_path, vic_err **err)
{
    if (status == 404)
        return vic_err_set(err, VIC_ENOTFOUND, "%s: %s not found", what, ds_path);
    if (status == 401 || status == 403)
        return vic_err_set(err, VIC_EAUTH, "%s %s: HTTP %ld", what, ds_path, status);
    return vic_err_set(err, VIC_EUPSTREAM, "%s %s: HTTP %ld", what, ds_path, status);
}

static int vs_ds_upload(hv_conn *hc, const char *ds_path, const char *local_file, vic_err **err)
{
    vs_conn *c = V(hc);
    cleanup_free char *url = NULL;
    char dc[HV_REF_MAX];
    int rc = ds_url(c, ds_path, &url, dc, sizeof(dc), err);
    if (rc < 0)
        return rc;
    long status = 0;
    if ((rc = vs_http_file(c, "PUT", url, -1, local_file, &status, err)) < 0)
        return vic_err_wrap(err, rc, "upload %s", ds_path);
    if (status != 200 && status != 201 && status != 204)
        return http_error(status, "upload", ds_path, err);
    return 0;
}

static int vs_ds_download(hv_conn *hc, const char *ds_path, const char *local_file, vic_err **err)
{
    vs_conn *c = V(hc);
    cleanup_free char *url = NULL;
    char dc[HV_REF_MAX];
    int rc = ds_url(c, ds_path, &url, dc, sizeof(dc), err);
    if (rc < 0)
        return rc;
    cleanup_free char *tmp = xasprintf("%s.part-%ld", local_file, (long)getpid());
    int fd cleanup_close = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "create %s", tmp);
    long status = 0;
    rc = vs_http_file(c, "GET", url, fd, NULL, &status, err);
    if (rc == 0 && status != 200)
        rc = http_error(status, "download", ds_path, err);
    if (rc == 0 && fsync(fd) < 0)
        rc = vic_err_sys(err, VIC_EIO, errno, "fsync %s", tmp);
    if (rc == 0 && rename(tmp, local_file) < 0)
        rc = vic_err_sys(err, VIC_EIO, errno, "rename %s", local_file);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int vs_ds_mkdir(hv_conn *hc, const char *ds_path, vic_err **err)
{
    vs_conn *c = V(hc);
    cleanup_free char *url = NULL;
    char dc[HV_REF_MAX];
    int rc = ds_url(c, ds_path, &url, dc, sizeof(dc), err);
    if (rc < 0)
        return rc;
    vic_buf b cleanup_buf = VIC_BUF_INIT;
    vs_xml_elem(&b, "name", ds_path);
    vs_xml_ref(&b, "datacenter", dc);
    BUF_LIT(&b, "<createParentDirectories>true</createParentDirectories>");
    xmlDoc *doc cleanup_xmldoc = NULL;
    xmlNode *resp = NULL;
    rc = vs_call(c, "MakeDirectory", c->file_manager, b.data, &doc, &resp, err);
    if (rc == VIC_ECONFLICT) {
        vic_err_free(err);
        return 0; /* exists already: like mkdir -p */
    }
    return rc < 0 ? vic_err_wrap(err, rc, "mkdir %s", ds_path) : 0;
}

static int vs_ds_delete(hv_conn *hc, const char *ds_path, vic_err **err)
{
    vs_conn *c = V(hc);
    char ds[256];
    const char *rel;
    int rc = ds_split(ds_path, ds, sizeof(ds), &rel, err);
    if (rc < 0)
        return rc;
    if (*rel == '\0')
        return vic_err_set(err, VIC_EINVAL, "refusing to delete the datastore root");
    cleanup_free char *url = NULL;
    char dc[HV_REF_MAX];
    if ((rc = ds_url(c, ds_path, &url, dc, sizeof(dc), err)) < 0)
        return rc;
    vic_buf b cleanup_buf = VIC_BUF_INIT;
    vs_xml_elem(&b, "name", ds_path);
    vs_xml_ref(&b, "datacenter", dc);
    char task[HV_REF_MAX];
    if ((rc = vs_call_ref(c, "DeleteDatastoreFile_Task", c->file_manager, b.data, task,
                          sizeof(task), err)) < 0 ||
        (rc = vs_wait_task(c, task, NULL, err)) < 0)
        return vic_err_wrap(err, rc, "delete %s", ds_path);
    return 0;
}

static int vs_ds_local_path(hv_conn *hc, const char *ds_path, char **out, vic_err **err)
{
    (void)hc;
    *out = NULL;
    return vic_err_set(err, VIC_EUNSUPPORTED,
                       "%s: datastore files of a vSphere target have no local path; use "
                       "upload/download",
                       ds_path ? ds_path : "");
}

/* ---- VMs ---- */

static int check_vm_ref(const hv_ref *vm, vic_err **err)
{
    if (strncmp(vm->id, "VirtualMachine:", 15) != 0 || vm->id[15] == '\0')
        return vic_err_set(err, VIC_EINVAL, "\"%s\" is not a VM reference", vm->id);
    return 0;
}

static void option_xml(vic_buf *b, const char *tag, const char *key, const char *value)
{
    vic_buf_appendf(b, "<%s xsi:type=\"OptionValue\">", tag);
    vs_xml_elem(b, "key", key);
    BUF_LIT(b, "<value xsi:type=\"xsd:string\">");
    vs_xml_escape(b, value);
    vic_buf_appendf(b, "</value></%s>", tag);
}

static const char connectable_xml[] =
    "<connectable><startConnected>true</startConnected><allowGuestControl>false"
    "</allowGuestControl><connected>false</connected></connectable>";

/* The device backing for a NIC on network ref (a port group needs its switch's uuid). */
static int nic_xml(vs_conn *c, vic_buf *b, int key, const char *net, vic_err **err)
{
    vic_buf_appendf(b,
                    "<deviceChange><operation>add</operation><device xsi:type=\"VirtualVmxnet3\">"
                    "<key>%d</key>",
                    key);
    int rc;
    if (strncmp(net, "DistributedVirtualPortgroup:", 28) == 0) {
        static const char *const paths[] = {"key", "config.distributedVirtualSwitch", NULL};
        static const char *const dpaths[] = {"uuid", NULL};
        json_t *p cleanup_json = NULL;
        json_t *d cleanup_json = NULL;
        if ((rc = vs_props(c, net, paths, &p, err)) < 0)
            return rc;
        const char *dvs =
            json_string_value(json_object_get(p, "config.distributedVirtualSwitch")) ?: "";
        if ((rc = vs_props(c, dvs, dpaths, &d, err)) < 0)
            return rc;
        BUF_LIT(b, "<backing xsi:type=\"VirtualEthernetCardDistributedVirtualPortBackingInfo\">"
                   "<port>");
        vs_xml_elem(b, "switchUuid", json_string_value(json_object_get(d, "uuid")) ?: "");
        vs_xml_elem(b, "portgroupKey", json_string_value(json_object_get(p, "key")) ?: "");
        BUF_LIT(b, "</port></backing>");
    } else {
        static const char *const paths[] = {"name", NULL};
        json_t *p cleanup_json = NULL;
        if ((rc = vs_props(c, net, paths, &p, err)) < 0)
            return rc;
        BUF_LIT(b, "<backing xsi:type=\"VirtualEthernetCardNetworkBackingInfo\">");
        vs_xml_elem(b, "deviceName", json_string_value(json_object_get(p, "name")) ?: "");
        vs_xml_ref(b, "network", net);
        BUF_LIT(b, "</backing>");
    }
    vic_buf_appendf(b, "%s<addressType>generated</addressType></device></deviceChange>",
                    connectable_xml);
    return 0;
}

static int vs_vm_create(hv_conn *hc, const hv_vm_spec *spec, hv_ref *out, vic_err **err)
{
    vs_conn *c = V(hc);
    /* hv_vm_create checked the name, cpus, memory_mb and the extra_config values */
    if (spec->datastore == NULL || *spec->datastore == '\0')
        return vic_err_set(err, VIC_EINVAL, "datastore: required");
    if (spec->limits.cpu_millis || spec->limits.pids)
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "limits: a VM's CPU time and process limits are not set on vSphere "
                           "targets yet (give it whole vCPUs)");
    const char *k;
    json_t *v;
    char ds[256];
    snprintf(ds, sizeof(ds), "%s", spec->datastore);
    if (ds[0] == '[') {
        memmove(ds, ds + 1, strlen(ds));
        ds[strcspn(ds, "]")] = '\0';
    }
    char pool[HV_REF_MAX], ds_ref[HV_REF_MAX], dc[HV_REF_MAX], folder[HV_REF_MAX];
    cleanup_free char *dc_path = NULL;
    int rc;
    if ((rc = find_pool(c, spec->pool, pool, sizeof(pool), err)) < 0)
        return vic_err_wrap(err, rc, "pool");
    if ((rc = ds_locate(c, ds, ds_ref, sizeof(ds_ref), dc, sizeof(dc), &dc_path, err)) < 0)
        return vic_err_wrap(err, rc, "datastore");
    if (spec->folder) {
        hv_ref f;
        if ((rc = vs_find(hc, HV_FOLDER, spec->folder, &f, err)) < 0)
            return vic_err_wrap(err, rc, "folder");
        snprintf(folder, sizeof(folder), "%s", f.id);
    } else {
        static const char *const paths[] = {"vmFolder", NULL};
        json_t *p cleanup_json = NULL;
        if ((rc = vs_props(c, dc, paths, &p, err)) < 0)
            return vic_err_wrap(err, rc, "datacenter %s", dc_path);
        snprintf(folder, sizeof(folder), "%s",
                 json_string_value(json_object_get(p, "vmFolder")) ?: "");
    }

    vic_buf b cleanup_buf = VIC_BUF_INIT;
    BUF_LIT(&b, "<config>");
    vs_xml_elem(&b, "name", spec->name);
    /* The full .vmx path: the VM's folder is NAME even when it exists already (files put
     * there before the VM, such as its ISO), where "[ds]" alone would make "NAME (0)" and
     * leave the serial log, written to NAME/, outside the VM's folder. */
    BUF_LIT(&b, "<guestId>otherGuest64</guestId><files><vmPathName>");
    vic_buf_appendf(&b, "[");
    vs_xml_escape(&b, ds);
    BUF_LIT(&b, "] ");
    vs_xml_escape(&b, spec->name);
    BUF_LIT(&b, "/");
    vs_xml_escape(&b, spec->name);
    vic_buf_appendf(&b, ".vmx</vmPathName></files><numCPUs>%d</numCPUs><memoryMB>%lld</memoryMB>",
                    spec->cpus, (long long)spec->memory_mb);
    if (spec->limits.cpu_shares) /* VirtualMachineConfigSpec: after memoryMB, before devices */
        vic_buf_appendf(&b,
                        "<cpuAllocation><shares><shares>%d</shares><level>custom</level></shares>"
                        "</cpuAllocation>",
                        spec->limits.cpu_shares);
    int key = -1;
    if (spec->n_disks) {
        BUF_LIT(&b, "<deviceChange><operation>add</operation><device "
                    "xsi:type=\"ParaVirtualSCSIController\"><key>-1000</key><busNumber>0"
                    "</busNumber><sharedBus>noSharing</sharedBus></device></deviceChange>");
        for (size_t i = 0; i < spec->n_disks && i < 15; i++) {
            const hv_disk *d = &spec->disks[i];
            char dn[256];
            const char *rel;
            if ((rc = ds_split(d->path, dn, sizeof(dn), &rel, err)) < 0)
                return vic_err_wrap(err, rc, "disks[%zu]", i);
            size_t rl = strlen(d->path);
            bool vmdk = rl > 5 && strcmp(d->path + rl - 5, ".vmdk") == 0;
            BUF_LIT(&b, "<deviceChange><operation>add</operation>");
            if (d->create)
                BUF_LIT(&b, "<fileOperation>create</fileOperation>");
            vic_buf_appendf(&b,
                            "<device xsi:type=\"VirtualDisk\"><key>%d</key><backing "
                            "xsi:type=\"VirtualDiskFlatVer2BackingInfo\"><fileName>",
                            --key);
            vs_xml_escape(&b, d->path);
            vic_buf_appendf(&b,
                            "%s</fileName><diskMode>persistent</diskMode><thinProvisioned>true"
                            "</thinProvisioned></backing><controllerKey>-1000</controllerKey>"
                            "<unitNumber>%zu</unitNumber><capacityInKB>%lld</capacityInKB>"
                            "</device></deviceChange>",
                            vmdk ? "" : ".vmdk", i < 7 ? i : i + 1, (long long)d->size_mb * 1024);
        }
    }
    if (spec->iso) {
        char dn[256];
        const char *rel;
        if ((rc = ds_split(spec->iso, dn, sizeof(dn), &rel, err)) < 0)
            return vic_err_wrap(err, rc, "iso");
        vic_buf_appendf(&b,
                        "<deviceChange><operation>add</operation><device xsi:type=\"VirtualCdrom\">"
                        "<key>%d</key><backing xsi:type=\"VirtualCdromIsoBackingInfo\"><fileName>",
                        --key);
        vs_xml_escape(&b, spec->iso);
        vic_buf_appendf(&b,
                        "</fileName></backing>%s<controllerKey>200</controllerKey><unitNumber>0"
                        "</unitNumber></device></deviceChange>",
                        connectable_xml);
    }
    for (size_t i = 0; i < spec->n_nics; i++) {
        hv_ref net;
        if (spec->nics[i].mac)
            return vic_err_set(err, VIC_EUNSUPPORTED,
                               "nics[%zu].mac: vSphere assigns a NIC's MAC address itself", i);
        if ((rc = vs_find(hc, HV_NETWORK, spec->nics[i].network, &net, err)) < 0)
            return vic_err_wrap(err, rc, "nics[%zu]", i);
        if ((rc = nic_xml(c, &b, --key, net.id, err)) < 0)
            return vic_err_wrap(err, rc, "nics[%zu]", i);
    }
    if (spec->serial_log) {
        vic_buf_appendf(&b,
                        "<deviceChange><operation>add</operation><device "
                        "xsi:type=\"VirtualSerialPort\"><key>%d</key><backing "
                        "xsi:type=\"VirtualSerialPortFileBackingInfo\"><fileName>[",
                        --key);
        vs_xml_escape(&b, ds);
        BUF_LIT(&b, "] ");
        vs_xml_escape(&b, spec->name);
        vic_buf_appendf(&b,
                        "/output.log</fileName></backing>%s<controllerKey>400</controllerKey>"
                        "<yieldOnPoll>true</yieldOnPoll></device></deviceChange>",
                        connectable_xml);
    }
    json_object_foreach((json_t *)spec->extra_config, k, v)
    {
        option_xml(&b, "extraConfig", k, json_string_value(v));
    }
    BUF_LIT(&b, "</config>");
    vs_xml_ref(&b, "pool", pool);

    /* vCenter refuses a second VM of one name in a folder (DuplicateName); some servers (vcsim)
     * do not, so look first, with creates through this connection serialised. */
    vic_buf q cleanup_buf = VIC_BUF_INIT;
    vs_xml_ref(&q, "entity", folder);
    vs_xml_elem(&q, "name", spec->name);
    char task[HV_REF_MAX], existing[HV_REF_MAX];
    json_t *res cleanup_json = NULL;
    pthread_mutex_lock(&c->create_mu);
    rc = vs_call_ref(c, "FindChild", c->search_index, q.data, existing, sizeof(existing), err);
    if (rc == 0 && existing[0])
        rc = vic_err_set(err, VIC_ECONFLICT, "a VM named %s exists", spec->name);
    if (rc == 0)
        rc = vs_call_ref(c, "CreateVM_Task", folder, b.data, task, sizeof(task), err);
    if (rc == 0)
        rc = vs_wait_task(c, task, &res, err);
    pthread_mutex_unlock(&c->create_mu);
    if (rc == VIC_ECONFLICT)
        return vic_err_set(err, VIC_ECONFLICT, "a VM named %s exists", spec->name);
    if (rc < 0)
        return vic_err_wrap(err, rc, "create VM %s", spec->name);
    const char *ref = json_string_value(res);
    if (ref == NULL || strncmp(ref, "VirtualMachine:", 15) != 0)
        return vic_err_set(err, VIC_EUPSTREAM, "create VM %s: the task returned no VM", spec->name);
    return set_ref(out, ref, err);
}

/* A change version for servers that keep none: a hash of the extraConfig. */
static void extra_hash(json_t *extra, char *out, size_t cap)
{
    char *s = json_dumps(extra ? extra : json_object(), JSON_SORT_KEYS | JSON_COMPACT);
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = s; p && *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    free(s);
    snprintf(out, cap, "x%016llx", (unsigned long long)h);
}

/* extraConfig as vSphere returns it, with empty values (removed keys) dropped. */
static json_t *clean_extra(json_t *raw, const char *prefix)
{
    json_t *o = json_object();
    size_t pl = prefix ? strlen(prefix) : 0;
    const char *k;
    json_t *v;
    json_object_foreach(raw, k, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || *s == '\0')
            continue;
        if (prefix && strncmp(k, prefix, pl) != 0)
            continue;
        json_object_set(o, k, v);
    }
    return o;
}

static const char *const vm_paths[] = {"name",
                                       "runtime.powerState",
                                       "runtime.bootTime",
                                       "config.changeVersion",
                                       "config.extraConfig",
                                       "guest.ipAddress",
                                       "resourcePool",
                                       NULL};

static hv_power power_of(const char *s)
{
    if (s && strcmp(s, "poweredOn") == 0)
        return HV_POWERED_ON;
    if (s && strcmp(s, "suspended") == 0)
        return HV_SUSPENDED;
    return HV_POWERED_OFF;
}

static void version_of(json_t *props, json_t *extra, char *out, size_t cap)
{
    const char *cv = json_string_value(json_object_get(props, "config.changeVersion"));
    if (cv && *cv)
        snprintf(out, cap, "%s", cv);
    else
        extra_hash(extra, out, cap);
}

static int vm_props(vs_conn *c, const hv_ref *vm, json_t **p, vic_err **err)
{
    int rc = vs_props(c, vm->id, vm_paths, p, err);
    if (rc == VIC_ENOTFOUND)
        return vic_err_set(err, VIC_ENOTFOUND, "VM %s not found", vm->id);
    return rc;
}

static int64_t parse_time(const char *s)
{
    struct tm tm = {0};
    if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return 0;
    return (int64_t)timegm(&tm);
}

static int vs_vm_get(hv_conn *hc, const hv_ref *vm, hv_vm_info *out, vic_err **err)
{
    vs_conn *c = V(hc);
    int rc;
    if ((rc = check_vm_ref(vm, err)) < 0)
        return rc;
    json_t *p cleanup_json = NULL;
    if ((rc = vm_props(c, vm, &p, err)) < 0)
        return rc;
    cleanup_free char *pool_path = NULL;
    const char *pool = json_string_value(json_object_get(p, "resourcePool"));
    if (pool && ref_path(c, pool, &pool_path, NULL, 0, NULL, NULL) < 0)
        pool_path = NULL;
    memset(out, 0, sizeof(*out));
    out->ref = *vm;
    snprintf(out->name, sizeof(out->name), "%s",
             json_string_value(json_object_get(p, "name")) ?: "");
    snprintf(out->pool, sizeof(out->pool), "%s", pool_path ? pool_path : "");
    out->power = power_of(json_string_value(json_object_get(p, "runtime.powerState")));
    out->extra_config = clean_extra(json_object_get(p, "config.extraConfig"), NULL);
    version_of(p, out->extra_config, out->change_version, sizeof(out->change_version));
    snprintf(out->guest_ip, sizeof(out->guest_ip), "%s",
             json_string_value(json_object_get(p, "guest.ipAddress")) ?: "");
    if (out->power == HV_POWERED_ON)
        out->boot_time = parse_time(json_string_value(json_object_get(p, "runtime.bootTime")));
    return 0;
}

static int vs_vm_reconfigure(hv_conn *hc, const hv_ref *vm, const char *change_version,
                             const hv_vm_change *change, char *new_version, size_t cap,
                             vic_err **err)
{
    vs_conn *c = V(hc);
    int rc;
    if ((rc = check_vm_ref(vm, err)) < 0)
        return rc;
    if (change->set_nics)
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "changing a VM's NICs is not supported on vSphere targets yet");
    if (change->set_size)
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "changing a VM's size is not supported on vSphere targets yet");
    const char *k; /* hv_vm_reconfigure checked the extra_config keys and values */
    json_t *v;
    json_t *p cleanup_json = NULL;
    if ((rc = vm_props(c, vm, &p, err)) < 0)
        return rc;
    const char *server_cv = json_string_value(json_object_get(p, "config.changeVersion"));
    bool server_versions = server_cv && *server_cv;
    if (change_version && !server_versions) {
        json_t *extra cleanup_json = clean_extra(json_object_get(p, "config.extraConfig"), NULL);
        char cur[64];
        extra_hash(extra, cur, sizeof(cur));
        if (strcmp(cur, change_version) != 0)
            return vic_err_set(err, VIC_ECONFLICT,
                               "VM %s was changed by someone else (version %s, expected %s)",
                               vm->id, cur, change_version);
    }
    vic_buf b cleanup_buf = VIC_BUF_INIT;
    BUF_LIT(&b, "<spec>");
    if (change_version && server_versions)
        vs_xml_elem(&b, "changeVersion", change_version);
    json_object_foreach((json_t *)change->extra_config, k, v)
    {
        option_xml(&b, "extraConfig", k, json_is_null(v) ? "" : json_string_value(v));
    }
    BUF_LIT(&b, "</spec>");
    char task[HV_REF_MAX];
    rc = vs_call_ref(c, "ReconfigVM_Task", vm->id, b.data, task, sizeof(task), err);
    if (rc == 0)
        rc = vs_wait_task(c, task, NULL, err);
    if (rc == VIC_ECONFLICT)
        return vic_err_wrap(err, rc, "VM %s was changed by someone else", vm->id);
    if (rc < 0)
        return vic_err_wrap(err, rc, "reconfigure VM %s", vm->id);
    if (new_version && cap) {
        json_t *q cleanup_json = NULL;
        if ((rc = vm_props(c, vm, &q, err)) < 0)
            return rc;
        json_t *extra cleanup_json = clean_extra(json_object_get(q, "config.extraConfig"), NULL);
        version_of(q, extra, new_version, cap);
    }
    return 0;
}

static int power_state(vs_conn *c, const hv_ref *vm, hv_power *out, vic_err **err)
{
    static const char *const paths[] = {"runtime.powerState", NULL};
    json_t *p cleanup_json = NULL;
    int rc = vs_props(c, vm->id, paths, &p, err);
    if (rc == VIC_ENOTFOUND)
        return vic_err_set(err, VIC_ENOTFOUND, "VM %s not found", vm->id);
    if (rc < 0)
        return rc;
    *out = power_of(json_string_value(json_object_get(p, "runtime.powerState")));
    return 0;
}

static int run_task(vs_conn *c, const char *method, const hv_ref *vm, vic_err **err)
{
    char task[HV_REF_MAX];
    int rc = vs_call_ref(c, method, vm->id, NULL, task, sizeof(task), err);
    if (rc == 0)
        rc = vs_wait_task(c, task, NULL, err);
    return rc;
}

static int vs_vm_power_on(hv_conn *hc, const hv_ref *vm, vic_err **err)
{
    vs_conn *c = V(hc);
    int rc;
    hv_power st;
    if ((rc = check_vm_ref(vm, err)) < 0 || (rc = power_state(c, vm, &st, err)) < 0)
        return rc;
    if (st == HV_POWERED_ON)
        return vic_err_set(err, VIC_ECONFLICT, "VM %s is already powered on", vm->id);
    if ((rc = run_task(c, "PowerOnVM_Task", vm, err)) < 0)
        return vic_err_wrap(err, rc, "power on VM %s", vm->id);
    return 0;
}

static int vs_vm_power_off(hv_conn *hc, const hv_ref *vm, unsigned grace_ms, vic_err **err)
{
    vs_conn *c = V(hc);
    int rc;
    hv_power st;
    if ((rc = check_vm_ref(vm, err)) < 0 || (rc = power_state(c, vm, &st, err)) < 0)
        return rc;
    if (st == HV_POWERED_OFF)
        return 0;
    if (grace_ms > 0 && st == HV_POWERED_ON) {
        /* Ask the guest (needs VMware Tools); force after the grace period. */
        xmlDoc *doc cleanup_xmldoc = NULL;
        xmlNode *resp = NULL;
        if (vs_call(c, "ShutdownGuest", vm->id, NULL, &doc, &resp, NULL) == 0) {
            struct timespec t0, now;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            for (;;) {
                if (power_state(c, vm, &st, NULL) == 0 && st == HV_POWERED_OFF)
                    return 0;
                clock_gettime(CLOCK_MONOTONIC, &now);
                long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
                if (ms >= (long)grace_ms)
                    break;
                struct timespec ts = {0, 100 * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
    }
    rc = run_task(c, "PowerOffVM_Task", vm, err);
    if (rc == VIC_ECONFLICT && power_state(c, vm, &st, NULL) == 0 && st == HV_POWERED_OFF) {
        vic_err_free(err);
        return 0; /* it went off meanwhile */
    }
    return rc < 0 ? vic_err_wrap(err, rc, "power off VM %s", vm->id) : 0;
}

static int vs_vm_destroy(hv_conn *hc, const hv_ref *vm, vic_err **err)
{
    vs_conn *c = V(hc);
    int rc;
    hv_power st;
    if ((rc = check_vm_ref(vm, err)) < 0 || (rc = power_state(c, vm, &st, err)) < 0)
        return rc;
    if (st != HV_POWERED_OFF)
        return vic_err_set(err, VIC_ECONFLICT, "VM %s is powered on; power it off first", vm->id);
    if ((rc = run_task(c, "Destroy_Task", vm, err)) < 0)
        return vic_err_wrap(err, rc, "destroy VM %s", vm->id);
    return 0;
}

static int vs_vm_list(hv_conn *hc, const char *pool, const char *key_prefix, json_t **out,
                      vic_err **err)
{
    vs_conn *c = V(hc);
    *out = NULL;
    static const char *const types[] = {"VirtualMachine", NULL};
    static const char *const paths[] = {"name", "runtime.powerState", "config.changeVersion",
                                        "config.extraConfig", NULL};
    json_t *objs cleanup_json = NULL;
    int rc;
    if (pool == NULL) {
        rc = view_list(c, c->root_folder, types, paths, &objs, err);
    } else {
        char pref[HV_REF_MAX];
        if ((rc = find_pool(c, pool, pref, sizeof(pref), err)) < 0)
            return rc;
        /* One call: the pool's vm property, traversed. */
        vic_buf s cleanup_buf = VIC_BUF_INIT;
        BUF_LIT(&s, "<propSet><type>VirtualMachine</type>");
        for (size_t i = 0; paths[i]; i++)
            vs_xml_elem(&s, "pathSet", paths[i]);
        BUF_LIT(&s, "</propSet><objectSet>");
        vs_xml_ref(&s, "obj", pref);
        BUF_LIT(&s, "<skip>true</skip><selectSet xsi:type=\"TraversalSpec\"><name>vms</name>"
                    "<type>ResourcePool</type><path>vm</path><skip>false</skip></selectSet>"
                    "</objectSet>");
        rc = vs_retrieve(c, s.data, &objs, err);
    }
    if (rc < 0)
        return rc;
    json_t *arr = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        json_t *p = json_object_get(o, "props");
        const char *ref = json_string_value(json_object_get(o, "ref"));
        if (ref == NULL || strncmp(ref, "VirtualMachine:", 15) != 0)
            continue;
        json_t *raw = json_object_get(p, "config.extraConfig");
        json_t *all = clean_extra(raw, NULL);
        char ver[64];
        version_of(p, all, ver, sizeof(ver));
        json_decref(all);
        json_t *extra = key_prefix ? clean_extra(raw, key_prefix) : json_object();
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:o}", "ref", ref, "name",
                           json_string_value(json_object_get(p, "name")) ?: "", "power",
                           hv_power_name(power_of(
                               json_string_value(json_object_get(p, "runtime.powerState")))),
                           "change_version", ver, "extra_config", extra));
    }
    *out = arr;
    return 0;
}

/* ---- list ---- */

static int vs_list(hv_conn *hc, hv_kind kind, const char *parent, json_t **out, vic_err **err)
{
    vs_conn *c = V(hc);
    *out = NULL;
    int rc;
    char pref[HV_REF_MAX];
    if (parent && *parent) {
        if ((rc = find_path(c, parent, pref, sizeof(pref), err)) < 0)
            return rc;
        if (!pref[0])
            return vic_err_set(err, VIC_ENOTFOUND, "\"%s\" not found on %s", parent, c->host);
        if (kind == HV_VM && ref_is_kind(pref, HV_POOL)) {
            json_t *vms cleanup_json = NULL;
            if ((rc = vs_vm_list(hc, parent, NULL, &vms, err)) < 0)
                return rc;
            json_t *arr = json_array();
            size_t i;
            json_t *v;
            json_array_foreach(vms, i, v)
            {
                const char *name = json_string_value(json_object_get(v, "name"));
                char *path = xasprintf("%s/%s", parent, name);
                json_array_append_new(arr, json_pack("{s:s, s:s, s:O}", "name", name, "path", path,
                                                     "ref", json_object_get(v, "ref")));
                free(path);
            }
            *out = arr;
            return 0;
        }
    } else {
        snprintf(pref, sizeof(pref), "%s", c->root_folder);
    }
    /* All entities with name and parent (paths come from this map), plus datastore sizes. */
    static const char *const me[] = {"ManagedEntity", NULL};
    static const char *const me_paths[] = {"name", "parent", NULL};
    json_t *objs cleanup_json = NULL;
    if ((rc = view_list(c, c->root_folder, me, me_paths, &objs, err)) < 0)
        return rc;
    json_t *map cleanup_json = json_object();
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        json_object_set(map, json_string_value(json_object_get(o, "ref")),
                        json_object_get(o, "props"));
    }
    json_t *caps cleanup_json = NULL;
    if (kind == HV_DATASTORE) {
        static const char *const ds[] = {"Datastore", NULL};
        static const char *const ds_paths[] = {"summary.capacity", "summary.freeSpace", NULL};
        if ((rc = view_list(c, pref, ds, ds_paths, &caps, err)) < 0)
            return rc;
    }
    json_t *arr = json_array();
    json_array_foreach(objs, i, o)
    {
        const char *ref = json_string_value(json_object_get(o, "ref"));
        if (!ref_is_kind(ref, kind))
            continue;
        /* under parent: a direct child for pools, any descendant otherwise */
        bool under = false;
        const char *cur = json_string_value(json_object_get(json_object_get(map, ref), "parent"));
        for (int depth = 0; cur && depth < 64; depth++) {
            if (strcmp(cur, pref) == 0) {
                under = true;
                break;
            }
            if (kind == HV_POOL && parent && ref_is_kind(pref, HV_POOL))
                break;
            cur = json_string_value(json_object_get(json_object_get(map, cur), "parent"));
        }
        if (!under)
            continue;
        char *path = path_in_map(map, ref, NULL, 0, NULL);
        json_t *item =
            json_pack("{s:s, s:s, s:s}", "name",
                      json_string_value(json_object_get(json_object_get(map, ref), "name")) ?: "",
                      "path", path, "ref", ref);
        free(path);
        size_t j;
        json_t *d;
        json_array_foreach(caps, j, d)
        {
            if (strcmp(json_string_value(json_object_get(d, "ref")) ?: "", ref) != 0)
                continue;
            json_t *dp = json_object_get(d, "props");
            const char *cap = json_string_value(json_object_get(dp, "summary.capacity"));
            const char *fr = json_string_value(json_object_get(dp, "summary.freeSpace"));
            if (cap)
                json_object_set_new(item, "capacity_mb", json_integer(atoll(cap) >> 20));
            if (fr)
                json_object_set_new(item, "free_mb", json_integer(atoll(fr) >> 20));
        }
        json_array_append_new(arr, item);
    }
    *out = arr;
    return 0;
}

/* ---- extensions (the vSphere Client plugin) ---- */

static int check_ext_manager(vs_conn *c, vic_err **err)
{
    if (!c->extension_manager[0])
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "%s has no extension manager (an ESX host): register the plugin with "
                           "the vCenter that manages it",
                           c->host);
    return 0;
}

static void description_xml(vic_buf *b, const char *label, const char *summary)
{
    BUF_LIT(b, "<description xsi:type=\"Description\">");
    vs_xml_elem(b, "label", label ? label : "");
    vs_xml_elem(b, "summary", summary ? summary : "");
    BUF_LIT(b, "</description>");
}

/* An Extension data object, its fields in the order of the vim25 schema. A remote vSphere
 * Client plugin: a client of type vsphere-client-remote at the manifest's URL, and the server
 * that serves it (MANIFEST_SERVER) with its certificate's thumbprint. */
static void extension_xml(vic_buf *b, const hv_extension *x)
{
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
    BUF_LIT(b, "<extension>");
    description_xml(b, x->label, x->summary);
    vs_xml_elem(b, "key", x->key);
    vs_xml_elem(b, "company", x->company ? x->company : "");
    vs_xml_elem(b, "version", x->version);
    BUF_LIT(b, "<server>");
    vs_xml_elem(b, "url", x->url);
    description_xml(b, x->label, x->summary);
    vs_xml_elem(b, "company", x->company ? x->company : "");
    vs_xml_elem(b, "type", "MANIFEST_SERVER");
    vs_xml_elem(b, "adminEmail", x->admin_email ? x->admin_email : "");
    if (x->thumbprint && *x->thumbprint)
        vs_xml_elem(b, "serverThumbprint", x->thumbprint);
    BUF_LIT(b, "</server><client>");
    vs_xml_elem(b, "version", x->version);
    description_xml(b, x->label, x->summary);
    vs_xml_elem(b, "company", x->company ? x->company : "");
    vs_xml_elem(b, "type", "vsphere-client-remote");
    vs_xml_elem(b, "url", x->url);
    BUF_LIT(b, "</client>");
    vs_xml_elem(b, "lastHeartbeatTime", now);
    BUF_LIT(b, "<shownInSolutionManager>false</shownInSolutionManager></extension>");
}

static int find_extension(vs_conn *c, const char *key, json_t **out, vic_err **err)
{
    *out = NULL;
    vic_buf b cleanup_buf = VIC_BUF_INIT;
    vs_xml_elem(&b, "extensionKey", key);
    xmlDoc *doc cleanup_xmldoc = NULL;
    xmlNode *resp = NULL;
    int rc = vs_call(c, "FindExtension", c->extension_manager, b.data, &doc, &resp, err);
    if (rc < 0)
        return vic_err_wrap(err, rc, "find extension %s", key);
    xmlNode *rv = vs_child(resp, "returnval");
    if (rv)
        *out = vs_val_json(rv);
    return 0;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k)) ?: "";
}

static int vs_ext_find(hv_conn *hc, const char *key, json_t **out, vic_err **err)
{
    vs_conn *c = V(hc);
    int rc;
    json_t *x cleanup_json = NULL;
    if ((rc = check_ext_manager(c, err)) < 0 || (rc = find_extension(c, key, &x, err)) < 0)
        return rc;
    if (x == NULL)
        return vic_err_set(err, VIC_ENOTFOUND, "extension %s is not registered with %s", key,
                           c->host);
    const json_t *desc = json_object_get(x, "description");
    const json_t *srv = json_object_get(x, "server");
    const json_t *cli = json_object_get(x, "client");
    if (json_is_array(srv))
        srv = json_array_get(srv, 0);
    if (json_is_array(cli))
        cli = json_array_get(cli, 0);
    *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "key", jstr(x, "key"),
                     "version", jstr(x, "version"), "label", jstr(desc, "label"), "summary",
                     jstr(desc, "summary"), "company", jstr(x, "company"), "url",
                     *jstr(cli, "url") ? jstr(cli, "url") : jstr(srv, "url"), "thumbprint",
                     jstr(srv, "serverThumbprint"), "admin_email", jstr(srv, "adminEmail"),
                     "last_heartbeat", jstr(x, "lastHeartbeatTime"));
    return 0;
}

static int vs_ext_register(hv_conn *hc, const hv_extension *x, vic_err **err)
{
    vs_conn *c = V(hc);
    int rc;
    if (x->key == NULL || *x->key == '\0' || x->version == NULL || x->url == NULL)
        return vic_err_set(err, VIC_EINVAL, "extension: key, version and url are required");
    json_t *cur cleanup_json = NULL;
    if ((rc = check_ext_manager(c, err)) < 0 || (rc = find_extension(c, x->key, &cur, err)) < 0)
        return rc;
    vic_buf b cleanup_buf = VIC_BUF_INIT;
    extension_xml(&b, x);
    const char *method = cur ? "UpdateExtension" : "RegisterExtension";
    xmlDoc *doc cleanup_xmldoc = NULL;
    xmlNode *resp = NULL;
    if ((rc = vs_call(c, method, c->extension_manager, b.data, &doc, &resp, err)) < 0)
        return vic_err_wrap(err, rc, "%s %s", cur ? "update extension" : "register extension",
                            x->key);
    return 0;
}

static int vs_ext_unregister(hv_conn *hc, const char *key, vic_err **err)
{
    vs_conn *c = V(hc);
    int rc;
    if ((rc = check_ext_manager(c, err)) < 0)
        return rc;
    vic_buf b cleanup_buf = VIC_BUF_INIT;
    vs_xml_elem(&b, "extensionKey", key);
    xmlDoc *doc cleanup_xmldoc = NULL;
    xmlNode *resp = NULL;
    rc = vs_call(c, "UnregisterExtension", c->extension_manager, b.data, &doc, &resp, err);
    if (rc == VIC_ENOTFOUND)
        return vic_err_set(err, VIC_ENOTFOUND, "extension %s is not registered with %s", key,
                           c->host);
    return rc < 0 ? vic_err_wrap(err, rc, "unregister extension %s", key) : 0;
}

/* ---- connection ---- */

static int vs_events_wait(hv_conn *hc, int64_t after_seq, unsigned timeout_ms, hv_event *out,
                          size_t cap, size_t *n, vic_err **err)
{
    (void)hc;
    (void)after_seq;
    (void)timeout_ms;
    (void)out;
    (void)cap;
    *n = 0;
    return vic_err_set(err, VIC_EUNSUPPORTED,
                       "events: the vsphere driver does not follow the event manager yet; poll "
                       "hv_vm_list instead");
}

static void vs_disconnect(hv_conn *hc)
{
    vs_conn *c = V(hc);
    vs_close_conn(c);
    json_decref(c->ds_cache);
    pthread_mutex_destroy(&c->cache_mu);
    pthread_mutex_destroy(&c->create_mu);
    free(c);
}

static int vs_connect(hv_conn **out, const hv_connect_opts *opts, vic_err **err)
{
    *out = NULL;
    vs_conn *c = xzalloc(sizeof(*c));
    c->base.driver = &hv_vsphere_driver;
    pthread_mutex_init(&c->cache_mu, NULL);
    pthread_mutex_init(&c->create_mu, NULL);
    c->ds_cache = json_object();
    int rc = vs_open(c, opts, err);
    if (rc < 0) {
        vs_disconnect(&c->base);
        return rc;
    }
    *out = &c->base;
    return 0;
}

/* The appliance is a VM booting the appliance ISO; containers' bridges are inside it. */
static const hv_caps vsphere_caps = {
    .appliance_on_host = 0,
    .images_in_vm_folder = 1,
    .bridges_on_host = 0,
    .bridge_prefix = NULL,
};

const hv_driver hv_vsphere_driver = {
    .name = "vsphere",
    .caps = &vsphere_caps,
    .connect = vs_connect,
    .disconnect = vs_disconnect,
    .find = vs_find,
    .list = vs_list,
    .pool_create = vs_pool_create,
    .pool_update = vs_pool_update,
    .pool_destroy = vs_pool_destroy,
    .pool_get = vs_pool_get,
    .vm_create = vs_vm_create,
    .vm_reconfigure = vs_vm_reconfigure,
    .vm_power_on = vs_vm_power_on,
    .vm_power_off = vs_vm_power_off,
    .vm_destroy = vs_vm_destroy,
    .vm_get = vs_vm_get,
    .vm_list = vs_vm_list,
    .ds_upload = vs_ds_upload,
    .ds_download = vs_ds_download,
    .ds_mkdir = vs_ds_mkdir,
    .ds_delete = vs_ds_delete,
    .ds_local_path = vs_ds_local_path,
    .events_wait = vs_events_wait,
    .ext_register = vs_ext_register,
    .ext_unregister = vs_ext_unregister,
    .ext_find = vs_ext_find,
};
