/*
 * pq_decode.h — the Parquet value and level encodings, decoding side, over
 * bounded byte ranges: the RLE/bit-packing hybrid (definition levels,
 * dictionary indices, RLE booleans), PLAIN bit-packed booleans,
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and
 * BYTE_STREAM_SPLIT. Used by pq_read.c; exposed so the unit tests can hit the
 * decoders with hand-built buffers. Spec: parquet-format Encodings.md.
 *
 * Safety contract (the reader is fuzzed): no function here reads outside the
 * [p, p + n) range it is given, writes more than the `count` values the
 * caller sized its output for, or loops more than a bounded number of times
 * per output value / input byte. Malformed input gives -1 and a static
 * message in *msg.
 *
 * Threads: pure functions and caller-owned state; no globals.
 */
#ifndef QL_PQ_DECODE_H
#define QL_PQ_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* The RLE/bit-packing hybrid, pull-style. bit_width 0..32. */
typedef struct ql_pq_rle {
    const uint8_t *p, *end;  /* the unread input */
    int            bw;
    int            mode;     /* 0 = need a run header, 1 = RLE run, 2 = bit-packed run */
    uint64_t       left;     /* values left in the current run */
    uint32_t       value;    /* RLE: the repeated value */
    const uint8_t *bp;       /* bit-packed: the run's first byte */
    const uint8_t *bp_end;   /* bit-packed: end of the run's bytes, cut at `end` for a
                                truncated final run (values past it are an error) */
    uint64_t       bitpos;   /* bit-packed: bit offset of the next value from bp */
} ql_pq_rle_t;

/* Starts decoding [p, p+n) at bit_width (0..32; else -1). */
int ql_pq_rle_init(ql_pq_rle_t *r, const void *p, size_t n, int bit_width);
/* Decodes exactly `count` values into out. 0, or -1 (input ends early or a
 * run header is malformed), message in *msg. */
int ql_pq_rle_get_u32(ql_pq_rle_t *r, uint32_t *out, size_t count, const char **msg);
/* Same, into bytes (values must fit: bit_width <= 8). */
int ql_pq_rle_get_u8(ql_pq_rle_t *r, uint8_t *out, size_t count, const char **msg);

/* Unpacks `count` values of bit_width (0..64) packed LSB-first from p, which
 * must hold at least (count * bit_width + 7) / 8 bytes (caller checks). */
void ql_pq_unpack_bits(const uint8_t *p, int bit_width, uint64_t *out, size_t count);

/* DELTA_BINARY_PACKED: decodes the header's total value count, which must be
 * <= max_count (else -1), into out (as int64; INT32 callers truncate — the
 * spec's arithmetic wraps, so truncation of the 64-bit sum is exact).
 * *count gets the number of values, *used the bytes consumed. */
int ql_pq_delta_decode(const uint8_t *p, size_t n, int64_t *out, size_t max_count, size_t *count,
                       size_t *used, const char **msg);

/* DELTA_LENGTH_BYTE_ARRAY: exactly `count` strings from [p, p+n): ptr/len
 * point into the input. tmp must hold `count` int64s. */
int ql_pq_delta_length_decode(const uint8_t *p, size_t n, size_t count, const char **ptr, uint32_t *len,
                              int64_t *tmp, const char **msg);

/* DELTA_BYTE_ARRAY: exactly `count` strings. The values are rebuilt into
 * one buffer (*store, malloc'd, caller frees; total size capped at
 * max_bytes, else -1); ptr/len point into it. tmp must hold 2 * count int64s. */
int ql_pq_delta_byte_array_decode(const uint8_t *p, size_t n, size_t count, const char **ptr,
                                  uint32_t *len, int64_t *tmp, char **store, size_t max_bytes,
                                  const char **msg);

/* BYTE_STREAM_SPLIT: count values of width bytes (1..16) from n bytes
 * (n must equal count * width, else -1) into out (count * width bytes,
 * values in little-endian order as PLAIN would hold them). */
int ql_pq_byte_stream_split_decode(const uint8_t *p, size_t n, size_t count, int width, uint8_t *out,
                                   const char **msg);

/* Unsigned LEB128 varint from [*p, end): advances *p. 0 or -1 (truncated/too long). */
int ql_pq_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *v);

#endif
