/*
 * fuzz_httpc.c — libFuzzer target for the load generator's HTTP response
 * parser (ql_httpc_parse_response): any bytes, with and without EOF, must be
 * parsed without reading outside the buffer, and a complete response must
 * report a size within the input and a body inside it (or in the chunk
 * buffer). Also checks that a complete response stays complete, with the
 * same size, when more bytes follow it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "fuzz_ubsan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);  /* exact size: ASan catches over-reads */
    memcpy(buf, data, size);
    ql_buf_t chunks = QL_BUF_INIT;
    char err[128];
    for (int eof = 0; eof <= 1; eof++) {
        ql_httpc_response_t r;
        long n = ql_httpc_parse_response(buf, size, eof, &r, &chunks, err, sizeof err);
        if (n < -1 || n > (long)size) abort();
        if (n > 0) {
            if (r.status < 100 || r.status > 999) abort();
            int in_input = r.body >= buf && r.body + r.body_len <= buf + size;
            int in_chunks = chunks.data && r.body >= chunks.data && r.body + r.body_len <= chunks.data + chunks.len;
            if (r.body_len && !in_input && !in_chunks) abort();
            /* a prefix that is complete (without EOF) must parse the same */
            if (!eof) {
                ql_httpc_response_t r2;
                long n2 = ql_httpc_parse_response(buf, (size_t)n, 0, &r2, &chunks, err, sizeof err);
                if (n2 != n || r2.status != r.status) abort();
            }
        }
    }
    ql_buf_free(&chunks);
    free(buf);
    return 0;
}
