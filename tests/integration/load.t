#!/usr/bin/env bash
# load.t — the seed's run end to end: `serve`, `ab -n 10` per route and per
# Host as in the seed, `load --once`; DuckDB (hive_partitioning,
# union_by_name) sees exactly the right rows per table; the seed's query
# `select * from purchases where Host = 'user1.comcast.com'`; a second
# `load --once` adds nothing; schema evolution (a param that appears later);
# a corrupt log record lands in _rejected; the seed's munge as a config rule.
. "$(dirname "$0")/../lib.sh"
command -v ab >/dev/null || skip_all "ab (apache2-utils) not installed"

DATA="$tmpdir/data"
LAKE="$DATA/lake"
serve_bg "$DATA"

# the seed's ab runs (project_3): 10 per route per Host
for host in user1.comcast.com user2.att.com; do
    for route in purchase_a_sword join_guild; do
        ab -q -n 10 -H "Host: $host" "http://127.0.0.1:$port/$route" > "$tmpdir/ab.out" 2>&1
        grep -q "Complete requests: *10" "$tmpdir/ab.out"; ok $? "ab -n 10 $host /$route"
    done
done
ab -q -n 10 "http://127.0.0.1:$port/" > /dev/null 2>&1

"$QL" load --once -q --data "$DATA"
ok $? "load --once"

rp() { echo "read_parquet('$LAKE/$1/*/*.parquet', hive_partitioning=true, union_by_name=true)"; }
n() { duck "select count(*) as n from $(rp "$1") ${2:-}" | sed 's/.*"n":\([0-9]*\).*/\1/'; }
is "$(n extracted_events)" "50" "extracted_events: all 50 events"
is "$(n purchases)" "20" "purchases: 20"
is "$(n join_guilds)" "20" "join_guilds: 20"
is "$(n default_hits)" "10" "default_hits: 10"
is "$(n purchases "where event_type <> 'purchase_sword'")" "0" "purchases holds only purchase_sword"
is "$(duck "select count(distinct event_id) as n from $(rp extracted_events)")" '{"n":50}' "event_ids unique"
# the seed's query
is "$(duck "select count(*) as n, min(\"User-Agent\") as ua, min(event_type) as t from $(rp purchases) where Host = 'user1.comcast.com'")" \
   '{"n":10,"ua":"ApacheBench/2.3","t":"purchase_sword"}' "seed query: select * from purchases where Host = 'user1.comcast.com'"
is "$(duck "select count(*) as n from $(rp purchases) where timestamp is null or dt is null")" '{"n":0}' \
   "timestamp and dt set"
is "$(duck "select typeof(timestamp) as t from $(rp purchases) limit 1")" '{"t":"TIMESTAMP WITH TIME ZONE"}' \
   "timestamp is a UTC TIMESTAMP"
is "$("$QL" query --lake "$LAKE" --format csv "select count(*) from purchases where Host = 'user1.comcast.com'" | tail -1)" \
   "10" "questlog query agrees"

"$QL" load --once -q --data "$DATA"
ok $? "second load --once"
is "$(n extracted_events)" "50" "adds nothing"
nfiles=$(find "$LAKE" -name '*.parquet' | wc -l)

# schema evolution: a param that appears later, and a corrupt record
curl -s "http://127.0.0.1:$port/purchase_a_sword?sword_type=katana&color=red" > /dev/null
# the log has one writer: stop serve, append a corrupt record with the log API, restart
kill -TERM "${_bg_pids[0]}"; wait "${_bg_pids[0]}" 2>/dev/null
printf '%s\n' '{"event_type":"purchase_sword", broken' | "$QL_BUILD_DIR/tools/logwrite" "$DATA/log"
ok $? "a corrupt record written into the log"
serve_bg "$DATA"
curl -s "http://127.0.0.1:$port/purchase_a_sword?sword_type=rapier" > /dev/null
"$QL" load --once -q --data "$DATA"
ok $? "load the new records"
is "$(n purchases)" "22" "two more purchases"
is "$(duck "select color from $(rp purchases) where sword_type = 'katana'")" '{"color":"red"}' "new column appears"
is "$(n purchases "where color is null")" "21" "older rows read it as null"
is "$(duck "select reason, log_offset, raw from $(rp _rejected)")" \
   '{"reason":"invalid JSON","log_offset":51,"raw":"{\"event_type\":\"purchase_sword\", broken"}' \
   "_rejected: the corrupt record with its reason and log offset"
ls -a "$LAKE"/*/*/ | grep -q '\.tmp$'; ok $((! $?)) "no temp files left"

# the seed's munge (set.Host = moe) as a config rule, into another lake
{ cat "$ROOT/etc/questlog.conf"; printf '[munge]\nset.Host = moe\nset.Cache-Control = no-cache\n'; } > "$tmpdir/munge.conf"
"$QL" load --once -q --data "$DATA" --lake "$tmpdir/lake2" --config "$tmpdir/munge.conf"
ok $? "load with [munge] rules into a second lake"
is "$(duck "select count(*) as n, min(Host) as h, min(\"Cache-Control\") as c from read_parquet('$tmpdir/lake2/purchases/*/*.parquet', union_by_name=true)")" \
   '{"n":22,"h":"moe","c":"no-cache"}' "munged fields"

"$QL" load --help | grep -q "^usage: questlog load"; ok $? "--help"
"$QL" load --once --data "$tmpdir/none" 2>/dev/null; ok $((! $?)) "no log: error"
done_testing
