/*
 * collector.h — the HTTP collector as a component: start it on a catalog and
 * an open log, stop it (drain + join). `questlog serve` runs it alone; `up`
 * runs it in the same process as the streaming loader.
 *
 * What it serves (see docs/collector.md): the catalog's routes (one event per
 * request), POST /events (one JSON object or NDJSON, all-or-nothing),
 * GET /healthz, GET /metrics (Prometheus text), GET /stats (live counts).
 * A 200 on an ingest request is sent only after the log's `done` said the
 * request's events are durable; if the log refuses or fails, the answer is
 * 503 and nothing of the request is in the log.
 *
 * Threads: the collector runs `nthreads` h2o event loops, each on its own
 * thread with its own SO_REUSEPORT listening socket. Its threads are created
 * with every signal blocked, so SIGINT/SIGTERM reach the caller's threads;
 * the caller decides when to call ql_collector_stop (serve: on a signal).
 */
#ifndef QL_COLLECTOR_H
#define QL_COLLECTOR_H

#include <stddef.h>

#include "catalog.h"
#include "log.h"
#include "util.h"

typedef struct ql_collector ql_collector_t;

typedef struct ql_collector_options {
    const ql_catalog_t *catalog;  /* borrowed; must outlive the collector */
    ql_log_t           *log;      /* borrowed; close it only after ql_collector_stop */
    const char         *listen;   /* "HOST:PORT" (PORT 0 = any free port); NULL = catalog->listen */
    int                 nthreads; /* event loops; 0 = catalog->threads, which 0 means one per core */
    int                 quiet;    /* no notes on stderr */
} ql_collector_options_t;

/* Binds the listening sockets and starts the event-loop threads. On success
 * *out is the running collector (free it with ql_collector_stop) and requests
 * are being served. On failure nothing is left running and -1 is returned
 * with a message in err (e.g. "127.0.0.1:5000: Address already in use").
 * Thread: any (not a collector thread). */
int ql_collector_start(ql_collector_t **out, const ql_collector_options_t *o, char *err, size_t errlen);

/* The address actually listened on, "HOST:PORT" (the real port when 0 was
 * asked). Valid until ql_collector_stop. Thread: any. */
const char *ql_collector_address(const ql_collector_t *c);

/* Graceful stop: closes the listening sockets (no new connections), asks
 * idle keep-alive connections to close, waits until every request handed to
 * the log has been answered (its `done` came and the 200/503 was sent),
 * then joins the threads and frees everything. Requests still being read
 * are given up to ~2 s. After it returns the log has no append from the
 * collector outstanding, so the caller can ql_log_close() it.
 * Thread: any except a collector thread. c may be NULL. */
void ql_collector_stop(ql_collector_t *c);

/* Extra /metrics lines: `fn` is called on every GET /metrics, on one of the
 * collector's loop threads (possibly two at once from two loops), and appends
 * complete Prometheus text lines ("# TYPE …\nname{…} value\n") to `out`.
 * It must be thread-safe and fast (no blocking I/O). `arg` is passed through
 * and must stay valid until ql_collector_stop. At most 8 hooks.
 * Returns 0, or -1 when the table is full. Thread: any. */
typedef void (*ql_metrics_fn)(void *arg, ql_buf_t *out);
int ql_collector_add_metrics(ql_collector_t *c, ql_metrics_fn fn, void *arg);

#endif
