/*
 * loader.c — transform → route → per-(partition, table, dt) Parquet writers →
 * lake commit (see loader.h for the modes, lake.c for the protocol).
 *
 * Per log partition P the loader keeps a batch: the range of log offsets
 * [batch_first, batch_last] read since the last commit, and per table T the
 * first offset of that range T does not already hold (tfirst[T]; offsets
 * <= R(T,P), the table's record, are skipped for T only). A commit finishes
 * every writer of the batch, renames its files (one per table in log mode;
 * more only when a key appeared after a row group was flushed, which splits
 * the table's range at that record), fsyncs their directories, then raises
 * R(T,P) to batch_last for every table that had offsets in the batch and
 * writes the _offsets.P marker of the tables that received no file (I4).
 * The renames and markers of P's batch happen only under P's claim (I7):
 * R(T,P) is read from the lake when P is assigned, and a batch of a
 * partition another loader has claimed since is dropped, not committed.
 *
 * Values whose JSON type does not fit the column's catalog type are stored
 * as null and counted (stats.type_mismatch), except lossless conversions:
 * a number or bool into a STRING column keeps its JSON text, a string that
 * spells an int/float/bool fully goes into that typed column, an integer into
 * a DOUBLE column. Objects and arrays in STRING columns keep their JSON text.
 */
#include "loader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "lake.h"
#include "util.h"

/* ---- column map: key name → writer column (open addressing) ------------ */

typedef struct colent {
    char        *name;      /* NULL = empty slot */
    uint32_t     len;
    uint32_t     hash;
    int          col;
    ql_pq_type_t type;
} colent_t;

typedef struct colmap {
    colent_t *v;
    size_t    cap, n;
} colmap_t;

/* Key names are short: hash the first and last 8 bytes and the length
 * (collisions only cost a probe; colmap_find compares the bytes). */
static uint32_t hash_bytes(const char *s, size_t n)
{
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
    } else {
        memcpy(&a, s, n);
    }
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull) ^ n) * 0xFF51AFD7ED558CCDull;
    return (uint32_t)(h >> 32);
}

static colent_t *colmap_find(colmap_t *m, const char *name, size_t len, uint32_t h)
{
    if (!m->cap) return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        colent_t *e = &m->v[i];
        if (!e->name) return NULL;
        if (e->hash == h && e->len == len && !memcmp(e->name, name, len)) return e;
    }
}

static colent_t *colmap_add(colmap_t *m, const char *name, size_t len, uint32_t h, int col, ql_pq_type_t type)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 32;
        colent_t *nv = ql_calloc(ncap, sizeof *nv);
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->v[i].name) continue;
            size_t j = m->v[i].hash & (ncap - 1);
            while (nv[j].name) j = (j + 1) & (ncap - 1);
            nv[j] = m->v[i];
        }
        free(m->v);
        m->v = nv;
        m->cap = ncap;
    }
    size_t i = h & (m->cap - 1);
    while (m->v[i].name) i = (i + 1) & (m->cap - 1);
    colent_t *e = &m->v[i];
    e->name = ql_strndup(name, len);
    e->len = (uint32_t)len;
    e->hash = h;
    e->col = col;
    e->type = type;
    m->n++;
    return e;
}

