#!/usr/bin/env bash
# serve.t — `questlog serve` on loopback: the seed's routes driven with ab as
# in the seed, query parameters, POST /events (object and NDJSON), every error
# status, /healthz /metrics /stats, graceful SIGTERM, then the log read back
# with `questlog cat` and checked field by field; a restart on the same data
# keeps the old events.
. "$(dirname "$0")/../lib.sh"
command -v ab >/dev/null || skip_all "ab (apache2-utils) not installed"

data="$tmpdir/data"
port="$(free_port)"
base="http://127.0.0.1:$port"
"$QL" serve --data "$data" --listen "127.0.0.1:$port" --threads 2 > "$tmpdir/serve.out" 2> "$tmpdir/serve.err" &
pid=$!
_bg_pids+=($pid)
wait_port "$port"
ok $? "serve listens on $port"
# (the port opens just before the line is printed: wait for it)
wait_for grep -q "listening on" "$tmpdir/serve.out"
grep -q "listening on http://127.0.0.1:$port/" "$tmpdir/serve.out"
ok $? "serve prints where it listens"

# --- the seed's way: ab with a Host header ----------------------------------
ab -n 10 -H "Host: user1.comcast.com" "$base/purchase_a_sword" > "$tmpdir/ab.out" 2>&1
grep -q "Complete requests: *10" "$tmpdir/ab.out" && grep -q "Failed requests: *0" "$tmpdir/ab.out" &&
    ! grep -q "Non-2xx" "$tmpdir/ab.out"
ok $? "ab -n 10 /purchase_a_sword: 10 complete, 0 failed, all 2xx"
ab -n 5 -H "Host: user2.att.com" "$base/join_guild" > "$tmpdir/ab2.out" 2>&1
grep -q "Complete requests: *5" "$tmpdir/ab2.out" && ! grep -q "Non-2xx" "$tmpdir/ab2.out"
ok $? "ab -n 5 /join_guild: all 2xx"

# --- every seed route and its text -------------------------------------------
check_route() {  # PATH TEXT
    local code
    code="$(curl -s -o "$tmpdir/body" -w '%{http_code}' "$base$1")"
    is "$code $(cat "$tmpdir/body")" "200 $2" "GET $1 -> 200 '$2'"
}
check_route / "This is the default response!"
check_route /purchase_a_sword "Sword Purchased!"
check_route /purchase_sword "Sword Purchased!"
check_route /buy_a_sword "Sword Purchased!"
check_route /join_guild "Guild joined!"
is "$(curl -s -o /dev/null -w '%{content_type}' "$base/join_guild")" "text/plain; charset=utf-8" "route answers text/plain"

# query parameters, typed, reserved names dropped, credentials not recorded
is "$(curl -s -H 'Authorization: Bearer s3cr3t' -H 'Cookie: sid=s3cr3t' -H 'event_type: hacked' \
      "$base/purchase_a_sword?sword_type=katana&price=12&event_id=forged&note=a%20b")" "Sword Purchased!" \
   "typed query parameters accepted"

# --- POST /events --------------------------------------------------------------
resp="$(curl -s -H 'Content-Type: application/json' --data-binary \
        '{"event_type":"purchase_sword","sword_type":"claymore","price":"30","player":{"id":7,"level":12}}' "$base/events")"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["accepted"]==1 and len(r["event_ids"])==1' "$resp"
ok $? "POST /events one object: accepted 1 ($resp)"
echo "$resp" > "$tmpdir/post1.json"
printf '{"event_type":"join_guild","guild_id":"g1"}\n{"event_type":"join_guild","guild_id":"g2"}\n\n{"event_type":"default"}\n' > "$tmpdir/nd"
resp="$(curl -s -H 'Content-Type: application/x-ndjson' --data-binary @"$tmpdir/nd" "$base/events")"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["accepted"]==3 and len(set(r["event_ids"]))==3' "$resp"
ok $? "POST /events NDJSON: accepted 3, three ids"
echo "$resp" > "$tmpdir/post3.json"

