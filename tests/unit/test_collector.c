/*
 * test_collector.c — the running collector (collector.c + http.c) against a
 * recording log: the key of every message it hands to the log is the
 * request's player (X-Player-Id, else Host), for route events and for every
 * event of a POST /events body; a 200 comes only after the log's done(0),
 * and a failed append gives a 503. With a slow log: a client that pipelines
 * more requests (here 300, ~30 KB, so h2o's input buffer must grow) or shuts
 * its sending side while its first request is parked still gets every
 * answer, in order (http.c keeps parked sockets polled without reading).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collector.h"
#include "config.h"
#include "tap.h"

/* A log that records each message's key and answers with `status`. */
typedef struct rec_log {
    ql_log_t        super;
    pthread_mutex_t mu;
    char            keys[16][64];
    int             nkeys;
    int             status;
    int             delay_ms;   /* > 0: done comes from another thread this much later */
    int             n_delayed;  /* ... for this many more appends */
} rec_log_t;

typedef struct later {
    ql_log_done_fn done;
    void          *arg;
    int            status, delay_ms;
} later_t;

static void *done_later(void *a)
{
    later_t *l = a;
    usleep((useconds_t)l->delay_ms * 1000);
    l->done(l->arg, l->status, -1, l->status ? "test failure" : NULL);
    free(l);
    return NULL;
}

static int rec_append(ql_log_t *log, const ql_log_msg_t *msgs, size_t n, ql_log_done_fn done, void *arg)
{
    rec_log_t *r = (rec_log_t *)log;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n && r->nkeys < 16; i++) {
        size_t kl = msgs[i].key_len < 63 ? msgs[i].key_len : 63;
        memcpy(r->keys[r->nkeys], msgs[i].key ? msgs[i].key : "", kl);
        r->keys[r->nkeys++][kl] = '\0';
    }
    int st = r->status, delay = r->n_delayed > 0 ? r->delay_ms : 0;
    if (delay) r->n_delayed--;
    pthread_mutex_unlock(&r->mu);
    if (delay > 0) {
        later_t *l = malloc(sizeof *l);
        *l = (later_t){done, arg, st, delay};
        pthread_t t;
        pthread_create(&t, NULL, done_later, l);
        pthread_detach(t);
        return 0;
    }
    done(arg, st, -1, st ? "test failure" : NULL);  /* may run on any thread */
    return 0;
}
static void rec_stats(ql_log_t *log, ql_log_stats_t *o)
{
    (void)log;
    memset(o, 0, sizeof *o);
}
static const ql_log_ops_t rec_ops = {rec_append, rec_stats, NULL};

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void write_all(int fd, const char *raw)
{
    size_t len = strlen(raw), off = 0;
    while (off < len) {
        ssize_t w = write(fd, raw + off, len - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
}

/* Reads until EOF; returns how many "HTTP/1.1 200 " answers came. */
static int count_200(int fd)
{
    ql_buf_t b = QL_BUF_INIT;
    char buf[8192];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) ql_buf_append(&b, buf, (size_t)r);
    int n = 0;
    for (const char *p = b.data; p && (p = memmem(p, b.len - (size_t)(p - b.data), "HTTP/1.1 200 ", 13)); p++) n++;
    ql_buf_free(&b);
    return n;
}

/* One HTTP/1.1 request on a new connection; returns the status code. */
static int request(int port, const char *raw)
{
    int fd = connect_to(port);
    if (fd < 0) return -1;
    write_all(fd, raw);
    char buf[4096];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)r;
    buf[got] = '\0';
    close(fd);
    int status = -1;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) return -1;
    return status;
}

int main(void)
{
    ql_config_t *cfg;
    ql_catalog_t *cat;
    char err[256];
    if (ql_config_load(&cfg, NULL, err, sizeof err) || ql_catalog_load(&cat, cfg, err, sizeof err))
        tap_bail("%s", err);
    rec_log_t log;
    memset(&log, 0, sizeof log);
    log.super.ops = &rec_ops;
    pthread_mutex_init(&log.mu, NULL);

    ql_collector_options_t o = {cat, &log.super, "127.0.0.1:0", 1, 1};
    ql_collector_t *c;
    if (ql_collector_start(&c, &o, err, sizeof err)) tap_bail("%s", err);
    int port = atoi(strrchr(ql_collector_address(c), ':') + 1);

    is_int(request(port, "GET /purchase_a_sword HTTP/1.1\r\nHost: user1.comcast.com\r\nConnection: close\r\n\r\n"),
           200, "route: 200 after done(0)");
    is_int(request(port, "GET /purchase_a_sword HTTP/1.1\r\nHost: user2.comcast.com\r\nX-Player-Id: 77\r\n"
                         "Connection: close\r\n\r\n"),
           200, "route with X-Player-Id: 200");
    const char *body = "{\"event_type\":\"join_guild\",\"guild_id\":\"g\"}\n{\"event_type\":\"default\"}\n";
    char raw[512];
    snprintf(raw, sizeof raw,
             "POST /events HTTP/1.1\r\nHost: user3.comcast.com\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             strlen(body), body);
    is_int(request(port, raw), 200, "POST /events with 2 events: 200");

    pthread_mutex_lock(&log.mu);
    is_int(log.nkeys, 4, "4 messages handed to the log");
    is_str(log.keys[0], "user1.comcast.com", "key = Host");
    is_str(log.keys[1], "77", "key = X-Player-Id when present");
    is_str(log.keys[2], "user3.comcast.com", "body event 1: key = Host");
    is_str(log.keys[3], "user3.comcast.com", "body event 2: the same key");
    log.status = QL_LOG_EIO;
    pthread_mutex_unlock(&log.mu);

    is_int(request(port, "GET /purchase_a_sword HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 503,
           "append failed: 503, not 200");

    /* a slow log: the next request stays parked ~100 ms */
    pthread_mutex_lock(&log.mu);
    log.status = 0;
    log.delay_ms = 100;
    log.n_delayed = 1;
    pthread_mutex_unlock(&log.mu);
    int fd = connect_to(port);
    write_all(fd, "GET /purchase_a_sword HTTP/1.1\r\nHost: p\r\n\r\n");
    usleep(30000);  /* the first request is parked now */
    ql_buf_t more = QL_BUF_INIT;
    for (int i = 0; i < 299; i++) ql_buf_puts(&more, "GET /purchase_a_sword?sword_type=katana HTTP/1.1\r\nHost: p\r\n\r\n");
    ql_buf_puts(&more, "GET /purchase_a_sword HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n");
    write_all(fd, more.data);
    ql_buf_free(&more);
    is_int(count_200(fd), 301, "pipelined while parked: all 301 answered 200");
    close(fd);

    pthread_mutex_lock(&log.mu);
    log.n_delayed = 1;
    pthread_mutex_unlock(&log.mu);
    fd = connect_to(port);
    write_all(fd, "GET /purchase_a_sword HTTP/1.1\r\nHost: p\r\n\r\n");
    usleep(30000);
    shutdown(fd, SHUT_WR);  /* EOF reaches the server while the request is parked */
    is_int(count_200(fd), 1, "client shut its side while parked: still answered 200");
    close(fd);

    ql_collector_stop(c);
    pthread_mutex_destroy(&log.mu);
    ql_catalog_free(cat);
    ql_config_free(cfg);
    return tap_done();
}
