import './request-timeout';
/*
 * Fault injection for SlackNotifyStage: the shipped bundle (assets/lambda-src/slack-notify) runs
 * against moto, with a real local Slack server, while the emulator's proxy makes AWS calls fail:
 * refused, throttled, 5xx, hung, dropped, applied-then-dropped. CodePipeline's side of the job
 * (which result it took, what ListActionExecutions says about the action) is modelled here, since
 * moto has no CodePipeline job APIs. Every scenario checks that the job has exactly one result (or,
 * where stated, what Lambda's retries leave), how often Slack was posted to, that every message
 * keeps Block Kit's limits, and that no text leaving the function holds the webhook.
 *
 * Lambda's asynchronous retries are played by invoking the handler again with the same event, in
 * the same warm container (the usual case) or in another one (another function name: a cold start).
 */
// Hung calls end at 3 x FAULT_REQUEST_TIMEOUT_MS (the per-call limit, request-timeout.ts) instead of 3 x 5 s.

import * as fs from 'fs';
import * as net from 'net';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { PipelineEvent, SlackNotifyStage, SlackOutcome, SlackWebhook } from '../../src';
import type { ScriptedReply } from '../emulator/aws-protocol';
import { describeWithEmulator, Emulator, handlerAsset } from '../emulator/harness';
import { TemplateResolver } from '../emulator/template-resolver';
import { blockKitProblems } from '../lambda-src/slack-notify/block-kit';
import { FakeSlack, SlackReply } from '../lambda-src/slack-notify/slack-server';
import { actionExecutionDetails, pipelineWithSource } from '../slack-notify/fixtures';

const HANDLER = handlerAsset('slack-notify', 'handler');
/** The secret part of the webhook: it must never appear in a log line, a job result or an error. */
const TOKEN = 'fAuLt-SuItE-7q2x9-token';
const WEBHOOK_PATH = `/services/T0FAULTS/B0FAULTS/${TOKEN}`;
const JOB_ID = '5b3f2c1d-fault-job';
const EXECUTION_ID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const COMMIT = '9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b';
const PARAMETER_NAME = '/slack/releases';
const huge = (c: string) => c.repeat(10_000);

// ---------------------------------------------------------------------------------------------
// The construct's configuration, as it synthesizes it
// ---------------------------------------------------------------------------------------------

type Variant = 'secret' | 'parameter';
interface Synthesized { readonly config: any; readonly userParameters: string }
const synthesized = new Map<string, Synthesized>();

function synthesizedConfig(variant: Variant, failPipelineOnError: boolean): Synthesized {
  const key = `${variant}:${failPipelineOnError}`;
  if (!synthesized.has(key)) {
    const stack = new Stack(new App(), 'Stack', { env: { account: '123456789012', region: 'us-east-1' } });
    const { pipeline, repository } = pipelineWithSource(stack);
    const webhook = variant === 'secret'
      ? SlackWebhook.fromSecret(new secretsmanager.Secret(stack, 'Webhook'), 'url')
      : SlackWebhook.fromSecureStringParameterName(PARAMETER_NAME);
    const notify = new SlackNotifyStage(stack, 'Notify', {
      channels: [{ name: 'releases', webhook, outcomes: [SlackOutcome.SUCCEEDED, SlackOutcome.FAILED] }],
      pipeline,
      events: [PipelineEvent.EXECUTION_FAILED],
      failPipelineOnError,
      codeCommitRepositories: [repository],
    });
    notify.addToPipeline(pipeline, { stageName: 'Announce' });
    const template = Template.fromStack(stack);
    const fn = new TemplateResolver(template.toJSON(), 'us-east-1').functions().find(f => f.logicalId.startsWith('NotifyFunction'))!;
    const [resource] = Object.values(template.findResources('AWS::CodePipeline::Pipeline')) as any[];
    const userParameters = resource.Properties.Stages.find((s: any) => s.Name === 'Announce').Actions[0].Configuration.UserParameters;
    synthesized.set(key, { config: JSON.parse(fn.environment.SLACK_NOTIFY_CONFIG), userParameters });
  }
  return structuredClone(synthesized.get(key)!);
}

