#!/usr/bin/env bash
# lake_full.t — the lake's disk full, the log's not: nothing accepted is lost.
# `load --once` into a lake on a 200 KiB tmpfs stops with an error naming the
# table and the disk error; what it committed before is readable and exact
# (DuckDB sees no half-written file); once there is room it loads the rest,
# each event once. `up` keeps answering 200 while its loader cannot write:
# the loader retries with a back-off (stderr, /metrics), and catches up,
# exactly, when room comes back; so does `load` when it follows the log.
# Needs root to mount a tmpfs (skipped otherwise).
. "$(dirname "$0")/../lib.sh"

mnt="$tmpdir/small"
mkdir -p "$mnt"
mount -t tmpfs -o size=200k tmpfs "$mnt" 2>/dev/null || skip_all "cannot mount a tmpfs (needs root)"
trap 'for p in "${_bg_pids[@]:-}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; umount "$mnt"; rm -rf "$tmpdir"' EXIT

# 10 000 events without the server's reserved fields, in 10 NDJSON bodies
python3 "$ROOT/bench/gen_events.py" 10000 --start 2026-11-20T10:00:00Z | python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l); d.pop("event_id"); d.pop("timestamp"); print(json.dumps(d))' > "$tmpdir/post.jsonl"
split -l 1000 -d "$tmpdir/post.jsonl" "$tmpdir/body."
post_all() {   # post_all PORT: prints the status of each of the 10 bodies
    for b in "$tmpdir"/body.*; do
        curl -s -o /dev/null -w '%{http_code} ' -X POST -H 'Content-Type: application/x-ndjson' \
             --data-binary @"$b" "http://127.0.0.1:$1/events"
    done
}
count() { duck "select count(*) n, count(distinct event_id) d from read_parquet('$1/extracted_events/*/*.parquet')" 2>/dev/null; }

# ---- load --once into a full lake ----
serve_bg "$tmpdir/data"    # sets port and serve_pid
is "$(post_all "$port")" "200 200 200 200 200 200 200 200 200 200 " "serve accepts the 10 bodies (log on the normal disk)"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null

"$QL" load --once -q --batch-rows 2000 --data "$tmpdir/data" --lake "$mnt/lake" 2> "$tmpdir/load.err"
rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "load into the full lake fails (exit $rc)"
grep -q "table [a-z_]*, dt=[0-9-]*: .*No space left on device (this batch is not committed)" "$tmpdir/load.err"
ok $? "the error names the table and the disk error: $(head -c 200 "$tmpdir/load.err")"
part=$(count "$mnt/lake")
n=$("$QL" query --lake "$mnt/lake" --format csv "select count(*) from extracted_events" 2>/dev/null | tail -1)
is "$part" "{\"n\":${n:-0},\"d\":${n:-0}}" "what was committed is readable and exact, DuckDB and questlog agree ($n rows)"
is "$(find "$mnt/lake" -name '*.tmp' | wc -l)" 0 "no temp file is left behind"

mount -o remount,size=16m "$mnt"
"$QL" load --once -q --batch-rows 2000 --data "$tmpdir/data" --lake "$mnt/lake"
ok $? "with room again, load --once finishes"
is "$(count "$mnt/lake")" '{"n":10000,"d":10000}' "every event once"

# ---- up keeps collecting while its lake is full ----
rm -rf "$mnt/lake"
mount -o remount,size=200k "$mnt"
ok $? "the lake's disk is 200 KiB again"
port=$(free_port)
"$QL" up --data "$tmpdir/updata" --lake "$mnt/lake2" --listen "127.0.0.1:$port" --flush-interval 200ms \
     > /dev/null 2> "$tmpdir/up.err" &
up=$!
_bg_pids+=($up)
wait_port "$port"
ok $? "up listens (lake on the 200 KiB tmpfs)"
is "$(post_all "$port")" "200 200 200 200 200 200 200 200 200 200 " "every body gets a 200 while the lake fills up"
wait_for -t 30 grep -q "retrying in" "$tmpdir/up.err"
ok $? "the loader says it failed and will retry: $(grep -m1 'retrying in' "$tmpdir/up.err" | head -c 250)"
metrics=$(curl -s "http://127.0.0.1:$port/metrics")
grep -q '^questlog_loader_restarts_total [1-9]' <<<"$metrics"
ok $? "/metrics counts the restarts"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/purchase_a_sword")" 200 "the collector still answers"

mount -o remount,size=16m "$mnt"
caught_up() { [ "$(count "$mnt/lake2")" = '{"n":10001,"d":10001}' ]; }
wait_for -t 60 caught_up
ok $? "with room again the loader catches up: $(count "$mnt/lake2")"
grep -q '^questlog_loader_running 1' <<<"$(curl -s "http://127.0.0.1:$port/metrics")"
ok $? "/metrics: the loader runs again"
kill -TERM "$up"
wait "$up"
is "$?" 0 "up stops cleanly"
is "$(count "$mnt/lake2")" '{"n":10001,"d":10001}' "every accepted event in the lake, once"

# ---- load, following, waits for room the same way ----
rm -rf "$mnt/lake2"
mount -o remount,size=200k "$mnt"
"$QL" load --data "$tmpdir/data" --lake "$mnt/lake3" --flush-interval 200ms -q 2> "$tmpdir/load3.err" &
ld=$!
_bg_pids+=($ld)
wait_for -t 30 grep -q "retrying in" "$tmpdir/load3.err"
ok $? "load (following) retries instead of exiting: $(grep -m1 'retrying in' "$tmpdir/load3.err" | head -c 200)"
kill -0 "$ld" 2>/dev/null
ok $? "… and is still running"
mount -o remount,size=16m "$mnt"
caught_up3() { [ "$(count "$mnt/lake3")" = '{"n":10000,"d":10000}' ]; }
wait_for -t 60 caught_up3
ok $? "with room again it catches up: $(count "$mnt/lake3")"
kill -TERM "$ld"
wait "$ld"
is "$?" 0 "load stops cleanly"
done_testing
