import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PipelineEvent, SlackOutcome } from './pipeline-event';
import { SlackWebhook } from './slack-webhook';
import { PipelineStage, RenderActionsOptions } from '../core/pipeline-stage';
import { createBundledFunction } from '../core/private/bundled-function';
import { createDeadLetterQueue, lambdaTargetWithDeadLetterQueue, sendFailedInvocationsTo } from '../core/private/event-delivery';
import { lambdaStageAction } from '../core/private/stage-action';
import { invalid, requireDurationInRange, requireMatch, requireNonEmptyArray, requireNonEmptyString, validateProps } from '../core/private/validation';

/** A Slack channel (an incoming webhook) and the outcomes it receives. */
export interface SlackChannel {
  /** A name for the channel in logs and job summaries, e.g. `releases`. */
  readonly name: string;
  /** Where the channel's incoming-webhook URL is kept. */
  readonly webhook: SlackWebhook;
  /**
   * The outcomes posted to this channel.
   * @default - every outcome
   */
  readonly outcomes?: SlackOutcome[];
}

/**
 * Properties of a `SlackNotifyStage`: the Slack channels to post to and what to post, from the
 * stage's place in a pipeline (as an action), from the events of `pipeline`, or both.
 */
export interface SlackNotifyStageProps {
  /** The channels to post to, each with the outcomes it receives. */
  readonly channels: SlackChannel[];
  /**
   * The pipeline whose events (from EventBridge) are posted, whatever stage they happen in. It
   * must be in this stack's account and region (checked at synth): EventBridge delivers a
   * pipeline's events in its own account and region only.
   * @default - no event notifications: the stage only posts where it is placed as an action (and
   * must then be placed in a pipeline)
   */
  readonly pipeline?: codepipeline.IPipeline;
  /**
   * The events of `pipeline` to post.
   * @default [PipelineEvent.EXECUTION_FAILED, PipelineEvent.EXECUTION_STOPPED, PipelineEvent.EXECUTION_SUPERSEDED]
   */
  readonly events?: PipelineEvent[];
  /**
   * Text added to the message the pipeline action posts. It may contain CodePipeline variables,
   * such as `#{SourceVariables.CommitMessage}`, which CodePipeline resolves.
   * @default - no added text
   */
  readonly actionText?: string;
  /**
   * Text added to the messages of pipeline events.
   * @default - no added text
   */
  readonly eventText?: string;
  /**
   * CodeCommit repositories whose commits' authors are shown. CodePipeline reports no commit
   * author, so for a revision from one of these repositories (matched by the repository name of
   * its CodeCommit source action) the function reads it with `codecommit:GetCommit`, which it may
   * call on these repositories only. The repositories must be in this stack's account and region
   * (a pipeline's source actions run in the pipeline's region).
   * @default - no author lookup: revisions show their commit id and message
   */
  readonly codeCommitRepositories?: codecommit.IRepository[];
  /**
   * Whether the pipeline action fails when the message cannot be posted. By default it succeeds,
   * with a summary saying that the post failed, so a Slack outage never blocks a release.
   * @default false
   */
  readonly failPipelineOnError?: boolean;
  /**
   * Hosts besides Slack's own that the webhooks may point at, e.g. a Slack-compatible chat server
   * (`chat.example.com`). Host names only: no IP address, port, path or wildcard. Whatever the
   * hosts, the function refuses a webhook that is not `https`, names an IP address, or resolves to
   * a private, loopback or link-local address, before connecting to it.
   * @default - only Slack's webhook hosts: `hooks.slack.com` and `hooks.slack-gov.com`
   */
  readonly allowedWebhookHosts?: string[];
  /**
   * How long one request to Slack may take before it is abandoned and retried.
   * @default Duration.seconds(10)
   */
  readonly requestTimeout?: Duration;
  /**
   * The queue that receives events the function could not post, after Lambda's and EventBridge's retries.
   * @default - an encrypted queue that keeps messages for 14 days
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * Retention of the function's logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

const DEFAULT_EVENTS = [PipelineEvent.EXECUTION_FAILED, PipelineEvent.EXECUTION_STOPPED, PipelineEvent.EXECUTION_SUPERSEDED];
const ALL_OUTCOMES = [SlackOutcome.SUCCEEDED, SlackOutcome.FAILED, SlackOutcome.CANCELLED, SlackOutcome.APPROVAL];
/** CodePipeline limits an action's user parameters to this many characters. */
const MAX_USER_PARAMETERS = 1000;
const MAX_ATTEMPTS = 4;

/**
 * Posts pipeline status to Slack: as an action placed anywhere in a pipeline
 * (`addToPipeline`, `addToStage`, `PipelineStageStep`), and from the pipeline's EventBridge events
 * (failed, stopped, superseded, succeeded executions, failed actions, approvals waiting), which
 * arrive whatever stage they happen in.
 */
export class SlackNotifyStage extends PipelineStage {
  /** The function that posts to Slack. */
  public readonly function: lambda.IFunction;
  /** The queue of notifications that could not be posted. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** The EventBridge rules on `pipeline`'s events (empty without `pipeline`). */
  public readonly rules: events.Rule[] = [];

