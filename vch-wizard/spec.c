#include "vch-wizard/spec.h"

#include <math.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "lib/mem.h"

#define DEFAULT_BASE_IMAGE_GB   8
#define DEFAULT_ENDPOINT_MEM_MB 2048
#define MAX_NAME                80

/* ---- the shape of a VCH spec (vic-machine-server's model) ---- */

static const char *const share_levels[] = {"low", "normal", "high", NULL};
static const char *const firewalls[] = {"closed", "outbound", "peers", "published", "open", NULL};

static const vic_schema_field mo_fields[] = {
    {.name = "id", .type = VIC_JSON_STRING, .min = 1, .max = 1024},
    {.name = "name", .type = VIC_JSON_STRING, .min = 1, .max = 1024},
};
static const vic_schema mo_schema = VIC_SCHEMA(mo_fields);

static const vic_schema_field shares_fields[] = {
    {.name = "number", .type = VIC_JSON_INT, .min = 1},
    {.name = "level", .type = VIC_JSON_STRING, .choices = share_levels},
};
static const vic_schema shares_schema = VIC_SCHEMA(shares_fields);

static const vic_schema_field resource_fields[] = {
    {.name = "limit", .type = VIC_JSON_ANY},
    {.name = "reservation", .type = VIC_JSON_ANY},
    {.name = "shares", .type = VIC_JSON_OBJECT, .object = &shares_schema},
};
static const vic_schema resource_schema = VIC_SCHEMA(resource_fields);

static const vic_schema_field compute_fields[] = {
    {.name = "cpu", .type = VIC_JSON_OBJECT, .object = &resource_schema},
    {.name = "memory", .type = VIC_JSON_OBJECT, .object = &resource_schema},
    {.name = "resource", .type = VIC_JSON_OBJECT, .object = &mo_schema},
    {.name = "affinity", .type = VIC_JSON_OBJECT},
};
static const vic_schema compute_schema = VIC_SCHEMA(compute_fields);

static const vic_schema_field net_fields[] = {
    {.name = "port_group", .type = VIC_JSON_OBJECT, .object = &mo_schema},
    {.name = "gateway", .type = VIC_JSON_OBJECT},
    {.name = "nameservers", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 8},
    {.name = "static", .type = VIC_JSON_STRING, .max = 64},
};
static const vic_schema net_schema = VIC_SCHEMA(net_fields);

static const vic_schema_field bridge_fields[] = {
    {.name = "ip_range", .type = VIC_JSON_STRING, .max = 64},
    {.name = "network_width", .type = VIC_JSON_INT, .min = 1, .max = 30},
    {.name = "port_group", .type = VIC_JSON_OBJECT, .object = &mo_schema},
};
static const vic_schema bridge_schema = VIC_SCHEMA(bridge_fields);

static const vic_schema_field cnet_fields[] = {
    {.name = "alias", .type = VIC_JSON_STRING, .min = 1, .max = 64},
    {.name = "firewall", .type = VIC_JSON_STRING, .choices = firewalls},
    {.name = "nameservers", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 8},
    {.name = "port_group", .type = VIC_JSON_OBJECT, .required = 1, .object = &mo_schema},
    {.name = "gateway", .type = VIC_JSON_OBJECT},
    {.name = "ip_ranges", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 16},
};
static const vic_schema cnet_schema = VIC_SCHEMA(cnet_fields);

static const vic_schema_field network_fields[] = {
    {.name = "bridge", .type = VIC_JSON_OBJECT, .object = &bridge_schema},
    {.name = "client", .type = VIC_JSON_OBJECT, .object = &net_schema},
    {.name = "management", .type = VIC_JSON_OBJECT, .object = &net_schema},
    {.name = "public", .type = VIC_JSON_OBJECT, .object = &net_schema},
    {.name = "container",
     .type = VIC_JSON_ARRAY,
     .items = VIC_JSON_OBJECT,
     .object = &cnet_schema,
     .max = 16},
};
static const vic_schema network_schema = VIC_SCHEMA(network_fields);

static const vic_schema_field volstore_fields[] = {
    {.name = "datastore", .type = VIC_JSON_STRING, .required = 1, .min = 1, .max = 1024},
    {.name = "label", .type = VIC_JSON_STRING, .min = 1, .max = 64},
};
static const vic_schema volstore_schema = VIC_SCHEMA(volstore_fields);

