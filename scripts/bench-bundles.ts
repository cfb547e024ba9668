/*
 * Prints a table of the construct assets: size, gzip size, cold load time (median of 7) and the
 * size against a bundle of only the SDK clients each uses. `npx projen bench:bundles`; `npx projen
 * bench` prints it with the package's other figures.
 */
import { assetFigures } from './bench/assets';
import { kib, table } from './bench/table';

const RUNS = 7;
console.log(table('Assets', ['asset', 'KiB', 'gzip KiB', `load ms (median of ${RUNS})`, 'x SDK clients only', 'SDK clients'],
  assetFigures(RUNS).map(a => [a.name, kib(a.bytes), kib(a.gzipBytes), a.loadMs.toFixed(0), (a.bytes / a.sdkOnlyBytes).toFixed(2),
    a.sdkClients.map(c => c.replace('@aws-sdk/client-', '')).join(' ')])));
