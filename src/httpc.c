/*
 * httpc.c — the non-blocking HTTP/1.1 keep-alive client pool declared in
 * httpc.h: URL parsing, an incremental response parser, and an edge-triggered
 * epoll loop over a fixed set of connections.
 *
 * Invariants:
 *  - A connection is in the idle stack exactly when it has no request in
 *    flight (busy == 0); an idle connection may be closed (fd < 0) and is then
 *    reopened by the next send.
 *  - Each epoll registration carries (slot, generation); the generation is
 *    bumped whenever a slot's socket is closed, so a stale event for a socket
 *    that was closed and replaced within one epoll batch is ignored.
 *  - A request's callback runs exactly once: on its response, on a failure of
 *    its connection, or on expiry. The slot is pushed back to the idle stack
 *    only after the callback returned, so a callback that sends picks another
 *    connection and the response body it was given stays valid.
 */
#include "httpc.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* ---- URLs -------------------------------------------------------------- */

int ql_httpc_url_parse(const char *url, ql_httpc_url_t *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    if (strncmp(url, "https://", 8) == 0) return ql_err(err, errlen, "https is not supported: '%s'", url);
    if (strncmp(url, "http://", 7) != 0) return ql_err(err, errlen, "URL must start with http://: '%s'", url);
    const char *h = url + 7, *hend, *p;
    if (*h == '[') {  /* [v6]:port */
        hend = strchr(h, ']');
        if (!hend) return ql_err(err, errlen, "bad IPv6 address in '%s'", url);
        h++;
        p = hend + 1;
    } else {
        hend = h + strcspn(h, ":/");
        p = hend;
    }
    if (hend == h || (size_t)(hend - h) >= sizeof u->host) return ql_err(err, errlen, "bad host in '%s'", url);
    memcpy(u->host, h, (size_t)(hend - h));
    strcpy(u->port, "80");
    if (*p == ':') {
        p++;
        size_t n = strspn(p, "0123456789");
        if (n == 0 || n > 5 || atoi(p) <= 0 || atoi(p) > 65535) return ql_err(err, errlen, "bad port in '%s'", url);
        memcpy(u->port, p, n);
        u->port[n] = '\0';
        p += n;
    }
    if (*p && *p != '/') return ql_err(err, errlen, "bad URL '%s'", url);
    size_t plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/') plen--;
    if (plen >= sizeof u->path) return ql_err(err, errlen, "URL path too long");
    memcpy(u->path, p, plen);
    u->path[plen] = '\0';
    if (strpbrk(u->path, "?# \r\n")) return ql_err(err, errlen, "URL prefix must be a plain path: '%s'", url);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc != 0) return ql_err(err, errlen, "cannot resolve '%s': %s", u->host, gai_strerror(rc));
    /* prefer IPv4: "localhost" often resolves to ::1 first, while servers
     * (questlog's default listen address included) listen on 127.0.0.1 */
    const struct addrinfo *pick = res;
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    memcpy(&u->addr, pick->ai_addr, pick->ai_addrlen);
    u->addrlen = pick->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* ---- response parser --------------------------------------------------- */

#define MAX_HEAD (64 * 1024)

static int ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen) return 0;
    for (size_t i = 0; i < alen; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != b[i]) return 0;
    }
    return 1;
}

/* 1 if the comma-separated list [v, v+n) contains `tok` (case-insensitive). */
static int has_token(const char *v, size_t n, const char *tok)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
        size_t s = i;
        while (i < n && v[i] != ',') i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
        if (e > s && ieq(v + s, e - s, tok)) return 1;
    }
    return 0;
}

/* Finds the end of the line starting at p (before end): returns a pointer to
 * the '\n', or NULL. *content_end gets the end of the line's text (before an
 * optional '\r'). */
static const char *line_end(const char *p, const char *end, const char **content_end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return NULL;
    *content_end = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
    return nl;
}