static void colmap_free(colmap_t *m)
{
    for (size_t i = 0; i < m->cap; i++) free(m->v[i].name);
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* ---- state ---------------------------------------------------------------- */

/* An open file being written. */
typedef struct slot {
    int32_t            partition;
    int                table;       /* index; n_tables = _rejected */
    char               dt[11];
    ql_pq_writer_t    *w;
    ql_lake_pending_t  pend;
    colmap_t           cols;
    int64_t            first, last; /* range for the file name */
    int64_t            rows;
    int                c_id, c_type, c_ts;  /* fixed columns (events) */
    uint64_t           used;        /* record count at its last row (LRU, import mode) */
} slot_t;

/* Import mode: open writers at most (each holds a row group, a zstd context
 * and a file descriptor). */
#define MAX_IMPORT_SLOTS 128

typedef struct pstate {
    int32_t  partition;
    ql_lake_claim_t claim; /* ours while the lake's claim file holds its token (lake.h) */
    int64_t *rec;          /* per table: R(T,P), highest offset loaded (-1 none) */
    int64_t *tfirst;       /* per table: first offset of the batch T takes, -1 */
    int64_t  batch_first, batch_last;
    int64_t  batch_records;
    int64_t  min_rec;      /* min over tables of rec */
    int64_t  last_ts_us;
    char     dt[11];
} pstate_t;

struct ql_loader {
    ql_loader_options_t opt;
    const ql_transform_t *tf;
    size_t     n_tables;    /* config tables; index n_tables is _rejected */
    const char **tname;
    int        import;
    int        gave_up;     /* a claim wait hit the claim timeout (ql_loader_gave_up) */
    char       label[QL_LAKE_LABEL_MAX];
    int32_t   *gone;         /* partitions revoked or lost to another loader: their
                                  records are skipped until assigned again */
    size_t     n_gone;
    char       fail[600];    /* a claim failed inside a callback: reported by the next add/flush */

    pstate_t  *ps;
    size_t     n_ps;
    slot_t   **slots;
    size_t     n_slots;
    ql_lake_pending_t *done;     /* finished files waiting for the commit */
    int       *done_table;       /* table and partition of each */
    int32_t   *done_part;
    size_t     n_done, cap_done;

    ql_event_t ev;
    int64_t    day_cache;
    char       day[11];
    int64_t    pending_rows;
    uint64_t   since_check;
    ql_buf_t   tmp;
    ql_loader_stats_t st;
};

static void ps_free(pstate_t *p)
{
    ql_lake_claim_release(&p->claim);
    free(p->rec);
    free(p->tfirst);
}

static int is_gone(const ql_loader_t *l, int32_t partition)
{
    for (size_t i = 0; i < l->n_gone; i++)
        if (l->gone[i] == partition) return 1;
    return 0;
}

static void set_gone(ql_loader_t *l, int32_t partition, int gone)
{
    for (size_t i = 0; i < l->n_gone; i++)
        if (l->gone[i] == partition) {
            if (!gone) l->gone[i] = l->gone[--l->n_gone];
            return;
        }
    if (!gone) return;
    l->gone = ql_realloc(l->gone, (l->n_gone + 1) * sizeof *l->gone);
    l->gone[l->n_gone++] = partition;
}

static void forget_partition(ql_loader_t *l, int32_t partition);

/* Takes partition's claim and reads every table's record R(T,P) from the
 * lake under it (not from memory: another loader may have loaded the
 * partition since we last had it). Replaces any state we had for it. */
static pstate_t *claim_ps(ql_loader_t *l, int32_t partition, char *err, size_t errlen)
{
    forget_partition(l, partition);
    set_gone(l, partition, 0);
    ql_lake_claim_t claim;
    int r = ql_lake_claim_take_within(l->opt.lake_dir, partition, l->opt.claim_timeout_ms, &claim, err, errlen);
    if (r) {
        if (r == QL_LAKE_ETIMEDOUT) l->gave_up = 1;
        return NULL;
    }
    int64_t *rec = ql_calloc(l->n_tables + 1, sizeof *rec);
    for (size_t t = 0; t <= l->n_tables; t++)
        if (ql_lake_read_record(l->opt.lake_dir, l->tname[t], partition, &rec[t], err, errlen)) {
            ql_lake_claim_release(&claim);
            free(rec);
            return NULL;
        }
    ql_lake_claim_unlock(&claim);
    l->ps = ql_realloc(l->ps, (l->n_ps + 1) * sizeof *l->ps);
    pstate_t *p = &l->ps[l->n_ps++];
    memset(p, 0, sizeof *p);
    p->partition = partition;
    p->claim = claim;
    p->rec = rec;
    p->tfirst = ql_calloc(l->n_tables + 1, sizeof *p->tfirst);
    p->min_rec = INT64_MAX;
    for (size_t t = 0; t <= l->n_tables; t++) {
        p->tfirst[t] = -1;
        if (p->rec[t] < p->min_rec) p->min_rec = p->rec[t];
    }
    p->batch_first = p->batch_last = -1;
    return p;
}

static pstate_t *find_ps(ql_loader_t *l, int32_t partition)
{
    for (size_t i = 0; i < l->n_ps; i++)
        if (l->ps[i].partition == partition) return &l->ps[i];
    return NULL;
}

int ql_loader_new(ql_loader_t **out, const ql_loader_options_t *opt, char *err, size_t errlen)
{
    ql_loader_t *l = ql_calloc(1, sizeof *l);
    int rc = 0;
    l->opt = *opt;
    l->tf = opt->transform;
    if (l->opt.batch_rows <= 0) l->opt.batch_rows = 1000000;
    if (!l->opt.batch_bytes) l->opt.batch_bytes = 64u << 20;
    if (l->opt.file_rows <= 0) l->opt.file_rows = 4000000;
    if (!l->opt.wopt.row_group_bytes) l->opt.wopt.row_group_bytes = 16u << 20;
    if (!l->opt.wopt.row_group_rows) l->opt.wopt.row_group_rows = 32768;
    /* A 64 KiB dictionary cap: unique columns (event_id) give up on the
     * dictionary early instead of hashing ~1 MiB of ids per row group;
     * low-cardinality columns (event_type, Host, sword_type) stay far below. */
    if (!l->opt.wopt.dict_max_bytes) l->opt.wopt.dict_max_bytes = 64u << 10;
    if (!l->opt.source) l->opt.source = opt->import_label ? "import" : "log";
    l->import = opt->import_label != NULL;
    if (l->import) snprintf(l->label, sizeof l->label, "%s", opt->import_label);
    l->n_tables = ql_transform_num_tables(l->tf);
    l->tname = ql_calloc(l->n_tables + 1, sizeof *l->tname);
    for (size_t i = 0; i < l->n_tables; i++) l->tname[i] = ql_transform_table_name(l->tf, i);
    l->tname[l->n_tables] = QL_REJECTED_TABLE;
    l->day_cache = INT64_MIN;
    for (size_t i = 0; i <= l->n_tables; i++)
        if ((rc = ql_lake_recover(opt->lake_dir, l->tname[i], NULL, err, errlen))) goto out;
out:
    if (rc) {
        ql_loader_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

static void slot_free(slot_t *s)
{
    if (!s) return;
    ql_pq_writer_free(s->w);
    ql_lake_pending_discard(&s->pend);
    colmap_free(&s->cols);
    free(s);
}

void ql_loader_free(ql_loader_t *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n_slots; i++) slot_free(l->slots[i]);
    free(l->slots);
    for (size_t i = 0; i < l->n_done; i++) ql_lake_pending_discard(&l->done[i]);
    free(l->done);
    free(l->done_table);
    free(l->done_part);
    for (size_t i = 0; i < l->n_ps; i++) ps_free(&l->ps[i]);
    free(l->ps);
    free(l->gone);
    free(l->tname);
    ql_event_free(&l->ev);
    ql_buf_free(&l->tmp);
    free(l);
}

int64_t ql_loader_start_offset(ql_loader_t *l, int32_t partition)
{
    char err[512];
    pstate_t *p = claim_ps(l, partition, err, sizeof err);
    if (!p) {
        /* reported by the next ql_loader_add/flush; meanwhile the partition
         * is skipped, never loaded from a guessed offset */
        if (!l->fail[0]) snprintf(l->fail, sizeof l->fail, "partition %d: %s", (int)partition, err);
        set_gone(l, partition, 1);
        return QL_OFFSET_END;
    }
    return p->min_rec + 1;
}

int64_t ql_loader_committed(ql_loader_t *l, int32_t partition)
{
    for (size_t i = 0; i < l->n_ps; i++)
        if (l->ps[i].partition == partition) return l->ps[i].min_rec + 1;
    return -1;
}


void ql_loader_stats(const ql_loader_t *l, ql_loader_stats_t *out) { *out = l->st; }

int ql_loader_gave_up(const ql_loader_t *l) { return l->gave_up; }

/* ---- writers ------------------------------------------------------------------ */

/* Names the table and day a write failed in ("parquet write: No space left on
 * device" alone does not say where), and that nothing of the batch is in the
 * lake: a failed write is never committed (its file stays a hidden temp file,
 * removed by ql_lake_pending_discard or the next loader's recovery). */
static int slot_fail(const ql_loader_t *l, const slot_t *s, char *err, size_t errlen)
{
    return ql_err(err, errlen, "table %s, dt=%s: %s (this batch is not committed)",
                  s->table == (int)l->n_tables ? "_rejected" : l->tname[s->table], s->dt, err);
}

static int new_writer(ql_loader_t *l, slot_t *s, char *err, size_t errlen)
{
    if (ql_lake_pending_open(&s->pend, l->opt.lake_dir, l->tname[s->table], s->dt, err, errlen))
        return slot_fail(l, s, err, errlen);
    const char *kv[] = {"questlog.table", l->tname[s->table], NULL};
    ql_pq_write_options_t wo = l->opt.wopt;
    wo.kv = kv;
    if (ql_pq_writer_new(&s->w, s->pend.fd, &wo, err, errlen)) return slot_fail(l, s, err, errlen);
    s->rows = 0;
    colmap_free(&s->cols);
    if (s->table == (int)l->n_tables) {
        static const struct { const char *n; ql_pq_type_t t; int req; } rc[] = {
            {"source", QL_PQ_STRING, 1},  {"log_partition", QL_PQ_INT32, 0}, {"log_offset", QL_PQ_INT64, 1},
            {"timestamp", QL_PQ_TIMESTAMP, 1}, {"reason", QL_PQ_STRING, 1}, {"raw", QL_PQ_STRING, 1}};
        for (size_t i = 0; i < QL_ARRAY_LEN(rc); i++)
            if (ql_pq_writer_add_column(s->w, rc[i].n, rc[i].t, rc[i].req, err, errlen) < 0) return -1;
        return 0;
    }
    if ((s->c_id = ql_pq_writer_add_column(s->w, "event_id", QL_PQ_STRING, 1, err, errlen)) < 0 ||
        (s->c_type = ql_pq_writer_add_column(s->w, "event_type", QL_PQ_STRING, 1, err, errlen)) < 0 ||
        (s->c_ts = ql_pq_writer_add_column(s->w, "timestamp", QL_PQ_TIMESTAMP, 1, err, errlen)) < 0)
        return -1;
    return 0;
}

static void push_done(ql_loader_t *l, const slot_t *s)
{
    if (l->n_done == l->cap_done) {
        l->cap_done = l->cap_done ? l->cap_done * 2 : 16;
        l->done = ql_realloc(l->done, l->cap_done * sizeof *l->done);
        l->done_table = ql_realloc(l->done_table, l->cap_done * sizeof *l->done_table);
        l->done_part = ql_realloc(l->done_part, l->cap_done * sizeof *l->done_part);
    }
    l->done_table[l->n_done] = s->table;
    l->done_part[l->n_done] = s->partition;
    l->done[l->n_done++] = s->pend;
}

/* Finishes slot s's writer into the done list, named with [s->first, last]. */
static int finish_slot(ql_loader_t *l, slot_t *s, int64_t last, char *err, size_t errlen)
{
    if (ql_pq_writer_finish(s->w, err, errlen)) return slot_fail(l, s, err, errlen);
    l->st.bytes += ql_pq_writer_bytes_written(s->w);
    ql_pq_writer_free(s->w);
    s->w = NULL;
    char label[QL_LAKE_LABEL_MAX];
    if (l->import) snprintf(label, sizeof label, "%s", l->label);
    else ql_lake_partition_label(s->partition, label);
    ql_lake_pending_name(&s->pend, label, s->first, last);
    if (ql_lake_pending_close(&s->pend, err, errlen)) return slot_fail(l, s, err, errlen);
    push_done(l, s);
    memset(&s->pend, 0, sizeof s->pend);
    s->pend.fd = -1;
    l->pending_rows -= s->rows;
    return 0;
}

static slot_t *find_slot(ql_loader_t *l, int32_t partition, int table, const char *dt)
{
    for (size_t i = 0; i < l->n_slots; i++) {
        slot_t *s = l->slots[i];
        if (s->table == table && s->partition == partition && !memcmp(s->dt, dt, 10)) return s;
    }
    return NULL;
}

static slot_t *open_slot(ql_loader_t *l, int32_t partition, int table, const char *dt, int64_t first,
                         char *err, size_t errlen)
{
    slot_t *s = ql_calloc(1, sizeof *s);
    s->partition = partition;
    s->table = table;
    memcpy(s->dt, dt, 11);
    s->first = first;
    s->pend.fd = -1;
    l->slots = ql_realloc(l->slots, (l->n_slots + 1) * sizeof *l->slots);
    l->slots[l->n_slots++] = s;
    if (new_writer(l, s, err, errlen)) return NULL;
    return s;
}

static void drop_slot(ql_loader_t *l, size_t i)
{
    slot_free(l->slots[i]);
    l->slots[i] = l->slots[--l->n_slots];
}

/* ---- values --------------------------------------------------------------------- */

static int str_int64(const char *s, size_t n, int64_t *out)
{
    ql_json_token_t t = {.kind = QL_JSON_NUMBER, .ptr = s, .len = n, .is_integer = 1};
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (i == 0 && s[i] == '-'))) return -1;
    return n ? ql_json_token_int64(&t, out) : -1;
}

