/*
 * mock_cluster.c — a Kafka cluster for the tests: librdkafka's mock cluster
 * (rdkafka_mock.h), N brokers on loopback, speaking the real Kafka protocol
 * so questlog, kcat and kafka-python can talk to it.
 *
 *   mock_cluster [--brokers N] [--topic NAME] [--partitions P]
 *
 * Creates TOPIC (default "events") with P partitions (default 4), replication
 * factor min(3, N), prints the bootstrap servers as the first line on stdout
 * and then runs until stdin is closed, a "quit" line arrives, or SIGTERM/
 * SIGINT. Commands read on stdin, one per line, each answered on stdout with
 * "ok <command>" or "error <why>" (tests wait for the answer):
 *
 *   down ID               take broker ID (1..N) down: its connections drop,
 *                         it refuses new ones
 *   up ID                 bring it back
 *   rtt ID MS             delay broker ID's responses by MS milliseconds
 *   create TOPIC P        create another topic with P partitions
 *   leader TOPIC PART ID  move the partition's leadership to broker ID
 *
 * Limits (see NOTES.md): the mock keeps everything in memory; with the
 * idempotent producer at high volume (hundreds of thousands of messages)
 * readers can see offsets skipped, so tests stay at <= 20k messages.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int run_cmd(rd_kafka_mock_cluster_t *mc, int nbrokers, char *line)
{
    char what[32] = "", topic[256] = "";
    int a = 0, b = 0, c = 0;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__INVALID_ARG;
    if (sscanf(line, "%31s", what) != 1) return 0;
    if (!strcmp(what, "quit")) return 1;
    if ((!strcmp(what, "down") || !strcmp(what, "up")) && sscanf(line, "%*s %d", &a) == 1 && a >= 1 &&
        a <= nbrokers)
        e = !strcmp(what, "down") ? rd_kafka_mock_broker_set_down(mc, a) : rd_kafka_mock_broker_set_up(mc, a);
    else if (!strcmp(what, "rtt") && sscanf(line, "%*s %d %d", &a, &b) == 2)
        e = rd_kafka_mock_broker_set_rtt(mc, a, b);
    else if (!strcmp(what, "create") && sscanf(line, "%*s %255s %d", topic, &a) == 2 && a > 0)
        e = rd_kafka_mock_topic_create(mc, topic, a, nbrokers < 3 ? nbrokers : 3);
    else if (!strcmp(what, "leader") && sscanf(line, "%*s %255s %d %d", topic, &a, &c) == 3)
        e = rd_kafka_mock_partition_set_leader(mc, topic, a, c);
    line[strcspn(line, "\n")] = 0;
    if (e) printf("error %s: %s\n", line, rd_kafka_err2str(e));
    else printf("ok %s\n", line);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    int nbrokers = 3, partitions = 4;
    const char *topic = "events";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--brokers") && i + 1 < argc) nbrokers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--topic") && i + 1 < argc) topic = argv[++i];
        else if (!strcmp(argv[i], "--partitions") && i + 1 < argc) partitions = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: mock_cluster [--brokers N] [--topic NAME] [--partitions P]\n");
            return 2;
        }
    }
    if (nbrokers < 1 || partitions < 1) {
        fprintf(stderr, "mock_cluster: --brokers and --partitions must be >= 1\n");
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);

    char es[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", es, sizeof es);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof es);
    if (!rk) {
        fprintf(stderr, "mock_cluster: %s\n", es);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, nbrokers);
    if (!mc) {
        fprintf(stderr, "mock_cluster: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topic, partitions, nbrokers < 3 ? nbrokers : 3);
    if (e) {
        fprintf(stderr, "mock_cluster: create topic %s: %s\n", topic, rd_kafka_err2str(e));
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 1;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char line[1024];
    size_t have = 0;
    while (!stop) {
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        int r = poll(&pfd, 1, 200);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        ssize_t got = read(0, line + have, sizeof line - 1 - have);
        if (got <= 0) break;                  /* stdin closed: the test is over */
        have += (size_t)got;
        line[have] = 0;
        char *nl;
        int quit = 0;
        while (!quit && (nl = strchr(line, '\n'))) {
            *nl = 0;
            quit = run_cmd(mc, nbrokers, line);
            size_t used = (size_t)(nl + 1 - line);
            memmove(line, nl + 1, have - used + 1);
            have -= used;
        }
        if (quit) break;
        if (have == sizeof line - 1) have = 0;  /* overlong line: drop it */
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
