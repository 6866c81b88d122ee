#include "confine.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "caps.h"

#include <linux/filter.h>
#include <linux/seccomp.h>

/* Docker's default capability set's filter, compiled when VIC-C is built (mk/seccomp-gen.c):
 * loading it costs a system call, where libseccomp takes about 2 ms to build it. */
#ifdef VIC_SECCOMP_DEFAULT
#include "seccomp_default.h"
#endif

#define CAP(n) (UINT64_C(1) << (n))

/* A system call denied unless the container holds one of the capabilities in allow_if (0:
 * denied always). */
typedef struct deny_rule {
    const char *name;
    uint64_t allow_if;
    int err;
} deny_rule;

static const deny_rule deny_rules[] = {
    /* never, as in Docker's profile */
    {"keyctl", 0, EPERM},
    {"add_key", 0, EPERM},
    {"request_key", 0, EPERM},
    {"userfaultfd", 0, EPERM},
    {"kexec_load", 0, EPERM},
    {"kexec_file_load", 0, EPERM},
    {"swapon", 0, EPERM},
    {"swapoff", 0, EPERM},
    {"uselib", 0, EPERM},
    {"ustat", 0, EPERM},
    {"sysfs", 0, EPERM},
    {"_sysctl", 0, EPERM},
    {"get_kernel_syms", 0, EPERM},
    {"query_module", 0, EPERM},
    {"create_module", 0, EPERM},
    {"nfsservctl", 0, EPERM},
    {"vm86", 0, EPERM},
    {"vm86old", 0, EPERM},
    {"move_pages", 0, EPERM},
    {"afs_syscall", 0, EPERM},
    {"tuxcall", 0, EPERM},
    {"security", 0, EPERM},
    {"vserver", 0, EPERM},
    {"getpmsg", 0, EPERM},
    {"putpmsg", 0, EPERM},
    /* CAP_SYS_ADMIN */
    {"mount", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"umount", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"umount2", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"pivot_root", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"setns", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"unshare", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"lookup_dcookie", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"fanotify_init", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"name_to_handle_at", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"open_tree", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"move_mount", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"fsopen", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"fsconfig", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"fsmount", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"fspick", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"mount_setattr", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"quotactl", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"quotactl_fd", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"sethostname", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"setdomainname", CAP(VIC_CAP_SYS_ADMIN), EPERM},
    {"clone3", CAP(VIC_CAP_SYS_ADMIN), ENOSYS}, /* libc falls back to clone */
    {"bpf", CAP(VIC_CAP_SYS_ADMIN) | CAP(VIC_CAP_BPF), EPERM},
    {"perf_event_open", CAP(VIC_CAP_SYS_ADMIN) | CAP(VIC_CAP_PERFMON), EPERM},
    {"syslog", CAP(VIC_CAP_SYS_ADMIN) | CAP(VIC_CAP_SYSLOG), EPERM},
    /* one capability each */
    {"open_by_handle_at", CAP(VIC_CAP_DAC_READ_SEARCH), EPERM},
    {"init_module", CAP(VIC_CAP_SYS_MODULE), EPERM},
    {"finit_module", CAP(VIC_CAP_SYS_MODULE), EPERM},
    {"delete_module", CAP(VIC_CAP_SYS_MODULE), EPERM},
    {"reboot", CAP(VIC_CAP_SYS_BOOT), EPERM},
    {"acct", CAP(VIC_CAP_SYS_PACCT), EPERM},
    {"iopl", CAP(VIC_CAP_SYS_RAWIO), EPERM},
    {"ioperm", CAP(VIC_CAP_SYS_RAWIO), EPERM},
    {"kcmp", CAP(VIC_CAP_SYS_PTRACE), EPERM},
    {"process_vm_readv", CAP(VIC_CAP_SYS_PTRACE), EPERM},
    {"process_vm_writev", CAP(VIC_CAP_SYS_PTRACE), EPERM},
    {"pidfd_getfd", CAP(VIC_CAP_SYS_PTRACE), EPERM},
    {"settimeofday", CAP(VIC_CAP_SYS_TIME), EPERM},
    {"stime", CAP(VIC_CAP_SYS_TIME), EPERM},
    {"clock_settime", CAP(VIC_CAP_SYS_TIME), EPERM},
    {"adjtimex", CAP(VIC_CAP_SYS_TIME), EPERM},
    {"clock_adjtime", CAP(VIC_CAP_SYS_TIME), EPERM},
    {"mbind", CAP(VIC_CAP_SYS_NICE), EPERM},
    {"set_mempolicy", CAP(VIC_CAP_SYS_NICE), EPERM},
    {"set_mempolicy_home_node", CAP(VIC_CAP_SYS_NICE), EPERM},
};

