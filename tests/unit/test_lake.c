/*
 * test_lake.c — unit tests for lake.c: file names, listing that hides files
 * covered by a compacted file, start-up recovery (dead temp files, covered
 * files), the record of loaded offsets (file names + _offsets marker), and
 * the temp → rename commit.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lake.h"
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
    touch("t/_offsets", "# marker\n0 45\n2 7\n");

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
    is_int(ql_lake_offsets_get(&o, 3), -1, "unknown partition: -1");
    ql_lake_offsets_free(&o);

    int removed = 0;
    ok(ql_lake_recover(lake, "t", &removed, err, sizeof err) == 0, "recover ok");
    is_int(removed, 3, "two covered files and one dead temp file deleted");
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
    ok(ql_lake_write_marker(lake, "u", &o, err, sizeof err) == 0, "marker written");
    ql_lake_offsets_free(&o);
    ok(ql_lake_read_offsets(lake, "u", &o, err, sizeof err) == 0 && ql_lake_offsets_get(&o, 0) == 20,
       "marker read back");
    ql_lake_offsets_free(&o);

    ql_lake_pending_t q;
    ql_lake_pending_open(&q, lake, "u", "2026-11-21", err, sizeof err);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", q.tmp);
    ql_lake_pending_discard(&q);
    ok(access(tmp, F_OK) != 0, "discard deletes the temp file");
}

int main(void)
{
    snprintf(lake, sizeof lake, "/tmp/ql-test-lake.%ld", (long)getpid());
    test_names();
    test_listing_and_recovery();
    test_commit();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", lake);
    if (system(cmd) != 0) diag("cleanup failed");
    return tap_done();
}
