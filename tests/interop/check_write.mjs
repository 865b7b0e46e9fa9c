#!/usr/bin/env node
// check_write.mjs — proves a Parquet file written by questlog (tests/tools/pqgen)
// reads back identically, value by value, in DuckDB and in hyparquet, and that
// its footer follows the spec (sizes include page headers, dictionary offsets
// only with a dictionary, statistics, created_by, column orders), and that every
// page carries the CRC-32 of its body.
//
//   node check_write.mjs FILE.parquet EXPECTED.jsonl [--kv key=value …]
//
// EXPECTED.jsonl is pqgen's output (format documented in tests/tools/pqgen.c).
// Prints one line per check: "PASS name" or "FAIL name: detail"; exit 0 always
// unless the script itself breaks (the .t turns the lines into TAP).
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetReadObjects, parquetMetadata } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { readFileSync, statSync } from 'node:fs';
import { crc32 } from 'node:zlib';
// hyparquet's own generic Thrift compact decoder (not in its export map): an
// independent reading of fields hyparquet does not surface (column_orders).
const { deserializeTCompactProtocol } = await import(new URL('./node_modules/hyparquet/src/thrift.js', import.meta.url));

const [file, expFile, ...rest] = process.argv.slice(2);
const kvWant = rest.filter((a) => a !== '--kv').map((a) => a.split('='));
const lines = readFileSync(expFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const columns = lines.pop().__columns; // [[name, TYPE, required], …]
const expected = lines.map((o) => columns.map((_, i) => (`c${i}` in o ? o[`c${i}`] : null)));

function pass(name) { console.log(`PASS ${name}`); }
function fail(name, detail) { console.log(`FAIL ${name}: ${detail}`); }
function check(name, cond, detail) { cond ? pass(name) : fail(name, detail ?? ''); }

// Canonical form of a read value, as pqgen prints it.
function canon(v, type) {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'STRING': return typeof v === 'string' ? v : `<${typeof v}:${v}>`;
    case 'INT64': return BigInt(v).toString();
    case 'TIMESTAMP':
      if (typeof v === 'bigint') return v.toString();
      if (v.micros !== undefined) return BigInt(v.micros).toString();
      return `<timestamp ${String(v)}>`;
    case 'INT32': return Number(v);
    case 'DOUBLE': {
      const dv = new DataView(new ArrayBuffer(8));
      dv.setFloat64(0, Number(v), true);
      return 'x' + dv.getBigUint64(0, true).toString(16).padStart(16, '0');
    }
    case 'BOOLEAN': return Boolean(v);
  }
  return `<unknown type ${type}>`;
}

function compareRows(name, rows) {
  if (rows.length !== expected.length) return fail(name, `got ${rows.length} rows, want ${expected.length}`);
  let bad = 0, first = '';
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < columns.length; c++) {
      const got = canon(rows[r][c], columns[c][1]);
      if (got !== expected[r][c]) {
        if (!bad) first = `row ${r} column ${columns[c][0]}: got ${JSON.stringify(String(got)).slice(0, 80)} want ${JSON.stringify(String(expected[r][c])).slice(0, 80)}`;
        bad++;
      }
    }
  }
  check(name, bad === 0, `${bad} values differ; first: ${first}`);
}

function hexToDouble(x) {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, BigInt('0x' + x.slice(1)), true);
  return dv.getFloat64(0, true);
}
// DuckDB renders TIMESTAMPTZ statistics as "YYYY-MM-DD HH:MM:SS[.ffffff]+00" (years may exceed 9999).
function duckTimestampMicros(s) {
  const m = /^(-?\d+)-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?\+00$/.exec(String(s));
  if (!m) return `<unparsed ${s}>`;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return (BigInt(ms) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0') || '0')).toString();
}

const sq = (s) => `'${s.replace(/'/g, "''")}'`;

// ---- DuckDB ------------------------------------------------------------------
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const conn = await db.connect();
async function q(sql) {
  const rd = await conn.runAndReadAll(sql);
  const names = rd.columnNames();
  return rd.getRows().map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])));
}

