/*
 * tlsfront.h - TLS in front of a plaintext HTTP engine, with OpenSSL.
 *
 * The front accepts TCP connections itself and gives each a relay thread: the relay speaks
 * TLS to the client and plaintext, over a socketpair, to the engine (libmicrohttpd, which
 * then serves plain HTTP on the other end). A client's half-close, the end of its input,
 * reaches the engine's end as a half-close too, also once the connection is hijacked for a
 * raw stream (docker attach): libmicrohttpd's own TLS never relays it, so piped input into
 * a container would never end.
 */
#ifndef VIC_TLSFRONT_H
#define VIC_TLSFRONT_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "err.h"

/* TLS 1.2 ciphers (OpenSSL names): forward-secret key exchange (ECDHE) with AEAD ciphers only,
 * no static RSA, no CBC, no SHA-1 MACs. TLS 1.3 (all of whose suites are AEAD) is preferred. */
#define VIC_TLS12_CIPHERS                                                                          \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                                   \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

typedef struct vic_tls_front vic_tls_front;

/* Hands a connection's plaintext end to the engine, which owns plain_fd from then on (and
 * closes it whatever happens). client_verified: the client presented a certificate that
 * chains to the client CA. Returns <0 when the engine refused it. */
typedef int (*vic_tls_front_hand_fn)(void *payload, int plain_fd, const struct sockaddr *sa,
                                     socklen_t salen, int client_verified);

typedef struct vic_tls_front_config {
    struct sockaddr_in addr; /* port 0 picks a free one */
    const char *cert_pem;    /* the server's certificate, then any chain */
    const char *key_pem;
    const char *client_ca_pem; /* NULL: no client certificate is asked for */
    unsigned max_conns;        /* beyond it a new client is closed at once; 0 means 4096 */
    vic_tls_front_hand_fn hand;
    void *payload;
} vic_tls_front_config;

/* Listens and starts accepting. VIC_EINVAL for TLS material OpenSSL rejects, VIC_EIO for an
 * address it cannot listen on. */
int vic_tls_front_start(vic_tls_front **out, const vic_tls_front_config *cfg, vic_err **err);

uint16_t vic_tls_front_port(const vic_tls_front *f);

/* Stops accepting and closes the listening socket: new clients are refused, the relays of
 * connections already accepted go on. */
void vic_tls_front_quiesce(vic_tls_front *f);

/* Quiesces, ends every relay, waits for their threads and frees f. */
void vic_tls_front_stop(vic_tls_front *f);

#endif
