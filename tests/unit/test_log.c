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
#include <sys/stat.h>
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

int main(void)
{
    mkroot();
    test_crc();
    test_frame();
    test_basic();
    rm_rf(root);
    return tap_done();
}
