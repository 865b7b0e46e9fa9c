/*
 * test_event.c — the event builder (src/event.c): reserved keys, header
 * canonicalization and deny-list, query decoding, typed parameters, the
 * override order header < query < body, POST bodies (single object, NDJSON)
 * and their all-or-nothing rule.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "event.h"
#include "json.h"
#include "tap.h"

static ql_catalog_t *cat;
static ql_event_builder_t *eb;
static char got[4096];

/* The value of `key` in the JSON object [s, s+n) as raw JSON text (strings
 * decoded), into `got`; returns the number of times the key occurs. */
static int field(const char *s, size_t n, const char *key)
{
    ql_json_iter_t it;
    ql_json_token_t k, v;
    int count = 0;
    got[0] = '\0';
    if (ql_json_object_begin(&it, s, n, NULL, 0)) return -1;
    while (ql_json_object_next(&it, &k, &v, NULL, 0) == 1) {
        if (!ql_json_string_eq(&k, key)) continue;
        count++;
        if (v.kind == QL_JSON_STRING) got[ql_json_unescape(&v, got)] = '\0';
        else {
            memcpy(got, v.ptr, v.len);
            got[v.len] = '\0';
        }
    }
    return count;
}

static int ci_field_count(const char *s, size_t n, const char *key)
{
    ql_json_iter_t it;
    ql_json_token_t k, v;
    int count = 0;
    char name[256];
    if (ql_json_object_begin(&it, s, n, NULL, 0)) return -1;
    while (ql_json_object_next(&it, &k, &v, NULL, 0) == 1) {
        size_t l = ql_json_unescape(&k, name);
        name[l] = '\0';
        if (!strcasecmp(name, key)) count++;
    }
    return count;
}

#define H(n, v) {n, sizeof n - 1, v, sizeof v - 1}

static void test_route_event(void)
{
    ql_event_header_t hs[] = {
        H("host", "user1.comcast.com"), H("user-agent", "ApacheBench/2.3"), H("authorization", "Basic c2VjcmV0"),
        H("cookie", "session=1"), H("x-api-key", "k"), H("proxy-authorization", "p"), H("event_type", "evil"),
        H("Event_Id", "x"), H("accept", "text/html"), H("accept", "*/*"), H("x-forwarded-for", "10.0.0.1"),
    };
    const char *q = "sword_type=katana&price=12&event_type=hack&TimeStamp=0&note=a%20b+c&flag";
    ql_event_input_t in = {hs, QL_ARRAY_LEN(hs), q, strlen(q), 1763757785123456};
    const ql_catalog_event_t *ev = ql_catalog_event(cat, "purchase_sword", 14);
    ql_buf_t out = QL_BUF_INIT;
    char err[256] = "";
    is_int(ql_event_build_route(eb, ev, &in, &out, err, sizeof err), 1, "route event built (%s)", err);
    ok(ql_json_validate_object(out.data, out.len, NULL, 0) == 0, "output is one valid JSON object");
    ok(!strncmp(out.data, "{\"event_type\":\"purchase_sword\",\"event_id\":\"", 43), "reserved keys come first");
    size_t n;
    const ql_event_span_t *sp = ql_event_spans(eb, &n);
    is_int(n, 1, "one span");
    is_int(sp[0].off, 0, "span offset");
    is_int(sp[0].len, out.len, "span length");
    is_int(field(out.data, out.len, "event_type"), 1, "event_type once");
    is_str(got, "purchase_sword", "event_type is the route's, not the header's or the parameter's");
    is_int(field(out.data, out.len, "event_id"), 1, "event_id once");
    is_str(got, sp[0].id, "event_id is the span's id");
    is_int(strlen(got), 36, "event_id is a UUID");
    is_int(got[14], '7', "UUID version 7");
    is_int(field(out.data, out.len, "timestamp"), 1, "timestamp once");
    is_str(got, "2025-11-21T20:43:05.123456Z", "timestamp is the server time, RFC 3339 µs");
    is_int(ci_field_count(out.data, out.len, "event_type"), 1, "no Event_Type header copy");
    is_int(ci_field_count(out.data, out.len, "event_id"), 1, "no Event_Id header copy");
    is_int(ci_field_count(out.data, out.len, "timestamp"), 1, "no TimeStamp parameter copy");
    is_int(field(out.data, out.len, "Host"), 1, "Host recorded");
    is_str(got, "user1.comcast.com", "Host value");
    is_int(field(out.data, out.len, "User-Agent"), 1, "user-agent canonicalized to User-Agent");
    is_int(field(out.data, out.len, "X-Forwarded-For"), 1, "x-forwarded-for canonicalized");
    is_int(ci_field_count(out.data, out.len, "authorization"), 0, "Authorization never recorded");
    is_int(ci_field_count(out.data, out.len, "proxy-authorization"), 0, "Proxy-Authorization never recorded");
    is_int(ci_field_count(out.data, out.len, "cookie"), 0, "Cookie never recorded");
    is_int(ci_field_count(out.data, out.len, "x-api-key"), 0, "X-Api-Key never recorded");
    ok(!strstr(out.data, "c2VjcmV0") && !strstr(out.data, "session=1"), "no credential value anywhere");
    is_int(field(out.data, out.len, "Accept"), 1, "repeated header recorded once");
    is_str(got, "text/html, */*", "repeated header joined with ', '");
    is_int(field(out.data, out.len, "sword_type"), 1, "query parameter recorded");
    is_str(got, "katana", "query parameter value");
    field(out.data, out.len, "price");
    is_str(got, "12", "typed int parameter written as a JSON number");
    ok(strstr(out.data, "\"price\":12") != NULL, "price is not quoted");
    field(out.data, out.len, "note");
    is_str(got, "a b c", "percent-decoding and '+' as space");
    is_int(field(out.data, out.len, "flag"), 1, "parameter without '=' kept");
    is_str(got, "", "... with an empty value");
    ql_buf_free(&out);
}

