#!/usr/bin/env bash
# pq_read.t — questlog's Parquet reader against files DuckDB writes: every
# codec (zstd, snappy, gzip, none), data pages V1 and V2 (which bring
# DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, BYTE_STREAM_SPLIT), several
# row-group sizes, nulls in every column, dictionary and plain strings, and
# every type questlog maps (plus DECIMAL, unsigned, TIMESTAMP_MS/NS, DATE).
# `questlog inspect --rows 0` must print the same values DuckDB returns for
# the same file. Then truncated and corrupted files must give a clean error.
. "$(dirname "$0")/../lib.sh"
command -v node >/dev/null || skip_all "node not installed"
[ -d "$ROOT/tests/interop/node_modules/@duckdb/node-api" ] || skip_all "@duckdb/node-api not installed (make deps)"
D="$tmpdir"
N=12000

# The source table: nulls at different rates per column, empty and unicode
# strings, a high-cardinality string (dictionary fallback), negatives.
SRC="CREATE TABLE t AS SELECT
  i::BIGINT AS id,
  CASE WHEN i % 7 = 3 THEN NULL WHEN i % 11 = 0 THEN '' WHEN i % 13 = 0 THEN 'ünïcødé ✓ \"q\" \\ ' || (i % 5) ELSE 'ev_' || (i % 50) END AS s,
  CASE WHEN i % 5 = 0 THEN NULL ELSE md5(i::VARCHAR) || repeat('x', i % 40) END AS u,
  CASE WHEN i % 3 = 0 THEN NULL ELSE (i * 7919 % 100003) * 1000003 - 50000000000 END::BIGINT AS big,
  CASE WHEN i % 4 = 1 THEN NULL ELSE (i % 1000) - 500 END::INTEGER AS n32,
  CASE WHEN i % 6 = 2 THEN NULL ELSE i / 7.0 - 100 END::DOUBLE AS d,
  CASE WHEN i % 9 = 4 THEN NULL ELSE i % 3 = 0 END AS b,
  CASE WHEN i % 8 = 5 THEN NULL ELSE TIMESTAMP '2026-11-21 20:43:05.123456' + INTERVAL (i * 1000003) MICROSECOND END AS ts,
  CASE WHEN i % 10 = 7 THEN NULL ELSE TIMESTAMPTZ '1969-12-31 23:59:00+00' + INTERVAL (i * 7) SECOND END AS tstz,
  CASE WHEN i % 12 = 1 THEN NULL ELSE (i / 3.0)::FLOAT END AS f,
  NULL::VARCHAR AS allnull,
  (i % 3 = 1) AS b_nonull,
  'const' AS c
FROM range($N) r(i)"

configs=(
  "v1_zstd:COMPRESSION zstd"
  "v1_snappy:COMPRESSION snappy, KV_METADATA {team: 'quests', note: 'a \"quoted\" value'}"
  "v1_none:COMPRESSION uncompressed"
  "v1_gzip:COMPRESSION gzip"
  "v2_zstd:COMPRESSION zstd, PARQUET_VERSION V2"
  "v2_snappy:COMPRESSION snappy, PARQUET_VERSION V2"
  "v2_none:COMPRESSION uncompressed, PARQUET_VERSION V2"
  "v1_rg1000:COMPRESSION zstd, ROW_GROUP_SIZE 1000"
  "v2_rg4096:COMPRESSION snappy, PARQUET_VERSION V2, ROW_GROUP_SIZE 4096"
  "v1_zstd19:COMPRESSION zstd, COMPRESSION_LEVEL 19, ROW_GROUP_SIZE 20000"
)
stmts=("$SRC" "SET TimeZone = 'UTC'")
for c in "${configs[@]}"; do
  stmts+=("COPY t TO '$D/${c%%:*}.parquet' (FORMAT parquet, ${c#*:})")
done
stmts+=("COPY (SELECT * FROM t LIMIT 0) TO '$D/empty.parquet' (FORMAT parquet)")
stmts+=("COPY (SELECT * FROM t LIMIT 10) TO '$D/lz4.parquet' (FORMAT parquet, COMPRESSION lz4)")
stmts+=("COPY (SELECT (i/100)::DECIMAL(9,2) d9, (i/1000 - 3)::DECIMAL(18,3) d18, (i/7 - 50)::DECIMAL(38,5) d38,
          (i%250)::UTINYINT ut, (i*1000003)::UINTEGER ui, (i%200-100)::SMALLINT sm, (i%100-50)::TINYINT ti,
          (TIMESTAMP '2026-01-01' + INTERVAL (i*1001) MILLISECOND)::TIMESTAMP_MS tms,
          (TIMESTAMP '1990-01-01 00:00:00.123456' + INTERVAL (i) MICROSECOND)::TIMESTAMP_NS tns,
          DATE '1969-12-01' + i::INTEGER dt, 'blob'::BLOB || i::VARCHAR::BLOB bl
        FROM range(3000) r(i)) TO '$D/types.parquet' (FORMAT parquet)")
