/*
 * test_pq_write.c — the Parquet writer's edge cases and contracts: API errors
 * (types, REQUIRED, frozen schema, options), abort/replace semantics, the
 * file frame (magic, footer length), bounded memory, write failures, and
 * round trips through questlog's reader (values, statistics, offsets).
 * Independent readers (DuckDB, hyparquet) check the same files in
 * tests/interop/pq_write.t.
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pq.h"
#include "tap.h"
#include "util.h"

static char dir[] = "/tmp/test_pq_write.XXXXXX";
static char err[512];

static int open_out(const char *name, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", dir, name);
    return open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
}

static void test_api_errors(void)
{
    char path[256];
    int fd = open_out("errors.parquet", path, sizeof path);
    ql_pq_writer_t *w;
    ql_pq_write_options_t bad = {0};
    bad.codec = QL_PQ_GZIP;
    ok(ql_pq_writer_new(&w, fd, &bad, err, sizeof err) < 0, "GZIP is not written (%s)", err);
    bad.codec = QL_PQ_ZSTD;
    bad.zstd_level = 20;
    ok(ql_pq_writer_new(&w, fd, &bad, err, sizeof err) < 0, "zstd level 20 refused (%s)", err);
    ok(ql_pq_writer_new(&w, fd, NULL, err, sizeof err) == 0, "defaults");
    int a = ql_pq_writer_add_column(w, "a", QL_PQ_INT64, 1, err, sizeof err);
    int s = ql_pq_writer_add_column(w, "s", QL_PQ_STRING, 0, err, sizeof err);
    is_int(a, 0, "first column index");
    is_int(s, 1, "second column index");
    ok(ql_pq_writer_add_column(w, "a", QL_PQ_INT32, 0, err, sizeof err) < 0, "duplicate name refused (%s)", err);
    ok(ql_pq_writer_add_column(w, "f", QL_PQ_FLOAT, 0, err, sizeof err) < 0, "FLOAT is read-only");
    ok(ql_pq_writer_add_column(w, "", QL_PQ_INT32, 0, err, sizeof err) < 0, "empty name refused");
    is_int(ql_pq_writer_column_index(w, "s", 1), 1, "column_index by name");
    is_int(ql_pq_writer_column_index(w, "sx", 1), 1, "column_index honours the length");
    is_int(ql_pq_writer_column_index(w, "zz", 2), -1, "column_index of an unknown name");
    ok(ql_pq_writer_set_string(w, a, "x", 1) < 0, "string into INT64 refused");
    ok(ql_pq_writer_set_int32(w, a, 1) < 0, "int32 into INT64 refused");
    ok(ql_pq_writer_set_double(w, s, 1) < 0, "double into STRING refused");
    ok(ql_pq_writer_set_int64(w, 7, 1) < 0, "unknown column index refused");
    ok(ql_pq_writer_set_bool(w, -1, 1) < 0, "negative column index refused");
    ql_pq_writer_set_string(w, s, "only s", 6);
    ok(ql_pq_writer_end_row(w, err, sizeof err) < 0 && strstr(err, "'a'"), "missing REQUIRED column: %s", err);
    is_int(ql_pq_writer_num_rows(w), 0, "the failed row was not counted");
    ql_pq_writer_set_int64(w, a, 1);
    ok(ql_pq_writer_end_row(w, err, sizeof err) == 0, "a complete row (the failed row's string is gone)");
    ok(ql_pq_writer_add_column(w, "late_req", QL_PQ_INT64, 1, err, sizeof err) < 0,
       "REQUIRED column after rows refused (%s)", err);
    ok(ql_pq_writer_add_column(w, "late_opt", QL_PQ_BOOL, 0, err, sizeof err) == 2, "OPTIONAL column after rows");
    is_int(ql_pq_writer_schema_frozen(w), 0, "schema not frozen before a row group is written");
    ok(ql_pq_writer_finish(w, err, sizeof err) == 0, "finish");
    ok(ql_pq_writer_add_column(w, "after", QL_PQ_INT64, 0, err, sizeof err) == QL_PQ_ESCHEMA,
       "add_column after a row group: QL_PQ_ESCHEMA");
    ok(ql_pq_writer_end_row(w, err, sizeof err) < 0, "end_row after finish is an error");
    ql_pq_writer_free(w);
    close(fd);

    ql_pq_file_t *f;
    ok(ql_pq_open(&f, path, err, sizeof err) == 0, "file readable (%s)", err);
    if (f) {
        is_int(ql_pq_num_rows(f), 1, "one row");
        is_int(ql_pq_num_columns(f), 3, "three columns");
        ql_pq_column_data_t d = {0};
        ok(ql_pq_read_column(f, 0, 1, &d, err, sizeof err) == 0 && d.n == 1 && !d.valid[0],
           "the failed row's string did not leak into the kept row");
        ql_pq_column_data_free(&d);
        ql_pq_close(f);
    }
}

static void test_empty_and_frame(void)
{
    char path[256];
    int fd = open_out("empty.parquet", path, sizeof path);
    ql_pq_writer_t *w;
    ql_pq_writer_new(&w, fd, NULL, err, sizeof err);
    ql_pq_writer_add_column(w, "a", QL_PQ_STRING, 0, err, sizeof err);
    ok(ql_pq_writer_finish(w, err, sizeof err) == 0, "0-row file finishes");
    uint64_t n = ql_pq_writer_bytes_written(w);
    ql_pq_writer_free(w);
    close(fd);
    char *buf;
    size_t len;
    ql_read_file(path, &buf, &len, err, sizeof err);
    is_int(len, n, "bytes_written matches the file size");
    uint32_t flen = 0;
    if (len >= 12) memcpy(&flen, buf + len - 8, 4);
    ok(len >= 12 && memcmp(buf, "PAR1", 4) == 0 && memcmp(buf + len - 4, "PAR1", 4) == 0 && flen + 12 == len,
       "magic at both ends, footer length = file - 12 (no row groups)");
    ql_pq_file_t *f;
    ok(ql_pq_open_mem(&f, buf, len, err, sizeof err) == 0 && ql_pq_num_rows(f) == 0 && ql_pq_num_row_groups(f) == 0,
       "reader: 0 rows, 0 row groups");
    if (f) {
        const char *cb = ql_pq_created_by(f);
        /* (the build hash is the one pq_write.o was compiled with, which may
         * predate this test binary's QL_BUILD) */
        const char *want = "questlog version " QL_VERSION " (build ";
        ok(cb && strncmp(cb, want, strlen(want)) == 0 && strlen(cb) > strlen(want) + 1 && cb[strlen(cb) - 1] == ')',
           "created_by: %s", cb);
        ql_pq_close(f);
    }
    free(buf);
}

