/*
 * logs.h - a container's output as Docker's logs, read from its serial log (lib/serial.h).
 *
 * The serial log holds the chunks the tether read from the session's stdout and stderr, each
 * with the time it was written. A reader turns them into Docker's log messages: per stream, a
 * line with its '\n', a piece of PL_LOG_LINE_MAX bytes of a longer line (Docker's logger
 * splits those too), or what is left without a '\n' when the log ends. It reads in bounded
 * memory whatever the log's size: everything streams through a fixed buffer, and a tail is
 * found by reading the log backwards from its end (lib/serial.h, vic_serial_sync).
 */
#ifndef VIC_PORTLAYER_LOGS_H
#define VIC_PORTLAYER_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define PL_LOG_LINE_MAX 16384

typedef struct pl_log_opts {
    bool out;         /* stdout */
    bool err;         /* stderr */
    int64_t since_ns; /* only messages written at or after this time; 0: from the start */
    int64_t until_ns; /* only messages written at or before this time; 0: no end */
    /* only the last tail lines; -1: all. As Docker's, the lines of both streams count, before
     * since, until and the choice of streams apply. */
    long tail;
    bool follow; /* then wait for more while the log may grow */
} pl_log_opts;

/* Receives each message, oldest first: its stream (VIC_STREAM_STDOUT, VIC_STREAM_STDERR),
 * the time its last byte was written, and its bytes. Stream 0 (no data): everything written
 * so far was delivered and the reader waits for more; it comes at least every 250 ms while
 * a follow waits, for the caller to send what it holds and to look at its client. Returns 0
 * to go on; anything else stops the read, which then returns that value. */
typedef int (*pl_log_fn)(int stream, int64_t time_ns, const char *data, size_t len, void *payload);

/* Whether the log may still grow (its container runs). */
typedef bool (*pl_log_live_fn)(void *payload);

/*
 * Reads the serial log at path (absent: an empty log) as o says, handing each message to fn.
 * With o->follow it then waits for more while live(live_payload) holds (live NULL: it never
 * does), and ends once it no longer does, after what was written until then, or once the
 * clock passed o->until_ns. Returns 0 at the end, fn's value when fn stopped the read, or
 * VIC_EIO when the log cannot be read.
 */
int pl_log_read(const char *path, const pl_log_opts *o, pl_log_live_fn live, void *live_payload,
                pl_log_fn fn, void *payload, vic_err **err);

#endif
