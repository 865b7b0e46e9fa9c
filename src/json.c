/*
 * json.c — the strict in-place JSON scanner and string writer of json.h.
 *
 * Invariant: every function here reads only inside [start, end) of its input;
 * the fuzz targets that feed it (tests/fuzz/fuzz_event.c: POST bodies;
 * fuzz_transform.c: log records) hold it to that under ASan.
 */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *start, const char *at, const char *what)
{
    return ql_err(err, errlen, "invalid JSON at byte %zu: %s", (size_t)(at - start), what);
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Length of the UTF-8 sequence at p (1..4) if valid, else 0. */
static int utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    if (c < 0xc2) return 0;
    if (c < 0xe0) {
        if (end - p < 2 || (p[1] & 0xc0) != 0x80) return 0;
        return 2;
    }
    if (c < 0xf0) {
        if (end - p < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) return 0;
        if (c == 0xe0 && p[1] < 0xa0) return 0;  /* overlong */
        if (c == 0xed && p[1] >= 0xa0) return 0;  /* surrogate */
        return 3;
    }
    if (c < 0xf5) {
        if (end - p < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
            return 0;
        if (c == 0xf0 && p[1] < 0x90) return 0;  /* overlong */
        if (c == 0xf4 && p[1] >= 0x90) return 0;  /* > U+10FFFF */
        return 4;
    }
    return 0;
}

int ql_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        if (*p < 0x80) { p++; continue; }
        int n = utf8_seq(p, end);
        if (!n) return 0;
        p += n;
    }
    return 1;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* p points at the opening quote. On success *pp points past the closing quote. */
