/*
 * vtab_group.c — grouped scans of the questlog_parquet module: when SQLite
 * only needs the rows of a GROUP BY / DISTINCT grouped (equal keys
 * adjacent; xBestIndex consumed the ORDER BY), the whole surviving scan is
 * decoded first (on two threads), its rows grouped by hashing their keys
 * and put in output order group by group (groups in key order, a counting
 * sort); xColumn then serves a key column's value from the group table and
 * the other used columns from arrays gathered in output order.
 *
 * Threads: the decode pool (dpool_t) and the gather pool (gpool_t) only
 * read the Parquet files and the held data and each writes its own slots;
 * nothing of SQLite, the string pool or the counters is touched off the
 * statement's thread (strings are pinned after the decode, errors reported
 * after the join). SQLITE_STATIC: a key's or a gathered string goes to
 * SQLite without a copy only when pinned (vtab_scan.c) or a partition value.
 */
#include "vtab_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

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
                snprintf(p->err, sizeof p->err, "%s: %s", f->path, err);  /* err names row group and column */
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
int ql_vtab_group_build(pq_cursor_t *cur)
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
        if ((rc = ql_vtab_next_row_group(cur, 0)) != SQLITE_OK) goto out;
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
        ql_vtab_dict_verdicts(cur, data, loaded, t, f);
        ql_vtab_match_rows(cur, data, loaded, t, f, rows, cur->mask);
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
    /* 5. strings pinned (see ql_vtab_pin_dict), rows' groups */
    if (ngather) rowg = ql_malloc((nrefs ? nrefs : 1) * sizeof *rowg);
    for (int k = 0; k < cur->nheld; k++) {
        if (empty[k]) continue;
        for (int c = 0; c < nc; c++) {
            size_t at = (size_t)k * nc + c;
            if (cur->held_loaded[at]) cur->held_loaded[at] = (uint8_t)(1 + ql_vtab_pin_dict(vt, &cur->held_data[at]));
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

void ql_vtab_group_free(pq_cursor_t *cur, int ncols)
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
