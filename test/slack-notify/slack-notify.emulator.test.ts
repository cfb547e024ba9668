import { CreateSecretCommand, DeleteSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { actionExecutionDetails, pipelineWithSource } from './fixtures';
import { PipelineEvent, SlackNotifyStage, SlackOutcome, SlackWebhook } from '../../src';
import { describeWithEmulator, Emulator, handlerAsset } from '../emulator/harness';
import { TemplateResolver } from '../emulator/template-resolver';
import { FakeSlack } from '../lambda-src/slack-notify/slack-server';

const EXECUTION_ID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const COMMIT = '9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b';
const HANDLER = handlerAsset('slack-notify', 'handler');

const synthesized = new Map<boolean, { config: any; userParameters: string }>();

/** The notifier's function configuration and action parameters, exactly as the construct synthesizes them. */
function synthesizedConfig(failPipelineOnError: boolean): { config: any; userParameters: string } {
  if (!synthesized.has(failPipelineOnError)) synthesized.set(failPipelineOnError, synthesize(failPipelineOnError));
  return structuredClone(synthesized.get(failPipelineOnError)!);
}

function synthesize(failPipelineOnError: boolean): { config: any; userParameters: string } {
  const stack = new Stack(new App(), 'Stack', { env: { account: '123456789012', region: 'us-east-1' } });
  const { pipeline, repository } = pipelineWithSource(stack);
  const secret = new secretsmanager.Secret(stack, 'Webhook');
  const notify = new SlackNotifyStage(stack, 'Notify', {
    channels: [{ name: 'releases', webhook: SlackWebhook.fromSecret(secret, 'url'), outcomes: [SlackOutcome.SUCCEEDED, SlackOutcome.FAILED] }],
    pipeline,
    events: [PipelineEvent.EXECUTION_FAILED],
    failPipelineOnError,
    requestTimeout: Duration.seconds(1),
    codeCommitRepositories: [repository],
  });
  notify.addToPipeline(pipeline, { stageName: 'Announce' });
  const fn = new TemplateResolver(Template.fromStack(stack).toJSON(), 'us-east-1').functions().find(f => f.logicalId.startsWith('NotifyFunction'))!;
  const actionConfig = Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline');
  const [resource] = Object.values(actionConfig) as any[];
  const userParameters = resource.Properties.Stages.find((s: any) => s.Name === 'Announce').Actions[0].Configuration.UserParameters;
  return { config: JSON.parse(fn.environment.SLACK_NOTIFY_CONFIG), userParameters };
}

function jobEvent(userParameters: string) {
  return { 'CodePipeline.job': { id: 'job-1', accountId: '123456789012', data: { actionConfiguration: { configuration: { FunctionName: 'notify', UserParameters: userParameters } } } } };
}

describeWithEmulator('SlackNotifyStage on the emulator (bundled handler, Secrets Manager in moto)', emulator => {
  let slack: FakeSlack;
  let secretArn: string;

  beforeAll(async () => {
    slack = await FakeSlack.start();
  });
  afterAll(async () => {
    await slack.stop();
  });

  beforeEach(async () => {
    slack.reset();
    const created = await emulator().client(SecretsManagerClient).send(new CreateSecretCommand({
      Name: 'slack/releases', SecretString: JSON.stringify({ url: slack.url('/services/T1/B1/emulator-token') }),
    }));
    secretArn = created.ARN!;
    scriptCodePipeline(emulator());
    scriptCodeCommit(emulator());
  });

  /** The construct's configuration, pointed at the secret moto created (moto picks its ARN suffix). */
  function environment(failPipelineOnError = false): Record<string, string> {
    const { config } = synthesizedConfig(failPipelineOnError);
    config.channels[0].webhook.secretArn = secretArn;
    return { SLACK_NOTIFY_CONFIG: JSON.stringify(config) };
  }

  function invoke(event: unknown, env: Record<string, string>) {
    return emulator().invokeHandler(HANDLER, event, { functionName: 'notify' }, env);
  }

  function jobResults() {
    return { success: emulator().calls('codepipeline', 'PutJobSuccessResult'), failure: emulator().calls('codepipeline', 'PutJobFailureResult') };
  }

  test('action mode: the message is posted, the secret read from moto, success reported once', async () => {
    const { userParameters } = synthesizedConfig(false);
    await invoke(jobEvent(userParameters.replace('#{codepipeline.PipelineExecutionId}', EXECUTION_ID)), environment());

    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0].body.blocks[0].text.text).toBe(':white_check_mark: REACHED Announce · release');
    expect(JSON.stringify(slack.posts[0].body)).toContain(`|\`${COMMIT.slice(0, 7)}\`>`);
    expect(emulator().calls('secretsmanager', 'GetSecretValue').map(c => c.input)).toEqual([{ SecretId: secretArn }]);
    const { success, failure } = jobResults();
    expect(success.map(c => c.input)).toEqual([{ jobId: 'job-1', executionDetails: { summary: 'posted to releases' } }]);
    expect(failure).toEqual([]);
    // The bundled handler's logs (in the emulator log) never hold the webhook.
    const log = await emulator().readLog();
    expect(log).toContain('posted to Slack');
    expect(log).not.toContain('emulator-token');
  });

  test('Slack down: the job still succeeds once, saying the post failed', async () => {
    slack.reply({ status: 500, body: 'internal_error' });
    await invoke(jobEvent('{"v":1,"failOnError":false}'), environment());
    expect(slack.posts).toHaveLength(4);
    const { success, failure } = jobResults();
    expect(success).toHaveLength(1);
    expect(success[0].input.executionDetails.summary).toMatch(/^Slack notification failed, the pipeline continues: posting to releases failed: Slack answered 500/);
    expect(failure).toEqual([]);
  });

  test('failPipelineOnError and a permanent Slack answer: failure reported once', async () => {
    slack.reply({ status: 400, body: 'invalid_payload' });
    await invoke(jobEvent('{"v":1,"failOnError":true}'), environment(true));
    const { success, failure } = jobResults();
    expect(success).toEqual([]);
    expect(failure.map(c => c.input.failureDetails.message)).toEqual([
      'Error: Slack notification failed: posting to releases failed: Slack rejected the message: 400 invalid_payload',
    ]);
  });

  test('the secret is gone from Secrets Manager: the job succeeds once, naming the secret', async () => {
    await emulator().client(SecretsManagerClient).send(new DeleteSecretCommand({ SecretId: secretArn, ForceDeleteWithoutRecovery: true }));
    await invoke(jobEvent('{"v":1,"failOnError":false}'), environment());
    expect(slack.posts).toEqual([]);
    const { success, failure } = jobResults();
    expect(success.map(c => c.input.executionDetails.summary)).toEqual([expect.stringContaining(`could not read the webhook from secret ${secretArn} (field \`url\`): ResourceNotFoundException`)]);
    expect(failure).toEqual([]);
  });

  test('crash path: PutJobSuccessResult is refused, so the failure is reported instead, once', async () => {
    emulator().script('codepipeline', 'PutJobSuccessResult', { error: { code: 'ValidationException', message: 'summary refused', status: 400 } });
    await invoke(jobEvent('{"v":1,"failOnError":false}'), environment());
    const { success, failure } = jobResults();
    expect(success).toHaveLength(1); // attempted, refused
    expect(failure.map(c => c.input.failureDetails.message)).toEqual([expect.stringMatching(/^reporting success failed: ValidationException: summary refused/)]);
  });

  test('crash path: PutJobSuccessResult answered 500 is thrown for Lambda\'s retry, which reports it without posting again', async () => {
    emulator().script('codepipeline', 'PutJobSuccessResult', { error: { code: 'InternalFailure', message: 'boom', status: 500 } }, { body: {} });
    const event = jobEvent('{"v":1,"failOnError":false}');
    await expect(invoke(event, environment())).rejects.toMatchObject({ name: 'InternalFailure', message: 'boom' });
    await invoke(event, environment());
    expect(slack.posts).toHaveLength(1);
    const { success, failure } = jobResults();
    expect(success).toHaveLength(2);
    expect(failure).toEqual([]);
  });

  test('crash path: a broken function configuration fails the job once, nothing is posted', async () => {
    await invoke(jobEvent('{"v":1,"failOnError":false}'), { SLACK_NOTIFY_CONFIG: '{"channels": [' });
    const { success, failure } = jobResults();
    expect(success).toEqual([]);
    expect(failure.map(c => c.input.failureDetails.message)).toEqual([expect.stringMatching(/^SLACK_NOTIFY_CONFIG is not valid JSON/)]);
    expect(slack.posts).toEqual([]);
  });

  test('every CodePipeline read API failing: still posted, success once', async () => {
    for (const op of ['GetJobDetails', 'GetPipelineExecution', 'ListActionExecutions']) {
      emulator().script('codepipeline', op, { error: { code: 'ThrottlingException', message: 'Rate exceeded' } });
    }
    await invoke(jobEvent(`{"v":1,"failOnError":false,"executionId":"${EXECUTION_ID}"}`), environment());
    expect(slack.posts).toHaveLength(1);
    expect(jobResults().success).toHaveLength(1);
    expect(jobResults().failure).toEqual([]);
  });

  test('commit author: GetCommit on the synthesized repository, the author shown, nothing of the commit logged', async () => {
    // The CodeCommit answer is scripted (scriptCodeCommit): moto has no commits.
    const env = environment();
    expect(JSON.parse(env.SLACK_NOTIFY_CONFIG).codeCommitRepositories).toEqual([{ name: 'app', arn: 'arn:aws:codecommit:us-east-1:123456789012:app' }]);

    await invoke(jobEvent('{"v":1,"failOnError":false}'), env);

    expect(emulator().calls('codecommit', 'GetCommit').map(c => c.input)).toEqual([{ repositoryName: 'app', commitId: COMMIT }]);
    expect(JSON.stringify(slack.posts[0].body)).toContain('Add health check · by Dana Dev');
    expect(jobResults().success).toHaveLength(1);
    const log = await emulator().readLog();
    expect(log).not.toMatch(/Dana|dana@example\.com/);
  });

  test('commit author: GetCommit failing still posts, without the author, and succeeds once', async () => {
    emulator().script('codecommit', 'GetCommit', { error: { code: 'CommitDoesNotExistException', message: 'no such commit' } });
    await invoke(jobEvent('{"v":1,"failOnError":false}'), environment());
    const message = JSON.stringify(slack.posts[0].body);
    expect(message).not.toContain(' · by ');
    expect(message).toContain('Could not read commit authors from CodeCommit');
    expect(jobResults().success).toHaveLength(1);
    expect(jobResults().failure).toEqual([]);
  });

  test('event mode: a failed execution is posted, and no job result is reported', async () => {
    await invoke({
      'source': 'aws.codepipeline',
      'detail-type': 'CodePipeline Pipeline Execution State Change',
      'account': '123456789012',
      'region': 'us-east-1',
      'time': '2025-03-04T10:30:00Z',
      'detail': { 'pipeline': 'release', 'execution-id': EXECUTION_ID, 'state': 'FAILED' },
    }, environment());
    expect(slack.posts).toHaveLength(1);
    expect(JSON.stringify(slack.posts[0].body)).toContain('*Failed in:* Build › Test');
    expect(jobResults()).toEqual({ success: [], failure: [] });
  });
});