static const vic_schema_field storage_fields[] = {
    {.name = "image_stores", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 8},
    {.name = "volume_stores",
     .type = VIC_JSON_ARRAY,
     .items = VIC_JSON_OBJECT,
     .object = &volstore_schema,
     .max = 16},
    {.name = "base_image_size", .type = VIC_JSON_ANY},
    {.name = "limit", .type = VIC_JSON_ANY},
};
static const vic_schema storage_schema = VIC_SCHEMA(storage_fields);

static const vic_schema_field client_fields[] = {
    {.name = "no_tls_verify", .type = VIC_JSON_BOOL},
    {.name = "certificate_authorities", .type = VIC_JSON_ARRAY, .items = VIC_JSON_ANY, .max = 16},
};
static const vic_schema client_schema = VIC_SCHEMA(client_fields);

static const vic_schema_field server_fields[] = {
    {.name = "certificate", .type = VIC_JSON_ANY},
    {.name = "private_key", .type = VIC_JSON_ANY},
    {.name = "generate", .type = VIC_JSON_OBJECT},
};
static const vic_schema server_schema = VIC_SCHEMA(server_fields);

static const vic_schema_field auth_fields[] = {
    {.name = "no_tls", .type = VIC_JSON_BOOL},
    {.name = "client", .type = VIC_JSON_OBJECT, .object = &client_schema},
    {.name = "server", .type = VIC_JSON_OBJECT, .object = &server_schema},
};
static const vic_schema auth_schema = VIC_SCHEMA(auth_fields);

static const vic_schema_field epcpu_fields[] = {
    {.name = "sockets", .type = VIC_JSON_INT, .min = 1, .max = 64},
};
static const vic_schema epcpu_schema = VIC_SCHEMA(epcpu_fields);

static const vic_schema_field endpoint_fields[] = {
    {.name = "memory", .type = VIC_JSON_ANY},
    {.name = "cpu", .type = VIC_JSON_OBJECT, .object = &epcpu_schema},
    {.name = "operations_credentials", .type = VIC_JSON_ANY},
};
static const vic_schema endpoint_schema = VIC_SCHEMA(endpoint_fields);

static const vic_schema_field container_fields[] = {
    {.name = "name_convention", .type = VIC_JSON_STRING, .min = 1, .max = 128},
    {.name = "max_containers", .type = VIC_JSON_INT, .min = 1},
};
static const vic_schema container_schema = VIC_SCHEMA(container_fields);

static const vic_schema_field regca_fields[] = {
    {.name = "pem", .type = VIC_JSON_STRING, .min = 1, .max = 1 << 16},
};
static const vic_schema regca_schema = VIC_SCHEMA(regca_fields);

static const vic_schema_field registry_fields[] = {
    {.name = "insecure", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 64},
    {.name = "whitelist", .type = VIC_JSON_ARRAY, .items = VIC_JSON_STRING, .max = 64},
    {.name = "certificate_authorities",
     .type = VIC_JSON_ARRAY,
     .items = VIC_JSON_OBJECT,
     .object = &regca_schema,
     .max = 16},
};
static const vic_schema registry_schema = VIC_SCHEMA(registry_fields);

static const vic_schema_field vch_fields[] = {
    {.name = "version", .type = VIC_JSON_ANY},
    {.name = "name", .type = VIC_JSON_STRING, .min = 1, .max = MAX_NAME},
    {.name = "debug", .type = VIC_JSON_INT, .min = 0, .max = 3},
    {.name = "syslog_addr", .type = VIC_JSON_STRING, .max = 256},
    {.name = "compute", .type = VIC_JSON_OBJECT, .object = &compute_schema},
    {.name = "network", .type = VIC_JSON_OBJECT, .object = &network_schema},
    {.name = "storage", .type = VIC_JSON_OBJECT, .object = &storage_schema},
    {.name = "auth", .type = VIC_JSON_OBJECT, .object = &auth_schema},
    {.name = "endpoint", .type = VIC_JSON_OBJECT, .object = &endpoint_schema},
    {.name = "registry", .type = VIC_JSON_OBJECT, .object = &registry_schema},
    {.name = "container", .type = VIC_JSON_OBJECT, .object = &container_schema},
};
static const vic_schema vch_schema = VIC_SCHEMA(vch_fields);

