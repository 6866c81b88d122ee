#include "portlayer/containers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/netlink.h"
#include "lib/timefmt.h"
#include "portlayer/archive.h"
#include "portlayer/health.h"
#include "portlayer/volumes.h"

#define KEY_ID    VIC_GI_PREFIX "/common/id"
#define KEY_NAME  VIC_GI_PREFIX "/common/name"
#define KEY_IMAGE VIC_GI_PREFIX "/repo"
/* Present while a create fills the root disk: "PID UNIXTIME" of the creating process. A VM
 * still carrying it is not a container yet; once its creator is gone it is garbage. */
#define KEY_CREATING VIC_GI_PREFIX "/vicc/creating"
/* When the container was created: Unix time in nanoseconds */
#define KEY_CREATED VIC_GI_PREFIX "/vicc/created"
/* Published ports, "HOST_IP:HOST_PORT:CONTAINER_PORT/tcp" (or /udp) joined by "," */
#define KEY_PORTS VIC_GI_PREFIX "/vicc/ports"
/* "true" for a container created with Docker's AutoRemove (pl_create_spec.auto_remove) */
#define KEY_AUTO_REMOVE VIC_GI_PREFIX "/vicc/auto_remove"
/* The id of the image the container was created from (pl_create_spec.image_id) */
#define KEY_IMAGE_ID VIC_GI_PREFIX "/vicc/image_id"
/* The annotations of the create (pl_create_spec.annotations), as compact JSON */
#define KEY_ANNOTATIONS VIC_GI_PREFIX "/vicc/annotations"
/* The started_at of the run that docker pause froze (a later run is not paused) */
#define KEY_PAUSED VIC_GI_PREFIX "/vicc/paused"
/* The auto-remove containers whose exit status stays known (pl_container_wait) */
#define GONE_MAX          256
#define CREATE_STALE_SECS 3600

struct pl {
    pthread_mutex_t names; /* a name's check and its claim (the VM's creation) go together */
    hv_conn *hv;
    char *pool;
    char *datastore;
    unsigned grace_ms;
    char *publish_ip;
    char *bridge_pg;
    /* The containers the last listing described, by VM name: {"extra": the VM's
     * extra_config object, "power", "change_version", "desc"}. A driver hands out the same
     * extra_config object while a VM's configuration is unchanged (hv_vm_list), and the
     * record holds a reference to it, so the same object with the same power state means the
     * same description. list_mu serialises listings. */
    pthread_mutex_t list_mu;
    json_t *described;
    /* The run-block watch (pl_watch_run_blocks). hold_mu guards the three maps; the watch
     * marks a container given up only while nobody holds it, and an attach counts as held
     * only while it is not given up, so the two never cross. */
    pthread_mutex_t hold_mu;
    pthread_cond_t hold_cv; /* wakes the watch thread to stop */
    json_t *holders;        /* {"fd": container id}: attaches taken through this port layer */
    json_t *unheld;         /* {container id: ms it was first seen run-blocked and unheld} */
    json_t *giving_up;      /* {container id: true} while the watch powers it off */
    unsigned long pending;  /* names attaches under way in holders: "pending-N" */
    unsigned attach_grace_ms;
    pthread_t watcher;
    bool watching, stopping;
    /* The auto-remove reaper (pl_autoremove_start): reap_mu guards the fields below; reap_cv
     * wakes the reaper to stop. gone holds the exit statuses of the containers removed for
     * auto_remove, {id: {"code", "at": CLOCK_MONOTONIC ms}}, at most GONE_MAX for at most
     * PL_GONE_KEEP_MS: a container the inventory no longer has is nothing else's to know. */
    pthread_mutex_t reap_mu;
    pthread_mutex_t reap_one; /* held by one removal (reap) at a time */
    pthread_cond_t reap_cv;
    json_t *gone;
    json_t *restarting; /* {id: true}: ids a docker restart holds, which reap leaves alone */
    pl_removed_fn removed_fn;
    void *removed_payload;
    pthread_t reaper;
    bool reaping, reap_stopping;
    pthread_mutex_t restart_mu; /* pl_restart_lock */
};

struct pl_handle {
    hv_ref vm;
    char change_version[64];
    json_t *orig; /* the guestinfo.vice. keys as read */
    vic_exec_config cfg;
    int power;    /* -1 unchanged, 0 off, 1 on */
    int set_nics; /* the networks changed: commit gives the VM NICs to match */
    bool on;      /* powered on when read */
    json_t *keys; /* the port layer's own keys to set (strings) or remove (null) */
};

static const char *vm_key(const json_t *vm, const char *key)
{
    return json_string_value(json_object_get(json_object_get(vm, "extra_config"), key));
}

/* Removes VMs whose create died before the container was whole (see KEY_CREATING). */
static void sweep_creates(pl *p)
{
    json_t *vms cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    if (hv_vm_list(p->hv, p->pool, VIC_GI_PREFIX, &vms, &err) < 0)
        return;
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        const char *creating = vm_key(vm, KEY_CREATING);
        long pid = 0;
        long long since = 0;
        if (creating == NULL || sscanf(creating, "%ld %lld", &pid, &since) != 2)
            continue;
        int gone = (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH) ||
                   time(NULL) - since > CREATE_STALE_SECS;
        if (!gone)
            continue;
        hv_ref ref;
        snprintf(ref.id, sizeof(ref.id), "%s", json_string_value(json_object_get(vm, "ref")));
        vic_err *e = NULL;
        if (hv_vm_power_off(p->hv, &ref, 0, &e) == 0)
            hv_vm_destroy(p->hv, &ref, &e);
        vic_err_free(&e);
    }
}

static void *watch_thread(void *arg);
static bool gone_status(pl *p, const char *id, int64_t *code);
static void gone_record(pl *p, const char *id, int64_t code, const char *error);
static bool gone_ran(pl *p, const char *id);
static bool gone_error(pl *p, const char *id, char *out, size_t cap);
static void reap_failed_start(pl *p, const char *id);
static int vm_on(const json_t *vm);

int pl_open(pl **out, const pl_opts *o, vic_err **err)
{
    *out = NULL;
    hv_ref ref;
    int rc = hv_find(o->hv, HV_POOL, o->pool, &ref, err);
    if (rc < 0)
        return vic_err_wrap(err, rc, "port layer pool");
    pl *p = xzalloc(sizeof(*p));
    p->hv = o->hv;
    p->pool = xstrdup(o->pool);
    p->datastore = xstrdup(o->datastore ? o->datastore : "datastore1");
    p->grace_ms = o->stop_grace_ms ? o->stop_grace_ms : 10000;
    p->publish_ip = xstrdup(o->publish_ip ? o->publish_ip : "127.0.0.1");
    p->bridge_pg = xstrdup(o->bridge_pg ? o->bridge_pg : "bridge");
    pthread_mutex_init(&p->names, NULL);
    pthread_mutex_init(&p->list_mu, NULL);
    pthread_mutex_init(&p->hold_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->hold_cv, &ca);
    pthread_cond_init(&p->reap_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->reap_mu, NULL);
    pthread_mutex_init(&p->reap_one, NULL);
    p->restarting = json_object();
    pthread_mutex_init(&p->restart_mu, NULL);
    p->gone = json_object();
    p->holders = json_object();
    p->unheld = json_object();
    p->giving_up = json_object();
    p->attach_grace_ms = o->attach_grace_ms ? o->attach_grace_ms : PL_ATTACH_GRACE_MS;
    sweep_creates(p);
    p->watching = !o->no_watch_thread && pthread_create(&p->watcher, NULL, watch_thread, p) == 0;
    if (!p->watching && !o->no_watch_thread)
        vic_log(VIC_LOG_WARN, "event=run_block_watch_unavailable msg=\"cannot start a thread\"");
    *out = p;
    return 0;
}

void pl_free(pl *p)
{
    if (p == NULL)
        return;
    pl_autoremove_stop(p);
    if (p->watching) {
        pthread_mutex_lock(&p->hold_mu);
        p->stopping = true;
        pthread_cond_broadcast(&p->hold_cv);
        pthread_mutex_unlock(&p->hold_mu);
        pthread_join(p->watcher, NULL);
    }
    json_decref(p->holders);
    json_decref(p->unheld);
    json_decref(p->giving_up);
    json_decref(p->gone);
    pthread_cond_destroy(&p->reap_cv);
    pthread_mutex_destroy(&p->reap_mu);
    pthread_mutex_destroy(&p->reap_one);
    json_decref(p->restarting);
    pthread_mutex_destroy(&p->restart_mu);
    pthread_cond_destroy(&p->hold_cv);
    pthread_mutex_destroy(&p->hold_mu);
    free(p->pool);
    free(p->datastore);
    free(p->publish_ip);
    free(p->bridge_pg);
    pthread_mutex_destroy(&p->names);
    pthread_mutex_destroy(&p->list_mu);
    json_decref(p->described);
    free(p);
}

/* ---- names and lookup ---- */

static int name_valid(const char *n)
{
    size_t len = strlen(n);
    if (len < 1 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return 0;
    }
    return 1;
}

static void random_name(char *out, size_t cap)
{
    static const char *const adj[] = {"brave", "calm",   "eager", "fond",  "keen",
                                      "lucid", "nimble", "quiet", "sharp", "vivid"};
    static const char *const noun[] = {"babbage",  "curie",   "dijkstra", "hopper", "knuth",
                                       "lovelace", "ritchie", "shannon",  "turing", "wirth"};
    unsigned char r[3];
    vic_random_bytes(r, sizeof(r));
    snprintf(out, cap, "%s_%s%u", adj[r[0] % 10], noun[r[1] % 10], r[2] % 100);
}

/* The pool's containers: their VM reference and guestinfo.vice. keys. New reference. */
static int list_vms(pl *p, json_t **out, vic_err **err)
{
    return hv_vm_list(p->hv, p->pool, VIC_GI_PREFIX, out, err);
}

int pl_container_vms(pl *p, json_t **out, vic_err **err)
{
    return list_vms(p, out, err);
}

/* Finds ref (id, unique id prefix, or name) among vms; returns the VM's JSON (borrowed). */
static const json_t *match(const json_t *vms, const char *ref, vic_err **err)
{
    size_t i, rlen = strlen(ref);
    json_t *vm;
    const json_t *prefix_hit = NULL;
    int prefix_hits = 0;
    json_array_foreach(vms, i, vm)
    {
        const char *id = vm_key(vm, KEY_ID), *name = vm_key(vm, KEY_NAME);
        if (id == NULL || vm_key(vm, KEY_CREATING))
            continue; /* not a container (the appliance), or not one yet */
        if (strcmp(id, ref) == 0 || (name && strcmp(name, ref) == 0))
            return vm;
        if (rlen >= 1 && strncmp(id, ref, rlen) == 0) {
            prefix_hit = vm;
            prefix_hits++;
        }
    }
    if (prefix_hits == 1)
        return prefix_hit;
    if (prefix_hits > 1)
        vic_err_set(err, VIC_EINVAL, "multiple containers match \"%s\": give more of the id", ref);
    else
        vic_err_set(err, VIC_ENOTFOUND, "No such container: %s", ref);
    return NULL;
}

/* Finds ref's VM; *watched (may be NULL) says whether it has a restart policy that
 * restarts. */
static int locate_watched(pl *p, const char *ref, hv_ref *vm, char id_out[65], bool *watched,
                          vic_err **err)
{
    json_t *vms cleanup_json = NULL;
    int rc = list_vms(p, &vms, err);
    if (rc < 0)
        return rc;
    const json_t *hit = match(vms, ref, err);
    if (hit == NULL)
        return err && *err ? (*err)->code : VIC_ENOTFOUND;
    snprintf(vm->id, sizeof(vm->id), "%s", json_string_value(json_object_get(hit, "ref")));
    if (id_out)
        snprintf(id_out, 65, "%s", vm_key(hit, KEY_ID));
    if (watched)
        *watched = pl_restart_watched(json_object_get(hit, "extra_config"));
    return 0;
}

static int locate(pl *p, const char *ref, hv_ref *vm, char id_out[65], vic_err **err)
{
    return locate_watched(p, ref, vm, id_out, NULL, err);
}

int pl_container_find(pl *p, const char *ref, char id_out[65], vic_err **err)
{
    hv_ref vm;
    return locate(p, ref, &vm, id_out, err);
}

/* ---- create ---- */

/* The networks a container joins: well formed, at most PL_MAX_NETWORKS, each once. */
static int check_networks(const pl_net_attach *nets, size_t n, vic_err **err)
{
    if (n > PL_MAX_NETWORKS)
        return vic_err_set(err, VIC_EINVAL, "a container joins at most %d networks",
                           PL_MAX_NETWORKS);
    for (size_t i = 0; i < n; i++) {
        const pl_net_attach *a = &nets[i];
        uint32_t net = 0;
        int len = 0;
        if (a->name == NULL || strchr(a->name, '/') || vic_cidr_parse(a->subnet, &net, &len) < 0 ||
            a->gateway == NULL)
            return vic_err_set(err, VIC_EINVAL, "networks[%zu]: not a network", i);
        for (size_t j = 0; j < a->n_aliases; j++)
            if (a->aliases[j] == NULL || a->aliases[j][0] == '\0')
                return vic_err_set(err, VIC_EINVAL, "networks[%zu]: invalid alias", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(nets[j].name, a->name) == 0)
                return vic_err_set(err, VIC_EINVAL, "the container joins network %s twice",
                                   a->name);
    }
    return 0;
}

/* What a caller records with a container: an object of strings, at most PL_MAX_ANNOTATIONS
 * bytes as JSON. */
static int annotations_check(const json_t *a, vic_err **err)
{
    const char *k;
    json_t *v;
    if (!json_is_object(a))
        return vic_err_set(err, VIC_EINVAL, "annotations: an object of strings");
    json_object_foreach((json_t *)a, k, v)
    {
        if (!json_is_string(v))
            return vic_err_set(err, VIC_EINVAL, "annotations: %s is not a string", k);
    }
    cleanup_free char *text = json_dumps(a, JSON_COMPACT);
    if (text == NULL || strlen(text) > PL_MAX_ANNOTATIONS)
        return vic_err_set(err, VIC_EINVAL,
                           "the container's configuration is too large (at most %d bytes of "
                           "annotations)",
                           PL_MAX_ANNOTATIONS);
    return 0;
}

