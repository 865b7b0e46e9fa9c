/*
 * cmd_query.c — `questlog query [--lake DIR] [--format table|csv|json] [--stats] SQL`:
 * SQL over the lake. Opens an in-memory SQLite database, registers every
 * table directory of the lake as a questlog_parquet virtual table under its
 * own name, runs the statements and prints each result (see docs/query.md).
 */
#include <malloc.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sqlout.h"
#include "util.h"
#include "vtab.h"

static const char usage[] =
    "usage: questlog query [options] SQL\n"
    "       questlog query [options] < file.sql\n"
    "Runs SQL (SQLite dialect) over the lake: each table directory LAKE/NAME is a\n"
    "table NAME (columns merged by name across files, `dt` from the Hive path;\n"
    "timestamps are RFC 3339 UTC text, compared by instant). Several statements\n"
    "may be given; each result is printed.\n"
    "  -f, --format FMT  table (default; fitted to the terminal) | csv | json (lines) | md\n"
    "      --width N     fit table output to N columns (default: the terminal's; 0 = never cut)\n"
    "      --stats       print row groups scanned/skipped to stderr\n"
    "      --timer       print to stderr the time from opening the lake (footers\n"
    "                    included) to the last row written, without process start-up\n";

enum { OPT_STATS = QL_OPT_FIRST_LOCAL, OPT_WIDTH, OPT_TIMER };

int ql_cmd_query(int argc, char **argv)
{
    static const struct option longopts[] = {
        QL_LAKE_LONGOPTS,
        {"format", required_argument, NULL, 'f'},
        {"stats", no_argument, NULL, OPT_STATS},
        {"width", required_argument, NULL, OPT_WIDTH},
        {"timer", no_argument, NULL, OPT_TIMER},
        {NULL, 0, NULL, 0},
    };
    ql_common_opts_t o;
    ql_cli_defaults(&o);
    ql_sqlout_format_t fmt = QL_SQLOUT_TABLE;
    int stats = 0, timer = 0, width = -1, opt, status = 1;
    int64_t t_start = 0, t_open = 0;
    sqlite3 *db = NULL;
    char *sql = NULL;
    char err[1024];
    while ((opt = ql_cli_next(&o, "query", argc, argv, "f:", longopts)) != -1) {
        switch (opt) {
        case 'f':
            if (ql_sqlout_format_flag("query", optarg, &fmt) < 0) return 2;
            break;
        case OPT_STATS: stats = 1; break;
        case OPT_TIMER: timer = 1; break;
        case OPT_WIDTH: {
            long w;
            if (ql_cli_int("query", "width", optarg, 0, 100000, &w)) return 2;
            width = (int)w;
            break;
        }
        default: return 2;   /* ql_cli_next said why */
        }
    }
    /* no operand: the SQL comes from stdin */
    int end = ql_cli_end_operands(&o, "query", usage, argc, 0, NULL);
    if (end >= 0) return end;
    if (optind < argc) {
        ql_buf_t b = QL_BUF_INIT;
        for (int i = optind; i < argc; i++) {
            if (i > optind) ql_buf_putc(&b, ' ');
            ql_buf_puts(&b, argv[i]);
        }
        sql = ql_buf_steal(&b);
    } else {
        size_t len;
        /* from a terminal this would wait for SQL no one knows to type */
        if (!isatty(STDIN_FILENO) && ql_read_file("/dev/stdin", &sql, &len, err, sizeof err) < 0) {
            fprintf(stderr, "questlog query: %s\n", err);
            return 1;
        }
    }
    if (!sql || !sql[strspn(sql, " \t\r\n")]) {
        fprintf(stderr, "questlog query: no SQL given (an argument, or statements on stdin; see questlog query --help)\n");
        free(sql);
        return 2;
    }
    if (ql_cli_need_lake(&o, "query")) {
        free(sql);
        return 1;
    }
    if (width < 0) width = ql_sqlout_terminal_width(stdout);

    ql_vtab_stats_t *st = NULL;
    /* Decoded column chunks are big, short-lived allocations: keep them on
     * the heap (no mmap/munmap and fresh zeroed pages per row group) and do
     * not hand freed memory back to the kernel while the process runs. */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    t_start = ql_monotonic_us();
    if (ql_vtab_open_db(&db, o.lake_dir, &st, err, sizeof err) < 0) {
        fprintf(stderr, "questlog query: %s\n", err);
        goto out;
    }
    t_open = ql_monotonic_us();
    const char *p = sql;
    int n_results = 0;
    while (p && *p) {
        sqlite3_stmt *stmt = NULL;
        const char *tail = NULL;
        if (sqlite3_prepare_v2(db, p, -1, &stmt, &tail) != SQLITE_OK) {
            fprintf(stderr, "questlog query: %s\n", sqlite3_errmsg(db));
            goto out;
        }
        p = tail;
        if (!stmt) continue;   /* whitespace or a comment */
        if (sqlite3_column_count(stmt) > 0 && n_results++ > 0 && fmt == QL_SQLOUT_TABLE) fputc('\n', stdout);
        int rc = ql_sqlout_write(stmt, stdout, fmt, width, NULL, err, sizeof err);
        sqlite3_finalize(stmt);
        if (rc < 0) {
            fprintf(stderr, "questlog query: %s\n", err);
            goto out;
        }
    }
    status = 0;
out:
    fflush(stdout);
    if (timer && t_open) {
        int64_t t_end = ql_monotonic_us();
        fprintf(stderr, "time: %.4f s (lake opened in %.4f s, statements %.4f s)\n", (double)(t_end - t_start) / 1e6,
                (double)(t_open - t_start) / 1e6, (double)(t_end - t_open) / 1e6);
    }
    if (stats && st)
        fprintf(stderr,
                "row groups: scanned %lld, skipped %lld (%lld by dictionary; files: scanned %lld, skipped %lld; "
                "rows read %lld)\n",
                (long long)st->rg_scanned, (long long)st->rg_skipped, (long long)st->rg_skipped_dict,
                (long long)st->files_scanned, (long long)st->files_skipped, (long long)st->rows_read);
    sqlite3_close(db);
    free(sql);
    return status;
}
