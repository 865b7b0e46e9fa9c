/*
 * logwrite.c — test helper: appends each line of stdin, byte for byte, as one
 * record of the embedded log in DIR through the log API (ql_log_append), so
 * tests can put records the collector would never write (broken JSON, events
 * from other producers) into the log. Lines go in appends of up to 512
 * records (in order). Waits until every record is durable.
 *
 *   logwrite DIR < lines
 *
 * Exit 0 when every append succeeded, 1 otherwise.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int pending, failures;

static void done(void *arg, int status, int64_t first, const char *errmsg)
{
    (void)arg; (void)first;
    pthread_mutex_lock(&mu);
    if (status != 0) {
        failures++;
        fprintf(stderr, "logwrite: append failed: %s\n", errmsg ? errmsg : "?");
    }
    pending--;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: logwrite DIR < lines\n");
        return 2;
    }
    char err[256];
    ql_log_t *log;
    ql_log_options_t o = {.quiet = 1};
    if (ql_log_open_embedded(&log, argv[1], &o, err, sizeof err)) {
        fprintf(stderr, "logwrite: %s\n", err);
        return 1;
    }
    enum { BATCH = 512 };
    char *lines[BATCH];
    ql_log_msg_t msgs[BATCH];
    size_t k = 0;
    int eof = 0;
    while (!eof && !failures) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, stdin);
        if (n > 0) {
            if (line[n - 1] == '\n') n--;
            lines[k] = line;
            msgs[k] = (ql_log_msg_t){.value = line, .value_len = (size_t)n};
            k++;
        } else {
            free(line);
            eof = 1;
        }
        if (k == BATCH || (eof && k)) {
            pthread_mutex_lock(&mu);
            pending++;
            pthread_mutex_unlock(&mu);
            if (ql_log_append(log, msgs, k, done, NULL) != 0) {
                fprintf(stderr, "logwrite: append refused\n");
                failures++;
                pthread_mutex_lock(&mu);
                pending--;
                pthread_mutex_unlock(&mu);
            }
            pthread_mutex_lock(&mu);
            while (pending > 0) pthread_cond_wait(&cv, &mu);
            pthread_mutex_unlock(&mu);
            for (size_t i = 0; i < k; i++) free(lines[i]);
            k = 0;
        }
    }
    ql_log_close(log);
    return failures ? 1 : 0;
}
