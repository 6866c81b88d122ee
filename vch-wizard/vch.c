#include "vch-wizard/vch.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/local/netfw.h"
#include "lib/certs.h"
#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/netlink.h"
#include "vch-wizard/inventory.h"
#include "vch-wizard/spec.h"

#ifndef VIC_VERSION
#define VIC_VERSION "v0.1.0"
#endif

/* Read-only configuration of the appliance (vic-init reads these). */
#define K_CFG        "guestinfo.vice./vch/"
#define K_NAME       K_CFG "name"
#define K_ADDRESS    K_CFG "address"
#define K_POOL       K_CFG "pool"
#define K_HOME       K_CFG "home"
#define K_BIN_DIR    K_CFG "bin_dir"
#define K_IMAGE_DIR  K_CFG "image_dir"
#define K_BRIDGE_RNG K_CFG "bridge_range"
#define K_BRIDGE_PG  K_CFG "bridge_port_group"
#define K_TLS        K_CFG "tls"
#define K_TLS_VERIFY K_CFG "tls_verify"
#define K_REGISTRIES K_CFG "registries"
#define K_DEBUG      K_CFG "debug"
#define K_SPEC       K_CFG "spec"
#define K_VERSION    K_CFG "version"
#define K_CREATED    K_CFG "created"
#define K_CREATED_BY K_CFG "created_by"
/* The VCH's immutable id (its folders are named after it), and the datastore paths its
 * create made and its delete may remove: {"images": [...], "volumes": {"LABEL": PATH}}. */
#define K_UID   K_CFG "uid"
#define K_OWNED K_CFG "owned"
/* What vic-init reports. */
#define K_INIT        "guestinfo.vice..init."
#define K_READY       K_INIT "ready"
#define K_DOCKER_HOST K_INIT "docker_host"
#define K_STATUS      K_INIT "status|"
/* Hidden from the guest: the lifecycle's own marks. */
#define K_TASK     "vch.task"
#define K_CREATING "vch.creating"
#define K_DELETING "vch.deleting"

#define APPLIANCE_MAGIC  "vic-local-appliance 1\n"
#define READY_TIMEOUT_MS 60000
/* A VCH on a target that gives the appliance its address (DHCP on a vSphere network) and no
 * static address in its spec: the address comes from what the appliance reports. */
#define ADDRESS_DHCP "dhcp"

struct vch_engine {
    char *home;
    char *bin_dir;
    char *target;
    char *iso; /* vSphere: the appliance ISO uploaded for each VCH */
    int local; /* the local host: the appliance is vic-init here, addresses are ours to give */
    long ready_timeout_ms;
    hv_conn *hv;
    vic_store *tasks;
};

int vch_engine_open(vch_engine **out, const vch_engine_opts *o, vic_err **err)
{
    *out = NULL;
    const char *target = o->target ? o->target : "local";
    vch_engine *e = xzalloc(sizeof(*e));
    e->home = realpath(o->home, NULL);
    if (e->home == NULL) {
        free(e);
        return vic_err_sys(err, VIC_ENOTFOUND, errno, "home %s", o->home);
    }
    e->bin_dir = xstrdup(o->bin_dir);
    e->ready_timeout_ms = o->ready_timeout_s > 0 ? o->ready_timeout_s * 1000L : READY_TIMEOUT_MS;
    e->target = xstrdup(target);
    e->iso = o->appliance_iso ? xstrdup(o->appliance_iso)
                              : xasprintf("%s/appliance.iso", o->bin_dir ? o->bin_dir : ".");
    hv_connect_opts co = {.target = target,
                          .home = e->home,
                          .bin_dir = o->bin_dir,
                          .user = o->user,
                          .password = o->password,
                          .thumbprint = o->thumbprint};
    int rc = hv_open(&e->hv, &co, err);
    if (rc == 0)
        e->local = strcmp(hv_driver_name(e->hv), "local") == 0;
    if (rc == 0)
        rc = vch_tasks_open(&e->tasks, e->home, err);
    if (rc < 0) {
        vch_engine_close(e);
        return rc;
    }
    *out = e;
    return 0;
}

void vch_engine_close(vch_engine *e)
{
    if (e == NULL)
        return;
    if (e->hv)
        hv_close(e->hv);
    vic_store_free(e->tasks);
    free(e->home);
    free(e->bin_dir);
    free(e->target);
    free(e->iso);
    free(e);
}

vic_store *vch_engine_tasks(vch_engine *e)
{
    return e->tasks;
}

const char *vch_engine_target(const vch_engine *e)
{
    return e->target;
}

/* ---- helpers ---- */

static const char *str_at(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *appliance_key(const json_t *vm, const char *key)
{
    return str_at(json_object_get(vm, "extra_config"), key);
}

/* The spec an appliance carries (a new reference; an empty object when unreadable). */
static json_t *spec_of(const json_t *vm)
{
    json_t *spec = json_loads(appliance_key(vm, K_SPEC) ?: "{}", 0, NULL);
    return spec ? spec : json_object();
}

/* Whether the VCH's docker endpoint is plain HTTP (created with no_tls). */
static int plain_of(const json_t *vm)
{
    const char *tls = appliance_key(vm, K_TLS);
    return tls && strcmp(tls, "false") == 0;
}

static char *cert_dir(const vch_engine *e, const char *name)
{
    return xasprintf("%s/vch/%s", e->home, name);
}

static char *root_pool(void)
{
    return xstrdup("/ha-datacenter/host/local/Resources");
}

/* The datacenter part of an inventory path: "/DC0/host/C0/Resources/x" -> "/DC0". */
static char *dc_of(const char *path)
{
    const char *p = path && path[0] == '/' ? path + 1 : "";
    size_t n = strcspn(p, "/");
    return n ? xasprintf("/%.*s", (int)n, p) : xstrdup("/ha-datacenter");
}

/* The datastore name of a datastore path "[ds] rel" ("datastore1" when it has none). */
static char *ds_name_of(const char *ds_path)
{
    const char *end = ds_path && ds_path[0] == '[' ? strchr(ds_path, ']') : NULL;
    return end ? xstrndup(ds_path + 1, (size_t)(end - ds_path - 1)) : xstrdup("datastore1");
}

/* Every appliance VM on the target, with all its keys: [{ref, name, power, extra_config}]. */
static int appliances(vch_engine *e, json_t **out, vic_err **err)
{
    json_t *vms cleanup_json = NULL;
    int rc = hv_vm_list(e->hv, NULL, "", &vms, err);
    if (rc < 0)
        return rc;
    *out = json_array();
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        if (appliance_key(vm, K_ADDRESS) && appliance_key(vm, K_NAME))
            json_array_append(*out, vm);
    }
    return 0;
}

/* The appliance of VCH id (its VM reference, or "vm:NAME" on any target) or name. */
static int find_vch(vch_engine *e, const char *id, json_t **out, vic_err **err)
{
    json_t *all cleanup_json = NULL;
    int rc = appliances(e, &all, err);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *vm;
    json_array_foreach(all, i, vm)
    {
        const char *name = appliance_key(vm, K_NAME);
        if (strcmp(str_at(vm, "ref"), id) == 0 || strcmp(name, id) == 0 ||
            (strncmp(id, "vm:", 3) == 0 && strcmp(name, id + 3) == 0)) {
            *out = json_incref(vm);
            return 0;
        }
    }
    return vic_err_set(err, VIC_ENOTFOUND, "VCH %s not found on %s", id, e->target);
}

static void ref_of(const json_t *vm, hv_ref *ref)
{
    snprintf(ref->id, sizeof(ref->id), "%s", str_at(vm, "ref"));
}

/* "172.16.0.0/12" into a network and prefix length; 0 when malformed. */
static int parse_cidr(const char *s, uint32_t *net, int *len)
{
    uint32_t a = 0;
    if (vic_cidr_parse(s, &a, len) < 0 || *len < 1)
        return 0;
    *net = a & vic_cidr_mask(*len);
    return 1;
}

static int cidr_overlap(uint32_t a, int al, uint32_t b, int bl)
{
    uint32_t mask = vic_cidr_mask(al < bl ? al : bl);
    return (a & mask) == (b & mask);
}

/* Whether net/len overlaps the bridge range of the VCH whose appliance is vm; *range gets
 * that range (borrowed from *spec, which the caller decrefs). */
static int overlaps_vch(const json_t *vm, uint32_t net, int len, json_t **spec, const char **range)
{
    *spec = spec_of(vm);
    *range = str_at(json_object_get(json_object_get(*spec, "network"), "bridge"), "ip_range");
    uint32_t onet = 0;
    int olen = 0;
    return parse_cidr(*range, &onet, &olen) && cidr_overlap(net, len, onet, olen);
}

static char *appliance_ds(const json_t *spec);

/* The image store's datastore path: "datastore1" -> "[datastore1] vic-images/NAME";
 * "ds://datastore1/dir" or "datastore1/dir" -> "[datastore1] dir". */
static char *store_path(const char *url, const char *dflt)
{
    const char *s = url;
    if (strncmp(s, "ds://", 5) == 0)
        s += 5;
    if (*s == '[')
        return xstrdup(s);
    size_t n = strcspn(s, "/");
    if (s[n] == '/' && s[n + 1])
        return xasprintf("[%.*s] %s", (int)n, s, s + n + 1);
    return xasprintf("[%.*s] %s", (int)n, s, dflt);
}

/* On the local host VCHs share datastore1/vic-images/; on vSphere a VCH's images live in
 * its appliance's folder, NAME/VIC, as VIC keeps them, so that nothing outlives the VCH. */
static char *image_store(const vch_engine *e, const json_t *spec)
{
    const char *name = str_at(spec, "name");
    const json_t *stores = json_object_get(json_object_get(spec, "storage"), "image_stores");
    const char *first = json_string_value(json_array_get(stores, 0));
    cleanup_free char *dflt =
        e->local ? xasprintf("vic-images/%s", name) : xasprintf("%s/VIC", name);
    return store_path(first ? first : "datastore1", dflt);
}

static char *volume_store(const json_t *spec, const json_t *vs)
{
    cleanup_free char *dflt = xasprintf("vic-volumes/%s/%s", str_at(spec, "name"),
                                        str_at(vs, "label") ? str_at(vs, "label") : "default");
    return store_path(str_at(vs, "datastore"), dflt);
}

/* A datastore path as "ds/rel/ative" with single slashes and no trailing one, for
 * comparing places; NULL when it holds a "." or ".." component. Caller frees. */
static char *place_of(const char *ds_path)
{
    cleanup_free char *ds = ds_name_of(ds_path);
    const char *rel = ds_path[0] == '[' && strchr(ds_path, ']') ? strchr(ds_path, ']') + 1 : "";
    vic_buf b = VIC_BUF_INIT;
    vic_buf_appendf(&b, "%s", ds);
    while (*rel) {
        rel += strspn(rel, " /");
        size_t n = strcspn(rel, "/");
        if (n == 0)
            break;
        if ((n == 1 && rel[0] == '.') || (n == 2 && rel[0] == '.' && rel[1] == '.')) {
            vic_buf_free(&b);
            return NULL;
        }
        vic_buf_appendf(&b, "/%.*s", (int)n, rel);
        rel += n;
    }
    return vic_buf_steal(&b);
}

/* Whether one place equals the other or lies inside it, either way round. */
static int places_meet(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t n = la < lb ? la : lb;
    return strncmp(a, b, n) == 0 && (la == lb || (la < lb ? b[n] : a[n]) == '/');
}

/* The places a VCH holds on its datastores, from its spec: [{what, path}] (new
 * reference): its VM folder, its image store and each volume store. */
static json_t *places_held(const vch_engine *e, const json_t *spec)
{
    json_t *out = json_array();
    cleanup_free char *ds = appliance_ds(spec);
    cleanup_free char *folder = xasprintf("[%s] %s", ds, str_at(spec, "name"));
    cleanup_free char *images = image_store(e, spec);
    json_array_append_new(out, json_pack("{s:s, s:s}", "what", "VM folder", "path", folder));
    json_array_append_new(out, json_pack("{s:s, s:s}", "what", "image store", "path", images));
    size_t i;
    json_t *vs;
    json_array_foreach(json_object_get(json_object_get(spec, "storage"), "volume_stores"), i, vs)
    {
        cleanup_free char *path = volume_store(spec, vs);
        cleanup_free char *what = xasprintf("volume store %s", str_at(vs, "label") ?: "default");
        json_array_append_new(out, json_pack("{s:s, s:s}", "what", what, "path", path));
    }
    return out;
}

