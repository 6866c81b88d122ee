#include "hypervisor/local/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/local/cgroup.h"
#include "hypervisor/local/giserve.h"
#include "hypervisor/local/guestexec.h"
#include "hypervisor/local/idrange.h"
#include "hypervisor/local/local.h"
#include "hypervisor/local/netdev.h"
#include "hypervisor/local/portfwd.h"
#include "hypervisor/local/vmx.h"
#include "lib/caps.h"
#include "lib/cleanup.h"
#include "lib/confine.h"
#include "lib/crypto.h"
#include "lib/execconfig.h"
#include "lib/gichan.h"
#include "lib/guestinfo.h"
#include "lib/log.h"
#include "lib/mem.h"

/* Data disks (scsi0:1 to scsi0:15) appear in a containerVM at /.vic/disks/N. */
#define MONITOR_MAX_DISKS 16

typedef struct monitor {
    const monitor_opts *o;
    char *dir;
    char *vmx;
    char *ds_root;
    const char *home; /* the real path of $VIC_HOME */
    const json_t *kv; /* the VM's configuration as read at power on */
    int plugged;      /* its NICs are plugged into their segments */
    char *rootfs;
    char *disks[MONITOR_MAX_DISKS]; /* host directories of data disks scsi0:1.., or NULL */
    char *tether;
    char *init;       /* vic-init, the appliance's PID 1 */
    int appliance;    /* the guest is the VCH appliance, in the host's namespaces */
    uint32_t id_base; /* host id of the guest's id 0: its id range (idrange.h) */
    char pool_rel[512];
    cg_host cg;
    int in_cgroup;
    pid_t guest;
    int gi_fd;
    giserve gi;
    int attach_fd;  /* our end of the guest's interactive channel */
    int listen_fd;  /* attach.sock, where a holder connects */
    int client_fd;  /* the current holder, -1 for none */
    int alive_fd;   /* write end of the guest's sync pipe, kept open while we run */
    json_t *kv_now; /* the configuration after a change of NICs while running (owned), or NULL */
    int ctl_fd;     /* ctl.sock, where the host asks for changes to the running guest */
    portfwd *pf;    /* the NICs' port forwards, or NULL */
    gexec *gx;      /* programs started in the guest from outside (exec.sock), or NULL */
    vic_buf to_client;
} monitor;

static void report(const monitor_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report(const monitor_opts *o, const char *fmt, ...)
{
    if (o->ready_fd < 0)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0) {
        ssize_t w = write(o->ready_fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf));
        (void)w;
    }
}

/* ---- the disks' ownership: guest id i is host id id_base + i ---- */

/* The range nftw's callbacks shift into (nftw takes no payload; the monitor shifts one VM's
 * disks, single-threaded, before its guest starts). */
static uint32_t shift_base;

/* The guest id of host id h as a disk may hold it: a guest id not shifted yet (a new disk),
 * or the host id of the same guest id in any VM's range (a disk that moved between VMs);
 * -1 for a host id no guest has (it becomes the overflow id). */
static int64_t guest_id_of(uint32_t h)
{
    if (h < HV_LOCAL_GUEST_ID_COUNT)
        return h;
    if (h >= HV_LOCAL_GUEST_ID_BASE &&
        h < idrange_base(HV_LOCAL_GUEST_ID_RANGES - 1) + HV_LOCAL_GUEST_ID_COUNT)
        return (h - HV_LOCAL_GUEST_ID_BASE) % HV_LOCAL_GUEST_ID_COUNT;
    return -1;
}

static int shift_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag, (void)ftw;
    int64_t gu = guest_id_of(st->st_uid), gg = guest_id_of(st->st_gid);
    uid_t uid = shift_base + (uint32_t)(gu < 0 ? HV_LOCAL_GUEST_OVERFLOW : gu);
    gid_t gid = shift_base + (uint32_t)(gg < 0 ? HV_LOCAL_GUEST_OVERFLOW : gg);
    mode_t mode = st->st_mode & 07777;
    /* an owner the guest cannot have keeps no set-id bit */
    if (gu < 0)
        mode &= ~(mode_t)S_ISUID;
    if (gg < 0)
        mode &= ~(mode_t)S_ISGID;
    if ((uid != st->st_uid || gid != st->st_gid) && lchown(path, uid, gid) < 0)
        return -1;
    /* lchown cleared the set-id bits of a file: set what it keeps */
    if (!S_ISLNK(st->st_mode) && (mode != (st->st_mode & 07777) || (mode & (S_ISUID | S_ISGID))))
        chmod(path, mode);
    return 0;
}

/* Shifts the root disk's owners into the VM's id range once, and records it (a disk created
 * with its range is recorded as shifted already: nothing to walk). */
static int shift_rootfs(monitor *m, json_t *kv, vic_err **err)
{
    const char *done = json_string_value(json_object_get(kv, VMX_IDSHIFT));
    char want[32];
    snprintf(want, sizeof(want), "%u", m->id_base);
    if (done && strcmp(done, want) == 0)
        return 0;
    shift_base = m->id_base;
    if (nftw(m->rootfs, shift_one, 64, FTW_PHYS | FTW_MOUNT) < 0)
        return vic_err_sys(err, VIC_EIO, errno, "take ownership of the root disk");
    int lock = local_vm_lock(m->dir, err);
    if (lock < 0)
        return lock;
    json_t *cur cleanup_json = NULL;
    int rc = vmx_read(&cur, m->vmx, err);
    if (rc == 0) {
        json_object_set_new(cur, VMX_IDSHIFT, json_string(want));
        rc = vmx_write(m->vmx, cur, err);
    }
    close(lock);
    return rc;
}

