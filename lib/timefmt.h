/*
 * timefmt.h - RFC 3339 timestamps (UTC, "Z") as the Docker API shows them, and the Unix
 * timestamps its queries carry.
 */
#ifndef VIC_TIMEFMT_H
#define VIC_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Writes ns (nanoseconds since the epoch) as "2006-01-02T15:04:05.000000000Z", with all nine
 * digits; ns <= 0 (unknown) is Go's zero time "0001-01-01T00:00:00Z". Truncated to cap. */
void vic_rfc3339(char *out, size_t cap, int64_t ns);

/* Writes secs (seconds since the epoch) as "2006-01-02T15:04:05Z"; 0 is the epoch itself.
 * Empty when it does not fit in cap. */
void vic_rfc3339_secs(char *out, size_t cap, int64_t secs);

/* Docker's query timestamps, "SECONDS[.FRACTION]" (the CLI sends "1700000000.000000000"):
 * SECONDS may be negative (before 1970; the fraction still counts forward, as Go's
 * time.Unix), FRACTION is one or more digits of a second (past nine, the rest is dropped).
 * Times beyond what int64 nanoseconds hold (year 2262) are clamped. Returns 0 and *ns, or -1
 * when v is not such a timestamp. */
int vic_unix_time_parse(const char *v, int64_t *ns);

#endif
