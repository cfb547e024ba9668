import * as net from 'net';
import { CodeCommitClient, CommitDoesNotExistException, GetCommitCommand } from '@aws-sdk/client-codecommit';
import {
  CodePipelineClient, GetJobDetailsCommand, GetPipelineExecutionCommand, ListActionExecutionsCommand,
  PutJobFailureResultCommand, PutJobSuccessResultCommand, TriggerType,
} from '@aws-sdk/client-codepipeline';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { allText, blockKitProblems } from './block-kit';
import {
  ACCOUNT, ACTION_EXECUTIONS, actionEvent, CODECOMMIT_EXECUTION, CODECOMMIT_REPOSITORY, CODECOMMIT_SOURCE_ACTION, CODECOMMIT_URL, COMMIT, config,
  EXECUTION_ID, executionEvent, jobEvent, PIPELINE_EXECUTION, REGION, SECRET_ARN,
} from './fixtures';
import { FakeSlack } from './slack-server';
import { resetAwsClients } from '../../../lambda-src/core/aws-clients';
import { InputError } from '../../../lambda-src/core/errors';
import { resetDeliveryRecord } from '../../../lambda-src/slack-notify/deliver';
import { handler } from '../../../lambda-src/slack-notify/handlers';
import { forgetRememberedWebhooks, redact, redactError, REDACTED, rememberWebhook } from '../../../lambda-src/slack-notify/redact';
import { postToSlack } from '../../../lambda-src/slack-notify/slack-client';
import { bounded, CallTimeoutError, clockOf, DETAILS_LIMIT_MS, REPORT_LIMIT_MS } from '../../../lambda-src/slack-notify/time-limits';
import { checkWebhookAddress, parseWebhookUrl, resetWebhookCache } from '../../../lambda-src/slack-notify/webhook';

const secrets = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);
const codepipeline = mockClient(CodePipelineClient);
const codecommit = mockClient(CodeCommitClient);
const context = { getRemainingTimeInMillis: () => 60_000 };
const SETTINGS = '{"v":1,"failOnError":false,"executionId":"' + EXECUTION_ID + '"}';
const ALERTS = { name: 'alerts', webhook: { secretArn: SECRET_ARN }, outcomes: ['FAILED', 'CANCELLED', 'APPROVAL'] };
const RELEASES = { name: 'releases', webhook: { parameterName: '/slack/releases' }, outcomes: ['SUCCEEDED'] };

let slack: FakeSlack;
let logs: string[];

beforeAll(async () => {
  slack = await FakeSlack.start();
});
afterAll(async () => {
  await slack.stop();
});

beforeEach(() => {
  secrets.reset();
  ssm.reset();
  codepipeline.reset();
  codecommit.reset();
  slack.reset();
  resetWebhookCache();
  resetDeliveryRecord();
  forgetRememberedWebhooks();
  resetAwsClients();
  process.env.AWS_REGION = REGION;
  process.env.SLACK_NOTIFY_CONFIG = config([ALERTS, RELEASES]);
  secrets.on(GetSecretValueCommand).resolves({ SecretString: slack.url('/services/T000/B000/alerts-token') });
  ssm.on(GetParameterCommand).resolves({ Parameter: { Value: slack.url('/services/T000/B000/releases-token') } });
  codepipeline.on(GetPipelineExecutionCommand).resolves({ pipelineExecution: PIPELINE_EXECUTION });
  codepipeline.on(ListActionExecutionsCommand).resolves({ actionExecutionDetails: ACTION_EXECUTIONS });
  codepipeline.on(GetJobDetailsCommand).resolves({
    jobDetails: {
      id: 'job-1',
      data: {
        pipelineContext: {
          pipelineName: 'release', pipelineExecutionId: EXECUTION_ID, stage: { name: 'Announce' }, action: { name: 'Slack' },
        },
      },
    },
  });
  logs = captureLogs();
});

afterEach(() => {
  jest.restoreAllMocks();
  // Whatever a test did, no webhook URL (or its secret path) may appear in a log line.
  expect(logs.join('')).not.toMatch(/-token|127\.0\.0\.1:\d+\/services/);
});

/** Captures everything the function logs (the shared logger writes to stdout/stderr). */
function captureLogs(): string[] {
  const lines: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    jest.spyOn(stream, 'write').mockImplementation((chunk: any) => {
      lines.push(String(chunk));
      return true;
    });
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => { lines.push(args.map(String).join(' ')); });
  }
  return lines;
}

function jobResults() {
  return {
    success: codepipeline.commandCalls(PutJobSuccessResultCommand).map(c => c.args[0].input),
    failure: codepipeline.commandCalls(PutJobFailureResultCommand).map(c => c.args[0].input),
  };
}

