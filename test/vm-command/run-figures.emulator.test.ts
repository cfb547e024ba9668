import { measureSeedRun, measureVmRun } from './run-figures';
import { describeWithEmulator } from '../emulator/harness';

/*
 * The counts `npx projen bench` reports for a VmCommandStage run against the seed design (a
 * 2-minute command on two instances; see run-figures.ts for how time is scaled and counted).
 */

describeWithEmulator('VmCommandStage run figures against the seed design', emulator => {
  test('the seed design polls every 10 s: 12 rounds of Wait, status and Choice, and two SSM reads per round', async () => {
    const seed = await measureSeedRun(emulator(), { commandMinutes: 2 });
    expect(seed.outcome).toBe('success');
    // Submit, 12 x (Wait, Status, Choice), Report.
    expect(seed.stateTransitions).toBe(1 + 12 * 3 + 1);
    // The action that starts it, Submit, 12 x Status, Report.
    expect(seed.lambdaInvocations).toBe(1 + 1 + 12 + 1);
    expect(seed.ssmCalls).toBe(1 + 12 * 2);
  });

  test('the stage waits for the event: its counts do not grow with the command\'s time, and the job is renewed on a long run', async () => {
    const short = await measureVmRun(emulator(), { commandMinutes: 2 });
    // The event ended the wait: no backstop poll.
    expect(short).toMatchObject({ outcome: 'success', jobRenewals: 0, backstopPolls: 0 });
    expect(short.stateTransitions).toBe(6);
    // The action, the event function, and the state machine's preflight, send, wait, status and finish.
    expect(short.lambdaInvocations).toBe(7);

    // 12 minutes (12 s here): a backstop poll every 5 minutes and one renewal of the job past 9 minutes.
    const longer = await measureVmRun(emulator(), { commandMinutes: 12 });
    expect(longer.outcome).toBe('success');
    expect(longer.jobRenewals).toBe(1);
    expect(longer.backstopPolls).toBe(2);
    expect(longer.stateTransitions).toBeGreaterThan(short.stateTransitions);
    expect(longer.stateTransitions).toBeLessThan(20);
  });
});
