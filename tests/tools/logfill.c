/*
 * logfill.c — test helper: appends N records to an embedded log through the
 * log API (ql_log_append), one record per append, and waits until all are
 * durable. Each value is {"event_type":"fill","n":I,"tag":"TAG"} with I
 * counting from --start (default 0).
 *
 *   logfill [--segment-bytes B] [--start S] [--tag TAG] DIR N
 *
 * Exit 0 when every append's done reported success, 1 otherwise.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static int failures;

static void done(void *arg, int status, int64_t first, const char *errmsg)
{
    (void)arg;
    (void)first;
    if (status != 0) {
        if (!failures++) fprintf(stderr, "logfill: append failed: %s\n", errmsg);
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"segment-bytes", required_argument, NULL, 's'},
        {"start", required_argument, NULL, 'S'},
        {"tag", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    ql_log_options_t opt = {0};
    opt.quiet = 1;
    long long start = 0;
    const char *tag = "x";
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 's') {
            if (ql_parse_size(optarg, &opt.segment_bytes) != 0) return 2;
        } else if (c == 'S') start = atoll(optarg);
        else if (c == 't') tag = optarg;
        else return 2;
    }
    if (argc - optind != 2) {
        fprintf(stderr, "usage: logfill [--segment-bytes B] [--start S] [--tag TAG] DIR N\n");
        return 2;
    }
    long long n = atoll(argv[optind + 1]);
    char err[512];
    ql_log_t *log;
    if (ql_log_open_embedded(&log, argv[optind], &opt, err, sizeof err) != 0) {
        fprintf(stderr, "logfill: %s\n", err);
        return 1;
    }
    for (long long i = 0; i < n; i++) {
        char v[256];
        int len = snprintf(v, sizeof v, "{\"event_type\":\"fill\",\"n\":%lld,\"tag\":\"%s\"}", start + i, tag);
        ql_log_msg_t m = {NULL, 0, v, (size_t)len};
        int rc;
        while ((rc = ql_log_append(log, &m, 1, done, NULL)) == QL_LOG_EFULL) {}
        if (rc != 0) {
            fprintf(stderr, "logfill: append refused: %d\n", rc);
            failures++;
            break;
        }
    }
    ql_log_close(log);
    return failures ? 1 : 0;
}