/* clone's namespace flags (Docker's mask 0x7E020000): clone is denied when one is set. */
static const uint64_t clone_ns_flags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS,
                                          CLONE_NEWIPC, CLONE_NEWUSER,   CLONE_NEWPID,
                                          CLONE_NEWNET};

/* personality: Docker allows 0, 8, 0x20000, 0x20008 and 0xffffffff. A default-allow filter
 * denies the rest, and libseccomp compares an argument once per rule, so the complement is
 * a union of single comparisons: a value above 32 bits; or bits i set and i+1 clear (i not
 * 3 or 17, the allowed bits; cyclic, so that every value but all-ones has such a pair when it
 * has a bit outside {3, 17}); or bit 2 set and 4 clear, bit 16 set and 18 clear (a run of
 * ones that ends on bit 3 or 17 started below it). None of these holds for an allowed value. */
typedef struct persona_rule {
    uint64_t mask, datum;
} persona_rule;

static size_t persona_rules(persona_rule out[40])
{
    size_t n = 0;
    for (int i = 0; i < 32; i++) {
        if (i == 3 || i == 17)
            continue;
        uint64_t bit = UINT64_C(1) << i, next = UINT64_C(1) << ((i + 1) % 32);
        out[n++] = (persona_rule){bit | next, bit};
    }
    out[n++] = (persona_rule){(UINT64_C(1) << 2) | (UINT64_C(1) << 4), UINT64_C(1) << 2};
    out[n++] = (persona_rule){(UINT64_C(1) << 16) | (UINT64_C(1) << 18), UINT64_C(1) << 16};
    return n;
}

bool vic_confine_personality_denied(uint64_t persona)
{
    if (persona > 0xffffffffu)
        return true;
    persona_rule r[40];
    size_t n = persona_rules(r);
    for (size_t i = 0; i < n; i++)
        if ((persona & r[i].mask) == r[i].datum)
            return true;
    return false;
}

/* ptrace could bypass seccomp before Linux 4.8: Docker allows it from 4.8 on. */
static int kernel_before_4_8(void)
{
    struct utsname u;
    int major = 0, minor = 0;
    if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
        return 1;
    return major < 4 || (major == 4 && minor < 8);
}

static int add_rule(scmp_filter_ctx f, const char *name, uint32_t action, unsigned n_cmp,
                    const struct scmp_arg_cmp *cmp, char *why, size_t cap)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return 0; /* unknown to this libseccomp: nothing to deny */
    int rc = seccomp_rule_add_array(f, action, nr, n_cmp, cmp);
    if (rc < 0 && nr < 0)
        return 0; /* a pseudo number: the call exists on none of the filter's tables */
    if (rc < 0) {
        snprintf(why, cap, "seccomp: rule for %s: %s", name, strerror(-rc));
        return -1;
    }
    return 0;
}

static int build_filter(scmp_filter_ctx f, uint64_t caps, char *why, size_t cap)
{
    int rc;
    /* Docker does not set no_new_privs for its profile either: setuid programs keep working */
    if ((rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_NNP, 0)) < 0) {
        snprintf(why, cap, "seccomp: %s", strerror(-rc));
        return -1;
    }
    if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
        seccomp_arch_add(f, SCMP_ARCH_X86); /* failure: those tables stay unreachable (KILL) */
        seccomp_arch_add(f, SCMP_ARCH_X32);
    }
    for (size_t i = 0; i < sizeof(deny_rules) / sizeof(deny_rules[0]); i++) {
        const deny_rule *d = &deny_rules[i];
        if (d->allow_if & caps)
            continue;
        if (add_rule(f, d->name, SCMP_ACT_ERRNO((uint32_t)d->err), 0, NULL, why, cap) < 0)
            return -1;
    }
    if (!(caps & CAP(VIC_CAP_SYS_ADMIN))) {
        for (size_t i = 0; i < sizeof(clone_ns_flags) / sizeof(clone_ns_flags[0]); i++) {
            struct scmp_arg_cmp c =
                SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]);
            if (add_rule(f, "clone", SCMP_ACT_ERRNO(EPERM), 1, &c, why, cap) < 0)
                return -1;
        }
    }
    if (!(caps & CAP(VIC_CAP_SYS_PTRACE)) && kernel_before_4_8() &&
        add_rule(f, "ptrace", SCMP_ACT_ERRNO(EPERM), 0, NULL, why, cap) < 0)
        return -1;
    persona_rule pr[40];
    size_t n = persona_rules(pr);
    for (size_t i = 0; i < n; i++) {
        struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, pr[i].mask, pr[i].datum);
        if (add_rule(f, "personality", SCMP_ACT_ERRNO(EPERM), 1, &c, why, cap) < 0)
            return -1;
    }
    struct scmp_arg_cmp high = {.arg = 0, .op = SCMP_CMP_GT, .datum_a = 0xffffffffu, .datum_b = 0};
    return add_rule(f, "personality", SCMP_ACT_ERRNO(EPERM), 1, &high, why, cap);
}

