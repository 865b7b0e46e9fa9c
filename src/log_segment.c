/*
 * log_segment.c — the embedded durable log: append-only segment files under
 * DIR, group-committed by one writer thread, read by any number of consumers
 * in this or other processes. Implements ql_log_open_embedded and
 * ql_consumer_open_embedded (log.h); the record frame is in log_segment.h.
 *
 * Files under DIR:
 *   NNNNNNNNNNNNNNNNNNNN.log  segments, named by the offset of their first
 *                             record (20 digits); records are dense offsets
 *   prealloc.tmp              the next segment being prepared: zeros, not yet
 *                             a segment (no reader looks at it)
 *   head                      4 KiB, mmap'ed shared: magic + `durable_end`,
 *                             the offset up to which records are durable.
 *                             The writer holds flock(LOCK_EX) on it: one
 *                             writer per log, across processes.
 *   checkpoints/NAME          a named consumer's next offset, decimal text,
 *                             replaced by rename (ql_write_file_atomic)
 *
 * A segment is PREALLOCATED or PLAIN. A preallocated one was written full of
 * zeros (segment_bytes of them) and fsync'ed as prealloc.tmp by the prep
 * thread, and only then renamed to its segment name (like PostgreSQL's
 * wal_init_zero): records overwrite blocks that are already allocated and
 * durable, so the file size never changes and fdatasync is a pure data flush
 * (no ext4 journal commit, which is what made appends' fsyncs slow and
 * spiky). A plain segment is created empty and grows with each write: the
 * fallback when no prepared file is ready or the disk has too little room.
 * Either way the data of a segment ends at its end of file or at the first
 * END MARKER: a frame position whose `len` field is 0, followed by nothing
 * but zeros (ql_log_frame_is_end).
 *
 * INVARIANTS (data safety rests on these):
 *
 * I1 Durable before acknowledged. An append's `done(0)` is called only after
 *    the write and the fdatasync that cover all of its records returned
 *    success, and after a new segment's directory entry was fsync'ed (and,
 *    at open, DIR's own entry in its parent). A preallocated segment's zeros
 *    and size were fsync'ed before its rename, and the rename before its first
 *    record was written.
 *    Appends are all-or-nothing: an append's records are written in one
 *    write together with whole other appends, never split across segments.
 *
 * I2 Nothing but zeros (or EOF) follows the durable data of the active
 *    segment, except the bytes of the batch being written. The writer keeps
 *    `seg_size`, the durable data size of the active segment, and writes each
 *    batch at exactly that position. If the write or fdatasync fails, the
 *    batch's bytes are removed (overwritten with zeros inside the
 *    preallocated part, truncated beyond it) before anything else is written
 *    and before the segment is sealed by a roll; every append of the batch
 *    gets done(QL_LOG_EIO), and its offsets are reused by later appends.
 *    While that removal itself fails, every batch fails: a record of a failed
 *    batch must never survive next to later records.
 *
 * I3 Readers see only durable records. After each successful fdatasync the
 *    writer stores the new end offset into head.durable_end (release). A
 *    reader loads durable_end (acquire) at the start of each poll and parses
 *    only records with offset < durable_end; it re-reads file bytes on every
 *    poll, so it never holds bytes of a batch the writer could still
 *    remove. Hence a record a reader returned is never taken back.
 *    Because nothing below durable_end can be a torn write, a record below it
 *    that fails its length/CRC/offset check is corruption: the reader
 *    returns an error naming the segment and byte position; it never skips
 *    it. At the end of a segment's data (EOF or an end marker) with its next
 *    offset below durable_end, the reader moves on to the segment named by
 *    that offset (I5 says it exists).
 *
 * I4 Recovery order at open: lock head → delete prealloc.tmp (a crash while
 *    preparing leaves a partial one; it never was a segment) → list
 *    segments → delete a last segment that holds no valid record (a roll,
 *    then a crash before its first commit: nothing in it was acknowledged),
 *    repeatedly — unless head's durable_end is past its base (then records
 *    in it were acknowledged: it is damage, kept and cut below, loudly) →
 *    scan the LAST segment from its start, checking length,
 *    CRC and consecutive offsets → any non-zero byte after the valid prefix
 *    is a torn write: cut it (truncate when it reaches EOF, else overwrite
 *    with zeros, so no stale frame can ever line up behind later records),
 *    say so on stderr, fsync → set durable_end to the recovered end →
 *    retention → start the writer. Only the last segment can have a torn
 *    tail: a segment is sealed (a new one is started) only after the fsync of
 *    all its records, so sealed segments are never cut — corruption there is
 *    reported by readers (I3).
 *
 * I5 Rolling: before a batch that would grow a non-empty active segment past
 *    segment_bytes — or, from a plain segment, past its end of file while a
 *    prepared segment is ready (an early roll) — the writer makes the next
 *    segment, named by the next offset: prealloc.tmp renamed, or else a new
 *    empty file (O_TRUNC: no durable record can be in it); it fsyncs DIR, and
 *    only then writes to it. A reader at the end of a segment's data whose
 *    next offset is below durable_end therefore always finds the next file.
 *
 * I6 Retention (writer thread only: at open, at each roll, and when idle
 *    once a minute) deletes a prefix of sealed segments, each only if every
 *    checkpoint in checkpoints/ is at or past its end and its mtime is older
 *    than retention_ms. With no checkpoint at all, age alone decides (as in
 *    Kafka). The active segment is never deleted.
 *
 * Threads: ql_log_append is called from any thread and only copies the
 * messages into the pending batch under `mu` (no I/O, no per-message malloc;
 * a condition signal only to wake an idle writer). The writer thread swaps
 * the pending batch with its own (double buffering), assigns offsets and
 * CRCs, writes, fsyncs, and calls each append's `done` in append order
 * without holding `mu`. The prep thread only ever writes prealloc.tmp; it
 * hands it over (state PREP_READY under prep_mu) after closing it, and only
 * the writer renames it. Preparing starts once the active segment holds
 * PREP_AFTER bytes (a log that takes a few events never writes 64 MiB of
 * zeros), and the zeros are written in paced 1 MiB steps, each written back
 * before the next, so they never queue up in front of a commit's fdatasync.
 */
#include "log_segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "util.h"

#define DEFAULT_SEGMENT_BYTES (64ull << 20)
#define DEFAULT_RETENTION_MS  (7ll * 24 * 3600 * 1000)
#define DEFAULT_MAX_PENDING   (16ull << 20)
#define KEEP_BATCH_BYTES      (4u << 20)  /* a batch buffer larger than this is freed after use */
#define HEAD_MAGIC            "QLHEAD1"
#define HEAD_SIZE             4096
#define RETENTION_EVERY_US    (60ll * 1000 * 1000)
 #define DEFAULT_LINGER_US     500
#define READ_CHUNK            (1u << 20)
#define READ_STEP             (16u << 10) /* a poll's first pread; doubles up to READ_CHUNK */
#define PREALLOC_NAME         "prealloc.tmp"
#define PREP_CHUNK            (1u << 20)  /* zeros written (and written back) per step */
#define PREP_PAUSE_US         500         /* pause between steps: commits' fsyncs go first */
#define PREP_AFTER            (1ull << 20) /* start preparing once the active segment holds this */
#define PREP_ROOM             4           /* prepare only with >= this many segments of free space */

