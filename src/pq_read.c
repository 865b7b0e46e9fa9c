/*
 * pq_read.c — questlog's Parquet reader, data side: decoding of one column
 * chunk at a time into flat arrays (contract in pq.h): the walk over the
 * chunk's pages with the CRC check, decompression, definition levels, the
 * dictionary, values (the value encodings themselves are in pq_decode.c),
 * and the dictionary-form reads. Opening a file and parsing its footer and
 * page headers is pq_footer.c's; what both share is in pq_read_int.h;
 * docs/parquet-reader.md tells the story.
 *
 * Safety invariants (the reader is fuzzed; a malformed file must give an
 * error, never a crash, an over-read, an unbounded allocation or a hang).
 * They rely on what pq_footer.c checked (pq_read_int.h): a chunk's byte
 * range lies in the file, its declared counts and sizes are within the
 * QL_PQ_MAX_CHUNK_* limits, a page header's sizes and counts are bounded.
 *  - Every offset and length taken from the file is checked against the bytes
 *    that remain in its enclosing range (chunk → page → section) before it is
 *    used, in 64-bit arithmetic, so nothing wraps.
 *  - Allocations are sized by bounded quantities only: a page's uncompressed
 *    size (≤ QL_PQ_MAX_PAGE, and all of a chunk's pages together ≤ its
 *    declared size ≤ QL_PQ_MAX_CHUNK_BYTES), a dictionary's entry count (≤
 *    what its page bytes can hold), and the value arrays: sized up front for
 *    at most 1M values (malloc'ed, untouched until decoded), beyond that grown
 *    with the values actually decoded, never past the chunk's declared count
 *    (≤ QL_PQ_MAX_CHUNK_VALUES).
 *  - Every loop advances through input bytes or output values, both bounded.
 *  - A page whose header carries a CRC is checked against it before its body
 *    is decompressed or decoded (next_page), so a corrupt page that still
 *    decodes (a flipped bit in a literal) is an error, not wrong values.
 *
 * Performance: values are decoded page by page straight into the output
 * arrays (dense, then spread out over the nulls in place); strings are
 * pointer+length into page buffers the column data owns — no per-value
 * allocation.
 */
#include "pq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pq_decode.h"
#include "pq_internal.h"
#include "pq_read_int.h"
#include "util.h"

static rep_t type_rep(ql_pq_type_t t)
{
    switch (t) {
    case QL_PQ_STRING:
    case QL_PQ_BINARY: return REP_STR;
    case QL_PQ_DOUBLE:
    case QL_PQ_FLOAT: return REP_F64;
    default: return REP_I64;
    }
}

/* ---- column decoding ------------------------------------------------------ */

/* Buffers a column's data owns (page buffers strings point into). */
typedef struct arena {
    void  **p;
    size_t  n, cap;
} arena_t;

static void *arena_keep(arena_t *a, void *p)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->p = ql_realloc(a->p, a->cap * sizeof *a->p);
    }
    a->p[a->n++] = p;
    return p;
}

/* Destination of decoded values, in the column's output representation. */
typedef struct vec {
    int64_t     *i64;
    double      *f64;
    const char **str;
    uint32_t    *len;
} vec_t;

typedef struct rd {
    ql_pq_file_t        *f;
    const colx_t        *c;
    ql_pq_codec_t        codec;
    rep_t                rep;       /* output representation */
    arena_t             *arena;     /* where kept page buffers go */
    ql_pq_column_data_t *out;
    size_t               cap;       /* allocated entries in out's arrays */
    int                  dict_form; /* rows so far are in out->idx (dictionary form) */
    /* dictionary, in the output representation */
    int                  has_dict;
    size_t               dict_n;
    vec_t                dict;
    /* scratch, for one read: a file handle keeps no buffers or codec contexts
     * between reads (the query layer may hold hundreds of files open) */
    ql_pq_zctx_t         z;
    uint8_t             *page;      size_t page_cap;
    uint32_t            *idx;       size_t idx_cap;
    int64_t             *tmp;       size_t tmp_cap;
    uint8_t             *bss;       size_t bss_cap;
    int64_t             *raw_i64;   size_t raw_i64_cap;   /* DECIMAL from ints */
    const char         **raw_str;   uint32_t *raw_len;    size_t raw_str_cap;  /* DECIMAL from bytes */
    char                *err;
    size_t               errlen;
} rd_t;

static int rd_fail(rd_t *d, const char *msg)
{
    return ql_err(d->err, d->errlen, "%s", msg);
}