  private readonly fn: lambda.Function;
  private readonly channels: SlackChannel[];
  private readonly failPipelineOnError: boolean;
  private readonly actionText?: string;
  private readonly pipelinesRead = new Set<string>();
  private pipelineReadPolicy?: iam.Policy;
  private placed = false;

  constructor(scope: Construct, id: string, props: SlackNotifyStageProps) {
    super(scope, id);
    validateProps(this, 'SlackNotifyStage', () => validate(this, props));
    this.channels = props.channels;
    // Without a pipeline to watch and without a place in one, the stage would deploy a function nothing invokes.
    this.node.addValidation({
      validate: () => props.pipeline || this.placed ? [] : [
        `SlackNotifyStage at ${this.node.path} would post nothing: it has no \`pipeline\` and was never placed in a pipeline. `
        + 'Give `pipeline` for event notifications, or place it with addToPipeline, addToStage or PipelineStageStep',
      ],
    });
    this.failPipelineOnError = props.failPipelineOnError ?? false;
    this.actionText = props.actionText;

    this.fn = createBundledFunction(this, 'Function', {
      asset: 'slack-notify',
      handler: 'handler',
      description: `Posts pipeline status to Slack (${this.node.path})`,
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
    });
    this.function = this.fn;
    const channels = props.channels.map((channel, index) => ({
      name: channel.name,
      webhook: channel.webhook._bind(this, `WebhookParameter${index}`, this.fn),
      outcomes: channel.outcomes ?? ALL_OUTCOMES,
    }));
    const repositories = props.codeCommitRepositories ?? [];
    if (repositories.length) {
      this.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['codecommit:GetCommit'], resources: repositories.map(r => r.repositoryArn) }));
    }
    this.fn.addEnvironment('SLACK_NOTIFY_CONFIG', Stack.of(this).toJsonString({
      channels,
      codeCommitRepositories: repositories.length ? repositories.map(r => ({ name: r.repositoryName, arn: r.repositoryArn })) : undefined,
      eventText: props.eventText,
      allowedWebhookHosts: props.allowedWebhookHosts?.length ? props.allowedWebhookHosts : undefined,
      requestTimeoutMs: (props.requestTimeout ?? Duration.seconds(10)).toMilliseconds(),
      maxAttempts: MAX_ATTEMPTS,
    }));

    this.deadLetterQueue = props.deadLetterQueue ?? createDeadLetterQueue(this);
    sendFailedInvocationsTo(this.fn, this.deadLetterQueue);

    if (props.pipeline) this.watch(props.pipeline, props.events ?? DEFAULT_EVENTS);
  }

  protected renderActions(options: RenderActionsOptions): codepipeline.IAction[] {
    validateProps(this, 'SlackNotifyStage', () => {
      if (!this.channels.some(c => (c.outcomes ?? ALL_OUTCOMES).includes(SlackOutcome.SUCCEEDED))) {
        invalid('channels', 'include one that receives SlackOutcome.SUCCEEDED for the stage to be placed in a pipeline', this.channels.map(c => c.name));
      }
    });
    if (!this.placed) {
      // GetJobDetails tells the function its pipeline, stage and execution; it has no resource-level permissions.
      this.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['codepipeline:GetJobDetails'], resources: ['*'] }));
      Validations.of(this.fn).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'CodePipeline job APIs (GetJobDetails, PutJobSuccessResult, PutJobFailureResult) support no resource-level permissions.',
      });
      this.placed = true;
    }
    return [lambdaStageAction({
      actionName: options.actionName,
      runOrder: options.runOrder,
      variablesNamespace: options.variablesNamespace,
      lambda: this.fn,
      userParametersString: userParameters(this.failPipelineOnError, this.actionText),
    }, pipeline => this.grantPipelineRead(pipeline))];
  }

  private watch(pipeline: codepipeline.IPipeline, chosen: PipelineEvent[]): void {
    this.grantPipelineRead(pipeline);
    const target = lambdaTargetWithDeadLetterQueue(this.fn, this.deadLetterQueue, Duration.hours(2));
    const executionStates = chosen.filter(e => e._detailType === PipelineEvent.EXECUTION_FAILED._detailType).map(e => e._state);
    if (executionStates.length) {
      this.rules.push(this.rule('ExecutionRule', pipeline, target, PipelineEvent.EXECUTION_FAILED._detailType, { state: unique(executionStates) }));
    }
    if (chosen.includes(PipelineEvent.ACTION_FAILED)) {
      this.rules.push(this.rule('ActionFailedRule', pipeline, target, PipelineEvent.ACTION_FAILED._detailType, { state: ['FAILED'] }));
    }
    if (chosen.includes(PipelineEvent.APPROVAL_WAITING)) {
      this.rules.push(this.rule('ApprovalRule', pipeline, target, PipelineEvent.APPROVAL_WAITING._detailType, {
        state: [PipelineEvent.APPROVAL_WAITING._state],
        type: { category: [PipelineEvent.APPROVAL_WAITING._category] },
      }));
    }
  }

  private rule(id: string, pipeline: codepipeline.IPipeline, target: events.IRuleTarget, detailType: string,
    detail: { [key: string]: unknown }): events.Rule {
    return new events.Rule(this, id, {
      description: `Posts ${pipeline.node.path} events to Slack`,
      eventPattern: {
        source: ['aws.codepipeline'],
        detailType: [detailType],
        resources: [pipeline.pipelineArn],
        detail,
      },
      targets: [target],
    });
  }

  /**
   * Lets the function read one pipeline's executions. The statements go in a policy of their own:
   * a pipeline that invokes the function depends on it, so the function (and the role policy it
   * depends on) must not depend on the pipeline.
   */
  private grantPipelineRead(pipeline: codepipeline.IPipeline): void {
    const key = Token.isUnresolved(pipeline.pipelineArn) ? pipeline.node.path : pipeline.pipelineArn;
    if (this.pipelinesRead.has(key)) return;
    this.pipelinesRead.add(key);
    this.pipelineReadPolicy ??= new iam.Policy(this, 'PipelineReadPolicy', { roles: [this.fn.role!] });
    this.pipelineReadPolicy.addStatements(new iam.PolicyStatement({
      actions: ['codepipeline:GetPipelineExecution', 'codepipeline:ListActionExecutions'],
      resources: [pipeline.pipelineArn],
    }));
  }

}

