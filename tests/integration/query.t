#!/usr/bin/env bash
# query.t — `questlog query` over a DuckDB-written Hive lake, every answer
# compared with DuckDB's over the same files (read_parquet, hive_partitioning,
# union_by_name): the seed's queries, aggregations, filters on timestamp / dt /
# strings / numbers, NULL handling, a table whose later file adds columns.
# Then: row-group skipping shown by --stats, output formats, errors.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/query_lake.sh"

LAKE="$tmpdir/lake"
make_lake "$LAKE" 20000 1000 && make_evolving "$LAKE"
ok $? "DuckDB wrote the test lake"

duck_views "$LAKE" extracted_events:critical purchases:critical join_guilds default_hits evolving _rejected

# The seeds' queries, verbatim (ordered for a stable comparison).
same "seed: purchases by Host"      "select * from purchases where Host = 'user1.comcast.com' order by event_id"
same "seed: guild joins by Host"    "select * from join_guilds where Host = 'user2.att.com' order by event_id"
same "seed: all purchases"          "select * from purchases order by event_id"
# Aggregations.
same "count by event_type"          "select event_type, count(*) as n from extracted_events group by event_type order by event_type"
same "count by Host (NULL group)"   "select Host, count(*) as n from extracted_events group by Host order by n desc, coalesce(Host, '') limit 10"
same "sum/avg/min/max price"        "select sum(price) as s, round(avg(price), 4) as a, min(price) as lo, max(price) as hi, count(price) as c from purchases"
same "min/max timestamp"            "select min(timestamp) as a, max(timestamp) as b from extracted_events"
same "sword types"                  "select sword_type, count(*) as n, sum(price) as s from purchases group by sword_type order by sword_type"
# grouped scans gather the non-key columns on two threads (from 8192 rows on)
same "grouped: many gathered columns" "select Host, count(*) as n, sum(price) as s, min(timestamp) as t, round(max(damage), 6) as d, max(dt) as day, min(sword_type) as w, max(\"User-Agent\") as ua from extracted_events group by Host order by coalesce(Host, '')"
same "grouped, filtered, gathered"   "select sword_type, count(*) as n, sum(price) as s, max(timestamp) as t from purchases where timestamp >= '2026-11-21T22:30:00Z' group by sword_type order by sword_type"
same "avg of a double"              "select round(avg(damage), 6) as a, max(damage) as m from extracted_events"
# Filters.
same "timestamp >= (Z literal)"     "select count(*) as n from extracted_events where timestamp >= '2026-11-22T00:00:00Z'"
same "timestamp range"              "select count(*) as n from extracted_events where timestamp >= '2026-11-21T22:30:00Z' and timestamp < '2026-11-21T23:00:00.5Z'"
same "timestamp = exact value"      "select event_id from extracted_events where timestamp = '2026-11-21T22:00:00.400919Z'"
same "dt = partition"               "select count(*) as n, min(timestamp) as t from extracted_events where dt = '2026-11-22'"
same "dt range"                     "select dt, count(*) as n from purchases where dt > '2026-11-21' group by dt"
same "string equality, no match"    "select count(*) as n from purchases where Host = 'nobody.example'"
same "string range"                 "select count(*) as n from extracted_events where Host > 'player3' and Host <= 'user1.comcast.com'"
same "IN list"                      "select Host, count(*) as n from extracted_events where Host in ('user1.comcast.com', 'user2.att.com') group by Host order by Host"
same "LIKE on quoted column"        "select count(*) as n from extracted_events where \"User-Agent\" like 'Mozilla%'"
same "integer BETWEEN"              "select count(*) as n, sum(price) as s from purchases where price between 20 and 30"
same "integer vs real constant"     "select count(*) as n from purchases where price > 50.5"
same "double filter"                "select count(*) as n from extracted_events where damage >= 50.5"
same "boolean as 0/1"               "select count(*) as n from extracted_events where critical = 1"
# NULLs.
same "IS NULL"                      "select count(*) as n from extracted_events where Host is null"
same "IS NOT NULL"                  "select count(*) as n from purchases where sword_type is not null"
same "NULL never equals"            "select count(*) as n from extracted_events where guild_id = 'guild1' or guild_id is null"
# A table whose later file added columns (union by name; absent = NULL).
same "evolving: all rows"           "select * from evolving order by event_id"
same "evolving: counts per column"  "select count(*) as n, count(price) as p, count(Host) as h, count(damage) as d from evolving"
same "evolving: filter on new col"  "select event_id, price from evolving where price > 50 order by event_id"
same "evolving: new col IS NULL"    "select count(*) as n from evolving where sword_type is null"
same "_rejected is queryable"       "select * from \"_rejected\" order by raw"
same "join of two tables"           "select g.guild_id as g, count(*) as n from purchases p join join_guilds g on p.Host = g.Host and p.dt = g.dt where p.Host = 'user2.att.com' and p.timestamp < '2026-11-21T22:05:00Z' group by 1 order by 1"