/** moto has no CodePipeline job or execution APIs (they answer 500): these answers are scripted. */
function scriptCodePipeline(emulator: Emulator): void {
  emulator.script('codepipeline', 'PutJobSuccessResult', { body: {} });
  emulator.script('codepipeline', 'PutJobFailureResult', { body: {} });
  emulator.script('codepipeline', 'GetJobDetails', {
    body: {
      jobDetails: {
        id: 'job-1',
        data: {
          pipelineContext: {
            pipelineName: 'release', pipelineExecutionId: EXECUTION_ID, stage: { name: 'Announce' }, action: { name: 'Announce' },
          },
        },
      },
    },
  });
  emulator.script('codepipeline', 'GetPipelineExecution', {
    body: {
      pipelineExecution: {
        pipelineName: 'release',
        pipelineExecutionId: EXECUTION_ID,
        status: 'InProgress',
        trigger: { triggerType: 'CloudWatchEvent' },
        artifactRevisions: [{ name: 'Source', revisionId: COMMIT, revisionSummary: 'Add health check', revisionUrl: `https://example.com/commit/${COMMIT}` }],
      },
    },
  });
  emulator.script('codepipeline', 'ListActionExecutions', {
    body: {
      actionExecutionDetails: actionExecutionDetails('InProgress'),
    },
  });
}

/**
 * moto 5.2.1's CodeCommit has CreateRepository, GetRepository and DeleteRepository only (no commits,
 * no PutFile, no GetCommit), and answers their dates as ISO strings the SDK cannot parse: GetCommit is scripted.
 */
function scriptCodeCommit(emulator: Emulator): void {
  emulator.script('codecommit', 'GetCommit', {
    body: {
      commit: {
        commitId: COMMIT,
        message: 'Add health check',
        author: { name: 'Dana Dev', email: 'dana@example.com', date: '1741082400 +0000' },
        committer: { name: 'Dana Dev', email: 'dana@example.com', date: '1741082400 +0000' },
      },
    },
  });
}
