/*
 * cmd_import.c — `questlog import FILE… | -`: JSON lines (e.g. a kcat dump of
 * the seed's topic) straight into the lake, through the same transform and
 * writers as the loader (loader.c, import mode). Also the loader benchmark.
 *
 * Threads: the main thread reads the inputs in 256 KiB chunks cut at line
 * ends, numbers the lines, and hands chunks to N workers through a bounded
 * queue (memory stays bounded); each worker owns a loader with its own
 * label, "imp<12 hex ms><4 hex random>w<k>", so its files never collide with
 * another worker's, another import's or the log's (numeric labels). File
 * ranges are input line numbers (1-based, counted across all inputs).
 *
 * All or nothing: workers write hidden temp files; only when every worker
 * has finished without error are the files renamed into the lake. A crash
 * before that leaves only temp files (deleted by the next writer's
 * recovery); a crash during the final renames (milliseconds) can leave part
 * of the import visible. Re-running an import adds its events again: import
 * does not deduplicate.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "lake.h"
#include "loader.h"
#include "util.h"

static const char usage[] =
    "Usage: questlog import [options] FILE… | -\n"
    "\n"
    "Loads JSON lines (one event object per line; `-` = stdin) straight into\n"
    "the lake's tables. Events lacking event_id/timestamp get them (UUIDv7, now);\n"
    "a valid RFC 3339 timestamp in the input is kept. Bad lines go to _rejected.\n"
    "\n"
    "Options:\n"
    "  --codec NAME     zstd (default), snappy or none\n"
    "  --zstd-level N   1..19 (default: the writer's, 1)\n"
    "  --file-rows N    start a new file after N rows per table and day (default 4M)\n"
    "  --workers N      parallel workers (default: number of CPUs, max 8)\n"
    "  -q, --quiet      no progress bar, no summary\n";

enum { CHUNK = 256 << 10 };

typedef struct chunk {
    char          *data;
    size_t         len;
    int64_t        first_line;   /* line number of the first line */
    const char    *source;       /* input name, for _rejected */
    struct chunk  *next;
} chunk_t;

typedef struct shared {
    pthread_mutex_t mu;
    pthread_cond_t  cv_nonempty, cv_nonfull;
    chunk_t        *head, *tail;
    int             queued, max_queued, closed, failed;
    char            err[512];
} shared_t;

typedef struct worker {
    pthread_t    th;
    shared_t    *sh;
    ql_loader_t *ld;
    int64_t      now_us;
} worker_t;

static chunk_t *pop(shared_t *sh)
{
    pthread_mutex_lock(&sh->mu);
    while (!sh->head && !sh->closed && !sh->failed) pthread_cond_wait(&sh->cv_nonempty, &sh->mu);
    chunk_t *c = sh->failed ? NULL : sh->head;
    if (c) {
        sh->head = c->next;
        if (!sh->head) sh->tail = NULL;
        sh->queued--;
        pthread_cond_signal(&sh->cv_nonfull);
    }
    pthread_mutex_unlock(&sh->mu);
    return c;
}

static int push(shared_t *sh, chunk_t *c)
{
    pthread_mutex_lock(&sh->mu);
    while (sh->queued >= sh->max_queued && !sh->failed) pthread_cond_wait(&sh->cv_nonfull, &sh->mu);
    int failed = sh->failed;
    if (!failed) {
        c->next = NULL;
        if (sh->tail) sh->tail->next = c;
        else sh->head = c;
        sh->tail = c;
        sh->queued++;
        pthread_cond_signal(&sh->cv_nonempty);
    }
    pthread_mutex_unlock(&sh->mu);
    return failed ? -1 : 0;
}

static void fail(shared_t *sh, const char *msg)
{
    pthread_mutex_lock(&sh->mu);
    if (!sh->failed) snprintf(sh->err, sizeof sh->err, "%.500s", msg);
    sh->failed = 1;
    pthread_cond_broadcast(&sh->cv_nonempty);
    pthread_cond_broadcast(&sh->cv_nonfull);
    pthread_mutex_unlock(&sh->mu);
}

