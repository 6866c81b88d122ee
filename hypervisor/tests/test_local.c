/*
 * The local host end to end: real monitors (vic-vmx) and tethers, a busybox root disk, in a
 * temporary $VIC_HOME. Needs root (namespaces, cgroups); VIC_BIN_DIR names the binaries
 * (default build-san/bin) and VIC_ROOTFS_SCRIPT the fixture script.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include <sys/socket.h>
#include <sys/un.h>

#include "lib/attach.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/execconfig.h"
#include "lib/mem.h"
#include "lib/serial.h"

static char home[128];
static char fixture[160];
static char bin_dir[512];
static hv_conn *conn;

/* Extras for the next make_vm_ex: a stop signal, a tmpfs mount, and a NIC on the bridge port
 * group (the guest's address on it, in 10.99.0.0/24, whose gateway is 10.99.0.1). */
static const char *next_stop_signal;
static const char *next_tmpfs;
static const char *next_ip;

#define POOL "/ha-datacenter/host/local/Resources"

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = xvasprintf(fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("command failed (%d): %s", rc, cmd);
    free(cmd);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(home, sizeof(home), "/tmp/vic-test-local-XXXXXX");
    if (mkdtemp(home) == NULL)
        return -1;
    snprintf(fixture, sizeof(fixture), "%s/busybox", home);
    const char *script = getenv("VIC_ROOTFS_SCRIPT");
    sh("%s %s >/dev/null", script ? script : "tests/fixtures/busybox-rootfs.sh", fixture);
    const char *bins = getenv("VIC_BIN_DIR");
    if (realpath(bins ? bins : "build-san/bin", bin_dir) == NULL)
        return -1;
    hv_connect_opts o = {.target = "local", .home = home, .bin_dir = bin_dir};
    vic_err *err cleanup_err = NULL;
    if (hv_open(&conn, &o, &err) < 0) {
        fprintf(stderr, "hv_open: %s\n", err->msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    hv_close(conn);
    sh("rm -rf %s", home);
    return 0;
}

/* Creates a VM whose root disk is a copy of the busybox fixture and whose only session runs
 * argv; returns its reference. */
static hv_ref make_vm_ex(const char *name, const char *const *argv, size_t argc, const char *user,
                         bool tty, bool interactive);

static hv_ref make_vm(const char *name, const char *const *argv, size_t argc, const char *user)
{
    return make_vm_ex(name, argv, argc, user, false, false);
}

static hv_ref make_vm_ex(const char *name, const char *const *argv, size_t argc, const char *user,
                         bool tty, bool interactive)
{
    char disk[256];
    snprintf(disk, sizeof(disk), "[datastore1] %s/rootfs", name);
    hv_disk d = {.path = disk, .create = true};
    vic_exec_config cfg = {0};
    vic_exec_session s = {0};
    char *ids[] = {(char *)name};
    s.id = (char *)name;
    s.cmd.path = (char *)argv[0];
    s.cmd.args = (char **)argv;
    s.cmd.n_args = argc;
    char *env[] = {"PATH=/bin:/usr/bin:/sbin:/usr/sbin", "GREETING=hello"};
    s.cmd.env = env;
    s.cmd.n_env = 2;
    s.user = (char *)user;
    s.tty = tty;
    s.attach = interactive;
    s.openstdin = interactive;
    s.stop_signal = (char *)next_stop_signal;
    vic_exec_mount mt = {.source = "tmpfs", .target = (char *)next_tmpfs, .mode = "rw"};
    if (next_tmpfs) {
        cfg.mounts = &mt;
        cfg.n_mounts = 1;
    }
    char *net_names[] = {"n"};
    char *dns[] = {"10.99.0.1"};
    vic_exec_network net = {.name = "n",
                            .nic = 0,
                            .ip = (char *)next_ip,
                            .gateway = "10.99.0.1/24",
                            .nameservers = dns,
                            .n_nameservers = 1,
                            .is_default = true};
    hv_nic nic = {.network = "bridge", .gateway = "10.99.0.1/24"};
    if (next_ip) {
        cfg.network_names = net_names;
        cfg.networks = &net;
        cfg.n_networks = 1;
    }
    next_stop_signal = NULL;
    next_tmpfs = NULL;
    cfg.id = (char *)name;
    cfg.hostname = (char *)name;
    cfg.session_ids = ids;
    cfg.sessions = &s;
    cfg.n_sessions = 1;
    json_t *extra cleanup_json = json_object();
    vic_err *err cleanup_err = NULL;
    if (vic_gi_encode(extra, &vic_exec_config_desc, &cfg, "", NULL, &err) < 0)
        fail_msg("encode: %s", err->msg);
    hv_vm_spec spec = {.name = name,
                       .pool = POOL,
                       .datastore = "datastore1",
                       .cpus = 1,
                       .memory_mb = 64,
                       .disks = &d,
                       .n_disks = 1,
                       .nics = next_ip ? &nic : NULL,
                       .n_nics = next_ip ? 1 : 0,
                       .serial_log = true,
                       .extra_config = extra};
    next_ip = NULL;
    hv_ref ref;
    if (hv_vm_create(conn, &spec, &ref, &err) < 0)
        fail_msg("create %s: %s", name, err->msg);
    /* the root disk is the VM's id range's from its create on: fill it with shifted owners */
    uint32_t base = 0;
    if (hv_vm_id_base(conn, &ref, &base, &err) < 0)
        fail_msg("id base of %s: %s", name, err->msg);
    assert_true(base >= HV_LOCAL_GUEST_ID_BASE + HV_LOCAL_GUEST_ID_COUNT);
    sh("cp -a %s/. %s/datastore1/%s/rootfs/ && chown -hR %u:%u %s/datastore1/%s/rootfs", fixture,
       home, name, base, base, home, name);
    return ref;
}

static hv_power power_of(const hv_ref *vm)
{
    hv_vm_info info;
    vic_err *err cleanup_err = NULL;
    if (hv_vm_get(conn, vm, &info, &err) < 0)
        fail_msg("get: %s", err->msg);
    hv_power p = info.power;
    hv_vm_info_clear(&info);
    return p;
}

static void wait_off(const hv_ref *vm, int max_ms)
{
    for (int i = 0; i < max_ms / 5; i++) {
        if (power_of(vm) == HV_POWERED_OFF)
            return;
        usleep(5000);
    }
    fail_msg("%s still powered on after %d ms", vm->id, max_ms);
}

static char *key_of(const hv_ref *vm, const char *key)
{
    hv_vm_info info;
    vic_err *err cleanup_err = NULL;
    if (hv_vm_get(conn, vm, &info, &err) < 0)
        fail_msg("get: %s", err->msg);
    const char *v = json_string_value(json_object_get(info.extra_config, key));
    char *out = v ? xstrdup(v) : NULL;
    hv_vm_info_clear(&info);
    return out;
}

/* The session's output on one stream, from the serial log. */
static char *serial_stream(const char *name, int stream)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/datastore1/%s/output.log", home, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return xstrdup("");
    vic_buf all = VIC_BUF_INIT, out = VIC_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        vic_buf_append(&all, chunk, n);
    fclose(f);
    vic_buf_append(&out, "", 0);
    size_t off = 0;
    vic_serial_record r;
    while (all.data && vic_serial_next(all.data, all.len, &off, &r, NULL) == 1)
        if (r.stream == stream)
            vic_buf_append(&out, r.data, r.len);
    vic_buf_free(&all);
    return vic_buf_steal(&out);
}

static void test_local_session_output_and_exit_code(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/sh", "-c",
                          "echo hi; echo oops >&2; echo $GREETING $(hostname); exit 3"};
    hv_ref vm = make_vm("exit3", argv, 3, NULL);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(power_of(&vm), HV_POWERED_OFF);
    if (hv_vm_power_on(conn, &vm, &err) < 0)
        fail_msg("power on: %s", err->msg);
    wait_off(&vm, 10000);
    char *out = serial_stream("exit3", VIC_STREAM_STDOUT);
    char *errs = serial_stream("exit3", VIC_STREAM_STDERR);
    assert_string_equal(out, "hi\nhello exit3\n");
    assert_string_equal(errs, "oops\n");
    free(out);
    free(errs);
    char *status = key_of(&vm, "guestinfo.vice..sessions|exit3.status");
    char *started = key_of(&vm, "guestinfo.vice..sessions|exit3.started");
    assert_non_null(status);
    assert_string_equal(status, "3");
    assert_string_equal(started, "true");
    free(status);
    free(started);
    /* the events tell the same story */
    hv_event ev[256];
    size_t n = 0;
    assert_int_equal(hv_events_wait(conn, 0, 100, ev, 256, &n, &err), 0);
    int on = 0, off = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ev[i].vm.id, "vm:exit3") != 0)
            continue;
        on |= strcmp(ev[i].type, "poweredOn") == 0;
        off |= strcmp(ev[i].type, "poweredOff") == 0 &&
               strcmp(ev[i].detail, "guest exited with status 3") == 0;
        if (i > 0)
            assert_true(ev[i].seq > ev[i - 1].seq);
    }
    assert_true(on);
    assert_true(off);
    size_t more = 0;
    assert_int_equal(hv_events_wait(conn, ev[n - 1].seq, 50, ev, 256, &more, &err), 0);
    assert_int_equal(more, 0); /* nothing new: a timeout, not an error */
}

