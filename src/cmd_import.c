/*
 * cmd_import.c — `questlog import FILE… | -`: JSON lines (e.g. a kcat dump of
 * the seed's topic) straight into the lake, through the same transform and
 * writers as the loader (loader.c, import mode). Also the loader benchmark.
 *
 * Once per content: each input is one import, named by the SHA-256 of its
 * bytes (the first 128 bits, 32 hex digits: the id). Importing the same
 * content again — the same file, a copy, the same stream on stdin, its gzip
 * (FILE.gz is decompressed as it is read; the id is of the JSON lines) — adds
 * nothing (a regular file whose size an earlier import had is hashed first
 * and skipped at once); an import of it that crashed half-way is replaced.
 * The commit protocol is lake.c's I8: files labelled "imp<ID>w<k>", made
 * visible by the record LAKE/.imports/<ID> written last, under the import
 * lock.
 *
 * Threads: the main thread reads an input in 256 KiB chunks cut at line
 * ends, numbers the lines (1-based per input) and hands each chunk to N
 * workers through a bounded queue (memory stays bounded) and to a hasher
 * thread (SHA-256, in input order); each worker owns a loader with its own
 * label. The id is known only at the end of the input, so workers write
 * under a provisional label and their files are renamed under
 * "imp<ID>w<k>" at the commit.
 *
 * All or nothing per input: workers write hidden temp files; only when every
 * worker has finished without error are the files renamed into the lake.
 * Inputs are imported one after the other; a missing input is reported
 * before anything is imported.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"
#include "lake.h"
#include "loader.h"
#include "util.h"

static const char usage[] =
    "usage: questlog import [options] FILE… | -\n"
    "\n"
    "Loads JSON lines (one event object per line; `-` = stdin; FILE.gz is\n"
    "decompressed) straight into the lake's tables. Events lacking event_id or\n"
    "timestamp get them (UUIDv7, now); a valid RFC 3339 timestamp in the input\n"
    "is kept. Bad lines go to _rejected.\n"
    "\n"
    "Each input is imported once: an input whose content (SHA-256) was imported\n"
    "before adds nothing, so re-running an import after a crash or by mistake\n"
    "is safe, and an import that was interrupted is replaced, not doubled.\n"
    "Records of past imports: LAKE/.imports/<id> (the first 32 hex digits of\n"
    "`sha256sum FILE`). Deleting one withdraws that import (its rows vanish)\n"
    "until its content is imported again — unless `compact` has merged its\n"
    "files with other imports' (LAKE/.imports/<id>.merged): then it stays.\n"
    "\n"
    "Options:\n"
    "  --codec NAME     zstd (default), snappy or none\n"
    "  --zstd-level N   1..19 (default: the writer's, 1)\n"
    "  --file-rows N    start a new file after N rows per table and day (default 4M)\n"
    "  --workers N      parallel workers (default: number of CPUs, max 8)\n"
    "  -q, --quiet      no progress bar, no summary\n";

enum { CHUNK = 256 << 10 };

/* A piece of the input, cut after a line end; the chunks of an input, in
 * order, are all its bytes. Shared by a worker and the hasher (refs). */
typedef struct chunk {
    char          *data;
    size_t         len;
    int64_t        first_line;   /* line number of the first line */
    int            refs;         /* atomic: the last holder frees it */
    struct chunk  *next;         /* in a worker queue */
    struct chunk  *hnext;        /* in the hasher's queue */
} chunk_t;

/* A bounded queue of chunks with an error flag (workers: `next` links;
 * the hasher: `hnext`). */
typedef struct shared {
    pthread_mutex_t mu;
    pthread_cond_t  cv_nonempty, cv_nonfull;
    chunk_t        *head, *tail;
    int             queued, max_queued, closed, failed;
    int             hasher;      /* links by hnext */
    char            err[512];
} shared_t;

typedef struct worker {
    pthread_t    th;
    shared_t    *sh;
    ql_loader_t *ld;
} worker_t;