static int no_tls(const json_t *spec)
{
    return json_is_true(json_object_get(json_object_get(spec, "auth"), "no_tls"));
}

/* The DNS name the server certificate carries: auth.server.generate.cname, else the VCH's
 * name, else (a name no DNS name can be) "localhost". Caller frees. */
static char *server_name(const json_t *spec)
{
    const json_t *gen =
        json_object_get(json_object_get(json_object_get(spec, "auth"), "server"), "generate");
    const char *cname = str_at(gen, "cname") ? str_at(gen, "cname") : str_at(spec, "name");
    if (cname == NULL ||
        strspn(cname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
            strlen(cname))
        return xstrdup("localhost");
    return xstrdup(cname);
}

/* Where docker reaches an endpoint the appliance reported at reported ("ADDR:PORT"): there,
 * unless the VCH has no address of its own before it boots (DHCP) and serves TLS, whose
 * certificate then names it only by its DNS name: that name, on the reported port. */
static char *docker_host_for(const json_t *spec, const char *address, const char *reported)
{
    if (strcmp(address, ADDRESS_DHCP) != 0 || no_tls(spec))
        return xstrdup(reported);
    cleanup_free char *name = server_name(spec);
    const char *port = strrchr(reported, ':');
    return xasprintf("%s%s", name, port ? port : ":2376");
}

static long long size_value(const json_t *v)
{
    if (json_is_integer(v))
        return (long long)json_integer_value(v);
    return json_is_integer(json_object_get(v, "value"))
               ? (long long)json_integer_value(json_object_get(v, "value"))
               : -1;
}

static void alloc_of(const json_t *r, hv_alloc *a)
{
    a->limit = -1;
    a->reservation = 0;
    const json_t *l = json_object_get(r, "limit");
    if (l)
        a->limit = size_value(l);
    const json_t *res = json_object_get(r, "reservation");
    if (res)
        a->reservation = size_value(res);
    const json_t *sh = json_object_get(r, "shares");
    const char *level = str_at(sh, "level");
    if (level)
        snprintf(a->shares, sizeof(a->shares), "%s", level);
    else if (json_is_integer(json_object_get(sh, "number")))
        snprintf(a->shares, sizeof(a->shares), "%lld",
                 (long long)json_integer_value(json_object_get(sh, "number")));
}

static void pool_spec_of(const json_t *spec, hv_pool_spec *ps)
{
    memset(ps, 0, sizeof(*ps));
    const json_t *compute = json_object_get(spec, "compute");
    alloc_of(json_object_get(compute, "cpu"), &ps->cpu);
    alloc_of(json_object_get(compute, "memory"), &ps->memory);
}

static char *pool_path(const json_t *spec)
{
    const char *parent =
        str_at(json_object_get(json_object_get(spec, "compute"), "resource"), "name");
    cleanup_free char *root = root_pool();
    return xasprintf("%s/%s", parent ? parent : root, str_at(spec, "name"));
}

/* The datastore of the VCH's appliance: that of its first image store. */
static char *appliance_ds(const json_t *spec)
{
    const json_t *stores = json_object_get(json_object_get(spec, "storage"), "image_stores");
    const char *first = json_string_value(json_array_get(stores, 0));
    cleanup_free char *images = store_path(first ? first : "datastore1", "-");
    return ds_name_of(images);
}

/* The inventory path of the VCH's appliance VM: in the vm folder of its pool's datacenter. */
static char *vm_path(const json_t *spec, const char *name)
{
    cleanup_free char *pool = pool_path(spec);
    cleanup_free char *dc = dc_of(pool);
    return xasprintf("%s/vm/%s", dc, name);
}

/* The appliance image: on the local host a marker file every VCH shares (the appliance is
 * vic-init on this host); elsewhere the ISO, in the appliance VM's own folder so that nothing
 * of it outlives the VCH. */
static char *appliance_image(const vch_engine *e, const json_t *spec, const char *name)
{
    cleanup_free char *ds = appliance_ds(spec);
    return e->local ? xasprintf("[%s] vic/appliance.iso", ds)
                    : xasprintf("[%s] %s/appliance.iso", ds, name);
}

/* The appliance VM of the task's VCH (VIC_ENOTFOUND before it is made). */
static int appliance_ref(vch_engine *e, const vch_task *t, hv_ref *ref, vic_err **err)
{
    cleanup_free char *path = vm_path(t->spec, t->name);
    return hv_find(e->hv, HV_VM, path, ref, err);
}

/* ---- validation ---- */

typedef struct problems {
    json_t *list;
} problems;

__attribute__((format(printf, 2, 3))) static void problem(problems *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(p->list, vic_json_string_lossy(s));
    free(s);
}

static int join_problems(const json_t *list, int code, vic_err **err)
{
    vic_buf b = VIC_BUF_INIT;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        vic_buf_appendf(&b, "%s%s", i ? "; " : "", json_string_value(e));
    }
    int rc = vic_err_set(err, code, "%s", b.data ? b.data : "invalid");
    vic_buf_free(&b);
    return rc;
}

/* Checks against the VCHs that exist: name and bridge range. */
static void check_against(vch_engine *e, const json_t *spec, const json_t *apps, problems *p,
                          int *conflict)
{
    const char *name = str_at(spec, "name");
    const json_t *bridge = json_object_get(json_object_get(spec, "network"), "bridge");
    uint32_t net = 0;
    int len = 0;
    int have_range = parse_cidr(str_at(bridge, "ip_range"), &net, &len);
    size_t i;
    json_t *vm;
    json_array_foreach(apps, i, vm)
    {
        const char *other = appliance_key(vm, K_NAME);
        if (strcmp(other, name) == 0) {
            problem(p, "name: a VCH named %s already exists on %s; choose another name", name,
                    e->target);
            *conflict = 1;
            continue;
        }
        json_t *ospec cleanup_json = NULL;
        const char *orange = NULL;
        if (have_range && overlaps_vch(vm, net, len, &ospec, &orange))
            problem(p,
                    "network.bridge.ip_range: %s overlaps VCH %s's bridge range %s; choose a "
                    "range outside it",
                    str_at(bridge, "ip_range"), other, orange);
    }
    hv_ref ref;
    vic_err *ignore cleanup_err = NULL;
    cleanup_free char *vmp = vm_path(spec, name);
    if (!*conflict && hv_find(e->hv, HV_VM, vmp, &ref, &ignore) == 0) {
        problem(p, "name: a VM named %s already exists on %s; choose another name", name,
                e->target);
        *conflict = 1;
    }
    vic_err_free(&ignore);
    cleanup_free char *pp = pool_path(spec);
    if (!*conflict && hv_find(e->hv, HV_POOL, pp, &ref, &ignore) == 0) {
        problem(p, "name: a resource pool %s already exists; choose another name", pp);
        *conflict = 1;
    }
}

/* Folder names every VCH on a datastore shares: no VCH may take one as its VM folder. */
static const char *const shared_folders[] = {"vic", "vic-images", "vic-volumes", NULL};

static const char *relation(const char *mine, const char *theirs)
{
    size_t a = strlen(mine), b = strlen(theirs);
    return a == b ? "is" : a > b ? "lies inside" : "contains";
}

/* Refuses store paths that meet another VCH's VM folder or stores (equal, inside or
 * containing), naming the owner: deleting either VCH would remove the other's data. A store
 * that names only a datastore gets a folder of its own at create and meets nothing. */
static void check_places(vch_engine *e, const json_t *spec, const json_t *apps, problems *p)
{
    const char *name = str_at(spec, "name");
    for (const char *const *f = shared_folders; *f; f++)
        if (name && strcasecmp(name, *f) == 0)
            problem(p,
                    "name: %s is the name of a folder that every VCH on the datastore shares; "
                    "choose another name",
                    name);
    /* [{field, place}] of this spec: its VM folder, and each store it names a folder for */
    json_t *mine cleanup_json = json_array();
    cleanup_free char *ds = appliance_ds(spec);
    cleanup_free char *folder = xasprintf("[%s] %s", ds, name ? name : "");
    json_array_append_new(mine, json_pack("{s:s, s:s}", "field", "name", "path", folder));
    const json_t *storage = json_object_get(spec, "storage");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(storage, "image_stores"), i, v)
    {
        if (!json_is_string(v) || vch_spec_datastore_only(json_string_value(v)))
            continue;
        cleanup_free char *field = xasprintf("storage.image_stores[%zu]", i);
        cleanup_free char *path = store_path(json_string_value(v), "-");
        json_array_append_new(mine, json_pack("{s:s, s:s}", "field", field, "path", path));
    }
    json_array_foreach(json_object_get(storage, "volume_stores"), i, v)
    {
        const char *url = str_at(v, "datastore");
        if (url == NULL || vch_spec_datastore_only(url))
            continue;
        cleanup_free char *field = xasprintf("storage.volume_stores[%zu].datastore", i);
        cleanup_free char *path = store_path(url, "-");
        json_array_append_new(mine, json_pack("{s:s, s:s}", "field", field, "path", path));
    }
    json_t *m;
    json_array_foreach(mine, i, m)
    {
        cleanup_free char *place = place_of(str_at(m, "path"));
        if (place == NULL) {
            problem(p, "%s: %s: a path may not hold \".\" or \"..\"", str_at(m, "field"),
                    str_at(m, "path"));
            continue;
        }
        if (strchr(place, '/') == NULL) {
            problem(p, "%s: %s is a whole datastore; name a folder on it", str_at(m, "field"),
                    str_at(m, "path"));
            continue;
        }
        size_t j;
        json_t *vm;
        json_array_foreach(apps, j, vm)
        {
            const char *other = appliance_key(vm, K_NAME);
            if (name && strcmp(other, name) == 0)
                continue; /* the same name is refused on its own */
            json_t *ospec cleanup_json = spec_of(vm);
            if (json_object_get(ospec, "name") == NULL)
                json_object_set_new(ospec, "name", json_string(other));
            json_t *theirs cleanup_json = places_held(e, ospec);
            size_t k;
            json_t *t;
            json_array_foreach(theirs, k, t)
            {
                cleanup_free char *tp = place_of(str_at(t, "path"));
                if (tp && places_meet(place, tp))
                    problem(p, "%s: %s %s VCH %s's %s %s; choose a folder of its own",
                            str_at(m, "field"), str_at(m, "path"), relation(place, tp), other,
                            str_at(t, "what"), str_at(t, "path"));
            }
        }
    }
}

/* Whether net/len overlaps an IPv4 network of one of this host's interfaces (other than
 * loopback and the local target's own bridges); *ifname gets its name. */
static int host_overlap(uint32_t net, int len, char *ifname, size_t cap)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return 0;
    int hit = 0;
    for (struct ifaddrs *i = ifs; i && !hit; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET || i->ifa_netmask == NULL ||
            strncmp(i->ifa_name, "lo", 2) == 0 || strncmp(i->ifa_name, "vb", 2) == 0)
            continue;
        uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        uint32_t m = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
        int ml = __builtin_popcount(m);
        if (cidr_overlap(net, len, a & m, ml)) {
            snprintf(ifname, cap, "%s", i->ifa_name);
            hit = 1;
        }
    }
    freeifaddrs(ifs);
    return hit;
}

/* Whether this host lets us create the bridges of containers' networks: a probe bridge is
 * made and removed, once per process (a create on this host costs tens of milliseconds, and
 * every validation asks). */
static char bridge_probe_msg[256];
static int bridge_probe_rc;

static void probe_bridges(void)
{
    char name[16];
    snprintf(name, sizeof(name), "vbprobe%u", (unsigned)getpid() % 10000000u);
    vic_err *err = NULL;
    bridge_probe_rc = vic_nl_bridge_ensure(name, &err);
    if (err)
        snprintf(bridge_probe_msg, sizeof(bridge_probe_msg), "%s", err->msg);
    vic_err_free(&err);
    vic_nl_link_del(name, NULL);
}

