import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { buildSync } from 'esbuild';
import { ASSETS, ROOT } from './assets';
import { median } from './table';

/*
 * The example app (examples/app.ts) synthesized as a user's app runs it: compiled to JavaScript,
 * with `cdk-pipeline-stages` resolved to the jsii-built package (lib/), against the same app with
 * the library replaced by stand-ins that add nothing (each export constructs, and its methods and
 * static members answer, a stand-in). Runs alternate; each is a fresh `node app.js`.
 * No bundling: a preload counts the child processes the app starts (esbuild, docker, any), and every
 * asset directory the library's functions stage in cdk.out must be byte-identical to a shipped asset.
 */

const WORK = path.join(ROOT, '.bench', 'synth');

const STAND_IN = `const standIn = new Proxy(function () {}, {
  get: (_, key) => (key === Symbol.toPrimitive ? () => 'stand-in' : standIn),
  apply: () => standIn,
  construct: () => standIn,
});
module.exports = new Proxy({}, { get: (_, key) => (key === '__esModule' ? false : standIn) });
`;

const COUNT_CHILDREN = `const cp = require('child_process');
let started = 0;
for (const fn of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  const original = cp[fn];
  cp[fn] = function (...args) { started++; return original.apply(this, args); };
}
process.on('exit', () => require('fs').writeFileSync(process.env.BENCH_CHILDREN_FILE, String(started)));
`;

export interface SynthFigures {
  readonly withMs: number;
  readonly withoutMs: number;
  readonly runs: number;
  readonly childProcesses: number;
  readonly libraryAssetDirs: number;
  readonly identicalToShipped: number;
  readonly otherAssetDirs: number;
  readonly resourcesWith: number;
  readonly resourcesWithout: number;
}

function prepare(variant: 'with' | 'without'): string {
  const dir = path.join(WORK, variant);
  fs.rmSync(dir, { recursive: true, force: true });
  buildSync({ entryPoints: ['app.ts', 'summary.ts'].map(f => path.join(ROOT, 'examples', f)), outdir: dir, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'silent' });
  const pkg = path.join(dir, 'node_modules', 'cdk-pipeline-stages');
  fs.mkdirSync(path.dirname(pkg), { recursive: true });
  if (variant === 'with') {
    fs.symlinkSync(ROOT, pkg, 'dir');
  } else {
    fs.mkdirSync(pkg);
    fs.writeFileSync(path.join(pkg, 'index.js'), STAND_IN);
  }
  fs.writeFileSync(path.join(dir, 'count-children.js'), COUNT_CHILDREN);
  return dir;
}

function synthOnce(dir: string): { ms: number; children: number } {
  fs.rmSync(path.join(dir, 'cdk.out'), { recursive: true, force: true });
  const childrenFile = path.join(dir, 'children');
  const started = process.hrtime.bigint();
  execFileSync(process.execPath, ['-r', './count-children.js', 'app.js'], { cwd: dir, stdio: 'ignore', env: { ...process.env, BENCH_CHILDREN_FILE: childrenFile } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { ms, children: Number(fs.readFileSync(childrenFile, 'utf8')) };
}

/** A staged asset's files by relative path (a file asset: its one file, under ''). */
function filesOf(dir: string): Map<string, Buffer> {
  if (fs.statSync(dir).isFile()) return new Map([['', fs.readFileSync(dir)]]);
  return new Map(fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter(e => e.isFile())
    .map(e => { const file = path.join(e.parentPath, e.name); return [path.relative(dir, file), fs.readFileSync(file)]; }));
}

function sameFiles(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  return a.size === b.size && [...a].every(([name, bytes]) => b.get(name)?.equals(bytes));
}

function resources(dir: string): number {
  const out = path.join(dir, 'cdk.out');
  return fs.readdirSync(out).filter(f => f.endsWith('.template.json'))
    .reduce((n, f) => n + Object.keys(JSON.parse(fs.readFileSync(path.join(out, f), 'utf8')).Resources ?? {}).length, 0);
}

export function synthFigures(runs: number): SynthFigures {
  if (!fs.existsSync(path.join(ROOT, 'lib', 'index.js'))) throw new Error('no lib/index.js: run `npx projen compile` first');
  try {
    return measureSynth(runs);
  } finally {
    // Leaves no link to the repository inside it behind (the `with` app's node_modules points at it).
    fs.rmSync(WORK, { recursive: true, force: true });
  }
}

function measureSynth(runs: number): SynthFigures {
  const withDir = prepare('with');
  const withoutDir = prepare('without');
  const withMs: number[] = [];
  const withoutMs: number[] = [];
  let childProcesses = 0;
  for (let i = 0; i < runs; i++) {
    const a = synthOnce(withDir);
    const b = synthOnce(withoutDir);
    withMs.push(a.ms);
    withoutMs.push(b.ms);
    childProcesses += a.children + b.children;
  }
  const shipped = fs.readdirSync(ASSETS).flatMap(name => [filesOf(path.join(ASSETS, name, 'handlers')), filesOf(path.join(ASSETS, name, 'handlers', 'index.js'))]);
  const staged = (dir: string) => fs.readdirSync(path.join(dir, 'cdk.out')).filter(f => f.startsWith('asset.')).map(f => filesOf(path.join(dir, 'cdk.out', f)));
  // The stand-in app's assets are aws-cdk-lib's own (pre-built in aws-cdk-lib too); the library adds the others.
  const baseline = staged(withoutDir);
  const added = staged(withDir).filter(files => !baseline.some(b => sameFiles(b, files)));
  return {
    withMs: median(withMs),
    withoutMs: median(withoutMs),
    runs,
    childProcesses,
    libraryAssetDirs: added.length,
    identicalToShipped: added.filter(files => shipped.some(s => sameFiles(s, files))).length,
    otherAssetDirs: baseline.length,
    resourcesWith: resources(withDir),
    resourcesWithout: resources(withoutDir),
  };
}
