/*
 * caps.h - a container's confinement as Docker describes it: the capabilities its processes
 * keep (Docker's default set, changed by --cap-add / --cap-drop), no-new-privileges, and
 * whether the default seccomp profile applies (--security-opt). Pure logic: the docker
 * personality and the port layer validate and resolve with it, the guest agents (the tether,
 * the local monitor's exec sessions) read the resolved result back from guestinfo and apply
 * it with lib/confine.h.
 *
 * A capability set is a bit mask: bit n is Linux capability n (CAP_CHOWN is bit 0).
 * Capability names are Docker's: "CHOWN" or "CAP_CHOWN", any case; "ALL" in an add or a drop
 * list means every capability.
 */
#ifndef VIC_CAPS_H
#define VIC_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The highest capability number this code knows (CAP_CHECKPOINT_RESTORE). */
#define VIC_CAP_LAST 40

/* Docker's default set: CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID,
 * SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE (CapEff 00000000a80425fb). */
#define VIC_CAPS_DOCKER_DEFAULT UINT64_C(0x00000000a80425fb)

/* Every capability this code knows. */
#define VIC_CAPS_ALL ((UINT64_C(1) << (VIC_CAP_LAST + 1)) - 1)

/* Linux capability numbers used by the seccomp policy. */
#define VIC_CAP_SYS_MODULE      16
#define VIC_CAP_SYS_RAWIO       17
#define VIC_CAP_SYS_PTRACE      19
#define VIC_CAP_SYS_PACCT       20
#define VIC_CAP_SYS_ADMIN       21
#define VIC_CAP_SYS_BOOT        22
#define VIC_CAP_SYS_NICE        23
#define VIC_CAP_SYS_TIME        25
#define VIC_CAP_SYSLOG          34
#define VIC_CAP_PERFMON         38
#define VIC_CAP_BPF             39
#define VIC_CAP_DAC_READ_SEARCH 2

/* The capability a name means (0..VIC_CAP_LAST), or -1 for an unknown name. "ALL" is not a
 * capability (-1). */
int vic_cap_from_name(const char *name);

/* "CHOWN" for 0; NULL outside 0..VIC_CAP_LAST. Borrowed. */
const char *vic_cap_name(int cap);

/* Docker's resolution of --cap-add and --cap-drop over the default set: with ALL added, every
 * capability but those dropped; with ALL dropped, only those added; otherwise the default set
 * without the dropped and with the added ones. An unknown name is VIC_EINVAL, "invalid CapAdd:
 * unknown capability: \"CAP_X\"" (or CapDrop). */
int vic_caps_resolve(uint64_t *out, const char *const *add, size_t n_add, const char *const *drop,
                     size_t n_drop, vic_err **err);

/* The names of the set, comma-separated, in capability order ("" for none); caller frees. */
char *vic_caps_format(uint64_t caps);

/* Parses what vic_caps_format wrote. VIC_EINVAL names an unknown capability. */
int vic_caps_parse(uint64_t *out, const char *list, vic_err **err);

/* Options of `docker run --security-opt` this code honours. */
typedef struct vic_security_opts {
    bool no_new_privileges;
    bool seccomp_unconfined;
} vic_security_opts;

/* Applies one --security-opt value: "no-new-privileges" (optionally ":true", ":false", "=true",
 * "=false"), "seccomp=unconfined" (or ':'). Anything else is VIC_EINVAL with a message that
 * says what is and is not supported (a custom seccomp profile, apparmor, label, ...). */
int vic_security_opt_apply(vic_security_opts *o, const char *opt, vic_err **err);

#endif
