/*
 * portlayer/logs.c: a serial log read as Docker's logs, over log files written here: lines
 * per stream, long lines in pieces, since and until, a tail found backwards (also through
 * records whose data looks like records, in a log whose end is cut, and in a damaged one), a
 * follow, and a log past 256 MiB read in bounded memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/mem.h"
#include "lib/serial.h"
#include "portlayer/logs.h"

static char dir[64], path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/vic-test-logs-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/output.log", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return rmdir(dir);
}

/* ---- writing logs ---- */

static void rec(vic_buf *b, int stream, int64_t t, const char *data, size_t len)
{
    unsigned char h[VIC_SERIAL_HEADER];
    vic_serial_header(h, stream, t, len);
    vic_buf_append(b, h, sizeof(h));
    vic_buf_append(b, data, len);
}

static void recs(vic_buf *b, int stream, int64_t t, const char *text)
{
    rec(b, stream, t, text, strlen(text));
}

static void write_log(const vic_buf *b)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b->data, b->len), (ssize_t)b->len);
    close(fd);
}

static void append_log(const vic_buf *b)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b->data, b->len), (ssize_t)b->len);
    close(fd);
}

/* ---- reading them ---- */

typedef struct msg {
    int stream;
    int64_t t;
    char *data;
    size_t len;
} msg;

typedef struct got {
    msg *m;
    size_t n, cap;
    atomic_int beats;      /* stream 0 calls */
    int stop_on_beat;      /* returned on a heartbeat when not 0 */
    atomic_int seen_first; /* follow: a message arrived */
    size_t keep_data;      /* 0: every message's data; else at most this much of each */
} got;

static int collect(int stream, int64_t t, const char *data, size_t len, void *payload)
{
    got *g = payload;
    if (stream == 0) {
        atomic_fetch_add(&g->beats, 1);
        return g->stop_on_beat;
    }
    assert_true(stream == VIC_STREAM_STDOUT || stream == VIC_STREAM_STDERR);
    assert_true(len > 0 && len <= PL_LOG_LINE_MAX);
    if (g->n == g->cap)
        g->m = xrealloc(g->m, (g->cap = g->cap ? g->cap * 2 : 64) * sizeof(msg));
    size_t keep = g->keep_data && len > g->keep_data ? g->keep_data : len;
    char *copy = xmalloc(keep + 1);
    memcpy(copy, data, keep);
    copy[keep] = '\0';
    g->m[g->n++] = (msg){stream, t, copy, keep};
    atomic_store(&g->seen_first, 1);
    return 0;
}

static void got_free(got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->m[i].data);
    free(g->m);
    g->m = NULL;
    g->n = g->cap = 0;
}

/* "1:line\n|2:err\n|" for messages from..n */
static char *render(const got *g, size_t from)
{
    vic_buf b = VIC_BUF_INIT;
    vic_buf_append(&b, "", 0);
    for (size_t i = from; i < g->n; i++) {
        vic_buf_appendf(&b, "%d:", g->m[i].stream);
        vic_buf_append(&b, g->m[i].data, g->m[i].len);
        vic_buf_append(&b, "|", 1);
    }
    return vic_buf_steal(&b);
}

static char *read_all(const pl_log_opts *o)
{
    got g = {0};
    vic_err *err = NULL;
    if (pl_log_read(path, o, NULL, NULL, collect, &g, &err) != 0)
        fail_msg("read: %s", err ? err->msg : "stopped");
    char *s = render(&g, 0);
    got_free(&g);
    return s;
}

/* Both streams, every line, then the case's own choices (which override those). */
#pragma GCC diagnostic ignored "-Woverride-init"
#define ALL(...) ((pl_log_opts){.out = true, .err = true, .tail = -1, __VA_ARGS__})

static void expect(const pl_log_opts o, const char *want)
{
    char *s = read_all(&o);
    assert_string_equal(s, want);
    free(s);
}

/* ---- cases ---- */

