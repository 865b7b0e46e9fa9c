#!/usr/bin/env bash
# parquet.t — runs the Parquet reader fuzz target (fuzz_parquet) for ~10 s,
# seeded with the small DuckDB-written files in tests/fuzz/corpus/parquet/.
. "$(dirname "$0")/../lib.sh"
fuzz_setup parquet
cp "$ROOT"/tests/fuzz/corpus/parquet/* "$corpus/"
fuzz_run parquet "a crash" -max_len=8192 -rss_limit_mb=2048 -dict="$ROOT/tests/fuzz/thrift.dict"
