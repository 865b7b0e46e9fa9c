/*
 * report.c — `questlog report`'s content (see report.h): gathers figures
 * from the lake (footers for counts, SQL through the virtual table for the
 * charts), then renders HTML (inline CSS + SVG from svg.c) or Markdown.
 *
 * Time buckets: the finest of minute / 10 minutes / hour / day that gives at
 * most MAX_BUCKETS buckets over the events' time span; empty buckets are
 * kept (as zeros) so the time axis is linear. Buckets are text prefixes of
 * the RFC 3339 timestamps (substr), which keeps the SQL cheap.
 */
#include "report.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "lake.h"
#include "sqlout.h"
#include "svg.h"
#include "util.h"
#include "vtab.h"

#define MAX_BUCKETS 120
#define MAX_TYPES 5

typedef struct tinfo {
    char    *name;
    int64_t  rows, files, partitions;
    uint64_t bytes;
    int      has_time;
    int64_t  lo, hi;
    int      has_cols[4];   /* Host, price, sword_type, guild_id */
} tinfo_t;

typedef struct bars {
    int     n;
    char  **labels;
    double *vals;
} bars_t;

typedef struct timeseries {
    int     nx, ns;
    char  **keys;      /* bucket keys (timestamp prefixes) */
    char  **xl;        /* axis labels */
    char  **names;     /* series names */
    double *vals;      /* ns * nx */
    const char *unit;  /* "per minute", … */
} timeseries_t;

typedef struct report {
    const char *lake;
    tinfo_t    *t;
    int         nt;
    int64_t     log_records;   /* records the loader has taken from the log (lake's offset record) */
    int         have_offsets;
    int64_t     events, players, rejected, purchases, joins, revenue, guilds;
    int         have_revenue, have_guilds;
    int64_t     lo, hi;
    int         has_time;
    timeseries_t by_type, joins_ts;
    bars_t      top_players, swords;
} report_t;

static const char *col_names[4] = {"Host", "price", "sword_type", "guild_id"};

static tinfo_t *find_table(report_t *r, const char *name)
{
    for (int i = 0; i < r->nt; i++)
        if (strcmp(r->t[i].name, name) == 0) return &r->t[i];
    return NULL;
}

static void free_bars(bars_t *b)
{
    for (int i = 0; i < b->n; i++) free(b->labels[i]);
    free(b->labels);
    free(b->vals);
}

static void free_ts(timeseries_t *ts)
{
    for (int i = 0; i < ts->nx; i++) { free(ts->keys[i]); free(ts->xl[i]); }
    for (int i = 0; i < ts->ns; i++) free(ts->names[i]);
    free(ts->keys);
    free(ts->xl);
    free(ts->names);
    free(ts->vals);
}

static int64_t q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* label, value rows of sql into bars. */
static int q_bars(sqlite3 *db, const char *sql, bars_t *b, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return ql_err(err, errlen, "%s", sqlite3_errmsg(db));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        b->labels = ql_realloc(b->labels, (size_t)(b->n + 1) * sizeof(char *));
        b->vals = ql_realloc(b->vals, (size_t)(b->n + 1) * sizeof(double));
        const char *l = (const char *)sqlite3_column_text(st, 0);
        b->labels[b->n] = ql_strdup(l ? l : "(none)");
        b->vals[b->n] = sqlite3_column_double(st, 1);
        b->n++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : ql_err(err, errlen, "%s", sqlite3_errmsg(db));
}

/* Picks the bucket width for [lo, hi]: prefix length of the timestamp text,
 * step in µs, unit text, and where the axis label starts in the key. */
static void pick_bucket(int64_t lo, int64_t hi, int *plen, int64_t *step, const char **unit, int *lab_off)
{
    static const struct { int plen; int64_t step; const char *unit; int off; } b[] = {
        {16, 60000000LL, "events per minute", 11},
        {15, 600000000LL, "events per 10 minutes", 11},
        {13, 3600000000LL, "events per hour", 5},
        {10, 86400000000LL, "events per day", 5},
    };
    size_t i;
    for (i = 0; i + 1 < QL_ARRAY_LEN(b); i++)
        if ((hi - lo) / b[i].step + 1 <= MAX_BUCKETS) break;
    *plen = b[i].plen;
    *step = b[i].step;
    *unit = b[i].unit;
    *lab_off = b[i].off;
}

