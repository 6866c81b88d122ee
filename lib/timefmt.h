/*
 * timefmt.h - RFC 3339 timestamps (UTC, "Z") as the Docker API shows them.
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

#endif
