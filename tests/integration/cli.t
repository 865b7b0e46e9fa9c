#!/usr/bin/env bash
# cli.t — the command line a newcomer meets: every command's --help (exit 0,
# stdout only, listing exactly the common flags the command takes), an
# unknown flag, a flag without its value and a stray operand (one line
# "questlog CMD: …" on stderr, exit 2), `questlog --version`, and the
# messages of the checks README readers hit first (query with no SQL, a bad
# --width or --listen, a lake or table that does not exist).
. "$(dirname "$0")/../lib.sh"

cmds="up serve load cat import query tables describe report simulate compact inspect"

# one_line_error EXPECTED-STATUS EXPECTED-LINE NAME -- ARGS…: exactly that
# line on stderr, nothing on stdout, that exit status.
one_line_error() {
    local want_st=$1 want=$2 name=$3 st
    shift 4
    timeout 30 "$QL" "$@" >"$tmpdir/out" 2>"$tmpdir/err" </dev/null   # a regression fails, never hangs
    st=$?
    is "$st|$(cat "$tmpdir/err")|$(wc -c <"$tmpdir/out")" "$want_st|$want|0" "$name"
}

for c in $cmds; do
    "$QL" $c --help >"$tmpdir/out" 2>"$tmpdir/err"
    st=$?
    first=$(head -1 "$tmpdir/out")
    is "$st|${first%% *} ${first#* }|$(wc -c <"$tmpdir/err")" "0|usage: questlog $c${first#usage: questlog $c}|0" "$c --help: exit 0, stdout, starts 'usage: questlog $c'"
    one_line_error 2 "questlog $c: unknown option '--bogus' (see questlog $c --help)" "$c --bogus" -- $c --bogus
    one_line_error 2 "questlog $c: unknown option '--bogus' (see questlog $c --help)" "$c --bogus=1" -- $c --bogus=1
    one_line_error 2 "questlog $c: unknown option '-Z' (see questlog $c --help)" "$c -Z" -- $c -Z
done

# A flag without its value, one per command.
for cv in "up --flush-interval" "serve --threads" "load --codec" "cat --from" "import --workers" \
          "query --format" "tables --format" "describe --where" "report --output" "simulate --url" \
          "compact --max-bytes" "inspect --rows"; do
    set -- $cv
    one_line_error 2 "questlog $1: missing value for '$2' (see questlog $1 --help)" "$1 $2 (no value)" -- $1 $2
done

# A stray operand where a command takes none (or one).
for c in up serve load cat tables report simulate; do
    timeout 30 "$QL" $c stray >/dev/null 2>"$tmpdir/err" </dev/null
    st=$?
    is "$st|$(wc -l <"$tmpdir/err")|$(grep -c "^questlog $c: unexpected argument 'stray'" "$tmpdir/err")" "2|1|1" "$c stray"
done
one_line_error 2 "questlog describe: unexpected argument 'b' (one table at a time)" "describe a b" -- describe a b
one_line_error 2 "questlog inspect: one FILE.parquet at a time (see questlog inspect --help)" "inspect a b" -- inspect a b

# Missing operands.
one_line_error 2 "questlog describe: no table given (see questlog describe --help)" "describe (no table)" -- describe
one_line_error 2 "questlog inspect: no FILE.parquet given (see questlog inspect --help)" "inspect (no file)" -- inspect
one_line_error 2 "questlog import: no input (give FILE… or - for stdin) (see questlog import --help)" "import (no input)" -- import
one_line_error 2 "questlog query: no SQL given (an argument, or statements on stdin; see questlog query --help)" "query (no SQL, empty stdin)" -- query
one_line_error 2 "questlog query: no SQL given (an argument, or statements on stdin; see questlog query --help)" "query '  '" -- query "  "

# --help lists exactly the common flags a command takes: a flag shown is
# accepted (the parse reaches --help, exit 0), a flag not shown is an
# unknown option (exit 2).
for c in $cmds; do
    "$QL" $c --help >"$tmpdir/help"
    bad=""
    for f in --data --lake --config --listen --kafka --topic --group -X; do
        shown=0; grep -qE "^  $f " "$tmpdir/help" && shown=1
        timeout 30 "$QL" $c $f k=v:1 --help >/dev/null 2>&1
        st=$?
        if [ $shown = 1 ] && [ $st != 0 ]; then bad="$bad $f(shown,refused:$st)"; fi
        if [ $shown = 0 ] && [ $st != 2 ]; then bad="$bad $f(not shown,accepted:$st)"; fi
    done
    is "$bad" "" "$c --help shows exactly the common flags it takes"
