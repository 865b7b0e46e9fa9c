/*
 * fuzz_parquet.c — libFuzzer target for the Parquet reader (pq_read.c,
 * pq_decode.c): any bytes given to ql_pq_open_mem, then every accessor and
 * every column of every row group decoded (ql_pq_read_column, and again in
 * dictionary form with ql_pq_read_column_dict, which must give the same
 * values) and every dictionary read (ql_pq_read_dictionary). The reader must return an error
 * or values, never read outside the buffer (it is copied to an exact-size
 * allocation so ASan sees over-reads), crash, hang or allocate without bound.
 * Decoded values are checked for shape: n equals the row group's rows, and
 * every string lies wholly in memory (touched byte by byte).
 * Seeds: tests/fuzz/corpus/parquet/ (small files written by DuckDB).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pq.h"
#include "fuzz_ubsan.h"

static volatile uint8_t sink;

static void touch(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) sink ^= (uint8_t)s[i];
}

static void check_data(const ql_pq_column_data_t *d)
{
    for (int64_t i = 0; i < d->n; i++) {
        if (d->valid[i] > 1) abort();
        if (d->str && d->valid[i]) touch(d->str[i], d->str_len[i]);
        if (d->i64) sink ^= (uint8_t)d->i64[i];
        if (d->f64) sink ^= (uint8_t)(d->f64[i] != 0);
    }
}

/* Row r of a per-row column (a) and of a column from ql_pq_read_column_dict (b) agree. */
static void check_same(const ql_pq_column_data_t *a, const ql_pq_column_data_t *b)
{
    if (a->n != b->n || a->type != b->type) abort();
    for (int64_t r = 0; r < a->n; r++) {
        if (a->valid[r] != b->valid[r]) abort();
        if (!a->valid[r]) continue;
        if (!b->idx) {
            if (a->i64 && a->i64[r] != b->i64[r]) abort();
            if (a->f64 && memcmp(&a->f64[r], &b->f64[r], sizeof(double)) != 0) abort();
            if (a->str && (a->str_len[r] != b->str_len[r] || memcmp(a->str[r], b->str[r], a->str_len[r]) != 0)) abort();
            continue;
        }
        uint32_t k = b->idx[r];
        if ((int64_t)k >= b->dict_n) abort();
        if (a->i64 && a->i64[r] != b->dict_i64[k]) abort();
        if (a->f64 && memcmp(&a->f64[r], &b->dict_f64[k], sizeof(double)) != 0) abort();
        if (a->str && (a->str_len[r] != b->dict_len[k] || memcmp(a->str[r], b->dict_str[k], a->str_len[r]) != 0))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    ql_pq_file_t *f;
    char err[256];
    if (ql_pq_open_mem(&f, buf, size, err, sizeof err) == 0) {
        /* Mutated pages would mostly stop at their CRC (questlog-written
         * seeds carry one); skip it so they reach the decoders. The check
         * itself is tested by test_pq_read's byte flips. */
        ql_pq_skip_checksums(f);
        int nc = ql_pq_num_columns(f), nrg = ql_pq_num_row_groups(f);
        const char *cb = ql_pq_created_by(f);
        if (cb) touch(cb, strlen(cb));
        (void)ql_pq_kv(f, "ARROW:schema");
        for (int c = 0; c < nc; c++) {
            const ql_pq_column_info_t *ci = ql_pq_column(f, c);
            if (ql_pq_column_index(f, ci->name) < 0) abort();
        }
        for (int g = 0; g < nrg; g++) {
            for (int c = 0; c < nc; c++) {
                const ql_pq_chunk_info_t *ch = ql_pq_chunk(f, g, c);
                if (ch->min.is_set && ch->min.s) touch(ch->min.s, ch->min.len);
                if (ch->max.is_set && ch->max.s) touch(ch->max.s, ch->max.len);
                touch(ch->encodings, strlen(ch->encodings));
                ql_pq_column_data_t d, e;
                int rd = ql_pq_read_column(f, g, c, &d, err, sizeof err);
                if (rd == 0) {
                    if (d.n != ql_pq_row_group_rows(f, g)) abort();
                    check_data(&d);
                }
                if ((ql_pq_read_column_dict(f, g, c, &e, err, sizeof err) == 0) != (rd == 0)) abort();
                if (rd == 0) check_same(&d, &e);
                ql_pq_column_data_free(&e);
                ql_pq_column_data_free(&d);
                int r = ql_pq_read_dictionary(f, g, c, &d, err, sizeof err);
                if (r == 1) check_data(&d);
                ql_pq_column_data_free(&d);
            }
        }
        ql_pq_close(f);
    }
    free(buf);
    return 0;
}
