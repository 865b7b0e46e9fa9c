/*
 * log_kafka.c — the Kafka backend of the log interface (log.h), on librdkafka.
 *
 * Producer (ql_log_open_kafka): one rd_kafka_t producer with acks=all,
 * enable.idempotence=true, lz4 compression, linger 0, murmur2 partitioner
 * (the Java client's, so a key lands on the same partition whoever writes
 * it). A dedicated poll thread serves delivery reports. Each append gets a
 * small tracker counting its messages still in flight; the append's `done`
 * runs on the poll thread after the LAST of its delivery reports, with status
 * 0 only if every message was acknowledged by all in-sync replicas.
 *
 *   Rounds (self-clocked batching, per partition): librdkafka 2.0.2's broker
 *   thread busy-polls (poll() with a zero timeout, ~30% of the process's CPU
 *   under load) whenever a partition has messages queued that it may not send
 *   yet — with the idempotent producer, while more than 5 messages of that
 *   partition are in flight, i.e. always under load. So the backend keeps
 *   librdkafka's queues empty itself: once the partition count is known (the
 *   partitioner callback notes it), an append's messages join their
 *   partition's waiting queue (ppart_t), placed exactly as murmur2_random
 *   would place them; a partition with no round in flight sends its queue at
 *   once as one round (one rd_kafka_produce_batch: one enqueue, one broker
 *   wake-up, one ProduceRequest); the delivery report that ends a round sends
 *   the next one with everything that arrived meanwhile. Batches grow with
 *   the load; an idle collector answers in one round trip.
 *   Invariants: at most one round per partition is in flight (ppart_t.inflight
 *   counts its unreported messages); messages enter their partition's queue
 *   and rounds in append order, so a key's events keep their order. A message
 *   that waited in the queue longer than the timeout is failed, not sent, so
 *   an append is answered within twice the timeout at worst (the round ahead
 *   of it, then its own). Before the count is known, or with another
 *   partitioner (-X partitioner=…), messages go straight to librdkafka
 *   (produce_direct). Every 10 s one round's first message goes through
 *   librdkafka's partitioner to re-learn the count (a topic that grew).
 *
 *   Invariant (what "a 200 means durable" rests on): `done(status 0)` is
 *   called only after librdkafka reported RD_KAFKA_RESP_ERR_NO_ERROR for
 *   every message of the append, i.e. the partition leader acknowledged it
 *   with acks=all. message.timeout.ms (= timeout_ms) bounds the wait: a
 *   message not acknowledged by then is reported as failed (QL_LOG_ETIMEOUT).
 *
 *   Not atomic across messages: the messages of one append go to several
 *   partitions (by key) and Kafka has no cross-partition atomicity without
 *   transactions, which this backend does NOT use. When an append fails, some
 *   of its messages may still be durable; a client retry then duplicates
 *   them. Every event carries a unique event_id, so readers can dedupe.
 *
 *   Recovery: brokers going away only make deliveries time out (503s); the
 *   producer reconnects by itself. If librdkafka raises a fatal error (the
 *   idempotent producer's state cannot be recovered), the poll thread builds
 *   a fresh producer and fails what was in flight on the old one, so the
 *   server keeps serving.
 *
 * Consumer (ql_consumer_open_kafka): a librdkafka high-level consumer with
 * enable.auto.commit=false and enable.auto.offset.store=false. With a group it
 * subscribes; an assignment (noted by librdkafka's rebalance callback, served
 * inside ql_consumer_poll) is applied right after that callback returns:
 * the caller's `assigned` gives each partition's start offset (the lake's
 * record) — outside librdkafka's callback, since the loader may wait there
 * for a partition's claim — then the partitions are assigned; on revoke it
 * calls `revoked` and drops any not-yet-returned record of those partitions. Without a group
 * (`cat`) it reads the topic's partitions from metadata and assigns them all
 * itself (librdkafka still needs a group.id for its consumer queue: a private
 * one, never joined or committed). enable.partition.eof drives at_end.
 * Close leaves the group (unsubscribe, revoke served) before
 * rd_kafka_consumer_close: see leave_group for the librdkafka hang it avoids.
 *
 * Threads: producer functions are callable from any thread; `done` runs on
 * the producer's poll thread. A consumer belongs to one thread at a time.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "log.h"
#include "util.h"

#define DEFAULT_TIMEOUT_MS 5000

/* ---- shared helpers ---------------------------------------------------- */

/* At most one librdkafka log/error line per second per process; the rest
 * are counted and summarised, so a dead broker does not flood stderr. */
static pthread_mutex_t say_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t say_last_us;
static unsigned say_dropped;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    int64_t now = ql_monotonic_us();
    pthread_mutex_lock(&say_mu);
    if (say_last_us && now - say_last_us < 1000000) {
        say_dropped++;
        pthread_mutex_unlock(&say_mu);
        return;
    }
    unsigned dropped = say_dropped;
    say_dropped = 0;
    say_last_us = now;
    pthread_mutex_unlock(&say_mu);
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (dropped)
        fprintf(stderr, "questlog kafka: %s (%u similar messages suppressed)\n", line, dropped);
    else
        fprintf(stderr, "questlog kafka: %s\n", line);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level == 7) fprintf(stderr, "questlog kafka: %s: %s\n", fac, buf); /* -X debug=… */
    else if (level <= 4) say("%s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque);

/* Sets one "key=value" on conf; clear error naming the offending -X. */
static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, char *err, size_t errlen)
{
    char es[512];
    if (rd_kafka_conf_set(conf, key, val, es, sizeof es) != RD_KAFKA_CONF_OK)
        return ql_err(err, errlen, "kafka setting %s=%s: %s", key, val, es);
    return 0;
}

/* Applies the caller's -X list (NULL-terminated "key=value" strings). */
static int conf_apply_list(rd_kafka_conf_t *conf, const char *const *list, char *err, size_t errlen)
{
    for (size_t i = 0; list && list[i]; i++) {
        const char *eq = strchr(list[i], '=');
        if (!eq || eq == list[i])
            return ql_err(err, errlen, "bad kafka setting '%s': expected -X key=value", list[i]);
        char key[256];
        size_t kl = (size_t)(eq - list[i]);
        if (kl >= sizeof key) return ql_err(err, errlen, "bad kafka setting '%s': key too long", list[i]);
        memcpy(key, list[i], kl);
        key[kl] = 0;
        if (conf_set(conf, key, eq + 1, err, errlen) < 0) return -1;
    }
    return 0;
}

/* ---- producer ---------------------------------------------------------- */

