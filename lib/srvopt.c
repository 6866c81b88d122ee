#include "srvopt.h"

#include <string.h>

#include "log.h"

int vic_srvopt_parse(vic_srvopt *o, const vic_srvopt_spec *spec, int argc, char **argv)
{
    FILE *out = spec->out ? spec->out : stdout;
    FILE *err = spec->err ? spec->err : stderr;
    memset(o, 0, sizeof(*o));
    o->listen = spec->listen_default;
    o->log_level = VIC_LOG_INFO;
    optind = 0; /* a fresh scan from argv[1], as on getopt_long's first call */
    int c;
    while ((c = getopt_long(argc, argv, "h", spec->longopts, NULL)) != -1) {
        switch (c) {
        case VIC_SRVOPT_C_LISTEN:
            o->listen = optarg;
            break;
        case VIC_SRVOPT_C_TOKEN_FILE:
            o->token_file = optarg;
            break;
        case VIC_SRVOPT_C_TLS_CERT:
            o->tls_cert = optarg;
            break;
        case VIC_SRVOPT_C_TLS_KEY:
            o->tls_key = optarg;
            break;
        case VIC_SRVOPT_C_TLS_CA:
            o->tls_ca = optarg;
            break;
        case VIC_SRVOPT_C_LOG_LEVEL:
            if ((o->log_level = vic_log_level_parse(optarg)) < 0) {
                fprintf(err, "%s: --log-level: \"%s\" is not one of debug, info, warn, error\n",
                        spec->prog, optarg);
                return 2;
            }
            break;
        case 'h':
            spec->usage(out);
            return 0;
        case '?':
        case ':':
            spec->usage(err);
            return 2;
        default: {
            if (spec->option == NULL) {
                spec->usage(err);
                return 2;
            }
            int rc = spec->option(c, optarg, spec->payload, out, err);
            if (rc != VIC_SRVOPT_RUN)
                return rc;
        }
        }
    }
    o->argind = optind;
    return VIC_SRVOPT_RUN;
}

int vic_srvopt_tls_ok(const vic_srvopt *o)
{
    return (o->tls_cert == NULL) == (o->tls_key == NULL) && (o->tls_ca == NULL || o->tls_cert);
}

const char *vic_srvopt_listen_host(const vic_srvopt *o, char *buf, size_t size)
{
    const char *l = o->listen ? o->listen : "";
    snprintf(buf, size, "%.*s", (int)strcspn(l, ":"), l);
    return buf;
}