/* ---- frame ------------------------------------------------------------- */

static inline void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Header fields except offset and CRC (filled later by ql_log_frame_seal). */
static void frame_start(unsigned char *out, int64_t ts_us, const void *key, size_t key_len,
                        const void *value, size_t value_len)
{
    put32(out, (uint32_t)(QL_LOG_REC_HDR - QL_LOG_REC_PREFIX + key_len + value_len));
    put64(out + 16, (uint64_t)ts_us);
    put32(out + 24, (uint32_t)key_len);
    if (key_len) memcpy(out + QL_LOG_REC_HDR, key, key_len);
    if (value_len) memcpy(out + QL_LOG_REC_HDR + key_len, value, value_len);
}

void ql_log_frame_seal(unsigned char *frame, int64_t offset)
{
    uint32_t len = get32(frame);
    put64(frame + 8, (uint64_t)offset);
    put32(frame + 4, ql_crc32c(0, frame + QL_LOG_REC_PREFIX, len));
}

void ql_log_frame_encode(unsigned char *out, int64_t offset, int64_t ts_us, const void *key,
                         size_t key_len, const void *value, size_t value_len)
{
    frame_start(out, ts_us, key, key_len, value, value_len);
    ql_log_frame_seal(out, offset);
}

int ql_log_record_decode(const unsigned char *p, size_t avail, int64_t expect_offset,
                         ql_log_record_t *rec, size_t *rec_len, const char **why)
{
    *rec_len = 0;
    if (avail < QL_LOG_REC_PREFIX) return 0;
    uint32_t len = get32(p);
    if (len < QL_LOG_REC_HDR - QL_LOG_REC_PREFIX || len > QL_LOG_MAX_PAYLOAD + QL_LOG_REC_HDR) {
        *why = "bad record length";
        return -1;
    }
    size_t total = QL_LOG_REC_PREFIX + (size_t)len;
    *rec_len = total;
    if (avail < total) return 0;
    if (ql_crc32c(0, p + QL_LOG_REC_PREFIX, len) != get32(p + 4)) {
        *why = "CRC mismatch";
        return -1;
    }
    int64_t off = (int64_t)get64(p + 8);
    uint32_t key_len = get32(p + 24);
    if (key_len > len - (QL_LOG_REC_HDR - QL_LOG_REC_PREFIX)) {
        *why = "bad key length";
        return -1;
    }
    if (off != expect_offset) {
        *why = "unexpected offset";
        return -1;
    }
    rec->partition = 0;
    rec->offset = off;
    rec->timestamp_us = (int64_t)get64(p + 16);
    rec->key = key_len ? (const char *)p + QL_LOG_REC_HDR : NULL;
    rec->key_len = key_len;
    rec->value = (const char *)p + QL_LOG_REC_HDR + key_len;
    rec->value_len = total - QL_LOG_REC_HDR - key_len;
    return 1;
}

int ql_log_segment_scan(const unsigned char *p, size_t len, int64_t base, size_t *valid_len,
                        int64_t *next_offset, const char **why)
{
    size_t pos = 0;
    int64_t off = base;
    int r = 1;
    while (pos < len) {
        ql_log_record_t rec;
        size_t rl;
        r = ql_log_record_decode(p + pos, len - pos, off, &rec, &rl, why);
        if (r <= 0) break;
        pos += rl;
        off++;
    }
    *valid_len = pos;
    *next_offset = off;
    return pos == len || ql_log_all_zero(p + pos, len - pos) ? 1 : r;
}

int ql_log_all_zero(const unsigned char *p, size_t avail)
{
    size_t i = 0;
    for (; i + 8 <= avail; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w) return 0;
    }
    for (; i < avail; i++)
        if (p[i]) return 0;
    return 1;
}

/* Index one past the last non-zero byte of p[0..len) (0 if all zero). */
static size_t end_of_nonzero(const unsigned char *p, size_t len)
{
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p + len - 8, 8);
        if (w) break;
        len -= 8;
    }
    while (len > 0 && !p[len - 1]) len--;
    return len;
}

/* ---- files shared by writer and readers -------------------------------- */

typedef struct log_head {
    char    magic[8];
    int64_t durable_end;   /* offsets below this are durable (I3) */
    int64_t writer_pid;
} log_head_t;

static void seg_path(char *out, size_t n, const char *dir, int64_t base)
{
    snprintf(out, n, "%s/%020" PRId64 ".log", dir, base);
}

static int parse_seg_name(const char *name, int64_t *base)
{
    size_t n = strlen(name);
    if (n != 24 || strcmp(name + 20, ".log") != 0) return 0;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        if (v > (INT64_MAX - 9) / 10) return 0;
        v = v * 10 + (name[i] - '0');
    }
    *base = v;
    return 1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted segment base offsets in DIR; caller frees *bases. */
static int list_segments(const char *dir, int64_t **bases, size_t *n, char *err, size_t errlen)
{
    *bases = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return ql_err(err, errlen, "cannot open log directory '%s': %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t b;
        if (!parse_seg_name(e->d_name, &b)) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *bases = ql_realloc(*bases, cap * sizeof **bases);
        }
        (*bases)[(*n)++] = b;
    }
    closedir(d);
    if (*n) qsort(*bases, *n, sizeof **bases, cmp_i64);
    return 0;
}

static int64_t head_load(const log_head_t *h)
{
    return __atomic_load_n(&h->durable_end, __ATOMIC_ACQUIRE);
}

static void head_unmap(log_head_t *h, int fd)
{
    if (h) munmap(h, HEAD_SIZE);
    if (fd >= 0) close(fd);
}

/* ---- writer ------------------------------------------------------------ */

typedef struct waiter {
    ql_log_done_fn done;
    void          *arg;
    uint32_t       nrec;
    size_t         bytes;
} waiter_t;

typedef struct batch {
    ql_buf_t  buf;     /* frames, offset/CRC not yet filled */
    waiter_t *w;
    size_t    nw, capw;
    size_t    nrec;
} batch_t;

enum { PREP_IDLE, PREP_WANT, PREP_READY, PREP_FAILED };

