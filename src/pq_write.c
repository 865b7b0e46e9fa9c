/*
 * pq_write.c — questlog's Parquet writer (API and contract in pq.h; the story
 * in docs/parquet.md).
 *
 * Data flow: set_* stores the row's values in per-column pending slots
 * (strings are copied into one per-row scratch buffer); end_row appends each
 * column's value (or a null) to the column's open data page; a full page is
 * encoded (definition levels + values), compressed and appended, with its page
 * header, to the column's chunk buffer; a full row group writes, per column,
 * the dictionary page and the buffered data pages to fd and keeps the
 * ColumnChunk metadata for the footer; finish writes the footer.
 *
 * Dictionary encoding (every type but BOOLEAN): values are interned into a
 * per-column-chunk hash table whose entries live in the PLAIN-encoded
 * dictionary page payload itself; data pages hold RLE_DICTIONARY indices.
 * The dictionary is given up (PLAIN instead):
 *   - when it does not pay: checked once per chunk after DICT_PROBE_VALUES
 *     non-null values or at the first page end, whichever comes first:
 *     dictionary + indices >= PLAIN size;
 *   - when it passes dict_max_bytes.
 * If no dictionary-encoded page has been emitted yet in the chunk, the open
 * page is re-encoded as PLAIN and the chunk has no dictionary at all;
 * otherwise the chunk keeps its dictionary page and RLE_DICTIONARY pages and
 * continues with PLAIN pages (legal: readers switch per page). A column that
 * gave up its dictionary writes PLAIN for the rest of the file.
 *
 * Invariants:
 *   - Memory held for the open row group is bounded by row_group_bytes plus
 *     one page per column (end_row checks after every row).
 *   - Chunk totals (total_compressed_size / total_uncompressed_size) include
 *     every page header of the chunk, dictionary page included.
 *   - Statistics cover exactly the values appended to the chunk: in dictionary
 *     mode they are updated when an entry is first inserted, which happens
 *     only in end_row (pending slots make abort_row free).
 *   - The host is little-endian (PLAIN fixed-width values are memcpy'd).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pq.h"
#include "pq_internal.h"
#include "thrift.h"
#include "util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pq_write.c assumes a little-endian host"
#endif

#define DICT_PROBE_VALUES 16384

enum { MODE_DICT, MODE_PLAIN };

typedef struct dent {
    uint32_t off;   /* key bytes in dict.data (after the length prefix for strings) */
    uint32_t len;
    uint32_t hash;
} dent_t;

typedef struct dict {
    uint64_t *slots;   /* hash << 32 | (entry index + 1); 0 = empty; nslots is a power of two */
    uint32_t  nslots;
    uint32_t  count;
    uint32_t  last;    /* index returned by the previous lookup (runs skip the hash), or UINT32_MAX */
    dent_t   *ents;
    uint32_t  ents_cap;
    ql_buf_t  data;    /* the dictionary page payload, PLAIN encoded */
} dict_t;

typedef struct col {
    char        *name;
    size_t       name_len;
    ql_pq_type_t type;
    int          required;
    int          ptype;      /* parquet physical type */
    int          width;      /* fixed PLAIN width in bytes, 0 for BYTE_ARRAY, -1 bool */

    /* pending value of the current row */
    uint64_t set_gen;
    int64_t  pi;
    double   pd;
    size_t   ps_off, ps_len; /* string bytes in w->row */

    /* open page */
    uint8_t  *def;           /* definition levels (OPTIONAL columns) */
    size_t    ndef, def_cap;
    size_t    page_values;   /* including nulls */
    size_t    page_nulls;
    uint32_t *idx;           /* dictionary indices (MODE_DICT) */
    size_t    nidx, idx_cap;
    ql_buf_t  plain;         /* PLAIN values (MODE_PLAIN) */
    size_t    nbool;         /* BOOLEAN: bits in plain */

    /* chunk */
    int      mode;
    int      dict_probed;    /* the "does the dictionary pay" check was made */
    int      no_dict;        /* sticky: PLAIN for the rest of the file */
    dict_t   dict;
    uint64_t plain_equiv;    /* PLAIN size of the non-null values in dictionary mode */
    uint64_t dict_values;    /* non-null values appended in dictionary mode this chunk */
    ql_buf_t pages;          /* data pages with headers, compressed */
    int64_t  chunk_values, chunk_nulls;
    int64_t  chunk_uncomp, chunk_comp;   /* data pages incl. headers */
    int      n_dict_data_pages, n_plain_data_pages;

    /* chunk statistics */
    int      has_minmax;
    int64_t  mini, maxi;
    double   mind, maxd;
    ql_buf_t mins, maxs;
    int64_t  nan_count;
} col_t;

struct ql_pq_writer {
    int fd;
    ql_pq_write_options_t opt;
    char **kv;                   /* owned copy of opt.kv */
    col_t *cols;
    int ncols, cols_cap;
    int nrequired;
    uint64_t row_gen;            /* pending slots with set_gen == row_gen belong to this row */
    int row_required_set;
    ql_buf_t row;                /* the current row's string bytes */
    int64_t rows;                /* rows ended */
    int64_t rg_rows;             /* rows in the open row group */
    int frozen;
    int failed;                  /* a write error happened: only free() is useful */
    uint64_t pos;                /* bytes written to fd */
    ql_buf_t pagebuf, zbuf, hdr;
    ql_pq_zctx_t z;
    ql_buf_t rg_meta;            /* serialized RowGroup structs, one per row group */
    int n_rg;
};

/* ---- small helpers ----------------------------------------------------- */

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* A fast non-cryptographic hash; short tails are read as overlapping words
 * (never outside [p, p+n)), so no byte loops and no memcpy calls. */