/* The page's bytes after decompression. keep = the result must live as long
 * as the column data (string values point into it). */
static const uint8_t *page_data(rd_t *d, ql_pq_codec_t codec, const uint8_t *src, size_t n, size_t usize,
                                int keep)
{
    char msg[160];
    if (codec == QL_PQ_UNCOMPRESSED && !keep) {
        if (n != usize) {
            rd_fail(d, "uncompressed page sizes disagree");
            return NULL;
        }
        return src;
    }
    uint8_t *dst;
    if (keep) {
        dst = arena_keep(d->arena, ql_malloc(usize ? usize : 1));
    } else {
        d->page = grow(d->page, &d->page_cap, usize ? usize : 1, 1);
        dst = d->page;
    }
    if (ql_pq_decompress(&d->z, codec, src, n, dst, usize, msg, sizeof msg) < 0) {
        rd_fail(d, msg);
        return NULL;
    }
    return dst;
}

/* Integer conversions of a decoded INT32/INT64 run, in place. */
static void convert_ints(const colx_t *c, int64_t *v, size_t n)
{
    if (c->is_unsigned) {
        for (size_t i = 0; i < n; i++) v[i] = (int64_t)(uint32_t)v[i];
    } else if (c->ts_unit == UNIT_MILLIS) {
        for (size_t i = 0; i < n; i++)
            v[i] = v[i] > INT64_MAX / 1000 ? INT64_MAX : v[i] < INT64_MIN / 1000 ? INT64_MIN : v[i] * 1000;
    } else if (c->ts_unit == UNIT_NANOS) {
        for (size_t i = 0; i < n; i++) v[i] = v[i] >= 0 ? v[i] / 1000 : -((-(v[i] + 1)) / 1000) - 1;
    }
}

/* PLAIN-encoded fixed-width or byte-array values into raw arrays of the
 * physical representation. *used gets the bytes consumed. */
static int decode_plain(rd_t *d, const uint8_t *p, size_t n, size_t nn, int64_t *i64, double *f64,
                        const char **str, uint32_t *len, size_t *used)
{
    const colx_t *c = d->c;
    size_t w = 0;
    switch (c->phys) {
    case PQ_T_BOOLEAN: w = 0; break;
    case PQ_T_INT32: case PQ_T_FLOAT: w = 4; break;
    case PQ_T_INT64: case PQ_T_DOUBLE: w = 8; break;
    case PQ_T_INT96: w = 12; break;
    case PQ_T_FIXED_LEN_BYTE_ARRAY: w = (size_t)c->type_length; break;
    case PQ_T_BYTE_ARRAY: {
        const uint8_t *s = p, *end = p + n;
        for (size_t i = 0; i < nn; i++) {
            if (end - s < 4) return rd_fail(d, "PLAIN byte array truncated");
            uint32_t l = le32(s);
            s += 4;
            if (l > (size_t)(end - s)) return rd_fail(d, "PLAIN byte array longer than its page");
            str[i] = (const char *)s;
            len[i] = l;
            s += l;
        }
        *used = (size_t)(s - p);
        return 0;
    }
    }
    if (c->phys == PQ_T_BOOLEAN) {
        if (n < (nn + 7) / 8) return rd_fail(d, "PLAIN booleans truncated");
        for (size_t i = 0; i < nn; i++) i64[i] = (p[i >> 3] >> (i & 7)) & 1;
        *used = (nn + 7) / 8;
        return 0;
    }
    if (nn > n / w) return rd_fail(d, "PLAIN values truncated");
    switch (c->phys) {
    case PQ_T_INT32:
        for (size_t i = 0; i < nn; i++) i64[i] = (int32_t)le32(p + 4 * i);
        break;
    case PQ_T_INT64: memcpy(i64, p, nn * 8); break;
    case PQ_T_DOUBLE: memcpy(f64, p, nn * 8); break;
    case PQ_T_FLOAT:
        for (size_t i = 0; i < nn; i++) {
            float x;
            memcpy(&x, p + 4 * i, 4);
            f64[i] = x;
        }
        break;
    case PQ_T_INT96:
        for (size_t i = 0; i < nn; i++) {
            const uint8_t *q = p + 12 * i;
            int64_t nanos = (int64_t)le64(q), day = (int64_t)(int32_t)le32(q + 8);
            /* in unsigned arithmetic: a day far from the epoch must not be a
             * signed overflow (UB, found by fuzz_parquet); it wraps */
            i64[i] = (int64_t)((uint64_t)(day - 2440588) * 86400000000ULL + (uint64_t)(nanos / 1000));
        }
        break;
    case PQ_T_FIXED_LEN_BYTE_ARRAY:
        for (size_t i = 0; i < nn; i++) {
            str[i] = (const char *)p + w * i;
            len[i] = (uint32_t)w;
        }
        break;
    }
    *used = nn * w;
    return 0;
}