/* ---- problems ---- */

typedef struct check {
    json_t *invalid;   /* malformed: 400 */
    json_t *forbidden; /* beyond the token: 403 */
    const vch_spec_inventory *inv;
    const vch_spec_limits *lim;
    const char *target;
    int holder; /* a token holder's spec: places are the server's to choose */
} check;

__attribute__((format(printf, 2, 3))) static void bad(check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(c->invalid, vic_json_string_lossy(s));
    free(s);
}

__attribute__((format(printf, 2, 3))) static void deny(check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(c->forbidden, vic_json_string_lossy(s));
    free(s);
}

/* ---- sizes ---- */

typedef struct unit {
    const char *name;
    long double mult;
} unit;

static const unit hertz[] = {{"Hz", 1}, {"KHz", 1e3L}, {"MHz", 1e6L}, {"GHz", 1e9L}, {NULL, 0}};
static const unit bytes[] = {{"B", 1},
                             {"KiB", 1024.0L},
                             {"MiB", 1048576.0L},
                             {"GiB", 1073741824.0L},
                             {"TiB", 1099511627776.0L},
                             {"KB", 1e3L},
                             {"MB", 1e6L},
                             {"GB", 1e9L},
                             {"TB", 1e12L},
                             {NULL, 0}};

/* Reads a size at obj[key] into base units of `base` (an entry of table), rounding up.
 * Returns 1 when present and valid, 0 when absent, -1 when malformed (reported). */
static int read_size(check *c, const json_t *obj, const char *key, const char *path,
                     const unit *table, const char *base, long long *out)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    long double base_mult = 1;
    for (const unit *u = table; u->name; u++)
        if (strcmp(u->name, base) == 0)
            base_mult = u->mult;
    long double value;
    if (json_is_integer(v)) {
        value = (long double)json_integer_value(v) * base_mult;
    } else if (json_is_object(v)) {
        const json_t *val = json_object_get(v, "value");
        const char *units = json_string_value(json_object_get(v, "units"));
        const unit *found = NULL;
        for (const unit *u = table; units && u->name; u++)
            if (strcmp(u->name, units) == 0)
                found = u;
        if (!json_is_integer(val) || json_object_size(v) > 2 ||
            (json_object_get(v, "units") && found == NULL)) {
            bad(c, "%s: must be {\"value\": integer, \"units\": \"%s\"} or an integer in %s", path,
                base, base);
            return -1;
        }
        value = (long double)json_integer_value(val) * (found ? found->mult : base_mult);
    } else {
        bad(c, "%s: must be {\"value\": integer, \"units\": \"%s\"} or an integer in %s", path,
            base, base);
        return -1;
    }
    long double n = ceill(value / base_mult);
    if (n < 1 || n > 1e15L) {
        bad(c, "%s: must be positive", path);
        return -1;
    }
    *out = (long long)n;
    return 1;
}

static json_t *size_json(long long v, const char *units)
{
    return json_pack("{s:I, s:s}", "value", (json_int_t)v, "units", units);
}

static json_t *ensure_obj(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

/* A limit under a ceiling: absent becomes the ceiling; more is refused. what: "MHz" etc. */
static void ceiling(check *c, json_t *obj, const char *key, const char *path, const unit *table,
                    const char *base, const char *shown, long long max, long long *effective)
{
    long long v = 0;
    int rc = read_size(c, obj, key, path, table, base, &v);
    *effective = -1;
    if (rc < 0)
        return;
    if (rc == 0) {
        if (max < 0)
            return;
        v = max;
    } else if (max >= 0 && v > max) {
        deny(c, "%s: %lld %s exceeds the token's ceiling of %lld %s", path, v, shown, max, shown);
        return;
    }
    json_object_set_new(obj, key, size_json(v, base));
    *effective = v;
}

/* ---- names and places ---- */

static int valid_vch_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 (i > 0 && (ch == '-' || ch == '_' || ch == '.'));
        if (!ok)
            return 0;
    }
    return 1;
}

static int in_array(const json_t *arr, const char *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
            return 1;
    }
    return 0;
}

