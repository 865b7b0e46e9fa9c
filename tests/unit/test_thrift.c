/*
 * test_thrift.c — Thrift compact protocol round trips (zigzag, long field-id
 * deltas, nested structs, lists, skipping) and the decoder's bounds on
 * truncated or hostile input; plus the RLE/bit-packing hybrid encoder and the
 * page codecs of pq_common.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pq_internal.h"
#include "tap.h"
#include "thrift.h"

static void test_varints(void)
{
    int64_t vals[] = {0, 1, -1, 63, -64, 64, 127, 128, -129, 300, INT32_MAX, INT32_MIN,
                      INT64_MAX, INT64_MIN, 1LL << 40, -(1LL << 40)};
    ql_buf_t b = QL_BUF_INIT;
    ql_thrift_writer_t w;
    ql_thrift_writer_init(&w, &b);
    for (size_t i = 0; i < QL_ARRAY_LEN(vals); i++) ql_thrift_write_field_i64(&w, (int16_t)(i + 1), vals[i]);
    ql_thrift_write_struct_end(&w);
    ql_thrift_reader_t r;
    ql_thrift_reader_init(&r, b.data, b.len);
    int good = 1;
    for (size_t i = 0; i < QL_ARRAY_LEN(vals); i++) {
        int16_t id;
        int t;
        int64_t v = 0;
        if (ql_thrift_read_field(&r, &id, &t) || id != (int16_t)(i + 1) || t != QL_THRIFT_I64 ||
            ql_thrift_read_i64(&r, &v) || v != vals[i]) {
            good = 0;
            diag("value %zu: got %lld want %lld", i, (long long)v, (long long)vals[i]);
        }
    }
    int16_t id;
    int t;
    ok(good, "i64 round trips incl. negatives and extremes");
    ok(ql_thrift_read_field(&r, &id, &t) == 0 && t == QL_THRIFT_STOP, "stop after last field");
    is_int(ql_thrift_reader_pos(&r, b.data), b.len, "consumed everything");
    /* Known encodings from the spec: zigzag(-1) = 1, zigzag(1) = 2, 300 -> ac 02. */
    ql_buf_reset(&b);
    ql_thrift_put_uvarint(&b, ql_thrift_zigzag64(-1));
    ql_thrift_put_uvarint(&b, ql_thrift_zigzag64(1));
    ql_thrift_put_uvarint(&b, 300);
    ok(b.len == 4 && (uint8_t)b.data[0] == 1 && (uint8_t)b.data[1] == 2 && (uint8_t)b.data[2] == 0xac &&
           (uint8_t)b.data[3] == 0x02, "varint/zigzag bytes match the spec");
    ql_buf_free(&b);
}

