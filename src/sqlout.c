/*
 * sqlout.c — result printing for `query`, `tables`, `describe` (see sqlout.h).
 *
 * TABLE buffers up to PREVIEW rows to size the columns (Spark's show() look:
 * +---+ borders, cells right-aligned, no padding), then streams the rest.
 * Display width counts UTF-8 code points, which is right for the text events
 * carry (no East Asian wide characters are accounted for).
 */
#include "sqlout.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "json.h"
#include "util.h"

#define PREVIEW 1000
#define MIN_CELL 4

int ql_sqlout_parse_format(const char *s, ql_sqlout_format_t *out)
{
    static const struct { const char *name; ql_sqlout_format_t f; } fm[] = {
        {"table", QL_SQLOUT_TABLE}, {"csv", QL_SQLOUT_CSV}, {"json", QL_SQLOUT_JSON},
        {"md", QL_SQLOUT_MD}, {"markdown", QL_SQLOUT_MD},
    };
    for (size_t i = 0; i < QL_ARRAY_LEN(fm); i++)
        if (strcmp(s, fm[i].name) == 0) { *out = fm[i].f; return 0; }
    return -1;
}

int ql_sqlout_format_flag(const char *cmd, const char *arg, ql_sqlout_format_t *out)
{
    if (ql_sqlout_parse_format(arg, out) < 0) {
        fprintf(stderr, "questlog %s: unknown format '%s' (table, csv, json, md)\n", cmd, arg);
        return -1;
    }
    return 0;
}

int ql_sqlout_terminal_width(FILE *f)
{
    int fd = fileno(f);
    if (fd < 0 || !isatty(fd)) return 0;
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    return c && atoi(c) > 0 ? atoi(c) : 80;
}

/* Code points in s[0..n). */
static int disp_width(const char *s, size_t n)
{
    int w = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) w++;
    return w;
}

/* Byte length of the first `w` code points of s[0..n). */
static size_t prefix_bytes(const char *s, size_t n, int w)
{
    size_t i = 0;
    while (i < n) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (w == 0) break;
            w--;
        }
        i++;
    }
    return i;
}

