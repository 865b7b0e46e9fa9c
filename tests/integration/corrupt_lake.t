#!/usr/bin/env bash
# corrupt_lake.t — a lake file damaged on disk (one byte changed inside a page)
# is an error that names the file, never wrong answers: `query` fails with the
# page's checksum mismatch, `compact` refuses the partition and leaves its
# files as they were, `inspect --verify` finds it in a scrub of the lake,
# DuckDB still reads the undamaged files, and once the damaged file is moved
# aside all of them work again.
. "$(dirname "$0")/../lib.sh"

LAKE="$tmpdir/lake"
python3 "$ROOT/bench/gen_events.py" 3000 --start 2026-11-20T10:00:00Z > "$tmpdir/a.jsonl"
python3 "$ROOT/bench/gen_events.py" 3000 --seed 7 --start 2026-11-20T14:00:00Z > "$tmpdir/b.jsonl"
"$QL" import -q --lake "$LAKE" --workers 1 "$tmpdir/a.jsonl" "$tmpdir/b.jsonl"
ok $? "import: two files of a day"
files=("$LAKE"/purchases/dt=2026-11-20/*.parquet)
is "${#files[@]}" 2 "purchases has two files"

# Damage one byte a third of the way into the first file: inside a page body.
victim=${files[0]}
size=$(stat -c %s "$victim")
python3 - "$victim" $((size / 3)) <<'PY'
import sys
path, at = sys.argv[1], int(sys.argv[2])
with open(path, 'r+b') as f:
    f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 0x5a]))
PY
ls -l "$LAKE"/purchases/dt=2026-11-20/ > "$tmpdir/ls.before"
sha_before=$(sha256sum "$LAKE"/purchases/dt=2026-11-20/*.parquet)

"$QL" query --lake "$LAKE" "select * from purchases" > "$tmpdir/out" 2> "$tmpdir/err"
rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "query over the damaged page fails (exit $rc)"
grep -q "$(basename "$victim").*fails its checksum (CRC-32 0x[0-9a-f]*, stored 0x[0-9a-f]*): the file is corrupt" "$tmpdir/err"
ok $? "the error names the file and the checksum mismatch: $(head -c 300 "$tmpdir/err")"

"$QL" compact --lake "$LAKE" --all -q 2> "$tmpdir/cerr"
rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "compact refuses the damaged partition (exit $rc)"
grep -q "$(basename "$victim").*fails its checksum.*left as they were" "$tmpdir/cerr"
ok $? "compact's error names the file: $(head -c 300 "$tmpdir/cerr")"
is "$(sha256sum "$LAKE"/purchases/dt=2026-11-20/*.parquet)" "$sha_before" "the partition's files are untouched"

out=$("$QL" inspect --verify "$LAKE")
rc=$?
is "$rc" 1 "inspect --verify over the lake exits 1"
printf '%s\n' "$out" | grep -q "^DAMAGED $victim: .*fails its checksum"
ok $? "and names the damaged file"
ok "$(printf '%s\n' "$out" | grep -c '^DAMAGED' | grep -qx 1; echo $?)" "only that one"
printf '%s\n' "$out" | tail -1 | grep -q "^[0-9]* files, [0-9]* rows, .* read back: 1 damaged$"
ok $? "summary: $(printf '%s\n' "$out" | tail -1)"

other=${files[1]}
n=$(duck "select count(*) n from read_parquet('$other')")
ok "$(case "$n" in '{"n":'[1-9]*) echo 0;; *) echo 1;; esac)" "DuckDB reads the undamaged file ($n)"

mkdir -p "$tmpdir/aside" && mv "$victim" "$tmpdir/aside/"
"$QL" query --lake "$LAKE" --format csv "select count(*) from purchases" > "$tmpdir/out2" 2>&1
ok $? "with the damaged file moved aside, query works again"
"$QL" compact --lake "$LAKE" --all -q
ok $? "and compact too"
out=$("$QL" inspect --verify "$LAKE")
ok $? "inspect --verify: the lake is clean now ($(printf '%s\n' "$out" | tail -1))"
done_testing
