/*
 * vicadmin: a VCH's administration portal (see admin.h). Started by vic-init in the
 * appliance's folder.
 */
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
#include "lib/srvopt.h"
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

/* vicadmin's own options, into its va_options and the list of registries. */
typedef struct admin_args {
    va_options o;
    const char *regs[32];
    size_t n_regs;
} admin_args;

static int option(int c, const char *arg, void *payload, FILE *out, FILE *err)
{
    (void)out;
    (void)err;
    admin_args *a = payload;
    switch (c) {
    case 'P':
        a->o.passwd_file = arg;
        break;
    case 'n':
        a->o.name = arg;
        break;
    case 'H':
        a->o.home = arg;
        break;
    case 'p':
        a->o.pool = arg;
        break;
    case 'i':
        a->o.images = arg;
        break;
    case 'd':
        a->o.docker = arg;
        break;
    case 'L':
        a->o.port_layer = arg;
        break;
    case 'r':
        if (a->n_regs < 32)
            a->regs[a->n_regs++] = arg;
        break;
    case 'u':
        a->o.ui_dir = arg;
        break;
    }
    return VIC_SRVOPT_RUN;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        VIC_SRVOPT_LISTEN,
        VIC_SRVOPT_TLS_CERT,
        VIC_SRVOPT_TLS_KEY,
        VIC_SRVOPT_TLS_CA,
        {"passwd-file", required_argument, NULL, 'P'},
        {"name", required_argument, NULL, 'n'},
        {"home", required_argument, NULL, 'H'},
        {"pool", required_argument, NULL, 'p'},
        {"images", required_argument, NULL, 'i'},
        {"docker", required_argument, NULL, 'd'},
        {"port-layer", required_argument, NULL, 'L'},
        VIC_SRVOPT_TOKEN_FILE,
        {"registry", required_argument, NULL, 'r'},
        {"ui-dir", required_argument, NULL, 'u'},
        VIC_SRVOPT_LOG_LEVEL,
        VIC_SRVOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    admin_args args = {.o = {.dir = "."}};
    const vic_srvopt_spec spec = {.prog = "vicadmin",
                                  .longopts = longopts,
                                  .usage = usage,
                                  .option = option,
                                  .payload = &args};
    vic_srvopt so;
    int rc = vic_srvopt_parse(&so, &spec, argc, argv);
    if (rc != VIC_SRVOPT_RUN)
        return rc;
    if (so.listen == NULL || !vic_srvopt_tls_ok(&so) || so.argind < argc) {
        fprintf(stderr, "vicadmin: --listen is required, --tls-cert and --tls-key go together, "
                        "and --tls-ca needs them\n");
        usage(stderr);
        return 2;
    }
    va_options o = args.o;
    o.token_file = so.token_file;
    const char *listen = so.listen;
    o.registries = args.regs;
    o.n_registries = args.n_regs;
    o.docker_tls = so.tls_cert != NULL;
    cleanup_free char *ui = NULL;
    if (o.ui_dir == NULL) {
        cleanup_free char *self = vic_exe_dir();
        ui = xasprintf("%s/ui", self);
        o.ui_dir = ui;
    }
    vic_log_init("vicadmin", (vic_log_level)so.log_level);
    vic_err *err cleanup_err = NULL;
    vic_service_tls tls cleanup_tls = {0};
    if (vic_service_tls_load(&tls, so.tls_cert, so.tls_key, so.tls_ca, &err) < 0) {
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
