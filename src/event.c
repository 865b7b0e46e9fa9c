/*
 * event.c — the event builder (see event.h for the rules it implements).
 *
 * How it works: the fields of one event are gathered into a table (key,
 * value, source) with a small hash index, so a later source can override an
 * earlier one and duplicates are found in O(1); then the object is written
 * in one pass: reserved keys first, then the fields in first-seen order.
 * All strings the table points at live in the builder's arena (offsets, not
 * pointers, since the arena may move when it grows). Nothing is written to
 * the caller's buffer until the whole request has been checked, which is
 * what makes a POST all-or-nothing.
 */
#include "event.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"

enum { SRC_HEADER, SRC_QUERY, SRC_BODY };
enum { V_RAW, V_JSON };  /* RAW: UTF-8 text to quote; JSON: value text written as is */

typedef struct field {
    size_t  koff, klen, voff, vlen;  /* in the arena */
    uint8_t src, vkind;
} field_t;

struct ql_event_builder {
    const ql_catalog_t *cat;
    ql_buf_t            arena;
    ql_buf_t            tmp, tmp2, val;   /* scratch: decoded name / value, converted value */
    field_t            *fields;
    size_t              nf, capf;
    field_t            *saved;            /* the request's header fields, restored per body object */
    size_t              capsaved;
    uint32_t           *table;            /* field index + 1, 0 = empty; capacity a power of 2 */
    size_t              tcap;
    ql_event_span_t    *spans;
    size_t              nspans, capspans;
    char                errfield[128];
    int                 has_errfield;
};

ql_event_builder_t *ql_event_builder_new(const ql_catalog_t *cat)
{
    ql_event_builder_t *b = ql_calloc(1, sizeof *b);
    b->cat = cat;
    b->tcap = 64;
    b->table = ql_calloc(b->tcap, sizeof *b->table);
    return b;
}

void ql_event_builder_free(ql_event_builder_t *b)
{
    if (!b) return;
    ql_buf_free(&b->arena);
    ql_buf_free(&b->tmp);
    ql_buf_free(&b->tmp2);
    ql_buf_free(&b->val);
    free(b->fields);
    free(b->saved);
    free(b->table);
    free(b->spans);
    free(b);
}

const ql_event_span_t *ql_event_spans(const ql_event_builder_t *b, size_t *n)
{
    *n = b->nspans;
    return b->spans;
}

const char *ql_event_error_field(const ql_event_builder_t *b)
{
    return b->has_errfield ? b->errfield : NULL;
}

void ql_event_canonical_header(const char *name, size_t len, char *out)
{
    int up = 1;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        out[i] = (char)(up ? toupper((unsigned char)c) : tolower((unsigned char)c));
        up = c == '-';
    }
}

/* Appends s to out with every byte that is not part of a valid UTF-8
 * sequence replaced by U+FFFD. */
static void utf8_lossy(ql_buf_t *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (k && i + k <= n && ql_utf8_valid(s + i, k)) {
            ql_buf_append(out, s + i, k);
            i += k;
        } else {
            ql_buf_append(out, "\xef\xbf\xbd", 3);  /* U+FFFD */
            i++;
        }
    }
}

void ql_event_write_string_lossy(ql_buf_t *out, const char *s, size_t n)
{
    if (ql_utf8_valid(s, n)) {
        ql_json_write_string(out, s, n);
        return;
    }
    ql_buf_t fixed = QL_BUF_INIT;
    utf8_lossy(&fixed, s, n);
    ql_json_write_string(out, fixed.data, fixed.len);
    ql_buf_free(&fixed);
}

/* ---- the field table ---------------------------------------------------- */

static uint32_t hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void table_insert(ql_event_builder_t *b, size_t idx)
{
    const field_t *f = &b->fields[idx];
    size_t mask = b->tcap - 1, i = hash(b->arena.data + f->koff, f->klen) & mask;
    while (b->table[i]) i = (i + 1) & mask;
    b->table[i] = (uint32_t)(idx + 1);
}

/* Forgets fields from index `keep` on and rebuilds the index. */
static void fields_truncate(ql_event_builder_t *b, size_t keep)
{
    b->nf = keep;
    memset(b->table, 0, b->tcap * sizeof *b->table);
    for (size_t i = 0; i < keep; i++) table_insert(b, i);
}

static field_t *find(ql_event_builder_t *b, const char *k, size_t n)
{
    size_t mask = b->tcap - 1, i = hash(k, n) & mask;
    for (; b->table[i]; i = (i + 1) & mask) {
        field_t *f = &b->fields[b->table[i] - 1];
        if (f->klen == n && !memcmp(b->arena.data + f->koff, k, n)) return f;
    }
    return NULL;
}