// ---------------------------------------------------------------------------------------------
// CodePipeline's side of the job, and the faults injected into each operation
// ---------------------------------------------------------------------------------------------

/** A fault for one call: a scripted reply, or `taken-elsewhere` (another delivery's result was taken first: InvalidJobStateException). */
type Fault = ScriptedReply | 'taken-elsewhere';
type Operation = `${string}:${string}`;

const refused = (code = 'AccessDeniedException'): ScriptedReply => ({ error: { code, message: 'User is not authorized to perform this operation', status: 400 } });
const throttled: ScriptedReply = { error: { code: 'ThrottlingException', message: 'Rate exceeded', status: 400 } };
const serverError: ScriptedReply = { error: { code: 'InternalFailure', message: 'We encountered an internal error', status: 500 } };
const hang: ScriptedReply = { fault: 'hang' };
const drop: ScriptedReply = { fault: 'drop' };
const appliedThenDrop: ScriptedReply = { fault: 'applied-then-drop' };
const invalidJobState: ScriptedReply = { error: { code: 'InvalidJobStateException', message: 'The job is not in progress', status: 400 } };

/** What the scripts answer when no fault is injected; hostile scenarios override parts of it. */
interface Answers {
  jobContext: Record<string, any>;
  execution: Record<string, any>;
  author: Record<string, any>;
}

function defaultAnswers(): Answers {
  return {
    jobContext: { pipelineName: 'release', pipelineExecutionId: EXECUTION_ID, stage: { name: 'Announce' }, action: { name: 'Announce' } },
    execution: {
      pipelineName: 'release',
      pipelineExecutionId: EXECUTION_ID,
      status: 'InProgress',
      trigger: { triggerType: 'CloudWatchEvent' },
      artifactRevisions: [{ name: 'Source', revisionId: COMMIT, revisionSummary: 'Add health check', revisionUrl: `https://example.com/commit/${COMMIT}` }],
    },
    author: { name: 'Dana Dev', email: 'dana@example.com', date: '1741082400 +0000' },
  };
}

/** One job as CodePipeline sees it: the results it took, in order. */
class PipelineJobModel {
  public readonly accepted: Array<{ operation: string; message: string }> = [];
  public answers = defaultAnswers();
  private readonly faults = new Map<Operation, Fault[]>();
  private readonly always = new Map<Operation, Fault>();

  /** The next calls of `operation` get these faults, one each, before it answers normally. */
  public inject(operation: Operation, ...faults: Fault[]): void {
    this.faults.set(operation, [...(this.faults.get(operation) ?? []), ...faults]);
  }

  /** Every call of `operation` gets this fault. */
  public failAlways(operation: Operation, fault: Fault): void {
    this.always.set(operation, fault);
  }

  public nextFault(operation: Operation): Fault | undefined {
    return this.faults.get(operation)?.shift() ?? this.always.get(operation);
  }

  /** How ListActionExecutions shows the notify action: InProgress until a result was taken. */
  public get actionStatus(): string {
    const first = this.accepted[0];
    if (!first) return 'InProgress';
    return first.operation === 'PutJobSuccessResult' ? 'Succeeded' : 'Failed';
  }

  public install(emulator: Emulator): void {
    const reply = (operation: Operation, normal: (input: any) => ScriptedReply | undefined) => {
      const [service, name] = operation.split(':');
      emulator.script(service, name, (input: any) => {
        const fault = this.nextFault(operation);
        if (fault === undefined) return normal(input);
        if (fault === 'taken-elsewhere') return normal(input);
        return fault;
      });
    };
    reply('codepipeline:GetJobDetails', () => ({ body: { jobDetails: { id: JOB_ID, data: { pipelineContext: this.answers.jobContext } } } }));
    reply('codepipeline:GetPipelineExecution', () => ({ body: { pipelineExecution: this.answers.execution } }));
    reply('codepipeline:ListActionExecutions', () => ({ body: { actionExecutionDetails: this.actionExecutions() } }));
    reply('codecommit:GetCommit', () => ({ body: { commit: { commitId: COMMIT, message: 'Add health check', author: this.answers.author, committer: this.answers.author } } }));
    // moto answers these itself (the secret and the parameter are created in it).
    reply('secretsmanager:GetSecretValue', () => undefined);
    reply('ssm:GetParameter', () => undefined);
    for (const operation of ['PutJobSuccessResult', 'PutJobFailureResult'] as const) {
      emulator.script('codepipeline', operation, (input: any) => this.result(operation, input));
    }
  }

