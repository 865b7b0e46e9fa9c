/*
 * config.h — the questlog config file: a small INI dialect, read once at
 * start and then only read (safe to share between threads after loading).
 *
 *   # comment (also ';')           lines are trimmed; blank lines ignored
 *   [server]                       a section with no argument
 *   [event purchase_sword]         a section with an argument ("purchase_sword")
 *   key = value                    entries keep file order; a key may repeat
 *   response = Sword Purchased!\n  values: \n \t \\ \# escapes are decoded
 *
 * The file's meaning (event catalog, deny-list, tables, munge rules, log and
 * lake settings) is interpreted by the subsystems that own it: catalog.c
 * reads [server] and [event …]; the lake/loader reads [table …] and [munge];
 * the log reads [log]. Unknown sections are an error there, not here.
 * etc/questlog.conf documents every key; it is compiled into the binary
 * (ql_default_config) and used when --config is not given.
 */
#ifndef QL_CONFIG_H
#define QL_CONFIG_H

#include <stddef.h>

typedef struct ql_config_entry {
    char *key;
    char *value;
    int   line;              /* 1-based line in the file, for error messages */
} ql_config_entry_t;

typedef struct ql_config_section {
    char              *name;  /* "event" */
    char              *arg;   /* "purchase_sword", or "" */
    int                line;
    ql_config_entry_t *entries;
    size_t             n_entries;
} ql_config_section_t;

typedef struct ql_config {
    char                *path;      /* "(built-in)" for the default */
    ql_config_section_t *sections;
    size_t               n_sections;
} ql_config_t;

/* The built-in default config text (generated from etc/questlog.conf). */
extern const char ql_default_config[];
extern const unsigned long ql_default_config_len;

/* Parses text; `path` is used in messages. Caller frees with ql_config_free. */
int ql_config_parse(ql_config_t **out, const char *path, const char *text, size_t len,
                    char *err, size_t errlen);
/* Loads `path`, or the built-in default when path is NULL. */
int ql_config_load(ql_config_t **out, const char *path, char *err, size_t errlen);
void ql_config_free(ql_config_t *cfg);

/* First section named `name` with argument `arg` (arg NULL = any), or NULL. */
const ql_config_section_t *ql_config_section(const ql_config_t *cfg, const char *name, const char *arg);
/* Last value of `key` in the section (later lines override), or NULL. */
const char *ql_config_get(const ql_config_section_t *s, const char *key);

#endif