static void test_local_missing_executable_reported(void **state)
{
    (void)state;
    const char *argv[] = {"nosuch"};
    hv_ref vm = make_vm("nosuch", argv, 1, NULL);
    vic_err *err cleanup_err = NULL;
    if (hv_vm_power_on(conn, &vm, &err) < 0)
        fail_msg("power on: %s", err->msg);
    wait_off(&vm, 10000);
    char *started = key_of(&vm, "guestinfo.vice..sessions|nosuch.started");
    assert_non_null(started);
    assert_string_equal(started, "exec: \"nosuch\": executable file not found in $PATH");
    free(started);
    char *status = key_of(&vm, "guestinfo.vice..sessions|nosuch.status");
    assert_string_equal(status, "127");
    free(status);
}

static void *unlock_later(void *arg)
{
    int fd = *(int *)arg;
    struct timespec t = {0, 100 * 1000000L};
    nanosleep(&t, NULL);
    flock(fd, LOCK_UN);
    return NULL;
}

/* A reader that asks whether the VM runs holds monitor.lock shared for an instant: a power on
 * at that instant waits it out instead of reading as "already powered on" (the VM then never
 * started while its start answered success). */
static void test_local_power_on_while_its_state_is_read(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/sleep", "600"};
    hv_ref vm = make_vm("probed", argv, 2, NULL);
    vic_err *err cleanup_err = NULL;
    char path[512];
    snprintf(path, sizeof(path), "%s/datastore1/probed/monitor.lock", home);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_SH), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, unlock_later, &fd), 0);
    int rc = hv_vm_power_on(conn, &vm, &err);
    pthread_join(th, NULL);
    close(fd);
    if (rc < 0)
        fail_msg("power on: %s", err->msg);
    assert_int_equal(power_of(&vm), HV_POWERED_ON);
    if (hv_vm_power_off(conn, &vm, 0, &err) < 0)
        fail_msg("power off: %s", err->msg);
    assert_int_equal(power_of(&vm), HV_POWERED_OFF);
}

/* A VM's size and limits reach its cgroup, at power on and while it runs; pause freezes it
 * and a power off thaws it; a guest beyond its memory is killed and the VM says so. */
