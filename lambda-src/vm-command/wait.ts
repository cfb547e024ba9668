import { z } from 'zod/v3';
import { storeTaskToken } from './command-table';
import { reasonOf } from '../core/errors';
import { parseInput } from '../core/input';
import { logger } from '../core/logger';
import { resumeWaitingTask } from '../core/task-token';

/*
 * Step Functions `.waitForTaskToken` task: parks the execution until SSM reports the command
 * finished (the notify function sends the token back) or the task's timeout, the polling backstop,
 * expires. If the finish event came before the token was stored, it resumes at once.
 */

const EventSchema = z.object({ taskToken: z.string().min(1), commandId: z.string().min(1) });

export async function wait(event: unknown): Promise<void> {
  const { taskToken, commandId } = parseInput(EventSchema, event, 'wait input');
  const alreadyFinished = await storeTaskToken(commandId, taskToken);
  if (!alreadyFinished) {
    logger.info('waiting for the command to finish', { commandId });
    return;
  }
  try {
    await resumeWaitingTask(taskToken, { commandId });
  } catch (err) {
    // Never fail the step (that would fail the run): the backstop checks the finished command soon.
    logger.warn('resuming at once failed; the backstop will check the command', { commandId, error: reasonOf(err) });
  }
}