# --- errors: JSON with the right status --------------------------------------
expect() {  # STATUS NAME CURL-ARGS...
    local want="$1" name="$2" out code
    shift 2
    out="$(curl -s -w '\n%{http_code}' "$@")"
    code="${out##*$'\n'}"
    out="${out%$'\n'*}"
    out="${out%$'\n'}"
    is "$code" "$want" "$name -> $want"
    python3 -c 'import json,sys; assert "error" in json.loads(sys.argv[1])' "$out"
    ok $? "  JSON error body: $out"
    last_body="$out"
}
expect 400 "bad JSON" --data-binary '{"event_type":"join_guild",' "$base/events"
expect 400 "unknown event type" --data-binary '{"event_type":"dragon_slain"}' "$base/events"
expect 400 "missing event_type" --data-binary '{"guild_id":"x"}' "$base/events"
expect 400 "body event_id is reserved" --data-binary '{"event_type":"join_guild","event_id":"x"}' "$base/events"
expect 400 "NDJSON with one bad line" --data-binary $'{"event_type":"join_guild","guild_id":"never1"}\n{"event_type":"nope"}' "$base/events"
expect 400 "empty body" --data-binary '' "$base/events"
expect 400 "price=abc" "$base/purchase_a_sword?price=abc&sword_type=never2"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert r["field"]=="price" and "price" in r["error"]' "$last_body"
ok $? "  the error names the field"
expect 400 "typed body field" --data-binary '{"event_type":"purchase_sword","price":1.5,"sword_type":"never3"}' "$base/events"
expect 404 "unknown route" "$base/dragon"
expect 405 "POST to a GET route" -X POST "$base/join_guild"
expect 405 "GET /events" "$base/events"
is "$(curl -s -o /dev/null -D - "$base/events" | tr -d '\r' | awk -F': ' 'tolower($1)=="allow" {print $2}')" "POST" "405 says Allow: POST"
expect 431 "headers over max_headers (16k)" -H "X-Big: $(head -c 17000 /dev/zero | tr '\0' a)" "$base/join_guild?guild_id=never4"
head -c 1100000 /dev/zero | tr '\0' ' ' > "$tmpdir/big"
expect 413 "body over max_body (1M)" --data-binary @"$tmpdir/big" "$base/events"
expect 413 "chunked body over max_body (1M)" -H 'Transfer-Encoding: chunked' --data-binary @"$tmpdir/big" "$base/events"
# a small body whose events are too big for one log append (each event
# carries the request's 15k header; 1300 events > the log's 16 MiB queue)
for i in $(seq 1300); do echo '{"event_type":"default","note":"never5"}'; done > "$tmpdir/many"
expect 413 "events too large for the log" -H "X-Big: $(head -c 15000 /dev/zero | tr '\0' a)" --data-binary @"$tmpdir/many" "$base/events"
grep -q "too large for the log" <<<"$last_body"
ok $? "  says the log refused them"
curl -s "$base/metrics" | grep -q '^questlog_http_requests_total{route="/events",status="413"} 3$'
ok $? "/metrics counts the three 413s (h2o's two included)"

# --- built-in routes -------------------------------------------------------------
is "$(curl -s "$base/healthz")" '{"status":"ok"}' "GET /healthz"
curl -s "$base/metrics" > "$tmpdir/metrics"
grep -q '^questlog_http_requests_total{route="/purchase_a_sword",status="200"} 12$' "$tmpdir/metrics"
ok $? "/metrics counts requests by route and status"
grep -q '^questlog_http_requests_total{route="/events",status="400"} 7$' "$tmpdir/metrics"
ok $? "/metrics counts 400s"
grep -q '^questlog_events_total{event_type="join_guild"} 9$' "$tmpdir/metrics"
ok $? "/metrics counts events by type"
grep -q '^questlog_log_records_total [0-9]' "$tmpdir/metrics" && grep -q '^questlog_log_bytes_total [0-9]' "$tmpdir/metrics"
ok $? "/metrics has the log's records and bytes"
grep -q '^questlog_log_commit_seconds_bucket{le="+Inf"} [1-9]' "$tmpdir/metrics" &&
    grep -q '^questlog_log_commit_seconds_count [1-9]' "$tmpdir/metrics"
