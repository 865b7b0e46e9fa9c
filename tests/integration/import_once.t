#!/usr/bin/env bash
# import_once.t — `questlog import` is idempotent per input content: the same
# content imported again (same file, a copy, stdin, its gzip, other
# --workers, two at once) adds nothing; an import killed mid-run, or one that "crashed" half-way
# through its renames, is replaced by the next import of that content (or
# cleaned by the next writer's recovery). Every lake is compared, table by
# table, with DuckDB against a lake that got one clean import.
. "$(dirname "$0")/../lib.sh"

python3 "$ROOT/bench/gen_events.py" 3000 --start 2026-11-20T10:00:00Z > "$tmpdir/ev.jsonl"
python3 "$ROOT/bench/gen_events.py" 500 --seed 9 --start 2026-11-20T12:00:00Z > "$tmpdir/other.jsonl"
id=$(sha256sum "$tmpdir/ev.jsonl" | cut -c1-32)

tables="extracted_events purchases join_guilds default_hits"
# one line per table: rows, distinct ids, a hash of every row (all columns)
# (columns by name: how rows were split into files may change their order);
# two DuckDB runs per lake: the four tables' columns, then the four lines
src() { echo "read_parquet('$1/$2/*/*.parquet', hive_partitioning=true, union_by_name=true)"; }
sig() {
    local t q=""
    for t in $tables; do
        q="${q:+$q union all }select '$t' as t, column_name from (describe select * from $(src "$1" $t))"
    done
    duck "$q" | python3 -c '
import sys, json
lake, tables = sys.argv[1], sys.argv[2].split()
cols = {}
for l in sys.stdin:
    r = json.loads(l)
    cols.setdefault(r["t"], []).append(chr(34) + r["column_name"] + chr(34))
src = "read_parquet(%s, hive_partitioning=true, union_by_name=true)"
print(" union all ".join(
    "select %s as t, count(*) as n, count(distinct event_id) as d, sum(hash(%s)) as h from %s"
    % (repr(t), ", ".join(sorted(cols.get(t, ["missing"]))), src % repr(lake + "/" + t + "/*/*.parquet"))
    for t in tables) + " order by t")' "$1" "$tables" >"$tmpdir/sig.sql"
    duck --file "$tmpdir/sig.sql"
}
nfiles() { find "$1" -name '*.parquet' | wc -l; }
qcount() { "$QL" query --lake "$1" --format csv "select count(*) from extracted_events" | tail -1; }

A="$tmpdir/a"
"$QL" import -q --lake "$A" --workers 2 "$tmpdir/ev.jsonl"
ok $? "first import"
want=$(sig "$A")
is "$(printf '%s\n' "$want" | grep -c '"n":[1-9]')" "4" "reference: four non-empty tables"
files=$(nfiles "$A")
is "$(qcount "$A")" "3000" "every event once"
ok "$([ -f "$A/.imports/$id" ]; echo $?)" "a record named by the content's SHA-256 (first 128 bits)"
grep -q '^events 3000$' "$A/.imports/$id"; ok $? "the record says what was imported"

"$QL" import --lake "$A" --workers 1 "$tmpdir/ev.jsonl" 2> "$tmpdir/err"
ok $? "the same file again: exit 0"
grep -q "already imported" "$tmpdir/err"; ok $? "and says it was imported before"
cp "$tmpdir/ev.jsonl" "$tmpdir/copy.jsonl"
"$QL" import -q --lake "$A" "$tmpdir/copy.jsonl"
"$QL" import -q --lake "$A" - < "$tmpdir/ev.jsonl"
ok $? "a copy and stdin with the same content"
is "$(sig "$A")" "$want" "tables unchanged (DuckDB, every table)"
is "$(nfiles "$A")" "$files" "no file added"
is "$(qcount "$A")" "3000" "questlog query agrees"

gzip -c "$tmpdir/ev.jsonl" > "$tmpdir/ev.jsonl.gz"
"$QL" import --lake "$A" "$tmpdir/ev.jsonl.gz" 2> "$tmpdir/errgz"
grep -q "already imported" "$tmpdir/errgz"; ok $? "its gzip is the same content (ids are of the decompressed bytes)"
G="$tmpdir/g"
"$QL" import -q --lake "$G" --workers 2 "$tmpdir/ev.jsonl.gz"
ok $? "FILE.gz into a fresh lake"
is "$(sig "$G")" "$want" "the same tables as from the plain file"
head -c 20000 "$tmpdir/ev.jsonl.gz" > "$tmpdir/cut.jsonl.gz"
"$QL" import -q --lake "$tmpdir/cut" "$tmpdir/cut.jsonl.gz" 2> "$tmpdir/errcut"
ok $((! $?)) "a truncated gzip: non-zero exit"
is "$(nfiles "$tmpdir/cut")" "0" "and nothing imported"
"$QL" import -q --lake "$A" "$tmpdir/ev.jsonl" "$tmpdir/other.jsonl"
is "$(qcount "$A")" "3500" "in a list of inputs only the new content is imported"

