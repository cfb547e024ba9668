import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { conditionalCheckFailed } from './fixtures';
import { wait as handler } from '../../../lambda-src/vm-command/wait';

const dynamodb = mockClient(DynamoDBClient);
const sfn = mockClient(SFNClient);

beforeEach(() => { dynamodb.reset(); sfn.reset(); process.env.TABLE_NAME = 'runs'; sfn.onAnyCommand().resolves({}); });

test('stores the task token on the command and waits', async () => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: { pk: { S: 'command#cmd-1' } } });
  await handler({ taskToken: 'token-1', commandId: 'cmd-1' });
  expect(dynamodb.commandCalls(UpdateItemCommand)[0].args[0].input).toMatchObject({
    Key: { pk: { S: 'command#cmd-1' } },
    ConditionExpression: 'attribute_exists(runId)',
    UpdateExpression: 'SET taskToken = :t REMOVE completed',
    ExpressionAttributeValues: { ':t': { S: 'token-1' } },
    ReturnValues: 'ALL_OLD',
  });
  expect(sfn.calls()).toHaveLength(0);
});

test('resumes at once when the finish event came before the token', async () => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: { pk: { S: 'command#cmd-1' }, completed: { BOOL: true } } });
  await handler({ taskToken: 'token-1', commandId: 'cmd-1' });
  expect(sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input).toEqual({ taskToken: 'token-1', output: '{"commandId":"cmd-1"}' });
});

test('a command no run recorded (at most a completion mark) is an error', async () => {
  dynamodb.on(UpdateItemCommand).rejects(conditionalCheckFailed());
  await expect(handler({ taskToken: 't', commandId: 'cmd-9' })).rejects.toThrow('command cmd-9 is not recorded in the run table');
});

test('other table errors propagate', async () => {
  dynamodb.on(UpdateItemCommand).rejects(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }));
  await expect(handler({ taskToken: 't', commandId: 'cmd-1' })).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
});

test('a resume at once that is throttled or unanswered never fails the step (which would fail the run): the backstop checks the command', async () => {
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: { pk: { S: 'command#cmd-1' }, runId: { S: 'run-1' }, completed: { BOOL: true } } });
  sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
  await expect(handler({ taskToken: 'token-1', commandId: 'cmd-1' })).resolves.toBeUndefined();
  expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
});