static char *join_list(const json_t *arr)
{
    vic_buf b = VIC_BUF_INIT;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        vic_buf_appendf(&b, "%s%s", i ? ", " : "", json_string_value(e));
    }
    if (b.len == 0)
        vic_buf_appendf(&b, "none");
    return vic_buf_steal(&b);
}

char *vch_spec_datastore_of(const char *url)
{
    const char *s = url;
    if (strncmp(s, "ds://", 5) == 0)
        s += 5;
    if (*s == '[') {
        const char *end = strchr(s, ']');
        return end ? xstrndup(s + 1, (size_t)(end - s - 1)) : xstrdup(s);
    }
    return xstrndup(s, strcspn(s, "/"));
}

int vch_spec_datastore_only(const char *url)
{
    const char *s = strncmp(url, "ds://", 5) == 0 ? url + 5 : url;
    if (*s == '[') {
        const char *end = strchr(s, ']');
        return end && end > s + 1 && strspn(end + 1, " /") == strlen(end + 1);
    }
    size_t n = strcspn(s, "/");
    return n > 0 && strspn(s + n, "/") == strlen(s + n);
}

/* A token holder names a datastore; the folder on it is derived from the VCH's id on the
 * server, so that no holder can point a store at another VCH's data. */
static void holder_place(check *c, const char *url, const char *path)
{
    if (c->holder && url && !vch_spec_datastore_only(url))
        deny(c,
             "%s: %s names a folder; a token holder names only a datastore (such as "
             "datastore1) and the server gives the VCH a folder of its own",
             path, url);
}

/* Whether the allowed list (NULL: any) holds name. */
static int allows(const json_t *allowed, const char *name)
{
    return allowed == NULL || in_array(allowed, name);
}

/* Checks a datastore name: known to the target, allowed by the token. */
static void check_datastore(check *c, const json_t *known, const char *name, const char *path,
                            const json_t *allowed_list, const char *what)
{
    if (!in_array(known, name)) {
        cleanup_free char *avail = join_list(known);
        bad(c, "%s: datastore %s does not exist on %s (available: %s)", path, name, c->target,
            avail);
        return;
    }
    if (!allows(allowed_list, name)) {
        cleanup_free char *allowed = join_list(allowed_list);
        deny(c, "%s: datastore %s is not allowed for %s by the token (allowed: %s)", path, name,
             what, allowed);
    }
}

static void check_network(check *c, const json_t *known, const char *name, const char *path)
{
    if (!in_array(known, name)) {
        cleanup_free char *avail = join_list(known);
        bad(c, "%s: network %s does not exist on %s (available: %s)", path, name, c->target, avail);
        return;
    }
    if (!allows(c->lim->networks, name)) {
        cleanup_free char *allowed = join_list(c->lim->networks);
        deny(c, "%s: network %s is not allowed by the token (allowed: %s)", path, name, allowed);
    }
}

/* The first name that is known and allowed, preferring `preferred`; NULL when none. */
static const char *pick(const json_t *known, const json_t *allowed, const char *preferred,
                        const char *avoid)
{
    if (preferred && in_array(known, preferred) && allows(allowed, preferred) &&
        !(avoid && strcmp(preferred, avoid) == 0))
        return preferred;
    const json_t *from = allowed ? allowed : known;
    size_t i;
    json_t *e;
    json_array_foreach(from, i, e)
    {
        const char *n = json_string_value(e);
        if (in_array(known, n) && !(avoid && strcmp(n, avoid) == 0))
            return n;
    }
    return NULL;
}

static const char *mo_name(const json_t *mo)
{
    const char *n = json_string_value(json_object_get(mo, "name"));
    return n ? n : json_string_value(json_object_get(mo, "id"));
}

/* ---- the check ---- */

static void check_name(check *c, json_t *spec)
{
    const char *prefix = c->lim->name_prefix;
    const char *name = json_string_value(json_object_get(spec, "name"));
    if (name == NULL) {
        unsigned char rnd[5];
        vic_random_bytes(rnd, sizeof(rnd));
        char *gen = xasprintf("%svch-%02x%02x%02x%02x%02x", prefix ? prefix : "", rnd[0], rnd[1],
                              rnd[2], rnd[3], rnd[4]);
        json_object_set_new(spec, "name", json_string(gen));
        free(gen);
        return;
    }
    if (!valid_vch_name(name)) {
        bad(c, "name: must start with a letter or digit and hold only letters, digits, '-', "
               "'_' and '.'");
        return;
    }
    if (prefix && strncmp(name, prefix, strlen(prefix)) != 0)
        deny(c, "name: %s does not start with the token's prefix \"%s\"", name, prefix);
}