  /** A job result: taken once; InvalidJobStateException once the job has one. */
  private result(operation: 'PutJobSuccessResult' | 'PutJobFailureResult', input: any): ScriptedReply {
    const fault = this.nextFault(`codepipeline:${operation}`);
    const message = operation === 'PutJobSuccessResult' ? input.executionDetails?.summary ?? '' : input.failureDetails?.message;
    if (fault === 'taken-elsewhere' && !this.accepted.length) this.accepted.push({ operation, message: 'another delivery\'s result' });
    if (this.accepted.length) return invalidJobState;
    // Not taken: an error, a hang or a dropped connection.
    if (fault !== undefined && fault !== 'taken-elsewhere' && fault.fault !== 'applied-then-drop') return fault;
    this.accepted.push({ operation, message });
    return fault ? { fault: 'applied-then-drop', body: {} } : { body: {} };
  }

  private actionExecutions(): any[] {
    return actionExecutionDetails(this.actionStatus);
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

interface Scenario {
  readonly name: string;
  /** Where the webhook is kept. @default 'secret' */
  readonly variant?: Variant;
  readonly failPipelineOnError?: boolean;
  /** Faults for the next calls of an operation, one each. */
  readonly inject?: Array<[Operation, ...Fault[]]>;
  /** A fault for every call of an operation. */
  readonly failAlways?: Array<[Operation, Fault]>;
  /** Slack's answers, in order (the last repeats). @default 200 ok */
  readonly slack?: SlackReply[];
  /** Where Lambda's retries run. @default 'same' */
  readonly retryIn?: 'same' | 'other';
  /** Changes to CodePipeline's and CodeCommit's answers, the action's text, the function's configuration or the webhook. */
  readonly hostile?: (answers: Answers) => void;
  readonly actionText?: string;
  readonly configure?: (config: any) => void;
  readonly webhook?: (slack: FakeSlack) => string;
  /** Deliveries of the job after the first one settled, and where. */
  readonly deliverAgain?: 'same' | 'other';
  readonly concurrent?: boolean;
  readonly expect: {
    /** The one result CodePipeline took, or 'none' where Lambda's retries ran out (documented). */
    readonly result: 'success' | 'failure' | 'none';
    /** Requests Slack received. */
    readonly posts: number;
    /** Invocations in all (first one and Lambda's retries). @default 1 */
    readonly invocations?: number;
    /** The names of the errors the invocations threw, in order (for Lambda's retries). @default - not checked */
    readonly errors?: string[];
    readonly message?: RegExp;
  };
}

const READS: Array<{ operation: Operation; variant?: Variant; posts: number; message?: RegExp }> = [
  { operation: 'codepipeline:GetJobDetails', posts: 1, message: /^posted to releases$/ },
  { operation: 'codepipeline:ListActionExecutions', posts: 1, message: /^posted to releases$/ },
  { operation: 'codepipeline:GetPipelineExecution', posts: 1, message: /^posted to releases$/ },
  { operation: 'codecommit:GetCommit', posts: 1, message: /^posted to releases$/ },
  { operation: 'secretsmanager:GetSecretValue', posts: 0, message: /^Slack notification failed, the pipeline continues: posting to releases failed: could not read the webhook from secret arn:/ },
  { operation: 'ssm:GetParameter', variant: 'parameter', posts: 0, message: /^Slack notification failed, the pipeline continues: posting to releases failed: could not read the webhook from parameter \/slack\/releases/ },
];
const READ_FAULTS: Array<[string, Fault]> = [
  ['refused', refused()], ['throttled', throttled], ['answered 5xx', serverError], ['hung', hang], ['dropped', drop],
];

const readScenarios: Scenario[] = READS.flatMap(read => READ_FAULTS.map(([what, fault]): Scenario => ({
  name: `${read.operation} ${what} on every call: the message degrades, the job succeeds once`,
  variant: read.variant,
  failAlways: [[read.operation, fault]],
  expect: { result: 'success', posts: read.posts, message: read.message },
})));

const reportScenarios: Scenario[] = [
  ...([
    ['throttled', throttled, 'ThrottlingException'], ['answered 5xx', serverError, 'InternalFailure'],
    // A hung call ends at the SDK's request limit (awsClient), before the handler's own report limit.
    ['hung', hang, 'TimeoutError'], ['dropped', drop, 'TimeoutError'],
  ] as Array<[string, Fault, string]>).map(([what, fault, error]): Scenario => ({
    name: `PutJobSuccessResult ${what} once: thrown (${error}) for Lambda's retry, which reports without posting again`,
    inject: [['codepipeline:PutJobSuccessResult', fault]],
    expect: { result: 'success', posts: 1, invocations: 2, errors: [error], message: /^posted to releases$/ },
  })),
  {
    name: 'PutJobSuccessResult applied, then the connection dropped: the retry finds the job done and posts nothing again',
    inject: [['codepipeline:PutJobSuccessResult', appliedThenDrop]],
    expect: { result: 'success', posts: 1, invocations: 2, message: /^posted to releases$/ },
  },
  {
    name: 'PutJobSuccessResult applied, then dropped, the retry in another container: ListActionExecutions shows the job done, nothing posted again',
    inject: [['codepipeline:PutJobSuccessResult', appliedThenDrop]],
    retryIn: 'other',
    expect: { result: 'success', posts: 1, invocations: 2 },
  },
  {
    name: 'PutJobSuccessResult throttled, the retry in another container: the result is reported; posting again is the documented cost',
    inject: [['codepipeline:PutJobSuccessResult', throttled]],
    retryIn: 'other',
    expect: { result: 'success', posts: 2, invocations: 2 },
  },
  {
    name: 'PutJobSuccessResult answered InvalidJobStateException (another delivery\'s result was taken): nothing more',
    inject: [['codepipeline:PutJobSuccessResult', 'taken-elsewhere']],
    expect: { result: 'success', posts: 1, invocations: 1, message: /^another delivery's result$/ },
  },
  {
    name: 'PutJobSuccessResult refused (400): the refusal is the job\'s failure, reported once',
    inject: [['codepipeline:PutJobSuccessResult', refused('ValidationException')]],
    expect: { result: 'failure', posts: 1, message: /^reporting success failed: ValidationException: User is not authorized/ },
  },
  {
    name: 'PutJobSuccessResult refused, then PutJobFailureResult hung: the retry reports the failure, without posting again',
    inject: [['codepipeline:PutJobSuccessResult', refused('ValidationException'), refused('ValidationException')], ['codepipeline:PutJobFailureResult', hang]],
    expect: { result: 'failure', posts: 1, invocations: 2, errors: ['TimeoutError'], message: /^reporting success failed: ValidationException/ },
  },
  {
    name: 'PutJobSuccessResult throttled on every call of every invocation: no result once Lambda\'s retries run out (documented: the job times out)',
    failAlways: [['codepipeline:PutJobSuccessResult', throttled]],
    expect: { result: 'none', posts: 1, invocations: 3, errors: Array(3).fill('ThrottlingException') },
  },
  ...([['throttled', throttled], ['answered 5xx', serverError], ['hung', hang], ['dropped', drop]] as Array<[string, Fault]>).map(([what, fault]): Scenario => ({
    name: `failPipelineOnError, PutJobFailureResult ${what} once: the retry reports the failure once (the failed post is tried again)`,
    failPipelineOnError: true,
    slack: [{ status: 400, body: 'invalid_payload' }],
    inject: [['codepipeline:PutJobFailureResult', fault]],
    expect: { result: 'failure', posts: 2, invocations: 2, message: /^Error: Slack notification failed: posting to releases failed: Slack rejected the message: 400 invalid_payload$/ },
  })),
  {
    name: 'failPipelineOnError, PutJobFailureResult applied then dropped: the retry finds the job failed and posts nothing',
    failPipelineOnError: true,
    slack: [{ status: 400, body: 'invalid_payload' }],
    inject: [['codepipeline:PutJobFailureResult', appliedThenDrop]],
    retryIn: 'other',
    expect: { result: 'failure', posts: 1, invocations: 2 },
  },
  {
    name: 'failPipelineOnError, PutJobFailureResult answered InvalidJobStateException: nothing more',
    failPipelineOnError: true,
    slack: [{ status: 400, body: 'invalid_payload' }],
    inject: [['codepipeline:PutJobFailureResult', 'taken-elsewhere']],
    expect: { result: 'failure', posts: 1, invocations: 1 },
  },
];

const duplicateScenarios: Scenario[] = [
  { name: 'the job delivered again to the same container: no second post, no second result', deliverAgain: 'same', expect: { result: 'success', posts: 1, invocations: 2 } },
  { name: 'the job delivered again to another container: no second post, no second result', deliverAgain: 'other', expect: { result: 'success', posts: 1, invocations: 2 } },
  { name: 'the job delivered twice at once to one container: one post, one result', concurrent: true, expect: { result: 'success', posts: 1, invocations: 2 } },
  {
    name: 'a failed job (failPipelineOnError) delivered again to another container: no second post',
    failPipelineOnError: true,
    slack: [{ status: 400, body: 'invalid_payload' }],
    deliverAgain: 'other',
    expect: { result: 'failure', posts: 1, invocations: 2 },
  },
];

const hostileScenarios: Scenario[] = [
  {
    name: 'a 10,000-character execution id, pipeline name and stage name',
    hostile: a => Object.assign(a.jobContext, { pipelineName: huge('p'), pipelineExecutionId: huge('e'), stage: { name: huge('s') } }),
    expect: { result: 'success', posts: 1 },
  },
  {
    name: 'a 10,000-character commit message, revision link, trigger and artifact names (7 revisions)',
    hostile: a => Object.assign(a.execution, {
      trigger: { triggerType: 'StartPipelineExecution', triggerDetail: huge('t') },
      artifactRevisions: Array.from({ length: 7 }, (_, i) => ({
        name: huge(`${i}`), revisionId: COMMIT, revisionSummary: huge('&'), revisionUrl: `https://example.com/${huge('u')}`,
      })),
    }),
    expect: { result: 'success', posts: 1 },
  },
  { name: 'a 10,000-character commit author', hostile: a => Object.assign(a.author, { name: huge('<') }), expect: { result: 'success', posts: 1 } },
  { name: 'a 10,000-character action text (after CodePipeline resolved its variables)', actionText: huge('>'), expect: { result: 'success', posts: 1 } },
  {
    name: 'Slack echoing the request path in an error body: redacted from the summary and the logs',
    slack: [{ status: 404, body: `no_service: POST ${WEBHOOK_PATH}` }],
    expect: { result: 'success', posts: 1, message: /^Slack notification failed, the pipeline continues: posting to releases failed: Slack rejected the message: 404 no_service: POST \[webhook redacted\]$/ },
  },
  {
    name: 'Slack echoing the whole webhook in an error body (failPipelineOnError): redacted from the failure message',
    failPipelineOnError: true,
    slack: [{ status: 403, body: 'PLACEHOLDER' }],
    expect: { result: 'failure', posts: 1, message: /Slack rejected the message: 403 invalid_token for \[webhook redacted\]$/ },
  },
  {
    name: 'Slack rate limiting with the token in its body, then ok: posted once the wait is over',
    slack: [{ status: 429, body: `rate_limited ${TOKEN}`, headers: { 'retry-after': '0' } }, { status: 200, body: 'ok' }],
    expect: { result: 'success', posts: 2, message: /^posted to releases$/ },
  },
  {
    name: 'an AWS error message that quotes the webhook (GetCommit): redacted from the logs',
    failAlways: [['codecommit:GetCommit', { error: { code: 'InvalidRequest', message: `bad request https://hooks.slack.com${WEBHOOK_PATH}`, status: 400 } }]],
    expect: { result: 'success', posts: 1 },
  },
];

const webhookScenarios: Scenario[] = [
  ...([
    ['the instance metadata address', () => `https://169.254.169.254/latest/meta-data${WEBHOOK_PATH}`, /must name a host, not an IP address \(169\.254\.169\.254\)$/],
    ['a private address', () => `https://10.0.0.8${WEBHOOK_PATH}`, /must name a host, not an IP address \(10\.0\.0\.8\)$/],
    ['a host that is not allowed', () => `https://hooks.example.com${WEBHOOK_PATH}`, /got host hooks\.example\.com: allow another host with the `allowedWebhookHosts` prop$/],
    ['plain http to a public host', () => `http://hooks.slack.com${WEBHOOK_PATH}`, /must be an https URL$/],
    ['a user name and password', () => `https://bot:${TOKEN}@hooks.slack.com${WEBHOOK_PATH}`, /must not contain a user name or password$/],
    ['a value that is not a URL', () => `hooks.slack.com${WEBHOOK_PATH}`, /is not a URL$/],
  ] as Array<[string, () => string, RegExp]>).map(([what, value, message]): Scenario => ({
    name: `a webhook to ${what} is refused before connecting: the job succeeds once, saying why`,
    webhook: value,
    expect: { result: 'success', posts: 0, message },
  })),
];

const scenarios: Scenario[] = [...readScenarios, ...reportScenarios, ...duplicateScenarios, ...hostileScenarios, ...webhookScenarios];

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

describeWithEmulator('SlackNotifyStage under injected faults (shipped bundle on moto)', emulator => {
  let slack: FakeSlack;
  let model: PipelineJobModel;
  let secretArn: string;
  let logStart: number;

  beforeAll(async () => {
    slack = await FakeSlack.start();
  });
  afterAll(async () => {
    await slack.stop();
  });

  beforeEach(() => {
    slack.reset();
    model = new PipelineJobModel();
    logStart = fs.existsSync(emulator().logFile) ? fs.statSync(emulator().logFile).size : 0;
  });

  /** Creates the webhook in moto and returns the function's environment. */
  async function setUp(variant: Variant, failPipelineOnError: boolean, webhook: string, configure?: (config: any) => void)
    : Promise<Record<string, string>> {
    const { config } = synthesizedConfig(variant, failPipelineOnError);
    if (variant === 'secret') {
      const created = await emulator().client(SecretsManagerClient).send(new CreateSecretCommand({
        Name: 'slack/releases', SecretString: JSON.stringify({ url: webhook }),
      }));
      secretArn = created.ARN!;
      config.channels[0].webhook.secretArn = secretArn;
    } else {
      await emulator().client(SSMClient).send(new PutParameterCommand({ Name: PARAMETER_NAME, Type: 'SecureString', Value: webhook }));
    }
    configure?.(config);
    return { SLACK_NOTIFY_CONFIG: JSON.stringify(config) };
  }

  function jobEvent(variant: Variant, failPipelineOnError: boolean, text?: string) {
    const { userParameters } = synthesizedConfig(variant, failPipelineOnError);
    const parameters = userParameters.replace('#{codepipeline.PipelineExecutionId}', EXECUTION_ID) + (text ? `\n${text}` : '');
    return { 'CodePipeline.job': { id: JOB_ID, accountId: '123456789012', data: { actionConfiguration: { configuration: { FunctionName: 'notify', UserParameters: parameters } } } } };
  }

  /** One asynchronous invocation as Lambda makes it: the first attempt and up to 2 retries while it throws. */
  async function invokeAsLambda(event: unknown, env: Record<string, string>, retryIn: 'same' | 'other', container = 0)
    : Promise<{ invocations: number; errors: Error[] }> {
    const errors: Error[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const functionName = retryIn === 'other' ? `notify-${container}-${attempt}` : `notify-${container}`;
      try {
        await emulator().invokeHandler(HANDLER, event, { functionName }, env);
        return { invocations: attempt + 1, errors };
      } catch (err) {
        errors.push(err as Error);
      }
    }
    return { invocations: 3, errors };
  }

  /** What no text leaving the function may hold. */
  function expectNoWebhook(texts: string[]): void {
    for (const text of texts) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(WEBHOOK_PATH);
    }
  }

  async function newLogLines(): Promise<string> {
    const log = Buffer.from(await emulator().readLog(), 'utf8');
    return log.subarray(logStart).toString('utf8');
  }

  test.each(scenarios.map(s => [s.name, s] as const))('%s', async (_, scenario) => {
    const variant = scenario.variant ?? 'secret';
    const failPipelineOnError = scenario.failPipelineOnError ?? false;
    const webhook = scenario.webhook?.(slack) ?? slack.url(WEBHOOK_PATH);
    const env = await setUp(variant, failPipelineOnError, webhook, scenario.configure);
    scenario.hostile?.(model.answers);
    for (const [operation, ...faults] of scenario.inject ?? []) model.inject(operation, ...faults);
    for (const [operation, fault] of scenario.failAlways ?? []) model.failAlways(operation, fault);
    model.install(emulator());
    const replies = (scenario.slack ?? []).map(r => r.body === 'PLACEHOLDER' ? { ...r, body: `invalid_token for ${webhook}` } : r);
    if (replies.length) slack.reply(...replies);

    const event = jobEvent(variant, failPipelineOnError, scenario.actionText);
    const retryIn = scenario.retryIn ?? 'same';
    const runs = scenario.concurrent
      ? await Promise.all([invokeAsLambda(event, env, retryIn), invokeAsLambda(event, env, retryIn)])
      : [await invokeAsLambda(event, env, retryIn)];
    if (scenario.deliverAgain) runs.push(await invokeAsLambda(event, env, retryIn, scenario.deliverAgain === 'same' ? 0 : 1));

    // Exactly one result taken (or none, where documented), of the expected kind.
    const expected = scenario.expect;
    if (expected.result === 'none') {
      expect(model.accepted).toEqual([]);
    } else {
      expect(model.accepted).toHaveLength(1);
      expect(model.accepted[0].operation).toBe(expected.result === 'success' ? 'PutJobSuccessResult' : 'PutJobFailureResult');
      expect(model.accepted[0].message).not.toMatch(/^$|\[object Object\]/);
      if (expected.message) expect(model.accepted[0].message).toMatch(expected.message);
    }
    expect(runs.reduce((n, r) => n + r.invocations, 0)).toBe(expected.invocations ?? 1);
    expect(slack.posts).toHaveLength(expected.posts);
    for (const post of slack.posts) expect(blockKitProblems(post.body)).toEqual([]);

    // No webhook in the logs, the job results sent, or the errors thrown to Lambda.
    const results = [...emulator().calls('codepipeline', 'PutJobSuccessResult'), ...emulator().calls('codepipeline', 'PutJobFailureResult')];
    const errors = runs.flatMap(r => r.errors);
    for (const error of errors) expect(error.message).not.toMatch(/^$|\[object Object\]/);
    // Whatever hangs, the function ends on its own limits, never at its timeout.
    expect(errors.map(e => e.name)).not.toContain('Sandbox.Timedout');
    if (expected.errors) expect(errors.map(e => e.name)).toEqual(expected.errors);
    expectNoWebhook([await newLogLines(), JSON.stringify(results.map(c => c.input)), ...errors.map(e => `${e.name}: ${e.message}`)]);
  });

  test('a host in allowedWebhookHosts that resolves to a loopback address: refused after the DNS answer, nothing connects', async () => {
    const connections: net.Socket[] = [];
    const listener = net.createServer(socket => connections.push(socket));
    await new Promise<void>(resolve => listener.listen(0, '127.0.0.1', resolve));
    try {
      const port = (listener.address() as net.AddressInfo).port;
      const env = await setUp('secret', false, `https://localhost:${port}${WEBHOOK_PATH}`, config => config.allowedWebhookHosts = ['localhost']);
      model.install(emulator());
      const run = await invokeAsLambda(jobEvent('secret', false), env, 'same');
      expect(run.invocations).toBe(1);
      expect(model.accepted).toHaveLength(1);
      expect(model.accepted[0].message).toMatch(/must reach a public address: localhost resolves to (127\.0\.0\.1|::1)$/);
      expect(connections).toEqual([]);
      expectNoWebhook([await newLogLines(), model.accepted[0].message]);
    } finally {
      connections.forEach(c => c.destroy());
      await new Promise(resolve => listener.close(resolve));
    }
  });

  describe('event mode (no job result; a failed post is thrown for Lambda\'s retry)', () => {
    function failedExecutionEvent(overrides: Record<string, any> = {}) {
      return {
        'id': 'event-1',
        'source': 'aws.codepipeline',
        'detail-type': 'CodePipeline Pipeline Execution State Change',
        'account': '123456789012',
        'region': 'us-east-1',
        'time': '2025-03-04T10:30:00Z',
        'detail': { 'pipeline': 'release', 'execution-id': EXECUTION_ID, 'state': 'FAILED', ...overrides },
      };
    }

    test('every CodePipeline read hung: posted with what is known, within the time limits', async () => {
      const env = await setUp('secret', false, slack.url(WEBHOOK_PATH));
      model.failAlways('codepipeline:GetPipelineExecution', hang);
      model.failAlways('codepipeline:ListActionExecutions', hang);
      model.install(emulator());
      const started = Date.now();
      const run = await invokeAsLambda(failedExecutionEvent(), env, 'same');
      // The reads hang for good and the handler's time limits end them. The bound tells a hang from
      // a slow machine; it does not time the limits.
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(run.invocations).toBe(1);
      expect(slack.posts).toHaveLength(1);
      expect(JSON.stringify(slack.posts[0].body)).toContain('Could not read trigger and source revisions, timings and action details from CodePipeline');
      expect(emulator().calls('codepipeline', 'PutJobSuccessResult')).toEqual([]);
    });

    test('the secret read throttled once: the retry posts; the event is posted once', async () => {
      const env = await setUp('secret', false, slack.url(WEBHOOK_PATH));
      model.inject('secretsmanager:GetSecretValue', throttled);
      model.install(emulator());
      const run = await invokeAsLambda(failedExecutionEvent(), env, 'same');
      expect(run.invocations).toBe(2);
      expect(run.errors.map(e => e.name)).toEqual(['SlackPostError']);
      expect(slack.posts).toHaveLength(1);
    });

    test('the event delivered twice (same id): posted once', async () => {
      const env = await setUp('secret', false, slack.url(WEBHOOK_PATH));
      model.install(emulator());
      await invokeAsLambda(failedExecutionEvent(), env, 'same');
      await invokeAsLambda(failedExecutionEvent(), env, 'same');
      expect(slack.posts).toHaveLength(1);
    });

    test('Slack echoing the path in every answer: three attempts, every error redacted, no webhook in the logs', async () => {
      const env = await setUp('secret', false, slack.url(WEBHOOK_PATH));
      model.install(emulator());
      slack.reply({ status: 404, body: `channel_not_found ${WEBHOOK_PATH}` });
      const run = await invokeAsLambda(failedExecutionEvent(), env, 'same');
      expect(run.invocations).toBe(3);
      expect(run.errors.map(e => e.message)).toEqual(Array(3).fill('posting to releases failed: Slack rejected the message: 404 channel_not_found [webhook redacted]'));
      expectNoWebhook([await newLogLines()]);
    });

    test('a 10,000-character pipeline name, execution id, failed stage and action summary: within Block Kit limits', async () => {
      const env = await setUp('secret', false, slack.url(WEBHOOK_PATH));
      model.install(emulator());
      await invokeAsLambda({
        ...failedExecutionEvent({ 'pipeline': huge('p'), 'execution-id': huge('e') }),
        'detail-type': 'CodePipeline Action Execution State Change',
        'detail': {
          'pipeline': huge('p'),
          'execution-id': huge('e'),
          'state': 'FAILED',
          'stage': huge('s'),
          'action': huge('a'),
          'type': { owner: 'AWS', provider: 'CodeBuild', category: 'Build', version: '1' },
          'execution-result': { 'external-execution-summary': huge('x'), 'external-execution-url': `https://e.example/${huge('y')}` },
        },
      }, env, 'same');
      expect(slack.posts).toHaveLength(1);
      expect(blockKitProblems(slack.posts[0].body)).toEqual([]);
    });
  });

  describe('afterwards', () => {
    test('the whole log of the suite holds no webhook', async () => {
      expectNoWebhook([await emulator().readLog()]);
    });
  });
});
