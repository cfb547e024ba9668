import type { Context, EventBridgeEvent } from 'aws-lambda';
import type { CommandWork } from './command-table';
import { InputError, reasonOf } from '../core/errors';
import { logInvocation } from '../core/logger';

/*
 * The VmCommandStage asset. Its two functions are shared by every VM stage of a stack:
 * - `run`: the pipeline action, which starts the stage's state machine, and every step of the
 *   state machines, named by the payload's `step`;
 * - `event`: SSM's command events, and the executions and pipeline actions that stopped.
 * Each part is imported when first used, so a cold start loads only the SDK clients it needs
 * (the bundler keeps the parts in the one asset, initialized lazily).
 */

type Handler = (event: any) => Promise<unknown>;

const STEPS: Record<string, () => Promise<Handler>> = {
  preflight: async () => (await import('./preflight.js')).preflight,
  send: async () => (await import('./send.js')).send,
  wait: async () => (await import('./wait.js')).wait,
  status: async () => (await import('./status.js')).status,
  finish: async () => (await import('./finish.js')).finish,
};

export async function run(e: any, context?: Context): Promise<unknown> {
  logInvocation(context, { runId: e?.runId ?? e?.run?.runId ?? e?.['CodePipeline.job']?.id, commandId: e?.commandId ?? e?.run?.command?.commandId });
  if (e && typeof e === 'object' && 'CodePipeline.job' in e) return (await import('./start.js')).start(e);
  const load = typeof e?.step === 'string' ? STEPS[e.step] : undefined;
  if (!load) throw new InputError(`unknown step ${JSON.stringify(e?.step)}; expected one of ${Object.keys(STEPS).join(', ')}`);
  return (await load())(e).catch(asError);
}

export async function event(e: EventBridgeEvent<string, unknown>, context?: Context): Promise<void> {
  const detail = e?.detail as Record<string, unknown> | undefined;
  logInvocation(context, { runId: detail?.name, commandId: detail?.['command-id'] });
  if (e?.source === 'aws.ssm') return (await import('./notify.js')).notify(e).catch(asError);
  const { handleJobEvent, isJobEvent } = await import('../core/job-events.js');
  if (!isJobEvent(e)) throw new InputError(`unexpected event source ${JSON.stringify(e?.source)}`);
  const { stopRunCommand } = await import('./cancel.js');
  return handleJobEvent(e, stopped => stopRunCommand(stopped.runId, stopped.work as Partial<CommandWork> | undefined)).catch(asError);
}

/**
 * Lambda turns a thrown value that is not an Error into the message `[object Object]`: such a
 * value is thrown as an Error carrying its readable reason.
 */
function asError(err: unknown): never {
  if (err instanceof Error) throw err;
  throw new Error(reasonOf(err));
}
