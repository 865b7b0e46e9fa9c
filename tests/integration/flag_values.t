#!/usr/bin/env bash
# flag_values.t — the shared checks of flag values (cli.c ql_cli_codec,
# ql_cli_size and ql_cli_int, sqlout.c ql_sqlout_format_flag): every command that takes
# --codec, a count/size flag or --format refuses a bad value the same way,
# "questlog CMD: …" on stderr and exit status 2, before touching any data;
# a good value gets past the flag parsing.
. "$(dirname "$0")/../lib.sh"

# refuses CMD-ARGS… EXPECTED-MESSAGE: exit 2 and exactly that one line on stderr.
refuses() {
    local want="${*: -1}" args=("${@:1:$#-1}") st
    "$QL" "${args[@]}" >/dev/null 2>"$tmpdir/err"
    st=$?
    is "$st:$(cat "$tmpdir/err")" "2:$want" "${args[*]}"
}

for cmd in load compact import; do
    refuses $cmd --codec lzma "questlog $cmd: unknown codec 'lzma' (zstd, snappy or none)"
done
refuses load --batch-rows 0 "questlog load: bad --batch-rows '0'"
refuses load --batch-rows many "questlog load: bad --batch-rows 'many'"
refuses compact --max-bytes 1Q "questlog compact: bad --max-bytes '1Q'"
refuses import --file-rows 0 "questlog import: bad --file-rows '0'"
# integer flags (cli.c ql_cli_int): a number in range and nothing after it
refuses up --threads x "questlog up: --threads wants 0..64, got 'x'"
refuses up --threads 65 "questlog up: --threads wants 0..64, got '65'"
refuses serve --threads 2x "questlog serve: --threads wants 0..256, got '2x'"
refuses compact --min-files 3x "questlog compact: --min-files wants 2..1000000, got '3x'"
refuses compact --min-files 1 "questlog compact: --min-files wants 2..1000000, got '1'"
refuses import --zstd-level 0 "questlog import: --zstd-level wants 1..19, got '0'"
refuses import --workers 9x "questlog import: --workers wants 1..64, got '9x'"
for cmd in query tables describe; do
    refuses $cmd --format xml "questlog $cmd: unknown format 'xml' (table, csv, json, md)"
done

# Good values pass the flag parsing: the command goes on to its own checks
# and stops at the next one (a lake that does not exist), exit status 1.
"$QL" tables --format csv --lake "$tmpdir/none" >/dev/null 2>"$tmpdir/err"
st=$?
msg=$(cat "$tmpdir/err")
is "$st:${msg%% (pass*}" "1:questlog tables: no lake at '$tmpdir/none'" "tables --format csv is accepted"
"$QL" compact --codec snappy --max-bytes 64M -n --lake "$tmpdir/none" >/dev/null 2>"$tmpdir/err"
st=$?
msg=$(cat "$tmpdir/err")
is "$st:${msg%% (pass*}" "1:questlog compact: no lake at '$tmpdir/none'" "compact --codec snappy --max-bytes 64M are accepted"
"$QL" compact --min-files 3 -n --lake "$tmpdir/none" >/dev/null 2>"$tmpdir/err"
st=$?
msg=$(cat "$tmpdir/err")
is "$st:${msg%% (pass*}" "1:questlog compact: no lake at '$tmpdir/none'" "compact --min-files 3 is accepted"

done_testing
