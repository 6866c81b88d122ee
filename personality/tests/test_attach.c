#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/attach.h"
#include "personality/stream.h"

static void frame(vic_buf *b, int type, const char *data)
{
    size_t n = strlen(data);
    unsigned char h[5] = {(unsigned char)type, 0, 0, (unsigned char)(n >> 8), (unsigned char)n};
    vic_buf_append(b, h, 5);
    vic_buf_append(b, data, n);
}

static void test_translate_multiplexes_without_a_terminal(void **state)
{
    (void)state;
    vic_buf in = VIC_BUF_INIT, out = VIC_BUF_INIT;
    frame(&in, VIC_ATTACH_STDOUT, "hi\n");
    frame(&in, VIC_ATTACH_STDERR, "oops\n");
    int code = -1;
    assert_int_equal(engine_attach_translate(&in, 0, 1, 1, &out, &code), 0);
    assert_int_equal(in.len, 0);
    assert_int_equal(out.len, 8 + 3 + 8 + 5);
    const unsigned char want[] = {1, 0, 0, 0, 0, 0, 0, 3,   'h', 'i', '\n', 2,
                                  0, 0, 0, 0, 0, 0, 5, 'o', 'o', 'p', 's',  '\n'};
    assert_memory_equal(out.data, want, sizeof(want));
    vic_buf_free(&out);

    /* the exit frame ends the stream; what follows it stays unread */
    frame(&in, VIC_ATTACH_STDOUT, "last");
    frame(&in, VIC_ATTACH_EXIT, "3");
    frame(&in, VIC_ATTACH_STDOUT, "after");
    assert_int_equal(engine_attach_translate(&in, 0, 1, 1, &out, &code), 1);
    assert_int_equal(code, 3);
    assert_int_equal(out.len, 8 + 4);
    assert_int_equal(in.len, 5 + 5);
    vic_buf_free(&in);
    vic_buf_free(&out);
}

static void test_translate_raw_with_a_terminal_and_partial_frames(void **state)
{
    (void)state;
    vic_buf whole = VIC_BUF_INIT, in = VIC_BUF_INIT, out = VIC_BUF_INIT;
    frame(&whole, VIC_ATTACH_STDOUT, "/dev/pts/0\r\n");
    frame(&whole, VIC_ATTACH_STDERR, "hidden");
    frame(&whole, VIC_ATTACH_EXIT, "0");
    int code = -1, rc = 0;
    for (size_t i = 0; i < whole.len && rc == 0; i++) { /* a byte at a time */
        vic_buf_append(&in, whole.data + i, 1);
        rc = engine_attach_translate(&in, 1, 1, 0, &out, &code);
    }
    assert_int_equal(rc, 1);
    assert_int_equal(code, 0);
    vic_buf_append(&out, "", 1);
    assert_string_equal(out.data, "/dev/pts/0\r\n"); /* raw, and stderr was not asked for */
    vic_buf_free(&whole);
    vic_buf_free(&in);
    vic_buf_free(&out);

    unsigned char bad[] = {9, 0, 0, 0, 1, 'x'};
    vic_buf_append(&in, bad, sizeof(bad));
    assert_int_equal(engine_attach_translate(&in, 1, 1, 1, &out, &code), -1);
    vic_buf_free(&in);
    vic_buf_free(&out);
}

static void test_stdin_frames_split_large_input(void **state)
{
    (void)state;
    size_t n = VIC_ATTACH_MAX + 10;
    char *data = xmalloc(n);
    memset(data, 'a', n);
    vic_buf out = VIC_BUF_INIT;
    engine_attach_stdin_frames(data, n, &out);
    size_t off = 0;
    vic_attach_frame f;
    assert_int_equal(vic_attach_next(out.data, out.len, &off, &f), 1);
    assert_int_equal(f.type, VIC_ATTACH_STDIN);
    assert_int_equal(f.len, VIC_ATTACH_MAX);
    assert_int_equal(vic_attach_next(out.data, out.len, &off, &f), 1);
    assert_int_equal(f.len, 10);
    assert_int_equal(off, out.len);
    free(data);
    vic_buf_free(&out);
}

/* Docker's detach keys: the default, letters, ctrl- with a letter or a symbol; nothing else. */
static void test_detach_keys_parse(void **state)
{
    (void)state;
    unsigned char k[16];
    size_t n = 0;
    vic_err *err = NULL;
    assert_int_equal(engine_detach_keys(NULL, k, sizeof(k), &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(k[0], 16); /* ctrl-p */
    assert_int_equal(k[1], 17); /* ctrl-q */
    assert_int_equal(
        engine_detach_keys("ctrl-x,x,ctrl-@,ctrl-[,ctrl-\\,ctrl-_", k, sizeof(k), &n, &err), 0);
    const unsigned char want[] = {24, 'x', 0, 27, 28, 31};
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(k, want, sizeof(want));
    static const char *const bad[] = {"ctrl-", "ctrl-1", "ab", "a,", ",a", "ctrl-A", "a,,b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (engine_detach_keys(bad[i], k, sizeof(k), &n, &err) != VIC_EINVAL)
            fail_msg("%s: accepted", bad[i]);
        assert_non_null(strstr(err->msg, "Invalid detach keys"));
        vic_err_free(&err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translate_multiplexes_without_a_terminal),
        cmocka_unit_test(test_translate_raw_with_a_terminal_and_partial_frames),
        cmocka_unit_test(test_stdin_frames_split_large_input),
        cmocka_unit_test(test_detach_keys_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
