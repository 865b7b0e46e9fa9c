/*
 * lake.c — the lake on disk: layout, commit protocol, record of loaded
 * offsets, listing for readers, start-up recovery, writing and committing
 * files; and, below, the invariants I1–I9 every part of the lake relies on.
 * The other parts (shared private bits in lake_int.h): lake_claim.c
 * (partition claims, locks, the lake's source log), lake_import.c (import
 * labels and records), lake_compact.c (compaction).
 *
 * ---- Layout ---------------------------------------------------------------
 *   LAKE/<table>/dt=YYYY-MM-DD/part-<label>-<first>-<last>.parquet
 *   LAKE/<table>/_offsets.<label>          zero-row progress marker of one
 *                                          log partition (see I4)
 *   LAKE/<table>/_offsets                  legacy all-partition marker: read, never written
 *   LAKE/<table>/dt=…/.part-<pid>.<n>.parquet.tmp   a file being written
 *   LAKE/<table>/.marker-<pid>.<n>.tmp     a marker being replaced
 *   LAKE/.partition-<label>.lock           the partition's claim (see I7)
 *   LAKE/.imports/<id>                     record of a committed import (see I8)
 *   LAKE/.source                           the one log the lake loads from
 *                                          (ql_lake_claim_source: offsets of
 *                                          another log would be misread)
 *
 * A loader file holds, for log partition <label> (decimal), the table's rows
 * of the log records with offsets first..last — the range of LOG offsets the
 * batch covered, not of the rows it kept (purchases keeps only some).
 *
 * ---- Commit protocol (one table's file) ----------------------------------
 *   1. write the Parquet file into the hidden temp name, in its final
 *      directory (`.part-…parquet.tmp`: no `*.parquet` glob matches it — it
 *      ends in .tmp — and Spark/Hive skip names starting with '.');
 *   2. fsync the temp file;
 *   3. rename it to part-LABEL-FIRST-LAST.parquet  <- the commit point;
 *   4. fsync the directory (and, when the dt directory is new, its parent
 *      before any file is written into it).
 *   5. only after 4 for every file of a batch, the consumer checkpoint may be
 *      advanced (it governs log retention, never what the lake holds).
 *
 * ---- The record of loaded offsets (per table, per log partition) ---------
 *   R(T,P) = max( max{ last : part-P-*-last.parquet under T },  marker(T,P) )
 *   When partition P is assigned to a loader (start-up, or a Kafka
 *   rebalance), it takes P's claim and reads R(T,P) from the lake for every
 *   T (ql_lake_read_record) — never from its memory: another loader may have
 *   loaded P since. It resumes table T at R(T,P)+1 and skips, for T, every
 *   record with offset <= R(T,P). The consumer starts at min over tables of
 *   R+1.
 *
 * Invariants that make "exactly once in every table" hold:
 *   I1  For a table T and partition P, files are committed in increasing
 *       offset order, and a file of range [f,l] is committed only when every
 *       row of T from offsets < f is already committed. So everything <= R is
 *       in T, and nothing > R is. (A batch never spans two dt directories
 *       per table in log mode: the loader cuts the batch when the dt changes,
 *       so one rename commits all of a table's rows of a range.)
 *   I2  Tables are independent: a crash between two tables' renames leaves
 *       T1 at the new R and T2 at the old one; on restart T2 re-reads the log
 *       from its own R and T1 skips what it already has. Nothing is
 *       duplicated, nothing lost; no cross-table transaction is needed.
 *   I3  A file is either a complete fsynced Parquet file under its final
 *       name, or a hidden temp file. Temp files of dead processes (pid in the
 *       name) are deleted at start; a crashed rename leaves either name,
 *       never a partial final file. Files are never empty (0 bytes).
 *   I4  (M) A batch that gives a table no rows still advances that table:
 *       after the batch's files are committed, the marker LAKE/T/_offsets.P
 *       (one line "P LAST") is replaced by write-fsync-rename-fsync, from a
 *       temp name carrying the writer's pid (deleted by recovery when that
 *       process is dead). One file per (table, partition): loaders owning
 *       different partitions never write the same file. A marker only ever
 *       claims offsets whose rows (none) are committed, so I1 holds. Why a marker and not an empty Parquet file: an empty file per
 *       table per flush would spray files (one per second under `up`) that
 *       every reader must open; one small file per table, replaced in place,
 *       costs one fsync and is invisible to `*.parquet` globs and to Spark
 *       (leading '_').
 *   I5  Compaction writes part-P-a-d.parquet covering inputs [a,b]…[c,d] of
 *       the same directory and label, renames it (commit point), fsyncs, then
 *       unlinks the inputs. Between the rename and the unlinks (or after a
 *       crash there) the directory holds both; ql_lake_list_files hides every
 *       file covered by another (same dir and label, range inside its range)
 *       and ql_lake_recover deletes them. R is unchanged by compaction (max).
 *       Partially overlapping ranges cannot be produced by these steps; if
 *       found, both files are kept and listed (never silently dropped).
 *   I6  Import files of different imports (different labels, overlapping
 *       line ranges) are merged under a new label "imp…c". Ranges can't say
 *       what such a file replaces, so before its rename an intent file
 *       (.compact-PID.N.intent: "out NAME", "in NAME"…, "end"; fsynced) lists
 *       it. Complete intent + merged file present = committed: listing hides
 *       the inputs, recovery deletes them, then the intent. Merged file
 *       absent (crash before the rename) = rolled back: the intent is
 *       deleted. An intent without its "end" line was never acted on.
 *   I7  (several loaders on one lake: a Kafka consumer group) Each commit of
 *       partition P's batch happens under the flock of LAKE/.partition-P.lock
 *       and only if that file still holds the token this loader wrote when
 *       P was assigned to it (ql_lake_claim_take, also under the flock, just
 *       before it read R(T,P)). A new owner's claim therefore orders every
 *       commit of P into "before it read R" (seen by it) or "refused": a
 *       loader that lost P without knowing yet (session timeout, a slow
 *       revoke) drops its batch at commit and skips P's records until P is
 *       assigned to it again. With I1 per owner, the chain of committed
 *       ranges of P stays gap-free and non-overlapping across hand-overs.
 *       On `revoked`, the batch's open writers and finished files of P are
 *       deleted; only P's own files are renamed by P's commit. The token
 *       needs no fsync: it only has to outlive its process (flock is
 *       released by the kernel when a holder dies, kill -9 included).
 *   I8  (import, once per input content) An import of content id ID labels
 *       its files "imp<ID>w<k>" and commits, under the flock of
 *       LAKE/.imports: if the record .imports/ID exists, nothing (its temp
 *       files are deleted); else delete every file labelled imp<ID>w… (a
 *       crashed earlier run's), rename its own, fsync their directories,
 *       then write the record durably — the commit point. Readers
 *       (ql_lake_list_files, hence compaction) skip files of an id without a
 *       record, so for questlog an import appears whole or not at all, and
 *       a crashed import's files are never merged into other files. Such
 *       files (no record, and the lock free: no commit running) are deleted
 *       by ql_lake_recover — by the next writer of their table — or by the
 *       next import of that content. Engines listing files themselves see
 *       them until then (docs/lake.md).
 *
 *   I9  (a merged import cannot be withdrawn) Deleting the record
 *       .imports/ID withdraws that import: I8 then hides and deletes its
 *       files, and importing the content again brings it back once. A
 *       merge of several imports' files (I6) puts their rows into one file
 *       under a new label that no id can hide, so before that merge's intent
 *       and rename, .imports/ID.merged is written durably for every import
 *       among its inputs. An id with that marker counts as imported whether
 *       or not its record still exists (ql_lake_import_done): its files are
 *       never hidden or deleted by id, and a re-import adds nothing — a
 *       withdrawal that would keep part of the rows (the merged ones) and
 *       a re-import that would add them twice are both refused. A crash
 *       between the marker and the merge's rename leaves a marker without a
 *       merge: that import is only kept from being withdrawn (the safe side).
 *
 * Import files carry a non-numeric label ("imp" + id) and input line numbers:
 * they are not part of any offset record and cannot collide with log files.
 */
