/*
 * cmd_up.c — `questlog up`: the whole pipeline in one process. The HTTP
 * collector (collector.h) appends events to the embedded log under
 * DATA/log; a loader thread follows that log into the lake under DATA/lake,
 * committing every --flush-interval (default 1 s, so an accepted event is
 * queryable about a second later). Loader lag and files/bytes written are
 * added to the collector's /metrics.
 *
 * With --kafka the collector produces to the topic and the loader consumes
 * it in its consumer group instead of the embedded log.
 *
 * Shutdown (SIGINT/SIGTERM): stop the collector first (it answers every
 * request already handed to the log), then let the loader read the log to
 * its end, commit, and exit 0 — nothing accepted is left unloaded.
 *
 * A loader that fails while running (the lake's disk full, an I/O error)
 * does not take the collector down with it: the events keep going into the
 * log, and the loader thread reopens the lake and its consumer after a
 * back-off (1 s doubling to 30 s) and resumes from the lake's record — the
 * same path as a restart of the process, so the tables stay exact. Failures
 * at start-up still stop `up` (they are configuration, not weather), and so
 * does --claim-timeout expiring (the user's own deadline).
 *
 * Threads: main (signals, start/stop), the collector's loops, the loader.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "collector.h"
#include "lake.h"
#include "loader.h"
#include "log.h"
#include "util.h"

static const char usage[] =
    "usage: questlog up [--data DIR] [--listen HOST:PORT] [options]\n"
    "\n"
    "Runs the collector and the streaming loader in one process: events sent\n"
    "to the HTTP API land in DATA/log and, about a second later, in the\n"
    "Parquet tables under DATA/lake. Ctrl-C drains, flushes and exits.\n"
    "If the lake cannot be written (its disk full), the collector keeps\n"
    "accepting events into the log and the loader retries after a back-off.\n"
    "\n"
    "Options:\n"
    "  --flush-interval DUR  commit to the lake this often (default 1s)\n"
    "  --compact-interval DUR  merge the small files streaming leaves this often\n"
    "                        (default 10m, 0 = never; see `questlog compact`)\n"
    QL_HELP_CLAIM_TIMEOUT
    "  --threads N           collector event loops (default: one per core)\n"
    "  -q, --quiet           no status lines\n";

/* The loader thread's state. Written by main before the thread starts; then
 * the thread owns f.loader and f.consumer (main closes them after joining). */
typedef struct up_loader {
    ql_loader_options_t lo;
    ql_loader_source_t  src;
    ql_loader_follow_t  f;
    ql_loader_retry_t   retry;   /* for /metrics */
    ql_loader_live_t    live;    /* for /metrics */
    int                 fatal;   /* atomic: the thread ended on an error it does not retry */
    char                err[640]; /* the thread's error, if any */
} up_loader_t;

/* The loader thread: follows the log (surviving failures) until main sets
 * f.stop, then reads it to its end — main has stopped the collector, so
 * nothing more comes — and commits. Returns NULL, or u->err: the claim
 * timeout (fatal, at any time) or a failure while draining. */
static void *loader_main(void *arg)
{
    up_loader_t *u = arg;
    pthread_setname_np(pthread_self(), "ql-loader");
    char err[512];
    int rc = ql_loader_follow_retrying(&u->f, &u->lo, &u->src, &u->retry, err, sizeof err);
    if (rc == 0) {
        /* everything the collector acknowledged is in the log: load up to its end */
        static volatile int never;
        u->f.stop = &never;
        u->f.once = 1;
        u->f.status_interval_ms = 0;
        rc = ql_loader_follow(&u->f, err, sizeof err);
        if (rc == 0) return NULL;
    }
    if (u->f.loader && ql_loader_gave_up(u->f.loader)) {   /* the user's --claim-timeout */
        snprintf(u->err, sizeof u->err, "%.500s", err);
        __atomic_store_n(&u->fatal, 1, __ATOMIC_RELEASE);
    } else {
        snprintf(u->err, sizeof u->err, "%.500s (the events stay in the log: the next up or load loads them)", err);
    }
    return u->err;
}

