#!/usr/bin/env bash
# kafka_close.t — closing a group consumer whose revoke is still queued (a
# member joined while it was not polling: a loader stopped by SIGTERM in a
# rebalance), with the closing thread starved of CPU as on a loaded machine.
# librdkafka 2.0.2 then finishes terminating the group before close serves
# that revoke: without log_kafka.c's leave_group, close hung for ever in
# rd_kafka_assign, or crashed (rd_kafka_rebalance_protocol gave NULL to
# strcmp). kafka_client close-race does 3 such closes; `timeout` catches a hang.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kafka_lib.sh"

start_mock --brokers 3 --partitions 4 --topic events
ok $? "mock cluster up: $BOOT"
timeout 120 "$KCLIENT" close-race "$BOOT" events --rounds 3 -X session.timeout.ms=3000 -X heartbeat.interval.ms=300 \
    >"$tmpdir/out" 2>"$tmpdir/err" 3>&-
rc=$?
is "$rc" 0 "three closes in a rebalance, starved of CPU: no hang (124), no crash"
is "$(tr '\n' ' ' <"$tmpdir/out")" "closed 0 closed 1 closed 2 " "every close returned"
[ "$rc" -eq 0 ] || grep -v '^kafka_client: \(assigned\|revoked\)' "$tmpdir/err" | head -5 | sed 's/^/# /'
done_testing
