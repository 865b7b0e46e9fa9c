#!/usr/bin/env bash
# thrift.t — runs the Thrift compact decoder / page decompressor fuzz target
# (fuzz_thrift) for ~10 s over tests/fuzz/corpus/thrift/: a questlog Parquet
# footer (from pqgen types) behind mode bytes 0 and 1, a gzip and a plain page
# (mode 2 + codec), and regression inputs.
. "$(dirname "$0")/../lib.sh"
fuzz_setup thrift
cp "$ROOT"/tests/fuzz/corpus/thrift/* "$corpus/"
fuzz_run thrift "a crash" -max_len=8192 -dict="$ROOT/tests/fuzz/thrift.dict"
