import { runLoad } from './load';
import { describeWithEmulator } from '../emulator/harness';

/*
 * The load scenario, sized for CI: 200 pushes over 20 branches. `npx projen bench:fanout` runs the
 * full one (1,000 pushes over 50 branches) and prints the same figures.
 */
describeWithEmulator('BranchBuildFanout under load on the emulator', emulator => {
  test('200 pushes over 20 branches through EventBridge and SQS FIFO, 20% of StartBuild calls throttled: 0 lost, 0 duplicated, order kept per branch', async () => {
    const figures = await runLoad(emulator(), { pushes: 200, branches: 20, throttleRate: 0.2 });
    process.stdout.write(`BranchBuildFanout load: ${JSON.stringify(figures)}\n`);
    expect(figures.throttledCalls).toBeGreaterThan(20);
    expect(figures).toMatchObject({ pushes: 200, builds: 200, lost: 0, duplicated: 0, orderViolations: 0, deadLetters: 0 });
  });
});
