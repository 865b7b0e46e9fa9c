/*
 * http.c — the collector's h2o 2.2.5 server (see http.h, docs/collector.md).
 *
 * The ingest path, and the invariant it keeps ("a 200 means durable"):
 *
 *   on_req (loop thread)   builds the request's events straight into the
 *                          loop's current batch; the request is parked
 *                          (h2o keeps its memory until we answer).
 *   flush (loop thread)    at the end of the loop iteration (a zero-delay
 *                          h2o timeout): ONE ql_log_append_commit for every
 *                          event of the batch — if the log is idle, this
 *                          thread does the write + fdatasync right there;
 *                          when the batch is big (mid-iteration) or at
 *                          shutdown: one ql_log_append (never blocks). A
 *                          request's events are never split across batches,
 *                          so each request is all-or-nothing in the log.
 *   log_done (any thread)  records the status. On the batch's own loop
 *                          thread (inside its ql_log_append_commit) it puts
 *                          the batch on L->committed, which flush answers
 *                          when the call returns; elsewhere (log writer,
 *                          librdkafka, the other loop) it posts the batch
 *                          back to its loop (h2o_multithread_send_message:
 *                          one wake-up however many batches arrive).
 *   batch_answer (loop     from flush or on_acks: answers every parked
 *     thread)              request of the batch: 200 if the log said 0,
 *                          else 503.
 *
 * No response to an ingest request is sent anywhere else, so no 200 can
 * leave before the log's done(0) for the append holding its events.
 * Shutdown keeps the same rule: a loop only exits once every batch it handed
 * to the log has come back and been answered.
 */
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <h2o.h>

#include "event.h"
#include "json.h"
#include "util.h"

#define FLUSH_BYTES (256u << 10)   /* flush a batch at once above this */
#define KEEP_BYTES (4u << 20)      /* free a recycled batch's buffer above this */
#define DRAIN_CONN_MS 2000         /* how long stop waits for connections mid-request */

typedef struct loop loop_t;

typedef struct pending {
    h2o_req_t  *req;
    h2o_socket_t *parked;    /* socket kept polled while the answer waits (see park_socket) */
    const char *body;        /* the 200 body: catalog text or pool memory */
    size_t      body_len;
    int         json;        /* 200 body is JSON (POST /events) */
    int         route_id;
    uint32_t    n_events;
    uint32_t    type;        /* event type index when the request has one event */
    uint16_t   *types;       /* per-event type indexes (pool), POST /events */
} pending_t;

/* One event in a batch: its JSON at data+off, and its log key (the
 * request's player: X-Player-Id, else Host; request memory, alive until the
 * request is answered, i.e. past the append that copies it). */
typedef struct span {
    size_t      off, len;
    const char *key;
    size_t      key_len;
} span_t;

typedef struct batch {
    h2o_multithread_message_t msg;  /* first: a batch travels as a message */
    loop_t        *loop;
    ql_buf_t       data;            /* the events, back to back */
    span_t        *spans;
    ql_log_msg_t  *msgs;
    size_t         n_msgs, cap_msgs;
    pending_t     *pend;
    size_t         n_pend, cap_pend;
    int            status;          /* written by the log thread before posting */
    char           errmsg[200];
    struct batch  *next_free;
} batch_t;

struct loop {
    ql_http_t                 *srv;
    int                        idx;
    pthread_t                  thread;
    int                        started;
    h2o_evloop_t              *evloop;
    h2o_context_t              ctx;
    h2o_accept_ctx_t           accept_ctx;
    int                        listen_fd;
    h2o_socket_t              *listener;
    h2o_multithread_receiver_t acks, control;
    h2o_multithread_message_t  stop_msg;
    h2o_timeout_t              zero;
    h2o_timeout_entry_t        flush_entry;
    batch_t                   *cur, *free_batches;
    batch_t                   *committed;  /* ours, committed by this thread inside flush */
    int                        committing; /* inside ql_log_append_commit */
    size_t                     inflight;   /* parked requests in batches handed to the log */
    ql_event_builder_t        *eb;
    ql_buf_t                   scratch;
    int                        stopping, exit;
    int64_t                    drain_deadline_us;
    int                        layout_checked;
};

struct ql_http {
    const ql_catalog_t *cat;
    ql_log_t           *log;
    ql_metrics_t       *metrics;
    h2o_globalconf_t    gconf;
    int                 nloops;
    loop_t             *loops;
    char                address[300];
    pthread_barrier_t   ready;      /* the loops' h2o objects exist */
};

typedef struct handler {
    h2o_handler_t super;
    ql_http_t    *srv;
} handler_t;

