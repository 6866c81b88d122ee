/* The guest channel protocol (lib/gichan), serial log framing (lib/serial) and container
 * state derivation (lib/execconfig). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/execconfig.h"
#include "lib/gichan.h"
#include "lib/serial.h"

/* A tiny server: answers G with "v:<key>", S with ok unless the key contains "ro", L with two
 * pairs; stops at EOF. */
static void *server(void *p)
{
    int fd = *(int *)p;
    for (;;) {
        char *frame = NULL;
        size_t len = 0;
        if (vic_gichan_recv(fd, &frame, &len, NULL) < 0)
            break;
        char op;
        const char *key, *value;
        if (vic_gichan_parse(frame, len, &op, &key, &value, NULL) < 0) {
            vic_gichan_reply(fd, 0, "bad request", 11, NULL);
        } else if (op == 'G') {
            char buf[256];
            int n = snprintf(buf, sizeof(buf), "v:%s", key);
            vic_gichan_reply(fd, 1, buf, (size_t)n, NULL);
        } else if (op == 'S') {
            if (strstr(key, "ro"))
                vic_gichan_reply(fd, 0, "key is read-only", 16, NULL);
            else
                vic_gichan_reply(fd, 1, "", 0, NULL);
        } else {
            static const char pairs[] = "guestinfo.a\0one\0guestinfo.b\0\0";
            vic_gichan_reply(fd, 1, pairs, sizeof(pairs) - 1, NULL);
        }
        free(frame);
    }
    close(fd);
    return NULL;
}

static void test_gichan_round_trips(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pthread_t th;
    pthread_create(&th, NULL, server, &sv[1]);
    vic_err *err cleanup_err = NULL;
    char *v = NULL;
    assert_int_equal(vic_gichan_get(sv[0], "guestinfo.x", &v, &err), 0);
    assert_string_equal(v, "v:guestinfo.x");
    free(v);
    assert_int_equal(vic_gichan_set(sv[0], "guestinfo.rw", "1", &err), 0);
    assert_int_equal(vic_gichan_set(sv[0], "guestinfo.ro", "1", &err), VIC_EFORBIDDEN);
    assert_non_null(strstr(err->msg, "read-only"));
    vic_err_free(&err);
    json_t *kv cleanup_json = NULL;
    assert_int_equal(vic_gichan_list(sv[0], "guestinfo.", &kv, &err), 0);
    assert_int_equal(json_object_size(kv), 2);
    assert_string_equal(json_string_value(json_object_get(kv, "guestinfo.a")), "one");
    assert_string_equal(json_string_value(json_object_get(kv, "guestinfo.b")), "");
    assert_int_equal(vic_gichan_get(sv[0], "", &v, &err), VIC_EINVAL);
    close(sv[0]);
    pthread_join(th, NULL);
}