describe('messages', () => {
  test('an execution failure: status, console link, account, region, trigger, revision, times, failed action with error and logs link', async () => {
    await handler(executionEvent('FAILED'), context);

    expect(slack.posts).toHaveLength(1);
    const [post] = slack.posts;
    expect(post.path).toBe('/services/T000/B000/alerts-token');
    expect(post.contentType).toBe('application/json; charset=utf-8');
    expect(blockKitProblems(post.body)).toEqual([]);
    expect(post.body.text).toBe('FAILED: release (Build › UnitTests)');
    expect(post.body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: ':x: FAILED · release', emoji: true } });
    const text = allText(post.body);
    expect(text).toContain(`<https://${REGION}.console.aws.amazon.com/codesuite/codepipeline/pipelines/release/executions/${EXECUTION_ID}/timeline?region=${REGION}|release>`);
    expect(text).toContain(`*Account*\n${ACCOUNT}`);
    expect(text).toContain(`*Region*\n${REGION}`);
    expect(text).toContain('*Trigger*\nStartPipelineExecution (alice)');
    // Start = the first action's start; duration up to the event's time (both CodePipeline's clock).
    expect(text).toContain(`*Started*\n<!date^${Date.parse('2025-03-04T10:00:00Z') / 1000}^{date_short_pretty} {time}|2025-03-04 10:00 UTC>`);
    expect(text).toContain('*Duration*\n12m 30s');
    expect(text).toContain('*Failed in:* Build › UnitTests\n> Tests failed: 3 of 412 (CheckoutSpec)\n<https://console.aws.amazon.com/codesuite/codebuild/projects/shop-tests/build/shop-tests%3A1234/log|View logs>');
    expect(text).toContain(`• <https://github.com/acme/shop/commit/${COMMIT}|\`4f9d2c1\`> Fix the &lt;checkout&gt; &amp; payment flow`);
    expect(text).toContain(`Execution ${EXECUTION_ID}`);
    expect(codepipeline.commandCalls(ListActionExecutionsCommand)[0].args[0].input).toMatchObject({ pipelineName: 'release', filter: { pipelineExecutionId: EXECUTION_ID } });
  });

  test('an execution success goes to the channel that receives successes only', async () => {
    await handler(executionEvent('SUCCEEDED'), context);
    expect(slack.posts.map(p => p.path)).toEqual(['/services/T000/B000/releases-token']);
    expect(ssm.commandCalls(GetParameterCommand)[0].args[0].input).toEqual({ Name: '/slack/releases', WithDecryption: true });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    const body = slack.posts[0].body;
    expect(blockKitProblems(body)).toEqual([]);
    expect(body.blocks[0].text.text).toBe(':white_check_mark: SUCCEEDED · release');
    expect(allText(body)).not.toContain('Failed in');
  });

  test.each(['STOPPED', 'SUPERSEDED'])('a %s execution is a CANCELLED outcome', async state => {
    await handler(executionEvent(state), context);
    expect(slack.posts.map(p => p.path)).toEqual(['/services/T000/B000/alerts-token']);
    expect(slack.posts[0].body.blocks[0].text.text).toBe(`:black_square_for_stop: ${state} · release`);
  });

  test('an approval waiting: the approval action, its instructions and review link', async () => {
    await handler(actionEvent('STARTED', 'Approval', 'Release', 'Approve'), context);
    const body = slack.posts[0].body;
    expect(blockKitProblems(body)).toEqual([]);
    expect(body.blocks[0].text.text).toBe(':raised_hand: APPROVAL NEEDED · release');
    expect(allText(body)).toContain('*Waiting for approval:* Release › Approve\n> Check the canary dashboard first\n<https://grafana.example.com/d/canary|Review>');
  });

  test('a failed action: the event\'s own summary and link', async () => {
    await handler(actionEvent('FAILED', 'Build', 'Build', 'UnitTests', {
      'external-execution-summary': 'Build terminated with state: FAILED',
      'external-execution-url': 'https://console.aws.amazon.com/codebuild/run/1',
    }), context);
    const body = slack.posts[0].body;
    expect(blockKitProblems(body)).toEqual([]);
    expect(body.blocks[0].text.text).toBe(':x: ACTION FAILED · release');
    expect(allText(body)).toContain('*Failed in:* Build › UnitTests\n> Build terminated with state: FAILED\n<https://console.aws.amazon.com/codebuild/run/1|View logs>');
  });

  test('event text is added; an event no channel receives posts nothing', async () => {
    process.env.SLACK_NOTIFY_CONFIG = config([ALERTS], { eventText: 'On call: <@U123>' });
    await handler(executionEvent('SUCCEEDED'), context);
    expect(slack.posts).toHaveLength(0);
    await handler(executionEvent('FAILED'), context);
    expect(allText(slack.posts[0].body)).toContain('On call: &lt;@U123&gt;');
  });

  test('ListActionExecutions answering the same page token again stops reading, with a note, instead of looping', async () => {
    codepipeline.on(ListActionExecutionsCommand).resolves({ actionExecutionDetails: ACTION_EXECUTIONS, nextToken: 'again' });
    await handler(executionEvent('FAILED'), context);
    expect(codepipeline.commandCalls(ListActionExecutionsCommand)).toHaveLength(2);
    expect(allText(slack.posts[0].body)).toContain('Could not read timings and action details from CodePipeline');
    expect(logs.join('')).toContain('ListActionExecutions answered a page token it had answered before');
  });

  test('pipeline API errors leave fields out instead of losing the message', async () => {
    codepipeline.on(GetPipelineExecutionCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    codepipeline.on(ListActionExecutionsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await handler(executionEvent('FAILED'), context);

    const body = slack.posts[0].body;
    expect(blockKitProblems(body)).toEqual([]);
    const text = allText(body);
    expect(body.blocks[0].text.text).toBe(':x: FAILED · release');
    expect(text).not.toMatch(/Trigger|Started|Duration|Source|Failed in/);
    expect(text).toContain('Could not read trigger and source revisions, timings and action details from CodePipeline');
    expect(logs.join('')).toContain('AccessDeniedException');
  });
});