duck "${stmts[@]}" >/dev/null
ok $? "DuckDB wrote the test files"

for c in "${configs[@]}" "empty:"; do
  name="${c%%:*}"
  f="$D/$name.parquet"
  "$QL" inspect --rows 0 "$f" > "$D/$name.got" 2> "$D/$name.err"
  ok $? "$name: inspect --rows 0 succeeds"
  duck "SELECT * FROM '$f'" > "$D/$name.want"
  node "$ROOT/tests/interop/jsonl_eq.mjs" "$D/$name.got" "$D/$name.want"
  ok $? "$name: questlog reads the same values as DuckDB ($(wc -l < "$D/$name.want") rows)"
done

"$QL" inspect --rows 0 "$D/types.parquet" > "$D/types.got"
ok $? "types: inspect --rows 0 succeeds"
duck "SELECT d9::DOUBLE d9, d18::DOUBLE d18, d38::DOUBLE d38, ut, ui, sm, ti, tms::TIMESTAMP tms,
        tns::TIMESTAMP tns, (dt - DATE '1970-01-01')::INTEGER dt, bl FROM '$D/types.parquet'" > "$D/types.want"
node "$ROOT/tests/interop/jsonl_eq.mjs" "$D/types.got" "$D/types.want"
ok $? "types: DECIMAL as double, unsigned, TIMESTAMP_MS/NS as µs, DATE as days, BLOB as hex"

# Files questlog's own writer made (tests/tools/pqgen), read back the same as DuckDB reads them.
if [ -x "$QL_BUILD_DIR/tools/pqgen" ]; then
  for codec in zstd; do
    "$QL_BUILD_DIR/tools/pqgen" --bench 20000 "$D/ql_$codec.parquet" "$codec" > /dev/null
    "$QL" inspect --rows 0 "$D/ql_$codec.parquet" > "$D/ql_$codec.got"
    duck "SELECT * FROM '$D/ql_$codec.parquet'" > "$D/ql_$codec.want"
    node "$ROOT/tests/interop/jsonl_eq.mjs" "$D/ql_$codec.got" "$D/ql_$codec.want"
    ok $? "questlog-written file ($codec): inspect and DuckDB agree"
  done
  for c in dict_fallback nulls; do
    "$QL_BUILD_DIR/tools/pqgen" "$c" "$D/ql_$c.parquet" > /dev/null
    "$QL" inspect --rows 0 "$D/ql_$c.parquet" > "$D/ql_$c.got"
    duck "SELECT * FROM '$D/ql_$c.parquet'" > "$D/ql_$c.want"
    node "$ROOT/tests/interop/jsonl_eq.mjs" "$D/ql_$c.got" "$D/ql_$c.want"
    ok $? "questlog-written file (pqgen $c): inspect and DuckDB agree"
  done
else
  diag "pqgen not built (make tools): questlog-written files not checked"
fi

# --rows N stops early; metadata output names every column chunk.
"$QL" inspect --rows 5 "$D/v1_rg1000.parquet" > "$D/five.got"
is "$(wc -l < "$D/five.got")" 5 "--rows 5 prints 5 rows"
"$QL" inspect "$D/v1_rg1000.parquet" > "$D/meta.txt"
# (DuckDB rounds ROW_GROUP_SIZE up to whole 2048-row vectors.)
ngroups=$(grep -c '^row group ' "$D/meta.txt")
ok $(( ngroups >= 5 ? 0 : 1 )) "ROW_GROUP_SIZE 1000: metadata lists $ngroups row groups"
is "$(sed -n 's/^row group [0-9]*: \([0-9]*\) rows.*/\1/p' "$D/meta.txt" | paste -sd+ | bc)" $N "row group sizes add up to $N rows"
grep -qE '^  s: STRING ZSTD \[[A-Z_,]*DICTIONARY[A-Z_,]*\] values=[0-9]+ nulls=[0-9]+ .*min=""' "$D/meta.txt"
ok $? "metadata shows encodings, codec, null count and string statistics"
grep -q 'ts: TIMESTAMP .*min="2026-11-21T20:43:05.123456Z"' "$D/meta.txt"
ok $? "timestamp statistics print as RFC 3339"

"$QL" inspect "$D/v1_snappy.parquet" | grep -A1 '^key/value:' > "$D/kv.txt"
is "$(cat "$D/kv.txt")" 'key/value:   "team" = "quests"
             "note" = "a \"quoted\" value"' "key/value metadata listed"

