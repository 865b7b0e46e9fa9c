/*
 * test_pq_read.c — unit tests for the Parquet reader: the decoders of
 * pq_decode.c on hand-built buffers (RLE/bit-packing hybrid, bit unpacking,
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY,
 * BYTE_STREAM_SPLIT), their bounds checks on truncated or hostile input, the
 * footer checks of ql_pq_open_mem, decoding of small DuckDB-written files
 * (tests/fuzz/corpus/parquet/), ql_pq_read_dictionary, and a round trip
 * through questlog's own writer.
 */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pq.h"
#include "pq_decode.h"
#include "pq_internal.h"
#include "tap.h"
#include "thrift.h"
#include "util.h"

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ---- RLE / bit-packing hybrid ------------------------------------------ */

static void test_rle(void)
{
    const char *msg = NULL;
    ql_pq_rle_t r;
    uint32_t v[64];

    /* RLE run: 5 x 3 at bit width 2. */
    const uint8_t a[] = {5 << 1, 0x03};
    ql_pq_rle_init(&r, a, sizeof a, 2);
    ok(ql_pq_rle_get_u32(&r, v, 5, &msg) == 0 && v[0] == 3 && v[4] == 3, "RLE run of 5 x 3");
    ok(ql_pq_rle_get_u32(&r, v, 1, &msg) < 0, "reading past the data fails (%s)", msg);

    /* Bit-packed, the spec's example: 0..7 at bit width 3 = 0x88 0xC6 0xFA. */
    const uint8_t b[] = {(1 << 1) | 1, 0x88, 0xC6, 0xFA};
    ql_pq_rle_init(&r, b, sizeof b, 3);
    int good = ql_pq_rle_get_u32(&r, v, 8, &msg) == 0;
    for (int i = 0; i < 8 && good; i++) good = v[i] == (uint32_t)i;
    ok(good, "bit-packed 0..7 at width 3 (spec example)");

    /* Mixed: RLE(4 x 1), bit-packed 8 values at width 1, RLE (300 x 0) with a 2-byte header. */
    const uint8_t c[] = {4 << 1, 1, (1 << 1) | 1, 0xA5, 0xD8, 0x04, 0};
    uint8_t u8[400];
    ql_pq_rle_init(&r, c, sizeof c, 1);
    good = ql_pq_rle_get_u8(&r, u8, 312, &msg) == 0;
    const uint8_t want8[12] = {1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 0, 1};
    ok(good && memcmp(u8, want8, 12) == 0 && u8[12] == 0 && u8[311] == 0, "mixed runs, read into bytes");
    ok(ql_pq_rle_get_u8(&r, u8, 1, &msg) < 0, "and no value beyond them");

    /* Values requested across calls split runs correctly. */
    ql_pq_rle_init(&r, c, sizeof c, 1);
    good = 1;
    for (int i = 0; i < 12 && good; i++) good = ql_pq_rle_get_u8(&r, u8, 1, &msg) == 0 && u8[0] == want8[i];
    ok(good, "one value at a time gives the same");

    /* A truncated final bit-packed run: fine while the values read are there. */
    const uint8_t d[] = {(2 << 1) | 1, 0xFF};  /* declares 16 values at width 1, holds 8 */
    ql_pq_rle_init(&r, d, sizeof d, 1);
    ok(ql_pq_rle_get_u32(&r, v, 8, &msg) == 0 && v[7] == 1, "truncated final run: present values decode");
    ok(ql_pq_rle_get_u32(&r, v, 1, &msg) < 0, "truncated final run: missing value is an error (%s)", msg);
    ql_pq_rle_init(&r, d, sizeof d, 1);
    ok(ql_pq_rle_get_u8(&r, u8, 8, &msg) == 0 && u8[0] == 1 && u8[7] == 1 && ql_pq_rle_get_u8(&r, u8, 9, &msg) < 0,
       "truncated final run into bytes: 8 values, not 9");
    const uint8_t d2[] = {(2 << 1) | 1, 0x0F, 0xF0, 0x55};  /* 16 levels at width 1, then junk */
    ql_pq_rle_init(&r, d2, 3, 1);
    ok(ql_pq_rle_get_u8(&r, u8, 3, &msg) == 0 && ql_pq_rle_get_u8(&r, u8 + 3, 13, &msg) == 0 && u8[3] == 1 &&
           u8[4] == 0 && u8[11] == 0 && u8[12] == 1 && u8[15] == 1,
       "bit-packed levels split at an odd value");

    /* RLE value bytes missing; bad varint; width out of range; huge run, few read. */
    const uint8_t e[] = {10 << 1};
    ql_pq_rle_init(&r, e, sizeof e, 8);
    ok(ql_pq_rle_get_u32(&r, v, 1, &msg) < 0, "RLE run without its value: error (%s)", msg);
    const uint8_t f[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    ql_pq_rle_init(&r, f, sizeof f, 1);
    ok(ql_pq_rle_get_u32(&r, v, 1, &msg) < 0, "overlong varint header: error");
    ok(ql_pq_rle_init(&r, a, sizeof a, 33) < 0, "bit width 33 refused");
    ql_pq_rle_init(&r, a, sizeof a, 9);
    ok(ql_pq_rle_get_u8(&r, u8, 1, &msg) < 0, "bytes output refuses width 9");
    const uint8_t g[] = {0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x2A};  /* RLE run of 2^31-1 values of 42 */
    ql_pq_rle_init(&r, g, sizeof g, 7);
    ok(ql_pq_rle_get_u32(&r, v, 64, &msg) == 0 && v[63] == 42, "huge declared run: only what is asked is made");
    const uint8_t h[] = {0, 0, 0, 0, 3 << 1, 7};  /* empty runs are skipped */
    ql_pq_rle_init(&r, h, sizeof h, 3);
    ok(ql_pq_rle_get_u32(&r, v, 3, &msg) == 0 && v[2] == 7, "empty runs are skipped");
    ql_pq_rle_init(&r, h, 4, 3);
    ok(ql_pq_rle_get_u32(&r, v, 1, &msg) < 0, "only empty runs: error, no endless loop");
    /* every bit width: a bit-packed run of 512 values (written bit by bit
     * here), read back in pieces of odd sizes, whole and truncated */
    int widths_ok = 1, trunc_ok = 1;
    for (int bw = 1; bw <= 32; bw++) {
        static uint8_t run[1 + 1 + 64 * 32];
        static uint32_t want[512], got[512];
        size_t nb = 64 * (size_t)bw;
        memset(run, 0, sizeof run);
        run[0] = (uint8_t)(((64 << 1 | 1) & 0x7f) | 0x80);   /* header: 64 groups of 8, bit-packed (varint) */
        run[1] = (64 << 1 | 1) >> 7;
        uint64_t x = 88172645463325252ull;
        for (size_t i = 0; i < 512; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            want[i] = (uint32_t)(bw == 32 ? x : x & (((uint64_t)1 << bw) - 1));
            for (int b = 0; b < bw; b++)
                if (want[i] >> b & 1) run[2 + (i * (size_t)bw + (size_t)b) / 8] |= (uint8_t)(1u << ((i * (size_t)bw + (size_t)b) % 8));
        }
        ql_pq_rle_init(&r, run, 2 + nb, bw);
        static const size_t pieces[] = {1, 7, 33, 100, 3, 368};
        size_t at = 0;
        for (size_t k = 0; k < QL_ARRAY_LEN(pieces) && widths_ok; k++) {
            widths_ok = ql_pq_rle_get_u32(&r, got + at, pieces[k], &msg) == 0;
            at += pieces[k];
        }
        widths_ok = widths_ok && at == 512 && memcmp(got, want, sizeof want) == 0;
        if (!widths_ok) { diag("bit width %d", bw); break; }
        /* cut inside the last value: the values before it decode, it does not */
        size_t keep = (511 * (size_t)bw) / 8;   /* bytes before the last value's last one */
        ql_pq_rle_init(&r, run, 2 + keep, bw);
        size_t full = keep * 8 / (size_t)bw;
        trunc_ok = trunc_ok && ql_pq_rle_get_u32(&r, got, full, &msg) == 0 && memcmp(got, want, full * 4) == 0 &&
                   ql_pq_rle_get_u32(&r, got, 1, &msg) < 0;
        if (!trunc_ok) { diag("truncated, bit width %d", bw); break; }
    }
    ok(widths_ok, "bit-packed runs of every width 1..32 decode, read in pieces");
    ok(trunc_ok, "truncated bit-packed runs of every width: present values decode, the next fails");

    /* Round trip through the writer's encoder at every width. */
    int all = 1;
    for (int bw = 0; bw <= 32 && all; bw++) {
        size_t n = 1000 + (size_t)(rnd() % 1000);
        uint32_t *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
        uint32_t mask = bw == 32 ? 0xFFFFFFFFu : (uint32_t)((1ull << bw) - 1);
        for (size_t i = 0; i < n; i++) in[i] = (rnd() % 4 == 0 && i) ? in[i - 1] : (uint32_t)rnd() & mask;
        for (size_t i = 100; i < 200 && i < n; i++) in[i] = in[99];  /* a long repeat */
        ql_buf_t enc = QL_BUF_INIT;
        ql_pq_rle_encode_u32(&enc, in, n, bw);
        ql_pq_rle_init(&r, enc.data, enc.len, bw);
        all = ql_pq_rle_get_u32(&r, out, n, &msg) == 0 && memcmp(in, out, n * sizeof *in) == 0;
        if (!all) diag("width %d failed", bw);
        ql_buf_free(&enc);
        free(in);
        free(out);
    }
    ok(all, "writer's RLE/bit-packed output decodes at widths 0..32");
}

/* ---- bit unpacking ------------------------------------------------------- */

static void pack(uint8_t *p, int bw, const uint64_t *v, size_t n)
{
    memset(p, 0, (n * (size_t)bw + 7) / 8 + 8);
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < bw; b++)
            if ((v[i] >> b) & 1) {
                size_t bit = i * (size_t)bw + (size_t)b;
                p[bit / 8] |= (uint8_t)(1u << (bit % 8));
            }
}