/* ---- responses ---------------------------------------------------------- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

static void respond(loop_t *L, h2o_req_t *req, int route_id, int status, const char *ctype,
                    const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
    ql_metrics_count_request(L->srv->metrics, L->idx, route_id, status);
    h2o_send_inline(req, body, len);
}

static void respond_error(loop_t *L, h2o_req_t *req, int route_id, int status, const char *msg, const char *field)
{
    ql_buf_t *b = &L->scratch;
    ql_buf_reset(b);
    ql_buf_puts(b, "{\"error\":");
    ql_event_write_string_lossy(b, msg, strlen(msg));
    if (field) {
        ql_buf_puts(b, ",\"field\":");
        ql_event_write_string_lossy(b, field, strlen(field));
    }
    ql_buf_puts(b, "}\n");
    respond(L, req, route_id, status, "application/json", b->data, b->len);
}

static void respond_405(loop_t *L, h2o_req_t *req, int route_id, const char *allow)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
    respond_error(L, req, route_id, 405, "method not allowed", NULL);
}

/* ---- keeping a parked connection polled -----------------------------------
 *
 * h2o's HTTP/1 code stops reading a connection while its request is being
 * handled and starts again once the answer is written. An answer given at
 * once costs nothing (the evloop applies poll changes at the next
 * iteration, and stop + start cancel out), but ours waits for an fsync, so
 * every request cost an epoll_ctl(DEL) and an epoll_ctl(ADD): ~12% of the
 * server's CPU. Instead, while a request is parked, the socket stays polled
 * with a callback of ours and the evloop's "don't read" flag set, so nothing
 * is read into the buffer the parked request's headers point into:
 *
 *  - if the client sends more (pipelining) or closes meanwhile, our
 *    callback stops reading — exactly what h2o had done — so the fd is
 *    dropped from epoll as before and h2o picks the data up after the answer;
 *  - just before the answer, the flag is cleared; h2o's on_send_complete
 *    then installs its own read callback (the socket is still "reading", so
 *    no epoll_ctl at all in the common case).
 *
 * The flag lives in h2o's private socket struct, whose first members (in
 * older 2.x sources and current h2o alike; checked at run time) are
 * `h2o_socket_t super; int fd; int _flags;`. That layout is checked once per
 * loop on a real connection (the fd must be the socket h2o reports the
 * addresses of); if it does not match, parking is off and h2o's own
 * behaviour stays. Only HTTP/1 connections are parked (HTTP/2 always reads). */

typedef struct evloop_sock_prefix {
    h2o_socket_t super;
    int          fd;
    int          flags;
} evloop_sock_prefix_t;

#define EVLOOP_DONT_READ 0x20   /* H2O_SOCKET_FLAG_DONT_READ, h2o/socket/evloop.h */

static int parking_ok = -1;   /* -1 unknown, 0 off, 1 on; set once, by the first check */

static int same_addr(const struct sockaddr_storage *a, socklen_t al, const struct sockaddr_storage *b, socklen_t bl)
{
    return al == bl && al > 0 && !memcmp(a, b, al);
}

/* Checks the private layout on an accepted connection (see above). */
static void check_layout(h2o_socket_t *sock)
{
    evloop_sock_prefix_t *m = (evloop_sock_prefix_t *)sock;
    struct sockaddr_storage a1, a2, p1, p2;
    socklen_t l1 = sizeof a1, l2, pl1 = sizeof p1, pl2;
    memset(&a1, 0, sizeof a1); memset(&a2, 0, sizeof a2); memset(&p1, 0, sizeof p1); memset(&p2, 0, sizeof p2);
    int ok = m->fd >= 0 && !(m->flags & (EVLOOP_DONT_READ | 0x1)) && getsockname(m->fd, (struct sockaddr *)&a1, &l1) == 0 &&
             getpeername(m->fd, (struct sockaddr *)&p1, &pl1) == 0;
    if (ok) {
        l2 = h2o_socket_getsockname(sock, (struct sockaddr *)&a2);
        pl2 = h2o_socket_getpeername(sock, (struct sockaddr *)&p2);
        ok = same_addr(&a1, l1, &a2, l2) && same_addr(&p1, pl1, &p2, pl2);
    }
    __atomic_store_n(&parking_ok, ok, __ATOMIC_RELAXED);
}

static void parked_on_read(h2o_socket_t *sock, const char *err)
{
    (void)err;
    h2o_socket_read_stop(sock);   /* what h2o had done; it reads again after the answer */
}

/* Keeps req's socket polled while its answer waits; returns it (or NULL). */
static h2o_socket_t *park_socket(h2o_req_t *req)
{
    if (__atomic_load_n(&parking_ok, __ATOMIC_RELAXED) != 1 || req->version >= 0x200 || !req->conn->callbacks->get_socket)
        return NULL;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (!sock || h2o_socket_is_reading(sock)) return NULL;
    ((evloop_sock_prefix_t *)sock)->flags |= EVLOOP_DONT_READ;
    h2o_socket_read_start(sock, parked_on_read);
    return sock;
}

