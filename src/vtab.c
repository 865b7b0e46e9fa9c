/*
 * vtab.c — the `questlog_parquet` SQLite virtual table over a lake table (a
 * directory of Parquet files), modelled on SQLite's ext/misc/csv.c: the
 * module's methods (xConnect … xColumn) and its registration. See vtab.h for
 * what it does, docs/query.md for how it is used, and vtab_int.h for the
 * other parts (lake table model, filters, the streamed scan, read-ahead,
 * grouped scans) and what they share.
 *
 * Built twice: into libquestlog (for `questlog query`), and with
 * -DQL_SQLITE_EXTENSION as build/questlog_parquet.so, a loadable extension
 * for the stock sqlite3 shell (then every SQLite call goes through the
 * sqlite3_api table of sqlite3ext.h, defined here).
 *
 * Scan: xFilter builds the list of filters it was given; then either the
 * cursor walks the row groups that survive pruning one by one (advance,
 * vtab_scan.c, with a helper thread decoding ahead: vtab_prefetch.c) and
 * drops the rows some filter is certainly false for (vtab_filter.c, whose
 * invariant says when a row may be dropped), or, when SQLite only needs the
 * rows grouped (GROUP BY / DISTINCT), the whole surviving scan is grouped
 * first and handed over group by group (vtab_group.c). xBestIndex lets
 * SQLite skip a constraint only where the module decides it exactly
 * (exact_filter). xColumn hands strings over without a copy (SQLITE_STATIC)
 * only when they live until the table is disconnected (pinned dictionaries,
 * partition values: vtab_scan.c).
 */
#include "vtab_int.h"
#ifdef QL_SQLITE_EXTENSION
SQLITE_EXTENSION_INIT1
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

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

/* idxStr: "<colUsed hex>;<col>:<op>,<col>:<op>,…|<gcol>a,<gcol>d,…" — the
 * constraints in argv order, then the GROUP BY/DISTINCT columns (a/d: the
 * order asked) when the grouping is consumed (empty otherwise). */

#define GROUPED_MAX_ROWS (32LL << 20)

/* Whether constraint i, once pushed down, is decided by the module exactly
 * as SQLite would decide it, so SQLite may skip it (omit): the column has
 * one type in every file (or is a partition key), and the right-hand side
 * is a constant whose type the scan compares itself — text against TEXT
 * (BINARY) or TIMESTAMP (QL_TIME) columns, a number against numeric ones.
 * Anything else (a bound parameter, '5' against an INTEGER column, IN,
 * BLOB columns) stays SQLite's to check. Invariant this relies on: for an
 * omitted constraint, ql_vtab_file_excluded, ql_vtab_rg_excluded and
 * ql_vtab_match_rows drop exactly the rows for which it is not true
 * (vtab_filter.c). */
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

static int pq_close(sqlite3_vtab_cursor *base)
{
    pq_cursor_t *cur = (pq_cursor_t *)base;
    pq_vtab_t *vt = (pq_vtab_t *)base->pVtab;
    ql_vtab_prefetch_free(cur, vt->t->ncols);
    ql_vtab_group_free(cur, vt->t->ncols);
    ql_vtab_unload(cur, vt->t->ncols);
    free_filts(cur);
    free(cur->data);
    free(cur->loaded);
    free(cur->mask);
    sqlite3_free(cur);
    return SQLITE_OK;
}

/* Hands the string s as text (or a blob) to SQLite, passed as pin says. */
static void result_bytes(sqlite3_context *ctx, int blob, const char *s, size_t n, int pin)
{
    sqlite3_destructor_type how = pin == PIN_NO ? SQLITE_TRANSIENT : SQLITE_STATIC;
    if (blob) sqlite3_result_blob(ctx, s, (int)n, how);
    else sqlite3_result_text(ctx, s, pin == PIN_Z ? -1 : (int)n, how);
}

/* Advances until a row that may match, or eof. */
static int advance(pq_cursor_t *cur)
{
    for (;;) {
        cur->row++;
        if (cur->row >= cur->rg_rows) {
            int rc = ql_vtab_next_row_group(cur, 1);
            if (rc != SQLITE_OK) return rc;
            if (cur->eof) return SQLITE_OK;
        }
        if (!cur->nfilts || cur->mask[cur->row]) return SQLITE_OK;
    }
}

static int pq_filter(sqlite3_vtab_cursor *base, int idx_num, const char *idx_str, int argc, sqlite3_value **argv)
{
    pq_cursor_t *cur = (pq_cursor_t *)base;
    pq_vtab_t *vt = (pq_vtab_t *)base->pVtab;
    (void)idx_num;
    ql_vtab_prefetch_quiesce(cur, vt->t->ncols);
    ql_vtab_group_free(cur, vt->t->ncols);
    ql_vtab_unload(cur, vt->t->ncols);
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
            if (ql_vtab_filt_set(&cur->filts[cur->nfilts], (int)col, (int)op, argv[i], vt->t->cols[col].type))
                cur->nfilts++;
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
        return ql_vtab_group_build(cur);
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
    if (!cur->loaded[c]) {   /* (checked here first: ql_vtab_load_col is a call with a frame) */
        int rc = ql_vtab_load_col(cur, c);
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
    int rc = sqlite3_create_collation(db, QL_VTAB_TIME_COLLATION, SQLITE_UTF8, NULL, ql_vtab_time_collate);
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

