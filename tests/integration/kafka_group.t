#!/usr/bin/env bash
# kafka_group.t — two consumers in one group split the topic's partitions
# through rebalances. Each keeps its own "lake record" (a state directory the
# `assigned` callback reads: the offset to start from), so together they
# read every event exactly once across the hand-over. B's `assigned`
# takes 1.5 s (as the loader's does while it waits for a partition's claim in
# the lake): log_kafka.c runs it in ql_consumer_poll, outside librdkafka's
# rebalance callback, and the hand-over stays exact.
# Idempotence: ON in the producer. 6000 messages, in two runs of 3000.
#
# Every step waits on a condition, none on a time window: B joins once A has
# read (and recorded) some of every partition, so B's partitions start where
# A's record left them; the second 3000 are sent once B has its partitions
# (so B reads some, however slow the machine); the consumers stop when the
# test has seen 6000 records printed (--stop-file), not after an idle gap.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kafka_lib.sh"

start_mock --brokers 3 --partitions 4 --topic events
ok $? "mock cluster up: $BOOT"
mkdir -p "$tmpdir/state"
# The mock's group coordinator waits about session.timeout.ms before it
# completes a rebalance: keep it short so the test is quick.
GX="-X session.timeout.ms=3000 -X heartbeat.interval.ms=300"
stop="$tmpdir/stop"

"$KCLIENT" produce "$BOOT" events 3000 --interval-us 1000 >"$tmpdir/p1" 2>/dev/null 3>&- &
prod1=$!
"$KCLIENT" consume "$BOOT" events --group g1 --state "$tmpdir/state" --commit --stop-file "$stop" $GX \
    >"$tmpdir/a" 2>"$tmpdir/a.err" 3>&- &
ca=$!
# B joins once A has read from every partition, so A must give some up.
recorded() { [ -s "$tmpdir/state/p0" ] && [ -s "$tmpdir/state/p1" ] && [ -s "$tmpdir/state/p2" ] && [ -s "$tmpdir/state/p3" ]; }
wait_for recorded
ok $? "A read from all 4 partitions"
"$KCLIENT" consume "$BOOT" events --group g1 --state "$tmpdir/state" --commit --stop-file "$stop" $GX \
    --assign-delay-ms 1500 >"$tmpdir/b" 2>"$tmpdir/b.err" 3>&- &
cb=$!
wait_for grep -q assigned "$tmpdir/b.err"
ok $? "B got partitions"
grep -q 'revoked' "$tmpdir/a.err"
ok $? "A's partitions were revoked when B joined"
is "$(grep -c 'assigned [0-9]* from [0-9]' "$tmpdir/b.err")" "$(grep -c assigned "$tmpdir/b.err")" \
    "B starts each of its partitions at A's recorded offset"
kill -0 "$prod1" 2>/dev/null && diag "the first 3000 were still being sent when B got its partitions"
# The second 3000 go to every partition (100 keys), so B has some to read.
"$KCLIENT" produce "$BOOT" events 3000 --interval-us 500 >"$tmpdir/p2" 2>/dev/null 3>&- &
prod2=$!
wait $prod1
ok $? "producer 1 done"
wait $prod2
ok $? "producer 2 done"
printed() { [ $(($(wc -l <"$tmpdir/a") + $(wc -l <"$tmpdir/b"))) -ge 6000 ]; }
wait_for -t 120 printed
ok $? "A and B printed 6000 records between them"
touch "$stop"
wait $ca
ok $? "consumer A done"
wait $cb
ok $? "consumer B done"

cat "$tmpdir/p1" "$tmpdir/p2" >"$tmpdir/p"
is "$(grep -c '^ok ' "$tmpdir/p")" 6000 "6000 events acknowledged"
grep '^ok ' "$tmpdir/p" | cut -d' ' -f2 | sort >"$tmpdir/acked"
cat "$tmpdir/a" "$tmpdir/b" | sed 's/.*"event_id":"\([^"]*\)".*/\1/' | sort >"$tmpdir/read"
is "$(wc -l <"$tmpdir/read")" 6000 "A and B together read 6000 records"
is "$(uniq -d "$tmpdir/read" | wc -l)" 0 "… no record twice"
is "$(comm -3 "$tmpdir/acked" "$tmpdir/read" | wc -l)" 0 "… exactly the acknowledged events"
ok $(( $(wc -l <"$tmpdir/a") == 0 || $(wc -l <"$tmpdir/b") == 0 )) \
    "both consumers got records (A $(wc -l <"$tmpdir/a"), B $(wc -l <"$tmpdir/b"))"
cat "$tmpdir/a.err" "$tmpdir/b.err" | grep -v "^questlog kafka" | sed "s/^/# /"
# Offsets were committed for monitoring tools: kcat in the same group sees
# nothing left to read.
left=$(kcat -C -b "$BOOT" -G g1 -o end -e -q events 2>/dev/null | wc -l)
diag "kcat in group g1 after the run read $left"

done_testing
