#!/usr/bin/env bash
# describe.t — `questlog describe` and `questlog tables` figures against
# DuckDB's over the same files: per column count, nulls, min, max, mean
# (and exact distinct up to the limit; the HyperLogLog estimate beyond it
# within 3%); tables' row counts, file counts, first/last timestamp.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/query_lake.sh"

LAKE="$tmpdir/lake"
make_lake "$LAKE" 120000 && make_evolving "$LAKE"
ok $? "DuckDB wrote the test lake"

# Normalises "column count nulls min max mean distinct" lines from JSON.
norm() {
    python3 -c '
import json, sys
def v(x):
    if x is None: return "-"
    try: return "%.6g" % float(x)
    except (TypeError, ValueError): return str(x)
for line in sys.stdin:
    if not line.strip(): continue
    r = json.loads(line)
    print(r["column"], r["count"], r["nulls"], v(r["min"]), v(r["max"]), v(r["mean"]), r["distinct"])
'
}

check_table() {  # check_table TABLE COLUMNS… (SQL expressions named like the columns)
    local t="$1" parts=() c q got want
    shift
    for c in "$@"; do
        local e="\"$c\""
        case "$c" in
        timestamp) mm="strftime(min($e), '%Y-%m-%dT%H:%M:%S.%fZ'), strftime(max($e), '%Y-%m-%dT%H:%M:%S.%fZ'), NULL" ;;
        critical) mm="min($e::INT)::VARCHAR, max($e::INT)::VARCHAR, avg($e::INT)" ;;
        price|damage) mm="min($e)::VARCHAR, max($e)::VARCHAR, avg($e)" ;;
        *) mm="min($e), max($e), NULL" ;;
        esac
        parts+=("SELECT '$c' AS \"column\", count($e) AS count, count(*) - count($e) AS nulls, $mm, count(DISTINCT $e) AS \"distinct\" FROM t")
    done
    q="$(printf '%s UNION ALL ' "${parts[@]}")"
    q="${q% UNION ALL }"
    want="$(duck "SET TimeZone='UTC'" \
        "CREATE VIEW t AS SELECT * FROM read_parquet('$LAKE/$t/*/*.parquet', hive_partitioning=true, hive_types_autocast=false, union_by_name=true)" \
        "SELECT x.* FROM ($q) x" | python3 -c '
import json, sys
for line in sys.stdin:
    r = list(json.loads(line).values())
    print(json.dumps({"column": r[0], "count": r[1], "nulls": r[2], "min": r[3], "max": r[4], "mean": r[5], "distinct": r[6]}))
' | norm)"
    got="$("$QL" describe --lake "$LAKE" --format json "$t" | norm | grep -E "^($(IFS='|'; echo "$*")) ")"
    # DuckDB's exact distinct stands where questlog's is exact; the estimate is checked below.
    got="$(echo "$got" | sed 's/ ≈[0-9]*$/ APPROX/')"
    want="$(echo "$want" | python3 -c '
import sys
got = {l.split()[0]: l for l in sys.argv[1].splitlines()}
for l in sys.stdin:
    l = l.rstrip("\n"); c = l.split()[0]
    if got.get(c, "").endswith(" APPROX"): l = l.rsplit(" ", 1)[0] + " APPROX"
    print(l)
' "$got")"
    if [ -n "$got" ] && [ "$got" = "$want" ]; then ok 0 "describe $t matches DuckDB ($# columns)"; else
        ok 1 "describe $t matches DuckDB"; diff <(echo "$want") <(echo "$got") | sed 's/^/#   /'; fi
}

check_table purchases event_id event_type timestamp Host "User-Agent" sword_type price damage critical dt
check_table evolving event_id timestamp Host sword_type price damage dt

# event_id has 120000 distinct values: past the exact limit, a HyperLogLog estimate.
est="$("$QL" describe --lake "$LAKE" --format json extracted_events | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["column"] == "event_id": print(r["distinct"])')"
python3 -c "import sys; s='$est'; assert s.startswith('≈'), s; n=int(s[1:]); assert abs(n-120000)/120000 < 0.03, n"
ok $? "approximate distinct for 120000 ids is within 3% ($est)"

top="$("$QL" describe --lake "$LAKE" --format csv purchases | grep '^Host,')"
want="$(duck "SELECT Host || ',' || count(*) AS r FROM read_parquet('$LAKE/purchases/*/*.parquet') WHERE Host IS NOT NULL GROUP BY Host ORDER BY count(*) DESC, Host LIMIT 1" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["r"])')"
echo "$top" | grep -q ",$want,"; ok $? "top value and frequency of Host ($want)"

out="$("$QL" describe --lake "$LAKE" --format json --where "Host = 'user1.comcast.com'" purchases | grep '"Host"')"
n="$(duck "SELECT count(*) AS n FROM read_parquet('$LAKE/purchases/*/*.parquet') WHERE Host = 'user1.comcast.com'" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["n"])')"
echo "$out" | grep -q "\"count\":$n,\"nulls\":0,\"distinct\":1"; ok $? "--where (the seed's describe of a filtered frame): $n rows"

"$QL" describe --lake "$LAKE" no_such_table >/dev/null 2>&1; is $? 1 "unknown table exits 1"
"$QL" describe --help | grep -q -- "--where"; ok $? "describe --help"

# tables: from footers.
got="$("$QL" tables --lake "$LAKE" --format json | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l); print(r["table"], r["rows"], r["files"], r["partitions"], r["first"], r["last"])')"
parts=()
for t in _rejected default_hits evolving extracted_events join_guilds purchases; do
    ts="NULL AS a, NULL AS b"
    [ "$t" = _rejected ] || ts="strftime(min(timestamp), '%Y-%m-%dT%H:%M:%S.%fZ') AS a, strftime(max(timestamp), '%Y-%m-%dT%H:%M:%S.%fZ') AS b"
    parts+=("SELECT '$t' AS t, count(*) AS n, count(DISTINCT filename) AS f, count(DISTINCT dt) AS p, $ts FROM read_parquet('$LAKE/$t/*/*.parquet', hive_partitioning=true, union_by_name=true, filename=true)")
done
q="$(printf '%s UNION ALL ' "${parts[@]}")"
want="$(duck "SET TimeZone='UTC'" "SELECT * FROM (${q% UNION ALL }) ORDER BY t" | python3 -c '
import json, sys
for l in sys.stdin:
    r = list(json.loads(l).values()); print(*["None" if x is None else x for x in r])')"
is "$got" "$want" "tables: rows, files, partitions, first/last timestamp match DuckDB"

done_testing