static void test_local_limits_pause_and_out_of_memory(void **state)
{
    (void)state;
    char unenforced[512];
    hv_vm_unenforced(conn, unenforced, sizeof(unenforced));
    if (strstr(unenforced, "memory") || strstr(unenforced, "process") ||
        strstr(unenforced, "pause")) {
        print_message("skipped: this host does not enforce %s\n", unenforced);
        return;
    }
    const char *argv[] = {"/bin/sleep", "600"};
    hv_ref vm = make_vm("limited", argv, 2, NULL);
    vic_err *err cleanup_err = NULL;
    hv_vm_change size = {.set_size = true,
                         .cpus = 1,
                         .memory_mb = 32,
                         .limits = {.cpu_millis = 500, .cpu_shares = 512, .pids = 20}};
    if (hv_vm_reconfigure(conn, &vm, NULL, &size, NULL, 0, &err) < 0)
        fail_msg("size: %s", err->msg);
    size.limits.cpu_millis = 2000; /* more CPU time than its vCPUs */
    assert_int_equal(hv_vm_reconfigure(conn, &vm, NULL, &size, NULL, 0, &err), VIC_EINVAL);
    vic_err_free(&err);
    if (hv_vm_power_on(conn, &vm, &err) < 0)
        fail_msg("power on: %s", err->msg);
    hv_vm_info info;
    if (hv_vm_get(conn, &vm, &info, &err) < 0)
        fail_msg("get: %s", err->msg);
    assert_int_equal(info.memory_limit_bytes, 32 << 20);
    assert_int_equal(info.pids_limit, 20);
    assert_int_equal(info.memory_mb, 32);
    assert_int_equal(info.limits.cpu_millis, 500);
    assert_int_equal(info.limits.cpu_shares, 512);
    assert_false(info.paused);
    hv_vm_info_clear(&info);

    /* a running VM's new size applies at once */
    size.memory_mb = 48;
    size.limits.cpu_millis = 250;
    if (hv_vm_reconfigure(conn, &vm, NULL, &size, NULL, 0, &err) < 0)
        fail_msg("resize: %s", err->msg);
    if (hv_vm_get(conn, &vm, &info, &err) < 0)
        fail_msg("get: %s", err->msg);
    assert_int_equal(info.memory_limit_bytes, 48 << 20);
    hv_vm_info_clear(&info);

    if (hv_vm_pause(conn, &vm, true, &err) < 0)
        fail_msg("pause: %s", err->msg);
    if (hv_vm_get(conn, &vm, &info, &err) < 0)
        fail_msg("get: %s", err->msg);
    assert_true(info.paused);
    hv_vm_info_clear(&info);
    /* a paused guest still powers off within its grace: it is thawed to meet the signal */
    if (hv_vm_power_off(conn, &vm, 5000, &err) < 0)
        fail_msg("power off: %s", err->msg);
    assert_int_equal(power_of(&vm), HV_POWERED_OFF);
    assert_int_equal(hv_vm_pause(conn, &vm, true, &err), VIC_ECONFLICT);
    vic_err_free(&err);

    /* a pool that allows less CPU time than a VM's vCPUs: the pool's limit binds the VM */
    hv_ref root;
    if (hv_find(conn, HV_POOL, POOL, &root, &err) < 0)
        fail_msg("find %s: %s", POOL, err->msg);
    hv_pool_spec slow = {.cpu = {.limit = 100}, .memory = {.limit = -1}};
    if (hv_pool_update(conn, &root, &slow, &err) < 0)
        fail_msg("pool update: %s", err->msg);
    size = (hv_vm_change){.set_size = true, .cpus = 2, .memory_mb = 64};
    if (hv_vm_reconfigure(conn, &vm, NULL, &size, NULL, 0, &err) < 0)
        fail_msg("size: %s", err->msg);
    int on = hv_vm_power_on(conn, &vm, &err);
    hv_pool_spec open_ = {.cpu = {.limit = -1}, .memory = {.limit = -1}};
    vic_err *e2 = NULL;
    if (hv_pool_update(conn, &root, &open_, &e2) < 0)
        fail_msg("pool update: %s", e2->msg);
    if (on < 0)
        fail_msg("power on in a slow pool: %s", err->msg);
    if (hv_vm_power_off(conn, &vm, 0, &err) < 0)
        fail_msg("power off: %s", err->msg);

    /* 64 MiB of buffer in a 16 MiB VM */
    const char *hog[] = {"/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"};
    hv_ref big = make_vm("hog", hog, 5, NULL);
    size = (hv_vm_change){.set_size = true, .cpus = 1, .memory_mb = 16};
    if (hv_vm_reconfigure(conn, &big, NULL, &size, NULL, 0, &err) < 0)
        fail_msg("size: %s", err->msg);
    if (hv_vm_power_on(conn, &big, &err) < 0)
        fail_msg("power on: %s", err->msg);
    wait_off(&big, 20000);
    if (hv_vm_get(conn, &big, &info, &err) < 0)
        fail_msg("get: %s", err->msg);
    assert_true(info.oom_kills > 0);
    hv_vm_info_clear(&info);
}

static void test_local_power_off_from_outside(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/sleep", "600"};
    hv_ref vm = make_vm("sleeper", argv, 2, "app");
    vic_err *err cleanup_err = NULL;
    if (hv_vm_power_on(conn, &vm, &err) < 0)
        fail_msg("power on: %s", err->msg);
    assert_int_equal(power_of(&vm), HV_POWERED_ON);
    assert_int_equal(hv_vm_power_on(conn, &vm, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    assert_int_equal(hv_vm_destroy(conn, &vm, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (hv_vm_power_off(conn, &vm, 2000, &err) < 0)
        fail_msg("power off: %s", err->msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms < 2000 + 1000); /* sleep dies on TERM; at worst KILL after the grace */
    assert_int_equal(power_of(&vm), HV_POWERED_OFF);
    char *status = key_of(&vm, "guestinfo.vice..sessions|sleeper.status");
    assert_string_equal(status, "143"); /* 128 + SIGTERM */
    free(status);
    assert_int_equal(hv_vm_destroy(conn, &vm, &err), 0);
    assert_int_equal(hv_vm_get(conn, &vm, &(hv_vm_info){0}, &err), VIC_ENOTFOUND);
}

static pid_t monitor_pid(const char *name)
{
    char path[512], buf[32] = "";
    snprintf(path, sizeof(path), "%s/datastore1/%s/monitor.pid", home, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    if (fgets(buf, sizeof(buf), f) == NULL)
        buf[0] = '\0';
    fclose(f);
    return (pid_t)atol(buf);
}

/* A process the test knows by PID, with its start time (field 22 of /proc/PID/stat): a PID
 * that another process took since is not this one. */
typedef struct known_proc {
    pid_t pid;
    pid_t ppid;
    unsigned long long start;
    char state;
    char comm[32];
} known_proc;

/* Reads /proc/PID/stat; -1 when there is no such process. */
static int read_proc(pid_t pid, known_proc *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *open_p = strchr(buf, '('), *close_p = strrchr(buf, ')');
    if (open_p == NULL || close_p == NULL || close_p < open_p)
        return -1;
    memset(out, 0, sizeof(*out));
    out->pid = pid;
    snprintf(out->comm, sizeof(out->comm), "%.*s", (int)(close_p - open_p - 1), open_p + 1);
    int ppid = 0;
    /* after the name: state, ppid, 17 fields we skip, then starttime */
    if (sscanf(close_p + 1,
               " %c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
               &out->state, &ppid, &out->start) != 3)
        return -1;
    out->ppid = (pid_t)ppid;
    return 0;
}

/* The processes below root (its children, theirs, ...), at most cap of them; the count. */
static size_t descendants(pid_t root, known_proc *out, size_t cap)
{
    static known_proc all[32768];
    size_t n_all = 0, n = 0;
    DIR *d = opendir("/proc");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n_all < sizeof(all) / sizeof(all[0])) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end == '\0' && pid > 0 && read_proc((pid_t)pid, &all[n_all]) == 0)
            n_all++;
    }
    closedir(d);
    /* breadth first: each found process's children join the list behind it */
    for (size_t i = 0; i < n_all && n < cap; i++)
        if (all[i].ppid == root)
            out[n++] = all[i];
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < n_all && n < cap; i++)
            if (all[i].ppid == out[k].pid)
                out[n++] = all[i];
    return n;
}

/* 1 while the known process still runs: its PID is there, started when it did, and not dead
 * (a zombie waiting for its parent has finished). */
static int still_runs(const known_proc *p)
{
    known_proc now;
    return read_proc(p->pid, &now) == 0 && now.start == p->start && now.state != 'Z' &&
           now.state != 'X';
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void test_local_killed_monitor_reads_off(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/sleep", "631"};
    hv_ref vm = make_vm("orphan", argv, 2, NULL);
    vic_err *err cleanup_err = NULL;
    if (hv_vm_power_on(conn, &vm, &err) < 0)
        fail_msg("power on: %s", err->msg);
    pid_t mon = monitor_pid("orphan");
    assert_true(mon > 1);
    /* the guest: every process below the monitor, once the session's sleep runs among them */
    known_proc guest[64];
    size_t n = 0;
    bool sleeping = false;
    for (long long deadline = now_ms() + 10000; !sleeping; usleep(10000)) {
        n = descendants(mon, guest, sizeof(guest) / sizeof(guest[0]));
        for (size_t i = 0; i < n; i++)
            sleeping |= strcmp(guest[i].comm, "sleep") == 0;
        if (!sleeping && now_ms() > deadline)
            fail_msg("the guest's sleep did not start below monitor %d in 10 s", (int)mon);
    }
    assert_int_equal(kill(mon, SIGKILL), 0);
    wait_off(&vm, 2000);
    /* and its guest died with it: each of those processes ends */
    for (long long deadline = now_ms() + 5000;; usleep(10000)) {
        size_t left = 0;
        for (size_t i = 0; i < n; i++)
            if (still_runs(&guest[i]))
                guest[left++] = guest[i];
        n = left;
        if (n == 0)
            break;
        if (now_ms() > deadline)
            fail_msg("%zu guest process(es) outlived their monitor by 5 s, e.g. %d (%s)", n,
                     (int)guest[0].pid, guest[0].comm);
    }
}

/* The bridge recorded for this home's NICs ("" when none). */
static void recorded_bridge(char *out, size_t cap)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "ls %s/netdevs 2>/dev/null | grep '^vb' | head -1", home);
    FILE *f = popen(cmd, "r");
    out[0] = '\0';
    if (f && fgets(out, (int)cap, f) == NULL)
        out[0] = '\0';
    if (f)
        pclose(f);
    out[strcspn(out, "\n")] = '\0';
}

