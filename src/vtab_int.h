/*
 * vtab_int.h — private to the questlog_parquet module (src/vtab*.c): the
 * virtual table and cursor types every part shares, the per-row helpers
 * that must stay inlinable where they are used, and the functions one part
 * calls in another. Nothing outside src/vtab*.c includes it; the public
 * interface is vtab.h.
 *
 * The parts:
 *   vtab.c          the SQLite module (xConnect … xColumn), registration
 *   vtab_table.c    the lake table model: files, partitions, columns
 *   vtab_filter.c   filters: comparison under SQLite's rules (and the QL_TIME
 *                   collation), file / row-group / dictionary / row pruning
 *   vtab_scan.c     the streamed scan's walk over row groups, column decoding
 *                   on demand, strings pinned for SQLITE_STATIC
 *   vtab_prefetch.c the read-ahead thread of streamed scans
 *   vtab_group.c    grouped scans (GROUP BY / DISTINCT delivered grouped)
 *
 * Every part that calls SQLite is also compiled with -DQL_SQLITE_EXTENSION
 * into build/questlog_parquet.so; then SQLite is reached through the
 * sqlite3_api table, which vtab.c defines (SQLITE_EXTENSION_INIT1) and the
 * others declare (SQLITE_EXTENSION_INIT3, below).
 *
 * Threads (all functions below): the statement's thread, the one SQLite
 * calls the module on, unless said otherwise; a cursor and its table are
 * not shared between statements running at once (SQLite's rule). Helper
 * threads (vtab_prefetch.c, vtab_group.c's decode and gather pools) read
 * the table, the files and the cursor's filters and write only their own
 * result slots; they never call SQLite.
 * Errors: functions returning an SQLite code put the message into the
 * table's zErrMsg (sqlite3_mprintf'd, the previous one freed).
 *
 * Names: the types are the module's own (pq_vtab_t, pq_cursor_t, filt_t …,
 * no ql_ prefix: nothing outside src/vtab*.c sees them); functions with
 * external linkage are ql_vtab_*.
 */
#ifndef QL_VTAB_INT_H
#define QL_VTAB_INT_H

#ifdef QL_SQLITE_EXTENSION
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#else
#include <sqlite3.h>
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq.h"
#include "vtab.h"

/* ---- the table and its cursor ------------------------------------------- */

/* One connected lake table (xConnect … xDisconnect): sqlite3_malloc'd,
 * held by SQLite; owns t, uniform and the string pool. */
typedef struct pq_vtab {
    sqlite3_vtab     base;     /* must be first */
    ql_vtab_table_t *t;
    ql_vtab_stats_t *stats;
    uint8_t         *uniform;  /* per column: 1 if every file that has it has the table's type */
    /* Dictionary strings handed to SQLite as SQLITE_STATIC point into these
     * copies, which live until the table is disconnected: SQLite may keep
     * such a pointer in a register (a GROUP BY key, a max()) past the row,
     * the filter and even the cursor it came from. At most POOL_MAX bytes;
     * beyond, values are handed over as SQLITE_TRANSIENT (copied). */
    char           **pool;
    int              npool, cappool;
    size_t           pool_bytes;
} pq_vtab_t;

#define POOL_MAX ((size_t)64 << 20)   /* see pool above; ql_vtab_pin_dict keeps to it */

/* Ways a string goes to SQLite (loaded[] is 1 + one of these). */
enum { PIN_NO = 0,     /* SQLITE_TRANSIENT: SQLite copies it */
       PIN_LEN = 1,    /* SQLITE_STATIC with its length (it holds a NUL byte) */
       PIN_Z = 2 };    /* SQLITE_STATIC, NUL-terminated, length -1: SQLite can
                        * hand it out through sqlite3_column_text as it is
                        * (with a length it would copy it to add the NUL) */

/* A pushed-down constraint with its right-hand value. */
typedef struct filt {
    int     col, op;
    int     vtype;             /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, or 0 (unusable) */
    int64_t i;
    long double d;             /* numeric value (exact for any int64 too) */
    char   *s;                 /* text value (owned) */
    int     slen;
    int     has_us;            /* text parsed as an RFC 3339 instant */
    int64_t us;
    int     us_exact;          /* comparing instants gives QL_TIME's answer (see cmp_time) */
} filt_t;

