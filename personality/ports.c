#include "personality/ports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/mem.h"

/* "80/tcp", "80" or "53/udp" into the port (*udp says which); 0 for anything else, -1 for
 * another protocol (sctp). */
static int container_port(const char *key, int *udp)
{
    char *end = NULL;
    long p = strtol(key, &end, 10);
    *udp = 0;
    if (end == key || p < 1 || p > 65535)
        return 0;
    if (*end == '\0' || strcmp(end, "/tcp") == 0)
        return (int)p;
    if (strcmp(end, "/udp") == 0) {
        *udp = 1;
        return (int)p;
    }
    return end[0] == '/' ? -1 : 0;
}

static int add_port(json_t *out, const char *key, const json_t *binding, vic_err **err)
{
    int udp = 0;
    int cp = container_port(key, &udp);
    if (cp < 0)
        return vic_err_set(err, VIC_EUNSUPPORTED,
                           "publishing %s is not supported by this VCH: its port forwards "
                           "carry TCP and UDP",
                           key);
    if (cp == 0)
        return vic_err_set(err, VIC_EINVAL, "invalid port specification: \"%.32s\"", key);
    const char *ip = vic_json_str(binding, "HostIp");
    const char *hp = vic_json_str(binding, "HostPort");
    long host_port = 0;
    if (hp && *hp) {
        char *end = NULL;
        host_port = strtol(hp, &end, 10);
        if (*end || host_port < 1 || host_port > 65535)
            return vic_err_set(err, VIC_EINVAL,
                               "invalid host port %.32s: a VCH publishes single ports 1-65535", hp);
    }
    json_t *p = json_pack("{s:i, s:I, s:s}", "container_port", cp, "host_port",
                          (json_int_t)host_port, "protocol", udp ? "udp" : "tcp");
    if (ip && *ip && strcmp(ip, "0.0.0.0") != 0)
        json_object_set_new(p, "host_ip", json_string(ip));
    json_array_append_new(out, p);
    return 0;
}

int engine_create_ports(const json_t *body, json_t **out, vic_err **err)
{
    json_t *ports = json_array();
    const json_t *host = json_object_get(body, "HostConfig");
    const char *key;
    json_t *list;
    int rc = 0;
    json_object_foreach(json_object_get(host, "PortBindings"), key, list)
    {
        size_t i;
        json_t *b;
        if (json_array_size(list) == 0)
            rc = add_port(ports, key, NULL, err);
        json_array_foreach(list, i, b)
        {
            if (rc == 0)
                rc = add_port(ports, key, b, err);
        }
        if (rc < 0)
            break;
    }
    /* -P: every exposed port not bound already gets a free host port */
    if (rc == 0 && json_is_true(json_object_get(host, "PublishAllPorts"))) {
        json_t *unused;
        json_object_foreach(json_object_get(body, "ExposedPorts"), key, unused)
        {
            if (json_object_get(json_object_get(host, "PortBindings"), key) == NULL &&
                (rc = add_port(ports, key, NULL, err)) < 0)
                break;
        }
    }
    if (rc < 0) {
        json_decref(ports);
        return rc;
    }
    *out = ports;
    return 0;
}

/* A port layer port's protocol, "tcp" or "udp". */
static const char *proto_of(const json_t *port)
{
    const char *proto = vic_json_str(port, "protocol");
    return proto && strcmp(proto, "udp") == 0 ? "udp" : "tcp";
}

json_t *engine_port_map(const json_t *pl_container)
{
    json_t *map = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(pl_container, "ports"), i, p)
    {
        char key[32], hp[16];
        snprintf(key, sizeof(key), "%lld/%s",
                 (long long)json_integer_value(json_object_get(p, "container_port")), proto_of(p));
        snprintf(hp, sizeof(hp), "%lld",
                 (long long)json_integer_value(json_object_get(p, "host_port")));
        json_t *list = json_object_get(map, key);
        if (list == NULL) {
            list = json_array();
            json_object_set_new(map, key, list);
        }
        json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp",
                                              vic_json_str(p, "host_ip") ?: "", "HostPort", hp));
    }
    return map;
}

json_t *engine_port_list(const json_t *pl_container)
{
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(pl_container, "ports"), i, p)
    {
        json_array_append_new(
            out,
            json_pack("{s:s, s:I, s:I, s:s}", "IP", vic_json_str(p, "host_ip") ?: "", "PrivatePort",
                      json_integer_value(json_object_get(p, "container_port")), "PublicPort",
                      json_integer_value(json_object_get(p, "host_port")), "Type", proto_of(p)));
    }
    return out;
}
