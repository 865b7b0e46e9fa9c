/*
 * test_simulate.c — unit tests for simulate.c and httpc.c: histogram
 * percentiles against exact ones, the HTTP response parser (lengths, chunks,
 * keep-alive, malformed input, every split point), the traffic model
 * (determinism, sessions, popularity, bad and batch ratios, event caps,
 * rendering), and the connection pool against a small loopback server thread
 * that closes connections in the ways real servers do.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpc.h"
#include "json.h"
#include "simulate.h"
#include "tap.h"
#include "util.h"

/* ---- histogram --------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t exact_pct(const uint64_t *sorted, size_t n, double pct)
{
    size_t rank = (size_t)ceil(pct / 100.0 * (double)n);
    if (rank < 1) rank = 1;
    return sorted[rank - 1];
}

static void test_hist(void)
{
    ql_sim_hist_t *h = calloc(1, sizeof *h);
    is_int(ql_sim_hist_percentile(h, 50), 0, "empty histogram gives 0");
    for (uint64_t v = 0; v < 256; v++) ql_sim_hist_record(h, v);
    is_int(ql_sim_hist_percentile(h, 50), 127, "values below 256 are exact (p50 of 0..255)");
    is_int(ql_sim_hist_percentile(h, 0), 0, "p0 is the min");
    is_int(ql_sim_hist_percentile(h, 100), 255, "p100 is the max");

    /* log-normal latencies from ~10 µs to seconds, in ns */
    memset(h, 0, sizeof *h);
    size_t n = 200000;
    uint64_t *vals = malloc(n * sizeof *vals);
    uint64_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        double u1 = ((double)(x >> 11) + 0.5) * 0x1.0p-53;
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        double u2 = ((double)(x >> 11) + 0.5) * 0x1.0p-53;
        double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
        vals[i] = (uint64_t)exp(13.0 + 1.5 * z);  /* median ~440 µs */
        ql_sim_hist_record(h, vals[i]);
    }
    qsort(vals, n, sizeof *vals, cmp_u64);
    const double pcts[] = {1, 10, 50, 90, 99, 99.9, 99.99};
    double worst = 0;
    for (size_t k = 0; k < QL_ARRAY_LEN(pcts); k++) {
        double want = (double)exact_pct(vals, n, pcts[k]);
        double got = (double)ql_sim_hist_percentile(h, pcts[k]);
        double rel = fabs(got - want) / want;
        if (rel > worst) worst = rel;
        ok(rel <= 0.01, "p%g within 1%% (got %.0f, exact %.0f, error %.3f%%)", pcts[k], got, want, rel * 100);
    }
    diag("worst relative percentile error: %.3f%%", worst * 100);
    is_int(ql_sim_hist_percentile(h, 100), vals[n - 1], "max is exact");
    is_int(h->total, n, "total counts every value");

    /* huge values don't overflow the buckets */
    ql_sim_hist_t *g = calloc(1, sizeof *g);
    ql_sim_hist_record(g, UINT64_MAX);
    ql_sim_hist_record(g, 1000000000000ULL);
    double got = (double)ql_sim_hist_percentile(g, 50);
    ok(fabs(got - 1e12) / 1e12 <= 0.01, "1e12 within 1%% (%.0f)", got);
    is_int(ql_sim_hist_percentile(g, 100) == UINT64_MAX, 1, "UINT64_MAX recorded as max");

    ql_sim_hist_merge(g, h);
    is_int(g->total, n + 2, "merge adds totals");
    is_int(g->min, vals[0], "merge keeps the min");
    free(g);
    free(vals);
    free(h);
}

/* ---- response parser --------------------------------------------------- */

static long parse(const char *s, int eof, ql_httpc_response_t *r, ql_buf_t *chunks)
{
    char err[128];
    return ql_httpc_parse_response(s, strlen(s), eof, r, chunks, err, sizeof err);
}