static int str_double(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (*end || errno) return -1;
    *out = d;
    return 0;
}

/* Sets one value; returns 1 when stored as null because of a type mismatch. */
static int set_value(ql_pq_writer_t *w, int col, ql_pq_type_t type, const ql_json_token_t *v)
{
    int64_t i;
    double d;
    if (v->kind == QL_JSON_NULL) return 0;
    switch (type) {
    case QL_PQ_STRING:
        ql_pq_writer_set_string(w, col, v->ptr, v->len);
        return 0;
    case QL_PQ_INT64:
        if (v->kind == QL_JSON_NUMBER && v->is_integer && ql_json_token_int64(v, &i) == 0) break;
        if (v->kind == QL_JSON_STRING && str_int64(v->ptr, v->len, &i) == 0) break;
        return 1;
    case QL_PQ_DOUBLE:
        if (v->kind == QL_JSON_NUMBER && ql_json_token_double(v, &d) == 0) goto dbl;
        if (v->kind == QL_JSON_STRING && str_double(v->ptr, v->len, &d) == 0) goto dbl;
        return 1;
    dbl:
        ql_pq_writer_set_double(w, col, d);
        return 0;
    case QL_PQ_BOOL:
        if (v->kind == QL_JSON_TRUE || (v->kind == QL_JSON_STRING && v->len == 4 && !memcmp(v->ptr, "true", 4))) {
            ql_pq_writer_set_bool(w, col, 1);
            return 0;
        }
        if (v->kind == QL_JSON_FALSE || (v->kind == QL_JSON_STRING && v->len == 5 && !memcmp(v->ptr, "false", 5))) {
            ql_pq_writer_set_bool(w, col, 0);
            return 0;
        }
        return 1;
    default:
        return 1;
    }
    ql_pq_writer_set_int64(w, col, i);
    return 0;
}

/* Makes sure every field of the event has a column in s; when a column is
 * missing and the schema is frozen, the file is finished at `split_last`
 * and a new one started at `split_first`. */
