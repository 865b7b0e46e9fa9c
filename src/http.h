/*
 * http.h — the collector's h2o server: event loops, routing, the ingest
 * path (event building → per-loop batch → one ql_log_append per batch →
 * responses from the log's done callback), built-in routes. Used through
 * collector.h; this header is internal to the collector (collector.c).
 *
 * Threads: one h2o event loop per thread, each with its own SO_REUSEPORT
 * listening socket; the log's done callback (a log thread) only posts a
 * message to the loop that owns the batch.
 */
#ifndef QL_HTTP_H
#define QL_HTTP_H

#include <stddef.h>

#include "catalog.h"
#include "log.h"
#include "metrics.h"

typedef struct ql_http ql_http_t;

typedef struct ql_http_options {
    const ql_catalog_t *cat;      /* borrowed */
    ql_log_t           *log;      /* borrowed */
    ql_metrics_t       *metrics;  /* borrowed; made with nthreads shards */
    const char         *listen;   /* "HOST:PORT" */
    int                 nthreads; /* >= 1 */
} ql_http_options_t;

/* Binds every loop's socket, then starts the loop threads (all signals
 * blocked in them). -1 with err on failure, nothing left running. */
int ql_http_start(ql_http_t **out, const ql_http_options_t *o, char *err, size_t errlen);
/* "HOST:PORT" actually bound. */
const char *ql_http_address(const ql_http_t *h);
/* Graceful stop (see ql_collector_stop), joins and frees. h may be NULL. */
void ql_http_stop(ql_http_t *h);

#endif
