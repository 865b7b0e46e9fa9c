/*
 * test_log.c — unit tests for the embedded log (log_segment.c) and CRC32C:
 * framing, group commit with done callbacks, reading back, recovery.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"
#include "log_segment.h"
#include "tap.h"
#include "util.h"

static char root[256];

static void mkroot(void)
{
    snprintf(root, sizeof root, "/tmp/ql-test-log.XXXXXX");
    if (!mkdtemp(root)) abort();
}

static void rm_rf(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) diag("rm -rf failed");
}

typedef struct waitctx {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int             pending, ok, failed;
    int64_t         last_first;
    int             in_order;
    char            errmsg[512];
} waitctx_t;

static void wc_init(waitctx_t *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->last_first = -1;
    w->in_order = 1;
}

static void done_cb(void *arg, int status, int64_t first, const char *errmsg)
{
    waitctx_t *w = arg;
    pthread_mutex_lock(&w->mu);
    if (status == 0) {
        w->ok++;
        if (first <= w->last_first) w->in_order = 0;
        w->last_first = first;
    } else {
        w->failed++;
        snprintf(w->errmsg, sizeof w->errmsg, "%s", errmsg ? errmsg : "(null)");
    }
    w->pending--;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void wc_wait(waitctx_t *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->pending > 0) pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static int append1(ql_log_t *log, waitctx_t *w, const char *value)
{
    ql_log_msg_t m = {NULL, 0, value, strlen(value)};
    pthread_mutex_lock(&w->mu);
    w->pending++;
    pthread_mutex_unlock(&w->mu);
    int rc = ql_log_append(log, &m, 1, done_cb, w);
    if (rc != 0) {
        pthread_mutex_lock(&w->mu);
        w->pending--;
        pthread_mutex_unlock(&w->mu);
    }
    return rc;
}

static void test_crc(void)
{
    is_int(ql_crc32c(0, "123456789", 9), 0xE3069283u, "crc32c check value");
    is_int(ql_crc32c_sw(0, "123456789", 9), 0xE3069283u, "crc32c table check value");
    unsigned char buf[1000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 7 + 3);
    int same = 1;
    for (size_t n = 0; n < sizeof buf; n += 37)
        if (ql_crc32c(0, buf, n) != ql_crc32c_sw(0, buf, n)) same = 0;
    ok(same, "hardware and table crc32c agree");
    ok(ql_crc32c(ql_crc32c(0, buf, 100), buf + 100, 900) == ql_crc32c(0, buf, 1000), "crc32c continues");
}

static void test_frame(void)
{
    unsigned char f[128];
    size_t n = ql_log_frame_size(3, 5);
    is_int(n, 36, "frame size = 28 + key + value");
    ql_log_frame_encode(f, 42, 1234567, "key", 3, "value", 5);
    ql_log_record_t r;
    size_t rl;
    const char *why = NULL;
    is_int(ql_log_record_decode(f, n, 42, &r, &rl, &why), 1, "decode a frame");
    ok(rl == n && r.offset == 42 && r.timestamp_us == 1234567 && r.key_len == 3 &&
           !memcmp(r.key, "key", 3) && r.value_len == 5 && !memcmp(r.value, "value", 5),
       "decoded fields");
    is_int(ql_log_record_decode(f, n - 1, 42, &r, &rl, &why), 0, "a prefix is incomplete");
    is_int(rl, n, "incomplete reports the full size");
    is_int(ql_log_record_decode(f, 5, 42, &r, &rl, &why), 0, "5 bytes are incomplete");
    is_int(ql_log_record_decode(f, n, 43, &r, &rl, &why), -1, "wrong offset is invalid");
    f[30] ^= 1;
    is_int(ql_log_record_decode(f, n, 42, &r, &rl, &why), -1, "bit flip fails the CRC");
    is_str(why, "CRC mismatch", "reason");
    f[30] ^= 1;
    f[0] = 3;
    is_int(ql_log_record_decode(f, n, 42, &r, &rl, &why), -1, "short length is invalid");
}

/* Reads everything from the start; returns count, checks dense offsets and
 * that values are "v<offset>". */
static int read_all(const char *dir, int64_t from, int *bad)
{
    char err[512];
    ql_consumer_t *c;
    *bad = 0;
    if (ql_consumer_open_embedded(&c, dir, NULL, NULL, err, sizeof err) != 0) {
        diag("open consumer: %s", err);
        *bad = 1;
        return -1;
    }
    (void)from;
    int total = 0;
    ql_log_record_t recs[64];
    for (;;) {
        int n = ql_consumer_poll(c, recs, 64, 0, err, sizeof err);
        if (n < 0) {
            diag("poll: %s", err);
            *bad = 1;
            break;
        }
        if (n == 0) break;
        for (int i = 0; i < n; i++) {
            char want[32];
            snprintf(want, sizeof want, "v%d", total);
            if (recs[i].offset != total || recs[i].value_len != strlen(want) ||
                memcmp(recs[i].value, want, recs[i].value_len))
                *bad = 1;
            total++;
        }
    }
    ql_consumer_close(c);
    return total;
}

static void test_basic(void)
{
    char dir[512], err[512];
    snprintf(dir, sizeof dir, "%s/basic", root);
    ql_log_t *log;
    ql_log_options_t opt = {.quiet = 1};
    is_int(ql_log_open_embedded(&log, dir, &opt, err, sizeof err), 0, "open a new log");
    waitctx_t w;
    wc_init(&w);
    int refused = 0;
    for (int i = 0; i < 100; i++) {
        char v[32];
        snprintf(v, sizeof v, "v%d", i);
        if (append1(log, &w, v) != 0) refused++;
    }
    wc_wait(&w);
    is_int(refused, 0, "100 appends queued");
    is_int(w.ok, 100, "100 done(0)");
    ok(w.in_order, "done called in append order with rising offsets");
    ql_log_stats_t st;
    ql_log_stats(log, &st);
    is_int(st.appends, 100, "stats appends");
    is_int(st.end_offset, 100, "stats end_offset");
    is_int(st.queued, 0, "nothing queued");
    ok(st.commits >= 1 && st.commits <= 100, "commits %" PRIu64, st.commits);
    ql_log_close(log);
    int bad;
    is_int(read_all(dir, 0, &bad), 100, "read back 100 records");
    ok(!bad, "values and offsets as written");
}


