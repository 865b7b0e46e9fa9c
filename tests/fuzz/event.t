#!/usr/bin/env bash
# event.t — runs the event-builder fuzz target (fuzz_event: query strings,
# headers, POST /events bodies) for ~10 s.
. "$(dirname "$0")/../lib.sh"
fuzz_setup event
printf 'sword_type=katana&price=12&event_type=x\0host:user1.comcast.com\nuser-agent:ab\ncookie:c\0{"event_type":"join_guild","guild_id":"g"}' > "$corpus/route"
printf 'a=%%zz&b=+%%C3%%A9&price=-7\0accept:a\naccept:b\0{"event_type":"purchase_sword","price":"5","x":{"y":[1,2.5e3,null]}}\n{"event_type":"default"}\n' > "$corpus/ndjson"
printf '\0x-bin:\xff\xfe\0{"event_type":"join_guild","event_id":"1","a":"\\u00e9\\ud83d\\ude00"}' > "$corpus/reserved"
fuzz_run event "a crash or a broken event" -max_len=4096
