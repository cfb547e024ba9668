import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { awsClient } from './aws-clients';
import { reasonOf } from './errors';
import { logger } from './logger';

const sfn = () => awsClient(SFNClient);

/** Errors meaning the waiting task has already moved on (timed out to the backstop, or finished). */
const STALE_TOKEN_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/**
 * Resumes a state machine parked in a `.waitForTaskToken` task, with `output` (ids that name what
 * it waited on, also logged). A task that already moved on is not an error: returns false.
 */
export async function resumeWaitingTask(taskToken: string, output: Record<string, string>): Promise<boolean> {
  try {
    await sfn().send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    logger.info('resumed the waiting state machine', output);
    return true;
  } catch (err) {
    if (!STALE_TOKEN_ERRORS.has((err as Error).name)) throw err;
    logger.info('the waiting task had already moved on', { ...output, error: reasonOf(err) });
    return false;
  }
}