/* Settings and running totals of one `questlog import` (every input). */
typedef struct run {
    const char           *lake_dir;
    ql_loader_options_t   lo;          /* per worker: label set per input */
    long                  nworkers;
    int                   quiet, tty;
    int64_t               t0, last_prog;
    uint64_t              lines, bytes, total;   /* progress, all inputs */
    ql_loader_stats_t     sum;         /* of the committed inputs */
    unsigned              skipped;     /* inputs imported before */
} run_t;

static chunk_t **link_of(shared_t *sh, chunk_t *c) { return sh->hasher ? &c->hnext : &c->next; }

static void release(chunk_t *c)
{
    if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(c->data);
        free(c);
    }
}

static chunk_t *pop(shared_t *sh)
{
    pthread_mutex_lock(&sh->mu);
    while (!sh->head && !sh->closed && !sh->failed) pthread_cond_wait(&sh->cv_nonempty, &sh->mu);
    chunk_t *c = sh->failed ? NULL : sh->head;
    if (c) {
        sh->head = *link_of(sh, c);
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
        *link_of(sh, c) = NULL;
        if (sh->tail) *link_of(sh, sh->tail) = c;
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

static void close_queue(shared_t *sh)
{
    pthread_mutex_lock(&sh->mu);
    sh->closed = 1;
    pthread_cond_broadcast(&sh->cv_nonempty);
    pthread_mutex_unlock(&sh->mu);
}

static void *work(void *arg)
{
    worker_t *w = arg;
    char err[512];
    chunk_t *c;
    while ((c = pop(w->sh))) {
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
        release(c);
        if (rc) {
            fail(w->sh, err);
            return NULL;
        }
    }
    if (!has_failed(w->sh) && ql_loader_seal(w->ld, err, sizeof err)) fail(w->sh, err);
    return NULL;
}

/* Drops what is left in a queue (after a failure). */
static void drain(shared_t *sh)
{
    while (sh->head) {
        chunk_t *n = *link_of(sh, sh->head);
        release(sh->head);
        sh->head = n;
    }
}

typedef struct hasher {
    pthread_t   th;
    shared_t    q;
    EVP_MD_CTX *md;
} hasher_t;

/* The hasher thread: SHA-256 of the chunks in input order, off the reading
 * thread's path. */
static void *hash_work(void *arg)
{
    hasher_t *h = arg;
    chunk_t *c;
    while ((c = pop(&h->q))) {
        EVP_DigestUpdate(h->md, c->data, c->len);
        release(c);
    }
    return NULL;
}

static void progress(int64_t t0, uint64_t lines, uint64_t bytes, uint64_t total, int final)
{
    double secs = (double)(ql_monotonic_us() - t0) / 1e6;
    char b[32], tb[32];
    ql_format_bytes((double)bytes, b, sizeof b);
    double rate = secs > 0 ? (double)lines / secs : 0;
    if (total) {
        ql_format_bytes((double)total, tb, sizeof tb);
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

/* An input: a file descriptor, read as it is or, for FILE.gz, through zlib. */
typedef struct input {
    int    fd;
    gzFile gz;   /* NULL: plain */
} input_t;

static int is_gz_name(const char *arg)
{
    size_t n = strlen(arg);
    return n > 3 && !strcmp(arg + n - 3, ".gz");
}

/* read(2) of the (decompressed) input: bytes read, 0 at the end, -1 with
 * the reason in err. */
static ssize_t input_read(input_t *in, char *buf, size_t n, const char *name, char *err, size_t errlen)
{
    for (;;) {
        ssize_t k = in->gz ? gzread(in->gz, buf, n > (1u << 30) ? 1u << 30 : (unsigned)n) : read(in->fd, buf, n);
        int zerr = Z_OK;
        const char *zmsg = in->gz && k <= 0 ? gzerror(in->gz, &zerr) : NULL;
        if (k > 0 || (k == 0 && zerr == Z_OK)) return k;   /* a gzip stream cut short ends with Z_BUF_ERROR */
        if (!in->gz && errno == EINTR) continue;
        if (zmsg && !strncmp(zmsg, "<fd:", 4) && strstr(zmsg, ": ")) zmsg = strstr(zmsg, ": ") + 2;
        ql_err(err, errlen, "cannot read '%s': %s", name, !in->gz || zerr == Z_ERRNO ? strerror(errno) : zmsg);
        return -1;
    }
}

/* Reads an input to its end in chunks cut after a line end, each for the
 * workers' queue and the hasher's. 0 ok (or the workers failed: see sh),
 * -1 on a read error (message in err). */
static int read_input(run_t *r, shared_t *sh, shared_t *hq, input_t *in, const char *name, char *err, size_t errlen)
{
    char *carry = NULL;
    size_t carry_len = 0;
    int64_t line_no = 1;
    int rc = 0;
    while (!rc && !has_failed(sh)) {
        size_t target = carry_len + CHUNK;
        char *buf = ql_malloc(target + 1);
        if (carry_len) memcpy(buf, carry, carry_len);
        free(carry);
        carry = NULL;
        size_t len = carry_len;
        carry_len = 0;
        int eof = 0;
        while (len < target) {
            ssize_t n = input_read(in, buf + len, target - len, name, err, errlen);
            if (n < 0) {
                rc = -1;
                break;
            }
            if (n == 0) { eof = 1; break; }
            len += (size_t)n;
            r->bytes += (uint64_t)n;
        }
        /* cut after the last newline; the partial line goes into the next chunk */
        size_t cut = len;
        if (!rc && !eof) {
            char *nl = memrchr(buf, '\n', len);
            cut = nl ? (size_t)(nl - buf) + 1 : 0;
            if (!nl && len > (64u << 20)) rc = ql_err(err, errlen, "%s: a line longer than 64 MiB", name);
            carry_len = len - cut;
            if (carry_len) {
                carry = ql_malloc(carry_len);
                memcpy(carry, buf + cut, carry_len);
            }
        }
        if (rc || !cut) {
            free(buf);
        } else {
            int64_t nlines = 0;
            for (const char *p = buf, *e = buf + cut; p < e;) {
                const char *nl = memchr(p, '\n', (size_t)(e - p));
                nlines++;
                if (!nl) break;
                p = nl + 1;
            }
            chunk_t *ch = ql_calloc(1, sizeof *ch);
            ch->data = buf;
            ch->len = cut;
            ch->first_line = line_no;
            ch->refs = 2;
            line_no += nlines;
            r->lines += (uint64_t)nlines;
            if (push(sh, ch)) {   /* a worker failed */
                free(buf);
                free(ch);
                break;
            }
            push(hq, ch);   /* the hasher never fails */
        }
        if (r->tty && ql_monotonic_us() - r->last_prog > 200000) {
            progress(r->t0, r->lines, r->bytes, r->total, 0);
            r->last_prog = ql_monotonic_us();
        }
        if (eof) break;
    }
    free(carry);
    return rc;
}

/* The id of a content: its SHA-256's first 128 bits in hex. */
static void id_of_digest(const unsigned char *digest, char id[QL_LAKE_IMPORT_ID_LEN + 1])
{
    for (int i = 0; i < QL_LAKE_IMPORT_ID_LEN / 2; i++) snprintf(id + 2 * i, 3, "%02x", digest[i]);
}

/* The id of a regular file's content, read with pread (the file offset
 * stays where it is). 0 ok, -1 with a message. */
static int file_id(int fd, const char *name, char id[QL_LAKE_IMPORT_ID_LEN + 1], char *err, size_t errlen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *buf = ql_malloc(CHUNK);
    int rc = -1;
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        ql_err(err, errlen, "cannot set up SHA-256 (OpenSSL)");
        goto out;
    }
    for (off_t at = 0;;) {
        ssize_t n = pread(fd, buf, CHUNK, at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ql_err(err, errlen, "cannot read '%s': %s", name, strerror(errno));
            goto out;
        }
        if (n == 0) break;
        EVP_DigestUpdate(md, buf, (size_t)n);
        at += n;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_DigestFinal_ex(md, digest, &dlen);
    id_of_digest(digest, id);
    rc = 0;
out:
    free(buf);
    EVP_MD_CTX_free(md);
    return rc;
}

static void note_skipped(run_t *r, const char *name, const char *id)
{
    if (!r->quiet && ql_lake_import_merged(r->lake_dir, id))
        fprintf(stderr, "questlog import: %s: already imported (same content: %s/.imports/%s; compacted together "
                "with other imports, so it stays in the lake even without its record); nothing added\n",
                name, r->lake_dir, id);
    else if (!r->quiet)
        fprintf(stderr, "questlog import: %s: already imported (same content: %s/.imports/%s); nothing added\n",
                name, r->lake_dir, id);
    r->skipped++;
}

/* Commits input `name` of content `id` (I8 in lake.c): under the import
 * lock, nothing if the content was imported before, else replace what a
 * crashed earlier run left, rename the workers' files under the id's labels
 * and write the record. */
static int commit_input(run_t *r, worker_t *ws, const char *name, const char *id, uint64_t bytes, char *err,
                        size_t errlen)
{
    int lock_fd = -1, rc = -1, removed = 0;
    if (ql_lake_import_lock(r->lake_dir, &lock_fd, err, errlen)) goto out;
    if (ql_lake_import_done(r->lake_dir, id)) {
        note_skipped(r, name, id);
        rc = 0;
        goto out;   /* the workers' temp files are deleted with their loaders */
    }
    if (ql_lake_import_rollback(r->lake_dir, id, &removed, err, errlen)) goto out;
    if (removed && !r->quiet)
        fprintf(stderr, "questlog import: %s: replacing an interrupted import of the same content (%d files)\n",
                name, removed);
    ql_loader_stats_t before = r->sum, *sum = &r->sum;
    for (long i = 0; i < r->nworkers; i++) {
        char label[QL_LAKE_LABEL_MAX];
        ql_lake_import_label(id, (int)i, label);
        ql_loader_relabel(ws[i].ld, label);
        if (ql_loader_flush(ws[i].ld, err, errlen)) goto out;
        ql_loader_stats_t st;
        ql_loader_stats(ws[i].ld, &st);
        sum->records += st.records;
        sum->rows += st.rows;
        sum->rejected += st.rejected;
        sum->files += st.files;
        sum->bytes += st.bytes;
        sum->type_mismatch += st.type_mismatch;
    }
    char now[QL_RFC3339_LEN], info[4096 + 512];
    ql_rfc3339_format(ql_now_us(), now);
    snprintf(info, sizeof info,
             "source %.4000s\nbytes %llu\nevents %llu\nrejected %llu\nrows %llu\nfiles %llu\nimported %s\n", name,
             (unsigned long long)bytes, (unsigned long long)(sum->records - before.records),
             (unsigned long long)(sum->rejected - before.rejected), (unsigned long long)(sum->rows - before.rows),
             (unsigned long long)(sum->files - before.files), now);
    if (ql_lake_import_record(r->lake_dir, id, info, err, errlen)) goto out;
    rc = 0;
out:
    if (lock_fd >= 0) close(lock_fd);
    return rc;
}

static void queue_init(shared_t *q, int max_queued, int hasher)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv_nonempty, NULL);
    pthread_cond_init(&q->cv_nonfull, NULL);
    q->max_queued = max_queued;
    q->hasher = hasher;
}

static void queue_destroy(shared_t *q)
{
    drain(q);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv_nonempty);
    pthread_cond_destroy(&q->cv_nonfull);
}

/* Imports one input (a path, or "-" for stdin), all or nothing. */
static int import_one(run_t *r, const char *arg, char *err, size_t errlen)
{
    const char *name = strcmp(arg, "-") ? arg : "(stdin)";
    int rc = -1, started = 0, fd = -1;
    uint64_t bytes0 = r->bytes;
    input_t in = {-1, NULL};
    worker_t *ws = ql_calloc((size_t)r->nworkers, sizeof *ws);
    shared_t sh;
    hasher_t h;
    queue_init(&sh, 2 * (int)r->nworkers, 0);
    queue_init(&h.q, 2 * (int)r->nworkers + 2, 1);
    h.md = EVP_MD_CTX_new();
    if (!h.md || !EVP_DigestInit_ex(h.md, EVP_sha256(), NULL)) {
        ql_err(err, errlen, "cannot set up SHA-256 (OpenSSL)");
        goto out;
    }

    fd = strcmp(arg, "-") ? open(arg, O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0) {
        ql_err(err, errlen, "cannot open '%s': %s", arg, strerror(errno));
        goto out;
    }
    in.fd = fd;
    if (is_gz_name(arg) && !(in.gz = gzdopen(dup(fd), "rb"))) {
        ql_err(err, errlen, "cannot read '%s' as gzip", arg);
        goto out;
    }
    /* a (plain) file of the size of an earlier import: hash it first, and
     * skip it without reading it twice more if its content is in */
    struct stat st;
    if (!in.gz && fd > 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        ql_lake_import_size_seen(r->lake_dir, (uint64_t)st.st_size)) {
        char id[QL_LAKE_IMPORT_ID_LEN + 1];
        if (file_id(fd, name, id, err, errlen)) goto out;
        if (ql_lake_import_done(r->lake_dir, id)) {
            note_skipped(r, name, id);
            r->bytes += (uint64_t)st.st_size;
            rc = 0;
            goto out;
        }
    }
    /* provisional labels (pid + random): the id is known at the end */
    char base[24];
    uint32_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd) rnd = (uint32_t)ql_now_us();
    snprintf(base, sizeof base, "imptmp%08x%08x", (unsigned)getpid(), rnd);
    for (long i = 0; i < r->nworkers; i++) {
        char label[QL_LAKE_LABEL_MAX];
        snprintf(label, sizeof label, "%sw%ld", base, i);
        ql_loader_options_t lo = r->lo;
        lo.import_label = label;   /* copied by the loader */
        lo.source = name;
        if (ql_loader_new(&ws[i].ld, &lo, err, errlen)) goto out;
        ws[i].sh = &sh;
    }
    if (pthread_create(&h.th, NULL, hash_work, &h) != 0) {
        ql_err(err, errlen, "cannot start a thread");
        goto out;
    }
    for (long i = 0; i < r->nworkers; i++) {
        if (pthread_create(&ws[i].th, NULL, work, &ws[i]) != 0) {
            fail(&sh, "cannot start a worker thread");
            break;
        }
        started++;
    }
    if (read_input(r, &sh, &h.q, &in, name, err, errlen)) fail(&sh, err);
    close_queue(&sh);
    close_queue(&h.q);
    for (int i = 0; i < started; i++) pthread_join(ws[i].th, NULL);
    pthread_join(h.th, NULL);
    if (sh.failed) {
        ql_err(err, errlen, "%s (nothing of '%s' imported)", sh.err, name);
        goto out;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_DigestFinal_ex(h.md, digest, &dlen);
    char id[QL_LAKE_IMPORT_ID_LEN + 1];
    id_of_digest(digest, id);
    rc = commit_input(r, ws, name, id, r->bytes - bytes0, err, errlen);
out:
    queue_destroy(&sh);
    queue_destroy(&h.q);
    if (in.gz) gzclose(in.gz);   /* its own dup of fd */
    if (fd > 0) close(fd);
    for (long i = 0; i < r->nworkers; i++) ql_loader_free(ws[i].ld);
    free(ws);
    EVP_MD_CTX_free(h.md);
    return rc;
}

int ql_cmd_import(int argc, char **argv)
{
    enum { OPT_CODEC = QL_OPT_FIRST_LOCAL, OPT_LEVEL, OPT_WORKERS, OPT_FILE_ROWS };
    static const struct option longopts[] = {
        QL_LONGOPT_DATA, QL_LONGOPT_LAKE, QL_LONGOPT_CONFIG, QL_LONGOPT_HELP,
        {"codec", required_argument, NULL, OPT_CODEC},
        {"zstd-level", required_argument, NULL, OPT_LEVEL},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"file-rows", required_argument, NULL, OPT_FILE_ROWS},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    ql_common_opts_t co;
    ql_cli_defaults(&co);
    run_t r;
    memset(&r, 0, sizeof r);
    r.lo.wopt.codec = QL_PQ_ZSTD;
    r.nworkers = sysconf(_SC_NPROCESSORS_ONLN);
    int c;
    long n;
    uint64_t file_rows = 0;
    optind = 1;
    while ((c = ql_cli_next(&co, "import", argc, argv, "q", longopts)) != -1) {
        switch (c) {
        case 'q': r.quiet = 1; break;
        case OPT_CODEC:
            if (ql_cli_codec("import", optarg, &r.lo.wopt.codec)) return 2;
            break;
        case OPT_LEVEL:
            if (ql_cli_int("import", "zstd-level", optarg, 1, 19, &n)) return 2;
            r.lo.wopt.zstd_level = (int)n;
            break;
        case OPT_FILE_ROWS:
            if (ql_cli_size("import", "file-rows", optarg, &file_rows)) return 2;
            break;
        case OPT_WORKERS:
            if (ql_cli_int("import", "workers", optarg, 1, 64, &n)) return 2;
            r.nworkers = n;
            break;
        default: return 2;   /* ql_cli_next said why */
        }
    }
    int end = ql_cli_end_operands(&co, "import", usage, argc, 1, "no input (give FILE… or - for stdin)");
    if (end >= 0) return end;
    if (r.nworkers < 1) r.nworkers = 1;
    if (r.nworkers > 8) r.nworkers = 8;

    char err[600];
    int rc = 1, gz_inputs = 0;
    ql_loader_env_t env = {0};
    for (int i = optind; i < argc; i++) {   /* every input readable before anything is imported */
        struct stat st;
        if (strcmp(argv[i], "-") && stat(argv[i], &st) != 0) {
            snprintf(err, sizeof err, "cannot read '%s': %s", argv[i], strerror(errno));
            goto fail;
        }
        if (strcmp(argv[i], "-") && S_ISDIR(st.st_mode)) {
            snprintf(err, sizeof err, "'%s' is a directory (give the JSON-lines files in it)", argv[i]);
            goto fail;
        }
        if (strcmp(argv[i], "-") && S_ISREG(st.st_mode)) r.total += (uint64_t)st.st_size;
        if (is_gz_name(argv[i])) gz_inputs = 1;
    }
    if (ql_loader_env_open(&env, co.config_path, err, sizeof err)) goto fail;
    if (ql_mkdir_p(co.lake_dir, err, sizeof err)) goto fail;
    if (gz_inputs) r.total = 0;   /* the progress bar counts decompressed bytes: no total, no ETA */
    r.lake_dir = co.lake_dir;
    r.lo.lake_dir = co.lake_dir;
    r.lo.transform = env.tf;
    r.lo.file_rows = (int64_t)file_rows;
    r.tty = !r.quiet && isatty(2);
    r.t0 = r.last_prog = ql_monotonic_us();
    for (int i = optind; i < argc; i++)
        if (import_one(&r, argv[i], err, sizeof err)) goto fail;
    if (r.tty) progress(r.t0, r.lines, r.bytes, r.total, 1);
    if (!r.quiet && !(r.skipped && !r.sum.records)) {   /* (all skipped: the notes said so) */
        double secs = (double)(ql_monotonic_us() - r.t0) / 1e6;
        char b[32], w[32];
        ql_format_bytes((double)r.bytes, b, sizeof b);
        ql_format_bytes((double)r.sum.bytes, w, sizeof w);
        fprintf(stderr,
                "questlog import: %llu events (%llu rejected) -> %llu rows in %llu files, %s read, %s written, "
                "%.2f s, %.0f events/s -> %s%s\n",
                (unsigned long long)r.sum.records, (unsigned long long)r.sum.rejected,
                (unsigned long long)r.sum.rows, (unsigned long long)r.sum.files, b, w, secs,
                secs > 0 ? (double)r.sum.records / secs : 0.0, co.lake_dir,
                r.skipped ? " (inputs imported before were skipped)" : "");
        if (r.sum.type_mismatch)
            fprintf(stderr, "questlog import: %llu values did not fit their column type and were stored as null\n",
                    (unsigned long long)r.sum.type_mismatch);
    }
    rc = 0;
    goto out;
fail:
    if (r.tty) fputc('\n', stderr);
    fprintf(stderr, "questlog import: %s\n", err);
out:
    ql_loader_env_close(&env);
    return rc;
}
