import { CodePipelineClient, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import type { CodePipelineEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { resetAwsClients } from '../../../lambda-src/core/aws-clients';
import { InputError } from '../../../lambda-src/core/errors';
import { failureMessage, putJobFailure, runPipelineJob } from '../../../lambda-src/core/pipeline-job';
import { describeStepError, MAX_CAUSE_CHARS } from '../../../lambda-src/core/step-error';

const codepipeline = mockClient(CodePipelineClient);
const event = { 'CodePipeline.job': { id: 'job-1', accountId: '111111111111', data: {} } } as unknown as CodePipelineEvent;

beforeEach(() => {
  codepipeline.reset();
  resetAwsClients();
});

function results() {
  return {
    success: codepipeline.commandCalls(PutJobSuccessResultCommand).map(c => c.args[0].input),
    failure: codepipeline.commandCalls(PutJobFailureResultCommand).map(c => c.args[0].input),
  };
}

test('reports success once, with summary and output variables', async () => {
  await runPipelineJob(event, async job => {
    expect(job.id).toBe('job-1');
    return { status: 'succeeded', summary: 'all good', outputVariables: { CommandId: 'c-1' } };
  });
  expect(results()).toEqual({
    success: [{ jobId: 'job-1', executionDetails: { summary: 'all good' }, outputVariables: { CommandId: 'c-1' } }],
    failure: [],
  });
});

test('a pending outcome reports nothing (a later component reports the result)', async () => {
  await runPipelineJob(event, async () => ({ status: 'pending' }));
  expect(results()).toEqual({ success: [], failure: [] });
});

test('an input error is reported as the failure message as it is', async () => {
  await runPipelineJob(event, async () => { throw new InputError('parameters file is invalid: `x`: expected string'); });
  expect(results().failure).toEqual([{
    jobId: 'job-1',
    failureDetails: { type: 'JobFailed', message: 'parameters file is invalid: `x`: expected string' },
  }]);
  expect(results().success).toEqual([]);
});

test('an unexpected error is reported with its name, and a non-Error value as text', async () => {
  await runPipelineJob(event, async () => { throw new TypeError('boom'); });
  await runPipelineJob(event, async () => { throw 'plain'; });
  expect(results().failure.map(f => f.failureDetails?.message)).toEqual(['TypeError: boom', 'plain']);
});

test('a long failure reason is cut to what CodePipeline accepts, in its middle: what failed and what cleanup did both stay', async () => {
  await runPipelineJob(event, async () => { throw new InputError(`preflight failed: ${'x'.repeat(6000)}\ncommand cmd-1 was cancelled on i-1`); });
  const message = results().failure[0].failureDetails!.message!;
  expect(message).toHaveLength(5000);
  expect(message).toMatch(/^preflight failed: x+\n\[\.\.\. \d+ characters cut \.\.\.\]\nx+\ncommand cmd-1 was cancelled on i-1$/);
});

test('a long first cause leaves room for what follows it: each step error is bounded', () => {
  const huge = JSON.stringify({ errorType: 'Error', errorMessage: `boom ${'y'.repeat(20_000)} end of the error` });
  const reason = `${describeStepError('States.TaskFailed', huge)}\ncommand cmd-1 was cancelled on i-1, i-2`;
  expect(describeStepError('States.TaskFailed', huge)).toHaveLength(MAX_CAUSE_CHARS);
  expect(describeStepError('States.TaskFailed', huge)).toMatch(/^States\.TaskFailed: boom y+\n\[\.\.\. \d+ characters cut \.\.\.\]\ny+ end of the error$/);
  expect(failureMessage(reason)).toBe(reason);
});

test('a Lambda error payload that only reads [object Object] is named as what it is', () => {
  expect(describeStepError('States.TaskFailed', JSON.stringify({ errorType: 'object', errorMessage: '[object Object]' })))
    .toBe('States.TaskFailed: the function threw a value that is not an Error (object)');
});

function awsError(name: string, httpStatusCode?: number, message = `${name} happened`): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}

test('when CodePipeline refuses the success (a 4xx), the refusal is reported as the failure', async () => {
  codepipeline.on(PutJobSuccessResultCommand).rejects(awsError('ValidationException', 400, 'outputVariables too large'));
  await runPipelineJob(event, async () => ({ status: 'succeeded' }));
  expect(results().failure.map(f => f.failureDetails?.message)).toEqual(['reporting success failed: ValidationException: outputVariables too large']);
});

test.each([
  ['throttled', awsError('ThrottlingException', 400)],
  ['a 5xx', awsError('InternalServiceException', 500)],
  ['no answer (timeout)', awsError('TimeoutError')],
])('when the success is %s, it is not turned into a failure: the error is thrown for Lambda to run the job again', async (_name, error) => {
  codepipeline.on(PutJobSuccessResultCommand).rejects(error);
  await expect(runPipelineJob(event, async () => ({ status: 'succeeded' }))).rejects.toBe(error);
  expect(results().failure).toEqual([]);
});

test('a failure with an empty reason, or an error with no name and no message, is still a readable text', async () => {
  codepipeline.on(PutJobFailureResultCommand).resolves({});
  await runPipelineJob(event, async () => { throw Object.assign(new Error(''), { name: '' }); });
  await runPipelineJob(event, async () => { throw { code: 42 }; });
  await runPipelineJob(event, async () => { throw ''; });
  expect(results().failure.map(f => f.failureDetails?.message)).toEqual(['Error', '{"code":42}', 'an empty error']);
  expect(failureMessage('   ')).toBe('the action failed without a reason');
});

test('an event that is not a CodePipeline job is rejected without reporting', async () => {
  await expect(runPipelineJob({} as CodePipelineEvent, async () => ({ status: 'succeeded' })))
    .rejects.toThrow('the event is not a CodePipeline job: `CodePipeline.job.id` is missing');
  expect(results()).toEqual({ success: [], failure: [] });
});

test('a job that already has its result (InvalidJobStateException) needs nothing more: no error, no second result', async () => {
  codepipeline.on(PutJobFailureResultCommand).rejects(Object.assign(new Error('Job is not in progress'), { name: 'InvalidJobStateException' }));
  await expect(putJobFailure('job-1', 'the pipeline was stopped')).resolves.toBe(false);
  codepipeline.on(PutJobSuccessResultCommand).rejects(Object.assign(new Error('Job is not in progress'), { name: 'InvalidJobStateException' }));
  await expect(runPipelineJob(event, async () => ({ status: 'succeeded' }))).resolves.toBeUndefined();
  expect(codepipeline.commandCalls(PutJobFailureResultCommand)).toHaveLength(1);
});
