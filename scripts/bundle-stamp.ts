/*
 * Lets `npx projen bundle` (the type check and the Lambda bundles) skip its work when nothing it
 * reads has changed since it last succeeded, so the CI gates and a developer's repeated
 * `npx projen test` build the bundles once and the gates that run side by side never rewrite
 * them under each other. The stamp is a hash of every TypeScript file, tsconfig and package
 * manifest in the work tree (tracked or new), plus the list of bundles; it lives in
 * node_modules/.cache, so a fresh install always builds.
 *
 *   ts-node scripts/bundle-stamp.ts stale    exit 0 when the bundle task must run, 1 when its stamp is current
 *   ts-node scripts/bundle-stamp.ts record   after it succeeded
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const STAMP = path.join(ROOT, 'node_modules', '.cache', 'cdk-pipeline-stages', 'bundle.stamp');
const INPUT = /(\.tsx?|(^|\/)tsconfig[^/]*\.json|(^|\/)package(-lock)?\.json)$/;

/** The bundles `npx projen bundle` writes: one per lambda-src/<asset>/handlers.ts. */
function bundleOutputs(): string[] {
  return fs.readdirSync(path.join(ROOT, 'lambda-src')).sort()
    .filter(name => fs.existsSync(path.join(ROOT, 'lambda-src', name, 'handlers.ts')))
    .map(name => path.join(ROOT, 'assets', 'lambda-src', name, 'handlers', 'index.js'));
}

function inputsHash(): string | undefined {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  if (listed.status !== 0) return undefined;
  const hash = createHash('sha256');
  for (const file of listed.stdout.split('\0').filter(f => INPUT.test(f)).sort()) {
    hash.update(`${file}\0`);
    try {
      hash.update(fs.readFileSync(path.join(ROOT, file)));
    } catch {
      hash.update('(missing)');
    }
    hash.update('\0');
  }
  hash.update(bundleOutputs().map(f => path.relative(ROOT, f)).join('\0'));
  return hash.digest('hex');
}

function main(): void {
  const [command, ...rest] = process.argv.slice(2);
  if (!['stale', 'record'].includes(command) || rest.length) throw new Error(`usage: bundle-stamp.ts stale|record, got: ${process.argv.slice(2).join(' ')}`);
  const current = inputsHash();
  if (command === 'record') {
    if (!current) return;
    fs.mkdirSync(path.dirname(STAMP), { recursive: true });
    fs.writeFileSync(STAMP, current);
    return;
  }
  const recorded = fs.existsSync(STAMP) ? fs.readFileSync(STAMP, 'utf8') : undefined;
  if (current && recorded === current && bundleOutputs().every(f => fs.existsSync(f))) {
    console.log('bundle: up to date (no TypeScript file, tsconfig or package manifest changed since it last succeeded)');
    process.exitCode = 1;
  }
}

main();