/* Round trip through questlog's reader: every value, stats, offsets. */
static void test_round_trip(void)
{
    char path[256];
    int fd = open_out("rt.parquet", path, sizeof path);
    ql_pq_writer_t *w;
    ql_pq_write_options_t o = {QL_PQ_SNAPPY, 0, 1000, 0, 4096, 0, NULL};
    ql_pq_writer_new(&w, fd, &o, err, sizeof err);
    int s = ql_pq_writer_add_column(w, "s", QL_PQ_STRING, 0, err, sizeof err);
    int i = ql_pq_writer_add_column(w, "i", QL_PQ_INT64, 1, err, sizeof err);
    int d = ql_pq_writer_add_column(w, "d", QL_PQ_DOUBLE, 0, err, sizeof err);
    int b = ql_pq_writer_add_column(w, "b", QL_PQ_BOOL, 0, err, sizeof err);
    int t = ql_pq_writer_add_column(w, "t", QL_PQ_TIMESTAMP, 0, err, sizeof err);
    int i3 = ql_pq_writer_add_column(w, "i3", QL_PQ_INT32, 0, err, sizeof err);
    enum { N = 2500 };
    char buf[64];
    for (int r = 0; r < N; r++) {
        snprintf(buf, sizeof buf, "k%d", r % 17);
        if (r % 5) ql_pq_writer_set_string(w, s, buf, strlen(buf));
        ql_pq_writer_set_int64(w, i, r % 2 ? -r : r * 1000000007LL);
        if (r % 3) ql_pq_writer_set_double(w, d, r == 1 ? -0.0 : r / 4.0);
        if (r % 7) ql_pq_writer_set_bool(w, b, r % 2);
        ql_pq_writer_set_int64(w, t, 1795000000000000LL + r);
        if (r != N - 1) ql_pq_writer_set_int32(w, i3, r - 1000);
        if (r == 10) { /* replaced value and an aborted row */
            ql_pq_writer_set_int64(w, i, 5);
            ql_pq_writer_set_int64(w, i, 10 * 1000000007LL);
        }
        if (ql_pq_writer_end_row(w, err, sizeof err)) break;
        if (r == 20) {
            ql_pq_writer_set_int64(w, i, 424242);
            ql_pq_writer_set_string(w, s, "aborted", 7);
            ql_pq_writer_abort_row(w);
        }
    }
    is_int(ql_pq_writer_num_rows(w), N, "rows counted");
    ok(ql_pq_writer_schema_frozen(w), "schema frozen after the first row group");
    ok(ql_pq_writer_finish(w, err, sizeof err) == 0, "finish (%s)", err);
    ql_pq_writer_free(w);
    close(fd);

    ql_pq_file_t *f = NULL;
    if (ql_pq_open(&f, path, err, sizeof err)) {
        ok(0, "open: %s", err);
        return;
    }
    is_int(ql_pq_num_row_groups(f), 3, "3 row groups of <= 1000 rows");
    int good = 1, stats_good = 1;
    int64_t row0 = 0;
    for (int rg = 0; rg < ql_pq_num_row_groups(f); rg++) {
        int64_t n = ql_pq_row_group_rows(f, rg);
        ql_pq_column_data_t cd[6];
        memset(cd, 0, sizeof cd);
        for (int c = 0; c < 6; c++)
            if (ql_pq_read_column(f, rg, c, &cd[c], err, sizeof err)) {
                good = 0;
                diag("rg %d col %d: %s", rg, c, err);
            }
        for (int64_t k = 0; good && k < n; k++) {
            int r = (int)(row0 + k);
            snprintf(buf, sizeof buf, "k%d", r % 17);
            int sv = r % 5 != 0;
            if (cd[0].valid[k] != sv || (sv && (cd[0].str_len[k] != strlen(buf) || memcmp(cd[0].str[k], buf, strlen(buf)))))
                good = 0, diag("row %d s", r);
            if (cd[1].i64[k] != (r % 2 ? -r : r * 1000000007LL)) good = 0, diag("row %d i", r);
            if (r % 3 && (!cd[2].valid[k] || cd[2].f64[k] != (r == 1 ? -0.0 : r / 4.0) || (r == 1 && !signbit(cd[2].f64[k]))))
                good = 0, diag("row %d d", r);
            if ((r % 7 != 0) != !!cd[3].valid[k] || (r % 7 && cd[3].i64[k] != r % 2)) good = 0, diag("row %d b", r);
            if (cd[4].i64[k] != 1795000000000000LL + r) good = 0, diag("row %d t", r);
            if ((r != N - 1) != !!cd[5].valid[k] || (r != N - 1 && cd[5].i64[k] != r - 1000)) good = 0, diag("row %d i3", r);
        }
        /* chunk statistics against the values */
        const ql_pq_chunk_info_t *ci = ql_pq_chunk(f, rg, 1);
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        for (int64_t k = 0; k < n; k++) {
            if (cd[1].i64[k] < mn) mn = cd[1].i64[k];
            if (cd[1].i64[k] > mx) mx = cd[1].i64[k];
        }
        if (!ci || !ci->min.is_set || ci->min.i != mn || ci->max.i != mx || ci->null_count != 0) stats_good = 0;
        ci = ql_pq_chunk(f, rg, 0);
        int64_t nulls = 0;
        for (int64_t k = 0; k < n; k++) nulls += !cd[0].valid[k];
        if (!ci || ci->null_count != nulls || ci->num_values != n || ci->dictionary_page_offset < 0 ||
            ci->data_page_offset <= ci->dictionary_page_offset || !ci->min.is_set || ci->min.len != 2 ||
            memcmp(ci->min.s, "k0", 2) || memcmp(ci->max.s, "k9", 2))
            stats_good = 0, diag("rg %d string chunk info", rg);
        ci = ql_pq_chunk(f, rg, 4);
        if (!ci || ci->dictionary_page_offset != -1) stats_good = 0, diag("rg %d unique timestamps got a dictionary", rg);
        if (rg == 0) {
            ci = ql_pq_chunk(f, rg, 2);
            if (!ci || !ci->min.is_set || !signbit(ci->min.d) || ci->min.d != 0)
                stats_good = 0, diag("double min should be -0.0");
        }
        for (int c = 0; c < 6; c++) ql_pq_column_data_free(&cd[c]);
        row0 += n;
    }
    ok(good, "every value round-trips (replace, abort, nulls, -0.0)");
    ok(stats_good, "statistics, null_count, num_values, dictionary offsets");
    ql_pq_close(f);
}

