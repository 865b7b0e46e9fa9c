/*
 * pqgen.c — writes deterministic Parquet test files with questlog's writer and
 * prints, as JSON lines, the values it wrote, so the interop tests
 * (tests/interop/check_write.mjs) can compare what DuckDB and hyparquet read.
 *
 *   pqgen CASE OUT.parquet        write test case CASE, expected rows on stdout
 *   pqgen --list                  the case names
 *   pqgen --bench N OUT.parquet [zstd|snappy|none [ZSTD_LEVEL]]
 *                                 write N seed-like event rows (8 columns),
 *                                 print {"rows":N,"seconds":S,"bytes":B}
 *
 * Expected-row format: one JSON object per row with only the non-null columns;
 * STRING as a JSON string, INT64 and TIMESTAMP (µs) as decimal strings, INT32
 * as a number, DOUBLE as "x" + 16 hex digits of its IEEE bits, BOOLEAN as
 * true/false. The last line is {"__columns":[[name,TYPE,required],…]}.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "pq.h"
#include "util.h"

static uint64_t rng_state = 42;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A case sets g->o before its first col(), which creates the writer. */
typedef struct gen {
    ql_pq_writer_t *w;
    ql_pq_write_options_t o;
    int fd;
    ql_buf_t line, cols; /* expected row being built; the __columns list */
    int nset;
    char err[256];
} gen_t;

static void die(const char *what, const char *err)
{
    fprintf(stderr, "pqgen: %s: %s\n", what, err);
    exit(1);
}

static int col(gen_t *g, const char *name, ql_pq_type_t t, int required)
{
    if (!g->w && ql_pq_writer_new(&g->w, g->fd, &g->o, g->err, sizeof g->err)) die("writer", g->err);
    ql_buf_puts(&g->cols, g->cols.len ? ",[" : "[");
    ql_json_write_string(&g->cols, name, strlen(name));
    ql_buf_printf(&g->cols, ",\"%s\",%s]", ql_pq_type_name(t), required ? "true" : "false");
    int c = ql_pq_writer_add_column(g->w, name, t, required, g->err, sizeof g->err);
    if (c < 0) die("add_column", g->err);
    return c;
}

static void key(gen_t *g, int c)
{
    ql_buf_putc(&g->line, g->nset++ ? ',' : '{');
    ql_buf_printf(&g->line, "\"c%d\":", c);
}

static void set_str(gen_t *g, int c, const char *s, size_t n)
{
    if (ql_pq_writer_set_string(g->w, c, s, n)) die("set_string", "refused");
    key(g, c);
    ql_json_write_string(&g->line, s, n);
}
static void set_cstr(gen_t *g, int c, const char *s) { set_str(g, c, s, strlen(s)); }
static void set_i64(gen_t *g, int c, int64_t v)
{
    if (ql_pq_writer_set_int64(g->w, c, v)) die("set_int64", "refused");
    key(g, c);
    ql_buf_printf(&g->line, "\"%" PRId64 "\"", v);
}
static void set_i32(gen_t *g, int c, int32_t v)
{
    if (ql_pq_writer_set_int32(g->w, c, v)) die("set_int32", "refused");
    key(g, c);
    ql_buf_printf(&g->line, "%" PRId32, v);
}
static void set_dbl(gen_t *g, int c, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    if (ql_pq_writer_set_double(g->w, c, v)) die("set_double", "refused");
    key(g, c);
    ql_buf_printf(&g->line, "\"x%016" PRIx64 "\"", u);
}
static void set_bool(gen_t *g, int c, int v)
{
    if (ql_pq_writer_set_bool(g->w, c, v)) die("set_bool", "refused");
    key(g, c);
    ql_buf_puts(&g->line, v ? "true" : "false");
}
static void end_row(gen_t *g)
{
    if (ql_pq_writer_end_row(g->w, g->err, sizeof g->err)) die("end_row", g->err);
    if (!g->nset) ql_buf_putc(&g->line, '{');
    ql_buf_puts(&g->line, "}\n");
    fwrite(g->line.data, 1, g->line.len, stdout);
    ql_buf_reset(&g->line);
    g->nset = 0;
}

/* ---- cases -------------------------------------------------------------- */

static const char *UNICODE[] = {"héllo wörld", "日本語のテキスト", "emoji 🎮⚔️🛡️", "", "tab\tquote\"back\\slash\nnl",
                                "\x01\x1f control", "Ωmega", "a"};