describe('commit authors (CodeCommit sources)', () => {
  const AUTHORS_CONFIG = config([ALERTS, RELEASES], { codeCommitRepositories: [CODECOMMIT_REPOSITORY] });
  const COMMIT_ANSWER = {
    commit: {
      commitId: COMMIT,
      message: 'Fix the checkout flow (secret-ish body)',
      author: { name: 'Alice <Doe> & Co', email: 'alice@example.com', date: '1741082400 +0000' },
      committer: { name: 'CI Bot', email: 'ci@example.com', date: '1741082400 +0000' },
    },
  };

  beforeEach(() => {
    process.env.SLACK_NOTIFY_CONFIG = AUTHORS_CONFIG;
    codepipeline.on(GetPipelineExecutionCommand).resolves({ pipelineExecution: CODECOMMIT_EXECUTION });
    codepipeline.on(ListActionExecutionsCommand).resolves({ actionExecutionDetails: [CODECOMMIT_SOURCE_ACTION, ...ACTION_EXECUTIONS.slice(1)] });
    codecommit.on(GetCommitCommand).resolves(COMMIT_ANSWER);
  });

  test('the author of a revision from a listed repository is read with GetCommit and shown, escaped; never logged', async () => {
    await handler(executionEvent('FAILED'), context);

    expect(codecommit.commandCalls(GetCommitCommand).map(c => c.args[0].input)).toEqual([{ repositoryName: 'shop', commitId: COMMIT }]);
    const body = slack.posts[0].body;
    expect(blockKitProblems(body)).toEqual([]);
    expect(allText(body)).toContain(`• <${CODECOMMIT_URL}|\`4f9d2c1\`> Fix the checkout flow · by Alice &lt;Doe&gt; &amp; Co`);
    expect(allText(body)).not.toContain('Could not read commit authors');
    const logged = logs.join('');
    expect(logged).not.toMatch(/Alice|alice@example\.com|secret-ish/);
  });

  test('action mode: the author is shown too, and the job succeeds once', async () => {
    await handler(jobEvent(SETTINGS), context);
    expect(allText(slack.posts[0].body)).toContain('Fix the checkout flow · by Alice &lt;Doe&gt; &amp; Co');
    expect(jobResults()).toEqual({ success: [{ jobId: 'job-1', executionDetails: { summary: 'posted to releases' } }], failure: [] });
  });

  test('the author\'s email stands in for an empty name', async () => {
    codecommit.on(GetCommitCommand).resolves({ commit: { author: { name: ' ', email: 'alice@example.com' } } });
    await handler(executionEvent('FAILED'), context);
    expect(allText(slack.posts[0].body)).toContain('Fix the checkout flow · by alice@example.com');
  });

  test.each([
    ['the current console URL', CODECOMMIT_URL],
    ['the older console URL', `https://${REGION}.console.aws.amazon.com/codecommit/home?region=${REGION}#/repository/shop/commit/${COMMIT}`],
  ])('without ListActionExecutions, the repository is read from %s', async (_, revisionUrl) => {
    codepipeline.on(ListActionExecutionsCommand).rejects(new Error('Rate exceeded'));
    codepipeline.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: { ...CODECOMMIT_EXECUTION, artifactRevisions: [{ ...CODECOMMIT_EXECUTION.artifactRevisions![0], revisionUrl }] },
    });
    await handler(executionEvent('FAILED'), context);
    expect(codecommit.commandCalls(GetCommitCommand).map(c => c.args[0].input)).toEqual([{ repositoryName: 'shop', commitId: COMMIT }]);
    expect(allText(slack.posts[0].body)).toContain('· by Alice');
  });

  test('a revision from a repository that is not listed: no GetCommit call, no author', async () => {
    process.env.SLACK_NOTIFY_CONFIG = config([ALERTS, RELEASES], { codeCommitRepositories: [{ name: 'other', arn: `arn:aws:codecommit:${REGION}:${ACCOUNT}:other` }] });
    await handler(executionEvent('FAILED'), context);
    expect(codecommit.commandCalls(GetCommitCommand)).toHaveLength(0);
    expect(allText(slack.posts[0].body)).toContain('`4f9d2c1`> Fix the checkout flow\n');
    expect(allText(slack.posts[0].body)).not.toContain(' · by ');
  });

  test('without codeCommitRepositories, and for a GitHub revision: no GetCommit call', async () => {
    process.env.SLACK_NOTIFY_CONFIG = config([ALERTS, RELEASES]);
    await handler(executionEvent('FAILED'), context);
    process.env.SLACK_NOTIFY_CONFIG = AUTHORS_CONFIG;
    codepipeline.on(GetPipelineExecutionCommand).resolves({ pipelineExecution: PIPELINE_EXECUTION });
    codepipeline.on(ListActionExecutionsCommand).resolves({ actionExecutionDetails: ACTION_EXECUTIONS });
    await handler({ ...executionEvent('FAILED'), id: 'e-2' }, context);
    expect(slack.posts).toHaveLength(2);
    expect(codecommit.commandCalls(GetCommitCommand)).toHaveLength(0);
  });

  test.each([
    ['a missing commit', new CommitDoesNotExistException({ message: 'Could not find commit', $metadata: {} })],
    ['no permission', Object.assign(new Error('User is not authorized to perform: codecommit:GetCommit'), { name: 'AccessDeniedException' })],
  ])('GetCommit failing (%s): the message is still posted, without the author, saying so', async (_, error) => {
    codecommit.on(GetCommitCommand).rejects(error);
    await handler(jobEvent(SETTINGS), context);

    const body = slack.posts[0].body;
    expect(blockKitProblems(body)).toEqual([]);
    const text = allText(body);
    expect(text).toContain('`4f9d2c1`> Fix the checkout flow\n');
    expect(text).not.toContain(' · by ');
    expect(text).toContain('Could not read commit authors from CodeCommit');
    expect(jobResults()).toEqual({ success: [{ jobId: 'job-1', executionDetails: { summary: 'posted to releases' } }], failure: [] });
    expect(logs.join('')).toContain(error.name);
  });
});

