#!/usr/bin/env bash
# big_event.t — events of 256 KiB and more (the collector gives each its own
# log append, out of the loop's shared batch) land intact in the lake: sent
# alone and in the middle of an NDJSON body, next to small events, through
# `questlog up` (HTTP → log → loader) and through `questlog import`. Each
# value is compared byte for byte with what DuckDB reads from the Parquet
# files. Deterministic: every 200 is durable, and `up` drains on SIGTERM.
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || skip_all "curl not installed"

# Three events with a 300 KiB / 600 KiB / 256 KiB `note`: every byte value a
# JSON string can carry as UTF-8 — escapes, quotes, backslashes, control
# characters, 2-, 3- and 4-byte characters — in a seeded pseudo-random order.
python3 - "$tmpdir" <<'EOF'
import json, random, sys
d = sys.argv[1]
rnd = random.Random(256)
alphabet = [chr(c) for c in range(0x20, 0x7f)] + ['\n', '\t', '"', '\\', '\x01', '\x1f', 'é', 'ß', '€', '中', '😀', '\u2028']
def note(size):
    s, n = [], 0
    while n < size:
        c = rnd.choice(alphabet)
        s.append(c)
        n += len(c.encode())
    return ''.join(s)
notes = {"big1": note(300 << 10), "big2": note(600 << 10), "big3": note(256 << 10)}
json.dump(notes, open(f"{d}/notes.json", "w"))
ev = lambda k: json.dumps({"event_type": "purchase_sword", "sword_type": k, "note": notes[k]})
open(f"{d}/alone.json", "w").write(ev("big1"))
open(f"{d}/mixed.ndjson", "w").write(
    json.dumps({"event_type": "join_guild", "guild_id": "before"}) + "\n" + ev("big2") + "\n" +
    json.dumps({"event_type": "join_guild", "guild_id": "after"}) + "\n")
open(f"{d}/import.jsonl", "w").write(json.dumps({"event_type": "default", "n": 1}) + "\n" + ev("big3") + "\n" +
                                     json.dumps({"event_type": "default", "n": 2}) + "\n")
EOF
ok $? "test events generated"

# check_notes LAKE "KEYS": purchases' rows with a note are exactly those
# sword_types, each note equal to notes.json's, byte for byte ("same")
check_notes() {
    duck "select sword_type, note, octet_length(encode(note)) as bytes, md5(note) as md5
          from read_parquet('$1/purchases/*/*.parquet', union_by_name=true) where note is not null
          order by sword_type" > "$tmpdir/duck.out"
    python3 - "$tmpdir" "$2" <<'EOF'
import hashlib, json, sys
d, keys = sys.argv[1], sys.argv[2].split()
notes = json.load(open(f"{d}/notes.json"))
rows = [json.loads(l) for l in open(f"{d}/duck.out")]
got = {r["sword_type"]: r for r in rows}
bad = []
if sorted(got) != sorted(keys): bad.append(f"sword_types {sorted(got)} != {sorted(keys)}")
for k in keys:
    r, want = got.get(k), notes[k].encode()
    if not r: continue
    if r["note"].encode() != want: bad.append(f"{k}: value differs")
    if r["bytes"] != len(want): bad.append(f"{k}: {r['bytes']} bytes, want {len(want)}")
    if r["md5"] != hashlib.md5(want).hexdigest(): bad.append(f"{k}: md5 differs")
print("; ".join(bad) or "same")
EOF
}

DATA="$tmpdir/data"
port=$(free_port)
"$QL" up --data "$DATA" --listen "127.0.0.1:$port" -q > "$tmpdir/up.out" 2> "$tmpdir/up.err" &
up=$!
_bg_pids+=("$up")
wait_port "$port" || { echo "Bail out! up did not start"; cat "$tmpdir/up.err"; exit 1; }

# small requests keep the loops' shared batches busy meanwhile
( for i in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/purchase_a_sword?sword_type=small"; done ) &
small=$!
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
      --data-binary @"$tmpdir/alone.json" "http://127.0.0.1:$port/events")" "200" "a 300 KiB event alone: 200"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-ndjson' \
      --data-binary @"$tmpdir/mixed.ndjson" "http://127.0.0.1:$port/events")" "200" \
   "a 600 KiB event between two small ones in one NDJSON body: 200"
wait $small
kill -TERM "$up"; wait "$up"
ok $? "up drains and exits 0"

is "$(check_notes "$DATA/lake" "big1 big2")" "same" \
   "both big events in purchases, every byte as sent (DuckDB)"
is "$(duck "select count(*) as n from read_parquet('$DATA/lake/purchases/*/*.parquet', union_by_name=true) where sword_type = 'small'")" \
   '{"n":200}' "the 200 small events next to them"
is "$(duck "select string_agg(guild_id, ',' order by guild_id) as g from read_parquet('$DATA/lake/join_guilds/*/*.parquet')")" \
   '{"g":"after,before"}' "the NDJSON body's small events too"
is "$(duck "select count(*) as n from read_parquet('$DATA/lake/extracted_events/*/*.parquet', union_by_name=true) where octet_length(encode(note)) >= 262144")" \
   '{"n":2}' "and in extracted_events"

# the same through import (a line longer than import's 256 KiB read chunk)
"$QL" import -q --lake "$tmpdir/lake2" --workers 2 "$tmpdir/import.jsonl"
ok $? "import of a 256 KiB line between two small ones"
is "$(check_notes "$tmpdir/lake2" "big3")" "same" "imported every byte as given (DuckDB)"
is "$(duck "select count(*) as n from read_parquet('$tmpdir/lake2/default_hits/*/*.parquet')")" '{"n":2}' \
   "the small lines around it"
done_testing
