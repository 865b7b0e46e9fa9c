#!/usr/bin/env bash
# bench/load.sh — the loader's throughput against DuckDB's, same input, same
# run: N seed-like events (bench/gen_events.py, deterministic) as JSON lines
# into Parquet with ZSTD.
#   questlog: `questlog import` — transform + route into TWO tables per event
#             (extracted_events + the event's own table), zstd, 2 workers.
#   DuckDB:   COPY (SELECT * FROM read_json_auto(FILE)) TO … (FORMAT parquet,
#             COMPRESSION zstd), 2 threads (node, tests/interop).
# Prints events/s, peak RSS (/usr/bin/time), bytes on disk (questlog's
# extracted_events alone vs DuckDB's single file) and the ratios; then
# `questlog up` freshness: event accepted (HTTP 200) → visible to
# `questlog query`, p50/p99 over a few hundred events.
#
#   bash bench/load.sh [EVENTS]     (default 1000000)
#
# Figures on a shared 2-core machine are noisy; CPU seconds are printed too.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N="${1:-1000000}"
QL="${QL_BIN:-$ROOT/questlog}"
[ -x "$QL" ] || make -C "$ROOT" -s >/dev/null
[ -x /usr/bin/time ] || { echo "bench/load.sh: /usr/bin/time missing (make deps)" >&2; exit 1; }
dir="$(mktemp -d "${TMPDIR:-/tmp}/questlog-bench-load.XXXXXX")"
up_pid=
trap '[ -n "$up_pid" ] && kill "$up_pid" 2>/dev/null; rm -rf "$dir"' EXIT

echo "generating $N events ..."
python3 "$ROOT/bench/gen_events.py" "$N" > "$dir/events.jsonl"
size=$(stat -c %s "$dir/events.jsonl")
echo "input: $N events, $((size / 1000000)) MB of JSON lines"

t() {  # t NAME CMD…
    local s e
    s=$(date +%s.%N)
    /usr/bin/time -f '%M %U %S' -o "$dir/$1.time" "${@:2}" > /dev/null 2> "$dir/$1.err" || { cat "$dir/$1.err" >&2; exit 1; }
    e=$(date +%s.%N)
    echo "$s $e" > "$dir/$1.wall"
}
t questlog "$QL" import -q --workers 2 --lake "$dir/lake" "$dir/events.jsonl"
# DuckDB in node: the COPY statement's own time is printed too (node and
# DuckDB start-up excluded), so both ratios can be given.
cat > "$dir/duck_copy.mjs" <<JS
import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const conn = await db.connect();
const t0 = process.hrtime.bigint();
await conn.run("COPY (SELECT * FROM read_json_auto('$dir/events.jsonl')) TO '$dir/duck.parquet' (FORMAT parquet, COMPRESSION zstd)");
console.error(Number(process.hrtime.bigint() - t0) / 1e9);
JS
ln -s "$ROOT/tests/interop/node_modules" "$dir/node_modules"
t duckdb node "$dir/duck_copy.mjs"
qbytes=$(du -sb "$dir/lake/extracted_events" | cut -f1)
qall=$(du -sb --exclude='.*' "$dir/lake" | cut -f1)
dbytes=$(stat -c %s "$dir/duck.parquet")
rows=$(node "$ROOT/tests/interop/duck.mjs" "select count(*) as n from read_parquet('$dir/lake/extracted_events/*/*.parquet')" | sed 's/.*:\([0-9]*\).*/\1/')
[ "$rows" = "$N" ] || { echo "bench/load.sh: questlog wrote $rows rows, expected $N" >&2; exit 1; }

python3 - "$dir" "$N" "$qbytes" "$qall" "$dbytes" <<'PY'
import sys
d, n, qb, qa, db = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
r = {}
for k in ("questlog", "duckdb"):
    rss, u, s = open(f"{d}/{k}.time").read().split()
    a, b = map(float, open(f"{d}/{k}.wall").read().split())
    r[k] = dict(secs=b - a, rss=int(rss) / 1024, cpu=float(u) + float(s))
q, k = r["questlog"], r["duckdb"]
stmt = float(open(f"{d}/duckdb.err").read().split()[-1])
print(f"questlog import  {n / q['secs']:>11,.0f} events/s  {q['secs']:6.2f} s  cpu {q['cpu']:5.2f} s  "
      f"peak RSS {q['rss']:6.1f} MB  extracted_events {qb / 1e6:6.2f} MB  (all tables {qa / 1e6:.2f} MB)")
print(f"duckdb COPY      {n / k['secs']:>11,.0f} events/s  {k['secs']:6.2f} s  cpu {k['cpu']:5.2f} s  "
      f"peak RSS {k['rss']:6.1f} MB  file {db / 1e6:6.2f} MB  (COPY statement alone {stmt:.2f} s, "
      f"{n / stmt:,.0f} events/s)")
print(f"ratio questlog/duckdb: speed {k['secs'] / q['secs']:.2f}x process, {stmt / q['secs']:.2f}x vs the COPY "
      f"statement alone (target >= 1.5x)  RSS {q['rss'] / k['rss']:.2f}x (target <= 0.25x)  "
      f"bytes {qb / db:.2f}x (target <= 1.2x)  cpu {q['cpu'] / k['cpu']:.2f}x")
PY

# ---- up freshness: accepted -> visible to a query -------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$QL" up -q --data "$dir/up" --listen "127.0.0.1:$port" > "$dir/up.out" 2>&1 &
up_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
if ! kill -0 "$up_pid" 2>/dev/null; then
    echo "up freshness: questlog up did not start:"; cat "$dir/up.out"; up_pid=; exit 1
fi
python3 - "$QL" "$dir/up/lake" "$port" <<'PY'
import subprocess, sys, threading, time, urllib.request
ql, lake, port = sys.argv[1], sys.argv[2], sys.argv[3]
N, sent, seen, done = 200, {}, {}, threading.Event()
def send():
    try:
        for i in range(N):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/purchase_a_sword?sword_type=fresh{i}", timeout=5).read()
            sent[i] = time.time()
            time.sleep(0.02)
    except Exception as e:
        print(f"up freshness: sending failed: {e}", file=sys.stderr)
    finally:
        done.set()
th = threading.Thread(target=send)
th.start()
deadline = None
while True:
    out = subprocess.run([ql, "query", "--lake", lake, "--format", "csv",
                          "select sword_type from purchases where sword_type like 'fresh%'"],
                         capture_output=True, text=True).stdout
    now = time.time()
    for line in out.split("\n")[1:]:
        if line.startswith("fresh"):
            seen.setdefault(int(line[5:]), now)
    if len(seen) >= N: break
    if done.is_set():
        deadline = deadline or now + 10
        if now > deadline: break
    time.sleep(0.05)
th.join()
lat = sorted(seen[i] - sent[i] for i in seen if i in sent)
if len(lat) < len(sent) or not sent:
    print(f"up freshness: only {len(lat)}/{N} events became visible", file=sys.stderr)
    sys.exit(1)
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"up freshness (accepted -> visible to questlog query, flush 1 s, poll 50 ms): "
      f"p50 {p(0.5) * 1000:.0f} ms  p99 {p(0.99) * 1000:.0f} ms  max {lat[-1] * 1000:.0f} ms  ({N} events)")
PY
kill -INT "$up_pid"; wait "$up_pid" || true; up_pid=
