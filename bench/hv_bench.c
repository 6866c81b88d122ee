/*
 * hv_bench: the local host's VM lifecycle against the raw kernel primitive, in one run.
 *   - median of N power-on-to-powered-off cycles of a VM whose session is /bin/true
 *   - median of N runs of `unshare --user --map-root-user --mount --pid --fork --net --uts
 *     /bin/true` (the namespaces alone, no VM bookkeeping)
 *   - RSS of the monitor and the tether while a session sleeps
 * Usage: hv_bench BIN_DIR ROOTFS_SCRIPT [N]; prints one JSON object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "lib/cleanup.h"
#include "lib/execconfig.h"
#include "lib/mem.h"

#define POOL "/ha-datacenter/host/local/Resources"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, vic_err *err)
{
    fprintf(stderr, "hv_bench: %s: %s\n", what, err ? err->msg : strerror(errno));
    exit(1);
}

static hv_ref make_vm(hv_conn *c, const char *home, const char *fixture, const char *name,
                      const char *const *argv, size_t argc)
{
    char disk[128];
    snprintf(disk, sizeof(disk), "[datastore1] %s/rootfs", name);
    hv_disk d = {.path = disk, .create = true};
    char *ids[] = {(char *)name};
    vic_exec_session s = {.id = (char *)name};
    s.cmd.path = (char *)argv[0];
    s.cmd.args = (char **)argv;
    s.cmd.n_args = argc;
    vic_exec_config cfg = {.id = (char *)name, .session_ids = ids, .sessions = &s, .n_sessions = 1};
    json_t *extra = json_object();
    vic_err *err = NULL;
    if (vic_gi_encode(extra, &vic_exec_config_desc, &cfg, "", NULL, &err) < 0)
        die("encode", err);
    hv_vm_spec spec = {.name = name,
                       .pool = POOL,
                       .cpus = 1,
                       .memory_mb = 64,
                       .disks = &d,
                       .n_disks = 1,
                       .serial_log = true,
                       .extra_config = extra};
    hv_ref ref;
    if (hv_vm_create(c, &spec, &ref, &err) < 0)
        die("create", err);
    json_decref(extra);
    char *cmd = xasprintf("cp -a %s/. %s/datastore1/%s/rootfs/", fixture, home, name);
    if (system(cmd) != 0)
        die("copy root disk", NULL);
    free(cmd);
    return ref;
}

static int powered_on(hv_conn *c, const hv_ref *vm)
{
    hv_vm_info info;
    vic_err *err = NULL;
    if (hv_vm_get(c, vm, &info, &err) < 0)
        die("get", err);
    int on = info.power == HV_POWERED_ON;
    hv_vm_info_clear(&info);
    return on;
}

static long rss_kb(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static long child_of(long pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", pid, pid);
    FILE *f = fopen(path, "r");
    long c = 0;
    if (f && fscanf(f, "%ld", &c) != 1)
        c = 0;
    if (f)
        fclose(f);
    return c;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: hv_bench BIN_DIR ROOTFS_SCRIPT [N]\n");
        return 2;
    }
    int n = argc > 3 ? atoi(argv[3]) : 50;
    char home[] = "/tmp/vic-hv-bench-XXXXXX";
    if (mkdtemp(home) == NULL)
        die("mkdtemp", NULL);
    char fixture[128];
    snprintf(fixture, sizeof(fixture), "%s/busybox", home);
    char *cmd = xasprintf("%s %s >/dev/null", argv[2], fixture);
    if (system(cmd) != 0)
        die("fixture", NULL);
    free(cmd);
    hv_connect_opts o = {.target = "local", .home = home, .bin_dir = argv[1]};
    hv_conn *c = NULL;
    vic_err *err = NULL;
    if (hv_open(&c, &o, &err) < 0)
        die("open", err);

    const char *t_argv[] = {"/bin/true"};
    hv_ref vm = make_vm(c, home, fixture, "bench-true", t_argv, 1);
    double *vm_ms = calloc((size_t)n, sizeof(double)), *raw_ms = calloc((size_t)n, sizeof(double));
    for (int i = -1; i < n; i++) { /* one warm-up cycle: the root disk's ids are shifted once */
        double t0 = now_ms();
        if (hv_vm_power_on(c, &vm, &err) < 0)
            die("power on", err);
        while (powered_on(c, &vm))
            usleep(200);
        if (i >= 0)
            vm_ms[i] = now_ms() - t0;
    }
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        pid_t p = fork();
        if (p == 0) {
            execlp("unshare", "unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork",
                   "--net", "--uts", "/bin/true", (char *)NULL);
            _exit(127);
        }
        int st;
        waitpid(p, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("unshare", NULL);
        raw_ms[i] = now_ms() - t0;
    }

    const char *s_argv[] = {"/bin/sleep", "30"};
    hv_ref sleeper = make_vm(c, home, fixture, "bench-sleep", s_argv, 2);
    if (hv_vm_power_on(c, &sleeper, &err) < 0)
        die("power on", err);
    usleep(300000);
    char pidfile[256];
    snprintf(pidfile, sizeof(pidfile), "%s/datastore1/bench-sleep/monitor.pid", home);
    FILE *f = fopen(pidfile, "r");
    long mon = 0;
    if (f == NULL || fscanf(f, "%ld", &mon) != 1)
        die("monitor pid", NULL);
    fclose(f);
    long tether = child_of(mon);
    long mon_kb = rss_kb(mon), tether_kb = tether ? rss_kb(tether) : 0;
    long session_kb = tether ? rss_kb(child_of(tether)) : 0;
    if (hv_vm_power_off(c, &sleeper, 0, &err) < 0)
        die("power off", err);

    double vm_med = median(vm_ms, n), raw_med = median(raw_ms, n);
    printf("{\"runs\": %d, \"vm_true_ms\": %.2f, \"unshare_true_ms\": %.2f, \"ratio\": %.2f, "
           "\"monitor_rss_kb\": %ld, \"tether_rss_kb\": %ld, \"session_rss_kb\": %ld}\n",
           n, vm_med, raw_med, vm_med / raw_med, mon_kb, tether_kb, session_kb);
    hv_close(c);
    free(vm_ms);
    free(raw_ms);
    cmd = xasprintf("rm -rf %s", home);
    if (system(cmd) != 0)
        fprintf(stderr, "hv_bench: could not remove %s\n", home);
    free(cmd);
    return 0;
}
