/*
 * simulate.c — the traffic model, the latency histogram and the load engine
 * of `questlog simulate` (see simulate.h and docs/simulate.md).
 *
 * Determinism: the model's only input is its seeded PRNG (xoshiro256**,
 * seeded through splitmix64). It never reads a clock or a response, and the
 * engine draws request k+1 only after request k was handed to a connection,
 * so the stream of a seed is the same in a run, in another run and in
 * --dry-run; a time-limited run sends a prefix of it.
 *
 * Measurement: in open loop, request i is due at start + i/rate; latency is
 * taken from that due time, so time spent waiting for a free connection
 * (because the server is slow) is counted, not hidden (no coordinated
 * omission). Requests still not sent when the duration ends are reported as
 * `missed`. In closed loop, latency runs from the actual send.
 */
#include "simulate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "httpc.h"
#include "json.h"

/* ---- histogram --------------------------------------------------------- */

static int hist_index(uint64_t v)
{
    if (v < 2 * QL_SIM_HIST_SUB) return (int)v;  /* exact below 256 */
    int e = 63 - __builtin_clzll(v);             /* >= 8 */
    int shift = e - QL_SIM_HIST_SUB_BITS;
    return (shift + 1) * QL_SIM_HIST_SUB + (int)((v >> shift) & (QL_SIM_HIST_SUB - 1));
}

/* The bucket's lowest value and width. */
static void hist_bucket(int idx, uint64_t *lo, uint64_t *width)
{
    if (idx < 2 * QL_SIM_HIST_SUB) {
        *lo = (uint64_t)idx;
        *width = 1;
        return;
    }
    int shift = idx / QL_SIM_HIST_SUB - 1;
    uint64_t mant = (uint64_t)(idx % QL_SIM_HIST_SUB) + QL_SIM_HIST_SUB;
    *lo = mant << shift;
    *width = (uint64_t)1 << shift;
}

void ql_sim_hist_record(ql_sim_hist_t *h, uint64_t v)
{
    h->counts[hist_index(v)]++;
    if (h->total == 0 || v < h->min) h->min = v;
    if (v > h->max) h->max = v;
    h->total++;
}

uint64_t ql_sim_hist_percentile(const ql_sim_hist_t *h, double pct)
{
    if (h->total == 0) return 0;
    if (pct <= 0) return h->min;
    if (pct >= 100) return h->max;
    uint64_t rank = (uint64_t)ceil(pct / 100.0 * (double)h->total);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < QL_SIM_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t lo, w;
            hist_bucket(i, &lo, &w);
            uint64_t v = lo + (w - 1) / 2;
            if (v < h->min) v = h->min;
            if (v > h->max) v = h->max;
            return v;
        }
    }
    return h->max;
}

void ql_sim_hist_merge(ql_sim_hist_t *dst, const ql_sim_hist_t *src)
{
    if (src->total == 0) return;
    for (int i = 0; i < QL_SIM_HIST_BUCKETS; i++) dst->counts[i] += src->counts[i];
    if (dst->total == 0 || src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
    dst->total += src->total;
}

/* ---- PRNG -------------------------------------------------------------- */

typedef struct rng { uint64_t s[4]; } rng_t;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng_t *r)  /* xoshiro256** */
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

static double rng_unit(rng_t *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }  /* [0, 1) */

static uint32_t rng_below(rng_t *r, uint32_t n)  /* [0, n), unbiased (Lemire) */
{
    uint64_t m = (uint64_t)(uint32_t)(rng_next(r) >> 32) * n;
    if ((uint32_t)m < n) {
        uint32_t t = (uint32_t)-n % n;
        while ((uint32_t)m < t) m = (uint64_t)(uint32_t)(rng_next(r) >> 32) * n;
    }
    return (uint32_t)(m >> 32);
}

/* ---- the game's world -------------------------------------------------- */

/* Swords, most popular first; popularity is Zipf(s = 1.1) over this order. */
static const struct { const char *name; int price; } swords[] = {
    {"longsword", 120}, {"katana", 250}, {"dagger", 40}, {"broadsword", 150},
    {"rapier", 210}, {"scimitar", 180}, {"claymore", 320}, {"excalibur", 9999},
};
/* Guilds, most popular first; Zipf(s = 1.0). */
static const char *const guilds[] = {
    "dragonslayers", "night-watch", "silver-hand", "iron-legion", "shadow-council", "stormcallers",
    "emerald-order", "crimson-blades", "frost-giants", "sun-wardens", "void-walkers", "wolfpack",
};
#define NSWORDS ((int)QL_ARRAY_LEN(swords))
#define NGUILDS ((int)QL_ARRAY_LEN(guilds))

