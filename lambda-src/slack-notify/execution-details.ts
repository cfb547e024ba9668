import {
  ActionExecutionDetail, ArtifactRevision, CodePipelineClient, GetJobDetailsCommand, GetPipelineExecutionCommand,
  ListActionExecutionsCommand, PipelineContext, PipelineExecution,
} from '@aws-sdk/client-codepipeline';
import { ActionDetail, Revision } from './notification';
import { log } from './redact';
import { bounded } from './time-limits';
import { awsClient } from '../core/aws-clients';
import { reasonOf } from '../core/errors';

/** ListActionExecutions pages read at most (100 action executions each). */
const MAX_PAGES = 5;

const codepipeline = () => awsClient(CodePipelineClient);

/** What the notifier learns about an execution; any part CodePipeline did not answer is missing. */
export interface ExecutionDetails {
  readonly trigger?: string;
  readonly revisions: Revision[];
  readonly startTime?: Date;
  readonly lastUpdateTime?: Date;
  readonly failure?: ActionDetail;
  /** The execution of the action a notification is about (an approval, or the notify action). */
  readonly focus?: ActionExecutionDetail;
  readonly missing: string[];
}

/** The pipeline, stage, action and execution of a job (action mode); gives up at `until`. */
export async function readJobContext(jobId: string, until: number): Promise<PipelineContext> {
  const out = await bounded('GetJobDetails', until, abortSignal => codepipeline().send(new GetJobDetailsCommand({ jobId }), { abortSignal }));
  const context = out.jobDetails?.data?.pipelineContext;
  if (!context?.pipelineName) throw new Error('GetJobDetails answered without a pipeline context');
  return context;
}

/**
 * Reads an execution's trigger, revisions, timings and failed action. A failing API call, or one
 * that has not answered by `until`, leaves its fields out (and names them in `missing`) instead of
 * failing the notification.
 */
export async function readExecution(pipelineName: string, executionId: string, focus: { stage: string; action: string } | undefined, until: number)
  : Promise<ExecutionDetails> {
  const [execution, actions] = await Promise.all([
    attempt('GetPipelineExecution', () => getExecution(pipelineName, executionId, until)),
    attempt('ListActionExecutions', () => listActionExecutions(pipelineName, executionId, until)),
  ]);
  const missing: string[] = [];
  if (!execution) missing.push('trigger and source revisions');
  if (!actions) missing.push('timings and action details');
  const starts = (actions ?? []).map(a => a.startTime).filter(isDate);
  const updates = (actions ?? []).map(a => a.lastUpdateTime).filter(isDate);
  return {
    trigger: execution ? describeTrigger(execution) : undefined,
    revisions: (execution?.artifactRevisions ?? []).map(r => ({
      artifact: r.name,
      revisionId: r.revisionId,
      summary: commitMessage(r.revisionSummary),
      url: r.revisionUrl,
      codeCommitRepository: codeCommitRepositoryOf(r, actions ?? []),
    })),
    startTime: starts.length ? new Date(Math.min(...starts.map(d => d.getTime()))) : undefined,
    lastUpdateTime: updates.length ? new Date(Math.max(...updates.map(d => d.getTime()))) : undefined,
    failure: failedAction(actions ?? []),
    focus: focus ? latestStarted((actions ?? []).filter(a => a.stageName === focus.stage && a.actionName === focus.action)) : undefined,
    missing,
  };
}

async function attempt<T>(api: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    log.warn('pipeline API call failed; the message leaves its fields out', { api, error: reasonOf(err) });
    return undefined;
  }
}

async function getExecution(pipelineName: string, pipelineExecutionId: string, until: number): Promise<PipelineExecution> {
  const out = await bounded('GetPipelineExecution', until, abortSignal =>
    codepipeline().send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId }), { abortSignal }));
  if (!out.pipelineExecution) throw new Error('GetPipelineExecution answered without an execution');
  return out.pipelineExecution;
}

