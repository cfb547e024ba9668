import { measureRun } from './run-figures';
import { describeWithEmulator } from '../emulator/harness';

/*
 * One run with a 20-minute bake and a 30-minute refresh (scaled: one emulated second per real
 * minute), counted from the emulator's history. The waits cost direct SDK polls and task-token
 * parks, not Lambda invocations: the state machine invokes the function once per phase and once per
 * job renewal (about every 9 minutes, CodePipeline's reply limit being 20).
 */

describeWithEmulator('AmiRefreshStage run figures', emulator => {
  test('20-minute bake and 30-minute refresh with the default 5-minute backstop: Lambda invocations per phase and per renewal, not per poll', async () => {
    const figures = await measureRun(emulator, { bakeMinutes: 20, refreshMinutes: 30 });
    console.log(`one run (20-minute bake, 30-minute refresh, 5-minute backstop): ${JSON.stringify(figures)}`);
    expect(figures.outcome).toBe('success');
    // A poll when the wait starts, then one per backstop interval (the event ends the last park early).
    expect(figures.imagePolls).toBeGreaterThanOrEqual(4);
    expect(figures.imagePolls).toBeLessThanOrEqual(6);
    expect(figures.refreshPolls).toBeGreaterThanOrEqual(6);
    expect(figures.refreshPolls).toBeLessThanOrEqual(8);
    // 50 minutes of waiting: five renewals at most (one per 9 minutes, give or take a backstop interval).
    expect(figures.jobRenewals).toBeGreaterThanOrEqual(4);
    expect(figures.jobRenewals).toBeLessThanOrEqual(6);
    const phases = ['prepare', 'image', 'release', 'publish', 'refresh', 'finish'];
    expect(figures.steps.filter(step => step !== 'renew')).toEqual(phases);
    expect(figures.stateMachineInvocations).toBeLessThanOrEqual(phases.length + 6);
    expect(figures.stateTransitions).toBeLessThan(60);
  });
});