const colList = columns.map((c) => `"${c[0].replace(/"/g, '""')}"`).join(', ');
try {
  const rd = await conn.runAndReadAll(
    `SELECT ${colList} FROM read_parquet(${sq(file)}, file_row_number=true) ORDER BY file_row_number`);
  compareRows('duckdb values', rd.getRows());
} catch (e) {
  fail('duckdb values', e.message);
}

// Schema as DuckDB sees it: logical types and repetition.
try {
  const sch = await q(`SELECT name, type, repetition_type, converted_type, logical_type FROM parquet_schema(${sq(file)})`);
  const byName = Object.fromEntries(sch.map((s) => [s.name, s]));
  const phys = { STRING: 'BYTE_ARRAY', INT64: 'INT64', INT32: 'INT32', DOUBLE: 'DOUBLE', BOOLEAN: 'BOOLEAN', TIMESTAMP: 'INT64' };
  let bad = [];
  for (const [name, type, req] of columns) {
    const s = byName[name];
    if (!s) { bad.push(`${name} missing`); continue; }
    if (s.type !== phys[type]) bad.push(`${name} type ${s.type}`);
    if (s.repetition_type !== (req ? 'REQUIRED' : 'OPTIONAL')) bad.push(`${name} repetition ${s.repetition_type}`);
    if (type === 'STRING' && (s.converted_type !== 'UTF8' || !/String/i.test(String(s.logical_type))))
      bad.push(`${name} string annotations ${s.converted_type}/${s.logical_type}`);
    if (type === 'TIMESTAMP' && (s.converted_type !== 'TIMESTAMP_MICROS' || !/isAdjustedToUTC=1|isAdjustedToUTC=true/i.test(String(s.logical_type)) || !/MICROS/i.test(String(s.logical_type))))
      bad.push(`${name} timestamp annotations ${s.converted_type}/${s.logical_type}`);
  }
  check('schema types, repetition, logicalType + converted_type', bad.length === 0, bad.join('; '));
} catch (e) {
  fail('schema', e.message);
}

