/*
 * The port layer's containers over the real local host: VMs, monitors and tethers, with a
 * busybox root disk. Needs root; VIC_BIN_DIR names the binaries (default build-san/bin).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/attach.h"
#include "lib/cleanup.h"
#include "lib/mem.h"
#include "lib/serial.h"
#include "portlayer/containers.h"
#include "portlayer/tests/local_fixture.h"

#define POOL ROOT_POOL "/vch-test"

static int failing_rootfs(const char *dir, const pl_idmap *ids, void *payload, vic_err **err)
{
    (void)dir, (void)ids, (void)payload;
    return vic_err_set(err, VIC_EUPSTREAM, "image layer sha256:abc missing");
}

static int group_setup(void **state)
{
    (void)state;
    return local_fixture_open("pl", "vch-test");
}

static int group_teardown(void **state)
{
    (void)state;
    return local_fixture_close();
}

static void create(const char *name, const char *const *cmd, size_t n, char id[65])
{
    const char *env[] = {"PATH=/bin:/usr/bin", "WHO=world"};
    pl_create_spec s = {.name = name,
                        .image = "busybox:latest",
                        .cmd = cmd,
                        .n_cmd = n,
                        .env = env,
                        .n_env = 2,
                        .rootfs = copy_busybox};
    vic_err *err cleanup_err = NULL;
    if (pl_container_create(port, &s, id, &err) < 0)
        fail_msg("create %s: %s", name, err->msg);
}

static const char *state_of(const char *ref, json_t **keep)
{
    vic_err *err cleanup_err = NULL;
    if (pl_container_inspect(port, ref, keep, &err) < 0)
        fail_msg("inspect %s: %s", ref, err->msg);
    return json_string_value(json_object_get(*keep, "state"));
}

typedef struct collected {
    vic_buf out;
    int records;
} collected;

static int collect(int stream, int64_t t, const char *data, size_t len, void *payload)
{
    (void)stream, (void)t;
    collected *c = payload;
    vic_buf_append(&c->out, data, len);
    c->records++;
    return 0;
}

static void test_containers_lifecycle(void **state)
{
    (void)state;
    const char *cmd[] = {"/bin/sh", "-c", "echo hello $WHO; echo two; echo three; exit 4"};
    char id[65];
    create("web1", cmd, 3, id);
    json_t *c = NULL;
    assert_string_equal(state_of("web1", &c), "created");
    assert_string_equal(json_string_value(json_object_get(c, "image")), "busybox:latest");
    json_decref(c);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_container_start(port, id, &err), 0);
    int64_t code = -1;
    assert_int_equal(pl_container_wait(port, id, 10000, &code, &err), 0);
    assert_int_equal(code, 4);
    assert_string_equal(state_of(id, &c), "exited");
    assert_int_equal(json_integer_value(json_object_get(c, "exit_code")), 4);
    json_decref(c);
    /* logs: everything, then the tail */
    collected all = {VIC_BUF_INIT, 0}, tail = {VIC_BUF_INIT, 0};
    pl_log_opts o = {.out = true, .err = true, .tail = -1};
    assert_int_equal(pl_container_logs(port, "web1", &o, collect, &all, &err), 0);
    vic_buf_append(&all.out, "", 0);
    assert_string_equal(all.out.data, "hello world\ntwo\nthree\n");
    o.tail = 1;
    assert_int_equal(pl_container_logs(port, "web1", &o, collect, &tail, &err), 0);
    assert_int_equal(tail.records, 1);
    vic_buf_free(&all.out);
    vic_buf_free(&tail.out);
    /* a short id prefix finds it; removal makes it gone */
    char found[65];
    char prefix[8];
    snprintf(prefix, sizeof(prefix), "%.6s", id);
    assert_int_equal(pl_container_find(port, prefix, found, &err), 0);
    assert_string_equal(found, id);
    assert_int_equal(pl_container_remove(port, "web1", false, &err), 0);
    assert_int_equal(pl_container_find(port, id, found, &err), VIC_ENOTFOUND);
    assert_non_null(strstr(err->msg, "No such container"));
}