/* Decodes nn non-dictionary values with encoding enc from [p, p+n) into dst
 * (output representation). */
static int decode_values(rd_t *d, int enc, const uint8_t *p, size_t n, size_t nn, vec_t dst)
{
    const colx_t *c = d->c;
    rep_t raw = phys_rep(c->phys);
    int64_t *i64 = dst.i64;
    const char **str = dst.str;
    uint32_t *len = dst.len;
    const char *msg = NULL;
    size_t used;
    if (c->decimal_scale >= 0 && raw == REP_I64) {
        d->raw_i64 = grow(d->raw_i64, &d->raw_i64_cap, nn, sizeof *d->raw_i64);
        i64 = d->raw_i64;
    } else if (c->decimal_scale >= 0 && raw == REP_STR) {
        size_t cap = d->raw_str_cap;
        d->raw_str = grow(d->raw_str, &cap, nn, sizeof *d->raw_str);
        d->raw_len = grow(d->raw_len, &d->raw_str_cap, nn, sizeof *d->raw_len);
        str = d->raw_str;
        len = d->raw_len;
    }
    switch (enc) {
    case PQ_ENC_PLAIN:
        if (decode_plain(d, p, n, nn, i64, dst.f64, str, len, &used) < 0) return -1;
        break;
    case PQ_ENC_RLE: {  /* booleans (V2): 4-byte length, then the hybrid at bit width 1 */
        ql_pq_rle_t r;
        if (c->phys != PQ_T_BOOLEAN) return rd_fail(d, "RLE encoding for a non-boolean column");
        if (n < 4 || le32(p) > n - 4) return rd_fail(d, "RLE booleans truncated");
        d->idx = grow(d->idx, &d->idx_cap, nn, sizeof *d->idx);
        ql_pq_rle_init(&r, p + 4, le32(p), 1);
        if (ql_pq_rle_get_u32(&r, d->idx, nn, &msg) < 0) return rd_fail(d, msg);
        for (size_t i = 0; i < nn; i++) i64[i] = d->idx[i];
        break;
    }
    case PQ_ENC_DELTA_BINARY_PACKED: {
        size_t got;
        if (c->phys != PQ_T_INT32 && c->phys != PQ_T_INT64)
            return rd_fail(d, "DELTA_BINARY_PACKED for a non-integer column");
        if (ql_pq_delta_decode(p, n, i64, nn, &got, &used, &msg) < 0) return rd_fail(d, msg);
        if (got != nn) return rd_fail(d, "DELTA_BINARY_PACKED holds fewer values than the page");
        if (c->phys == PQ_T_INT32)
            for (size_t i = 0; i < nn; i++) i64[i] = (int32_t)(uint32_t)i64[i];
        break;
    }
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
        if (c->phys != PQ_T_BYTE_ARRAY) return rd_fail(d, "DELTA_LENGTH_BYTE_ARRAY for a non-byte-array column");
        d->tmp = grow(d->tmp, &d->tmp_cap, nn ? nn : 1, sizeof *d->tmp);
        if (ql_pq_delta_length_decode(p, n, nn, str, len, d->tmp, &msg) < 0) return rd_fail(d, msg);
        break;
    case PQ_ENC_DELTA_BYTE_ARRAY: {
        char *store;
        if (raw != REP_STR) return rd_fail(d, "DELTA_BYTE_ARRAY for a non-byte-array column");
        d->tmp = grow(d->tmp, &d->tmp_cap, nn ? 2 * nn : 1, sizeof *d->tmp);
        if (ql_pq_delta_byte_array_decode(p, n, nn, str, len, d->tmp, &store, QL_PQ_MAX_PAGE, &msg) < 0)
            return rd_fail(d, msg);
        arena_keep(d->arena, store);
        break;
    }
    case PQ_ENC_BYTE_STREAM_SPLIT: {
        int w = c->phys == PQ_T_INT32 || c->phys == PQ_T_FLOAT ? 4
              : c->phys == PQ_T_INT64 || c->phys == PQ_T_DOUBLE ? 8
              : c->phys == PQ_T_FIXED_LEN_BYTE_ARRAY && c->type_length <= 16 ? c->type_length : 0;
        if (!w) return rd_fail(d, "BYTE_STREAM_SPLIT for an unsupported type");
        if (nn > n / (size_t)w) return rd_fail(d, "BYTE_STREAM_SPLIT values truncated");
        uint8_t *b;
        if (raw == REP_STR && c->decimal_scale < 0) {
            b = arena_keep(d->arena, ql_malloc(nn * (size_t)w + 1));  /* strings point into it */
        } else {
            d->bss = grow(d->bss, &d->bss_cap, nn * (size_t)w + 1, 1);
            b = d->bss;
        }
        if (ql_pq_byte_stream_split_decode(p, nn * (size_t)w, nn, w, b, &msg) < 0) return rd_fail(d, msg);
        if (decode_plain(d, b, nn * (size_t)w, nn, i64, dst.f64, str, len, &used) < 0) return -1;
        break;
    }
    default: {
        char m[80];
        snprintf(m, sizeof m, "encoding %s not supported for data", ql_pq_encoding_name(enc));
        return rd_fail(d, m);
    }
    }
    /* Conversions to the output representation. */
    if (c->decimal_scale >= 0) {
        double div = pow(10.0, c->decimal_scale);
        if (raw == REP_I64)
            for (size_t i = 0; i < nn; i++) dst.f64[i] = (double)i64[i] / div;
        else
            for (size_t i = 0; i < nn; i++) {
                if (len[i] < 1 || len[i] > 16) return rd_fail(d, "DECIMAL value of a bad width");
                dst.f64[i] = be_decimal((const uint8_t *)str[i], len[i], c->decimal_scale);
            }
    } else if (raw == REP_I64 && c->phys != PQ_T_INT96) {
        convert_ints(c, i64, nn);
    }
    return 0;
}

