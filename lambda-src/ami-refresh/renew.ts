import { z } from 'zod/v3';
import { parseInput } from '../core/input';
import { renewJobIfOld, RENEW_AFTER_MS } from '../core/job-report';

/*
 * Called by the waits only when their renewal time has come (a Choice compares timestamps), so a
 * long bake or refresh costs one invocation per renewal, not one per poll. Returns the next
 * renewal time: a job that was not old enough yet (it was handed over a little after the last
 * renewal) is looked at again soon.
 */

const EventSchema = z.object({ runId: z.string().min(1) });

export async function renew(event: unknown): Promise<string> {
  const { runId } = parseInput(EventSchema, event, 'renew input');
  const renewed = await renewJobIfOld(runId);
  return new Date(Date.now() + (renewed ? RENEW_AFTER_MS : RENEW_AFTER_MS / 3)).toISOString();
}
