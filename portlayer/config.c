#include "portlayer/config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

void pl_config_usage(FILE *f)
{
    fprintf(f, "Usage: port-layer-server --token-file FILE [OPTIONS]\n"
               "\n"
               "Serves a VCH's containers (VMs of its resource pool) to its Docker personality.\n"
               "\n"
               "Options:\n"
               "  --listen ADDR:PORT   where to serve (default 127.0.0.1:2377)\n"
               "  --token-file FILE    the shared secret callers present as a Bearer token\n"
               "  --target TARGET      the hypervisor (default local)\n"
               "  --home DIR           the local target's state ($VIC_HOME; default ./var)\n"
               "  --bin-dir DIR        where vic-vmx and tether live (default: beside this)\n"
               "  --pool PATH          the VCH's resource pool\n"
               "                       (default /ha-datacenter/host/local/Resources)\n"
               "  --images DIR         the image store (default: the datastore's images/)\n"
               "  --volume-store LABEL=[DATASTORE] FOLDER\n"
               "                       a volume store (repeatable; \"default\" is the one\n"
               "                       volumes go to unless told otherwise)\n"
               "  --publish-address IP where published container ports listen\n"
               "                       (default: the --listen address)\n"
               "  --bridge-range CIDR  the VCH's bridge range, cut into its networks' subnets\n"
               "                       (default 172.16.0.0/12)\n"
               "  --bridge-port-group NAME\n"
               "                       the port group of containers' NICs (default bridge)\n"
               "  --network-dir DIR    where user-defined networks are recorded\n"
               "                       (default: the datastore's networks/)\n"
               "  --dns-port PORT      the name server's port on each gateway (default 53)\n"
               "  --insecure-registry HOST[:PORT]\n"
               "                       a registry that may be reached over plain HTTP or TLS\n"
               "                       without verification (repeatable; 127.0.0.1, localhost\n"
               "                       and [::1] always may)\n"
               "  --registry-ca FILE   PEM certificates trusted for registries, besides the\n"
               "                       system's\n"
               "  --log-level LEVEL    debug, info, warn or error (default info)\n"
               "  -h, --help           show this help\n");
}

static int option(int c, const char *arg, void *payload, FILE *out, FILE *err)
{
    (void)out;
    pl_config *cf = payload;
    switch (c) {
    case 'T':
        cf->target = arg;
        break;
    case 'H':
        cf->home = arg;
        break;
    case 'b':
        cf->bin_dir = arg;
        break;
    case 'p':
        cf->pool = arg;
        break;
    case 'i':
        cf->images_dir = arg;
        break;
    case 'P':
        cf->publish = arg;
        break;
    case 'R':
        cf->bridge_range = arg;
        break;
    case 'G':
        cf->bridge_pg = arg;
        break;
    case 'N':
        cf->network_dir = arg;
        break;
    case 'D': {
        char *end = NULL;
        long v = strtol(arg, &end, 10);
        if (*arg == '\0' || *end || v < 1 || v > 65535) {
            fprintf(err, "port-layer-server: --dns-port: \"%s\" is not a port\n", arg);
            return 2;
        }
        cf->dns_port = (int)v;
        break;
    }
    case 'V':
        if (cf->n_stores == PL_CONFIG_MAX_STORES) {
            fprintf(err, "port-layer-server: at most %zu volume stores\n", cf->n_stores);
            return 2;
        }
        cf->stores[cf->n_stores++] = arg;
        break;
    case 'I':
        if (cf->n_insecure == PL_CONFIG_MAX_REGISTRIES) {
            fprintf(err, "port-layer-server: at most %zu insecure registries\n", cf->n_insecure);
            return 2;
        }
        if (*arg == '\0' || strpbrk(arg, "/ \t\r\n@")) {
            fprintf(err, "port-layer-server: --insecure-registry: \"%.80s\" is not HOST[:PORT]\n",
                    arg);
            return 2;
        }
        cf->insecure[cf->n_insecure++] = arg;
        break;
    case 'C':
        cf->registry_ca = arg;
        break;
    }
    return VIC_SRVOPT_RUN;
}

int pl_config_parse(pl_config *c, int argc, char **argv, FILE *out, FILE *err)
{
    static const struct option longopts[] = {
        VIC_SRVOPT_LISTEN,
        VIC_SRVOPT_TOKEN_FILE,
        {"target", required_argument, NULL, 'T'},
        {"home", required_argument, NULL, 'H'},
        {"bin-dir", required_argument, NULL, 'b'},
        {"pool", required_argument, NULL, 'p'},
        {"images", required_argument, NULL, 'i'},
        VIC_SRVOPT_LOG_LEVEL,
        {"volume-store", required_argument, NULL, 'V'},
        {"publish-address", required_argument, NULL, 'P'},
        {"bridge-range", required_argument, NULL, 'R'},
        {"bridge-port-group", required_argument, NULL, 'G'},
        {"network-dir", required_argument, NULL, 'N'},
        {"dns-port", required_argument, NULL, 'D'},
        {"insecure-registry", required_argument, NULL, 'I'},
        {"registry-ca", required_argument, NULL, 'C'},
        VIC_SRVOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    memset(c, 0, sizeof(*c));
    c->target = "local";
    c->home = getenv("VIC_HOME") ? getenv("VIC_HOME") : "./var";
    c->pool = "/ha-datacenter/host/local/Resources";
    c->bridge_range = "172.16.0.0/12";
    c->bridge_pg = "bridge";
    c->dns_port = 53;
    const vic_srvopt_spec spec = {.prog = "port-layer-server",
                                  .longopts = longopts,
                                  .usage = pl_config_usage,
                                  .listen_default = "127.0.0.1:2377",
                                  .option = option,
                                  .payload = c,
                                  .out = out,
                                  .err = err};
    int rc = vic_srvopt_parse(&c->common, &spec, argc, argv);
    if (rc != VIC_SRVOPT_RUN)
        return rc;
    if (c->common.token_file == NULL) {
        if (err == NULL)
            err = stderr;
        fprintf(err, "port-layer-server: --token-file is required\n");
        pl_config_usage(err);
        return 2;
    }
    return VIC_SRVOPT_RUN;
}

int pl_config_publish_ip(const pl_config *c, char *buf, size_t size, vic_err **err)
{
    struct in_addr pa;
    if (c->publish && inet_pton(AF_INET, c->publish, &pa) != 1)
        return vic_err_set(err, VIC_EINVAL, "--publish-address: %s is not an IPv4 address",
                           c->publish);
    if (c->publish)
        snprintf(buf, size, "%s", c->publish);
    else
        vic_srvopt_listen_host(&c->common, buf, size);
    return 0;
}
