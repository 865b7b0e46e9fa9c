/*
 * lake_compact.c — compaction (ql_lake_compact, `questlog compact`): runs of
 * small files of one directory and label (or of several imports) merged
 * into one file each, schemas unioned by column name; files that cannot be
 * merged (a column with two types) are left as they are. Contract in lake.h.
 *
 * Relies on invariants written down in lake.c: I5 (one label: the merged
 * file covers its inputs by its range; rename, fsync, then unlink; listing
 * hides and recovery deletes covered files; R is unchanged), I6 (several
 * imports: an intent lists the inputs before the rename), I9 (ID.merged
 * markers before such a merge) and I3 (temp name, fsync, rename, fsync of
 * the directory: ql_lake_pending_* and ql_lake_commit).
 */
#include "lake.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "lake_int.h"
#include "pq.h"
#include "util.h"

/* ---- compaction ----------------------------------------------------------------- */

typedef struct ucol {
    char        *name;
    ql_pq_type_t type;
    int          required;   /* required in every input */
    int          out;        /* writer column */
} ucol_t;

/* Files that cannot be merged (a column with two types, e.g. after a
 * catalog change): the run is left as it is, not an error. */
#define SCHEMA_CONFLICT (-2)

/* Union schema of the inputs by column name; SCHEMA_CONFLICT if a name has
 * two types or a type the writer cannot write. */
static int union_schema(ql_pq_file_t **in, size_t n, ucol_t **out, size_t *nout, char *err, size_t errlen)
{
    ucol_t *u = NULL;
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        int nc = ql_pq_num_columns(in[i]);
        for (int c = 0; c < nc; c++) {
            const ql_pq_column_info_t *ci = ql_pq_column(in[i], c);
            if (ci->type == QL_PQ_FLOAT || ci->type == QL_PQ_BINARY) {
                ql_err(err, errlen, "column '%s' has a type compaction does not write (%s)", ci->name,
                       ql_pq_type_name(ci->type));
                rc = SCHEMA_CONFLICT;
                break;
            }
            size_t j = 0;
            while (j < k && strcmp(u[j].name, ci->name)) j++;
            if (j < k) {
                if (u[j].type != ci->type) {
                    ql_err(err, errlen, "column '%s' is %s in one file and %s in another", ci->name,
                           ql_pq_type_name(u[j].type), ql_pq_type_name(ci->type));
                    rc = SCHEMA_CONFLICT;
                    break;
                }
                if (!ci->required) u[j].required = 0;
                continue;
            }
            u = ql_realloc(u, (k + 1) * sizeof *u);
            u[k].name = ql_strdup(ci->name);
            u[k].type = ci->type;
            u[k].required = ci->required && i == 0;
            u[k].out = -1;
            k++;
        }
    }
    /* a column missing from some input can't be REQUIRED */
    for (size_t j = 0; j < k && !rc; j++)
        for (size_t i = 0; i < n && u[j].required; i++)
            if (ql_pq_column_index(in[i], u[j].name) < 0) u[j].required = 0;
    *out = u;
    *nout = k;
    return rc;
}

static void ucols_free(ucol_t *u, size_t n)
{
    for (size_t i = 0; i < n; i++) free(u[i].name);
    free(u);
}

/* Copies every row of `in` into w (columns by name). */
static int copy_rows(ql_pq_file_t *in, ql_pq_writer_t *w, const ucol_t *u, size_t nu, char *err, size_t errlen)
{
    int nrg = ql_pq_num_row_groups(in);
    int nc = ql_pq_num_columns(in);
    ql_pq_column_data_t *cd = ql_calloc((size_t)nc, sizeof *cd);
    int *map = ql_calloc((size_t)nc, sizeof *map);
    int rc = 0;
    for (int c = 0; c < nc; c++) {
        map[c] = -1;
        for (size_t j = 0; j < nu; j++)
            if (!strcmp(u[j].name, ql_pq_column(in, c)->name)) map[c] = u[j].out;
    }
    for (int rg = 0; rg < nrg && !rc; rg++) {
        int64_t rows = ql_pq_row_group_rows(in, rg);
        int loaded = 0;
        for (int c = 0; c < nc; c++, loaded++)
            if ((rc = ql_pq_read_column(in, rg, c, &cd[c], err, errlen))) break;
        for (int c = 0; c < nc && !rc; c++)
            if (cd[c].n != rows) rc = ql_err(err, errlen, "column chunk has %lld values for %lld rows",
                                             (long long)cd[c].n, (long long)rows);
        for (int64_t r = 0; r < rows && !rc; r++) {
            for (int c = 0; c < nc; c++) {
                if (map[c] < 0 || !cd[c].valid[r]) continue;
                switch (cd[c].type) {
                case QL_PQ_STRING: ql_pq_writer_set_string(w, map[c], cd[c].str[r], cd[c].str_len[r]); break;
                case QL_PQ_INT32: ql_pq_writer_set_int32(w, map[c], (int32_t)cd[c].i64[r]); break;
                case QL_PQ_INT64:
                case QL_PQ_TIMESTAMP: ql_pq_writer_set_int64(w, map[c], cd[c].i64[r]); break;
                case QL_PQ_DOUBLE: ql_pq_writer_set_double(w, map[c], cd[c].f64[r]); break;
                case QL_PQ_BOOL: ql_pq_writer_set_bool(w, map[c], (int)cd[c].i64[r]); break;
                default: break;
                }
            }
            rc = ql_pq_writer_end_row(w, err, errlen);
        }
        for (int c = 0; c < loaded; c++) ql_pq_column_data_free(&cd[c]);
        memset(cd, 0, (size_t)nc * sizeof *cd);
    }
    free(cd);
    free(map);
    return rc;
}

