import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { fanoutConfig } from './config';
import { branchDeleted, dispatchPush } from './dispatch';
import { intakeEvent } from './intake';
import { parseMessage } from './messages';
import { handleFifoBatch } from './sqs-batch';
import { sweepHeads } from './sweep';
import { logInvocation } from '../core/logger';

/*
 * The BranchBuildFanout asset. intake: EventBridge's events from the intake FIFO queue → one
 * message per branch push in the dispatch FIFO queue. dispatch: each push → StartBuild or
 * StartPipelineExecution, once. sweep: the branch heads no event brought → the dispatch queue.
 */

export async function intake(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  logInvocation(context, {});
  const config = fanoutConfig();
  const settings = { ...config, queueUrl: config.intakeQueueUrl, remainingMs: remainingOf(context) };
  return handleFifoBatch(event, settings, record => intakeEvent(config, record.body));
}

export async function dispatch(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  logInvocation(context, {});
  const config = fanoutConfig();
  return handleFifoBatch(event, { ...config, remainingMs: remainingOf(context) }, async record => {
    const message = parseMessage(record.body);
    if (message.kind === 'deleted') await branchDeleted(config, message);
    else await dispatchPush(config, message);
  });
}

function remainingOf(context: Context | undefined): (() => number) | undefined {
  return context?.getRemainingTimeInMillis ? () => context.getRemainingTimeInMillis() : undefined;
}

export async function sweep(_event: unknown, context?: Context): Promise<{ checked: number; dispatched: number }> {
  logInvocation(context, {});
  return sweepHeads(fanoutConfig());
}
