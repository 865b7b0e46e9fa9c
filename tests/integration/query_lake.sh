# tests/integration/query_lake.sh — builds test lakes with DuckDB (the
# independent writer) for the query/describe/report tests and bench/query.sh.
# Source after lib.sh (needs $ROOT):
#   make_lake DIR ROWS [ROW_GROUP_ROWS]   the default tables
#   make_evolving DIR                     `evolving` (a later file adds columns) and `_rejected`
#   duck_views LAKE TABLE[:BOOLCOL]…      DuckDB views named like questlog's tables
#   same "name" "SQL"                     TAP: questlog == DuckDB for SQL (uses $LAKE, views)
#
# Seed-like events (the seed's ab runs: Host user1.comcast.com / user2.att.com,
# ApacheBench/2.3, */*), one every 400 ms from 2026-11-21 22:00:00 UTC (so
# they span midnight), split into the default tables in the Hive layout
# LAKE/<table>/dt=YYYY-MM-DD/*.parquet.

# SQL for the event rows (n rows) as a DuckDB SELECT.
_ql_events_sql() {
    cat <<SQL
SELECT
  printf('0193%028x', i) AS event_id,
  CASE WHEN i % 10 < 5 THEN 'purchase_sword' WHEN i % 10 < 8 THEN 'join_guild' ELSE 'default' END AS event_type,
  TIMESTAMPTZ '2026-11-21 22:00:00+00' + to_microseconds(i * 400000 + (i * 7919) % 1000) AS "timestamp",
  CASE WHEN i % 97 = 0 THEN NULL WHEN i % 3 = 0 THEN 'user2.att.com' WHEN i % 3 = 1 THEN 'user1.comcast.com'
       ELSE 'player' || (i % 50) || '.example.net' END AS "Host",
  CASE WHEN i % 4 = 0 THEN 'Mozilla/5.0 (X11; Linux x86_64) questlog-sim' ELSE 'ApacheBench/2.3' END AS "User-Agent",
  '*/*' AS "Accept",
  CASE WHEN i % 10 < 5 THEN ['katana', 'longsword', 'rapier', 'claymore', 'scimitar'][1 + (i // 10) % 5] END AS sword_type,
  CASE WHEN i % 10 < 5 THEN CAST(10 + (i * 31) % 90 AS BIGINT) END AS price,
  CASE WHEN i % 10 >= 5 AND i % 10 < 8 THEN 'guild' || (i % 6) END AS guild_id,
  CASE WHEN i % 10 < 5 THEN ((i * 13) % 1000) / 10.0::DOUBLE END AS damage,
  (i % 2 = 0) AS critical,
  strftime(TIMESTAMPTZ '2026-11-21 22:00:00+00' + to_microseconds(i * 400000), '%Y-%m-%d') AS dt
FROM range($1) t(i)
SQL
}

make_lake() {  # make_lake DIR ROWS [ROW_GROUP_ROWS]
    local dir="$1" n="$2" rg="${3:-4096}" ev
    mkdir -p "$dir"
    ev="$(_ql_events_sql "$n")"
    node "$ROOT/tests/interop/duck.mjs" \
      "SET TimeZone='UTC'" \
      "CREATE TABLE ev AS $ev" \
      "COPY (SELECT * FROM ev) TO '$dir/extracted_events' (FORMAT parquet, PARTITION_BY (dt), ROW_GROUP_SIZE $rg, COMPRESSION zstd)" \
      "COPY (SELECT * EXCLUDE (guild_id) FROM ev WHERE event_type = 'purchase_sword') TO '$dir/purchases' (FORMAT parquet, PARTITION_BY (dt), ROW_GROUP_SIZE $rg)" \
      "COPY (SELECT event_id, event_type, \"timestamp\", \"Host\", \"User-Agent\", \"Accept\", guild_id, dt FROM ev WHERE event_type = 'join_guild') TO '$dir/join_guilds' (FORMAT parquet, PARTITION_BY (dt), ROW_GROUP_SIZE $rg)" \
      "COPY (SELECT event_id, event_type, \"timestamp\", \"Host\", \"User-Agent\", \"Accept\", dt FROM ev WHERE event_type = 'default') TO '$dir/default_hits' (FORMAT parquet, PARTITION_BY (dt), ROW_GROUP_SIZE $rg)" \
      "SELECT 1" >/dev/null || return 1
}

make_evolving() {  # make_evolving DIR
    local dir="$1"
    mkdir -p "$dir/evolving/dt=2026-11-20" "$dir/evolving/dt=2026-11-21" "$dir/_rejected/dt=2026-11-21"
    node "$ROOT/tests/interop/duck.mjs" \
      "SET TimeZone='UTC'" \
      "COPY (SELECT 'e' || i AS event_id, 'join_guild' AS event_type, TIMESTAMPTZ '2026-11-20 10:00:00+00' + to_microseconds(i * 1000000) AS \"timestamp\", 'user1.comcast.com' AS \"Host\" FROM range(50) t(i)) TO '$dir/evolving/dt=2026-11-20/part-0-0-49.parquet' (FORMAT parquet)" \
      "COPY (SELECT 'f' || i AS event_id, 'purchase_sword' AS event_type, TIMESTAMPTZ '2026-11-21 10:00:00+00' + to_microseconds(i * 1000000) AS \"timestamp\", CASE WHEN i % 5 = 0 THEN NULL ELSE 'user2.att.com' END AS \"Host\", 'katana' AS sword_type, CAST(i AS BIGINT) AS price, i * 1.5::DOUBLE AS damage FROM range(70) t(i)) TO '$dir/evolving/dt=2026-11-21/part-0-50-119.parquet' (FORMAT parquet)" \
      "COPY (SELECT 'r' || i AS raw, 'bad JSON' AS error FROM range(3) t(i)) TO '$dir/_rejected/dt=2026-11-21/part-0-0-2.parquet' (FORMAT parquet)" \
      "SELECT 1" >/dev/null || return 1
}

# duck_views LAKE TABLE[:BOOLCOL]…: DuckDB statements (in the array `views`)
# that make each table directory a view with the same name and columns as
# questlog shows (BOOLCOL as 0/1 like SQLite; dt as text), so one SQL text
# runs in both engines.
duck_views() {
    local lake="$1" spec t repl
    shift
    views=("SET TimeZone='UTC'")
    for spec in "$@"; do
        t="${spec%%:*}" repl=""
        [ "$t" != "$spec" ] && repl=" REPLACE (\"${spec#*:}\"::INT AS \"${spec#*:}\")"
        views+=("CREATE VIEW \"$t\" AS SELECT *$repl FROM read_parquet('$lake/$t/*/*.parquet', hive_partitioning=true, hive_types_autocast=false, union_by_name=true)")
    done
}

# JSON lines with keys sorted, floats rounded and DuckDB's JSON timestamps
# ("2026-11-21 22:00:00.4+00") in questlog's form, so both engines' text compares.
norm() {
    python3 -c '
import json, re, sys
TS = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))?\+00$")
def r(v):
    if isinstance(v, float): return round(v, 6)
    if isinstance(v, str):
        m = TS.match(v)
        if m: return "%sT%s.%sZ" % (m.group(1), m.group(2), (m.group(3) or "").ljust(6, "0"))
    return v
for line in sys.stdin:
    line = line.strip()
    if line: print(json.dumps({k: r(v) for k, v in json.loads(line).items()}, sort_keys=True))
'
}