static size_t arena_put(ql_event_builder_t *b, const char *s, size_t n)
{
    size_t off = b->arena.len;
    ql_buf_append(&b->arena, s, n);
    return off;
}

/* Sets key = value from `src`, replacing an earlier value of the same key
 * (keeping its position). k and v must not point into the arena. */
static void put(ql_event_builder_t *b, int src, const char *k, size_t kn, int vkind, const char *v, size_t vn)
{
    field_t *f = find(b, k, kn);
    if (!f) {
        if (b->nf == b->capf) {
            b->capf = b->capf ? b->capf * 2 : 32;
            b->fields = ql_realloc(b->fields, b->capf * sizeof *b->fields);
        }
        if ((b->nf + 1) * 2 > b->tcap) {
            free(b->table);
            b->tcap *= 2;
            b->table = ql_calloc(b->tcap, sizeof *b->table);
            fields_truncate(b, b->nf);
        }
        f = &b->fields[b->nf];
        f->koff = arena_put(b, k, kn);
        f->klen = kn;
        b->nf++;
        table_insert(b, b->nf - 1);
    }
    f->src = (uint8_t)src;
    f->vkind = (uint8_t)vkind;
    f->voff = arena_put(b, v, vn);
    f->vlen = vn;
}

static int fail_field(ql_event_builder_t *b, const char *name, size_t n, char *err, size_t errlen,
                      const char *fmt, const char *what)
{
    /* Cut at a UTF-8 boundary so the name stays valid text in the JSON error. */
    size_t cut = n < sizeof b->errfield - 1 ? n : sizeof b->errfield - 1;
    while (cut < n && cut > 0 && ((unsigned char)name[cut] & 0xc0) == 0x80) cut--;
    memcpy(b->errfield, name, cut);
    b->errfield[cut] = '\0';
    b->has_errfield = 1;
    return ql_err(err, errlen, fmt, b->errfield, what);
}

/* ---- typed values ------------------------------------------------------- */

static int parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    if (i == n) return -1;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int is_json_number(const char *s, size_t n)
{
    ql_json_token_t tok;
    size_t used;
    if (n == 0 || isspace((unsigned char)s[0])) return 0;
    return ql_json_scan_value(s, n, &tok, &used, NULL, 0) == 0 && tok.kind == QL_JSON_NUMBER && used == n;
}

static const char *type_name(ql_field_type_t t)
{
    switch (t) {
    case QL_FIELD_INT: return "an int";
    case QL_FIELD_FLOAT: return "a float";
    case QL_FIELD_BOOL: return "a bool (true/false/1/0)";
    default: return "a string";
    }
}

/* Converts text s (already decoded) to the JSON value of type t in b->val.
 * 0 ok, -1 if it is not one. */
static int typed_text(ql_event_builder_t *b, ql_field_type_t t, const char *s, size_t n)
{
    ql_buf_reset(&b->val);
    int64_t i;
    switch (t) {
    case QL_FIELD_INT:
        if (parse_i64(s, n, &i)) return -1;
        ql_buf_printf(&b->val, "%lld", (long long)i);
        return 0;
    case QL_FIELD_FLOAT:
        if (!is_json_number(s, n)) return -1;
        ql_buf_append(&b->val, s, n);
        return 0;
    case QL_FIELD_BOOL:
        if ((n == 4 && !strncasecmp(s, "true", 4)) || (n == 1 && s[0] == '1')) ql_buf_puts(&b->val, "true");
        else if ((n == 5 && !strncasecmp(s, "false", 5)) || (n == 1 && s[0] == '0')) ql_buf_puts(&b->val, "false");
        else return -1;
        return 0;
    default:
        ql_json_write_string(&b->val, s, n);
        return 0;
    }
}

