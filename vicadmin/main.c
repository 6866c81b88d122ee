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
#include "vicadmin/admin.h"
#include "vicadmin/config.h"

int main(int argc, char **argv)
{
    va_config cf;
    int rc = va_config_parse(&cf, argc, argv, NULL, NULL);
    if (rc != VIC_SRVOPT_RUN)
        return rc;
    va_options o = cf.o;
    const vic_srvopt *so = &cf.common;
    const char *listen = so->listen;
    cleanup_free char *ui = NULL;
    if (o.ui_dir == NULL) {
        cleanup_free char *self = vic_exe_dir();
        ui = xasprintf("%s/ui", self);
        o.ui_dir = ui;
    }
    vic_log_init("vicadmin", (vic_log_level)so->log_level);
    vic_err *err cleanup_err = NULL;
    vic_service_tls tls cleanup_tls = {0};
    if (vic_service_tls_load(&tls, so->tls_cert, so->tls_key, so->tls_ca, &err) < 0) {
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
