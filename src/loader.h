/*
 * loader.h — records in, Parquet files out: transform each record, route it
 * to its tables, write rows into per-(partition, table, dt) Parquet writers
 * that stream into hidden temp files, and commit batches into the lake with
 * the protocol of lake.c. Shared by `load`, `up` and `import`.
 *
 * Two modes:
 *   log mode    (opt.import_label == NULL): records carry a log partition and
 *               offset; the loader keeps each table's record of loaded offsets
 *               (lake.c), skips per table what the lake already holds, cuts a
 *               batch when the UTC day (dt) changes, and names files
 *               part-PARTITION-FIRST-LAST.parquet with the batch's log range.
 *   import mode (opt.import_label = "imp…"): records are input lines numbered
 *               by the caller; no offset record; rows go to the dt of their
 *               timestamp; files are named part-LABEL-FIRSTLINE-LASTLINE and
 *               all of an import's files are renamed at the final flush (a
 *               crash before it leaves only temp files, deleted later; the
 *               caller makes the import once per content, lake.h).
 *
 * Memory: each open writer holds at most one row group (opt.wopt's budget);
 * a batch is committed when it reaches batch_rows records or the writers
 * hold batch_bytes, so memory is bounded whatever the backlog.
 *
 * Threads: a loader belongs to one thread. Several loaders (import workers)
 * may run at once on one lake with distinct labels.
 * Errors: negative return, message in err; after an error the loader must be
 * freed (its uncommitted temp files are deleted) — a restart resumes from
 * the lake's record.
 */
#ifndef QL_LOADER_H
#define QL_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "config.h"
#include "pq.h"
#include "log.h"
#include "transform.h"
#include "util.h"

typedef struct ql_loader ql_loader_t;

typedef struct ql_loader_options {
    const char           *lake_dir;
    const ql_transform_t *transform;     /* borrowed, shared read-only */
    ql_pq_write_options_t wopt;          /* codec, row group budget (zeroes = defaults) */
    int64_t               batch_rows;    /* log mode: commit every this many records (default 1M) */
    size_t                batch_bytes;   /* commit when writers buffer this much (default 64 MiB) */
    int64_t               file_rows;     /* import mode: rotate a file at this many rows (default 4M) */
    const char           *import_label;  /* NULL = log mode */
    const char           *source;        /* `_rejected.source` value ("log", a file name); borrowed */
    int64_t               claim_timeout_ms; /* log mode, > 0: waiting longer than this for a partition's
                                             claim held by another process is an error (naming the
                                             holder; that batch is not committed); 0: wait for ever */
} ql_loader_options_t;

typedef struct ql_loader_stats {
    uint64_t records;        /* records given to ql_loader_add (incl. skipped) */
    uint64_t skipped;        /* records every table already held */
    uint64_t rejected;
    uint64_t rows;           /* rows written, all tables */
    uint64_t type_mismatch;  /* values stored as null: JSON type did not fit the column */
    uint64_t files;          /* files committed */
    uint64_t bytes;          /* bytes of committed files */
    uint64_t commits;        /* batch commits */
    uint64_t lost_batches;   /* batches dropped because their partition had been
                                claimed by another loader on the lake (lake.h) */
    int64_t  last_ts_us;     /* log time of the last record committed (-1 none) */
} ql_loader_stats_t;

/* Opens the lake for writing: runs ql_lake_recover on every table of the
 * transform (and _rejected), then (log mode) reads each table's record. */
int  ql_loader_new(ql_loader_t **out, const ql_loader_options_t *opt, char *err, size_t errlen);
/* Discards uncommitted rows (temp files deleted) and frees. */
void ql_loader_free(ql_loader_t *l);

/* Log mode: partition p is (now) ours — takes its claim in the lake
 * (ql_lake_claim_take), reads every table's record of p from the lake (never
 * from memory: another loader may have loaded p meanwhile), and returns the
 * offset to start reading p at: the lowest next offset of any table (0 when
 * the lake holds nothing of p). Use it in the consumer's `assigned`
 * callback. On an I/O error returns QL_OFFSET_END, skips p, and the next
 * ql_loader_add/flush fails with the message. */
