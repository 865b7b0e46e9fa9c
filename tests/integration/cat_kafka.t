#!/usr/bin/env bash
# cat_kafka.t — `questlog cat --kafka`: reads a topic on librdkafka's mock
# cluster (all partitions, no group) and prints the same events kcat does.
# Produced with tests/tools/kafka_client (questlog's Kafka backend,
# idempotence on; 300 messages, far below where the mock skips offsets).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kafka_lib.sh"

start_mock --brokers 1 --partitions 3 --topic events
ok $? "mock cluster up: $BOOT"
"$KCLIENT" produce "$BOOT" events 300 --batch 10 >"$tmpdir/p" 2>"$tmpdir/p.err" 3>&-
is "$(grep -c '^ok ' "$tmpdir/p")" 300 "300 events acknowledged"

timeout 60 "$QL" cat --kafka "$BOOT" --topic events --from beginning -e >"$tmpdir/ours" 2>"$tmpdir/err" 3>&-
is "$?" 0 "cat --kafka -e exits 0 at the end"
grep -q '^% Reached end of topic events' "$tmpdir/err"; ok $? "with the end note"
timeout 60 kcat -C -b "$BOOT" -t events -o beginning -e -q >"$tmpdir/kcat" 2>/dev/null 3>&-
is "$(sort "$tmpdir/ours" | md5sum)" "$(sort "$tmpdir/kcat" | md5sum)" "the same 300 lines as kcat -C"
is "$(wc -l <"$tmpdir/ours")" 300 "300 lines"

timeout 60 "$QL" cat --kafka "$BOOT" --topic events --from end -e >"$tmpdir/end" 2>/dev/null 3>&-
is "$?/$(wc -l <"$tmpdir/end")" "0/0" "--from end -e prints nothing"
done_testing