static int check_spec(const pl_create_spec *s, vic_err **err)
{
    int rc;
    if (s->name && !name_valid(s->name))
        return vic_err_set(err, VIC_EINVAL,
                           "Invalid container name (%s), only "
                           "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                           s->name);
    if (s->n_cmd == 0 || s->cmd[0] == NULL || s->cmd[0][0] == '\0')
        return vic_err_set(err, VIC_EINVAL, "No command specified");
    /* "NAME=value" sets NAME; "NAME" alone is kept as given and unsets NAME, as Docker does */
    for (size_t i = 0; i < s->n_env; i++)
        if (s->env[i][0] == '\0' || s->env[i][0] == '=')
            return vic_err_set(err, VIC_EINVAL, "env[%zu]: \"%s\" has no variable name", i,
                               s->env[i]);
    if (s->cpus < 0 || s->cpus > 64 || s->memory_mb < 0)
        return vic_err_set(err, VIC_EINVAL, "cpus and memory must be positive");
    if (s->rootfs == NULL)
        return vic_err_set(err, VIC_EINVAL, "no image to build the root disk from");
    if (s->n_mounts > PL_MAX_MOUNTS)
        return vic_err_set(err, VIC_EINVAL, "at most %d volumes can be mounted in a container",
                           PL_MAX_MOUNTS);
    for (size_t i = 0; i < s->n_mounts; i++) {
        const pl_mount *m = &s->mounts[i];
        if (m->volume == NULL || m->disk == NULL)
            return vic_err_set(err, VIC_EINVAL, "mounts[%zu]: no volume", i);
        if (m->target == NULL || m->target[0] != '/' || strstr(m->target, "/..") ||
            strlen(m->target) > 1024)
            return vic_err_set(err, VIC_EINVAL,
                               "invalid mount config: mount path \"%s\" must be absolute and "
                               "without \"..\"",
                               m->target ? m->target : "");
        if (strcmp(m->target, "/") == 0)
            return vic_err_set(err, VIC_EINVAL, "invalid mount config: cannot mount over /");
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->mounts[j].target, m->target) == 0)
                return vic_err_set(err, VIC_EINVAL, "Duplicate mount point: %s", m->target);
    }
    if ((rc = check_networks(s->networks, s->n_networks, err)) < 0)
        return rc;
    if (s->n_ports > 0 && s->n_networks == 0)
        return vic_err_set(err, VIC_EINVAL,
                           "conflicting options: port publishing and the container type "
                           "network mode (a container without a network publishes nothing)");
    if (s->n_ports > PL_MAX_PORTS)
        return vic_err_set(err, VIC_EINVAL, "at most %d ports can be published", PL_MAX_PORTS);
    unsigned char hw[6];
    if (s->mac_address && vic_mac_parse(s->mac_address, hw) < 0)
        return vic_err_set(err, VIC_EINVAL, "%s is not a valid mac address", s->mac_address);
    if (s->mac_address && s->n_networks == 0)
        return vic_err_set(err, VIC_EINVAL,
                           "conflicting options: mac-address and the network mode (a container "
                           "without a network has no NIC)");
    if (s->annotations && annotations_check(s->annotations, err) < 0)
        return VIC_EINVAL;
    if (s->healthcheck && (rc = pl_health_config_check(s->healthcheck, err)) < 0)
        return rc;
    for (size_t i = 0; i < s->n_ports; i++) {
        const pl_port *pp = &s->ports[i];
        if (pp->container_port < 1 || pp->container_port > 65535 || pp->host_port < 0 ||
            pp->host_port > 65535)
            return vic_err_set(err, VIC_EINVAL, "ports[%zu]: invalid port %d", i,
                               pp->container_port < 1 || pp->container_port > 65535
                                   ? pp->container_port
                                   : pp->host_port);
        /* a host address other than the VCH's (publish) is refused there, naming both */
    }
    return 0;
}

/* A free TCP (or UDP) port on ip, as the kernel picks one. */
static int free_port(const char *ip, bool udp, vic_err **err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
             getsockname(fd, (struct sockaddr *)&sa, &len) == 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (!ok)
        return vic_err_sys(err, VIC_EIO, e, "choose a port on %s", ip);
    return ntohs(sa.sin_port);
}

/* The VM's port forwards for the spec's published ports, recorded in KEY_PORTS too. */
static int publish(pl *p, const pl_create_spec *s, hv_port_forward *fwd, json_t *extra,
                   vic_err **err)
{
    if (s->n_ports == 0)
        return 0;
    vic_buf rec = VIC_BUF_INIT;
    for (size_t i = 0; i < s->n_ports; i++) {
        /* the VCH's own address, given or not ("0.0.0.0": every address a VCH has) */
        const char *ip = s->ports[i].host_ip;
        if (ip == NULL || strcmp(ip, "0.0.0.0") == 0)
            ip = p->publish_ip;
        if (strcmp(ip, p->publish_ip) != 0) {
            vic_buf_free(&rec);
            return vic_err_set(err, VIC_EINVAL,
                               "ports[%zu]: a VCH publishes ports on its own address %s, not %.64s",
                               i, p->publish_ip, ip);
        }
        bool udp = s->ports[i].udp;
        hv_proto proto = udp ? HV_PROTO_UDP : HV_PROTO_TCP;
        int port = s->ports[i].host_port;
        if (port == 0 && (port = free_port(ip, udp, err)) < 0) {
            vic_buf_free(&rec);
            return port;
        }
        for (size_t j = 0; j < i; j++)
            if (fwd[j].host_port == port && fwd[j].proto == proto &&
                strcmp(fwd[j].host_ip, ip) == 0) {
                vic_buf_free(&rec);
                return vic_err_set(err, VIC_ECONFLICT,
                                   "Bind for %s:%d failed: port is already allocated", ip, port);
            }
        fwd[i] = (hv_port_forward){.host_ip = ip,
                                   .host_port = port,
                                   .guest_port = s->ports[i].container_port,
                                   .proto = proto};
        vic_buf_appendf(&rec, "%s%s:%d:%d/%s", i ? "," : "", ip, port, s->ports[i].container_port,
                        udp ? "udp" : "tcp");
    }
    json_object_set_new(extra, KEY_PORTS, json_string(rec.data));
    vic_buf_free(&rec);
    return 0;
}

static void unlock_names(pthread_mutex_t **m)
{
    if (*m)
        pthread_mutex_unlock(*m);
}

static void unlock_restart(pl **p)
{
    if (*p)
        pl_restart_unlock(*p);
}

/* The id of the container named name among vms, or NULL. */
static const char *name_holder(const json_t *vms, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(vms, i, v)
    {
        const char *other = vm_key(v, KEY_NAME);
        if (other && strcmp(other, name) == 0)
            return vm_key(v, KEY_ID) ? vm_key(v, KEY_ID) : "";
    }
    return NULL;
}

/* The address of network a for a new container, "ADDR/PREFIX" into out: the requested one
 * when it is a free host address of the subnet, else the lowest free one. What is taken is
 * read from every VM of the pool (a container being created included), so an address is
 * free again once its container is removed. */
static int allocate_ip(const json_t *vms, const pl_net_attach *a, char *out, size_t cap,
                       vic_err **err)
{
    uint32_t net = 0, gw = 0, want = 0;
    int len = 0, gl = 0, wl = 0;
    cleanup_free char *gws = xasprintf("%s/32", a->gateway);
    vic_cidr_parse(a->subnet, &net, &len);
    vic_cidr_parse(gws, &gw, &gl);
    uint32_t first = net + 1, last = (net | ~vic_cidr_mask(len)) - 1;
    cleanup_free char *key = xasprintf(VIC_GI_PREFIX "/networks|%s/ip", a->name);
    size_t n_used = 0, cap_used = json_array_size(vms) + 1;
    cleanup_free uint32_t *used = xcalloc(cap_used, sizeof(uint32_t));
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        uint32_t u = 0;
        int ul = 0;
        if (vic_cidr_parse(vm_key(vm, key), &u, &ul) == 0)
            used[n_used++] = u;
    }
    if (a->ip) {
        cleanup_free char *ws = xasprintf("%s/32", a->ip);
        if (vic_cidr_parse(ws, &want, &wl) < 0 || want < first || want > last || want == gw)
            return vic_err_set(err, VIC_EINVAL,
                               "invalid address %s: not a host address of network %s (%s)", a->ip,
                               a->name, a->subnet);
        for (size_t u = 0; u < n_used; u++)
            if (used[u] == want)
                return vic_err_set(err, VIC_ECONFLICT, "Address already in use: %s on network %s",
                                   a->ip, a->name);
    } else {
        for (want = first; want <= last; want++) {
            int taken = want == gw;
            for (size_t u = 0; u < n_used && !taken; u++)
                taken = used[u] == want;
            if (!taken)
                break;
        }
        if (want > last)
            return vic_err_set(err, VIC_ELIMIT, "no free address left on network %s (%s)", a->name,
                               a->subnet);
    }
    snprintf(out, cap, "%u.%u.%u.%u/%d", want >> 24, (want >> 16) & 255, (want >> 8) & 255,
             want & 255, len);
    return 0;
}

/* The VM's id range (the owners of its disks' files), or no shift where the driver maps no
 * ids. */
static int vm_id_map(pl *p, const hv_ref *vm, pl_idmap *out, vic_err **err)
{
    uint32_t base = 0;
    *out = (pl_idmap){0, 0};
    int rc = hv_vm_id_base(p->hv, vm, &base, err);
    if (rc == VIC_EUNSUPPORTED) {
        vic_err_free(err);
        return 0;
    }
    if (rc == 0)
        *out = (pl_idmap){base, HV_LOCAL_GUEST_ID_COUNT};
    return rc;
}

/* A VM's vCPUs: as asked, and at least what its CPU time limit needs. */
static int vm_cpus(int cpus, int64_t cpu_millis)
{
    int need = (int)((cpu_millis + 999) / 1000);
    return cpus > need ? cpus : need > 0 ? need : 1;
}