/* One append in flight: freed by the delivery report of its last message. */
typedef struct kappend {
    ql_log_done_fn done;
    void          *arg;
    atomic_size_t  left;        /* messages without a delivery report yet */
    atomic_int     status;      /* first failure (QL_LOG_E*), 0 while all good */
    const char    *errmsg;      /* static librdkafka text of the first failure */
    int64_t        t0_us;       /* monotonic, when appended */
    size_t         n, bytes;
} kappend_t;

/* A message's opaque is its append, with bit 0 set when the message belongs
 * to a partition round (see "Rounds" at the top of this file). */
#define ROUND_TAG ((uintptr_t)1)

/* Messages waiting for their partition's round: copies of key and value. */
typedef struct pmsg {
    kappend_t *a;
    size_t     off, len;       /* value at data + off */
    size_t     koff, klen;     /* key at data + koff */
    int        has_key;
} pmsg_t;

typedef struct pqueue {
    ql_buf_t            data;
    pmsg_t             *m;
    rd_kafka_message_t *rkm;    /* produce_batch's array, reused */
    size_t              n, cap;
    struct pqueue      *next_free;
} pqueue_t;

typedef struct ppart {
    pqueue_t *pending;          /* waiting for the round in flight; NULL if none */
    size_t    inflight;         /* messages of this partition's round still unreported */
} ppart_t;

typedef struct kproducer {
    ql_log_t           base;
    rd_kafka_t        *rk;          /* swapped only by the poll thread, under rk_lock (write) */
    rd_kafka_topic_t  *rkt;
    pthread_rwlock_t   rk_lock;     /* appends hold it for reading while producing */
    rd_kafka_conf_t   *conf_tmpl;   /* a copy of the configuration, to rebuild after a fatal error */
    char              *topic;
    int                timeout_ms;
    pthread_t          poller;
    atomic_int         stop;        /* poll thread: exit */
    atomic_int         fatal;       /* error_cb saw a fatal error: rebuild */
    int                rounds;      /* partition rounds on (the partitioner is murmur2_random) */
    atomic_int         nparts;      /* the topic's partition count as last seen by the partitioner, 0 unknown */
    atomic_uint        rr;          /* keyless messages: next partition */
    _Atomic int64_t    learn_at_us; /* monotonic: when a round should re-learn the partition count */

    pthread_mutex_t    mu;          /* guards everything below */
    pthread_cond_t     idle;        /* signalled when inflight drops to 0 */
    int                closing;
    uint64_t           inflight;    /* appends whose done is pending */
    ql_log_stats_t     st;
    ppart_t           *parts;       /* per partition round state, nparts_cap entries */
    int32_t            nparts_cap;
    pqueue_t          *free_q;
    char               last_err[200];  /* librdkafka's last error_cb text ("" none), for timeouts' messages */
    int64_t            last_err_us;    /* monotonic, when it came */
} kproducer_t;

#define MAX_QUEUED 200000           /* messages accepted and not yet reported: beyond, EFULL */
#define LEARN_EVERY_US 10000000     /* re-learn the partition count this often (10 s) */

static int map_err(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
        return QL_LOG_ETIMEOUT;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        return QL_LOG_EFULL;
    case RD_KAFKA_RESP_ERR__DESTROY:
        return QL_LOG_ECLOSED;
    default:
        return QL_LOG_EIO;
    }
}

/* The append's last delivery report came (or it was refused part-way):
 * answer it, count it, free it. Called exactly once per queued append. */
static void append_finish(kproducer_t *p, kappend_t *a)
{
    int status = atomic_load(&a->status);
    char why[400];
    const char *msg = status ? a->errmsg : NULL;
    if (status == QL_LOG_ETIMEOUT) {
        /* "Message timed out" alone does not say why: add the brokers' last
         * error if it is recent (e.g. "Connect to … failed: Connection refused") */
        pthread_mutex_lock(&p->mu);
        if (p->last_err[0] && ql_monotonic_us() - p->last_err_us < 2 * (int64_t)p->timeout_ms * 1000) {
            snprintf(why, sizeof why, "%s (last broker error: %s)", a->errmsg, p->last_err);
            msg = why;
        }
        pthread_mutex_unlock(&p->mu);
    }
    a->done(a->arg, status, -1, msg);
    pthread_mutex_lock(&p->mu);
    if (status == 0) {
        p->st.appends++;
        p->st.records += a->n;
        p->st.bytes += a->bytes;
    } else {
        p->st.failures++;
    }
    p->st.queued -= a->n;
    if (--p->inflight == 0) pthread_cond_broadcast(&p->idle);
    pthread_mutex_unlock(&p->mu);
    free(a);
}

/* One message of `a` is settled with librdkafka's error e (0 = acknowledged). */
static void msg_settled(kproducer_t *p, kappend_t *a, rd_kafka_resp_err_t e)
{
    if (e) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&a->status, &expect, map_err(e))) a->errmsg = rd_kafka_err2str(e);
    }
    if (atomic_fetch_sub(&a->left, 1) == 1) append_finish(p, a);
}

static pqueue_t *pqueue_get(kproducer_t *p)   /* p->mu held */
{
    pqueue_t *q = p->free_q;
    if (q) p->free_q = q->next_free;
    else q = ql_calloc(1, sizeof *q);
    q->n = 0;
    ql_buf_reset(&q->data);
    return q;
}

static void pqueue_free(pqueue_t *q)
{
    ql_buf_free(&q->data);
    free(q->m);
    free(q->rkm);
    free(q);
}

static void pqueue_put(kproducer_t *p, pqueue_t *q)   /* p->mu held */
{
    if (q->data.cap > (4u << 20) || q->cap > 65536) {
        pqueue_free(q);
        return;
    }
    q->next_free = p->free_q;
    p->free_q = q;
}

static ppart_t *ppart_get(kproducer_t *p, int32_t part)   /* p->mu held */
{
    if (part >= p->nparts_cap) {
        int32_t n = p->nparts_cap ? p->nparts_cap : 8;
        while (n <= part) n *= 2;
        p->parts = ql_realloc(p->parts, (size_t)n * sizeof *p->parts);
        memset(p->parts + p->nparts_cap, 0, (size_t)(n - p->nparts_cap) * sizeof *p->parts);
        p->nparts_cap = n;
    }
    return &p->parts[part];
}

/* A partition's round is over (`k` more of its messages reported): if
 * messages are waiting, detach them as the next round and return them (the
 * caller launches them), else NULL. p->mu held. */
static pqueue_t *round_done(kproducer_t *p, int32_t part, size_t k)
{
    ppart_t *pp = ppart_get(p, part);
    pp->inflight -= k;
    if (pp->inflight > 0 || !pp->pending) return NULL;
    pqueue_t *q = pp->pending;
    pp->pending = NULL;
    pp->inflight = q->n;
    return q;
}

