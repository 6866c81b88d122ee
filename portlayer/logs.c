/*
 * logs.c - a container's serial log read as Docker's logs (see logs.h).
 *
 * Reading forward, records go through a READ_BUF buffer and their bytes into one pending
 * line per stream (at most PL_LOG_LINE_MAX bytes), delivered when a '\n' or the size ends it.
 *
 * A tail is found backwards: windows of TAIL_WINDOW bytes from the end, each synchronised
 * with vic_serial_sync (where records certainly start), their records walked last to first.
 * Each '\n' of stdout or stderr ends a line, and so does a stream's last byte when it is not
 * one (such a line counts where that byte is, though a whole read delivers it last); once
 * tail lines are counted, the walk goes on to the '\n' before the first counted line of each
 * stream. The forward reading then starts at the record holding the earliest of those,
 * skipping, per stream, the bytes up to its '\n' (a stream with no counted line: all of its
 * bytes so far). The walk goes on for RESOLVE_MAX bytes at most: past that (a stream silent
 * for that long, or a line that long), reading starts there, and a line begun before shows
 * from there on. A window that cannot be synchronised (a damaged log, or data made to look
 * like records) makes the walk go on from checkpoints of one forward reading of the log
 * instead: slower, as exact.
 */
#include "portlayer/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/mem.h"
#include "lib/serial.h"

#define READ_BUF         (256 * 1024)  /* forward: room for more than two records */
#define TAIL_WINDOW      (1024 * 1024) /* backward: one window */
#define CHECKPOINT_EVERY (TAIL_WINDOW / 2)
/* backward: how far past its counted lines a tail looks for where their streams' lines began */
#define RESOLVE_MAX   (16 * 1024 * 1024)
#define WAIT_MS       250 /* a follow's longest wait between two looks at the log */
#define LIVE_EVERY_MS 100 /* a follow asks whether the log may grow at most this often */

typedef struct line {
    char data[PL_LOG_LINE_MAX];
    size_t len;
    int64_t time_ns; /* when its last byte so far was written */
    int64_t skip;    /* this stream's bytes at or before this file offset are not read */
} line;