int pl_container_create(pl *p, const pl_create_spec *s, char id_out[65], vic_err **err)
{
    int rc = check_spec(s, err);
    if (rc < 0)
        return rc;
    int nic_mac = hv_caps_of(p->hv)->nic_mac;
    if (s->mac_address && !nic_mac)
        return vic_err_set(err, VIC_EINVAL,
                           "a container's MAC address cannot be chosen on this VCH: its hypervisor "
                           "assigns NICs their addresses");
    char name[80];
    if (s->name)
        snprintf(name, sizeof(name), "%s", s->name);
    else
        random_name(name, sizeof(name));
    char id[65];
    unsigned char raw[32];
    vic_random_bytes(raw, sizeof(raw));
    for (int i = 0; i < 32; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);

    /* held from the name's check until the VM that claims it exists */
    pthread_mutex_t *names __attribute__((cleanup(unlock_names))) = &p->names;
    pthread_mutex_lock(names);
    json_t *vms cleanup_json = NULL;
    if ((rc = list_vms(p, &vms, err)) < 0)
        return rc;
    /* a chosen name that is taken is a conflict; a generated one is drawn again, as Docker
     * does (a few draws, then the id's head makes it unique) */
    for (int draw = 0;; draw++) {
        const char *holder = name_holder(vms, name);
        if (holder == NULL)
            break;
        if (s->name)
            return vic_err_set(err, VIC_ECONFLICT,
                               "Conflict. The container name \"/%s\" is "
                               "already in use by container \"%s\".",
                               name, holder);
        if (draw < 8) {
            random_name(name, sizeof(name));
        } else {
            size_t len = strlen(name);
            snprintf(name + len, sizeof(name) - len, "_%.12s", id);
        }
    }

    char *ids[] = {id};
    vic_exec_session sess = {0};
    sess.id = id;
    sess.name = name;
    sess.cmd.path = (char *)s->cmd[0];
    sess.cmd.args = (char **)s->cmd;
    sess.cmd.n_args = s->n_cmd;
    sess.cmd.env = (char **)s->env;
    sess.cmd.n_env = s->n_env;
    sess.cmd.dir = (char *)s->workdir;
    sess.user = (char *)s->user;
    sess.tty = s->tty;
    sess.attach = s->interactive;
    sess.openstdin = s->interactive;
    sess.stop_signal = (char *)s->stop_signal;
    sess.caps = (char *)s->caps;
    sess.no_new_privs = s->no_new_privs;
    sess.seccomp = s->seccomp_unconfined ? "unconfined" : NULL;
    vic_exec_mount mounts[PL_MAX_MOUNTS];
    char sources[PL_MAX_MOUNTS][40];
    hv_disk disks[1 + PL_MAX_MOUNTS];
    memset(disks, 0, sizeof(disks));
    for (size_t m = 0; m < s->n_mounts; m++) {
        snprintf(sources[m], sizeof(sources[m]), "/.vic/disks/%zu", m + 1);
        mounts[m] = (vic_exec_mount){.source = sources[m],
                                     .target = (char *)s->mounts[m].target,
                                     .mode = s->mounts[m].read_only ? "ro" : "rw",
                                     .volume = (char *)s->mounts[m].volume};
        disks[m + 1].path = s->mounts[m].disk;
    }
    /* each network: an address, and a NIC in the network's segment of the bridge port group */
    vic_exec_network nets[PL_MAX_NETWORKS];
    char *net_names[PL_MAX_NETWORKS];
    char ips[PL_MAX_NETWORKS][40], gws[PL_MAX_NETWORKS][40];
    char *dns[PL_MAX_NETWORKS][1];
    char gw_addrs[PL_MAX_NETWORKS][20];
    char macs[PL_MAX_NETWORKS][18];
    hv_nic nics[PL_MAX_NETWORKS];
    memset(nics, 0, sizeof(nics));
    for (size_t n = 0; n < s->n_networks; n++) {
        const pl_net_attach *a = &s->networks[n];
        if ((rc = allocate_ip(vms, a, ips[n], sizeof(ips[n]), err)) < 0)
            return rc;
        snprintf(gws[n], sizeof(gws[n]), "%s%s", a->gateway, strchr(a->subnet, '/'));
        snprintf(gw_addrs[n], sizeof(gw_addrs[n]), "%s", a->gateway);
        dns[n][0] = gw_addrs[n];
        net_names[n] = (char *)a->name;
        /* where the target lets us choose: the given address, else one made of the IP */
        macs[n][0] = '\0';
        if (n == 0 && s->mac_address)
            snprintf(macs[n], sizeof(macs[n]), "%s", s->mac_address);
        else if (nic_mac)
            vic_mac_of_ip(ips[n], macs[n]);
        nets[n] = (vic_exec_network){.name = (char *)a->name,
                                     .id = (char *)a->id,
                                     .nic = (int64_t)n,
                                     .ip = ips[n],
                                     .gateway = gws[n],
                                     .nameservers = dns[n],
                                     .n_nameservers = 1,
                                     .aliases = (char **)a->aliases,
                                     .n_aliases = a->n_aliases,
                                     .is_default = n == 0,
                                     .mac = macs[n][0] ? macs[n] : NULL};
        nics[n] = (hv_nic){
            .network = p->bridge_pg, .gateway = gws[n], .mac = macs[n][0] ? macs[n] : NULL};
    }
    vic_exec_config cfg = {.id = id,
                           .name = name,
                           .hostname = (char *)s->hostname,
                           .session_ids = ids,
                           .sessions = &sess,
                           .n_sessions = 1,
                           .mounts = mounts,
                           .n_mounts = s->n_mounts,
                           .network_names = net_names,
                           .networks = nets,
                           .n_networks = s->n_networks};
    char host[13];
    snprintf(host, sizeof(host), "%.12s", id);
    if (cfg.hostname == NULL)
        cfg.hostname = host;
    json_t *extra cleanup_json = json_object();
    if ((rc = vic_gi_encode(extra, &vic_exec_config_desc, &cfg, "", NULL, err)) < 0)
        return rc;
    if (s->image)
        json_object_set_new(extra, KEY_IMAGE, json_string(s->image));
    if (s->image_id)
        json_object_set_new(extra, KEY_IMAGE_ID, json_string(s->image_id));
    if (s->auto_remove)
        json_object_set_new(extra, KEY_AUTO_REMOVE, json_string("true"));
    if (json_object_size(s->annotations)) {
        cleanup_free char *notes = json_dumps(s->annotations, JSON_COMPACT);
        json_object_set_new(extra, KEY_ANNOTATIONS, json_string(notes));
    }
    if ((rc = pl_restart_policy_record(extra, s, err)) < 0)
        return rc;
    if (s->healthcheck)
        pl_health_config_record(extra, s->healthcheck);
    json_object_set_new(extra, KEY_CREATING,
                        json_sprintf("%ld %lld", (long)getpid(), (long long)time(NULL)));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    json_object_set_new(extra, KEY_CREATED,
                        json_sprintf("%lld", (long long)now.tv_sec * 1000000000LL + now.tv_nsec));
    hv_port_forward fwd[PL_MAX_PORTS];
    if ((rc = publish(p, s, fwd, extra, err)) < 0)
        return rc;
    if (s->n_networks > 0) { /* the first NIC carries the published ports */
        nics[0].forwards = fwd;
        nics[0].n_forwards = s->n_ports;
    }

    char vm_name[100], disk[160];
    snprintf(vm_name, sizeof(vm_name), "%s-%.12s", name, id);
    snprintf(disk, sizeof(disk), "[%s] %s/rootfs", p->datastore, vm_name);
    disks[0] = (hv_disk){.path = disk, .create = true};
    hv_vm_spec spec = {.name = vm_name,
                       .pool = p->pool,
                       .datastore = p->datastore,
                       .cpus = vm_cpus(s->cpus, s->limits.cpu_millis),
                       .memory_mb = s->memory_mb ? s->memory_mb : 512,
                       .limits = s->limits,
                       .disks = disks,
                       .n_disks = 1 + s->n_mounts,
                       .nics = nics,
                       .n_nics = s->n_networks,
                       .serial_log = true,
                       .extra_config = extra};
    hv_ref vm;
    if ((rc = hv_vm_create(p->hv, &spec, &vm, err)) < 0)
        return rc;
    pthread_mutex_unlock(names); /* the name is the VM's now: others see it listed */
    names = NULL;
    /* Fill the root disk; a container that cannot get one does not exist. */
    cleanup_free char *dir = NULL;
    rc = hv_ds_local_path(p->hv, disk, &dir, err);
    pl_idmap owners = {0, 0};
    if (rc == 0)
        rc = vm_id_map(p, &vm, &owners, err);
    if (rc == 0)
        rc = s->rootfs(dir, &owners, s->rootfs_payload, err);
    if (rc == 0) { /* complete: from here on it is a container */
        json_t *done cleanup_json = json_pack("{s:n}", KEY_CREATING);
        hv_vm_change c = {.extra_config = done};
        rc = hv_vm_reconfigure(p->hv, &vm, NULL, &c, NULL, 0, err);
    }
    if (rc < 0) {
        vic_err *undo = NULL;
        hv_vm_destroy(p->hv, &vm, &undo);
        vic_err_free(&undo);
        return vic_err_wrap(err, rc, "create container %s", name);
    }
    snprintf(id_out, 65, "%s", id);
    return 0;
}

/* ---- state ---- */

static json_t *str_array(char **items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

/* Whether the listed VM is a container created with auto_remove. */
static bool vm_auto_remove(const json_t *vm)
{
    const char *v = vm_key(vm, KEY_AUTO_REMOVE);
    return v && strcmp(v, "true") == 0;
}

/* The inspect object of a VM from the pool listing (power and extraConfig). */
static json_t *describe(const json_t *vm, vic_err **err)
{
    json_t *extra = json_object_get(vm, "extra_config");
    vic_exec_config cfg = {0};
    if (vic_gi_decode(&cfg, &vic_exec_config_desc, extra, "", NULL, err) < 0) {
        vic_gi_free(&vic_exec_config_desc, &cfg);
        return NULL;
    }
    vic_exec_session none = {0};
    const vic_exec_session *s = &none;
    for (size_t i = 0; i < cfg.n_sessions; i++)
        if (cfg.id && strcmp(cfg.session_ids[i], cfg.id) == 0)
            s = &cfg.sessions[i];
    const char *power = json_string_value(json_object_get(vm, "power"));
    int on = power && strcmp(power, "poweredOn") == 0;
    int64_t code = 0;
    const char *error = NULL;
    vic_exec_state st = vic_exec_state_of(on, s, &code, &error);
    char started[96], finished[96], created[96];
    vic_rfc3339(started, sizeof(started), s->started_at);
    const char *created_ns = vm_key(vm, KEY_CREATED);
    vic_rfc3339(created, sizeof(created), created_ns ? strtoll(created_ns, NULL, 10) : 0);
    vic_rfc3339(finished, sizeof(finished), st == VIC_STATE_EXITED ? s->stopped_at : 0);
    const char *paused = vm_key(vm, KEY_PAUSED);
    bool frozen = st == VIC_STATE_RUNNING && paused && strcmp(paused, started) == 0;
    json_t *mounts = json_array();
    for (size_t i = 0; i < cfg.n_mounts; i++)
        if (cfg.mounts[i].volume)
            json_array_append_new(mounts,
                                  json_pack("{s:s, s:s, s:s}", "volume", cfg.mounts[i].volume,
                                            "target", cfg.mounts[i].target, "mode",
                                            cfg.mounts[i].mode ? cfg.mounts[i].mode : "rw"));
    json_t *ports = json_array();
    const char *rec = vm_key(vm, KEY_PORTS);
    while (rec && *rec) {
        char ip[64], proto[4];
        int hp = 0, cp = 0;
        if (sscanf(rec, "%63[0-9.]:%d:%d/%3[a-z]", ip, &hp, &cp, proto) == 4 &&
            (strcmp(proto, "tcp") == 0 || strcmp(proto, "udp") == 0))
            json_array_append_new(ports,
                                  json_pack("{s:s, s:i, s:i, s:s}", "host_ip", ip, "host_port", hp,
                                            "container_port", cp, "protocol", proto));
        const char *comma = strchr(rec, ',');
        rec = comma ? comma + 1 : NULL;
    }
    json_t *networks = json_array();
    for (size_t i = 0; i < cfg.n_networks; i++) {
        const vic_exec_network *n = &cfg.networks[i];
        char addr[40] = "", gw[40] = "";
        int prefix = 0;
        if (n->ip) {
            snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(n->ip, "/"), n->ip);
            prefix = strchr(n->ip, '/') ? atoi(strchr(n->ip, '/') + 1) : 0;
        }
        if (n->gateway)
            snprintf(gw, sizeof(gw), "%.*s", (int)strcspn(n->gateway, "/"), n->gateway);
        json_array_append_new(networks, json_pack("{s:s, s:s, s:s, s:i, s:s, s:o, s:s}", "name",
                                                  n->name ? n->name : "", "id", n->id ? n->id : "",
                                                  "ip", addr, "prefix", prefix, "gateway", gw,
                                                  "aliases", str_array(n->aliases, n->n_aliases),
                                                  "mac", n->mac ? n->mac : ""));
    }
    json_t *out = json_pack(
        "{s:s, s:s, s:s?, s:s, s:b, s:I, s:s, s:s, s:s, s:s, "
        "s:{s:o, s:o, s:s?, s:s?, s:b, s:s?, s:b}, s:o, s:o, s:o, s:{s:s, s:s, s:s}}",
        "id", cfg.id ? cfg.id : "", "name", cfg.name ? cfg.name : "", "image",
        vm_key(vm, KEY_IMAGE), "state", frozen ? "paused" : vic_exec_state_name(st), "running",
        st == VIC_STATE_RUNNING || st == VIC_STATE_STARTING, "exit_code", (json_int_t)code, "error",
        error ? error : "", "created_at", created, "started_at", started, "finished_at", finished,
        "config", "cmd", str_array(s->cmd.args, s->cmd.n_args), "env",
        str_array(s->cmd.env, s->cmd.n_env), "workdir", s->cmd.dir, "user", s->user, "tty", s->tty,
        "hostname", cfg.hostname, "interactive", s->openstdin, "mounts", mounts, "ports", ports,
        "networks", networks, "vm", "name", json_string_value(json_object_get(vm, "name")), "power",
        power ? power : "", "change_version",
        json_string_value(json_object_get(vm, "change_version")));
    if (out == NULL) {
        vic_gi_free(&vic_exec_config_desc, &cfg);
        vic_err_set(err, VIC_EINTERNAL, "describe container");
        return NULL;
    }
    json_object_set_new(out, "image_id", json_string(vm_key(vm, KEY_IMAGE_ID) ?: ""));
    pl_restart_describe(out, extra, on, s); /* s is cfg's */
    pl_health_describe(out, extra, on, s);
    vic_gi_free(&vic_exec_config_desc, &cfg);
    json_object_set_new(out, "auto_remove", json_boolean(vm_auto_remove(vm)));
    json_object_set_new(out, "paused", json_boolean(frozen));
    const char *notes = vm_key(vm, KEY_ANNOTATIONS);
    json_t *a = notes ? json_loads(notes, 0, NULL) : NULL;
    json_object_set_new(out, "annotations", json_is_object(a) ? a : json_object());
    if (a && !json_is_object(a))
        json_decref(a);
    return out;
}

int pl_container_inspect(pl *p, const char *ref, json_t **out, vic_err **err)
{
    *out = NULL;
    json_t *vms cleanup_json = NULL;
    int rc = list_vms(p, &vms, err);
    if (rc < 0)
        return rc;
    const json_t *hit = match(vms, ref, err);
    if (hit == NULL)
        return (*err)->code;
    *out = describe(hit, err);
    if (*out == NULL)
        return VIC_EINTERNAL;
    /* the VM's size and limits, and how its last run ended, from the hypervisor */
    hv_ref vm;
    hv_vm_info info;
    vic_err *e cleanup_err = NULL;
    snprintf(vm.id, sizeof(vm.id), "%s", json_string_value(json_object_get(hit, "ref")));
    if (hv_vm_get(p->hv, &vm, &info, &e) == 0) {
        json_object_set_new(*out, "cpus", json_integer(info.cpus));
        json_object_set_new(*out, "memory_mb", json_integer(info.memory_mb));
        json_object_set_new(
            *out, "limits",
            json_pack("{s:I, s:i, s:I}", "cpu_millis", (json_int_t)info.limits.cpu_millis,
                      "cpu_shares", info.limits.cpu_shares, "pids", (json_int_t)info.limits.pids));
        json_object_set_new(*out, "oom_killed", json_boolean(info.oom_kills > 0));
        hv_vm_info_clear(&info);
    }
    return 0;
}

int pl_container_pause(pl *p, const char *ref, bool paused, vic_err **err)
{
    json_t *vms cleanup_json = NULL;
    int rc = list_vms(p, &vms, err);
    if (rc < 0)
        return rc;
    const json_t *hit = match(vms, ref, err);
    if (hit == NULL)
        return (*err)->code;
    json_t *c cleanup_json = describe(hit, err);
    if (c == NULL)
        return VIC_EINTERNAL;
    const char *id = vic_json_str(c, "id");
    if (!json_is_true(json_object_get(c, "running")))
        return vic_err_set(err, VIC_ECONFLICT, "Container %s is not running", id);
    bool was = json_is_true(json_object_get(c, "paused"));
    if (paused && was)
        return vic_err_set(err, VIC_ECONFLICT, "Container %s is already paused", id);
    if (!paused && !was)
        return vic_err_set(err, VIC_ECONFLICT, "Container %s is not paused", id);
    hv_ref vm;
    snprintf(vm.id, sizeof(vm.id), "%s", json_string_value(json_object_get(hit, "ref")));
    /* the mark goes before the freeze and after the thaw: a crash between leaves a running
     * guest that reads as paused, which unpause clears, never a frozen one that reads as
     * running */
    json_t *mark cleanup_json = json_pack("{s:s}", KEY_PAUSED, vic_json_str(c, "started_at"));
    json_t *unmark cleanup_json = json_pack("{s:n}", KEY_PAUSED);
    hv_vm_change set = {.extra_config = mark}, clear = {.extra_config = unmark};
    if (paused && (rc = hv_vm_reconfigure(p->hv, &vm, NULL, &set, NULL, 0, err)) < 0)
        return rc;
    rc = hv_vm_pause(p->hv, &vm, paused, err);
    if (rc == VIC_ECONFLICT) {
        vic_err_free(err);
        rc = vic_err_set(err, VIC_ECONFLICT, "Container %s is not running", id);
    }
    if (rc < 0) {
        vic_err *e cleanup_err = NULL;
        if (paused)
            hv_vm_reconfigure(p->hv, &vm, NULL, &clear, NULL, 0, &e);
        return rc;
    }
    if (!paused && (rc = hv_vm_reconfigure(p->hv, &vm, NULL, &clear, NULL, 0, err)) < 0)
        return rc;
    vic_log(VIC_LOG_INFO, "event=%s container=%.12s", paused ? "paused" : "unpaused", id);
    return 0;
}

