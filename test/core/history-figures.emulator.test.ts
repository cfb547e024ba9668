import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { Duration } from 'aws-cdk-lib';
import { AMI_REFRESH_HISTORY, HistoryFigures, VM_COMMAND_HISTORY } from '../../src/core/private/history-budget';
import { measureRun } from '../ami-refresh/run-figures';
import { describeWithEmulator } from '../emulator/harness';
import { measureVmRun } from '../vm-command/run-figures';

/*
 * The history figures the stages validate their backstop interval with (src/core/private/history-budget.ts),
 * against the history of a measured run of each state machine on the emulator (GetExecutionHistory).
 * Step Functions service quotas: a Standard execution fails once its history holds 25,000 events.
 * Each event counts under the state entered last before it; a figure must cover the measured
 * events, and stay close to them (a changed state machine must change its figure).
 * A retried attempt (a task that failed and was scheduled again in the same state) is left out of
 * the measurement: the figures count a run without retries, and the budget's margin is for those.
 * Under load a healthy call can outlast its request timeout and be retried, so counting it would
 * make a figure depend on the machine's speed.
 */

const FAILED_ATTEMPT = /(Failed|TimedOut)$/;

/** The history without the events of attempts that failed and were retried within the same state. */
function withoutRetriedAttempts(history: HistoryEvent[]): HistoryEvent[] {
  const kept: HistoryEvent[] = [];
  let attemptStart = -1;
  for (const event of history) {
    if (event.stateEnteredEventDetails) attemptStart = -1;
    if (event.type?.endsWith('Scheduled')) {
      if (attemptStart >= 0 && kept.slice(attemptStart).some(e => FAILED_ATTEMPT.test(e.type ?? ''))) kept.length = attemptStart;
      attemptStart = kept.length;
    }
    kept.push(event);
  }
  return kept;
}

/** Events per state, and how often each state was entered. */
function eventsByState(history: HistoryEvent[]) {
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
function measured(history: HistoryEvent[], loop: { states: string[]; cycles: string[] }, renewalStates: string[] = []) {
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

test('a retried attempt is left out of the measured history, the attempt that succeeded and the other states stay', () => {
  const entered = (name: string): HistoryEvent => ({ type: 'TaskStateEntered', stateEnteredEventDetails: { name } } as HistoryEvent);
  const event = (type: string) => ({ type } as HistoryEvent);
  const history = [
    entered('Poll'), event('TaskScheduled'), event('TaskStarted'), event('TaskFailed'),
    event('TaskScheduled'), event('TaskStarted'), event('TaskSucceeded'), event('TaskStateExited'),
    entered('Park'), event('TaskScheduled'), event('TaskStarted'), event('TaskTimedOut'),
    entered('Catch'), event('TaskScheduled'), event('TaskSucceeded'),
  ];
  expect(withoutRetriedAttempts(history).map(e => e.stateEnteredEventDetails?.name ?? e.type)).toEqual([
    'Poll', 'TaskScheduled', 'TaskStarted', 'TaskSucceeded', 'TaskStateExited',
    'Park', 'TaskScheduled', 'TaskStarted', 'TaskTimedOut',
    'Catch', 'TaskScheduled', 'TaskSucceeded',
  ]);
});

describeWithEmulator('history figures of the long-running stages', emulator => {
  test('VmCommandStage: each backstop cycle (WaitForCompletion timed out, CheckStatus, IsFinished) as VM_COMMAND_HISTORY says', async () => {
    // A 1-second backstop for a command of 8 seconds: about eight cycles.
    const run = await measureVmRun(emulator(), { commandMinutes: 8 / 60, backstopMinutes: 1 / 60, scale: 1, executionTimeout: Duration.minutes(1) });
    const figures = measured(withoutRetriedAttempts(run.history), { states: ['WaitForCompletion', 'CheckStatus', 'IsFinished'], cycles: ['CheckStatus'] });
    expect(figures.cycles).toBeGreaterThanOrEqual(5);
    expectCovered(VM_COMMAND_HISTORY, figures);
  });

  test('AmiRefreshStage: each cycle of both waits (poll, choice, park) and each renewal as AMI_REFRESH_HISTORY says', async () => {
    const run = await measureRun(emulator, { bakeMinutes: 20, refreshMinutes: 20, backstopMinutes: 2 });
    expect(run.jobRenewals).toBeGreaterThanOrEqual(1);
    const history = withoutRetriedAttempts(run.history);
    for (const wait of ['Image', 'Refresh']) {
      const other = wait === 'Image' ? 'Refresh' : 'Image';
      const figures = measured(history, { states: [`${wait}Poll`, `${wait}State`, `${wait}Park`], cycles: [`${wait}Park`] }, ['ImageRenewJob', 'RefreshRenewJob']);
      expect(figures.cycles).toBeGreaterThanOrEqual(5);
      // The other wait's events count as fixed here: take them out.
      const { events } = eventsByState(history);
      const otherEvents = [`${other}Poll`, `${other}State`, `${other}Park`].reduce((total, n) => total + (events[n] ?? 0), 0);
      expectCovered(AMI_REFRESH_HISTORY, { ...figures, fixed: figures.fixed - otherEvents });
    }
  });
});