/* Every type, OPTIONAL and REQUIRED, with extremes and nulls first and last. */
static void case_types(gen_t *g)
{
    int s = col(g, "s", QL_PQ_STRING, 0), sr = col(g, "s_req", QL_PQ_STRING, 1);
    int i = col(g, "i64", QL_PQ_INT64, 0), ir = col(g, "i64_req", QL_PQ_INT64, 1);
    int i3 = col(g, "i32", QL_PQ_INT32, 0), d = col(g, "dbl", QL_PQ_DOUBLE, 0);
    int b = col(g, "flag", QL_PQ_BOOL, 0), br = col(g, "flag_req", QL_PQ_BOOL, 1);
    int t = col(g, "ts", QL_PQ_TIMESTAMP, 0), tr = col(g, "ts_req", QL_PQ_TIMESTAMP, 1);
    const int64_t i64s[] = {INT64_MIN, INT64_MAX, 0, -1, 1, 9007199254740993LL, -9007199254740993LL, 42};
    const int32_t i32s[] = {INT32_MIN, INT32_MAX, 0, -1, 7};
    const double dbls[] = {-0.0, 0.0, 1e308, -1e308, 5e-324, 3.141592653589793, -2.5, 1.0 / 3, 1e-300,
                           INFINITY, -INFINITY, 123456789012345678.0, NAN};
    const int64_t tss[] = {0, 1, -1, 1795000000123456LL, -86400000001LL, 253402300799999999LL, 1700000000000000LL};
    char *big = malloc(20001);
    for (int k = 0; k < 20000; k++) big[k] = (char)('a' + k % 26);
    for (int r = 0; r < 120; r++) {
        int last = r == 119;
        if (r != 0 && !last) { /* nulls in the first and last rows of optional columns */
            if (r % 10 == 5) set_str(g, s, big, 20000 - (size_t)r);
            else set_cstr(g, s, UNICODE[r % QL_ARRAY_LEN(UNICODE)]);
            set_i64(g, i, i64s[r % QL_ARRAY_LEN(i64s)]);
            if (r % 3) set_i32(g, i3, i32s[r % QL_ARRAY_LEN(i32s)]);
            set_dbl(g, d, dbls[r % QL_ARRAY_LEN(dbls)]);
            if (r % 4) set_bool(g, b, r % 8 < 4);
            set_i64(g, t, tss[r % QL_ARRAY_LEN(tss)] + r);
        }
        set_cstr(g, sr, r % 2 ? UNICODE[r % QL_ARRAY_LEN(UNICODE)] : "");
        set_i64(g, ir, i64s[(r + 3) % QL_ARRAY_LEN(i64s)]);
        set_bool(g, br, r % 3 == 0);
        set_i64(g, tr, tss[(r + 1) % QL_ARRAY_LEN(tss)]);
        end_row(g);
    }
    free(big);
}

/* Null patterns: all-null, no-null, first/last only, alternating, runs. */
static void case_nulls(gen_t *g)
{
    g->o.page_bytes = 2048;
    int all = col(g, "all_null", QL_PQ_STRING, 0), none = col(g, "no_null", QL_PQ_INT64, 0);
    int first = col(g, "first_null", QL_PQ_DOUBLE, 0), lastc = col(g, "last_null", QL_PQ_INT32, 0);
    int alt = col(g, "alternating", QL_PQ_STRING, 0), runs = col(g, "runs", QL_PQ_TIMESTAMP, 0);
    int allb = col(g, "all_null_bool", QL_PQ_BOOL, 0), somb = col(g, "some_bool", QL_PQ_BOOL, 0);
    int n = 3001;
    for (int r = 0; r < n; r++) {
        (void)all;
        (void)allb;
        set_i64(g, none, r * 1000003LL);
        if (r) set_dbl(g, first, r * 0.5);
        if (r != n - 1) set_i32(g, lastc, r - 1500);
        if (r % 2) set_cstr(g, alt, r % 6 == 1 ? "x" : "yy");
        if ((r / 37) % 3 != 1) set_i64(g, runs, 1700000000000000LL + r * 1000001LL);
        if (rnd() % 5) set_bool(g, somb, (int)(rnd() & 1));
        end_row(g);
    }
}

