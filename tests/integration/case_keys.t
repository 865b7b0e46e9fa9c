#!/usr/bin/env bash
# case_keys.t — keys that differ only in case ("Host" the header, "host" a
# query parameter of the same request; "A" and "a" from another producer)
# are two Parquet columns, but SQL names ignore case: the table must still
# open (it used to fail every query with "duplicate column name"), each key's
# values must stay readable (the second spelling as host_1, as DuckDB's
# union_by_name names it), and one spelling across files is one column (a
# file with one spelling only: the column of that spelling, else another case).
. "$(dirname "$0")/../lib.sh"

serve_bg "$tmpdir/data"    # sets port and serve_pid
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: user1.comcast.com' "http://127.0.0.1:$port/purchase_a_sword?host=x")" 200 \
   "GET /purchase_a_sword?host=x with a Host header: 200"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: user2.att.com' "http://127.0.0.1:$port/purchase_a_sword")" 200 \
   "a second request, Host only: 200"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null
"$QL" load --once -q --data "$tmpdir/data"
ok $? "load --once"

out=$("$QL" query --data "$tmpdir/data" --format csv "select Host, host_1 from purchases order by Host" 2>&1)
is "$out" $'Host,host_1\nuser1.comcast.com,x\nuser2.att.com,' "the header and the parameter are both readable"
"$QL" query --data "$tmpdir/data" "select * from extracted_events" > /dev/null 2> "$tmpdir/err"
ok $? "select * opens the table: $(head -c 200 "$tmpdir/err")"
duck_out=$(duck "select Host, host_1 from read_parquet('$tmpdir/data/lake/purchases/*/*.parquet', union_by_name=true) order by Host")
is "$duck_out" $'{"Host":"user1.comcast.com","host_1":"x"}\n{"Host":"user2.att.com","host_1":null}' "DuckDB names and reads them the same way"

# another producer: A and a in one event, then a file with only a
printf '{"event_type":"default","A":1,"a":2}\n' > "$tmpdir/one.jsonl"
printf '{"event_type":"default","a":3}\n' > "$tmpdir/two.jsonl"
"$QL" import -q --lake "$tmpdir/lake2" "$tmpdir/one.jsonl" "$tmpdir/two.jsonl"
ok $? "import"
out=$("$QL" query --lake "$tmpdir/lake2" --format csv "select A, a_1 from default_hits order by A nulls last" 2>&1)
is "$out" $'A,a_1\n1,2\n,3' "A and a of one event are two columns; a file with only 'a' fills the one of that spelling"
done_testing
