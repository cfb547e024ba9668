import { CodePipelineClient, PutJobFailureResultCommand } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { handleJobEvent, isJobEvent, StopWork } from '../../../lambda-src/core/job-events';
import { runItem, updatedRun } from '../vm-command/fixtures';

const dynamodb = mockClient(DynamoDBClient);
const codepipeline = mockClient(CodePipelineClient);
const sfn = mockClient(SFNClient);
const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:M';

const executionEvent = (status: string, extra: object = {}) => ({
  source: 'aws.states', detail: { name: 'run-1', status, executionArn: 'arn:x', ...extra },
});
const pipelineEvent = (state = 'ABANDONED') => ({
  source: 'aws.codepipeline', stateMachineArn: STATE_MACHINE, detail: { 'pipeline': 'release', 'execution-id': 'pe-1', 'action': 'RunOnVms', state },
});

let stopWork: jest.MockedFunction<StopWork>;
beforeEach(() => {
  for (const m of [dynamodb, codepipeline, sfn]) m.reset();
  process.env.TABLE_NAME = 'runs';
  stopWork = jest.fn<ReturnType<StopWork>, Parameters<StopWork>>(async () => 'command cmd-1 was cancelled on i-1');
  codepipeline.onAnyCommand().resolves({});
  sfn.onAnyCommand().resolves({});
  dynamodb.on(GetItemCommand, { Key: { pk: { S: 'run#run-1' } } }).resolves({ Item: runItem() });
  dynamodb.on(GetItemCommand, { Key: { pk: { S: `pipeline#pe-1#${STATE_MACHINE}` } } }).resolves({ Item: { runId: { S: 'run-1' } } });
  dynamodb.on(UpdateItemCommand).callsFake(updatedRun());
});

test('a timed-out execution: the construct stops the run\'s work, and the job fails saying what was stopped', async () => {
  await handleJobEvent(executionEvent('TIMED_OUT'), stopWork);
  expect(stopWork).toHaveBeenCalledWith(expect.objectContaining({ runId: 'run-1', work: { commandId: 'cmd-1', instanceIds: ['i-0123456789abcdef0', 'i-0123456789abcdef1'] } }));
  expect(codepipeline.commandCalls(PutJobFailureResultCommand)[0].args[0].input).toMatchObject({
    jobId: 'job-1',
    failureDetails: { message: 'the run\'s state machine execution timed out\ncommand cmd-1 was cancelled on i-1' },
  });
});

test('a failed execution names its error; an aborted one the pipeline stop that caused it', async () => {
  await handleJobEvent(executionEvent('FAILED', { error: 'Lambda.Unknown', cause: '{"errorMessage":"finish crashed"}' }), stopWork);
  expect(codepipeline.commandCalls(PutJobFailureResultCommand)[0].args[0].input.failureDetails!.message)
    .toMatch(/^the run's state machine execution failed: Lambda.Unknown: finish crashed\n/);
  codepipeline.resetHistory();
  await handleJobEvent(executionEvent('ABORTED', { error: 'PipelineStopped', cause: 'pipeline release execution pe-1 was abandoned' }), async () => undefined);
  expect(codepipeline.commandCalls(PutJobFailureResultCommand)[0].args[0].input.failureDetails!.message)
    .toBe('the run\'s state machine execution aborted: PipelineStopped: pipeline release execution pe-1 was abandoned');
});

test('an execution that did not stop (a SUCCEEDED event) or has no recorded run is left alone', async () => {
  await handleJobEvent(executionEvent('SUCCEEDED'), stopWork);
  dynamodb.on(GetItemCommand, { Key: { pk: { S: 'run#run-1' } } }).resolves({});
  await handleJobEvent(executionEvent('TIMED_OUT'), stopWork);
  expect(stopWork).not.toHaveBeenCalled();
  expect(codepipeline.calls()).toHaveLength(0);
});

test('an abandoned pipeline action only stops the execution: its ABORTED event cleans up, once', async () => {
  await handleJobEvent(pipelineEvent(), stopWork);
  expect(sfn.commandCalls(StopExecutionCommand)[0].args[0].input).toEqual({
    executionArn: 'arn:aws:states:us-east-1:123456789012:execution:M:run-1', error: 'PipelineStopped', cause: 'pipeline release execution pe-1 was abandoned',
  });
  expect(stopWork).not.toHaveBeenCalled();
  expect(codepipeline.calls()).toHaveLength(0);
});

test('an execution that already ended is not an error; an action that did not stop and a pipeline execution without a run are ignored', async () => {
  sfn.on(StopExecutionCommand).rejects(Object.assign(new Error('gone'), { name: 'ExecutionDoesNotExist' }));
  await expect(handleJobEvent(pipelineEvent(), stopWork)).resolves.toBeUndefined();
  sfn.resetHistory();
  await handleJobEvent(pipelineEvent('SUCCEEDED'), stopWork);
  dynamodb.on(GetItemCommand, { Key: { pk: { S: `pipeline#pe-1#${STATE_MACHINE}` } } }).resolves({});
  await handleJobEvent(pipelineEvent(), stopWork);
  expect(sfn.calls()).toHaveLength(0);
});

// Step Functions API reference, StopExecution: ExecutionDoesNotExist is the answer for an execution there is no stopping; anything else may leave it running.
test.each([
  ['throttled', 'ThrottlingException'],
  ['refused', 'AccessDeniedException'],
  ['unanswered', 'TimeoutError'],
])('a StopExecution %s on a pipeline stop is thrown, so that Lambda delivers the event again (and then to the dead-letter queue)', async (_how, name) => {
  sfn.on(StopExecutionCommand).rejectsOnce(Object.assign(new Error('no'), { name })).resolves({});
  await expect(handleJobEvent(pipelineEvent(), stopWork)).rejects.toMatchObject({ name });
  await expect(handleJobEvent(pipelineEvent(), stopWork)).resolves.toBeUndefined();
  expect(sfn.commandCalls(StopExecutionCommand)).toHaveLength(2);
});

test('tells job events from others; rejects malformed ones', async () => {
  expect(isJobEvent({ source: 'aws.ssm' })).toBe(false);
  expect(isJobEvent(executionEvent('FAILED'))).toBe(true);
  await expect(handleJobEvent({ source: 'aws.states', detail: {} }, stopWork)).rejects.toThrow(/^Step Functions status event is invalid/);
  await expect(handleJobEvent({ source: 'aws.codepipeline', detail: {} }, stopWork)).rejects.toThrow(/^CodePipeline action event is invalid/);
});