static void test_local_nics_segment_and_sweep(void **state)
{
    (void)state;
    next_ip = "10.99.0.5/24";
    const char *sleeper[] = {"/bin/sleep", "632"};
    hv_ref a = make_vm("nic-a", sleeper, 2, NULL);
    next_ip = "10.99.0.6/24";
    const char *pinger[] = {"/bin/sh", "-c", "ip -o -4 addr show eth0 && ping -c 1 -W 3 10.99.0.5"};
    hv_ref b = make_vm("nic-b", pinger, 3, NULL);
    vic_err *err cleanup_err = NULL;
    if (hv_vm_power_on(conn, &a, &err) < 0)
        fail_msg("power on: %s", err->msg);
    char bridge[64];
    recorded_bridge(bridge, sizeof(bridge));
    assert_true(strncmp(bridge, "vb", 2) == 0);
    /* the segment exists, with the gateway on the host's adapter there */
    sh("ip -o -4 addr show dev vg%s | grep -q 'inet 10.99.0.1/24'", bridge + 2);
    /* and its rules: the host adapter is in VIC-C's set of isolated segments (netfw.h) */
    sh("nft list set inet vic_c segments | grep -q '\"vg%s\"'", bridge + 2);
    /* the other guest reaches the first one's address over it */
    if (hv_vm_power_on(conn, &b, &err) < 0)
        fail_msg("power on: %s", err->msg);
    wait_off(&b, 10000);
    cleanup_free char *status = key_of(&b, VIC_GI_PREFIX ".sessions|nic-b.status");
    cleanup_free char *out = serial_stream("nic-b", VIC_STREAM_STDOUT);
    if (status == NULL || strcmp(status, "0") != 0)
        fail_msg("ping over the segment failed (status %s): %s", status ? status : "?", out);
    assert_non_null(strstr(out, "inet 10.99.0.6/24"));
    /* a firewall's FORWARD DROP (Docker's) does not come between guests: their NICs are
     * macvlans of the segment, not ports of a bridge */
    sh("ip -o link show master %s | wc -l | grep -qx 0", bridge);
    /* a monitor killed with -9 leaves the segment behind... */
    pid_t mon = monitor_pid("nic-a");
    assert_true(mon > 1);
    assert_int_equal(kill(mon, SIGKILL), 0);
    wait_off(&a, 2000);
    sh("ip link show %s >/dev/null 2>&1", bridge);
    /* ...and once no running VM uses it, a sweep takes it: here the one a connection to the
     * host makes */
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        hv_connect_opts o = {.target = "local", .home = home, .bin_dir = bin_dir};
        hv_conn *again = NULL;
        assert_int_equal(hv_open(&again, &o, &err), 0);
        hv_close(again);
        char path[300];
        snprintf(path, sizeof(path), "%s/netdevs/%s", home, bridge);
        gone = access(path, F_OK) != 0;
        if (!gone)
            usleep(50000);
    }
    assert_true(gone);
    sh("! ip link show %s >/dev/null 2>&1", bridge);
    sh("! nft list set inet vic_c segments | grep -q '\"vg%s\"'", bridge + 2);
    assert_int_equal(hv_vm_destroy(conn, &a, &err), 0);
    assert_int_equal(hv_vm_destroy(conn, &b, &err), 0);
}

/* The running VM's configuration with its exec networks changed by edit, as the change to
 * pass hv_vm_reconfigure (a new reference), and its current change version into version. */
static json_t *networks_change(const hv_ref *vm, void (*edit)(vic_exec_config *cfg), char *version,
                               size_t cap)
{
    hv_vm_info info;
    vic_err *err cleanup_err = NULL;
    if (hv_vm_get(conn, vm, &info, &err) < 0)
        fail_msg("get: %s", err->msg);
    snprintf(version, cap, "%s", info.change_version);
    vic_exec_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (vic_gi_decode(&cfg, &vic_exec_config_desc, info.extra_config, "", NULL, &err) < 0)
        fail_msg("decode: %s", err->msg);
    edit(&cfg);
    json_t *change = json_object();
    if (vic_gi_encode(change, &vic_exec_config_desc, &cfg, "", NULL, &err) < 0)
        fail_msg("encode: %s", err->msg);
    vic_gi_free(&vic_exec_config_desc, &cfg);
    /* keys of what went (a network's) go too, as the port layer's commit removes them */
    const char *k;
    json_t *v;
    json_object_foreach(info.extra_config, k, v)
    {
        if (json_object_get(change, k) == NULL && strncmp(k, VIC_GI_PREFIX "/", 16) == 0)
            json_object_set_new(change, k, json_null());
    }
    hv_vm_info_clear(&info);
    return change;
}

