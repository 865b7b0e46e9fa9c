/*
 * tap.h — a tiny TAP producer for the C unit tests (run by `prove`).
 *
 *   ok(cond, "name %d", i);  is_int(got, want, "name");  is_str(got, want, "name");
 *   return tap_done();       prints the plan, exit status 1 if anything failed
 *   tap_bail("why %s", s);   a fixture cannot be set up: "Bail out!", exit 1
 */
#ifndef QL_TAP_H
#define QL_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static void tap_vreport(int pass, const char *fmt, va_list ap)
{
    tap_n++;
    if (!pass) tap_failed++;
    printf("%sok %d - ", pass ? "" : "not ", tap_n);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

static inline int __attribute__((format(printf, 2, 3))) ok(int pass, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vreport(pass, fmt, ap);
    va_end(ap);
    return pass;
}

#define is_int(got, want, ...)                                                          \
    do {                                                                                \
        long long g_ = (long long)(got), w_ = (long long)(want);                        \
        if (!ok(g_ == w_, __VA_ARGS__)) printf("#   got %lld, want %lld\n", g_, w_);     \
    } while (0)

#define is_str(got, want, ...)                                                          \
    do {                                                                                \
        const char *g_ = (got), *w_ = (want);                                           \
        int p_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_;                           \
        if (!ok(p_, __VA_ARGS__))                                                       \
            printf("#   got '%s'\n#  want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)

static inline void diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static inline void __attribute__((noreturn, format(printf, 1, 2))) tap_bail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("Bail out! ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    exit(1);
}

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
