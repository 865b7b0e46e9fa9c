#!/usr/bin/env bash
# compact.t — `questlog compact`: many small files of a day become one, every
# row exactly once (DuckDB and questlog query), today's partitions left alone
# by default, and a compaction that "crashed" between its rename and its
# unlinks is hidden from questlog's readers and finished by the next run.
. "$(dirname "$0")/../lib.sh"

LAKE="$tmpdir/lake"
python3 "$ROOT/bench/gen_events.py" 3000 --start 2026-11-20T10:00:00Z > "$tmpdir/old.jsonl"
today=$(date -u +%Y-%m-%dT00:00:01Z)
python3 "$ROOT/bench/gen_events.py" 500 --seed 7 --start "$today" --step-us 10 > "$tmpdir/today.jsonl"
"$QL" import -q --lake "$LAKE" --workers 1 --file-rows 200 "$tmpdir/old.jsonl" "$tmpdir/today.jsonl"
ok $? "import in files of 200 rows"

nfiles() { find "$LAKE/$1/dt=$2" -name '*.parquet' | wc -l; }
rp() { echo "read_parquet('$LAKE/$1/*/*.parquet', hive_partitioning=true, union_by_name=true)"; }
before_old=$(nfiles extracted_events 2026-11-20)
ok "$([ "$before_old" -ge 10 ]; echo $?)" "many small files before ($before_old)"
before_today=$(nfiles extracted_events "${today:0:10}")
sig() { duck "select count(*) as n, count(distinct event_id) as d, sum(hash(event_id, Host, price)) as h from $(rp "$1")"; }
s_all=$(sig extracted_events); s_p=$(sig purchases)

"$QL" compact --lake "$LAKE" -q
ok $? "compact exits 0"
is "$(nfiles extracted_events 2026-11-20)" "1" "yesterday's files merged into one"
is "$(nfiles extracted_events "${today:0:10}")" "$before_today" "today's partition left alone by default"
is "$(sig extracted_events)" "$s_all" "extracted_events: same rows, once (DuckDB)"
is "$(sig purchases)" "$s_p" "purchases: same rows, once"
is "$("$QL" query --lake "$LAKE" --format csv "select count(*), count(distinct event_id) from extracted_events" | tail -1)" \
   "3500,3500" "questlog query agrees"
is "$(duck "select count(*) as n from $(rp _rejected)" 2>/dev/null || echo '{"n":0}')" '{"n":0}' "nothing rejected"

