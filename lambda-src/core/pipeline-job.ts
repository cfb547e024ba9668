import { CodePipelineClient, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import type { CodePipelineEvent } from 'aws-lambda';
import { awsClient } from './aws-clients';
import { clip, InputError, reasonOf } from './errors';
import { logger } from './logger';
import { boundOutputVariables } from './payload';
import { PIPELINE_FAILURE_MESSAGE_MAX_CHARS as MAX_FAILURE_MESSAGE } from '../../src/core/private/quotas';

export type CodePipelineJob = CodePipelineEvent['CodePipeline.job'];

/** What a job handler decided. */
export type JobOutcome =
  | { readonly status: 'succeeded'; readonly summary?: string; readonly outputVariables?: Record<string, string> }
  /** Another component (e.g. a state machine) reports the job's result later. */
  | { readonly status: 'pending' };

const codepipeline = () => awsClient(CodePipelineClient);

/**
 * A reason CodePipeline accepts: 1 to 5000 characters, whatever the error carried. A longer one
 * loses its middle: its head says what failed, its tail what cleanup did.
 */
export function failureMessage(reason: string): string {
  return clip(reason.trim() || 'the action failed without a reason', MAX_FAILURE_MESSAGE);
}

/**
 * Whether an error is CodePipeline's final word on a request (a 4xx other than throttling), rather
 * than an answer that may change (throttling, 5xx) or none at all (timeout, dropped connection).
 */
export function isRefusal(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const name = (err as Error)?.name;
  return status !== undefined && status >= 400 && status < 500 && !/Throttl|TooManyRequests|LimitExceeded/.test(name ?? '');
}

/**
 * Sends a job result. Returns false when CodePipeline answers InvalidJobStateException: the job
 * already has its result (or was stopped or renewed), so it needs nothing more. Anything else that
 * fails is thrown: the result counts as reported only once CodePipeline took it.
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

export async function putJobSuccess(jobId: string, summary?: string, outputVariables?: Record<string, string>): Promise<boolean> {
  const taken = await sendJobResult(jobId, new PutJobSuccessResultCommand({
    jobId,
    executionDetails: summary ? { summary: summary.slice(0, 2048) } : undefined,
    outputVariables: outputVariables && boundOutputVariables(outputVariables),
  }));
  if (taken) logger.info('reported job success', { jobId });
  return taken;
}

export async function putJobFailure(jobId: string, reason: string, externalExecutionId?: string): Promise<boolean> {
  const message = failureMessage(reason);
  const taken = await sendJobResult(jobId, new PutJobFailureResultCommand({
    jobId,
    failureDetails: { type: 'JobFailed', message, externalExecutionId },
  }));
  if (taken) logger.info('reported job failure', { jobId, reason: message });
  return taken;
}

/**
 * Runs a CodePipeline job and reports exactly one result for it: success with the outcome's summary
 * and variables, or failure with a readable reason for anything `work` throws. If CodePipeline
 * refuses the success, the refusal is reported as the failure, so the action never hangs. A result
 * CodePipeline did not answer is thrown, so that Lambda's retry runs the job again (the work must be
 * safe to repeat) and reports then.
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
    if (!isRefusal(err)) throw err;
    logger.error('reporting success was refused', { jobId: job.id, error: reasonOf(err) });
    await putJobFailure(job.id, `reporting success failed: ${reasonOf(err)}`);
  }
}
