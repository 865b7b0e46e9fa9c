#!/usr/bin/env bash
# kafka_group.t — two consumers in one group split the topic's partitions
# through rebalances. Each keeps its own "lake record" (a state directory the
# `assigned` callback reads: the offset to start from), so together they
# read every event exactly once while events keep arriving. B's `assigned`
# takes 1.5 s (as the loader's does while it waits for a partition's claim in
# the lake): log_kafka.c runs it in ql_consumer_poll, outside librdkafka's
# rebalance callback, and the hand-over stays exact.
# Idempotence: ON in the producer. 6000 messages.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kafka_lib.sh"

start_mock --brokers 3 --partitions 4 --topic events
ok $? "mock cluster up: $BOOT"
mkdir -p "$tmpdir/state"
# The mock's group coordinator waits about session.timeout.ms before it
# completes a rebalance: keep it short so the test is quick.
GX="-X session.timeout.ms=3000 -X heartbeat.interval.ms=300"

"$KCLIENT" produce "$BOOT" events 6000 --interval-us 500 >"$tmpdir/p" 2>/dev/null 3>&- &
prod=$!
"$KCLIENT" consume "$BOOT" events --group g1 --state "$tmpdir/state" --commit --idle-ms 2000 $GX \
    >"$tmpdir/a" 2>"$tmpdir/a.err" 3>&- &
ca=$!
# B joins once A has its partitions, so A must give some up.
wait_for grep -q assigned "$tmpdir/a.err"
"$KCLIENT" consume "$BOOT" events --group g1 --state "$tmpdir/state" --commit --idle-ms 2000 $GX \
    --assign-delay-ms 1500 >"$tmpdir/b" 2>"$tmpdir/b.err" 3>&- &
cb=$!
wait $prod
ok $? "producer done"
wait $ca
ok $? "consumer A done"
wait $cb
ok $? "consumer B done"

is "$(grep -c '^ok ' "$tmpdir/p")" 6000 "6000 events acknowledged"
grep '^ok ' "$tmpdir/p" | cut -d' ' -f2 | sort >"$tmpdir/acked"
cat "$tmpdir/a" "$tmpdir/b" | sed 's/.*"event_id":"\([^"]*\)".*/\1/' | sort >"$tmpdir/read"
is "$(wc -l <"$tmpdir/read")" 6000 "A and B together read 6000 records"
is "$(uniq -d "$tmpdir/read" | wc -l)" 0 "… no record twice"
is "$(comm -3 "$tmpdir/acked" "$tmpdir/read" | wc -l)" 0 "… exactly the acknowledged events"
ok $(( $(wc -l <"$tmpdir/a") == 0 || $(wc -l <"$tmpdir/b") == 0 )) \
    "both consumers got partitions (A $(wc -l <"$tmpdir/a"), B $(wc -l <"$tmpdir/b"))"
cat "$tmpdir/a.err" "$tmpdir/b.err" | grep -v "^questlog kafka" | sed "s/^/# /"
grep -q 'revoked' "$tmpdir/a.err"
ok $? "A's partitions were revoked when B joined"
# Offsets were committed for monitoring tools: kcat in the same group sees
# nothing left to read.
left=$(kcat -C -b "$BOOT" -G g1 -o end -e -q events 2>/dev/null | wc -l)
diag "kcat in group g1 after the run read $left"

done_testing
