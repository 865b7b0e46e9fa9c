/*
 * vtab_table.c — the lake table model under the questlog_parquet module and
 * under `tables`, `describe` and `report` (vtab.h: ql_vtab_table_*,
 * ql_vtab_list_tables): a table directory's Parquet files (through the
 * lake's own listing, which hides files a compaction superseded) with their
 * footers, the Hive partition keys and values on their paths, and the union
 * of their columns by name. No SQLite calls here.
 */
#include "vtab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

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

/* SQL names are case-insensitive (ASCII, as SQLite compares them), Parquet
 * names are not. Invariant: no two columns of a table differ only in case,
 * or SQLite would refuse the whole table ("duplicate column name"). */
int ql_vtab_table_column(const ql_vtab_table_t *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcasecmp(t->cols[i].name, name) == 0) return i;
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
    for (int i = 0; i < t->ncols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].src);
    }
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
    t->cols[t->ncols].src = ql_strdup(name);
    /* a name taken, in another case, by a column this one is not: NAME_1, NAME_2 … (as DuckDB) */
    char *sql = ql_strdup(name);
    for (int k = 1; ql_vtab_table_column(t, sql) >= 0; k++) {
        free(sql);
        size_t n = strlen(name) + 24;
        sql = ql_malloc(n);
        snprintf(sql, n, "%s_%d", name, k);
    }
    t->cols[t->ncols].name = sql;
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
        /* Union of columns by name, in order of first appearance. Names that
         * differ only in case ("Host", "host": a header and a query parameter
         * of one request, or two producers' spellings) are one column across
         * files; a file holding several of them maps each to its own column,
         * the second one named host_1 (as DuckDB's union_by_name does), so
         * no value is hidden. f->colmap holds file → table for now. */
        int nc = ql_pq_num_columns(f->pq);
        f->colmap = ql_malloc(((size_t)nc + 1) * sizeof(int));
        for (int c = 0; c < nc; c++) {
            const ql_pq_column_info_t *ci = ql_pq_column(f->pq, c);
            int tc = -1;
            for (int pass = 0; pass < 2 && tc < 0; pass++)   /* the same spelling first, then another case */
                for (int k = 0; k < t->ncols && tc < 0; k++) {
                    if (t->cols[k].part >= 0 ||
                        (pass ? strcasecmp(t->cols[k].src, ci->name) : strcmp(t->cols[k].src, ci->name)) != 0)
                        continue;
                    int taken = 0;
                    for (int j = 0; j < c && !taken; j++) taken = f->colmap[j] == k;
                    if (!taken) tc = k;
                }
            if (tc < 0) {
                tc = t->ncols;
                add_column(t, &cap_cols, ci->name, ci->type, -1);
            }
            f->colmap[c] = tc;
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
        int *to_table = f->colmap, nc = ql_pq_num_columns(f->pq);   /* file → table, from the union */
        f->colmap = ql_malloc(((size_t)t->ncols + 1) * sizeof(int));
        for (int c = 0; c < t->ncols; c++) f->colmap[c] = -1;
        for (int c = 0; c < nc; c++) f->colmap[to_table[c]] = c;
        free(to_table);
    }
    *out = t;
    t = NULL;
out:
    strvec_free(&paths);
    strvec_free(&pkeys);
    ql_vtab_table_free(t);
    return rc;
}
