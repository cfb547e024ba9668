import type { EventBridgeEvent } from 'aws-lambda';
import { cancelUnfinished } from './cancel';
import { CommandWork } from './command-table';
import { finish } from './finish';
import { notify } from './notify';
import { preflight } from './preflight';
import { send } from './send';
import { start } from './start';
import { status } from './status';
import { wait } from './wait';
import { InputError } from '../core/errors';
import { handleJobEvent, isJobEvent } from '../core/job-events';

/*
 * The VmCommandStage asset. Its two functions are shared by every VM stage of a stack:
 * - `run`: the pipeline action, which starts the stage's state machine, and every step of the
 *   state machines, named by the payload's `step`;
 * - `event`: SSM's command events, and the executions and pipeline actions that stopped.
 */

const STEPS: Record<string, (event: any) => Promise<unknown>> = { preflight, send, wait, status, finish };

export async function run(e: any): Promise<unknown> {
  if (e && typeof e === 'object' && 'CodePipeline.job' in e) return start(e);
  const step = typeof e?.step === 'string' ? STEPS[e.step] : undefined;
  if (!step) throw new InputError(`unknown step ${JSON.stringify(e?.step)}; expected one of ${Object.keys(STEPS).join(', ')}`);
  return step(e);
}

export async function event(e: EventBridgeEvent<string, unknown>): Promise<void> {
  if (e?.source === 'aws.ssm') return notify(e);
  if (!isJobEvent(e)) throw new InputError(`unexpected event source ${JSON.stringify(e?.source)}`);
  return handleJobEvent(e, async run => {
    const work = run.work as CommandWork | undefined;
    if (!work?.commandId) return undefined;
    const cancelled = await cancelUnfinished(work.commandId, work.instanceIds ?? []);
    return cancelled.length ? `command ${work.commandId} was cancelled on ${cancelled.join(', ')}` : undefined;
  });
}