static int local_bridges_usable(vic_err **err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, probe_bridges);
    return bridge_probe_rc < 0 ? vic_err_set(err, bridge_probe_rc, "%s", bridge_probe_msg) : 0;
}

/* The default bridge range: VIC's 172.16.0.0/12 when no VCH uses it, else the first
 * 10.N.0.0/16 that overlaps none. */
static char *free_bridge_range(const json_t *apps)
{
    for (int n = 0; n < 255; n++) {
        cleanup_free char *cand = n == 0 ? xstrdup("172.16.0.0/12") : xasprintf("10.%d.0.0/16", n);
        uint32_t net = 0;
        int len = 0;
        parse_cidr(cand, &net, &len);
        int clash = 0;
        size_t i;
        json_t *vm;
        json_array_foreach(apps, i, vm)
        {
            json_t *ospec cleanup_json = NULL;
            const char *orange = NULL;
            clash |= overlaps_vch(vm, net, len, &ospec, &orange);
        }
        char ifn[64];
        if (!clash && !host_overlap(net, len, ifn, sizeof(ifn)))
            return steal_ptr(cand);
    }
    return xstrdup("172.16.0.0/12");
}

int vch_validate(vch_engine *e, const json_t *spec, json_t **out, json_t **problems_out,
                 json_t **warnings, vic_err **err)
{
    *out = NULL;
    if (problems_out)
        *problems_out = NULL;
    if (warnings)
        *warnings = json_array();
    json_t *sp_problems = NULL;
    json_t *norm = NULL;
    if (!json_is_object(spec)) {
        json_t *l = json_pack("[s]", "(body): must be a JSON object");
        if (problems_out)
            *problems_out = json_incref(l);
        int rc = join_problems(l, VIC_EINVAL, err);
        json_decref(l);
        return rc;
    }
    vic_err *sperr = NULL;
    json_t *in cleanup_json = json_deep_copy(spec);
    vch_inventory *inv = NULL;
    int rc = vch_inventory_new(&inv, e->hv, e->target, err);
    if (rc < 0) {
        if (problems_out)
            *problems_out = json_pack("[s]", (*err)->msg);
        return rc;
    }
    /* no token here: the only limit is the engine's own target */
    vch_spec_limits lim = VCH_SPEC_NO_LIMITS(e->target);
    rc = vch_spec_check(&norm, &sp_problems, vch_inventory_spec(inv), &lim, in, e->target, &sperr);
    vch_inventory_free(inv);
    problems p = {.list = sp_problems ? sp_problems : json_array()};
    vic_err_free(&sperr);
    const char *static_ip =
        str_at(json_object_get(json_object_get(in, "network"), "public"), "static");
    struct in_addr sa;
    cleanup_free char *ip_only = static_ip ? xstrndup(static_ip, strcspn(static_ip, "/")) : NULL;
    if (ip_only && inet_pton(AF_INET, ip_only, &sa) != 1)
        problem(&p, "network.public.static: %s is not an IPv4 address (ADDR or ADDR/PREFIX)",
                static_ip);
    else if (ip_only && e->local)
        problem(&p, "network.public.static: the local target gives each VCH its own loopback "
                    "address; leave it out");
    if (!e->local && access(e->iso, R_OK) < 0)
        problem(&p,
                "appliance_iso: %s: %s (give the appliance ISO with --appliance-iso; VIC-C does "
                "not build a bootable one yet)",
                e->iso, strerror(errno));
    const char *range =
        str_at(json_object_get(json_object_get(in, "network"), "bridge"), "ip_range");
    uint32_t rn;
    int rl;
    if (range && !parse_cidr(range, &rn, &rl))
        problem(&p, "network.bridge.ip_range: %s is not a CIDR range such as 172.16.0.0/12", range);
    int conflict = 0;
    if (rc == 0) {
        json_t *net = json_object_get(norm, "network");
        json_t *br = json_object_get(net, "bridge");
        json_t *apps0 cleanup_json = NULL;
        vic_err *ae = NULL;
        if (str_at(br, "ip_range") == NULL && appliances(e, &apps0, &ae) == 0) {
            cleanup_free char *dflt = free_bridge_range(apps0);
            json_object_set_new(br, "ip_range", json_string(dflt));
        }
        vic_err_free(&ae);
        const json_t *server = json_object_get(json_object_get(norm, "auth"), "server");
        if (json_object_get(server, "certificate") || json_object_get(server, "private_key"))
            problem(&p, "auth.server.certificate: supplied certificates are not supported yet; "
                        "use auth.server.generate");
        const json_t *cas = json_object_get(
            json_object_get(json_object_get(norm, "auth"), "client"), "certificate_authorities");
        if (json_array_size(cas))
            problem(&p, "auth.client.certificate_authorities: supplied client CAs are not "
                        "supported yet; the VCH generates its own CA");
        json_t *apps cleanup_json = NULL;
        vic_err *le = NULL;
        if (appliances(e, &apps, &le) == 0) {
            check_against(e, norm, apps, &p, &conflict);
            check_places(e, norm, apps, &p);
        } else
            problem(&p, "target: %s", le->msg);
        vic_err_free(&le);
        if (warnings) {
            hv_ref root;
            hv_pool_info info;
            cleanup_free char *rp = xstrdup(
                str_at(json_object_get(json_object_get(norm, "compute"), "resource"), "name"));
            vic_err *we = NULL;
            json_t *cpu = json_object_get(json_object_get(norm, "compute"), "cpu");
            json_t *mem = json_object_get(json_object_get(norm, "compute"), "memory");
            if (hv_find(e->hv, HV_POOL, rp, &root, &we) == 0 &&
                hv_pool_get(e->hv, &root, &info, &we) == 0) {
                if (json_object_get(cpu, "limit") && strncmp(info.cpu_enforcement, "enforced", 8))
                    json_array_append_new(
                        *warnings, json_sprintf("compute.cpu.limit: not enforced on this host (%s)",
                                                info.cpu_enforcement));
                if (json_object_get(mem, "limit") &&
                    strncmp(info.memory_enforcement, "enforced", 8))
                    json_array_append_new(
                        *warnings,
                        json_sprintf("compute.memory.limit: not enforced on this host (%s)",
                                     info.memory_enforcement));
            }
            vic_err_free(&we);
            if (e->local) {
                vic_err *be = NULL;
                if (local_bridges_usable(&be) < 0)
                    json_array_append_new(
                        *warnings,
                        json_sprintf("network.bridge: %s; containers will have no network "
                                     "(only --network none works)",
                                     be->msg));
                vic_err_free(&be);
                vic_err *fe = NULL;
                if (netfw_probe(&fe) < 0)
                    json_array_append_new(
                        *warnings,
                        json_sprintf("network.bridge: containers are not isolated from the "
                                     "host's services and other VCHs (%s)",
                                     fe->msg));
                vic_err_free(&fe);
            }
        }
        const char *r2 =
            str_at(json_object_get(json_object_get(norm, "network"), "bridge"), "ip_range");
        char host_if[64];
        if (e->local && r2 && parse_cidr(r2, &rn, &rl) &&
            host_overlap(rn, rl, host_if, sizeof(host_if)))
            problem(&p,
                    "network.bridge.ip_range: %s overlaps this host's network on %s; choose "
                    "another range (--bridge-network-range)",
                    r2, host_if);
    }
    if (json_array_size(p.list)) {
        json_decref(norm);
        rc = join_problems(
            p.list, conflict && json_array_size(p.list) == 1 ? VIC_ECONFLICT : VIC_EINVAL, err);
        if (problems_out)
            *problems_out = p.list;
        else
            json_decref(p.list);
        return rc;
    }
    json_decref(p.list);
    *out = norm;
    return 0;
}

/* ---- create ---- */

typedef struct begin_args {
    vch_engine *e;
    vch_task *t;
} begin_args;

static int addr_free_here(const char *addr)
{
    /* something else may listen there already: try the VCH's ports */
    static const int ports[] = {2375, 2376, 2377};
    for (size_t i = 0; i < 3; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return 1;
        int one = 1; /* a closed server's connections in TIME_WAIT do not hold the address */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ports[i])};
        inet_pton(AF_INET, addr, &sa.sin_addr);
        int ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != EADDRINUSE;
        close(fd);
        if (!ok)
            return 0;
    }
    return 1;
}