typedef struct seglog {
    ql_log_t         base;
    char            *dir;
    uint64_t         segment_bytes, max_pending;
    int64_t          retention_ms;
    int              quiet;

    pthread_mutex_t  mu;          /* guards everything down to `st` */
    pthread_cond_t   cv;          /* wakes the writer */
    batch_t          b[2];
    batch_t         *pending;     /* appends go here; the writer owns the other */
    int              writer_idle, closing;
    int              committing;  /* a thread (the writer, or a caller of
                                     ql_log_append_commit) owns the committer
                                     state below and the non-pending batch */
    size_t           linger_target; /* wake the lingering writer at this many pending records */
    uint64_t         pending_bytes; /* pending + in flight, for EFULL */
    ql_log_stats_t   st;

    pthread_t        thr;
    int              thr_started;

    /* the prep thread (see "Threads" above) */
    pthread_mutex_t  prep_mu;     /* guards prep_state */
    pthread_cond_t   prep_cv;     /* wakes the prep thread */
    int              prep_state;  /* PREP_* */
    int              prep_stop;   /* set (atomically) by close: give up at once */
    pthread_t        prep_thr;
    int              prep_started;

    /* the committer only (the thread that set `committing`; open/close) */
    int              fd;          /* active segment */
    int64_t          seg_base;
    uint64_t         seg_size;    /* durable data size of the active segment (I2) */
    uint64_t         seg_alloc;   /* the file's durable size: writes below it do not
                                     change it (zeros past seg_size: preallocated) */
    uint64_t         dirty_end;   /* a failed batch may have left bytes in [seg_size, dirty_end) */
    int64_t          prep_asked;  /* seg_base of the segment that last asked for a prepared one */
    int64_t          end_offset;  /* next offset to assign */
    int64_t          last_retention_us;
    size_t           last_nrec;   /* records in the last commit */
    size_t           last_nw;     /* appends in it */
    int64_t          last_lat_us; /* its write + fdatasync time */
    int64_t          linger_max_us;
    int              head_fd;
    log_head_t      *head;
} seglog_t;

/* Minimum checkpoint offset over DIR/checkpoints/ (INT64_MAX if none). */
static int64_t min_checkpoint(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoints", dir);
    int64_t min = INT64_MAX;
    DIR *d = opendir(path);
    if (!d) return min;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t n = strlen(e->d_name);
        if (n > 4 && !strcmp(e->d_name + n - 4, ".tmp")) continue;
        char f[4096 + 256], *txt = NULL, dummy[8];
        snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        if (ql_read_file(f, &txt, NULL, dummy, sizeof dummy) != 0) continue;
        char *end;
        errno = 0;
        long long v = strtoll(txt, &end, 10);
        if (errno == 0 && end != txt && v >= 0 && v < min) min = v;
        free(txt);
    }
    closedir(d);
    return min;
}

/* I6. Writer thread (or open, before it starts). */
static void retention(seglog_t *l)
{
    l->last_retention_us = ql_monotonic_us();
    if (l->retention_ms < 0) return;
    int64_t *bases;
    size_t n;
    char err[256];
    if (list_segments(l->dir, &bases, &n, err, sizeof err) != 0) return;
    int64_t ckpt = min_checkpoint(l->dir);
    int64_t now_ms = ql_now_us() / 1000;
    int deleted = 0;
    for (size_t i = 0; i + 1 < n && bases[i] < l->seg_base; i++) {
        if (bases[i + 1] > ckpt) break;
        char path[4096];
        seg_path(path, sizeof path, l->dir, bases[i]);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (now_ms - mtime_ms < l->retention_ms) break;
        if (unlink(path) == 0) deleted++;
    }
    free(bases);
    if (deleted) ql_fsync_dir(l->dir, err, sizeof err);
}

static void fail_msg(seglog_t *l, int e, const char *what, char *err, size_t errlen)
{
    char path[4096];
    seg_path(path, sizeof path, l->dir, l->seg_base);
    int full = e == ENOSPC || e == EFBIG || e == EDQUOT;
    ql_err(err, errlen, "%s: %s '%s' failed: %s", full ? "disk full" : "I/O error", what, path,
             strerror(e));
}

static const unsigned char zeros64k[64 << 10];

/* Overwrites [at, at+len) of fd with zeros. 0 or -1 (errno). */
static int zero_range(int fd, uint64_t at, uint64_t len)
{
    while (len > 0) {
        size_t n = len > sizeof zeros64k ? sizeof zeros64k : (size_t)len;
        if (ql_pwrite_all(fd, zeros64k, n, at) != 0) return -1;
        at += n;
        len -= n;
    }
    return 0;
}

/* I2: removes what a failed batch may have left in [seg_size, dirty_end):
 * zeros inside the preallocated part, truncation beyond it. */
static int clean_tail(seglog_t *l, char *err, size_t errlen)
{
    if (l->dirty_end <= l->seg_size) return 0;
    uint64_t keep = l->seg_alloc > l->seg_size ? l->seg_alloc : l->seg_size;
    if (l->dirty_end > keep && ftruncate(l->fd, (off_t)keep) != 0) {
        fail_msg(l, errno, "truncating", err, errlen);
        return -1;
    }
    uint64_t zend = l->dirty_end < l->seg_alloc ? l->dirty_end : l->seg_alloc;
    if (zend > l->seg_size && zero_range(l->fd, l->seg_size, zend - l->seg_size) != 0) {
        fail_msg(l, errno, "zeroing the failed batch in", err, errlen);
        return -1;
    }
    l->dirty_end = l->seg_size;
    return 0;
}

/* ---- preparing segments (P: see the top) ------------------------------- */

static void prep_path(char *out, size_t n, const char *dir)
{
    snprintf(out, n, "%s/" PREALLOC_NAME, dir);
}

/* Prep thread: writes DIR/prealloc.tmp full of zeros and fsyncs it.
 * 0 ok; -1 (file removed) on an error, too little room, or close. */
