#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int vic_log_threshold_ = VIC_LOG_INFO;

static char component[32] = "vic";
static int log_fd = -1;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void vic_log_init(const char *name, vic_log_level level)
{
    snprintf(component, sizeof(component), "%s", name ? name : "vic");
    vic_log_threshold_ = (int)level;
}

int vic_log_level_parse(const char *s)
{
    if (s == NULL)
        return -1;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return VIC_LOG_WARN;
    if (s[0] >= '0' && s[0] <= '3' && s[1] == '\0')
        return 3 - (s[0] - '0'); /* VIC's debug levels: 0 is quiet, 3 most verbose */
    return -1;
}

int vic_log_open_file(const char *path, vic_err **err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return vic_err_sys(err, VIC_EIO, errno, "open log file %s", path);
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0)
        close(log_fd);
    log_fd = fd;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

void vic_log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_fd >= 0)
        close(log_fd);
    log_fd = -1;
    pthread_mutex_unlock(&log_lock);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a failing log write */
        }
        p += w;
        n -= (size_t)w;
    }
}

/* ---- logfmt values ---- */

typedef struct out {
    char *p;
    size_t len, cap; /* cap excludes the room kept for the newline */
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->len + n > o->cap)
        n = o->cap - o->len;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_escaped_char(out *o, unsigned char ch)
{
    char esc[8];
    switch (ch) {
    case '"':
        put(o, "\\\"", 2);
        return;
    case '\\':
        put(o, "\\\\", 2);
        return;
    case '\n':
        put(o, "\\n", 2);
        return;
    case '\r':
        put(o, "\\r", 2);
        return;
    case '\t':
        put(o, "\\t", 2);
        return;
    default:
        snprintf(esc, sizeof(esc), "\\u%04x", ch);
        put(o, esc, 6);
    }
}

static int needs_quotes(const char *s, size_t n)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch == '"' || ch == '=' || ch == '\\' || ch == 0x7f)
            return 1;
    }
    return 0;
}

/*
 * Writes a string argument where the format put it. Inside a quoted value (key="%s") quotes,
 * backslashes and control characters are escaped; as a bare value (key=%s) the value is
 * quoted and escaped when it holds anything beyond a plain word; in free text only control
 * characters are escaped. So no value, whoever supplied it, can end its field early, forge
 * another field or line, or reach a terminal as an escape sequence.
 */
static void put_value(out *o, const char *s, size_t n, int quoted, int bare)
{
    int quote = bare && needs_quotes(s, n);
    if (quote)
        put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || ((quoted || quote) && (ch == '"' || ch == '\\')))
            put_escaped_char(o, ch);
        else
            put(o, s + i, 1);
    }
    if (quote)
        put(o, "\"", 1);
}

/* Formats fmt with ap into o: printf's conversions, with every %s escaped as put_value
 * says. Returns -1 on a conversion it does not know. Each number goes through snprintf with
 * its one conversion, copied out of the caller's format, which the compiler checked. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int format_line(out *o, const char *fmt, va_list ap)
{
    const char *lit = fmt;
    for (const char *f = fmt; *f;) {
        if (*f != '%') {
            f++;
            continue;
        }
        put(o, lit, (size_t)(f - lit));
        if (f[1] == '%') {
            put(o, "%", 1);
            f += 2;
            lit = f;
            continue;
        }
        const char *spec = f++;
        f += strspn(f, "-+ #0");
        int star_width = 0, star_prec = 0, has_prec = 0;
        if (*f == '*') {
            star_width = 1;
            f++;
        } else {
            f += strspn(f, "0123456789");
        }
        if (*f == '.') {
            has_prec = 1;
            f++;
            if (*f == '*') {
                star_prec = 1;
                f++;
            } else {
                f += strspn(f, "0123456789");
            }
        }
        char len[3] = "";
        size_t ln = strspn(f, "hlzjtL");
        if (ln > 2)
            return -1;
        memcpy(len, f, ln);
        f += ln;
        char conv = *f++;
        if (conv == '\0')
            return -1;
        char one[32];
        size_t sl = (size_t)(f - spec);
        if (sl >= sizeof(one))
            return -1;
        memcpy(one, spec, sl);
        one[sl] = '\0';
        int width = star_width ? va_arg(ap, int) : 0;
        int prec = star_prec ? va_arg(ap, int) : -1;
        char buf[128];
        int n = 0;
        if (conv == 's') {
            const char *v = va_arg(ap, const char *);
            if (v == NULL)
                v = "(null)";
            size_t vn = strlen(v);
            if (has_prec && !star_prec)
                prec = atoi(strchr(one, '.') + 1);
            if (has_prec && prec >= 0 && (size_t)prec < vn)
                vn = (size_t)prec;
            int quoted = spec >= fmt + 2 && spec[-1] == '"' && spec[-2] == '=' && *f == '"';
            int bare = !quoted && spec > fmt && spec[-1] == '=';
            put_value(o, v, vn, quoted, bare);
            (void)width;
            lit = f;
            continue;
        }
        /* numbers, characters and pointers: one snprintf with the argument's own type */
