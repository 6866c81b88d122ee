#include "gichan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem.h"

static int write_all(int fd, const void *p, size_t n, vic_err **err)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return vic_err_sys(err, errno == EPIPE ? VIC_EUNAVAIL : VIC_EIO, errno,
                               "guestinfo channel write");
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n, vic_err **err)
{
    char *c = p;
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return vic_err_sys(err, VIC_EIO, errno, "guestinfo channel read");
        }
        if (r == 0)
            return vic_err_set(err, VIC_EUNAVAIL, "guestinfo channel closed");
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

int vic_gichan_send(int fd, const void *payload, size_t len, vic_err **err)
{
    if (len > VIC_GICHAN_MAX)
        return vic_err_set(err, VIC_ETOOBIG, "guestinfo frame of %zu bytes exceeds %d", len,
                           VIC_GICHAN_MAX);
    uint32_t n = htonl((uint32_t)len);
    int rc = write_all(fd, &n, sizeof(n), err);
    if (rc == 0)
        rc = write_all(fd, payload, len, err);
    return rc;
}

int vic_gichan_recv(int fd, char **out, size_t *len, vic_err **err)
{
    *out = NULL;
    uint32_t n = 0;
    int rc = read_all(fd, &n, sizeof(n), err);
    if (rc < 0)
        return rc;
    n = ntohl(n);
    if (n > VIC_GICHAN_MAX)
        return vic_err_set(err, VIC_ETOOBIG, "guestinfo frame of %u bytes exceeds %d", n,
                           VIC_GICHAN_MAX);
    char *buf = xmalloc((size_t)n + 1);
    rc = read_all(fd, buf, n, err);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int call(int fd, char op, const char *key, const char *value, char **reply,
                size_t *reply_len, vic_err **err)
{
    size_t klen = strlen(key), vlen = value ? strlen(value) : 0;
    if (klen == 0 || klen > VIC_GICHAN_KEY_MAX)
        return vic_err_set(err, VIC_EINVAL, "guestinfo key of %zu bytes", klen);
    size_t len = 1 + klen + 1 + vlen;
    char *req = xmalloc(len);
    req[0] = op;
    memcpy(req + 1, key, klen + 1);
    if (vlen)
        memcpy(req + 2 + klen, value, vlen);
    int rc = vic_gichan_send(fd, req, len, err);
    free(req);
    if (rc < 0)
        return rc;
    char *resp = NULL;
    size_t rlen = 0;
    if ((rc = vic_gichan_recv(fd, &resp, &rlen, err)) < 0)
        return rc;
    if (rlen == 0 || (resp[0] != '+' && resp[0] != '-')) {
        free(resp);
        return vic_err_set(err, VIC_EIO, "malformed guestinfo reply");
    }
    if (resp[0] == '-') {
        const char *msg = resp + 1;
        int code = strncmp(msg, "not found", 9) == 0       ? VIC_ENOTFOUND
                   : strncmp(msg, "rate limited", 12) == 0 ? VIC_ELIMIT
                                                           : VIC_EFORBIDDEN;
        rc = vic_err_set(err, code, "guestinfo %s %s: %s", op == 'S' ? "set" : "get", key, msg);
        free(resp);
        return rc;
    }
    memmove(resp, resp + 1, rlen); /* drop the status byte, keep the NUL */
    *reply = resp;
    *reply_len = rlen - 1;
    return 0;
}

int vic_gichan_get(int fd, const char *key, char **out, vic_err **err)
{
    size_t len = 0;
    return call(fd, 'G', key, NULL, out, &len, err);
}

int vic_gichan_set(int fd, const char *key, const char *value, vic_err **err)
{
    char *reply = NULL;
    size_t len = 0;
    int rc = call(fd, 'S', key, value ? value : "", &reply, &len, err);
    free(reply);
    return rc;
}

int vic_gichan_set_many(int fd, const json_t *kv, vic_err **err)
{
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "M", 1);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)kv, k, v)
    {
        const char *s = json_string_value(v);
        vic_buf_append(&b, k, strlen(k) + 1);
        vic_buf_append(&b, s ? s : "", strlen(s ? s : "") + 1);
    }
    if (b.len == 1) {
        vic_buf_free(&b);
        return 0;
    }
    int rc = vic_gichan_send(fd, b.data, b.len, err);
    vic_buf_free(&b);
    char *resp = NULL;
    size_t rlen = 0;
    if (rc == 0)
        rc = vic_gichan_recv(fd, &resp, &rlen, err);
    if (rc == 0 && (rlen == 0 || resp[0] != '+')) {
        const char *msg = rlen > 1 ? resp + 1 : "malformed reply";
        rc = vic_err_set(err, strncmp(msg, "rate limited", 12) == 0 ? VIC_ELIMIT : VIC_EFORBIDDEN,
                         "guestinfo set: %s", msg);
    }
    free(resp);
    return rc;
}