bool vic_confine_default_program(const void **bpf, size_t *len)
{
#ifdef VIC_SECCOMP_DEFAULT
    *bpf = vic_seccomp_default_bpf;
    *len = sizeof(vic_seccomp_default_bpf);
    return true;
#else
    *bpf = NULL;
    *len = 0;
    return false;
#endif
}

int vic_confine_export(uint64_t caps, int fd, char *why, size_t cap)
{
    why[0] = '\0';
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
    if (f == NULL) {
        snprintf(why, cap, "seccomp: cannot initialise a filter");
        return -1;
    }
    int rc = build_filter(f, caps, why, cap);
    if (rc == 0 && (rc = seccomp_export_bpf(f, fd)) < 0)
        snprintf(why, cap, "seccomp: export the filter: %s", strerror(-rc));
    seccomp_release(f);
    return rc < 0 ? -1 : 0;
}

/* Loads a compiled filter as libseccomp would (no flags; without CAP_SYS_ADMIN the kernel
 * takes it only under no_new_privs, which is then set). */
static int load_program(const void *bpf, size_t len, char *why, size_t cap)
{
    struct sock_fprog prog = {.len = (unsigned short)(len / sizeof(struct sock_filter)),
                              .filter = (struct sock_filter *)(uintptr_t)bpf};
    int rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
    if (rc < 0 && errno == EACCES && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
        rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
    if (rc < 0)
        snprintf(why, cap, "seccomp: load the filter: %s", strerror(errno));
    return rc;
}

static int load_seccomp(uint64_t caps, char *why, size_t cap)
{
    const void *bpf = NULL;
    size_t len = 0;
    if (caps == VIC_CAPS_DOCKER_DEFAULT && !kernel_before_4_8() &&
        vic_confine_default_program(&bpf, &len))
        return load_program(bpf, len, why, cap);
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
    if (f == NULL) {
        snprintf(why, cap, "seccomp: cannot initialise a filter");
        return -1;
    }
    int rc = build_filter(f, caps, why, cap);
    if (rc == 0 && (rc = seccomp_load(f)) == -EACCES) {
        /* without CAP_SYS_ADMIN the kernel takes a filter only under no_new_privs */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            rc = -errno;
        else
            rc = seccomp_load(f);
    }
    if (rc < 0 && why[0] == '\0')
        snprintf(why, cap, "seccomp: load the filter: %s", strerror(-rc));
    seccomp_release(f);
    return rc < 0 ? -1 : 0;
}

int vic_confine_enter(const vic_confine *c, char *why, size_t cap)
{
    why[0] = '\0';
    for (int i = 0; i < 64; i++) {
        if (c->caps & (UINT64_C(1) << i))
            continue;
        if (prctl(PR_CAPBSET_DROP, (unsigned long)i, 0, 0, 0) < 0 && errno != EINVAL) {
            snprintf(why, cap, "drop capability %d from the bounding set: %s", i, strerror(errno));
            return -1;
        } /* EINVAL: past the kernel's last capability */
    }
    if (c->seccomp && load_seccomp(c->caps, why, cap) < 0)
        return -1;
    return 0;
}

int vic_confine_finish(const vic_confine *c, char *why, size_t cap)
{
    why[0] = '\0';
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); /* EINVAL before 4.3: none */
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0) {
        snprintf(why, cap, "capget: %s", strerror(errno));
        return -1;
    }
    uint64_t keep = geteuid() == 0 ? c->caps : 0;
    for (int i = 0; i < 2; i++) {
        uint32_t k = (uint32_t)(keep >> (32 * i));
        d[i].permitted &= k;
        d[i].effective &= k;
        d[i].inheritable = 0;
    }
    if (syscall(SYS_capset, &h, d) < 0) {
        snprintf(why, cap, "set capabilities: %s", strerror(errno));
        return -1;
    }
    if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(why, cap, "set no_new_privs: %s", strerror(errno));
        return -1;
    }
    return 0;
}
