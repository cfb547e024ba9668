import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { App, CfnElement, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { strToU8, zipSync } from 'fflate';
import { ENV, pipelineStack } from './fixtures';
import { FileParameterType, VmCommand, VmCommandStage, VmCommandStageProps, VmTargets } from '../../src';
import { describeWithEmulator, ExecutionResult, handlerAsset, RecordedCall } from '../emulator/harness';

/*
 * The stage's state machine (read from the synthesized template) and its bundled handlers, on moto.
 * moto fakes SSM command results (every command is Success with empty output at once) and lacks
 * CancelCommand and the CodePipeline job APIs, and it cannot deliver EventBridge events to Lambda:
 * those answers are scripted below, and the SSM / Step Functions events are handed to the notify
 * and cleanup handlers by the test, as EventBridge would.
 */

const A = 'i-0123456789abcdef0';
const B = 'i-0123456789abcdef1';
void ENV;

function synth(props: Partial<VmCommandStageProps> = {}) {
  const { stack, pipeline, source } = pipelineStack(new App());
  const stage = new VmCommandStage(stack, 'Vm', {
    targets: VmTargets.instanceIds([A, B]),
    command: VmCommand.shell(['make test']),
    deliveryTimeout: Duration.seconds(30),
    executionTimeout: Duration.seconds(60),
    backstopInterval: Duration.seconds(1),
    ...props,
  });
  stage.addToPipeline(pipeline, { input: source });
  const template = Template.fromStack(stack);
  const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnElement);
  return { template, stateMachineId: id(stage.stateMachine), tableName: id(stage.table) };
}

const HANDLERS = {
  PreflightFunction: handlerAsset('vm-command-preflight'),
  SendFunction: handlerAsset('vm-command-send'),
  WaitFunction: handlerAsset('vm-command-wait'),
  StatusFunction: handlerAsset('vm-command-status'),
  FinishFunction: handlerAsset('vm-command-finish'),
};

function statesEntered(result: ExecutionResult): string[] {
  return result.history.flatMap(e => (e.stateEnteredEventDetails ? [e.stateEnteredEventDetails.name!] : []));
}

function invocationsOf(calls: RecordedCall[], part: string): RecordedCall[] {
  return calls.filter(c => c.service === 'lambda' && c.operation === 'Invoke' && String(c.input.FunctionName).includes(part));
}

