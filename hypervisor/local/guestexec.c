#include "hypervisor/local/guestexec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/attach.h"
#include "lib/guestuser.h"
#include "lib/log.h"
#include "lib/mem.h"

#define OUT_MAX     (1024 * 1024) /* output held for a slow holder before reading pauses */
#define IN_MAX      (1024 * 1024) /* input held for a program that does not read */
#define DRAIN_MS    200           /* output taken after the program exits */
#define START_WAIT  5000          /* ms for a program's start to report back */
#define N_NAMESPACE 7

typedef struct gx {
    int client;   /* the holder, -1 once it left */
    vic_buf from; /* frames from the holder, not parsed yet */
    vic_buf to;   /* frames for the holder */
    pid_t pid;    /* the program's keeper (its parent, outside the guest's pid ns) */
    int exited;   /* the keeper was reaped: status holds the program's */
    int status;
    struct timespec drain_end;
    int tty;
    int in_fd, out_fd, err_fd; /* with a terminal, in_fd and out_fd are its master */
    vic_buf in;                /* stdin the program has not read yet */
    int in_close;              /* close stdin once in is written */
} gx;

typedef struct gx_slot {
    int kind; /* 0 listener, 1 holder, 2 stdout, 3 stderr, 4 stdin */
    size_t index;
} gx_slot;

struct gexec {
    int listen_fd;
    pid_t guest;
    int ns[N_NAMESPACE]; /* ipc, uts, net, pid, mnt, cgroup, user: joined in this order; opened
                          * at the first exec, so that a VM nobody execs into holds none */
    vic_confine conf;    /* what the container's programs are confined to */
    gexec_join_fn join;
    void *join_payload;
    gx *s[GEXEC_MAX];
    gx_slot slots[1 + 4 * GEXEC_MAX];
    size_t n_slots;
};

static const char *const ns_names[N_NAMESPACE] = {"ipc", "uts",    "net", "pid",
                                                  "mnt", "cgroup", "user"};
static const int ns_types[N_NAMESPACE] = {CLONE_NEWIPC, CLONE_NEWUTS,    CLONE_NEWNET, CLONE_NEWPID,
                                          CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUSER};
#define NS_CGROUP 5 /* optional: a kernel without cgroup namespaces has no ns/cgroup */

int gexec_open(gexec **out, const char *vm_dir, pid_t guest, const vic_confine *conf,
               gexec_join_fn join, void *payload, vic_err **err)
{
    *out = NULL;
    gexec *g = xzalloc(sizeof(*g));
    g->conf = *conf;
    g->listen_fd = -1;
    g->join = join;
    g->join_payload = payload;
    g->guest = guest;
    for (int i = 0; i < N_NAMESPACE; i++)
        g->ns[i] = -1;
    /* through /proc/self/fd, so that a long $VIC_HOME never exceeds a socket address */
    int dfd = open(vm_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/exec.sock", dfd);
    if (dfd >= 0)
        unlinkat(dfd, "exec.sock", 0);
    g->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    mode_t old = umask(0177);
    int ok = dfd >= 0 && g->listen_fd >= 0 &&
             bind(g->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
             listen(g->listen_fd, 8) == 0;
    int e = errno;
    umask(old);
    if (dfd >= 0)
        close(dfd);
    if (!ok) {
        gexec_free(g, NULL);
        return vic_err_sys(err, VIC_EIO, e, "listen on %s/exec.sock", vm_dir);
    }
    *out = g;
    return 0;
}

static void gx_close_io(gx *s)
{
    if (s->in_fd >= 0 && s->in_fd != s->out_fd)
        close(s->in_fd);
    if (s->out_fd >= 0)
        close(s->out_fd);
    if (s->err_fd >= 0)
        close(s->err_fd);
    s->in_fd = s->out_fd = s->err_fd = -1;
}

static void gx_free(gexec *g, size_t i)
{
    gx *s = g->s[i];
    if (s->client >= 0)
        close(s->client);
    gx_close_io(s);
    vic_buf_free(&s->from);
    vic_buf_free(&s->to);
    vic_buf_free(&s->in);
    if (s->pid > 0 && !s->exited) { /* the keeper still runs: let it go, but reap it later */
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    free(s);
    g->s[i] = NULL;
}

void gexec_free(gexec *g, const char *vm_dir)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < GEXEC_MAX; i++)
        if (g->s[i])
            gx_free(g, i);
    for (int i = 0; i < N_NAMESPACE; i++)
        if (g->ns[i] >= 0)
            close(g->ns[i]);
    if (g->listen_fd >= 0) {
        close(g->listen_fd);
        if (vm_dir) {
            char *p = xasprintf("%s/exec.sock", vm_dir);
            unlink(p);
            free(p);
        }
    }
    free(g);
}

/* ---- the spec ---- */

static int strings_ok(const json_t *a, size_t max, int allow_empty)
{
    if (a == NULL)
        return 1;
    if (!json_is_array(a) || json_array_size(a) > max || (!allow_empty && json_array_size(a) == 0))
        return 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) > 65536 ||
            strlen(json_string_value(v)) != json_string_length(v))
            return 0; /* no NUL inside: it could not reach execve whole */
    }
    return 1;
}