static int scan_string(const char *start, const char **pp, const char *end, ql_json_token_t *tok,
                       char *err, size_t errlen)
{
    const char *p = *pp + 1;
    tok->kind = QL_JSON_STRING;
    tok->ptr = p;
    tok->escaped = 0;
    tok->is_integer = 0;
    for (;;) {
        /* fast path: plain ASCII */
        while (p < end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\' && (unsigned char)*p < 0x80) p++;
        if (p >= end) return fail(err, errlen, start, p, "unterminated string");
        unsigned char c = (unsigned char)*p;
        if (c == '"') break;
        if (c < 0x20) return fail(err, errlen, start, p, "control character in string");
        if (c == '\\') {
            tok->escaped = 1;
            if (end - p < 2) return fail(err, errlen, start, p, "unterminated escape");
            char e = p[1];
            if (e == 'u') {
                unsigned u;
                if (end - p < 6 || hex4(p + 2, &u)) return fail(err, errlen, start, p, "bad \\u escape");
                p += 6;
                if (u >= 0xd800 && u <= 0xdbff) {
                    unsigned lo;
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
                        return fail(err, errlen, start, p, "unpaired surrogate in \\u escape");
                    p += 6;
                } else if (u >= 0xdc00 && u <= 0xdfff) {
                    return fail(err, errlen, start, p, "unpaired surrogate in \\u escape");
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0') return fail(err, errlen, start, p, "bad escape");
            p += 2;
            continue;
        }
        int n = utf8_seq((const unsigned char *)p, (const unsigned char *)end);
        if (!n) return fail(err, errlen, start, p, "invalid UTF-8 in string");
        p += n;
    }
    tok->len = (size_t)(p - tok->ptr);
    *pp = p + 1;
    return 0;
}

static int scan_number(const char *start, const char **pp, const char *end, ql_json_token_t *tok,
                       char *err, size_t errlen)
{
    const char *p = *pp;
    tok->kind = QL_JSON_NUMBER;
    tok->ptr = p;
    tok->escaped = 0;
    tok->is_integer = 1;
    if (p < end && *p == '-') p++;
    if (p >= end) return fail(err, errlen, start, p, "bad number");
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else {
        return fail(err, errlen, start, p, "bad number");
    }
    if (p < end && *p == '.') {
        tok->is_integer = 0;
        p++;
        if (p >= end || *p < '0' || *p > '9') return fail(err, errlen, start, p, "bad number fraction");
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        tok->is_integer = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') return fail(err, errlen, start, p, "bad number exponent");
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    tok->len = (size_t)(p - tok->ptr);
    *pp = p;
    return 0;
}

static int scan_value(const char *start, const char **pp, const char *end, ql_json_token_t *tok,
                      int depth, char *err, size_t errlen);

/* Scans a nested object or array (p at '{' or '['). */
static int scan_container(const char *start, const char **pp, const char *end, ql_json_token_t *tok,
                          int depth, char *err, size_t errlen)
{
    const char *p = *pp;
    char open = *p, close = open == '{' ? '}' : ']';
    if (depth >= QL_JSON_MAX_DEPTH) return fail(err, errlen, start, p, "nesting too deep");
    tok->kind = open == '{' ? QL_JSON_OBJECT : QL_JSON_ARRAY;
    tok->ptr = p;
    tok->escaped = 0;
    tok->is_integer = 0;
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) {
        p++;
        goto done;
    }
    for (;;) {
        ql_json_token_t sub;
        if (open == '{') {
            if (p >= end || *p != '"') return fail(err, errlen, start, p, "expected member name");
            if (scan_string(start, &p, end, &sub, err, errlen)) return -1;
            p = skip_ws(p, end);
            if (p >= end || *p != ':') return fail(err, errlen, start, p, "expected ':'");
            p = skip_ws(p + 1, end);
        }
        if (scan_value(start, &p, end, &sub, depth + 1, err, errlen)) return -1;
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == close) {
            p++;
            break;
        }
        return fail(err, errlen, start, p, open == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
done:
    tok->len = (size_t)(p - tok->ptr);
    *pp = p;
    return 0;
}

static int literal(const char **pp, const char *end, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(end - *pp) < n || memcmp(*pp, word, n) != 0) return -1;
    *pp += n;
    return 0;
}

static int scan_value(const char *start, const char **pp, const char *end, ql_json_token_t *tok,
                      int depth, char *err, size_t errlen)
{
    const char *p = *pp;
    if (p >= end) return fail(err, errlen, start, p, "unexpected end of input");
    switch (*p) {
    case '"': return scan_string(start, pp, end, tok, err, errlen);
    case '{': case '[': return scan_container(start, pp, end, tok, depth, err, errlen);
    case 't': case 'f': case 'n': {
        const char *word = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
        tok->kind = *p == 't' ? QL_JSON_TRUE : *p == 'f' ? QL_JSON_FALSE : QL_JSON_NULL;
        tok->ptr = p;
        tok->escaped = tok->is_integer = 0;
        if (literal(pp, end, word)) return fail(err, errlen, start, p, "bad literal");
        tok->len = strlen(word);
        return 0;
    }
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9')) return scan_number(start, pp, end, tok, err, errlen);
        return fail(err, errlen, start, p, "unexpected character");
    }
}

int ql_json_scan_value(const char *buf, size_t len, ql_json_token_t *tok, size_t *used,
                       char *err, size_t errlen)
{
    const char *end = buf + len, *p = skip_ws(buf, end);
    if (scan_value(buf, &p, end, tok, 0, err, errlen)) return -1;
    if (used) *used = (size_t)(p - buf);
    return 0;
}

int ql_json_object_begin(ql_json_iter_t *it, const char *buf, size_t len, char *err, size_t errlen)
{
    it->start = buf;
    it->end = buf + len;
    it->p = skip_ws(buf, it->end);
    it->count = 0;
    it->done = 0;
    if (it->p >= it->end || *it->p != '{') return fail(err, errlen, buf, it->p, "expected a JSON object");
    it->p++;
    return 0;
}

int ql_json_object_next(ql_json_iter_t *it, ql_json_token_t *key, ql_json_token_t *value,
                        char *err, size_t errlen)
{
    if (it->done) return 0;
    const char *p = skip_ws(it->p, it->end);
    if (it->count == 0) {
        if (p < it->end && *p == '}') {
            it->p = p + 1;
            it->done = 1;
            return 0;
        }
    } else {
        if (p < it->end && *p == '}') {
            it->p = p + 1;
            it->done = 1;
            return 0;
        }
        if (p >= it->end || *p != ',') return fail(err, errlen, it->start, p, "expected ',' or '}'");
        p = skip_ws(p + 1, it->end);
    }
    if (p >= it->end || *p != '"') return fail(err, errlen, it->start, p, "expected member name");
    if (scan_string(it->start, &p, it->end, key, err, errlen)) return -1;
    p = skip_ws(p, it->end);
    if (p >= it->end || *p != ':') return fail(err, errlen, it->start, p, "expected ':'");
    p = skip_ws(p + 1, it->end);
    if (scan_value(it->start, &p, it->end, value, 1, err, errlen)) return -1;
    it->p = p;
    it->count++;
    return 1;
}

int ql_json_validate_object(const char *buf, size_t len, char *err, size_t errlen)
{
    ql_json_token_t tok;
    size_t used;
    const char *end = buf + len, *p = skip_ws(buf, end);
    if (p >= end || *p != '{') return fail(err, errlen, buf, p, "expected a JSON object");
    if (ql_json_scan_value(buf, len, &tok, &used, err, errlen)) return -1;
    p = skip_ws(buf + used, end);
    if (p != end) return fail(err, errlen, buf, p, "trailing characters after the object");
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xc0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t ql_json_unescape(const ql_json_token_t *tok, char *out)
{
    if (!tok->escaped) {
        memcpy(out, tok->ptr, tok->len);
        return tok->len;
    }
    const char *p = tok->ptr, *end = p + tok->len;
    char *o = out;
    while (p < end) {
        if (*p != '\\') { *o++ = *p++; continue; }
        char e = p[1];
        p += 2;
        switch (e) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned u = 0, lo = 0;
            hex4(p, &u);
            p += 4;
            if (u >= 0xd800 && u <= 0xdbff) {
                hex4(p + 2, &lo);
                p += 6;
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            }
            o += put_utf8(o, u);
            break;
        }
        default: *o++ = e; break; /* " \ / */
        }
    }
    return (size_t)(o - out);
}

int ql_json_string_eq(const ql_json_token_t *tok, const char *s)
{
    size_t n = strlen(s);
    if (tok->kind != QL_JSON_STRING) return 0;
    if (!tok->escaped) return tok->len == n && memcmp(tok->ptr, s, n) == 0;
    if (tok->len < n) return 0;
    char small[256];
    char *tmp = tok->len <= sizeof small ? small : ql_malloc(tok->len);
    size_t m = ql_json_unescape(tok, tmp);
    int eq = m == n && memcmp(tmp, s, n) == 0;
    if (tmp != small) free(tmp);
    return eq;
}

int ql_json_token_int64(const ql_json_token_t *tok, int64_t *out)
{
    if (tok->kind != QL_JSON_NUMBER || !tok->is_integer || tok->len > 20) return -1;
    char tmp[24];
    memcpy(tmp, tok->ptr, tok->len);
    tmp[tok->len] = '\0';
    errno = 0;
    long long v = strtoll(tmp, NULL, 10);
    if (errno) return -1;
    *out = v;
    return 0;
}

int ql_json_token_double(const ql_json_token_t *tok, double *out)
{
    if (tok->kind != QL_JSON_NUMBER || tok->len > 400) return -1;
    char tmp[401];
    memcpy(tmp, tok->ptr, tok->len);
    tmp[tok->len] = '\0';
    double v = strtod(tmp, NULL);
    if (!isfinite(v)) return -1;
    *out = v;
    return 0;
}

void ql_json_write_string(ql_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    ql_buf_reserve(b, len + 2);
    ql_buf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        ql_buf_append(b, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0};
        switch (c) {
        case '"': esc[1] = '"'; ql_buf_append(b, esc, 2); break;
        case '\\': esc[1] = '\\'; ql_buf_append(b, esc, 2); break;
        case '\n': esc[1] = 'n'; ql_buf_append(b, esc, 2); break;
        case '\r': esc[1] = 'r'; ql_buf_append(b, esc, 2); break;
        case '\t': esc[1] = 't'; ql_buf_append(b, esc, 2); break;
        default:
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0'; esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
            ql_buf_append(b, esc, 6);
        }
    }
    ql_buf_append(b, s + run, len - run);
    ql_buf_putc(b, '"');
}