/* The text of one cell for TABLE/MD: control characters become spaces. */
static char *cell_text(sqlite3_stmt *st, int c, int md)
{
    int t = sqlite3_column_type(st, c);
    if (t == SQLITE_NULL) return ql_strdup("null");
    if (t == SQLITE_BLOB) {
        const unsigned char *b = sqlite3_column_blob(st, c);
        int n = sqlite3_column_bytes(st, c);
        ql_buf_t o = QL_BUF_INIT;
        ql_buf_puts(&o, "X'");
        for (int i = 0; i < n; i++) ql_buf_printf(&o, "%02X", b[i]);
        ql_buf_putc(&o, '\'');
        return ql_buf_steal(&o);
    }
    const char *s = (const char *)sqlite3_column_text(st, c);
    int n = sqlite3_column_bytes(st, c);
    ql_buf_t o = QL_BUF_INIT;
    ql_buf_reserve(&o, (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        char ch = s[i];
        if ((unsigned char)ch < 0x20 || ch == 0x7f) ch = ' ';
        if (md && ch == '|') ql_buf_putc(&o, '\\');
        ql_buf_putc(&o, ch);
    }
    if (!o.data) ql_buf_puts(&o, "");
    return ql_buf_steal(&o);
}

static void put_border(FILE *out, const int *w, int nc)
{
    fputc('+', out);
    for (int c = 0; c < nc; c++) {
        for (int i = 0; i < w[c]; i++) fputc('-', out);
        fputc('+', out);
    }
    fputc('\n', out);
}

/* Prints one row of cells right-aligned in their widths, cutting with "…". */
static void put_row(FILE *out, char **cells, const int *w, int nc)
{
    fputc('|', out);
    for (int c = 0; c < nc; c++) {
        const char *s = cells[c];
        size_t n = strlen(s);
        int dw = disp_width(s, n);
        if (dw > w[c]) {
            size_t keep = prefix_bytes(s, n, w[c] - 1);
            fwrite(s, 1, keep, out);
            fputs("\xe2\x80\xa6", out);   /* … */
        } else {
            for (int i = dw; i < w[c]; i++) fputc(' ', out);
            fwrite(s, 1, n, out);
        }
        fputc('|', out);
    }
    fputc('\n', out);
}

static void free_cells(char **cells, int nc)
{
    for (int c = 0; c < nc; c++) free(cells[c]);
    free(cells);
}

static int write_table(sqlite3_stmt *st, FILE *out, int width, int64_t *rows, char *err, size_t errlen)
{
    int nc = sqlite3_column_count(st), rc = 0;
    int64_t nrows = 0;
    int *w = ql_calloc((size_t)nc + 1, sizeof(int));
    char ***buf = ql_calloc(PREVIEW, sizeof(char **));
    int nbuf = 0, step = SQLITE_ROW;
    char **hdr = ql_calloc((size_t)nc + 1, sizeof(char *));
    for (int c = 0; c < nc; c++) {
        hdr[c] = ql_strdup(sqlite3_column_name(st, c));
        w[c] = disp_width(hdr[c], strlen(hdr[c]));
    }
    while (nbuf < PREVIEW && (step = sqlite3_step(st)) == SQLITE_ROW) {
        char **cells = ql_malloc(((size_t)nc + 1) * sizeof(char *));
        for (int c = 0; c < nc; c++) {
            cells[c] = cell_text(st, c, 0);
            int dw = disp_width(cells[c], strlen(cells[c]));
            if (dw > w[c]) w[c] = dw;
        }
        buf[nbuf++] = cells;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = ql_err(err, errlen, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
        goto out;
    }
    if (width > 0) {
        /* Shrink the widest column until the line fits (or all are small). */
        int total = 1;
        for (int c = 0; c < nc; c++) total += w[c] + 1;
        while (total > width) {
            int m = 0;
            for (int c = 1; c < nc; c++) if (w[c] > w[m]) m = c;
            if (nc == 0 || w[m] <= MIN_CELL) break;
            w[m]--;
            total--;
        }
    }
    put_border(out, w, nc);
    put_row(out, hdr, w, nc);
    put_border(out, w, nc);
    for (int i = 0; i < nbuf; i++) put_row(out, buf[i], w, nc);
    nrows = nbuf;
    if (step == SQLITE_ROW) {
        char **cells = ql_malloc(((size_t)nc + 1) * sizeof(char *));
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            for (int c = 0; c < nc; c++) cells[c] = cell_text(st, c, 0);
            put_row(out, cells, w, nc);
            for (int c = 0; c < nc; c++) free(cells[c]);
            nrows++;
        }
        free(cells);
        if (step != SQLITE_DONE) {
            rc = ql_err(err, errlen, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
            goto out;
        }
    }
    put_border(out, w, nc);
out:
    for (int i = 0; i < nbuf; i++) free_cells(buf[i], nc);
    free(buf);
    free_cells(hdr, nc);
    free(w);
    if (rows) *rows = nrows;
    return rc;
}

/* Inline appends for the per-cell CSV path (ql_buf_append/putc are calls into
 * util.c; these only call it to grow). Same contract: data stays
 * NUL-terminated. */
static inline void buf_add(ql_buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) ql_buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}
static inline void buf_add1(ql_buf_t *b, char c) { buf_add(b, &c, 1); }

/* Length of the longest prefix of s[0..n) free of the bytes that make a CSV
 * field need quotes (comma, quote, CR, LF): 8 bytes at a time (a byte of
 * x ^ c is zero where x holds c), the tail one by one. */
static size_t csv_plain_prefix(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y = 0;
        memcpy(&x, s + i, 8);
        static const uint64_t specials[4] = {',' * 0x0101010101010101ull, '"' * 0x0101010101010101ull,
                                             '\r' * 0x0101010101010101ull, '\n' * 0x0101010101010101ull};
        for (int k = 0; k < 4; k++) {
            uint64_t z = x ^ specials[k];
            y |= (z - ones) & ~z & highs;
        }
        if (y) break;
    }
    for (; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n') break;
    return i;
}

/* Appends s[0..n) as one CSV field (RFC 4180: quoted, with doubled quotes,
 * when it holds a comma, quote or line break). */
static void csv_field(ql_buf_t *b, const char *s, size_t n)
{
    if (csv_plain_prefix(s, n) == n) {
        buf_add(b, s, n);
        return;
    }
    ql_buf_reserve(b, 2 * n + 2);
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') *o++ = '"';
        *o++ = s[i];
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->data);
}

static void json_value(ql_buf_t *b, sqlite3_stmt *st, int c)
{
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL: ql_buf_puts(b, "null"); break;
    case SQLITE_INTEGER: ql_buf_printf(b, "%lld", (long long)sqlite3_column_int64(st, c)); break;
    case SQLITE_FLOAT: {
        double d = sqlite3_column_double(st, c);
        if (d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308) ql_buf_puts(b, "null");
        else {
            /* shortest of %.15g/%.16g/%.17g that reads back as d */
            char tmp[40];
            for (int prec = 15; prec <= 17; prec++) {
                snprintf(tmp, sizeof tmp, "%.*g", prec, d);
                if (strtod(tmp, NULL) == d) break;
            }
            ql_buf_puts(b, tmp);
            if (!strpbrk(tmp, ".eE")) ql_buf_puts(b, ".0");   /* stays a REAL: 13.0, not 13 */
        }
        break;
    }
    case SQLITE_BLOB: {
        const unsigned char *p = sqlite3_column_blob(st, c);
        int n = sqlite3_column_bytes(st, c);
        ql_buf_putc(b, '"');
        for (int i = 0; i < n; i++) ql_buf_printf(b, "%02x", p[i]);
        ql_buf_putc(b, '"');
        break;
    }
    default: {
        const char *s = (const char *)sqlite3_column_text(st, c);
        ql_json_write_string(b, s ? s : "", (size_t)sqlite3_column_bytes(st, c));
    }
    }
}

