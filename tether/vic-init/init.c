#include "tether/vic-init/init.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/gichan.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/serial.h"

/* ---- configuration ---- */

static const char *config_str(const json_t *kv, const char *field)
{
    char key[128];
    snprintf(key, sizeof(key), INIT_CONFIG_PREFIX "%s", field);
    return json_string_value(json_object_get(kv, key));
}

static int config_required(char **out, const json_t *kv, const char *field, vic_err **err)
{
    const char *v = config_str(kv, field);
    if (v == NULL || v[0] == '\0')
        return vic_err_set(err, VIC_EINVAL, "missing " INIT_CONFIG_PREFIX "%s", field);
    *out = xstrdup(v);
    return 0;
}

int init_config_parse(init_config *out, const json_t *kv, vic_err **err)
{
    memset(out, 0, sizeof(*out));
    int rc = 0;
    if ((rc = config_required(&out->name, kv, "name", err)) < 0 ||
        (rc = config_required(&out->address, kv, "address", err)) < 0 ||
        (rc = config_required(&out->pool, kv, "pool", err)) < 0 ||
        (rc = config_required(&out->home, kv, "home", err)) < 0 ||
        (rc = config_required(&out->bin_dir, kv, "bin_dir", err)) < 0 ||
        (rc = config_required(&out->image_dir, kv, "image_dir", err)) < 0)
        return rc;
    struct in_addr a;
    if (inet_pton(AF_INET, out->address, &a) != 1)
        return vic_err_set(err, VIC_EINVAL,
                           INIT_CONFIG_PREFIX "address: \"%.64s\" is not an IPv4 address",
                           out->address);
    if (out->bin_dir[0] != '/')
        return vic_err_set(err, VIC_EINVAL, INIT_CONFIG_PREFIX "bin_dir: not an absolute path");
    const char *tls = config_str(kv, "tls");
    if (tls == NULL || strcmp(tls, "true") == 0)
        out->tls = true;
    else if (strcmp(tls, "false") == 0)
        out->tls = false;
    else
        return vic_err_set(err, VIC_EINVAL,
                           INIT_CONFIG_PREFIX "tls: \"%.32s\" is not true or false", tls);
    const char *verify = config_str(kv, "tls_verify");
    if (verify == NULL || strcmp(verify, "true") == 0)
        out->tls_verify = out->tls;
    else if (strcmp(verify, "false") == 0)
        out->tls_verify = false;
    else
        return vic_err_set(err, VIC_EINVAL,
                           INIT_CONFIG_PREFIX "tls_verify: \"%.32s\" is not true or false", verify);
    const char *range = config_str(kv, "bridge_range");
    const char *bpg = config_str(kv, "bridge_port_group");
    out->bridge_range = range && *range ? xstrdup(range) : NULL;
    out->bridge_pg = bpg && *bpg ? xstrdup(bpg) : NULL;
    const char *regs = config_str(kv, "registries");
    out->registries = xstrdup(regs ? regs : "");
    const char *insecure = config_str(kv, "insecure_registries");
    out->insecure = xstrdup(insecure ? insecure : "");
    const char *ca = config_str(kv, "registry_ca");
    if (ca && *ca) {
        if (strchr(ca, '/') || ca[0] == '.')
            return vic_err_set(err, VIC_EINVAL,
                               INIT_CONFIG_PREFIX "registry_ca: \"%.64s\" is not a file name in "
                                                  "the appliance's folder",
                               ca);
        out->registry_ca = xstrdup(ca);
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)kv, k, v)
    {
        static const char vs_prefix[] = INIT_CONFIG_PREFIX "volume_stores|";
        if (strncmp(k, vs_prefix, sizeof(vs_prefix) - 1) != 0 || !json_is_string(v))
            continue;
        const char *label = k + sizeof(vs_prefix) - 1;
        if (*label == '\0' || strchr(label, '=') || json_string_value(v)[0] != '[')
            return vic_err_set(err, VIC_EINVAL, "%s: not a volume store", k);
        out->volume_stores =
            xrealloc(out->volume_stores, (out->n_volume_stores + 1) * sizeof(char *));
        out->volume_stores[out->n_volume_stores++] =
            xasprintf("%s=%s", label, json_string_value(v));
    }
    const char *debug = config_str(kv, "debug");
    if (debug == NULL || debug[0] == '\0')
        out->debug = 0;
    else if (debug[0] >= '0' && debug[0] <= '3' && debug[1] == '\0')
        out->debug = debug[0] - '0';
    else
        return vic_err_set(err, VIC_EINVAL, INIT_CONFIG_PREFIX "debug: \"%.32s\" is not 0..3",
                           debug);
    return 0;
}

