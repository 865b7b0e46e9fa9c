#!/usr/bin/env bash
# kafka_broker_down.t — a broker of the mock cluster goes down while the
# Kafka backend is producing: appends to partitions it leads fail with
# QL_LOG_ETIMEOUT (the collector's 503), the producer recovers when the broker
# comes back, and no append whose done said 0 (a 200) is ever lost.
# Idempotence: ON. 5000 messages (the mock is reliable at this volume).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kafka_lib.sh"

start_mock --brokers 3 --partitions 4 --topic events
ok $? "mock cluster up: $BOOT"

# One append per event, ~1 ms apart, delivery timeout 0.7 s.
"$KCLIENT" produce "$BOOT" events 5000 --interval-us 1000 --timeout 700 \
    >"$tmpdir/p" 2>"$tmpdir/p.err" 3>&- &
prod=$!
wait_for grep -q '^ok ' "$tmpdir/p"   # producing (stdout is block-buffered: ~100 acks in)
mock_cmd "down 2"
ok $? "broker 2 taken down while producing"
sleep 2
mock_cmd "up 2"
ok $? "broker 2 back up"
t0=$SECONDS
wait $prod
ok $? "producer finished: $(grep acked "$tmpdir/p.err")"

diag "waited $((SECONDS - t0)) s for the producer"
grep '^ok ' "$tmpdir/p" | cut -d' ' -f2 | sort >"$tmpdir/acked"
nfail=$(grep -c '^fail ' "$tmpdir/p")
diag "$(wc -l <"$tmpdir/acked") acknowledged, $nfail failed"
is "$(grep '^fail ' "$tmpdir/p" | awk '$3 != -5 && $3 != -2' | wc -l)" 0 \
    "every failure is a timeout or I/O error (-> 503), none is silent"
is "$(( $(wc -l <"$tmpdir/acked") + nfail ))" 5000 "every append got exactly one answer"
# Recovery: once the last failure was reported, the same producer went on
# acknowledging (reports are printed in the order they arrive).
after=$(awk '/^fail /{n = 0; next} /^ok /{n++} END {print n + 0}' "$tmpdir/p")
ok $(( after < 500 )) "the producer recovered: $after acknowledged after the last failure"

kcat -C -b "$BOOT" -t events -o beginning -e -q 2>/dev/null |
    sed 's/.*"event_id":"\([^"]*\)".*/\1/' | sort >"$tmpdir/kcat"
is "$(comm -23 "$tmpdir/acked" "$tmpdir/kcat" | wc -l)" 0 "no acknowledged event is missing from the topic (kcat)"
timeout 60 "$KCLIENT" consume "$BOOT" events 2>/dev/null 3>&- |
    sed 's/.*"event_id":"\([^"]*\)".*/\1/' | sort >"$tmpdir/read"
is "$(comm -23 "$tmpdir/acked" "$tmpdir/read" | wc -l)" 0 "… nor from what questlog's consumer reads"
diag "topic holds $(wc -l <"$tmpdir/kcat") events (failed appends may or may not be in it)"

done_testing