describe('action mode', () => {
  test('posts with the user text (CodePipeline variables resolved, quotes and newlines kept) and reports success once', async () => {
    await handler(jobEvent(`${SETTINGS}\nReleased "4f9d2c1": Fix checkout\nby the shop team`), context);

    expect(slack.posts.map(p => p.path)).toEqual(['/services/T000/B000/releases-token']);
    const body = slack.posts[0].body;
    expect(blockKitProblems(body)).toEqual([]);
    expect(body.blocks[0].text.text).toBe(':white_check_mark: REACHED Announce · release');
    const text = allText(body);
    expect(text).toContain('Released "4f9d2c1": Fix checkout\nby the shop team');
    expect(text).toContain('*Duration*\n20m 00s'); // from the first action's start to this action's start
    expect(jobResults()).toEqual({ success: [{ jobId: 'job-1', executionDetails: { summary: 'posted to releases' } }], failure: [] });
  });

  test('without GetJobDetails the message is still posted, with what the job itself tells', async () => {
    codepipeline.on(GetJobDetailsCommand).rejects(new Error('AccessDenied'));
    await handler(jobEvent(SETTINGS), context);
    const text = allText(slack.posts[0].body);
    expect(text).toContain('unknown pipeline');
    expect(text).toContain('Could not read the pipeline context');
    expect(jobResults().success).toHaveLength(1);
  });

  test.each([
    [undefined, 'the action\'s user parameters are missing: expected a JSON settings line'],
    ['not json', 'the action\'s user parameters is not valid JSON'],
    ['{"v":1}', 'the action\'s user parameters is invalid: `failOnError`'],
  ])('malformed user parameters %p fail the job with a clear message, and post nothing', async (parameters, message) => {
    await handler(jobEvent(parameters), context);
    const { success, failure } = jobResults();
    expect(success).toEqual([]);
    expect(failure).toHaveLength(1);
    expect(failure[0].failureDetails?.message).toContain(message);
    expect(slack.posts).toHaveLength(0);
  });

  test('a missing function configuration fails the job once (never a hanging action)', async () => {
    delete process.env.SLACK_NOTIFY_CONFIG;
    await handler(jobEvent(SETTINGS), context);
    expect(jobResults().failure.map(f => f.failureDetails?.message)).toEqual(['the function\'s `SLACK_NOTIFY_CONFIG` environment variable is missing']);
    expect(jobResults().success).toEqual([]);
  });
});

describe('Slack answers', () => {
  test('429 with Retry-After: waits as told, then posts', async () => {
    slack.reply({ status: 429, body: 'rate_limited', headers: { 'retry-after': '1' } }, { status: 200, body: 'ok' });
    await handler(jobEvent(SETTINGS), context);
    expect(slack.posts).toHaveLength(2);
    expect(slack.posts[1].at - slack.posts[0].at).toBeGreaterThanOrEqual(950);
    expect(jobResults().success[0].executionDetails?.summary).toBe('posted to releases');
  });

  test('500 then success: retried', async () => {
    slack.reply({ status: 500, body: 'internal_error' }, { status: 200, body: 'ok' });
    await handler(executionEvent('FAILED'), context);
    expect(slack.posts).toHaveLength(2);
    expect(slack.posts[1].body).toEqual(slack.posts[0].body);
  });

  test('a hung connection times out and is retried; when it never answers the job still succeeds, saying the post failed', async () => {
    process.env.SLACK_NOTIFY_CONFIG = config([RELEASES], { requestTimeoutMs: 300, maxAttempts: 2 });
    slack.reply({ hang: true });
    const started = Date.now();
    await handler(jobEvent(SETTINGS), context);
    // Two attempts of 300 ms; without the request timeout the hung connection would hold the
    // handler for good. The bound tells a hang from a slow machine, it does not time the attempts.
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(slack.posts).toHaveLength(2);
    expect(jobResults()).toEqual({
      success: [{
        jobId: 'job-1',
        executionDetails: {
          summary:
        'Slack notification failed, the pipeline continues: posting to releases failed: no answer from Slack within 300 ms (gave up after 2 attempts)',
        },
      }],
      failure: [],
    });
  });

  test('a deadline that falls between two milliseconds still bounds the post (the time limits halve the function\'s time)', async () => {
    slack.reply({ status: 200, body: 'ok' });
    const { attempts } = await postToSlack(new URL(slack.url('/services/T0/B0/fraction')), { text: 'x' },
      { requestTimeoutMs: 60_000, maxAttempts: 1, deadline: Date.now() + 30_000.5 });
    expect(attempts).toBe(1);
    expect(slack.posts).toHaveLength(1);
  });

  test('a hung connection then an answer: posted', async () => {
    // Long enough for the answer on a busy machine: only the hung attempt reaches it.
    process.env.SLACK_NOTIFY_CONFIG = config([RELEASES], { requestTimeoutMs: 2_000 });
    slack.reply({ hang: true }, { status: 200, body: 'ok' });
    await handler(jobEvent(SETTINGS), context);
    expect(slack.posts).toHaveLength(2);
    expect(jobResults().success[0].executionDetails?.summary).toBe('posted to releases');
  });

  test('with failPipelineOnError a failed post fails the job, once', async () => {
    slack.reply({ status: 503, body: 'service_unavailable' });
    await handler(jobEvent('{"v":1,"failOnError":true}'), context);
    expect(slack.posts).toHaveLength(3);
    expect(jobResults()).toEqual({
      success: [],
      failure: [{
        jobId: 'job-1',
        failureDetails: {
          type: 'JobFailed',
          message:
        'Error: Slack notification failed: posting to releases failed: Slack answered 503 service_unavailable (gave up after 3 attempts)',
        },
      }],
    });
  });

  test('invalid_payload is permanent: one request, no retry', async () => {
    slack.reply({ status: 400, body: 'invalid_payload' });
    await handler(jobEvent(SETTINGS), context);
    expect(slack.posts).toHaveLength(1);
    expect(jobResults().success[0].executionDetails?.summary).toBe(
      'Slack notification failed, the pipeline continues: posting to releases failed: Slack rejected the message: 400 invalid_payload');
  });

  test('no_service is permanent, and the webhook is read again next time (it may have been replaced)', async () => {
    slack.reply({ status: 404, body: 'no_service' });
    await expect(handler(executionEvent('FAILED'), context)).rejects.toThrow('posting to alerts failed: Slack rejected the message: 404 no_service');
    expect(slack.posts).toHaveLength(1);
    slack.reply({ status: 200, body: 'ok' });
    await handler(executionEvent('FAILED'), context);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  test('a refused connection is a network error, retried and then reported without the URL', async () => {
    const closed = await FakeSlack.start();
    const url = closed.url('/services/T000/B000/closed-token');
    await closed.stop();
    secrets.on(GetSecretValueCommand).resolves({ SecretString: url });
    const error = await handler(executionEvent('FAILED'), context).catch(e => e);
    expect(error.name).toBe('SlackPostError');
    expect(error.message).toBe('posting to alerts failed: network error talking to Slack: ECONNREFUSED (gave up after 3 attempts)');
  });

  test('an event whose post fails throws, so Lambda retries it and finally sends it to the dead-letter queue', async () => {
    process.env.SLACK_NOTIFY_CONFIG = config([ALERTS, { ...RELEASES, outcomes: ['FAILED'] }]);
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: slack.url('/services/T000/B000/releases-token') } });
    slack.reply({ status: 410, body: 'channel_is_archived' });
    await expect(handler(executionEvent('FAILED'), context)).rejects.toThrow(
      'posting to alerts failed: Slack rejected the message: 410 channel_is_archived; posting to releases failed: Slack rejected the message: 410 channel_is_archived');
  });
});

