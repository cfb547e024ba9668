import { CodePipelineClient, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { reasonOf } from './errors';
import { abandonRenewal, beginRenewal, getRun, markReported, settleOutcome } from './job-table';
import { logger } from './logger';
import { Outcome } from './outcome';
import { putJobFailure, putJobSuccess } from './pipeline-job';

/** Reports an outcome to a CodePipeline job; a refused success is reported as a failure. */
export async function reportOutcome(jobId: string, outcome: Outcome): Promise<void> {
  if (!outcome.succeeded) {
    await putJobFailure(jobId, outcome.message);
    return;
  }
  try {
    await putJobSuccess(jobId, outcome.message, outcome.outputVariables);
  } catch (err) {
    logger.error('reporting success was refused', { jobId, error: reasonOf(err) });
    await putJobFailure(jobId, `reporting success failed: ${reasonOf(err)}`);
  }
}

export type SettleResult = 'reported' | 'deferred' | 'already-settled';

/**
 * Settles a run exactly once: stores the outcome and reports it to the current job. When the job is
 * being renewed, the next job reports it on arrival ('deferred'). When another component settled
 * the run first, nothing happens ('already-settled').
 */
export async function settleRun(runId: string, outcome: Outcome): Promise<SettleResult> {
  const run = await settleOutcome(runId, outcome);
  if (!run) {
    logger.info('run was already settled', { runId });
    return 'already-settled';
  }
  if (run.awaitingJob) {
    logger.info('outcome stored; the renewed job will report it', { runId });
    return 'deferred';
  }
  await reportOutcome(run.jobId, outcome);
  await markReported(runId);
  return 'reported';
}

/** Renew the job when it is older than this; a run checks its work at least every 10 minutes. */
const RENEW_AFTER_MS = 9 * 60 * 1000;

let pipelineClient: CodePipelineClient | undefined;
const codepipeline = () => (pipelineClient ??= new CodePipelineClient({}));

/**
 * Keeps a long run's job alive past CodePipeline's 20-minute reply limit: once the job is old, it
 * ends with a continuation token (the run id) and CodePipeline hands a new job to the action.
 */
export async function renewJobIfOld(runId: string): Promise<void> {
  const run = await getRun(runId);
  if (!run || Date.now() - run.jobRegisteredAt < RENEW_AFTER_MS) return;
  const jobId = await beginRenewal(runId);
  if (!jobId) return;
  try {
    await codepipeline().send(new PutJobSuccessResultCommand({ jobId, continuationToken: runId }));
    logger.info('renewed the CodePipeline job', { runId, jobId });
  } catch (err) {
    await abandonRenewal(runId);
    throw err;
  }
}