static int ensure_columns(ql_loader_t *l, slot_t *s, int64_t split_first, int64_t split_last, int *cols,
                          const uint32_t *hashes, char *err, size_t errlen)
{
    const ql_event_t *ev = &l->ev;
    for (int pass = 0; pass < 2; pass++) {
        int missing = 0;
        for (size_t i = 0; i < ev->n_fields; i++) {
            const ql_field_t *f = &ev->fields[i];
            uint32_t h = hashes[i];
            colent_t *e = colmap_find(&s->cols, f->name, f->name_len, h);
            if (!e) {
                if (ql_pq_writer_schema_frozen(s->w)) {
                    missing = 1;
                    break;
                }
                ql_pq_type_t type = ql_transform_column_type(l->tf, f->name, f->name_len);
                char name[1024];
                /* not a column: an absurdly long key, or one a Parquet
                 * column name (a C string, non-empty) cannot hold — "" or a
                 * key with \u0000 made the writer fail, and the loader with
                 * it at every restart (found by fuzz_loader) */
                if (f->name_len >= sizeof name || f->name_len == 0 || memchr(f->name, '\0', f->name_len)) {
                    cols[i] = -1;
                    continue;
                }
                memcpy(name, f->name, f->name_len);
                name[f->name_len] = '\0';
                int c = ql_pq_writer_column_index(s->w, name, f->name_len);
                if (c < 0) c = ql_pq_writer_add_column(s->w, name, type, 0, err, errlen);
                if (c < 0) return -1;
                e = colmap_add(&s->cols, f->name, f->name_len, h, c, type);
            }
            cols[i] = e->col;
            cols[QL_EVENT_MAX_FIELDS + i] = (int)e->type;
        }
        if (!missing) return 0;
        if (pass == 1) return ql_err(err, errlen, "internal: schema still frozen after a new file");
        /* schema evolution after a row group flush: split the file */
        if (finish_slot(l, s, split_last, err, errlen)) return -1;
        s->first = split_first;
        if (new_writer(l, s, err, errlen)) return -1;
    }
    return 0;
}

static void sanitize_utf8(ql_buf_t *b, const char *s, size_t n)
{
    ql_buf_reset(b);
    if (ql_utf8_valid(s, n)) {
        ql_buf_append(b, s, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) ql_buf_putc(b, (char)c);
        else ql_buf_printf(b, "\\x%02X", c);
    }
}

static int write_rejected(ql_loader_t *l, slot_t *s, int32_t partition, int64_t offset, int64_t ts,
                          const char *value, size_t len, char *err, size_t errlen)
{
    ql_pq_writer_t *w = s->w;
    ql_pq_writer_set_string(w, 0, l->opt.source, strlen(l->opt.source));
    if (!l->import) ql_pq_writer_set_int32(w, 1, partition);
    ql_pq_writer_set_int64(w, 2, offset);
    ql_pq_writer_set_int64(w, 3, ts);
    ql_pq_writer_set_string(w, 4, l->ev.reject, strlen(l->ev.reject));
    sanitize_utf8(&l->tmp, value, len > (1u << 20) ? (1u << 20) : len);
    ql_pq_writer_set_string(w, 5, l->tmp.data ? l->tmp.data : "", l->tmp.len);
    return ql_pq_writer_end_row(w, err, errlen) ? slot_fail(l, s, err, errlen) : 0;
}

/* A deterministic UUIDv7-shaped id for a log record without event_id, so a
 * reload after a crash gives the same id in every table. */
static void record_uuid(int64_t ts_us, int32_t partition, int64_t offset, char out[QL_UUID_LEN])
{
    uint64_t ms = (uint64_t)(ts_us / 1000) & UINT64_C(0xFFFFFFFFFFFF);
    uint64_t o = (uint64_t)offset;
    snprintf(out, QL_UUID_LEN, "%08" PRIx64 "-%04" PRIx64 "-7%03" PRIx64 "-%04" PRIx64 "-%012" PRIx64, ms >> 16,
             ms & 0xFFFF, (uint64_t)partition & 0xFFF, 0x8000 | ((o >> 48) & 0x3FFF), o & UINT64_C(0xFFFFFFFFFFFF));
}

/* ---- commit --------------------------------------------------------------------- */

/* Commits the finished files of `partition` (all of them when all != 0,
 * import mode); the others stay in the done list. */
static int commit_done(ql_loader_t *l, int32_t partition, int all, char *err, size_t errlen)
{
    if (!l->n_done) return 0;
    ql_lake_pending_t *sel = ql_malloc(l->n_done * sizeof *sel);
    size_t k = 0, j = 0;
    for (size_t i = 0; i < l->n_done; i++) {
        if (all || l->done_part[i] == partition) {
            sel[k++] = l->done[i];
        } else {
            l->done[j] = l->done[i];
            l->done_part[j] = l->done_part[i];
            l->done_table[j++] = l->done_table[i];
        }
    }
    l->n_done = j;
    int rc = k ? ql_lake_commit(sel, k, err, errlen) : 0;
    if (rc == 0) l->st.files += k;
    free(sel);
    return rc;
}

/* Deletes the finished, uncommitted files of `partition`. */
static void discard_done(ql_loader_t *l, int32_t partition)
{
    size_t j = 0;
    for (size_t i = 0; i < l->n_done; i++) {
        if (l->done_part[i] == partition) {
            ql_lake_pending_discard(&l->done[i]);
            continue;
        }
        l->done[j] = l->done[i];
        l->done_part[j] = l->done_part[i];
        l->done_table[j++] = l->done_table[i];
    }
    l->n_done = j;
}

/* Drops everything we hold of `partition`: open writers and finished files
 * (temp files deleted, nothing renamed), its state and its claim. */
static void forget_partition(ql_loader_t *l, int32_t partition)
{
    for (size_t i = 0; i < l->n_slots;) {
        if (l->slots[i]->partition == partition) {
            l->pending_rows -= l->slots[i]->rows;
            drop_slot(l, i);
        } else {
            i++;
        }
    }
    discard_done(l, partition);
    for (size_t i = 0; i < l->n_ps; i++)
        if (l->ps[i].partition == partition) {
            ps_free(&l->ps[i]);
            l->ps[i] = l->ps[--l->n_ps];
            break;
        }
}

/* Log mode: commits partition p's batch. Returns 0, < 0 on error, or 1
 * when the partition turned out to belong to another loader now (its claim
 * was taken): the batch is dropped, p is freed, and the partition's records
 * are skipped until it is assigned to us again. */