// Footer: offsets and sizes.
try {
  const md = await q(`SELECT * FROM parquet_metadata(${sq(file)}) ORDER BY row_group_id, column_id`);
  const size = statSync(file).size;
  const buf = readFileSync(file);
  const footerLen = buf.readUInt32LE(size - 8);
  let bad = [];
  let pos = 4; // after "PAR1"
  for (const m of md) {
    const where = `rg ${m.row_group_id} col ${m.path_in_schema}`;
    const encs = String(m.encodings);
    const hasDict = /RLE_DICTIONARY|PLAIN_DICTIONARY/.test(encs);
    const start = m.dictionary_page_offset ?? m.data_page_offset;
    if (hasDict && m.dictionary_page_offset === null) bad.push(`${where}: dictionary encoded without dictionary_page_offset`);
    if (!hasDict && m.dictionary_page_offset !== null) bad.push(`${where}: dictionary_page_offset ${m.dictionary_page_offset} without a dictionary`);
    if (hasDict && !(m.data_page_offset > m.dictionary_page_offset)) bad.push(`${where}: data page not after the dictionary page`);
    if (Number(start) !== pos) bad.push(`${where}: chunk starts at ${start}, previous chunk ended at ${pos} (sizes must include headers)`);
    pos = Number(start) + Number(m.total_compressed_size);
    if (m.total_uncompressed_size <= 0n || m.total_compressed_size <= 0n) bad.push(`${where}: empty sizes`);
    // The page header at data_page_offset must parse as a data page (first byte: field 1 i32 → 0x15).
    if (Number(m.file_offset) !== 0) bad.push(`${where}: file_offset ${m.file_offset}, want 0 (spec: no ColumnMetaData outside the footer)`);
    if (buf[Number(m.data_page_offset)] !== 0x15) bad.push(`${where}: no page header at data_page_offset`);
    const col = columns.find((c) => c[0] === m.path_in_schema);
    if (m.stats_null_count === null) bad.push(`${where}: no null_count`);
    if (col && col[1] === 'STRING' && (m.stats_min !== null || m.stats_max !== null)) bad.push(`${where}: deprecated min/max written for a string`);
  }
  if (md.length && pos !== size - 8 - footerLen) bad.push(`chunks end at ${pos}, footer starts at ${size - 8 - footerLen}`);
  check('footer offsets and sizes (totals include page headers, dictionary offset only with a dictionary)', bad.length === 0, bad.slice(0, 5).join('; '));

  // Statistics: min/max/null_count per chunk equal what DuckDB computes from the values.
  let sbad = [];
  const groups = new Map();
  for (const m of md) groups.set(m.row_group_id, Number(m.row_group_num_rows));
  let rowStart = 0;
  const rgStart = new Map();
  for (const [id, n] of [...groups.entries()].sort((a, b) => Number(a[0]) - Number(b[0]))) { rgStart.set(id, [rowStart, n]); rowStart += n; }
  for (const m of md) {
    const col = columns.find((c) => c[0] === m.path_in_schema);
    if (!col) continue;
    const [s, n] = rgStart.get(m.row_group_id);
    const vals = expected.slice(s, s + n).map((r) => r[columns.indexOf(col)]);
    const nulls = vals.filter((v) => v === null).length;
    if (Number(m.stats_null_count) !== nulls) sbad.push(`${col[0]} rg ${m.row_group_id}: null_count ${m.stats_null_count} want ${nulls}`);
    if (Number(m.num_values) !== n) sbad.push(`${col[0]} rg ${m.row_group_id}: num_values ${m.num_values} want ${n} (nulls count)`);
    const nn = vals.filter((v) => v !== null);
    if (!nn.length) {
      if (m.stats_min_value !== null) sbad.push(`${col[0]}: min_value on an all-null chunk`);
      continue;
    }
    let mn, mx;
    if (col[1] === 'STRING') {
      const bs = nn.map((v) => Buffer.from(v, 'utf8'));
      bs.sort(Buffer.compare);
      mn = bs[0].toString('utf8'); mx = bs[bs.length - 1].toString('utf8');
    } else if (col[1] === 'INT64' || col[1] === 'INT32') {
      const bi = nn.map((v) => BigInt(v)); mn = bi.reduce((a, b) => (b < a ? b : a)).toString(); mx = bi.reduce((a, b) => (b > a ? b : a)).toString();
    } else if (col[1] === 'BOOLEAN') {
      mn = nn.every(Boolean) ? 'true' : 'false'; mx = nn.some(Boolean) ? 'true' : 'false';
    } else if (col[1] === 'TIMESTAMP') {
      const bi = nn.map((v) => BigInt(v)); mn = bi.reduce((a, b) => (b < a ? b : a)).toString(); mx = bi.reduce((a, b) => (b > a ? b : a)).toString();
    } else if (col[1] === 'DOUBLE') {
      const ds = nn.map(hexToDouble).filter((x) => !Number.isNaN(x));
      if (!ds.length) continue;
      mn = Math.min(...ds); mx = Math.max(...ds);
    } else continue;
    let got = [m.stats_min_value, m.stats_max_value];
    if (col[1] === 'TIMESTAMP') got = got.map(duckTimestampMicros);
    if (col[1] === 'DOUBLE') {
      // DuckDB shows no statistic for an infinite bound: check the finite ones, as numbers (-0 == 0).
      const okMin = !Number.isFinite(mn) || Number(got[0]) === mn, okMax = !Number.isFinite(mx) || Number(got[1]) === mx;
      if (!okMin || !okMax) sbad.push(`${col[0]} rg ${m.row_group_id}: min/max ${got[0]}/${got[1]} want ${mn}/${mx}`);
      continue;
    }
    got = got.map(String);
    if (got[0] !== mn || got[1] !== mx) sbad.push(`${col[0]} rg ${m.row_group_id}: min/max ${got[0].slice(0, 40)}/${got[1].slice(0, 40)} want ${mn.slice(0, 40)}/${mx.slice(0, 40)}`);
  }
  check('statistics min_value/max_value/null_count/num_values', sbad.length === 0, sbad.slice(0, 5).join('; '));
} catch (e) {
  fail('footer', e.message);
}

