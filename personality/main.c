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
#include "lib/srvopt.h"
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

/* The engine's own options: --port-layer and --name. */
typedef struct engine_args {
    const char *pl_url;
    const char *name;
} engine_args;

static int option(int c, const char *arg, void *payload, FILE *out, FILE *err)
{
    (void)out;
    (void)err;
    engine_args *a = payload;
    if (c == 'p')
        a->pl_url = arg;
    else
        a->name = arg;
    return VIC_SRVOPT_RUN;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        VIC_SRVOPT_LISTEN,     {"port-layer", required_argument, NULL, 'p'},
        VIC_SRVOPT_TOKEN_FILE, {"name", required_argument, NULL, 'n'},
        VIC_SRVOPT_TLS_CERT,   VIC_SRVOPT_TLS_KEY,
        VIC_SRVOPT_TLS_CA,     VIC_SRVOPT_LOG_LEVEL,
        VIC_SRVOPT_HELP,       {NULL, 0, NULL, 0},
    };
    engine_args own = {.pl_url = "http://127.0.0.1:2377", .name = "virtual-container-host"};
    const vic_srvopt_spec spec = {.prog = "docker-engine-server",
                                  .longopts = longopts,
                                  .usage = usage,
                                  .listen_default = "127.0.0.1:2375",
                                  .option = option,
                                  .payload = &own};
    vic_srvopt so;
    int rc = vic_srvopt_parse(&so, &spec, argc, argv);
    if (rc != VIC_SRVOPT_RUN)
        return rc;
    const char *listen = so.listen, *pl_url = own.pl_url, *name = own.name;
    if (so.token_file == NULL || !vic_srvopt_tls_ok(&so)) {
        fprintf(stderr, "docker-engine-server: --token-file is required, --tls-cert and "
                        "--tls-key go together, and --tls-ca needs them\n");
        usage(stderr);
        return 2;
    }
    vic_log_init("docker", (vic_log_level)so.log_level);
    vic_err *err cleanup_err = NULL;
    cleanup_secret char *token = NULL;
    vic_service_tls tls cleanup_tls = {0};
    if (vic_service_token(&token, so.token_file, 16, &err) < 0 ||
        vic_service_tls_load(&tls, so.tls_cert, so.tls_key, so.tls_ca, &err) < 0) {
        fprintf(stderr, "docker-engine-server: %s\n", err->msg);
        return 1;
    }
    const char *cert = tls.cert;
    sigset_t sigs;
    vic_service_signals(&sigs);
    engine_ctx ctx = {.vch_name = name, .version = VIC_VERSION};
    if (vic_httpc_new(&ctx.pl, pl_url, token, &err) < 0) {
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
        vic_httpc_free(ctx.pl);
        return 1;
    }
    printf("docker-engine-server serving %s://%.*s:%u/ (VCH %s)\n", cert ? "https" : "http",
           (int)strcspn(listen, ":"), listen, vic_http_server_port(srv), name);
    fflush(stdout);
    int code = vic_service_wait(srv, &sigs);
    vic_httpc_free(ctx.pl);
    vic_log_close();
    return code;
}
