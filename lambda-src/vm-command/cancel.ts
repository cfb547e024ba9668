import { CancelCommandCommand, GetCommandInvocationCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CommandWork } from './command-table';
import { isTerminal } from './statuses';
import { awsClient } from '../core/aws-clients';
import { reasonOf } from '../core/errors';
import { logger } from '../core/logger';
import { mapLimit } from '../core/map-limit';
import { paginate } from '../core/paginate';

const ssm = () => awsClient(SSMClient);

/** The comment every command of a run carries: it finds the command when the run could not record it. */
export function runComment(runId: string): string {
  return `run ${runId}`.slice(0, 100);
}

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

/**
 * Cancels a command on every target that is still running it; returns those targets. Without
 * known targets (a command found by its comment, sent to tags), the whole command is cancelled.
 */
export async function cancelUnfinished(commandId: string, instanceIds: string[]): Promise<string[]> {
  if (instanceIds.length === 0) {
    await ssm().send(new CancelCommandCommand({ CommandId: commandId }));
    logger.info('cancelled command on all its targets', { commandId });
    return ['all its targets'];
  }
  const flags = await mapLimit(instanceIds, 5, id => stillRunning(commandId, id));
  const running = instanceIds.filter((_, i) => flags[i]);
  if (running.length === 0) return [];
  await ssm().send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: running }));
  logger.info('cancelled command', { commandId, instanceIds: running });
  return running;
}

/** The command a run sent, found by its comment among the document's commands since the run meant to send it. */
export async function findSentCommand(runId: string, work: Pick<CommandWork, 'documentName' | 'sentAfter'>): Promise<{ commandId: string; instanceIds: string[] } | undefined> {
  const pages = paginate('ListCommands', async token => {
    const page = await ssm().send(new ListCommandsCommand({
      Filters: [{ key: 'DocumentName', value: work.documentName }, { key: 'InvokedAfter', value: work.sentAfter }],
      NextToken: token,
    }));
    return { commands: page.Commands ?? [], token: page.NextToken };
  });
  for await (const page of pages) {
    const command = page.commands.find(c => c.Comment === runComment(runId) && c.CommandId);
    if (command) return { commandId: command.CommandId!, instanceIds: command.InstanceIds ?? [] };
  }
  return undefined;
}

/**
 * Stops the run's command wherever it still runs, from what the run recorded: the command, or only
 * the intent to send it (the command is then looked for by its comment). Returns a sentence for
 * the failure reason. Never throws: a cancel that fails is said in the reason, and the report goes on.
 */
export async function stopRunCommand(runId: string, work: Partial<CommandWork> | undefined): Promise<string | undefined> {
  if (!work?.commandId && !work?.documentName) return undefined;
  try {
    const command = work.commandId
      ? { commandId: work.commandId, instanceIds: work.instanceIds ?? [] }
      : await findSentCommand(runId, { documentName: work.documentName!, sentAfter: work.sentAfter! });
    if (!command) return undefined;
    const cancelled = await cancelUnfinished(command.commandId, command.instanceIds);
    return cancelled.length ? `command ${command.commandId} was cancelled on ${cancelled.join(', ')}` : undefined;
  } catch (err) {
    logger.error('the run\'s command could not be cancelled', { runId, error: reasonOf(err) });
    return `the run's command could not be cancelled: ${reasonOf(err)}`;
  }
}