/* Keeps the guest's out-of-memory kills of this power on in its configuration, where they
 * outlive its cgroup: the VM reads as out of memory until its next power on. */
static void record_oom_kills(monitor *m, int64_t kills)
{
    const char *was = json_string_value(json_object_get(m->kv, VMX_OOM_KILLS));
    if (kills == 0 && was == NULL)
        return;
    vic_err *err cleanup_err = NULL;
    int lock = local_vm_lock(m->dir, &err);
    if (lock < 0)
        return;
    json_t *cur cleanup_json = NULL;
    if (vmx_read(&cur, m->vmx, &err) == 0) {
        if (kills > 0)
            json_object_set_new(cur, VMX_OOM_KILLS, json_sprintf("%lld", (long long)kills));
        else
            json_object_del(cur, VMX_OOM_KILLS);
        vmx_write(m->vmx, cur, &err);
    }
    close(lock);
}

/* A data disk (a directory on a datastore) belongs to the guest's root: one not owned by
 * this VM's range yet (new, or last attached to another VM) is shifted into it. */
static int shift_disk(const char *dir, uint32_t base, vic_err **err)
{
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return vic_err_set(err, VIC_ENOTFOUND, "not found");
    if (st.st_uid >= base && st.st_uid < base + HV_LOCAL_GUEST_ID_COUNT)
        return 0;
    shift_base = base;
    if (nftw(dir, shift_one, 64, FTW_PHYS | FTW_MOUNT) < 0)
        return vic_err_sys(err, VIC_EIO, errno, "take ownership");
    return 0;
}

/* Reads the VM's data disks from its configuration and makes each ready to attach. */
static int attach_disks(monitor *m, const json_t *kv, vic_err **err)
{
    for (int i = 1; i < MONITOR_MAX_DISKS; i++) {
        char key[32];
        snprintf(key, sizeof(key), "scsi0:%d.fileName", i);
        const char *path = json_string_value(json_object_get(kv, key));
        if (path == NULL)
            continue;
        int rc = local_ds_path(m->ds_root, path, &m->disks[i], err);
        if (rc == 0)
            rc = shift_disk(m->disks[i], m->id_base, err);
        if (rc < 0)
            return vic_err_wrap(err, rc, "disk scsi0:%d (%s)", i, path);
    }
    return 0;
}

/* Makes the mount points the guest's start needs on its root disk (/.tether/tether, a data
 * disk's /.vic/disks/N), owned by the guest's root: no host id outside the VM's range is
 * left on the disk (the tether bound there stays the host's, read-only). */
static int make_mount_points(monitor *m, vic_err **err)
{
    int root cleanup_close = open(m->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open the root disk");
    int disks = 0;
    for (int d = 1; d < MONITOR_MAX_DISKS; d++)
        disks |= m->disks[d] != NULL;
    static const char *const dirs[] = {".tether", ".vic", ".vic/disks"};
    for (size_t i = 0; i < (disks ? 3u : 1u); i++) {
        if ((mkdirat(root, dirs[i], 0755) < 0 && errno != EEXIST) ||
            fchownat(root, dirs[i], m->id_base, m->id_base, AT_SYMLINK_NOFOLLOW) < 0)
            return vic_err_sys(err, VIC_EIO, errno, "make /%s", dirs[i]);
    }
    for (int d = 1; d < MONITOR_MAX_DISKS; d++) {
        char at[32];
        snprintf(at, sizeof(at), ".vic/disks/%d", d);
        if (m->disks[d] && ((mkdirat(root, at, 0755) < 0 && errno != EEXIST) ||
                            fchownat(root, at, m->id_base, m->id_base, AT_SYMLINK_NOFOLLOW) < 0))
            return vic_err_sys(err, VIC_EIO, errno, "make /%s", at);
    }
    int fd = openat(root, ".tether/tether", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0755);
    if (fd < 0 || fchown(fd, m->id_base, m->id_base) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return vic_err_sys(err, VIC_EIO, e, "make /.tether/tether");
    }
    close(fd);
    return 0;
}

/* ---- the guest ---- */

static void child_fail(int errfd, const char *what) __attribute__((noreturn));

static void child_fail(int errfd, const char *what)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "%s: %s", what, strerror(errno));
    if (n > 0) {
        ssize_t w = write(errfd, buf, (size_t)n);
        (void)w;
    }
    _exit(127);
}

