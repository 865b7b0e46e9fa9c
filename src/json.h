/*
 * json.h — a small, strict, allocation-free JSON scanner and writer for the
 * hot paths: HTTP bodies (POST /events), log records in the loader, `import`.
 *
 * The scanner walks ONE object's members in place; it never allocates and
 * never copies. Nested objects/arrays are validated and returned as a raw span
 * (callers that keep them store the JSON text). Strings are returned as the
 * raw bytes between the quotes; ql_json_unescape() decodes them.
 *
 * Strictness (RFC 8259): no trailing commas, no comments, no leading zeros,
 * no control characters in strings, \u escapes with valid surrogate pairs,
 * strings must be valid UTF-8, nesting depth <= QL_JSON_MAX_DEPTH.
 * Duplicate keys are NOT detected here (callers that care check them).
 *
 * Threads: no shared state; an iterator belongs to one thread.
 * Errors: negative return, message (with byte position) in err.
 */
#ifndef QL_JSON_H
#define QL_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define QL_JSON_MAX_DEPTH 64

typedef enum ql_json_kind {
    QL_JSON_STRING,
    QL_JSON_NUMBER,
    QL_JSON_TRUE,
    QL_JSON_FALSE,
    QL_JSON_NULL,
    QL_JSON_OBJECT,
    QL_JSON_ARRAY,
} ql_json_kind_t;

/* A scanned value. For QL_JSON_STRING, [ptr, ptr+len) is the text between the
 * quotes, still escaped; `escaped` says whether it holds any backslash (if 0,
 * the raw bytes ARE the value). For every other kind, [ptr, ptr+len) is the
 * value's full JSON text (e.g. "12.5", "true", "{...}"). `is_integer` is set
 * for numbers without fraction or exponent. Pointers point into the input. */
typedef struct ql_json_token {
    ql_json_kind_t kind;
    const char    *ptr;
    size_t         len;
    int            escaped;
    int            is_integer;
} ql_json_token_t;

typedef struct ql_json_iter {
    const char *start, *p, *end;
    int         count;   /* members returned so far */
    int         done;
} ql_json_iter_t;

/* Starts iterating the object that begins at buf (leading whitespace allowed).
 * Returns 0, or -1 if buf does not start with '{'. */
int ql_json_object_begin(ql_json_iter_t *it, const char *buf, size_t len, char *err, size_t errlen);

/* Next member: returns 1 with *key (always a STRING token) and *value filled,
 * 0 at the closing '}' (it->p then points just past it), -1 on malformed input. */
int ql_json_object_next(ql_json_iter_t *it, ql_json_token_t *key, ql_json_token_t *value,
                        char *err, size_t errlen);

/* Scans one complete value at buf (leading whitespace allowed); *used gets the
 * bytes consumed including leading whitespace. 0 ok, -1 malformed. */
int ql_json_scan_value(const char *buf, size_t len, ql_json_token_t *tok, size_t *used,
                       char *err, size_t errlen);

/* Validates that buf holds exactly one JSON object and nothing else but
 * whitespace. 0 ok, -1 malformed. */
int ql_json_validate_object(const char *buf, size_t len, char *err, size_t errlen);

/* Decodes a STRING token into out, which must have room for tok->len bytes
 * (decoding never grows). Returns the decoded length. The token must come from
 * the scanner (escapes already validated). */
size_t ql_json_unescape(const ql_json_token_t *tok, char *out);

/* Compares a STRING token's decoded value with a C string, without allocating. */
int ql_json_string_eq(const ql_json_token_t *tok, const char *s);

/* Parses a NUMBER token as int64 (only if is_integer and in range: 0) or double (0). */
int ql_json_token_int64(const ql_json_token_t *tok, int64_t *out);
int ql_json_token_double(const ql_json_token_t *tok, double *out);

/* Appends s (len bytes, UTF-8) as a quoted, escaped JSON string. Control
 * characters become \u00XX; '"' and '\\' are escaped; '/' is not. */
void ql_json_write_string(ql_buf_t *b, const char *s, size_t len);

/* 1 if [s, s+len) is valid UTF-8 (no overlongs, no surrogates), else 0. */
int ql_utf8_valid(const char *s, size_t len);

#endif