static inline uint32_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull), k;
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8) {
            h = (h ^ rd64(s + i)) * 0xbf58476d1ce4e5b9ull;
            h ^= h >> 31;
        }
        k = rd64(s + n - 8);
    } else if (n >= 4) {
        k = ((uint64_t)rd32(s) << 32) | rd32(s + n - 4);
    } else if (n > 0) {
        k = (uint64_t)s[0] | (uint64_t)s[n / 2] << 8 | (uint64_t)s[n - 1] << 16;
    } else {
        k = 0;
    }
    h = (h ^ k) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(h >> 32);
}

/* Equality of two n-byte keys; short keys without a memcmp call. */
static inline int key_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (n >= 8 && n <= 16) return rd64(a) == rd64(b) && rd64(a + n - 8) == rd64(b + n - 8);
    if (n >= 4 && n < 8) return rd32(a) == rd32(b) && rd32(a + n - 4) == rd32(b + n - 4);
    return memcmp(a, b, n) == 0;
}

static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) return c;
    return (an > bn) - (an < bn);
}

static void dict_free(dict_t *d)
{
    free(d->slots);
    free(d->ents);
    ql_buf_free(&d->data);
    memset(d, 0, sizeof *d);
}

/* Forget the entries, keep the memory. */
static void dict_clear(dict_t *d)
{
    if (d->slots) memset(d->slots, 0, d->nslots * sizeof *d->slots);
    d->count = 0;
    ql_buf_reset(&d->data);
}

static void dict_grow(dict_t *d)
{
    uint32_t n = d->nslots ? d->nslots * 2 : 64; /* small first: low-cardinality tables stay in L1 */
    free(d->slots);
    d->slots = ql_calloc(n, sizeof *d->slots);
    d->nslots = n;
    for (uint32_t e = 0; e < d->count; e++) {
        uint32_t s = d->ents[e].hash & (n - 1);
        while (d->slots[s]) s = (s + 1) & (n - 1);
        d->slots[s] = (uint64_t)d->ents[e].hash << 32 | (e + 1);
    }
}

/* Index of key in the dictionary, inserting it if new (*is_new = 1). */
static uint32_t dict_intern(dict_t *d, const void *key, size_t len, int is_string, int *is_new)
{
    if (d->last < d->count) { /* same value as the previous one (constant columns, runs) */
        const dent_t *de = &d->ents[d->last];
        if (de->len == len && key_eq((const uint8_t *)d->data.data + de->off, key, len)) {
            *is_new = 0;
            return d->last;
        }
    }
    uint32_t h = hash_bytes(key, len);
    if (!d->nslots || (uint64_t)(d->count + 1) * 2 > d->nslots) dict_grow(d);
    uint32_t mask = d->nslots - 1, s = h & mask;
    for (;;) {
        uint64_t slot = d->slots[s];
        if (!slot) break;
        if ((uint32_t)(slot >> 32) == h) {
            uint32_t e = (uint32_t)slot - 1;
            const dent_t *de = &d->ents[e];
            if (de->len == len && key_eq((const uint8_t *)d->data.data + de->off, key, len)) {
                *is_new = 0;
                return d->last = e;
            }
        }
        s = (s + 1) & mask;
    }
    if (d->count == d->ents_cap) {
        d->ents_cap = d->ents_cap ? d->ents_cap * 2 : 32;
        d->ents = ql_realloc(d->ents, d->ents_cap * sizeof *d->ents);
    }
    if (is_string) {
        uint32_t l32 = (uint32_t)len;
        ql_buf_append(&d->data, &l32, 4);
    }
    dent_t *de = &d->ents[d->count];
    de->off = (uint32_t)d->data.len;
    de->len = (uint32_t)len;
    de->hash = h;
    ql_buf_append(&d->data, key, len);
    d->slots[s] = (uint64_t)h << 32 | ++d->count;
    *is_new = 1;
    return d->last = d->count - 1;
}

static size_t dict_mem(const dict_t *d)
{
    return d->data.cap + (size_t)d->nslots * sizeof *d->slots + (size_t)d->ents_cap * sizeof(dent_t);
}

/* ---- statistics -------------------------------------------------------- */

static void stats_update(col_t *c, const void *key, size_t len, int64_t iv, double dv)
{
    switch (c->type) {
    case QL_PQ_STRING:
        if (!c->has_minmax) {
            ql_buf_append(&c->mins, key, len);
            ql_buf_append(&c->maxs, key, len);
            c->has_minmax = 1;
        } else if (bytes_cmp(key, len, c->maxs.data, c->maxs.len) > 0) { /* > max: cannot be < min */
            ql_buf_reset(&c->maxs);
            ql_buf_append(&c->maxs, key, len);
        } else if (bytes_cmp(key, len, c->mins.data, c->mins.len) < 0) {
            ql_buf_reset(&c->mins);
            ql_buf_append(&c->mins, key, len);
        }
        break;
    case QL_PQ_DOUBLE:
        if (isnan(dv)) {
            c->nan_count++;
            break;
        }
        if (!c->has_minmax || dv < c->mind) c->mind = dv;
        if (!c->has_minmax || dv > c->maxd) c->maxd = dv;
        c->has_minmax = 1;
        break;
    default:
        if (!c->has_minmax || iv < c->mini) c->mini = iv;
        if (!c->has_minmax || iv > c->maxi) c->maxi = iv;
        c->has_minmax = 1;
        break;
    }
}

static void stats_reset(col_t *c)
{
    c->has_minmax = 0;
    c->nan_count = 0;
    ql_buf_reset(&c->mins);
    ql_buf_reset(&c->maxs);
}

