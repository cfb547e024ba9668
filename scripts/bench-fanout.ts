/*
 * The BranchBuildFanout load benchmark: 1,000 pushes over 50 branches through moto's EventBridge
 * (PutEvents) into the fanout's SQS FIFO queues and the bundled handlers, with 20% of the StartBuild
 * calls throttled. Prints lost, duplicated, out-of-order, dead-lettered and the latency from the
 * PutEvents call to the StartBuild call (p50, p99). `npx projen bench:fanout`; the CI test
 * (test/branch-build-fanout/load.emulator.test.ts) runs the same scenario with 200 pushes.
 */
import { runLoad } from '../test/branch-build-fanout/load';
import { Emulator } from '../test/emulator/harness';

async function main(): Promise<void> {
  const pushes = Number(process.argv[2] ?? 1000);
  const branches = Number(process.argv[3] ?? 50);
  const emulator = await Emulator.start();
  try {
    const f = await runLoad(emulator, { pushes, branches, throttleRate: 0.2 });
    const rows: Array<[string, string]> = [
      ['pushes / branches', `${f.pushes} / ${f.branches}`],
      ['StartBuild calls throttled', String(f.throttledCalls)],
      ['builds started', String(f.builds)],
      ['lost', String(f.lost)],
      ['duplicated', String(f.duplicated)],
      ['branches out of order', String(f.orderViolations)],
      ['dead-letter queue', String(f.deadLetters)],
      ['push → StartBuild p50 / p99 / max', `${f.latencyMs.p50} / ${f.latencyMs.p99} / ${f.latencyMs.max} ms`],
      ['run (first PutEvents to all dispatched)', `${(f.durationMs / 1000).toFixed(1)} s`],
    ];
    for (const [name, value] of rows) console.log(`${name.padEnd(42)} ${value}`);
    if (f.lost || f.duplicated || f.orderViolations || f.deadLetters) process.exitCode = 1;
  } finally {
    await emulator.stop();
  }
}

void main();