/* Before the answer: h2o reads this socket normally again. */
static void unpark_socket(h2o_socket_t *sock)
{
    if (sock) ((evloop_sock_prefix_t *)sock)->flags &= ~EVLOOP_DONT_READ;
}

/* ---- h2o's own 413 as JSON ----------------------------------------------
 *
 * h2o 2.2.5 refuses a body over max_request_entity_size (our max_body) while
 * reading it — from Content-Length, or as a chunked body grows — and answers
 * with h2o_send_error_generic: text/plain, before any handler runs, through
 * the host's fallback path. A filter on that path turns exactly that answer
 * into our JSON error and counts it in /metrics. (Handler answers go through
 * the "/" path, which has no filter.) */

typedef struct filter413 {
    h2o_filter_t super;
    ql_http_t   *srv;
} filter413_t;

typedef struct ostream413 {
    h2o_ostream_t super;
    h2o_iovec_t   body;   /* sent once, in place of h2o's text */
} ostream413_t;

static void send413(h2o_ostream_t *self_, h2o_req_t *req, h2o_iovec_t *bufs, size_t n, h2o_send_state_t state)
{
    (void)bufs; (void)n;
    ostream413_t *self = (ostream413_t *)self_;
    h2o_iovec_t b = self->body;
    self->body.len = 0;
    h2o_ostream_send_next(&self->super, req, &b, b.len ? 1 : 0, state);
}