/* Hands one round (all of q, for partition `part`) to librdkafka in one
 * rd_kafka_produce_batch: one enqueue, one broker wake-up, one
 * ProduceRequest. Messages that waited longer than the timeout are failed
 * instead of sent. Whatever cannot be queued is settled as failed at once;
 * if that ends the round, the next one is launched here too. Any thread;
 * p->mu NOT held. */
static void round_launch(kproducer_t *p, int32_t part, pqueue_t *q)
{
    while (q) {
        int64_t now = ql_monotonic_us(), stale = now - (int64_t)p->timeout_ms * 1000;
        size_t nfail = 0, first = 0;
        if (q->cap > 0 && !q->rkm) q->rkm = ql_calloc(q->cap, sizeof *q->rkm);
        pthread_rwlock_rdlock(&p->rk_lock);
        if (now >= atomic_load(&p->learn_at_us) && q->n > 0 && q->m[0].a->t0_us > stale) {
            /* Now and then the round's first message goes through the
             * partitioner (partition_cb), which re-learns the partition
             * count; while the count is unchanged it lands on `part` too. */
            atomic_store(&p->learn_at_us, now + LEARN_EVERY_US);
            pmsg_t *m = &q->m[0];
            rd_kafka_resp_err_t e = rd_kafka_producev(
                p->rk, RD_KAFKA_V_RKT(p->rkt), RD_KAFKA_V_KEY(m->has_key ? q->data.data + m->koff : NULL, m->klen),
                RD_KAFKA_V_VALUE(q->data.data + m->off, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_OPAQUE(m->a), RD_KAFKA_V_END);
            if (e) msg_settled(p, m->a, e);
            first = 1;
            nfail++;   /* not part of the round either way: its report may name another partition */
        }
        int nb = 0;
        for (size_t i = first; i < q->n; i++) {
            pmsg_t *m = &q->m[i];
            if (m->a->t0_us <= stale) {     /* waited out its whole timeout behind the round */
                msg_settled(p, m->a, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
                nfail++;
                continue;
            }
            rd_kafka_message_t *r = &q->rkm[nb++];
            memset(r, 0, sizeof *r);
            r->payload = q->data.data + m->off;
            r->len = m->len;
            r->key = m->has_key ? q->data.data + m->koff : NULL;
            r->key_len = m->klen;
            r->_private = (void *)((uintptr_t)m->a | ROUND_TAG);
        }
        int good = nb ? rd_kafka_produce_batch(p->rkt, part, RD_KAFKA_MSG_F_COPY, q->rkm, nb) : 0;
        pthread_rwlock_unlock(&p->rk_lock);
        if (good < nb)
            for (int i = 0; i < nb; i++)
                if (q->rkm[i].err) {
                    msg_settled(p, (kappend_t *)((uintptr_t)q->rkm[i]._private & ~ROUND_TAG), q->rkm[i].err);
                    nfail++;
                }
        pthread_mutex_lock(&p->mu);
        pqueue_put(p, q);
        q = nfail ? round_done(p, part, nfail) : NULL;
        pthread_mutex_unlock(&p->mu);
    }
}

/* Delivery report: runs on the poll thread (inside rd_kafka_poll/flush). */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    kproducer_t *p = opaque;
    uintptr_t tag = (uintptr_t)m->_private;
    kappend_t *a = (kappend_t *)(tag & ~ROUND_TAG);
    int64_t lat = ql_monotonic_us() - a->t0_us;
    pqueue_t *next = NULL;
    pthread_mutex_lock(&p->mu);
    p->st.commits++;
    ql_log_stats_add_lat(&p->st, lat);
    if ((tag & ROUND_TAG) && m->partition >= 0) next = round_done(p, m->partition, 1);
    pthread_mutex_unlock(&p->mu);
    msg_settled(p, a, m->err);
    if (next) round_launch(p, m->partition, next);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    kproducer_t *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) atomic_store(&p->fatal, 1);
    pthread_mutex_lock(&p->mu);
    snprintf(p->last_err, sizeof p->last_err, "%s", reason);
    p->last_err_us = ql_monotonic_us();
    pthread_mutex_unlock(&p->mu);
    say("%s: %s", rd_kafka_err2name(err), reason);
}

/* The configured partitioner (murmur2_random), noting the partition count
 * it is given: rounds partition with the same function and that count. */
static int32_t partition_cb(const rd_kafka_topic_t *rkt, const void *key, size_t keylen, int32_t partition_cnt,
                            void *rkt_opaque, void *msg_opaque)
{
    kproducer_t *p = rkt_opaque;
    if (partition_cnt > 0) atomic_store(&p->nparts, partition_cnt);
    return rd_kafka_msg_partitioner_murmur2_random(rkt, key, keylen, partition_cnt, rkt_opaque, msg_opaque);
}

/* A new producer handle (and topic handle) from p->conf_tmpl. */
static int producer_new(kproducer_t *p, rd_kafka_t **rkp, rd_kafka_topic_t **rktp, char *err, size_t errlen)
{
    char es[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(p->conf_tmpl);
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof es);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return ql_err(err, errlen, "cannot create kafka producer: %s", es);
    }
    /* The topic's configuration is the defaults (acks, timeouts, -X …) plus,
     * when the partitioner is ours to mirror, the counting partitioner. */
    rd_kafka_topic_conf_t *tc = rd_kafka_default_topic_conf_dup(rk);
    char part[64] = "";
    size_t sz = sizeof part;
    int rounds = tc && rd_kafka_topic_conf_get(tc, "partitioner", part, &sz) == RD_KAFKA_CONF_OK &&
                 !strcmp(part, "murmur2_random");
    if (!p->rk) p->rounds = rounds;   /* set once, at open (a rebuild has the same configuration) */
    if (rounds) {
        rd_kafka_topic_conf_set_opaque(tc, p);
        rd_kafka_topic_conf_set_partitioner_cb(tc, partition_cb);
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, p->topic, tc);   /* takes tc */
    if (!rkt) {
        int e = rd_kafka_last_error();
        rd_kafka_destroy(rk);
        return ql_err(err, errlen, "kafka topic '%s': %s", p->topic, rd_kafka_err2str(e));
    }
    *rkp = rk;
    *rktp = rkt;
    return 0;
}

/* After a fatal error: swap in a new producer, then purge the old one so
 * every message it still held gets a (failed) delivery report, and free it.
 * Poll thread only. */
