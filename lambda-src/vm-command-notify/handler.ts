import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod/v3';
import { parseInput } from '../shared/input';
import { logger } from '../shared/logger';
import { markCommandCompleted } from '../shared/vm-command/run-table';
import { resumeWaitingTask } from '../shared/vm-command/task-token';

/*
 * EventBridge target for SSM "EC2 Command Status-change Notification" events with a final status:
 * resumes the execution waiting on the command within about a second of it finishing. The command
 * is marked finished even when no run has recorded it yet: a very short command can finish before
 * the send task records it, and the wait task then resumes at once. Other senders' commands of the
 * same document leave only a mark that expires.
 */

const DetailSchema = z.object({ 'command-id': z.string().min(1), 'status': z.string() });

export async function handler(event: EventBridgeEvent<string, unknown>): Promise<void> {
  const detail = parseInput(DetailSchema, event?.detail, 'SSM command status event');
  const commandId = detail['command-id'];
  const { known, taskToken } = await markCommandCompleted(commandId);
  if (!known) {
    logger.debug('command not recorded by a run (yet); marked finished', { commandId });
    return;
  }
  logger.info('command finished', { commandId, status: detail.status });
  if (taskToken) await resumeWaitingTask(taskToken, commandId);
}
