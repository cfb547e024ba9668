import { Readable } from 'stream';
import { CodePipelineClient, PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { strToU8, zipSync } from 'fflate';
import { codePipelineEvent, conditionalCheckFailed, runItem } from './fixtures';
import { start as handler } from '../../../lambda-src/vm-command/start';

const dynamodb = mockClient(DynamoDBClient);
const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
const codepipeline = mockClient(CodePipelineClient);

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Run';

/** The action's user parameters, as the construct writes them and CodePipeline resolves them. */
function userParameters(own: Record<string, unknown> = {}): string {
  return JSON.stringify({ stateMachineArn: STATE_MACHINE_ARN, pipelineExecutionId: 'pe-1', variables: { commitId: 'abc123' }, ...own });
}

beforeEach(() => {
  for (const m of [dynamodb, sfn, s3, codepipeline]) m.reset();
  process.env.TABLE_NAME = 'runs';
  sfn.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE_ARN}:job-1` });
  codepipeline.onAnyCommand().resolves({});
  dynamodb.onAnyCommand().resolves({});
});

function withFile(files: Record<string, string>, own: Record<string, unknown> = {}) {
  const zip = zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, strToU8(text)])));
  s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([Buffer.from(zip)]) }));
  return codePipelineEvent({
    inputArtifacts: [{ name: 'Source', location: { type: 'S3', s3Location: { bucketName: 'artifacts', objectKey: 'src.zip' } } }],
    actionConfiguration: { configuration: { UserParameters: userParameters({ parametersFile: 'ci/vm.json', ...own }) } },
  });
}

function startedInput(): any {
  return JSON.parse(sfn.commandCalls(StartExecutionCommand)[0].args[0].input.input!);
}

function failureMessage(): string {
  const calls = codepipeline.commandCalls(PutJobFailureResultCommand);
  expect(calls).toHaveLength(1);
  return calls[0].args[0].input.failureDetails!.message!;
}

test('a new job records the run, then starts the stage\'s state machine, the execution named after the job, with the variables', async () => {
  await handler(codePipelineEvent({ actionConfiguration: { configuration: { UserParameters: userParameters() } } }));
  const [run, pipeline] = dynamodb.commandCalls(PutItemCommand).map(c => c.args[0].input.Item!);
  expect(run).toMatchObject({ pk: { S: 'run#job-1' }, jobId: { S: 'job-1' }, executionArn: { S: 'arn:aws:states:us-east-1:123456789012:execution:Run:job-1' }, pipelineExecutionId: { S: 'pe-1' } });
  expect(pipeline).toMatchObject({ pk: { S: `pipeline#pe-1#${STATE_MACHINE_ARN}` }, runId: { S: 'job-1' } });
  expect(sfn.commandCalls(StartExecutionCommand)[0].args[0].input).toMatchObject({ stateMachineArn: STATE_MACHINE_ARN, name: 'job-1' });
  expect(startedInput()).toEqual({ runId: 'job-1', fileTargets: null, parameters: { commitId: ['abc123'] } });
  // The state machine reports the job: nothing is reported now.
  expect(codepipeline.calls()).toHaveLength(0);
});

test('allowlisted file parameters override, converted to SSM parameter lists; targets come from the file when allowed', async () => {
  const event = withFile({
    'ci/vm.json': JSON.stringify({
      parameters: { suite: 'smoke', commands: ['a', 'b'], retries: 3, verbose: true },
      targets: { tags: { Env: 'test' } },
    }),
  }, {
    fileParameters: { suite: 'string', commands: 'stringList', retries: 'integer', verbose: 'boolean' },
    allowTargetsFromFile: true,
  });
  await handler(event);
  expect(s3.commandCalls(GetObjectCommand)[0].args[0].input).toEqual({ Bucket: 'artifacts', Key: 'src.zip' });
  expect(startedInput()).toMatchObject({
    fileTargets: { tags: { Env: ['test'] } },
    parameters: { commitId: ['abc123'], suite: ['smoke'], commands: ['a', 'b'], retries: ['3'], verbose: ['true'] },
  });
});

test.each<[string, Record<string, string>, Record<string, unknown>, RegExp]>([
  ['malformed JSON', { 'ci/vm.json': '{"parameters": ' }, {}, /^parameters file `ci\/vm.json` is not valid JSON: /],
  ['an unknown key', { 'ci/vm.json': '{"parameters": {"suite": "x", "rm": "-rf"}}' }, { fileParameters: { suite: 'string' } },
    /^parameters file `ci\/vm.json` is invalid: `parameters`: Unrecognized key\(s\) in object: 'rm'$/],
  ['a wrong type', { 'ci/vm.json': '{"parameters": {"retries": "3"}}' }, { fileParameters: { retries: 'integer' } },
    /^parameters file `ci\/vm.json` is invalid: `parameters.retries`: Expected number, received string$/],
  ['an unknown top-level key', { 'ci/vm.json': '{"params": {}}' }, {}, /^parameters file `ci\/vm.json` is invalid: Unrecognized key\(s\) in object: 'params'$/],
  ['targets when the stage does not allow them', { 'ci/vm.json': '{"targets": {"instanceIds": ["i-0123456789abcdef0"]}}' }, {},
    /`targets`: targets may not come from the parameters file \(the stage does not allow it\)/],
  ['malformed targets', { 'ci/vm.json': '{"targets": {"instanceIds": ["i-bad"]}}' }, { allowTargetsFromFile: true },
    /`targets.instanceIds\[0\]`: expected an instance id/],
  ['a missing file', { 'other.json': '{}' }, {}, /^parameters file `ci\/vm.json` was not found in the input artifact `Source`$/],
])('a parameters file with %s fails the job with a message naming the problem', async (_name, files, own, message) => {
  await handler(withFile(files, own));
  expect(failureMessage()).toMatch(message);
  expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
});

