import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { CodePipelineEvent } from 'aws-lambda';
import { z } from 'zod/v3';
import { awsClient } from './aws-clients';
import { InputError, reasonOf } from './errors';
import { parseInput, parseJson } from './input';
import { reportOutcome } from './job-report';
import { createRun, markReported, registerJob } from './job-table';
import { logger } from './logger';
import { bytesOf, RUN_INPUT_MAX_BYTES } from './payload';
import { CodePipelineJob, isRefusal, JobOutcome, runPipelineJob } from './pipeline-job';

/*
 * The CodePipeline action of a long-running job. A new job starts the stage's state machine, which
 * reports the job's result; the run id is the first job's id and names the execution. A
 * continuation job (the run renewed its job before CodePipeline's reply limit) takes over reporting.
 */

/** The user parameters every long-running job action carries; a construct adds its own. */
export const JobParametersSchema = z.object({
  stateMachineArn: z.string().regex(/^arn:[\w-]+:states:[\w-]+:\d{12}:stateMachine:[\w.-]+$/, 'expected a state machine ARN'),
  pipelineExecutionId: z.string().min(1).optional(),
  /** How old a job may grow before the run renews it, derived from the stage's backstop interval. */
  renewAfterSeconds: z.number().int().positive().optional(),
});

/** Turns a new job and its user parameters into the construct's part of the execution input. */
export type PrepareRun = (job: CodePipelineJob, userParameters: unknown) => Promise<Record<string, unknown>>;

const sfn = () => awsClient(SFNClient);

export function handleJobStart(event: CodePipelineEvent, prepare: PrepareRun): Promise<void> {
  return runPipelineJob(event, async job => {
    const continuationToken = job.data.continuationToken;
    if (continuationToken) return continueRun(continuationToken, job.id);
    const userParameters = parseJson(job.data.actionConfiguration.configuration.UserParameters || '{}', 'action user parameters');
    const { stateMachineArn, pipelineExecutionId, renewAfterSeconds } = parseInput(JobParametersSchema.passthrough(), userParameters, 'action user parameters');
    const input = await prepare(job, userParameters);
    const runId = job.id;
    const executionInput = JSON.stringify({ ...input, runId });
    if (bytesOf(executionInput) > RUN_INPUT_MAX_BYTES) {
      throw new InputError(`the run's input (its parameters and targets) is ${Math.ceil(bytesOf(executionInput) / 1024)} KiB; at most `
        + `${RUN_INPUT_MAX_BYTES / 1024} KiB travel in the run's state, which Step Functions bounds to 256 KiB: pass fewer or shorter values`);
    }
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;
    // The run is recorded before the execution starts, so that even a run that ends at once finds it.
    // A job delivered twice keeps its first record (and the work recorded in it); starting the same
    // execution again with the same input is a no-op for Step Functions.
    const created = await createRun({
      runId, jobId: job.id, stateMachineArn, executionArn, pipelineExecutionId, renewAfterMs: renewAfterSeconds && renewAfterSeconds * 1000,
    });
    await startExecution(stateMachineArn, runId, executionInput);
    logger.info(created ? 'started run' : 'the job was delivered again; its run is started', { runId, executionArn });
    return { status: 'pending' };
  });
}

/**
 * Starts the run's execution once. The execution is named after the run, and StartExecution with
 * the same name and input is idempotent: after an unclear answer (a timeout, a dropped connection,
 * a 5xx) it is sent once more, and "already exists" means the first one started it.
 */
async function startExecution(stateMachineArn: string, runId: string, input: string): Promise<void> {
  const start = async () => {
    try {
      await sfn().send(new StartExecutionCommand({ stateMachineArn, name: runId, input }));
    } catch (err) {
      if ((err as Error).name !== 'ExecutionAlreadyExists') throw err;
    }
  };
  try {
    await start();
  } catch (err) {
    if (isRefusal(err)) throw err;
    logger.warn('starting the run got no clear answer; starting it again (the same name and input start it once)', { runId, error: reasonOf(err) });
    await start();
  }
}

async function continueRun(runId: string, jobId: string): Promise<JobOutcome> {
  const run = await registerJob(runId, jobId);
  if (!run) throw new InputError(`run ${runId} is unknown (its record expired or was never created)`);
  logger.info('took over the renewed job', { runId, jobId });
  if (run.outcome && !run.reported) {
    await reportOutcome(jobId, run.outcome);
    await markReported(runId, jobId);
  }
  return { status: 'pending' };
}