# same size, one byte different: another content, imported
D="$tmpdir/d"
"$QL" import -q --lake "$D" "$tmpdir/ev.jsonl"
sed '0,/"purchase_sword"/s//"purchase_swore"/' "$tmpdir/ev.jsonl" > "$tmpdir/ev1.jsonl"
is "$(stat -c %s "$tmpdir/ev1.jsonl")" "$(stat -c %s "$tmpdir/ev.jsonl")" "a file of the same size"
"$QL" import -q --lake "$D" "$tmpdir/ev1.jsonl"
is "$(qcount "$D")" "6000" "with other content is imported"

# two imports of the same content at once: one commits, the other adds nothing
C="$tmpdir/c"
"$QL" import -q --lake "$C" --workers 1 "$tmpdir/ev.jsonl" & p1=$!
"$QL" import -q --lake "$C" --workers 2 "$tmpdir/ev.jsonl" & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
is "$r1 $r2" "0 0" "two concurrent imports of one file both exit 0"
is "$(sig "$C")" "$want" "the content is in the lake once"

# a crash half-way through the commit: some files renamed, no record yet
# (made by hand: remove the record and one table's files, add a dead temp file)
crash() {
    rm "$1/.imports/$id"
    rm "$1"/join_guilds/dt=*/part-*.parquet
    touch "$1/purchases/dt=2026-11-20/.part-999999999.1.parquet.tmp"
}
B="$tmpdir/b"
"$QL" import -q --lake "$B" "$tmpdir/ev.jsonl"
crash "$B"
is "$(qcount "$B")" "0" "questlog readers do not see an import without its record"
"$QL" import -q --lake "$B" "$tmpdir/ev.jsonl"
ok $? "importing the same content again"
is "$(sig "$B")" "$want" "tables exactly as after one clean import"
ok "$([ -z "$(find "$B" -name '*.tmp')" ]; echo $?)" "no temp file left"
# the same crash, then another writer starts first (here compact): its
# recovery deletes what the crashed commit left, so DuckDB no longer sees it
crash "$B"
ok "$([ "$(nfiles "$B")" -gt 0 ]; echo $?)" "after the crash DuckDB-style listing sees files"
"$QL" compact --lake "$B" --all -q
ok $? "compact runs"
is "$(nfiles "$B")" "0" "its recovery deleted the crashed import's files"
"$QL" import -q --lake "$B" "$tmpdir/ev.jsonl"
is "$(sig "$B")" "$want" "re-import: tables exactly as after one clean import"

# withdrawing an import (deleting its record), before and after a compaction
# merged it with another import's files (lake.c I9)
W="$tmpdir/w"
"$QL" import -q --lake "$W" --workers 2 "$tmpdir/ev.jsonl" "$tmpdir/other.jsonl"
both=$(sig "$W")
is "$(qcount "$W")" "3500" "two imports in one lake"
oid=$(sha256sum "$tmpdir/other.jsonl" | cut -c1-32)
rm "$W/.imports/$oid"
is "$(qcount "$W")" "3000" "its record deleted: that import is withdrawn at once"
"$QL" import -q --lake "$W" "$tmpdir/other.jsonl"
is "$(sig "$W")" "$both" "imported again: back once (DuckDB, every table)"
"$QL" compact --lake "$W" --all -q
ok $? "compact merges the two imports' files"
is "$(sig "$W")" "$both" "compaction changes no row"
ok "$([ -f "$W/.imports/$id.merged" ] && [ -f "$W/.imports/$oid.merged" ]; echo $?)" \
   "each merged import is marked"
rm "$W/.imports/$id"
is "$(qcount "$W")" "3500" "a merged import's record deleted: its rows stay (nothing half-withdrawn)"
"$QL" import --lake "$W" "$tmpdir/ev.jsonl" 2> "$tmpdir/errw"
ok $? "importing its content again: exit 0"
grep -q "already imported.*compacted together" "$tmpdir/errw"; ok $? "says it stays imported, and why"
"$QL" compact --lake "$W" --all -q
is "$(sig "$W")" "$both" "no row twice, none lost, after another writer's recovery too"

# a real kill -9 while the import is reading (its input stalls half-way)
K="$tmpdir/k"
mkfifo "$tmpdir/fifo"
( head -2000 "$tmpdir/ev.jsonl"; exec sleep 60 ) > "$tmpdir/fifo" & feeder=$!
"$QL" import -q --lake "$K" --workers 2 - < "$tmpdir/fifo" & imp=$!
for _ in $(seq 200); do
    [ -n "$(find "$K" -name '.part-*.tmp' 2>/dev/null)" ] && break
    sleep 0.05
done
ok "$([ -n "$(find "$K" -name '.part-*.tmp')" ]; echo $?)" "the import has files in flight"
kill -9 $imp; wait $imp 2>/dev/null
kill $feeder; wait $feeder 2>/dev/null
is "$(nfiles "$K")" "0" "killed: nothing visible"
"$QL" import -q --lake "$K" "$tmpdir/ev.jsonl"
ok $? "re-import after kill -9"
is "$(sig "$K")" "$want" "tables exactly as after one clean import"
ok "$([ -z "$(find "$K" -name '*.tmp')" ]; echo $?)" "the dead import's temp files are gone"
done_testing