/* ---- helpers for the tests below ---------------------------------------- */

static int append_many(ql_log_t *log, waitctx_t *w, int from, int n)
{
    int refused = 0;
    for (int i = from; i < from + n; i++) {
        char v[64];
        snprintf(v, sizeof v, "v%d", i);
        if (append1(log, w, v) != 0) refused++;
    }
    return refused;
}

static ql_log_t *open_log(const char *dir, uint64_t seg_bytes, int quiet)
{
    char err[512];
    ql_log_t *log;
    ql_log_options_t opt = {.segment_bytes = seg_bytes, .quiet = quiet};
    if (ql_log_open_embedded(&log, dir, &opt, err, sizeof err) != 0) {
        diag("open %s: %s", dir, err);
        return NULL;
    }
    return log;
}

/* A new log ROOT/name (dir and first segment path into dir/seg) holding
 * records v0..v<n-1>, still open. */
static ql_log_t *fresh_log(const char *name, char dir[512], char seg[600], waitctx_t *w, int n)
{
    snprintf(dir, 512, "%s/%s", root, name);
    snprintf(seg, 600, "%s/00000000000000000000.log", dir);
    ql_log_t *log = open_log(dir, 0, 1);
    wc_init(w);
    append_many(log, w, 0, n);
    wc_wait(w);
    return log;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static int count_segments(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strlen(e->d_name) == 24 && strstr(e->d_name, ".log")) n++;
    if (d) closedir(d);
    return n;
}

/* Counts the segments in dir larger than `limit` bytes, and those that are
 * exactly `limit` bytes and end in a zero byte (preallocated). */
static void segment_shapes(const char *dir, int64_t limit, int *big, int *prealloc)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    *big = *prealloc = 0;
    while (d && (e = readdir(d))) {
        if (strlen(e->d_name) != 24 || !strstr(e->d_name, ".log")) continue;
        char path[800];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int64_t size = file_size(path);
        if (size > limit) (*big)++;
        if (size == limit) {
            int fd = open(path, O_RDONLY);
            unsigned char c = 1;
            if (pread(fd, &c, 1, size - 1) == 1 && c == 0) (*prealloc)++;
            close(fd);
        }
    }
    if (d) closedir(d);
}

/* Runs ql_log_open_embedded with stderr captured into out. */
static ql_log_t *open_capture(const char *dir, char *out, size_t outlen)
{
    char path[600];
    snprintf(path, sizeof path, "%s/stderr.txt", root);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
    ql_log_t *log = open_log(dir, 0, 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *txt = NULL, err[64];
    size_t len = 0;
    out[0] = '\0';
    if (ql_read_file(path, &txt, &len, err, sizeof err) == 0) {
        snprintf(out, outlen, "%s", txt);
        free(txt);
    }
    return log;
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    unsigned char c;
    if (pread(fd, &c, 1, at) != 1) diag("pread failed");
    c ^= 0x10;
    if (pwrite(fd, &c, 1, at) != 1) diag("pwrite failed");
    close(fd);
}

/* ---- recovery ----------------------------------------------------------- */

static void test_recovery_truncated(void)
{
    char dir[512], seg[600], msg[2048];
    waitctx_t w;
    ql_log_t *log = fresh_log("torn", dir, seg, &w, 10);
    ql_log_close(log);
    int64_t size = file_size(seg);
    int64_t rec = (int64_t)ql_log_frame_size(0, 2);   /* "v9" */
    if (truncate(seg, size - 7) != 0) diag("truncate failed");
    log = open_capture(dir, msg, sizeof msg);
    ok(log != NULL, "reopen after a truncated tail");
    char want[700];
    snprintf(want, sizeof want, "questlog: log: truncated %" PRId64 " bytes of torn tail in %s at offset 9", rec - 7, seg);
    ok(strstr(msg, want) != NULL, "recovery says how many bytes it cut");
    if (!strstr(msg, want)) diag("stderr: %s", msg);
    ok(strstr(msg, "WARNING") && strstr(msg, "said offsets below 10 were durable, but the log ends at 9"),
       "and warns that an acknowledged record was lost");
    is_int(file_size(seg), size - rec, "the torn record is gone");
    ql_log_stats_t st;
    ql_log_stats(log, &st);
    is_int(st.end_offset, 9, "end offset after recovery");
    append_many(log, &w, 9, 3);
    wc_wait(&w);
    ql_log_close(log);
    int bad;
    is_int(read_all(dir, 0, &bad), 12, "appends continue at offset 9");
    ok(!bad, "offsets dense across the recovery");
}

static void test_recovery_bitflip(void)
{
    char dir[512], seg[600], msg[2048];
    waitctx_t w;
    ql_log_t *log = fresh_log("flip", dir, seg, &w, 10);
    ql_log_close(log);
    int64_t size = file_size(seg);
    int64_t rec = (int64_t)ql_log_frame_size(0, 2);
    flip_byte(seg, size - 1);          /* last byte of the last record's value */
    log = open_capture(dir, msg, sizeof msg);
    ok(log != NULL && strstr(msg, "truncated") && strstr(msg, "at offset 9"),
       "a bit-flipped tail is found by CRC and cut");
    is_int(file_size(seg), size - rec, "cut exactly one record");
    ql_log_close(log);

    /* the same corruption with the log open: the reader refuses, naming it */
    flip_byte(seg, size - rec - 1);    /* now record 8, below durable_end */
    char err[512];
    ql_consumer_t *c;
    ql_log_record_t recs[64];
    ql_consumer_open_embedded(&c, dir, NULL, NULL, err, sizeof err);
    int n = ql_consumer_poll(c, recs, 64, 0, err, sizeof err);
    is_int(n, 8, "records before the corrupt one are returned");
    n = ql_consumer_poll(c, recs, 64, 0, err, sizeof err);
    ok(n < 0 && strstr(err, "CRC mismatch") && strstr(err, "00000000000000000000.log") && strstr(err, "at byte"),
       "a corrupt durable record is an error naming segment and position");
    diag("%s", err);
    ql_consumer_close(c);
}

static void test_rolling_and_sealed_corruption(void)
{
    char dir[512], seg[600];
    snprintf(dir, sizeof dir, "%s/roll", root);
    ql_log_t *log = open_log(dir, 1024, 1);
    waitctx_t w;
    wc_init(&w);
    for (int i = 0; i < 200; i++) { /* one at a time: each append its own batch */
        append_many(log, &w, i, 1);
        wc_wait(&w);
    }
    ql_log_close(log);
    int nseg = count_segments(dir);
    int per = 1024 / (int)ql_log_frame_size(0, 4);
    ok(nseg >= 200 / per && nseg <= 200 / per + 3, "rolled into %d segments of <= 1 KiB", nseg);
    snprintf(seg, sizeof seg, "%s/00000000000000000000.log", dir);
    int big = 0, prealloc = 0;
    segment_shapes(dir, 1024, &big, &prealloc);
    ok(!big, "no segment is larger than its 1 KiB limit");
    ok(prealloc > 0, "%d of them were preallocated (1 KiB, zeros after the records)", prealloc);
    int bad;
    is_int(read_all(dir, 0, &bad), 200, "read across segments");
    ok(!bad, "dense offsets across segments");

    /* reopen: recovery leaves sealed segments alone, offsets continue */
    log = open_log(dir, 1024, 1);
    append_many(log, &w, 200, 5);
    wc_wait(&w);
    ql_log_close(log);
    is_int(read_all(dir, 0, &bad), 205, "appends continue after reopen");

    /* corrupt the middle of a sealed segment */
    flip_byte(seg, 100);
    char err[512];
    ql_consumer_t *c;
    ql_log_record_t recs[300];
    ql_consumer_open_embedded(&c, dir, NULL, NULL, err, sizeof err);
    int total = 0, n;
    while ((n = ql_consumer_poll(c, recs, 300, 0, err, sizeof err)) > 0) total += n;
    ok(n < 0 && strstr(err, seg) != NULL, "sealed-segment corruption is reported, not skipped");
    diag("after %d records: %s", total, err);
    ql_consumer_close(c);
    log = open_log(dir, 1024, 1);
    ok(log != NULL, "the writer still opens (only the last segment is recovered)");
    ql_log_close(log);
}

/* ---- preallocated segments -------------------------------------------------- */

/* Path of the last segment in dir (by name) into out; returns the count. */
static int last_segment(const char *dir, char *out, size_t outlen)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char best[64] = "";
    int n = 0;
    while (d && (e = readdir(d)))
        if (strlen(e->d_name) == 24 && strstr(e->d_name, ".log")) {
            n++;
            if (strcmp(e->d_name, best) > 0) snprintf(best, sizeof best, "%s", e->d_name);
        }
    if (d) closedir(d);
    snprintf(out, outlen, "%s/%s", dir, best);
    return n;
}

