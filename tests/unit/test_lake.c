/*
 * test_lake.c — unit tests for lake.c: file names, listing that hides files
 * covered by a compacted file, start-up recovery (dead temp files, covered
 * files), the record of loaded offsets (file names + _offsets markers),
 * the temp → rename commit, partition claims: two loaders on one lake
 * never both commit a partition's range, a signal while waiting for a
 * claim's lock does not fail the commit, a claim's deadline against a
 * stopped holder (taking and committing), and the import records (I8): files
 * of an import without its record are hidden and rolled back.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lake.h"
#include "loader.h"
#include "pq.h"
#include "transform.h"
#include "tap.h"
#include "util.h"

static char lake[256];

static void touch(const char *rel, const char *content)
{
    char p[1024], err[256];
    snprintf(p, sizeof p, "%s/%s", lake, rel);
    char d[1024];
    snprintf(d, sizeof d, "%s", p);
    *strrchr(d, '/') = '\0';
    ql_mkdir_p(d, err, sizeof err);
    FILE *f = fopen(p, "w");
    fputs(content, f);
    fclose(f);
}

static int exists(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", lake, rel);
    return access(p, F_OK) == 0;
}

static void test_names(void)
{
    char label[QL_LAKE_LABEL_MAX];
    int32_t p;
    int64_t f, l;
    ok(ql_lake_parse_name("part-00003-0000000000000000010-0000000000000000019.parquet", label, &p, &f, &l) == 0 &&
           p == 3 && f == 10 && l == 19 && !strcmp(label, "00003"), "log file name parses");
    ok(ql_lake_parse_name("part-imp0193abcw1-0000000000000000001-0000000000000000500.parquet", label, &p, &f, &l) == 0 &&
           p == -1 && f == 1 && l == 500 && !strcmp(label, "imp0193abcw1"), "import name parses, partition -1");
    ok(ql_lake_parse_name("part-0-5-4.parquet", label, &p, &f, &l) != 0, "first > last refused");
    ok(ql_lake_parse_name("part-0-5.parquet", label, &p, &f, &l) != 0, "missing field refused");
    ok(ql_lake_parse_name("foo.parquet", label, &p, &f, &l) != 0, "foreign name refused");
    ok(ql_lake_parse_name("part-00000-1-2.parquet.tmp", label, &p, &f, &l) != 0, "temp name refused");
    ql_lake_partition_label(7, label);
    is_str(label, "00007", "partition label zero-padded");
}

static void test_listing_and_recovery(void)
{
    char err[256];
    /* a compaction that crashed after its rename: [0,29] covers [0,9], [10,29] */
    touch("t/dt=2026-11-20/part-00000-0000000000000000000-0000000000000000009.parquet", "a");
    touch("t/dt=2026-11-20/part-00000-0000000000000000010-0000000000000000029.parquet", "b");
    touch("t/dt=2026-11-20/part-00000-0000000000000000000-0000000000000000029.parquet", "ab");
    /* same range in another dt dir: not covered (different directory) */
    touch("t/dt=2026-11-21/part-00000-0000000000000000030-0000000000000000039.parquet", "c");
    touch("t/dt=2026-11-21/part-00001-0000000000000000000-0000000000000000099.parquet", "d");
    touch("t/dt=2026-11-21/foreign.parquet", "x");
    touch("t/dt=2026-11-21/.part-999999999.1.parquet.tmp", "partial");   /* dead pid */
    char live[128];
    snprintf(live, sizeof live, "t/dt=2026-11-21/.part-%ld.1.parquet.tmp", (long)getpid());
    touch(live, "being written");
    touch("t/_offsets", "# marker\n0 45\n2 7\n");   /* the legacy all-partition marker */
    touch("t/_offsets.00003", "3 12\n");            /* a per-partition marker */
    touch("t/.marker-999999999.4.tmp", "3 13\n");   /* a dead loader's marker temp file */

    ql_lake_file_t *files;
    size_t n;
    ok(ql_lake_list_files(lake, "t", &files, &n, err, sizeof err) == 0, "list ok");
    is_int(n, 4, "covered files hidden, temp files never listed");
    if (n == 4) {
        is_str(files[0].name, "part-00000-0000000000000000000-0000000000000000029.parquet", "covering file listed");
        is_str(files[0].dt, "2026-11-20", "dt parsed");
        ok(files[2].partition == 0 && files[2].first == 30, "second dt sorted after");
        is_str(files[3].name, "part-00001-0000000000000000000-0000000000000000099.parquet", "sorted by name in dt");
        is_int(files[1].partition, -1, "foreign file listed with partition -1");
    }
    ql_lake_files_free(files, n);
    ok(ql_lake_list_files(lake, "nope", &files, &n, err, sizeof err) == 0 && n == 0, "missing table: 0 files");

    ql_lake_offsets_t o;
    ok(ql_lake_read_offsets(lake, "t", &o, err, sizeof err) == 0, "read offsets");
    is_int(ql_lake_offsets_get(&o, 0), 45, "marker beyond files wins for p0");
    is_int(ql_lake_offsets_get(&o, 1), 99, "files give p1");
    is_int(ql_lake_offsets_get(&o, 2), 7, "marker-only partition");
    is_int(ql_lake_offsets_get(&o, 3), 12, "per-partition marker read");
    is_int(ql_lake_offsets_get(&o, 4), -1, "unknown partition: -1");
    ql_lake_offsets_free(&o);
    int64_t r = -2;
    ok(ql_lake_read_record(lake, "t", 0, &r, err, sizeof err) == 0 && r == 45, "record of p0: legacy marker (%lld)",
       (long long)r);
    ok(ql_lake_read_record(lake, "t", 1, &r, err, sizeof err) == 0 && r == 99, "record of p1: files");
    ok(ql_lake_read_record(lake, "t", 3, &r, err, sizeof err) == 0 && r == 12, "record of p3: its marker");
    ok(ql_lake_read_record(lake, "t", 4, &r, err, sizeof err) == 0 && r == -1, "record of p4: nothing");
    ok(ql_lake_read_record(lake, "nope", 0, &r, err, sizeof err) == 0 && r == -1, "missing table: -1");

    int removed = 0;
    ok(ql_lake_recover(lake, "t", &removed, err, sizeof err) == 0, "recover ok");
    is_int(removed, 4, "two covered files and two dead temp files deleted");
    ok(!exists("t/.marker-999999999.4.tmp"), "dead marker temp gone");
    ok(!exists("t/dt=2026-11-20/part-00000-0000000000000000000-0000000000000000009.parquet"), "covered file gone");
    ok(exists("t/dt=2026-11-20/part-00000-0000000000000000000-0000000000000000029.parquet"), "covering file kept");
    ok(!exists("t/dt=2026-11-21/.part-999999999.1.parquet.tmp"), "dead temp gone");
    ok(exists(live), "live process's temp kept");

    touch("t/_offsets", "0 banana\n");
    ok(ql_lake_read_offsets(lake, "t", &o, err, sizeof err) != 0, "malformed marker is an error: %s", err);

    char **tables;
    ok(ql_lake_list_tables(lake, &tables, &n, err, sizeof err) == 0 && n == 1 && !strcmp(tables[0], "t"),
       "list tables");
    ql_lake_tables_free(tables, n);
}