#include "lake.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lake_int.h"
#include "util.h"

/* ---- names ---------------------------------------------------------------- */

void ql_lake_partition_label(int32_t p, char out[QL_LAKE_LABEL_MAX])
{
    snprintf(out, QL_LAKE_LABEL_MAX, "%05" PRId32, p);
}

static int parse_u63(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 19) return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        if (v > (INT64_MAX - (s[i] - '0')) / 10) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int ql_lake_parse_name(const char *name, char label[QL_LAKE_LABEL_MAX], int32_t *partition,
                       int64_t *first, int64_t *last)
{
    size_t n = strlen(name);
    static const char pre[] = "part-", suf[] = ".parquet";
    if (n < sizeof pre + sizeof suf || strncmp(name, pre, 5) || strcmp(name + n - 8, suf)) return -1;
    const char *s = name + 5, *e = name + n - 8;
    const char *d2 = e;
    while (d2 > s && d2[-1] != '-') d2--;
    if (d2 <= s) return -1;
    const char *d1 = d2 - 1;
    while (d1 > s && d1[-1] != '-') d1--;
    if (d1 <= s) return -1;
    /* s..d1-1 label, d1..d2-2 first, d2..e last */
    size_t ll = (size_t)(d1 - 1 - s);
    if (ll == 0 || ll >= QL_LAKE_LABEL_MAX) return -1;
    int64_t f, l;
    if (parse_u63(d1, (size_t)(d2 - 1 - d1), &f) || parse_u63(d2, (size_t)(e - d2), &l) || f > l) return -1;
    int digits = 1;
    for (size_t i = 0; i < ll; i++) {
        char c = s[i];
        if (c == '-' || c == '/' || c == '.') return -1;
        if (c < '0' || c > '9') digits = 0;
    }
    int64_t p = -1;
    if (digits && (parse_u63(s, ll, &p) || p > INT32_MAX)) return -1;
    if (label) {
        memcpy(label, s, ll);
        label[ll] = '\0';
    }
    if (partition) *partition = digits ? (int32_t)p : -1;
    if (first) *first = f;
    if (last) *last = l;
    return 0;
}