static void check_compute(check *c, json_t *spec, long long *mem_limit)
{
    json_t *compute = ensure_obj(spec, "compute");
    const char *prefix = c->lim->compute;
    json_t *res = json_object_get(compute, "resource");
    const char *asked = res ? mo_name(res) : NULL;
    cleanup_free char *pool = NULL;
    json_t *places cleanup_json = c->inv->ops->compute_resources
                                      ? c->inv->ops->compute_resources(c->inv->payload, c->target)
                                      : NULL;
    cleanup_free char *avail = places ? join_list(places) : NULL;
    if (asked == NULL) {
        pool = prefix ? c->inv->ops->resolve_pool(c->inv->payload, c->target, prefix)
                      : c->inv->ops->root_pool(c->inv->payload, c->target);
        if (pool == NULL && prefix == NULL && avail)
            bad(c,
                "compute.resource: required: %s has more than one compute resource "
                "(available: %s)",
                c->target, avail);
        else if (pool == NULL)
            bad(c, "compute.resource: the token's resource pool %s does not exist on %s",
                prefix ? prefix : "(root)", c->target);
    } else {
        pool = c->inv->ops->resolve_pool(c->inv->payload, c->target, asked);
        if (pool == NULL && avail)
            bad(c, "compute.resource: %s does not exist on %s (available: %s)", asked, c->target,
                avail);
        else if (pool == NULL)
            bad(c, "compute.resource: %s does not exist on %s", asked, c->target);
        else if (prefix && !c->lim->within(pool, prefix) && !c->lim->within(asked, prefix))
            deny(c, "compute.resource: %s is outside the token's resource pool %s", asked, prefix);
    }
    if (pool)
        json_object_set_new(compute, "resource", json_pack("{s:s}", "name", pool));

    long long cpu = -1, mem = -1, v = 0;
    json_t *cpu_o = ensure_obj(compute, "cpu");
    json_t *mem_o = ensure_obj(compute, "memory");
    ceiling(c, cpu_o, "limit", "compute.cpu.limit", hertz, "MHz", "MHz", c->lim->cpu_mhz, &cpu);
    ceiling(c, mem_o, "limit", "compute.memory.limit", bytes, "MiB", "MB", c->lim->memory_mb, &mem);
    if (read_size(c, cpu_o, "reservation", "compute.cpu.reservation", hertz, "MHz", &v) > 0 &&
        cpu >= 0 && v > cpu)
        bad(c, "compute.cpu.reservation: %lld MHz exceeds compute.cpu.limit (%lld MHz)", v, cpu);
    if (read_size(c, mem_o, "reservation", "compute.memory.reservation", bytes, "MiB", &v) > 0 &&
        mem >= 0 && v > mem)
        bad(c, "compute.memory.reservation: %lld MB exceeds compute.memory.limit (%lld MB)", v,
            mem);
    *mem_limit = mem;
}

/*
 * The volume store of a spec that says nothing of them, where the target gives one (ops
 * default_volume_store): labelled default, so that `docker volume create NAME` and
 * `-v NAME:/path` work as on Docker Engine, in the VCH's own folder on its appliance's
 * datastore (DATASTORE/NAME/volumes/default), which is the VCH's alone. Under a token that
 * does not allow that datastore for volumes, the first one it allows, named alone: the
 * server gives the store a folder of its own there. None (an empty list, which a later check
 * keeps) when the token allows none.
 */
