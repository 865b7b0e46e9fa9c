/*
 * transform.c — extract, munge and route one log record (see transform.h).
 * The hot path of `load` and `import`: no allocation per event once the
 * event's field array and scratch buffer have grown to fit.
 */
#include "transform.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MUNGE_SET, MUNGE_RENAME, MUNGE_DROP };

typedef struct munge_rule {
    int   op;
    char *name;
    char *value;   /* SET: the value; RENAME: the new name */
} munge_rule_t;

typedef struct table_def {
    char   *name;
    int     all;         /* event_types = * */
    char  **types;
    size_t  n_types;
} table_def_t;

struct ql_transform {
    const ql_catalog_t *cat;
    munge_rule_t *rules;
    size_t        n_rules;
    table_def_t  *tables;
    size_t        n_tables;
};

static int is_reserved(const char *s, size_t n)
{
    return (n == 10 && !memcmp(s, "event_type", 10)) || (n == 8 && !memcmp(s, "event_id", 8)) ||
           (n == 9 && !memcmp(s, "timestamp", 9));
}

static int valid_table_name(const char *s)
{
    if (!*s || *s == '.' || *s == '_') return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-'))
            return 0;
    return 1;
}

static void add_rule(ql_transform_t *t, int op, const char *name, const char *value)
{
    t->rules = ql_realloc(t->rules, (t->n_rules + 1) * sizeof *t->rules);
    munge_rule_t *r = &t->rules[t->n_rules++];
    r->op = op;
    r->name = ql_strdup(name);
    r->value = value ? ql_strdup(value) : NULL;
}

int ql_transform_new(ql_transform_t **out, const ql_config_t *cfg, const ql_catalog_t *cat,
                     char *err, size_t errlen)
{
    ql_transform_t *t = ql_calloc(1, sizeof *t);
    int rc = 0;
    t->cat = cat;
    for (size_t si = 0; si < cfg->n_sections; si++) {
        const ql_config_section_t *s = &cfg->sections[si];
        if (!strcmp(s->name, "munge")) {
            for (size_t i = 0; i < s->n_entries; i++) {
                const ql_config_entry_t *e = &s->entries[i];
                const char *field = NULL;
                int op;
                if (!strncmp(e->key, "set.", 4)) { op = MUNGE_SET; field = e->key + 4; }
                else if (!strncmp(e->key, "rename.", 7)) { op = MUNGE_RENAME; field = e->key + 7; }
                else if (!strcmp(e->key, "drop")) { op = MUNGE_DROP; field = e->value; }
                else {
                    rc = ql_err(err, errlen, "%s:%d: [munge] knows set.FIELD, rename.FIELD and drop, not '%s'",
                                cfg->path, e->line, e->key);
                    goto out;
                }
                if (!*field || (op == MUNGE_RENAME && !*e->value)) {
                    rc = ql_err(err, errlen, "%s:%d: [munge] rule needs a field name", cfg->path, e->line);
                    goto out;
                }
                if (is_reserved(field, strlen(field)) || (op == MUNGE_RENAME && is_reserved(e->value, strlen(e->value)))) {
                    rc = ql_err(err, errlen, "%s:%d: [munge] cannot change the reserved field '%s'", cfg->path,
                                e->line, is_reserved(field, strlen(field)) ? field : e->value);
                    goto out;
                }
                add_rule(t, op, field, op == MUNGE_DROP ? NULL : e->value);
            }
        } else if (!strcmp(s->name, "table")) {
            if (!valid_table_name(s->arg)) {
                rc = ql_err(err, errlen, "%s:%d: bad table name '%s' (letters, digits, '_', '-'; not starting with '_')",
                            cfg->path, s->line, s->arg);
                goto out;
            }
            for (size_t i = 0; i < t->n_tables; i++)
                if (!strcmp(t->tables[i].name, s->arg)) {
                    rc = ql_err(err, errlen, "%s:%d: table '%s' defined twice", cfg->path, s->line, s->arg);
                    goto out;
                }
            if (t->n_tables >= QL_TRANSFORM_MAX_TABLES) {
                rc = ql_err(err, errlen, "%s:%d: too many tables (max %d)", cfg->path, s->line, QL_TRANSFORM_MAX_TABLES);
                goto out;
            }
            t->tables = ql_realloc(t->tables, (t->n_tables + 1) * sizeof *t->tables);
            table_def_t *td = &t->tables[t->n_tables++];
            memset(td, 0, sizeof *td);
            td->name = ql_strdup(s->arg);
            const char *types = NULL;
            for (size_t i = 0; i < s->n_entries; i++) {
                if (strcmp(s->entries[i].key, "event_types")) {
                    rc = ql_err(err, errlen, "%s:%d: [table %s] knows only event_types, not '%s'", cfg->path,
                                s->entries[i].line, s->arg, s->entries[i].key);
                    goto out;
                }
                types = s->entries[i].value;
            }
            if (!types || !*types) {
                rc = ql_err(err, errlen, "%s:%d: [table %s] needs event_types = a, b (or *)", cfg->path, s->line, s->arg);
                goto out;
            }
            char *copy = ql_strdup(types), *save = NULL;
            for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
                if (!strcmp(tok, "*")) { td->all = 1; continue; }
                td->types = ql_realloc(td->types, (td->n_types + 1) * sizeof *td->types);
                td->types[td->n_types++] = ql_strdup(tok);
            }
            free(copy);
        }
    }