static void test_struct_shapes(void)
{
    ql_buf_t b = QL_BUF_INIT;
    ql_thrift_writer_t w;
    ql_thrift_writer_init(&w, &b);
    ql_thrift_write_field_i32(&w, 1, -7);
    ql_thrift_write_field_bool(&w, 2, 1);
    ql_thrift_write_field_bool(&w, 3, 0);
    ql_thrift_write_field_string(&w, 20, "long delta");   /* delta 17: long form */
    ql_thrift_write_field_double(&w, 21, -0.0);
    ql_thrift_write_field_i32(&w, 5, 5);                  /* going backwards: long form */
    ql_thrift_write_field_struct_begin(&w, 6);
    ql_thrift_write_field_i64(&w, 1, 42);
    ql_thrift_write_field_struct_begin(&w, 300);
    ql_thrift_write_struct_end(&w);                        /* empty nested struct */
    ql_thrift_write_field_i32(&w, 2, 9);
    ql_thrift_write_struct_end(&w);
    ql_thrift_write_field_list_begin(&w, 7, QL_THRIFT_I32, 20); /* long list header */
    for (int i = 0; i < 20; i++) ql_thrift_write_i32(&w, -i * 1000);
    ql_thrift_write_field_list_begin(&w, 8, QL_THRIFT_STRUCT, 2);
    for (int i = 0; i < 2; i++) {
        ql_thrift_write_struct_begin(&w);
        ql_thrift_write_field_binary(&w, 1, "ab", (size_t)i + 1);
        ql_thrift_write_struct_end(&w);
    }
    ql_thrift_write_field_list_begin(&w, 9, QL_THRIFT_TRUE, 3);
    ql_thrift_write_bool(&w, 1);
    ql_thrift_write_bool(&w, 0);
    ql_thrift_write_bool(&w, 1);
    ql_thrift_write_field_i32(&w, 10, 1234);
    ql_thrift_write_struct_end(&w);
    is_int(w.depth, 0, "writer back at top level");

    ql_thrift_reader_t r;
    ql_thrift_reader_init(&r, b.data, b.len);
    int16_t id;
    int t;
    int32_t i32 = 0;
    int64_t i64 = 0;
    double d = 1;
    const uint8_t *p;
    uint32_t n;
    ok(!ql_thrift_read_field(&r, &id, &t) && id == 1 && t == QL_THRIFT_I32 && !ql_thrift_read_i32(&r, &i32) &&
           i32 == -7, "field 1 i32 -7");
    ok(!ql_thrift_read_field(&r, &id, &t) && id == 2 && ql_thrift_field_bool(t), "field 2 bool true");
    ok(!ql_thrift_read_field(&r, &id, &t) && id == 3 && t == QL_THRIFT_FALSE, "field 3 bool false");
    ok(!ql_thrift_read_field(&r, &id, &t) && id == 20 && t == QL_THRIFT_BINARY && !ql_thrift_read_binary(&r, &p, &n) &&
           n == 10 && memcmp(p, "long delta", 10) == 0, "field 20 (delta > 15) string");
    ok(!ql_thrift_read_field(&r, &id, &t) && id == 21 && !ql_thrift_read_double(&r, &d) && d == 0 && signbit(d),
       "field 21 double -0.0");
    ok(!ql_thrift_read_field(&r, &id, &t) && id == 5 && !ql_thrift_read_i32(&r, &i32) && i32 == 5,
       "field 5 after 21 (negative delta)");
    ok(!ql_thrift_read_field(&r, &id, &t) && id == 6 && t == QL_THRIFT_STRUCT && !ql_thrift_read_struct_begin(&r),
       "field 6 struct");
    ok(!ql_thrift_read_field(&r, &id, &t) && id == 1 && !ql_thrift_read_i64(&r, &i64) && i64 == 42, "nested field 1");
    ok(!ql_thrift_read_field(&r, &id, &t) && id == 300 && t == QL_THRIFT_STRUCT && !ql_thrift_skip(&r, t),
       "nested empty struct 300 skipped");
    ok(!ql_thrift_read_field(&r, &id, &t) && id == 2 && !ql_thrift_read_i32(&r, &i32) && i32 == 9,
       "nested field 2 (delta counted inside the nested struct)");
    ok(!ql_thrift_read_field(&r, &id, &t) && t == QL_THRIFT_STOP && r.depth == 0, "nested stop");
    int et;
    int good = !ql_thrift_read_field(&r, &id, &t) && id == 7 && t == QL_THRIFT_LIST &&
               !ql_thrift_read_list_begin(&r, &et, &n) && et == QL_THRIFT_I32 && n == 20;
    for (int i = 0; good && i < 20; i++) good = !ql_thrift_read_i32(&r, &i32) && i32 == -i * 1000;
    ok(good, "list of 20 i32");
    ok(!ql_thrift_read_field(&r, &id, &t) && id == 8 && t == QL_THRIFT_LIST && !ql_thrift_skip(&r, t),
       "list of structs skipped");
    good = !ql_thrift_read_field(&r, &id, &t) && id == 9 && !ql_thrift_read_list_begin(&r, &et, &n) && n == 3;
    int bv[3] = {0};
    for (int i = 0; good && i < 3; i++) good = !ql_thrift_read_bool_elem(&r, &bv[i]);
    ok(good && bv[0] == 1 && bv[1] == 0 && bv[2] == 1, "list of bools");
    ok(!ql_thrift_read_field(&r, &id, &t) && id == 10 && !ql_thrift_read_i32(&r, &i32) && i32 == 1234,
       "field after lists");
    ok(!ql_thrift_read_field(&r, &id, &t) && t == QL_THRIFT_STOP && r.err == 0, "top-level stop");

    /* Skipping the whole thing as one struct works and consumes every byte. */
    ql_thrift_reader_init(&r, b.data, b.len);
    ok(ql_thrift_skip(&r, QL_THRIFT_STRUCT) == 0 && ql_thrift_reader_pos(&r, b.data) == b.len,
       "skip of the whole struct consumes all bytes");

    /* Every truncation fails cleanly (no over-read: ASan checks). */
    int all_fail = 1;
    for (size_t cut = 0; cut < b.len; cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, b.data, cut);
        ql_thrift_reader_init(&r, copy, cut);
        if (ql_thrift_skip(&r, QL_THRIFT_STRUCT) == 0) all_fail = 0;
        free(copy);
    }
    ok(all_fail, "every truncated prefix is an error");
    ql_buf_free(&b);
}

