/*
 * pq_read.c — questlog's Parquet reader: footer and schema (flat only), row
 * groups and column-chunk metadata with statistics, and decoding of one
 * column chunk at a time into flat arrays (contract in pq.h; the value
 * encodings themselves are in pq_decode.c; docs/parquet-reader.md tells the
 * story).
 *
 * Safety invariants (the reader is fuzzed; a malformed file must give an
 * error, never a crash, an over-read, an unbounded allocation or a hang):
 *  - Every offset and length taken from the file is checked against the bytes
 *    that remain in its enclosing range (file → chunk → page → section)
 *    before it is used, in 64-bit arithmetic, so nothing wraps.
 *  - Allocations are sized by bounded quantities only: the footer (≤ 64 MiB
 *    and ≤ the file), a page's uncompressed size (≤ QL_PQ_MAX_PAGE, and all
 *    of a chunk's pages together ≤ its declared size ≤ QL_PQ_MAX_CHUNK_BYTES), a
 *    dictionary's entry count (≤ what its page bytes can hold), and the
 *    value arrays: sized up front for at most 1M values (malloc'ed, untouched
 *    until decoded), beyond that grown with the values actually decoded, never
 *    past the chunk's declared count (≤ QL_PQ_MAX_CHUNK_VALUES).
 *  - Every loop advances through input bytes or output values, both bounded.
 *  - A page whose header carries a CRC is checked against it before its body
 *    is decompressed or decoded (next_page), so a corrupt page that still
 *    decodes (a flipped bit in a literal) is an error, not wrong values.
 *
 * Performance: a file opened by path is mmap'ed, so only the footer and the
 * chunks asked for are ever read from disk (column projection); values are
 * decoded page by page straight into the output arrays (dense, then spread
 * out over the nulls in place); strings are pointer+length into page buffers
 * the column data owns — no per-value allocation.
 */
#include "pq.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "pq_decode.h"
#include "pq_internal.h"
#include "thrift.h"
#include "util.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pq_read.c assumes a little-endian host (PLAIN values are little-endian)"
#endif

#define QL_PQ_MAX_FOOTER       (64u << 20)
#define QL_PQ_MAX_PAGE         ((size_t)512 << 20)   /* one page, uncompressed */
#define QL_PQ_MAX_CHUNK_VALUES ((int64_t)1 << 26)    /* values in one column chunk */
#define QL_PQ_MAX_CHUNK_BYTES  ((int64_t)4 << 30)    /* one column chunk, uncompressed */
#define QL_PQ_MAX_COLUMNS      100000
#define QL_PQ_MAX_ROW_GROUPS   (1u << 20)

/* Converted types and logical-type union ids used here (parquet.thrift). */
enum { CT_UTF8 = 0, CT_ENUM = 4, CT_DECIMAL = 5, CT_DATE = 6, CT_TS_MILLIS = 9, CT_TS_MICROS = 10,
       CT_UINT_8 = 11, CT_UINT_16 = 12, CT_UINT_32 = 13, CT_UINT_64 = 14, CT_JSON = 19 };
enum { LT_STRING = 1, LT_ENUM = 4, LT_DECIMAL = 5, LT_DATE = 6, LT_TIME = 7, LT_TIMESTAMP = 8,
       LT_INTEGER = 10, LT_JSON = 12 };
enum { UNIT_NONE = 0, UNIT_MILLIS = 1, UNIT_MICROS = 2, UNIT_NANOS = 3 };

/* How values are held in the output: which array of ql_pq_column_data_t. */
typedef enum { REP_I64, REP_F64, REP_STR } rep_t;

typedef struct colx {
    ql_pq_column_info_t info;
    int     phys;           /* PQ_T_* */
    int     type_length;    /* FIXED_LEN_BYTE_ARRAY width */
    int     max_def;        /* 0 REQUIRED, 1 OPTIONAL */
    int     ts_unit;        /* UNIT_*: INT64 timestamps are converted to micros */
    int     is_unsigned;    /* INT32 UINT_8/16/32: zero-extended */
    int     decimal_scale;  /* >= 0: DECIMAL, values become doubles (v / 10^scale) */
} colx_t;

typedef struct chunkx {
    ql_pq_chunk_info_t info;
    int64_t start, end;     /* byte range of the chunk's pages in the file */
} chunkx_t;

struct ql_pq_file {
    const uint8_t *buf;
    size_t         len;
    void          *map;     /* mmap'ed by ql_pq_open, else NULL */
    int64_t        num_rows;
    int            ncols, nrg;
    colx_t        *cols;
    int64_t       *rg_rows;
    chunkx_t      *chunks;  /* nrg * ncols */
    int            nkv;
    char         **kv;      /* key, value, key, value, … (NUL-terminated copies) */
    char          *created_by;
    void         **allocs;  /* strings owned by the handle */
    size_t         nallocs, allocs_cap;
    int            skip_crc; /* ql_pq_skip_checksums: pages' CRCs are not checked */
};

/* ---- small helpers ------------------------------------------------------ */

