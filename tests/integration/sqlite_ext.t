#!/usr/bin/env bash
# sqlite_ext.t — build/questlog_parquet.so is a loadable extension for the
# stock sqlite3 shell: `.load` it, CREATE VIRTUAL TABLE … USING
# questlog_parquet('DIR'), and its answers match DuckDB's over the same files.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/query_lake.sh"

command -v sqlite3 >/dev/null || skip_all "sqlite3 shell not installed (tools/deps.sh installs it)"
EXT="$QL_BUILD_DIR/questlog_parquet.so"
[ -s "$EXT" ]; ok $? "extension built: $EXT"

# A sanitized build's extension needs the ASan runtime loaded first.
run_sqlite() {
    case "$QL_BUILD_DIR" in
    *-san) LD_PRELOAD="$(cc -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0 sqlite3 "$@" ;;
    *) sqlite3 "$@" ;;
    esac
}

LAKE="$tmpdir/lake"
make_lake "$LAKE" 6000 1000
ok $? "DuckDB wrote the test lake"

out="$(run_sqlite -csv :memory: ".load $EXT" \
    "CREATE VIRTUAL TABLE purchases USING questlog_parquet('$LAKE/purchases')" \
    "select count(*), sum(price), min(timestamp), max(dt) from purchases where Host = 'user1.comcast.com'" 2>&1)"
want="$(duck "SET TimeZone='UTC'" "select count(*) || ',' || sum(price) || ',' || strftime(min(timestamp), '%Y-%m-%dT%H:%M:%S.%fZ') || ',' || max(dt) as r from read_parquet('$LAKE/purchases/*/*.parquet', hive_partitioning=true, hive_types_autocast=false) where Host = 'user1.comcast.com'" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["r"])')"
is "$out" "$want" "sqlite3 shell: the seed's filter, aggregated, matches DuckDB"

out="$(run_sqlite :memory: ".load $EXT" \
    "CREATE VIRTUAL TABLE e USING questlog_parquet('$LAKE/extracted_events')" \
    "select count(*) from e where timestamp >= '2026-11-22T00:00:00Z'" "select questlog_parquet_stats()" 2>&1)"
echo "$out" | grep -q "skipped [1-9]"; ok $? "row groups skipped inside the sqlite3 shell ($(echo "$out" | tail -1))"

out="$(cd "$LAKE" && run_sqlite -csv :memory: ".load $EXT" "CREATE VIRTUAL TABLE p USING questlog_parquet('purchases')" \
    "select count(distinct dt), count(*) from p where dt is not null" 2>&1)"
want="$(duck "SELECT count(DISTINCT dt) || ',' || count(*) AS r FROM read_parquet('$LAKE/purchases/*/*.parquet', hive_partitioning=true)" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["r"])')"
is "$out" "$want" "a relative table directory keeps its dt column"

out="$(run_sqlite :memory: ".load $EXT" "CREATE VIRTUAL TABLE x USING questlog_parquet('$tmpdir/nope')" 2>&1)"
echo "$out" | grep -q "questlog_parquet: .*nope"; ok $? "a bad directory is an SQL error"

done_testing
