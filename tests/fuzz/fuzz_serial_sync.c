/* libFuzzer harness: a serial log read backwards (lib/serial.c, vic_serial_sync), its records'
 * data the guest's to choose: a log of records whose data (and lengths, and streams) are the
 * input's bytes, over and over, two records' size long, maybe cut inside its last record.
 * Wherever a window of it starts, the offset vic_serial_sync finds must be one of the log's
 * own records' starts, whatever the data looks like. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/serial.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    vic_buf log = VIC_BUF_INIT;
    size_t *starts = NULL, n = 0, cap = 0, pos = 0;
    while (log.len < 2 * VIC_SERIAL_MAX_RECORD) {
        size_t len = ((size_t)data[pos % size] | (size_t)data[(pos + 1) % size] << 8) % (size + 1);
        int stream = 1 + data[(pos + 2) % size] % 3;
        unsigned char h[VIC_SERIAL_HEADER];
        vic_serial_header(h, stream, (int64_t)n, len);
        if (n == cap)
            starts = xrealloc(starts, (cap = cap ? cap * 2 : 256) * sizeof(*starts));
        starts[n++] = log.len;
        vic_buf_append(&log, h, sizeof(h));
        size_t from = (pos + 3) % size, first = len < size - from ? len : size - from;
        vic_buf_append(&log, data + from, first);
        vic_buf_append(&log, data, len - first);
        pos += 3 + len;
    }
    /* the log read while its last record is written: cut inside that record */
    log.len -= data[2] % (log.len - starts[n - 1]);
    unsigned char *scratch = xmalloc(log.len + 1);
    for (size_t k = 0; k < 2; k++) { /* from the start, and from where the input says */
        size_t from = k == 0 ? 0
                             : ((size_t)data[0] << 8 | data[1]) % (log.len - VIC_SERIAL_MAX_RECORD),
               off;
        if (vic_serial_sync(log.data + from, log.len - from, from == 0, scratch, &off) != 1)
            continue;
        size_t lo = 0, hi = n; /* starts[] ascends */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (starts[mid] < from + off)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == n || starts[lo] != from + off)
            abort(); /* not where a record starts */
    }
    free(scratch);
    free(starts);
    vic_buf_free(&log);
    return 0;
}
