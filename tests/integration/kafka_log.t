#!/usr/bin/env bash
# kafka_log.t — the Kafka backend of the log interface (src/log_kafka.c) on
# its own, driven by tests/tools/kafka_client.c against librdkafka's mock
# cluster (3 brokers, 4 partitions), cross-checked with kcat.
# Idempotence: ON (the backend's default) in every producer here; volumes
# stay <= 20k messages, below where the mock skips offsets (NOTES.md).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kafka_lib.sh"

start_mock --brokers 3 --partitions 4 --topic events
ok $? "mock cluster up with 3 brokers: $BOOT"
# (checked at the end) a group consumer whose brokers cannot be reached
# says so every 10 s instead of waiting in silence.
dead="127.0.0.1:$(free_port)"
timeout 12 "$KCLIENT" consume "$dead" events --group nobody >/dev/null 2>"$tmpdir/dead.err" 3>&- &
deadpid=$!

# 1. produce 5000 events in appends of 5, 50 keys; every done says 0.
"$KCLIENT" produce "$BOOT" events 5000 --batch 5 --keys 50 >"$tmpdir/p1" 2>"$tmpdir/p1.err" 3>&-
ok $? "producer ran"
is "$(grep -c '^ok ' "$tmpdir/p1")" 5000 "5000 of 5000 acknowledged (acks=all, idempotent)"
is "$(count_topic events)" 5000 "partitions' high watermarks add up to 5000 (kcat -Q)"

# 2. read back with our consumer (no group: all partitions, exit at end).
timeout 60 "$KCLIENT" consume "$BOOT" events >"$tmpdir/c1" 2>"$tmpdir/c1.err" 3>&-
ok $? "consumer without a group stops at the end (at_end)"
grep '^ok ' "$tmpdir/p1" | cut -d' ' -f2 | sort >"$tmpdir/acked"
sed 's/.*"event_id":"\([^"]*\)".*/\1/' "$tmpdir/c1" | sort >"$tmpdir/read"
is "$(wc -l <"$tmpdir/read")" 5000 "consumer read 5000 records"
ok "$(comm -3 "$tmpdir/acked" "$tmpdir/read" | wc -l)" "the records read are exactly the acknowledged events"
# A key's events sit in one partition, in the order they were appended.
awk '{ split($4, a, "\"seq\":"); seq = a[2] + 0
       if (($3 in part) && part[$3] != $1) bad++
       if (($3 in last) && seq < last[$3]) bad++
       part[$3] = $1; last[$3] = seq } END { exit bad > 0 }' "$tmpdir/c1"
ok $? "each key stays in one partition, in append order"

# 3. kcat sees the same events.
kcat -C -b "$BOOT" -t events -o beginning -e -q 2>/dev/null |
    sed 's/.*"event_id":"\([^"]*\)".*/\1/' | sort >"$tmpdir/kcat"
ok "$(comm -3 "$tmpdir/acked" "$tmpdir/kcat" | wc -l)" "kcat -C reads exactly the acknowledged events"

# questlog cat --kafka (no group: every partition, exit at the end).
if "$QL" cat --help >/dev/null 2>&1; then
    timeout 60 "$QL" cat --kafka "$BOOT" --topic events -e 2>/dev/null 3>&- |
        sed 's/.*"event_id":"\([^"]*\)".*/\1/' | sort >"$tmpdir/cat"
    ok "$(comm -3 "$tmpdir/acked" "$tmpdir/cat" | wc -l)" "questlog cat --kafka -e prints exactly the acknowledged events"
    is "$(timeout 60 "$QL" cat --kafka "$BOOT" --topic events --from end -e 2>/dev/null 3>&- | wc -l)" 0 \
        "questlog cat --kafka --from end -e prints nothing and exits"
fi

# 4. -X pass-through: a bad key is refused with a clear message; a good one works.
"$KCLIENT" produce "$BOOT" events 1 -X no.such.setting=1 >/dev/null 2>"$tmpdir/x.err" 3>&-
ok $(( $? == 0 )) "an unknown -X key fails"
grep -q 'no.such.setting' "$tmpdir/x.err"
ok $? "… naming the key: $(head -c 150 "$tmpdir/x.err")"
"$KCLIENT" produce "$BOOT" events 1 -X noequals >/dev/null 2>"$tmpdir/x2.err" 3>&-
grep -q 'key=value' "$tmpdir/x2.err"
ok $? "a -X without '=' is refused: $(head -c 120 "$tmpdir/x2.err")"
for cmd in "serve --listen 127.0.0.1:$(free_port)" "load --once" "cat -e"; do
    timeout 20 "$QL" $cmd --kafka "$BOOT" --data "$tmpdir/x" -X security.protocol=nonsense >/dev/null 2>"$tmpdir/xq.err" 3>&-
    rc=$?
    grep -q "questlog ${cmd%% *}: kafka setting security.protocol=nonsense: Invalid value" "$tmpdir/xq.err"
    ok $(( $? != 0 || rc == 0 || rc == 124 )) "questlog ${cmd%% *} --kafka refuses a bad -X value clearly"
