/*
 * cmd_simulate.c — `questlog simulate`: command-line parsing, the live
 * progress line, and the summary (text or --json) around the traffic model and
 * load engine in simulate.c.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "simulate.h"
#include "util.h"

static const char usage_text[] =
    "usage: questlog simulate [--url URL] [--players N] [--duration S | --events N | --requests N]\n"
    "                         [--rate R [--connections K] | --concurrency C] [--seed S]\n"
    "                         [--bad-ratio F] [--batch-ratio F] [--timeout S] [--json] [--dry-run]\n"
    "\n"
    "Plays realistic game traffic against a questlog collector (or any server with the\n"
    "same routes) and reports what happened: requests sent, succeeded, failed by status,\n"
    "events the server accepted, the achieved rate and latency percentiles.\n"
    "\n"
    "Players have stable identities (Host: userN.comcast.com, a User-Agent for their iOS,\n"
    "Android or desktop client, X-Player-Id: N). A session opens with GET /, then buys swords\n"
    "(/purchase_a_sword?sword_type=…&price=…, Zipf-popular catalogue) and joins guilds\n"
    "(/join_guild?guild_id=…), some of it as NDJSON batches on POST /events.\n"
    "\n"
    "Options:\n"
    "  --url URL          collector address, http://HOST:PORT[/PREFIX]\n"
    "                     (default http://127.0.0.1:5000, or http://LISTEN with --listen)\n"
    "  --players N        number of players (default 100)\n"
    "  --duration S       run this long: 10, 10s, 500ms, 2m (default 10s when no count is given)\n"
    "  --events N         stop once the requests carried N events (a batch of k counts k,\n"
    "                     a bad request counts 1)\n"
    "  --requests N       stop after N requests\n"
    "  --rate R           open loop: R requests/s at constant spacing; latency is measured from\n"
    "                     each request's intended send time (no coordinated omission)\n"
    "  --connections K    open loop: keep-alive connections to use at most (default 64)\n"
    "  --concurrency C    closed loop: C requests always in flight (default 16)\n"
    "  --seed S           seed of the request stream; the same seed gives the same requests\n"
    "                     (default: from the clock, printed in the summary)\n"
    "  --bad-ratio F      share of requests made deliberately bad (unknown route -> 404,\n"
    "                     price=abc -> 400, malformed JSON -> 400); default 0\n"
    "  --batch-ratio F    share of in-session steps sent as POST /events batches (default 0.1)\n"
    "  --timeout S        per-request timeout, and the limit for draining at the end (default 30s)\n"
    "  --json             print the summary as one JSON object on stdout\n"
    "  --dry-run          print the requests that would be sent, one JSON object per line;\n"
    "                     no network (needs --events, --requests, or --rate with --duration)\n"
    "  --listen HOST:PORT  the collector's address, when --url is not given\n"
    "  -h, --help         this help\n"
    "\n"
    "A one-line progress display is drawn on stderr when it is a terminal.\n"
    "Exit status: 0 when the run took place (failures are in the summary), 1 when no request\n"
    "got any HTTP response, 2 on a usage error.\n";

enum {
    OPT_URL = QL_OPT_FIRST_LOCAL, OPT_PLAYERS, OPT_DURATION, OPT_EVENTS, OPT_REQUESTS, OPT_RATE,
    OPT_CONNECTIONS, OPT_CONCURRENCY, OPT_SEED, OPT_BAD, OPT_BATCH, OPT_TIMEOUT, OPT_JSON, OPT_DRY,
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    if (stop_flag) signal(SIGINT, SIG_DFL);  /* a second Ctrl-C kills */
    stop_flag = 1;
}

typedef struct progress {
    double   last_t;
    uint64_t last_completed;
} progress_t;

static void show_progress(void *ctx, const ql_sim_stats_t *s, double t)
{
    progress_t *p = ctx;
    double dt = t - p->last_t;
    double rate = dt > 0 ? (double)(s->completed - p->last_completed) / dt : 0;
    p->last_t = t;
    p->last_completed = s->completed;
    fprintf(stderr, "\r%7.1fs  sent %llu  ok %llu  failed %llu  events %llu  %.0f req/s  p99 %.3f ms\033[K", t,
            (unsigned long long)s->sent, (unsigned long long)s->succeeded, (unsigned long long)s->failed,
            (unsigned long long)s->events, rate, (double)ql_sim_hist_percentile(s->latency, 99) / 1e6);
    fflush(stderr);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "questlog simulate: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see questlog simulate --help)\n");
    return 2;
}

