/*
 * metrics.c — sharded counters and their Prometheus / JSON read-outs (see
 * metrics.h). Invariant: a shard is written by exactly one thread (its event
 * loop) with relaxed atomic stores; any thread may read it with relaxed loads.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ADD(p, v) STORE((p), LOAD(p) + (v))  /* single writer per shard */

static const int statuses[] = {200, 400, 401, 404, 405, 413, 431, 500, 503};
#define N_STATUS (QL_ARRAY_LEN(statuses) + 1)  /* + "other" */
static const char *const builtin_routes[] = {"/events", "/healthz", "/metrics", "/stats", "other"};
#define N_MINUTES 60
#define MAX_HOOKS 8

typedef struct minute {
    int64_t   minute;   /* minutes since the epoch this slot holds, -1 none */
    uint64_t *counts;   /* per event type */
} minute_t;

typedef struct shard {
    uint64_t *req;      /* [route][status] */
    uint64_t *events;   /* per event type */
    minute_t  ring[N_MINUTES];
    char      pad[64];  /* keep shards' hot words off each other's cache lines */
} shard_t;

struct ql_metrics {
    const ql_catalog_t *cat;
    char              **routes;   /* labels */
    size_t              n_routes, n_types;
    int                 nshards;
    shard_t            *shards;
    pthread_mutex_t     hook_lock;
    struct { ql_metrics_hook_fn fn; void *arg; } hooks[MAX_HOOKS];
    int                 n_hooks;
};

ql_metrics_t *ql_metrics_new(const ql_catalog_t *cat, int nshards)
{
    ql_metrics_t *m = ql_calloc(1, sizeof *m);
    m->cat = cat;
    m->n_types = cat->n_events;
    for (size_t i = 0; i < cat->n_events; i++)
        for (size_t j = 0; j < cat->events[i].n_routes; j++) {
            const char *p = cat->events[i].routes[j].path;
            int seen = 0;
            for (size_t k = 0; k < m->n_routes; k++) seen |= !strcmp(m->routes[k], p);
            if (seen) continue;
            m->routes = ql_realloc(m->routes, (m->n_routes + 1) * sizeof *m->routes);
            m->routes[m->n_routes++] = ql_strdup(p);
        }
    for (size_t i = 0; i < QL_ARRAY_LEN(builtin_routes); i++) {
        m->routes = ql_realloc(m->routes, (m->n_routes + 1) * sizeof *m->routes);
        m->routes[m->n_routes++] = ql_strdup(builtin_routes[i]);
    }
    m->nshards = nshards;
    m->shards = ql_calloc((size_t)nshards, sizeof *m->shards);
    for (int s = 0; s < nshards; s++) {
        shard_t *sh = &m->shards[s];
        sh->req = ql_calloc(m->n_routes * N_STATUS, sizeof *sh->req);
        sh->events = ql_calloc(m->n_types + 1, sizeof *sh->events);
        for (int i = 0; i < N_MINUTES; i++) {
            sh->ring[i].minute = -1;
            sh->ring[i].counts = ql_calloc(m->n_types + 1, sizeof *sh->ring[i].counts);
        }
    }
    pthread_mutex_init(&m->hook_lock, NULL);
    return m;
}

void ql_metrics_free(ql_metrics_t *m)
{
    if (!m) return;
    for (int s = 0; s < m->nshards; s++) {
        free(m->shards[s].req);
        free(m->shards[s].events);
        for (int i = 0; i < N_MINUTES; i++) free(m->shards[s].ring[i].counts);
    }
    free(m->shards);
    for (size_t i = 0; i < m->n_routes; i++) free(m->routes[i]);
    free(m->routes);
    pthread_mutex_destroy(&m->hook_lock);
    free(m);
}

int ql_metrics_route_id(const ql_metrics_t *m, const char *path, size_t len)
{
    for (size_t i = 0; i + 1 < m->n_routes; i++)
        if (strlen(m->routes[i]) == len && !memcmp(m->routes[i], path, len)) return (int)i;
    return m->n_routes ? (int)m->n_routes - 1 : 0;
}

void ql_metrics_count_request(ql_metrics_t *m, int shard, int route_id, int status)
{
    size_t si = N_STATUS - 1;
    for (size_t i = 0; i < QL_ARRAY_LEN(statuses); i++)
        if (statuses[i] == status) si = i;
    if (route_id < 0 || (size_t)route_id >= m->n_routes) route_id = (int)m->n_routes - 1;
    ADD(&m->shards[shard].req[(size_t)route_id * N_STATUS + si], 1);
}