/* PLAIN bytes of a statistic value (no length prefix for strings). */
static size_t stat_bytes(const col_t *c, int want_max, uint8_t tmp[8], const void **p)
{
    switch (c->type) {
    case QL_PQ_STRING:
        *p = want_max ? c->maxs.data : c->mins.data;
        return want_max ? c->maxs.len : c->mins.len;
    case QL_PQ_DOUBLE: {
        double d = want_max ? c->maxd : c->mind;
        if (d == 0) d = want_max ? 0.0 : -0.0; /* spec: min -0.0, max +0.0 */
        memcpy(tmp, &d, 8);
        *p = tmp;
        return 8;
    }
    case QL_PQ_INT32: {
        int32_t v = (int32_t)(want_max ? c->maxi : c->mini);
        memcpy(tmp, &v, 4);
        *p = tmp;
        return 4;
    }
    case QL_PQ_BOOL:
        tmp[0] = (uint8_t)(want_max ? c->maxi : c->mini);
        *p = tmp;
        return 1;
    default: {
        int64_t v = want_max ? c->maxi : c->mini;
        memcpy(tmp, &v, 8);
        *p = tmp;
        return 8;
    }
    }
}

/* ---- values ------------------------------------------------------------ */

/* A value as PLAIN key bytes (fixed width) or string bytes. */
static inline const void *value_key(const ql_pq_writer_t *w, const col_t *c, uint8_t tmp[8], size_t *len)
{
    switch (c->type) {
    case QL_PQ_STRING:
        *len = c->ps_len;
        return w->row.data + c->ps_off;
    case QL_PQ_DOUBLE:
        memcpy(tmp, &c->pd, 8);
        *len = 8;
        return tmp;
    case QL_PQ_INT32: {
        int32_t v = (int32_t)c->pi;
        memcpy(tmp, &v, 4);
        *len = 4;
        return tmp;
    }
    default:
        memcpy(tmp, &c->pi, 8);
        *len = 8;
        return tmp;
    }
}

static inline void plain_append(col_t *c, const void *key, size_t len, int64_t iv)
{
    if (c->width < 0) { /* BOOLEAN: bit-packed, LSB first */
        if (c->nbool % 8 == 0) ql_buf_putc(&c->plain, 0);
        if (iv) c->plain.data[c->plain.len - 1] |= (char)(1u << (c->nbool % 8));
        c->nbool++;
        return;
    }
    if (c->width == 0) {
        uint32_t l32 = (uint32_t)len;
        ql_buf_reserve(&c->plain, 4 + len);
        memcpy(c->plain.data + c->plain.len, &l32, 4);
        memcpy(c->plain.data + c->plain.len + 4, key, len);
        c->plain.len += 4 + len;
        c->plain.data[c->plain.len] = 0;
        return;
    }
    ql_buf_append(&c->plain, key, len);
}

static inline void def_push(col_t *c, uint8_t lv)
{
    if (c->ndef == c->def_cap) {
        c->def_cap = c->def_cap ? c->def_cap * 2 : 4096;
        c->def = ql_realloc(c->def, c->def_cap);
    }
    c->def[c->ndef++] = lv;
}

/* Re-encodes the open page's dictionary indices as PLAIN and drops the
 * dictionary: only while no dictionary-encoded page of this chunk exists. */
static void dict_to_plain(col_t *c)
{
    ql_buf_reset(&c->plain);
    for (size_t i = 0; i < c->nidx; i++) {
        const dent_t *de = &c->dict.ents[c->idx[i]];
        plain_append(c, c->dict.data.data + de->off, de->len, 0);
    }
    c->nidx = 0;
    dict_clear(&c->dict);
    c->mode = MODE_PLAIN;
    c->no_dict = 1;
}

/* Does the dictionary pay for itself? (dictionary + indices vs PLAIN) */
static int dict_pays(const col_t *c)
{
    uint64_t idx_bytes = c->dict_values * (uint64_t)ql_pq_bit_width(c->dict.count) / 8;
    return c->dict.data.len + idx_bytes < c->plain_equiv;
}

static int flush_page(ql_pq_writer_t *w, col_t *c, char *err, size_t errlen);

static int append_value(ql_pq_writer_t *w, col_t *c, char *err, size_t errlen)
{
    uint8_t tmp[8];
    size_t len;
    const void *key = value_key(w, c, tmp, &len);
    if (!c->required) def_push(c, 1);
    c->page_values++;
    if (c->mode == MODE_DICT) {
        int is_new;
        uint32_t ix = dict_intern(&c->dict, key, len, c->width == 0, &is_new);
        if (is_new) stats_update(c, key, len, c->pi, c->pd);
        if (c->nidx == c->idx_cap) {
            c->idx_cap = c->idx_cap ? c->idx_cap * 2 : 4096;
            c->idx = ql_realloc(c->idx, c->idx_cap * sizeof *c->idx);
        }
        c->idx[c->nidx++] = ix;
        c->dict_values++;
        c->plain_equiv += c->width == 0 ? 4 + len : len;
        if (!c->dict_probed && c->dict_values >= DICT_PROBE_VALUES) {
            c->dict_probed = 1;
            if (c->n_dict_data_pages == 0 && !dict_pays(c)) dict_to_plain(c);
        }
        if (c->mode == MODE_DICT && c->dict.data.len > w->opt.dict_max_bytes) {
            if (c->n_dict_data_pages == 0) {
                dict_to_plain(c);
            } else {
                if (flush_page(w, c, err, errlen)) return -1;
                c->mode = MODE_PLAIN;
                c->no_dict = 1;
            }
        }
    } else {
        stats_update(c, key, len, c->pi, c->pd);
        plain_append(c, key, len, c->pi);
    }
    return 0;
}

