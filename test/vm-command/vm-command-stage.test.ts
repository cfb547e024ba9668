import { App, CfnElement, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { definitionOf, ENV, pipelineStack, statementsOf } from './fixtures';
import { FileParameterType, PipelineStageStep, VmCommand, VmCommandStage, VmCommandStageProps, VmTargets } from '../../src';
import { cfnLint, synthWithAwsSolutionsChecks } from '../template-checks';

const IDS = ['i-0123456789abcdef0', 'mi-0123456789abcdef0'];

const RUN_FUNCTION = 'VmCommandStageSharedRunFunction';
const EVENT_FUNCTION = 'VmCommandStageSharedEventFunction';

/** A stage placed in the test pipeline (with the source as input), unless `place` is false. */
function stageIn(props: Partial<VmCommandStageProps> = {}, place = true) {
  const setup = pipelineStack();
  const stage = new VmCommandStage(setup.stack, 'Vm', {
    targets: VmTargets.instanceIds(IDS),
    command: VmCommand.shell(['./run-tests.sh']),
    ...props,
  });
  if (place) stage.addToPipeline(setup.pipeline, { input: setup.source });
  return { ...setup, stage };
}

function sendCommandStatements(template: Template): any[] {
  return statementsOf(template, RUN_FUNCTION).filter(s => s.Action === 'ssm:SendCommand');
}

/** The stage's action in the synthesized pipeline, with its user parameters parsed. */
function actionOf(stack: Stack, stageName = 'Vm'): any {
  const [pipeline] = Object.values(Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline')) as any[];
  const action = pipeline.Properties.Stages.find((st: any) => st.Name === stageName).Actions[0];
  const text = action.Configuration.UserParameters['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : '<state machine>')).join('');
  return { ...action, userParameters: JSON.parse(text) };
}

function resolvedArn(stack: Stack, value: unknown): string {
  const resolved = stack.resolve(value);
  if (typeof resolved === 'string') return resolved;
  return resolved['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : '<partition>')).join('');
}

describe('the pipeline action', () => {
  test('is a Lambda action on the shared run function with the input artifact, namespace, its state machine and variable parameters', () => {
    const { stack, pipeline, source } = stageIn({ variableParameters: { commitId: '#{Source.CommitId}' } }, false);
    (stack.node.findChild('Vm') as VmCommandStage).addToPipeline(pipeline, { input: source, variablesNamespace: 'VmRun' });
    const action = actionOf(stack);
    expect(action).toMatchObject({
      Name: 'Vm',
      ActionTypeId: { Category: 'Invoke', Owner: 'AWS', Provider: 'Lambda', Version: '1' },
      InputArtifacts: [{ Name: 'Source' }],
      Namespace: 'VmRun',
      Configuration: { FunctionName: { Ref: expect.stringMatching(new RegExp(`^${RUN_FUNCTION}`)) } },
    });
    expect(action.userParameters).toEqual({
      variables: { commitId: '#{Source.CommitId}' },
      stateMachineArn: '<state machine>',
      pipelineExecutionId: '#{codepipeline.PipelineExecutionId}',
      // The default 5-minute backstop: nine minutes (see test/core/private/long-running-job.test.ts).
      renewAfterSeconds: 540,
    });
    const longBackstop = stageIn({ backstopInterval: Duration.minutes(10) });
    expect(actionOf(longBackstop.stack).userParameters.renewAfterSeconds).toBe(300);
  });

  test('a stage with a parameters file needs an input artifact', () => {
    const { pipeline, stage } = stageIn({ parametersFile: 'vm.json' }, false);
    expect(() => stage.addToPipeline(pipeline)).toThrow("VmCommandStage at PipelineStack/Vm: `input` must be set: the stage reads its parameters file 'vm.json' from it");
  });

  test('the action passes the file path and allowlist; the targets are in the state machine', () => {
    const { stack } = stageIn({
      parametersFile: 'ci/vm.json',
      fileParameters: { suite: FileParameterType.STRING, retries: FileParameterType.INTEGER },
      allowTargetsFromFile: true,
    });
    expect(actionOf(stack).userParameters).toMatchObject({
      parametersFile: 'ci/vm.json',
      fileParameters: { suite: 'string', retries: 'integer' },
      allowTargetsFromFile: true,
    });
    expect(definitionOf(Template.fromStack(stack)).States.PreFlight.Parameters.Payload).toEqual({
      'step': 'preflight', 'targets': { instanceIds: IDS }, 'fileTargets.$': '$.fileTargets',
    });
  });

  test('a stage never placed in a pipeline fails synth, instead of deploying functions nothing invokes', () => {
    const { stack } = stageIn({}, false);
    expect(() => Template.fromStack(stack)).toThrow(/VmCommandStage at PipelineStack\/Vm was never placed in a pipeline: use addToPipeline, addToStage or PipelineStageStep/);
  });

  test('a stage in another stack than its pipeline is refused with a clear message', () => {
    const setup = pipelineStack();
    const other = new Stack(setup.app, 'OtherStack', { env: ENV });
    const stage = new VmCommandStage(other, 'Vm', { targets: VmTargets.instanceIds(IDS), command: VmCommand.shell(['x']) });
    expect(() => stage.addToPipeline(setup.pipeline, { input: setup.source }))
      .toThrow('VmCommandStage at OtherStack/Vm must be in the stack of its pipeline (PipelineStack), got: OtherStack');
  });

  test('two stages in one stack and one pipeline share the functions, table and queue, not the state machine', () => {
    const { stack, pipeline, source } = pipelineStack();
    const deploy = pipeline.addStage({ stageName: 'Deploy' });
    new VmCommandStage(stack, 'Linux', { targets: VmTargets.instanceIds([IDS[0]]), command: VmCommand.shell(['make']) })
      .addToStage(deploy, { input: source });
    new VmCommandStage(stack, 'Windows', { targets: VmTargets.tags({ os: ['windows'] }), command: VmCommand.powerShell(['Invoke-Build']) })
      .addToStage(deploy, { input: source, runOrder: 2 });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::SQS::Queue', 1);
    template.resourceCountIs('AWS::Lambda::Function', 2);
    const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    expect(machines.every((m: any) => m.Properties.StateMachineName === undefined)).toBe(true);
  });

  test('works as a CDK Pipelines step', () => {
    const app = new App();
    const stack = new Stack(app, 'CdkPipelineStack', { env: ENV });
    const bucket = new s3.Bucket(stack, 'SourceBucket', { versioned: true });
    const source = pipelines.CodePipelineSource.s3(bucket, 'src.zip');
    const pipeline = new pipelines.CodePipeline(stack, 'Pipeline', {
      synth: new pipelines.ShellStep('Synth', { input: source, commands: ['echo synth'], primaryOutputDirectory: '.' }),
    });
    const stage = new VmCommandStage(stack, 'RunOnVms', {
      targets: VmTargets.resourceGroup('build-hosts'),
      command: VmCommand.shell(['make test']),
      parametersFile: 'vm.json',
    });
    pipeline.addWave('Verify', { pre: [PipelineStageStep.fromStage(stage, { input: source })] });
    pipeline.buildPipeline();
    const template = Template.fromStack(stack);
    const pipelineResource = Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0] as any;
    const verify = pipelineResource.Properties.Stages.find((s: any) => s.Name === 'Verify');
    expect(verify.Actions[0]).toMatchObject({ Name: 'RunOnVms', ActionTypeId: { Provider: 'Lambda' }, InputArtifacts: [{ Name: expect.any(String) }] });
  });
});

describe('IAM', () => {
  test('SendCommand is scoped to the document and the exact instance ARNs', () => {
    const { stack } = stageIn();
    const statements = sendCommandStatements(Template.fromStack(stack));
    expect(statements.map(s => [s.Resource].flat().map(r => resolvedArn(stack, r)))).toEqual([
      ['arn:<partition>:ssm:eu-west-1::document/AWS-RunShellScript'],
      ['arn:<partition>:ec2:eu-west-1:111111111111:instance/i-0123456789abcdef0',
        'arn:<partition>:ssm:eu-west-1:111111111111:managed-instance/mi-0123456789abcdef0'],
    ]);
    expect(statements.every(s => s.Condition === undefined)).toBe(true);
  });

  // Service Authorization Reference, AWS Systems Manager: SendCommand's resource types are document
  // (required), instance, managed-instance and bucket (the bucket of `OutputS3BucketName`).
  test('with an output bucket, SendCommand also covers the bucket, and only with one', () => {
    const withBucket = pipelineStack();
    const bucket = new s3.Bucket(withBucket.stack, 'Output');
    new VmCommandStage(withBucket.stack, 'Vm', { targets: VmTargets.instanceIds(IDS), command: VmCommand.shell(['x']), outputBucket: bucket })
      .addToPipeline(withBucket.pipeline, { input: withBucket.source });
    const statements = sendCommandStatements(Template.fromStack(withBucket.stack));
    expect(statements.map(s => withBucket.stack.resolve(s.Resource))).toContainEqual({ 'Fn::GetAtt': [withBucket.stack.getLogicalId(bucket.node.defaultChild as CfnElement), 'Arn'] });
    const { stack } = stageIn();
    expect(JSON.stringify(sendCommandStatements(Template.fromStack(stack)))).not.toContain('s3');
  });

  test('tag targets scope SendCommand on instances with an ssm:resourceTag condition', () => {
    const { stack } = stageIn({ targets: VmTargets.tags({ Env: ['prod'], Role: ['web', 'api'] }) });
    const [document, instances] = sendCommandStatements(Template.fromStack(stack));
    expect(document.Condition).toBeUndefined();
    expect(instances.Condition).toEqual({ StringEquals: { 'ssm:resourceTag/Env': ['prod'], 'ssm:resourceTag/Role': ['web', 'api'] } });
    expect(instances.Resource.map((r: unknown) => resolvedArn(stack, r))).toEqual([
      'arn:<partition>:ec2:eu-west-1:111111111111:instance/*',
      'arn:<partition>:ssm:eu-west-1:111111111111:managed-instance/*',
    ]);
  });

  test('a CfnDocument is addressed by its account ARN, and targets from the file open SendCommand to any instance', () => {
    const setup = pipelineStack();
    const doc = new ssm.CfnDocument(setup.stack, 'Doc', {
      documentType: 'Command',
      content: { schemaVersion: '2.2', mainSteps: [{ action: 'aws:runShellScript', name: 'run', inputs: { runCommand: ['echo'] } }] },
    });
    new VmCommandStage(setup.stack, 'Vm', {
      targets: VmTargets.instanceIds([IDS[0]]),
      command: VmCommand.document(doc),
      parametersFile: 'vm.json',
      allowTargetsFromFile: true,
    }).addToPipeline(setup.pipeline, { input: setup.source });
    const [document, instances] = sendCommandStatements(Template.fromStack(setup.stack));
    expect(setup.stack.resolve(document.Resource)['Fn::Join'][1]).toContainEqual({ Ref: 'Doc' });
    expect(instances.Condition).toBeUndefined();
    expect(instances.Resource.map((r: unknown) => resolvedArn(setup.stack, r))).toEqual([
      'arn:<partition>:ec2:eu-west-1:111111111111:instance/*',
      'arn:<partition>:ssm:eu-west-1:111111111111:managed-instance/*',
    ]);
  });

  test('pre-flight may list EC2 instances only when the targets are tags or may come from the file', () => {
    const describeInstances = (props: Partial<VmCommandStageProps>) =>
      statementsOf(Template.fromStack(stageIn(props).stack), RUN_FUNCTION)
        .filter(s => [s.Action].flat().includes('ec2:DescribeInstances'));

    expect(describeInstances({ targets: VmTargets.tags({ Env: ['prod'] }) })).toEqual([
      { Action: 'ec2:DescribeInstances', Effect: 'Allow', Resource: '*' },
    ]);
    expect(describeInstances({ parametersFile: 'vm.json', allowTargetsFromFile: true })).toHaveLength(1);
    expect(describeInstances({})).toEqual([]);
    expect(describeInstances({ targets: VmTargets.resourceGroup('scanners') })).toEqual([]);
    // Only the run function may list instances.
    const { stack } = stageIn({ targets: VmTargets.tags({ Env: ['prod'] }) });
    const everyStatement = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(everyStatement.filter(s => [s.Action].flat().includes('ec2:DescribeInstances'))).toHaveLength(1);
  });

  test('no role has a wildcard action, and the state machine, execution and table grants are scoped', () => {
    const { stack } = stageIn();
    const template = Template.fromStack(stack);
    // The stage's and its shared functions' roles (the pipeline's roles are CodePipeline's).
    const all = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p: any) => /"(Vm|VmCommandStageShared)/.test(JSON.stringify(p.Properties.Roles)))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(all.length).toBeGreaterThan(10);
    expect(all.flatMap(s => [s.Action].flat()).filter((a: string) => a.includes('*'))).toEqual([]);
    const stateMachine = { Ref: expect.stringMatching(/^VmStateMachine/) };
    expect(statementsOf(template, RUN_FUNCTION)).toContainEqual(expect.objectContaining({
      Action: ['states:StartExecution', 'states:SendTaskSuccess'], Resource: stateMachine,
    }));
    expect(statementsOf(template, EVENT_FUNCTION)).toContainEqual(expect.objectContaining({ Action: 'states:SendTaskSuccess', Resource: stateMachine }));
    expect(statementsOf(template, EVENT_FUNCTION).flatMap(s => [s.Action].flat()).filter((a: string) => a.startsWith('dynamodb:')))
      .toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    const stop = statementsOf(template, EVENT_FUNCTION).find(s => s.Action === 'states:StopExecution');
    expect(JSON.stringify(stop.Resource)).toContain(':execution:');
    expect(JSON.stringify(stop.Resource)).toContain('VmStateMachine');
    // The event function neither sends commands nor starts runs.
    expect(statementsOf(template, EVENT_FUNCTION).flatMap(s => [s.Action].flat())).not.toEqual(expect.arrayContaining(['ssm:SendCommand']));
    expect(statementsOf(template, RUN_FUNCTION).flatMap(s => [s.Action].flat())).toEqual(expect.arrayContaining(['ssm:CancelCommand', 'codepipeline:PutJobFailureResult']));
  });
});

describe('state machine and timeouts', () => {
  test('runs pre-flight, send, the event-driven wait with the backstop as its timeout, status, and finish', () => {
    const { stack } = stageIn({ backstopInterval: Duration.minutes(3), workingDirectory: '/opt/app', maxErrors: '10%', maxConcurrency: '5' });
    const definition = definitionOf(Template.fromStack(stack));
    expect(definition.StartAt).toBe('PreFlight');
    expect(Object.keys(definition.States)).toEqual(['PreFlight', 'SendCommand', 'WaitForCompletion', 'CheckStatus', 'IsFinished', 'Finish']);
    expect(Object.values(definition.States).flatMap((st: any) => [st.Parameters?.Payload?.step ?? st.Parameters?.step].filter(Boolean)))
      .toEqual(['preflight', 'send', 'wait', 'status', 'finish']);
    const wait = definition.States.WaitForCompletion;
    expect(wait.Resource).toContain('lambda:invoke.waitForTaskToken');
    expect(wait.TimeoutSeconds).toBe(180);
    expect(wait.Catch[0]).toEqual({ ErrorEquals: ['States.Timeout'], ResultPath: null, Next: 'CheckStatus' });
    expect(definition.States.IsFinished.Default).toBe('WaitForCompletion');
    for (const name of ['PreFlight', 'SendCommand', 'WaitForCompletion', 'CheckStatus']) {
      expect(definition.States[name].Catch).toContainEqual({ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Finish' });
    }
    expect(definition.States.SendCommand.Retry).toContainEqual(expect.objectContaining({ ErrorEquals: ['ThrottlingException', 'TooManyUpdates', 'SendCommandUncertain'], MaxAttempts: 6 }));
    expect(definition.States.SendCommand.Retry).toContainEqual(expect.objectContaining({ ErrorEquals: ['CommandNotRecorded'], MaxAttempts: 3 }));
    expect(definition.States.SendCommand.Parameters.Payload['retryCount.$']).toBe('$$.State.RetryCount');
    for (const name of ['CheckStatus', 'Finish']) expect(definition.States[name].Retry).toContainEqual(expect.objectContaining({ ErrorEquals: ['States.ALL'], MaxAttempts: 5 }));
    expect(definition.States.SendCommand.Parameters.Payload.config).toMatchObject({
      documentName: 'AWS-RunShellScript',
      parameters: { commands: ['./run-tests.sh'], workingDirectory: ['/opt/app'], executionTimeout: ['3600'] },
      deliveryTimeoutSeconds: 600,
      maxConcurrency: '5',
      maxErrors: '10%',
      script: 'shell',
      marker: '# cdk-pipeline-stages run ',
    });
  });

  test('the state machine timeout derives from the delivery and execution timeouts and the backstop', () => {
    const { stack, stage } = stageIn({
      deliveryTimeout: Duration.minutes(5), executionTimeout: Duration.minutes(30), backstopInterval: Duration.minutes(1),
    });
    expect(stage.timeout.toSeconds()).toBe(300 + 1800 + 60 + 120);
    const definition = definitionOf(Template.fromStack(stack));
    expect(definition.TimeoutSeconds).toBe(2280);
    expect(definition.States.SendCommand.Parameters.Payload.config).toMatchObject({ deliveryTimeoutSeconds: 300, parameters: { executionTimeout: ['1800'] } });
  });

  test('an explicit timeout wins, if it leaves time for delivery and execution', () => {
    const { stack } = stageIn({ timeout: Duration.minutes(80) });
    expect(definitionOf(Template.fromStack(stack)).TimeoutSeconds).toBe(4800);
  });

  test('targets that run in batches (maxConcurrency) get a limit for every batch', () => {
    const ids = Array.from({ length: 10 }, (_, i) => `i-${String(i).padStart(17, '0')}`);
    const { stage } = stageIn({ targets: VmTargets.instanceIds(ids), maxConcurrency: '4', executionTimeout: Duration.minutes(10) });
    expect(stage.timeout.toSeconds()).toBe(600 + 3 * 600 + 300 + 120);
    const { stage: percent } = stageIn({ maxConcurrency: '25%', executionTimeout: Duration.minutes(10) });
    expect(percent.timeout.toSeconds()).toBe(600 + 4 * 600 + 300 + 120);
  });
});

describe('event rules', () => {
  const fnRef = (stack: Stack, fn: { node: { defaultChild?: unknown } }) => ({ 'Fn::GetAtt': [stack.getLogicalId(fn.node.defaultChild as CfnElement), 'Arn'] });

  test('one rule per stack takes SSM\'s final statuses of the stages\' scripts only, by their marker line', () => {
    const { stack, pipeline, source, stage } = stageIn({ command: VmCommand.powerShell(['Get-Date']) });
    new VmCommandStage(stack, 'Linux', { targets: VmTargets.instanceIds(IDS), command: VmCommand.shell(['make']) })
      .addToPipeline(pipeline, { input: source });
    const template = Template.fromStack(stack);
    const ssmRules = Object.values(template.findResources('AWS::Events::Rule')).filter((r: any) => r.Properties.EventPattern.source[0] === 'aws.ssm') as any[];
    expect(ssmRules).toHaveLength(1);
    expect(ssmRules[0].Properties.EventPattern).toEqual({
      'source': ['aws.ssm'],
      'detail-type': ['EC2 Command Status-change Notification'],
      'detail': { parameters: { commands: [{ prefix: '# cdk-pipeline-stages run ' }] }, status: ['Success', 'Failed', 'Cancelled', 'TimedOut'] },
    });
    expect(ssmRules[0].Properties.Targets[0].Arn).toEqual(fnRef(stack, stage.eventFunction));
  });

  test('commands of custom documents are taken by document name, in a rule of their own', () => {
    const { stack } = stageIn({ command: VmCommand.documentName('Team-Deploy') });
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.ssm'],
        'detail-type': ['EC2 Command Status-change Notification'],
        'detail': { 'document-name': ['Team-Deploy'], 'status': ['Success', 'Failed', 'Cancelled', 'TimedOut'] },
      },
    });
  });

  test('timed-out, failed and aborted executions of the state machine go to the event function', () => {
    const { stack, stage } = stageIn();
    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        'detail': { status: ['TIMED_OUT', 'FAILED', 'ABORTED'], stateMachineArn: [{ Ref: stack.getLogicalId(stage.stateMachine.node.defaultChild as any) }] },
      },
      Targets: [Match.objectLike({ Arn: fnRef(stack, stage.eventFunction) })],
    });
  });

  test('abandoned actions of the pipeline it joins go to the event function, with the stage\'s state machine', () => {
    const { stack, pipeline, source, stage } = stageIn({}, false);
    stage.addToPipeline(pipeline, { actionName: 'RunOnVms', input: source });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.codepipeline'],
        'detail-type': ['CodePipeline Action Execution State Change'],
        'resources': [stack.resolve(pipeline.pipelineArn)],
        'detail': { state: ['ABANDONED', 'CANCELED'], action: ['RunOnVms'] },
      },
    });
    const rule = Object.values(template.findResources('AWS::Events::Rule')).find((r: any) => r.Properties.EventPattern.source[0] === 'aws.codepipeline') as any;
    const transformer = rule.Properties.Targets[0].InputTransformer;
    expect(transformer.InputPathsMap).toEqual({ detail: '$.detail' });
    expect(JSON.stringify(stack.resolve(transformer.InputTemplate))).toContain('"source\\":\\"aws.codepipeline\\"');
  });
});

