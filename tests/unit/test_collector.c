/*
 * test_collector.c — the running collector (collector.c + http.c) against a
 * recording log: the key of every message it hands to the log is the
 * request's player (X-Player-Id, else Host), for route events and for every
 * event of a POST /events body; a 200 comes only after the log's done(0),
 * and a failed append gives a 503.
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
} rec_log_t;

static int rec_append(ql_log_t *log, const ql_log_msg_t *msgs, size_t n, ql_log_done_fn done, void *arg)
{
    rec_log_t *r = (rec_log_t *)log;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n && r->nkeys < 16; i++) {
        size_t kl = msgs[i].key_len < 63 ? msgs[i].key_len : 63;
        memcpy(r->keys[r->nkeys], msgs[i].key ? msgs[i].key : "", kl);
        r->keys[r->nkeys++][kl] = '\0';
    }
    int st = r->status;
    pthread_mutex_unlock(&r->mu);
    done(arg, st, -1, st ? "test failure" : NULL);  /* may run on any thread */
    return 0;
}
static void rec_stats(ql_log_t *log, ql_log_stats_t *o)
{
    (void)log;
    memset(o, 0, sizeof *o);
}
static const ql_log_ops_t rec_ops = {rec_append, rec_stats, NULL};

/* One HTTP/1.1 request on a new connection; returns the status code. */
static int request(int port, const char *raw)
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
    size_t len = strlen(raw), off = 0;
    while (off < len) {
        ssize_t w = write(fd, raw + off, len - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
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
    if (ql_config_load(&cfg, NULL, err, sizeof err) || ql_catalog_load(&cat, cfg, err, sizeof err)) {
        printf("Bail out! %s\n", err);
        return 1;
    }
    rec_log_t log;
    memset(&log, 0, sizeof log);
    log.super.ops = &rec_ops;
    pthread_mutex_init(&log.mu, NULL);

    ql_collector_options_t o = {cat, &log.super, "127.0.0.1:0", 1, 1};
    ql_collector_t *c;
    if (ql_collector_start(&c, &o, err, sizeof err)) {
        printf("Bail out! %s\n", err);
        return 1;
    }
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

    ql_collector_stop(c);
    pthread_mutex_destroy(&log.mu);
    ql_catalog_free(cat);
    ql_config_free(cfg);
    return tap_done();
}
