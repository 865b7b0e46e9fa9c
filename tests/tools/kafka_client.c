/*
 * kafka_client.c — drives questlog's Kafka backend (log_kafka.c) directly
 * through the log.h interface, for the tests: no HTTP server or loader
 * involved, so producer and consumer are tested on their own.
 *
 *   kafka_client produce BROKERS TOPIC N [--batch B] [--keys K] [--timeout MS]
 *                [--interval-us U] [--window W] [--inject-fatal-at E] [-X key=value]...
 *       Appends N seed-like JSON events (event_type cycling default,
 *       purchase_sword with a sword_type, join_guild; Host and key
 *       "player<i % K>") in appends of B
 *       messages, at most W appends in flight, sleeping U µs between appends.
 *       Prints "ok ID" for every event whose append's done said 0 and
 *       "fail ID STATUS" otherwise; a summary line on stderr. --inject-fatal-at
 *       raises a librdkafka fatal error once E events are appended.
 *
 *   kafka_client consume BROKERS TOPIC [--group G] [--state DIR] [--idle-ms T]
 *                [--stop-file F] [--commit] [--assign-delay-ms D] [-X key=value]...
 *       Reads with ql_consumer_*; prints "P OFFSET KEY VALUE" per record.
 *       Without --group: stops when at_end. With --group: stops after T ms
 *       (default 3000) without a record once every assigned partition is at
 *       its end — or, with --stop-file, only once F exists (checked after
 *       every poll; the test decides, on a condition, when the group is
 *       done, rather than guessing an idle window). --state DIR plays the lake's role: DIR/pN holds the next
 *       offset of partition N, read by `assigned` and written after every
 *       batch is printed — so several consumers in one group, across
 *       rebalances, print every record exactly once. --assign-delay-ms makes
 *       `assigned` take D ms, as the loader's does while it waits for a
 *       partition's claim in the lake.
 *
 *   kafka_client close-race BROKERS TOPIC [--rounds R] [-X key=value]...
 *       R times (default 3), in a fresh group: member A joins and reads to
 *       the end; member B joins (its own thread, polling) while A does not
 *       poll, so the revoke B's join causes waits in A's queue; then A is
 *       closed while its thread is starved of CPU (SCHED_IDLE, two spinning
 *       threads), as a loader stopped by SIGTERM on a loaded machine is —
 *       librdkafka's group state machine then finishes terminating before
 *       close serves that revoke. Prints "closed R" per round; a close that
 *       hangs (the test's `timeout` ends it) or crashes is the failure.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define MAX_X 32

/* ---- produce ----------------------------------------------------------- */

typedef struct batch {
    size_t first, n;
} batch_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static size_t inflight, n_ok, n_fail;
static char (*ids)[QL_UUID_LEN];

static void on_done(void *arg, int status, int64_t first_offset, const char *errmsg)
{
    (void)first_offset;
    (void)errmsg;
    batch_t *b = arg;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < b->n; i++) {
        if (status == 0) printf("ok %s\n", ids[b->first + i]);
        else printf("fail %s %d\n", ids[b->first + i], status);
    }
    if (status == 0) n_ok += b->n;
    else n_fail += b->n;
    inflight--;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    free(b);
}