/* Decodes a chunked body at p. Returns bytes used (> 0), 0 if incomplete, -1 bad. */
static long parse_chunked(const char *p, const char *end, ql_buf_t *out, char *err, size_t errlen)
{
    const char *start = p;
    for (;;) {
        const char *ce, *nl = line_end(p, end, &ce);
        if (!nl) return (end - p) > 1024 ? ql_err(err, errlen, "chunk size line too long") : 0;
        uint64_t size = 0;
        const char *q = p;
        int digits = 0;
        for (; q < ce; q++) {
            int d;
            if (*q >= '0' && *q <= '9') d = *q - '0';
            else if (*q >= 'a' && *q <= 'f') d = *q - 'a' + 10;
            else if (*q >= 'A' && *q <= 'F') d = *q - 'A' + 10;
            else break;
            if (++digits > 15) return ql_err(err, errlen, "chunk size too large");
            size = size * 16 + (uint64_t)d;
        }
        if (digits == 0 || (q < ce && *q != ';' && *q != ' ' && *q != '\t'))
            return ql_err(err, errlen, "bad chunk size line");
        p = nl + 1;
        if (size == 0) {  /* trailers until an empty line */
            for (;;) {
                nl = line_end(p, end, &ce);
                if (!nl) return (end - p) > MAX_HEAD ? ql_err(err, errlen, "trailers too long") : 0;
                int empty = (ce == p);
                p = nl + 1;
                if (empty) return (long)(p - start);
            }
        }
        if ((uint64_t)(end - p) < size) return 0;
        if (out) ql_buf_append(out, p, (size_t)size);
        p += size;
        if (end - p < 1) return 0;
        if (*p == '\r') {
            if (end - p < 2) return 0;
            if (p[1] != '\n') return ql_err(err, errlen, "chunk not followed by CRLF");
            p += 2;
        } else if (*p == '\n') {
            p += 1;
        } else {
            return ql_err(err, errlen, "chunk not followed by CRLF");
        }
    }
}

long ql_httpc_parse_response(const char *buf, size_t len, int eof, ql_httpc_response_t *r,
                             ql_buf_t *chunked_out, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    const char *p = buf, *end = buf + len, *ce, *nl;

    /* status line: HTTP/1.x SSS [reason] */
    nl = line_end(p, end, &ce);
    if (!nl) {
        if (len >= 5 && memcmp(buf, "HTTP/", 5) != 0) return ql_err(err, errlen, "not an HTTP response");
        return len > MAX_HEAD ? ql_err(err, errlen, "status line too long") : 0;
    }
    if (ce - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
        p[9] < '1' || p[9] > '9' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
        (ce - p > 12 && p[12] != ' '))
        return ql_err(err, errlen, "bad status line");
    r->minor_version = p[7] - '0';
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    int keep_alive = r->minor_version == 1, chunked = 0;
    int64_t clen = -1;
    p = nl + 1;

    /* headers until an empty line */
    for (;;) {
        nl = line_end(p, end, &ce);
        if (!nl) return len > MAX_HEAD ? ql_err(err, errlen, "response headers too long") : 0;
        if (ce == p) {
            p = nl + 1;
            break;
        }
        if (nl + 1 - buf > MAX_HEAD) return ql_err(err, errlen, "response headers too long");
        const char *colon = memchr(p, ':', (size_t)(ce - p));
        if (!colon || colon == p) return ql_err(err, errlen, "bad header line");
        for (const char *q = p; q < colon; q++)
            if (*q <= ' ' || *q >= 127) return ql_err(err, errlen, "bad header name");
        const char *v = colon + 1, *ve = ce;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        size_t nlen = (size_t)(colon - p), vlen = (size_t)(ve - v);
        if (ieq(p, nlen, "content-length")) {
            if (vlen == 0 || vlen > 15) return ql_err(err, errlen, "bad Content-Length");
            int64_t n = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9') return ql_err(err, errlen, "bad Content-Length");
                n = n * 10 + (v[i] - '0');
            }
            if (clen >= 0 && clen != n) return ql_err(err, errlen, "conflicting Content-Length headers");
            clen = n;
        } else if (ieq(p, nlen, "transfer-encoding")) {
            if (has_token(v, vlen, "chunked")) chunked = 1;
            else return ql_err(err, errlen, "unsupported Transfer-Encoding");
        } else if (ieq(p, nlen, "connection")) {
            if (has_token(v, vlen, "close")) keep_alive = 0;
            else if (has_token(v, vlen, "keep-alive")) keep_alive = 1;
        }
        p = nl + 1;
    }
    r->close = !keep_alive;

    /* body */
    if ((r->status >= 100 && r->status < 200) || r->status == 204 || r->status == 304) {
        r->body = p;
        return (long)(p - buf);
    }
    if (chunked) {
        if (chunked_out) ql_buf_reset(chunked_out);
        long n = parse_chunked(p, end, chunked_out, err, errlen);
        if (n <= 0) return n;
        r->body = chunked_out ? chunked_out->data : p;
        r->body_len = chunked_out ? chunked_out->len : 0;
        if (!r->body) r->body = p;
        return (long)(p - buf) + n;
    }
    if (clen >= 0) {
        if ((uint64_t)(end - p) < (uint64_t)clen) return 0;
        r->body = p;
        r->body_len = (size_t)clen;
        return (long)(p - buf) + (long)clen;
    }
    /* no length: the body runs until the server closes */
    if (!eof) return 0;
    r->close = 1;
    r->body = p;
    r->body_len = (size_t)(end - p);
    return (long)len;
}

