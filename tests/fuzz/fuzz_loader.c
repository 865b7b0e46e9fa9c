/*
 * fuzz_loader.c — libFuzzer target for the loader's record path (src/loader.c
 * with the default config and catalog): the input is taken as log records,
 * one per line (what `load` reads off a topic — any producer can put any
 * bytes there — and what `import` reads from a file), each given to
 * ql_loader_add in log mode (partition 0, offset = line index), then
 * committed with ql_loader_flush into a fresh lake on /dev/shm. An input
 * whose first byte is '#' runs in import mode instead (lines numbered from
 * 1, files relabelled and made visible by the import's record, as `import`
 * does). Row groups of 4 rows, so a key first seen after a row group was
 * written takes the schema-split path; batches (log mode) and files (import
 * mode) of 5 records, so one input makes several commits/files.
 *
 * Checked on every input: no crash or sanitizer report; no record makes the
 * loader fail (a record the loader cannot take would stop `load` for good:
 * a restart resumes at that same record) — every record is a row of
 * extracted_events (event_types = *) or of _rejected, exactly once; every
 * file committed reads back with the Parquet reader, every column decodes,
 * every column name is non-empty and unique.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "lake.h"
#include "loader.h"
#include "pq.h"
#include "transform.h"
#include "fuzz_ubsan.h"

static char root[256];
static ql_config_t *cfg;
static ql_catalog_t *cat;
static ql_transform_t *tf;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* Reads back every committed file of `table`; returns its rows. */
static int64_t table_rows(const char *lake, const char *table)
{
    char err[512];
    ql_lake_file_t *f;
    size_t n;
    int64_t rows = 0;
    if (ql_lake_list_files(lake, table, &f, &n, err, sizeof err)) abort();
    for (size_t i = 0; i < n; i++) {
        ql_pq_file_t *pf;
        if (ql_pq_open(&pf, f[i].path, err, sizeof err)) {
            fprintf(stderr, "%s: %s\n", f[i].path, err);
            abort();
        }
        int nc = ql_pq_num_columns(pf);
        for (int c = 0; c < nc; c++) {
            const char *name = ql_pq_column(pf, c)->name;
            if (!name[0] || ql_pq_column_index(pf, name) != c) abort();   /* empty or duplicate */
        }
        for (int g = 0; g < ql_pq_num_row_groups(pf); g++)
            for (int c = 0; c < nc; c++) {
                ql_pq_column_data_t d;
                if (ql_pq_read_column(pf, g, c, &d, err, sizeof err)) {
                    fprintf(stderr, "%s: column %d: %s\n", f[i].path, c, err);
                    abort();
                }
                if (d.n != ql_pq_row_group_rows(pf, g)) abort();
                ql_pq_column_data_free(&d);
            }
        rows += ql_pq_num_rows(pf);
        ql_pq_close(pf);
    }
    ql_lake_files_free(f, n);
    return rows;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], lake[300];
    if (!tf) {
        snprintf(root, sizeof root, "%s/ql-fuzz-loader.XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(root) || ql_config_load(&cfg, NULL, err, sizeof err) ||
            ql_catalog_load(&cat, cfg, err, sizeof err) || ql_transform_new(&tf, cfg, cat, err, sizeof err))
            abort();
    }
    snprintf(lake, sizeof lake, "%s/lake", root);
    nftw(lake, rm_one, 16, FTW_DEPTH | FTW_PHYS);

    static const char id[] = "0123456789abcdef0123456789abcdef";
    char label[QL_LAKE_LABEL_MAX];
    int import = size > 0 && data[0] == '#';
    ql_lake_import_label(id, 0, label);
    ql_loader_t *l;
    ql_loader_options_t o = {.lake_dir = lake, .transform = tf, .source = "fuzz", .batch_rows = 5, .file_rows = 5,
                             .import_label = import ? "imptmp0000000100000001w0" : NULL};
    o.wopt.row_group_rows = 4;
    if (ql_loader_new(&l, &o, err, sizeof err)) abort();
    if (!import) (void)ql_loader_start_offset(l, 0);
    const char *p = (const char *)data, *end = p + size;
    int64_t lines = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        /* an exact-size copy of the record, so ASan sees any read past it */
        size_t len = (size_t)(le - p);
        char *rec = malloc(len ? len : 1);
        memcpy(rec, p, len);
        int rc = ql_loader_add(l, import ? -1 : 0, import ? lines + 1 : lines, 1795168800000000LL + lines, rec, len,
                               err, sizeof err);
        free(rec);
        if (rc) {
            fprintf(stderr, "record %lld: %s\n", (long long)lines, err);
            abort();
        }
        lines++;
        p = nl ? nl + 1 : end;
    }
    if (import && ql_loader_seal(l, err, sizeof err)) {
        fprintf(stderr, "seal: %s\n", err);
        abort();
    }
    if (import) ql_loader_relabel(l, label);
    if (ql_loader_flush(l, err, sizeof err)) {
        fprintf(stderr, "flush: %s\n", err);
        abort();
    }
    ql_loader_free(l);
    if (import) {   /* the commit point, under the import lock (which makes LAKE/.imports) */
        int fd = -1;
        if (ql_lake_import_lock(lake, &fd, err, sizeof err) ||
            ql_lake_import_record(lake, id, "source fuzz\n", err, sizeof err)) {
            fprintf(stderr, "import record: %s\n", err);
            abort();
        }
        close(fd);
    }
    int64_t rows = table_rows(lake, "extracted_events") + table_rows(lake, QL_REJECTED_TABLE);
    if (rows != lines) {
        fprintf(stderr, "%lld records, %lld rows in extracted_events + _rejected\n", (long long)lines, (long long)rows);
        abort();
    }
    return 0;
}
