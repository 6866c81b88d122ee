/*
 * port-layer-server: the port layer's API for a VCH (see server.h).
 */
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/service.h"
#include "portlayer/dns.h"
#include "portlayer/server.h"

static void usage(FILE *f)
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
               "  --log-level LEVEL    debug, info, warn or error (default info)\n"
               "  -h, --help           show this help\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"token-file", required_argument, NULL, 't'},
        {"target", required_argument, NULL, 'T'},
        {"home", required_argument, NULL, 'H'},
        {"bin-dir", required_argument, NULL, 'b'},
        {"pool", required_argument, NULL, 'p'},
        {"images", required_argument, NULL, 'i'},
        {"log-level", required_argument, NULL, 'L'},
        {"volume-store", required_argument, NULL, 'V'},
        {"publish-address", required_argument, NULL, 'P'},
        {"bridge-range", required_argument, NULL, 'R'},
        {"bridge-port-group", required_argument, NULL, 'G'},
        {"network-dir", required_argument, NULL, 'N'},
        {"dns-port", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *listen = "127.0.0.1:2377", *token_file = NULL, *target = "local";
    const char *home = getenv("VIC_HOME") ? getenv("VIC_HOME") : "./var", *bin_dir = NULL;
    const char *pool = "/ha-datacenter/host/local/Resources", *images_dir = NULL;
    int level = VIC_LOG_INFO, c;
    const char *stores[16], *publish = NULL, *bridge_range = "172.16.0.0/12";
    const char *bridge_pg = "bridge", *network_dir = NULL;
    int dns_port = 53;
    size_t n_stores = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case 't':
            token_file = optarg;
            break;
        case 'T':
            target = optarg;
            break;
        case 'H':
            home = optarg;
            break;
        case 'b':
            bin_dir = optarg;
            break;
        case 'p':
            pool = optarg;
            break;
        case 'i':
            images_dir = optarg;
            break;
        case 'P':
            publish = optarg;
            break;
        case 'R':
            bridge_range = optarg;
            break;
        case 'G':
            bridge_pg = optarg;
            break;
        case 'N':
            network_dir = optarg;
            break;
        case 'D': {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 1 || v > 65535) {
                fprintf(stderr, "port-layer-server: --dns-port: \"%s\" is not a port\n", optarg);
                return 2;
            }
            dns_port = (int)v;
            break;
        }
        case 'V':
            if (n_stores == sizeof(stores) / sizeof(stores[0])) {
                fprintf(stderr, "port-layer-server: at most %zu volume stores\n", n_stores);
                return 2;
            }
            stores[n_stores++] = optarg;
            break;
        case 'L':
            if ((level = vic_log_level_parse(optarg)) < 0) {
                fprintf(stderr,
                        "port-layer-server: --log-level: \"%s\" is not one of debug, "
                        "info, warn, error\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (token_file == NULL) {
        fprintf(stderr, "port-layer-server: --token-file is required\n");
        usage(stderr);
        return 2;
    }
    vic_log_init("portlayer", (vic_log_level)level);
    vic_err *err cleanup_err = NULL;
    cleanup_secret char *token = NULL;
    if (vic_service_token(&token, token_file, 16, &err) < 0) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        return 1;
    }
    sigset_t sigs;
    vic_service_signals(&sigs);

    hv_connect_opts ho = {.target = target, .home = home, .bin_dir = bin_dir};
    hv_conn *hv = NULL;
    pl *port = NULL;
    char listen_ip[64];
    snprintf(listen_ip, sizeof(listen_ip), "%.*s", (int)strcspn(listen, ":"), listen);
    struct in_addr pa;
    if (publish && inet_pton(AF_INET, publish, &pa) != 1) {
        fprintf(stderr, "port-layer-server: --publish-address: %s is not an IPv4 address\n",
                publish);
        return 2;
    }
    pl_opts po = {
        .pool = pool, .publish_ip = publish ? publish : listen_ip, .bridge_pg = bridge_pg};
    if (hv_open(&hv, &ho, &err) < 0 || (po.hv = hv, pl_open(&port, &po, &err) < 0)) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        hv_close(hv);
        return 1;
    }
    pl_server_ctx ctx = {.port = port, .token = token};
    pl_registry_options ropts = PL_REGISTRY_OPTIONS_INIT;
    ctx.registry = ropts;
    cleanup_free char *store_dir = NULL, *net_dir = NULL;
    vic_http_server *srv = NULL;
    int code = 1;
    if (images_dir == NULL && hv_ds_local_path(hv, "[datastore1] images", &store_dir, &err) < 0) {
        fprintf(stderr, "port-layer-server: image store: %s\n", err->msg);
        goto out;
    }
    if (pl_imagestore_open(&ctx.images, images_dir ? images_dir : store_dir, &err) < 0) {
        fprintf(stderr, "port-layer-server: image store: %s\n", err->msg);
        goto out;
    }
    if (pl_volumes_open(&ctx.volumes, hv, stores, n_stores, &err) < 0) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        goto out;
    }
    if (network_dir == NULL && hv_ds_local_path(hv, "[datastore1] networks", &net_dir, &err) < 0) {
        fprintf(stderr, "port-layer-server: networks: %s\n", err->msg);
        goto out;
    }
    if (pl_networks_open(&ctx.networks, bridge_range, network_dir ? network_dir : net_dir, &err) <
        0) {
        fprintf(stderr, "port-layer-server: networks: %s\n", err->msg);
        code = err->code == VIC_EINVAL ? 2 : 1;
        goto out;
    }
    ctx.rootfs_for = pl_server_rootfs_from_store;
    ctx.rootfs_payload = &ctx;
    vic_http_config cfg = {.listen = listen,
                           .max_archive_body = PL_MAX_ARCHIVE_BODY,
                           .routes = pl_routes,
                           .n_routes = pl_n_routes,
                           .auth = pl_server_auth,
                           .payload = &ctx};
    if (vic_http_server_start(&srv, &cfg, &err) < 0) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        goto out;
    }
    if (pl_dns_start(&ctx.dns, port, ctx.networks, dns_port, &err) < 0) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        vic_http_server_stop(srv, 0);
        goto out;
    }
    vic_log(VIC_LOG_INFO, "event=listening addr=%s port=%u pool=\"%s\" bridge_range=%s", listen,
            vic_http_server_port(srv), pool, bridge_range);
    printf("port-layer-server serving http://%.*s:%u/ (pool %s)\n", (int)strcspn(listen, ":"),
           listen, vic_http_server_port(srv), pool);
    fflush(stdout);
    code = vic_service_wait(srv, &sigs);
    pl_dns_stop(ctx.dns);
out:
    pl_networks_free(ctx.networks);
    pl_volumes_free(ctx.volumes);
    pl_imagestore_free(ctx.images);
    pl_free(port);
    hv_close(hv);
    vic_log_close();
    return code;
}
