/* Validation of a VCH spec against the target: the spec's own checks (spec.h), the VCHs
 * that exist, this host's networks and what the target's capabilities allow. */
#include "vch-wizard/vch_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/netlink.h"
#include "vch-wizard/inventory.h"
#include "vch-wizard/spec.h"

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

/* A datastore path as "ds/rel/ative" with single slashes and no trailing one, for
 * comparing places; NULL when it holds a "." or ".." component. Caller frees. */
static char *place_of(const char *ds_path)
{
    cleanup_free char *ds = vch_ds_name_of(ds_path);
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

int vch_in_vm_folder(const json_t *spec, const char *ds_path)
{
    const char *name = str_at(spec, "name");
    if (name == NULL || ds_path == NULL)
        return 0;
    cleanup_free char *ds = vch_appliance_ds(spec);
    cleanup_free char *folder = xasprintf("[%s] %s", ds, name);
    cleanup_free char *own = place_of(folder);
    cleanup_free char *place = place_of(ds_path);
    return own && place && strlen(place) > strlen(own) && places_meet(place, own);
}

/* The places a VCH holds on its datastores, from its spec: [{what, path}] (new
 * reference): its VM folder, its image store and each volume store. */
static json_t *places_held(const vch_engine *e, const json_t *spec)
{
    json_t *out = json_array();
    cleanup_free char *ds = vch_appliance_ds(spec);
    cleanup_free char *folder = xasprintf("[%s] %s", ds, str_at(spec, "name"));
    cleanup_free char *images = vch_image_store(e, spec);
    json_array_append_new(out, json_pack("{s:s, s:s}", "what", "VM folder", "path", folder));
    json_array_append_new(out, json_pack("{s:s, s:s}", "what", "image store", "path", images));
    size_t i;
    json_t *vs;
    json_array_foreach(json_object_get(json_object_get(spec, "storage"), "volume_stores"), i, vs)
    {
        cleanup_free char *path = vch_volume_store(spec, vs);
        cleanup_free char *what = xasprintf("volume store %s", str_at(vs, "label") ?: "default");
        json_array_append_new(out, json_pack("{s:s, s:s}", "what", what, "path", path));
    }
    return out;
}

__attribute__((format(printf, 2, 3))) void vch_problem(vch_problems *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(p->list, vic_json_string_lossy(s));
    free(s);
}

int vch_join_problems(const json_t *list, int code, vic_err **err)
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
static void check_against(vch_engine *e, const json_t *spec, const json_t *apps, vch_problems *p,
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
            vch_problem(p, "name: a VCH named %s already exists on %s; choose another name", name,
                        e->target);
            *conflict = 1;
            continue;
        }
        json_t *ospec cleanup_json = NULL;
        const char *orange = NULL;
        if (have_range && overlaps_vch(vm, net, len, &ospec, &orange))
            vch_problem(p,
                        "network.bridge.ip_range: %s overlaps VCH %s's bridge range %s; choose a "
                        "range outside it",
                        str_at(bridge, "ip_range"), other, orange);
    }
    hv_ref ref;
    vic_err *ignore cleanup_err = NULL;
    cleanup_free char *vmp = vch_vm_path(spec, name);
    if (!*conflict && hv_find(e->hv, HV_VM, vmp, &ref, &ignore) == 0) {
        vch_problem(p, "name: a VM named %s already exists on %s; choose another name", name,
                    e->target);
        *conflict = 1;
    }
    vic_err_free(&ignore);
    cleanup_free char *pp = vch_pool_path(spec);
    if (!*conflict && hv_find(e->hv, HV_POOL, pp, &ref, &ignore) == 0) {
        vch_problem(p, "name: a resource pool %s already exists; choose another name", pp);
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
static void check_places(vch_engine *e, const json_t *spec, const json_t *apps, vch_problems *p)
{
    const char *name = str_at(spec, "name");
    for (const char *const *f = shared_folders; *f; f++)
        if (name && strcasecmp(name, *f) == 0)
            vch_problem(p,
                        "name: %s is the name of a folder that every VCH on the datastore shares; "
                        "choose another name",
                        name);
    /* [{field, place}] of this spec: its VM folder, and each store it names a folder for */
    json_t *mine cleanup_json = json_array();
    cleanup_free char *ds = vch_appliance_ds(spec);
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
        cleanup_free char *path = vch_store_path(json_string_value(v), "-");
        json_array_append_new(mine, json_pack("{s:s, s:s}", "field", field, "path", path));
    }
    json_array_foreach(json_object_get(storage, "volume_stores"), i, v)
    {
        const char *url = str_at(v, "datastore");
        if (url == NULL || vch_spec_datastore_only(url))
            continue;
        cleanup_free char *field = xasprintf("storage.volume_stores[%zu].datastore", i);
        cleanup_free char *path = vch_store_path(url, "-");
        /* a store inside the VCH's own folder meets another VCH's place only where that
         * folder does, which the name's check reports (the default store lies there) */
        if (vch_in_vm_folder(spec, path))
            continue;
        json_array_append_new(mine, json_pack("{s:s, s:s}", "field", field, "path", path));
    }
    json_t *m;
    json_array_foreach(mine, i, m)
    {
        cleanup_free char *place = place_of(str_at(m, "path"));
        if (place == NULL) {
            vch_problem(p, "%s: %s: a path may not hold \".\" or \"..\"", str_at(m, "field"),
                        str_at(m, "path"));
            continue;
        }
        if (strchr(place, '/') == NULL) {
            vch_problem(p, "%s: %s is a whole datastore; name a folder on it", str_at(m, "field"),
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
                    vch_problem(p, "%s: %s %s VCH %s's %s %s; choose a folder of its own",
                                str_at(m, "field"), str_at(m, "path"), relation(place, tp), other,
                                str_at(t, "what"), str_at(t, "path"));
            }
        }
    }
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
        if (!clash && !hv_host_net_overlap(net, len, ifn, sizeof(ifn)))
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
        int rc = vch_join_problems(l, VIC_EINVAL, err);
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
    vch_problems p = {.list = sp_problems ? sp_problems : json_array()};
    vic_err_free(&sperr);
    const char *static_ip =
        str_at(json_object_get(json_object_get(in, "network"), "public"), "static");
    struct in_addr sa;
    cleanup_free char *ip_only = static_ip ? xstrndup(static_ip, strcspn(static_ip, "/")) : NULL;
    if (ip_only && inet_pton(AF_INET, ip_only, &sa) != 1)
        vch_problem(&p, "network.public.static: %s is not an IPv4 address (ADDR or ADDR/PREFIX)",
                    static_ip);
    else if (ip_only && e->caps->appliance_on_host)
        vch_problem(&p, "network.public.static: the local target gives each VCH its own loopback "
                        "address; leave it out");
    if (!e->caps->appliance_on_host && access(e->iso, R_OK) < 0)
        vch_problem(
            &p,
            "appliance_iso: %s: %s (give the appliance ISO with --appliance-iso; VIC-C does "
            "not build a bootable one yet)",
            e->iso, strerror(errno));
    const char *range =
        str_at(json_object_get(json_object_get(in, "network"), "bridge"), "ip_range");
    uint32_t rn;
    int rl;
    if (range && !parse_cidr(range, &rn, &rl))
        vch_problem(&p, "network.bridge.ip_range: %s is not a CIDR range such as 172.16.0.0/12",
                    range);
    int conflict = 0;
    if (rc == 0) {
        json_t *net = json_object_get(norm, "network");
        json_t *br = json_object_get(net, "bridge");
        json_t *apps0 cleanup_json = NULL;
        vic_err *ae = NULL;
        if (str_at(br, "ip_range") == NULL && vch_appliances(e, &apps0, &ae) == 0) {
            cleanup_free char *dflt = free_bridge_range(apps0);
            json_object_set_new(br, "ip_range", json_string(dflt));
        }
        vic_err_free(&ae);
        const json_t *server = json_object_get(json_object_get(norm, "auth"), "server");
        if (json_object_get(server, "certificate") || json_object_get(server, "private_key"))
            vch_problem(&p, "auth.server.certificate: supplied certificates are not supported yet; "
                            "use auth.server.generate");
        const json_t *cas = json_object_get(
            json_object_get(json_object_get(norm, "auth"), "client"), "certificate_authorities");
        if (json_array_size(cas))
            vch_problem(&p, "auth.client.certificate_authorities: supplied client CAs are not "
                            "supported yet; the VCH generates its own CA");
        json_t *apps cleanup_json = NULL;
        vic_err *le = NULL;
        if (vch_appliances(e, &apps, &le) == 0) {
            check_against(e, norm, apps, &p, &conflict);
            check_places(e, norm, apps, &p);
        } else
            vch_problem(&p, "target: %s", le->msg);
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
            vic_err *be = NULL;
            if (e->caps->bridges_usable && e->caps->bridges_usable(&be) < 0)
                json_array_append_new(
                    *warnings, json_sprintf("network.bridge: %s; containers will have no network "
                                            "(only --network none works)",
                                            be->msg));
            vic_err_free(&be);
            vic_err *fe = NULL;
            if (e->caps->bridges_isolated && e->caps->bridges_isolated(&fe) < 0)
                json_array_append_new(
                    *warnings, json_sprintf("network.bridge: containers are not isolated from the "
                                            "host's services and other VCHs (%s)",
                                            fe->msg));
            vic_err_free(&fe);
        }
        const char *r2 =
            str_at(json_object_get(json_object_get(norm, "network"), "bridge"), "ip_range");
        char host_if[64];
        if (e->caps->bridges_on_host && r2 && parse_cidr(r2, &rn, &rl) &&
            hv_host_net_overlap(rn, rl, host_if, sizeof(host_if)))
            vch_problem(&p,
                        "network.bridge.ip_range: %s overlaps this host's network on %s; choose "
                        "another range (--bridge-network-range)",
                        r2, host_if);
    }
    if (json_array_size(p.list)) {
        json_decref(norm);
        rc = vch_join_problems(
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
