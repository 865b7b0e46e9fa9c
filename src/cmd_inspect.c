/*
 * cmd_inspect.c — `questlog inspect FILE.parquet [--rows N]`: prints a
 * Parquet file's metadata (schema, row groups, column chunks with encodings,
 * codec, sizes, offsets, null counts and statistics) in the spirit of
 * parquet-tools `meta`, and with --rows its first N rows (0 = all) as JSON
 * lines. Works on any flat Parquet file the reader (pq_footer.c, pq_read.c)
 * accepts.
 * `--verify PATH…` instead scrubs files or whole directories (a lake): every
 * page of every file is read back, checksums included, and each file that
 * cannot be is named.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "json.h"
#include "pq.h"
#include "util.h"

static const char usage[] =
    "usage: questlog inspect FILE.parquet [--rows N]\n"
    "       questlog inspect --verify PATH...\n"
    "\n"
    "Prints the file's schema, row groups and column chunks (encodings, codec,\n"
    "sizes, offsets, null counts, min/max statistics).\n"
    "\n"
    "Options:\n"
    "  --rows N     instead, print the first N rows (0 = all) as JSON lines:\n"
    "               numbers as numbers, booleans as true/false, timestamps as\n"
    "               RFC 3339 UTC strings with microseconds, binary as hex, nulls as null\n"
    "  --verify     instead, read back every page of every .parquet file under\n"
    "               each PATH (a file, a table directory or a whole lake, e.g.\n"
    "               questlog-data/lake), checking page checksums; prints one line\n"
    "               per damaged file and a summary; exit 1 if any is damaged\n"
    "  -h, --help   this help\n";

/* Shortest text that reads back as the same double (JSON has no NaN/Infinity: null). */
static void put_double(ql_buf_t *b, double d)
{
    char s[40];
    if (!isfinite(d)) {
        ql_buf_puts(b, "null");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, d);
        if (strtod(s, NULL) == d) break;
    }
    ql_buf_puts(b, s);
}

static void put_hex(ql_buf_t *b, const char *s, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    ql_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        ql_buf_putc(b, hx[(uint8_t)s[i] >> 4]);
        ql_buf_putc(b, hx[(uint8_t)s[i] & 15]);
    }
    ql_buf_putc(b, '"');
}

/* One value of type t as JSON. */
static void put_value(ql_buf_t *b, ql_pq_type_t t, int64_t i, double d, const char *s, size_t len)
{
    char ts[QL_RFC3339_LEN];
    switch (t) {
    case QL_PQ_STRING: ql_json_write_string(b, s, len); break;
    case QL_PQ_BINARY: put_hex(b, s, len); break;
    case QL_PQ_INT64:
    case QL_PQ_INT32: ql_buf_printf(b, "%lld", (long long)i); break;
    case QL_PQ_BOOL: ql_buf_puts(b, i ? "true" : "false"); break;
    case QL_PQ_TIMESTAMP:
        ql_rfc3339_format(i, ts);
        ql_buf_printf(b, "\"%s\"", ts);
        break;
    case QL_PQ_DOUBLE:
    case QL_PQ_FLOAT: put_double(b, d); break;
    }
}

static void put_stat(ql_buf_t *b, ql_pq_type_t t, const ql_pq_value_t *v)
{
    if (!v->is_set) {
        ql_buf_putc(b, '-');
        return;
    }
    size_t len = v->len > 64 ? 64 : v->len;  /* long strings are cut for display */
    put_value(b, t, v->i, v->d, v->s, len);
    if (len < v->len) ql_buf_puts(b, "…");
}