/* A loopback address for a local VCH that no VCH, running task or listener holds. */
static int pick_loopback(begin_args *a, const json_t *used, vic_err **err)
{
    /* Each $VIC_HOME starts at its own place in 127.77.0.0/16, so that two homes on one
     * machine (two web services, or tests) creating at the same moment do not pick the same
     * address; within a home the store's lock serialises the choice. */
    uint32_t h = 2166136261u;
    for (const char *c = a->e->home; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    for (int k = 0; k < 62500 && a->t->address[0] == '\0'; k++) {
        int n = (int)((h % 62500 + (uint32_t)k) % 62500);
        char cand[32];
        snprintf(cand, sizeof(cand), "127.77.%d.%d", n / 250, n % 250 + 2);
        int taken = 0;
        size_t i;
        json_t *u;
        json_array_foreach(used, i, u)
        {
            taken |= strcmp(json_string_value(u), cand) == 0;
        }
        if (!taken && addr_free_here(cand))
            snprintf(a->t->address, sizeof(a->t->address), "%s", cand);
    }
    if (a->t->address[0] == '\0')
        return vic_err_set(err, VIC_ELIMIT, "no loopback address left for a VCH");
    return 0;
}

static int reserve(sqlite3 *db, void *payload, vic_err **err)
{
    begin_args *a = payload;
    json_t *used cleanup_json = json_array();
    int rc = vch_task_addresses(db, used, err);
    if (rc < 0)
        return rc;
    json_t *apps cleanup_json = NULL;
    if ((rc = appliances(a->e, &apps, err)) < 0)
        return rc;
    size_t i;
    json_t *vm;
    json_array_foreach(apps, i, vm)
    {
        json_array_append_new(used, json_string(appliance_key(vm, K_ADDRESS)));
        if (strcmp(appliance_key(vm, K_NAME), a->t->name) == 0)
            return vic_err_set(err, VIC_ECONFLICT,
                               "name: a VCH named %s already exists on %s; choose another name",
                               a->t->name, a->e->target);
    }
    if (!a->e->local) {
        /* the target's network gives the address, unless the spec fixes one */
        const char *ip =
            str_at(json_object_get(json_object_get(a->t->spec, "network"), "public"), "static");
        snprintf(a->t->address, sizeof(a->t->address), "%.*s",
                 ip ? (int)strcspn(ip, "/") : (int)strlen(ADDRESS_DHCP), ip ? ip : ADDRESS_DHCP);
    } else if ((rc = pick_loopback(a, used, err)) < 0) {
        return rc;
    }
    rc = vch_task_insert(db, a->t, err);
    if (rc == VIC_ECONFLICT)
        return vic_err_set(err, VIC_ECONFLICT,
                           "name: VCH %s is being created or deleted on %s right now", a->t->name,
                           a->e->target);
    return rc;
}

static void new_task_id(char out[40])
{
    unsigned char rnd[12];
    vic_random_bytes(rnd, sizeof(rnd));
    int n = snprintf(out, 40, "task-");
    for (size_t i = 0; i < sizeof(rnd); i++)
        n += snprintf(out + n, (size_t)(40 - n), "%02x", rnd[i]);
}

/* Whether a datastore path exists on this host (local target only; elsewhere 1: a folder
 * the engine cannot look at is never taken for its own). */
static int ds_exists(vch_engine *e, const char *ds_path)
{
    cleanup_free char *host = NULL;
    vic_err *ignore cleanup_err = NULL;
    struct stat st;
    if (!e->local || hv_ds_local_path(e->hv, ds_path, &host, &ignore) < 0)
        return 1;
    return lstat(host, &st) == 0 || errno != ENOENT;
}

/*
 * Gives the VCH its folders: a store that names only a datastore gets a folder derived from
 * the VCH's immutable id (images in vic-images/UID, or NAME/VIC inside the appliance's folder
 * on vSphere; volumes in vic-volumes/UID/LABEL), written into the spec. Returns what the
 * create will make and its delete may remove: {"images": [...], "volumes": {LABEL: PATH}}; a
 * folder the spec names that exists already stays the admin's.
 */
static json_t *assign_places(vch_engine *e, json_t *spec, const char *uid)
{
    json_t *owned = json_pack("{s:[], s:{}}", "images", "volumes");
    json_t *storage = json_object_get(spec, "storage");
    json_t *images = json_object_get(storage, "image_stores");
    if (!json_is_array(images) || json_array_size(images) == 0) {
        images = json_pack("[s]", "datastore1");
        json_object_set_new(storage, "image_stores", images);
    }
    cleanup_free char *first = xstrdup(json_string_value(json_array_get(images, 0)) ?: "");
    if (vch_spec_datastore_only(first)) {
        cleanup_free char *name = vch_spec_datastore_of(first);
        cleanup_free char *url = e->local ? xasprintf("ds://%s/vic-images/%s", name, uid)
                                          : xasprintf("ds://%s/%s/VIC", name, str_at(spec, "name"));
        json_array_set_new(images, 0, json_string(url));
    }
    cleanup_free char *img = image_store(e, spec);
    if (vch_spec_datastore_only(first) || !ds_exists(e, img))
        json_array_append_new(json_object_get(owned, "images"), json_string(img));
    size_t i;
    json_t *vs;
    json_array_foreach(json_object_get(storage, "volume_stores"), i, vs)
    {
        const char *url = str_at(vs, "datastore");
        const char *label = str_at(vs, "label") ?: "default";
        int bare = url && vch_spec_datastore_only(url);
        if (bare) {
            cleanup_free char *name = vch_spec_datastore_of(url);
            json_object_set_new(vs, "datastore",
                                json_sprintf("ds://%s/vic-volumes/%s/%s", name, uid, label));
            /* the folder of the VCH's volume stores on that datastore */
            cleanup_free char *parent = xasprintf("[%s] vic-volumes/%s", name, uid);
            json_t *parents = json_object_get(owned, "volume_folders");
            if (parents == NULL)
                json_object_set_new(owned, "volume_folders", parents = json_array());
            size_t k;
            json_t *have;
            int known = 0;
            json_array_foreach(parents, k, have)
            {
                known |= strcmp(json_string_value(have), parent) == 0;
            }
            if (!known)
                json_array_append_new(parents, json_string(parent));
        }
        cleanup_free char *path = volume_store(spec, vs);
        if (bare || !ds_exists(e, path))
            json_object_set_new(json_object_get(owned, "volumes"), label, json_string(path));
    }
    return owned;
}

int vch_create_begin(vch_engine *e, const json_t *spec, const char *created_by, const char *uid,
                     vch_task *task, json_t **problems_out, vic_err **err)
{
    memset(task, 0, sizeof(*task));
    json_t *norm = NULL;
    int rc = vch_validate(e, spec, &norm, problems_out, NULL, err);
    if (rc < 0)
        return rc;
    char uid_buf[40];
    if (uid == NULL) {
        unsigned char rnd[8];
        vic_random_bytes(rnd, sizeof(rnd));
        snprintf(uid_buf, sizeof(uid_buf), "vch-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
                 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        uid = uid_buf;
    }
    json_t *owned = assign_places(e, norm, uid);
    task->extra = json_pack("{s:s, s:o}", "uid", uid, "owned", owned);
    new_task_id(task->id);
    snprintf(task->kind, sizeof(task->kind), "create");
    snprintf(task->state, sizeof(task->state), "running");
    snprintf(task->target, sizeof(task->target), "%s", e->target);
    snprintf(task->name, sizeof(task->name), "%s", str_at(norm, "name"));
    snprintf(task->vch_id, sizeof(task->vch_id), "vm:%s", task->name);
    snprintf(task->created_by, sizeof(task->created_by), "%s", created_by ? created_by : "admin");
    task->spec = norm;
    task->created = task->updated = time(NULL);
    begin_args a = {e, task};
    if ((rc = vic_store_write(e->tasks, reserve, &a, err)) < 0) {
        if (problems_out && *problems_out == NULL)
            *problems_out = json_pack("[s]", (*err)->msg);
        vch_task_clear(task);
        return rc;
    }
    vch_task_event(e->tasks, task->id, "validate", "done", "the specification is valid", NULL);
    return 0;
}

typedef struct run_ctx {
    vch_engine *e;
    vch_task *t;
    vch_progress_fn fn;
    void *payload;
    char docker_host[128]; /* where the appliance reports its docker endpoint */
} run_ctx;

static void note(run_ctx *r, const char *step, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void note(run_ctx *r, const char *step, const char *status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    vic_err *err = NULL;
    if (vch_task_event(r->e->tasks, r->t->id, step, status, msg, &err) < 0)
        vic_log(VIC_LOG_WARN, "event=task_event_failed task=%s msg=\"%s\"", r->t->id, err->msg);
    vic_err_free(&err);
    if (r->fn)
        r->fn(step, status, msg, r->payload);
    free(msg);
    /* A test hook: die right after a step, as a kill -9 would, to prove recovery. */
    const char *crash = getenv("VIC_CRASH_AFTER_STEP");
    if (crash && strcmp(status, "done") == 0 && strcmp(crash, step) == 0)
        raise(SIGKILL);
}

/* The admin portal's password: random, kept for the administrator beside the client
 * certificate, and its hash for the appliance. A random 144-bit password needs no slow KDF
 * to resist guessing, so the hash is cheap to make. */
static int make_portal_password(const char *dir, vic_err **err)
{
    cleanup_secret char *pw = vic_token_new(18);
    cleanup_free char *hash = vic_password_hash(pw, 1000);
    cleanup_free char *pw_path = xasprintf("%s/vicadmin-password", dir);
    cleanup_free char *hash_path = xasprintf("%s/vicadmin.passwd", dir);
    cleanup_free char *line = xasprintf("%s\n", pw);
    int rc = vic_file_write_atomic(pw_path, line, strlen(line), 0600, err);
    if (rc == 0)
        rc = vic_file_write_atomic(hash_path, hash, strlen(hash), 0600, err);
    return rc;
}

static int step_certificates(run_ctx *r, vic_err **err)
{
    const json_t *spec = r->t->spec;
    cleanup_free char *dir = cert_dir(r->e, r->t->name);
    cleanup_free char *parent = xasprintf("%s/vch", r->e->home);
    mkdir(parent, 0700);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return vic_err_sys(err, VIC_EIO, errno, "create %s", dir);
    int prc = make_portal_password(dir, err);
    if (prc < 0 || no_tls(spec))
        return prc;
    const json_t *gen =
        json_object_get(json_object_get(json_object_get(spec, "auth"), "server"), "generate");
    cleanup_free char *cname = server_name(spec);
    const char *org = str_at(gen, "organization");
    int bits = json_is_integer(json_object_get(gen, "size"))
                   ? (int)json_integer_value(json_object_get(gen, "size"))
                   : 2048;
    vic_cert *ca = NULL, *server = NULL, *client = NULL;
    /* ECDSA P-256 unless a key size was asked for: RSA keys take a second each to make */
    int ec = !json_is_integer(json_object_get(gen, "size"));
    vic_cert_opts cao = {.cn = "VIC-C VCH CA", .org = org, .bits = bits, .ec = ec};
    /* the address when the VCH has one of its own before it boots, and a DNS name */
    const char *sans[2];
    size_t n_sans = 0;
    if (strcmp(r->t->address, ADDRESS_DHCP) != 0)
        sans[n_sans++] = r->t->address;
    sans[n_sans++] = cname;
    vic_cert_opts so = {
        .cn = cname, .org = org, .bits = bits, .ec = ec, .sans = sans, .n_sans = n_sans};
    vic_cert_opts co = {.cn = "client", .org = org, .bits = bits, .ec = ec};
    cleanup_free char *ca_pem = xasprintf("%s/ca.pem", dir);
    cleanup_free char *ca_key = xasprintf("%s/ca-key.pem", dir);
    cleanup_free char *s_pem = xasprintf("%s/server-cert.pem", dir);
    cleanup_free char *s_key = xasprintf("%s/server-key.pem", dir);
    cleanup_free char *c_pem = xasprintf("%s/cert.pem", dir);
    cleanup_free char *c_key = xasprintf("%s/key.pem", dir);
    int rc = vic_cert_ca_new(&ca, &cao, err);
    if (rc == 0)
        rc = vic_cert_server_new(&server, ca, &so, err);
    if (rc == 0)
        rc = vic_cert_client_new(&client, ca, &co, err);
    if (rc == 0)
        rc = vic_cert_write_pem(ca, ca_pem, ca_key, err);
    if (rc == 0)
        rc = vic_cert_write_pem(server, s_pem, s_key, err);
    if (rc == 0)
        rc = vic_cert_write_pem(client, c_pem, c_key, err);
    vic_cert_free(ca);
    vic_cert_free(server);
    vic_cert_free(client);
    return rc;
}

static int step_pool(run_ctx *r, vic_err **err)
{
    hv_pool_spec ps;
    pool_spec_of(r->t->spec, &ps);
    const char *parent =
        str_at(json_object_get(json_object_get(r->t->spec, "compute"), "resource"), "name");
    cleanup_free char *root = root_pool();
    hv_ref ref;
    int rc = hv_pool_create(r->e->hv, parent ? parent : root, r->t->name, &ps, &ref, err);
    if (rc == VIC_ECONFLICT) { /* ours: validation refused a name whose pool existed */
        vic_err_free(err);
        return 0;
    }
    return rc;
}

static int step_image(run_ctx *r, vic_err **err)
{
    cleanup_free char *image = appliance_image(r->e, r->t->spec, r->t->name);
    cleanup_free char *folder = xstrndup(image, (size_t)(strrchr(image, '/') - image));
    int rc = hv_ds_mkdir(r->e->hv, folder, err);
    if (rc < 0)
        return rc;
    if (!r->e->local) {
        if ((rc = hv_ds_upload(r->e->hv, image, r->e->iso, err)) < 0)
            return vic_err_wrap(err, rc, "appliance ISO %s", r->e->iso);
        note(r, "appliance_image", "progress", "uploaded %s to %s", r->e->iso, image);
        return 0;
    }
    cleanup_free char *tmp = xasprintf("%s/.appliance-image.%ld", r->e->home, (long)getpid());
    rc = vic_file_write_atomic(tmp, APPLIANCE_MAGIC, strlen(APPLIANCE_MAGIC), 0644, err);
    if (rc == 0)
        rc = hv_ds_upload(r->e->hv, image, tmp, err);
    unlink(tmp);
    return rc;
}

/* Creates a datastore folder and its missing parents. */
static int ds_mkdir_p(hv_conn *hv, const char *ds_path, vic_err **err)
{
    const char *rel = strchr(ds_path, ']');
    rel = rel ? rel + 1 : ds_path;
    while (*rel == ' ')
        rel++;
    for (const char *p = strchr(rel, '/'); p; p = strchr(p + 1, '/')) {
        cleanup_free char *parent = xstrndup(ds_path, (size_t)(p - ds_path));
        int rc = hv_ds_mkdir(hv, parent, err);
        if (rc < 0)
            return rc;
    }
    return hv_ds_mkdir(hv, ds_path, err);
}

static int step_vm(run_ctx *r, vic_err **err)
{
    const json_t *spec = r->t->spec;
    cleanup_free char *pool = pool_path(spec);
    cleanup_free char *images = image_store(r->e, spec);
    cleanup_free char *image_dir = NULL;
    cleanup_free char *ds = appliance_ds(spec);
    cleanup_free char *image = appliance_image(r->e, spec, r->t->name);
    int rc = ds_mkdir_p(r->e->hv, images, err);
    /* the local appliance reads the store on this host; a VM reads it on its datastore */
    if (rc == 0 && r->e->local)
        rc = hv_ds_local_path(r->e->hv, images, &image_dir, err);
    else if (rc == 0)
        image_dir = xstrdup(images);
    if (rc < 0)
        return vic_err_wrap(err, rc, "image store %s", images);
    json_t *ec cleanup_json = json_object();
    cleanup_free char *spec_s = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    const json_t *debug = json_object_get(spec, "debug");
    json_object_set_new(ec, K_NAME, json_string(r->t->name));
    json_object_set_new(ec, K_ADDRESS, json_string(r->t->address));
    json_object_set_new(ec, K_POOL, json_string(pool));
    if (r->e->local) { /* host paths mean something only to an appliance on this host */
        json_object_set_new(ec, K_HOME, json_string(r->e->home));
        json_object_set_new(ec, K_BIN_DIR, json_string(r->e->bin_dir));
    }
    json_object_set_new(ec, K_IMAGE_DIR, json_string(image_dir));
    /* the containers' networks: subnets of the bridge range, NICs on the bridge port group */
    const json_t *bridge = json_object_get(json_object_get(spec, "network"), "bridge");
    if (str_at(bridge, "ip_range"))
        json_object_set_new(ec, K_BRIDGE_RNG, json_string(str_at(bridge, "ip_range")));
    if (str_at(json_object_get(bridge, "port_group"), "name"))
        json_object_set_new(ec, K_BRIDGE_PG,
                            json_string(str_at(json_object_get(bridge, "port_group"), "name")));
    /* the volume stores the port layer serves, by label */
    size_t vi;
    json_t *vol;
    json_array_foreach(json_object_get(json_object_get(spec, "storage"), "volume_stores"), vi, vol)
    {
        cleanup_free char *path = volume_store(spec, vol);
        const char *label = str_at(vol, "label");
        cleanup_free char *key = xasprintf(K_CFG "volume_stores|%s", label ? label : "default");
        json_object_set_new(ec, key, json_string(path));
    }
    json_object_set_new(ec, K_TLS, json_string(no_tls(spec) ? "false" : "true"));
    int no_verify = json_is_true(
        json_object_get(json_object_get(json_object_get(spec, "auth"), "client"), "no_tls_verify"));
    json_object_set_new(ec, K_TLS_VERIFY, json_string(no_verify ? "false" : "true"));
    /* the registries the VCH is told about, for the admin portal's reachability checks */
    vic_buf regs = VIC_BUF_INIT;
    static const char *const lists[] = {"insecure", "whitelist"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *reg;
        json_array_foreach(json_object_get(json_object_get(spec, "registry"), lists[l]), i, reg)
        {
            const char *host = json_string_value(reg);
            if (host && *host &&
                strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789.-:[]") == strlen(host))
                vic_buf_appendf(&regs, "%s%s", regs.len ? "," : "", host);
        }
    }
    json_object_set_new(ec, K_REGISTRIES, json_string(regs.data ? regs.data : ""));
    vic_buf_free(&regs);
    json_object_set_new(ec, K_DEBUG,
                        json_sprintf("%lld", debug ? (long long)json_integer_value(debug) : 0LL));
    json_object_set_new(ec, K_SPEC, json_string(spec_s));
    json_object_set_new(ec, K_VERSION, json_string(VIC_VERSION));
    json_object_set_new(ec, K_CREATED, json_sprintf("%lld", (long long)time(NULL)));
    json_object_set_new(ec, K_CREATED_BY, json_string(r->t->created_by));
    json_object_set_new(ec, K_UID, json_string(str_at(r->t->extra, "uid") ?: ""));
    cleanup_free char *owned =
        json_dumps(json_object_get(r->t->extra, "owned"), JSON_COMPACT | JSON_SORT_KEYS);
    json_object_set_new(ec, K_OWNED, json_string(owned ? owned : "{}"));
    json_object_set_new(ec, K_TASK, json_string(r->t->id));
    json_object_set_new(ec, K_CREATING, json_string(r->t->id));
    const json_t *ep = json_object_get(spec, "endpoint");
    long long mem = size_value(json_object_get(ep, "memory"));
    json_int_t cpus = json_integer_value(json_object_get(json_object_get(ep, "cpu"), "sockets"));
    /* the appliance's NICs: its public network and the containers' bridge */
    const json_t *net = json_object_get(spec, "network");
    hv_nic nics[2];
    size_t n_nics = 0;
    static const char *const roles[] = {"public", "bridge"};
    for (size_t i = 0; i < 2; i++) {
        const char *pg =
            str_at(json_object_get(json_object_get(net, roles[i]), "port_group"), "name");
        if (pg)
            nics[n_nics++] = (hv_nic){.network = pg};
    }
    hv_vm_spec vs = {.name = r->t->name,
                     .pool = pool,
                     .datastore = ds,
                     .cpus = cpus > 0 ? (int)cpus : 1,
                     .memory_mb = mem > 0 ? mem : 2048,
                     .iso = image,
                     .nics = nics,
                     .n_nics = n_nics,
                     .serial_log = true,
                     .extra_config = ec};
    hv_ref ref;
    rc = hv_vm_create(r->e->hv, &vs, &ref, err);
    if (rc == VIC_ECONFLICT) {
        /* a VM of this name that this very task made (a resumed step) is fine */
        vic_err *ge = NULL;
        hv_vm_info info = {0};
        if (appliance_ref(r->e, r->t, &ref, &ge) == 0 &&
            hv_vm_get(r->e->hv, &ref, &info, &ge) == 0 && str_at(info.extra_config, K_TASK) &&
            strcmp(str_at(info.extra_config, K_TASK), r->t->id) == 0) {
            vic_err_free(err);
            rc = 0;
        }
        hv_vm_info_clear(&info);
        vic_err_free(&ge);
    }
    if (rc < 0)
        return rc;
    /* the appliance's server certificate and portal password hash, in its folder */
    cleanup_free char *dir = cert_dir(r->e, r->t->name);
    static const char *const files[] = {"vicadmin.passwd", "server-cert.pem", "server-key.pem",
                                        "ca.pem"};
    for (size_t i = 0; i < (no_tls(spec) ? 1 : 4) && rc == 0; i++) {
        cleanup_free char *from = xasprintf("%s/%s", dir, files[i]);
        cleanup_free char *to = xasprintf("[%s] %s/%s", ds, r->t->name, files[i]);
        rc = hv_ds_upload(r->e->hv, to, from, err);
    }
    return rc;
}

static int step_volumes(run_ctx *r, vic_err **err)
{
    const json_t *vss = json_object_get(json_object_get(r->t->spec, "storage"), "volume_stores");
    size_t i;
    json_t *vs;
    json_array_foreach(vss, i, vs)
    {
        cleanup_free char *path = volume_store(r->t->spec, vs);
        int rc = ds_mkdir_p(r->e->hv, path, err);
        if (rc < 0)
            return vic_err_wrap(err, rc, "volume store %s", str_at(vs, "label"));
    }
    return 0;
}

static int step_power_on(run_ctx *r, vic_err **err)
{
    hv_ref ref;
    int rc = appliance_ref(r->e, r->t, &ref, err);
    if (rc == 0)
        rc = hv_vm_power_on(r->e->hv, &ref, err);
    if (rc == VIC_ECONFLICT) { /* already on */
        vic_err_free(err);
        return 0;
    }
    return rc;
}

static int step_endpoint(run_ctx *r, vic_err **err)
{
    hv_ref ref;
    int rc0 = appliance_ref(r->e, r->t, &ref, err);
    if (rc0 < 0)
        return rc0;
    cleanup_free char *ds = appliance_ds(r->t->spec);
    long nap_ms = 20;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        hv_vm_info info = {0};
        int rc = hv_vm_get(r->e->hv, &ref, &info, err);
        if (rc < 0)
            return rc;
        const char *ready = str_at(info.extra_config, K_READY);
        int ok = ready && strcmp(ready, "true") == 0;
        snprintf(r->docker_host, sizeof(r->docker_host), "%s",
                 str_at(info.extra_config, K_DOCKER_HOST) ?: "");
        hv_power power = info.power;
        cleanup_free char *why = NULL;
        const char *k;
        json_t *v;
        json_object_foreach(info.extra_config, k, v)
        {
            if (strncmp(k, K_STATUS, strlen(K_STATUS)) == 0 && json_string_value(v) &&
                strncmp(json_string_value(v), "failed", 6) == 0 && why == NULL)
                why = xasprintf("%s: %s", k + strlen(K_STATUS), json_string_value(v));
        }
        hv_vm_info_clear(&info);
        if (ok)
            return 0;
        if (why)
            return vic_err_set(err, VIC_EUNAVAIL, "appliance component %s", why);
        if (power != HV_POWERED_ON)
            return vic_err_set(err, VIC_EUNAVAIL,
                               "the appliance powered off before its endpoint was ready (see "
                               "its serial log, [%s] %s/output.log)",
                               ds, r->t->name);
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms > r->e->ready_timeout_ms)
            return vic_err_set(err, VIC_ETIMEOUT,
                               "the appliance's components did not report ready within %ld s",
                               r->e->ready_timeout_ms / 1000);
        /* quick while a local appliance starts, then no more than 5 reads a second, which a
         * vCenter answering every VCH's polls can bear */
        struct timespec nap = {0, nap_ms * 1000 * 1000};
        nanosleep(&nap, NULL);
        nap_ms = nap_ms * 2 > 200 ? 200 : nap_ms * 2;
    }
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    vic_buf *b = ud;
    if (b->len < 65536)
        vic_buf_append(b, p, sz * n);
    return sz * n;
}

static int step_docker(run_ctx *r, vic_err **err)
{
    int tls = !no_tls(r->t->spec);
    /* where the appliance says its endpoint is (the address it got, on the port it serves) */
    cleanup_free char *reported = r->docker_host[0]
                                      ? xstrdup(r->docker_host)
                                      : xasprintf("%s:%d", r->t->address, tls ? 2376 : 2375);
    cleanup_free char *host = docker_host_for(r->t->spec, r->t->address, reported);
    cleanup_free char *url = xasprintf("%s://%s/info", tls ? "https" : "http", host);
    /* a name the certificate carries, reached at the address the appliance reported: the
     * check proves the appliance there holds the VCH's certificate, without asking DNS */
    cleanup_free char *connect_to = NULL;
    struct curl_slist *to = NULL;
    if (strcmp(host, reported) != 0) {
        connect_to = xasprintf("%s:%s", host, reported);
        to = curl_slist_append(NULL, connect_to);
    }
    cleanup_free char *dir = cert_dir(r->e, r->t->name);
    cleanup_free char *ca = xasprintf("%s/ca.pem", dir);
    cleanup_free char *cert = xasprintf("%s/cert.pem", dir);
    cleanup_free char *key = xasprintf("%s/key.pem", dir);
    CURL *c = curl_easy_init();
    vic_buf body = VIC_BUF_INIT;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    if (tls) {
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
        curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    }
    if (to)
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, to);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(to);
    json_t *info cleanup_json = body.data ? json_loads(body.data, 0, NULL) : NULL;
    vic_buf_free(&body);
    if (cc != CURLE_OK)
        return vic_err_set(err, VIC_EUNAVAIL, "docker endpoint %s: %s", url,
                           curl_easy_strerror(cc));
    if (status != 200 || !json_is_object(info))
        return vic_err_set(err, VIC_EUNAVAIL, "docker endpoint %s answered %ld", url, status);
    return 0;
}

typedef struct step {
    const char *name;
    const char *doing;
    int (*run)(run_ctx *r, vic_err **err);
} step;

static const step create_steps[] = {
    {"certificates", "generating the certificates and the admin portal's password",
     step_certificates},
    {"resource_pool", "creating the resource pool", step_pool},
    {"appliance_image", "preparing the appliance image", step_image},
    {"appliance_vm", "creating the appliance VM", step_vm},
    {"volume_stores", "creating the volume stores", step_volumes},
    {"power_on", "powering on the appliance", step_power_on},
    {"endpoint", "waiting for the appliance's components", step_endpoint},
    {"docker_api", "checking the docker endpoint", step_docker},
};

/* Keeps the first failure of a rollback that is not "already gone" in *first. */
static void keep_failure(vic_err **err, char **first)
{
    if (*err && (*err)->code != VIC_ENOTFOUND && *first == NULL)
        *first = xstrdup((*err)->msg);
    vic_err_free(err);
}

/*
 * Removes what a create made; tolerant of pieces never made or already gone. Returns NULL
 * when nothing of the VCH is left, else the first failure (caller frees): the target did not
 * answer, or refused, so pieces may remain there.
 */
static char *roll_back(vch_engine *e, const vch_task *t)
{
    hv_ref ref;
    hv_vm_info info = {0};
    vic_err *err = NULL;
    char *first = NULL;
    /* the VM's folder is ours to remove when the VM is ours or there is none of that name
     * (validation found the name free) */
    int rc = t->spec ? appliance_ref(e, t, &ref, &err) : VIC_ENOTFOUND;
    int folder_ours = rc == VIC_ENOTFOUND;
    if (rc == 0 && hv_vm_get(e->hv, &ref, &info, &err) == 0) {
        const char *owner = str_at(info.extra_config, K_TASK);
        if (owner && strcmp(owner, t->id) == 0) {
            folder_ours = 1;
            hv_vm_power_off(e->hv, &ref, 0, &err);
            keep_failure(&err, &first);
            if (hv_vm_destroy(e->hv, &ref, &err) < 0)
                vic_log(VIC_LOG_WARN, "event=rollback_vm_failed vch=%s msg=\"%s\"", t->name,
                        err->msg);
        }
    }
    hv_vm_info_clear(&info);
    keep_failure(&err, &first);
    if (t->spec) {
        cleanup_free char *pp = pool_path(t->spec);
        hv_ref pool;
        if (hv_find(e->hv, HV_POOL, pp, &pool, &err) == 0 &&
            hv_pool_destroy(e->hv, &pool, &err) < 0)
            vic_log(VIC_LOG_WARN, "event=rollback_pool_failed vch=%s msg=\"%s\"", t->name,
                    err->msg);
        keep_failure(&err, &first);
        /* only the stores this create made: a folder that was there before is not ours (a
         * delete removes its stores in a step of its own, as its options say) */
        size_t i;
        json_t *path;
        const json_t *owned =
            strcmp(t->kind, "create") == 0 ? json_object_get(t->extra, "owned") : NULL;
        json_array_foreach(json_object_get(owned, "images"), i, path)
        {
            hv_ds_delete(e->hv, json_string_value(path), &err);
            keep_failure(&err, &first);
        }
        const char *label;
        json_object_foreach(json_object_get(owned, "volumes"), label, path)
        {
            hv_ds_delete(e->hv, json_string_value(path), &err);
            keep_failure(&err, &first);
        }
        json_array_foreach(json_object_get(owned, "volume_folders"), i, path)
        {
            hv_ds_delete(e->hv, json_string_value(path), &err);
            keep_failure(&err, &first);
        }
        if (!e->local && folder_ours) { /* the ISO and files uploaded before the VM existed */
            cleanup_free char *ds = appliance_ds(t->spec);
            cleanup_free char *folder = xasprintf("[%s] %s", ds, t->name);
            hv_ds_delete(e->hv, folder, &err);
            keep_failure(&err, &first);
        }
    }
    cleanup_free char *dir = cert_dir(e, t->name);
    static const char *const files[] = {
        "ca.pem",  "ca-key.pem", "server-cert.pem",   "server-key.pem", "cert.pem",
        "key.pem", "env",        "vicadmin-password", "vicadmin.passwd"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        cleanup_free char *f = xasprintf("%s/%s", dir, files[i]);
        unlink(f);
    }
    rmdir(dir);
    return first;
}

/* Rolls a create back and records how it went; *incomplete (caller frees) gets the failure
 * when pieces may remain on the target. */
static void roll_back_noted(run_ctx *r, char **incomplete)
{
    note(r, "rollback", "started", "removing what the create made");
    *incomplete = roll_back(r->e, r->t);
    if (*incomplete)
        note(r, "rollback", "failed",
             "could not remove everything of VCH %s from %s (%s); pieces may remain there until "
             "vic-machine delete --name %s runs against it",
             r->t->name, r->e->target, *incomplete, r->t->name);
    else
        note(r, "rollback", "done", "nothing of VCH %s is left", r->t->name);
}

static int write_env(vch_engine *e, const vch_task *t)
{
    cleanup_free char *text = NULL;
    vic_err *err = NULL;
    int rc = vch_env(e, t->vch_id, &text, &err);
    if (rc == 0 && !no_tls(t->spec)) {
        cleanup_free char *dir = cert_dir(e, t->name);
        cleanup_free char *path = xasprintf("%s/env", dir);
        rc = vic_file_write_atomic(path, text, strlen(text), 0644, &err);
    }
    vic_err_free(&err);
    return rc;
}

static int finish_create(vch_engine *e, const vch_task *t, vic_err **err)
{
    hv_ref ref;
    json_t *ec cleanup_json = json_pack("{s:n}", K_CREATING);
    hv_vm_change ch = {.extra_config = ec};
    int rc = appliance_ref(e, t, &ref, err);
    if (rc == 0)
        rc = hv_vm_reconfigure(e->hv, &ref, NULL, &ch, NULL, 0, err);
    if (rc == 0)
        write_env(e, t);
    return rc;
}

/* Records a task's end. A record that cannot be written (the database busy past its
 * timeout, say) is retried; a task left "running" would be rolled back by the next converge.
 * Returns the last failure. */
static int finish_task(vch_engine *e, const char *id, const char *state, const char *error,
                       vic_err **err)
{
    int rc = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        vic_err_free(err);
        if ((rc = vch_task_finish(e->tasks, id, state, error, err)) == 0)
            return 0;
        vic_log(VIC_LOG_WARN, "event=task_record_failed task=%s state=%s attempt=%d msg=\"%s\"", id,
                state, attempt + 1, (*err)->msg);
    }
    return rc;
}