/* ".part-PID.N.parquet.tmp" (a data file) or ".marker-PID.N.tmp" (a
 * progress marker being replaced) → pid, or -1. */
static long tmp_pid(const char *name)
{
    size_t pre;
    if (!strncmp(name, ".part-", 6)) pre = 6;
    else if (!strncmp(name, ".marker-", 8)) pre = 8;
    else return -1;
    size_t n = strlen(name);
    if (n < 4 || strcmp(name + n - 4, ".tmp")) return -1;
    char *end;
    long pid = strtol(name + pre, &end, 10);
    if (end == name + pre || *end != '.' || pid <= 0) return -1;
    return pid;
}

static int pid_alive(long pid)
{
    if (pid == (long)getpid()) return 1;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* ---- listing --------------------------------------------------------------- */

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

static void add_file(flist_t *l, const char *dir, const char *subdir, const char *name)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = ql_realloc(l->v, l->cap * sizeof *l->v);
    }
    ql_lake_file_t *f = &l->v[l->n++];
    memset(f, 0, sizeof *f);
    f->path = ql_strdup(path);
    f->name = f->path + strlen(dir) + 1;
    if (subdir && !strncmp(subdir, "dt=", 3) && strlen(subdir) == 13) memcpy(f->dt, subdir + 3, 10);
    if (ql_lake_parse_name(name, f->label, &f->partition, &f->first, &f->last)) {
        f->label[0] = '\0';
        f->partition = -1;
        f->first = f->last = -1;
    }
    f->size = (int64_t)st.st_size;
    f->mtime_us = (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
}

int ql_lake_cmp_group(const void *a, const void *b)
{
    const ql_lake_file_t *x = a, *y = b;
    size_t dx = dir_len(x), dy = dir_len(y);
    int c = strncmp(x->path, y->path, dx < dy ? dx : dy);
    if (c) return c;
    if (dx != dy) return dx < dy ? -1 : 1;
    c = strcmp(x->label, y->label);
    if (c) return c;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    if (x->last != y->last) return x->last > y->last ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_output(const void *a, const void *b)
{
    const ql_lake_file_t *x = a, *y = b;
    int c = strcmp(x->dt, y->dt);
    return c ? c : strcmp(x->path, y->path);
}

/* Marks (covered[i] = 1) every file covered by another of the same dir and
 * label. l must be sorted by ql_lake_cmp_group. */
static void find_covered(const flist_t *l, char *covered)
{
    size_t i = 0;
    while (i < l->n) {
        size_t j = i;
        int64_t maxlast = -1;
        while (j < l->n && dir_len(&l->v[j]) == dir_len(&l->v[i]) &&
               !strncmp(l->v[j].path, l->v[i].path, dir_len(&l->v[i])) &&
               !strcmp(l->v[j].label, l->v[i].label)) {
            const ql_lake_file_t *f = &l->v[j];
            if (f->label[0] && f->first >= 0) {
                if (maxlast >= 0 && f->last <= maxlast) covered[j] = 1;
                if (f->last > maxlast) maxlast = f->last;
            }
            j++;
        }
        i = j;
    }
}

/* ".compact-PID.N.intent" → pid, or -1. */
static long intent_pid(const char *name)
{
    if (strncmp(name, ".compact-", 9)) return -1;
    size_t n = strlen(name);
    if (n < 7 || strcmp(name + n - 7, ".intent")) return -1;
    char *end;
    long pid = strtol(name + 9, &end, 10);
    if (end == name + 9 || *end != '.' || pid <= 0) return -1;
    return pid;
}

/* A compaction intent (import merges, see I6): the merged file's name and its
 * inputs' names, in the same directory. Complete only when its last line is
 * "end". Returns the number of inputs, or -1 if incomplete/malformed. */
typedef struct intent {
    char   out[512];
    char (*in)[512];
    size_t n_in;
} intent_t;

static int intent_read(const char *path, intent_t *it)
{
    memset(it, 0, sizeof *it);
    char *text, err[64];
    size_t len;
    if (ql_read_file(path, &text, &len, err, sizeof err)) return -1;
    int rc = -1, complete = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        else break;   /* a line without its newline: torn */
        if (!strncmp(line, "out ", 4) && strlen(line + 4) < sizeof it->out && !strchr(line + 4, '/'))
            snprintf(it->out, sizeof it->out, "%s", line + 4);
        else if (!strncmp(line, "in ", 3) && strlen(line + 3) < 512 && !strchr(line + 3, '/')) {
            it->in = ql_realloc(it->in, (it->n_in + 1) * sizeof *it->in);
            snprintf(it->in[it->n_in++], 512, "%s", line + 3);
        } else if (!strcmp(line, "end")) {
            complete = 1;
            break;
        }
    }
    if (complete && it->out[0] && it->n_in) rc = (int)it->n_in;
    free(text);
    return rc;
}

