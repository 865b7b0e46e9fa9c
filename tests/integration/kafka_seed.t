#!/usr/bin/env bash
# kafka_seed.t — the seed's run on Kafka: `questlog serve --kafka`, Apache
# Bench as in the seed write-ups, then `kcat -C -o beginning -e` shows every
# event with its headers; `load --once --kafka` lands exact tables (DuckDB),
# twice without duplicates. Then a broker goes down under HTTP load: answers
# are 200 or 503, and every request that got a 200 is in the topic.
# Mock cluster: 3 brokers, 4 partitions. Idempotence: ON (questlog's default).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/kafka_lib.sh"
"$QL" serve --help >/dev/null 2>&1 || skip_all "questlog serve not built yet"
command -v ab >/dev/null || skip_all "ab not installed"

step "mock cluster"
start_mock --brokers 3 --partitions 4 --topic events
ok $? "mock cluster up: $BOOT"
# The mock's group coordinator holds a (re)join for about session.timeout.ms.
KX=(-X session.timeout.ms=3000 -X heartbeat.interval.ms=300)

step "serve --kafka starts"
port=$(free_port)
# Delivery timeout 2 s (-X overrides questlog's default 5 s) keeps the test short.
bg "$QL" serve --kafka "$BOOT" --listen "127.0.0.1:$port" --data "$tmpdir/d" -X message.timeout.ms=2000 \
    2>"$tmpdir/serve.err" 3>&-
srv=${_bg_pids[-1]}
wait_port "$port"
ok $? "serve --kafka listening on $port"

step "ab runs"
# The seed's ab runs: 10 each, two players, three routes.
abrun() {  # abrun HOST PATH
    ab -n 10 -H "Host: $1" "http://127.0.0.1:$port$2" 2>/dev/null |
        awk '/^Complete requests:/{c=$3} /^Non-2xx responses:/{bad=$3} END {print c + 0, bad + 0}'
}
is "$(abrun user1.comcast.com /purchase_a_sword)" "10 0" "ab: 10 purchases by user1, all 200"
is "$(abrun user1.comcast.com /join_guild)" "10 0" "ab: 10 guild joins by user1, all 200"
is "$(abrun user2.att.com '/purchase_sword?sword_type=katana')" "10 0" "ab: 10 katana purchases by user2, all 200"
is "$(abrun user2.att.com /)" "10 0" "ab: 10 default hits by user2, all 200"

step "kcat reads"
# kafkacat as in the seed (kcat today): every event, with its headers.
kcat -C -b "$BOOT" -t events -o beginning -e -q >"$tmpdir/kcat" 2>/dev/null
is "$(wc -l <"$tmpdir/kcat")" 40 "kcat -C -o beginning -e shows the 40 events"
is "$(grep -c '"Host":"user1.comcast.com"' "$tmpdir/kcat")" 20 "… 20 with Host user1.comcast.com"
is "$(grep -c '"User-Agent":"ApacheBench/2.3"' "$tmpdir/kcat")" 40 "… every one with ab's User-Agent header"
is "$(grep '"event_type":"purchase_sword"' "$tmpdir/kcat" | grep -c '"sword_type":"katana"')" 10 \
    "… the 10 katana purchases carry their query parameter"
