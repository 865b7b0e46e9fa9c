/*
 * pq_decode.c — decoders for the Parquet level/value encodings (see
 * pq_decode.h for the list and the bounds contract). Every read is checked
 * against the end of its input before it happens.
 */
#include "pq_decode.h"

#include <string.h>

#include "thrift.h"
#include "util.h"

int ql_pq_uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end) return -1;
        uint8_t b = *p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* ---- RLE / bit-packing hybrid ------------------------------------------ */

int ql_pq_rle_init(ql_pq_rle_t *r, const void *p, size_t n, int bit_width)
{
    memset(r, 0, sizeof *r);
    if (bit_width < 0 || bit_width > 32) return -1;
    r->p = p;
    r->end = r->p + n;
    r->bw = bit_width;
    return 0;
}

/* Reads the next run header. Each header consumes >= 1 byte, so a stream of
 * empty runs ends with the input. */
static int rle_next_run(ql_pq_rle_t *r, const char **msg)
{
    uint64_t h;
    if (r->p >= r->end) {
        *msg = "RLE/bit-packed data ends before all values";
        return -1;
    }
    if (ql_pq_uvarint(&r->p, r->end, &h) < 0) {
        *msg = "bad RLE run header";
        return -1;
    }
    if (h & 1) {
        uint64_t groups = h >> 1;
        size_t avail = (size_t)(r->end - r->p);
        if (groups > ((uint64_t)1 << 40)) {
            *msg = "bit-packed run too long";
            return -1;
        }
        uint64_t bytes = groups * (uint64_t)r->bw;
        r->mode = 2;
        r->left = groups * 8;
        r->bp = r->p;
        /* A truncated final run is tolerated as long as the values actually
         * read are present: bp_end stops at the input's end. */
        r->bp_end = bytes <= avail ? r->p + bytes : r->end;
        r->p = r->bp_end;
        r->bitpos = 0;
    } else {
        int vb = (r->bw + 7) / 8;
        if ((size_t)(r->end - r->p) < (size_t)vb) {
            *msg = "RLE run value truncated";
            return -1;
        }
        uint32_t v = 0;
        for (int i = 0; i < vb; i++) v |= (uint32_t)r->p[i] << (8 * i);
        r->p += vb;
        if (r->bw < 32) v &= ((uint32_t)1 << r->bw) - 1;
        r->mode = 1;
        r->left = h >> 1;
        r->value = v;
    }
    return 0;
}

/* Values [0, k) of the current bit-packed run from bit r->bitpos on; -1 if
 * their bytes are missing (a truncated final run). Where an 8-byte window
 * lies inside the run, one unaligned load gives the next 57 / bw values (after
 * the shift by pos % 8 at least 57 of its bits are the run's), then one load
 * per value; the last few bytes are read one by one. */
#define RLE_BP_BODY(T)                                                            \
    size_t avail = (size_t)(r->bp_end - r->bp);                                   \
    uint64_t mask = ((uint64_t)1 << r->bw) - 1, pos = r->bitpos;                  \
    size_t i = 0;                                                                 \
    size_t per = r->bw ? (size_t)(57 / r->bw) : 0;                                \
    if (avail >= 8 && per > 1)                                                    \
        while (i + per <= k && (pos >> 3) <= avail - 8) {                         \
            uint64_t w;                                                           \
            memcpy(&w, r->bp + (pos >> 3), 8);                                    \
            w >>= pos & 7;                                                        \
            for (size_t j = 0; j < per; j++, w >>= r->bw) out[i + j] = (T)(w & mask); \
            i += per;                                                             \
            pos += (uint64_t)per * (uint64_t)r->bw;                               \
        }                                                                         \
    if (avail >= 8)                                                               \
        for (; i < k && (pos >> 3) <= avail - 8; i++, pos += (uint64_t)r->bw) {  \
            uint64_t w;                                                           \
            memcpy(&w, r->bp + (pos >> 3), 8);                                    \
            out[i] = (T)((w >> (pos & 7)) & mask);                                \
        }                                                                         \
    for (; i < k; i++, pos += (uint64_t)r->bw) {                                  \
        if ((pos + (uint64_t)r->bw + 7) >> 3 > avail) return -1;                  \
        uint64_t w = 0;                                                           \
        for (size_t j = 0; j < 8 && (pos >> 3) + j < avail; j++)                  \
            w |= (uint64_t)r->bp[(pos >> 3) + j] << (8 * j);                      \
        out[i] = (T)((w >> (pos & 7)) & mask);                                    \
    }                                                                             \
    r->bitpos = pos;                                                              \
    return 0;

