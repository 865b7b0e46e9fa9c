/*
 * sqlout.h — printing SQLite results: a bordered table like Spark's show()
 * (fitted to the terminal), CSV with a header (RFC 4180 quoting), JSON lines,
 * and Markdown tables (for `report --format md`).
 *
 * Threads: no shared state. Errors: negative return, message in err.
 */
#ifndef QL_SQLOUT_H
#define QL_SQLOUT_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

typedef enum ql_sqlout_format {
    QL_SQLOUT_TABLE,
    QL_SQLOUT_CSV,
    QL_SQLOUT_JSON,
    QL_SQLOUT_MD,
} ql_sqlout_format_t;

/* "table" | "csv" | "json" | "md": 0 and *out, or -1. */
int ql_sqlout_parse_format(const char *s, ql_sqlout_format_t *out);
/* The same for the value of a command's --format flag: on a bad value prints
 * "questlog CMD: unknown format 'ARG' (table, csv, json, md)" to stderr and
 * returns -1 (*out unchanged); the caller exits with status 2. */
int ql_sqlout_format_flag(const char *cmd, const char *arg, ql_sqlout_format_t *out);

/* The width of the terminal `f` is, or 0 if it is not a terminal. */
int ql_sqlout_terminal_width(FILE *f);

/* Steps `stmt` (prepared, not yet stepped) to the end and prints its rows to
 * `out` in `fmt`. In TABLE format, `width` > 0 is the line width to fit: long
 * cells are cut and end with "…" (0 = never cut); column widths are taken from
 * the first 1000 rows, later longer cells are cut to fit them. NULL prints as
 * "null" in TABLE, empty in CSV, null in JSON and MD. *rows (may be NULL) gets
 * the row count. The caller still owns (and finalizes) stmt.
 * Returns 0, or -1 with SQLite's message in err when a step fails. */
int ql_sqlout_write(sqlite3_stmt *stmt, FILE *out, ql_sqlout_format_t fmt, int width, int64_t *rows,
                    char *err, size_t errlen);

#endif