static void metrics(void *arg, ql_buf_t *out)
{
    up_loader_t *u = arg;
    ql_buf_printf(out,
                  "# HELP questlog_loader_running 1 while the loader follows the log, 0 while it waits to retry.\n"
                  "# TYPE questlog_loader_running gauge\nquestlog_loader_running %d\n"
                  "# HELP questlog_loader_restarts_total Loader restarts after a failure (e.g. the lake's disk full).\n"
                  "# TYPE questlog_loader_restarts_total counter\nquestlog_loader_restarts_total %" PRIu64 "\n",
                  __atomic_load_n(&u->retry.running, __ATOMIC_RELAXED),
                  __atomic_load_n(&u->retry.restarts, __ATOMIC_RELAXED));
    ql_loader_live_t v;
    ql_loader_live_read(&u->live, &v);
    ql_buf_printf(out,
                  "# HELP questlog_loader_events_total Log records consumed by the loader.\n"
                  "# TYPE questlog_loader_events_total counter\nquestlog_loader_events_total %" PRIu64 "\n"
                  "# HELP questlog_loader_rows_total Rows written to lake tables.\n"
                  "# TYPE questlog_loader_rows_total counter\nquestlog_loader_rows_total %" PRIu64 "\n"
                  "# HELP questlog_loader_rejected_total Records sent to the _rejected table.\n"
                  "# TYPE questlog_loader_rejected_total counter\nquestlog_loader_rejected_total %" PRIu64 "\n"
                  "# HELP questlog_loader_files_total Parquet files committed to the lake.\n"
                  "# TYPE questlog_loader_files_total counter\nquestlog_loader_files_total %" PRIu64 "\n"
                  "# HELP questlog_loader_bytes_total Bytes of Parquet files committed.\n"
                  "# TYPE questlog_loader_bytes_total counter\nquestlog_loader_bytes_total %" PRIu64 "\n"
                  "# HELP questlog_loader_commits_total Lake batch commits.\n"
                  "# TYPE questlog_loader_commits_total counter\nquestlog_loader_commits_total %" PRIu64 "\n"
                  "# HELP questlog_loader_lag_events Log records not yet in the lake.\n"
                  "# TYPE questlog_loader_lag_events gauge\nquestlog_loader_lag_events %" PRId64 "\n"
                  "# HELP questlog_loader_lag_seconds Age of the oldest record not yet in the lake.\n"
                  "# TYPE questlog_loader_lag_seconds gauge\nquestlog_loader_lag_seconds %.3f\n",
                  v.events, v.rows, v.rejected, v.files, v.bytes, v.commits, v.lag_events < 0 ? 0 : v.lag_events,
                  (double)v.lag_us / 1e6);
    ql_loader_live_metrics(&v, out);   /* per-partition consumer lag (Kafka) */
}