int ql_lake_exists_in(const char *dir, const char *name)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p) return 0;
    return access(p, F_OK) == 0;
}

/* Reads the intent at `path` into *it and its directory into dir: 1 when
 * it is complete and its merged file exists (the merge is committed, the
 * inputs are on their way out), else 0. Free it->in either way. */
static int intent_committed(const char *path, char dir[4096], intent_t *it)
{
    memset(it, 0, sizeof *it);
    snprintf(dir, 4096, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return 0;
    *slash = '\0';
    return intent_read(path, it) > 0 && ql_lake_exists_in(dir, it->out);
}

/* Hides (cov[i] = 1) the inputs of every committed intent. */
static void intents_hide(const flist_t *l, const ql_buf_t *intents, char *cov)
{
    for (size_t off = 0; off < intents->len; off += strlen(intents->data + off) + 1) {
        char dir[4096];
        intent_t it;
        if (intent_committed(intents->data + off, dir, &it)) {
            size_t dl = strlen(dir);
            for (size_t i = 0; i < l->n; i++) {
                if (dir_len(&l->v[i]) != dl + 1 || strncmp(l->v[i].path, dir, dl)) continue;
                for (size_t j = 0; j < it.n_in; j++)
                    if (!strcmp(l->v[i].name, it.in[j])) cov[i] = 1;
            }
        }
        free(it.in);
    }
}

/* Recovery of intents left by dead compactions: completes a committed merge
 * (deletes its inputs) or forgets one that never reached its rename. */
static int intents_recover(const ql_buf_t *intents, int *removed, char *err, size_t errlen)
{
    for (size_t off = 0; off < intents->len; off += strlen(intents->data + off) + 1) {
        const char *path = intents->data + off;
        const char *base = strrchr(path, '/');
        if (pid_alive(intent_pid(base ? base + 1 : path))) continue;
        char dir[4096];
        intent_t it;
        if (intent_committed(path, dir, &it)) {
            for (size_t j = 0; j < it.n_in; j++) {
                char p[4096];
                if (snprintf(p, sizeof p, "%s/%s", dir, it.in[j]) >= (int)sizeof p) continue;
                if (unlink(p) == 0) (*removed)++;
                else if (errno != ENOENT) {
                    free(it.in);
                    return ql_err(err, errlen, "cannot delete merged input '%s': %s", p, strerror(errno));
                }
            }
            if (ql_fsync_dir(dir, err, errlen)) { free(it.in); return -1; }
        }
        free(it.in);
        if (unlink(path) != 0 && errno != ENOENT)
            return ql_err(err, errlen, "cannot delete '%s': %s", path, strerror(errno));
        if (ql_fsync_dir(dir, err, errlen)) return -1;
    }
    return 0;
}

/* Hides (cov[i] = 1) the files of imports without a record (I8). Files are
 * sorted by directory and label, so one lookup serves a run of them. */
static void imports_hide(const char *lake_dir, const flist_t *l, char *cov)
{
    char id[QL_LAKE_IMPORT_ID_LEN + 1], prev[QL_LAKE_IMPORT_ID_LEN + 1] = "";
    int done = 1;
    for (size_t i = 0; i < l->n; i++) {
        if (cov[i] || !ql_lake_import_id_of(l->v[i].label, id)) continue;
        if (strcmp(id, prev)) {
            memcpy(prev, id, sizeof id);
            done = ql_lake_import_done(lake_dir, id);
        }
        if (!done) cov[i] = 1;
    }
}

/* Every questlog-visible *.parquet of a table, unfiltered; plus, with
 * tmp_out, the temp files found (paths, NUL-separated in a buffer). */
int ql_lake_scan_table(const char *lake_dir, const char *table, flist_t *l, ql_buf_t *tmps, ql_buf_t *intents,
                      char *err, size_t errlen)
{
    char tdir[4096];
    if (snprintf(tdir, sizeof tdir, "%s/%s", lake_dir, table) >= (int)sizeof tdir)
        return ql_err(err, errlen, "path too long: %s/%s", lake_dir, table);
    DIR *d = opendir(tdir);
    if (!d) {
        if (errno == ENOENT) return 0;
        return ql_err(err, errlen, "cannot open '%s': %s", tdir, strerror(errno));
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' && tmps && tmp_pid(de->d_name) > 0) {   /* a marker's temp file */
            ql_buf_printf(tmps, "%s/%s", tdir, de->d_name);
            ql_buf_putc(tmps, '\0');
        }
        if (de->d_name[0] == '.' || de->d_name[0] == '_') continue;
        char sub[4096];
        if (snprintf(sub, sizeof sub, "%s/%s", tdir, de->d_name) >= (int)sizeof sub) continue;
        struct stat st;
        if (stat(sub, &st) != 0) continue;
        if (S_ISREG(st.st_mode)) {
            if (ends_with(de->d_name, ".parquet")) add_file(l, tdir, NULL, de->d_name);
            continue;
        }
        if (!S_ISDIR(st.st_mode)) continue;
        DIR *d2 = opendir(sub);
        if (!d2) continue;
        struct dirent *e2;
        while ((e2 = readdir(d2))) {
            if (e2->d_name[0] == '.') {
                if (tmps && tmp_pid(e2->d_name) > 0) {
                    ql_buf_printf(tmps, "%s/%s", sub, e2->d_name);
                    ql_buf_putc(tmps, '\0');
                }
                if (intents && intent_pid(e2->d_name) > 0) {
                    ql_buf_printf(intents, "%s/%s", sub, e2->d_name);
                    ql_buf_putc(intents, '\0');
                }
                continue;
            }
            if (e2->d_name[0] == '_' || !ends_with(e2->d_name, ".parquet")) continue;
            add_file(l, sub, de->d_name, e2->d_name);
        }
        closedir(d2);
    }
    closedir(d);
    return 0;
}

