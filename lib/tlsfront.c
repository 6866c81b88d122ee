/*
 * tlsfront.c - TLS in front of a plaintext HTTP engine, with OpenSSL (see tlsfront.h).
 *
 * One accept thread, and one relay thread per connection. A relay moves bytes both ways
 * between the client's TLS connection and its end of a socketpair, with both sockets
 * non-blocking and one poll() for everything; each direction ends on its own:
 *   client -> engine: the client's close_notify or TCP FIN becomes shutdown(SHUT_WR) on the
 *                     socketpair, after what was read before it;
 *   engine -> client: the engine's half-close or close becomes close_notify and a TCP FIN.
 * The relay ends when both directions have, when the engine closed its end entirely, or
 * when the front stops.
 */
#include "lib/tlsfront.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/mem.h"

#define RELAY_BUF        (16 * 1024) /* one TLS record */
#define HANDSHAKE_MS     10000       /* a client that does not finish its handshake is cut */
#define LINGER_MS        1000        /* after the engine closed, the client's last bytes */
#define RELAY_STACK      (512 * 1024)
#define DEFAULT_MAX_CONN 4096

struct vic_tls_front {
    SSL_CTX *ctx;
    int listen_fd;
    uint16_t port;
    int accept_stop[2]; /* readable: the accept thread ends */
    int relay_stop[2];  /* readable: every relay ends */
    pthread_t acceptor;
    int accepting;
    unsigned max_conns;
    vic_tls_front_hand_fn hand;
    void *payload;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    unsigned relays; /* running relay threads */
};