int pl_container_update(pl *p, const char *ref, const pl_update *u, vic_err **err)
{
    json_t *vms cleanup_json = NULL;
    int rc = list_vms(p, &vms, err);
    if (rc < 0)
        return rc;
    const json_t *hit = match(vms, ref, err);
    if (hit == NULL)
        return (*err)->code;
    hv_ref vm;
    snprintf(vm.id, sizeof(vm.id), "%s", json_string_value(json_object_get(hit, "ref")));
    hv_vm_info info;
    if ((rc = hv_vm_get(p->hv, &vm, &info, err)) < 0)
        return rc;
    hv_vm_change c = {
        .set_size = true, .cpus = info.cpus, .memory_mb = info.memory_mb, .limits = info.limits};
    hv_vm_info_clear(&info);
    if (u->memory_mb >= 0)
        c.memory_mb = u->memory_mb ? u->memory_mb : 512;
    if (u->cpu_millis >= 0) {
        c.limits.cpu_millis = u->cpu_millis;
        c.cpus = vm_cpus(c.cpus, u->cpu_millis);
    }
    if (u->cpu_shares >= 0)
        c.limits.cpu_shares = u->cpu_shares;
    if (u->pids >= 0)
        c.limits.pids = u->pids;
    json_t *extra cleanup_json = json_object();
    if (u->annotations) {
        if (annotations_check(u->annotations, err) < 0)
            return VIC_EINVAL;
        cleanup_free char *notes = json_dumps(u->annotations, JSON_COMPACT);
        json_object_set_new(extra, KEY_ANNOTATIONS, json_string(notes));
    }
    if (u->restart_policy) {
        pl_create_spec rs = {.restart_policy = u->restart_policy,
                             .restart_max = u->restart_max,
                             .auto_remove = vm_auto_remove(hit)};
        if (rs.auto_remove && *u->restart_policy && strcmp(u->restart_policy, "no") != 0)
            return vic_err_set(err, VIC_ECONFLICT,
                               "Restart policy cannot be updated because AutoRemove is enabled "
                               "for the container");
        if ((rc = pl_restart_policy_record(extra, &rs, err)) < 0)
            return rc;
        if (json_object_size(extra) == 0)
            json_object_set_new(extra, pl_restart_policy_key(), json_null());
    }
    c.extra_config = extra;
    rc = hv_vm_reconfigure(p->hv, &vm, NULL, &c, NULL, 0, err);
    if (rc == 0)
        vic_log(VIC_LOG_INFO,
                "event=updated container=%.12s memory_mb=%lld cpus=%d cpu_millis=%lld "
                "cpu_shares=%d pids=%lld",
                vm_key(hit, KEY_ID) ?: "", (long long)c.memory_mb, c.cpus,
                (long long)c.limits.cpu_millis, c.limits.cpu_shares, (long long)c.limits.pids);
    return rc;
}

int64_t pl_container_guest_pid(pl *p, const char *ref)
{
    hv_ref vm;
    vic_err *e cleanup_err = NULL;
    json_t *use cleanup_json = NULL;
    if (locate(p, ref, &vm, NULL, &e) < 0 || hv_vm_guest_usage(p->hv, &vm, &use, &e) < 0)
        return 0;
    return json_integer_value(json_object_get(use, "pid"));
}

int pl_container_stats(pl *p, const char *ref, json_t **out, vic_err **err)
{
    *out = NULL;
    json_t *vms cleanup_json = NULL;
    int rc = list_vms(p, &vms, err);
    if (rc < 0)
        return rc;
    const json_t *hit = match(vms, ref, err);
    if (hit == NULL)
        return (*err)->code;
    hv_ref vm;
    snprintf(vm.id, sizeof(vm.id), "%s", json_string_value(json_object_get(hit, "ref")));
    hv_vm_info info = {0};
    if ((rc = hv_vm_get(p->hv, &vm, &info, err)) < 0)
        return rc;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    *out = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "id",
                     vm_key(hit, KEY_ID) ?: "", "running", info.power == HV_POWERED_ON, "time_ns",
                     (json_int_t)now.tv_sec * 1000000000 + now.tv_nsec, "cpu_ns",
                     (json_int_t)info.cpu_ns, "memory_bytes", (json_int_t)info.memory_bytes,
                     "memory_limit_bytes", (json_int_t)info.memory_limit_bytes, "cpus",
                     (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "pids_limit",
                     (json_int_t)info.pids_limit, "io_read_bytes", (json_int_t)info.io_read_bytes,
                     "io_write_bytes", (json_int_t)info.io_write_bytes);
    json_t *use cleanup_json = NULL;
    vic_err *e cleanup_err = NULL;
    if (info.power == HV_POWERED_ON && hv_vm_guest_usage(p->hv, &vm, &use, &e) == 0) {
        json_object_set(*out, "pids", json_object_get(use, "processes"));
        json_object_set(*out, "networks", json_object_get(use, "nics"));
    }
    hv_vm_info_clear(&info);
    return 0;
}

json_t *pl_host_info(pl *p)
{
    char unenforced[512];
    hv_vm_unenforced(p->hv, unenforced, sizeof(unenforced));
    return json_pack("{s:s}", "unenforced", unenforced);
}

int pl_container_top(pl *p, const char *ref, json_t **out, vic_err **err)
{
    *out = NULL;
    hv_ref vm;
    char id[65];
    int rc = locate(p, ref, &vm, id, err);
    if (rc < 0)
        return rc;
    rc = hv_vm_processes(p->hv, &vm, out, err);
    if (rc == VIC_ECONFLICT) {
        vic_err_free(err);
        return vic_err_set(err, VIC_ECONFLICT, "Container %s is not running", id);
    }
    return rc;
}

/* describe() of vm, or the description the last listing made of the same configuration
 * object in the same power state; recorded in next. New reference, shared: read-only. */
static json_t *describe_listed(pl *p, json_t *next, const json_t *vm, vic_err **err)
{
    const char *name = json_string_value(json_object_get(vm, "name"));
    const char *power = json_string_value(json_object_get(vm, "power"));
    const char *version = json_string_value(json_object_get(vm, "change_version"));
    json_t *extra = json_object_get(vm, "extra_config");
    json_t *rec = name ? json_object_get(p->described, name) : NULL;
    if (rec && extra && json_object_get(rec, "extra") == extra && power && version &&
        strcmp(vic_json_str(rec, "power"), power) == 0 &&
        strcmp(vic_json_str(rec, "change_version"), version) == 0) {
        json_object_set(next, name, rec);
        return json_incref(json_object_get(rec, "desc"));
    }
    json_t *c = describe(vm, err);
    if (c && name && extra && power && version)
        json_object_set_new(next, name,
                            json_pack("{s:O, s:s, s:s, s:O}", "extra", extra, "power", power,
                                      "change_version", version, "desc", c));
    return c;
}

int pl_container_list(pl *p, bool all, json_t **out, vic_err **err)
{
    *out = NULL;
    json_t *vms cleanup_json = NULL;
    int rc = list_vms(p, &vms, err);
    if (rc < 0)
        return rc;
    json_t *arr = json_array();
    json_t *next = json_object();
    size_t i;
    json_t *vm;
    pthread_mutex_lock(&p->list_mu);
    json_array_foreach(vms, i, vm)
    {
        if (vm_key(vm, KEY_ID) == NULL || vm_key(vm, KEY_CREATING))
            continue;
        vic_err *e = NULL;
        json_t *c = describe_listed(p, next, vm, &e);
        vic_err_free(&e); /* a container whose guestinfo is damaged is skipped, not fatal */
        if (c && (all || json_is_true(json_object_get(c, "running")) ||
                  json_is_true(json_object_get(c, "restarting"))))
            json_array_append_new(arr, c);
        else
            json_decref(c);
    }
    json_decref(p->described);
    p->described = next; /* containers gone since the last listing drop out */
    pthread_mutex_unlock(&p->list_mu);
    *out = arr;
    return 0;
}

int pl_volume_users(pl *p, const char *volume, json_t **out, vic_err **err)
{
    *out = NULL;
    json_t *vms cleanup_json = NULL;
    int rc = list_vms(p, &vms, err);
    if (rc < 0)
        return rc;
    json_t *users = json_array();
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        /* read the keys themselves: a container still being created counts too */
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(vm, "extra_config"), k, v)
        {
            const char *tail = strncmp(k, VIC_GI_PREFIX "/mounts|", strlen(VIC_GI_PREFIX) + 8) == 0
                                   ? strrchr(k, '/')
                                   : NULL;
            if (tail && strcmp(tail, "/volume") == 0 && json_is_string(v) &&
                strcmp(json_string_value(v), volume) == 0) {
                const char *power = json_string_value(json_object_get(vm, "power"));
                json_array_append_new(users,
                                      json_pack("{s:s, s:s, s:b}", "id", vm_key(vm, KEY_ID) ?: "",
                                                "name", vm_key(vm, KEY_NAME) ?: "", "running",
                                                power && strcmp(power, "poweredOn") == 0));
                break;
            }
        }
    }
    *out = users;
    return 0;
}

int pl_network_users(pl *p, const char *network, json_t **out, vic_err **err)
{
    *out = NULL;
    json_t *vms cleanup_json = NULL;
    int rc = list_vms(p, &vms, err);
    if (rc < 0)
        return rc;
    cleanup_free char *key = xasprintf(VIC_GI_PREFIX "/networks|%s/ip", network);
    json_t *users = json_array();
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        /* the key itself: a container still being created counts too */
        const char *ip = vm_key(vm, key);
        if (ip == NULL)
            continue;
        const char *power = json_string_value(json_object_get(vm, "power"));
        json_array_append_new(users,
                              json_pack("{s:s, s:s, s:b, s:s}", "id", vm_key(vm, KEY_ID) ?: "",
                                        "name", vm_key(vm, KEY_NAME) ?: "", "running",
                                        power && strcmp(power, "poweredOn") == 0, "ip", ip));
    }
    *out = users;
    return 0;
}

/* ---- power ---- */

/* After power on: waits for the tether to report the session started (or why not). */
static int wait_started(pl *p, const hv_ref *vm, const char *id, vic_err **err)
{
    char key[200];
    snprintf(key, sizeof(key), VIC_GI_PREFIX ".sessions|%s.started", id);
    for (int i = 0; i < 3000; i++) {
        hv_vm_info info;
        int rc = hv_vm_get(p->hv, vm, &info, err);
        if (rc < 0)
            return rc;
        const char *started = json_string_value(json_object_get(info.extra_config, key));
        hv_power power = info.power;
        char why[512] = "";
        if (started && strcmp(started, "true") != 0)
            snprintf(why, sizeof(why), "%s", started);
        int done = started != NULL;
        hv_vm_info_clear(&info);
        if (why[0]) {
            /* the guest is on its way down: wait until it is off, so that the container
             * reads as never started (Created) the moment we answer */
            vic_err *ignore = NULL;
            hv_vm_power_off(p->hv, vm, 2000, &ignore);
            vic_err_free(&ignore);
            return vic_err_set(err, VIC_EINVAL, "failed to start container: %s", why);
        }
        if (done)
            return 0;
        if (power == HV_POWERED_OFF)
            return vic_err_set(err, VIC_EINTERNAL,
                               "container %.12s powered off before its "
                               "session started",
                               id);
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    return vic_err_set(err, VIC_ETIMEOUT, "container %.12s did not report its start", id);
}

int pl_container_start(pl *p, const char *ref, vic_err **err)
{
    return pl_container_start_attach(p, ref, false, err);
}

int pl_container_attach(pl *p, const char *ref, int *fd, vic_err **err)
{
    *fd = -1;
    hv_ref vm;
    char id[65];
    int rc = locate(p, ref, &vm, id, err);
    if (rc < 0)
        return rc;
    /* held from here on: the watch leaves the container alone while this attach is made */
    pthread_mutex_lock(&p->hold_mu);
    bool given_up = json_object_get(p->giving_up, id) != NULL;
    char pending[40];
    snprintf(pending, sizeof(pending), "pending-%lu", p->pending++);
    if (!given_up)
        json_object_set_new(p->holders, pending, json_string(id));
    pthread_mutex_unlock(&p->hold_mu);
    if (given_up)
        return vic_err_set(err, VIC_ECONFLICT,
                           "container %.12s is not running: nobody attached to it in time", id);
    rc = hv_vm_attach(p->hv, &vm, fd, err);
    pthread_mutex_lock(&p->hold_mu);
    json_object_del(p->holders, pending);
    if (rc == 0) {
        char key[16];
        snprintf(key, sizeof(key), "%d", *fd);
        json_object_set_new(p->holders, key, json_string(id));
    }
    pthread_mutex_unlock(&p->hold_mu);
    if (rc == VIC_ECONFLICT) {
        vic_err_free(err);
        return vic_err_set(err, VIC_ECONFLICT, "container %.12s is not running", id);
    }
    return rc;
}

void pl_container_detach(pl *p, int fd)
{
    if (fd < 0)
        return;
    char key[16];
    snprintf(key, sizeof(key), "%d", fd);
    pthread_mutex_lock(&p->hold_mu);
    json_object_del(p->holders, key);
    close(fd); /* under the lock: the fd's number is not reused before it is forgotten */
    pthread_mutex_unlock(&p->hold_mu);
}

int pl_container_exec(pl *p, const char *ref, int *fd, vic_err **err)
{
    hv_ref vm;
    char id[65];
    int rc = locate(p, ref, &vm, id, err);
    if (rc < 0)
        return rc;
    rc = hv_vm_exec(p->hv, &vm, fd, err);
    if (rc == VIC_ECONFLICT) {
        vic_err_free(err);
        return vic_err_set(err, VIC_ECONFLICT, "Container %s is not running", id);
    }
    return rc;
}

int pl_container_kill(pl *p, const char *ref, int sig, vic_err **err)
{
    hv_ref vm;
    char id[65];
    bool watched = false, restarting = false;
    int rc = locate_watched(p, ref, &vm, id, &watched, err);
    if (rc == 0 && watched && sig != SIGSTOP)
        rc = pl_restart_user_stop(p, id, sig, &restarting, err);
    if (rc < 0)
        return rc;
    hv_vm_info info;
    if ((rc = hv_vm_get(p->hv, &vm, &info, err)) < 0)
        return rc;
    hv_power power = info.power;
    hv_vm_info_clear(&info);
    if (power != HV_POWERED_ON && restarting)
        return 0; /* only waiting for its restart, which the mark cancelled */
    if (power != HV_POWERED_ON)
        return vic_err_set(err, VIC_ECONFLICT, "Container %s is not running", id);
    if (sig == SIGKILL)
        return hv_vm_power_off(p->hv, &vm, 0, err);
    if (sig == SIGSTOP)
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "SIGSTOP would stop the containerVM's init, not the container's "
                           "process: use docker pause");
    /* other signals go to the guest's init, the tether, which hands them to the session */
    rc = hv_vm_signal(p->hv, &vm, 1, sig, err);
    if (rc == VIC_ECONFLICT || rc == VIC_ENOTFOUND) {
        vic_err_free(err);
        return vic_err_set(err, VIC_ECONFLICT, "Container %s is not running", id);
    }
    return rc;
}

