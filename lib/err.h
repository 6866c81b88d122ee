/*
 * err.h - the one error type of VIC-C.
 *
 * A function that can fail returns int: 0 on success or a negative vic_code, and takes
 * `vic_err **err` as its last parameter. On failure it fills *err with a heap error that
 * carries the code and a human-readable message; callers pass it up unchanged, or add
 * context with vic_err_wrap(). Only the edge (an HTTP handler's caller, or main) logs or
 * prints the error, and frees it with vic_err_free().
 *
 * Passing err == NULL is allowed: the code is still returned, the message is dropped.
 */
#ifndef VIC_ERR_H
#define VIC_ERR_H

#include <stdarg.h>

typedef enum vic_code {
    VIC_OK = 0,
    VIC_EINVAL = -1,        /* bad input from the caller (400) */
    VIC_EAUTH = -2,         /* missing or wrong credentials (401) */
    VIC_EFORBIDDEN = -3,    /* authenticated but not allowed (403) */
    VIC_ENOTFOUND = -4,     /* no such object (404) */
    VIC_EMETHOD = -5,       /* method not allowed on this resource (405) */
    VIC_ECONFLICT = -6,     /* exists already, or a stale write (409) */
    VIC_ETOOBIG = -7,       /* request or input over a size limit (413) */
    VIC_EMEDIATYPE = -8,    /* wrong content type (415) */
    VIC_ELIMIT = -9,        /* rate limited or over a quota (429) */
    VIC_EINTERNAL = -10,    /* a bug or an unexpected state (500) */
    VIC_EIO = -11,          /* local I/O failure (500) */
    VIC_ECORRUPT = -12,     /* stored state unreadable or of an unknown version (500) */
    VIC_EUNSUPPORTED = -13, /* recognised but not implemented here (501) */
    VIC_EUPSTREAM = -14,    /* a server we called failed (502) */
    VIC_EUNAVAIL = -15,     /* shutting down or not ready (503) */
    VIC_ETIMEOUT = -16,     /* gave up waiting (504) */
} vic_code;

typedef struct vic_err {
    int code;  /* a vic_code */
    int sys;   /* errno that caused it, or 0 */
    char *msg; /* owned, never NULL */
} vic_err;

/* Sets *err (replacing any earlier error) and returns code. */
int vic_err_set(vic_err **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like vic_err_set, and appends ": strerror(errnum)". */
int vic_err_sys(vic_err **err, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes the message of *err with "context: " and returns code, the failing call's result
 * (also when err is NULL: a caller that ignores messages still gets the code). With err set
 * but no error in it, sets one saying so. */
int vic_err_wrap(vic_err **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Frees *err and sets it to NULL; safe on NULL and on *err == NULL. */
void vic_err_free(vic_err **err);

/* "EINVAL", "ENOTFOUND", ...: a stable name for logs. */
const char *vic_err_code_name(int code);

/* The HTTP status for a code (the one table mapping errors to statuses). */
int vic_err_http_status(int code);

#endif