static void case_wide(gen_t *g)
{
    int c[100];
    char name[32];
    for (int k = 0; k < 100; k++) {
        snprintf(name, sizeof name, "col_%03d", k);
        c[k] = col(g, name, (ql_pq_type_t)(k % 6), k % 7 == 0);
    }
    for (int r = 0; r < 50; r++) {
        for (int k = 0; k < 100; k++) {
            if (k % 7 != 0 && (r + k) % 5 == 0) continue;
            switch (k % 6) {
            case QL_PQ_STRING: {
                snprintf(name, sizeof name, "v%d_%d", k, r % 4);
                set_cstr(g, c[k], name);
                break;
            }
            case QL_PQ_INT64: set_i64(g, c[k], (int64_t)rnd()); break;
            case QL_PQ_INT32: set_i32(g, c[k], (int32_t)(rnd() % 1000) - 500); break;
            case QL_PQ_DOUBLE: set_dbl(g, c[k], (double)(int64_t)rnd() / 1e6); break;
            case QL_PQ_BOOL: set_bool(g, c[k], (int)(rnd() & 1)); break;
            case QL_PQ_TIMESTAMP: set_i64(g, c[k], 1700000000000000LL + (int64_t)(rnd() % 1000000000000LL)); break;
            }
        }
        end_row(g);
    }
}

static void case_empty(gen_t *g)
{
    col(g, "a", QL_PQ_STRING, 0);
    col(g, "b", QL_PQ_INT64, 1);
    col(g, "c", QL_PQ_TIMESTAMP, 0);
}

/* Several pages and row groups; dictionary and PLAIN columns side by side. */
static void rows_mixed(gen_t *g, int n)
{
    int id = col(g, "event_id", QL_PQ_STRING, 1), ty = col(g, "event_type", QL_PQ_STRING, 1);
    int ts = col(g, "ts", QL_PQ_TIMESTAMP, 1), host = col(g, "host", QL_PQ_STRING, 0);
    int price = col(g, "price", QL_PQ_INT64, 0), score = col(g, "score", QL_PQ_DOUBLE, 0);
    int lvl = col(g, "level", QL_PQ_INT32, 0), ok = col(g, "ok", QL_PQ_BOOL, 0);
    static const char *types[] = {"purchase_sword", "join_guild", "login", "logout"};
    char buf[64];
    for (int r = 0; r < n; r++) {
        snprintf(buf, sizeof buf, "%016" PRIx64 "-%08x", rnd(), r);
        set_cstr(g, id, buf);
        set_cstr(g, ty, types[rnd() % 4]);
        set_i64(g, ts, 1795000000000000LL + r * 997LL);
        if (rnd() % 10) {
            snprintf(buf, sizeof buf, "host-%03d.example.com", (int)(rnd() % 300));
            set_cstr(g, host, buf);
        }
        if (rnd() % 2) set_i64(g, price, (int64_t)(rnd() % 100000) - 50);
        if (rnd() % 3) set_dbl(g, score, (double)(rnd() % 1000000) / 64.0);
        if (rnd() % 4) set_i32(g, lvl, (int32_t)(rnd() % 60));
        if (rnd() % 4) set_bool(g, ok, (int)(rnd() & 1));
        end_row(g);
    }
}

static void case_pages(gen_t *g)
{
    g->o.page_bytes = 8192;
    g->o.row_group_rows = 7000;
    rows_mixed(g, 25000);
}

static void case_codec_zstd(gen_t *g)
{
    g->o.codec = QL_PQ_ZSTD;
    g->o.zstd_level = 19;
    g->o.page_bytes = 16384;
    rows_mixed(g, 5000);
}

static void case_codec_snappy(gen_t *g)
{
    g->o.codec = QL_PQ_SNAPPY;
    g->o.page_bytes = 16384;
    rows_mixed(g, 5000);
}

static void case_codec_none(gen_t *g)
{
    g->o.codec = QL_PQ_UNCOMPRESSED;
    g->o.page_bytes = 16384;
    rows_mixed(g, 5000);
}

/* Row groups closed by the byte budget rather than the row count. */
static void case_rg_bytes(gen_t *g)
{
    g->o.row_group_bytes = 64 * 1024;
    g->o.page_bytes = 8192;
    rows_mixed(g, 6000);
}

/* Dictionaries that overflow dict_max_bytes: "grow" emits dictionary pages
 * first (small pages), then falls back to PLAIN within the chunk; "burst"
 * overflows inside its first page, so the chunk restarts as PLAIN. */