static char *file_strndup(ql_pq_file_t *f, const uint8_t *p, size_t n)
{
    if (f->nallocs == f->allocs_cap) {
        f->allocs_cap = f->allocs_cap ? f->allocs_cap * 2 : 16;
        f->allocs = ql_realloc(f->allocs, f->allocs_cap * sizeof *f->allocs);
    }
    char *s = ql_strndup(p ? (const char *)p : "", p ? n : 0);
    f->allocs[f->nallocs++] = s;
    return s;
}

/* Grows an array to hold `need` elements (doubling); *cap counts elements. */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    *cap = c;
    return ql_realloc(p, c * elem);
}

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

static rep_t phys_rep(int phys)
{
    switch (phys) {
    case PQ_T_FLOAT:
    case PQ_T_DOUBLE: return REP_F64;
    case PQ_T_BYTE_ARRAY:
    case PQ_T_FIXED_LEN_BYTE_ARRAY: return REP_STR;
    default: return REP_I64;
    }
}

static inline uint32_t le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t le64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Thrift field values with a type check: a field of an unexpected wire type is skipped. */
static int rd_i32(ql_thrift_reader_t *r, int t, int32_t *v)
{
    if (t == QL_THRIFT_BYTE) {
        int8_t b;
        int rc = ql_thrift_read_byte(r, &b);
        *v = b;
        return rc;
    }
    if (t == QL_THRIFT_I16 || t == QL_THRIFT_I32) return ql_thrift_read_i32(r, v);
    return ql_thrift_skip(r, t);
}

static int rd_i64(ql_thrift_reader_t *r, int t, int64_t *v)
{
    if (t == QL_THRIFT_I16 || t == QL_THRIFT_I32 || t == QL_THRIFT_I64) return ql_thrift_read_i64(r, v);
    return ql_thrift_skip(r, t);
}

static int rd_bin(ql_thrift_reader_t *r, int t, const uint8_t **p, uint32_t *n)
{
    if (t == QL_THRIFT_BINARY) return ql_thrift_read_binary(r, p, n);
    return ql_thrift_skip(r, t);
}

/* Enters a struct field, or skips the field if it is not a struct (returns 1 then). */
static int rd_struct(ql_thrift_reader_t *r, int t)
{
    if (t != QL_THRIFT_STRUCT) {
        ql_thrift_skip(r, t);
        return 1;
    }
    ql_thrift_read_struct_begin(r);
    return 0;
}

/* Loop over the fields of the current struct until STOP or an error. */
#define FOR_FIELDS(r, id, t) \
    for (int16_t id; ql_thrift_read_field((r), &id, &t) == 0 && t != QL_THRIFT_STOP;)

/* ---- page headers -------------------------------------------------------- */

typedef struct page_hdr {
    int32_t type, usize, csize;
    int     has_v1, has_v2, has_dict;
    int32_t num_values, encoding, def_enc;
    int32_t num_nulls, def_len, rep_len;
    int     is_compressed;
    int     has_crc;     /* PageHeader.crc was present */
    int32_t crc;         /* CRC-32 (zlib's) of the page's compressed body */
} page_hdr_t;

/* Parses the PageHeader at [p, p+n): *hlen gets its encoded size. */
static int parse_page_header(const uint8_t *p, size_t n, page_hdr_t *h, size_t *hlen, char *err,
                             size_t errlen)
{
    ql_thrift_reader_t r;
    int t;
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->usize = h->csize = -1;
    h->is_compressed = 1;
    ql_thrift_reader_init(&r, p, n);
    FOR_FIELDS(&r, id, t) {
        switch (id) {
        case 1: rd_i32(&r, t, &h->type); break;
        case 2: rd_i32(&r, t, &h->usize); break;
        case 3: rd_i32(&r, t, &h->csize); break;
        case 4:
            if (t == QL_THRIFT_I32) h->has_crc = 1;
            rd_i32(&r, t, &h->crc);
            break;
        case 5:   /* DataPageHeader */
        case 7:   /* DictionaryPageHeader: the same first two fields, no levels */
            if (rd_struct(&r, t)) break;
            if (id == 5) h->has_v1 = 1; else h->has_dict = 1;
            FOR_FIELDS(&r, id2, t) {
                if (id2 == 1) rd_i32(&r, t, &h->num_values);
                else if (id2 == 2) rd_i32(&r, t, &h->encoding);
                else if (id2 == 3 && id == 5) rd_i32(&r, t, &h->def_enc);
                else ql_thrift_skip(&r, t);
            }
            break;
        case 8: /* DataPageHeaderV2 */
            if (rd_struct(&r, t)) break;
            h->has_v2 = 1;
            FOR_FIELDS(&r, id2, t) {
                switch (id2) {
                case 1: rd_i32(&r, t, &h->num_values); break;
                case 2: rd_i32(&r, t, &h->num_nulls); break;
                case 4: rd_i32(&r, t, &h->encoding); break;
                case 5: rd_i32(&r, t, &h->def_len); break;
                case 6: rd_i32(&r, t, &h->rep_len); break;
                case 7:
                    if (t == QL_THRIFT_TRUE || t == QL_THRIFT_FALSE) h->is_compressed = ql_thrift_field_bool(t);
                    else ql_thrift_skip(&r, t);
                    break;
                default: ql_thrift_skip(&r, t);
                }
            }
            break;
        default: ql_thrift_skip(&r, t);
        }
    }
    if (r.err) return ql_err(err, errlen, "bad page header (%s)", r.msg ? r.msg : "thrift");
    if (h->type < 0 || h->usize < 0 || h->csize < 0)
        return ql_err(err, errlen, "page header lacks its type or sizes");
    if ((size_t)h->usize > QL_PQ_MAX_PAGE)
        return ql_err(err, errlen, "page of %d bytes exceeds the reader's limit", h->usize);
    if (h->num_values < 0 || h->num_nulls < 0 || h->def_len < 0 || h->rep_len < 0)
        return ql_err(err, errlen, "page header has a negative count");
    *hlen = ql_thrift_reader_pos(&r, p);
    return 0;
}