/* The bucket keys from lo to hi, and their axis labels. */
static void make_buckets(timeseries_t *ts, int64_t lo, int64_t hi)
{
    int plen, off;
    int64_t step;
    pick_bucket(lo, hi, &plen, &step, &ts->unit, &off);
    char prev[QL_RFC3339_LEN] = "";
    for (int64_t t = lo - lo % step; t <= hi + step && ts->nx < MAX_BUCKETS + 2; t += step) {
        char f[QL_RFC3339_LEN];
        ql_rfc3339_format(t, f);
        f[plen] = 0;
        if (strcmp(f, prev) == 0) continue;
        if (t > hi && ts->nx > 0) break;
        snprintf(prev, sizeof prev, "%s", f);
        ts->keys = ql_realloc(ts->keys, (size_t)(ts->nx + 1) * sizeof(char *));
        ts->xl = ql_realloc(ts->xl, (size_t)(ts->nx + 1) * sizeof(char *));
        ts->keys[ts->nx] = ql_strdup(f);
        ql_buf_t l = QL_BUF_INIT;
        ql_buf_puts(&l, f + off);
        if (plen == 15) ql_buf_putc(&l, '0');
        if (plen == 13) ql_buf_puts(&l, "h");
        for (char *p = l.data; *p; p++) if (*p == 'T') *p = ' ';
        ts->xl[ts->nx] = ql_buf_steal(&l);
        ts->nx++;
    }
}

static int bucket_index(const timeseries_t *ts, const char *key)
{
    int a = 0, b = ts->nx - 1;
    while (a <= b) {
        int m = (a + b) / 2, c = strcmp(ts->keys[m], key);
        if (c == 0) return m;
        if (c < 0) a = m + 1; else b = m - 1;
    }
    return -1;
}

/* Fills ts (buckets made) with `sql` rows (bucket, series, count); series
 * beyond MAX_TYPES go to "other". series_sql lists the series, biggest first. */
static int q_series(sqlite3 *db, timeseries_t *ts, const char *series_sql, const char *sql, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (series_sql) {
        if (sqlite3_prepare_v2(db, series_sql, -1, &st, NULL) != SQLITE_OK)
            return ql_err(err, errlen, "%s", sqlite3_errmsg(db));
        int more = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (ts->ns == MAX_TYPES) { more = 1; break; }
            const char *s = (const char *)sqlite3_column_text(st, 0);
            ts->names = ql_realloc(ts->names, (size_t)(ts->ns + 2) * sizeof(char *));
            ts->names[ts->ns++] = ql_strdup(s ? s : "(none)");
        }
        sqlite3_finalize(st);
        if (more) {
            ts->names = ql_realloc(ts->names, (size_t)(ts->ns + 1) * sizeof(char *));
            ts->names[ts->ns++] = ql_strdup("other");
        }
    } else {
        ts->names = ql_malloc(sizeof(char *));
        ts->names[ts->ns++] = ql_strdup("count");
    }
    ts->vals = ql_calloc((size_t)ts->ns * (size_t)(ts->nx ? ts->nx : 1), sizeof(double));
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return ql_err(err, errlen, "%s", sqlite3_errmsg(db));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        int x = k ? bucket_index(ts, k) : -1;
        if (x < 0) continue;
        int s = 0;
        if (series_sql) {
            const char *name = (const char *)sqlite3_column_text(st, 1);
            for (s = 0; s < ts->ns; s++)
                if (strcmp(ts->names[s], name ? name : "(none)") == 0) break;
            if (s == ts->ns) s = ts->ns - 1;   /* "other" */
        }
        ts->vals[s * ts->nx + x] += sqlite3_column_double(st, series_sql ? 2 : 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : ql_err(err, errlen, "%s", sqlite3_errmsg(db));
}

