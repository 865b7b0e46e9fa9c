/*
 * lake.h — the Parquet lake on disk: its layout, the commit protocol that
 * makes every loaded event land exactly once in every table it belongs to,
 * the record of loaded log offsets, file listing for readers, compaction.
 *
 *   LAKE/<table>/dt=YYYY-MM-DD/part-<label>-<first>-<last>.parquet
 *
 * <label> is the source: a log partition as 5+ decimal digits ("00000") for
 * files written by the loader, or "imp" + the import's content id + "w" +
 * worker for `import` files ("imp" + hex + "c" for merged imports);
 * <first>/<last> are 19-digit zero-padded log offsets (import: input line
 * numbers) so names sort. The protocol, its invariants, the zero-row-batch
 * markers (LAKE/<table>/_offsets.<label>), the partition claims of loaders
 * sharing a lake and the import records (LAKE/.imports/<id>) are described
 * in lake.c and docs/lake.md.
 *
 * Readers (questlog query, describe, report, compact) MUST list files with
 * ql_lake_list_files(): it hides files covered by a compacted file and files
 * of imports not yet committed, so a compaction's swap and an import are
 * atomic for them.
 *
 * Threads: no shared state; every function may be called from any thread.
 * Errors: negative return, message in the caller's err buffer.
 */
#ifndef QL_LAKE_H
#define QL_LAKE_H

#include <stddef.h>
#include <stdint.h>

#include "pq.h"

#define QL_LAKE_LABEL_MAX 48

/* One data file of a table. */
typedef struct ql_lake_file {
    char    *path;                    /* LAKE/TABLE/dt=D/NAME (owned by the list) */
    const char *name;                 /* base name, points into path */
    char     dt[11];                  /* "YYYY-MM-DD"; "" when not under a dt= dir */
    char     label[QL_LAKE_LABEL_MAX];/* "00000" or "imp…"; "" for a foreign file name */
    int32_t  partition;               /* log partition, -1 for import or foreign files */
    int64_t  first, last;             /* offset (or line) range; -1 for foreign files */
    int64_t  size;                    /* bytes */
    int64_t  mtime_us;
} ql_lake_file_t;

/* The visible data files of `table` (every `*.parquet` under TABLE/ and
 * TABLE/<dir>/, hidden names skipped), sorted by dt then name, WITHOUT the
 * files a compacted file covers (same dir, same label, range inside its
 * range). A missing table directory gives 0 files, not an error.
 * Caller frees with ql_lake_files_free. */
int  ql_lake_list_files(const char *lake_dir, const char *table, ql_lake_file_t **out, size_t *n,
                        char *err, size_t errlen);
void ql_lake_files_free(ql_lake_file_t *files, size_t n);

/* Table names (directories under LAKE not starting with '.'), sorted.
 * Caller frees with ql_lake_tables_free. A missing lake gives 0 tables. */
int  ql_lake_list_tables(const char *lake_dir, char ***out, size_t *n, char *err, size_t errlen);
void ql_lake_tables_free(char **names, size_t n);

/* Parses a data file base name "part-LABEL-FIRST-LAST.parquet". 0 ok, -1 if
 * the name is not one of questlog's. partition is -1 for non-numeric labels. */
int ql_lake_parse_name(const char *name, char label[QL_LAKE_LABEL_MAX], int32_t *partition,
                       int64_t *first, int64_t *last);

/* ---- writing (loader, import, compact) --------------------------------- */

/* Start-up recovery of one table, for a process that will write it: deletes
 * temp files left by dead processes, files covered by a compacted file
 * (a compaction that crashed after its rename) and files of an import that
 * crashed in its commit (no record, no import committing), and fsyncs what
 * it changed.
 * *removed (may be NULL) gets the number of files deleted. */
int ql_lake_recover(const char *lake_dir, const char *table, int *removed, char *err, size_t errlen);

/* The record of loaded offsets of one table: for each log partition seen,
 * the highest log offset whose events are all in the table (from the file
 * names and the _offsets markers). A snapshot: with several loaders on the
 * lake it may be behind as soon as it is read (see ql_lake_claim_t). */
typedef struct ql_lake_offsets {
    size_t   n;
    int32_t *partition;
    int64_t *last;        /* highest loaded offset; everything <= it is in the table */
} ql_lake_offsets_t;

int  ql_lake_read_offsets(const char *lake_dir, const char *table, ql_lake_offsets_t *out,
                          char *err, size_t errlen);
/* The highest loaded offset for partition, or -1 when nothing is loaded. */
int64_t ql_lake_offsets_get(const ql_lake_offsets_t *o, int32_t partition);
/* Sets (raises) partition's value. */
void ql_lake_offsets_set(ql_lake_offsets_t *o, int32_t partition, int64_t last);
void ql_lake_offsets_free(ql_lake_offsets_t *o);

/* R(T,P) read from the lake now: the highest `last` of T's files of
 * partition P, or its markers' value if higher; -1 when nothing is loaded.
 * Cheap enough for every (re)assignment (names only, no stat). */
