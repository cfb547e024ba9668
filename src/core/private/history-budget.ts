import { Duration } from 'aws-cdk-lib';
import { renewalAge } from './long-running-job';
import { SFN_MAX_HISTORY_EVENTS } from './quotas';
import { invalid } from './validation';

/*
 * A Standard execution fails once its history holds 25,000 events, and a long-running stage's
 * history grows with every backstop cycle (a wait that timed out, a poll, a choice). These are the
 * events of each stage's state machine, counted from an emulator history of each
 * (test/core/history-figures.emulator.test.ts compares them with a measured run, so they cannot go stale).
 */

/** History events of one run of a stage's state machine. */
export interface HistoryFigures {
  /** One backstop cycle: the wait that timed out, the poll, the choice. */
  readonly perCycle: number;
  /** One job renewal, where it is a state of its own. */
  readonly perRenewal: number;
  /** Everything else of a run: its start, the steps before and after the waits, its end. */
  readonly fixed: number;
}

export const VM_COMMAND_HISTORY: HistoryFigures = { perCycle: 13, perRenewal: 0, fixed: 20 };
/** Both waits (the image, the refresh) cycle the same way: poll, choice, park. */
export const AMI_REFRESH_HISTORY: HistoryFigures = { perCycle: 13, perRenewal: 5, fixed: 60 };

/** The part of the limit left for retries (each adds a few events) and for counts that differ on AWS. */
const MARGIN = 0.2;

/** The events a run of `timeout` may add at most, polling every `backstopInterval`. */
export function worstCaseHistoryEvents(timeout: Duration, backstopInterval: Duration, figures: HistoryFigures): number {
  const seconds = timeout.toSeconds();
  const cycles = Math.ceil(seconds / backstopInterval.toSeconds());
  const renewals = Math.ceil(seconds / renewalAge(backstopInterval).toSeconds());
  return figures.fixed + cycles * figures.perCycle + renewals * figures.perRenewal;
}

/**
 * Refuses a backstop interval whose cycles over the run's whole `timeout` would pass the history
 * limit (less the margin). Tokens are skipped.
 */
export function requireHistoryWithinLimit(timeout: Duration, backstopInterval: Duration, figures: HistoryFigures): void {
  if (timeout.isUnresolved() || backstopInterval.isUnresolved()) return;
  const budget = Math.floor(SFN_MAX_HISTORY_EVENTS * (1 - MARGIN));
  if (worstCaseHistoryEvents(timeout, backstopInterval, figures) <= budget) return;
  let seconds = Math.ceil(backstopInterval.toSeconds());
  while (worstCaseHistoryEvents(timeout, Duration.seconds(seconds), figures) > budget) seconds++;
  invalid('backstopInterval', `be at least ${seconds} s for a \`timeout\` of ${timeout.toHumanString()}: each backstop cycle adds about `
    + `${figures.perCycle} history events and an execution fails at ${SFN_MAX_HISTORY_EVENTS.toLocaleString('en-US')}`, backstopInterval.toHumanString());
}
