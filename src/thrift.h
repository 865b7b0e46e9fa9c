/*
 * thrift.h — the Thrift compact protocol, just what Parquet metadata needs:
 * an encoder that appends to a ql_buf_t and a bounded, pull-style decoder over
 * a byte range. Spec: apache/thrift doc/specs/thrift-compact-protocol.md.
 *
 * Wire summary: a struct is a sequence of field headers + values ended by a
 * 0 byte (STOP). A field header is one byte (delta << 4 | type) when the field
 * id is 1..15 above the previous field id of the same struct, else the type
 * byte followed by the id as a zigzag varint (i16). Booleans live in the type
 * nibble of their field header (TRUE = 1, FALSE = 2); inside lists a bool is
 * one byte. i16/i32/i64 are zigzag varints, double is 8 bytes little-endian,
 * binary is a varint length + bytes. A list header is one byte
 * (size << 4 | elem_type) when size < 15, else (0xF0 | elem_type) + varint size.
 *
 * Threads: a ql_thrift_writer_t / ql_thrift_reader_t belongs to one thread.
 * Errors: the writer cannot fail (ql_buf_t aborts on out-of-memory); it has a
 * nesting limit of QL_THRIFT_MAX_DEPTH (deeper nesting is a programming error,
 * asserted). The reader never reads outside [p, end): every read function
 * returns 0 or a negative value, and once it failed the reader stays failed
 * (r->err != 0, r->msg says why), so callers may check once at the end.
 */
#ifndef QL_THRIFT_H
#define QL_THRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Compact-protocol type ids (field header low nibble / list element type). */
enum {
    QL_THRIFT_STOP = 0,
    QL_THRIFT_TRUE = 1,     /* bool field, value true (also "BOOL" as a list element type) */
    QL_THRIFT_FALSE = 2,    /* bool field, value false */
    QL_THRIFT_BYTE = 3,
    QL_THRIFT_I16 = 4,
    QL_THRIFT_I32 = 5,
    QL_THRIFT_I64 = 6,
    QL_THRIFT_DOUBLE = 7,
    QL_THRIFT_BINARY = 8,
    QL_THRIFT_LIST = 9,
    QL_THRIFT_SET = 10,
    QL_THRIFT_MAP = 11,
    QL_THRIFT_STRUCT = 12,
};

#define QL_THRIFT_MAX_DEPTH 32

/* ---- encoder ----------------------------------------------------------- */

/* Appends to *b (not owned). Start with ql_thrift_writer_init; the top level
 * is an open struct: write its fields, then ql_thrift_write_struct_end. */
typedef struct ql_thrift_writer {
    ql_buf_t *b;
    int       depth;                          /* open structs, 0 = top level */
    int16_t   last[QL_THRIFT_MAX_DEPTH + 1];  /* last field id per open struct */
} ql_thrift_writer_t;

void ql_thrift_writer_init(ql_thrift_writer_t *w, ql_buf_t *b);

/* Fields of the current struct (ids must be > 0; any order is legal). */
void ql_thrift_write_field_bool(ql_thrift_writer_t *w, int16_t id, int v);
void ql_thrift_write_field_i16(ql_thrift_writer_t *w, int16_t id, int16_t v);
void ql_thrift_write_field_i32(ql_thrift_writer_t *w, int16_t id, int32_t v);
void ql_thrift_write_field_i64(ql_thrift_writer_t *w, int16_t id, int64_t v);
void ql_thrift_write_field_double(ql_thrift_writer_t *w, int16_t id, double v);
void ql_thrift_write_field_binary(ql_thrift_writer_t *w, int16_t id, const void *p, size_t n);
void ql_thrift_write_field_string(ql_thrift_writer_t *w, int16_t id, const char *s); /* NUL-terminated */
/* A struct-valued field: then its fields, then ql_thrift_write_struct_end. */
void ql_thrift_write_field_struct_begin(ql_thrift_writer_t *w, int16_t id);
/* Ends the innermost open struct (writes STOP); also ends the top level. */
void ql_thrift_write_struct_end(ql_thrift_writer_t *w);
/* A list-valued field of n elements of elem_type; then write exactly n
 * elements with the element functions below (no end call for lists). */