static void case_dict_fallback(gen_t *g)
{
    g->o.dict_max_bytes = 4096;
    g->o.page_bytes = 1024;
    g->o.row_group_rows = 4000;
    int grow = col(g, "grow", QL_PQ_STRING, 0), burst = col(g, "burst", QL_PQ_STRING, 1);
    int num = col(g, "num", QL_PQ_INT64, 1), low = col(g, "low", QL_PQ_STRING, 1);
    char buf[64];
    for (int r = 0; r < 10000; r++) {
        /* few distinct values at first, then ever new ones */
        int v = (r % 4000) < 800 ? r % 7 : r;
        snprintf(buf, sizeof buf, "value-%06d", v);
        if (r % 13) set_cstr(g, grow, buf);
        snprintf(buf, sizeof buf, "%d-burst-%d-%s", r % 4000 < 10 ? 1 : r, r, "padding-padding-padding");
        set_cstr(g, burst, buf);
        set_i64(g, num, (r % 4000) < 900 ? r % 5 : (int64_t)rnd());
        snprintf(buf, sizeof buf, "low-%d", r % 3);
        set_cstr(g, low, buf);
        end_row(g);
    }
}

/* An OPTIONAL column added after rows were appended: those rows are null. */
static void case_late_column(gen_t *g)
{
    int a = col(g, "a", QL_PQ_INT64, 1);
    for (int r = 0; r < 10; r++) {
        set_i64(g, a, r);
        end_row(g);
    }
    int b = col(g, "b", QL_PQ_STRING, 0);
    for (int r = 10; r < 20; r++) {
        set_i64(g, a, r);
        if (r % 2) set_cstr(g, b, "late");
        end_row(g);
    }
    /* set twice and abort: only the last value of a kept row counts */
    set_i64(g, a, 999);
    ql_pq_writer_abort_row(g->w);
    ql_buf_reset(&g->line);
    g->nset = 0;
    ql_pq_writer_set_int64(g->w, a, 1234);
    set_i64(g, a, 21);
    set_cstr(g, b, "second");
    end_row(g);
}

static void case_kv(gen_t *g)
{
    static const char *kv[] = {"questlog.table", "events", "questlog.note", "ünïcode ✓", NULL};
    g->o.kv = kv;
    int a = col(g, "a", QL_PQ_INT32, 1);
    set_i32(g, a, 1);
    end_row(g);
}

static const struct {
    const char *name;
    void (*fn)(gen_t *);
} CASES[] = {
    {"types", case_types}, {"nulls", case_nulls}, {"wide", case_wide}, {"empty", case_empty},
    {"pages", case_pages}, {"codec_zstd", case_codec_zstd}, {"codec_snappy", case_codec_snappy},
    {"codec_none", case_codec_none}, {"rg_bytes", case_rg_bytes}, {"dict_fallback", case_dict_fallback},
    {"late_column", case_late_column}, {"kv", case_kv},
};

static int run_case(int idx, const char *out)
{
    gen_t g = {0};
    ql_pq_write_options_t o = {QL_PQ_ZSTD, 3, 131072, 64u << 20, 1u << 20, 1u << 20, NULL};
    g.o = o;
    g.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (g.fd < 0) die("open", out);
    CASES[idx].fn(&g);
    if (ql_pq_writer_finish(g.w, g.err, sizeof g.err)) die("finish", g.err);
    printf("{\"__columns\":[%s]}\n", g.cols.data ? g.cols.data : "");
    ql_pq_writer_free(g.w);
    ql_buf_free(&g.line);
    ql_buf_free(&g.cols);
    close(g.fd);
    return 0;
}

/* ---- benchmark ------------------------------------------------------------ */