static int commit_partition(ql_loader_t *l, pstate_t *p, char *err, size_t errlen)
{
    if (p->batch_first < 0) return 0;
    int had_file[QL_TRANSFORM_MAX_TABLES + 1] = {0};
    /* footers written and files fsynced before the claim is locked: the
     * lock is held only for the renames and markers */
    for (size_t i = 0; i < l->n_slots;) {
        slot_t *s = l->slots[i];
        if (s->partition != p->partition) { i++; continue; }
        had_file[s->table] = 1;
        if (s->rows == 0) {       /* can happen right after a split: nothing to keep */
            drop_slot(l, i);
            continue;
        }
        if (finish_slot(l, s, p->batch_last, err, errlen)) return -1;
        drop_slot(l, i);
    }
    for (size_t i = 0; i < l->n_done; i++)   /* files split earlier in this batch */
        if (l->done_part[i] == p->partition) had_file[l->done_table[i]] = 1;
    int own = ql_lake_claim_lock(&p->claim, err, errlen);
    if (own < 0) {
        if (own == QL_LAKE_ETIMEDOUT) l->gave_up = 1;
        return -1;
    }
    if (own == 1) {
        /* I7: another loader was given the partition and read the record
         * after our last commit; what we hold is its to load */
        int32_t part = p->partition;
        l->st.lost_batches++;
        ql_lake_claim_unlock(&p->claim);
        forget_partition(l, part);
        set_gone(l, part, 1);
        return 1;
    }
    int rc = commit_done(l, p->partition, 0, err, errlen);
    p->min_rec = INT64_MAX;
    for (size_t t = 0; t <= l->n_tables && !rc; t++) {
        if (p->tfirst[t] >= 0) {
            p->rec[t] = p->batch_last;
            if (!had_file[t])
                rc = ql_lake_write_marker(l->opt.lake_dir, l->tname[t], p->partition, p->batch_last, err, errlen);
        }
        p->tfirst[t] = -1;
        if (p->rec[t] < p->min_rec) p->min_rec = p->rec[t];
    }
    ql_lake_claim_unlock(&p->claim);
    if (rc) return -1;
    l->st.commits++;
    if (p->last_ts_us > l->st.last_ts_us) l->st.last_ts_us = p->last_ts_us;
    p->batch_first = p->batch_last = -1;
    p->batch_records = 0;
    return 0;
}

int ql_loader_seal(ql_loader_t *l, char *err, size_t errlen)
{
    while (l->n_slots) {
        slot_t *s = l->slots[0];
        if (s->rows && finish_slot(l, s, s->last, err, errlen)) return -1;
        drop_slot(l, 0);
    }
    return 0;
}


void ql_loader_relabel(ql_loader_t *l, const char *label)
{
    snprintf(l->label, sizeof l->label, "%s", label);
    for (size_t i = 0; i < l->n_done; i++) {
        const char *base = strrchr(l->done[i].final, '/');
        int64_t first, last;
        if (base && !ql_lake_parse_name(base + 1, NULL, NULL, &first, &last))
            ql_lake_pending_name(&l->done[i], label, first, last);
    }
}

int ql_loader_flush(ql_loader_t *l, char *err, size_t errlen)
{
    if (l->fail[0]) return ql_err(err, errlen, "%s", l->fail);
    if (l->import) {
        if (ql_loader_seal(l, err, errlen)) return -1;
        if (l->n_done) l->st.commits++;
        return commit_done(l, -1, 1, err, errlen);
    }
    for (size_t i = 0; i < l->n_ps;) {
        int rc = commit_partition(l, &l->ps[i], err, errlen);
        if (rc < 0) return -1;
        if (rc == 0) i++;   /* 1: ps[i] was removed, another moved into i */
    }
    l->pending_rows = 0;
    return 0;
}

void ql_loader_revoke(ql_loader_t *l, int32_t partition)
{
    forget_partition(l, partition);
    set_gone(l, partition, 1);
}

static size_t buffered_bytes(const ql_loader_t *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n_slots; i++) n += ql_pq_writer_buffered_bytes(l->slots[i]->w);
    return n;
}

/* ---- the record path ------------------------------------------------------------ */