static void producer_rebuild(kproducer_t *p)
{
    char err[512];
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    char es[512];
    rd_kafka_fatal_error(p->rk, es, sizeof es);
    if (producer_new(p, &rk, &rkt, err, sizeof err) < 0) {
        fprintf(stderr, "questlog kafka: fatal producer error (%s); starting a fresh producer failed: %s\n", es, err);
        sleep(1);
        return;
    }
    fprintf(stderr, "questlog kafka: fatal producer error (%s): starting a fresh producer\n", es);
    pthread_rwlock_wrlock(&p->rk_lock);
    rd_kafka_t *old = p->rk;
    rd_kafka_topic_t *oldt = p->rkt;
    p->rk = rk;
    p->rkt = rkt;
    atomic_store(&p->fatal, 0);
    pthread_rwlock_unlock(&p->rk_lock);
    /* Every message the old producer holds must get its report (the
     * appends' done depends on it, and so do the rounds): purge, then serve
     * reports until its queue is empty — bounded by the message timeout.
     * Rounds ending here launch their successors on the new producer. */
    rd_kafka_purge(old, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_topic_destroy(oldt);
    int64_t until = ql_monotonic_us() + (int64_t)(p->timeout_ms + 2000) * 1000;
    while (rd_kafka_outq_len(old) > 0 && ql_monotonic_us() < until) rd_kafka_poll(old, 50);
    if (rd_kafka_outq_len(old) > 0) say("old producer still holds %d messages after its timeout", rd_kafka_outq_len(old));
    rd_kafka_destroy(old);
}

static void *poll_main(void *arg)
{
    kproducer_t *p = arg;
    pthread_setname_np(pthread_self(), "ql-kafka-dr");
    while (!atomic_load(&p->stop)) {
        rd_kafka_poll(p->rk, 50);
        if (atomic_load(&p->fatal)) {
            /* error_cb cannot tell which handle raised it: only rebuild if
             * the current one is the one that failed. */
            char why[256];
            if (rd_kafka_fatal_error(p->rk, why, sizeof why)) producer_rebuild(p);
            else atomic_store(&p->fatal, 0);
        }
    }
    return NULL;
}

/* The partition a round-mode message goes to: what murmur2_random would
 * pick with `cnt` partitions (keyless: spread round-robin). */
static int32_t pick_partition(kproducer_t *p, const ql_log_msg_t *m, int32_t cnt)
{
    if (!m->key) return (int32_t)(atomic_fetch_add(&p->rr, 1) % (unsigned)cnt);
    return rd_kafka_msg_partitioner_murmur2_random(p->rkt, m->key, m->key_len, cnt, p, NULL);
}

/* Before the partition count is known (or with a partitioner we do not
 * mirror): every message straight to librdkafka's partitioner. Returns how
 * many were queued; *e is the error that stopped it. */
static size_t produce_direct(kproducer_t *p, kappend_t *a, const ql_log_msg_t *msgs, size_t n,
                             rd_kafka_resp_err_t *e)
{
    size_t queued = 0;
    *e = RD_KAFKA_RESP_ERR_NO_ERROR;
    pthread_rwlock_rdlock(&p->rk_lock);
    for (; queued < n; queued++) {
        const ql_log_msg_t *m = &msgs[queued];
        *e = rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(p->rkt),
                               RD_KAFKA_V_KEY(m->key, m->key ? m->key_len : 0),
                               RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_OPAQUE(a), RD_KAFKA_V_END);
        if (*e) break;
    }
    pthread_rwlock_unlock(&p->rk_lock);
    return queued;
}

static int kp_append(ql_log_t *log, const ql_log_msg_t *msgs, size_t n, ql_log_done_fn done, void *arg)
{
    kproducer_t *p = (kproducer_t *)log;
    if (n == 0 || !done) return QL_LOG_EINVAL;
    int32_t cnt = p->rounds ? atomic_load(&p->nparts) : 0;
    kappend_t *a = ql_calloc(1, sizeof *a);
    a->done = done;
    a->arg = arg;
    a->n = n;
    a->t0_us = ql_monotonic_us();
    for (size_t i = 0; i < n; i++) a->bytes += msgs[i].value_len;
    /* One extra count held by this function, so the append cannot complete
     * (and be freed) while its later messages are still being queued. */
    atomic_init(&a->left, n + 1);
    atomic_init(&a->status, 0);

    pthread_mutex_lock(&p->mu);
    if (p->closing || p->st.queued + n > MAX_QUEUED) {
        int rc = p->closing ? QL_LOG_ECLOSED : QL_LOG_EFULL;
        pthread_mutex_unlock(&p->mu);
        free(a);
        return rc;
    }
    p->inflight++;
    p->st.queued += n;
    if (cnt <= 0) {
        pthread_mutex_unlock(&p->mu);
        rd_kafka_resp_err_t e;
        size_t queued = produce_direct(p, a, msgs, n, &e);
        if (queued == 0) {                        /* refused at once: done is NOT called */
            pthread_mutex_lock(&p->mu);
            p->st.queued -= n;
            if (--p->inflight == 0) pthread_cond_broadcast(&p->idle);
            pthread_mutex_unlock(&p->mu);
            free(a);
            return map_err(e);
        }
        /* Part of the append is queued and cannot be taken back: fail the
         * rest (done will say so) once the queued part is reported. */
        for (size_t i = queued; i < n; i++) msg_settled(p, a, e);
    } else {
        /* Rounds: each message joins its partition's waiting queue; a
         * partition with no round in flight starts one with it now. */
        pqueue_t *launch_small[8], **launch = launch_small;
        int32_t lpart_small[8], *lpart = lpart_small;
        size_t nl = 0;
        if (n > QL_ARRAY_LEN(launch_small)) {   /* at most one launch per message */
            launch = ql_malloc(n * sizeof *launch);
            lpart = ql_malloc(n * sizeof *lpart);
        }
        for (size_t i = 0; i < n; i++) {
            const ql_log_msg_t *m = &msgs[i];
            int32_t part = pick_partition(p, m, cnt);
            ppart_t *pp = ppart_get(p, part);
            if (!pp->pending) pp->pending = pqueue_get(p);
            pqueue_t *q = pp->pending;
            if (q->n == q->cap) {
                q->cap = q->cap ? q->cap * 2 : 64;
                q->m = ql_realloc(q->m, q->cap * sizeof *q->m);
                free(q->rkm);
                q->rkm = NULL;
            }
            pmsg_t *pm = &q->m[q->n++];
            pm->a = a;
            pm->off = q->data.len;
            pm->len = m->value_len;
            ql_buf_append(&q->data, m->value, m->value_len);
            pm->has_key = m->key != NULL;
            pm->koff = q->data.len;
            pm->klen = m->key ? m->key_len : 0;
            if (m->key) ql_buf_append(&q->data, m->key, m->key_len);
            if (pp->inflight == 0) {
                /* idle partition: this round goes out at the end of the append */
                int seen = 0;
                for (size_t k = 0; k < nl; k++) seen |= lpart[k] == part;
                if (!seen) lpart[nl++] = part;
            }
        }
        for (size_t k = 0; k < nl; k++) launch[k] = round_done(p, lpart[k], 0);
        pthread_mutex_unlock(&p->mu);
        for (size_t k = 0; k < nl; k++)
            if (launch[k]) round_launch(p, lpart[k], launch[k]);
        if (launch != launch_small) {
            free(launch);
            free(lpart);
        }
    }
    /* Drop this function's count: if every report already came, the append
     * is answered here, else by its last report. */
    msg_settled(p, a, RD_KAFKA_RESP_ERR_NO_ERROR);
    return 0;
}