static void test_commit(void)
{
    char err[256];
    ql_lake_pending_t p[2];
    ok(ql_lake_pending_open(&p[0], lake, "u", "2026-11-21", err, sizeof err) == 0, "pending open (creates dirs)");
    ok(ql_lake_pending_open(&p[1], lake, "v", "2026-11-21", err, sizeof err) == 0, "second pending");
    write(p[0].fd, "PAR1", 4);
    write(p[1].fd, "PAR1", 4);
    ql_lake_file_t *files;
    size_t n;
    ql_lake_list_files(lake, "u", &files, &n, err, sizeof err);
    is_int(n, 0, "temp file invisible before commit");
    ql_lake_files_free(files, n);
    ql_lake_pending_name(&p[0], "00000", 0, 9);
    ql_lake_pending_name(&p[1], "00000", 5, 9);
    ok(ql_lake_commit(p, 2, err, sizeof err) == 0, "commit");
    ok(exists("u/dt=2026-11-21/part-00000-0000000000000000000-0000000000000000009.parquet"), "renamed u");
    ok(exists("v/dt=2026-11-21/part-00000-0000000000000000005-0000000000000000009.parquet"), "renamed v");

    ql_lake_offsets_t o = {0};
    ql_lake_offsets_set(&o, 0, 20);
    ql_lake_offsets_set(&o, 0, 15);
    is_int(ql_lake_offsets_get(&o, 0), 20, "set only raises");
    ok(ql_lake_write_marker(lake, "u", 0, 20, err, sizeof err) == 0, "marker written");
    ok(ql_lake_write_marker(lake, "u", 2, 7, err, sizeof err) == 0, "another partition's marker");
    ok(exists("u/_offsets.00000") && exists("u/_offsets.00002"), "one marker file per partition");
    ql_lake_offsets_free(&o);
    ok(ql_lake_read_offsets(lake, "u", &o, err, sizeof err) == 0 && ql_lake_offsets_get(&o, 0) == 20 &&
           ql_lake_offsets_get(&o, 2) == 7, "markers read back");
    ql_lake_offsets_free(&o);

    ql_lake_claim_t c1, c2;
    ok(ql_lake_claim_take(lake, 5, &c1, err, sizeof err) == 0, "claim p5");
    ql_lake_claim_unlock(&c1);
    is_int(ql_lake_claim_lock(&c1, err, sizeof err), 0, "still ours");
    ql_lake_claim_unlock(&c1);
    ok(ql_lake_claim_take(lake, 5, &c2, err, sizeof err) == 0, "another claimant takes p5");
    ql_lake_claim_unlock(&c2);
    is_int(ql_lake_claim_lock(&c1, err, sizeof err), 1, "the first one sees it lost p5");
    ql_lake_claim_unlock(&c1);
    is_int(ql_lake_claim_lock(&c2, err, sizeof err), 0, "the second one owns it");
    ql_lake_claim_unlock(&c2);
    ql_lake_claim_release(&c1);
    ql_lake_claim_release(&c2);

    ql_lake_pending_t q;
    ql_lake_pending_open(&q, lake, "u", "2026-11-21", err, sizeof err);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", q.tmp);
    ql_lake_pending_discard(&q);
    ok(access(tmp, F_OK) != 0, "discard deletes the temp file");
}

