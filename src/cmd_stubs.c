/*
 * cmd_stubs.c — placeholders for commands and backends still being built: weak symbols
 * that a command's own cmd_*.c overrides. Deleted once every command exists.
 */
#include <stdio.h>

#include "cli.h"

#define STUB(fn, name)                                                        \
    __attribute__((weak)) int fn(int argc, char **argv)                       \
    {                                                                         \
        (void)argc; (void)argv;                                               \
        fprintf(stderr, "questlog %s: not built yet\n", name);                \
        return 2;                                                             \
    }

STUB(ql_cmd_up, "up")
STUB(ql_cmd_serve, "serve")
STUB(ql_cmd_load, "load")
STUB(ql_cmd_cat, "cat")
STUB(ql_cmd_import, "import")
STUB(ql_cmd_query, "query")
STUB(ql_cmd_tables, "tables")
STUB(ql_cmd_describe, "describe")
STUB(ql_cmd_report, "report")
STUB(ql_cmd_simulate, "simulate")
STUB(ql_cmd_compact, "compact")
STUB(ql_cmd_inspect, "inspect")

/* The Kafka backend (log_kafka.c) overrides these. */
#include "log.h"
#include "util.h"

__attribute__((weak)) int ql_log_open_kafka(ql_log_t **out, const char *brokers, const char *topic,
                                            const char *const *conf, int timeout_ms, char *err, size_t errlen)
{
    (void)out; (void)brokers; (void)topic; (void)conf; (void)timeout_ms;
    return ql_err(err, errlen, "the Kafka backend is not built yet");
}

__attribute__((weak)) int ql_consumer_open_kafka(ql_consumer_t **out, const char *brokers, const char *topic,
                                                 const char *group, const char *const *conf,
                                                 const ql_consumer_callbacks_t *cb, char *err, size_t errlen)
{
    (void)out; (void)brokers; (void)topic; (void)group; (void)conf; (void)cb;
    return ql_err(err, errlen, "the Kafka backend is not built yet");
}