# Statistics against DuckDB's own view of them.
"$QL" inspect "$D/v2_zstd.parquet" | grep '^  big: ' > "$D/big.txt"
want=$(duck "SELECT stats_min_value AS lo, stats_max_value AS hi, stats_null_count AS nc FROM parquet_metadata('$D/v2_zstd.parquet') WHERE path_in_schema = 'big'")
lo=$(echo "$want" | sed 's/.*"lo":"\([^"]*\)".*/\1/'); hi=$(echo "$want" | sed 's/.*"hi":"\([^"]*\)".*/\1/'); nc=$(echo "$want" | sed 's/.*"nc":\([0-9]*\).*/\1/')
grep -q "nulls=$nc .*min=$lo max=$hi\$" "$D/big.txt"
ok $? "BIGINT statistics and null count equal DuckDB's parquet_metadata ($lo..$hi, $nc nulls)"

# A hand-built file (tests/unit/test_pq_read.c makes the same one) with what DuckDB
# does not write: DELTA_BYTE_ARRAY, RLE booleans in V2 pages, INT96, BYTE_STREAM_SPLIT
# doubles, a PLAIN_DICTIONARY INT32 — DuckDB's reading of it must match ours.
hb="$ROOT/tests/fuzz/corpus/parquet/handbuilt.parquet"
"$QL" inspect --rows 0 "$hb" > "$D/hb.got"
duck "SELECT * FROM '$hb'" > "$D/hb.want"
node "$ROOT/tests/interop/jsonl_eq.mjs" "$D/hb.got" "$D/hb.want"
ok $? "hand-built file (DELTA_BYTE_ARRAY, RLE booleans, INT96, BYTE_STREAM_SPLIT): same as DuckDB"

# The command's surface.
"$QL" inspect --help | grep -q '^usage: questlog inspect FILE.parquet'
ok $? "inspect --help prints the usage"
"$QL" inspect > /dev/null 2>&1
is $? 2 "inspect without a file: usage error (exit 2)"
"$QL" inspect --rows x "$D/v1_zstd.parquet" > /dev/null 2>&1
is $? 2 "inspect --rows x: usage error (exit 2)"
out=$("$QL" inspect "$D/missing.parquet" 2>&1); rc=$?
is "$rc:$out" "1:questlog inspect: $D/missing.parquet: No such file or directory" "missing file: exit 1, names the file"

out=$("$QL" inspect "$D/lz4.parquet" 2>&1); rc=$?
is "$rc:$out" "1:questlog inspect: $D/lz4.parquet: column id: compression codec LZ4_RAW not supported (ZSTD, SNAPPY, GZIP, none are)" \
   "DuckDB's LZ4 (LZ4_RAW): a clear error"

# --- malformed files: an error naming the file, never a crash --------------
clean_fail() {  # clean_fail FILE "name": exit 1 and "questlog inspect: FILE: …", no sanitizer report
  local out rc
  out=$("$QL" inspect --rows 0 "$1" 2>&1 >/dev/null); rc=$?
  if [ "$rc" -eq 1 ] && [[ "$out" == "questlog inspect: $1: "* ]] && ! grep -qiE 'sanitizer|runtime error' <<<"$out"; then
    ok 0 "$2"
  else
    ok 1 "$2"; diag "exit $rc: $out"
  fi
}
src="$D/v1_zstd.parquet"
size=$(stat -c %s "$src")
for cut in 0 3 8 12 100 $((size / 2)) $((size - 9)) $((size - 1)); do
  head -c "$cut" "$src" > "$D/trunc.parquet"
  clean_fail "$D/trunc.parquet" "truncated to $cut bytes: clean error"
done
# A file cut inside its data but with the footer kept: the chunks now point past the data.
{ head -c $((size / 3)) "$src"; tail -c $((size - size * 2 / 3)) "$src"; } > "$D/hole.parquet"
clean_fail "$D/hole.parquet" "data removed, footer kept: clean error"
# Byte flips all over the file: exit 0 or 1 (a flip in the data may still decode), never a crash.
python3 - "$D" v1_zstd v2_snappy v1_none v2_none <<'PY'
import random, sys
d = sys.argv[1]
for v in sys.argv[2:]:
    src = open(f"{d}/{v}.parquet", 'rb').read()
    for seed in range(15):
        data = bytearray(src)
        r = random.Random(seed)
        for _ in range(r.randint(1, 4)):
            # half the flips land in the footer, where they hit the metadata
            i = r.randrange(len(data)) if r.random() < 0.5 else len(data) - 8 - r.randrange(min(400, len(data) - 8))
            data[i] = r.randrange(256)
        open(f"{d}/flip_{v}_{seed}.parquet", 'wb').write(data)
PY
crashes=0
for f in "$D"/flip_*.parquet; do
  out=$("$QL" inspect --rows 0 "$f" 2>&1 >/dev/null); rc=$?
  if [ "$rc" -gt 1 ] || grep -qiE 'sanitizer|runtime error' <<<"$out"; then
    crashes=$((crashes + 1)); diag "$f: exit $rc: $(head -c 300 <<<"$out")"
  fi
done
is "$crashes" 0 "60 corrupted files: no crash"
done_testing