static void on_setup_413(h2o_filter_t *f, h2o_req_t *req, h2o_ostream_t **slot)
{
    ql_http_t *S = ((filter413_t *)f)->srv;
    if (req->res.status == 413) {
        loop_t *L = H2O_STRUCT_FROM_MEMBER(loop_t, ctx, req->conn->ctx);
        char msg[160];
        snprintf(msg, sizeof msg, "request body larger than max_body (%zu bytes)", S->cat->max_body);
        ql_buf_t *b = &L->scratch;
        ql_buf_reset(b);
        ql_buf_puts(b, "{\"error\":");
        ql_event_write_string_lossy(b, msg, strlen(msg));
        ql_buf_puts(b, "}\n");
        ostream413_t *o = (ostream413_t *)h2o_add_ostream(req, sizeof *o, slot);
        o->super.do_send = send413;
        o->body = h2o_strdup(&req->pool, b->data, b->len);
        req->res.content_length = o->body.len;
        ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
        if (ct >= 0) req->res.headers.entries[ct].value = h2o_iovec_init(H2O_STRLIT("application/json"));
        else h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
        size_t plen = req->input.path.len;
        const char *q = req->input.path.base ? memchr(req->input.path.base, '?', plen) : NULL;
        if (q) plen = (size_t)(q - req->input.path.base);
        ql_metrics_count_request(S->metrics, L->idx, ql_metrics_route_id(S->metrics, req->input.path.base ? req->input.path.base : "", plen),
                                 413);
        slot = &o->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

/* ---- batches ------------------------------------------------------------ */

static batch_t *batch_get(loop_t *L)
{
    if (L->cur) return L->cur;
    batch_t *B = L->free_batches;
    if (B) L->free_batches = B->next_free;
    else {
        B = ql_calloc(1, sizeof *B);
        B->loop = L;
    }
    B->n_msgs = B->n_pend = 0;
    ql_buf_reset(&B->data);
    B->status = 0;
    B->errmsg[0] = '\0';
    L->cur = B;
    return B;
}

static void batch_recycle(loop_t *L, batch_t *B)
{
    if (B->data.cap > KEEP_BYTES) ql_buf_free(&B->data);
    if (B->cap_msgs > 65536) {
        free(B->spans); free(B->msgs);
        B->spans = NULL; B->msgs = NULL; B->cap_msgs = 0;
    }
    B->next_free = L->free_batches;
    L->free_batches = B;
}

static void batch_free(batch_t *B)
{
    ql_buf_free(&B->data);
    free(B->spans);
    free(B->msgs);
    free(B->pend);
    free(B);
}

static pending_t *batch_park(batch_t *B)
{
    if (B->n_pend == B->cap_pend) {
        B->cap_pend = B->cap_pend ? B->cap_pend * 2 : 64;
        B->pend = ql_realloc(B->pend, B->cap_pend * sizeof *B->pend);
    }
    pending_t *p = &B->pend[B->n_pend++];
    memset(p, 0, sizeof *p);
    return p;
}

/* Records n built events; their offsets in B->data are sp[i].off - shift. */
static void batch_add_spans(batch_t *B, const ql_event_span_t *sp, size_t n, h2o_iovec_t key, size_t shift)
{
    if (B->n_msgs + n > B->cap_msgs) {
        while (B->n_msgs + n > B->cap_msgs) B->cap_msgs = B->cap_msgs ? B->cap_msgs * 2 : 64;
        B->spans = ql_realloc(B->spans, B->cap_msgs * sizeof *B->spans);
        B->msgs = ql_realloc(B->msgs, B->cap_msgs * sizeof *B->msgs);
    }
    for (size_t i = 0; i < n; i++) {
        span_t *o = &B->spans[B->n_msgs++];
        o->off = sp[i].off - shift;
        o->len = sp[i].len;
        o->key = key.base;
        o->key_len = key.len;
    }
}

/* Answers every request parked in B: 200 when the log made it durable. */
static void batch_answer(loop_t *L, batch_t *B)
{
    int64_t now = ql_now_us();
    for (size_t i = 0; i < B->n_pend; i++) {
        pending_t *p = &B->pend[i];
        unpark_socket(p->parked);
        if (B->status == 0) {
            if (p->types)
                for (uint32_t e = 0; e < p->n_events; e++) ql_metrics_count_events(L->srv->metrics, L->idx, p->types[e], 1, now);
            else
                ql_metrics_count_events(L->srv->metrics, L->idx, p->type, p->n_events, now);
            respond(L, p->req, p->route_id, 200, p->json ? "application/json" : "text/plain; charset=utf-8", p->body,
                    p->body_len);
        } else if (B->status == QL_LOG_EINVAL && B->n_pend == 1) {
            /* A request big enough to be refused travels alone (ingest_body). */
            respond_error(L, p->req, p->route_id, 413, "the request's events are too large for the log", NULL);
        } else {
            char msg[300];
            snprintf(msg, sizeof msg, "the log cannot take the events: %s", B->errmsg[0] ? B->errmsg : "unavailable");
            respond_error(L, p->req, p->route_id, 503, msg, NULL);
        }
    }
}

/* The append holding B is durable (status 0) or failed. On the log's
 * thread, or on another loop's thread that committed it: B goes home as a
 * message. On B's own loop thread (inside its ql_log_append_commit): B is
 * noted, and flush answers it when the append returns. */
static void log_done(void *arg, int status, int64_t first_offset, const char *errmsg)
{
    (void)first_offset;
    batch_t *B = arg;
    loop_t *L = B->loop;
    B->status = status;
    if (status < 0) snprintf(B->errmsg, sizeof B->errmsg, "%s", errmsg ? errmsg : "append failed");
    if (pthread_equal(pthread_self(), L->thread) && L->committing) { /* only L's thread reads `committing` */
        B->next_free = L->committed;
        L->committed = B;
        return;
    }
    h2o_multithread_send_message(&L->acks, &B->msg);
}

/* Hands the current batch to the log. `commit_here`: at the end of a loop
 * iteration, where this thread may do the commit itself and answer at once
 * (ql_log_append_commit); inside a request handler the append only queues. */
static void flush(loop_t *L, int commit_here)
{
    batch_t *B = L->cur;
    if (h2o_timeout_is_linked(&L->flush_entry)) h2o_timeout_unlink(&L->flush_entry);
    if (!B || B->n_pend == 0) return;
    L->cur = NULL;
    for (size_t i = 0; i < B->n_msgs; i++) {
        B->msgs[i].key = B->spans[i].key;
        B->msgs[i].key_len = B->spans[i].key_len;
        B->msgs[i].value = B->data.data + B->spans[i].off;
        B->msgs[i].value_len = B->spans[i].len;
    }
    L->inflight += B->n_pend;
    char err[200];
    int rc;
    if (commit_here) {
        L->committing = 1;
        rc = ql_log_append_commit(L->srv->log, B->msgs, B->n_msgs, log_done, B);
        L->committing = 0;
        while (L->committed) { /* batches of ours that this thread committed (log_done) */
            batch_t *C = L->committed;
            L->committed = C->next_free;
            L->inflight -= C->n_pend;
            batch_answer(L, C);
            batch_recycle(L, C);
        }
    } else {
        rc = ql_log_append(L->srv->log, B->msgs, B->n_msgs, log_done, B);
    }
    /* From here on B belongs to the log until it comes back (as a message:
     * on_acks runs on this thread, so not before we return; or above). */
    if (rc < 0) {
        L->inflight -= B->n_pend;
        B->status = rc;
        snprintf(err, sizeof err, "%s", rc == QL_LOG_EFULL ? "queue full, try again" :
                                        rc == QL_LOG_ECLOSED ? "the log is closing" : "append refused");
        snprintf(B->errmsg, sizeof B->errmsg, "%s", err);
        batch_answer(L, B);
        batch_recycle(L, B);
    }
}

static void on_flush_timer(h2o_timeout_entry_t *entry)
{
    loop_t *L = H2O_STRUCT_FROM_MEMBER(loop_t, flush_entry, entry);
    flush(L, 1);
}

static void on_acks(h2o_multithread_receiver_t *r, h2o_linklist_t *messages)
{
    loop_t *L = H2O_STRUCT_FROM_MEMBER(loop_t, acks, r);
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        batch_t *B = (batch_t *)m;
        L->inflight -= B->n_pend;
        batch_answer(L, B);
        batch_recycle(L, B);
    }
}

/* ---- ingest ------------------------------------------------------------- */

static int key_matches(const ql_catalog_t *cat, const char *v, size_t n)
{
    int ok = 0;
    for (size_t i = 0; i < cat->n_api_keys; i++) {
        size_t kl = strlen(cat->api_keys[i]);
        unsigned char diff = (unsigned char)(kl != n);
        for (size_t j = 0; j < n && j < kl; j++) diff |= (unsigned char)(cat->api_keys[i][j] ^ v[j]);
        ok |= diff == 0;
    }
    return ok;
}

/* Header-size and API-key checks; fills the builder input and the log key
 * (X-Player-Id if the request has one, else its Host; empty if neither).
 * 0 ok, else the error response was sent. */
static int ingest_prepare(loop_t *L, h2o_req_t *req, int rid, ql_event_input_t *in, h2o_iovec_t *key)
{
    const ql_catalog_t *cat = L->srv->cat;
    size_t n = req->headers.size, total = 0;
    int key_ok = cat->n_api_keys == 0, has_host = 0, player = 0;
    *key = h2o_iovec_init(NULL, 0);
    ql_event_header_t *hs = h2o_mem_alloc_pool(&req->pool, (n + 1) * sizeof *hs), *o = hs + 1;
    for (size_t i = 0; i < n; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        total += h->name->len + h->value.len;
        o->name = h->name->base;
        o->name_len = h->name->len;
        o->value = h->value.base;
        o->value_len = h->value.len;
        o++;
        if (!key_ok && h->name->len == 9 && !strncasecmp(h->name->base, "x-api-key", 9))
            key_ok = key_matches(cat, h->value.base, h->value.len);
        if (h->name->len == 4 && !strncasecmp(h->name->base, "host", 4)) {
            has_host = 1;
            if (!player) *key = h->value;
        } else if (h->name->len == 11 && !strncasecmp(h->name->base, "x-player-id", 11)) {
            player = 1;
            *key = h->value;
        }
    }
    if (!player && !has_host) *key = req->input.authority;
    if (!has_host && req->input.authority.len) {
        /* h2o (HTTP/1) moves Host: into the authority; record it first, where clients send it. */
        hs[0].name = "host";
        hs[0].name_len = 4;
        hs[0].value = req->input.authority.base;
        hs[0].value_len = req->input.authority.len;
        total += 4 + req->input.authority.len;
        n++;
    } else {
        hs++;
    }
    if (total > cat->max_headers) {
        respond_error(L, req, rid, 431, "request headers too large", NULL);
        return -1;
    }
    if (!key_ok) {
        respond_error(L, req, rid, 401, "missing or wrong X-Api-Key", NULL);
        return -1;
    }
    memset(in, 0, sizeof *in);
    in->headers = hs;
    in->n_headers = n;
    if (req->query_at != SIZE_MAX) {
        in->query = req->path.base + req->query_at + 1;
        in->query_len = req->path.len - req->query_at - 1;
    }
    in->now_us = ql_now_us();
    return 0;
}

static void park_and_schedule(loop_t *L, batch_t *B)
{
    if (B->data.len >= FLUSH_BYTES) flush(L, 0);
    else if (!h2o_timeout_is_linked(&L->flush_entry)) h2o_timeout_link(L->evloop, &L->zero, &L->flush_entry);
}

static void ingest_route(loop_t *L, h2o_req_t *req, int rid, const ql_catalog_event_t *ev)
{
    ql_event_input_t in;
    h2o_iovec_t key;
    char err[256];
    if (ingest_prepare(L, req, rid, &in, &key)) return;
    batch_t *B = batch_get(L);
    if (ql_event_build_route(L->eb, ev, &in, &B->data, err, sizeof err) < 0) {
        respond_error(L, req, rid, 400, err, ql_event_error_field(L->eb));
        return;
    }
    size_t ns;
    const ql_event_span_t *sp = ql_event_spans(L->eb, &ns);
    batch_add_spans(B, sp, ns, key, 0);
    pending_t *p = batch_park(B);
    p->req = req;
    p->parked = park_socket(req);
    p->body = ev->response;
    p->body_len = strlen(ev->response);
    p->route_id = rid;
    p->n_events = 1;
    p->type = (uint32_t)(ev - L->srv->cat->events);
    park_and_schedule(L, B);
}

static void ingest_body(loop_t *L, h2o_req_t *req, int rid)
{
    ql_event_input_t in;
    h2o_iovec_t key;
    char err[256];
    if (ingest_prepare(L, req, rid, &in, &key)) return;
    batch_t *B = batch_get(L);
    size_t before = B->data.len;
    int n = ql_event_build_body(L->eb, &in, req->entity.base ? req->entity.base : "", req->entity.len, &B->data,
                                err, sizeof err);
    if (n < 0) {
        respond_error(L, req, rid, 400, err, ql_event_error_field(L->eb));
        return;
    }
    size_t ns;
    const ql_event_span_t *sp = ql_event_spans(L->eb, &ns);
    size_t shift = 0;
    if (B->n_pend > 0 && B->data.len - before >= FLUSH_BYTES) {
        /* Big events get an append of their own: if the log refuses them as
         * too large, no other request shares their fate. Rare: move them. */
        ql_buf_t mine = QL_BUF_INIT;
        ql_buf_append(&mine, B->data.data + before, B->data.len - before);
        B->data.len = before;
        flush(L, 0);
        B = batch_get(L);
        ql_buf_append(&B->data, mine.data, mine.len);
        ql_buf_free(&mine);
        shift = before;
    }
    batch_add_spans(B, sp, ns, key, shift);
    ql_buf_t *b = &L->scratch;
    ql_buf_reset(b);
    ql_buf_printf(b, "{\"accepted\":%zu,\"event_ids\":[", ns);
    uint16_t *types = h2o_mem_alloc_pool(&req->pool, ns * sizeof *types);
    for (size_t i = 0; i < ns; i++) {
        ql_buf_printf(b, "%s\"%s\"", i ? "," : "", sp[i].id);
        types[i] = (uint16_t)(sp[i].type - L->srv->cat->events);
    }
    ql_buf_puts(b, "]}\n");
    h2o_iovec_t body = h2o_strdup(&req->pool, b->data, b->len);
    pending_t *p = batch_park(B);
    p->req = req;
    p->parked = park_socket(req);
    p->body = body.base;
    p->body_len = body.len;
    p->json = 1;
    p->route_id = rid;
    p->n_events = (uint32_t)ns;
    p->types = types;
    park_and_schedule(L, B);
}

/* ---- routing ------------------------------------------------------------ */

static int is(h2o_iovec_t v, const char *s)
{
    size_t n = strlen(s);
    return v.len == n && !memcmp(v.base, s, n);
}

static void send_buf(loop_t *L, h2o_req_t *req, int rid, const char *ctype)
{
    respond(L, req, rid, 200, ctype, L->scratch.data ? L->scratch.data : "", L->scratch.len);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    ql_http_t *S = ((handler_t *)self)->srv;
    loop_t *L = H2O_STRUCT_FROM_MEMBER(loop_t, ctx, req->conn->ctx);
    h2o_iovec_t path = req->path_normalized, method = req->method;
    int rid = ql_metrics_route_id(S->metrics, path.base, path.len);
    int get = is(method, "GET") || is(method, "HEAD");
    if (is(path, "/events")) {
        if (!is(method, "POST")) respond_405(L, req, rid, "POST");
        else ingest_body(L, req, rid);
        return 0;
    }
    if (is(path, "/healthz") || is(path, "/metrics") || is(path, "/stats")) {
        if (!get) {
            respond_405(L, req, rid, "GET, HEAD");
            return 0;
        }
        ql_buf_reset(&L->scratch);
        if (path.base[1] == 'h') {
            ql_buf_puts(&L->scratch, "{\"status\":\"ok\"}\n");
            send_buf(L, req, rid, "application/json");
        } else if (path.base[1] == 'm') {
            ql_metrics_render_prometheus(S->metrics, S->log, &L->scratch);
            send_buf(L, req, rid, "text/plain; version=0.0.4; charset=utf-8");
        } else {
            ql_metrics_render_stats(S->metrics, ql_now_us(), &L->scratch);
            ql_buf_putc(&L->scratch, '\n');
            send_buf(L, req, rid, "application/json");
        }
        return 0;
    }
    int method_ok;
    const ql_catalog_event_t *ev = ql_catalog_route(S->cat, method.base, method.len, path.base, path.len, &method_ok);
    if (ev) ingest_route(L, req, rid, ev);
    else if (!method_ok) {
        /* Allow: the methods that path has. */
        ql_buf_t allow = QL_BUF_INIT;
        for (size_t i = 0; i < S->cat->n_events; i++)
            for (size_t j = 0; j < S->cat->events[i].n_routes; j++)
                if (is(path, S->cat->events[i].routes[j].path))
                    ql_buf_printf(&allow, "%s%s", allow.len ? ", " : "", S->cat->events[i].routes[j].method);
        h2o_iovec_t a = h2o_strdup(&req->pool, allow.data, allow.len);
        ql_buf_free(&allow);
        respond_405(L, req, rid, a.base);
    } else
        respond_error(L, req, rid, 404, "no such route", NULL);
    return 0;
}

/* ---- loops -------------------------------------------------------------- */

/* Two bounded h2o 2.2.5 leaks that LeakSanitizer (make test SAN=1) would
 * report at exit: up to 16 freed socket buffers per thread kept for reuse
 * (h2o_mem_alloc_recycle, thread-local, never freed when the thread ends),
 * and each context's message queue, which h2o_context_dispose leaves behind
 * (see loop_dispose). Only consulted when built with a sanitizer. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:h2o_mem_alloc_recycle\nleak:h2o_multithread_create_queue\n";
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    loop_t *L = listener->data;
    if (err) return;
    for (int i = 0; i < 32; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (!sock) break;
        if (!L->layout_checked) {
            L->layout_checked = 1;
            if (__atomic_load_n(&parking_ok, __ATOMIC_RELAXED) == -1) check_layout(sock);
        }
        h2o_accept(&L->accept_ctx, sock);
    }
}

static void on_control(h2o_multithread_receiver_t *r, h2o_linklist_t *messages)
{
    loop_t *L = H2O_STRUCT_FROM_MEMBER(loop_t, control, r);
    while (!h2o_linklist_is_empty(messages)) h2o_linklist_unlink(messages->next);
    if (L->stopping) return;
    L->stopping = 1;
    L->drain_deadline_us = ql_monotonic_us() + DRAIN_CONN_MS * 1000;
    if (L->listener) {
        h2o_socket_read_stop(L->listener);
        h2o_socket_close(L->listener);
        L->listener = NULL;
        L->listen_fd = -1;
    }
    h2o_context_request_shutdown(&L->ctx);
    flush(L, 0);
}

/* Creates the loop's h2o objects. Runs on the loop's own thread: h2o binds
 * each socket's buffers to the creating thread's (thread-local) recycling
 * allocator, so a socket made on another thread would share that thread's
 * allocator with this one, unlocked. */
static void loop_init(loop_t *L)
{
    ql_http_t *S = L->srv;
    L->evloop = h2o_evloop_create();
    h2o_context_init(&L->ctx, L->evloop, &S->gconf);
    L->accept_ctx.ctx = &L->ctx;
    L->accept_ctx.hosts = S->gconf.hosts;
    L->listener = h2o_evloop_socket_create(L->evloop, L->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    L->listener->data = L;
    h2o_socket_read_start(L->listener, on_accept);
    h2o_multithread_register_receiver(L->ctx.queue, &L->acks, on_acks);
    h2o_multithread_register_receiver(L->ctx.queue, &L->control, on_control);
    h2o_timeout_init(L->evloop, &L->zero, 0);
    L->flush_entry.cb = on_flush_timer;
    L->eb = ql_event_builder_new(S->cat);
}

static void loop_dispose(loop_t *L);

static void *loop_main(void *arg)
{
    loop_t *L = arg;
    char name[16];
    snprintf(name, sizeof name, "ql-http-%d", L->idx);
    pthread_setname_np(pthread_self(), name);   /* shows in top -H, perf, /proc */
    loop_init(L);
    pthread_barrier_wait(&L->srv->ready);
    while (!L->exit) {
        h2o_evloop_run(L->evloop, L->stopping ? 20 : INT32_MAX);
        if (L->stopping && L->inflight == 0 && (!L->cur || L->cur->n_pend == 0) &&
            (h2o_linklist_is_empty(&L->ctx.http1._conns) || ql_monotonic_us() > L->drain_deadline_us))
            L->exit = 1;
    }
    loop_dispose(L);
    return NULL;
}

static int split_listen(const char *listen, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || !colon[1]) return -1;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') h++, hl -= 2;
    if (hl >= hostlen || strlen(colon + 1) >= portlen) return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

/* A non-blocking listening socket on host:port (with SO_REUSEPORT when
 * `reuseport`, so each loop can have its own). */
static int open_listener(const char *host, const char *port, int reuseport, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(*host ? host : NULL, port, &hints, &res);
    if (rc) return ql_err(err, errlen, "%s:%s: %s", host, port, gai_strerror(rc));
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on)) ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) ||
        bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1024)) {
        ql_err(err, errlen, "%s:%s: %s", host, port, strerror(errno));
        if (fd >= 0) close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Frees the loop's objects, on its own thread (see loop_init). */
static void loop_dispose(loop_t *L)
{
    if (!L->evloop) return;
    int conns_left = !h2o_linklist_is_empty(&L->ctx.http1._conns);
    if (L->listener) {
        h2o_socket_read_stop(L->listener);
        h2o_socket_close(L->listener);
        L->listener = NULL;
        L->listen_fd = -1;
    }
    if (h2o_timeout_is_linked(&L->flush_entry)) h2o_timeout_unlink(&L->flush_entry);
    if (L->cur) batch_free(L->cur);
    while (L->free_batches) {
        batch_t *B = L->free_batches;
        L->free_batches = B->next_free;
        batch_free(B);
    }
    ql_event_builder_free(L->eb);
    ql_buf_free(&L->scratch);
    L->eb = NULL;
    if (conns_left) {
        L->evloop = NULL;
        return;
    }  /* h2o cannot free a loop with live connections; the process is ending */
    h2o_multithread_unregister_receiver(L->ctx.queue, &L->acks);
    h2o_multithread_unregister_receiver(L->ctx.queue, &L->control);
    /* run the loop once so closed sockets are reaped */
    h2o_evloop_run(L->evloop, 0);
    /* h2o_context_request_shutdown armed HTTP/2's 1-second GOAWAY re-send
     * timer; h2o_context_dispose asserts every timeout is empty. */
    if (h2o_timeout_is_linked(&L->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&L->ctx.http2._graceful_shutdown_timeout);
    h2o_timeout_dispose(L->evloop, &L->zero);
    h2o_context_dispose(&L->ctx);
    /* h2o 2.2.5's h2o_context_dispose leaves the context's queue (and its
     * pipe) behind, and destroying it afterwards crashes: it stays, once per
     * loop per collector stop (see __lsan_default_suppressions). */
    h2o_evloop_destroy(L->evloop);
    L->evloop = NULL;
}

static void free_server(ql_http_t *S)
{
    for (int i = 0; i < S->nloops; i++)
        if (S->loops[i].listen_fd >= 0 && !S->loops[i].started) close(S->loops[i].listen_fd);
    free(S->loops);
    h2o_config_dispose(&S->gconf);
    free(S);
}

int ql_http_start(ql_http_t **out, const ql_http_options_t *o, char *err, size_t errlen)
{
    char host[256], port[32];
    if (split_listen(o->listen, host, sizeof host, port, sizeof port))
        return ql_err(err, errlen, "bad listen address '%s' (want HOST:PORT)", o->listen);
    ql_http_t *S = ql_calloc(1, sizeof *S);
    S->cat = o->cat;
    S->log = o->log;
    S->metrics = o->metrics;
    h2o_config_init(&S->gconf);
    /* No Server: header. h2o 2.2.5 formats it with its own sprintf on every
     * response (~700 instructions of the ~12k a request costs in user
     * space, callgrind); nothing reads it. */
    S->gconf.server_name = h2o_iovec_init(H2O_STRLIT(""));
    S->gconf.max_request_entity_size = o->cat->max_body;
    h2o_hostconf_t *hc = h2o_config_register_host(&S->gconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(hc, "/", 0);
    handler_t *h = (handler_t *)h2o_create_handler(pc, sizeof *h);
    h->super.on_req = on_req;
    h->srv = S;
    filter413_t *f = (filter413_t *)h2o_create_filter(&hc->fallback_path, sizeof *f);
    f->super.on_setup_ostream = on_setup_413;
    f->srv = S;

    if (strcmp(port, "0")) {
        /* SO_REUSEPORT would let us share a port with another questlog (same
         * user) and silently split its traffic: first make sure nobody
         * listens there, with a plain socket. */
        int probe = open_listener(host, port, 0, err, errlen);
        if (probe < 0) goto fail;
        close(probe);
    }
    S->nloops = o->nthreads < 1 ? 1 : o->nthreads;
    S->loops = ql_calloc((size_t)S->nloops, sizeof *S->loops);
    for (int i = 0; i < S->nloops; i++) S->loops[i].listen_fd = -1;
    for (int i = 0; i < S->nloops; i++) {
        loop_t *L = &S->loops[i];
        L->srv = S;
        L->idx = i;
        L->listen_fd = open_listener(host, port, 1, err, errlen);
        if (L->listen_fd < 0) goto fail;
        if (i == 0) {  /* port 0: the others join the port the kernel chose */
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            getsockname(L->listen_fd, (struct sockaddr *)&ss, &sl);
            int p = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
            snprintf(port, sizeof port, "%d", p);
            snprintf(S->address, sizeof S->address, strchr(host, ':') ? "[%s]:%d" : "%s:%d",
                     *host ? host : "0.0.0.0", p);
        }
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_barrier_init(&S->ready, NULL, (unsigned)S->nloops + 1);
    for (int i = 0; i < S->nloops; i++) {
        if (pthread_create(&S->loops[i].thread, NULL, loop_main, &S->loops[i])) {
            /* threads cannot be made here at all: the ones started wait at the barrier forever */
            fprintf(stderr, "questlog: cannot start an event-loop thread\n");
            abort();
        }
        S->loops[i].started = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_barrier_wait(&S->ready);
    *out = S;
    return 0;
fail:
    free_server(S);
    return -1;
}

const char *ql_http_address(const ql_http_t *h)
{
    return h->address;
}

void ql_http_stop(ql_http_t *S)
{
    if (!S) return;
    for (int i = 0; i < S->nloops; i++)
        if (S->loops[i].started) h2o_multithread_send_message(&S->loops[i].control, &S->loops[i].stop_msg);
    for (int i = 0; i < S->nloops; i++)
        if (S->loops[i].started) pthread_join(S->loops[i].thread, NULL);
    pthread_barrier_destroy(&S->ready);
    free_server(S);
}