/* Data end of a segment file: bytes of valid records, and the next offset. */
static size_t data_end(const char *path, int64_t base, int64_t *next)
{
    char *txt = NULL, err[64];
    size_t len = 0, valid = 0;
    const char *why;
    *next = base;
    if (ql_read_file(path, &txt, &len, err, sizeof err) == 0)
        ql_log_segment_scan((unsigned char *)txt, len, base, &valid, next, &why);
    free(txt);
    return valid;
}

/* A log in ROOT/name with 4 KiB segments, appended to one record at a time
 * until its active segment is a preallocated one holding a few records;
 * closed. Returns the number of records (v0..v<n-1>), the last segment's
 * path in seg and its base in *base. */
static int prealloc_log(const char *name, char dir[512], char seg[600], int64_t *base)
{
    snprintf(dir, 512, "%s/%s", root, name);
    ql_log_t *log = open_log(dir, 4096, 1);
    waitctx_t w;
    wc_init(&w);
    int n = 0, in_prealloc = 0;
    while (n < 20000 && in_prealloc < 5) {
        append_many(log, &w, n++, 1);
        wc_wait(&w);
        int nseg = last_segment(dir, seg, 600);
        in_prealloc = nseg >= 2 && file_size(seg) == 4096 ? in_prealloc + 1 : 0;
    }
    ql_log_close(log);
    *base = atoll(strrchr(seg, '/') + 1);
    return n;
}

