/*
 * cli.c — parsing of the flags every command shares (see cli.h).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

const char ql_cli_common_help[] =
    "Common options:\n"
    "  --data DIR        data directory (default ./questlog-data): log in DIR/log, lake in DIR/lake\n"
    "  --lake DIR        lake directory (default DATA/lake)\n"
    "  --config FILE     config file (default: the built-in etc/questlog.conf)\n"
    "  --listen HOST:PORT  HTTP address (default 127.0.0.1:5000)\n"
    "  --kafka BROKERS   use Kafka (host:port,…) instead of the embedded log\n"
    "  --topic NAME      Kafka topic (default events)\n"
    "  --group NAME      Kafka consumer group (default questlog-loader)\n"
    "  -X key=value      librdkafka setting, repeatable (e.g. -X security.protocol=SASL_SSL)\n"
    "  -h, --help        this help\n";

void ql_cli_defaults(ql_common_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->data_dir = "./questlog-data";
    o->topic = "events";
    o->group = "questlog-loader";
}

int ql_cli_common(ql_common_opts_t *o, int opt, const char *arg, const char *cmd)
{
    switch (opt) {
    case QL_OPT_DATA: o->data_dir = arg; return 1;
    case QL_OPT_LAKE: o->lake_dir = arg; return 1;
    case QL_OPT_CONFIG: o->config_path = arg; return 1;
    case QL_OPT_LISTEN: o->listen = arg; return 1;
    case QL_OPT_KAFKA: o->kafka = arg; return 1;
    case QL_OPT_TOPIC: o->topic = arg; return 1;
    case QL_OPT_GROUP: o->group = arg; return 1;
    case 'h': o->help = 1; return 1;
    case 'X':
        if (!strchr(arg, '=')) {
            fprintf(stderr, "questlog %s: -X wants key=value, got '%s'\n", cmd, arg);
            return -1;
        }
        if (o->n_kafka_conf >= QL_MAX_KAFKA_CONF) {
            fprintf(stderr, "questlog %s: too many -X settings (max %d)\n", cmd, QL_MAX_KAFKA_CONF);
            return -1;
        }
        o->kafka_conf[o->n_kafka_conf++] = arg;
        o->kafka_conf[o->n_kafka_conf] = NULL;
        return 1;
    default: return 0;
    }
}

void ql_cli_finish(ql_common_opts_t *o)
{
    if (!o->lake_dir) {
        snprintf(o->lake_buf, sizeof o->lake_buf, "%s/lake", o->data_dir);
        o->lake_dir = o->lake_buf;
    }
    snprintf(o->log_buf, sizeof o->log_buf, "%s/log", o->data_dir);
    o->log_dir = o->log_buf;
}

int ql_cli_duration(const char *cmd, const char *flag, const char *arg, int64_t min_ms, int64_t *ms)
{
    int64_t v;
    if (ql_parse_duration_ms(arg, &v) || v < min_ms) {
        fprintf(stderr, "questlog %s: bad --%s '%s'\n", cmd, flag, arg);
        return -1;
    }
    *ms = v;
    return 0;
}

int ql_cli_end_no_operands(ql_common_opts_t *o, const char *cmd, const char *usage, int argc, char **argv)
{
    if (o->help) {
        printf("%s\n%s", usage, ql_cli_common_help);
        return 0;
    }
    if (optind < argc) {
        fprintf(stderr, "questlog %s: unexpected argument '%s'\n", cmd, argv[optind]);
        return 2;
    }
    ql_cli_finish(o);
    return -1;
}
