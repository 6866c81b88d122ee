#include "service.h"

#include <pthread.h>
#include <string.h>

#include "file.h"
#include "log.h"
#include "mem.h"

void vic_service_signals(sigset_t *out)
{
    sigemptyset(out);
    sigaddset(out, SIGTERM);
    sigaddset(out, SIGINT);
    pthread_sigmask(SIG_BLOCK, out, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int vic_service_wait(vic_http_server *srv, const sigset_t *sigs)
{
    int sig = 0;
    sigwait(sigs, &sig);
    vic_log(VIC_LOG_INFO, "event=stopping signal=%s", sig == SIGTERM ? "TERM" : "INT");
    unsigned cut = vic_http_server_stop(srv, VIC_SERVICE_DRAIN_MS);
    vic_log(VIC_LOG_INFO, "event=stopped requests_cut=%u", cut);
    return cut ? 1 : 0;
}

int vic_service_token(char **out, const char *path, size_t min, vic_err **err)
{
    *out = NULL;
    char *token = NULL;
    int rc = vic_file_read(&token, NULL, path, 4096, err);
    if (rc < 0)
        return rc;
    token[strcspn(token, "\r\n")] = '\0';
    if (strlen(token) < min) {
        vic_free_secret(token);
        return vic_err_set(err, VIC_EINVAL, "the token in %s is shorter than %zu characters", path,
                           min);
    }
    *out = token;
    return 0;
}

int vic_service_tls_load(vic_service_tls *out, const char *cert_file, const char *key_file,
                         const char *ca_file, vic_err **err)
{
    memset(out, 0, sizeof(*out));
    int rc = 0;
    if (cert_file)
        rc = vic_file_read(&out->cert, NULL, cert_file, 1 << 20, err);
    if (rc == 0 && key_file)
        rc = vic_file_read(&out->key, NULL, key_file, 1 << 20, err);
    if (rc == 0 && ca_file)
        rc = vic_file_read(&out->ca, NULL, ca_file, 1 << 20, err);
    if (rc < 0)
        vic_service_tls_clear(out);
    return rc;
}

void vic_service_tls_clear(vic_service_tls *t)
{
    free(t->cert);
    vic_free_secret(t->key);
    free(t->ca);
    memset(t, 0, sizeof(*t));
}