static void kp_stats(ql_log_t *log, ql_log_stats_t *out)
{
    kproducer_t *p = (kproducer_t *)log;
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    pthread_mutex_unlock(&p->mu);
    out->end_offset = -1;
}

/* Frees p and what it owns besides the librdkafka handles (the caller has
 * destroyed those and joined the poll thread, or never got that far): the
 * configuration template, the round state appends left (none after every
 * append was answered, nor on ql_log_open_kafka's failure path), the
 * locks and the topic name. For kp_close and ql_log_open_kafka's failure. */
static void kp_free(kproducer_t *p)
{
    rd_kafka_conf_destroy(p->conf_tmpl);
    for (int32_t i = 0; i < p->nparts_cap; i++)
        if (p->parts[i].pending) pqueue_free(p->parts[i].pending);
    free(p->parts);
    while (p->free_q) {
        pqueue_t *q = p->free_q;
        p->free_q = q->next_free;
        pqueue_free(q);
    }
    pthread_rwlock_destroy(&p->rk_lock);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->idle);
    free(p->topic);
    free(p);
}

static void kp_close(ql_log_t *log)
{
    kproducer_t *p = (kproducer_t *)log;
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    /* message.timeout.ms bounds this wait: every message gets a report. */
    while (p->inflight > 0) pthread_cond_wait(&p->idle, &p->mu);
    pthread_mutex_unlock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_join(p->poller, NULL);
    rd_kafka_topic_destroy(p->rkt);
    rd_kafka_flush(p->rk, 1000);
    rd_kafka_destroy(p->rk);
    kp_free(p);
}

static const ql_log_ops_t kafka_producer_ops = {kp_append, kp_stats, kp_close};

int ql_log_kafka_inject_fatal(ql_log_t *log)
{
    if (!log || log->ops != &kafka_producer_ops) return QL_LOG_EINVAL;
    kproducer_t *p = (kproducer_t *)log;
    pthread_rwlock_rdlock(&p->rk_lock);
    rd_kafka_test_fatal_error(p->rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "injected by a test");
    pthread_rwlock_unlock(&p->rk_lock);
    return 0;
}