void ql_lake_files_free(ql_lake_file_t *files, size_t n)
{
    for (size_t i = 0; i < n; i++) free(files[i].path);
    free(files);
}

int ql_lake_list_files(const char *lake_dir, const char *table, ql_lake_file_t **out, size_t *n,
                       char *err, size_t errlen)
{
    flist_t l = {0};
    ql_buf_t intents = QL_BUF_INIT;
    *out = NULL;
    *n = 0;
    if (ql_lake_scan_table(lake_dir, table, &l, NULL, &intents, err, errlen)) {
        ql_buf_free(&intents);
        ql_lake_files_free(l.v, l.n);
        return -1;
    }
    if (l.n) {
        qsort(l.v, l.n, sizeof *l.v, ql_lake_cmp_group);
        char *cov = ql_calloc(l.n, 1);
        find_covered(&l, cov);
        intents_hide(&l, &intents, cov);
        imports_hide(lake_dir, &l, cov);
        size_t k = 0;
        for (size_t i = 0; i < l.n; i++) {
            if (cov[i]) { free(l.v[i].path); continue; }
            l.v[k++] = l.v[i];
        }
        l.n = k;
        free(cov);
        qsort(l.v, l.n, sizeof *l.v, cmp_output);
    }
    ql_buf_free(&intents);
    *out = l.v;
    *n = l.n;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int ql_lake_list_tables(const char *lake_dir, char ***out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(lake_dir);
    if (!d) {
        if (errno == ENOENT) return 0;
        return ql_err(err, errlen, "cannot open lake '%s': %s", lake_dir, strerror(errno));
    }
    char **v = NULL;
    size_t k = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char p[4096];
        struct stat st;
        if (snprintf(p, sizeof p, "%s/%s", lake_dir, de->d_name) >= (int)sizeof p) continue;
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        v = ql_realloc(v, (k + 1) * sizeof *v);
        v[k++] = ql_strdup(de->d_name);
    }
    closedir(d);
    if (k) qsort(v, k, sizeof *v, cmp_str);
    *out = v;
    *n = k;
    return 0;
}

void ql_lake_tables_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* ---- recovery -------------------------------------------------------------- */

void ql_lake_parent_dir(const char *path, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", path);
    char *s = strrchr(out, '/');
    if (s == out) s[1] = '\0';
    else if (s) *s = '\0';
    else snprintf(out, outlen, ".");
}

/* I8: with no import committing (the import lock is free), a file of an
 * import that has no record is what a crashed commit left: deleted. The
 * record is checked under the lock, so a commit that ended after the scan
 * keeps its files. */
