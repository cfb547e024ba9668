import type { Context, EventBridgeEvent } from 'aws-lambda';
import { AmiWork, StageError } from './config';
import { InputError, reasonOf } from '../core/errors';
import { logInvocation } from '../core/logger';

/*
 * The AmiRefreshStage asset. Its two functions are shared by every AMI stage of a stack:
 * - `run`: the pipeline action, which starts the stage's state machine, and the state machines'
 *   steps, named by the payload's `step`;
 * - `event`: image and instance refresh events, and the executions and pipeline actions that stopped.
 * Each part is imported when first used, so a cold start loads only what it needs.
 */

type Handler = (event: any) => Promise<unknown>;

const STEPS: Record<string, () => Promise<Handler>> = {
  prepare: async () => (await import('./prepare.js')).prepare,
  image: async () => (await import('./image.js')).image,
  release: async () => (await import('./release.js')).release,
  publish: async () => (await import('./publish.js')).publish,
  refresh: async () => (await import('./refresh.js')).refresh,
  renew: async () => (await import('./renew.js')).renew,
  prune: async () => (await import('./prune.js')).prune,
  finish: async () => (await import('./finish.js')).finish,
};

export async function run(e: any, context?: Context): Promise<unknown> {
  logInvocation(context, { runId: e?.runId ?? e?.run?.runId ?? e?.['CodePipeline.job']?.id });
  if (e && typeof e === 'object' && 'CodePipeline.job' in e) return (await import('./start.js')).start(e);
  const load = typeof e?.step === 'string' ? STEPS[e.step] : undefined;
  if (!load) throw new InputError(`unknown step ${JSON.stringify(e?.step)}; expected one of ${Object.keys(STEPS).join(', ')}`);
  const step = await load();
  try {
    return await step(e);
  } catch (err) {
    // AWS's final word (access denied, a missing resource, bad input) is not tried again: the
    // state machine retries only what may change (throttling, 5xx, no answer).
    const { isRefusal } = await import('../core/pipeline-job.js');
    if (isRefusal(err) || err instanceof InputError) throw new StageError(reasonOf(err));
    throw err;
  }
}

export async function event(e: EventBridgeEvent<string, unknown>, context?: Context): Promise<void> {
  const detail = e?.detail as Record<string, unknown> | undefined;
  logInvocation(context, { runId: detail?.name });
  if (e?.source === 'aws.ec2' || e?.source === 'aws.autoscaling') return (await import('./resume.js')).resume(e);
  const { handleJobEvent, isJobEvent } = await import('../core/job-events.js');
  if (!isJobEvent(e)) throw new InputError(`unexpected event source ${JSON.stringify(e?.source)}`);
  const { undoWork } = await import('./cleanup.js');
  return handleJobEvent(e, stopped => undoWork(stopped.work as AmiWork | undefined));
}
