#include "portlayer/networks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include "lib/netlink.h"

#define SLICES     16
#define RECORD_MAX (64 * 1024)

struct pl_networks {
    char *range;
    char *dir;
    uint32_t net; /* the range, host order */
    int prefix;
    int slice_prefix;
    char bridge_id[65];
    char none_id[65];
};

static void addr_text(uint32_t a, char *out, size_t cap)
{
    snprintf(out, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static int overlap(uint32_t a, int al, uint32_t b, int bl)
{
    int l = al < bl ? al : bl;
    return (a & vic_cidr_mask(l)) == (b & vic_cidr_mask(l));
}

int pl_networks_open(pl_networks **out, const char *range, const char *dir, vic_err **err)
{
    *out = NULL;
    uint32_t a = 0;
    int len = 0;
    if (vic_cidr_parse(range, &a, &len) < 0 || len < 8 || len > 28)
        return vic_err_set(err, VIC_EINVAL,
                           "bridge range %s is not a CIDR range between /8 and /28 "
                           "(e.g. 172.16.0.0/12)",
                           range ? range : "(none)");
    cleanup_free char *path = xstrdup(dir);
    for (char *p = path + 1;; p++) { /* mkdir -p */
        char c = *p;
        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            return vic_err_sys(err, VIC_EIO, errno, "create the network folder %s", path);
        *p = c;
        if (c == '\0')
            break;
    }
    pl_networks *n = xzalloc(sizeof(*n));
    n->range = xstrdup(range);
    n->dir = xstrdup(dir);
    n->prefix = len;
    n->net = a & vic_cidr_mask(len);
    n->slice_prefix = len + 4 > 28 ? 28 : len + 4;
    cleanup_free char *bseed = xasprintf("vic-network bridge %s", range);
    cleanup_free char *nseed = xasprintf("vic-network none %s", range);
    vic_sha256_hex(n->bridge_id, bseed, strlen(bseed));
    vic_sha256_hex(n->none_id, nseed, strlen(nseed));
    *out = n;
    return 0;
}

void pl_networks_free(pl_networks *n)
{
    if (n == NULL)
        return;
    free(n->range);
    free(n->dir);
    free(n);
}

const char *pl_networks_range(const pl_networks *n)
{
    return n->range;
}

bool pl_network_name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len < 1 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

static json_t *describe(const char *id, const char *name, const char *driver, uint32_t net,
                        int prefix, uint32_t gw, const char *created, const json_t *labels,
                        bool internal, bool builtin)
{
    char subnet[40] = "", gateway[20] = "";
    if (prefix > 0) {
        addr_text(net, subnet, sizeof(subnet));
        snprintf(subnet + strlen(subnet), sizeof(subnet) - strlen(subnet), "/%d", prefix);
        addr_text(gw, gateway, sizeof(gateway));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:b, s:b}", "id", id, "name", name,
                     "driver", driver, "subnet", subnet, "gateway", gateway, "prefix", prefix,
                     "created_at", created, "labels",
                     labels ? json_deep_copy(labels) : json_object(), "internal", internal,
                     "builtin", builtin);
}

static json_t *builtin(const pl_networks *n, int bridge)
{
    json_t *l cleanup_json = json_object();
    if (bridge)
        return describe(n->bridge_id, "bridge", "bridge", n->net, n->slice_prefix, n->net + 1,
                        "0001-01-01T00:00:00Z", l, false, true);
    return describe(n->none_id, "none", "null", 0, 0, 0, "0001-01-01T00:00:00Z", l, false, true);
}

/* The user-defined networks' records, by name. */
static int load_records(const pl_networks *n, json_t **out, vic_err **err)
{
    *out = json_array();
    DIR *d = opendir(n->dir);
    if (d == NULL)
        return vic_err_sys(err, VIC_EIO, errno, "read %s", n->dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        cleanup_free char *path = xasprintf("%s/%s", n->dir, e->d_name);
        cleanup_free char *text = NULL;
        size_t tlen = 0;
        vic_err *rerr = NULL;
        if (vic_file_read(&text, &tlen, path, RECORD_MAX, &rerr) < 0) {
            vic_err_free(&rerr);
            continue; /* removed meanwhile */
        }
        json_t *rec = json_loadb(text, tlen, 0, NULL);
        if (!json_is_object(rec) || !json_is_string(json_object_get(rec, "name"))) {
            json_decref(rec);
            continue;
        }
        json_array_append_new(*out, rec);
    }
    closedir(d);
    return 0;
}

static json_t *from_record(const json_t *rec)
{
    uint32_t net = 0, gw = 0;
    int prefix = 0, gp = 0;
    vic_cidr_parse(json_string_value(json_object_get(rec, "subnet")), &net, &prefix);
    cleanup_free char *g =
        xasprintf("%s/32", json_string_value(json_object_get(rec, "gateway")) ?: "");
    vic_cidr_parse(g, &gw, &gp);
    return describe(json_string_value(json_object_get(rec, "id")) ?: "",
                    json_string_value(json_object_get(rec, "name")), "bridge", net, prefix, gw,
                    json_string_value(json_object_get(rec, "created_at")) ?: "",
                    json_object_get(rec, "labels"), json_is_true(json_object_get(rec, "internal")),
                    false);
}

int pl_network_list(pl_networks *n, json_t **out, vic_err **err)
{
    *out = NULL;
    json_t *recs cleanup_json = NULL;
    int rc = load_records(n, &recs, err);
    if (rc < 0)
        return rc;
    json_t *list = json_array();
    json_array_append_new(list, builtin(n, 1));
    json_array_append_new(list, builtin(n, 0));
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        json_array_append_new(list, from_record(r));
    }
    *out = list;
    return 0;
}

