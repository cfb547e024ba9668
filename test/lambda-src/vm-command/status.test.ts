import { CodePipelineClient, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetCommandInvocationCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { conditionalCheckFailed, runItem } from './fixtures';
import { bytesOf } from '../../../lambda-src/core/payload';
import { evaluate, logsLink, RESULTS_MAX_BYTES, toleratedFailures } from '../../../lambda-src/vm-command/evaluate';
import { status as handler } from '../../../lambda-src/vm-command/status';
import { PIPELINE_OUTPUT_VARIABLES_MAX_BYTES } from '../../../src/core/private/quotas';

const ssm = mockClient(SSMClient);
const dynamodb = mockClient(DynamoDBClient);
const codepipeline = mockClient(CodePipelineClient);
const A = 'i-0123456789abcdef0';
const B = 'i-0123456789abcdef1';
const input = { runId: 'run-1', commandId: 'cmd-1', instanceIds: [A, B], config: { maxErrors: '0', logGroupName: '/vm/output' } };
const notFound = () => Object.assign(new Error('not yet'), { name: 'InvocationDoesNotExist' });

beforeEach(() => {
  ssm.reset(); dynamodb.reset(); codepipeline.reset();
  process.env.TABLE_NAME = 'runs';
  process.env.AWS_REGION = 'eu-west-1';
  dynamodb.on(GetItemCommand).resolves({ Item: runItem() });
});

function invocations(byInstance: Record<string, object | Error>) {
  ssm.on(GetCommandInvocationCommand).callsFake(async ({ InstanceId }) => {
    const answer = byInstance[InstanceId];
    if (answer instanceof Error) throw answer;
    return answer;
  });
}

test('every target succeeded: done, with the command id and per-instance results as output variables', async () => {
  invocations({ [A]: { Status: 'Success' }, [B]: { Status: 'Success' } });
  await expect(handler(input)).resolves.toEqual({
    done: true,
    outcome: {
      succeeded: true,
      message: 'command cmd-1 succeeded on 2 of 2 instance(s)',
      outputVariables: { CommandId: 'cmd-1', SucceededCount: '2', FailedCount: '0', Results: `${A}=Success,${B}=Success` },
    },
  });
});

test('a failed target fails the run with its status detail, output tails and a logs link', async () => {
  invocations({
    [A]: { Status: 'Success' },
    [B]: { Status: 'Failed', StatusDetails: 'Failed', StandardErrorContent: `${'x'.repeat(600)}make: *** [test] Error 2`, StandardOutputContent: 'ran 10 tests' },
  });
  const result = await handler(input) as any;
  expect(result.done).toBe(true);
  expect(result.outcome.succeeded).toBe(false);
  expect(result.outcome.message).toContain(`command cmd-1 failed on 1 of 2 instance(s) (max errors 0):\n- ${B}: Failed\n`);
  expect(result.outcome.message).toContain('stderr (tail): ...');
  expect(result.outcome.message).toContain('make: *** [test] Error 2');
  expect(result.outcome.message).not.toContain('x'.repeat(501));
  expect(result.outcome.message).toContain('stdout (tail): ran 10 tests');
  expect(result.outcome.message).toContain(`logs: ${logsLink({ commandId: 'cmd-1', maxErrors: '0', logGroupName: '/vm/output', region: 'eu-west-1' }, B)}`);
});

test('a target still in progress means not done', async () => {
  invocations({ [A]: { Status: 'Success' }, [B]: { Status: 'InProgress' } });
  await expect(handler(input)).resolves.toEqual({ done: false });
  expect(codepipeline.calls()).toHaveLength(0);
});

test('an invocation that does not exist yet (right after send) counts as pending', async () => {
  invocations({ [A]: notFound(), [B]: { Status: 'Success' } });
  ssm.on(ListCommandsCommand).resolves({ Commands: [{ CommandId: 'cmd-1', Status: 'InProgress' }] });
  await expect(handler(input)).resolves.toEqual({ done: false });
});

test('an invocation SSM never created for a finished command counts as a failure', async () => {
  invocations({ [A]: { Status: 'Failed', StatusDetails: 'Failed' }, [B]: notFound() });
  ssm.on(ListCommandsCommand).resolves({ Commands: [{ CommandId: 'cmd-1', Status: 'Failed' }] });
  const result = await handler(input) as any;
  expect(result.outcome.message).toContain(`- ${B}: NotSent (the command finished before it was sent to this instance)`);
});

test('other read errors propagate', async () => {
  ssm.on(GetCommandInvocationCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
  await expect(handler(input)).rejects.toMatchObject({ name: 'AccessDeniedException' });
});

describe('renewing a long run\'s CodePipeline job', () => {
  beforeEach(() => invocations({ [A]: { Status: 'InProgress' }, [B]: { Status: 'InProgress' } }));

  test('a job older than nine minutes is renewed with a continuation token', async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: runItem({ jobRegisteredAt: { N: String(Date.now() - 10 * 60_000) } }) });
    dynamodb.on(UpdateItemCommand).resolves({ Attributes: runItem({ awaitingJob: { BOOL: true } }) });
    codepipeline.on(PutJobSuccessResultCommand).resolves({});
    await expect(handler(input)).resolves.toEqual({ done: false });
    expect(codepipeline.commandCalls(PutJobSuccessResultCommand)[0].args[0].input).toEqual({ jobId: 'job-1', continuationToken: 'run-1' });
  });

  test('a stage with a 10-minute backstop renews at its own, shorter age: a 6-minute-old job, whose next check may come at 16 minutes', async () => {
    const sixMinutesOld = { jobRegisteredAt: { N: String(Date.now() - 6 * 60_000) }, renewAfterMs: { N: String(5 * 60_000) } };
    dynamodb.on(GetItemCommand).resolves({ Item: runItem(sixMinutesOld) });
    dynamodb.on(UpdateItemCommand).resolves({ Attributes: runItem({ awaitingJob: { BOOL: true } }) });
    codepipeline.on(PutJobSuccessResultCommand).resolves({});
    await handler(input);
    expect(codepipeline.commandCalls(PutJobSuccessResultCommand)[0].args[0].input).toEqual({ jobId: 'job-1', continuationToken: 'run-1' });
  });

  test('a young job is not renewed', async () => {
    await handler(input);
    expect(codepipeline.calls()).toHaveLength(0);
  });

  test('no renewal once the run has an outcome', async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: runItem({ jobRegisteredAt: { N: '0' }, outcome: { S: '{"succeeded":true,"message":"ok"}' } }) });
    await handler(input);
    dynamodb.on(GetItemCommand).resolves({ Item: runItem({ jobRegisteredAt: { N: '0' } }) });
    dynamodb.on(UpdateItemCommand).rejects(conditionalCheckFailed());
    await handler(input);
    expect(codepipeline.calls()).toHaveLength(0);
  });

  test('a renewal that gets no answer fails the step and stays under way: the retry renews again, and InvalidJobStateException means it was taken', async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: runItem({ jobRegisteredAt: { N: '0' } }) });
    dynamodb.on(UpdateItemCommand).resolves({ Attributes: runItem({ awaitingJob: { BOOL: true } }) });
    codepipeline.on(PutJobSuccessResultCommand).rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }))
      .rejects(Object.assign(new Error('job is not in progress'), { name: 'InvalidJobStateException' }));
    await expect(handler(input)).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(handler(input)).resolves.toEqual({ done: false });
    // Never undone: only awaitingJob = true is ever written.
    expect(dynamodb.commandCalls(UpdateItemCommand).map(c => c.args[0].input.ExpressionAttributeValues)).toEqual([{ ':true': { BOOL: true } }, { ':true': { BOOL: true } }]);
    expect(codepipeline.commandCalls(PutJobSuccessResultCommand)).toHaveLength(2);
  });
});