/* Rows of a table (all visible files) and how many distinct event_id. */
static int64_t count_rows(const char *table, int64_t *distinct)
{
    char err[256];
    ql_lake_file_t *f;
    size_t n;
    int64_t rows = 0;
    char **ids = NULL;
    size_t nid = 0;
    if (ql_lake_list_files(lake, table, &f, &n, err, sizeof err)) return -1;
    for (size_t i = 0; i < n; i++) {
        ql_pq_file_t *pf;
        if (ql_pq_open(&pf, f[i].path, err, sizeof err)) { diag("%s", err); rows = -1; break; }
        rows += ql_pq_num_rows(pf);
        int c = ql_pq_column_index(pf, "event_id");
        for (int rg = 0; c >= 0 && rg < ql_pq_num_row_groups(pf); rg++) {
            ql_pq_column_data_t d;
            if (ql_pq_read_column(pf, rg, c, &d, err, sizeof err)) break;
            for (int64_t r = 0; r < d.n; r++) {
                ids = ql_realloc(ids, (nid + 1) * sizeof *ids);
                ids[nid++] = ql_strndup(d.str[r], d.str_len[r]);
            }
            ql_pq_column_data_free(&d);
        }
        ql_pq_close(pf);
    }
    ql_lake_files_free(f, n);
    int64_t dist = 0;
    for (size_t i = 0; i < nid; i++) {
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++) dup = !strcmp(ids[i], ids[j]);
        dist += !dup;
    }
    for (size_t i = 0; i < nid; i++) free(ids[i]);
    free(ids);
    if (distinct) *distinct = dist;
    return rows;
}

/* Feeds log records [from, to) of a synthetic log through a fresh loader
 * (a "process"), committing every `batch` records. */
static int feed(const ql_transform_t *tf, int64_t from, int64_t to, int64_t batch)
{
    char err[256], rec[256];
    ql_loader_t *l;
    ql_loader_options_t o = {.lake_dir = lake, .transform = tf, .batch_rows = batch};
    o.wopt.codec = QL_PQ_ZSTD;
    if (ql_loader_new(&l, &o, err, sizeof err)) { diag("%s", err); return -1; }
    int64_t start = ql_loader_start_offset(l, 0);
    if (start > from) from = start;
    int rc = 0;
    for (int64_t off = from; off < to && !rc; off++) {
        static const char *types[] = {"purchase_sword", "join_guild", "default", "purchase_sword"};
        int n;
        if (off == 7) n = snprintf(rec, sizeof rec, "{\"event_type\": broken");
        else n = snprintf(rec, sizeof rec,
                     "{\"event_type\":\"%s\",\"event_id\":\"id-%06lld\",\"timestamp\":\"2026-11-20T10:00:00Z\",\"Host\":\"h%lld\"%s}",
                     types[off % 4], (long long)off, (long long)(off % 3), off >= 50 ? ",\"late\":\"x\"" : "");
        rc = ql_loader_add(l, 0, off, 1795168800000000LL, rec, (size_t)n, err, sizeof err);
    }
    if (!rc) rc = ql_loader_flush(l, err, sizeof err);
    if (rc) diag("%s", err);
    ql_loader_free(l);
    return rc;
}