static void test_prealloc_zeroed_tail(void)
{
    char dir[512], seg[600], msg[2048], path[700];
    int64_t base, next;
    int n = prealloc_log("prealloc", dir, seg, &base);
    ok(file_size(seg) == 4096, "the active segment was preallocated: 4 KiB (%d records in all)", n);
    snprintf(path, sizeof path, "%s/prealloc.tmp", dir);
    ok(access(path, F_OK) != 0, "close removes an unused prealloc.tmp");
    size_t end = data_end(seg, base, &next);
    is_int(next, n, "its records end at offset %d, zeros after byte %zu", n, end);
    int bad;
    is_int(read_all(dir, 0, &bad), n, "a reader stops at the zeros (no writer running)");
    ok(!bad, "and reads every record, in order");

    /* A torn batch: a damaged frame where record n would go, then a whole
     * stale frame for n+1 (as if its page reached the disk and the first one
     * did not), then zeros again. */
    unsigned char f[128];
    char v[32];
    snprintf(v, sizeof v, "v%d", n);
    size_t fl = ql_log_frame_size(0, strlen(v));
    ql_log_frame_encode(f, n, 1, NULL, 0, v, strlen(v));
    f[fl - 1] ^= 0x55;
    ql_log_frame_encode(f + fl, n + 1, 1, NULL, 0, "STALE", 5);
    size_t stale = fl + ql_log_frame_size(0, 5);
    int fd = open(seg, O_WRONLY);
    ok(pwrite(fd, f, stale, (off_t)end) == (ssize_t)stale, "planted a torn batch after the records");
    close(fd);
    ql_log_t *log = open_capture(dir, msg, sizeof msg);
    char want[900];
    snprintf(want, sizeof want, "questlog: log: zeroed %zu bytes of torn tail in %s at offset %d", stale, seg, n);
    ok(log && strstr(msg, want), "recovery zeroes the torn bytes and says so");
    if (!strstr(msg, want)) diag("stderr: %s", msg);
    is_int(file_size(seg), 4096, "the segment keeps its preallocated size");
    ql_log_stats_t st;
    ql_log_stats(log, &st);
    is_int(st.end_offset, n, "end offset after recovery");
    /* the next record has exactly the damaged frame's size: had the stale
     * frame stayed, it would now line up behind it as offset n+1 */
    waitctx_t w;
    wc_init(&w);
    append_many(log, &w, n, 1);
    wc_wait(&w);
    ql_log_close(log);
    log = open_capture(dir, msg, sizeof msg);
    ql_log_stats(log, &st);
    ql_log_close(log);
    ok(!strstr(msg, "torn"), "a clean reopen after that finds nothing to cut");
    is_int(st.end_offset, n + 1, "and ends after the new record: the stale frame is gone");
    is_int(read_all(dir, 0, &bad), n + 1, "reads back every record");
    ok(!bad, "none of them stale");
}

