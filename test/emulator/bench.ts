/*
 * Measures the emulator: harness start-up, one 3-state execution, and the emulator test suite.
 * Run: `npx ts-node test/emulator/bench.ts` (add `--no-suite` to skip the suite run).
 */
import { spawnSync } from 'child_process';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { EmulatorTestStack } from './fixtures/test-stack';
import { Emulator } from './harness';

const RUNS = 5;

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const started = process.hrtime.bigint();
  const result = await work();
  return [Number(process.hrtime.bigint() - started) / 1e6, result];
}

function summary(label: string, samples: number[]): string[] {
  const sorted = [...samples].sort((a, b) => a - b);
  const ms = (n: number) => `${Math.round(n)} ms`;
  return [label, String(samples.length), ms(sorted[Math.floor(sorted.length / 2)]), ms(sorted[0]), ms(sorted[sorted.length - 1])];
}

async function main(): Promise<void> {
  const rows: string[][] = [];

  const startups: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const [ms, emulator] = await timed(() => Emulator.start());
    startups.push(ms);
    await emulator.stop();
  }
  rows.push(summary('harness start-up (moto + proxy)', startups));

  const stack = new EmulatorTestStack();
  const template = stack.template();
  const emulator = await Emulator.start();
  try {
    await emulator.client(SSMClient).send(new PutParameterCommand({ Name: '/bench/p', Value: 'v', Type: 'String' }));
    const executions: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Round (Lambda) → Done? (Choice) → ReadParameter (aws-sdk:ssm)
      const [ms, result] = await timed(() => emulator.runStateMachine(template, stack.logicalId(stack.loop), {
        input: { target: 1, waitSeconds: 0, parameterName: '/bench/p' },
        handlers: { Work: 'test/emulator/fixtures/handlers.ts#work' },
      }));
      if (result.status !== 'SUCCEEDED') throw new Error(`the execution ended ${result.status}: ${result.error} ${result.cause}`);
      executions.push(ms);
    }
    rows.push(summary('one 3-state execution (create, run, history)', executions));
  } finally {
    await emulator.stop();
  }

  if (!process.argv.includes('--no-suite')) {
    const [ms, run] = await timed(async () => spawnSync('npx', ['jest', 'test/emulator', '--coverage=false', '--silent'], { encoding: 'utf8' }));
    if (run.status !== 0) throw new Error(`the emulator suite failed:\n${run.stderr}`);
    const tests = /Tests:\s+(.*)/.exec(run.stderr)?.[1] ?? '?';
    rows.push([`emulator suite (npx jest test/emulator; ${tests})`, '1', `${Math.round(ms)} ms`, '', '']);
  }

  const header = ['measure', 'runs', 'median', 'min', 'max'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
  console.log([line(header), widths.map(w => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n'));
}

main().catch(err => {
  console.error(err);
  process.exitCode = 1;
});