/* Whether every step of a create task is recorded as done (its runner may have died before
 * it could record the task's end). */
static int create_complete(vch_engine *e, const vch_task *t)
{
    json_t *events cleanup_json = NULL;
    char state[16];
    vic_err *ignore cleanup_err = NULL;
    if (vch_task_events(e->tasks, t->id, 0, &events, state, &ignore) < 0)
        return 0;
    const char *last = create_steps[sizeof(create_steps) / sizeof(create_steps[0]) - 1].name;
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (strcmp(str_at(ev, "step") ?: "", last) == 0 &&
            strcmp(str_at(ev, "status") ?: "", "done") == 0)
            return 1;
    }
    return 0;
}

int vch_create_run(vch_engine *e, const char *task_id, vch_progress_fn fn, void *payload,
                   vic_err **err)
{
    vch_task t;
    int rc = vch_task_get(e->tasks, task_id, &t, err);
    if (rc < 0)
        return rc;
    run_ctx r = {e, &t, fn, payload, ""};
    for (size_t i = 0; i < sizeof(create_steps) / sizeof(create_steps[0]) && rc == 0; i++) {
        note(&r, create_steps[i].name, "started", "%s", create_steps[i].doing);
        rc = create_steps[i].run(&r, err);
        if (rc == 0)
            note(&r, create_steps[i].name, "done", "%s: done", create_steps[i].doing);
        else
            note(&r, create_steps[i].name, "failed", "%s", (*err)->msg);
    }
    if (rc < 0) {
        cleanup_free char *incomplete = NULL;
        roll_back_noted(&r, &incomplete);
        cleanup_free char *msg =
            incomplete ? xasprintf("%s (rollback incomplete: %s)", (*err)->msg, incomplete)
                       : xasprintf("%s (rolled back)", (*err)->msg);
        vic_err *fe = NULL;
        if (finish_task(e, t.id, "failed", msg, &fe) < 0)
            vic_log(VIC_LOG_ERROR,
                    "event=task_record_failed task=%s state=failed msg=\"%s\" (the next converge "
                    "rolls it back again)",
                    t.id, fe->msg);
        vic_err_free(&fe);
        if (incomplete) { /* the caller learns that pieces may remain */
            int code = (*err)->code;
            vic_err_free(err);
            vic_err_set(err, code, "%s", msg);
        }
    } else {
        cleanup_free char *msg = xasprintf("VCH %s is ready", t.name);
        /* The task ends before the appliance loses its creating mark: whoever reads the VCH
         * as running can delete it at once, and a crash between the two leaves a mark whose
         * task has succeeded, which vch_state reads as done. */
        vic_err *fe = NULL;
        if (finish_task(e, t.id, "succeeded", NULL, &fe) < 0) {
            /* the VCH is whole: the next converge sees every step done and records it then */
            vic_log(VIC_LOG_ERROR, "event=task_record_failed task=%s state=succeeded msg=\"%s\"",
                    t.id, fe->msg);
            rc = vic_err_wrap(&fe, fe->code, "VCH %s is ready, but its task could not be recorded",
                              t.name);
            *err = fe;
            vch_task_clear(&t);
            return rc;
        }
        if (finish_create(e, &t, &fe) < 0) {
            vic_log(VIC_LOG_WARN, "event=create_unmark_failed vch=%s msg=\"%s\"", t.name, fe->msg);
            vic_err_free(&fe);
        }
        if (fn)
            fn("done", "succeeded", msg, payload);
    }
    vch_task_clear(&t);
    return rc;
}

