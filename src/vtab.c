/*
 * vtab.c — the `questlog_parquet` SQLite virtual table over a lake table (a
 * directory of Parquet files), modelled on SQLite's ext/misc/csv.c; see
 * vtab.h for what it does and docs/query.md for how it is used.
 *
 * Built twice: into libquestlog (for `questlog query`), and with
 * -DQL_SQLITE_EXTENSION as build/questlog_parquet.so, a loadable extension
 * for the stock sqlite3 shell (then every SQLite call goes through the
 * sqlite3_api table of sqlite3ext.h).
 *
 * Scan: xFilter builds the list of filters it was given; the cursor walks the
 * files in path order and, in each, the row groups, skipping a file whose
 * partition keys (or missing columns) exclude every row and a row group whose
 * statistics do. Columns are decoded one row group at a time, each on first
 * use (so a filter column that rejects a whole row group spares decoding the
 * rest), in dictionary form where the chunk allows (ql_pq_read_column_dict);
 * a helper thread decodes the next surviving row group ahead (prefetch_t).
 * Invariant: a row is dropped by the cursor only when a filter is certainly
 * false for it under SQLite's own comparison rules; everything else is left
 * to SQLite, which evaluates the constraint again — except where the module
 * decides it exactly (exact_filter: then SQLite is told to omit it).
 * GROUP BY / DISTINCT: when SQLite only needs rows grouped, the whole
 * surviving scan is decoded (on two threads), grouped by hashing and handed
 * over group by group (build_groups). Strings go to SQLite without a copy
 * (SQLITE_STATIC) only when they live until the table is disconnected
 * (pin_dict, partition values).
 */
#ifdef QL_SQLITE_EXTENSION
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
#else
#include <sqlite3.h>
#endif

#include "vtab.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lake.h"
#include "util.h"

/* ---- listing files ----------------------------------------------------- */

typedef struct strvec {
    char **v;
    int    n, cap;
} strvec_t;

static void strvec_push(strvec_t *sv, char *s)
{
    if (sv->n == sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 16;
        sv->v = ql_realloc(sv->v, (size_t)sv->cap * sizeof *sv->v);
    }
    sv->v[sv->n++] = s;
}

static void strvec_free(strvec_t *sv)
{
    for (int i = 0; i < sv->n; i++) free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}


/* Lists the visible Parquet files of the table directory `dir` through the
 * lake's own listing (which hides files a compacted file covers). */
static int list_parquet(const char *dir, strvec_t *out, size_t *prefix_len, char *err, size_t errlen)
{
    char *copy = ql_strdup(dir);
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/') copy[--n] = 0;
    char *slash = strrchr(copy, '/');
    const char *parent, *table;
    if (!slash) { parent = "."; table = copy; }
    else if (slash == copy) { parent = "/"; table = copy + 1; }
    else { *slash = 0; parent = copy; table = slash + 1; }
    ql_lake_file_t *files = NULL;
    size_t nf = 0;
    int rc = ql_lake_list_files(parent, table, &files, &nf, err, errlen);
    /* The lister names files PARENT/TABLE/…: what follows is the Hive part. */
    *prefix_len = strlen(parent) + 1 + strlen(table) + 1;
    if (rc == 0)
        for (size_t i = 0; i < nf; i++) strvec_push(out, ql_strdup(files[i].path));
    ql_lake_files_free(files, nf);
    free(copy);
    return rc < 0 ? -1 : 0;
}

int ql_vtab_list_tables(const char *lake, char ***names, int *n, char *err, size_t errlen)
{
    char **v = NULL;
    size_t nv = 0;
    struct stat st;
    if (stat(lake, &st) != 0 || !S_ISDIR(st.st_mode)) return ql_err(err, errlen, "lake %s: not a directory", lake);
    if (ql_lake_list_tables(lake, &v, &nv, err, errlen) < 0) return -1;
    *names = ql_calloc(nv + 1, sizeof(char *));
    for (size_t i = 0; i < nv; i++) (*names)[i] = ql_strdup(v[i]);
    *n = (int)nv;
    ql_lake_tables_free(v, nv);
    return 0;
}

/* ---- lake tables ------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Hive escapes special characters in partition values as %XX. */
static char *unescape_part(const char *s, size_t len)
{
    char *o = ql_malloc(len + 1);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            o[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            o[j++] = s[i];
        }
    }
    o[j] = 0;
    return o;
}

/* The Hive partition directories ("key=value", key not empty) on a file's
 * path, for ql_vtab_table_open's two passes (collecting the keys, then each
 * file's values): rel starts at the path below the table's directory
 * (below_dir); each next_part_dir call moves to the next such directory and
 * points key/val into the path (not NUL-terminated), 0 when none is left.
 * The file name itself (after the last '/') is never a partition. */
typedef struct part_dir {
    const char *rel;
    const char *key, *val;
    size_t      klen, vlen;
} part_dir_t;

static const char *below_dir(const char *path, size_t dlen)
{
    const char *rel = strlen(path) > dlen ? path + dlen : path;
    while (*rel == '/') rel++;
    return rel;
}

static int next_part_dir(part_dir_t *pd)
{
    const char *slash;
    while ((slash = strchr(pd->rel, '/')) != NULL) {
        const char *name = pd->rel, *eq = memchr(name, '=', (size_t)(slash - name));
        pd->rel = slash + 1;
        if (eq && eq > name) {
            pd->key = name;
            pd->klen = (size_t)(eq - name);
            pd->val = eq + 1;
            pd->vlen = (size_t)(slash - eq - 1);
            return 1;
        }
    }
    return 0;
}

int ql_vtab_table_column(const ql_vtab_table_t *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0) return i;
    return -1;
}

int ql_vtab_table_time_range(const ql_vtab_table_t *t, const char *name, int64_t *lo, int64_t *hi)
{
    int found = 0;
    int c = ql_vtab_table_column(t, name);
    if (c < 0 || t->cols[c].type != QL_PQ_TIMESTAMP) return 0;
    for (int i = 0; i < t->nfiles; i++) {
        int fc = t->files[i].colmap[c];
        if (fc < 0 || ql_pq_column(t->files[i].pq, fc)->type != QL_PQ_TIMESTAMP) continue;
        for (int rg = 0; rg < ql_pq_num_row_groups(t->files[i].pq); rg++) {
            const ql_pq_chunk_info_t *ci = ql_pq_chunk(t->files[i].pq, rg, fc);
            if (!ci || !ci->min.is_set || !ci->max.is_set) continue;
            if (!found || ci->min.i < *lo) *lo = ci->min.i;
            if (!found || ci->max.i > *hi) *hi = ci->max.i;
            found = 1;
        }
    }
    return found;
}

int ql_vtab_table_partitions(const ql_vtab_table_t *t)
{
    int n = 0;
    if (!t->npart) return 0;
    for (int f = 0; f < t->nfiles; f++) {
        int seen = 0;
        for (int g = 0; g < f && !seen; g++) {
            int same = 1;
            for (int k = 0; k < t->npart && same; k++) {
                const char *a = t->files[f].part_vals[k], *b = t->files[g].part_vals[k];
                same = (!a && !b) || (a && b && strcmp(a, b) == 0);
            }
            seen = same;
        }
        if (!seen) n++;
    }
    return n;
}

const char *ql_vtab_sql_type(ql_pq_type_t t)
{
    switch (t) {
    case QL_PQ_INT64: case QL_PQ_INT32: case QL_PQ_BOOL: return "INTEGER";
    case QL_PQ_DOUBLE: case QL_PQ_FLOAT: return "REAL";
    case QL_PQ_BINARY: return "BLOB";
    default: return "TEXT";
    }
}

void ql_vtab_table_free(ql_vtab_table_t *t)
{
    if (!t) return;
    for (int i = 0; i < t->nfiles; i++) {
        ql_vtab_file_t *f = &t->files[i];
        free(f->path);
        if (f->pq) ql_pq_close(f->pq);
        if (f->part_vals)
            for (int k = 0; k < t->npart; k++) free(f->part_vals[k]);
        free(f->part_vals);
        free(f->colmap);
    }
    free(t->files);
    for (int i = 0; i < t->ncols; i++) free(t->cols[i].name);
    free(t->cols);
    free(t->dir);
    free(t);
}

/* Appends a column named name (copied) to t; *cap is t->cols' capacity,
 * grown as needed. part: the partition key's index, or -1 for a file column. */
static void add_column(ql_vtab_table_t *t, int *cap, const char *name, ql_pq_type_t type, int part)
{
    if (t->ncols == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        t->cols = ql_realloc(t->cols, (size_t)*cap * sizeof *t->cols);
    }
    t->cols[t->ncols].name = ql_strdup(name);
    t->cols[t->ncols].type = type;
    t->cols[t->ncols].part = part;
    t->ncols++;
}

int ql_vtab_table_open(ql_vtab_table_t **out, const char *dir, char *err, size_t errlen)
{
    int rc = 0;
    strvec_t paths = {0}, pkeys = {0};
    ql_vtab_table_t *t = ql_calloc(1, sizeof *t);
    t->dir = ql_strdup(dir);
    *out = NULL;

    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = ql_err(err, errlen, "%s: not a directory", dir);
        goto out;
    }
    size_t dlen = 0;
    if ((rc = list_parquet(dir, &paths, &dlen, err, errlen)) < 0) goto out;
    if (paths.n) qsort(paths.v, (size_t)paths.n, sizeof *paths.v, cmp_str);

    t->files = ql_calloc((size_t)paths.n + 1, sizeof *t->files);
    int cap_cols = 0;
    for (int i = 0; i < paths.n; i++) {
        ql_vtab_file_t *f = &t->files[t->nfiles];
        f->path = paths.v[i];
        paths.v[i] = NULL;
        t->nfiles++;
        char perr[256];
        if (ql_pq_open(&f->pq, f->path, perr, sizeof perr) < 0) {
            rc = ql_err(err, errlen, "%s: %s", f->path, perr);
            goto out;
        }
        if (stat(f->path, &st) == 0) f->bytes = (uint64_t)st.st_size;
        t->bytes += f->bytes;
        t->rows += ql_pq_num_rows(f->pq);
        /* Hive partition keys from the directories between dir and the file. */
        part_dir_t pd = {.rel = below_dir(f->path, dlen)};
        while (next_part_dir(&pd)) {
            char *key = ql_strndup(pd.key, pd.klen);
            int k;
            for (k = 0; k < pkeys.n && strcmp(pkeys.v[k], key) != 0; k++) {}
            if (k == pkeys.n) strvec_push(&pkeys, key); else free(key);
        }
        /* Union of columns by name, in order of first appearance. */
        int nc = ql_pq_num_columns(f->pq);
        for (int c = 0; c < nc; c++) {
            const ql_pq_column_info_t *ci = ql_pq_column(f->pq, c);
            if (ql_vtab_table_column(t, ci->name) < 0) add_column(t, &cap_cols, ci->name, ci->type, -1);
        }
    }
    /* Partition keys become trailing TEXT columns, unless a file column has the name. */
    t->npart = pkeys.n;
    for (int k = 0; k < pkeys.n; k++) {
        if (ql_vtab_table_column(t, pkeys.v[k]) < 0) add_column(t, &cap_cols, pkeys.v[k], QL_PQ_STRING, k);
    }
    for (int i = 0; i < t->nfiles; i++) {
        ql_vtab_file_t *f = &t->files[i];
        f->part_vals = ql_calloc((size_t)t->npart + 1, sizeof(char *));
        part_dir_t pd = {.rel = below_dir(f->path, dlen)};
        while (next_part_dir(&pd))
            for (int k = 0; k < t->npart; k++)
                if (strlen(pkeys.v[k]) == pd.klen && memcmp(pkeys.v[k], pd.key, pd.klen) == 0) {
                    free(f->part_vals[k]);
                    f->part_vals[k] = unescape_part(pd.val, pd.vlen);
                }
        f->colmap = ql_malloc(((size_t)t->ncols + 1) * sizeof(int));
        for (int c = 0; c < t->ncols; c++)
            f->colmap[c] = t->cols[c].part >= 0 ? -1 : ql_pq_column_index(f->pq, t->cols[c].name);
    }
    *out = t;
    t = NULL;
out:
    strvec_free(&paths);
    strvec_free(&pkeys);
    ql_vtab_table_free(t);
    return rc;
}

/* ---- the QL_TIME collation --------------------------------------------- */

