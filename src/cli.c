/*
 * cli.c — parsing of the flags every command shares, and the start and end
 * of every command's option parsing (see cli.h).
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/* One help line per common flag; ql_cli_common_help is all of them, a
 * command's --help the lines of the flags in its table. */
#define H_DATA   "  --data DIR        data directory (default ./questlog-data): log in DIR/log, lake in DIR/lake\n"
#define H_LAKE   "  --lake DIR        lake directory (default DATA/lake)\n"
#define H_CONFIG "  --config FILE     config file (default: the built-in etc/questlog.conf)\n"
#define H_LISTEN "  --listen HOST:PORT  HTTP address (default: the config's [server] listen, 127.0.0.1:5000)\n"
#define H_KAFKA  "  --kafka BROKERS   use Kafka (host:port,…) instead of the embedded log\n"
#define H_TOPIC  "  --topic NAME      Kafka topic (default events)\n"
#define H_GROUP  "  --group NAME      Kafka consumer group (default questlog-loader)\n"
#define H_X      "  -X key=value      librdkafka setting, repeatable (e.g. -X security.protocol=SASL_SSL)\n"
#define H_HELP   "  -h, --help        this help\n"

const char ql_cli_common_help[] =
    "Common options:\n" H_DATA H_LAKE H_CONFIG H_LISTEN H_KAFKA H_TOPIC H_GROUP H_X H_HELP;

static const struct {
    int code;   /* the flag's option code ('X': shown with --kafka) */
    const char *line;
} common_help[] = {
    {QL_OPT_DATA, H_DATA},   {QL_OPT_LAKE, H_LAKE},   {QL_OPT_CONFIG, H_CONFIG},
    {QL_OPT_LISTEN, H_LISTEN}, {QL_OPT_KAFKA, H_KAFKA}, {QL_OPT_TOPIC, H_TOPIC},
    {QL_OPT_GROUP, H_GROUP}, {'X', H_X},              {'h', H_HELP},
};

/* Whether a command's option table has the option `code` (-X goes with --kafka). */
static int has_opt(const struct option *longopts, int code)
{
    if (code == 'X') code = QL_OPT_KAFKA;
    for (const struct option *l = longopts; l && l->name; l++)
        if (l->val == code && !l->flag) return 1;
    return 0;
}

/* "HOST:PORT" (HOST may be empty or [v6]) with PORT a number 0..65535. */
static int listen_ok(const char *arg)
{
    const char *colon = strrchr(arg, ':');
    if (!colon || !colon[1] || strlen(colon + 1) > 5) return 0;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return atoi(colon + 1) <= 65535;
}

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
    case QL_OPT_LISTEN:
        if (!listen_ok(arg)) {
            fprintf(stderr, "questlog %s: bad --listen '%s' (want HOST:PORT, PORT 0..65535)\n", cmd, arg);
            return -1;
        }
        o->listen = arg;
        return 1;
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

int ql_cli_size(const char *cmd, const char *flag, const char *arg, uint64_t *v)
{
    uint64_t n;
    if (ql_parse_size(arg, &n) || n == 0) {
        fprintf(stderr, "questlog %s: bad --%s '%s'\n", cmd, flag, arg);
        return -1;
    }
    *v = n;
    return 0;
}

int ql_cli_int(const char *cmd, const char *flag, const char *arg, long min, long max, long *v)
{
    char *end;
    errno = 0;
    long n = strtol(arg, &end, 10);
    if (errno || end == arg || *end || n < min || n > max) {
        fprintf(stderr, "questlog %s: --%s wants %ld..%ld, got '%s'\n", cmd, flag, min, max, arg);
        return -1;
    }
    *v = n;
    return 0;
}

int ql_cli_codec(const char *cmd, const char *arg, ql_pq_codec_t *codec)
{
    if (ql_pq_codec_parse(arg, codec)) {
        fprintf(stderr, "questlog %s: unknown codec '%s' (zstd, snappy or none)\n", cmd, arg);
        return -1;
    }
    return 0;
}