static void test_unpack(void)
{
    int all = 1;
    uint64_t in[77], out[77];
    uint8_t buf[77 * 8 + 8];
    for (int bw = 0; bw <= 64 && all; bw++) {
        for (size_t i = 0; i < 77; i++) in[i] = bw == 64 ? rnd() : bw ? rnd() & ((1ull << bw) - 1) : 0;
        pack(buf, bw, in, 77);
        /* An exact-size copy so ASan would see a read past the packed bytes. */
        size_t bytes = (77 * (size_t)bw + 7) / 8;
        uint8_t *exact = malloc(bytes ? bytes : 1);
        memcpy(exact, buf, bytes);
        ql_pq_unpack_bits(exact, bw, out, 77);
        all = memcmp(in, out, sizeof in) == 0;
        if (!all) diag("width %d failed", bw);
        free(exact);
    }
    ok(all, "bit unpacking at widths 0..64, reading only the packed bytes");
}

/* ---- DELTA_BINARY_PACKED ------------------------------------------------ */

static void put_uv(ql_buf_t *b, uint64_t v) { ql_thrift_put_uvarint(b, v); }

/* A plain encoder for the tests: blocks of 128 values, 4 miniblocks of 32. */
static void delta_encode(ql_buf_t *b, const int64_t *v, size_t n)
{
    put_uv(b, 128);
    put_uv(b, 4);
    put_uv(b, n);
    put_uv(b, ql_thrift_zigzag64(n ? v[0] : 0));
    for (size_t i = 1; i < n; i += 128) {
        size_t k = n - i < 128 ? n - i : 128;
        uint64_t d[128] = {0};
        int64_t mn = INT64_MAX;
        for (size_t j = 0; j < k; j++) {
            d[j] = (uint64_t)v[i + j] - (uint64_t)v[i + j - 1];
            if ((int64_t)d[j] < mn) mn = (int64_t)d[j];
        }
        put_uv(b, ql_thrift_zigzag64(mn));
        uint8_t widths[4] = {0};
        for (size_t j = 0; j < 128; j++) {
            d[j] = j < k ? d[j] - (uint64_t)mn : 0;
            int w = 0;
            while (w < 64 && (d[j] >> w)) w++;
            if (w > widths[j / 32]) widths[j / 32] = (uint8_t)w;
        }
        ql_buf_append(b, widths, 4);
        for (size_t m = 0; m < 4 && m * 32 < k; m++) {
            uint8_t p[32 * 8 + 8];
            pack(p, widths[m], d + m * 32, 32);
            ql_buf_append(b, p, 4 * (size_t)widths[m]);
        }
    }
}