/* Memory stays bounded by the row-group budget whatever the input size. */
static void test_bounded_memory(void)
{
    char path[256];
    int fd = open_out("big.parquet", path, sizeof path);
    ql_pq_writer_t *w;
    ql_pq_write_options_t o = {QL_PQ_ZSTD, 1, 1000000000, 2u << 20, 256 * 1024, 256 * 1024, NULL};
    ql_pq_writer_new(&w, fd, &o, err, sizeof err);
    int s = ql_pq_writer_add_column(w, "s", QL_PQ_STRING, 1, err, sizeof err);
    int i = ql_pq_writer_add_column(w, "i", QL_PQ_INT64, 0, err, sizeof err);
    size_t peak = 0;
    char buf[200];
    memset(buf, 'x', sizeof buf);
    int rc = 0;
    for (int r = 0; r < 200000 && !rc; r++) {
        uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(r + 1); /* poorly compressible */
        for (int k = 0; k < 150; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[k] = (char)('!' + x % 90);
        }
        ql_pq_writer_set_string(w, s, buf, 150);
        ql_pq_writer_set_int64(w, i, r);
        rc = ql_pq_writer_end_row(w, err, sizeof err);
        size_t b = ql_pq_writer_buffered_bytes(w);
        if (b > peak) peak = b;
    }
    ok(rc == 0, "200k rows of 150-byte strings (30 MB) written");
    ok(peak < 8u << 20, "buffered bytes stayed bounded: peak %zu with a 2 MiB row-group budget", peak);
    ok(ql_pq_writer_bytes_written(w) > 0, "row groups went to the file before finish");
    ql_pq_writer_finish(w, err, sizeof err);
    ql_pq_writer_free(w);
    close(fd);
    ql_pq_file_t *f;
    if (ql_pq_open(&f, path, err, sizeof err) == 0) {
        ok(ql_pq_num_row_groups(f) > 5, "row groups closed by bytes: %d", ql_pq_num_row_groups(f));
        is_int(ql_pq_num_rows(f), 200000, "all rows in the footer");
        ql_pq_close(f);
    } else {
        ok(0, "open: %s", err);
    }
}

