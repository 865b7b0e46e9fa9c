/*
 * report.h — the analytics report of `questlog report`: what flowed through
 * the pipeline (log records loaded, rows per lake table, rejected events),
 * key numbers, and charts (events over time by type, top players by
 * purchases, sword types, guild joins over time), as one self-contained HTML
 * page (inline CSS and SVG, no scripts, nothing fetched) or as Markdown.
 *
 * Threads: uses its own SQLite connection; no shared state.
 * Errors: negative return, message in err.
 */
#ifndef QL_REPORT_H
#define QL_REPORT_H

#include <stdio.h>

typedef enum ql_report_format {
    QL_REPORT_HTML,
    QL_REPORT_MD,
} ql_report_format_t;

/* Reads the lake at `lake` (tables as in `questlog query`) and writes the
 * report to `out`. Tables the report uses but the lake lacks (purchases,
 * join_guilds, …) leave their section saying so. Returns 0 or < 0. */
int ql_report_write(FILE *out, const char *lake, ql_report_format_t fmt, char *err, size_t errlen);

#endif