static void test_delta(void)
{
    const char *msg = NULL;
    int64_t out[1200];
    size_t cnt, used;

    /* The spec's example 1, 2, 3, 4, 5: min delta 1, all widths 0. */
    const uint8_t a[] = {0x80, 0x01, 4, 5, 2, /* block */ 2, 0, 0, 0, 0};
    ok(ql_pq_delta_decode(a, sizeof a, out, 10, &cnt, &used, &msg) == 0 && cnt == 5 && used == sizeof a &&
           out[0] == 1 && out[4] == 5,
       "DELTA_BINARY_PACKED 1..5 (spec example)");
    /* 7, 5, 3, 1, 2, 3, 4, 5: min delta -2, relative deltas 0 0 0 3 3 3 3 at width 2. */
    const uint8_t b[] = {0x80, 0x01, 4, 8, 14, 3, 2, 0, 0, 0, 0xC0, 0xFF, 0, 0, 0, 0, 0, 0};
    int64_t wb[8] = {7, 5, 3, 1, 2, 3, 4, 5};
    ok(ql_pq_delta_decode(b, sizeof b, out, 10, &cnt, &used, &msg) == 0 && cnt == 8 &&
           memcmp(out, wb, sizeof wb) == 0 && used == sizeof b,
       "DELTA_BINARY_PACKED 7 5 3 1 2 3 4 5 (spec example)");
    ok(ql_pq_delta_decode(b, sizeof b, out, 7, &cnt, &used, &msg) < 0, "more values than the page: error (%s)",
       msg);
    ok(ql_pq_delta_decode(b, sizeof b - 1, out, 10, &cnt, &used, &msg) < 0, "truncated miniblock: error (%s)",
       msg);
    ok(ql_pq_delta_decode(b, 3, out, 10, &cnt, &used, &msg) < 0, "truncated header: error");
    const uint8_t c[] = {100, 4, 2, 0, 0, 0, 0, 0, 0};
    ok(ql_pq_delta_decode(c, sizeof c, out, 10, &cnt, &used, &msg) < 0, "block size not a multiple of 128: error");
    const uint8_t d[] = {0x80, 0x01, 4, 8, 14, 3, 65, 0, 0, 0};
    ok(ql_pq_delta_decode(d, sizeof d, out, 10, &cnt, &used, &msg) < 0, "bit width 65: error");
    const uint8_t e[] = {0x80, 0x01, 4, 0, 0};
    ok(ql_pq_delta_decode(e, sizeof e, out, 0, &cnt, &used, &msg) == 0 && cnt == 0 && used == 5,
       "zero values: just the header");

    /* Random round trips including full-range values (64-bit deltas that wrap). */
    int all = 1;
    for (int round = 0; round < 40 && all; round++) {
        size_t n = 1 + (size_t)(rnd() % 1100);
        int64_t in[1200];
        for (size_t i = 0; i < n; i++) {
            switch (round % 4) {
            case 0: in[i] = (int64_t)rnd(); break;
            case 1: in[i] = (int64_t)(rnd() % 1000) - 500; break;
            case 2: in[i] = (int64_t)i * 1000000 + (int64_t)(rnd() % 7); break;
            default: in[i] = (int32_t)rnd(); break;
            }
        }
        ql_buf_t enc = QL_BUF_INIT;
        delta_encode(&enc, in, n);
        uint8_t *exact = malloc(enc.len);
        memcpy(exact, enc.data, enc.len);
        all = ql_pq_delta_decode(exact, enc.len, out, n, &cnt, &used, &msg) == 0 && cnt == n && used == enc.len &&
              memcmp(in, out, n * sizeof *in) == 0;
        if (!all) diag("round %d (n %zu) failed: %s", round, n, msg ? msg : "values differ");
        free(exact);
        ql_buf_free(&enc);
    }
    ok(all, "DELTA_BINARY_PACKED round trips (random, small, increasing, wrapping)");

    /* DELTA_LENGTH_BYTE_ARRAY: "Hello", "World", "Foobar", "ABCDEF". */
    ql_buf_t buf = QL_BUF_INIT;
    int64_t lens[4] = {5, 5, 6, 6}, tmp[8];
    delta_encode(&buf, lens, 4);
    ql_buf_puts(&buf, "HelloWorldFoobarABCDEF");
    const char *ptr[4];
    uint32_t len[4];
    ok(ql_pq_delta_length_decode((uint8_t *)buf.data, buf.len, 4, ptr, len, tmp, &msg) == 0 && len[2] == 6 &&
           memcmp(ptr[2], "Foobar", 6) == 0 && memcmp(ptr[3], "ABCDEF", 6) == 0,
       "DELTA_LENGTH_BYTE_ARRAY (spec example)");
    ok(ql_pq_delta_length_decode((uint8_t *)buf.data, buf.len - 1, 4, ptr, len, tmp, &msg) < 0,
       "DELTA_LENGTH_BYTE_ARRAY with data cut short: error (%s)", msg);
    ok(ql_pq_delta_length_decode((uint8_t *)buf.data, buf.len, 3, ptr, len, tmp, &msg) < 0,
       "DELTA_LENGTH_BYTE_ARRAY with more lengths than values: error");

    /* DELTA_BYTE_ARRAY: axis, axle, babble, babyhood. */
    ql_buf_reset(&buf);
    int64_t pre[4] = {0, 2, 0, 3}, suf[4] = {4, 2, 6, 5};
    delta_encode(&buf, pre, 4);
    delta_encode(&buf, suf, 4);
    ql_buf_puts(&buf, "axislebabbleyhood");
    char *store = NULL;
    int rc = ql_pq_delta_byte_array_decode((uint8_t *)buf.data, buf.len, 4, ptr, len, tmp, &store, 1 << 20, &msg);
    ok(rc == 0 && len[1] == 4 && memcmp(ptr[1], "axle", 4) == 0 && len[3] == 8 && memcmp(ptr[3], "babyhood", 8) == 0,
       "DELTA_BYTE_ARRAY (spec example)");
    free(store);
    ok(ql_pq_delta_byte_array_decode((uint8_t *)buf.data, buf.len, 4, ptr, len, tmp, &store, 10, &msg) < 0 && !store,
       "DELTA_BYTE_ARRAY beyond the byte cap: error (%s)", msg);
    ql_buf_reset(&buf);
    int64_t bad[4] = {1, 2, 0, 3};
    delta_encode(&buf, bad, 4);
    delta_encode(&buf, suf, 4);
    ql_buf_puts(&buf, "axislebabbleyhood");
    ok(ql_pq_delta_byte_array_decode((uint8_t *)buf.data, buf.len, 4, ptr, len, tmp, &store, 1 << 20, &msg) < 0,
       "DELTA_BYTE_ARRAY prefix longer than the previous value: error (%s)", msg);
    ql_buf_free(&buf);

    /* BYTE_STREAM_SPLIT of two floats 1.0f (0x3F800000) and -2.0f (0xC0000000). */
    const uint8_t s[] = {0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x3F, 0xC0};
    float fl[2];
    ok(ql_pq_byte_stream_split_decode(s, 8, 2, 4, (uint8_t *)fl, &msg) == 0 && fl[0] == 1.0f && fl[1] == -2.0f,
       "BYTE_STREAM_SPLIT floats");
    ok(ql_pq_byte_stream_split_decode(s, 7, 2, 4, (uint8_t *)fl, &msg) < 0, "BYTE_STREAM_SPLIT size mismatch: error");
}

/* ---- a hand-built file: the encodings DuckDB does not write --------------- */

typedef struct hb_col {
    const char *name;
    int phys, rep, converted;     /* converted -1: none */
    ql_buf_t chunk;               /* pages */
    int64_t dict_off, data_off, start;
    int enc[3], nenc;
} hb_col_t;

/* Appends a page header + payload to c->chunk. type 0 = V1, 2 = dictionary, 3 = V2. */
static void hb_page(hb_col_t *c, int type, int enc, int nvals, int nnulls, const void *levels, size_t llen,
                    const void *vals, size_t vlen)
{
    ql_buf_t h = QL_BUF_INIT;
    ql_thrift_writer_t w;
    ql_thrift_writer_init(&w, &h);
    int32_t size = (int32_t)(llen + vlen);
    ql_thrift_write_field_i32(&w, 1, type);
    ql_thrift_write_field_i32(&w, 2, size);
    ql_thrift_write_field_i32(&w, 3, size);
    if (type == 0) {
        ql_thrift_write_field_struct_begin(&w, 5);
        ql_thrift_write_field_i32(&w, 1, nvals);
        ql_thrift_write_field_i32(&w, 2, enc);
        ql_thrift_write_field_i32(&w, 3, 3);
        ql_thrift_write_field_i32(&w, 4, 3);
        ql_thrift_write_struct_end(&w);
    } else if (type == 2) {
        ql_thrift_write_field_struct_begin(&w, 7);
        ql_thrift_write_field_i32(&w, 1, nvals);
        ql_thrift_write_field_i32(&w, 2, enc);
        ql_thrift_write_struct_end(&w);
    } else {
        ql_thrift_write_field_struct_begin(&w, 8);
        ql_thrift_write_field_i32(&w, 1, nvals);
        ql_thrift_write_field_i32(&w, 2, nnulls);
        ql_thrift_write_field_i32(&w, 3, nvals);
        ql_thrift_write_field_i32(&w, 4, enc);
        ql_thrift_write_field_i32(&w, 5, (int32_t)llen);
        ql_thrift_write_field_i32(&w, 6, 0);
        ql_thrift_write_field_bool(&w, 7, 0);
        ql_thrift_write_struct_end(&w);
    }
    ql_thrift_write_struct_end(&w);
    if (type == 2) c->dict_off = (int64_t)c->chunk.len;
    else if (c->data_off < 0) c->data_off = (int64_t)c->chunk.len;
    ql_buf_append(&c->chunk, h.data, h.len);
    if (llen) ql_buf_append(&c->chunk, levels, llen);
    if (vlen) ql_buf_append(&c->chunk, vals, vlen);
    c->enc[c->nenc++] = enc;
    ql_buf_free(&h);
}

