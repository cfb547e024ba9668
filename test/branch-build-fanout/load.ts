import { Duration } from 'aws-cdk-lib';
import { branchEvent, commitOf, startFanout } from './emulator-fanout';
import { dynamoDbCounts } from '../emulator/call-counts';
import type { Emulator } from '../emulator/harness';

/** What a load run measured. */
export interface LoadFigures {
  readonly pushes: number;
  readonly branches: number;
  readonly throttledCalls: number;
  readonly builds: number;
  /** Pushes that never got a build. */
  readonly lost: number;
  /** Builds beyond the first for one (branch, commit). */
  readonly duplicated: number;
  /** Branches whose builds started in another order than their pushes. */
  readonly orderViolations: number;
  readonly deadLetters: number;
  /** From the PutEvents call that carried the push to the StartBuild call that started it. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly durationMs: number;
  /** The handlers' invocations (intake and dispatch), and the calls recorded during the run, for its cost. */
  readonly lambdaInvocations: number;
  readonly sqsRequests: number;
  readonly dynamoDbWrites: number;
  readonly dynamoDbReads: number;
}

/** A small deterministic generator (the same throttled calls on every run). */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : 0;
}

/**
 * Pushes `pushes` commits spread round-robin over `branches` branches through moto's EventBridge
 * (PutEvents, 10 per call) into the fanout's FIFO queues, with `throttleRate` of the StartBuild
 * calls throttled (ThrottlingException and AccountLimitExceededException in turn), waits until
 * everything is dispatched and counts what was lost, duplicated and out of order.
 */
export async function runLoad(
  emulator: Emulator, options: { pushes: number; branches: number; throttleRate: number; concurrency?: number },
): Promise<LoadFigures> {
  const fanout = await startFanout(emulator, { props: { retryBackoff: Duration.seconds(0) }, concurrency: options.concurrency ?? 10 });
  try {
    const random = seeded(42);
    let throttledCalls = 0;
    fanout.codebuild.refuse = () => {
      if (random() >= options.throttleRate) return undefined;
      throttledCalls++;
      return throttledCalls % 2 ? { error: { code: 'ThrottlingException', message: 'Rate exceeded' } }
        : { error: { code: 'AccountLimitExceededException', message: 'Cannot have more than 60 builds in queue for the account' } };
    };
    const pushes = Array.from({ length: options.pushes }, (_, i) => ({ branch: `feature/b${i % options.branches}`, commit: commitOf(`load-${i}`), putAt: 0 }));
    const callsBefore = emulator.calls().length;
    const started = Date.now();
    for (let i = 0; i < pushes.length; i += 10) {
      const slice = pushes.slice(i, i + 10);
      const putAt = Date.now();
      for (const push of slice) push.putAt = putAt;
      await fanout.putEvents(slice.map(p => branchEvent(p.branch, p.commit)));
    }
    await fanout.settle();
    const durationMs = Date.now() - started;
    const calls = emulator.calls().slice(callsBefore);

    const builds = fanout.codebuild.builds;
    const byCommit = new Map<string, number>();
    for (const b of builds) byCommit.set(`${b.variables.FANOUT_BRANCH}#${b.sourceVersion}`, (byCommit.get(`${b.variables.FANOUT_BRANCH}#${b.sourceVersion}`) ?? 0) + 1);
    const lost = pushes.filter(p => !byCommit.has(`${p.branch}#${p.commit}`)).length;
    const duplicated = [...byCommit.values()].reduce((sum, n) => sum + n - 1, 0);
    const branchNames = [...new Set(pushes.map(p => p.branch))];
    const orderViolations = branchNames.filter(branch => {
      const expected = pushes.filter(p => p.branch === branch).map(p => p.commit);
      const actual = fanout.codebuild.buildsOf(branch).map(b => b.sourceVersion);
      return JSON.stringify(expected) !== JSON.stringify(actual);
    }).length;
    const startOf = new Map(builds.map(b => [`${b.variables.FANOUT_BRANCH}#${b.sourceVersion}`, b.startedAt]));
    const latencies = pushes.filter(p => startOf.has(`${p.branch}#${p.commit}`)).map(p => startOf.get(`${p.branch}#${p.commit}`)! - p.putAt).sort((a, b) => a - b);
    return {
      pushes: pushes.length,
      branches: branchNames.length,
      throttledCalls,
      builds: builds.length,
      lost,
      duplicated,
      orderViolations,
      deadLetters: (await fanout.deadLetters()).length,
      latencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies[latencies.length - 1] ?? 0 },
      durationMs,
      lambdaInvocations: fanout.intake.stats.invocations + fanout.dispatch.stats.invocations,
      // EventBridge's delivery of each push to the intake queue is a request too (moto makes it inside).
      sqsRequests: calls.filter(c => c.service === 'sqs').length + pushes.length,
      ...dynamoDbCounts(calls),
    };
  } finally {
    await fanout.stop();
  }
}
