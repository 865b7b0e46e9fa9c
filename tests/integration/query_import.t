#!/usr/bin/env bash
# query_import.t — `questlog query` over a lake written by questlog itself
# (`questlog import`, i.e. questlog's Parquet writer and lake layout), each
# answer compared with DuckDB's over the same files; a second import adds a
# column (later files with a wider schema); describe and tables agree too.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/query_lake.sh"

"$QL" import --help >/dev/null 2>&1 || skip_all "questlog import not built"
LAKE="$tmpdir/lake"
duck "SET TimeZone='UTC'" \
    "COPY (SELECT * EXCLUDE (dt, critical) REPLACE (strftime(\"timestamp\", '%Y-%m-%dT%H:%M:%S.%fZ') AS \"timestamp\") FROM ($(_ql_events_sql 8000)) t) TO '$tmpdir/ev.jsonl' (FORMAT json)" >/dev/null
ok $? "DuckDB wrote 8000 events as JSON lines"
"$QL" import -q --lake "$LAKE" "$tmpdir/ev.jsonl"
ok $? "questlog import loaded them"
# A later batch brings a new field (a later file adds a column).
printf '%s\n' \
  '{"event_type":"purchase_sword","timestamp":"2026-11-23T10:00:00.000001Z","Host":"user1.comcast.com","sword_type":"katana","price":77,"enchantment":"fire"}' \
  '{"event_type":"join_guild","timestamp":"2026-11-23T10:00:01Z","Host":"user2.att.com","guild_id":"guild9","enchantment":"none"}' \
  > "$tmpdir/later.jsonl"
"$QL" import -q --lake "$LAKE" "$tmpdir/later.jsonl"
ok $? "a later import with a new field"

duck_views "$LAKE" extracted_events purchases join_guilds default_hits
same "seed: purchases by Host"     "select * from purchases where Host = 'user1.comcast.com' order by event_id"
same "seed: guild joins by Host"   "select * from join_guilds where Host = 'user2.att.com' order by event_id"
same "count by event_type"         "select event_type, count(*) as n from extracted_events group by event_type order by 1"
same "count by Host"               "select Host, count(*) as n from extracted_events group by Host order by n desc, coalesce(Host, '') limit 8"
same "sum/avg/min/max price"       "select sum(price) as s, round(avg(price), 4) as a, min(price) as lo, max(price) as hi from purchases"
same "min/max timestamp"           "select min(timestamp) as a, max(timestamp) as b, count(distinct dt) as d from extracted_events"
same "timestamp filter"            "select count(*) as n from extracted_events where timestamp >= '2026-11-21T22:30:00Z' and timestamp < '2026-11-21T22:40:00Z'"
same "dt filter"                   "select count(*) as n from purchases where dt = '2026-11-21'"
same "new column in a later file"  "select event_type, enchantment, count(*) as n from extracted_events group by 1, 2 order by 1, coalesce(enchantment, '')"
same "IS NULL on the new column"   "select count(*) as n from purchases where enchantment is null"
same "sword types"                 "select sword_type, count(*) as n from purchases group by sword_type order by sword_type"

same_check

out="$("$QL" query --lake "$LAKE" --stats --format csv "select count(*) from extracted_events where enchantment = 'fire'" 2>&1)"
echo "$out" | grep -q "skipped [1-9]"; ok $? "files without the new column are skipped ($(echo "$out" | tail -1))"

n="$("$QL" tables --lake "$LAKE" --format csv | grep '^extracted_events,' | cut -d, -f2)"
is "$n" 8002 "tables: row count from footers"

done_testing