static void test_write_failure(void)
{
    int fds[2];
    if (pipe(fds)) return;
    close(fds[0]); /* writes now fail with EPIPE */
    signal(SIGPIPE, SIG_IGN);
    ql_pq_writer_t *w;
    ql_pq_write_options_t o = {QL_PQ_UNCOMPRESSED, 0, 10, 0, 0, 0, NULL};
    ql_pq_writer_new(&w, fds[1], &o, err, sizeof err);
    int a = ql_pq_writer_add_column(w, "a", QL_PQ_INT32, 1, err, sizeof err);
    int rc = 0;
    for (int r = 0; r < 10 && !rc; r++) {
        ql_pq_writer_set_int32(w, a, r);
        rc = ql_pq_writer_end_row(w, err, sizeof err);
    }
    ok(rc < 0 && strstr(err, "write"), "a failing fd surfaces at the row-group flush: %s", err);
    ql_pq_writer_set_int32(w, a, 1);
    ok(ql_pq_writer_end_row(w, err, sizeof err) < 0, "later rows are refused");
    ok(ql_pq_writer_finish(w, err, sizeof err) < 0, "finish is refused");
    ql_pq_writer_free(w);
    close(fds[1]);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    test_api_errors();
    test_empty_and_frame();
    test_round_trip();
    test_bounded_memory();
    test_write_failure();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) diag("cleanup failed");
    return tap_done();
}
