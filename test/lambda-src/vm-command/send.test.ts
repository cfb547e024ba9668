import { execFileSync } from 'child_process';
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ListCommandsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { runItem } from './fixtures';
import { send as handler } from '../../../lambda-src/vm-command/send';

const ssm = mockClient(SSMClient);
const dynamodb = mockClient(DynamoDBClient);
const A = 'i-0123456789abcdef0';

const config = {
  documentName: 'AWS-RunShellScript',
  parameters: { commands: ['make test'], executionTimeout: ['600'] },
  deliveryTimeoutSeconds: 300,
  maxConcurrency: '5',
  maxErrors: '1',
  logGroupName: 'vm-output',
  marker: '# cdk-pipeline-stages run ',
};
const base = { runId: 'run-1', instanceIds: [A], targets: { instanceIds: [A] }, parameters: {}, config };

function awsError(name: string, httpStatusCode?: number): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode } });
}

const updates = () => dynamodb.commandCalls(UpdateItemCommand).map(c => c.args[0].input);

beforeEach(() => {
  ssm.reset(); dynamodb.reset();
  process.env.TABLE_NAME = 'runs';
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
  dynamodb.onAnyCommand().resolves({});
});

test('records the intent, sends instance targets as InstanceIds with rate control, timeouts, per-run parameters and the run in the comment, then records the command', async () => {
  await expect(handler({ ...base, parameters: { executionTimeout: ['900'], commitId: ['abc'] } })).resolves.toEqual({ commandId: 'cmd-1' });
  expect(ssm.commandCalls(SendCommandCommand)[0].args[0].input).toEqual({
    DocumentName: 'AWS-RunShellScript',
    Parameters: { commands: ['make test'], executionTimeout: ['900'], commitId: ['abc'] },
    InstanceIds: [A],
    TimeoutSeconds: 300,
    MaxConcurrency: '5',
    MaxErrors: '1',
    Comment: 'run run-1',
    CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: 'vm-output' },
  });
  // Updates, never puts: a completion mark that SSM's event left first must survive.
  expect(dynamodb.commandCalls(PutItemCommand)).toHaveLength(0);
  const [intent, command, run] = updates();
  expect(intent.Key).toEqual({ pk: { S: 'run#run-1' } });
  expect(JSON.parse(intent.ExpressionAttributeValues![':w'].S!)).toEqual({ documentName: 'AWS-RunShellScript', sentAfter: expect.any(String) });
  expect(command).toMatchObject({ Key: { pk: { S: 'command#cmd-1' } }, UpdateExpression: 'SET runId = :r, expiresAt = :e', ExpressionAttributeValues: { ':r': { S: 'run-1' } } });
  expect(JSON.parse(run.ExpressionAttributeValues![':w'].S!)).toMatchObject({ commandId: 'cmd-1', instanceIds: [A], documentName: 'AWS-RunShellScript' });
});

test('tag and resource-group targets are sent as SSM Targets; S3 output when configured', async () => {
  await handler({ ...base, targets: { tags: { Env: ['prod'] } }, config: { ...config, outputBucket: 'out', outputKeyPrefix: 'runs/' } });
  await handler({ ...base, targets: { resourceGroup: 'scanners' } });
  const [tags, group] = ssm.commandCalls(SendCommandCommand).map(c => c.args[0].input);
  expect(tags).toMatchObject({ Targets: [{ Key: 'tag:Env', Values: ['prod'] }], OutputS3BucketName: 'out', OutputS3KeyPrefix: 'runs/' });
  expect(tags.InstanceIds).toBeUndefined();
  expect(group).toMatchObject({ Targets: [{ Key: 'resource-groups:Name', Values: ['scanners'] }] });
});

test.each([
  ['throttling keeps its name (nothing was sent)', awsError('ThrottlingException', 400), 'ThrottlingException'],
  ['a refusal keeps its name', awsError('InvalidDocument', 400), 'InvalidDocument'],
  ['a 5xx may have been applied', awsError('InternalServerError', 500), 'SendCommandUncertain'],
  ['no answer may have been applied', awsError('TimeoutError'), 'SendCommandUncertain'],
  ['a dropped connection may have been applied', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'SendCommandUncertain'],
])('%s: %s', async (_name, error, name) => {
  ssm.on(SendCommandCommand).rejects(error);
  await expect(handler(base)).rejects.toMatchObject({ name });
  // Only the intent was recorded; the SDK sent the command once (maxAttempts 1).
  expect(updates()).toHaveLength(1);
  expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
});

test('an answer without a command id is uncertain; a command that could not be recorded is named for the retry', async () => {
  ssm.on(SendCommandCommand).resolves({});
  await expect(handler(base)).rejects.toMatchObject({ name: 'SendCommandUncertain', message: 'SendCommand answered without a command id' });
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
  // The intent is recorded; recording the command is refused.
  dynamodb.on(UpdateItemCommand).callsFake(input => {
    if (String(input.Key.pk.S).startsWith('command#')) throw awsError('ProvisionedThroughputExceededException', 400);
    return {};
  });
  await expect(handler(base)).rejects.toMatchObject({ name: 'CommandNotRecorded' });
});