/* ---- delete ---- */

typedef struct delete_begin_args {
    vch_engine *e;
    vch_task *t;
} delete_begin_args;

static int record_delete(sqlite3 *db, void *payload, vic_err **err)
{
    delete_begin_args *a = payload;
    int rc = vch_task_insert(db, a->t, err);
    if (rc == VIC_ECONFLICT)
        return vic_err_set(err, VIC_ECONFLICT,
                           "VCH %s is being created or deleted on %s right now; wait for that "
                           "task to finish, then delete",
                           a->t->name, a->t->target);
    return rc;
}

static int pool_vms(vch_engine *e, const char *pool, json_t **out, vic_err **err)
{
    return hv_vm_list(e->hv, pool, "guestinfo.vice./common/", out, err);
}

/* What a VCH's delete may remove, as its create recorded it; a VCH made before that record
 * existed owns the stores it named by datastore alone (the folders named after it). */
static json_t *owned_of(vch_engine *e, const json_t *vm, const json_t *spec)
{
    json_t *owned = json_loads(appliance_key(vm, K_OWNED) ?: "", 0, NULL);
    if (json_is_object(owned))
        return owned;
    json_decref(owned);
    owned = json_pack("{s:[], s:{}}", "images", "volumes");
    const json_t *storage = json_object_get(spec, "storage");
    const char *first =
        json_string_value(json_array_get(json_object_get(storage, "image_stores"), 0));
    if (first == NULL || vch_spec_datastore_only(first)) {
        cleanup_free char *img = image_store(e, spec);
        json_array_append_new(json_object_get(owned, "images"), json_string(img));
    }
    size_t i;
    json_t *vs;
    json_array_foreach(json_object_get(storage, "volume_stores"), i, vs)
    {
        if (str_at(vs, "datastore") && vch_spec_datastore_only(str_at(vs, "datastore"))) {
            cleanup_free char *path = volume_store(spec, vs);
            json_object_set_new(json_object_get(owned, "volumes"), str_at(vs, "label") ?: "default",
                                json_string(path));
        }
    }
    return owned;
}