static void test_crash_during_prealloc(void)
{
    char dir[512], seg[600], msg[2048], path[700], next_seg[700];
    int64_t base, next;
    int n = prealloc_log("prepcrash", dir, seg, &base);
    data_end(seg, base, &next);

    /* killed while preparing: a partial prealloc.tmp */
    snprintf(path, sizeof path, "%s/prealloc.tmp", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ok(fd >= 0 && ftruncate(fd, 1000) == 0, "a partial prealloc.tmp left behind");
    close(fd);
    /* killed after a roll renamed a prepared file, before its first commit */
    snprintf(next_seg, sizeof next_seg, "%s/%020d.log", dir, n);
    fd = open(next_seg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ok(fd >= 0 && ftruncate(fd, 4096) == 0, "an all-zero next segment left behind");
    close(fd);
    ql_log_t *log = open_capture(dir, msg, sizeof msg);
    ok(log != NULL && access(path, F_OK) != 0, "recovery deletes prealloc.tmp");
    ok(access(next_seg, F_OK) != 0, "and the last segment without a record");
    ql_log_stats_t st;
    ql_log_stats(log, &st);
    is_int(st.end_offset, n, "the log ends where the records end");
    ql_log_close(log);

    /* killed during the first write into a new segment: only garbage there */
    fd = open(next_seg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    unsigned char f[64];
    ql_log_frame_encode(f, n, 1, NULL, 0, "torn", 4);
    f[10] ^= 1;
    ok(fd >= 0 && pwrite(fd, f, ql_log_frame_size(0, 4), 0) == (ssize_t)ql_log_frame_size(0, 4) &&
           ftruncate(fd, 4096) == 0, "a next segment holding only a torn frame");
    close(fd);
    log = open_capture(dir, msg, sizeof msg);
    ok(log != NULL && access(next_seg, F_OK) != 0, "is deleted too (nothing in it was acknowledged)");
    waitctx_t w;
    wc_init(&w);
    append_many(log, &w, n, 3);
    wc_wait(&w);
    is_int(w.ok, 3, "appends continue");
    ql_log_close(log);
    int bad;
    is_int(read_all(dir, 0, &bad), n + 3, "every record reads back");
    ok(!bad, "dense and in order");

    /* Damage, not a torn first write: the first record of the last segment
     * goes bad although head says it was durable. The segment is kept and
     * cut like a torn tail, with the warning about lost durable records. */
    flip_byte(seg, 12);
    log = open_capture(dir, msg, sizeof msg);
    ql_log_stats_t st2;
    ql_log_stats(log, &st2);
    ql_log_close(log);
    ok(access(seg, F_OK) == 0 && strstr(msg, "bytes of torn tail") && strstr(msg, "WARNING"),
       "a record-less last segment that head said was durable is kept, cut and warned about");
    if (!strstr(msg, "WARNING")) diag("stderr: %s", msg);
    is_int(st2.end_offset, base, "the log ends at that segment's base");
}

/* ---- durable-only reading ------------------------------------------------ */

static void test_reader_sees_only_durable(void)
{
    char dir[512], seg[600], err[512];
    waitctx_t w;
    ql_log_t *log = fresh_log("durable", dir, seg, &w, 3);
    /* A complete, valid frame past durable_end, as a write not yet fsynced. */
    unsigned char f[64];
    ql_log_frame_encode(f, 3, 1, NULL, 0, "v3", 2);
    int fd = open(seg, O_WRONLY | O_APPEND);
    ok(write(fd, f, ql_log_frame_size(0, 2)) == (ssize_t)ql_log_frame_size(0, 2), "planted an unacknowledged frame");
    close(fd);
    ql_consumer_t *c;
    ql_log_record_t recs[8];
    ql_consumer_open_embedded(&c, dir, NULL, NULL, err, sizeof err);
    int n = ql_consumer_poll(c, recs, 8, 20, err, sizeof err);
    is_int(n, 3, "reader returns the 3 durable records");
    n = ql_consumer_poll(c, recs, 8, 20, err, sizeof err);
    is_int(n, 0, "and not the frame beyond durable_end");
    ok(ql_consumer_at_end(c), "at_end");
    int64_t end;
    ql_consumer_end_offset(c, 0, &end);
    is_int(end, 3, "end_offset is the durable end");
    ql_consumer_close(c);
    ql_log_close(log);
}

/* ---- concurrency ---------------------------------------------------------- */

typedef struct appender {
    ql_log_t *log;
    int       id, n, inflight_max;
    int64_t   append_ns;   /* time spent inside ql_log_append */
    waitctx_t w;
} appender_t;

static void *appender_main(void *arg)
{
    appender_t *a = arg;
    for (int i = 0; i < a->n; i++) {
        char v[64];
        snprintf(v, sizeof v, "{\"t\":%d,\"i\":%d}", a->id, i);
        pthread_mutex_lock(&a->w.mu);
        while (a->w.pending >= a->inflight_max) pthread_cond_wait(&a->w.cv, &a->w.mu);
        a->w.pending++;
        pthread_mutex_unlock(&a->w.mu);
        ql_log_msg_t m = {NULL, 0, v, strlen(v)};
        int rc;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = ql_log_append(a->log, &m, 1, done_cb, &a->w);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        a->append_ns += (t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec);
        while (rc == QL_LOG_EFULL) {
            usleep(100);
            rc = ql_log_append(a->log, &m, 1, done_cb, &a->w);
        }
        if (rc != 0) {
            pthread_mutex_lock(&a->w.mu);
            a->w.pending--;
            a->w.failed++;
            pthread_mutex_unlock(&a->w.mu);
        }
    }
    wc_wait(&a->w);
    return NULL;
}

typedef struct reader {
    const char *dir;
    int         want, got, bad, dup_or_gap;
    char        err[512];
} reader_t;

static void *reader_main(void *arg)
{
    reader_t *r = arg;
    ql_consumer_t *c;
    if (ql_consumer_open_embedded(&c, r->dir, NULL, NULL, r->err, sizeof r->err) != 0) {
        r->bad = 1;
        return NULL;
    }
    int next_i[8] = {0};
    ql_log_record_t recs[128];
    int64_t deadline = ql_monotonic_us() + 60 * 1000000ll;
    while (r->got < r->want && ql_monotonic_us() < deadline) {
        int n = ql_consumer_poll(c, recs, 128, 50, r->err, sizeof r->err);
        if (n < 0) {
            r->bad = 1;
            break;
        }
        for (int k = 0; k < n; k++) {
            int t = -1, i = -1;
            if (sscanf(recs[k].value, "{\"t\":%d,\"i\":%d}", &t, &i) != 2 || t < 0 || t >= 8) r->bad = 1;
            else if (i != next_i[t]++) r->dup_or_gap = 1;
            if (recs[k].offset != r->got) r->dup_or_gap = 1;
            r->got++;
        }
    }
    ql_consumer_close(c);
    return NULL;
}

static void test_concurrent(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/conc", root);
    ql_log_t *log = open_log(dir, 64 << 10, 1);
    enum { T = 4, N = 3000 };
    appender_t a[T];
    pthread_t th[T], rt;
    reader_t r = {dir, T * N, 0, 0, 0, ""};
    pthread_create(&rt, NULL, reader_main, &r);
    int64_t t0 = ql_monotonic_us();
    for (int i = 0; i < T; i++) {
        a[i] = (appender_t){.log = log, .id = i, .n = N, .inflight_max = 16};
        wc_init(&a[i].w);
        pthread_create(&th[i], NULL, appender_main, &a[i]);
    }
    int ok_all = 1, order = 1;
    int64_t append_ns = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        append_ns += a[i].append_ns;
        if (a[i].w.ok != N) ok_all = 0;
        if (!a[i].w.in_order) order = 0;
    }
    int64_t dt = ql_monotonic_us() - t0;
    ql_log_stats_t st;
    ql_log_stats(log, &st);
    pthread_join(rt, NULL);
    ok(ok_all, "4 threads x %d appends all acknowledged", N);
    ok(order, "each thread's dones came in order with rising offsets");
    is_int(st.records, T * N, "stats records");
    is_int(r.got, T * N, "concurrent reader saw every record");
    ok(!r.bad && !r.dup_or_gap, "exactly once, in order, dense offsets");
    if (r.bad) diag("reader: %s", r.err);
    ok(count_segments(dir) > 1, "segments rolled while reading");
    diag("bench: 4 threads x 16 in flight, 1-event appends: %.0f durable appends/s, %" PRIu64
         " fsyncs (%.1f appends/fsync), mean commit %.0f us (noisy: shared machine)",
         T * N / (dt / 1e6), st.commits, (double)st.records / (double)(st.commits ? st.commits : 1),
         (double)st.commit_lat_sum_us / (double)(st.commits ? st.commits : 1));
    diag("bench: mean time inside ql_log_append: %.0f ns", (double)append_ns / (T * N));
    uint64_t sum = 0;
    for (int i = 0; i < QL_LOG_LAT_BUCKETS; i++) sum += st.commit_lat_count[i];
    is_int(sum, st.commits, "latency histogram counts every commit");
    ql_log_close(log);
}

/* ---- committing on the caller's thread ------------------------------------ */

typedef struct inline_ctx {
    pthread_t owner;
    int       on_owner, elsewhere, calls;
    int64_t   first;
} inline_ctx_t;

static void inline_done(void *arg, int status, int64_t first, const char *errmsg)
{
    (void)errmsg;
    inline_ctx_t *c = arg;
    if (pthread_equal(pthread_self(), c->owner)) c->on_owner++;
    else c->elsewhere++;
    c->first = status == 0 ? first : -1;
    __atomic_add_fetch(&c->calls, 1, __ATOMIC_RELEASE);
}

static void test_append_commit(void)
{
    char dir[512], seg[600], err[512];
    waitctx_t w;
    ql_log_t *log = fresh_log("inline", dir, seg, &w, 3);
    /* The writer thread may still be finishing the last commit (its done
     * calls come before it lets go): then the append is queued for it. Try
     * until the log is idle. */
    inline_ctx_t c;
    int tries = 0, rc = 0, next = 3;
    do {
        c = (inline_ctx_t){.owner = pthread_self()};
        char v[32];
        snprintf(v, sizeof v, "v%d", next++);
        ql_log_msg_t m = {NULL, 0, v, strlen(v)};
        rc |= ql_log_append_commit(log, &m, 1, inline_done, &c);
        while (__atomic_load_n(&c.calls, __ATOMIC_ACQUIRE) == 0) usleep(100);
    } while (!c.on_owner && ++tries < 1000);
    is_int(rc, 0, "append_commit accepted (%d tries until the writer was idle)", tries + 1);
    ok(c.calls == 1 && c.on_owner == 1, "on an idle log its done came on the calling thread, before it returned");
    is_int(c.first, next - 1, "with the record's offset");
    ql_consumer_t *cons;
    ql_log_record_t recs[64];
    ql_consumer_open_embedded(&cons, dir, NULL, NULL, err, sizeof err);
    is_int(ql_consumer_poll(cons, recs, 64, 0, err, sizeof err), next, "and the record is durable: a reader sees it at once");
    ql_consumer_close(cons);

    /* mixed with queued appends from other threads: every done once, offsets dense */
    enum { T = 3, N = 2000 };
    appender_t a[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        a[i] = (appender_t){.log = log, .id = i, .n = N, .inflight_max = 8};
        wc_init(&a[i].w);
        pthread_create(&th[i], NULL, appender_main, &a[i]);
    }
    inline_ctx_t c2 = {.owner = pthread_self()};
    int refused = 0;
    for (int i = 0; i < 500; i++) {
        ql_log_msg_t mm = {NULL, 0, "{\"t\":7}", 7};
        if (ql_log_append_commit(log, &mm, 1, inline_done, &c2) != 0) refused++;
    }
    int all = 1;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        if (a[i].w.ok != N || !a[i].w.in_order) all = 0;
    }
    ql_log_close(log); /* drains: every queued done has come */
    is_int(refused, 0, "500 append_commits beside 3 appending threads accepted");
    is_int(c2.calls, 500, "each got exactly one done (%d on the calling thread, %d from the writer)", c2.on_owner,
           c2.elsewhere);
    ok(all, "the other threads' appends all acknowledged, in order");
    ql_consumer_open_embedded(&cons, dir, NULL, NULL, err, sizeof err);
    int64_t total = 0, expect = 0;
    int n, dense = 1;
    while ((n = ql_consumer_poll(cons, recs, 8, 0, err, sizeof err)) > 0)
        for (int i = 0; i < n; i++, total++)
            if (recs[i].offset != expect++) dense = 0;
    ql_consumer_close(cons);
    is_int(total, next + T * N + 500, "every record in the log once");
    ok(dense, "offsets dense");
}

/* ---- checkpoints and retention -------------------------------------------- */

/* Polls until nothing more comes; records' values copied into vals. */
static int poll_all(ql_consumer_t *c, int64_t *first, int64_t *last, char *first_val, size_t fvlen)
{
    ql_log_record_t recs[64];
    char err[512];
    int total = 0, n;
    while ((n = ql_consumer_poll(c, recs, 64, 0, err, sizeof err)) > 0) {
        if (total == 0) {
            *first = recs[0].offset;
            snprintf(first_val, fvlen, "%.*s", (int)recs[0].value_len, recs[0].value);
        }
        *last = recs[n - 1].offset;
        total += n;
    }
    if (n < 0) diag("poll: %s", err);
    return n < 0 ? -1 : total;
}

static int64_t cp_start;
static int64_t cp_assigned(void *arg, int32_t p)
{
    (void)arg;
    (void)p;
    return cp_start;
}

static void test_checkpoints_retention(void)
{
    char dir[512], err[512], path[700];
    snprintf(dir, sizeof dir, "%s/ret", root);
    ql_log_options_t opt = {.segment_bytes = 512, .retention_ms = -1, .quiet = 1};
    ql_log_t *log;
    ql_log_open_embedded(&log, dir, &opt, err, sizeof err);
    waitctx_t w;
    wc_init(&w);
    for (int i = 0; i < 60; i++) {
        append_many(log, &w, i, 1);
        wc_wait(&w);
    }
    ql_log_close(log);
    int nseg = count_segments(dir);
    ok(nseg >= 4, "%d segments", nseg);

    ql_consumer_t *c;
    ql_consumer_callbacks_t cb = {cp_assigned, NULL, NULL};
    cp_start = 25;
    is_int(ql_consumer_open_embedded(&c, dir, "loader", &cb, err, sizeof err), 0, "open named consumer");
    ql_log_record_t recs[100];
    int64_t f0 = -1, l0 = -1;
    char v0[64] = "";
    int n = poll_all(c, &f0, &l0, v0, sizeof v0);
    ok(n == 35 && f0 == 25 && l0 == 59 && !strcmp(v0, "v25"), "starts at the assigned offset 25, reads to 59");
    is_int(ql_consumer_commit(c, 0, 30, err, sizeof err), 0, "commit 30");
    snprintf(path, sizeof path, "%s/checkpoints/loader", dir);
    char *txt = NULL;
    ql_read_file(path, &txt, NULL, err, sizeof err);
    is_str(txt, "30\n", "checkpoint file holds the next offset");
    free(txt);
    ql_consumer_close(c);
    ok(ql_consumer_open_embedded(&c, dir, "../x", &cb, err, sizeof err) != 0, "a bad checkpoint name is refused");

    /* Retention at open: sealed segments wholly below 30 and older than 1 ms go. */
    usleep(5000);
    opt.retention_ms = 1;
    ql_log_open_embedded(&log, dir, &opt, err, sizeof err);
    ql_log_close(log);
    DIR *d = opendir(dir);
    struct dirent *e;
    long long first = -1;
    while ((e = readdir(d)))
        if (strlen(e->d_name) == 24) {
            long long b = atoll(e->d_name);
            if (first < 0 || b < first) first = b;
        }
    closedir(d);
    ok(first > 0 && first <= 30, "retention deleted the consumed prefix (first segment now %lld)", first);
    ok(count_segments(dir) < nseg, "fewer segments (%d < %d)", count_segments(dir), nseg);

    cp_start = QL_OFFSET_BEGINNING;
    ql_consumer_open_embedded(&c, dir, NULL, &cb, err, sizeof err);
    n = poll_all(c, &f0, &l0, v0, sizeof v0);
    ok(n > 0 && f0 == first && n == 60 - first, "beginning is the oldest kept record");
    ql_consumer_close(c);

    cp_start = 5; /* below the oldest: starts at the oldest */
    ql_consumer_open_embedded(&c, dir, NULL, &cb, err, sizeof err);
    n = poll_all(c, &f0, &l0, v0, sizeof v0);
    ok(n > 0 && f0 == first, "an offset before the oldest starts at the oldest");
    ql_consumer_close(c);

    cp_start = QL_OFFSET_END;
    ql_consumer_open_embedded(&c, dir, NULL, &cb, err, sizeof err);
    n = ql_consumer_poll(c, recs, 100, 0, err, sizeof err);
    ok(n == 0 && ql_consumer_at_end(c), "from the end: nothing yet, at end");
    ql_log_open_embedded(&log, dir, &opt, err, sizeof err);
    append_many(log, &w, 60, 1);
    wc_wait(&w);
    n = ql_consumer_poll(c, recs, 100, 2000, err, sizeof err);
    ok(n == 1 && recs[0].offset == 60, "from the end: sees the next append");
    ql_consumer_close(c);
    ql_log_close(log);
}

/* ---- queue full ------------------------------------------------------------ */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open, gate_entered;

static void blocking_done(void *arg, int status, int64_t first, const char *errmsg)
{
    pthread_mutex_lock(&gate_mu);
    gate_entered = 1;
    pthread_cond_broadcast(&gate_cv);
    while (!gate_open) pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    done_cb(arg, status, first, errmsg);
}

static void test_efull(void)
{
    char dir[512], err[512];
    snprintf(dir, sizeof dir, "%s/efull", root);
    ql_log_options_t opt = {.max_pending_bytes = 1000, .quiet = 1};
    ql_log_t *log;
    ql_log_open_embedded(&log, dir, &opt, err, sizeof err);
    waitctx_t w;
    wc_init(&w);
    ql_log_msg_t m = {NULL, 0, "v0", 2};
    w.pending = 1;
    ql_log_append(log, &m, 1, blocking_done, &w);
    pthread_mutex_lock(&gate_mu);
    while (!gate_entered) pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    /* the writer is stuck in a done callback: appends pile up */
    int accepted = 0, rc = 0;
    for (int i = 1; i < 1000 && rc == 0; i++) {
        char v[32];
        snprintf(v, sizeof v, "v%d", i);
        rc = append1(log, &w, v);
        if (rc == 0) accepted++;
    }
    is_int(rc, QL_LOG_EFULL, "append says EFULL when the queue is over its limit");
    int expect = 0;
    for (size_t bytes = 0, i = 1;; i++) {
        size_t f = ql_log_frame_size(0, i < 10 ? 2 : i < 100 ? 3 : 4);
        if (bytes + f > 1000) break;
        bytes += f;
        expect++;
    }
    is_int(accepted, expect, "accepted up to the byte limit");
    ql_log_msg_t big[1] = {{NULL, 0, err, 2000}};
    is_int(ql_log_append(log, big, 1, done_cb, &w), QL_LOG_EINVAL, "an append bigger than the queue is EINVAL");
    pthread_mutex_lock(&gate_mu);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    wc_wait(&w);
    is_int(w.ok, accepted + 1, "the queued ones all commit");
    is_int(append1(log, &w, "later"), 0, "accepting again once drained");
    wc_wait(&w);
    ql_log_close(log);
    ql_log_t *log2;
    ok(ql_log_open_embedded(&log, dir, &opt, err, sizeof err) == 0 &&
           ql_log_open_embedded(&log2, dir, &opt, err, sizeof err) != 0 && strstr(err, "in use"),
       "a second writer on the same log is refused");
    ql_log_close(log);
}

/* ---- disk full --------------------------------------------------------------- */

/* Appends `n` single records from `from` and waits; returns how many failed. */
static int append_wait(ql_log_t *log, waitctx_t *w, int from, int n)
{
    int before = w->failed;
    append_many(log, w, from, n);
    wc_wait(w);
    return w->failed - before;
}

static void test_disk_full_rlimit(void)
{
    char dir[512], seg[600];
    waitctx_t w;
    ql_log_t *log = fresh_log("fsize", dir, seg, &w, 10);
    int64_t good = file_size(seg);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)(good + 3 * (int64_t)ql_log_frame_size(0, 3) + 10);
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    /* one append of 10 messages crosses the limit: all or nothing */
    ql_log_msg_t m[10];
    char vals[10][8];
    for (int i = 0; i < 10; i++) {
        snprintf(vals[i], sizeof vals[i], "v%d", 10 + i);
        m[i] = (ql_log_msg_t){NULL, 0, vals[i], strlen(vals[i])};
    }
    w.pending++;
    ql_log_append(log, m, 10, done_cb, &w);
    wc_wait(&w);
    is_int(w.failed, 1, "an append crossing the file-size limit fails");
    ok(strncmp(w.errmsg, "disk full: ", 11) == 0, "with a 'disk full' message");
    diag("%s", w.errmsg);
    is_int(file_size(seg), good, "the segment is truncated back to its durable size");
    is_int(append_wait(log, &w, 10, 3), 0, "small appends that fit still work");
    is_int(append_wait(log, &w, 13, 1), 1, "at the limit they fail");
    setrlimit(RLIMIT_FSIZE, &old);
    is_int(append_wait(log, &w, 13, 20), 0, "space is back: appends succeed again");
    ql_log_stats_t st;
    ql_log_stats(log, &st);
    is_int(st.failures, 2, "stats count the failed appends");
    ql_log_close(log);
    int bad;
    is_int(read_all(dir, 0, &bad), 33, "the log holds exactly the acknowledged records");
    ok(!bad, "in order, dense, none of the failed ones");
    signal(SIGXFSZ, SIG_DFL);
}

