import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { cdkPipeline, pipelineWithSource, stagesOf, webhookSecret } from './fixtures';
import { PipelineEvent, PipelineStageStep, SlackChannel, SlackNotifyStage, SlackNotifyStageProps, SlackOutcome, SlackWebhook } from '../../src';

const ENV = { account: '111111111111', region: 'eu-west-1' };

function setup() {
  const stack = new Stack(new App(), 'PipelineStack', { env: ENV });
  const { pipeline } = pipelineWithSource(stack);
  const secret = webhookSecret(stack);
  return { stack, pipeline, secret, webhook: SlackWebhook.fromSecret(secret) };
}

function notifyConfig(template: Template, logicalIdPrefix = 'Notify'): any {
  const functions = template.findResources('AWS::Lambda::Function');
  const [id] = Object.keys(functions).filter(k => k.startsWith(`${logicalIdPrefix}Function`));
  const value = functions[id].Properties.Environment.Variables.SLACK_NOTIFY_CONFIG;
  // Resolve the Fn::Join around token values (the secret ARN) to readable placeholders.
  const text = typeof value === 'string' ? value : value['Fn::Join'][1].map((p: unknown) => typeof p === 'string' ? p : `<${Object.values(p as object).flat().join('.')}>`).join('');
  return JSON.parse(text);
}

/** Places a stage in a new pipeline of its stack (a stage that is neither placed nor watching a pipeline fails synth). */
function placed(stage: SlackNotifyStage): SlackNotifyStage {
  stage.addToPipeline(pipelineWithSource(Stack.of(stage)).pipeline);
  return stage;
}

function policyStatements(template: Template): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p: any) => JSON.stringify(p.Properties.Roles).includes('NotifyFunctionServiceRole'))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

describe('event mode', () => {
  test('the default events make one rule on the pipeline\'s failed, stopped and superseded executions', () => {
    const { stack, pipeline, webhook } = setup();
    const notify = new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'alerts', webhook }], pipeline });
    const template = Template.fromStack(stack);

    expect(notify.rules).toHaveLength(1);
    template.resourceCountIs('AWS::Events::Rule', 2); // the other is the CodeCommit source trigger
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.codepipeline'],
        'detail-type': ['CodePipeline Pipeline Execution State Change'],
        'resources': [stack.resolve(pipeline.pipelineArn)],
        'detail': { state: ['FAILED', 'STOPPED', 'SUPERSEDED'] },
      },
      Targets: [Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NotifyFunction'), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NotifyDeadLetterQueue'), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
      })],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NotifyDeadLetterQueue'), 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
  });

  test.each(([
    [PipelineEvent.EXECUTION_FAILED, 'CodePipeline Pipeline Execution State Change', { state: ['FAILED'] }],
    [PipelineEvent.EXECUTION_STOPPED, 'CodePipeline Pipeline Execution State Change', { state: ['STOPPED'] }],
    [PipelineEvent.EXECUTION_SUPERSEDED, 'CodePipeline Pipeline Execution State Change', { state: ['SUPERSEDED'] }],
    [PipelineEvent.EXECUTION_SUCCEEDED, 'CodePipeline Pipeline Execution State Change', { state: ['SUCCEEDED'] }],
    [PipelineEvent.ACTION_FAILED, 'CodePipeline Action Execution State Change', { state: ['FAILED'] }],
    [PipelineEvent.APPROVAL_WAITING, 'CodePipeline Action Execution State Change', { state: ['STARTED'], type: { category: ['Approval'] } }],
  ] as Array<[PipelineEvent, string, object]>).map(([event, type, detail]) => [event.name, event, type, detail] as const))(
    '%s has its own event pattern', (_, event, detailType, detail) => {
      const { stack, pipeline, webhook } = setup();
      const notify = new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'all', webhook }], pipeline, events: [event] });
      expect(notify.rules).toHaveLength(1);
      Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
        EventPattern: { 'source': ['aws.codepipeline'], 'detail-type': [detailType], 'resources': [stack.resolve(pipeline.pipelineArn)], detail },
      });
    });

  test('execution events share one rule; action failures and approvals get one each', () => {
    const { stack, pipeline, webhook } = setup();
    const notify = new SlackNotifyStage(stack, 'Notify', {
      channels: [{ name: 'all', webhook }],
      pipeline,
      events: [PipelineEvent.EXECUTION_SUCCEEDED, PipelineEvent.EXECUTION_FAILED, PipelineEvent.ACTION_FAILED, PipelineEvent.APPROVAL_WAITING],
    });
    expect(notify.rules.map(r => r.node.id)).toEqual(['ExecutionRule', 'ActionFailedRule', 'ApprovalRule']);
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ detail: { state: ['SUCCEEDED', 'FAILED'] } }),
    });
  });

  test('without a pipeline there is no rule, and the function reads only the pipeline it is placed in', () => {
    const { stack, pipeline, webhook } = setup();
    const notify = new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'all', webhook }] });
    notify.addToPipeline(pipeline);
    expect(notify.rules).toEqual([]);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Events::Rule', 1); // the CodeCommit source trigger
    const reads = policyStatements(template).filter(s => [s.Action].flat().includes('codepipeline:ListActionExecutions'));
    expect(reads.map(s => s.Resource)).toEqual([stack.resolve(pipeline.pipelineArn)]);
  });
});

