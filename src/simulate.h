/*
 * simulate.h — `questlog simulate`: a traffic model of game players and a load
 * engine that plays it against a collector over HTTP/1.1 keep-alive
 * connections (httpc.h), measuring what happened.
 *
 * Three parts, usable on their own:
 *  - a latency histogram with log-spaced buckets (HdrHistogram-like: 128
 *    sub-buckets per power of two, so a reported percentile is within 0.4 %
 *    of the true value);
 *  - the traffic model: a seeded, deterministic stream of requests from
 *    players with stable identities (Host userN.comcast.com, a User-Agent per
 *    device, X-Player-Id), sessions that open with GET /, sword purchases
 *    from a Zipf-popular catalogue, guild joins, NDJSON batches on
 *    POST /events, and optional bad requests. Request k of a seed is the same
 *    whatever the timing: the model never looks at responses or clocks;
 *  - the load engine: open loop (constant arrival rate, latency from the
 *    intended send time, free of coordinated omission) or closed loop (C
 *    requests always in flight), on one thread and one epoll loop.
 *
 * Threads: every object belongs to the thread that uses it; nothing is global.
 * Errors: negative return, message into err (project convention).
 */
#ifndef QL_SIMULATE_H
#define QL_SIMULATE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

/* ---- histogram --------------------------------------------------------- */

#define QL_SIM_HIST_SUB_BITS 7                       /* 128 sub-buckets per octave */
#define QL_SIM_HIST_SUB (1 << QL_SIM_HIST_SUB_BITS)
#define QL_SIM_HIST_BUCKETS ((64 - QL_SIM_HIST_SUB_BITS + 1) * QL_SIM_HIST_SUB)

/* Counts of non-negative integer values (the engine records nanoseconds).
 * Values below 256 are exact; above, a bucket spans 1/128 of its octave.
 * Zero-initialised is empty. ~60 KB: allocate it, don't put it on a small stack. */
typedef struct ql_sim_hist {
    uint64_t counts[QL_SIM_HIST_BUCKETS];
    uint64_t total;
    uint64_t min, max;  /* exact */
} ql_sim_hist_t;

void     ql_sim_hist_record(ql_sim_hist_t *h, uint64_t v);
/* The value at percentile pct (0..100): the smallest recorded bucket whose
 * cumulative count reaches ceil(pct/100 * total), reported as that bucket's
 * midpoint clamped to [min, max] (so 100 gives the exact max, 0 the exact
 * min). 0 when empty. Relative error <= 1/256 of the true value. */
uint64_t ql_sim_hist_percentile(const ql_sim_hist_t *h, double pct);
void     ql_sim_hist_merge(ql_sim_hist_t *dst, const ql_sim_hist_t *src);

/* ---- traffic model ----------------------------------------------------- */

typedef enum ql_sim_kind {
    QL_SIM_DEFAULT,    /* GET /                                -> default */
    QL_SIM_PURCHASE,   /* GET /purchase_a_sword?sword_type&price -> purchase_sword */
    QL_SIM_JOIN,       /* GET /join_guild?guild_id             -> join_guild */
    QL_SIM_BATCH,      /* POST /events, NDJSON of purchases and joins */
    QL_SIM_BAD_ROUTE,  /* GET of an unknown route: expect 404 */
    QL_SIM_BAD_PARAM,  /* purchase with price=abc: expect 400 */
    QL_SIM_BAD_JSON,   /* POST /events with malformed JSON: expect 400 */
    QL_SIM_NKINDS
} ql_sim_kind_t;

extern const char *const ql_sim_kind_names[QL_SIM_NKINDS];

#define QL_SIM_MAX_BATCH 10

typedef struct ql_sim_event {
    int type;   /* QL_SIM_DEFAULT, QL_SIM_PURCHASE or QL_SIM_JOIN */
    int sword;  /* catalogue index (purchases) */
    int guild;  /* guild index (joins) */
} ql_sim_event_t;

/* One request of the stream. `events` are what the server should log if it
 * accepts the request (none for bad requests). */
typedef struct ql_sim_request {
    uint64_t       seq;            /* 1, 2, … in stream order */
    ql_sim_kind_t  kind;
    int            player;         /* 1..players */
    int            expect_status;  /* 200, or the error status a bad request should get */
    int            nevents;
    ql_sim_event_t events[QL_SIM_MAX_BATCH];
} ql_sim_request_t;

typedef struct ql_sim_model_opts {
    uint64_t seed;
    int      players;      /* >= 1 */
    double   bad_ratio;    /* 0..1: share of requests replaced by a bad one */
    double   batch_ratio;  /* 0..1: share of in-session steps sent as a POST /events batch */
} ql_sim_model_opts_t;

typedef struct ql_sim_model ql_sim_model_t;