static int touch(const char *path, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* In the child, inside the new namespaces: build the guest's filesystem and become its PID 1.
 * Runs between clone and exec in a single-threaded process. */
static void guest_start(monitor *m, int sync_fd, int errfd, int gi_fd, int serial_fd, int attach_fd)
{
    char c;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (read(sync_fd, &c, 1) != 1)
        _exit(127); /* the monitor died before mapping our ids */
    /* A cgroup namespace rooted at the VM's cgroup, where the monitor has placed us by now:
     * the guest sees its own cgroup as "/". A host without cgroup namespaces goes on without
     * (the monitor compares namespaces and says so). */
    unshare(CLONE_NEWCGROUP);
    /* Reach the root disk while our file-system identity is still the host's (the VM's
     * folder may be private to it), then become the guest's root (ids shifted on the host)
     * and build the rest relative to it: files created on the guest's own file systems must
     * belong to ids mapped in its namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        child_fail(errfd, "make mounts private");
    if (mount(m->rootfs, m->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        child_fail(errfd, "bind the root disk");
    if (chdir(m->rootfs) < 0)
        child_fail(errfd, "enter the root disk");
    /* The tether, from the host's path (owned by the host: the guest cannot change it). */
    mkdir(".tether", 0755);
    if (access(".tether/tether", F_OK) != 0 && touch(".tether/tether", 0755) < 0)
        child_fail(errfd, "create /.tether/tether");
    if (mount(m->tether, ".tether/tether", NULL, MS_BIND, NULL) < 0)
        child_fail(errfd, "bind the tether");
    /* Data disks, where the tether finds them to mount as its configuration says. */
    for (int i = 1; i < MONITOR_MAX_DISKS; i++) {
        if (m->disks[i] == NULL)
            continue;
        char at[32];
        snprintf(at, sizeof(at), ".vic/disks/%d", i);
        mkdir(".vic", 0755);
        mkdir(".vic/disks", 0755);
        mkdir(at, 0755);
        if (mount(m->disks[i], at, NULL, MS_BIND | MS_REC, NULL) < 0 ||
            mount(NULL, at, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL) < 0)
            child_fail(errfd, "attach a data disk");
    }
    if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
        child_fail(errfd, "become guest root");
    /* Changing credentials cleared the parent-death signal: set it again, then make sure
     * the monitor did not die in between (it holds the sync pipe open while it lives). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct pollfd alive = {sync_fd, POLLIN, 0};
    if (poll(&alive, 1, 0) > 0)
        _exit(127);
    mkdir("dev", 0755);
    if (mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=256k") < 0)
        child_fail(errfd, "mount /dev");
    static const char *const devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
    char p[256];
    for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
        char host[64];
        snprintf(host, sizeof(host), "/dev/%s", devs[i]);
        snprintf(p, sizeof(p), "dev/%s", devs[i]);
        if (touch(p, 0666) < 0 || mount(host, p, NULL, MS_BIND, NULL) < 0)
            child_fail(errfd, host);
    }
    mkdir("dev/pts", 0755);
    mkdir("dev/shm", 01777);
    static const char *const links[][2] = {{"/proc/self/fd", "dev/fd"},
                                           {"/proc/self/fd/0", "dev/stdin"},
                                           {"/proc/self/fd/1", "dev/stdout"},
                                           {"/proc/self/fd/2", "dev/stderr"},
                                           {"pts/ptmx", "dev/ptmx"}};
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
        if (symlink(links[i][0], links[i][1]) < 0)
            child_fail(errfd, "populate /dev");
    if (mount(NULL, ".tether/tether", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL) < 0)
        child_fail(errfd, "make the tether read-only");
    /* /proc and /sys of the guest's own namespaces, mounted while the host's are still in
     * view: the kernel lets a user namespace mount them only then. */
    mkdir("proc", 0555);
    mkdir("sys", 0555);
    if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        child_fail(errfd, "mount /proc");
    if (mount("sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0)
        child_fail(errfd, "mount /sys");
    if (syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        child_fail(errfd, "switch to the root disk");
    if (dup2(gi_fd, 3) < 0 || dup2(serial_fd, 4) < 0 || dup2(attach_fd, 5) < 0)
        child_fail(errfd, "pass channels");
    int devnull = open("/dev/null", O_RDWR);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
        child_fail(errfd, "open /dev/null");
    /* keep errfd (close-on-exec) so that a failing exec can still say why */
    if (errfd > 6)
        close_range(6, (unsigned)errfd - 1, 0);
    close_range((unsigned)(errfd >= 6 ? errfd + 1 : 6), ~0U, 0);
    /* The tether is the namespace's init: a signal it has no handler for would be dropped,
     * so a power off racing its start would be lost. Blocked signals stay pending across
     * exec, and the tether takes them from a signalfd. */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    char *argv[] = {"tether", NULL};
    char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    execve("/.tether/tether", argv, envp);
    child_fail(errfd, "start the tether");
}

/* In the child of an appliance boot: vic-init as the host's root in the host's namespaces, in
 * a session of its own (power off kills the whole process group), cwd the VM's folder. */
static void appliance_start(monitor *m, int sync_fd, int errfd, int gi_fd, int serial_fd,
                            int attach_fd)
{
    char c;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (read(sync_fd, &c, 1) != 1)
        _exit(127); /* the monitor died before placing us in the pool's cgroup */
    if (setsid() < 0)
        child_fail(errfd, "create the appliance's session");
    if (chdir(m->dir) < 0)
        child_fail(errfd, "enter the VM's folder");
    if (dup2(gi_fd, 3) < 0 || dup2(serial_fd, 4) < 0 || dup2(attach_fd, 5) < 0)
        child_fail(errfd, "pass channels");
    int devnull = open("/dev/null", O_RDWR);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
        child_fail(errfd, "open /dev/null");
    if (errfd > 6)
        close_range(6, (unsigned)errfd - 1, 0);
    close_range((unsigned)(errfd >= 6 ? errfd + 1 : 6), ~0U, 0);
    /* As for the tether: signals stay blocked (and pending) across exec, vic-init takes them
     * from a signalfd, so a power off racing its start is not lost. */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    char *argv[] = {"vic-init", NULL};
    char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    execve(m->init, argv, envp);
    child_fail(errfd, "start vic-init");
}

static int write_id_map(pid_t pid, const char *file, uint32_t base, vic_err **err)
{
    char path[64], map[64];
    snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, file);
    int n = snprintf(map, sizeof(map), "0 %u %d\n", base, GUEST_ID_COUNT);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, map, (size_t)n) != n) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return vic_err_sys(err, VIC_EIO, e, "write %s", path);
    }
    close(fd);
    return 0;
}