describe('IAM', () => {
  test('the function reads only its secret, and only the pipelines it watches or is placed in, with no wildcard action', () => {
    const { stack, pipeline, webhook } = setup();
    const notify = new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'all', webhook }], pipeline });
    notify.addToPipeline(pipeline, { stageName: 'Notify' });
    const template = Template.fromStack(stack);
    const statements = policyStatements(template);

    expect(statements.flatMap(s => [s.Action].flat()).filter((a: string) => a.includes('*'))).toEqual([]);
    const secretRead = statements.find(s => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(secretRead.Resource).toEqual({ Ref: expect.stringMatching(/^Webhook/) });
    const pipelineRead = statements.filter(s => [s.Action].flat().includes('codepipeline:GetPipelineExecution'));
    expect(pipelineRead).toEqual([{
      Action: ['codepipeline:GetPipelineExecution', 'codepipeline:ListActionExecutions'],
      Effect: 'Allow',
      Resource: stack.resolve(pipeline.pipelineArn),
    }]);
    expect(statements.flatMap(s => [s.Action].flat()).filter((a: string) => a.startsWith('codecommit:'))).toEqual([]);
    expect(notifyConfig(template).codeCommitRepositories).toBeUndefined();
    // Job APIs have no resource-level permissions; they are the only statements on '*'.
    expect(statements.filter(s => s.Resource === '*').flatMap(s => [s.Action].flat()).sort())
      .toEqual(['codepipeline:GetJobDetails', 'codepipeline:PutJobFailureResult', 'codepipeline:PutJobSuccessResult']);
    // The pipeline read grant is a policy of its own, so the pipeline -> function -> pipeline cycle cannot form.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('^NotifyPipelineReadPolicy'),
      Roles: [{ Ref: Match.stringLikeRegexp('^NotifyFunctionServiceRole') }],
    });
  });

  test('codeCommitRepositories: GetCommit on exactly those repositories, whose names and ARNs are in the configuration', () => {
    const { stack, pipeline, webhook } = setup();
    const created = new codecommit.Repository(stack, 'ShopRepo', { repositoryName: 'shop' });
    const imported = codecommit.Repository.fromRepositoryArn(stack, 'InfraRepo', `arn:aws:codecommit:eu-west-1:${ENV.account}:infra`);
    new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'all', webhook }], pipeline, codeCommitRepositories: [created, imported] });
    const template = Template.fromStack(stack);
    const statements = policyStatements(template);

    const commitRead = statements.filter(s => [s.Action].flat().some((a: string) => a.startsWith('codecommit:')));
    expect(commitRead).toEqual([{
      Action: 'codecommit:GetCommit',
      Effect: 'Allow',
      Resource: [stack.resolve(created.repositoryArn), `arn:aws:codecommit:eu-west-1:${ENV.account}:infra`],
    }]);
    const createdId = stack.getLogicalId(created.node.defaultChild as codecommit.CfnRepository);
    expect(notifyConfig(template).codeCommitRepositories).toEqual([
      { name: `<${createdId}.Name>`, arn: `<${createdId}.Arn>` },
      { name: 'infra', arn: `arn:aws:codecommit:eu-west-1:${ENV.account}:infra` },
    ]);
  });

  test('a secret with a customer managed key can be decrypted through Secrets Manager only; a JSON field is passed by name', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const secret = new secretsmanager.Secret(stack, 'Webhook', { encryptionKey: key });
    placed(new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'all', webhook: SlackWebhook.fromSecret(secret, 'url') }] }));
    const template = Template.fromStack(stack);

    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: 'kms:Decrypt',
          Principal: { AWS: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NotifyFunctionServiceRole'), 'Arn'] } },
          Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
        })]),
      },
    });
    expect(notifyConfig(template).channels[0].webhook).toEqual({ secretArn: expect.stringContaining('Webhook'), jsonField: 'url' });
  });

  test.each([
    ['by name', () => SlackWebhook.fromSecureStringParameterName('/slack/releases')],
    ['as an IStringParameter', (stack: Stack) => SlackWebhook.fromSecureStringParameter(
      ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Param', { parameterName: '/slack/releases' }))],
  ])('a SecureString parameter %s: read access to that parameter only', (_, webhook) => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    placed(new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'releases', webhook: webhook(stack) }] }));
    const template = Template.fromStack(stack);
    const read = policyStatements(template).find(s => [s.Action].flat().includes('ssm:GetParameter'));
    expect(read.Resource).toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:eu-west-1:111111111111:parameter/slack/releases']] });
    expect(notifyConfig(template).channels[0].webhook).toEqual({ parameterName: '/slack/releases' });
  });

  test('a parameter with a customer managed key adds decrypt on that key', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    placed(new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'releases', webhook: SlackWebhook.fromSecureStringParameterName('slack-hook', key) }] }));
    const decrypt = policyStatements(Template.fromStack(stack)).find(s => [s.Action].flat().includes('kms:Decrypt'));
    expect(decrypt.Resource).toBe('arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
  });

  test('the webhook is never in the function\'s configuration: only where it is kept, and the routing', () => {
    const { stack, pipeline, webhook } = setup();
    new SlackNotifyStage(stack, 'Notify', {
      channels: [{ name: 'alerts', webhook, outcomes: [SlackOutcome.FAILED] }, { name: 'releases', webhook: SlackWebhook.fromSecureStringParameterName('/slack/releases') }],
      pipeline,
      eventText: 'on-call: @release-team',
      requestTimeout: Duration.seconds(5),
    });
    const config = notifyConfig(Template.fromStack(stack));
    expect(config).toEqual({
      channels: [
        { name: 'alerts', webhook: { secretArn: expect.stringContaining('Webhook') }, outcomes: ['FAILED'] },
        { name: 'releases', webhook: { parameterName: '/slack/releases' }, outcomes: ['SUCCEEDED', 'FAILED', 'CANCELLED', 'APPROVAL'] },
      ],
      eventText: 'on-call: @release-team',
      requestTimeoutMs: 5000,
      maxAttempts: 4,
    });
  });
});

