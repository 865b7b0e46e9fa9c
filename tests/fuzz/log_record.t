#!/usr/bin/env bash
# log_record.t — runs the log record decoder / recovery fuzz target
# (fuzz_log_record) for ~10 s over tests/fuzz/corpus/log_record/: a real
# five-record segment from logfill, torn and whole, the same with the
# CRC-recompute mode byte (0x40) in front, and regression inputs.
. "$(dirname "$0")/../lib.sh"
fuzz_setup log_record
cp "$ROOT"/tests/fuzz/corpus/log_record/* "$corpus/"
fuzz_run log_record "a crash, over-read or inconsistency" -max_len=2048