int vch_delete_begin(vch_engine *e, const char *id, const vch_delete_opts *o, vch_task *task,
                     vic_err **err)
{
    memset(task, 0, sizeof(*task));
    json_t *vm cleanup_json = NULL;
    int rc = find_vch(e, id, &vm, err);
    if (rc == VIC_ENOTFOUND) {
        /* before its appliance exists, a VCH under creation is only its task */
        const char *name = strncmp(id, "vm:", 3) == 0 ? id + 3 : id;
        vch_task t;
        if (vch_task_latest(e->tasks, e->target, name, "create", &t, NULL) == 0) {
            int busy = strcmp(t.state, "running") == 0 && vch_task_owner_alive(&t);
            if (busy)
                rc = vic_err_set(err, VIC_ECONFLICT,
                                 "VCH %s is being created on %s right now (step %s); wait for "
                                 "the create to finish, then delete",
                                 name, e->target, t.step[0] ? t.step : "validate");
            vch_task_clear(&t);
        }
    }
    if (rc < 0)
        return rc;
    const char *name = appliance_key(vm, K_NAME);
    const char *pool = appliance_key(vm, K_POOL);
    json_t *vms cleanup_json = NULL;
    if ((rc = pool_vms(e, pool, &vms, err)) < 0)
        return rc;
    size_t i, running = 0;
    json_t *c;
    json_array_foreach(vms, i, c)
    {
        if (strcmp(str_at(c, "ref"), str_at(vm, "ref")) != 0 &&
            strcmp(str_at(c, "power") ?: "", "poweredOn") == 0)
            running++;
    }
    if (running && !o->containers_all)
        return vic_err_set(err, VIC_ECONFLICT,
                           "VCH %s has %zu running container%s; stop them first or delete with "
                           "containers: all",
                           name, running, running == 1 ? "" : "s");
    new_task_id(task->id);
    snprintf(task->kind, sizeof(task->kind), "delete");
    snprintf(task->state, sizeof(task->state), "running");
    snprintf(task->target, sizeof(task->target), "%s", e->target);
    snprintf(task->name, sizeof(task->name), "%s", name);
    snprintf(task->vch_id, sizeof(task->vch_id), "%s", str_at(vm, "ref"));
    snprintf(task->created_by, sizeof(task->created_by), "admin");
    task->spec = spec_of(vm);
    task->extra = json_pack("{s:s, s:s, s:o}", "containers", o->containers_all ? "all" : "off",
                            "volume_stores", o->volume_stores_all ? "all" : "none", "owned",
                            owned_of(e, vm, task->spec));
    delete_begin_args a = {e, task};
    if ((rc = vic_store_write(e->tasks, record_delete, &a, err)) < 0) {
        vch_task_clear(task);
        return rc;
    }
    hv_ref ref;
    ref_of(vm, &ref);
    json_t *ec cleanup_json = json_pack("{s:s}", K_DELETING, task->id);
    hv_vm_change ch = {.extra_config = ec};
    vic_err *ignore = NULL;
    hv_vm_reconfigure(e->hv, &ref, NULL, &ch, NULL, 0, &ignore);
    vic_err_free(&ignore);
    return 0;
}

static int tolerate_gone(int rc, vic_err **err)
{
    if (rc == VIC_ENOTFOUND) {
        vic_err_free(err);
        return 0;
    }
    return rc;
}

static int del_containers(run_ctx *r, vic_err **err)
{
    cleanup_free char *pool = pool_path(r->t->spec);
    json_t *vms cleanup_json = NULL;
    int rc = pool_vms(r->e, pool, &vms, err);
    if (rc == VIC_ENOTFOUND || (rc < 0 && strstr((*err)->msg, "not found"))) {
        vic_err_free(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    size_t i, n = 0;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        if (strcmp(str_at(vm, "ref"), r->t->vch_id) == 0)
            continue;
        hv_ref ref;
        ref_of(vm, &ref);
        if ((rc = tolerate_gone(hv_vm_power_off(r->e->hv, &ref, 10000, err), err)) < 0)
            return rc;
        if ((rc = tolerate_gone(hv_vm_destroy(r->e->hv, &ref, err), err)) < 0)
            return rc;
        n++;
    }
    if (n)
        note(r, "containers", "progress", "removed %zu containerVM%s", n, n == 1 ? "" : "s");
    return 0;
}

static int del_appliance(run_ctx *r, vic_err **err)
{
    hv_ref ref;
    snprintf(ref.id, sizeof(ref.id), "%s", r->t->vch_id);
    int rc = tolerate_gone(hv_vm_power_off(r->e->hv, &ref, 10000, err), err);
    if (rc == 0)
        rc = tolerate_gone(hv_vm_destroy(r->e->hv, &ref, err), err);
    return rc;
}

static int del_pool(run_ctx *r, vic_err **err)
{
    cleanup_free char *pp = pool_path(r->t->spec);
    hv_ref pool;
    int rc = hv_find(r->e->hv, HV_POOL, pp, &pool, err);
    if (rc == 0)
        rc = hv_pool_destroy(r->e->hv, &pool, err);
    return tolerate_gone(rc, err);
}

/* Removes the stores the VCH's create recorded as its own, and no other folder: a store
 * that existed before the VCH is left in place, and said so. */
static int del_stores(run_ctx *r, vic_err **err)
{
    const json_t *owned = json_object_get(r->t->extra, "owned");
    const json_t *storage = json_object_get(r->t->spec, "storage");
    int rc = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(owned, "images"), i, v)
    {
        if ((rc = tolerate_gone(hv_ds_delete(r->e->hv, json_string_value(v), err), err)) < 0)
            return rc;
    }
    cleanup_free char *images = image_store(r->e, r->t->spec);
    if (json_array_size(json_object_get(owned, "images")) == 0)
        note(r, "stores", "progress", "left the image store %s in place: it existed before VCH %s",
             images, r->t->name);
    if (strcmp(str_at(r->t->extra, "volume_stores") ?: "none", "all") != 0)
        return 0;
    json_array_foreach(json_object_get(storage, "volume_stores"), i, v)
    {
        const char *label = str_at(v, "label") ?: "default";
        const char *path = str_at(json_object_get(owned, "volumes"), label);
        cleanup_free char *named = volume_store(r->t->spec, v);
        if (path == NULL || strcmp(path, named) != 0) {
            note(r, "stores", "progress",
                 "left the volume store %s (%s) in place: it existed before VCH %s", label, named,
                 r->t->name);
            continue;
        }
        if ((rc = tolerate_gone(hv_ds_delete(r->e->hv, path, err), err)) < 0)
            return rc;
    }
    json_array_foreach(json_object_get(owned, "volume_folders"), i, v)
    {
        if ((rc = tolerate_gone(hv_ds_delete(r->e->hv, json_string_value(v), err), err)) < 0)
            return rc;
    }
    return 0;
}

static int del_certs(run_ctx *r, vic_err **err)
{
    (void)err;
    free(roll_back(r->e, r->t)); /* the certificate directory, and anything a create left */
    return 0;
}

static const step delete_steps[] = {
    {"containers", "removing the containerVMs", del_containers},
    {"appliance_vm", "removing the appliance VM", del_appliance},
    {"resource_pool", "removing the resource pool", del_pool},
    {"stores", "removing the image store and chosen volume stores", del_stores},
    {"certificates", "removing the certificates", del_certs},
};

int vch_delete_run(vch_engine *e, const char *task_id, vch_progress_fn fn, void *payload,
                   vic_err **err)
{
    vch_task t;
    int rc = vch_task_get(e->tasks, task_id, &t, err);
    if (rc < 0)
        return rc;
    run_ctx r = {e, &t, fn, payload, ""};
    for (size_t i = 0; i < sizeof(delete_steps) / sizeof(delete_steps[0]) && rc == 0; i++) {
        note(&r, delete_steps[i].name, "started", "%s", delete_steps[i].doing);
        rc = delete_steps[i].run(&r, err);
        if (rc == 0)
            note(&r, delete_steps[i].name, "done", "%s: done", delete_steps[i].doing);
        else
            note(&r, delete_steps[i].name, "failed", "%s", (*err)->msg);
    }
    vic_err *fe = NULL;
    if (rc < 0) {
        if (finish_task(e, t.id, "failed", (*err)->msg, &fe) < 0)
            vic_log(VIC_LOG_ERROR, "event=task_record_failed task=%s state=failed msg=\"%s\"", t.id,
                    fe->msg);
        vic_err_free(&fe);
    } else if (finish_task(e, t.id, "succeeded", NULL, &fe) < 0) {
        /* every step is done; the next converge runs them again (each tolerates "gone") */
        rc = vic_err_wrap(&fe, fe->code, "VCH %s is deleted, but its task could not be recorded",
                          t.name);
        *err = fe;
    } else {
        if (fn) {
            cleanup_free char *msg = xasprintf("VCH %s is deleted", t.name);
            fn("done", "succeeded", msg, payload);
        }
    }
    vch_task_clear(&t);
    return rc;
}

/* ---- converge ---- */

int vch_converge(vch_engine *e, int *n_fixed, vic_err **err)
{
    *n_fixed = 0;
    json_t *ids cleanup_json = NULL;
    int rc = vch_tasks_running(e->tasks, &ids, err);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        vch_task t;
        vic_err *te = NULL;
        if (vch_task_get(e->tasks, json_string_value(id), &t, &te) < 0) {
            vic_err_free(&te);
            continue;
        }
        /* another target's tasks are for an engine connected there */
        if (vch_task_owner_alive(&t) || strcmp(t.target, e->target) != 0) {
            vch_task_clear(&t);
            continue;
        }
        vic_err *ae = NULL;
        if (vch_task_adopt(e->tasks, &t, &ae) < 0) { /* another process converges it */
            if (ae->code != VIC_ECONFLICT)
                vic_log(VIC_LOG_WARN, "event=converge_adopt_failed task=%s msg=\"%s\"", t.id,
                        ae->msg);
            vic_err_free(&ae);
            vch_task_clear(&t);
            continue;
        }
        vic_log(VIC_LOG_INFO, "event=converge task=%s kind=%s vch=%s step=%s", t.id, t.kind, t.name,
                t.step);
        if (strcmp(t.kind, "create") == 0 && create_complete(e, &t)) {
            /* its runner died after the last step, before recording the end: the VCH is whole */
            run_ctx r = {e, &t, NULL, NULL, ""};
            note(&r, "resume", "done",
                 "the process running this create stopped after its last step; VCH %s is ready",
                 t.name);
            vic_err *fe = NULL;
            if (finish_task(e, t.id, "succeeded", NULL, &fe) == 0 && finish_create(e, &t, &fe) < 0)
                vic_log(VIC_LOG_WARN, "event=create_unmark_failed vch=%s msg=\"%s\"", t.name,
                        fe->msg);
            vic_err_free(&fe);
        } else if (strcmp(t.kind, "create") == 0) {
            run_ctx r = {e, &t, NULL, NULL, ""};
            note(&r, "rollback", "started",
                 "the process running this create stopped during step %s; rolling back",
                 t.step[0] ? t.step : "validate");
            cleanup_free char *incomplete = roll_back(e, &t);
            if (incomplete)
                note(&r, "rollback", "failed", "could not remove everything of VCH %s (%s)", t.name,
                     incomplete);
            else
                note(&r, "rollback", "done", "nothing of VCH %s is left", t.name);
            cleanup_free char *msg =
                incomplete ? xasprintf("interrupted during step %s; rollback incomplete: %s",
                                       t.step[0] ? t.step : "validate", incomplete)
                           : xasprintf("interrupted during step %s; rolled back",
                                       t.step[0] ? t.step : "validate");
            vic_err *fe = NULL;
            if (finish_task(e, t.id, "failed", msg, &fe) < 0)
                vic_log(VIC_LOG_ERROR, "event=task_record_failed task=%s state=failed msg=\"%s\"",
                        t.id, fe->msg);
            vic_err_free(&fe);
        } else {
            vic_err *de = NULL;
            run_ctx r = {e, &t, NULL, NULL, ""};
            note(&r, "resume", "started",
                 "the process running this delete stopped during step %s; finishing it", t.step);
            if (vch_delete_run(e, t.id, NULL, NULL, &de) < 0)
                vic_log(VIC_LOG_WARN, "event=converge_delete_failed vch=%s msg=\"%s\"", t.name,
                        de->msg);
            vic_err_free(&de);
        }
        (*n_fixed)++;
        vch_task_clear(&t);
    }
    return 0;
}

/* ---- inspect and list ---- */

static const char *vch_state(const json_t *vm, vch_engine *e)
{
    const char *creating = appliance_key(vm, K_CREATING);
    const char *deleting = appliance_key(vm, K_DELETING);
    const char *task_id = deleting ? deleting : creating;
    if (task_id) {
        vch_task t;
        vic_err *err = NULL;
        const char *s = deleting ? "deleting" : "creating";
        int created = 0;
        if (vch_task_get(e->tasks, task_id, &t, &err) == 0) {
            created = !deleting && strcmp(t.state, "succeeded") == 0;
            if (strcmp(t.state, "running") != 0)
                s = deleting ? "delete failed" : "create failed";
            vch_task_clear(&t);
        }
        vic_err_free(&err);
        if (!created)
            return s;
    }
    const char *power = str_at(vm, "power");
    if (power == NULL || strcmp(power, "poweredOn") != 0)
        return "stopped";
    const char *ready = appliance_key(vm, K_READY);
    return ready && strcmp(ready, "true") == 0 ? "running" : "starting";
}