int ql_cmd_up(int argc, char **argv)
{
    enum { OPT_FLUSH = QL_OPT_FIRST_LOCAL, OPT_THREADS, OPT_COMPACT, OPT_CLAIM_TIMEOUT };
    static const struct option longopts[] = {
        QL_COMMON_LONGOPTS,
        {"flush-interval", required_argument, NULL, OPT_FLUSH},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"compact-interval", required_argument, NULL, OPT_COMPACT},
        {"claim-timeout", required_argument, NULL, OPT_CLAIM_TIMEOUT},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    ql_common_opts_t co;
    ql_cli_defaults(&co);
    int quiet = 0, threads = 0, c;
    long n;
    int64_t flush_ms = 1000, compact_ms = 600000, claim_timeout_ms = 0;
    optind = 1;
    while ((c = ql_cli_next(&co, "up", argc, argv, "q", longopts)) != -1) {
        switch (c) {
        case 'q': quiet = 1; break;
        case OPT_FLUSH:
            if (ql_cli_duration("up", "flush-interval", optarg, 1, &flush_ms)) return 2;
            break;
        case OPT_COMPACT:
            if (ql_cli_duration("up", "compact-interval", optarg, 0, &compact_ms)) return 2;
            break;
        case OPT_CLAIM_TIMEOUT:
            if (ql_cli_duration("up", "claim-timeout", optarg, 0, &claim_timeout_ms)) return 2;
            break;
        case OPT_THREADS:
            if (ql_cli_int("up", "threads", optarg, 0, 64, &n)) return 2;
            threads = (int)n;
            break;
        default: return 2;   /* ql_cli_next said why */
        }
    }
    int end = ql_cli_end_no_operands(&co, "up", usage, argc, argv);
    if (end >= 0) return end;

    /* Signals go to the thread that sigwaits; every thread created below
     * inherits the blocked mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    char err[512];
    int rc = 1, lock_fd = -1, loader_running = 0;
    ql_loader_env_t env = {0};
    ql_log_t *log = NULL;
    ql_collector_t *col = NULL;
    static up_loader_t u;   /* the loader thread's; static: ~2 KB of live figures */
    static volatile int stop_loader;
    memset(&u, 0, sizeof u);
    pthread_t th;
    ql_log_options_t lopt;

    if (ql_loader_env_open(&env, co.config_path, err, sizeof err)) goto fail;
    if (ql_log_options_from_config(&lopt, env.cfg, err, sizeof err)) goto fail;
    if (ql_mkdir_p(co.data_dir, err, sizeof err)) goto fail;
    /* Kafka: several `up`/`load` processes in a group may share the lake's
     * partitions; the embedded log has one loader per lake */
    if (!co.kafka && ql_lake_lock(co.lake_dir, "loader", &lock_fd, err, sizeof err)) goto fail;
    char source[200];
    if (ql_lake_claim_source(co.lake_dir, ql_cli_log_source(&co, source, sizeof source), err, sizeof err)) goto fail;
    if (co.kafka ? ql_log_open_kafka(&log, co.kafka, co.topic, co.kafka_conf, 0, err, sizeof err)
                 : ql_log_open_embedded(&log, co.log_dir, &lopt, err, sizeof err))
        goto fail;

    u.lo.lake_dir = co.lake_dir;
    u.lo.transform = env.tf;
    u.lo.wopt.codec = QL_PQ_ZSTD;
    u.lo.claim_timeout_ms = claim_timeout_ms;
    u.f = (ql_loader_follow_t){
        .flush_interval_ms = flush_ms, .stop = &stop_loader, .status_interval_ms = quiet ? 0 : 10000, .cmd = "up",
        .live = &u.live, .compact_interval_ms = compact_ms,
    };
    u.src = (ql_loader_source_t){.log_dir = co.log_dir, .kafka = co.kafka, .topic = co.topic, .group = co.group,
                                 .kafka_conf = co.kafka_conf};
    /* at start-up a failure stops up */
    if (ql_loader_follower_open(&u.f, &u.lo, &u.src, err, sizeof err)) goto fail;

    ql_collector_options_t copt = {.catalog = env.cat, .log = log, .listen = co.listen, .nthreads = threads,
                                   .quiet = 1};   /* the lines below say where it listens */
    if (ql_collector_start(&col, &copt, err, sizeof err)) goto fail;
    ql_collector_add_metrics(col, metrics, &u);

    if (pthread_create(&th, NULL, loader_main, &u) != 0) {
        snprintf(err, sizeof err, "cannot start the loader thread");
        goto fail;
    }
    loader_running = 1;

    const char *addr = ql_collector_address(col);
    if (co.kafka) printf("questlog up: collecting events on http://%s  (Kafka topic %s on %s)\n", addr, co.topic, co.kafka);
    else printf("questlog up: collecting events on http://%s  (log: %s)\n", addr, co.log_dir);
    printf("questlog up: lake at %s, committed every %.1f s\n", co.lake_dir, (double)flush_ms / 1000);
    printf("questlog up: try  curl http://%s/purchase_a_sword  then\n"
           "             %s query --lake %s \"select * from purchases limit 5\"\n",
           addr, program_invocation_name, co.lake_dir);
    printf("questlog up: Ctrl-C to stop (drains and flushes)\n");
    fflush(stdout);

    int sig = 0;
    void *lerr = NULL;
    for (;;) {
        /* wake up now and then to notice a loader that ended for good */
        struct timespec ts = {0, 200 * 1000000};
        sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig > 0) break;
        if (__atomic_load_n(&u.fatal, __ATOMIC_ACQUIRE) && pthread_join(th, &lerr) == 0) {
            loader_running = 0;
            snprintf(err, sizeof err, "the loader stopped: %s", lerr ? (char *)lerr : "unknown error");
            goto fail;
        }
    }
    if (!quiet) fprintf(stderr, "questlog up: %s: stopping the collector, then draining the log into the lake\n",
                        strsignal(sig));
    ql_collector_stop(col);
    col = NULL;
    stop_loader = 1;
    pthread_join(th, &lerr);
    loader_running = 0;
    if (lerr) {
        snprintf(err, sizeof err, "loader: %s", (char *)lerr);
        goto fail;
    }
    ql_loader_stats_t st;
    ql_loader_stats(u.f.loader, &st);
    if (!quiet)
        fprintf(stderr, "questlog up: loaded %" PRIu64 " events, %" PRIu64 " rows in %" PRIu64 " files%s; bye\n",
                st.records, st.rows, st.files, u.retry.restarts ? " (since the loader's last restart)" : "");
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "questlog up: %s\n", err);
out:
    if (col) ql_collector_stop(col);
    if (loader_running) {
        stop_loader = 1;
        pthread_join(th, NULL);
    }
    ql_loader_follower_close(&u.f);
    ql_log_close(log);
    ql_loader_env_close(&env);
    if (lock_fd >= 0) close(lock_fd);
    return rc;
}
