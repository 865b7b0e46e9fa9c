#!/usr/bin/env bash
# pq_write.t — questlog's Parquet writer, checked by independent readers:
# every pqgen case (tests/tools/pqgen.c) is written, then DuckDB and hyparquet
# must read exactly the values pqgen says it wrote, and the footer must follow
# the spec (check_write.mjs).
. "$(dirname "$0")/../lib.sh"
PQGEN="$QL_BUILD_DIR/tools/pqgen"
[ -x "$PQGEN" ] || skip_all "pqgen not built (make tools)"
command -v node >/dev/null || skip_all "node not installed"

for c in $("$PQGEN" --list); do
    "$PQGEN" "$c" "$tmpdir/$c.parquet" > "$tmpdir/$c.jsonl"
    ok $? "pqgen writes case $c"
    kv=()
    [ "$c" = kv ] && kv=(--kv questlog.table=events "--kv" "questlog.note=ünïcode ✓")
    while IFS= read -r line; do
        case "$line" in
            PASS\ *) ok 0 "$c: ${line#PASS }" ;;
            FAIL\ *) ok 1 "$c: ${line#FAIL }" ;;
            *) diag "$line" ;;
        esac
    done < <(node "$ROOT/tests/interop/check_write.mjs" "$tmpdir/$c.parquet" "$tmpdir/$c.jsonl" "${kv[@]}" 2>&1)
done

# The dictionary fallback really happened: a chunk with a dictionary page,
# RLE_DICTIONARY pages and PLAIN pages, and a chunk restarted as PLAIN.
enc=$(duck "SELECT string_agg(path_in_schema || ':' || encodings, ' | ' ORDER BY column_id) e FROM parquet_metadata('$tmpdir/dict_fallback.parquet') WHERE row_group_id = 0")
case "$enc" in *'grow:PLAIN, RLE, RLE_DICTIONARY'*'burst:PLAIN |'*) ok 0 "dictionary fallback: mixed chunk and PLAIN restart";; *) ok 1 "dictionary fallback: $enc";; esac
n=$(duck "SELECT count(DISTINCT row_group_id) n FROM parquet_metadata('$tmpdir/pages.parquet')")
is "$n" '{"n":4}' "pages case has 4 row groups (7000 rows each)"
n=$(duck "SELECT count(DISTINCT row_group_id) > 1 m FROM parquet_metadata('$tmpdir/rg_bytes.parquet')")
is "$n" '{"m":true}' "row groups closed by the byte budget"
done_testing
