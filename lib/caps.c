#include "caps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

static const char *const cap_names[VIC_CAP_LAST + 1] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};

int vic_cap_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    if (strncasecmp(name, "CAP_", 4) == 0)
        name += 4;
    for (int i = 0; i <= VIC_CAP_LAST; i++)
        if (strcasecmp(name, cap_names[i]) == 0)
            return i;
    return -1;
}

const char *vic_cap_name(int cap)
{
    return cap >= 0 && cap <= VIC_CAP_LAST ? cap_names[cap] : NULL;
}

static int is_all(const char *name)
{
    return name && strcasecmp(name, "ALL") == 0;
}

/* The mask of a list (ALL excluded), or VIC_EINVAL naming the first unknown entry. */
static int mask_of(uint64_t *out, int *has_all, const char *const *names, size_t n,
                   const char *what, vic_err **err)
{
    *out = 0;
    *has_all = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_all(names[i])) {
            *has_all = 1;
            continue;
        }
        int c = vic_cap_from_name(names[i]);
        if (c < 0) {
            const char *n0 = names[i] ? names[i] : "";
            int prefixed = strncasecmp(n0, "CAP_", 4) == 0;
            return vic_err_set(err, VIC_EINVAL, "invalid %s: unknown capability: \"%s%.64s\"", what,
                               prefixed ? "" : "CAP_", n0);
        }
        *out |= UINT64_C(1) << c;
    }
    return 0;
}

int vic_caps_resolve(uint64_t *out, const char *const *add, size_t n_add, const char *const *drop,
                     size_t n_drop, vic_err **err)
{
    uint64_t a, d;
    int add_all, drop_all, rc;
    if ((rc = mask_of(&a, &add_all, add, n_add, "CapAdd", err)) < 0 ||
        (rc = mask_of(&d, &drop_all, drop, n_drop, "CapDrop", err)) < 0)
        return rc;
    if (add_all)
        *out = VIC_CAPS_ALL & ~d;
    else if (drop_all)
        *out = a;
    else
        *out = (VIC_CAPS_DOCKER_DEFAULT & ~d) | a;
    return 0;
}

char *vic_caps_format(uint64_t caps)
{
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    for (int i = 0; i <= VIC_CAP_LAST; i++)
        if (caps & (UINT64_C(1) << i))
            vic_buf_appendf(&b, "%s%s", b.len ? "," : "", cap_names[i]);
    return vic_buf_steal(&b);
}

int vic_caps_parse(uint64_t *out, const char *list, vic_err **err)
{
    *out = 0;
    if (list == NULL)
        return 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        char name[64];
        if (n >= sizeof(name))
            return vic_err_set(err, VIC_EINVAL, "unknown capability %.64s", p);
        memcpy(name, p, n);
        name[n] = '\0';
        int c = vic_cap_from_name(name);
        if (n && c < 0)
            return vic_err_set(err, VIC_EINVAL, "unknown capability %s", name);
        if (n)
            *out |= UINT64_C(1) << c;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* "key" alone, "key:value" or "key=value": 1 and the value (or NULL) when opt names key. */
static int opt_is(const char *opt, const char *key, const char **value)
{
    size_t n = strlen(key);
    if (strncmp(opt, key, n) != 0)
        return 0;
    if (opt[n] == '\0') {
        *value = NULL;
        return 1;
    }
    if (opt[n] == ':' || opt[n] == '=') {
        *value = opt + n + 1;
        return 1;
    }
    return 0;
}

int vic_security_opt_apply(vic_security_opts *o, const char *opt, vic_err **err)
{
    const char *v = NULL;
    if (opt == NULL)
        return vic_err_set(err, VIC_EINVAL, "invalid --security-opt: a string is expected");
    if (opt_is(opt, "no-new-privileges", &v)) {
        if (v == NULL || strcmp(v, "true") == 0)
            o->no_new_privileges = true;
        else if (strcmp(v, "false") == 0)
            o->no_new_privileges = false;
        else
            return vic_err_set(err, VIC_EINVAL,
                               "invalid --security-opt \"%.200s\": no-new-privileges takes "
                               "true or false",
                               opt);
        return 0;
    }
    if (opt_is(opt, "seccomp", &v)) {
        if (v && strcmp(v, "unconfined") == 0) {
            o->seccomp_unconfined = true;
            return 0;
        }
        return vic_err_set(err, VIC_EINVAL,
                           "invalid --security-opt \"%.200s\": only seccomp=unconfined is "
                           "supported (a VCH applies Docker's default profile; custom profiles "
                           "are not supported)",
                           opt);
    }
    /* Containers of a VCH have no AppArmor profile nor SELinux label: asking for none is
     * what they get already. */
    if ((opt_is(opt, "apparmor", &v) && v && strcmp(v, "unconfined") == 0) ||
        (opt_is(opt, "label", &v) && v && strcmp(v, "disable") == 0))
        return 0;
    if (opt_is(opt, "apparmor", &v) || opt_is(opt, "label", &v))
        return vic_err_set(err, VIC_EINVAL,
                           "invalid --security-opt \"%.200s\": a VCH has no AppArmor or SELinux "
                           "profiles (only apparmor=unconfined and label=disable are accepted)",
                           opt);
    return vic_err_set(err, VIC_EINVAL,
                       "invalid --security-opt \"%.200s\": supported options are "
                       "no-new-privileges[:true|false] and seccomp=unconfined",
                       opt);
}