static void default_volume_store(check *c, const json_t *spec, json_t *storage, const json_t *known)
{
    const char *name = json_string_value(json_object_get(spec, "name"));
    const char *first =
        json_string_value(json_array_get(json_object_get(storage, "image_stores"), 0));
    if (c->inv->ops->default_volume_store == NULL || name == NULL || first == NULL ||
        !valid_vch_name(name) || !c->inv->ops->default_volume_store(c->inv->payload, c->target))
        return;
    cleanup_free char *ds = vch_spec_datastore_of(first);
    json_t *store = NULL;
    if (in_array(known, ds) && allows(c->lim->volume_datastores, ds)) {
        store = json_pack("{s:o, s:s}", "datastore",
                          json_sprintf("ds://%s/%s/volumes/default", ds, name), "label", "default");
    } else {
        const char *other = pick(known, c->lim->volume_datastores, NULL, NULL);
        /* none, said so: a later check of the spec without the token adds no default */
        if (other == NULL) {
            json_object_set_new(storage, "volume_stores", json_array());
            return;
        }
        store = json_pack("{s:s, s:s}", "datastore", other, "label", "default");
    }
    json_object_set_new(storage, "volume_stores", json_pack("[o]", store));
}

static void check_storage(check *c, json_t *spec)
{
    json_t *storage = ensure_obj(spec, "storage");
    json_t *known cleanup_json = c->inv->ops->datastores(c->inv->payload, c->target);
    json_t *images = json_object_get(storage, "image_stores");
    if (images == NULL || json_array_size(images) == 0) {
        const char *ds = pick(known, c->lim->image_datastores, NULL, NULL);
        if (ds == NULL) {
            deny(c, "storage.image_stores: the token allows no datastore that exists on %s",
                 c->target);
        } else {
            json_object_set_new(storage, "image_stores", json_pack("[s]", ds));
        }
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(images, i, e)
        {
            cleanup_free char *ds = vch_spec_datastore_of(json_string_value(e));
            cleanup_free char *path = xasprintf("storage.image_stores[%zu]", i);
            check_datastore(c, known, ds, path, c->lim->image_datastores, "images");
            holder_place(c, json_string_value(e), path);
        }
    }
    json_t *volumes = json_object_get(storage, "volume_stores");
    if (volumes == NULL)
        default_volume_store(c, spec, storage, known);
    size_t i;
    json_t *e;
    json_array_foreach(volumes, i, e)
    {
        cleanup_free char *ds =
            vch_spec_datastore_of(json_string_value(json_object_get(e, "datastore")));
        cleanup_free char *path = xasprintf("storage.volume_stores[%zu].datastore", i);
        check_datastore(c, known, ds, path, c->lim->volume_datastores, "volumes");
        holder_place(c, json_string_value(json_object_get(e, "datastore")), path);
        if (json_object_get(e, "label") == NULL)
            json_object_set_new(e, "label", json_string(i == 0 ? "default" : ds));
        const char *label = json_string_value(json_object_get(e, "label"));
        if (label && strspn(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789_.-") != strlen(label))
            bad(c,
                "storage.volume_stores[%zu].label: \"%s\" may hold only letters, digits, "
                "'_', '.' and '-'",
                i, label);
        for (size_t j = 0; label && j < i; j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(volumes, j), "label"))
                           ?: "",
                       label) == 0)
                bad(c,
                    "storage.volume_stores[%zu].label: %s is already the label of "
                    "volume_stores[%zu]",
                    i, label, j);
    }

    long long limit = -1, base = 0;
    ceiling(c, storage, "limit", "storage.limit", bytes, "GB", "GB", c->lim->storage_gb, &limit);
    int rc =
        read_size(c, storage, "base_image_size", "storage.base_image_size", bytes, "GB", &base);
    if (rc == 0) {
        base = DEFAULT_BASE_IMAGE_GB;
        if (limit >= 0 && base > limit)
            base = limit;
    } else if (rc > 0 && limit >= 0 && base > limit) {
        long long max = c->lim->storage_gb;
        if (max >= 0 && base > max)
            deny(c, "storage.base_image_size: %lld GB exceeds the token's ceiling of %lld GB", base,
                 max);
        else
            bad(c, "storage.base_image_size: %lld GB exceeds storage.limit (%lld GB)", base, limit);
    }
    if (rc >= 0)
        json_object_set_new(storage, "base_image_size", size_json(base, "GB"));
}