int64_t ql_loader_start_offset(ql_loader_t *l, int32_t partition);

/* Adds one record. Log mode: partition/offset are the record's; records of a
 * partition must come in increasing offset order; log_ts_us is the log's
 * append time (used for a missing timestamp). Import mode: partition is
 * ignored, offset is the input line number, log_ts_us the import's time.
 * May commit a batch (budget full, day changed). */
int  ql_loader_add(ql_loader_t *l, int32_t partition, int64_t offset, int64_t log_ts_us,
                   const char *value, size_t len, char *err, size_t errlen);

/* Commits everything buffered (all partitions). Cheap when nothing is. */
int  ql_loader_flush(ql_loader_t *l, char *err, size_t errlen);

/* Import mode: finishes every open file (footer written, fsynced) without
 * renaming; the next ql_loader_flush renames them. Lets several import
 * workers finish in parallel and commit only when all succeeded. */
int  ql_loader_seal(ql_loader_t *l, char *err, size_t errlen);

/* Import mode: names every file finished so far, and every later one, with
 * `label` (their line ranges kept). An import whose id (a content hash) is
 * known only at its end sets it after ql_loader_seal, before the final
 * ql_loader_flush. */
void ql_loader_relabel(ql_loader_t *l, const char *label);

/* Kafka rebalance: drops partition p's uncommitted rows (temp files
 * deleted, nothing renamed) and forgets it; its records are skipped until
 * ql_loader_start_offset(p) again. A batch is committed only while the
 * partition's claim is still ours, so a loader that lost p without being
 * told (session timeout) drops its batch at commit (stats.lost_batches). */
void ql_loader_revoke(ql_loader_t *l, int32_t partition);

/* Log mode: next offset every table of the lake has loaded for p (what to
 * commit to the consumer for retention), or -1 if unknown. */
int64_t ql_loader_committed(ql_loader_t *l, int32_t partition);

void ql_loader_stats(const ql_loader_t *l, ql_loader_stats_t *out);

/* 1 once a wait for a partition's claim hit the claim timeout
 * (ql_loader_options_t.claim_timeout_ms): the error that followed is the
 * user's deadline, not a failure worth retrying (up stops on it). */
int ql_loader_gave_up(const ql_loader_t *l);

#endif

/* ---- following a log (load, up) ------------------------------------------ */

/* Per-partition consumer lag (Kafka) a follower keeps for /metrics and its
 * status line: partitions currently assigned, at most this many. */
#define QL_LOADER_LIVE_PARTS 64

/* Figures a follower publishes for other threads (up's /metrics): written
 * with atomic stores by the follower, read with ql_loader_live_read (the
 * partition table under a sequence counter, so a reader never sees half an
 * update). Zero-initialise. */
typedef struct ql_loader_live {
    uint64_t events;         /* records consumed */
    uint64_t rows, rejected, files, bytes, commits;
    int64_t  lag_events;     /* behind the log end, all partitions (-1 unknown) */
    int64_t  lag_us;         /* age of the oldest unloaded record (0 when caught up) */
    int32_t  n_parts;        /* entries of parts[]; -1 = not a Kafka consumer */
    ql_partition_lag_t parts[QL_LOADER_LIVE_PARTS];  /* ql_consumer_kafka_lag's figures */
    uint32_t parts_seq;      /* odd while parts[] is being written */
} ql_loader_live_t;
void ql_loader_live_read(const ql_loader_live_t *live, ql_loader_live_t *out);

/* Appends Prometheus text for a live snapshot's per-partition consumer lag
 * (`questlog_kafka_consumer_lag{partition="P"}`, records between the
 * consumer's position and the partition's end); nothing when n_parts < 0. */
void ql_loader_live_metrics(const ql_loader_live_t *snap, ql_buf_t *out);

