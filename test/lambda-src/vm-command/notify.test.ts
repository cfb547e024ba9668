import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { notify as handler } from '../../../lambda-src/vm-command/notify';

const dynamodb = mockClient(DynamoDBClient);
const sfn = mockClient(SFNClient);

const event = (commandId: string) => ({
  'source': 'aws.ssm',
  'detail-type': 'EC2 Command Status-change Notification',
  'detail': { 'command-id': commandId, 'status': 'Success', 'document-name': 'AWS-RunShellScript' },
}) as any;

beforeEach(() => { dynamodb.reset(); sfn.reset(); process.env.TABLE_NAME = 'runs'; });

const recorded = { pk: { S: 'command#cmd-1' }, runId: { S: 'run-1' } };

test('marks the command finished, resumes the waiting execution with its token, and only then forgets the token', async () => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: { ...recorded, taskToken: { S: 'token-1' } } });
  sfn.on(SendTaskSuccessCommand).resolves({});
  await handler(event('cmd-1'));
  const [mark, clear] = dynamodb.commandCalls(UpdateItemCommand).map(c => c.args[0].input);
  expect(mark).toMatchObject({
    Key: { pk: { S: 'command#cmd-1' } },
    UpdateExpression: 'SET completed = :true, expiresAt = if_not_exists(expiresAt, :e)',
    ReturnValues: 'ALL_OLD',
  });
  expect(sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input.taskToken).toBe('token-1');
  expect(clear).toMatchObject({ UpdateExpression: 'REMOVE taskToken', ConditionExpression: 'taskToken = :t', ExpressionAttributeValues: { ':t': { S: 'token-1' } } });
});

test('a finished command without a waiting token is only marked (the wait task resumes itself)', async () => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: recorded });
  await handler(event('cmd-1'));
  expect(sfn.calls()).toHaveLength(0);
});

test('the event may come before the send task recorded the command: the mark is written unconditionally, with an expiry', async () => {
  dynamodb.on(UpdateItemCommand).resolves({});
  const now = Math.floor(Date.now() / 1000);
  await handler(event('cmd-early'));
  const update = dynamodb.commandCalls(UpdateItemCommand)[0].args[0].input;
  expect(update.ConditionExpression).toBeUndefined();
  expect(update.ExpressionAttributeValues![':true']).toEqual({ BOOL: true });
  expect(Number(update.ExpressionAttributeValues![':e'].N)).toBeGreaterThanOrEqual(now + 24 * 3600);
  expect(Number(update.ExpressionAttributeValues![':e'].N)).toBeLessThanOrEqual(now + 24 * 3600 + 5);
  expect(sfn.calls()).toHaveLength(0);
});

test('a mark without a run (another sender\'s command, or not recorded yet) resumes nothing, even with a stray token', async () => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: { pk: { S: 'command#x' }, completed: { BOOL: true }, taskToken: { S: 't' } } });
  await handler(event('x'));
  expect(sfn.calls()).toHaveLength(0);
});

test.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])('a task that already moved on (%s) is not an error', async name => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: { ...recorded, taskToken: { S: 'old' } } });
  sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('gone'), { name }));
  await expect(handler(event('cmd-1'))).resolves.toBeUndefined();
});

test('a throttled resume propagates with the token kept, so Lambda\'s retry of the event resumes the execution', async () => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: { ...recorded, taskToken: { S: 't' } } });
  sfn.on(SendTaskSuccessCommand).rejectsOnce(Object.assign(new Error('slow down'), { name: 'ThrottlingException' })).resolves({});
  await expect(handler(event('cmd-1'))).rejects.toMatchObject({ name: 'ThrottlingException' });
  expect(dynamodb.commandCalls(UpdateItemCommand).map(c => c.args[0].input.UpdateExpression)).not.toContain('REMOVE taskToken');
  await expect(handler(event('cmd-1'))).resolves.toBeUndefined();
  expect(sfn.commandCalls(SendTaskSuccessCommand).map(c => c.args[0].input.taskToken)).toEqual(['t', 't']);
});

test('a malformed event is rejected', async () => {
  await expect(handler({ detail: { status: 'Success' } } as any)).rejects.toThrow(/^SSM command status event is invalid: `command-id`/);
});