out:
    if (rc) {
        ql_transform_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void ql_transform_free(ql_transform_t *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_rules; i++) {
        free(t->rules[i].name);
        free(t->rules[i].value);
    }
    free(t->rules);
    for (size_t i = 0; i < t->n_tables; i++) {
        for (size_t j = 0; j < t->tables[i].n_types; j++) free(t->tables[i].types[j]);
        free(t->tables[i].types);
        free(t->tables[i].name);
    }
    free(t->tables);
    free(t);
}

size_t ql_transform_num_tables(const ql_transform_t *t) { return t->n_tables; }
const char *ql_transform_table_name(const ql_transform_t *t, size_t i) { return t->tables[i].name; }

ql_pq_type_t ql_transform_column_type(const ql_transform_t *t, const char *name, size_t len)
{
    if (!t->cat) return QL_PQ_STRING;
    switch (ql_catalog_column_type(t->cat, name, len)) {
    case QL_FIELD_INT: return QL_PQ_INT64;
    case QL_FIELD_FLOAT: return QL_PQ_DOUBLE;
    case QL_FIELD_BOOL: return QL_PQ_BOOL;
    default: return QL_PQ_STRING;
    }
}

void ql_transform_date(int64_t us, int64_t *day_cache, char out[11])
{
    int64_t day = us >= 0 ? us / 86400000000LL : -((-us + 86399999999LL) / 86400000000LL);
    if (*day_cache == day && out[0]) return;
    *day_cache = day;
    ql_date_format(us, out);
}

void ql_event_free(ql_event_t *ev)
{
    free(ev->fields);
    ql_buf_free(&ev->scratch);
    memset(ev, 0, sizeof *ev);
}

static ql_field_t *find_field(ql_event_t *ev, const char *name, size_t len)
{
    for (size_t i = 0; i < ev->n_fields; i++)
        if (ev->fields[i].name_len == len && !memcmp(ev->fields[i].name, name, len)) return &ev->fields[i];
    return NULL;
}

static void remove_field(ql_event_t *ev, ql_field_t *f)
{
    size_t i = (size_t)(f - ev->fields);
    memmove(f, f + 1, (ev->n_fields - i - 1) * sizeof *f);
    ev->n_fields--;
}

/* Decodes an escaped string token into scratch (room reserved up front, so
 * pointers into scratch stay valid). */
static const char *decode(ql_event_t *ev, const ql_json_token_t *tok, size_t *len)
{
    char *dst = ev->scratch.data + ev->scratch.len;
    size_t n = ql_json_unescape(tok, dst);
    ev->scratch.len += n;
    *len = n;
    return dst;
}

static int reject(ql_event_t *ev, const char *why)
{
    ev->reject = why;
    ev->tables = 0;
    return 1;
}

