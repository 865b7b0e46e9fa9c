/*
 * log.h — the durable event log: one interface, two backends.
 *
 *   embedded (log_segment.c): segment files under DATA/log/, one partition (0)
 *   Kafka    (log_kafka.c):   a topic, any number of partitions
 *
 * Producing side (collector): ql_log_append() queues messages and returns at
 * once; the log calls `done` exactly once per append, on a thread the log
 * owns (or, with ql_log_append_commit, possibly on the caller's thread inside
 * that call), after EVERY message of that append is durable (status 0) or
 * after the append failed (status < 0). A caller must not answer an HTTP request with
 * 200 before its `done` says 0: that is what "a 200 means durable" rests on.
 *
 * Consuming side (loader, `cat`): a consumer reads records in offset order
 * per partition; partitions are handed to it through the `assigned` callback
 * (embedded: partition 0 at open; Kafka: on group rebalance), which returns
 * the offset to start from — for the loader, the lake's own record of what is
 * loaded. Committing (ql_consumer_commit) only informs retention/monitoring;
 * it is never the record of what the lake holds.
 *
 * Errors: negative return codes below, message in the caller's err buffer.
 */
#ifndef QL_LOG_H
#define QL_LOG_H

#include <stddef.h>
#include <stdint.h>

#define QL_LOG_EINVAL   (-1)   /* bad argument / corrupt data */
#define QL_LOG_EIO      (-2)   /* write/fsync failed (e.g. disk full): nothing of the append is durable */
#define QL_LOG_EFULL    (-3)   /* queue full: try later (HTTP 503) */
#define QL_LOG_ECLOSED  (-4)   /* log is closing */
#define QL_LOG_ETIMEOUT (-5)   /* delivery not confirmed in time (Kafka) */

#define QL_OFFSET_BEGINNING (-2)
#define QL_OFFSET_END       (-1)

/* A record read from the log. Pointers stay valid until the next poll/close
 * on the consumer that returned them. */
typedef struct ql_log_record {
    int32_t     partition;     /* embedded: always 0 */
    int64_t     offset;        /* position in the partition, dense from 0 (embedded) */
    int64_t     timestamp_us;  /* when the log accepted it, UTC µs */
    const char *key;           /* may be NULL */
    size_t      key_len;
    const char *value;         /* the event, one JSON object */
    size_t      value_len;
} ql_log_record_t;

/* A message to append. The log copies key/value before ql_log_append returns. */
typedef struct ql_log_msg {
    const char *key;
    size_t      key_len;
    const char *value;
    size_t      value_len;
} ql_log_msg_t;

/* Latency histogram bucket upper bounds in µs (the last bucket is +Inf). */
#define QL_LOG_LAT_BUCKETS 12
static const int64_t ql_log_lat_bounds_us[QL_LOG_LAT_BUCKETS - 1] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1000000};

typedef struct ql_log_stats {
    uint64_t appends, records, bytes;    /* durable so far */
    uint64_t failures;                   /* appends whose done got status < 0 */
    uint64_t commits;                    /* fsyncs (embedded) / delivery reports (Kafka) */
    /* commit latency, per bucket (not cumulative): embedded = the write +
     * fdatasync of each commit; Kafka = append to delivery report */
    uint64_t commit_lat_count[QL_LOG_LAT_BUCKETS];
    uint64_t commit_lat_sum_us;
    uint64_t queued;                     /* messages accepted, not yet done */
    int64_t  end_offset;                 /* next offset to be written (embedded), -1 unknown */
} ql_log_stats_t;

/* Adds one latency sample to st's histogram (for backends). */
static inline void ql_log_stats_add_lat(ql_log_stats_t *st, int64_t us)
{
    size_t b = 0;
    while (b < QL_LOG_LAT_BUCKETS - 1 && us > ql_log_lat_bounds_us[b]) b++;
    st->commit_lat_count[b]++;
    st->commit_lat_sum_us += (uint64_t)(us < 0 ? 0 : us);
}

/* Called once per append, on a log-owned thread. first_offset is the offset
 * of the append's first message (embedded; -1 when not known, e.g. Kafka with
 * several partitions). errmsg is NULL on success; it is valid only during the
 * call. `done` must not block for long: it runs on the commit path. */