static void test_typed_params(void)
{
    const ql_catalog_event_t *ev = ql_catalog_event(cat, "purchase_sword", 14);
    const char *bad[] = {"price=abc", "price=", "price=1.5", "price=9223372036854775808", "price=12abc"};
    for (size_t i = 0; i < QL_ARRAY_LEN(bad); i++) {
        ql_event_input_t in = {NULL, 0, bad[i], strlen(bad[i]), 0};
        ql_buf_t out = QL_BUF_INIT;
        char err[256] = "";
        is_int(ql_event_build_route(eb, ev, &in, &out, err, sizeof err), -1, "%s is a 400", bad[i]);
        is_str(ql_event_error_field(eb), "price", "  error names the field (%s)", err);
        is_int(out.len, 0, "  nothing written");
        ql_buf_free(&out);
    }
    static const struct { const char *q, *want; } good[] = {
        {"price=-5", "-5"}, {"price=007", "7"}, {"price=%2B3", "3"},
        {"price=9223372036854775807", "9223372036854775807"}};
    for (size_t i = 0; i < QL_ARRAY_LEN(good); i++) {
        ql_event_input_t in = {NULL, 0, good[i].q, strlen(good[i].q), 0};
        ql_buf_t out = QL_BUF_INIT;
        char err[256] = "";
        is_int(ql_event_build_route(eb, ev, &in, &out, err, sizeof err), 1, "%s accepted", good[i].q);
        field(out.data, out.len, "price");
        is_str(got, good[i].want, "  as the expected number");
        ql_buf_free(&out);
    }
    /* A query string that is not UTF-8 after decoding. */
    ql_event_input_t in = {NULL, 0, "sword_type=%FF", 14, 0};
    ql_buf_t out = QL_BUF_INIT;
    char err[256] = "";
    is_int(ql_event_build_route(eb, ev, &in, &out, err, sizeof err), -1, "invalid UTF-8 parameter is a 400");
    ql_buf_free(&out);
}

