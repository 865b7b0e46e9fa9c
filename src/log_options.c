/*
 * log_options.c — the embedded log's settings from the config's [log]
 * section (segment_bytes, retention), shared by `serve` and `up` (log.h).
 */
#include <string.h>

#include "config.h"
#include "log.h"
#include "util.h"

int ql_log_options_from_config(ql_log_options_t *o, const ql_config_t *cfg, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    const ql_config_section_t *s = ql_config_section(cfg, "log", NULL);
    if (!s) return 0;
    const char *v;
    if ((v = ql_config_get(s, "segment_bytes")) && (ql_parse_size(v, &o->segment_bytes) || !o->segment_bytes))
        return ql_err(err, errlen, "%s: [log] segment_bytes: bad size '%s'", cfg->path, v);
    if ((v = ql_config_get(s, "retention")) && ql_parse_duration_ms(v, &o->retention_ms))
        return ql_err(err, errlen, "%s: [log] retention: bad duration '%s'", cfg->path, v);
    return 0;
}
