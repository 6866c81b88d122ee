#include "serial.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int vic_serial_write(int fd, int stream, const void *data, size_t len, vic_err **err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    const char *p = data;
    do {
        size_t n = len > VIC_SERIAL_MAX_DATA ? VIC_SERIAL_MAX_DATA : len;
        unsigned char h[VIC_SERIAL_HEADER] = {'V', (unsigned char)stream, 0, 0};
        put_be32(h + 4, (uint32_t)n);
        put_be32(h + 8, (uint32_t)(ns >> 32));
        put_be32(h + 12, (uint32_t)ns);
        struct iovec iov[2] = {{h, sizeof(h)}, {(void *)p, n}};
        ssize_t w;
        do
            w = writev(fd, iov, 2);
        while (w < 0 && errno == EINTR);
        if (w < 0)
            return vic_err_sys(err, VIC_EIO, errno, "write serial log");
        if ((size_t)w != sizeof(h) + n)
            return vic_err_set(err, VIC_EIO, "short write to serial log (disk full?)");
        p += n;
        len -= n;
    } while (len > 0);
    return 0;
}

int vic_serial_next(const char *buf, size_t len, size_t *off, vic_serial_record *out,
                    size_t *skipped)
{
    const unsigned char *b = (const unsigned char *)buf;
    while (*off < len) {
        size_t o = *off;
        if (len - o < VIC_SERIAL_HEADER)
            return 0;
        uint32_t n = get_be32(b + o + 4);
        int stream = b[o + 1];
        if (b[o] != 'V' || stream < VIC_STREAM_STDOUT || stream > VIC_STREAM_TETHER || b[o + 2] ||
            b[o + 3] || n > VIC_SERIAL_MAX_DATA) {
            (*off)++;
            if (skipped)
                (*skipped)++;
            continue;
        }
        if (len - o - VIC_SERIAL_HEADER < n)
            return 0;
        out->stream = stream;
        out->time_ns = (int64_t)((uint64_t)get_be32(b + o + 8) << 32 | get_be32(b + o + 12));
        out->data = buf + o + VIC_SERIAL_HEADER;
        out->len = n;
        *off = o + VIC_SERIAL_HEADER + n;
        return 1;
    }
    return 0;
}
