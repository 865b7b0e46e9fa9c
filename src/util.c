/*
 * util.c — the shared helpers declared in util.h: buffers, time, RFC 3339,
 * UUIDv7, durable file writes.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- allocation -------------------------------------------------------- */

static void oom(size_t n)
{
    fprintf(stderr, "questlog: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *ql_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *ql_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *ql_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *ql_strndup(const char *s, size_t n)
{
    char *p = ql_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ql_strdup(const char *s) { return ql_strndup(s, strlen(s)); }

/* ---- buffer ------------------------------------------------------------ */

void ql_buf_reserve(ql_buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    b->data = ql_realloc(b->data, cap);
    b->cap = cap;
    b->data[b->len] = '\0';   /* a buffer only reserved is "" too (ql_buf_steal's callers print it) */
}

void ql_buf_append(ql_buf_t *b, const void *p, size_t n)
{
    ql_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ql_buf_putc(ql_buf_t *b, char c)
{
    ql_buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void ql_buf_puts(ql_buf_t *b, const char *s) { ql_buf_append(b, s, strlen(s)); }

void ql_buf_printf(ql_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        ql_buf_append(b, small, (size_t)n);
        return;
    }
    ql_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ql_buf_reset(ql_buf_t *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void ql_buf_free(ql_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *ql_buf_steal(ql_buf_t *b)
{
    char *p = b->data ? b->data : ql_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* ---- errors ------------------------------------------------------------ */

int ql_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        char msg[4096];   /* aside: err may be an argument */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(err, errlen, "%s", msg);
    }
    return -1;
}

/* ---- time -------------------------------------------------------------- */

int64_t ql_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ql_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

void ql_rfc3339_format(int64_t us, char out[QL_RFC3339_LEN])
{
    int64_t secs = floor_div(us, 1000000);
    int64_t frac = us - secs * 1000000;
    int64_t days = floor_div(secs, 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* Hand-rolled: this runs once per event on the collector's hot path. */
    unsigned year = (unsigned)((y % 10000 + 10000) % 10000);
    unsigned fields[] = {year / 100, year % 100, m, d, (unsigned)(sod / 3600),
                         (unsigned)(sod / 60 % 60), (unsigned)(sod % 60)};
    static const char seps[] = "  --T::";  /* separator before field i (none inside the year) */
    char *o = out;
    for (int i = 0; i < 7; i++) {
        if (i >= 2) *o++ = seps[i];
        *o++ = (char)('0' + fields[i] / 10);
        *o++ = (char)('0' + fields[i] % 10);
    }
    *o++ = '.';
    unsigned f = (unsigned)frac;
    for (int i = 5; i >= 0; i--, f /= 10) o[i] = (char)('0' + f % 10);
    o[6] = 'Z';
    o[7] = '\0';
}

void ql_date_format(int64_t us, char out[11])
{
    char full[QL_RFC3339_LEN];
    ql_rfc3339_format(us, full);
    memcpy(out, full, 10);
    out[10] = '\0';
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int ql_rfc3339_parse(const char *s, size_t len, int64_t *us)
{
    int Y, M, D, h, mi, sec;
    if (len < 20) return -1;
    if (digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 || sec > 60) return -1;
    if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0)) return -1;
    size_t i = 19;
    int64_t frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t nd = 0;
        while (i < len && isdigit((unsigned char)s[i])) {
            if (nd < 6) frac = frac * 10 + (s[i] - '0');
            nd++, i++;
        }
        if (nd == 0 || nd > 9) return -1;
        for (; nd < 6; nd++) frac *= 10;
    }
    int64_t offset_s = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 <= len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 || om > 59) return -1;
        offset_s = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return -1;
    }
    if (i != len) return -1;
    if (sec == 60) sec = 59; /* leap second: clamp, as most engines do */
    int64_t days = days_from_civil(Y, (unsigned)M, (unsigned)D);
    int64_t t = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *us = t * 1000000 + frac;
    return 0;
}

/* ---- ids --------------------------------------------------------------- */

static pthread_mutex_t uuid_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t uuid_last_ms = -1;
static uint16_t uuid_seq;  /* 12-bit counter in rand_a, monotonic within a ms */

void ql_uuidv7(int64_t now_us, char out[QL_UUID_LEN])
{
    /* Random bits come from a per-thread pool refilled 4 KiB at a time: one
     * getrandom(2) per 256 ids instead of one per id (the syscall was half of
     * the collector's cost of building an event). questlog never forks, so
     * no two processes share a pool. */
    static __thread uint8_t pool[4096];
    static __thread size_t pool_used = sizeof pool;
    uint8_t b[16];
    if (pool_used + sizeof b > sizeof pool) {
        size_t got = 0;
        while (got < sizeof pool) {  /* reads over 256 bytes may come back short */
            ssize_t r = getrandom(pool + got, sizeof pool - got, 0);
            if (r <= 0) break;
            got += (size_t)r;
        }
        for (; got < sizeof pool; got++) pool[got] = (uint8_t)rand();  /* never on Linux >= 3.17 */
        pool_used = 0;
    }
    memcpy(b, pool + pool_used, sizeof b);
    pool_used += sizeof b;
    int64_t ms = now_us / 1000;
    pthread_mutex_lock(&uuid_lock);
    if (ms <= uuid_last_ms) {
        ms = uuid_last_ms;
        if (++uuid_seq > 0x0fff) { /* counter exhausted: borrow the next ms */
            ms = ++uuid_last_ms;
            uuid_seq = b[6] & 0x03;
        }
    } else {
        uuid_last_ms = ms;
        uuid_seq = ((uint16_t)(b[6] & 0x03) << 8) | b[7]; /* random start, room to count */
    }
    uint16_t seq = uuid_seq;
    pthread_mutex_unlock(&uuid_lock);
    for (int i = 5; i >= 0; i--, ms >>= 8) b[i] = (uint8_t)(ms & 0xff);
    b[6] = (uint8_t)(0x70 | ((seq >> 8) & 0x0f));
    b[7] = (uint8_t)(seq & 0xff);
    b[8] = (uint8_t)(0x80 | (b[8] & 0x3f));
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

/* ---- files ------------------------------------------------------------- */

int ql_mkdir_p(const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) return ql_err(err, errlen, "bad directory path '%s'", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return ql_err(err, errlen, "cannot create directory '%s': %s", tmp, strerror(errno));
            tmp[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return ql_err(err, errlen, "'%s' is not a directory", path);
    return 0;
}

int ql_fsync_dir(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ql_err(err, errlen, "cannot open directory '%s': %s", dir, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0) return ql_err(err, errlen, "fsync of directory '%s' failed: %s", dir, strerror(e));
    return 0;
}

/* write(2) (at < 0) or pwrite(2) at offset `at` until all of buf is out. */
static int write_fully(int fd, const void *buf, size_t len, int64_t at)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = at < 0 ? write(fd, p, len) : pwrite(fd, p, len, (off_t)at);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += n;
        if (at >= 0) at += n;
        len -= (size_t)n;
    }
    return 0;
}

int ql_write_all(int fd, const void *buf, size_t len)
{
    return write_fully(fd, buf, len, -1);
}

int ql_pwrite_all(int fd, const void *buf, size_t len, uint64_t at)
{
    if (at > INT64_MAX) {
        errno = EINVAL;
        return -1;
    }
    return write_fully(fd, buf, len, (int64_t)at);
}

int ql_write_file_atomic(const char *path, const void *buf, size_t len, char *err, size_t errlen)
{
    char tmp[4096], dir[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return ql_err(err, errlen, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ql_err(err, errlen, "cannot create '%s': %s", tmp, strerror(errno));
    if (ql_write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return ql_err(err, errlen, "cannot write '%s': %s", tmp, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ql_err(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path, strerror(e));
    }
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else strcpy(dir, ".");
    return ql_fsync_dir(dir, err, errlen);
}

void ql_format_bytes(double v, char *out, size_t n)
{
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB"};
    int i = 0;
    while (v >= 1000 && i < 4) {
        v /= 1000;
        i++;
    }
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", v, unit[i]);
}

int ql_read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ql_err(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    ql_buf_t b = QL_BUF_INIT;
    for (;;) {
        ql_buf_reserve(&b, 65536);
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            ql_buf_free(&b);
            return ql_err(err, errlen, "cannot read '%s': %s", path, strerror(e));
        }
        if (n == 0) break;
        b.len += (size_t)n;
    }
    close(fd);
    ql_buf_reserve(&b, 0);
    b.data[b.len] = '\0';
    if (len) *len = b.len;
    *out = ql_buf_steal(&b);
    return 0;
}

/* ---- text -------------------------------------------------------------- */

int ql_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) return -1;
    uint64_t mul = 1;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    default: return -1;
    }
    if (*end == 'i' || *end == 'I') end++;
    if (*end == 'b' || *end == 'B') end++;
    if (*end) return -1;
    if (v > UINT64_MAX / mul) return -1;
    *out = v * mul;
    return 0;
}

int ql_parse_duration_ms(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0) return -1;
    double mul = 1000;
    if (!strcmp(end, "ms")) mul = 1;
    else if (!strcmp(end, "s") || !*end) mul = 1000;
    else if (!strcmp(end, "m")) mul = 60e3;
    else if (!strcmp(end, "h")) mul = 3600e3;
    else if (!strcmp(end, "d")) mul = 86400e3;
    else return -1;
    *out = (int64_t)(v * mul);
    return 0;
}
