import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod/v3';
import { reasonOf } from '../shared/errors';
import { parseInput } from '../shared/input';
import { logger } from '../shared/logger';
import { cancelUnfinished } from '../shared/vm-command/cancel';
import { settleRun } from '../shared/vm-command/report';
import { getRun, findRunIdByPipelineExecution, RunRecord } from '../shared/vm-command/run-table';
import { describeStepError } from '../shared/vm-command/step-error';

/*
 * EventBridge target for what the state machine cannot catch itself:
 * - its execution timed out, failed or was aborted: cancel the command, report the job failed;
 * - the pipeline execution was stopped and abandoned: cancel the command, stop the execution.
 */

const ExecutionDetail = z.object({
  name: z.string().min(1),
  status: z.string(),
  error: z.string().nullish(),
  cause: z.string().nullish(),
});
const PipelineDetail = z.object({
  'pipeline': z.string(),
  'execution-id': z.string().min(1),
  'state': z.string(),
});

let client: SFNClient | undefined;
const sfn = () => (client ??= new SFNClient({}));

export async function handler(event: EventBridgeEvent<string, unknown>): Promise<void> {
  if (event?.source === 'aws.states') return onExecutionEnded(parseInput(ExecutionDetail, event.detail, 'Step Functions status event'));
  if (event?.source === 'aws.codepipeline') return onPipelineStopped(parseInput(PipelineDetail, event.detail, 'CodePipeline state event'));
  logger.warn('ignored an event from an unexpected source', { source: event?.source });
}

async function cancel(run: RunRecord): Promise<string[]> {
  if (!run.commandId) return [];
  return cancelUnfinished(run.commandId, run.instanceIds);
}

async function onExecutionEnded(detail: z.infer<typeof ExecutionDetail>): Promise<void> {
  const run = await getRun(detail.name);
  if (!run) {
    logger.warn('no run recorded for the execution', { name: detail.name });
    return;
  }
  const cancelled = await cancel(run);
  const cause = detail.error || detail.cause ? `: ${describeStepError(detail.error ?? undefined, detail.cause ?? undefined)}` : '';
  let message = `the run's state machine execution ${detail.status.toLowerCase().replace('_', ' ')}${cause}`;
  if (cancelled.length) message += `\ncommand ${run.commandId} was cancelled on ${cancelled.join(', ')}`;
  await settleRun(run.runId, { succeeded: false, message });
}

async function onPipelineStopped(detail: z.infer<typeof PipelineDetail>): Promise<void> {
  const runId = await findRunIdByPipelineExecution(detail['execution-id']);
  const run = runId ? await getRun(runId) : undefined;
  if (!run) {
    logger.info('no run for the pipeline execution', { executionId: detail['execution-id'] });
    return;
  }
  const message = `pipeline ${detail.pipeline} execution ${detail['execution-id']} was ${detail.state.toLowerCase()}`;
  try {
    // Settled first, so that the execution's ABORTED event finds nothing left to report.
    await settleRun(run.runId, { succeeded: false, message });
  } catch (err) {
    logger.info('the stopped job could not take a result', { runId: run.runId, error: reasonOf(err) });
  }
  await cancel(run);
  if (!run.executionArn) return;
  try {
    await sfn().send(new StopExecutionCommand({ executionArn: run.executionArn, error: 'PipelineStopped', cause: message }));
    logger.info('stopped the execution', { runId: run.runId });
  } catch (err) {
    logger.info('the execution could not be stopped (it may have ended)', { runId: run.runId, error: reasonOf(err) });
  }
}
