/*
 * cmd_compact.c — `questlog compact [TABLE…]`: merges the small files the
 * streaming loader leaves (one per table per flush) into one file per
 * (table, dt, source label), with lake.c's crash-safe swap.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lake.h"
#include "util.h"

static const char usage[] =
    "usage: questlog compact [TABLE…] [options]\n"
    "\n"
    "Merges small Parquet files of each dt partition into one (per source: log\n"
    "partition or import). Every table of the lake by default.\n"
    "questlog's own readers see the swap atomically; engines that list files\n"
    "themselves (DuckDB, Spark) may see old and new files together for the\n"
    "instant between the new file's rename and the old files' unlinks.\n"
    "\n"
    "Options:\n"
    "  --min-files N   merge a partition only when it has N files or more (default 2)\n"
    "  --all           also today's partitions (default: only days before today, UTC)\n"
    "  --max-bytes SZ  input bytes per merged file (default 1G)\n"
    "  --codec NAME    zstd (default), snappy or none\n"
    "  -n, --dry-run   only say what would be merged\n"
    "  -q, --quiet     no per-merge lines\n";

int ql_cmd_compact(int argc, char **argv)
{
    enum { OPT_MIN = QL_OPT_FIRST_LOCAL, OPT_ALL, OPT_MAXB, OPT_CODEC };
    static const struct option longopts[] = {
        QL_LAKE_LONGOPTS,
        {"min-files", required_argument, NULL, OPT_MIN},
        {"all", no_argument, NULL, OPT_ALL},
        {"max-bytes", required_argument, NULL, OPT_MAXB},
        {"codec", required_argument, NULL, OPT_CODEC},
        {"dry-run", no_argument, NULL, 'n'},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    ql_common_opts_t co;
    ql_cli_defaults(&co);
    ql_lake_compact_options_t o = {0};
    ql_pq_write_options_t wo = {0};
    wo.codec = QL_PQ_ZSTD;
    int quiet = 0, c;
    long n;
    uint64_t v;
    optind = 1;
    while ((c = ql_cli_next(&co, "compact", argc, argv, "nq", longopts)) != -1) {
        switch (c) {
        case OPT_MIN:
            if (ql_cli_int("compact", "min-files", optarg, 2, 1000000, &n)) return 2;
            o.min_files = (int)n;
            break;
        case OPT_ALL: o.all = 1; break;
        case OPT_MAXB:
            if (ql_cli_size("compact", "max-bytes", optarg, &v)) return 2;
            o.max_bytes = (int64_t)v;
            break;
        case OPT_CODEC:
            if (ql_cli_codec("compact", optarg, &wo.codec)) return 2;
            break;
        case 'n': o.dry_run = 1; break;
        case 'q': quiet = 1; break;
        default: return 2;   /* ql_cli_next said why */
        }
    }
    int end = ql_cli_end_operands(&co, "compact", usage, argc, 0, NULL);
    if (end >= 0) return end;
    o.wopt = &wo;
    o.verbose = !quiet;

    char err[1024];  /* room for a file path and the reader's message */
    int rc = 1, lock_fd = -1;
    char **tables = NULL;
    size_t nt = 0;
    ql_lake_compact_stats_t sum = {0};
    if (ql_cli_need_lake(&co, "compact")) return 1;
    if (ql_lake_lock(co.lake_dir, "compact", &lock_fd, err, sizeof err)) goto fail;
    if (optind < argc) {
        nt = (size_t)(argc - optind);
        tables = ql_calloc(nt, sizeof *tables);
        for (size_t i = 0; i < nt; i++) {
            tables[i] = ql_strdup(argv[optind + (int)i]);
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", co.lake_dir, tables[i]);
            if (access(p, F_OK) != 0) {
                snprintf(err, sizeof err, "no table '%s' in %s (`questlog tables --lake %s` lists them)", tables[i],
                         co.lake_dir, co.lake_dir);
                goto fail;
            }
        }
    } else if (ql_lake_list_tables(co.lake_dir, &tables, &nt, err, sizeof err)) {
        goto fail;
    }
    int64_t t0 = ql_monotonic_us();
    for (size_t i = 0; i < nt; i++) {
        ql_lake_compact_stats_t st;
        if (ql_lake_compact(co.lake_dir, tables[i], &o, &st, err, sizeof err)) {
            ql_err(err, sizeof err, "%s: %s", tables[i], err);
            goto fail;
        }
        sum.groups += st.groups;
        sum.files_in += st.files_in;
        sum.files_out += st.files_out;
        sum.rows += st.rows;
        sum.bytes_in += st.bytes_in;
        sum.bytes_out += st.bytes_out;
    }
    if (!quiet)
        fprintf(stderr, "questlog compact: %s%llu files -> %llu, %llu rows, %.1f MB -> %.1f MB in %.2f s\n",
                o.dry_run ? "(dry run) " : "", (unsigned long long)sum.files_in, (unsigned long long)sum.files_out,
                (unsigned long long)sum.rows, (double)sum.bytes_in / 1e6, (double)sum.bytes_out / 1e6,
                (double)(ql_monotonic_us() - t0) / 1e6);
    if (!quiet && !sum.files_in && !o.all)
        fprintf(stderr, "questlog compact: today's (UTC) partitions are left to the loader; --all merges them too\n");
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "questlog compact: %s\n", err);
out:
    ql_lake_tables_free(tables, nt);
    if (lock_fd >= 0) close(lock_fd);
    return rc;
}