int ql_cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    char opts[128];
    /* leading ':' — a missing value is told apart from an unknown option */
    snprintf(opts, sizeof opts, ":%s", shortopts);
    int saved = opterr;
    opterr = 0;   /* our own messages, "questlog CMD: …" */
    int c = getopt_long(argc, argv, opts, longopts, NULL);
    opterr = saved;
    if (c == '?' || c == ':') {
        /* optopt: the short option, 0 for an unknown long one, the long
         * one's code when its value is missing */
        char shortname[3] = {'-', (char)optopt, 0};
        const char *last = optind > 0 && optind <= argc ? argv[optind - 1] : "";
        int is_long = optopt <= 0 || optopt > 255 || (c == ':' && !strncmp(last, "--", 2));
        const char *name = is_long ? last : shortname;
        /* an unknown "--x=v" is named without its value */
        int namelen = is_long && c == '?' && strchr(name, '=') ? (int)(strchr(name, '=') - name) : (int)strlen(name);
        fprintf(stderr, "questlog %s: %s '%.*s' (see questlog %s --help)\n", cmd,
                c == '?' ? "unknown option" : "missing value for", namelen, name, cmd);
        return '?';
    }
    return c;
}

int ql_cli_next(ql_common_opts_t *o, const char *cmd, int argc, char **argv, const char *shortopts,
                const struct option *longopts)
{
    char opts[128];
    /* -h always; -X only for a command that takes --kafka */
    snprintf(opts, sizeof opts, "%s%s", has_opt(longopts, 'X') ? QL_COMMON_SHORTOPTS : "h", shortopts);
    o->longopts = longopts;
    for (;;) {
        int c = ql_cli_getopt(cmd, argc, argv, opts, longopts);
        if (c == '?') return '?';
        if (c == -1) return -1;
        int r = ql_cli_common(o, c, optarg, cmd);
        if (r < 0) return '?';
        if (r == 0) return c;
    }
}

int ql_cli_end_operands(ql_common_opts_t *o, const char *cmd, const char *usage, int argc, int min_operands,
                        const char *missing)
{
    if (o->help) {
        printf("%s\n", usage);
        if (!o->longopts) {
            fputs(ql_cli_common_help, stdout);
            return 0;
        }
        printf("Common options:\n");
        for (size_t i = 0; i < QL_ARRAY_LEN(common_help); i++)
            if (common_help[i].code == 'h' || has_opt(o->longopts, common_help[i].code)) fputs(common_help[i].line, stdout);
        return 0;
    }
    if (argc - optind < min_operands) {
        fprintf(stderr, "questlog %s: %s (see questlog %s --help)\n", cmd, missing, cmd);
        return 2;
    }
    ql_cli_finish(o);
    return -1;
}

int ql_cli_end_no_operands(ql_common_opts_t *o, const char *cmd, const char *usage, int argc, char **argv)
{
    if (!o->help && optind < argc) {
        fprintf(stderr, "questlog %s: unexpected argument '%s'\n", cmd, argv[optind]);
        return 2;
    }
    return ql_cli_end_operands(o, cmd, usage, argc, 0, NULL);
}

const char *ql_cli_log_source(const ql_common_opts_t *o, char *buf, size_t len)
{
    if (o->kafka) snprintf(buf, len, "Kafka topic %s", o->topic);
    else snprintf(buf, len, "embedded log");
    return buf;
}

/* 0 when dir is a directory, else "questlog CMD: no WHAT at 'DIR' (HINT)" and -1. */
static int need_dir(const char *cmd, const char *what, const char *dir, const char *hint)
{
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    fprintf(stderr, "questlog %s: no %s at '%s' (%s)\n", cmd, what, dir, hint);
    return -1;
}

int ql_cli_need_log(const ql_common_opts_t *o, const char *cmd)
{
    return need_dir(cmd, "log", o->log_dir,
                    "pass the --data DIR that `questlog up` or `questlog serve` use, or start one of them first");
}

int ql_cli_need_lake(const ql_common_opts_t *o, const char *cmd)
{
    return need_dir(cmd, "lake", o->lake_dir,
                    "pass --lake DIR, or the --data DIR of `questlog up`/`load`; `questlog import` makes one");
}
