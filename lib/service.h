/*
 * service.h - the life of a VIC-C server process around its vic_http_server: signals taken
 * by one waiting thread, a drain on SIGTERM or SIGINT, and the shared-secret file of
 * service-to-service calls.
 */
#ifndef VIC_SERVICE_H
#define VIC_SERVICE_H

#include <signal.h>

#include "err.h"
#include "http.h"

#define VIC_SERVICE_DRAIN_MS 10000

/* Blocks SIGTERM and SIGINT (every thread started afterwards inherits the mask, so only
 * vic_service_wait takes them) and ignores SIGPIPE. Call before starting any thread. */
void vic_service_signals(sigset_t *out);

/* Waits for SIGTERM or SIGINT, then stops srv, letting requests in flight finish for up to
 * VIC_SERVICE_DRAIN_MS. Returns the process exit code: 0 when everything drained. */
int vic_service_wait(vic_http_server *srv, const sigset_t *sigs);

/* Reads a token file: its first line, which must hold at least min characters. The caller
 * frees *out with vic_free_secret. */
int vic_service_token(char **out, const char *path, size_t min, vic_err **err);

/* The PEM files of a TLS server (--tls-cert, --tls-key, --tls-ca; NULL paths are skipped),
 * read whole. Clear with vic_service_tls_clear, which wipes the key. */
typedef struct vic_service_tls {
    char *cert;
    char *key;
    char *ca;
} vic_service_tls;

int vic_service_tls_load(vic_service_tls *out, const char *cert_file, const char *key_file,
                         const char *ca_file, vic_err **err);
void vic_service_tls_clear(vic_service_tls *t);
#define cleanup_tls __attribute__((cleanup(vic_service_tls_clear)))

#endif