/* ---- footer -------------------------------------------------------------- */

typedef struct selem {
    const uint8_t *name;
    uint32_t       name_len;
    int32_t        type, type_length, rep, num_children, converted, scale;
    int            lt, lt_unit, lt_signed;
    int32_t        lt_scale;
} selem_t;

static void parse_logical_type(ql_thrift_reader_t *r, selem_t *e)
{
    int t;
    FOR_FIELDS(r, id, t) {
        e->lt = id;
        if (t != QL_THRIFT_STRUCT) {
            ql_thrift_skip(r, t);
            continue;
        }
        ql_thrift_read_struct_begin(r);
        FOR_FIELDS(r, id2, t) {
            if ((id == LT_TIMESTAMP || id == LT_TIME) && id2 == 2 && t == QL_THRIFT_STRUCT) {
                ql_thrift_read_struct_begin(r);  /* TimeUnit union */
                FOR_FIELDS(r, id3, t) {
                    e->lt_unit = id3;
                    ql_thrift_skip(r, t);
                }
            } else if (id == LT_DECIMAL && id2 == 1) {
                rd_i32(r, t, &e->lt_scale);
            } else if (id == LT_INTEGER && id2 == 2 && (t == QL_THRIFT_TRUE || t == QL_THRIFT_FALSE)) {
                e->lt_signed = ql_thrift_field_bool(t);
            } else {
                ql_thrift_skip(r, t);
            }
        }
    }
}

static void parse_schema_element(ql_thrift_reader_t *r, selem_t *e)
{
    int t;
    memset(e, 0, sizeof *e);
    e->type = e->rep = e->converted = -1;
    e->lt_signed = 1;
    FOR_FIELDS(r, id, t) {
        switch (id) {
        case 1: rd_i32(r, t, &e->type); break;
        case 2: rd_i32(r, t, &e->type_length); break;
        case 3: rd_i32(r, t, &e->rep); break;
        case 4: rd_bin(r, t, &e->name, &e->name_len); break;
        case 5: rd_i32(r, t, &e->num_children); break;
        case 6: rd_i32(r, t, &e->converted); break;
        case 7: rd_i32(r, t, &e->scale); break;
        case 10:
            if (!rd_struct(r, t)) parse_logical_type(r, e);
            break;
        default: ql_thrift_skip(r, t);
        }
    }
}

