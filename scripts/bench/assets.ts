import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { buildSync } from 'esbuild';
import { median } from './table';

/*
 * The construct assets as they ship: size, gzip size, the time a fresh Node.js process takes to
 * load each (median of `runs`), and the size against a bundle of only the AWS SDK clients the
 * asset uses (bundled the same way). Needs `npx projen bundle`.
 */

export const ROOT = path.join(__dirname, '..', '..');
export const ASSETS = path.join(ROOT, 'assets', 'lambda-src');

export interface AssetFigures {
  readonly name: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly loadMs: number;
  readonly sdkOnlyBytes: number;
  readonly sdkClients: string[];
}

function loadMillis(file: string, runs: number): number {
  const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); console.log(Number(process.hrtime.bigint() - t) / 1e6);`;
  return median(Array.from({ length: runs }, () => Number(execFileSync(process.execPath, ['-e', script]).toString())));
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

export function assetFigures(runs: number): AssetFigures[] {
  return fs.readdirSync(ASSETS).sort().map(name => {
    const file = path.join(ASSETS, name, 'handlers', 'index.js');
    const bytes = fs.readFileSync(file);
    const sdkClients = sdkClientsOf(name);
    return {
      name,
      bytes: bytes.length,
      gzipBytes: zlib.gzipSync(bytes).length,
      loadMs: loadMillis(file, runs),
      sdkOnlyBytes: sdkOnlyBytes(sdkClients),
      sdkClients,
    };
  });
}