/* Logs when the guest shares the host's cgroup namespace (the host refused a new one). */
static void check_cgroupns(monitor *m)
{
    char path[64];
    struct stat ours, theirs;
    snprintf(path, sizeof(path), "/proc/%ld/ns/cgroup", (long)m->guest);
    if (stat("/proc/self/ns/cgroup", &ours) < 0 || stat(path, &theirs) < 0)
        vic_log(VIC_LOG_WARN,
                "event=cgroupns_unavailable vm=%s msg=\"this kernel has no cgroup namespaces: "
                "the guest sees the host's cgroup paths\"",
                m->o->vm);
    else if (ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev)
        vic_log(VIC_LOG_WARN,
                "event=cgroupns_unavailable vm=%s msg=\"the host refused a cgroup namespace: the "
                "guest sees the host's cgroup paths\"",
                m->o->vm);
}

static int start_guest(monitor *m, int serial_fd, vic_err **err)
{
    int sync_p[2], err_p[2], gi[2], at[2];
    if (pipe2(sync_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gi) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, at) < 0)
        return vic_err_sys(err, VIC_EIO, errno, "create guest channels");
    long flags = m->appliance ? SIGCHLD
                              : CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS |
                                    CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD;
    pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
    if (pid < 0) {
        int e = errno;
        close(sync_p[0]), close(sync_p[1]), close(err_p[0]), close(err_p[1]);
        close(gi[0]), close(gi[1]), close(at[0]), close(at[1]);
        return vic_err_sys(err, VIC_EUNSUPPORTED, e, "create the guest's namespaces");
    }
    if (pid == 0) {
        close(sync_p[1]);
        close(err_p[0]);
        close(gi[0]);
        close(at[0]);
        /* the channels are close-on-exec: the start functions dup them to 3, 4 and 5 */
        if (m->appliance)
            appliance_start(m, sync_p[0], err_p[1], gi[1], serial_fd, at[1]);
        guest_start(m, sync_p[0], err_p[1], gi[1], serial_fd, at[1]);
    }
    close(sync_p[0]);
    close(err_p[1]);
    close(gi[1]);
    close(at[1]);
    m->guest = pid;
    m->gi_fd = gi[0];
    m->attach_fd = at[0];
    int rc = m->appliance ? 0 : write_id_map(pid, "uid_map", m->id_base, err);
    if (rc == 0 && !m->appliance)
        rc = write_id_map(pid, "gid_map", m->id_base, err);
    if (rc == 0 && m->pool_rel[0] != '\1') {
        int cpus = 0;
        int64_t mem = 0;
        hv_vm_limits hl;
        local_vm_size(m->kv, &cpus, &mem, &hl);
        cg_vm_limits l = cg_limits_of(m->appliance ? 0 : cpus, m->appliance ? 0 : mem, &hl);
        char why[256];
        if (cg_vm_apply(&m->cg, m->pool_rel, m->o->vm, &l, why, sizeof(why)) < 0)
            rc = vic_err_set(err, VIC_EINVAL, "%s", why);
        else
            m->in_cgroup = cg_vm_enter(&m->cg, m->pool_rel, m->o->vm, pid) == 0;
    }
    if (rc == 0 && !m->appliance) {
        /* the NICs exist before the tether looks for them */
        rc = netdev_plug(m->home, m->o->vm, m->kv, pid, err);
        m->plugged = 1;
    }
    if (rc == 0 && write(sync_p[1], "g", 1) != 1)
        rc = vic_err_sys(err, VIC_EIO, errno, "start the guest");
    m->alive_fd = sync_p[1]; /* open for as long as we live: the guest checks it once */
    char why[512];
    ssize_t n = 0;
    if (rc == 0) {
        do
            n = read(err_p[0], why, sizeof(why) - 1);
        while (n < 0 && errno == EINTR);
        if (n > 0) {
            why[n] = '\0';
            rc = vic_err_set(err, VIC_EINVAL, "%s", why);
        }
    }
    close(err_p[0]);
    if (rc == 0 && !m->appliance)
        check_cgroupns(m);
    if (rc < 0) {
        kill(pid, SIGKILL);
        if (m->appliance)
            kill(-pid, SIGKILL); /* its session, if it got that far */
        waitpid(pid, NULL, 0);
        m->guest = 0;
        close(sync_p[1]);
        m->alive_fd = -1;
    }
    return rc;
}

/* ---- guestinfo requests ---- */

static void handle_request(monitor *m, const char *frame, size_t len)
{
    vic_buf reply = VIC_BUF_INIT;
    int ok = 0;
    giserve_handle(&m->gi, frame, len, &ok, &reply);
    vic_err *err cleanup_err = NULL;
    if (!ok)
        vic_log(VIC_LOG_WARN, "event=guestinfo_refused vm=%s msg=\"%.*s\"", m->o->vm,
                (int)(reply.len > 200 ? 200 : reply.len), reply.data ? reply.data : "");
    if (vic_gichan_reply(m->gi_fd, ok, reply.data, reply.len, &err) < 0)
        vic_log(VIC_LOG_WARN, "event=guestinfo_reply_failed vm=%s msg=\"%s\"", m->o->vm, err->msg);
    vic_buf_free(&reply);
}

/* ---- the interactive channel ---- */