static void test_loader_exactly_once(void)
{
    char err[256];
    ql_config_t *cfg;
    ql_transform_t *tf;
    ql_config_load(&cfg, NULL, err, sizeof err);
    ql_transform_new(&tf, cfg, NULL, err, sizeof err);
    ok(feed(tf, 0, 40, 10) == 0, "load offsets 0..39 in batches of 10");
    int64_t d;
    is_int(count_rows("extracted_events", &d), 39, "extracted_events has every valid record once");
    is_int(count_rows("_rejected", NULL), 1, "the corrupt record is in _rejected");
    is_int(count_rows("purchases", NULL), 19, "purchases (offset 7 is the corrupt one)");
    ok(feed(tf, 0, 40, 10) == 0, "a second run over the same offsets");
    is_int(count_rows("extracted_events", &d), 39, "adds nothing");

    /* crash between two tables' renames: purchases lost its last file */
    ql_lake_file_t *f;
    size_t n;
    ql_lake_list_files(lake, "purchases", &f, &n, err, sizeof err);
    ok(n == 4 && unlink(f[n - 1].path) == 0, "drop purchases' last file (a rename that never happened)");
    ql_lake_files_free(f, n);
    is_int(count_rows("purchases", NULL), 14, "purchases behind");
    ok(feed(tf, 0, 60, 10) == 0, "restart and go on to 59 (schema grows at 50)");
    is_int(count_rows("purchases", &d), 29, "purchases complete");
    is_int(d, 29, "no duplicate in purchases");
    is_int(count_rows("extracted_events", &d), 59, "extracted_events complete");
    is_int(d, 59, "no duplicate in extracted_events");
    is_int(count_rows("_rejected", NULL), 1, "still one rejected");

    ql_lake_offsets_t o;
    ql_lake_read_offsets(lake, "_rejected", &o, err, sizeof err);
    is_int(ql_lake_offsets_get(&o, 0), 59, "_rejected advanced by its marker although it got no rows");
    ql_lake_offsets_free(&o);

    ql_lake_compact_options_t co = {.all = 1};
    ql_lake_compact_stats_t st;
    ok(ql_lake_compact(lake, "extracted_events", &co, &st, err, sizeof err) == 0, "compact: %s", err);
    is_int(st.files_out, 1, "one merged file");
    is_int(count_rows("extracted_events", &d), 59, "compacted table has every row");
    is_int(d, 59, "once");
    ql_lake_list_files(lake, "extracted_events", &f, &n, err, sizeof err);
    ok(n == 1 && f[0].first == 0 && f[0].last == 59, "merged file covers 0..59");
    ql_lake_files_free(f, n);
    ok(feed(tf, 0, 60, 10) == 0, "restart after compaction");
    is_int(count_rows("extracted_events", &d), 59, "still nothing duplicated");
    ql_transform_free(tf);
    ql_config_free(cfg);
}

/* A key that appears after the writer flushed a row group (schema frozen):
 * the table's file is cut before that record and a new one started, inside
 * one batch; both committed together, every row once. */
static void test_schema_split(void)
{
    char err[256], rec[200];
    ql_config_t *cfg;
    ql_transform_t *tf;
    ql_config_load(&cfg, NULL, err, sizeof err);
    ql_transform_new(&tf, cfg, NULL, err, sizeof err);
    strcat(lake, "/split");
    ql_loader_t *l;
    ql_loader_options_t o = {.lake_dir = lake, .transform = tf};
    o.wopt.codec = QL_PQ_ZSTD;
    o.wopt.row_group_rows = 4;
    ok(ql_loader_new(&l, &o, err, sizeof err) == 0, "loader with 4-row row groups");
    int rc = 0;
    for (int64_t off = 0; off < 20 && !rc; off++) {
        int n = snprintf(rec, sizeof rec, "{\"event_type\":\"join_guild\",\"event_id\":\"s%lld\"%s}", (long long)off,
                         off >= 10 ? ",\"color\":\"red\"" : "");
        rc = ql_loader_add(l, 0, off, 1795168800000000LL, rec, (size_t)n, err, sizeof err);
    }
    ok(rc == 0 && ql_loader_flush(l, err, sizeof err) == 0, "20 records, a new key at offset 10: %s", rc ? err : "ok");
    ql_loader_free(l);
    ql_lake_file_t *f;
    size_t n;
    ql_lake_list_files(lake, "join_guilds", &f, &n, err, sizeof err);
    ok(n == 2 && f[0].first == 0 && f[0].last == 9 && f[1].first == 10 && f[1].last == 19,
       "the file was cut at the new key: [0,9] and [10,19]");
    if (n == 2) {
        ql_pq_file_t *pf;
        ok(ql_pq_open(&pf, f[1].path, err, sizeof err) == 0 && ql_pq_column_index(pf, "color") >= 0,
           "the second file has the new column");
        ql_pq_close(pf);
    }
    ql_lake_files_free(f, n);
    int64_t d;
    is_int(count_rows("join_guilds", &d), 20, "every row");
    is_int(d, 20, "once");
    ql_transform_free(tf);
    ql_config_free(cfg);
    *strrchr(lake, '/') = '\0';
}

