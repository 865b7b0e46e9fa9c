#!/usr/bin/env bash
# claim_wait.t — a loader whose partition claim is held by another process
# (a bash subshell standing in for a peer loader: it holds the claim file's
# flock with its own pid in the token) waits for it and says every 10 s on
# stderr which pid holds the claim, and that it is stopped when it is.
#   1. holder stopped (kill -STOP): `load --once --claim-timeout 11` says so
#      at 10 s, then exits non-zero naming the stopped holder; `up
#      --claim-timeout 2` exits non-zero the same way; nothing committed to
#      the lake;
#   2. holder resumed (kill -CONT): `load --once` (no deadline) waits, says
#      whom it waits for, and loads everything once the claim is free —
#      tables exact against DuckDB.
# Every wait is on a condition (capped at 60 s: then the check fails).
. "$(dirname "$0")/../lib.sh"
command -v flock >/dev/null || skip_all "flock (util-linux) not installed"

DATA="$tmpdir/data"
LAKE="$DATA/lake"
serve_bg "$DATA"
for i in 1 2 3 4 5; do curl -sf "http://127.0.0.1:$port/purchase_a_sword?sword_type=katana" >/dev/null; done
for i in 1 2 3; do curl -sf "http://127.0.0.1:$port/join_guild" >/dev/null; done
for i in 1 2; do curl -sf "http://127.0.0.1:$port/" >/dev/null; done
kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null

mkdir -p "$LAKE"
# The holder: takes partition 0's claim as a loader does (flock, token "PID
# RANDOM SEQ") and keeps it until $tmpdir/release exists.
hold_claim() {
    exec 9>"$LAKE/.partition-00000.lock"
    flock 9 || exit 1
    echo "$BASHPID 0123456789abcdef 1" >&9
    : >"$tmpdir/held"
    wait_for -t 300 test -e "$tmpdir/release"
}
bg hold_claim
holder=$!
wait_for test -e "$tmpdir/held"
ok $? "the holder (pid $holder) has partition 0's claim"
kill -STOP "$holder"
# (the stop is asynchronous: the state turns T once the kernel delivers it)
holder_stopped() { [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$holder/stat")" = T ]; }
wait_for -t 30 holder_stopped
ok $? "… and is stopped (kill -STOP)"

# 1. a deadline: the loader gives up, says whom it waited for, commits nothing
timeout 120 "$QL" load --once -q --data "$DATA" --claim-timeout 11 2>"$tmpdir/load1.err"
rc=$?
ok $(( rc == 0 || rc == 124 )) "load --claim-timeout 11 exits non-zero (not by timeout(1)) while a stopped loader holds the claim (exit $rc)"
sed 's/^/# /' "$tmpdir/load1.err"
grep -q "waiting 1[0-9] s for partition 0's claim in the lake, held by loader pid $holder, which is STOPPED (state T in /proc/$holder/stat" "$tmpdir/load1.err"
ok $? "after 10 s it says the holder is stopped"
grep -q "^questlog load: .*gave up after 1[1-9] s (claim timeout) waiting for partition 0's claim in the lake, held by loader pid $holder, which is STOPPED" "$tmpdir/load1.err"
ok $? "the error names the stopped holder"
uport=$(free_port)
timeout 120 "$QL" up -q --data "$DATA" --listen "127.0.0.1:$uport" --claim-timeout 2 >/dev/null 2>"$tmpdir/up.err"
rc=$?
kill -CONT "$holder"
ok $(( rc == 0 || rc == 124 )) "up --claim-timeout 2 exits non-zero too (exit $rc)"
sed 's/^/# /' "$tmpdir/up.err"
grep -q "^questlog up: the loader stopped: .*gave up after [2-9].[0-9] s (claim timeout) waiting for partition 0's claim in the lake, held by loader pid $holder, which is STOPPED" "$tmpdir/up.err"
ok $? "… its error names the stopped holder"
is "$(find "$LAKE" \( -name '*.parquet' -o -name '_offsets*' -o -name '*.tmp' \) | wc -l)" 0 \
   "nothing committed (no data file, marker or temp file in the lake)"

# 2. resumed: the loader waits for ever by default and loads all once free
released() { grep -q "waiting [0-9]* s for partition 0's claim" "$tmpdir/load2.err" 2>/dev/null && : >"$tmpdir/release"; }
( wait_for released ) &
releaser=$!
timeout 120 "$QL" load --once -q --data "$DATA" 2>"$tmpdir/load2.err"
ok $? "load --once succeeds once the claim is free"
wait "$releaser"
sed 's/^/# /' "$tmpdir/load2.err"
grep -q "waiting [0-9]* s for partition 0's claim in the lake, held by loader pid $holder (a stopped or hung" "$tmpdir/load2.err"
ok $? "while waiting, load says which claim it waits for and who holds it (running again: not 'STOPPED')"
is "$("$QL" query --lake "$LAKE" --format csv "select count(*) from purchases" | tail -1)" "5" \
   "every event is loaded after the wait"
got=$(duck "SELECT (SELECT count(*) || '/' || count(DISTINCT event_id) FROM read_parquet('$LAKE/purchases/*/*.parquet')) || ' ' ||
               (SELECT count(*) || '/' || count(DISTINCT event_id) FROM read_parquet('$LAKE/join_guilds/*/*.parquet')) || ' ' ||
               (SELECT count(*) || '/' || count(DISTINCT event_id) FROM read_parquet('$LAKE/default_hits/*/*.parquet')) || ' ' ||
               (SELECT count(*) || '/' || count(DISTINCT event_id) FROM read_parquet('$LAKE/extracted_events/*/*.parquet')) AS c" |
      sed 's/.*"c":"\([^"]*\)".*/\1/')
is "$got" "5/5 3/3 2/2 10/10" "tables exact (DuckDB): 5 purchases, 3 joins, 2 defaults, 10 events, each once"
done_testing