/* Writes "PAR1", the chunks, the footer for 4 rows. */
static void hb_file(ql_buf_t *out, hb_col_t *cols, int n)
{
    ql_buf_puts(out, "PAR1");
    for (int i = 0; i < n; i++) {
        cols[i].start = (int64_t)out->len;
        ql_buf_append(out, cols[i].chunk.data, cols[i].chunk.len);
    }
    ql_buf_t fm = QL_BUF_INIT;
    ql_thrift_writer_t w;
    ql_thrift_writer_init(&w, &fm);
    ql_thrift_write_field_i32(&w, 1, 2);
    ql_thrift_write_field_list_begin(&w, 2, QL_THRIFT_STRUCT, (uint32_t)n + 1);
    ql_thrift_write_struct_begin(&w);
    ql_thrift_write_field_string(&w, 4, "schema");
    ql_thrift_write_field_i32(&w, 5, n);
    ql_thrift_write_struct_end(&w);
    for (int i = 0; i < n; i++) {
        ql_thrift_write_struct_begin(&w);
        ql_thrift_write_field_i32(&w, 1, cols[i].phys);
        ql_thrift_write_field_i32(&w, 3, cols[i].rep);
        ql_thrift_write_field_string(&w, 4, cols[i].name);
        if (cols[i].converted >= 0) ql_thrift_write_field_i32(&w, 6, cols[i].converted);
        ql_thrift_write_struct_end(&w);
    }
    ql_thrift_write_field_i64(&w, 3, 4);
    ql_thrift_write_field_list_begin(&w, 4, QL_THRIFT_STRUCT, 1);
    ql_thrift_write_struct_begin(&w);
    ql_thrift_write_field_list_begin(&w, 1, QL_THRIFT_STRUCT, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        hb_col_t *c = &cols[i];
        ql_thrift_write_struct_begin(&w);
        ql_thrift_write_field_i64(&w, 2, c->start);
        ql_thrift_write_field_struct_begin(&w, 3);
        ql_thrift_write_field_i32(&w, 1, c->phys);
        ql_thrift_write_field_list_begin(&w, 2, QL_THRIFT_I32, (uint32_t)c->nenc);
        for (int k = 0; k < c->nenc; k++) ql_thrift_write_i32(&w, c->enc[k]);
        ql_thrift_write_field_list_begin(&w, 3, QL_THRIFT_BINARY, 1);
        ql_thrift_write_binary(&w, c->name, strlen(c->name));
        ql_thrift_write_field_i32(&w, 4, 0);
        ql_thrift_write_field_i64(&w, 5, 4);
        ql_thrift_write_field_i64(&w, 6, (int64_t)c->chunk.len);
        ql_thrift_write_field_i64(&w, 7, (int64_t)c->chunk.len);
        ql_thrift_write_field_i64(&w, 9, c->start + c->data_off);
        if (c->dict_off >= 0) ql_thrift_write_field_i64(&w, 11, c->start + c->dict_off);
        ql_thrift_write_struct_end(&w);
        ql_thrift_write_struct_end(&w);
    }
    ql_thrift_write_field_i64(&w, 2, 100);
    ql_thrift_write_field_i64(&w, 3, 4);
    ql_thrift_write_struct_end(&w);
    ql_thrift_write_struct_end(&w);
    ql_buf_append(out, fm.data, fm.len);
    uint32_t fl = (uint32_t)fm.len;
    ql_buf_append(out, &fl, 4);
    ql_buf_puts(out, "PAR1");
    ql_buf_free(&fm);
}

static void test_hand_built(void)
{
    hb_col_t c[5] = {
        {"s", PQ_T_BYTE_ARRAY, PQ_REP_OPTIONAL, 0, QL_BUF_INIT, -1, -1, 0, {0}, 0},
        {"b", PQ_T_BOOLEAN, PQ_REP_REQUIRED, -1, QL_BUF_INIT, -1, -1, 0, {0}, 0},
        {"t", PQ_T_INT96, PQ_REP_OPTIONAL, -1, QL_BUF_INIT, -1, -1, 0, {0}, 0},
        {"d", PQ_T_DOUBLE, PQ_REP_REQUIRED, -1, QL_BUF_INIT, -1, -1, 0, {0}, 0},
        {"i", PQ_T_INT32, PQ_REP_REQUIRED, -1, QL_BUF_INIT, -1, -1, 0, {0}, 0},
    };
    /* s: V2, DELTA_BYTE_ARRAY, values axis, NULL, axle, babble. */
    ql_buf_t v = QL_BUF_INIT;
    int64_t pre[3] = {0, 2, 0}, suf[3] = {4, 2, 6};
    delta_encode(&v, pre, 3);
    delta_encode(&v, suf, 3);
    ql_buf_puts(&v, "axislebabble");
    const uint8_t lv_s[] = {(1 << 1) | 1, 0x0D};
    hb_page(&c[0], 3, PQ_ENC_DELTA_BYTE_ARRAY, 4, 1, lv_s, sizeof lv_s, v.data, v.len);
    /* b: V2, RLE booleans 1 1 1 0 (4-byte length, then one bit-packed group). */
    const uint8_t vb[] = {2, 0, 0, 0, (1 << 1) | 1, 0x07};
    hb_page(&c[1], 3, PQ_ENC_RLE, 4, 0, NULL, 0, vb, sizeof vb);
    /* t: V1, INT96 PLAIN, all four set: the epoch day + i µs. */
    uint8_t vt[6 + 48];
    const uint8_t lv_t[] = {2, 0, 0, 0, 4 << 1, 1};
    memcpy(vt, lv_t, 6);
    for (int i = 0; i < 4; i++) {
        int64_t nanos = (int64_t)i * 1000 + 999;
        int32_t day = 2440588 + i;
        memcpy(vt + 6 + 12 * i, &nanos, 8);
        memcpy(vt + 6 + 12 * i + 8, &day, 4);
    }
    hb_page(&c[2], 0, PQ_ENC_PLAIN, 4, 0, NULL, 0, vt, sizeof vt);
    /* d: V1, BYTE_STREAM_SPLIT doubles 1.5, -2, 1e300, 0. */
    double dv[4] = {1.5, -2, 1e300, 0};
    uint8_t vd[32];
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 8; k++) vd[k * 4 + i] = ((uint8_t *)&dv[i])[k];
    hb_page(&c[3], 0, PQ_ENC_BYTE_STREAM_SPLIT, 4, 0, NULL, 0, vd, sizeof vd);
    /* i: dictionary [7, -9], V1 PLAIN_DICTIONARY indices 0 1 1 0. */
    int32_t dict[2] = {7, -9};
    hb_page(&c[4], 2, PQ_ENC_PLAIN, 2, 0, NULL, 0, dict, sizeof dict);
    const uint8_t vi[] = {1, (1 << 1) | 1, 0x06};
    hb_page(&c[4], 0, PQ_ENC_PLAIN_DICTIONARY, 4, 0, NULL, 0, vi, sizeof vi);

    ql_buf_t file = QL_BUF_INIT;
    hb_file(&file, c, 5);
    char err[256];
    ql_pq_file_t *f;
    int rc = ql_pq_open_mem(&f, file.data, file.len, err, sizeof err);
    ok(rc == 0, "hand-built file opens (%s)", rc ? err : "ok");
    if (rc == 0) {
        ql_pq_column_data_t d[5];
        int good = 1;
        for (int k = 0; k < 5; k++)
            if (ql_pq_read_column(f, 0, k, &d[k], err, sizeof err) < 0) {
                good = 0;
                diag("column %d: %s", k, err);
            }
        ok(good, "every column decodes");
        if (good) {
            ok(d[0].n == 4 && d[0].valid[0] && !d[0].valid[1] && d[0].str_len[2] == 4 &&
                   !memcmp(d[0].str[2], "axle", 4) && d[0].str_len[3] == 6 && !memcmp(d[0].str[3], "babble", 6),
               "V2 page, DELTA_BYTE_ARRAY strings with a null");
            ok(d[1].i64[0] == 1 && d[1].i64[2] == 1 && d[1].i64[3] == 0 && d[1].valid[3], "V2 page, RLE booleans");
            ok(d[2].type == QL_PQ_TIMESTAMP && d[2].i64[0] == 0 && d[2].i64[3] == 3 * 86400000000LL + 3,
               "INT96 timestamps in µs");
            ok(d[3].f64[0] == 1.5 && d[3].f64[1] == -2 && d[3].f64[2] == 1e300 && d[3].f64[3] == 0,
               "BYTE_STREAM_SPLIT doubles");
            ok(d[4].i64[0] == 7 && d[4].i64[1] == -9 && d[4].i64[2] == -9 && d[4].i64[3] == 7,
               "PLAIN_DICTIONARY INT32");
        }
        for (int k = 0; k < 5; k++) ql_pq_column_data_free(&d[k]);
        ql_pq_column_data_t dd;
        ok(ql_pq_read_dictionary(f, 0, 4, &dd, err, sizeof err) == 1 && dd.n == 2 && dd.i64[1] == -9,
           "read_dictionary: the INT32 dictionary");
        ql_pq_column_data_free(&dd);
        ql_pq_close(f);
    }
    ql_buf_free(&file);
    ql_buf_free(&v);
    for (int k = 0; k < 5; k++) ql_buf_free(&c[k].chunk);
}