/* Merges files[0..n) (same dir, same label, disjoint, sorted) into one. */
/* Writes the intent of an import merge (I6): "out NAME", "in NAME"…, "end";
 * fsyncs it and the directory. */
static int write_intent(const char *dir, const char *out_name, const ql_lake_file_t *files, size_t n, char *path,
                        size_t pathlen, char *err, size_t errlen)
{
    static unsigned long seq;
    unsigned long k = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
    if (snprintf(path, pathlen, "%s/.compact-%ld.%lu.intent", dir, (long)getpid(), k) >= (int)pathlen)
        return ql_err(err, errlen, "path too long");
    ql_buf_t b = QL_BUF_INIT;
    ql_buf_printf(&b, "out %s\n", out_name);
    for (size_t i = 0; i < n; i++) ql_buf_printf(&b, "in %s\n", files[i].name);
    ql_buf_puts(&b, "end\n");
    int rc = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || ql_write_all(fd, b.data, b.len) != 0 || fsync(fd) != 0)
        rc = ql_err(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    ql_buf_free(&b);
    if (!rc) rc = ql_fsync_dir(dir, err, errlen);
    return rc;
}

static int merge_run(const char *lake_dir, const char *table, ql_lake_file_t *files, size_t n,
                     const ql_lake_compact_options_t *opt, ql_lake_compact_stats_t *st, char *err, size_t errlen)
{
    /* files of several imports (different labels): a new label and an intent */
    int import_merge = 0;
    for (size_t i = 1; i < n; i++)
        if (strcmp(files[i].label, files[0].label)) import_merge = 1;
    char intent[4096] = "";
    const char *bad = NULL;  /* the input a read error came from, named in err */
    ql_pq_file_t **in = ql_calloc(n, sizeof *in);
    ucol_t *u = NULL;
    size_t nu = 0;
    ql_pq_writer_t *w = NULL;
    ql_lake_pending_t p;
    memset(&p, 0, sizeof p);
    p.fd = -1;
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if ((rc = ql_pq_open(&in[i], files[i].path, err, errlen))) {
            bad = files[i].path;
            goto out;
        }
    if ((rc = union_schema(in, n, &u, &nu, err, errlen))) goto out;
    if ((rc = ql_lake_pending_open(&p, lake_dir, table, files[0].dt, err, errlen))) goto out;
    const char *tname = ql_pq_kv(in[0], "questlog.table");
    const char *kv[] = {"questlog.table", tname ? tname : table, NULL};
    ql_pq_write_options_t wo = opt->wopt ? *opt->wopt : (ql_pq_write_options_t){.codec = QL_PQ_ZSTD};
    wo.kv = kv;
    if ((rc = ql_pq_writer_new(&w, p.fd, &wo, err, errlen))) goto out;
    for (size_t j = 0; j < nu; j++)
        if ((u[j].out = ql_pq_writer_add_column(w, u[j].name, u[j].type, u[j].required, err, errlen)) < 0) {
            rc = -1;
            goto out;
        }
    int64_t rows_in = 0;
    for (size_t i = 0; i < n; i++) {
        if ((rc = copy_rows(in[i], w, u, nu, err, errlen))) {
            bad = files[i].path;
            goto out;
        }
        rows_in += ql_pq_num_rows(in[i]);
    }
    if ((rc = ql_pq_writer_finish(w, err, errlen))) goto out;
    if (ql_pq_writer_num_rows(w) != rows_in) {
        rc = ql_err(err, errlen, "internal: merged %lld rows, inputs hold %lld", (long long)ql_pq_writer_num_rows(w),
                    (long long)rows_in);
        goto out;
    }
    uint64_t out_bytes = ql_pq_writer_bytes_written(w);
    if (import_merge) {
        char label[QL_LAKE_LABEL_MAX];
        uint16_t rnd = 0;
        if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd) rnd = (uint16_t)getpid();
        snprintf(label, sizeof label, "imp%012llx%04xc", (unsigned long long)(ql_now_us() / 1000) & 0xFFFFFFFFFFFFull,
                 rnd);
        ql_lake_pending_name(&p, label, 0, rows_in > 0 ? rows_in - 1 : 0);
        if ((rc = ql_lake_import_mark_merged(lake_dir, p.final, files, n, err, errlen))) goto out;
        if ((rc = write_intent(p.dir, strrchr(p.final, '/') + 1, files, n, intent, sizeof intent, err, errlen)))
            goto out;
    } else {
        ql_lake_pending_name(&p, files[0].label, files[0].first, files[n - 1].last);
    }
    /* the commit point: after this rename the merged file covers the inputs
     * (same label: by its range; several imports: by the intent) */
    if ((rc = ql_lake_commit(&p, 1, err, errlen))) goto out;
    for (size_t i = 0; i < n; i++)
        if (unlink(files[i].path) != 0 && errno != ENOENT) {
            rc = ql_err(err, errlen, "cannot delete '%s' (hidden by the merged file; deleted at next start): %s",
                        files[i].path, strerror(errno));
            goto out;
        }
    if ((rc = ql_fsync_dir(p.dir, err, errlen))) goto out;
    if (intent[0]) {
        if (unlink(intent) != 0) {
            rc = ql_err(err, errlen, "cannot delete '%s': %s", intent, strerror(errno));
            goto out;
        }
        intent[0] = '\0';
        if ((rc = ql_fsync_dir(p.dir, err, errlen))) goto out;
    }
    st->groups++;
    st->files_in += n;
    st->files_out++;
    st->rows += (uint64_t)rows_in;
    for (size_t i = 0; i < n; i++) st->bytes_in += (uint64_t)files[i].size;
    st->bytes_out += out_bytes;
    if (opt->verbose)
        fprintf(stderr, "compact: %s/dt=%s: %zu files -> %s (%lld rows)\n", table, files[0].dt, n,
                strrchr(p.final, '/') + 1, (long long)rows_in);
