#!/usr/bin/env bash
# import.t — `questlog import`: JSON lines into the lake, checked with DuckDB:
# every event exactly once in every table it belongs to, a bad line in
# _rejected, made-up event_id/timestamp only where missing, stdin, errors.
. "$(dirname "$0")/../lib.sh"

LAKE="$tmpdir/lake"
python3 "$ROOT/bench/gen_events.py" 2000 --start 2026-11-20T10:00:00Z > "$tmpdir/ev.jsonl"
{
    echo '{"event_type":"join_guild","guild_id":"g1","Host":"no-ids"}'
    echo '{"event_type":"purchase_sword","timestamp":"2026-11-19T08:00:00.5Z","sword_type":"kept-ts"}'
    echo '{"event_type": "default", "oops"'
    echo ''
    echo '{"event_type":"join_guild","event_id":"x","price":"cheap"}'
} > "$tmpdir/extra.jsonl"

"$QL" import -q --lake "$LAKE" --workers 2 "$tmpdir/ev.jsonl" "$tmpdir/extra.jsonl" 2> "$tmpdir/err"
ok $? "import of two files exits 0"

rp() { echo "read_parquet('$LAKE/$1/*/*.parquet', hive_partitioning=true, union_by_name=true)"; }
count() { duck "select count(*) as n from $(rp "$1") ${2:-}" | sed 's/.*"n":\([0-9]*\).*/\1/'; }

want_all=$(( $(wc -l < "$tmpdir/ev.jsonl") + 3 ))
is "$(count extracted_events)" "$want_all" "extracted_events: every valid line"
is "$(duck "select count(distinct event_id) as n from $(rp extracted_events)" | sed 's/.*"n":\([0-9]*\).*/\1/')" "$want_all" \
   "no duplicate event_id"
want_p=$(( $(grep -c '"purchase_sword"' "$tmpdir/ev.jsonl") + 1 ))
is "$(count purchases)" "$want_p" "purchases: the purchase_sword events"
is "$(count purchases "where event_type <> 'purchase_sword'")" "0" "purchases holds nothing else"
want_j=$(( $(grep -c '"join_guild"' "$tmpdir/ev.jsonl") + 2 ))
is "$(count join_guilds)" "$want_j" "join_guilds"
is "$(count default_hits)" "$(grep -c '"default"' "$tmpdir/ev.jsonl")" "default_hits"
is "$(count _rejected)" "1" "the broken line is in _rejected"
is "$(duck "select reason, log_offset, source from $(rp _rejected)")" \
   "{\"reason\":\"invalid JSON\",\"log_offset\":3,\"source\":\"$tmpdir/extra.jsonl\"}" "with its reason, line and file"

row=$(duck "select length(event_id) as l, timestamp > now() - interval 10 minute as recent from $(rp join_guilds) where Host = 'no-ids'")
is "$row" '{"l":36,"recent":true}' "missing event_id and timestamp made up (UUIDv7, now)"
is "$(duck "select timestamp from $(rp purchases) where sword_type = 'kept-ts'")" \
   '{"timestamp":"2026-11-19T08:00:00.500000Z"}' "a valid timestamp is kept (and its dt follows it)"
ok "$([ -d "$LAKE/purchases/dt=2026-11-19" ]; echo $?)" "dt=2026-11-19 partition for it"
is "$(duck "select typeof(price) as t from $(rp purchases) limit 1")" '{"t":"BIGINT"}' "catalog-typed column (price int)"
is "$(duck "select price from $(rp join_guilds) where event_id = 'x'")" '{"price":null}' \
   "a value that does not fit its type is null"
is "$(duck "select event_id, sword_type, price from $(rp purchases) order by timestamp, event_id limit 1 offset 1")" \
   "$(python3 -c "
import json
evs=[json.loads(l) for l in open('$tmpdir/ev.jsonl') if '\"purchase_sword\"' in l]
evs.sort(key=lambda e:(e['timestamp'],e['event_id']))
e=evs[0]; print(json.dumps({'event_id':e['event_id'],'sword_type':e['sword_type'],'price':e['price']},separators=(',',':')))")" \
   "values round-trip (first purchase)"
ls "$LAKE"/*/*/ | grep -q '\.tmp$'
ok $((! $?)) "no temp files left"

# stdin, into a fresh lake, one worker
head -100 "$tmpdir/ev.jsonl" | "$QL" import -q --lake "$tmpdir/lake2" --workers 1 -
ok $? "import from stdin"
is "$(duck "select count(*) as n from read_parquet('$tmpdir/lake2/extracted_events/*/*.parquet', union_by_name=true)")" '{"n":100}' "stdin rows"

# errors: nothing imported when a file is missing
"$QL" import -q --lake "$tmpdir/lake3" "$tmpdir/ev.jsonl" "$tmpdir/missing.jsonl" 2> "$tmpdir/err3"
ok $((! $?)) "missing input file: non-zero exit"
grep -q "questlog import: cannot read" "$tmpdir/err3"; ok $? "error message names the problem"
ok "$([ -z "$(find "$tmpdir/lake3" -name '*.parquet' 2>/dev/null)" ]; echo $?)" "nothing imported"
"$QL" import -q --lake "$tmpdir/lake4" "$tmpdir/ev.jsonl" "$tmpdir" 2> "$tmpdir/err4"
ok $((! $?)) "a directory among the inputs: non-zero exit"
grep -q "is a directory" "$tmpdir/err4"; ok $? "saying so"
ok "$([ -z "$(find "$tmpdir/lake4" -name '*.parquet' 2>/dev/null)" ]; echo $?)" "before importing anything"
"$QL" import --help | grep -q "^usage: questlog import"; ok $? "--help"
"$QL" import --bogus 2>/dev/null; is "$?" "2" "unknown option: exit 2"
done_testing