enum { DEV_IOS, DEV_ANDROID, DEV_DESKTOP, NDEV };
static const char *const device_names[NDEV] = {"ios", "android", "desktop"};
static const double device_share[NDEV] = {0.45, 0.40, 0.15};
static const char *const user_agents[NDEV][2] = {
    {"QuestGame/2.4.1 (iPhone; iOS 17.5; Scale/3.00)", "QuestGame/2.4.0 (iPad; iOS 16.7; Scale/2.00)"},
    {"QuestGame/2.4.1 (Linux; Android 14; Pixel 8)", "QuestGame/2.3.9 (Linux; Android 13; SM-S911B)"},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15"},
};

const char *const ql_sim_kind_names[QL_SIM_NKINDS] = {
    "default", "purchase", "join", "batch", "bad_route", "bad_param", "bad_json",
};
static const char *const event_type_names[3] = {"default", "purchase_sword", "join_guild"};

#define P_PURCHASE 0.7       /* an in-session action is a purchase, else a guild join */
#define P_HOME_GUILD 0.8     /* a join goes to the player's home guild */
#define P_SESSION_GOES_ON 0.8 /* after each action, the session continues (mean ~5 actions) */
#define MAX_SESSION 30
#define MAX_PLAYERS 10000000

int ql_sim_sword_count(void) { return NSWORDS; }

typedef struct player {
    uint8_t  device, ua;
    uint8_t  home_guild;
    uint8_t  remaining;  /* actions left in the current session; 0 = not in a session */
} player_t;

struct ql_sim_model {
    ql_sim_model_opts_t o;
    rng_t               rng;
    uint64_t            seq;
    player_t           *players;
    double              sword_cdf[NSWORDS], guild_cdf[NGUILDS];
};

static void zipf_cdf(double *cdf, int n, double s)
{
    double sum = 0;
    for (int i = 0; i < n; i++) sum += 1.0 / pow(i + 1, s);
    double acc = 0;
    for (int i = 0; i < n; i++) {
        acc += 1.0 / pow(i + 1, s) / sum;
        cdf[i] = acc;
    }
    cdf[n - 1] = 1.0;
}

static int pick_cdf(rng_t *r, const double *cdf, int n)
{
    double u = rng_unit(r);
    for (int i = 0; i < n - 1; i++)
        if (u < cdf[i]) return i;
    return n - 1;
}

int ql_sim_model_new(ql_sim_model_t **out, const ql_sim_model_opts_t *o, char *err, size_t errlen)
{
    *out = NULL;
    if (o->players < 1 || o->players > MAX_PLAYERS)
        return ql_err(err, errlen, "players must be between 1 and %d", MAX_PLAYERS);
    if (!(o->bad_ratio >= 0 && o->bad_ratio < 1)) return ql_err(err, errlen, "bad ratio must be in [0, 1)");
    if (!(o->batch_ratio >= 0 && o->batch_ratio <= 1)) return ql_err(err, errlen, "batch ratio must be in [0, 1]");
    ql_sim_model_t *m = ql_calloc(1, sizeof *m);
    m->o = *o;
    rng_seed(&m->rng, o->seed);
    zipf_cdf(m->sword_cdf, NSWORDS, 1.1);
    zipf_cdf(m->guild_cdf, NGUILDS, 1.0);
    m->players = ql_calloc((size_t)o->players, sizeof *m->players);
    for (int i = 0; i < o->players; i++) {
        player_t *p = &m->players[i];
        double u = rng_unit(&m->rng), acc = 0;
        p->device = NDEV - 1;
        for (int d = 0; d < NDEV; d++) {
            acc += device_share[d];
            if (u < acc) {
                p->device = (uint8_t)d;
                break;
            }
        }
        p->ua = (uint8_t)rng_below(&m->rng, 2);
        p->home_guild = (uint8_t)pick_cdf(&m->rng, m->guild_cdf, NGUILDS);
    }
    *out = m;
    return 0;
}

void ql_sim_model_free(ql_sim_model_t *m)
{
    if (!m) return;
    free(m->players);
    free(m);
}