void init_config_clear(init_config *c)
{
    free(c->name);
    free(c->address);
    free(c->pool);
    free(c->home);
    free(c->bin_dir);
    free(c->image_dir);
    free(c->registries);
    free(c->insecure);
    free(c->registry_ca);
    free(c->bridge_range);
    free(c->bridge_pg);
    free(c->network_dir);
    for (size_t i = 0; i < c->n_volume_stores; i++)
        free(c->volume_stores[i]);
    free(c->volume_stores);
    memset(c, 0, sizeof(*c));
}

/* ---- command lines ---- */

const char *init_component_name(init_component_id id)
{
    return id == INIT_PORT_LAYER_ID ? "port-layer"
           : id == INIT_DOCKER_ID   ? "docker-personality"
                                    : "vicadmin";
}

typedef struct argv_buf {
    char **v;
    size_t n, cap;
} argv_buf;

static void argv_add(argv_buf *a, char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = xrealloc(a->v, a->cap * sizeof(char *));
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

/* flag ITEM for each item of a comma-separated list. */
static void argv_add_list(argv_buf *a, const char *flag, const char *list)
{
    for (const char *r = list; r && *r;) {
        size_t n = strcspn(r, ",");
        if (n) {
            argv_add(a, xstrdup(flag));
            argv_add(a, xstrndup(r, n));
        }
        r += n + (r[n] == ',');
    }
}

char **init_component_argv(const init_config *c, init_component_id id)
{
    argv_buf a = {0};
    if (id == INIT_PORT_LAYER_ID) {
        argv_add(&a, xasprintf("%s/port-layer-server", c->bin_dir));
        argv_add(&a, xstrdup("--listen"));
        argv_add(&a, xasprintf("%s:%d", c->address, INIT_PORT_LAYER));
        argv_add(&a, xstrdup("--token-file"));
        argv_add(&a, xstrdup(INIT_TOKEN_FILE));
        argv_add(&a, xstrdup("--home"));
        argv_add(&a, xstrdup(c->home));
        argv_add(&a, xstrdup("--bin-dir"));
        argv_add(&a, xstrdup(c->bin_dir));
        argv_add(&a, xstrdup("--pool"));
        argv_add(&a, xstrdup(c->pool));
        argv_add(&a, xstrdup("--images"));
        argv_add(&a, xstrdup(c->image_dir));
        argv_add(&a, xstrdup("--publish-address"));
        argv_add(&a, xstrdup(c->address));
        if (c->bridge_range) {
            argv_add(&a, xstrdup("--bridge-range"));
            argv_add(&a, xstrdup(c->bridge_range));
        }
        if (c->bridge_pg) {
            argv_add(&a, xstrdup("--bridge-port-group"));
            argv_add(&a, xstrdup(c->bridge_pg));
        }
        if (c->network_dir) {
            argv_add(&a, xstrdup("--network-dir"));
            argv_add(&a, xstrdup(c->network_dir));
        }
        for (size_t i = 0; i < c->n_volume_stores; i++) {
            argv_add(&a, xstrdup("--volume-store"));
            argv_add(&a, xstrdup(c->volume_stores[i]));
        }
        argv_add_list(&a, "--insecure-registry", c->insecure);
        if (c->registry_ca) {
            argv_add(&a, xstrdup("--registry-ca"));
            argv_add(&a, xstrdup(c->registry_ca));
        }
    } else if (id == INIT_VICADMIN_ID) {
        argv_add(&a, xasprintf("%s/vicadmin", c->bin_dir));
        argv_add(&a, xstrdup("--listen"));
        argv_add(&a, xasprintf("%s:%d", c->address, INIT_VICADMIN));
        if (c->tls) {
            argv_add(&a, xstrdup("--tls-cert"));
            argv_add(&a, xstrdup(INIT_TLS_CERT));
            argv_add(&a, xstrdup("--tls-key"));
            argv_add(&a, xstrdup(INIT_TLS_KEY));
            argv_add(&a, xstrdup("--tls-ca"));
            argv_add(&a, xstrdup(INIT_TLS_CA));
        }
        argv_add(&a, xstrdup("--name"));
        argv_add(&a, xstrdup(c->name));
        argv_add(&a, xstrdup("--home"));
        argv_add(&a, xstrdup(c->home));
        argv_add(&a, xstrdup("--pool"));
        argv_add(&a, xstrdup(c->pool));
        argv_add(&a, xstrdup("--images"));
        argv_add(&a, xstrdup(c->image_dir));
        argv_add(&a, xstrdup("--docker"));
        argv_add(&a, init_docker_host(c));
        argv_add(&a, xstrdup("--port-layer"));
        argv_add(&a, xasprintf("http://%s:%d", c->address, INIT_PORT_LAYER));
        argv_add(&a, xstrdup("--token-file"));
        argv_add(&a, xstrdup(INIT_TOKEN_FILE));
        argv_add(&a, xstrdup("--passwd-file"));
        argv_add(&a, xstrdup(INIT_PASSWD));
        argv_add(&a, xstrdup("--ui-dir"));
        argv_add(&a, xasprintf("%s/ui", c->bin_dir));
        argv_add_list(&a, "--registry", c->registries);
    } else {
        argv_add(&a, xasprintf("%s/docker-engine-server", c->bin_dir));
        argv_add(&a, xstrdup("--listen"));
        argv_add(&a, xasprintf("%s:%d", c->address, c->tls ? INIT_DOCKER_TLS : INIT_DOCKER_TCP));
        if (c->tls) {
            argv_add(&a, xstrdup("--tls-cert"));
            argv_add(&a, xstrdup(INIT_TLS_CERT));
            argv_add(&a, xstrdup("--tls-key"));
            argv_add(&a, xstrdup(INIT_TLS_KEY));
            if (c->tls_verify) {
                argv_add(&a, xstrdup("--tls-ca"));
                argv_add(&a, xstrdup(INIT_TLS_CA));
            }
        }
        argv_add(&a, xstrdup("--port-layer"));
        argv_add(&a, xasprintf("http://%s:%d", c->address, INIT_PORT_LAYER));
        argv_add(&a, xstrdup("--token-file"));
        argv_add(&a, xstrdup(INIT_TOKEN_FILE));
        argv_add(&a, xstrdup("--name"));
        argv_add(&a, xstrdup(c->name));
    }
    if (c->debug >= 1) {
        argv_add(&a, xstrdup("--log-level"));
        argv_add(&a, xstrdup("debug"));
    }
    return a.v;
}

void init_argv_free(char **argv)
{
    if (argv == NULL)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

int init_component_port(const init_config *c, init_component_id id)
{
    if (id == INIT_PORT_LAYER_ID)
        return INIT_PORT_LAYER;
    if (id == INIT_VICADMIN_ID)
        return INIT_VICADMIN;
    return c->tls ? INIT_DOCKER_TLS : INIT_DOCKER_TCP;
}

char *init_docker_host(const init_config *c)
{
    return xasprintf("%s:%d", c->address, c->tls ? INIT_DOCKER_TLS : INIT_DOCKER_TCP);
}

int init_backoff_next(int prev_ms)
{
    if (prev_ms < INIT_BACKOFF_MIN_MS)
        return INIT_BACKOFF_MIN_MS;
    return prev_ms >= INIT_BACKOFF_MAX_MS / 2 ? INIT_BACKOFF_MAX_MS : prev_ms * 2;
}

/* ---- the supervisor ---- */

/* A component that ran this long before dying starts its backoff over. */
#define INIT_STABLE_MS 60000
/* How often a component that does not answer yet is probed. */
#define INIT_PROBE_MS 250

typedef struct component {
    init_component_id id;
    char **argv;
    int port;           /* where it serves: up once this accepts a connection */
    pid_t pid;          /* 0 while not running */
    bool up;            /* answered since it last started */
    int backoff_ms;     /* the last restart delay, 0 before the first */
    int64_t started_ms; /* when it last started */
    int64_t restart_ms; /* when to start it again, while pid == 0 */
    int64_t next_probe_ms;
    int restarts;      /* starts after the first */
    time_t started_at; /* wall clock of the last start, for the dashboard */
} component;

typedef struct supervisor {
    int gi_fd;
    int serial_fd;
    init_config cfg;
    component comps[INIT_N_COMPONENTS];
    json_t *state;         /* the keys we publish, current values */
    json_t *published;     /* what the channel has accepted */
    char *components_text; /* INIT_COMPONENTS as last written */
    time_t started_at;
} supervisor;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(supervisor *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line to the serial log (as the tether's own messages) and to our log. */
static void say(supervisor *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    cleanup_free char *line = xasprintf("vic-init: %s\n", msg);
    vic_serial_write(s->serial_fd, VIC_STREAM_TETHER, line, strlen(line), NULL);
    vic_log(VIC_LOG_INFO, "%s", msg);
}

static void set_state(supervisor *s, const char *key, const char *value)
{
    json_object_set_new(s->state, key, json_string(value));
}

static void set_status(supervisor *s, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_status(supervisor *s, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *v = xvasprintf(fmt, ap);
    va_end(ap);
    cleanup_free char *key = xasprintf(INIT_KEY_STATUS "%s", name);
    set_state(s, key, v);
}

/* Sends the keys that changed since the last accepted write, in one frame. A refused write
 * (e.g. rate limited) is tried again on the next call. */
/* INIT_COMPONENTS: what vicadmin's dashboard shows of each component. */
static void write_components(supervisor *s)
{
    json_t *all cleanup_json = json_object();
    for (int i = 0; i < INIT_N_COMPONENTS; i++) {
        component *c = &s->comps[i];
        const char *name = init_component_name(c->id);
        cleanup_free char *key = xasprintf(INIT_KEY_STATUS "%s", name);
        const char *state = json_string_value(json_object_get(s->state, key));
        json_object_set_new(all, name,
                            json_pack("{s:s, s:I, s:I, s:i}", "state", state ? state : "unknown",
                                      "pid", (json_int_t)c->pid, "started",
                                      (json_int_t)(c->pid ? c->started_at : 0), "restarts",
                                      c->restarts));
    }
    const char *self = json_string_value(json_object_get(s->state, INIT_KEY_STATUS "vic-init"));
    json_object_set_new(all, "vic-init",
                        json_pack("{s:s, s:I, s:I, s:i}", "state", self ? self : "starting", "pid",
                                  (json_int_t)getpid(), "started", (json_int_t)s->started_at,
                                  "restarts", 0));
    char *text = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s->components_text && strcmp(text, s->components_text) == 0) {
        free(text);
        return;
    }
    vic_err *err cleanup_err = NULL;
    if (vic_file_write_atomic(INIT_COMPONENTS, text, strlen(text), 0644, &err) < 0) {
        vic_log(VIC_LOG_WARN, "event=components_write_failed msg=\"%s\"", err->msg);
        free(text);
        return;
    }
    free(s->components_text);
    s->components_text = text;
}

static void publish(supervisor *s)
{
    write_components(s);
    json_t *changed cleanup_json = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(s->state, k, v)
    {
        if (!json_equal(v, json_object_get(s->published, k)))
            json_object_set(changed, k, v);
    }
    if (json_object_size(changed) == 0)
        return;
    vic_err *err cleanup_err = NULL;
    if (vic_gichan_set_many(s->gi_fd, changed, &err) < 0) {
        vic_log(VIC_LOG_WARN, "event=publish_failed msg=\"%s\"", err->msg);
        return;
    }
    json_object_update(s->published, changed);
}

static bool publish_pending(supervisor *s)
{
    return !json_equal(s->state, s->published);
}

static void update_ready(supervisor *s)
{
    bool ready = true;
    for (int i = 0; i < INIT_N_COMPONENTS; i++)
        ready = ready && s->comps[i].pid > 0 && s->comps[i].up;
    set_state(s, INIT_KEY_READY, ready ? "true" : "false");
}

/* Generates the port layer's token: 32 random bytes, hex, in INIT_TOKEN_FILE (0600). */
static int write_token(vic_err **err)
{
    unsigned char raw[32];
    char hex[2 * sizeof(raw) + 2];
    /* the kernel's generator: vic-init carries no crypto library (it stays small, as PID 1 of
     * every appliance) */
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return vic_err_sys(err, VIC_EIO, errno, "read random bytes");
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[2 * sizeof(raw)] = '\n';
    hex[2 * sizeof(raw) + 1] = '\0';
    int rc = vic_file_write_atomic(INIT_TOKEN_FILE, hex, 2 * sizeof(raw) + 1, 0600, err);
    explicit_bzero(raw, sizeof(raw));
    explicit_bzero(hex, sizeof(hex));
    return rc;
}

/* Starts c: stdout and stderr appended to <name>.log, signals unblocked, SIGTERM when we die.
 * Fills *why and returns -1 when it could not be started. */
static int spawn(supervisor *s, component *c, char *why, size_t cap)
{
    const char *name = init_component_name(c->id);
    cleanup_free char *logp = xasprintf("%s.log", name);
    int logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        snprintf(why, cap, "cannot open %s: %s", logp, strerror(errno));
        return -1;
    }
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) {
        snprintf(why, cap, "pipe: %s", strerror(errno));
        close(logfd);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, cap, "fork: %s", strerror(errno));
        close(logfd), close(ep[0]), close(ep[1]);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0) {
            int e = errno;
            ssize_t w = write(ep[1], &e, sizeof(e));
            (void)w;
            _exit(127);
        }
        close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        extern char **environ;
        execve(c->argv[0], c->argv, environ);
        int e = errno;
        ssize_t w = write(ep[1], &e, sizeof(e));
        (void)w;
        _exit(127);
    }
    close(logfd);
    close(ep[1]);
    int e = 0;
    ssize_t n;
    do
        n = read(ep[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    close(ep[0]);
    if (n == sizeof(e)) {
        waitpid(pid, NULL, 0);
        snprintf(why, cap, "cannot run %s: %s", c->argv[0], strerror(e));
        return -1;
    }
    if (c->started_ms)
        c->restarts++;
    c->started_at = time(NULL);
    c->pid = pid;
    c->up = false;
    c->started_ms = now_ms();
    c->next_probe_ms = c->started_ms + 100;
    (void)s;
    return 0;
}

/* Schedules c's next start after the backoff and says why. */
static void schedule_restart(supervisor *s, component *c, const char *state, const char *why)
{
    int64_t now = now_ms();
    if (c->backoff_ms && c->started_ms && now - c->started_ms >= INIT_STABLE_MS)
        c->backoff_ms = 0;
    c->backoff_ms = init_backoff_next(c->backoff_ms);
    c->restart_ms = now + c->backoff_ms;
    const char *name = init_component_name(c->id);
    set_status(s, name, "%s: %s", state, why);
    say(s, "%s %s: %s; next start in %d s", name, state, why, c->backoff_ms / 1000);
}

static void start_component(supervisor *s, component *c, bool first)
{
    char why[512];
    const char *name = init_component_name(c->id);
    if (spawn(s, c, why, sizeof(why)) < 0) {
        schedule_restart(s, c, "failed", why);
        return;
    }
    vic_log(VIC_LOG_INFO, "event=component_started component=%s pid=%ld", name, (long)c->pid);
    if (first)
        set_status(s, name, "starting");
}

/* Whether the component's port accepts a connection within half a second. */
static bool probe(supervisor *s, component *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    if (inet_pton(AF_INET, s->cfg.address, &sa.sin_addr) != 1)
        return false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return false;
    bool up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (!up && errno == EINPROGRESS) {
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t len = sizeof(err);
        up = poll(&pf, 1, 500) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
             err == 0;
    }
    close(fd);
    return up;
}

/* Reaps children; a component that exited is scheduled for a restart. */
static void reap(supervisor *s, bool stopping)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < INIT_N_COMPONENTS; i++) {
            component *c = &s->comps[i];
            if (c->pid != pid)
                continue;
            c->pid = 0;
            c->up = false;
            char why[64];
            if (WIFEXITED(st))
                snprintf(why, sizeof(why), "exited with status %d", WEXITSTATUS(st));
            else
                snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(st));
            if (stopping)
                vic_log(VIC_LOG_INFO, "event=component_stopped component=%s detail=\"%s\"",
                        init_component_name(c->id), why);
            else
                schedule_restart(s, c, "restarting", why);
        }
    }
}

