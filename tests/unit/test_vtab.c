/*
 * test_vtab.c — the questlog_parquet virtual table on files written by
 * questlog's own writer: union schema (a later file adds a column, drops
 * another), Hive `dt`, the QL_TIME collation, row-group skipping counters,
 * and a differential check: many WHERE clauses give the same rows through
 * the virtual table (with pushdown) as over a plain SQLite copy of the data.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pq.h"
#include "tap.h"
#include "util.h"
#include "vtab.h"

static char root[256];

/* Writes DIR/NAME with `rows` rows starting at `base`; with_d / with_extra
 * choose the columns. Row groups of 10 rows. */
static int write_file(const char *dir, const char *name, int base, int rows, int with_d, int with_extra)
{
    char err[256], path[512];
    ql_pq_writer_t *w = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (ql_mkdir_p(dir, err, sizeof err) < 0) return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    ql_pq_write_options_t opt = {.codec = QL_PQ_ZSTD, .zstd_level = 3, .row_group_rows = 10};
    int rc = ql_pq_writer_new(&w, fd, &opt, err, sizeof err);
    int c_id = ql_pq_writer_add_column(w, "event_id", QL_PQ_STRING, 1, err, sizeof err);
    int c_ts = ql_pq_writer_add_column(w, "timestamp", QL_PQ_TIMESTAMP, 1, err, sizeof err);
    int c_host = ql_pq_writer_add_column(w, "Host", QL_PQ_STRING, 0, err, sizeof err);
    int c_n = ql_pq_writer_add_column(w, "n", QL_PQ_INT64, 0, err, sizeof err);
    int c_b = ql_pq_writer_add_column(w, "b", QL_PQ_BOOL, 0, err, sizeof err);
    int c_d = with_d ? ql_pq_writer_add_column(w, "d", QL_PQ_DOUBLE, 0, err, sizeof err) : -1;
    int c_x = with_extra ? ql_pq_writer_add_column(w, "extra", QL_PQ_STRING, 0, err, sizeof err) : -1;
    for (int i = base; rc == 0 && i < base + rows; i++) {
        char id[32];
        snprintf(id, sizeof id, "ev%04d", i);
        ql_pq_writer_set_string(w, c_id, id, strlen(id));
        /* 2026-01-01T00:00:00Z + i seconds + 250 ms */
        ql_pq_writer_set_int64(w, c_ts, 1767225600000000LL + (int64_t)i * 1000000 + 250000);
        if (i % 7) {
            const char *h = i % 2 ? "user1.comcast.com" : "user2.att.com";
            ql_pq_writer_set_string(w, c_host, h, strlen(h));
        }
        if (i % 5) ql_pq_writer_set_int64(w, c_n, i);
        ql_pq_writer_set_bool(w, c_b, i % 3 == 0);
        if (c_d >= 0 && i % 4) ql_pq_writer_set_double(w, c_d, i * 0.5);
        if (c_x >= 0) ql_pq_writer_set_string(w, c_x, "new", 3);
        rc = ql_pq_writer_end_row(w, err, sizeof err);
    }
    if (rc == 0) rc = ql_pq_writer_finish(w, err, sizeof err);
    if (rc < 0) diag("writer: %s", err);
    ql_pq_writer_free(w);
    close(fd);
    return rc;
}

