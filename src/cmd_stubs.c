/*
 * cmd_stubs.c — placeholders for commands still being built: weak symbols
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
