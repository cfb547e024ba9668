import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { App, CfnElement, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { pipelineStack } from './fixtures';
import { VmCommand, VmCommandStage, VmCommandStageProps, VmTargets } from '../../src';
import { Emulator, ExecutionResult, handlerAsset, RecordedCall } from '../emulator/harness';

/*
 * A VmCommandStage run on the emulator: the stage's state machine (read from the synthesized
 * template) and its bundled handlers, on moto. moto fakes SSM command results (every command is
 * Success with empty output at once) and lacks CancelCommand and the CodePipeline job APIs, and it
 * cannot deliver EventBridge events to Lambda: those answers are scripted here, and the SSM and
 * Step Functions events are handed to the event function by the tests, as EventBridge would.
 */

export const A = 'i-0123456789abcdef0';
export const B = 'i-0123456789abcdef1';
export const PIPELINE_EXECUTION_ID = '3f1c2b9e-7d4a-4e8b-9c1d-2a3b4c5d6e7f';
export const RUN = handlerAsset('vm-command', 'run');
export const EVENT = handlerAsset('vm-command', 'event');

/** A value as the send step hands it to the script: base64-encoded, decoded by the script. */
export function exported(name: string, value: string): string {
  return `export ${name}="$(printf %s '${Buffer.from(value).toString('base64')}' | base64 -d)"`;
}

/**
 * The stage's template; `runLimitSeconds` rewrites the state machine's timeout in it, for a test
 * that needs a run to time out in seconds (the construct refuses a limit shorter than delivery and
 * execution take, and SSM's delivery timeout is at least 30 s).
 */
export function synth(props: Partial<VmCommandStageProps> = {}, runLimitSeconds?: number) {
  const { stack, pipeline, source } = pipelineStack(new App());
  const stage = new VmCommandStage(stack, 'Vm', {
    targets: VmTargets.instanceIds([A, B]),
    command: VmCommand.shell(['make test']),
    deliveryTimeout: Duration.seconds(30),
    executionTimeout: Duration.seconds(60),
    backstopInterval: Duration.seconds(1),
    variableParameters: { commitId: '#{Source.CommitId}' },
    ...props,
  });
  stage.addToPipeline(pipeline, { input: source });
  let template = Template.fromStack(stack);
  if (runLimitSeconds) {
    // The definition's own TimeoutSeconds closes it: `...,"TimeoutSeconds":N}`.
    const json = JSON.stringify(template.toJSON()).replace(/\\"TimeoutSeconds\\":\d+}"/, `\\"TimeoutSeconds\\":${runLimitSeconds}}"`);
    template = Template.fromJSON(JSON.parse(json));
  }
  const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnElement);
  const table = stack.node.findChild('VmCommandStageShared').node.findChild('RunTable') as CfnElement & { node: any };
  const [userParameters] = Object.values(template.findResources('AWS::CodePipeline::Pipeline'))
    .map((p: any) => p.Properties.Stages.find((st: any) => st.Name === 'Vm').Actions[0].Configuration.UserParameters);
  return { template, stateMachineId: id(stage.stateMachine), tableName: id(table), userParameters };
}

export type Synthesized = ReturnType<typeof synth> & { stateMachineArn: string };

/**
 * The CodePipeline job for a long-running stage's action, with its user parameters as CodePipeline
 * resolves them (the state machine ARN, the execution id and the source commit).
 */
export function pipelineJobEvent(
  s: { userParameters: any; stateMachineArn: string },
  jobId: string,
  options: { artifacts?: object[]; continuationToken?: string } = {},
) {
  const userParameters = s.userParameters['Fn::Join'][1]
    .map((p: unknown) => (typeof p === 'string' ? p : s.stateMachineArn)).join('')
    .replace('#{codepipeline.PipelineExecutionId}', PIPELINE_EXECUTION_ID)
    .replace('#{Source.CommitId}', 'abc123');
  return {
    'CodePipeline.job': {
      id: jobId,
      accountId: '123456789012',
      data: {
        actionConfiguration: { configuration: { FunctionName: 'run', UserParameters: userParameters } },
        inputArtifacts: options.artifacts ?? [],
        artifactCredentials: { accessKeyId: 'testing', secretAccessKey: 'testing', sessionToken: 'testing' },
        continuationToken: options.continuationToken,
      },
    },
  };
}

export function statesEntered(result: ExecutionResult): string[] {
  return result.history.flatMap(e => (e.stateEnteredEventDetails ? [e.stateEnteredEventDetails.name!] : []));
}

function invocationsOf(calls: RecordedCall[], part: string): RecordedCall[] {
  return calls.filter(c => c.service === 'lambda' && c.operation === 'Invoke' && String(c.input.FunctionName).includes(part));
}

/** What the state machine's invocation of the run function asked for (its `step`). */
export function stepsInvoked(calls: RecordedCall[]): string[] {
  return invocationsOf(calls, 'RunFunction').map(c => c.input.Payload.step);
}

/** Creates the construct's run table in moto, as its template defines it (a string key `pk`). */
export async function createRunTable(emulator: Emulator, tableName: string): Promise<void> {
  await emulator.client(DynamoDBClient).send(new CreateTableCommand({
    TableName: tableName,
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
}

/** The run helpers, for the tests of one `describeWithEmulator`. */
export function vmRunHelpers(emulator: () => Emulator) {
  async function prepare(
    props: Partial<VmCommandStageProps> = {}, online: Record<string, string> = { [A]: 'Online', [B]: 'Online' }, runLimitSeconds?: number,
  ): Promise<Synthesized> {
    const synthesized = synth(props, runLimitSeconds);
    process.env.TABLE_NAME = synthesized.tableName;
    await createRunTable(emulator(), synthesized.tableName);
    // moto knows no registered SSM agents: script what DescribeInstanceInformation would answer.
    emulator().script('ssm', 'DescribeInstanceInformation', {
      body: { InstanceInformationList: Object.entries(online).map(([InstanceId, PingStatus]) => ({ InstanceId, PingStatus })) },
    });
    // moto has no CancelCommand and no CodePipeline job APIs: record them.
    emulator().script('ssm', 'CancelCommand', { body: {} });
    emulator().script('codepipeline', 'PutJobSuccessResult', { body: {} });
    emulator().script('codepipeline', 'PutJobFailureResult', { body: {} });
    const { stateMachineArn } = await emulator().createStateMachine(synthesized.template, synthesized.stateMachineId, {
      handlers: { RunFunction: RUN },
    });
    return { ...synthesized, stateMachineArn };
  }

  function pipelineJob(s: Synthesized, jobId: string, artifacts: object[] = []) {
    return pipelineJobEvent(s, jobId, { artifacts });
  }

  /** The pipeline invokes the stage's action: the real run handler records the run and starts the execution named after the job. */
  async function startRun(s: Synthesized, runId = 'job-1') {
    await emulator().invokeHandler(RUN, pipelineJob(s, runId), {}, { TABLE_NAME: s.tableName });
    const [started] = emulator().calls('states', 'StartExecution');
    expect(started.input).toMatchObject({ stateMachineArn: s.stateMachineArn, name: runId });
    return { executionArn: `${s.stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}` };
  }

  /** An event as EventBridge would deliver it to the event function (moto cannot invoke Lambda targets). */
  function deliverToEventFunction(tableName: string, event: object) {
    return emulator().invokeHandler(EVENT, event, {}, { TABLE_NAME: tableName });
  }

  function executionStatusEvent(executionArn: string, status: string, stop?: { error: string; cause: string }) {
    return {
      'source': 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      'resources': [executionArn],
      'detail': { executionArn, name: 'job-1', status, stateMachineArn: executionArn.replace(':execution:', ':stateMachine:').replace(/:[^:]+$/, ''), ...stop },
    };
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

  /** SSM's command status-change event, as EventBridge would deliver it to the event function. */
  function notifyFinished(tableName: string, commandId: string, status = 'Success') {
    return deliverToEventFunction(tableName, {
      'source': 'aws.ssm',
      'detail-type': 'EC2 Command Status-change Notification',
      'detail': { 'command-id': commandId, status, 'parameters': { commands: ['# cdk-pipeline-stages run job-1'] } },
    });
  }

  /**
   * Waits until the execution has parked in WaitForCompletion `times` times (the first wait, then
   * one per backstop poll) and the last park's task token is stored in the run table.
   */
  async function parked(times = 1) {
    const parks = await emulator().waitForCalls('dynamodb', 'UpdateItem', c => String(c.input.UpdateExpression).startsWith('SET taskToken'), times);
    const { TableName, Key, ExpressionAttributeValues } = parks[times - 1].input;
    await emulator().waitForItem(TableName, Key, item => item.taskToken?.S === ExpressionAttributeValues[':t'].S);
    return parks[times - 1];
  }

  return {
    prepare,
    pipelineJob,
    startRun,
    deliverToEventFunction,
    executionStatusEvent,
    scriptInvocations,
    jobResults,
    recordedCommandId,
    notifyFinished,
    parked,
  };
}