static int prealloc_file(seglog_t *l)
{
    char path[4096];
    prep_path(path, sizeof path, l->dir);
    struct statvfs vfs;
    if (statvfs(l->dir, &vfs) != 0 || (uint64_t)vfs.f_bavail * vfs.f_frsize / PREP_ROOM < l->segment_bytes)
        return -1; /* a nearly full disk: plain segments, so the space goes to records */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    unsigned char *z = ql_calloc(1, PREP_CHUNK);
    int rc = 0;
    for (uint64_t at = 0; at < l->segment_bytes && rc == 0;) {
        if (__atomic_load_n(&l->prep_stop, __ATOMIC_RELAXED)) {
            rc = -1;
            break;
        }
        size_t n = l->segment_bytes - at < PREP_CHUNK ? (size_t)(l->segment_bytes - at) : PREP_CHUNK;
        rc = ql_pwrite_all(fd, z, n, at);
        if (rc == 0 && n == PREP_CHUNK) {
            /* write this step back now (not in one burst at the fsync), then
             * give the disk to the commits for a moment */
            sync_file_range(fd, (off_t)at, (off_t)n,
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
            struct timespec ts = {0, PREP_PAUSE_US * 1000};
            nanosleep(&ts, NULL);
        }
        at += n;
    }
    free(z);
    if (rc == 0) rc = fsync(fd); /* the zeros and the size: durable before the rename (I1) */
    close(fd);
    if (rc != 0) unlink(path);
    return rc;
}

static void *prep_main(void *arg)
{
    seglog_t *l = arg;
    pthread_setname_np(pthread_self(), "ql-log-prep");
    pthread_mutex_lock(&l->prep_mu);
    for (;;) {
        while (l->prep_state != PREP_WANT && !l->prep_stop) pthread_cond_wait(&l->prep_cv, &l->prep_mu);
        if (l->prep_stop) break;
        pthread_mutex_unlock(&l->prep_mu);
        int rc = prealloc_file(l);
        pthread_mutex_lock(&l->prep_mu);
        l->prep_state = rc == 0 ? PREP_READY : PREP_FAILED;
    }
    pthread_mutex_unlock(&l->prep_mu);
    return NULL;
}

/* Writer: asks for a prepared segment, once per active segment, when it has
 * PREP_AFTER bytes (or half its limit). */
static void prep_request(seglog_t *l)
{
    uint64_t after = l->segment_bytes / 2 < PREP_AFTER ? l->segment_bytes / 2 : PREP_AFTER;
    if (!l->prep_started || l->prep_asked == l->seg_base || l->seg_size < after) return;
    l->prep_asked = l->seg_base;
    pthread_mutex_lock(&l->prep_mu);
    if (l->prep_state == PREP_IDLE || l->prep_state == PREP_FAILED) {
        l->prep_state = PREP_WANT;
        pthread_cond_signal(&l->prep_cv);
    }
    pthread_mutex_unlock(&l->prep_mu);
}

/* Writer: 1 if a prepared segment is ready; with `take`, it is the
 * writer's from now on (the prep thread may start the next one). */
static int prep_ready(seglog_t *l, int take)
{
    if (!l->prep_started) return 0;
    pthread_mutex_lock(&l->prep_mu);
    int r = l->prep_state == PREP_READY;
    if (r && take) l->prep_state = PREP_IDLE;
    pthread_mutex_unlock(&l->prep_mu);
    return r;
}

/* Makes `base` the active segment: an existing file (create = 0, at open),
 * or a new one (I5): the prepared file renamed when one is ready, else an
 * empty plain file. Seals the current one first (I2). */
static int open_segment(seglog_t *l, int64_t base, int create, char *err, size_t errlen)
{
    char path[4096];
    if (l->fd >= 0 && clean_tail(l, err, errlen) != 0) return -1; /* never seal a failed batch's bytes (I2) */
    seg_path(path, sizeof path, l->dir, base);
    int prepared = 0;
    if (create && prep_ready(l, 1)) {
        char tmp[4096];
        prep_path(tmp, sizeof tmp, l->dir);
        prepared = rename(tmp, path) == 0;
        if (!prepared) unlink(tmp);
    }
    int fd = open(path, O_RDWR | O_CLOEXEC | (create && !prepared ? O_CREAT | O_TRUNC : 0), 0644);
    if (fd < 0) {
        ql_err(err, errlen, "cannot open segment '%s': %s", path, strerror(errno));
        if (prepared) unlink(path);
        return -1;
    }
    struct stat st;
    if (create && (ql_fsync_dir(l->dir, err, errlen) != 0 || fstat(fd, &st) != 0)) {
        close(fd);
        unlink(path); /* an empty next segment must not outlive a failed roll */
        return -1;
    }
    if (l->fd >= 0) close(l->fd);
    l->fd = fd;
    l->seg_base = base;
    l->seg_size = 0;
    l->seg_alloc = prepared ? (uint64_t)st.st_size : 0;
    l->dirty_end = 0;
    return 0;
}

/* Writes and fsyncs one chunk of whole appends at seg_size (I1, I2).
 * Returns 0 or -1 with err set; the failed bytes are removed again (or
 * dirty_end says they still have to be). */
static int write_chunk(seglog_t *l, unsigned char *p, size_t len, size_t nrec, int64_t *lat_us, char *err,
                       size_t errlen)
{
    if (clean_tail(l, err, errlen) != 0) return -1;
    unsigned char *q = p;
    for (size_t i = 0; i < nrec; i++) {
        ql_log_frame_seal(q, l->end_offset + (int64_t)i);
        q += QL_LOG_REC_PREFIX + get32(q);
    }
    int64_t t0 = ql_monotonic_us();
    const char *what = "writing";
    int rc = ql_pwrite_all(l->fd, p, len, l->seg_size);
    if (rc == 0) {
        what = "fdatasync of";
        rc = fdatasync(l->fd);
    }
    if (rc != 0) {
        int e = errno;
        char ignored[8];
        l->dirty_end = l->seg_size + len;
        clean_tail(l, ignored, sizeof ignored);
        fail_msg(l, e, what, err, errlen);
        return -1;
    }
    *lat_us = ql_monotonic_us() - t0;
    l->seg_size += len;
    if (l->seg_size > l->seg_alloc) l->seg_alloc = l->seg_size; /* the file grew (plain, or past the zeros) */
    l->end_offset += (int64_t)nrec;
    __atomic_store_n(&l->head->durable_end, l->end_offset, __ATOMIC_RELEASE);
    prep_request(l);
    return 0;
}

/* Commits the appends b->w[i..j) (bytes p..p+len) and calls their `done`. */
static void finish_chunk(seglog_t *l, batch_t *b, size_t i, size_t j, unsigned char *p, size_t len,
                         size_t nrec, int rc_in, const char *err_in)
{
    char err[512];
    int64_t first = l->end_offset;
    int rc = rc_in;
    int64_t lat = 0;
    if (rc == 0) {
        rc = write_chunk(l, p, len, nrec, &lat, err, sizeof err);
        if (rc == 0) l->last_lat_us = lat;
    } else {
        ql_err(err, sizeof err, "%s", err_in);
    }
    pthread_mutex_lock(&l->mu);
    if (rc == 0) {
        l->st.commits++;
        ql_log_stats_add_lat(&l->st, lat);
        l->st.appends += j - i;
        l->st.records += nrec;
        l->st.bytes += len;
        l->st.end_offset = l->end_offset;
    } else {
        l->st.failures += j - i;
    }
    l->st.queued -= nrec;
    l->pending_bytes -= len;
    pthread_mutex_unlock(&l->mu);
    for (size_t k = i; k < j; k++) {
        waiter_t *w = &b->w[k];
        if (rc == 0) {
            w->done(w->arg, 0, first, NULL);
            first += w->nrec;
        } else {
            w->done(w->arg, QL_LOG_EIO, -1, err);
        }
    }
}

static void commit_batch(seglog_t *l, batch_t *b)
{
    unsigned char *p = (unsigned char *)b->buf.data;
    size_t i = 0;
    while (i < b->nw) {
        int rc = 0;
        char err[512] = "";
        uint64_t grow = l->seg_size + b->w[i].bytes;
        if (l->seg_size > 0 && (grow > l->segment_bytes || (grow > l->seg_alloc && prep_ready(l, 0)))) {
            if (open_segment(l, l->end_offset, 1, err, sizeof err) != 0) {
                rc = -1;
            } else {
                retention(l);
            }
        }
        size_t j = i, len = 0, nrec = 0;
        while (j < b->nw && (j == i || l->seg_size + len + b->w[j].bytes <= l->segment_bytes)) {
            len += b->w[j].bytes;
            nrec += b->w[j].nrec;
            j++;
        }
        if (rc != 0) { /* could not roll: fail everything left */
            while (j < b->nw) {
                len += b->w[j].bytes;
                nrec += b->w[j].nrec;
                j++;
            }
        }
        finish_chunk(l, b, i, j, p, len, nrec, rc, err);
        p += len;
        i = j;
    }
    l->last_nrec = b->nrec;
    l->last_nw = b->nw;
    if (b->buf.cap > KEEP_BATCH_BYTES) ql_buf_free(&b->buf); /* give a spike's memory back */
    ql_buf_reset(&b->buf);
    b->nw = 0;
    b->nrec = 0;
}

static struct timespec abs_deadline(int64_t from_now_us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (from_now_us % 1000000) * 1000;
    ts.tv_sec += (time_t)(from_now_us / 1000000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

/* With mu held and `committing` set by the caller: swaps the pending batch
 * out, commits it with mu released (appends keep queueing into the other
 * batch meanwhile), and clears `committing` with mu held again. */
static void commit_pending_locked(seglog_t *l)
{
    batch_t *b = l->pending;
    l->pending = b == &l->b[0] ? &l->b[1] : &l->b[0];
    pthread_mutex_unlock(&l->mu);
    commit_batch(l, b);
    pthread_mutex_lock(&l->mu);
    l->committing = 0;
}

/* Called with mu held, pending non-empty. Under load, clients whose appends
 * the last commit acknowledged come back within a short turnaround; waiting
 * that long (at most half the last commit's time, and linger_max_us) lets
 * them join this batch instead of leaving the load split into two
 * alternating half-size batches. A lone appender (one append per commit)
 * never waits. QL_LOG_LINGER_US=0 turns it off. */
static void linger(seglog_t *l)
{
    if (l->linger_max_us <= 0 || l->closing || l->last_nw < 2) return;
    size_t target = l->pending->nrec + l->last_nrec * 7 / 8;
    int64_t wait = l->last_lat_us / 2;
    if (wait > l->linger_max_us) wait = l->linger_max_us;
    if (wait <= 0 || l->pending->nrec >= target) return;
    struct timespec ts = abs_deadline(wait);
    l->linger_target = target;
    while (l->pending->nrec < target && !l->closing)
        if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT) break;
    l->linger_target = 0;
}

static const ql_log_ops_t seg_ops;

static void *writer_main(void *arg)
{
    seglog_t *l = arg;
    pthread_setname_np(pthread_self(), "ql-log-writer");
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while ((l->pending->nw == 0 || l->committing) && !(l->closing && !l->committing)) {
            l->writer_idle = 1;
            struct timespec ts = abs_deadline(10 * 1000000ll);
            pthread_cond_timedwait(&l->cv, &l->mu, &ts);
            l->writer_idle = 0;
            if (l->pending->nw == 0 && !l->committing &&
                ql_monotonic_us() - l->last_retention_us > RETENTION_EVERY_US) {
                l->committing = 1; /* retention reads the committer's state */
                pthread_mutex_unlock(&l->mu);
                retention(l);
                pthread_mutex_lock(&l->mu);
                l->committing = 0;
            }
        }
        if (l->pending->nw == 0) break; /* closing and drained */
        l->committing = 1;
        linger(l);
        commit_pending_locked(l);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* Checks an append; its bytes on disk into *total. */
static int check_append(seglog_t *l, const ql_log_msg_t *msgs, size_t n, ql_log_done_fn done, size_t *total)
{
    if (n == 0 || !done || n > UINT32_MAX) return QL_LOG_EINVAL;
    *total = 0;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].key_len + msgs[i].value_len > QL_LOG_MAX_PAYLOAD) return QL_LOG_EINVAL;
        if ((msgs[i].key_len && !msgs[i].key) || (msgs[i].value_len && !msgs[i].value)) return QL_LOG_EINVAL;
        *total += ql_log_frame_size(msgs[i].key_len, msgs[i].value_len);
    }
    return *total > l->max_pending ? QL_LOG_EINVAL : 0;
}