/* Instants whose canonical text has a 4-digit year (0000..9999): there the
 * text round-trips and byte order is time order. */
#define TIME_SAFE_LO (-62167219200000000LL)  /* 0000-01-01T00:00:00Z */
#define TIME_SAFE_HI (253402300800000000LL)  /* 10000-01-01T00:00:00Z */

/* Whether op is a comparison the module pushes down (=, <, <=, >, >=). */
static inline int is_cmp_op(int op)
{
    return op == SQLITE_INDEX_CONSTRAINT_EQ || op == SQLITE_INDEX_CONSTRAINT_LT ||
           op == SQLITE_INDEX_CONSTRAINT_LE || op == SQLITE_INDEX_CONSTRAINT_GT ||
           op == SQLITE_INDEX_CONSTRAINT_GE;
}

/* One scan of a table (xOpen … xClose): sqlite3_malloc'd, held by SQLite;
 * owns its filters, decoded columns, mask, read-ahead helper (pf) and
 * grouped-scan state. The statement's thread changes it; helper threads
 * only read it (vtab_prefetch.c, vtab_group.c say what). */
typedef struct pq_cursor {
    sqlite3_vtab_cursor base;  /* must be first */
    filt_t  *filts;
    int      nfilts;
    int      file, rg;         /* current position; file == -1 before the first */
    int64_t  rg_rows, row;     /* rows in the current row group, current row in it */
    int64_t  rowid_base;
    int      eof;
    uint8_t **fdict;           /* per filter: verdict per dictionary entry of its column's
                                * current chunk (dictionary form), else NULL */
    uint8_t *mask;             /* per row of the current row group: may match (ql_vtab_match_rows) */
    size_t   mask_cap;
    struct prefetch *pf;       /* streamed scans: the next row group decoded ahead, or NULL */
    ql_pq_column_data_t *data; /* per table column: decoded chunk of the current row group */
    uint8_t *loaded;           /* per table column: data[c] holds the current row group (1 +
                                * PIN_*: how its strings go to SQLite, see
                                * ql_vtab_pin_dict) */
    /* Grouped scan (GROUP BY / DISTINCT consumed): every surviving row group's
     * used columns are held, and their values gathered into ecols in the
     * order rows are emitted (equal keys adjacent), so that emitting reads
     * memory in sequence. */
    int      grouped, ngcols, gcols[8], gdesc[8];
    uint64_t col_used;
    int      nheld, capheld;
    int     *held_file, *held_rg;
    ql_pq_column_data_t *held_data;   /* nheld * ncols */
    uint8_t *held_loaded;
    struct ecol *ecols;               /* per table column (kind NULL: not gathered) */
    int64_t  norder, pos;             /* rows to emit, current one */
    struct gtab *gt;                  /* the groups; a key column's value comes from here */
    int8_t  *keypos;                  /* per table column: its place in the key, or -1 */
    uint32_t *gperm, *gstart;         /* group id by rank; first output row by rank (+ end) */
    size_t   ngroups, grank;          /* groups; rank of the current row's group */
    uint64_t gend;                    /* gstart[grank + 1]: first row of the next group */
    const struct gval *gkey;          /* the current group's key values (gt->keys) */
    uint8_t  gpin;                    /* and how its strings go to SQLite (gt->stat) */
} pq_cursor_t;

/* One value as SQLite will see it: kind 0 = NULL (NaN too: SQLite turns a
 * NaN result into NULL), 1 = integer (i), 2 = double (d), 3 = bytes (s, n). */
typedef struct gval { int kind; int64_t i; double d; const char *s; size_t n; } gval_t;

/* The groups of a grouped scan: open addressing over their keys (ng values
 * each; strings point into held data, pinned dictionaries or partition
 * values, which outlive the table). */
typedef struct gtab {
    int       ng;            /* values per key */
    size_t    cap, n;        /* slots (a power of 2, at most half full), groups */
    uint64_t *slot_h;
    uint32_t *slot_g;        /* group id; UINT32_MAX = empty */
    gval_t   *keys;          /* n * ng */
    uint8_t  *stat;          /* per group: how its key's strings go to SQLite (PIN_*) */
    size_t    keys_cap;      /* groups keys has room for */
} gtab_t;

