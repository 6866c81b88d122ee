#include "webservice/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/mem.h"
#include "lib/version.h"

void ws_config_usage(FILE *f)
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

char *ws_default_home(void)
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

int ws_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > max || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static int option(int c, const char *arg, void *payload, FILE *out, FILE *err)
{
    ws_config *cf = payload;
    ws_options *opt = &cf->opt;
    unsigned long long v;
    switch (c) {
    case 'H':
        cf->home_arg = arg;
        break;
    case 'n':
        opt->no_tls = 1;
        break;
    case 'b':
        if (ws_parse_uint(arg, 1ULL << 30, &v) < 0) {
            fprintf(err,
                    "vic-webservice: --max-body: \"%s\" is not a size between 1 "
                    "and 1073741824 bytes\n",
                    arg);
            return 2;
        }
        opt->max_body = (size_t)v;
        break;
    case 't':
        if (ws_parse_uint(arg, 256, &v) < 0) {
            fprintf(err, "vic-webservice: --threads: \"%s\" is not between 1 and 256\n", arg);
            return 2;
        }
        opt->threads = (unsigned)v;
        break;
    case 'f':
        cf->log_file = arg;
        break;
    case 'u':
        cf->ui_dir_arg = arg;
        break;
    case 'T':
        if (opt->n_vsphere_targets == WS_MAX_VSPHERE_TARGETS || strcmp(arg, "local") == 0 ||
            *arg == '\0' || strpbrk(arg, "/?#@ ")) {
            fprintf(err,
                    "vic-webservice: --vsphere-target: \"%s\" is not a HOST[:PORT] (at most "
                    "%d of them)\n",
                    arg, WS_MAX_VSPHERE_TARGETS);
            return 2;
        }
        opt->vsphere_targets[opt->n_vsphere_targets++] = arg;
        break;
    case 'I':
        opt->appliance_iso = arg;
        break;
    case 'R':
    case 'M':
        if (ws_parse_uint(arg, c == 'R' ? 36500 : 100000000, &v) < 0) {
            fprintf(err, "vic-webservice: --%s: \"%s\" is not a number between 1 and %s\n",
                    c == 'R' ? "audit-retention-days" : "audit-max-rows", arg,
                    c == 'R' ? "36500" : "100000000");
            return 2;
        }
        if (c == 'R')
            opt->audit_days = (unsigned)v;
        else
            opt->audit_max_rows = (unsigned)v;
        break;
    case 'V':
        fprintf(out, "vic-webservice %s\n", vic_version());
        return 0;
    }
    return VIC_SRVOPT_RUN;
}

int ws_config_parse(ws_config *c, int argc, char **argv, FILE *out, FILE *err)
{
    static const struct option longopts[] = {
        VIC_SRVOPT_LISTEN,
        {"home", required_argument, NULL, 'H'},
        {"no-tls", no_argument, NULL, 'n'},
        {"max-body", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'},
        VIC_SRVOPT_LOG_LEVEL,
        {"log-file", required_argument, NULL, 'f'},
        {"version", no_argument, NULL, 'V'},
        VIC_SRVOPT_HELP,
        {"ui-dir", required_argument, NULL, 'u'},
        {"vsphere-target", required_argument, NULL, 'T'},
        {"appliance-iso", required_argument, NULL, 'I'},
        {"audit-retention-days", required_argument, NULL, 'R'},
        {"audit-max-rows", required_argument, NULL, 'M'},
        {NULL, 0, NULL, 0},
    };
    memset(c, 0, sizeof(*c));
    c->opt.max_body = 1024 * 1024;
    c->opt.session_idle = 30 * 60;
    c->opt.session_absolute = 12 * 3600;
    const vic_srvopt_spec spec = {.prog = "vic-webservice",
                                  .longopts = longopts,
                                  .usage = ws_config_usage,
                                  .listen_default = "127.0.0.1:8443",
                                  .option = option,
                                  .payload = c,
                                  .out = out,
                                  .err = err};
    int rc = vic_srvopt_parse(&c->common, &spec, argc, argv);
    if (rc != VIC_SRVOPT_RUN)
        return rc;
    c->opt.listen = c->common.listen;
    if (c->common.argind < argc) {
        if (err == NULL)
            err = stderr;
        fprintf(err, "vic-webservice: unexpected argument \"%s\"\n", argv[c->common.argind]);
        ws_config_usage(err);
        return 2;
    }
    return VIC_SRVOPT_RUN;
}

int ws_lock_home(const char *home, int *fd_out, FILE *err)
{
    if (mkdir(home, 0700) < 0 && errno != EEXIST) {
        fprintf(err, "vic-webservice: cannot create %s: %s\n", home, strerror(errno));
        return -1;
    }
    cleanup_free char *path = xasprintf("%s/webservice.lock", home);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(err, "vic-webservice: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        fprintf(err, "vic-webservice: %s is in use by another vic-webservice%s%s%s\n", home,
                *pid ? " (pid " : "", pid, *pid ? ")" : "");
        close(fd);
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        fprintf(err, "vic-webservice: warning: cannot record pid in %s\n", path);
    *fd_out = fd;
    return 0;
}

void ws_config_banner(FILE *f, const ws_banner *b)
{
    const ws_options *opt = b->opt;
    const char *scheme = opt->no_tls ? "http" : "https";
    char host[64];
    snprintf(host, sizeof(host), "%.*s", (int)strcspn(opt->listen, ":"), opt->listen);
    fprintf(f, "vic-webservice %s\n", vic_version());
    fprintf(f, "  serving   %s://%s:%u/ (target%s: local", scheme, host, b->port,
            opt->n_vsphere_targets ? "s" : "");
    for (size_t i = 0; i < opt->n_vsphere_targets; i++)
        fprintf(f, ", %s", opt->vsphere_targets[i]);
    fprintf(f, ")\n");
    fprintf(f, "  home      %s\n", opt->home);
    struct stat ui_st;
    if (stat(opt->ui_dir, &ui_st) == 0 && S_ISDIR(ui_st.st_mode))
        fprintf(f, "  web UI    %s://%s:%u/ (files in %s)\n", scheme, host, b->port, opt->ui_dir);
    else
        fprintf(f, "  web UI    not installed: no directory %s (make builds it; see --ui-dir)\n",
                opt->ui_dir);
    if (b->password) {
        fprintf(f,
                "  login     user admin, password %s\n"
                "            (shown once; set VIC_ADMIN_PASSWORD before the first start to "
                "choose it)\n",
                b->password);
    } else {
        fprintf(f, "  login     user admin (password set at first start)\n");
    }
    if (!opt->no_tls)
        fprintf(f, "  try       curl --cacert %s %s://%s:%u/container/version\n", b->ca_path,
                scheme, host, b->port);
}