describe('webhook', () => {
  test('read once per warm container', async () => {
    for (let i = 0; i < 3; i++) await handler({ ...executionEvent('FAILED'), id: `e-${i}` }, context);
    expect(slack.posts).toHaveLength(3);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secrets.commandCalls(GetSecretValueCommand)[0].args[0].input).toEqual({ SecretId: SECRET_ARN });
  });

  test('a JSON field of the secret', async () => {
    process.env.SLACK_NOTIFY_CONFIG = config([{ ...ALERTS, webhook: { secretArn: SECRET_ARN, jsonField: 'url' } }]);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ url: slack.url('/services/T000/B000/json-token') }) });
    await handler(executionEvent('FAILED'), context);
    expect(slack.posts.map(p => p.path)).toEqual(['/services/T000/B000/json-token']);
  });

  test.each([
    [{ SecretString: JSON.stringify({ other: 'x' }) }, { jsonField: 'url' }, `the webhook from secret ${SECRET_ARN} (field \`url\`): secret ${SECRET_ARN} (field \`url\`) has no string field \`url\``],
    [{ SecretString: 'not json' }, { jsonField: 'url' }, 'is not a JSON object'],
    [{ SecretString: 'http://hooks.example.com/services/T000/B000/plain-token' }, {}, `the webhook in secret ${SECRET_ARN} must be an https URL`],
    [{ SecretString: 'hooks.slack.com/services/T000/B000/bare-token' }, {}, `the webhook in secret ${SECRET_ARN} is not a URL`],
    [{ SecretBinary: new Uint8Array([1]) }, {}, 'has no string value'],
  ])('a bad secret value %#: a clear error that never shows the value', async (answer, field, message) => {
    process.env.SLACK_NOTIFY_CONFIG = config([{ ...ALERTS, webhook: { secretArn: SECRET_ARN, ...field } }]);
    secrets.on(GetSecretValueCommand).resolves(answer);
    const error = await handler(executionEvent('FAILED'), context).catch(e => e);
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('-token');
  });

  test('a missing secret fails only that channel; the job summary says so', async () => {
    process.env.SLACK_NOTIFY_CONFIG = config([{ ...ALERTS, outcomes: ['SUCCEEDED'] }, RELEASES]);
    secrets.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'Secrets Manager can\'t find the specified secret.', $metadata: {} }));
    await handler(jobEvent(SETTINGS), context);
    expect(slack.posts.map(p => p.path)).toEqual(['/services/T000/B000/releases-token']);
    expect(jobResults().success[0].executionDetails?.summary).toBe('Slack notification failed, the pipeline continues: posted to releases; posting to alerts failed: '
      + `could not read the webhook from secret ${SECRET_ARN}: ResourceNotFoundException: Secrets Manager can't find the specified secret.`);
  });
});