/* Where docker reaches the VCH: what its appliance reports, else its address's port. */
static char *docker_host_of(const json_t *vm)
{
    const char *reported = appliance_key(vm, K_DOCKER_HOST);
    if (reported && *reported) {
        json_t *spec cleanup_json = spec_of(vm);
        return docker_host_for(spec, appliance_key(vm, K_ADDRESS), reported);
    }
    return xasprintf("%s:%d", appliance_key(vm, K_ADDRESS), plain_of(vm) ? 2375 : 2376);
}

/* The docker env lines of the VCH whose appliance is vm. */
static char *env_of(const vch_engine *e, const json_t *vm)
{
    cleanup_free char *dh = docker_host_of(vm);
    if (plain_of(vm))
        return xasprintf("DOCKER_HOST=tcp://%s\n", dh);
    cleanup_free char *dir = cert_dir(e, appliance_key(vm, K_NAME));
    return xasprintf("DOCKER_HOST=tcp://%s\nDOCKER_TLS_VERIFY=1\nDOCKER_CERT_PATH=%s\n", dh, dir);
}

static json_t *components_of(const json_t *vm)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(vm, "extra_config"), k, v)
    {
        if (strncmp(k, K_STATUS, strlen(K_STATUS)) == 0)
            json_object_set(out, k + strlen(K_STATUS), v);
    }
    return out;
}

static size_t count_containers(vch_engine *e, const json_t *vm)
{
    json_t *vms cleanup_json = NULL;
    vic_err *err = NULL;
    size_t n = 0;
    if (pool_vms(e, appliance_key(vm, K_POOL), &vms, &err) == 0) {
        size_t i;
        json_t *c;
        json_array_foreach(vms, i, c)
        {
            n += json_object_get(json_object_get(c, "extra_config"), "guestinfo.vice./common/id") !=
                 NULL;
        }
    }
    vic_err_free(&err);
    return n;
}

static json_t *summary(vch_engine *e, const json_t *vm)
{
    cleanup_free char *dh = docker_host_of(vm);
    const char *created = appliance_key(vm, K_CREATED);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I}", "id", str_at(vm, "ref"),
                     "name", appliance_key(vm, K_NAME), "target", e->target, "state",
                     vch_state(vm, e), "power_state", str_at(vm, "power") ?: "unknown",
                     "docker_host", dh, "version", appliance_key(vm, K_VERSION) ?: "unknown",
                     "containers", (json_int_t)count_containers(e, vm), "created_by",
                     appliance_key(vm, K_CREATED_BY) ?: "admin", "created",
                     (json_int_t)(created ? atoll(created) : 0));
}

int vch_list(vch_engine *e, json_t **out, vic_err **err)
{
    json_t *apps cleanup_json = NULL;
    int rc = appliances(e, &apps, err);
    if (rc < 0)
        return rc;
    *out = json_array();
    size_t i;
    json_t *vm;
    json_array_foreach(apps, i, vm)
    {
        json_array_append_new(*out, summary(e, vm));
    }
    return 0;
}

int vch_inspect(vch_engine *e, const char *id, json_t **out, vic_err **err)
{
    json_t *vm cleanup_json = NULL;
    int rc = find_vch(e, id, &vm, err);
    if (rc < 0)
        return rc;
    json_t *model = spec_of(vm);
    json_t *s cleanup_json = summary(e, vm);
    const char *version = appliance_key(vm, K_VERSION) ?: "unknown";
    json_object_set_new(model, "id", json_string(str_at(vm, "ref")));
    json_object_set_new(model, "version", json_string(version));
    json_t *runtime =
        json_pack("{s:O, s:O, s:s++, s:O, s:o, s:s, s:s, s:O, s:O, s:s}", "power_state",
                  json_object_get(s, "power_state"), "state", json_object_get(s, "state"),
                  "docker_host", "tcp://", json_string_value(json_object_get(s, "docker_host")), "",
                  "address", json_object_get(json_object_get(vm, "extra_config"), K_ADDRESS),
                  "components", components_of(vm), "version", version, "upgrade_status",
                  strcmp(version, VIC_VERSION) == 0 ? "up to date" : "upgrade available",
                  "containers", json_object_get(s, "containers"), "created_by",
                  json_object_get(s, "created_by"), "pool", appliance_key(vm, K_POOL) ?: "");
    cleanup_free char *dh = docker_host_of(vm); /* the portal is on the endpoint's host */
    cleanup_free char *portal = xasprintf("%s://%.*s:2378/", plain_of(vm) ? "http" : "https",
                                          (int)(strrchr(dh, ':') - dh), dh);
    json_object_set_new(runtime, "admin_portal", json_string(portal));
    json_object_set_new(runtime, "uid", json_string(appliance_key(vm, K_UID) ?: ""));
    cleanup_free char *pwfile =
        xasprintf("%s/vch/%s/vicadmin-password", e->home, appliance_key(vm, K_NAME));
    json_object_set_new(runtime, "admin_password_file", json_string(pwfile));
    cleanup_free char *env = env_of(e, vm);
    json_object_set_new(runtime, "docker_env", json_string(env));
    json_object_set_new(model, "runtime", runtime);
    *out = model;
    return 0;
}

int vch_certificate(vch_engine *e, const char *id, char **pem, vic_err **err)
{
    json_t *vm cleanup_json = NULL;
    int rc = find_vch(e, id, &vm, err);
    if (rc < 0)
        return rc;
    if (plain_of(vm))
        return vic_err_set(err, VIC_ENOTFOUND, "VCH %s was created without TLS",
                           appliance_key(vm, K_NAME));
    cleanup_free char *dir = cert_dir(e, appliance_key(vm, K_NAME));
    cleanup_free char *path = xasprintf("%s/ca.pem", dir);
    size_t len = 0;
    return vic_file_read(pem, &len, path, 1 << 20, err);
}

int vch_log(vch_engine *e, const char *id, char **text, vic_err **err)
{
    json_t *vm cleanup_json = NULL;
    const char *name = id;
    int rc = find_vch(e, id, &vm, err);
    if (rc == 0)
        name = appliance_key(vm, K_NAME);
    else
        vic_err_free(err);
    vch_task t;
    if ((rc = vch_task_latest(e->tasks, e->target, name, "create", &t, err)) < 0)
        return rc;
    json_t *events cleanup_json = NULL;
    char state[16];
    rc = vch_task_events(e->tasks, t.id, 0, &events, state, err);
    vic_buf b = VIC_BUF_INIT;
    vic_buf_appendf(&b, "task %s (%s) for VCH %s: %s\n", t.id, t.kind, t.name, t.state);
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        time_t sec = (time_t)(json_integer_value(json_object_get(ev, "time_ms")) / 1000);
        struct tm tm;
        gmtime_r(&sec, &tm);
        char ts[32];
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        vic_buf_appendf(&b, "%s %-16s %-9s %s\n", ts, str_at(ev, "step"), str_at(ev, "status"),
                        str_at(ev, "message"));
    }
    vch_task_clear(&t);
    *text = vic_buf_steal(&b);
    return rc;
}

int vch_env(vch_engine *e, const char *id, char **text, vic_err **err)
{
    json_t *vm cleanup_json = NULL;
    int rc = find_vch(e, id, &vm, err);
    if (rc == 0)
        *text = env_of(e, vm);
    return rc;
}

/* ---- reconfigure ---- */

static const char *const mutable_fields[] = {"compute", "debug", "syslog_addr", "registry", NULL};

int vch_configure(vch_engine *e, const char *id, const json_t *changes, json_t **out, vic_err **err)
{
    *out = NULL;
    if (!json_is_object(changes))
        return vic_err_set(err, VIC_EINVAL, "(body): must be a JSON object");
    json_t *vm cleanup_json = NULL;
    int rc = find_vch(e, id, &vm, err);
    if (rc < 0)
        return rc;
    json_t *spec cleanup_json = spec_of(vm);
    json_t *problems_l cleanup_json = json_array();
    problems p = {.list = problems_l};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)changes, k, v)
    {
        int ok = 0;
        for (const char *const *m = mutable_fields; *m; m++)
            ok |= strcmp(k, *m) == 0;
        if (strcmp(k, "id") == 0 || strcmp(k, "version") == 0 || strcmp(k, "runtime") == 0)
            continue; /* read-only parts of an inspected model sent back: ignored */
        if (strcmp(k, "name") == 0 && json_equal(v, json_object_get(spec, "name")))
            continue;
        if (!ok) {
            problem(&p,
                    "%s: cannot be changed on a live VCH (changeable: compute, debug, "
                    "syslog_addr, registry)",
                    k);
            continue;
        }
        if (strcmp(k, "compute") == 0) {
            json_t *res = json_object_get(v, "resource");
            if (res &&
                !json_equal(res, json_object_get(json_object_get(spec, "compute"), "resource")))
                problem(&p, "compute.resource: cannot be changed on a live VCH");
            json_t *merged = json_deep_copy(json_object_get(spec, "compute"));
            if (merged == NULL)
                merged = json_object();
            json_object_update(merged, v);
            json_object_set_new(spec, "compute", merged);
        } else {
            json_object_set(spec, k, v);
        }
    }
    if (json_array_size(p.list))
        return join_problems(p.list, VIC_EINVAL, err);
    /* the result must still be a valid spec */
    json_t *norm cleanup_json = NULL;
    vch_spec_limits lim = VCH_SPEC_NO_LIMITS(e->target);
    json_t *sp_problems cleanup_json = NULL;
    vch_inventory *inv = NULL;
    if ((rc = vch_inventory_new(&inv, e->hv, e->target, err)) < 0)
        return rc;
    rc = vch_spec_check(&norm, &sp_problems, vch_inventory_spec(inv), &lim, spec, e->target, err);
    vch_inventory_free(inv);
    if (rc < 0)
        return rc;
    hv_pool_spec ps;
    pool_spec_of(norm, &ps);
    hv_ref pool;
    if ((rc = hv_find(e->hv, HV_POOL, appliance_key(vm, K_POOL), &pool, err)) < 0 ||
        (rc = hv_pool_update(e->hv, &pool, &ps, err)) < 0)
        return rc;
    /* keep what validation does not own (the bridge range default etc.) */
    json_object_set(spec, "compute", json_object_get(norm, "compute"));
    cleanup_free char *spec_s = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    const json_t *debug = json_object_get(spec, "debug");
    json_t *ec cleanup_json =
        json_pack("{s:s, s:o}", K_SPEC, spec_s, K_DEBUG,
                  json_sprintf("%lld", debug ? (long long)json_integer_value(debug) : 0LL));
    hv_ref ref;
    ref_of(vm, &ref);
    hv_vm_change ch = {.extra_config = ec};
    if ((rc = hv_vm_reconfigure(e->hv, &ref, str_at(vm, "change_version"), &ch, NULL, 0, err)) < 0)
        return rc;
    return vch_inspect(e, id, out, err);
}

int vch_port_layer(vch_engine *e, const char *id, char **url, char **token, vic_err **err)
{
    *url = *token = NULL;
    json_t *vm cleanup_json = NULL;
    int rc = find_vch(e, id, &vm, err);
    if (rc < 0)
        return rc;
    const char *ready = appliance_key(vm, K_READY);
    if (ready == NULL || strcmp(ready, "true") != 0)
        return vic_err_set(err, VIC_EUNAVAIL, "VCH %s is %s: its port layer is not answering",
                           appliance_key(vm, K_NAME), vch_state(vm, e));
    json_t *vspec cleanup_json = spec_of(vm);
    cleanup_free char *dsn = appliance_ds(vspec);
    cleanup_free char *ds = xasprintf("[%s] %s/portlayer.token", dsn, appliance_key(vm, K_NAME));
    cleanup_free char *path = NULL;
    if ((rc = hv_ds_local_path(e->hv, ds, &path, err)) < 0)
        return rc;
    size_t len = 0;
    char *text = NULL;
    if ((rc = vic_file_read(&text, &len, path, 4096, err)) < 0)
        return vic_err_wrap(err, rc, "VCH %s's port layer token", appliance_key(vm, K_NAME));
    text[strcspn(text, "\r\n")] = '\0';
    *token = text;
    *url = xasprintf("http://%s:2377", appliance_key(vm, K_ADDRESS));
    return 0;
}