static int imports_recover(const char *lake_dir, const flist_t *l, int *removed, char *err, size_t errlen)
{
    char id[QL_LAKE_IMPORT_ID_LEN + 1], dir[4096];
    int fd = -1, rc = 0;
    for (size_t i = 0; i < l->n && !rc; i++) {
        if (!ql_lake_import_id_of(l->v[i].label, id) || ql_lake_import_done(lake_dir, id)) continue;
        if (fd < 0) {
            snprintf(dir, sizeof dir, "%s/.imports", lake_dir);
            fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) return 0;
            if (flock(fd, LOCK_EX | LOCK_NB) != 0) break;   /* an import is committing: its files */
        }
        if (ql_lake_import_done(lake_dir, id)) continue;
        if (unlink(l->v[i].path) != 0 && errno != ENOENT) {
            rc = ql_err(err, errlen, "cannot delete '%s': %s", l->v[i].path, strerror(errno));
            break;
        }
        (*removed)++;
        ql_lake_parent_dir(l->v[i].path, dir, sizeof dir);
        rc = ql_fsync_dir(dir, err, errlen);
    }
    if (fd >= 0) close(fd);
    return rc;
}

int ql_lake_recover(const char *lake_dir, const char *table, int *removed, char *err, size_t errlen)
{
    flist_t l = {0};
    ql_buf_t tmps = QL_BUF_INIT, intents = QL_BUF_INIT;
    int rc = 0, nrm = 0;
    char dir[4096];
    if ((rc = ql_lake_scan_table(lake_dir, table, &l, &tmps, &intents, err, errlen))) goto out;
    if ((rc = intents_recover(&intents, &nrm, err, errlen))) goto out;
    for (size_t off = 0; off < tmps.len; off += strlen(tmps.data + off) + 1) {
        const char *p = tmps.data + off;
        const char *base = strrchr(p, '/');
        if (pid_alive(tmp_pid(base ? base + 1 : p))) continue;
        if (unlink(p) == 0) nrm++;
    }
    if (l.n) {
        qsort(l.v, l.n, sizeof *l.v, ql_lake_cmp_group);
        char *cov = ql_calloc(l.n, 1);
        find_covered(&l, cov);
        for (size_t i = 0; i < l.n; i++) {
            if (!cov[i]) continue;
            if (unlink(l.v[i].path) != 0 && errno != ENOENT) {
                rc = ql_err(err, errlen, "cannot delete covered file '%s': %s", l.v[i].path, strerror(errno));
                free(cov);
                goto out;
            }
            nrm++;
            ql_lake_parent_dir(l.v[i].path, dir, sizeof dir);
            if ((rc = ql_fsync_dir(dir, err, errlen))) { free(cov); goto out; }
        }
        free(cov);
    }
    rc = imports_recover(lake_dir, &l, &nrm, err, errlen);
out:
    if (removed) *removed = nrm;
    ql_lake_files_free(l.v, l.n);
    ql_buf_free(&tmps);
    ql_buf_free(&intents);
    return rc;
}

/* ---- record of loaded offsets ------------------------------------------------- */

int64_t ql_lake_offsets_get(const ql_lake_offsets_t *o, int32_t partition)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->partition[i] == partition) return o->last[i];
    return -1;
}

void ql_lake_offsets_set(ql_lake_offsets_t *o, int32_t partition, int64_t last)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->partition[i] == partition) {
            if (last > o->last[i]) o->last[i] = last;
            return;
        }
    o->partition = ql_realloc(o->partition, (o->n + 1) * sizeof *o->partition);
    o->last = ql_realloc(o->last, (o->n + 1) * sizeof *o->last);
    o->partition[o->n] = partition;
    o->last[o->n] = last;
    o->n++;
}

void ql_lake_offsets_free(ql_lake_offsets_t *o)
{
    free(o->partition);
    free(o->last);
    memset(o, 0, sizeof *o);
}

/* Adds the "PARTITION LAST" lines of marker file `path` to out (a missing
 * file adds nothing). With only >= 0, other partitions' lines are ignored.
 * A malformed marker is an error: guessing could duplicate or drop events. */
static int read_marker(const char *path, int32_t only, ql_lake_offsets_t *out, char *err, size_t errlen)
{
    char *text;
    size_t len;
    if (access(path, F_OK) != 0) return 0;
    if (ql_read_file(path, &text, &len, err, errlen)) return -1;
    int rc = 0, lineno = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        lineno++;
        if (*line == '#' || *line == '\0') continue;
        long long p, v;
        char extra;
        if (sscanf(line, "%lld %lld %c", &p, &v, &extra) != 2 || p < 0 || p > INT32_MAX || v < -1) {
            rc = ql_err(err, errlen, "%s:%d: malformed offsets marker line", path, lineno);
            break;
        }
        if (only < 0 || p == only) ql_lake_offsets_set(out, (int32_t)p, (int64_t)v);
    }
    free(text);
    return rc;
}

