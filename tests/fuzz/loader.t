#!/usr/bin/env bash
# loader.t — runs the loader fuzz target (fuzz_loader: lines as log records
# through ql_loader_add, committed into a lake and read back) for ~10 s over
# the committed seeds and regression inputs in tests/fuzz/corpus/loader/.
. "$(dirname "$0")/../lib.sh"
fuzz_setup loader
cp "$ROOT"/tests/fuzz/corpus/loader/* "$corpus/"
fuzz_run loader "a crash, a loader error or a lost record" -max_len=2048 -dict="$ROOT/tests/fuzz/json.dict"
