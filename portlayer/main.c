/*
 * port-layer-server: the port layer's API for a VCH (see server.h).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/service.h"
#include "portlayer/config.h"
#include "portlayer/dns.h"
#include "portlayer/server.h"

int main(int argc, char **argv)
{
    pl_config cf;
    int code = pl_config_parse(&cf, argc, argv, NULL, NULL);
    if (code != VIC_SRVOPT_RUN)
        return code;
    const char *listen = cf.common.listen, *pool = cf.pool;
    vic_log_init("portlayer", (vic_log_level)cf.common.log_level);
    vic_err *err cleanup_err = NULL;
    cleanup_secret char *token = NULL;
    if (vic_service_token(&token, cf.common.token_file, 16, &err) < 0) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        return 1;
    }
    sigset_t sigs;
    vic_service_signals(&sigs);

    hv_connect_opts ho = {.target = cf.target, .home = cf.home, .bin_dir = cf.bin_dir};
    hv_conn *hv = NULL;
    pl *port = NULL;
    char publish_ip[64];
    if (pl_config_publish_ip(&cf, publish_ip, sizeof(publish_ip), &err) < 0) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        return 2;
    }
    pl_opts po = {.pool = pool, .publish_ip = publish_ip, .bridge_pg = cf.bridge_pg};
    if (hv_open(&hv, &ho, &err) < 0 || (po.hv = hv, pl_open(&port, &po, &err) < 0)) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        hv_close(hv);
        return 1;
    }
    pl_server_ctx ctx = {.port = port, .token = token};
    pl_registry_options ropts = PL_REGISTRY_OPTIONS_INIT;
    pl_registry_host insecure[PL_CONFIG_MAX_REGISTRIES];
    for (size_t i = 0; i < cf.n_insecure; i++)
        insecure[i] = (pl_registry_host){.host = cf.insecure[i], .insecure = 1};
    ropts.hosts = insecure;
    ropts.n_hosts = cf.n_insecure;
    ropts.ca_file = cf.registry_ca;
    ctx.registry = ropts;
    cleanup_free char *store_dir = NULL, *net_dir = NULL;
    vic_http_server *srv = NULL;
    code = 1;
    if (cf.registry_ca && access(cf.registry_ca, R_OK) < 0) {
        fprintf(stderr, "port-layer-server: --registry-ca %s: %s\n", cf.registry_ca,
                strerror(errno));
        goto out;
    }
    if (cf.images_dir == NULL &&
        hv_ds_local_path(hv, "[datastore1] images", &store_dir, &err) < 0) {
        fprintf(stderr, "port-layer-server: image store: %s\n", err->msg);
        goto out;
    }
    if (pl_imagestore_open(&ctx.images, cf.images_dir ? cf.images_dir : store_dir, &err) < 0) {
        fprintf(stderr, "port-layer-server: image store: %s\n", err->msg);
        goto out;
    }
    if (pl_volumes_open(&ctx.volumes, hv, cf.stores, cf.n_stores, &err) < 0) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        goto out;
    }
    if (cf.network_dir == NULL &&
        hv_ds_local_path(hv, "[datastore1] networks", &net_dir, &err) < 0) {
        fprintf(stderr, "port-layer-server: networks: %s\n", err->msg);
        goto out;
    }
    if (pl_networks_open(&ctx.networks, cf.bridge_range, cf.network_dir ? cf.network_dir : net_dir,
                         &err) < 0) {
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
    /* containers created with --rm go once their run ends, those that ended while no port
     * layer ran first */
    if (pl_autoremove_start(port, pl_server_autoremoved, &ctx, &err) < 0) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        goto out;
    }
    /* containers with a health check are checked while they run, those running already
     * (a restarted port layer) too */
    if (pl_healthmon_start(&ctx.health, port, &err) < 0) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        goto out;
    }
    if (vic_http_server_start(&srv, &cfg, &err) < 0) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        goto out;
    }
    if (pl_dns_start(&ctx.dns, port, ctx.networks, cf.dns_port, &err) < 0) {
        fprintf(stderr, "port-layer-server: %s\n", err->msg);
        vic_http_server_stop(srv, 0);
        goto out;
    }
    vic_log(VIC_LOG_INFO,
            "event=listening addr=%s port=%u pool=\"%s\" bridge_range=%s insecure_registries=%zu "
            "registry_ca=%s",
            listen, vic_http_server_port(srv), pool, cf.bridge_range, cf.n_insecure,
            cf.registry_ca ? cf.registry_ca : "none");
    printf("port-layer-server serving http://%.*s:%u/ (pool %s)\n", (int)strcspn(listen, ":"),
           listen, vic_http_server_port(srv), pool);
    fflush(stdout);
    code = vic_service_wait(srv, &sigs);
    pl_dns_stop(ctx.dns);
out:
    pl_healthmon_stop(ctx.health);
    pl_autoremove_stop(port); /* before the stores its removals use */
    pl_networks_free(ctx.networks);
    pl_volumes_free(ctx.volumes);
    pl_imagestore_free(ctx.images);
    pl_free(port);
    hv_close(hv);
    vic_log_close();
    return code;
}
