#include "vicadmin/config.h"

#include <string.h>

void va_config_usage(FILE *f)
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

static int option(int c, const char *arg, void *payload, FILE *out, FILE *err)
{
    (void)out;
    (void)err;
    va_config *a = payload;
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
        if (a->n_regs < VA_CONFIG_MAX_REGISTRIES)
            a->regs[a->n_regs++] = arg;
        break;
    case 'u':
        a->o.ui_dir = arg;
        break;
    }
    return VIC_SRVOPT_RUN;
}

int va_config_parse(va_config *c, int argc, char **argv, FILE *out, FILE *err)
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
    memset(c, 0, sizeof(*c));
    c->o.dir = ".";
    const vic_srvopt_spec spec = {.prog = "vicadmin",
                                  .longopts = longopts,
                                  .usage = va_config_usage,
                                  .option = option,
                                  .payload = c,
                                  .out = out,
                                  .err = err};
    vic_srvopt *so = &c->common;
    int rc = vic_srvopt_parse(so, &spec, argc, argv);
    if (rc != VIC_SRVOPT_RUN)
        return rc;
    if (so->listen == NULL || !vic_srvopt_tls_ok(so) || so->argind < argc) {
        if (err == NULL)
            err = stderr;
        fprintf(err, "vicadmin: --listen is required, --tls-cert and --tls-key go together, "
                     "and --tls-ca needs them\n");
        va_config_usage(err);
        return 2;
    }
    c->o.token_file = so->token_file;
    c->o.registries = c->regs;
    c->o.n_registries = c->n_regs;
    c->o.docker_tls = so->tls_cert != NULL;
    return VIC_SRVOPT_RUN;
}
