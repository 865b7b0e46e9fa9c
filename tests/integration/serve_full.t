#!/usr/bin/env bash
# serve_full.t — 503 when the log cannot take writes: `questlog serve` on a
# 300 KiB tmpfs fills it with POST /events batches. Once the disk is full the
# answer is 503 with a JSON error, never a 200; afterwards the log holds
# exactly the events of the requests that got a 200 (all of each request,
# none of any 503'd request), and small requests that fit still succeed.
# Needs root to mount a tmpfs (skipped otherwise).
. "$(dirname "$0")/../lib.sh"

mnt="$tmpdir/small"
mkdir -p "$mnt"
mount -t tmpfs -o size=300k tmpfs "$mnt" 2>/dev/null || skip_all "cannot mount a tmpfs (needs root)"
trap 'for p in "${_bg_pids[@]:-}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; umount "$mnt"; rm -rf "$tmpdir"' EXIT

port="$(free_port)"
"$QL" serve --data "$mnt/data" --listen "127.0.0.1:$port" > /dev/null 2> "$tmpdir/serve.err" &
pid=$!
_bg_pids+=($pid)
wait_port "$port"
ok $? "serve listens (data on a 300 KiB tmpfs)"

python3 - "$port" "$tmpdir/results" <<'EOF'
import http.client, json, sys
port, out = int(sys.argv[1]), open(sys.argv[2], "w")
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
for n in range(150):
    body = "\n".join(json.dumps({"event_type": "join_guild", "req": n, "i": i, "pad": "x" * 1000}) for i in range(4))
    c.request("POST", "/events", body, {"Content-Type": "application/x-ndjson"})
    r = c.getresponse()
    d = json.loads(r.read())
    out.write("%d %d %s\n" % (n, r.status, " ".join(d.get("event_ids", [])) if r.status == 200 else json.dumps(d["error"])))
EOF
ok $? "150 POSTs of 4 KiB each answered"
n200="$(awk '$2 == 200' "$tmpdir/results" | wc -l)"
n503="$(awk '$2 == 503' "$tmpdir/results" | wc -l)"
diag "$n200 answered 200, $n503 answered 503"
[ "$n200" -gt 0 ] && [ "$n503" -gt 0 ] && [ $((n200 + n503)) -eq 150 ]
ok $? "some 200s, then 503s once the disk is full, nothing else"
grep ' 503 ' "$tmpdir/results" | head -1 | grep -qi "space"
ok $? "the 503 says why: $(grep ' 503 ' "$tmpdir/results" | head -1 | cut -d' ' -f3-)"
is "$(curl -s "http://127.0.0.1:$port/healthz")" '{"status":"ok"}' "still alive after the 503s"
small="$(curl -s -w ' %{http_code}' "http://127.0.0.1:$port/join_guild?small=1")"
case "$small" in
"Guild joined!"*200) ok 0 "a small event that fits is still accepted";;
*503) ok 0 "a small event is refused with 503 too (disk completely full)";;
*) ok 1 "small event: unexpected answer '$small'";;
esac
kill -TERM "$pid"
wait "$pid"
is "$?" 0 "clean stop with a full disk"

"$QL" cat --data "$mnt/data" --from beginning -e > "$tmpdir/cat" 2> "$tmpdir/cat.err"
ok $? "questlog cat reads the full log"
python3 - "$tmpdir/cat" "$tmpdir/results" <<'EOF'
import collections, json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
by_req = collections.Counter(e["req"] for e in evs if "req" in e)
ids = collections.Counter(e["event_id"] for e in evs)
for line in open(sys.argv[2]):
    f = line.split(" ", 2)
    n, status = int(f[0]), int(f[1])
    if status == 200:
        assert by_req[n] == 4, "request %d got 200 but has %d events in the log" % (n, by_req[n])
        assert all(ids[i] == 1 for i in f[2].split()), "acknowledged ids missing"
    else:
        assert by_req[n] == 0, "request %d got 503 but %d of its events are in the log" % (n, by_req[n])
EOF
ok $? "log = exactly the events of the 200s; nothing of a 503'd request"
done_testing
