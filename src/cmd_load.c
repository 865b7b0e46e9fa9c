/*
 * cmd_load.c — `questlog load`: the loader alone (the seed's spark-submit
 * job). Follows the log (embedded DATA/log, or a Kafka topic with a consumer
 * group) into the lake, committing a batch every --flush-interval; --once
 * loads from where the lake is up to the log's current end and exits.
 * Resumes from what the lake holds (lake.c), whatever the consumer
 * checkpoint says.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lake.h"
#include "loader.h"
#include "log.h"
#include "util.h"

static const char usage[] =
    "usage: questlog load [--once] [--flush-interval DUR] [options]\n"
    "\n"
    "Loads events from the log into the Parquet lake: extract, munge, route\n"
    "into tables ([table NAME] in the config), commit exactly once. Following\n"
    "the log, a failure to write the lake (e.g. its disk full) is retried\n"
    "after a back-off; with --once it ends the run (exit 1; run it again).\n"
    "\n"
    "Options:\n"
    "  --once                load up to the log's end, then exit (like spark-submit)\n"
    "  --flush-interval DUR  commit buffered rows this often (default 1s): shorter =\n"
    "                        fresher lake, more small files (see `questlog compact`)\n"
    "  --batch-rows N        also commit after N records (default 1000000)\n"
    "  --compact-interval DUR  when following, merge the small files this often\n"
    "                        (default 10m, 0 = never; see `questlog compact`)\n"
    QL_HELP_CLAIM_TIMEOUT
    "  --codec NAME          zstd (default), snappy or none\n"
    "  --status DUR          status line on stderr this often (default 5s, 0 = off)\n"
    "  -q, --quiet           no status lines\n";

static volatile int stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

enum { OPT_ONCE = QL_OPT_FIRST_LOCAL, OPT_FLUSH, OPT_BATCH, OPT_CODEC, OPT_STATUS, OPT_COMPACT, OPT_CLAIM_TIMEOUT };

int ql_cmd_load(int argc, char **argv)
{
    static const struct option longopts[] = {
        QL_LONGOPT_DATA, QL_LONGOPT_LAKE, QL_LONGOPT_CONFIG, QL_LONGOPT_KAFKA, QL_LONGOPT_TOPIC, QL_LONGOPT_GROUP,
        QL_LONGOPT_HELP,
        {"once", no_argument, NULL, OPT_ONCE},
        {"flush-interval", required_argument, NULL, OPT_FLUSH},
        {"batch-rows", required_argument, NULL, OPT_BATCH},
        {"codec", required_argument, NULL, OPT_CODEC},
        {"status", required_argument, NULL, OPT_STATUS},
        {"compact-interval", required_argument, NULL, OPT_COMPACT},
        {"claim-timeout", required_argument, NULL, OPT_CLAIM_TIMEOUT},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    ql_common_opts_t co;
    ql_cli_defaults(&co);
    int once = 0, quiet = 0, c;
    int64_t flush_ms = 1000, status_ms = 5000, compact_ms = 600000, claim_timeout_ms = 0;
    uint64_t batch_rows = 0;
    ql_pq_codec_t codec = QL_PQ_ZSTD;
    optind = 1;
    while ((c = ql_cli_next(&co, "load", argc, argv, "q", longopts)) != -1) {
        switch (c) {
        case OPT_ONCE: once = 1; break;
        case 'q': quiet = 1; break;
        case OPT_FLUSH:
            if (ql_cli_duration("load", "flush-interval", optarg, 1, &flush_ms)) return 2;
            break;
        case OPT_COMPACT:
            if (ql_cli_duration("load", "compact-interval", optarg, 0, &compact_ms)) return 2;
            break;
        case OPT_CLAIM_TIMEOUT:
            if (ql_cli_duration("load", "claim-timeout", optarg, 0, &claim_timeout_ms)) return 2;
            break;
        case OPT_STATUS:
            if (ql_cli_duration("load", "status", optarg, 0, &status_ms)) return 2;
            break;
        case OPT_BATCH:
            if (ql_cli_size("load", "batch-rows", optarg, &batch_rows)) return 2;
            break;
        case OPT_CODEC:
            if (ql_cli_codec("load", optarg, &codec)) return 2;
            break;
        default: return 2;   /* ql_cli_next said why */
        }
    }
    int end = ql_cli_end_no_operands(&co, "load", usage, argc, argv);
    if (end >= 0) return end;

    if (!co.kafka && ql_cli_need_log(&co, "load")) return 1;

    char err[512];
    int rc = 1, lock_fd = -1;
    ql_loader_env_t env = {0};
    ql_loader_follow_t f = {0};   /* closed at out: whatever got opened */
    if (ql_loader_env_open(&env, co.config_path, err, sizeof err)) goto fail;
    if (!co.kafka && ql_lake_lock(co.lake_dir, "loader", &lock_fd, err, sizeof err)) goto fail;
    char source[200];
    if (ql_lake_claim_source(co.lake_dir, ql_cli_log_source(&co, source, sizeof source), err, sizeof err)) goto fail;
    ql_loader_options_t lo = {0};
    lo.lake_dir = co.lake_dir;
    lo.transform = env.tf;
    lo.wopt.codec = codec;
    lo.batch_rows = (int64_t)batch_rows;
    lo.claim_timeout_ms = claim_timeout_ms;
    ql_loader_source_t src = {.log_dir = co.log_dir, .kafka = co.kafka, .topic = co.topic, .group = co.group,
                              .kafka_conf = co.kafka_conf};
    f = (ql_loader_follow_t){
        .flush_interval_ms = flush_ms, .once = once, .stop = &stop_flag,
        .status_interval_ms = quiet ? 0 : status_ms, .cmd = "load", .compact_interval_ms = compact_ms,
    };
    if (ql_loader_follower_open(&f, &lo, &src, err, sizeof err)) goto fail;   /* at start-up: fatal */

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int64_t t0 = ql_monotonic_us();
    /* --once is a batch job: a failure ends it (exit 1; run it again). Following,
     * a failure (the lake's disk full …) is retried after a back-off. */
    ql_loader_retry_t retry = {0};
    if (once ? ql_loader_follow(&f, err, sizeof err) : ql_loader_follow_retrying(&f, &lo, &src, &retry, err, sizeof err))
        goto fail;
    ql_loader_stats_t st;
    ql_loader_stats(f.loader, &st);
    if (!quiet)
        fprintf(stderr,
                "questlog load: %llu events (%llu already in the lake), %llu rows, %llu rejected, %llu files, "
                "%.1f MB in %.2f s -> %s\n",
                (unsigned long long)st.records, (unsigned long long)st.skipped, (unsigned long long)st.rows,
                (unsigned long long)st.rejected, (unsigned long long)st.files, (double)st.bytes / 1e6,
                (double)(ql_monotonic_us() - t0) / 1e6, co.lake_dir);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "questlog load: %s\n", err);
out:
    ql_loader_follower_close(&f);
    ql_loader_env_close(&env);
    if (lock_fd >= 0) close(lock_fd);
    return rc;
}

