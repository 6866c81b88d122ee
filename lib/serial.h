/*
 * serial.h - framing of a VM's serial log (output.log), so that the streams of a session
 * (stdout, stderr) and the tether's own messages can be told apart later, with the time each
 * chunk was written.
 *
 * A record is a 16-byte header and its data:
 *   byte 0      'V' (a marker that lets a reader resynchronise after garbage)
 *   byte 1      stream: 1 stdout, 2 stderr, 3 tether
 *   bytes 2-3   reserved (0)
 *   bytes 4-7   data length, big-endian, at most VIC_SERIAL_MAX_DATA
 *   bytes 8-15  write time, nanoseconds since the epoch, big-endian
 * The guest writes this file, so a reader treats it as outside input.
 */
#ifndef VIC_SERIAL_H
#define VIC_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum vic_stream {
    VIC_STREAM_STDOUT = 1,
    VIC_STREAM_STDERR = 2,
    VIC_STREAM_TETHER = 3,
};

#define VIC_SERIAL_HEADER   16
#define VIC_SERIAL_MAX_DATA 65536
/* The most bytes one record takes */
#define VIC_SERIAL_MAX_RECORD (VIC_SERIAL_HEADER + VIC_SERIAL_MAX_DATA)

/* Fills h with the header of a record of len bytes (at most VIC_SERIAL_MAX_DATA). */
void vic_serial_header(unsigned char h[VIC_SERIAL_HEADER], int stream, int64_t time_ns, size_t len);

/* Writes data as one or more records (each a single write(2) on an O_APPEND file). */
int vic_serial_write(int fd, int stream, const void *data, size_t len, vic_err **err);

typedef struct vic_serial_record {
    int stream;
    int64_t time_ns;
    const char *data; /* points into the buffer given to vic_serial_next */
    size_t len;
} vic_serial_record;

/*
 * Parses the record at buf[*off]. Returns 1 and advances *off past it; 0 when buf ends inside a
 * record (read more and call again); skips bytes that cannot start a record (counted in
 * *skipped when given) so that damage costs only the damaged records.
 */
int vic_serial_next(const char *buf, size_t len, size_t *off, vic_serial_record *out,
                    size_t *skipped);

/*
 * Finds where to read a window of a log taken from its middle (to read a log backwards: its
 * end first). buf holds len bytes of the log ending where a record ends (an offset an earlier
 * call found, or the log's end) or inside the log's last record, header included (a log read
 * while written, or cut); at_start says that it begins where the log begins.
 *
 * The bytes alone cannot say where a record starts (data may hold anything, records too), so
 * this looks for an offset that every reading of the log passes through: of all the offsets
 * from which records follow one another up to the end of buf (or to a record buf ends
 * inside of), the first one that none of those chains of records steps over, and that the
 * record ending there could not have begun before buf (or at_start). The log's own records
 * are one such chain, so vic_serial_next read from there gives exactly the records a reading
 * from the log's start gives.
 *
 * scratch: len + 1 bytes this may overwrite. Returns 1 and sets *off (< len), or 0 when the
 * window proves no such offset (a damaged log, or data made to look like records, or buf
 * shorter than a record without at_start): then read the log from its start.
 */
int vic_serial_sync(const char *buf, size_t len, bool at_start, unsigned char *scratch,
                    size_t *off);

#endif
