#!/usr/bin/env bash
# load_kafka.t — the loader on Kafka (librdkafka's mock cluster, 4
# partitions): `load --once --kafka` writes one file series per partition
# (part-0000P-…), every event exactly once; a second run adds nothing (the
# lake, not the group's committed offsets, says what is loaded); `up --kafka`
# collects over HTTP into the topic and loads it back, its /metrics showing
# the consumer lag per partition.
# Idempotence: ON in the producer (2000 messages: far below the mock's limits).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kafka_lib.sh"

start_mock --brokers 1 --partitions 4 --topic events
ok $? "mock cluster up: $BOOT"
GX="-X session.timeout.ms=6000 -X heartbeat.interval.ms=500"
"$KCLIENT" produce "$BOOT" events 2000 --keys 50 >"$tmpdir/p" 2>/dev/null 3>&-
is "$(grep -c '^ok ' "$tmpdir/p")" 2000 "2000 events produced"

DATA="$tmpdir/data"
"$QL" load --once -q --kafka "$BOOT" --group lg --data "$DATA" $GX 3>&-
ok $? "load --once --kafka"
rp() { echo "read_parquet('$DATA/lake/$1/*/*.parquet', hive_partitioning=true, union_by_name=true)"; }
is "$(duck "select count(*) as n, count(distinct event_id) as d from $(rp extracted_events)")" '{"n":2000,"d":2000}' \
   "extracted_events: every event once"
labels=$(find "$DATA/lake/extracted_events" -name 'part-*.parquet' | sed 's/.*part-\([0-9]*\)-.*/\1/' | sort -u | tr '\n' ' ')
is "$labels" "00000 00001 00002 00003 " "one file series per partition"

"$QL" load --once -q --kafka "$BOOT" --group other --data "$DATA" $GX 3>&-
ok $? "a second run in another group"
is "$(duck "select count(*) as n from $(rp extracted_events)")" '{"n":2000}' "adds nothing: the lake is the record"

# up --kafka: HTTP -> topic -> lake in one process (its fresh lake also
# loads the 2000 events already in the topic, which have no sword_type)
port=$(free_port)
"$QL" up -q --kafka "$BOOT" --group ug --data "$tmpdir/up" --listen "127.0.0.1:$port" $GX >/dev/null 2>"$tmpdir/up.err" 3>&- &
up=$!
_bg_pids+=("$up")
wait_port "$port" || { echo "Bail out! up --kafka did not start: $(cat "$tmpdir/up.err")"; exit 1; }
for i in $(seq 20); do curl -s "http://127.0.0.1:$port/purchase_a_sword?sword_type=k$i" >/dev/null; done
# /metrics: the loader's consumer lag per assigned partition, 0 once caught up
lag_zero() {
    curl -s "http://127.0.0.1:$port/metrics" >"$tmpdir/metrics"
    [ "$(grep -c '^questlog_kafka_consumer_lag{partition="[0-3]"} 0$' "$tmpdir/metrics")" = 4 ]
}
wait_for lag_zero
is "$(grep -c '^questlog_kafka_consumer_lag{partition="[0-3]"} 0$' "$tmpdir/metrics")" 4 \
   "/metrics: consumer lag of each of the 4 partitions, 0 when caught up"
grep -q '^# TYPE questlog_kafka_consumer_lag gauge$' "$tmpdir/metrics"
ok $? "/metrics: lag typed as a gauge"
kill -INT "$up"; wait "$up"
is "$?" "0" "up --kafka: SIGINT exits 0"
is "$(duck "select count(*) as n from read_parquet('$tmpdir/up/lake/purchases/*/*.parquet', union_by_name=true) where sword_type like 'k%'")" \
   '{"n":20}' "the 20 purchases went through Kafka into the lake"
done_testing