/* Stops every component: SIGTERM, SIGKILL after INIT_STOP_GRACE_MS. */
static void stop_all(supervisor *s, int sfd)
{
    for (int i = 0; i < INIT_N_COMPONENTS; i++)
        if (s->comps[i].pid > 0)
            kill(s->comps[i].pid, SIGTERM);
    int64_t deadline = now_ms() + INIT_STOP_GRACE_MS;
    for (;;) {
        reap(s, true);
        bool running = false;
        for (int i = 0; i < INIT_N_COMPONENTS; i++)
            running = running || s->comps[i].pid > 0;
        if (!running)
            break;
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            for (int i = 0; i < INIT_N_COMPONENTS; i++) {
                if (s->comps[i].pid > 0) {
                    say(s, "%s did not stop within %d s: killed", init_component_name(i),
                        INIT_STOP_GRACE_MS / 1000);
                    kill(s->comps[i].pid, SIGKILL);
                    waitpid(s->comps[i].pid, NULL, 0);
                    s->comps[i].pid = 0;
                }
            }
            break;
        }
        struct pollfd pf = {sfd, POLLIN, 0};
        if (poll(&pf, 1, (int)left) > 0) {
            struct signalfd_siginfo si;
            ssize_t n = read(sfd, &si, sizeof(si));
            (void)n; /* SIGCHLD: reaped above; a second SIGTERM changes nothing */
        }
    }
    for (int i = 0; i < INIT_N_COMPONENTS; i++)
        set_status(s, init_component_name(i), "stopped");
    set_status(s, "vic-init", "stopped");
    set_state(s, INIT_KEY_READY, "false");
    publish(s);
}