describe('malformed events', () => {
  test.each([
    [{ 'detail-type': 'CodePipeline Pipeline Execution State Change', 'source': 'aws.codepipeline' }, 'the EventBridge event is invalid: `account`'],
    [{ ...executionEvent('FAILED'), 'detail-type': 'CodePipeline Stage Execution State Change' }, 'the EventBridge event is invalid: `detail-type`'],
    [executionEvent('STARTED'), 'the EventBridge event is not one the notifier handles: execution state `STARTED`'],
    [actionEvent('SUCCEEDED', 'Build', 'Build', 'UnitTests'), 'the EventBridge event is not one the notifier handles: action state `SUCCEEDED` of category `Build`'],
    [{ hello: 'world' }, 'the event is neither a CodePipeline job nor a CodePipeline EventBridge event'],
  ])('%# fails with a clear message', async (event, message) => {
    const error = await handler(event, context).catch(e => e);
    expect(error.name).toBe('InputError');
    expect(error.message).toContain(message);
    expect(slack.posts).toHaveLength(0);
  });
});

describe('repeated deliveries of a job or event', () => {
  const invalidJobState = () => Object.assign(new Error('The job is not in progress'), { name: 'InvalidJobStateException', $metadata: { httpStatusCode: 400 } });

  test('a job delivered again to the same container posts nothing again; its result is reported again', async () => {
    await handler(jobEvent(SETTINGS), context);
    codepipeline.on(PutJobSuccessResultCommand).rejects(invalidJobState());
    await handler(jobEvent(SETTINGS), context);
    expect(slack.posts).toHaveLength(1);
    expect(jobResults().success).toHaveLength(2);
    expect(jobResults().failure).toEqual([]);
  });

  test('a result CodePipeline did not answer is thrown for Lambda\'s retry, which reports it without posting again', async () => {
    codepipeline.on(PutJobSuccessResultCommand)
      .rejectsOnce(Object.assign(new Error('We encountered an internal error'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }))
      .resolves({});
    await expect(handler(jobEvent(SETTINGS), context)).rejects.toMatchObject({ name: 'InternalServerError', message: 'We encountered an internal error' });
    await handler(jobEvent(SETTINGS), context);
    expect(slack.posts).toHaveLength(1);
    expect(jobResults().success.map(s => s.executionDetails?.summary)).toEqual(['posted to releases', 'posted to releases']);
  });

  test('a job whose action execution already ended is not posted, in any container (the job has its result)', async () => {
    codepipeline.on(ListActionExecutionsCommand).resolves({
      actionExecutionDetails: ACTION_EXECUTIONS.map(a => a.actionName === 'Slack' ? { ...a, status: 'Succeeded' } : a),
    });
    codepipeline.on(PutJobSuccessResultCommand).rejects(invalidJobState());
    await handler(jobEvent(SETTINGS), context);
    expect(slack.posts).toEqual([]);
    expect(jobResults().success.map(s => s.executionDetails?.summary)).toEqual(['the job already had its result: nothing was posted again']);
    expect(jobResults().failure).toEqual([]);
  });

  test('a stage retried later starts a new execution of the action: the latest one decides, and it posts', async () => {
    const [announce] = ACTION_EXECUTIONS.filter(a => a.actionName === 'Slack');
    codepipeline.on(ListActionExecutionsCommand).resolves({
      actionExecutionDetails: [
        ...ACTION_EXECUTIONS.filter(a => a !== announce),
        { ...announce, status: 'Failed', startTime: new Date('2025-03-04T10:20:00Z'), lastUpdateTime: new Date('2025-03-04T10:21:00Z') },
        { ...announce, status: 'InProgress', startTime: new Date('2025-03-04T11:00:00Z'), lastUpdateTime: new Date('2025-03-04T11:00:00Z') },
      ],
    });
    await handler(jobEvent(SETTINGS), context);
    expect(slack.posts).toHaveLength(1);
  });

  test('two deliveries of one job at once post once', async () => {
    await Promise.all([handler(jobEvent(SETTINGS), context), handler(jobEvent(SETTINGS), context)]);
    expect(slack.posts).toHaveLength(1);
    expect(jobResults().success).toHaveLength(2);
  });

  test('an event whose post failed in one channel is retried to that channel only', async () => {
    process.env.SLACK_NOTIFY_CONFIG = config([ALERTS, { ...RELEASES, outcomes: ['FAILED'] }]);
    ssm.on(GetParameterCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ Parameter: { Value: slack.url('/services/T000/B000/releases-token') } });
    await expect(handler(executionEvent('FAILED'), context)).rejects.toThrow('posting to releases failed');
    await handler(executionEvent('FAILED'), context);
    expect(slack.posts.map(p => p.path).sort()).toEqual(['/services/T000/B000/alerts-token', '/services/T000/B000/releases-token']);
  });
});