/* Converts a body value token to type t in b->val. 0 ok, -1 wrong type. */
static int typed_token(ql_event_builder_t *b, ql_field_type_t t, const ql_json_token_t *v)
{
    ql_buf_reset(&b->val);
    if (v->kind == QL_JSON_NULL) {
        ql_buf_puts(&b->val, "null");
        return 0;
    }
    if (v->kind == QL_JSON_STRING) {
        if (t == QL_FIELD_STRING) {
            ql_buf_putc(&b->val, '"');
            ql_buf_append(&b->val, v->ptr, v->len);
            ql_buf_putc(&b->val, '"');
            return 0;
        }
        ql_buf_reset(&b->tmp2);
        ql_buf_reserve(&b->tmp2, v->len + 1);
        size_t n = ql_json_unescape(v, b->tmp2.data);
        return typed_text(b, t, b->tmp2.data, n);
    }
    int64_t i;
    switch (t) {
    case QL_FIELD_STRING:  /* numbers and booleans keep their text, as a string */
        if (v->kind == QL_JSON_OBJECT || v->kind == QL_JSON_ARRAY) return -1;
        ql_buf_putc(&b->val, '"');
        ql_buf_append(&b->val, v->ptr, v->len);
        ql_buf_putc(&b->val, '"');
        return 0;
    case QL_FIELD_INT:
        if (v->kind != QL_JSON_NUMBER || ql_json_token_int64(v, &i)) return -1;
        ql_buf_printf(&b->val, "%lld", (long long)i);
        return 0;
    case QL_FIELD_FLOAT:
        if (v->kind != QL_JSON_NUMBER) return -1;
        ql_buf_append(&b->val, v->ptr, v->len);
        return 0;
    case QL_FIELD_BOOL:
        if (v->kind != QL_JSON_TRUE && v->kind != QL_JSON_FALSE) return -1;
        ql_buf_append(&b->val, v->ptr, v->len);
        return 0;
    }
    return -1;
}

/* ---- sources ------------------------------------------------------------ */

/* RFC 9110 tchar: ALPHA / DIGIT / one of !#$%&'*+-.^_`|~ */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && c < 0x80 && memchr("!#$%&'*+-.^_`|~", c, 15));
}

/* 1 if the name is an HTTP token (RFC 9110 tchar): h2o only passes those,
 * and anything else would not be a sensible column name. */
static int is_token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i])) return 0;
    return n > 0;
}

static void add_headers(ql_event_builder_t *b, const ql_event_input_t *in)
{
    for (size_t i = 0; i < in->n_headers; i++) {
        const ql_event_header_t *h = &in->headers[i];
        if (!is_token(h->name, h->name_len) || ql_catalog_header_denied(b->cat, h->name, h->name_len) ||
            ql_catalog_is_reserved(h->name, h->name_len))
            continue;
        ql_buf_reset(&b->tmp);
        ql_buf_reserve(&b->tmp, h->name_len);
        ql_event_canonical_header(h->name, h->name_len, b->tmp.data);
        b->tmp.len = h->name_len;
        ql_buf_reset(&b->tmp2);
        field_t *f = find(b, b->tmp.data, b->tmp.len);
        if (f) {  /* repeated header: "old, new" */
            ql_buf_append(&b->tmp2, b->arena.data + f->voff, f->vlen);
            ql_buf_append(&b->tmp2, ", ", 2);
        }
        if (ql_utf8_valid(h->value, h->value_len)) ql_buf_append(&b->tmp2, h->value, h->value_len);
        else utf8_lossy(&b->tmp2, h->value, h->value_len);
        put(b, SRC_HEADER, b->tmp.data, b->tmp.len, V_RAW, b->tmp2.data ? b->tmp2.data : "", b->tmp2.len);
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [s, s+n) into out ('+' is a space; a bad escape stays as is). */
static void url_decode(const char *s, size_t n, ql_buf_t *out)
{
    ql_buf_reset(out);
    ql_buf_reserve(out, n + 1);
    char *o = out->data;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') *o++ = ' ';
        else if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else *o++ = s[i];
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
}

static int add_query(ql_event_builder_t *b, const ql_catalog_event_t *ev, const ql_event_input_t *in,
                     char *err, size_t errlen)
{
    const char *p = in->query, *end = in->query ? in->query + in->query_len : NULL;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        const char *ne = eq ? eq : pe;
        url_decode(p, (size_t)(ne - p), &b->tmp);
        if (eq) url_decode(eq + 1, (size_t)(pe - eq - 1), &b->tmp2);
        else ql_buf_reset(&b->tmp2);
        const char *name = b->tmp.data, *value = b->tmp2.data ? b->tmp2.data : "";
        size_t nn = b->tmp.len, vn = b->tmp2.len;
        p = pe + (amp ? 1 : 0);
        if (nn == 0 || ql_catalog_is_reserved(name, nn)) continue;
        if (!ql_utf8_valid(name, nn))
            return ql_err(err, errlen, "a query parameter name is not valid UTF-8");
        if (!ql_utf8_valid(value, vn))
            return fail_field(b, name, nn, err, errlen, "query parameter '%s' is not valid UTF-8%s", "");
        const ql_catalog_param_t *tp = ql_catalog_param(ev, name, nn);
        if (tp && tp->type != QL_FIELD_STRING) {
            if (typed_text(b, tp->type, value, vn))
                return fail_field(b, name, nn, err, errlen, "parameter '%s' must be %s", type_name(tp->type));
            put(b, SRC_QUERY, name, nn, V_JSON, b->val.data, b->val.len);
        } else {
            put(b, SRC_QUERY, name, nn, V_RAW, value, vn);
        }
    }
    return 0;
}

/* The body fields of one object (its event_type already known). */
static int add_body(ql_event_builder_t *b, const ql_catalog_event_t *ev, const char *obj, size_t len,
                    char *err, size_t errlen)
{
    ql_json_iter_t it;
    ql_json_token_t k, v;
    int r;
    if (ql_json_object_begin(&it, obj, len, err, errlen)) return -1;
    while ((r = ql_json_object_next(&it, &k, &v, err, errlen)) == 1) {
        const char *name = k.ptr;
        size_t nn = k.len;
        if (k.escaped) {
            ql_buf_reset(&b->tmp);
            ql_buf_reserve(&b->tmp, k.len + 1);
            nn = ql_json_unescape(&k, b->tmp.data);
            b->tmp.len = nn;
            name = b->tmp.data;
        }
        if (nn == strlen(QL_RESERVED_EVENT_TYPE) && !memcmp(name, QL_RESERVED_EVENT_TYPE, nn)) continue;
        if (nn == 0) return ql_err(err, errlen, "empty field name");
        if (ql_catalog_is_reserved(name, nn))
            return fail_field(b, name, nn, err, errlen, "field '%s' is reserved: the server sets it%s", "");
        field_t *f = find(b, name, nn);
        if (f && f->src == SRC_BODY)
            return fail_field(b, name, nn, err, errlen, "field '%s' appears twice%s", "");
        const ql_catalog_param_t *tp = ql_catalog_param(ev, name, nn);
        if (tp) {
            if (typed_token(b, tp->type, &v))
                return fail_field(b, name, nn, err, errlen, "field '%s' must be %s", type_name(tp->type));
        } else {
            ql_buf_reset(&b->val);
            if (v.kind == QL_JSON_STRING) ql_buf_putc(&b->val, '"');
            ql_buf_append(&b->val, v.ptr, v.len);
            if (v.kind == QL_JSON_STRING) ql_buf_putc(&b->val, '"');
        }
        put(b, SRC_BODY, name, nn, V_JSON, b->val.data, b->val.len);
    }
    return r;
}

/* ---- output ------------------------------------------------------------- */

/* The hot path writes straight into `out`, reserved once for the worst
 * case (every byte escaped as \u00XX): strings without anything to escape
 * (nearly all) are copied with their quotes in place, the rest go through
 * ql_json_write_string. `o` is the write position; `out->len` is only
 * brought up to date around those calls and at the end. */
#define LIT(o, s) (memcpy((o), (s), sizeof(s) - 1), (o) + sizeof(s) - 1)

static int plain_json(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\') return 0;
    }
    return 1;
}

