/*
 * attach.h - the interactive channel of a containerVM: whoever holds it (the port layer)
 * sees the session's output as it is written and feeds its stdin and terminal size.
 *
 * On the local host the channel is the VM folder's attach.sock (one holder at a time; a new
 * connection takes it over); the monitor relays it to the tether's fd 5. Frames are a type
 * byte, a 4-byte big-endian length (at most VIC_ATTACH_MAX) and the data.
 *
 * An exec channel (hv_vm_exec: the local VM folder's exec.sock) speaks the same frames for a
 * new program in the running guest: the holder's first frame is EXEC with the program's spec
 * ({"cmd": [...], "env": [...], "workdir", "user", "tty", "stdin", "rows", "cols"}); then
 * STDIN, RESIZE and CLOSE go in, STDOUT, STDERR and finally EXIT come out.
 */
#ifndef VIC_ATTACH_H
#define VIC_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum vic_attach_type {
    VIC_ATTACH_STDIN = 0,  /* holder → guest: bytes for the session's stdin */
    VIC_ATTACH_STDOUT = 1, /* guest → holder */
    VIC_ATTACH_STDERR = 2, /* guest → holder */
    VIC_ATTACH_RESIZE = 3, /* holder → guest: rows and columns, 2 bytes each, big-endian */
    VIC_ATTACH_CLOSE = 4,  /* holder → guest: end of stdin */
    VIC_ATTACH_EXIT = 5,   /* guest → holder: the session ended; data is the decimal status */
    VIC_ATTACH_READY = 6,  /* holder → guest: attached, a session waiting for it may start */
    VIC_ATTACH_EXEC = 7,   /* holder → VM: the first frame of an exec channel, its JSON spec */
};

#define VIC_ATTACH_HEADER 5
#define VIC_ATTACH_MAX    65536

/* Sends all of p[0..n) on a connected socket (blocking; no SIGPIPE): 0, or -1 with errno. */
int vic_send_all(int fd, const void *p, size_t n);

/* Writes one frame (blocking until written). */
int vic_attach_send(int fd, int type, const void *data, size_t len, vic_err **err);

typedef struct vic_attach_frame {
    int type;
    const char *data; /* points into the parsed buffer */
    size_t len;
} vic_attach_frame;

/* Parses the frame at buf[*off]: 1 and *off advanced, 0 when more bytes are needed, -1 for a
 * malformed frame (unknown type or oversized). */
int vic_attach_next(const char *buf, size_t len, size_t *off, vic_attach_frame *out);

#endif