static void append_null(col_t *c)
{
    def_push(c, 0);
    c->page_values++;
    c->page_nulls++;
}

static size_t page_estimate(const col_t *c)
{
    return c->ndef / 8 + (c->mode == MODE_DICT ? c->nidx * 4 : c->plain.len);
}

/* ---- pages ------------------------------------------------------------- */

static int write_out(ql_pq_writer_t *w, const void *p, size_t n, char *err, size_t errlen)
{
    if (ql_write_all(w->fd, p, n) < 0) {
        w->failed = 1;
        return ql_err(err, errlen, "parquet write: %s", strerror(errno));
    }
    w->pos += n;
    return 0;
}

/* Compresses body (w->pagebuf) into w->zbuf and serializes the page header
 * into w->hdr. */
static int seal_page(ql_pq_writer_t *w, int page_type, int32_t num_values, int encoding,
                     char *err, size_t errlen)
{
    size_t n = w->pagebuf.len, zlen;
    ql_buf_reset(&w->zbuf);
    if (w->opt.codec != QL_PQ_UNCOMPRESSED) {
        size_t cap = ql_pq_compress_bound(w->opt.codec, n);
        ql_buf_reserve(&w->zbuf, cap);
        if (ql_pq_compress(&w->z, w->opt.codec, w->opt.zstd_level, w->pagebuf.data, n, w->zbuf.data, cap,
                           &zlen, err, errlen))
            return -1;
        w->zbuf.len = zlen;
    } else {
        zlen = n;
    }
    if (n > INT32_MAX || zlen > INT32_MAX) return ql_err(err, errlen, "parquet write: page too large");
    ql_buf_reset(&w->hdr);
    ql_thrift_writer_t tw;
    ql_thrift_writer_init(&tw, &w->hdr);
    ql_thrift_write_field_i32(&tw, 1, page_type);
    ql_thrift_write_field_i32(&tw, 2, (int32_t)n);
    ql_thrift_write_field_i32(&tw, 3, (int32_t)zlen);
    /* The page's CRC-32 over its body as stored (compressed), as the format
     * defines it: readers that check it (questlog's, parquet-java and Arrow
     * when asked) turn a flipped bit on disk into an error, not wrong values. */
    const void *body = w->opt.codec != QL_PQ_UNCOMPRESSED ? (const void *)w->zbuf.data : (const void *)w->pagebuf.data;
    ql_thrift_write_field_i32(&tw, 4, (int32_t)crc32_z(0, body, zlen));
    if (page_type == PQ_PAGE_DATA) {
        ql_thrift_write_field_struct_begin(&tw, 5);
        ql_thrift_write_field_i32(&tw, 1, num_values);
        ql_thrift_write_field_i32(&tw, 2, encoding);
        ql_thrift_write_field_i32(&tw, 3, PQ_ENC_RLE);
        ql_thrift_write_field_i32(&tw, 4, PQ_ENC_RLE);
        ql_thrift_write_struct_end(&tw);
    } else {
        ql_thrift_write_field_struct_begin(&tw, 7);
        ql_thrift_write_field_i32(&tw, 1, num_values);
        ql_thrift_write_field_i32(&tw, 2, encoding);
        ql_thrift_write_struct_end(&tw);
    }
    ql_thrift_write_struct_end(&tw);
    return 0;
}

static inline const void *zdata(const ql_pq_writer_t *w)
{
    return w->opt.codec == QL_PQ_UNCOMPRESSED ? w->pagebuf.data : w->zbuf.data;
}
static inline size_t zsize(const ql_pq_writer_t *w)
{
    return w->opt.codec == QL_PQ_UNCOMPRESSED ? w->pagebuf.len : w->zbuf.len;
}

/* Encodes, compresses and appends the open page of c to its chunk buffer. */
static int flush_page(ql_pq_writer_t *w, col_t *c, char *err, size_t errlen)
{
    if (c->page_values == 0) return 0;
    if (c->mode == MODE_DICT && !c->dict_probed) {
        c->dict_probed = 1;
        if (c->n_dict_data_pages == 0 && !dict_pays(c)) dict_to_plain(c);
    }
    ql_buf_t *b = &w->pagebuf;
    ql_buf_reset(b);
    if (!c->required) {
        size_t at = b->len;
        ql_buf_append(b, "\0\0\0\0", 4);
        if (c->page_nulls == 0) {
            ql_thrift_put_uvarint(b, (uint64_t)c->ndef << 1); /* one RLE run of 1s */
            ql_buf_putc(b, 1);
        } else {
            ql_pq_rle_encode_u8(b, c->def, c->ndef, 1);
        }
        uint32_t l32 = (uint32_t)(b->len - at - 4);
        memcpy(b->data + at, &l32, 4);
    }
    int encoding;
    if (c->mode == MODE_DICT) {
        int bw = ql_pq_bit_width(c->dict.count ? c->dict.count - 1 : 0);
        if (bw == 0) bw = 1;
        ql_buf_putc(b, (char)bw);
        ql_pq_rle_encode_u32(b, c->idx, c->nidx, bw);
        encoding = PQ_ENC_RLE_DICTIONARY;
        c->n_dict_data_pages++;
    } else {
        ql_buf_append(b, c->plain.data, c->plain.len);
        encoding = PQ_ENC_PLAIN;
        c->n_plain_data_pages++;
    }
    if (c->page_values > INT32_MAX) return ql_err(err, errlen, "parquet write: too many values in a page");
    if (seal_page(w, PQ_PAGE_DATA, (int32_t)c->page_values, encoding, err, errlen)) return -1;
    ql_buf_append(&c->pages, w->hdr.data, w->hdr.len);
    ql_buf_append(&c->pages, zdata(w), zsize(w));
    c->chunk_uncomp += (int64_t)(w->hdr.len + b->len);
    c->chunk_comp += (int64_t)(w->hdr.len + zsize(w));
    c->chunk_values += (int64_t)c->page_values;
    c->chunk_nulls += (int64_t)c->page_nulls;
    c->page_values = c->page_nulls = c->ndef = c->nidx = c->nbool = 0;
    ql_buf_reset(&c->plain);
    return 0;
}