# a compaction that crashed after its rename: the merged file and an input
# coexist (one import = one label: the merged file covers it by its range)
L3="$tmpdir/lake3"
"$QL" import -q --lake "$L3" --workers 1 --file-rows 50 "$tmpdir/today.jsonl"
d="$L3/join_guilds/dt=${today:0:10}"
keep=$(ls "$d"/*.parquet | tail -1)
cp "$keep" "$tmpdir/saved.parquet"
"$QL" compact --lake "$L3" --all -q join_guilds
ok $? "compact --all TABLE"
is "$(ls "$d"/*.parquet | wc -l)" "1" "today's files merged (--all)"
cp "$tmpdir/saved.parquet" "$keep"
want=$(grep -c '"join_guild"' "$tmpdir/today.jsonl")
is "$("$QL" query --lake "$L3" --format csv "select count(*) from join_guilds" | tail -1)" "$want" \
   "questlog query hides the covered file"
"$QL" compact --lake "$L3" --all -q join_guilds
ok "$([ ! -e "$keep" ]; echo $?)" "the next run deletes the covered file"
is "$(duck "select count(*) as n from read_parquet('$L3/join_guilds/*/*.parquet', union_by_name=true)")" "{\"n\":$want}" \
   "DuckDB sees every row once again"

# files of two separate imports (different labels) merge too, with an intent
L2="$tmpdir/lake2"
sed 1d "$tmpdir/old.jsonl" > "$tmpdir/old2.jsonl"   # other content: a second import
"$QL" import -q --lake "$L2" --workers 1 "$tmpdir/old.jsonl"
"$QL" import -q --lake "$L2" --workers 2 "$tmpdir/old2.jsonl"
is "$(find "$L2/purchases" -name '*.parquet' | sed 's/.*part-imp\([0-9a-f]*\)w.*/\1/' | sort -u | wc -l)" "2" \
   "files of two imports"
"$QL" compact --lake "$L2" -q purchases
is "$(find "$L2/purchases" -name '*.parquet' | wc -l)" "1" "merged into one"
merged=$(ls "$L2"/purchases/dt=2026-11-20/*.parquet)
case "$merged" in *imp*c-0000000000000000000-*) ok 0 "under a new import label";; *) ok 1 "new label: $merged";; esac
want=$(( $(cat "$tmpdir/old.jsonl" "$tmpdir/old2.jsonl" | grep -c '"purchase_sword"') ))
is "$(duck "select count(*) as n from $(echo "read_parquet('$L2/purchases/*/*.parquet', union_by_name=true)")")" "{\"n\":$want}" "every row of both imports"
ls -a "$L2"/purchases/*/ | grep -q 'intent'; ok $((! $?)) "no intent left"
# crash after that merge's rename: an input is back, its intent (dead pid) too
d="$L2/purchases/dt=2026-11-20"
cp "$merged" "$d/part-impdeadbeef0000w0-0000000000000000001-0000000000000000009.parquet"
printf 'out %s\nin %s\nend\n' "$(basename "$merged")" part-impdeadbeef0000w0-0000000000000000001-0000000000000000009.parquet \
    > "$d/.compact-999999999.1.intent"
is "$("$QL" query --lake "$L2" --format csv "select count(*) from purchases" | tail -1)" "$want" \
   "questlog query hides the input the intent names"
"$QL" compact --lake "$L2" -q purchases
ok "$([ ! -e "$d/part-impdeadbeef0000w0-0000000000000000001-0000000000000000009.parquet" ] && [ ! -e "$d/.compact-999999999.1.intent" ]; echo $?)" \
   "recovery completes it: input and intent deleted"
# a crash before the rename: the intent names a merged file that does not exist
printf 'out part-impnothere0000c-0000000000000000000-0000000000000000001.parquet\nin %s\nend\n' "$(basename "$merged")" \
    > "$d/.compact-999999999.2.intent"
is "$("$QL" query --lake "$L2" --format csv "select count(*) from purchases" | tail -1)" "$want" \
   "an intent without its merged file hides nothing"
"$QL" compact --lake "$L2" -q purchases
ok "$([ -e "$merged" ] && [ ! -e "$d/.compact-999999999.2.intent" ]; echo $?)" "rolled back: intent deleted, file kept"

# a column whose type changed (catalog edit): those files are left alone
L4="$tmpdir/lake4"
grep -v '^param.price' "$ROOT/etc/questlog.conf" > "$tmpdir/noprice.conf"
head -300 "$tmpdir/old.jsonl" > "$tmpdir/a.jsonl"
"$QL" import -q --lake "$L4" --workers 1 "$tmpdir/a.jsonl"
head -299 "$tmpdir/a.jsonl" > "$tmpdir/b.jsonl"
"$QL" import -q --lake "$L4" --workers 1 --config "$tmpdir/noprice.conf" "$tmpdir/b.jsonl"
"$QL" compact --lake "$L4" purchases 2> "$tmpdir/c4.err"
ok $? "compact with a type conflict exits 0"
grep -Eq "left as they are: column 'price' is (INT64 in one file and STRING|STRING in one file and INT64) in another" "$tmpdir/c4.err"
ok $? "and says why the files are left alone"
is "$(find "$L4/purchases" -name '*.parquet' | wc -l)" "2" "both files kept"

"$QL" compact --lake "$tmpdir/nolake" 2>/dev/null; ok $((! $?)) "missing lake: error"
"$QL" compact --help | grep -q "^usage: questlog compact"; ok $? "--help"
done_testing