/* Orders RFC 3339 texts by the instant they name. Two canonical values
 * (27 bytes, 'T' at 10, 'Z' at 26: what the module returns) compare byte by
 * byte, which is the same order and fast; otherwise both are parsed (see
 * parse_time), and if either is not a time the bytes decide. */
static int is_canonical_time(const char *s, int n)
{
    return n == 27 && s[10] == 'T' && s[26] == 'Z' && s[19] == '.';
}

static int memcmp_len(const void *a, int na, const void *b, int nb)
{
    int c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    return c ? c : na - nb;
}

/* RFC 3339, plus what people type in a WHERE clause: no zone means UTC
 * ("2026-11-21 20:00:00"), a bare date means its midnight UTC. */
static int parse_time(const char *s, int n, int64_t *us)
{
    if (ql_rfc3339_parse(s, (size_t)n, us) == 0) return 0;
    char buf[64];
    if (n == 10) {
        memcpy(buf, s, 10);
        memcpy(buf + 10, "T00:00:00Z", 10);
        return ql_rfc3339_parse(buf, 20, us);
    }
    if (n < 19 || n > 40 || s[n - 1] == 'Z' || s[n - 1] == 'z') return -1;
    memcpy(buf, s, (size_t)n);
    buf[n] = 'Z';
    return ql_rfc3339_parse(buf, (size_t)n + 1, us);
}

static int time_collate(void *arg, int na, const void *a, int nb, const void *b)
{
    (void)arg;
    if (!(is_canonical_time(a, na) && is_canonical_time(b, nb))) {
        int64_t ua, ub;
        if (parse_time(a, na, &ua) == 0 && parse_time(b, nb, &ub) == 0)
            return ua < ub ? -1 : ua > ub;
    }
    return memcmp_len(a, na, b, nb);
}

/* ---- module types ------------------------------------------------------ */

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

#define POOL_MAX ((size_t)64 << 20)

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
    uint8_t *mask;             /* per row of the current row group: may match (match_rows) */
    size_t   mask_cap;
    struct prefetch *pf;       /* streamed scans: the next row group decoded ahead, or NULL */
    ql_pq_column_data_t *data; /* per table column: decoded chunk of the current row group */
    uint8_t *loaded;           /* per table column: data[c] holds the current row group (1 +
                                * PIN_*: how its strings go to SQLite, see pin_dict) */
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

static void gtab_free(gtab_t *gt);

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
static void enter_group(pq_cursor_t *cur)
{
    while (cur->pos >= (int64_t)cur->gstart[cur->grank + 1]) cur->grank++;
    cur->gend = cur->gstart[cur->grank + 1];
    uint32_t g = cur->gperm[cur->grank];
    cur->gkey = &cur->gt->keys[(size_t)g * (size_t)cur->gt->ng];
    cur->gpin = cur->gt->stat[g];
}

/* idxStr: "<colUsed hex>;<col>:<op>,<col>:<op>,…|<gcol>a,<gcol>d,…" — the
 * constraints in argv order, then the GROUP BY/DISTINCT columns (a/d: the
 * order asked) when the grouping is consumed (empty otherwise). */

/* ---- values ------------------------------------------------------------ */


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

/* ---- comparisons ------------------------------------------------------- */

/* Sign of (stored value) - (filter value), or 2 when they cannot be compared
 * here the way SQLite would (different type classes). */
#define NOCMP 2

static int cmp_num(long double x, const filt_t *f)
{
    if (f->vtype != SQLITE_INTEGER && f->vtype != SQLITE_FLOAT) return NOCMP;
    return x < f->d ? -1 : x > f->d;
}

static int cmp_text(const char *s, size_t n, const filt_t *f)
{
    if (f->vtype != SQLITE_TEXT) return NOCMP;
    int c = memcmp_len(s, (int)n, f->s, f->slen);
    return c < 0 ? -1 : c > 0;
}

/* Instants whose canonical text has a 4-digit year (0000..9999): there the
 * text round-trips and byte order is time order. */
#define TIME_SAFE_LO (-62167219200000000LL)  /* 0000-01-01T00:00:00Z */
#define TIME_SAFE_HI (253402300800000000LL)  /* 10000-01-01T00:00:00Z */

/* Compares a stored timestamp (shown as its canonical text) with a text
 * filter exactly as the QL_TIME collation would. Fast path (no formatting):
 * the filter text parsed to an instant and us_exact holds — the collation
 * then compares instants too, because a canonical filter text round-trips
 * (so its byte order against canonical values is time order) and a
 * non-canonical one is parsed — for stored values in the safe range. */
static int cmp_time(int64_t us, const filt_t *f)
{
    if (f->vtype != SQLITE_TEXT) return NOCMP;
    if (f->us_exact && us >= TIME_SAFE_LO && us < TIME_SAFE_HI) return us < f->us ? -1 : us > f->us;
    char buf[QL_RFC3339_LEN];
    ql_rfc3339_format(us, buf);
    int c = time_collate(NULL, QL_RFC3339_LEN - 1, buf, f->slen, f->s);
    return c < 0 ? -1 : c > 0;
}

/* Whether the comparison result c (stored vs filter value) satisfies op. */
static int op_holds(int op, int c)
{
    switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return c == 0;
    case SQLITE_INDEX_CONSTRAINT_LT: return c < 0;
    case SQLITE_INDEX_CONSTRAINT_LE: return c <= 0;
    case SQLITE_INDEX_CONSTRAINT_GT: return c > 0;
    case SQLITE_INDEX_CONSTRAINT_GE: return c >= 0;
    default: return 1;
    }
}

static int is_cmp_op(int op)
{
    return op == SQLITE_INDEX_CONSTRAINT_EQ || op == SQLITE_INDEX_CONSTRAINT_LT ||
           op == SQLITE_INDEX_CONSTRAINT_LE || op == SQLITE_INDEX_CONSTRAINT_GT ||
           op == SQLITE_INDEX_CONSTRAINT_GE;
}

/* Compares a statistic (min or max) of type `type` with the filter. */
static int cmp_stat(ql_pq_type_t type, const ql_pq_value_t *v, const filt_t *f)
{
    if (!v->is_set) return NOCMP;
    if (type == QL_PQ_TIMESTAMP && (v->i < TIME_SAFE_LO || v->i >= TIME_SAFE_HI))
        return NOCMP;   /* text order there is not time order: min/max say nothing */
    switch (type) {
    case QL_PQ_INT64: case QL_PQ_INT32: case QL_PQ_BOOL: return cmp_num((long double)v->i, f);
    case QL_PQ_DOUBLE: case QL_PQ_FLOAT:
        if (v->d != v->d) return NOCMP;
        return cmp_num((long double)v->d, f);
    case QL_PQ_STRING: return cmp_text(v->s, v->len, f);
    case QL_PQ_TIMESTAMP: return cmp_time(v->i, f);
    default: return NOCMP;
    }
}

/* 1 if no row of the chunk can satisfy the filter. */
static int chunk_excludes(ql_pq_type_t type, const ql_pq_chunk_info_t *ci, const filt_t *f)
{
    if (!ci) return 0;
    int all_null = ci->null_count >= 0 && ci->null_count == ci->num_values && ci->num_values > 0;
    /* NaN is NULL to SQLite but not a null to Parquet: no IS NULL skipping for floats. */
    if (f->op == SQLITE_INDEX_CONSTRAINT_ISNULL)
        return ci->null_count == 0 && type != QL_PQ_DOUBLE && type != QL_PQ_FLOAT;
    if (f->op == SQLITE_INDEX_CONSTRAINT_ISNOTNULL) return all_null;
    if (!is_cmp_op(f->op) || !f->vtype) return 0;
    if (all_null) return 1;
    int cmin = cmp_stat(type, &ci->min, f), cmax = cmp_stat(type, &ci->max, f);
    if (cmin == NOCMP || cmax == NOCMP) return 0;
    switch (f->op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return cmin > 0 || cmax < 0;
    case SQLITE_INDEX_CONSTRAINT_LT: return cmin >= 0;
    case SQLITE_INDEX_CONSTRAINT_LE: return cmin > 0;
    case SQLITE_INDEX_CONSTRAINT_GT: return cmax <= 0;
    case SQLITE_INDEX_CONSTRAINT_GE: return cmax < 0;
    }
    return 0;
}

/* ---- xCreate / xConnect ------------------------------------------------ */

/* Removes SQL quotes ('x', "x", [x], `x`) in place, like csv.c's csv_trim_whitespace + dequote. */
static void dequote(char *z)
{
    char q = z[0];
    if (q == '[') q = ']';
    else if (q != '\'' && q != '"' && q != '`') return;
    size_t n = strlen(z), j = 0;
    if (n < 2 || z[n - 1] != q) return;
    for (size_t i = 1; i < n - 1; i++) {
        if (z[i] == q && z[i + 1] == q) i++;
        z[j++] = z[i];
    }
    z[j] = 0;
}

/* Opens the lake table in dir and declares its columns to SQLite. */
static int connect_dir(sqlite3 *db, ql_vtab_stats_t *stats, const char *dir, sqlite3_vtab **out, char **errmsg)
{
    int rc = SQLITE_OK;
    pq_vtab_t *vt = NULL;
    ql_vtab_table_t *t = NULL;
    char err[512];
    ql_buf_t sql = QL_BUF_INIT;
    *out = NULL;
    if (ql_vtab_table_open(&t, dir, err, sizeof err) < 0) {
        *errmsg = sqlite3_mprintf("questlog_parquet: %s", err);
        rc = SQLITE_ERROR;
        goto out;
    }
    ql_buf_puts(&sql, "CREATE TABLE x(");
    for (int c = 0; c < t->ncols; c++) {
        ql_buf_puts(&sql, c ? ", \"" : "\"");
        for (const char *p = t->cols[c].name; *p; p++) {
            if (*p == '"') ql_buf_putc(&sql, '"');
            ql_buf_putc(&sql, *p);
        }
        ql_buf_printf(&sql, "\" %s", ql_vtab_sql_type(t->cols[c].type));
        if (t->cols[c].type == QL_PQ_TIMESTAMP) ql_buf_puts(&sql, " COLLATE " QL_VTAB_TIME_COLLATION);
    }
    if (t->ncols == 0) ql_buf_puts(&sql, "\"_empty\" TEXT HIDDEN");
    ql_buf_puts(&sql, ")");
    rc = sqlite3_declare_vtab(db, sql.data);
    if (rc != SQLITE_OK) {
        *errmsg = sqlite3_mprintf("questlog_parquet: %s: %s", sql.data, sqlite3_errmsg(db));
        goto out;
    }
    vt = sqlite3_malloc(sizeof *vt);
    if (!vt) { rc = SQLITE_NOMEM; goto out; }
    memset(vt, 0, sizeof *vt);
    vt->uniform = ql_malloc((size_t)t->ncols + 1);
    for (int c = 0; c < t->ncols; c++) {
        vt->uniform[c] = 1;
        for (int f = 0; f < t->nfiles && t->cols[c].part < 0; f++) {
            int fc = t->files[f].colmap[c];
            if (fc >= 0 && ql_pq_column(t->files[f].pq, fc)->type != t->cols[c].type) vt->uniform[c] = 0;
        }
    }
    vt->t = t;
    vt->stats = stats;
    t = NULL;
    *out = &vt->base;
out:
    ql_vtab_table_free(t);
    ql_buf_free(&sql);
    return rc;
}

/* CREATE VIRTUAL TABLE x USING questlog_parquet('DIR'); aux: the counters. */
static int pq_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                      sqlite3_vtab **out, char **errmsg)
{
    *out = NULL;
    if (argc != 4) {
        *errmsg = sqlite3_mprintf("questlog_parquet: one argument expected: the table directory");
        return SQLITE_ERROR;
    }
    char *dir = ql_strdup(argv[3]);
    dequote(dir);
    int rc = connect_dir(db, aux, dir, out, errmsg);
    free(dir);
    return rc;
}

/* A lake table registered lazily (ql_vtab_open_db): an eponymous module
 * named like the table, connected the first time a statement names it. */
typedef struct lake_aux {
    sqlite3_module   mod;      /* pq_module, eponymous only (no xCreate); lives as long as the registration */
    ql_vtab_stats_t *stats;
    char            *dir;
} lake_aux_t;