static void test_float_bool(void)
{
    const char *conf = "[event e]\nroute = GET /e\nparam.f = float\nparam.b = bool\nparam.s = string\n";
    ql_config_t *cfg;
    ql_catalog_t *c2;
    char err[256] = "";
    ok(ql_config_parse(&cfg, "t.conf", conf, strlen(conf), err, sizeof err) == 0, "custom config parses");
    ok(ql_catalog_load(&c2, cfg, err, sizeof err) == 0, "custom catalog loads (%s)", err);
    ql_event_builder_t *b2 = ql_event_builder_new(c2);
    const ql_catalog_event_t *ev = &c2->events[0];
    const char *q = "f=-1.5e3&b=TRUE&s=12";
    ql_event_input_t in = {NULL, 0, q, strlen(q), 0};
    ql_buf_t out = QL_BUF_INIT;
    is_int(ql_event_build_route(b2, ev, &in, &out, err, sizeof err), 1, "float/bool/string params");
    ok(strstr(out.data, "\"f\":-1.5e3") != NULL, "float written as given, unquoted");
    ok(strstr(out.data, "\"b\":true") != NULL, "bool written as true");
    ok(strstr(out.data, "\"s\":\"12\"") != NULL, "string param stays a string");
    const char *bad[] = {"f=abc", "f=1.", "f=nan", "f=0x10", "b=yes", "b="};
    for (size_t i = 0; i < QL_ARRAY_LEN(bad); i++) {
        ql_event_input_t bi = {NULL, 0, bad[i], strlen(bad[i]), 0};
        ql_buf_reset(&out);
        is_int(ql_event_build_route(b2, ev, &bi, &out, err, sizeof err), -1, "%s is a 400", bad[i]);
    }
    const char *body = "{\"event_type\":\"e\",\"f\":2,\"b\":\"0\",\"s\":7}";
    ql_buf_reset(&out);
    is_int(ql_event_build_body(b2, &in, body, strlen(body), &out, err, sizeof err), 1, "typed body fields");
    field(out.data, out.len, "f");
    is_str(got, "2", "body float (query f overridden by body)");
    field(out.data, out.len, "b");
    is_str(got, "false", "body bool given as \"0\"");
    field(out.data, out.len, "s");
    is_str(got, "7", "body number for a string param becomes the string \"7\"");
    ok(strstr(out.data, "\"s\":\"7\"") != NULL, "... quoted");
    const char *bodies_bad[] = {"{\"event_type\":\"e\",\"f\":\"x\"}", "{\"event_type\":\"e\",\"b\":1}",
                                "{\"event_type\":\"e\",\"s\":[1]}", "{\"event_type\":\"e\",\"f\":{}}"};
    for (size_t i = 0; i < QL_ARRAY_LEN(bodies_bad); i++) {
        ql_buf_reset(&out);
        ql_event_input_t none = {NULL, 0, NULL, 0, 0};
        is_int(ql_event_build_body(b2, &none, bodies_bad[i], strlen(bodies_bad[i]), &out, err, sizeof err), -1,
               "%s is a 400", bodies_bad[i]);
    }
    ql_buf_free(&out);
    ql_event_builder_free(b2);
    ql_catalog_free(c2);
    ql_config_free(cfg);
}