int pl_container_start_attach(pl *p, const char *ref, bool attach, vic_err **err)
{
    int attempt = 0;
again:;
    pl_handle *h = NULL;
    int rc = pl_handle_get(p, ref, &h, err);
    if (rc < 0)
        return rc;
    /* a policy's restarts and the user's start take turns, read under the lock */
    pl *restart_locked __attribute__((cleanup(unlock_restart))) = NULL;
    if (pl_restart_watched(h->orig)) {
        pl_handle_free(h);
        h = NULL;
        pl_restart_lock(restart_locked = p);
        if ((rc = pl_handle_get(p, ref, &h, err)) < 0)
            return rc;
    }
    hv_vm_info info;
    if ((rc = hv_vm_get(p->hv, &h->vm, &info, err)) < 0) {
        pl_handle_free(h);
        return rc;
    }
    int running = info.power == HV_POWERED_ON;
    hv_vm_info_clear(&info);
    if (running) { /* started already: nothing to do (Docker answers 304) */
        pl_handle_free(h);
        return 0;
    }
    /* a new run: forget what the previous one reported; the run block is this start's */
    pl_handle_new_run(h, attach);
    pl_restart_user_start(h);
    pl_handle_set_power(h, true);
    rc = pl_handle_commit(p, h, err);
    if (restart_locked) {
        pl_restart_unlock(restart_locked);
        restart_locked = NULL;
    }
    /* the last result of a health check may have landed since the read: read it again */
    if (rc == VIC_ECONFLICT && attempt++ < 3) {
        vic_err_free(err);
        pl_handle_free(h);
        goto again;
    }
    if (rc == 0 && !(h->cfg.n_sessions && h->cfg.sessions[0].attach))
        rc = wait_started(p, &h->vm, h->cfg.id, err);
    const char *auto_remove = json_string_value(json_object_get(h->orig, KEY_AUTO_REMOVE));
    /* A short run may end, and the reaper remove it, before the wait saw it start: a VM gone
     * after a run of its command is a start that happened (a failed start stays an error). */
    if (rc == VIC_ENOTFOUND && auto_remove && strcmp(auto_remove, "true") == 0 &&
        gone_ran(p, h->cfg.id)) {
        vic_err_free(err);
        pl_handle_free(h);
        return 0;
    }
    /* ...and one whose start failed may be gone before the wait read why: the reaper kept it */
    char why[512];
    if (rc == VIC_ENOTFOUND && auto_remove && strcmp(auto_remove, "true") == 0 &&
        gone_error(p, h->cfg.id, why, sizeof(why))) {
        vic_err_free(err);
        rc = vic_err_set(err, VIC_EINVAL, "failed to start container: %s", why);
    }
    /* Docker removes an AutoRemove container whose start failed */
    if (rc < 0 && h->cfg.id && auto_remove && strcmp(auto_remove, "true") == 0)
        reap_failed_start(p, h->cfg.id);
    pl_handle_free(h);
    return rc;
}

/* ---- the run-block watch ---- */

/* Whether the listed VM is a container in its run block: powered on, its session started
 * with attach, and not reported started ("true"); a reason there instead means it was
 * given up already and only the power off is left. */
static bool run_blocked(const json_t *vm, const char *id)
{
    const char *power = json_string_value(json_object_get(vm, "power"));
    if (power == NULL || strcmp(power, "poweredOn") != 0)
        return false;
    char key[200];
    snprintf(key, sizeof(key), VIC_GI_PREFIX "/sessions|%s/attach", id);
    const char *attach = vm_key(vm, key);
    if (attach == NULL || strcmp(attach, "true") != 0)
        return false;
    snprintf(key, sizeof(key), VIC_GI_PREFIX ".sessions|%s.started", id);
    const char *started = vm_key(vm, key);
    return started == NULL || strcmp(started, "true") != 0;
}

static int64_t wall_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Gives up the run of a container nobody attached to: records why (a start that failed, as
 * the tether records one) and powers it off at once (nothing runs in it yet). Crash-safe in
 * either order of death: the record is guarded by the change version (a session that
 * started meanwhile wins), and a VM still on with the record is run-blocked to the next look,
 * which powers it off. */
static int give_up_run(pl *p, const char *id, vic_err **err)
{
    pl_handle *h = NULL;
    int rc = pl_handle_get(p, id, &h, err);
    if (rc < 0)
        return rc;
    vic_exec_session *s = NULL;
    for (size_t i = 0; i < h->cfg.n_sessions; i++)
        if (h->cfg.id && strcmp(h->cfg.session_ids[i], h->cfg.id) == 0)
            s = &h->cfg.sessions[i];
    hv_vm_info info;
    if ((rc = hv_vm_get(p->hv, &h->vm, &info, err)) < 0) {
        pl_handle_free(h);
        return rc;
    }
    bool on = info.power == HV_POWERED_ON;
    hv_vm_info_clear(&info);
    if (!on || s == NULL || !s->attach || (s->started && strcmp(s->started, "true") == 0)) {
        pl_handle_free(h); /* it ran after all, or was stopped */
        return 0;
    }
    if (s->started == NULL) {
        s->started = xstrdup(PL_RUN_ABANDONED);
        s->exit_status = PL_RUN_ABANDONED_CODE;
        s->stopped_at = wall_ns();
        rc = pl_handle_commit(p, h, err);
    }
    if (rc == 0)
        rc = hv_vm_power_off(p->hv, &h->vm, 0, err);
    pl_handle_free(h);
    return rc;
}

static bool held(pl *p, const char *id)
{
    const char *k;
    json_t *v;
    json_object_foreach(p->holders, k, v)
    {
        if (strcmp(json_string_value(v), id) == 0)
            return true;
    }
    return false;
}

