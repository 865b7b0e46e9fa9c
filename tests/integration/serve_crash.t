#!/usr/bin/env bash
# serve_crash.t — kill -9 under concurrent load. While ab hammers a route and
# 8 keep-alive clients send GETs and POST /events batches (each request
# marked with a unique `seq` and noting the event ids it got back with its
# 200), `questlog serve` is killed with SIGKILL. Then: every request that got
# a 200 is in the log exactly once (by event_id for POSTs, by seq for GETs),
# no event_id appears twice, and a restarted serve recovers the log and adds
# to it.
. "$(dirname "$0")/../lib.sh"
command -v ab >/dev/null || skip_all "ab (apache2-utils) not installed"

data="$tmpdir/data"
port="$(free_port)"
"$QL" serve --data "$data" --listen "127.0.0.1:$port" --threads 2 > /dev/null 2> "$tmpdir/serve.err" &
pid=$!
_bg_pids+=($pid)
wait_port "$port"
ok $? "serve listens"

ab -r -q -c 32 -n 1000000 -H "Host: ab.example" "http://127.0.0.1:$port/purchase_a_sword?sword_type=ab" > "$tmpdir/ab.out" 2>&1 &
abpid=$!
_bg_pids+=($abpid)

# 8 keep-alive clients; each writes "kind seq ids..." for every 200 it got.
python3 - "$port" "$tmpdir/acked" > "$tmpdir/load.out" 2>&1 <<'EOF' &
import http.client, json, sys, threading
port, out = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
acked = open(out, "w")
def client(t):
    seq = 0
    conn = None
    while True:
        seq += 1
        tag = "%d-%d" % (t, seq)
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            if seq % 2:
                body = "\n".join(json.dumps({"event_type": "join_guild", "seq": tag, "i": i}) for i in range(3))
                conn.request("POST", "/events", body, {"Content-Type": "application/x-ndjson"})
            else:
                conn.request("GET", "/join_guild?seq=" + tag)
            r = conn.getresponse()
            data = r.read()
        except Exception:
            conn = None
            try:
                socket_probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                socket_probe.request("GET", "/healthz"); socket_probe.getresponse().read()
            except Exception:
                return  # the server is gone
            continue
        if r.status != 200:
            continue
        with lock:
            if seq % 2:
                acked.write("post %s %s\n" % (tag, " ".join(json.loads(data)["event_ids"])))
            else:
                acked.write("get %s\n" % tag)
            acked.flush()
ts = [threading.Thread(target=client, args=(t,)) for t in range(8)]
for t in ts: t.start()
for t in ts: t.join()
EOF
loadpid=$!
# kill -9 while the clients are busy: once 200 requests were acknowledged
acked_some() { [ "$(cat "$tmpdir/acked" 2>/dev/null | wc -l)" -ge 200 ]; }
wait_for acked_some
kill -9 "$pid"
wait "$pid" 2>/dev/null
wait "$loadpid"
kill "$abpid" 2>/dev/null
wait "$abpid" 2>/dev/null
n_acked="$(wc -l < "$tmpdir/acked")"
diag "$n_acked requests acknowledged by the python clients before the kill"
[ "$n_acked" -gt 20 ]
ok $? "the clients got 200s before the kill"

"$QL" cat --data "$data" --from beginning -e > "$tmpdir/cat" 2> "$tmpdir/cat.err"
ok $? "questlog cat reads the log after the kill"
cat > "$tmpdir/check.py" <<'EOF'
import collections, json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
ids = collections.Counter(e["event_id"] for e in evs)
dup = [i for i, n in ids.items() if n > 1]
assert not dup, "duplicate event ids: %s" % dup[:5]
by_seq = collections.Counter(e["seq"] for e in evs if "seq" in e)
missing = []
for line in open(sys.argv[2]):
    f = line.split()
    if f[0] == "post":
        tag, got = f[1], f[2:]
        assert len(got) == 3
        for i in got:
            if ids[i] != 1: missing.append(i)
        if by_seq[tag] != 3: missing.append(tag)
    else:
        if by_seq[f[1]] != 1: missing.append(f[1])
assert not missing, "acknowledged but not in the log exactly once: %s" % missing[:10]
# all-or-nothing: a POST's three events are all there or none
for e in evs:
    if e.get("seq") and "-" in e["seq"] and e.get("i") is not None:
        assert by_seq[e["seq"]] == 3, "a POST was half-logged: %s" % e["seq"]
print("# %d events in the log, %d from ab" % (len(evs), sum(1 for e in evs if e.get("Host") == "ab.example")))
EOF
python3 "$tmpdir/check.py" "$tmpdir/cat" "$tmpdir/acked"
ok $? "every acknowledged request is in the log exactly once; no POST half-logged"
before="$(wc -l < "$tmpdir/cat")"

"$QL" serve --data "$data" --listen "127.0.0.1:$port" > /dev/null 2> "$tmpdir/serve2.err" &
pid=$!
_bg_pids+=($pid)
wait_port "$port"
is "$(curl -s "http://127.0.0.1:$port/join_guild?seq=after")" "Guild joined!" "restarted after kill -9: serves again"
kill -TERM "$pid"
wait "$pid"
is "$?" 0 "clean stop"
"$QL" cat --data "$data" --from beginning -e > "$tmpdir/cat2" 2>/dev/null
# Recovery may keep records that were written but whose fsync the kill cut
# short (never acknowledged): the log only promises the acknowledged ones.
is "$(head -n "$before" "$tmpdir/cat2" | md5sum)" "$(md5sum < "$tmpdir/cat")" "events read before the restart are unchanged"
tail -1 "$tmpdir/cat2" | grep -q '"seq":"after"'
ok $? "the new event comes last"
python3 "$tmpdir/check.py" "$tmpdir/cat2" "$tmpdir/acked"
ok $? "after recovery: still every acknowledged request exactly once, no duplicates"
done_testing