static void test_hostile(void)
{
    ql_thrift_reader_t r;
    int et;
    uint32_t n;
    const uint8_t huge_list[] = {0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F};
    ql_thrift_reader_init(&r, huge_list, sizeof huge_list);
    ok(ql_thrift_read_list_begin(&r, &et, &n) < 0 && r.msg, "list count beyond the buffer is refused (%s)", r.msg);
    const uint8_t long_bin[] = {0x80, 0x80, 0x04, 'a'};
    const uint8_t *p;
    ql_thrift_reader_init(&r, long_bin, sizeof long_bin);
    ok(ql_thrift_read_binary(&r, &p, &n) < 0, "binary length beyond the buffer is refused");
    const uint8_t bad_varint[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    int64_t v;
    ql_thrift_reader_init(&r, bad_varint, sizeof bad_varint);
    ok(ql_thrift_read_i64(&r, &v) < 0, "11-byte varint is refused");
    /* 40 nested structs: deeper than the limit. */
    uint8_t deep[81];
    for (int i = 0; i < 40; i++) deep[i] = 0x1C;
    memset(deep + 40, 0, 41);
    ql_thrift_reader_init(&r, deep, sizeof deep);
    ok(ql_thrift_skip(&r, QL_THRIFT_STRUCT) < 0, "nesting beyond %d is refused", QL_THRIFT_MAX_DEPTH);
    const uint8_t badtype[] = {0x1E};
    int16_t id;
    int t;
    ql_thrift_reader_init(&r, badtype, sizeof badtype);
    ok(ql_thrift_read_field(&r, &id, &t) < 0, "unknown type nibble is refused");
    ok(ql_thrift_read_i64(&r, &v) < 0, "reader stays failed");
}

/* A reference decoder for the hybrid, written from Encodings.md. */
static int rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n)
{
    size_t got = 0, i = 0;
    while (got < n) {
        uint64_t h = 0;
        int shift = 0;
        for (;;) {
            if (i >= len) return -1;
            uint8_t c = p[i++];
            h |= (uint64_t)(c & 0x7f) << shift;
            shift += 7;
            if (!(c & 0x80)) break;
        }
        if (h & 1) {
            size_t cnt = (h >> 1) * 8;
            uint64_t acc = 0;
            int bits = 0;
            for (size_t k = 0; k < cnt; k++) {
                while (bits < bw) {
                    if (i >= len) return -1;
                    acc |= (uint64_t)p[i++] << bits;
                    bits += 8;
                }
                uint32_t x = (uint32_t)(acc & ((bw == 32) ? 0xffffffffu : ((1u << bw) - 1)));
                acc >>= bw;
                bits -= bw;
                if (got < n) out[got++] = x;
            }
        } else {
            size_t cnt = h >> 1;
            uint32_t x = 0;
            for (int k = 0; k < (bw + 7) / 8; k++) {
                if (i >= len) return -1;
                x |= (uint32_t)p[i++] << (8 * k);
            }
            for (size_t k = 0; k < cnt && got < n; k++) out[got++] = x;
        }
    }
    return (int)i;
}

