#!/usr/bin/env bash
# transform.t — runs the loader-transform fuzz target (fuzz_transform: log
# records as arbitrary bytes through extract, munge and routing) for ~10 s.
. "$(dirname "$0")/../lib.sh"
fuzz_setup transform
printf '{"event_type":"purchase_sword","Host":"h","Accept":"*/*","sword_type":"katana","weapon":"x","price":12}' > "$corpus/seed"
printf '{"event_type":"join_guild","event_id":"e","timestamp":"2026-11-20T10:00:00.5+02:00","k":"1","k":[1,{"a":null}]}' > "$corpus/dup"
printf '{"event_type":"a\\u00e9","e\\u0041":"x\\ny","n":-1.5e3,"t":true}  ' > "$corpus/escapes"
printf '{"event_type": "default", broken' > "$corpus/broken"
fuzz_run transform "a crash or a broken event" -max_len=2048
