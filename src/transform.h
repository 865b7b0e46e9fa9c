/*
 * transform.h — the loader's extract → munge → route step, driven by the
 * config's [munge] and [table NAME] sections (see etc/questlog.conf).
 *
 * Extract: one log record (a JSON object) is scanned in place with json.h;
 * no allocation per event. A record that is not one valid JSON object, or
 * whose event_type is missing, empty or not a string, is REJECTED: it goes to
 * the `_rejected` table with the reason (never dropped, never fatal).
 * Reserved keys: event_type (routing), event_id (kept if a string, else a
 * UUIDv7 is made up from the caller's time), timestamp (kept if a valid
 * RFC 3339 string, else the caller's time — the log's append time for
 * `load`, the import time for `import`). Duplicate keys: the last one wins.
 *
 * Munge rules run in file order on the other keys:
 *   set.FIELD = value   set or overwrite FIELD with the string value
 *   rename.FIELD = NEW  rename FIELD (if present) to NEW (replacing NEW)
 *   drop = FIELD        remove FIELD
 * Reserved keys cannot be munged (a config error).
 *
 * Route: [table NAME] event_types = a, b | * — each table is a filter; an
 * event goes to every table whose filter matches (a bitmask, <= 63 tables).
 *
 * Threads: a ql_transform_t is read-only after ql_transform_new and may be
 * shared; a ql_event_t belongs to one thread.
 * Errors: negative return, message in the caller's err buffer.
 */
#ifndef QL_TRANSFORM_H
#define QL_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "config.h"
#include "json.h"
#include "pq.h"
#include "util.h"

#define QL_TRANSFORM_MAX_TABLES 63
#define QL_REJECTED_TABLE "_rejected"

typedef struct ql_transform ql_transform_t;

/* Builds the transform from cfg's [munge] and [table …] sections; cat (may
 * be NULL: every column STRING) types the columns. Both must outlive it. */
int  ql_transform_new(ql_transform_t **out, const ql_config_t *cfg, const ql_catalog_t *cat,
                      char *err, size_t errlen);
/* Frees the transform (NULL is a no-op). */
void ql_transform_free(ql_transform_t *t);

/* The config's tables, in config order: table i is bit i of ql_event_t.tables
 * (at most QL_TRANSFORM_MAX_TABLES). Names are owned by the transform. */
size_t      ql_transform_num_tables(const ql_transform_t *t);
const char *ql_transform_table_name(const ql_transform_t *t, size_t i);
/* The lake column type of a key: the catalog's type (INT→INT64, FLOAT→DOUBLE,
 * BOOL→BOOL), else STRING. */
ql_pq_type_t ql_transform_column_type(const ql_transform_t *t, const char *name, size_t len);

/* A key/value after munging. name is decoded (no escapes); for a STRING
 * value, value.ptr/len are the decoded bytes (value.escaped == 0). */
typedef struct ql_field {
    const char     *name;
    size_t          name_len;
    ql_json_token_t value;
} ql_field_t;

#define QL_EVENT_MAX_FIELDS 256

/* One transformed event. Pointers point into the input record, into the
 * config, or into `scratch`; valid until the next ql_transform_event call on
 * this struct or until the input is freed. Zero-initialise before first use;
 * free with ql_event_free. */
typedef struct ql_event {
    const char *reject;           /* non-NULL: rejected, and why */
    const char *event_type;       /* decoded */
    size_t      event_type_len;
    const char *event_id;
    size_t      event_id_len;
    int64_t     ts_us;
    uint64_t    tables;           /* bit i: goes to table i */
    ql_field_t *fields;           /* other keys, in input order after munging */
    size_t      n_fields;
    size_t      fields_cap;
    ql_buf_t    scratch;          /* decoded strings */
    char        id_buf[QL_UUID_LEN];
    char        errbuf[160];
} ql_event_t;

/* Transforms one record. Returns 0 (routed: ev->tables) or 1 (rejected:
 * ev->reject says why; ev->tables is 0). now_us is the time used for a
 * missing/invalid timestamp and a made-up event_id. Never fails otherwise. */
int  ql_transform_event(const ql_transform_t *t, ql_event_t *ev, const char *json, size_t len, int64_t now_us);
/* Frees what ev holds (its fields and scratch); ev may be reused after. */
void ql_event_free(ql_event_t *ev);

/* Writes the UTC date "YYYY-MM-DD" of us into out (11 bytes), reusing
 * *day_cache (days since epoch; start with INT64_MIN) to skip the work when
 * the day did not change. */
void ql_transform_date(int64_t us, int64_t *day_cache, char out[11]);

#endif