done
# What each command takes (what README and docs promise).
flags_of() { "$QL" $1 --help | grep -oE '^  (--data|--lake|--config|--listen|--kafka|--topic|--group|-X) ' | tr -d ' ' | tr '\n' ' '; }
is "$(flags_of up)" "--data --lake --config --listen --kafka --topic --group -X " "up: every common flag"
is "$(flags_of serve)" "--data --config --listen --kafka --topic -X " "serve: no --lake, no --group"
is "$(flags_of load)" "--data --lake --config --kafka --topic --group -X " "load: no --listen"
is "$(flags_of cat)" "--data --kafka --topic -X " "cat: the log only"
is "$(flags_of import)" "--data --lake --config " "import: the lake and the config"
for c in query tables describe report compact; do
    is "$(flags_of $c)" "--data --lake " "$c: the lake only"
done
is "$(flags_of inspect)" "" "inspect: none"

# The top level.
"$QL" --version >"$tmpdir/out" 2>&1
is "$?|$(sed -E 's/build [^)]+/build X/' "$tmpdir/out")" "0|questlog version 0.1.0 (build X)" "--version"
"$QL" >/dev/null 2>"$tmpdir/err"
is "$?|$(head -1 "$tmpdir/err" | cut -c1-12)" "2|questlog 0.1" "no command: usage on stderr, exit 2"
"$QL" frobnicate >/dev/null 2>"$tmpdir/err"
is "$?|$(head -1 "$tmpdir/err")" "2|questlog: unknown command 'frobnicate'" "unknown command"
"$QL" --help >"$tmpdir/out" 2>"$tmpdir/err"
n=0; for c in $cmds; do grep -qE "^  $c " "$tmpdir/out" && n=$((n + 1)); done
is "$?|$n|$(wc -c <"$tmpdir/err")" "0|12|0" "--help lists the 12 commands on stdout"

# Bad values newcomers type.
one_line_error 2 "questlog query: --width wants 0..100000, got 'abc'" "query --width abc" -- query --width abc "select 1"
one_line_error 2 "questlog query: --width wants 0..100000, got '-5'" "query --width -5" -- query --width -5 "select 1"
one_line_error 2 "questlog up: bad --listen '127.0.0.1:99999' (want HOST:PORT, PORT 0..65535)" "up --listen port out of range" -- up --listen 127.0.0.1:99999 --data "$tmpdir/d"
one_line_error 2 "questlog serve: bad --listen 'localhost' (want HOST:PORT, PORT 0..65535)" "serve --listen without a port" -- serve --listen localhost --data "$tmpdir/d"
one_line_error 2 "questlog simulate: --players wants 1..10000000, got '0' (see questlog simulate --help)" "simulate --players 0" -- simulate --players 0
[ ! -e "$tmpdir/d" ]; ok $? "a refused flag creates no data directory"

# A lake or a table that is not there.
nolake="questlog query: no lake at '$tmpdir/none/lake' (pass --lake DIR, or the --data DIR of \`questlog up\`/\`load\`; \`questlog import\` makes one)"
one_line_error 1 "$nolake" "query: no lake" -- query --data "$tmpdir/none" "select 1"
one_line_error 1 "${nolake/query/describe}" "describe: no lake" -- describe --data "$tmpdir/none" purchases
echo '{"event_type":"purchase_sword","price":1}' | "$QL" import -q --lake "$tmpdir/lake" - 2>"$tmpdir/err"
ok $? "import one event"
one_line_error 1 "questlog describe: no table 'nosuch' in the lake '$tmpdir/lake' (questlog tables lists them)" "describe: no such table" -- describe --lake "$tmpdir/lake" nosuch
"$QL" query --lake "$tmpdir/lake" -f csv "select count(*) n from purchases" >"$tmpdir/out" 2>&1
is "$?|$(tr '\n' ' ' <"$tmpdir/out")" "0|n 1 " "query still reads the lake"
echo "select price from purchases" | "$QL" query --lake "$tmpdir/lake" -f csv >"$tmpdir/out" 2>&1
is "$?|$(tr '\n' ' ' <"$tmpdir/out")" "0|price 1 " "query reads SQL from stdin"

# An empty TEXT value prints as an empty cell (it printed heap garbage in
# table and md output: `tables --schema` of a table with no files).
"$QL" query --lake "$tmpdir/lake" -f md "select '' as a, 'x' as b" >"$tmpdir/out" 2>&1
is "$?|$(tr '\n' '~' <"$tmpdir/out")" "0|| a | b |~|---|---|~|  | x |~" "query -f md: an empty string is an empty cell"
"$QL" query --lake "$tmpdir/lake" -f table --width 0 "select '' as a" >"$tmpdir/out" 2>&1
is "$?|$(tr '\n' '~' <"$tmpdir/out")" "0|+-+~|a|~+-+~| |~+-+~" "query -f table: an empty string is an empty cell"

done_testing
