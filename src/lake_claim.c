/*
 * lake_claim.c — who may write to a lake: the partition claims of loaders
 * sharing a lake (LAKE/.partition-<label>.lock, ql_lake_claim_*), the
 * per-command locks (LAKE/.<name>.lock, ql_lake_lock) and the one log a
 * lake loads from (LAKE/.source, ql_lake_claim_source). Contracts in lake.h.
 *
 * Relies on invariant I7 (lake.c): every commit of partition P happens under
 * the flock of P's claim file and only while that file holds this loader's
 * token; the token needs no fsync (the flock ends with its holder). .source
 * keeps the record of loaded offsets (R, I1, I4) meaningful: offsets of
 * another log would be misread.
 */
#include "lake.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include "util.h"

/* ---- partition claims (several loaders on one lake) -------------------------- */

/* The process state letter of pid from /proc/PID/stat (the field after
 * the command name's closing parenthesis): 'T' stopped by a signal, 't'
 * stopped by a tracer (a debugger); 0 when it cannot be read. */
static char proc_state(long pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' ? rp[2] : 0;
}

/* Who holds the claim file fd, for messages: its token's pid (the last
 * claimant) and, when /proc says that process is stopped, that it is. */
static void claim_holder(int fd, char *who, size_t len)
{
    char holder[64] = "";
    ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
    long pid = n > 0 ? strtol(holder, NULL, 10) : 0;
    if (pid <= 0) {
        snprintf(who, len, "another process (a stopped or hung loader on this lake keeps it: resume or stop it)");
        return;
    }
    char st = proc_state(pid);
    if (st == 'T')
        snprintf(who, len, "loader pid %ld, which is STOPPED (state T in /proc/%ld/stat: SIGSTOP or ^Z; "
                 "`kill -CONT %ld` resumes it)", pid, pid, pid);
    else if (st == 't')
        snprintf(who, len, "loader pid %ld, which is STOPPED (state t in /proc/%ld/stat: a debugger)", pid, pid);
    else
        snprintf(who, len, "loader pid %ld (a stopped or hung loader on this lake keeps it: resume or stop that "
                 "process)", pid);
}

/* flock(LOCK_EX) on a claim file, saying on stderr every 10 s whom it is
 * waiting for: the holder is another loader committing a batch of the
 * partition (seconds at most) — or a stopped or hung one, which only the
 * user can see to. timeout_ms > 0: gives up after that long. Returns 0 with
 * the lock held, QL_LAKE_ETIMEDOUT (err names the holder), or -1. A
 * signal does not end the wait. */
static int lock_claim_waiting(int fd, int32_t partition, int64_t timeout_ms, char *err, size_t errlen)
{
    int64_t start = ql_monotonic_us(), next_note = start + 10 * 1000000ll;
    char who[320];
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            return ql_err(err, errlen, "cannot lock partition %d's claim in the lake: %s", (int)partition,
                          strerror(errno));
        int64_t now = ql_monotonic_us();
        if (timeout_ms > 0 && now - start >= timeout_ms * 1000) {
            claim_holder(fd, who, sizeof who);
            double secs = (double)(now - start) / 1e6;
            ql_err(err, errlen,
                   "gave up after %.*f s (claim timeout) waiting for partition %d's claim in the lake, "
                   "held by %s; nothing of partition %d committed",
                   secs < 10 ? 1 : 0, secs, (int)partition, who, (int)partition);
            return QL_LAKE_ETIMEDOUT;
        }
        if (now >= next_note) {
            claim_holder(fd, who, sizeof who);
            fprintf(stderr, "questlog: waiting %.0f s for partition %d's claim in the lake, held by %s\n",
                    (double)(now - start) / 1e6, (int)partition, who);
            next_note = now + 10 * 1000000ll;
        }
        usleep(20 * 1000);
    }
    return 0;
}

int ql_lake_claim_take(const char *lake_dir, int32_t partition, ql_lake_claim_t *c, char *err, size_t errlen)
{
    return ql_lake_claim_take_within(lake_dir, partition, 0, c, err, errlen);
}