describe('action mode', () => {
  test('codepipeline.Pipeline: a Lambda invoke action whose user parameters carry the settings and the text with variables', () => {
    const { stack, pipeline, webhook } = setup();
    const notify = new SlackNotifyStage(stack, 'Notify', {
      channels: [{ name: 'releases', webhook }],
      actionText: 'Released #{SourceVariables.CommitId} "#{SourceVariables.CommitMessage}"',
      failPipelineOnError: true,
    });
    notify.addToPipeline(pipeline, { stageName: 'Announce', actionName: 'Slack' });
    const announce = stagesOf(Template.fromStack(stack)).find(s => s.Name === 'Announce')!;

    expect(announce.Actions).toEqual([expect.objectContaining({
      Name: 'Slack',
      RunOrder: 1,
      ActionTypeId: expect.objectContaining({ Category: 'Invoke', Provider: 'Lambda' }),
      Configuration: {
        FunctionName: { Ref: expect.stringMatching(/^NotifyFunction/) },
        UserParameters: '{"v":1,"failOnError":true,"executionId":"#{codepipeline.PipelineExecutionId}"}\n'
          + 'Released #{SourceVariables.CommitId} "#{SourceVariables.CommitMessage}"',
      },
    })]);
  });

  test('addToStage places the action after others; failPipelineOnError defaults to false', () => {
    const { stack, pipeline, webhook } = setup();
    const used = new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'releases', webhook }] })
      .addToStage(pipeline.stage('Release'), { runOrder: 2 });
    expect(used).toBe(1);
    const release = stagesOf(Template.fromStack(stack)).find(s => s.Name === 'Release')!;
    expect(release.Actions.map(a => [a.Name, a.RunOrder])).toEqual([['Approve', 1], ['Notify', 2]]);
    expect(release.Actions[1].Configuration.UserParameters).toBe('{"v":1,"failOnError":false,"executionId":"#{codepipeline.PipelineExecutionId}"}');
  });

  test('CDK Pipelines: a step in a wave, with read access to the pipeline CDK Pipelines builds', () => {
    const stack = new Stack(new App(), 'PipelineStack', { env: ENV });
    const { pipeline } = cdkPipeline(stack);
    const notify = new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'releases', webhook: SlackWebhook.fromSecret(webhookSecret(stack)) }], actionText: 'deployed' });
    pipeline.addWave('Announce', { post: [PipelineStageStep.fromStage(notify)] });
    pipeline.buildPipeline();
    const template = Template.fromStack(stack);

    const announce = stagesOf(template).find(s => s.Name === 'Announce')!;
    expect(announce.Actions).toEqual([expect.objectContaining({
      Name: 'Notify',
      ActionTypeId: expect.objectContaining({ Provider: 'Lambda' }),
      Configuration: expect.objectContaining({ UserParameters: expect.stringMatching(/^\{"v":1,"failOnError":false,.*\}\ndeployed$/) }),
    })]);
    const pipelineRead = policyStatements(template).find(s => [s.Action].flat().includes('codepipeline:ListActionExecutions'));
    expect(pipelineRead.Resource).toEqual(stack.resolve(pipeline.pipeline.pipelineArn));
  });

  test('CDK Pipelines: a stage created by a factory', () => {
    const stack = new Stack(new App(), 'PipelineStack', { env: ENV });
    const { pipeline } = cdkPipeline(stack);
    const secret = webhookSecret(stack);
    pipeline.addWave('Announce', {
      pre: [PipelineStageStep.fromFactory('Starting', {
        createStage: (scope, id) => new SlackNotifyStage(scope, id, { channels: [{ name: 'releases', webhook: SlackWebhook.fromSecret(secret) }] }),
      })],
    });
    pipeline.buildPipeline();
    const template = Template.fromStack(stack);
    expect(stagesOf(template).find(s => s.Name === 'Announce')!.Actions.map(a => a.Name)).toEqual(['Starting']);
    template.resourceCountIs('AWS::Lambda::Function', 1);
  });

  test('several notifiers in one stack and one pipeline do not collide', () => {
    const { stack, pipeline, webhook } = setup();
    const other = SlackWebhook.fromSecureStringParameterName('/slack/other');
    const first = new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'a', webhook }], pipeline });
    const second = new SlackNotifyStage(stack, 'NotifyOthers', { channels: [{ name: 'b', webhook: other }], pipeline, events: [PipelineEvent.EXECUTION_SUCCEEDED] });
    first.addToStage(pipeline.stage('Release'), { runOrder: 2 });
    second.addToStage(pipeline.stage('Release'), { runOrder: 2 });
    const template = Template.fromStack(stack);

    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('AWS::SQS::Queue', 2);
    expect(notifyConfig(template, 'Notify').channels[0].name).toBe('a');
    expect(notifyConfig(template, 'NotifyOthers').channels[0].name).toBe('b');
    expect(stagesOf(template).find(s => s.Name === 'Release')!.Actions.map(a => a.Name)).toEqual(['Approve', 'Notify', 'NotifyOthers']);
    expect(first.function.functionArn).not.toBe(second.function.functionArn);
  });
});