void ql_metrics_count_events(ql_metrics_t *m, int shard, size_t type, uint64_t n, int64_t now_us)
{
    shard_t *sh = &m->shards[shard];
    if (type >= m->n_types) return;
    ADD(&sh->events[type], n);
    int64_t minute = now_us / 60000000;
    minute_t *slot = &sh->ring[minute % N_MINUTES];
    if (LOAD(&slot->minute) != minute) {
        /* A new minute takes over the slot: readers may briefly see it half
         * cleared, which only under-counts a minute that is an hour old. */
        STORE(&slot->minute, -1);
        for (size_t t = 0; t < m->n_types; t++) STORE(&slot->counts[t], 0);
        STORE(&slot->minute, minute);
    }
    ADD(&slot->counts[type], n);
}

int ql_metrics_add_hook(ql_metrics_t *m, ql_metrics_hook_fn fn, void *arg)
{
    int rc = -1;
    pthread_mutex_lock(&m->hook_lock);
    if (m->n_hooks < MAX_HOOKS) {
        m->hooks[m->n_hooks].fn = fn;
        m->hooks[m->n_hooks].arg = arg;
        m->n_hooks++;
        rc = 0;
    }
    pthread_mutex_unlock(&m->hook_lock);
    return rc;
}

/* Label values here are paths and event type names from the catalog, which
 * hold no '"', '\\' or newline (catalog.c checks both). */
void ql_metrics_render_prometheus(ql_metrics_t *m, ql_log_t *log, ql_buf_t *out)
{
    ql_buf_puts(out, "# HELP questlog_http_requests_total HTTP requests answered by the collector, by route and status.\n"
                     "# TYPE questlog_http_requests_total counter\n");
    for (size_t r = 0; r < m->n_routes; r++)
        for (size_t si = 0; si < N_STATUS; si++) {
            uint64_t n = 0;
            for (int s = 0; s < m->nshards; s++) n += LOAD(&m->shards[s].req[r * N_STATUS + si]);
            if (!n) continue;
            if (si < QL_ARRAY_LEN(statuses))
                ql_buf_printf(out, "questlog_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", m->routes[r],
                              statuses[si], (unsigned long long)n);
            else
                ql_buf_printf(out, "questlog_http_requests_total{route=\"%s\",status=\"other\"} %llu\n", m->routes[r],
                              (unsigned long long)n);
        }
    ql_buf_puts(out, "# HELP questlog_events_total Events acknowledged as durable, by event type.\n"
                     "# TYPE questlog_events_total counter\n");
    for (size_t t = 0; t < m->n_types; t++) {
        uint64_t n = 0;
        for (int s = 0; s < m->nshards; s++) n += LOAD(&m->shards[s].events[t]);
        ql_buf_printf(out, "questlog_events_total{event_type=\"%s\"} %llu\n", m->cat->events[t].name,
                      (unsigned long long)n);
    }
    if (log) {
        ql_log_stats_t st;
        memset(&st, 0, sizeof st);
        ql_log_stats(log, &st);
        static const struct { const char *name, *type, *help; size_t off; } simple[] = {
            {"questlog_log_appends_total", "counter", "Appends made durable.", offsetof(ql_log_stats_t, appends)},
            {"questlog_log_records_total", "counter", "Records made durable.", offsetof(ql_log_stats_t, records)},
            {"questlog_log_bytes_total", "counter", "Bytes made durable.", offsetof(ql_log_stats_t, bytes)},
            {"questlog_log_failures_total", "counter", "Appends that failed (answered 503).", offsetof(ql_log_stats_t, failures)},
            {"questlog_log_commits_total", "counter", "Commits (fsyncs, or Kafka delivery reports).", offsetof(ql_log_stats_t, commits)},
            {"questlog_log_queued", "gauge", "Messages accepted by the log, not yet durable.", offsetof(ql_log_stats_t, queued)},
        };
        for (size_t i = 0; i < QL_ARRAY_LEN(simple); i++)
            ql_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", simple[i].name, simple[i].help, simple[i].name,
                          simple[i].type, simple[i].name,
                          (unsigned long long)*(const uint64_t *)((const char *)&st + simple[i].off));
        if (st.end_offset >= 0)
            ql_buf_printf(out, "# HELP questlog_log_end_offset Next offset the log will write.\n"
                               "# TYPE questlog_log_end_offset gauge\nquestlog_log_end_offset %lld\n",
                          (long long)st.end_offset);
        ql_buf_puts(out, "# HELP questlog_log_commit_seconds Time from append to durable (fsync or delivery).\n"
                         "# TYPE questlog_log_commit_seconds histogram\n");
        uint64_t cum = 0;
        for (int b = 0; b < QL_LOG_LAT_BUCKETS; b++) {
            cum += st.commit_lat_count[b];
            if (b < QL_LOG_LAT_BUCKETS - 1)
                ql_buf_printf(out, "questlog_log_commit_seconds_bucket{le=\"%g\"} %llu\n",
                              (double)ql_log_lat_bounds_us[b] / 1e6, (unsigned long long)cum);
            else
                ql_buf_printf(out, "questlog_log_commit_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        ql_buf_printf(out, "questlog_log_commit_seconds_sum %.6f\nquestlog_log_commit_seconds_count %llu\n",
                      (double)st.commit_lat_sum_us / 1e6, (unsigned long long)cum);
    }
    pthread_mutex_lock(&m->hook_lock);
    for (int i = 0; i < m->n_hooks; i++) m->hooks[i].fn(m->hooks[i].arg, out);
    pthread_mutex_unlock(&m->hook_lock);
}