describe('dead-letter queue', () => {
  const id = (stack: Stack, c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnElement);

  function rulesTargets(template: Template) {
    return Object.values(template.findResources('AWS::Events::Rule'))
      .map((r: any) => ({ source: r.Properties.EventPattern.source[0], target: r.Properties.Targets[0] }))
      .sort((a, b) => ['aws.ssm', 'aws.states', 'aws.codepipeline'].indexOf(a.source) - ['aws.ssm', 'aws.states', 'aws.codepipeline'].indexOf(b.source));
  }

  test('every rule target retries a bounded number of times within a bounded age, then sends to the shared queue', () => {
    const { stack, stage } = stageIn();
    const template = Template.fromStack(stack);
    const queue = { 'Fn::GetAtt': [id(stack, stage.deadLetterQueue), 'Arn'] };
    expect(rulesTargets(template)).toEqual([
      { source: 'aws.ssm', target: expect.objectContaining({ DeadLetterConfig: { Arn: queue }, RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 } }) },
      { source: 'aws.states', target: expect.objectContaining({ DeadLetterConfig: { Arn: queue }, RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 } }) },
      { source: 'aws.codepipeline', target: expect.objectContaining({ DeadLetterConfig: { Arn: queue }, RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 } }) },
    ]);
  });

  test('events the event function fails to handle go to the same queue after two retries', () => {
    const { stack, stage } = stageIn();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: id(stack, stage.eventFunction) },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 7200,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [id(stack, stage.deadLetterQueue), 'Arn'] } } },
    });
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
  });

  test('the queue is encrypted, TLS only, keeps messages 14 days, and takes messages from EventBridge for exactly the stage\'s rules', () => {
    const { stack } = stageIn();
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SQS::Queue', 1);
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const [policy] = Object.values(template.findResources('AWS::SQS::QueuePolicy')) as any[];
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    const fromEvents = statements.filter((st: any) => st.Principal?.Service === 'events.amazonaws.com');
    const rules = Object.keys(template.findResources('AWS::Events::Rule'));
    expect(fromEvents.map((st: any) => st.Condition.ArnEquals['aws:SourceArn']['Fn::GetAtt'][0]).sort()).toEqual(rules.sort());
  });

  test('a queue of the user\'s own is used instead; a FIFO queue and a second, different queue in the stack are refused', () => {
    const setup = pipelineStack();
    const own = new sqs.Queue(setup.stack, 'OwnDlq', { encryption: sqs.QueueEncryption.SQS_MANAGED });
    const stage = new VmCommandStage(setup.stack, 'Vm', { targets: VmTargets.instanceIds(IDS), command: VmCommand.shell(['x']), deadLetterQueue: own });
    stage.addToPipeline(setup.pipeline, { input: setup.source });
    expect(stage.deadLetterQueue).toBe(own);
    const template = Template.fromStack(setup.stack);
    template.resourceCountIs('AWS::SQS::Queue', 1);
    const ownArn = { Arn: { 'Fn::GetAtt': [setup.stack.getLogicalId(own.node.defaultChild as CfnElement), 'Arn'] } };
    expect(rulesTargets(template).map(r => r.target.DeadLetterConfig)).toEqual([ownArn, ownArn, ownArn]);
    const fifo = new sqs.Queue(setup.stack, 'Fifo', { fifo: true });
    expect(() => new VmCommandStage(setup.stack, 'Vm2', { targets: VmTargets.instanceIds(IDS), command: VmCommand.shell(['x']), deadLetterQueue: fifo }))
      .toThrow("VmCommandStage at PipelineStack/Vm2: `deadLetterQueue` must be a standard queue (EventBridge cannot send to a FIFO queue), got: 'PipelineStack/Fifo'");
    const another = new sqs.Queue(setup.stack, 'Another');
    expect(() => new VmCommandStage(setup.stack, 'Vm3', { targets: VmTargets.instanceIds(IDS), command: VmCommand.shell(['x']), deadLetterQueue: another }))
      .toThrow("`deadLetterQueue` must be the same for every VmCommandStage of stack PipelineStack (they share their functions), got: 'PipelineStack/Another'");
  });
});

