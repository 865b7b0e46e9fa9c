#!/usr/bin/env bash
# lake_source.t — a lake belongs to one log (lake.h ql_lake_claim_source,
# LAKE/.source). The README walk that found it: the tour's `up` filled
# ./questlog-data/lake from the embedded log, then `load --kafka` into the
# same lake started each partition at the embedded log's offsets, and 13 of
# 40 acknowledged events never reached the tables. Now:
#   1. a loader of another log is refused at once (exit 1, the message names
#      both logs), for load and up, from the embedded log to Kafka and back,
#      and from one topic to another; the lake is left as it was;
#   2. the same log loads again, and a lake of its own gets every event;
#   3. a lake from before LAKE/.source is claimed by its next loader.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kafka_lib.sh"

GX="-X session.timeout.ms=6000 -X heartbeat.interval.ms=500"
D="$tmpdir/d"
serve_bg "$D"
for i in $(seq 1 30); do curl -sf -H "Host: u$i.example" "http://127.0.0.1:$port/join_guild?guild_id=e$i" >/dev/null; done
kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null
"$QL" load --once -q --data "$D"
ok $? "load --once from the embedded log"
is "$(cat "$D/lake/.source")" "embedded log" "the lake names its log"

start_mock --brokers 1 --partitions 4 --topic events
ok $? "mock cluster up: $BOOT"
"$KCLIENT" produce "$BOOT" events 40 --keys 40 >"$tmpdir/p" 2>/dev/null 3>&-
is "$(grep -c '^ok ' "$tmpdir/p")" 40 "40 events produced to the topic"

snapshot() { find "$1" -name '*.parquet' -o -name '_offsets*' | sort | xargs -r md5sum; }
before=$(snapshot "$D/lake")
refused="the lake '$D/lake' holds what was loaded from the embedded log, not from the Kafka topic events: the offsets of two logs would mix and events would be skipped (use another --lake or --data; $D/lake/.source)"
timeout 60 "$QL" load --once -q --kafka "$BOOT" --group g1 --data "$D" $GX >/dev/null 2>"$tmpdir/err" 3>&-
is "$?|$(cat "$tmpdir/err")" "1|questlog load: $refused" "load --kafka into the embedded log's lake: refused"
p=$(free_port)
timeout 60 "$QL" up -q --kafka "$BOOT" --group g1 --data "$D" --listen "127.0.0.1:$p" $GX >/dev/null 2>"$tmpdir/err" 3>&-
is "$?|$(cat "$tmpdir/err")" "1|questlog up: $refused" "up --kafka into it: refused"
is "$(snapshot "$D/lake")" "$before" "the lake is unchanged"
"$QL" load --once -q --data "$D"
ok $? "the embedded log loads into it again"

# the topic into a lake of its own: every event
K="$tmpdir/k"
timeout 120 "$QL" load --once -q --kafka "$BOOT" --group g2 --data "$K" $GX 3>&-
ok $? "load --once --kafka into its own lake"
is "$(cat "$K/lake/.source")" "Kafka topic events" "that lake names the topic"
is "$("$QL" query --data "$K" -f csv "select count(*) n, count(distinct event_id) d from extracted_events" | tail -1)" "40,40" \
   "every event of the topic is in it, once"

mkdir -p "$K/log"   # (the embedded loader wants DATA/log to exist)
"$QL" load --once -q --data "$K" 2>"$tmpdir/err"
is "$?|$(cat "$tmpdir/err")" "1|questlog load: the lake '$K/lake' holds what was loaded from the Kafka topic events, not from the embedded log: the offsets of two logs would mix and events would be skipped (use another --lake or --data; $K/lake/.source)" \
   "the embedded log into the topic's lake: refused"
timeout 60 "$QL" load --once -q --kafka "$BOOT" --topic other --group g3 --data "$K" $GX 2>"$tmpdir/err" 3>&-
st=$?
grep -q "holds what was loaded from the Kafka topic events, not from the Kafka topic other" "$tmpdir/err"
is "$st|$?" "1|0" "another topic into it: refused"
timeout 120 "$QL" load --once -q --kafka "$BOOT" --group g2 --data "$K" $GX 3>&-
ok $? "the same topic loads again"
is "$("$QL" query --data "$K" -f csv "select count(*) from extracted_events" | tail -1)" "40" "adding nothing"

# a lake from before LAKE/.source: its next loader claims it
rm "$D/lake/.source"
"$QL" load --once -q --data "$D"
ok $? "a lake without .source loads"
is "$(cat "$D/lake/.source")" "embedded log" "and is claimed"
is "$(find "$D/lake" -maxdepth 1 -name '.source-*' | wc -l)" 0 "no temp file left"

done_testing
