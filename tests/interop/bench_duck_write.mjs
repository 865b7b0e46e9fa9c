#!/usr/bin/env node
// bench_duck_write.mjs — the DuckDB side of bench/parquet.sh: loads a Parquet
// file into an in-memory table (not timed), then times
// COPY t TO OUT (FORMAT parquet, COMPRESSION zstd) and prints
// {"rows":N,"seconds":S,"bytes":B} like `pqgen --bench`.
//
//   node bench_duck_write.mjs IN.parquet OUT.parquet [threads]
import { DuckDBInstance } from '@duckdb/node-api';
import { statSync } from 'node:fs';

const [inp, out, threads = '2'] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:', { threads });
const conn = await db.connect();
const sq = (s) => `'${s.replace(/'/g, "''")}'`;
await conn.run(`CREATE TABLE t AS SELECT * FROM read_parquet(${sq(inp)})`);
const n = (await conn.runAndReadAll('SELECT count(*) FROM t')).getRows()[0][0];
const t0 = process.hrtime.bigint();
await conn.run(`COPY t TO ${sq(out)} (FORMAT parquet, COMPRESSION zstd)`);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ rows: Number(n), seconds: Number(secs.toFixed(3)), bytes: statSync(out).size }));
