/* libFuzzer harness: what a guest controls and the host reads: serial log records
 * (lib/serial.c) and guestinfo channel request frames (lib/gichan.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/gichan.h"
#include "lib/serial.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    size_t off = 0, skipped = 0, seen = 0;
    vic_serial_record r;
    while (vic_serial_next(buf, size, &off, &r, &skipped) == 1) {
        if (r.data < buf || r.data + r.len > buf + size || r.len > VIC_SERIAL_MAX_DATA)
            abort(); /* a record must lie inside the buffer */
        seen += VIC_SERIAL_HEADER + r.len;
    }
    if (off > size || seen + skipped > size)
        abort();
    /* the same bytes as a request frame (NUL-terminated, as vic_gichan_recv delivers them) */
    char *frame = malloc(size + 1);
    memcpy(frame, data, size);
    frame[size] = '\0';
    char op;
    const char *key, *value;
    if (vic_gichan_parse(frame, size, &op, &key, &value, NULL) == 0) {
        if (key < frame || key >= frame + size || value < frame || value > frame + size)
            abort();
        if (strlen(key) == 0 || strlen(key) > VIC_GICHAN_KEY_MAX)
            abort();
    }
    free(frame);
    return 0;
}