static char *put_string(ql_buf_t *out, char *o, const char *s, size_t n)
{
    if (plain_json(s, n)) {
        *o++ = '"';
        memcpy(o, s, n);
        o += n;
        *o++ = '"';
        return o;
    }
    out->len = (size_t)(o - out->data);
    ql_json_write_string(out, s, n); /* within the reservation: no move */
    return out->data + out->len;
}

static void emit(ql_event_builder_t *b, const ql_catalog_event_t *ev, int64_t now_us, ql_buf_t *out)
{
    if (b->nspans == b->capspans) {
        b->capspans = b->capspans ? b->capspans * 2 : 16;
        b->spans = ql_realloc(b->spans, b->capspans * sizeof *b->spans);
    }
    ql_event_span_t *sp = &b->spans[b->nspans++];
    sp->type = ev;
    sp->off = out->len;
    size_t name_len = strlen(ev->name), bound = 64 + QL_UUID_LEN + QL_RFC3339_LEN + 6 * name_len;
    for (size_t i = 0; i < b->nf; i++) bound += 6 * (b->fields[i].klen + b->fields[i].vlen) + 8;
    ql_buf_reserve(out, bound);
    char *o = out->data + out->len;
    o = LIT(o, "{\"event_type\":");
    o = put_string(out, o, ev->name, name_len);
    o = LIT(o, ",\"event_id\":\"");
    ql_uuidv7(now_us, sp->id);
    memcpy(o, sp->id, QL_UUID_LEN - 1);
    o += QL_UUID_LEN - 1;
    o = LIT(o, "\",\"timestamp\":\"");
    char ts[QL_RFC3339_LEN];
    ql_rfc3339_format(now_us, ts);
    memcpy(o, ts, QL_RFC3339_LEN - 1);
    o += QL_RFC3339_LEN - 1;
    *o++ = '"';
    for (size_t i = 0; i < b->nf; i++) {
        const field_t *f = &b->fields[i];
        *o++ = ',';
        o = put_string(out, o, b->arena.data + f->koff, f->klen);
        *o++ = ':';
        if (f->vkind == V_RAW) {
            o = put_string(out, o, b->arena.data + f->voff, f->vlen);
        } else {
            memcpy(o, b->arena.data + f->voff, f->vlen);
            o += f->vlen;
        }
    }
    *o++ = '}';
    *o = '\0';
    out->len = (size_t)(o - out->data);
    sp->len = out->len - sp->off;
}

