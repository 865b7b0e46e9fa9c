/*
 * vtab_filter.c — the questlog_parquet module's filters: a pushed-down
 * constraint (filt_t, set up from xFilter's value by ql_vtab_filt_set)
 * compared with stored values the way SQLite itself compares them (numbers
 * by value, text by BINARY, timestamps by the QL_TIME collation, which is
 * defined here too), and the pruning built on that:
 * files by partition values or missing columns, row groups by column
 * statistics and, for =, by the chunk's dictionary, and rows, column by
 * column, into a mask.
 *
 * Invariant (the scan's correctness rests on it): a file, row group or row
 * is dropped only when some filter is certainly false for every row in it,
 * under SQLite's own comparison rules. Whatever cannot be compared here as
 * SQLite would (another type class, NaN, statistics of timestamps outside
 * the years 0000..9999, a column whose type differs across files) is kept
 * and left to SQLite, which evaluates the constraint again — except for the
 * constraints xBestIndex tells SQLite to omit (exact_filter, vtab.c): for
 * those these functions must drop exactly the rows for which the
 * constraint is not true.
 *
 * Threads: ql_vtab_file_excluded and ql_vtab_rg_excluded also run on the
 * prefetch thread; nothing here writes the table, the files or the filters.
 */
#include "vtab_int.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- the QL_TIME collation --------------------------------------------- */

/* Orders RFC 3339 texts by the instant they name. Two canonical values
 * (27 bytes, 'T' at 10, 'Z' at 26: what the module returns) compare byte by
 * byte, which is the same order and fast; otherwise both are parsed (see
 * parse_time), and if either is not a time the bytes decide. */
static int is_canonical_time(const char *s, int n)
{
    return n == 27 && s[10] == 'T' && s[26] == 'Z' && s[19] == '.';
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

int ql_vtab_time_collate(void *arg, int na, const void *a, int nb, const void *b)
{
    (void)arg;
    if (!(is_canonical_time(a, na) && is_canonical_time(b, nb))) {
        int64_t ua, ub;
        if (parse_time(a, na, &ua) == 0 && parse_time(b, nb, &ub) == 0)
            return ua < ub ? -1 : ua > ub;
    }
    return memcmp_len(a, na, b, nb);
}

/* ---- a filter's value --------------------------------------------------- */

int ql_vtab_filt_set(filt_t *f, int col, int op, sqlite3_value *v, ql_pq_type_t ty)
{
    memset(f, 0, sizeof *f);   /* the slot may hold a filter dropped before */
    f->col = col;
    f->op = op;
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
    int numcol = ty == QL_PQ_INT64 || ty == QL_PQ_INT32 || ty == QL_PQ_BOOL || ty == QL_PQ_DOUBLE || ty == QL_PQ_FLOAT;
    int textcol = ty == QL_PQ_STRING || ty == QL_PQ_TIMESTAMP;
    if ((numcol && f->vtype == SQLITE_TEXT) || (textcol && f->vtype != SQLITE_TEXT) || ty == QL_PQ_BINARY)
        f->vtype = 0;
    /* An unusable comparison filter is dropped (only IS [NOT] NULL work without a value). */
    if (!f->vtype && is_cmp_op(f->op)) {
        free(f->s);
        f->s = NULL;
        return 0;
    }
    return 1;
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
    int c = ql_vtab_time_collate(NULL, QL_RFC3339_LEN - 1, buf, f->slen, f->s);
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

/* 1 if the file's partition values or missing columns exclude every row. */
int ql_vtab_file_excluded(const ql_vtab_table_t *t, const ql_vtab_file_t *f, const filt_t *fl, int n)
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
int ql_vtab_rg_excluded(const ql_vtab_table_t *t, const ql_vtab_file_t *f, int rg, const filt_t *fl, int n)
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
void ql_vtab_dict_verdicts(pq_cursor_t *cur, const ql_pq_column_data_t *data, const uint8_t *loaded,
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
 * rows, verdicts from ql_vtab_dict_verdicts) for which some filter is certainly
 * false; 1 for the others. Filter by filter, column-wise. */
void ql_vtab_match_rows(const pq_cursor_t *cur, const ql_pq_column_data_t *data, const uint8_t *loaded,
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
