import { z } from 'zod/v3';
import { Outcome } from './config';
import { InputError } from '../core/errors';
import { parseInput } from '../core/input';

const EXECUTION_CHANGE = 'CodePipeline Pipeline Execution State Change';
const ACTION_CHANGE = 'CodePipeline Action Execution State Change';

const eventSchema = z.object({
  'id': z.string().optional(),
  'source': z.literal('aws.codepipeline'),
  'detail-type': z.enum([EXECUTION_CHANGE, ACTION_CHANGE]),
  'account': z.string().min(1),
  'region': z.string().min(1),
  'time': z.string().optional(),
  'detail': z.object({
    'pipeline': z.string().min(1),
    'execution-id': z.string().min(1),
    'state': z.string().min(1),
    'stage': z.string().optional(),
    'action': z.string().optional(),
    'type': z.object({ category: z.string() }).optional(),
    'execution-result': z.object({
      'external-execution-url': z.string().optional(),
      'external-execution-summary': z.string().optional(),
    }).optional(),
  }),
});

/** An EventBridge event from CodePipeline, as the notifier understands it. */
export interface PipelineEventNotice {
  /** EventBridge's id of the event: the same in every delivery of the event. */
  readonly eventId?: string;
  readonly outcome: Outcome;
  readonly status: string;
  readonly pipelineName: string;
  readonly executionId: string;
  readonly account: string;
  readonly region: string;
  readonly time?: Date;
  /** For action events: which action, and what the event says about it. */
  readonly action?: { readonly stage: string; readonly action: string; readonly summary?: string; readonly url?: string };
}

/** Whether a Lambda event is an EventBridge event rather than a CodePipeline job. */
export function isEventBridgeEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'detail-type' in event;
}

/** Validates an EventBridge event and classifies it; throws an InputError naming what is wrong. */
export function parsePipelineEvent(raw: unknown): PipelineEventNotice {
  const event = parseInput(eventSchema, raw, 'the EventBridge event');
  const detail = event.detail;
  const time = event.time ? new Date(event.time) : undefined;
  const base = {
    eventId: event.id,
    pipelineName: detail.pipeline,
    executionId: detail['execution-id'],
    account: event.account,
    region: event.region,
    time: time && !isNaN(time.getTime()) ? time : undefined,
  };
  if (event['detail-type'] === EXECUTION_CHANGE) {
    const outcome = executionOutcome(detail.state);
    return { ...base, outcome, status: detail.state };
  }
  const action = parseInput(z.object({ stage: z.string().min(1), action: z.string().min(1) }), detail, 'the EventBridge action event');
  const result = detail['execution-result'];
  const notice = { stage: action.stage, action: action.action, summary: result?.['external-execution-summary'], url: result?.['external-execution-url'] };
  if (detail.state === 'FAILED') return { ...base, outcome: 'FAILED', status: 'ACTION FAILED', action: notice };
  if (detail.state === 'STARTED' && detail.type?.category === 'Approval') {
    return { ...base, outcome: 'APPROVAL', status: 'APPROVAL NEEDED', action: notice };
  }
  throw new InputError(`the EventBridge event is not one the notifier handles: action state \`${detail.state}\``
    + ` of category \`${detail.type?.category ?? 'unknown'}\``);
}

function executionOutcome(state: string): Outcome {
  switch (state) {
    case 'SUCCEEDED': return 'SUCCEEDED';
    case 'FAILED': return 'FAILED';
    case 'STOPPED':
    case 'SUPERSEDED': return 'CANCELLED';
    default: throw new InputError(`the EventBridge event is not one the notifier handles: execution state \`${state}\``);
  }
}
