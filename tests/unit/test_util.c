/*
 * test_util.c — unit tests for util.c, json.c and config.c: RFC 3339,
 * UUIDv7, sizes, the JSON scanner's strictness, the config dialect.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "tap.h"
#include "util.h"

static void test_time(void)
{
    char buf[QL_RFC3339_LEN];
    int64_t us;
    ql_rfc3339_format(0, buf);
    is_str(buf, "1970-01-01T00:00:00.000000Z", "epoch formats");
    ql_rfc3339_format(1795379000123456LL, buf);
    ok(ql_rfc3339_parse(buf, strlen(buf), &us) == 0 && us == 1795379000123456LL, "format/parse round trip (%s)", buf);
    ok(ql_rfc3339_parse("2026-11-21T20:43:05Z", 20, &us) == 0, "no fraction ok");
    ok(ql_rfc3339_parse("2026-11-21T22:43:05.5+02:00", 27, &us) == 0 &&
           us == 1795293785500000LL, "offset and fraction");
    ql_rfc3339_format(us, buf);
    is_str(buf, "2026-11-21T20:43:05.500000Z", "offset applied");
    ok(ql_rfc3339_parse("2026-02-30T00:00:00Z", 20, &us) != 0, "Feb 30 rejected");
    ok(ql_rfc3339_parse("2026-11-21", 10, &us) != 0, "date alone rejected");
    ok(ql_rfc3339_parse("2026-11-21T20:43:05", 19, &us) != 0, "missing zone rejected");
    ql_rfc3339_format(-1, buf);
    is_str(buf, "1969-12-31T23:59:59.999999Z", "negative instants floor");
    char d[11];
    ql_date_format(1795293785500000LL, d);
    is_str(d, "2026-11-21", "date of an instant");
}

static void test_uuid(void)
{
    char a[QL_UUID_LEN], b[QL_UUID_LEN];
    int64_t now = ql_now_us();
    ql_uuidv7(now, a);
    ql_uuidv7(now, b);
    is_int(strlen(a), 36, "uuid length");
    ok(a[14] == '7', "version nibble is 7");
    ok(strchr("89ab", a[19]) != NULL, "variant bits");
    ok(strcmp(a, b) < 0, "ids in one ms sort in creation order");
}

static void test_sizes(void)
{
    uint64_t v;
    int64_t ms;
    ok(ql_parse_size("1M", &v) == 0 && v == 1048576, "1M");
    ok(ql_parse_size("16k", &v) == 0 && v == 16384, "16k");
    ok(ql_parse_size("12x", &v) != 0, "bad size rejected");
    ok(ql_parse_duration_ms("7d", &ms) == 0 && ms == 7LL * 86400000, "7d");
    ok(ql_parse_duration_ms("250ms", &ms) == 0 && ms == 250, "250ms");
    char b[32];
    ql_format_bytes(532, b, sizeof b);
    is_str(b, "532 B", "format_bytes: plain bytes, no decimals");
    ql_format_bytes(21.7e6, b, sizeof b);
    is_str(b, "21.7 MB", "format_bytes: decimal megabytes");
    ql_format_bytes(999.96e3, b, sizeof b);
    is_str(b, "1000.0 kB", "format_bytes: the unit changes at 1000, before rounding");
    ql_format_bytes(3e15, b, sizeof b);
    is_str(b, "3000.0 TB", "format_bytes: TB is the largest unit");
}

static int scan_all(const char *s)
{
    char err[128];
    return ql_json_validate_object(s, strlen(s), err, sizeof err);
}

static void test_json(void)
{
    ok(scan_all("{}") == 0, "empty object");
    ok(scan_all(" {\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":\"x\\u00e9\\ud83d\\ude00\"} ") == 0, "nested and escapes");
    ok(scan_all("{\"a\":1,}") != 0, "trailing comma rejected");
    ok(scan_all("{\"a\":01}") != 0, "leading zero rejected");
    ok(scan_all("{\"a\":\"\\ud800\"}") != 0, "lone surrogate rejected");
    ok(scan_all("{\"a\":\"\xc3\x28\"}") != 0, "bad UTF-8 rejected");
    ok(scan_all("{\"a\":1} x") != 0, "trailing garbage rejected");
    ok(scan_all("{\"a\":\"tab\there\"}") != 0, "raw control char rejected");
    ok(scan_all("[1]") != 0, "array is not an object");

    const char *doc = "{\"event_type\":\"purchase_sword\",\"price\":12,\"ok\":true,\"q\":\"a\\\"b\"}";
    ql_json_iter_t it;
    ql_json_token_t k, v;
    char err[128];
    ql_json_object_begin(&it, doc, strlen(doc), err, sizeof err);
    ok(ql_json_object_next(&it, &k, &v, err, sizeof err) == 1 && ql_json_string_eq(&k, "event_type") &&
           ql_json_string_eq(&v, "purchase_sword"), "first member");
    int64_t n = 0;
    ok(ql_json_object_next(&it, &k, &v, err, sizeof err) == 1 && ql_json_token_int64(&v, &n) == 0 && n == 12, "int member");
    ok(ql_json_object_next(&it, &k, &v, err, sizeof err) == 1 && v.kind == QL_JSON_TRUE, "bool member");
    ok(ql_json_object_next(&it, &k, &v, err, sizeof err) == 1 && v.escaped, "escaped string member");
    char out[16];
    size_t m = ql_json_unescape(&v, out);
    ok(m == 3 && memcmp(out, "a\"b", 3) == 0, "unescape");
    is_int(ql_json_object_next(&it, &k, &v, err, sizeof err), 0, "end of object");

    ql_buf_t b = QL_BUF_INIT;
    ql_json_write_string(&b, "a\"b\\c\n\x01", 7);
    is_str(b.data, "\"a\\\"b\\\\c\\n\\u0001\"", "write_string escapes");
    ql_buf_free(&b);
}

static void test_buf_reserved_is_empty_string(void)
{
    /* a buffer that was only reserved (nothing appended) is "" — sqlout's
     * cell of an empty TEXT value printed heap garbage before */
    ql_buf_t b = QL_BUF_INIT;
    ql_buf_reserve(&b, 10);
    char *s = ql_buf_steal(&b);
    is_str(s, "", "reserved-only buffer steals as \"\"");
    free(s);
    ql_buf_reserve(&b, 5);
    ql_buf_puts(&b, "ab");
    ql_buf_reserve(&b, 1000);   /* grows: still terminated at len */
    is_str(b.data, "ab", "grown buffer keeps its NUL");
    ql_buf_free(&b);
}

