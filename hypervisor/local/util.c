#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/local/local.h"
#include "lib/mem.h"

int local_key_reserved(const char *key)
{
    static const char *const prefixes[] = {"vic.",   "scsi",    "ide",        "ethernet", "serial",
                                           "sched.", "config.", "virtualHW.", NULL};
    static const char *const exact[] = {".encoding", "displayName", "numvcpus",
                                        "memsize",   "guestOS",     NULL};
    for (const char *const *p = exact; *p; p++)
        if (strcmp(key, *p) == 0)
            return 1;
    for (const char *const *p = prefixes; *p; p++)
        if (strncmp(key, *p, strlen(*p)) == 0)
            return 1;
    return 0;
}

int local_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 80 || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

void local_event(const char *home, const char *type, const char *vm, const char *detail)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/events.log", home);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return; /* events are a convenience; state is always read from the VMs themselves */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* One line per event, at most PIPE_BUF bytes: appends from many processes never mix. */
    char line[512];
    int n = snprintf(line, sizeof(line), "%lld %s %s %s\n",
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, type, vm ? vm : "-",
                     detail ? detail : "");
    if (n > 0) {
        if ((size_t)n >= sizeof(line))
            n = (int)sizeof(line) - 1, line[n - 1] = '\n';
        ssize_t w = write(fd, line, (size_t)n);
        (void)w;
    }
    close(fd);
}

int local_ds_path(const char *ds_root, const char *ds_path, char **out, vic_err **err)
{
    *out = NULL;
    const char *p = ds_path;
    if (p[0] == '[') {
        const char *close_b = strchr(p, ']');
        if (close_b == NULL)
            return vic_err_set(err, VIC_EINVAL, "datastore path \"%s\": missing ']'", ds_path);
        size_t n = (size_t)(close_b - p - 1);
        if (n != strlen(LOCAL_DATASTORE) || strncmp(p + 1, LOCAL_DATASTORE, n) != 0)
            return vic_err_set(err, VIC_ENOTFOUND,
                               "datastore \"%.*s\" not found; available: " LOCAL_DATASTORE, (int)n,
                               p + 1);
        p = close_b + 1;
        while (*p == ' ')
            p++;
    }
    while (*p == '/')
        p++;
    /* No "..", no empty or hidden components: the path stays inside the datastore. */
    const char *s = p;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return vic_err_set(err, VIC_EINVAL, "datastore path \"%s\" is not allowed", ds_path);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < ' ')
                return vic_err_set(err, VIC_EINVAL, "datastore path \"%s\" is not allowed",
                                   ds_path);
        s += n;
        if (*s == '/')
            s++;
    }
    *out = *p ? xasprintf("%s/%s", ds_root, p) : xstrdup(ds_root);
    return 0;
}

int local_vm_lock(const char *vm_dir, vic_err **err)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/vm.lock", vm_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return vic_err_sys(err, errno == ENOENT ? VIC_ENOTFOUND : VIC_EIO, errno, "lock %s", path);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return vic_err_sys(err, VIC_EIO, e, "lock %s", path);
        }
    }
    return fd;
}

int local_pool_rel(const char *pool_path, const char **out, vic_err **err)
{
    size_t n = strlen(LOCAL_ROOT_POOL);
    if (pool_path == NULL || strncmp(pool_path, LOCAL_ROOT_POOL, n) != 0 ||
        (pool_path[n] != '\0' && pool_path[n] != '/'))
        return vic_err_set(err, VIC_ENOTFOUND,
                           "resource pool \"%s\" not found; pools on the "
                           "local target are under " LOCAL_ROOT_POOL,
                           pool_path ? pool_path : "");
    *out = pool_path[n] == '/' ? pool_path + n + 1 : pool_path + n;
    return 0;
}

int local_appliance_image(const char *host_path)
{
    static const char magic[] = LOCAL_APPLIANCE_MAGIC;
    char buf[sizeof(magic) + 1];
    int fd = open(host_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return 0;
    struct stat st;
    size_t got = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        while (got < sizeof(buf)) {
            ssize_t n = read(fd, buf + got, sizeof(buf) - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
    }
    close(fd);
    size_t m = sizeof(magic) - 1;
    if (got < m || memcmp(buf, magic, m) != 0)
        return 0;
    /* the line ends there: a newline (optionally CRLF) or the end of the file */
    return got == m || buf[m] == '\n' || (buf[m] == '\r' && (got == m + 1 || buf[m + 1] == '\n'));
}

static int64_t kv_num(const json_t *kv, const char *key)
{
    const char *v = json_string_value(json_object_get(kv, key));
    return v ? strtoll(v, NULL, 10) : 0;
}

void local_vm_size(const json_t *kv, int *cpus, int64_t *memory_mb, hv_vm_limits *limits)
{
    *cpus = (int)kv_num(kv, VMX_CPUS);
    *memory_mb = kv_num(kv, VMX_MEMORY);
    limits->cpu_millis = kv_num(kv, VMX_CPU_MILLIS);
    limits->cpu_shares = (int)kv_num(kv, VMX_CPU_SHARES);
    limits->pids = kv_num(kv, VMX_PIDS);
}

static void kv_num_set(json_t *kv, const char *key, int64_t v)
{
    if (v > 0)
        json_object_set_new(kv, key, json_sprintf("%lld", (long long)v));
    else
        json_object_del(kv, key);
}

void local_vm_size_set(json_t *kv, int cpus, int64_t memory_mb, const hv_vm_limits *limits)
{
    json_object_set_new(kv, VMX_CPUS, json_sprintf("%d", cpus));
    json_object_set_new(kv, VMX_MEMORY, json_sprintf("%lld", (long long)memory_mb));
    kv_num_set(kv, VMX_CPU_MILLIS, limits->cpu_millis);
    kv_num_set(kv, VMX_CPU_SHARES, limits->cpu_shares);
    kv_num_set(kv, VMX_PIDS, limits->pids);
}
