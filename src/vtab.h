/*
 * vtab.h — SQL over the Parquet lake: the `questlog_parquet` SQLite virtual
 * table module (vtab.c; its parts and what they share: vtab_int.h), and the
 * "lake table" it is built on (a directory of Parquet files read as one
 * table; vtab_table.c), which `tables`, `describe` and `report` use directly.
 *
 *   CREATE VIRTUAL TABLE purchases USING questlog_parquet('lake/purchases');
 *
 * A lake table is every *.parquet file under a directory (Hive layout
 * `dt=YYYY-MM-DD/part-….parquet`, or flat). Its columns are the union BY NAME
 * of the files' columns, in order of first appearance (a file without a
 * column yields NULL there), followed by the Hive partition keys (`dt`) as
 * TEXT. SQL types: STRING→TEXT, INT32/INT64→INTEGER, BOOL→INTEGER 0/1,
 * DOUBLE/FLOAT→REAL, BINARY→BLOB, TIMESTAMP→TEXT "YYYY-MM-DDTHH:MM:SS.ffffffZ"
 * with the collation QL_TIME, which orders RFC 3339 texts by instant (so
 * `timestamp >= '2026-11-21T20:00:00Z'` means what it says) — see docs/query.md.
 *
 * The module projects only the columns a statement reads (decoded one row
 * group at a time, lazily on first use), pushes =, <, <=, >, >=, IS NULL down
 * to skip files (partition keys) and row groups (column statistics; for =
 * also the chunk's dictionary page), and
 * drops non-matching rows before SQLite sees them. SQLite re-checks every
 * constraint the module cannot decide exactly as SQLite would; those it can
 * (a constant of the column's type class, one column type in every file)
 * SQLite skips. GROUP BY / DISTINCT columns are delivered grouped, so SQLite
 * does not sort (docs/query.md).
 *
 * Threads: a database connection and everything registered on it belong to
 * one thread at a time (SQLite's rule); a ql_vtab_table_t likewise.
 * Errors: negative return, message in the caller's err buffer.
 */
#ifndef QL_VTAB_H
#define QL_VTAB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "pq.h"

/* Name of the collation given to TIMESTAMP columns. */
#define QL_VTAB_TIME_COLLATION "QL_TIME"

/* ---- lake tables ------------------------------------------------------- */

typedef struct ql_vtab_file {
    char         *path;       /* full path of the Parquet file */
    ql_pq_file_t *pq;         /* open reader (footer parsed) */
    char        **part_vals;  /* per partition key (table->npart): value or NULL */
    int          *colmap;     /* per table column: file column index, -1 if absent */
    uint64_t      bytes;      /* file size */
} ql_vtab_file_t;

typedef struct ql_vtab_column {
    char         *name;       /* the SQL name: unique in the table, ignoring case */
    char         *src;        /* the Parquet name it reads (name may add _1, _2 …) */
    ql_pq_type_t  type;       /* from the first file that has it; TEXT for partition keys */
    int           part;       /* >= 0: index of the Hive partition key; -1: a Parquet column */
} ql_vtab_column_t;

typedef struct ql_vtab_table {
    char             *dir;
    ql_vtab_file_t   *files;   /* sorted by path */
    int               nfiles;
    ql_vtab_column_t *cols;    /* Parquet columns first, then partition keys */
    int               ncols;
    int               npart;   /* number of partition keys */
    int64_t           rows;    /* sum of the files' footers */
    uint64_t          bytes;   /* sum of file sizes */
} ql_vtab_table_t;

/* Opens the lake table at `dir`: lists its Parquet files (hidden files and
 * files superseded by compaction excluded), parses every footer and builds
 * the union schema. An empty directory is a table with no rows and no
 * columns but the partition keys found. The caller frees with
 * ql_vtab_table_free. The files stay open until then. */
int  ql_vtab_table_open(ql_vtab_table_t **out, const char *dir, char *err, size_t errlen);
void ql_vtab_table_free(ql_vtab_table_t *t);
/* Index of column `name` (exact match), -1 if none. */
int  ql_vtab_table_column(const ql_vtab_table_t *t, const char *name);
/* The smallest and largest value of TIMESTAMP column `name` over every row
 * group's statistics (no data read). Returns 1 and fills lo and hi (µs since
 * the epoch, UTC), or 0 when the column is absent or has no statistics. */
int  ql_vtab_table_time_range(const ql_vtab_table_t *t, const char *name, int64_t *lo, int64_t *hi);
/* Number of distinct partition-value combinations (0 when not partitioned). */
int  ql_vtab_table_partitions(const ql_vtab_table_t *t);
/* SQL type name of a column ("TEXT", "INTEGER", "REAL", "BLOB"). */
const char *ql_vtab_sql_type(ql_pq_type_t t);

/* Lists the table directories under `lake` (subdirectories holding Parquet
 * files, or empty ones; names sorted). Names starting with '.' are skipped;
 * names starting with '_' (e.g. `_rejected`) are included. The caller frees
 * each name and the array. */
int ql_vtab_list_tables(const char *lake, char ***names, int *n, char *err, size_t errlen);

/* ---- the SQLite module ------------------------------------------------- */

/* Row-group counters of one connection, summed over every scan since
 * registration (or the last ql_vtab_stats_reset). */
typedef struct ql_vtab_stats {
    int64_t files_scanned, files_skipped;   /* skipped: excluded by partition key or missing column */
    int64_t rg_scanned, rg_skipped;         /* skipped: excluded by statistics, a dictionary, or with their file */
    int64_t rg_skipped_dict;                /* of rg_skipped: by the chunk's dictionary (= filters) */
    int64_t rows_read;                      /* rows of scanned row groups */
} ql_vtab_stats_t;

/* Registers the module `questlog_parquet`, the collation QL_TIME and the SQL
 * function questlog_parquet_stats() (returns "row groups: scanned X, skipped Y"
 * for this connection) on db. Returns SQLITE_OK or an SQLite error code.
 * If stats is not NULL, *stats gets the connection's counters (owned by db,
 * valid until sqlite3_close). */
int ql_vtab_register(sqlite3 *db, ql_vtab_stats_t **stats);

/* Creates `CREATE VIRTUAL TABLE "name" USING questlog_parquet('LAKE/name')`
 * for every table directory of `lake` (see ql_vtab_list_tables). Returns 0
 * or < 0 with a message. */
int ql_vtab_attach_lake(sqlite3 *db, const char *lake, char *err, size_t errlen);

/* Opens an in-memory database set up for scans (temp store in memory, a
 * 128 MiB page cache so sorts for GROUP BY/ORDER BY stay in memory), with the
 * module registered and, if lake is not NULL, every lake table available
 * under its name — lazily: as an eponymous virtual table whose files are
 * listed and footers read when a statement first names it (so a statement
 * pays only for its own tables, and a damaged table fails only statements
 * that use it; such tables are not listed in sqlite_master).
 * *stats (may be NULL) as for ql_vtab_register. Caller closes *db (also
 * on error, when *db is not NULL). */
int ql_vtab_open_db(sqlite3 **db, const char *lake, ql_vtab_stats_t **stats, char *err, size_t errlen);

#endif