int ql_loader_add(ql_loader_t *l, int32_t partition, int64_t offset, int64_t log_ts_us,
                  const char *value, size_t len, char *err, size_t errlen)
{
    l->st.records++;
    pstate_t *p = NULL;
    if (l->fail[0]) return ql_err(err, errlen, "%s", l->fail);
    if (!l->import) {
        p = find_ps(l, partition);
        if (!p && is_gone(l, partition)) {   /* revoked or lost: not ours to load */
            l->st.skipped++;
            return 0;
        }
        /* a partition never assigned through ql_loader_start_offset */
        if (!p && !(p = claim_ps(l, partition, err, errlen))) return -1;
        /* every table holds it already, or it is in the open batch (a
         * redelivery): never twice */
        if (offset <= p->min_rec || (p->batch_last >= 0 && offset <= p->batch_last)) {
            l->st.skipped++;
            return 0;
        }
    } else {
        partition = -1;
    }
    ql_event_t *ev = &l->ev;
    int rejected = ql_transform_event(l->tf, ev, value, len, log_ts_us);
    int64_t ts = rejected ? log_ts_us : ev->ts_us;
    if (!rejected && !l->import && ev->event_id == ev->id_buf) record_uuid(log_ts_us, partition, offset, ev->id_buf);
    ql_transform_date(ts, &l->day_cache, l->day);

    if (!l->import) {
        /* I1: one dt per table per batch — a new day closes the batch */
        if (p->batch_first >= 0 && memcmp(p->dt, l->day, 10)) {
            int rc = commit_partition(l, p, err, errlen);
            if (rc < 0) return -1;
            if (rc == 1) {   /* the partition is another loader's now */
                l->st.skipped++;
                return 0;
            }
        }
        if (p->batch_first < 0) {
            p->batch_first = offset;
            memcpy(p->dt, l->day, 11);
        }
        p->batch_last = offset;
        p->batch_records++;
        p->last_ts_us = log_ts_us;
        for (size_t t = 0; t <= l->n_tables; t++)
            if (p->tfirst[t] < 0 && offset > p->rec[t]) p->tfirst[t] = offset;
    }

    uint64_t mask = rejected ? (uint64_t)1 << l->n_tables : ev->tables;
    if (rejected) l->st.rejected++;
    int cols[2 * QL_EVENT_MAX_FIELDS];
    uint32_t hashes[QL_EVENT_MAX_FIELDS];
    if (!rejected)   /* once per event, shared by every table it goes to */
        for (size_t i = 0; i < ev->n_fields; i++) hashes[i] = hash_bytes(ev->fields[i].name, ev->fields[i].name_len);
    for (size_t t = 0; mask; t++, mask >>= 1) {
        if (!(mask & 1)) continue;
        if (p && offset <= p->rec[t]) continue;   /* this table has it */
        slot_t *s = find_slot(l, partition, (int)t, l->day);
        if (!s && l->import && l->n_slots >= MAX_IMPORT_SLOTS) {
            /* input not in time order (many days): bound open writers (memory,
             * fds) by finishing the least recently used one */
            size_t lru = 0;
            for (size_t i = 1; i < l->n_slots; i++)
                if (l->slots[i]->used < l->slots[lru]->used) lru = i;
            if (finish_slot(l, l->slots[lru], l->slots[lru]->last, err, errlen)) return -1;
            drop_slot(l, lru);
        }
        if (!s) {
            int64_t first = l->import ? offset : p->tfirst[t];
            if (!(s = open_slot(l, partition, (int)t, l->day, first, err, errlen))) return -1;
        }
        if (t == l->n_tables) {
            if (write_rejected(l, s, partition, offset, ts, value, len, err, errlen)) return -1;
        } else {
            int64_t split_last = l->import ? s->last : offset - 1;
            if (ensure_columns(l, s, offset, split_last, cols, hashes, err, errlen)) return -1;
            ql_pq_writer_t *w = s->w;
            ql_pq_writer_set_string(w, s->c_id, ev->event_id, ev->event_id_len);
            ql_pq_writer_set_string(w, s->c_type, ev->event_type, ev->event_type_len);
            ql_pq_writer_set_int64(w, s->c_ts, ev->ts_us);
            for (size_t i = 0; i < ev->n_fields; i++)
                if (cols[i] >= 0)
                    l->st.type_mismatch += set_value(w, cols[i], (ql_pq_type_t)cols[QL_EVENT_MAX_FIELDS + i],
                                                     &ev->fields[i].value);
            if (ql_pq_writer_end_row(w, err, errlen)) return slot_fail(l, s, err, errlen);
        }
        s->rows++;
        s->last = offset;
        s->used = l->st.records;
        l->pending_rows++;
        l->st.rows++;
        if (l->import && s->rows >= l->opt.file_rows) {
            size_t idx = 0;
            while (l->slots[idx] != s) idx++;
            if (finish_slot(l, s, s->last, err, errlen)) return -1;
            drop_slot(l, idx);
        }
    }

    /* budgets: records per batch (log mode), bytes held by writers */
    if (!l->import && p->batch_records >= l->opt.batch_rows) {
        if (commit_partition(l, p, err, errlen) < 0) return -1;
    }
    if (++l->since_check >= 4096) {
        l->since_check = 0;
        if (buffered_bytes(l) >= l->opt.batch_bytes) {
            if (l->import) {
                /* finish the biggest open files; they are renamed at the final flush */
                for (size_t i = 0; i < l->n_slots;) {
                    slot_t *s = l->slots[i];
                    if (s->rows && ql_pq_writer_buffered_bytes(s->w) >= l->opt.batch_bytes / (l->n_slots + 1)) {
                        if (finish_slot(l, s, s->last, err, errlen)) return -1;
                        drop_slot(l, i);
                    } else {
                        i++;
                    }
                }
            } else if (ql_loader_flush(l, err, errlen)) {
                return -1;
            }
        }
    }
    return 0;
}

/* ---- following a log ---------------------------------------------------------------- */

static int64_t cb_assigned(void *arg, int32_t partition) { return ql_loader_start_offset(arg, partition); }
static void cb_revoked(void *arg, int32_t partition) { ql_loader_revoke(arg, partition); }

ql_consumer_callbacks_t ql_loader_callbacks(ql_loader_t *l)
{
    ql_consumer_callbacks_t cb = {cb_assigned, cb_revoked, l};
    return cb;
}