static int has_failed(shared_t *sh)
{
    pthread_mutex_lock(&sh->mu);
    int f = sh->failed;
    pthread_mutex_unlock(&sh->mu);
    return f;
}

static void *work(void *arg)
{
    worker_t *w = arg;
    char err[512];
    chunk_t *c;
    while ((c = pop(w->sh))) {
        ql_loader_set_source(w->ld, c->source);
        int64_t line = c->first_line;
        int64_t now = ql_now_us();
        const char *p = c->data, *end = c->data + c->len;
        int rc = 0;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *e = nl ? nl : end;
            const char *s = p;
            while (s < e && (*s == ' ' || *s == '\t' || *s == '\r')) s++;
            if (s < e && (rc = ql_loader_add(w->ld, -1, line, now, s, (size_t)(e - s), err, sizeof err))) break;
            line++;
            p = e + 1;
        }
        free(c->data);
        free(c);
        if (rc) {
            fail(w->sh, err);
            return NULL;
        }
    }
    if (!has_failed(w->sh) && ql_loader_seal(w->ld, err, sizeof err)) fail(w->sh, err);
    return NULL;
}

static void human(double v, char *out, size_t n)
{
    const char *u[] = {"B", "kB", "MB", "GB", "TB"};
    int i = 0;
    while (v >= 1000 && i < 4) { v /= 1000; i++; }
    snprintf(out, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void progress(int64_t t0, uint64_t lines, uint64_t bytes, uint64_t total, int final)
{
    double secs = (double)(ql_monotonic_us() - t0) / 1e6;
    char b[32], tb[32];
    human((double)bytes, b, sizeof b);
    double rate = secs > 0 ? (double)lines / secs : 0;
    if (total) {
        human((double)total, tb, sizeof tb);
        double bps = secs > 0 ? (double)bytes / secs : 0;
        double eta = bps > 0 && total > bytes ? (double)(total - bytes) / bps : 0;
        int width = 24, filled = (int)((double)width * (double)bytes / (double)total);
        if (filled > width) filled = width;
        fprintf(stderr, "\r[%.*s%*s] %3.0f%%  %llu events  %s / %s  %.0f events/s  ETA %.0fs \033[K",
                filled, "########################", width - filled, "", 100.0 * (double)bytes / (double)total,
                (unsigned long long)lines, b, tb, rate, eta);
    } else {
        fprintf(stderr, "\r%llu events  %s  %.0f events/s \033[K", (unsigned long long)lines, b, rate);
    }
    if (final) fputc('\n', stderr);
}

int ql_cmd_import(int argc, char **argv)
{
    enum { OPT_CODEC = QL_OPT_FIRST_LOCAL, OPT_LEVEL, OPT_WORKERS, OPT_FILE_ROWS };
    static const struct option longopts[] = {
        QL_COMMON_LONGOPTS,
        {"codec", required_argument, NULL, OPT_CODEC},
        {"zstd-level", required_argument, NULL, OPT_LEVEL},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"file-rows", required_argument, NULL, OPT_FILE_ROWS},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    ql_common_opts_t co;
    ql_cli_defaults(&co);
    int quiet = 0, c, level = 0;  /* 0 = the writer's default */
    uint64_t file_rows = 0;
    long nworkers = sysconf(_SC_NPROCESSORS_ONLN);
    ql_pq_codec_t codec = QL_PQ_ZSTD;
    optind = 1;
    while ((c = ql_cli_next(&co, "import", argc, argv, "q", longopts)) != -1) {
        switch (c) {
        case 'q': quiet = 1; break;
        case OPT_CODEC:
            if (ql_pq_codec_parse(optarg, &codec)) {
                fprintf(stderr, "questlog import: unknown codec '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_LEVEL:
            level = atoi(optarg);
            if (level < 1 || level > 19) {
                fprintf(stderr, "questlog import: --zstd-level wants 1..19\n");
                return 2;
            }
            break;
        case OPT_FILE_ROWS:
            if (ql_parse_size(optarg, &file_rows) || file_rows == 0) {
                fprintf(stderr, "questlog import: bad --file-rows '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_WORKERS:
            nworkers = atol(optarg);
            if (nworkers < 1 || nworkers > 64) {
                fprintf(stderr, "questlog import: --workers wants 1..64\n");
                return 2;
            }
            break;
        default: return 2;   /* ql_cli_next said why */
        }
    }
    int end = ql_cli_end_operands(&co, "import", usage, argc, 1, "no input (give FILE… or - for stdin)");
    if (end >= 0) return end;
    if (nworkers < 1) nworkers = 1;
    if (nworkers > 8) nworkers = 8;

    char err[600];
    int rc = 1;
    ql_loader_env_t env = {0};
    worker_t *ws = ql_calloc((size_t)nworkers, sizeof *ws);
    int started = 0;
    shared_t sh;
    memset(&sh, 0, sizeof sh);
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.cv_nonempty, NULL);
    pthread_cond_init(&sh.cv_nonfull, NULL);
    sh.max_queued = 2 * (int)nworkers;

    uint64_t total = 0;
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (strcmp(argv[i], "-") && stat(argv[i], &st) != 0) {
            snprintf(err, sizeof err, "cannot read '%s': %s", argv[i], strerror(errno));
            goto fail;
        }
        if (strcmp(argv[i], "-") && S_ISREG(st.st_mode)) total += (uint64_t)st.st_size;
    }
    if (ql_loader_env_open(&env, co.config_path, err, sizeof err)) goto fail;
    if (ql_mkdir_p(co.lake_dir, err, sizeof err)) goto fail;

    char base[24];
    uint16_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd) rnd = (uint16_t)getpid();
    snprintf(base, sizeof base, "imp%012llx%04x", (unsigned long long)(ql_now_us() / 1000) & 0xFFFFFFFFFFFFull, rnd);
    for (long i = 0; i < nworkers; i++) {
        char label[QL_LAKE_LABEL_MAX];
        snprintf(label, sizeof label, "%sw%ld", base, i);
        ql_loader_options_t lo = {0};
        lo.lake_dir = co.lake_dir;
        lo.transform = env.tf;
        lo.wopt.codec = codec;
        lo.wopt.zstd_level = level;
        lo.file_rows = (int64_t)file_rows;
        lo.import_label = label;   /* copied by the loader */
        if (ql_loader_new(&ws[i].ld, &lo, err, sizeof err)) goto fail;
        ws[i].sh = &sh;
    }
    for (long i = 0; i < nworkers; i++) {
        if (pthread_create(&ws[i].th, NULL, work, &ws[i]) != 0) {
            snprintf(err, sizeof err, "cannot start a worker thread");
            fail(&sh, err);
            break;
        }
        started++;
    }

    int tty = !quiet && isatty(2);
    int64_t t0 = ql_monotonic_us(), last_prog = t0;
    uint64_t lines = 0, bytes = 0;
    int64_t line_no = 1;
    char *carry = NULL;
    size_t carry_len = 0;
    int read_failed = 0;
    for (int i = optind; i < argc && !has_failed(&sh) && !read_failed; i++) {
        const char *name = strcmp(argv[i], "-") ? argv[i] : "(stdin)";
        int fd = strcmp(argv[i], "-") ? open(argv[i], O_RDONLY | O_CLOEXEC) : 0;
        if (fd < 0) {
            snprintf(err, sizeof err, "cannot open '%s': %s", argv[i], strerror(errno));
            read_failed = 1;
            break;
        }
        for (;;) {
            size_t target = carry_len + CHUNK;
            char *buf = ql_malloc(target + 1);
            if (carry_len) memcpy(buf, carry, carry_len);
            free(carry);
            carry = NULL;
            size_t len = carry_len;
            carry_len = 0;
            int eof = 0;
            while (len < target) {
                ssize_t n = read(fd, buf + len, target - len);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) {
                    snprintf(err, sizeof err, "cannot read '%s': %s", name, strerror(errno));
                    read_failed = 1;
                    break;
                }
                if (n == 0) { eof = 1; break; }
                len += (size_t)n;
                bytes += (uint64_t)n;
            }
            if (read_failed) { free(buf); break; }
            /* cut after the last newline; the partial line goes into the next chunk */
            size_t cut = len;
            if (!eof) {
                char *nl = memrchr(buf, '\n', len);
                cut = nl ? (size_t)(nl - buf) + 1 : 0;
                if (!nl && len > (64u << 20)) {
                    snprintf(err, sizeof err, "%s: a line longer than 64 MiB", name);
                    read_failed = 1;
                    free(buf);
                    break;
                }
                carry_len = len - cut;
                if (carry_len) {
                    carry = ql_malloc(carry_len);
                    memcpy(carry, buf + cut, carry_len);
                }
            }
            int64_t nlines = 0;
            for (const char *p = buf, *e = buf + cut; p < e;) {
                const char *nl = memchr(p, '\n', (size_t)(e - p));
                nlines++;
                if (!nl) break;
                p = nl + 1;
            }
            if (cut) {
                chunk_t *ch = ql_calloc(1, sizeof *ch);
                ch->data = buf;
                ch->len = cut;
                ch->first_line = line_no;
                ch->source = name;
                line_no += nlines;
                lines += (uint64_t)nlines;
                if (push(&sh, ch)) {
                    free(buf);
                    free(ch);
                    break;
                }
            } else {
                free(buf);
            }
            if (tty && ql_monotonic_us() - last_prog > 200000) {
                progress(t0, lines, bytes, total, 0);
                last_prog = ql_monotonic_us();
            }
            if (eof) break;
        }
        if (fd > 0) close(fd);
    }
    free(carry);
    if (read_failed) fail(&sh, err);
    pthread_mutex_lock(&sh.mu);
    sh.closed = 1;
    pthread_cond_broadcast(&sh.cv_nonempty);
    pthread_mutex_unlock(&sh.mu);
    for (int i = 0; i < started; i++) pthread_join(ws[i].th, NULL);
    while (sh.head) {
        chunk_t *n = sh.head->next;
        free(sh.head->data);
        free(sh.head);
        sh.head = n;
    }
    if (sh.failed) {
        snprintf(err, sizeof err, "%s (nothing imported)", sh.err);
        goto fail;
    }
    /* every worker succeeded: commit all files */
    ql_loader_stats_t sum = {0};
    for (long i = 0; i < nworkers; i++) {
        if (ql_loader_flush(ws[i].ld, err, sizeof err)) goto fail;
        ql_loader_stats_t st;
        ql_loader_stats(ws[i].ld, &st);
        sum.records += st.records;
        sum.rows += st.rows;
        sum.rejected += st.rejected;
        sum.files += st.files;
        sum.bytes += st.bytes;
        sum.type_mismatch += st.type_mismatch;
    }
    if (tty) progress(t0, lines, bytes, total, 1);
    if (!quiet) {
        double secs = (double)(ql_monotonic_us() - t0) / 1e6;
        char b[32], w[32];
        human((double)bytes, b, sizeof b);
        human((double)sum.bytes, w, sizeof w);
        fprintf(stderr,
                "questlog import: %llu events (%llu rejected) -> %llu rows in %llu files, %s read, %s written, "
                "%.2f s, %.0f events/s -> %s\n",
                (unsigned long long)sum.records, (unsigned long long)sum.rejected, (unsigned long long)sum.rows,
                (unsigned long long)sum.files, b, w, secs, secs > 0 ? (double)sum.records / secs : 0.0,
                co.lake_dir);
        if (sum.type_mismatch)
            fprintf(stderr, "questlog import: %llu values did not fit their column type and were stored as null\n",
                    (unsigned long long)sum.type_mismatch);
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "questlog import: %s\n", err);
out:
    for (long i = 0; i < nworkers; i++) ql_loader_free(ws[i].ld);
    free(ws);
    ql_loader_env_close(&env);
    pthread_mutex_destroy(&sh.mu);
    pthread_cond_destroy(&sh.cv_nonempty);
    pthread_cond_destroy(&sh.cv_nonfull);
    return rc;
}