/* With mu held: copies the append into the pending batch. 0, or
 * ECLOSED/EFULL (nothing queued). *wake: a lingering writer has what it
 * waits for and should be signalled. */
static int enqueue_locked(seglog_t *l, const ql_log_msg_t *msgs, size_t n, size_t total, ql_log_done_fn done,
                          void *arg, int *wake)
{
    *wake = 0;
    if (l->closing) return QL_LOG_ECLOSED;
    if (l->pending_bytes + total > l->max_pending) return QL_LOG_EFULL;
    batch_t *b = l->pending;
    int64_t now = ql_now_us();
    ql_buf_reserve(&b->buf, total);
    unsigned char *p = (unsigned char *)b->buf.data + b->buf.len;
    for (size_t i = 0; i < n; i++) {
        frame_start(p, now, msgs[i].key, msgs[i].key_len, msgs[i].value, msgs[i].value_len);
        p += ql_log_frame_size(msgs[i].key_len, msgs[i].value_len);
    }
    b->buf.len += total;
    if (b->nw == b->capw) {
        b->capw = b->capw ? b->capw * 2 : 256;
        b->w = ql_realloc(b->w, b->capw * sizeof *b->w);
    }
    b->w[b->nw++] = (waiter_t){done, arg, (uint32_t)n, total};
    b->nrec += n;
    l->pending_bytes += total;
    l->st.queued += n;
    if (l->linger_target && b->nrec >= l->linger_target) {
        l->linger_target = 0;
        *wake = 1;
    }
    return 0;
}

/* Both append entry points. `may_commit` 0 (ql_log_append): queue it, wake
 * an idle writer. 1 (ql_log_append_commit): if no commit is running, this
 * thread commits everything pending before returning; if one is, the append
 * is queued and whoever commits next takes it (an inline committer signals
 * the writer when it is done and something is pending). */
static int append(seglog_t *l, const ql_log_msg_t *msgs, size_t n, ql_log_done_fn done, void *arg, int may_commit)
{
    size_t total;
    int rc = check_append(l, msgs, n, done, &total), wake;
    if (rc) return rc;
    pthread_mutex_lock(&l->mu);
    rc = enqueue_locked(l, msgs, n, total, done, arg, &wake);
    if (rc == 0 && may_commit) {
        if (!l->committing) {
            /* nobody is committing: this thread does it, for everything
             * pending (the writer thread waits while `committing` is set) */
            l->committing = 1;
            commit_pending_locked(l);
            wake = l->pending->nw > 0 || l->closing; /* what arrived meanwhile: the writer's */
        }
    } else if (rc == 0 && l->writer_idle) {
        wake = 1;
        l->writer_idle = 0; /* one signal per batch */
    }
    pthread_mutex_unlock(&l->mu);
    if (wake) pthread_cond_signal(&l->cv);
    return rc;
}

static int seg_append(ql_log_t *log, const ql_log_msg_t *msgs, size_t n, ql_log_done_fn done, void *arg)
{
    return append((seglog_t *)log, msgs, n, done, arg, 0);
}

int ql_log_append_commit(ql_log_t *log, const ql_log_msg_t *msgs, size_t n, ql_log_done_fn done, void *arg)
{
    if (log->ops != &seg_ops) return ql_log_append(log, msgs, n, done, arg);
    return append((seglog_t *)log, msgs, n, done, arg, 1);
}

static void seg_stats(ql_log_t *log, ql_log_stats_t *out)
{
    seglog_t *l = (seglog_t *)log;
    pthread_mutex_lock(&l->mu);
    *out = l->st;
    pthread_mutex_unlock(&l->mu);
}