static void print_meta(ql_pq_file_t *f, const char *path)
{
    ql_buf_t b = QL_BUF_INIT;
    int nc = ql_pq_num_columns(f), nrg = ql_pq_num_row_groups(f);
    const char *cb = ql_pq_created_by(f);
    ql_buf_printf(&b, "file:        %s\n", path);
    ql_buf_printf(&b, "created_by:  %s\n", cb ? cb : "-");
    ql_buf_printf(&b, "rows:        %lld\n", (long long)ql_pq_num_rows(f));
    ql_buf_printf(&b, "row groups:  %d\n", nrg);
    ql_buf_printf(&b, "columns:     %d\n", nc);
    for (int i = 0; i < ql_pq_num_kv(f); i++) {
        const char *k, *v;
        ql_pq_kv_at(f, i, &k, &v);
        size_t vl = v ? strlen(v) : 0, shown = vl > 80 ? 80 : vl;  /* e.g. ARROW:schema is long */
        ql_buf_puts(&b, i ? "             " : "key/value:   ");
        ql_json_write_string(&b, k, strlen(k));
        ql_buf_puts(&b, " = ");
        if (!v) ql_buf_puts(&b, "null");
        else ql_json_write_string(&b, v, shown);
        if (shown < vl) ql_buf_printf(&b, "… (%zu bytes)", vl);
        ql_buf_putc(&b, '\n');
    }
    ql_buf_puts(&b, "\nschema:\n");
    for (int c = 0; c < nc; c++) {
        const ql_pq_column_info_t *ci = ql_pq_column(f, c);
        ql_buf_printf(&b, "  %-24s %-9s %s\n", ci->name, ql_pq_type_name(ci->type),
                      ci->required ? "REQUIRED" : "OPTIONAL");
    }
    for (int g = 0; g < nrg; g++) {
        int64_t comp = 0, unc = 0;
        for (int c = 0; c < nc; c++) {
            comp += ql_pq_chunk(f, g, c)->total_compressed_size;
            unc += ql_pq_chunk(f, g, c)->total_uncompressed_size;
        }
        ql_buf_printf(&b, "\nrow group %d: %lld rows, %lld bytes compressed, %lld uncompressed\n", g,
                      (long long)ql_pq_row_group_rows(f, g), (long long)comp, (long long)unc);
        for (int c = 0; c < nc; c++) {
            const ql_pq_column_info_t *ci = ql_pq_column(f, c);
            const ql_pq_chunk_info_t *ch = ql_pq_chunk(f, g, c);
            ql_buf_printf(&b, "  %s: %s %s [%s] values=%lld nulls=", ci->name, ql_pq_type_name(ci->type),
                          ql_pq_codec_name(ch->codec), ch->encodings, (long long)ch->num_values);
            if (ch->null_count >= 0) ql_buf_printf(&b, "%lld", (long long)ch->null_count);
            else ql_buf_putc(&b, '-');
            ql_buf_printf(&b, " size=%lld/%lld data_off=%lld dict_off=", (long long)ch->total_compressed_size,
                          (long long)ch->total_uncompressed_size, (long long)ch->data_page_offset);
            if (ch->dictionary_page_offset >= 0) ql_buf_printf(&b, "%lld", (long long)ch->dictionary_page_offset);
            else ql_buf_putc(&b, '-');
            ql_buf_puts(&b, " min=");
            put_stat(&b, ci->type, &ch->min);
            ql_buf_puts(&b, " max=");
            put_stat(&b, ci->type, &ch->max);
            ql_buf_putc(&b, '\n');
        }
    }
    fwrite(b.data, 1, b.len, stdout);
    ql_buf_free(&b);
}

/* Prints up to `limit` rows (< 0 = all); 0 or -1 with err set. */
static int print_rows(ql_pq_file_t *f, int64_t limit, char *err, size_t errlen)
{
    int nc = ql_pq_num_columns(f), nrg = ql_pq_num_row_groups(f), rc = 0;
    ql_pq_column_data_t *cols = ql_calloc(nc ? (size_t)nc : 1, sizeof *cols);
    ql_buf_t b = QL_BUF_INIT, *names = ql_calloc(nc ? (size_t)nc : 1, sizeof *names);
    int64_t printed = 0;
    for (int c = 0; c < nc; c++) {
        ql_json_write_string(&names[c], ql_pq_column(f, c)->name, strlen(ql_pq_column(f, c)->name));
        ql_buf_putc(&names[c], ':');
    }
    for (int g = 0; g < nrg && (limit < 0 || printed < limit) && rc == 0; g++) {
        int loaded = 0;
        for (; loaded < nc; loaded++)
            if ((rc = ql_pq_read_column(f, g, loaded, &cols[loaded], err, errlen)) < 0) break;
        int64_t n = rc < 0 ? 0 : ql_pq_row_group_rows(f, g);
        for (int64_t r = 0; r < n && (limit < 0 || printed < limit); r++, printed++) {
            ql_buf_putc(&b, '{');
            for (int c = 0; c < nc; c++) {
                const ql_pq_column_data_t *d = &cols[c];
                if (c) ql_buf_putc(&b, ',');
                ql_buf_append(&b, names[c].data, names[c].len);
                if (!d->valid[r]) ql_buf_puts(&b, "null");
                else put_value(&b, d->type, d->i64 ? d->i64[r] : 0, d->f64 ? d->f64[r] : 0,
                               d->str ? d->str[r] : NULL, d->str_len ? d->str_len[r] : 0);
            }
            ql_buf_puts(&b, "}\n");
            if (b.len >= 1 << 16) {
                fwrite(b.data, 1, b.len, stdout);
                ql_buf_reset(&b);
            }
        }
        for (int c = 0; c < loaded; c++) ql_pq_column_data_free(&cols[c]);
    }
    if (b.len) fwrite(b.data, 1, b.len, stdout);
    ql_buf_free(&b);
    for (int c = 0; c < nc; c++) ql_buf_free(&names[c]);
    free(names);
    free(cols);
    return rc;
}