static void test_config(void)
{
    ql_config_t *cfg = NULL;
    char err[256];
    const char *text = "# c\n[server]\nlisten = 1.2.3.4:5 # trailing\n[event x]\nroute = GET /a\nroute = GET /b\n"
                       "response = Hi!\\n\n";
    ok(ql_config_parse(&cfg, "t", text, strlen(text), err, sizeof err) == 0, "parses");
    const ql_config_section_t *s = ql_config_section(cfg, "server", NULL);
    is_str(ql_config_get(s, "listen"), "1.2.3.4:5", "value with trailing comment");
    s = ql_config_section(cfg, "event", "x");
    ok(s && s->n_entries == 3, "repeated keys kept");
    is_str(ql_config_get(s, "response"), "Hi!\n", "escape decoded");
    ql_config_free(cfg);
    ok(ql_config_parse(&cfg, "t", "x = 1\n", 6, err, sizeof err) != 0, "entry before section rejected");
    ok(strstr(err, "t:1") != NULL, "error names file and line (%s)", err);
    ok(ql_config_load(&cfg, NULL, err, sizeof err) == 0 && ql_config_section(cfg, "event", "purchase_sword"),
       "built-in default config loads");
    ql_config_free(cfg);
}

int main(void)
{
    test_time();
    test_uuid();
    test_sizes();
    test_json();
    test_buf_reserved_is_empty_string();
    test_config();
    return tap_done();
}
