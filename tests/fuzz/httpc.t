#!/usr/bin/env bash
# httpc.t — runs the HTTP response parser fuzz target (fuzz_httpc) for ~10 s.
. "$(dirname "$0")/../lib.sh"
fuzz_setup httpc
cp "$ROOT"/tests/fuzz/corpus/httpc/* "$corpus/"   # seeds and regression inputs
fuzz_run httpc "a crash" -max_len=4096