static void draw_action(ql_sim_model_t *m, const player_t *p, ql_sim_event_t *e)
{
    if (rng_unit(&m->rng) < P_PURCHASE) {
        e->type = QL_SIM_PURCHASE;
        e->sword = pick_cdf(&m->rng, m->sword_cdf, NSWORDS);
        e->guild = 0;
    } else {
        e->type = QL_SIM_JOIN;
        e->sword = 0;
        e->guild = rng_unit(&m->rng) < P_HOME_GUILD ? p->home_guild : pick_cdf(&m->rng, m->guild_cdf, NGUILDS);
    }
}

void ql_sim_model_next(ql_sim_model_t *m, ql_sim_request_t *r, uint64_t max_events)
{
    memset(r, 0, offsetof(ql_sim_request_t, events));
    r->seq = ++m->seq;
    r->player = 1 + (int)rng_below(&m->rng, (uint32_t)m->o.players);
    r->expect_status = 200;
    player_t *p = &m->players[r->player - 1];

    if (m->o.bad_ratio > 0 && rng_unit(&m->rng) < m->o.bad_ratio) {
        r->kind = (ql_sim_kind_t)(QL_SIM_BAD_ROUTE + (int)rng_below(&m->rng, 3));
        r->expect_status = r->kind == QL_SIM_BAD_ROUTE ? 404 : 400;
        r->events[0].sword = (int)rng_below(&m->rng, NSWORDS);  /* flavour for bad_param / bad_json */
        return;
    }
    if (p->remaining == 0) {  /* a new session opens the game: GET / */
        int n = 1;
        while (n < MAX_SESSION && rng_unit(&m->rng) < P_SESSION_GOES_ON) n++;
        p->remaining = (uint8_t)n;
        r->kind = QL_SIM_DEFAULT;
        r->nevents = 1;
        r->events[0].type = QL_SIM_DEFAULT;
        return;
    }
    if (m->o.batch_ratio > 0 && rng_unit(&m->rng) < m->o.batch_ratio) {
        /* the client had queued a few actions (offline, or batching) and posts them at once */
        uint64_t k = 2 + rng_below(&m->rng, QL_SIM_MAX_BATCH - 1);
        if (k > p->remaining) k = p->remaining;
        if (k > max_events) k = max_events;
        r->kind = QL_SIM_BATCH;
        r->nevents = (int)k;
        for (int i = 0; i < (int)k; i++) draw_action(m, p, &r->events[i]);
        p->remaining = (uint8_t)(p->remaining - k);
        return;
    }
    draw_action(m, p, &r->events[0]);
    r->kind = (ql_sim_kind_t)r->events[0].type;
    r->nevents = 1;
    p->remaining--;
}

/* ---- rendering --------------------------------------------------------- */

static void put_str(ql_buf_t *b, const char *s) { ql_buf_append(b, s, strlen(s)); }

static void put_u64(ql_buf_t *b, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    ql_buf_reserve(b, (size_t)n);
    for (int i = n - 1; i >= 0; i--) b->data[b->len++] = tmp[i];
    b->data[b->len] = '\0';
}

static const char bad_json_body[] = "{\"event_type\":\"purchase_sword\",\"sword_type\":";

static void put_target(ql_buf_t *b, const ql_sim_request_t *r)
{
    const ql_sim_event_t *e = &r->events[0];
    switch (r->kind) {
    case QL_SIM_DEFAULT: put_str(b, "/"); break;
    case QL_SIM_PURCHASE:
    case QL_SIM_BAD_PARAM:
        put_str(b, "/purchase_a_sword?sword_type=");
        put_str(b, swords[e->sword].name);
        put_str(b, "&price=");
        if (r->kind == QL_SIM_BAD_PARAM) put_str(b, "abc");
        else put_u64(b, (uint64_t)swords[e->sword].price);
        break;
    case QL_SIM_JOIN:
        put_str(b, "/join_guild?guild_id=");
        put_str(b, guilds[e->guild]);
        break;
    case QL_SIM_BATCH:
    case QL_SIM_BAD_JSON: put_str(b, "/events"); break;
    case QL_SIM_BAD_ROUTE: put_str(b, "/teleport?to=moon"); break;
    default: abort();
    }
}

/* One event's own fields as JSON members, without braces: "event_type":…,… */
static void put_event_fields(ql_buf_t *b, const ql_sim_event_t *e)
{
    put_str(b, "\"event_type\":\"");
    put_str(b, event_type_names[e->type]);
    put_str(b, "\"");
    if (e->type == QL_SIM_PURCHASE) {
        put_str(b, ",\"sword_type\":\"");
        put_str(b, swords[e->sword].name);
        put_str(b, "\",\"price\":");
        put_u64(b, (uint64_t)swords[e->sword].price);
    } else if (e->type == QL_SIM_JOIN) {
        put_str(b, ",\"guild_id\":\"");
        put_str(b, guilds[e->guild]);
        put_str(b, "\"");
    }
}