static int gather(report_t *r, sqlite3 *db, char *err, size_t errlen)
{
    char **names = NULL;
    int n = 0, rc = 0;
    if (ql_vtab_list_tables(r->lake, &names, &n, err, errlen) < 0) return -1;
    r->t = ql_calloc((size_t)n + 1, sizeof *r->t);
    for (int i = 0; i < n && rc == 0; i++) {
        ql_buf_t dir = QL_BUF_INIT;
        ql_vtab_table_t *t = NULL;
        ql_buf_printf(&dir, "%s/%s", r->lake, names[i]);
        rc = ql_vtab_table_open(&t, dir.data, err, errlen);
        ql_buf_free(&dir);
        if (rc < 0) break;
        tinfo_t *ti = &r->t[r->nt++];
        ti->name = ql_strdup(names[i]);
        ti->rows = t->rows;
        ti->files = t->nfiles;
        ti->bytes = t->bytes;
        ti->partitions = ql_vtab_table_partitions(t);
        ti->has_time = ql_vtab_table_time_range(t, "timestamp", &ti->lo, &ti->hi);
        for (int c = 0; c < 4; c++) ti->has_cols[c] = ql_vtab_table_column(t, col_names[c]) >= 0;
        ql_vtab_table_free(t);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (rc < 0) return rc;

    ql_lake_offsets_t off = {0};
    if (find_table(r, "extracted_events") &&
        ql_lake_read_offsets(r->lake, "extracted_events", &off, err, errlen) == 0 && off.n > 0) {
        r->have_offsets = 1;
        for (size_t i = 0; i < off.n; i++) r->log_records += off.last[i] + 1;
    }
    ql_lake_offsets_free(&off);

    tinfo_t *ev = find_table(r, "extracted_events"), *pu = find_table(r, "purchases"),
            *jg = find_table(r, "join_guilds"), *rj = find_table(r, "_rejected");
    if (rj) r->rejected = rj->rows;
    if (pu) r->purchases = pu->rows;
    if (jg) r->joins = jg->rows;
    if (ev) {
        r->events = ev->rows;
        r->has_time = ev->has_time;
        r->lo = ev->lo;
        r->hi = ev->hi;
        if (ev->has_cols[0]) r->players = q_int(db, "SELECT count(DISTINCT Host) FROM extracted_events");
        if (r->has_time) {
            make_buckets(&r->by_type, r->lo, r->hi);
            char sql[512];
            int plen = (int)strlen(r->by_type.keys[0]);
            snprintf(sql, sizeof sql,
                     "SELECT substr(timestamp, 1, %d), event_type, count(*) FROM extracted_events GROUP BY 1, 2", plen);
            if (q_series(db, &r->by_type,
                         "SELECT event_type FROM extracted_events GROUP BY 1 ORDER BY count(*) DESC, 1", sql, err,
                         errlen) < 0)
                return -1;
        }
    }
    if (pu && pu->has_cols[0] &&
        q_bars(db, "SELECT Host, count(*) FROM purchases WHERE Host IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
               &r->top_players, err, errlen) < 0)
        return -1;
    if (pu && pu->has_cols[2] &&
        q_bars(db, "SELECT sword_type, count(*) FROM purchases GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 12", &r->swords, err,
               errlen) < 0)
        return -1;
    if (pu && pu->has_cols[1]) {
        r->have_revenue = 1;
        r->revenue = q_int(db, "SELECT coalesce(sum(price), 0) FROM purchases");
    }
    if (jg && jg->has_cols[3]) {
        r->have_guilds = 1;
        r->guilds = q_int(db, "SELECT count(DISTINCT guild_id) FROM join_guilds");
    }
    if (jg && jg->has_time) {
        /* same buckets as the events chart when there is one, so the axes agree */
        if (r->has_time) make_buckets(&r->joins_ts, r->lo < jg->lo ? r->lo : jg->lo, r->hi > jg->hi ? r->hi : jg->hi);
        else make_buckets(&r->joins_ts, jg->lo, jg->hi);
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT substr(timestamp, 1, %d), count(*) FROM join_guilds GROUP BY 1",
                 (int)strlen(r->joins_ts.keys[0]));
        if (q_series(db, &r->joins_ts, NULL, sql, err, errlen) < 0) return -1;
    }
    return 0;
}