describe('a retry of the step (retryCount > 0)', () => {
  const intent = { documentName: 'AWS-RunShellScript', sentAfter: '2026-12-01T00:00:00.000Z' };

  test('adopts the command the run already sent, found by its comment, and sends none', async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: runItem({ runWork: { S: JSON.stringify(intent) } }) });
    ssm.on(ListCommandsCommand).resolvesOnce({ Commands: [{ CommandId: 'x', Comment: 'run run-2' }], NextToken: 'p2' })
      .resolves({ Commands: [{ CommandId: 'cmd-9', Comment: 'run run-1' }] });
    await expect(handler({ ...base, retryCount: 1 })).resolves.toEqual({ commandId: 'cmd-9' });
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(ssm.commandCalls(ListCommandsCommand)[1].args[0].input).toMatchObject({ NextToken: 'p2' });
    expect(JSON.parse(updates()[1].ExpressionAttributeValues![':w'].S!)).toMatchObject({ commandId: 'cmd-9' });
  });

  test('adopts a command the run recorded; sends when the run sent none', async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: runItem() });
    await expect(handler({ ...base, retryCount: 1 })).resolves.toEqual({ commandId: 'cmd-1' });
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    dynamodb.on(GetItemCommand).resolves({ Item: runItem({ runWork: { S: JSON.stringify(intent) } }) });
    ssm.on(ListCommandsCommand).resolves({ Commands: [] });
    await expect(handler({ ...base, retryCount: 2 })).resolves.toEqual({ commandId: 'cmd-1' });
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  test('a listing that repeats its page token stops with a clear error', async () => {
    dynamodb.on(GetItemCommand).resolves({ Item: runItem({ runWork: { S: JSON.stringify(intent) } }) });
    ssm.on(ListCommandsCommand).resolves({ Commands: [], NextToken: 'same' });
    await expect(handler({ ...base, retryCount: 1 })).rejects.toThrow('ListCommands answered the same page token twice; stopped reading it');
  });
});

describe('script parameters', () => {
  const hostile = [
    "it's", 'a "quote"', '$(touch /tmp/pwned)', '`id`', '$HOME', 'back\\slash', 'new\nline', 'semi;colon && true',
    '‘typographic’ “quotes” ‛and‚ ‟more„', 'ünïcödé', '--%', "'; Remove-Item -Recurse C:\\ ; '",
  ];

  test('start with the marker line and the run id, then set each non-document parameter as an environment variable', async () => {
    await handler({ ...base, parameters: { COMMIT_ID: ["ab'c"], SUITES: ['a', 'b'] }, config: { ...config, script: 'shell' } });
    await handler({ ...base, parameters: { COMMIT_ID: ["ab'c"] }, config: { ...config, script: 'powerShell' } });
    const [shell, powerShell] = ssm.commandCalls(SendCommandCommand).map(c => c.args[0].input.Parameters!);
    expect(shell.commands[0]).toBe('# cdk-pipeline-stages run run-1');
    expect(shell.commands.slice(1)).toEqual([
      `export COMMIT_ID="$(printf %s '${Buffer.from("ab'c").toString('base64')}' | base64 -d)"`,
      `export SUITES="$(printf %s '${Buffer.from('a b').toString('base64')}' | base64 -d)"`,
      'make test',
    ]);
    expect(shell.executionTimeout).toEqual(['600']);
    expect(powerShell.commands).toEqual([
      '# cdk-pipeline-stages run run-1',
      `$env:COMMIT_ID = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String('${Buffer.from("ab'c").toString('base64')}'))`,
      'make test',
    ]);
  });

  test('a parameter that cannot be an environment variable fails the step as an InputError (not retried), before anything is sent or recorded', async () => {
    await expect(handler({ ...base, parameters: { 'commit-id': ['x'] }, config: { ...config, script: 'shell' } })).rejects.toMatchObject({
      name: 'InputError', message: 'parameter `commit-id` cannot be an environment variable of the script (use letters, digits and _)',
    });
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(updates()).toHaveLength(0);
  });

  test('hostile values reach a real bash as data, byte for byte, and never as code', async () => {
    const parameters = Object.fromEntries(hostile.map((value, i) => [`V${i}`, [value]]));
    await handler({ ...base, parameters, config: { ...config, script: 'shell', parameters: { commands: [] } } });
    const lines = ssm.commandCalls(SendCommandCommand)[0].args[0].input.Parameters!.commands;
    const script = [...lines, ...hostile.map((_, i) => `printf '%s\\0' "$V${i}"`)].join('\n');
    const output = execFileSync('bash', ['-c', script], { encoding: 'utf8' });
    expect(output.split('\0').slice(0, -1)).toEqual(hostile);
  });

  test('in PowerShell, every value is a single-quoted base64 literal: no character of it can end the string', async () => {
    const parameters = Object.fromEntries(hostile.map((value, i) => [`V${i}`, [value]]));
    await handler({ ...base, parameters, config: { ...config, script: 'powerShell' } });
    const lines = ssm.commandCalls(SendCommandCommand)[0].args[0].input.Parameters!.commands.filter(l => l.startsWith('$env:'));
    expect(lines).toHaveLength(hostile.length);
    lines.forEach((line, i) => {
      const match = /^\$env:V\d+ = \[System\.Text\.Encoding\]::UTF8\.GetString\(\[System\.Convert\]::FromBase64String\('([A-Za-z0-9+/=]*)'\)\)$/.exec(line);
      expect(match).not.toBeNull();
      expect(Buffer.from(match![1], 'base64').toString('utf8')).toBe(hostile[i]);
    });
  });
});
