import { z } from 'zod/v3';
import { cancelUnfinished } from './cancel';
import { parseInput } from '../core/input';
import { settleRun, SettleResult } from '../core/job-report';
import { logger } from '../core/logger';
import { Outcome, OutcomeSchema } from '../core/outcome';
import { describeStepError } from '../core/step-error';

/*
 * The state machine's last task, on every path: reports the outcome to CodePipeline. After an error
 * in any step it first cancels the command on every target still running it.
 */

const EventSchema = z.object({
  run: z.object({
    runId: z.string().min(1),
    resolved: z.object({ instanceIds: z.array(z.string()) }).optional(),
    command: z.object({ commandId: z.string() }).optional(),
    status: z.object({ outcome: OutcomeSchema.optional() }).optional(),
    error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
  }),
});

export async function finish(event: unknown): Promise<{ result: SettleResult; succeeded: boolean }> {
  const { run } = parseInput(EventSchema, event, 'finish input');
  let outcome: Outcome | undefined = run.status?.outcome;
  if (run.error || !outcome) {
    let message = describeStepError(run.error?.Error, run.error?.Cause);
    if (run.command) {
      const cancelled = await cancelUnfinished(run.command.commandId, run.resolved?.instanceIds ?? []);
      if (cancelled.length) message += `\ncommand ${run.command.commandId} was cancelled on ${cancelled.join(', ')}`;
    }
    outcome = { succeeded: false, message };
  }
  const result = await settleRun(run.runId, outcome);
  logger.info('run finished', { runId: run.runId, succeeded: outcome.succeeded, result });
  return { result, succeeded: outcome.succeeded };
}