static void test_containers_survive_a_new_port_layer(void **state)
{
    (void)state;
    const char *cmd[] = {"/bin/sleep", "30"};
    char id[65];
    create("sleepy", cmd, 2, id);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_container_start(port, "sleepy", &err), 0);
    /* a second port layer (a restart) rediscovers it from the inventory alone */
    pl *again = NULL;
    pl_opts po = {.hv = conn, .pool = POOL};
    assert_int_equal(pl_open(&again, &po, &err), 0);
    json_t *list cleanup_json = NULL;
    assert_int_equal(pl_container_list(again, false, &list, &err), 0);
    int seen = 0;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0) {
            seen = 1;
            assert_string_equal(json_string_value(json_object_get(c, "state")), "running");
        }
    }
    assert_true(seen);
    assert_int_equal(pl_container_remove(again, id, false, &err), VIC_ECONFLICT);
    vic_err_free(&err);
    assert_int_equal(pl_container_remove(again, id, true, &err), 0);
    pl_free(again);
}

static void test_containers_bad_input(void **state)
{
    (void)state;
    const char *cmd[] = {"/bin/true"};
    pl_create_spec s = {.name = "bad name!", .cmd = cmd, .n_cmd = 1, .rootfs = copy_busybox};
    char id[65];
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_container_create(port, &s, id, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "Invalid container name"));
    vic_err_free(&err);
    s.name = "ok";
    s.n_cmd = 0;
    assert_int_equal(pl_container_create(port, &s, id, &err), VIC_EINVAL);
    vic_err_free(&err);
    /* a root disk that cannot be built leaves no VM behind */
    s.n_cmd = 1;
    s.name = "noimage";
    s.rootfs = failing_rootfs;
    assert_int_equal(pl_container_create(port, &s, id, &err), VIC_EUPSTREAM);
    vic_err_free(&err);
    json_t *vms cleanup_json = NULL;
    assert_int_equal(hv_vm_list(conn, POOL, NULL, &vms, &err), 0);
    size_t i;
    json_t *v;
    json_array_foreach(vms, i, v)
    {
        assert_null(strstr(json_string_value(json_object_get(v, "name")), "noimage"));
    }
    /* a command that cannot run fails the start, with Docker's words */
    const char *nosuch[] = {"nosuch"};
    s.rootfs = copy_busybox;
    s.cmd = nosuch;
    s.name = "broken";
    assert_int_equal(pl_container_create(port, &s, id, &err), 0);
    assert_int_equal(pl_container_start(port, "broken", &err), VIC_EINVAL);
    assert_string_equal(err->msg, "failed to start container: exec: \"nosuch\": executable file "
                                  "not found in $PATH");
    vic_err_free(&err);
    json_t *b cleanup_json = NULL;
    assert_int_equal(pl_container_inspect(port, "broken", &b, &err), 0);
    assert_string_equal(json_string_value(json_object_get(b, "state")), "created");
    assert_int_equal(json_integer_value(json_object_get(b, "exit_code")), 127);
    s.cmd = cmd;
    /* names are unique */
    s.rootfs = copy_busybox;
    s.name = "twin";
    assert_int_equal(pl_container_create(port, &s, id, &err), 0);
    assert_int_equal(pl_container_create(port, &s, id, &err), VIC_ECONFLICT);
    assert_non_null(strstr(err->msg, "is already in use"));
}

/* What a create records (annotations) comes back with inspect; a running guest's pid, its
 * processes and its interfaces are seen from the host. */
