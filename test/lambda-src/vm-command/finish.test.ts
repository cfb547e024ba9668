import { CodePipelineClient, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CancelCommandCommand, GetCommandInvocationCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { runItem, updatedRun } from './fixtures';
import { finish as handler } from '../../../lambda-src/vm-command/finish';

const ssm = mockClient(SSMClient);
const dynamodb = mockClient(DynamoDBClient);
const codepipeline = mockClient(CodePipelineClient);
const A = 'i-0123456789abcdef0';
const B = 'i-0123456789abcdef1';
const success = { succeeded: true, message: 'command cmd-1 succeeded on 2 of 2 instance(s)', outputVariables: { CommandId: 'cmd-1' } };

beforeEach(() => {
  ssm.reset(); dynamodb.reset(); codepipeline.reset();
  process.env.TABLE_NAME = 'runs';
  codepipeline.onAnyCommand().resolves({});
  ssm.on(CancelCommandCommand).resolves({});
  dynamodb.on(UpdateItemCommand).callsFake(updatedRun());
});

const settled = () => dynamodb.commandCalls(UpdateItemCommand)[0].args[0].input;
const failure = () => codepipeline.commandCalls(PutJobFailureResultCommand)[0].args[0].input.failureDetails!.message;

test('reports a success with its variables to the current job and marks it reported', async () => {
  await expect(handler({ run: { runId: 'run-1', status: { done: true, outcome: success } } })).resolves.toEqual({ result: 'reported', succeeded: true });
  expect(settled()).toMatchObject({
    ConditionExpression: 'attribute_exists(pk)', UpdateExpression: 'SET outcome = if_not_exists(outcome, :o)', ExpressionAttributeValues: { ':o': { S: JSON.stringify(success) } },
  });
  expect(codepipeline.commandCalls(PutJobSuccessResultCommand)[0].args[0].input).toEqual({
    jobId: 'job-1', executionDetails: { summary: success.message }, outputVariables: { CommandId: 'cmd-1' },
  });
  expect(dynamodb.commandCalls(UpdateItemCommand)[1].args[0].input).toMatchObject({ UpdateExpression: 'SET reported = :true', ConditionExpression: 'jobId = :j' });
});

test('a refused success is reported as a failure', async () => {
  codepipeline.on(PutJobSuccessResultCommand).rejects(Object.assign(new Error('too many variables'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }));
  await handler({ run: { runId: 'run-1', status: { done: true, outcome: success } } });
  expect(failure()).toBe('reporting success failed: ValidationException: too many variables');
});

test('after a step error: cancels the command where it still runs and reports the error with the cancellation', async () => {
  ssm.on(GetCommandInvocationCommand).callsFake(async ({ InstanceId }) => ({ Status: InstanceId === A ? 'Success' : 'InProgress' }));
  await handler({
    run: {
      runId: 'run-1',
      resolved: { instanceIds: [A, B] },
      command: { commandId: 'cmd-1' },
      error: { Error: 'Lambda.Unknown', Cause: JSON.stringify({ errorType: 'Lambda.Unknown', errorMessage: 'the status function crashed' }) },
    },
  });
  expect(ssm.commandCalls(CancelCommandCommand)[0].args[0].input).toEqual({ CommandId: 'cmd-1', InstanceIds: [B] });
  expect(failure()).toBe(`Lambda.Unknown: the status function crashed\ncommand cmd-1 was cancelled on ${B}`);
});

test('a pre-flight error is reported as it is; nothing was sent, so nothing is cancelled', async () => {
  dynamodb.on(GetItemCommand).resolves({ Item: runItem({ runWork: { NULL: true } }) });
  await handler({
    run: { runId: 'run-1', error: { Error: 'InstanceNotReachable', Cause: JSON.stringify({ errorMessage: `instance ${A} is not reachable by SSM (PingStatus: ConnectionLost)` }) } },
  });
  expect(ssm.calls()).toHaveLength(0);
  expect(failure()).toBe(`InstanceNotReachable: instance ${A} is not reachable by SSM (PingStatus: ConnectionLost)`);
});

test('a plain-text cause, and an invocation whose status is unknown, which is cancelled to be safe', async () => {
  ssm.on(GetCommandInvocationCommand).rejects(Object.assign(new Error('nope'), { name: 'InvocationDoesNotExist' }));
  await handler({ run: { runId: 'run-1', resolved: { instanceIds: [A] }, command: { commandId: 'cmd-1' }, error: { Error: 'States.Timeout', Cause: 'timed out' } } });
  expect(ssm.commandCalls(CancelCommandCommand)[0].args[0].input.InstanceIds).toEqual([A]);
  expect(failure()).toBe(`States.Timeout: timed out\ncommand cmd-1 was cancelled on ${A}`);
});

test('nothing to cancel when every target finished; an error without a cause still reads', async () => {
  ssm.on(GetCommandInvocationCommand).resolves({ Status: 'Failed' });
  await handler({ run: { runId: 'run-1', resolved: { instanceIds: [A] }, command: { commandId: 'cmd-1' }, error: { Error: 'States.Runtime' } } });
  expect(ssm.commandCalls(CancelCommandCommand)).toHaveLength(0);
  expect(failure()).toBe('States.Runtime');
});

test('a run whose result CodePipeline took already is not reported twice', async () => {
  dynamodb.on(UpdateItemCommand).callsFake(updatedRun({ reported: { BOOL: true } }));
  await expect(handler({ run: { runId: 'run-1', status: { done: true, outcome: success } } })).resolves.toEqual({ result: 'already-reported', succeeded: true });
  expect(codepipeline.calls()).toHaveLength(0);
});

test('the first outcome stored wins: a later, different one reports the stored one', async () => {
  const failed = { succeeded: false, message: 'the run\'s state machine execution timed out' };
  dynamodb.on(UpdateItemCommand).callsFake(updatedRun({ outcome: { S: JSON.stringify(failed) } }));
  await handler({ run: { runId: 'run-1', status: { done: true, outcome: success } } });
  expect(failure()).toBe(failed.message);
  expect(codepipeline.commandCalls(PutJobSuccessResultCommand)).toHaveLength(0);
});

test('a report CodePipeline did not take (throttled, 5xx, no answer) is thrown and not marked: the retry reports again', async () => {
  codepipeline.on(PutJobSuccessResultCommand).rejectsOnce(Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })).resolves({});
  await expect(handler({ run: { runId: 'run-1', status: { done: true, outcome: success } } })).rejects.toMatchObject({ name: 'ThrottlingException' });
  expect(dynamodb.commandCalls(UpdateItemCommand).map(c => c.args[0].input.UpdateExpression)).toEqual(['SET outcome = if_not_exists(outcome, :o)']);
  await expect(handler({ run: { runId: 'run-1', status: { done: true, outcome: success } } })).resolves.toEqual({ result: 'reported', succeeded: true });
  expect(codepipeline.commandCalls(PutJobSuccessResultCommand)).toHaveLength(2);
  expect(codepipeline.commandCalls(PutJobFailureResultCommand)).toHaveLength(0);
});

