/*
 * fuzz_thrift.c — libFuzzer target for the Thrift compact decoder (thrift.c)
 * and the page decompressors (pq_common.c): arbitrary bytes must produce a
 * clean error, never a crash, an over-read or an over-write.
 *
 * Input: byte 0 picks the mode; the rest is the payload.
 *   mode % 3 == 0: ql_thrift_skip of one struct
 *   mode % 3 == 1: a typed walk (every field read with its value reader)
 *   mode % 3 == 2: ql_pq_decompress with codec (mode >> 2) & 3 into a buffer
 *                  of (payload[0] | payload[1] << 8) bytes
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pq_internal.h"
#include "thrift.h"
#include "fuzz_ubsan.h"

static void walk(ql_thrift_reader_t *r, int depth)
{
    for (int guard = 0; guard < 100000 && !r->err; guard++) {
        int16_t id;
        int t;
        if (ql_thrift_read_field(r, &id, &t) || t == QL_THRIFT_STOP) return;
        switch (t) {
        case QL_THRIFT_I32: { int32_t v; ql_thrift_read_i32(r, &v); break; }
        case QL_THRIFT_I64: { int64_t v; ql_thrift_read_i64(r, &v); break; }
        case QL_THRIFT_DOUBLE: { double v; ql_thrift_read_double(r, &v); break; }
        case QL_THRIFT_BINARY: { const uint8_t *p; uint32_t n; ql_thrift_read_binary(r, &p, &n); break; }
        case QL_THRIFT_STRUCT:
            if (depth < 40 && !ql_thrift_read_struct_begin(r)) walk(r, depth + 1);
            break;
        case QL_THRIFT_LIST: {
            int et;
            uint32_t n;
            if (ql_thrift_read_list_begin(r, &et, &n)) return;
            for (uint32_t i = 0; i < n && !r->err; i++) {
                if (et == QL_THRIFT_STRUCT) {
                    if (depth < 40 && !ql_thrift_read_struct_begin(r)) walk(r, depth + 1);
                    else return;
                } else if (et == QL_THRIFT_TRUE || et == QL_THRIFT_FALSE) {
                    int b;
                    ql_thrift_read_bool_elem(r, &b);
                } else {
                    ql_thrift_skip(r, et);
                }
            }
            break;
        }
        default: ql_thrift_skip(r, t); break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    /* an exact-size heap copy so ASan sees any over-read */
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    ql_thrift_reader_t r;
    ql_thrift_reader_init(&r, copy, n);
    if (mode % 3 == 0) {
        ql_thrift_skip(&r, QL_THRIFT_STRUCT);
    } else if (mode % 3 == 1) {
        walk(&r, 0);
    } else if (n >= 2) {
        static const ql_pq_codec_t codecs[] = {QL_PQ_UNCOMPRESSED, QL_PQ_SNAPPY, QL_PQ_GZIP, QL_PQ_ZSTD};
        size_t dst_len = (size_t)copy[0] | (size_t)copy[1] << 8;
        uint8_t *dst = malloc(dst_len ? dst_len : 1);
        char err[128];
        ql_pq_zctx_t z = {0};
        ql_pq_decompress(&z, codecs[(mode >> 2) & 3], copy + 2, n - 2, dst, dst_len, err, sizeof err);
        ql_pq_zctx_free(&z);
        free(dst);
    }
    free(copy);
    return 0;
}
