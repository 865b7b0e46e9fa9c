#!/usr/bin/env bash
# odd_keys.t — records whose keys cannot be Parquet column names (the empty
# key, a key with \u0000) from any producer on the log, or in an import: the
# loader keeps the event and its other fields and makes no column of such a
# key, instead of failing (which stopped `load` for good: each restart
# resumes at the same record). Found by the fuzz_loader campaign.
. "$(dirname "$0")/../lib.sh"

DATA="$tmpdir/data"
LAKE="$DATA/lake"
{
    printf '%s\n' '{"event_type":"default","":"empty","k":"1"}'
    printf '%s\n' '{"event_type":"default","a":"plain","a\u0000":"nul","k":"2"}'
    printf '%s\n' '{"event_type":"default","a\u0000b":"nul-first","k":"3"}'
    printf '%s\n' '{"event_type":"default","a":"after","k":"4"}'
} > "$tmpdir/odd.jsonl"

mkdir -p "$DATA"
"$QL_BUILD_DIR/tools/logwrite" "$DATA/log" < "$tmpdir/odd.jsonl"
ok $? "four records with odd keys written into the log"
"$QL" load --once -q --data "$DATA" 2> "$tmpdir/err"
ok $? "load --once takes them"
[ -s "$tmpdir/err" ] && sed 's/^/# /' "$tmpdir/err"
q() { "$QL" query --lake "$1" --format csv "$2" | tail -n +2; }
is "$(q "$LAKE" "select k, a from extracted_events order by k" | tr '\n' ' ')" '1, 2,plain 3, 4,after ' \
   "every event loaded; 'a' holds only the key \"a\""
is "$(q "$LAKE" "select count(*) from _rejected")" "0" "nothing rejected"

"$QL" import -q --lake "$tmpdir/lake2" "$tmpdir/odd.jsonl" 2> "$tmpdir/err2"
ok $? "import takes them too"
[ -s "$tmpdir/err2" ] && sed 's/^/# /' "$tmpdir/err2"
is "$(q "$tmpdir/lake2" "select k, a from extracted_events order by k" | tr '\n' ' ')" '1, 2,plain 3, 4,after ' \
   "imported the same"
done_testing