static int produce(const char *brokers, const char *topic, size_t n, size_t batch, size_t keys,
                   int timeout_ms, long interval_us, size_t window, size_t fatal_at, const char *const *xs)
{
    char err[512];
    ql_log_t *log;
    if (ql_log_open_kafka(&log, brokers, topic, xs, timeout_ms, err, sizeof err) < 0) {
        fprintf(stderr, "kafka_client: %s\n", err);
        return 1;
    }
    ids = ql_calloc(n ? n : 1, sizeof *ids);
    char (*vals)[384] = ql_calloc(batch, sizeof *vals);
    char (*ks)[32] = ql_calloc(batch, sizeof *ks);
    ql_log_msg_t *msgs = ql_calloc(batch, sizeof *msgs);
    size_t refused = 0;
    for (size_t i = 0; i < n; i += batch) {
        size_t m = n - i < batch ? n - i : batch;
        for (size_t j = 0; j < m; j++) {
            ql_uuidv7(ql_now_us(), ids[i + j]);
            snprintf(ks[j], sizeof ks[j], "player%zu", (i + j) % keys);
            static const char *const types[] = {"default", "purchase_sword", "join_guild"};
            char ts[QL_RFC3339_LEN];
            ql_rfc3339_format(ql_now_us(), ts);
            const char *type = types[(i + j) % 3];
            int vl = snprintf(vals[j], sizeof vals[j],
                              "{\"event_type\":\"%s\",\"event_id\":\"%s\",\"timestamp\":\"%s\","
                              "\"seq\":%zu,\"Host\":\"%s\",\"User-Agent\":\"kafka_client\"%s}",
                              type, ids[i + j], ts, i + j, ks[j],
                              !strcmp(type, "purchase_sword") ? ",\"sword_type\":\"longsword\"" : "");
            msgs[j] = (ql_log_msg_t){ks[j], strlen(ks[j]), vals[j], (size_t)vl};
        }
        batch_t *b = ql_malloc(sizeof *b);
        *b = (batch_t){i, m};
        pthread_mutex_lock(&mu);
        while (inflight >= window) pthread_cond_wait(&cv, &mu);
        inflight++;
        pthread_mutex_unlock(&mu);
        int rc = ql_log_append(log, msgs, m, on_done, b);
        if (rc < 0) {
            pthread_mutex_lock(&mu);
            for (size_t j = 0; j < m; j++) printf("fail %s %d\n", ids[i + j], rc);
            inflight--;
            n_fail += m;
            refused += m;
            pthread_mutex_unlock(&mu);
            free(b);
        }
        if (interval_us > 0) usleep((useconds_t)interval_us);
        if (fatal_at && i + m >= fatal_at && i < fatal_at && ql_log_kafka_inject_fatal(log) == 0)
            fprintf(stderr, "kafka_client: fatal error injected after %zu events\n", i + m);
    }
    ql_log_close(log);                       /* waits for every done */
    ql_log_stats_t st;
    (void)st;
    fprintf(stderr, "kafka_client: acked %zu failed %zu (refused at once %zu)\n", n_ok, n_fail, refused);
    free(ids);
    free(vals);
    free(ks);
    free(msgs);
    return 0;
}

/* ---- consume ----------------------------------------------------------- */

typedef struct cstate {
    const char *dir;            /* NULL: start every partition at the beginning */
    int64_t     next[1024];     /* per partition, -1 unknown */
    char        dirty[1024];
    int         verbose;
    int         assign_delay_ms;
} cstate_t;

static int64_t on_assigned(void *arg, int32_t p)
{
    cstate_t *s = arg;
    int64_t off = QL_OFFSET_BEGINNING;
    if (s->assign_delay_ms > 0) usleep((useconds_t)s->assign_delay_ms * 1000);
    if (s->dir && p >= 0 && p < 1024) {
        char path[4096], *txt = NULL, err[256];
        size_t len;
        snprintf(path, sizeof path, "%s/p%d", s->dir, (int)p);
        if (ql_read_file(path, &txt, &len, err, sizeof err) == 0) {
            off = strtoll(txt, NULL, 10);
            free(txt);
        }
    }
    if (s->verbose) fprintf(stderr, "kafka_client: assigned %d from %lld\n", (int)p, (long long)off);
    return off;
}

static void on_revoked(void *arg, int32_t p)
{
    cstate_t *s = arg;
    if (s->verbose) fprintf(stderr, "kafka_client: revoked %d\n", (int)p);
}

/* Opens a consumer of TOPIC whose assigned/revoked callbacks keep *s
 * (on_assigned, on_revoked; the callbacks are copied, s must outlive it);
 * on failure says "kafka_client: WHO…" on stderr and returns NULL. */
static ql_consumer_t *open_consumer(const char *who, const char *brokers, const char *topic, const char *group,
                                    const char *const *xs, cstate_t *s)
{
    char err[512];
    ql_consumer_callbacks_t cb = {on_assigned, on_revoked, s};
    ql_consumer_t *c;
    if (ql_consumer_open_kafka(&c, brokers, topic, group, xs, &cb, err, sizeof err) < 0) {
        fprintf(stderr, "kafka_client: %s%s\n", who, err);
        return NULL;
    }
    return c;
}