/* ---- row groups -------------------------------------------------------- */

static void write_chunk_meta(ql_thrift_writer_t *tw, const ql_pq_writer_t *w, const col_t *c,
                             int has_dict, int64_t dict_off, int64_t data_off, int64_t uncomp, int64_t comp)
{
    ql_thrift_write_struct_begin(tw); /* ColumnChunk */
    ql_thrift_write_field_i64(tw, 2, 0); /* file_offset: 0, no ColumnMetaData outside the footer (spec) */
    ql_thrift_write_field_struct_begin(tw, 3); /* ColumnMetaData */
    ql_thrift_write_field_i32(tw, 1, c->ptype);
    int encs[3], nenc = 0;
    if (has_dict || c->n_plain_data_pages) encs[nenc++] = PQ_ENC_PLAIN;
    if (!c->required) encs[nenc++] = PQ_ENC_RLE;
    if (c->n_dict_data_pages) encs[nenc++] = PQ_ENC_RLE_DICTIONARY;
    ql_thrift_write_field_list_begin(tw, 2, QL_THRIFT_I32, (uint32_t)nenc);
    for (int i = 0; i < nenc; i++) ql_thrift_write_i32(tw, encs[i]);
    ql_thrift_write_field_list_begin(tw, 3, QL_THRIFT_BINARY, 1);
    ql_thrift_write_binary(tw, c->name, strlen(c->name));
    ql_thrift_write_field_i32(tw, 4, (int32_t)w->opt.codec);
    ql_thrift_write_field_i64(tw, 5, c->chunk_values);
    ql_thrift_write_field_i64(tw, 6, uncomp);
    ql_thrift_write_field_i64(tw, 7, comp);
    ql_thrift_write_field_i64(tw, 9, data_off);
    if (has_dict) ql_thrift_write_field_i64(tw, 11, dict_off);
    ql_thrift_write_field_struct_begin(tw, 12); /* Statistics */
    ql_thrift_write_field_i64(tw, 3, c->chunk_nulls);
    if (c->has_minmax) {
        uint8_t t1[8], t2[8];
        const void *pmax, *pmin;
        size_t nmax = stat_bytes(c, 1, t1, &pmax), nmin = stat_bytes(c, 0, t2, &pmin);
        ql_thrift_write_field_binary(tw, 5, pmax, nmax);
        ql_thrift_write_field_binary(tw, 6, pmin, nmin);
        ql_thrift_write_field_bool(tw, 7, 1);
        ql_thrift_write_field_bool(tw, 8, 1);
    }
    if (c->type == QL_PQ_DOUBLE) ql_thrift_write_field_i64(tw, 9, c->nan_count);
    ql_thrift_write_struct_end(tw);
    /* encoding_stats: lets readers see whether every data page uses the dictionary */
    int nstats = has_dict + (c->n_dict_data_pages > 0) + (c->n_plain_data_pages > 0);
    ql_thrift_write_field_list_begin(tw, 13, QL_THRIFT_STRUCT, (uint32_t)nstats);
    struct { int t, e, n; } es[3] = {{PQ_PAGE_DICTIONARY, PQ_ENC_PLAIN, 1},
                                     {PQ_PAGE_DATA, PQ_ENC_RLE_DICTIONARY, c->n_dict_data_pages},
                                     {PQ_PAGE_DATA, PQ_ENC_PLAIN, c->n_plain_data_pages}};
    for (int i = 0; i < 3; i++) {
        if (i == 0 ? !has_dict : es[i].n == 0) continue;
        ql_thrift_write_struct_begin(tw);
        ql_thrift_write_field_i32(tw, 1, es[i].t);
        ql_thrift_write_field_i32(tw, 2, es[i].e);
        ql_thrift_write_field_i32(tw, 3, es[i].n);
        ql_thrift_write_struct_end(tw);
    }
    ql_thrift_write_struct_end(tw); /* ColumnMetaData */
    ql_thrift_write_struct_end(tw); /* ColumnChunk */
}

static int write_magic(ql_pq_writer_t *w, char *err, size_t errlen)
{
    return w->pos == 0 ? write_out(w, "PAR1", 4, err, errlen) : 0;
}

static void chunk_reset(ql_pq_writer_t *w, col_t *c)
{
    ql_buf_reset(&c->pages);
    /* Keep a big dictionary's memory bounded: release it rather than reuse. */
    if (dict_mem(&c->dict) > 2 * w->opt.dict_max_bytes + (1u << 20)) dict_free(&c->dict);
    else dict_clear(&c->dict);
    c->mode = (c->no_dict || c->type == QL_PQ_BOOL) ? MODE_PLAIN : MODE_DICT;
    c->dict_probed = 0;
    c->plain_equiv = c->dict_values = 0;
    c->chunk_values = c->chunk_nulls = c->chunk_uncomp = c->chunk_comp = 0;
    c->n_dict_data_pages = c->n_plain_data_pages = 0;
    stats_reset(c);
}