static void test_rle(void)
{
    enum { N = 5000 };
    uint32_t *v = malloc(N * sizeof *v), *back = malloc(N * sizeof *back);
    uint8_t *v8 = malloc(N);
    srand(7);
    const int widths[] = {1, 2, 3, 7, 8, 13, 20, 32};
    int good = 1;
    for (size_t wi = 0; wi < QL_ARRAY_LEN(widths); wi++) {
        int bw = widths[wi];
        uint32_t mask = bw == 32 ? 0xffffffffu : (1u << bw) - 1;
        for (int pattern = 0; pattern < 4; pattern++) {
            for (int i = 0; i < N; i++) {
                uint32_t x = (uint32_t)rand() ^ ((uint32_t)rand() << 16);
                if (pattern == 1) x = (uint32_t)(i / 37);         /* long runs */
                if (pattern == 2) x = (i % 100 < 9) ? (uint32_t)i : 5; /* runs and singles mixed */
                if (pattern == 3) x = (uint32_t)(i % 3);
                v[i] = x & mask;
            }
            for (size_t n = 0; n <= N; n = n ? n * 3 + 1 : 1) {
                ql_buf_t b = QL_BUF_INIT;
                ql_pq_rle_encode_u32(&b, v, n, bw);
                memset(back, 0xAB, N * sizeof *back);
                int used = rle_decode((const uint8_t *)b.data, b.len, bw, back, n);
                if (used != (int)b.len || memcmp(v, back, n * sizeof *v) != 0) {
                    good = 0;
                    diag("rle bw=%d pattern=%d n=%zu failed", bw, pattern, n);
                }
                ql_buf_free(&b);
            }
        }
    }
    ok(good, "RLE/bit-packed hybrid round trips (widths 1..32, runs, mixes, lengths)");
    /* u8 flavour, as used for definition levels. */
    for (int i = 0; i < N; i++) v8[i] = (uint8_t)((i % 50) < 45);
    ql_buf_t b = QL_BUF_INIT;
    ql_pq_rle_encode_u8(&b, v8, N, 1);
    int used = rle_decode((const uint8_t *)b.data, b.len, 1, back, N);
    good = used == (int)b.len;
    for (int i = 0; good && i < N; i++) good = back[i] == v8[i];
    ok(good, "u8 levels round trip");
    /* All ones: a single RLE run (header + 1 byte). */
    memset(v8, 1, N);
    ql_buf_reset(&b);
    ql_pq_rle_encode_u8(&b, v8, N, 1);
    is_int(b.len, 3, "5000 equal levels are one RLE run");
    ql_buf_free(&b);
    is_int(ql_pq_bit_width(0), 0, "bit width of 0");
    is_int(ql_pq_bit_width(1), 1, "bit width of 1");
    is_int(ql_pq_bit_width(255), 8, "bit width of 255");
    is_int(ql_pq_bit_width(256), 9, "bit width of 256");
    free(v);
    free(back);
    free(v8);
}

static void test_codecs(void)
{
    size_t n = 100000;
    char *src = malloc(n), err[200];
    for (size_t i = 0; i < n; i++) src[i] = (char)("questlog "[i % 9] + (i % 1000 == 0));
    ql_pq_codec_t codecs[] = {QL_PQ_UNCOMPRESSED, QL_PQ_SNAPPY, QL_PQ_ZSTD};
    ql_pq_zctx_t z = {0};
    for (size_t c = 0; c < QL_ARRAY_LEN(codecs); c++) {
        size_t cap = ql_pq_compress_bound(codecs[c], n), len = 0;
        char *dst = malloc(cap), *back = malloc(n);
        int rc = ql_pq_compress(&z, codecs[c], 3, src, n, dst, cap, &len, err, sizeof err);
        ok(rc == 0 && ql_pq_decompress(&z, codecs[c], dst, len, back, n, err, sizeof err) == 0 &&
               memcmp(src, back, n) == 0, "%s round trip (%zu -> %zu bytes)", ql_pq_codec_name(codecs[c]), n, len);
        ok(ql_pq_decompress(&z, codecs[c], dst, len, back, n - 1, err, sizeof err) < 0,
           "%s: wrong declared size is an error (%s)", ql_pq_codec_name(codecs[c]), err);
        if (len > 10)
            ok(ql_pq_decompress(&z, codecs[c], dst, len / 2, back, n, err, sizeof err) < 0,
               "%s: truncated input is an error", ql_pq_codec_name(codecs[c]));
        free(dst);
        free(back);
    }
    ql_pq_zctx_free(&z);
    ql_pq_codec_t c;
    ok(ql_pq_codec_parse("ZSTD", &c) == 0 && c == QL_PQ_ZSTD, "parse zstd");
    ok(ql_pq_codec_parse("none", &c) == 0 && c == QL_PQ_UNCOMPRESSED, "parse none");
    ok(ql_pq_codec_parse("lz4", &c) < 0, "lz4 is not a codec here");
    is_str(ql_pq_type_name(QL_PQ_TIMESTAMP), "TIMESTAMP", "type name");
    is_str(ql_pq_encoding_name(PQ_ENC_RLE_DICTIONARY), "RLE_DICTIONARY", "encoding name");
    free(src);
}

int main(void)
{
    test_varints();
    test_struct_shapes();
    test_hostile();
    test_rle();
    test_codecs();
    return tap_done();
}
