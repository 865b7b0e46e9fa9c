/*
 * fuzz_config.c — libFuzzer target for the operator's config file: any bytes
 * as an INI text through ql_config_parse, then (when it parses) the event
 * catalog (ql_catalog_load: routes, params, sizes, header lists), the log
 * options (ql_log_options_from_config) and the loader's transform
 * (ql_transform_new: [munge] rules and [table] filters), each freed again.
 *
 * Checked on every input: no crash, over-read or leak (ASan's leak check);
 * an error always comes with a message; a catalog that loads answers a
 * route and a column-type lookup.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "log.h"
#include "transform.h"
#include "fuzz_ubsan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);   /* exact size: ASan sees over-reads */
    memcpy(text, data, size);
    ql_config_t *cfg = NULL;
    ql_catalog_t *cat = NULL;
    ql_transform_t *tf = NULL;
    char err[256];
    err[0] = '\0';
    if (ql_config_parse(&cfg, "fuzz.conf", text, size, err, sizeof err) != 0) {
        if (!err[0]) abort();
        goto out;
    }
    err[0] = '\0';
    if (ql_catalog_load(&cat, cfg, err, sizeof err) != 0) {
        if (!err[0]) abort();
        cat = NULL;
    } else {
        int method_ok;
        (void)ql_catalog_route(cat, "GET", 3, "/", 1, &method_ok);
        (void)ql_catalog_column_type(cat, "price", 5);
    }
    ql_log_options_t lo;
    memset(&lo, 0, sizeof lo);
    (void)ql_log_options_from_config(&lo, cfg, err, sizeof err);
    err[0] = '\0';
    if (ql_transform_new(&tf, cfg, cat, err, sizeof err) != 0) {
        if (!err[0]) abort();
        tf = NULL;
    }
out:
    ql_transform_free(tf);
    ql_catalog_free(cat);
    ql_config_free(cfg);
    free(text);
    return 0;
}
