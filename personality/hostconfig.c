/*
 * hostconfig.c - Docker's checks of a create's HostConfig (see hostconfig.h).
 */
#include "personality/hostconfig.h"

#include <string.h>

static int restart_policy_check(const json_t *policy, vic_err **err)
{
    if (policy == NULL || json_is_null(policy))
        return 0;
    if (!json_is_object(policy))
        return vic_err_set(err, VIC_EINVAL, "invalid RestartPolicy: an object");
    const json_t *jn = json_object_get(policy, "Name");
    const json_t *jc = json_object_get(policy, "MaximumRetryCount");
    if ((jn && !json_is_string(jn) && !json_is_null(jn)) ||
        (jc && !json_is_integer(jc) && !json_is_null(jc)))
        return vic_err_set(err, VIC_EINVAL,
                           "invalid RestartPolicy: Name is a string, MaximumRetryCount a number");
    const char *name = json_is_string(jn) ? json_string_value(jn) : "";
    json_int_t count = json_integer_value(jc);
    if (strcmp(name, "always") == 0 || strcmp(name, "unless-stopped") == 0 ||
        strcmp(name, "no") == 0) {
        if (count != 0)
            return vic_err_set(err, VIC_EINVAL,
                               "maximum retry count cannot be used with restart policy '%s'", name);
        return 0;
    }
    if (strcmp(name, "on-failure") == 0) {
        if (count < 0)
            return vic_err_set(err, VIC_EINVAL, "maximum retry count cannot be negative");
        return 0;
    }
    if (*name == '\0')
        return 0;
    return vic_err_set(err, VIC_EINVAL, "invalid restart policy '%.64s'", name);
}

/* A limit in bytes: absent, null or 0 (no limit), or at least ENGINE_MIN_MEMORY. */
static int memory_check(const json_t *host, const char *key, const char *what, vic_err **err)
{
    const json_t *v = json_object_get(host, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return vic_err_set(err, VIC_EINVAL, "invalid %s: a number of bytes", key);
    json_int_t n = json_integer_value(v);
    if (n != 0 && n < ENGINE_MIN_MEMORY)
        return vic_err_set(err, VIC_EINVAL, "Minimum %s allowed is 6MB", what);
    return 0;
}

int engine_hostconfig_check(const json_t *host, vic_err **err)
{
    if (host == NULL || json_is_null(host))
        return 0;
    if (!json_is_object(host))
        return vic_err_set(err, VIC_EINVAL, "invalid HostConfig: an object");
    int rc = restart_policy_check(json_object_get(host, "RestartPolicy"), err);
    if (rc == 0)
        rc = memory_check(host, "Memory", "memory limit", err);
    if (rc == 0)
        rc = memory_check(host, "MemoryReservation", "memory reservation", err);
    return rc;
}