static void put_body(ql_buf_t *b, const ql_sim_request_t *r)
{
    if (r->kind == QL_SIM_BAD_JSON) {
        put_str(b, bad_json_body);
        put_str(b, "\n");
        return;
    }
    for (int i = 0; i < r->nevents; i++) {
        put_str(b, "{");
        put_event_fields(b, &r->events[i]);
        put_str(b, "}\n");
    }
}

static int is_post(const ql_sim_request_t *r) { return r->kind == QL_SIM_BATCH || r->kind == QL_SIM_BAD_JSON; }

static void put_host(ql_buf_t *b, int player)
{
    put_str(b, "user");
    put_u64(b, (uint64_t)player);
    put_str(b, ".comcast.com");
}

void ql_sim_render_http(const ql_sim_model_t *m, const ql_sim_request_t *r, const char *prefix, ql_buf_t *out)
{
    const player_t *p = &m->players[r->player - 1];
    put_str(out, is_post(r) ? "POST " : "GET ");
    put_str(out, prefix);
    put_target(out, r);
    put_str(out, " HTTP/1.1\r\nHost: ");
    put_host(out, r->player);
    put_str(out, "\r\nUser-Agent: ");
    put_str(out, user_agents[p->device][p->ua]);
    put_str(out, "\r\nX-Player-Id: ");
    put_u64(out, (uint64_t)r->player);
    put_str(out, "\r\nAccept: */*\r\n");
    if (!is_post(r)) {
        put_str(out, "\r\n");
        return;
    }
    put_str(out, "Content-Type: application/x-ndjson\r\nContent-Length: ");
    /* render the body after a fixed-width length field, then fill it in */
    size_t len_at = out->len;
    put_str(out, "0000000\r\n\r\n");
    size_t body_at = out->len;
    put_body(out, r);
    char num[8];
    snprintf(num, sizeof num, "%7zu", out->len - body_at);
    for (int i = 0; i < 7; i++) out->data[len_at + (size_t)i] = num[i] == ' ' ? '0' : num[i];
}

void ql_sim_render_json(const ql_sim_model_t *m, const ql_sim_request_t *r, ql_buf_t *out)
{
    const player_t *p = &m->players[r->player - 1];
    ql_buf_t tmp = QL_BUF_INIT;
    put_str(out, "{\"seq\":");
    put_u64(out, r->seq);
    put_str(out, is_post(r) ? ",\"method\":\"POST\",\"target\":" : ",\"method\":\"GET\",\"target\":");
    put_target(&tmp, r);
    ql_json_write_string(out, tmp.data, tmp.len);
    put_str(out, ",\"host\":\"");
    put_host(out, r->player);
    put_str(out, "\",\"player\":");
    put_u64(out, (uint64_t)r->player);
    put_str(out, ",\"device\":\"");
    put_str(out, device_names[p->device]);
    put_str(out, "\",\"user_agent\":");
    ql_json_write_string(out, user_agents[p->device][p->ua], strlen(user_agents[p->device][p->ua]));
    put_str(out, ",\"kind\":\"");
    put_str(out, ql_sim_kind_names[r->kind]);
    put_str(out, "\",\"expect\":");
    put_u64(out, (uint64_t)r->expect_status);
    if (is_post(r)) {
        ql_buf_reset(&tmp);
        put_body(&tmp, r);
        put_str(out, ",\"body\":");
        ql_json_write_string(out, tmp.data, tmp.len);
    }
    put_str(out, ",\"events\":[");
    for (int i = 0; i < r->nevents; i++) {
        put_str(out, i ? ",{" : "{");
        put_event_fields(out, &r->events[i]);
        put_str(out, ",\"Host\":\"");
        put_host(out, r->player);
        put_str(out, "\"}");
    }
    put_str(out, "]}\n");
    ql_buf_free(&tmp);
}

/* ---- load engine ------------------------------------------------------- */

typedef struct rec {  /* one request in flight */
    ql_sim_kind_t kind;
    int           nevents;
    int           expect;
    int64_t       t0_ns;  /* due time (open loop) or send time (closed loop) */
} rec_t;

typedef struct engine {
    ql_sim_stats_t *st;
    rec_t          *recs;
    int            *free_recs;
    int             nfree;
    int64_t         last_done_ns;
} engine_t;