static void test_gichan_parse_rejects_garbage(void **state)
{
    (void)state;
    char op;
    const char *k, *v;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_gichan_parse("G", 1, &op, &k, &v, &err), VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(vic_gichan_parse("Xkey\0", 5, &op, &k, &v, &err), VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(vic_gichan_parse("Gkeywithoutnul", 14, &op, &k, &v, &err), VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(vic_gichan_parse("Sk\0v\0x", 7, &op, &k, &v, &err), VIC_EINVAL);
    vic_err_free(&err);
    assert_int_equal(vic_gichan_parse("Sk\0val", 6, &op, &k, &v, &err), 0);
    assert_string_equal(k, "k");
    assert_string_equal(v, "val");
}

static void test_gichan_refuses_huge_frames(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    unsigned char hdr[4] = {0x7f, 0xff, 0xff, 0xff}; /* 2 GiB announced */
    assert_int_equal(write(sv[1], hdr, 4), 4);
    char *f = NULL;
    size_t len;
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_gichan_recv(sv[0], &f, &len, &err), VIC_ETOOBIG);
    assert_null(f);
    close(sv[1]);
    vic_err_free(&err);
    assert_int_equal(vic_gichan_recv(sv[0], &f, &len, &err), VIC_EUNAVAIL);
    close(sv[0]);
}

static void test_serial_frames_and_resync(void **state)
{
    (void)state;
    char path[] = "/tmp/vic-test-serial-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_serial_write(fd, VIC_STREAM_STDOUT, "out1\n", 5, &err), 0);
    assert_int_equal(write(fd, "GARBAGE", 7), 7); /* damage between records */
    assert_int_equal(vic_serial_write(fd, VIC_STREAM_STDERR, "err1\n", 5, &err), 0);
    char big[VIC_SERIAL_MAX_DATA + 10];
    memset(big, 'x', sizeof(big));
    assert_int_equal(vic_serial_write(fd, VIC_STREAM_STDOUT, big, sizeof(big), &err), 0);
    off_t size = lseek(fd, 0, SEEK_END);
    char *buf = malloc((size_t)size);
    assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
    close(fd);
    unlink(path);
    size_t off = 0, skipped = 0;
    vic_serial_record r;
    assert_int_equal(vic_serial_next(buf, (size_t)size, &off, &r, &skipped), 1);
    assert_int_equal(r.stream, VIC_STREAM_STDOUT);
    assert_int_equal(r.len, 5);
    assert_memory_equal(r.data, "out1\n", 5);
    assert_true(r.time_ns > 1600000000000000000LL);
    assert_int_equal(vic_serial_next(buf, (size_t)size, &off, &r, &skipped), 1);
    assert_int_equal(r.stream, VIC_STREAM_STDERR);
    assert_int_equal(skipped, 7);
    size_t total = 0;
    while (vic_serial_next(buf, (size_t)size, &off, &r, &skipped) == 1)
        total += r.len;
    assert_int_equal(total, sizeof(big)); /* split into two records */
    /* a truncated record waits for more data instead of being misread */
    size_t off2 = 0;
    assert_int_equal(vic_serial_next(buf, 10, &off2, &r, NULL), 0);
    assert_int_equal(off2, 0);
    free(buf);
}

static void test_exec_state_derivation(void **state)
{
    (void)state;
    vic_exec_session s = {0};
    int64_t code;
    const char *error;
    assert_int_equal(vic_exec_state_of(0, &s, &code, &error), VIC_STATE_CREATED);
    assert_int_equal(vic_exec_state_of(1, &s, &code, &error), VIC_STATE_STARTING);
    s.started = "true";
    assert_int_equal(vic_exec_state_of(1, &s, &code, &error), VIC_STATE_RUNNING);
    s.exit_status = 3;
    s.stopped_at = 42;
    assert_int_equal(vic_exec_state_of(0, &s, &code, &error), VIC_STATE_EXITED);
    assert_int_equal(code, 3);
    s.stopped_at = 0; /* powered off under it: killed */
    assert_int_equal(vic_exec_state_of(0, &s, &code, &error), VIC_STATE_EXITED);
    assert_int_equal(code, 137);
    s.started = "exec: \"x\": executable file not found in $PATH";
    s.exit_status = 127;
    assert_int_equal(vic_exec_state_of(0, &s, &code, &error), VIC_STATE_CREATED);
    assert_string_equal(error, s.started);
    assert_int_equal(code, 127);
    assert_string_equal(vic_exec_state_name(VIC_STATE_EXITED), "exited");
}

static void test_execconfig_keys_match_vic(void **state)
{
    (void)state;
    vic_exec_session s = {0};
    char *ids[] = {"top"};
    char *args[] = {"/bin/sh", "-c", "echo hi"};
    s.cmd.path = "/bin/sh";
    s.cmd.args = args;
    s.cmd.n_args = 3;
    s.started = "true";
    vic_exec_config c = {.id = "abc", .session_ids = ids, .sessions = &s, .n_sessions = 1};
    json_t *kv cleanup_json = json_object();
    vic_err *err cleanup_err = NULL;
    assert_int_equal(vic_gi_encode(kv, &vic_exec_config_desc, &c, "", NULL, &err), 0);
    assert_string_equal(json_string_value(json_object_get(kv, "guestinfo.vice./common/id")), "abc");
    assert_string_equal(
        json_string_value(json_object_get(kv, "guestinfo.vice./sessions|top/cmd/Path")), "/bin/sh");
    assert_string_equal(
        json_string_value(json_object_get(kv, "guestinfo.vice..sessions|top.started")), "true");
    assert_int_equal(vic_gi_key_is_readonly("guestinfo.vice..sessions|top.started"), 0);
    assert_int_equal(vic_gi_key_is_readonly("guestinfo.vice./sessions|top/cmd/Path"), 1);
    vic_exec_config back = {0};
    assert_int_equal(vic_gi_decode(&back, &vic_exec_config_desc, kv, "", NULL, &err), 0);
    assert_int_equal(back.n_sessions, 1);
    assert_string_equal(back.sessions[0].cmd.args[2], "echo hi");
    vic_gi_free(&vic_exec_config_desc, &back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gichan_round_trips),
        cmocka_unit_test(test_gichan_parse_rejects_garbage),
        cmocka_unit_test(test_gichan_refuses_huge_frames),
        cmocka_unit_test(test_serial_frames_and_resync),
        cmocka_unit_test(test_exec_state_derivation),
        cmocka_unit_test(test_execconfig_keys_match_vic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