static void test_logs_lines_of_each_stream(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    recs(&b, 1, 10, "a");
    recs(&b, 1, 20, "b\nc");
    recs(&b, 2, 30, "x\n");
    recs(&b, 3, 35, "tether talk\n");
    recs(&b, 1, 40, "d\n");
    recs(&b, 2, 50, "no newline");
    recs(&b, 1, 60, "e");
    write_log(&b);
    /* a line when its '\n' comes; what the log ends with, the earlier first */
    expect(ALL(), "1:ab\n|2:x\n|1:cd\n|2:no newline|1:e|");
    expect(ALL(.err = false), "1:ab\n|1:cd\n|1:e|");
    expect(ALL(.out = false), "2:x\n|2:no newline|");
    /* each with the time of its last byte */
    got g = {0};
    pl_log_opts o = ALL();
    assert_int_equal(pl_log_read(path, &o, NULL, NULL, collect, &g, NULL), 0);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.m[0].t, 20);
    assert_int_equal(g.m[2].t, 40);
    assert_int_equal(g.m[4].t, 60);
    assert_int_equal(g.beats, 0); /* no follow: nothing to wait for */
    got_free(&g);
    vic_buf_free(&b);
}

static void test_logs_absent_log_is_empty(void **state)
{
    (void)state;
    unlink(path);
    expect(ALL(), "");
    expect(ALL(.tail = 3), "");
}

static void test_logs_long_lines_come_in_pieces(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    char *y = xmalloc(40000);
    memset(y, 'y', 40000);
    rec(&b, 1, 1, y, 30000);
    rec(&b, 2, 2, "between\n", 8);
    rec(&b, 1, 3, y, 10000);
    recs(&b, 1, 4, "\nnext\n");
    write_log(&b);
    got g = {0};
    pl_log_opts o = ALL();
    assert_int_equal(pl_log_read(path, &o, NULL, NULL, collect, &g, NULL), 0);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.m[0].len, PL_LOG_LINE_MAX);
    assert_int_equal(g.m[0].t, 1);
    assert_string_equal(g.m[1].data, "between\n");
    assert_int_equal(g.m[2].len, PL_LOG_LINE_MAX);
    assert_int_equal(g.m[3].len, 40000 - 2 * PL_LOG_LINE_MAX + 1);
    assert_int_equal(g.m[3].data[g.m[3].len - 1], '\n');
    assert_string_equal(g.m[4].data, "next\n");
    got_free(&g);
    /* a tail counts lines, not pieces: the long line whole */
    o.tail = 2;
    assert_int_equal(pl_log_read(path, &o, NULL, NULL, collect, &g, NULL), 0);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.m[0].len + g.m[1].len + g.m[2].len, 40001);
    got_free(&g);
    free(y);
    vic_buf_free(&b);
}

static void test_logs_tail(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    recs(&b, 1, 1, "o1\no2\n");
    recs(&b, 2, 2, "e1\n");
    recs(&b, 1, 3, "AAA"); /* a stdout line begun ... */
    recs(&b, 2, 4, "e2\ne3\n");
    recs(&b, 3, 5, "tether\n");
    recs(&b, 1, 6, "BBB\n"); /* ... ended after stderr's */
    recs(&b, 2, 7, "e4");    /* the log ends inside a line */
    write_log(&b);
    expect(ALL(.tail = 0), "");
    expect(ALL(.tail = 1), "2:e4|");
    expect(ALL(.tail = 2), "1:AAABBB\n|2:e4|");
    expect(ALL(.tail = 3), "2:e3\n|1:AAABBB\n|2:e4|");
    expect(ALL(.tail = 4), "2:e2\n|2:e3\n|1:AAABBB\n|2:e4|");
    expect(ALL(.tail = 5), "2:e1\n|2:e2\n|2:e3\n|1:AAABBB\n|2:e4|");
    expect(ALL(.tail = 6), "1:o2\n|2:e1\n|2:e2\n|2:e3\n|1:AAABBB\n|2:e4|");
    expect(ALL(.tail = 7), "1:o1\n|1:o2\n|2:e1\n|2:e2\n|2:e3\n|1:AAABBB\n|2:e4|");
    expect(ALL(.tail = 100), "1:o1\n|1:o2\n|2:e1\n|2:e2\n|2:e3\n|1:AAABBB\n|2:e4|");
    /* as Docker's: the tail counts both streams, then the choice of streams applies */
    expect(ALL(.tail = 3, .err = false), "1:AAABBB\n|");
    expect(ALL(.tail = 1, .err = false), "");
    expect(ALL(.tail = 6, .out = false), "2:e1\n|2:e2\n|2:e3\n|2:e4|");
    vic_buf_free(&b);
}