/* The dictionary page: decoded (PLAIN) into d->dict. */
static int read_dictionary_page(rd_t *d, const page_hdr_t *h, const uint8_t *src)
{
    const colx_t *c = d->c;
    if (d->has_dict) return rd_fail(d, "second dictionary page");
    if (h->encoding != PQ_ENC_PLAIN && h->encoding != PQ_ENC_PLAIN_DICTIONARY)
        return rd_fail(d, "dictionary page not PLAIN-encoded");
    size_t usize = (size_t)h->usize, n = (size_t)h->num_values;
    /* Bound the entry count by what the page's bytes can hold before allocating. */
    size_t minw = c->phys == PQ_T_BOOLEAN ? 0 : c->phys == PQ_T_INT96 ? 12
                : c->phys == PQ_T_INT64 || c->phys == PQ_T_DOUBLE ? 8
                : c->phys == PQ_T_FIXED_LEN_BYTE_ARRAY ? (size_t)c->type_length : 4;
    if (minw ? n > usize / minw : n > usize * 8) return rd_fail(d, "dictionary larger than its page");
    const uint8_t *p = page_data(d, d->codec, src, (size_t)h->csize, usize, d->rep == REP_STR);
    if (!p) return -1;
    size_t alloc = n ? n : 1;
    switch (d->rep) {
    case REP_I64: d->dict.i64 = ql_malloc(alloc * sizeof *d->dict.i64); break;
    case REP_F64: d->dict.f64 = ql_malloc(alloc * sizeof *d->dict.f64); break;
    case REP_STR:
        d->dict.str = ql_malloc(alloc * sizeof *d->dict.str);
        d->dict.len = ql_malloc(alloc * sizeof *d->dict.len);
        break;
    }
    d->has_dict = 1;
    d->dict_n = n;
    return decode_values(d, PQ_ENC_PLAIN, p, usize, n, d->dict);
}

/* Makes room for `need` values in the output arrays. */
static void out_reserve(rd_t *d, size_t need)
{
    ql_pq_column_data_t *o = d->out;
    if (need <= d->cap) return;
    /* First time: room for the whole chunk up to 1M values (bounded, and not
     * touched until decoded), so common row groups never reallocate. */
    size_t c = d->cap ? d->cap : ((size_t)o->n < ((size_t)1 << 20) ? (size_t)o->n : ((size_t)1 << 20));
    while (c < need) c *= 2;
    if (c > (size_t)o->n) c = (size_t)o->n;  /* o->n: the chunk's declared count, the hard bound */
    if (c < need) c = need;
    o->valid = ql_realloc(o->valid, c);
    if (d->dict_form) {
        o->idx = ql_realloc(o->idx, c * sizeof *o->idx);
        d->cap = c;
        return;
    }
    switch (d->rep) {
    case REP_I64: o->i64 = ql_realloc(o->i64, c * sizeof *o->i64); break;
    case REP_F64: o->f64 = ql_realloc(o->f64, c * sizeof *o->f64); break;
    case REP_STR:
        o->str = ql_realloc(o->str, c * sizeof *o->str);
        o->str_len = ql_realloc(o->str_len, c * sizeof *o->str_len);
        break;
    }
    d->cap = c;
}

