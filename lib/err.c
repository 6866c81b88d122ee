#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

static const struct {
    int code;
    const char *name;
    int status;
} code_table[] = {
    {VIC_OK, "OK", 200},
    {VIC_EINVAL, "EINVAL", 400},
    {VIC_EAUTH, "EAUTH", 401},
    {VIC_EFORBIDDEN, "EFORBIDDEN", 403},
    {VIC_ENOTFOUND, "ENOTFOUND", 404},
    {VIC_EMETHOD, "EMETHOD", 405},
    {VIC_ECONFLICT, "ECONFLICT", 409},
    {VIC_ETOOBIG, "ETOOBIG", 413},
    {VIC_EMEDIATYPE, "EMEDIATYPE", 415},
    {VIC_ELIMIT, "ELIMIT", 429},
    {VIC_EINTERNAL, "EINTERNAL", 500},
    {VIC_EIO, "EIO", 500},
    {VIC_ECORRUPT, "ECORRUPT", 500},
    {VIC_EUNSUPPORTED, "EUNSUPPORTED", 501},
    {VIC_EUPSTREAM, "EUPSTREAM", 502},
    {VIC_EUNAVAIL, "EUNAVAIL", 503},
    {VIC_ETIMEOUT, "ETIMEOUT", 504},
};

static int replace(vic_err **err, int code, int sys, char *msg)
{
    if (err == NULL) {
        free(msg);
        return code;
    }
    vic_err_free(err);
    vic_err *e = xmalloc(sizeof(*e));
    e->code = code;
    e->sys = sys;
    e->msg = msg;
    *err = e;
    return code;
}

int vic_err_set(vic_err **err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    return replace(err, code, 0, msg);
}

int vic_err_sys(vic_err **err, int code, int errnum, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    char *head = xvasprintf(fmt, ap);
    va_end(ap);
    char *msg = xasprintf("%s: %s", head, strerror(errnum));
    free(head);
    return replace(err, code, errnum, msg);
}

int vic_err_wrap(vic_err **err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    if (*err == NULL)
        return vic_err_set(err, code, "error wrapped but never set");
    va_list ap;
    va_start(ap, fmt);
    char *head = xvasprintf(fmt, ap);
    va_end(ap);
    char *msg = xasprintf("%s: %s", head, (*err)->msg);
    free(head);
    free((*err)->msg);
    (*err)->msg = msg;
    return code;
}

void vic_err_free(vic_err **err)
{
    if (err == NULL || *err == NULL)
        return;
    free((*err)->msg);
    free(*err);
    *err = NULL;
}

const char *vic_err_code_name(int code)
{
    for (size_t i = 0; i < sizeof(code_table) / sizeof(code_table[0]); i++)
        if (code_table[i].code == code)
            return code_table[i].name;
    return "EUNKNOWN";
}

int vic_err_http_status(int code)
{
    for (size_t i = 0; i < sizeof(code_table) / sizeof(code_table[0]); i++)
        if (code_table[i].code == code)
            return code_table[i].status;
    return 500;
}
