/*
 * log.h - levelled, timestamped, one-line-per-event logging.
 *
 * Each line is `TIMESTAMP LEVEL COMPONENT key=value ...`, written to stderr and, when
 * vic_log_open_file() succeeded, to a file as well. The level test happens before any
 * formatting. Never pass a secret (password, token, private key) to vic_log: there is no
 * filter that could recognise one.
 *
 * The log configuration is process-wide by nature (like the process's stderr), so it is the
 * one piece of global state in lib/; set it once at start-up, before threads run.
 */
#ifndef VIC_LOG_H
#define VIC_LOG_H

#include <stddef.h>

#include "err.h"

typedef enum vic_log_level {
    VIC_LOG_DEBUG = 0,
    VIC_LOG_INFO = 1,
    VIC_LOG_WARN = 2,
    VIC_LOG_ERROR = 3,
} vic_log_level;

extern int vic_log_threshold_;

/* Names the component shown on every line ("webservice") and sets the level. */
void vic_log_init(const char *component, vic_log_level level);

/* Parses "debug|info|warn|error" (or 0..3); returns -1 when unknown. */
int vic_log_level_parse(const char *s);

/* Also appends every line to path (created 0600). */
int vic_log_open_file(const char *path, vic_err **err);

/* Closes the file opened by vic_log_open_file. */
void vic_log_close(void);

void vic_log_write_(vic_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The message part of a log line, as vic_log writes it: printf's conversions, with every
 * string argument escaped the logfmt way (inside key="%s" its quotes, backslashes and
 * control characters; as key=%s quoted when it is more than a plain word; elsewhere its
 * control characters). Writes at most cap - 1 bytes and a NUL; returns the length. */
size_t vic_log_format(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define vic_log(level, ...)                                                                        \
    do {                                                                                           \
        if ((int)(level) >= vic_log_threshold_)                                                    \
            vic_log_write_((level), __VA_ARGS__);                                                  \
    } while (0)

#endif
