/*
 * vtab_scan.c — the questlog_parquet module's streamed scan: the cursor's
 * walk over the files and row groups that survive pruning (counted into the
 * connection's stats), the decoding of a column of the current row group on
 * its first use (so a filter column that rejects a whole row group spares
 * decoding the rest), in dictionary form where the chunk allows
 * (ql_pq_read_column_dict), the take-over of what the prefetch thread
 * decoded ahead, and the table's string pool.
 *
 * SQLITE_STATIC lifetimes: a string goes to SQLite without a copy only when
 * it lives until the table is disconnected, because SQLite may keep such a
 * pointer in a register (a GROUP BY key, a max()) past the row, the filter
 * and even the cursor it came from: dictionary strings copied into the
 * table's pool (ql_vtab_pin_dict) and partition values (owned by the table).
 * Everything else goes as SQLITE_TRANSIENT. How a decoded column's strings
 * go is loaded[c] - 1 (PIN_*).
 */
#include "vtab_int.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Copies the strings of a dictionary-form chunk into the table's pool (see
 * pq_vtab_t), each followed by a NUL byte, when the pool has room, and
 * points the dictionary at the copies: PIN_Z or PIN_LEN if done, else
 * PIN_NO. */
int ql_vtab_pin_dict(pq_vtab_t *vt, ql_pq_column_data_t *d)
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

void ql_vtab_unload(pq_cursor_t *cur, int ncols)
{
    for (int c = 0; c < ncols; c++)
        if (cur->loaded[c]) {
            ql_pq_column_data_free(&cur->data[c]);
            memset(&cur->data[c], 0, sizeof cur->data[c]);
            cur->loaded[c] = 0;
        }
}

/* Decodes column c of the current row group if not yet done. loaded[c]
 * becomes 1 + ql_vtab_pin_dict's answer. */
int ql_vtab_load_col(pq_cursor_t *cur, int c)
{
    pq_vtab_t *vt = (pq_vtab_t *)cur->base.pVtab;
    if (cur->loaded[c]) return SQLITE_OK;
    ql_vtab_file_t *f = &vt->t->files[cur->file];
    int fc = f->colmap[c];
    if (fc < 0) return SQLITE_OK;   /* absent: NULL */
    char err[256];
    if (ql_pq_read_column_dict(f->pq, cur->rg, fc, &cur->data[c], err, sizeof err) < 0) {
        sqlite3_free(vt->base.zErrMsg);
        vt->base.zErrMsg = sqlite3_mprintf("%s: %s", f->path, err);  /* err names row group and column */
        return SQLITE_ERROR;
    }
    cur->loaded[c] = (uint8_t)(1 + ql_vtab_pin_dict(vt, &cur->data[c]));
    return SQLITE_OK;
}

/* Moves to the next row group that survives pruning; eof when none. With
 * `load`, decodes its filter columns (they decide the rows). */
int ql_vtab_next_row_group(pq_cursor_t *cur, int load)
{
    pq_vtab_t *vt = (pq_vtab_t *)cur->base.pVtab;
    ql_vtab_table_t *t = vt->t;
    ql_vtab_stats_t *st = vt->stats;
    ql_vtab_unload(cur, t->ncols);
    for (;;) {
        if (cur->file >= 0 && cur->file < t->nfiles) {
            ql_vtab_file_t *f = &t->files[cur->file];
            cur->rowid_base += cur->rg_rows;
            cur->rg_rows = 0;
            cur->rg++;
            int nrg = ql_pq_num_row_groups(f->pq);
            while (cur->rg < nrg) {
                int64_t n = ql_pq_row_group_rows(f->pq, cur->rg);
                int ex = n > 0 ? ql_vtab_rg_excluded(t, f, cur->rg, cur->filts, cur->nfilts) : 1;
                if (ex == 2 && st) st->rg_skipped_dict++;
                if (!ex) {
                    if (st) { st->rg_scanned++; st->rows_read += n; }
                    cur->rg_rows = n;
                    cur->row = 0;
                    if (load) {   /* what was decoded ahead, and the next one started */
                        int rc = ql_vtab_prefetch_take(cur, t, cur->file, cur->rg);
                        if (rc != SQLITE_OK) return rc;
                        if (cur->col_used || cur->nfilts) ql_vtab_prefetch_start(cur, t, cur->file, cur->rg);
                    }
                    for (int i = 0; i < cur->nfilts && load; i++) {
                        int rc = ql_vtab_load_col(cur, cur->filts[i].col);
                        if (rc != SQLITE_OK) return rc;
                    }
                    if (load && cur->nfilts) {
                        ql_vtab_dict_verdicts(cur, cur->data, cur->loaded, t, f);
                        if ((size_t)n > cur->mask_cap) {
                            cur->mask_cap = (size_t)n;
                            free(cur->mask);
                            cur->mask = ql_malloc(cur->mask_cap);
                        }
                        ql_vtab_match_rows(cur, cur->data, cur->loaded, t, f, (size_t)n, cur->mask);
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
        if (ql_vtab_file_excluded(t, f, cur->filts, cur->nfilts)) {
            if (st) { st->files_skipped++; st->rg_skipped += ql_pq_num_row_groups(f->pq); }
            cur->rowid_base += ql_pq_num_rows(f->pq);
            cur->rg = ql_pq_num_row_groups(f->pq);   /* consumed: the next turn moves on */
            continue;
        }
        if (st) st->files_scanned++;
    }
}