/* ---- rendering --------------------------------------------------------- */

static void fmt_count(char *out, size_t n, int64_t v)
{
    /* 1234567 -> 1,234,567 */
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", (long long)(v < 0 ? -v : v));
    size_t len = strlen(tmp), j = 0;
    if (v < 0 && j + 1 < n) out[j++] = '-';
    for (size_t i = 0; i < len && j + 2 < n; i++) {
        if (i && (len - i) % 3 == 0) out[j++] = ',';
        out[j++] = tmp[i];
    }
    out[j] = 0;
}

static void fmt_bytes(char *out, size_t n, uint64_t b)
{
    if (b >= 1 << 30) snprintf(out, n, "%.1f GiB", b / 1073741824.0);
    else if (b >= 1 << 20) snprintf(out, n, "%.1f MiB", b / 1048576.0);
    else if (b >= 1 << 10) snprintf(out, n, "%.1f KiB", b / 1024.0);
    else snprintf(out, n, "%llu B", (unsigned long long)b);
}

static void fmt_span(char *out, size_t n, int64_t us)
{
    int64_t s = us / 1000000;
    if (s >= 86400) snprintf(out, n, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    else if (s >= 3600) snprintf(out, n, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else if (s >= 60) snprintf(out, n, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
    else snprintf(out, n, "%llds", (long long)s);
}

static const char css[] =
    ":root{--bg:#f4f6fb;--card:#fff;--ink:#111827;--muted:#6b7280;--line:#e6e8ef;--accent:#4f7cff}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
    "header{background:linear-gradient(135deg,#17224d 0%,#3552c9 60%,#4f7cff 100%);color:#fff;padding:30px 40px 64px}"
    "header h1{margin:0;font-size:30px;letter-spacing:-.5px}"
    "header p{margin:6px 0 0;opacity:.85}"
    "main{max-width:1120px;margin:0 auto;padding:0 24px 24px}"
    ".kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(128px,1fr));gap:14px;margin-top:-44px}"
    ".kpi{background:var(--card);border-radius:14px;padding:14px 18px;box-shadow:0 2px 8px rgba(17,24,39,.08)}"
    ".kpi .v{font-size:24px;font-weight:700;letter-spacing:-.5px;white-space:nowrap}"
    ".kpi .l{color:var(--muted);font-size:13px}"
    ".card{background:var(--card);border-radius:14px;padding:20px 24px;margin-top:18px;box-shadow:0 2px 8px rgba(17,24,39,.06)}"
    ".card h2{font-size:18px;margin:0 0 2px}"
    ".sub{color:var(--muted);font-size:13px;margin:0 0 14px}"
    ".grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}"
    ".grid2 .card{margin-top:18px}"
    "table{border-collapse:collapse;width:100%;font-size:14px}"
    "th{color:var(--muted);font-weight:600;text-align:left;border-bottom:2px solid var(--line);padding:6px 10px}"
    "td{border-bottom:1px solid var(--line);padding:6px 10px}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "code{background:#eef1f8;border-radius:4px;padding:1px 5px;font-size:13px}"
    ".empty{color:var(--muted);font-style:italic}"
    "footer{color:var(--muted);font-size:12px;text-align:center;padding:24px}"
    "@media(max-width:800px){.grid2{grid-template-columns:1fr}}";

static void kpi(ql_buf_t *b, const char *value, const char *label)
{
    ql_buf_puts(b, "<div class=\"kpi\"><div class=\"v\">");
    ql_svg_escape(b, value);
    ql_buf_puts(b, "</div><div class=\"l\">");
    ql_svg_escape(b, label);
    ql_buf_puts(b, "</div></div>\n");
}

/* The pipeline: clients → collector → log → loader → tables (with counts). */
static void pipeline_svg(ql_buf_t *b, const report_t *r)
{
    int nt = r->nt ? r->nt : 1, row = 40, h = nt * row + 40;
    if (h < 170) h = 170;
    int cy = h / 2;
    ql_buf_printf(b,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1040 %d\" width=\"100%%\" role=\"img\" "
                  "font-family=\"system-ui, -apple-system, Segoe UI, Roboto, sans-serif\" font-size=\"13\">\n"
                  "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
                  "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#9ca3af\"/>"
                  "</marker></defs>\n",
                  h);
    struct { const char *title, *sub; char note[64]; } st[4] = {
        {"game clients", "HTTP GET / POST", ""},
        {"collector", "h2o · ack = durable", ""},
        {"log", "segments or Kafka", ""},
        {"loader", "extract · munge · route", ""},
    };
    char c[32];
    if (r->have_offsets) {
        fmt_count(c, sizeof c, r->log_records);
        snprintf(st[2].note, sizeof st[2].note, "%s records loaded", c);
    }
    for (int i = 0; i < 4; i++) {
        int x = 10 + i * 180;
        ql_buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"140\" height=\"64\" rx=\"12\" fill=\"%s\" stroke=\"%s\"/>\n", x,
                      cy - 32, i == 2 ? "#eef2ff" : "#f8fafc", i == 2 ? "#4f7cff" : "#cbd5e1");
        ql_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-weight=\"700\" fill=\"#111827\">%s</text>\n",
                      x + 70, cy - 8, st[i].title);
        ql_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#6b7280\" font-size=\"11\">", x + 70,
                      cy + 10);
        ql_svg_escape(b, st[i].sub);
        ql_buf_puts(b, "</text>\n");
        if (st[i].note[0]) {
            ql_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#3552c9\" font-size=\"12\" "
                             "font-weight=\"600\">", x + 70, cy + 50);
            ql_svg_escape(b, st[i].note);
            ql_buf_puts(b, "</text>\n");
        }
        if (i < 3)
            ql_buf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#9ca3af\" stroke-width=\"2\" "
                             "marker-end=\"url(#arrow)\"/>\n", x + 142, cy, x + 178, cy);
    }
    /* tables */
    int tx = 790, top = (h - nt * row) / 2;
    for (int i = 0; i < r->nt; i++) {
        const tinfo_t *t = &r->t[i];
        int y = top + i * row, rej = t->name[0] == '_';
        ql_buf_printf(b, "<path d=\"M %d %d C %d %d, %d %d, %d %d\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" "
                         "marker-end=\"url(#arrow)\"/>\n",
                      10 + 3 * 180 + 142, cy, tx - 30, cy, tx - 40, y + 16, tx - 2, y + 16, rej ? "#eb5757" : "#9ca3af");
        ql_buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"240\" height=\"32\" rx=\"8\" fill=\"%s\" stroke=\"%s\"/>\n", tx,
                      y, rej ? "#fff1f1" : "#f0fdf4", rej ? "#eb5757" : "#2bb673");
        ql_buf_printf(b, "<text x=\"%d\" y=\"%d\" fill=\"#111827\" font-weight=\"600\">", tx + 10, y + 21);
        ql_svg_escape(b, t->name);
        fmt_count(c, sizeof c, t->rows);
        ql_buf_printf(b, "</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#374151\">%s %s</text>\n", tx + 230,
                      y + 21, c, t->rows == 1 ? "row" : "rows");
    }
    if (!r->nt)
        ql_buf_printf(b, "<text x=\"%d\" y=\"%d\" fill=\"#6b7280\">(no tables yet)</text>\n", tx, cy);
    ql_buf_puts(b, "</svg>\n");
}