int ql_transform_event(const ql_transform_t *t, ql_event_t *ev, const char *json, size_t len, int64_t now_us)
{
    ql_json_iter_t it;
    ql_json_token_t k, v;
    ev->reject = NULL;
    ev->event_type = ev->event_id = NULL;
    ev->event_type_len = ev->event_id_len = 0;
    ev->ts_us = now_us;
    ev->tables = 0;
    ev->n_fields = 0;
    ev->scratch.len = 0;
    ql_buf_reserve(&ev->scratch, len + 1);   /* decoding never grows */
    int have_ts = 0, type_bad = 0;
    if (ql_json_object_begin(&it, json, len, ev->errbuf, sizeof ev->errbuf) != 0)
        return reject(ev, "not a JSON object");
    int r;
    while ((r = ql_json_object_next(&it, &k, &v, ev->errbuf, sizeof ev->errbuf)) == 1) {
        const char *name = k.ptr;
        size_t nlen = k.len;
        if (k.escaped) name = decode(ev, &k, &nlen);
        if (nlen == 10 && !memcmp(name, "event_type", 10)) {
            if (v.kind == QL_JSON_STRING) {
                type_bad = 0;
                ev->event_type = v.escaped ? decode(ev, &v, &ev->event_type_len) : v.ptr;
                if (!v.escaped) ev->event_type_len = v.len;
            } else {
                type_bad = 1;
            }
            continue;
        }
        if (nlen == 8 && !memcmp(name, "event_id", 8)) {
            if (v.kind == QL_JSON_STRING && v.len) {
                ev->event_id = v.escaped ? decode(ev, &v, &ev->event_id_len) : v.ptr;
                if (!v.escaped) ev->event_id_len = v.len;
            }
            continue;
        }
        if (nlen == 9 && !memcmp(name, "timestamp", 9)) {
            int64_t us;
            if (v.kind == QL_JSON_STRING && !v.escaped && ql_rfc3339_parse(v.ptr, v.len, &us) == 0) {
                ev->ts_us = us;
                have_ts = 1;
            } else if (!have_ts) {
                ev->ts_us = now_us;
            }
            continue;
        }
        if (v.kind == QL_JSON_STRING && v.escaped) {
            size_t dl;
            v.ptr = decode(ev, &v, &dl);
            v.len = dl;
            v.escaped = 0;
        }
        ql_field_t *f = find_field(ev, name, nlen);
        if (f) {               /* duplicate key: the last one wins */
            f->value = v;
            continue;
        }
        if (ev->n_fields == QL_EVENT_MAX_FIELDS) return reject(ev, "too many fields (max 256)");
        if (ev->n_fields == ev->fields_cap) {
            ev->fields_cap = ev->fields_cap ? ev->fields_cap * 2 : 32;
            ev->fields = ql_realloc(ev->fields, ev->fields_cap * sizeof *ev->fields);
        }
        f = &ev->fields[ev->n_fields++];
        f->name = name;
        f->name_len = nlen;
        f->value = v;
    }
    if (r < 0) return reject(ev, "invalid JSON");
    for (const char *p = it.p; p < json + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') return reject(ev, "trailing data after the JSON object");
    if (type_bad) return reject(ev, "event_type is not a string");
    if (!ev->event_type) return reject(ev, "no event_type");
    if (ev->event_type_len == 0) return reject(ev, "empty event_type");
    if (!ev->event_id) {
        ql_uuidv7(now_us, ev->id_buf);
        ev->event_id = ev->id_buf;
        ev->event_id_len = QL_UUID_LEN - 1;
    }

    for (size_t i = 0; i < t->n_rules; i++) {
        const munge_rule_t *m = &t->rules[i];
        size_t nl = strlen(m->name);
        ql_field_t *f = find_field(ev, m->name, nl);
        switch (m->op) {
        case MUNGE_SET:
            if (!f) {
                if (ev->n_fields == QL_EVENT_MAX_FIELDS) return reject(ev, "too many fields (max 256)");
                if (ev->n_fields == ev->fields_cap) {
                    ev->fields_cap = ev->fields_cap ? ev->fields_cap * 2 : 32;
                    ev->fields = ql_realloc(ev->fields, ev->fields_cap * sizeof *ev->fields);
                }
                f = &ev->fields[ev->n_fields++];
                f->name = m->name;
                f->name_len = nl;
            }
            memset(&f->value, 0, sizeof f->value);
            f->value.kind = QL_JSON_STRING;
            f->value.ptr = m->value;
            f->value.len = strlen(m->value);
            break;
        case MUNGE_RENAME:
            if (f) {
                size_t tl = strlen(m->value);
                ql_field_t *g = find_field(ev, m->value, tl);
                if (g && g != f) {
                    g->value = f->value;
                    remove_field(ev, f);
                } else {
                    f->name = m->value;
                    f->name_len = tl;
                }
            }
            break;
        case MUNGE_DROP:
            if (f) remove_field(ev, f);
            break;
        }
    }

    uint64_t mask = 0;
    for (size_t i = 0; i < t->n_tables; i++) {
        const table_def_t *td = &t->tables[i];
        int hit = td->all;
        for (size_t j = 0; !hit && j < td->n_types; j++)
            hit = strlen(td->types[j]) == ev->event_type_len && !memcmp(td->types[j], ev->event_type, ev->event_type_len);
        if (hit) mask |= (uint64_t)1 << i;
    }
    ev->tables = mask;
    return 0;
}
