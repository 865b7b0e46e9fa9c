#!/usr/bin/env bash
# transform.t — runs the loader-transform fuzz target (fuzz_transform: log
# records as arbitrary bytes through extract, munge and routing) for ~10 s.
. "$(dirname "$0")/../lib.sh"
fuzz_setup transform
cp "$ROOT"/tests/fuzz/corpus/transform/* "$corpus/"   # seeds and regression inputs
fuzz_run transform "a crash or a broken event" -max_len=2048 -dict="$ROOT/tests/fuzz/json.dict"