int ql_cmd_simulate(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, OPT_URL},
        {"players", required_argument, NULL, OPT_PLAYERS},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"events", required_argument, NULL, OPT_EVENTS},
        {"requests", required_argument, NULL, OPT_REQUESTS},
        {"rate", required_argument, NULL, OPT_RATE},
        {"connections", required_argument, NULL, OPT_CONNECTIONS},
        {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"seed", required_argument, NULL, OPT_SEED},
        {"bad-ratio", required_argument, NULL, OPT_BAD},
        {"batch-ratio", required_argument, NULL, OPT_BATCH},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"json", no_argument, NULL, OPT_JSON},
        {"dry-run", no_argument, NULL, OPT_DRY},
        {"listen", required_argument, NULL, QL_OPT_LISTEN},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ql_sim_opts_t o = {
        .model = {.players = 100, .bad_ratio = 0, .batch_ratio = 0.1},
        .timeout_s = 30,
    };
    const char *url = NULL, *listen = NULL;
    char url_buf[300];
    int json = 0, dry = 0, seed_given = 0, concurrency = 0, connections = 0;
    uint64_t u;
    double d;
    int64_t msecs;
    int opt;

    optind = 1;
    while ((opt = ql_cli_getopt("simulate", argc, argv, "h", longopts)) != -1) {
        switch (opt) {
        case 'h': fputs(usage_text, stdout); return 0;
        case OPT_URL: url = optarg; break;
        case QL_OPT_LISTEN: listen = optarg; break;
        case OPT_PLAYERS:
            if (parse_u64(optarg, &u) < 0 || u < 1 || u > 10000000)
                return usage_error("--players wants 1..10000000, got '%s'", optarg);
            o.model.players = (int)u;
            break;
        case OPT_DURATION:
            if (ql_parse_duration_ms(optarg, &msecs) < 0 || msecs <= 0)
                return usage_error("--duration wants a positive duration (10, 10s, 500ms), got '%s'", optarg);
            o.duration_s = (double)msecs / 1000.0;
            break;
        case OPT_EVENTS:
            if (parse_u64(optarg, &u) < 0 || u < 1) return usage_error("--events wants a positive count, got '%s'", optarg);
            o.max_events = u;
            break;
        case OPT_REQUESTS:
            if (parse_u64(optarg, &u) < 0 || u < 1) return usage_error("--requests wants a positive count, got '%s'", optarg);
            o.max_requests = u;
            break;
        case OPT_RATE:
            if (parse_double(optarg, &d) < 0 || d <= 0 || d > 1e8)
                return usage_error("--rate wants a positive number of requests/s, got '%s'", optarg);
            o.rate = d;
            break;
        case OPT_CONNECTIONS:
            if (parse_u64(optarg, &u) < 0 || u < 1 || u > 100000)
                return usage_error("--connections wants 1..100000, got '%s'", optarg);
            connections = (int)u;
            break;
        case OPT_CONCURRENCY:
            if (parse_u64(optarg, &u) < 0 || u < 1 || u > 100000)
                return usage_error("--concurrency wants 1..100000, got '%s'", optarg);
            concurrency = (int)u;
            break;
        case OPT_SEED:
            if (parse_u64(optarg, &u) < 0) return usage_error("--seed wants a non-negative integer, got '%s'", optarg);
            o.model.seed = u;
            seed_given = 1;
            break;
        case OPT_BAD:
            if (parse_double(optarg, &d) < 0 || d < 0 || d >= 1)
                return usage_error("--bad-ratio wants a number in [0, 1), got '%s'", optarg);
            o.model.bad_ratio = d;
            break;
        case OPT_BATCH:
            if (parse_double(optarg, &d) < 0 || d < 0 || d > 1)
                return usage_error("--batch-ratio wants a number in [0, 1], got '%s'", optarg);
            o.model.batch_ratio = d;
            break;
        case OPT_TIMEOUT:
            if (ql_parse_duration_ms(optarg, &msecs) < 0 || msecs <= 0)
                return usage_error("--timeout wants a positive duration, got '%s'", optarg);
            o.timeout_s = (double)msecs / 1000.0;
            break;
        case OPT_JSON: json = 1; break;
        case OPT_DRY: dry = 1; break;
        default: return 2;   /* ql_cli_getopt said why */
        }
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if (o.rate > 0 && concurrency) return usage_error("%s", "--rate (open loop) and --concurrency (closed loop) exclude each other");
    if (o.rate <= 0 && connections) return usage_error("%s", "--connections goes with --rate; use --concurrency for a closed loop");
    o.concurrency = concurrency ? concurrency : 16;
    o.connections = connections ? connections : 64;
    if (o.duration_s <= 0 && !o.max_events && !o.max_requests) o.duration_s = 10;
    if (!seed_given) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o.model.seed = ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }
    if (!url) {
        snprintf(url_buf, sizeof url_buf, "http://%s", listen ? listen : "127.0.0.1:5000");
        url = url_buf;
    }
    o.url = url;

    char err[512];
    if (dry) {
        if (ql_sim_dry_run(&o, stdout, err, sizeof err) < 0) {
            fprintf(stderr, "questlog simulate: %s\n", err);
            return 2;
        }
        return 0;
    }

    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    progress_t prog = {0};
    o.stop = &stop_flag;
    if (isatty(STDERR_FILENO)) {
        o.progress = show_progress;
        o.progress_ctx = &prog;
    }
    ql_sim_stats_t st;
    int rc = ql_sim_run(&o, &st, err, sizeof err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (o.progress) fputs("\r\033[K", stderr);
    if (rc < 0) {
        fprintf(stderr, "questlog simulate: %s\n", err);
        ql_sim_stats_free(&st);
        return 2;
    }
    ql_buf_t out = QL_BUF_INIT;
    if (json) ql_sim_stats_json(&o, &st, &out);
    else ql_sim_stats_text(&o, &st, &out);
    fwrite(out.data, 1, out.len, stdout);
    fflush(stdout);
    ql_buf_free(&out);
    int responses = st.completed > st.io_errors;
    if (!responses && st.sent > 0)
        fprintf(stderr, "questlog simulate: no request got a response%s%s\n", st.first_error[0] ? ": " : "",
                st.first_error);
    ql_sim_stats_free(&st);
    return (responses || st.sent == 0) ? 0 : 1;
}
