import { CodePipelineClient, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CancelCommandCommand, GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { conditionalCheckFailed, runItem } from './fixtures';
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
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: runItem() });
});

const settled = () => dynamodb.commandCalls(UpdateItemCommand)[0].args[0].input;
const failure = () => codepipeline.commandCalls(PutJobFailureResultCommand)[0].args[0].input.failureDetails!.message;

test('reports a success with its variables to the current job and marks it reported', async () => {
  await expect(handler({ run: { runId: 'run-1', status: { done: true, outcome: success } } })).resolves.toEqual({ result: 'reported', succeeded: true });
  expect(settled()).toMatchObject({ ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(outcome)', ExpressionAttributeValues: { ':o': { S: JSON.stringify(success) } } });
  expect(codepipeline.commandCalls(PutJobSuccessResultCommand)[0].args[0].input).toEqual({
    jobId: 'job-1', executionDetails: { summary: success.message }, outputVariables: { CommandId: 'cmd-1' },
  });
  expect(dynamodb.commandCalls(UpdateItemCommand)[1].args[0].input.UpdateExpression).toBe('SET reported = :true');
});

test('a refused success is reported as a failure', async () => {
  codepipeline.on(PutJobSuccessResultCommand).rejects(Object.assign(new Error('too many variables'), { name: 'ValidationException' }));
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

test('a run another component already settled is not reported twice', async () => {
  dynamodb.on(UpdateItemCommand).rejects(conditionalCheckFailed());
  await expect(handler({ run: { runId: 'run-1', status: { done: true, outcome: success } } })).resolves.toEqual({ result: 'already-settled', succeeded: true });
  expect(codepipeline.calls()).toHaveLength(0);
});

test('while the job is being renewed, the outcome is left for the next job to report', async () => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: runItem({ awaitingJob: { BOOL: true } }) });
  await expect(handler({ run: { runId: 'run-1', status: { done: true, outcome: success } } })).resolves.toEqual({ result: 'deferred', succeeded: true });
  expect(codepipeline.calls()).toHaveLength(0);
});