/* Spreads nn dense values at [at, at+nn) over the n slots [at, at+n) by valid[], nulls zeroed. */
static void spread(rd_t *d, size_t at, size_t n, size_t nn)
{
    ql_pq_column_data_t *o = d->out;
    const uint8_t *v = o->valid + at;
    if (nn == n) return;
    size_t k = nn;
#define SPREAD(ARR, ZERO)                                  \
    for (size_t i = n; i-- > 0;) {                         \
        if (v[i]) ARR[at + i] = ARR[at + --k];             \
        else ARR[at + i] = ZERO;                           \
    }
    if (d->dict_form) {
        SPREAD(o->idx, 0)
        return;
    }
    switch (d->rep) {
    case REP_I64: SPREAD(o->i64, 0) break;
    case REP_F64: SPREAD(o->f64, 0.0) break;
    case REP_STR:
        k = nn;
        SPREAD(o->str, NULL)
        k = nn;
        SPREAD(o->str_len, 0)
        break;
    }
#undef SPREAD
}

/* Leaves dictionary form: the first `upto` rows' values come from the
 * dictionary into per-row arrays (of the capacity reserved so far). */
static void materialize(rd_t *d, size_t upto)
{
    ql_pq_column_data_t *o = d->out;
    uint32_t *ix = o->idx;
    size_t cap = d->cap;
    o->idx = NULL;
    d->dict_form = 0;
    d->cap = 0;
    out_reserve(d, cap);
    for (size_t i = 0; i < upto; i++) {
        int ok = o->valid[i] && ix[i] < d->dict_n;
        switch (d->rep) {
        case REP_I64: o->i64[i] = ok ? d->dict.i64[ix[i]] : 0; break;
        case REP_F64: o->f64[i] = ok ? d->dict.f64[ix[i]] : 0.0; break;
        case REP_STR:
            o->str[i] = ok ? d->dict.str[ix[i]] : NULL;
            o->str_len[i] = ok ? d->dict.len[ix[i]] : 0;
            break;
        }
    }
    free(ix);
}

/* Values of one data page (levels already in out->valid[at..at+n)). */
static int page_values(rd_t *d, int enc, const uint8_t *p, size_t len, size_t at, size_t n)
{
    ql_pq_column_data_t *o = d->out;
    size_t nn = 0;
    for (size_t i = 0; i < n; i++) nn += o->valid[at + i];
    vec_t dst = {o->i64 ? o->i64 + at : NULL, o->f64 ? o->f64 + at : NULL, o->str ? o->str + at : NULL,
                 o->str_len ? o->str_len + at : NULL};
    if (enc == PQ_ENC_RLE_DICTIONARY || enc == PQ_ENC_PLAIN_DICTIONARY) {
        ql_pq_rle_t r;
        const char *msg;
        if (nn > 0) {
            if (!d->has_dict) return rd_fail(d, "dictionary-encoded page without a dictionary");
            if (len < 1 || ql_pq_rle_init(&r, p + 1, len - 1, p[0]) < 0)
                return rd_fail(d, "bad dictionary index bit width");
            d->idx = grow(d->idx, &d->idx_cap, nn, sizeof *d->idx);
            if (ql_pq_rle_get_u32(&r, d->idx, nn, &msg) < 0) return rd_fail(d, msg);
        }
        const uint32_t *ix = d->idx;
        size_t dn = d->dict_n;
        for (size_t i = 0; i < nn; i++)
            if (ix[i] >= dn) return rd_fail(d, "dictionary index out of range");
        if (d->dict_form) {
            if (nn) memcpy(o->idx + at, ix, nn * sizeof *ix);
            spread(d, at, n, nn);
            return 0;
        }
        switch (d->rep) {
        case REP_I64: for (size_t i = 0; i < nn; i++) dst.i64[i] = d->dict.i64[ix[i]]; break;
        case REP_F64: for (size_t i = 0; i < nn; i++) dst.f64[i] = d->dict.f64[ix[i]]; break;
        case REP_STR:
            for (size_t i = 0; i < nn; i++) {
                dst.str[i] = d->dict.str[ix[i]];
                dst.len[i] = d->dict.len[ix[i]];
            }
            break;
        }
    } else {
        if (d->dict_form) {   /* a page that is not dictionary-encoded: per-row form from here */
            materialize(d, at);
            dst = (vec_t){o->i64 ? o->i64 + at : NULL, o->f64 ? o->f64 + at : NULL, o->str ? o->str + at : NULL,
                          o->str_len ? o->str_len + at : NULL};
        }
        if (nn > 0 && decode_values(d, enc, p, len, nn, dst) < 0) return -1;
    }
    spread(d, at, n, nn);
    return 0;
}

