/*
 * catalog.c — builds the event catalog and the collector settings from the
 * config's [server] and [event NAME] sections (see catalog.h and
 * etc/questlog.conf), and answers the lookups the collector makes per
 * request (route → event type, parameter types, deny-list).
 *
 * The catalog is immutable after ql_catalog_load, so the lookups take no lock.
 */
#include "catalog.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* Paths the collector serves itself; no event route may take them. */
static const char *const builtin_paths[] = {"/events", "/healthz", "/metrics", "/stats"};

int ql_catalog_is_reserved(const char *name, size_t len)
{
    static const char *const reserved[] = {QL_RESERVED_EVENT_TYPE, QL_RESERVED_EVENT_ID,
                                           QL_RESERVED_TIMESTAMP};
    for (size_t i = 0; i < QL_ARRAY_LEN(reserved); i++)
        if (strlen(reserved[i]) == len && !strncasecmp(reserved[i], name, len)) return 1;
    return 0;
}

static int valid_name(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return 0;
    return 1;
}

static char *trim_dup(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    return ql_strndup(s, n);
}

/* Splits "a, b ,c" into trimmed non-empty items appended to *list. */
static void split_list(const char *v, char ***list, size_t *n)
{
    while (*v) {
        const char *comma = strchr(v, ',');
        size_t len = comma ? (size_t)(comma - v) : strlen(v);
        char *item = trim_dup(v, len);
        if (*item) {
            *list = ql_realloc(*list, (*n + 1) * sizeof **list);
            (*list)[(*n)++] = item;
        } else {
            free(item);
        }
        v += len;
        if (*v == ',') v++;
    }
}

static int parse_type(const char *s, ql_field_type_t *t)
{
    if (!strcmp(s, "string")) *t = QL_FIELD_STRING;
    else if (!strcmp(s, "int")) *t = QL_FIELD_INT;
    else if (!strcmp(s, "float")) *t = QL_FIELD_FLOAT;
    else if (!strcmp(s, "bool")) *t = QL_FIELD_BOOL;
    else return -1;
    return 0;
}

static int load_server(ql_catalog_t *cat, const ql_config_t *cfg, const ql_config_section_t *s,
                       char *err, size_t errlen)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        const ql_config_entry_t *e = &s->entries[i];
        uint64_t size;
        if (!strcmp(e->key, "listen")) {
            free(cat->listen);
            cat->listen = ql_strdup(e->value);
        } else if (!strcmp(e->key, "max_body") || !strcmp(e->key, "max_headers")) {
            if (ql_parse_size(e->value, &size) || size == 0 || size > (1ull << 31))
                return ql_err(err, errlen, "%s:%d: %s: bad size '%s'", cfg->path, e->line, e->key, e->value);
            if (e->key[4] == 'b') cat->max_body = size;
            else cat->max_headers = size;
        } else if (!strcmp(e->key, "deny_headers")) {
            /* The last line wins, like every other single-valued key. */
            for (size_t j = 0; j < cat->n_deny_headers; j++) free(cat->deny_headers[j]);
            cat->n_deny_headers = 0;
            split_list(e->value, &cat->deny_headers, &cat->n_deny_headers);
        } else if (!strcmp(e->key, "api_key")) {
            if (!*e->value) return ql_err(err, errlen, "%s:%d: empty api_key", cfg->path, e->line);
            cat->api_keys = ql_realloc(cat->api_keys, (cat->n_api_keys + 1) * sizeof *cat->api_keys);
            cat->api_keys[cat->n_api_keys++] = ql_strdup(e->value);
        } else if (!strcmp(e->key, "threads")) {
            char *end;
            long t = strtol(e->value, &end, 10);
            if (end == e->value || *end || t < 0 || t > 256)
                return ql_err(err, errlen, "%s:%d: threads: want 0..256, got '%s'", cfg->path, e->line, e->value);
            cat->threads = (int)t;
        } else {
            return ql_err(err, errlen, "%s:%d: unknown key '%s' in [server]", cfg->path, e->line, e->key);
        }
    }
    return 0;
}

