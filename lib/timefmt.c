#include "timefmt.h"

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