json_t *gexec_parse_spec(const char *data, size_t len, vic_err **err)
{
    if (len > GEXEC_SPEC_MAX) {
        vic_err_set(err, VIC_EINVAL, "exec spec of %zu bytes is too big", len);
        return NULL;
    }
    json_error_t je;
    json_t *spec = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    static const char *const known[] = {"cmd",   "env",  "workdir", "user", "tty",
                                        "stdin", "rows", "cols",    NULL};
    const char *why = NULL;
    if (!json_is_object(spec))
        why = "the exec spec must be a JSON object";
    const char *k;
    json_t *v;
    json_object_foreach(json_is_object(spec) ? spec : NULL, k, v)
    {
        int ok = 0;
        for (const char *const *p = known; *p; p++)
            ok |= strcmp(k, *p) == 0;
        if (!ok && why == NULL)
            why = "the exec spec has an unknown field";
    }
    if (why == NULL && (json_object_get(spec, "cmd") == NULL ||
                        !strings_ok(json_object_get(spec, "cmd"), 4096, 0) ||
                        json_string_length(json_array_get(json_object_get(spec, "cmd"), 0)) == 0))
        why = "cmd: must be a non-empty list of strings";
    if (why == NULL && !strings_ok(json_object_get(spec, "env"), 4096, 1))
        why = "env: must be a list of strings";
    static const char *const strs[] = {"workdir", "user"};
    for (int i = 0; i < 2 && why == NULL; i++) {
        json_t *s = json_object_get(spec, strs[i]);
        if (s && (!json_is_string(s) || json_string_length(s) > 4096 ||
                  strlen(json_string_value(s)) != json_string_length(s)))
            why = i == 0 ? "workdir: must be a string" : "user: must be a string";
    }
    static const char *const bools[] = {"tty", "stdin"};
    for (int i = 0; i < 2 && why == NULL; i++) {
        json_t *b = json_object_get(spec, bools[i]);
        if (b && !json_is_boolean(b))
            why = i == 0 ? "tty: must be true or false" : "stdin: must be true or false";
    }
    static const char *const ints[] = {"rows", "cols"};
    for (int i = 0; i < 2 && why == NULL; i++) {
        json_t *n = json_object_get(spec, ints[i]);
        if (n &&
            (!json_is_integer(n) || json_integer_value(n) < 0 || json_integer_value(n) > 65535))
            why = i == 0 ? "rows: must be 0..65535" : "cols: must be 0..65535";
    }
    if (why) {
        json_decref(spec);
        vic_err_set(err, VIC_EINVAL, "%s", why);
        return NULL;
    }
    return spec;
}

