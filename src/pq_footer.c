/*
 * pq_footer.c — questlog's Parquet reader, file side: opening a file
 * (mmap'ed, or a buffer), parsing its footer (schema, flat only; key/value
 * metadata; row groups and column-chunk metadata with statistics) into the
 * handle's column and chunk tables, page-header parsing, and the accessors
 * of pq.h. Decoding the column chunks is pq_read.c's; what both share is in
 * pq_read_int.h; docs/parquet-reader.md tells the story.
 *
 * Safety invariants (the reader is fuzzed; a malformed file must give an
 * error, never a crash, an over-read, an unbounded allocation or a hang):
 *  - Every offset and length taken from the footer is checked against the
 *    bytes that remain in its enclosing range (file → footer → struct; a
 *    chunk's byte range against the file's data area, check_chunk; a page
 *    header against what is left of its chunk) before it is used, in 64-bit
 *    arithmetic, so nothing wraps.
 *  - Allocations are sized by bounded quantities only: the footer (≤ 64 MiB
 *    and ≤ the file), the schema (≤ QL_PQ_MAX_COLUMNS elements), the chunk
 *    table (row groups × columns, bounded by the footer's size). The limits
 *    pq_read.c's allocations rely on are checked here: a chunk's declared
 *    value count ≤ QL_PQ_MAX_CHUNK_VALUES and uncompressed size ≤
 *    QL_PQ_MAX_CHUNK_BYTES (check_chunk), a page's uncompressed size ≤
 *    QL_PQ_MAX_PAGE and its counts ≥ 0 (ql_pq_parse_page_header).
 *  - Every loop advances through input bytes (the Thrift reader's), bounded.
 *
 * Performance: a file opened by path is mmap'ed, so only the footer and the
 * chunks asked for are ever read from disk (column projection).
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

#include "pq_internal.h"
#include "pq_read_int.h"
#include "thrift.h"
#include "util.h"

/* Converted types and logical-type union ids used here (parquet.thrift). */
enum { CT_UTF8 = 0, CT_ENUM = 4, CT_DECIMAL = 5, CT_DATE = 6, CT_TS_MILLIS = 9, CT_TS_MICROS = 10,
       CT_UINT_8 = 11, CT_UINT_16 = 12, CT_UINT_32 = 13, CT_UINT_64 = 14, CT_JSON = 19 };
enum { LT_STRING = 1, LT_ENUM = 4, LT_DECIMAL = 5, LT_DATE = 6, LT_TIME = 7, LT_TIMESTAMP = 8,
       LT_INTEGER = 10, LT_JSON = 12 };

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

int ql_pq_parse_page_header(const uint8_t *p, size_t n, page_hdr_t *h, size_t *hlen, char *err,
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
