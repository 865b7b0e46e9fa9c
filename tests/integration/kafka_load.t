#!/usr/bin/env bash
# kafka_load.t — `questlog load --kafka` against the mock cluster (3 brokers,
# 4 partitions): --once lands exact tables (checked with DuckDB), a second run
# adds nothing, new events are picked up; then two loaders in one consumer
# group share the partitions through rebalances while events keep arriving,
# one of them is killed (kill -9) and restarted, and the tables still hold
# every event exactly once.
# Events are produced by tests/tools/kafka_client (questlog's Kafka producer,
# idempotence ON); 6000 + 3000 + 6000 messages.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
"$QL" load --help >/dev/null 2>&1 || skip_all "questlog load not built yet"

start_mock --brokers 3 --partitions 4 --topic events
ok $? "mock cluster up: $BOOT"
KX=(-X session.timeout.ms=3000 -X heartbeat.interval.ms=300)  # the mock holds (re)joins this long

"$KCLIENT" produce "$BOOT" events 6000 --batch 3 --keys 40 >"$tmpdir/p1" 2>/dev/null 3>&-
is "$(grep -c '^ok ' "$tmpdir/p1")" 6000 "6000 events produced"

counts() {  # counts LAKE -> "rows distinct purchases joins defaults"
    duck "SELECT (SELECT count(*) FROM read_parquet('$1/extracted_events/*/*.parquet')) || ' ' ||
                 (SELECT count(DISTINCT event_id) FROM read_parquet('$1/extracted_events/*/*.parquet')) || ' ' ||
                 (SELECT count(*) FROM read_parquet('$1/purchases/*/*.parquet')) || ' ' ||
                 (SELECT count(*) FROM read_parquet('$1/join_guilds/*/*.parquet')) || ' ' ||
                 (SELECT count(*) FROM read_parquet('$1/default_hits/*/*.parquet')) AS c" |
        sed 's/.*"c":"\([^"]*\)".*/\1/'
}
ids_match() {  # ids_match LAKE ACKED-FILE: the lake's event ids are exactly the acked ones
    duck "SELECT event_id FROM read_parquet('$1/extracted_events/*/*.parquet') ORDER BY 1" |
        sed 's/.*"event_id":"\([^"]*\)".*/\1/' >"$tmpdir/lake_ids"
    sort "$2" | cmp -s - "$tmpdir/lake_ids"
}

D="$tmpdir/d1"
"$QL" load --once -q --kafka "$BOOT" --data "$D" "${KX[@]}" 2>"$tmpdir/l1.err" 3>&-
ok $? "load --once --kafka"
is "$(counts "$D/lake")" "6000 6000 2000 2000 2000" "exact tables: 6000 events, 2000 of each type"
grep '^ok ' "$tmpdir/p1" | cut -d' ' -f2 >"$tmpdir/acked"
ids_match "$D/lake" "$tmpdir/acked"
ok $? "the lake's event ids are exactly the acknowledged ones"
"$QL" load --once -q --kafka "$BOOT" --data "$D" "${KX[@]}" 2>"$tmpdir/l2.err" 3>&-
ok $? "load --once --kafka again"
is "$(counts "$D/lake")" "6000 6000 2000 2000 2000" "… adds nothing (no duplicates)"
"$KCLIENT" produce "$BOOT" events 3000 --batch 3 >"$tmpdir/p2" 2>/dev/null 3>&-
grep '^ok ' "$tmpdir/p2" | cut -d' ' -f2 >>"$tmpdir/acked"
"$QL" load --once -q --kafka "$BOOT" --data "$D" "${KX[@]}" 2>"$tmpdir/l3.err" 3>&-
ok $? "load --once after 3000 more"
is "$(counts "$D/lake")" "9000 9000 3000 3000 3000" "… exactly the new ones added"

# Two loaders, one group, a fresh lake; events keep coming while they run;
# one loader is killed with kill -9 mid-run and restarted: partitions move
# A+B -> A -> A+C through rebalances (lake.c I7: partition claims).
D2="$tmpdir/d2"
"$KCLIENT" produce "$BOOT" events 6000 --interval-us 1500 >"$tmpdir/p3" 2>/dev/null 3>&- &
prod=$!
loader() {  # loader NAME [--status DUR]: a following `load --kafka` in group "two" on D2
    "$QL" load --kafka "$BOOT" --data "$D2" --group two "${KX[@]}" --flush-interval 300ms --status "${3:-0}" \
        2>"$tmpdir/$1.err" 3>&- &
}
# A loader holds partitions once a claim file names its pid (lake.c I7).
owns() { cat "$D2"/lake/.partition-*.lock 2>/dev/null | grep -q "^$1 "; }
loader la --status 500ms; la=$!; _bg_pids+=("$la")   # (lib.sh's cleanup kills them on an early exit)
wait_for owns $la   # lb joins once la has partitions: they must move
loader lb; lb=$!; _bg_pids+=("$lb")
# Kill lb once it holds partitions and has had time to load some of them.
wait_for owns $lb
ok $? "the second loader was given partitions"
sleep 1
kill -9 $lb 2>/dev/null
wait $lb 2>/dev/null
is "$?" 137 "one loader killed with kill -9 mid-run (it was still running)"
loader lc; lc=$!; _bg_pids+=("$lc")
wait $prod
grep '^ok ' "$tmpdir/p3" | cut -d' ' -f2 >>"$tmpdir/acked"
is "$(wc -l <"$tmpdir/acked")" 15000 "15000 events acknowledged in all"
# Let them catch up (until the lake holds everything, at most 180 s), then stop both.
caught_up() {
    local n
    n=$(duck "SELECT count(*) AS n FROM read_parquet('$D2/lake/extracted_events/*/*.parquet')" 2>/dev/null |
        sed 's/.*"n":\([0-9]*\).*/\1/')
    [ "${n:-0}" -ge 15000 ]
}
wait_for -t 180 caught_up
sleep 1   # a duplicate committed late would show in the counts
kill -TERM $la $lc 2>/dev/null
wait $la; ra=$?
wait $lc; rc=$?
is "$ra $rc" "0 0" "both loaders stop cleanly on SIGTERM"
for f in la lb lc; do grep -v '^questlog kafka\|events/s' "$tmpdir/$f.err" | head -3 | sed "s/^/# $f: /"; done
grep -q '^questlog load: .* events/s, lag [0-9]* events (per partition [0-9]*:[0-9?]*' "$tmpdir/la.err"
ok $? "load's status line shows the consumer lag per partition"
is "$(counts "$D2/lake")" "15000 15000 5000 5000 5000" "two loaders in one group, a kill -9 and a restart: exact tables"
ids_match "$D2/lake" "$tmpdir/acked"
ok $? "… holding exactly the acknowledged events"
for t in purchases join_guilds default_hits; do
    echo "$t $(duck "SELECT count(*) - count(DISTINCT event_id) AS d FROM read_parquet('$D2/lake/$t/*/*.parquet')" |
        sed 's/.*"d":\([0-9-]*\).*/\1/')"
done >"$tmpdir/dups"
is "$(tr '\n' ' ' <"$tmpdir/dups")" "purchases 0 join_guilds 0 default_hits 0 " "no duplicate event_id in any table"
parts=$(ls "$D2"/lake/extracted_events/*/ | sed -n 's/^part-\([0-9]*\)-.*/\1/p' | sort -u | tr '\n' ' ')
diag "partitions in the lake: $parts"

done_testing
