/*
 * stream.c - the hijacked docker stream that attach and exec share (see stream.h).
 */
#include "personality/stream.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/attach.h"

void engine_mux_header(unsigned char h[8], int stream, size_t len)
{
    h[0] = (unsigned char)stream;
    h[1] = h[2] = h[3] = 0;
    h[4] = (unsigned char)(len >> 24);
    h[5] = (unsigned char)(len >> 16);
    h[6] = (unsigned char)(len >> 8);
    h[7] = (unsigned char)len;
}

const char *engine_stream_type(int tty)
{
    return tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
}

int engine_stream_send_resize(int fd, unsigned rows, unsigned cols)
{
    unsigned char f[VIC_ATTACH_HEADER + 4] = {VIC_ATTACH_RESIZE,
                                              0,
                                              0,
                                              0,
                                              4,
                                              (unsigned char)(rows >> 8),
                                              (unsigned char)rows,
                                              (unsigned char)(cols >> 8),
                                              (unsigned char)cols};
    return fd < 0 || vic_send_all(fd, f, sizeof(f)) < 0 ? -1 : 0;
}

int engine_stream_size(vic_http_req *req, unsigned *rows, unsigned *cols, vic_err **err)
{
    const char *hq = vic_http_req_query(req, "h"), *wq = vic_http_req_query(req, "w");
    long h = hq ? strtol(hq, NULL, 10) : 0, w = wq ? strtol(wq, NULL, 10) : 0;
    if (h <= 0 || w <= 0 || h > 65535 || w > 65535)
        return vic_err_set(err, VIC_EINVAL, "h and w must be terminal sizes (1 to 65535)");
    *rows = (unsigned)h;
    *cols = (unsigned)w;
    return 0;
}

int engine_stream_need_upgrade(vic_http_req *req, const char *what, vic_err **err)
{
    if (vic_http_req_header(req, "Upgrade") != NULL)
        return 0;
    return vic_err_set(err, VIC_EUNSUPPORTED,
                       "%s needs a client that upgrades the connection "
                       "(Upgrade: tcp, Connection: Upgrade): use a newer docker CLI",
                       what);
}

void engine_relay_client(engine_relay *r, const vic_http_hijack *h)
{
    r->client = h ? vic_http_hijack_fd(h) : -1;
    r->stop_fd = h ? vic_http_hijack_stop_fd(h) : -1;
}

int engine_attach_translate(vic_buf *in, int tty, int want_out, int want_err, vic_buf *out,
                            int *exit_code)
{
    size_t off = 0;
    vic_attach_frame f;
    int rc, done = 0;
    while (!done && (rc = vic_attach_next(in->data, in->len, &off, &f)) == 1) {
        switch (f.type) {
        case VIC_ATTACH_STDOUT:
        case VIC_ATTACH_STDERR: {
            int stream = f.type == VIC_ATTACH_STDOUT ? 1 : 2;
            if ((stream == 1 && !want_out) || (stream == 2 && !want_err) || f.len == 0)
                break;
            if (!tty) {
                unsigned char h[8];
                engine_mux_header(h, stream, f.len);
                vic_buf_append(out, h, 8);
            }
            vic_buf_append(out, f.data, f.len);
            break;
        }
        case VIC_ATTACH_EXIT: {
            char num[16];
            size_t n = f.len < sizeof(num) - 1 ? f.len : sizeof(num) - 1;
            memcpy(num, f.data, n);
            num[n] = '\0';
            *exit_code = atoi(num);
            done = 1;
            break;
        }
        default: /* the holder's own frame types never come this way: ignore them */
            break;
        }
    }
    if (!done && rc < 0)
        return -1;
    if (off) {
        memmove(in->data, in->data + off, in->len - off);
        in->len -= off;
    }
    return done;
}