static const char *route_owner(const ql_catalog_t *cat, const char *method, const char *path)
{
    for (size_t i = 0; i < cat->n_events; i++)
        for (size_t j = 0; j < cat->events[i].n_routes; j++)
            if (!strcmp(cat->events[i].routes[j].method, method) && !strcmp(cat->events[i].routes[j].path, path))
                return cat->events[i].name;
    return NULL;
}

static int load_event(ql_catalog_t *cat, const ql_config_t *cfg, const ql_config_section_t *s,
                      char *err, size_t errlen)
{
    if (!valid_name(s->arg))
        return ql_err(err, errlen, "%s:%d: event type name '%s' must be letters, digits, '_', '-', '.'",
                      cfg->path, s->line, s->arg);
    if (ql_catalog_event(cat, s->arg, strlen(s->arg)))
        return ql_err(err, errlen, "%s:%d: event type '%s' declared twice", cfg->path, s->line, s->arg);
    cat->events = ql_realloc(cat->events, (cat->n_events + 1) * sizeof *cat->events);
    ql_catalog_event_t *ev = &cat->events[cat->n_events++];
    memset(ev, 0, sizeof *ev);
    ev->name = ql_strdup(s->arg);
    for (size_t i = 0; i < s->n_entries; i++) {
        const ql_config_entry_t *e = &s->entries[i];
        if (!strcmp(e->key, "route")) {
            const char *sp = e->value;
            while (*sp && !isspace((unsigned char)*sp)) sp++;
            char *method = ql_strndup(e->value, (size_t)(sp - e->value));
            while (isspace((unsigned char)*sp)) sp++;
            char *path = ql_strdup(sp);
            int bad = !*method || path[0] != '/' || strpbrk(path, "?#\"\\");
            for (char *c = path; *c && !bad; c++) bad = *c <= ' ' || *c > '~';
            for (char *m = method; *m && !bad; m++) bad = !isupper((unsigned char)*m);
            const char *owner = bad ? NULL : route_owner(cat, method, path);
            for (size_t b = 0; b < QL_ARRAY_LEN(builtin_paths) && !bad && !owner; b++)
                if (!strcmp(path, builtin_paths[b])) owner = "the collector itself";
            if (bad || owner) {
                if (bad) ql_err(err, errlen, "%s:%d: route wants 'METHOD /path', got '%s'", cfg->path, e->line, e->value);
                else ql_err(err, errlen, "%s:%d: route %s %s already belongs to %s", cfg->path, e->line, method, path, owner);
                free(method);
                free(path);
                return -1;
            }
            ev->routes = ql_realloc(ev->routes, (ev->n_routes + 1) * sizeof *ev->routes);
            ev->routes[ev->n_routes].method = method;
            ev->routes[ev->n_routes++].path = path;
        } else if (!strcmp(e->key, "response")) {
            free(ev->response);
            ev->response = ql_strdup(e->value);
        } else if (!strncmp(e->key, "param.", 6)) {
            const char *name = e->key + 6;
            ql_field_type_t t;
            if (!*name || ql_catalog_is_reserved(name, strlen(name)))
                return ql_err(err, errlen, "%s:%d: '%s' cannot be a parameter name", cfg->path, e->line, name);
            if (parse_type(e->value, &t))
                return ql_err(err, errlen, "%s:%d: param.%s: type must be string, int, float or bool, got '%s'",
                              cfg->path, e->line, name, e->value);
            if (ql_catalog_param(ev, name, strlen(name)))
                return ql_err(err, errlen, "%s:%d: param.%s declared twice", cfg->path, e->line, name);
            ev->params = ql_realloc(ev->params, (ev->n_params + 1) * sizeof *ev->params);
            ev->params[ev->n_params].name = ql_strdup(name);
            ev->params[ev->n_params++].type = t;
        } else {
            return ql_err(err, errlen, "%s:%d: unknown key '%s' in [event %s]", cfg->path, e->line, e->key, s->arg);
        }
    }
    if (!ev->response) ev->response = ql_strdup("OK\n");
    return 0;
}

