import { GetCommandInvocationCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod/v3';
import { evaluate, InvocationResult } from './evaluate';
import { isTerminal } from './statuses';
import { awsClient } from '../core/aws-clients';
import { parseInput } from '../core/input';
import { renewJobIfOld } from '../core/job-report';
import { logger } from '../core/logger';
import { mapLimit } from '../core/map-limit';
import { Outcome } from '../core/outcome';

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

const ssm = () => awsClient(SSMClient);

export type StatusResult = { done: false } | { done: true; outcome: Outcome };

export async function status(event: unknown): Promise<StatusResult> {
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