static void reset(ql_event_builder_t *b)
{
    ql_buf_reset(&b->arena);
    fields_truncate(b, 0);
    b->nspans = 0;
    b->has_errfield = 0;
}

int ql_event_build_route(ql_event_builder_t *b, const ql_catalog_event_t *ev, const ql_event_input_t *in,
                         ql_buf_t *out, char *err, size_t errlen)
{
    reset(b);
    add_headers(b, in);
    if (add_query(b, ev, in, err, errlen)) return -1;
    emit(b, ev, in->now_us, out);
    return 1;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

int ql_event_build_body(ql_event_builder_t *b, const ql_event_input_t *in, const char *body, size_t len,
                        ql_buf_t *out, char *err, size_t errlen)
{
    char sub[256];
    size_t start_len = out->len;
    reset(b);
    add_headers(b, in);
    /* Each object starts from the headers alone: a body field overrides a
     * header in place, so keep the header fields to restore them. */
    size_t n_header_fields = b->nf, header_arena = b->arena.len;
    if (b->capsaved < n_header_fields) {
        b->capsaved = n_header_fields;
        b->saved = ql_realloc(b->saved, n_header_fields * sizeof *b->saved);
    }
    if (n_header_fields) memcpy(b->saved, b->fields, n_header_fields * sizeof *b->saved);
    const char *p = body, *end = body + len;
    int n = 0;
    for (;;) {
        p = skip_ws(p, end);
        if (p == end) break;
        n++;
        /* Pass 1: validate the object, find its event_type and its end. */
        ql_json_iter_t it;
        ql_json_token_t k, v, type = {0};
        int r, types = 0;
        if (ql_json_object_begin(&it, p, (size_t)(end - p), sub, sizeof sub)) {
            ql_err(err, errlen, "event %d: expected a JSON object", n);
            goto fail;
        }
        while ((r = ql_json_object_next(&it, &k, &v, sub, sizeof sub)) == 1)
            if (ql_json_string_eq(&k, QL_RESERVED_EVENT_TYPE)) type = v, types++;
        if (r < 0) {
            ql_err(err, errlen, "event %d: bad JSON: %s", n, sub);
            goto fail;
        }
        size_t olen = (size_t)(it.p - p);
        if (types != 1 || type.kind != QL_JSON_STRING) {
            ql_err(err, errlen, "event %d: %s", n,
                   types == 0 ? "missing event_type" : types > 1 ? "event_type appears twice" : "event_type must be a string");
            goto fail;
        }
        ql_buf_reset(&b->tmp);
        ql_buf_reserve(&b->tmp, type.len + 1);
        size_t tlen = ql_json_unescape(&type, b->tmp.data);
        const ql_catalog_event_t *ev = ql_catalog_event(b->cat, b->tmp.data, tlen);
        if (!ev) {
            ql_buf_t q = QL_BUF_INIT;
            ql_json_write_string(&q, b->tmp.data, tlen < 64 ? tlen : 64);
            ql_err(err, errlen, "event %d: unknown event_type %s", n, q.data);
            ql_buf_free(&q);
            goto fail;
        }
        /* Pass 2: fields, on top of the request's headers. */
        if (n_header_fields) memcpy(b->fields, b->saved, n_header_fields * sizeof *b->saved);
        fields_truncate(b, n_header_fields);
        b->arena.len = header_arena;
        if (add_query(b, ev, in, sub, sizeof sub) || add_body(b, ev, p, olen, sub, sizeof sub)) {
            ql_err(err, errlen, "event %d: %s", n, sub);
            goto fail;
        }
        emit(b, ev, in->now_us, out);
        p += olen;
    }
    if (n == 0) {
        ql_err(err, errlen, "no events in the body (send one JSON object, or NDJSON lines)");
        goto fail;
    }
    return n;
fail:
    out->len = start_len;
    if (out->data) out->data[start_len] = '\0';
    b->nspans = 0;
    return -1;
}