describe('shared functions', () => {
  test('keep their logs as long as the longest retention a stage asks for', () => {
    const { stack, pipeline, source } = stageIn({ logRetention: logs.RetentionDays.ONE_WEEK });
    new VmCommandStage(stack, 'Audited', { targets: VmTargets.instanceIds(IDS), command: VmCommand.shell(['x']), logRetention: logs.RetentionDays.ONE_YEAR })
      .addToPipeline(pipeline, { input: source });
    const groups = Template.fromStack(stack).findResources('AWS::Logs::LogGroup');
    const shared = Object.entries(groups).filter(([logicalId]) => logicalId.startsWith('VmCommandStageShared'));
    expect(shared.map(([, g]: any) => g.Properties.RetentionInDays)).toEqual([365, 365]);
  });
});

describe('validation', () => {
  test.each<[string, () => unknown, string]>([
    ['empty commands', () => VmCommand.shell([]), '`commands` must not be empty'],
    ['blank command line', () => VmCommand.powerShell(['  ']), "`commands[0]` must not be empty, got: '  '"],
    ['empty instance ids', () => VmTargets.instanceIds([]), '`instanceIds` must not be empty'],
    ['bad instance id', () => VmTargets.instanceIds(['i-0123456789abcdef0', 'i-xyz']),
      "`instanceIds[1]` must be an EC2 instance id (i- and 8 or 17 hex digits) or a managed instance id (mi- and 17 hex digits), got: 'i-xyz'"],
    ['short mi- id', () => VmTargets.instanceIds(['mi-01234567']),
      "`instanceIds[0]` must be an EC2 instance id (i- and 8 or 17 hex digits) or a managed instance id (mi- and 17 hex digits), got: 'mi-01234567'"],
    ['too many ids', () => VmTargets.instanceIds(Array.from({ length: 51 }, (_, i) => `i-${String(i).padStart(8, '0')}`)),
      '`instanceIds` must have at most 50 ids (use tags or a resource group for larger fleets), got: 51'],
    ['empty tags', () => VmTargets.tags({}), '`tags` must not be empty'],
    ['tag without values', () => VmTargets.tags({ Env: [] }), '`tags.Env` must not be empty'],
    ['empty resource group', () => VmTargets.resourceGroup(''), "`resourceGroup` must not be empty, got: ''"],
    ['empty document name', () => VmCommand.documentName(' '), "`documentName` must not be empty, got: ' '"],
    ['a list token of instance ids', () => VmTargets.instanceIds(Token.asList({ Ref: 'Ids' })),
      '`instanceIds` must be a list of ids, each of which may be a token, not a list token'],
  ])('%s', (_name, build, message) => {
    expect(build).toThrow(message);
  });

  test.each<[string, Partial<VmCommandStageProps>, string]>([
    ['delivery timeout too short', { deliveryTimeout: Duration.seconds(10) }, "`deliveryTimeout` must be from 30 seconds to 1 day, got: '10 seconds'"],
    ['execution timeout too long', { executionTimeout: Duration.hours(49) }, "`executionTimeout` must be from 1 second to 2 days, got: '2 days 1 hour'"],
    ['backstop too long', { backstopInterval: Duration.minutes(11) }, "`backstopInterval` must be from 1 second to 10 minutes, got: '11 minutes'"],
    ['timeout too long', { timeout: Duration.hours(25) }, "`timeout` must be from 1 second to 1 day, got: '1 day 1 hour'"],
    ['derived timeout too long', { deliveryTimeout: Duration.hours(12), executionTimeout: Duration.hours(12) },
      "`deliveryTimeout + executionTimeout + backstopInterval + 2 minutes` must be at most 24 hours (CodePipeline's limit for a Lambda action); "
      + "set a shorter `executionTimeout`, a larger `maxConcurrency` or `timeout`, got: '1 day 7 minutes'"],
    ['batches beyond 24 hours', { maxConcurrency: '10%', executionTimeout: Duration.hours(3) },
      '`deliveryTimeout + 10 batches of executionTimeout + backstopInterval + 2 minutes` must be at most 24 hours'],
    ['a timeout shorter than delivery and execution', { timeout: Duration.minutes(30) },
      "`timeout` must be at least deliveryTimeout + executionTimeout (1 hour 10 minutes), got: '30 minutes'"],
    ['a token duration without a timeout', { executionTimeout: Duration.seconds(Token.asNumber({ Ref: 'Seconds' })) },
      "`timeout` must be set when `executionTimeout` is a token (the run's limit adds up their values), got: undefined"],

    // Step Functions service quotas: a Standard execution fails at 25,000 history events.
    ['a backstop whose cycles over the run would pass the history limit', { backstopInterval: Duration.seconds(1) },
      "`backstopInterval` must be at least 3 s for a `timeout` of 1 hour 12 minutes: each backstop cycle adds about 13 history events and an execution fails at 25,000, got: '1 second'"],
    ['bad max concurrency', { maxConcurrency: '0' }, "`maxConcurrency` must be a number from 1 or a percentage from 1% to 100%, got: '0'"],
    ['bad max errors', { maxErrors: '101%' }, "`maxErrors` must be a number from 0 or a percentage from 0% to 100%, got: '101%'"],
    ['blank working directory', { workingDirectory: '' }, "`workingDirectory` must not be empty, got: ''"],
    ['working directory the document cannot take', { command: VmCommand.documentName('Custom-Doc'), workingDirectory: '/tmp' },
      "`workingDirectory` must be used with a document that takes one (set `workingDirectoryParameter`), got: '/tmp'"],
    ['execution timeout the document cannot take', { command: VmCommand.documentName('Custom-Doc'), executionTimeout: Duration.minutes(5) },
      "`executionTimeout` must be used with a document that takes one (set `executionTimeoutParameter`), got: '5 minutes'"],
    ['bad parameter name', { parameters: { 'bad name': ['x'] } }, "`parameter name` must be 1 to 128 characters of A-Z, a-z, 0-9, _, . and -, got: 'bad name'"],
    ['a script parameter that is no environment variable name', { variableParameters: { 'commit-id': '#{Source.CommitId}' } },
      "`parameter name` must be an environment variable name for a shell or PowerShell command (a letter or _, then letters, digits and _), got: 'commit-id'"],
    ['a file parameter of a script that starts with a digit', { parametersFile: 'vm.json', fileParameters: { '1suite': FileParameterType.STRING } },
      "`parameter name` must be an environment variable name for a shell or PowerShell command (a letter or _, then letters, digits and _), got: '1suite'"],
    ['file parameters without a file', { fileParameters: { suite: FileParameterType.STRING } }, '`fileParameters` must be used with `parametersFile`, got: ["suite"]'],
    ['targets from a missing file', { allowTargetsFromFile: true }, '`allowTargetsFromFile` must be used with `parametersFile`, got: true'],
    ['prefix without bucket', { outputKeyPrefix: 'runs/' }, "`outputKeyPrefix` must be used with `outputBucket`, got: 'runs/'"],
    ['user parameters too long', { variableParameters: { long: 'x'.repeat(700) } },
      'VmCommandStage at PipelineStack/Vm: `variableParameters, parametersFile and fileParameters` must fit in the action\'s 1000-character user parameters (at most 700 characters of them), got: \'725 characters\''],
  ])('%s', (_name, props, message) => {
    expect(() => stageIn(props)).toThrow(message);
  });

  test('messages name the construct and its path, so a stack with two stages tells which one is wrong', () => {
    expect(() => stageIn({ maxErrors: 'many' })).toThrow(/^VmCommandStage at PipelineStack\/Vm: `maxErrors` must be/);
  });
});

