import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { awsClient } from '../core/aws-clients';
import { reasonOf } from '../core/errors';
import { logger } from '../core/logger';

const sfn = () => awsClient(SFNClient);

/** Errors meaning the waiting task has already moved on (timed out to the backstop, or finished). */
const STALE_TOKEN_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/** Resumes the state machine waiting on a command. A task that already moved on is not an error. */
export async function resumeWaitingTask(taskToken: string, commandId: string): Promise<boolean> {
  try {
    await sfn().send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ commandId }) }));
    logger.info('resumed the waiting state machine', { commandId });
    return true;
  } catch (err) {
    if (!STALE_TOKEN_ERRORS.has((err as Error).name)) throw err;
    logger.info('the waiting task had already moved on', { commandId, error: reasonOf(err) });
    return false;
  }
}