static void test_containers_annotations_and_guest_usage(void **state)
{
    (void)state;
    const char *cmd[] = {"/bin/sleep", "30"};
    json_t *notes cleanup_json = json_pack("{s:s}", "docker.config", "{\"Config\": {}}");
    pl_create_spec s = {
        .name = "noted", .cmd = cmd, .n_cmd = 2, .rootfs = copy_busybox, .annotations = notes};
    char id[65];
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_container_create(port, &s, id, &err), 0);
    json_t *c cleanup_json = NULL;
    assert_int_equal(pl_container_inspect(port, "noted", &c, &err), 0);
    assert_true(json_equal(json_object_get(c, "annotations"), notes));
    /* a container without any: {} */
    json_t *none cleanup_json = NULL;
    create("plain", cmd, 2, id);
    assert_int_equal(pl_container_inspect(port, "plain", &none, &err), 0);
    assert_int_equal(json_object_size(json_object_get(none, "annotations")), 0);
    assert_int_equal(pl_container_remove(port, "plain", false, &err), 0);

    /* refused: a value that is not a string, too much, a MAC address without a NIC */
    json_t *bad cleanup_json = json_pack("{s:i}", "n", 1);
    s.name = "refused";
    s.annotations = bad;
    assert_int_equal(pl_container_create(port, &s, id, &err), VIC_EINVAL);
    assert_string_equal(err->msg, "annotations: n is not a string");
    vic_err_free(&err);
    cleanup_free char *big = xmalloc(PL_MAX_ANNOTATIONS + 1);
    memset(big, 'x', PL_MAX_ANNOTATIONS);
    big[PL_MAX_ANNOTATIONS] = '\0';
    json_t *huge cleanup_json = json_pack("{s:s}", "k", big);
    s.annotations = huge;
    assert_int_equal(pl_container_create(port, &s, id, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "too large"));
    vic_err_free(&err);
    s.annotations = NULL;
    s.mac_address = "02:42:0a:00:00:09";
    assert_int_equal(pl_container_create(port, &s, id, &err), VIC_EINVAL);
    assert_non_null(strstr(err->msg, "mac-address"));
    vic_err_free(&err);
    s.mac_address = "03:42:0a:00:00:09"; /* a group address */
    assert_int_equal(pl_container_create(port, &s, id, &err), VIC_EINVAL);
    assert_string_equal(err->msg, "03:42:0a:00:00:09 is not a valid mac address");
    vic_err_free(&err);

    /* off: no guest to look into */
    assert_int_equal(pl_container_guest_pid(port, "noted"), 0);
    assert_int_equal(pl_container_start(port, "noted", &err), 0);
    int64_t pid = pl_container_guest_pid(port, "noted");
    assert_true(pid > 1);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%lld/ns/net", (long long)pid);
    assert_int_equal(access(path, F_OK), 0);
    json_t *st cleanup_json = NULL;
    assert_int_equal(pl_container_stats(port, "noted", &st, &err), 0);
    /* the tether (the guest's PID 1) and sleep */
    assert_true(json_integer_value(json_object_get(st, "pids")) >= 2);
    /* no NIC but loopback, which is left out */
    assert_true(json_is_object(json_object_get(st, "networks")));
    assert_int_equal(json_object_size(json_object_get(st, "networks")), 0);
    assert_int_equal(pl_container_remove(port, "noted", true, &err), 0);
}

typedef struct racer {
    const char *ref;
    int ok, conflict;
} racer;

static pl_handle *handles[2];

