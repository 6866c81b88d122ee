/*
 * healthmon.h - the health checker: runs the health checks (portlayer/health.h) of a pool's
 * running containers, one thread per container checked, and records each result in the
 * container's VM (pl_handle_commit), where the next port layer finds it. Its events (Docker's
 * "health_status: STATUS") are kept in memory, as Docker's daemon keeps its events.
 */
#ifndef VIC_PL_HEALTHMON_H
#define VIC_PL_HEALTHMON_H

#include <jansson.h>
#include <stdint.h>

#include "lib/err.h"
#include "portlayer/containers.h"

typedef struct pl_healthmon pl_healthmon;

/* Starts checking the running containers of p that have a check, from a thread of its own
 * (one more per container while it is checked) until pl_healthmon_stop. */
int pl_healthmon_start(pl_healthmon **out, pl *p, vic_err **err);

/* Stops every check (a run under way is abandoned) and frees h; NULL does nothing. */
void pl_healthmon_stop(pl_healthmon *h);

/* The health events (Docker's "health_status: STATUS") after sequence number after_seq (0:
 * all kept) and at or after since_ns, oldest first, as {type, id, name, image, time_ns, seq}.
 * At most the last 256 are kept. A new array. */
json_t *pl_healthmon_events(pl_healthmon *h, int64_t after_seq, int64_t since_ns);

/* The sequence number of the last health event (so that a follower takes only new ones). */
int64_t pl_healthmon_event_seq(pl_healthmon *h);

#endif
