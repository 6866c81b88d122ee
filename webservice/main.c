/*
 * vic-webservice: the admin web service (REST API, UI, validating proxy).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/service.h"
#include "webservice/auth.h"
#include "webservice/service.h"
#include "webservice/ui.h"
#include "webservice/vchs.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: vic-webservice [OPTIONS]\n"
               "\n"
               "Serves the VIC-C REST API and web UI for the local target and vSphere targets.\n"
               "\n"
               "Options:\n"
               "  --listen ADDR:PORT   address to serve on (default 127.0.0.1:8443)\n"
               "  --home DIR           state directory (default $VIC_HOME, else\n"
               "                       ~/.local/share/vic)\n"
               "  --no-tls             serve plain HTTP (local testing only)\n"
               "  --max-body BYTES     largest request body accepted (default 1048576)\n"
               "  --threads N          worker threads (default: one per CPU)\n"
               "  --log-level LEVEL    debug, info, warn or error (default info)\n"
               "  --log-file PATH      also append the log to PATH\n"
               "  --ui-dir DIR         the web UI's pages and assets (default: ui/ beside\n"
               "                       this binary, as make builds it)\n"
               "  --vsphere-target HOST[:PORT]  a vCenter or ESX the API may create VCHs on\n"
               "                       (repeatable): /container/target/HOST[:PORT]/vch with the\n"
               "                       vSphere user's HTTP Basic credentials, passed through,\n"
               "                       and ?thumbprint=SHA1 for a certificate no CA signed\n"
               "  --appliance-iso FILE the appliance ISO for vSphere VCHs (default:\n"
               "                       appliance.iso beside this binary)\n"
               "  --audit-retention-days N  keep token audit rows N days (default 90)\n"
               "  --audit-max-rows N   keep at most N token audit rows, the newest (default\n"
               "                       100000); repeated denials count in one row\n"
               "  --version            print the version and exit\n"
               "  -h, --help           show this help\n"
               "\n"
               "On first start it creates $VIC_HOME/vic.db, a TLS certificate in $VIC_HOME/tls\n"
               "and the account 'admin', whose password is printed once (or taken from\n"
               "VIC_ADMIN_PASSWORD). SIGTERM or SIGINT finish in-flight requests, then exit.\n");
}

static char *default_home(void)
{
    const char *env = getenv("VIC_HOME");
    if (env && *env)
        return xstrdup(env);
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg)
        return xasprintf("%s/vic", xdg);
    const char *home = getenv("HOME");
    return xasprintf("%s/.local/share/vic", home && *home ? home : ".");
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > max || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

/* Only one service may own a home directory: its database and certificates are not meant
 * to be shared between processes that each think they are alone. */
