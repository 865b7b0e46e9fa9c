#!/usr/bin/env bash
# bench/parquet.sh — questlog's Parquet writer against DuckDB's, same table,
# same run: 1M seed-like events, 8 columns (event_id UUIDv7, event_type,
# timestamp, Host ~1000 distinct, User-Agent, Accept, sword_type nullable,
# price nullable int64), ZSTD.
#
#   bash bench/parquet.sh [ROWS]        (default 1000000)
#
# questlog: `pqgen --bench` generates the rows in the loop and writes them
# (generation is included in its time). DuckDB: the same rows are loaded into
# an in-memory table first (not timed), then `COPY … (FORMAT parquet,
# COMPRESSION zstd)` is timed; its peak RSS includes node and the table.
# Wall-clock figures on a shared 2-core machine are noisy: CPU seconds
# (user+sys) are printed too.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROWS="${1:-1000000}"
BUILD="${QL_BUILD_DIR:-$ROOT/build}"
[ -x "$BUILD/tools/pqgen" ] || make -C "$ROOT" -s tools >/dev/null
if [ ! -x /usr/bin/time ]; then   # GNU time for peak RSS (also in tools/deps.sh)
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get install -y -qq time >/dev/null
fi
dir="$(mktemp -d "${TMPDIR:-/tmp}/questlog-bench.XXXXXX")"
trap 'rm -rf "$dir"' EXIT

run() {  # run NAME CMD… -> prints the command's JSON line + time(1) figures
    /usr/bin/time -f '{"rss_kb":%M,"cpu":%U,"sys":%S}' -o "$dir/$1.time" "${@:2}" > "$dir/$1.json"
}
run questlog "$BUILD/tools/pqgen" --bench "$ROWS" "$dir/questlog.parquet" zstd
run duckdb node "$ROOT/tests/interop/bench_duck_write.mjs" "$dir/questlog.parquet" "$dir/duckdb.parquet" 2

python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
r = {}
for name in ("questlog", "duckdb"):
    j = json.load(open(f"{d}/{name}.json"))
    t = json.load(open(f"{d}/{name}.time"))
    j.update(t)
    r[name] = j
    print(f"{name:9s} rows={j['rows']:>8d}  {j['rows']/j['seconds']:>12,.0f} rows/s  write {j['seconds']:.3f} s"
          f"  file {j['bytes']/1e6:6.2f} MB  peak RSS {t['rss_kb']/1024:6.1f} MB  process cpu {t['cpu']+t['sys']:.2f} s")
q, k = r["questlog"], r["duckdb"]
print(f"ratio     speed questlog/duckdb {k['seconds']/q['seconds']:.2f}x   file {q['bytes']/k['bytes']:.2f}x"
      f"   RSS {q['rss_kb']/k['rss_kb']:.3f}x  (noisy: shared 2-core machine)")
PY