int ql_catalog_load(ql_catalog_t **out, const ql_config_t *cfg, char *err, size_t errlen)
{
    int rc = 0;
    ql_catalog_t *cat = ql_calloc(1, sizeof *cat);
    cat->listen = ql_strdup("127.0.0.1:5000");
    cat->max_body = 1 << 20;
    cat->max_headers = 16 << 10;
    split_list("Authorization, Proxy-Authorization, Cookie, X-Api-Key", &cat->deny_headers, &cat->n_deny_headers);
    for (size_t i = 0; i < cfg->n_sections && rc == 0; i++) {
        const ql_config_section_t *s = &cfg->sections[i];
        if (!strcmp(s->name, "server")) {
            if (*s->arg) rc = ql_err(err, errlen, "%s:%d: [server] takes no name", cfg->path, s->line);
            else rc = load_server(cat, cfg, s, err, errlen);
        } else if (!strcmp(s->name, "event")) {
            rc = load_event(cat, cfg, s, err, errlen);
        }
    }
    if (rc == 0 && cat->n_events == 0)
        rc = ql_err(err, errlen, "%s: no [event NAME] section: the catalog is empty", cfg->path);
    if (rc < 0) goto out;
    *out = cat;
    cat = NULL;
out:
    ql_catalog_free(cat);
    return rc;
}

void ql_catalog_free(ql_catalog_t *cat)
{
    if (!cat) return;
    for (size_t i = 0; i < cat->n_events; i++) {
        ql_catalog_event_t *ev = &cat->events[i];
        free(ev->name);
        free(ev->response);
        for (size_t j = 0; j < ev->n_routes; j++) {
            free(ev->routes[j].method);
            free(ev->routes[j].path);
        }
        free(ev->routes);
        for (size_t j = 0; j < ev->n_params; j++) free(ev->params[j].name);
        free(ev->params);
    }
    free(cat->events);
    for (size_t i = 0; i < cat->n_deny_headers; i++) free(cat->deny_headers[i]);
    free(cat->deny_headers);
    for (size_t i = 0; i < cat->n_api_keys; i++) free(cat->api_keys[i]);
    free(cat->api_keys);
    free(cat->listen);
    free(cat);
}

const ql_catalog_event_t *ql_catalog_event(const ql_catalog_t *cat, const char *name, size_t len)
{
    for (size_t i = 0; i < cat->n_events; i++)
        if (strlen(cat->events[i].name) == len && !memcmp(cat->events[i].name, name, len)) return &cat->events[i];
    return NULL;
}

const ql_catalog_param_t *ql_catalog_param(const ql_catalog_event_t *ev, const char *name, size_t len)
{
    for (size_t i = 0; i < ev->n_params; i++)
        if (strlen(ev->params[i].name) == len && !memcmp(ev->params[i].name, name, len)) return &ev->params[i];
    return NULL;
}

int ql_catalog_header_denied(const ql_catalog_t *cat, const char *name, size_t len)
{
    for (size_t i = 0; i < cat->n_deny_headers; i++)
        if (strlen(cat->deny_headers[i]) == len && !strncasecmp(cat->deny_headers[i], name, len)) return 1;
    return 0;
}

const ql_catalog_event_t *ql_catalog_route(const ql_catalog_t *cat, const char *method, size_t mlen,
                                           const char *path, size_t plen, int *method_ok)
{
    const ql_catalog_event_t *other_method = NULL;
    for (size_t i = 0; i < cat->n_events; i++) {
        const ql_catalog_event_t *ev = &cat->events[i];
        for (size_t j = 0; j < ev->n_routes; j++) {
            const ql_catalog_route_t *r = &ev->routes[j];
            if (strlen(r->path) != plen || memcmp(r->path, path, plen)) continue;
            if (strlen(r->method) == mlen && !memcmp(r->method, method, mlen)) {
                if (method_ok) *method_ok = 1;
                return ev;
            }
            other_method = ev;
        }
    }
    if (method_ok) *method_ok = other_method ? 0 : 1;
    return NULL;
}

ql_field_type_t ql_catalog_column_type(const ql_catalog_t *cat, const char *name, size_t len)
{
    int seen = 0;
    ql_field_type_t t = QL_FIELD_STRING;
    for (size_t i = 0; i < cat->n_events; i++) {
        const ql_catalog_param_t *p = ql_catalog_param(&cat->events[i], name, len);
        if (!p) continue;
        if (seen && p->type != t) return QL_FIELD_STRING;
        t = p->type;
        seen = 1;
    }
    return t;
}