# same "name" "SQL": queues a check that questlog's answer over $LAKE equals
# DuckDB's over the views; same_check runs the queue (DuckDB once for all).
_same_names=()
_same_sqls=()
same() { _same_names+=("$1"); _same_sqls+=("$2"); }
same_check() {
    local stmts=("${views[@]}") i got want
    for i in "${!_same_sqls[@]}"; do
        stmts+=("COPY (${_same_sqls[$i]}) TO '$tmpdir/duck_$i.json' (FORMAT json)")
    done
    duck "${stmts[@]}" "SELECT 1" >/dev/null 2>"$tmpdir/duck.err" || diag "duckdb: $(cat "$tmpdir/duck.err")"
    for i in "${!_same_sqls[@]}"; do
        got="$("$QL" query --lake "$LAKE" --format json "${_same_sqls[$i]}" 2>&1 | norm)"
        want="$(norm < "$tmpdir/duck_$i.json" 2>/dev/null)"
        if [ -n "$want" ] && [ "$got" = "$want" ]; then
            ok 0 "${_same_names[$i]}"
        else
            ok 1 "${_same_names[$i]}"
            diag "SQL: ${_same_sqls[$i]}"
            diff <(echo "$want") <(echo "$got") | head -10 | sed 's/^/#   /'
        fi
    done
    _same_names=()
    _same_sqls=()
}