typedef void (*ql_log_done_fn)(void *arg, int status, int64_t first_offset, const char *errmsg);

typedef struct ql_log ql_log_t;

/* Backend operations; a backend's ql_log_t starts with `const ql_log_ops_t *ops`. */
typedef struct ql_log_ops {
    int  (*append)(ql_log_t *log, const ql_log_msg_t *msgs, size_t n, ql_log_done_fn done, void *arg);
    void (*stats)(ql_log_t *log, ql_log_stats_t *out);
    void (*close)(ql_log_t *log);
} ql_log_ops_t;

struct ql_log {
    const ql_log_ops_t *ops;
};

typedef struct ql_log_options {
    uint64_t segment_bytes;   /* embedded: roll segments at this size (default 64 MiB) */
    int64_t  retention_ms;    /* embedded: delete consumed segments older than this (default 7 d) */
    int      quiet;           /* do not print recovery notes to stderr */
    uint64_t max_pending_bytes; /* embedded: append returns QL_LOG_EFULL while more than
                                   this many bytes wait for their fsync (default 16 MiB) */
} ql_log_options_t;

struct ql_config;
/* Fills o from the config's [log] section (segment_bytes, retention); keys
 * not given stay 0, which means the log's defaults. Returns 0, or -1 with
 * "PATH: [log] KEY: bad …" in err. Thread: any (cfg is only read).
 * Implemented in log_options.c. */
int ql_log_options_from_config(ql_log_options_t *o, const struct ql_config *cfg, char *err, size_t errlen);

/* Opens (creating if needed) the embedded log in `dir`, recovering a torn
 * tail first. opt may be NULL for defaults. Thread: any. */
int ql_log_open_embedded(ql_log_t **out, const char *dir, const ql_log_options_t *opt,
                         char *err, size_t errlen);

/* Kafka producer for `topic` on `brokers`; `conf` is a NULL-terminated list of
 * "key=value" librdkafka settings (-X), may be NULL. timeout_ms bounds how
 * long an append may wait for its delivery report (0 = default 5000). */
int ql_log_open_kafka(ql_log_t **out, const char *brokers, const char *topic,
                      const char *const *conf, int timeout_ms, char *err, size_t errlen);

/* Queues n messages as one all-or-nothing unit where the backend allows it
 * (embedded: one write, truncated back on failure; Kafka: see log_kafka.c).
 * Returns 0 if queued (done WILL be called), or a negative code if refused
 * at once (done will NOT be called). Thread: any. */
static inline int ql_log_append(ql_log_t *log, const ql_log_msg_t *msgs, size_t n,
                                ql_log_done_fn done, void *arg)
{
    return log->ops->append(log, msgs, n, done, arg);
}

/* Like ql_log_append, but the caller lends its thread for the commit. The
 * embedded log, when no commit is running, writes and fdatasyncs everything
 * pending (this append included) on the calling thread before returning, and
 * calls those appends' `done` on it, inside this call — no hand-over to the
 * writer thread and back. When a commit is running, or for Kafka, it is
 * exactly ql_log_append. Returns as ql_log_append does. Thread: any that may
 * block for one write + fdatasync; its `done` must cope with being called on
 * this thread from inside this call. Implemented in log_segment.c. */
int ql_log_append_commit(ql_log_t *log, const ql_log_msg_t *msgs, size_t n, ql_log_done_fn done, void *arg);

/* Snapshot of counters. Thread: any. */
static inline void ql_log_stats(ql_log_t *log, ql_log_stats_t *out) { log->ops->stats(log, out); }

/* Stops taking appends, waits until every queued append's done has been
 * called, frees everything. Thread: any but a log-owned one. */
static inline void ql_log_close(ql_log_t *log) { if (log) log->ops->close(log); }

/* ---- consuming --------------------------------------------------------- */

typedef struct ql_consumer ql_consumer_t;

