#!/usr/bin/env bash
# campaign.sh — one long libFuzzer campaign of a questlog fuzz target, the way
# docs/fuzzing.md's campaigns were run: niced, one job, one worker (the
# machine is shared), seeded from tests/fuzz/corpus/TARGET/, with the
# target's max_len and dictionary. The growing corpus and any crash/leak/
# timeout artifacts stay in OUT (default /tmp/ql-fuzz/TARGET); libFuzzer's
# log is OUT/fuzz-0.log (execs/s, cov, ft, corpus size in its last lines).
#
#   make fuzz tools && tests/fuzz/campaign.sh TARGET [SECONDS=600] [OUT]
#
# Replay a finding:     build/fuzz/fuzz_TARGET OUT/art/crash-…
# Minimize it:          build/fuzz/fuzz_TARGET -minimize_crash=1 -runs=20000 OUT/art/crash-…
# Then keep it as tests/fuzz/corpus/TARGET/regress-NAME (the ~10 s runner replays it).
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
t="${1:?usage: campaign.sh TARGET [SECONDS] [OUT]}"
secs="${2:-600}"
out="${3:-/tmp/ql-fuzz/$t}"
bin="$ROOT/build/fuzz/fuzz_$t"
[ -x "$bin" ] || { echo "campaign.sh: $bin not built (make fuzz)" >&2; exit 2; }
json="-dict=$ROOT/tests/fuzz/json.dict" thrift="-dict=$ROOT/tests/fuzz/thrift.dict"
case "$t" in
    event)      flags=(-max_len=4096 "$json") ;;
    transform)  flags=(-max_len=2048 "$json") ;;
    loader)     flags=(-max_len=4096 "$json") ;;
    log_record) flags=(-max_len=4096) ;;
    parquet)    flags=(-max_len=8192 -rss_limit_mb=2048 "$thrift") ;;
    thrift)     flags=(-max_len=8192 "$thrift") ;;
    *)          flags=(-max_len=4096) ;;
esac
mkdir -p "$out/corpus" "$out/art"
cp -n "$ROOT/tests/fuzz/corpus/$t/"* "$out/corpus/" 2>/dev/null
cd "$out" || exit 2
nice -n 19 "$bin" -jobs=1 -workers=1 -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$out/art/" "${flags[@]}" "$out/corpus"
rc=$?
tail -3 "$out/fuzz-0.log"
ls "$out/art"
exit $rc
