/*
 * pq_common.c — what the Parquet writer and reader share: type/codec names,
 * codec parsing, page (de)compression for UNCOMPRESSED/SNAPPY/GZIP/ZSTD, and
 * the RLE/bit-packing hybrid encoder. Contracts in pq.h and pq_internal.h.
 */
#include "pq_internal.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#include "thrift.h"

const char *ql_pq_type_name(ql_pq_type_t t)
{
    switch (t) {
    case QL_PQ_STRING: return "STRING";
    case QL_PQ_INT64: return "INT64";
    case QL_PQ_INT32: return "INT32";
    case QL_PQ_DOUBLE: return "DOUBLE";
    case QL_PQ_BOOL: return "BOOLEAN";
    case QL_PQ_TIMESTAMP: return "TIMESTAMP";
    case QL_PQ_FLOAT: return "FLOAT";
    case QL_PQ_BINARY: return "BINARY";
    }
    return "UNKNOWN";
}

const char *ql_pq_codec_name(ql_pq_codec_t c)
{
    switch (c) {
    case QL_PQ_UNCOMPRESSED: return "UNCOMPRESSED";
    case QL_PQ_SNAPPY: return "SNAPPY";
    case QL_PQ_GZIP: return "GZIP";
    case QL_PQ_ZSTD: return "ZSTD";
    }
    return "UNKNOWN";
}

int ql_pq_codec_parse(const char *s, ql_pq_codec_t *out)
{
    static const struct { const char *name; ql_pq_codec_t c; } tab[] = {
        {"zstd", QL_PQ_ZSTD}, {"snappy", QL_PQ_SNAPPY}, {"none", QL_PQ_UNCOMPRESSED},
        {"uncompressed", QL_PQ_UNCOMPRESSED}, {"gzip", QL_PQ_GZIP},
    };
    for (size_t i = 0; s && i < QL_ARRAY_LEN(tab); i++)
        if (strcasecmp(s, tab[i].name) == 0) {
            *out = tab[i].c;
            return 0;
        }
    return -1;
}

const char *ql_pq_encoding_name(int enc)
{
    static const char *names[] = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
                                  "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY",
                                  "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
    if (enc < 0 || (size_t)enc >= QL_ARRAY_LEN(names)) return "UNKNOWN";
    return names[enc];
}

/* ---- compression ------------------------------------------------------- */

void ql_pq_zctx_free(ql_pq_zctx_t *z)
{
    if (!z) return;
    ZSTD_freeCCtx(z->zc);
    ZSTD_freeDCtx(z->zd);
    if (z->inf) {
        inflateEnd(z->inf);
        free(z->inf);
    }
    memset(z, 0, sizeof *z);
}

size_t ql_pq_compress_bound(ql_pq_codec_t c, size_t n)
{
    switch (c) {
    case QL_PQ_SNAPPY: return snappy_max_compressed_length(n);
    case QL_PQ_ZSTD: return ZSTD_compressBound(n);
    default: return n;
    }
}

int ql_pq_compress(ql_pq_zctx_t *z, ql_pq_codec_t c, int level, const void *src, size_t n,
                   void *dst, size_t cap, size_t *out_len, char *err, size_t errlen)
{
    switch (c) {
    case QL_PQ_UNCOMPRESSED:
        if (cap < n) return ql_err(err, errlen, "compress: buffer too small");
        memcpy(dst, src, n);
        *out_len = n;
        return 0;
    case QL_PQ_SNAPPY: {
        size_t len = cap;
        if (snappy_compress(src, n, dst, &len) != SNAPPY_OK)
            return ql_err(err, errlen, "snappy compression failed");
        *out_len = len;
        return 0;
    }
    case QL_PQ_ZSTD: {
        size_t r;
        if (z) {
            if (!z->zc && !(z->zc = ZSTD_createCCtx())) return ql_err(err, errlen, "zstd: out of memory");
            r = ZSTD_compressCCtx(z->zc, dst, cap, src, n, level);
        } else {
            r = ZSTD_compress(dst, cap, src, n, level);
        }
        if (ZSTD_isError(r)) return ql_err(err, errlen, "zstd: %s", ZSTD_getErrorName(r));
        *out_len = r;
        return 0;
    }
    default:
        return ql_err(err, errlen, "compression codec %s is not written", ql_pq_codec_name(c));
    }
}