static void supervisor_clear(supervisor *s)
{
    for (int i = 0; i < INIT_N_COMPONENTS; i++) {
        init_argv_free(s->comps[i].argv);
    }
    init_config_clear(&s->cfg);
    json_decref(s->state);
    json_decref(s->published);
    free(s->components_text);
}

/* Fails the boot: says why in the status key and the serial log. */
static int fail_boot(supervisor *s, const char *why)
{
    set_status(s, "vic-init", "failed: %s", why);
    publish(s);
    say(s, "failed: %s", why);
    vic_log(VIC_LOG_ERROR, "event=failed msg=\"%s\"", why);
    return 1;
}

int init_run(int gi_fd, int serial_fd)
{
    supervisor sup = {.gi_fd = gi_fd, .serial_fd = serial_fd};
    supervisor *s = &sup;
    s->state = json_object();
    s->published = json_object();
    s->started_at = time(NULL);
    int code = 1;
    cleanup_free char *docker_host = NULL;
    vic_err *err cleanup_err = NULL;
    json_t *kv cleanup_json = NULL;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd cleanup_close = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        code = fail_boot(s, "signalfd failed");
        goto done;
    }
    if (vic_gichan_list(gi_fd, INIT_CONFIG_PREFIX, &kv, &err) < 0) {
        cleanup_free char *why = xasprintf("read the configuration: %s", err->msg);
        code = fail_boot(s, why);
        goto done;
    }
    if (init_config_parse(&s->cfg, kv, &err) < 0) {
        code = fail_boot(s, err->msg);
        goto done;
    }
    char cwd[4096]; /* the appliance's VM folder: its networks are recorded there */
    if (getcwd(cwd, sizeof(cwd)))
        s->cfg.network_dir = xasprintf("%s/networks", cwd);
    if (write_token(&err) < 0) {
        cleanup_free char *why = xasprintf("write %s: %s", INIT_TOKEN_FILE, err->msg);
        code = fail_boot(s, why);
        goto done;
    }
    docker_host = init_docker_host(&s->cfg);
    set_state(s, INIT_KEY_DOCKER, docker_host);
    set_status(s, "vic-init", "started");
    say(s, "VCH %s on %s (docker API %s)", s->cfg.name, s->cfg.address, docker_host);
    for (int i = 0; i < INIT_N_COMPONENTS; i++) {
        component *c = &s->comps[i];
        c->id = (init_component_id)i;
        c->argv = init_component_argv(&s->cfg, c->id);
        c->port = init_component_port(&s->cfg, c->id);
        start_component(s, c, true);
    }
    update_ready(s);
    publish(s);

    for (;;) {
        int64_t now = now_ms();
        int64_t wake = now + 60000;
        for (int i = 0; i < INIT_N_COMPONENTS; i++) {
            component *c = &s->comps[i];
            if (c->pid == 0 && c->restart_ms < wake)
                wake = c->restart_ms;
            if (c->pid > 0 && !c->up && c->next_probe_ms < wake)
                wake = c->next_probe_ms;
        }
        if (publish_pending(s) && now + 1000 < wake)
            wake = now + 1000; /* a refused write is tried again */
        struct pollfd pf = {sfd, POLLIN, 0};
        int timeout = wake > now ? (int)(wake - now) : 0;
        int n = poll(&pf, 1, timeout);
        if (n < 0 && errno != EINTR)
            break;
        bool stop = false;
        if (n > 0 && (pf.revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
                    stop = true;
                if (si.ssi_signo == SIGCHLD || stop)
                    break;
            }
        }
        if (stop) {
            say(s, "stopping on signal");
            stop_all(s, sfd);
            code = 0;
            break;
        }
        reap(s, false);
        now = now_ms();
        for (int i = 0; i < INIT_N_COMPONENTS; i++) {
            component *c = &s->comps[i];
            if (c->pid == 0 && now >= c->restart_ms) {
                say(s, "starting %s again", init_component_name(c->id));
                start_component(s, c, false);
            }
        }
        for (int i = 0; i < INIT_N_COMPONENTS; i++) {
            component *c = &s->comps[i];
            if (c->pid > 0 && !c->up && now_ms() >= c->next_probe_ms) {
                if (probe(s, c)) {
                    c->up = true;
                    set_status(s, init_component_name(c->id), "started");
                    say(s, "%s started (pid %ld)", init_component_name(c->id), (long)c->pid);
                } else {
                    c->next_probe_ms = now_ms() + INIT_PROBE_MS;
                }
            }
        }
        update_ready(s);
        publish(s);
    }
done:
    supervisor_clear(s);
    return code;
}