/* Two log partitions interleaved (Kafka), a revoke with unflushed rows,
 * the partition coming back: each table still exact. */
static void test_partitions(void)
{
    char err[256], rec[200];
    ql_config_t *cfg;
    ql_transform_t *tf;
    ql_config_load(&cfg, NULL, err, sizeof err);
    ql_transform_new(&tf, cfg, NULL, err, sizeof err);
    strcat(lake, "/kafka");   /* a fresh lake under the test's directory */
    ql_loader_t *l;
    ql_loader_options_t o = {.lake_dir = lake, .transform = tf};
    o.wopt.codec = QL_PQ_ZSTD;
    ok(ql_loader_new(&l, &o, err, sizeof err) == 0, "loader");
    is_int(ql_loader_start_offset(l, 1), 0, "new partition 1 starts at 0");
    is_int(ql_loader_start_offset(l, 2), 0, "new partition 2 starts at 0");
    int rc = 0;
    for (int64_t off = 0; off < 10 && !rc; off++)
        for (int32_t p = 1; p <= 2 && !rc; p++) {
            int n = snprintf(rec, sizeof rec, "{\"event_type\":\"join_guild\",\"event_id\":\"p%d-%lld\"}", p,
                             (long long)off);
            rc = ql_loader_add(l, p, off, 1795168800000000LL, rec, (size_t)n, err, sizeof err);
        }
    ok(rc == 0 && ql_loader_flush(l, err, sizeof err) == 0, "20 records from two partitions committed");
    is_int(ql_loader_committed(l, 1), 10, "partition 1 committed up to 10");
    /* partition 2 gets 5 more, then is revoked before a flush */
    for (int64_t off = 10; off < 15 && !rc; off++) {
        int n = snprintf(rec, sizeof rec, "{\"event_type\":\"join_guild\",\"event_id\":\"p2-%lld\"}", (long long)off);
        rc = ql_loader_add(l, 2, off, 1795168800000000LL, rec, (size_t)n, err, sizeof err);
    }
    ql_loader_revoke(l, 2);
    ok(ql_loader_flush(l, err, sizeof err) == 0, "flush after revoke");
    is_int(ql_loader_start_offset(l, 2), 10, "re-assigned partition 2 restarts after what the lake holds");
    for (int64_t off = 5; off < 15 && !rc; off++) {   /* redelivery overlaps what is loaded */
        int n = snprintf(rec, sizeof rec, "{\"event_type\":\"join_guild\",\"event_id\":\"p2-%lld\"}", (long long)off);
        rc = ql_loader_add(l, 2, off, 1795168800000000LL, rec, (size_t)n, err, sizeof err);
    }
    ok(rc == 0 && ql_loader_flush(l, err, sizeof err) == 0, "redelivered records committed");
    ql_loader_free(l);
    int64_t d;
    is_int(count_rows("join_guilds", &d), 25, "join_guilds: 10 + 15 rows");
    is_int(d, 25, "no duplicates across partitions and the revoke");
    ql_lake_file_t *f;
    size_t n;
    ql_lake_list_files(lake, "join_guilds", &f, &n, err, sizeof err);
    int p1 = 0, p2 = 0;
    for (size_t i = 0; i < n; i++) p1 += f[i].partition == 1, p2 += f[i].partition == 2;
    ok(p1 == 1 && p2 == 2, "files per partition (%d, %d)", p1, p2);
    ql_lake_files_free(f, n);
    ql_transform_free(tf);
    ql_config_free(cfg);
    *strrchr(lake, '/') = '\0';
}

static int add_p(ql_loader_t *l, int32_t p, int64_t from, int64_t to, char *err, size_t errlen)
{
    char rec[200];
    int rc = 0;
    for (int64_t off = from; off < to && !rc; off++) {
        int n = snprintf(rec, sizeof rec, "{\"event_type\":\"join_guild\",\"event_id\":\"p%d-%lld\"}", (int)p,
                         (long long)off);
        rc = ql_loader_add(l, p, off, 1795168800000000LL, rec, (size_t)n, err, errlen);
    }
    return rc;
}

/* Two loaders on one lake (a consumer group): partition 1 moves from A to
 * B while A holds an unflushed batch and is not told (a session timeout);
 * A's commit must not land, B's must, and A given it back resumes from the
 * lake, not from its memory. */
