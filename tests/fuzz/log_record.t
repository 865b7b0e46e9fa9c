#!/usr/bin/env bash
# log_record.t — runs the log record decoder / recovery fuzz target
# (fuzz_log_record) for ~10 s, seeded with a real segment from logfill.
. "$(dirname "$0")/../lib.sh"
bin="$QL_BUILD_DIR/fuzz/fuzz_log_record"
[ -x "$bin" ] || skip_all "fuzz_log_record not built (make fuzz needs clang)"
corpus="$tmpdir/corpus"
mkdir -p "$corpus"
if [ -x "$QL_BUILD_DIR/tools/logfill" ]; then
    "$QL_BUILD_DIR/tools/logfill" "$tmpdir/log" 5 && cp "$tmpdir/log/00000000000000000000.log" "$corpus/five"
    head -c 100 "$corpus/five" > "$corpus/torn"
    { printf '\x40'; cat "$corpus/five"; } > "$corpus/five-fixcrc"   # bit 6: CRCs recomputed
fi
printf '\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' > "$corpus/short"
"$bin" -max_total_time=10 -max_len=2048 -print_final_stats=0 -artifact_prefix="$tmpdir/" "$corpus" > "$tmpdir/out" 2>&1
rc=$?
ok $rc "fuzz_log_record: 10 s without a crash, over-read or inconsistency"
[ $rc -eq 0 ] || tail -30 "$tmpdir/out" | sed 's/^/# /'
done_testing