typedef struct relay {
    vic_tls_front *f;
    int tcp;
    int plain; /* the relay's end of the socketpair */
    SSL *ssl;
    struct sockaddr_storage sa;
    socklen_t salen;
    char up[RELAY_BUF]; /* client -> engine */
    size_t up_len, up_off;
    char down[RELAY_BUF]; /* engine -> client */
    size_t down_len, down_off;
} relay;

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* OpenSSL's queued errors as one line, for a log or an error message (cleared after). */
static void ssl_errors(char *out, size_t cap)
{
    out[0] = '\0';
    unsigned long e;
    size_t used = 0;
    while ((e = ERR_get_error()) != 0 && used + 2 < cap) {
        char one[256];
        ERR_error_string_n(e, one, sizeof(one));
        int n = snprintf(out + used, cap - used, "%s%s", used ? "; " : "", one);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    ERR_clear_error();
}

/* ---- TLS material ---- */

/* Loads the certificate, its chain and the key into ctx. */
static int load_identity(SSL_CTX *ctx, const char *cert_pem, const char *key_pem, vic_err **err)
{
    char why[512];
    BIO *b cleanup_bio = BIO_new_mem_buf(cert_pem, -1);
    X509 *leaf = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    int ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    X509 *more;
    while (ok && (more = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        ok = SSL_CTX_add1_chain_cert(ctx, more) == 1;
        X509_free(more);
    }
    ERR_clear_error(); /* the end of the PEM */
    if (!ok) {
        ssl_errors(why, sizeof(why));
        return vic_err_set(err, VIC_EINVAL, "TLS certificate rejected: %s",
                           why[0] ? why : "no PEM certificate");
    }
    BIO *kb cleanup_bio = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *key cleanup_pkey = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    if (key == NULL || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ssl_errors(why, sizeof(why));
        return vic_err_set(err, VIC_EINVAL, "TLS key rejected: %s",
                           why[0] ? why : "no PEM private key");
    }
    return 0;
}

/* Trusts the client CA (PEM, one or more certificates) and names it to clients, so that a
 * client holding several certificates sends the one it signed. */
static int load_client_ca(SSL_CTX *ctx, const char *ca_pem, vic_err **err)
{
    BIO *b cleanup_bio = BIO_new_mem_buf(ca_pem, -1);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int n = 0;
    X509 *ca;
    while (b && (ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        int ok = X509_STORE_add_cert(store, ca) == 1 && SSL_CTX_add_client_CA(ctx, ca) == 1;
        X509_free(ca);
        if (!ok) {
            char why[512];
            ssl_errors(why, sizeof(why));
            return vic_err_set(err, VIC_EINVAL, "client CA rejected: %s", why);
        }
        n++;
    }
    ERR_clear_error();
    if (n == 0)
        return vic_err_set(err, VIC_EINVAL, "client CA rejected: no PEM certificate");
    return 0;
}

/* The handshake goes on whatever the client presents; whether its certificate verified is
 * read after it, so that a request without one gets an HTTP answer saying what is needed. */
static int accept_any(int preverify_ok, X509_STORE_CTX *x)
{
    (void)preverify_ok, (void)x;
    return 1;
}

static int make_ctx(SSL_CTX **out, const vic_tls_front_config *cfg, vic_err **err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return vic_err_set(err, VIC_EINTERNAL, "cannot make a TLS context");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    static const unsigned char sid_ctx[] = "vic-c";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    int rc = SSL_CTX_set_cipher_list(ctx, VIC_TLS12_CIPHERS) == 1
                 ? 0
                 : vic_err_set(err, VIC_EINTERNAL, "TLS ciphers refused by OpenSSL");
    if (rc == 0)
        rc = load_identity(ctx, cfg->cert_pem, cfg->key_pem, err);
    if (rc == 0 && cfg->client_ca_pem) {
        rc = load_client_ca(ctx, cfg->client_ca_pem, err);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
    }
    if (rc < 0) {
        SSL_CTX_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

/* ---- the relay ---- */

/* Runs the handshake on the non-blocking socket; 0 once done, <0 when it failed, timed out
 * or the front stopped. */
static int handshake(relay *r)
{
    int64_t deadline = now_ms() + HANDSHAKE_MS;
    for (;;) {
        ERR_clear_error();
        int n = SSL_accept(r->ssl);
        if (n == 1)
            return 0;
        int e = SSL_get_error(r->ssl, n);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            char why[256];
            ssl_errors(why, sizeof(why));
            vic_log(VIC_LOG_DEBUG, "event=tls_handshake_failed msg=\"%s\"", why);
            return -1;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pf[2] = {{r->tcp, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0},
                               {r->f->relay_stop[0], POLLIN, 0}};
        if (poll(pf, 2, (int)left) < 0 && errno != EINTR)
            return -1;
        if (pf[1].revents)
            return -1;
    }
}

/* Whether the client's certificate chains to the client CA. */
static int client_verified(const relay *r)
{
    X509 *peer = SSL_get1_peer_certificate(r->ssl);
    int ok = peer != NULL && SSL_get_verify_result(r->ssl) == X509_V_OK;
    X509_free(peer);
    return ok;
}

/* Moves what it can both ways without waiting. *progress: anything moved or changed state.
 * Returns <0 on a broken connection. */
typedef struct relay_state {
    int tls_eof;       /* the client sent all it will */
    int up_shut;       /* and the engine was told */
    int plain_eof;     /* the engine sent all it will */
    int down_shut;     /* and the client was told */
    int up_dead;       /* the engine reads no more: drop what the client sends */
    short read_wants;  /* what the socket must be for SSL_read to go on */
    short write_wants; /* likewise for SSL_write */
} relay_state;

static int pump(relay *r, relay_state *st, int *progress)
{
    *progress = 0;
    /* client -> engine */
    if (!st->tls_eof && r->up_len == 0) {
        ERR_clear_error();
        int n = SSL_read(r->ssl, r->up, sizeof(r->up));
        if (n > 0) {
            r->up_len = (size_t)n;
            r->up_off = 0;
            *progress = 1;
        } else {
            int e = SSL_get_error(r->ssl, n);
            if (e == SSL_ERROR_WANT_READ)
                st->read_wants = POLLIN;
            else if (e == SSL_ERROR_WANT_WRITE)
                st->read_wants = POLLOUT;
            else if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify, or a bare FIN */
                st->tls_eof = 1;
                *progress = 1;
            } else {
                ERR_clear_error();
                return -1;
            }
        }
    }
    if (r->up_off < r->up_len) {
        if (st->up_dead) {
            r->up_len = r->up_off = 0;
        } else {
            ssize_t w = send(r->plain, r->up + r->up_off, r->up_len - r->up_off, MSG_NOSIGNAL);
            if (w > 0) {
                r->up_off += (size_t)w;
                if (r->up_off == r->up_len)
                    r->up_len = r->up_off = 0;
                *progress = 1;
            } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                st->up_dead = 1; /* the engine closed its end */
                *progress = 1;
            }
        }
    }
    if (st->tls_eof && r->up_len == 0 && !st->up_shut) {
        shutdown(r->plain, SHUT_WR);
        st->up_shut = 1;
        *progress = 1;
    }
    /* engine -> client */
    if (!st->plain_eof && r->down_len == 0) {
        ssize_t n = recv(r->plain, r->down, sizeof(r->down), 0);
        if (n > 0) {
            r->down_len = (size_t)n;
            r->down_off = 0;
            *progress = 1;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            st->plain_eof = 1;
            *progress = 1;
        }
    }
    if (r->down_off < r->down_len) {
        ERR_clear_error();
        int n = SSL_write(r->ssl, r->down + r->down_off, (int)(r->down_len - r->down_off));
        if (n > 0) {
            r->down_off += (size_t)n;
            if (r->down_off == r->down_len)
                r->down_len = r->down_off = 0;
            *progress = 1;
        } else {
            int e = SSL_get_error(r->ssl, n);
            if (e == SSL_ERROR_WANT_WRITE)
                st->write_wants = POLLOUT;
            else if (e == SSL_ERROR_WANT_READ)
                st->write_wants = POLLIN;
            else {
                ERR_clear_error();
                return -1; /* the client is gone */
            }
        }
    }
    if (st->plain_eof && r->down_len == 0 && !st->down_shut) {
        SSL_shutdown(r->ssl); /* close_notify; the client's answer is not awaited */
        ERR_clear_error();
        shutdown(r->tcp, SHUT_WR);
        st->down_shut = 1;
        *progress = 1;
    }
    return 0;
}

static void relay_run(relay *r)
{
    relay_state st = {.read_wants = POLLIN, .write_wants = POLLOUT};
    int engine_closed = 0;
    for (;;) {
        int progress;
        do {
            if (pump(r, &st, &progress) < 0)
                return;
        } while (progress);
        if (st.down_shut && (st.up_shut || st.up_dead || engine_closed))
            break;
        struct pollfd pf[3] = {{r->tcp, 0, 0}, {r->plain, 0, 0}, {r->f->relay_stop[0], POLLIN, 0}};
        if (!st.tls_eof && r->up_len == 0)
            pf[0].events |= st.read_wants;
        if (r->down_off < r->down_len)
            pf[0].events |= st.write_wants;
        if (r->up_off < r->up_len && !st.up_dead)
            pf[1].events |= POLLOUT;
        if (!st.plain_eof && r->down_len == 0)
            pf[1].events |= POLLIN;
        /* a socket nothing is wanted from stays out: its hang-up would wake the poll at once,
         * again and again (the engine's is looked at until it is seen) */
        if (pf[0].events == 0)
            pf[0].fd = -1;
        if (engine_closed)
            pf[1].fd = -1;
        if (poll(pf, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (pf[2].revents)
            return;
        if (pf[0].revents & (POLLERR | POLLNVAL))
            return;
        if (pf[1].revents & POLLHUP) { /* both ways shut: what it sent is read, then the end */
            engine_closed = 1;
            st.up_dead = 1;
        }
    }
    /* Let the client's last bytes in before the close, so that it does not reset a
     * connection whose answer the client is still reading. */
    int64_t until = now_ms() + LINGER_MS;
    while (!st.tls_eof) {
        int64_t left = until - now_ms();
        if (left <= 0)
            break;
        ERR_clear_error();
        int n = SSL_read(r->ssl, r->up, sizeof(r->up));
        if (n > 0)
            continue;
        int e = SSL_get_error(r->ssl, n);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            break;
        struct pollfd pf[2] = {{r->tcp, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0},
                               {r->f->relay_stop[0], POLLIN, 0}};
        if (poll(pf, 2, (int)left) <= 0 || pf[1].revents)
            break;
    }
    ERR_clear_error();
}

static void *relay_thread(void *arg)
{
    relay *r = arg;
    vic_tls_front *f = r->f;
    /* OpenSSL writes without MSG_NOSIGNAL: a client gone must be EPIPE here, not the end of
     * the process (a pending SIGPIPE of this thread goes with it) */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    set_nonblock(r->tcp);
    r->ssl = SSL_new(f->ctx);
    if (r->ssl && SSL_set_fd(r->ssl, r->tcp) == 1 && handshake(r) == 0) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
            r->plain = sv[0];
            set_nonblock(r->plain);
            /* the engine owns sv[1] from here, and closes it whatever happens */
            if (f->hand(f->payload, sv[1], (struct sockaddr *)&r->sa, r->salen,
                        client_verified(r)) == 0)
                relay_run(r);
        }
    }
    ERR_clear_error();
    SSL_free(r->ssl);
    close(r->tcp);
    if (r->plain >= 0)
        close(r->plain);
    free(r);
    OPENSSL_thread_stop();
    pthread_mutex_lock(&f->lock);
    if (--f->relays == 0)
        pthread_cond_broadcast(&f->idle);
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

/* ---- accepting ---- */

static void start_relay(vic_tls_front *f, int fd, const struct sockaddr_storage *sa,
                        socklen_t salen)
{
    pthread_mutex_lock(&f->lock);
    int full = f->relays >= f->max_conns;
    if (!full)
        f->relays++;
    pthread_mutex_unlock(&f->lock);
    if (full) {
        vic_log(VIC_LOG_WARN, "event=tls_conn_refused msg=\"%u connections already open\"",
                f->max_conns);
        close(fd);
        return;
    }
    relay *r = xzalloc(sizeof(*r));
    r->f = f;
    r->tcp = fd;
    r->plain = -1;
    r->sa = *sa;
    r->salen = salen;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, RELAY_STACK);
    pthread_t th;
    if (pthread_create(&th, &attr, relay_thread, r) != 0) {
        vic_log(VIC_LOG_ERROR, "event=tls_conn_refused msg=\"cannot start a thread\"");
        close(fd);
        free(r);
        pthread_mutex_lock(&f->lock);
        if (--f->relays == 0)
            pthread_cond_broadcast(&f->idle);
        pthread_mutex_unlock(&f->lock);
    }
    pthread_attr_destroy(&attr);
}

static void *accept_thread(void *arg)
{
    vic_tls_front *f = arg;
    for (;;) {
        struct pollfd pf[2] = {{f->listen_fd, POLLIN, 0}, {f->accept_stop[0], POLLIN, 0}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[1].revents)
            break;
        struct sockaddr_storage sa;
        socklen_t salen = sizeof(sa);
        int fd = accept4(f->listen_fd, (struct sockaddr *)&sa, &salen, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) { /* wait for a descriptor to come free */
                struct pollfd stop = {f->accept_stop[0], POLLIN, 0};
                if (poll(&stop, 1, 100) > 0)
                    break;
            }
            continue;
        }
        /* records go out as the relay writes them: Nagle's wait for the peer's delayed ACK
         * cost each request-response exchange of a docker run about 40 ms */
        int one = 1;
        if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        start_relay(f, fd, &sa, salen);
    }
    return NULL;
}

int vic_tls_front_start(vic_tls_front **out, const vic_tls_front_config *cfg, vic_err **err)
{
    *out = NULL;
    SSL_CTX *ctx = NULL;
    int rc = make_ctx(&ctx, cfg, err);
    if (rc < 0)
        return rc;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    struct sockaddr_in bound;
    socklen_t blen = sizeof(bound);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (const struct sockaddr *)&cfg->addr, sizeof(cfg->addr)) < 0 ||
        listen(fd, 128) < 0 || getsockname(fd, (struct sockaddr *)&bound, &blen) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        SSL_CTX_free(ctx);
        return vic_err_sys(err, VIC_EIO, e, "cannot listen");
    }
    vic_tls_front *f = xzalloc(sizeof(*f));
    f->ctx = ctx;
    f->listen_fd = fd;
    f->port = ntohs(bound.sin_port);
    f->max_conns = cfg->max_conns ? cfg->max_conns : DEFAULT_MAX_CONN;
    f->hand = cfg->hand;
    f->payload = cfg->payload;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->idle, NULL);
    f->accept_stop[0] = f->accept_stop[1] = f->relay_stop[0] = f->relay_stop[1] = -1;
    if (pipe2(f->accept_stop, O_CLOEXEC) < 0 || pipe2(f->relay_stop, O_CLOEXEC) < 0 ||
        pthread_create(&f->acceptor, NULL, accept_thread, f) != 0) {
        int e = errno;
        vic_tls_front_stop(f);
        return vic_err_sys(err, VIC_EIO, e, "cannot start accepting");
    }
    f->accepting = 1;
    *out = f;
    return 0;
}

