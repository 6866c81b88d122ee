/*
 * docker-engine-server: the Docker Engine API of a VCH (see engine.h).
 */
#include <getopt.h>
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
#include "personality/archive.h"
#include "personality/engine.h"

#ifndef VIC_VERSION
#define VIC_VERSION "v0.1.0-dev"
#endif

static void usage(FILE *f)
{
    fprintf(f, "Usage: docker-engine-server --port-layer URL --token-file FILE [OPTIONS]\n"
               "\n"
               "Serves the Docker Engine API of a VCH to the docker CLI.\n"
               "\n"
               "Options:\n"
               "  --listen ADDR:PORT   where to serve (default 127.0.0.1:2375)\n"
               "  --port-layer URL     the VCH's port layer (http://127.0.0.1:2377)\n"
               "  --token-file FILE    the port layer's token\n"
               "  --name NAME          the VCH's name, shown by docker info\n"
               "  --tls-cert FILE --tls-key FILE   serve TLS (port 2376 by convention)\n"
               "  --tls-ca FILE        require client certificates signed by this CA\n"
               "                       (what docker --tlsverify presents)\n"
               "  --log-level LEVEL    debug, info, warn or error (default info)\n"
               "  -h, --help           show this help\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"port-layer", required_argument, NULL, 'p'},
        {"token-file", required_argument, NULL, 't'},
        {"name", required_argument, NULL, 'n'},
        {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},
        {"tls-ca", required_argument, NULL, 'a'},
        {"log-level", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *listen = "127.0.0.1:2375", *pl_url = "http://127.0.0.1:2377", *token_file = NULL;
    const char *name = "virtual-container-host", *cert_file = NULL, *key_file = NULL;
    const char *ca_file = NULL;
    int level = VIC_LOG_INFO, c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case 'p':
            pl_url = optarg;
            break;
        case 't':
            token_file = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'c':
            cert_file = optarg;
            break;
        case 'k':
            key_file = optarg;
            break;
        case 'a':
            ca_file = optarg;
            break;
        case 'L':
            if ((level = vic_log_level_parse(optarg)) < 0) {
                fprintf(stderr,
                        "docker-engine-server: --log-level: \"%s\" is not one of "
                        "debug, info, warn, error\n",
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
    if (token_file == NULL || (cert_file == NULL) != (key_file == NULL) ||
        (ca_file && cert_file == NULL)) {
        fprintf(stderr, "docker-engine-server: --token-file is required, --tls-cert and "
                        "--tls-key go together, and --tls-ca needs them\n");
        usage(stderr);
        return 2;
    }
    vic_log_init("docker", (vic_log_level)level);
    vic_err *err cleanup_err = NULL;
    cleanup_secret char *token = NULL;
    vic_service_tls tls cleanup_tls = {0};
    if (vic_service_token(&token, token_file, 16, &err) < 0 ||
        vic_service_tls_load(&tls, cert_file, key_file, ca_file, &err) < 0) {
        fprintf(stderr, "docker-engine-server: %s\n", err->msg);
        return 1;
    }
    const char *cert = tls.cert;
    sigset_t sigs;
    vic_service_signals(&sigs);
    engine_ctx ctx = {.vch_name = name, .version = VIC_VERSION};
    if (engine_ctx_init(&ctx, pl_url, token, &err) < 0) {
        fprintf(stderr, "docker-engine-server: --port-layer: %s\n", err->msg);
        return 2;
    }
    vic_httpc_set_restart_wait(ctx.pl, ENGINE_PL_NAME, ENGINE_PL_RESTART_WAIT_MS);
    vic_http_config cfg = {.listen = listen,
                           .tls_cert_pem = tls.cert,
                           .tls_key_pem = tls.key,
                           .tls_client_ca_pem = tls.ca,
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
