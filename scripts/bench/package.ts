import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from './assets';

/*
 * The npm package as `npm pack` makes it from the jsii build (what jsii-pacmak's js target and
 * .ci/check-package pack): tarball and unpacked size. The package has no dependencies of its own
 * (aws-cdk-lib and constructs are peers the app has already), so the unpacked size is what it adds
 * to node_modules. Needs `npx projen compile` (lib/ and .jsii).
 */
export function packageFigures(): { tarballBytes: number; unpackedBytes: number; files: number } {
  for (const needed of ['lib/index.js', '.jsii']) {
    if (!fs.existsSync(path.join(ROOT, needed))) throw new Error(`no ${needed}: run \`npx projen compile\` first`);
  }
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  return { tarballBytes: packed.size, unpackedBytes: packed.unpackedSize, files: packed.entryCount };
}