static void seg_free(seglog_t *l)
{
    if (l->prep_started) { /* only a log that holds the writer lock starts it */
        pthread_mutex_lock(&l->prep_mu);
        __atomic_store_n(&l->prep_stop, 1, __ATOMIC_RELAXED);
        pthread_cond_signal(&l->prep_cv);
        pthread_mutex_unlock(&l->prep_mu);
        pthread_join(l->prep_thr, NULL);
        char path[4096];
        prep_path(path, sizeof path, l->dir);
        unlink(path); /* unused zeros: recovery would delete them anyway (I4) */
    }
    pthread_mutex_destroy(&l->prep_mu);
    pthread_cond_destroy(&l->prep_cv);
    if (l->fd >= 0) close(l->fd);
    head_unmap(l->head, l->head_fd);
    for (int i = 0; i < 2; i++) {
        ql_buf_free(&l->b[i].buf);
        free(l->b[i].w);
    }
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l->dir);
    free(l);
}

static void seg_close(ql_log_t *log)
{
    seglog_t *l = (seglog_t *)log;
    pthread_mutex_lock(&l->mu);
    l->closing = 1;
    pthread_mutex_unlock(&l->mu);
    pthread_cond_signal(&l->cv);
    if (l->thr_started) pthread_join(l->thr, NULL);
    seg_free(l);
}

static const ql_log_ops_t seg_ops = {seg_append, seg_stats, seg_close};

/* Maps DIR/head (creating it when `create`). Returns 0, or -1 (err set);
 * with !create a missing file gives -1 and errno ENOENT. */
