/*
 * The local host's appliance boot: a VM whose CD-ROM is a local appliance image runs
 * BIN_DIR/vic-init in the host's namespaces. Real monitors (vic-vmx) in a temporary
 * $VIC_HOME; needs root. VIC_BIN_DIR names the binaries (default build-san/bin).
 *
 * The vic-init here is this test program itself: the test's bin dir links vic-vmx and tether
 * to the real ones and vic-init to /proc/self/exe, and main() plays vic-init when started
 * under that name. The fake reports what it sees through the guestinfo channel, and behaves as
 * the read-only key guestinfo.vice./fake/mode says: "wait" (stop on SIGTERM), "stubborn"
 * (ignore SIGTERM, with a child in its process group) or "exit" (exit at once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "hypervisor/local/local.h"
#include "lib/cleanup.h"
#include "lib/gichan.h"
#include "lib/mem.h"

static char home[128];
static char bin_dir[256];
static hv_conn *conn;

#define POOL  "/ha-datacenter/host/local/Resources"
#define IMAGE "[datastore1] vic/appliance.iso"

/* ---- the fake vic-init ---- */

static int fake_init(void)
{
    vic_err *err = NULL;
    char *mode = NULL;
    if (vic_gichan_get(3, "guestinfo.vice./fake/mode", &mode, &err) < 0)
        return 2;
    sigset_t blocked;
    sigprocmask(SIG_SETMASK, NULL, &blocked);
    char cwd[PATH_MAX], netns[128] = "", pidns[128] = "";
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        cwd[0] = '\0';
    ssize_t n = readlink("/proc/self/ns/net", netns, sizeof(netns) - 1);
    netns[n > 0 ? n : 0] = '\0';
    n = readlink("/proc/self/ns/pid", pidns, sizeof(pidns) - 1);
    pidns[n > 0 ? n : 0] = '\0';
    pid_t child = 0;
    if (strcmp(mode, "stubborn") == 0) {
        child = fork();
        if (child == 0) {
            for (;;)
                pause(); /* SIGTERM stays blocked: only the group's SIGKILL ends it */
        }
    }
    json_t *kv = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "guestinfo.vice..fake.cwd", cwd,
        "guestinfo.vice..fake.netns", netns, "guestinfo.vice..fake.pidns", pidns,
        "guestinfo.vice..fake.uid", getuid() == 0 ? "root" : "other",
        "guestinfo.vice..fake.session", getsid(0) == getpid() ? "leader" : "member",
        "guestinfo.vice..fake.term_blocked", sigismember(&blocked, SIGTERM) ? "yes" : "no",
        "guestinfo.vice..fake.stdout", isatty(1) ? "tty" : "other");
    char childbuf[32];
    snprintf(childbuf, sizeof(childbuf), "%ld", (long)child);
    json_object_set_new(kv, "guestinfo.vice..fake.child", json_string(childbuf));
    int rc = vic_gichan_set_many(3, kv, &err);
    json_decref(kv);
    if (rc < 0) {
        vic_err_free(&err);
        free(mode);
        return 3;
    }
    if (strcmp(mode, "exit") == 0) {
        free(mode);
        return 0;
    }
    if (strcmp(mode, "stubborn") == 0) {
        free(mode);
        for (;;)
            pause();
    }
    free(mode);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    struct signalfd_siginfo si;
    if (sfd < 0 || read(sfd, &si, sizeof(si)) != sizeof(si))
        return 4;
    vic_gichan_set(3, "guestinfo.vice..fake.stopped", "sigterm", NULL);
    return 0;
}