typedef struct ql_consumer_callbacks {
    /* A partition is now ours: return the next offset to read (>= 0), or
     * QL_OFFSET_BEGINNING / QL_OFFSET_END. Called from ql_consumer_poll
     * (Kafka: after librdkafka's rebalance callback has returned, so it may
     * wait, e.g. for a lock; while it does, this consumer serves no further
     * rebalance, and librdkafka drops it from the group after
     * max.poll.interval.ms — bound the wait well below that). */
    int64_t (*assigned)(void *arg, int32_t partition);
    /* A partition is being taken away (Kafka rebalance): after this returns,
     * poll returns no more of its records. Called from ql_consumer_poll
     * (Kafka: inside librdkafka's rebalance callback — return quickly). */
    void (*revoked)(void *arg, int32_t partition);
    void *arg;
} ql_consumer_callbacks_t;

typedef struct ql_consumer_ops {
    int  (*poll)(ql_consumer_t *c, ql_log_record_t *recs, size_t max, int timeout_ms, char *err, size_t errlen);
    int  (*commit)(ql_consumer_t *c, int32_t partition, int64_t next_offset, char *err, size_t errlen);
    int  (*end_offset)(ql_consumer_t *c, int32_t partition, int64_t *end);
    int  (*at_end)(ql_consumer_t *c);
    void (*close)(ql_consumer_t *c);
} ql_consumer_ops_t;

struct ql_consumer {
    const ql_consumer_ops_t *ops;
};

/* Embedded log reader. `name` names its checkpoint (DATA/log/checkpoints/NAME)
 * used by retention; NULL = an anonymous reader that never holds retention
 * back (e.g. `cat`). cb may be NULL: start at QL_OFFSET_BEGINNING. The writer
 * may be appending in this or another process meanwhile. */
int ql_consumer_open_embedded(ql_consumer_t **out, const char *dir, const char *name,
                              const ql_consumer_callbacks_t *cb, char *err, size_t errlen);

/* Kafka consumer in `group` (NULL = no group: assign all partitions, for cat). */
int ql_consumer_open_kafka(ql_consumer_t **out, const char *brokers, const char *topic,
                           const char *group, const char *const *conf,
                           const ql_consumer_callbacks_t *cb, char *err, size_t errlen);

/* Up to max records; waits up to timeout_ms for the first. Returns the count
 * (0 = nothing new), or < 0 on error (e.g. a corrupt record that is not the
 * tail being written). */
static inline int ql_consumer_poll(ql_consumer_t *c, ql_log_record_t *recs, size_t max,
                                   int timeout_ms, char *err, size_t errlen)
{
    return c->ops->poll(c, recs, max, timeout_ms, err, errlen);
}
/* Records that everything before next_offset is consumed (retention, monitoring). */
static inline int ql_consumer_commit(ql_consumer_t *c, int32_t partition, int64_t next_offset,
                                     char *err, size_t errlen)
{
    return c->ops->commit(c, partition, next_offset, err, errlen);
}
/* The partition's current end (next offset to be written), for lag. */
static inline int ql_consumer_end_offset(ql_consumer_t *c, int32_t partition, int64_t *end)
{
    return c->ops->end_offset(c, partition, end);
}
/* 1 when, at the last poll, every assigned partition was read to its end. */
static inline int ql_consumer_at_end(ql_consumer_t *c) { return c->ops->at_end(c); }
static inline void ql_consumer_close(ql_consumer_t *c) { if (c) c->ops->close(c); }

/* Kafka only: lag of every partition currently assigned to consumer c.
 * Fills up to max entries and returns how many partitions are assigned (may
 * be more than max), or QL_LOG_EINVAL if c is not a Kafka consumer.
 * position: next offset poll will return (-1 unknown: nothing read yet);
 * end: the partition's high watermark as of the last fetch (-1 unknown);
 * lag = end - position when both are known. Non-blocking (cached values).
 * Thread: the consumer's own thread (the one calling poll); copy the
 * figures out for /metrics. */
typedef struct ql_partition_lag {
    int32_t partition;
    int64_t position;
    int64_t end;
} ql_partition_lag_t;
int ql_consumer_kafka_lag(ql_consumer_t *c, ql_partition_lag_t *out, size_t max);

/* Tests only: makes the Kafka producer behind `log` raise a librdkafka fatal
 * error (rd_kafka_test_fatal_error), as an unrecoverable idempotent-producer
 * state would, to exercise its recovery (a fresh producer; what the old one
 * held is reported failed). Returns 0, or QL_LOG_EINVAL if log is not a
 * Kafka producer. Thread: any. */
int ql_log_kafka_inject_fatal(ql_log_t *log);

#endif