/* Does this data page's encoding leave strings pointing into the page? */
static int page_keeps(const rd_t *d, int enc)
{
    return d->rep == REP_STR && (enc == PQ_ENC_PLAIN || enc == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY);
}

/* Validity bytes for rows [at, at+n) of out, for both data page versions:
 * an optional column decodes its definition levels (RLE, bit width 1, the
 * lvlen bytes at lv, already bounds-checked by the caller against the page);
 * a required column has none (lv is ignored) and every row is valid. */
static int page_valid(rd_t *d, const uint8_t *lv, size_t lvlen, size_t at, size_t n)
{
    if (n == 0) return 0;   /* a page of no values: out->valid may still be NULL */
    uint8_t *valid = d->out->valid + at;
    if (d->c->max_def == 0) {
        memset(valid, 1, n);
        return 0;
    }
    ql_pq_rle_t r;
    const char *msg;
    ql_pq_rle_init(&r, lv, lvlen, 1);
    if (ql_pq_rle_get_u8(&r, valid, n, &msg) < 0) return rd_fail(d, msg);
    return 0;
}

static int data_page_v1(rd_t *d, const page_hdr_t *h, const uint8_t *src, size_t at)
{
    size_t n = (size_t)h->num_values;
    const uint8_t *p = page_data(d, d->codec, src, (size_t)h->csize, (size_t)h->usize, page_keeps(d, h->encoding));
    if (!p) return -1;
    size_t len = (size_t)h->usize, dl = 0;
    if (d->c->max_def > 0) {   /* the levels lead the page, after their 4-byte length */
        if (h->def_enc != PQ_ENC_RLE) return rd_fail(d, "definition levels not RLE-encoded");
        if (len < 4 || le32(p) > len - 4) return rd_fail(d, "definition levels truncated");
        dl = le32(p);
        p += 4;
        len -= 4;
    }
    if (page_valid(d, p, dl, at, n) < 0) return -1;
    return page_values(d, h->encoding, p + dl, len - dl, at, n);
}

static int data_page_v2(rd_t *d, const page_hdr_t *h, const uint8_t *src, size_t at)
{
    size_t n = (size_t)h->num_values;
    size_t lv = (size_t)h->def_len + (size_t)h->rep_len;
    if (h->rep_len != 0) return rd_fail(d, "repetition levels in a flat column");
    if (lv > (size_t)h->csize || lv > (size_t)h->usize) return rd_fail(d, "page levels larger than the page");
    if (page_valid(d, src, (size_t)h->def_len, at, n) < 0) return -1;
    ql_pq_codec_t codec = h->is_compressed ? d->codec : QL_PQ_UNCOMPRESSED;
    const uint8_t *p = page_data(d, codec, src + lv, (size_t)h->csize - lv, (size_t)h->usize - lv,
                                 page_keeps(d, h->encoding));
    if (!p) return -1;
    return page_values(d, h->encoding, p, (size_t)h->usize - lv, at, n);
}

static void rd_free_scratch(rd_t *d)
{
    ql_pq_zctx_free(&d->z);
    free(d->dict.i64);
    free(d->dict.f64);
    free(d->dict.str);
    free(d->dict.len);
    free(d->page);
    free(d->idx);
    free(d->tmp);
    free(d->bss);
    free(d->raw_i64);
    free(d->raw_str);
    free(d->raw_len);
}

