#!/usr/bin/env bash
# crash.t — kill -9 the loader at random instants, many times, then let it
# finish: every table holds each of its events exactly once (no loss, no
# duplicate event_id), the corrupt records are in _rejected once, no temp
# file is left. The events straddle midnight, so batches also split by dt.
. "$(dirname "$0")/../lib.sh"

DATA="$tmpdir/data"
LAKE="$DATA/lake"
python3 "$ROOT/bench/gen_events.py" 12000 --start 2026-11-20T23:59:54Z > "$tmpdir/ev.jsonl"
# two corrupt records in the middle
{ head -5000 "$tmpdir/ev.jsonl"; echo '{"event_type":"default",,}'; sed -n '5001,9000p' "$tmpdir/ev.jsonl"
  echo 'not json at all'; tail -n +9001 "$tmpdir/ev.jsonl"; } > "$tmpdir/log.jsonl"
"$QL_BUILD_DIR/tools/logwrite" "$DATA/log" < "$tmpdir/log.jsonl"
ok $? "12002 records in the log"

kills=0
for i in $(seq 30); do
    [ "$kills" -ge 20 ] && break
    "$QL" load --once -q --data "$DATA" --batch-rows 50 --flush-interval 20ms 2>/dev/null &
    pid=$!
    sleep "0.$(( 100 + RANDOM % 350 ))"
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null
done
ok "$([ "$kills" -ge 1 ]; echo $?)" "$kills runs killed mid-way (kill -9)"
partial=$(find "$LAKE" -name '*.parquet' | wc -l)
ok "$([ "$partial" -gt 0 ]; echo $?)" "the killed runs committed some files ($partial)"

"$QL" load --once -q --data "$DATA"
ok $? "a last run finishes"

rp() { echo "read_parquet('$LAKE/$1/*/*.parquet', hive_partitioning=true, union_by_name=true)"; }
check() {  # every table: rows and distinct event_ids, one DuckDB run
    local want got
    want=$(printf '{"t":"default_hits","n":%d,"d":%d}\n{"t":"extracted_events","n":12000,"d":12000}\n{"t":"join_guilds","n":%d,"d":%d}\n{"t":"purchases","n":%d,"d":%d}' \
        "$(grep -c '"event_type":"default"' "$tmpdir/ev.jsonl")" "$(grep -c '"event_type":"default"' "$tmpdir/ev.jsonl")" \
        "$(grep -c '"join_guild"' "$tmpdir/ev.jsonl")" "$(grep -c '"join_guild"' "$tmpdir/ev.jsonl")" \
        "$(grep -c '"purchase_sword"' "$tmpdir/ev.jsonl")" "$(grep -c '"purchase_sword"' "$tmpdir/ev.jsonl")")
    got=$(duck "$(for t in default_hits extracted_events join_guilds purchases; do
        echo "select '$t' as t, count(*) as n, count(distinct event_id) as d from $(rp $t) union all"; done) select null, null, null where false order by t")
    is "$got" "$want" "$1: every table complete, each event once"
}
check "after the crashes"
is "$(duck "select list(log_offset order by log_offset) as o from $(rp _rejected)")" '{"o":[5000,9001]}' \
   "_rejected: the two corrupt records, once each"
is "$(duck "select count(*) as n from $(rp extracted_events) e join read_json_auto('$tmpdir/ev.jsonl') j
            on e.event_id = j.event_id and e.Host = j.Host and e.timestamp = j.timestamp::timestamptz")" \
   '{"n":12000}' "every row matches its input event"
is "$(duck "select count(distinct dt) as n from $(rp extracted_events)")" '{"n":2}' "two dt partitions (midnight)"
ls -a "$LAKE"/*/*/ | grep -q '\.tmp$'; ok $((! $?)) "no temp files left"
"$QL" load --once -q --data "$DATA"
check "another run adds nothing"
done_testing