int ql_log_open_kafka(ql_log_t **out, const char *brokers, const char *topic,
                      const char *const *conf_list, int timeout_ms, char *err, size_t errlen)
{
    int rc = -1;
    char tmo[32];
    *out = NULL;
    if (!brokers || !*brokers) return ql_err(err, errlen, "no kafka brokers given");
    if (!topic || !*topic) return ql_err(err, errlen, "no kafka topic given");
    if (timeout_ms <= 0) timeout_ms = DEFAULT_TIMEOUT_MS;
    snprintf(tmo, sizeof tmo, "%d", timeout_ms);

    kproducer_t *p = ql_calloc(1, sizeof *p);
    p->base.ops = &kafka_producer_ops;
    p->topic = ql_strdup(topic);
    p->timeout_ms = timeout_ms;
    pthread_rwlock_init(&p->rk_lock, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->st.end_offset = -1;

    rd_kafka_conf_t *c = rd_kafka_conf_new();
    p->conf_tmpl = c;
    static const char *const defaults[][2] = {
        {"client.id", "questlog"},
        {"acks", "all"},
        {"enable.idempotence", "true"},
        /* No linger: the rounds batch (see the top of this file);
         * librdkafka's linger timer has ~1 ms granularity, which capped 64
         * waiting clients at ~30k req/s on the mock. One request in
         * flight per broker: measured on the mock, 5 (idempotence's limit)
         * made the collector latency-bound at about half the req/s, CPU
         * idle; the rounds of partitions sharing a leader take turns. */
        {"linger.ms", "0"},
        {"max.in.flight.requests.per.connection", "1"},
        {"compression.type", "lz4"},
        {"partitioner", "murmur2_random"},
        {"batch.num.messages", "10000"},
        {"queue.buffering.max.messages", "200000"},
        {"reconnect.backoff.max.ms", "1000"},  /* back within ~1 s of a broker's return */
    };
    for (size_t i = 0; i < QL_ARRAY_LEN(defaults); i++)
        if (conf_set(c, defaults[i][0], defaults[i][1], err, errlen) < 0) goto out;
    if (conf_set(c, "bootstrap.servers", brokers, err, errlen) < 0) goto out;
    if (conf_set(c, "message.timeout.ms", tmo, err, errlen) < 0) goto out;
    if (conf_apply_list(c, conf_list, err, errlen) < 0) goto out;
    {   /* -X message.timeout.ms wins over timeout_ms: the rounds' own
         * timeout check (and the rebuild's drain bound) use what librdkafka uses */
        char v[32];
        size_t vl = sizeof v;
        if (rd_kafka_conf_get(c, "message.timeout.ms", v, &vl) == RD_KAFKA_CONF_OK && atoi(v) > 0)
            p->timeout_ms = atoi(v);
    }
    rd_kafka_conf_set_dr_msg_cb(c, dr_msg_cb);
    rd_kafka_conf_set_error_cb(c, error_cb);
    rd_kafka_conf_set_log_cb(c, log_cb);

    if (producer_new(p, &p->rk, &p->rkt, err, errlen) < 0) goto out;
    if (pthread_create(&p->poller, NULL, poll_main, p) != 0) {
        ql_err(err, errlen, "cannot start the kafka poll thread");
        rd_kafka_topic_destroy(p->rkt);
        rd_kafka_destroy(p->rk);
        goto out;
    }
    *out = &p->base;
    rc = 0;
out:
    if (rc < 0) kp_free(p);   /* and c, its conf_tmpl */
    return rc;
}

/* ---- consumer ---------------------------------------------------------- */

typedef struct kpart {
    char    assigned;
    char    eof;          /* the last thing seen on it was "end of partition" */
    int64_t position;     /* next offset we will return, -1 unknown */
} kpart_t;

typedef struct kconsumer {
    ql_consumer_t        base;
    rd_kafka_t          *rk;
    char                *topic;
    int                  grouped;       /* 1: subscribed to a group; 0: self-assigned (cat) */
    int                  cooperative;   /* incremental rebalance protocol */
    int                  closing;       /* no user callbacks any more */
    int                  ever_assigned; /* an assignment (maybe empty) has been made */
    int                  revoked_now;   /* a revoke happened during the current poll */
    int                  rebalancing;   /* revoked, new assignment not yet in: never "at end" */
    ql_consumer_callbacks_t cb;
    kpart_t             *parts;
    int32_t              nparts;
    rd_kafka_message_t **held;          /* returned last poll; freed at the next */
    size_t               nheld, capheld;
    char                 fatal[512];    /* set by the rebalance callback on failure */
    rd_kafka_topic_partition_list_t *pending; /* assignment received, not applied yet (see rebalance_cb) */
    int64_t              opened_us;     /* monotonic: when the consumer was opened */
    int64_t              warned_us;     /* last "still no assignment" warning */
    char                 last_err[256]; /* the last error librdkafka reported (for that warning) */
} kconsumer_t;

static kpart_t *part_get(kconsumer_t *c, int32_t p)
{
    if (p < 0) return NULL;
    if (p >= c->nparts) {
        int32_t n = c->nparts ? c->nparts : 8;
        while (n <= p) n *= 2;
        c->parts = ql_realloc(c->parts, (size_t)n * sizeof *c->parts);
        for (int32_t i = c->nparts; i < n; i++) c->parts[i] = (kpart_t){0, 0, -1};
        c->nparts = n;
    }
    return &c->parts[p];
}

static int64_t start_offset(kconsumer_t *c, int32_t partition)
{
    int64_t off = QL_OFFSET_BEGINNING;
    if (c->cb.assigned && !c->closing) off = c->cb.assigned(c->cb.arg, partition);
    if (off == QL_OFFSET_BEGINNING) return RD_KAFKA_OFFSET_BEGINNING;
    if (off == QL_OFFSET_END) return RD_KAFKA_OFFSET_END;
    if (off < 0) return RD_KAFKA_OFFSET_BEGINNING;
    return off;
}

/* Adds (assign = 1) or removes (0) the partitions in parts, for
 * apply_pending and rebalance_cb's revocation: the cooperative protocol
 * (incremental_(un)assign) changes just those, the eager one replaces the
 * whole assignment (with parts, or with none). A failure is kept in
 * c->fatal ("kafka assign failed: …" / "kafka unassign failed: …"), which
 * ql_consumer_poll reports. parts stays the caller's. */
static void set_assignment(kconsumer_t *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts, int assign)
{
    rd_kafka_error_t *ierr = NULL;
    rd_kafka_resp_err_t aerr = 0;
    const char *what = assign ? "assign" : "unassign";
    if (c->cooperative)
        ierr = assign ? rd_kafka_incremental_assign(rk, parts) : rd_kafka_incremental_unassign(rk, parts);
    else
        aerr = rd_kafka_assign(rk, assign ? parts : NULL);
    if (ierr) {
        snprintf(c->fatal, sizeof c->fatal, "kafka %s failed: %s", what, rd_kafka_error_string(ierr));
        rd_kafka_error_destroy(ierr);
    } else if (aerr) {
        snprintf(c->fatal, sizeof c->fatal, "kafka %s failed: %s", what, rd_kafka_err2str(aerr));
    }
}

/* Librdkafka's rebalance callback, served inside rd_kafka_consumer_poll.
 *
 * Contract: nothing here waits on the caller. An assignment is only noted
 * (c->pending) and the poll is cut short (rd_kafka_yield); apply_pending
 * then asks the caller's `assigned` for each partition's start offset — the
 * loader takes the partition's claim in the lake there, which may wait for
 * another loader's commit — and assigns, from ql_consumer_poll but outside
 * librdkafka's callback. A revocation calls `revoked` here (it must return
 * quickly: the loader only drops its open files) and unassigns at once; an
 * assignment still pending is dropped with it. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    kconsumer_t *c = opaque;
    /* Not while closing: it waits for the group's state machine, which may
     * be gone by then (see leave_group). NULL when it cannot tell. */
    const char *proto = c->closing ? NULL : rd_kafka_rebalance_protocol(rk);
    if (proto) c->cooperative = strcmp(proto, "COOPERATIVE") == 0;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (c->pending && c->cooperative) {
            /* two increments before the poll returned: apply both */
            for (int i = 0; i < parts->cnt; i++)
                rd_kafka_topic_partition_list_add(c->pending, parts->elems[i].topic, parts->elems[i].partition);
        } else {
            if (c->pending) rd_kafka_topic_partition_list_destroy(c->pending);
            c->pending = rd_kafka_topic_partition_list_copy(parts);
        }
        rd_kafka_yield(rk);
        return;
    }
    if (c->pending) {
        if (c->cooperative) {
            for (int i = 0; i < parts->cnt; i++)
                rd_kafka_topic_partition_list_del(c->pending, parts->elems[i].topic, parts->elems[i].partition);
        } else {
            rd_kafka_topic_partition_list_destroy(c->pending);
            c->pending = NULL;
        }
    }
    for (int i = 0; i < parts->cnt; i++) {
        kpart_t *kp = part_get(c, parts->elems[i].partition);
        if (!kp->assigned) continue;
        if (c->cb.revoked && !c->closing) c->cb.revoked(c->cb.arg, parts->elems[i].partition);
        kp->assigned = 0;
        kp->eof = 0;
        kp->position = -1;
    }
    c->revoked_now = 1;
    c->rebalancing = 1;
    set_assignment(c, rk, parts, 0);
}

/* Applies an assignment rebalance_cb noted: start offsets from the caller's
 * `assigned`, then (incremental_)assign. Consumer thread, in ql_consumer_poll. */
static void apply_pending(kconsumer_t *c)
{
    rd_kafka_topic_partition_list_t *parts = c->pending;
    c->pending = NULL;
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        kpart_t *kp = part_get(c, tp->partition);
        tp->offset = start_offset(c, tp->partition);
        kp->assigned = 1;
        kp->eof = 0;
        kp->position = tp->offset >= 0 ? tp->offset : -1;
    }
    set_assignment(c, c->rk, parts, 1);
    c->ever_assigned = 1;
    c->rebalancing = 0;
    rd_kafka_topic_partition_list_destroy(parts);
}

static void release_held(kconsumer_t *c)
{
    for (size_t i = 0; i < c->nheld; i++) rd_kafka_message_destroy(c->held[i]);
    c->nheld = 0;
}

static void cons_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    kconsumer_t *c = opaque;
    snprintf(c->last_err, sizeof c->last_err, "%s", reason);
    say("consumer: %s: %s", rd_kafka_err2name(err), reason);
}

#define UNASSIGNED_WARN_US 10000000   /* 10 s: the mock's group join alone takes 3 s */

/* librdkafka logs a broker that cannot be reached once, then stays quiet
 * while it retries: a loader waiting for its first assignment would look
 * idle ("0 events/s") rather than stuck. Say so every 10 s. */