same_check

# Row-group skipping: the lake has 2048-row groups (DuckDB's), 10 in extracted_events.
stats() { "$QL" query --lake "$LAKE" --stats --format csv "$1" 2>&1 >/dev/null | sed -n 's/^row groups: scanned \([0-9]*\), skipped \([0-9]*\).*/\1 \2/p'; }
is "$(stats "select count(*) from extracted_events")" "10 0" "full scan reads every row group"
is "$(stats "select count(*) from extracted_events where timestamp >= '2026-11-22T00:00:00Z'")" "1 9" \
   "timestamp filter skips row groups by statistics"
is "$(stats "select count(*) from extracted_events where dt = '2026-11-22'")" "1 9" "dt filter skips whole files"
all="$(stats "select count(*) from purchases")"
is "$(stats "select count(*) from purchases where price > 1000")" "0 ${all% *}" "out-of-range integer skips every row group"
is "$(stats "select count(*) from evolving where price is not null")" "1 1" "missing column skips the file"
is "$(stats "select count(*) from extracted_events where Host = 'q.example'")" "0 10" \
   "a string inside min..max but in no dictionary skips every row group"
out="$("$QL" query --lake "$LAKE" --stats "select count(*) from extracted_events where timestamp < '2026-11-21T22:10:00Z'" 2>&1)"
echo "$out" | grep -q "scanned 1, skipped 9"; ok $? "upper-bound timestamp filter reads one row group"

# Output formats.
out="$("$QL" query --lake "$LAKE" --format csv "select 'a,b' as x, 'say \"hi\"' as y, null as z, 1.5 as w")"
is "$out" "$(printf 'x,y,z,w\n"a,b","say ""hi""",,1.5')" "csv: header, RFC 4180 quoting, NULL empty"
# longer fields: the special byte in the first 8, past them, in the tail, or absent
out="$("$QL" query --lake "$LAKE" --format csv "select 'abcdefghij,klm' as a, 'abcdefgh\"ijklmnopq' as b, \
  'abcdefghijklmnop' || char(10) || 'x' as c, 'abcdefghijklmnopq' || char(13) as d, 'abc,defghijklmnop' as e, \
  'abcdefghijklmnopqrstuvwxyz0123456789' as f, -42 as g")"
is "$out" "$(printf 'a,b,c,d,e,f,g\n"abcdefghij,klm","abcdefgh""ijklmnopq","abcdefghijklmnop\nx","abcdefghijklmnopq\r","abc,defghijklmnop",abcdefghijklmnopqrstuvwxyz0123456789,-42')" \
  "csv: quoting found anywhere in long fields"
out="$("$QL" query --lake "$LAKE" "select event_type, count(*) as n from extracted_events group by 1 order by 1")"
want='+--------------+-----+
|    event_type|    n|
+--------------+-----+
|       default| 4000|
|    join_guild| 6000|
|purchase_sword|10000|
+--------------+-----+'
is "$out" "$want" "table: Spark show() layout"
out="$("$QL" query --lake "$LAKE" --width 60 "select * from purchases limit 3")"
maxw="$(echo "$out" | python3 -c 'import sys; print(max(len(l.rstrip("\n")) for l in sys.stdin))')"
[ "$maxw" -le 60 ]; ok $? "table fits --width 60 (widest line $maxw)"
echo "$out" | grep -q "…"; ok $? "cut cells end with …"
out="$("$QL" query --lake "$LAKE" --format json "select 1 as a, 'x\"y' as b, null as c, 2.5 as d")"
is "$out" '{"a":1,"b":"x\"y","c":null,"d":2.5}' "json lines"
out="$("$QL" query --lake "$LAKE" --format csv "select 1 as a; select 2 as b")"
is "$out" "$(printf 'a\n1\nb\n2')" "several statements, each printed"
out="$(echo "select count(*) as n from join_guilds" | "$QL" query --lake "$LAKE" --format csv)"
is "$out" "$(printf 'n\n6000')" "SQL from stdin"

# Errors.
out="$("$QL" query --lake "$LAKE" "select * from no_such_table" 2>&1)"; rc=$?
is "$rc" 1 "SQL error exits 1"
echo "$out" | grep -q "^questlog query: no such table: no_such_table"; ok $? "SQLite's message is shown"
"$QL" query --lake "$tmpdir/missing" "select 1" >/dev/null 2>&1; is $? 1 "missing lake exits 1"
"$QL" query --format xml "select 1" >/dev/null 2>&1; is $? 2 "bad format is a usage error"
"$QL" query --help | grep -q -- "--format"; ok $? "--help"

done_testing