int pl_network_get(pl_networks *n, const char *ref, json_t **out, vic_err **err)
{
    *out = NULL;
    json_t *all cleanup_json = NULL;
    int rc = pl_network_list(n, &all, err);
    if (rc < 0)
        return rc;
    size_t i, rlen = strlen(ref);
    json_t *x, *prefix_hit = NULL;
    int hits = 0;
    json_array_foreach(all, i, x)
    {
        const char *id = json_string_value(json_object_get(x, "id"));
        if (strcmp(json_string_value(json_object_get(x, "name")), ref) == 0 ||
            strcmp(id, ref) == 0) {
            *out = json_incref(x);
            return 0;
        }
        if (rlen > 0 && strncmp(id, ref, rlen) == 0) {
            prefix_hit = x;
            hits++;
        }
    }
    if (hits == 1) {
        *out = json_incref(prefix_hit);
        return 0;
    }
    if (hits > 1)
        return vic_err_set(err, VIC_EINVAL, "network %s is ambiguous (%d matches found on id)", ref,
                           hits);
    return vic_err_set(err, VIC_ENOTFOUND, "network %s not found", ref);
}

/* Whether net/prefix overlaps a network of all; *who gets its name. */
static int taken(const json_t *all, uint32_t net, int prefix, const char **who)
{
    size_t i;
    json_t *x;
    json_array_foreach(all, i, x)
    {
        uint32_t o = 0;
        int ol = 0;
        if (vic_cidr_parse(json_string_value(json_object_get(x, "subnet")), &o, &ol) == 0 &&
            ol > 0 && overlap(net, prefix, o, ol)) {
            *who = json_string_value(json_object_get(x, "name"));
            return 1;
        }
    }
    return 0;
}