describe('webhook host rules (checked after reading the webhook, before connecting)', () => {
  test.each([
    ['https://169.254.169.254/latest/meta-data/iam-token', 'must name a host, not an IP address (169.254.169.254)'],
    ['https://10.0.0.12/services/T000/B000/private-token', 'must name a host, not an IP address (10.0.0.12)'],
    ['https://0x7f.1/services/T000/B000/octal-token', 'must name a host, not an IP address (127.0.0.1)'],
    ['https://[fd00::1]/services/T000/B000/v6-token', 'must name a host, not an IP address ([fd00::1])'],
    ['https://127.0.0.1/services/T000/B000/https-loopback-token', 'must name a host, not an IP address (127.0.0.1)'],
    ['http://localhost:8080/services/T000/B000/name-token', 'must be an https URL'],
    ['http://127.0.0.2:8080/services/T000/B000/other-loopback-token', 'must be an https URL'],
    ['https://user:pw@hooks.slack.com/services/T000/B000/userinfo-token', 'must not contain a user name or password'],
    ['https://hooks.example.com/services/T000/B000/elsewhere-token',
      'must be on one of the allowed webhook hosts (hooks.slack.com, hooks.slack-gov.com), got host hooks.example.com: allow another host with the `allowedWebhookHosts` prop'],
    ['https://hooks.slack.com.evil.example/services/T000/B000/suffix-token',
      'must be on one of the allowed webhook hosts (hooks.slack.com, hooks.slack-gov.com), got host hooks.slack.com.evil.example: allow another host with the `allowedWebhookHosts` prop'],
  ])('%s is refused: %s', async (value, message) => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: value });
    const error = await handler(executionEvent('FAILED'), context).catch(e => e);
    expect(error.message).toBe(`posting to alerts failed: could not read the webhook from secret ${SECRET_ARN}: the webhook in secret ${SECRET_ARN} ${message}`);
    expect(error.message).not.toContain('-token');
    expect(slack.posts).toEqual([]);
  });

  test('a host in allowedWebhookHosts that resolves to a loopback address is refused before anything connects to it', async () => {
    const connections: net.Socket[] = [];
    const listener = net.createServer(socket => connections.push(socket));
    await new Promise<void>(resolve => listener.listen(0, '127.0.0.1', resolve));
    try {
      process.env.SLACK_NOTIFY_CONFIG = config([ALERTS], { allowedWebhookHosts: ['localhost'] });
      secrets.on(GetSecretValueCommand).resolves({ SecretString: `https://localhost:${(listener.address() as net.AddressInfo).port}/services/T000/B000/dns-token` });
      const error = await handler(executionEvent('FAILED'), context).catch(e => e);
      expect(error.message).toMatch(new RegExp(`^posting to alerts failed: the webhook in secret ${SECRET_ARN} must reach a public address: localhost resolves to (127\\.0\\.0\\.1|::1)$`));
      expect(connections).toEqual([]);
    } finally {
      connections.forEach(c => c.destroy());
      await new Promise(resolve => listener.close(resolve));
    }
  });

  test('Slack\'s hosts and allowed hosts pass, whatever their case or trailing dot', () => {
    const source = { secretArn: SECRET_ARN };
    expect(parseWebhookUrl('https://HOOKS.slack.com./services/T/B/x', source, []).hostname).toBe('hooks.slack.com.');
    expect(parseWebhookUrl('https://hooks.slack-gov.com/services/T/B/x', source, []).protocol).toBe('https:');
    expect(parseWebhookUrl('https://chat.example.com/hooks/x', source, ['chat.example.com']).pathname).toBe('/hooks/x');
    expect(() => parseWebhookUrl('https://chat.example.com/hooks/x', source, [])).toThrow('got host chat.example.com');
  });

  test.each([
    [[{ address: '3.33.200.1', family: 4 }], undefined],
    [[{ address: '2600:1f18::1', family: 6 }], undefined],
    [[{ address: '3.33.200.1', family: 4 }, { address: '169.254.169.254', family: 4 }], '169.254.169.254'],
    [[{ address: '10.1.2.3', family: 4 }], '10.1.2.3'],
    [[{ address: '100.64.0.1', family: 4 }], '100.64.0.1'],
    [[{ address: '192.168.1.1', family: 4 }], '192.168.1.1'],
    [[{ address: '172.20.0.1', family: 4 }], '172.20.0.1'],
    [[{ address: '::1', family: 6 }], '::1'],
    [[{ address: 'fd12:3456::1', family: 6 }], 'fd12:3456::1'],
    [[{ address: 'fe80::1', family: 6 }], 'fe80::1'],
    [[{ address: '::ffff:10.0.0.1', family: 6 }], '::ffff:10.0.0.1'],
  ])('addresses %j: refused for %p', async (addresses, refused) => {
    const check = checkWebhookAddress(new URL('https://chat.example.com/x'), { secretArn: SECRET_ARN }, Date.now() + 60_000, async () => addresses);
    if (refused) await expect(check).rejects.toThrow(`chat.example.com resolves to ${refused}`);
    else await expect(check).resolves.toBeUndefined();
  });
});