#define ONE(T)                                                                                     \
    (star_width && star_prec ? snprintf(buf, sizeof(buf), one, width, prec, va_arg(ap, T))         \
     : star_width            ? snprintf(buf, sizeof(buf), one, width, va_arg(ap, T))               \
     : star_prec             ? snprintf(buf, sizeof(buf), one, prec, va_arg(ap, T))                \
                             : snprintf(buf, sizeof(buf), one, va_arg(ap, T)))
        switch (conv) {
        case 'd':
        case 'i':
        case 'u':
        case 'x':
        case 'X':
        case 'o':
            if (strcmp(len, "ll") == 0 || strcmp(len, "j") == 0)
                n = ONE(long long);
            else if (strcmp(len, "l") == 0 || strcmp(len, "z") == 0 || strcmp(len, "t") == 0)
                n = ONE(long);
            else
                n = ONE(int);
            break;
        case 'c':
            n = ONE(int);
            break;
        case 'f':
        case 'g':
        case 'e':
            n = strcmp(len, "L") == 0 ? ONE(long double) : ONE(double);
            break;
        case 'p':
            n = ONE(void *);
            break;
        default:
            return -1;
        }
#undef ONE
        if (n > 0) {
            if (conv == 'c' && (unsigned char)buf[0] < 0x20)
                put_escaped_char(o, (unsigned char)buf[0]);
            else
                put(o, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
        }
        lit = f;
    }
    put(o, lit, strlen(lit));
    return 0;
}
#pragma GCC diagnostic pop

void vic_log_write_(vic_log_level level, const char *fmt, ...)
{
    char line[4096];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)(tv.tv_usec / 1000), level_names[level >= 0 && level <= 3 ? level : 3],
                     component);
    if (n < 0)
        return;
    out o = {.p = line, .len = (size_t)n, .cap = sizeof(line) - 1};
    va_list ap;
    va_start(ap, fmt);
    int rc = format_line(&o, fmt, ap);
    va_end(ap);
    if (rc < 0) {
        o.len = (size_t)n;
        put(&o, "event=log_format_unknown fmt=", 29);
        put_value(&o, fmt, strlen(fmt), 0, 1);
    }
    line[o.len++] = '\n';
    pthread_mutex_lock(&log_lock);
    write_all(STDERR_FILENO, line, o.len);
    if (log_fd >= 0)
        write_all(log_fd, line, o.len);
    pthread_mutex_unlock(&log_lock);
}

size_t vic_log_format(char *buf, size_t cap, const char *fmt, ...)
{
    if (cap == 0)
        return 0;
    out o = {.p = buf, .len = 0, .cap = cap - 1};
    va_list ap;
    va_start(ap, fmt);
    int rc = format_line(&o, fmt, ap);
    va_end(ap);
    if (rc < 0)
        o.len = 0;
    buf[o.len] = '\0';
    return o.len;
}
