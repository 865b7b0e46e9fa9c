/*
 * catalog.h — the event catalog and collector settings, read from the config
 * ([server] and [event NAME] sections, see etc/questlog.conf): which routes
 * produce which event type, each type's typed parameters and response text,
 * the header deny-list, API keys, body/header limits.
 *
 * Loaded once at start; read-only afterwards, so any thread may read it.
 */
#ifndef QL_CATALOG_H
#define QL_CATALOG_H

#include <stddef.h>

#include "config.h"

typedef enum ql_field_type {
    QL_FIELD_STRING = 0,
    QL_FIELD_INT,     /* int64 */
    QL_FIELD_FLOAT,   /* double */
    QL_FIELD_BOOL,
} ql_field_type_t;

typedef struct ql_catalog_param {
    char           *name;
    ql_field_type_t type;
} ql_catalog_param_t;

typedef struct ql_catalog_route {
    char *method;   /* "GET" */
    char *path;     /* "/purchase_a_sword" */
} ql_catalog_route_t;

typedef struct ql_catalog_event {
    char               *name;          /* "purchase_sword" */
    char               *response;      /* "Sword Purchased!\n" */
    ql_catalog_route_t *routes;
    size_t              n_routes;
    ql_catalog_param_t *params;
    size_t              n_params;
} ql_catalog_event_t;

typedef struct ql_catalog {
    ql_catalog_event_t *events;
    size_t              n_events;
    char              **deny_headers;  /* canonical Title-Case */
    size_t              n_deny_headers;
    char              **api_keys;      /* empty = no key required */
    size_t              n_api_keys;
    size_t              max_body;      /* bytes */
    size_t              max_headers;   /* bytes */
    char               *listen;        /* "127.0.0.1:5000" */
    int                 threads;       /* event loops; 0 = one per core */
} ql_catalog_t;

/* Names no header, query parameter or body field may take (compared
 * case-insensitively, since SQL column names are case-insensitive). */
#define QL_RESERVED_EVENT_TYPE "event_type"
#define QL_RESERVED_EVENT_ID   "event_id"
#define QL_RESERVED_TIMESTAMP  "timestamp"
/* 1 if [name, name+len) is one of the reserved keys, ignoring case. */
int ql_catalog_is_reserved(const char *name, size_t len);

/* Builds the catalog from a parsed config: [server] and every [event NAME]
 * (other sections are left to their owners). Unknown keys in those sections,
 * bad types, a route claimed twice or clashing with the built-in routes
 * (/events, /healthz, /metrics, /stats) are errors naming the config line.
 * Caller frees with ql_catalog_free. */
int  ql_catalog_load(ql_catalog_t **out, const ql_config_t *cfg, char *err, size_t errlen);
void ql_catalog_free(ql_catalog_t *cat);

/* The event type named `name` (len bytes), or NULL. */
const ql_catalog_event_t *ql_catalog_event(const ql_catalog_t *cat, const char *name, size_t len);
/* The declared type of parameter `name` of event type `ev`, or NULL (untyped). */
const ql_catalog_param_t *ql_catalog_param(const ql_catalog_event_t *ev, const char *name, size_t len);
/* 1 if header `name` (any case) is on the deny-list (never recorded). */
int ql_catalog_header_denied(const ql_catalog_t *cat, const char *name, size_t len);
/* The event type a request (method, path without query) produces, or NULL.
 * *method_ok is set to 0 when the path exists but not for that method (405). */
const ql_catalog_event_t *ql_catalog_route(const ql_catalog_t *cat, const char *method, size_t mlen,
                                           const char *path, size_t plen, int *method_ok);
/* The lake column type of field `name` across the whole catalog: the declared
 * type if every event type declaring it agrees, else QL_FIELD_STRING. */
ql_field_type_t ql_catalog_column_type(const ql_catalog_t *cat, const char *name, size_t len);

#endif