describe('validation', () => {
  const pipelineLess = (props: Partial<SlackNotifyStageProps>) => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const webhook = SlackWebhook.fromSecret(webhookSecret(stack));
    const { pipeline } = pipelineWithSource(stack);
    return () => new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'all', webhook }], ...props, pipeline: 'pipeline' in props ? pipeline : undefined });
  };

  test.each<[string, Partial<SlackNotifyStageProps>, string]>([
    ['no channel', { channels: [] }, '`channels` must not be empty'],
    ['a bad channel name', { channels: [{ name: 'my alerts', webhook: SlackWebhook.fromSecureStringParameterName('p') }] },
      "`channels[0].name` must be 1 to 64 characters of A-Z, a-z, 0-9, #, _, . and -, got: 'my alerts'"],
    ['a duplicate channel name', {
      channels: [
        { name: 'x', webhook: SlackWebhook.fromSecureStringParameterName('p') },
        { name: 'x', webhook: SlackWebhook.fromSecureStringParameterName('q') },
      ],
    }, "`channels[1].name` must be unique, got: 'x'"],
    ['no outcome', { channels: [{ name: 'x', webhook: SlackWebhook.fromSecureStringParameterName('p'), outcomes: [] }] }, '`channels[0].outcomes` must not be empty'],
    ['events without a pipeline', { events: [PipelineEvent.EXECUTION_FAILED] }, '`events` must be given together with `pipeline`, got: no `pipeline`'],
    ['no event', { events: [], pipeline: undefined }, '`events` must not be empty'],
    ['an event no channel receives', {
      pipeline: undefined,
      channels: [{ name: 'releases', webhook: SlackWebhook.fromSecureStringParameterName('p'), outcomes: [SlackOutcome.SUCCEEDED] }],
    }, "`events` must only include events some channel receives (no channel receives FAILED), got: 'EXECUTION_FAILED'"],
    ['an empty action text', { actionText: ' ' }, "`actionText` must not be empty, got: ' '"],
    ['an empty event text', { eventText: '' }, "`eventText` must not be empty, got: ''"],
    ['an action text over the user parameters limit', { actionText: 'x'.repeat(1000) }, "`actionText` must be at most 921 characters, got: '1000 characters'"],
    ['a request timeout over 30 s', { requestTimeout: Duration.minutes(1) }, "`requestTimeout` must be from 1 second to 30 seconds, got: '1 minute'"],
  ])('rejects %s', (_, props, message) => {
    expect(pipelineLess(props)).toThrow(message);
  });

  test('rejects bad webhook locations', () => {
    expect(() => SlackWebhook.fromSecret(secretsmanager.Secret.fromSecretNameV2(new Stack(), 'S', 'hook'), ''))
      .toThrow("`jsonField` must not be empty, got: ''");
    expect(() => SlackWebhook.fromSecureStringParameterName('has space')).toThrow(
      "`parameterName` must be an SSM parameter name (a-z, A-Z, 0-9, _, ., - and /), got: 'has space'");
  });

  test('placing the stage in a pipeline needs a channel that receives SUCCEEDED', () => {
    const { stack, pipeline, webhook } = setup();
    const notify = new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'alerts', webhook, outcomes: [SlackOutcome.FAILED] }], pipeline, events: [PipelineEvent.EXECUTION_FAILED] });
    expect(() => notify.addToPipeline(pipeline)).toThrow(
      'SlackNotifyStage at PipelineStack/Notify: `channels` must include one that receives SlackOutcome.SUCCEEDED for the stage to be placed in a pipeline, got: ["alerts"]');
  });

  test('a channel without a webhook names the channel, not an internal error', () => {
    expect(pipelineLess({ channels: [{ name: 'alerts' } as SlackChannel] })).toThrow(
      'SlackNotifyStage at S/Notify: `channels[0].webhook` must be a SlackWebhook: SlackWebhook.fromSecret(...), fromSecureStringParameter(...) '
      + 'or fromSecureStringParameterName(...), got: undefined');
    expect(pipelineLess({ channels: [{ name: 'alerts', webhook: { url: 'https://hooks.slack.com/x' } as unknown as SlackWebhook }] }))
      .toThrow('`channels[0].webhook` must be a SlackWebhook: SlackWebhook.fromSecret(...), fromSecureStringParameter(...) '
        + "or fromSecureStringParameterName(...), got: 'not a SlackWebhook'");
  });

  test('a stage with no pipeline that is never placed in one fails synth, naming the stage', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: ENV });
    new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'all', webhook: SlackWebhook.fromSecret(webhookSecret(stack)) }] });
    expect(() => app.synth()).toThrow('SlackNotifyStage at S/Notify would post nothing: it has no `pipeline` and was never placed in a pipeline. '
      + 'Give `pipeline` for event notifications, or place it with addToPipeline, addToStage or PipelineStageStep');
  });

  test.each([
    ['region', 'arn:aws:codepipeline:us-east-1:111111111111:release', 'region eu-west-1', 'region us-east-1'],
    ['account', 'arn:aws:codepipeline:eu-west-1:222222222222:release', 'account 111111111111', 'account 222222222222'],
  ])('a watched pipeline in another %s fails synth (its events never reach this stack\'s rules)', (_, arn, mine, theirs) => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const pipeline = codepipeline.Pipeline.fromPipelineArn(stack, 'Other', arn);
    expect(() => new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'all', webhook: SlackWebhook.fromSecret(webhookSecret(stack)) }], pipeline }))
      .toThrow(`SlackNotifyStage at S/Notify: \`pipeline\` must be in this stack's ${mine}: EventBridge delivers a pipeline's events in its own account `
        + `and region only, so a rule here would never fire (the pipeline is in ${theirs}), got: '${arn}'`);
  });

  test('a watched pipeline of another stack in another region fails synth too', () => {
    const app = new App();
    const other = new Stack(app, 'Other', { env: { ...ENV, region: 'us-west-2' } });
    const { pipeline } = pipelineWithSource(other);
    const stack = new Stack(app, 'S', { env: ENV });
    expect(() => new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'all', webhook: SlackWebhook.fromSecret(webhookSecret(stack)) }], pipeline }))
      .toThrow("`pipeline` must be in this stack's region eu-west-1");
  });

  test('a token parameter name is accepted: the function may read the parameter under both forms of its ARN', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const name = new CfnParameter(stack, 'WebhookParameterName').valueAsString;
    placed(new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'releases', webhook: SlackWebhook.fromSecureStringParameterName(name) }] }));
    const template = Template.fromStack(stack);
    const read = policyStatements(template).find(s => [s.Action].flat().includes('ssm:GetParameter'));
    const arn = (separator: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:ssm:eu-west-1:111111111111:parameter${separator}`, { Ref: 'WebhookParameterName' }]],
    });
    expect(read.Resource).toEqual([arn(''), arn('/')]);
    expect(JSON.stringify(notifyConfig(template).channels[0].webhook)).toBe('{"parameterName":"<WebhookParameterName>"}');
  });

  test.each([
    ['https://chat.example.com'], ['10.0.0.1'], ['chat.example.com:8443'], ['*.example.com'], ['Chat.Example.com'], ['chat.example.com/hooks'], ['[::1]'],
  ])('allowedWebhookHosts rejects %p', host => {
    expect(pipelineLess({ allowedWebhookHosts: [host] })).toThrow(
      `SlackNotifyStage at S/Notify: \`allowedWebhookHosts[0]\` must be a lower-case host name such as chat.example.com (no scheme, IP address, port, path or wildcard), got: '${host}'`);
  });

  test('allowedWebhookHosts rejects loopback names and an empty list', () => {
    expect(pipelineLess({ allowedWebhookHosts: ['chat.example.com', 'hooks.localhost'] }))
      .toThrow("`allowedWebhookHosts[1]` must not be a loopback name, got: 'hooks.localhost'");
    expect(pipelineLess({ allowedWebhookHosts: ['localhost'] })).toThrow('`allowedWebhookHosts[0]` must be a lower-case host name');
    expect(pipelineLess({ allowedWebhookHosts: [] })).toThrow('`allowedWebhookHosts` must not be empty');
  });

  test('allowedWebhookHosts are passed to the function; without them, only Slack\'s hosts are allowed there', () => {
    const { stack, pipeline, webhook } = setup();
    new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'all', webhook }], pipeline, allowedWebhookHosts: ['chat.example.com'] });
    new SlackNotifyStage(stack, 'Plain', { channels: [{ name: 'all', webhook }], pipeline });
    const template = Template.fromStack(stack);
    expect(notifyConfig(template).allowedWebhookHosts).toEqual(['chat.example.com']);
    expect(notifyConfig(template, 'Plain').allowedWebhookHosts).toBeUndefined();
  });

  test('rejects codeCommitRepositories that are empty, name a repository twice, or are in another account or region', () => {
    const repo = (stack: Stack, id: string, arn: string) => codecommit.Repository.fromRepositoryArn(stack, id, arn);
    const make = (repositories: (stack: Stack) => codecommit.IRepository[]) => () => {
      const stack = new Stack(new App(), 'S', { env: ENV });
      new SlackNotifyStage(stack, 'Notify', { channels: [{ name: 'all', webhook: SlackWebhook.fromSecureStringParameterName('p') }], codeCommitRepositories: repositories(stack) });
    };
    expect(make(() => [])).toThrow('`codeCommitRepositories` must not be empty');
    expect(make(stack => [repo(stack, 'A', `arn:aws:codecommit:eu-west-1:${ENV.account}:shop`), repo(stack, 'B', `arn:aws:codecommit:us-east-1:${ENV.account}:shop`)]))
      .toThrow("`codeCommitRepositories[1]` must name each repository once, got: 'shop'");
    expect(make(stack => [repo(stack, 'A', 'arn:aws:codecommit:eu-west-1:222222222222:shop')])).toThrow(
      "`codeCommitRepositories[0]` must be in this stack's account 111111111111 (CodeCommit has no resource policies to allow another account), "
      + "got: 'arn:aws:codecommit:eu-west-1:222222222222:shop'");
    expect(make(stack => [repo(stack, 'A', `arn:aws:codecommit:eu-central-1:${ENV.account}:shop`)])).toThrow(
      "SlackNotifyStage at S/Notify: `codeCommitRepositories[0]` must be in this stack's region eu-west-1 (the function reads commits in its own region; "
      + "a pipeline's source actions run in the pipeline's region), got: 'arn:aws:codecommit:eu-central-1:111111111111:shop'");
    expect(make(stack => [codecommit.Repository.fromRepositoryName(stack, 'A', 'shop')])).not.toThrow();
  });

  test('an action text of exactly the limit is accepted', () => {
    expect(pipelineLess({ actionText: 'x'.repeat(921) })).not.toThrow();
  });
});