static void test_containers_concurrent_commits_one_wins(void **state)
{
    (void)state;
    const char *cmd[] = {"/bin/true"};
    char id[65];
    create("contested", cmd, 1, id);
    vic_err *err cleanup_err = NULL;
    /* two handles on the same snapshot: both rename; exactly one commit may land */
    for (int i = 0; i < 2; i++)
        assert_int_equal(pl_handle_get(port, id, &handles[i], &err), 0);
    vic_exec_config *a = pl_handle_config(handles[0]), *b = pl_handle_config(handles[1]);
    free(a->hostname);
    a->hostname = xstrdup("first");
    free(b->hostname);
    b->hostname = xstrdup("second");
    int r0 = pl_handle_commit(port, handles[0], &err);
    vic_err_free(&err);
    int r1 = pl_handle_commit(port, handles[1], &err);
    assert_int_equal(r0, 0);
    assert_int_equal(r1, VIC_ECONFLICT);
    pl_handle_free(handles[0]);
    pl_handle_free(handles[1]);
    json_t *c cleanup_json = NULL;
    vic_err_free(&err);
    assert_int_equal(pl_container_inspect(port, id, &c, &err), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c, "config"), "hostname")), "first");
    assert_int_equal(pl_container_rename(port, id, "renamed", &err), 0);
    char found[65];
    assert_int_equal(pl_container_find(port, "renamed", found, &err), 0);
    assert_string_equal(found, id);
}

static void test_containers_half_created_are_swept(void **state)
{
    (void)state;
    /* what a port layer killed while filling a root disk leaves: a VM still marked as being
     * created by a process that no longer exists */
    json_t *extra cleanup_json = json_pack("{s:s, s:s, s:s}", "guestinfo.vice./common/id",
                                           "deadbeef", "guestinfo.vice./common/name", "halfway",
                                           "guestinfo.vice./vicc/creating", "999999 1700000000");
    hv_vm_spec spec = {
        .name = "halfway-deadbeef", .pool = POOL, .cpus = 1, .memory_mb = 8, .extra_config = extra};
    hv_ref vm;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(hv_vm_create(conn, &spec, &vm, &err), 0);
    char found[65];
    assert_int_equal(pl_container_find(port, "halfway", found, &err), VIC_ENOTFOUND);
    vic_err_free(&err);
    pl *again = NULL;
    pl_opts po = {.hv = conn, .pool = POOL};
    assert_int_equal(pl_open(&again, &po, &err), 0);
    pl_free(again);
    hv_vm_info info;
    assert_int_equal(hv_vm_get(conn, &vm, &info, &err), VIC_ENOTFOUND);
}

/* Starts ref with the run block and waits until its channel can be held (the guest is far
 * enough to offer it). */
static void start_blocked(pl *w, const char *ref)
{
    vic_err *err cleanup_err = NULL;
    assert_int_equal(pl_container_start_attach(w, ref, true, &err), 0);
    json_t *c = NULL;
    assert_string_equal(state_of(ref, &c), "starting");
    assert_string_equal(json_string_value(json_object_get(c, "started_at")),
                        "0001-01-01T00:00:00Z");
    json_decref(c);
}

/* What a holder that dies (a port layer killed mid docker run) leaves: a VM on in its run
 * block. The watch gives it up after the grace, unless an attach holds it; and a port layer
 * killed half-way through giving up (the reason recorded, the VM still on) is finished by
 * the next one. */