int pl_watch_run_blocks(pl *p, int64_t now_ms)
{
    json_t *vms cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    if (list_vms(p, &vms, &err) < 0) {
        vic_log(VIC_LOG_WARN, "event=run_block_watch_failed msg=\"%s\"", err->msg);
        return 0;
    }
    json_t *blocked cleanup_json = json_object();
    int given_up = 0;
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        const char *id = vm_key(vm, KEY_ID);
        if (id == NULL || vm_key(vm, KEY_CREATING) || !run_blocked(vm, id))
            continue;
        json_object_set_new(blocked, id, json_true());
        pthread_mutex_lock(&p->hold_mu);
        json_t *since = json_object_get(p->unheld, id);
        bool act = false;
        if (held(p, id))
            json_object_del(p->unheld, id);
        else if (since == NULL)
            json_object_set_new(p->unheld, id, json_integer(now_ms));
        else if (now_ms - json_integer_value(since) >= (json_int_t)p->attach_grace_ms) {
            act = true;
            json_object_set_new(p->giving_up, id, json_true());
            json_object_del(p->unheld, id);
        }
        pthread_mutex_unlock(&p->hold_mu);
        if (!act)
            continue;
        vic_err *e = NULL;
        int rc = give_up_run(p, id, &e);
        if (rc < 0)
            vic_log(VIC_LOG_WARN, "event=run_block_give_up_failed container=%.12s msg=\"%s\"", id,
                    e->msg);
        else
            vic_log(VIC_LOG_WARN,
                    "event=run_block_given_up container=%.12s grace_ms=%u "
                    "reason=\"no attach held\"",
                    id, p->attach_grace_ms);
        given_up += rc == 0;
        vic_err_free(&e);
        pthread_mutex_lock(&p->hold_mu);
        json_object_del(p->giving_up, id);
        pthread_mutex_unlock(&p->hold_mu);
    }
    /* a container that left its run block (it ran, went off, or is gone) starts over */
    pthread_mutex_lock(&p->hold_mu);
    void *it = json_object_iter(p->unheld);
    while (it) {
        const char *id = json_object_iter_key(it);
        it = json_object_iter_next(p->unheld, it);
        if (json_object_get(blocked, id) == NULL)
            json_object_del(p->unheld, id);
    }
    pthread_mutex_unlock(&p->hold_mu);
    return given_up;
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Looks about four times per grace (between 100 ms and 1 s apart) until pl_free. */
static void *watch_thread(void *arg)
{
    pl *p = arg;
    long period = (long)p->attach_grace_ms / 4;
    period = period < 100 ? 100 : period > 1000 ? 1000 : period;
    pthread_mutex_lock(&p->hold_mu);
    while (!p->stopping) {
        pthread_mutex_unlock(&p->hold_mu);
        pl_watch_run_blocks(p, mono_ms());
        pthread_mutex_lock(&p->hold_mu);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += period / 1000;
        until.tv_nsec += (period % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!p->stopping && pthread_cond_timedwait(&p->hold_cv, &p->hold_mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&p->hold_mu);
    return NULL;
}

int pl_container_stop(pl *p, const char *ref, int grace_ms, vic_err **err)
{
    hv_ref vm;
    char id[65];
    bool watched = false;
    int rc = locate_watched(p, ref, &vm, id, &watched, err);
    if (rc == 0 && watched)
        rc = pl_restart_user_stop(p, id, 0, NULL, err);
    if (rc < 0)
        return rc;
    return hv_vm_power_off(p->hv, &vm, grace_ms < 0 ? p->grace_ms : (unsigned)grace_ms, err);
}

int pl_container_wait(pl *p, const char *ref, unsigned timeout_ms, int64_t *exit_code,
                      vic_err **err)
{
    hv_ref vm;
    char id[65];
    int rc = locate(p, ref, &vm, id, err);
    if (rc == VIC_ENOTFOUND && gone_status(p, ref, exit_code)) {
        vic_err_free(err); /* removed for auto_remove: it ended with that status */
        return 0;
    }
    if (rc < 0)
        return rc;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        hv_vm_info info;
        if ((rc = hv_vm_get(p->hv, &vm, &info, err)) == VIC_ENOTFOUND &&
            gone_status(p, id, exit_code)) {
            vic_err_free(err);
            return 0;
        }
        if (rc < 0)
            return rc;
        hv_power power = info.power;
        hv_vm_info_clear(&info);
        if (power == HV_POWERED_OFF)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= (long)timeout_ms)
            return vic_err_set(err, VIC_ETIMEOUT, "container %s still running", ref);
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    json_t *c cleanup_json = NULL;
    if ((rc = pl_container_inspect(p, id, &c, err)) == VIC_ENOTFOUND &&
        gone_status(p, id, exit_code)) {
        vic_err_free(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    *exit_code = json_integer_value(json_object_get(c, "exit_code"));
    return 0;
}

int pl_container_remove(pl *p, const char *ref, bool force, vic_err **err)
{
    json_t *vms cleanup_json = NULL;
    int rc = list_vms(p, &vms, err);
    if (rc < 0)
        return rc;
    const json_t *hit = match(vms, ref, err);
    if (hit == NULL)
        return err && *err ? (*err)->code : VIC_ENOTFOUND;
    hv_ref vm;
    snprintf(vm.id, sizeof(vm.id), "%s", json_string_value(json_object_get(hit, "ref")));
    const char *id = vm_key(hit, KEY_ID);
    /* how a --rm container's run ended stays known to its waiters, whoever removes it */
    json_t *ended cleanup_json = pl_autoremove_due(hit) ? describe(hit, NULL) : NULL;
    if (pl_restart_watched(json_object_get(hit, "extra_config"))) {
        json_t *c cleanup_json = force ? NULL : describe(hit, NULL);
        if (json_is_true(json_object_get(c, "restarting")))
            return vic_err_set(err, VIC_ECONFLICT,
                               "You cannot remove a restarting container %s. Stop the container "
                               "before attempting removal or force remove",
                               id);
        /* marked stopped first: no restart powers it on between its power off and its end */
        if ((force || !vm_on(hit)) && (rc = pl_restart_user_stop(p, id, 0, NULL, err)) < 0)
            return rc;
    }
    hv_vm_info info;
    if ((rc = hv_vm_get(p->hv, &vm, &info, err)) < 0)
        return rc;
    hv_power power = info.power;
    hv_vm_info_clear(&info);
    if (power == HV_POWERED_ON) {
        if (!force)
            return vic_err_set(err, VIC_ECONFLICT,
                               "You cannot remove a running container %s. "
                               "Stop the container before attempting removal or force remove",
                               id);
        if ((rc = hv_vm_power_off(p->hv, &vm, 0, err)) < 0)
            return rc;
    }
    if (ended) /* known before it is gone: a waiter that finds it gone asks at once */
        gone_record(p, id, json_integer_value(json_object_get(ended, "exit_code")),
                    json_string_value(json_object_get(ended, "error")));
    return hv_vm_destroy(p->hv, &vm, err);
}

int pl_container_rename(pl *p, const char *ref, const char *name, vic_err **err)
{
    if (!name_valid(name))
        return vic_err_set(err, VIC_EINVAL,
                           "Invalid container name (%s), only "
                           "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                           name);
    char other[65];
    vic_err *e = NULL;
    pthread_mutex_t *names __attribute__((cleanup(unlock_names))) = &p->names;
    pthread_mutex_lock(names);
    if (pl_container_find(p, name, other, &e) == 0)
        return vic_err_set(err, VIC_ECONFLICT,
                           "Conflict. The container name \"/%s\" is already "
                           "in use by container \"%s\".",
                           name, other);
    vic_err_free(&e);
    /* a health check's result may land between the read and the commit: read it again */
    for (int attempt = 0;; attempt++) {
        pl_handle *h = NULL;
        int rc = pl_handle_get(p, ref, &h, err);
        if (rc < 0)
            return rc;
        free(h->cfg.name);
        h->cfg.name = xstrdup(name);
        for (size_t i = 0; i < h->cfg.n_sessions; i++) {
            free(h->cfg.sessions[i].name);
            h->cfg.sessions[i].name = xstrdup(name);
        }
        rc = pl_handle_commit(p, h, err);
        pl_handle_free(h);
        if (rc != VIC_ECONFLICT || attempt == 3)
            return rc;
        vic_err_free(err);
    }
}

/* ---- handles ---- */

int pl_handle_get(pl *p, const char *ref, pl_handle **out, vic_err **err)
{
    *out = NULL;
    hv_ref vm;
    int rc = locate(p, ref, &vm, NULL, err);
    if (rc < 0)
        return rc;
    hv_vm_info info;
    if ((rc = hv_vm_get(p->hv, &vm, &info, err)) < 0)
        return rc;
    pl_handle *h = xzalloc(sizeof(*h));
    h->vm = vm;
    h->power = -1;
    h->on = info.power == HV_POWERED_ON;
    h->keys = json_object();
    snprintf(h->change_version, sizeof(h->change_version), "%s", info.change_version);
    h->orig = json_object();
    const char *k;
    json_t *v;
    size_t plen = strlen(VIC_GI_PREFIX);
    json_object_foreach(info.extra_config, k, v)
    {
        if (strncmp(k, VIC_GI_PREFIX, plen) == 0)
            json_object_set(h->orig, k, v);
    }
    hv_vm_info_clear(&info);
    rc = vic_gi_decode(&h->cfg, &vic_exec_config_desc, h->orig, "", NULL, err);
    if (rc < 0) {
        pl_handle_free(h);
        return vic_err_wrap(err, rc, "container %s", ref);
    }
    *out = h;
    return 0;
}

void pl_handle_free(pl_handle *h)
{
    if (h == NULL)
        return;
    vic_gi_free(&vic_exec_config_desc, &h->cfg);
    json_decref(h->orig);
    json_decref(h->keys);
    free(h);
}

vic_exec_config *pl_handle_config(pl_handle *h)
{
    return &h->cfg;
}

void pl_handle_set_power(pl_handle *h, bool on)
{
    h->power = on ? 1 : 0;
}

const json_t *pl_handle_keys(const pl_handle *h)
{
    return h->orig;
}

bool pl_handle_powered_on(const pl_handle *h)
{
    return h->on;
}

void pl_handle_set_key(pl_handle *h, const char *key, const char *value)
{
    json_object_set_new(h->keys, key, value ? json_string(value) : json_null());
}

void pl_handle_new_run(pl_handle *h, bool attach)
{
    for (size_t i = 0; i < h->cfg.n_sessions; i++) {
        vic_exec_session *s = &h->cfg.sessions[i];
        free(s->started);
        s->started = NULL;
        s->exit_status = s->started_at = s->stopped_at = 0;
        s->attach = attach;
    }
}

void pl_restart_lock(pl *p)
{
    pthread_mutex_lock(&p->restart_mu);
}

void pl_restart_unlock(pl *p)
{
    pthread_mutex_unlock(&p->restart_mu);
}

/* The port forwards recorded in KEY_PORTS ("IP:HOST:GUEST/tcp,IP:HOST:GUEST/udp,..."); ips
 * holds their addresses. Returns how many. */
static size_t forwards_of(const char *rec, hv_port_forward *fwd, char ips[][16])
{
    size_t n = 0;
    while (rec && *rec && n < PL_MAX_PORTS) {
        int hp = 0, cp = 0;
        char proto[4];
        if (sscanf(rec, "%15[0-9.]:%d:%d/%3[a-z]", ips[n], &hp, &cp, proto) == 4 &&
            (strcmp(proto, "tcp") == 0 || strcmp(proto, "udp") == 0)) {
            fwd[n] = (hv_port_forward){.host_ip = ips[n],
                                       .host_port = hp,
                                       .guest_port = cp,
                                       .proto = proto[0] == 'u' ? HV_PROTO_UDP : HV_PROTO_TCP};
            n++;
        }
        const char *comma = strchr(rec, ',');
        rec = comma ? comma + 1 : NULL;
    }
    return n;
}

/* Whether the container (its pool listing) is powered on. */
static int vm_on(const json_t *vm)
{
    const char *power = json_string_value(json_object_get(vm, "power"));
    return power && strcmp(power, "poweredOn") == 0;
}

#define NICS_APPLIED_WAIT_MS 10000

/* After a commit that changed a running container's NICs (h's change version now): waits
 * until its guest says it configured them (VIC_GI_NICS_APPLIED), so that the container uses
 * its networks as the change returns, as Docker's do. A guest that stops meanwhile, or does
 * not answer in NICS_APPLIED_WAIT_MS (busy before its session starts, say), gets the change
 * at its next start and is not waited for; one that could not configure a network says why
 * (VIC_EIO). */
static int nics_applied(pl *p, const pl_handle *h, vic_err **err)
{
    long long want = atoll(h->change_version) & 0x7fffffff;
    const char *name = h->cfg.name ? h->cfg.name : h->cfg.id;
    for (int waited = 0; waited < NICS_APPLIED_WAIT_MS; waited += 20) {
        hv_vm_info info;
        vic_err *e cleanup_err = NULL;
        if (hv_vm_get(p->hv, &h->vm, &info, &e) < 0)
            return 0; /* gone: nothing to wait for */
        int on = info.power == HV_POWERED_ON;
        const char *v = json_string_value(json_object_get(info.extra_config, VIC_GI_NICS_APPLIED));
        char *end = NULL;
        long long got = v ? strtoll(v, &end, 10) : -1;
        int done = v && end != v && got == want;
        cleanup_free char *why = done && *end == ' ' ? xstrdup(end + 1) : NULL;
        hv_vm_info_clear(&info);
        if (why)
            return vic_err_set(err, VIC_EIO, "container %s: %s", name, why);
        if (done || !on)
            return 0;
        struct timespec ms20 = {0, 20 * 1000000L};
        nanosleep(&ms20, NULL);
    }
    vic_log(VIC_LOG_WARN,
            "event=nics_not_applied container=%s msg=\"the guest did not configure its "
            "networks within %d ms\"",
            name, NICS_APPLIED_WAIT_MS);
    return 0;
}

int pl_container_connect(pl *p, const char *ref, const pl_net_attach *a, vic_err **err)
{
    int rc = check_networks(a, 1, err);
    if (rc < 0)
        return rc;
    /* held from the address's choice until the VM holds it */
    pthread_mutex_t *names __attribute__((cleanup(unlock_names))) = &p->names;
    pthread_mutex_lock(names);
    json_t *vms cleanup_json = NULL;
    if ((rc = list_vms(p, &vms, err)) < 0)
        return rc;
    const json_t *hit = match(vms, ref, err);
    if (hit == NULL)
        return (*err)->code;
    int running = vm_on(hit);
    if (running && !hv_caps_of(p->hv)->nic_hot_plug)
        return vic_err_set(err, VIC_ECONFLICT,
                           "container %s is running: this VCH's hosts change a containerVM's "
                           "NICs only while it is stopped (docker stop, then connect)",
                           vm_key(hit, KEY_NAME));
    pl_handle *h = NULL;
    if ((rc = pl_handle_get(p, vm_key(hit, KEY_ID), &h, err)) < 0)
        return rc;
    vic_exec_config *cfg = &h->cfg;
    for (size_t i = 0; i < cfg->n_networks; i++)
        if (strcmp(cfg->network_names[i], a->name) == 0) {
            pl_handle_free(h);
            return vic_err_set(err, VIC_ECONFLICT,
                               "endpoint with name %s already exists in network %s",
                               vm_key(hit, KEY_NAME), a->name);
        }
    if (cfg->n_networks >= PL_MAX_NETWORKS) {
        pl_handle_free(h);
        return vic_err_set(err, VIC_ELIMIT, "a container joins at most %d networks",
                           PL_MAX_NETWORKS);
    }
    char ip[40];
    if ((rc = allocate_ip(vms, a, ip, sizeof(ip), err)) < 0) {
        pl_handle_free(h);
        return rc;
    }
    size_t n = cfg->n_networks;
    cfg->network_names = xrealloc(cfg->network_names, (n + 1) * sizeof(char *));
    cfg->networks = xrealloc(cfg->networks, (n + 1) * sizeof(vic_exec_network));
    vic_exec_network *e = &cfg->networks[n];
    memset(e, 0, sizeof(*e));
    cfg->network_names[n] = xstrdup(a->name);
    e->name = xstrdup(a->name);
    e->id = a->id ? xstrdup(a->id) : NULL;
    e->nic = (int64_t)n;
    e->ip = xstrdup(ip);
    e->gateway = xasprintf("%s%s", a->gateway, strchr(a->subnet, '/'));
    e->nameservers = xcalloc(1, sizeof(char *));
    e->nameservers[0] = xstrdup(a->gateway);
    e->n_nameservers = 1;
    if (a->n_aliases) {
        e->aliases = xcalloc(a->n_aliases, sizeof(char *));
        for (size_t i = 0; i < a->n_aliases; i++)
            e->aliases[i] = xstrdup(a->aliases[i]);
        e->n_aliases = a->n_aliases;
    }
    e->is_default = n == 0;
    char mac[18];
    if (hv_caps_of(p->hv)->nic_mac && vic_mac_of_ip(ip, mac) == 0)
        e->mac = xstrdup(mac);
    cfg->n_networks = n + 1;
    h->set_nics = 1;
    rc = pl_handle_commit(p, h, err);
    pthread_mutex_unlock(names); /* the VM holds its address now */
    names = NULL;
    if (rc == 0 && running)
        rc = nics_applied(p, h, err);
    pl_handle_free(h);
    return rc;
}

int pl_container_disconnect(pl *p, const char *ref, const char *network, vic_err **err)
{
    pl_handle *h = NULL;
    int rc = pl_handle_get(p, ref, &h, err);
    if (rc < 0)
        return rc;
    vic_exec_config *cfg = &h->cfg;
    hv_vm_info info;
    int running = 0;
    if ((rc = hv_vm_get(p->hv, &h->vm, &info, err)) == 0) {
        running = info.power == HV_POWERED_ON;
        hv_vm_info_clear(&info);
        if (running && !hv_caps_of(p->hv)->nic_hot_plug)
            rc = vic_err_set(err, VIC_ECONFLICT,
                             "container %s is running: this VCH's hosts change a containerVM's "
                             "NICs only while it is stopped (docker stop, then disconnect)",
                             cfg->name ? cfg->name : ref);
    }
    size_t at = cfg->n_networks;
    for (size_t i = 0; rc == 0 && i < cfg->n_networks; i++)
        if (strcmp(cfg->network_names[i], network) == 0)
            at = i;
    if (rc == 0 && at == cfg->n_networks)
        rc = vic_err_set(err, VIC_ENOTFOUND, "container %s is not connected to network %s",
                         cfg->name ? cfg->name : ref, network);
    if (rc < 0) {
        pl_handle_free(h);
        return rc;
    }
    /* the one leaving is freed as the handle frees its kind; the rest move up a NIC */
    vic_exec_network gone = cfg->networks[at];
    char *gone_name = cfg->network_names[at];
    memmove(&cfg->networks[at], &cfg->networks[at + 1],
            (cfg->n_networks - at - 1) * sizeof(vic_exec_network));
    memmove(&cfg->network_names[at], &cfg->network_names[at + 1],
            (cfg->n_networks - at - 1) * sizeof(char *));
    cfg->n_networks--;
    /* NICs keep their order (the configuration lists networks by name, not by NIC): each
     * moves to its rank among those left, and the first is the default network */
    int64_t nic[PL_MAX_NETWORKS];
    for (size_t i = 0; i < cfg->n_networks && i < PL_MAX_NETWORKS; i++)
        nic[i] = cfg->networks[i].nic;
    for (size_t i = 0; i < cfg->n_networks && i < PL_MAX_NETWORKS; i++) {
        int64_t rank = 0;
        for (size_t j = 0; j < cfg->n_networks && j < PL_MAX_NETWORKS; j++)
            rank += nic[j] < nic[i] || (nic[j] == nic[i] && j < i);
        cfg->networks[i].nic = rank;
        cfg->networks[i].is_default = rank == 0;
    }
    vic_gi_free(&vic_exec_network_desc, &gone);
    free(gone_name);
    h->set_nics = 1;
    rc = pl_handle_commit(p, h, err);
    if (rc == 0 && running)
        rc = nics_applied(p, h, err);
    pl_handle_free(h);
    return rc;
}

int pl_handle_commit(pl *p, pl_handle *h, vic_err **err)
{
    json_t *now cleanup_json = json_object();
    int rc = vic_gi_encode(now, &vic_exec_config_desc, &h->cfg, "", NULL, err);
    if (rc < 0)
        return rc;
    /* the change: keys that differ, and configuration keys that went away */
    json_t *change cleanup_json = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(now, k, v)
    {
        if (!json_equal(v, json_object_get(h->orig, k)))
            json_object_set(change, k, v);
    }
    json_object_foreach(h->orig, k, v)
    {
        /* the port layer's own keys (image, ports) are not the executor configuration's */
        if (json_object_get(now, k) == NULL && strcmp(k, KEY_IMAGE) != 0 &&
            strncmp(k, VIC_GI_PREFIX "/vicc/", strlen(VIC_GI_PREFIX "/vicc/")) != 0)
            json_object_set_new(change, k, json_null());
    }
    json_object_foreach(h->keys, k, v)
    {
        if (!json_equal(v, json_object_get(h->orig, k)) &&
            !(json_is_null(v) && json_object_get(h->orig, k) == NULL))
            json_object_set(change, k, v);
    }
    hv_nic nics[PL_MAX_NETWORKS];
    char gws[PL_MAX_NETWORKS][40];
    hv_port_forward fwd[PL_MAX_PORTS];
    char fwd_ips[PL_MAX_PORTS][16];
    size_t n_fwd = h->set_nics ? forwards_of(json_string_value(json_object_get(h->orig, KEY_PORTS)),
                                             fwd, fwd_ips)
                               : 0;
    /* Without a network (docker-compose disconnects a created container from its network to
     * connect it again with its aliases) the published ports stay recorded, and the first
     * NIC of the next connect carries them again. */
    /* NIC k is the network whose nic is k (the configuration lists networks by name): the
     * tether gives ethK that network's address */
    size_t n_nets = h->cfg.n_networks < PL_MAX_NETWORKS ? h->cfg.n_networks : PL_MAX_NETWORKS;
    bool by_nic = true, seen[PL_MAX_NETWORKS] = {false};
    for (size_t i = 0; i < n_nets; i++) {
        int64_t slot = h->cfg.networks[i].nic;
        if (slot < 0 || (size_t)slot >= n_nets || seen[slot])
            by_nic = false;
        else
            seen[slot] = true;
    }
    for (size_t i = 0; h->set_nics && i < n_nets; i++) {
        size_t at = by_nic ? (size_t)h->cfg.networks[i].nic : i;
        snprintf(gws[at], sizeof(gws[at]), "%s", h->cfg.networks[i].gateway ?: "");
        nics[at] = (hv_nic){.network = p->bridge_pg,
                            .gateway = gws[at],
                            .mac = hv_caps_of(p->hv)->nic_mac ? h->cfg.networks[i].mac : NULL};
    }
    if (h->set_nics && n_fwd > 0) {
        nics[0].forwards = fwd;
        nics[0].n_forwards = n_fwd;
    }
    if (json_object_size(change) > 0 || h->set_nics) {
        hv_vm_change c = {.extra_config = change,
                          .set_nics = h->set_nics,
                          .nics = nics,
                          .n_nics = h->set_nics ? h->cfg.n_networks : 0};
        char next[64];
        if ((rc = hv_vm_reconfigure(p->hv, &h->vm, h->change_version, &c, next, sizeof(next),
                                    err)) < 0)
            return rc;
        snprintf(h->change_version, sizeof(h->change_version), "%s", next);
        json_object_update(h->orig, change);
        json_object_clear(h->keys);
        h->set_nics = 0;
    }
    if (h->power == 1) {
        rc = hv_vm_power_on(p->hv, &h->vm, err);
        if (rc == VIC_ECONFLICT) { /* already running: starting it is done */
            vic_err_free(err);
            rc = 0;
        }
    } else if (h->power == 0) {
        rc = hv_vm_power_off(p->hv, &h->vm, p->grace_ms, err);
    }
    return rc;
}

/* ---- file system (docker cp) ---- */

int pl_container_disk(pl *p, const char *ref, char **dir, pl_idmap *ids, json_t **inspect,
                      vic_err **err)
{
    *dir = NULL;
    *ids = (pl_idmap){0, 0};
    if (inspect)
        *inspect = NULL;
    json_t *c cleanup_json = NULL;
    int rc = pl_container_inspect(p, ref, &c, err);
    if (rc < 0)
        return rc;
    if (strcmp(hv_driver_name(p->hv), "local") != 0)
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "a container's files are not reachable on a %s target yet: the port "
                           "layer reaches a container's disks only on the local target",
                           hv_driver_name(p->hv));
    const char *vm_name = json_string_value(json_object_get(json_object_get(c, "vm"), "name"));
    char disk[300];
    snprintf(disk, sizeof(disk), "[%s] %s/rootfs", p->datastore, vm_name ? vm_name : "");
    cleanup_free char *path = NULL;
    if ((rc = hv_ds_local_path(p->hv, disk, &path, err)) < 0)
        return rc;
    hv_ref vm;
    char cid[65];
    if ((rc = locate(p, ref, &vm, cid, err)) < 0 || (rc = vm_id_map(p, &vm, ids, err)) < 0)
        return rc;
    *dir = steal_ptr(path);
    if (inspect)
        *inspect = steal_ptr(c);
    return 0;
}

int pl_container_fs(pl *p, const char *ref, pl_volumes *volumes, pl_fs **out, vic_err **err)
{
    *out = NULL;
    json_t *c cleanup_json = NULL;
    cleanup_free char *dir = NULL;
    pl_idmap ids;
    int rc = pl_container_disk(p, ref, &dir, &ids, &c, err);
    if (rc < 0)
        return rc;
    pl_fs *fs = NULL;
    if ((rc = pl_fs_open(&fs, dir, err)) < 0)
        return rc;
    pl_fs_set_id_shift(fs, ids.base, ids.count);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c, "mounts"), i, m)
    {
        const char *volume = vic_json_str(m, "volume"), *target = vic_json_str(m, "target");
        const char *mode = vic_json_str(m, "mode");
        cleanup_free char *vdisk = NULL, *vdir = NULL;
        if (volumes == NULL)
            rc = vic_err_set(err, VIC_ENOTFOUND, "no volume stores");
        else if ((rc = pl_volume_disk(volumes, volume, &vdisk, err)) == 0 &&
                 (rc = hv_ds_local_path(p->hv, vdisk, &vdir, err)) == 0)
            rc = pl_fs_add_mount(fs, target, vdir, mode && strcmp(mode, "ro") == 0, err);
        if (rc < 0) {
            pl_fs_free(fs);
            return vic_err_wrap(err, rc, "volume %s", volume ? volume : "?");
        }
    }
    *out = fs;
    return 0;
}

/* ---- logs ---- */

struct pl_container_log {
    pl *p;
    hv_ref vm;
    char *path;
};

int pl_container_log_open(pl *p, const char *ref, pl_container_log **out, vic_err **err)
{
    hv_ref vm;
    int rc = locate(p, ref, &vm, NULL, err);
    if (rc < 0)
        return rc;
    char ds[200];
    snprintf(ds, sizeof(ds), "[%s] %s/output.log", p->datastore, vm.id + 3);
    cleanup_free char *path = NULL;
    if ((rc = hv_ds_local_path(p->hv, ds, &path, err)) < 0)
        return rc;
    pl_container_log *l = xzalloc(sizeof(*l));
    l->p = p;
    l->vm = vm;
    l->path = path;
    path = NULL;
    *out = l;
    return 0;
}

/* Whether the container runs (its log may grow). */
static bool log_live(void *payload)
{
    pl_container_log *l = payload;
    hv_vm_info info;
    vic_err *err = NULL;
    if (hv_vm_get(l->p->hv, &l->vm, &info, &err) < 0) {
        vic_err_free(&err); /* removed: over */
        return false;
    }
    bool on = info.power == HV_POWERED_ON;
    hv_vm_info_clear(&info);
    return on;
}

int pl_container_log_read(pl_container_log *l, const pl_log_opts *o, pl_log_fn fn, void *payload,
                          vic_err **err)
{
    return pl_log_read(l->path, o, log_live, l, fn, payload, err);
}

void pl_container_log_free(pl_container_log *l)
{
    if (l == NULL)
        return;
    free(l->path);
    free(l);
}

int pl_container_logs(pl *p, const char *ref, const pl_log_opts *o, pl_log_fn fn, void *payload,
                      vic_err **err)
{
    pl_container_log *l = NULL;
    int rc = pl_container_log_open(p, ref, &l, err);
    if (rc == 0)
        rc = pl_container_log_read(l, o, fn, payload, err);
    pl_container_log_free(l);
    return rc;
}

/* ---- events ---- */

/* What the events of one VM need to be a container's: its id, name and image (kept after the
 * VM is gone, for its destroy event). */
static json_t *who(pl *p, json_t *known, const char *vm_name, int refresh, int64_t *listed_ns)
{
    json_t *w = json_object_get(known, vm_name);
    if (w || !refresh)
        return w;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *listed_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    json_t *vms cleanup_json = NULL;
    vic_err *err = NULL;
    if (list_vms(p, &vms, &err) == 0) {
        size_t i;
        json_t *vm;
        json_array_foreach(vms, i, vm)
        {
            const char *id = vm_key(vm, KEY_ID);
            if (id)
                json_object_set_new(known, json_string_value(json_object_get(vm, "name")),
                                    json_pack("{s:s, s:s, s:s}", "id", id, "name",
                                              vm_key(vm, KEY_NAME) ?: "", "image",
                                              vm_key(vm, KEY_IMAGE) ?: ""));
        }
    }
    vic_err_free(&err);
    return json_object_get(known, vm_name);
}

int pl_events_follow(pl *p, int64_t since_ns, int64_t until_ns, pl_event_fn fn, void *payload,
                     vic_err **err)
{
    json_t *known cleanup_json = json_object();
    int64_t listed_ns = 0;
    who(p, known, "", 1, &listed_ns); /* the containers there are now */
    /* a VM created in this pool before the listing, and gone since, is known by its create
     * event's pool; its name is "NAME-ID12" */
    json_t *ours cleanup_json = json_object();
    int64_t seq = since_ns > 0 ? 0 : -1;
    for (;;) {
        hv_event evs[64];
        size_t n = 0;
        int rc = hv_events_wait(p->hv, seq, 1000, evs, 64, &n, err);
        if (rc < 0)
            return rc;
        if (n == 0) { /* caught up: past until, the stream ends */
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            if (until_ns > 0 && (int64_t)now.tv_sec * 1000000000 + now.tv_nsec > until_ns)
                return 0;
            if (fn(NULL, payload) < 0)
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
            const hv_event *e = &evs[i];
            seq = e->seq;
            const char *vm = strncmp(e->vm.id, "vm:", 3) == 0 ? e->vm.id + 3 : e->vm.id;
            if (strcmp(e->type, "created") == 0 && strcmp(e->detail, p->pool) == 0)
                json_object_set_new(ours, vm, json_true());
            if (e->time_ns < since_ns)
                continue;
            if (until_ns > 0 && e->time_ns > until_ns)
                return 0;
            static const char *const map[][2] = {{"created", "create"},  {"poweredOn", "start"},
                                                 {"poweredOff", "die"},  {"destroyed", "destroy"},
                                                 {"suspended", "pause"}, {"resumed", "unpause"}};
            const char *type = NULL;
            for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
                if (strcmp(e->type, map[k][0]) == 0)
                    type = map[k][1];
            if (type == NULL)
                continue;
            /* a VM the listing cannot know yet is one made after it; an older one missing
             * from it is gone (or not this pool's): no need to list again */
            json_t *w = who(p, known, vm, strcmp(type, "destroy") != 0 && e->time_ns > listed_ns,
                            &listed_ns);
            json_t *guess = NULL;
            if (w == NULL && json_object_get(ours, vm)) {
                const char *dash = strrchr(vm, '-');
                if (dash && strlen(dash + 1) == 12)
                    w = guess = json_pack("{s:s, s:s%, s:s}", "id", dash + 1, "name", vm,
                                          (size_t)(dash - vm), "image", "");
            }
            if (w == NULL)
                continue; /* not one of this pool's containers */
            json_t *ev =
                json_pack("{s:s, s:O, s:O, s:O, s:I}", "type", type, "id", json_object_get(w, "id"),
                          "name", json_object_get(w, "name"), "image", json_object_get(w, "image"),
                          "time_ns", (json_int_t)e->time_ns);
            if (strcmp(type, "die") == 0) {
                int code = 137, st = 0;
                if (sscanf(e->detail, "guest exited with status %d", &st) == 1)
                    code = st;
                json_object_set_new(ev, "exit_code", json_integer(code));
                if (strstr(e->detail, HV_DETAIL_OUT_OF_MEMORY)) { /* Docker's "oom" first */
                    json_t *oom = json_deep_copy(ev);
                    json_object_set_new(oom, "type", json_string("oom"));
                    json_object_del(oom, "exit_code");
                    rc = fn(oom, payload);
                    json_decref(oom);
                    if (rc < 0) {
                        json_decref(ev);
                        json_decref(guess);
                        return 0;
                    }
                }
            }
            rc = fn(ev, payload);
            json_decref(ev);
            json_decref(guess);
            if (rc < 0)
                return 0;
        }
    }
}

/* ---- auto-remove ---- */

bool pl_autoremove_due(const json_t *vm)
{
    const char *id = vm_key(vm, KEY_ID);
    const char *power = json_string_value(json_object_get(vm, "power"));
    if (id == NULL || vm_key(vm, KEY_CREATING) || !vm_auto_remove(vm) || power == NULL ||
        strcmp(power, "poweredOff") != 0)
        return false;
    /* a start happened: the session reported it (or why it could not start); a container
     * never started, or whose start cleared the report and has not powered on yet, stays */
    char key[200];
    snprintf(key, sizeof(key), VIC_GI_PREFIX ".sessions|%s.started", id);
    return vm_key(vm, key) != NULL;
}

/* Records how the removed container id ended (error: why its start failed, NULL or "" when
 * its command ran), forgetting what is older than PL_GONE_KEEP_MS and the oldest beyond
 * GONE_MAX. */
static void gone_record(pl *p, const char *id, int64_t code, const char *error)
{
    int64_t now = mono_ms();
    pthread_mutex_lock(&p->reap_mu);
    json_object_set_new(p->gone, id,
                        json_pack("{s:I, s:I, s:b, s:s}", "code", (json_int_t)code, "at",
                                  (json_int_t)now, "ran", error == NULL || error[0] == '\0',
                                  "error", error ? error : ""));
    for (;;) {
        const char *oldest = NULL;
        json_int_t oldest_at = 0;
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(p->gone, tmp, k, v)
        {
            json_int_t at = json_integer_value(json_object_get(v, "at"));
            if (now - at > PL_GONE_KEEP_MS) {
                json_object_del(p->gone, k);
                continue;
            }
            if (oldest == NULL || at < oldest_at) {
                oldest = k;
                oldest_at = at;
            }
        }
        if (json_object_size(p->gone) <= GONE_MAX || oldest == NULL)
            break;
        json_object_del(p->gone, oldest);
    }
    pthread_mutex_unlock(&p->reap_mu);
}

/* Whether the container with the full id, removed for auto_remove lately, ran its command
 * (its start did not fail). */
static bool gone_ran(pl *p, const char *id)
{
    pthread_mutex_lock(&p->reap_mu);
    json_t *g = json_object_get(p->gone, id);
    bool ran = g && json_is_true(json_object_get(g, "ran"));
    pthread_mutex_unlock(&p->reap_mu);
    return ran;
}

/* Why the start of the container with the full id failed, when it was removed for
 * auto_remove lately after such a start: into out, true. */
static bool gone_error(pl *p, const char *id, char *out, size_t cap)
{
    pthread_mutex_lock(&p->reap_mu);
    const char *e = vic_json_str(json_object_get(p->gone, id), "error");
    bool known = e && *e;
    if (known)
        snprintf(out, cap, "%s", e);
    pthread_mutex_unlock(&p->reap_mu);
    return known;
}

/* How the container with the full id ended, when it was removed for auto_remove lately. */
static bool gone_status(pl *p, const char *id, int64_t *code)
{
    pthread_mutex_lock(&p->reap_mu);
    json_t *g = json_object_get(p->gone, id);
    bool known = g && mono_ms() - json_integer_value(json_object_get(g, "at")) <= PL_GONE_KEEP_MS;
    if (known)
        *code = json_integer_value(json_object_get(g, "code"));
    pthread_mutex_unlock(&p->reap_mu);
    return known;
}

/* Removes the listed (powered-off) VM of an auto-remove container: its exit status is kept
 * for waiters, and fn learns of it once it is gone. Returns 1 when removed; 0 when it was
 * powered on again meanwhile (it stays) or removed by someone else (docker rm: not fn's). */
static int reap(pl *p, const json_t *vm, pl_removed_fn fn, void *payload, vic_err **err)
{
    json_t *c cleanup_json = describe(vm, NULL);
    const char *id = vm_key(vm, KEY_ID);
    hv_ref ref;
    snprintf(ref.id, sizeof(ref.id), "%s", json_string_value(json_object_get(vm, "ref")));
    int64_t code = json_integer_value(json_object_get(c, "exit_code"));
    /* one removal at a time, of a VM read again: the reaper and a failed start may both
     * come for the same container */
    pthread_mutex_lock(&p->reap_one);
    hv_vm_info info;
    int rc = hv_vm_get(p->hv, &ref, &info, err);
    if (rc == 0) {
        bool on = info.power == HV_POWERED_ON;
        hv_vm_info_clear(&info);
        rc = on ? vic_err_set(err, VIC_ECONFLICT, "powered on again") : 0;
    }
    pthread_mutex_lock(&p->reap_mu);
    bool held = id && json_object_get(p->restarting, id);
    pthread_mutex_unlock(&p->reap_mu);
    if (rc == 0 && held) /* stopped by docker restart, to run again */
        rc = vic_err_set(err, VIC_ECONFLICT, "restarting");
    /* known before it is gone: a waiter that finds it gone asks at once */
    if (rc == 0 || rc == VIC_ENOTFOUND)
        gone_record(p, id, code, json_string_value(json_object_get(c, "error")));
    if (rc == 0)
        rc = hv_vm_destroy(p->hv, &ref, err);
    if (rc < 0 && rc != VIC_ECONFLICT && rc != VIC_ENOTFOUND) {
        /* a docker rm that removed it meanwhile makes the destroy fail otherwise */
        vic_err *e = NULL;
        int grc = hv_vm_get(p->hv, &ref, &info, &e);
        if (grc == 0) {
            hv_vm_info_clear(&info);
        } else if (grc == VIC_ENOTFOUND) {
            vic_err_free(err);
            rc = VIC_ENOTFOUND;
        }
        vic_err_free(&e);
    }
    pthread_mutex_unlock(&p->reap_one);
    if (rc == VIC_ENOTFOUND || rc == VIC_ECONFLICT) {
        vic_err_free(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    vic_log(VIC_LOG_INFO, "event=auto_removed container=%.12s name=%s exit_code=%lld", id,
            vm_key(vm, KEY_NAME) ?: "", (long long)code);
    if (fn && c)
        fn(c, payload);
    return 1;
}

/* One sweep: removes the due containers of the listing, then follows the restart policies of
 * the others (pl_restart_sweep; *next_ms gets its answer, at_start is its first look, and is
 * cleared once a listing was had). pending ({VM name: deadline ms}, may be NULL) names VMs
 * whose power-off event came: one still listed as on (its monitor reports the event a moment
 * before the VM reads as off) stays pending until its deadline, the others leave it. */
static int sweep_due(pl *p, pl_removed_fn fn, void *payload, json_t *pending, int64_t now_ms,
                     bool *at_start, int64_t *next_ms)
{
    json_t *vms cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    *next_ms = -1;
    if (list_vms(p, &vms, &err) < 0) {
        vic_log(VIC_LOG_WARN, "event=auto_remove_sweep_failed msg=\"%s\"", err->msg);
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(pending, tmp, k, v)
        {
            if (json_integer_value(v) <= now_ms) /* the others: the next look tries again */
                json_object_del(pending, k);
        }
        return 0;
    }
    json_t *still cleanup_json = json_object();
    int removed = 0;
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm)
    {
        const char *name = json_string_value(json_object_get(vm, "name"));
        json_t *deadline = name && pending ? json_object_get(pending, name) : NULL;
        if (deadline && vm_on(vm) && json_integer_value(deadline) > now_ms &&
            (vm_auto_remove(vm) || pl_restart_watched(json_object_get(vm, "extra_config"))))
            json_object_set(still, name, deadline);
        if (!pl_autoremove_due(vm))
            continue;
        vic_err *e = NULL;
        int rc = reap(p, vm, fn, payload, &e);
        if (rc > 0)
            removed++;
        else if (rc < 0)
            vic_log(VIC_LOG_WARN, "event=auto_remove_failed container=%.12s msg=\"%s\"",
                    vm_key(vm, KEY_ID), e ? e->msg : "");
        vic_err_free(&e);
    }
    *next_ms = pl_restart_sweep(p, vms, pending, *at_start, wall_ns());
    *at_start = false;
    if (pending) {
        json_object_clear(pending);
        json_object_update(pending, still);
    }
    return removed;
}

int pl_container_restart(pl *p, const char *ref, int grace_ms, vic_err **err)
{
    char id[65];
    int rc = pl_container_find(p, ref, id, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&p->reap_mu);
    bool mine = json_object_get(p->restarting, id) == NULL;
    if (mine)
        json_object_set_new(p->restarting, id, json_true());
    pthread_mutex_unlock(&p->reap_mu);
    if (!mine)
        return vic_err_set(err, VIC_ECONFLICT, "Container %s is restarting already", id);
    rc = pl_container_stop(p, id, grace_ms, err);
    if (rc == 0)
        rc = pl_container_start_attach(p, id, false, err);
    pthread_mutex_lock(&p->reap_mu);
    json_object_del(p->restarting, id);
    pl_removed_fn fn = p->removed_fn;
    void *payload = p->removed_payload;
    pthread_mutex_unlock(&p->reap_mu);
    /* what ended while it was held (a failed start, a run already over) is removed now */
    json_t *vms cleanup_json = NULL;
    vic_err *e cleanup_err = NULL;
    const json_t *vm = list_vms(p, &vms, &e) == 0 ? match(vms, id, &e) : NULL;
    if (vm && vm_auto_remove(vm) && !vm_on(vm) && (rc < 0 || pl_autoremove_due(vm)) &&
        reap(p, vm, fn, payload, &e) < 0)
        vic_log(VIC_LOG_WARN, "event=auto_remove_failed container=%.12s msg=\"%s\"", id,
                e ? e->msg : "");
    return rc;
}

int pl_autoremove_sweep(pl *p, pl_removed_fn fn, void *payload)
{
    bool at_start = false;
    int64_t next_ms;
    return sweep_due(p, fn, payload, NULL, mono_ms(), &at_start, &next_ms);
}

/* After a failed start of an auto-remove container: removed once it is off (a start that
 * another caller's start overtook leaves it on, and running). */
static void reap_failed_start(pl *p, const char *id)
{
    json_t *vms cleanup_json = NULL;
    vic_err *err cleanup_err = NULL;
    if (list_vms(p, &vms, &err) < 0)
        return;
    const json_t *vm = match(vms, id, &err);
    if (vm == NULL || vm_on(vm) || !vm_auto_remove(vm))
        return;
    pthread_mutex_lock(&p->reap_mu);
    pl_removed_fn fn = p->removed_fn;
    void *payload = p->removed_payload;
    pthread_mutex_unlock(&p->reap_mu);
    if (reap(p, vm, fn, payload, &err) < 0)
        vic_log(VIC_LOG_WARN, "event=auto_remove_failed container=%.12s msg=\"%s\"", id, err->msg);
}

/* How long a powered-off VM may still read as on */
#define REAP_SETTLE_MS 5000

static bool reap_stopping(pl *p, unsigned wait_ms)
{
    pthread_mutex_lock(&p->reap_mu);
    if (wait_ms && !p->reap_stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!p->reap_stopping && pthread_cond_timedwait(&p->reap_cv, &p->reap_mu, &until) == 0)
            ;
    }
    bool stop = p->reap_stopping;
    pthread_mutex_unlock(&p->reap_mu);
    return stop;
}

/* Sweeps at once (what ended while no port layer ran), then after each power-off event of the
 * hypervisor's (sweeping again every 20 ms while such a VM still reads as on), when a
 * restart is due, and every PL_AUTOREMOVE_SWEEP_MS whatever happens. */
static void *reap_thread(void *arg)
{
    pl *p = arg;
    pl_removed_fn fn = p->removed_fn; /* set before the thread, fixed until it stops */
    void *payload = p->removed_payload;
    json_t *pending = json_object();
    int64_t seq = -1, last = mono_ms(), next_ms = -1;
    bool at_start = true;
    int n_removed = sweep_due(p, fn, payload, NULL, last, &at_start, &next_ms);
    int64_t due = next_ms >= 0 ? mono_ms() + next_ms : -1; /* the next restart, monotonic ms */
    vic_log(VIC_LOG_INFO, "event=auto_remove_reaper_started removed_at_start=%d", n_removed);
    bool warned = false;
    while (!reap_stopping(p, 0)) {
        hv_event evs[64];
        size_t n = 0;
        vic_err *err = NULL;
        int64_t timeout = json_object_size(pending) ? 20 : 1000;
        if (due >= 0) {
            int64_t left = due - mono_ms();
            timeout = left < 0 ? 0 : left < timeout ? left : timeout;
        }
        if (hv_events_wait(p->hv, seq, (unsigned)timeout, evs, 64, &n, &err) < 0) {
            if (!warned)
                vic_log(VIC_LOG_WARN,
                        "event=auto_remove_events_failed msg=\"%s\" fallback=\"a sweep every "
                        "second\"",
                        err->msg);
            warned = true;
            vic_err_free(&err);
            seq = -1;
            if (reap_stopping(p, 1000))
                break;
            sweep_due(p, fn, payload, pending, mono_ms(), &at_start, &next_ms);
            last = mono_ms();
            due = next_ms >= 0 ? last + next_ms : -1;
            continue;
        }
        int64_t now = mono_ms();
        for (size_t i = 0; i < n; i++) {
            seq = evs[i].seq;
            const char *vm = evs[i].vm.id;
            if (strncmp(vm, "vm:", 3) == 0)
                vm += 3;
            if (strcmp(evs[i].type, "poweredOff") == 0)
                json_object_set_new(pending, vm, json_integer(now + REAP_SETTLE_MS));
        }
        if (json_object_size(pending) || now - last >= PL_AUTOREMOVE_SWEEP_MS ||
            (due >= 0 && now >= due)) {
            sweep_due(p, fn, payload, pending, now, &at_start, &next_ms);
            last = mono_ms();
            due = next_ms >= 0 ? last + next_ms : -1;
        }
    }
    json_decref(pending);
    return NULL;
}

int pl_autoremove_start(pl *p, pl_removed_fn fn, void *payload, vic_err **err)
{
    pthread_mutex_lock(&p->reap_mu);
    if (p->reaping) {
        pthread_mutex_unlock(&p->reap_mu);
        return vic_err_set(err, VIC_ECONFLICT, "the auto-remove reaper runs already");
    }
    p->removed_fn = fn;
    p->removed_payload = payload;
    p->reap_stopping = false;
    p->reaping = pthread_create(&p->reaper, NULL, reap_thread, p) == 0;
    bool ok = p->reaping;
    if (!ok)
        p->removed_fn = NULL;
    pthread_mutex_unlock(&p->reap_mu);
    return ok ? 0 : vic_err_set(err, VIC_EINTERNAL, "cannot start the auto-remove reaper");
}

void pl_autoremove_stop(pl *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->reap_mu);
    bool running = p->reaping;
    p->reap_stopping = true;
    pthread_cond_broadcast(&p->reap_cv);
    pthread_mutex_unlock(&p->reap_mu);
    if (running)
        pthread_join(p->reaper, NULL);
    pthread_mutex_lock(&p->reap_mu);
    p->reaping = false;
    p->removed_fn = NULL;
    p->removed_payload = NULL;
    pthread_mutex_unlock(&p->reap_mu);
}
