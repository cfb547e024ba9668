import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod/v3';
import { clearTaskToken, markCommandCompleted } from './command-table';
import { parseInput } from '../core/input';
import { logger } from '../core/logger';
import { resumeWaitingTask } from '../core/task-token';

/*
 * EventBridge target for SSM "EC2 Command Status-change Notification" events with a final status:
 * resumes the execution waiting on the command within about a second of it finishing. The command
 * is marked finished even when no run has recorded it yet: a very short command can finish before
 * the send step records it, and the wait step then resumes at once. The rules match only commands
 * this library sent (scripts by their marker line; custom documents by name, so other senders'
 * commands of a stage's custom document leave a mark that expires).
 */

const DetailSchema = z.object({ 'command-id': z.string().min(1), 'status': z.string() });

export async function notify(event: EventBridgeEvent<string, unknown>): Promise<void> {
  const detail = parseInput(DetailSchema, event?.detail, 'SSM command status event');
  const commandId = detail['command-id'];
  const { known, taskToken } = await markCommandCompleted(commandId);
  if (!known) {
    logger.debug('command not recorded by a run (yet); marked finished', { commandId });
    return;
  }
  logger.info('command finished', { commandId, status: detail.status });
  if (!taskToken) return;
  // A resume that fails (throttled, no answer) is thrown: Lambda retries the event with the token kept.
  await resumeWaitingTask(taskToken, { commandId });
  await clearTaskToken(commandId, taskToken);
}