static void test_logs_since_and_until(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    recs(&b, 1, 1000, "t1000\n");
    recs(&b, 2, 2000, "t2000\n");
    recs(&b, 1, 3000, "t3");
    recs(&b, 1, 3500, "000\n");
    recs(&b, 1, 4000, "t4000\n");
    recs(&b, 1, 3900, "t3900 (a clock stepped back)\n");
    write_log(&b);
    expect(ALL(.since_ns = 2000),
           "2:t2000\n|1:t3000\n|1:t4000\n|1:t3900 (a clock stepped back)\n|");
    expect(ALL(.since_ns = 2001), "1:t3000\n|1:t4000\n|1:t3900 (a clock stepped back)\n|");
    /* a line's time is its last byte's */
    expect(ALL(.since_ns = 3400, .until_ns = 3500), "1:t3000\n|");
    /* the first message past until ends it, as Docker's */
    expect(ALL(.until_ns = 3999), "1:t1000\n|2:t2000\n|1:t3000\n|");
    expect(ALL(.until_ns = 999), "");
    expect(ALL(.since_ns = 5000), "");
    /* the tail first, then since */
    expect(ALL(.tail = 2, .since_ns = 3950), "1:t4000\n|");
    expect(ALL(.tail = 3, .until_ns = 3500), "1:t3000\n|");
    vic_buf_free(&b);
}

/* ---- tails of larger logs, checked against the whole read ---- */

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A log of about size bytes: records of both streams (and the tether's), of every size up to
 * the largest, with lines of every length, some records holding forged records, and both
 * streams ending with a '\n'. */
static void random_log(vic_buf *b, size_t size)
{
    vic_buf forged = VIC_BUF_INIT;
    for (int i = 0; i < 300; i++)
        recs(&forged, 2, 7, "forged line\n");
    char *data = xmalloc(VIC_SERIAL_MAX_DATA);
    int64_t t = 1;
    while (b->len < size) {
        int stream = 1 + (int)(rnd() % 5 == 0 ? 2 : rnd() % 2);
        size_t len;
        switch (rnd() % 8) {
        case 0:
            len = VIC_SERIAL_MAX_DATA;
            break;
        case 1:
            len = rnd() % 20000;
            break;
        case 2: /* data that is a chain of records, ending with its record */
            rec(b, stream, t++, forged.data, forged.len);
            continue;
        default:
            len = rnd() % 300;
        }
        for (size_t i = 0; i < len; i++) {
            uint64_t r = rnd() % 64;
            data[i] = r == 0 ? '\n' : r == 1 ? 'V' : (char)('a' + r % 26);
        }
        /* lines of every length: some records are all newlines, some have none */
        if (len && rnd() % 10 == 0)
            memset(data, '\n', len);
        rec(b, stream, t++, data, len);
    }
    recs(b, 1, t++, "last out\n");
    recs(b, 2, t++, "last err\n");
    free(data);
    vic_buf_free(&forged);
}

/* Checks that tails of the log at path are the whole read's last messages (every line of the
 * log ends with a '\n', and no line is longer than a piece: messages are lines). */
static void check_tails(size_t total_expected_min)
{
    got all = {0};
    pl_log_opts o = ALL();
    assert_int_equal(pl_log_read(path, &o, NULL, NULL, collect, &all, NULL), 0);
    assert_true(all.n >= total_expected_min);
    long tails[] = {1, 2, 7, 100, 1000, 5000, (long)all.n - 1, (long)all.n, (long)all.n + 5};
    for (size_t k = 0; k < sizeof(tails) / sizeof(tails[0]); k++) {
        long n = tails[k];
        if (n < 0)
            continue;
        got g = {0};
        o.tail = n;
        assert_int_equal(pl_log_read(path, &o, NULL, NULL, collect, &g, NULL), 0);
        size_t want = (size_t)n < all.n ? (size_t)n : all.n;
        if (g.n != want)
            fail_msg("tail %ld: %zu messages, want %zu", n, g.n, want);
        for (size_t i = 0; i < want; i++) {
            const msg *a = &all.m[all.n - want + i], *m = &g.m[i];
            if (a->stream != m->stream || a->t != m->t || a->len != m->len ||
                memcmp(a->data, m->data, a->len) != 0)
                fail_msg("tail %ld: message %zu differs", n, i);
        }
        got_free(&g);
    }
    got_free(&all);
}

static void test_logs_tail_of_a_large_log(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    random_log(&b, 5 * 1024 * 1024); /* five windows and more */
    write_log(&b);
    check_tails(10000);
    vic_buf_free(&b);
}

/* A log whose last record is cut (read while written, or a crash): the same answers. */
static void test_logs_tail_of_a_cut_log(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    random_log(&b, 3 * 1024 * 1024);
    recs(&b, 1, 1, "a record cut short\n");
    b.len -= 5;
    write_log(&b);
    check_tails(5000);
    vic_buf_free(&b);
}

/* A damaged log, bytes that are no record among its records and at its end: no chain of
 * records reaches its end, so the tail is found from one forward reading; the same answers. */
static void test_logs_tail_of_a_damaged_log(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    random_log(&b, 1024 * 1024);
    vic_buf_append(&b, "damage", 6);
    random_log(&b, 2 * 1024 * 1024);
    vic_buf_append(&b, "damage", 6);
    write_log(&b);
    check_tails(5000);
    vic_buf_free(&b);
}

/* Where a tail's first line began is looked for 16 MiB of log back at most: a line begun
 * further back shows from there on (a whole read has it all). */
static void test_logs_tail_looks_16_mib_back(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    recs(&b, 1, 1, "START ");
    char *zeros = xzalloc(VIC_SERIAL_MAX_DATA);
    zeros[VIC_SERIAL_MAX_DATA - 1] = '\n';
    for (int i = 0; i < 20 * 16; i++)
        rec(&b, 2, 2, zeros, VIC_SERIAL_MAX_DATA);
    recs(&b, 1, 3, "END\n");
    write_log(&b);
    expect(ALL(.tail = 1, .err = false), "1:END\n|");
    char *s = read_all(&(pl_log_opts){.out = true, .tail = -1});
    assert_string_equal(s, "1:START END\n|");
    free(s);
    free(zeros);
    vic_buf_free(&b);
}

/* ---- follow ---- */

typedef struct follow_run {
    got g;
    pl_log_opts o;
    atomic_int live;
    int rc;
} follow_run;

static bool is_live(void *payload)
{
    follow_run *f = payload;
    return atomic_load(&f->live);
}

static void *follow_thread(void *arg)
{
    follow_run *f = arg;
    f->rc = pl_log_read(path, &f->o, is_live, f, collect, &f->g, NULL);
    return NULL;
}

/* Waits (at most 10 s) until *v reaches at least want. */
static void wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 10000 && atomic_load(v) < want; i++)
        usleep(1000);
    assert_true(atomic_load(v) >= want);
}