void ql_loader_live_read(const ql_loader_live_t *live, ql_loader_live_t *out)
{
    out->events = __atomic_load_n(&live->events, __ATOMIC_RELAXED);
    out->rows = __atomic_load_n(&live->rows, __ATOMIC_RELAXED);
    out->rejected = __atomic_load_n(&live->rejected, __ATOMIC_RELAXED);
    out->files = __atomic_load_n(&live->files, __ATOMIC_RELAXED);
    out->bytes = __atomic_load_n(&live->bytes, __ATOMIC_RELAXED);
    out->commits = __atomic_load_n(&live->commits, __ATOMIC_RELAXED);
    out->lag_events = __atomic_load_n(&live->lag_events, __ATOMIC_RELAXED);
    out->lag_us = __atomic_load_n(&live->lag_us, __ATOMIC_RELAXED);
    for (int tries = 0;; tries++) {   /* seqlock read of the partition table */
        uint32_t s0 = __atomic_load_n(&live->parts_seq, __ATOMIC_ACQUIRE);
        out->n_parts = __atomic_load_n(&live->n_parts, __ATOMIC_RELAXED);
        int32_t n = out->n_parts < 0 ? 0 : out->n_parts;
        for (int32_t i = 0; i < n && i < QL_LOADER_LIVE_PARTS; i++) {
            out->parts[i].partition = __atomic_load_n(&live->parts[i].partition, __ATOMIC_RELAXED);
            out->parts[i].position = __atomic_load_n(&live->parts[i].position, __ATOMIC_RELAXED);
            out->parts[i].end = __atomic_load_n(&live->parts[i].end, __ATOMIC_RELAXED);
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (!(s0 & 1) && __atomic_load_n(&live->parts_seq, __ATOMIC_RELAXED) == s0) break;
        if (tries > 1000) {   /* a writer stuck mid-update (cannot happen): report nothing */
            out->n_parts = -1;
            break;
        }
    }
    out->parts_seq = 0;
}

/* Lag of one entry: end - position, or -1 when either is unknown. */
static int64_t part_lag(const ql_partition_lag_t *p)
{
    if (p->end < 0 || p->position < 0) return -1;
    return p->end > p->position ? p->end - p->position : 0;
}

void ql_loader_live_metrics(const ql_loader_live_t *snap, ql_buf_t *out)
{
    if (snap->n_parts < 0) return;
    ql_buf_puts(out, "# HELP questlog_kafka_consumer_lag Records between the loader's consumer position and the "
                     "partition's end (-1 unknown).\n# TYPE questlog_kafka_consumer_lag gauge\n");
    for (int32_t i = 0; i < snap->n_parts && i < QL_LOADER_LIVE_PARTS; i++)
        ql_buf_printf(out, "questlog_kafka_consumer_lag{partition=\"%" PRId32 "\"} %" PRId64 "\n",
                      snap->parts[i].partition, part_lag(&snap->parts[i]));
}

/* Takes the consumer's per-partition lag (Kafka; n = -1 otherwise) into
 * parts/n and, when live is set, publishes it. */
static void update_part_lag(ql_loader_follow_t *f, ql_partition_lag_t *parts, int32_t *n)
{
    int k = ql_consumer_kafka_lag(f->consumer, parts, QL_LOADER_LIVE_PARTS);
    *n = k < 0 ? -1 : (k > QL_LOADER_LIVE_PARTS ? QL_LOADER_LIVE_PARTS : k);
    if (!f->live) return;
    ql_loader_live_t *lv = f->live;
    __atomic_add_fetch(&lv->parts_seq, 1, __ATOMIC_ACQ_REL);   /* odd: writing */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&lv->n_parts, *n, __ATOMIC_RELAXED);
    for (int32_t i = 0; i < *n; i++) {
        __atomic_store_n(&lv->parts[i].partition, parts[i].partition, __ATOMIC_RELAXED);
        __atomic_store_n(&lv->parts[i].position, parts[i].position, __ATOMIC_RELAXED);
        __atomic_store_n(&lv->parts[i].end, parts[i].end, __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(&lv->parts_seq, 1, __ATOMIC_RELEASE);  /* even: done */
}

/* Commits the consumer checkpoint of every partition to what all tables hold. */
static void commit_consumer(ql_loader_follow_t *f)
{
    ql_loader_t *l = f->loader;
    char err[256];
    for (size_t i = 0; i < l->n_ps; i++) {
        int64_t next = l->ps[i].min_rec + 1;
        if (next <= 0) continue;
        if (ql_consumer_commit(f->consumer, l->ps[i].partition, next, err, sizeof err) != 0)
            fprintf(stderr, "questlog %s: warning: consumer checkpoint: %s\n", f->cmd, err);
    }
}

/* Lag: records between what we read and each partition's end; age of the
 * oldest record not yet committed to the lake. */
static void update_lag(ql_loader_follow_t *f, int64_t *lag_events)
{
    ql_loader_t *l = f->loader;
    int64_t lag = 0;
    int known = 1;
    for (size_t i = 0; i < l->n_ps; i++) {
        int64_t end;
        if (ql_consumer_end_offset(f->consumer, l->ps[i].partition, &end) != 0 || end < 0) {
            known = 0;
            continue;
        }
        int64_t pos = l->ps[i].batch_last >= 0 ? l->ps[i].batch_last + 1 : l->ps[i].min_rec + 1;
        if (end > pos) lag += end - pos;
    }
    *lag_events = known ? lag : -1;
}

static void publish(ql_loader_follow_t *f, int64_t lag_events, int64_t lag_us)
{
    if (!f->live) return;
    const ql_loader_stats_t *s = &f->loader->st;
    __atomic_store_n(&f->live->events, s->records, __ATOMIC_RELAXED);
    __atomic_store_n(&f->live->rows, s->rows, __ATOMIC_RELAXED);
    __atomic_store_n(&f->live->rejected, s->rejected, __ATOMIC_RELAXED);
    __atomic_store_n(&f->live->files, s->files, __ATOMIC_RELAXED);
    __atomic_store_n(&f->live->bytes, s->bytes, __ATOMIC_RELAXED);
    __atomic_store_n(&f->live->commits, s->commits, __ATOMIC_RELAXED);
    __atomic_store_n(&f->live->lag_events, lag_events, __ATOMIC_RELAXED);
    __atomic_store_n(&f->live->lag_us, lag_us, __ATOMIC_RELAXED);
}

/* Streaming leaves one small file per table per flush: merge them now and
 * then (lake.c's swap is safe while this loader keeps writing: it only adds
 * files with higher offsets). A failure is only a warning. */
static void compact_now(ql_loader_follow_t *f)
{
    ql_loader_t *l = f->loader;
    ql_lake_compact_options_t o = {.min_files = 8, .all = 1};
    ql_pq_write_options_t wo = l->opt.wopt;
    wo.kv = NULL;
    o.wopt = &wo;
    char err[512];
    int lock_fd;
    if (ql_lake_lock(l->opt.lake_dir, "compact", &lock_fd, err, sizeof err) != 0) return; /* `compact` runs: skip */
    for (size_t t = 0; t <= l->n_tables; t++) {
        ql_lake_compact_stats_t st;
        if (ql_lake_compact(l->opt.lake_dir, l->tname[t], &o, &st, err, sizeof err) != 0)
            fprintf(stderr, "questlog %s: warning: compacting %s: %s\n", f->cmd, l->tname[t], err);
    }
    close(lock_fd);
}

int ql_loader_follow(ql_loader_follow_t *f, char *err, size_t errlen)
{
    ql_loader_t *l = f->loader;
    enum { MAXREC = 4096 };
    ql_log_record_t *recs = ql_malloc(MAXREC * sizeof *recs);
    int64_t interval = f->flush_interval_ms > 0 ? f->flush_interval_ms : 1000;
    int64_t now = ql_monotonic_us(), last_flush = now, last_status = now, last_compact = now;
    int64_t oldest_pending_us = -1;   /* wall time of the oldest uncommitted record */
    uint64_t status_events = 0, commits_seen = l->st.commits, lost_seen = l->st.lost_batches;
    ql_partition_lag_t parts[QL_LOADER_LIVE_PARTS];
    int32_t n_parts = -1;
    int64_t last_parts = 0;
    ql_buf_t plag = QL_BUF_INIT;
    if (f->live) __atomic_store_n(&f->live->n_parts, -1, __ATOMIC_RELAXED);
    int rc = 0;
    while (!*f->stop) {
        int64_t wait_ms = interval - (ql_monotonic_us() - last_flush) / 1000;
        if (wait_ms < 1) wait_ms = 1;
        if (wait_ms > 200) wait_ms = 200;     /* keep noticing *stop */
        int n = ql_consumer_poll(f->consumer, recs, MAXREC, (int)wait_ms, err, errlen);
        if (n < 0) { rc = -1; break; }
        for (int i = 0; i < n; i++) {
            const ql_log_record_t *r = &recs[i];
            if (oldest_pending_us < 0) oldest_pending_us = r->timestamp_us;
            if ((rc = ql_loader_add(l, r->partition, r->offset, r->timestamp_us, r->value, r->value_len, err,
                                    errlen)))
                break;
        }
        if (rc) break;
        now = ql_monotonic_us();
        int at_end = ql_consumer_at_end(f->consumer);
        int due = (now - last_flush) / 1000 >= interval || (f->once && at_end);
        if (l->st.lost_batches != lost_seen) {
            fprintf(stderr,
                    "questlog %s: note: a partition was handed to another loader before its batch was committed: "
                    "batch dropped (the new owner loads it)\n", f->cmd);
            lost_seen = l->st.lost_batches;
        }
        if (due || l->st.commits != commits_seen) {
            if (due && (rc = ql_loader_flush(l, err, errlen))) break;
            if (due) last_flush = now;
            if (l->st.commits != commits_seen) {
                commit_consumer(f);
                commits_seen = l->st.commits;
            }
            if (l->pending_rows == 0) oldest_pending_us = -1;
            if (due && f->compact_interval_ms > 0 && !f->once &&
                (now - last_compact) / 1000 >= f->compact_interval_ms) {
                compact_now(f);
                last_compact = ql_monotonic_us();
            }
        }
        int64_t lag_events;
        update_lag(f, &lag_events);
        int64_t lag_us = oldest_pending_us >= 0 ? ql_now_us() - oldest_pending_us : 0;
        if (lag_events > 0 && n == 0 && oldest_pending_us < 0) lag_us = 0;
        publish(f, lag_events, lag_us);
        int status = f->status_interval_ms > 0 && (now - last_status) / 1000 >= f->status_interval_ms;
        if (status || (f->live && (now - last_parts) / 1000 >= 1000)) {
            update_part_lag(f, parts, &n_parts);
            last_parts = now;
        }
        if (status) {
            double secs = (double)(now - last_status) / 1e6;
            ql_buf_reset(&plag);
            if (n_parts > 0) {   /* Kafka: the consumer's lag per assigned partition */
                ql_buf_puts(&plag, " (per partition");
                for (int32_t i = 0; i < n_parts; i++) {
                    int64_t pl = part_lag(&parts[i]);
                    if (pl < 0) ql_buf_printf(&plag, " %" PRId32 ":?", parts[i].partition);
                    else ql_buf_printf(&plag, " %" PRId32 ":%" PRId64, parts[i].partition, pl);
                }
                ql_buf_puts(&plag, ")");
            }
            fprintf(stderr,
                    "questlog %s: %.0f events/s, lag %" PRId64 " events%s (%.1f s), %" PRIu64 " rows, %" PRIu64
                    " rejected, %" PRIu64 " files, %.1f MB written\n",
                    f->cmd, (double)(l->st.records - status_events) / secs, lag_events < 0 ? 0 : lag_events,
                    plag.len ? plag.data : "", (double)lag_us / 1e6, l->st.rows, l->st.rejected, l->st.files,
                    (double)l->st.bytes / 1e6);
            status_events = l->st.records;
            last_status = now;
        }
        if (f->once && at_end && l->pending_rows == 0 && n == 0) break;
    }
    if (rc == 0) {
        rc = ql_loader_flush(l, err, errlen);
        if (rc == 0) commit_consumer(f);
        publish(f, 0, 0);
    }
    ql_buf_free(&plag);
    free(recs);
    return rc;
}

/* ---- a follower that survives failures ------------------------------------------------ */

int ql_loader_follower_open(ql_loader_follow_t *f, const ql_loader_options_t *lo, const ql_loader_source_t *src,
                            char *err, size_t errlen)
{
    f->loader = NULL;
    f->consumer = NULL;
    if (ql_loader_new(&f->loader, lo, err, errlen)) return -1;
    ql_consumer_callbacks_t cb = ql_loader_callbacks(f->loader);
    if (src->kafka ? ql_consumer_open_kafka(&f->consumer, src->kafka, src->topic, src->group, src->kafka_conf, &cb,
                                            err, errlen)
                   : ql_consumer_open_embedded(&f->consumer, src->log_dir, "loader", &cb, err, errlen)) {
        ql_loader_free(f->loader);
        f->loader = NULL;
        f->consumer = NULL;
        return -1;
    }
    return 0;
}

void ql_loader_follower_close(ql_loader_follow_t *f)
{
    ql_consumer_close(f->consumer);   /* first: its callbacks point at the loader */
    ql_loader_free(f->loader);
    f->consumer = NULL;
    f->loader = NULL;
}

/* Sleeps ms in steps short enough to notice *stop. */
static void nap(const volatile int *stop, int64_t ms)
{
    for (int64_t t = 0; t < ms && !*stop; t += 100) usleep(100 * 1000);
}

int ql_loader_follow_retrying(ql_loader_follow_t *f, const ql_loader_options_t *lo, const ql_loader_source_t *src,
                              ql_loader_retry_t *r, char *err, size_t errlen)
{
    int64_t backoff_ms = 1000;
    for (;;) {
        if (f->loader) {
            __atomic_store_n(&r->running, 1, __ATOMIC_RELAXED);
            int64_t t0 = ql_monotonic_us();
            int rc = ql_loader_follow(f, err, errlen);
            __atomic_store_n(&r->running, 0, __ATOMIC_RELAXED);
            if (rc == 0 || ql_loader_gave_up(f->loader) || *f->stop) return rc;
            ql_loader_follower_close(f);
            if (ql_monotonic_us() - t0 > 60 * 1000000LL) backoff_ms = 1000;   /* it had recovered */
        } else if (*f->stop) {
            return -1;   /* err: the last reopen's */
        }
        __atomic_add_fetch(&r->restarts, 1, __ATOMIC_RELAXED);
        fprintf(stderr, "questlog %s: the loader stopped: %s; retrying in %lld s (the events wait in the log)\n",
                f->cmd, err, (long long)(backoff_ms / 1000));
        nap(f->stop, backoff_ms);   /* if stopped meanwhile: one more attempt, to flush */
        backoff_ms = backoff_ms * 2 > 30000 ? 30000 : backoff_ms * 2;
        ql_loader_follower_open(f, lo, src, err, errlen);   /* on failure: reported next round */
    }
}

/* ---- command set-up ---------------------------------------------------------------- */

int ql_loader_env_open(ql_loader_env_t *env, const char *config_path, char *err, size_t errlen)
{
    memset(env, 0, sizeof *env);
    if (ql_config_load(&env->cfg, config_path, err, errlen) || ql_catalog_load(&env->cat, env->cfg, err, errlen) ||
        ql_transform_new(&env->tf, env->cfg, env->cat, err, errlen)) {
        ql_loader_env_close(env);
        return -1;
    }
    return 0;
}

void ql_loader_env_close(ql_loader_env_t *env)
{
    ql_transform_free(env->tf);
    if (env->cat) ql_catalog_free(env->cat);
    ql_config_free(env->cfg);
    memset(env, 0, sizeof *env);
}
