/*
 * pq_scan.c — decodes every column of every row group of Parquet files with
 * questlog's reader and folds the values into a checksum, for the read
 * benchmark (bench/parquet_read.sh) and for spot checks.
 *
 *   pq_scan [--repeat N] FILE…     prints {"rows":R,"values":V,"ms":BEST,"checksum":C}
 *
 * BEST is the fastest of N passes (default 3) over all files, wall clock,
 * including open and footer parsing. The checksum (sum of integers, string
 * lengths and doubles truncated) makes sure no decode is optimised away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pq.h"
#include "util.h"

int main(int argc, char **argv)
{
    int repeat = 3, first = 1;
    if (argc > 2 && strcmp(argv[1], "--repeat") == 0) {
        repeat = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc || repeat < 1) {
        fprintf(stderr, "usage: pq_scan [--repeat N] FILE…\n");
        return 2;
    }
    double best = 1e30;
    int64_t rows = 0, values = 0;
    uint64_t sum = 0;
    char err[256];
    for (int pass = 0; pass < repeat; pass++) {
        int64_t t0 = ql_monotonic_us();
        rows = values = 0;
        sum = 0;
        for (int a = first; a < argc; a++) {
            ql_pq_file_t *f;
            if (ql_pq_open(&f, argv[a], err, sizeof err) < 0) {
                fprintf(stderr, "pq_scan: %s: %s\n", argv[a], err);
                return 1;
            }
            rows += ql_pq_num_rows(f);
            for (int g = 0; g < ql_pq_num_row_groups(f); g++)
                for (int c = 0; c < ql_pq_num_columns(f); c++) {
                    ql_pq_column_data_t d;
                    if (ql_pq_read_column(f, g, c, &d, err, sizeof err) < 0) {
                        fprintf(stderr, "pq_scan: %s: %s\n", argv[a], err);
                        return 1;
                    }
                    for (int64_t i = 0; i < d.n; i++) {
                        if (!d.valid[i]) continue;
                        if (d.i64) sum += (uint64_t)d.i64[i];
                        else if (d.f64) sum += (uint64_t)(int64_t)d.f64[i];
                        else sum += d.str_len[i];
                    }
                    values += d.n;
                    ql_pq_column_data_free(&d);
                }
            ql_pq_close(f);
        }
        double ms = (double)(ql_monotonic_us() - t0) / 1000.0;
        if (ms < best) best = ms;
    }
    printf("{\"rows\":%lld,\"values\":%lld,\"ms\":%.1f,\"checksum\":%llu}\n", (long long)rows, (long long)values,
           best, (unsigned long long)sum);
    return 0;
}