/* Maps one leaf schema element to a column; 0 or error. */
static int map_column(ql_pq_file_t *f, const selem_t *e, colx_t *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->info.name = file_strndup(f, e->name, e->name_len);
    c->phys = e->type;
    c->type_length = e->type_length;
    c->decimal_scale = -1;
    if (e->rep == PQ_REP_REPEATED)
        return ql_err(err, errlen, "column %s: nested columns not supported (REPEATED)", c->info.name);
    c->info.required = e->rep == PQ_REP_REQUIRED;
    c->max_def = c->info.required ? 0 : 1;
    int decimal = e->lt == LT_DECIMAL || e->converted == CT_DECIMAL;
    if (decimal) c->decimal_scale = e->lt == LT_DECIMAL ? e->lt_scale : e->scale;
    if (decimal && (c->decimal_scale < 0 || c->decimal_scale > 38))
        return ql_err(err, errlen, "column %s: bad DECIMAL scale %d", c->info.name, c->decimal_scale);
    switch (e->type) {
    case PQ_T_BOOLEAN: c->info.type = QL_PQ_BOOL; c->decimal_scale = -1; break;
    case PQ_T_INT32:
        c->info.type = decimal ? QL_PQ_DOUBLE : QL_PQ_INT32;  /* DATE stays INT32 (days) */
        c->is_unsigned = (e->lt == LT_INTEGER && !e->lt_signed) || e->converted == CT_UINT_8 ||
                         e->converted == CT_UINT_16 || e->converted == CT_UINT_32;
        break;
    case PQ_T_INT64:
        c->info.type = decimal ? QL_PQ_DOUBLE : QL_PQ_INT64;
        if (e->lt == LT_TIMESTAMP) {
            c->info.type = QL_PQ_TIMESTAMP;
            c->ts_unit = e->lt_unit;
            if (c->ts_unit < UNIT_MILLIS || c->ts_unit > UNIT_NANOS)
                return ql_err(err, errlen, "column %s: TIMESTAMP without a known unit", c->info.name);
        } else if (e->lt == 0 && (e->converted == CT_TS_MILLIS || e->converted == CT_TS_MICROS)) {
            c->info.type = QL_PQ_TIMESTAMP;
            c->ts_unit = e->converted == CT_TS_MILLIS ? UNIT_MILLIS : UNIT_MICROS;
        }
        break;
    case PQ_T_INT96: c->info.type = QL_PQ_TIMESTAMP; c->decimal_scale = -1; break;  /* legacy Impala/Spark */
    case PQ_T_FLOAT: c->info.type = QL_PQ_FLOAT; c->decimal_scale = -1; break;
    case PQ_T_DOUBLE: c->info.type = QL_PQ_DOUBLE; c->decimal_scale = -1; break;
    case PQ_T_BYTE_ARRAY:
    case PQ_T_FIXED_LEN_BYTE_ARRAY: {
        int str = e->lt == LT_STRING || e->lt == LT_ENUM || e->lt == LT_JSON || e->converted == CT_UTF8 ||
                  e->converted == CT_ENUM || e->converted == CT_JSON;
        c->info.type = decimal ? QL_PQ_DOUBLE : str ? QL_PQ_STRING : QL_PQ_BINARY;
        if (e->type == PQ_T_FIXED_LEN_BYTE_ARRAY && (e->type_length <= 0 || e->type_length > (1 << 20)))
            return ql_err(err, errlen, "column %s: bad FIXED_LEN_BYTE_ARRAY length %d", c->info.name,
                          e->type_length);
        if (decimal && e->type == PQ_T_FIXED_LEN_BYTE_ARRAY && e->type_length > 16)
            return ql_err(err, errlen, "column %s: DECIMAL wider than 16 bytes not supported", c->info.name);
        break;
    }
    default:
        return ql_err(err, errlen, "column %s: unknown physical type %d", c->info.name, (int)e->type);
    }
    return 0;
}

/* A big-endian two's complement integer of n (1..16) bytes, as a double. */
static double be_decimal(const uint8_t *p, size_t n, int scale)
{
    unsigned __int128 u = (p[0] & 0x80) ? ~(unsigned __int128)0 : 0;  /* sign-extended */
    for (size_t i = 0; i < n; i++) u = (u << 8) | p[i];
    return (double)(__int128)u / pow(10.0, scale);
}

/* Converts a statistics value (PLAIN bytes) for column c into v; absent if the size is wrong. */
static void stat_value(const colx_t *c, const uint8_t *p, uint32_t n, ql_pq_value_t *v)
{
    memset(v, 0, sizeof *v);
    if (!p) return;
    switch (c->phys) {
    case PQ_T_BOOLEAN:
        if (n < 1) return;
        v->i = p[0] & 1;
        break;
    case PQ_T_INT32:
        if (n != 4) return;
        v->i = c->is_unsigned ? (int64_t)le32(p) : (int64_t)(int32_t)le32(p);
        if (c->decimal_scale >= 0) v->d = (double)(int32_t)le32(p) / pow(10.0, c->decimal_scale);
        break;
    case PQ_T_INT64: {
        if (n != 8) return;
        int64_t x = (int64_t)le64(p);
        if (c->decimal_scale >= 0) v->d = (double)x / pow(10.0, c->decimal_scale);
        if (c->ts_unit == UNIT_MILLIS) x = x > INT64_MAX / 1000 ? INT64_MAX : x < INT64_MIN / 1000 ? INT64_MIN : x * 1000;
        else if (c->ts_unit == UNIT_NANOS) x = x >= 0 ? x / 1000 : -((-(x + 1)) / 1000) - 1;
        v->i = x;
        break;
    }
    case PQ_T_FLOAT: {
        if (n != 4) return;
        float x;
        memcpy(&x, p, 4);
        v->d = x;
        break;
    }
    case PQ_T_DOUBLE:
        if (n != 8) return;
        memcpy(&v->d, p, 8);
        break;
    case PQ_T_BYTE_ARRAY:
    case PQ_T_FIXED_LEN_BYTE_ARRAY:
        if (c->decimal_scale >= 0) {
            if (n < 1 || n > 16) return;
            v->d = be_decimal(p, n, c->decimal_scale);
        } else {
            v->s = (const char *)p;
            v->len = n;
        }
        break;
    default: return;  /* INT96: no defined order */
    }
    v->is_set = 1;
}

typedef struct stats_raw {
    const uint8_t *min, *max, *min_value, *max_value;
    uint32_t       min_n, max_n, min_value_n, max_value_n;
    int64_t        null_count;
} stats_raw_t;

