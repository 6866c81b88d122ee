/* Creating a VCH: the task is recorded (name and address reserved), then its steps run;
 * a failure rolls back what the create made. */
#include "vch-wizard/vch_int.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/certs.h"
#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/version.h"
#include "vch-wizard/spec.h"

/* The appliance image: on the local host a marker file every VCH shares (the appliance is
 * vic-init on this host); elsewhere the ISO, in the appliance VM's own folder so that nothing
 * of it outlives the VCH. */
static char *appliance_image(const vch_engine *e, const json_t *spec, const char *name)
{
    cleanup_free char *ds = vch_appliance_ds(spec);
    return e->caps->appliance_on_host ? xasprintf("[%s] vic/appliance.iso", ds)
                                      : xasprintf("[%s] %s/appliance.iso", ds, name);
}

/* The appliance VM of the task's VCH (VIC_ENOTFOUND before it is made). */
static int appliance_ref(vch_engine *e, const vch_task *t, hv_ref *ref, vic_err **err)
{
    cleanup_free char *path = vch_vm_path(t->spec, t->name);
    return hv_find(e->hv, HV_VM, path, ref, err);
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
    if ((rc = vch_appliances(a->e, &apps, err)) < 0)
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
    if (!a->e->caps->appliance_on_host) {
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

/* Whether a datastore path exists on this host (local target only; elsewhere 1: a folder
 * the engine cannot look at is never taken for its own). */
static int ds_exists(vch_engine *e, const char *ds_path)
{
    cleanup_free char *host = NULL;
    vic_err *ignore cleanup_err = NULL;
    struct stat st;
    if (!e->caps->appliance_on_host || hv_ds_local_path(e->hv, ds_path, &host, &ignore) < 0)
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
        cleanup_free char *url = e->caps->images_in_vm_folder
                                     ? xasprintf("ds://%s/%s/VIC", name, str_at(spec, "name"))
                                     : xasprintf("ds://%s/vic-images/%s", name, uid);
        json_array_set_new(images, 0, json_string(url));
    }
    cleanup_free char *img = vch_image_store(e, spec);
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
        cleanup_free char *path = vch_volume_store(spec, vs);
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
    vch_new_task_id(task->id);
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

static int step_certificates(vch_run_ctx *r, vic_err **err)
{
    const json_t *spec = r->t->spec;
    cleanup_free char *dir = cert_dir(r->e, r->t->name);
    cleanup_free char *parent = xasprintf("%s/vch", r->e->home);
    mkdir(parent, 0700);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return vic_err_sys(err, VIC_EIO, errno, "create %s", dir);
    int prc = make_portal_password(dir, err);
    if (prc < 0 || vch_no_tls(spec))
        return prc;
    const json_t *gen =
        json_object_get(json_object_get(json_object_get(spec, "auth"), "server"), "generate");
    cleanup_free char *cname = vch_server_name(spec);
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

static int step_pool(vch_run_ctx *r, vic_err **err)
{
    hv_pool_spec ps;
    vch_pool_spec_of(r->t->spec, &ps);
    const char *parent =
        str_at(json_object_get(json_object_get(r->t->spec, "compute"), "resource"), "name");
    cleanup_free char *root = vch_root_pool();
    hv_ref ref;
    int rc = hv_pool_create(r->e->hv, parent ? parent : root, r->t->name, &ps, &ref, err);
    if (rc == VIC_ECONFLICT) { /* ours: validation refused a name whose pool existed */
        vic_err_free(err);
        return 0;
    }
    return rc;
}

static int step_image(vch_run_ctx *r, vic_err **err)
{
    cleanup_free char *image = appliance_image(r->e, r->t->spec, r->t->name);
    cleanup_free char *folder = xstrndup(image, (size_t)(strrchr(image, '/') - image));
    int rc = hv_ds_mkdir(r->e->hv, folder, err);
    if (rc < 0)
        return rc;
    if (!r->e->caps->appliance_on_host) {
        if ((rc = hv_ds_upload(r->e->hv, image, r->e->iso, err)) < 0)
            return vic_err_wrap(err, rc, "appliance ISO %s", r->e->iso);
        vch_note(r, "appliance_image", "progress", "uploaded %s to %s", r->e->iso, image);
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

/* "a,b" of the host[:port] strings of a spec list (others are left out: validation refuses
 * them); caller frees. */
static char *host_list(const json_t *list)
{
    vic_buf b = VIC_BUF_INIT;
    size_t i;
    json_t *reg;
    json_array_foreach(list, i, reg)
    {
        const char *host = json_string_value(reg);
        if (host && *host && strspn(host, VCH_REGISTRY_CHARS) == strlen(host))
            vic_buf_appendf(&b, "%s%s", b.len ? "," : "", host);
    }
    return b.data ? vic_buf_steal(&b) : xstrdup("");
}

void vch_registry_config(json_t *ec, const json_t *spec)
{
    const json_t *reg = json_object_get(spec, "registry");
    cleanup_free char *insecure = host_list(json_object_get(reg, "insecure"));
    cleanup_free char *whitelist = host_list(json_object_get(reg, "whitelist"));
    cleanup_free char *all =
        xasprintf("%s%s%s", insecure, *insecure && *whitelist ? "," : "", whitelist);
    json_object_set_new(ec, K_REGISTRIES, json_string(all));
    json_object_set_new(ec, K_INSECURE, json_string(insecure));
    json_object_set_new(ec, K_REG_CA,
                        json_string(json_array_size(json_object_get(reg, "certificate_authorities"))
                                        ? REGISTRY_CA_FILE
                                        : ""));
}

int vch_registry_ca_upload(vch_engine *e, const json_t *spec, const char *ds, const char *name,
                           vic_err **err)
{
    const json_t *cas =
        json_object_get(json_object_get(spec, "registry"), "certificate_authorities");
    if (json_array_size(cas) == 0)
        return 0;
    vic_buf pem = VIC_BUF_INIT;
    size_t i;
    json_t *ca;
    json_array_foreach(cas, i, ca)
    {
        const char *text = str_at(ca, "pem");
        if (text)
            vic_buf_appendf(&pem, "%s%s", text,
                            *text && text[strlen(text) - 1] == '\n' ? "" : "\n");
    }
    cleanup_free char *dir = cert_dir(e, name);
    cleanup_free char *from = xasprintf("%s/%s", dir, REGISTRY_CA_FILE);
    cleanup_free char *to = xasprintf("[%s] %s/%s", ds, name, REGISTRY_CA_FILE);
    int rc = vic_file_write_atomic(from, pem.data ? pem.data : "", pem.len, 0644, err);
    vic_buf_free(&pem);
    if (rc == 0)
        rc = hv_ds_upload(e->hv, to, from, err);
    return rc < 0 ? vic_err_wrap(err, rc, "registry certificate authorities") : 0;
}

static int step_vm(vch_run_ctx *r, vic_err **err)
{
    const json_t *spec = r->t->spec;
    cleanup_free char *pool = vch_pool_path(spec);
    cleanup_free char *images = vch_image_store(r->e, spec);
    cleanup_free char *image_dir = NULL;
    cleanup_free char *ds = vch_appliance_ds(spec);
    cleanup_free char *image = appliance_image(r->e, spec, r->t->name);
    int rc = ds_mkdir_p(r->e->hv, images, err);
    /* the local appliance reads the store on this host; a VM reads it on its datastore */
    if (rc == 0 && r->e->caps->appliance_on_host)
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
    if (r->e->caps
            ->appliance_on_host) { /* host paths mean something only to an appliance on this host */
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
        cleanup_free char *path = vch_volume_store(spec, vol);
        const char *label = str_at(vol, "label");
        cleanup_free char *key = xasprintf(K_CFG "volume_stores|%s", label ? label : "default");
        json_object_set_new(ec, key, json_string(path));
    }
    json_object_set_new(ec, K_TLS, json_string(vch_no_tls(spec) ? "false" : "true"));
    int no_verify = json_is_true(
        json_object_get(json_object_get(json_object_get(spec, "auth"), "client"), "no_tls_verify"));
    json_object_set_new(ec, K_TLS_VERIFY, json_string(no_verify ? "false" : "true"));
    vch_registry_config(ec, spec);
    json_object_set_new(ec, K_DEBUG,
                        json_sprintf("%lld", debug ? (long long)json_integer_value(debug) : 0LL));
    json_object_set_new(ec, K_SPEC, json_string(spec_s));
    json_object_set_new(ec, K_VERSION, json_string(vic_version()));
    json_object_set_new(ec, K_CREATED, json_sprintf("%lld", (long long)time(NULL)));
    json_object_set_new(ec, K_CREATED_BY, json_string(r->t->created_by));
    json_object_set_new(ec, K_UID, json_string(str_at(r->t->extra, "uid") ?: ""));
    cleanup_free char *owned =
        json_dumps(json_object_get(r->t->extra, "owned"), JSON_COMPACT | JSON_SORT_KEYS);
    json_object_set_new(ec, K_OWNED, json_string(owned ? owned : "{}"));
    json_object_set_new(ec, K_TASK, json_string(r->t->id));
    json_object_set_new(ec, K_CREATING, json_string(r->t->id));
    const json_t *ep = json_object_get(spec, "endpoint");
    long long mem = vch_size_value(json_object_get(ep, "memory"));
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
    for (size_t i = 0; i < (vch_no_tls(spec) ? 1 : 4) && rc == 0; i++) {
        cleanup_free char *from = xasprintf("%s/%s", dir, files[i]);
        cleanup_free char *to = xasprintf("[%s] %s/%s", ds, r->t->name, files[i]);
        rc = hv_ds_upload(r->e->hv, to, from, err);
    }
    if (rc == 0)
        rc = vch_registry_ca_upload(r->e, spec, ds, r->t->name, err);
    return rc;
}

static int step_volumes(vch_run_ctx *r, vic_err **err)
{
    const json_t *vss = json_object_get(json_object_get(r->t->spec, "storage"), "volume_stores");
    size_t i;
    json_t *vs;
    json_array_foreach(vss, i, vs)
    {
        cleanup_free char *path = vch_volume_store(r->t->spec, vs);
        int rc = ds_mkdir_p(r->e->hv, path, err);
        if (rc < 0)
            return vic_err_wrap(err, rc, "volume store %s", str_at(vs, "label"));
    }
    return 0;
}

static int step_power_on(vch_run_ctx *r, vic_err **err)
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

static int step_endpoint(vch_run_ctx *r, vic_err **err)
{
    hv_ref ref;
    int rc0 = appliance_ref(r->e, r->t, &ref, err);
    if (rc0 < 0)
        return rc0;
    cleanup_free char *ds = vch_appliance_ds(r->t->spec);
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

static int step_docker(vch_run_ctx *r, vic_err **err)
{
    int tls = !vch_no_tls(r->t->spec);
    /* where the appliance says its endpoint is (the address it got, on the port it serves) */
    cleanup_free char *reported = r->docker_host[0]
                                      ? xstrdup(r->docker_host)
                                      : xasprintf("%s:%d", r->t->address, tls ? 2376 : 2375);
    cleanup_free char *host = vch_docker_host_for(r->t->spec, r->t->address, reported);
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

static const vch_step create_steps[] = {
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
char *vch_roll_back(vch_engine *e, const vch_task *t)
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
        cleanup_free char *pp = vch_pool_path(t->spec);
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
        if (!e->caps->appliance_on_host &&
            folder_ours) { /* the ISO and files uploaded before the VM existed */
            cleanup_free char *ds = vch_appliance_ds(t->spec);
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
static void roll_back_noted(vch_run_ctx *r, char **incomplete)
{
    vch_note(r, "rollback", "started", "removing what the create made");
    *incomplete = vch_roll_back(r->e, r->t);
    if (*incomplete)
        vch_note(
            r, "rollback", "failed",
            "could not remove everything of VCH %s from %s (%s); pieces may remain there until "
            "vic-machine delete --name %s runs against it",
            r->t->name, r->e->target, *incomplete, r->t->name);
    else
        vch_note(r, "rollback", "done", "nothing of VCH %s is left", r->t->name);
}

static int write_env(vch_engine *e, const vch_task *t)
{
    cleanup_free char *text = NULL;
    vic_err *err = NULL;
    int rc = vch_env(e, t->vch_id, &text, &err);
    if (rc == 0 && !vch_no_tls(t->spec)) {
        cleanup_free char *dir = cert_dir(e, t->name);
        cleanup_free char *path = xasprintf("%s/env", dir);
        rc = vic_file_write_atomic(path, text, strlen(text), 0644, &err);
    }
    vic_err_free(&err);
    return rc;
}

int vch_finish_create(vch_engine *e, const vch_task *t, vic_err **err)
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

int vch_create_complete(vch_engine *e, const vch_task *t)
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
    vch_run_ctx r = {e, &t, fn, payload, ""};
    rc = vch_run_steps(&r, create_steps, sizeof(create_steps) / sizeof(create_steps[0]), err);
    if (rc < 0) {
        cleanup_free char *incomplete = NULL;
        roll_back_noted(&r, &incomplete);
        cleanup_free char *msg =
            incomplete ? xasprintf("%s (rollback incomplete: %s)", (*err)->msg, incomplete)
                       : xasprintf("%s (rolled back)", (*err)->msg);
        vic_err *fe = NULL;
        if (vch_finish_task(e, t.id, "failed", msg, &fe) < 0)
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
        if (vch_finish_task(e, t.id, "succeeded", NULL, &fe) < 0) {
            /* the VCH is whole: the next converge sees every step done and records it then */
            vic_log(VIC_LOG_ERROR, "event=task_record_failed task=%s state=succeeded msg=\"%s\"",
                    t.id, fe->msg);
            rc = vic_err_wrap(&fe, fe->code, "VCH %s is ready, but its task could not be recorded",
                              t.name);
            *err = fe;
            vch_task_clear(&t);
            return rc;
        }
        if (vch_finish_create(e, &t, &fe) < 0) {
            vic_log(VIC_LOG_WARN, "event=create_unmark_failed vch=%s msg=\"%s\"", t.name, fe->msg);
            vic_err_free(&fe);
        }
        if (fn)
            fn("done", "succeeded", msg, payload);
    }
    vch_task_clear(&t);
    return rc;
}