static int gunzip(ql_pq_zctx_t *z, const void *src, size_t n, void *dst, size_t dst_len,
                  char *err, size_t errlen)
{
    z_stream local, *s = &local;
    int rc = -1;
    if (z) {
        if (!z->inf) {
            z->inf = ql_calloc(1, sizeof(z_stream));
            if (inflateInit2(z->inf, 15 + 32) != Z_OK) {
                free(z->inf);
                z->inf = NULL;
                return ql_err(err, errlen, "gzip: init failed");
            }
        } else if (inflateReset(z->inf) != Z_OK) {
            return ql_err(err, errlen, "gzip: reset failed");
        }
        s = z->inf;
    } else {
        memset(s, 0, sizeof *s);
        if (inflateInit2(s, 15 + 32) != Z_OK) return ql_err(err, errlen, "gzip: init failed");
    }
    s->next_in = (Bytef *)src;
    s->avail_in = (uInt)n;
    s->next_out = dst;
    s->avail_out = (uInt)dst_len;
    if (n > UINT32_MAX || dst_len > UINT32_MAX) {
        ql_err(err, errlen, "gzip: page too large");
        goto out;
    }
    for (;;) {
        int zr = inflate(s, Z_FINISH);
        if (zr == Z_STREAM_END) {
            /* Concatenated gzip members: go on while input remains. */
            if (s->avail_in > 0 && s->avail_out > 0) {
                if (inflateReset(s) != Z_OK) break;
                continue;
            }
            break;
        }
        if (zr == Z_BUF_ERROR && s->avail_out == 0) {
            ql_err(err, errlen, "gzip: page larger than declared");
            goto out;
        }
        if (zr != Z_OK) {
            ql_err(err, errlen, "gzip: %s", s->msg ? s->msg : "corrupt data");
            goto out;
        }
    }
    if (s->avail_out != 0) {
        ql_err(err, errlen, "gzip: page shorter than declared");
        goto out;
    }
    rc = 0;
out:
    if (s == &local) inflateEnd(s);
    return rc;
}

int ql_pq_decompress(ql_pq_zctx_t *z, ql_pq_codec_t c, const void *src, size_t n,
                     void *dst, size_t dst_len, char *err, size_t errlen)
{
    switch (c) {
    case QL_PQ_UNCOMPRESSED:
        if (n != dst_len) return ql_err(err, errlen, "uncompressed page: size mismatch");
        if (n) memcpy(dst, src, n);
        return 0;
    case QL_PQ_SNAPPY: {
        size_t len;
        if (snappy_uncompressed_length(src, n, &len) != SNAPPY_OK || len != dst_len)
            return ql_err(err, errlen, "snappy: corrupt or size mismatch");
        if (snappy_validate_compressed_buffer(src, n) != SNAPPY_OK)
            return ql_err(err, errlen, "snappy: corrupt data");
        len = dst_len;
        if (snappy_uncompress(src, n, dst, &len) != SNAPPY_OK || len != dst_len)
            return ql_err(err, errlen, "snappy: corrupt data");
        return 0;
    }
    case QL_PQ_ZSTD: {
        size_t r;
        if (z) {
            if (!z->zd && !(z->zd = ZSTD_createDCtx())) return ql_err(err, errlen, "zstd: out of memory");
            r = ZSTD_decompressDCtx(z->zd, dst, dst_len, src, n);
        } else {
            r = ZSTD_decompress(dst, dst_len, src, n);
        }
        if (ZSTD_isError(r)) return ql_err(err, errlen, "zstd: %s", ZSTD_getErrorName(r));
        if (r != dst_len) return ql_err(err, errlen, "zstd: page shorter than declared");
        return 0;
    }
    case QL_PQ_GZIP:
        return gunzip(z, src, n, dst, dst_len, err, errlen);
    }
    return ql_err(err, errlen, "unsupported compression codec %d", (int)c);
}

