/* libFuzzer harness: the volume and port requests of a Docker create body (HostConfig.Binds,
 * HostConfig.Mounts, Config.Volumes, HostConfig.PortBindings, ExposedPorts with -P), as the
 * Docker endpoint turns them into the port layer's mounts and ports (personality/volumes.c,
 * personality/ports.c); and the whole body as the port layer's create spec
 * (personality/containers.c), with Docker's checks of its HostConfig and Config and what a VCH
 * refuses (personality/hostconfig.c), and the record of an accepted body rendered by inspect
 * (personality/inspect.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "personality/containers.h"
#include "personality/hostconfig.h"
#include "personality/inspect.h"
#include "personality/ports.h"
#include "personality/volumes.h"

static void check_mounts(const json_t *mounts)
{
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m)
    {
        const char *target = json_string_value(json_object_get(m, "target"));
        if (target == NULL || target[0] != '/')
            abort(); /* every accepted mount has an absolute target */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = NULL;
    if (vic_json_parse(&body, (const char *)data, size, 64 * 1024, NULL) < 0)
        return 0;
    json_t *out = NULL;
    vic_err *err = NULL;
    if (engine_create_mounts(body, &out, &err) == 0)
        check_mounts(out);
    else if (err == NULL || err->msg[0] == '\0')
        abort(); /* a refusal always says why */
    json_decref(out);
    vic_err_free(&err);
    out = NULL;
    if (engine_create_ports(body, &out, &err) == 0) {
        size_t i;
        json_t *p;
        json_array_foreach(out, i, p)
        {
            json_int_t cp = json_integer_value(json_object_get(p, "container_port"));
            json_int_t hp = json_integer_value(json_object_get(p, "host_port"));
            if (cp < 1 || cp > 65535 || hp < 0 || hp > 65535)
                abort();
        }
        json_t *pl = json_pack("{s:O}", "ports", out);
        json_decref(engine_port_map(pl));
        json_decref(engine_port_list(pl));
        json_decref(pl);
    } else if (err == NULL || err->msg[0] == '\0') {
        abort();
    }
    json_decref(out);
    vic_err_free(&err);
    out = NULL;
    if (engine_container_spec(body, "fuzz", &out, &err) == 0) {
        if (!json_is_object(out) || !json_is_string(json_object_get(out, "image")))
            abort(); /* an accepted body names its image */
    } else if (err == NULL || err->msg[0] == '\0') {
        abort();
    }
    json_decref(out);
    vic_err_free(&err);
    /* Docker's checks of HostConfig and Config, and what a VCH refuses: a refusal is a 400
     * that says why */
    int checked = engine_hostconfig_check(json_object_get(body, "HostConfig"), &err);
    if (checked < 0 && (err == NULL || err->code != VIC_EINVAL || err->msg[0] == '\0'))
        abort();
    vic_err_free(&err);
    if (checked == 0) {
        checked = engine_config_check(body, &err);
        if (checked < 0 && (err == NULL || err->code != VIC_EINVAL || err->msg[0] == '\0'))
            abort();
        vic_err_free(&err);
    }
    /* a checked body's record, through the port layer's annotations, into inspect's answer */
    if (checked == 0) {
        json_t *rec = engine_record_make(body, NULL);
        json_t *pc = json_object();
        engine_record_attach(pc, rec);
        json_t *x = json_pack("{s:s, s:s, s:O}", "id", "ab", "name", "n", "annotations",
                              json_object_get(pc, "annotations"));
        json_t *in = engine_container_inspect(x);
        if (!json_is_object(in) || !json_is_object(json_object_get(in, "HostConfig")) ||
            !json_is_object(json_object_get(in, "Config")))
            abort(); /* every record inspects */
        json_decref(in);
        json_decref(x);
        json_decref(pc);
        json_decref(rec);
    }
    json_decref(body);
    return 0;
}
