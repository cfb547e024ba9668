import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod/v3';
import { awsClient } from './aws-clients';
import { reasonOf } from './errors';
import { parseInput } from './input';
import { settleRun } from './job-report';
import { findRunIdByPipelineExecution, getRun, RunRecord } from './job-table';
import { logger } from './logger';
import { describeStepError } from './step-error';

/*
 * EventBridge target for what a run's state machine cannot catch itself. Cleanup runs once per run:
 * - the execution timed out, failed or was aborted: the construct stops the run's work, and the
 *   job is reported failed;
 * - the pipeline stopped the action (abandoned or cancelled): the execution is stopped, and its
 *   ABORTED event then does the above.
 */

const EXECUTION_STOP_STATES = ['TIMED_OUT', 'FAILED', 'ABORTED'];
const PIPELINE_STOP_STATES = ['ABANDONED', 'CANCELED'];

const ExecutionEvent = z.object({
  source: z.literal('aws.states'),
  detail: z.object({
    name: z.string().min(1),
    status: z.string(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});
/** The stage's pipeline rule passes the event's detail with the stage's state machine. */
const PipelineEvent = z.object({
  source: z.literal('aws.codepipeline'),
  stateMachineArn: z.string().min(1),
  detail: z.object({
    'pipeline': z.string(),
    'execution-id': z.string().min(1),
    'state': z.string(),
  }),
});

/**
 * Stops what the run started; returns a sentence for the failure reason, if there is something to
 * say. It must not throw: a stop that fails is said in the sentence, and the report goes on.
 */
export type StopWork = (run: RunRecord) => Promise<string | undefined>;

const sfn = () => awsClient(SFNClient);

/** Whether an event is one `handleJobEvent` takes. */
export function isJobEvent(event: unknown): boolean {
  const source = (event as { source?: unknown } | null)?.source;
  return source === 'aws.states' || source === 'aws.codepipeline';
}

export async function handleJobEvent(event: unknown, stopWork: StopWork): Promise<void> {
  if ((event as { source?: unknown }).source === 'aws.states') {
    return onExecutionEnded(parseInput(ExecutionEvent, event, 'Step Functions status event').detail, stopWork);
  }
  return onPipelineStopped(parseInput(PipelineEvent, event, 'CodePipeline action event'));
}

async function onExecutionEnded(detail: z.infer<typeof ExecutionEvent>['detail'], stopWork: StopWork): Promise<void> {
  if (!EXECUTION_STOP_STATES.includes(detail.status)) {
    logger.info('ignored an execution that did not stop', { name: detail.name, status: detail.status });
    return;
  }
  const run = await getRun(detail.name);
  if (!run) {
    logger.warn('no run recorded for the execution', { name: detail.name });
    return;
  }
  const stopped = await stopWork(run);
  const cause = detail.error || detail.cause ? `: ${describeStepError(detail.error ?? undefined, detail.cause ?? undefined)}` : '';
  let message = `the run's state machine execution ${detail.status.toLowerCase().replace('_', ' ')}${cause}`;
  if (stopped) message += `\n${stopped}`;
  await settleRun(run.runId, { succeeded: false, message });
}

async function onPipelineStopped(event: z.infer<typeof PipelineEvent>): Promise<void> {
  const { detail } = event;
  if (!PIPELINE_STOP_STATES.includes(detail.state)) {
    logger.info('ignored an action that did not stop', { state: detail.state });
    return;
  }
  const runId = await findRunIdByPipelineExecution(detail['execution-id'], event.stateMachineArn);
  const run = runId ? await getRun(runId) : undefined;
  if (!run?.executionArn) {
    logger.info('no run for the pipeline execution', { executionId: detail['execution-id'] });
    return;
  }
  const cause = `pipeline ${detail.pipeline} execution ${detail['execution-id']} was ${detail.state.toLowerCase()}`;
  try {
    await sfn().send(new StopExecutionCommand({ executionArn: run.executionArn, error: 'PipelineStopped', cause }));
    logger.info('stopped the execution', { runId: run.runId });
  } catch (err) {
    // Anything but "no such execution" (throttled, refused, no answer) is thrown: Lambda retries the
    // event, then sends it to the dead-letter queue; the execution and its work would keep running.
    if ((err as Error).name !== 'ExecutionDoesNotExist') throw err;
    logger.info('the execution does not exist: nothing to stop', { runId: run.runId, error: reasonOf(err) });
  }
}
