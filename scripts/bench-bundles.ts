/*
 * Prints a table of the construct assets: size, gzip size, the time a fresh Node.js process takes
 * to load each (median of several runs), and the size against a bundle of only the AWS SDK clients
 * the asset uses (bundled the same way). Run after `npx projen bundle`: `npx projen bench:bundles`.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { buildSync } from 'esbuild';

const ROOT = path.join(__dirname, '..');
const ASSETS = path.join(ROOT, 'assets', 'lambda-src');
const RUNS = 7;

function loadMillis(file: string): number {
  const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); console.log(Number(process.hrtime.bigint() - t) / 1e6);`;
  const times = Array.from({ length: RUNS }, () => Number(execFileSync(process.execPath, ['-e', script]).toString()));
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

/** The `@aws-sdk/client-*` packages the asset's bundle holds, from esbuild's record of its inputs. */
function sdkClientsOf(asset: string): string[] {
  const { metafile } = buildSync({
    entryPoints: [path.join(ROOT, 'lambda-src', asset, 'handlers.ts')],
    bundle: true,
    minify: true,
    mainFields: ['module', 'main'],
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const clients = Object.keys(metafile!.inputs).flatMap(input => input.match(/node_modules\/(@aws-sdk\/client-[a-z0-9-]+)\//)?.[1] ?? []);
  return [...new Set(clients)].sort();
}

/** Bytes of a minified bundle holding only these SDK clients. */
function sdkOnlyBytes(clients: string[]): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdk-only-'));
  try {
    const entry = path.join(dir, 'entry.js');
    fs.writeFileSync(entry, clients.map((c, i) => `exports.c${i} = require(${JSON.stringify(c)});`).join('\n'));
    const outfile = path.join(dir, 'out.js');
    buildSync({ entryPoints: [entry], bundle: true, minify: true, mainFields: ['module', 'main'], platform: 'node', target: 'node20', outfile, nodePaths: [path.join(ROOT, 'node_modules')], logLevel: 'silent' });
    return fs.statSync(outfile).size;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const rows = fs.readdirSync(ASSETS).sort().map(name => {
  const file = path.join(ASSETS, name, 'handlers', 'index.js');
  const bytes = fs.readFileSync(file);
  const clients = sdkClientsOf(name);
  return [
    name,
    (bytes.length / 1024).toFixed(0),
    (zlib.gzipSync(bytes).length / 1024).toFixed(0),
    loadMillis(file).toFixed(0),
    (bytes.length / sdkOnlyBytes(clients)).toFixed(2),
    clients.map(c => c.replace('@aws-sdk/client-', '')).join(' '),
  ];
});
const header = ['asset', 'KiB', 'gzip KiB', `load ms (median of ${RUNS})`, 'x SDK clients only', 'SDK clients'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
for (const row of [header, widths.map(w => '-'.repeat(w)), ...rows]) {
  console.log(row.map((cell, i) => (i === 0 || i === 5 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}