/** A JSON settings line, then the user's text verbatim (CodePipeline substitutes variables in it). */
function userParameters(failOnError: boolean, text: string | undefined): string {
  const settings = JSON.stringify({ v: 1, failOnError, executionId: '#{codepipeline.PipelineExecutionId}' });
  return text ? `${settings}\n${text}` : settings;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function validateRepositories(scope: Construct, repositories: codecommit.IRepository[] | undefined): void {
  requireNonEmptyArray('codeCommitRepositories', repositories);
  const { account, region } = Stack.of(scope);
  const names = new Set<string>();
  (repositories ?? []).forEach((repository, i) => {
    const name = repository.repositoryName;
    if (!Token.isUnresolved(name)) {
      // The function finds a revision's repository by its name.
      if (names.has(name)) invalid(`codeCommitRepositories[${i}]`, 'name each repository once', name);
      names.add(name);
    }
    const repositoryAccount = repository.env.account;
    if (!Token.isUnresolved(account) && !Token.isUnresolved(repositoryAccount) && repositoryAccount !== account) {
      invalid(`codeCommitRepositories[${i}]`, `be in this stack's account ${account} (CodeCommit has no resource policies to allow another account)`,
        repository.repositoryArn);
    }
    const repositoryRegion = repository.env.region;
    if (!Token.isUnresolved(region) && !Token.isUnresolved(repositoryRegion) && repositoryRegion !== region) {
      invalid(`codeCommitRepositories[${i}]`, `be in this stack's region ${region} (the function reads commits in its own region; `
        + 'a pipeline\'s source actions run in the pipeline\'s region)', repository.repositoryArn);
    }
  });
}

/** EventBridge delivers a pipeline's events in its own account and region only: a rule elsewhere never fires. */
function validatePipeline(scope: Construct, pipeline: codepipeline.IPipeline | undefined): void {
  if (!pipeline) return;
  const stack = Stack.of(scope);
  const name = Token.isUnresolved(pipeline.pipelineArn) ? pipeline.node.path : pipeline.pipelineArn;
  for (const part of ['account', 'region'] as const) {
    const mine = stack[part];
    const theirs = pipeline.env[part];
    if (!Token.isUnresolved(mine) && !Token.isUnresolved(theirs) && mine !== theirs) {
      invalid('pipeline', `be in this stack's ${part} ${mine}: EventBridge delivers a pipeline's events in its own account and region only, `
        + `so a rule here would never fire (the pipeline is in ${part} ${theirs})`, name);
    }
  }
}

/** Host names as a webhook's URL has them: lower case, with a dot, no IP address, port, path or wildcard. */
const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

function validateAllowedHosts(hosts: string[] | undefined): void {
  requireNonEmptyArray('allowedWebhookHosts', hosts);
  (hosts ?? []).forEach((host, i) => {
    requireMatch(`allowedWebhookHosts[${i}]`, host, HOST_NAME,
      'be a lower-case host name such as chat.example.com (no scheme, IP address, port, path or wildcard)');
    if (!Token.isUnresolved(host) && (host === 'localhost' || host.endsWith('.localhost'))) {
      invalid(`allowedWebhookHosts[${i}]`, 'not be a loopback name', host);
    }
  });
}

function validate(scope: Construct, props: SlackNotifyStageProps): void {
  requireNonEmptyArray('channels', props.channels);
  const names = new Set<string>();
  props.channels.forEach((channel, i) => {
    requireMatch(`channels[${i}].name`, channel.name, /^[A-Za-z0-9#_.-]{1,64}$/, 'be 1 to 64 characters of A-Z, a-z, 0-9, #, _, . and -');
    if (names.has(channel.name)) invalid(`channels[${i}].name`, 'be unique', channel.name);
    if (typeof channel.webhook?._bind !== 'function') {
      invalid(`channels[${i}].webhook`, 'be a SlackWebhook: SlackWebhook.fromSecret(...), fromSecureStringParameter(...) or fromSecureStringParameterName(...)',
        channel.webhook === undefined ? undefined : 'not a SlackWebhook');
    }
    names.add(channel.name);
    requireNonEmptyArray(`channels[${i}].outcomes`, channel.outcomes);
  });
  requireNonEmptyArray('events', props.events);
  if (props.events && !props.pipeline) throw new Error('`events` must be given together with `pipeline`, got: no `pipeline`');
  if (props.pipeline) {
    for (const event of props.events ?? DEFAULT_EVENTS) {
      const received = props.channels.some(c => (c.outcomes ?? ALL_OUTCOMES).includes(event.outcome));
      if (!received) invalid('events', `only include events some channel receives (no channel receives ${event.outcome})`, event.name);
    }
  }
  requireNonEmptyString('actionText', props.actionText);
  requireNonEmptyString('eventText', props.eventText);
  validateRepositories(scope, props.codeCommitRepositories);
  validatePipeline(scope, props.pipeline);
  validateAllowedHosts(props.allowedWebhookHosts);
  if (props.actionText !== undefined && !Token.isUnresolved(props.actionText)) {
    const room = MAX_USER_PARAMETERS - userParameters(true, undefined).length - 1;
    if (props.actionText.length > room) invalid('actionText', `be at most ${room} characters`, `${props.actionText.length} characters`);
  }
  requireDurationInRange('requestTimeout', props.requestTimeout, Duration.seconds(1), Duration.seconds(30));
}
