/*
 * mem.h - allocation that never returns NULL, and string helpers.
 *
 * Running out of memory is not an error we recover from: these abort with a message, so
 * callers carry no OOM branches (the crun convention).
 */
#ifndef VIC_MEM_H
#define VIC_MEM_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xzalloc(size_t size);
void *xrealloc(void *ptr, size_t size);
void *xcalloc(size_t nmemb, size_t size);
/* A copy of s; NULL for NULL (a missing string stays missing). */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Overwrites then frees a secret string; safe on NULL. */
void vic_free_secret(char *s);

/* A growable byte buffer, always NUL-terminated. */
typedef struct vic_buf {
    char *data;
    size_t len;
    size_t cap;
} vic_buf;

#define VIC_BUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void vic_buf_append(vic_buf *b, const void *data, size_t len);
void vic_buf_appendf(vic_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data out (caller frees) and resets the buffer. */
char *vic_buf_steal(vic_buf *b);
void vic_buf_free(vic_buf *b);

#endif