done
"$KCLIENT" produce "$BOOT" events 10 -X compression.type=zstd -X linger.ms=1 >"$tmpdir/x3" 2>/dev/null 3>&-
is "$(grep -c '^ok ' "$tmpdir/x3")" 10 "-X compression.type=zstd -X linger.ms=1 accepted, 10 acknowledged"

# 5. a librdkafka fatal error (as when the idempotent producer's state is
# lost): the backend starts a fresh producer; every append is answered, the
# acknowledged ones are in the topic, and acknowledgements resume.
mock_cmd "create fatal 4"
"$KCLIENT" produce "$BOOT" fatal 3000 --interval-us 300 --inject-fatal-at 1000 >"$tmpdir/f" 2>"$tmpdir/f.err" 3>&-
ok $? "producer with an injected fatal error ran: $(grep acked "$tmpdir/f.err")"
is "$(grep -c '^ok \|^fail ' "$tmpdir/f")" 3000 "every append answered"
after=$(awk '/^fail /{n = 0; next} /^ok /{n++} END {print n + 0}' "$tmpdir/f")
ok $(( after < 1000 )) "acknowledgements resume on a fresh producer ($after after the last failure)"
grep '^ok ' "$tmpdir/f" | cut -d' ' -f2 | sort >"$tmpdir/f.acked"
kcat -C -b "$BOOT" -t fatal -o beginning -e -q 2>/dev/null | sed 's/.*"event_id":"\([^"]*\)".*/\1/' | sort >"$tmpdir/f.topic"
is "$(comm -23 "$tmpdir/f.acked" "$tmpdir/f.topic" | wc -l)" 0 "every acknowledged event is in the topic"

# 6. partition rounds (log_kafka.c): once the partition count is known the
# backend picks each key's partition itself and hands librdkafka one batch
# per partition. The placement must be exactly librdkafka's murmur2_random
# (the Java client's): the 50 keys of step 1, produced once each by kcat with
# that partitioner into a twin topic, land on the same partitions.
awk '{print $3, $1}' "$tmpdir/c1" | sort -u >"$tmpdir/ours"
is "$(cut -d' ' -f1 "$tmpdir/ours" | sort | uniq -d | wc -l)" 0 "step 1: no key in two partitions"
mock_cmd "create twin 4"
for k in $(cut -d' ' -f1 "$tmpdir/ours"); do echo "$k:x"; done |
    kcat -P -b "$BOOT" -t twin -K: -X partitioner=murmur2_random 2>/dev/null
kcat -C -b "$BOOT" -t twin -o beginning -e -q -f '%k %p\n' 2>/dev/null | sort -u >"$tmpdir/theirs"
is "$(wc -l <"$tmpdir/theirs")" 50 "kcat placed the 50 keys"
ok "$(diff "$tmpdir/ours" "$tmpdir/theirs" | wc -l)" "each key is on the partition librdkafka's murmur2_random picks"

# With another partitioner (-X partitioner=…) the backend does not mirror
# it: every message goes through librdkafka's partitioner (no rounds), with
# the same guarantees: all acknowledged, a key in one partition, in order.
mock_cmd "create direct 4"
"$KCLIENT" produce "$BOOT" direct 2000 --batch 4 --keys 20 -X partitioner=fnv1a_random >"$tmpdir/d" 2>/dev/null 3>&-
is "$(grep -c '^ok ' "$tmpdir/d")" 2000 "-X partitioner=fnv1a_random: 2000 of 2000 acknowledged"
timeout 60 "$KCLIENT" consume "$BOOT" direct >"$tmpdir/dc" 2>/dev/null 3>&-
is "$(wc -l <"$tmpdir/dc")" 2000 "… and read back"
awk '{ split($4, a, "\"seq\":"); seq = a[2] + 0
       if (($3 in part) && part[$3] != $1) bad++
       if (($3 in last) && seq < last[$3]) bad++
       part[$3] = $1; last[$3] = seq } END { exit bad > 0 }' "$tmpdir/dc"
ok $? "… each key in one partition, in append order"

# 7. unreachable brokers (started at the top): no assignment, and a warning
# naming the topic and the last error, every 10 s.
wait $deadpid
is $? 124 "a group consumer of unreachable brokers keeps trying (stopped by timeout)"
grep -q "no partition of 'events' assigned after 1[0-9] s (group join pending); last error: .*$dead" "$tmpdir/dead.err"
ok $? "… and says so: $(grep -m1 'no partition' "$tmpdir/dead.err" | head -c 200)"

# 8. an empty topic: the consumer reaches the end at once and exits.
mock_cmd "create empty 2"
ok $? "created topic 'empty' with 2 partitions"
timeout 30 "$KCLIENT" consume "$BOOT" empty >"$tmpdir/c2" 2>/dev/null 3>&-
ok $? "consumer on an empty topic exits at its end"
is "$(wc -l <"$tmpdir/c2")" 0 "… having read nothing"
done_testing