ok $? "/metrics has the commit latency histogram"
curl -s "$base/stats" > "$tmpdir/stats"
python3 - "$tmpdir/stats" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["total"] == 26, s["total"]
assert s["event_types"]["purchase_sword"]["total"] == 15
assert s["event_types"]["join_guild"]["last_hour"] == 9
assert len(s["per_minute"]) == 60 and sum(m["total"] for m in s["per_minute"]) == 26
EOF
ok $? "/stats: totals per type and per minute (26 events)"

# --- graceful stop --------------------------------------------------------------
kill -TERM "$pid"
wait "$pid"
is "$?" 0 "SIGTERM: exit 0"

# --- read the log back ---------------------------------------------------------
"$QL" cat --data "$data" --from beginning -e > "$tmpdir/cat1" 2> "$tmpdir/cat.err"
ok $? "questlog cat -e"
python3 - "$tmpdir/cat1" "$tmpdir/post1.json" "$tmpdir/post3.json" <<'EOF'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
assert len(evs) == 26, len(evs)
ids = [e["event_id"] for e in evs]
assert len(set(ids)) == 26, "duplicate ids"
for e in evs:
    assert list(e)[:3] == ["event_type", "event_id", "timestamp"], list(e)[:3]
    assert e["timestamp"].endswith("Z") and len(e["timestamp"]) == 27
    for k in e:
        assert k.lower() not in ("authorization", "cookie", "proxy-authorization", "x-api-key"), k
    assert "s3cr3t" not in json.dumps(e)
    assert "never" not in json.dumps(e), "a rejected request was logged"
ab = [e for e in evs if e.get("Host") == "user1.comcast.com"]
assert len(ab) == 10 and all(e["event_type"] == "purchase_sword" and e["User-Agent"].startswith("ApacheBench") for e in ab)
assert len([e for e in evs if e.get("Host") == "user2.att.com" and e["event_type"] == "join_guild"]) == 5
k = [e for e in evs if e.get("sword_type") == "katana"][0]
assert k["price"] == 12 and k["note"] == "a b" and k["event_type"] == "purchase_sword" and k["event_id"] != "forged"
c = [e for e in evs if e.get("sword_type") == "claymore"][0]
assert c["price"] == 30 and c["player"] == {"id": 7, "level": 12}
assert c["event_id"] == json.load(open(sys.argv[2]))["event_ids"][0]
three = json.load(open(sys.argv[3]))["event_ids"]
assert [e["event_type"] for e in evs if e["event_id"] in three] == ["join_guild", "join_guild", "default"]
assert sorted(e.get("guild_id") for e in evs if e["event_id"] in three and "guild_id" in e) == ["g1", "g2"]
EOF
ok $? "the log holds the 26 acknowledged events, fields as sent, nothing rejected, no credentials"

# --- restart on the same data ------------------------------------------------------
"$QL" serve --data "$data" --listen "127.0.0.1:$port" > "$tmpdir/serve2.out" 2> "$tmpdir/serve2.err" &
pid=$!
_bg_pids+=($pid)
wait_port "$port"
is "$(curl -s "$base/join_guild?guild_id=after_restart")" "Guild joined!" "restarted serve answers"
kill -INT "$pid"
wait "$pid"
is "$?" 0 "SIGINT: exit 0"
"$QL" serve --data "$data" --listen "127.0.0.1:$port" > /dev/null 2>&1 &
pid=$!
_bg_pids+=($pid)
wait_port "$port"
"$QL" cat --data "$data" --from beginning -e > "$tmpdir/cat2"
is "$(wc -l < "$tmpdir/cat2")" 27 "restart kept the 26 old events and added 1"
is "$(head -26 "$tmpdir/cat2" | md5sum)" "$(md5sum < "$tmpdir/cat1")" "old events unchanged"
tail -1 "$tmpdir/cat2" | grep -q '"guild_id":"after_restart"'
ok $? "new event last"

