/*
 * cmd_tables.c — `questlog tables [--lake DIR]`: every lake table with its
 * row count, file count, bytes, partitions and first/last `timestamp`, all
 * from the Parquet footers (row counts and column statistics): no data page
 * is read. `--schema` adds the columns and their types.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sqlout.h"
#include "util.h"
#include "vtab.h"

static const char usage[] =
    "usage: questlog tables [options]\n"
    "Lists the lake's tables: rows, files, bytes, partitions (dt values), and the\n"
    "first and last event timestamp, read from the Parquet footers (no scan).\n"
    "  -s, --schema      also list each table's columns and types\n"
    "  -f, --format FMT  table (default) | csv | json | md\n";

int ql_cmd_tables(int argc, char **argv)
{
    static const struct option longopts[] = {
        QL_LAKE_LONGOPTS,
        {"format", required_argument, NULL, 'f'},
        {"schema", no_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    ql_common_opts_t o;
    ql_cli_defaults(&o);
    ql_sqlout_format_t fmt = QL_SQLOUT_TABLE;
    int opt, status = 1, schema = 0, n = 0;
    char **names = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL, *st = NULL;
    char err[1024];
    while ((opt = ql_cli_next(&o, "tables", argc, argv, "f:s", longopts)) != -1) {
        switch (opt) {
        case 'f':
            if (ql_sqlout_format_flag("tables", optarg, &fmt) < 0) return 2;
            break;
        case 's': schema = 1; break;
        default: return 2;   /* ql_cli_next said why */
        }
    }
    int end = ql_cli_end_no_operands(&o, "tables", usage, argc, argv);
    if (end >= 0) return end;
    if (ql_cli_need_lake(&o, "tables")) return 1;
    if (ql_vtab_list_tables(o.lake_dir, &names, &n, err, sizeof err) < 0) {
        fprintf(stderr, "questlog tables: %s\n", err);
        return 1;
    }
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "CREATE TABLE t(\"table\" TEXT, rows INTEGER, files INTEGER, bytes INTEGER, "
                     "partitions INTEGER, first TEXT, last TEXT, columns TEXT)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?,?,?,?,?,?,?,?)", -1, &ins, NULL) != SQLITE_OK) {
        fprintf(stderr, "questlog tables: %s\n", db ? sqlite3_errmsg(db) : "cannot open SQLite");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        ql_buf_t dir = QL_BUF_INIT;
        ql_vtab_table_t *t = NULL;
        ql_buf_printf(&dir, "%s/%s", o.lake_dir, names[i]);
        int rc = ql_vtab_table_open(&t, dir.data, err, sizeof err);
        ql_buf_free(&dir);
        if (rc < 0) {
            fprintf(stderr, "questlog tables: %s\n", err);
            goto out;
        }
        int nparts = ql_vtab_table_partitions(t);
        int64_t lo = 0, hi = 0;
        int found = ql_vtab_table_time_range(t, "timestamp", &lo, &hi);
        char a[QL_RFC3339_LEN], b[QL_RFC3339_LEN];
        ql_buf_t cols = QL_BUF_INIT;
        for (int c = 0; c < t->ncols; c++)
            ql_buf_printf(&cols, "%s%s %s", c ? ", " : "", t->cols[c].name,
                          t->cols[c].part >= 0 ? "PARTITION" : ql_pq_type_name(t->cols[c].type));
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        sqlite3_bind_text(ins, 1, names[i], -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 2, t->rows);
        sqlite3_bind_int64(ins, 3, t->nfiles);
        sqlite3_bind_int64(ins, 4, (int64_t)t->bytes);
        sqlite3_bind_int64(ins, 5, nparts);
        if (found) {
            ql_rfc3339_format(lo, a);
            ql_rfc3339_format(hi, b);
            sqlite3_bind_text(ins, 6, a, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 7, b, -1, SQLITE_TRANSIENT);
        }
        sqlite3_bind_text(ins, 8, cols.data ? cols.data : "", -1, SQLITE_TRANSIENT);
        ql_buf_free(&cols);
        ql_vtab_table_free(t);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            fprintf(stderr, "questlog tables: %s\n", sqlite3_errmsg(db));
            goto out;
        }
    }
    const char *q = schema ? "SELECT * FROM t" : "SELECT \"table\", rows, files, bytes, partitions, first, last FROM t";
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK ||
        ql_sqlout_write(st, stdout, fmt, ql_sqlout_terminal_width(stdout), NULL, err, sizeof err) < 0) {
        fprintf(stderr, "questlog tables: %s\n", st ? err : sqlite3_errmsg(db));
        goto out;
    }
    status = 0;
out:
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    sqlite3_finalize(ins);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return status;
}