async function listActionExecutions(pipelineName: string, pipelineExecutionId: string, until: number): Promise<ActionExecutionDetail[]> {
  const all: ActionExecutionDetail[] = [];
  const seen = new Set<string>();
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await bounded('ListActionExecutions', until, abortSignal => codepipeline().send(new ListActionExecutionsCommand({
      pipelineName, filter: { pipelineExecutionId }, maxResults: 100, nextToken,
    }), { abortSignal }));
    all.push(...(out.actionExecutionDetails ?? []));
    nextToken = out.nextToken;
    if (!nextToken) break;
    if (seen.has(nextToken)) throw new Error('ListActionExecutions answered a page token it had answered before');
    seen.add(nextToken);
  }
  return all;
}

function describeTrigger(execution: PipelineExecution): string | undefined {
  const type = execution.trigger?.triggerType;
  if (!type) return undefined;
  const detail = execution.trigger?.triggerDetail;
  // An ARN detail (user, role, rule) reads best as its last path segment.
  const who = detail?.startsWith('arn:') ? detail.split(/[:/]/).pop() : detail;
  return who ? `${type} (${who.slice(0, 100)})` : type;
}

/** CodeStar connection sources put a JSON object in the summary; others put the message itself. */
function commitMessage(summary: string | undefined): string | undefined {
  if (!summary?.startsWith('{')) return summary;
  try {
    const parsed = JSON.parse(summary) as { CommitMessage?: unknown };
    return typeof parsed.CommitMessage === 'string' ? parsed.CommitMessage : summary;
  } catch {
    return summary;
  }
}

/**
 * The CodeCommit repository a revision came from: the `RepositoryName` of the CodeCommit source
 * action that produced the revision's artifact, or else the repository named in its console URL.
 */
function codeCommitRepositoryOf(revision: ArtifactRevision, actions: ActionExecutionDetail[]): string | undefined {
  const source = actions.find(a => a.input?.actionTypeId?.category === 'Source'
    && a.input.actionTypeId.provider === 'CodeCommit'
    && a.output?.outputArtifacts?.some(artifact => artifact.name === revision.name));
  return source?.input?.configuration?.RepositoryName ?? repositoryInConsoleUrl(revision.revisionUrl);
}

/** A CodeCommit console URL names the repository: `.../codecommit/...repositories/<name>/commit/<id>`. */
export function repositoryInConsoleUrl(url: string | undefined): string | undefined {
  const match = url?.match(/^https:\/\/[a-z0-9.-]*console\.aws\.amazon\.com\/(?:codesuite\/)?codecommit\/(?:.*?\/)?repositor(?:y|ies)\/([^/?#]+)\/commit\//);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}

function failedAction(actions: ActionExecutionDetail[]): ActionDetail | undefined {
  const failed = latest(actions.filter(a => a.status === 'Failed'));
  if (!failed) return undefined;
  const result = failed.output?.executionResult;
  return {
    stage: failed.stageName ?? 'unknown stage',
    action: failed.actionName ?? 'unknown action',
    summary: result?.errorDetails?.message ?? result?.externalExecutionSummary,
    url: result?.externalExecutionUrl ?? logStreamUrl(result?.logStreamARN),
  };
}

/** A CloudWatch console link for an action's log stream ARN. */
export function logStreamUrl(arn: string | undefined): string | undefined {
  const match = arn?.match(/^arn:[^:]+:logs:([^:]+):\d+:log-group:(.+):log-stream:(.+)$/);
  if (!match) return undefined;
  const [, region, group, stream] = match;
  const encode = (s: string) => encodeURIComponent(encodeURIComponent(s)).replace(/%/g, '$');
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${encode(group)}/log-events/${encode(stream)}`;
}

function latest(actions: ActionExecutionDetail[]): ActionExecutionDetail | undefined {
  return [...actions].sort((a, b) => (b.lastUpdateTime?.getTime() ?? 0) - (a.lastUpdateTime?.getTime() ?? 0))[0];
}

/** The action execution started last: a retried stage starts a new execution of the same action. */
function latestStarted(actions: ActionExecutionDetail[]): ActionExecutionDetail | undefined {
  return [...actions].sort((a, b) => (b.startTime?.getTime() ?? 0) - (a.startTime?.getTime() ?? 0))[0];
}

function isDate(value: Date | undefined): value is Date {
  return value instanceof Date && !isNaN(value.getTime());
}
