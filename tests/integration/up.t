#!/usr/bin/env bash
# up.t — `questlog up`: collector + streaming loader in one process. Events
# sent over HTTP become queryable (questlog query and DuckDB) about a second
# later without any other command; /metrics shows the loader; Ctrl-C drains:
# everything accepted before the signal is in the lake when up exits 0.
. "$(dirname "$0")/../lib.sh"
command -v ab >/dev/null || skip_all "ab (apache2-utils) not installed"

DATA="$tmpdir/data"
port=$(free_port)
"$QL" up --data "$DATA" --listen "127.0.0.1:$port" > "$tmpdir/up.out" 2> "$tmpdir/up.err" &
up=$!
_bg_pids+=("$up")
wait_port "$port" || { echo "Bail out! up did not start"; cat "$tmpdir/up.err"; exit 1; }
# (the port opens just before the lines are printed: wait for them)
wait_for grep -q "Ctrl-C to stop" "$tmpdir/up.out"
grep -q "collecting events on http://127.0.0.1:$port" "$tmpdir/up.out"; ok $? "prints where it listens"
grep -qF "$QL query --lake $DATA/lake \"select * from purchases limit 5\"" "$tmpdir/up.out"
ok $? "prints the lake and an example query, with the binary as it was run"

ab -q -n 10 -H "Host: user1.comcast.com" "http://127.0.0.1:$port/purchase_a_sword" > /dev/null 2>&1
ok $? "ab -n 10 /purchase_a_sword"
t0=$(date +%s%N)
purchases_visible() {
    [ "$("$QL" query --lake "$DATA/lake" --format csv "select count(*) from purchases where Host = 'user1.comcast.com'" 2>/dev/null | tail -1)" = 10 ]
}
wait_for purchases_visible
ok $? "the 10 purchases become queryable while up runs"
diag "visible after $(( ($(date +%s%N) - t0) / 1000000 )) ms (bench/load.sh measures p50/p99)"

# the figures are published right after the commit the query saw: poll a little
files_published() {
    curl -s "http://127.0.0.1:$port/metrics" > "$tmpdir/metrics"
    grep -q '^questlog_loader_files_total [1-9]' "$tmpdir/metrics"
}
wait_for files_published
grep -q '^questlog_loader_rows_total [1-9]' "$tmpdir/metrics"; ok $? "/metrics: loader rows"
grep -q '^questlog_loader_files_total [1-9]' "$tmpdir/metrics"; ok $? "/metrics: files written"
grep -q '^questlog_loader_lag_events ' "$tmpdir/metrics"; ok $? "/metrics: lag in events"
grep -q '^questlog_loader_lag_seconds ' "$tmpdir/metrics"; ok $? "/metrics: lag in seconds"
! grep -q '^questlog_kafka_consumer_lag' "$tmpdir/metrics"; ok $? "/metrics: no Kafka partition lag on the embedded log"

# a burst, then Ctrl-C at once: up drains the log into the lake before exiting
ab -q -n 300 -c 8 "http://127.0.0.1:$port/join_guild" > "$tmpdir/ab.out" 2>&1
grep -q "Complete requests: *300" "$tmpdir/ab.out"; ok $? "300 more events accepted"
kill -INT "$up"
wait "$up"
is "$?" "0" "SIGINT: up exits 0"
is "$(duck "select count(*) as n, count(distinct event_id) as d from read_parquet('$DATA/lake/extracted_events/*/*.parquet', union_by_name=true)")" \
   '{"n":310,"d":310}' "every accepted event is in the lake, once"
is "$(duck "select count(*) as n from read_parquet('$DATA/lake/join_guilds/*/*.parquet', union_by_name=true)")" '{"n":300}' "join_guilds"
ls -a "$DATA"/lake/*/*/ | grep -q '\.tmp$'; ok $((! $?)) "no temp files left"

# a restart picks up where the lake is
port=$(free_port)
"$QL" up -q --data "$DATA" --listen "127.0.0.1:$port" > /dev/null 2>&1 &
up=$!
_bg_pids+=("$up")
wait_port "$port" || { echo "Bail out! up did not restart"; exit 1; }
curl -s "http://127.0.0.1:$port/" > /dev/null
kill -TERM "$up"; wait "$up"
is "$?" "0" "SIGTERM: exit 0"
is "$(duck "select count(*) as n from read_parquet('$DATA/lake/extracted_events/*/*.parquet', union_by_name=true)")" '{"n":311}' \
   "restart adds only the new event"
# streaming with compaction: 12 bursts, each its own commit (flush 100 ms),
# merged as they come (--compact-interval 1s); every row still once
port=$(free_port)
"$QL" up -q --data "$tmpdir/c" --listen "127.0.0.1:$port" --flush-interval 100ms --compact-interval 1s \
    > /dev/null 2>"$tmpdir/c.err" &
up=$!
_bg_pids+=("$up")
wait_port "$port" || { echo "Bail out! up did not start"; exit 1; }
for i in $(seq 12); do
    ab -q -n 5 "http://127.0.0.1:$port/join_guild" > /dev/null 2>&1
    sleep 0.4
done
kill -INT "$up"; wait "$up"
is "$?" "0" "streaming with compaction: exit 0"
nf=$(find "$tmpdir/c/lake/join_guilds" -name '*.parquet' | wc -l)
ok "$([ "$nf" -lt 12 ]; echo $?)" "small files merged while streaming ($nf files for 12 commits)"
is "$(duck "select count(*) as n, count(distinct event_id) as d from read_parquet('$tmpdir/c/lake/join_guilds/*/*.parquet', union_by_name=true)")" \
   '{"n":60,"d":60}' "every row once"
grep -q "warning" "$tmpdir/c.err"; ok $((! $?)) "no warnings"
"$QL" up --help | grep -q "^usage: questlog up"; ok $? "--help"
done_testing
