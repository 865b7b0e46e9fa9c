#!/usr/bin/env bash
# event.t — runs the event-builder fuzz target (fuzz_event: query strings,
# headers, POST /events bodies) for ~10 s.
. "$(dirname "$0")/../lib.sh"
bin="$QL_BUILD_DIR/fuzz/fuzz_event"
[ -x "$bin" ] || skip_all "fuzz_event not built (make fuzz needs clang)"
corpus="$tmpdir/corpus"
mkdir -p "$corpus"
printf 'sword_type=katana&price=12&event_type=x\0host:user1.comcast.com\nuser-agent:ab\ncookie:c\0{"event_type":"join_guild","guild_id":"g"}' > "$corpus/route"
printf 'a=%%zz&b=+%%C3%%A9&price=-7\0accept:a\naccept:b\0{"event_type":"purchase_sword","price":"5","x":{"y":[1,2.5e3,null]}}\n{"event_type":"default"}\n' > "$corpus/ndjson"
printf '\0x-bin:\xff\xfe\0{"event_type":"join_guild","event_id":"1","a":"\\u00e9\\ud83d\\ude00"}' > "$corpus/reserved"
"$bin" -max_total_time=10 -max_len=4096 -print_final_stats=0 -artifact_prefix="$tmpdir/" "$corpus" > "$tmpdir/out" 2>&1
rc=$?
ok $rc "fuzz_event: 10 s without a crash or a broken event"
[ $rc -eq 0 ] || tail -30 "$tmpdir/out" | sed 's/^/# /'
done_testing
