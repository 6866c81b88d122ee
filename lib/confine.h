/*
 * confine.h - applies a container's confinement to the process about to run its program:
 * the capability set (lib/caps.h), no-new-privileges, and the default seccomp filter. Used by
 * the guest agents right before they exec a container's process (the tether's session, the
 * local monitor's exec sessions), after their own setup is done.
 *
 * The seccomp policy is Docker's default profile turned around: Docker allows a list and
 * denies the rest; we allow by default and deny, with EPERM, the system calls Docker's
 * profile does not allow, with the same capability conditions. Denied always:
 *   keyctl add_key request_key userfaultfd kexec_load kexec_file_load swapon swapoff
 *   uselib ustat sysfs _sysctl get_kernel_syms query_module create_module nfsservctl
 *   vm86 vm86old move_pages afs_syscall tuxcall security vserver getpmsg putpmsg
 * denied unless the container holds the capability named:
 *   SYS_ADMIN: mount umount umount2 pivot_root setns unshare lookup_dcookie fanotify_init
 *     name_to_handle_at open_tree move_mount fsopen fsconfig fsmount fspick mount_setattr
 *     quotactl quotactl_fd sethostname setdomainname, clone with a namespace flag (NEWNS,
 *     NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET), clone3 (ENOSYS, so that libc
 *     falls back to clone, whose flags a filter can see)
 *   SYS_ADMIN or BPF: bpf; SYS_ADMIN or PERFMON: perf_event_open; SYS_ADMIN or SYSLOG: syslog
 *   DAC_READ_SEARCH: open_by_handle_at; SYS_MODULE: init_module finit_module delete_module
 *   SYS_BOOT: reboot; SYS_PACCT: acct; SYS_RAWIO: iopl ioperm
 *   SYS_PTRACE: kcmp process_vm_readv process_vm_writev pidfd_getfd (and ptrace itself on
 *     kernels before 4.8, whose seccomp could be bypassed with it)
 *   SYS_TIME: settimeofday stime clock_settime adjtimex clock_adjtime
 *   SYS_NICE: mbind set_mempolicy set_mempolicy_home_node
 *   personality: only PER_LINUX (0), PER_LINUX32 (8), UNAME26 (0x20000), both (0x20008)
 *     and 0xffffffff (a query), as Docker allows.
 * The i386 and x32 system call tables get the same rules.
 */
#ifndef VIC_CONFINE_H
#define VIC_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vic_confine {
    uint64_t caps;     /* the capabilities the program keeps (lib/caps.h masks) */
    bool no_new_privs; /* --security-opt no-new-privileges */
    bool seccomp;      /* apply the default seccomp filter */
} vic_confine;

/* Step one, in the process that will exec the program, while it is still the guest's root
 * with every capability of its user namespace: shrinks the bounding set to c->caps and
 * loads the seccomp filter (it needs CAP_SYS_ADMIN, or no_new_privs, which is then set and
 * why says so). Returns 0, or -1 with the reason in why. */
int vic_confine_enter(const vic_confine *c, char *why, size_t cap);

/* Step two, after the switch to the program's user and group, right before exec: a root
 * program keeps exactly c->caps (permitted and effective; inheritable and ambient empty), a
 * non-root one none (the user switch cleared them); no_new_privs is set when asked. Returns
 * 0, or -1 with the reason in why. */
int vic_confine_finish(const vic_confine *c, char *why, size_t cap);

/* The filter for a capability set as a BPF program, written to fd (libseccomp's export):
 * what the build compiles for Docker's default set. Returns 0, or -1 with the reason. */
int vic_confine_export(uint64_t caps, int fd, char *why, size_t cap);

/* The program compiled at build time for VIC_CAPS_DOCKER_DEFAULT (on Linux 4.8 and later),
 * which vic_confine_enter loads instead of building it; false when the build has none. */
bool vic_confine_default_program(const void **bpf, size_t *len);

/* Whether the filter denies personality(persona): the rule table, for tests. */
bool vic_confine_personality_denied(uint64_t persona);

#endif
