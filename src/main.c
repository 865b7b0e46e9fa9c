/*
 * main.c — `questlog` command dispatch: finds the command named by argv[1]
 * and hands it the rest of argv. Each command lives in its own cmd_*.c file.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"up", ql_cmd_up, "collector + streaming loader in one process (the whole pipeline)"},
    {"serve", ql_cmd_serve, "HTTP collector only: events into the log"},
    {"load", ql_cmd_load, "loader only: log -> Parquet lake (--once: to the end, then exit)"},
    {"cat", ql_cmd_cat, "print log records as JSON lines (like kcat -C)"},
    {"import", ql_cmd_import, "load JSON-lines files (or -) straight into the lake"},
    {"query", ql_cmd_query, "run SQL over the lake tables"},
    {"tables", ql_cmd_tables, "list lake tables with counts and schema"},
    {"describe", ql_cmd_describe, "per-column summary of a lake table"},
    {"report", ql_cmd_report, "write an HTML/Markdown analytics report"},
    {"simulate", ql_cmd_simulate, "generate realistic game traffic against a collector"},
    {"compact", ql_cmd_compact, "merge small Parquet files per partition"},
    {"inspect", ql_cmd_inspect, "show a Parquet file's metadata (and rows)"},
};

static void usage(FILE *out)
{
    fprintf(out, "questlog %s — game event tracking: HTTP collector, durable log, Parquet lake, SQL.\n\n"
                 "usage: questlog COMMAND [options]   (questlog COMMAND --help for details)\n\n"
                 "commands:\n", QL_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n  --version  print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("questlog version %s (build %s)\n", QL_VERSION, QL_BUILD);
        return 0;
    }
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "questlog: unknown command '%s'\n\n", name);
    usage(stderr);
    return 2;
}