test('while the job is being renewed, the result goes to the current job; if it no longer takes one, the renewed job will report it', async () => {
  dynamodb.on(UpdateItemCommand).callsFake(updatedRun({ awaitingJob: { BOOL: true } }));
  codepipeline.on(PutJobSuccessResultCommand).rejects(Object.assign(new Error('not in progress'), { name: 'InvalidJobStateException', $metadata: { httpStatusCode: 400 } }));
  await expect(handler({ run: { runId: 'run-1', status: { done: true, outcome: success } } })).resolves.toEqual({ result: 'deferred', succeeded: true });
  expect(dynamodb.commandCalls(UpdateItemCommand)).toHaveLength(1);
});

test('an error before the state knew the command: the command the run recorded (or meant to send) is found and cancelled', async () => {
  const intent = { documentName: 'AWS-RunShellScript', sentAfter: '2026-12-01T00:00:00.000Z' };
  dynamodb.on(GetItemCommand).resolves({ Item: runItem({ runWork: { S: JSON.stringify(intent) } }) });
  ssm.on(ListCommandsCommand).resolves({ Commands: [{ CommandId: 'other', Comment: 'run run-9' }, { CommandId: 'cmd-7', Comment: 'run run-1', InstanceIds: [A] }] });
  ssm.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
  await handler({ run: { runId: 'run-1', error: { Error: 'CommandNotRecorded', Cause: JSON.stringify({ errorMessage: 'command cmd-7 was sent but not recorded' }) } } });
  expect(ssm.commandCalls(ListCommandsCommand)[0].args[0].input.Filters).toEqual([
    { key: 'DocumentName', value: 'AWS-RunShellScript' }, { key: 'InvokedAfter', value: intent.sentAfter },
  ]);
  expect(ssm.commandCalls(CancelCommandCommand)[0].args[0].input).toEqual({ CommandId: 'cmd-7', InstanceIds: [A] });
  expect(failure()).toBe(`CommandNotRecorded: command cmd-7 was sent but not recorded\ncommand cmd-7 was cancelled on ${A}`);
});

test('a cancel that is refused never prevents the report: the reason says so', async () => {
  ssm.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
  ssm.on(CancelCommandCommand).rejects(Object.assign(new Error('not a valid instance'), { name: 'InvalidInstanceId' }));
  await handler({ run: { runId: 'run-1', resolved: { instanceIds: [A] }, command: { commandId: 'cmd-1' }, error: { Error: 'States.Timeout' } } });
  expect(failure()).toBe('States.Timeout\nthe run\'s command could not be cancelled: InvalidInstanceId: not a valid instance');
});
