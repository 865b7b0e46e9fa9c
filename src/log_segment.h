/*
 * log_segment.h — private to the embedded log (log_segment.c), its tests and
 * its fuzz target: the on-disk record frame and the pure decoding/scanning
 * functions that recovery and readers share. Nothing here does I/O.
 *
 * Record frame (all integers little-endian), 28-byte header then payload:
 *
 *   0  u32 len        bytes after this 8-byte prefix: 20 + key_len + value_len
 *   4  u32 crc        CRC-32C of the `len` bytes that follow (offset … value)
 *   8  i64 offset     the record's offset; a segment's first record has the
 *                     offset in the file's name, each next one +1
 *  16  i64 timestamp  µs since the epoch (UTC) when the log accepted it
 *  24  u32 key_len    0 = no key
 *  28  key bytes, then value bytes (value_len = len - 20 - key_len)
 */
#ifndef QL_LOG_SEGMENT_H
#define QL_LOG_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define QL_LOG_REC_HDR     28u
#define QL_LOG_REC_PREFIX  8u                /* len + crc */
#define QL_LOG_MAX_PAYLOAD (64u << 20)       /* key + value of one record, at most */

/* Bytes one record with these key/value lengths takes on disk. */
static inline size_t ql_log_frame_size(size_t key_len, size_t value_len)
{
    return QL_LOG_REC_HDR + key_len + value_len;
}

/* Writes a complete frame (header with CRC, key, value) at `out`, which has
 * room for ql_log_frame_size(key_len, value_len) bytes. Thread: any. */
void ql_log_frame_encode(unsigned char *out, int64_t offset, int64_t ts_us, const void *key,
                         size_t key_len, const void *value, size_t value_len);

/* Fills offset and CRC of a frame whose len/timestamp/key_len/key/value are
 * already in place (the writer thread does this just before writing). */
void ql_log_frame_seal(unsigned char *frame, int64_t offset);

/* Decodes the record at p[0..avail). Returns 1 and fills *rec (pointing into
 * p) and *rec_len (bytes consumed) when a whole valid record is there whose
 * offset is `expect_offset`; 0 when p holds only a prefix of a plausible
 * record (then *rec_len, if not 0, is the whole record's size, for reading
 * more); -1 when the bytes are not a valid record, with a reason in *why
 * (static text). Never reads outside p[0..avail). Thread: any; pure. */
int ql_log_record_decode(const unsigned char *p, size_t avail, int64_t expect_offset,
                         ql_log_record_t *rec, size_t *rec_len, const char **why);

/* 1 when p[0..avail) is all zero bytes (also when avail is 0). Pure. */
int ql_log_all_zero(const unsigned char *p, size_t avail);

/* The end marker of a preallocated segment's data: 1 when the bytes at a
 * record position p[0..avail) cannot start a record because they are zeros —
 * at least the 4-byte `len` field is 0, or (at the end of the file, `eof`)
 * every remaining byte is 0 or none remains. Only meaningful at a record
 * boundary. Thread: any; pure. */
static inline int ql_log_frame_is_end(const unsigned char *p, size_t avail, int eof)
{
    if (avail >= 4) return p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0;
    return eof && ql_log_all_zero(p, avail);
}

/* Walks the records of a segment image p[0..len) whose first offset is
 * `base`. *valid_len = bytes of the longest prefix of valid, consecutive
 * records; *next_offset = the offset after the last of them. Returns 1 if
 * that prefix is all of p or is followed only by zero bytes (the unused
 * part of a preallocated segment), 0 if p ends in a partial record, -1 if a
 * corrupt record follows (*why says what). Thread: any; pure. */
int ql_log_segment_scan(const unsigned char *p, size_t len, int64_t base, size_t *valid_len,
                        int64_t *next_offset, const char **why);

#endif
