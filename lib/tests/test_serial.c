/*
 * lib/serial.c: records in and out, and where a window of a log read from its middle can be
 * read from (vic_serial_sync), also when the data of records looks like records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "lib/serial.h"

/* Appends one record to b; its offset in *at when at is given. */
static void add(vic_buf *b, int stream, int64_t t, const void *data, size_t len, size_t *at)
{
    unsigned char h[VIC_SERIAL_HEADER];
    vic_serial_header(h, stream, t, len);
    if (at)
        *at = b->len;
    vic_buf_append(b, h, sizeof(h));
    vic_buf_append(b, data, len);
}

static void test_serial_header_round_trip(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    add(&b, VIC_STREAM_STDERR, 1700000000123456789LL, "oops\n", 5, NULL);
    add(&b, VIC_STREAM_STDOUT, 1, "", 0, NULL);
    size_t off = 0, skipped = 0;
    vic_serial_record r;
    assert_int_equal(vic_serial_next(b.data, b.len, &off, &r, &skipped), 1);
    assert_int_equal(r.stream, VIC_STREAM_STDERR);
    assert_int_equal(r.time_ns, 1700000000123456789LL);
    assert_int_equal(r.len, 5);
    assert_memory_equal(r.data, "oops\n", 5);
    assert_int_equal(vic_serial_next(b.data, b.len, &off, &r, &skipped), 1);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.time_ns, 1);
    assert_int_equal(off, b.len);
    assert_int_equal(skipped, 0);
    vic_buf_free(&b);
}

/* A log of n records of len bytes each (stdout); their offsets in at. */
static void plain_log(vic_buf *b, size_t n, size_t len, size_t *at)
{
    char *data = xmalloc(len);
    memset(data, 'x', len);
    for (size_t i = 0; i < n; i++)
        add(b, VIC_STREAM_STDOUT, (int64_t)i, data, len, at ? &at[i] : NULL);
    free(data);
}

static int is_boundary(const size_t *at, size_t n, size_t off)
{
    for (size_t i = 0; i < n; i++)
        if (at[i] == off)
            return 1;
    return 0;
}

static void test_serial_sync_plain(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    size_t at[40];
    plain_log(&b, 40, 10000, at); /* 40 records of 10016 bytes */
    unsigned char *scratch = xmalloc(b.len + 1);
    size_t off = 99;
    /* from the log's start: its start */
    assert_int_equal(vic_serial_sync(b.data, b.len, true, scratch, &off), 1);
    assert_int_equal(off, 0);
    /* from anywhere: a record's start, at least a record's size in */
    for (size_t from = 1; from < b.len - 200000; from += 7919) {
        assert_int_equal(vic_serial_sync(b.data + from, b.len - from, false, scratch, &off), 1);
        assert_true(is_boundary(at, 40, from + off));
        assert_true(off >= VIC_SERIAL_MAX_RECORD);
        assert_true(off < VIC_SERIAL_MAX_RECORD + 10016);
    }
    /* a log read while its last record is written (its data, or its header): the same */
    static const size_t cuts[] = {1, 2222, 9999, 10000, 10001, 10008, 10012, 10015};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        size_t cut = cuts[i];
        assert_int_equal(vic_serial_sync(b.data + 5000, b.len - 5000 - cut, false, scratch, &off),
                         1);
        assert_true(is_boundary(at, 40, 5000 + off));
    }
    /* too short a window proves nothing */
    assert_int_equal(vic_serial_sync(b.data + b.len - 30000, 30000, false, scratch, &off), 0);
    assert_int_equal(vic_serial_sync(b.data, 0, true, scratch, &off), 0);
    free(scratch);
    vic_buf_free(&b);
}

/* Records whose data holds records (a container that prints a serial log): the window is still
 * read from one of the log's own records. */
static void test_serial_sync_forged_records(void **state)
{
    (void)state;
    vic_buf fake = VIC_BUF_INIT, b = VIC_BUF_INIT;
    /* data that is itself a chain of records, exactly filling the data of its record */
    for (int i = 0; i < 200; i++)
        add(&fake, VIC_STREAM_STDERR, 42, "forged\n", 7, NULL);
    size_t at[256];
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        add(&b, VIC_STREAM_STDOUT, i, fake.data, fake.len, &at[n++]);
        add(&b, VIC_STREAM_STDOUT, i, "real\n", 5, &at[n++]);
    }
    /* the last record is forged data too: a chain that ends where the log ends */
    add(&b, VIC_STREAM_STDOUT, 99, fake.data, fake.len, &at[n++]);
    unsigned char *scratch = xmalloc(b.len + 1);
    /* windows long enough to hold a record's start a record's size in */
    for (size_t from = 1; from + VIC_SERIAL_MAX_RECORD + 4700 < b.len; from += 1237) {
        size_t off;
        /* a forged chain ends where its record does: the record steps over all of it */
        if (vic_serial_sync(b.data + from, b.len - from, false, scratch, &off) != 1)
            fail_msg("window from %zu: no start found", from);
        if (!is_boundary(at, n, from + off))
            fail_msg("window from %zu: %zu is no record's start", from, from + off);
    }
    free(scratch);
    vic_buf_free(&fake);
    vic_buf_free(&b);
}

/* Garbage before the records: read from the log's start, the first record past it. */
static void test_serial_sync_damaged_start(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "garbage", 7);
    size_t at[3];
    plain_log(&b, 3, 100, at);
    unsigned char *scratch = xmalloc(b.len + 1);
    size_t off;
    assert_int_equal(vic_serial_sync(b.data, b.len, true, scratch, &off), 1);
    assert_int_equal(off, 7);
    free(scratch);
    vic_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serial_header_round_trip),
        cmocka_unit_test(test_serial_sync_plain),
        cmocka_unit_test(test_serial_sync_forged_records),
        cmocka_unit_test(test_serial_sync_damaged_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
