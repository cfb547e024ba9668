import { z } from 'zod/v3';
import { parseInput } from '../core/input';
import { renewJobIfOld } from '../core/job-report';

/*
 * Called by the waits only when their renewal time has come (a Choice compares timestamps), so a
 * long bake or refresh costs one invocation per renewal, not one per poll. Returns the next
 * renewal time: after a renewal, the renewal age from now; for a job not old enough yet (it was
 * handed over a little after the last renewal), the time it becomes due.
 */

const EventSchema = z.object({ runId: z.string().min(1) });

export async function renew(event: unknown): Promise<string> {
  const { runId } = parseInput(EventSchema, event, 'renew input');
  return new Date((await renewJobIfOld(runId)).dueAt).toISOString();
}
