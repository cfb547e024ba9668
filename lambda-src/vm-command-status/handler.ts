import { CodePipelineClient, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { GetCommandInvocationCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod/v3';
import { evaluate, InvocationResult } from './evaluate';
import { parseInput } from '../shared/input';
import { logger } from '../shared/logger';
import { mapLimit } from '../shared/vm-command/map-limit';
import { Outcome } from '../shared/vm-command/outcome';
import { abandonRenewal, beginRenewal, getRun } from '../shared/vm-command/run-table';
import { isTerminal } from '../shared/vm-command/statuses';

/*
 * Step Functions task, after the command-finished event or the backstop timeout: reads every
 * target's invocation. When all are final it decides the outcome; otherwise the state machine
 * waits again. An invocation that does not exist yet (right after SendCommand) counts as pending.
 * A long run's CodePipeline job is renewed here, before CodePipeline's 20-minute reply limit.
 */

const EventSchema = z.object({
  runId: z.string().min(1),
  commandId: z.string().min(1),
  instanceIds: z.array(z.string()).min(1),
  config: z.object({ maxErrors: z.string(), logGroupName: z.string().min(1) }),
});

/** Renew the job when it is older than this; the backstop interval is at most 10 minutes. */
const RENEW_AFTER_MS = 9 * 60 * 1000;

let ssmClient: SSMClient | undefined;
let pipelineClient: CodePipelineClient | undefined;
const ssm = () => (ssmClient ??= new SSMClient({}));
const codepipeline = () => (pipelineClient ??= new CodePipelineClient({}));

export type StatusResult = { done: false } | { done: true; outcome: Outcome };

export async function handler(event: unknown): Promise<StatusResult> {
  const input = parseInput(EventSchema, event, 'status input');
  const { commandId } = input;
  let results = await mapLimit(input.instanceIds, 5, id => readInvocation(commandId, id));

  const missing = results.filter(r => r === undefined).length;
  if (missing && await commandFinished(commandId)) {
    // SSM finished the command without ever creating these invocations (e.g. MaxErrors reached).
    results = results.map((r, i) => r ?? { instanceId: input.instanceIds[i], status: 'NotSent', statusDetails: 'the command finished before it was sent to this instance' });
  }
  const pending = results.filter(r => r === undefined || !isTerminal(r.status) && r.status !== 'NotSent');
  if (pending.length) {
    logger.info('command still running', { commandId, pending: pending.length, total: results.length });
    await renewJobIfOld(input.runId);
    return { done: false };
  }
  const outcome = evaluate({
    commandId,
    maxErrors: input.config.maxErrors,
    logGroupName: input.config.logGroupName,
    region: process.env.AWS_REGION ?? 'us-east-1',
  }, results as InvocationResult[]);
  logger.info('command finished', { commandId, succeeded: outcome.succeeded });
  return { done: true, outcome };
}

async function readInvocation(commandId: string, instanceId: string): Promise<InvocationResult | undefined> {
  try {
    const out = await ssm().send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    return {
      instanceId,
      status: out.Status ?? 'Pending',
      statusDetails: out.StatusDetails,
      stdout: out.StandardOutputContent,
      stderr: out.StandardErrorContent,
    };
  } catch (err) {
    if ((err as Error).name === 'InvocationDoesNotExist') return undefined;
    throw err;
  }
}

async function commandFinished(commandId: string): Promise<boolean> {
  const out = await ssm().send(new ListCommandsCommand({ CommandId: commandId }));
  return isTerminal(out.Commands?.[0]?.Status);
}

/** Tells CodePipeline the action is still in progress: the job ends with a continuation token and a new job takes over. */
async function renewJobIfOld(runId: string): Promise<void> {
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
