/*
 * collector.c — the collector's start/stop API (collector.h). Placeholder
 * until the h2o server lands: start fails with a clear message.
 */
#include "collector.h"

int ql_collector_start(ql_collector_t **out, const ql_collector_options_t *o, char *err, size_t errlen)
{
    (void)out; (void)o;
    return ql_err(err, errlen, "the collector is not built yet");
}

const char *ql_collector_address(const ql_collector_t *c) { (void)c; return ""; }
void ql_collector_stop(ql_collector_t *c) { (void)c; }
int ql_collector_add_metrics(ql_collector_t *c, ql_metrics_fn fn, void *arg)
{
    (void)c; (void)fn; (void)arg;
    return -1;
}