/* The `accepted` member of a POST /events answer, or -1. */
static int64_t accepted_of(const char *body, size_t len)
{
    ql_json_iter_t it;
    ql_json_token_t k, v;
    char err[64];
    if (!body || ql_json_object_begin(&it, body, len, err, sizeof err) < 0) return -1;
    while (ql_json_object_next(&it, &k, &v, err, sizeof err) == 1) {
        int64_t n;
        if (ql_json_string_eq(&k, "accepted") && v.kind == QL_JSON_NUMBER && ql_json_token_int64(&v, &n) == 0 && n >= 0)
            return n;
    }
    return -1;
}

static void on_done(void *ctx, void *udata, const ql_httpc_result_t *res)
{
    engine_t *e = ctx;
    ql_sim_stats_t *st = e->st;
    rec_t *rec = udata;
    int64_t now = ql_httpc_now_ns();
    e->last_done_ns = now;
    st->completed++;
    if (res->status > 0) {
        ql_sim_hist_record(st->latency, (uint64_t)(now > rec->t0_ns ? now - rec->t0_ns : 0));
        st->status[res->status < 1000 ? res->status : 999]++;
        if (res->status >= 200 && res->status < 300) {
            st->succeeded++;
            if (rec->kind == QL_SIM_BATCH || rec->kind == QL_SIM_BAD_JSON) {
                int64_t n = accepted_of(res->body, res->body_len);
                if (n < 0) {
                    st->batches_uncounted++;
                    n = rec->nevents;
                }
                st->events += (uint64_t)n;
            } else {
                st->events += 1;
            }
        } else {
            st->failed++;
        }
        if (rec->kind >= QL_SIM_BAD_ROUTE && res->status == rec->expect) st->bad_as_expected++;
    } else {
        st->failed++;
        st->io_errors++;
        if (res->error && !strcmp(res->error, "timeout")) st->timeouts++;
        if (!st->first_error[0] && res->error) snprintf(st->first_error, sizeof st->first_error, "%s", res->error);
    }
    e->free_recs[e->nfree++] = (int)(rec - e->recs);
}

void ql_sim_stats_free(ql_sim_stats_t *st)
{
    if (!st) return;
    free(st->latency);
    st->latency = NULL;
}

/* Open loop: how many requests are due strictly before `seconds` after the
 * start (request i is due at i / rate): ceil(seconds * rate). */
static uint64_t due_before(double rate, double seconds)
{
    double n = ceil(seconds * rate - 1e-9);
    return n > 0 ? (uint64_t)n : 0;
}

/* Open loop, at the end: how many more requests of the stream were due (index
 * below `due`) and would have been sent but for the server's slowness, given
 * the request and event limits. Walks the model on (the run is over). */
static uint64_t count_missed(ql_sim_model_t *m, ql_sim_request_t *r, int have_next, uint64_t i, uint64_t due,
                             const ql_sim_opts_t *o, uint64_t events)
{
    uint64_t missed = 0;
    if (o->max_requests && due > o->max_requests) due = o->max_requests;
    for (; i < due; i++) {
        if (o->max_events && events >= o->max_events) break;
        if (!have_next) ql_sim_model_next(m, r, o->max_events ? o->max_events - events : UINT64_MAX);
        have_next = 0;
        events += r->kind >= QL_SIM_BAD_ROUTE ? 1 : (uint64_t)r->nevents;
        missed++;
    }
    return missed;
}