static void test_body(void)
{
    ql_event_header_t hs[] = {H("host", "h1"), H("user-agent", "ua"), H("cookie", "secret")};
    const char *q = "source=web&price=1";
    ql_event_input_t in = {hs, QL_ARRAY_LEN(hs), q, strlen(q), 1763757785000000};
    char err[256] = "";
    ql_buf_t out = QL_BUF_INIT;
    ql_buf_puts(&out, "PREFIX");  /* the builder appends; what is there stays */

    const char *nd = "{\"event_type\":\"join_guild\",\"guild_id\":\"g1\",\"Host\":\"h2\",\"meta\":{\"a\":[1,2]}}\n"
                     "\n"
                     "  {\"event_type\":\"purchase_sword\",\"price\":\"5\",\"sword_type\":\"k\\u00e9\"}\r\n";
    is_int(ql_event_build_body(eb, &in, nd, strlen(nd), &out, err, sizeof err), 2, "NDJSON: two events (%s)", err);
    size_t n;
    const ql_event_span_t *sp = ql_event_spans(eb, &n);
    is_int(n, 2, "two spans");
    ok(!strncmp(out.data, "PREFIX", 6) && sp[0].off == 6, "appended after what was in the buffer");
    ok(strcmp(sp[0].id, sp[1].id) != 0, "distinct event ids");
    ok(strcmp(sp[0].id, sp[1].id) < 0, "ids increase (UUIDv7)");
    const char *e1 = out.data + sp[0].off, *e2 = out.data + sp[1].off;
    ok(ql_json_validate_object(e1, sp[0].len, NULL, 0) == 0, "event 1 valid JSON");
    ok(ql_json_validate_object(e2, sp[1].len, NULL, 0) == 0, "event 2 valid JSON");
    field(e1, sp[0].len, "event_type");
    is_str(got, "join_guild", "event 1 type");
    is_int(field(e1, sp[0].len, "Host"), 1, "body Host replaces the header (one key)");
    is_str(got, "h2", "body wins over header");
    field(e1, sp[0].len, "meta");
    is_str(got, "{\"a\":[1,2]}", "nested body value kept as JSON");
    is_int(field(e1, sp[0].len, "source"), 1, "query parameters apply to POST events too");
    is_int(ci_field_count(e1, sp[0].len, "cookie"), 0, "deny-list applies to POST events");
    is_int(field(e1, sp[0].len, "price"), 1, "untyped for join_guild: price from the query as a string");
    is_str(got, "1", "... value");
    ok(strstr(e1, "\"price\":\"1\"") != NULL, "... quoted, since join_guild does not type price");
    field(e2, sp[1].len, "price");
    is_str(got, "5", "typed body string \"5\" becomes 5");
    ok(strstr(e2, "\"price\":5") != NULL, "... unquoted");
    field(e2, sp[1].len, "sword_type");
    is_str(got, "k\xc3\xa9", "escaped body string decodes to the same text");
    field(e2, sp[1].len, "Host");
    is_str(got, "h1", "event 2 keeps the header Host");

    /* All or nothing: a bad third event leaves the buffer as it was. */
    size_t before = out.len;
    const char *bad[] = {
        "{\"event_type\":\"join_guild\"}\n{\"event_type\":\"join_guild\"}\n{\"event_type\":\"nope\"}",
        "{\"event_type\":\"join_guild\"}\n{\"event_type\":\"join_guild\",\"event_id\":\"x\"}",
        "{\"event_type\":\"join_guild\"}\n{\"event_type\":\"join_guild\",\"Timestamp\":\"x\"}",
        "{\"event_type\":\"join_guild\"}\n{\"event_type\":\"join_guild\",\"EVENT_TYPE\":\"x\"}",
        "{\"event_type\":\"join_guild\"}\n{\"guild_id\":\"x\"}",
        "{\"event_type\":\"join_guild\"}\n{\"event_type\":\"join_guild\",\"event_type\":\"join_guild\"}",
        "{\"event_type\":\"join_guild\"}\n{\"event_type\":5}",
        "{\"event_type\":\"join_guild\"}\n{\"event_type\":\"join_guild\",\"a\":1,\"a\":2}",
        "{\"event_type\":\"join_guild\"}\n{\"event_type\":\"join_guild\",\"\":1}",
        "{\"event_type\":\"join_guild\"}\n{\"event_type\":\"join_guild\"",
        "{\"event_type\":\"join_guild\"}\n[1,2]",
        "{\"event_type\":\"join_guild\"} x",
        "{\"event_type\":\"purchase_sword\",\"price\":1.5}",
        "",
        " \n\r\n",
        "{\"event_type\":\"join_guild\",\"bad\":\"\xff\"}",
    };
    for (size_t i = 0; i < QL_ARRAY_LEN(bad); i++) {
        err[0] = '\0';
        is_int(ql_event_build_body(eb, &in, bad[i], strlen(bad[i]), &out, err, sizeof err), -1, "bad body %zu: %s", i,
               err);
        is_int(out.len, before, "  nothing appended");
        ql_event_spans(eb, &n);
        is_int(n, 0, "  no spans");
    }
    ql_buf_free(&out);
}