static int cmp_rows(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static long long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -999;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        diag("prepare %s: %s", sql, sqlite3_errmsg(db));
        return v;
    }
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    else diag("step %s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

static char *q_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    char *v = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        diag("prepare %s: %s", sql, sqlite3_errmsg(db));
        return ql_strdup("(error)");
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        v = ql_strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "(null)");
    else
        v = ql_strdup(sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

int main(void)
{
    char err[512], dir[512], sql[1024];
    snprintf(root, sizeof root, "/tmp/ql_test_vtab.XXXXXX");
    if (!mkdtemp(root)) return 1;

    snprintf(dir, sizeof dir, "%s/t/dt=2026-01-01", root);
    ok(write_file(dir, "part-00000-0-29.parquet", 0, 30, 1, 0) == 0, "first file written (30 rows, 3 row groups)");
    snprintf(dir, sizeof dir, "%s/t/dt=2026-01-02", root);
    ok(write_file(dir, "part-00000-30-49.parquet", 30, 20, 0, 1) == 0, "second file: no d, adds extra");

    /* The lake table itself. */
    ql_vtab_table_t *t = NULL;
    snprintf(dir, sizeof dir, "%s/t", root);
    ok(ql_vtab_table_open(&t, dir, err, sizeof err) == 0, "table opens");
    if (t) {
        is_int(t->nfiles, 2, "two files");
        is_int(t->rows, 50, "rows from footers");
        is_int(t->ncols, 8, "union: 7 file columns + dt");
        is_str(t->cols[t->ncols - 1].name, "dt", "dt is last");
        is_int(t->cols[ql_vtab_table_column(t, "extra")].type, QL_PQ_STRING, "extra is a STRING column");
    }
    ql_vtab_table_free(t);
    t = NULL;
    snprintf(dir, sizeof dir, "%s/nope", root);
    ok(ql_vtab_table_open(&t, dir, err, sizeof err) < 0 && strstr(err, "nope"), "missing dir is an error: %s", err);

    sqlite3 *db;
    ql_vtab_stats_t *st = NULL;
    sqlite3_open(":memory:", &db);
    is_int(ql_vtab_register(db, &st), SQLITE_OK, "module registered");
    ok(ql_vtab_attach_lake(db, root, err, sizeof err) == 0, "lake attached: %s", err);

    char *s = q_text(db, "select group_concat(name || ' ' || type, ', ') from pragma_table_info('t')");
    is_str(s, "event_id TEXT, timestamp TEXT, Host TEXT, n INTEGER, b INTEGER, d REAL, extra TEXT, dt TEXT",
           "declared columns and types");
    free(s);
    is_int(q_int(db, "select count(*) from t"), 50, "count(*)");
    is_int(q_int(db, "select count(d) from t where dt = '2026-01-02'"), 0, "column absent from a file is NULL");
    is_int(q_int(db, "select count(extra) from t"), 20, "column added by a later file");
    s = q_text(db, "select timestamp from t where event_id = 'ev0001'");
    is_str(s, "2026-01-01T00:00:01.250000Z", "TIMESTAMP as RFC 3339 text, µs, UTC");
    free(s);

    /* QL_TIME: by instant, whatever the spelling of the literal. */
    is_int(q_int(db, "select count(*) from t where timestamp >= '2026-01-01T00:00:10Z'"), 40, "timestamp >= ...Z (whole second)");
    is_int(q_int(db, "select count(*) from t where timestamp >= '2026-01-01 00:00:10'"), 40, "space instead of T, no zone");
    is_int(q_int(db, "select count(*) from t where timestamp < '2026-01-01T01:00:10+01:00'"), 10, "offset literal");
    is_int(q_int(db, "select count(*) from t where timestamp > '2026-01-02'"), 0, "a date is its midnight UTC");
    is_int(q_int(db, "select count(*) from t where timestamp < 'soon'"), 50, "not a time: compared as text");
    is_int(q_int(db, "select count(*) from t where timestamp = '2026-01-01T00:00:03.25Z'"), 1, "equality across spellings");
    is_int(q_int(db, "select '2026-01-01T00:00:00.5Z' > '2026-01-01T00:00:00Z' collate QL_TIME"), 1, "collation: fraction after whole second");

    /* Skipping: 3 + 2 row groups of 10 rows. */
    memset(st, 0, sizeof *st);
    is_int(q_int(db, "select count(*) from t where n >= 40"), 8, "n >= 40");
    ok(st->rg_scanned == 1 && st->rg_skipped == 4, "n >= 40 reads 1 row group, skips 4 (%lld/%lld)",
       (long long)st->rg_scanned, (long long)st->rg_skipped);
    memset(st, 0, sizeof *st);
    is_int(q_int(db, "select count(*) from t where dt = '2026-01-01' and timestamp < '2026-01-01T00:00:09Z'"), 9, "dt and timestamp");
    ok(st->rg_scanned == 1 && st->files_skipped == 1, "file skipped by dt, row groups by timestamp (%lld scanned)",
       (long long)st->rg_scanned);
    memset(st, 0, sizeof *st);
    is_int(q_int(db, "select count(*) from t where extra = 'new'"), 20, "filter on a column one file lacks");
    ok(st->files_skipped == 1, "the file without the column is skipped");
    memset(st, 0, sizeof *st);
    is_int(q_int(db, "select count(*) from t where Host = 'user1.comcast.con'"), 0, "value inside min..max, absent");
    ok(st->rg_skipped_dict == 5 && st->rg_scanned == 0, "every row group skipped by its dictionary (%lld of %lld)",
       (long long)st->rg_skipped_dict, (long long)st->rg_skipped);
    memset(st, 0, sizeof *st);
    is_int(q_int(db, "select count(*) from t where Host = 'user2.att.com'"), 21, "value present");
    ok(st->rg_skipped_dict == 0 && st->rg_scanned == 5, "no row group skipped when the value is there");
    s = q_text(db, "select questlog_parquet_stats()");
    ok(strncmp(s, "row groups: scanned ", 20) == 0, "questlog_parquet_stats(): %s", s);
    free(s);

    /* Differential: every WHERE gives the same rows as a plain table. */
    ok(sqlite3_exec(db,
                    "CREATE TABLE c(event_id TEXT, timestamp TEXT COLLATE QL_TIME, Host TEXT, n INTEGER, b INTEGER,"
                    " d REAL, extra TEXT, dt TEXT); INSERT INTO c SELECT * FROM t",
                    NULL, NULL, NULL) == SQLITE_OK, "plain copy");
    static const char *wheres[] = {
        "n = 12", "n = 12.0", "n = 12.5", "n > 12.5", "n <= '12'", "n = '12'", "n < -1", "n > 9223372036854775807",
        "n >= 10 and n < 20", "n is null", "n is not null", "n in (1, 2, 3, 35)", "n between 3 and 33",
        "d > 10", "d = 7.5", "d <= 3", "d is null", "d > 'a'", "b = 1", "b = 0", "b > 0.5",
        "Host = 'user1.comcast.com'", "Host > 'user1'", "Host < 'user2.att.com'", "Host is null",
        "Host = 1", "Host like 'USER%'", "Host = 'USER1.COMCAST.COM' collate nocase",
        "timestamp >= '2026-01-01T00:00:25Z'", "timestamp < '2026-01-01T00:00:25.250000Z'",
        "timestamp <= '2026-01-01T00:00:25.250000Z'", "timestamp > 5", "timestamp = '2026-01-01T00:00:07.250000+00:00'",
        "timestamp > '2026-01-01T00:00:25Z' collate binary", "dt = '2026-01-02'", "dt > '2026-01-01'",
        "dt is null", "dt = 2026", "timestamp > '2026-01-01'", "timestamp >= '2026-01-01 00:00:10'", "timestamp < 'soon'", "extra = 'new'", "extra is null", "extra > 'a' and n < 45",
        "event_id >= 'ev0045'", "event_id < 'ev0003' or n = 44", "Host = 'user1.comcast.con'",
        "Host in ('user1.comcast.con', 'user2.att.com')", "n = 13", "n = 15", "event_id = 'ev0007'",
        /* constraints the module decides alone (omit): exact at the edges */
        "timestamp > '2026-01-01T00:00:24.250000Z'", "timestamp >= '2026-01-01T00:00:24.250000Z'",
        "timestamp < '2026-01-01T00:00:60.000000Z'", "timestamp <= '2026-01-01T00:00:59.999999+00:00'",
        "timestamp = '2026-01-01T00:00:24.25Z'", "timestamp > '2026-01-01T01:00:00+01:00'",
        "d = 7", "d < 7.25", "n > 12.0", "n >= 1e3", "n < 12.000001", "b is not null and n is null",
        "dt >= '2026-01-02' and n > 40", "dt < '2026-01-02'", "extra is not null",
        /* a comparison filter the module drops (text against INTEGER) before
         * another: the next filter must not inherit its value */
        "n = 'abc' and n > 3", "n < '2026-01-01T00:00:10Z' and timestamp >= 'zzz'",
        "n < '2026-01-01T00:00:10Z' and event_id >= 'ev0040' and timestamp > 'soon'",
    };
    for (size_t i = 0; i < QL_ARRAY_LEN(wheres); i++) {
        snprintf(sql, sizeof sql, "select count(*) || ':' || coalesce(group_concat(event_id), '') from (select event_id from t where %s order by event_id)", wheres[i]);
        char *a = q_text(db, sql);
        snprintf(sql, sizeof sql, "select count(*) || ':' || coalesce(group_concat(event_id), '') from (select event_id from c where %s order by event_id)", wheres[i]);
        char *b = q_text(db, sql);
        ok(strcmp(a, b) == 0, "same rows as a plain table: where %s (%.20s)", wheres[i], a);
        if (strcmp(a, b)) diag("vtab %s\n# plain %s", a, b);
        free(a);
        free(b);
    }
    /* A bound parameter is not a constant when the plan is made: SQLite keeps checking it. */
    {
        sqlite3_stmt *bs = NULL;
        long long got = -1;
        if (sqlite3_prepare_v2(db, "select count(*) from t where n > ?1 and timestamp >= ?2", -1, &bs, NULL) == SQLITE_OK) {
            sqlite3_bind_text(bs, 1, "12", -1, SQLITE_STATIC);   /* text against INTEGER: SQLite's affinity rules */
            sqlite3_bind_text(bs, 2, "2026-01-01T00:00:30Z", -1, SQLITE_STATIC);
            if (sqlite3_step(bs) == SQLITE_ROW) got = sqlite3_column_int64(bs, 0);
        }
        sqlite3_finalize(bs);
        long long want = q_int(db, "select count(*) from c where n > '12' and timestamp >= '2026-01-01T00:00:30Z'");
        ok(got == want && want > 0, "bound parameters: %lld rows, plain table %lld", got, want);
    }
    /* GROUP BY / DISTINCT are answered from a grouped scan (no sort in SQLite). */
    static const char *groups[] = {
        "select Host, count(*), sum(n) from %s group by Host",
        "select dt, b, count(*), min(event_id) from %s group by dt, b",
        "select d, count(*) from %s group by d",
        "select n %% 3, count(*) from %s group by 1",
        "select distinct Host from %s",
        "select distinct dt, extra from %s",
        "select Host, count(*) from %s where n > 10 and timestamp < '2026-01-01T00:00:40Z' group by Host",
        "select extra, count(*), avg(d) from %s group by extra having count(*) > 1",
        "select Host, count(*) from %s where Host is not null group by Host order by 2 desc, 1",
        "select Host, count(*) from %s group by Host order by Host",
        "select Host, count(*) from %s group by Host order by Host desc",
        "select dt, b, count(*) from %s group by dt, b order by dt desc, b",
        "select distinct Host from %s order by Host desc",
        "select d, max(n) from %s group by d order by d desc",
        "select timestamp, count(*) from %s where n < 12 group by timestamp order by timestamp desc",
        /* a key column read per row by functions (its string comes without NUL) */
        "select Host, sum(length(Host)), max(upper(Host)), count(*) from %s group by Host",
        "select Host || '!', substr(Host, 2), instr(Host, '.'), count(*) from %s group by Host order by 1",
    };
    for (size_t i = 0; i < QL_ARRAY_LEN(groups); i++) {
        char q[512];
        snprintf(q, sizeof q, groups[i], "t");
        char *a = NULL, *b = NULL;
        sqlite3_stmt *st1 = NULL;
        for (int pass = 0; pass < 2; pass++) {
            snprintf(q, sizeof q, groups[i], pass ? "c" : "t");
            ql_buf_t all = QL_BUF_INIT;
            if (sqlite3_prepare_v2(db, q, -1, &st1, NULL) != SQLITE_OK) { ql_buf_puts(&all, sqlite3_errmsg(db)); }
            else {
                /* rows as text, sorted, so only the set of rows counts */
                int nrow = 0, cap = 0;
                char **rows = NULL;
                while (sqlite3_step(st1) == SQLITE_ROW) {
                    ql_buf_t r = QL_BUF_INIT;
                    for (int c = 0; c < sqlite3_column_count(st1); c++) {
                        const char *v = (const char *)sqlite3_column_text(st1, c);
                        ql_buf_printf(&r, "%s|", v ? v : "NULL");
                    }
                    if (nrow == cap) { cap = cap ? cap * 2 : 16; rows = ql_realloc(rows, (size_t)cap * sizeof *rows); }
                    rows[nrow++] = ql_buf_steal(&r);
                }
                if (!strstr(q, "order by")) qsort(rows, (size_t)nrow, sizeof *rows, cmp_rows);
                for (int k = 0; k < nrow; k++) { ql_buf_printf(&all, "%s\n", rows[k]); free(rows[k]); }
                free(rows);
                ql_buf_printf(&all, "(%d rows)", nrow);
            }
            sqlite3_finalize(st1);
            if (pass) b = ql_buf_steal(&all); else a = ql_buf_steal(&all);
        }
        snprintf(q, sizeof q, groups[i], "t");
        ok(strcmp(a, b) == 0, "grouped scan = plain table: %s", q);
        if (strcmp(a, b)) diag("vtab:\n%s\n# plain:\n%s", a, b);
        free(a);
        free(b);
    }
    /* the plan: no temp b-tree for a GROUP BY on the virtual table */
    sqlite3_stmt *ep;
    ql_buf_t plan = QL_BUF_INIT;
    sqlite3_prepare_v2(db, "explain query plan select Host, count(*) from t group by Host", -1, &ep, NULL);
    while (sqlite3_step(ep) == SQLITE_ROW) ql_buf_printf(&plan, "%s / ", (const char *)sqlite3_column_text(ep, 3));
    sqlite3_finalize(ep);
    ok(plan.data && strstr(plan.data, "VIRTUAL TABLE") && !strstr(plan.data, "TEMP B-TREE"), "GROUP BY needs no sort: %s",
       plan.data ? plan.data : "");
    ql_buf_free(&plan);

    /* A damaged data page is an error with the file, row group and column
     * named, in a streamed scan and in a grouped one (decoded on two threads). */
    snprintf(dir, sizeof dir, "%s/broken", root);
    ok(write_file(dir, "part-00000-0-29.parquet", 0, 30, 1, 0) == 0, "file to damage written");
    snprintf(sql, sizeof sql, "%s/part-00000-0-29.parquet", dir);
    int bfd = open(sql, O_WRONLY);
    static const char junk[40] = "\xff\xfe\xfd garbage where a page header was";
    ok(bfd >= 0 && pwrite(bfd, junk, sizeof junk, 4) == (ssize_t)sizeof junk, "first page damaged");
    if (bfd >= 0) close(bfd);
    snprintf(sql, sizeof sql, "CREATE VIRTUAL TABLE broken USING questlog_parquet('%s')", dir);
    ok(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "damaged table registers (footer intact)");
    static const char *bq[] = {"select count(event_id) from broken",
                               "select Host, count(*), max(event_id) from broken group by Host"};
    for (size_t i = 0; i < QL_ARRAY_LEN(bq); i++) {
        char *emsg = NULL;
        int erc = sqlite3_exec(db, bq[i], NULL, NULL, &emsg);
        ok(erc != SQLITE_OK && emsg && strstr(emsg, "part-00000-0-29.parquet: row group 0 column event_id"),
           "%s: %s", bq[i], emsg ? emsg : "(no error)");
        sqlite3_free(emsg);
    }

    /* The same in a later row group, which a streamed scan decodes ahead on
     * another thread: the error comes through all the same. */
    snprintf(dir, sizeof dir, "%s/broken2", root);
    ok(write_file(dir, "part-00000-0-29.parquet", 0, 30, 1, 0) == 0, "second file to damage written");
    snprintf(sql, sizeof sql, "%s/part-00000-0-29.parquet", dir);
    {
        ql_pq_file_t *pf = NULL;
        int64_t off = -1;
        if (ql_pq_open(&pf, sql, err, sizeof err) == 0) {
            const ql_pq_chunk_info_t *ci = ql_pq_chunk(pf, 1, 0);
            off = ci->dictionary_page_offset >= 0 ? ci->dictionary_page_offset : ci->data_page_offset;
            ql_pq_close(pf);
        }
        bfd = open(sql, O_WRONLY);
        ok(off > 0 && bfd >= 0 && pwrite(bfd, junk, sizeof junk, off) == (ssize_t)sizeof junk,
           "row group 1's first page damaged (at %lld)", (long long)off);
        if (bfd >= 0) close(bfd);
    }
    snprintf(sql, sizeof sql, "CREATE VIRTUAL TABLE broken2 USING questlog_parquet('%s')", dir);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    static const char *bq2[] = {"select count(event_id), max(n) from broken2", "select * from broken2 limit 3",
                                "select Host, max(event_id) from broken2 group by Host"};
    for (size_t i = 0; i < QL_ARRAY_LEN(bq2); i++) {
        char *emsg = NULL;
        int erc = sqlite3_exec(db, bq2[i], NULL, NULL, &emsg);
        if (i == 1) ok(erc == SQLITE_OK, "%s: rows of row group 0 (%s)", bq2[i], emsg ? emsg : "ok");
        else
            ok(erc != SQLITE_OK && emsg && strstr(emsg, "row group 1 column event_id"), "%s: %s", bq2[i],
               emsg ? emsg : "(no error)");
        sqlite3_free(emsg);
    }

    /* Strings with a NUL byte inside go to SQLite with their length (the
     * others, NUL-terminated, without): all bytes arrive either way. */
    snprintf(dir, sizeof dir, "%s/nul", root);
    {
        char path[600];
        ql_pq_writer_t *w = NULL;
        ql_mkdir_p(dir, err, sizeof err);
        snprintf(path, sizeof path, "%s/part-0.parquet", dir);
        int wfd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ql_pq_write_options_t o = {.codec = QL_PQ_ZSTD};
        int wrc = wfd >= 0 ? ql_pq_writer_new(&w, wfd, &o, err, sizeof err) : -1;
        int cs = wrc == 0 ? ql_pq_writer_add_column(w, "s", QL_PQ_STRING, 1, err, sizeof err) : -1;
        static const char *vals[] = {"a\0b", "ab", "a\0b", "a"};
        static const size_t lens[] = {3, 2, 3, 1};
        for (int i = 0; wrc == 0 && i < 4; i++) {
            ql_pq_writer_set_string(w, cs, vals[i], lens[i]);
            wrc = ql_pq_writer_end_row(w, err, sizeof err);
        }
        if (wrc == 0) wrc = ql_pq_writer_finish(w, err, sizeof err);
        ql_pq_writer_free(w);
        if (wfd >= 0) close(wfd);
        ok(wrc == 0, "file with a NUL inside a string written");
    }
    snprintf(sql, sizeof sql, "CREATE VIRTUAL TABLE nul USING questlog_parquet('%s')", dir);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    s = q_text(db, "select group_concat(hex(s), ' ') from nul");
    is_str(s, "610062 6162 610062 61", "streamed: every byte");
    free(s);
    s = q_text(db, "select group_concat(h, ' ') from (select hex(s) || ':' || count(*) h from nul group by s)");
    is_str(s, "61:1 610062:2 6162:1", "grouped: every byte, grouped by all of them");
    free(s);
    s = q_text(db, "select group_concat(hex(s), ' ') from nul where s > 'a'");
    is_str(s, "610062 6162 610062", "filtered");
    free(s);
    sqlite3_close(db);

    /* ql_vtab_open_db registers the lake's tables lazily: a table whose
     * footer is unreadable fails only the statements that name it. */
    snprintf(dir, sizeof dir, "%s/nofooter", root);
    ql_mkdir_p(dir, err, sizeof err);
    snprintf(sql, sizeof sql, "%s/part-00000-0-9.parquet", dir);
    bfd = open(sql, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ok(bfd >= 0 && write(bfd, "PAR1 not a parquet file PAR1", 28) == 28, "a file without a footer");
    if (bfd >= 0) close(bfd);
    ql_vtab_stats_t *lst = NULL;
    err[0] = 0;
    ok(ql_vtab_open_db(&db, root, &lst, err, sizeof err) == 0, "lake opened lazily %s", err);
    is_int(q_int(db, "select count(*) from t where dt = '2026-01-02'"), 20, "a good table works");
    ok(lst && lst->files_scanned == 1, "its counters are the connection's (%lld files)", lst ? (long long)lst->files_scanned : -1LL);
    char *emsg = NULL;
    ok(sqlite3_exec(db, "select count(*) from nofooter", NULL, NULL, &emsg) != SQLITE_OK && emsg &&
           strstr(emsg, "nofooter/part-00000-0-9.parquet"),
       "the bad one fails when named: %s", emsg ? emsg : "(no error)");
    sqlite3_free(emsg);
    is_int(q_int(db, "select count(*) from T"), 50, "names are case-insensitive");
    sqlite3_close(db);

    snprintf(sql, sizeof sql, "rm -rf '%s'", root);
    if (system(sql) != 0) diag("cleanup failed");
    return tap_done();
}
