/*
 * vtab_prefetch.c — read-ahead for the questlog_parquet module's streamed
 * scans (vtab_scan.c): one helper thread per cursor, started on first use
 * and only with two CPUs or more, decodes the next surviving row group
 * while SQLite consumes the current one, and the scan takes its columns
 * over when it gets there (ql_vtab_prefetch_take, which also pins their
 * strings and reports a decode error, on the statement's thread). The
 * hand-over's rules, which make the thread safe, are at prefetch_t below.
 */
#include "vtab_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* ---- decoding ahead (streamed scans) ------------------------------------ */

/* While SQLite consumes row group N, a helper thread finds the next row
 * group that survives pruning and decodes its filter and used columns.
 * The helper reads only the table, the files and the cursor's filters,
 * which do not change while a job runs (ql_vtab_prefetch_quiesce before
 * xFilter replaces them, ql_vtab_prefetch_free before xClose frees them);
 * it touches nothing of SQLite, the string pool or the counters, and hands
 * its columns over under the mutex. */
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
    /* the walk of ql_vtab_next_row_group, without its counters */
    for (;;) {
        if (file >= 0 && file < t->nfiles) {
            const ql_vtab_file_t *f = &t->files[file];
            int nrg = ql_pq_num_row_groups(f->pq);
            for (rg++; rg < nrg; rg++) {
                int64_t n = ql_pq_row_group_rows(f->pq, rg);
                if (n > 0 && !ql_vtab_rg_excluded(t, f, rg, cur->filts, cur->nfilts)) break;
            }
            if (rg < nrg) break;
        }
        file++;
        rg = -1;
        if (file >= t->nfiles) break;
        if (ql_vtab_file_excluded(t, &t->files[file], cur->filts, cur->nfilts)) rg = INT32_MAX - 1;
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
            snprintf(p->err, sizeof p->err, "%s: %s", f->path, err);  /* err names row group and column */
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
void ql_vtab_prefetch_quiesce(pq_cursor_t *cur, int ncols)
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

void ql_vtab_prefetch_free(pq_cursor_t *cur, int ncols)
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
void ql_vtab_prefetch_start(pq_cursor_t *cur, const ql_vtab_table_t *t, int file, int rg)
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
 * cursor's current row group (strings pinned as ql_vtab_load_col would).
 * SQLITE_OK also when there is nothing to take; SQLITE_ERROR on a decode
 * error. */
int ql_vtab_prefetch_take(pq_cursor_t *cur, const ql_vtab_table_t *t, int file, int rg)
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
            cur->loaded[c] = (uint8_t)(1 + ql_vtab_pin_dict(vt, &cur->data[c]));
        }
    pf_discard(p, t->ncols);
    return SQLITE_OK;
}
