#!/usr/bin/env bash
# thrift.t — runs the Thrift compact decoder / page decompressor fuzz target
# (fuzz_thrift) for ~10 s, seeded with a real Parquet footer.
. "$(dirname "$0")/../lib.sh"
fuzz_setup thrift
# Seeds: a questlog footer (mode bytes 0 and 1) and compressed pages (mode 2 + codec).
if [ -x "$QL_BUILD_DIR/tools/pqgen" ]; then
    "$QL_BUILD_DIR/tools/pqgen" types "$tmpdir/t.parquet" > /dev/null
    python3 - "$tmpdir/t.parquet" "$corpus" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
flen = struct.unpack('<I', data[-8:-4])[0]
footer = data[-8 - flen:-8]
for mode in (0, 1):
    open(f"{sys.argv[2]}/footer{mode}", 'wb').write(bytes([mode]) + footer)
raw = b"questlog page " * 20
open(f"{sys.argv[2]}/gzip", 'wb').write(bytes([2 | (2 << 2)]) + struct.pack('<H', len(raw)) + zlib.compress(raw))
open(f"{sys.argv[2]}/plain", 'wb').write(bytes([2]) + struct.pack('<H', len(raw)) + raw)
PY
fi
fuzz_run thrift "a crash" -max_len=8192
