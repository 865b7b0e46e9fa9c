#!/usr/bin/env bash
# cat.t — `questlog cat` over the embedded log: --from beginning|end|OFFSET,
# -e with kcat's end note, follow mode picking up records another process
# appends (across segment rolls), quiet exit on a closed pipe, corruption
# reported, --help and usage errors. The log is filled by tests/tools/logfill
# (appends through the log API).
. "$(dirname "$0")/../lib.sh"
FILL="$QL_BUILD_DIR/tools/logfill"
[ -x "$FILL" ] || skip_all "logfill not built (make tools)"
D="$tmpdir/data"

"$FILL" --segment-bytes 2k "$D/log" 50
ok $? "logfill wrote 50 records"

out=$("$QL" cat --data "$D" --from beginning -e 2>"$tmpdir/err"); rc=$?
is "$rc" 0 "cat -e exits 0 at the end"
is "$(printf '%s\n' "$out" | wc -l)" 50 "50 lines"
is "$(printf '%s\n' "$out" | head -1)" '{"event_type":"fill","n":0,"tag":"x"}' "first line is the first event's JSON"
is "$(printf '%s\n' "$out" | tail -1)" '{"event_type":"fill","n":49,"tag":"x"}' "last line is the last event"
is "$(cat "$tmpdir/err")" "% Reached end of log at offset 50: exiting" "kcat-style end note on stderr"
is "$(printf '%s\n' "$out" | python3 -c 'import sys,json; print(sum(1 for l in sys.stdin if json.loads(l)["event_type"]=="fill"))')" 50 "every line is valid JSON"
ok "$([ "$(ls "$D/log"/*.log | wc -l)" -gt 1 ]; echo $?)" "the records span several segments"

out=$("$QL" cat --data "$D" -e 2>/dev/null)
is "$(printf '%s\n' "$out" | wc -l)" 50 "--from defaults to beginning"

out=$("$QL" cat --data "$D" --from 45 -e 2>/dev/null)
is "$(printf '%s\n' "$out" | head -1)" '{"event_type":"fill","n":45,"tag":"x"}' "--from 45 starts at offset 45"
is "$(printf '%s\n' "$out" | wc -l)" 5 "--from 45 gives 5 records"

out=$("$QL" cat --data "$D" --from end -e 2>"$tmpdir/err"); rc=$?
is "$rc/$out" "0/" "--from end -e prints nothing"
is "$(cat "$tmpdir/err")" "% Reached end of log at offset 50: exiting" "and reports the end offset"

# follow mode: one cat from the end, one from the beginning, while another
# process appends 30 more (rolling segments)
"$QL" cat --data "$D" --from end > "$tmpdir/follow_end" 2>"$tmpdir/follow_err" &
p1=$!; _bg_pids+=($p1)
"$QL" cat --data "$D" > "$tmpdir/follow_all" 2>&1 &
p2=$!; _bg_pids+=($p2)
# both must have found their start before the writer appends (--from end
# is the end at that moment): wait until each naps in its follow loop
napping() { local p; for p; do read -r nr _ <"/proc/$p/syscall" 2>/dev/null && [ "$nr" = 35 -o "$nr" = 230 ] || return 1; done; }
wait_for -t 20 napping $p1 $p2 || diag "could not see both cats napping (/proc/PID/syscall)"
"$FILL" --segment-bytes 2k --start 50 --tag y "$D/log" 30
ok $? "a second writer process appended 30 more"
caught_up() { [ "$(wc -l < "$tmpdir/follow_end")" -ge 30 ] && [ "$(wc -l < "$tmpdir/follow_all")" -ge 80 ]; }
wait_for caught_up
is "$(wc -l < "$tmpdir/follow_end")" 30 "follow from the end sees exactly the 30 new records"
is "$(head -1 "$tmpdir/follow_end")" '{"event_type":"fill","n":50,"tag":"y"}' "starting with the first new one"
is "$(tail -1 "$tmpdir/follow_end")" '{"event_type":"fill","n":79,"tag":"y"}' "ending with the last"
is "$(wc -l < "$tmpdir/follow_all")" 80 "follow from the beginning sees all 80"
is "$(python3 -c 'import sys,json; print(",".join(str(json.loads(l)["n"]) for l in open(sys.argv[1])) == ",".join(map(str,range(80))))' "$tmpdir/follow_all")" True "in order, none twice"
kill -0 $p1 2>/dev/null; ok $? "cat keeps following (no -e)"
kill -TERM $p1 $p2; wait $p1; rc=$?
is "$rc" 0 "SIGTERM ends cat with status 0"

# a closed pipe ends a following cat quietly
start=$(date +%s)
out=$(timeout 10 "$QL" cat --data "$D" 2>"$tmpdir/pipe_err" | head -3)
is "$(printf '%s\n' "$out" | wc -l)" 3 "cat | head -3"
ok "$([ $(( $(date +%s) - start )) -lt 5 ]; echo $?)" "cat exits when head closes the pipe (while following)"
is "$(cat "$tmpdir/pipe_err")" "" "no error message for the closed pipe"

# empty logs: a bare directory, and a log a writer created but never wrote to
mkdir -p "$tmpdir/bare/log"
out=$(timeout 10 "$QL" cat --data "$tmpdir/bare" -e 2>"$tmpdir/err"); rc=$?
is "$rc/$out/$(cat "$tmpdir/err")" "0//% Reached end of log at offset 0: exiting" "an empty log directory: -e ends at offset 0"
"$FILL" "$tmpdir/empty/log" 0
out=$(timeout 10 "$QL" cat --data "$tmpdir/empty" -e 2>"$tmpdir/err"); rc=$?
is "$rc/$out/$(cat "$tmpdir/err")" "0//% Reached end of log at offset 0: exiting" "a created, empty log: -e ends at offset 0"

# usage
"$QL" cat --help > "$tmpdir/help"; rc=$?
is "$rc" 0 "--help exits 0"
grep -q -- "--from" "$tmpdir/help" && grep -q -- "--data DIR" "$tmpdir/help"; ok $? "--help lists --from and the common flags"
"$QL" cat --data "$D" --from yesterday -e >/dev/null 2>"$tmpdir/err"; rc=$?
is "$rc" 2 "a bad --from is a usage error"
grep -q "^questlog cat: --from" "$tmpdir/err"; ok $? "with a message"
"$QL" cat --data "$tmpdir/nothing-here" -e >/dev/null 2>"$tmpdir/err"; rc=$?
is "$rc" 1 "a missing log is an error"
grep -q "^questlog cat: no log at" "$tmpdir/err"; ok $? "saying so"

# corruption in a sealed segment is reported, not skipped
first=$(ls "$D/log"/*.log | head -1)
printf 'X' | dd of="$first" bs=1 seek=40 conv=notrunc 2>/dev/null
out=$("$QL" cat --data "$D" -e 2>"$tmpdir/err"); rc=$?
is "$rc" 1 "cat fails on a corrupt record"
grep -q "corrupt log: .* in segment $first at byte" "$tmpdir/err"; ok $? "naming the segment and position"
ok "$([ "$(printf '%s' "$out" | grep -c .)" -eq 0 ]; echo $?)" "nothing past the corruption is printed"

done_testing