static void test_disk_full_tmpfs(void)
{
    char mnt[512], dir[600], filler[600];
    snprintf(mnt, sizeof mnt, "%s/tmpfs", root);
    mkdir(mnt, 0755);
    if (geteuid() != 0 || mount("questlog-test", mnt, "tmpfs", 0, "size=256k") != 0) {
        ok(1, "# SKIP tmpfs disk-full test needs root and mount(2) (%s)", strerror(errno));
        return;
    }
    snprintf(dir, sizeof dir, "%s/log", mnt);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    ql_log_t *log = open_log(dir, 1024, 1); /* small segments: rolls while full, too */
    waitctx_t w;
    wc_init(&w);
    append_wait(log, &w, 0, 5);
    /* fill the file system */
    int fd = open(filler, O_WRONLY | O_CREAT, 0644);
    char block[4096];
    memset(block, 'x', sizeof block);
    while (write(fd, block, sizeof block) > 0) {}
    close(fd);
    int failed = 0, i = 5;
    for (int k = 0; k < 5000 && !failed; k++) failed = append_wait(log, &w, i, 1) ? 1 : (i++, 0);
    ok(failed, "appends fail on a full tmpfs (after %d more)", i - 5);
    ok(strstr(w.errmsg, "disk full") && strstr(w.errmsg, "No space"), "ENOSPC reported as disk full");
    is_int(append_wait(log, &w, i, 20), 20, "while full, every append fails (writes and rolls)");
    unlink(filler);
    is_int(append_wait(log, &w, i, 10), 0, "after freeing space the log works again");
    ql_log_close(log);
    int bad;
    is_int(read_all(dir, 0, &bad), i + 10, "every acknowledged record, nothing else");
    ok(!bad, "dense and in order");
    if (umount(mnt) != 0) diag("umount: %s", strerror(errno));
}