static void test_logs_follow_until_the_writer_stops(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    recs(&b, 1, 1, "old1\nold2\n");
    write_log(&b);
    b.len = 0;
    follow_run f = {.o = ALL(.tail = 1, .follow = true), .live = 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, follow_thread, &f), 0);
    wait_for(&f.g.seen_first, 1); /* the tail came */
    wait_for(&f.g.beats, 1);      /* and it waits */
    recs(&b, 2, 2, "new err\n");
    recs(&b, 1, 3, "new out, then a line not ended");
    append_log(&b);
    int beats = atomic_load(&f.g.beats);
    wait_for(&f.g.beats, beats + 2); /* read, then waiting again */
    /* the writer is done: what it wrote last comes, the line not ended too, and it ends */
    atomic_store(&f.live, 0);
    pthread_join(th, NULL);
    assert_int_equal(f.rc, 0);
    char *s = render(&f.g, 0);
    assert_string_equal(s, "1:old2\n|2:new err\n|1:new out, then a line not ended|");
    free(s);
    got_free(&f.g);
    vic_buf_free(&b);
}

/* A log that begins after the follow did (the container was starting): all of it. */
static void test_logs_follow_a_log_not_there_yet(void **state)
{
    (void)state;
    unlink(path);
    follow_run f = {.o = ALL(.tail = 5, .follow = true), .live = 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, follow_thread, &f), 0);
    wait_for(&f.g.beats, 1);
    vic_buf b = VIC_BUF_INIT;
    recs(&b, 1, 1, "hello\n");
    write_log(&b);
    wait_for(&f.g.seen_first, 1);
    atomic_store(&f.live, 0);
    pthread_join(th, NULL);
    char *s = render(&f.g, 0);
    assert_string_equal(s, "1:hello\n|");
    free(s);
    got_free(&f.g);
    vic_buf_free(&b);
}