static int flush_row_group(ql_pq_writer_t *w, char *err, size_t errlen)
{
    if (w->rg_rows == 0) return 0;
    if (write_magic(w, err, errlen)) return -1;
    ql_buf_t meta = QL_BUF_INIT;
    ql_thrift_writer_t tw;
    ql_thrift_writer_init(&tw, &meta);
    ql_thrift_write_field_list_begin(&tw, 1, QL_THRIFT_STRUCT, (uint32_t)w->ncols);
    int64_t rg_start = (int64_t)w->pos, total_uncomp = 0, total_comp = 0;
    int rc = -1;
    for (int i = 0; i < w->ncols; i++) {
        col_t *c = &w->cols[i];
        if (flush_page(w, c, err, errlen)) goto out;
        int has_dict = c->n_dict_data_pages > 0;
        int64_t dict_off = (int64_t)w->pos, uncomp = c->chunk_uncomp, comp = c->chunk_comp;
        if (has_dict) {
            ql_buf_reset(&w->pagebuf);
            ql_buf_append(&w->pagebuf, c->dict.data.data, c->dict.data.len);
            if (seal_page(w, PQ_PAGE_DICTIONARY, (int32_t)c->dict.count, PQ_ENC_PLAIN, err, errlen)) goto out;
            if (write_out(w, w->hdr.data, w->hdr.len, err, errlen) || write_out(w, zdata(w), zsize(w), err, errlen))
                goto out;
            uncomp += (int64_t)(w->hdr.len + w->pagebuf.len);
            comp += (int64_t)(w->hdr.len + zsize(w));
        }
        int64_t data_off = (int64_t)w->pos;
        if (write_out(w, c->pages.data, c->pages.len, err, errlen)) goto out;
        write_chunk_meta(&tw, w, c, has_dict, dict_off, data_off, uncomp, comp);
        total_uncomp += uncomp;
        total_comp += comp;
        chunk_reset(w, c);
    }
    ql_thrift_write_field_i64(&tw, 2, total_uncomp);
    ql_thrift_write_field_i64(&tw, 3, w->rg_rows);
    ql_thrift_write_field_i64(&tw, 5, rg_start);
    ql_thrift_write_field_i64(&tw, 6, total_comp);
    if (w->n_rg <= INT16_MAX) ql_thrift_write_field_i16(&tw, 7, (int16_t)w->n_rg); /* ordinal is an i16 */
    ql_thrift_write_struct_end(&tw);
    ql_buf_append(&w->rg_meta, meta.data, meta.len);
    w->n_rg++;
    w->rg_rows = 0;
    w->frozen = 1;
    rc = 0;
out:
    ql_buf_free(&meta);
    return rc;
}

/* ---- public API -------------------------------------------------------- */

int ql_pq_writer_new(ql_pq_writer_t **out, int fd, const ql_pq_write_options_t *opt, char *err, size_t errlen)
{
    *out = NULL;
    ql_pq_write_options_t o = {QL_PQ_ZSTD, 1, 131072, 64u << 20, 1u << 20, 1u << 20, NULL};
    if (opt) {
        o = *opt;
        if (o.zstd_level == 0) o.zstd_level = 1;
        if (o.row_group_rows <= 0) o.row_group_rows = 131072;
        if (o.row_group_bytes == 0) o.row_group_bytes = 64u << 20;
        if (o.page_bytes == 0) o.page_bytes = 1u << 20;
        if (o.dict_max_bytes == 0) o.dict_max_bytes = 1u << 20;
    }
    if (o.codec != QL_PQ_ZSTD && o.codec != QL_PQ_SNAPPY && o.codec != QL_PQ_UNCOMPRESSED)
        return ql_err(err, errlen, "parquet writer: codec %s is not supported for writing",
                      ql_pq_codec_name(o.codec));
    if (o.codec == QL_PQ_ZSTD && (o.zstd_level < 1 || o.zstd_level > 19))
        return ql_err(err, errlen, "parquet writer: zstd level %d outside 1..19", o.zstd_level);
    if (o.dict_max_bytes > UINT32_MAX / 2) o.dict_max_bytes = UINT32_MAX / 2;
    ql_pq_writer_t *w = ql_calloc(1, sizeof *w);
    w->fd = fd;
    w->opt = o;
    w->row_gen = 1;
    if (o.kv) {
        size_t n = 0;
        while (o.kv[n] && o.kv[n + 1]) n += 2;
        w->kv = ql_calloc(n + 1, sizeof *w->kv);
        for (size_t i = 0; i < n; i++) w->kv[i] = ql_strdup(o.kv[i]);
    }
    w->opt.kv = NULL;
    *out = w;
    return 0;
}

