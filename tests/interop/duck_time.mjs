#!/usr/bin/env node
// duck_time.mjs — times one SQL query in DuckDB (2 threads, in-process, after
// a warm-up run) for the benchmarks: prints {"ms":BEST,"rows":[…]} with the
// best of N runs (default 3) and the query's result rows.
//   node duck_time.mjs "SQL" [N]
import { DuckDBInstance } from '@duckdb/node-api';

const [sql, n = '3'] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const conn = await db.connect();
let best = Infinity, rows;
await conn.runAndReadAll(sql);
for (let i = 0; i < Number(n); i++) {
  const t0 = process.hrtime.bigint();
  const r = await conn.runAndReadAll(sql);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (ms < best) best = ms;
  rows = r.getRows().map((row) => row.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
}
console.log(JSON.stringify({ ms: Math.round(best * 10) / 10, rows }));
