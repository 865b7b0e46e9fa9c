#!/usr/bin/env bash
# httpc.t — runs the HTTP response parser fuzz target (fuzz_httpc) for ~10 s.
. "$(dirname "$0")/../lib.sh"
bin="$QL_BUILD_DIR/fuzz/fuzz_httpc"
[ -x "$bin" ] || skip_all "fuzz_httpc not built (make fuzz needs clang)"
corpus="$tmpdir/corpus"
mkdir -p "$corpus"
printf 'HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\nSword Purchased!\n' > "$corpus/cl"
printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"acc\r\n0a;x=1\r\nepted":3}\r\n0\r\nT: 1\r\n\r\n' > "$corpus/chunked"
printf 'HTTP/1.0 400 Bad Request\r\nConnection: keep-alive\r\n\r\nbody until close' > "$corpus/close"
"$bin" -max_total_time=10 -max_len=4096 -print_final_stats=0 -artifact_prefix="$tmpdir/" "$corpus" > "$tmpdir/out" 2>&1
rc=$?
ok $rc "fuzz_httpc: 10 s without a crash"
[ $rc -eq 0 ] || tail -30 "$tmpdir/out" | sed 's/^/# /'
done_testing
