/*
 * Runs the AnsibleDeployStage's real-SSH scenarios (test/ansible-deploy/ansible-deploy.ssh.test.ts:
 * real ansible-playbook, real sshd, moto) and prints each one's run time and the total.
 * `npx projen bench:ansible`.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ansible-')), 'results.json');
const started = Date.now();
const jest = spawnSync('npx', ['jest', '--coverage=false', '--json', `--outputFile=${report}`, 'test/ansible-deploy/ansible-deploy.ssh.test.ts'],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, JEST_JUNIT_OUTPUT_DIR: path.dirname(report) } });
const wall = (Date.now() - started) / 1000;
const results = JSON.parse(fs.readFileSync(report, 'utf8'));
const rows: string[][] = results.testResults.flatMap((file: any) => file.assertionResults.map((t: any) =>
  [t.title, t.status, t.duration !== undefined ? (t.duration / 1000).toFixed(1) : '-']));
const sum = results.testResults.flatMap((f: any) => f.assertionResults).reduce((s: number, t: any) => s + (t.duration ?? 0), 0) / 1000;
rows.push(['all scenarios (sum of the tests)', `${results.numPassedTests}/${results.numTotalTests} passed`, sum.toFixed(1)]);
rows.push(['jest wall time (with start-up, moto and sshd)', '', wall.toFixed(1)]);
const header = ['scenario', 'result', 'seconds'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
for (const row of [header, widths.map(w => '-'.repeat(w)), ...rows]) {
  console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}
process.exitCode = jest.status ?? 1;
