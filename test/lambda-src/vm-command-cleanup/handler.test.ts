import { CodePipelineClient, PutJobFailureResultCommand } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { CancelCommandCommand, GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../lambda-src/vm-command-cleanup/handler';
import { runItem } from '../vm-command-shared/fixtures';

const ssm = mockClient(SSMClient);
const dynamodb = mockClient(DynamoDBClient);
const codepipeline = mockClient(CodePipelineClient);
const sfn = mockClient(SFNClient);
const A = 'i-0123456789abcdef0';
const B = 'i-0123456789abcdef1';

const executionEvent = (status: string, extra: object = {}) => ({
  source: 'aws.states', detail: { name: 'run-1', status, executionArn: 'arn:x', ...extra },
}) as any;
const pipelineEvent = (state = 'ABANDONED') => ({
  source: 'aws.codepipeline', detail: { 'pipeline': 'release', 'execution-id': 'pe-1', 'action': 'RunOnVms', state },
}) as any;

beforeEach(() => {
  for (const m of [ssm, dynamodb, codepipeline, sfn]) m.reset();
  process.env.TABLE_NAME = 'runs';
  ssm.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
  ssm.on(CancelCommandCommand).resolves({});
  codepipeline.onAnyCommand().resolves({});
  sfn.onAnyCommand().resolves({});
  dynamodb.on(GetItemCommand, { Key: { pk: { S: 'run#run-1' } } }).resolves({ Item: runItem() });
  dynamodb.on(GetItemCommand, { Key: { pk: { S: 'pipeline#pe-1' } } }).resolves({ Item: { runId: { S: 'run-1' } } });
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: runItem() });
});

test('a timed-out execution: the command is cancelled on every target still running it, and the job fails', async () => {
  await handler(executionEvent('TIMED_OUT'));
  expect(ssm.commandCalls(CancelCommandCommand)[0].args[0].input).toEqual({ CommandId: 'cmd-1', InstanceIds: [A, B] });
  expect(codepipeline.commandCalls(PutJobFailureResultCommand)[0].args[0].input).toMatchObject({
    jobId: 'job-1',
    failureDetails: { message: `the run's state machine execution timed out\ncommand cmd-1 was cancelled on ${A}, ${B}` },
  });
});

test('a failed execution names its error', async () => {
  await handler(executionEvent('FAILED', { error: 'Lambda.Unknown', cause: '{"errorMessage":"finish crashed"}' }));
  expect(codepipeline.commandCalls(PutJobFailureResultCommand)[0].args[0].input.failureDetails!.message)
    .toMatch(/^the run's state machine execution failed: Lambda.Unknown: finish crashed\n/);
});

test('an execution that ended before sending cancels nothing', async () => {
  dynamodb.on(GetItemCommand, { Key: { pk: { S: 'run#run-1' } } }).resolves({ Item: runItem({ commandId: { NULL: true }, instanceIds: { L: [] } }) });
  await handler(executionEvent('ABORTED'));
  expect(ssm.calls()).toHaveLength(0);
  expect(codepipeline.commandCalls(PutJobFailureResultCommand)).toHaveLength(1);
});

test('an execution without a recorded run is ignored', async () => {
  dynamodb.on(GetItemCommand, { Key: { pk: { S: 'run#run-1' } } }).resolves({});
  await handler(executionEvent('TIMED_OUT'));
  expect(ssm.calls()).toHaveLength(0);
  expect(codepipeline.calls()).toHaveLength(0);
});

test('an abandoned pipeline action: the run is settled, the command cancelled and the execution stopped', async () => {
  await handler(pipelineEvent());
  expect(dynamodb.commandCalls(UpdateItemCommand)[0].args[0].input.ExpressionAttributeValues![':o'].S).toContain('pipeline release execution pe-1 was abandoned');
  expect(ssm.commandCalls(CancelCommandCommand)[0].args[0].input.InstanceIds).toEqual([A, B]);
  expect(sfn.commandCalls(StopExecutionCommand)[0].args[0].input).toEqual({
    executionArn: 'arn:aws:states:us-east-1:123456789012:execution:M:run-1', error: 'PipelineStopped', cause: 'pipeline release execution pe-1 was abandoned',
  });
});

test('an abandoned job that refuses the result, and an execution that already ended, do not stop the cleanup', async () => {
  codepipeline.on(PutJobFailureResultCommand).rejects(Object.assign(new Error('not in progress'), { name: 'InvalidJobStateException' }));
  sfn.on(StopExecutionCommand).rejects(Object.assign(new Error('gone'), { name: 'ExecutionDoesNotExist' }));
  await expect(handler(pipelineEvent())).resolves.toBeUndefined();
  expect(ssm.commandCalls(CancelCommandCommand)).toHaveLength(1);
});

test('a pipeline execution without a run is ignored', async () => {
  dynamodb.on(GetItemCommand, { Key: { pk: { S: 'pipeline#pe-1' } } }).resolves({});
  await handler(pipelineEvent());
  expect(sfn.calls()).toHaveLength(0);
  expect(ssm.calls()).toHaveLength(0);
});

test('events from other sources are ignored; malformed ones rejected', async () => {
  await handler({ source: 'aws.ec2', detail: {} } as any);
  expect(dynamodb.calls()).toHaveLength(0);
  await expect(handler({ source: 'aws.states', detail: {} } as any)).rejects.toThrow(/^Step Functions status event is invalid/);
});
