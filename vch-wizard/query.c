/* Reading VCHs: list, inspect, certificate, creation log, env lines and the port layer. */
#include "vch-wizard/vch_int.h"

#include <curl/curl.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/version.h"

/* Whether the VCH's docker endpoint is plain HTTP (created with no_tls). */
static int plain_of(const json_t *vm)
{
    const char *tls = appliance_key(vm, K_TLS);
    return tls && strcmp(tls, "false") == 0;
}

const char *vch_state(const json_t *vm, vch_engine *e)
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
        return vch_docker_host_for(spec, appliance_key(vm, K_ADDRESS), reported);
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
    if (vch_pool_vms(e, appliance_key(vm, K_POOL), &vms, &err) == 0) {
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
    int rc = vch_appliances(e, &apps, err);
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
    int rc = vch_find(e, id, &vm, err);
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
                  strcmp(version, vic_version()) == 0 ? "up to date" : "upgrade available",
                  "containers", json_object_get(s, "containers"), "created_by",
                  json_object_get(s, "created_by"), "pool", appliance_key(vm, K_POOL) ?: "");
    cleanup_free char *dh = docker_host_of(vm); /* the portal is on the endpoint's host */
    cleanup_free char *portal = xasprintf("%s://%.*s:2378/", plain_of(vm) ? "http" : "https",
                                          (int)(strrchr(dh, ':') - dh), dh);
    json_object_set_new(runtime, "admin_portal", json_string(portal));
    json_object_set_new(runtime, "uid", json_string(appliance_key(vm, K_UID) ?: ""));
    /* each volume store's label and datastore folder, as docker volume create --opt
     * VolumeStore=LABEL names it */
    json_t *stores = json_array();
    size_t i;
    json_t *vs;
    json_array_foreach(json_object_get(json_object_get(model, "storage"), "volume_stores"), i, vs)
    {
        if (str_at(vs, "datastore") == NULL)
            continue;
        cleanup_free char *path = vch_volume_store(model, vs);
        json_array_append_new(stores, json_pack("{s:s, s:s}", "label",
                                                str_at(vs, "label") ?: "default", "path", path));
    }
    json_object_set_new(runtime, "volume_stores", stores);
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
    int rc = vch_find(e, id, &vm, err);
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
    int rc = vch_find(e, id, &vm, err);
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
    int rc = vch_find(e, id, &vm, err);
    if (rc == 0)
        *text = env_of(e, vm);
    return rc;
}

int vch_port_layer(vch_engine *e, const char *id, char **url, char **token, vic_err **err)
{
    *url = *token = NULL;
    json_t *vm cleanup_json = NULL;
    int rc = vch_find(e, id, &vm, err);
    if (rc < 0)
        return rc;
    const char *ready = appliance_key(vm, K_READY);
    if (ready == NULL || strcmp(ready, "true") != 0)
        return vic_err_set(err, VIC_EUNAVAIL, "VCH %s is %s: its port layer is not answering",
                           appliance_key(vm, K_NAME), vch_state(vm, e));
    json_t *vspec cleanup_json = spec_of(vm);
    cleanup_free char *dsn = vch_appliance_ds(vspec);
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
