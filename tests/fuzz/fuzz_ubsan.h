/*
 * fuzz_ubsan.h — included by every fuzz target (once, in its .c file): the
 * fuzz build compiles UBSan in recover mode, so without this an undefined-
 * behaviour report is only printed and the target goes on, and neither the
 * 10 s runners nor a campaign count it. With halt_on_error it aborts like
 * an ASan report: libFuzzer keeps the input as a crash artifact.
 */
#ifndef QL_FUZZ_UBSAN_H
#define QL_FUZZ_UBSAN_H
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }
#endif
