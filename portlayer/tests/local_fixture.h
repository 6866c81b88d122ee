/*
 * local_fixture.h - a port layer over the real local host for the port layer's unit tests:
 * a temporary $VIC_HOME, a busybox root disk to copy into each container (copy_busybox, a
 * pl_create_spec.rootfs), and a pool of its own under the root pool. Needs root; the binaries
 * come from $VIC_BIN_DIR (build-san/bin by default).
 */
#ifndef VIC_PORTLAYER_TESTS_LOCAL_FIXTURE_H
#define VIC_PORTLAYER_TESTS_LOCAL_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "hypervisor/hv.h"
#include "lib/cleanup.h"
#include "lib/mem.h"
#include "portlayer/containers.h"

#define ROOT_POOL "/ha-datacenter/host/local/Resources"

static char home[128], fixture[160], bin_dir[512];
static hv_conn *conn;
static pl *port;

static inline int copy_busybox(const char *dir, const pl_idmap *ids, void *payload, vic_err **err)
{
    (void)payload;
    /* the fixture is root's: its files go to the VM's guest root, as a real copy writes */
    char *cmd = ids && ids->count ? xasprintf("cp -a %s/. %s/ && chown -hR %u:%u %s", fixture, dir,
                                              ids->base, ids->base, dir)
                                  : xasprintf("cp -a %s/. %s/", fixture, dir);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : vic_err_set(err, VIC_EIO, "copy the root disk");
}

/* Makes the home (/tmp/vic-test-TAG-...), the busybox fixture, and the pool ROOT_POOL/pool,
 * and opens port over it (no watch thread). Returns 0, or -1 with the reason on stderr. */
static inline int local_fixture_open(const char *tag, const char *pool)
{
    snprintf(home, sizeof(home), "/tmp/vic-test-%s-XXXXXX", tag);
    if (mkdtemp(home) == NULL)
        return -1;
    snprintf(fixture, sizeof(fixture), "%s/busybox", home);
    char *cmd = xasprintf("tests/fixtures/busybox-rootfs.sh %s >/dev/null", fixture);
    int rc = system(cmd);
    free(cmd);
    if (rc != 0)
        return -1;
    const char *bins = getenv("VIC_BIN_DIR");
    if (realpath(bins ? bins : "build-san/bin", bin_dir) == NULL)
        return -1;
    static char pool_path[256];
    snprintf(pool_path, sizeof(pool_path), "%s/%s", ROOT_POOL, pool);
    hv_connect_opts o = {.target = "local", .home = home, .bin_dir = bin_dir};
    vic_err *err cleanup_err = NULL;
    hv_pool_spec spec = {.cpu = {.limit = -1}, .memory = {.limit = -1}};
    hv_ref ref;
    pl_opts po = {.pool = pool_path, .stop_grace_ms = 2000, .no_watch_thread = true};
    if (hv_open(&conn, &o, &err) < 0 ||
        hv_pool_create(conn, ROOT_POOL, pool, &spec, &ref, &err) < 0 ||
        (po.hv = conn, pl_open(&port, &po, &err) < 0)) {
        fprintf(stderr, "setup: %s\n", err->msg);
        return -1;
    }
    return 0;
}

static inline int local_fixture_close(void)
{
    pl_free(port);
    hv_close(conn);
    char *cmd = xasprintf("rm -rf %s", home);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

#endif
