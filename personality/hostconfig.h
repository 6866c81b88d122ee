/*
 * hostconfig.h - the checks Docker Engine makes of a create's HostConfig before it makes
 * anything (moby's verifyContainerSettings), with its messages, so that a bad parameter is a
 * 400 that names it rather than a container made with the value dropped.
 */
#ifndef VIC_PERSONALITY_HOSTCONFIG_H
#define VIC_PERSONALITY_HOSTCONFIG_H

#include <jansson.h>

#include "lib/err.h"

/* Docker's smallest memory limit (and reservation), 6 MiB. */
#define ENGINE_MIN_MEMORY (6 * 1024 * 1024)

/* 0 when host (a create's HostConfig, NULL or absent fields: the defaults) passes Docker's
 * checks: RestartPolicy (name no, always, unless-stopped, on-failure or empty; a retry count
 * only with on-failure, never negative) and Memory and MemoryReservation (0, or at least
 * ENGINE_MIN_MEMORY). Otherwise VIC_EINVAL with Docker's message. */
int engine_hostconfig_check(const json_t *host, vic_err **err);

#endif
