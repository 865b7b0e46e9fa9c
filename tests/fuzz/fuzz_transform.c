/*
 * fuzz_transform.c — libFuzzer target for the loader's transform
 * (src/transform.c): arbitrary bytes as a log record, through extract, munge
 * (set/rename/drop rules) and routing with the default tables.
 *
 * Checked on every input: no crash or sanitizer report; a record is either
 * rejected with a reason and no table, or accepted with a non-empty
 * event_type, an event_id, a routing mask within the configured tables
 * (extracted_events always), and fields that are never reserved keys, have
 * unique names that are valid UTF-8, and carry the munge rules' effects.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "transform.h"
#include "fuzz_ubsan.h"

static ql_config_t *cfg;
static ql_transform_t *tf;
static ql_event_t ev;

static const char conf[] =
    "[munge]\nset.Host = moe\nrename.sword_type = weapon\ndrop = Accept\n"
    "[table extracted_events]\nevent_types = *\n[table purchases]\nevent_types = purchase_sword\n"
    "[table join_guilds]\nevent_types = join_guild\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tf) {
        if (ql_config_parse(&cfg, "fuzz.conf", conf, sizeof conf - 1, NULL, 0) ||
            ql_transform_new(&tf, cfg, NULL, NULL, 0))
            abort();
    }
    /* an exact-size copy, so ASan sees any read past the record */
    char *rec = malloc(size ? size : 1);
    memcpy(rec, data, size);
    int r = ql_transform_event(tf, &ev, rec, size, 1795168800000000LL);
    if (r == 1) {
        if (!ev.reject || ev.tables) abort();
    } else {
        if (r != 0 || ev.reject || !ev.event_type_len || !ev.event_id_len) abort();
        if (!(ev.tables & 1) || (ev.tables >> 3)) abort();
        int host = 0;
        for (size_t i = 0; i < ev.n_fields; i++) {
            const ql_field_t *f = &ev.fields[i];
            if (!ql_utf8_valid(f->name, f->name_len)) abort();
            if ((f->name_len == 10 && !memcmp(f->name, "event_type", 10)) ||
                (f->name_len == 8 && !memcmp(f->name, "event_id", 8)) ||
                (f->name_len == 9 && !memcmp(f->name, "timestamp", 9)))
                abort();
            if ((f->name_len == 6 && !memcmp(f->name, "Accept", 6)) ||
                (f->name_len == 10 && !memcmp(f->name, "sword_type", 10)))
                abort();
            if (f->name_len == 4 && !memcmp(f->name, "Host", 4)) {
                if (f->value.len != 3 || memcmp(f->value.ptr, "moe", 3)) abort();
                host++;
            }
            for (size_t j = 0; j < i; j++)
                if (ev.fields[j].name_len == f->name_len && !memcmp(ev.fields[j].name, f->name, f->name_len))
                    abort();
            if (f->value.kind == QL_JSON_STRING && !ql_utf8_valid(f->value.ptr, f->value.len)) abort();
        }
        if (host != 1) abort();
    }
    free(rec);
    return 0;
}