static int lock_home(const char *home, int *fd_out)
{
    cleanup_free char *path = xasprintf("%s/webservice.lock", home);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "vic-webservice: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        fprintf(stderr, "vic-webservice: %s is in use by another vic-webservice%s%s%s\n", home,
                *pid ? " (pid " : "", pid, *pid ? ")" : "");
        close(fd);
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        fprintf(stderr, "vic-webservice: warning: cannot record pid in %s\n", path);
    *fd_out = fd;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"home", required_argument, NULL, 'H'},
        {"no-tls", no_argument, NULL, 'n'},
        {"max-body", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'},
        {"log-level", required_argument, NULL, 'L'},
        {"log-file", required_argument, NULL, 'f'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"ui-dir", required_argument, NULL, 'u'},
        {"vsphere-target", required_argument, NULL, 'T'},
        {"appliance-iso", required_argument, NULL, 'I'},
        {"audit-retention-days", required_argument, NULL, 'R'},
        {"audit-max-rows", required_argument, NULL, 'M'},
        {NULL, 0, NULL, 0},
    };
    ws_options opt = {.listen = "127.0.0.1:8443",
                      .max_body = 1024 * 1024,
                      .session_idle = 30 * 60,
                      .session_absolute = 12 * 3600};
    cleanup_free char *home = NULL;
    const char *log_file = NULL;
    const char *ui_dir_arg = NULL;
    int level = VIC_LOG_INFO;
    unsigned long long v;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            opt.listen = optarg;
            break;
        case 'H':
            free(home);
            home = xstrdup(optarg);
            break;
        case 'n':
            opt.no_tls = 1;
            break;
        case 'b':
            if (parse_uint(optarg, 1ULL << 30, &v) < 0) {
                fprintf(stderr,
                        "vic-webservice: --max-body: \"%s\" is not a size between 1 "
                        "and 1073741824 bytes\n",
                        optarg);
                return 2;
            }
            opt.max_body = (size_t)v;
            break;
        case 't':
            if (parse_uint(optarg, 256, &v) < 0) {
                fprintf(stderr, "vic-webservice: --threads: \"%s\" is not between 1 and 256\n",
                        optarg);
                return 2;
            }
            opt.threads = (unsigned)v;
            break;
        case 'L':
            level = vic_log_level_parse(optarg);
            if (level < 0) {
                fprintf(stderr,
                        "vic-webservice: --log-level: \"%s\" is not one of debug, "
                        "info, warn, error\n",
                        optarg);
                return 2;
            }
            break;
        case 'f':
            log_file = optarg;
            break;
        case 'u':
            ui_dir_arg = optarg;
            break;
        case 'T':
            if (opt.n_vsphere_targets == WS_MAX_VSPHERE_TARGETS || strcmp(optarg, "local") == 0 ||
                *optarg == '\0' || strpbrk(optarg, "/?#@ ")) {
                fprintf(stderr,
                        "vic-webservice: --vsphere-target: \"%s\" is not a HOST[:PORT] (at most "
                        "%d of them)\n",
                        optarg, WS_MAX_VSPHERE_TARGETS);
                return 2;
            }
            opt.vsphere_targets[opt.n_vsphere_targets++] = optarg;
            break;
        case 'I':
            opt.appliance_iso = optarg;
            break;
        case 'R':
        case 'M':
            if (parse_uint(optarg, c == 'R' ? 36500 : 100000000, &v) < 0) {
                fprintf(stderr, "vic-webservice: --%s: \"%s\" is not a number between 1 and %s\n",
                        c == 'R' ? "audit-retention-days" : "audit-max-rows", optarg,
                        c == 'R' ? "36500" : "100000000");
                return 2;
            }
            if (c == 'R')
                opt.audit_days = (unsigned)v;
            else
                opt.audit_max_rows = (unsigned)v;
            break;
        case 'V':
            printf("vic-webservice %s\n", ws_version());
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vic-webservice: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (home == NULL)
        home = default_home();
    /* Requests are short and small: one malloc arena per worker thread would mostly hold
     * freed memory. Two arenas keep contention low on the pool threads. */
    mallopt(M_ARENA_MAX, 2);
    opt.home = home;
    cleanup_free char *bin_dir = vic_exe_dir();
    opt.bin_dir = bin_dir;
    cleanup_free char *ui_dir = ws_ui_dir_default(ui_dir_arg, bin_dir);
    opt.ui_dir = ui_dir;
    vic_log_init("webservice", (vic_log_level)level);

    vic_err *err cleanup_err = NULL;
    if (vic_http_listen_check(opt.listen, &err) < 0) {
        fprintf(stderr, "vic-webservice: --listen: %s\n", err->msg);
        return 2;
    }
    if (log_file && vic_log_open_file(log_file, &err) < 0) {
        fprintf(stderr, "vic-webservice: %s\n", err->msg);
        return 1;
    }

    sigset_t sigs;
    vic_service_signals(&sigs);

    int lock_fd = -1;
    char *password = NULL;
    ws *w = NULL;
    if (mkdir(home, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "vic-webservice: cannot create %s: %s\n", home, strerror(errno));
        return 1;
    }
    if (lock_home(home, &lock_fd) < 0)
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

    const char *scheme = opt.no_tls ? "http" : "https";
    char host[64];
    snprintf(host, sizeof(host), "%.*s", (int)strcspn(opt.listen, ":"), opt.listen);
    printf("vic-webservice %s\n", ws_version());
    printf("  serving   %s://%s:%u/ (target%s: local", scheme, host, vic_http_server_port(srv),
           opt.n_vsphere_targets ? "s" : "");
    for (size_t i = 0; i < opt.n_vsphere_targets; i++)
        printf(", %s", opt.vsphere_targets[i]);
    printf(")\n");
    printf("  home      %s\n", home);
    struct stat ui_st;
    if (stat(ui_dir, &ui_st) == 0 && S_ISDIR(ui_st.st_mode))
        printf("  web UI    %s://%s:%u/ (files in %s)\n", scheme, host, vic_http_server_port(srv),
               ui_dir);
    else
        printf("  web UI    not installed: no directory %s (make builds it; see --ui-dir)\n",
               ui_dir);
    if (password) {
        printf("  login     user admin, password %s\n"
               "            (shown once; set VIC_ADMIN_PASSWORD before the first start to "
               "choose it)\n",
               password);
    } else {
        printf("  login     user admin (password set at first start)\n");
    }
    if (!opt.no_tls)
        printf("  try       curl --cacert %s %s://%s:%u/container/version\n", w->ca_path, scheme,
               host, vic_http_server_port(srv));
    fflush(stdout);
    vic_free_secret(password);
    ws_vch_start(w);
    vic_log(VIC_LOG_INFO, "event=listening addr=%s:%u tls=%d home=%s", host,
            vic_http_server_port(srv), !opt.no_tls, home);

    int code = vic_service_wait(srv, &sigs);
    if (ws_vch_stop(w) == 0)
        ws_free(w); /* else a task thread still uses it: the process ends with it */
    vic_log_close();
    close(lock_fd);
    return code;
}
