#include "attach.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int vic_send_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int vic_attach_send(int fd, int type, const void *data, size_t len, vic_err **err)
{
    if (len > VIC_ATTACH_MAX)
        return vic_err_set(err, VIC_ETOOBIG, "attach frame of %zu bytes", len);
    unsigned char h[VIC_ATTACH_HEADER] = {(unsigned char)type, (unsigned char)(len >> 24),
                                          (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                                          (unsigned char)len};
    struct iovec iov[2] = {{h, sizeof(h)}, {(void *)data, len}};
    size_t total = sizeof(h) + len, done = 0;
    while (done < total) {
        ssize_t w = writev(fd, iov, 2);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return vic_err_sys(err, errno == EPIPE ? VIC_EUNAVAIL : VIC_EIO, errno,
                               "attach channel write");
        done += (size_t)w;
        /* advance the iovecs past what was written */
        size_t skip = (size_t)w;
        for (int i = 0; i < 2 && skip; i++) {
            size_t n = skip < iov[i].iov_len ? skip : iov[i].iov_len;
            iov[i].iov_base = (char *)iov[i].iov_base + n;
            iov[i].iov_len -= n;
            skip -= n;
        }
    }
    return 0;
}

int vic_attach_next(const char *buf, size_t len, size_t *off, vic_attach_frame *out)
{
    const unsigned char *b = (const unsigned char *)buf + *off;
    size_t avail = len - *off;
    if (avail < VIC_ATTACH_HEADER)
        return 0;
    size_t n = (size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4];
    if (b[0] > VIC_ATTACH_EXEC || n > VIC_ATTACH_MAX)
        return -1;
    if (avail - VIC_ATTACH_HEADER < n)
        return 0;
    out->type = b[0];
    out->data = (const char *)b + VIC_ATTACH_HEADER;
    out->len = n;
    *off += VIC_ATTACH_HEADER + n;
    return 1;
}
