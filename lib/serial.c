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

void vic_serial_header(unsigned char h[VIC_SERIAL_HEADER], int stream, int64_t time_ns, size_t len)
{
    uint64_t ns = (uint64_t)time_ns;
    h[0] = 'V';
    h[1] = (unsigned char)stream;
    h[2] = h[3] = 0;
    put_be32(h + 4, (uint32_t)len);
    put_be32(h + 8, (uint32_t)(ns >> 32));
    put_be32(h + 12, (uint32_t)ns);
}

int vic_serial_write(int fd, int stream, const void *data, size_t len, vic_err **err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    const char *p = data;
    do {
        size_t n = len > VIC_SERIAL_MAX_DATA ? VIC_SERIAL_MAX_DATA : len;
        unsigned char h[VIC_SERIAL_HEADER];
        vic_serial_header(h, stream, ns, n);
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

/* Whether b[o..] starts with a well-formed header (its data length in *n). */
static bool header_at(const unsigned char *b, size_t len, size_t o, uint32_t *n)
{
    if (len - o < VIC_SERIAL_HEADER || b[o] != 'V' || b[o + 1] < VIC_STREAM_STDOUT ||
        b[o + 1] > VIC_STREAM_TETHER || b[o + 2] || b[o + 3])
        return false;
    *n = get_be32(b + o + 4);
    return *n <= VIC_SERIAL_MAX_DATA;
}

/* Whether the len < VIC_SERIAL_HEADER bytes at b may be the start of a header. */
static bool header_begins(const unsigned char *b, size_t len)
{
    return b[0] == 'V' && (len < 2 || (b[1] >= VIC_STREAM_STDOUT && b[1] <= VIC_STREAM_TETHER)) &&
           (len < 3 || b[2] == 0) && (len < 4 || b[3] == 0) &&
           (len < 8 || get_be32(b + 4) <= VIC_SERIAL_MAX_DATA);
}

int vic_serial_next(const char *buf, size_t len, size_t *off, vic_serial_record *out,
                    size_t *skipped)
{
    const unsigned char *b = (const unsigned char *)buf;
    while (*off < len) {
        size_t o = *off;
        if (len - o < VIC_SERIAL_HEADER)
            return 0;
        uint32_t n;
        int stream = b[o + 1];
        if (!header_at(b, len, o, &n)) {
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

int vic_serial_sync(const char *buf, size_t len, bool at_start, unsigned char *scratch, size_t *off)
{
    if (len == 0 || (!at_start && len <= VIC_SERIAL_MAX_RECORD))
        return 0; /* no offset far enough in */
    const unsigned char *b = (const unsigned char *)buf;
    /* chains[o]: records follow one another from o to the end of buf, or to a record that
     * buf ends inside of */
    unsigned char *chains = scratch;
    memset(chains, 0, len + 1);
    chains[len] = 1;
    for (size_t o = len; o-- > 0;) {
        uint32_t n;
        if (b[o] != 'V')
            continue;
        if (len - o < VIC_SERIAL_HEADER) /* buf ends inside its header */
            chains[o] = header_begins(b + o, len - o);
        else if (header_at(b, len, o, &n)) /* buf ends inside its data, or records follow */
            chains[o] = len - o - VIC_SERIAL_HEADER < n || chains[o + VIC_SERIAL_HEADER + n];
    }
    if (at_start && chains[0]) {
        *off = 0;
        return 1;
    }
    /* reach: the furthest end of a chained record starting before o */
    size_t reach = 0;
    const unsigned char *c;
    for (size_t o = 0; o < len && (c = memchr(chains + o, 1, len - o)) != NULL; o++) {
        o = (size_t)(c - chains);
        if (reach <= o && (at_start || o >= VIC_SERIAL_MAX_RECORD)) {
            *off = o;
            return 1;
        }
        uint32_t n = VIC_SERIAL_MAX_DATA; /* a header buf ends inside of: past its end */
        if (len - o >= VIC_SERIAL_HEADER)
            header_at(b, len, o, &n);
        if (o + VIC_SERIAL_HEADER + n > reach)
            reach = o + VIC_SERIAL_HEADER + n;
    }
    return 0;
}