/* ---- kill -9 -------------------------------------------------------------- */

static int crash_pipe;

static void crash_done(void *arg, int status, int64_t first, const char *errmsg)
{
    (void)errmsg;
    waitctx_t *w = arg;
    if (status == 0) {
        if (write(crash_pipe, &first, sizeof first) != (ssize_t)sizeof first) _exit(3);
    }
    pthread_mutex_lock(&w->mu);
    w->pending--;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* A child appends "c<i>" (one writer, so offset i holds c<i>) with 8 in
 * flight and reports every acknowledged offset through a pipe; the parent
 * kills it with SIGKILL mid-stream, recovers the log and checks that every
 * acknowledged record is there, with its value, exactly once. */
static void test_kill9(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/kill9", root);
    int fds[2];
    if (pipe(fds) != 0) abort();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        crash_pipe = fds[1];
        ql_log_t *log = open_log(dir, 4096, 1);
        if (!log) _exit(2);
        waitctx_t w;
        wc_init(&w);
        for (int64_t i = 0;; i++) {
            char v[32];
            snprintf(v, sizeof v, "c%lld", (long long)i);
            pthread_mutex_lock(&w.mu);
            while (w.pending >= 8) pthread_cond_wait(&w.cv, &w.mu);
            w.pending++;
            pthread_mutex_unlock(&w.mu);
            ql_log_msg_t m = {NULL, 0, v, strlen(v)};
            if (ql_log_append(log, &m, 1, crash_done, &w) != 0) _exit(4);
        }
    }
    close(fds[1]);
    int64_t acked = 0, max_acked = -1;
    int64_t a;
    int64_t deadline = ql_monotonic_us() + 400000;
    while (ql_monotonic_us() < deadline && read(fds[0], &a, sizeof a) == (ssize_t)sizeof a) {
        acked++;
        if (a > max_acked) max_acked = a;
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    while (read(fds[0], &a, sizeof a) == (ssize_t)sizeof a) { /* acks sent before the kill */
        acked++;
        if (a > max_acked) max_acked = a;
    }
    close(fds[0]);
    ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "writer killed with SIGKILL after %lld acks", (long long)acked);
    ok(acked > 0 && max_acked + 1 == acked, "acks covered offsets 0..%lld", (long long)max_acked);
    ql_log_t *log = open_log(dir, 4096, 1);
    ok(log != NULL, "the log reopens after the kill");
    ql_log_stats_t s;
    ql_log_stats(log, &s);
    ql_log_close(log);
    ok(s.end_offset > max_acked, "recovered end %lld covers every acknowledged offset", (long long)s.end_offset);
    char err[512];
    ql_consumer_t *c;
    ql_consumer_open_embedded(&c, dir, NULL, NULL, err, sizeof err);
    ql_log_record_t recs[256];
    int64_t n_read = 0;
    int bad = 0, n;
    while ((n = ql_consumer_poll(c, recs, 256, 0, err, sizeof err)) > 0)
        for (int i = 0; i < n; i++, n_read++) {
            char want[32];
            snprintf(want, sizeof want, "c%lld", (long long)n_read);
            if (recs[i].offset != n_read || recs[i].value_len != strlen(want) ||
                memcmp(recs[i].value, want, recs[i].value_len))
                bad = 1;
        }
    ql_consumer_close(c);
    ok(n == 0 && !bad && n_read == s.end_offset, "all %lld records read back, each acknowledged one with its value",
       (long long)n_read);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    mkroot();
    test_crc();
    test_frame();
    test_basic();
    test_recovery_truncated();
    test_recovery_bitflip();
    test_rolling_and_sealed_corruption();
    test_prealloc_zeroed_tail();
    test_crash_during_prealloc();
    test_reader_sees_only_durable();
    test_concurrent();
    test_append_commit();
    test_checkpoints_retention();
    test_efull();
    test_disk_full_rlimit();
    test_disk_full_tmpfs();
    test_kill9();
    rm_rf(root);
    return tap_done();
}
