/*
 * Prints a table of the bundled handlers: size, gzip size, and the time a fresh Node.js process
 * takes to load each (median of several runs). Run after `npx projen bundle`: `npx projen bench:bundles`.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

const ASSETS = path.join(__dirname, '..', 'assets', 'lambda-src');
const RUNS = 7;

function loadMillis(file: string): number {
  const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); console.log(Number(process.hrtime.bigint() - t) / 1e6);`;
  const times = Array.from({ length: RUNS }, () => Number(execFileSync(process.execPath, ['-e', script]).toString()));
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

const rows = fs.readdirSync(ASSETS).sort().map(name => {
  const file = path.join(ASSETS, name, 'handler', 'index.js');
  const bytes = fs.readFileSync(file);
  return [name, (bytes.length / 1024).toFixed(0), (zlib.gzipSync(bytes).length / 1024).toFixed(0), loadMillis(file).toFixed(0)];
});
const header = ['handler', 'KiB', 'gzip KiB', `load ms (median of ${RUNS})`];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
for (const row of [header, widths.map(w => '-'.repeat(w)), ...rows]) {
  console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}