static void parse_statistics(ql_thrift_reader_t *r, stats_raw_t *s)
{
    int t;
    memset(s, 0, sizeof *s);
    s->null_count = -1;
    FOR_FIELDS(r, id, t) {
        switch (id) {
        case 1: rd_bin(r, t, &s->max, &s->max_n); break;
        case 2: rd_bin(r, t, &s->min, &s->min_n); break;
        case 3: rd_i64(r, t, &s->null_count); break;
        case 5: rd_bin(r, t, &s->max_value, &s->max_value_n); break;
        case 6: rd_bin(r, t, &s->min_value, &s->min_value_n); break;
        default: ql_thrift_skip(r, t);
        }
    }
}

/* Parses ColumnMetaData for chunk ch of column c. */
static int parse_column_meta(ql_pq_file_t *f, ql_thrift_reader_t *r, const colx_t *c, chunkx_t *ch,
                             char *err, size_t errlen)
{
    int t;
    int32_t phys = -1, codec = -1;
    stats_raw_t st;
    ql_buf_t enc = QL_BUF_INIT;
    int has_stats = 0;
    ch->info.num_values = ch->info.total_compressed_size = ch->info.total_uncompressed_size = -1;
    ch->info.data_page_offset = ch->info.dictionary_page_offset = -1;
    ch->info.null_count = -1;
    FOR_FIELDS(r, id, t) {
        switch (id) {
        case 1: rd_i32(r, t, &phys); break;
        case 2: {
            int et;
            uint32_t n;
            if (t != QL_THRIFT_LIST) {
                ql_thrift_skip(r, t);
                break;
            }
            if (ql_thrift_read_list_begin(r, &et, &n)) break;
            uint32_t seen = 0;  /* each name once, so the text stays short whatever the list */
            for (uint32_t i = 0; i < n && !r->err; i++) {
                int32_t e = 0;
                rd_i32(r, et, &e);
                uint32_t bit = e >= 0 && e < 31 ? 1u << e : 1u << 31;
                if (seen & bit) continue;
                seen |= bit;
                if (enc.len) ql_buf_putc(&enc, ',');
                ql_buf_puts(&enc, ql_pq_encoding_name(e));
            }
            break;
        }
        case 4: rd_i32(r, t, &codec); break;
        case 5: rd_i64(r, t, &ch->info.num_values); break;
        case 6: rd_i64(r, t, &ch->info.total_uncompressed_size); break;
        case 7: rd_i64(r, t, &ch->info.total_compressed_size); break;
        case 9: rd_i64(r, t, &ch->info.data_page_offset); break;
        case 11: rd_i64(r, t, &ch->info.dictionary_page_offset); break;
        case 12:
            if (!rd_struct(r, t)) {
                parse_statistics(r, &st);
                has_stats = 1;
            }
            break;
        default: ql_thrift_skip(r, t);
        }
    }
    ch->info.encodings = file_strndup(f, (const uint8_t *)(enc.data ? enc.data : ""), enc.len);
    ql_buf_free(&enc);
    if (r->err) return -1;
    ch->info.codec = (ql_pq_codec_t)codec;
    if (phys != c->phys)
        return ql_err(err, errlen, "column %s: chunk type %d differs from the schema's %d", c->info.name,
                      (int)phys, c->phys);
    if (codec != QL_PQ_UNCOMPRESSED && codec != QL_PQ_SNAPPY && codec != QL_PQ_GZIP && codec != QL_PQ_ZSTD) {
        static const char *const other[] = {[3] = "LZO", [4] = "BROTLI", [5] = "LZ4", [7] = "LZ4_RAW"};
        const char *name = codec >= 0 && codec < (int32_t)QL_ARRAY_LEN(other) ? other[codec] : NULL;
        return ql_err(err, errlen, "column %s: compression codec %s not supported (ZSTD, SNAPPY, GZIP, none are)",
                      c->info.name, name ? name : "(unknown)");
    }
    if (has_stats) {
        ch->info.null_count = st.null_count;
        if (st.min_value || st.max_value) {
            stat_value(c, st.min_value, st.min_value_n, &ch->info.min);
            stat_value(c, st.max_value, st.max_value_n, &ch->info.max);
        } else if (phys_rep(c->phys) != REP_STR && !c->is_unsigned && c->phys != PQ_T_INT96) {
            /* Deprecated min/max: only trustworthy where the old signed order is the real one. */
            stat_value(c, st.min, st.min_n, &ch->info.min);
            stat_value(c, st.max, st.max_n, &ch->info.max);
        }
    }
    return 0;
}

/* Validates a chunk's counts and byte range against the file's data area
 * [4, data_end) and fills ch->start/end. */