/* + a network "m" on 10.98.0.0/24 as NIC 1 */
static void add_second_network(vic_exec_config *cfg)
{
    size_t n = cfg->n_networks;
    cfg->network_names = xrealloc(cfg->network_names, (n + 1) * sizeof(char *));
    cfg->networks = xrealloc(cfg->networks, (n + 1) * sizeof(vic_exec_network));
    memset(&cfg->networks[n], 0, sizeof(vic_exec_network));
    cfg->network_names[n] = xstrdup("m");
    cfg->networks[n].name = xstrdup("m");
    cfg->networks[n].nic = (int64_t)n;
    cfg->networks[n].ip = xstrdup("10.98.0.7/24");
    cfg->networks[n].gateway = xstrdup("10.98.0.1/24");
    cfg->n_networks = n + 1;
}

/* - the first network, "n": "m" moves up to NIC 0 and becomes the default */
static void drop_first_network(vic_exec_config *cfg)
{
    size_t at = 0;
    while (at < cfg->n_networks && strcmp(cfg->network_names[at], "n") != 0)
        at++;
    assert_true(at < cfg->n_networks && cfg->n_networks == 2);
    vic_exec_network gone = cfg->networks[at];
    char *gone_name = cfg->network_names[at];
    cfg->networks[at] = cfg->networks[1 - at];
    cfg->network_names[at] = cfg->network_names[1 - at];
    cfg->n_networks = 1;
    cfg->networks[0].nic = 0;
    cfg->networks[0].is_default = true;
    vic_gi_free(&vic_exec_network_desc, &gone);
    free(gone_name);
}

/* Waits until the guest reports it configured the change to version (VIC_GI_NICS_APPLIED). */
static void wait_applied(const hv_ref *vm, const char *version)
{
    for (int i = 0; i < 1000; i++) {
        cleanup_free char *v = key_of(vm, VIC_GI_NICS_APPLIED);
        if (v && strcmp(v, version) == 0)
            return;
        if (v && strncmp(v, version, strlen(version)) == 0 && v[strlen(version)] == ' ')
            fail_msg("the guest could not configure its NICs: %s", v);
        usleep(10000);
    }
    fail_msg("the guest did not report change %s", version);
}

/* A running VM's NICs change: a new one is hot-added into the guest, configured by the
 * tether, and reached over its segment; when the first goes, the second moves up to eth0
 * with the default route; the guest's session runs on throughout. */
static void test_local_nics_hot_plug(void **state)
{
    (void)state;
    next_ip = "10.99.0.7/24";
    const char *sleeper[] = {"/bin/sleep", "633"};
    hv_ref vm = make_vm("hot", sleeper, 2, NULL);
    vic_err *err cleanup_err = NULL;
    if (hv_vm_power_on(conn, &vm, &err) < 0)
        fail_msg("power on: %s", err->msg);
    pid_t mon = monitor_pid("hot");
    assert_true(mon > 1);
    char version[64], next[64];
    json_t *change cleanup_json =
        networks_change(&vm, add_second_network, version, sizeof(version));
    hv_nic two[] = {{.network = "bridge", .gateway = "10.99.0.1/24"},
                    {.network = "bridge", .gateway = "10.98.0.1/24"}};
    hv_vm_change c = {.extra_config = change, .set_nics = true, .nics = two, .n_nics = 2};
    if (hv_vm_reconfigure(conn, &vm, version, &c, next, sizeof(next), &err) < 0)
        fail_msg("hot add: %s", err->msg);
    wait_applied(&vm, next);
    /* the guest (the monitor's child) has both, addressed */
    sh("g=$(cat /proc/%ld/task/%ld/children | cut -d' ' -f1) && "
       "nsenter -t $g -n ip -o -4 addr show eth1 | grep -q 'inet 10.98.0.7/24' && "
       "nsenter -t $g -n ip -o -4 addr show eth0 | grep -q 'inet 10.99.0.7/24'",
       (long)mon, (long)mon);
    json_t *change2 cleanup_json =
        networks_change(&vm, drop_first_network, version, sizeof(version));
    hv_vm_change c2 = {.extra_config = change2, .set_nics = true, .nics = two + 1, .n_nics = 1};
    if (hv_vm_reconfigure(conn, &vm, version, &c2, next, sizeof(next), &err) < 0)
        fail_msg("hot remove: %s", err->msg);
    wait_applied(&vm, next);
    sh("g=$(cat /proc/%ld/task/%ld/children | cut -d' ' -f1) && "
       "nsenter -t $g -n ip -o -4 addr show eth0 | grep -q 'inet 10.98.0.7/24' && "
       "! nsenter -t $g -n ip link show eth1 >/dev/null 2>&1 && "
       "nsenter -t $g -n ip route | grep -q '^default via 10.98.0.1 dev eth0'",
       (long)mon, (long)mon);
    /* the monitor no longer counts as a user of the segment it left */
    sh("ls %s/netdevs/*.users/%ld | wc -l | grep -qx 1", home, (long)mon);
    assert_int_equal(power_of(&vm), HV_POWERED_ON);
    assert_int_equal(monitor_pid("hot"), mon);
    assert_int_equal(hv_vm_power_off(conn, &vm, 0, &err), 0);
    wait_off(&vm, 5000);
    assert_int_equal(hv_vm_destroy(conn, &vm, &err), 0);
}

