/*
 * Where CI's time goes: runs `.ci/run` on a fresh clone of HEAD, as CI does, and prints the wall
 * and CPU time of each gate and the slowest jest test files, read from the run's own output.
 *
 *   npx projen bench:ci                          # one fresh-clone run (its log is kept in .bench/)
 *   npx projen bench:ci --log before.log --log after.log   # the tables of earlier runs, side by side
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { table } from './bench/table';

interface CiRun {
  readonly label: string;
  /** Gate name → wall and CPU seconds (CPU in runs since the gates report it), in the order the run reported them. */
  readonly gates: Map<string, { seconds: number; cpuSeconds?: number; passed: boolean }>;
  /** Jest file → seconds (jest prints a file's time when it took 5 s or more). */
  readonly jestFiles: Map<string, number>;
  readonly totalSeconds?: number;
  readonly totalCpuSeconds?: number;
  readonly summary?: string;
}

const GATE_LINE = /^=== gate: (\S+) (passed|FAILED) \((\d+) s(?:, (\d+) s CPU)?\)$/;
const JEST_FILE_LINE = /^(?:PASS|FAIL) (\S+) \((\d+(?:\.\d+)?) s\)/;
const TOTAL_LINE = /^jest: .*?(?:; (\d+) s CPU)?; (\d+) s$/;
const SUMMARY_LINE = /^\d+ passed, \d+ failed$/;

export function parseCiLog(label: string, log: string): CiRun {
  const gates = new Map<string, { seconds: number; cpuSeconds?: number; passed: boolean }>();
  const jestFiles = new Map<string, number>();
  let totalSeconds: number | undefined;
  let totalCpuSeconds: number | undefined;
  let summary: string | undefined;
  for (const line of log.split('\n')) {
    const gate = GATE_LINE.exec(line);
    if (gate) gates.set(gate[1], { seconds: Number(gate[3]), cpuSeconds: gate[4] ? Number(gate[4]) : undefined, passed: gate[2] === 'passed' });
    const file = JEST_FILE_LINE.exec(line.trim());
    if (file) jestFiles.set(file[1], Math.max(jestFiles.get(file[1]) ?? 0, Number(file[2])));
    const total = TOTAL_LINE.exec(line);
    if (total) {
      totalSeconds = Number(total[2]);
      totalCpuSeconds = total[1] ? Number(total[1]) : undefined;
    }
    if (SUMMARY_LINE.test(line.trim())) summary = line.trim();
  }
  return { label, gates, jestFiles, totalSeconds, totalCpuSeconds, summary };
}

function freshCloneRun(): { label: string; log: string } {
  const repo = path.resolve(__dirname, '..');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ci-'));
  const clone = path.join(work, 'repo');
  try {
    const cloned = spawnSync('git', ['clone', '--quiet', repo, clone], { stdio: 'inherit' });
    if (cloned.status !== 0) throw new Error('git clone failed');
    // CI lays shared/ beside the clone.
    const shared = path.join(repo, '..', 'shared');
    if (fs.existsSync(shared)) fs.symlinkSync(shared, path.join(work, 'shared'));
    const run = spawnSync('bash', ['.ci/run'], { cwd: clone, encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024, env: { ...process.env, CI: 'true' } });
    const log = `${run.stdout}${run.stderr}`;
    const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).stdout.trim();
    const kept = path.join(repo, '.bench', `ci-${head}-${Date.now()}.log`);
    fs.mkdirSync(path.dirname(kept), { recursive: true });
    fs.writeFileSync(kept, log);
    console.log(`.ci/run on a fresh clone of ${head}: exit ${run.status}; log in ${path.relative(repo, kept)}`);
    return { label: head, log };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function main(): void {
  const logs: Array<{ label: string; log: string }> = [];
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== '--log' || !args[i + 1]) throw new Error(`usage: bench-ci.ts [--log FILE]..., got: ${args.join(' ')}`);
    const file = args[++i];
    logs.push({ label: path.basename(file, '.log'), log: fs.readFileSync(file, 'utf8') });
  }
  if (logs.length === 0) logs.push(freshCloneRun());
  const runs = logs.map(l => parseCiLog(l.label, l.log));

  const seconds = (run: CiRun, gate: string) => {
    const g = run.gates.get(gate);
    if (!g) return '-';
    const cpu = g.cpuSeconds !== undefined ? ` (CPU ${g.cpuSeconds} s)` : '';
    return `${g.seconds} s${cpu}${g.passed ? '' : ' (failed)'}`;
  };
  const gateNames = [...new Set(runs.flatMap(r => [...r.gates.keys()]))];
  const gateRows = gateNames.map(name => [name, ...runs.map(r => seconds(r, name))]);
  gateRows.push(['whole run (wall)', ...runs.map(r => (r.totalSeconds !== undefined ? `${r.totalSeconds} s` : '-'))]);
  gateRows.push(['whole run (CPU of every gate)', ...runs.map(r => (r.totalCpuSeconds !== undefined ? `${r.totalCpuSeconds} s` : '-'))]);
  gateRows.push(['summary line', ...runs.map(r => r.summary ?? '-')]);
  console.log(table('CI gates: wall time (and CPU time) of each', ['gate', ...runs.map(r => r.label)], gateRows,
    ['Gates that run side by side overlap, so their times add up to more than the whole run.',
      'CPU time: user and system seconds of a gate\'s processes; on two cores the whole run takes at least half their sum.']));

  const files = [...new Set(runs.flatMap(r => [...r.jestFiles.keys()]))]
    .sort((a, b) => Math.max(...runs.map(r => r.jestFiles.get(b) ?? 0)) - Math.max(...runs.map(r => r.jestFiles.get(a) ?? 0)))
    .slice(0, 15);
  console.log(table('Slowest jest files', ['file', ...runs.map(r => r.label)], files.map(f => [f, ...runs.map(r => {
    const s = r.jestFiles.get(f);
    return s !== undefined ? `${s.toFixed(1)} s` : '< 5 s';
  })]), ['A file\'s own time as jest reports it (jest names no time under 5 s); files in parallel workers overlap.']));
}

main();
