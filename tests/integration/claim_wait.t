#!/usr/bin/env bash
# claim_wait.t — a loader whose partition claim is held by another process
# (here `flock` standing in for a stopped loader) waits, says every 10 s on
# stderr which pid holds the claim, and loads everything once it is free.
# The claim is freed once load has said so (at most 60 s: then the check fails).
. "$(dirname "$0")/../lib.sh"
command -v flock >/dev/null || skip_all "flock (util-linux) not installed"

DATA="$tmpdir/data"
LAKE="$DATA/lake"
serve_bg "$DATA"
for i in 1 2 3 4 5; do curl -sf "http://127.0.0.1:$port/purchase_a_sword?sword_type=katana" >/dev/null; done
kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null

mkdir -p "$LAKE"
# hold partition 0's claim, as a loader stopped with SIGSTOP would, until
# the waiting loader has said whom it waits for (after 10 s of waiting)
exec 9>"$LAKE/.partition-00000.lock"
flock 9
echo "$$ 0123456789abcdef 1" >&9
said_who() { grep -q "waiting [0-9]* s for partition 0's claim" "$tmpdir/load.err" 2>/dev/null; }
( wait_for said_who; flock -u 9 ) &
holder=$!
exec 9>&-
"$QL" load --once -q --data "$DATA" 2>"$tmpdir/load.err"
ok $? "load --once succeeds once the claim is free"
wait "$holder"
grep -q "waiting [0-9]* s for partition 0's claim in the lake, held by loader pid $$ " "$tmpdir/load.err"
ok $? "while waiting, load says which claim it waits for and who holds it"
sed 's/^/# /' "$tmpdir/load.err"
is "$("$QL" query --lake "$LAKE" --format csv "select count(*) from purchases" | tail -1)" "5" \
   "every event is loaded after the wait"
done_testing