static void test_local_bad_input(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    hv_ref ref;
    hv_vm_spec spec = {.name = "../evil", .pool = POOL, .cpus = 1, .memory_mb = 64};
    assert_int_equal(hv_vm_create(conn, &spec, &ref, &err), VIC_EINVAL);
    vic_err_free(&err);
    spec.name = "a/b";
    assert_int_equal(hv_vm_create(conn, &spec, &ref, &err), VIC_EINVAL);
    vic_err_free(&err);
    spec.name = "ok1";
    spec.pool = "/elsewhere/Resources";
    assert_int_equal(hv_vm_create(conn, &spec, &ref, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    /* a missing root disk is refused at power on, with the reason */
    hv_disk d = {.path = "[datastore1] nowhere/rootfs"};
    spec.pool = POOL;
    spec.disks = &d;
    spec.n_disks = 1;
    assert_int_equal(hv_vm_create(conn, &spec, &ref, &err), 0);
    assert_int_equal(hv_vm_power_on(conn, &ref, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "root disk [datastore1] nowhere/rootfs not found"));
    assert_int_equal(power_of(&ref), HV_POWERED_OFF);
    vic_err_free(&err);
    /* datastore paths never escape */
    char *p = NULL;
    assert_int_equal(hv_ds_local_path(conn, "[datastore1] ../etc", &p, &err), VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(hv_ds_local_path(conn, "[other] x", &p, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    /* a malformed .vmx is reported with its line */
    char path[512];
    snprintf(path, sizeof(path), "%s/datastore1/ok1/ok1.vmx", home);
    FILE *f = fopen(path, "a");
    fputs("broken line without quotes = x\n", f);
    fclose(f);
    hv_vm_info info;
    assert_int_equal(hv_vm_get(conn, &ref, &info, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "ok1.vmx: line "));
}

static void test_local_reconfigure_conflict(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/true"};
    hv_ref vm = make_vm("reconf", argv, 1, NULL);
    vic_err *err cleanup_err = NULL;
    hv_vm_info info;
    assert_int_equal(hv_vm_get(conn, &vm, &info, &err), 0);
    char v0[64];
    snprintf(v0, sizeof(v0), "%s", info.change_version);
    hv_vm_info_clear(&info);
    json_t *a cleanup_json = json_pack("{s:s}", "guestinfo.vice./notes", "first");
    json_t *b cleanup_json = json_pack("{s:s}", "guestinfo.vice./notes", "second");
    hv_vm_change ca = {.extra_config = a}, cb = {.extra_config = b};
    char v1[64];
    assert_int_equal(hv_vm_reconfigure(conn, &vm, v0, &ca, v1, sizeof(v1), &err), 0);
    assert_string_not_equal(v0, v1);
    assert_int_equal(hv_vm_reconfigure(conn, &vm, v0, &cb, NULL, 0, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    char *notes = key_of(&vm, "guestinfo.vice./notes");
    assert_string_equal(notes, "first");
    free(notes);
    json_t *hw cleanup_json = json_pack("{s:s}", "numvcpus", "64");
    hv_vm_change ch = {.extra_config = hw};
    assert_int_equal(hv_vm_reconfigure(conn, &vm, NULL, &ch, NULL, 0, &err), VIC_EINVAL);
}

/* The listing: each VM's keys as its .vmx holds them now (a reconfigure between two
 * listings shows), only those of the prefix, none without one, and a destroyed VM gone. */
static const json_t *listed(const json_t *vms, const char *name)
{
    size_t i;
    json_t *vm;
    json_array_foreach(vms, i, vm) if (strcmp(json_string_value(json_object_get(vm, "name")),
                                              name) == 0) return vm;
    return NULL;
}

static void test_local_list_follows_each_change(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/true"};
    hv_ref vm = make_vm("listed", argv, 1, NULL);
    vic_err *err cleanup_err = NULL;
    json_t *a cleanup_json = json_pack("{s:s}", "guestinfo.vice./notes", "first");
    hv_vm_change ca = {.extra_config = a};
    assert_int_equal(hv_vm_reconfigure(conn, &vm, NULL, &ca, NULL, 0, &err), 0);
    for (int round = 0; round < 3; round++) {
        char want[32];
        snprintf(want, sizeof(want), "round %d", round);
        json_t *ch cleanup_json = json_pack("{s:s}", "guestinfo.vice./notes", want);
        hv_vm_change c = {.extra_config = ch};
        if (round > 0) /* round 0 lists what the first reconfigure wrote */
            assert_int_equal(hv_vm_reconfigure(conn, &vm, NULL, &c, NULL, 0, &err), 0);
        json_t *vms cleanup_json = NULL, *again cleanup_json = NULL, *none cleanup_json = NULL;
        assert_int_equal(hv_vm_list(conn, POOL, "guestinfo.vice./", &vms, &err), 0);
        assert_int_equal(hv_vm_list(conn, POOL, "guestinfo.vice./", &again, &err), 0);
        assert_int_equal(hv_vm_list(conn, NULL, NULL, &none, &err), 0);
        const json_t *x = listed(vms, "listed");
        assert_non_null(x);
        const char *notes =
            vic_json_str(json_object_get(x, "extra_config"), "guestinfo.vice./notes");
        assert_string_equal(notes, round == 0 ? "first" : want);
        assert_null(vic_json_str(json_object_get(x, "extra_config"), "numvcpus"));
        assert_true(json_equal(x, listed(again, "listed")));
        assert_int_equal(json_object_size(json_object_get(listed(none, "listed"), "extra_config")),
                         0);
    }
    assert_int_equal(hv_vm_destroy(conn, &vm, &err), 0);
    json_t *vms cleanup_json = NULL;
    assert_int_equal(hv_vm_list(conn, NULL, "", &vms, &err), 0);
    assert_null(listed(vms, "listed"));
}

static void test_local_pools(void **state)
{
    (void)state;
    vic_err *err cleanup_err = NULL;
    hv_pool_spec spec = {.cpu = {.limit = 1000}, .memory = {.limit = 256}};
    hv_ref p;
    assert_int_equal(hv_pool_create(conn, POOL, "vch1", &spec, &p, &err), 0);
    assert_int_equal(hv_pool_create(conn, POOL, "vch1", &spec, &p, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    hv_pool_info info;
    assert_int_equal(hv_pool_get(conn, &p, &info, &err), 0);
    assert_string_equal(info.path, POOL "/vch1");
    assert_int_equal(info.spec.memory.limit, 256);
    /* enforced or not, the pool says which, never nothing */
    assert_true(strncmp(info.cpu_enforcement, "enforced", 8) == 0 ||
                strncmp(info.cpu_enforcement, "not enforced: ", 14) == 0);
    assert_true(strlen(info.memory_enforcement) > 8);
    hv_pool_spec bad = {.cpu = {.limit = 0}, .memory = {.limit = -1}};
    hv_ref q;
    assert_int_equal(hv_pool_create(conn, POOL, "vch2", &bad, &q, &err), VIC_EINVAL);
    vic_err_free(&err);
    hv_ref found;
    assert_int_equal(hv_find(conn, HV_POOL, POOL "/vch1", &found, &err), 0);
    assert_string_equal(found.id, p.id);
    assert_int_equal(hv_pool_destroy(conn, &p, &err), 0);
    assert_int_equal(hv_find(conn, HV_POOL, POOL "/vch1", &found, &err), VIC_ENOTFOUND);
}

typedef struct racer {
    int ok;
    int conflict;
} racer;

static void *create_same(void *p)
{
    racer *r = p;
    hv_vm_spec spec = {.name = "racer", .pool = POOL, .cpus = 1, .memory_mb = 8};
    hv_ref ref;
    vic_err *err = NULL;
    int rc = hv_vm_create(conn, &spec, &ref, &err);
    __atomic_add_fetch(rc == 0 ? &r->ok : &r->conflict, 1, __ATOMIC_SEQ_CST);
    vic_err_free(&err);
    return NULL;
}

static void test_local_concurrent_create_one_wins(void **state)
{
    (void)state;
    racer r = {0, 0};
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, create_same, &r);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(r.ok, 1);
    assert_int_equal(r.conflict, 7);
}

static void test_local_stop_signal_and_mounts(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/sh", "-c",
                          "grep -q ' /scratch tmpfs ' /proc/mounts && echo scratch-ok; "
                          "trap 'echo got INT; exit 7' INT; while true; do sleep 0.05; done"};
    next_stop_signal = "SIGINT";
    next_tmpfs = "/scratch";
    hv_ref vm = make_vm("stopper", argv, 3, NULL);
    vic_err *err cleanup_err = NULL;
    if (hv_vm_power_on(conn, &vm, &err) < 0)
        fail_msg("power on: %s", err->msg);
    usleep(300000);
    if (hv_vm_power_off(conn, &vm, 5000, &err) < 0)
        fail_msg("power off: %s", err->msg);
    char *status = key_of(&vm, "guestinfo.vice..sessions|stopper.status");
    assert_string_equal(status, "7"); /* the trap ran: INT, not TERM, reached the session */
    free(status);
    char *out = serial_stream("stopper", VIC_STREAM_STDOUT);
    assert_string_equal(out, "scratch-ok\ngot INT\n");
    free(out);
}

static int attach_connect(const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%.40s/datastore1/%.40s/attach.sock", home, name);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        fail_msg("connect %s: %s", sa.sun_path, strerror(errno));
    return fd;
}

/* Reads frames until the exit frame; collects output per type. */
static int attach_collect(int fd, vic_buf *out, vic_buf *errs)
{
    vic_buf in = VIC_BUF_INIT;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n <= 0)
            break;
        vic_buf_append(&in, chunk, (size_t)n);
        size_t off = 0;
        vic_attach_frame f;
        while (vic_attach_next(in.data, in.len, &off, &f) == 1) {
            if (f.type == VIC_ATTACH_STDOUT)
                vic_buf_append(out, f.data, f.len);
            else if (f.type == VIC_ATTACH_STDERR)
                vic_buf_append(errs, f.data, f.len);
            else if (f.type == VIC_ATTACH_EXIT) {
                char st[16];
                snprintf(st, sizeof(st), "%.*s", (int)f.len, f.data);
                vic_buf_free(&in);
                return atoi(st);
            }
        }
        memmove(in.data, in.data + off, in.len - off);
        in.len -= off;
    }
    vic_buf_free(&in);
    return -1;
}

static void test_local_attach_stdin_and_output(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/sh", "-c", "read line; echo got:$line; echo warn >&2; exit 5"};
    hv_ref vm = make_vm_ex("attached", argv, 3, NULL, false, true);
    vic_err *err cleanup_err = NULL;
    if (hv_vm_power_on(conn, &vm, &err) < 0)
        fail_msg("power on: %s", err->msg);
    int fd = attach_connect("attached");
    vic_err *e2 cleanup_err = NULL;
    assert_int_equal(vic_attach_send(fd, VIC_ATTACH_READY, "", 0, &e2), 0);
    assert_int_equal(vic_attach_send(fd, VIC_ATTACH_STDIN, "hello\n", 6, &e2), 0);
    vic_buf out = VIC_BUF_INIT, errs = VIC_BUF_INIT;
    assert_int_equal(attach_collect(fd, &out, &errs), 5);
    vic_buf_append(&out, "", 0);
    vic_buf_append(&errs, "", 0);
    assert_string_equal(out.data, "got:hello\n");
    assert_string_equal(errs.data, "warn\n");
    vic_buf_free(&out);
    vic_buf_free(&errs);
    close(fd);
    wait_off(&vm, 5000);
    char *logged = serial_stream("attached", VIC_STREAM_STDOUT);
    assert_string_equal(logged, "got:hello\n"); /* the log has it too */
    free(logged);
}

static void test_local_attach_tty_resize(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/sh", "-c", "read go; stty size; tty"};
    hv_ref vm = make_vm_ex("ttyvm", argv, 3, NULL, true, true);
    vic_err *err cleanup_err = NULL;
    if (hv_vm_power_on(conn, &vm, &err) < 0)
        fail_msg("power on: %s", err->msg);
    int fd = attach_connect("ttyvm");
    unsigned char size[4] = {0, 30, 0, 100};
    assert_int_equal(vic_attach_send(fd, VIC_ATTACH_READY, "", 0, &err), 0);
    assert_int_equal(vic_attach_send(fd, VIC_ATTACH_RESIZE, size, 4, &err), 0);
    assert_int_equal(vic_attach_send(fd, VIC_ATTACH_STDIN, "go\r", 3, &err), 0);
    vic_buf out = VIC_BUF_INIT, errs = VIC_BUF_INIT;
    assert_int_equal(attach_collect(fd, &out, &errs), 0);
    vic_buf_append(&out, "", 0);
    if (strstr(out.data, "30 100") == NULL || strstr(out.data, "/dev/pts/") == NULL) {
        wait_off(&vm, 5000);
        char *log = serial_stream("ttyvm", VIC_STREAM_STDOUT);
        char *tlog = serial_stream("ttyvm", VIC_STREAM_TETHER);
        fail_msg("terminal output: [%s]; serial log: [%s]; tether: [%s]", out.data, log, tlog);
    }
    vic_buf_free(&out);
    vic_buf_free(&errs);
    close(fd);
    wait_off(&vm, 5000);
}

#define MANY 50

typedef struct many_arg {
    hv_ref *vms;
    int from, to;
    int failures;
} many_arg;

static void *power_some(void *p)
{
    many_arg *a = p;
    for (int i = a->from; i < a->to; i++) {
        vic_err *err = NULL;
        if (hv_vm_power_on(conn, &a->vms[i], &err) < 0) {
            fprintf(stderr, "power on %s: %s\n", a->vms[i].id, err->msg);
            a->failures++;
        }
        vic_err_free(&err);
    }
    return NULL;
}

static int count_lines(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    int n = 0;
    char line[1024];
    while (f && fgets(line, sizeof(line), f))
        n++;
    if (f)
        pclose(f);
    return n;
}

/* A process's parent and real uid from /proc; 0 when it is gone. */
static int proc_ids(long pid, long *ppid, long *uid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    *ppid = *uid = -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "PPid:", 5) == 0)
            *ppid = atol(line + 5);
        else if (strncmp(line, "Uid:", 4) == 0)
            *uid = atol(line + 4);
    }
    fclose(f);
    return 1;
}

/* Whether a host uid belongs to a guest: every VM's id range lies from 100000 on. */
static int guest_id(long uid)
{
    return uid >= HV_LOCAL_GUEST_ID_BASE &&
           uid < HV_LOCAL_GUEST_ID_BASE + (long)HV_LOCAL_GUEST_ID_RANGES * HV_LOCAL_GUEST_ID_COUNT;
}

/* Guest processes (ids shifted into their VMs' ranges) whose monitor serves this test's home:
 * other homes' VMs on the machine are none of this test's business. */
static int guests_of_home(void)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        long pid = atol(e->d_name), ppid, uid;
        if (pid <= 0 || !proc_ids(pid, &ppid, &uid) || !guest_id(uid))
            continue;
        /* up through the guest's own processes to the monitor that runs it */
        long cur = ppid;
        for (int depth = 0; depth < 64; depth++) {
            long pp, u;
            if (!proc_ids(cur, &pp, &u) || !guest_id(u))
                break;
            cur = pp;
        }
        char path[64], args[4096] = "";
        snprintf(path, sizeof(path), "/proc/%ld/cmdline", cur);
        FILE *f = fopen(path, "r");
        size_t len = f ? fread(args, 1, sizeof(args) - 1, f) : 0;
        if (f)
            fclose(f);
        for (size_t i = 0; i < len; i++)
            if (args[i] == '\0')
                args[i] = ' ';
        n += strstr(args, home) != NULL;
    }
    if (d)
        closedir(d);
    return n;
}