static void test_containers_run_block_without_holder_is_given_up(void **state)
{
    (void)state;
    const char *cmd[] = {"/bin/echo", "ran"};
    char id[65];
    create("blocked1", cmd, 2, id);
    pl *w = NULL;
    vic_err *err cleanup_err = NULL;
    pl_opts po = {.hv = conn, .pool = POOL, .attach_grace_ms = 1000, .no_watch_thread = true};
    assert_int_equal(pl_open(&w, &po, &err), 0);

    /* nobody attaches: given up once the grace has passed, never run */
    start_blocked(w, id);
    assert_int_equal(pl_watch_run_blocks(w, 1000), 0); /* first seen */
    assert_int_equal(pl_watch_run_blocks(w, 1999), 0);
    assert_int_equal(pl_watch_run_blocks(w, 2000), 1);
    json_t *c = NULL;
    assert_string_equal(state_of(id, &c), "created");
    assert_false(json_is_true(json_object_get(c, "running")));
    assert_int_equal(json_integer_value(json_object_get(c, "exit_code")), PL_RUN_ABANDONED_CODE);
    assert_string_equal(json_string_value(json_object_get(c, "error")), PL_RUN_ABANDONED);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "vm"), "power")),
                        "poweredOff");
    json_decref(c);
    collected out = {VIC_BUF_INIT, 0};
    pl_log_opts lo = {.out = true, .err = true, .tail = -1};
    assert_int_equal(pl_container_logs(w, id, &lo, collect, &out, &err), 0);
    assert_int_equal(out.records, 0); /* the session never ran */
    vic_buf_free(&out.out);

    /* started again, held by an attach: left alone however long it waits */
    start_blocked(w, id);
    int fd = -1;
    for (int i = 0; i < 500; i++) {
        vic_err_free(&err);
        if (pl_container_attach(w, id, &fd, &err) == 0 || err->code != VIC_ECONFLICT)
            break;
        usleep(10 * 1000);
    }
    assert_true(fd >= 0);
    for (int64_t t = 10000; t <= 40000; t += 10000)
        assert_int_equal(pl_watch_run_blocks(w, t), 0);
    assert_string_equal(state_of(id, &c), "starting");
    json_decref(c);
    /* its holder goes: the grace starts over from then */
    pl_container_detach(w, fd);
    assert_int_equal(pl_watch_run_blocks(w, 50000), 0);
    assert_int_equal(pl_watch_run_blocks(w, 51000), 1);
    assert_string_equal(state_of(id, &c), "created");
    json_decref(c);

    /* a port layer killed between recording the reason and the power off */
    start_blocked(w, id);
    pl_handle *h = NULL;
    assert_int_equal(pl_handle_get(w, id, &h, &err), 0);
    vic_exec_config *cfg = pl_handle_config(h);
    cfg->sessions[0].started = xstrdup("given up by a port layer that died");
    cfg->sessions[0].exit_status = PL_RUN_ABANDONED_CODE;
    assert_int_equal(pl_handle_commit(w, h, &err), 0);
    pl_handle_free(h);
    pl_free(w);
    assert_int_equal(pl_open(&w, &po, &err), 0); /* the next port layer */
    assert_int_equal(pl_watch_run_blocks(w, 0), 0);
    assert_int_equal(pl_watch_run_blocks(w, 1000), 1);
    assert_string_equal(state_of(id, &c), "created");
    assert_string_equal(json_string_value(json_object_get(c, "error")),
                        "given up by a port layer that died");
    json_decref(c);

    /* a held attach that sends READY: the session runs to its end as always */
    start_blocked(w, id);
    fd = -1;
    for (int i = 0; i < 500; i++) {
        vic_err_free(&err);
        if (pl_container_attach(w, id, &fd, &err) == 0 || err->code != VIC_ECONFLICT)
            break;
        usleep(10 * 1000);
    }
    assert_true(fd >= 0);
    assert_int_equal(vic_attach_send(fd, VIC_ATTACH_READY, NULL, 0, &err), 0);
    int64_t code = -1;
    assert_int_equal(pl_container_wait(w, id, 10000, &code, &err), 0);
    assert_int_equal(code, 0);
    assert_int_equal(pl_watch_run_blocks(w, 100000), 0);
    assert_string_equal(state_of(id, &c), "exited");
    json_decref(c);
    pl_container_detach(w, fd);
    assert_int_equal(pl_container_remove(w, id, true, &err), 0);
    pl_free(w);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_containers: needs root (namespaces, cgroups); skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_containers_lifecycle),
        cmocka_unit_test(test_containers_survive_a_new_port_layer),
        cmocka_unit_test(test_containers_bad_input),
        cmocka_unit_test(test_containers_annotations_and_guest_usage),
        cmocka_unit_test(test_containers_concurrent_commits_one_wins),
        cmocka_unit_test(test_containers_half_created_are_swept),
        cmocka_unit_test(test_containers_run_block_without_holder_is_given_up),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