/* The caller stops a follow from a heartbeat (its client left); until in the past ends it. */
static void test_logs_follow_ends_when_told(void **state)
{
    (void)state;
    vic_buf b = VIC_BUF_INIT;
    recs(&b, 1, 1, "x\n");
    write_log(&b);
    follow_run f = {.o = ALL(.follow = true), .live = 1};
    f.g.stop_on_beat = 7;
    follow_thread(&f);
    assert_int_equal(f.rc, 7);
    assert_int_equal(f.g.n, 1);
    got_free(&f.g);
    f = (follow_run){.o = ALL(.follow = true, .until_ns = 1000), .live = 1};
    follow_thread(&f); /* returns: the clock is past until */
    assert_int_equal(f.rc, 0);
    assert_int_equal(f.g.n, 1);
    got_free(&f.g);
    vic_buf_free(&b);
}

/* ---- a log past 256 MiB ---- */

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* What this process read so far (rchar: read and pread included). */
static long bytes_read(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[256];
    long n = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "rchar: %ld", &n) == 1)
            break;
    if (f)
        fclose(f);
    assert_true(n >= 0);
    return n;
}

static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    assert_non_null(f);
    fputs("5", f);
    fclose(f);
}

/* 257 MiB of records (a sparse file: only headers and each record's last byte, a '\n', are
 * written), then "end\n": its tail and a since near its end, in memory that does not grow
 * with the log. */
static void test_logs_past_256_mib_in_bounded_memory(void **state)
{
    (void)state;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    const size_t n = (257u << 20) / VIC_SERIAL_MAX_RECORD + 1;
    off_t at = 0;
    for (size_t i = 0; i < n; i++, at += VIC_SERIAL_MAX_RECORD) {
        unsigned char h[VIC_SERIAL_HEADER];
        vic_serial_header(h, VIC_STREAM_STDOUT, (int64_t)i + 1, VIC_SERIAL_MAX_DATA);
        assert_int_equal(pwrite(fd, h, sizeof(h), at), sizeof(h));
        assert_int_equal(pwrite(fd, "\n", 1, at + VIC_SERIAL_MAX_RECORD - 1), 1);
    }
    unsigned char h[VIC_SERIAL_HEADER];
    vic_serial_header(h, VIC_STREAM_STDERR, (int64_t)n + 1, 4);
    assert_int_equal(pwrite(fd, h, sizeof(h), at), sizeof(h));
    assert_int_equal(pwrite(fd, "end\n", 4, at + VIC_SERIAL_HEADER), 4);
    close(fd);
    assert_true(at > (256 << 20));

    reset_peak_rss();
    long before = peak_rss_kb();
    /* the last line is stderr's only one: where it began is looked for 16 MiB back, not 257 */
    long read_before = bytes_read();
    got g = {.keep_data = 8};
    pl_log_opts o = ALL(.tail = 1);
    assert_int_equal(pl_log_read(path, &o, NULL, NULL, collect, &g, NULL), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.m[0].data, "end\n");
    got_free(&g);
    long read = bytes_read() - read_before;
    if (read > 32 << 20)
        fail_msg("--tail 1 read %ld MiB of the log", read >> 20);
    o.tail = 2; /* the last 64 KiB line, in its four pieces */
    assert_int_equal(pl_log_read(path, &o, NULL, NULL, collect, &g, NULL), 0);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.m[0].t, (int64_t)n);
    got_free(&g);
    /* since reads all of it forwards: the last record's line, in its four pieces, and "end" */
    o = ALL(.since_ns = (int64_t)n);
    assert_int_equal(pl_log_read(path, &o, NULL, NULL, collect, &g, NULL), 0);
    assert_int_equal(g.n, 5);
    got_free(&g);
    long grew = peak_rss_kb() - before;
    /* whole, the log alone would take 257 MiB */
    if (grew > 64 * 1024)
        fail_msg("reading a %lld MiB log took %ld kB more memory", (long long)(at >> 20), grew);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logs_lines_of_each_stream),
        cmocka_unit_test(test_logs_absent_log_is_empty),
        cmocka_unit_test(test_logs_long_lines_come_in_pieces),
        cmocka_unit_test(test_logs_tail),
        cmocka_unit_test(test_logs_since_and_until),
        cmocka_unit_test(test_logs_tail_of_a_large_log),
        cmocka_unit_test(test_logs_tail_of_a_cut_log),
        cmocka_unit_test(test_logs_tail_of_a_damaged_log),
        cmocka_unit_test(test_logs_tail_looks_16_mib_back),
        cmocka_unit_test(test_logs_follow_until_the_writer_stops),
        cmocka_unit_test(test_logs_follow_a_log_not_there_yet),
        cmocka_unit_test(test_logs_follow_ends_when_told),
        cmocka_unit_test(test_logs_past_256_mib_in_bounded_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