/* A gathered column: kind per row (EK_*), value, byte length of strings. */
enum { EK_NULL, EK_INT, EK_REAL, EK_TIME,
       EK_TEXT,             /* EK_TEXT + PIN_*: text */
       EK_BLOB = EK_TEXT + 3 /* EK_BLOB + PIN_*: a blob */ };
typedef union evalue { int64_t i; double d; const char *s; } evalue_t;
typedef struct ecol {
    uint8_t   *kind;
    evalue_t  *v;
    uint32_t  *len;   /* strings only */
} ecol_t;

/* Moves the grouped scan's current group forward to the one holding row
 * pos (pos < norder) and caches what pq_column needs of it. */
static inline void enter_group(pq_cursor_t *cur)
{
    while (cur->pos >= (int64_t)cur->gstart[cur->grank + 1]) cur->grank++;
    cur->gend = cur->gstart[cur->grank + 1];
    uint32_t g = cur->gperm[cur->grank];
    cur->gkey = &cur->gt->keys[(size_t)g * (size_t)cur->gt->ng];
    cur->gpin = cur->gt->stat[g];
}

/* ---- values (per row: inline where used) ------------------------------- */

/* Entry k of the value arrays (per-row arrays, or a dictionary's). */
static inline void val_at(ql_pq_type_t type, const int64_t *i64, const double *f64, const char *const *str,
                          const uint32_t *len, int64_t k, gval_t *v)
{
    switch (type) {
    case QL_PQ_STRING: case QL_PQ_BINARY: v->kind = 3; v->s = str[k]; v->n = len[k]; break;
    case QL_PQ_DOUBLE: case QL_PQ_FLOAT: v->d = f64[k]; v->kind = v->d == v->d ? 2 : 0; break;
    default: v->kind = 1; v->i = i64[k];
    }
}

/* Row r of a decoded chunk, in either form (ql_pq_read_column_dict). */
static inline void cell_get(const ql_pq_column_data_t *d, int64_t r, gval_t *v)
{
    if (r >= d->n || (d->valid && !d->valid[r])) { v->kind = 0; return; }
    if (d->idx) val_at(d->type, d->dict_i64, d->dict_f64, d->dict_str, d->dict_len, d->idx[r], v);
    else val_at(d->type, d->i64, d->f64, d->str, d->str_len, r, v);
}

/* Byte order of two strings, a shorter prefix first (BINARY collation). */
static inline int memcmp_len(const void *a, int na, const void *b, int nb)
{
    int c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    return c ? c : na - nb;
}

/* ---- vtab_filter.c: filters ---------------------------------------------- */

/* The QL_TIME collation (sqlite3_create_collation's callback; arg unused):
 * orders RFC 3339 texts by the instant they name, texts that are not times
 * by their bytes. Any thread. */
int ql_vtab_time_collate(void *arg, int na, const void *a, int nb, const void *b);
/* Sets up *f (any earlier content overwritten, not freed) as the filter
 * `column col (of type ty) op v`: v converted once for the comparisons
 * (text also read as an instant), vtype 0 when v's type class is not the
 * column's. Returns 1, or 0 when the filter is of no use (a comparison
 * without a usable value) and *f holds nothing to free. f->s is then owned
 * by the cursor (free_filts). */
int ql_vtab_filt_set(filt_t *f, int col, int op, sqlite3_value *v, ql_pq_type_t ty);

/* 1 if the partition values or missing columns of file f exclude every row
 * under the n filters fl (all true for none: 0). Reads t, f and fl only;
 * also called on the prefetch thread. */
int ql_vtab_file_excluded(const ql_vtab_table_t *t, const ql_vtab_file_t *f, const filt_t *fl, int n);
/* Whether row group rg of file f can be skipped under the n filters fl: 0
 * read it; 1 a chunk's statistics exclude it; 2 an = filter's value is not
 * in a chunk's dictionary (its dictionary page is read for that; a read
 * error counts as 0, the decode then reports it). Reads t, f and fl only;
 * also called on the prefetch thread. */