int ql_lake_read_record(const char *lake_dir, const char *table, int32_t partition, int64_t *last,
                        char *err, size_t errlen);

/* Records progress of a table that received no rows for some offsets of
 * `partition`: durably replaces LAKE/TABLE/_offsets.LABEL ("P LAST") — write
 * a temp file of this process, fsync, rename, fsync the directory. Only call
 * it once every row of those offsets is committed in files, while holding
 * the partition's claim (ql_lake_claim_lock == 0). */
int ql_lake_write_marker(const char *lake_dir, const char *table, int32_t partition, int64_t last,
                         char *err, size_t errlen);

/* A partition claim: LAKE/.partition-LABEL.lock holds the token of the
 * loader that was last given the partition. Several loaders on one lake
 * (a Kafka consumer group) take the claim when the partition is assigned and
 * commit a batch of it only while it is still theirs, under the file's flock,
 * so a loader that lost the partition (rebalance, session timeout) can never
 * commit a stale batch after the new owner read the lake's record. */
typedef struct ql_lake_claim {
    int     fd;           /* -1: no claim */
    char    token[64];    /* "PID RANDOM SEQ\n" */
    int32_t partition;
    int64_t timeout_ms;   /* > 0: how long ql_lake_claim_lock waits for the flock; 0: for ever */
} ql_lake_claim_t;

/* Opens the claim file, takes its flock (waiting: another loader may be
 * committing; every 10 s of waiting says on stderr which pid holds it, and
 * that it is stopped when /proc/PID/stat says so) and writes a new token.
 * Returns 0 WITH THE LOCK HELD: read the partition's record
 * (ql_lake_read_record) now, then ql_lake_claim_unlock. Waits for ever. */
int  ql_lake_claim_take(const char *lake_dir, int32_t partition, ql_lake_claim_t *c, char *err, size_t errlen);
/* What ql_lake_claim_take_within and ql_lake_claim_lock return when the
 * claim's deadline passed (any other error is -1): the user asked the loader
 * to give up, so it must stop rather than retry. */
#define QL_LAKE_ETIMEDOUT (-2)

/* ql_lake_claim_take with a deadline: timeout_ms > 0 gives up after that
 * long with QL_LAKE_ETIMEDOUT and "gave up after N s (claim timeout) waiting for
 * partition P's claim in the lake, held by loader pid X[, which is
 * STOPPED …]" in err (nothing written, no lock held); 0 waits for ever. The
 * claim keeps the deadline for its ql_lake_claim_lock calls. */
int  ql_lake_claim_take_within(const char *lake_dir, int32_t partition, int64_t timeout_ms, ql_lake_claim_t *c,
                               char *err, size_t errlen);
/* Takes the flock and checks the token: 0 = still ours (lock held: commit,
 * then unlock), 1 = another loader claimed the partition since (lock held
 * too when c->fd >= 0; unlock, drop the batch), < 0 = error (lock not held),
 * QL_LAKE_ETIMEDOUT when the claim's deadline (ql_lake_claim_take_within) passed: the caller
 * commits nothing of the batch. A signal does not end the wait (EINTR is
 * retried). */
int  ql_lake_claim_lock(ql_lake_claim_t *c, char *err, size_t errlen);
void ql_lake_claim_unlock(ql_lake_claim_t *c);
/* Closes the claim file (the token stays; the next claimant replaces it). */
void ql_lake_claim_release(ql_lake_claim_t *c);

/* A data file being written: a hidden temp file in its final directory. */
typedef struct ql_lake_pending {
    char tmp[4096];    /* LAKE/T/dt=D/.part-LABEL-FIRST.PID.N.tmp */
    char dir[4096];    /* LAKE/T/dt=D */
    char final[4096];  /* set by ql_lake_pending_name */
    int  fd;           /* open for writing until ql_lake_pending_close */
} ql_lake_pending_t;

/* Creates the directory (fsyncing its parents when it is new) and opens a
 * fresh temp file there. The name is hidden from `*.parquet` globs and from
 * Spark/Hive (leading '.'), and carries our pid so recovery only deletes
 * temp files of dead processes. */
int ql_lake_pending_open(ql_lake_pending_t *p, const char *lake_dir, const char *table,
                         const char *dt, char *err, size_t errlen);
/* Sets the final name: part-LABEL-FIRST-LAST.parquet in p->dir. */
void ql_lake_pending_name(ql_lake_pending_t *p, const char *label, int64_t first, int64_t last);
/* fsyncs and closes the temp file (after the Parquet footer is written). */
int ql_lake_pending_close(ql_lake_pending_t *p, char *err, size_t errlen);
/* Deletes the temp file (closing it if open). */
void ql_lake_pending_discard(ql_lake_pending_t *p);
/* Commits closed pending files: rename each to its final name, then fsync
 * every directory touched once. On error, files not yet renamed are
 * discarded; those already renamed stay (they are complete and recorded). */
int ql_lake_commit(ql_lake_pending_t *files, size_t n, char *err, size_t errlen);

/* The partition label of log partition p ("00000"). */
void ql_lake_partition_label(int32_t p, char out[QL_LAKE_LABEL_MAX]);

