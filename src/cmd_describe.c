/*
 * cmd_describe.c — `questlog describe [--lake DIR] [--where COND] TABLE`: a
 * per-column summary of a lake table, like pandas' DataFrame.describe(include='all')
 * on an event table: type, count, nulls, distinct, min, max, top value and its
 * frequency, mean and standard deviation (sample, n-1) for numeric columns.
 *
 * One pass over `SELECT * FROM TABLE [WHERE COND]` through the virtual
 * table. Distinct values and their counts are tracked exactly in a hash
 * table up to EXACT_LIMIT values per column; past that, `distinct` is a
 * HyperLogLog estimate (2^14 registers, ~0.8% standard error) printed as
 * "≈N", and top/freq come from the values tracked until then (marked "≈").
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "sqlout.h"
#include "util.h"
#include "vtab.h"

#define EXACT_LIMIT 100000
#define HLL_P 14
#define HLL_M (1u << HLL_P)

static const char usage[] =
    "usage: questlog describe [options] TABLE\n"
    "Summarises every column of a lake table (like pandas describe()): type, count,\n"
    "nulls, distinct (exact up to 100000 values, else a HyperLogLog estimate shown\n"
    "as ≈N), min, max, top value and its frequency, mean and std for numbers.\n"
    "  -w, --where COND  only rows matching the SQL condition\n"
    "  -f, --format FMT  table (default) | csv | json | md\n";

static uint64_t hash64(const void *p, size_t n, uint64_t seed)
{
    /* FNV-1a, then a murmur3 finaliser for well-spread high bits (HLL). */
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 1099511628211ull; }
    h ^= h >> 33; h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

typedef struct slot {
    char    *key;      /* type byte + value bytes; NULL = empty */
    uint32_t len;
    int64_t  count;
    uint64_t h;
} slot_t;

typedef struct colstat {
    int64_t  count, nulls;
    int      has_num, has_text;
    double   nmin, nmax;
    int64_t  imin, imax;
    int      all_int;
    char    *smin, *smax;
    int      sminlen, smaxlen;
    double   mean, m2;       /* Welford */
    int64_t  nnum;
    slot_t  *slots;
    size_t   nslots, cap;
    int      overflow;       /* more than EXACT_LIMIT distinct values */
    uint8_t *hll;
} colstat_t;

static void hll_add(uint8_t *reg, uint64_t h)
{
    uint32_t idx = (uint32_t)(h >> (64 - HLL_P));
    uint64_t rest = (h << HLL_P) | (1ull << (HLL_P - 1));
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > reg[idx]) reg[idx] = rank;
}

static double hll_estimate(const uint8_t *reg)
{
    double sum = 0, m = HLL_M;
    int zeros = 0;
    for (uint32_t i = 0; i < HLL_M; i++) {
        sum += ldexp(1.0, -reg[i]);
        if (!reg[i]) zeros++;
    }
    double e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (e <= 2.5 * m && zeros) e = m * log(m / zeros);   /* linear counting for small sets */
    return e;
}

static void count_value(colstat_t *cs, const char *key, uint32_t len)
{
    uint64_t h = hash64(key, len, 0);
    hll_add(cs->hll, h);
    if (cs->cap == 0) {
        cs->cap = 1024;
        cs->slots = ql_calloc(cs->cap, sizeof *cs->slots);
    }
    size_t mask = cs->cap - 1, i = h & mask;
    while (cs->slots[i].key) {
        if (cs->slots[i].h == h && cs->slots[i].len == len && memcmp(cs->slots[i].key, key, len) == 0) {
            cs->slots[i].count++;
            return;
        }
        i = (i + 1) & mask;
    }
    if (cs->nslots >= EXACT_LIMIT) { cs->overflow = 1; return; }
    cs->slots[i].key = ql_malloc(len ? len : 1);
    memcpy(cs->slots[i].key, key, len);
    cs->slots[i].len = len;
    cs->slots[i].count = 1;
    cs->slots[i].h = h;
    cs->nslots++;
    if (cs->nslots * 2 > cs->cap) {   /* grow, keep load <= 1/2 */
        size_t ncap = cs->cap * 2;
        slot_t *ns = ql_calloc(ncap, sizeof *ns);
        for (size_t k = 0; k < cs->cap; k++) {
            if (!cs->slots[k].key) continue;
            size_t j = cs->slots[k].h & (ncap - 1);
            while (ns[j].key) j = (j + 1) & (ncap - 1);
            ns[j] = cs->slots[k];
        }
        free(cs->slots);
        cs->slots = ns;
        cs->cap = ncap;
    }
}

static void set_text(char **dst, int *dlen, const char *s, int n)
{
    free(*dst);
    *dst = ql_strndup(s, (size_t)n);
    *dlen = n;
}

static int textcmp(const char *a, int na, const char *b, int nb)
{
    int c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    return c ? c : na - nb;
}

