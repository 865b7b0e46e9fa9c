/*
 * test_transform.c — unit tests for transform.c: extract (reserved keys,
 * rejects), munge rules (set/rename/drop, config errors), routing by the
 * [table NAME] filters of the default config and of a custom one.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tap.h"
#include "transform.h"
#include "util.h"

static const ql_field_t *field(const ql_event_t *ev, const char *name)
{
    for (size_t i = 0; i < ev->n_fields; i++)
        if (ev->fields[i].name_len == strlen(name) && !memcmp(ev->fields[i].name, name, strlen(name)))
            return &ev->fields[i];
    return NULL;
}

static int field_is(const ql_event_t *ev, const char *name, const char *want)
{
    const ql_field_t *f = field(ev, name);
    return f && f->value.len == strlen(want) && !memcmp(f->value.ptr, want, f->value.len);
}

static int run(const ql_transform_t *t, ql_event_t *ev, const char *json)
{
    return ql_transform_event(t, ev, json, strlen(json), 1795293785000000LL);
}

static void test_default(void)
{
    char err[256];
    ql_config_t *cfg;
    ql_transform_t *t;
    ok(ql_config_load(&cfg, NULL, err, sizeof err) == 0, "default config");
    ok(ql_transform_new(&t, cfg, NULL, err, sizeof err) == 0, "transform from default config: %s", err);
    is_int(ql_transform_num_tables(t), 4, "four default tables");
    is_str(ql_transform_table_name(t, 1), "purchases", "table order kept");
    ql_event_t ev = {0};

    is_int(run(t, &ev, "{\"event_type\":\"purchase_sword\",\"Host\":\"user1.comcast.com\",\"sword_type\":\"katana\"}"), 0,
           "seed event accepted");
    is_int(ev.tables, 0x3, "purchase goes to extracted_events + purchases");
    ok(ev.event_id_len == 36 && ev.ts_us == 1795293785000000LL, "missing id and timestamp made up");
    ok(field_is(&ev, "Host", "user1.comcast.com") && ev.n_fields == 2, "other keys kept");

    is_int(run(t, &ev, "{\"event_type\":\"join_guild\",\"event_id\":\"abc\",\"timestamp\":\"2026-11-20T10:00:00Z\"}"), 0,
           "join");
    is_int(ev.tables, 0x5, "join goes to extracted_events + join_guilds");
    ok(ev.event_id_len == 3 && !memcmp(ev.event_id, "abc", 3), "event_id kept");
    is_int(ev.ts_us, 1795168800000000LL, "valid timestamp kept");
    is_int(ev.n_fields, 0, "reserved keys are not fields");

    run(t, &ev, "{\"event_type\":\"default\",\"timestamp\":\"yesterday\"}");
    ok(ev.tables == 0x9 && ev.ts_us == 1795293785000000LL, "invalid timestamp replaced; default routed");
    run(t, &ev, "{\"event_type\":\"other\"}");
    is_int(ev.tables, 0x1, "unknown type only in extracted_events");

    is_int(run(t, &ev, "{\"Host\":\"x\"}"), 1, "no event_type rejected");
    is_str(ev.reject, "no event_type", "reason");
    is_int(run(t, &ev, "{\"event_type\":\"default\""), 1, "truncated JSON rejected");
    is_str(ev.reject, "invalid JSON", "reason");
    is_int(run(t, &ev, "not json"), 1, "not JSON rejected");
    is_int(run(t, &ev, "{\"event_type\":7}"), 1, "non-string event_type rejected");
    is_int(run(t, &ev, "{\"event_type\":\"\"}"), 1, "empty event_type rejected");
    is_int(run(t, &ev, "{\"event_type\":\"a\"} x"), 1, "trailing garbage rejected");
    is_int(run(t, &ev, "[1]"), 1, "array rejected");

    is_int(run(t, &ev, "{\"event_type\":\"a\",\"k\":\"1\",\"k\":\"2\",\"e\\u0041\":\"x\\ny\",\"n\":12,\"o\":{\"a\":[1]}}"), 0,
           "escapes, duplicates, nested");
    ok(field_is(&ev, "k", "2") && ev.n_fields == 4, "duplicate key: last wins");
    ok(field_is(&ev, "eA", "x\ny"), "escaped key and value decoded");
    ok(field(&ev, "n") && field(&ev, "n")->value.kind == QL_JSON_NUMBER, "number kept as number token");
    ok(field_is(&ev, "o", "{\"a\":[1]}"), "nested object kept as its JSON text");
    is_int(ql_transform_column_type(t, "Host", 4), QL_PQ_STRING, "no catalog: STRING");

    char day[11] = "";
    int64_t cache = INT64_MIN;
    ql_transform_date(1795293785000000LL, &cache, day);
    is_str(day, "2026-11-21", "date of an instant");
    ql_transform_date(1795293785000000LL + 3600000000LL * 4, &cache, day);
    is_str(day, "2026-11-22", "next day after midnight");
    ql_transform_date(-1, &cache, day);
    is_str(day, "1969-12-31", "negative instant");

    ql_event_free(&ev);
    ql_transform_free(t);
    ql_config_free(cfg);
}

static int make(const char *text, ql_transform_t **t, ql_config_t **cfg, char *err, size_t errlen)
{
    if (ql_config_parse(cfg, "test.conf", text, strlen(text), err, errlen)) return -1;
    int rc = ql_transform_new(t, *cfg, NULL, err, errlen);
    if (rc) ql_config_free(*cfg);
    return rc;
}

static void test_munge(void)
{
    char err[256];
    ql_config_t *cfg;
    ql_transform_t *t;
    ok(make("[munge]\nset.Host = moe\nset.Cache-Control = no-cache\nrename.sword_type = weapon\ndrop = Accept\n"
            "[table swords]\nevent_types = purchase_sword, buy\n[table all]\nevent_types = *\n",
            &t, &cfg, err, sizeof err) == 0, "munge config: %s", err);
    ql_event_t ev = {0};
    run(t, &ev, "{\"event_type\":\"buy\",\"Host\":\"h\",\"Accept\":\"*/*\",\"sword_type\":\"katana\",\"weapon\":\"old\"}");
    ok(field_is(&ev, "Host", "moe"), "set overwrites (the seed's UDF)");
    ok(field_is(&ev, "Cache-Control", "no-cache"), "set adds");
    ok(!field(&ev, "Accept"), "drop removes");
    ok(field_is(&ev, "weapon", "katana") && !field(&ev, "sword_type"), "rename replaces the target");
    is_int(ev.n_fields, 3, "field count after munge");
    is_int(ev.tables, 0x3, "custom routing with several types");
    run(t, &ev, "{\"event_type\":\"x\"}");
    is_int(ev.tables, 0x2, "custom routing *");
    ql_event_free(&ev);
    ql_transform_free(t);
    ql_config_free(cfg);

    ok(make("[munge]\nset.event_type = x\n", &t, &cfg, err, sizeof err) != 0, "reserved field refused: %s", err);
    ok(make("[munge]\nfrobnicate.x = 1\n", &t, &cfg, err, sizeof err) != 0, "unknown rule refused: %s", err);
    ok(make("[table a]\nevent_types = x\n[table a]\nevent_types = y\n", &t, &cfg, err, sizeof err) != 0,
       "duplicate table refused");
    ok(make("[table _x]\nevent_types = x\n", &t, &cfg, err, sizeof err) != 0, "table name starting with _ refused");
    ok(make("[table a]\n", &t, &cfg, err, sizeof err) != 0, "table without event_types refused");
}

int main(void)
{
    test_default();
    test_munge();
    return tap_done();
}