/* ---- pool -------------------------------------------------------------- */

typedef struct conn {
    int      fd;          /* -1 when closed */
    uint32_t gen;         /* bumped on close (see invariants) */
    int      connecting;  /* non-blocking connect in progress */
    int      busy;        /* a request is in flight */
    void    *udata;
    int64_t  sent_ns;
    ql_buf_t out;         /* bytes still to write */
    size_t   out_off;
    ql_buf_t in;          /* bytes read, not yet consumed */
} conn_t;

struct ql_httpc_pool {
    ql_httpc_url_t   url;
    int              epfd;
    int              nconns;
    conn_t          *conns;
    int             *idle;     /* stack of idle slots */
    int              nidle;
    int              ninflight;
    uint64_t         connects;
    ql_httpc_done_cb cb;
    void            *ctx;
    ql_buf_t         chunked;
    int              no_pwait2;  /* the kernel lacks epoll_pwait2: ms timeouts */
    struct epoll_event evs[256];
};

int64_t ql_httpc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int ql_httpc_pool_new(ql_httpc_pool_t **out, const ql_httpc_url_t *u, int nconns,
                      ql_httpc_done_cb cb, void *ctx, char *err, size_t errlen)
{
    *out = NULL;
    if (nconns < 1) return ql_err(err, errlen, "need at least one connection");
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) return ql_err(err, errlen, "epoll_create1: %s", strerror(errno));
    ql_httpc_pool_t *p = ql_calloc(1, sizeof *p);
    p->url = *u;
    p->epfd = epfd;
    p->nconns = nconns;
    p->conns = ql_calloc((size_t)nconns, sizeof *p->conns);
    p->idle = ql_calloc((size_t)nconns, sizeof *p->idle);
    p->cb = cb;
    p->ctx = ctx;
    for (int i = 0; i < nconns; i++) p->conns[i].fd = -1;
    for (int i = nconns - 1; i >= 0; i--) p->idle[p->nidle++] = i;  /* slot 0 on top */
    *out = p;
    return 0;
}

static void conn_close(conn_t *c)
{
    if (c->fd >= 0) close(c->fd);  /* closing removes it from the epoll set */
    c->fd = -1;
    c->gen++;
    c->connecting = 0;
    c->out.len = 0;
    c->out_off = 0;
    c->in.len = 0;
}

void ql_httpc_pool_free(ql_httpc_pool_t *p)
{
    if (!p) return;
    for (int i = 0; i < p->nconns; i++) {
        conn_close(&p->conns[i]);
        ql_buf_free(&p->conns[i].out);
        ql_buf_free(&p->conns[i].in);
    }
    close(p->epfd);
    ql_buf_free(&p->chunked);
    free(p->conns);
    free(p->idle);
    free(p);
}