static void test_local_fifty_concurrent_vms_leave_nothing(void **state)
{
    (void)state;
    int mounts_before = count_lines("cat /proc/self/mountinfo");
    hv_ref vms[MANY];
    for (int i = 0; i < MANY; i++) {
        char name[32];
        snprintf(name, sizeof(name), "many%02d", i);
        const char *argv[] = {"/bin/sh", "-c", "echo up $(hostname); sleep 0.2"};
        vms[i] = make_vm(name, argv, 3, NULL);
    }
    pthread_t th[5];
    many_arg args[5];
    for (int t = 0; t < 5; t++) {
        args[t] = (many_arg){vms, t * MANY / 5, (t + 1) * MANY / 5, 0};
        pthread_create(&th[t], NULL, power_some, &args[t]);
    }
    for (int t = 0; t < 5; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(args[t].failures, 0);
    }
    for (int i = 0; i < MANY; i++)
        wait_off(&vms[i], 30000);
    for (int i = 0; i < MANY; i++) {
        char key[64], want[96];
        snprintf(key, sizeof(key), "guestinfo.vice..sessions|many%02d.status", i);
        char *status = key_of(&vms[i], key);
        if (status == NULL || strcmp(status, "0") != 0)
            fail_msg("%s: status %s", vms[i].id, status ? status : "(none)");
        free(status);
        snprintf(key, sizeof(key), "many%02d", i);
        snprintf(want, sizeof(want), "up %s\n", key);
        char *out = serial_stream(key, VIC_STREAM_STDOUT);
        assert_string_equal(out, want);
        free(out);
    }
    /* nothing left behind: no guest process, no monitor, no mount */
    usleep(100000);
    char cmd[512];
    assert_int_equal(guests_of_home(), 0);
    snprintf(cmd, sizeof(cmd), "ps -eo args= | grep '^[^ ]*vic-vmx --home %s'", home);
    assert_int_equal(count_lines(cmd), 0);
    assert_int_equal(count_lines("cat /proc/self/mountinfo"), mounts_before);
    snprintf(cmd, sizeof(cmd), "grep '%s' /proc/self/mountinfo", home);
    assert_int_equal(count_lines(cmd), 0);
}