/* ---- files ---------------------------------------------------------------- */

static char *read_corpus(const char *name, size_t *len)
{
    char path[256], err[128], *data = NULL;
    snprintf(path, sizeof path, "tests/fuzz/corpus/parquet/%s", name);
    if (ql_read_file(path, &data, len, err, sizeof err) < 0) return NULL;
    return data;
}

static void test_footer_checks(void)
{
    char err[256];
    ql_pq_file_t *f;
    ok(ql_pq_open_mem(&f, "PAR1", 4, err, sizeof err) < 0, "4 bytes: error (%s)", err);
    ok(ql_pq_open_mem(&f, "PAR1\0\0\0\0PAR1", 12, err, sizeof err) < 0, "empty footer: error (%s)", err);
    ok(ql_pq_open_mem(&f, "PAR1\xff\xff\0\0PAR1", 12, err, sizeof err) < 0, "footer longer than the file: error (%s)",
       err);
    ok(ql_pq_open_mem(&f, "PAR1xxxxxxxxPARE", 16, err, sizeof err) < 0 && strstr(err, "encrypted"),
       "encrypted footer: says so (%s)", err);
    ok(ql_pq_open(&f, "/nonexistent/x.parquet", err, sizeof err) < 0, "missing file: error (%s)", err);

    /* A nested schema: root with one group child holding a leaf. */
    ql_buf_t b = QL_BUF_INIT, fm = QL_BUF_INIT;
    ql_thrift_writer_t w;
    ql_thrift_writer_init(&w, &fm);
    ql_thrift_write_field_i32(&w, 1, 1);
    ql_thrift_write_field_list_begin(&w, 2, QL_THRIFT_STRUCT, 3);
    ql_thrift_write_struct_begin(&w);
    ql_thrift_write_field_string(&w, 4, "schema");
    ql_thrift_write_field_i32(&w, 5, 1);
    ql_thrift_write_struct_end(&w);
    ql_thrift_write_struct_begin(&w);
    ql_thrift_write_field_i32(&w, 3, 1);
    ql_thrift_write_field_string(&w, 4, "player");
    ql_thrift_write_field_i32(&w, 5, 1);
    ql_thrift_write_struct_end(&w);
    ql_thrift_write_struct_begin(&w);
    ql_thrift_write_field_i32(&w, 1, 2);
    ql_thrift_write_field_i32(&w, 3, 1);
    ql_thrift_write_field_string(&w, 4, "level");
    ql_thrift_write_struct_end(&w);
    ql_thrift_write_field_i64(&w, 3, 0);
    ql_thrift_write_field_list_begin(&w, 4, QL_THRIFT_STRUCT, 0);
    ql_thrift_write_struct_end(&w);
    ql_buf_puts(&b, "PAR1");
    ql_buf_append(&b, fm.data, fm.len);
    uint32_t fl = (uint32_t)fm.len;
    ql_buf_append(&b, &fl, 4);
    ql_buf_puts(&b, "PAR1");
    ok(ql_pq_open_mem(&f, b.data, b.len, err, sizeof err) < 0 && strstr(err, "nested columns not supported"),
       "nested schema: 'nested columns not supported' (%s)", err);
    ql_buf_free(&b);
    ql_buf_free(&fm);
}

/* Reads every column of every row group; 0 or -1. */
static int read_all(ql_pq_file_t *f)
{
    char err[256];
    for (int g = 0; g < ql_pq_num_row_groups(f); g++)
        for (int c = 0; c < ql_pq_num_columns(f); c++) {
            ql_pq_column_data_t d;
            int rc = ql_pq_read_column(f, g, c, &d, err, sizeof err);
            ql_pq_column_data_free(&d);
            if (rc < 0) return -1;
        }
    return 0;
}

static void test_duckdb_files(void)
{
    static const char *files[] = {"v1_plain.parquet", "v2_plain.parquet", "v1_snappy.parquet", "v2_zstd.parquet"};
    char err[256];
    for (size_t k = 0; k < QL_ARRAY_LEN(files); k++) {
        size_t len;
        char *data = read_corpus(files[k], &len);
        if (!data) {
            ok(0, "%s: corpus file readable (run from the repository root)", files[k]);
            continue;
        }
        ql_pq_file_t *f;
        int rc = ql_pq_open_mem(&f, data, len, err, sizeof err);
        ok(rc == 0, "%s: opens (%s)", files[k], rc ? err : "ok");
        if (rc) {
            free(data);
            continue;
        }
        /* The corpus table: id = i, s = NULL if i%3==0 else 'ev_'||(i%4), d = i/3, b = i%2=0,
         * n = i*7, ts = 2026-01-01 + i s, f = i/2, 40 rows. */
        is_int(ql_pq_num_rows(f), 40, "%s: 40 rows", files[k]);
        is_int(ql_pq_num_columns(f), 8, "%s: 8 columns", files[k]);
        int cs = ql_pq_column_index(f, "s"), cts = ql_pq_column_index(f, "ts"), cf = ql_pq_column_index(f, "f");
        ok(cs >= 0 && ql_pq_column(f, cs)->type == QL_PQ_STRING && ql_pq_column(f, cts)->type == QL_PQ_TIMESTAMP &&
               ql_pq_column(f, cf)->type == QL_PQ_FLOAT && ql_pq_column(f, 0)->type == QL_PQ_INT64,
           "%s: types mapped", files[k]);
        ql_pq_column_data_t d;
        int good = 1;
        int64_t row = 0;
        for (int g = 0; g < ql_pq_num_row_groups(f) && good; g++) {
            /* projection: only s and ts */
            good = ql_pq_read_column(f, g, cs, &d, err, sizeof err) == 0;
            for (int64_t i = 0; good && i < d.n; i++) {
                int64_t r = row + i;
                char want[16];
                snprintf(want, sizeof want, "ev_%d", (int)(r % 4));
                good = r % 3 == 0 ? !d.valid[i]
                                  : d.valid[i] && d.str_len[i] == strlen(want) && !memcmp(d.str[i], want, d.str_len[i]);
            }
            ql_pq_column_data_free(&d);
            good = good && ql_pq_read_column(f, g, cts, &d, err, sizeof err) == 0;
            for (int64_t i = 0; good && i < d.n; i++)
                good = d.valid[i] && d.i64[i] == 1767225600000000LL + (row + i) * 1000000;
            row += d.n;
            ql_pq_column_data_free(&d);
        }
        ok(good && row == 40, "%s: string and timestamp values (%s)", files[k], good ? "ok" : err);
        const ql_pq_chunk_info_t *ch = ql_pq_chunk(f, 0, cs);
        ok(ch->null_count >= 0 && ch->min.is_set && ch->min.len == 4 && !memcmp(ch->min.s, "ev_0", 4) &&
               ch->max.is_set && !memcmp(ch->max.s, "ev_3", 4),
           "%s: string statistics", files[k]);
        ch = ql_pq_chunk(f, 0, 0);
        ok(ch->min.is_set && ch->min.i == 0 && ch->max.is_set && ch->max.i == 39, "%s: BIGINT statistics 0..39",
           files[k]);
        rc = ql_pq_read_dictionary(f, 0, cs, &d, err, sizeof err);
        good = rc == 1 && d.n == 4;
        for (int64_t i = 0; good && i < d.n; i++) good = d.valid[i] && d.str_len[i] == 4 && !memcmp(d.str[i], "ev_", 3);
        ok(good, "%s: dictionary of s has the 4 values (rc %d)", files[k], rc);
        ql_pq_column_data_free(&d);
        rc = ql_pq_read_dictionary(f, 0, 0, &d, err, sizeof err);
        ok(rc >= 0, "%s: read_dictionary on a column that may have none: %d", files[k], rc);
        ql_pq_column_data_free(&d);
        ql_pq_close(f);

        /* Every truncation fails cleanly; single-byte corruptions never crash. */
        int truncs = 0;
        for (size_t cut = 0; cut < len; cut += 1 + cut / 16) {
            char *p = malloc(cut ? cut : 1);
            memcpy(p, data, cut);
            if (ql_pq_open_mem(&f, p, cut, err, sizeof err) == 0) {
                truncs++;
                ql_pq_close(f);
            }
            free(p);
        }
        ok(truncs == 0, "%s: every truncation is refused", files[k]);
        int opened = 0;
        for (size_t i = 0; i < len; i += 1 + (i > len - 400 ? 0 : 7)) {
            char *p = malloc(len);
            memcpy(p, data, len);
            p[i] ^= (char)(1 + rnd() % 255);
            if (ql_pq_open_mem(&f, p, len, err, sizeof err) == 0) {
                opened++;
                read_all(f);
                ql_pq_close(f);
            }
            free(p);
        }
        ok(1, "%s: byte flips survived (%d opened)", files[k], opened);
        free(data);
    }
}