static int save_state(cstate_t *s)
{
    char path[4096], txt[32], err[512];
    for (int p = 0; p < 1024; p++) {
        if (!s->dirty[p]) continue;
        s->dirty[p] = 0;
        snprintf(path, sizeof path, "%s/p%d", s->dir, p);
        int n = snprintf(txt, sizeof txt, "%lld\n", (long long)s->next[p]);
        if (ql_write_file_atomic(path, txt, (size_t)n, err, sizeof err) < 0) {
            fprintf(stderr, "kafka_client: %s\n", err);
            return -1;
        }
    }
    return 0;
}

static int consume(const char *brokers, const char *topic, const char *group, const char *dir, int idle_ms,
                   const char *stop_file, int commit, int assign_delay_ms, const char *const *xs)
{
    char err[512];
    static cstate_t s;
    s.dir = dir;
    s.assign_delay_ms = assign_delay_ms;
    s.verbose = 1;
    ql_consumer_t *c = open_consumer("", brokers, topic, group, xs, &s);
    if (!c) return 1;
    ql_log_record_t recs[256];
    int64_t idle_since = ql_monotonic_us();
    size_t total = 0;
    int rc = 0;
    for (;;) {
        int n = ql_consumer_poll(c, recs, QL_ARRAY_LEN(recs), 200, err, sizeof err);
        if (n < 0) {
            fprintf(stderr, "kafka_client: %s\n", err);
            rc = 1;
            break;
        }
        for (int i = 0; i < n; i++) {
            printf("%d %lld %.*s %.*s\n", (int)recs[i].partition, (long long)recs[i].offset,
                   (int)recs[i].key_len, recs[i].key ? recs[i].key : "", (int)recs[i].value_len, recs[i].value);
            if (recs[i].partition >= 0 && recs[i].partition < 1024) {
                s.next[recs[i].partition] = recs[i].offset + 1;
                s.dirty[recs[i].partition] = 1;
            }
        }
        total += (size_t)n;
        fflush(stdout);
        if (n > 0) {
            if (commit)
                for (int p = 0; p < 1024; p++)
                    if (s.dirty[p] && ql_consumer_commit(c, p, s.next[p], err, sizeof err) < 0) {
                        fprintf(stderr, "kafka_client: %s\n", err);
                        rc = 1;
                    }
            if (dir && save_state(&s) < 0) {
                rc = 1;
                break;
            }
            memset(s.dirty, 0, sizeof s.dirty);
            idle_since = ql_monotonic_us();
        }
        if (stop_file) {
            if (access(stop_file, F_OK) == 0) break;
            continue;
        }
        if (n > 0) continue;
        if (!group && ql_consumer_at_end(c)) break;
        if (group && ql_consumer_at_end(c) && ql_monotonic_us() - idle_since > (int64_t)idle_ms * 1000) break;
    }
    ql_partition_lag_t lag[64];
    int nl = ql_consumer_kafka_lag(c, lag, QL_ARRAY_LEN(lag));
    for (int k = 0; k < nl && k < (int)QL_ARRAY_LEN(lag); k++) {
        int64_t end = -1;
        ql_consumer_end_offset(c, lag[k].partition, &end);
        fprintf(stderr, "kafka_client: partition %d position %lld end %lld (queried %lld)\n", (int)lag[k].partition,
                (long long)lag[k].position, (long long)lag[k].end, (long long)end);
    }
    fprintf(stderr, "kafka_client: consumed %zu\n", total);
    ql_consumer_close(c);
    return rc;
}

/* ---- close-race --------------------------------------------------------- */

typedef struct {
    const char *brokers, *topic, *group;
    const char *const *xs;
    volatile int stop;
} member_t;

static void *member_b(void *arg)
{
    member_t *m = arg;
    char err[512];
    cstate_t s = {0};
    ql_consumer_t *c = open_consumer("B: ", m->brokers, m->topic, m->group, m->xs, &s);
    if (!c) return NULL;
    ql_log_record_t recs[64];
    while (!m->stop) ql_consumer_poll(c, recs, QL_ARRAY_LEN(recs), 100, err, sizeof err);
    ql_consumer_close(c);
    return NULL;
}

static volatile int spin_stop;
static void *spin(void *arg)
{
    (void)arg;
    while (!spin_stop) {}
    return NULL;
}

