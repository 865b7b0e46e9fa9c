/*
 * cli.h — the command-line surface shared by every `questlog` command:
 * the command entry points (one per cmd_*.c file) and the common flags
 * (--data, --lake, --config, --listen, --kafka, --topic, -X, --help).
 *
 * Each command puts QL_COMMON_LONGOPTS in its option table and parses its
 * argv with ql_cli_next() (getopt_long that handles the common flags and
 * reports unknown options), then ends with ql_cli_end_no_operands() or
 * ql_cli_end_operands() (--help, operand count, ql_cli_finish). Commands
 * return the process exit status (0 ok, 1 runtime error, 2 usage error) and
 * print errors to stderr as "questlog CMD: message".
 */
#ifndef QL_CLI_H
#define QL_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "pq.h"

/* Option codes for long-only common flags (above any char). */
enum {
    QL_OPT_DATA = 1000, QL_OPT_LAKE, QL_OPT_CONFIG, QL_OPT_LISTEN, QL_OPT_KAFKA, QL_OPT_TOPIC,
    QL_OPT_GROUP,
    QL_OPT_FIRST_LOCAL = 1100  /* commands number their own long-only options from here */
};

/* The common flags one by one, for a command's option table: a command
 * lists only those it uses, so the others are refused as unknown options
 * and its --help shows only those (ql_cli_end_operands). */
#define QL_LONGOPT_DATA   {"data", required_argument, NULL, QL_OPT_DATA}
#define QL_LONGOPT_LAKE   {"lake", required_argument, NULL, QL_OPT_LAKE}
#define QL_LONGOPT_CONFIG {"config", required_argument, NULL, QL_OPT_CONFIG}
#define QL_LONGOPT_LISTEN {"listen", required_argument, NULL, QL_OPT_LISTEN}
#define QL_LONGOPT_KAFKA  {"kafka", required_argument, NULL, QL_OPT_KAFKA}   /* also enables -X */
#define QL_LONGOPT_TOPIC  {"topic", required_argument, NULL, QL_OPT_TOPIC}
#define QL_LONGOPT_GROUP  {"group", required_argument, NULL, QL_OPT_GROUP}
#define QL_LONGOPT_HELP   {"help", no_argument, NULL, 'h'}

/* All of them (a command that uses the log, the lake and the server). */
#define QL_COMMON_LONGOPTS                                                               \
    QL_LONGOPT_DATA, QL_LONGOPT_LAKE, QL_LONGOPT_CONFIG, QL_LONGOPT_LISTEN, QL_LONGOPT_KAFKA, \
    QL_LONGOPT_TOPIC, QL_LONGOPT_GROUP, QL_LONGOPT_HELP
/* A command that only reads the lake: --data, --lake, --help. */
#define QL_LAKE_LONGOPTS QL_LONGOPT_DATA, QL_LONGOPT_LAKE, QL_LONGOPT_HELP

/* Usage text of a flag several commands share word for word (load, up),
 * for their usage strings. */
#define QL_HELP_CLAIM_TIMEOUT                                                        \
    "  --claim-timeout DUR   give up after waiting this long for a partition's claim\n" \
    "                        held by another loader on the lake (a stopped one keeps\n" \
    "                        it): exit non-zero naming that process, with nothing of\n" \
    "                        the batch committed (e.g. 30, 30s, 5m; default 0 = wait\n" \
    "                        for ever; see docs/lake.md)\n"

/* Short options of the common flags: -h (help), and -X key=value
 * (librdkafka), which ql_cli_next accepts only when the command's table
 * has --kafka. */
#define QL_COMMON_SHORTOPTS "hX:"

#define QL_MAX_KAFKA_CONF 64

typedef struct ql_common_opts {
    const char *data_dir;      /* --data, default "./questlog-data" */
    const char *lake_dir;      /* --lake, default DATA/lake (filled by ql_cli_finish) */
    const char *log_dir;       /* DATA/log (filled by ql_cli_finish) */
    const char *config_path;   /* --config, NULL = built-in default */
    const char *listen;        /* --listen, NULL = config's [server] listen */
    const char *kafka;         /* --kafka BROKERS, NULL = embedded log */
    const char *topic;         /* --topic, default "events" */
    const char *group;         /* --group, default "questlog-loader" */
    const char *kafka_conf[QL_MAX_KAFKA_CONF + 1];  /* -X key=value …, NULL-terminated */
    size_t      n_kafka_conf;
    int         help;          /* -h/--help seen */
    const struct option *longopts; /* the command's table (ql_cli_next): its --help lists these common flags */
    char        lake_buf[4096], log_buf[4096];
} ql_common_opts_t;

/* Fills in the defaults (the struct is the caller's; nothing to free). */
void ql_cli_defaults(ql_common_opts_t *o);
/* Handles a common option; returns 1 if it was one, 0 if not, -1 on a bad
 * value (message printed: -X without '=', --listen not HOST:PORT with a
 * port 0..65535). ql_cli_next calls it; a command with its own
 * getopt loop may too. */
