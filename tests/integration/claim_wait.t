#!/usr/bin/env bash
# claim_wait.t — a loader whose partition claim is held by another process
# (here `flock` standing in for a stopped loader) waits, says every 10 s on
# stderr which pid holds the claim, and loads everything once it is free.
. "$(dirname "$0")/../lib.sh"
command -v flock >/dev/null || skip_all "flock (util-linux) not installed"

DATA="$tmpdir/data"
LAKE="$DATA/lake"
serve_bg "$DATA"
for i in 1 2 3 4 5; do curl -sf "http://127.0.0.1:$port/purchase_a_sword?sword_type=katana" >/dev/null; done
kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null

mkdir -p "$LAKE"
# hold partition 0's claim for 12 s, as a loader stopped with SIGSTOP would
exec 9>"$LAKE/.partition-00000.lock"
flock 9
echo "$$ 0123456789abcdef 1" >&9
( sleep 12; flock -u 9 ) &
holder=$!
exec 9>&-
sleep 0.5
"$QL" load --once -q --data "$DATA" 2>"$tmpdir/load.err"
ok $? "load --once succeeds once the claim is free"
wait "$holder"
grep -q "waiting [0-9]* s for partition 0's claim in the lake, held by loader pid $$ " "$tmpdir/load.err"
ok $? "while waiting, load says which claim it waits for and who holds it"
sed 's/^/# /' "$tmpdir/load.err"
is "$("$QL" query --lake "$LAKE" --format csv "select count(*) from purchases" | tail -1)" "5" \
   "every event is loaded after the wait"
done_testing