/* "_offsets.LABEL" (a per-partition marker) → 1 */
static int is_part_marker(const char *name)
{
    int32_t p;
    if (strncmp(name, "_offsets.", 9) || !name[9] || strchr(name + 9, '.')) return 0;
    char fake[QL_LAKE_LABEL_MAX + 64];
    snprintf(fake, sizeof fake, "part-%s-0-0.parquet", name + 9);
    return ql_lake_parse_name(fake, NULL, &p, NULL, NULL) == 0 && p >= 0;
}

/* Every marker of a table: the legacy all-partition LAKE/T/_offsets (written
 * by questlog before per-partition markers; read, never written) and each
 * LAKE/T/_offsets.LABEL. */
static int read_markers(const char *lake_dir, const char *table, int32_t only, ql_lake_offsets_t *out,
                        char *err, size_t errlen)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s/_offsets", lake_dir, table) >= (int)sizeof path)
        return ql_err(err, errlen, "path too long");
    if (read_marker(path, only, out, err, errlen)) return -1;
    if (only >= 0) {
        char label[QL_LAKE_LABEL_MAX];
        ql_lake_partition_label(only, label);
        snprintf(path, sizeof path, "%s/%s/_offsets.%s", lake_dir, table, label);
        return read_marker(path, only, out, err, errlen);
    }
    snprintf(path, sizeof path, "%s/%s", lake_dir, table);
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT ? 0 : ql_err(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        if (!is_part_marker(de->d_name)) continue;
        char mp[4096];
        if (snprintf(mp, sizeof mp, "%s/%s", path, de->d_name) >= (int)sizeof mp) continue;
        rc = read_marker(mp, -1, out, err, errlen);
    }
    closedir(d);
    return rc;
}

int ql_lake_read_offsets(const char *lake_dir, const char *table, ql_lake_offsets_t *out,
                         char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    flist_t l = {0};
    if (ql_lake_scan_table(lake_dir, table, &l, NULL, NULL, err, errlen)) return -1;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].partition >= 0) ql_lake_offsets_set(out, l.v[i].partition, l.v[i].last);
    ql_lake_files_free(l.v, l.n);
    if (read_markers(lake_dir, table, -1, out, err, errlen)) {
        ql_lake_offsets_free(out);
        return -1;
    }
    return 0;
}

/* Raises *last to the highest `last` of part-LABEL-*.parquet names in dir. */
static void max_in_dir(const char *dir, const char *label, size_t ll, int64_t *last)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (strncmp(n, "part-", 5) || strncmp(n + 5, label, ll) || n[5 + ll] != '-') continue;
        int64_t l;
        char lb[QL_LAKE_LABEL_MAX];
        if (ql_lake_parse_name(n, lb, NULL, NULL, &l) == 0 && !strcmp(lb, label) && l > *last) *last = l;
    }
    closedir(d);
}

int ql_lake_read_record(const char *lake_dir, const char *table, int32_t partition, int64_t *last,
                        char *err, size_t errlen)
{
    char label[QL_LAKE_LABEL_MAX], tdir[4096];
    ql_lake_partition_label(partition, label);
    size_t ll = strlen(label);
    int64_t r = -1;
    if (snprintf(tdir, sizeof tdir, "%s/%s", lake_dir, table) >= (int)sizeof tdir)
        return ql_err(err, errlen, "path too long: %s/%s", lake_dir, table);
    DIR *d = opendir(tdir);
    if (!d) {
        if (errno != ENOENT) return ql_err(err, errlen, "cannot open '%s': %s", tdir, strerror(errno));
        *last = -1;
        return 0;
    }
    max_in_dir(tdir, label, ll, &r);   /* files outside dt= directories, as ql_lake_scan_table lists them */
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || de->d_name[0] == '_' || ends_with(de->d_name, ".parquet")) continue;
        char sub[4096];
        if (snprintf(sub, sizeof sub, "%s/%s", tdir, de->d_name) >= (int)sizeof sub) continue;
        max_in_dir(sub, label, ll, &r);   /* not a directory: opendir fails, nothing added */
    }
    closedir(d);
    ql_lake_offsets_t m = {0};
    if (read_markers(lake_dir, table, partition, &m, err, errlen)) {
        ql_lake_offsets_free(&m);
        return -1;
    }
    int64_t mv = ql_lake_offsets_get(&m, partition);
    ql_lake_offsets_free(&m);
    *last = mv > r ? mv : r;
    return 0;
}