static void test_parser(void)
{
    ql_httpc_response_t r;
    ql_buf_t ch = QL_BUF_INIT;
    const char *ok1 = "HTTP/1.1 200 OK\r\nContent-Length: 17\r\nContent-Type: text/plain\r\n\r\nSword Purchased!\nHTTP/1.1";
    long total = (long)strlen(ok1) - 8;
    is_int(parse(ok1, 0, &r, &ch), total, "content-length response: its size, not the trailing bytes");
    is_int(r.status, 200, "status");
    ok(r.body_len == 17 && memcmp(r.body, "Sword Purchased!\n", 17) == 0, "body");
    is_int(r.close, 0, "HTTP/1.1 keeps the connection");
    int all_zero = 1;
    for (long cut = 0; cut < total; cut++) {
        char err[64];
        if (ql_httpc_parse_response(ok1, (size_t)cut, 0, &r, &ch, err, sizeof err) != 0) all_zero = 0;
    }
    ok(all_zero, "every prefix is 'need more'");

    const char *chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5\r\n{\"acc\r\n0a;ext=1\r\nepted\":3}\r\n0\r\nX-Trailer: 1\r\n\r\n";
    total = (long)strlen(chunked);
    is_int(parse(chunked, 0, &r, &ch), total, "chunked response complete");
    ok(r.body_len == 15 && memcmp(r.body, "{\"accepted\":3}", 14) == 0, "chunks decoded (%.*s)", (int)r.body_len, r.body);
    all_zero = 1;
    for (long cut = 0; cut < total; cut++) {
        char err[64];
        if (ql_httpc_parse_response(chunked, (size_t)cut, 0, &r, &ch, err, sizeof err) != 0) all_zero = 0;
    }
    ok(all_zero, "every prefix of a chunked response is 'need more'");

    parse("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", 0, &r, &ch);
    ok(r.status == 400 && r.close == 1, "Connection: close seen");
    parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, &r, &ch);
    is_int(r.close, 1, "HTTP/1.0 closes by default");
    parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", 0, &r, &ch);
    is_int(r.close, 0, "HTTP/1.0 with keep-alive stays open");
    is_int(parse("HTTP/1.1 200 OK\r\n\r\nuntil close", 0, &r, &ch), 0, "no length: incomplete until EOF");
    is_int(parse("HTTP/1.1 200 OK\r\n\r\nuntil close", 1, &r, &ch), 30, "no length: body ends at EOF");
    ok(r.close && r.body_len == 11, "no length: body and close");
    is_int(parse("HTTP/1.1 204 No Content\r\n\r\n", 0, &r, &ch), 27, "204 has no body");
    is_int(parse("HTTP/1.1 100 Continue\r\n\r\n", 0, &r, &ch), 25, "interim 1xx parsed alone");
    is_int(parse("HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", 0, &r, &ch), 37, "bare LF line ends accepted");

    const char *bad[] = {
        "HTTX/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX",
        "garbage",
    };
    for (size_t i = 0; i < QL_ARRAY_LEN(bad); i++) is_int(parse(bad[i], 1, &r, &ch), -1, "malformed #%zu rejected", i);
    ql_buf_free(&ch);

    ql_httpc_url_t u;
    char err[256];
    ok(ql_httpc_url_parse("http://127.0.0.1:5000/api/", &u, err, sizeof err) == 0 && !strcmp(u.host, "127.0.0.1") &&
           !strcmp(u.port, "5000") && !strcmp(u.path, "/api"), "URL with port and prefix");
    ok(ql_httpc_url_parse("http://localhost", &u, err, sizeof err) == 0 && !strcmp(u.port, "80") && !strcmp(u.path, ""),
       "URL without port");
    ok(ql_httpc_url_parse("https://x:1", &u, err, sizeof err) < 0, "https refused: %s", err);
    ok(ql_httpc_url_parse("127.0.0.1:5000", &u, err, sizeof err) < 0, "no scheme refused");
    ok(ql_httpc_url_parse("http://h:99999", &u, err, sizeof err) < 0, "bad port refused");
}

