import type { CodePipelineEvent, Context } from 'aws-lambda';
import { withCommitAuthors } from './commit-authors';
import { ActionSettings, NotifierConfig, notifierConfig, parseUserParameters } from './config';
import { channelsFor, deliver, Delivery, describeDelivery } from './deliver';
import { readExecution, readJobContext } from './execution-details';
import { buildMessage, clip } from './message';
import { ActionDetail, Notification } from './notification';
import { isEventBridgeEvent, parsePipelineEvent } from './pipeline-events';
import { log, redact, redactError } from './redact';
import { SlackPostError } from './slack-client';
import { Clock, clockOf, REPORT_LIMIT_MS, withTimeLimit } from './time-limits';
import { InputError, reasonOf } from '../core/errors';
import { CodePipelineJob, JobOutcome, runPipelineJob } from '../core/pipeline-job';

/**
 * Posts pipeline status to Slack. Invoked by a CodePipeline Lambda action (reports exactly one job
 * result) or by an EventBridge rule on CodePipeline events (throws when a post fails, so Lambda
 * retries the event and finally sends it to the dead-letter queue). Nothing that leaves the
 * function (logs, job summaries and failure messages, thrown errors) holds a webhook.
 */
export async function handler(event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<void> {
  const clock = clockOf(context?.getRemainingTimeInMillis?.());
  try {
    if (typeof event === 'object' && event !== null && 'CodePipeline.job' in event) {
      return await notifyJob(event as CodePipelineEvent, clock);
    }
    if (isEventBridgeEvent(event)) return await notifyFromEvent(event, clock);
    throw new InputError('the event is neither a CodePipeline job nor a CodePipeline EventBridge event');
  } catch (err) {
    throw redactError(err);
  }
}

/** CodePipeline did not answer the job result in time; Lambda's retry runs the job again. */
class JobResultUnansweredError extends Error {
  public override readonly name = 'JobResultUnansweredError';
}

/**
 * Action mode: exactly one job result. `runPipelineJob` reports what the work returns or throws;
 * a result that CodePipeline has not answered (5xx, throttled, no answer within REPORT_LIMIT_MS) is
 * thrown, so that Lambda's asynchronous retry runs the job again, which reports it then without
 * posting again (see `notifyFromAction`).
 */
async function notifyJob(event: CodePipelineEvent, clock: Clock): Promise<void> {
  let workEnded!: () => void;
  const reportStarts = new Promise<void>(resolve => workEnded = resolve);
  const reported = runPipelineJob(event, async job => {
    try {
      return await notifyFromAction(job, clock);
    } catch (err) {
      // Its message becomes the job's failure message and a log line.
      throw redactError(err);
    } finally {
      workEnded();
    }
  });
  await Promise.race([reported, reportStarts]);
  const limit = Math.min(REPORT_LIMIT_MS, clock.end - Date.now());
  await withTimeLimit(limit, () => new JobResultUnansweredError(
    `CodePipeline did not answer the job result within ${limit} ms; Lambda's retry reports it`), () => reported);
}

/**
 * The notify action's work. A job can be delivered again: Lambda retries an invocation that threw
 * (a job result CodePipeline did not answer), and may deliver an event twice. A delivery of a job
 * that already has its result must not post again, so before posting:
 * - the action's execution is looked up in ListActionExecutions (which the message needs anyway):
 *   once CodePipeline has taken the job's result it is no longer InProgress, whichever container
 *   the retry runs in, so nothing is posted;
 * - the container remembers the channels it posted each job to (`deliver`), so a retry in the same
 *   container (the usual case) posts to none of them again, also when the result was not taken.
 * Only a retry in another container, of a job whose result CodePipeline never took, posts again:
 * a second message rather than a job without a result.
 */
async function notifyFromAction(job: CodePipelineJob, clock: Clock): Promise<JobOutcome> {
  const settings = parseUserParameters(job.data?.actionConfiguration?.configuration?.UserParameters);
  const config = notifierConfig();
  let delivery: Delivery;
  try {
    const { notification, hasResult } = await actionNotification(job, config, settings, clock);
    if (hasResult) {
      log.info('the job already has its result (a repeated delivery): nothing is posted again', { jobId: job.id });
      return { status: 'succeeded', summary: 'the job already had its result: nothing was posted again' };
    }
    delivery = await deliver(channelsFor(config, 'SUCCEEDED'), buildMessage(notification), config, clock.postDeadline, `job:${job.id}`);
  } catch (err) {
    delivery = { posted: [], failed: [{ channel: 'all channels', reason: redact(reasonOf(err)) }] };
  }
  const summary = describeDelivery(delivery) || 'no channel receives SUCCEEDED notifications';
  if (delivery.failed.length && settings.failOnError) throw new Error(`Slack notification failed: ${summary}`);
  return { status: 'succeeded', summary: delivery.failed.length ? `Slack notification failed, the pipeline continues: ${summary}` : summary };
}

/**
 * The notification of the action, from what CodePipeline answers by the details deadline; whether
 * the action's execution already has its result (the job was delivered again).
 */
async function actionNotification(job: CodePipelineJob, config: NotifierConfig, settings: ActionSettings, clock: Clock)
  : Promise<{ notification: Notification; hasResult: boolean }> {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const until = clock.detailsDeadline;
  const context = await readJobContext(job.id, until).catch(err => {
    log.warn('GetJobDetails failed; the message leaves the pipeline details out', { jobId: job.id, error: reasonOf(err) });
    return undefined;
  });
  const executionIdParameter = settings.executionId?.startsWith('#{') ? undefined : settings.executionId;
  const executionId = context?.pipelineExecutionId ?? executionIdParameter;
  const pipelineName = context?.pipelineName;
  const stage = context?.stage?.name;
  const action = context?.action?.name;
  const details = pipelineName && executionId
    ? await readExecution(pipelineName, executionId, stage && action ? { stage, action } : undefined, until)
    : { revisions: [], missing: ['the pipeline context'] };
  const hasResult = !!details.focus?.status && details.focus.status !== 'InProgress';
  const sources = hasResult ? { revisions: [], unread: false } : await withCommitAuthors(details.revisions, config.codeCommitRepositories, until);
  const notification: Notification = {
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
    text: settings.text,
    missing: details.missing,
    authorsUnread: sources.unread,
  };
  return { notification, hasResult };
}

async function notifyFromEvent(event: unknown, clock: Clock): Promise<void> {
  const notice = parsePipelineEvent(event);
  const config = notifierConfig();
  const channels = channelsFor(config, notice.outcome);
  log.info('pipeline event', {
    eventId: notice.eventId,
    pipeline: clip(notice.pipelineName, 100),
    executionId: clip(notice.executionId, 100),
    status: clip(notice.status, 100),
    channels: channels.length,
  });
  if (!channels.length) return;
  const focus = notice.action ? { stage: notice.action.stage, action: notice.action.action } : undefined;
  const details = await readExecution(notice.pipelineName, notice.executionId, focus, clock.detailsDeadline);
  const sources = await withCommitAuthors(details.revisions, config.codeCommitRepositories, clock.detailsDeadline);
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
  // A retried event (its post failed somewhere) posts only to the channels that did not get it.
  const key = notice.eventId ? `event:${notice.eventId}` : undefined;
  const delivery = await deliver(channels, buildMessage(notification), config, clock.postDeadline, key);
  if (delivery.failed.length) throw new SlackPostError(describeDelivery(delivery), false);
}

/** A failed-action event's own details, completed by what ListActionExecutions said about the same action. */
function actionFailure(action: ActionDetail, known: ActionDetail | undefined): ActionDetail {
  const same = known?.stage === action.stage && known.action === action.action ? known : undefined;
  return { stage: action.stage, action: action.action, summary: action.summary ?? same?.summary, url: action.url ?? same?.url };
}