function pipelineBucket(stack: Stack): CfnElement {
  return stack.node.findChild('Pipeline').node.findChild('ArtifactsBucket').node.defaultChild as CfnElement;
}

describe('compliance', () => {
  function fullStack(app: App) {
    const { stack, pipeline, source } = pipelineStack(app);
    const output = new s3.Bucket(stack, 'Output', {
      enforceSSL: true, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, encryption: s3.BucketEncryption.S3_MANAGED,
    });
    const deploy = pipeline.addStage({ stageName: 'Verify' });
    new VmCommandStage(stack, 'Linux', {
      targets: VmTargets.instanceIds(IDS),
      command: VmCommand.shell(['make test']),
      outputBucket: output,
      outputKeyPrefix: 'runs/',
      variableParameters: { commitId: '#{Source.CommitId}' },
    }).addToStage(deploy, { input: source });
    new VmCommandStage(stack, 'Windows', {
      targets: VmTargets.tags({ os: ['windows'] }),
      command: VmCommand.powerShell(['Invoke-Pester']),
      logGroup: new logs.LogGroup(stack, 'WindowsOutput', { retention: logs.RetentionDays.ONE_WEEK }),
    }).addToStage(deploy, { input: source, runOrder: 2 });
    new VmCommandStage(stack, 'Group', {
      targets: VmTargets.resourceGroup('scanners'),
      command: VmCommand.documentName('AWS-RunShellScript', { parameters: { commands: ['scan'] } }),
      parametersFile: 'scan.json',
      fileParameters: { profile: FileParameterType.STRING },
      allowTargetsFromFile: true,
    }).addToStage(deploy, { input: source, runOrder: 3 });
    return stack;
  }

  test('cdk-nag AwsSolutions finds nothing unacknowledged', () => {
    const app = new App();
    const stack = fullStack(app);
    // The pipeline, its artifact bucket and the source bucket are the test's and CodePipeline's, not the stage's.
    for (const id of ['AwsSolutions-S1', 'AwsSolutions-KMS5', 'AwsSolutions-IAM5[Action::s3:GetBucket*]', 'AwsSolutions-IAM5[Action::s3:GetObject*]',
      'AwsSolutions-IAM5[Action::s3:List*]', 'AwsSolutions-IAM5[Action::s3:DeleteObject*]', 'AwsSolutions-IAM5[Action::s3:Abort*]',
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(pipelineBucket(stack))}.Arn>/*]`,
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId((stack.node.findChild('SourceBucket').node.defaultChild) as CfnElement)}.Arn>/*]`]) {
      for (const scope of ['Pipeline', 'SourceBucket', 'Output']) Validations.of(stack.node.findChild(scope)).acknowledge({ id, reason: 'the test\'s pipeline and buckets' });
    }
    expect(() => synthWithAwsSolutionsChecks(app)).not.toThrow();
  });

  test('cfn-lint finds no error in the template', () => {
    const result = cfnLint(fullStack(new App()));
    expect(result.output).not.toMatch(/^E\d+/m);
    expect(result.status).toBe(0);
  });
});