out:
    if (rc) ql_lake_pending_discard(&p);   /* no-op once renamed */
    if (rc && intent[0] && !ql_lake_exists_in(p.dir, strrchr(p.final, '/') + 1)) unlink(intent);
    if (rc && bad) ql_err(err, errlen, "%s: %s (the partition's files are left as they were)", bad, err);
    ql_pq_writer_free(w);
    for (size_t i = 0; i < n; i++) ql_pq_close(in[i]);
    free(in);
    ucols_free(u, nu);
    return rc;
}

int ql_lake_compact(const char *lake_dir, const char *table, const ql_lake_compact_options_t *opt,
                    ql_lake_compact_stats_t *stats, char *err, size_t errlen)
{
    ql_lake_compact_options_t o = opt ? *opt : (ql_lake_compact_options_t){0};
    if (o.min_files < 2) o.min_files = 2;
    if (o.max_bytes <= 0) o.max_bytes = (int64_t)1 << 30;
    if (o.small_bytes <= 0) o.small_bytes = (int64_t)64 << 20;
    ql_lake_compact_stats_t st;
    memset(&st, 0, sizeof st);
    if (ql_lake_recover(lake_dir, table, NULL, err, errlen)) return -1;
    ql_lake_file_t *f;
    size_t n;
    if (ql_lake_list_files(lake_dir, table, &f, &n, err, errlen)) return -1;
    if (n) qsort(f, n, sizeof *f, ql_lake_cmp_group);
    char today[11];
    ql_date_format(ql_now_us(), today);
    int rc = 0;
    size_t i = 0;
    while (i < n && !rc) {
        /* a group: same directory and same label — or, for files that are
         * not in the offset record (imports), any such label */
        size_t j = i + 1;
        int imp = f[i].label[0] && f[i].partition < 0;
        while (j < n && dir_len(&f[j]) == dir_len(&f[i]) && !strncmp(f[j].path, f[i].path, dir_len(&f[i])) &&
               (!strcmp(f[j].label, f[i].label) || (imp && f[j].label[0] && f[j].partition < 0)))
            j++;
        int eligible = f[i].label[0] && f[i].dt[0] && (o.all || strcmp(f[i].dt, today) < 0);
        /* runs of disjoint files within the input budget */
        size_t a = i;
        while (eligible && a < j && !rc) {
            if (f[a].size >= o.small_bytes) {   /* big enough: left as it is */
                a++;
                continue;
            }
            size_t b = a + 1;
            int64_t bytes = f[a].size;
            while (b < j && f[b].size < o.small_bytes && (imp || f[b].first > f[b - 1].last) &&
                   bytes + f[b].size <= o.max_bytes) {
                bytes += f[b].size;
                b++;
            }
            if ((int)(b - a) >= o.min_files) {
                if (o.dry_run) {
                    fprintf(stderr, "compact: would merge %zu files of %s/dt=%s (%s)\n", b - a, table, f[a].dt,
                            f[a].label);
                    st.groups++;
                    st.files_in += b - a;
                } else {
                    rc = merge_run(lake_dir, table, &f[a], b - a, &o, &st, err, errlen);
                    if (rc == SCHEMA_CONFLICT) {
                        if (o.verbose)
                            fprintf(stderr, "compact: %s/dt=%s: %zu files left as they are: %s\n", table, f[a].dt,
                                    b - a, err);
                        rc = 0;
                    }
                }
            }
            a = b;
        }
        i = j;
    }
    ql_lake_files_free(f, n);
    if (stats) *stats = st;
    return rc;
}