test('an artifact that is not a zip fails the job', async () => {
  const event = withFile({});
  s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([Buffer.from('not a zip')]) }));
  await handler(event);
  expect(failureMessage()).toMatch(/^the input artifact `Source` is not a readable zip: /);
});

test('a parameters file without an input artifact fails the job', async () => {
  await handler(codePipelineEvent({ actionConfiguration: { configuration: { UserParameters: userParameters({ parametersFile: 'vm.json' }) } } }));
  expect(failureMessage()).toBe('the action has no input artifact to read the parameters file `vm.json` from');
});

test('malformed user parameters fail the job', async () => {
  await handler(codePipelineEvent({ actionConfiguration: { configuration: { UserParameters: userParameters({ variables: { a: 1 } }) } } }));
  expect(failureMessage()).toMatch(/^action user parameters is invalid: `variables.a`: /);
  codepipeline.resetHistory();
  await handler(codePipelineEvent({ actionConfiguration: { configuration: { UserParameters: '{"variables": {}}' } } }));
  expect(failureMessage()).toMatch(/^action user parameters is invalid: `stateMachineArn`: Required/);
});

describe('a continuation job', () => {
  test('takes over the run and reports an outcome stored while the job was being renewed', async () => {
    const outcome = { succeeded: true, message: 'command cmd-1 succeeded on 1 of 1 instance(s)', outputVariables: { CommandId: 'cmd-1' } };
    dynamodb.on(UpdateItemCommand).resolvesOnce({ Attributes: runItem({ jobId: { S: 'job-2' }, outcome: { S: JSON.stringify(outcome) } }) }).resolves({});
    await handler(codePipelineEvent({ continuationToken: 'run-1' }, 'job-2'));
    const [register, reported] = dynamodb.commandCalls(UpdateItemCommand).map(c => c.args[0].input);
    expect(register).toMatchObject({ Key: { pk: { S: 'run#run-1' } }, ExpressionAttributeValues: expect.objectContaining({ ':j': { S: 'job-2' } }) });
    expect(reported.UpdateExpression).toBe('SET reported = :true');
    expect(codepipeline.commandCalls(PutJobSuccessResultCommand).map(c => c.args[0].input)).toEqual([
      { jobId: 'job-2', executionDetails: { summary: outcome.message }, outputVariables: { CommandId: 'cmd-1' } },
    ]);
    expect(sfn.calls()).toHaveLength(0);
  });

  test('of a run still going only takes the job over', async () => {
    dynamodb.on(UpdateItemCommand).resolves({ Attributes: runItem({ jobId: { S: 'job-2' } }) });
    await handler(codePipelineEvent({ continuationToken: 'run-1' }, 'job-2'));
    expect(dynamodb.commandCalls(UpdateItemCommand)).toHaveLength(1);
    expect(codepipeline.calls()).toHaveLength(0);
  });

  test('of an unknown run fails the job', async () => {
    dynamodb.on(UpdateItemCommand).rejects(conditionalCheckFailed());
    await handler(codePipelineEvent({ continuationToken: 'run-9' }, 'job-2'));
    expect(failureMessage()).toBe('run run-9 is unknown (its record expired or was never created)');
  });
});

// Step Functions quotas: 256 KiB per execution input and state; a parameters file may be 256 KiB.
test('a run input larger than its share of the state fails the job before anything starts', async () => {
  await handler(withFile({ 'ci/vm.json': JSON.stringify({ parameters: { suite: 'x'.repeat(100 * 1024) } }) }, { fileParameters: { suite: 'string' } }));
  expect(failureMessage()).toMatch(/^the run's input \(its parameters and targets\) is 101 KiB; at most 64 KiB travel in the run's state, which Step Functions bounds to 256 KiB/);
  expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  expect(dynamodb.commandCalls(PutItemCommand)).toHaveLength(0);
});

test('the renewal age the stage derived from its backstop is kept in the run record', async () => {
  await handler(codePipelineEvent({ actionConfiguration: { configuration: { UserParameters: userParameters({ renewAfterSeconds: 300 }) } } }));
  expect(dynamodb.commandCalls(PutItemCommand)[0].args[0].input.Item).toMatchObject({ renewAfterMs: { N: '300000' } });
});

test('the parameters file is read from a streamed zip: an entry inflating beyond 256 KiB (a zip bomb) is refused, and no other entry is inflated', async () => {
  const bomb = new Uint8Array(50 * 1024 * 1024);
  const event = withFile({});
  s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([Buffer.from(zipSync({ 'ci/vm.json': bomb, 'other.bin': bomb }, { level: 9 }))]) }));
  await handler(event);
  expect(failureMessage()).toBe('parameters file `ci/vm.json` is larger than 256 KiB');
  expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
});