static void lake_aux_free(void *p)
{
    lake_aux_t *a = p;
    if (a) free(a->dir);
    free(a);
}

static int pq_connect_lake(sqlite3 *db, void *aux, int argc, const char *const *argv,
                           sqlite3_vtab **out, char **errmsg)
{
    (void)argc; (void)argv;
    lake_aux_t *a = aux;
    return connect_dir(db, a->stats, a->dir, out, errmsg);
}

static int pq_disconnect(sqlite3_vtab *base)
{
    pq_vtab_t *vt = (pq_vtab_t *)base;
    ql_vtab_table_free(vt->t);
    free(vt->uniform);
    for (int i = 0; i < vt->npool; i++) free(vt->pool[i]);
    free(vt->pool);
    sqlite3_free(vt);
    return SQLITE_OK;
}

/* ---- xBestIndex -------------------------------------------------------- */

#define GROUPED_MAX_ROWS (32LL << 20)

/* Whether constraint i, once pushed down, is decided by the module exactly
 * as SQLite would decide it, so SQLite may skip it (omit): the column has
 * one type in every file (or is a partition key), and the right-hand side
 * is a constant whose type the scan compares itself — text against TEXT
 * (BINARY) or TIMESTAMP (QL_TIME) columns, a number against numeric ones.
 * Anything else (a bound parameter, '5' against an INTEGER column, IN,
 * BLOB columns) stays SQLite's to check. Invariant this relies on: for an
 * omitted constraint, file_excluded, rg_excluded and match_rows drop
 * exactly the rows for which it is not true. */
static int exact_filter(const pq_vtab_t *vt, sqlite3_index_info *ix, int i)
{
    const struct sqlite3_index_constraint *c = &ix->aConstraint[i];
    const ql_vtab_column_t *col = &vt->t->cols[c->iColumn];
    ql_pq_type_t ty = col->type;
    if (sqlite3_libversion_number() < 3038000 || ty == QL_PQ_BINARY) return 0;
    if (col->part < 0 && !vt->uniform[c->iColumn]) return 0;
    if (c->op == SQLITE_INDEX_CONSTRAINT_ISNULL || c->op == SQLITE_INDEX_CONSTRAINT_ISNOTNULL) return 1;
    sqlite3_value *v = NULL;
    if (sqlite3_vtab_rhs_value(ix, i, &v) != SQLITE_OK || !v) return 0;
    int vt_ = sqlite3_value_type(v);
    if (ty == QL_PQ_STRING || ty == QL_PQ_TIMESTAMP) return vt_ == SQLITE_TEXT;
    return vt_ == SQLITE_INTEGER || (vt_ == SQLITE_FLOAT && sqlite3_value_double(v) == sqlite3_value_double(v));
}

static int pq_best_index(sqlite3_vtab *base, sqlite3_index_info *ix)
{
    pq_vtab_t *vt = (pq_vtab_t *)base;
    ql_vtab_table_t *t = vt->t;
    ql_buf_t s = QL_BUF_INIT;
    int argv_i = 0;
    double rows = (double)(t->rows > 0 ? t->rows : 1);
    ql_buf_printf(&s, "%llx;", (unsigned long long)ix->colUsed);
    for (int i = 0; i < ix->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &ix->aConstraint[i];
        if (!c->usable || c->iColumn < 0 || c->iColumn >= t->ncols) continue;
        int op = c->op;
        if (!is_cmp_op(op) && op != SQLITE_INDEX_CONSTRAINT_ISNULL && op != SQLITE_INDEX_CONSTRAINT_ISNOTNULL)
            continue;
        if (is_cmp_op(op)) {
            /* Only with the collation our comparisons implement. */
            const char *coll = sqlite3_vtab_collation(ix, i);
            ql_pq_type_t ty = t->cols[c->iColumn].type;
            const char *want = ty == QL_PQ_TIMESTAMP ? QL_VTAB_TIME_COLLATION : "BINARY";
            if (ty != QL_PQ_INT64 && ty != QL_PQ_INT32 && ty != QL_PQ_BOOL && ty != QL_PQ_DOUBLE &&
                ty != QL_PQ_FLOAT && (!coll || sqlite3_stricmp(coll, want) != 0))
                continue;
        }
        ix->aConstraintUsage[i].argvIndex = ++argv_i;
        ix->aConstraintUsage[i].omit = (unsigned char)exact_filter(vt, ix, i);
        ql_buf_printf(&s, "%d:%d,", c->iColumn, op);
        rows /= op == SQLITE_INDEX_CONSTRAINT_EQ ? 10.0 : 3.0;
    }
    ql_buf_putc(&s, '|');
    /* GROUP BY / DISTINCT: rows need only come grouped (equal keys adjacent),
     * which a hash partition of the scan provides; then SQLite needs no sort.
     * Only for plain columns whose type is the same in every file (so equal
     * values have equal encodings) — SQLite passes an ORDER BY here only when
     * its collation is the column's own. */
    /* sqlite3_vtab_distinct exists from SQLite 3.38 (the shell may load us into an older one). */
    int distinct = sqlite3_libversion_number() >= 3038000 ? sqlite3_vtab_distinct(ix) : 0;
    /* The grouped scan holds the used columns of the whole table in memory:
     * only below GROUPED_MAX_ROWS rows; beyond, SQLite sorts (spilling to disk). */
    if ((distinct == 1 || distinct == 2) && ix->nOrderBy > 0 && ix->nOrderBy <= 8 && t->rows <= GROUPED_MAX_ROWS) {
        int okg = 1;
        for (int i = 0; i < ix->nOrderBy && okg; i++) {
            int c = ix->aOrderBy[i].iColumn;
            if (c < 0 || c >= t->ncols || t->cols[c].type == QL_PQ_FLOAT) { okg = 0; break; }
            if (t->cols[c].part >= 0) continue;
            for (int f = 0; f < t->nfiles && okg; f++) {
                int fc = t->files[f].colmap[c];
                if (fc >= 0 && ql_pq_column(t->files[f].pq, fc)->type != t->cols[c].type) okg = 0;
            }
        }
        if (okg) {
            for (int i = 0; i < ix->nOrderBy; i++)
                ql_buf_printf(&s, "%d%c,", ix->aOrderBy[i].iColumn, ix->aOrderBy[i].desc ? 'd' : 'a');
            ix->orderByConsumed = 1;
        }
    }
    ix->idxNum = argv_i;
    ix->idxStr = sqlite3_mprintf("%s", s.data);
    ix->needToFreeIdxStr = 1;
    ix->estimatedRows = (sqlite3_int64)(rows < 1 ? 1 : rows);
    ix->estimatedCost = rows * 10.0 + (double)t->nfiles;
    ql_buf_free(&s);
    return ix->idxStr ? SQLITE_OK : SQLITE_NOMEM;
}

/* ---- cursor ------------------------------------------------------------ */

static int pq_open(sqlite3_vtab *base, sqlite3_vtab_cursor **out)
{
    pq_vtab_t *vt = (pq_vtab_t *)base;
    pq_cursor_t *cur = sqlite3_malloc(sizeof *cur);
    if (!cur) return SQLITE_NOMEM;
    memset(cur, 0, sizeof *cur);
    int n = vt->t->ncols + 1;
    cur->data = ql_calloc((size_t)n, sizeof *cur->data);
    cur->loaded = ql_calloc((size_t)n, 1);
    cur->eof = 1;
    *out = &cur->base;
    return SQLITE_OK;
}

static void unload(pq_cursor_t *cur, int ncols)
{
    for (int c = 0; c < ncols; c++)
        if (cur->loaded[c]) {
            ql_pq_column_data_free(&cur->data[c]);
            memset(&cur->data[c], 0, sizeof cur->data[c]);
            cur->loaded[c] = 0;
        }
}

static void free_filts(pq_cursor_t *cur)
{
    for (int i = 0; i < cur->nfilts; i++) {
        free(cur->filts[i].s);
        if (cur->fdict) free(cur->fdict[i]);
    }
    free(cur->fdict);
    cur->fdict = NULL;
    free(cur->filts);
    cur->filts = NULL;
    cur->nfilts = 0;
}

static void free_held(pq_cursor_t *cur, int ncols)
{
    for (int k = 0; k < cur->nheld; k++)
        for (int c = 0; c < ncols; c++)
            if (cur->held_loaded[(size_t)k * ncols + c]) ql_pq_column_data_free(&cur->held_data[(size_t)k * ncols + c]);
    free(cur->held_file);
    free(cur->held_rg);
    free(cur->held_data);
    free(cur->held_loaded);
    for (int c = 0; cur->ecols && c < ncols; c++) {
        free(cur->ecols[c].kind);
        free(cur->ecols[c].v);
        free(cur->ecols[c].len);
    }
    free(cur->ecols);
    cur->ecols = NULL;
    if (cur->gt) {
        gtab_free(cur->gt);
        free(cur->gt);
        cur->gt = NULL;
    }
    free(cur->keypos);
    free(cur->gperm);
    free(cur->gstart);
    cur->keypos = NULL;
    cur->gperm = cur->gstart = NULL;
    cur->ngroups = cur->grank = 0;
    cur->held_file = cur->held_rg = NULL;
    cur->held_data = NULL;
    cur->held_loaded = NULL;
    cur->nheld = cur->capheld = 0;
    cur->norder = cur->pos = 0;
    cur->grouped = 0;
}

static void pf_free(pq_cursor_t *cur, int ncols);

static int pq_close(sqlite3_vtab_cursor *base)
{
    pq_cursor_t *cur = (pq_cursor_t *)base;
    pq_vtab_t *vt = (pq_vtab_t *)base->pVtab;
    pf_free(cur, vt->t->ncols);
    free_held(cur, vt->t->ncols);
    unload(cur, vt->t->ncols);
    free_filts(cur);
    free(cur->data);
    free(cur->loaded);
    free(cur->mask);
    sqlite3_free(cur);
    return SQLITE_OK;
}

/* Ways a string goes to SQLite (loaded[] is 1 + one of these). */
enum { PIN_NO = 0,     /* SQLITE_TRANSIENT: SQLite copies it */
       PIN_LEN = 1,    /* SQLITE_STATIC with its length (it holds a NUL byte) */
       PIN_Z = 2 };    /* SQLITE_STATIC, NUL-terminated, length -1: SQLite can
                        * hand it out through sqlite3_column_text as it is
                        * (with a length it would copy it to add the NUL) */

/* Copies the strings of a dictionary-form chunk into the table's pool (see
 * pq_vtab_t), each followed by a NUL byte, when the pool has room, and
 * points the dictionary at the copies: PIN_Z or PIN_LEN if done, else
 * PIN_NO. */
static int pin_dict(pq_vtab_t *vt, ql_pq_column_data_t *d)
{
    if (!d->idx || d->dict_n == 0 || (d->type != QL_PQ_STRING && d->type != QL_PQ_BINARY)) return PIN_NO;
    size_t total = 0;
    for (int64_t k = 0; k < d->dict_n; k++) total += d->dict_len[k];
    if (vt->pool_bytes + total + (size_t)d->dict_n > POOL_MAX) return PIN_NO;
    char *block = ql_malloc(total + (size_t)d->dict_n + 1), *o = block;
    int nul = 0;
    for (int64_t k = 0; k < d->dict_n; k++) {
        memcpy(o, d->dict_str[k], d->dict_len[k]);
        if (!nul && memchr(o, 0, d->dict_len[k])) nul = 1;
        d->dict_str[k] = o;
        o += d->dict_len[k];
        *o++ = 0;
    }
    if (vt->npool == vt->cappool) {
        vt->cappool = vt->cappool ? vt->cappool * 2 : 64;
        vt->pool = ql_realloc(vt->pool, (size_t)vt->cappool * sizeof *vt->pool);
    }
    vt->pool[vt->npool++] = block;
    vt->pool_bytes += total + (size_t)d->dict_n;
    return nul || d->type == QL_PQ_BINARY ? PIN_LEN : PIN_Z;
}

/* Hands the string s as text (or a blob) to SQLite, passed as pin says. */
static void result_bytes(sqlite3_context *ctx, int blob, const char *s, size_t n, int pin)
{
    sqlite3_destructor_type how = pin == PIN_NO ? SQLITE_TRANSIENT : SQLITE_STATIC;
    if (blob) sqlite3_result_blob(ctx, s, (int)n, how);
    else sqlite3_result_text(ctx, s, pin == PIN_Z ? -1 : (int)n, how);
}

