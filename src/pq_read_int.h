/*
 * pq_read_int.h — private to questlog's Parquet reader (src/pq_footer.c and
 * src/pq_read.c; the public interface is pq.h): the open file's handle and
 * its column and chunk tables, the reader's limits, the parsed page header,
 * and the small helpers both halves use (inline, so each file keeps them
 * inlinable where they are used). Nothing else includes it.
 *
 * The parts:
 *   pq_footer.c  Thrift field helpers, page-header parsing, footer / schema /
 *                statistics / row-group parsing, open / close / accessors
 *   pq_read.c    decoding of one column chunk: the page walk (with the CRC
 *                check), decompression, values, levels, dictionaries
 *
 * The division of the safety invariants (the reader is fuzzed): pq_footer.c
 * checks everything the footer and a page header declare (a chunk's byte
 * range lies in the file's data area, its value count <= QL_PQ_MAX_CHUNK_VALUES
 * and its uncompressed size <= QL_PQ_MAX_CHUNK_BYTES, a page's uncompressed
 * size <= QL_PQ_MAX_PAGE and its counts >= 0); pq_read.c relies on those checks
 * and keeps every page and section inside its chunk. Each file's header
 * comment lists the invariants its own code upholds.
 *
 * Threads: a ql_pq_file_t is read-only after ql_pq_open returns, so several
 * threads may read columns of one file at once; everything here is either
 * pure or works on caller-owned state.
 * Errors: negative return with a message in err (ql_err convention).
 */
#ifndef QL_PQ_READ_INT_H
#define QL_PQ_READ_INT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq.h"
#include "pq_internal.h"
#include "util.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Parquet reader assumes a little-endian host (PLAIN values are little-endian)"
#endif

#define QL_PQ_MAX_FOOTER       (64u << 20)
#define QL_PQ_MAX_PAGE         ((size_t)512 << 20)   /* one page, uncompressed */
#define QL_PQ_MAX_CHUNK_VALUES ((int64_t)1 << 26)    /* values in one column chunk */
#define QL_PQ_MAX_CHUNK_BYTES  ((int64_t)4 << 30)    /* one column chunk, uncompressed */
#define QL_PQ_MAX_COLUMNS      100000
#define QL_PQ_MAX_ROW_GROUPS   (1u << 20)

/* Time units of TIMESTAMP columns (parquet.thrift's TimeUnit union ids). */
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

/* ---- helpers both halves use ---------------------------------------------- */

/* Grows an array to hold `need` elements (doubling); *cap counts elements. */
static inline void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    *cap = c;
    return ql_realloc(p, c * elem);
}

static inline rep_t phys_rep(int phys)
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

/* A big-endian two's complement integer of n (1..16) bytes, as a double. */
static inline double be_decimal(const uint8_t *p, size_t n, int scale)
{
    unsigned __int128 u = (p[0] & 0x80) ? ~(unsigned __int128)0 : 0;  /* sign-extended */
    for (size_t i = 0; i < n; i++) u = (u << 8) | p[i];
    return (double)(__int128)u / pow(10.0, scale);
}

/* ---- page headers ---------------------------------------------------------- */

/* A PageHeader's fields the reader uses; -1 / 0 where absent. */
typedef struct page_hdr {
    int32_t type, usize, csize;
    int     has_v1, has_v2, has_dict;
    int32_t num_values, encoding, def_enc;
    int32_t num_nulls, def_len, rep_len;
    int     is_compressed;
    int     has_crc;     /* PageHeader.crc was present */
    int32_t crc;         /* CRC-32 (zlib's) of the page's compressed body */
} page_hdr_t;

/* Parses the PageHeader at [p, p+n) (n: the bytes left in the page's chunk):
 * *hlen gets its encoded size. Checks the header alone: type and sizes
 * present, no negative count, an uncompressed size <= QL_PQ_MAX_PAGE; the
 * caller checks the body against its chunk (pq_read.c's next_page).
 * Never reads outside [p, p+n). Pure; 0, or -1 with the message in err. */
int ql_pq_parse_page_header(const uint8_t *p, size_t n, page_hdr_t *h, size_t *hlen, char *err,
                            size_t errlen);

#endif