int ql_sim_run(const ql_sim_opts_t *o, ql_sim_stats_t *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    st->latency = ql_calloc(1, sizeof *st->latency);
    ql_httpc_url_t url;
    ql_sim_model_t *model = NULL;
    ql_httpc_pool_t *pool = NULL;
    engine_t eng = {.st = st};
    ql_buf_t reqbuf = QL_BUF_INIT;
    int rc = -1, old_slack = -1;
    int open_loop = o->rate > 0;
    int nconns = open_loop ? o->connections : o->concurrency;

    if (nconns < 1 || nconns > 100000) {
        ql_err(err, errlen, "%s must be between 1 and 100000", open_loop ? "connections" : "concurrency");
        goto out;
    }
    if (o->duration_s <= 0 && o->max_events == 0 && o->max_requests == 0) {
        ql_err(err, errlen, "no end: give a duration, an event count or a request count");
        goto out;
    }
    if (ql_httpc_url_parse(o->url, &url, err, errlen) < 0) goto out;
    if (ql_sim_model_new(&model, &o->model, err, errlen) < 0) goto out;
    eng.recs = ql_calloc((size_t)nconns, sizeof *eng.recs);
    eng.free_recs = ql_calloc((size_t)nconns, sizeof *eng.free_recs);
    for (int i = nconns - 1; i >= 0; i--) eng.free_recs[eng.nfree++] = i;
    if (ql_httpc_pool_new(&pool, &url, nconns, on_done, &eng, err, errlen) < 0) goto out;

    /* Wake-ups on time: the default 50 µs timer slack would delay every
     * open-loop send (and add to its measured latency). Restored at the end. */
    old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    const int64_t timeout_ns = (int64_t)((o->timeout_s > 0 ? o->timeout_s : 30) * 1e9);
    const double ns_per_req = open_loop ? 1e9 / o->rate : 0;
    const int64_t start = ql_httpc_now_ns();
    const int64_t end = o->duration_s > 0 ? start + (int64_t)(o->duration_s * 1e9) : INT64_MAX;
    int64_t next_tick = start + 250000000, next_expire = start + 100000000, drain_deadline = 0;
    uint64_t i = 0;               /* index of the next request to send */
    int64_t first_send = 0, last_send = 0;
    int have_next = 0, gen_done = 0;
    ql_sim_request_t req;
    eng.last_done_ns = start;

    for (;;) {
        int64_t now = ql_httpc_now_ns();
        if (!gen_done) {
            int stop = o->stop && *o->stop;
            if (stop || (!open_loop && now >= end) || (o->max_requests && i >= o->max_requests) ||
                (o->max_events && st->events_sent + st->bad_sent >= o->max_events)) {
                gen_done = 1;
                drain_deadline = now + timeout_ns;
            }
        }
        /* dispatch what is due onto idle connections */
        while (!gen_done && ql_httpc_idle(pool) > 0) {
            int64_t due = open_loop ? start + (int64_t)((double)i * ns_per_req) : now;
            if (open_loop && (due > now || due >= end)) break;
            if (!have_next) {
                uint64_t left = o->max_events ? o->max_events - (st->events_sent + st->bad_sent) : UINT64_MAX;
                if (left == 0) break;
                ql_sim_model_next(model, &req, left);
                ql_buf_reset(&reqbuf);
                ql_sim_render_http(model, &req, url.path, &reqbuf);
                have_next = 1;
            }
            rec_t *rec = &eng.recs[eng.free_recs[--eng.nfree]];
            rec->kind = req.kind;
            rec->nevents = req.nevents;
            rec->expect = req.expect_status;
            rec->t0_ns = open_loop ? due : ql_httpc_now_ns();
            st->sent++;
            st->by_kind[req.kind]++;
            if (req.kind >= QL_SIM_BAD_ROUTE) st->bad_sent++;
            else st->events_sent += (uint64_t)req.nevents;
            have_next = 0;
            i++;
            last_send = ql_httpc_now_ns();
            if (i == 1) first_send = last_send;
            ql_httpc_send(pool, reqbuf.data, reqbuf.len, rec);
            if ((o->max_requests && i >= o->max_requests) ||
                (o->max_events && st->events_sent + st->bad_sent >= o->max_events))
                break;
        }
        /* open loop: the schedule ends at `end`; whatever was due by then and
         * could not go out on a free connection is missed */
        if (!gen_done && open_loop) {
            int all_sent = start + (int64_t)((double)i * ns_per_req) >= end;
            if (all_sent || now >= end) {
                gen_done = 1;
                drain_deadline = now + timeout_ns;
                if (!all_sent) st->missed = count_missed(model, &req, have_next, i, due_before(o->rate, o->duration_s), o,
                                                         st->events_sent + st->bad_sent);
            }
        }
        if (gen_done && ql_httpc_inflight(pool) == 0) break;

        /* how long to wait */
        int64_t wait = next_tick - now;
        if (next_expire - now < wait) wait = next_expire - now;
        if (!gen_done && open_loop && ql_httpc_idle(pool) > 0) {
            int64_t due = start + (int64_t)((double)i * ns_per_req);
            if (due - now < wait) wait = due - now;
        }
        if (!gen_done && !open_loop && ql_httpc_idle(pool) > 0) wait = 0;
        if (wait < 0) wait = 0;
        if (ql_httpc_poll(pool, wait, err, errlen) < 0) goto out;

        now = ql_httpc_now_ns();
        if (now >= next_expire) {
            ql_httpc_expire(pool, gen_done && now >= drain_deadline ? INT64_MAX : now - timeout_ns);
            next_expire = now + 100000000;
        }
        if (now >= next_tick) {
            next_tick = now + 250000000;
            if (o->progress) {
                st->connects = ql_httpc_connects(pool);
                o->progress(o->progress_ctx, st, (double)(now - start) / 1e9);
            }
        }
    }
    st->connects = ql_httpc_connects(pool);
    st->elapsed_s = (double)(eng.last_done_ns - start) / 1e9;
    if (st->completed == 0) st->elapsed_s = (double)(ql_httpc_now_ns() - start) / 1e9;
    st->rate = st->elapsed_s > 0 ? (double)st->completed / st->elapsed_s : 0;
    st->send_rate = st->sent > 1 && last_send > first_send ? (double)(st->sent - 1) * 1e9 / (double)(last_send - first_send) : 0;
    rc = 0;
out:
    if (old_slack > 0) prctl(PR_SET_TIMERSLACK, (unsigned long)old_slack, 0, 0, 0);
    ql_httpc_pool_free(pool);
    ql_sim_model_free(model);
    ql_buf_free(&reqbuf);
    free(eng.recs);
    free(eng.free_recs);
    return rc;
}

