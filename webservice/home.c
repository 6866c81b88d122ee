#include "webservice/home.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/certs.h"
#include "lib/cleanup.h"
#include "lib/crypto.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "webservice/auth.h"
#include "webservice/vchs.h"

const vic_migration ws_migrations[] = {
    {1, "CREATE TABLE users ("
        "  name TEXT PRIMARY KEY,"
        "  pw_hash TEXT NOT NULL,"
        "  created INTEGER NOT NULL);"
        "CREATE TABLE sessions ("
        "  id_hash TEXT PRIMARY KEY,"
        "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
        "  csrf TEXT NOT NULL,"
        "  created INTEGER NOT NULL,"
        "  last_seen INTEGER NOT NULL,"
        "  remote TEXT);"},
    {2, VP_SCHEMA_SQL SP_SCHEMA_SQL},
    {3, VP_SCHEMA_SQL_2},
};
const size_t ws_n_migrations = sizeof(ws_migrations) / sizeof(ws_migrations[0]);

static time_t real_now(void)
{
    return time(NULL);
}

static int mkdir_private(const char *path, vic_err **err)
{
    if (mkdir(path, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return vic_err_sys(err, VIC_EIO, errno, "create directory %s", path);
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return vic_err_set(err, VIC_EIO, "%s exists and is not a directory", path);
    return vic_dir_private(path, err); /* an earlier version (or mkdir -p) left it open */
}

/* The service's TLS material lives in $VIC_HOME/tls: a CA (whose certificate clients may
 * trust) and a server certificate it signed, for 127.0.0.1, localhost and the listen IP. */
static int ensure_tls(ws *w, vic_err **err)
{
    cleanup_free char *dir = xasprintf("%s/tls", w->opt.home);
    cleanup_free char *ca_cert = xasprintf("%s/ca.pem", dir);
    cleanup_free char *ca_key = xasprintf("%s/ca-key.pem", dir);
    cleanup_free char *srv_cert = xasprintf("%s/server-cert.pem", dir);
    cleanup_free char *srv_key = xasprintf("%s/server-key.pem", dir);
    int rc = mkdir_private(dir, err);
    if (rc < 0)
        return rc;

    if (access(srv_cert, F_OK) != 0 || access(srv_key, F_OK) != 0) {
        char host[64] = "127.0.0.1";
        const char *colon = strrchr(w->opt.listen, ':');
        if (colon && (size_t)(colon - w->opt.listen) < sizeof(host)) {
            memcpy(host, w->opt.listen, (size_t)(colon - w->opt.listen));
            host[colon - w->opt.listen] = '\0';
        }
        const char *sans[] = {"127.0.0.1", "localhost", host};
        vic_cert_opts ca_opts = {
            .cn = "VIC-C web service CA", .org = "VIC-C", .bits = 2048, .days = 3650};
        vic_cert_opts srv_opts = {.cn = "vic-webservice",
                                  .org = "VIC-C",
                                  .bits = 2048,
                                  .days = 825,
                                  .sans = sans,
                                  .n_sans = strcmp(host, "127.0.0.1") ? 3 : 2};
        vic_cert *ca = NULL, *srv = NULL;
        vic_log(VIC_LOG_INFO, "event=tls_generate dir=%s", dir);
        rc = vic_cert_ca_new(&ca, &ca_opts, err);
        if (rc == 0)
            rc = vic_cert_server_new(&srv, ca, &srv_opts, err);
        if (rc == 0)
            rc = vic_cert_write_pem(ca, ca_cert, ca_key, err);
        /* The key first: a certificate without its key would be taken as complete. */
        if (rc == 0)
            rc = vic_cert_write_pem(srv, srv_cert, srv_key, err);
        vic_cert_free(ca);
        vic_cert_free(srv);
        if (rc < 0)
            return vic_err_wrap(err, rc, "generate TLS certificate");
    }
    vic_cert *check = NULL;
    rc = vic_cert_load_pem(&check, srv_cert, srv_key, err);
    vic_cert_free(check);
    if (rc < 0)
        return vic_err_wrap(err, rc, "TLS material in %s", dir);
    if ((rc = vic_file_read(&w->tls_cert_pem, NULL, srv_cert, 1 << 20, err)) < 0)
        return rc;
    if ((rc = vic_file_read(&w->tls_key_pem, NULL, srv_key, 1 << 20, err)) < 0)
        return rc;
    w->ca_path = access(ca_cert, R_OK) == 0 ? steal_ptr(ca_cert) : xstrdup(srv_cert);
    return 0;
}

int ws_ensure_admin(ws *w, char **created_password, vic_err **err)
{
    *created_password = NULL;
    int users = 0;
    int rc = ws_user_count(w, &users, err);
    if (rc < 0 || users > 0)
        return rc;
    const char *env = getenv("VIC_ADMIN_PASSWORD");
    char *password = NULL;
    if (env && *env) {
        if (strlen(env) < 8)
            return vic_err_set(err, VIC_EINVAL,
                               "VIC_ADMIN_PASSWORD must be at least 8 "
                               "characters");
        password = xstrdup(env);
    } else {
        password = vic_token_new(15); /* 20 characters, 120 bits */
    }
    rc = ws_user_create(w, "admin", password, err);
    if (rc == 0 && !(env && *env))
        *created_password = steal_ptr(password);
    vic_free_secret(password);
    if (rc == 0)
        vic_log(VIC_LOG_INFO, "event=admin_created user=admin source=%s",
                env && *env ? "VIC_ADMIN_PASSWORD" : "generated");
    return rc;
}

int ws_open(ws **out, const ws_options *opt, vic_err **err)
{
    *out = NULL;
    ws *w = xzalloc(sizeof(*w));
    w->opt = *opt;
    w->now = real_now;
    w->auth = ws_auth_new();
    int rc = mkdir_private(opt->home, err);
    if (rc == 0) {
        cleanup_free char *db = xasprintf("%s/vic.db", opt->home);
        rc = vic_store_open(&w->store, db, ws_migrations, ws_n_migrations, err);
    }
    if (rc == 0 && !opt->no_tls)
        rc = ensure_tls(w, err);
    if (rc == 0) {
        cleanup_free char *key_dir = xasprintf("%s/tokens", opt->home);
        vp_options vo = {.key_dir = key_dir,
                         .issuer = WS_TOKEN_ISSUER,
                         .audience = WS_TOKEN_AUDIENCE,
                         .store = w->store,
                         .audit_days = opt->audit_days,
                         .audit_max_rows = opt->audit_max_rows};
        rc = vp_open(&w->tokens, &vo, w->now(), err);
    }
    if (rc == 0) {
        vch_engine_opts eo = {.home = opt->home, .bin_dir = opt->bin_dir, .target = "local"};
        rc = vch_engine_open(&w->vch, &eo, err);
    }
    if (rc == 0) {
        w->inventory = sp_inventory_local();
        w->provision = sp_new(w->store, w->tokens, w->inventory);
    }
    if (rc < 0) {
        ws_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void ws_free(ws *w)
{
    if (w == NULL)
        return;
    sp_free(w->provision);
    ws_vch_wait_idle();
    vch_engine_close(w->vch);
    vp_free(w->tokens);
    vic_store_free(w->store);
    ws_auth_free(w->auth);
    free(w->tls_cert_pem);
    vic_free_secret(w->tls_key_pem);
    free(w->ca_path);
    free(w);
}