static void test_two_loaders(void)
{
    char err[256];
    ql_config_t *cfg;
    ql_transform_t *tf;
    ql_config_load(&cfg, NULL, err, sizeof err);
    ql_transform_new(&tf, cfg, NULL, err, sizeof err);
    strcat(lake, "/two");
    ql_loader_t *a, *b;
    ql_loader_options_t o = {.lake_dir = lake, .transform = tf};
    o.wopt.codec = QL_PQ_ZSTD;
    ok(ql_loader_new(&a, &o, err, sizeof err) == 0 && ql_loader_new(&b, &o, err, sizeof err) == 0, "two loaders");
    is_int(ql_loader_start_offset(a, 1), 0, "A is given p1");
    ok(add_p(a, 1, 0, 10, err, sizeof err) == 0 && ql_loader_flush(a, err, sizeof err) == 0, "A commits 0..9");
    ok(add_p(a, 1, 10, 20, err, sizeof err) == 0, "A reads 10..19, unflushed");
    is_int(ql_loader_start_offset(b, 1), 10, "B is given p1: starts after what the lake holds");
    ok(add_p(b, 1, 10, 25, err, sizeof err) == 0, "B reads 10..24");
    ok(ql_loader_flush(a, err, sizeof err) == 0, "A's flush is not an error");
    ql_loader_stats_t st;
    ql_loader_stats(a, &st);
    is_int(st.lost_batches, 1, "… but A's stale batch was dropped");
    ok(add_p(a, 1, 20, 22, err, sizeof err) == 0 && ql_loader_flush(a, err, sizeof err) == 0,
       "A's further records of p1 are skipped");
    ok(ql_loader_flush(b, err, sizeof err) == 0, "B commits 10..24");
    ql_loader_revoke(b, 1);
    is_int(ql_loader_start_offset(a, 1), 25, "p1 back to A: resumes from the lake (25), not its memory");
    ok(add_p(a, 1, 25, 30, err, sizeof err) == 0 && ql_loader_flush(a, err, sizeof err) == 0, "A commits 25..29");
    ql_loader_free(a);
    ql_loader_free(b);
    int64_t d;
    is_int(count_rows("join_guilds", &d), 30, "join_guilds: 30 rows");
    is_int(d, 30, "each once");
    is_int(count_rows("purchases", NULL), 0, "purchases: none");
    int64_t r;
    ok(ql_lake_read_record(lake, "purchases", 1, &r, err, sizeof err) == 0 && r == 29,
       "purchases' marker for p1 says 29 (%lld)", (long long)r);
    ql_transform_free(tf);
    ql_config_free(cfg);
    *strrchr(lake, '/') = '\0';
}

static size_t count_files(const char *table)
{
    ql_lake_file_t *f;
    size_t n = 0;
    char err[256];
    if (ql_lake_list_files(lake, table, &f, &n, err, sizeof err)) return (size_t)-1;
    ql_lake_files_free(f, n);
    return n;
}

