#!/usr/bin/env bash
# bench/parquet_read.sh — questlog's Parquet reader against DuckDB's, same
# files, same run: 1M seed-like events (8 columns, written by questlog's
# `pqgen --bench`, ZSTD) and the same rows rewritten by DuckDB (its default
# V1 pages, ZSTD). Every column of every row group is decoded.
#
#   bash bench/parquet_read.sh [ROWS]        (default 1000000)
#
# questlog: tests/tools/pq_scan (one thread) opens each file, decodes every
# column into flat arrays and folds the values into a checksum; best of 3.
# DuckDB: `SELECT sum(…) over every column` (sum of string lengths, of
# integers, of epoch µs, …) in-process with 2 threads, after a warm-up run;
# best of 3 (tests/interop/duck_time.mjs). Both include footer parsing.
# Wall-clock figures on a shared 2-core machine are noisy.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROWS="${1:-1000000}"
BUILD="${QL_BUILD_DIR:-$ROOT/build}"
[ -x "$BUILD/tools/pqgen" ] && [ -x "$BUILD/tools/pq_scan" ] || make -C "$ROOT" -s tools >/dev/null
dir="$(mktemp -d "${TMPDIR:-/tmp}/questlog-bench.XXXXXX")"
trap 'rm -rf "$dir"' EXIT
duck() { node "$ROOT/tests/interop/duck.mjs" "$@"; }

"$BUILD/tools/pqgen" --bench "$ROWS" "$dir/questlog.parquet" zstd > /dev/null
duck "COPY (SELECT * FROM '$dir/questlog.parquet') TO '$dir/duckdb.parquet' (FORMAT parquet, COMPRESSION zstd)" > /dev/null
# A query that makes DuckDB decode every value of every column.
sql=$(duck "DESCRIBE SELECT * FROM '$dir/questlog.parquet'" | python3 -c '
import json, sys
parts = []
for line in sys.stdin:
    c = json.loads(line); n = "\"" + c["column_name"] + "\""; t = c["column_type"]
    if t in ("VARCHAR", "BLOB"): parts.append(f"sum(length({n}))")
    elif t.startswith("TIMESTAMP"): parts.append(f"sum(epoch_us({n}))")
    elif t == "BOOLEAN": parts.append(f"sum({n}::INT)")
    else: parts.append(f"sum({n})")
print("SELECT " + ", ".join(parts))')

for f in questlog duckdb; do
  q=$("$BUILD/tools/pq_scan" "$dir/$f.parquet")
  d=$(node "$ROOT/tests/interop/duck_time.mjs" "$sql FROM '$dir/$f.parquet'")
  python3 - "$f" "$q" "$d" "$(stat -c %s "$dir/$f.parquet")" <<'PY'
import json, sys
name, q, d, size = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
rows = q["rows"]
print(f"file written by {name:8s} ({rows} rows, {size/1e6:.1f} MB): "
      f"questlog {q['ms']:7.1f} ms ({rows/q['ms']/1e3:5.2f} M rows/s, 1 thread)   "
      f"DuckDB {d['ms']:7.1f} ms (2 threads)   questlog/DuckDB time ratio {q['ms']/d['ms']:.2f}")
PY
done