static void check_networks(check *c, json_t *spec)
{
    json_t *network = ensure_obj(spec, "network");
    json_t *known cleanup_json = c->inv->ops->networks(c->inv->payload, c->target);
    cleanup_free char *pref_public = c->inv->ops->default_public(c->inv->payload, c->target);
    cleanup_free char *pref_bridge = c->inv->ops->default_bridge(c->inv->payload, c->target);

    json_t *pub = ensure_obj(network, "public");
    const char *pub_name = mo_name(json_object_get(pub, "port_group"));
    if (pub_name == NULL) {
        pub_name = pick(known, c->lim->networks, pref_public, pref_bridge);
        if (pub_name == NULL)
            deny(c, "network.public.port_group: the token allows no network that exists on %s",
                 c->target);
        else
            json_object_set_new(pub, "port_group", json_pack("{s:s}", "name", pub_name));
    } else {
        check_network(c, known, pub_name, "network.public.port_group");
    }
    json_t *bridge = ensure_obj(network, "bridge");
    const char *br_name = mo_name(json_object_get(bridge, "port_group"));
    if (br_name == NULL) {
        br_name = pick(known, c->lim->networks, pref_bridge, pub_name);
        if (br_name == NULL)
            deny(c,
                 "network.bridge.port_group: the token allows no network besides the public "
                 "one that exists on %s",
                 c->target);
        else
            json_object_set_new(bridge, "port_group", json_pack("{s:s}", "name", br_name));
    } else {
        check_network(c, known, br_name, "network.bridge.port_group");
        if (pub_name && strcmp(br_name, pub_name) == 0)
            bad(c, "network.bridge.port_group: must differ from the public network (%s)", pub_name);
    }
    static const char *const others[] = {"client", "management"};
    for (size_t i = 0; i < 2; i++) {
        const char *n = mo_name(json_object_get(json_object_get(network, others[i]), "port_group"));
        if (n) {
            cleanup_free char *path = xasprintf("network.%s.port_group", others[i]);
            check_network(c, known, n, path);
        }
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(network, "container"), i, e)
    {
        const char *n = mo_name(json_object_get(e, "port_group"));
        cleanup_free char *path = xasprintf("network.container[%zu].port_group", i);
        if (n)
            check_network(c, known, n, path);
    }
}

/* The number of X.509 certificates in a PEM text (0 when none can be read). */
static int pem_certificates(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    int n = 0;
    X509 *cert;
    while (bio && (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        n++;
        X509_free(cert);
    }
    ERR_clear_error();
    BIO_free(bio);
    return n;
}

/* registry: each insecure or whitelisted registry a host[:port], each certificate authority
 * PEM text holding at least one certificate. */
static void check_registry(check *c, const json_t *spec)
{
    static const char *const lists[] = {"insecure", "whitelist"};
    const json_t *reg = json_object_get(spec, "registry");
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(reg, lists[l]), i, e)
        {
            const char *h = json_string_value(e);
            if (h && (*h == '\0' || strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789.-:[]") != strlen(h)))
                bad(c, "registry.%s[%zu]: \"%.80s\" is not a registry's HOST[:PORT]", lists[l], i,
                    h);
        }
    }
    size_t i;
    json_t *ca;
    json_array_foreach(json_object_get(reg, "certificate_authorities"), i, ca)
    {
        const char *pem = json_string_value(json_object_get(ca, "pem"));
        if (pem && pem_certificates(pem) == 0)
            bad(c, "registry.certificate_authorities[%zu].pem: no PEM certificate in it", i);
    }
}

static void check_auth(check *c, json_t *spec)
{
    json_t *auth = json_object_get(spec, "auth");
    int no_tls = json_is_true(json_object_get(auth, "no_tls"));
    int tls_required = c->lim->tls_required;
    if (no_tls && tls_required)
        deny(c, "auth.no_tls: the token requires TLS");
    /* TLS without client verification lets anyone who reaches the endpoint use it */
    if (tls_required &&
        json_is_true(json_object_get(json_object_get(auth, "client"), "no_tls_verify")))
        deny(c, "auth.client.no_tls_verify: the token requires TLS with client certificates");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(json_object_get(spec, "registry"), "insecure"), i, e)
    {
        if (tls_required)
            deny(c, "registry.insecure[%zu]: the token requires TLS, also to registries", i);
    }
    if (json_object_get(json_object_get(auth, "server"), "private_key"))
        bad(c, "auth.server.private_key: not accepted for a self-provisioned VCH; use "
               "auth.server.generate");
    if (auth == NULL && !no_tls) {
        json_object_set_new(spec, "auth",
                            json_pack("{s:{s:{s:s}}, s:{s:b}}", "server", "generate", "cname",
                                      json_string_value(json_object_get(spec, "name"))
                                          ? json_string_value(json_object_get(spec, "name"))
                                          : "vch",
                                      "client", "no_tls_verify", 0));
    }
}