int ql_sim_dry_run(const ql_sim_opts_t *o, FILE *out, char *err, size_t errlen)
{
    uint64_t max_req = o->max_requests;
    if (o->rate > 0 && o->duration_s > 0) {
        uint64_t due = due_before(o->rate, o->duration_s);
        if (!max_req || due < max_req) max_req = due;
    }
    if (!max_req && !o->max_events)
        return ql_err(err, errlen, "--dry-run needs --events, --requests, or --rate with --duration");
    ql_sim_model_t *m;
    if (ql_sim_model_new(&m, &o->model, err, errlen) < 0) return -1;
    ql_buf_t line = QL_BUF_INIT;
    ql_sim_request_t r;
    uint64_t events = 0;
    for (uint64_t n = 0; (!max_req || n < max_req) && (!o->max_events || events < o->max_events); n++) {
        ql_sim_model_next(m, &r, o->max_events ? o->max_events - events : UINT64_MAX);
        events += r.kind >= QL_SIM_BAD_ROUTE ? 1 : (uint64_t)r.nevents;
        ql_buf_reset(&line);
        ql_sim_render_json(m, &r, &line);
        if (fwrite(line.data, 1, line.len, out) != line.len) break;
    }
    ql_buf_free(&line);
    ql_sim_model_free(m);
    if (fflush(out) != 0 || ferror(out)) return ql_err(err, errlen, "writing the requests: %s", strerror(errno));
    return 0;
}

/* ---- reports ----------------------------------------------------------- */

static double ms(uint64_t ns) { return (double)ns / 1e6; }

void ql_sim_stats_json(const ql_sim_opts_t *o, const ql_sim_stats_t *st, ql_buf_t *b)
{
    const ql_sim_hist_t *h = st->latency;
    ql_buf_puts(b, "{\"url\":");
    ql_json_write_string(b, o->url, strlen(o->url));
    ql_buf_printf(b, ",\"mode\":\"%s\"", o->rate > 0 ? "open" : "closed");
    if (o->rate > 0) ql_buf_printf(b, ",\"target_rate\":%.6g,\"connections\":%d", o->rate, o->connections);
    else ql_buf_printf(b, ",\"concurrency\":%d", o->concurrency);
    ql_buf_printf(b, ",\"seed\":%llu,\"players\":%d", (unsigned long long)o->model.seed, o->model.players);
    ql_buf_printf(b,
                  ",\"sent\":%llu,\"succeeded\":%llu,\"failed\":%llu,\"events\":%llu,\"events_sent\":%llu"
                  ",\"rate\":%.3f,\"send_rate\":%.3f,\"elapsed_s\":%.6f",
                  (unsigned long long)st->sent, (unsigned long long)st->succeeded, (unsigned long long)st->failed,
                  (unsigned long long)st->events, (unsigned long long)st->events_sent, st->rate, st->send_rate,
                  st->elapsed_s);
    ql_buf_printf(b, ",\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}",
                  ms(ql_sim_hist_percentile(h, 50)), ms(ql_sim_hist_percentile(h, 90)),
                  ms(ql_sim_hist_percentile(h, 99)), ms(ql_sim_hist_percentile(h, 99.9)), ms(h->max));
    ql_buf_puts(b, ",\"failed_by_status\":{");
    int first = 1;
    for (int s = 0; s < 1000; s++) {
        if (st->status[s] == 0 || (s >= 200 && s < 300)) continue;
        ql_buf_printf(b, "%s\"%d\":%llu", first ? "" : ",", s, (unsigned long long)st->status[s]);
        first = 0;
    }
    ql_buf_printf(b, "},\"io_errors\":%llu,\"timeouts\":%llu,\"missed\":%llu",
                  (unsigned long long)st->io_errors, (unsigned long long)st->timeouts,
                  (unsigned long long)st->missed);
    ql_buf_printf(b, ",\"bad\":{\"sent\":%llu,\"as_expected\":%llu}", (unsigned long long)st->bad_sent,
                  (unsigned long long)st->bad_as_expected);
    ql_buf_puts(b, ",\"by_kind\":{");
    for (int k = 0; k < QL_SIM_NKINDS; k++)
        ql_buf_printf(b, "%s\"%s\":%llu", k ? "," : "", ql_sim_kind_names[k], (unsigned long long)st->by_kind[k]);
    ql_buf_printf(b, "},\"batches_uncounted\":%llu,\"connects\":%llu", (unsigned long long)st->batches_uncounted,
                  (unsigned long long)st->connects);
    if (st->first_error[0]) {
        ql_buf_puts(b, ",\"first_error\":");
        ql_json_write_string(b, st->first_error, strlen(st->first_error));
    }
    ql_buf_puts(b, "}\n");
}