int ql_lake_write_marker(const char *lake_dir, const char *table, int32_t partition, int64_t last,
                         char *err, size_t errlen)
{
    static unsigned long seq;
    char dir[4000], tmp[4096], path[4096], label[QL_LAKE_LABEL_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s", lake_dir, table) >= (int)sizeof dir)
        return ql_err(err, errlen, "path too long");
    if (ql_mkdir_p(dir, err, errlen)) return -1;
    ql_lake_partition_label(partition, label);
    snprintf(path, sizeof path, "%s/_offsets.%s", dir, label);
    /* a temp name of our own (pid): recovery deletes those of dead processes */
    snprintf(tmp, sizeof tmp, "%s/.marker-%ld.%lu.tmp", dir, (long)getpid(),
             __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
    char text[128];
    int n = snprintf(text, sizeof text, "# questlog: highest log offset loaded (see lake.c)\n%" PRId32 " %" PRId64 "\n",
                     partition, last);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return ql_err(err, errlen, "cannot create '%s': %s", tmp, strerror(errno));
    if (ql_write_all(fd, text, (size_t)n) != 0 || fsync(fd) != 0)
        rc = ql_err(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
    close(fd);
    if (!rc && rename(tmp, path) != 0)
        rc = ql_err(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (rc) {
        unlink(tmp);
        return rc;
    }
    return ql_fsync_dir(dir, err, errlen);
}

/* ---- writing ----------------------------------------------------------------- */

/* mkdir -p that fsyncs the parent of every directory it creates, so a
 * committed file's directory entry chain is durable. */
int ql_lake_mkdir_durable(const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) return ql_err(err, errlen, "bad directory path '%s'", path);
    memcpy(tmp, path, n + 1);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0') continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) == 0) {
            char par[4096];
            ql_lake_parent_dir(tmp, par, sizeof par);
            if (ql_fsync_dir(par, err, errlen)) return -1;
        } else if (errno != EEXIST) {
            return ql_err(err, errlen, "cannot create directory '%s': %s", tmp, strerror(errno));
        }
        tmp[i] = c;
    }
    return 0;
}

int ql_lake_pending_open(ql_lake_pending_t *p, const char *lake_dir, const char *table,
                         const char *dt, char *err, size_t errlen)
{
    static unsigned long seq;   /* per process; only needs to be unique with our pid */
    memset(p, 0, sizeof *p);
    p->fd = -1;
    if (snprintf(p->dir, sizeof p->dir, "%s/%s/dt=%s", lake_dir, table, dt) >= (int)sizeof p->dir)
        return ql_err(err, errlen, "path too long");
    if (ql_lake_mkdir_durable(p->dir, err, errlen)) return -1;
    unsigned long n = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
    if (snprintf(p->tmp, sizeof p->tmp, "%s/.part-%ld.%lu.parquet.tmp", p->dir, (long)getpid(), n) >=
        (int)sizeof p->tmp)
        return ql_err(err, errlen, "path too long");
    p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (p->fd < 0) return ql_err(err, errlen, "cannot create '%s': %s", p->tmp, strerror(errno));
    return 0;
}

void ql_lake_pending_name(ql_lake_pending_t *p, const char *label, int64_t first, int64_t last)
{
    if (snprintf(p->final, sizeof p->final, "%s/part-%s-%019" PRId64 "-%019" PRId64 ".parquet", p->dir, label,
                 first, last) >= (int)sizeof p->final)
        p->final[0] = '\0';   /* ql_lake_commit refuses a nameless file */
}

int ql_lake_pending_close(ql_lake_pending_t *p, char *err, size_t errlen)
{
    if (p->fd < 0) return 0;
    int rc = fsync(p->fd);
    int e = errno;
    close(p->fd);
    p->fd = -1;
    if (rc != 0) return ql_err(err, errlen, "fsync of '%s' failed: %s", p->tmp, strerror(e));
    return 0;
}

void ql_lake_pending_discard(ql_lake_pending_t *p)
{
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
    if (p->tmp[0]) unlink(p->tmp);
    p->tmp[0] = '\0';
}

int ql_lake_commit(ql_lake_pending_t *files, size_t n, char *err, size_t errlen)
{
    int rc = 0;
    size_t i = 0;
    for (; i < n; i++) {
        ql_lake_pending_t *p = &files[i];
        if (p->fd >= 0 && (rc = ql_lake_pending_close(p, err, errlen))) break;
        if (!p->final[0]) { rc = ql_err(err, errlen, "internal: pending file without a name"); break; }
        if (rename(p->tmp, p->final) != 0) {
            rc = ql_err(err, errlen, "cannot rename '%s' to '%s': %s", p->tmp, p->final, strerror(errno));
            break;
        }
        p->tmp[0] = '\0';
    }
    if (rc) {
        for (size_t j = i; j < n; j++) ql_lake_pending_discard(&files[j]);
    }
    /* fsync each directory once (files of one batch share few directories) */
    for (size_t j = 0; j < i; j++) {
        int seen = 0;
        for (size_t k = 0; k < j && !seen; k++) seen = !strcmp(files[k].dir, files[j].dir);
        if (seen) continue;
        if (ql_fsync_dir(files[j].dir, rc ? NULL : err, rc ? 0 : errlen) && !rc) rc = -1;
    }
    return rc;
}
