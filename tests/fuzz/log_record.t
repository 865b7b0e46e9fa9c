#!/usr/bin/env bash
# log_record.t — runs the log record decoder / recovery fuzz target
# (fuzz_log_record) for ~10 s, seeded with a real segment from logfill.
. "$(dirname "$0")/../lib.sh"
fuzz_setup log_record
if [ -x "$QL_BUILD_DIR/tools/logfill" ]; then
    "$QL_BUILD_DIR/tools/logfill" "$tmpdir/log" 5 && cp "$tmpdir/log/00000000000000000000.log" "$corpus/five"
    head -c 100 "$corpus/five" > "$corpus/torn"
    { printf '\x40'; cat "$corpus/five"; } > "$corpus/five-fixcrc"   # bit 6: CRCs recomputed
fi
cp "$ROOT"/tests/fuzz/corpus/log_record/* "$corpus/"   # seeds and regression inputs
fuzz_run log_record "a crash, over-read or inconsistency" -max_len=2048