/* Column data outlives its file: strings are copies, even from an
 * uncompressed, mmap'ed file (after ql_pq_close the mapping is gone). */
static void test_outlives_file(void)
{
    static const char *files[] = {"tests/fuzz/corpus/parquet/v1_plain.parquet",
                                  "tests/fuzz/corpus/parquet/v2_plain.parquet"};
    for (size_t k = 0; k < QL_ARRAY_LEN(files); k++) {
        char err[256];
        ql_pq_file_t *f;
        ql_pq_column_data_t s, u;
        if (ql_pq_open(&f, files[k], err, sizeof err) < 0) {
            ok(0, "%s opens (%s)", files[k], err);
            continue;
        }
        int rs = ql_pq_read_column(f, 0, ql_pq_column_index(f, "s"), &s, err, sizeof err);
        int ru = ql_pq_read_column(f, 0, ql_pq_column_index(f, "u"), &u, err, sizeof err);
        ql_pq_close(f);
        int good = rs == 0 && ru == 0 && s.n == 40 && u.n == 40;
        size_t total = 0;
        for (int64_t i = 0; good && i < 40; i++) {
            if (s.valid[i]) good = s.str_len[i] == 4 && memcmp(s.str[i], "ev_", 3) == 0;
            if (u.valid[i]) total += u.str_len[i] + (size_t)(u.str[i][0] != 0);
        }
        ok(good && total > 0, "%s: strings readable after ql_pq_close", files[k]);
        ql_pq_column_data_free(&s);
        ql_pq_column_data_free(&u);
    }
}

/* Several threads decoding columns of one handle at once get what one thread gets. */
typedef struct par_arg {
    ql_pq_file_t *f;
    int           col;
    uint64_t      sum;
    int           rc;
} par_arg_t;

static uint64_t column_sum(ql_pq_file_t *f, int col, int *rc)
{
    char err[256];
    uint64_t sum = 0;
    *rc = 0;
    for (int g = 0; g < ql_pq_num_row_groups(f); g++) {
        ql_pq_column_data_t d;
        if (ql_pq_read_column(f, g, col, &d, err, sizeof err) < 0) *rc = -1;
        for (int64_t i = 0; i < d.n; i++) {
            if (!d.valid[i]) continue;
            if (d.i64) sum = sum * 31 + (uint64_t)d.i64[i];
            else if (d.f64) sum = sum * 31 + (uint64_t)(int64_t)(d.f64[i] * 1000);
            else
                for (uint32_t k = 0; k < d.str_len[i]; k++) sum = sum * 31 + (uint8_t)d.str[i][k];
        }
        ql_pq_column_data_free(&d);
    }
    return sum;
}

static void *par_main(void *p)
{
    par_arg_t *a = p;
    for (int rep = 0; rep < 3; rep++) a->sum = column_sum(a->f, a->col, &a->rc);
    return NULL;
}

static void test_parallel_reads(void)
{
    char err[256];
    ql_pq_file_t *f;
    if (ql_pq_open(&f, "tests/fuzz/corpus/parquet/v2_zstd.parquet", err, sizeof err) < 0) {
        ok(0, "v2_zstd.parquet opens (%s)", err);
        return;
    }
    int nc = ql_pq_num_columns(f), good = 1;
    uint64_t want[16];
    par_arg_t a[16];
    pthread_t th[16];
    for (int c = 0; c < nc && c < 16; c++) {
        int rc;
        want[c] = column_sum(f, c, &rc);
        a[c] = (par_arg_t){f, c, 0, 0};
    }
    for (int c = 0; c < nc && c < 16; c++) pthread_create(&th[c], NULL, par_main, &a[c]);
    for (int c = 0; c < nc && c < 16; c++) {
        pthread_join(th[c], NULL);
        good = good && a[c].rc == 0 && a[c].sum == want[c];
    }
    ok(good, "%d threads reading columns of one handle at once agree with one thread", nc);
    ql_pq_close(f);
}

/* ---- round trip through questlog's writer --------------------------------- */

