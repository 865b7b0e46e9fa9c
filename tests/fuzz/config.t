#!/usr/bin/env bash
# config.t — runs the config/catalog fuzz target (fuzz_config: INI text
# through the config parser, the catalog, the log options and the transform)
# for ~10 s over tests/fuzz/corpus/config/ (the default config and a small one).
. "$(dirname "$0")/../lib.sh"
fuzz_setup config
cp "$ROOT"/tests/fuzz/corpus/config/* "$corpus/"
fuzz_run config "a crash or a leak" -max_len=4096