static void test_local_reconnect_sweeps_leftovers(void **state)
{
    (void)state;
    /* a create that died before its rename, a destroy that died before deleting, and a
     * folder of a create still running (our own pid) that must be left alone */
    sh("mkdir -p %s/datastore1/.tmp-ghost-999999-0a0b0c0d/x %s/datastore1/.trash-old-01020304 "
       "%s/datastore1/.tmp-live-%ld-01020304 %s/pools/.tmp-pool-999999-01020304",
       home, home, home, (long)getpid(), home);
    hv_connect_opts o = {.target = "local", .home = home, .bin_dir = bin_dir};
    hv_conn *again = NULL;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(hv_open(&again, &o, &err), 0);
    hv_close(again);
    sh("test ! -e %s/datastore1/.tmp-ghost-999999-0a0b0c0d", home);
    sh("test ! -e %s/datastore1/.trash-old-01020304", home);
    sh("test ! -e %s/pools/.tmp-pool-999999-01020304", home);
    sh("test -d %s/datastore1/.tmp-live-%ld-01020304 && rmdir %s/datastore1/.tmp-live-%ld-01020304",
       home, (long)getpid(), home, (long)getpid());
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_local: needs root (namespaces, cgroups); skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_session_output_and_exit_code),
        cmocka_unit_test(test_local_missing_executable_reported),
        cmocka_unit_test(test_local_power_on_while_its_state_is_read),
        cmocka_unit_test(test_local_limits_pause_and_out_of_memory),
        cmocka_unit_test(test_local_power_off_from_outside),
        cmocka_unit_test(test_local_killed_monitor_reads_off),
        cmocka_unit_test(test_local_nics_segment_and_sweep),
        cmocka_unit_test(test_local_nics_hot_plug),
        cmocka_unit_test(test_local_bad_input),
        cmocka_unit_test(test_local_reconfigure_conflict),
        cmocka_unit_test(test_local_list_follows_each_change),
        cmocka_unit_test(test_local_pools),
        cmocka_unit_test(test_local_concurrent_create_one_wins),
        cmocka_unit_test(test_local_reconnect_sweeps_leftovers),
        cmocka_unit_test(test_local_stop_signal_and_mounts),
        cmocka_unit_test(test_local_attach_stdin_and_output),
        cmocka_unit_test(test_local_attach_tty_resize),
        cmocka_unit_test(test_local_fifty_concurrent_vms_leave_nothing),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
