import type { CodePipelineEvent, Context } from 'aws-lambda';
import { withCommitAuthors } from './commit-authors';
import { NotifierConfig, notifierConfig, parseUserParameters } from './config';
import { channelsFor, deliver, Delivery, describeDelivery } from './deliver';
import { readExecution, readJobContext } from './execution-details';
import { buildMessage } from './message';
import { ActionDetail, Notification } from './notification';
import { isEventBridgeEvent, parsePipelineEvent } from './pipeline-events';
import { SlackPostError } from './slack-client';
import { InputError, reasonOf } from '../core/errors';
import { logger } from '../core/logger';
import { CodePipelineJob, JobOutcome, runPipelineJob } from '../core/pipeline-job';

/** Time kept back from the function's timeout to report the job result after posting. */
const RESERVE_MS = 10_000;
const DEFAULT_BUDGET_MS = 60_000;

/**
 * Posts pipeline status to Slack. Invoked by a CodePipeline Lambda action (reports exactly one job
 * result) or by an EventBridge rule on CodePipeline events (throws when a post fails, so Lambda
 * retries the event and finally sends it to the dead-letter queue).
 */
export async function handler(event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<void> {
  const deadline = Date.now() + Math.max(1_000, (context?.getRemainingTimeInMillis?.() ?? DEFAULT_BUDGET_MS) - RESERVE_MS);
  if (typeof event === 'object' && event !== null && 'CodePipeline.job' in event) {
    return runPipelineJob(event as CodePipelineEvent, job => notifyFromAction(job, deadline));
  }
  if (isEventBridgeEvent(event)) return notifyFromEvent(event, deadline);
  throw new InputError('the event is neither a CodePipeline job nor a CodePipeline EventBridge event');
}

async function notifyFromEvent(event: unknown, deadline: number): Promise<void> {
  const notice = parsePipelineEvent(event);
  const config = notifierConfig();
  const channels = channelsFor(config, notice.outcome);
  logger.info('pipeline event', { pipeline: notice.pipelineName, executionId: notice.executionId, status: notice.status, channels: channels.length });
  if (!channels.length) return;
  const focus = notice.action ? { stage: notice.action.stage, action: notice.action.action } : undefined;
  const details = await readExecution(notice.pipelineName, notice.executionId, focus);
  const sources = await withCommitAuthors(details.revisions, config.codeCommitRepositories);
  const approvalConfig = details.focus?.input?.configuration;
  const notification: Notification = {
    outcome: notice.outcome,
    status: notice.status,
    pipelineName: notice.pipelineName,
    executionId: notice.executionId,
    account: notice.account,
    region: notice.region,
    trigger: details.trigger,
    revisions: sources.revisions,
    startTime: details.startTime,
    endTime: notice.time ?? details.lastUpdateTime,
    failure: notice.outcome === 'FAILED'
      ? (notice.action ? actionFailure(notice.action, details.failure) : details.failure)
      : undefined,
    approval: notice.outcome === 'APPROVAL' && notice.action
      ? { ...notice.action, summary: approvalConfig?.CustomData, url: approvalConfig?.ExternalEntityLink }
      : undefined,
    text: config.eventText,
    missing: details.missing,
    authorsUnread: sources.unread,
  };
  const delivery = await deliver(channels, buildMessage(notification), config, deadline);
  if (delivery.failed.length) throw new SlackPostError(describeDelivery(delivery), false);
}

async function notifyFromAction(job: CodePipelineJob, deadline: number): Promise<JobOutcome> {
  const settings = parseUserParameters(job.data?.actionConfiguration?.configuration?.UserParameters);
  const config = notifierConfig();
  let delivery: Delivery;
  try {
    delivery = await deliver(channelsFor(config, 'SUCCEEDED'), buildMessage(await actionNotification(job, config, settings.executionId, settings.text)), config, deadline);
  } catch (err) {
    delivery = { posted: [], failed: [{ channel: 'all channels', reason: reasonOf(err) }] };
  }
  const summary = describeDelivery(delivery) || 'no channel receives SUCCEEDED notifications';
  if (delivery.failed.length && settings.failOnError) throw new Error(`Slack notification failed: ${summary}`);
  return { status: 'succeeded', summary: delivery.failed.length ? `Slack notification failed, the pipeline continues: ${summary}` : summary };
}

async function actionNotification(job: CodePipelineJob, config: NotifierConfig, executionIdParameter: string | undefined, text: string | undefined)
  : Promise<Notification> {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const context = await readJobContext(job.id).catch(err => {
    logger.warn('GetJobDetails failed; the message leaves the pipeline details out', { jobId: job.id, error: reasonOf(err) });
    return undefined;
  });
  const executionId = context?.pipelineExecutionId ?? (executionIdParameter?.startsWith('#{') ? undefined : executionIdParameter);
  const pipelineName = context?.pipelineName;
  const stage = context?.stage?.name;
  const action = context?.action?.name;
  const details = pipelineName && executionId
    ? await readExecution(pipelineName, executionId, stage && action ? { stage, action } : undefined)
    : { revisions: [], missing: ['the pipeline context'] };
  const sources = await withCommitAuthors(details.revisions, config.codeCommitRepositories);
  return {
    outcome: 'SUCCEEDED',
    status: stage ? `REACHED ${stage}` : 'REACHED',
    pipelineName: pipelineName ?? 'unknown pipeline',
    executionId,
    account: job.accountId,
    region,
    trigger: details.trigger,
    revisions: sources.revisions,
    startTime: details.startTime,
    endTime: details.focus?.startTime ?? details.lastUpdateTime,
    text,
    missing: details.missing,
    authorsUnread: sources.unread,
  };
}

/** A failed-action event's own details, completed by what ListActionExecutions said about the same action. */
function actionFailure(action: ActionDetail, known: ActionDetail | undefined): ActionDetail {
  const same = known?.stage === action.stage && known.action === action.action ? known : undefined;
  return { stage: action.stage, action: action.action, summary: action.summary ?? same?.summary, url: action.url ?? same?.url };
}