#define ATTACH_BACKLOG (1024 * 1024) /* output held for a slow holder before dropping it */

/* Listens on VMDIR/attach.sock (0600). The path goes through /proc/self/fd so that a long
 * $VIC_HOME never exceeds the 108 bytes of a socket address. */
static void attach_listen(monitor *m)
{
    int dfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/attach.sock", dfd);
    unlinkat(dfd, "attach.sock", 0);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    mode_t old = umask(0177);
    if (fd >= 0 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)) {
        vic_log(VIC_LOG_WARN, "event=attach_unavailable vm=%s msg=\"%s\"", m->o->vm,
                strerror(errno));
        close(fd);
        fd = -1;
    }
    umask(old);
    close(dfd);
    m->listen_fd = fd;
}

static void drop_client(monitor *m)
{
    if (m->client_fd >= 0)
        close(m->client_fd);
    m->client_fd = -1;
    m->to_client.len = 0;
}

static void flush_client(monitor *m, int blocking)
{
    if (blocking && m->client_fd >= 0) { /* a holder that stopped reading gets a second */
        struct timeval tv = {1, 0};
        int fl = fcntl(m->client_fd, F_GETFL);
        fcntl(m->client_fd, F_SETFL, fl & ~O_NONBLOCK);
        setsockopt(m->client_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    while (m->client_fd >= 0 && m->to_client.len > 0) {
        ssize_t w = send(m->client_fd, m->to_client.data, m->to_client.len,
                         MSG_NOSIGNAL | (blocking ? 0 : MSG_DONTWAIT));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w < 0) {
            drop_client(m);
            return;
        }
        memmove(m->to_client.data, m->to_client.data + w, m->to_client.len - (size_t)w);
        m->to_client.len -= (size_t)w;
    }
}

/* Guest output for the holder; without one it is dropped (the serial log has it all). */
static void relay_from_guest(monitor *m)
{
    char buf[65536];
    ssize_t n = read(m->attach_fd, buf, sizeof(buf));
    if (n <= 0) {
        if (n < 0 && errno == EINTR)
            return;
        close(m->attach_fd);
        m->attach_fd = -1;
        return;
    }
    if (m->client_fd < 0)
        return;
    if (m->to_client.len + (size_t)n > ATTACH_BACKLOG) {
        vic_log(VIC_LOG_WARN, "event=attach_dropped vm=%s reason=\"holder too slow\"", m->o->vm);
        drop_client(m);
        return;
    }
    vic_buf_append(&m->to_client, buf, (size_t)n);
    flush_client(m, 0);
}

static void relay_to_guest(monitor *m)
{
    char buf[65536];
    ssize_t n = read(m->client_fd, buf, sizeof(buf));
    if (n <= 0) {
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return;
        drop_client(m);
        return;
    }
    for (ssize_t off = 0; off < n && m->attach_fd >= 0;) {
        ssize_t w = write(m->attach_fd, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            close(m->attach_fd);
            m->attach_fd = -1;
            break;
        }
        off += w;
    }
}

static void accept_client(monitor *m)
{
    int c = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0)
        return;
    drop_client(m); /* whoever connects last holds the channel */
    m->client_fd = c;
}

/* ---- changes to the running guest (ctl.sock) ---- */

/* Listens on VMDIR/ctl.sock (0600; through /proc/self/fd as attach.sock). */
static void ctl_listen(monitor *m)
{
    int dfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/ctl.sock", dfd);
    unlinkat(dfd, "ctl.sock", 0);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    mode_t old = umask(0177);
    if (fd >= 0 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)) {
        vic_log(VIC_LOG_WARN, "event=ctl_unavailable vm=%s msg=\"%s\"", m->o->vm, strerror(errno));
        close(fd);
        fd = -1;
    }
    umask(old);
    close(dfd);
    m->ctl_fd = fd;
}

/* "nics VERSION": the VM's NICs in its configuration changed (version VERSION): the guest's
 * devices follow (netdev_replug) and the tether is told to configure them. */
static int ctl_nics(monitor *m, long long version, vic_err **err)
{
    json_t *now = NULL;
    int rc = vmx_read(&now, m->vmx, err);
    if (rc < 0)
        return rc;
    if ((rc = netdev_replug(m->home, m->o->vm, m->kv, now, m->guest, err)) < 0) {
        json_decref(now);
        return rc;
    }
    json_decref(m->kv_now);
    m->kv = m->kv_now = now; /* what power off unplugs from now on */
    union sigval sv = {.sival_int = (int)(version & 0x7fffffff)};
    if (sigqueue(m->guest, VIC_GI_RELOAD_SIGNAL, sv) < 0)
        return vic_err_sys(err, VIC_EIO, errno, "tell the guest");
    return 0;
}

/* One request from the host, answered "ok" or "error MESSAGE" (a line each). The host writes
 * its line at once: a client that does not within a second is dropped. */
