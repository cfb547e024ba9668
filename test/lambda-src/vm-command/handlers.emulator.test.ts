import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describeWithEmulator, handlerAsset } from '../../emulator/harness';
import { createRunTable } from '../../vm-command/emulator-run';

/*
 * The two handlers of the VmCommandStage asset, as they ship (each part is loaded on first use), on
 * moto's DynamoDB. moto has no CodePipeline job APIs and no CancelCommand: those answers are
 * scripted and the calls asserted from the record.
 */

const TABLE = 'vm-command-runs';
const A = 'i-0123456789abcdef0';
const B = 'i-0123456789abcdef1';
const RUN = handlerAsset('vm-command', 'run');
const EVENT = handlerAsset('vm-command', 'event');

describeWithEmulator('the VmCommandStage asset\'s handlers', emulator => {
  const env = { TABLE_NAME: TABLE };

  beforeEach(async () => {
    await createRunTable(emulator(), TABLE);
    emulator().script('codepipeline', 'PutJobFailureResult', { body: {} });
    emulator().script('ssm', 'CancelCommand', { body: {} });
    emulator().script('ssm', 'GetCommandInvocation', { body: { Status: 'InProgress' } });
  });

  async function recordRun(work?: object) {
    await emulator().client(DynamoDBClient).send(new PutItemCommand({
      TableName: TABLE,
      Item: {
        pk: { S: 'run#job-1' },
        runId: { S: 'job-1' },
        jobId: { S: 'job-1' },
        jobRegisteredAt: { N: String(Date.now()) },
        awaitingJob: { BOOL: false },
        reported: { BOOL: false },
        ...(work ? { runWork: { S: JSON.stringify(work) } } : {}),
      },
    }));
  }

  test('run: a CodePipeline job is the action (a bad one fails the job with the reason); a step payload runs its step; any other step is refused', async () => {
    await emulator().invokeHandler(RUN, {
      'CodePipeline.job': { id: 'job-1', data: { actionConfiguration: { configuration: { UserParameters: '{}' } } } },
    }, {}, env);
    expect(emulator().calls('codepipeline', 'PutJobFailureResult').map(c => c.input.failureDetails.message))
      .toEqual(['action user parameters is invalid: `stateMachineArn`: Required']);
    await expect(emulator().invokeHandler(RUN, { step: 'finish', run: { runId: 'job-9', status: { outcome: { succeeded: true, message: 'ok' } } } }, {}, env))
      .resolves.toEqual({ result: 'unknown-run', succeeded: true });
    await expect(emulator().invokeHandler(RUN, { step: 'reboot' }, {}, env))
      .rejects.toThrow('unknown step "reboot"; expected one of preflight, send, wait, status, finish');
  });

  test('event: a stopped execution cancels the run\'s command where it still runs and fails the job; a run that sent nothing cancels nothing', async () => {
    await recordRun({ commandId: 'cmd-1', instanceIds: [A, B] });
    await emulator().invokeHandler(EVENT, { source: 'aws.states', detail: { name: 'job-1', status: 'TIMED_OUT' } }, {}, env);
    expect(emulator().calls('ssm', 'CancelCommand').map(c => c.input)).toEqual([{ CommandId: 'cmd-1', InstanceIds: [A, B] }]);
    expect(emulator().calls('codepipeline', 'PutJobFailureResult').map(c => c.input.failureDetails.message))
      .toEqual([`the run's state machine execution timed out\ncommand cmd-1 was cancelled on ${A}, ${B}`]);

    await emulator().reset();
    await createRunTable(emulator(), TABLE);
    emulator().script('codepipeline', 'PutJobFailureResult', { body: {} });
    await recordRun();
    await emulator().invokeHandler(EVENT, { source: 'aws.states', detail: { name: 'job-1', status: 'ABORTED' } }, {}, env);
    expect(emulator().calls('ssm', 'CancelCommand')).toEqual([]);
    expect(emulator().calls('codepipeline', 'PutJobFailureResult')).toHaveLength(1);
  });

  test('event: an event of another source is refused', async () => {
    await expect(emulator().invokeHandler(EVENT, { source: 'aws.ec2', detail: {} }, {}, env)).rejects.toThrow('unexpected event source "aws.ec2"');
  });
});

describeWithEmulator('the VmCommandStage asset\'s logs', emulator => {
  test('every line of an invocation carries the Lambda request id and the run and command it works on', async () => {
    await createRunTable(emulator(), TABLE);
    emulator().script('ssm', 'GetCommandInvocation', { body: { Status: 'InProgress' } });
    const status = { step: 'status', runId: 'run-logs', commandId: 'cmd-logs', instanceIds: [A], config: { maxErrors: '0', logGroupName: 'g' } };
    await emulator().invokeHandler(RUN, status, { awsRequestId: 'request-logs' }, { TABLE_NAME: TABLE });
    const lines = (await emulator().readLog()).split('\n').filter(l => l.includes('request-logs')).map(l => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatchObject({ function_request_id: 'request-logs', runId: 'run-logs', commandId: 'cmd-logs' });
  });
});