typedef struct reader {
    int fd;
    const pl_log_opts *o;
    pl_log_fn fn;
    void *payload;
    char *buf; /* READ_BUF bytes: len of them read and not taken yet, buf[0] at offset at */
    size_t len;
    int64_t at;
    line lines[3]; /* by stream; [0] unused */
    int rc;        /* fn's value when it stopped the read */
} reader;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int read_at(int fd, void *buf, size_t len, int64_t at, size_t *got, vic_err **err)
{
    *got = 0;
    while (*got < len) {
        ssize_t n = pread(fd, (char *)buf + *got, len - *got, (off_t)(at + (int64_t)*got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return vic_err_sys(err, VIC_EIO, errno, "read the container's log");
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return 0;
}

/* ---- forward ---- */

/* Hands the pending line of stream s to fn when the options let it through. Returns 1 when
 * the read ends (fn stopped it, or the line is past until). */
static int deliver(reader *r, int s)
{
    line *l = &r->lines[s];
    size_t n = l->len;
    l->len = 0;
    const pl_log_opts *o = r->o;
    if (o->until_ns && l->time_ns > o->until_ns)
        return 1; /* as Docker's: the first message past until ends the logs */
    if (l->time_ns < o->since_ns || (s == VIC_STREAM_STDOUT ? !o->out : !o->err))
        return 0;
    r->rc = r->fn(s, l->time_ns, l->data, n, r->payload);
    return r->rc != 0;
}

/* Adds a record's data (at file offset data_at) to its stream's line, delivering every line
 * it completes. Returns 1 when the read ends. */
static int take(reader *r, const vic_serial_record *rec, int64_t data_at)
{
    if (rec->stream != VIC_STREAM_STDOUT && rec->stream != VIC_STREAM_STDERR)
        return 0;
    line *l = &r->lines[rec->stream];
    const char *p = rec->data;
    size_t n = rec->len;
    if (l->skip >= data_at) {
        uint64_t drop = (uint64_t)(l->skip - data_at) + 1;
        if (drop >= n)
            return 0;
        p += drop;
        n -= drop;
    }
    while (n > 0) {
        size_t room = PL_LOG_LINE_MAX - l->len, k = n < room ? n : room;
        const char *nl = memchr(p, '\n', k);
        if (nl)
            k = (size_t)(nl - p) + 1;
        memcpy(l->data + l->len, p, k);
        l->len += k;
        l->time_ns = rec->time_ns;
        p += k;
        n -= k;
        if ((nl || l->len == PL_LOG_LINE_MAX) && deliver(r, rec->stream))
            return 1;
    }
    return 0;
}

/* Reads from where the reader is to the log's current end. Returns 1 when the read ends, 0
 * at the end of what is there, or VIC_EIO. */
static int read_on(reader *r, vic_err **err)
{
    for (;;) {
        size_t got;
        int rc =
            read_at(r->fd, r->buf + r->len, READ_BUF - r->len, r->at + (int64_t)r->len, &got, err);
        if (rc < 0)
            return rc;
        if (got == 0)
            return 0;
        r->len += got;
        size_t off = 0;
        vic_serial_record rec;
        while (vic_serial_next(r->buf, r->len, &off, &rec, NULL) == 1)
            if (take(r, &rec, r->at + (rec.data - r->buf)))
                return 1;
        memmove(r->buf, r->buf + off, r->len - off);
        r->at += (int64_t)off;
        r->len -= off;
    }
}

/* Delivers the lines the log ended without their '\n', the earlier first. Returns 1 when the
 * read ends. */
static int flush_lines(reader *r)
{
    line *out = &r->lines[VIC_STREAM_STDOUT], *err = &r->lines[VIC_STREAM_STDERR];
    int first = err->len && (!out->len || err->time_ns < out->time_ns) ? VIC_STREAM_STDERR
                                                                       : VIC_STREAM_STDOUT;
    int second = first == VIC_STREAM_STDOUT ? VIC_STREAM_STDERR : VIC_STREAM_STDOUT;
    if (r->lines[first].len && deliver(r, first))
        return 1;
    return r->lines[second].len && deliver(r, second);
}

/* ---- backward: where the last tail lines start ---- */

typedef struct tail_walk {
    long need, counted;     /* lines wanted, lines counted so far (from the end) */
    long of[3];             /* lines counted per stream */
    bool seen[3], known[3]; /* a byte of the stream seen; its skip offset known */
    /* the record where the stream's skip offset was found, or the earliest of its records
     * walked while it is not known: where reading for its counted lines starts */
    int64_t from[3];
} tail_walk;

/* Whether the walk is over: every line counted, and the skip of each stream with counted
 * lines known. */
static bool walk_done(const tail_walk *t)
{
    return t->counted >= t->need && (t->of[1] == 0 || t->known[1]) &&
           (t->of[2] == 0 || t->known[2]);
}

/* Walks the data of one record of stream s (n bytes at file offset at) from its last byte to
 * its first. Returns 1 once the walk is over. */
static int walk_record(reader *r, tail_walk *t, int s, const char *d, size_t n, int64_t at)
{
    if (n == 0 || t->known[s])
        return 0;
    line *l = &r->lines[s];
    if (!t->seen[s]) {
        t->seen[s] = true;
        if (t->counted >= t->need) { /* none of its lines is in the tail: skip them all */
            l->skip = at + (int64_t)n - 1;
            t->known[s] = true;
            return walk_done(t);
        }
        if (d[n - 1] != '\n') { /* the log ends inside one of its lines: it counts */
            t->counted++;
            t->of[s]++;
        }
    }
    /* a plain loop: under ASan each memrchr call checks all the bytes it is given */
    for (size_t end = n; end-- > 0;) {
        if (d[end] != '\n')
            continue;
        if (t->counted < t->need) {
            t->counted++;
            t->of[s]++;
            continue;
        }
        /* the '\n' before the stream's first line in the tail */
        l->skip = at + (int64_t)end;
        t->known[s] = true;
        return walk_done(t);
    }
    return 0;
}

typedef struct rec_pos {
    size_t hdr, data, len;
    int stream;
} rec_pos;

/* Walks the records of a window (len bytes at file offset at, records from its start to its
 * end) from the last. Returns 1 once the walk is over. */
static int walk_window(reader *r, tail_walk *t, const char *buf, size_t len, int64_t at,
                       rec_pos *recs)
{
    size_t n = 0, off = 0;
    vic_serial_record rec;
    while (vic_serial_next(buf, len, &off, &rec, NULL) == 1)
        recs[n++] = (rec_pos){(size_t)(rec.data - buf) - VIC_SERIAL_HEADER,
                              (size_t)(rec.data - buf), rec.len, rec.stream};
    for (size_t i = n; i-- > 0;) {
        int s = recs[i].stream;
        if (s != VIC_STREAM_STDOUT && s != VIC_STREAM_STDERR)
            continue;
        if (!t->known[s])
            t->from[s] = at + (int64_t)recs[i].hdr;
        if (walk_record(r, t, s, buf + recs[i].data, recs[i].len, at + (int64_t)recs[i].data))
            return 1;
    }
    return 0;
}

/* Offsets where one forward reading of the log finds a record, one at least every
 * CHECKPOINT_EVERY bytes below end, ascending, in *out (*n of them; caller frees). */
static int checkpoints(int fd, int64_t end, char *buf, int64_t **out, size_t *n, vic_err **err)
{
    size_t cap = 16, len = 0;
    int64_t at = 0, last = 0;
    int64_t *cps = xmalloc(cap * sizeof(*cps));
    *n = 0;
    for (;;) {
        size_t want = READ_BUF - len, got;
        if ((int64_t)want > end - at - (int64_t)len)
            want = (size_t)(end - at - (int64_t)len);
        int rc = read_at(fd, buf + len, want, at + (int64_t)len, &got, err);
        if (rc < 0) {
            free(cps);
            return rc;
        }
        if (got == 0)
            break;
        len += got;
        size_t off = 0;
        vic_serial_record rec;
        while (vic_serial_next(buf, len, &off, &rec, NULL) == 1) {
            int64_t hdr = at + (rec.data - buf) - VIC_SERIAL_HEADER;
            if (hdr - last >= CHECKPOINT_EVERY) {
                if (*n == cap)
                    cps = xrealloc(cps, (cap *= 2) * sizeof(*cps));
                cps[(*n)++] = last = hdr;
            }
        }
        memmove(buf, buf + off, len - off);
        at += (int64_t)off;
        len -= off;
    }
    *out = cps;
    return 0;
}

/* Sets the reader at the start of the last o->tail lines of a log of size bytes. */
static int tail_seek(reader *r, int64_t size, vic_err **err)
{
    tail_walk t = {.need = r->o->tail, .from = {size, size, size}};
    if (t.need == 0) {
        r->at = size;
        return 0;
    }
    cleanup_free char *win = xmalloc(TAIL_WINDOW);
    cleanup_free unsigned char *scratch = xmalloc(TAIL_WINDOW + 1);
    cleanup_free rec_pos *recs = xmalloc((TAIL_WINDOW / VIC_SERIAL_HEADER + 1) * sizeof(*recs));
    cleanup_free int64_t *cps = NULL;
    size_t n_cps = 0;
    bool synced = true, done = false;
    int64_t end = size;   /* records certainly start (or the log ends) here */
    int64_t counted = -1; /* where the walk was when the lines were counted */
    while (end > 0 && !done) {
        if (t.counted >= t.need && counted < 0)
            counted = end;
        /* a stream silent for that long (or a line that long): its lines from here */
        if (counted >= 0 && counted - end > RESOLVE_MAX)
            break;
        int64_t from;
        size_t got, q = 0;
        int rc;
        if (synced) {
            from = end > TAIL_WINDOW ? end - TAIL_WINDOW : 0;
            if ((rc = read_at(r->fd, win, (size_t)(end - from), from, &got, err)) < 0)
                return rc;
            if (got < (size_t)(end - from))
                return vic_err_set(err, VIC_EIO, "the container's log shrank while read");
            /* a window that moves back less than half its size is not worth reading so */
            if (!vic_serial_sync(win, got, from == 0, scratch, &q) ||
                (from > 0 && got - q < TAIL_WINDOW / 2)) {
                synced = false;
                if ((rc = checkpoints(r->fd, end, r->buf, &cps, &n_cps, err)) < 0)
                    return rc;
                continue;
            }
        } else {
            from = n_cps ? cps[n_cps - 1] : 0;
            if (end - from > TAIL_WINDOW)
                from = end - TAIL_WINDOW; /* a damaged stretch: its records as they come */
            else if (n_cps)
                n_cps--;
            if ((rc = read_at(r->fd, win, (size_t)(end - from), from, &got, err)) < 0)
                return rc;
        }
        done = walk_window(r, &t, win + q, got - q, from + (int64_t)q, recs);
        end = from + (int64_t)q;
    }
    /* Over, or the log's start reached, or looked far enough: a stream whose first counted
     * line's start was not found has its lines from its earliest record walked. */
    r->at = size;
    for (int s = VIC_STREAM_STDOUT; s <= VIC_STREAM_STDERR; s++)
        if (t.of[s] && t.from[s] < r->at)
            r->at = t.from[s];
    return 0;
}

/* ---- the read ---- */

static void watch(int ino, const char *path)
{
    if (ino >= 0)
        inotify_add_watch(ino, path, IN_MODIFY | IN_CLOSE_WRITE);
}

/* Waits up to WAIT_MS for the log to change. */
static void wait_change(int ino)
{
    if (ino < 0) {
        struct timespec nap = {0, WAIT_MS * 1000000L};
        nanosleep(&nap, NULL);
        return;
    }
    struct pollfd pf = {ino, POLLIN, 0};
    if (poll(&pf, 1, WAIT_MS) > 0) {
        char ev[4096];
        while (read(ino, ev, sizeof(ev)) > 0)
            ;
    }
}

int pl_log_read(const char *path, const pl_log_opts *o, pl_log_live_fn live, void *live_payload,
                pl_log_fn fn, void *payload, vic_err **err)
{
    bool follow = o->follow && live;
    reader *r = xzalloc(sizeof(*r));
    r->o = o;
    r->fn = fn;
    r->payload = payload;
    r->buf = xmalloc(READ_BUF);
    r->lines[VIC_STREAM_STDOUT].skip = r->lines[VIC_STREAM_STDERR].skip = -1;
    int ino = follow ? inotify_init1(IN_NONBLOCK | IN_CLOEXEC) : -1;
    int rc = 0;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0 && errno != ENOENT) {
        rc = vic_err_sys(err, VIC_EIO, errno, "open the container's log");
        goto done;
    }
    if (r->fd >= 0) {
        watch(ino, path);
        struct stat st;
        if (o->tail >= 0 && fstat(r->fd, &st) == 0 && (rc = tail_seek(r, st.st_size, err)) < 0)
            goto done;
    }
    int64_t asked_ms = 0;
    bool more = follow;
    for (;;) {
        /* asked before reading: everything written while it ran is in the log when it is over */
        if (follow && mono_ms() - asked_ms >= LIVE_EVERY_MS) {
            more = live(live_payload);
            asked_ms = mono_ms();
        }
        if (r->fd < 0 && (r->fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
            watch(ino, path); /* it began after the read did */
        if (r->fd >= 0 && (rc = read_on(r, err)) != 0)
            break;
        if (!more) {
            rc = flush_lines(r);
            break;
        }
        if (o->until_ns && wall_ns() > o->until_ns)
            break; /* nothing written from now on can be shown */
        if ((r->rc = fn(0, 0, NULL, 0, payload)) != 0)
            break;
        wait_change(ino);
    }
    if (rc >= 0)
        rc = r->rc;
done:
    if (ino >= 0)
        close(ino);
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r);
    return rc;
}
