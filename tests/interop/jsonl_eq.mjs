#!/usr/bin/env node
// jsonl_eq.mjs — compares two files of JSON lines value by value (after
// parsing, so 1.5e-7 and 1.5e-07 or 2 and 2.0 are the same number).
// Integers of 16+ digits are compared as text on both sides: duck.mjs prints
// those beyond 2^53 as strings, questlog as numbers.
//   node jsonl_eq.mjs GOT WANT     exit 0 if equal, else 1 and the first difference on stderr
import { readFileSync } from 'node:fs';

const bigToText = (l) => l.replace(/([:\[,])(-?\d{16,})(?=[,}\]])/g, '$1"$2"');
const lines = (f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.length).map(bigToText);
const [gotFile, wantFile] = process.argv.slice(2);
const got = lines(gotFile), want = lines(wantFile);
for (let i = 0; i < Math.max(got.length, want.length); i++) {
  if (i >= got.length || i >= want.length) {
    console.error(`row count differs: got ${got.length}, want ${want.length}`);
    process.exit(1);
  }
  const g = JSON.stringify(JSON.parse(got[i])), w = JSON.stringify(JSON.parse(want[i]));
  if (g !== w) {
    console.error(`row ${i} differs:\n  got:  ${g}\n  want: ${w}`);
    process.exit(1);
  }
}
