/*
 * cmd_cat.c — `questlog cat`: prints log records' values (the event JSON)
 * one per line, like `kcat -C`. Reads the embedded log under DATA/log, or a
 * Kafka topic with --kafka. Follows by default; -e exits at the end with
 * kcat's "% Reached end of …" note on stderr. A closed stdout (cat | head)
 * ends it quietly with status 0.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "util.h"

enum { OPT_FROM = QL_OPT_FIRST_LOCAL };

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

typedef struct cat_start {
    int64_t from;
} cat_start_t;

static int64_t assigned(void *arg, int32_t partition)
{
    (void)partition;
    return ((cat_start_t *)arg)->from;
}

static const char usage[] =
    "usage: questlog cat [--data DIR] [--from beginning|end|OFFSET] [-e]\n"
    "       questlog cat --kafka BROKERS [--topic T] [-X k=v]… [--from …] [-e]\n\n"
    "Prints each log record's value (the event, one JSON object) as a line, like\n"
    "`kcat -C -o beginning -e`. Follows the log until interrupted unless -e is given.\n\n"
    "Options:\n"
    "  --from WHERE      beginning (default), end, or an offset (per partition with Kafka)\n"
    "  -e, --exit        exit when the end of the log is reached (kcat -e)\n";

/* 1 when stdout is a pipe whose reader went away (cat | head, while idle). */
static int stdout_gone(void)
{
    struct pollfd p = {1, 0, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

/* 0 ok, 1 stdout closed (EPIPE) or failed. */
static int out_ok(void)
{
    if (!ferror(stdout)) return 0;
    if (errno != EPIPE) fprintf(stderr, "questlog cat: write error: %s\n", strerror(errno));
    return 1;
}

int ql_cmd_cat(int argc, char **argv)
{
    static const struct option longopts[] = {
        QL_LONGOPT_DATA, QL_LONGOPT_KAFKA, QL_LONGOPT_TOPIC, QL_LONGOPT_HELP,
        {"from", required_argument, NULL, OPT_FROM},
        {"exit", no_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    ql_common_opts_t o;
    ql_cli_defaults(&o);
    const char *from = "beginning";
    int exit_at_end = 0, opt;
    optind = 1;
    while ((opt = ql_cli_next(&o, "cat", argc, argv, "e", longopts)) != -1) {
        switch (opt) {
        case OPT_FROM: from = optarg; break;
        case 'e': exit_at_end = 1; break;
        default: return 2;   /* ql_cli_next said why */
        }
    }
    int end = ql_cli_end_no_operands(&o, "cat", usage, argc, argv);
    if (end >= 0) return end;
    if (!o.kafka && ql_cli_need_log(&o, "cat")) return 1;

    cat_start_t start;
    if (!strcmp(from, "beginning")) start.from = QL_OFFSET_BEGINNING;
    else if (!strcmp(from, "end")) start.from = QL_OFFSET_END;
    else {
        char *end;
        errno = 0;
        long long v = strtoll(from, &end, 10);
        if (errno || end == from || *end || v < 0) {
            fprintf(stderr, "questlog cat: --from wants beginning, end or an offset, got '%s'\n", from);
            return 2;
        }
        start.from = v;
    }

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char err[512];
    ql_consumer_callbacks_t cb = {assigned, NULL, &start};
    ql_consumer_t *c = NULL;
    int rc = o.kafka ? ql_consumer_open_kafka(&c, o.kafka, o.topic, NULL, o.kafka_conf, &cb, err, sizeof err)
                     : ql_consumer_open_embedded(&c, o.log_dir, NULL, &cb, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "questlog cat: %s\n", err);
        return 1;
    }
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    ql_log_record_t recs[256];
    int status = 0;
    while (!stop) {
        int n = ql_consumer_poll(c, recs, QL_ARRAY_LEN(recs), 100, err, sizeof err);
        if (n < 0) {
            fflush(stdout);
            fprintf(stderr, "questlog cat: %s\n", err);
            status = 1;
            break;
        }
        for (int i = 0; i < n; i++) {
            fwrite(recs[i].value, 1, recs[i].value_len, stdout);
            putchar('\n');
        }
        if (out_ok()) break;
        if (n < (int)QL_ARRAY_LEN(recs)) {
            if (fflush(stdout) != 0 && out_ok()) break;
            if (n == 0 && stdout_gone()) break;
            if (exit_at_end && ql_consumer_at_end(c)) {
                int64_t end = -1;
                if (o.kafka) fprintf(stderr, "%% Reached end of topic %s: exiting\n", o.topic);
                else {
                    ql_consumer_end_offset(c, 0, &end);
                    fprintf(stderr, "%% Reached end of log at offset %" PRId64 ": exiting\n", end);
                }
                break;
            }
        }
    }
    fflush(stdout);
    ql_consumer_close(c);
    return status;
}
