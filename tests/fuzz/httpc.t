#!/usr/bin/env bash
# httpc.t — runs the HTTP response parser fuzz target (fuzz_httpc) for ~10 s.
. "$(dirname "$0")/../lib.sh"
fuzz_setup httpc
printf 'HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\nSword Purchased!\n' > "$corpus/cl"
printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"acc\r\n0a;x=1\r\nepted":3}\r\n0\r\nT: 1\r\n\r\n' > "$corpus/chunked"
printf 'HTTP/1.0 400 Bad Request\r\nConnection: keep-alive\r\n\r\nbody until close' > "$corpus/close"
fuzz_run httpc "a crash" -max_len=4096