static int bench(int64_t n, const char *out, const char *codec, int level)
{
    ql_pq_write_options_t o = {QL_PQ_ZSTD, level, 131072, 64u << 20, 1u << 20, 1u << 20, NULL};
    char err[256];
    if (codec && ql_pq_codec_parse(codec, &o.codec)) die("codec", codec);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die("open", out);
    ql_pq_writer_t *w;
    if (ql_pq_writer_new(&w, fd, &o, err, sizeof err)) die("writer", err);
    int id = ql_pq_writer_add_column(w, "event_id", QL_PQ_STRING, 1, err, sizeof err);
    int ty = ql_pq_writer_add_column(w, "event_type", QL_PQ_STRING, 1, err, sizeof err);
    int ts = ql_pq_writer_add_column(w, "timestamp", QL_PQ_TIMESTAMP, 1, err, sizeof err);
    int host = ql_pq_writer_add_column(w, "Host", QL_PQ_STRING, 0, err, sizeof err);
    int ua = ql_pq_writer_add_column(w, "User-Agent", QL_PQ_STRING, 0, err, sizeof err);
    int acc = ql_pq_writer_add_column(w, "Accept", QL_PQ_STRING, 0, err, sizeof err);
    int sword = ql_pq_writer_add_column(w, "sword_type", QL_PQ_STRING, 0, err, sizeof err);
    int price = ql_pq_writer_add_column(w, "price", QL_PQ_INT64, 0, err, sizeof err);
    if (price < 0) die("add_column", err);
    static const char *types[] = {"purchase_sword", "join_guild", "purchase_sword", "default", "purchase_shield"};
    static const char *accepts[] = {"*/*", "application/json", "text/html,application/xhtml+xml"};
    static const char *swords[] = {"longsword", "katana", "rapier", "claymore", "scimitar"};
    char uas[40][96], hosts[1000][32];
    for (int i = 0; i < 40; i++)
        snprintf(uas[i], sizeof uas[i], "Mozilla/5.0 (Linux; Android %d; Pixel %d) GameClient/%d.%d ApacheBench/2.3",
                 8 + i % 6, 3 + i % 5, 1 + i % 4, i);
    for (int i = 0; i < 1000; i++) snprintf(hosts[i], sizeof hosts[i], "user%d.comcast.com", i);
    int64_t t0 = ql_monotonic_us(), now = 1795000000000000LL;
    char uuid[QL_UUID_LEN];
    for (int64_t r = 0; r < n; r++) {
        uint64_t x = rnd(), y = rnd();
        now += (int64_t)(x % 2000);
        /* UUIDv7 layout (48-bit ms timestamp, version 7, random bits),
         * deterministic and cheap: ql_uuidv7 spends most of its time in
         * getrandom(2), and snprintf would dominate this loop. */
        uint64_t hi = ((uint64_t)(now / 1000) << 16) | 0x7000 | (y & 0xfff), lo = 0x8000000000000000ull | (y >> 2);
        static const char hex[] = "0123456789abcdef";
        char *p = uuid;
        for (int k = 0; k < 16; k++) {
            if (k == 4 || k == 6 || k == 8 || k == 10) *p++ = '-';
            uint8_t byte = (uint8_t)(k < 8 ? hi >> (56 - 8 * k) : lo >> (56 - 8 * (k - 8)));
            *p++ = hex[byte >> 4];
            *p++ = hex[byte & 15];
        }
        *p = 0;
        ql_pq_writer_set_string(w, id, uuid, 36);
        const char *t = types[x % 5];
        ql_pq_writer_set_string(w, ty, t, strlen(t));
        ql_pq_writer_set_int64(w, ts, now);
        const char *h = hosts[(x >> 8) % 1000];
        ql_pq_writer_set_string(w, host, h, strlen(h));
        const char *u = uas[(x >> 20) % 40];
        ql_pq_writer_set_string(w, ua, u, strlen(u));
        const char *a = accepts[(x >> 28) % 3];
        ql_pq_writer_set_string(w, acc, a, strlen(a));
        if (x % 5 == 0 || x % 5 == 2) {
            const char *s = swords[(x >> 32) % 5];
            ql_pq_writer_set_string(w, sword, s, strlen(s));
            ql_pq_writer_set_int64(w, price, (int64_t)((x >> 40) % 500) + 10);
        }
        if (ql_pq_writer_end_row(w, err, sizeof err)) die("end_row", err);
    }
    if (ql_pq_writer_finish(w, err, sizeof err)) die("finish", err);
    double secs = (double)(ql_monotonic_us() - t0) / 1e6;
    printf("{\"rows\":%" PRId64 ",\"seconds\":%.3f,\"bytes\":%" PRIu64 "}\n", n, secs, ql_pq_writer_bytes_written(w));
    ql_pq_writer_free(w);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < QL_ARRAY_LEN(CASES); i++) printf("%s\n", CASES[i].name);
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "--bench") == 0) return bench(atoll(argv[2]), argv[3], argc > 4 ? argv[4] : NULL, argc > 5 ? atoi(argv[5]) : 0);
    if (argc != 3) {
        fprintf(stderr, "usage: pqgen CASE OUT.parquet | --list | --bench N OUT.parquet [codec [level]]\n");
        return 2;
    }
    for (size_t i = 0; i < QL_ARRAY_LEN(CASES); i++)
        if (strcmp(CASES[i].name, argv[1]) == 0) return run_case((int)i, argv[2]);
    fprintf(stderr, "pqgen: unknown case %s\n", argv[1]);
    return 2;
}