static int check_chunk(const colx_t *c, chunkx_t *ch, int64_t data_end, char *err, size_t errlen)
{
    ql_pq_chunk_info_t *i = &ch->info;
    if (i->num_values < 0 || i->num_values > QL_PQ_MAX_CHUNK_VALUES)
        return ql_err(err, errlen, "column %s: bad value count %lld", c->info.name, (long long)i->num_values);
    if (i->total_compressed_size < 0 || i->total_uncompressed_size < 0 || i->data_page_offset < 0)
        return ql_err(err, errlen, "column %s: chunk lacks its sizes or offsets", c->info.name);
    /* Bounds the work (and kept memory) of decompressing the chunk's pages. */
    if (i->total_uncompressed_size > QL_PQ_MAX_CHUNK_BYTES)
        return ql_err(err, errlen, "column %s: chunk of %lld bytes uncompressed exceeds the reader's limit",
                      c->info.name, (long long)i->total_uncompressed_size);
    /* Some writers store 0 for "no dictionary page"; a dictionary page always precedes the data pages. */
    if (i->dictionary_page_offset < 4 || i->dictionary_page_offset >= i->data_page_offset)
        i->dictionary_page_offset = -1;
    ch->start = i->dictionary_page_offset >= 0 ? i->dictionary_page_offset : i->data_page_offset;
    if (ch->start < 4 || ch->start > data_end || i->total_compressed_size > data_end - ch->start)
        return ql_err(err, errlen, "column %s: chunk [%lld, +%lld) lies outside the file's data", c->info.name,
                      (long long)ch->start, (long long)i->total_compressed_size);
    ch->end = ch->start + i->total_compressed_size;
    return 0;
}

static int parse_row_groups(ql_pq_file_t *f, const uint8_t *p, const uint8_t *end, int64_t data_end,
                            char *err, size_t errlen)
{
    ql_thrift_reader_t r;
    int et, t;
    uint32_t n;
    ql_thrift_reader_init(&r, p, (size_t)(end - p));
    if (ql_thrift_read_list_begin(&r, &et, &n) || et != QL_THRIFT_STRUCT)
        return ql_err(err, errlen, "bad footer: row_groups is not a list of structs");
    /* A column chunk's metadata takes well over 16 bytes on the wire, so the
     * footer's size bounds the chunk table allocated here. */
    if (n > QL_PQ_MAX_ROW_GROUPS || (uint64_t)n * (uint64_t)f->ncols > (uint64_t)(end - p) / 16)
        return ql_err(err, errlen, "bad footer: %u row groups of %d columns cannot fit in it", n, f->ncols);
    f->nrg = (int)n;
    f->rg_rows = ql_calloc(n ? n : 1, sizeof *f->rg_rows);
    f->chunks = ql_calloc(n && f->ncols ? (size_t)n * (size_t)f->ncols : 1, sizeof *f->chunks);
    int64_t total = 0;
    for (uint32_t g = 0; g < n; g++) {
        int ncc = -1;
        f->rg_rows[g] = -1;
        if (ql_thrift_read_struct_begin(&r)) break;
        FOR_FIELDS(&r, id, t) {
            if (id == 3) {
                rd_i64(&r, t, &f->rg_rows[g]);
            } else if (id == 1 && t == QL_THRIFT_LIST) {
                uint32_t m;
                if (ql_thrift_read_list_begin(&r, &et, &m)) break;
                if (et != QL_THRIFT_STRUCT || m != (uint32_t)f->ncols)
                    return ql_err(err, errlen, "row group %u has %u column chunks, the schema %d columns", g, m,
                                  f->ncols);
                ncc = (int)m;
                for (uint32_t k = 0; k < m && !r.err; k++) {
                    chunkx_t *ch = &f->chunks[(size_t)g * (size_t)f->ncols + k];
                    int got_meta = 0;
                    if (ql_thrift_read_struct_begin(&r)) break;
                    FOR_FIELDS(&r, id2, t) {
                        if (id2 == 1 && t == QL_THRIFT_BINARY)
                            return ql_err(err, errlen, "column chunks in other files are not supported");
                        if (id2 == 3 && t == QL_THRIFT_STRUCT) {
                            ql_thrift_read_struct_begin(&r);
                            if (parse_column_meta(f, &r, &f->cols[k], ch, err, errlen) < 0) {
                                if (r.err) break;
                                return -1;
                            }
                            got_meta = 1;
                        } else {
                            ql_thrift_skip(&r, t);
                        }
                    }
                    if (r.err) break;
                    if (!got_meta)
                        return ql_err(err, errlen, "row group %u column %u has no metadata (encrypted?)", g, k);
                    if (check_chunk(&f->cols[k], ch, data_end, err, errlen) < 0) return -1;
                }
            } else {
                ql_thrift_skip(&r, t);
            }
        }
        if (r.err) break;
        if (ncc < 0 && f->ncols > 0) return ql_err(err, errlen, "row group %u lists no columns", g);
        if (f->rg_rows[g] < 0 || f->rg_rows[g] > QL_PQ_MAX_CHUNK_VALUES)
            return ql_err(err, errlen, "row group %u: bad row count %lld", g, (long long)f->rg_rows[g]);
        for (int k = 0; k < f->ncols; k++)
            if (f->chunks[(size_t)g * (size_t)f->ncols + (size_t)k].info.num_values != f->rg_rows[g])
                return ql_err(err, errlen, "row group %u column %s: %lld values for %lld rows", g,
                              f->cols[k].info.name,
                              (long long)f->chunks[(size_t)g * (size_t)f->ncols + (size_t)k].info.num_values,
                              (long long)f->rg_rows[g]);
        total += f->rg_rows[g];
    }
    if (r.err) return ql_err(err, errlen, "bad footer (%s)", r.msg ? r.msg : "thrift");
    if (total != f->num_rows)
        return ql_err(err, errlen, "row groups hold %lld rows, the footer says %lld", (long long)total,
                      (long long)f->num_rows);
    return 0;
}

