/*
 * config.c — parser for the INI dialect described in config.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char *trim(char *s, char *end)
{
    while (s < end && isspace((unsigned char)*s)) s++;
    while (end > s && isspace((unsigned char)end[-1])) end--;
    *end = '\0';
    return s;
}

/* Decodes \n \t \\ \# \; in place; an unknown escape keeps its backslash. */
static void unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '\\' && p[1]) {
            char c = p[1];
            if (c == 'n') { *o++ = '\n'; p++; continue; }
            if (c == 't') { *o++ = '\t'; p++; continue; }
            if (c == '\\' || c == '#' || c == ';') { *o++ = c; p++; continue; }
        }
        *o++ = *p;
    }
    *o = '\0';
}

/* Cuts a trailing comment: '#' or ';' preceded by whitespace, not escaped. */
static void cut_comment(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p == '\\' && p[1]) { p++; continue; }
        if ((*p == '#' || *p == ';') && (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            return;
        }
    }
}

int ql_config_parse(ql_config_t **out, const char *path, const char *text, size_t len,
                    char *err, size_t errlen)
{
    ql_config_t *cfg = ql_calloc(1, sizeof *cfg);
    cfg->path = ql_strdup(path);
    char *copy = ql_strndup(text, len);
    char *line = copy;
    int lineno = 0, rc = 0;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        char *next = nl ? nl + 1 : NULL;
        char *end = nl ? nl : line + strlen(line);
        lineno++;
        char *s = trim(line, end);
        if (*s == '\0' || *s == '#' || *s == ';') { line = next; continue; }
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1] != '\0') {
                rc = ql_err(err, errlen, "%s:%d: bad section header '%s'", path, lineno, s);
                goto out;
            }
            char *body = trim(s + 1, close);
            char *sp = body;
            while (*sp && !isspace((unsigned char)*sp)) sp++;
            char *arg = sp;
            if (*sp) { *sp = '\0'; arg = trim(sp + 1, sp + 1 + strlen(sp + 1)); }
            if (!*body) {
                rc = ql_err(err, errlen, "%s:%d: empty section name", path, lineno);
                goto out;
            }
            cfg->sections = ql_realloc(cfg->sections, (cfg->n_sections + 1) * sizeof *cfg->sections);
            ql_config_section_t *sec = &cfg->sections[cfg->n_sections++];
            memset(sec, 0, sizeof *sec);
            sec->name = ql_strdup(body);
            sec->arg = ql_strdup(arg);
            sec->line = lineno;
            line = next;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = ql_err(err, errlen, "%s:%d: expected 'key = value', got '%s'", path, lineno, s);
            goto out;
        }
        if (cfg->n_sections == 0) {
            rc = ql_err(err, errlen, "%s:%d: 'key = value' before any [section]", path, lineno);
            goto out;
        }
        *eq = '\0';
        char *key = trim(s, eq);
        char *val = eq + 1;
        cut_comment(val);
        val = trim(val, val + strlen(val));
        unescape(val);
        if (!*key) {
            rc = ql_err(err, errlen, "%s:%d: empty key", path, lineno);
            goto out;
        }
        ql_config_section_t *sec = &cfg->sections[cfg->n_sections - 1];
        sec->entries = ql_realloc(sec->entries, (sec->n_entries + 1) * sizeof *sec->entries);
        ql_config_entry_t *e = &sec->entries[sec->n_entries++];
        e->key = ql_strdup(key);
        e->value = ql_strdup(val);
        e->line = lineno;
        line = next;
    }
out:
    free(copy);
    if (rc) {
        ql_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

int ql_config_load(ql_config_t **out, const char *path, char *err, size_t errlen)
{
    if (!path) return ql_config_parse(out, "(built-in config)", ql_default_config, ql_default_config_len, err, errlen);
    char *text;
    size_t len;
    if (ql_read_file(path, &text, &len, err, errlen)) return -1;
    int rc = ql_config_parse(out, path, text, len, err, errlen);
    free(text);
    return rc;
}

void ql_config_free(ql_config_t *cfg)
{
    if (!cfg) return;
    for (size_t i = 0; i < cfg->n_sections; i++) {
        ql_config_section_t *s = &cfg->sections[i];
        for (size_t j = 0; j < s->n_entries; j++) {
            free(s->entries[j].key);
            free(s->entries[j].value);
        }
        free(s->entries);
        free(s->name);
        free(s->arg);
    }
    free(cfg->sections);
    free(cfg->path);
    free(cfg);
}

const ql_config_section_t *ql_config_section(const ql_config_t *cfg, const char *name, const char *arg)
{
    for (size_t i = 0; i < cfg->n_sections; i++) {
        const ql_config_section_t *s = &cfg->sections[i];
        if (!strcmp(s->name, name) && (!arg || !strcmp(s->arg, arg))) return s;
    }
    return NULL;
}

const char *ql_config_get(const ql_config_section_t *s, const char *key)
{
    const char *v = NULL;
    if (!s) return NULL;
    for (size_t i = 0; i < s->n_entries; i++)
        if (!strcmp(s->entries[i].key, key)) v = s->entries[i].value;
    return v;
}