void ql_sim_stats_text(const ql_sim_opts_t *o, const ql_sim_stats_t *st, ql_buf_t *b)
{
    const ql_sim_hist_t *h = st->latency;
    ql_buf_printf(b, "Server URL:             %s\n", o->url);
    if (o->rate > 0)
        ql_buf_printf(b, "Mode:                   open loop, %.6g req/s asked, %d connections\n", o->rate,
                      o->connections);
    else
        ql_buf_printf(b, "Mode:                   closed loop, %d requests in flight\n", o->concurrency);
    ql_buf_printf(b, "Players:                %d (seed %llu)\n", o->model.players,
                  (unsigned long long)o->model.seed);
    ql_buf_printf(b, "Time taken:             %.3f s\n", st->elapsed_s);
    ql_buf_printf(b, "Requests sent:          %llu\n", (unsigned long long)st->sent);
    ql_buf_printf(b, "Succeeded (2xx):        %llu\n", (unsigned long long)st->succeeded);
    ql_buf_printf(b, "Failed:                 %llu", (unsigned long long)st->failed);
    const char *sep = "  (";
    for (int s = 0; s < 1000; s++) {
        if (st->status[s] == 0 || (s >= 200 && s < 300)) continue;
        ql_buf_printf(b, "%s%d: %llu", sep, s, (unsigned long long)st->status[s]);
        sep = ", ";
    }
    if (st->io_errors) {
        ql_buf_printf(b, "%sno response: %llu", sep, (unsigned long long)st->io_errors);
        sep = ", ";
    }
    ql_buf_puts(b, sep[0] == ',' ? ")\n" : "\n");
    if (st->first_error[0]) ql_buf_printf(b, "First I/O error:        %s\n", st->first_error);
    ql_buf_printf(b, "Events accepted:        %llu (of %llu sent)\n", (unsigned long long)st->events,
                  (unsigned long long)st->events_sent);
    ql_buf_printf(b, "Rate:                   %.1f req/s (sent at %.1f req/s)\n", st->rate, st->send_rate);
    if (o->rate > 0 && st->missed)
        ql_buf_printf(b, "Missed:                 %llu requests were due but never sent (server too slow)\n",
                      (unsigned long long)st->missed);
    if (h->total == 0)
        ql_buf_puts(b, "Latency (ms):           none (no response)\n");
    else
        ql_buf_printf(b, "Latency (ms):           p50 %.3f  p90 %.3f  p99 %.3f  max %.3f%s\n",
                      ms(ql_sim_hist_percentile(h, 50)), ms(ql_sim_hist_percentile(h, 90)),
                      ms(ql_sim_hist_percentile(h, 99)), ms(h->max),
                      o->rate > 0 ? "  (from the intended send time)" : "");
    if (st->bad_sent)
        ql_buf_printf(b, "Bad requests:           %llu sent, %llu got the expected error status\n",
                      (unsigned long long)st->bad_sent, (unsigned long long)st->bad_as_expected);
    ql_buf_printf(b, "Connections opened:     %llu\n", (unsigned long long)st->connects);
}