// ---- hyparquet -----------------------------------------------------------------
const ab = (() => { const b = readFileSync(file); return b.buffer.slice(b.byteOffset, b.byteOffset + b.length); })();
try {
  const rows = await parquetReadObjects({
    file: ab, compressors, rowFormat: 'array',
    parsers: { timestampFromMicroseconds: (v) => v },
    columns: columns.map((c) => c[0]),
  });
  compareRows('hyparquet values', rows.map((r) => (Array.isArray(r) ? r : columns.map((c) => r[c[0]]))));
} catch (e) {
  fail('hyparquet values', e.stack);
}
try {
  const md = parquetMetadata(ab);
  check('created_by is "questlog version X.Y.Z (build HASH)"', /^questlog version \d+\.\d+\.\d+ \(build [0-9a-z]+\)$/.test(md.created_by), md.created_by);
  const b = Buffer.from(ab);
  const flen = b.readUInt32LE(b.length - 8);
  const raw = deserializeTCompactProtocol({ view: new DataView(ab, b.length - 8 - flen, flen), offset: 0 });
  const orders = raw.field_7; // FileMetaData.column_orders: list<ColumnOrder>, TYPE_ORDER = field 1 (empty struct)
  check('column_orders: TYPE_ORDER for every column', Array.isArray(orders) && orders.length === columns.length &&
        orders.every((o) => o && o.field_1 !== undefined && Object.keys(o).length === 1), JSON.stringify(orders));
  check('num_rows in footer', Number(md.num_rows) === expected.length, `${md.num_rows}`);
  const kv = Object.fromEntries((md.key_value_metadata ?? []).map((e) => [e.key, e.value]));
  for (const [k, v] of kvWant) check(`key/value metadata ${k}`, kv[k] === v, JSON.stringify(kv));

  // Page CRCs: every page header (read with hyparquet's Thrift decoder) has
  // PageHeader.crc (field 4), and it is the CRC-32 (node's zlib) of the
  // page's body as stored, the format's definition. Pages are walked from each
  // chunk's first page through total_compressed_size (which includes headers).
  let pages = 0;
  const crcBad = [];
  for (const [rg, g] of md.row_groups.entries()) {
    for (const cc of g.columns) {
      const m = cc.meta_data;
      const start = Number(m.dictionary_page_offset ?? m.data_page_offset);
      const end = start + Number(m.total_compressed_size);
      for (let pos = start; pos < end;) {
        const reader = { view: new DataView(ab, pos, end - pos), offset: 0 };
        const h = deserializeTCompactProtocol(reader);
        const body = b.subarray(pos + reader.offset, pos + reader.offset + h.field_3);
        const want = h.field_4 === undefined ? undefined : h.field_4 >>> 0;
        if (want !== crc32(body)) crcBad.push(`row group ${rg} ${m.path_in_schema.join('.')} page at ${pos}: stored ${want} computed ${crc32(body)}`);
        pages++;
        pos += reader.offset + h.field_3;
      }
    }
  }
  check(`every page's CRC-32 matches its body (${pages} pages)`, (pages > 0 || md.row_groups.length === 0) && crcBad.length === 0, crcBad.slice(0, 3).join('; '));
} catch (e) {
  fail('hyparquet metadata', e.stack);
}