static int rle_bp_u32(ql_pq_rle_t *r, uint32_t *out, size_t k) { RLE_BP_BODY(uint32_t) }
static int rle_bp_u8(ql_pq_rle_t *r, uint8_t *out, size_t k)
{
    if (r->bw == 1 && (r->bitpos & 7) == 0) {  /* definition levels: a byte gives 8 values */
        size_t avail = (size_t)(r->bp_end - r->bp), byte = (size_t)(r->bitpos >> 3), full = k / 8;
        if (full > avail - byte) full = avail - byte;
        for (size_t b = 0; b < full; b++) {
            uint8_t x = r->bp[byte + b];
            for (int j = 0; j < 8; j++) out[8 * b + (size_t)j] = (x >> j) & 1;
        }
        r->bitpos += (uint64_t)full * 8;
        out += full * 8;
        k -= full * 8;
    }
    RLE_BP_BODY(uint8_t)
}

#define RLE_GET_BODY(T, BP)                                                       \
    while (count) {                                                               \
        if (r->left == 0) {                                                       \
            if (rle_next_run(r, msg) < 0) return -1;                              \
            continue;                                                             \
        }                                                                         \
        size_t k = count < r->left ? count : (size_t)r->left;                     \
        if (r->mode == 1) {                                                       \
            T v = (T)r->value;                                                    \
            for (size_t i = 0; i < k; i++) out[i] = v;                            \
        } else if (BP(r, out, k) < 0) {                                           \
            *msg = "bit-packed run truncated";                                    \
            return -1;                                                            \
        }                                                                         \
        out += k;                                                                 \
        count -= k;                                                               \
        r->left -= k;                                                             \
    }                                                                             \
    return 0;

int ql_pq_rle_get_u32(ql_pq_rle_t *r, uint32_t *out, size_t count, const char **msg)
{
    RLE_GET_BODY(uint32_t, rle_bp_u32)
}

int ql_pq_rle_get_u8(ql_pq_rle_t *r, uint8_t *out, size_t count, const char **msg)
{
    if (r->bw > 8) {
        *msg = "level bit width above 8";
        return -1;
    }
    RLE_GET_BODY(uint8_t, rle_bp_u8)
}

/* ---- bit unpacking ------------------------------------------------------ */

void ql_pq_unpack_bits(const uint8_t *p, int bw, uint64_t *out, size_t count)
{
    if (bw == 0) {
        memset(out, 0, count * sizeof *out);
        return;
    }
    if (bw <= 56) {
        uint64_t acc = 0, mask = ((uint64_t)1 << bw) - 1;
        int nbits = 0;
        for (size_t i = 0; i < count; i++) {
            while (nbits < bw) {
                acc |= (uint64_t)*p++ << nbits;
                nbits += 8;
            }
            out[i] = acc & mask;
            acc >>= bw;
            nbits -= bw;
        }
        return;
    }
    uint64_t bit = 0;
    for (size_t i = 0; i < count; i++, bit += (uint64_t)bw) {
        uint64_t v = 0;
        size_t byte = (size_t)(bit >> 3);
        int off = (int)(bit & 7), got = 0;
        while (got < bw) {
            v |= ((uint64_t)p[byte++] >> off) << got;
            got += 8 - off;
            off = 0;
        }
        out[i] = bw == 64 ? v : v & (((uint64_t)1 << bw) - 1);
    }
}

/* ---- DELTA_BINARY_PACKED ------------------------------------------------ */

#define DELTA_MAX_BLOCK (1u << 20)

int ql_pq_delta_decode(const uint8_t *p, size_t n, int64_t *out, size_t max_count, size_t *count,
                       size_t *used, const char **msg)
{
    const uint8_t *start = p, *end = p + n;
    uint64_t block, nmb, total, first;
    if (ql_pq_uvarint(&p, end, &block) < 0 || ql_pq_uvarint(&p, end, &nmb) < 0 ||
        ql_pq_uvarint(&p, end, &total) < 0 || ql_pq_uvarint(&p, end, &first) < 0) {
        *msg = "DELTA_BINARY_PACKED header truncated";
        return -1;
    }
    if (block == 0 || block % 128 || block > DELTA_MAX_BLOCK || nmb == 0 || block % nmb ||
        (block / nmb) % 32) {
        *msg = "DELTA_BINARY_PACKED header has a bad block layout";
        return -1;
    }
    if (total > max_count) {
        *msg = "DELTA_BINARY_PACKED holds more values than the page";
        return -1;
    }
    size_t per_mb = (size_t)(block / nmb);
    size_t i = 0;
    if (total > 0) out[i++] = (int64_t)ql_thrift_unzigzag64(first);
    while (i < total) {
        uint64_t zmin;
        if (ql_pq_uvarint(&p, end, &zmin) < 0 || (size_t)(end - p) < nmb) {
            *msg = "DELTA_BINARY_PACKED block header truncated";
            return -1;
        }
        uint64_t min_delta = (uint64_t)ql_thrift_unzigzag64(zmin);
        const uint8_t *widths = p;
        p += nmb;
        for (size_t m = 0; m < nmb && i < total; m++) {
            int bw = widths[m];
            if (bw > 64) {
                *msg = "DELTA_BINARY_PACKED bit width above 64";
                return -1;
            }
            size_t bytes = per_mb / 8 * (size_t)bw;
            if ((size_t)(end - p) < bytes) {
                *msg = "DELTA_BINARY_PACKED miniblock truncated";
                return -1;
            }
            size_t k = per_mb < total - i ? per_mb : (size_t)(total - i);
            uint64_t *u = (uint64_t *)(out + i);
            ql_pq_unpack_bits(p, bw, u, k);
            uint64_t prev = (uint64_t)out[i - 1];
            for (size_t j = 0; j < k; j++) {
                prev = prev + min_delta + u[j];
                u[j] = prev;
            }
            i += k;
            p += bytes;
        }
    }
    *count = (size_t)total;
    *used = (size_t)(p - start);
    return 0;
}