/* ---- --verify ------------------------------------------------------------ */

typedef struct verify_totals {
    uint64_t files, damaged, rows, bytes;
} verify_totals_t;

static verify_totals_t vt;   /* nftw's callback has no argument pointer */

/* Reads every column chunk of one file; prints it when it cannot be read. */
static void verify_file(const char *path, uint64_t size)
{
    char err[512];
    ql_pq_file_t *f;
    int rc = ql_pq_open(&f, path, err, sizeof err);
    for (int g = 0; rc == 0 && g < ql_pq_num_row_groups(f); g++)
        for (int c = 0; rc == 0 && c < ql_pq_num_columns(f); c++) {
            ql_pq_column_data_t d;
            rc = ql_pq_read_column(f, g, c, &d, err, sizeof err);
            if (rc == 0 && d.n != ql_pq_row_group_rows(f, g))
                rc = ql_err(err, sizeof err, "row group %d column %s: %lld values for %lld rows", g,
                            ql_pq_column(f, c)->name, (long long)d.n, (long long)ql_pq_row_group_rows(f, g));
            ql_pq_column_data_free(&d);
        }
    vt.files++;
    vt.bytes += size;
    if (rc == 0) vt.rows += (uint64_t)ql_pq_num_rows(f);
    else {
        vt.damaged++;
        printf("DAMAGED %s: %s\n", path, err);
    }
    if (f) ql_pq_close(f);
}

static int verify_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    size_t n = strlen(path);
    if (type == FTW_F && n > 8 && !strcmp(path + n - 8, ".parquet")) verify_file(path, (uint64_t)st->st_size);
    return 0;
}

static int verify_paths(int n, char **paths)
{
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) {
            fprintf(stderr, "questlog inspect: %s: %s\n", paths[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            if (nftw(paths[i], verify_visit, 16, FTW_PHYS) != 0) {
                fprintf(stderr, "questlog inspect: %s: %s\n", paths[i], strerror(errno));
                return 1;
            }
        } else {
            verify_file(paths[i], (uint64_t)st.st_size);
        }
    }
    char size[32];
    ql_format_bytes((double)vt.bytes, size, sizeof size);
    printf("%llu files, %llu rows, %s read back: %llu damaged\n", (unsigned long long)vt.files,
           (unsigned long long)vt.rows, size, (unsigned long long)vt.damaged);
    if (fflush(stdout) != 0) return 1;
    return vt.damaged ? 1 : 0;
}

int ql_cmd_inspect(int argc, char **argv)
{
    enum { OPT_ROWS = QL_OPT_FIRST_LOCAL, OPT_VERIFY };
    static const struct option longopts[] = {
        {"rows", required_argument, NULL, OPT_ROWS},
        {"verify", no_argument, NULL, OPT_VERIFY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int64_t rows = -1;  /* -1: print metadata */
    int opt, verify = 0;
    ql_common_opts_t co;   /* inspect takes none of the common flags but --help */
    ql_cli_defaults(&co);
    optind = 1;
    while ((opt = ql_cli_next(&co, "inspect", argc, argv, "", longopts)) != -1) {
        if (opt == OPT_VERIFY) {
            verify = 1;
            continue;
        }
        if (opt != OPT_ROWS) return 2;   /* ql_cli_next said why */
        char *end;
        long long v = strtoll(optarg, &end, 10);
        if (*optarg == '\0' || *end || v < 0) {
            fprintf(stderr, "questlog inspect: --rows wants a number >= 0, got '%s'\n", optarg);
            return 2;
        }
        rows = v;
    }
    if (co.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (verify) {
        if (rows >= 0 || optind == argc) {
            fprintf(stderr, "questlog inspect: %s (see questlog inspect --help)\n",
                    rows >= 0 ? "--verify and --rows do not go together" : "--verify wants a PATH");
            return 2;
        }
        return verify_paths(argc - optind, argv + optind);
    }
    if (optind != argc - 1) {
        fprintf(stderr, "questlog inspect: %s (see questlog inspect --help)\n",
                optind < argc ? "one FILE.parquet at a time" : "no FILE.parquet given");
        return 2;
    }
    const char *path = argv[optind];
    char err[512];
    ql_pq_file_t *f;
    if (ql_pq_open(&f, path, err, sizeof err) < 0) {
        fprintf(stderr, "questlog inspect: %s: %s\n", path, err);
        return 1;
    }
    int rc = 0;
    if (rows < 0) print_meta(f, path);
    else rc = print_rows(f, rows == 0 ? -1 : rows, err, sizeof err);
    if (rc < 0) fprintf(stderr, "questlog inspect: %s: %s\n", path, err);
    ql_pq_close(f);
    if (fflush(stdout) != 0) return 1;
    return rc < 0 ? 1 : 0;
}