/* ---- compaction --------------------------------------------------------- */

typedef struct ql_lake_compact_options {
    int         min_files;    /* merge a (dt, label) group only with >= this many files (default 2) */
    int         all;          /* also today's dt partitions (default: only older ones) */
    int64_t     max_bytes;    /* stop a merge run at this input size (default 1 GiB) */
    int64_t     small_bytes;  /* only files smaller than this are merged (default 64 MiB), so
                                 repeated compactions don't rewrite big files again and again */
    int         dry_run;      /* only report what would be merged */
    const ql_pq_write_options_t *wopt;  /* writer options for merged files (NULL = defaults) */
    int         verbose;      /* print each merge on stderr */
} ql_lake_compact_options_t;

typedef struct ql_lake_compact_stats {
    uint64_t groups, files_in, files_out, rows, bytes_in, bytes_out;
} ql_lake_compact_stats_t;

/* Merges runs of small files of `table` that share a dt directory and a
 * label into one file each (part-LABEL-FIRSTMIN-LASTMAX.parquet), schema =
 * union by column name. Crash-safe: the merged file is committed by rename
 * (the commit point), then the inputs are unlinked; a crash in between is
 * finished by ql_lake_recover/ql_lake_list_files (covered files). */
int ql_lake_compact(const char *lake_dir, const char *table, const ql_lake_compact_options_t *opt,
                    ql_lake_compact_stats_t *stats, char *err, size_t errlen);

/* Takes an exclusive advisory lock LAKE/.NAME.lock (flock, non-blocking),
 * creating the lake directory if needed: one loader per lake ("loader"), one
 * compaction at a time ("compact"). *fd holds it until closed (or exit).
 * Returns -1 with "another NAME is running on lake … (pid N): …" when another
 * process holds it. */
int ql_lake_lock(const char *lake_dir, const char *name, int *fd, char *err, size_t errlen);

/* ---- imports: once per input content ------------------------------------- */

/* An import is named by a content hash of its input: the id, 32 lowercase
 * hex digits; its files carry the labels "imp<ID>w<worker>". Its commit
 * point is its record LAKE/.imports/<ID>: files of an id without a record
 * (an import running, or one that crashed during its renames) are hidden by
 * ql_lake_list_files, and deleted by the next import of the same content
 * (ql_lake_import_rollback) or the next writer's ql_lake_recover. The protocol is in lake.c (I8) and
 * docs/lake.md. */
#define QL_LAKE_IMPORT_ID_LEN 32

/* The label of worker `worker` of import `id`: "imp<ID>w<worker>". */
void ql_lake_import_label(const char *id, int worker, char out[QL_LAKE_LABEL_MAX]);

/* Takes the lake's import lock (flock of LAKE/.imports, created durably),
 * waiting for another import's commit to end: imports commit one at a time.
 * *fd holds it until closed (or exit). */
int ql_lake_import_lock(const char *lake_dir, int *fd, char *err, size_t errlen);

/* 1 when LAKE/.imports/ID exists (an import of that content committed) or
 * LAKE/.imports/ID.merged does (a compaction merged its files with other
 * imports': it stays imported even if its record is deleted, lake.c I9),
 * else 0. Thread: any. */
int ql_lake_import_done(const char *lake_dir, const char *id);
/* 1 when LAKE/.imports/ID.merged exists (lake.c I9), else 0. Thread: any. */
int ql_lake_import_merged(const char *lake_dir, const char *id);

/* 1 when some import record says its input had `bytes` bytes, else 0: a
 * cheap "may this file be imported already?" before hashing it. */
int ql_lake_import_size_seen(const char *lake_dir, uint64_t bytes);

/* Deletes every data file labelled imp<ID>w… in every table (what an import
 * of that content renamed before it crashed), fsyncing each directory.
 * *removed (may be NULL) gets the count. Only with the import lock held and
 * no record for ID. */
int ql_lake_import_rollback(const char *lake_dir, const char *id, int *removed, char *err, size_t errlen);

/* Durably writes the record LAKE/.imports/ID (text `info`, for people): the
 * import's commit point. Only with the import lock held, after every file
 * of the import is committed (ql_lake_commit). */
int ql_lake_import_record(const char *lake_dir, const char *id, const char *info, char *err, size_t errlen);

/* ---- the log a lake loads from ------------------------------------------- */

/* The lake's record of what is loaded is offsets per log partition number,
 * which mean nothing in another log: loading Kafka topic B into a lake that
 * holds offsets of the embedded log (or of topic A) would take B's first
 * offsets as loaded and never load those events. So a lake belongs to one
 * log, named in LAKE/.source ("embedded log", "Kafka topic NAME"): the first
 * loader creates it (durably, and exclusively: of two loaders racing, one
 * creates it, the other compares), every later one must name the same log
 * or is refused with an error saying which log the lake holds. A lake made
 * before LAKE/.source existed is claimed by its next loader. `source` is
 * one line of text, < 200 bytes. Call before reading the log. */
int ql_lake_claim_source(const char *lake_dir, const char *source, char *err, size_t errlen);

#endif
