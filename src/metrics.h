/*
 * metrics.h — the collector's counters and the two read-out formats built on
 * them: GET /metrics (Prometheus text) and GET /stats (JSON, the speed layer:
 * events per type since start and per minute for the last 60 minutes).
 *
 * Counters are sharded: each event loop writes only its own shard (no locks,
 * no atomic read-modify-write on the hot path); readers sum the shards with
 * relaxed atomic loads, so a read-out may be a few events behind but never
 * torn. Ingest counts are taken when the response is sent, so /stats counts
 * only events that got their 200 (durable ones).
 */
#ifndef QL_METRICS_H
#define QL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "log.h"
#include "util.h"

typedef struct ql_metrics ql_metrics_t;

/* Route ids (the `route` label): the catalog's distinct route paths first,
 * then these built-in paths, then "other" for everything unmatched. */
typedef void (*ql_metrics_hook_fn)(void *arg, ql_buf_t *out);

/* Counters for `nshards` writers over `cat` (borrowed). */
ql_metrics_t *ql_metrics_new(const ql_catalog_t *cat, int nshards);
void ql_metrics_free(ql_metrics_t *m);

/* The route id of a request path (never fails: unknown paths get "other"). */
int ql_metrics_route_id(const ql_metrics_t *m, const char *path, size_t len);

/* Counting, by the owner of `shard` only. */
void ql_metrics_count_request(ql_metrics_t *m, int shard, int route_id, int status);
/* n events of catalog type index `type` (ev - cat->events) made durable at now_us. */
void ql_metrics_count_events(ql_metrics_t *m, int shard, size_t type, uint64_t n, int64_t now_us);

/* Extra lines for /metrics (collector.h ql_collector_add_metrics). 0, or -1 when full. */
int ql_metrics_add_hook(ql_metrics_t *m, ql_metrics_hook_fn fn, void *arg);

/* Appends the Prometheus text exposition (requests, events, log stats from
 * `log` if not NULL, then the hooks' lines). Thread: any. */
void ql_metrics_render_prometheus(ql_metrics_t *m, ql_log_t *log, ql_buf_t *out);
/* Appends the /stats JSON object. Thread: any. */
void ql_metrics_render_stats(ql_metrics_t *m, int64_t now_us, ql_buf_t *out);

#endif