/* ---- RLE / bit-packing hybrid ----------------------------------------- */

int ql_pq_bit_width(uint32_t max_value)
{
    int w = 0;
    while (max_value) {
        w++;
        max_value >>= 1;
    }
    return w;
}

static void put_rle_run(ql_buf_t *out, uint32_t value, size_t count, int bit_width)
{
    ql_thrift_put_uvarint(out, (uint64_t)count << 1);
    int nbytes = (bit_width + 7) / 8;
    for (int i = 0; i < nbytes; i++) ql_buf_putc(out, (char)(value >> (8 * i)));
}

/* Bit-packs vals[0..n) (n <= 504) as ceil(n/8) groups, zero-padding the last. */
#define DEFINE_PACK(SUFFIX, T)                                                       \
    static void put_packed_##SUFFIX(ql_buf_t *out, const T *v, size_t n, int bw)    \
    {                                                                               \
        size_t groups = (n + 7) / 8;                                                \
        ql_thrift_put_uvarint(out, (groups << 1) | 1);                              \
        size_t bytes = groups * (size_t)bw;                                         \
        ql_buf_reserve(out, bytes + 8);                                             \
        uint8_t *p = (uint8_t *)out->data + out->len;                               \
        uint64_t acc = 0;                                                           \
        int bits = 0;                                                               \
        for (size_t i = 0; i < groups * 8; i++) {                                   \
            uint64_t x = i < n ? (uint64_t)v[i] : 0;                                \
            acc |= x << bits;                                                       \
            bits += bw;                                                             \
            while (bits >= 8) {                                                     \
                *p++ = (uint8_t)acc;                                                \
                acc >>= 8;                                                          \
                bits -= 8;                                                          \
            }                                                                       \
        }                                                                           \
        out->len += bytes;                                                          \
        out->data[out->len] = 0;                                                    \
    }

/* Runs of >= 8 equal values become RLE runs; everything between them is
 * bit-packed in groups of 8 (a group may swallow the start of a following
 * run, which then continues as RLE or packing). */
#define DEFINE_RLE(SUFFIX, T)                                                        \
    DEFINE_PACK(SUFFIX, T)                                                           \
    void ql_pq_rle_encode_##SUFFIX(ql_buf_t *out, const T *v, size_t n, int bw)      \
    {                                                                                \
        size_t i = 0;                                                                \
        while (i < n) {                                                              \
            size_t j = i + 1;                                                        \
            while (j < n && v[j] == v[i]) j++;                                       \
            if (j - i >= 8 || bw == 0) {                                             \
                put_rle_run(out, v[i], j - i, bw);                                   \
                i = j;                                                               \
                continue;                                                            \
            }                                                                        \
            /* Pack from i until a run of >= 8 starts at a group boundary. */       \
            size_t k = i;                                                            \
            while (k < n && k - i < 63 * 8) {                                        \
                size_t r = k + 1;                                                    \
                while (r < n && v[r] == v[k] && r - k < 8) r++;                      \
                if (r - k >= 8 && (k - i) % 8 == 0) break;                           \
                k += 8;                                                              \
                if (k > n) k = n;                                                    \
            }                                                                        \
            if (k > i + 63 * 8) k = i + 63 * 8;                                      \
            put_packed_##SUFFIX(out, v + i, k - i, bw);                              \
            i = k;                                                                   \
        }                                                                            \
    }

DEFINE_RLE(u32, uint32_t)
DEFINE_RLE(u8, uint8_t)