/* Decodes column c of the current row group if not yet done. loaded[c]
 * becomes 1 + pin_dict's answer. */
static int load_col(pq_cursor_t *cur, int c)
{
    pq_vtab_t *vt = (pq_vtab_t *)cur->base.pVtab;
    if (cur->loaded[c]) return SQLITE_OK;
    ql_vtab_file_t *f = &vt->t->files[cur->file];
    int fc = f->colmap[c];
    if (fc < 0) return SQLITE_OK;   /* absent: NULL */
    char err[256];
    if (ql_pq_read_column_dict(f->pq, cur->rg, fc, &cur->data[c], err, sizeof err) < 0) {
        sqlite3_free(vt->base.zErrMsg);
        vt->base.zErrMsg = sqlite3_mprintf("%s: row group %d column %s: %s", f->path, cur->rg,
                                           vt->t->cols[c].name, err);
        return SQLITE_ERROR;
    }
    cur->loaded[c] = (uint8_t)(1 + pin_dict(vt, &cur->data[c]));
    return SQLITE_OK;
}

/* 1 if the file's partition values or missing columns exclude every row. */
static int file_excluded(const ql_vtab_table_t *t, const ql_vtab_file_t *f, const filt_t *fl, int n)
{
    for (int i = 0; i < n; i++) {
        const filt_t *x = &fl[i];
        const ql_vtab_column_t *col = &t->cols[x->col];
        if (col->part >= 0) {
            const char *v = f->part_vals[col->part];
            if (x->op == SQLITE_INDEX_CONSTRAINT_ISNULL) { if (v) return 1; continue; }
            if (x->op == SQLITE_INDEX_CONSTRAINT_ISNOTNULL) { if (!v) return 1; continue; }
            if (!v) return 1;
            int c = cmp_text(v, strlen(v), x);
            if (c != NOCMP && !op_holds(x->op, c)) return 1;
        } else if (f->colmap[x->col] < 0) {
            /* every value NULL: only IS NULL can hold */
            if (x->op != SQLITE_INDEX_CONSTRAINT_ISNULL) return 1;
        }
    }
    return 0;
}

/* An equality filter on a dictionary-encoded chunk: 1 when the value is not
 * in the chunk's dictionary (so no row can match). Decodes only the
 * dictionary page; 0 when nothing can be concluded. */
static int dict_excludes(ql_pq_file_t *pq, int rg, int fc, ql_pq_type_t type, const filt_t *x)
{
    if (x->op != SQLITE_INDEX_CONSTRAINT_EQ || !x->vtype) return 0;
    int text = type == QL_PQ_STRING, ints = type == QL_PQ_INT64 || type == QL_PQ_INT32 || type == QL_PQ_TIMESTAMP;
    if (!(text && x->vtype == SQLITE_TEXT) && !(ints && x->vtype == SQLITE_INTEGER) &&
        !(type == QL_PQ_TIMESTAMP && x->has_us))
        return 0;
    ql_pq_column_data_t d;
    char err[160];
    memset(&d, 0, sizeof d);
    int found = 0, rc = ql_pq_read_dictionary(pq, rg, fc, &d, err, sizeof err);
    if (rc == 1) {
        for (int64_t i = 0; i < d.n && !found; i++) {
            if (text) found = cmp_text(d.str[i], d.str_len[i], x) == 0;
            else if (type == QL_PQ_TIMESTAMP) found = cmp_time(d.i64[i], x) == 0;
            else found = d.i64[i] == x->i;
        }
    }
    ql_pq_column_data_free(&d);
    return rc == 1 && !found;   /* errors: leave it to the decode, which reports them */
}

/* 0: read the row group; 1: statistics exclude it; 2: a dictionary does. */
static int rg_excluded(const ql_vtab_table_t *t, const ql_vtab_file_t *f, int rg, const filt_t *fl, int n)
{
    for (int i = 0; i < n; i++) {
        const filt_t *x = &fl[i];
        int fc = f->colmap[x->col];
        if (t->cols[x->col].part >= 0 || fc < 0) continue;
        ql_pq_type_t ft = ql_pq_column(f->pq, fc)->type;
        if (ft != t->cols[x->col].type) continue;   /* types differ across files: no pushdown */
        if (chunk_excludes(ft, ql_pq_chunk(f->pq, rg, fc), x)) return 1;
    }
    for (int i = 0; i < n; i++) {   /* then the dearer check */
        const filt_t *x = &fl[i];
        int fc = f->colmap[x->col];
        if (t->cols[x->col].part >= 0 || fc < 0) continue;
        ql_pq_type_t ft = ql_pq_column(f->pq, fc)->type;
        if (ft == t->cols[x->col].type && dict_excludes(f->pq, rg, fc, ft, x)) return 2;
    }
    return 0;
}

/* 1 unless filter x is certainly false for the value v of a column of type
 * `type` (the comparison SQLite makes, see cmp_*). */
static int val_may_match(ql_pq_type_t type, const gval_t *v, const filt_t *x)
{
    if (x->op == SQLITE_INDEX_CONSTRAINT_ISNULL) return v->kind == 0;
    if (x->op == SQLITE_INDEX_CONSTRAINT_ISNOTNULL) return v->kind != 0;
    if (!x->vtype) return 1;
    if (v->kind == 0) return 0;   /* NULL op anything is not true */
    int k;
    switch (type) {
    case QL_PQ_INT64: case QL_PQ_INT32: case QL_PQ_BOOL: k = cmp_num((long double)v->i, x); break;
    case QL_PQ_DOUBLE: case QL_PQ_FLOAT: k = cmp_num((long double)v->d, x); break;
    case QL_PQ_STRING: k = cmp_text(v->s, v->n, x); break;
    case QL_PQ_TIMESTAMP: k = cmp_time(v->i, x); break;
    default: k = NOCMP;
    }
    return k == NOCMP || op_holds(x->op, k);
}

/* Whether filter i is checked on a row group's rows (decoded columns
 * `data`, flags `loaded`, of file f): its column is a Parquet column of this
 * file, decoded, with the table's type. */
static int filt_applies(const pq_cursor_t *cur, const uint8_t *loaded, const ql_vtab_table_t *t,
                        const ql_vtab_file_t *f, int i)
{
    int c = cur->filts[i].col;
    return loaded[c] && t->cols[c].part < 0 && ql_pq_column(f->pq, f->colmap[c])->type == t->cols[c].type;
}

/* For the filters whose column came in dictionary form: the verdict for
 * each dictionary entry, once per row group instead of once per row. */
static void dict_verdicts(pq_cursor_t *cur, const ql_pq_column_data_t *data, const uint8_t *loaded,
                          const ql_vtab_table_t *t, const ql_vtab_file_t *f)
{
    for (int i = 0; i < cur->nfilts; i++) {
        free(cur->fdict[i]);
        cur->fdict[i] = NULL;
        const ql_pq_column_data_t *d = &data[cur->filts[i].col];
        if (!filt_applies(cur, loaded, t, f, i) || !d->idx) continue;
        cur->fdict[i] = ql_malloc((size_t)d->dict_n + 1);
        for (int64_t k = 0; k < d->dict_n; k++) {
            gval_t v;
            val_at(d->type, d->dict_i64, d->dict_f64, d->dict_str, d->dict_len, k, &v);
            cur->fdict[i][k] = (uint8_t)val_may_match(d->type, &v, &cur->filts[i]);
        }
    }
}

/* mask[r] = 0 for the rows of a row group (as for filt_applies, `rows`
 * rows, verdicts from dict_verdicts) for which some filter is certainly
 * false; 1 for the others. Filter by filter, column-wise. */
static void match_rows(const pq_cursor_t *cur, const ql_pq_column_data_t *data, const uint8_t *loaded,
                       const ql_vtab_table_t *t, const ql_vtab_file_t *f, size_t rows, uint8_t *mask)
{
    memset(mask, 1, rows);
    for (int i = 0; i < cur->nfilts; i++) {
        const filt_t *x = &cur->filts[i];
        const ql_pq_column_data_t *d = &data[x->col];
        if (cur->fdict[i]) {
            const uint8_t *fd = cur->fdict[i], nullv = x->op == SQLITE_INDEX_CONSTRAINT_ISNULL;
            for (size_t r = 0; r < rows; r++) mask[r] &= d->valid[r] ? fd[d->idx[r]] : nullv;
            continue;
        }
        if (!filt_applies(cur, loaded, t, f, i)) continue;
        /* Integers and timestamps against a value compared as an integer:
         * a plain loop (outside the safe range, timestamps take the general path). */
        int ts = d->type == QL_PQ_TIMESTAMP && x->vtype == SQLITE_TEXT && x->us_exact;
        int in = (d->type == QL_PQ_INT64 || d->type == QL_PQ_INT32 || d->type == QL_PQ_BOOL) && x->vtype == SQLITE_INTEGER;
        if (!d->idx && d->i64 && is_cmp_op(x->op) && (ts || in)) {
            int64_t u = ts ? x->us : x->i;
            int64_t lo = ts ? TIME_SAFE_LO : INT64_MIN, hi = ts ? TIME_SAFE_HI : INT64_MAX;
            uint8_t lt = (uint8_t)op_holds(x->op, -1), eq = (uint8_t)op_holds(x->op, 0), gt = (uint8_t)op_holds(x->op, 1);
            for (size_t r = 0; r < rows; r++) {
                if (!mask[r]) continue;
                int64_t v = d->i64[r];
                if (!d->valid[r]) mask[r] = 0;
                else if (v >= lo && v < hi) mask[r] = v < u ? lt : v > u ? gt : eq;
                else {
                    gval_t g = {.kind = 1, .i = v};
                    mask[r] = (uint8_t)val_may_match(d->type, &g, x);
                }
            }
            continue;
        }
        for (size_t r = 0; r < rows; r++) {
            if (!mask[r]) continue;
            gval_t v;
            cell_get(d, (int64_t)r, &v);
            mask[r] = (uint8_t)val_may_match(d->type, &v, x);
        }
    }
}

/* ---- decoding ahead (streamed scans) ------------------------------------ */

/* While SQLite consumes row group N, a helper thread finds the next row
 * group that survives pruning and decodes its filter and used columns.
 * The helper reads only the table, the files and the cursor's filters,
 * which do not change while a job runs (pf_quiesce before xFilter replaces
 * them or xClose frees them); it touches nothing of SQLite, the string pool
 * or the counters, and hands its columns over under the mutex. */
typedef struct prefetch {
    pthread_t        th;
    pthread_mutex_t  mu;
    pthread_cond_t   cv;
    int              job, busy, quit;   /* a job is asked for / running; the thread must end */
    int              from_file, from_rg;/* job: the first surviving row group after this one */
    int              file, rg;          /* result (file == nfiles: none left) */
    ql_pq_column_data_t *data;          /* result columns (ncols) */
    uint8_t         *loaded;
    int              rc;
    char             err[512];
    pq_cursor_t     *cur;
} prefetch_t;

static void pf_discard(prefetch_t *p, int ncols)
{
    for (int c = 0; c < ncols; c++)
        if (p->loaded[c]) {
            ql_pq_column_data_free(&p->data[c]);
            p->loaded[c] = 0;
        }
    p->rc = 0;
}

static void pf_work(prefetch_t *p)
{
    pq_cursor_t *cur = p->cur;
    const ql_vtab_table_t *t = ((pq_vtab_t *)cur->base.pVtab)->t;
    int file = p->from_file, rg = p->from_rg;
    /* the walk of next_row_group, without its counters */
    for (;;) {
        if (file >= 0 && file < t->nfiles) {
            const ql_vtab_file_t *f = &t->files[file];
            int nrg = ql_pq_num_row_groups(f->pq);
            for (rg++; rg < nrg; rg++) {
                int64_t n = ql_pq_row_group_rows(f->pq, rg);
                if (n > 0 && !rg_excluded(t, f, rg, cur->filts, cur->nfilts)) break;
            }
            if (rg < nrg) break;
        }
        file++;
        rg = -1;
        if (file >= t->nfiles) break;
        if (file_excluded(t, &t->files[file], cur->filts, cur->nfilts)) rg = INT32_MAX - 1;
    }
    p->file = file;
    p->rg = rg;
    if (file >= t->nfiles) return;
    const ql_vtab_file_t *f = &t->files[file];
    for (int c = 0; c < t->ncols && p->rc == 0; c++) {
        int want = (int)((cur->col_used >> (c < 63 ? c : 63)) & 1);
        for (int i = 0; i < cur->nfilts && !want; i++) want = cur->filts[i].col == c;
        if (!want || t->cols[c].part >= 0 || f->colmap[c] < 0) continue;
        char err[256];
        if (ql_pq_read_column_dict(f->pq, rg, f->colmap[c], &p->data[c], err, sizeof err) < 0) {
            p->rc = -1;
            snprintf(p->err, sizeof p->err, "%s: row group %d column %s: %s", f->path, rg, t->cols[c].name, err);
        } else {
            p->loaded[c] = 1;
        }
    }
}

