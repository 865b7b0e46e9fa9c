#!/usr/bin/env bash
# event.t — runs the event-builder fuzz target (fuzz_event: query strings,
# headers, POST /events bodies) for ~10 s over tests/fuzz/corpus/event/.
. "$(dirname "$0")/../lib.sh"
fuzz_setup event
cp "$ROOT"/tests/fuzz/corpus/event/* "$corpus/"   # seeds and regression inputs
fuzz_run event "a crash or a broken event" -max_len=4096 -dict="$ROOT/tests/fuzz/json.dict"