int ql_sqlout_write(sqlite3_stmt *st, FILE *out, ql_sqlout_format_t fmt, int width, int64_t *rows,
                    char *err, size_t errlen)
{
    if (fmt == QL_SQLOUT_TABLE) return write_table(st, out, width, rows, err, errlen);
    int nc = sqlite3_column_count(st), step;
    int64_t n = 0;
    ql_buf_t b = QL_BUF_INIT;   /* rows are gathered here and written in 64 KiB blocks */
    if (fmt == QL_SQLOUT_CSV) {
        for (int c = 0; c < nc; c++) {
            const char *name = sqlite3_column_name(st, c);
            if (c) ql_buf_putc(&b, ',');
            csv_field(&b, name, strlen(name));
        }
        ql_buf_putc(&b, '\n');
    } else if (fmt == QL_SQLOUT_MD) {
        ql_buf_putc(&b, '|');
        for (int c = 0; c < nc; c++) ql_buf_printf(&b, " %s |", sqlite3_column_name(st, c));
        ql_buf_puts(&b, "\n|");
        for (int c = 0; c < nc; c++) ql_buf_puts(&b, "---|");
        ql_buf_putc(&b, '\n');
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        for (int c = 0; c < nc; c++) {
            switch (fmt) {
            case QL_SQLOUT_CSV:
                if (c) buf_add1(&b, ',');
                /* The cell's value once, then its type, text and length from
                 * it: each sqlite3_column_* call enters the connection's
                 * mutex and checks for a malloc failure, three times per cell
                 * otherwise. (Reading an "unprotected" value is safe here: the
                 * statement's connection is only used by this thread, which
                 * is inside no other SQLite call.) */
                sqlite3_value *cv = sqlite3_column_value(st, c);
                switch (sqlite3_value_type(cv)) {
                case SQLITE_NULL: break;
                case SQLITE_INTEGER: {
                    /* digits by hand: asking SQLite for the text converts
                     * (and allocates) per cell */
                    char tmp[24], *e = tmp + sizeof tmp, *q = e;
                    sqlite3_int64 v = sqlite3_value_int64(cv);
                    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
                    do *--q = (char)('0' + u % 10); while ((u /= 10) != 0);
                    if (v < 0) *--q = '-';
                    buf_add(&b, q, (size_t)(e - q));
                    break;
                }
                case SQLITE_FLOAT: {
                    /* SQLite's own REAL-to-text rendering ("%!.15g"), without
                     * the allocation column_text makes for it per cell */
                    char tmp[64];
                    sqlite3_snprintf(sizeof tmp, tmp, "%!.15g", sqlite3_value_double(cv));
                    ql_buf_puts(&b, tmp);
                    break;
                }
                default: {
                    const char *s = (const char *)sqlite3_value_text(cv);
                    csv_field(&b, s ? s : "", (size_t)sqlite3_value_bytes(cv));
                }
                }
                break;
            case QL_SQLOUT_JSON:
                ql_buf_putc(&b, c ? ',' : '{');
                ql_json_write_string(&b, sqlite3_column_name(st, c), strlen(sqlite3_column_name(st, c)));
                ql_buf_putc(&b, ':');
                json_value(&b, st, c);
                break;
            default: {  /* MD */
                char *s = cell_text(st, c, 1);
                ql_buf_printf(&b, "%s %s", c ? " |" : "|", s);
                free(s);
            }
            }
        }
        if (fmt == QL_SQLOUT_JSON) ql_buf_puts(&b, nc ? "}" : "{}");
        if (fmt == QL_SQLOUT_MD) ql_buf_puts(&b, " |");
        buf_add1(&b, '\n');
        if (b.len >= 65536) {
            fwrite(b.data, 1, b.len, out);
            ql_buf_reset(&b);
        }
    }
    if (b.len) fwrite(b.data, 1, b.len, out);
    ql_buf_free(&b);
    if (rows) *rows = n;
    if (step != SQLITE_DONE) return ql_err(err, errlen, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
    return 0;
}