static void warn_unassigned(kconsumer_t *c)
{
    int64_t now = ql_monotonic_us();
    if (now - c->opened_us < UNASSIGNED_WARN_US || now - c->warned_us < UNASSIGNED_WARN_US) return;
    c->warned_us = now;
    fprintf(stderr, "questlog kafka: no partition of '%s' assigned after %.0f s (group join pending)%s%s; still trying\n",
            c->topic, (double)(now - c->opened_us) / 1e6, c->last_err[0] ? "; last error: " : "", c->last_err);
}

static int kc_at_end(ql_consumer_t *cons)
{
    kconsumer_t *c = (kconsumer_t *)cons;
    if (!c->ever_assigned || c->rebalancing) return 0;
    for (int32_t i = 0; i < c->nparts; i++)
        if (c->parts[i].assigned && !c->parts[i].eof) return 0;
    return 1;
}

/* Transient consumer errors librdkafka recovers from by itself. */
static int transient(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:   /* may be created by the first producer */
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
        return 1;
    default:
        return 0;
    }
}

static int kc_poll(ql_consumer_t *cons, ql_log_record_t *recs, size_t max, int timeout_ms, char *err, size_t errlen)
{
    kconsumer_t *c = (kconsumer_t *)cons;
    release_held(c);
    if (max == 0) return 0;
    if (c->capheld < max) {
        c->held = ql_realloc(c->held, max * sizeof *c->held);
        c->capheld = max;
    }
    int64_t deadline = ql_monotonic_us() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000;
    size_t n = 0;
    for (;;) {
        int wait = 0;
        if (n == 0) {
            int64_t left = deadline - ql_monotonic_us();
            if (left > 0) wait = (int)((left + 999) / 1000);
        }
        c->revoked_now = 0;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, wait);
        if (c->pending) apply_pending(c);
        if (c->grouped && !c->ever_assigned) warn_unassigned(c);
        if (c->fatal[0]) {
            if (m) rd_kafka_message_destroy(m);
            ql_err(err, errlen, "%s", c->fatal);
            c->fatal[0] = 0;
            goto fail;
        }
        if (c->revoked_now && n > 0) {
            /* Keep the promise "after revoked returns, poll returns no more of
             * its records": drop gathered records of partitions now gone. */
            size_t k = 0;
            for (size_t i = 0; i < n; i++) {
                kpart_t *kp = part_get(c, recs[i].partition);
                if (kp->assigned) {
                    recs[k] = recs[i];
                    c->held[k++] = c->held[i];
                } else {
                    rd_kafka_message_destroy(c->held[i]);
                }
            }
            n = k;
            c->nheld = k;
        }
        if (!m) {
            if (n > 0 || wait == 0) break;
            continue;
        }
        if (m->err) {
            rd_kafka_resp_err_t e = m->err;
            if (e == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                kpart_t *kp = part_get(c, m->partition);
                if (kp->assigned) {
                    kp->eof = 1;
                    if (m->offset >= 0) kp->position = m->offset;
                }
                rd_kafka_message_destroy(m);
                if (kc_at_end(cons)) break;
                continue;
            }
            char msg[512];
            snprintf(msg, sizeof msg, "%s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            if (transient(e)) {
                say("consumer: %s: %s", rd_kafka_err2name(e), msg);
                if (n > 0) break;
                continue;
            }
            ql_err(err, errlen, "kafka consumer: %s: %s", rd_kafka_err2name(e), msg);
            goto fail;
        }
        kpart_t *kp = part_get(c, m->partition);
        /* Not ours any more, or behind where this assignment started or has
         * got to (librdkafka drops outdated fetches itself; this keeps the
         * invariant "offsets handed out per partition only go up" local). */
        if (!kp->assigned || (kp->position >= 0 && m->offset < kp->position)) {
            rd_kafka_message_destroy(m);
            continue;
        }
        kp->eof = 0;
        kp->position = m->offset + 1;
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        ql_log_record_t *r = &recs[n];
        r->partition = m->partition;
        r->offset = m->offset;
        r->timestamp_us = ts >= 0 ? ts * 1000 : -1;
        r->key = m->key;
        r->key_len = m->key ? m->key_len : 0;
        r->value = m->payload ? m->payload : "";
        r->value_len = m->payload ? m->len : 0;
        c->held[n++] = m;
        c->nheld = n;
        if (n == max) break;
    }
    return (int)n;
fail:
    release_held(c);
    return QL_LOG_EIO;
}

static int kc_commit(ql_consumer_t *cons, int32_t partition, int64_t next_offset, char *err, size_t errlen)
{
    kconsumer_t *c = (kconsumer_t *)cons;
    if (!c->grouped) return 0;               /* no group, nothing to keep in step */
    /* Only for partitions we own: committing one that moved to another
     * member could set the group's offset back behind the new owner's. */
    kpart_t *kp = partition >= 0 && partition < c->nparts ? &c->parts[partition] : NULL;
    if (!kp || !kp->assigned || c->rebalancing) return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->topic, partition)->offset = next_offset;
    rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, l, 0);
    rd_kafka_topic_partition_list_destroy(l);
    /* A rebalance under way (the coordinator knows before we do): skip; the
     * offsets are committed again with the next batch, and the lake, not
     * this commit, is the record of what is loaded. */
    if (e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS || e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
        e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
        return 0;
    if (e) return ql_err(err, errlen, "kafka commit of %s[%d]@%lld: %s", c->topic, (int)partition,
                         (long long)next_offset, rd_kafka_err2str(e)), QL_LOG_EIO;
    return 0;
}

static int kc_end_offset(ql_consumer_t *cons, int32_t partition, int64_t *end)
{
    kconsumer_t *c = (kconsumer_t *)cons;
    int64_t lo = -1, hi = -1;
    if (rd_kafka_get_watermark_offsets(c->rk, c->topic, partition, &lo, &hi) == 0 && hi >= 0) {
        *end = hi;
        return 0;
    }
    if (rd_kafka_query_watermark_offsets(c->rk, c->topic, partition, &lo, &hi, 2000) == 0 && hi >= 0) {
        *end = hi;
        return 0;
    }
    return QL_LOG_EIO;
}

#define LEAVE_GROUP_MS 10000   /* kc_close: at most this long to leave the group before closing */

/* Nothing assigned by librdkafka and no assignment noted but not applied. */
static int unassigned(kconsumer_t *c)
{
    if (c->pending) return 0;
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(c->rk, &l) != 0) return 1;   /* nothing to wait for */
    int none = l->cnt == 0;
    rd_kafka_topic_partition_list_destroy(l);
    return none;
}

