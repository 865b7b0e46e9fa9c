#!/usr/bin/env bash
# serve_kafka.t — `questlog serve --kafka`: the collector producing to a topic
# of librdkafka's mock cluster (3 brokers, 4 partitions). Every 200 comes from
# a delivery report; the topic then holds exactly the acknowledged events,
# read back with kcat as the seed did with kafkacat. Idempotence: the Kafka
# backend's default (on); volumes are small (NOTES.md).
. "$(dirname "$0")/../lib.sh"
command -v ab >/dev/null || skip_all "ab (apache2-utils) not installed"
. "$(dirname "$0")/kafka_lib.sh"

start_mock --brokers 3 --partitions 4 --topic events
ok $? "mock cluster up: $BOOT"
port="$(free_port)"
"$QL" serve --kafka "$BOOT" --topic events --listen "127.0.0.1:$port" > "$tmpdir/serve.out" 2> "$tmpdir/serve.err" 3>&- &
pid=$!
_bg_pids+=($pid)
wait_port "$port"
ok $? "serve --kafka listens"

ab -n 20 -c 4 -H "Host: user1.comcast.com" "http://127.0.0.1:$port/purchase_a_sword" > "$tmpdir/ab.out" 2>&1 3>&-
grep -q "Complete requests: *20" "$tmpdir/ab.out" && ! grep -q "Non-2xx" "$tmpdir/ab.out"
ok $? "ab -n 20: all 200 (delivery reports)"
resp="$(curl -s --data-binary $'{"event_type":"join_guild","guild_id":"g1"}\n{"event_type":"default"}' "http://127.0.0.1:$port/events")"
python3 -c 'import json,sys; assert json.loads(sys.argv[1])["accepted"] == 2' "$resp"
ok $? "POST /events: accepted 2"
expect400="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/purchase_a_sword?price=x")"
is "$expect400" 400 "bad typed parameter still a 400 (nothing produced)"
curl -s "http://127.0.0.1:$port/metrics" | grep -q '^questlog_log_records_total 22$'
ok $? "/metrics: the Kafka log's 22 records"
kill -TERM "$pid"
wait "$pid"
is "$?" 0 "SIGTERM: exit 0"

is "$(count_topic events)" 22 "the topic holds 22 records (kcat -Q)"
kcat -C -b "$BOOT" -t events -o beginning -e -q > "$tmpdir/kcat" 2>/dev/null 3>&-
python3 - "$tmpdir/kcat" "$resp" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
assert len(evs) == 22, len(evs)
assert len(set(e["event_id"] for e in evs)) == 22
assert sum(1 for e in evs if e.get("Host") == "user1.comcast.com" and e["event_type"] == "purchase_sword") == 20
ids = json.loads(sys.argv[2])["event_ids"]
assert sorted(e["event_type"] for e in evs if e["event_id"] in ids) == ["default", "join_guild"]
assert not any("price" in e for e in evs)
PY
ok $? "kcat -C reads exactly the acknowledged events, fields intact"
# key = the player (X-Player-Id, else Host), so one player's events share a partition
kcat -C -b "$BOOT" -t events -o beginning -e -q -f '%k %p\n' 2>/dev/null 3>&- | sort | uniq -c | awk '{print $1, $2}' > "$tmpdir/keys"
is "$(cat "$tmpdir/keys")" "2 127.0.0.1:$port
20 user1.comcast.com" "message keys: Host of each request, one partition per key (kcat -f '%k')"

# Brokers that cannot be reached: the 503 says why, not only "timed out"
# (-X message.timeout.ms sets the delivery timeout).
dport="$(free_port)"
"$QL" serve --kafka "127.0.0.1:$(free_port)" --listen "127.0.0.1:$dport" --data "$tmpdir/dead" \
    -X message.timeout.ms=1000 > /dev/null 2> "$tmpdir/dead.err" 3>&- &
dpid=$!
_bg_pids+=($dpid)
wait_port "$dport"
body="$(curl -s -w ' %{http_code}' "http://127.0.0.1:$dport/purchase_a_sword")"
case "$body" in *"timed out (last broker error: "*"Connection refused"*" 503") r=0 ;; *) r=1 ;; esac
ok $r "unreachable brokers: 503 naming the broker error: $(echo "$body" | head -c 200)"
kill -INT "$dpid"
wait "$dpid"
is "$?" 0 "… and SIGINT still exits 0"
done_testing
