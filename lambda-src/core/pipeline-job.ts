import { CodePipelineClient, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import type { CodePipelineEvent } from 'aws-lambda';
import { InputError, reasonOf } from './errors';
import { logger } from './logger';

/** CodePipeline rejects a failure message longer than this. */
const MAX_FAILURE_MESSAGE = 5000;

export type CodePipelineJob = CodePipelineEvent['CodePipeline.job'];

/** What a job handler decided. */
export type JobOutcome =
  | { readonly status: 'succeeded'; readonly summary?: string; readonly outputVariables?: Record<string, string> }
  /** Another component (e.g. a state machine) reports the job's result later. */
  | { readonly status: 'pending' };

let client: CodePipelineClient | undefined;
function codepipeline(): CodePipelineClient {
  client ??= new CodePipelineClient({});
  return client;
}

/**
 * Sends a job result. CodePipeline answers InvalidJobStateException when the job already has its
 * result (or was stopped): that job needs nothing more, so it is not an error.
 */
async function sendJobResult(jobId: string, command: PutJobSuccessResultCommand | PutJobFailureResultCommand): Promise<boolean> {
  try {
    await codepipeline().send(command as PutJobSuccessResultCommand);
    return true;
  } catch (err) {
    if ((err as Error).name !== 'InvalidJobStateException') throw err;
    logger.info('the job already has its result or was stopped', { jobId, error: reasonOf(err) });
    return false;
  }
}

export async function putJobSuccess(jobId: string, summary?: string, outputVariables?: Record<string, string>): Promise<void> {
  const accepted = await sendJobResult(jobId, new PutJobSuccessResultCommand({
    jobId,
    executionDetails: summary ? { summary: summary.slice(0, 2048) } : undefined,
    outputVariables,
  }));
  if (accepted) logger.info('reported job success', { jobId });
}

export async function putJobFailure(jobId: string, reason: string, externalExecutionId?: string): Promise<void> {
  const message = reason.length > MAX_FAILURE_MESSAGE ? `${reason.slice(0, MAX_FAILURE_MESSAGE - 3)}...` : reason;
  const accepted = await sendJobResult(jobId, new PutJobFailureResultCommand({
    jobId,
    failureDetails: { type: 'JobFailed', message, externalExecutionId },
  }));
  if (accepted) logger.info('reported job failure', { jobId, reason: message });
}

/**
 * Runs a CodePipeline job and reports exactly one result for it: success with the outcome's summary
 * and variables, or failure with a readable reason for anything `work` throws. If reporting the
 * success is refused, the refusal is reported as the failure, so the action never hangs.
 */
export async function runPipelineJob(event: CodePipelineEvent, work: (job: CodePipelineJob) => Promise<JobOutcome>): Promise<void> {
  const job = event?.['CodePipeline.job'];
  if (!job?.id) throw new InputError('the event is not a CodePipeline job: `CodePipeline.job.id` is missing');
  let outcome: JobOutcome;
  try {
    outcome = await work(job);
  } catch (err) {
    logger.error('job failed', { jobId: job.id, error: reasonOf(err) });
    await putJobFailure(job.id, reasonOf(err));
    return;
  }
  if (outcome.status === 'pending') return;
  try {
    await putJobSuccess(job.id, outcome.summary, outcome.outputVariables);
  } catch (err) {
    logger.error('reporting success was refused', { jobId: job.id, error: reasonOf(err) });
    await putJobFailure(job.id, `reporting success failed: ${reasonOf(err)}`);
  }
}

/** For tests: forget the cached client, like a cold start. */
export function resetPipelineJobClient(): void {
  client = undefined;
}