static void test_round_trip(void)
{
    char err[256], path[] = "/tmp/test_pq_read.XXXXXX";
    int fd = mkstemp(path);
    ok(fd >= 0, "temp file");
    if (fd < 0) return;
    static const char *const kv[] = {"questlog.table", "purchase_sword", "empty", "", NULL};
    ql_pq_write_options_t o = {.codec = QL_PQ_SNAPPY, .row_group_rows = 700, .page_bytes = 2048, .kv = kv};
    ql_pq_writer_t *w;
    int rc = ql_pq_writer_new(&w, fd, &o, err, sizeof err);
    ok(rc == 0, "writer");
    if (rc) {
        close(fd);
        unlink(path);
        return;
    }
    int cs = ql_pq_writer_add_column(w, "s", QL_PQ_STRING, 0, err, sizeof err);
    int ci = ql_pq_writer_add_column(w, "i", QL_PQ_INT64, 1, err, sizeof err);
    int cn = ql_pq_writer_add_column(w, "n", QL_PQ_INT32, 0, err, sizeof err);
    int cd = ql_pq_writer_add_column(w, "d", QL_PQ_DOUBLE, 0, err, sizeof err);
    int cb = ql_pq_writer_add_column(w, "b", QL_PQ_BOOL, 0, err, sizeof err);
    int ct = ql_pq_writer_add_column(w, "t", QL_PQ_TIMESTAMP, 1, err, sizeof err);
    const int N = 2500;
    for (int r = 0; r < N; r++) {
        char s[64];
        int sl = snprintf(s, sizeof s, r % 2 ? "k%d" : "unique-%d-é", r % 2 ? r % 10 : r);
        if (r % 5) ql_pq_writer_set_string(w, cs, s, (size_t)sl);
        ql_pq_writer_set_int64(w, ci, (int64_t)r * 1000003 - 7);
        if (r % 3) ql_pq_writer_set_int32(w, cn, -r);
        if (r % 4) ql_pq_writer_set_double(w, cd, r / 8.0);
        if (r % 7) ql_pq_writer_set_bool(w, cb, r & 1);
        ql_pq_writer_set_int64(w, ct, 1795300000000000LL + r);
        if (ql_pq_writer_end_row(w, err, sizeof err) < 0) break;
    }
    rc = ql_pq_writer_finish(w, err, sizeof err);
    ql_pq_writer_free(w);
    close(fd);
    ok(rc == 0, "writer finished (%s)", rc ? err : "ok");

    ql_pq_file_t *f;
    rc = ql_pq_open(&f, path, err, sizeof err);
    ok(rc == 0, "reader opens questlog's file (%s)", rc ? err : "ok");
    if (rc) {
        unlink(path);
        return;
    }
    is_int(ql_pq_num_rows(f), N, "row count");
    ok(ql_pq_num_row_groups(f) >= 3, "several row groups (%d)", ql_pq_num_row_groups(f));
    ok(ql_pq_column(f, ci)->required && !ql_pq_column(f, cs)->required, "REQUIRED and OPTIONAL kept");
    const char *cby = ql_pq_created_by(f);
    ok(cby && strncmp(cby, "questlog version ", 17) == 0, "created_by: %s", cby ? cby : "(null)");
    const char *k0, *v0, *k1, *v1;
    ql_pq_kv_at(f, 0, &k0, &v0);
    ql_pq_kv_at(f, 1, &k1, &v1);
    ok(ql_pq_num_kv(f) == 2 && !strcmp(k0, "questlog.table") && !strcmp(v0, "purchase_sword") && !strcmp(k1, "empty") &&
           v1 && !*v1 && !strcmp(ql_pq_kv(f, "questlog.table"), "purchase_sword") && !ql_pq_kv(f, "nope"),
       "key/value metadata in order, by index and by key");
    int good = 1;
    int64_t base = 0;
    for (int g = 0; g < ql_pq_num_row_groups(f) && good; g++) {
        ql_pq_column_data_t c[6];
        for (int k = 0; k < 6; k++)
            if (ql_pq_read_column(f, g, k, &c[k], err, sizeof err) < 0) {
                good = 0;
                diag("rg %d col %d: %s", g, k, err);
            }
        for (int64_t i = 0; good && i < c[0].n; i++) {
            int r = (int)(base + i);
            char s[64];
            int sl = snprintf(s, sizeof s, r % 2 ? "k%d" : "unique-%d-é", r % 2 ? r % 10 : r);
            good = (r % 5 ? c[cs].valid[i] && c[cs].str_len[i] == (uint32_t)sl && !memcmp(c[cs].str[i], s, (size_t)sl)
                          : !c[cs].valid[i]) &&
                   c[ci].valid[i] && c[ci].i64[i] == (int64_t)r * 1000003 - 7 &&
                   (r % 3 ? c[cn].valid[i] && c[cn].i64[i] == -r : !c[cn].valid[i]) &&
                   (r % 4 ? c[cd].valid[i] && c[cd].f64[i] == r / 8.0 : !c[cd].valid[i]) &&
                   (r % 7 ? c[cb].valid[i] && c[cb].i64[i] == (r & 1) : !c[cb].valid[i]) &&
                   c[ct].i64[i] == 1795300000000000LL + r;
            if (!good) diag("row %d differs", r);
        }
        base += c[0].n;
        for (int k = 0; k < 6; k++) ql_pq_column_data_free(&c[k]);
    }
    ok(good && base == N, "every value written reads back");
    const ql_pq_chunk_info_t *ch = ql_pq_chunk(f, 0, ci);
    ok(ch->min.is_set && ch->min.i == -7 && ch->max.is_set, "INT64 statistics from questlog's writer");
    ql_pq_close(f);
    unlink(path);
}

/* Row r of a decoded column as text, whichever form it came in. */
static void cell(const ql_pq_column_data_t *d, int64_t r, char *buf, size_t n)
{
    if (!d->valid[r]) { snprintf(buf, n, "NULL"); return; }
    uint32_t k = d->idx ? d->idx[r] : 0;
    if (d->idx && (int64_t)k >= d->dict_n) { snprintf(buf, n, "BAD INDEX"); return; }
    const char *s = d->idx ? (d->dict_str ? d->dict_str[k] : NULL) : (d->str ? d->str[r] : NULL);
    uint32_t sl = d->idx ? (d->dict_len ? d->dict_len[k] : 0) : (d->str_len ? d->str_len[r] : 0);
    if (d->type == QL_PQ_STRING || d->type == QL_PQ_BINARY) snprintf(buf, n, "s:%.*s", (int)sl, s);
    else if (d->type == QL_PQ_DOUBLE || d->type == QL_PQ_FLOAT)
        snprintf(buf, n, "d:%.17g", d->idx ? d->dict_f64[k] : d->f64[r]);
    else snprintf(buf, n, "i:%lld", (long long)(d->idx ? d->dict_i64[k] : d->i64[r]));
}

/* ql_pq_read_column_dict: dictionary form where every page is dictionary-
 * encoded, the per-row form after a fallback to PLAIN part way through a
 * chunk, and always the same values as ql_pq_read_column. */
static void test_dict_form(void)
{
    char err[256], path[] = "/tmp/test_pq_dict.XXXXXX";
    int fd = mkstemp(path);
    ok(fd >= 0, "temp file");
    if (fd < 0) return;
    /* small pages and a small dictionary limit: the `u` column falls back */
    ql_pq_write_options_t o = {.codec = QL_PQ_ZSTD, .row_group_rows = 3000, .page_bytes = 1024, .dict_max_bytes = 2048};
    ql_pq_writer_t *w;
    int rc = ql_pq_writer_new(&w, fd, &o, err, sizeof err);
    int cl = ql_pq_writer_add_column(w, "low", QL_PQ_STRING, 0, err, sizeof err);
    int cu = ql_pq_writer_add_column(w, "u", QL_PQ_STRING, 1, err, sizeof err);
    int ci = ql_pq_writer_add_column(w, "i", QL_PQ_INT64, 0, err, sizeof err);
    int cd = ql_pq_writer_add_column(w, "d", QL_PQ_DOUBLE, 0, err, sizeof err);
    int cn = ql_pq_writer_add_column(w, "nulls", QL_PQ_STRING, 0, err, sizeof err);
    const int N = 5000;
    for (int r = 0; rc == 0 && r < N; r++) {
        char s[64];
        int sl = snprintf(s, sizeof s, "host-%d", r % 7);
        if (r % 11) ql_pq_writer_set_string(w, cl, s, (size_t)sl);
        sl = snprintf(s, sizeof s, "unique-value-%06d", r);
        ql_pq_writer_set_string(w, cu, s, (size_t)sl);
        if (r % 3) ql_pq_writer_set_int64(w, ci, r % 5 - 2);
        if (r % 4) ql_pq_writer_set_double(w, cd, (r % 6) * 0.25);
        rc = ql_pq_writer_end_row(w, err, sizeof err);
    }
    if (rc == 0) rc = ql_pq_writer_finish(w, err, sizeof err);
    ql_pq_writer_free(w);
    close(fd);
    ok(rc == 0, "dictionary test file written (%s)", rc ? err : "ok");
    ql_pq_file_t *f;
    if (rc || ql_pq_open(&f, path, err, sizeof err) < 0) {
        unlink(path);
        return;
    }
    int same = 1, forms_ok = 1;
    for (int g = 0; g < ql_pq_num_row_groups(f); g++)
        for (int c = 0; c < ql_pq_num_columns(f); c++) {
            ql_pq_column_data_t a, b;
            int ra = ql_pq_read_column(f, g, c, &a, err, sizeof err);
            int rb = ql_pq_read_column_dict(f, g, c, &b, err, sizeof err);
            if (ra < 0 || rb < 0 || a.n != b.n) {
                same = 0;
                diag("rg %d col %d: %d %d %s", g, c, ra, rb, err);
            }
            /* `u` outgrows its dictionary part way through every row group;
             * questlog's writer writes an all-null column PLAIN */
            int want_dict = c != cu && c != cn;
            if (!!b.idx != want_dict || (b.idx && (b.i64 || b.str))) {
                forms_ok = 0;
                diag("rg %d col %d: idx %p", g, c, (void *)b.idx);
            }
            for (int64_t r = 0; same && r < a.n; r++) {
                char x[96], y[96];
                cell(&a, r, x, sizeof x);
                cell(&b, r, y, sizeof y);
                if (strcmp(x, y)) {
                    same = 0;
                    diag("rg %d col %d row %lld: %s vs %s", g, c, (long long)r, x, y);
                }
            }
            ql_pq_column_data_free(&a);
            ql_pq_column_data_free(&b);
        }
    ok(same, "dictionary form and per-row form hold the same values");
    ok(forms_ok, "dictionary form where every page is dictionary-encoded, per-row after a fallback to PLAIN");
    (void)cl; (void)ci; (void)cd;
    ql_pq_close(f);
    unlink(path);
}