int  ql_cli_common(ql_common_opts_t *o, int opt, const char *arg, const char *cmd);
/* Derives lake_dir/log_dir from data_dir where not given (into o's buffers). */
void ql_cli_finish(ql_common_opts_t *o);
/* Parses the value of a duration flag ("500ms", "1s", "10m", …) into *ms,
 * which must be >= min_ms; otherwise prints "questlog CMD: bad --FLAG 'ARG'"
 * and returns -1 (a usage error). */
int  ql_cli_duration(const char *cmd, const char *flag, const char *arg, int64_t min_ms, int64_t *ms);
/* Parses the value of a count or size flag ("1000000", "64k", "1G"; see
 * ql_parse_size) into *v, which must not be 0; otherwise prints
 * "questlog CMD: bad --FLAG 'ARG'" and returns -1 (*v unchanged). */
int  ql_cli_size(const char *cmd, const char *flag, const char *arg, uint64_t *v);
/* Parses the value of an integer flag (decimal, nothing after it) into *v,
 * which must be in min..max; otherwise prints "questlog CMD: --FLAG wants
 * MIN..MAX, got 'ARG'" and returns -1 (*v unchanged). */
int  ql_cli_int(const char *cmd, const char *flag, const char *arg, long min, long max, long *v);
/* Parses the value of --codec (zstd, snappy or none; ql_pq_codec_parse)
 * into *codec; otherwise prints "questlog CMD: unknown codec 'ARG' (zstd,
 * snappy or none)" and returns -1 (*codec unchanged). */
int  ql_cli_codec(const char *cmd, const char *arg, ql_pq_codec_t *codec);

/* getopt_long for a command, with the common flags handled here: returns
 * the command's next own option (a char of `shortopts` or a code of
 * `longopts`), -1 after the last option (argv[optind] is then the first
 * operand), or '?' after printing "questlog CMD: unknown option '--x'",
 * "... missing value for '--x'" or a common flag's bad value — the command
 * then returns 2. `shortopts` lists only the command's own short options
 * (-h is added, and -X when `longopts` has --kafka); `longopts` lists the
 * common flags the command takes (QL_COMMON_LONGOPTS, QL_LAKE_LONGOPTS or
 * QL_LONGOPT_* one by one; at least QL_LONGOPT_HELP) and is remembered in
 * o->longopts for --help. Start a parse with optind = 1. Not thread-safe
 * (getopt's globals). */
int  ql_cli_next(ql_common_opts_t *o, const char *cmd, int argc, char **argv, const char *shortopts,
                 const struct option *longopts);

/* getopt_long with questlog's messages, for a command that parses its own
 * flags without ql_common_opts_t (simulate): returns getopt_long's value,
 * or '?' after printing the one line "questlog CMD: unknown option '--x'
 * (see questlog CMD --help)" (or "missing value for '--x'"). `shortopts`
 * is the whole set (nothing is added). Not thread-safe (getopt's globals). */
int  ql_cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts);

/* The end of option parsing (after ql_cli_next returned -1): after --help
 * prints `usage` and the help of the common flags in the command's table
 * (o->longopts) to stdout and returns 0; with
 * fewer than min_operands operands prints "questlog CMD: MISSING" (then a
 * pointer to --help) and returns 2; otherwise runs ql_cli_finish and returns
 * -1 (go on; the operands are argv[optind..argc-1]). */
int  ql_cli_end_operands(ql_common_opts_t *o, const char *cmd, const char *usage, int argc, int min_operands,
                         const char *missing);

/* The same for a command that takes no operands: a stray operand prints
 * "questlog CMD: unexpected argument 'X'" and returns 2. */
int  ql_cli_end_no_operands(ql_common_opts_t *o, const char *cmd, const char *usage, int argc, char **argv);

/* For a command that reads the embedded log: 0 when DATA/log exists, else
 * prints "questlog CMD: no log at 'DIR' (…what to do…)" and returns -1. */
int  ql_cli_need_log(const ql_common_opts_t *o, const char *cmd);
/* For a command that reads the lake: 0 when LAKE is a directory, else
 * prints "questlog CMD: no lake at 'DIR' (…what to do…)" and returns -1. */
int  ql_cli_need_lake(const ql_common_opts_t *o, const char *cmd);

/* The log the options select, as ql_lake_claim_source names it: "Kafka
 * topic T" with --kafka, else "embedded log". Returns buf. */
const char *ql_cli_log_source(const ql_common_opts_t *o, char *buf, size_t len);

/* The help text for all the common flags (ql_cli_end_operands prints the
 * lines of those a command takes). */
extern const char ql_cli_common_help[];

/* Command entry points (argv[0] is the command name). */
int ql_cmd_up(int argc, char **argv);
int ql_cmd_serve(int argc, char **argv);
int ql_cmd_load(int argc, char **argv);
int ql_cmd_cat(int argc, char **argv);
int ql_cmd_import(int argc, char **argv);
int ql_cmd_query(int argc, char **argv);
int ql_cmd_tables(int argc, char **argv);
int ql_cmd_describe(int argc, char **argv);
int ql_cmd_report(int argc, char **argv);
int ql_cmd_simulate(int argc, char **argv);
int ql_cmd_compact(int argc, char **argv);
int ql_cmd_inspect(int argc, char **argv);

#endif
