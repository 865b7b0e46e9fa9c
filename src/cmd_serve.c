/*
 * cmd_serve.c — `questlog serve`: the HTTP collector alone, writing events
 * to the embedded log in DATA/log (or to Kafka with --kafka). Runs until
 * SIGINT/SIGTERM, then stops accepting, answers every request already handed
 * to the log, closes the log and exits 0.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "collector.h"
#include "config.h"
#include "log.h"
#include "util.h"

enum { OPT_THREADS = QL_OPT_FIRST_LOCAL };

static const char usage[] =
    "usage: questlog serve [--data DIR] [--listen HOST:PORT] [--config FILE] [--threads N]\n"
    "                      [--kafka BROKERS --topic T -X key=value ...]\n\n"
    "The HTTP collector: the catalog's routes (GET /purchase_a_sword?sword_type=katana ...),\n"
    "POST /events (one JSON object or NDJSON), GET /healthz, /metrics, /stats.\n"
    "Every 200 is sent only once the event is durable in the log (DATA/log, or the Kafka\n"
    "topic with --kafka). Ctrl-C (SIGINT) or SIGTERM: stop accepting, finish in-flight\n"
    "requests, close the log, exit 0.\n\n"
    "Options:\n"
    "  --threads N       event loops (default: [server] threads, 0 = one per core)\n";

int ql_cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {QL_LONGOPT_DATA, QL_LONGOPT_CONFIG, QL_LONGOPT_LISTEN,
                                             QL_LONGOPT_KAFKA, QL_LONGOPT_TOPIC, QL_LONGOPT_HELP,
                                             {"threads", required_argument, NULL, OPT_THREADS},
                                             {NULL, 0, NULL, 0}};
    ql_common_opts_t co;
    ql_config_t *cfg = NULL;
    ql_catalog_t *cat = NULL;
    ql_log_t *log = NULL;
    ql_collector_t *coll = NULL;
    char err[512];
    int threads = 0, rc = 1, c;
    ql_cli_defaults(&co);
    optind = 1;
    while ((c = ql_cli_next(&co, "serve", argc, argv, "", longopts)) != -1) {
        if (c != OPT_THREADS) return 2;   /* '?': ql_cli_next said why */
        long n;
        if (ql_cli_int("serve", "threads", optarg, 0, 256, &n)) return 2;
        threads = (int)n;
    }
    int end = ql_cli_end_no_operands(&co, "serve", usage, argc, argv);
    if (end >= 0) return end;

    if (ql_config_load(&cfg, co.config_path, err, sizeof err) || ql_catalog_load(&cat, cfg, err, sizeof err))
        goto fail;
    if (co.kafka) {
        if (ql_log_open_kafka(&log, co.kafka, co.topic, co.kafka_conf, 0, err, sizeof err)) goto fail;
    } else {
        ql_log_options_t lo;
        if (ql_log_options_from_config(&lo, cfg, err, sizeof err) || ql_mkdir_p(co.log_dir, err, sizeof err) ||
            ql_log_open_embedded(&log, co.log_dir, &lo, err, sizeof err))
            goto fail;
    }

    /* Signals are taken synchronously by this thread (sigwait); the
     * collector's threads start with every signal blocked. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    ql_collector_options_t o = {cat, log, co.listen, threads, 1};
    if (ql_collector_start(&coll, &o, err, sizeof err)) goto fail;
    if (co.kafka)
        printf("questlog serve: listening on http://%s/ (Kafka topic %s on %s)\n", ql_collector_address(coll),
               co.topic, co.kafka);
    else
        printf("questlog serve: listening on http://%s/ (log: %s)\n", ql_collector_address(coll), co.log_dir);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "questlog serve: %s, draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    ql_collector_stop(coll);
    coll = NULL;
    ql_log_close(log);
    log = NULL;
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "questlog serve: %s\n", err);
out:
    ql_collector_stop(coll);
    ql_log_close(log);
    ql_catalog_free(cat);
    ql_config_free(cfg);
    return rc;
}
