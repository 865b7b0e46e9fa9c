/*
 * test_metrics.c — the collector's counters (src/metrics.c): shards add up,
 * route ids, the Prometheus text (requests, events, a log's stats histogram,
 * hooks), and /stats' per-minute ring (the last 60 minutes, older minutes
 * dropped, a slot reused by a new minute starts from zero).
 */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "json.h"
#include "metrics.h"
#include "tap.h"

/* A log whose stats are fixed, to check how they are rendered. */
static void fake_stats(ql_log_t *log, ql_log_stats_t *o)
{
    (void)log;
    memset(o, 0, sizeof *o);
    o->appends = 3;
    o->records = 7;
    o->bytes = 700;
    o->commits = 2;
    o->commit_lat_count[0] = 1;   /* <= 100 µs */
    o->commit_lat_count[3] = 1;   /* <= 1 ms */
    o->commit_lat_sum_us = 900;
    o->end_offset = 7;
}
static const ql_log_ops_t fake_ops = {NULL, fake_stats, NULL};

static void hook(void *arg, ql_buf_t *out)
{
    ql_buf_printf(out, "questlog_test_hook %d\n", *(int *)arg);
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0')) return 1;
    return 0;
}

int main(void)
{
    ql_config_t *cfg;
    ql_catalog_t *cat;
    char err[256];
    if (ql_config_load(&cfg, NULL, err, sizeof err) || ql_catalog_load(&cat, cfg, err, sizeof err))
        tap_bail("%s", err);
    ql_metrics_t *m = ql_metrics_new(cat, 2);
    int r_buy = ql_metrics_route_id(m, "/buy_a_sword", 12);
    int r_events = ql_metrics_route_id(m, "/events", 7);
    int r_other = ql_metrics_route_id(m, "/nope", 5);
    ok(r_buy != r_events && r_events != r_other && r_buy != r_other, "distinct route ids");
    is_int(ql_metrics_route_id(m, "/x", 2), r_other, "unknown paths share 'other'");

    ql_metrics_count_request(m, 0, r_buy, 200);
    ql_metrics_count_request(m, 1, r_buy, 200);
    ql_metrics_count_request(m, 1, r_events, 400);
    ql_metrics_count_request(m, 0, r_other, 404);
    ql_metrics_count_request(m, 0, r_other, 418);

    int64_t now = 1763757785000000;  /* 2025-11-21T20:43:05Z */
    size_t ps = (size_t)(ql_catalog_event(cat, "purchase_sword", 14) - cat->events);
    size_t jg = (size_t)(ql_catalog_event(cat, "join_guild", 10) - cat->events);
    ql_metrics_count_events(m, 0, ps, 2, now - 61 * 60000000LL);  /* older than an hour */
    ql_metrics_count_events(m, 0, ps, 3, now - 5 * 60000000LL);
    ql_metrics_count_events(m, 1, ps, 4, now);
    ql_metrics_count_events(m, 0, jg, 1, now);

    ql_log_t fake = {&fake_ops};
    int arg = 42;
    ok(ql_metrics_add_hook(m, hook, &arg) == 0, "hook added");
    ql_buf_t out = QL_BUF_INIT;
    ql_metrics_render_prometheus(m, &fake, &out);
    ok(has_line(out.data, "questlog_http_requests_total{route=\"/buy_a_sword\",status=\"200\"} 2"), "requests summed over shards");
    ok(has_line(out.data, "questlog_http_requests_total{route=\"/events\",status=\"400\"} 1"), "400 by route");
    ok(has_line(out.data, "questlog_http_requests_total{route=\"other\",status=\"404\"} 1"), "404 as route other");
    ok(has_line(out.data, "questlog_http_requests_total{route=\"other\",status=\"other\"} 1"), "unusual status as other");
    ok(!strstr(out.data, "route=\"/join_guild\""), "zero series left out");
    ok(has_line(out.data, "questlog_events_total{event_type=\"purchase_sword\"} 9"), "events by type");
    ok(has_line(out.data, "questlog_events_total{event_type=\"default\"} 0"), "every type listed");
    ok(has_line(out.data, "questlog_log_records_total 7") && has_line(out.data, "questlog_log_bytes_total 700"),
       "log records and bytes");
    ok(has_line(out.data, "questlog_log_end_offset 7"), "log end offset");
    ok(has_line(out.data, "questlog_log_commit_seconds_bucket{le=\"0.0001\"} 1"), "first bucket");
    ok(has_line(out.data, "questlog_log_commit_seconds_bucket{le=\"0.001\"} 2"), "buckets are cumulative");
    ok(has_line(out.data, "questlog_log_commit_seconds_bucket{le=\"+Inf\"} 2"), "+Inf bucket");
    ok(has_line(out.data, "questlog_log_commit_seconds_sum 0.000900"), "histogram sum in seconds");
    ok(has_line(out.data, "questlog_log_commit_seconds_count 2"), "histogram count");
    ok(has_line(out.data, "# TYPE questlog_log_commit_seconds histogram"), "histogram TYPE line");
    ok(has_line(out.data, "questlog_test_hook 42"), "hook lines appended");
    ok(out.len && out.data[out.len - 1] == '\n', "ends with a newline");

    ql_buf_reset(&out);
    ql_metrics_render_stats(m, now, &out);
    ok(ql_json_validate_object(out.data, out.len, err, sizeof err) == 0, "/stats is one JSON object (%s)", out.data);
    ok(strstr(out.data, "\"total\":10,\"last_hour\":8") != NULL, "total 10 since start, 8 in the last hour");
    ok(strstr(out.data, "\"purchase_sword\":{\"total\":9,\"last_hour\":7}") != NULL, "per type");
    ok(strstr(out.data, "{\"minute\":\"2025-11-21T20:43:00Z\",\"total\":5,\"event_types\":{\"purchase_sword\":4,\"join_guild\":1}}]") != NULL,
       "current minute last, both shards summed");
    ok(strstr(out.data, "{\"minute\":\"2025-11-21T20:38:00Z\",\"total\":3,") != NULL, "five minutes ago");
    ok(strstr(out.data, "\"per_minute\":[{\"minute\":\"2025-11-21T19:44:00Z\"") != NULL, "oldest of 60 minutes first");
    int entries = 0;
    for (const char *p = out.data; (p = strstr(p, "\"minute\"")); p++) entries++;
    is_int(entries, 60, "60 minutes");

    /* An hour later the 20:43 slot is reused: it starts from zero. */
    ql_metrics_count_events(m, 1, jg, 1, now + 60 * 60000000LL);
    ql_buf_reset(&out);
    ql_metrics_render_stats(m, now + 60 * 60000000LL, &out);
    ok(strstr(out.data, "{\"minute\":\"2025-11-21T21:43:00Z\",\"total\":1,\"event_types\":{\"join_guild\":1}}]") != NULL,
       "a reused slot counts only its new minute");
    ok(strstr(out.data, "\"last_hour\":1,\"event_types\"") != NULL, "the old hour is gone from last_hour");

    ql_buf_free(&out);
    ql_metrics_free(m);
    ql_catalog_free(cat);
    ql_config_free(cfg);
    return tap_done();
}