void ql_metrics_render_stats(ql_metrics_t *m, int64_t now_us, ql_buf_t *out)
{
    int64_t now_min = now_us / 60000000;
    uint64_t *tot = ql_calloc(m->n_types + 1, sizeof *tot), *hour = ql_calloc(m->n_types + 1, sizeof *hour);
    uint64_t *per = ql_calloc((m->n_types + 1) * N_MINUTES, sizeof *per);  /* [age][type], age 0 = now */
    for (int s = 0; s < m->nshards; s++) {
        shard_t *sh = &m->shards[s];
        for (size_t t = 0; t < m->n_types; t++) tot[t] += LOAD(&sh->events[t]);
        for (int i = 0; i < N_MINUTES; i++) {
            int64_t mm = LOAD(&sh->ring[i].minute);
            if (mm < 0 || mm > now_min || now_min - mm >= N_MINUTES) continue;
            for (size_t t = 0; t < m->n_types; t++)
                per[(size_t)(now_min - mm) * (m->n_types + 1) + t] += LOAD(&sh->ring[i].counts[t]);
        }
    }
    uint64_t total = 0, total_hour = 0;
    for (size_t t = 0; t < m->n_types; t++) {
        total += tot[t];
        for (int a = 0; a < N_MINUTES; a++) hour[t] += per[(size_t)a * (m->n_types + 1) + t];
        total_hour += hour[t];
    }
    char ts[QL_RFC3339_LEN];
    ql_rfc3339_format(now_us, ts);
    ql_buf_printf(out, "{\"now\":\"%s\",\"total\":%llu,\"last_hour\":%llu,\"event_types\":{", ts,
                  (unsigned long long)total, (unsigned long long)total_hour);
    for (size_t t = 0; t < m->n_types; t++) {
        if (t) ql_buf_putc(out, ',');
        ql_json_write_string(out, m->cat->events[t].name, strlen(m->cat->events[t].name));
        ql_buf_printf(out, ":{\"total\":%llu,\"last_hour\":%llu}", (unsigned long long)tot[t],
                      (unsigned long long)hour[t]);
    }
    ql_buf_puts(out, "},\"per_minute\":[");
    for (int a = N_MINUTES - 1; a >= 0; a--) {  /* oldest first */
        char mts[QL_RFC3339_LEN];
        ql_rfc3339_format((now_min - a) * 60000000, mts);
        uint64_t sum = 0;
        for (size_t t = 0; t < m->n_types; t++) sum += per[(size_t)a * (m->n_types + 1) + t];
        ql_buf_printf(out, "%s{\"minute\":\"%.16s:00Z\",\"total\":%llu,\"event_types\":{", a == N_MINUTES - 1 ? "" : ",",
                      mts, (unsigned long long)sum);
        int first = 1;
        for (size_t t = 0; t < m->n_types; t++) {
            uint64_t n = per[(size_t)a * (m->n_types + 1) + t];
            if (!n) continue;
            if (!first) ql_buf_putc(out, ',');
            first = 0;
            ql_json_write_string(out, m->cat->events[t].name, strlen(m->cat->events[t].name));
            ql_buf_printf(out, ":%llu", (unsigned long long)n);
        }
        ql_buf_puts(out, "}}");
    }
    ql_buf_puts(out, "]}");
    free(tot);
    free(hour);
    free(per);
}