describeWithEmulator('VmCommandStage on the emulator', emulator => {
  async function prepare(props: Partial<VmCommandStageProps> = {}, online: Record<string, string> = { [A]: 'Online', [B]: 'Online' }) {
    const synthesized = synth(props);
    process.env.TABLE_NAME = synthesized.tableName;
    await emulator().client(DynamoDBClient).send(new CreateTableCommand({
      TableName: synthesized.tableName,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    // moto knows no registered SSM agents: script what DescribeInstanceInformation would answer.
    emulator().script('ssm', 'DescribeInstanceInformation', {
      body: { InstanceInformationList: Object.entries(online).map(([InstanceId, PingStatus]) => ({ InstanceId, PingStatus })) },
    });
    // moto has no CancelCommand and no CodePipeline job APIs: record them.
    emulator().script('ssm', 'CancelCommand', { body: {} });
    emulator().script('codepipeline', 'PutJobSuccessResult', { body: {} });
    emulator().script('codepipeline', 'PutJobFailureResult', { body: {} });
    return synthesized;
  }

  /** Records the run as the start function does, then starts the execution named after it. */
  async function startRun(s: { template: Template; stateMachineId: string; tableName: string }, runId = 'job-1') {
    await emulator().client(DynamoDBClient).send(new PutItemCommand({
      TableName: s.tableName,
      Item: {
        pk: { S: `run#${runId}` },
        runId: { S: runId },
        jobId: { S: runId },
        jobRegisteredAt: { N: String(Date.now()) },
        executionArn: { S: `arn:aws:states:us-east-1:123456789012:execution:x:${runId}` },
        awaitingJob: { BOOL: false },
        reported: { BOOL: false },
      },
    }));
    return emulator().startExecution(s.template, s.stateMachineId, {
      name: runId,
      input: { runId, jobId: runId, targets: { instanceIds: [A, B] }, parameters: { commitId: ['abc123'] } },
      handlers: HANDLERS,
    });
  }

  /** moto says Success with empty output for every invocation: script each instance's answers instead. */
  function scriptInvocations(byInstance: Record<string, Array<Record<string, unknown> | 'missing'>>) {
    const seen: Record<string, number> = {};
    emulator().script('ssm', 'GetCommandInvocation', (input: any) => {
      const answers = byInstance[input.InstanceId];
      const answer = answers[Math.min(seen[input.InstanceId] = (seen[input.InstanceId] ?? -1) + 1, answers.length - 1)];
      if (answer === 'missing') return { error: { code: 'InvocationDoesNotExist', message: 'no invocation yet' } };
      return { body: { CommandId: input.CommandId, InstanceId: input.InstanceId, ...answer } };
    });
  }

  const jobResults = (operation: string) => emulator().calls('codepipeline', operation).map(c => c.input);

  /** The id of the command the send task recorded in the run table. */
  async function recordedCommandId(): Promise<string> {
    const recorded = await emulator().waitForCall('dynamodb', 'UpdateItem', c => String(c.input.Key?.pk?.S).startsWith('command#'));
    return recorded.input.Key.pk.S.slice('command#'.length);
  }

  /** SSM's command status-change event, as EventBridge would deliver it to the notify function. */
  function notifyFinished(tableName: string, commandId: string) {
    return emulator().invokeHandler(handlerAsset('vm-command-notify'), {
      'source': 'aws.ssm',
      'detail-type': 'EC2 Command Status-change Notification',
      'detail': { 'command-id': commandId, 'status': 'Success' },
    }, {}, { TABLE_NAME: tableName });
  }

  test('success on two instances: one run, its states and Lambda invocations counted, results as output variables', async () => {
    const s = await prepare();
    scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
    const { executionArn } = await startRun(s);
    // The SSM status-change event, as EventBridge would deliver it to the notify function.
    await emulator().waitForCall('lambda', 'Invoke', c => String(c.input.FunctionName).includes('WaitFunction'));
    const send = emulator().calls('ssm', 'SendCommand')[0];
    const commandId = await recordedCommandId();
    await notifyFinished(s.tableName, commandId);
    const result = await emulator().waitForExecution(executionArn);

    expect(result.status).toBe('SUCCEEDED');
    expect(send.input).toMatchObject({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [A, B],
      Parameters: { commands: ["export commitId='abc123'", 'make test'], executionTimeout: ['60'] },
      TimeoutSeconds: 30,
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: true },
    });
    expect(jobResults('PutJobSuccessResult')).toEqual([{
      jobId: 'job-1',
      executionDetails: { summary: `command ${commandId} succeeded on 2 of 2 instance(s)` },
      outputVariables: { CommandId: commandId, SucceededCount: '2', FailedCount: '0', Results: `${A}=Success,${B}=Success` },
    }]);
    const states = statesEntered(result);
    const lambdaInvocations = invocationsOf(result.calls, 'Function').length;
    // One run: pre-flight, send, one wait, one status check, the choice and finish; plus the notify
    // function (above) and the pipeline's start function outside the state machine.
    expect(states).toEqual(['PreFlight', 'SendCommand', 'WaitForCompletion', 'CheckStatus', 'IsFinished', 'Finish']);
    expect(lambdaInvocations).toBe(5);
    console.log(`one run: ${states.length} states entered, ${result.history.length} history events, ${lambdaInvocations} Lambda invocations by the state machine (+1 notify, +1 start)`);
  });

  test('one instance fails: the stage fails with that instance\'s status and output tail', async () => {
    const s = await prepare();
    scriptInvocations({
      [A]: [{ Status: 'Success' }],
      [B]: [{ Status: 'Failed', StatusDetails: 'Failed', StandardOutputContent: 'running 12 tests', StandardErrorContent: 'FAIL test_login\nexit status 2' }],
    });
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    const [failure] = jobResults('PutJobFailureResult');
    expect(failure.failureDetails.message).toMatch(new RegExp(`failed on 1 of 2 instance\\(s\\) \\(max errors 0\\):\\n- ${B}: Failed\\n`));
    expect(failure.failureDetails.message).toContain('stderr (tail): FAIL test_login\nexit status 2');
    expect(failure.failureDetails.message).toContain('stdout (tail): running 12 tests');
    expect(failure.failureDetails.message).toContain('#logsV2:log-groups/log-group/');
    expect(jobResults('PutJobSuccessResult')).toEqual([]);
  });

  test('InProgress for several backstop polls, then success', async () => {
    const s = await prepare();
    scriptInvocations({ [A]: [{ Status: 'InProgress' }, { Status: 'InProgress' }, { Status: 'InProgress' }, { Status: 'Success' }], [B]: [{ Status: 'Success' }] });
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(statesEntered(result).filter(n => n === 'CheckStatus')).toHaveLength(4);
    expect(jobResults('PutJobSuccessResult')).toHaveLength(1);
  });

  test('the event path resumes the execution without waiting for the backstop', async () => {
    const s = await prepare({ backstopInterval: Duration.minutes(5) });
    scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
    const started = Date.now();
    const { executionArn } = await startRun(s);
    const commandId = await recordedCommandId();
    await emulator().waitForCall('lambda', 'Invoke', c => String(c.input.FunctionName).includes('WaitFunction'));
    await notifyFinished(s.tableName, commandId);
    const result = await emulator().waitForExecution(executionArn, 20_000);
    expect(result.status).toBe('SUCCEEDED');
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(emulator().calls('ssm', 'GetCommandInvocation')).toHaveLength(2);
  });

  test('a command that finishes before the send task records it: the early event still resumes the execution at once', async () => {
    const s = await prepare({ backstopInterval: Duration.minutes(5) });
    scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
    // The fastest possible command: SSM's event reaches the notify function before the send task has
    // recorded the command, and so before the wait task stores its token. moto picks its own command
    // ids: SendCommand is scripted to answer the id the event names, so the event can be delivered first.
    const commandId = '5d0c3f7a-1b2e-4c9d-8e6f-7a8b9c0d1e2f';
    emulator().script('ssm', 'SendCommand', { body: { Command: { CommandId: commandId, Status: 'Pending' } } });
    await notifyFinished(s.tableName, commandId);
    expect(emulator().calls('states', 'SendTaskSuccess')).toHaveLength(0);

    const result = await emulator().waitForExecution((await startRun(s)).executionArn, 20_000);

    // Without the early mark the wait would park until the 5-minute backstop (and this wait time out).
    expect(result.status).toBe('SUCCEEDED');
    expect(statesEntered(result)).toEqual(['PreFlight', 'SendCommand', 'WaitForCompletion', 'CheckStatus', 'IsFinished', 'Finish']);
    // The wait task found the mark and resumed its own execution.
    expect(emulator().calls('states', 'SendTaskSuccess').map(c => JSON.parse(c.input.output))).toEqual([{ commandId }]);
    expect(jobResults('PutJobSuccessResult')).toEqual([expect.objectContaining({ jobId: 'job-1', outputVariables: expect.objectContaining({ CommandId: commandId }) })]);
  });

  test('InvocationDoesNotExist right after send is tolerated', async () => {
    const s = await prepare();
    scriptInvocations({ [A]: ['missing', { Status: 'Success' }], [B]: ['missing', { Status: 'Success' }] });
    // While invocations are missing, the command is still going (moto would say Success at once).
    emulator().script('ssm', 'ListCommands', { body: { Commands: [{ Status: 'InProgress' }] } });
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(statesEntered(result).filter(n => n === 'CheckStatus')).toHaveLength(2);
    expect(jobResults('PutJobSuccessResult')).toHaveLength(1);
  });

  test('timeout: the state machine times out, and the cleanup cancels the command on every target', async () => {
    const s = await prepare({ timeout: Duration.seconds(3) });
    scriptInvocations({ [A]: [{ Status: 'InProgress' }], [B]: [{ Status: 'InProgress' }] });
    const { executionArn } = await startRun(s);
    const result = await emulator().waitForExecution(executionArn, 20_000);
    expect(result.status).toBe('TIMED_OUT');
    // The Step Functions status-change event, as EventBridge would deliver it to the cleanup function.
    await emulator().invokeHandler(handlerAsset('vm-command-cleanup'), {
      source: 'aws.states', detail: { name: 'job-1', status: 'TIMED_OUT', executionArn },
    }, {}, { TABLE_NAME: s.tableName });
    const cancels = emulator().calls('ssm', 'CancelCommand').map(c => c.input);
    expect(cancels).toEqual([expect.objectContaining({ InstanceIds: [A, B] })]);
    const [failure] = jobResults('PutJobFailureResult');
    expect(failure.failureDetails.message).toMatch(new RegExp(`^the run's state machine execution timed out\\ncommand .+ was cancelled on ${A}, ${B}$`));
  });

  test('offline instance: pre-flight fails the run before anything is sent', async () => {
    const s = await prepare({}, { [A]: 'Online', [B]: 'ConnectionLost' });
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(emulator().calls('ssm', 'SendCommand')).toHaveLength(0);
    expect(jobResults('PutJobFailureResult')[0].failureDetails.message)
      .toBe(`InstanceNotReachable: instance ${B} is not reachable by SSM (PingStatus: ConnectionLost)`);
  });

  test('throttled SendCommand is retried', async () => {
    const s = await prepare();
    scriptInvocations({ [A]: [{ Status: 'Success' }], [B]: [{ Status: 'Success' }] });
    let sends = 0;
    emulator().script('ssm', 'SendCommand', () => (++sends === 1 ? { error: { code: 'ThrottlingException', message: 'Rate exceeded' } } : undefined));
    const result = await emulator().waitForExecution((await startRun(s)).executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(statesEntered(result).filter(n => n === 'SendCommand')).toHaveLength(1);
    expect(invocationsOf(result.calls, 'SendFunction')).toHaveLength(2);
    expect(jobResults('PutJobSuccessResult')).toHaveLength(1);
  });

  describe('the parameters file', () => {
    async function runStart(files: Record<string, string>) {
      const s = await prepare({ parametersFile: 'ci/vm.json', fileParameters: { suite: FileParameterType.STRING } });
      const s3 = emulator().client(S3Client);
      await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
      const zip = zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, strToU8(text)])));
      await s3.send(new PutObjectCommand({ Bucket: 'artifacts', Key: 'src.zip', Body: zip }));
      const env = Object.values(Template.prototype.findResources.call(s.template, 'AWS::Lambda::Function'))
        .map((f: any) => f.Properties.Environment?.Variables).find((v: any) => v?.PARAMETERS_FILE);
      await emulator().invokeHandler(handlerAsset('vm-command-start'), {
        'CodePipeline.job': {
          id: 'job-file',
          data: {
            actionConfiguration: { configuration: { UserParameters: '{}' } },
            inputArtifacts: [{ name: 'Source', location: { type: 'S3', s3Location: { bucketName: 'artifacts', objectKey: 'src.zip' } } }],
            artifactCredentials: { accessKeyId: 'testing', secretAccessKey: 'testing', sessionToken: 'testing' },
          },
        },
      }, {}, {
        TABLE_NAME: s.tableName,
        STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:unused',
        TARGETS: env.TARGETS,
        PARAMETERS_FILE: env.PARAMETERS_FILE,
        FILE_PARAMETERS: env.FILE_PARAMETERS,
        ALLOW_TARGETS_FROM_FILE: env.ALLOW_TARGETS_FROM_FILE,
      });
      expect(emulator().calls('states', 'StartExecution')).toHaveLength(0);
      return jobResults('PutJobFailureResult').map(r => r.failureDetails.message);
    }

    test.each<[string, Record<string, string>, string | RegExp]>([
      ['malformed', { 'ci/vm.json': '{"parameters": {' }, /^parameters file `ci\/vm.json` is not valid JSON: /],
      ['an unknown key', { 'ci/vm.json': '{"parameters": {"suite": "smoke", "target": "prod"}}' }, 'parameters file `ci/vm.json` is invalid: `parameters`: Unrecognized key: "target"'],
      ['a wrong type', { 'ci/vm.json': '{"parameters": {"suite": 3}}' }, 'parameters file `ci/vm.json` is invalid: `parameters.suite`: Invalid input: expected string, received number'],
      ['missing', { 'README.md': '# app' }, 'parameters file `ci/vm.json` was not found in the input artifact `Source`'],
    ])('%s: the job fails with a message naming the problem', async (_name, files, message) => {
      const [failure] = await runStart(files);
      if (typeof message === 'string') expect(failure).toBe(message);
      else expect(failure).toMatch(message);
    });
  });
});