int vic_gichan_next_pair(const char **pos, const char *end, const char **key, const char **value)
{
    const char *p = *pos;
    if (p >= end)
        return 0;
    const char *k = p;
    const char *kend = memchr(k, '\0', (size_t)(end - k));
    if (kend == NULL || kend == k || (size_t)(kend - k) > VIC_GICHAN_KEY_MAX)
        return -1;
    const char *v = kend + 1;
    const char *vend = v < end ? memchr(v, '\0', (size_t)(end - v)) : NULL;
    if (vend == NULL)
        return -1;
    *key = k;
    *value = v;
    *pos = vend + 1;
    return 1;
}

int vic_gichan_list(int fd, const char *prefix, json_t **out, vic_err **err)
{
    char *reply = NULL;
    size_t len = 0;
    int rc = call(fd, 'L', prefix, NULL, &reply, &len, err);
    if (rc < 0)
        return rc;
    json_t *kv = json_object();
    size_t off = 0;
    while (off < len) {
        const char *k = reply + off;
        size_t kl = strnlen(k, len - off);
        if (kl == 0 || kl == len - off)
            break; /* an empty key or one without its NUL: the rest is not a pair */
        size_t voff = off + kl + 1;
        const char *v = reply + voff;
        size_t vl = strnlen(v, len - voff); /* the reply is NUL-terminated at len */
        json_t *js = json_stringn(v, vl);
        if (js == NULL) {
            json_decref(kv);
            rc = vic_err_set(err, VIC_EIO, "guestinfo value of %.*s is not UTF-8", (int)kl, k);
            free(reply);
            return rc;
        }
        json_object_set_new(kv, k, js);
        off = voff + vl + 1;
    }
    free(reply);
    *out = kv;
    return 0;
}

int vic_gichan_parse(const char *frame, size_t len, char *op, const char **key, const char **value,
                     vic_err **err)
{
    if (len < 3)
        return vic_err_set(err, VIC_EINVAL, "request too short");
    if (frame[0] != 'G' && frame[0] != 'S' && frame[0] != 'L' && frame[0] != 'M')
        return vic_err_set(err, VIC_EINVAL, "unknown request 0x%02x", (unsigned char)frame[0]);
    const char *k = frame + 1;
    size_t klen = strnlen(k, len - 1);
    if (klen == len - 1 || klen == 0)
        return vic_err_set(err, VIC_EINVAL, "request without a key");
    if (klen > VIC_GICHAN_KEY_MAX)
        return vic_err_set(err, VIC_EINVAL, "key longer than %d bytes", VIC_GICHAN_KEY_MAX);
    const char *v = k + klen + 1;
    size_t vlen = len - 1 - klen - 1;
    if (frame[0] == 'M') {
        /* pairs: the whole frame after the op must be key NUL value NUL ... */
        const char *pos = frame + 1, *end = frame + len, *pk, *pv;
        int r;
        while ((r = vic_gichan_next_pair(&pos, end, &pk, &pv)) == 1)
            ;
        if (r < 0)
            return vic_err_set(err, VIC_EINVAL, "malformed key/value pairs");
        *op = 'M';
        *key = k;
        *value = frame + 1;
        return 0;
    }
    if (memchr(v, '\0', vlen) != NULL)
        return vic_err_set(err, VIC_EINVAL, "value contains a NUL byte");
    *op = frame[0];
    *key = k;
    *value = v; /* frames from vic_gichan_recv are NUL-terminated */
    return 0;
}

int vic_gichan_reply(int fd, int ok, const void *payload, size_t len, vic_err **err)
{
    if (len + 1 > VIC_GICHAN_MAX)
        return vic_err_set(err, VIC_ETOOBIG, "reply too large");
    char *buf = xmalloc(len + 1);
    buf[0] = ok ? '+' : '-';
    if (len)
        memcpy(buf + 1, payload, len);
    int rc = vic_gichan_send(fd, buf, len + 1, err);
    free(buf);
    return rc;
}