int ql_lake_claim_take_within(const char *lake_dir, int32_t partition, int64_t timeout_ms, ql_lake_claim_t *c,
                              char *err, size_t errlen)
{
    static unsigned long seq;
    char path[4096], label[QL_LAKE_LABEL_MAX];
    c->fd = -1;
    c->token[0] = '\0';
    c->partition = partition;
    c->timeout_ms = timeout_ms;
    if (ql_mkdir_p(lake_dir, err, errlen)) return -1;
    ql_lake_partition_label(partition, label);
    if (snprintf(path, sizeof path, "%s/.partition-%s.lock", lake_dir, label) >= (int)sizeof path)
        return ql_err(err, errlen, "path too long");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ql_err(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    int r = lock_claim_waiting(fd, partition, timeout_ms, err, errlen);
    if (r) {
        close(fd);
        return r;
    }
    uint64_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd) rnd = (uint64_t)ql_now_us();
    int n = snprintf(c->token, sizeof c->token, "%ld %016" PRIx64 " %lu\n", (long)getpid(), rnd,
                     __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
    /* no fsync: a claim only has to outlive its process, and a crash of the
     * machine ends every claimant */
    if (ftruncate(fd, 0) != 0 || pwrite(fd, c->token, (size_t)n, 0) != n) {
        int e = errno;
        close(fd);
        c->token[0] = '\0';
        return ql_err(err, errlen, "cannot write '%s': %s", path, strerror(e));
    }
    c->fd = fd;
    return 0;
}

int ql_lake_claim_lock(ql_lake_claim_t *c, char *err, size_t errlen)
{
    if (c->fd < 0) return 1;
    /* The holder is another loader committing or claiming the partition
     * (short). A signal meanwhile — SIGTERM to a loader in its last commit;
     * cmd_load.c's handler has no SA_RESTART — must not fail the commit:
     * keep waiting; the caller looks at its stop flag afterwards. */
    if (c->timeout_ms > 0) {
        /* with a deadline: poll for the lock, the 10 s notes and the
         * timeout's error as while taking the claim */
        int r = lock_claim_waiting(c->fd, c->partition, c->timeout_ms, err, errlen);
        if (r) return r;
    } else {
        int r;
        while ((r = flock(c->fd, LOCK_EX)) != 0 && errno == EINTR) {}
        if (r != 0) return ql_err(err, errlen, "cannot lock a partition claim: %s", strerror(errno));
    }
    char buf[sizeof c->token];
    ssize_t n = pread(c->fd, buf, sizeof buf - 1, 0);
    if (n < 0) {
        int e = errno;
        flock(c->fd, LOCK_UN);
        return ql_err(err, errlen, "cannot read a partition claim: %s", strerror(e));
    }
    buf[n] = '\0';
    return strcmp(buf, c->token) ? 1 : 0;
}

void ql_lake_claim_unlock(ql_lake_claim_t *c)
{
    if (c->fd >= 0) flock(c->fd, LOCK_UN);
}

void ql_lake_claim_release(ql_lake_claim_t *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->token[0] = '\0';
}

/* ---- locks -------------------------------------------------------------------- */

int ql_lake_lock(const char *lake_dir, const char *name, int *fd, char *err, size_t errlen)
{
    char path[4096];
    *fd = -1;
    if (ql_mkdir_p(lake_dir, err, errlen)) return -1;
    if (snprintf(path, sizeof path, "%s/.%s.lock", lake_dir, name) >= (int)sizeof path)
        return ql_err(err, errlen, "path too long");
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) return ql_err(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = "";
        ssize_t n = pread(f, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        close(f);
        return ql_err(err, errlen, "another %s is running on lake '%s' (pid %ld): wait for it or stop it, or use another --lake",
                      name, lake_dir, strtol(buf, NULL, 10));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(f, 0) == 0 && pwrite(f, pid, (size_t)n, 0) < 0) { /* the pid is only informative */ }
    *fd = f;
    return 0;
}

/* ---- the log a lake loads from (lake.h) ---------------------------------- */

int ql_lake_claim_source(const char *lake_dir, const char *source, char *err, size_t errlen)
{
    char path[4096], tmp[4096], have[256];
    if (ql_mkdir_p(lake_dir, err, errlen)) return -1;
    snprintf(path, sizeof path, "%s/.source", lake_dir);
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, have, sizeof have - 1);
            close(fd);
            if (n < 0) return ql_err(err, errlen, "cannot read '%s': %s", path, strerror(errno));
            have[n] = '\0';
            have[strcspn(have, "\n")] = '\0';
            if (!strcmp(have, source)) return 0;
            return ql_err(err, errlen,
                          "the lake '%s' holds what was loaded from the %s, not from the %s: the offsets of two "
                          "logs would mix and events would be skipped (use another --lake or --data; %s)",
                          lake_dir, have, source, path);
        }
        if (errno != ENOENT) return ql_err(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        /* claim it: a complete, fsynced temp file linked into place (link
         * fails if another loader was first: then compare with its claim) */
        snprintf(tmp, sizeof tmp, "%s/.source-%ld.tmp", lake_dir, (long)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return ql_err(err, errlen, "cannot create '%s': %s", tmp, strerror(errno));
        int n = snprintf(have, sizeof have, "%s\n", source);
        int wrc = ql_pwrite_all(fd, have, (size_t)n, 0) || fsync(fd) ? -1 : 0;
        int werr = errno;
        close(fd);
        if (wrc) {
            unlink(tmp);
            return ql_err(err, errlen, "cannot write '%s': %s", tmp, strerror(werr));
        }
        int lrc = link(tmp, path), lerr = errno;
        unlink(tmp);
        if (lrc == 0) return ql_fsync_dir(lake_dir, err, errlen);
        if (lerr != EEXIST) return ql_err(err, errlen, "cannot create '%s': %s", path, strerror(lerr));
    }
    return ql_err(err, errlen, "cannot claim '%s'", path);
}