static void *pf_main(void *arg)
{
    prefetch_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->job && !p->quit) pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit) break;
        p->busy = 1;
        pthread_mutex_unlock(&p->mu);
        pf_work(p);
        pthread_mutex_lock(&p->mu);
        p->busy = 0;
        p->job = 0;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Waits until no job is running or asked for. */
static void pf_wait(prefetch_t *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->job || p->busy) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* Before the filters change or the cursor goes: no job left, results dropped. */
static void pf_quiesce(pq_cursor_t *cur, int ncols)
{
    if (!cur->pf) return;
    pf_wait(cur->pf);
    pf_discard(cur->pf, ncols);
    cur->pf->file = -1;
}

/* Frees a helper that is not running (joined, or never started). */
static void pf_destroy(prefetch_t *p)
{
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->data);
    free(p->loaded);
    free(p);
}

static void pf_free(pq_cursor_t *cur, int ncols)
{
    prefetch_t *p = cur->pf;
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    pf_discard(p, ncols);
    pf_destroy(p);
    cur->pf = NULL;
}

/* Asks for the row group after (file, rg) to be decoded ahead; starts the
 * helper on first use (not at all on one CPU, or if it cannot start). */
static void pf_start(pq_cursor_t *cur, const ql_vtab_table_t *t, int file, int rg)
{
    if (!cur->pf) {
        if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
        prefetch_t *p = ql_calloc(1, sizeof *p);
        p->cur = cur;
        p->file = -1;
        p->data = ql_calloc((size_t)t->ncols + 1, sizeof *p->data);
        p->loaded = ql_calloc((size_t)t->ncols + 1, 1);
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->cv, NULL);
        if (pthread_create(&p->th, NULL, pf_main, p) != 0) {
            pf_destroy(p);
            return;
        }
        cur->pf = p;
    }
    prefetch_t *p = cur->pf;
    pf_wait(p);
    pf_discard(p, t->ncols);
    pthread_mutex_lock(&p->mu);
    p->from_file = file;
    p->from_rg = rg;
    p->file = -1;
    p->job = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Takes the decoded-ahead columns if they are for (file, rg): into the
 * cursor's current row group (strings pinned as load_col would). SQLITE_OK
 * also when there is nothing to take; SQLITE_ERROR on a decode error. */
static int pf_take(pq_cursor_t *cur, const ql_vtab_table_t *t, int file, int rg)
{
    prefetch_t *p = cur->pf;
    if (!p) return SQLITE_OK;
    pf_wait(p);
    if (p->file != file || p->rg != rg) return SQLITE_OK;
    if (p->rc) {
        pq_vtab_t *vt = (pq_vtab_t *)cur->base.pVtab;
        sqlite3_free(vt->base.zErrMsg);
        vt->base.zErrMsg = sqlite3_mprintf("%s", p->err);
        pf_discard(p, t->ncols);
        return SQLITE_ERROR;
    }
    pq_vtab_t *vt = (pq_vtab_t *)cur->base.pVtab;
    for (int c = 0; c < t->ncols; c++)
        if (p->loaded[c] && !cur->loaded[c]) {
            cur->data[c] = p->data[c];
            memset(&p->data[c], 0, sizeof p->data[c]);
            p->loaded[c] = 0;
            cur->loaded[c] = (uint8_t)(1 + pin_dict(vt, &cur->data[c]));
        }
    pf_discard(p, t->ncols);
    return SQLITE_OK;
}

/* Moves to the next row group that survives pruning; eof when none. With
 * `load`, decodes its filter columns (they decide the rows). */
static int next_row_group(pq_cursor_t *cur, int load)
{
    pq_vtab_t *vt = (pq_vtab_t *)cur->base.pVtab;
    ql_vtab_table_t *t = vt->t;
    ql_vtab_stats_t *st = vt->stats;
    unload(cur, t->ncols);
    for (;;) {
        if (cur->file >= 0 && cur->file < t->nfiles) {
            ql_vtab_file_t *f = &t->files[cur->file];
            cur->rowid_base += cur->rg_rows;
            cur->rg_rows = 0;
            cur->rg++;
            int nrg = ql_pq_num_row_groups(f->pq);
            while (cur->rg < nrg) {
                int64_t n = ql_pq_row_group_rows(f->pq, cur->rg);
                int ex = n > 0 ? rg_excluded(t, f, cur->rg, cur->filts, cur->nfilts) : 1;
                if (ex == 2 && st) st->rg_skipped_dict++;
                if (!ex) {
                    if (st) { st->rg_scanned++; st->rows_read += n; }
                    cur->rg_rows = n;
                    cur->row = 0;
                    if (load) {   /* what was decoded ahead, and the next one started */
                        int rc = pf_take(cur, t, cur->file, cur->rg);
                        if (rc != SQLITE_OK) return rc;
                        if (cur->col_used || cur->nfilts) pf_start(cur, t, cur->file, cur->rg);
                    }
                    for (int i = 0; i < cur->nfilts && load; i++) {
                        int rc = load_col(cur, cur->filts[i].col);
                        if (rc != SQLITE_OK) return rc;
                    }
                    if (load && cur->nfilts) {
                        dict_verdicts(cur, cur->data, cur->loaded, t, f);
                        if ((size_t)n > cur->mask_cap) {
                            cur->mask_cap = (size_t)n;
                            free(cur->mask);
                            cur->mask = ql_malloc(cur->mask_cap);
                        }
                        match_rows(cur, cur->data, cur->loaded, t, f, (size_t)n, cur->mask);
                    }
                    return SQLITE_OK;
                }
                if (st) st->rg_skipped++;
                cur->rowid_base += n;
                cur->rg++;
            }
        }
        /* next file */
        cur->file++;
        cur->rg = -1;
        cur->rg_rows = 0;
        if (cur->file >= t->nfiles) { cur->eof = 1; return SQLITE_OK; }
        ql_vtab_file_t *f = &t->files[cur->file];
        if (file_excluded(t, f, cur->filts, cur->nfilts)) {
            if (st) { st->files_skipped++; st->rg_skipped += ql_pq_num_row_groups(f->pq); }
            cur->rowid_base += ql_pq_num_rows(f->pq);
            cur->rg = ql_pq_num_row_groups(f->pq);   /* consumed: the next turn moves on */
            continue;
        }
        if (st) st->files_scanned++;
    }
}

/* Advances until a row that may match, or eof. */
static int advance(pq_cursor_t *cur)
{
    for (;;) {
        cur->row++;
        if (cur->row >= cur->rg_rows) {
            int rc = next_row_group(cur, 1);
            if (rc != SQLITE_OK) return rc;
            if (cur->eof) return SQLITE_OK;
        }
        if (!cur->nfilts || cur->mask[cur->row]) return SQLITE_OK;
    }
}


/* ---- grouped scan ------------------------------------------------------ */

static int col_is_used(const pq_cursor_t *cur, int c)
{
    return (int)((cur->col_used >> (c < 63 ? c : 63)) & 1);
}

static uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n, v;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&v, p, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    v = 0;
    memcpy(&v, p, n);
    h = (h ^ v) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

/* One grouping value of held row group k, row r. (-0.0 and 0.0 hash apart
 * and so make two groups, but compare equal, so they end up adjacent — one
 * group to SQLite — and each row keeps its own value.) */
static void get_gval(const pq_cursor_t *cur, const ql_vtab_table_t *t, int k, int64_t r, int c, gval_t *v)
{
    memset(v, 0, sizeof *v);
    if (t->cols[c].part >= 0) {
        const char *pv = t->files[cur->held_file[k]].part_vals[t->cols[c].part];
        if (pv) { v->kind = 3; v->s = pv; v->n = strlen(pv); }
        return;
    }
    size_t at = (size_t)k * (size_t)t->ncols + (size_t)c;
    if (!cur->held_loaded[at]) return;
    cell_get(&cur->held_data[at], r, v);
}

static uint64_t gkey_hash(const gval_t *v, int ng)
{
    uint64_t h = 0x243f6a8885a308d3ull;
    for (int g = 0; g < ng; g++) {
        uint64_t x = 0;
        if (v[g].kind == 1) x = (uint64_t)v[g].i;
        else if (v[g].kind == 2) memcpy(&x, &v[g].d, 8);
        else if (v[g].kind == 3) x = hash_bytes(v[g].s, v[g].n);
        h = mix64(h, x ^ ((uint64_t)v[g].kind << 61));
    }
    return h;
}

static int gkey_eq(const gval_t *a, const gval_t *b, int ng)
{
    for (int g = 0; g < ng; g++) {
        if (a[g].kind != b[g].kind) return 0;
        if (a[g].kind == 1 && a[g].i != b[g].i) return 0;
        if (a[g].kind == 2 && a[g].d != b[g].d) return 0;
        if (a[g].kind == 3 && (a[g].n != b[g].n || memcmp(a[g].s, b[g].s, a[g].n) != 0)) return 0;
    }
    return 1;
}

static void gtab_init(gtab_t *gt, int ng)
{
    memset(gt, 0, sizeof *gt);
    gt->ng = ng;
    gt->cap = 1024;
    gt->slot_h = ql_calloc(gt->cap, sizeof *gt->slot_h);
    gt->slot_g = ql_malloc(gt->cap * sizeof *gt->slot_g);
    memset(gt->slot_g, 0xff, gt->cap * sizeof *gt->slot_g);
}

static void gtab_free(gtab_t *gt)
{
    free(gt->slot_h);
    free(gt->slot_g);
    free(gt->keys);
    free(gt->stat);
}

/* The group of key (ng values), added if new (st: how its strings go to
 * SQLite, PIN_*). */
static uint32_t gtab_group(gtab_t *gt, const gval_t *key, int st)
{
    uint64_t h = gkey_hash(key, gt->ng);
    size_t j = h & (gt->cap - 1);
    while (gt->slot_g[j] != UINT32_MAX) {
        if (gt->slot_h[j] == h && gkey_eq(&gt->keys[(size_t)gt->slot_g[j] * gt->ng], key, gt->ng)) return gt->slot_g[j];
        j = (j + 1) & (gt->cap - 1);
    }
    if (gt->n == gt->keys_cap) {
        gt->keys_cap = gt->keys_cap ? gt->keys_cap * 2 : 256;
        gt->keys = ql_realloc(gt->keys, gt->keys_cap * (size_t)gt->ng * sizeof *gt->keys);
        gt->stat = ql_realloc(gt->stat, gt->keys_cap);
    }
    memcpy(&gt->keys[gt->n * gt->ng], key, (size_t)gt->ng * sizeof *key);
    gt->stat[gt->n] = (uint8_t)st;
    uint32_t g = (uint32_t)gt->n++;
    gt->slot_g[j] = g;
    gt->slot_h[j] = h;
    if (gt->n * 2 > gt->cap) {   /* grow: rehash, keep the load at most 1/2 */
        size_t ncap = gt->cap * 2;
        uint64_t *nh = ql_calloc(ncap, sizeof *nh);
        uint32_t *ng = ql_malloc(ncap * sizeof *ng);
        memset(ng, 0xff, ncap * sizeof *ng);
        for (size_t q = 0; q < gt->cap; q++) {
            if (gt->slot_g[q] == UINT32_MAX) continue;
            size_t z = gt->slot_h[q] & (ncap - 1);
            while (ng[z] != UINT32_MAX) z = (z + 1) & (ncap - 1);
            ng[z] = gt->slot_g[q];
            nh[z] = gt->slot_h[q];
        }
        free(gt->slot_h);
        free(gt->slot_g);
        gt->slot_h = nh;
        gt->slot_g = ng;
        gt->cap = ncap;
    }
    return g;
}

