/*
 * docker-engine-server: the Docker Engine API of a VCH (see engine.h).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/service.h"
#include "lib/version.h"
#include "personality/archive.h"
#include "personality/config.h"
#include "personality/engine.h"

int main(int argc, char **argv)
{
    engine_config cf;
    int rc = engine_config_parse(&cf, argc, argv, NULL, NULL);
    if (rc != VIC_SRVOPT_RUN)
        return rc;
    const vic_srvopt *so = &cf.common;
    const char *listen = so->listen, *pl_url = cf.pl_url, *name = cf.name;
    vic_log_init("docker", (vic_log_level)so->log_level);
    vic_err *err cleanup_err = NULL;
    cleanup_secret char *token = NULL;
    vic_service_tls tls cleanup_tls = {0};
    if (vic_service_token(&token, so->token_file, 16, &err) < 0 ||
        vic_service_tls_load(&tls, so->tls_cert, so->tls_key, so->tls_ca, &err) < 0) {
        fprintf(stderr, "docker-engine-server: %s\n", err->msg);
        return 1;
    }
    const char *cert = tls.cert;
    sigset_t sigs;
    vic_service_signals(&sigs);
    engine_ctx ctx = {.vch_name = name, .version = vic_version()};
    if (engine_ctx_init(&ctx, pl_url, token, &err) < 0) {
        fprintf(stderr, "docker-engine-server: --port-layer: %s\n", err->msg);
        return 2;
    }
    vic_httpc_set_restart_wait(ctx.pl, ENGINE_PL_NAME, ENGINE_PL_RESTART_WAIT_MS);
    vic_http_config cfg = {.listen = listen,
                           .tls_cert_pem = tls.cert,
                           .tls_key_pem = tls.key,
                           .tls_client_ca_pem = tls.ca,
                           /* the end of piped input reaches attach and exec -i */
                           .tls_half_close = 1,
                           .max_archive_body = ENGINE_MAX_ARCHIVE_BODY,
                           .routes = engine_routes,
                           .n_routes = engine_n_routes,
                           .auth = engine_auth,
                           .payload = &ctx,
                           .prepare = engine_prepare};
    vic_http_server *srv = NULL;
    if (vic_http_server_start(&srv, &cfg, &err) < 0) {
        fprintf(stderr, "docker-engine-server: %s\n", err->msg);
        engine_ctx_free(&ctx);
        return 1;
    }
    printf("docker-engine-server serving %s://%.*s:%u/ (VCH %s)\n", cert ? "https" : "http",
           (int)strcspn(listen, ":"), listen, vic_http_server_port(srv), name);
    fflush(stdout);
    int code = vic_service_wait(srv, &sigs);
    engine_ctx_free(&ctx);
    vic_log_close();
    return code;
}
