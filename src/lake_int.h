/*
 * lake_int.h — private to the lake (src/lake*.c): what one part of the lake
 * calls in another. The public interface is lake.h; the invariants I1–I9
 * the parts uphold are written down once, at the top of lake.c.
 *
 * The parts:
 *   lake.c          layout, invariants I1–I9, names, listing for readers,
 *                   start-up recovery, the record of loaded offsets, writing
 *                   and committing files
 *   lake_claim.c    partition claims (I7), the lake's command locks, the log
 *                   a lake loads from (LAKE/.source)
 *   lake_import.c   import labels, lock, records and rollback (I8, I9)
 *   lake_compact.c  compaction (I5, I6, I9)
 *
 * Threads: no shared state; every function may be called from any thread.
 * Errors: negative return, message in the caller's err buffer (ql_err).
 */
#ifndef QL_LAKE_INT_H
#define QL_LAKE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lake.h"
#include "util.h"

/* A growing list of a table's files (ql_lake_scan_table); v owned by the list,
 * freed with ql_lake_files_free(v, n). */
typedef struct flist {
    ql_lake_file_t *v;
    size_t n, cap;
} flist_t;

/* Directory of a file = path up to its base name. */
static inline size_t dir_len(const ql_lake_file_t *f) { return (size_t)(f->name - f->path); }

/* ---- lake.c --------------------------------------------------------------- */

/* qsort order of ql_lake_file_t: by directory, label, first offset, then
 * last offset descending (a covering file before the files it covers), name. */
int ql_lake_cmp_group(const void *a, const void *b);

/* 1 if DIR/NAME exists (0 also when the path does not fit). */
int ql_lake_exists_in(const char *dir, const char *name);

/* Appends every questlog-visible *.parquet of LAKE/TABLE to l, unfiltered
 * (nothing hidden: covered files and uncommitted imports included); with
 * tmps, the temp files found, and with intents, the compaction intents
 * found (paths, NUL-separated). A missing table is 0 and no files. 0 or -1. */
int ql_lake_scan_table(const char *lake_dir, const char *table, flist_t *l, ql_buf_t *tmps, ql_buf_t *intents,
                       char *err, size_t errlen);

/* The directory part of path into out ("/" for "/x", "." for "x"). */
void ql_lake_parent_dir(const char *path, char *out, size_t outlen);

/* mkdir -p that fsyncs the parent of every directory it creates (I3: a
 * committed file's chain of directory entries is durable). 0 or -1. */
int ql_lake_mkdir_durable(const char *path, char *err, size_t errlen);

/* ---- lake_import.c -------------------------------------------------------- */

/* "imp<ID>w<digits>" (an import's own file, I8) → ID into id and 1; any
 * other label (log partitions, merged imports "imp…c") → 0. */
int ql_lake_import_id_of(const char *label, char id[QL_LAKE_IMPORT_ID_LEN + 1]);

/* I9: writes LAKE/.imports/ID.merged durably for every import whose own
 * files are among files[0..n), before a merge named out_name commits. 0 or -1. */
int ql_lake_import_mark_merged(const char *lake_dir, const char *out_name, const ql_lake_file_t *files, size_t n,
                               char *err, size_t errlen);

#endif