describe('evaluate', () => {
  const context = { commandId: 'c', maxErrors: '1', logGroupName: 'g', region: 'us-east-1' };

  test.each<[string, number, number]>([['0', 10, 0], ['2', 10, 2], ['10%', 25, 2], ['50%', 3, 1], ['100%', 4, 4], ['junk', 5, 0]])(
    'max errors %s of %i targets tolerates %i', (maxErrors, targets, tolerated) => {
      expect(toleratedFailures(maxErrors, targets)).toBe(tolerated);
    });

  test('failures within max errors succeed and say so', () => {
    const outcome = evaluate(context, [{ instanceId: A, status: 'Success' }, { instanceId: B, status: 'TimedOut', statusDetails: 'DeliveryTimedOut' }]);
    expect(outcome).toMatchObject({ succeeded: true, message: 'command c succeeded on 1 of 2 instance(s) (1 failure(s) within max errors 1)' });
  });

  test('beyond max errors: lists at most six failures with their status details, then a count', () => {
    const results = Array.from({ length: 8 }, (_, i) => ({ instanceId: `i-0000000${i}`, status: 'Failed', statusDetails: i === 0 ? 'Undeliverable' : 'Failed' }));
    const outcome = evaluate(context, results);
    expect(outcome.succeeded).toBe(false);
    expect(outcome.message).toContain('- i-00000000: Failed (Undeliverable)\n');
    expect(outcome.message).toContain('- i-00000005: Failed\n');
    expect(outcome.message).not.toContain('- i-00000006:');
    expect(outcome.message).toContain('- and 2 more failed instance(s)');
  });

  // CodePipeline quotas, "Maximum size of output variables" (122,880 bytes for one action); Step Functions
  // quotas, 256 KiB per state: the outcome is part of the run's state.
  test('a fleet of 6,000 targets: Results is bounded and says how many it leaves out; the variables fit CodePipeline\'s limit', () => {
    const results = Array.from({ length: 6000 }, (_, i) => ({ instanceId: `i-${i.toString(16).padStart(17, '0')}`, status: 'Success' }));
    const outcome = evaluate({ ...context, maxErrors: '0' }, results);
    const variables = outcome.outputVariables!;
    expect(bytesOf(variables.Results)).toBeLessThanOrEqual(RESULTS_MAX_BYTES);
    expect(variables.Results).toMatch(/,\.\.\.and \d+ more \(see the command's invocations\)$/);
    const listed = variables.Results.split(',').length - 1;
    expect(variables.Results).toContain(`...and ${6000 - listed} more`);
    const total = Object.entries(variables).reduce((sum, [k, v]) => sum + bytesOf(k) + bytesOf(v), 0);
    expect(total).toBeLessThanOrEqual(PIPELINE_OUTPUT_VARIABLES_MAX_BYTES);
    expect(evaluate(context, results.slice(0, 2)).outputVariables!.Results).toBe(`${results[0].instanceId}=Success,${results[1].instanceId}=Success`);
  });

  test('the logs link filters the log group on the command and instance', () => {
    expect(logsLink({ ...context, logGroupName: '/vm/output' }, A)).toBe(
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/'
      + `$252Fvm$252Foutput/log-events$3FlogStreamNameFilter$3Dc$252F${A}$252F`);
  });
});
