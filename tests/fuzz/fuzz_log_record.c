/*
 * fuzz_log_record.c — libFuzzer target for the embedded log's record decoder
 * and recovery: arbitrary bytes as a segment image (pure scan), then as real
 * segment files read by a consumer without writer state, recovered by
 * ql_log_open_embedded, and read again. Must never crash, over-read or hang;
 * after recovery a single segment must read back exactly end_offset records.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "crc32c.h"
#include "log_segment.h"
#include "util.h"
#include "fuzz_ubsan.h"

static char dir[256];

static void clean(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0) rmdir(p);
    }
    if (d) closedir(d);
}

static void put_file(int64_t base, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%020lld.log", dir, (long long)base);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ql_write_all(fd, p, n) != 0) abort();
    close(fd);
}

/* Reads everything; returns records read or -1 on a reader error. */
static int64_t read_all(void)
{
    char err[512];
    ql_consumer_t *c;
    if (ql_consumer_open_embedded(&c, dir, NULL, NULL, err, sizeof err) != 0) abort();
    ql_log_record_t recs[16];
    int64_t total = 0, expect = -1;
    int n;
    while ((n = ql_consumer_poll(c, recs, 16, 0, err, sizeof err)) > 0) {
        for (int i = 0; i < n; i++) {
            if (expect >= 0 && recs[i].offset != expect) abort(); /* dense */
            expect = recs[i].offset + 1;
            volatile char sink = 0;
            for (size_t k = 0; k < recs[i].value_len; k++) sink ^= recs[i].value[k];
            for (size_t k = 0; k < recs[i].key_len; k++) sink ^= recs[i].key[k];
            (void)sink;
        }
        total += n;
    }
    ql_consumer_close(c);
    return n < 0 ? -1 : total;
}

/* With bit 6 of the first byte set, the input (after that byte) is taken
 * as a chain of frames whose CRCs are recomputed, so the fuzzer can reach
 * past the checksum into lengths, key lengths and offsets. */
static uint8_t *fix_crcs(const uint8_t *data, size_t size, size_t *out_len)
{
    uint8_t *p = ql_malloc(size ? size : 1);
    memcpy(p, data, size);
    size_t pos = 0;
    while (pos + QL_LOG_REC_HDR <= size) {
        uint32_t len = (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 | (uint32_t)p[pos + 2] << 16 |
                       (uint32_t)p[pos + 3] << 24;
        if (len < QL_LOG_REC_HDR - QL_LOG_REC_PREFIX || len > size - pos - QL_LOG_REC_PREFIX) break;
        uint32_t crc = ql_crc32c(0, p + pos + QL_LOG_REC_PREFIX, len);
        for (int i = 0; i < 4; i++) p[pos + 4 + i] = (uint8_t)(crc >> (8 * i));
        pos += QL_LOG_REC_PREFIX + len;
    }
    *out_len = size;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed = NULL;
    if (size > 1 && (data[0] & 0x40)) {
        fixed = fix_crcs(data + 1, size - 1, &size);
        data = fixed;
    }
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/ql-fuzz-log.XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(dir)) abort();
    }
    /* 1. pure scan */
    size_t valid;
    int64_t next;
    const char *why = "";
    int r = ql_log_segment_scan(data, size, 0, &valid, &next, &why);
    if (valid > size || (r == 1) != ql_log_all_zero(data + valid, size - valid) || next < 0) abort();
    size_t v2;
    int64_t n2;
    if (ql_log_segment_scan(data, valid, 0, &v2, &n2, &why) != 1 || v2 != valid || n2 != next) abort();

    /* 2. as files: optionally split into two segments (first byte's top bit) */
    clean();
    int split = !fixed && size > 1 && (data[0] & 0x80);
    if (split) {
        size_t at = (size_t)(data[0] & 0x7f) * size / 128;
        put_file(0, data, at);
        put_file(1 + (data[size - 1] & 7), data + at, size - at);
    } else {
        put_file(0, data, size);
    }
    int64_t before = read_all();
    if (!split && before >= 0 && before != next) abort(); /* no writer state: reads the valid prefix */

    /* 3. recovery, then read again */
    char err[512];
    ql_log_t *log;
    ql_log_options_t opt = {.quiet = 1, .retention_ms = -1};
    if (ql_log_open_embedded(&log, dir, &opt, err, sizeof err) != 0) abort();
    ql_log_stats_t st;
    ql_log_stats(log, &st);
    ql_log_close(log);
    int64_t after = read_all();
    if (!split && (st.end_offset != next || after != next)) abort();
    free(fixed);
    return 0;
}