int ql_pq_delta_length_decode(const uint8_t *p, size_t n, size_t count, const char **ptr, uint32_t *len,
                              int64_t *tmp, const char **msg)
{
    size_t got, used;
    if (ql_pq_delta_decode(p, n, tmp, count, &got, &used, msg) < 0) return -1;
    if (got != count) {
        *msg = "DELTA_LENGTH_BYTE_ARRAY holds fewer lengths than values";
        return -1;
    }
    const uint8_t *d = p + used, *end = p + n;
    for (size_t i = 0; i < count; i++) {
        int64_t l = tmp[i];
        if (l < 0 || (uint64_t)l > (uint64_t)(end - d) || l > (int64_t)UINT32_MAX) {
            *msg = "DELTA_LENGTH_BYTE_ARRAY length out of range";
            return -1;
        }
        ptr[i] = (const char *)d;
        len[i] = (uint32_t)l;
        d += l;
    }
    return 0;
}

int ql_pq_delta_byte_array_decode(const uint8_t *p, size_t n, size_t count, const char **ptr,
                                  uint32_t *len, int64_t *tmp, char **store, size_t max_bytes,
                                  const char **msg)
{
    size_t got, used;
    int64_t *prefix = tmp, *lens = tmp + count;
    *store = NULL;
    if (ql_pq_delta_decode(p, n, prefix, count, &got, &used, msg) < 0) return -1;
    if (got != count) {
        *msg = "DELTA_BYTE_ARRAY holds fewer prefix lengths than values";
        return -1;
    }
    if (ql_pq_delta_length_decode(p + used, n - used, count, ptr, len, lens, msg) < 0) return -1;
    /* Sizes first (bounded), then one allocation, then the values. */
    uint64_t total = 0, prev_len = 0;
    for (size_t i = 0; i < count; i++) {
        if (prefix[i] < 0 || (uint64_t)prefix[i] > prev_len) {
            *msg = "DELTA_BYTE_ARRAY prefix longer than the previous value";
            return -1;
        }
        prev_len = (uint64_t)prefix[i] + len[i];
        total += prev_len;
        if (prev_len > UINT32_MAX || total > max_bytes) {
            *msg = "DELTA_BYTE_ARRAY values too large";
            return -1;
        }
    }
    char *s = ql_malloc(total ? (size_t)total : 1), *w = s;
    const char *prev = NULL;
    for (size_t i = 0; i < count; i++) {
        size_t pl = (size_t)prefix[i];
        if (pl) memcpy(w, prev, pl);
        if (len[i]) memcpy(w + pl, ptr[i], len[i]);
        ptr[i] = w;
        len[i] = (uint32_t)(pl + len[i]);
        prev = w;
        w += len[i];
    }
    *store = s;
    return 0;
}

/* ---- BYTE_STREAM_SPLIT -------------------------------------------------- */

int ql_pq_byte_stream_split_decode(const uint8_t *p, size_t n, size_t count, int width, uint8_t *out,
                                   const char **msg)
{
    if (width < 1 || width > 16 || count > SIZE_MAX / 16 || n != count * (size_t)width) {
        *msg = "BYTE_STREAM_SPLIT size does not match the value count";
        return -1;
    }
    for (int k = 0; k < width; k++) {
        const uint8_t *s = p + (size_t)k * count;
        for (size_t i = 0; i < count; i++) out[i * (size_t)width + (size_t)k] = s[i];
    }
    return 0;
}