/* ---- helpers ---- */

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
    snprintf(home, sizeof(home), "/tmp/vic-test-appliance-XXXXXX");
    if (mkdtemp(home) == NULL)
        return -1;
    const char *bins = getenv("VIC_BIN_DIR");
    char real_bins[PATH_MAX], self[PATH_MAX];
    if (realpath(bins ? bins : "build-san/bin", real_bins) == NULL ||
        realpath("/proc/self/exe", self) == NULL)
        return -1;
    snprintf(bin_dir, sizeof(bin_dir), "%s/bin", home);
    sh("mkdir -p %s && ln -s %s/vic-vmx %s/tether %s/ && ln -s %s %s/vic-init", bin_dir, real_bins,
       real_bins, bin_dir, self, bin_dir);
    hv_connect_opts o = {.target = "local", .home = home, .bin_dir = bin_dir};
    vic_err *err cleanup_err = NULL;
    if (hv_open(&conn, &o, &err) < 0) {
        fprintf(stderr, "hv_open: %s\n", err->msg);
        return -1;
    }
    /* the appliance image, uploaded as the VCH create does */
    char tmp[192];
    snprintf(tmp, sizeof(tmp), "%s/appliance.iso", home);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%s\n", LOCAL_APPLIANCE_MAGIC) < 0 || fclose(f) != 0)
        return -1;
    if (hv_ds_mkdir(conn, "[datastore1] vic", &err) < 0 ||
        hv_ds_upload(conn, IMAGE, tmp, &err) < 0) {
        fprintf(stderr, "upload: %s\n", err->msg);
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

static hv_ref make_appliance(const char *name, const char *iso, const char *mode)
{
    json_t *extra cleanup_json = json_pack("{s:s, s:s}", "guestinfo.vice./fake/mode", mode,
                                           "guestinfo.vice./vch/name", name);
    hv_vm_spec spec = {.name = name,
                       .pool = POOL,
                       .datastore = "datastore1",
                       .cpus = 1,
                       .memory_mb = 512,
                       .iso = iso,
                       .serial_log = true,
                       .extra_config = extra};
    hv_ref ref;
    vic_err *err cleanup_err = NULL;
    if (hv_vm_create(conn, &spec, &ref, &err) < 0)
        fail_msg("create %s: %s", name, err->msg);
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

static char *wait_key(const hv_ref *vm, const char *key, int max_ms)
{
    for (int i = 0; i < max_ms / 10; i++) {
        char *v = key_of(vm, key);
        if (v)
            return v;
        usleep(10000);
    }
    fail_msg("%s: no %s after %d ms", vm->id, key, max_ms);
    return NULL;
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

static void assert_key(const hv_ref *vm, const char *key, const char *want)
{
    char *v = key_of(vm, key);
    if (v == NULL || strcmp(v, want) != 0)
        fail_msg("%s: %s is \"%s\", want \"%s\"", vm->id, key, v ? v : "(none)", want);
    free(v);
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* 1 while pid runs (a zombie does not count). */
static int process_alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* ---- tests ---- */

static void test_appliance_runs_in_host_namespaces(void **state)
{
    (void)state;
    hv_ref vm = make_appliance("vch1", IMAGE, "wait");
    vic_err *err cleanup_err = NULL;
    if (hv_vm_power_on(conn, &vm, &err) < 0)
        fail_msg("power on: %s", err->msg);
    assert_int_equal(power_of(&vm), HV_POWERED_ON);
    free(wait_key(&vm, "guestinfo.vice..fake.cwd", 5000));
    char want_cwd[PATH_MAX], folder[256], netns[128] = "", pidns[128] = "";
    snprintf(folder, sizeof(folder), "%s/datastore1/vch1", home);
    assert_non_null(realpath(folder, want_cwd));
    ssize_t n = readlink("/proc/self/ns/net", netns, sizeof(netns) - 1);
    assert_true(n > 0);
    n = readlink("/proc/self/ns/pid", pidns, sizeof(pidns) - 1);
    assert_true(n > 0);
    assert_key(&vm, "guestinfo.vice..fake.cwd", want_cwd);
    assert_key(&vm, "guestinfo.vice..fake.netns", netns);
    assert_key(&vm, "guestinfo.vice..fake.pidns", pidns);
    assert_key(&vm, "guestinfo.vice..fake.uid", "root");
    assert_key(&vm, "guestinfo.vice..fake.session", "leader");
    assert_key(&vm, "guestinfo.vice..fake.term_blocked", "yes");
    assert_key(&vm, "guestinfo.vice..fake.stdout", "other");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (hv_vm_power_off(conn, &vm, 5000, &err) < 0)
        fail_msg("power off: %s", err->msg);
    assert_true(elapsed_ms(&t0) < 2000); /* it stopped on SIGTERM, well before the grace */
    assert_int_equal(power_of(&vm), HV_POWERED_OFF);
    assert_key(&vm, "guestinfo.vice..fake.stopped", "sigterm");
    assert_int_equal(hv_vm_destroy(conn, &vm, &err), 0);
}

static void test_appliance_stubborn_group_killed(void **state)
{
    (void)state;
    hv_ref vm = make_appliance("vch2", IMAGE, "stubborn");
    vic_err *err cleanup_err = NULL;
    if (hv_vm_power_on(conn, &vm, &err) < 0)
        fail_msg("power on: %s", err->msg);
    char *child = wait_key(&vm, "guestinfo.vice..fake.child", 5000);
    pid_t cpid = (pid_t)atol(child);
    free(child);
    assert_true(cpid > 1);
    assert_true(process_alive(cpid));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (hv_vm_power_off(conn, &vm, 300, &err) < 0)
        fail_msg("power off: %s", err->msg);
    long ms = elapsed_ms(&t0);
    assert_true(ms >= 250 && ms < 3000); /* SIGTERM ignored: SIGKILL after the grace */
    assert_int_equal(power_of(&vm), HV_POWERED_OFF);
    for (int i = 0; i < 200 && process_alive(cpid); i++)
        usleep(10000);
    assert_false(process_alive(cpid)); /* the whole process group went */
    assert_int_equal(hv_vm_destroy(conn, &vm, &err), 0);
}

static void test_appliance_exit_powers_off(void **state)
{
    (void)state;
    hv_ref vm = make_appliance("vch3", IMAGE, "exit");
    vic_err *err cleanup_err = NULL;
    if (hv_vm_power_on(conn, &vm, &err) < 0)
        fail_msg("power on: %s", err->msg);
    wait_off(&vm, 5000);
    assert_key(&vm, "guestinfo.vice..fake.session", "leader");
    assert_int_equal(hv_vm_destroy(conn, &vm, &err), 0);
}

/* A CD-ROM image without the magic line boots a containerVM, which needs a root disk. */
static void test_appliance_other_image_is_not_an_appliance(void **state)
{
    (void)state;
    char tmp[192];
    snprintf(tmp, sizeof(tmp), "%s/other.iso", home);
    sh("printf 'vic-local-appliance 10\\n' > %s", tmp);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(hv_ds_upload(conn, "[datastore1] vic/other.iso", tmp, &err), 0);
    hv_ref vm = make_appliance("notvch", "[datastore1] vic/other.iso", "exit");
    assert_int_not_equal(hv_vm_power_on(conn, &vm, &err), 0);
    assert_non_null(strstr(err->msg, "root disk"));
    assert_int_equal(power_of(&vm), HV_POWERED_OFF);
    vic_err_free(&err);
    assert_int_equal(hv_vm_destroy(conn, &vm, &err), 0);
}

static void test_appliance_image_detection(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int want;
    } cases[] = {
        {"vic-local-appliance 1\n", 1},   {"vic-local-appliance 1", 1},
        {"vic-local-appliance 1\r\n", 1}, {"vic-local-appliance 1\nmore\n", 1},
        {"vic-local-appliance 10\n", 0},  {"vic-local-appliance 2\n", 0},
        {" vic-local-appliance 1\n", 0},  {"", 0},
        {"vic-local-appliance\n", 0},     {"vic-local-appliance 1 \n", 0},
    };
    char path[192];
    snprintf(path, sizeof(path), "%s/detect.iso", home);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(cases[i].text, f);
        fclose(f);
        if (local_appliance_image(path) != cases[i].want)
            fail_msg("case %zu (\"%s\"): want %d", i, cases[i].text, cases[i].want);
    }
    assert_int_equal(local_appliance_image(home), 0); /* a directory */
    snprintf(path, sizeof(path), "%s/absent.iso", home);
    assert_int_equal(local_appliance_image(path), 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *base = strrchr(argv[0], '/');
    if (strcmp(base ? base + 1 : argv[0], "vic-init") == 0)
        return fake_init();
    if (geteuid() != 0) {
        fprintf(stderr, "test_appliance: needs root; skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appliance_image_detection),
        cmocka_unit_test(test_appliance_runs_in_host_namespaces),
        cmocka_unit_test(test_appliance_stubborn_group_killed),
        cmocka_unit_test(test_appliance_exit_powers_off),
        cmocka_unit_test(test_appliance_other_image_is_not_an_appliance),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