/* Validates the options and builds the players (identities drawn from the
 * seed). 0 ok, -1 with a message. Free with ql_sim_model_free (NULL ok). */
int  ql_sim_model_new(ql_sim_model_t **out, const ql_sim_model_opts_t *o, char *err, size_t errlen);
void ql_sim_model_free(ql_sim_model_t *m);

/* Draws the next request. `max_events` (>= 1) caps the events it may carry
 * (a batch is cut to fit; any other request counts as one). */
void ql_sim_model_next(ql_sim_model_t *m, ql_sim_request_t *r, uint64_t max_events);

/* Appends the complete HTTP/1.1 request bytes for r to out; `prefix` is the
 * URL's path prefix ("" for none). */
void ql_sim_render_http(const ql_sim_model_t *m, const ql_sim_request_t *r, const char *prefix, ql_buf_t *out);

/* Appends one JSON line describing r (the --dry-run format, see
 * docs/simulate.md): seq, method, target, host, player, device, user_agent,
 * kind, expect, body (POST only) and events [{event_type, Host, …params}]. */
void ql_sim_render_json(const ql_sim_model_t *m, const ql_sim_request_t *r, ql_buf_t *out);

/* The number of sword types in the catalogue (for tests). */
int ql_sim_sword_count(void);

/* ---- load engine ------------------------------------------------------- */

typedef struct ql_sim_stats ql_sim_stats_t;

typedef struct ql_sim_opts {
    const char          *url;            /* http://host:port[/prefix] */
    ql_sim_model_opts_t  model;
    double               duration_s;     /* > 0: stop sending after this long */
    uint64_t             max_events;     /* > 0: stop after the stream carried this many events */
    uint64_t             max_requests;   /* > 0: stop after this many requests */
    double               rate;           /* > 0: open loop at this many requests/s */
    int                  concurrency;    /* closed loop: requests in flight (when rate == 0) */
    int                  connections;    /* open loop: keep-alive connections */
    double               timeout_s;      /* per request; also the drain limit at the end */
    volatile sig_atomic_t *stop;          /* optional: set to non-zero to stop early (e.g. SIGINT) */
    /* optional: called about every 250 ms on the engine's thread */
    void                (*progress)(void *ctx, const ql_sim_stats_t *s, double elapsed_s);
    void                *progress_ctx;
} ql_sim_opts_t;

struct ql_sim_stats {
    uint64_t      sent;             /* requests handed to a connection */
    uint64_t      completed;        /* requests that ended (response or error) */
    uint64_t      succeeded;        /* 2xx responses */
    uint64_t      failed;           /* non-2xx responses + io_errors */
    uint64_t      io_errors;        /* no response: refused, reset, closed, malformed, timeout */
    uint64_t      timeouts;         /* of which timeouts */
    uint64_t      events_sent;      /* events carried by the requests sent (bad ones excluded) */
    uint64_t      events;           /* events the server accepted (batch: its `accepted`) */
    uint64_t      batches_uncounted;/* 2xx batch answers without a readable `accepted` (counted as sent) */
    uint64_t      bad_sent;         /* deliberately bad requests sent */
    uint64_t      bad_as_expected;  /* … that got the status they should */
    uint64_t      missed;           /* open loop: requests due before the end but never sent */
    uint64_t      connects;         /* TCP connections opened */
    uint64_t      by_kind[QL_SIM_NKINDS];
    uint64_t      status[1000];     /* responses by HTTP status */
    char          first_error[160]; /* the first io error's text */
    double        elapsed_s;        /* start to the last completion */
    double        rate;             /* completed / elapsed_s */
    double        send_rate;        /* (sent - 1) / (last send - first send): the pace requests left at */
    ql_sim_hist_t *latency;         /* ns; owned by the stats (ql_sim_stats_free) */
};

/* Runs the load and fills *st (caller frees it with ql_sim_stats_free, also
 * after a failure). Returns 0 when the run took place (even if every request
 * failed: that is in the stats), -1 when it could not start (bad URL, bad
 * options). */
int  ql_sim_run(const ql_sim_opts_t *o, ql_sim_stats_t *st, char *err, size_t errlen);
void ql_sim_stats_free(ql_sim_stats_t *st);

/* Prints the stream as --dry-run does: one ql_sim_render_json line per
 * request on `out`, same limits as a run (max_events,
 * max_requests; duration * rate when only those are given). */
int  ql_sim_dry_run(const ql_sim_opts_t *o, FILE *out, char *err, size_t errlen);

/* Writes the stats as one JSON object (the --json format) / an ab-like text. */
void ql_sim_stats_json(const ql_sim_opts_t *o, const ql_sim_stats_t *st, ql_buf_t *out);
void ql_sim_stats_text(const ql_sim_opts_t *o, const ql_sim_stats_t *st, ql_buf_t *out);

#endif