void ql_pq_column_data_free(ql_pq_column_data_t *o)
{
    if (!o) return;
    free(o->valid);
    free(o->i64);
    free(o->f64);
    free(o->str);
    free(o->str_len);
    free(o->idx);
    free(o->dict_i64);
    free(o->dict_f64);
    free(o->dict_str);
    free(o->dict_len);
    arena_t *a = o->arena;
    if (a) {
        for (size_t i = 0; i < a->n; i++) free(a->p[i]);
        free(a->p);
        free(a);
    }
    memset(o, 0, sizeof *o);
}

static int rd_begin(rd_t *d, ql_pq_file_t *f, int rg, int col, ql_pq_column_data_t *out, const chunkx_t **ch,
                    char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    memset(out, 0, sizeof *out);
    if (rg < 0 || rg >= f->nrg || col < 0 || col >= f->ncols)
        return ql_err(err, errlen, "no column %d in row group %d", col, rg);
    d->f = f;
    d->c = &f->cols[col];
    *ch = &f->chunks[(size_t)rg * (size_t)f->ncols + (size_t)col];
    d->codec = (*ch)->info.codec;
    d->rep = type_rep(d->c->info.type);
    d->err = err;
    d->errlen = errlen;
    d->out = out;
    out->type = d->c->info.type;
    out->arena = d->arena = ql_calloc(1, sizeof *d->arena);
    return 0;
}

/* One step of a walk over a column chunk's pages, for read_chunk and
 * ql_pq_read_dictionary. The caller guarantees ch->start <= *pos < ch->end.
 * Parses the page header at *pos, checks that the page's (compressed) body
 * stays inside the chunk and, when the header carries a CRC, that the body
 * matches it (before any decompression or decoding: a flipped bit on disk is
 * an error, never garbage values), points *src at that body and moves *pos
 * past it.
 * Returns 0, or -1 with the message in d->err (nothing advanced). */
static int next_page(rd_t *d, const chunkx_t *ch, int64_t *pos, page_hdr_t *h, const uint8_t **src)
{
    size_t hlen = 0;
    if (ql_pq_parse_page_header(d->f->buf + *pos, (size_t)(ch->end - *pos), h, &hlen, d->err, d->errlen) < 0) return -1;
    if ((int64_t)h->csize > ch->end - *pos - (int64_t)hlen) return rd_fail(d, "page runs past the end of its chunk");
    *src = d->f->buf + *pos + hlen;
    if (h->has_crc && !d->f->skip_crc) {
        uint32_t want = (uint32_t)h->crc, got = (uint32_t)crc32_z(0, *src, (size_t)h->csize);
        if (got != want)
            return ql_err(d->err, d->errlen,
                          "the page at byte %lld fails its checksum (CRC-32 0x%08x, stored 0x%08x): "
                          "the file is corrupt", (long long)*pos, got, want);
    }
    *pos += (int64_t)hlen + h->csize;
    return 0;
}

static int read_chunk(ql_pq_file_t *f, int rg, int col, int dict_form, ql_pq_column_data_t *out, char *err,
                      size_t errlen)
{
    rd_t d;
    const chunkx_t *ch;
    int rc = -1;
    if (rd_begin(&d, f, rg, col, out, &ch, err, errlen) < 0) return -1;
    d.dict_form = dict_form;
    size_t total = (size_t)ch->info.num_values, got = 0;
    out->n = (int64_t)total;  /* the bound out_reserve grows to; set to `got` at the end */
    int64_t pos = ch->start, usum = 0;
    while (got < total) {
        page_hdr_t h;
        const uint8_t *src;
        if (pos >= ch->end) {
            ql_err(err, errlen, "chunk ends after %zu of %zu values", got, total);
            goto out;
        }
        if (next_page(&d, ch, &pos, &h, &src) < 0) goto out;
        /* The chunk's declared uncompressed size (which includes the page
         * headers) bounds what its pages may decompress to in total. */
        usum += h.usize;
        if (usum > ch->info.total_uncompressed_size) {
            rd_fail(&d, "pages decompress to more than the chunk's declared size");
            goto out;
        }
        if (h.type == PQ_PAGE_DICTIONARY) {
            if (!h.has_dict || got > 0) {
                rd_fail(&d, got ? "dictionary page after data pages" : "dictionary page without its header");
                goto out;
            }
            if (read_dictionary_page(&d, &h, src) < 0) goto out;
        } else if (h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2) {
            if ((h.type == PQ_PAGE_DATA && !h.has_v1) || (h.type == PQ_PAGE_DATA_V2 && !h.has_v2)) {
                rd_fail(&d, "data page without its header");
                goto out;
            }
            if ((size_t)h.num_values > total - got) {
                rd_fail(&d, "pages hold more values than the chunk");
                goto out;
            }
            /* an empty page: nothing to decode, and out's arrays may not
             * exist yet (NULL + 0, memset(NULL, …, 0): UB, found by fuzz_parquet) */
            if (h.num_values == 0) continue;
            out_reserve(&d, got + (size_t)h.num_values);
            if ((h.type == PQ_PAGE_DATA ? data_page_v1 : data_page_v2)(&d, &h, src, got) < 0) goto out;
            got += (size_t)h.num_values;
        }
        /* INDEX_PAGE and unknown page types are skipped. */
    }
    if (d.dict_form) {   /* hand the dictionary over (nothing decoded: an empty one) */
        if (!out->idx) out->idx = ql_calloc(1, sizeof *out->idx);
        out->dict_n = (int64_t)d.dict_n;
        out->dict_i64 = d.dict.i64;
        out->dict_f64 = d.dict.f64;
        out->dict_str = d.dict.str;
        out->dict_len = d.dict.len;
        memset(&d.dict, 0, sizeof d.dict);
    }
    rc = 0;
out:
    out->n = (int64_t)got;
    rd_free_scratch(&d);
    if (rc < 0) ql_pq_column_data_free(out);
    return rc;
}

