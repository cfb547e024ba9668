import { Duration } from 'aws-cdk-lib';
import { AMI_REFRESH_HISTORY, requireHistoryWithinLimit, VM_COMMAND_HISTORY, worstCaseHistoryEvents } from '../../../src/core/private/history-budget';
import { MAX_BACKSTOP_INTERVAL } from '../../../src/core/private/long-running-job';
import { SFN_MAX_HISTORY_EVENTS } from '../../../src/core/private/quotas';

// Step Functions service quotas, "Quotas related to state machine executions": a Standard execution
// fails once its history holds 25,000 events. The figures are checked against emulator histories in
// test/core/history-figures.emulator.test.ts.
describe('the history budget of a long-running stage', () => {
  test('every setting it accepts stays under 25,000 events in the worst case (a run as long as its timeout)', () => {
    for (const figures of [VM_COMMAND_HISTORY, AMI_REFRESH_HISTORY]) {
      for (const hours of [0.25, 1, 6, 24]) {
        const timeout = Duration.minutes(hours * 60);
        for (let seconds = 1; seconds <= MAX_BACKSTOP_INTERVAL.toSeconds(); seconds++) {
          let accepted = true;
          try {
            requireHistoryWithinLimit(timeout, Duration.seconds(seconds), figures);
          } catch {
            accepted = false;
          }
          if (accepted) expect(worstCaseHistoryEvents(timeout, Duration.seconds(seconds), figures)).toBeLessThan(SFN_MAX_HISTORY_EVENTS);
        }
      }
    }
  });

  test('the message names the shortest interval, the timeout, the cost of a cycle and the limit', () => {
    expect(() => requireHistoryWithinLimit(Duration.hours(24), Duration.seconds(1), VM_COMMAND_HISTORY)).toThrow(
      "`backstopInterval` must be at least 57 s for a `timeout` of 1 day: each backstop cycle adds about 13 history events and an execution fails at 25,000, got: '1 second'");
    expect(() => requireHistoryWithinLimit(Duration.hours(24), Duration.seconds(57), VM_COMMAND_HISTORY)).not.toThrow();
    expect(() => requireHistoryWithinLimit(Duration.hours(24), Duration.minutes(5), AMI_REFRESH_HISTORY)).not.toThrow();
  });
});
