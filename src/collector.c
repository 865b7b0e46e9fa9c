/*
 * collector.c — the collector as a component (collector.h): the counters
 * (metrics.c) plus the h2o server (http.c), started and stopped together.
 */
#include "collector.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "http.h"
#include "metrics.h"

struct ql_collector {
    ql_metrics_t *metrics;
    ql_http_t    *http;
};

int ql_collector_start(ql_collector_t **out, const ql_collector_options_t *o, char *err, size_t errlen)
{
    if (!o || !o->catalog || !o->log) return ql_err(err, errlen, "collector: catalog and log are required");
    int n = o->nthreads > 0 ? o->nthreads : o->catalog->threads;
    if (n <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (int)(cores > 64 ? 64 : cores) : 1;
    }
    ql_collector_t *c = ql_calloc(1, sizeof *c);
    c->metrics = ql_metrics_new(o->catalog, n);
    ql_http_options_t ho = {o->catalog, o->log, c->metrics, o->listen ? o->listen : o->catalog->listen, n};
    if (ql_http_start(&c->http, &ho, err, errlen)) {
        ql_metrics_free(c->metrics);
        free(c);
        return -1;
    }
    if (!o->quiet) fprintf(stderr, "questlog: collector listening on http://%s/ (%d event loops)\n", ql_http_address(c->http), n);
    *out = c;
    return 0;
}

const char *ql_collector_address(const ql_collector_t *c)
{
    return ql_http_address(c->http);
}

void ql_collector_stop(ql_collector_t *c)
{
    if (!c) return;
    ql_http_stop(c->http);
    ql_metrics_free(c->metrics);
    free(c);
}

int ql_collector_add_metrics(ql_collector_t *c, ql_metrics_fn fn, void *arg)
{
    return ql_metrics_add_hook(c->metrics, fn, arg);
}
