/*
 * util.h — small helpers shared by every subsystem: a growable byte buffer,
 * wall-clock time, RFC 3339 timestamps, UUIDv7 ids, error text, and the
 * file-system steps of durable writes (fsync a directory, write-then-rename).
 *
 * Threads: every function here is safe to call from any thread; a ql_buf_t
 * belongs to one thread at a time.
 * Errors: functions that can fail return 0 on success and a negative value on
 * failure, with a message in the caller's `err` buffer (never NULL) — the
 * project-wide convention (see DESIGN.md).
 */
#ifndef QL_UTIL_H
#define QL_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define QL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- growable buffer --------------------------------------------------- */

/* A byte buffer that grows by doubling. `data`, once allocated (by an
 * append or ql_buf_reserve), is always NUL-terminated (the NUL is not
 * counted in `len`), so text can be used as a C string. Zero-initialised (QL_BUF_INIT) is a valid empty buffer. Allocation
 * failure aborts: questlog treats out-of-memory as fatal. */
typedef struct ql_buf {
    char  *data;
    size_t len;
    size_t cap;
} ql_buf_t;
#define QL_BUF_INIT {NULL, 0, 0}

void  ql_buf_reserve(ql_buf_t *b, size_t extra);          /* room for `extra` more bytes */
void  ql_buf_append(ql_buf_t *b, const void *p, size_t n);
void  ql_buf_putc(ql_buf_t *b, char c);
void  ql_buf_puts(ql_buf_t *b, const char *s);
void  ql_buf_printf(ql_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void  ql_buf_reset(ql_buf_t *b);                          /* len = 0, keeps memory */
void  ql_buf_free(ql_buf_t *b);                           /* frees, back to empty */
/* Gives up ownership of the bytes: caller frees the result with free(). */
char *ql_buf_steal(ql_buf_t *b);

/* Aborting allocators (out-of-memory is fatal in questlog). */
void *ql_malloc(size_t n);
void *ql_calloc(size_t n, size_t size);
void *ql_realloc(void *p, size_t n);
char *ql_strdup(const char *s);
char *ql_strndup(const char *s, size_t n);

/* ---- errors ------------------------------------------------------------ */

/* snprintf into err (if err && errlen) and return -1: `return ql_err(err, errlen, "...")`.
 * err's current message may be one of the arguments, to wrap it in context:
 * `ql_err(err, errlen, "table %s: %s", name, err)` (formatted aside first). */
int ql_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- time -------------------------------------------------------------- */

int64_t ql_now_us(void);        /* wall clock, microseconds since the Unix epoch (UTC) */
int64_t ql_monotonic_us(void);  /* CLOCK_MONOTONIC, microseconds */

/* Formats `us` as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (27 chars + NUL). */
#define QL_RFC3339_LEN 28
void ql_rfc3339_format(int64_t us, char out[QL_RFC3339_LEN]);
/* Parses an RFC 3339 date-time ("2026-11-21T20:43:05Z", fraction of up to
 * 9 digits, "Z" or "+hh:mm" offset; a space instead of 'T' is accepted).
 * Returns 0 and the UTC instant in *us, or -1 if `s` is not one. */
int ql_rfc3339_parse(const char *s, size_t len, int64_t *us);
/* "YYYY-MM-DD" (10 chars + NUL) of the UTC day containing `us`. */
void ql_date_format(int64_t us, char out[11]);

/* ---- ids --------------------------------------------------------------- */

/* A UUIDv7 (RFC 9562): 48-bit ms timestamp, then a per-process monotonic
 * counter and random bits, so ids sort by creation time within a process.
 * Writes 36 chars + NUL. Thread-safe. */
#define QL_UUID_LEN 37
void ql_uuidv7(int64_t now_us, char out[QL_UUID_LEN]);

/* "532 B", "21.7 MB", "1.2 GB": bytes in decimal units with one decimal
 * (none for plain bytes), for progress and summary lines. */
void ql_format_bytes(double bytes, char *out, size_t n);

/* ---- files ------------------------------------------------------------- */

int  ql_mkdir_p(const char *path, char *err, size_t errlen);       /* mkdir -p */
int  ql_fsync_dir(const char *dir, char *err, size_t errlen);      /* fsync a directory */
/* write(2) all of buf, retrying on EINTR and short writes; -1 with errno set. */
int  ql_write_all(int fd, const void *buf, size_t len);
/* The same with pwrite(2) at file offset `at` (the file offset is untouched). */
int  ql_pwrite_all(int fd, const void *buf, size_t len, uint64_t at);
/* Durable replace: write `path`.tmp, fsync, rename over `path`, fsync dir. */
int  ql_write_file_atomic(const char *path, const void *buf, size_t len, char *err, size_t errlen);
/* Reads a whole file into *out (NUL-terminated, caller frees). */
int  ql_read_file(const char *path, char **out, size_t *len, char *err, size_t errlen);

/* ---- text -------------------------------------------------------------- */

/* Parses "1048576", "64k", "16M", "1G" (binary multiples). 0 ok, -1 bad. */
int ql_parse_size(const char *s, uint64_t *out);
/* Parses "500ms", "5s", "10m", "2h", "7d" or a plain number of seconds into
 * ms. 0 ok, -1 bad. */
int ql_parse_duration_ms(const char *s, int64_t *out);

#endif