static void add_value(colstat_t *cs, sqlite3_value *v)
{
    int t = sqlite3_value_type(v);
    if (t == SQLITE_NULL) { cs->nulls++; return; }
    cs->count++;
    char key[1 + 8];
    if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
        double d = sqlite3_value_double(v);
        int64_t iv = sqlite3_value_int64(v);
        if (!cs->has_num) {
            cs->nmin = cs->nmax = d;
            cs->imin = cs->imax = iv;
            cs->all_int = 1;
            cs->has_num = 1;
        }
        if (t == SQLITE_FLOAT) cs->all_int = 0;
        if (d < cs->nmin) cs->nmin = d;
        if (d > cs->nmax) cs->nmax = d;
        if (iv < cs->imin) cs->imin = iv;
        if (iv > cs->imax) cs->imax = iv;
        cs->nnum++;
        double delta = d - cs->mean;
        cs->mean += delta / (double)cs->nnum;
        cs->m2 += delta * (d - cs->mean);
        key[0] = (char)t;
        if (t == SQLITE_INTEGER) memcpy(key + 1, &iv, 8); else memcpy(key + 1, &d, 8);
        count_value(cs, key, 9);
    } else {
        const char *s = t == SQLITE_TEXT ? (const char *)sqlite3_value_text(v) : sqlite3_value_blob(v);
        int n = sqlite3_value_bytes(v);
        if (!s) s = "";
        if (!cs->has_text || textcmp(s, n, cs->smin, cs->sminlen) < 0) set_text(&cs->smin, &cs->sminlen, s, n);
        if (!cs->has_text || textcmp(s, n, cs->smax, cs->smaxlen) > 0) set_text(&cs->smax, &cs->smaxlen, s, n);
        cs->has_text = 1;
        count_value(cs, s, (uint32_t)n);   /* numbers are keyed with a type byte < ' ': no clash in practice */
    }
}

static void free_stat(colstat_t *cs)
{
    for (size_t i = 0; i < cs->cap; i++) free(cs->slots[i].key);
    free(cs->slots);
    free(cs->smin);
    free(cs->smax);
    free(cs->hll);
}

/* Binds a tracked key (number or text) as a value. */
static void bind_key(sqlite3_stmt *st, int i, const slot_t *s, int is_num_key)
{
    if (is_num_key && s->len == 9 && s->key[0] == SQLITE_INTEGER) {
        int64_t v;
        memcpy(&v, s->key + 1, 8);
        sqlite3_bind_int64(st, i, v);
    } else if (is_num_key && s->len == 9 && s->key[0] == SQLITE_FLOAT) {
        double v;
        memcpy(&v, s->key + 1, 8);
        sqlite3_bind_double(st, i, v);
    } else {
        sqlite3_bind_text(st, i, s->key, (int)s->len, SQLITE_TRANSIENT);
    }
}

