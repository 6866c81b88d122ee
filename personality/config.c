#include "personality/config.h"

#include <string.h>

void engine_config_usage(FILE *f)
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

static int option(int c, const char *arg, void *payload, FILE *out, FILE *err)
{
    (void)out;
    (void)err;
    engine_config *a = payload;
    if (c == 'p')
        a->pl_url = arg;
    else
        a->name = arg;
    return VIC_SRVOPT_RUN;
}

int engine_config_parse(engine_config *c, int argc, char **argv, FILE *out, FILE *err)
{
    /* clang-format off */
    static const struct option longopts[] = {
        VIC_SRVOPT_LISTEN,
        {"port-layer", required_argument, NULL, 'p'},
        VIC_SRVOPT_TOKEN_FILE,
        {"name", required_argument, NULL, 'n'},
        VIC_SRVOPT_TLS_CERT,
        VIC_SRVOPT_TLS_KEY,
        VIC_SRVOPT_TLS_CA,
        VIC_SRVOPT_LOG_LEVEL,
        VIC_SRVOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    /* clang-format on */
    memset(c, 0, sizeof(*c));
    c->pl_url = "http://127.0.0.1:2377";
    c->name = "virtual-container-host";
    const vic_srvopt_spec spec = {.prog = "docker-engine-server",
                                  .longopts = longopts,
                                  .usage = engine_config_usage,
                                  .listen_default = "127.0.0.1:2375",
                                  .option = option,
                                  .payload = c,
                                  .out = out,
                                  .err = err};
    int rc = vic_srvopt_parse(&c->common, &spec, argc, argv);
    if (rc != VIC_SRVOPT_RUN)
        return rc;
    if (c->common.token_file == NULL || !vic_srvopt_tls_ok(&c->common)) {
        if (err == NULL)
            err = stderr;
        fprintf(err, "docker-engine-server: --token-file is required, --tls-cert and "
                     "--tls-key go together, and --tls-ca needs them\n");
        engine_config_usage(err);
        return 2;
    }
    return VIC_SRVOPT_RUN;
}