static void test_imports(void)
{
    char err[256], label[QL_LAKE_LABEL_MAX];
    strcat(lake, "/imports");
    const char *id = "0123456789abcdef0123456789abcdef", *id2 = "fedcba9876543210fedcba9876543210";
    ql_lake_import_label(id, 3, label);
    is_str(label, "imp0123456789abcdef0123456789abcdefw3", "import label: imp + id + w + worker");
    /* an import of id that crashed in its renames (no record), one of id2
     * that committed, and a file of the older time-based labels */
    touch("t/dt=2026-11-20/part-imp0123456789abcdef0123456789abcdefw0-0000000000000000001-0000000000000000005.parquet", "a");
    touch("t/dt=2026-11-21/part-imp0123456789abcdef0123456789abcdefw1-0000000000000000006-0000000000000000009.parquet", "b");
    touch("u/dt=2026-11-20/part-imp0123456789abcdef0123456789abcdefw0-0000000000000000001-0000000000000000002.parquet", "c");
    touch("t/dt=2026-11-20/part-impfedcba9876543210fedcba9876543210w0-0000000000000000001-0000000000000000009.parquet", "d");
    touch("t/dt=2026-11-20/part-imp01a1fb671800a3c4w0-0000000000000000001-0000000000000000009.parquet", "e");
    int fd = -1, removed = -1;
    ok(ql_lake_import_lock(lake, &fd, err, sizeof err) == 0 && fd >= 0, "import lock taken");
    ok(ql_lake_import_record(lake, id2, "source x\nbytes 1234\nevents 9\n", err, sizeof err) == 0, "record written");
    ok(ql_lake_import_done(lake, id2) && !ql_lake_import_done(lake, id), "done: only the recorded id");
    is_int((int64_t)count_files("t"), 2, "listing hides the files of an import without its record");
    is_int((int64_t)count_files("u"), 0, "in every table");
    ok(ql_lake_import_size_seen(lake, 1234) && !ql_lake_import_size_seen(lake, 123), "size_seen finds a record's bytes");
    ok(ql_lake_import_rollback(lake, id, &removed, err, sizeof err) == 0, "rollback");
    is_int(removed, 3, "rollback deletes the id's files in every table");
    ok(exists("t/dt=2026-11-20/part-impfedcba9876543210fedcba9876543210w0-0000000000000000001-0000000000000000009.parquet") &&
       exists("t/dt=2026-11-20/part-imp01a1fb671800a3c4w0-0000000000000000001-0000000000000000009.parquet"),
       "… and no other import's");
    touch("t/dt=2026-11-20/part-imp0123456789abcdef0123456789abcdefw0-0000000000000000001-0000000000000000004.parquet", "f");
    is_int((int64_t)count_files("t"), 2, "a new file of id: hidden until its record");
    ok(ql_lake_import_record(lake, id, "source y\nbytes 5\n", err, sizeof err) == 0, "record of id");
    is_int((int64_t)count_files("t"), 3, "then listed");
    /* recovery: a crashed commit's files go, but not while an import commits */
    const char *crashed = "t/dt=2026-11-20/part-imp00000000000000000000000000000000w0-0000000000000000001-0000000000000000002.parquet";
    touch(crashed, "g");
    int rm = -1;
    ok(ql_lake_recover(lake, "t", &rm, err, sizeof err) == 0 && rm == 0 && exists(crashed),
       "recovery keeps an unrecorded import's files while the import lock is held");
    close(fd);
    ok(ql_lake_recover(lake, "t", &rm, err, sizeof err) == 0 && rm == 1 && !exists(crashed),
       "and deletes them once it is free");
    is_int((int64_t)count_files("t"), 3, "recorded imports untouched");
    *strrchr(lake, '/') = '\0';
}

/* A loader's SIGTERM (cmd_load.c: handler without SA_RESTART) can arrive
 * while ql_lake_claim_lock waits for another process holding the claim's
 * lock (the new owner reading R(T,P)). The wait must go on, not fail the
 * loader's last commit with EINTR. Deterministic: a helper thread waits
 * until the main thread is blocked in flock (/proc/self/task/TID/syscall),
 * signals it, and only after the handler ran lets the holder (a child
 * process) release the lock. */
static volatile sig_atomic_t claim_sig;
static void on_claim_sig(int sig) { (void)sig; claim_sig = 1; }
typedef struct {
    pthread_t main;
    pid_t main_tid;
    int release_fd;
    int saw_flock;
} poke_t;

static void *poke_claim_waiter(void *arg)
{
    poke_t *pk = arg;
    char path[64], line[64], want[16];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)pk->main_tid);
    snprintf(want, sizeof want, "%d ", (int)SYS_flock);
    for (int i = 0; i < 10000 && !pk->saw_flock; i++) {   /* 10 s at most */
        FILE *f = fopen(path, "r");
        if (f) {
            pk->saw_flock = fgets(line, sizeof line, f) && strncmp(line, want, strlen(want)) == 0;
            fclose(f);
        }
        if (!pk->saw_flock) usleep(1000);
    }
    pthread_kill(pk->main, SIGUSR1);
    while (!claim_sig) usleep(1000);
    if (write(pk->release_fd, "x", 1) != 1) perror("write");
    return NULL;
}

static void test_claim_lock_signal(void)
{
    char err[256], path[512];
    ql_lake_claim_t c;
    ok(ql_lake_claim_take(lake, 7, &c, err, sizeof err) == 0, "claim p7");
    ql_lake_claim_unlock(&c);
    snprintf(path, sizeof path, "%s/.partition-00007.lock", lake);
    int ready[2], release[2];
    if (pipe(ready) || pipe(release)) { perror("pipe"); exit(1); }
    pid_t child = fork();
    if (child == 0) {          /* the other process: holds p7's lock until told */
        int fd = open(path, O_RDWR);
        char b;
        if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(ready[1], "r", 1) != 1) _exit(1);
        if (read(release[0], &b, 1) != 1) _exit(1);
        _exit(0);              /* the kernel drops the lock */
    }
    char b;
    ok(read(ready[0], &b, 1) == 1, "another process holds p7's lock");
    struct sigaction sa = {.sa_handler = on_claim_sig}, old;   /* no SA_RESTART, as in cmd_load.c */
    sigaction(SIGUSR1, &sa, &old);
    poke_t pk = {.main = pthread_self(), .main_tid = (pid_t)syscall(SYS_gettid), .release_fd = release[1]};
    pthread_t th;
    pthread_create(&th, NULL, poke_claim_waiter, &pk);
    int own = ql_lake_claim_lock(&c, err, sizeof err);
    is_int(own, 0, "a signal during the wait for the claim's lock: still ours, no error");
    if (own < 0) diag("%s", err);
    pthread_join(th, NULL);
    ok(pk.saw_flock && claim_sig, "(the signal came while it waited in flock)");
    ql_lake_claim_unlock(&c);
    ql_lake_claim_release(&c);
    int st = 0;
    waitpid(child, &st, 0);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the holder released the lock");
    sigaction(SIGUSR1, &old, NULL);
    close(ready[0]); close(ready[1]); close(release[0]); close(release[1]);
}