void engine_attach_stdin_frames(const char *data, size_t len, vic_buf *out)
{
    while (len) {
        size_t n = len > VIC_ATTACH_MAX ? VIC_ATTACH_MAX : len;
        unsigned char h[VIC_ATTACH_HEADER] = {VIC_ATTACH_STDIN, (unsigned char)(n >> 24),
                                              (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                                              (unsigned char)n};
        vic_buf_append(out, h, sizeof(h));
        vic_buf_append(out, data, n);
        data += n;
        len -= n;
    }
}

int engine_detach_keys(const char *spec, unsigned char *out, size_t cap, size_t *n, vic_err **err)
{
    *n = 0;
    if (spec == NULL || *spec == '\0')
        spec = "ctrl-p,ctrl-q";
    const char *p = spec;
    while (*p) {
        size_t len = strcspn(p, ",");
        int b = -1;
        if (len == 1) {
            b = (unsigned char)p[0];
        } else if (len == 6 && strncmp(p, "ctrl-", 5) == 0) {
            char ch = p[5];
            const char *sym = strchr("@[\\]^_", ch);
            if (ch >= 'a' && ch <= 'z')
                b = ch - 'a' + 1;
            else if (ch && sym)
                b = ch == '@' ? 0 : 27 + (int)(sym - "@[\\]^_") - 1;
        }
        if (b < 0 || *n >= cap)
            return vic_err_set(err, VIC_EINVAL, "Invalid detach keys (%.64s) provided", spec);
        out[(*n)++] = (unsigned char)b;
        p += len;
        if (*p == ',' && *++p == '\0')
            return vic_err_set(err, VIC_EINVAL, "Invalid detach keys (%.64s) provided", spec);
    }
    return 0;
}

/* The client's bytes with the detach sequence taken out: those that match its start are held
 * until the next byte tells; *detached once all of it came (the bytes after it dropped). */
static void detach_scan(const engine_relay *r, size_t *matched, const char *data, size_t len,
                        vic_buf *pass, int *detached)
{
    for (size_t i = 0; i < len && !*detached; i++) {
        unsigned char b = (unsigned char)data[i];
        if (b == r->detach[*matched]) {
            if (++*matched == r->n_detach)
                *detached = 1;
            continue;
        }
        vic_buf_append(pass, r->detach, *matched); /* a false start: its bytes go on */
        *matched = 0;
        if (b == r->detach[0])
            *matched = 1;
        else
            vic_buf_append(pass, &data[i], 1);
    }
}

int engine_attach_relay(const engine_relay *r)
{
    size_t matched = 0;
    vic_buf pass = VIC_BUF_INIT;
    vic_buf from_pl = VIC_BUF_INIT, out = VIC_BUF_INIT, frames = VIC_BUF_INIT;
    int client = r->client, in_open = client >= 0 && r->want_in, exit_code = -1;
    char buf[65536];
    if (in_open && r->input_len) { /* what the client sent with its request goes first */
        engine_attach_stdin_frames(r->input, r->input_len, &frames);
        pthread_mutex_lock(r->lock);
        if (vic_send_all(r->pl_fd, frames.data, frames.len) < 0)
            in_open = 0;
        pthread_mutex_unlock(r->lock);
        frames.len = 0;
    }
    for (;;) {
        struct pollfd pf[3] = {
            {r->pl_fd, POLLIN, 0}, {in_open ? client : -1, POLLIN, 0}, {r->stop_fd, POLLIN, 0}};
        if (poll(pf, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[2].revents)
            break;
        if (pf[0].revents) {
            ssize_t n = read(r->pl_fd, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break; /* the channel went to another holder, or the VM is gone */
            vic_buf_append(&from_pl, buf, (size_t)n);
            int rc = engine_attach_translate(&from_pl, r->tty, r->want_out, r->want_err, &out,
                                             &exit_code);
            if (client >= 0 && out.len && vic_send_all(client, out.data, out.len) < 0) {
                if (!r->outlive_client)
                    break;
                client = -1; /* the client left: the program runs on to its end */
                in_open = 0;
            }
            out.len = 0;
            if (rc != 0)
                break; /* the session ended (or the channel spoke nonsense) */
        }
        if (pf[1].revents) {
            ssize_t n = read(client, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && !r->outlive_client)
                break;
            if (n <= 0) { /* the end of the client's input */
                in_open = 0;
                /* a terminal's input stays open, as Docker keeps it: the docker CLI ends its
                 * input when it detaches, and the program runs on */
                if (!r->tty)
                    vic_buf_append(&frames, (const char[VIC_ATTACH_HEADER]){VIC_ATTACH_CLOSE},
                                   VIC_ATTACH_HEADER);
            } else if (r->n_detach) {
                int detached = 0;
                pass.len = 0;
                detach_scan(r, &matched, buf, (size_t)n, &pass, &detached);
                engine_attach_stdin_frames(pass.data, pass.len, &frames);
                if (detached) { /* the program keeps its input open and runs on */
                    pthread_mutex_lock(r->lock);
                    vic_send_all(r->pl_fd, frames.data, frames.len);
                    pthread_mutex_unlock(r->lock);
                    break;
                }
            } else {
                engine_attach_stdin_frames(buf, (size_t)n, &frames);
            }
            pthread_mutex_lock(r->lock);
            int bad = frames.len && vic_send_all(r->pl_fd, frames.data, frames.len) < 0;
            pthread_mutex_unlock(r->lock);
            frames.len = 0;
            if (bad)
                break;
        }
    }
    vic_buf_free(&from_pl);
    vic_buf_free(&out);
    vic_buf_free(&frames);
    vic_buf_free(&pass);
    return exit_code;
}