int ql_vtab_rg_excluded(const ql_vtab_table_t *t, const ql_vtab_file_t *f, int rg, const filt_t *fl, int n);
/* For each of cur's filters whose column is decoded in dictionary form in
 * data/loaded (per table column, a row group of file f): cur->fdict[i] =
 * the filter's verdict per dictionary entry (the previous array freed; the
 * cursor owns it); NULL for the other filters. */
void ql_vtab_dict_verdicts(pq_cursor_t *cur, const ql_pq_column_data_t *data, const uint8_t *loaded,
                           const ql_vtab_table_t *t, const ql_vtab_file_t *f);
/* mask[r] (r < rows; the caller's buffer) = 0 for the rows of that row
 * group for which some filter of cur is certainly false, 1 for the others;
 * after ql_vtab_dict_verdicts on the same row group. */
void ql_vtab_match_rows(const pq_cursor_t *cur, const ql_pq_column_data_t *data, const uint8_t *loaded,
                        const ql_vtab_table_t *t, const ql_vtab_file_t *f, size_t rows, uint8_t *mask);

/* ---- vtab_scan.c: the streamed scan -------------------------------------- */

/* Frees the decoded columns of cur's current row group (data[c], loaded[c]
 * cleared for c < ncols). */
void ql_vtab_unload(pq_cursor_t *cur, int ncols);
/* Copies the strings of the dictionary-form chunk d into vt's pool (owned
 * by vt, freed when the table is disconnected) when the pool has room, and
 * points d's dictionary at the copies. Returns how d's strings may go to
 * SQLite: PIN_Z or PIN_LEN if copied, else PIN_NO (also for other chunks). */
int ql_vtab_pin_dict(pq_vtab_t *vt, ql_pq_column_data_t *d);
/* Decodes table column c of cur's current row group unless loaded[c]
 * (absent from the file: nothing, the column reads as NULL). SQLITE_OK, or
 * SQLITE_ERROR with the message in the table's zErrMsg. */
int ql_vtab_load_col(pq_cursor_t *cur, int c);
/* Moves cur to the next row group that survives pruning (counting into the
 * connection's stats), eof when none; with `load`, takes what was decoded
 * ahead, starts the next read-ahead, decodes the filter columns and fills
 * cur->mask (ql_vtab_match_rows). SQLITE_OK or an error as ql_vtab_load_col. */
int ql_vtab_next_row_group(pq_cursor_t *cur, int load);

/* ---- vtab_prefetch.c: decoding ahead --------------------------------------- */

/* Asks for the row group after (file, rg) of t to be decoded ahead; starts
 * cur's helper thread on first use (never on one CPU, or if it cannot
 * start: then nothing is decoded ahead). */
void ql_vtab_prefetch_start(pq_cursor_t *cur, const ql_vtab_table_t *t, int file, int rg);
/* Waits for the read-ahead and, if it is for (file, rg), moves its columns
 * into cur's current row group (strings pinned as ql_vtab_load_col would).
 * SQLITE_OK also when there is nothing to take; SQLITE_ERROR (message in
 * the table's zErrMsg) when the read-ahead failed to decode. */
int ql_vtab_prefetch_take(pq_cursor_t *cur, const ql_vtab_table_t *t, int file, int rg);
/* Before cur's filters change: waits until no job runs, drops its result. */
void ql_vtab_prefetch_quiesce(pq_cursor_t *cur, int ncols);
/* Before cur goes: stops and joins the helper thread, frees it. */
void ql_vtab_prefetch_free(pq_cursor_t *cur, int ncols);

/* ---- vtab_group.c: grouped scans ------------------------------------------- */

/* Runs cur's whole grouped scan (cur->gcols set, position reset): decodes
 * what survives pruning and filters, groups it and leaves cur on the first
 * output row (or eof). SQLITE_OK, or SQLITE_ERROR with the message in the
 * table's zErrMsg (what was built is freed by ql_vtab_group_free). */
int ql_vtab_group_build(pq_cursor_t *cur);
/* Frees everything a grouped scan of cur built (held row groups, group
 * table, gathered columns) and clears cur->grouped. */
void ql_vtab_group_free(pq_cursor_t *cur, int ncols);

#endif