static void card_open(ql_buf_t *b, const char *title, const char *sub)
{
    ql_buf_puts(b, "<section class=\"card\"><h2>");
    ql_svg_escape(b, title);
    ql_buf_puts(b, "</h2><p class=\"sub\">");
    ql_svg_escape(b, sub);
    ql_buf_puts(b, "</p>\n");
}

static void render_html(ql_buf_t *b, const report_t *r)
{
    char t1[QL_RFC3339_LEN], t2[QL_RFC3339_LEN], now[QL_RFC3339_LEN], c[64];
    ql_rfc3339_format(ql_now_us(), now);
    ql_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<title>questlog report</title>\n<style>%s</style>\n</head>\n<body>\n", css);
    ql_buf_puts(b, "<header><h1>questlog report</h1><p>Game events from the lake at <code style=\"background:rgba(255,255,255,.15);color:#fff\">");
    ql_svg_escape(b, r->lake);
    ql_buf_puts(b, "</code>");
    if (r->has_time) {
        ql_rfc3339_format(r->lo, t1);
        ql_rfc3339_format(r->hi, t2);
        t1[19] = t2[19] = 0;
        t1[10] = t2[10] = ' ';
        ql_buf_printf(b, " · %s → %s UTC", t1, t2);
    }
    ql_buf_puts(b, "</p></header>\n<main>\n<div class=\"kpis\">\n");
    fmt_count(c, sizeof c, r->events);
    kpi(b, c, "events");
    fmt_count(c, sizeof c, r->purchases);
    kpi(b, c, "sword purchases");
    fmt_count(c, sizeof c, r->joins);
    kpi(b, c, "guild joins");
    fmt_count(c, sizeof c, r->players);
    kpi(b, c, "players (Host)");
    if (r->have_revenue) { fmt_count(c, sizeof c, r->revenue); kpi(b, c, "gold spent"); }
    if (r->has_time) { fmt_span(c, sizeof c, r->hi - r->lo); kpi(b, c, "time span"); }
    fmt_count(c, sizeof c, r->rejected);
    kpi(b, c, "rejected events");
    ql_buf_puts(b, "</div>\n");

    card_open(b, "Pipeline", "What flows where, with the counts each stage holds now");
    pipeline_svg(b, r);
    ql_buf_puts(b, "<p>Game clients call the HTTP API. The <b>collector</b> (h2o) turns each request into one flat JSON "
                   "event (reserved <code>event_type</code>, <code>event_id</code>, <code>timestamp</code>; headers "
                   "such as <code>Host</code> kept, credentials dropped) and answers only after the event is durable in "
                   "the <b>log</b>. The <b>loader</b> reads the log from the offsets the lake records, applies the munge "
                   "rules, routes each event to its tables by <code>event_type</code> and commits Parquet files "
                   "atomically under <code>LAKE/&lt;table&gt;/dt=YYYY-MM-DD/</code>. Events that could not be "
                   "loaded go to <code>_rejected</code>. This page reads those files through questlog's SQLite "
                   "virtual table; DuckDB, Spark or Trino can read the same files.</p>\n</section>\n");

    card_open(b, "Events over time by type", r->has_time ? r->by_type.unit : "");
    if (r->has_time && r->by_type.nx)
        ql_svg_stacked_columns(b, 1040, 300, (const char *const *)r->by_type.xl, r->by_type.nx,
                               (const char *const *)r->by_type.names, r->by_type.vals, r->by_type.ns, "events");
    else
        ql_buf_puts(b, "<p class=\"empty\">No extracted_events table with timestamps yet.</p>\n");
    ql_buf_puts(b, "</section>\n<div class=\"grid2\">\n");

    card_open(b, "Top players by purchases", "purchases per Host, top 10");
    if (r->top_players.n)
        ql_svg_hbars(b, 500, (const char *const *)r->top_players.labels, r->top_players.vals, r->top_players.n,
                     ql_svg_color(0));
    else
        ql_buf_puts(b, "<p class=\"empty\">No purchases yet.</p>\n");
    ql_buf_puts(b, "</section>\n");
    card_open(b, "Sword types", "purchases per sword_type");
    if (r->swords.n)
        ql_svg_hbars(b, 500, (const char *const *)r->swords.labels, r->swords.vals, r->swords.n, ql_svg_color(1));
    else
        ql_buf_puts(b, "<p class=\"empty\">No sword_type recorded yet.</p>\n");
    ql_buf_puts(b, "</section>\n</div>\n");

    char sub[200];
    snprintf(sub, sizeof sub, "join_guild events, %s%s", r->joins_ts.unit ? r->joins_ts.unit + 7 : "",
             r->have_guilds ? "" : "");
    if (r->have_guilds) {
        fmt_count(c, sizeof c, r->guilds);
        snprintf(sub, sizeof sub, "join_guild events %s · %s distinct guilds",
                 r->joins_ts.unit ? r->joins_ts.unit + 7 : "", c);
    }
    card_open(b, "Guild joins over time", sub);
    if (r->joins_ts.nx)
        ql_svg_area(b, 1040, 220, (const char *const *)r->joins_ts.xl, r->joins_ts.vals, r->joins_ts.nx, ql_svg_color(2),
                    "joins");
    else
        ql_buf_puts(b, "<p class=\"empty\">No guild joins yet.</p>\n");
    ql_buf_puts(b, "</section>\n");

    card_open(b, "Lake tables", "from the Parquet footers: no data read");
    ql_buf_puts(b, "<table><tr><th>table</th><th class=\"n\">rows</th><th class=\"n\">files</th><th class=\"n\">size</th>"
                   "<th class=\"n\">partitions</th><th>first event</th><th>last event</th></tr>\n");
    for (int i = 0; i < r->nt; i++) {
        const tinfo_t *t = &r->t[i];
        ql_buf_puts(b, "<tr><td><code>");
        ql_svg_escape(b, t->name);
        fmt_count(c, sizeof c, t->rows);
        ql_buf_printf(b, "</code></td><td class=\"n\">%s</td><td class=\"n\">%lld</td>", c, (long long)t->files);
        fmt_bytes(c, sizeof c, t->bytes);
        ql_buf_printf(b, "<td class=\"n\">%s</td><td class=\"n\">%lld</td>", c, (long long)t->partitions);
        if (t->has_time) {
            ql_rfc3339_format(t->lo, t1);
            ql_rfc3339_format(t->hi, t2);
            ql_buf_printf(b, "<td>%s</td><td>%s</td></tr>\n", t1, t2);
        } else {
            ql_buf_puts(b, "<td>–</td><td>–</td></tr>\n");
        }
    }
    ql_buf_puts(b, "</table>\n</section>\n");
    ql_buf_printf(b, "</main>\n<footer>Generated by questlog %s at %s · self-contained: no scripts, nothing fetched"
                     "</footer>\n</body>\n</html>\n", QL_VERSION, now);
}