typedef struct ql_loader_follow {
    ql_loader_t      *loader;
    ql_consumer_t    *consumer;        /* opened with ql_loader_callbacks(loader) */
    int64_t           flush_interval_ms;  /* commit at least this often when rows wait (default 1000) */
    int               once;            /* stop at the log's end (all partitions) */
    volatile int     *stop;            /* set (by a signal handler / another thread) to drain and stop */
    int64_t           status_interval_ms; /* status line on stderr this often; 0 = never */
    const char       *cmd;             /* "load", "up": prefix of status lines */
    ql_loader_live_t *live;            /* may be NULL */
    int64_t           compact_interval_ms; /* merge small files of every table (today's too)
                                              this often after a commit; 0 = never */
} ql_loader_follow_t;

/* Consumer callbacks bound to a loader: `assigned` answers the lake's record
 * (ql_loader_start_offset), `revoked` drops the partition's unflushed rows. */
ql_consumer_callbacks_t ql_loader_callbacks(ql_loader_t *l);

/* Consumes records into the loader until *stop (or, with once, the log end),
 * committing a batch every flush interval (and on budgets), then committing
 * the consumer's checkpoint (retention) after each lake commit. Flushes
 * before returning 0. On error returns < 0 (uncommitted rows are discarded
 * when the loader is freed; a restart resumes from the lake). Thread: the
 * loader's and consumer's owner. */
int ql_loader_follow(ql_loader_follow_t *f, char *err, size_t errlen);

/* ---- a follower that survives failures (load, up) ---------------------------- */

/* Where a follower's consumer reads: the Kafka topic when kafka is set, else
 * the embedded log under log_dir. Borrowed for the follower's life. */
typedef struct ql_loader_source {
    const char        *log_dir;
    const char        *kafka, *topic, *group;
    const char *const *kafka_conf;   /* -X key=value …, NULL-terminated */
} ql_loader_source_t;

/* Opens a loader with lo and a consumer of src bound to it into f->loader
 * and f->consumer (both NULL on error). Close with ql_loader_follower_close. */
int  ql_loader_follower_open(ql_loader_follow_t *f, const ql_loader_options_t *lo, const ql_loader_source_t *src,
                             char *err, size_t errlen);
/* Closes f's consumer, then its loader (uncommitted rows go; the lake's
 * record stays); NULLs both. Safe on a closed follower. */
void ql_loader_follower_close(ql_loader_follow_t *f);

/* Figures of ql_loader_follow_retrying for /metrics (read with atomic
 * loads from any thread). Zero-initialise. */
typedef struct ql_loader_retry {
    uint64_t restarts;   /* followers reopened after a failure */
    int      running;    /* 1 while a follower follows, 0 while it waits */
} ql_loader_retry_t;

/* ql_loader_follow for a follower opened with ql_loader_follower_open, but a
 * failure (the lake's disk full, an I/O error, a broker error) does not end
 * it: the follower is closed, and after a back-off (1 s doubling to 30 s;
 * back to 1 s once one has run a minute) reopened, resuming from the lake's
 * record like a restarted process, so the tables stay exact. Each failure is
 * one line on stderr ("questlog CMD: the loader stopped: …; retrying in N
 * s"). Returns 0 when *f->stop ends it (after the last flush), or < 0 with
 * err: a failure while stopping, or the claim timeout (ql_loader_gave_up:
 * the user's deadline, not retried). f->once must be 0. Thread: one, the
 * follower's owner; r is written atomically for other threads. */
int ql_loader_follow_retrying(ql_loader_follow_t *f, const ql_loader_options_t *lo, const ql_loader_source_t *src,
                              ql_loader_retry_t *r, char *err, size_t errlen);

/* ---- command set-up shared by load, up, import ----------------------------- */

/* The config, catalog and transform a loading command needs. */
typedef struct ql_loader_env {
    ql_config_t    *cfg;
    ql_catalog_t   *cat;
    ql_transform_t *tf;
} ql_loader_env_t;

/* Loads config_path (NULL = built-in), its catalog and transform. */
int  ql_loader_env_open(ql_loader_env_t *env, const char *config_path, char *err, size_t errlen);
void ql_loader_env_close(ql_loader_env_t *env);