/* Inputs the fuzz_parquet campaign found (tests/fuzz/corpus/parquet/regress-*),
 * read through the public API; under SAN=1 any undefined behaviour fails. */
static void test_fuzz_regressions(void)
{
    static const struct {
        const char *file;
        int         col;      /* the column the input breaks */
        const char *want;     /* "ok" or the error's start */
    } cases[] = {
        /* INT96 timestamps days ~10^9 off the epoch: a signed overflow; now
         * they wrap (garbage in, garbage out, but defined) */
        {"regress-int96-day.parquet", 2, "ok"},
        /* a data page of 0 values first: NULL + 0 and memset(NULL, 1, 0) on
         * the not yet allocated output; now skipped, and the broken page
         * after it is the error */
        {"regress-empty-page.parquet", 0, "row group 0 column s: DELTA_LENGTH_BYTE_ARRAY length out of range"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t len;
        char err[256], *data = read_corpus(cases[k].file, &len);
        ql_pq_file_t *f;
        if (!data || ql_pq_open_mem(&f, data, len, err, sizeof err) < 0) {
            ok(0, "%s opens", cases[k].file);
            free(data);
            continue;
        }
        ql_pq_column_data_t d;
        int rc = ql_pq_read_column(f, 0, cases[k].col, &d, err, sizeof err);
        if (!strcmp(cases[k].want, "ok"))
            ok(rc == 0 && d.n == ql_pq_row_group_rows(f, 0), "%s: column %d reads (%s)", cases[k].file, cases[k].col,
               rc ? err : "ok");
        else
            ok(rc < 0 && !strcmp(err, cases[k].want), "%s: column %d is an error: %s", cases[k].file, cases[k].col,
               rc ? err : "none");
        ql_pq_column_data_free(&d);
        ql_pq_close(f);
        free(data);
    }
}

/* A digest of every value of every column (FNV-1a over type, validity and
 * value bytes), or 0 when a read fails; a zero digest never happens for a
 * readable file (the seed is non-zero and every step mixes in). err gets the
 * first failure's message. */
static uint64_t values_digest(ql_pq_file_t *f, char *err, size_t errlen)
{
    uint64_t h = 1469598103934665603ULL;
#define MIX(p, n)                                                   \
    for (size_t k_ = 0; k_ < (size_t)(n); k_++) h = (h ^ ((const uint8_t *)(p))[k_]) * 1099511628211ULL
    for (int g = 0; g < ql_pq_num_row_groups(f); g++)
        for (int c = 0; c < ql_pq_num_columns(f); c++) {
            ql_pq_column_data_t d;
            if (ql_pq_read_column(f, g, c, &d, err, errlen) < 0) {
                ql_pq_column_data_free(&d);
                return 0;
            }
            for (int64_t r = 0; r < d.n; r++) {
                MIX(&d.valid[r], 1);
                if (!d.valid[r]) continue;
                if (d.str) {
                    MIX(d.str[r], d.str_len[r]);
                    MIX(&d.str_len[r], sizeof d.str_len[r]);
                } else if (d.f64) {
                    MIX(&d.f64[r], sizeof d.f64[r]);
                } else {
                    MIX(&d.i64[r], sizeof d.i64[r]);
                }
            }
            ql_pq_column_data_free(&d);
        }
#undef MIX
    return h ? h : 1;
}

/* Page CRCs: questlog writes PageHeader.crc on every page (the interop test
 * checks the values with hyparquet and node's zlib) and checks it before
 * decoding. Every single-byte flip in the pages of a file either fails the
 * read or leaves every value as it was — never wrong values; with the check
 * off (ql_pq_skip_checksums) some flips do give wrong values, so the check is
 * what catches them. */
static void test_page_checksums(void)
{
    static const ql_pq_codec_t codecs[] = {QL_PQ_UNCOMPRESSED, QL_PQ_SNAPPY, QL_PQ_ZSTD};
    for (size_t k = 0; k < QL_ARRAY_LEN(codecs); k++) {
        const char *cname = ql_pq_codec_name(codecs[k]);
        char err[256], path[] = "/tmp/test_pq_crc.XXXXXX";
        int fd = mkstemp(path);
        ql_pq_write_options_t o = {.codec = codecs[k], .page_bytes = 512};
        ql_pq_writer_t *w;
        if (fd < 0 || ql_pq_writer_new(&w, fd, &o, err, sizeof err) < 0) {
            ok(0, "%s: writer", cname);
            continue;
        }
        int cs = ql_pq_writer_add_column(w, "event_type", QL_PQ_STRING, 0, err, sizeof err);
        int ci = ql_pq_writer_add_column(w, "price", QL_PQ_INT64, 0, err, sizeof err);
        int cd = ql_pq_writer_add_column(w, "score", QL_PQ_DOUBLE, 1, err, sizeof err);
        for (int r = 0; r < 300; r++) {
            static const char *const types[] = {"purchase_sword", "join_guild", "default"};
            ql_pq_writer_set_string(w, cs, types[r % 3], strlen(types[r % 3]));
            if (r % 4) ql_pq_writer_set_int64(w, ci, r * 37);
            ql_pq_writer_set_double(w, cd, r / 3.0);
            ql_pq_writer_end_row(w, err, sizeof err);
        }
        int rc = ql_pq_writer_finish(w, err, sizeof err);
        ql_pq_writer_free(w);
        ok(rc == 0, "%s: file written (%s)", cname, rc ? err : "ok");
        size_t len = 0;
        char *data = NULL;
        if (ql_read_file(path, &data, &len, err, sizeof err) < 0) data = NULL;
        close(fd);
        unlink(path);
        ql_pq_file_t *f;
        if (!data || ql_pq_open_mem(&f, data, len, err, sizeof err) < 0) {
            ok(0, "%s: reopened", cname);
            free(data);
            continue;
        }
        uint64_t want = values_digest(f, err, sizeof err);
        ok(want != 0, "%s: reads back (%s)", cname, want ? "ok" : err);
        /* The pages lie between the leading magic and the first footer byte. */
        uint32_t flen;
        memcpy(&flen, data + len - 8, 4);
        size_t pages_end = len - 8 - flen;
        ql_pq_close(f);

        int caught = 0, failed = 0, same = 0, wrong = 0, wrong_unchecked = 0;
        char *p = malloc(len);
        for (size_t i = 4; i < pages_end; i++) {
            for (int check = 1; check >= 0; check--) {
                memcpy(p, data, len);
                p[i] ^= 0x10;
                if (ql_pq_open_mem(&f, p, len, err, sizeof err) < 0) continue;
                if (!check) ql_pq_skip_checksums(f);
                err[0] = 0;
                uint64_t got = values_digest(f, err, sizeof err);
                ql_pq_close(f);
                if (!check) {
                    wrong_unchecked += got && got != want;
                    continue;
                }
                if (!got) {
                    failed++;
                    caught += strstr(err, "fails its checksum") != NULL;
                } else if (got == want) {
                    same++;
                } else {
                    wrong++;
                    if (wrong == 1) diag("%s: flip at byte %zu gave wrong values", cname, i);
                }
            }
        }
        free(p);
        free(data);
        ok(wrong == 0, "%s: %zu byte flips: %d failed (%d by the checksum), %d harmless, %d gave wrong values",
           cname, pages_end - 4, failed, caught, same, wrong);
        ok(caught > 0 && wrong_unchecked > 0,
           "%s: the checksum is what catches them (%d flips give wrong values without it)", cname, wrong_unchecked);
    }
}

int main(void)
{
    test_rle();
    test_unpack();
    test_delta();
    test_hand_built();
    test_footer_checks();
    test_duckdb_files();
    test_outlives_file();
    test_parallel_reads();
    test_round_trip();
    test_dict_form();
    test_page_checksums();
    test_fuzz_regressions();
    return tap_done();
}