/* SQLite's order for one column of uniform type: NULL first, then by value
 * (BINARY for text, which is also QL_TIME's order for canonical timestamps). */
static int gval_cmp(const gval_t *a, const gval_t *b)
{
    if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
    switch (a->kind) {
    case 1: return a->i < b->i ? -1 : a->i > b->i;
    case 2: return a->d < b->d ? -1 : a->d > b->d;
    case 3: return memcmp_len(a->s, (int)a->n, b->s, (int)b->n);
    default: return 0;
    }
}

typedef struct gsort_ctx { const gtab_t *gt; const int *desc; } gsort_ctx_t;

static int group_cmp(const void *pa, const void *pb, void *arg)
{
    const gsort_ctx_t *x = arg;
    const gval_t *ka = &x->gt->keys[(size_t)*(const uint32_t *)pa * x->gt->ng];
    const gval_t *kb = &x->gt->keys[(size_t)*(const uint32_t *)pb * x->gt->ng];
    for (int g = 0; g < x->gt->ng; g++) {
        int c = gval_cmp(&ka[g], &kb[g]);
        if (c) return x->desc[g] ? -c : c;
    }
    return 0;
}

/* ---- decoding held row groups on two threads ---------------------------- */

/* Column chunks to decode: (held row group k, table column c). Worker
 * threads only read the Parquet files (a reader handle may be shared, see
 * pq.h) and each writes its own held_data/held_loaded slots; nothing of
 * SQLite is touched off the statement's thread. */
typedef struct dtask { int k, c; } dtask_t;

typedef struct dpool {
    pq_cursor_t           *cur;
    const ql_vtab_table_t *t;
    const dtask_t         *tasks;
    int                    ntasks;
    int                    next;   /* next task to take (atomic) */
    pthread_mutex_t        mu;     /* guards rc, err */
    int                    rc;
    char                   err[512];
} dpool_t;

static void *dpool_run(void *arg)
{
    dpool_t *p = arg;
    pq_cursor_t *cur = p->cur;
    for (;;) {
        int i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (i >= p->ntasks) return NULL;
        int k = p->tasks[i].k, c = p->tasks[i].c;
        size_t at = (size_t)k * (size_t)p->t->ncols + (size_t)c;
        const ql_vtab_file_t *f = &p->t->files[cur->held_file[k]];
        char err[256];
        if (ql_pq_read_column_dict(f->pq, cur->held_rg[k], f->colmap[c], &cur->held_data[at], err, sizeof err) < 0) {
            pthread_mutex_lock(&p->mu);
            if (!p->rc) {
                p->rc = -1;
                snprintf(p->err, sizeof p->err, "%s: row group %d column %s: %s", f->path, cur->held_rg[k],
                         p->t->cols[c].name, err);
            }
            pthread_mutex_unlock(&p->mu);
        } else {
            cur->held_loaded[at] = 1;
        }
    }
}

/* Decodes the tasks' chunks, on this thread and one more when there are two
 * CPUs and enough work. SQLITE_ERROR (message in the vtab) on a decode error. */
static int decode_held(pq_cursor_t *cur, const ql_vtab_table_t *t, const dtask_t *tasks, int n)
{
    dpool_t p = {.cur = cur, .t = t, .tasks = tasks, .ntasks = n};
    pthread_t th;
    int helper = 0;
    pthread_mutex_init(&p.mu, NULL);
    if (n > 1 && sysconf(_SC_NPROCESSORS_ONLN) > 1) helper = pthread_create(&th, NULL, dpool_run, &p) == 0;
    dpool_run(&p);
    if (helper) pthread_join(th, NULL);
    pthread_mutex_destroy(&p.mu);
    if (p.rc) {
        pq_vtab_t *vt = (pq_vtab_t *)cur->base.pVtab;
        sqlite3_free(vt->base.zErrMsg);
        vt->base.zErrMsg = sqlite3_mprintf("%s", p.err);
        return SQLITE_ERROR;
    }
    return SQLITE_OK;
}

/* Adds the current row group to the held set, nothing decoded yet. */
static void hold_row_group(pq_cursor_t *cur, const ql_vtab_table_t *t)
{
    int nc = t->ncols;
    if (cur->nheld == cur->capheld) {
        cur->capheld = cur->capheld ? cur->capheld * 2 : 16;
        cur->held_file = ql_realloc(cur->held_file, (size_t)cur->capheld * sizeof(int));
        cur->held_rg = ql_realloc(cur->held_rg, (size_t)cur->capheld * sizeof(int));
        cur->held_data = ql_realloc(cur->held_data, (size_t)cur->capheld * (size_t)nc * sizeof *cur->held_data);
        cur->held_loaded = ql_realloc(cur->held_loaded, (size_t)cur->capheld * (size_t)nc);
    }
    int k = cur->nheld++;
    cur->held_file[k] = cur->file;
    cur->held_rg[k] = cur->rg;
    memset(&cur->held_data[(size_t)k * nc], 0, (size_t)nc * sizeof *cur->held_data);
    memset(&cur->held_loaded[(size_t)k * nc], 0, (size_t)nc);
}

/* Tasks for the columns of held row groups [0, nheld) that `want` selects
 * (a Parquet column of that file, not yet decoded); skip[k] excludes k. */
static int held_tasks(const pq_cursor_t *cur, const ql_vtab_table_t *t, const uint8_t *want, const uint8_t *skip,
                      dtask_t **tasks)
{
    int n = 0, nc = t->ncols;
    *tasks = ql_malloc(((size_t)cur->nheld * (size_t)nc + 1) * sizeof **tasks);
    for (int k = 0; k < cur->nheld; k++) {
        if (skip && skip[k]) continue;
        const ql_vtab_file_t *f = &t->files[cur->held_file[k]];
        for (int c = 0; c < nc; c++)
            if (want[c] && t->cols[c].part < 0 && f->colmap[c] >= 0 && !cur->held_loaded[(size_t)k * nc + c])
                (*tasks)[n++] = (dtask_t){k, c};
    }
    return n;
}

/* The rows a grouped scan emits, in held order: those of held row group k
 * are at [kstart(k), kend[k]); row i is row refs[i] & 0xffffffff of its row
 * group, or, without filters (refs NULL), row i - kstart(k). */
typedef struct hrows {
    const uint64_t *refs;
    const size_t   *kend;
    size_t          n;
} hrows_t;

static size_t kstart(const hrows_t *h, int k) { return k ? h->kend[k - 1] : 0; }
static int64_t hrow(const hrows_t *h, size_t from, size_t i)
{
    return h->refs ? (int64_t)(h->refs[i] & 0xffffffffu) : (int64_t)(i - from);
}

/* Gathers column c's values of the rows h into e, row i at position
 * dest[i]: the source is read in sequence, the writes go to one stream per
 * group. Pinned dictionary strings and partition values (which live as
 * long as the table) may be handed to SQLite as SQLITE_STATIC.
 * gather_alloc sizes e for every row; gather_rg fills in held row group k's
 * rows. Different k write different positions (dest is a permutation), so
 * row groups may be gathered on different threads. */
static void gather_alloc(const pq_cursor_t *cur, const ql_vtab_table_t *t, int c, size_t n, ecol_t *e)
{
    ql_pq_type_t ty = t->cols[c].type;
    int strings = ty == QL_PQ_STRING || ty == QL_PQ_BINARY || t->cols[c].part >= 0;
    e->kind = ql_malloc(n ? n : 1);
    e->v = ql_malloc((n ? n : 1) * sizeof *e->v);
    e->len = strings || !((pq_vtab_t *)cur->base.pVtab)->uniform[c] ? ql_malloc((n ? n : 1) * sizeof *e->len) : NULL;
}

static void gather_rg(const pq_cursor_t *cur, const ql_vtab_table_t *t, int c, const hrows_t *h,
                      const uint32_t *dest, ecol_t *e, int k)
{
    int nc = t->ncols;
    size_t from = kstart(h, k), end = h->kend[k], i = from;
    if (t->cols[c].part >= 0) {
        const char *pv = t->files[cur->held_file[k]].part_vals[t->cols[c].part];
        uint32_t pl = pv ? (uint32_t)strlen(pv) : 0;
        for (; i < end; i++) {
            uint32_t o = dest[i];
            e->kind[o] = pv ? EK_TEXT + PIN_Z : EK_NULL;
            e->v[o].s = pv;
            e->len[o] = pl;
        }
        return;
    }
    size_t at = (size_t)k * (size_t)nc + (size_t)c;
    const ql_pq_column_data_t *d = &cur->held_data[at];
    if (!cur->held_loaded[at]) {
        for (; i < end; i++) e->kind[dest[i]] = EK_NULL;
        return;
    }
    int pin = cur->held_loaded[at] - 1;
    for (; i < end; i++) {
        uint32_t o = dest[i];
        gval_t g;
        cell_get(d, hrow(h, from, i), &g);
        switch (g.kind) {
        case 1: e->kind[o] = d->type == QL_PQ_TIMESTAMP ? EK_TIME : EK_INT; e->v[o].i = g.i; break;
        case 2: e->kind[o] = EK_REAL; e->v[o].d = g.d; break;
        case 3:
            e->kind[o] = (uint8_t)((d->type == QL_PQ_BINARY ? EK_BLOB : EK_TEXT) + pin);
            e->v[o].s = g.s;
            e->len[o] = (uint32_t)g.n;
            break;
        default: e->kind[o] = EK_NULL;
        }
    }
}

/* The gathering of every used non-key column, held row group by row group,
 * taken in turn by this thread and (for enough rows on two CPUs) a helper.
 * Both only read the held data and write their row groups' positions of
 * the ecols; nothing of SQLite is touched. */
typedef struct gpool {
    const pq_cursor_t     *cur;
    const ql_vtab_table_t *t;
    const hrows_t         *h;
    const uint32_t        *dest;
    const uint8_t         *cols;   /* per table column: gather it */
    int                    next;   /* next held row group to take (atomic) */
} gpool_t;

static void *gpool_run(void *arg)
{
    gpool_t *p = arg;
    for (;;) {
        int k = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (k >= p->cur->nheld) return NULL;
        for (int c = 0; c < p->t->ncols; c++)
            if (p->cols[c]) gather_rg(p->cur, p->t, c, p->h, p->dest, &p->cur->ecols[c], k);
    }
}

static void gather_all(pq_cursor_t *cur, const ql_vtab_table_t *t, const hrows_t *h, const uint32_t *dest,
                       const uint8_t *cols)
{
    for (int c = 0; c < t->ncols; c++)
        if (cols[c]) gather_alloc(cur, t, c, h->n, &cur->ecols[c]);
    gpool_t p = {.cur = cur, .t = t, .h = h, .dest = dest, .cols = cols};
    pthread_t th;
    int helper = 0;
    if (cur->nheld > 1 && h->n >= 8192 && sysconf(_SC_NPROCESSORS_ONLN) > 1)
        helper = pthread_create(&th, NULL, gpool_run, &p) == 0;
    gpool_run(&p);
    if (helper) pthread_join(th, NULL);
}

/* Counts per group id, grown with the group table. */
typedef struct gcount { uint32_t *n; size_t cap; } gcount_t;

static void gcount_add(gcount_t *gc, uint32_t g)
{
    if (g >= gc->cap) {
        size_t ncap = gc->cap ? gc->cap : 256;
        while (g >= ncap) ncap *= 2;
        gc->n = ql_realloc(gc->n, ncap * sizeof *gc->n);
        memset(gc->n + gc->cap, 0, (ncap - gc->cap) * sizeof *gc->n);
        gc->cap = ncap;
    }
    gc->n[g]++;
}

/* The groups of the rows of held row group k: into rowg[i] when rowg is
 * given (values are gathered later), always counted in gc. One grouping
 * column in dictionary form: each dictionary entry is looked up once and
 * rows map through their index; otherwise each row's key is hashed. */
