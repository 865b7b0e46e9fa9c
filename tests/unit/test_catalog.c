/*
 * test_catalog.c — the event catalog (src/catalog.c): the built-in default
 * reproduces the seed's routes and texts; lookups; config errors are caught
 * with their line numbers.
 */
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "tap.h"

static int load(const char *text, ql_catalog_t **cat, char *err, size_t errlen)
{
    ql_config_t *cfg;
    if (ql_config_parse(&cfg, "t.conf", text, strlen(text), err, errlen)) return -1;
    int rc = ql_catalog_load(cat, cfg, err, errlen);
    ql_config_free(cfg);
    return rc;
}

static void test_default(void)
{
    ql_config_t *cfg;
    ql_catalog_t *cat;
    char err[256] = "";
    ok(ql_config_load(&cfg, NULL, err, sizeof err) == 0, "built-in config loads");
    ok(ql_catalog_load(&cat, cfg, err, sizeof err) == 0, "built-in catalog loads (%s)", err);
    is_int(cat->n_events, 3, "three event types");
    is_str(cat->listen, "127.0.0.1:5000", "listen default");
    is_int(cat->max_body, 1 << 20, "max_body 1 MiB");
    is_int(cat->max_headers, 16 << 10, "max_headers 16 KiB");
    is_int(cat->n_api_keys, 0, "no API key by default");
    is_int(cat->threads, 0, "threads: one per core");
    static const struct { const char *path, *type, *text; } seed[] = {
        {"/", "default", "This is the default response!\n"},
        {"/purchase_a_sword", "purchase_sword", "Sword Purchased!\n"},
        {"/purchase_sword", "purchase_sword", "Sword Purchased!\n"},
        {"/buy_a_sword", "purchase_sword", "Sword Purchased!\n"},
        {"/join_guild", "join_guild", "Guild joined!\n"},
    };
    for (size_t i = 0; i < sizeof seed / sizeof seed[0]; i++) {
        int mok = -1;
        const ql_catalog_event_t *ev = ql_catalog_route(cat, "GET", 3, seed[i].path, strlen(seed[i].path), &mok);
        ok(ev != NULL && mok == 1, "GET %s is a route", seed[i].path);
        is_str(ev ? ev->name : NULL, seed[i].type, "  -> %s", seed[i].type);
        is_str(ev ? ev->response : NULL, seed[i].text, "  seed response text");
    }
    int mok = -1;
    ok(ql_catalog_route(cat, "POST", 4, "/join_guild", 11, &mok) == NULL && mok == 0, "POST /join_guild: 405");
    ok(ql_catalog_route(cat, "GET", 3, "/nope", 5, &mok) == NULL && mok == 1, "GET /nope: 404");
    ok(ql_catalog_route(cat, "GET", 3, "/join_guild/", 12, &mok) == NULL, "exact paths only");
    ok(ql_catalog_event(cat, "join_guild", 10) != NULL, "event by name");
    ok(ql_catalog_event(cat, "join_guil", 9) == NULL, "no prefix match");
    const ql_catalog_event_t *ps = ql_catalog_event(cat, "purchase_sword", 14);
    const ql_catalog_param_t *p = ql_catalog_param(ps, "price", 5);
    ok(p && p->type == QL_FIELD_INT, "purchase_sword.price is an int");
    is_int(ql_catalog_column_type(cat, "price", 5), QL_FIELD_INT, "lake column price: INT");
    is_int(ql_catalog_column_type(cat, "Host", 4), QL_FIELD_STRING, "lake column Host: STRING");
    ok(ql_catalog_header_denied(cat, "authorization", 13), "authorization denied (any case)");
    ok(ql_catalog_header_denied(cat, "X-API-KEY", 9), "X-API-KEY denied");
    ok(!ql_catalog_header_denied(cat, "host", 4), "host not denied");
    ok(ql_catalog_is_reserved("Event_ID", 8) && ql_catalog_is_reserved("timestamp", 9), "reserved names, any case");
    ok(!ql_catalog_is_reserved("event", 5), "'event' is not reserved");
    ql_catalog_free(cat);
    ql_config_free(cfg);
}

static void test_custom(void)
{
    ql_catalog_t *cat;
    char err[256] = "";
    const char *conf = "[server]\nlisten = 0.0.0.0:8080\nmax_body = 64k\napi_key = a\napi_key = b\nthreads = 3\n"
                       "[event e]\nroute = GET /x\nroute = POST /x\nparam.n = float\n"
                       "[event f]\nroute = GET /y\nparam.n = int\n[table t]\nevent_types = *\n";
    ok(load(conf, &cat, err, sizeof err) == 0, "custom catalog (%s)", err);
    is_str(cat->listen, "0.0.0.0:8080", "listen");
    is_int(cat->max_body, 64 << 10, "max_body 64k");
    is_int(cat->n_api_keys, 2, "two api keys");
    is_int(cat->threads, 3, "threads");
    is_str(cat->events[0].response, "OK\n", "default response text");
    int mok;
    ok(ql_catalog_route(cat, "POST", 4, "/x", 2, &mok) == &cat->events[0], "POST /x");
    is_int(ql_catalog_column_type(cat, "n", 1), QL_FIELD_STRING, "types disagree: STRING column");
    ql_catalog_free(cat);

    static const struct { const char *conf, *want; } bad[] = {
        {"[server]\nbogus = 1\n[event e]\nroute = GET /x\n", "t.conf:2: unknown key 'bogus'"},
        {"[event e]\nroute = GET /x\n[event f]\nroute = GET /x\n", "t.conf:4: route GET /x already belongs to e"},
        {"[event e]\nroute = POST /events\n", "already belongs to the collector"},
        {"[event e]\nroute = GET /metrics\n", "already belongs to the collector"},
        {"[event e]\nroute = /x\n", "route wants 'METHOD /path'"},
        {"[event e]\nroute = get /x\n", "route wants 'METHOD /path'"},
        {"[event e]\nroute = GET /x?a=1\n", "route wants 'METHOD /path'"},
        {"[event e]\nparam.p = integer\n", "type must be string, int, float or bool"},
        {"[event e]\nparam.event_id = string\n", "cannot be a parameter name"},
        {"[event e]\nparam.p = int\nparam.p = int\n", "declared twice"},
        {"[event e f]\n", "event type name"},
        {"[event e]\n[event e]\n", "declared twice"},
        {"[server]\nmax_body = lots\n[event e]\n", "bad size"},
        {"[server]\nthreads = -1\n[event e]\n", "threads"},
        {"[event e]\nresponsee = x\n", "unknown key 'responsee'"},
        {"[server]\n", "catalog is empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cat = NULL;
        ok(load(bad[i].conf, &cat, err, sizeof err) < 0 && cat == NULL, "bad config %zu rejected", i);
        ok(strstr(err, bad[i].want) != NULL, "  message: %s", err);
    }
}

int main(void)
{
    test_default();
    test_custom();
    return tap_done();
}