static int parse_footer(ql_pq_file_t *f, char *err, size_t errlen)
{
    if (f->len < 12) return ql_err(err, errlen, "not a Parquet file (%zu bytes)", f->len);
    if (memcmp(f->buf + f->len - 4, "PARE", 4) == 0)
        return ql_err(err, errlen, "encrypted Parquet files are not supported");
    if (memcmp(f->buf, "PAR1", 4) != 0 || memcmp(f->buf + f->len - 4, "PAR1", 4) != 0)
        return ql_err(err, errlen, "not a Parquet file (no PAR1 magic)");
    uint32_t flen = le32(f->buf + f->len - 8);
    if (flen > f->len - 12 || flen > QL_PQ_MAX_FOOTER)
        return ql_err(err, errlen, "bad footer length %u", flen);
    const uint8_t *fp = f->buf + f->len - 8 - flen, *fend = f->buf + f->len - 8;
    int64_t data_end = (int64_t)(f->len - 8 - flen);

    ql_thrift_reader_t r;
    int t, have_rows = 0;
    const uint8_t *rg_at = NULL;
    selem_t *se = NULL;
    uint32_t nse = 0;
    int rc = -1;
    ql_thrift_reader_init(&r, fp, flen);
    FOR_FIELDS(&r, id, t) {
        if (id == 2 && t == QL_THRIFT_LIST) {
            int et;
            if (se || ql_thrift_read_list_begin(&r, &et, &nse)) break;
            if (et != QL_THRIFT_STRUCT) {
                ql_err(err, errlen, "bad footer: schema is not a list of structs");
                goto out;
            }
            if (nse > QL_PQ_MAX_COLUMNS + 1) {
                ql_err(err, errlen, "bad footer: %u schema elements (limit %d)", nse, QL_PQ_MAX_COLUMNS);
                goto out;
            }
            se = ql_calloc(nse ? nse : 1, sizeof *se);
            for (uint32_t i = 0; i < nse && !r.err; i++)
                if (ql_thrift_read_struct_begin(&r) == 0) parse_schema_element(&r, &se[i]);
        } else if (id == 3) {
            rd_i64(&r, t, &f->num_rows);
            have_rows = 1;
        } else if (id == 4 && t == QL_THRIFT_LIST) {
            rg_at = r.p;  /* parsed once the schema is known (fields may come in any order) */
            ql_thrift_skip(&r, t);
        } else if (id == 5 && t == QL_THRIFT_LIST) {
            int et;
            uint32_t n;
            if (ql_thrift_read_list_begin(&r, &et, &n) || et != QL_THRIFT_STRUCT || f->kv) break;
            size_t kv_cap = 0;
            for (uint32_t i = 0; i < n && !r.err; i++) {
                const uint8_t *k = NULL, *v = NULL;
                uint32_t kn = 0, vn = 0;
                if (ql_thrift_read_struct_begin(&r)) break;
                FOR_FIELDS(&r, id2, t) {
                    if (id2 == 1) rd_bin(&r, t, &k, &kn);
                    else if (id2 == 2) rd_bin(&r, t, &v, &vn);
                    else ql_thrift_skip(&r, t);
                }
                if (!k) continue;
                f->kv = grow(f->kv, &kv_cap, 2 * (size_t)f->nkv + 2, sizeof *f->kv);
                f->kv[2 * f->nkv] = file_strndup(f, k, kn);
                f->kv[2 * f->nkv + 1] = v ? file_strndup(f, v, vn) : NULL;
                f->nkv++;
            }
        } else if (id == 6 && t == QL_THRIFT_BINARY) {
            const uint8_t *s;
            uint32_t n;
            if (ql_thrift_read_binary(&r, &s, &n) == 0) f->created_by = file_strndup(f, s, n);
        } else {
            ql_thrift_skip(&r, t);
        }
    }
    if (r.err) {
        ql_err(err, errlen, "bad footer (%s)", r.msg ? r.msg : "thrift");
        goto out;
    }
    if (!se || nse < 1 || !have_rows || !rg_at) {
        ql_err(err, errlen, "bad footer: schema, num_rows or row_groups missing");
        goto out;
    }
    if (f->num_rows < 0) {
        ql_err(err, errlen, "bad footer: negative row count");
        goto out;
    }
    /* Flat schemas only: the root's children are all leaves. */
    if (se[0].num_children < 0 || (uint32_t)se[0].num_children != nse - 1 || nse - 1 > QL_PQ_MAX_COLUMNS) {
        for (uint32_t i = 1; i < nse; i++)
            if (se[i].num_children > 0 || se[i].type < 0) {
                ql_err(err, errlen, "column %.*s: nested columns not supported", (int)se[i].name_len,
                       se[i].name ? (const char *)se[i].name : "");
                goto out;
            }
        ql_err(err, errlen, "bad footer: the schema root has %d children for %u elements", se[0].num_children,
               nse - 1);
        goto out;
    }
    f->ncols = (int)(nse - 1);
    f->cols = ql_calloc(f->ncols ? (size_t)f->ncols : 1, sizeof *f->cols);
    for (uint32_t i = 1; i < nse; i++) {
        if (se[i].num_children > 0 || se[i].type < 0) {
            ql_err(err, errlen, "column %.*s: nested columns not supported", (int)se[i].name_len,
                   se[i].name ? (const char *)se[i].name : "");
            goto out;
        }
        if (map_column(f, &se[i], &f->cols[i - 1], err, errlen) < 0) goto out;
    }
    rc = parse_row_groups(f, rg_at, fend, data_end, err, errlen);
out:
    free(se);
    return rc;
}

