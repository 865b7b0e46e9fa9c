#!/usr/bin/env bash
# parquet.t — runs the Parquet reader fuzz target (fuzz_parquet) for ~10 s,
# seeded with the small DuckDB-written files in tests/fuzz/corpus/parquet/.
. "$(dirname "$0")/../lib.sh"
bin="$QL_BUILD_DIR/fuzz/fuzz_parquet"
[ -x "$bin" ] || skip_all "fuzz_parquet not built (make fuzz needs clang)"
corpus="$tmpdir/corpus"
mkdir -p "$corpus"
cp "$ROOT"/tests/fuzz/corpus/parquet/*.parquet "$corpus/"
"$bin" -max_total_time=10 -max_len=8192 -rss_limit_mb=2048 -print_final_stats=0 \
    -artifact_prefix="$tmpdir/" "$corpus" > "$tmpdir/out" 2>&1
rc=$?
ok $rc "fuzz_parquet: 10 s without a crash"
[ $rc -eq 0 ] || tail -40 "$tmpdir/out" | sed 's/^/# /'
done_testing