/* ---- traffic model ----------------------------------------------------- */

static ql_sim_model_t *model(uint64_t seed, int players, double bad, double batch)
{
    ql_sim_model_opts_t o = {.seed = seed, .players = players, .bad_ratio = bad, .batch_ratio = batch};
    ql_sim_model_t *m;
    char err[128];
    if (ql_sim_model_new(&m, &o, err, sizeof err) < 0) {
        diag("model: %s", err);
        exit(1);
    }
    return m;
}

static char *stream_json(uint64_t seed, int n)
{
    ql_sim_model_t *m = model(seed, 50, 0.05, 0.2);
    ql_buf_t b = QL_BUF_INIT;
    ql_sim_request_t r;
    for (int i = 0; i < n; i++) {
        ql_sim_model_next(m, &r, UINT64_MAX);
        ql_sim_render_json(m, &r, &b);
    }
    ql_sim_model_free(m);
    return ql_buf_steal(&b);
}

static void test_model(void)
{
    char *a = stream_json(42, 5000), *b = stream_json(42, 5000), *c = stream_json(43, 5000);
    ok(strcmp(a, b) == 0, "same seed, same stream");
    ok(strcmp(a, c) != 0, "another seed, another stream");
    /* every line is one valid JSON object */
    int lines = 0, valid = 1;
    for (char *p = a, *nl; (nl = strchr(p, '\n')); p = nl + 1, lines++) {
        char err[128];
        if (ql_json_validate_object(p, (size_t)(nl - p), err, sizeof err) < 0) {
            if (valid) diag("bad line: %s", err);
            valid = 0;
        }
    }
    ok(valid && lines == 5000, "dry-run lines are JSON objects (%d)", lines);
    free(a);
    free(b);
    free(c);

    /* sessions, popularity, shares */
    int players = 200, n = 100000;
    ql_sim_model_t *m = model(7, players, 0.1, 0.25);
    int *since_default = calloc((size_t)players + 1, sizeof(int));  /* -1: no session seen yet */
    for (int i = 0; i <= players; i++) since_default[i] = -1;
    uint64_t kinds[QL_SIM_NKINDS] = {0}, swords[16] = {0}, events = 0, batch_events = 0;
    int sessions_ok = 1, expect_ok = 1, price_ok = 1, batch_ok = 1, longest = 0;
    ql_sim_request_t r;
    for (int i = 0; i < n; i++) {
        ql_sim_model_next(m, &r, UINT64_MAX);
        kinds[r.kind]++;
        if (r.seq != (uint64_t)i + 1) sessions_ok = 0;
        if (r.kind >= QL_SIM_BAD_ROUTE) {
            if (r.expect_status != (r.kind == QL_SIM_BAD_ROUTE ? 404 : 400) || r.nevents != 0) expect_ok = 0;
            continue;
        }
        if (r.expect_status != 200) expect_ok = 0;
        if (r.kind == QL_SIM_DEFAULT) {
            since_default[r.player] = 0;
        } else {
            if (since_default[r.player] < 0) sessions_ok = 0;  /* an action before the session opened */
            since_default[r.player] += r.nevents;
            if (since_default[r.player] > longest) longest = since_default[r.player];
        }
        if (r.kind == QL_SIM_BATCH) {
            if (r.nevents < 1 || r.nevents > QL_SIM_MAX_BATCH) batch_ok = 0;
            batch_events += (uint64_t)r.nevents;
        }
        for (int k = 0; k < r.nevents; k++) {
            if (r.events[k].type == QL_SIM_PURCHASE) swords[r.events[k].sword]++;
            if (r.kind == QL_SIM_BATCH && r.events[k].type == QL_SIM_DEFAULT) batch_ok = 0;
        }
        events += (uint64_t)r.nevents;
    }
    ok(sessions_ok, "every player's actions come after a GET / that opened the session");
    ok(longest <= 30, "sessions stay within 30 actions (longest %d)", longest);
    ok(expect_ok, "bad requests expect 404/400 and carry no events, good ones expect 200");
    ok(batch_ok, "batches hold 1..%d purchases/joins", QL_SIM_MAX_BATCH);
    double bad = (double)(kinds[QL_SIM_BAD_ROUTE] + kinds[QL_SIM_BAD_PARAM] + kinds[QL_SIM_BAD_JSON]) / n;
    ok(fabs(bad - 0.1) < 0.01, "bad ratio ~0.1 (%.4f)", bad);
    ok(kinds[QL_SIM_BAD_ROUTE] > 0 && kinds[QL_SIM_BAD_PARAM] > 0 && kinds[QL_SIM_BAD_JSON] > 0, "all three bad kinds");
    ok(kinds[QL_SIM_DEFAULT] > 0 && kinds[QL_SIM_PURCHASE] > 0 && kinds[QL_SIM_JOIN] > 0 && kinds[QL_SIM_BATCH] > 0,
       "all good kinds");
    ok(kinds[QL_SIM_PURCHASE] > kinds[QL_SIM_JOIN], "purchases outnumber joins");
    int skewed = 1;
    for (int s = 1; s < ql_sim_sword_count(); s++)
        if (swords[s] >= swords[s - 1]) skewed = 0;
    ok(skewed, "sword popularity falls along the catalogue (%llu … %llu)", (unsigned long long)swords[0],
       (unsigned long long)swords[ql_sim_sword_count() - 1]);
    ok(swords[0] > 3 * swords[ql_sim_sword_count() - 1], "Zipf-like skew: top sword > 3x the last");
    ok(batch_events > 0 && batch_events < events, "some events travel in batches (%llu of %llu)",
       (unsigned long long)batch_events, (unsigned long long)events);
    ok(price_ok, "prices");
    free(since_default);
    ql_sim_model_free(m);

    /* an event cap is met exactly, the last batch cut to fit */
    int exact = 1;
    for (uint64_t cap = 1; cap < 60; cap++) {
        m = model(cap, 3, 0.05, 0.9);
        uint64_t got = 0;
        while (got < cap) {
            ql_sim_model_next(m, &r, cap - got);
            got += r.kind >= QL_SIM_BAD_ROUTE ? 1 : (uint64_t)r.nevents;
        }
        if (got != cap) exact = 0;
        ql_sim_model_free(m);
    }
    ok(exact, "--events caps are met exactly");

    /* the HTTP rendering */
    m = model(1, 5, 0, 1.0);
    ql_buf_t h = QL_BUF_INIT;
    int seen_post = 0, post_ok = 1, get_ok = 1;
    for (int i = 0; i < 200; i++) {
        ql_sim_model_next(m, &r, UINT64_MAX);
        ql_buf_reset(&h);
        ql_sim_render_http(m, &r, "/api", &h);
        char host[64];
        snprintf(host, sizeof host, "\r\nHost: user%d.comcast.com\r\n", r.player);
        char pid[64];
        snprintf(pid, sizeof pid, "\r\nX-Player-Id: %d\r\n", r.player);
        if (!strstr(h.data, host) || !strstr(h.data, pid) || !strstr(h.data, "\r\nUser-Agent: ")) get_ok = 0;
        if (r.kind == QL_SIM_BATCH) {
            seen_post = 1;
            char *body = strstr(h.data, "\r\n\r\n");
            char *cl = strstr(h.data, "Content-Length: ");
            if (strncmp(h.data, "POST /api/events HTTP/1.1\r\n", 27) || !body || !cl ||
                strtoul(cl + 16, NULL, 10) != strlen(body + 4) || !strstr(h.data, "application/x-ndjson"))
                post_ok = 0;
            int lines = 0;
            for (char *p = body + 4, *nl; (nl = strchr(p, '\n')); p = nl + 1, lines++) {
                char err[64];
                if (ql_json_validate_object(p, (size_t)(nl - p), err, sizeof err) < 0) post_ok = 0;
            }
            if (lines != r.nevents) post_ok = 0;
        } else if (strncmp(h.data, "GET /api/", 9) || strcmp(h.data + h.len - 4, "\r\n\r\n")) {
            get_ok = 0;
        }
    }
    ok(get_ok, "requests carry Host userN.comcast.com, User-Agent, X-Player-Id, the prefix");
    ok(seen_post && post_ok, "batches are POST /events, NDJSON, one valid line per event, right Content-Length");
    ql_buf_free(&h);
    ql_sim_model_free(m);

    ql_sim_model_opts_t bado = {.players = 0};
    char err[128];
    ok(ql_sim_model_new(&m, &bado, err, sizeof err) < 0, "0 players refused");
    bado.players = 1;
    bado.bad_ratio = 1.0;
    ok(ql_sim_model_new(&m, &bado, err, sizeof err) < 0, "bad ratio 1 refused");
}