static int read_dictionary(ql_pq_file_t *f, int rg, int col, ql_pq_column_data_t *out, char *err, size_t errlen);

/* Puts "row group R column C: " before a read error, so that every read
 * function's message says where it happened and callers add only the file. */
static int name_read_error(const ql_pq_file_t *f, int rg, int col, char *err, size_t errlen)
{
    if (rg < 0 || rg >= f->nrg || col < 0 || col >= f->ncols) return -1;  /* rd_begin's own message */
    return ql_err(err, errlen, "row group %d column %s: %s", rg, f->cols[col].info.name, err);
}

int ql_pq_read_column(ql_pq_file_t *f, int rg, int col, ql_pq_column_data_t *out, char *err, size_t errlen)
{
    if (read_chunk(f, rg, col, 0, out, err, errlen) < 0) return name_read_error(f, rg, col, err, errlen);
    return 0;
}

int ql_pq_read_column_dict(ql_pq_file_t *f, int rg, int col, ql_pq_column_data_t *out, char *err, size_t errlen)
{
    if (read_chunk(f, rg, col, 1, out, err, errlen) < 0) return name_read_error(f, rg, col, err, errlen);
    return 0;
}

int ql_pq_read_dictionary(ql_pq_file_t *f, int rg, int col, ql_pq_column_data_t *out, char *err, size_t errlen)
{
    int rc = read_dictionary(f, rg, col, out, err, errlen);
    return rc < 0 ? name_read_error(f, rg, col, err, errlen) : rc;
}

static int read_dictionary(ql_pq_file_t *f, int rg, int col, ql_pq_column_data_t *out, char *err, size_t errlen)
{
    rd_t d;
    const chunkx_t *ch;
    int rc = -1, all_dict = 1;
    if (rd_begin(&d, f, rg, col, out, &ch, err, errlen) < 0) return -1;
    int64_t pos = ch->start;
    while (pos < ch->end) {
        page_hdr_t h;
        const uint8_t *src;
        if (next_page(&d, ch, &pos, &h, &src) < 0) goto out;
        if (h.type == PQ_PAGE_DICTIONARY && h.has_dict) {
            if (read_dictionary_page(&d, &h, src) < 0) goto out;
        } else if (h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2) {
            if (!d.has_dict) break;
            if (h.encoding != PQ_ENC_RLE_DICTIONARY && h.encoding != PQ_ENC_PLAIN_DICTIONARY) {
                all_dict = 0;
                break;
            }
        }
    }
    if (!d.has_dict) all_dict = 0;
    if (all_dict) {
        /* Hand the dictionary arrays over to out. */
        out->n = (int64_t)d.dict_n;
        out->valid = ql_malloc(d.dict_n ? d.dict_n : 1);
        memset(out->valid, 1, d.dict_n);
        out->i64 = d.dict.i64;
        out->f64 = d.dict.f64;
        out->str = d.dict.str;
        out->str_len = d.dict.len;
        memset(&d.dict, 0, sizeof d.dict);
    }
    rc = all_dict;
out:
    rd_free_scratch(&d);
    if (rc <= 0) {
        ql_pq_column_data_free(out);
        out->type = f->cols[col].info.type;
    }
    return rc;
}