static void group_rows(pq_cursor_t *cur, const ql_vtab_table_t *t, gtab_t *gt, int k, const hrows_t *h,
                       uint32_t *rowg, gcount_t *gc)
{
    int c0 = cur->gcols[0];
    size_t from = kstart(h, k), to = h->kend[k];
    size_t at = (size_t)k * (size_t)t->ncols + (size_t)c0;
    const ql_pq_column_data_t *d = &cur->held_data[at];
    if (cur->ngcols == 1 && t->cols[c0].part < 0 && cur->held_loaded[at] && d->idx) {
        int st = cur->held_loaded[at] - 1;
        uint32_t *map = ql_malloc(((size_t)d->dict_n + 1) * sizeof *map), nullg = UINT32_MAX;
        uint32_t *cnt = ql_calloc((size_t)d->dict_n + 1, sizeof *cnt), nnull = 0;
        for (int64_t e = 0; e < d->dict_n; e++) {
            gval_t v;
            val_at(d->type, d->dict_i64, d->dict_f64, d->dict_str, d->dict_len, e, &v);
            map[e] = gtab_group(gt, &v, st);
        }
        for (size_t i = from; i < to; i++) {
            int64_t r = hrow(h, from, i);
            if (d->valid[r]) {
                cnt[d->idx[r]]++;
                if (rowg) rowg[i] = map[d->idx[r]];
            } else {
                if (nullg == UINT32_MAX) {
                    gval_t v = {0};
                    nullg = gtab_group(gt, &v, 1);
                }
                nnull++;
                if (rowg) rowg[i] = nullg;
            }
        }
        for (int64_t e = 0; e < d->dict_n; e++)
            if (cnt[e]) {
                gcount_add(gc, map[e]);
                gc->n[map[e]] += cnt[e] - 1;
            }
        if (nnull) {
            gcount_add(gc, nullg);
            gc->n[nullg] += nnull - 1;
        }
        free(map);
        free(cnt);
        return;
    }
    gval_t key[8];
    for (size_t i = from; i < to; i++) {
        int64_t r = hrow(h, from, i);
        int st = PIN_Z;   /* partition values are C strings the table owns */
        for (int g = 0; g < cur->ngcols; g++) {
            int c = cur->gcols[g];
            get_gval(cur, t, k, r, c, &key[g]);
            int pin = t->cols[c].part >= 0 ? PIN_Z : cur->held_loaded[(size_t)k * t->ncols + c] - 1;
            if (key[g].kind == 3 && pin < st) st = pin;
        }
        uint32_t g = gtab_group(gt, key, st);
        gcount_add(gc, g);
        if (rowg) rowg[i] = g;
    }
}

/* Scans everything that survives pruning and filters, then orders the rows
 * so that equal grouping keys are adjacent (hash grouping + counting sort by
 * the groups' key order). Decoding — the filter columns of every surviving
 * row group, then the other columns of those where some row may match —
 * runs on two threads. The key columns' values are served from the group
 * table (equal within a group); only the other used columns are gathered
 * into output order, and without those no per-row order is built at all. */
static int build_groups(pq_cursor_t *cur)
{
    pq_vtab_t *vt = (pq_vtab_t *)cur->base.pVtab;
    ql_vtab_table_t *t = vt->t;
    int rc = SQLITE_OK, nc = t->ncols, ntasks, ngather = 0;
    uint64_t *refs = NULL;
    uint32_t *rowg = NULL, *rank = NULL;
    size_t nrefs = 0, caprefs = 0, *kend = NULL;
    uint8_t *want = ql_calloc((size_t)nc + 1, 1), *empty = NULL;
    dtask_t *tasks = NULL;
    gcount_t gc = {0};
    cur->gt = ql_malloc(sizeof *cur->gt);
    gtab_init(cur->gt, cur->ngcols);
    cur->keypos = ql_malloc((size_t)nc + 1);
    memset(cur->keypos, -1, (size_t)nc + 1);
    for (int g = 0; g < cur->ngcols; g++) cur->keypos[cur->gcols[g]] = (int8_t)g;
    /* 1. the row groups that survive pruning */
    cur->row = -1;
    for (;;) {
        if ((rc = next_row_group(cur, 0)) != SQLITE_OK) goto out;
        if (cur->eof) break;
        hold_row_group(cur, t);
        cur->row = cur->rg_rows;   /* consumed */
    }
    /* 2. their filter columns */
    for (int i = 0; i < cur->nfilts; i++) want[cur->filts[i].col] = 1;
    ntasks = held_tasks(cur, t, want, NULL, &tasks);
    if ((rc = decode_held(cur, t, tasks, ntasks)) != SQLITE_OK) goto out;
    /* 3. the rows that may match */
    kend = ql_malloc(((size_t)cur->nheld + 1) * sizeof *kend);
    empty = ql_calloc((size_t)cur->nheld + 1, 1);
    for (int k = 0; k < cur->nheld; k++) {
        const ql_vtab_file_t *f = &t->files[cur->held_file[k]];
        const ql_pq_column_data_t *data = &cur->held_data[(size_t)k * nc];
        const uint8_t *loaded = &cur->held_loaded[(size_t)k * nc];
        size_t rows = (size_t)ql_pq_row_group_rows(f->pq, cur->held_rg[k]), first = nrefs;
        if (!cur->nfilts) {
            nrefs += rows;
            kend[k] = nrefs;
            continue;
        }
        if (nrefs + rows > caprefs) {
            while (nrefs + rows > caprefs) caprefs = caprefs ? caprefs * 2 : 65536;
            refs = ql_realloc(refs, caprefs * sizeof *refs);
        }
        if (rows > cur->mask_cap) {
            cur->mask_cap = rows;
            free(cur->mask);
            cur->mask = ql_malloc(cur->mask_cap);
        }
        dict_verdicts(cur, data, loaded, t, f);
        match_rows(cur, data, loaded, t, f, rows, cur->mask);
        for (size_t r = 0; r < rows; r++)
            if (cur->mask[r]) refs[nrefs++] = ((uint64_t)k << 32) | (uint64_t)r;
        kend[k] = nrefs;
        if (nrefs == first) {   /* nothing to keep */
            empty[k] = 1;
            for (int c = 0; c < nc; c++)
                if (cur->held_loaded[(size_t)k * nc + c]) {
                    ql_pq_column_data_free(&cur->held_data[(size_t)k * nc + c]);
                    cur->held_loaded[(size_t)k * nc + c] = 0;
                }
        }
    }
    hrows_t h = {refs, kend, nrefs};
    /* 4. the other columns the statement uses, where some row may match */
    for (int c = 0; c < nc; c++) {
        want[c] = (uint8_t)col_is_used(cur, c);
        if (want[c] && cur->keypos[c] < 0) ngather++;
    }
    for (int g = 0; g < cur->ngcols; g++) want[cur->gcols[g]] = 1;
    free(tasks);
    ntasks = held_tasks(cur, t, want, empty, &tasks);
    if ((rc = decode_held(cur, t, tasks, ntasks)) != SQLITE_OK) goto out;
    /* 5. strings pinned (see pin_dict), rows' groups */
    if (ngather) rowg = ql_malloc((nrefs ? nrefs : 1) * sizeof *rowg);
    for (int k = 0; k < cur->nheld; k++) {
        if (empty[k]) continue;
        for (int c = 0; c < nc; c++) {
            size_t at = (size_t)k * nc + c;
            if (cur->held_loaded[at]) cur->held_loaded[at] = (uint8_t)(1 + pin_dict(vt, &cur->held_data[at]));
        }
        group_rows(cur, t, cur->gt, k, &h, rowg, &gc);
    }
    /* 6. groups in key order (SQLite 3.40 may also rely on the grouping for
     * a matching ORDER BY); each group's first output row */
    size_t ngroups = cur->gt->n;
    gcount_add(&gc, (uint32_t)ngroups);   /* room for every group id */
    cur->ngroups = ngroups;
    cur->gperm = ql_malloc((ngroups + 1) * sizeof *cur->gperm);
    cur->gstart = ql_malloc((ngroups + 1) * sizeof *cur->gstart);
    rank = ql_malloc((ngroups + 1) * sizeof *rank);
    for (size_t g = 0; g < ngroups; g++) cur->gperm[g] = (uint32_t)g;
    gsort_ctx_t ctx = {cur->gt, cur->gdesc};
    qsort_r(cur->gperm, ngroups, sizeof *cur->gperm, group_cmp, &ctx);
    uint32_t at = 0;
    for (size_t q = 0; q < ngroups; q++) {
        rank[cur->gperm[q]] = (uint32_t)q;
        cur->gstart[q] = at;
        at += gc.n[cur->gperm[q]];
    }
    cur->gstart[ngroups] = at;
    /* 7. the other used columns, gathered in output order (a counting sort) */
    if (ngather) {
        uint32_t *next = ql_malloc((ngroups + 1) * sizeof *next);
        for (size_t g = 0; g < ngroups; g++) next[g] = cur->gstart[rank[g]];
        for (size_t i = 0; i < nrefs; i++) rowg[i] = next[rowg[i]]++;   /* now: the row's place in the output */
        free(next);
        cur->ecols = ql_calloc((size_t)nc + 1, sizeof *cur->ecols);
        for (int c = 0; c < nc; c++) want[c] = want[c] && cur->keypos[c] < 0;   /* now: gather it */
        gather_all(cur, t, &h, rowg, want);
    }
    cur->norder = (int64_t)nrefs;
    cur->pos = 0;
    cur->grank = 0;
    cur->eof = nrefs == 0;
    if (!cur->eof) enter_group(cur);
out:
    free(refs);
    free(rowg);
    free(rank);
    free(gc.n);
    free(kend);
    free(want);
    free(empty);
    free(tasks);
    return rc;
}

static int pq_filter(sqlite3_vtab_cursor *base, int idx_num, const char *idx_str, int argc, sqlite3_value **argv)
{
    pq_cursor_t *cur = (pq_cursor_t *)base;
    pq_vtab_t *vt = (pq_vtab_t *)base->pVtab;
    (void)idx_num;
    pf_quiesce(cur, vt->t->ncols);
    free_held(cur, vt->t->ncols);
    unload(cur, vt->t->ncols);
    free_filts(cur);
    cur->col_used = idx_str ? strtoull(idx_str, NULL, 16) : ~0ull;
    const char *gp = idx_str ? strchr(idx_str, '|') : NULL;
    cur->ngcols = 0;
    for (gp = gp ? gp + 1 : NULL; gp && *gp && cur->ngcols < 8;) {
        char *end;
        long c = strtol(gp, &end, 10);
        if (end == gp || (*end != 'a' && *end != 'd') || end[1] != ',' || c < 0 || c >= vt->t->ncols) break;
        cur->gdesc[cur->ngcols] = *end == 'd';
        cur->gcols[cur->ngcols++] = (int)c;
        gp = end + 2;
    }
    const char *p = idx_str ? strchr(idx_str, ';') : NULL;
    if (argc > 0 && p) {
        cur->filts = ql_calloc((size_t)argc, sizeof *cur->filts);
        cur->fdict = ql_calloc((size_t)argc, sizeof *cur->fdict);
        p++;
        for (int i = 0; i < argc && *p; i++) {
            char *end;
            long col = strtol(p, &end, 10);
            if (*end != ':') break;
            long op = strtol(end + 1, &end, 10);
            if (*end != ',') break;
            p = end + 1;
            filt_t *f = &cur->filts[cur->nfilts++];
            f->col = (int)col;
            f->op = (int)op;
            sqlite3_value *v = argv[i];
            switch (sqlite3_value_type(v)) {
            case SQLITE_INTEGER:
                f->vtype = SQLITE_INTEGER;
                f->i = sqlite3_value_int64(v);
                f->d = (long double)f->i;
                break;
            case SQLITE_FLOAT: {
                double d = sqlite3_value_double(v);
                if (d == d) { f->vtype = SQLITE_FLOAT; f->d = d; }
                break;
            }
            case SQLITE_TEXT: {
                const char *s = (const char *)sqlite3_value_text(v);
                int n = sqlite3_value_bytes(v);
                if (!s) break;
                f->vtype = SQLITE_TEXT;
                f->s = ql_strndup(s, (size_t)n);
                f->slen = n;
                f->has_us = parse_time(s, n, &f->us) == 0;
                if (f->has_us && f->us >= TIME_SAFE_LO && f->us < TIME_SAFE_HI) {
                    char canon[QL_RFC3339_LEN];
                    ql_rfc3339_format(f->us, canon);
                    f->us_exact = !is_canonical_time(s, n) || memcmp(canon, s, QL_RFC3339_LEN - 1) == 0;
                }
                break;
            }
            default: break;
            }
            /* Type classes must match the column's for comparisons to be ours to judge. */
            ql_pq_type_t ty = vt->t->cols[f->col].type;
            int numcol = ty == QL_PQ_INT64 || ty == QL_PQ_INT32 || ty == QL_PQ_BOOL || ty == QL_PQ_DOUBLE || ty == QL_PQ_FLOAT;
            int textcol = ty == QL_PQ_STRING || ty == QL_PQ_TIMESTAMP;
            if ((numcol && f->vtype == SQLITE_TEXT) || (textcol && f->vtype != SQLITE_TEXT) || ty == QL_PQ_BINARY)
                f->vtype = 0;
            /* An unusable comparison filter is dropped (only IS [NOT] NULL work without a value). */
            if (!f->vtype && is_cmp_op(f->op)) { free(f->s); cur->nfilts--; }
        }
    }
    cur->file = -1;
    cur->rg = -1;
    cur->rg_rows = 0;
    cur->row = -1;
    cur->rowid_base = 0;
    cur->eof = 0;
    if (cur->ngcols > 0) {
        cur->grouped = 1;
        return build_groups(cur);
    }
    return advance(cur);
}