static void check_endpoint(check *c, json_t *spec, long long mem_limit)
{
    json_t *ep = ensure_obj(spec, "endpoint");
    if (json_object_get(ep, "operations_credentials"))
        bad(c, "endpoint.operations_credentials: not accepted for a self-provisioned VCH");
    long long mem = 0;
    int rc = read_size(c, ep, "memory", "endpoint.memory", bytes, "MiB", &mem);
    if (rc == 0) {
        mem = DEFAULT_ENDPOINT_MEM_MB;
        if (mem_limit >= 0 && mem > mem_limit)
            mem = mem_limit;
    } else if (rc > 0 && mem_limit >= 0 && mem > mem_limit) {
        bad(c, "endpoint.memory: %lld MB exceeds compute.memory.limit (%lld MB)", mem, mem_limit);
    }
    if (rc >= 0)
        json_object_set_new(ep, "memory", size_json(mem, "MiB"));
    json_t *cpu = ensure_obj(ep, "cpu");
    if (json_object_get(cpu, "sockets") == NULL)
        json_object_set_new(cpu, "sockets", json_integer(1));
}

static void check_containers(check *c, json_t *spec)
{
    json_t *container = ensure_obj(spec, "container");
    long long max = c->lim->containers_per_vch;
    json_t *v = json_object_get(container, "max_containers");
    if (v == NULL) {
        if (max >= 0)
            json_object_set_new(container, "max_containers", json_integer(max));
    } else if (max >= 0 && json_integer_value(v) > max) {
        deny(c, "container.max_containers: %lld exceeds the token's ceiling of %lld",
             (long long)json_integer_value(v), max);
    }
}

static int report(json_t **problems, const check *c, vic_err **err)
{
    json_t *all = json_array();
    json_array_extend(all, c->invalid);
    json_array_extend(all, c->forbidden);
    vic_buf b = VIC_BUF_INIT;
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e)
    {
        vic_buf_appendf(&b, "%s%s", i ? "; " : "", json_string_value(e));
    }
    int rc =
        vic_err_set(err, json_array_size(c->invalid) ? VIC_EINVAL : VIC_EFORBIDDEN, "%s", b.data);
    vic_buf_free(&b);
    if (problems)
        *problems = all;
    else
        json_decref(all);
    return rc;
}

int vch_spec_check(json_t **out, json_t **problems, const vch_spec_inventory *inv,
                   const vch_spec_limits *lim, const json_t *spec, const char *target,
                   vic_err **err)
{
    *out = NULL;
    if (problems)
        *problems = NULL;
    json_t *invalid cleanup_json = json_array();
    json_t *forbidden cleanup_json = json_array();
    check c = {.invalid = invalid,
               .forbidden = forbidden,
               .inv = inv,
               .lim = lim,
               .target = lim->target ? lim->target : "local",
               .holder = lim->holder};
    json_t *schema_problems cleanup_json = NULL;
    if (spec == NULL)
        spec = json_object();
    else
        json_incref((json_t *)spec);
    json_t *in cleanup_json = (json_t *)spec;
    if (vic_json_check(&schema_problems, in, &vch_schema, "") > 0) {
        json_array_extend(invalid, schema_problems);
        return report(problems, &c, err);
    }
    if (target && strcmp(target, c.target) != 0) {
        deny(&c, "target: %s is not the token's target %s", target, c.target);
        return report(problems, &c, err);
    }
    if (!inv->ops->has_target(inv->payload, c.target)) {
        bad(&c, "target: the token's target %s is not known here", c.target);
        return report(problems, &c, err);
    }
    json_t *s cleanup_json = json_deep_copy(in);
    long long mem_limit = -1;
    check_name(&c, s);
    check_compute(&c, s, &mem_limit);
    check_storage(&c, s);
    check_networks(&c, s);
    check_auth(&c, s);
    check_registry(&c, s);
    check_endpoint(&c, s, mem_limit);
    check_containers(&c, s);
    if (json_array_size(invalid) || json_array_size(forbidden))
        return report(problems, &c, err);
    *out = steal_ptr(s);
    return 0;
}
