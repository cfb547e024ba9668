import { CodePipelineClient, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { awsClient } from './aws-clients';
import { reasonOf } from './errors';
import { beginRenewal, getRun, markReported, RunRecord, storeOutcome } from './job-table';
import { logger } from './logger';
import { Outcome } from './outcome';
import { isRefusal, putJobFailure, putJobSuccess } from './pipeline-job';

/**
 * Reports an outcome to a CodePipeline job; a refused success is reported as a failure. Returns
 * whether CodePipeline took it (false: the job already had its result, or was renewed or stopped).
 * Throws when CodePipeline did not answer or refused: the caller's retry reports again.
 */
export async function reportOutcome(jobId: string, outcome: Outcome): Promise<boolean> {
  if (!outcome.succeeded) return putJobFailure(jobId, outcome.message);
  try {
    return await putJobSuccess(jobId, outcome.message, outcome.outputVariables);
  } catch (err) {
    if (!isRefusal(err)) throw err;
    logger.error('reporting success was refused', { jobId, error: reasonOf(err) });
    return putJobFailure(jobId, `reporting success failed: ${reasonOf(err)}`);
  }
}

export type SettleResult = 'reported' | 'deferred' | 'already-reported' | 'unknown-run';

/**
 * Settles a run: stores its outcome (the first one stored wins) and reports it to the run's job
 * until CodePipeline has taken it, so a retry after a failed report reports again. A job being
 * renewed is reported too: if CodePipeline says it no longer takes a result, the renewed job
 * reports the stored outcome when it arrives ('deferred').
 */
export async function settleRun(runId: string, outcome: Outcome): Promise<SettleResult> {
  const run = await storeOutcome(runId, outcome);
  if (!run?.outcome) {
    logger.warn('no run is recorded to settle', { runId });
    return 'unknown-run';
  }
  if (run.reported) {
    logger.info('the run\'s result was reported already', { runId });
    return 'already-reported';
  }
  const taken = await reportOutcome(run.jobId, run.outcome);
  if (!taken && run.awaitingJob) {
    logger.info('the job is being renewed; the renewed job will report the outcome', { runId });
    return 'deferred';
  }
  await markReported(runId, run.jobId);
  return 'reported';
}

/**
 * Renew the job when it is older than this, unless the stage set its own age (derived from its
 * backstop interval, so that a check every interval still renews before CodePipeline's 20 minutes).
 * `JOB_RENEW_AFTER_MS` overrides both (tests that count a long run's invocations at a smaller scale).
 */
export const RENEW_AFTER_MS = 9 * 60 * 1000;

/** How old the run's job may grow before it is renewed. */
export function renewalAgeMs(run: Pick<RunRecord, 'renewAfterMs'> | undefined): number {
  return Number(process.env.JOB_RENEW_AFTER_MS) || run?.renewAfterMs || RENEW_AFTER_MS;
}

const codepipeline = () => awsClient(CodePipelineClient);

/**
 * Keeps a long run's job alive past CodePipeline's 20-minute reply limit: once the job is old, it
 * ends with a continuation token (the run id) and CodePipeline hands a new job to the action. A
 * renewal that fails is thrown (the state machine retries it) and never undone: CodePipeline may
 * have taken it. InvalidJobStateException means it did. Returns whether the job was renewed, and
 * when the job (or, after a renewal, the next one) is due for renewal (epoch milliseconds).
 */
export async function renewJobIfOld(runId: string): Promise<{ renewed: boolean; dueAt: number }> {
  const run = await getRun(runId);
  const age = renewalAgeMs(run);
  const dueAt = (run?.jobRegisteredAt ?? Date.now()) + age;
  if (!run || run.outcome || Date.now() < dueAt) return { renewed: false, dueAt };
  const jobId = await beginRenewal(runId);
  if (!jobId) return { renewed: false, dueAt };
  try {
    await codepipeline().send(new PutJobSuccessResultCommand({ jobId, continuationToken: runId }));
    logger.info('renewed the CodePipeline job', { runId, jobId });
  } catch (err) {
    if ((err as Error).name !== 'InvalidJobStateException') throw err;
    logger.info('the job was renewed already', { runId, jobId });
  }
  return { renewed: true, dueAt: Date.now() + age };
}