static void ctl_serve(monitor *m)
{
    int c cleanup_close = accept4(m->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    struct timeval tv = {1, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char line[128];
    size_t got = 0;
    while (got < sizeof(line) - 1 && (got == 0 || line[got - 1] != '\n')) {
        ssize_t n = read(c, line + got, sizeof(line) - 1 - got);
        if (n <= 0)
            return;
        got += (size_t)n;
    }
    line[got] = '\0';
    vic_err *err cleanup_err = NULL;
    long long version = 0;
    int used = 0, rc;
    if (sscanf(line, "nics %lld\n%n", &version, &used) == 1 && used == (int)got)
        rc = ctl_nics(m, version, &err);
    else
        rc = vic_err_set(&err, VIC_EINVAL, "unknown request");
    char reply[600];
    int n = rc == 0 ? snprintf(reply, sizeof(reply), "ok\n")
                    : snprintf(reply, sizeof(reply), "error %.500s\n", err->msg);
    if (rc < 0)
        vic_log(VIC_LOG_WARN, "event=ctl_failed vm=%s msg=\"%s\"", m->o->vm, err->msg);
    ssize_t w = write(c, reply, (size_t)n);
    (void)w;
}

/* ---- the run ---- */

/* The confinement of the container's main session, for the programs started in it from
 * outside; Docker's defaults when the configuration does not say. */
static void session_confine(vic_confine *out, const json_t *kv, const char *vm)
{
    vic_exec_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    vic_err *err cleanup_err = NULL;
    *out = (vic_confine){.caps = VIC_CAPS_DOCKER_DEFAULT, .seccomp = true};
    if (vic_gi_decode(&cfg, &vic_exec_config_desc, kv, "", NULL, &err) == 0) {
        const vic_exec_session *s = NULL;
        for (size_t i = 0; i < cfg.n_sessions; i++)
            if (s == NULL || (cfg.id && strcmp(cfg.session_ids[i], cfg.id) == 0))
                s = &cfg.sessions[i];
        if (s && vic_exec_session_confine(out, s, &err) < 0) {
            *out = (vic_confine){.caps = VIC_CAPS_DOCKER_DEFAULT, .seccomp = true};
            vic_log(VIC_LOG_WARN, "event=confine_defaults vm=%s msg=\"%s\"", vm, err->msg);
        }
    }
    vic_gi_free(&vic_exec_config_desc, &cfg);
}

/* A program started in the guest from outside counts in the VM's cgroup, as the guest does. */
static void join_cgroup(pid_t pid, void *payload)
{
    monitor *m = payload;
    if (m->in_cgroup)
        cg_vm_enter(&m->cg, m->pool_rel, m->o->vm, pid);
}

static long ms_until(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Forces the guest down: its PID 1 (whose death takes a containerVM's pid namespace with it),
 * or the appliance's whole process group. */
static void kill_guest(monitor *m, int sig)
{
    if (m->appliance)
        kill(-m->guest, sig);
    kill(m->guest, sig);
}

static int run_guest(monitor *m, int *status)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    int killing = 0;
    struct timespec deadline = {0, 0};
    enum { FIXED = 6 }; /* signals, guestinfo, attach (3), ctl.sock */
    struct pollfd *pf =
        xcalloc(FIXED + portfwd_poll_max(m->pf) + gexec_poll_max(m->gx), sizeof(*pf));
    for (;;) {
        pf[0] = (struct pollfd){sfd, POLLIN, 0};
        pf[1] = (struct pollfd){m->gi_fd, POLLIN, 0};
        pf[2] = (struct pollfd){m->attach_fd, POLLIN, 0};
        pf[3] = (struct pollfd){m->listen_fd, POLLIN, 0};
        pf[4] = (struct pollfd){m->client_fd, POLLIN | (m->to_client.len ? POLLOUT : 0), 0};
        pf[5] = (struct pollfd){m->ctl_fd, POLLIN, 0};
        size_t n_fwd = portfwd_poll_fill(m->pf, pf + FIXED);
        size_t n_gx = gexec_poll_fill(m->gx, pf + FIXED + n_fwd);
        long timeout = killing == 1 ? ms_until(&deadline) : -1;
        long gx_timeout = gexec_timeout_ms(m->gx);
        if (timeout == 0 || (killing == 1 && timeout < 0)) {
            kill_guest(m, SIGKILL);
            if (m->in_cgroup) /* paused again meanwhile: SIGKILL reaches only a thawed guest */
                cg_vm_freeze(&m->cg, m->pool_rel, m->o->vm, 0);
            killing = 2;
            continue;
        }
        if (gx_timeout >= 0 && (timeout < 0 || gx_timeout < timeout))
            timeout = gx_timeout;
        long pf_timeout = portfwd_timeout_ms(m->pf);
        if (pf_timeout >= 0 && (timeout < 0 || pf_timeout < timeout))
            timeout = pf_timeout;
        int n = poll(pf, FIXED + n_fwd + n_gx, (int)timeout);
        if (n < 0 && errno == EINTR)
            continue;
        portfwd_poll_handle(m->pf, pf + FIXED, n > 0 ? n_fwd : 0);
        gexec_poll_handle(m->gx, pf + FIXED + n_fwd, n > 0 ? n_gx : 0);
        if (n > 0 && (pf[5].revents & POLLIN) && m->ctl_fd >= 0 && killing == 0)
            ctl_serve(m);
        if (pf[2].revents && m->attach_fd >= 0)
            relay_from_guest(m);
        if (pf[3].revents && m->listen_fd >= 0)
            accept_client(m);
        if ((pf[4].revents & POLLOUT) && m->client_fd >= 0)
            flush_client(m, 0);
        if ((pf[4].revents & (POLLIN | POLLHUP | POLLERR)) && m->client_fd >= 0)
            relay_to_guest(m);
        if (pf[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGCHLD) {
                    int st = 0, guest_done = 0;
                    pid_t p;
                    while (!guest_done && (p = waitpid(-1, &st, WNOHANG)) > 0)
                        if (p == m->guest)
                            guest_done = 1;
                        else
                            gexec_reaped(m->gx, p, st);
                    if (guest_done) {
                        *status = st;
                        if (m->appliance) /* what vic-init left behind goes with it */
                            kill(-m->guest, SIGKILL);
                        close(sfd);
                        /* hand the holder the guest's last words (the exit frame) */
                        while (m->attach_fd >= 0)
                            relay_from_guest(m);
                        flush_client(m, 1);
                        free(pf);
                        return 0;
                    }
                } else if (killing == 0) {
                    /* power off: TERM to the guest's init, KILL after the grace period */
                    unsigned grace = si.ssi_code == SI_QUEUE ? (unsigned)si.ssi_int : 10000;
                    vic_log(VIC_LOG_INFO, "event=power_off vm=%s grace_ms=%u", m->o->vm, grace);
                    if (grace)
                        kill(m->guest, SIGTERM);
                    else
                        kill_guest(m, SIGKILL);
                    /* a paused guest is thawed to meet its signal, as Docker's stop does */
                    if (m->in_cgroup && cg_vm_frozen(&m->cg, m->pool_rel, m->o->vm))
                        cg_vm_freeze(&m->cg, m->pool_rel, m->o->vm, 0);
                    clock_gettime(CLOCK_MONOTONIC, &deadline);
                    deadline.tv_sec += grace / 1000;
                    deadline.tv_nsec += (long)(grace % 1000) * 1000000;
                    if (deadline.tv_nsec >= 1000000000) {
                        deadline.tv_sec++;
                        deadline.tv_nsec -= 1000000000;
                    }
                    killing = grace ? 1 : 2;
                }
            }
        }
        if (m->gi_fd >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            char *frame = NULL;
            size_t len = 0;
            vic_err *err cleanup_err = NULL;
            if (vic_gichan_recv(m->gi_fd, &frame, &len, &err) < 0) {
                if (err->code != VIC_EUNAVAIL)
                    vic_log(VIC_LOG_WARN, "event=guestinfo_channel_closed vm=%s msg=\"%s\"",
                            m->o->vm, err->msg);
                close(m->gi_fd); /* a broken or hostile channel is closed, the VM runs on */
                m->gi_fd = -1;
            } else {
                handle_request(m, frame, len);
            }
            free(frame);
        }
    }
}

int monitor_run(const monitor_opts *o)
{
    monitor mon = {.o = o,
                   .gi_fd = -1,
                   .attach_fd = -1,
                   .listen_fd = -1,
                   .client_fd = -1,
                   .alive_fd = -1,
                   .ctl_fd = -1};
    monitor *m = &mon;
    vic_err *err cleanup_err = NULL;
    int rc = 0, exit_code = 1;
    char real[4096];
    if (realpath(o->home, real) == NULL) {
        report(o, "error home %s: %s\n", o->home, strerror(errno));
        return 1;
    }
    m->ds_root = xasprintf("%s/" LOCAL_DATASTORE, real);
    m->home = real;
    m->dir = xasprintf("%s/%s", m->ds_root, o->vm);
    m->vmx = xasprintf("%s/%s.vmx", m->dir, o->vm);
    char bin_real[4096];
    const char *bins = realpath(o->bin_dir, bin_real) ? bin_real : o->bin_dir;
    m->tether = xasprintf("%s/tether", bins);
    m->init = xasprintf("%s/vic-init", bins);
    giserve_init(&m->gi, m->dir, m->vmx);
    cleanup_free char *logp = xasprintf("%s/monitor.log", m->dir);
    cleanup_free char *lockp = xasprintf("%s/monitor.lock", m->dir);
    cleanup_free char *pidp = xasprintf("%s/monitor.pid", m->dir);
    cleanup_free char *serialp = xasprintf("%s/output.log", m->dir);
    int serial_fd = -1;
    json_t *kv cleanup_json = NULL;

    int lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0) {
        report(o, "error VM %s not found\n", o->vm);
        goto out;
    }
    /* A reader asking whether the VM runs (vm_running) holds a shared lock for an instant:
     * only a lock still held after a second is another monitor's. */
    int locked = 0;
    for (int i = 0; i < 1000 && !(locked = flock(lock, LOCK_EX | LOCK_NB) == 0); i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    if (!locked) {
        report(o, "conflict already powered on\n");
        goto out;
    }
    if (vic_log_open_file(logp, &err) == 0) {
        int lfd = open(logp, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (lfd >= 0) {
            dup2(lfd, 2);
            close(lfd);
        }
    }
    vic_err_free(&err);
    if ((rc = vmx_read(&kv, m->vmx, &err)) < 0) {
        report(o, "error %s\n", err->msg);
        goto out;
    }
    m->kv = kv;
    m->id_base = idrange_base(idrange_of_vmx(json_string_value(json_object_get(kv, VMX_IDRANGE))));
    const char *cdrom = json_string_value(json_object_get(kv, VMX_CDROM));
    if (cdrom) {
        cleanup_free char *image = NULL;
        if (local_ds_path(m->ds_root, cdrom, &image, &err) < 0) {
            report(o, "error CD-ROM image: %s\n", err->msg);
            goto out;
        }
        m->appliance = local_appliance_image(image);
    }
    const char *disk = json_string_value(json_object_get(kv, VMX_ROOT_DISK));
    struct stat st;
    if (m->appliance) {
        if (access(m->init, X_OK) < 0) {
            report(o, "error vic-init %s: %s\n", m->init, strerror(errno));
            goto out;
        }
    } else {
        if (disk == NULL) {
            report(o, "error the VM has no root disk\n");
            goto out;
        }
        if (local_ds_path(m->ds_root, disk, &m->rootfs, &err) < 0) {
            report(o, "error root disk: %s\n", err->msg);
            goto out;
        }
        if (stat(m->rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
            report(o, "error root disk %s not found\n", disk);
            goto out;
        }
        if (access(m->tether, X_OK) < 0) {
            report(o, "error tether %s: %s\n", m->tether, strerror(errno));
            goto out;
        }
    }
    const char *pool = json_string_value(json_object_get(kv, VMX_POOL));
    const char *rel = NULL;
    if (pool && local_pool_rel(pool, &rel, NULL) == 0)
        snprintf(m->pool_rel, sizeof(m->pool_rel), "%s", rel);
    else
        m->pool_rel[0] = '\1'; /* no pool: no cgroup */
    char tag[17];
    cg_tag(tag, real);
    cg_detect(&m->cg, tag);
    if (!m->appliance && (shift_rootfs(m, kv, &err) < 0 || attach_disks(m, kv, &err) < 0 ||
                          make_mount_points(m, &err) < 0 || portfwd_open(&m->pf, kv, &err) < 0)) {
        report(o, "error %s\n", err->msg); /* "conflict" means powered on already */
        goto out;
    }
    serial_fd = open(serialp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (serial_fd < 0) {
        report(o, "error serial port %s: %s\n", serialp, strerror(errno));
        goto out;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);

    if (start_guest(m, serial_fd, &err) < 0) {
        report(o, "error %s\n", err->msg);
        goto out;
    }
    close(serial_fd);
    serial_fd = -1;
    if (m->pf && portfwd_attach(m->pf, m->guest, &err) < 0) {
        vic_log(VIC_LOG_WARN, "event=portfwd_unavailable vm=%s msg=\"%s\"", o->vm, err->msg);
        vic_err_free(&err);
    }
    vic_confine conf;
    session_confine(&conf, kv, o->vm);
    if (!m->appliance && gexec_open(&m->gx, m->dir, m->guest, &conf, join_cgroup, m, &err) < 0) {
        vic_log(VIC_LOG_WARN, "event=exec_unavailable vm=%s msg=\"%s\"", o->vm, err->msg);
        vic_err_free(&err);
    }
    char pidbuf[32];
    int n = snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
    int pfd = open(pidp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (pfd >= 0) {
        if (write(pfd, pidbuf, (size_t)n) != n)
            vic_log(VIC_LOG_WARN, "event=pidfile_write_failed vm=%s", o->vm);
        close(pfd);
    }
    local_event(real, "poweredOn", o->vm, NULL);
    vic_log(VIC_LOG_INFO, "event=powered_on vm=%s guest=%s guest_pid=%ld cgroup=%s", o->vm,
            m->appliance ? "appliance" : "containerVM", (long)m->guest,
            m->in_cgroup ? "yes" : "no");
    attach_listen(m);
    if (!m->appliance)
        ctl_listen(m);
    report(o, "ok %ld\n", (long)getpid());
    if (o->ready_fd >= 0)
        close(o->ready_fd);

    int status = 0;
    run_guest(m, &status);
    char detail[96];
    cg_vm_stats cs = {0};
    if (m->in_cgroup)
        cg_vm_stats_read(&m->cg, m->pool_rel, o->vm, &cs);
    int w =
        WIFEXITED(status)
            ? snprintf(detail, sizeof(detail), "guest exited with status %d", WEXITSTATUS(status))
            : snprintf(detail, sizeof(detail), "guest killed by signal %d", WTERMSIG(status));
    if (cs.oom_kills > 0 && w > 0 && (size_t)w < sizeof(detail))
        snprintf(detail + w, sizeof(detail) - (size_t)w, "; " HV_DETAIL_OUT_OF_MEMORY);
    if (m->in_cgroup) {
        record_oom_kills(m, cs.oom_kills);
        cg_vm_remove(&m->cg, m->pool_rel, o->vm);
    }
    unlink(pidp);
    local_event(real, "poweredOff", o->vm, detail);
    vic_log(VIC_LOG_INFO, "event=powered_off vm=%s detail=\"%s\"", o->vm, detail);
    exit_code = 0;
out:
    if (serial_fd >= 0)
        close(serial_fd);
    if (m->gi_fd >= 0)
        close(m->gi_fd);
    if (m->attach_fd >= 0)
        close(m->attach_fd);
    drop_client(m);
    vic_buf_free(&m->to_client);
    if (m->alive_fd >= 0)
        close(m->alive_fd);
    if (m->listen_fd >= 0) {
        close(m->listen_fd);
        cleanup_free char *sock = xasprintf("%s/attach.sock", m->dir);
        unlink(sock);
    }
    if (m->ctl_fd >= 0) {
        close(m->ctl_fd);
        cleanup_free char *sock = xasprintf("%s/ctl.sock", m->dir);
        unlink(sock);
    }
    portfwd_free(m->pf); /* the published ports are free before the VM reads as off */
    if (m->plugged)
        netdev_unplug(m->home, o->vm, m->kv);
    json_decref(m->kv_now);
    gexec_free(m->gx, m->dir);
    if (lock >= 0)
        close(lock); /* the VM reads as off from here on */
    free(m->ds_root);
    free(m->dir);
    free(m->vmx);
    free(m->tether);
    free(m->init);
    free(m->rootfs);
    for (int i = 0; i < MONITOR_MAX_DISKS; i++)
        free(m->disks[i]);
    vic_log_close();
    return exit_code;
}
