import { CodePipelineClient, PutJobFailureResultCommand } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CancelCommandCommand, GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { codePipelineEvent, runItem } from './fixtures';
import { event, run } from '../../../lambda-src/vm-command/handlers';

const ssm = mockClient(SSMClient);
const dynamodb = mockClient(DynamoDBClient);
const codepipeline = mockClient(CodePipelineClient);
const A = 'i-0123456789abcdef0';
const B = 'i-0123456789abcdef1';

beforeEach(() => {
  for (const m of [ssm, dynamodb, codepipeline]) m.reset();
  process.env.TABLE_NAME = 'runs';
  codepipeline.onAnyCommand().resolves({});
  ssm.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
  ssm.on(CancelCommandCommand).resolves({});
  dynamodb.on(GetItemCommand).resolves({ Item: runItem() });
  dynamodb.on(UpdateItemCommand).resolves({ Attributes: runItem() });
});

test('run: a CodePipeline job starts a run; a step payload runs the step it names; any other step is refused', async () => {
  await run(codePipelineEvent({ actionConfiguration: { configuration: { UserParameters: '{}' } } }));
  // The user parameters lack the state machine: the job fails with the reason, as any start failure does.
  expect(codepipeline.commandCalls(PutJobFailureResultCommand)[0].args[0].input.failureDetails!.message).toMatch(/stateMachineArn/);
  await expect(run({ step: 'finish', run: { runId: 'run-1', status: { outcome: { succeeded: true, message: 'ok' } } } })).resolves.toMatchObject({ succeeded: true });
  await expect(run({ step: 'reboot' })).rejects.toThrow('unknown step "reboot"; expected one of preflight, send, wait, status, finish');
});

test('event: a stopped execution cancels the run\'s command on the targets still running it and fails the job', async () => {
  await event({ source: 'aws.states', detail: { name: 'run-1', status: 'TIMED_OUT' } } as any);
  expect(ssm.commandCalls(CancelCommandCommand)[0].args[0].input).toEqual({ CommandId: 'cmd-1', InstanceIds: [A, B] });
  expect(codepipeline.commandCalls(PutJobFailureResultCommand)[0].args[0].input.failureDetails!.message)
    .toBe(`the run's state machine execution timed out\ncommand cmd-1 was cancelled on ${A}, ${B}`);
});

test('event: a run that sent no command cancels nothing; an event of another source is refused', async () => {
  dynamodb.on(GetItemCommand).resolves({ Item: runItem({ runWork: { NULL: true } }) });
  await event({ source: 'aws.states', detail: { name: 'run-1', status: 'ABORTED' } } as any);
  expect(ssm.commandCalls(CancelCommandCommand)).toHaveLength(0);
  await expect(event({ source: 'aws.ec2', detail: {} } as any)).rejects.toThrow('unexpected event source "aws.ec2"');
});