/* Leaves the group before rd_kafka_consumer_close, because librdkafka
 * 2.0.2's close can hang for ever: the final revoke, served inside it, calls
 * rd_kafka_assign(NULL), whose reply never comes when the group's state
 * machine has finished terminating first (seen with `load --kafka` stopped
 * by SIGTERM while a rebalance was under way, under ASan on a loaded
 * machine; librdkafka issue #4884). Unsubscribing first turns that revoke
 * into an ordinary one, served here as in a poll (records still arriving
 * are dropped: the caller has stopped reading), so nothing is assigned and
 * nothing is left to revoke when close runs. Bounded: after LEAVE_GROUP_MS
 * close runs anyway. */
static void leave_group(kconsumer_t *c)
{
    if (rd_kafka_unsubscribe(c->rk) != 0) return;
    int64_t deadline = ql_monotonic_us() + LEAVE_GROUP_MS * 1000ll;
    while (ql_monotonic_us() < deadline) {
        /* serves the revoke (and any rebalance event already queued) */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);
        if (m) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (c->pending) {                    /* an assignment that crossed the unsubscribe: its revoke follows */
            apply_pending(c);
            continue;
        }
        if (unassigned(c)) break;
    }
}

static void kc_close(ql_consumer_t *cons)
{
    kconsumer_t *c = (kconsumer_t *)cons;
    release_held(c);
    c->closing = 1;                          /* the final revoke calls no user callback */
    if (c->grouped) leave_group(c);
    if (c->pending) rd_kafka_topic_partition_list_destroy(c->pending);
    c->pending = NULL;
    rd_kafka_consumer_close(c->rk);
    if (c->pending) rd_kafka_topic_partition_list_destroy(c->pending);   /* an assignment during close */
    rd_kafka_destroy(c->rk);
    free(c->held);
    free(c->parts);
    free(c->topic);
    free(c);
}

static const ql_consumer_ops_t kafka_consumer_ops;

int ql_consumer_kafka_lag(ql_consumer_t *cons, ql_partition_lag_t *out, size_t max)
{
    if (!cons || cons->ops != &kafka_consumer_ops) return QL_LOG_EINVAL;
    kconsumer_t *c = (kconsumer_t *)cons;
    size_t n = 0;
    for (int32_t p = 0; p < c->nparts; p++) {
        if (!c->parts[p].assigned) continue;
        if (n < max) {
            int64_t lo = -1, hi = -1;
            if (rd_kafka_get_watermark_offsets(c->rk, c->topic, p, &lo, &hi) != 0 || hi < 0) hi = -1;
            out[n] = (ql_partition_lag_t){p, c->parts[p].position, hi};
        }
        n++;
    }
    return (int)n;
}

static const ql_consumer_ops_t kafka_consumer_ops = {kc_poll, kc_commit, kc_end_offset, kc_at_end, kc_close};

/* No group: learn the partitions from metadata and assign them all. */
static int assign_all(kconsumer_t *c, char *err, size_t errlen)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, c->topic, NULL);
    int rc = -1;
    rd_kafka_topic_partition_list_t *l = NULL;
    for (int tries = 0;; tries++) {
        rd_kafka_resp_err_t e = rd_kafka_metadata(c->rk, 0, rkt, &md, 5000);
        if (e) {
            ql_err(err, errlen, "kafka metadata for '%s': %s", c->topic, rd_kafka_err2str(e));
            goto out;
        }
        if (md->topic_cnt == 1 && md->topics[0].err == 0 && md->topics[0].partition_cnt > 0) break;
        e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        rd_kafka_metadata_destroy(md);
        md = NULL;
        if (tries >= 10 || e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            ql_err(err, errlen, "kafka topic '%s': %s", c->topic, rd_kafka_err2str(e));
            goto out;
        }
        usleep(200000);
    }
    l = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++) {
        int32_t pid = md->topics[0].partitions[i].id;
        kpart_t *kp = part_get(c, pid);
        int64_t off = start_offset(c, pid);
        rd_kafka_topic_partition_list_add(l, c->topic, pid)->offset = off;
        kp->assigned = 1;
        kp->position = off >= 0 ? off : -1;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(c->rk, l);
    if (e) {
        ql_err(err, errlen, "kafka assign: %s", rd_kafka_err2str(e));
        goto out;
    }
    c->ever_assigned = 1;
    rc = 0;
out:
    if (l) rd_kafka_topic_partition_list_destroy(l);
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

int ql_consumer_open_kafka(ql_consumer_t **out, const char *brokers, const char *topic,
                           const char *group, const char *const *conf_list,
                           const ql_consumer_callbacks_t *cb, char *err, size_t errlen)
{
    int rc = -1;
    char es[512], gid[128];
    *out = NULL;
    if (!brokers || !*brokers) return ql_err(err, errlen, "no kafka brokers given");
    if (!topic || !*topic) return ql_err(err, errlen, "no kafka topic given");

    kconsumer_t *c = ql_calloc(1, sizeof *c);
    c->base.ops = &kafka_consumer_ops;
    c->topic = ql_strdup(topic);
    c->grouped = group != NULL;
    c->opened_us = ql_monotonic_us();
    if (cb) c->cb = *cb;

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!group) {
        /* librdkafka's consumer queue needs a group.id; this one is never
         * joined (no subscribe) and never committed to. */
        char id[QL_UUID_LEN];
        ql_uuidv7(ql_now_us(), id);
        snprintf(gid, sizeof gid, "questlog-cat-%s", id);
    }
    static const char *const defaults[][2] = {
        {"client.id", "questlog"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"auto.offset.reset", "earliest"},
        {"reconnect.backoff.max.ms", "1000"},
    };
    for (size_t i = 0; i < QL_ARRAY_LEN(defaults); i++)
        if (conf_set(conf, defaults[i][0], defaults[i][1], err, errlen) < 0) goto out;
    if (conf_set(conf, "bootstrap.servers", brokers, err, errlen) < 0) goto out;
    if (conf_set(conf, "group.id", group ? group : gid, err, errlen) < 0) goto out;
    if (conf_apply_list(conf, conf_list, err, errlen) < 0) goto out;
    rd_kafka_conf_set_error_cb(conf, cons_error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    if (group) rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, c);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, es, sizeof es);
    if (!c->rk) {
        ql_err(err, errlen, "cannot create kafka consumer: %s", es);
        goto out;
    }
    conf = NULL;                             /* owned by rk now */
    rd_kafka_poll_set_consumer(c->rk);

    if (group) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        if (e) {
            ql_err(err, errlen, "kafka subscribe to '%s': %s", topic, rd_kafka_err2str(e));
            goto out;
        }
    } else if (assign_all(c, err, errlen) < 0) {
        goto out;
    }
    *out = &c->base;
    rc = 0;
out:
    if (conf) rd_kafka_conf_destroy(conf);
    if (rc < 0) {
        if (c->rk) rd_kafka_destroy(c->rk);
        free(c->topic);
        free(c);
    }
    return rc;
}
