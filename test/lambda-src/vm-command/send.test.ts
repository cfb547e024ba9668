import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
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

beforeEach(() => {
  ssm.reset(); dynamodb.reset();
  process.env.TABLE_NAME = 'runs';
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
  dynamodb.onAnyCommand().resolves({});
});

test('sends instance targets as InstanceIds with rate control, timeouts, per-run parameters over static ones, and CloudWatch output', async () => {
  await expect(handler({
    runId: 'run-1',
    instanceIds: [A],
    targets: { instanceIds: [A] },
    parameters: { executionTimeout: ['900'], commitId: ['abc'] },
    config,
  })).resolves.toEqual({ commandId: 'cmd-1' });
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
  // An update, never a put: a completion mark that SSM's event left first must survive.
  expect(dynamodb.commandCalls(PutItemCommand)).toHaveLength(0);
  const [command, run] = dynamodb.commandCalls(UpdateItemCommand).map(c => c.args[0].input);
  expect(command).toMatchObject({ Key: { pk: { S: 'command#cmd-1' } }, UpdateExpression: 'SET runId = :r, expiresAt = :e', ExpressionAttributeValues: { ':r': { S: 'run-1' } } });
  expect(command.ConditionExpression).toBeUndefined();
  expect(run).toMatchObject({ Key: { pk: { S: 'run#run-1' } }, UpdateExpression: 'SET runWork = :w' });
  expect(JSON.parse(run.ExpressionAttributeValues![':w'].S!)).toEqual({ commandId: 'cmd-1', instanceIds: [A] });
});

test('tag and resource-group targets are sent as SSM Targets; S3 output when configured', async () => {
  await handler({ runId: 'r', instanceIds: [A], targets: { tags: { Env: ['prod'] } }, parameters: {}, config: { ...config, outputBucket: 'out', outputKeyPrefix: 'runs/' } });
  await handler({ runId: 'r', instanceIds: [A], targets: { resourceGroup: 'scanners' }, parameters: {}, config });
  const [tags, group] = ssm.commandCalls(SendCommandCommand).map(c => c.args[0].input);
  expect(tags).toMatchObject({ Targets: [{ Key: 'tag:Env', Values: ['prod'] }], OutputS3BucketName: 'out', OutputS3KeyPrefix: 'runs/' });
  expect(tags.InstanceIds).toBeUndefined();
  expect(group).toMatchObject({ Targets: [{ Key: 'resource-groups:Name', Values: ['scanners'] }] });
});

test('throttling surfaces under its own name for the state machine to retry', async () => {
  ssm.on(SendCommandCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
  await expect(handler({ runId: 'r', instanceIds: [A], targets: { instanceIds: [A] }, parameters: {}, config }))
    .rejects.toMatchObject({ name: 'ThrottlingException' });
  expect(dynamodb.calls()).toHaveLength(0);
});

test('an answer without a command id is an error', async () => {
  ssm.on(SendCommandCommand).resolves({});
  await expect(handler({ runId: 'r', instanceIds: [A], targets: { instanceIds: [A] }, parameters: {}, config }))
    .rejects.toThrow('SendCommand answered without a command id');
});

test('shell and PowerShell scripts start with the marker line and the run id, then get the parameters their document does not take as environment variables', async () => {
  await handler({ runId: 'r', instanceIds: [A], targets: { instanceIds: [A] }, parameters: { COMMIT_ID: ["ab'c"], SUITES: ['a', 'b'] }, config: { ...config, script: 'shell' } });
  await handler({ runId: 'r', instanceIds: [A], targets: { instanceIds: [A] }, parameters: { COMMIT_ID: ["ab'c"] }, config: { ...config, script: 'powerShell' } });
  const [shell, powerShell] = ssm.commandCalls(SendCommandCommand).map(c => c.args[0].input.Parameters);
  expect(shell).toEqual({ commands: ['# cdk-pipeline-stages run r', "export COMMIT_ID='ab'\\''c'", "export SUITES='a b'", 'make test'], executionTimeout: ['600'] });
  expect(powerShell).toEqual({ commands: ['# cdk-pipeline-stages run r', "$env:COMMIT_ID = 'ab''c'", 'make test'], executionTimeout: ['600'] });
  await expect(handler({ runId: 'r', instanceIds: [A], targets: { instanceIds: [A] }, parameters: { 'commit-id': ['x'] }, config: { ...config, script: 'shell' } }))
    .rejects.toThrow('parameter `commit-id` cannot be an environment variable of the script (use letters, digits and _)');
});