static int close_race(const char *brokers, const char *topic, int rounds, const char *const *xs)
{
    char err[512];
    for (int r = 0; r < rounds; r++) {
        char group[64];
        snprintf(group, sizeof group, "close-race-%d-%d", (int)getpid(), r);
        cstate_t s = {0};
        ql_consumer_t *a = open_consumer("A: ", brokers, topic, group, xs, &s);
        if (!a) return 1;
        ql_log_record_t recs[64];
        int64_t t0 = ql_monotonic_us();
        while (!ql_consumer_at_end(a) && ql_monotonic_us() - t0 < 60000000)
            if (ql_consumer_poll(a, recs, QL_ARRAY_LEN(recs), 100, err, sizeof err) < 0) {
                fprintf(stderr, "kafka_client: A: %s\n", err);
                return 1;
            }
        member_t b = {brokers, topic, group, xs, 0};
        pthread_t bt;
        pthread_create(&bt, NULL, member_b, &b);
        /* B's JoinGroup starts a rebalance; A's next heartbeat (every
         * heartbeat.interval.ms) queues A's revoke. A machine too slow for
         * that only makes this round miss the race, never fail it. */
        usleep(1500 * 1000);
        spin_stop = 0;
        pthread_t sp[2];
        for (int k = 0; k < 2; k++) pthread_create(&sp[k], NULL, spin, NULL);
        struct sched_param prm = {0};
        sched_setscheduler(0, SCHED_IDLE, &prm);   /* this thread: only when the CPUs are idle */
        ql_consumer_close(a);
        sched_setscheduler(0, SCHED_OTHER, &prm);
        spin_stop = 1;
        for (int k = 0; k < 2; k++) pthread_join(sp[k], NULL);
        printf("closed %d\n", r);
        fflush(stdout);
        b.stop = 1;
        pthread_join(bt, NULL);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: kafka_client produce|consume|close-race BROKERS TOPIC [...]\n");
        return 2;
    }
    const char *xs[MAX_X + 1] = {0};
    size_t nx = 0, batch = 1, keys = 100, window = 1000, n = 0, fatal_at = 0;
    int timeout_ms = 0, idle_ms = 3000, commit = 0, assign_delay_ms = 0, rounds = 3;
    long interval_us = 0;
    const char *group = NULL, *dir = NULL, *stop_file = NULL;
    int i = 4;
    if (!strcmp(argv[1], "produce")) {
        if (argc < 5) return 2;
        n = strtoul(argv[4], NULL, 10);
        i = 5;
    }
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--commit")) { commit = 1; continue; }
        if (!v) { fprintf(stderr, "kafka_client: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "-X") && nx < MAX_X) xs[nx++] = v;
        else if (!strcmp(a, "--batch")) batch = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--keys")) keys = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--window")) window = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--inject-fatal-at")) fatal_at = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--timeout")) timeout_ms = atoi(v);
        else if (!strcmp(a, "--interval-us")) interval_us = atol(v);
        else if (!strcmp(a, "--group")) group = v;
        else if (!strcmp(a, "--state")) dir = v;
        else if (!strcmp(a, "--idle-ms")) idle_ms = atoi(v);
        else if (!strcmp(a, "--stop-file")) stop_file = v;
        else if (!strcmp(a, "--assign-delay-ms")) assign_delay_ms = atoi(v);
        else if (!strcmp(a, "--rounds")) rounds = atoi(v);
        else { fprintf(stderr, "kafka_client: unknown option %s\n", a); return 2; }
    }
    if (batch == 0) batch = 1;
    if (keys == 0) keys = 1;
    if (window == 0) window = 1;
    if (!strcmp(argv[1], "produce"))
        return produce(argv[2], argv[3], n, batch, keys, timeout_ms, interval_us, window, fatal_at, xs);
    if (!strcmp(argv[1], "consume")) return consume(argv[2], argv[3], group, dir, idle_ms, stop_file, commit, assign_delay_ms, xs);
    if (!strcmp(argv[1], "close-race")) return close_race(argv[2], argv[3], rounds, xs);
    fprintf(stderr, "kafka_client: unknown command %s\n", argv[1]);
    return 2;
}