int ql_pq_writer_add_column(ql_pq_writer_t *w, const char *name, ql_pq_type_t type, int required,
                            char *err, size_t errlen)
{
    if (w->frozen)
        return ql_err(err, errlen, "parquet writer: schema is frozen (a row group was written)"), QL_PQ_ESCHEMA;
    if (!name || !*name) return ql_err(err, errlen, "parquet writer: empty column name");
    if (ql_pq_writer_column_index(w, name, strlen(name)) >= 0)
        return ql_err(err, errlen, "parquet writer: duplicate column '%s'", name);
    if (required && w->rows > 0)
        return ql_err(err, errlen, "parquet writer: REQUIRED column '%s' added after rows", name);
    int ptype, width;
    switch (type) {
    case QL_PQ_STRING: ptype = PQ_T_BYTE_ARRAY; width = 0; break;
    case QL_PQ_INT64:
    case QL_PQ_TIMESTAMP: ptype = PQ_T_INT64; width = 8; break;
    case QL_PQ_INT32: ptype = PQ_T_INT32; width = 4; break;
    case QL_PQ_DOUBLE: ptype = PQ_T_DOUBLE; width = 8; break;
    case QL_PQ_BOOL: ptype = PQ_T_BOOLEAN; width = -1; break;
    default: return ql_err(err, errlen, "parquet writer: type %s is not written", ql_pq_type_name(type));
    }
    if (w->ncols == w->cols_cap) {
        w->cols_cap = w->cols_cap ? w->cols_cap * 2 : 16;
        w->cols = ql_realloc(w->cols, (size_t)w->cols_cap * sizeof *w->cols);
    }
    col_t *c = &w->cols[w->ncols];
    memset(c, 0, sizeof *c);
    c->name = ql_strdup(name);
    c->name_len = strlen(name);
    c->type = type;
    c->required = !!required;
    c->ptype = ptype;
    c->width = width;
    c->mode = type == QL_PQ_BOOL ? MODE_PLAIN : MODE_DICT;
    w->nrequired += c->required;
    /* Rows already buffered (all in the open row group) get null here. */
    for (int64_t r = 0; r < w->rg_rows; r++) {
        append_null(c);
        if (page_estimate(c) >= w->opt.page_bytes && flush_page(w, c, err, errlen)) return -1;
    }
    return w->ncols++;
}

int ql_pq_writer_schema_frozen(const ql_pq_writer_t *w) { return w->frozen; }
int ql_pq_writer_num_columns(const ql_pq_writer_t *w) { return w->ncols; }

int ql_pq_writer_column_index(const ql_pq_writer_t *w, const char *name, size_t name_len)
{
    for (int i = 0; i < w->ncols; i++)
        if (w->cols[i].name_len == name_len && memcmp(w->cols[i].name, name, name_len) == 0) return i;
    return -1;
}

static inline col_t *settable(ql_pq_writer_t *w, int col)
{
    if (col < 0 || col >= w->ncols) return NULL;
    col_t *c = &w->cols[col];
    if (c->set_gen != w->row_gen) {
        c->set_gen = w->row_gen;
        w->row_required_set += c->required;
    }
    return c;
}

int ql_pq_writer_set_string(ql_pq_writer_t *w, int col, const char *s, size_t len)
{
    if (col < 0 || col >= w->ncols || w->cols[col].type != QL_PQ_STRING || len > INT32_MAX) return -1;
    col_t *c = settable(w, col);
    c->ps_off = w->row.len;
    c->ps_len = len;
    ql_buf_append(&w->row, s, len);
    return 0;
}

int ql_pq_writer_set_int64(ql_pq_writer_t *w, int col, int64_t v)
{
    if (col < 0 || col >= w->ncols || (w->cols[col].type != QL_PQ_INT64 && w->cols[col].type != QL_PQ_TIMESTAMP))
        return -1;
    settable(w, col)->pi = v;
    return 0;
}

int ql_pq_writer_set_int32(ql_pq_writer_t *w, int col, int32_t v)
{
    if (col < 0 || col >= w->ncols || w->cols[col].type != QL_PQ_INT32) return -1;
    settable(w, col)->pi = v;
    return 0;
}

int ql_pq_writer_set_double(ql_pq_writer_t *w, int col, double v)
{
    if (col < 0 || col >= w->ncols || w->cols[col].type != QL_PQ_DOUBLE) return -1;
    settable(w, col)->pd = v;
    return 0;
}

int ql_pq_writer_set_bool(ql_pq_writer_t *w, int col, int v)
{
    if (col < 0 || col >= w->ncols || w->cols[col].type != QL_PQ_BOOL) return -1;
    settable(w, col)->pi = !!v;
    return 0;
}

void ql_pq_writer_abort_row(ql_pq_writer_t *w)
{
    w->row_gen++;
    w->row_required_set = 0;
    ql_buf_reset(&w->row);
}

size_t ql_pq_writer_buffered_bytes(const ql_pq_writer_t *w)
{
    size_t n = w->row.cap + w->pagebuf.cap + w->zbuf.cap;
    for (int i = 0; i < w->ncols; i++) {
        const col_t *c = &w->cols[i];
        n += c->pages.len + c->plain.len + c->nidx * 4 + c->ndef + dict_mem(&c->dict);
    }
    return n;
}

int ql_pq_writer_end_row(ql_pq_writer_t *w, char *err, size_t errlen)
{
    int rc = -1;
    if (w->failed) {
        ql_err(err, errlen, "parquet writer: an earlier write failed");
        goto out;
    }
    if (w->row_required_set != w->nrequired) {
        for (int i = 0; i < w->ncols; i++)
            if (w->cols[i].required && w->cols[i].set_gen != w->row_gen) {
                ql_err(err, errlen, "parquet writer: REQUIRED column '%s' not set", w->cols[i].name);
                break;
            }
        goto out;
    }
    /* From here on a failure leaves the columns disagreeing on the row count:
     * the writer is marked failed and refuses everything but free. */
    w->failed = 1;
    size_t est = 0;
    for (int i = 0; i < w->ncols; i++) {
        col_t *c = &w->cols[i];
        if (c->set_gen == w->row_gen) {
            if (append_value(w, c, err, errlen)) goto out;
        } else {
            append_null(c);
        }
        if (page_estimate(c) >= w->opt.page_bytes && flush_page(w, c, err, errlen)) goto out;
        /* memory held, not encoded size: levels are a byte each until the page closes */
        est += c->pages.len + c->ndef + c->nidx * 4 + c->plain.len + c->dict.data.len;
    }
    w->rows++;
    w->rg_rows++;
    if (w->rg_rows >= w->opt.row_group_rows || est >= w->opt.row_group_bytes)
        if (flush_row_group(w, err, errlen)) goto out;
    w->failed = 0;
    rc = 0;
out:
    ql_pq_writer_abort_row(w);
    return rc;
}