uint16_t vic_tls_front_port(const vic_tls_front *f)
{
    return f->port;
}

void vic_tls_front_quiesce(vic_tls_front *f)
{
    if (f == NULL || f->listen_fd < 0)
        return;
    if (f->accepting) {
        ssize_t w = write(f->accept_stop[1], "x", 1);
        (void)w;
        pthread_join(f->acceptor, NULL);
        f->accepting = 0;
    }
    close(f->listen_fd);
    f->listen_fd = -1;
}

void vic_tls_front_stop(vic_tls_front *f)
{
    if (f == NULL)
        return;
    vic_tls_front_quiesce(f);
    if (f->relay_stop[1] >= 0) {
        ssize_t w = write(f->relay_stop[1], "x", 1);
        (void)w;
    }
    pthread_mutex_lock(&f->lock);
    while (f->relays > 0)
        pthread_cond_wait(&f->idle, &f->lock);
    pthread_mutex_unlock(&f->lock);
    for (int i = 0; i < 2; i++) {
        if (f->accept_stop[i] >= 0)
            close(f->accept_stop[i]);
        if (f->relay_stop[i] >= 0)
            close(f->relay_stop[i]);
    }
    pthread_cond_destroy(&f->idle);
    pthread_mutex_destroy(&f->lock);
    SSL_CTX_free(f->ctx);
    free(f);
}