/* ---- open / close / accessors ------------------------------------------- */

int ql_pq_open_mem(ql_pq_file_t **out, const void *buf, size_t len, char *err, size_t errlen)
{
    ql_pq_file_t *f = ql_calloc(1, sizeof *f);
    *out = NULL;
    f->buf = buf;
    f->len = len;
    if (parse_footer(f, err, errlen) < 0) {
        ql_pq_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

void ql_pq_skip_checksums(ql_pq_file_t *f)
{
    f->skip_crc = 1;
}

int ql_pq_open(ql_pq_file_t **out, const char *path, char *err, size_t errlen)
{
    struct stat st;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ql_err(err, errlen, "%s", strerror(errno));
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return ql_err(err, errlen, "%s", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ql_err(err, errlen, "not a regular file");
    }
    if (st.st_size < 12) {
        close(fd);
        return ql_err(err, errlen, "not a Parquet file (%lld bytes)", (long long)st.st_size);
    }
    /* Lake files are immutable once renamed into place, so the mapping stays valid. */
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) return ql_err(err, errlen, "mmap: %s", strerror(e));
    ql_pq_file_t *f = ql_calloc(1, sizeof *f);
    f->buf = m;
    f->len = (size_t)st.st_size;
    f->map = m;
    if (parse_footer(f, err, errlen) < 0) {
        ql_pq_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

void ql_pq_close(ql_pq_file_t *f)
{
    if (!f) return;
    if (f->map) munmap(f->map, f->len);
    for (size_t i = 0; i < f->nallocs; i++) free(f->allocs[i]);
    free(f->allocs);
    free(f->cols);
    free(f->rg_rows);
    free(f->chunks);
    free(f->kv);
    free(f);
}

int64_t ql_pq_num_rows(const ql_pq_file_t *f) { return f->num_rows; }
int ql_pq_num_row_groups(const ql_pq_file_t *f) { return f->nrg; }
int ql_pq_num_columns(const ql_pq_file_t *f) { return f->ncols; }
const char *ql_pq_created_by(const ql_pq_file_t *f) { return f->created_by; }

int64_t ql_pq_row_group_rows(const ql_pq_file_t *f, int rg)
{
    return rg >= 0 && rg < f->nrg ? f->rg_rows[rg] : -1;
}

const ql_pq_column_info_t *ql_pq_column(const ql_pq_file_t *f, int col)
{
    return col >= 0 && col < f->ncols ? &f->cols[col].info : NULL;
}

int ql_pq_column_index(const ql_pq_file_t *f, const char *name)
{
    for (int i = 0; i < f->ncols; i++)
        if (strcmp(f->cols[i].info.name, name) == 0) return i;
    return -1;
}

const ql_pq_chunk_info_t *ql_pq_chunk(const ql_pq_file_t *f, int rg, int col)
{
    if (rg < 0 || rg >= f->nrg || col < 0 || col >= f->ncols) return NULL;
    return &f->chunks[(size_t)rg * (size_t)f->ncols + (size_t)col].info;
}

const char *ql_pq_kv(const ql_pq_file_t *f, const char *key)
{
    for (int i = 0; i < f->nkv; i++)
        if (strcmp(f->kv[2 * i], key) == 0) return f->kv[2 * i + 1];
    return NULL;
}

int ql_pq_num_kv(const ql_pq_file_t *f) { return f->nkv; }

void ql_pq_kv_at(const ql_pq_file_t *f, int i, const char **key, const char **value)
{
    *key = i >= 0 && i < f->nkv ? f->kv[2 * i] : NULL;
    *value = i >= 0 && i < f->nkv ? f->kv[2 * i + 1] : NULL;
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
    if (parse_page_header(d->f->buf + *pos, (size_t)(ch->end - *pos), h, &hlen, d->err, d->errlen) < 0) return -1;
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
    if (!err || !errlen) return -1;
    if (rg < 0 || rg >= f->nrg || col < 0 || col >= f->ncols) return -1;  /* rd_begin's own message */
    char why[512];
    snprintf(why, sizeof why, "%s", err);
    return ql_err(err, errlen, "row group %d column %s: %s", rg, f->cols[col].info.name, why);
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
