import { Duration } from 'aws-cdk-lib';
import { AMI_REFRESH_HISTORY, HistoryFigures, VM_COMMAND_HISTORY } from '../../src/core/private/history-budget';
import { measureRun } from '../ami-refresh/run-figures';
import { describeWithEmulator, ExecutionResult } from '../emulator/harness';
import { measureVmRun } from '../vm-command/run-figures';

/*
 * The history figures the stages validate their backstop interval with (src/core/private/history-budget.ts),
 * against the history of a measured run of each state machine on the emulator (GetExecutionHistory).
 * Step Functions service quotas: a Standard execution fails once its history holds 25,000 events.
 * Each event counts under the state entered last before it; a figure must cover the measured
 * events, and stay close to them (a changed state machine must change its figure).
 */

/** Events per state, and how often each state was entered. */
function eventsByState(history: ExecutionResult['history']) {
  const events: Record<string, number> = {};
  const entered: Record<string, number> = {};
  let current = '(start)';
  for (const event of history) {
    const name = event.stateEnteredEventDetails?.name;
    if (name) {
      current = name;
      entered[name] = (entered[name] ?? 0) + 1;
    }
    events[current] = (events[current] ?? 0) + 1;
  }
  return { events, entered };
}

/** What a run's history says of the figures: events per cycle of the loop states, per renewal, and the rest. */
function measured(history: ExecutionResult['history'], loop: { states: string[]; cycles: string[] }, renewalStates: string[] = []) {
  const { events, entered } = eventsByState(history);
  const sum = (names: string[]) => names.reduce((total, n) => total + (events[n] ?? 0), 0);
  const count = (names: string[]) => names.reduce((total, n) => total + (entered[n] ?? 0), 0);
  const renewals = count(renewalStates);
  return {
    cycles: count(loop.cycles),
    // A cycle enters each loop state once: the events per entry of each, added up.
    perCycle: loop.states.reduce((total, n) => total + (entered[n] ? events[n] / entered[n] : 0), 0),
    perRenewal: renewals ? sum(renewalStates) / renewals : 0,
    fixed: history.length - sum(loop.states) - sum(renewalStates),
  };
}

function expectCovered(figures: HistoryFigures, run: ReturnType<typeof measured>) {
  expect(figures.perCycle).toBeGreaterThanOrEqual(run.perCycle);
  expect(figures.perCycle).toBeLessThanOrEqual(run.perCycle + 2);
  expect(figures.perRenewal).toBeGreaterThanOrEqual(run.perRenewal);
  expect(figures.fixed).toBeGreaterThanOrEqual(run.fixed);
  expect(figures.fixed).toBeLessThanOrEqual(run.fixed * 2);
}

describeWithEmulator('history figures of the long-running stages', emulator => {
  test('VmCommandStage: each backstop cycle (WaitForCompletion timed out, CheckStatus, IsFinished) as VM_COMMAND_HISTORY says', async () => {
    // A 1-second backstop for a command of 8 seconds: about eight cycles.
    const run = await measureVmRun(emulator(), { commandMinutes: 8 / 60, backstopMinutes: 1 / 60, scale: 1, executionTimeout: Duration.minutes(1) });
    const figures = measured(run.history, { states: ['WaitForCompletion', 'CheckStatus', 'IsFinished'], cycles: ['CheckStatus'] });
    expect(figures.cycles).toBeGreaterThanOrEqual(5);
    expectCovered(VM_COMMAND_HISTORY, figures);
  }, 60_000);

  test('AmiRefreshStage: each cycle of both waits (poll, choice, park) and each renewal as AMI_REFRESH_HISTORY says', async () => {
    const run = await measureRun(emulator, { bakeMinutes: 20, refreshMinutes: 20, backstopMinutes: 2 });
    expect(run.jobRenewals).toBeGreaterThanOrEqual(1);
    for (const wait of ['Image', 'Refresh']) {
      const other = wait === 'Image' ? 'Refresh' : 'Image';
      const figures = measured(run.history, { states: [`${wait}Poll`, `${wait}State`, `${wait}Park`], cycles: [`${wait}Park`] }, ['ImageRenewJob', 'RefreshRenewJob']);
      expect(figures.cycles).toBeGreaterThanOrEqual(5);
      // The other wait's events count as fixed here: take them out.
      const { events } = eventsByState(run.history);
      const otherEvents = [`${other}Poll`, `${other}State`, `${other}Park`].reduce((total, n) => total + (events[n] ?? 0), 0);
      expectCovered(AMI_REFRESH_HISTORY, { ...figures, fixed: figures.fixed - otherEvents });
    }
  }, 120_000);
});