static int head_map(const char *dir, int create, int *fd_out, log_head_t **out, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/head", dir);
    int fd = open(path, (create ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        ql_err(err, errlen, "cannot open '%s': %s", path, strerror(e));
        errno = e;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ql_err(err, errlen, "cannot stat '%s': %s", path, strerror(errno));
        goto fail;
    }
    if (st.st_size < HEAD_SIZE) {
        if (!create) {
            ql_err(err, errlen, "'%s' is not initialised yet", path);
            errno = ENOENT;
            goto fail;
        }
        if (ftruncate(fd, HEAD_SIZE) != 0) {
            ql_err(err, errlen, "cannot size '%s': %s", path, strerror(errno));
            goto fail;
        }
    }
    void *m = mmap(NULL, HEAD_SIZE, create ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        ql_err(err, errlen, "cannot map '%s': %s", path, strerror(errno));
        goto fail;
    }
    *fd_out = fd;
    *out = m;
    return 0;
fail:
    close(fd);
    return -1;
}

/* I4: drop a leftover prealloc.tmp and trailing segments without a valid
 * record, scan the last segment, cut a torn tail. */
static int recover(seglog_t *l, char *err, size_t errlen)
{
    int64_t *bases = NULL;
    size_t n = 0, size = 0, maplen = 0, valid = 0;
    int rc = -1, r = 1;
    unsigned char *map = NULL;
    int64_t next = 0;
    const char *why = "partial record";
    char path[4096];
    prep_path(path, sizeof path, l->dir);
    if (unlink(path) != 0 && errno != ENOENT) {
        ql_err(err, errlen, "cannot remove '%s': %s", path, strerror(errno));
        goto out;
    }
    if (list_segments(l->dir, &bases, &n, err, errlen) != 0) goto out;
    for (;;) {
        if (n == 0) {
            if (open_segment(l, 0, 1, err, errlen) != 0) goto out;
            l->end_offset = 0;
            rc = 0;
            goto out;
        }
        if (open_segment(l, bases[n - 1], 0, err, errlen) != 0) goto out;
        struct stat st;
        if (fstat(l->fd, &st) != 0) {
            ql_err(err, errlen, "cannot stat segment: %s", strerror(errno));
            goto out;
        }
        size = maplen = (size_t)st.st_size;
        valid = 0;
        next = l->seg_base;
        r = 1;
        if (size > 0) {
            map = mmap(NULL, maplen, PROT_READ, MAP_SHARED, l->fd, 0);
            if (map == MAP_FAILED) {
                map = NULL;
                ql_err(err, errlen, "cannot map segment: %s", strerror(errno));
                goto out;
            }
            r = ql_log_segment_scan(map, size, l->seg_base, &valid, &next, &why);
        }
        if (valid > 0 || n == 1) break;
        /* No valid record: a roll, then a crash before the first commit in it
         * (nothing there was acknowledged). Drop it and recover the one
         * before, so the offsets in the names stay truthful. Unless head
         * says records of it were durable: then it is damage, not a torn
         * first write, and it is cut below like any torn tail, loudly. */
        if (memcmp(l->head->magic, HEAD_MAGIC, 8) == 0 && l->head->durable_end > l->seg_base) break;
        size_t garbage = r == 1 ? 0 : end_of_nonzero(map, size);
        if (map) munmap(map, maplen);
        map = NULL;
        close(l->fd);
        l->fd = -1;
        seg_path(path, sizeof path, l->dir, bases[n - 1]);
        if (unlink(path) != 0) {
            ql_err(err, errlen, "cannot remove empty segment '%s': %s", path, strerror(errno));
            goto out;
        }
        if (garbage && !l->quiet)
            fprintf(stderr, "questlog: log: removed %s: no valid record in it, %zu bytes of a torn first write (%s)\n",
                    path, garbage, why);
        n--;
    }
    seg_path(path, sizeof path, l->dir, l->seg_base);
    if (r != 1) { /* non-zero bytes after the valid prefix: a torn write */
        size_t end = valid + end_of_nonzero(map + valid, size - valid);
        const char *how = end == size ? "truncated" : "zeroed";
        int bad = end == size ? ftruncate(l->fd, (off_t)valid) : zero_range(l->fd, valid, end - valid);
        if (bad) {
            ql_err(err, errlen, "cannot cut torn tail of '%s': %s", path, strerror(errno));
            goto out;
        }
        if (!l->quiet)
            fprintf(stderr, "questlog: log: %s %zu bytes of torn tail in %s at offset %" PRId64 " (byte %zu: %s)\n",
                    how, end - valid, path, next, valid, why);
        if (end == size) size = valid;
    }
    /* the cut, and whatever size and zeros a dead writer left: durable
     * before the first commit, whose fdatasync then only flushes data */
    if (fsync(l->fd) != 0) {
        ql_err(err, errlen, "cannot fsync '%s': %s", path, strerror(errno));
        goto out;
    }
    l->seg_size = valid;
    l->seg_alloc = size;
    l->dirty_end = 0;
    l->end_offset = next;
    rc = 0;
out:
    if (map) munmap(map, maplen);
    free(bases);
    return rc;
}

int ql_log_open_embedded(ql_log_t **out, const char *dir, const ql_log_options_t *opt, char *err, size_t errlen)
{
    *out = NULL;
    char path[4096];
    if (ql_mkdir_p(dir, err, errlen) != 0) return QL_LOG_EINVAL;
    snprintf(path, sizeof path, "%s/checkpoints", dir);
    if (ql_mkdir_p(path, err, errlen) != 0) return QL_LOG_EINVAL;
    /* DIR's own entry must be durable before anything in it is acknowledged */
    snprintf(path, sizeof path, "%s/..", dir);
    if (ql_fsync_dir(path, err, errlen) != 0) return QL_LOG_EINVAL;

    seglog_t *l = ql_calloc(1, sizeof *l);
    l->base.ops = &seg_ops;
    l->dir = ql_strdup(dir);
    l->fd = -1;
    l->head_fd = -1;
    l->segment_bytes = opt && opt->segment_bytes ? opt->segment_bytes : DEFAULT_SEGMENT_BYTES;
    l->retention_ms = opt && opt->retention_ms ? opt->retention_ms : DEFAULT_RETENTION_MS;
    l->max_pending = opt && opt->max_pending_bytes ? opt->max_pending_bytes : DEFAULT_MAX_PENDING;
    l->quiet = opt ? opt->quiet : 0;
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->prep_mu, NULL);
    pthread_cond_init(&l->prep_cv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    const char *linger = getenv("QL_LOG_LINGER_US");
    l->linger_max_us = linger ? atoll(linger) : DEFAULT_LINGER_US;
    l->pending = &l->b[0];

    if (head_map(dir, 1, &l->head_fd, &l->head, err, errlen) != 0) goto fail;
    if (flock(l->head_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            ql_err(err, errlen, "log '%s' is in use by another questlog process", dir);
        else
            ql_err(err, errlen, "cannot lock '%s/head': %s", dir, strerror(errno));
        goto fail;
    }
    if (recover(l, err, errlen) != 0) goto fail;
    int fresh = memcmp(l->head->magic, HEAD_MAGIC, 8) != 0;
    if (!fresh && l->head->durable_end > l->end_offset && !l->quiet)
        fprintf(stderr, "questlog: log: WARNING: %s/head said offsets below %" PRId64
                        " were durable, but the log ends at %" PRId64 "\n",
                dir, l->head->durable_end, l->end_offset);
    l->head->writer_pid = getpid();
    __atomic_store_n(&l->head->durable_end, l->end_offset, __ATOMIC_RELEASE);
    if (fresh) { /* readers trust durable_end only once the magic is there */
        __atomic_thread_fence(__ATOMIC_RELEASE);
        memcpy(l->head->magic, HEAD_MAGIC, 8);
    }
    l->st.end_offset = l->end_offset;
    retention(l);
    l->prep_asked = -1;
    if (pthread_create(&l->prep_thr, NULL, prep_main, l) == 0) l->prep_started = 1; /* else: plain segments */
    if (pthread_create(&l->thr, NULL, writer_main, l) != 0) {
        ql_err(err, errlen, "cannot start the log writer thread");
        goto fail;
    }
    l->thr_started = 1;
    *out = &l->base;
    return 0;
fail:
    seg_free(l);
    return QL_LOG_EINVAL;
}

/* ---- consumer ---------------------------------------------------------- */

typedef struct segcons {
    ql_consumer_t           base;
    char                   *dir;
    char                   *name;     /* checkpoint name, NULL = anonymous */
    ql_consumer_callbacks_t cb;
    int                     started;
    int64_t                 want;     /* first offset to hand out */
    int64_t                 next;     /* offset of the record at `pos` */
    int                     fd;       /* segment being read, -1 none */
    int64_t                 seg_base;
    uint64_t                pos;      /* file position of `next` */
    unsigned char          *buf;      /* bytes of the file from buf_pos */
    size_t                  cap, len;
    uint64_t                buf_pos;
    int                     head_fd;
    log_head_t             *head;     /* NULL until the writer created it */
    int                     at_end;
} segcons_t;

static void cons_try_head(segcons_t *c)
{
    if (c->head) return;
    char err[256];
    log_head_t *h;
    int fd;
    if (head_map(c->dir, 0, &fd, &h, err, sizeof err) != 0) return;
    if (memcmp(h->magic, HEAD_MAGIC, 8) != 0) {
        head_unmap(h, fd);
        return;
    }
    c->head = h;
    c->head_fd = fd;
}

static int cons_open_seg(segcons_t *c, int64_t base)
{
    char path[4096];
    seg_path(path, sizeof path, c->dir, base);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    if (c->fd >= 0) close(c->fd);
    c->fd = fd;
    c->seg_base = base;
    c->pos = 0;
    c->next = base;
    c->len = 0;
    c->buf_pos = 0;
    return 0;
}

/* Positions the reader at the segment holding `want`. 0 ok, 1 nothing to
 * read yet (no segment), -1 error. */
static int cons_seek(segcons_t *c, char *err, size_t errlen)
{
    int64_t *bases;
    size_t n;
    if (list_segments(c->dir, &bases, &n, err, errlen) != 0) return -1;
    int rc = 1;
    for (int attempt = 0; n > 0 && attempt < 3 && rc == 1; attempt++) {
        if (c->want < bases[0]) c->want = bases[0];
        size_t i = n - 1;
        while (i > 0 && bases[i] > c->want) i--;
        if (cons_open_seg(c, bases[i]) == 0) {
            rc = 0;
            break;
        }
        free(bases); /* deleted under us by retention: list again */
        if (list_segments(c->dir, &bases, &n, err, errlen) != 0) return -1;
    }
    free(bases);
    return rc;
}

static int seg_exists(const char *dir, int64_t base)
{
    char path[4096];
    seg_path(path, sizeof path, dir, base);
    return access(path, F_OK) == 0;
}

static int later_segment_exists(const char *dir, int64_t base)
{
    int64_t *bases;
    size_t n;
    char err[64];
    if (list_segments(dir, &bases, &n, err, sizeof err) != 0) return 0;
    int r = n > 0 && bases[n - 1] > base;
    free(bases);
    return r;
}

static int cons_corrupt(segcons_t *c, const char *why, char *err, size_t errlen)
{
    char path[4096];
    seg_path(path, sizeof path, c->dir, c->seg_base);
    ql_err(err, errlen, "corrupt log: %s in segment %s at byte %" PRIu64 " (offset %" PRId64 ")", why,
           path, c->pos, c->next);
    return QL_LOG_EINVAL;
}

/* Reads up to max durable records without waiting. Returns count or < 0. */
static int cons_read(segcons_t *c, ql_log_record_t *recs, size_t max, char *err, size_t errlen)
{
    cons_try_head(c);
    int64_t durable = c->head ? head_load(c->head) : INT64_MAX;
    if (c->fd < 0) {
        int r = cons_seek(c, err, errlen);
        if (r < 0) return QL_LOG_EINVAL;
        if (r > 0) { /* no segment yet: nothing written, we are at the end */
            c->at_end = 1;
            return 0;
        }
    }
    /* I3: keep no bytes read at an earlier poll beyond `pos`. */
    c->len = 0;
    c->buf_pos = c->pos;
    size_t count = 0, step = READ_STEP; /* a preallocated segment's zeros are not worth reading */
    while (count < max && c->next < durable) {
        ql_log_record_t rec;
        size_t rl;
        const char *why = "truncated record";
        size_t at = (size_t)(c->pos - c->buf_pos);
        int r = ql_log_record_decode(c->buf + at, c->len - at, c->next, &rec, &rl, &why);
        if (r == 1) {
            if (rec.offset >= c->want) recs[count++] = rec;
            c->pos += rl;
            c->next++;
            continue;
        }
        if (r == 0) {
            size_t need = rl ? rl : QL_LOG_REC_HDR;
            if (at + need > c->cap || c->len == c->cap) {
                if (count > 0) break; /* records handed out point into buf */
                memmove(c->buf, c->buf + at, c->len - at);
                c->len -= at;
                c->buf_pos = c->pos;
                at = 0;
                size_t want_cap = need > READ_CHUNK ? need : READ_CHUNK;
                if (c->cap < want_cap) {
                    c->buf = ql_realloc(c->buf, want_cap);
                    c->cap = want_cap;
                }
            }
            ssize_t got;
            size_t room = c->cap - c->len < step ? c->cap - c->len : step;
            if (step < READ_CHUNK) step *= 2;
            do {
                got = pread(c->fd, c->buf + c->len, room, (off_t)(c->buf_pos + c->len));
            } while (got < 0 && errno == EINTR);
            if (got < 0) return ql_err(err, errlen, "cannot read log segment: %s", strerror(errno)), QL_LOG_EINVAL;
            if (got > 0) {
                c->len += (size_t)got;
                continue;
            }
            r = ql_log_frame_is_end(c->buf + at, c->len - at, 1) ? 2 : 0;
        } else if (r < 0 && ql_log_frame_is_end(c->buf + at, c->len - at, 0)) {
            r = 2;
        }
        if (r == 2) { /* the end of this segment's data: EOF, or the zeros of a preallocated one */
            if (c->next > c->seg_base && seg_exists(c->dir, c->next)) {
                if (count > 0) break;
                if (cons_open_seg(c, c->next) != 0) {
                    char path[4096];
                    seg_path(path, sizeof path, c->dir, c->next);
                    return ql_err(err, errlen, "cannot open segment %s: %s", path, strerror(errno)), QL_LOG_EINVAL;
                }
                continue;
            }
            if (c->head) {
                if (count > 0) break; /* hand out what we have; the error comes next poll */
                char path[4096], cur[4096];
                seg_path(path, sizeof path, c->dir, c->next);
                seg_path(cur, sizeof cur, c->dir, c->seg_base);
                return ql_err(err, errlen, "corrupt log: segment %s is missing (record %" PRId64 " should follow byte %" PRIu64 " of %s)",
                              path, c->next, c->pos, cur), QL_LOG_EINVAL;
            }
            break; /* no writer ever: this is the end */
        }
        /* r < 0, or a partial record at EOF */
        if (c->head || later_segment_exists(c->dir, c->seg_base)) {
            if (count > 0) break; /* hand out what we have; the error comes next poll */
            return cons_corrupt(c, why, err, errlen);
        }
        break; /* no writer state: a torn tail, the writer's recovery will cut it */
    }
    if (c->head) c->at_end = (c->next > c->want ? c->next : c->want) >= head_load(c->head);
    else c->at_end = count < max;
    return (int)count;
}

static int cons_poll(ql_consumer_t *cc, ql_log_record_t *recs, size_t max, int timeout_ms, char *err, size_t errlen)
{
    segcons_t *c = (segcons_t *)cc;
    if (!c->started) {
        int64_t start = c->cb.assigned ? c->cb.assigned(c->cb.arg, 0) : QL_OFFSET_BEGINNING;
        c->started = 1;
        if (start == QL_OFFSET_END) {
            cons_try_head(c);
            if (!c->head) { /* no writer yet: the end is what is on disk */
                ql_log_record_t tmp[64];
                c->want = 0;
                int r;
                while ((r = cons_read(c, tmp, QL_ARRAY_LEN(tmp), err, errlen)) > 0) {}
                if (r < 0) return r;
                c->want = c->next;
            } else {
                c->want = head_load(c->head);
            }
        } else {
            c->want = start < 0 ? 0 : start;
        }
        if (c->fd >= 0 && c->want < c->next) { /* reposition (END scan above) */
            close(c->fd);
            c->fd = -1;
        }
    }
    if (max == 0) return 0;
    int64_t deadline = ql_monotonic_us() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000;
    int64_t nap_us = 500;
    for (;;) {
        int n = cons_read(c, recs, max, err, errlen);
        if (n != 0) return n;
        int64_t left = deadline - ql_monotonic_us();
        if (left <= 0) return 0;
        if (nap_us > left) nap_us = left;
        struct timespec ts = {0, (long)nap_us * 1000};
        nanosleep(&ts, NULL);
        if (nap_us < 8000) nap_us *= 2;
    }
}

static int cons_commit(ql_consumer_t *cc, int32_t partition, int64_t next_offset, char *err, size_t errlen)
{
    segcons_t *c = (segcons_t *)cc;
    if (partition != 0 || next_offset < 0) return ql_err(err, errlen, "bad commit position"), QL_LOG_EINVAL;
    if (!c->name) return 0;
    char path[4096], txt[32];
    snprintf(path, sizeof path, "%s/checkpoints/%s", c->dir, c->name);
    int n = snprintf(txt, sizeof txt, "%" PRId64 "\n", next_offset);
    return ql_write_file_atomic(path, txt, (size_t)n, err, errlen) == 0 ? 0 : QL_LOG_EIO;
}

static int cons_end_offset(ql_consumer_t *cc, int32_t partition, int64_t *end)
{
    segcons_t *c = (segcons_t *)cc;
    cons_try_head(c);
    if (partition != 0) {
        *end = -1;
        return QL_LOG_EINVAL;
    }
    /* no writer has ever opened this log: the end is where reading stopped */
    *end = c->head ? head_load(c->head) : c->next;
    return 0;
}

static int cons_at_end(ql_consumer_t *cc) { return ((segcons_t *)cc)->at_end; }

static void cons_close(ql_consumer_t *cc)
{
    segcons_t *c = (segcons_t *)cc;
    if (c->fd >= 0) close(c->fd);
    head_unmap(c->head, c->head_fd);
    free(c->buf);
    free(c->dir);
    free(c->name);
    free(c);
}

static const ql_consumer_ops_t cons_ops = {cons_poll, cons_commit, cons_end_offset, cons_at_end, cons_close};

int ql_consumer_open_embedded(ql_consumer_t **out, const char *dir, const char *name,
                              const ql_consumer_callbacks_t *cb, char *err, size_t errlen)
{
    *out = NULL;
    if (name) {
        if (!*name || name[0] == '.' || strlen(name) > 200)
            return ql_err(err, errlen, "bad consumer name '%s'", name), QL_LOG_EINVAL;
        for (const char *p = name; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                  *p == '-' || *p == '_' || *p == '.'))
                return ql_err(err, errlen, "bad consumer name '%s' (use letters, digits, - _ .)", name),
                       QL_LOG_EINVAL;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ql_err(err, errlen, "no log at '%s'", dir), QL_LOG_EINVAL;
    segcons_t *c = ql_calloc(1, sizeof *c);
    c->base.ops = &cons_ops;
    c->dir = ql_strdup(dir);
    c->name = name ? ql_strdup(name) : NULL;
    if (cb) c->cb = *cb;
    c->fd = -1;
    c->head_fd = -1;
    c->cap = READ_CHUNK;
    c->buf = ql_malloc(c->cap);
    cons_try_head(c);
    *out = &c->base;
    return 0;
}