void ql_thrift_write_field_list_begin(ql_thrift_writer_t *w, int16_t id, int elem_type, uint32_t n);

/* List elements (and raw values). */
void ql_thrift_write_i32(ql_thrift_writer_t *w, int32_t v);
void ql_thrift_write_i64(ql_thrift_writer_t *w, int64_t v);
void ql_thrift_write_binary(ql_thrift_writer_t *w, const void *p, size_t n);
void ql_thrift_write_bool(ql_thrift_writer_t *w, int v);
/* A struct list element: its fields, then ql_thrift_write_struct_end. */
void ql_thrift_write_struct_begin(ql_thrift_writer_t *w);
/* A nested list as a list element (list<list<…>>). */
void ql_thrift_write_list_begin(ql_thrift_writer_t *w, int elem_type, uint32_t n);

/* Low-level varints (exposed for tests and for Parquet's RLE run headers). */
void ql_thrift_put_uvarint(ql_buf_t *b, uint64_t v);
static inline uint64_t ql_thrift_zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t ql_thrift_unzigzag64(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* ---- decoder ----------------------------------------------------------- */

typedef struct ql_thrift_reader {
    const uint8_t *p, *end;
    int            depth;
    int16_t        last[QL_THRIFT_MAX_DEPTH + 1];
    int            err;        /* 0 or the first error (negative) */
    const char    *msg;        /* static text of the first error */
} ql_thrift_reader_t;

/* Reads from [buf, buf+len) (not owned; must outlive the reader). The top
 * level is an open struct: read its fields with ql_thrift_read_field until it
 * returns STOP. */
void ql_thrift_reader_init(ql_thrift_reader_t *r, const void *buf, size_t len);
/* Bytes consumed so far. */
size_t ql_thrift_reader_pos(const ql_thrift_reader_t *r, const void *buf);

/* Next field header of the current struct: *type = QL_THRIFT_STOP (and the
 * struct is closed: depth drops by one) or the field's type with *id set.
 * Returns 0 or < 0. For a bool field the value is in *type (TRUE/FALSE):
 * use ql_thrift_field_bool(type). */
int ql_thrift_read_field(ql_thrift_reader_t *r, int16_t *id, int *type);
static inline int ql_thrift_field_bool(int type) { return type == QL_THRIFT_TRUE; }

/* Values (of a field just announced, or list elements). */
int ql_thrift_read_i32(ql_thrift_reader_t *r, int32_t *v);   /* also reads i16 and byte-size values */
int ql_thrift_read_i64(ql_thrift_reader_t *r, int64_t *v);
int ql_thrift_read_double(ql_thrift_reader_t *r, double *v);
int ql_thrift_read_byte(ql_thrift_reader_t *r, int8_t *v);
int ql_thrift_read_bool_elem(ql_thrift_reader_t *r, int *v); /* bool as a list element */
/* Binary/string: *p points into the buffer (not copied, not NUL-terminated). */
int ql_thrift_read_binary(ql_thrift_reader_t *r, const uint8_t **p, uint32_t *n);
/* Enters a struct value (a STRUCT field or list element): then read its
 * fields with ql_thrift_read_field until STOP, which leaves it. */
int ql_thrift_read_struct_begin(ql_thrift_reader_t *r);
/* A list/set header: element type and count. The count is checked against the
 * bytes left (every element takes at least one byte, except bool-free
 * impossibilities), so a hostile count cannot make callers over-allocate. */
int ql_thrift_read_list_begin(ql_thrift_reader_t *r, int *elem_type, uint32_t *n);
/* Skips a value of the given type (including nested structs/lists/maps),
 * bounded by QL_THRIFT_MAX_DEPTH. For a bool field there is nothing to skip. */
int ql_thrift_skip(ql_thrift_reader_t *r, int type);

#endif
