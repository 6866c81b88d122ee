#include "tether/tether.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/attach.h"
#include "lib/cleanup.h"
#include "lib/confine.h"
#include "lib/execconfig.h"
#include "lib/file.h"
#include "lib/gichan.h"
#include "lib/guestuser.h"
#include "lib/mem.h"
#include "lib/netlink.h"
#include "lib/serial.h"

static void tlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Tether diagnostics go to the serial log on their own stream. */
static void tlog(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    vic_serial_write(TETHER_SERIAL_FD, VIC_STREAM_TETHER, buf, (size_t)n, NULL);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* "TERM", "SIGTERM", "15": the signal a stop sends to the session (SIGTERM by default). */
static int parse_signal(const char *name)
{
    int sig = vic_signal_parse(name, SIGTERM);
    if (sig < 0) {
        tlog("tether: unknown stop signal %s; using TERM", name);
        return SIGTERM;
    }
    return sig;
}

/* ---- preparing the guest ---- */

static void mount_fs(const char *src, const char *target, const char *type, unsigned long flags,
                     const char *data)
{
    mkdir(target, 0755);
    if (mount(src, target, type, flags, data) < 0 && errno != EBUSY)
        tlog("tether: mount %s on %s: %s", type, target, strerror(errno));
}

/* Replaces the guest's file path with text (written aside and renamed over it, so a symlink
 * there is replaced rather than followed). */
static int write_guest_file(const char *path, const char *text)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s.vic-tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len;
    close(fd);
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The address part of "10.1.0.5/24" into out. */
static void addr_of(const char *cidr, char *out, size_t cap)
{
    snprintf(out, cap, "%.*s", (int)strcspn(cidr ? cidr : "", "/"), cidr ? cidr : "");
}

/* Gives each NIC its address, the default network the default route, and writes the
 * resolver's files: /etc/hosts names this container, /etc/resolv.conf points at the default
 * network's DNS server (the VCH's, on its gateway). */
static int configure_networks(const vic_exec_config *cfg, const char *hostname, char *why,
                              size_t cap)
{
    vic_buf hosts = VIC_BUF_INIT, resolv = VIC_BUF_INIT;
    vic_buf_appendf(&hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    int rc = 0;
    for (size_t i = 0; i < cfg->n_networks && rc == 0; i++) {
        const vic_exec_network *n = &cfg->networks[i];
        char ifname[16], addr[64], gw[64];
        vic_err *err = NULL;
        snprintf(ifname, sizeof(ifname), "eth%lld", (long long)n->nic);
        addr_of(n->ip, addr, sizeof(addr));
        addr_of(n->gateway, gw, sizeof(gw));
        if (vic_nl_addr_add(ifname, n->ip, &err) < 0 || vic_nl_link_up(ifname, &err) < 0 ||
            (n->is_default && gw[0] && vic_nl_route_default(ifname, gw, &err) < 0)) {
            snprintf(why, cap, "network %s: %s", n->name, err->msg);
            vic_err_free(&err);
            rc = -1;
            break;
        }
        vic_buf_appendf(&hosts, "%s\t%s", addr, hostname);
        if (cfg->name && strcmp(cfg->name, hostname) != 0)
            vic_buf_appendf(&hosts, " %s", cfg->name);
        vic_buf_appendf(&hosts, "\n");
        if (n->is_default)
            for (size_t d = 0; d < n->n_nameservers; d++)
                vic_buf_appendf(&resolv, "nameserver %s\n", n->nameservers[d]);
    }
    if (rc == 0 && cfg->n_networks > 0) {
        if (vic_mkdir_p("/etc", 0755) < 0 || write_guest_file("/etc/hosts", hosts.data) < 0 ||
            (resolv.len && write_guest_file("/etc/resolv.conf", resolv.data) < 0))
            tlog("tether: write /etc/hosts or /etc/resolv.conf: %s", strerror(errno));
    }
    vic_buf_free(&hosts);
    vic_buf_free(&resolv);
    return rc;
}

/* Prepares the guest's file systems and identity. A mount the configuration asks for and
 * that cannot be made stops the start: why says which and why. */
static int prepare_guest(const vic_exec_config *cfg, char *why, size_t cap)
{
    /* The VM may have mounted /proc and /sys for us (the local host must, before pivot_root) */
    if (access("/proc/self/stat", F_OK) != 0)
        mount_fs("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    if (access("/sys/kernel", F_OK) != 0)
        mount_fs("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
    mount_fs("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
             "newinstance,ptmxmode=0666,mode=0620");
    mount_fs("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
    if (mkdir("/tmp", 01777) == 0)
        chmod("/tmp", 01777);
    for (size_t i = 0; i < cfg->n_mounts; i++) {
        const vic_exec_mount *mt = &cfg->mounts[i];
        int ro = mt->mode && strcmp(mt->mode, "ro") == 0;
        const char *what = mt->volume ? mt->volume : mt->source;
        if (mt->target == NULL || mt->target[0] != '/' || strstr(mt->target, "..")) {
            snprintf(why, cap, "mount %s: the target must be an absolute path without \"..\"",
                     what);
            return -1;
        }
        int rc;
        if (vic_mkdir_p(mt->target, 0755) < 0)
            rc = -1;
        else if (strcmp(mt->source, "tmpfs") == 0)
            rc = mount("tmpfs", mt->target, "tmpfs", MS_NOSUID | MS_NODEV | (ro ? MS_RDONLY : 0),
                       "mode=1777");
        else /* the VM's disks are attached under /.vic/disks (volumes among them) */
            rc = mount(mt->source, mt->target, NULL, MS_BIND | MS_REC, NULL) < 0 ||
                         (ro &&
                          mount(NULL, mt->target, NULL,
                                MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
                     ? -1
                     : 0;
        if (rc < 0) {
            snprintf(why, cap, "error while mounting volume %s on %s: %s", what, mt->target,
                     strerror(errno));
            return -1;
        }
    }
    /* the configured hostname (Docker allows 63 characters), or the id's first 12 */
    char name[64];
    if (cfg->hostname && *cfg->hostname)
        snprintf(name, sizeof(name), "%.63s", cfg->hostname);
    else
        snprintf(name, sizeof(name), "%.12s", cfg->id && *cfg->id ? cfg->id : "localhost");
    if (sethostname(name, strlen(name)) < 0)
        tlog("tether: sethostname: %s", strerror(errno));
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s >= 0) {
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
            ifr.ifr_flags |= IFF_UP;
            if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
                tlog("tether: bring up lo: %s", strerror(errno));
        }
        close(s);
    }
    return configure_networks(cfg, name, why, cap);
}

/* ---- reporting back through guestinfo ---- */

/* Writes the session's read-write keys (started, status, times) to guestinfo, in one
 * request: the VM's configuration is rewritten (and synced) once per report. */
static void publish(const vic_exec_session *s)
{
    vic_err *err cleanup_err = NULL;
    json_t *kv cleanup_json = json_object();
    cleanup_free char *prefix = vic_exec_session_prefix(s->id);
    if (vic_gi_encode(kv, &vic_exec_session_desc, s, prefix, NULL, &err) < 0) {
        tlog("tether: encode session state: %s", err->msg);
        return;
    }
    json_t *rw cleanup_json = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(kv, k, v)
    {
        if (!vic_gi_key_is_readonly(k))
            json_object_set(rw, k, v);
    }
    if (vic_gichan_set_many(TETHER_GI_FD, rw, &err) < 0)
        tlog("tether: report session state: %s", err->msg);
}

/* ---- running the session ---- */

typedef struct running {
    pid_t pid;
    int out_fd; /* stdout, or the terminal's master side */
    int err_fd; /* stderr; -1 with a terminal */
    int in_fd;  /* what feeds the session's stdin (a pipe, or the master); -1 for none */
    int tty;
    int attach_fd; /* the interactive channel, -1 when the VM has none or it broke */
    vic_buf attach_in;
    int spawned; /* stdin that arrives before the session runs waits here */
    vic_buf early_in;
    int early_close;
    struct winsize size; /* the holder's last terminal size */
    int stop_signal;
    vic_buf in_pending; /* stdin the session has not read yet */
    int in_close;       /* the holder's end of input, once in_pending is written */
    int in_dropped;
} running;

#define STDIN_PENDING_MAX (16 * 1024 * 1024)

/* Ends the session's input: EOF on a terminal, the pipe closed otherwise. */
static void stdin_end(running *r)
{
    if (r->in_fd >= 0 && r->tty) {
        ssize_t w = write(r->in_fd, "\x04", 1); /* end of input on a terminal */
        (void)w;
    } else if (r->in_fd >= 0) {
        close(r->in_fd);
    }
    r->in_fd = -1;
    r->in_pending.len = 0;
}

/* Writes what the session can take now; the rest waits for its fd to be writable. */
static void stdin_flush(running *r)
{
    size_t off = 0;
    while (r->in_fd >= 0 && off < r->in_pending.len) {
        ssize_t w = write(r->in_fd, r->in_pending.data + off, r->in_pending.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            break;
        if (w < 0) { /* the session closed its input */
            if (!r->tty)
                close(r->in_fd);
            r->in_fd = -1;
            r->in_pending.len = 0;
            return;
        }
        off += (size_t)w;
    }
    if (off) {
        memmove(r->in_pending.data, r->in_pending.data + off, r->in_pending.len - off);
        r->in_pending.len -= off;
    }
    if (r->in_close && r->in_pending.len == 0 && r->in_fd >= 0)
        stdin_end(r);
}

static void stdin_feed(running *r, const char *data, size_t len)
{
    if (r->in_fd < 0)
        return;
    if (r->in_pending.len + len > STDIN_PENDING_MAX) {
        if (!r->in_dropped)
            tlog("tether: the session does not read its input; dropping what overflows");
        r->in_dropped = 1;
        return;
    }
    vic_buf_append(&r->in_pending, data, len);
    stdin_flush(r);
}

static void attach_out(running *r, int type, const void *data, size_t len)
{
    if (r->attach_fd < 0)
        return;
    if (vic_attach_send(r->attach_fd, type, data, len, NULL) < 0) {
        close(r->attach_fd);
        r->attach_fd = -1;
    }
}

static void set_size(running *r, const vic_attach_frame *f)
{
    if (f->len != 4)
        return;
    const unsigned char *d = (const unsigned char *)f->data;
    r->size.ws_row = (unsigned short)(d[0] << 8 | d[1]);
    r->size.ws_col = (unsigned short)(d[2] << 8 | d[3]);
    if (r->tty && r->spawned)
        ioctl(r->out_fd, TIOCSWINSZ, &r->size);
}

/* Reads from the attach channel and acts on whole frames. Returns the type of the last READY
 * seen (so a waiting session can start), or -1 when the channel closed. */
static int attach_in(running *r, int *ready)
{
    char chunk[16384];
    ssize_t n = read(r->attach_fd, chunk, sizeof(chunk));
    if (n <= 0) {
        if (n < 0 && errno == EINTR)
            return 0;
        close(r->attach_fd);
        r->attach_fd = -1;
        return -1;
    }
    vic_buf_append(&r->attach_in, chunk, (size_t)n);
    size_t off = 0;
    vic_attach_frame f;
    int rc;
    while ((rc = vic_attach_next(r->attach_in.data, r->attach_in.len, &off, &f)) == 1) {
        switch (f.type) {
        case VIC_ATTACH_STDIN:
            if (!r->spawned) {
                vic_buf_append(&r->early_in, f.data, f.len);
                break;
            }
            stdin_feed(r, f.data, f.len);
            break;
        case VIC_ATTACH_CLOSE:
            if (!r->spawned) {
                r->early_close = 1;
                break;
            }
            r->in_close = 1;
            stdin_flush(r);
            break;
        case VIC_ATTACH_RESIZE:
            set_size(r, &f);
            break;
        case VIC_ATTACH_READY:
            *ready = 1;
            break;
        default:
            break;
        }
    }
    if (rc < 0) { /* a holder that speaks nonsense loses the channel */
        tlog("tether: malformed attach frame; channel closed");
        close(r->attach_fd);
        r->attach_fd = -1;
        vic_buf_free(&r->attach_in);
        return -1;
    }
    memmove(r->attach_in.data, r->attach_in.data + off, r->attach_in.len - off);
    r->attach_in.len -= off;
    return 0;
}

/* Forks and execs the session; on failure fills why and returns -1 (nothing runs). */
static int spawn(const vic_exec_session *s, running *r, char *why, size_t cap)
{
    char path[4096];
    if (vic_guest_lookup_path(s->cmd.path, s->cmd.env, s->cmd.n_env, path, sizeof(path), why, cap) <
        0)
        return -1;
    unsigned uid, gid;
    char home[512];
    if (vic_guest_lookup_user(s->user, s->group, "/etc/passwd", "/etc/group", &uid, &gid, home,
                              sizeof(home), why, cap) < 0)
        return -1;
    vic_confine conf;
    vic_err *cerr cleanup_err = NULL;
    if (vic_exec_session_confine(&conf, s, &cerr) < 0) {
        snprintf(why, cap, "tether: %s", cerr->msg);
        return -1;
    }
    const char *dir = s->cmd.dir && *s->cmd.dir ? s->cmd.dir : "/";
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, inp[2] = {-1, -1}, execp[2];
    int master = -1;
    char slave[128] = "";
    if (s->tty) {
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        const char *name =
            master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0 ? ptsname(master) : NULL;
        if (name == NULL) {
            snprintf(why, cap, "tether: allocate a terminal: %s", strerror(errno));
            if (master >= 0)
                close(master);
            return -1;
        }
        snprintf(slave, sizeof(slave), "%s", name);
        if (r->size.ws_row && r->size.ws_col)
            ioctl(master, TIOCSWINSZ, &r->size); /* the size the holder sent before the start */
    } else if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
               (s->openstdin && pipe2(inp, O_CLOEXEC) < 0)) {
        snprintf(why, cap, "tether: pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe2(execp, O_CLOEXEC) < 0) {
        snprintf(why, cap, "tether: pipe: %s", strerror(errno));
        return -1;
    }
    /* argv: the configured args (args[0] included), or just the path */
    size_t argc = s->cmd.n_args ? s->cmd.n_args : 1;
    char **argv = xcalloc(argc + 1, sizeof(char *));
    for (size_t i = 0; i < s->cmd.n_args; i++)
        argv[i] = s->cmd.args[i];
    if (s->cmd.n_args == 0)
        argv[0] = s->cmd.path;
    /* Docker's environment: an entry "NAME" without "=" is not passed and unsets the default
     * NAME (PATH, HOSTNAME, TERM); HOSTNAME is the guest's hostname; HOME is set from the
     * user unless given a value, as runc does. */
    int has_home = 0, has_path = 0, has_term = 0, has_host = 0;
    char **envp = xcalloc(s->cmd.n_env + 5, sizeof(char *));
    size_t ne = 0;
    for (size_t i = 0; i < s->cmd.n_env; i++) {
        const char *e = s->cmd.env[i];
        has_home |= strncmp(e, "HOME=", 5) == 0;
        has_path |= strncmp(e, "PATH=", 5) == 0 || strcmp(e, "PATH") == 0;
        has_term |= strncmp(e, "TERM=", 5) == 0 || strcmp(e, "TERM") == 0;
        has_host |= strncmp(e, "HOSTNAME=", 9) == 0 || strcmp(e, "HOSTNAME") == 0;
        if (strchr(e, '=') != NULL)
            envp[ne++] = s->cmd.env[i];
    }
    char home_env[600],
        host_env[80] = "HOSTNAME=",
        path_env[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    snprintf(home_env, sizeof(home_env), "HOME=%s", home);
    if (!has_home)
        envp[ne++] = home_env;
    if (!has_path)
        envp[ne++] = path_env;
    if (!has_host && gethostname(host_env + 9, sizeof(host_env) - 10) == 0)
        envp[ne++] = host_env;
    if (s->tty && !has_term)
        envp[ne++] = "TERM=xterm";

    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        if (s->tty) {
            int sl = open(slave, O_RDWR);
            if (sl >= 0) {
                ioctl(sl, TIOCSCTTY, 0);
                dup2(sl, 0);
                dup2(sl, 1);
                dup2(sl, 2);
            }
        } else {
            int in = inp[0] >= 0 ? inp[0] : open("/dev/null", O_RDONLY);
            dup2(in, 0);
            dup2(outp[1], 1);
            dup2(errp[1], 2);
        }
        /* the command starts with every signal at its default, as Docker's do: an ignored
         * SIGPIPE (inherited from the processes that started this VM) would keep a writer to
         * a closed pipe going, e.g. 'yes | head' would never end */
        for (int sig = 1; sig < NSIG; sig++)
            signal(sig, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* Confinement last, right before the exec: capabilities bounded and the seccomp
         * filter loaded while still root, then the user switch, then what root keeps. */
        const char *what = "chdir";
        char cwhy[300] = "";
        /* a working directory the image lacks is made, as root, as Docker's runtime does */
        if (chdir(dir) < 0 && errno == ENOENT)
            vic_mkdir_p(dir, 0755);
        if (chdir(dir) == 0) {
            what = "confine";
            if (vic_confine_enter(&conf, cwhy, sizeof(cwhy)) == 0) {
                what = "set groups";
                if (setgroups(0, NULL) == 0 || errno == EPERM) {
                    what = "set user";
                    if (setgid(gid) == 0 && setuid(uid) == 0) {
                        what = "confine";
                        if (vic_confine_finish(&conf, cwhy, sizeof(cwhy)) == 0) {
                            what = "exec";
                            execve(path, argv, envp);
                        }
                    }
                }
            }
        }
        char buf[600];
        int n = cwhy[0] ? snprintf(buf, sizeof(buf), "tether: %s", cwhy)
                        : snprintf(buf, sizeof(buf), "%s %s: %s", what,
                                   strcmp(what, "chdir") == 0 ? dir : path, strerror(errno));
        ssize_t w = write(execp[1], buf, (size_t)(n > 0 ? n : 0));
        (void)w;
        _exit(127);
    }
    free(argv);
    free(envp);
    if (outp[1] >= 0)
        close(outp[1]);
    if (errp[1] >= 0)
        close(errp[1]);
    if (inp[0] >= 0)
        close(inp[0]);
    close(execp[1]);
    if (pid < 0) {
        snprintf(why, cap, "tether: fork: %s", strerror(errno));
        close(execp[0]);
        return -1;
    }
    ssize_t n;
    do
        n = read(execp[0], why, cap - 1);
    while (n < 0 && errno == EINTR);
    close(execp[0]);
    if (n > 0) { /* the exec failed: the child said why and exits 127 */
        why[n] = '\0';
        waitpid(pid, NULL, 0);
        if (master >= 0)
            close(master);
        if (outp[0] >= 0)
            close(outp[0]);
        if (errp[0] >= 0)
            close(errp[0]);
        if (inp[1] >= 0)
            close(inp[1]);
        return -1;
    }
    /* stdin never blocks the tether: what a session does not read in time is dropped */
    if (master >= 0)
        fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    if (inp[1] >= 0)
        fcntl(inp[1], F_SETFL, fcntl(inp[1], F_GETFL) | O_NONBLOCK);
    r->pid = pid;
    r->tty = s->tty;
    r->out_fd = s->tty ? master : outp[0];
    r->err_fd = s->tty ? -1 : errp[0];
    r->in_fd = s->tty ? (s->openstdin ? master : -1) : inp[1];
    r->spawned = 1;
    if (r->early_in.len)
        stdin_feed(r, r->early_in.data, r->early_in.len);
    vic_buf_free(&r->early_in);
    if (r->early_close) {
        r->in_close = 1;
        stdin_flush(r);
    }
    return 0;
}

static void pump(running *r, int *fd, int stream)
{
    char buf[16384];
    ssize_t n = read(*fd, buf, sizeof(buf));
    if (n > 0) {
        vic_serial_write(TETHER_SERIAL_FD, stream, buf, (size_t)n, NULL);
        attach_out(r, stream == VIC_STREAM_STDERR ? VIC_ATTACH_STDERR : VIC_ATTACH_STDOUT, buf,
                   (size_t)n);
        return;
    }
    /* EOF, or EIO from a terminal whose last user closed it */
    if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        if (r->tty && *fd == r->in_fd)
            r->in_fd = -1;
        close(*fd);
        *fd = -1;
    }
}

/* With attach set, the session waits for its holder (VIC's run block): output written
 * before anyone listens would otherwise reach only the log. */
static void wait_for_holder(running *r)
{
    int ready = 0;
    while (!ready && r->attach_fd >= 0) {
        struct pollfd pf = {r->attach_fd, POLLIN, 0};
        if (poll(&pf, 1, -1) < 0 && errno != EINTR)
            break;
        if (attach_in(r, &ready) < 0)
            break;
    }
}

/* The host changed the guest's NICs (VIC_GI_RELOAD_SIGNAL, version its change version):
 * configures the networks as guestinfo says now, and reports VIC_GI_NICS_APPLIED as
 * "VERSION" or "VERSION why" when a network could not be configured. */
static void reload_networks(int version)
{
    vic_err *err cleanup_err = NULL;
    json_t *kv cleanup_json = NULL;
    char why[600] = "";
    vic_exec_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (vic_gichan_list(TETHER_GI_FD, VIC_GI_PREFIX, &kv, &err) < 0 ||
        vic_gi_decode(&cfg, &vic_exec_config_desc, kv, "", NULL, &err) < 0)
        snprintf(why, sizeof(why), "read configuration: %s", err->msg);
    char name[65] = "";
    if (why[0] == '\0') {
        if (gethostname(name, sizeof(name) - 1) < 0)
            snprintf(name, sizeof(name), "localhost");
        if (configure_networks(&cfg, name, why, sizeof(why)) < 0)
            tlog("tether: change of networks: %s", why);
    }
    vic_gi_free(&vic_exec_config_desc, &cfg);
    char value[700];
    snprintf(value, sizeof(value), "%d%s%s", version, why[0] ? " " : "", why);
    vic_err_free(&err);
    if (vic_gichan_set(TETHER_GI_FD, VIC_GI_NICS_APPLIED, value, &err) < 0)
        tlog("tether: report the change of networks: %s", err->msg);
}

/* Supervises the running session until it exits; returns its wait status. */
static int supervise(running *r)
{
    sigset_t set;
    sigfillset(&set);
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGBUS);
    sigdelset(&set, SIGILL);
    sigdelset(&set, SIGFPE);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    int status = 0, exited = 0, ready = 0;
    struct timespec drain_end = {0, 0};
    while (!exited || r->out_fd >= 0 || r->err_fd >= 0) {
        struct pollfd pf[5] = {{sfd, POLLIN, 0},
                               {r->out_fd, POLLIN, 0},
                               {r->err_fd, POLLIN, 0},
                               {r->attach_fd, POLLIN, 0},
                               {r->in_pending.len ? r->in_fd : -1, POLLOUT, 0}};
        int timeout = -1;
        if (exited) {
            /* the session is gone: take what its descendants still write, briefly */
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long ms = (drain_end.tv_sec - now.tv_sec) * 1000 +
                      (drain_end.tv_nsec - now.tv_nsec) / 1000000;
            if (ms <= 0)
                break;
            timeout = (int)ms;
        }
        int n = poll(pf, 5, timeout);
        if (n < 0 && errno != EINTR)
            break;
        if (n == 0)
            break;
        if (pf[1].revents && r->out_fd >= 0)
            pump(r, &r->out_fd, VIC_STREAM_STDOUT);
        if (pf[2].revents && r->err_fd >= 0)
            pump(r, &r->err_fd, VIC_STREAM_STDERR);
        if (pf[3].revents && r->attach_fd >= 0)
            attach_in(r, &ready);
        if (pf[4].revents && r->in_fd >= 0)
            stdin_flush(r);
        if (pf[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) != sizeof(si))
                continue;
            if (si.ssi_signo == SIGCHLD) {
                int st;
                pid_t p;
                while ((p = waitpid(-1, &st, WNOHANG)) > 0) { /* init reaps every orphan */
                    if (p == r->pid && !exited) {
                        exited = 1;
                        status = st;
                        clock_gettime(CLOCK_MONOTONIC, &drain_end);
                        drain_end.tv_nsec += 200 * 1000000L;
                        if (drain_end.tv_nsec >= 1000000000L) {
                            drain_end.tv_sec++;
                            drain_end.tv_nsec -= 1000000000L;
                        }
                    }
                }
            } else if ((int)si.ssi_signo == VIC_GI_RELOAD_SIGNAL && si.ssi_code == SI_QUEUE &&
                       si.ssi_pid == 0) {
                /* queued from outside the guest (no process in it has pid 0): the host */
                reload_networks(si.ssi_int);
            } else if (!exited) {
                /* a power off asks with SIGTERM: the session gets its own stop signal */
                int sig = (int)si.ssi_signo == SIGTERM ? r->stop_signal : (int)si.ssi_signo;
                kill(r->pid, sig); /* forward to the session */
            }
        }
    }
    if (r->in_fd >= 0 && r->in_fd != r->out_fd)
        close(r->in_fd);
    if (r->out_fd >= 0)
        close(r->out_fd);
    if (r->err_fd >= 0)
        close(r->err_fd);
    close(sfd);
    return status;
}

static const vic_exec_session *main_session(const vic_exec_config *cfg)
{
    for (size_t i = 0; i < cfg->n_sessions; i++)
        if (cfg->id && strcmp(cfg->session_ids[i], cfg->id) == 0)
            return &cfg->sessions[i];
    return cfg->n_sessions ? &cfg->sessions[0] : NULL;
}

int tether_main(void)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    /* The channel and the serial port are the tether's: sessions do not inherit them. */
    fcntl(TETHER_GI_FD, F_SETFD, FD_CLOEXEC);
    fcntl(TETHER_SERIAL_FD, F_SETFD, FD_CLOEXEC);
    vic_err *err cleanup_err = NULL;
    json_t *kv cleanup_json = NULL;
    if (vic_gichan_list(TETHER_GI_FD, VIC_GI_PREFIX, &kv, &err) < 0) {
        tlog("tether: read configuration: %s", err->msg);
        return 125;
    }
    vic_exec_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (vic_gi_decode(&cfg, &vic_exec_config_desc, kv, "", NULL, &err) < 0) {
        tlog("tether: configuration: %s", err->msg);
        vic_gi_free(&vic_exec_config_desc, &cfg);
        return 125;
    }
    char why[600] = "";
    int prepared = prepare_guest(&cfg, why, sizeof(why));
    const vic_exec_session *s0 = main_session(&cfg);
    if (s0 == NULL) {
        tlog("tether: no session to run");
        vic_gi_free(&vic_exec_config_desc, &cfg);
        return 125;
    }
    vic_exec_session *s = (vic_exec_session *)s0;
    if (s->id == NULL)
        s->id = xstrdup(cfg.session_ids[s - cfg.sessions]);
    running r = {.out_fd = -1, .err_fd = -1, .in_fd = -1, .attach_fd = -1};
    if (fcntl(TETHER_ATTACH_FD, F_GETFD) >= 0) {
        r.attach_fd = TETHER_ATTACH_FD;
        fcntl(TETHER_ATTACH_FD, F_SETFD, FD_CLOEXEC);
    }
    r.stop_signal = parse_signal(s->stop_signal);
    if (s->attach)
        wait_for_holder(&r);
    int code;
    free(s->started);
    s->started_at = now_ns();
    if (prepared < 0 || spawn(s, &r, why, sizeof(why)) < 0) {
        tlog("tether: %s", why);
        s->started = xstrdup(why);
        /* Docker's codes: 127 for a command that is not there, 126 for one that cannot run */
        s->exit_status =
            strcasestr(why, "not found") || strcasestr(why, "no such file") ? 127 : 126;
        /* an attached client hears why, on the session's stderr, as Docker's CLI prints the
         * daemon's answer (the exit code alone says nothing) */
        char line[700];
        int len = snprintf(line, sizeof(line), "failed to start container: %s\n", why);
        if (len > 0)
            attach_out(&r, VIC_ATTACH_STDERR, line,
                       (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
        s->stopped_at = now_ns();
        publish(s);
        code = (int)s->exit_status;
    } else {
        s->started = xstrdup("true");
        publish(s);
        int st = supervise(&r);
        code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        s->exit_status = code;
        s->stopped_at = now_ns();
        publish(s);
    }
    char status[16];
    int n = snprintf(status, sizeof(status), "%d", code);
    attach_out(&r, VIC_ATTACH_EXIT, status, (size_t)n);
    vic_buf_free(&r.attach_in);
    vic_buf_free(&r.early_in);
    vic_buf_free(&r.in_pending);
    if (r.attach_fd >= 0)
        close(r.attach_fd);
    vic_gi_free(&vic_exec_config_desc, &cfg);
    return code;
}