int ql_httpc_idle(const ql_httpc_pool_t *p) { return p->nidle; }
int ql_httpc_inflight(const ql_httpc_pool_t *p) { return p->ninflight; }
uint64_t ql_httpc_connects(const ql_httpc_pool_t *p) { return p->connects; }

/* Ends slot i's request: optional close, callback, back to the idle stack. */
static void finish(ql_httpc_pool_t *p, int i, const ql_httpc_result_t *res, int close_it)
{
    conn_t *c = &p->conns[i];
    void *udata = c->udata;
    c->busy = 0;
    c->udata = NULL;
    p->ninflight--;
    if (close_it) conn_close(c);
    p->cb(p->ctx, udata, res);
    p->idle[p->nidle++] = i;
}

static void fail(ql_httpc_pool_t *p, int i, const char *why)
{
    ql_httpc_result_t res = {.status = 0, .error = why};
    finish(p, i, &res, 1);
}

static int conn_open(ql_httpc_pool_t *p, int i, const char **why)
{
    conn_t *c = &p->conns[i];
    int fd = socket(p->url.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *why = "socket() failed";
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    p->connects++;
    c->fd = fd;
    c->connecting = 0;
    if (connect(fd, (struct sockaddr *)&p->url.addr, p->url.addrlen) < 0) {
        if (errno != EINPROGRESS) {
            *why = errno == ECONNREFUSED ? "connection refused" : "connect failed";
            conn_close(c);
            return -1;
        }
        c->connecting = 1;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.u64 = (uint64_t)(uint32_t)i | ((uint64_t)c->gen << 32)};
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        *why = "epoll_ctl failed";
        conn_close(c);
        return -1;
    }
    return 0;
}

/* Writes what is pending. 0 ok (maybe partially: EPOLLOUT will resume), -1 error. */
static int conn_flush(conn_t *c, const char **why)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            *why = (errno == EPIPE || errno == ECONNRESET) ? "connection reset by server" : "send failed";
            return -1;
        }
    }
    c->out.len = 0;
    c->out_off = 0;
    return 0;
}

int ql_httpc_send(ql_httpc_pool_t *p, const char *req, size_t len, void *udata)
{
    if (p->nidle <= 0) abort();  /* contract: caller checks ql_httpc_idle() */
    int i = p->idle[--p->nidle];
    conn_t *c = &p->conns[i];
    const char *why = NULL;
    c->busy = 1;
    c->udata = udata;
    c->sent_ns = ql_httpc_now_ns();
    p->ninflight++;
    int fresh = 0;
    if (c->fd < 0) {
        if (conn_open(p, i, &why) < 0) goto fail;
        fresh = 1;
    }
    if (c->connecting) {  /* written once the connect completes (EPOLLOUT) */
        c->out.len = 0;
        c->out_off = 0;
        ql_buf_append(&c->out, req, len);
        return 0;
    }
    /* fast path: straight to the socket */
    ssize_t n;
    do n = send(c->fd, req, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        if (!fresh) {  /* a kept-alive connection the server had closed: nothing was sent, reopen once */
            conn_close(c);
            if (conn_open(p, i, &why) < 0) goto fail;
            if (c->connecting) {
                ql_buf_append(&c->out, req, len);
                return 0;
            }
            do n = send(c->fd, req, len, MSG_NOSIGNAL);
            while (n < 0 && errno == EINTR);
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            why = "send failed";
            goto fail;
        }
    }
    if (n < 0) n = 0;
    if ((size_t)n < len) {
        c->out.len = 0;
        c->out_off = 0;
        ql_buf_append(&c->out, req + n, len - (size_t)n);
    }
    return 0;
fail:
    fail(p, i, why);
    return -1;
}

/* Reads what is there and delivers a complete response. Returns the number of
 * requests finished (0 or 1: one request in flight per connection). */
