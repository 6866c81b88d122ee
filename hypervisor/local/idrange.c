#include "hypervisor/local/idrange.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "hypervisor/local/vmx.h"
#include "lib/cleanup.h"
#include "lib/file.h"
#include "lib/mem.h"

uint32_t idrange_base(int n)
{
    return HV_LOCAL_GUEST_ID_BASE + (uint32_t)n * HV_LOCAL_GUEST_ID_COUNT;
}

int idrange_of_vmx(const char *value)
{
    if (value == NULL)
        return 0;
    char *end = NULL;
    long n = strtol(value, &end, 10);
    return end != value && *end == '\0' && n > 0 && n < HV_LOCAL_GUEST_ID_RANGES ? (int)n : 0;
}

static const char *registry_dir(void)
{
    const char *d = getenv("VIC_IDRANGE_DIR");
    return d && *d ? d : IDRANGE_DIR;
}

/* Opens and locks the registry; the fd to close, or -1 with err set. */
static int registry_lock(const char *dir, vic_err **err)
{
    if (vic_mkdir_p(dir, 0700) < 0)
        return vic_err_sys(err, VIC_EIO, errno, "id range registry %s", dir);
    cleanup_free char *lp = xasprintf("%s/lock", dir);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "id range registry %s", lp);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return vic_err_sys(err, VIC_EIO, e, "lock %s", lp);
        }
    }
    return fd;
}

/* The record's two lines (final, tmp); 0 when it reads as a record. */
static int read_record(const char *path, char *final_dir, char *tmp_dir, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    int ok = fgets(final_dir, (int)cap, f) && fgets(tmp_dir, (int)cap, f);
    fclose(f);
    if (!ok)
        return -1;
    final_dir[strcspn(final_dir, "\n")] = '\0';
    tmp_dir[strcspn(tmp_dir, "\n")] = '\0';
    return final_dir[0] == '/' && tmp_dir[0] == '/' ? 0 : -1;
}

/* Under the registry's lock: whether record n is still a VM's (see idrange.h). */
static int record_in_use(const char *path, int n)
{
    char final_dir[4096], tmp_dir[4096];
    if (read_record(path, final_dir, tmp_dir, sizeof(final_dir)) < 0)
        return 0; /* its writer died before finishing it (it held the lock) */
    struct stat st;
    if (stat(tmp_dir, &st) == 0)
        return 1; /* a create in progress: checked first, as it renames tmp to final */
    const char *name = strrchr(final_dir, '/') + 1;
    cleanup_free char *vmx = xasprintf("%s/%s.vmx", final_dir, name);
    json_t *kv cleanup_json = NULL;
    if (vmx_read(&kv, vmx, NULL) < 0)
        return access(vmx, F_OK) == 0; /* unreadable but there: keep it */
    return idrange_of_vmx(json_string_value(json_object_get(kv, VMX_IDRANGE))) == n;
}

/* Where the next allocation starts looking (a hint, kept under the registry's lock): after the
 * last range given out, so that a create finds a free range at once instead of checking
 * every live VM's record first; records left stale are taken back when the search wraps. */
static int next_hint(const char *dir)
{
    char path[4200], text[16] = "";
    snprintf(path, sizeof(path), "%s/next", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, text, sizeof(text) - 1);
        text[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    int n = atoi(text);
    return n >= 1 && n < HV_LOCAL_GUEST_ID_RANGES ? n : 1;
}

static void set_next_hint(const char *dir, int n)
{
    char path[4200], text[16];
    snprintf(path, sizeof(path), "%s/next", dir);
    int len = snprintf(text, sizeof(text), "%d\n", n >= HV_LOCAL_GUEST_ID_RANGES - 1 ? 1 : n + 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        ssize_t w = write(fd, text, (size_t)len); /* a hint: a lost one costs a longer search */
        (void)w;
        close(fd);
    }
}

int idrange_alloc(int *out, const char *final_dir, const char *tmp_dir, vic_err **err)
{
    *out = 0;
    const char *dir = registry_dir();
    int lock = registry_lock(dir, err);
    if (lock < 0)
        return lock;
    int rc =
        vic_err_set(err, VIC_ELIMIT, "every id range (%d) is in use", HV_LOCAL_GUEST_ID_RANGES - 1);
    int start = next_hint(dir);
    for (int k = 0; k < HV_LOCAL_GUEST_ID_RANGES - 1; k++) {
        int n = (start - 1 + k) % (HV_LOCAL_GUEST_ID_RANGES - 1) + 1;
        char path[4200];
        snprintf(path, sizeof(path), "%s/%d", dir, n);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) {
            if (record_in_use(path, n))
                continue;
            unlink(path); /* stale: a VM gone, or a create or destroy that was killed */
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        }
        if (fd < 0) {
            rc = vic_err_sys(err, VIC_EIO, errno, "create %s", path);
            break;
        }
        cleanup_free char *text = xasprintf("%s\n%s\n", final_dir, tmp_dir);
        size_t len = strlen(text);
        int ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
        int e = errno;
        close(fd);
        if (!ok) {
            unlink(path);
            rc = vic_err_sys(err, VIC_EIO, e, "write %s", path);
            break;
        }
        vic_err_free(err);
        *out = n;
        set_next_hint(dir, n);
        rc = 0;
        break;
    }
    close(lock);
    return rc;
}

void idrange_free(int n, const char *tmp_dir)
{
    if (n <= 0)
        return;
    const char *dir = registry_dir();
    int lock = registry_lock(dir, NULL);
    if (lock < 0)
        return; /* the record stays; it reads as stale once the VM is gone */
    char path[4200], f[4096], t[4096];
    snprintf(path, sizeof(path), "%s/%d", dir, n);
    if (tmp_dir && read_record(path, f, t, sizeof(f)) == 0 && strcmp(t, tmp_dir) == 0)
        unlink(path);
    close(lock);
}