/* A holder that is stopped (SIGSTOP) keeps a claim for ever. With a
 * deadline both waits give up: taking the claim (assignment) and locking it
 * for a commit; the error names the holder's pid and says it is stopped.
 * The child takes p9's claim (its pid in the token, lock held) and stops
 * itself; the parent waits until it is stopped (WUNTRACED). */
static void test_claim_timeout_stopped(void)
{
    char err[512], want[64];
    ql_lake_claim_t c, c3;
    ok(ql_lake_claim_take_within(lake, 9, 300, &c, err, sizeof err) == 0, "claim p9 with a 300 ms deadline");
    ql_lake_claim_unlock(&c);
    pid_t child = fork();
    if (child == 0) {
        ql_lake_claim_t c2;
        if (ql_lake_claim_take(lake, 9, &c2, err, sizeof err) != 0) _exit(1);
        raise(SIGSTOP);
        _exit(0);
    }
    int st = 0;
    ok(waitpid(child, &st, WUNTRACED) == child && WIFSTOPPED(st), "another process took p9's claim and is stopped");
    snprintf(want, sizeof want, "loader pid %d, which is STOPPED", (int)child);
    int64_t t0 = ql_monotonic_us();
    is_int(ql_lake_claim_lock(&c, err, sizeof err), QL_LAKE_ETIMEDOUT, "commit: locking the claim gives up at its deadline");
    ok(ql_monotonic_us() - t0 >= 300000, "… after 300 ms");
    ok(strstr(err, want) && strstr(err, "claim timeout"), "… naming the stopped holder: %s", err);
    is_int(ql_lake_claim_take_within(lake, 9, 300, &c3, err, sizeof err), QL_LAKE_ETIMEDOUT,
           "assignment: taking the claim gives up at its deadline");
    ok(strstr(err, want) != NULL, "… naming the stopped holder");
    is_int(c3.fd, -1, "… and holds nothing");
    kill(child, SIGCONT);
    waitpid(child, &st, 0);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the holder resumed and exited");
    is_int(ql_lake_claim_lock(&c, err, sizeof err), 1, "the first claimant then sees p9 was claimed since");
    ql_lake_claim_unlock(&c);
    ql_lake_claim_release(&c);
}

/* A lake belongs to one log: the first claim names it, the same claim
 * passes again, another log's is refused, naming both (ql_lake_claim_source). */
static void test_source_claim(void)
{
    char dir[600], path[700], err[1024];
    snprintf(dir, sizeof dir, "%s/source-claim", lake);
    is_int(ql_lake_claim_source(dir, "embedded log", err, sizeof err), 0, "first claim creates the lake and names it");
    snprintf(path, sizeof path, "%s/.source", dir);
    char *txt = NULL;
    size_t len = 0;
    ok(ql_read_file(path, &txt, &len, err, sizeof err) == 0 && txt && !strcmp(txt, "embedded log\n"),
       "LAKE/.source holds the name");
    free(txt);
    is_int(ql_lake_claim_source(dir, "embedded log", err, sizeof err), 0, "the same log again: accepted");
    ok(ql_lake_claim_source(dir, "Kafka topic events", err, sizeof err) < 0 &&
           strstr(err, "holds what was loaded from the embedded log, not from the Kafka topic events"),
       "another log: refused, naming both (%s)", err);
    snprintf(path, sizeof path, "%s/.source-%ld.tmp", dir, (long)getpid());
    ok(access(path, F_OK) != 0, "no temp file left");
}

int main(void)
{
    snprintf(lake, sizeof lake, "/tmp/ql-test-lake.%ld", (long)getpid());
    test_names();
    test_listing_and_recovery();
    test_commit();
    test_loader_exactly_once();
    test_partitions();
    test_schema_split();
    test_two_loaders();
    test_claim_lock_signal();
    test_claim_timeout_stopped();
    test_imports();
    test_source_claim();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", lake);
    if (system(cmd) != 0) diag("cleanup failed");
    return tap_done();
}
