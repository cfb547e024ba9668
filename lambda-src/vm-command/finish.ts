import { z } from 'zod/v3';
import { stopRunCommand } from './cancel';
import { CommandWork } from './command-table';
import { parseInput } from '../core/input';
import { settleRun, SettleResult } from '../core/job-report';
import { getRun } from '../core/job-table';
import { logger } from '../core/logger';
import { Outcome, OutcomeSchema } from '../core/outcome';
import { describeStepError } from '../core/step-error';

/*
 * The state machine's last task, on every path: reports the outcome to CodePipeline. After an error
 * in any step it first cancels the command on every target still running it (from the state, or
 * from what the run recorded when the error came before the state knew the command); a cancel that
 * fails is said in the reason and never prevents the report.
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
    const work = run.command
      ? { commandId: run.command.commandId, instanceIds: run.resolved?.instanceIds ?? [] }
      : (await getRun(run.runId))?.work as Partial<CommandWork> | undefined;
    const stopped = await stopRunCommand(run.runId, work);
    const message = describeStepError(run.error?.Error, run.error?.Cause);
    outcome = { succeeded: false, message: stopped ? `${message}\n${stopped}` : message };
  }
  const result = await settleRun(run.runId, outcome);
  logger.info('run finished', { runId: run.runId, succeeded: outcome.succeeded, result });
  return { result, succeeded: outcome.succeeded };
}
