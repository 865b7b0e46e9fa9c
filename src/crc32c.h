/*
 * crc32c.h — CRC-32C (Castagnoli), the checksum framing every log record.
 * Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise;
 * both give the same (standard, reflected, ~init/~final) result:
 * ql_crc32c(0, "123456789", 9) == 0xE3069283.
 */
#ifndef QL_CRC32C_H
#define QL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of buf[0..len), continuing from `crc` (pass 0 to start; pass a
 * previous result to extend it over more bytes). Thread: any; pure. */
uint32_t ql_crc32c(uint32_t crc, const void *buf, size_t len);

/* The same with the portable table code only (for tests: both must agree). */
uint32_t ql_crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
