/*
 * event.h — turns one HTTP request (headers, query string, POST body) into
 * event JSON objects, as DESIGN.md "The event" says. No h2o here: the
 * collector passes plain byte spans, so unit tests and the fuzz target drive
 * the same code.
 *
 * An event is one flat JSON object:
 *   {"event_type":…,"event_id":UUIDv7,"timestamp":RFC 3339 µs UTC,
 *    <headers, Title-Case>, <query parameters>, <body fields>}
 *
 * Rules (docs/collector.md has the reasons):
 *  - event_type/event_id/timestamp are reserved (any letter case): a header
 *    or query parameter with such a name is dropped; a body field named
 *    event_id or timestamp is a 400 (event_type in a body says the type).
 *  - Header names become canonical Title-Case ("user-agent" → "User-Agent");
 *    headers on the catalog's deny-list (and names that are not HTTP tokens)
 *    are never recorded; a repeated header
 *    is joined with ", " (RFC 9110); invalid UTF-8 in a header value becomes
 *    U+FFFD.
 *  - Query parameters are percent-decoded ('+' is a space); a later source
 *    overrides an earlier one for the same key: header < query < body; a
 *    repeated query parameter keeps the last value; a key repeated inside one
 *    body object is a 400. Query text that is not UTF-8 after decoding is a 400.
 *  - Parameters typed in the catalog are checked (400 naming the field) and
 *    written as JSON numbers/booleans; untyped query parameters are strings,
 *    untyped body fields are kept as the JSON value given.
 *  - A POST body is one or more JSON objects separated by whitespace
 *    (a single object or NDJSON), each with a catalog "event_type".
 *    All or nothing: on any error nothing is appended to the output.
 *
 * Threads: a builder belongs to one thread at a time (the collector keeps one
 * per event loop); the catalog is only read.
 * Errors: -1 with a message in err; every error here means HTTP 400.
 */
#ifndef QL_EVENT_H
#define QL_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "util.h"

typedef struct ql_event_header {
    const char *name;     /* any case (h2o gives lower case) */
    size_t      name_len;
    const char *value;
    size_t      value_len;
} ql_event_header_t;

/* One request, as plain spans that must stay valid during the build call. */
typedef struct ql_event_input {
    const ql_event_header_t *headers;
    size_t                   n_headers;
    const char              *query;     /* text after '?', without it; NULL = none */
    size_t                   query_len;
    int64_t                  now_us;    /* server time for "timestamp" (and the id) */
} ql_event_input_t;

/* Where one built event lies in the output buffer. */
typedef struct ql_event_span {
    size_t                    off, len;  /* the event's JSON text in out->data */
    char                      id[QL_UUID_LEN];
    const ql_catalog_event_t *type;
} ql_event_span_t;

typedef struct ql_event_builder ql_event_builder_t;

/* A builder over `cat` (borrowed, must outlive it). Free with ql_event_builder_free. */
ql_event_builder_t *ql_event_builder_new(const ql_catalog_t *cat);
void ql_event_builder_free(ql_event_builder_t *b);

/* One event of type `ev` from a catalog route (headers + query string),
 * appended to `out`. On success returns 1 and the span is ql_event_spans()[0]. */
int ql_event_build_route(ql_event_builder_t *b, const ql_catalog_event_t *ev, const ql_event_input_t *in,
                         ql_buf_t *out, char *err, size_t errlen);

/* The events of a POST /events body (headers + query string + each object),
 * appended to `out` back to back. Returns the number of events (>= 1), or -1
 * with out unchanged (e.g. "event 3: unknown event_type \"x\"", "no events"). */
int ql_event_build_body(ql_event_builder_t *b, const ql_event_input_t *in, const char *body, size_t len,
                        ql_buf_t *out, char *err, size_t errlen);

/* The spans of the last successful build (valid until the next build). */
const ql_event_span_t *ql_event_spans(const ql_event_builder_t *b, size_t *n);

/* After a failed build: the field the error is about ("price"), or NULL. */
const char *ql_event_error_field(const ql_event_builder_t *b);

/* Canonical header name: first letter and each letter after '-' upper case,
 * the rest lower case ("x-api-KEY" → "X-Api-Key"). Writes len bytes to out. */
void ql_event_canonical_header(const char *name, size_t len, char *out);

/* Appends s as a quoted JSON string, replacing bytes that are not valid
 * UTF-8 with U+FFFD (for text from the network, e.g. error messages). */
void ql_event_write_string_lossy(ql_buf_t *out, const char *s, size_t n);

#endif
