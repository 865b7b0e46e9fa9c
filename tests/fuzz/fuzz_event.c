/*
 * fuzz_event.c — libFuzzer target for the event builder (src/event.c), the
 * code that turns untrusted request bytes into log records: query strings,
 * header values and POST /events bodies. Built without h2o.
 *
 * Input layout: QUERY \0 HEADERS \0 BODY, where HEADERS is "name:value\n"
 * lines. Checked on every input: no crash or sanitizer report; every built
 * event is exactly one valid JSON object (strict UTF-8) whose first members
 * are event_type, event_id, timestamp; no reserved key appears twice; a
 * rejected request leaves the output buffer untouched and has a message,
 * and its 400 body (built as http.c's respond_error does) is valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "config.h"
#include "event.h"
#include "json.h"
#include "fuzz_ubsan.h"

static ql_catalog_t *cat;
static ql_event_builder_t *eb;

static void check_event(const char *s, size_t n)
{
    if (ql_json_validate_object(s, n, NULL, 0)) abort();
    if (strncmp(s, "{\"event_type\":\"", 15)) abort();
    ql_json_iter_t it;
    ql_json_token_t k, v;
    int reserved = 0, i = 0;
    char name[64];
    if (ql_json_object_begin(&it, s, n, NULL, 0)) abort();
    while (ql_json_object_next(&it, &k, &v, NULL, 0) == 1) {
        if (k.len < sizeof name) {
            size_t l = ql_json_unescape(&k, name);
            if (ql_catalog_is_reserved(name, l)) {
                reserved++;
                if (i >= 3) abort();  /* reserved keys only in the first three places */
            }
        }
        i++;
    }
    if (reserved != 3) abort();
}

/* The 400 body http.c's respond_error sends for a rejected request. */
static void check_error(const char *err)
{
    const char *field = ql_event_error_field(eb);
    if (!err[0]) abort();
    ql_buf_t b = QL_BUF_INIT;
    ql_buf_puts(&b, "{\"error\":");
    ql_event_write_string_lossy(&b, err, strlen(err));
    if (field) {
        ql_buf_puts(&b, ",\"field\":");
        ql_event_write_string_lossy(&b, field, strlen(field));
    }
    ql_buf_puts(&b, "}");
    if (ql_json_validate_object(b.data, b.len, NULL, 0)) abort();
    ql_buf_free(&b);
}

static void check_output(int rc, const ql_buf_t *out, size_t before, const char *err)
{
    size_t n;
    const ql_event_span_t *sp = ql_event_spans(eb, &n);
    if (rc < 0) {
        if (out->len != before || n != 0) abort();
        check_error(err);
        return;
    }
    if ((size_t)rc != n) abort();
    for (size_t i = 0; i < n; i++) check_event(out->data + sp[i].off, sp[i].len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cat) {
        ql_config_t *cfg;
        char err[256];
        if (ql_config_load(&cfg, NULL, err, sizeof err) || ql_catalog_load(&cat, cfg, err, sizeof err)) abort();
        ql_config_free(cfg);
        eb = ql_event_builder_new(cat);
    }
    const char *p = (const char *)data, *end = p + size;
    const char *z1 = memchr(p, 0, size);
    const char *query = p;
    size_t qlen = z1 ? (size_t)(z1 - p) : size;
    const char *hstart = z1 ? z1 + 1 : end;
    const char *z2 = memchr(hstart, 0, (size_t)(end - hstart));
    const char *hend = z2 ? z2 : end;
    const char *body = z2 ? z2 + 1 : end;

    ql_event_header_t hs[32];
    size_t nh = 0;
    for (const char *l = hstart; l < hend && nh < 32;) {
        const char *nl = memchr(l, '\n', (size_t)(hend - l));
        const char *le = nl ? nl : hend;
        const char *colon = memchr(l, ':', (size_t)(le - l));
        if (colon) {
            hs[nh].name = l;
            hs[nh].name_len = (size_t)(colon - l);
            hs[nh].value = colon + 1;
            hs[nh].value_len = (size_t)(le - colon - 1);
            nh++;
        }
        l = nl ? nl + 1 : hend;
    }
    ql_event_input_t in = {hs, nh, qlen ? query : NULL, qlen, 1763757785123456};
    char err[256];
    ql_buf_t out = QL_BUF_INIT;
    ql_buf_puts(&out, "x");
    for (size_t i = 0; i < cat->n_events; i++) {
        size_t before = out.len;
        err[0] = '\0';
        int rc = ql_event_build_route(eb, &cat->events[i], &in, &out, err, sizeof err);
        check_output(rc, &out, before, err);
    }
    size_t before = out.len;
    err[0] = '\0';
    int rc = ql_event_build_body(eb, &in, body, (size_t)(end - body), &out, err, sizeof err);
    check_output(rc, &out, before, err);
    ql_buf_free(&out);
    return 0;
}