int64_t ql_pq_writer_num_rows(const ql_pq_writer_t *w) { return w->rows; }
uint64_t ql_pq_writer_bytes_written(const ql_pq_writer_t *w) { return w->pos; }

int ql_pq_writer_finish(ql_pq_writer_t *w, char *err, size_t errlen)
{
    if (w->failed) return ql_err(err, errlen, "parquet writer: an earlier write failed");
    if (flush_row_group(w, err, errlen) || write_magic(w, err, errlen)) return -1;
    ql_buf_t b = QL_BUF_INIT;
    ql_thrift_writer_t tw;
    ql_thrift_writer_init(&tw, &b);
    ql_thrift_write_field_i32(&tw, 1, 1); /* version */
    ql_thrift_write_field_list_begin(&tw, 2, QL_THRIFT_STRUCT, (uint32_t)w->ncols + 1);
    ql_thrift_write_struct_begin(&tw); /* root */
    ql_thrift_write_field_string(&tw, 4, "schema");
    ql_thrift_write_field_i32(&tw, 5, w->ncols);
    ql_thrift_write_struct_end(&tw);
    for (int i = 0; i < w->ncols; i++) {
        const col_t *c = &w->cols[i];
        ql_thrift_write_struct_begin(&tw);
        ql_thrift_write_field_i32(&tw, 1, c->ptype);
        ql_thrift_write_field_i32(&tw, 3, c->required ? PQ_REP_REQUIRED : PQ_REP_OPTIONAL);
        ql_thrift_write_field_string(&tw, 4, c->name);
        if (c->type == QL_PQ_STRING) {
            ql_thrift_write_field_i32(&tw, 6, PQ_CT_UTF8);
            ql_thrift_write_field_struct_begin(&tw, 10); /* LogicalType */
            ql_thrift_write_field_struct_begin(&tw, 1);  /* STRING */
            ql_thrift_write_struct_end(&tw);
            ql_thrift_write_struct_end(&tw);
        } else if (c->type == QL_PQ_TIMESTAMP) {
            ql_thrift_write_field_i32(&tw, 6, PQ_CT_TIMESTAMP_MICROS);
            ql_thrift_write_field_struct_begin(&tw, 10); /* LogicalType */
            ql_thrift_write_field_struct_begin(&tw, 8);  /* TIMESTAMP */
            ql_thrift_write_field_bool(&tw, 1, 1);       /* isAdjustedToUTC */
            ql_thrift_write_field_struct_begin(&tw, 2);  /* unit */
            ql_thrift_write_field_struct_begin(&tw, 2);  /* MICROS */
            ql_thrift_write_struct_end(&tw);
            ql_thrift_write_struct_end(&tw);
            ql_thrift_write_struct_end(&tw);
            ql_thrift_write_struct_end(&tw);
        }
        ql_thrift_write_struct_end(&tw);
    }
    ql_thrift_write_field_i64(&tw, 3, w->rows);
    ql_thrift_write_field_list_begin(&tw, 4, QL_THRIFT_STRUCT, (uint32_t)w->n_rg);
    ql_buf_append(&b, w->rg_meta.data, w->rg_meta.len);
    if (w->kv && w->kv[0]) {
        uint32_t n = 0;
        while (w->kv[n]) n += 2;
        ql_thrift_write_field_list_begin(&tw, 5, QL_THRIFT_STRUCT, n / 2);
        for (uint32_t i = 0; i < n; i += 2) {
            ql_thrift_write_struct_begin(&tw);
            ql_thrift_write_field_string(&tw, 1, w->kv[i]);
            ql_thrift_write_field_string(&tw, 2, w->kv[i + 1]);
            ql_thrift_write_struct_end(&tw);
        }
    }
    ql_thrift_write_field_string(&tw, 6, "questlog version " QL_VERSION " (build " QL_BUILD ")");
    ql_thrift_write_field_list_begin(&tw, 7, QL_THRIFT_STRUCT, (uint32_t)w->ncols);
    for (int i = 0; i < w->ncols; i++) {
        ql_thrift_write_struct_begin(&tw);          /* ColumnOrder */
        ql_thrift_write_field_struct_begin(&tw, 1); /* TYPE_ORDER */
        ql_thrift_write_struct_end(&tw);
        ql_thrift_write_struct_end(&tw);
    }
    ql_thrift_write_struct_end(&tw);
    uint32_t flen = (uint32_t)b.len;
    ql_buf_append(&b, &flen, 4);
    ql_buf_append(&b, "PAR1", 4);
    int rc = write_out(w, b.data, b.len, err, errlen);
    ql_buf_free(&b);
    if (rc == 0) w->failed = 1; /* finished: nothing more may be written */
    return rc;
}

void ql_pq_writer_free(ql_pq_writer_t *w)
{
    if (!w) return;
    for (int i = 0; i < w->ncols; i++) {
        col_t *c = &w->cols[i];
        free(c->name);
        free(c->def);
        free(c->idx);
        ql_buf_free(&c->plain);
        ql_buf_free(&c->pages);
        ql_buf_free(&c->mins);
        ql_buf_free(&c->maxs);
        dict_free(&c->dict);
    }
    free(w->cols);
    if (w->kv)
        for (char **k = w->kv; *k; k++) free(*k);
    free(w->kv);
    ql_buf_free(&w->row);
    ql_buf_free(&w->pagebuf);
    ql_buf_free(&w->zbuf);
    ql_buf_free(&w->hdr);
    ql_buf_free(&w->rg_meta);
    ql_pq_zctx_free(&w->z);
    free(w);
}
