/*
 * httpc.h — a small non-blocking HTTP/1.1 client for load generation: a pool
 * of keep-alive connections to ONE server, driven by one epoll loop on the
 * caller's thread, with at most one request in flight per connection (no
 * pipelining, so a response always belongs to the request that was written).
 *
 * Why our own and not h2o's http1client: the load engine needs to decide, to
 * the microsecond, when a request leaves (open-loop schedules, latency from the
 * intended send time), to reuse connections without any per-request
 * allocation, and to see every failure as it happens. h2o 2.2.5's client goes
 * through its socket pool and millisecond timers and allocates a client per
 * request; a direct epoll loop is about as much code as the glue would be.
 *
 * The pool never retries a request: a request whose connection breaks before
 * its response arrived is reported as an error (the server may or may not
 * have acted on it), so counts stay honest. Idle connections the server
 * closed (keep-alive timeout, `Connection: close`, request limits) are
 * reopened transparently on the next send.
 *
 * Threads: a pool and everything it hands out belong to the thread that
 * created it. Errors: negative return, message into err (project convention).
 */
#ifndef QL_HTTPC_H
#define QL_HTTPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util.h"

/* ---- URLs -------------------------------------------------------------- */

typedef struct ql_httpc_url {
    char                    host[256];     /* as written in the URL (no brackets) */
    char                    port[8];       /* "80" when absent */
    char                    path[1024];    /* path prefix without trailing '/', "" for root */
    struct sockaddr_storage addr;          /* resolved address (first getaddrinfo result) */
    socklen_t               addrlen;
} ql_httpc_url_t;

/* Parses "http://HOST[:PORT][/PREFIX]" and resolves HOST (blocking
 * getaddrinfo). https is refused. 0 ok, -1 with a message. */
int ql_httpc_url_parse(const char *url, ql_httpc_url_t *u, char *err, size_t errlen);

/* ---- response parsing -------------------------------------------------- */

typedef struct ql_httpc_response {
    int         status;          /* 100..999 */
    int         minor_version;   /* HTTP/1.x */
    int         close;           /* the connection must be closed after this response */
    const char *body;            /* the body (into the input buffer, or into `chunked_out`) */
    size_t      body_len;
} ql_httpc_response_t;

/* Parses one complete HTTP/1.x response at the start of buf[0..len).
 * Returns the number of bytes it occupies (> 0) when it is complete, 0 when
 * more bytes are needed, -1 when it is malformed (message in err).
 * `eof` says the peer has closed: a response without a length then ends at
 * len. Chunked bodies are decoded into `chunked_out` (reset first; may be
 * NULL, then chunked bodies are checked and skipped, body_len = 0). Interim
 * 1xx responses are NOT skipped here: the caller sees status 1xx.
 * Never reads outside buf[0..len); never allocates except into chunked_out. */
long ql_httpc_parse_response(const char *buf, size_t len, int eof, ql_httpc_response_t *r,
                             ql_buf_t *chunked_out, char *err, size_t errlen);

/* ---- connection pool --------------------------------------------------- */

typedef struct ql_httpc_pool ql_httpc_pool_t;

/* What became of one request. status > 0: an HTTP response arrived (body valid
 * only during the callback). status == 0: no response — `error` says why
 * (connection refused/reset/closed, timeout, malformed response). */
typedef struct ql_httpc_result {
    int         status;
    const char *body;
    size_t      body_len;
    const char *error;
} ql_httpc_result_t;

/* Called once per submitted request, from ql_httpc_poll() (or
 * ql_httpc_expire()), on the pool's thread. `udata` is what was given to
 * ql_httpc_send(). The callback may call ql_httpc_send() again. */
typedef void (*ql_httpc_done_cb)(void *ctx, void *udata, const ql_httpc_result_t *res);

/* Creates a pool of `nconns` connections to u (copied), connected lazily on
 * the first send. 0 ok, -1 (epoll failure) with a message. */
int  ql_httpc_pool_new(ql_httpc_pool_t **out, const ql_httpc_url_t *u, int nconns,
                       ql_httpc_done_cb cb, void *ctx, char *err, size_t errlen);
/* Closes every connection; requests still in flight are dropped WITHOUT a
 * callback (ql_httpc_inflight() tells how many). NULL is a no-op. */
void ql_httpc_pool_free(ql_httpc_pool_t *p);

/* Connections with no request in flight. */
int  ql_httpc_idle(const ql_httpc_pool_t *p);
/* Requests sent and not yet finished. */
int  ql_httpc_inflight(const ql_httpc_pool_t *p);
/* Connections opened so far (first connects plus reconnects). */
uint64_t ql_httpc_connects(const ql_httpc_pool_t *p);

/* Sends one complete request (the bytes are copied) on an idle connection,
 * opening it first if needed. Requires ql_httpc_idle(p) > 0. Returns 0 when
 * the request is on its way (its callback will follow), or -1 when it failed
 * at once (e.g. socket() failed), in which case the callback has already been
 * called with status 0. */
int  ql_httpc_send(ql_httpc_pool_t *p, const char *req, size_t len, void *udata);

/* Waits for I/O for at most timeout_ns (0: just look, < 0: block) and
 * handles it, calling the callback for every finished request. Returns the
 * number of requests finished, or -1 on an epoll failure (message in err). */
int  ql_httpc_poll(ql_httpc_pool_t *p, int64_t timeout_ns, char *err, size_t errlen);

/* Fails (callback with status 0, error "timeout") every request in flight
 * that was sent before `deadline_ns` (CLOCK_MONOTONIC ns), closing its
 * connection. Returns how many. */
int  ql_httpc_expire(ql_httpc_pool_t *p, int64_t deadline_ns);

/* CLOCK_MONOTONIC in nanoseconds (the clock the pool uses). */
int64_t ql_httpc_now_ns(void);

#endif
