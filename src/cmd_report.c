/*
 * cmd_report.c — `questlog report [--lake DIR] [-o FILE] [--format html|md]`:
 * writes the analytics report (report.h) to FILE (atomically: a temp file
 * renamed into place) or to stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"
#include "util.h"

static const char usage[] =
    "usage: questlog report [options]\n"
    "Writes an analytics report of the lake: the pipeline and its counts, key\n"
    "numbers, and charts (events over time by type, top players by purchases,\n"
    "sword types, guild joins over time). HTML is one self-contained file (inline\n"
    "CSS and SVG, no scripts, nothing fetched).\n"
    "  -o, --output FILE  where to write (default: stdout)\n"
    "  -f, --format FMT   html (default) | md\n";

int ql_cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        QL_LAKE_LONGOPTS,
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    ql_common_opts_t o;
    ql_cli_defaults(&o);
    const char *outpath = NULL;
    ql_report_format_t fmt = QL_REPORT_HTML;
    int opt;
    char err[1024];
    optind = 1;
    while ((opt = ql_cli_next(&o, "report", argc, argv, "o:f:", longopts)) != -1) {
        switch (opt) {
        case 'o': outpath = optarg; break;
        case 'f':
            if (strcmp(optarg, "html") == 0) fmt = QL_REPORT_HTML;
            else if (strcmp(optarg, "md") == 0 || strcmp(optarg, "markdown") == 0) fmt = QL_REPORT_MD;
            else {
                fprintf(stderr, "questlog report: unknown format '%s' (html, md)\n", optarg);
                return 2;
            }
            break;
        default: return 2;   /* ql_cli_next said why */
        }
    }
    int end = ql_cli_end_no_operands(&o, "report", usage, argc, argv);
    if (end >= 0) return end;
    if (ql_cli_need_lake(&o, "report")) return 1;
    if (!outpath || strcmp(outpath, "-") == 0) {
        if (ql_report_write(stdout, o.lake_dir, fmt, err, sizeof err) < 0) {
            fprintf(stderr, "questlog report: %s\n", err);
            return 1;
        }
        return 0;
    }
    /* Build in memory, then replace the file atomically. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) {
        fprintf(stderr, "questlog report: out of memory\n");
        return 1;
    }
    int rc = ql_report_write(mem, o.lake_dir, fmt, err, sizeof err);
    fclose(mem);
    if (rc == 0) rc = ql_write_file_atomic(outpath, buf, len, err, sizeof err);
    free(buf);
    if (rc < 0) {
        fprintf(stderr, "questlog report: %s\n", err);
        return 1;
    }
    fprintf(stderr, "questlog report: wrote %s (%zu bytes)\n", outpath, len);
    return 0;
}
