import { CancelCommandCommand, GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { awsClient } from '../core/aws-clients';
import { isTerminal } from './statuses';
import { reasonOf } from '../core/errors';
import { logger } from '../core/logger';
import { mapLimit } from '../core/map-limit';

const ssm = () => awsClient(SSMClient);

async function stillRunning(commandId: string, instanceId: string): Promise<boolean> {
  try {
    const out = await ssm().send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    return !isTerminal(out.Status);
  } catch (err) {
    // Not yet delivered, or the status is unknown: cancelling is the safe choice.
    logger.info('invocation status unknown; cancelling it', { commandId, instanceId, error: reasonOf(err) });
    return true;
  }
}

/** Cancels a command on every target that is still running it; returns those targets. */
export async function cancelUnfinished(commandId: string, instanceIds: string[]): Promise<string[]> {
  const flags = await mapLimit(instanceIds, 5, id => stillRunning(commandId, id));
  const running = instanceIds.filter((_, i) => flags[i]);
  if (running.length === 0) return [];
  await ssm().send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: running }));
  logger.info('cancelled command', { commandId, instanceIds: running });
  return running;
}