int pl_network_create(pl_networks *n, const pl_network_spec *s, json_t **out, vic_err **err)
{
    if (out)
        *out = NULL;
    if (!pl_network_name_valid(s->name))
        return vic_err_set(err, VIC_EINVAL,
                           "invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                           "allowed, at most 64 characters",
                           s->name ? s->name : "");
    if (strcmp(s->name, "bridge") == 0 || strcmp(s->name, "none") == 0 ||
        strcmp(s->name, "host") == 0)
        return vic_err_set(err, VIC_EFORBIDDEN, "%s is a pre-defined network and cannot be created",
                           s->name);
    json_t *all cleanup_json = NULL;
    int rc = pl_network_list(n, &all, err);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *x;
    json_array_foreach(all, i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "name")), s->name) == 0)
            return vic_err_set(err, VIC_ECONFLICT, "network with name %s already exists", s->name);
    }
    uint32_t net = 0, gw = 0;
    int prefix = 0;
    const char *who = NULL;
    if (s->subnet) {
        if (vic_cidr_parse(s->subnet, &net, &prefix) < 0 || prefix < 8 || prefix > 30)
            return vic_err_set(err, VIC_EINVAL,
                               "invalid subnet %s: an IPv4 CIDR with a prefix of 8 to 30",
                               s->subnet);
        if ((net & vic_cidr_mask(prefix)) != net)
            return vic_err_set(err, VIC_EINVAL,
                               "invalid subnet %s: host bits are set (did you mean the network "
                               "address?)",
                               s->subnet);
        if (prefix < n->prefix || (net & vic_cidr_mask(n->prefix)) != n->net)
            return vic_err_set(err, VIC_EINVAL,
                               "subnet %s is outside the VCH's bridge range %s: a VCH's networks "
                               "share that range (vic-machine create --bridge-network-range)",
                               s->subnet, n->range);
        if (taken(all, net, prefix, &who))
            return vic_err_set(err, VIC_ECONFLICT,
                               "Pool overlaps with other one on this address space (network %s)",
                               who);
    } else {
        int found = 0;
        uint32_t step = 1u << (32 - n->slice_prefix);
        for (int sl = 1; sl < SLICES && !found; sl++) {
            net = n->net + (uint32_t)sl * step;
            prefix = n->slice_prefix;
            found = (net & vic_cidr_mask(n->prefix)) == n->net && !taken(all, net, prefix, &who);
        }
        if (!found)
            return vic_err_set(err, VIC_ELIMIT,
                               "could not find an available, non-overlapping IPv4 address pool "
                               "in the VCH's bridge range %s among its %d subnets",
                               n->range, SLICES);
    }
    if (s->gateway) {
        cleanup_free char *g = xasprintf("%s/32", s->gateway);
        int gp = 0;
        if (vic_cidr_parse(g, &gw, &gp) < 0 || (gw & vic_cidr_mask(prefix)) != net || gw == net ||
            gw == (net | ~vic_cidr_mask(prefix)))
            return vic_err_set(err, VIC_EINVAL, "gateway %s is not a host address of subnet %s",
                               s->gateway, s->subnet ? s->subnet : "(chosen)");
    } else {
        gw = net + 1;
    }
    char id[65], created[40], subnet[40], gateway[20];
    unsigned char raw[32];
    vic_random_bytes(raw, sizeof(raw));
    for (int b = 0; b < 32; b++)
        snprintf(id + 2 * b, 3, "%02x", raw[b]);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    addr_text(net, subnet, sizeof(subnet));
    snprintf(subnet + strlen(subnet), sizeof(subnet) - strlen(subnet), "/%d", prefix);
    addr_text(gw, gateway, sizeof(gateway));
    json_t *rec cleanup_json =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:b}", "id", id, "name", s->name, "subnet",
                  subnet, "gateway", gateway, "created_at", created, "labels",
                  s->labels ? json_deep_copy(s->labels) : json_object(), "internal", s->internal);
    cleanup_free char *text = json_dumps(rec, JSON_SORT_KEYS);
    cleanup_free char *tmp = xasprintf("%s/.%s.%s.tmp", n->dir, s->name, id);
    cleanup_free char *dest = xasprintf("%s/%s.json", n->dir, s->name);
    if ((rc = vic_file_write_atomic(tmp, text, strlen(text), 0600, err)) < 0)
        return rc;
    /* link() refuses an existing name: of two creates of one name, one wins */
    if (link(tmp, dest) < 0) {
        int e = errno;
        unlink(tmp);
        if (e == EEXIST)
            return vic_err_set(err, VIC_ECONFLICT, "network with name %s already exists", s->name);
        return vic_err_sys(err, VIC_EIO, e, "record network %s", s->name);
    }
    unlink(tmp);
    if (out)
        *out = from_record(rec);
    return 0;
}

int pl_network_remove(pl_networks *n, const char *ref, vic_err **err)
{
    json_t *x cleanup_json = NULL;
    int rc = pl_network_get(n, ref, &x, err);
    if (rc < 0)
        return rc;
    const char *name = json_string_value(json_object_get(x, "name"));
    if (json_is_true(json_object_get(x, "builtin")))
        return vic_err_set(err, VIC_EFORBIDDEN, "%s is a pre-defined network and cannot be removed",
                           name);
    cleanup_free char *path = xasprintf("%s/%s.json", n->dir, name);
    if (unlink(path) < 0 && errno != ENOENT)
        return vic_err_sys(err, VIC_EIO, errno, "remove network %s", name);
    return 0;
}