int ql_cmd_describe(int argc, char **argv)
{
    static const struct option longopts[] = {
        QL_LAKE_LONGOPTS,
        {"format", required_argument, NULL, 'f'},
        {"where", required_argument, NULL, 'w'},
        {NULL, 0, NULL, 0},
    };
    ql_common_opts_t o;
    ql_cli_defaults(&o);
    ql_sqlout_format_t fmt = QL_SQLOUT_TABLE;
    const char *where = NULL;
    int opt, status = 1, ncols = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL, *ins = NULL;
    colstat_t *cs = NULL;
    ql_vtab_table_t *tab = NULL;
    char err[1024];
    char *sql = NULL;
    while ((opt = ql_cli_next(&o, "describe", argc, argv, "f:w:", longopts)) != -1) {
        switch (opt) {
        case 'f':
            if (ql_sqlout_format_flag("describe", optarg, &fmt) < 0) return 2;
            break;
        case 'w': where = optarg; break;
        default: return 2;   /* ql_cli_next said why */
        }
    }
    int end = ql_cli_end_operands(&o, "describe", usage, argc, 1, "no table given");
    if (end >= 0) return end;
    if (optind + 1 < argc) {
        fprintf(stderr, "questlog describe: unexpected argument '%s' (one table at a time)\n", argv[optind + 1]);
        return 2;
    }
    const char *name = argv[optind];
    if (strchr(name, '/') || name[0] == '.') {
        fprintf(stderr, "questlog describe: bad table name '%s'\n", name);
        return 2;
    }
    if (ql_cli_need_lake(&o, "describe")) return 1;
    ql_buf_t dir = QL_BUF_INIT;
    ql_buf_printf(&dir, "%s/%s", o.lake_dir, name);
    struct stat tst;
    if (stat(dir.data, &tst) != 0 || !S_ISDIR(tst.st_mode)) {
        fprintf(stderr, "questlog describe: no table '%s' in the lake '%s' (questlog tables lists them)\n", name,
                o.lake_dir);
        ql_buf_free(&dir);
        return 1;
    }
    if (ql_vtab_table_open(&tab, dir.data, err, sizeof err) < 0) {
        fprintf(stderr, "questlog describe: %s\n", err);
        ql_buf_free(&dir);
        goto out;
    }
    if (tab->ncols == 0) {   /* no data files yet: nothing to describe */
        printf("%s: no data files\n", name);
        ql_buf_free(&dir);
        status = 0;
        goto out;
    }
    if (ql_vtab_open_db(&db, NULL, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "questlog describe: %s\n", err);
        ql_buf_free(&dir);
        goto out;
    }
    sql = sqlite3_mprintf("CREATE VIRTUAL TABLE \"%w\" USING questlog_parquet('%q')", name, dir.data);
    ql_buf_free(&dir);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "questlog describe: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_free(sql);
    sql = sqlite3_mprintf("SELECT * FROM \"%w\"%s%s", name, where ? " WHERE " : "", where ? where : "");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "questlog describe: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    ncols = sqlite3_column_count(st);
    cs = ql_calloc((size_t)ncols + 1, sizeof *cs);
    for (int c = 0; c < ncols; c++) cs[c].hll = ql_calloc(HLL_M, 1);
    int rc;
    int64_t nrows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        nrows++;
        for (int c = 0; c < ncols; c++) add_value(&cs[c], sqlite3_column_value(st, c));
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "questlog describe: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    if (sqlite3_exec(db,
                     "CREATE TEMP TABLE describe(\"column\" TEXT, type TEXT, count INTEGER, nulls INTEGER, "
                     "\"distinct\", min, max, top, freq, mean REAL, std REAL)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO temp.describe VALUES (?,?,?,?,?,?,?,?,?,?,?)", -1, &ins, NULL) !=
            SQLITE_OK) {
        fprintf(stderr, "questlog describe: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    for (int c = 0; c < ncols; c++) {
        colstat_t *x = &cs[c];
        const char *cname = sqlite3_column_name(st, c);
        int tc = ql_vtab_table_column(tab, cname);
        const char *type = tc < 0 ? "?" : tab->cols[tc].part >= 0 ? "PARTITION" : ql_pq_type_name(tab->cols[tc].type);
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        sqlite3_bind_text(ins, 1, cname, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, x->count);
        sqlite3_bind_int64(ins, 4, x->nulls);
        if (!x->overflow) {
            sqlite3_bind_int64(ins, 5, (int64_t)x->nslots);
        } else {
            char b[64];
            snprintf(b, sizeof b, "\xe2\x89\x88%.0f", hll_estimate(x->hll));
            sqlite3_bind_text(ins, 5, b, -1, SQLITE_TRANSIENT);
        }
        if (x->has_num && !x->has_text) {
            if (x->all_int) { sqlite3_bind_int64(ins, 6, x->imin); sqlite3_bind_int64(ins, 7, x->imax); }
            else { sqlite3_bind_double(ins, 6, x->nmin); sqlite3_bind_double(ins, 7, x->nmax); }
        } else if (x->has_text) {
            sqlite3_bind_text(ins, 6, x->smin, x->sminlen, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 7, x->smax, x->smaxlen, SQLITE_TRANSIENT);
        }
        const slot_t *top = NULL;
        for (size_t i = 0; i < x->cap; i++)
            if (x->slots[i].key && (!top || x->slots[i].count > top->count ||
                                    (x->slots[i].count == top->count &&
                                     textcmp(x->slots[i].key, (int)x->slots[i].len, top->key, (int)top->len) < 0)))
                top = &x->slots[i];
        if (top) {
            bind_key(ins, 8, top, x->has_num);
            if (x->overflow) {
                char b[64];
                snprintf(b, sizeof b, "\xe2\x89\x88%lld", (long long)top->count);
                sqlite3_bind_text(ins, 9, b, -1, SQLITE_TRANSIENT);
            } else {
                sqlite3_bind_int64(ins, 9, top->count);
            }
        }
        if (x->nnum > 0 && !x->has_text) {
            sqlite3_bind_double(ins, 10, x->mean);
            if (x->nnum > 1) sqlite3_bind_double(ins, 11, sqrt(x->m2 / (double)(x->nnum - 1)));
        }
        if (sqlite3_step(ins) != SQLITE_DONE) {
            fprintf(stderr, "questlog describe: %s\n", sqlite3_errmsg(db));
            goto out;
        }
    }
    sqlite3_finalize(ins);
    ins = NULL;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT * FROM temp.describe", -1, &st, NULL) != SQLITE_OK ||
        ql_sqlout_write(st, stdout, fmt, ql_sqlout_terminal_width(stdout), NULL, err, sizeof err) < 0) {
        fprintf(stderr, "questlog describe: %s\n", st ? err : sqlite3_errmsg(db));
        goto out;
    }
    if (fmt == QL_SQLOUT_TABLE) printf("%lld rows\n", (long long)nrows);
    status = 0;
out:
    if (cs)
        for (int c = 0; c < ncols; c++) free_stat(&cs[c]);
    free(cs);
    sqlite3_finalize(ins);
    sqlite3_finalize(st);
    sqlite3_free(sql);
    sqlite3_close(db);
    ql_vtab_table_free(tab);
    return status;
}