/* ---- pool against a loopback server ------------------------------------ */

/* Serves one connection at a time. Paths: /close answers with Connection:
 * close and closes; /drop closes without answering; /chunked answers chunked;
 * anything else 200 with a body. */
static int srv_fd;
static int srv_port;

static void test_engine(const char *url);

/* One connection: reads requests (headers + Content-Length body) and answers
 * each like a collector would. */
static void *serve_conn(void *arg)
{
    int c = (int)(intptr_t)arg;
    static __thread char buf[65536];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(c, buf + len, sizeof buf - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        buf[len] = '\0';
        for (;;) {
            char *end = strstr(buf, "\r\n\r\n");
            if (!end) break;
            size_t head = (size_t)(end + 4 - buf), body_len = 0;
            char *cl = strstr(buf, "Content-Length: ");
            if (cl && cl < end) body_len = strtoul(cl + 16, NULL, 10);
            if (len < head + body_len) break;
            char resp[256];
            const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
            int close_after = 0;
            if (!strncmp(buf, "GET /close ", 11)) {
                r = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nok\n";
                close_after = 1;
            } else if (!strncmp(buf, "GET /drop ", 10)) {
                r = NULL;
                close_after = 1;
            } else if (!strncmp(buf, "GET /chunked ", 13)) {
                r = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
            } else if (!strncmp(buf, "GET /teleport", 13)) {
                r = "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}";
            } else if (strstr(buf, "price=abc ")) {
                r = "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}";
            } else if (!strncmp(buf, "POST /events ", 13)) {
                int lines = 0, bad = 0;
                for (char *p = buf + head, *nl; p < buf + head + body_len && (nl = memchr(p, '\n', (size_t)(buf + head + body_len - p))); p = nl + 1) {
                    char err[64];
                    if (ql_json_validate_object(p, (size_t)(nl - p), err, sizeof err) < 0) bad = 1;
                    lines++;
                }
                if (bad) r = "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}";
                else {
                    char body[64];
                    int bl = snprintf(body, sizeof body, "{\"accepted\":%d,\"event_ids\":[]}", lines);
                    snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", bl, body);
                    r = resp;
                }
            }
            if (r && write(c, r, strlen(r)) < 0) close_after = 1;
            memmove(buf, buf + head + body_len, len - head - body_len);
            len -= head + body_len;
            buf[len] = '\0';
            if (close_after) goto out;
        }
    }
out:
    close(c);
    return NULL;
}