is "$(grep -o '"event_id":"[^"]*"' "$tmpdir/kcat" | sort -u | wc -l)" 40 "… each with its own event_id"
# The message key is the player (Host), so a player's events stay in order.
keys=$(kcat -C -b "$BOOT" -t events -o beginning -e -q -f '%k\n' 2>/dev/null | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')
is "$keys" "user1.comcast.com=20 user2.att.com=20 " "message keys are the players' Host"
# …and a player's events sit in one partition.
is "$(kcat -C -b "$BOOT" -t events -o beginning -e -q -f '%k %p\n' 2>/dev/null | sort -u | wc -l)" 2 \
    "each player's events are in one partition"

# The seed's spark-submit: load once, check the tables with DuckDB.
step "load --once --kafka"
lake="$tmpdir/d/lake"
"$QL" load --once -q --kafka "$BOOT" --data "$tmpdir/d" "${KX[@]}" 2>"$tmpdir/load1.err" 3>&-
ok $? "load --once --kafka"
counts() {
    duck "SELECT (SELECT count(*) FROM read_parquet('$lake/extracted_events/*/*.parquet')) || ' ' ||
                 (SELECT count(DISTINCT event_id) FROM read_parquet('$lake/extracted_events/*/*.parquet')) || ' ' ||
                 (SELECT count(*) FROM read_parquet('$lake/purchases/*/*.parquet')) || ' ' ||
                 (SELECT count(*) FROM read_parquet('$lake/purchases/*/*.parquet') WHERE Host = 'user1.comcast.com') || ' ' ||
                 (SELECT count(*) FROM read_parquet('$lake/join_guilds/*/*.parquet')) || ' ' ||
                 (SELECT count(*) FROM read_parquet('$lake/default_hits/*/*.parquet')) AS c" |
        sed 's/.*"c":"\([^"]*\)".*/\1/'
}
is "$(counts)" "40 40 20 10 10 10" "tables exact (DuckDB): 40 events, 20 purchases (10 by user1), 10 joins, 10 defaults"
step "load --once --kafka again"
"$QL" load --once -q --kafka "$BOOT" --data "$tmpdir/d" "${KX[@]}" 2>"$tmpdir/load2.err" 3>&-
ok $? "load --once --kafka again"
is "$(counts)" "40 40 20 10 10 10" "… no duplicates"

# A broker goes down under load: 4 clients, 150 tagged requests each.
# Each answer line: CODE REQ START END (EPOCHREALTIME: the kept logs of a
# slow run show which requests waited).
client() {  # client N
    local i code t0
    for ((i = 0; i < 150; i++)); do
        t0=$EPOCHREALTIME
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 \
            -H "Host: player$1.example" "http://127.0.0.1:$port/purchase_a_sword?req=c$1-$i")
        echo "$code c$1-$i $t0 $EPOCHREALTIME"
    done
}
# …and one client POSTing NDJSON batches of 5, keeping the event_ids of
# every batch answered 200.
poster() {
    local i body
    for ((i = 0; i < 60; i++)); do
        body=$(for k in 1 2 3 4 5; do printf '{"event_type":"join_guild","batch":"b%d-%d"}\n' "$i" "$k"; done)
        curl -s --max-time 20 -o "$tmpdir/post.json" -w '%{http_code}\n' -H 'Content-Type: application/x-ndjson' \
            --data-binary "$body" "http://127.0.0.1:$port/events" >"$tmpdir/post.code"
        if [ "$(cat "$tmpdir/post.code")" = 200 ]; then
            grep -o '"event_ids":\[[^]]*\]' "$tmpdir/post.json" | grep -o '"[0-9a-f-]\{36\}"' | tr -d '"' >>"$tmpdir/post.ids"
        fi
        cat "$tmpdir/post.code" >>"$tmpdir/post.codes"
    done
}
step "clients while broker 2 goes down and up"
: >"$tmpdir/post.ids"
cpids=()
for c in 1 2 3 4; do client $c >"$tmpdir/client$c" 3>&- & cpids+=($!); done
poster 3>&- & cpids+=($!)
wait_for test -s "$tmpdir/client1"   # the clients are sending
echo "down $EPOCHREALTIME" >"$tmpdir/down_up"
mock_cmd "down 2"
ok $? "broker 2 down while clients send"
sleep 3   # longer than the 2 s delivery timeout: appends to its partitions fail
mock_cmd "up 2"
ok $? "broker 2 up again"
echo "up $EPOCHREALTIME" >>"$tmpdir/down_up"
step "clients finish"
wait "${cpids[@]}"
cat "$tmpdir"/client? >"$tmpdir/answers"
is "$(wc -l <"$tmpdir/answers")" 600 "600 answers"
is "$(awk '$1 != 200 && $1 != 503' "$tmpdir/answers" | wc -l)" 0 "every answer is 200 or 503"
diag "$(awk '{n[$1]++} END {for (c in n) printf "%s: %d  ", c, n[c]}' "$tmpdir/answers")"
# Recovery: the server answers 200 again once the broker is back.
answers_200() {
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$port/purchase_a_sword?req=after")
    [ "$code" = 200 ]
}
step "200 again"
wait_for answers_200
is "$code" 200 "after the broker is back, requests get 200 again"
step "every acked request in the topic"
kcat -C -b "$BOOT" -t events -o beginning -e -q 2>/dev/null | grep -o '"req":"c[^"]*"' | sed 's/"req":"\(.*\)"/\1/' |
    sort -u >"$tmpdir/in_topic"
awk '$1 == 200 {print $2}' "$tmpdir/answers" | sort >"$tmpdir/acked"
is "$(comm -23 "$tmpdir/acked" "$tmpdir/in_topic" | wc -l)" 0 \
    "every request answered 200 is in the topic ($(wc -l <"$tmpdir/acked") acked, $(wc -l <"$tmpdir/in_topic") in the topic)"
is "$(grep -vc '^200$\|^503$' "$tmpdir/post.codes")" 0 "every NDJSON POST answered 200 or 503 ($(grep -c '^200$' "$tmpdir/post.codes") × 200)"
kcat -C -b "$BOOT" -t events -o beginning -e -q 2>/dev/null | grep -o '"event_id":"[^"]*"' | cut -d'"' -f4 | sort -u >"$tmpdir/topic_ids"
sort -u "$tmpdir/post.ids" >"$tmpdir/post.ids.s"
ok $(( $(wc -l <"$tmpdir/post.ids.s") == 0 )) "the 200 answers to POSTs carry event_ids ($(wc -l <"$tmpdir/post.ids.s"))"
is "$(comm -23 "$tmpdir/post.ids.s" "$tmpdir/topic_ids" | wc -l)" 0 "every event_id answered 200 is in the topic"

step "serve drains"
kill -INT "$srv"
wait "$srv"
ok $? "serve --kafka drains and exits 0 on SIGINT"
grep -E 'Sanitizer|runtime error' "$tmpdir/serve.err" | head -5 | sed 's/^/# /'
ok $(grep -cE 'Sanitizer|runtime error' "$tmpdir/serve.err") "no sanitizer report from serve"

done_testing
