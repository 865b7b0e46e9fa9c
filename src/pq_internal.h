/*
 * pq_internal.h — pieces shared by the Parquet writer (pq_write.c) and reader
 * (pq_footer.c, pq_read.c), implemented in pq_common.c: parquet.thrift enum
 * values, page compression/decompression for every codec questlog knows, and
 * the RLE/bit-packing hybrid encoder (Parquet Encodings.md).
 *
 * Threads: a ql_pq_zctx_t belongs to one thread at a time; the functions
 * themselves keep no global state.
 * Errors: negative return with a message in err (ql_err convention).
 */
#ifndef QL_PQ_INTERNAL_H
#define QL_PQ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pq.h"
#include "util.h"

/* parquet.thrift enums (values fixed by the format). */
enum { PQ_T_BOOLEAN = 0, PQ_T_INT32 = 1, PQ_T_INT64 = 2, PQ_T_INT96 = 3, PQ_T_FLOAT = 4,
       PQ_T_DOUBLE = 5, PQ_T_BYTE_ARRAY = 6, PQ_T_FIXED_LEN_BYTE_ARRAY = 7 };
enum { PQ_REP_REQUIRED = 0, PQ_REP_OPTIONAL = 1, PQ_REP_REPEATED = 2 };
enum { PQ_CT_UTF8 = 0, PQ_CT_TIMESTAMP_MILLIS = 9, PQ_CT_TIMESTAMP_MICROS = 10 };
enum { PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICTIONARY = 2, PQ_ENC_RLE = 3, PQ_ENC_BIT_PACKED = 4,
       PQ_ENC_DELTA_BINARY_PACKED = 5, PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
       PQ_ENC_DELTA_BYTE_ARRAY = 7, PQ_ENC_RLE_DICTIONARY = 8, PQ_ENC_BYTE_STREAM_SPLIT = 9 };
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3 };

/* Name of an Encoding value ("PLAIN", "RLE_DICTIONARY", …; "UNKNOWN" else). */
const char *ql_pq_encoding_name(int enc);

/* Codec contexts reused across pages (zstd contexts are costly to create).
 * Zero-initialised is valid and empty; free with ql_pq_zctx_free. */
typedef struct ql_pq_zctx {
    void *zc;   /* ZSTD_CCtx, created on first use */
    void *zd;   /* ZSTD_DCtx, created on first use */
    void *inf;  /* z_stream for GZIP, created on first use */
} ql_pq_zctx_t;
void ql_pq_zctx_free(ql_pq_zctx_t *z);

/* Worst-case compressed size of n bytes (for sizing dst). */
size_t ql_pq_compress_bound(ql_pq_codec_t c, size_t n);
/* Compresses src[0..n) into dst (capacity cap >= ql_pq_compress_bound) with
 * codec c (UNCOMPRESSED copies; GZIP is not written: error). level is used by
 * ZSTD (1..19). z may be NULL (one-shot context). *out_len gets the size. */
int ql_pq_compress(ql_pq_zctx_t *z, ql_pq_codec_t c, int level, const void *src, size_t n,
                   void *dst, size_t cap, size_t *out_len, char *err, size_t errlen);
/* Decompresses src[0..n) into dst, which must receive exactly dst_len bytes
 * (the page header's uncompressed size): anything else is an error. Never
 * writes beyond dst_len. Codecs: UNCOMPRESSED, SNAPPY, GZIP, ZSTD. */
int ql_pq_decompress(ql_pq_zctx_t *z, ql_pq_codec_t c, const void *src, size_t n,
                     void *dst, size_t dst_len, char *err, size_t errlen);

/* RLE/bit-packing hybrid encoding of n values of bit_width (0..32) bits,
 * appended to out, without the 4-byte length prefix (callers add it where
 * the format wants one). Bit-packed runs hold at most 63 groups of 8 values
 * (the last group of the data is zero-padded). */
void ql_pq_rle_encode_u32(ql_buf_t *out, const uint32_t *v, size_t n, int bit_width);
void ql_pq_rle_encode_u8(ql_buf_t *out, const uint8_t *v, size_t n, int bit_width);
/* Bits needed for values 0..max_value (0 for max_value 0). */
int ql_pq_bit_width(uint32_t max_value);

#endif