static void md_bars(ql_buf_t *b, const bars_t *x, const char *what)
{
    if (!x->n) { ql_buf_printf(b, "_No %s yet._\n\n", what); return; }
    double max = 0;
    for (int i = 0; i < x->n; i++) if (x->vals[i] > max) max = x->vals[i];
    ql_buf_printf(b, "| %s | count | |\n|---|---:|---|\n", what);
    for (int i = 0; i < x->n; i++) {
        ql_buf_printf(b, "| %s | %.0f | ", x->labels[i], x->vals[i]);
        int w = max > 0 ? (int)(x->vals[i] / max * 30 + 0.5) : 0;
        for (int k = 0; k < w; k++) ql_buf_puts(b, "\xe2\x96\x88");   /* █ */
        ql_buf_puts(b, " |\n");
    }
    ql_buf_putc(b, '\n');
}

static void render_md(ql_buf_t *b, const report_t *r)
{
    char c[64], t1[QL_RFC3339_LEN], t2[QL_RFC3339_LEN];
    ql_buf_printf(b, "# questlog report\n\nLake: `%s`", r->lake);
    if (r->has_time) {
        ql_rfc3339_format(r->lo, t1);
        ql_rfc3339_format(r->hi, t2);
        ql_buf_printf(b, " · %s → %s", t1, t2);
    }
    ql_buf_puts(b, "\n\n## Key numbers\n\n| | |\n|---|---:|\n");
    fmt_count(c, sizeof c, r->events); ql_buf_printf(b, "| events | %s |\n", c);
    fmt_count(c, sizeof c, r->purchases); ql_buf_printf(b, "| sword purchases | %s |\n", c);
    fmt_count(c, sizeof c, r->joins); ql_buf_printf(b, "| guild joins | %s |\n", c);
    fmt_count(c, sizeof c, r->players); ql_buf_printf(b, "| players (Host) | %s |\n", c);
    if (r->have_revenue) { fmt_count(c, sizeof c, r->revenue); ql_buf_printf(b, "| gold spent | %s |\n", c); }
    fmt_count(c, sizeof c, r->rejected); ql_buf_printf(b, "| rejected events | %s |\n", c);
    ql_buf_puts(b, "\n## Pipeline\n\n```\ngame clients → collector (h2o, ack = durable) → log");
    if (r->have_offsets) { fmt_count(c, sizeof c, r->log_records); ql_buf_printf(b, " (%s records loaded)", c); }
    ql_buf_puts(b, " → loader (extract, munge, route) → lake\n");
    for (int i = 0; i < r->nt; i++) {
        fmt_count(c, sizeof c, r->t[i].rows);
        ql_buf_printf(b, "    %-20s %12s rows\n", r->t[i].name, c);
    }
    ql_buf_puts(b, "```\n\n");
    ql_buf_printf(b, "## Events over time by type (%s)\n\n", r->by_type.unit ? r->by_type.unit : "no data");
    if (r->by_type.nx) {
        ql_buf_puts(b, "| time |");
        for (int s = 0; s < r->by_type.ns; s++) ql_buf_printf(b, " %s |", r->by_type.names[s]);
        ql_buf_puts(b, "\n|---|");
        for (int s = 0; s < r->by_type.ns; s++) ql_buf_puts(b, "---:|");
        ql_buf_putc(b, '\n');
        for (int x = 0; x < r->by_type.nx; x++) {
            ql_buf_printf(b, "| %s |", r->by_type.keys[x]);
            for (int s = 0; s < r->by_type.ns; s++) ql_buf_printf(b, " %.0f |", r->by_type.vals[s * r->by_type.nx + x]);
            ql_buf_putc(b, '\n');
        }
        ql_buf_putc(b, '\n');
    }
    ql_buf_puts(b, "## Top players by purchases\n\n");
    md_bars(b, &r->top_players, "Host");
    ql_buf_puts(b, "## Sword types\n\n");
    md_bars(b, &r->swords, "sword_type");
    ql_buf_puts(b, "## Guild joins over time\n\n");
    if (r->joins_ts.nx) {
        ql_buf_puts(b, "| time | joins |\n|---|---:|\n");
        for (int x = 0; x < r->joins_ts.nx; x++)
            ql_buf_printf(b, "| %s | %.0f |\n", r->joins_ts.keys[x], r->joins_ts.vals[x]);
        ql_buf_putc(b, '\n');
    } else {
        ql_buf_puts(b, "_No guild joins yet._\n\n");
    }
    ql_buf_puts(b, "## Lake tables\n\n| table | rows | files | bytes | partitions | first | last |\n"
                   "|---|---:|---:|---:|---:|---|---|\n");
    for (int i = 0; i < r->nt; i++) {
        const tinfo_t *t = &r->t[i];
        if (t->has_time) { ql_rfc3339_format(t->lo, t1); ql_rfc3339_format(t->hi, t2); }
        ql_buf_printf(b, "| %s | %lld | %lld | %llu | %lld | %s | %s |\n", t->name, (long long)t->rows,
                      (long long)t->files, (unsigned long long)t->bytes, (long long)t->partitions,
                      t->has_time ? t1 : "", t->has_time ? t2 : "");
    }
}

int ql_report_write(FILE *out, const char *lake, ql_report_format_t fmt, char *err, size_t errlen)
{
    report_t r;
    memset(&r, 0, sizeof r);
    r.lake = lake;
    sqlite3 *db = NULL;
    ql_buf_t b = QL_BUF_INIT;
    int rc = -1;
    if (ql_vtab_open_db(&db, lake, NULL, err, errlen) < 0) goto out;
    if (gather(&r, db, err, errlen) < 0) goto out;
    if (fmt == QL_REPORT_MD) render_md(&b, &r); else render_html(&b, &r);
    if (fwrite(b.data, 1, b.len, out) != b.len || fflush(out) != 0) {
        ql_err(err, errlen, "write failed");
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < r.nt; i++) free(r.t[i].name);
    free(r.t);
    free_ts(&r.by_type);
    free_ts(&r.joins_ts);
    free_bars(&r.top_players);
    free_bars(&r.swords);
    ql_buf_free(&b);
    sqlite3_close(db);
    return rc;
}
