/*
 * hostconfig.h - what a create's HostConfig (and the Config around it) may ask of a VCH.
 *
 * Two kinds of check, both before anything is made, both a 400 that names the option:
 *   - Docker Engine's own (moby's verifyContainerSettings), with its messages;
 *   - what a VCH cannot honour (a container is a VM of its own: no host namespaces, no
 *     cgroup knobs, no devices), refused with the reason rather than accepted and dropped.
 * Everything else is recorded as given (engine_hostconfig_given) and inspect shows it on
 * top of Docker's zero values (engine_hostconfig_zero).
 */
#ifndef VIC_PERSONALITY_HOSTCONFIG_H
#define VIC_PERSONALITY_HOSTCONFIG_H

#include <jansson.h>

#include <stdint.h>

#include "lib/err.h"

/* Docker's smallest memory limit (and reservation), 6 MiB. */
#define ENGINE_MIN_MEMORY (6 * 1024 * 1024)

/* The /dev/shm every container of a VCH has (Docker's default ShmSize), 64 MiB. */
#define ENGINE_SHM_SIZE (64 * 1024 * 1024)

/* The most vCPUs a container's VM may have (the port layer's limit). */
#define ENGINE_MAX_CPUS 64

/* 0 when host (a create's HostConfig; NULL or absent fields: the defaults) passes Docker's
 * checks (RestartPolicy: name no, always, unless-stopped, on-failure or empty, a retry count
 * only with on-failure and never negative; Memory and MemoryReservation 0 or at least
 * ENGINE_MIN_MEMORY; MemorySwap, MemorySwappiness, ShmSize, Isolation, Runtime) and asks
 * nothing a VCH cannot do. Otherwise VIC_EINVAL with the message. */
int engine_hostconfig_check(const json_t *host, vic_err **err);

/* The same for the Config fields of a create body b (its top level): MacAddress well
 * formed, StopTimeout a number, Labels strings, a Healthcheck as Docker checks it (durations
 * 0 or at least 1ms, Retries not negative, a CMD or CMD-SHELL test with a command), and no
 * Domainname or NetworkDisabled, which a VCH does not honour. */
int engine_config_check(const json_t *b, vic_err **err);

/* Docker's HostConfig of a container created without any of its fields: what inspect shows
 * for a field not given. New reference. */
json_t *engine_hostconfig_zero(void);

/* The fields of host (a checked HostConfig) that Docker knows and whose value differs from
 * engine_hostconfig_zero's: what a container records. New reference ({} for none). */
json_t *engine_hostconfig_given(const json_t *host);

/* The CPU time host's NanoCpus (--cpus) or CpuQuota and CpuPeriod ask for (a checked
 * HostConfig), in thousandths of a CPU, rounded up: 0 when not given. */
int64_t engine_hostconfig_cpu_millis(const json_t *host);

/* host's CpuShares within the kernel's 2..262144; 0 when not given. */
int engine_hostconfig_cpu_shares(const json_t *host);

/* host's PidsLimit; 0 for none (Docker's 0 and -1). */
int64_t engine_hostconfig_pids_limit(const json_t *host);

/* host's RestartPolicy (checked already) as the port layer's restart_policy {name,
 * maximum_retry_count}, recorded as given; NULL when it names none. New reference. */
json_t *engine_hostconfig_restart_policy(const json_t *host);

#endif
