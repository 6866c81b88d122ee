#include "timefmt.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

void vic_rfc3339(char *out, size_t cap, int64_t ns)
{
    if (ns <= 0) {
        snprintf(out, cap, "0001-01-01T00:00:00Z");
        return;
    }
    time_t t = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)(ns % 1000000000));
}

void vic_rfc3339_secs(char *out, size_t cap, int64_t secs)
{
    struct tm tm = {0};
    time_t t = (time_t)secs;
    gmtime_r(&t, &tm);
    if (cap > 0 && strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        out[0] = '\0';
}

int vic_unix_time_parse(const char *v, int64_t *ns)
{
    const char *p = v;
    int neg = *p == '-';
    p += neg;
    if (*p < '0' || *p > '9')
        return -1;
    /* past 9223372036 seconds int64 nanoseconds overflow: count digits, clamp later */
    int64_t secs = 0;
    int big = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (secs > 9300000000LL)
            big = 1;
        else
            secs = secs * 10 + (*p - '0');
    }
    int64_t frac = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 9)
                frac = frac * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        for (; digits < 9; digits++)
            frac *= 10;
    }
    if (*p)
        return -1;
    if (big || secs > 9223372035LL)
        *ns = neg ? INT64_MIN : INT64_MAX;
    else
        *ns = (neg ? -secs : secs) * 1000000000 + frac;
    return 0;
}
