/*
 * vic-webservice: the admin web service (REST API, UI, validating proxy).
 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/service.h"
#include "webservice/auth.h"
#include "webservice/home.h"
#include "webservice/config.h"
#include "webservice/service.h"
#include "webservice/ui.h"
#include "webservice/vchs.h"

int main(int argc, char **argv)
{
    ws_config cf;
    int rc = ws_config_parse(&cf, argc, argv, NULL, NULL);
    if (rc != VIC_SRVOPT_RUN)
        return rc;
    ws_options opt = cf.opt;
    cleanup_free char *home = cf.home_arg ? xstrdup(cf.home_arg) : ws_default_home();
    /* Requests are short and small: one malloc arena per worker thread would mostly hold
     * freed memory. Two arenas keep contention low on the pool threads. */
    mallopt(M_ARENA_MAX, 2);
    opt.home = home;
    cleanup_free char *bin_dir = vic_exe_dir();
    opt.bin_dir = bin_dir;
    cleanup_free char *ui_dir = ws_ui_dir_default(cf.ui_dir_arg, bin_dir);
    opt.ui_dir = ui_dir;
    vic_log_init("webservice", (vic_log_level)cf.common.log_level);

    vic_err *err cleanup_err = NULL;
    if (vic_http_listen_check(opt.listen, &err) < 0) {
        fprintf(stderr, "vic-webservice: --listen: %s\n", err->msg);
        return 2;
    }
    if (cf.log_file && vic_log_open_file(cf.log_file, &err) < 0) {
        fprintf(stderr, "vic-webservice: %s\n", err->msg);
        return 1;
    }

    sigset_t sigs;
    vic_service_signals(&sigs);

    int lock_fd = -1;
    char *password = NULL;
    ws *w = NULL;
    if (ws_lock_home(home, &lock_fd, stderr) < 0)
        return 1;
    if (ws_open(&w, &opt, &err) < 0) {
        fprintf(stderr, "vic-webservice: %s\n", err->msg);
        close(lock_fd);
        return 1;
    }

    vic_http_config cfg = {
        .listen = opt.listen,
        .tls_cert_pem = opt.no_tls ? NULL : w->tls_cert_pem,
        .tls_key_pem = opt.no_tls ? NULL : w->tls_key_pem,
        .max_body = opt.max_body,
        .threads = opt.threads,
        .routes = ws_routes,
        .n_routes = ws_n_routes,
        .auth = ws_authenticate,
        .payload = w,
    };
    vic_http_server *srv = NULL;
    /* the admin account first: the port answers only once a login can succeed */
    if (ws_ensure_admin(w, &password, &err) < 0 || vic_http_server_start(&srv, &cfg, &err) < 0) {
        fprintf(stderr, "vic-webservice: %s\n", err->msg);
        if (password) { /* nobody has seen the password it generated: take the account back */
            vic_err *de = NULL;
            if (ws_user_delete(w, "admin", &de) < 0)
                fprintf(stderr, "vic-webservice: %s\n", de->msg);
            vic_err_free(&de);
        }
        vic_free_secret(password);
        vic_http_server_stop(srv, 0);
        ws_free(w);
        close(lock_fd);
        return 1;
    }

    ws_banner banner = {.opt = &opt,
                        .port = vic_http_server_port(srv),
                        .password = password,
                        .ca_path = w->ca_path};
    ws_config_banner(stdout, &banner);
    fflush(stdout);
    vic_free_secret(password);
    ws_vch_start(w);
    char host[64];
    vic_log(VIC_LOG_INFO, "event=listening addr=%s:%u tls=%d home=%s",
            vic_srvopt_listen_host(&cf.common, host, sizeof(host)), vic_http_server_port(srv),
            !opt.no_tls, home);

    int code = vic_service_wait(srv, &sigs);
    if (ws_vch_stop(w) == 0)
        ws_free(w); /* else a task thread still uses it: the process ends with it */
    vic_log_close();
    close(lock_fd);
    return code;
}
