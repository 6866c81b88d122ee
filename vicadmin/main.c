/*
 * vicadmin: a VCH's administration portal (see admin.h). Started by vic-init in the
 * appliance's folder.
 */
#include <getopt.h>
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
#include "vicadmin/admin.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: vicadmin --listen ADDR:PORT [OPTIONS]\n\n"
            "Serves a VCH's administration portal: components' health, logs, support bundles.\n\n"
            "Options:\n"
            "  --listen ADDR:PORT       where to serve (VIC's port is 2378)\n"
            "  --tls-cert FILE --tls-key FILE   serve HTTPS with the VCH's certificate\n"
            "  --tls-ca FILE            accept client certificates signed by this CA as a login\n"
            "  --passwd-file FILE       the admin password's hash (user admin)\n"
            "  --name NAME              the VCH's name\n"
            "  --home DIR               the local target's state ($VIC_HOME)\n"
            "  --pool PATH              the VCH's resource pool\n"
            "  --images DIR             the image store's directory\n"
            "  --docker ADDR:PORT       the VCH's docker endpoint\n"
            "  --port-layer URL --token-file FILE   the VCH's port layer and its token\n"
            "  --registry HOST[:PORT]   a registry the VCH uses (repeatable)\n"
            "  --ui-dir DIR             the page's assets (default: ui beside this binary)\n"
            "  --log-level LEVEL        debug, info, warn or error (default info)\n"
            "  -h, --help               show this help\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},
        {"tls-ca", required_argument, NULL, 'a'},
        {"passwd-file", required_argument, NULL, 'P'},
        {"name", required_argument, NULL, 'n'},
        {"home", required_argument, NULL, 'H'},
        {"pool", required_argument, NULL, 'p'},
        {"images", required_argument, NULL, 'i'},
        {"docker", required_argument, NULL, 'd'},
        {"port-layer", required_argument, NULL, 'L'},
        {"token-file", required_argument, NULL, 't'},
        {"registry", required_argument, NULL, 'r'},
        {"ui-dir", required_argument, NULL, 'u'},
        {"log-level", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    va_options o = {.dir = "."};
    const char *listen = NULL, *cert_file = NULL, *key_file = NULL, *ca_file = NULL;
    const char *regs[32];
    size_t n_regs = 0;
    int level = VIC_LOG_INFO, c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen = optarg;
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
        case 'P':
            o.passwd_file = optarg;
            break;
        case 'n':
            o.name = optarg;
            break;
        case 'H':
            o.home = optarg;
            break;
        case 'p':
            o.pool = optarg;
            break;
        case 'i':
            o.images = optarg;
            break;
        case 'd':
            o.docker = optarg;
            break;
        case 'L':
            o.port_layer = optarg;
            break;
        case 't':
            o.token_file = optarg;
            break;
        case 'r':
            if (n_regs < 32)
                regs[n_regs++] = optarg;
            break;
        case 'u':
            o.ui_dir = optarg;
            break;
        case 'v':
            if ((level = vic_log_level_parse(optarg)) < 0) {
                fprintf(stderr,
                        "vicadmin: --log-level: \"%s\" is not one of debug, info, warn, "
                        "error\n",
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
    if (listen == NULL || (cert_file == NULL) != (key_file == NULL) ||
        (ca_file && cert_file == NULL) || optind < argc) {
        fprintf(stderr, "vicadmin: --listen is required, --tls-cert and --tls-key go together, "
                        "and --tls-ca needs them\n");
        usage(stderr);
        return 2;
    }
    o.registries = regs;
    o.n_registries = n_regs;
    o.docker_tls = cert_file != NULL;
    cleanup_free char *ui = NULL;
    if (o.ui_dir == NULL) {
        cleanup_free char *self = vic_exe_dir();
        ui = xasprintf("%s/ui", self);
        o.ui_dir = ui;
    }
    vic_log_init("vicadmin", (vic_log_level)level);
    vic_err *err cleanup_err = NULL;
    vic_service_tls tls cleanup_tls = {0};
    if (vic_service_tls_load(&tls, cert_file, key_file, ca_file, &err) < 0) {
        fprintf(stderr, "vicadmin: %s\n", err->msg);
        return 1;
    }
    sigset_t sigs;
    vic_service_signals(&sigs);
    va *a = NULL;
    if (va_open(&a, &o, &err) < 0) {
        fprintf(stderr, "vicadmin: %s\n", err->msg);
        return 1;
    }
    vic_http_config cfg = {.listen = listen,
                           .tls_cert_pem = tls.cert,
                           .tls_key_pem = tls.key,
                           .tls_client_ca_pem = tls.ca,
                           .tls_client_optional = 1,
                           .threads = 2,
                           .routes = va_routes,
                           .n_routes = va_n_routes,
                           .auth = va_authenticate,
                           .payload = a};
    vic_http_server *srv = NULL;
    if (vic_http_server_start(&srv, &cfg, &err) < 0) {
        fprintf(stderr, "vicadmin: %s\n", err->msg);
        va_free(a);
        return 1;
    }
    vic_log(VIC_LOG_INFO, "event=listening addr=%s tls=%d vch=%s", listen, tls.cert != NULL,
            o.name ? o.name : "");
    int code = vic_service_wait(srv, &sigs);
    va_free(a);
    return code;
}