static void *server(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(srv_fd, NULL, NULL);
        if (c < 0) return NULL;
        pthread_t t;
        pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)c);
        pthread_detach(t);
    }
}

typedef struct got {
    int  n, status[16];
    char body[16][32];
    char error[16][64];
} got_t;

static void collect(void *ctx, void *udata, const ql_httpc_result_t *res)
{
    got_t *g = ctx;
    int i = (int)(intptr_t)udata;
    g->n++;
    g->status[i] = res->status;
    snprintf(g->body[i], sizeof g->body[i], "%.*s", (int)res->body_len, res->body ? res->body : "");
    snprintf(g->error[i], sizeof g->error[i], "%s", res->error ? res->error : "");
}

static void run_one(ql_httpc_pool_t *p, got_t *g, const char *path, int i)
{
    char req[128], err[128];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    ql_httpc_send(p, req, strlen(req), (void *)(intptr_t)i);
    int64_t until = ql_httpc_now_ns() + 5000000000LL;
    while (g->n <= i && ql_httpc_now_ns() < until) ql_httpc_poll(p, 100000000, err, sizeof err);
}

static void test_pool(void)
{
    srv_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(srv_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(srv_fd, 16) < 0 ||
        getsockname(srv_fd, (struct sockaddr *)&a, &al) < 0) {
        ok(0, "server socket");
        return;
    }
    srv_port = ntohs(a.sin_port);
    pthread_t t;
    pthread_create(&t, NULL, server, NULL);
    pthread_detach(t);

    char url[64], err[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", srv_port);
    ql_httpc_url_t u;
    ok(ql_httpc_url_parse(url, &u, err, sizeof err) == 0, "loopback URL");
    got_t g = {0};
    ql_httpc_pool_t *p;
    ok(ql_httpc_pool_new(&p, &u, 1, collect, &g, err, sizeof err) == 0, "pool of one connection");
    run_one(p, &g, "/a", 0);
    run_one(p, &g, "/b", 1);
    ok(g.status[0] == 200 && g.status[1] == 200 && !strcmp(g.body[1], "ok\n"), "two requests on one connection");
    is_int(ql_httpc_connects(p), 1, "kept alive: one connect");
    run_one(p, &g, "/chunked", 2);
    ok(g.status[2] == 201 && !strcmp(g.body[2], "abc"), "chunked body delivered (%s)", g.body[2]);
    run_one(p, &g, "/close", 3);
    run_one(p, &g, "/c", 4);
    ok(g.status[3] == 200 && g.status[4] == 200, "Connection: close, then a fresh connection");
    is_int(ql_httpc_connects(p), 2, "reconnected once");
    run_one(p, &g, "/drop", 5);
    ok(g.status[5] == 0 && strstr(g.error[5], "closed"), "a dropped request is an error, not retried (%s)",
       g.error[5]);
    run_one(p, &g, "/d", 6);
    is_int(g.status[6], 200, "and the next request works");
    is_int(g.n, 7, "one callback per request");
    is_int(ql_httpc_inflight(p), 0, "nothing in flight");
    ql_httpc_pool_free(p);
    test_engine(url);

    /* a refused connection is an error result: a port that was bound, never listened on, and closed */
    shutdown(srv_fd, SHUT_RDWR);  /* wakes the server thread's accept() */
    close(srv_fd);
    int tmp = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_port = 0;
    al = sizeof a;
    bind(tmp, (struct sockaddr *)&a, sizeof a);
    getsockname(tmp, (struct sockaddr *)&a, &al);
    close(tmp);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    ok(ql_httpc_url_parse(url, &u, err, sizeof err) == 0, "closed-port URL");
    got_t g2 = {0};
    ql_httpc_pool_new(&p, &u, 1, collect, &g2, err, sizeof err);
    run_one(p, &g2, "/x", 0);
    ok(g2.n == 1 && g2.status[0] == 0 && g2.error[0][0], "closed port: error result (n %d, status %d, %s)", g2.n, g2.status[0], g2.error[0]);
    ql_httpc_pool_free(p);

    /* the engine end to end: a run against nothing listening reports io errors */
    ql_sim_opts_t o = {.url = url, .model = {.seed = 1, .players = 10}, .max_requests = 20, .concurrency = 4,
                       .timeout_s = 5};
    ql_sim_stats_t st;
    ok(ql_sim_run(&o, &st, err, sizeof err) == 0, "engine runs against a closed port");
    ok(st.sent == 20 && st.io_errors == 20 && st.failed == 20 && st.succeeded == 0 && st.events == 0,
       "every request counted as failed with no response (sent %llu, io %llu)", (unsigned long long)st.sent,
       (unsigned long long)st.io_errors);
    ql_sim_stats_free(&st);
}

/* The engine against the loopback server: counts agree with the model's stream. */
static void test_engine(const char *url)
{
    char err[256];
    ql_sim_opts_t o = {.url = url, .model = {.seed = 5, .players = 30, .bad_ratio = 0.1, .batch_ratio = 0.3},
                       .max_requests = 600, .concurrency = 6, .timeout_s = 10};
    /* what the stream holds */
    ql_sim_model_t *m;
    ql_sim_model_new(&m, &o.model, err, sizeof err);
    uint64_t good_events = 0, bad = 0, s404 = 0, s400 = 0;
    ql_sim_request_t r;
    for (int i = 0; i < 600; i++) {
        ql_sim_model_next(m, &r, UINT64_MAX);
        if (r.kind >= QL_SIM_BAD_ROUTE) {
            bad++;
            if (r.expect_status == 404) s404++;
            else s400++;
        } else {
            good_events += (uint64_t)r.nevents;
        }
    }
    ql_sim_model_free(m);

    ql_sim_stats_t st;
    ok(ql_sim_run(&o, &st, err, sizeof err) == 0, "closed-loop run against the loopback server");
    ok(st.sent == 600 && st.completed == 600, "600 sent, 600 completed");
    ok(st.io_errors == 0, "no I/O errors (%s)", st.first_error);
    is_int(st.failed, bad, "failed == bad requests in the stream");
    ok(st.status[404] == s404 && st.status[400] == s400, "failures by status: 404 x%llu, 400 x%llu",
       (unsigned long long)s404, (unsigned long long)s400);
    is_int(st.bad_as_expected, bad, "each bad request got its expected status");
    is_int(st.events, good_events, "events == what the stream's good requests carried (batches by `accepted`)");
    is_int(st.batches_uncounted, 0, "every batch answer had an accepted count");
    is_int(st.latency->total, 600, "a latency per answered request");
    ok(st.connects >= 1 && st.connects <= 6, "at most one connection per slot (%llu)", (unsigned long long)st.connects);
    ql_buf_t j = QL_BUF_INIT;
    ql_sim_stats_json(&o, &st, &j);
    ok(ql_json_validate_object(j.data, j.len - 1, err, sizeof err) == 0, "--json output is one JSON object");
    ok(strstr(j.data, "\"sent\":600,") && strstr(j.data, "\"latency_ms\":{\"p50\":") &&
           strstr(j.data, "\"failed_by_status\":{\"400\":"), "--json has sent, latency_ms, failed_by_status");
    ql_buf_free(&j);
    ql_sim_stats_free(&st);

    /* open loop with a request limit: everything is sent, nothing missed */
    ql_sim_opts_t ol = {.url = url, .model = {.seed = 6, .players = 10, .batch_ratio = 0.2}, .max_events = 300,
                        .rate = 20000, .connections = 4, .timeout_s = 10};
    ok(ql_sim_run(&ol, &st, err, sizeof err) == 0, "open-loop run");
    ok(st.events_sent == 300 && st.events == 300 && st.missed == 0 && st.failed == 0,
       "open loop, --events 300: 300 events sent and accepted, none missed (sent %llu, accepted %llu, missed %llu)",
       (unsigned long long)st.events_sent, (unsigned long long)st.events, (unsigned long long)st.missed);
    ql_sim_stats_free(&st);
}

int main(void)
{
    test_hist();
    test_parser();
    test_model();
    test_pool();
    return tap_done();
}
