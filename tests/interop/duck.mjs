#!/usr/bin/env node
// duck.mjs — run SQL in DuckDB (the independent engine of questlog's tests)
// and print the last statement's rows as JSON lines.
//
//   node duck.mjs "SQL" ["SQL" …]       every statement runs; rows of the last are printed
//   node duck.mjs --file script.sql
//
// Values: BIGINT/HUGEINT as JSON numbers when safe, else strings; TIMESTAMP
// (with or without time zone) as RFC 3339 UTC strings with microseconds
// ("2026-11-21T20:43:05.123456Z"); DATE as "YYYY-MM-DD"; BLOB as hex; NULL as null.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';

function toJson(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) ? Number(v) : v.toString();
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (v.micros !== undefined) {                     // DuckDBTimestampValue / TimestampTZ
    const us = BigInt(v.micros);
    const ms = us / 1000n;
    let frac = us % 1000000n; if (frac < 0n) frac += 1000000n;
    const iso = new Date(Number(ms - (us < 0n && us % 1000n !== 0n ? 1n : 0n))).toISOString().slice(0, 19);
    return `${iso}.${frac.toString().padStart(6, '0')}Z`;
  }
  if (v.days !== undefined && Object.keys(v).length === 1) {  // DATE
    return new Date(v.days * 86400000).toISOString().slice(0, 10);
  }
  if (v.bytes !== undefined) return Buffer.from(v.bytes).toString('hex');
  if (v.items !== undefined) return v.items.map(toJson);
  if (v.entries !== undefined) { const o = {}; for (const [k, x] of Object.entries(v.entries)) o[k] = toJson(x); return o; }
  return v.toString();
}

const args = process.argv.slice(2);
let stmts = args;
if (args[0] === '--file') stmts = [readFileSync(args[1], 'utf8')];
if (!stmts.length) { console.error('usage: duck.mjs "SQL" …'); process.exit(2); }
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const conn = await db.connect();
try {
  let reader;
  for (const s of stmts) reader = await conn.runAndReadAll(s);
  const names = reader.columnNames();
  const out = [];
  for (const row of reader.getRows()) {
    const o = {};
    names.forEach((n, i) => { o[n] = toJson(row[i]); });
    out.push(JSON.stringify(o));
  }
  if (out.length) process.stdout.write(out.join('\n') + '\n');
} catch (e) {
  console.error(`duckdb: ${e.message}`);
  process.exit(1);
}