static void test_canonical(void)
{
    const char *cases[][2] = {{"user-agent", "User-Agent"}, {"x-api-KEY", "X-Api-Key"}, {"HOST", "Host"},
                              {"dnt", "Dnt"}, {"a--b", "A--B"}, {"-x", "-X"}};
    for (size_t i = 0; i < QL_ARRAY_LEN(cases); i++) {
        char o[64] = {0};
        ql_event_canonical_header(cases[i][0], strlen(cases[i][0]), o);
        is_str(o, cases[i][1], "canonical %s", cases[i][0]);
    }
    /* A header value that is not UTF-8 is recorded with U+FFFD, and the event stays valid JSON. */
    ql_event_header_t hs[] = {H("x-bin", "a\xff\xc0z")};
    ql_event_input_t in = {hs, 1, NULL, 0, 0};
    ql_buf_t out = QL_BUF_INIT;
    char err[128];
    is_int(ql_event_build_route(eb, &cat->events[0], &in, &out, err, sizeof err), 1, "binary header accepted");
    ok(ql_json_validate_object(out.data, out.len, NULL, 0) == 0, "still valid JSON (UTF-8)");
    field(out.data, out.len, "X-Bin");
    is_str(got, "a\xef\xbf\xbd\xef\xbf\xbdz", "invalid bytes became U+FFFD");
    /* Custom deny-list. */
    ql_buf_free(&out);
}

static void test_deny_config(void)
{
    const char *conf = "[server]\ndeny_headers = x-secret, Cookie\n[event e]\nroute = GET /e\n";
    ql_config_t *cfg;
    ql_catalog_t *c2;
    char err[256];
    ql_config_parse(&cfg, "t.conf", conf, strlen(conf), err, sizeof err);
    ok(ql_catalog_load(&c2, cfg, err, sizeof err) == 0, "deny_headers config loads");
    ql_event_builder_t *b2 = ql_event_builder_new(c2);
    ql_event_header_t hs[] = {H("x-secret", "1"), H("authorization", "now-allowed"), H("cookie", "c")};
    ql_event_input_t in = {hs, QL_ARRAY_LEN(hs), NULL, 0, 0};
    ql_buf_t out = QL_BUF_INIT;
    ql_event_build_route(b2, &c2->events[0], &in, &out, err, sizeof err);
    is_int(field(out.data, out.len, "X-Secret"), 0, "configured deny-list drops X-Secret");
    is_int(field(out.data, out.len, "Cookie"), 0, "... and Cookie");
    is_int(field(out.data, out.len, "Authorization"), 1, "the list replaces the default");
    ql_buf_free(&out);
    ql_event_builder_free(b2);
    ql_catalog_free(c2);
    ql_config_free(cfg);
}

static void test_many_fields(void)
{
    /* Enough fields to grow the builder's index several times. */
    ql_buf_t body = QL_BUF_INIT, out = QL_BUF_INIT;
    ql_buf_puts(&body, "{\"event_type\":\"join_guild\"");
    for (int i = 0; i < 500; i++) ql_buf_printf(&body, ",\"k%d\":%d", i, i);
    ql_buf_puts(&body, "}");
    ql_event_input_t in = {NULL, 0, NULL, 0, 0};
    char err[128];
    is_int(ql_event_build_body(eb, &in, body.data, body.len, &out, err, sizeof err), 1, "500 fields");
    field(out.data, out.len, "k499");
    is_str(got, "499", "last field present");
    is_int(field(out.data, out.len, "k0"), 1, "first field once");
    ql_buf_free(&body);
    ql_buf_free(&out);
}

int main(void)
{
    ql_config_t *cfg;
    char err[256];
    if (ql_config_load(&cfg, NULL, err, sizeof err) || ql_catalog_load(&cat, cfg, err, sizeof err))
        tap_bail("%s", err);
    eb = ql_event_builder_new(cat);
    test_route_event();
    test_typed_params();
    test_float_bool();
    test_body();
    test_canonical();
    test_deny_config();
    test_many_fields();
    ql_event_builder_free(eb);
    ql_catalog_free(cat);
    ql_config_free(cfg);
    return tap_done();
}