/* ---- starting a program ---- */

static void child_say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void child_say(int fd, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0) {
        ssize_t w = write(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
        (void)w;
    }
}

static int send_fd(int sock, int fd)
{
    char c = 'm';
    struct iovec iov = {&c, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
    struct pollfd pf = {sock, POLLIN, 0};
    if (poll(&pf, 1, START_WAIT) <= 0)
        return -1;
    char c;
    struct iovec iov = {&c, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
        return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    return fd;
}

/* In the keeper: inside the guest, start the program and wait for it. Never returns. */
static void keeper(gexec *g, const json_t *spec, int sv, int say, int inp, int outp, int errp)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (g->join)
        g->join(getpid(), g->join_payload);
    for (int i = 0; i < N_NAMESPACE; i++)
        if (g->ns[i] >= 0 && setns(g->ns[i], ns_types[i]) < 0) {
            child_say(say, "exec: enter the guest's %s namespace: %s", ns_names[i],
                      strerror(errno));
            _exit(126);
        }
    if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
        child_say(say, "exec: become the guest's root: %s", strerror(errno));
        _exit(126);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* changing credentials cleared it */
    const json_t *cmd = json_object_get(spec, "cmd"), *envs = json_object_get(spec, "env");
    size_t n_env = json_array_size(envs);
    char **env = xcalloc(n_env + 5, sizeof(char *));
    size_t ne = 0;
    int has_home = 0, has_path = 0, has_term = 0, has_host = 0;
    for (size_t i = 0; i < n_env; i++) {
        const char *e = json_string_value(json_array_get(envs, i));
        has_host |= strncmp(e, "HOSTNAME=", 9) == 0 || strcmp(e, "HOSTNAME") == 0;
        if (strchr(e, '=') == NULL)
            continue;
        has_home |= strncmp(e, "HOME=", 5) == 0;
        has_path |= strncmp(e, "PATH=", 5) == 0;
        has_term |= strncmp(e, "TERM=", 5) == 0;
        env[ne++] = (char *)e;
    }
    /* Docker's HOSTNAME: the guest's hostname (this process is in its UTS namespace) */
    char host_env[80] = "HOSTNAME=";
    if (!has_host && gethostname(host_env + 9, sizeof(host_env) - 10) == 0)
        env[ne++] = host_env;
    char path[4096], why[600];
    const char *file = json_string_value(json_array_get(cmd, 0));
    if (vic_guest_lookup_path(file, env, ne, path, sizeof(path), why, sizeof(why)) < 0) {
        child_say(say, "%s", why);
        _exit(127);
    }
    const char *user_s = json_string_value(json_object_get(spec, "user"));
    char user[512] = "", *group = NULL;
    snprintf(user, sizeof(user), "%s", user_s ? user_s : "");
    if ((group = strchr(user, ':')) != NULL)
        *group++ = '\0';
    unsigned uid, gid;
    char home[512], home_env[600];
    if (vic_guest_lookup_user(user, group, "/etc/passwd", "/etc/group", &uid, &gid, home,
                              sizeof(home), why, sizeof(why)) < 0) {
        child_say(say, "%s", why);
        _exit(126);
    }
    snprintf(home_env, sizeof(home_env), "HOME=%s", home);
    if (!has_home)
        env[ne++] = home_env;
    if (!has_path)
        env[ne++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    int tty = json_is_true(json_object_get(spec, "tty"));
    if (tty && !has_term)
        env[ne++] = "TERM=xterm";
    env[ne] = NULL;
    int master = -1;
    char slave[128] = "";
    if (tty) {
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        const char *name =
            master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0 ? ptsname(master) : NULL;
        if (name == NULL) {
            child_say(say, "exec: allocate a terminal: %s", strerror(errno));
            _exit(126);
        }
        snprintf(slave, sizeof(slave), "%s", name);
        struct winsize ws = {
            .ws_row = (unsigned short)json_integer_value(json_object_get(spec, "rows")),
            .ws_col = (unsigned short)json_integer_value(json_object_get(spec, "cols"))};
        if (ws.ws_row && ws.ws_col)
            ioctl(master, TIOCSWINSZ, &ws);
        if (send_fd(sv, master) < 0)
            _exit(126);
    }
    size_t argc = json_array_size(cmd);
    char **argv = xcalloc(argc + 1, sizeof(char *));
    for (size_t i = 0; i < argc; i++)
        argv[i] = (char *)json_string_value(json_array_get(cmd, i));
    const char *dir = json_string_value(json_object_get(spec, "workdir"));
    pid_t pid = fork();
    if (pid < 0) {
        child_say(say, "exec: fork: %s", strerror(errno));
        _exit(126);
    }
    if (pid == 0) {
        setsid();
        if (tty) {
            int s = open(slave, O_RDWR);
            if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0 || dup2(s, 0) < 0 || dup2(s, 1) < 0 ||
                dup2(s, 2) < 0) {
                child_say(say, "exec: open the terminal: %s", strerror(errno));
                _exit(126);
            }
        } else {
            int devnull = inp < 0 ? open("/dev/null", O_RDONLY) : inp;
            if (dup2(devnull, 0) < 0 || dup2(outp, 1) < 0 || dup2(errp, 2) < 0) {
                child_say(say, "exec: set up stdio: %s", strerror(errno));
                _exit(126);
            }
        }
        if (dir && *dir && chdir(dir) < 0) {
            child_say(say, "exec: chdir to %s: %s", dir, strerror(errno));
            _exit(126);
        }
        if (!(dir && *dir) && chdir("/") < 0)
            _exit(126);
        /* the container's confinement, as the tether applies it to its session */
        char cwhy[300];
        if (vic_confine_enter(&g->conf, cwhy, sizeof(cwhy)) < 0) {
            child_say(say, "exec: %s", cwhy);
            _exit(126);
        }
        if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
            setresuid(uid, uid, uid) < 0) {
            child_say(say, "exec: switch to user %s: %s", user, strerror(errno));
            _exit(126);
        }
        if (vic_confine_finish(&g->conf, cwhy, sizeof(cwhy)) < 0) {
            child_say(say, "exec: %s", cwhy);
            _exit(126);
        }
        /* keep only stdio and the start report (close-on-exec) */
        if (say > 3)
            close_range(3, (unsigned)say - 1, 0);
        close_range((unsigned)say + 1, ~0U, 0);
        for (int sig = 1; sig < NSIG; sig++)
            signal(sig, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, env);
        child_say(say, "exec: \"%s\": %s", path, strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    close(say); /* the program holds it until its exec: the monitor reads its end as started */
    if (master >= 0)
        close(master);
    if (inp >= 0)
        close(inp);
    close(outp);
    close(errp);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void gx_frame(gx *s, int type, const void *data, size_t len)
{
    if (s->client < 0)
        return;
    unsigned char h[VIC_ATTACH_HEADER] = {(unsigned char)type, (unsigned char)(len >> 24),
                                          (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                                          (unsigned char)len};
    vic_buf_append(&s->to, h, sizeof(h));
    if (len)
        vic_buf_append(&s->to, data, len);
}

static void close_all(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static int open_namespaces(gexec *g)
{
    for (int i = 0; i < N_NAMESPACE; i++) {
        if (g->ns[i] >= 0)
            continue;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%ld/ns/%s", (long)g->guest, ns_names[i]);
        if ((g->ns[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0 &&
            !(i == NS_CGROUP && errno == ENOENT))
            return -1;
    }
    return 0;
}

/* Starts the program of spec for session s; on failure the holder gets the reason and the
 * status, and s ends. */
static void gx_start(gexec *g, gx *s, const json_t *spec)
{
    int tty = json_is_true(json_object_get(spec, "tty"));
    int want_in = json_is_true(json_object_get(spec, "stdin"));
    int inp[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1}, sv[2] = {-1, -1};
    int say[2] = {-1, -1};
    int ok = open_namespaces(g) == 0 && pipe2(say, O_CLOEXEC) == 0;
    if (ok && tty)
        ok = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0;
    else if (ok)
        ok = pipe2(outp, O_CLOEXEC) == 0 && pipe2(errp, O_CLOEXEC) == 0 &&
             (!want_in || pipe2(inp, O_CLOEXEC) == 0);
    pid_t pid = ok ? fork() : -1;
    int ours[] = {say[0], sv[0], inp[1], outp[0], errp[0]};   /* the monitor's ends */
    int theirs[] = {say[1], sv[1], inp[0], outp[1], errp[1]}; /* the keeper's */
    if (pid == 0) {
        close_all(ours, 5);
        keeper(g, spec, sv[1], say[1], inp[0], outp[1], errp[1]);
    }
    close_all(theirs, 5);
    s->tty = tty;
    s->pid = pid;
    if (pid < 0) {
        char msg[128];
        int n = snprintf(msg, sizeof(msg), "exec: start: %s\n", strerror(errno));
        gx_frame(s, VIC_ATTACH_STDERR, msg, (size_t)n);
        gx_frame(s, VIC_ATTACH_EXIT, "126", 3);
        s->exited = 1;
        s->status = 126;
        close_all(ours, 5);
        return;
    }
    if (tty) {
        int m = recv_fd(sv[0]);
        close(sv[0]);
        s->in_fd = s->out_fd = m;
        s->err_fd = -1;
    } else {
        s->in_fd = inp[1];
        s->out_fd = outp[0];
        s->err_fd = errp[0];
    }
    /* the start's report: nothing (its exec closed the pipe) or why it failed */
    char why[600];
    ssize_t n = 0;
    struct pollfd pf = {say[0], POLLIN, 0};
    if (poll(&pf, 1, START_WAIT) > 0)
        n = read(say[0], why, sizeof(why) - 2);
    close(say[0]);
    if (n > 0) {
        why[n++] = '\n';
        gx_frame(s, VIC_ATTACH_STDERR, why, (size_t)n);
    }
    for (int *fd = &s->in_fd; fd <= &s->err_fd; fd++)
        if (*fd >= 0)
            fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
    if (!want_in && tty) {
        /* nothing will type: the terminal's input ends at once, as Docker's does */
    }
}

static void gx_stdin_flush(gx *s)
{
    while (s->in_fd >= 0 && s->in.len) {
        ssize_t w = write(s->in_fd, s->in.data, s->in.len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return;
        if (w < 0) { /* the program closed its input: what it did not read is dropped */
            s->in.len = 0;
            break;
        }
        memmove(s->in.data, s->in.data + w, s->in.len - (size_t)w);
        s->in.len -= (size_t)w;
    }
    if (s->in_close && s->in.len == 0 && s->in_fd >= 0) {
        if (s->tty) {
            char eot = 4; /* a terminal's end of input */
            ssize_t w = write(s->in_fd, &eot, 1);
            (void)w;
        } else {
            close(s->in_fd);
            s->in_fd = -1;
        }
        s->in_close = 0;
    }
}

/* Frames from the holder: the spec first, then input, sizes and the end of input. */
static int gx_from_holder(gexec *g, gx *s)
{
    char buf[65536];
    ssize_t n = read(s->client, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0)
        return -1;
    vic_buf_append(&s->from, buf, (size_t)n);
    size_t off = 0;
    vic_attach_frame f;
    int rc;
    while ((rc = vic_attach_next(s->from.data, s->from.len, &off, &f)) == 1) {
        if (s->pid == 0) {
            vic_err *err = NULL;
            json_t *spec = f.type == VIC_ATTACH_EXEC ? gexec_parse_spec(f.data, f.len, &err) : NULL;
            if (spec == NULL) {
                char msg[256];
                int m = snprintf(msg, sizeof(msg), "exec: %s\n",
                                 err ? err->msg : "the channel must begin with an EXEC frame");
                vic_err_free(&err);
                gx_frame(s, VIC_ATTACH_STDERR, msg, (size_t)m);
                gx_frame(s, VIC_ATTACH_EXIT, "126", 3);
                s->pid = -1;
                s->exited = 1;
                s->status = 126;
                break;
            }
            gx_start(g, s, spec);
            json_decref(spec);
            continue;
        }
        if (f.type == VIC_ATTACH_STDIN && s->in_fd >= 0 && !s->in_close) {
            if (s->in.len + f.len <= IN_MAX)
                vic_buf_append(&s->in, f.data, f.len);
        } else if (f.type == VIC_ATTACH_CLOSE) {
            s->in_close = 1;
        } else if (f.type == VIC_ATTACH_RESIZE && f.len == 4 && s->tty && s->out_fd >= 0) {
            const unsigned char *d = (const unsigned char *)f.data;
            struct winsize ws = {.ws_row = (unsigned short)(d[0] << 8 | d[1]),
                                 .ws_col = (unsigned short)(d[2] << 8 | d[3])};
            ioctl(s->out_fd, TIOCSWINSZ, &ws);
        }
    }
    if (rc < 0)
        return -1;
    memmove(s->from.data, s->from.data + off, s->from.len - off);
    s->from.len -= off;
    gx_stdin_flush(s);
    return 0;
}

static void gx_output(gx *s, int *fd, int type)
{
    char buf[VIC_ATTACH_MAX];
    ssize_t n = read(*fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) { /* its end (EIO on a terminal whose program is gone) */
        if (fd == &s->out_fd && s->in_fd == s->out_fd)
            s->in_fd = -1;
        close(*fd);
        *fd = -1;
        return;
    }
    gx_frame(s, type, buf, (size_t)n);
}

static void gx_flush(gx *s)
{
    while (s->client >= 0 && s->to.len) {
        ssize_t w = send(s->client, s->to.data, s->to.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return;
        if (w < 0) {
            close(s->client);
            s->client = -1;
            s->to.len = 0;
            return;
        }
        memmove(s->to.data, s->to.data + w, s->to.len - (size_t)w);
        s->to.len -= (size_t)w;
    }
}

static long ms_left(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms;
}

/* Ends what is done: a finished program whose output drained (or whose drain time is over)
 * sends its EXIT; a session with nothing left to say or run goes. */
static void gx_settle(gexec *g, size_t i)
{
    gx *s = g->s[i];
    if (s->exited && s->pid > 0) {
        int drained = s->out_fd < 0 && s->err_fd < 0;
        if (drained || ms_left(&s->drain_end) == 0) {
            char st[16];
            int n = snprintf(st, sizeof(st), "%d", s->status);
            gx_close_io(s);
            gx_frame(s, VIC_ATTACH_EXIT, st, (size_t)n);
            s->pid = -1; /* reported */
        }
    }
    gx_flush(s);
    if (s->pid == -1 && (s->client < 0 || s->to.len == 0))
        gx_free(g, i);
    else if (s->client < 0 && s->pid == 0)
        gx_free(g, i); /* left before saying what to run */
}

int gexec_reaped(gexec *g, pid_t pid, int status)
{
    for (size_t i = 0; g && i < GEXEC_MAX; i++) {
        gx *s = g->s[i];
        if (s == NULL || s->pid != pid)
            continue;
        s->exited = 1;
        s->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        clock_gettime(CLOCK_MONOTONIC, &s->drain_end);
        s->drain_end.tv_nsec += DRAIN_MS * 1000000L;
        if (s->drain_end.tv_nsec >= 1000000000L) {
            s->drain_end.tv_sec++;
            s->drain_end.tv_nsec -= 1000000000L;
        }
        gx_settle(g, i);
        return 1;
    }
    return 0;
}

long gexec_timeout_ms(const gexec *g)
{
    long best = -1;
    for (size_t i = 0; g && i < GEXEC_MAX; i++) {
        const gx *s = g->s[i];
        if (s && s->exited && s->pid > 0) {
            long ms = ms_left(&s->drain_end);
            if (best < 0 || ms < best)
                best = ms;
        }
    }
    return best;
}

size_t gexec_poll_max(const gexec *g)
{
    return g ? 1 + 4 * GEXEC_MAX : 0;
}

size_t gexec_poll_fill(gexec *g, struct pollfd *pf)
{
    if (g == NULL)
        return 0;
    size_t n = 0;
    pf[n] = (struct pollfd){g->listen_fd, POLLIN, 0};
    g->slots[n++] = (gx_slot){0, 0};
    for (size_t i = 0; i < GEXEC_MAX; i++) {
        gx *s = g->s[i];
        if (s == NULL)
            continue;
        int room = s->to.len < OUT_MAX;
        short ce = (short)((s->in.len < IN_MAX ? POLLIN : 0) | (s->to.len ? POLLOUT : 0));
        pf[n] = (struct pollfd){s->client >= 0 ? s->client : -1, ce, 0};
        g->slots[n++] = (gx_slot){1, i};
        pf[n] = (struct pollfd){room && s->out_fd >= 0 ? s->out_fd : -1, POLLIN, 0};
        g->slots[n++] = (gx_slot){2, i};
        pf[n] = (struct pollfd){room && s->err_fd >= 0 ? s->err_fd : -1, POLLIN, 0};
        g->slots[n++] = (gx_slot){3, i};
        pf[n] = (struct pollfd){s->in.len && s->in_fd >= 0 ? s->in_fd : -1, POLLOUT, 0};
        g->slots[n++] = (gx_slot){4, i};
    }
    g->n_slots = n;
    return n;
}

static void accept_holder(gexec *g)
{
    int c = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0)
        return;
    for (size_t i = 0; i < GEXEC_MAX; i++) {
        if (g->s[i] == NULL) {
            gx *s = xzalloc(sizeof(*s));
            s->client = c;
            s->in_fd = s->out_fd = s->err_fd = -1;
            g->s[i] = s;
            return;
        }
    }
    vic_log(VIC_LOG_WARN, "event=exec_refused reason=\"%d programs run already\"", GEXEC_MAX);
    close(c);
}

void gexec_poll_handle(gexec *g, const struct pollfd *pf, size_t n)
{
    if (g == NULL)
        return;
    if (n > g->n_slots)
        n = g->n_slots;
    int accept = 0;
    for (size_t k = 0; k < n; k++) {
        const gx_slot *sl = &g->slots[k];
        if (sl->kind == 0) {
            accept = (pf[k].revents & POLLIN) != 0;
            continue;
        }
        gx *s = g->s[sl->index];
        if (s == NULL || pf[k].revents == 0)
            continue;
        if (sl->kind == 1) {
            if ((pf[k].revents & POLLOUT) && s->client >= 0)
                gx_flush(s);
            if ((pf[k].revents & (POLLIN | POLLHUP | POLLERR)) && s->client >= 0 &&
                gx_from_holder(g, s) < 0) {
                close(s->client); /* the holder left: the program runs on without it */
                s->client = -1;
                s->to.len = 0;
            }
        } else if (sl->kind == 2 && s->out_fd >= 0) {
            gx_output(s, &s->out_fd, VIC_ATTACH_STDOUT);
        } else if (sl->kind == 3 && s->err_fd >= 0) {
            gx_output(s, &s->err_fd, VIC_ATTACH_STDERR);
        } else if (sl->kind == 4) {
            gx_stdin_flush(s);
        }
    }
    for (size_t i = 0; i < GEXEC_MAX; i++)
        if (g->s[i])
            gx_settle(g, i);
    if (accept)
        accept_holder(g);
}
