import { CodePipelineClient, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import type { CodePipelineEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { InputError } from '../../../lambda-src/core/errors';
import { resetAwsClients } from '../../../lambda-src/core/aws-clients';
import { putJobFailure, runPipelineJob } from '../../../lambda-src/core/pipeline-job';

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

test('a long failure reason is cut to what CodePipeline accepts', async () => {
  await runPipelineJob(event, async () => { throw new InputError('x'.repeat(6000)); });
  const message = results().failure[0].failureDetails!.message!;
  expect(message).toHaveLength(5000);
  expect(message.endsWith('...')).toBe(true);
});

test('when reporting success is refused, the refusal is reported as the failure', async () => {
  codepipeline.on(PutJobSuccessResultCommand).rejects(new Error('outputVariables too large'));
  await runPipelineJob(event, async () => ({ status: 'succeeded' }));
  expect(results().failure.map(f => f.failureDetails?.message)).toEqual(['reporting success failed: Error: outputVariables too large']);
});

test('an event that is not a CodePipeline job is rejected without reporting', async () => {
  await expect(runPipelineJob({} as CodePipelineEvent, async () => ({ status: 'succeeded' })))
    .rejects.toThrow('the event is not a CodePipeline job: `CodePipeline.job.id` is missing');
  expect(results()).toEqual({ success: [], failure: [] });
});

test('a job that already has its result (InvalidJobStateException) needs nothing more: no error, no second result', async () => {
  codepipeline.on(PutJobFailureResultCommand).rejects(Object.assign(new Error('Job is not in progress'), { name: 'InvalidJobStateException' }));
  await expect(putJobFailure('job-1', 'the pipeline was stopped')).resolves.toBeUndefined();
  codepipeline.on(PutJobSuccessResultCommand).rejects(Object.assign(new Error('Job is not in progress'), { name: 'InvalidJobStateException' }));
  await expect(runPipelineJob(event, async () => ({ status: 'succeeded' }))).resolves.toBeUndefined();
  expect(codepipeline.commandCalls(PutJobFailureResultCommand)).toHaveLength(1);
});