# --- a second serve on the same port is refused, not sharing it (SO_REUSEPORT) -------
"$QL" serve --data "$tmpdir/other" --listen "127.0.0.1:$port" > /dev/null 2> "$tmpdir/busy.err"
is "$?" 1 "second serve on a busy port: exit 1"
grep -q "Address already in use" "$tmpdir/busy.err"
ok $? "  says the address is in use"
kill -TERM "$pid"
wait "$pid"

# --- config: API keys and limits ---------------------------------------------------
cat > "$tmpdir/q.conf" <<'EOF'
[server]
api_key = k1
api_key = k2
max_body = 1k
max_headers = 1k
deny_headers = Authorization, X-Api-Key, X-Internal
[event join_guild]
route = GET /join_guild
route = POST /join_guild
response = joined\n
param.level = int
EOF
data2="$tmpdir/data2"
"$QL" serve --data "$data2" --config "$tmpdir/q.conf" --listen "127.0.0.1:$port" > /dev/null 2> "$tmpdir/serve3.err" &
pid=$!
_bg_pids+=($pid)
wait_port "$port"
expect 401 "no X-Api-Key" "$base/join_guild"
expect 401 "wrong X-Api-Key" -H 'X-Api-Key: nope' "$base/join_guild"
expect 401 "POST /events needs the key too" --data-binary '{"event_type":"join_guild"}' "$base/events"
is "$(curl -s -H 'X-Api-Key: k2' -H 'X-Internal: x' "$base/join_guild?level=3")" "joined" "right key -> 200, custom response"
is "$(curl -s -X POST -H 'X-Api-Key: k1' "$base/join_guild")" "joined" "POST route from the config"
is "$(curl -s "$base/healthz")" '{"status":"ok"}' "/healthz needs no key"
expect 404 "seed route not in this catalog" -H 'X-Api-Key: k1' "$base/purchase_a_sword"
head -c 2000 /dev/zero | tr '\0' ' ' > "$tmpdir/2k"
expect 413 "body over max_body 1k" -H 'X-Api-Key: k1' --data-binary @"$tmpdir/2k" "$base/events"
expect 431 "headers over max_headers 1k" -H 'X-Api-Key: k1' -H "X-Big: $(head -c 1100 /dev/zero | tr '\0' a)" "$base/join_guild"
kill -TERM "$pid"
wait "$pid"
"$QL" cat --data "$data2" --from beginning -e > "$tmpdir/cat3"
python3 - "$tmpdir/cat3" <<'EOF'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
assert len(evs) == 2, len(evs)
assert evs[0]["level"] == 3
for e in evs:
    assert not any(k.lower() in ("x-api-key", "x-internal") for k in e), e
EOF
ok $? "keyed server logged exactly the 2 authorized events, without X-Api-Key / X-Internal"

# --- bad invocations --------------------------------------------------------------
"$QL" serve --listen nonsense --data "$tmpdir/d3" > /dev/null 2> "$tmpdir/err4"
is "$?" 2 "bad --listen: a usage error, exit 2"
grep -q "^questlog serve: bad --listen 'nonsense' (want HOST:PORT" "$tmpdir/err4"
ok $? "  message on stderr"
"$QL" serve --help | grep -q "usage: questlog serve"
ok $? "serve --help"
"$QL" serve --bogus > /dev/null 2> "$tmpdir/err5"
is "$?" 2 "unknown option: exit 2"
grep -q "^questlog serve: unknown option '--bogus'" "$tmpdir/err5"
ok $? "  message on stderr"
done_testing
