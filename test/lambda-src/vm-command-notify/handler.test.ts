import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../lambda-src/vm-command-notify/handler';
import { conditionalCheckFailed } from '../vm-command-shared/fixtures';

const dynamodb = mockClient(DynamoDBClient);
const sfn = mockClient(SFNClient);

const event = (commandId: string) => ({
  'source': 'aws.ssm',
  'detail-type': 'EC2 Command Status-change Notification',
  'detail': { 'command-id': commandId, 'status': 'Success', 'document-name': 'AWS-RunShellScript' },
}) as any;

beforeEach(() => { dynamodb.reset(); sfn.reset(); process.env.TABLE_NAME = 'runs'; });

test('marks the command finished and resumes the waiting execution with its token', async () => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: { pk: { S: 'command#cmd-1' }, taskToken: { S: 'token-1' } } });
  sfn.on(SendTaskSuccessCommand).resolves({});
  await handler(event('cmd-1'));
  expect(dynamodb.commandCalls(UpdateItemCommand)[0].args[0].input).toMatchObject({
    Key: { pk: { S: 'command#cmd-1' } }, UpdateExpression: 'SET completed = :true REMOVE taskToken', ReturnValues: 'ALL_OLD',
  });
  expect(sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input.taskToken).toBe('token-1');
});

test('a finished command without a waiting token is only marked (the wait task resumes itself)', async () => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: { pk: { S: 'command#cmd-1' } } });
  await handler(event('cmd-1'));
  expect(sfn.calls()).toHaveLength(0);
});

test('commands this stage did not send are ignored', async () => {
  dynamodb.on(UpdateItemCommand).rejects(conditionalCheckFailed());
  await handler(event('someone-elses'));
  expect(sfn.calls()).toHaveLength(0);
});

test.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])('a task that already moved on (%s) is not an error', async name => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: { taskToken: { S: 'old' } } });
  sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('gone'), { name }));
  await expect(handler(event('cmd-1'))).resolves.toBeUndefined();
});

test('other Step Functions errors propagate, so EventBridge retries', async () => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: { taskToken: { S: 't' } } });
  sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
  await expect(handler(event('cmd-1'))).rejects.toMatchObject({ name: 'ThrottlingException' });
});

test('a malformed event is rejected', async () => {
  await expect(handler({ detail: { status: 'Success' } } as any)).rejects.toThrow(/^SSM command status event is invalid: `command-id`/);
});