static int pq_next(sqlite3_vtab_cursor *base)
{
    pq_cursor_t *cur = (pq_cursor_t *)base;
    if (cur->grouped) {
        if (++cur->pos >= cur->norder) cur->eof = 1;
        else if ((uint64_t)cur->pos >= cur->gend) enter_group(cur);
        return SQLITE_OK;
    }
    return advance(cur);
}

static int pq_eof(sqlite3_vtab_cursor *base)
{
    return ((pq_cursor_t *)base)->eof;
}

/* kept out of line so that pq_column's short path needs no stack frame */
static int column_slow(pq_cursor_t *cur, sqlite3_context *ctx, int c) __attribute__((noinline));

/* xColumn. SQLite calls it once per row for a grouped scan's key column (to
 * compare with the previous row's), so that case is kept short: a pinned
 * string goes to SQLite with its length. Without the length SQLite would run
 * strlen per row to mark it NUL-terminated; a key's value reaches the output
 * (where sqlite3_column_text then copies it once to add the NUL) only once
 * per group. Everything else is column_slow. */
static int pq_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int c)
{
    pq_cursor_t *cur = (pq_cursor_t *)base;
    if (cur->grouped && !cur->eof && c >= 0 && c < ((pq_vtab_t *)base->pVtab)->t->ncols) {
        int k = cur->keypos[c];
        if (k >= 0) {
            if (cur->gkey[k].kind == 3 && cur->gpin != PIN_NO &&
                ((pq_vtab_t *)base->pVtab)->t->cols[c].type == QL_PQ_STRING) {
                sqlite3_result_text(ctx, cur->gkey[k].s, (int)cur->gkey[k].n, SQLITE_STATIC);
                return SQLITE_OK;
            }
        } else if (cur->ecols && cur->ecols[c].kind) {   /* a gathered column: numbers here */
            const ecol_t *e = &cur->ecols[c];
            switch (e->kind[cur->pos]) {
            case EK_INT: sqlite3_result_int64(ctx, e->v[cur->pos].i); return SQLITE_OK;
            case EK_REAL: sqlite3_result_double(ctx, e->v[cur->pos].d); return SQLITE_OK;
            case EK_NULL: return SQLITE_OK;
            default: break;
            }
        }
    }
    return column_slow(cur, ctx, c);
}

static int column_slow(pq_cursor_t *cur, sqlite3_context *ctx, int c)
{
    pq_vtab_t *vt = (pq_vtab_t *)cur->base.pVtab;
    ql_vtab_table_t *t = vt->t;
    if (c < 0 || c >= t->ncols || cur->eof) return SQLITE_OK;
    if (cur->grouped) {
        int k = cur->keypos[c];
        if (k >= 0) {   /* a key column: its group's value */
            const gval_t *v = &cur->gkey[k];
            switch (v->kind) {
            case 1:
                if (t->cols[c].type == QL_PQ_TIMESTAMP) {
                    char buf[QL_RFC3339_LEN];
                    ql_rfc3339_format(v->i, buf);
                    sqlite3_result_text(ctx, buf, QL_RFC3339_LEN - 1, SQLITE_TRANSIENT);
                } else {
                    sqlite3_result_int64(ctx, v->i);
                }
                break;
            case 2: sqlite3_result_double(ctx, v->d); break;
            case 3: result_bytes(ctx, t->cols[c].type == QL_PQ_BINARY, v->s, v->n, cur->gpin); break;
            }
            return SQLITE_OK;
        }
        const ecol_t *e = cur->ecols ? &cur->ecols[c] : NULL;
        if (!e || !e->kind) return SQLITE_OK;
        int64_t p = cur->pos;
        switch (e->kind[p]) {
        case EK_INT: sqlite3_result_int64(ctx, e->v[p].i); break;
        case EK_REAL: sqlite3_result_double(ctx, e->v[p].d); break;
        case EK_TIME: {
            char buf[QL_RFC3339_LEN];
            ql_rfc3339_format(e->v[p].i, buf);
            sqlite3_result_text(ctx, buf, QL_RFC3339_LEN - 1, SQLITE_TRANSIENT);
            break;
        }
        case EK_NULL: break;
        default: {
            int blob = e->kind[p] >= EK_BLOB;
            result_bytes(ctx, blob, e->v[p].s, e->len[p], e->kind[p] - (blob ? EK_BLOB : EK_TEXT));
        }
        }
        return SQLITE_OK;
    }
    ql_vtab_file_t *f = &t->files[cur->file];
    if (t->cols[c].part >= 0) {   /* the table owns it until it is disconnected */
        const char *v = f->part_vals[t->cols[c].part];
        if (v) sqlite3_result_text(ctx, v, -1, SQLITE_STATIC);
        return SQLITE_OK;
    }
    if (!cur->loaded[c]) {   /* (checked here first: load_col is a call with a frame) */
        int rc = load_col(cur, c);
        if (rc != SQLITE_OK) {
            sqlite3_result_error(ctx, vt->base.zErrMsg ? vt->base.zErrMsg : "decode error", -1);
            return rc;
        }
        if (!cur->loaded[c]) return SQLITE_OK;   /* column absent from this file: NULL */
    }
    const ql_pq_column_data_t *d = &cur->data[c];
    gval_t v;
    cell_get(d, cur->row, &v);
    switch (v.kind) {
    case 1:
        if (d->type == QL_PQ_TIMESTAMP) {
            char buf[QL_RFC3339_LEN];
            ql_rfc3339_format(v.i, buf);
            sqlite3_result_text(ctx, buf, QL_RFC3339_LEN - 1, SQLITE_TRANSIENT);
        } else {
            sqlite3_result_int64(ctx, v.i);
        }
        break;
    case 2: sqlite3_result_double(ctx, v.d); break;
    case 3: result_bytes(ctx, d->type == QL_PQ_BINARY, v.s, v.n, cur->loaded[c] - 1); break;
    }
    return SQLITE_OK;
}

static int pq_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid)
{
    pq_cursor_t *cur = (pq_cursor_t *)base;
    /* grouped: the place in the output, unique within the scan */
    *rowid = cur->grouped ? (sqlite3_int64)cur->pos : cur->rowid_base + cur->row;
    return SQLITE_OK;
}

static sqlite3_module pq_module = {
    .iVersion = 0,
    .xCreate = pq_connect,
    .xConnect = pq_connect,
    .xBestIndex = pq_best_index,
    .xDisconnect = pq_disconnect,
    .xDestroy = pq_disconnect,
    .xOpen = pq_open,
    .xClose = pq_close,
    .xFilter = pq_filter,
    .xNext = pq_next,
    .xEof = pq_eof,
    .xColumn = pq_column,
    .xRowid = pq_rowid,
};

/* ---- registration ------------------------------------------------------ */

static void stats_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc; (void)argv;
    ql_vtab_stats_t *st = sqlite3_user_data(ctx);
    char buf[160];
    snprintf(buf, sizeof buf, "row groups: scanned %lld, skipped %lld",
             (long long)st->rg_scanned, (long long)st->rg_skipped);
    sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

int ql_vtab_register(sqlite3 *db, ql_vtab_stats_t **stats)
{
    ql_vtab_stats_t *st = sqlite3_malloc(sizeof *st);
    if (!st) return SQLITE_NOMEM;
    memset(st, 0, sizeof *st);
    int rc = sqlite3_create_collation(db, QL_VTAB_TIME_COLLATION, SQLITE_UTF8, NULL, time_collate);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "questlog_parquet_stats", 0, SQLITE_UTF8, st, stats_func, NULL, NULL);
    if (rc != SQLITE_OK) { sqlite3_free(st); return rc; }
    /* The module owns st: sqlite3_free'd when the connection closes. */
    rc = sqlite3_create_module_v2(db, "questlog_parquet", &pq_module, st, sqlite3_free);
    if (rc == SQLITE_OK && stats) *stats = st;
    return rc;
}

int ql_vtab_attach_lake(sqlite3 *db, const char *lake, char *err, size_t errlen)
{
    char **names = NULL;
    int n = 0, rc = 0;
    if (ql_vtab_list_tables(lake, &names, &n, err, errlen) < 0) return -1;
    for (int i = 0; i < n; i++) {
        ql_buf_t dir = QL_BUF_INIT;
        ql_buf_printf(&dir, "%s/%s", lake, names[i]);
        char *sql = sqlite3_mprintf("CREATE VIRTUAL TABLE \"%w\" USING questlog_parquet('%q')", names[i],
                                    dir.data);
        char *msg = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
            rc = ql_err(err, errlen, "table %s: %s", names[i], msg ? msg : "error");
        }
        sqlite3_free(msg);
        sqlite3_free(sql);
        ql_buf_free(&dir);
        if (rc < 0) break;
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int ql_vtab_open_db(sqlite3 **db, const char *lake, ql_vtab_stats_t **stats, char *err, size_t errlen)
{
    *db = NULL;
#ifndef QL_SQLITE_EXTENSION
    /* No memory statistics: they take a global mutex on every SQLite
     * allocation (values copied per cell add up). Only possible before
     * SQLite initialises; later calls fail harmlessly. */
    static int configured;
    if (!configured) {
        configured = 1;
        (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    }
#endif
    /* NOMUTEX: the connection belongs to one thread, so SQLite need not lock
     * it on every call (sqlite3_column_* per cell add up). */
    if (sqlite3_open_v2(":memory:", db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        return ql_err(err, errlen, "cannot open SQLite: %s", *db ? sqlite3_errmsg(*db) : "out of memory");
    ql_vtab_stats_t *st = NULL;
    if (sqlite3_exec(*db, "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -131072", NULL, NULL, NULL) != SQLITE_OK ||
        ql_vtab_register(*db, &st) != SQLITE_OK)
        return ql_err(err, errlen, "cannot set up SQLite: %s", sqlite3_errmsg(*db));
    if (stats) *stats = st;
    if (!lake) return 0;
    /* Every lake table as an eponymous module: its files are listed and
     * footers read only when a statement first names it. */
    char **names = NULL;
    int n = 0, rc = 0;
    if (ql_vtab_list_tables(lake, &names, &n, err, errlen) < 0) return -1;
    for (int i = 0; i < n && rc == 0; i++) {
        lake_aux_t *a = ql_calloc(1, sizeof *a);
        ql_buf_t dir = QL_BUF_INIT;
        ql_buf_printf(&dir, "%s/%s", lake, names[i]);
        a->mod = pq_module;
        a->mod.xCreate = NULL;
        a->mod.xConnect = pq_connect_lake;
        a->stats = st;
        a->dir = ql_buf_steal(&dir);
        /* on failure SQLite calls lake_aux_free itself */
        if (sqlite3_create_module_v2(*db, names[i], &a->mod, a, lake_aux_free) != SQLITE_OK)
            rc = ql_err(err, errlen, "table %s: %s", names[i], sqlite3_errmsg(*db));
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

#ifdef QL_SQLITE_EXTENSION
/* Entry point for `.load questlog_parquet` (SQLite derives the name from the
 * file name) and for sqlite3_load_extension's default. */
#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_questlogparquet_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api)
{
    SQLITE_EXTENSION_INIT2(api);
    int rc = ql_vtab_register(db, NULL);
    if (rc != SQLITE_OK && errmsg) *errmsg = sqlite3_mprintf("questlog_parquet: cannot register (%d)", rc);
    return rc;
}

int sqlite3_extension_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api)
{
    return sqlite3_questlogparquet_init(db, errmsg, api);
}
#endif