static int conn_read(ql_httpc_pool_t *p, int i, uint32_t events)
{
    conn_t *c = &p->conns[i];
    int eof = 0;
    for (;;) {
        ql_buf_reserve(&c->in, 16384);
        size_t space = c->in.cap - c->in.len - 1;
        ssize_t n = recv(c->fd, c->in.data + c->in.len, space, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
            c->in.data[c->in.len] = '\0';
            if ((size_t)n < space) {  /* drained (edge-triggered: new data means a new edge) */
                if (events & (EPOLLRDHUP | EPOLLHUP)) continue;  /* read on to see the EOF */
                break;
            }
        } else if (n == 0) {
            eof = 1;
            break;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else {
            if (c->busy) {
                fail(p, i, errno == ECONNRESET ? "connection reset by server" : "recv failed");
                return 1;
            }
            conn_close(c);
            return 0;
        }
    }
    while (c->busy && c->in.len > 0) {
        ql_httpc_response_t r;
        char perr[128];
        long used = ql_httpc_parse_response(c->in.data, c->in.len, eof, &r, &p->chunked, perr, sizeof perr);
        if (used == 0) break;
        if (used < 0) {
            fail(p, i, "malformed response");
            return 1;
        }
        if (r.status < 200 && r.status != 101) {  /* interim response: skip it */
            memmove(c->in.data, c->in.data + used, c->in.len - (size_t)used);
            c->in.len -= (size_t)used;
            continue;
        }
        ql_httpc_result_t res = {.status = r.status, .body = r.body, .body_len = r.body_len};
        /* close when told to, when the server has closed already (a reused
         * socket would only earn a reset), or on extra bytes (out of sync) */
        int close_it = r.close || eof || (size_t)used != c->in.len || r.status == 101;
        if (!close_it) c->in.len = 0;  /* body stays readable: the buffer is not touched until the next read */
        finish(p, i, &res, close_it);
        return 1;
    }
    if (eof || (!c->busy && c->in.len > 0)) {  /* closed, or unsolicited bytes */
        if (c->busy) {
            fail(p, i, "connection closed before the response");
            return 1;
        }
        conn_close(c);
    }
    return 0;
}

int ql_httpc_poll(ql_httpc_pool_t *p, int64_t timeout_ns, char *err, size_t errlen)
{
    int n;
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000LL;
        ts.tv_nsec = timeout_ns % 1000000000LL;
        tsp = &ts;
    }
    n = -1;
    if (!p->no_pwait2) {
        n = epoll_pwait2(p->epfd, p->evs, (int)QL_ARRAY_LEN(p->evs), tsp, NULL);
        if (n < 0 && errno == ENOSYS) p->no_pwait2 = 1;
    }
    if (p->no_pwait2) {
        int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
        n = epoll_wait(p->epfd, p->evs, (int)QL_ARRAY_LEN(p->evs), ms);
    }
    if (n < 0) {
        if (errno == EINTR) return 0;
        return ql_err(err, errlen, "epoll_wait: %s", strerror(errno));
    }
    int done = 0;
    for (int k = 0; k < n; k++) {
        int i = (int)(uint32_t)p->evs[k].data.u64;
        uint32_t gen = (uint32_t)(p->evs[k].data.u64 >> 32), ev = p->evs[k].events;
        conn_t *c = &p->conns[i];
        if (c->fd < 0 || c->gen != gen) continue;  /* stale: that socket is gone */
        const char *why = NULL;
        if (c->connecting && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            if (soerr) {
                if (c->busy) {
                    fail(p, i, soerr == ECONNREFUSED ? "connection refused" : "connect failed");
                    done++;
                } else {
                    conn_close(c);
                }
                continue;
            }
            c->connecting = 0;
        }
        if (c->connecting) continue;
        if ((ev & EPOLLOUT) && c->out_off < c->out.len && conn_flush(c, &why) < 0) {
            if (c->busy) {
                fail(p, i, why);
                done++;
            } else {
                conn_close(c);
            }
            continue;
        }
        if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) done += conn_read(p, i, ev);
    }
    return done;
}

int ql_httpc_expire(ql_httpc_pool_t *p, int64_t deadline_ns)
{
    int n = 0;
    for (int i = 0; i < p->nconns; i++) {
        conn_t *c = &p->conns[i];
        if (c->busy && c->sent_ns < deadline_ns) {
            fail(p, i, "timeout");
            n++;
        }
    }
    return n;
}