describe('no webhook in anything that leaves the function', () => {
  test('Slack echoing the request path in an error body: the job summary and the logs hold no webhook', async () => {
    slack.reply({ status: 404, body: 'no_service for POST /services/T000/B000/releases-token' });
    await handler(jobEvent(SETTINGS), context);
    const summary = jobResults().success[0].executionDetails?.summary;
    expect(summary).toBe('Slack notification failed, the pipeline continues: posting to releases failed: '
      + 'Slack rejected the message: 404 no_service for POST [webhook redacted]');
  });

  test('and the failure message (failPipelineOnError), and the error an event throws', async () => {
    slack.reply({ status: 400, body: `bad request to ${slack.url('/services/T000/B000/releases-token')}` });
    await handler(jobEvent('{"v":1,"failOnError":true}'), context);
    const message = jobResults().failure[0].failureDetails?.message;
    expect(message).toContain('Slack rejected the message: 400 bad request to [webhook redacted]');
    slack.reply({ status: 500, body: 'upstream said: alerts-token is wrong' });
    const error = await handler(executionEvent('FAILED'), context).catch(e => e);
    expect(error.message).toBe('posting to alerts failed: Slack answered 500 upstream said: [webhook redacted] is wrong (gave up after 3 attempts)');
    expect(error.stack).not.toContain('-token');
  });

  test('a webhook that is not Slack-shaped is redacted whole and in part too', async () => {
    process.env.SLACK_NOTIFY_CONFIG = config([{ ...ALERTS, webhook: { secretArn: SECRET_ARN, jsonField: 'url' } }]);
    const url = slack.url('/custom/hook/custom-hook-token?sig=sig-token-0123');
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ url, other: 'https://hooks.example.com/x/other-channel-token' }) });
    slack.reply({ status: 403, body: `forbidden: /custom/hook/custom-hook-token?sig=sig-token-0123 (also other-channel-token, ${encodeURIComponent('/custom/hook/custom-hook-token')})` });
    const error = await handler(executionEvent('FAILED'), context).catch(e => e);
    expect(error.message).toBe('posting to alerts failed: Slack rejected the message: 403 forbidden: [webhook redacted] (also [webhook redacted], [webhook redacted])');
  });

  test('redact: every form of a remembered webhook, and any Slack-shaped one', () => {
    rememberWebhook('https://chat.example.com/hooks/abc/remembered-token-1');
    expect(redact('a https://chat.example.com/hooks/abc/remembered-token-1 b')).toBe(`a ${REDACTED} b`);
    expect(redact('path /hooks/abc/remembered-token-1, tail abc/remembered-token-1, token remembered-token-1')).not.toContain('remembered');
    expect(redact(`encoded ${encodeURIComponent('/hooks/abc/remembered-token-1')}`)).toBe(`encoded ${REDACTED}`);
    expect(redact('https://hooks.slack.com/services/T0/B0/never-read and services/TA/BB/cc')).toBe(`${REDACTED} and ${REDACTED}`);
    expect(redact('hooks is a word; abc too')).toBe('hooks is a word; abc too');
  });

  test('redactError keeps the name and the InputError class, and drops the original message from the stack', () => {
    const plain = redactError(Object.assign(new Error('to https://hooks.slack.com/services/T/B/x'), { name: 'TypeError' }));
    expect([plain.name, plain.message]).toEqual(['TypeError', `to ${REDACTED}`]);
    expect(plain.stack).not.toContain('hooks.slack.com');
    const input = redactError(new InputError('bad services/T1/B1/abc'));
    expect(input).toBeInstanceOf(InputError);
    expect(input.message).toBe(`bad ${REDACTED}`);
    expect(redactError('a string').message).toBe('a string');
  });
});

describe('Block Kit limits with 10,000-character values', () => {
  const huge = (c: string) => c.repeat(10_000);

  test('action mode: a huge execution id, pipeline and stage names, commit message, link and action text', async () => {
    codepipeline.on(GetJobDetailsCommand).resolves({
      jobDetails: { id: 'job-1', data: { pipelineContext: { pipelineName: huge('p'), pipelineExecutionId: huge('e'), stage: { name: huge('s') }, action: { name: 'Slack' } } } },
    });
    codepipeline.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: {
        ...PIPELINE_EXECUTION,
        trigger: { triggerType: huge('T') as TriggerType, triggerDetail: huge('d') },
        artifactRevisions: Array.from({ length: 7 }, (_, i) => ({
          name: huge(`${i}`), revisionId: huge('r'), revisionSummary: huge('&'), revisionUrl: `https://example.com/${huge('u')}`,
        })),
      },
    });
    await handler(jobEvent(`${SETTINGS}\n${huge('<')}`), context);
    const body = slack.posts[0].body;
    expect(blockKitProblems(body)).toEqual([]);
    expect(allText(body)).toContain('Execution eeeeeeeeee');
    expect(allText(body)).not.toContain('https://example.com/uuu'); // a link longer than any real one is left out
    expect(JSON.stringify(body).length).toBeLessThan(15_000);
    expect(jobResults().success[0].executionDetails?.summary).toBe('posted to releases');
  });

  test('event mode: a huge failed action, summary and link, pipeline name and execution id', async () => {
    const event = actionEvent('FAILED', 'Build', huge('S'), huge('A'), { 'external-execution-summary': huge('x'), 'external-execution-url': `https://e.com/${huge('y')}` });
    event.detail.pipeline = huge('P');
    event.detail['execution-id'] = huge('I');
    await handler(event, context);
    const body = slack.posts[0].body;
    expect(blockKitProblems(body)).toEqual([]);
    expect(body.text.length).toBeLessThanOrEqual(300);
    expect(body.blocks[0].text.text.length).toBeLessThanOrEqual(150);
  });
});

describe('time limits', () => {
  test('a call that never answers is abandoned at its limit, and its signal aborted', async () => {
    // The clock is jest's, so the limit is checked to the millisecond however busy the machine is.
    jest.useFakeTimers();
    try {
      let aborted: unknown;
      const call = bounded('GetNothing', Date.now() + 100, signal => new Promise(() => signal.addEventListener('abort', () => aborted = signal.reason)));
      const settled = jest.fn();
      call.catch(settled);
      await jest.advanceTimersByTimeAsync(99);
      expect(settled).not.toHaveBeenCalled();
      await jest.advanceTimersByTimeAsync(1);
      await expect(call).rejects.toThrow('GetNothing did not answer in time');
      expect(aborted).toBeInstanceOf(CallTimeoutError);
    } finally {
      jest.useRealTimers();
    }
  });

  test('a call that throws at once is not held up', async () => {
    await expect(bounded('Broken', Date.now() + 60_000, () => { throw new Error('at once'); })).rejects.toThrow('at once');
  });

  test('the clock keeps the report\'s time free, and reads never run past the posts', () => {
    const clock = clockOf(120_000, 0);
    expect(clock.end).toBe(118_000);
    expect(clock.postDeadline).toBe(118_000 - REPORT_LIMIT_MS);
    expect(clock.detailsDeadline).toBe(DETAILS_LIMIT_MS);
    const short = clockOf(30_000, 0);
    expect(short.postDeadline).toBe(14_000);
    expect(short.detailsDeadline).toBe(14_000);
  });
});
